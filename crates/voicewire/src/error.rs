//! Errors: one detailed enum per layer, one small public enum for the application.
//!
//! Layers: [`TransportError`] (sockets, handshakes, close codes), [`TokenError`] (token
//! sources and minting) and the core's [`SessionError`]. Each converts into the public
//! [`Error`], whose variants exist only where an application reacts differently: re-login
//! ([`Error::Auth`]), show "offline" ([`Error::Network`]), back off ([`Error::RateLimited`]),
//! fix the microphone ([`Error::AudioDevice`]), report a bug or incompatibility
//! ([`Error::Protocol`]), or stop using the session ([`Error::Closed`]). This file is the one
//! `From` table.

use std::time::Duration;

use voicewire_core::{CommandError, ErrorKind, SessionError};

/// The error type of the public API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Credentials were refused or could not be obtained: ask the user or backend again.
    #[error("authentication failed: {message}")]
    Auth {
        /// Details (never contains the credential).
        message: String,
    },
    /// The network failed (after any automatic retries).
    #[error("network error: {message}")]
    Network {
        /// Details.
        message: String,
    },
    /// The server or the token backend is rate limiting; try again after `retry_after`.
    #[error("rate limited (retry after {retry_after:?}): {message}")]
    RateLimited {
        /// How long the server asked to wait, when it said.
        retry_after: Option<Duration>,
        /// Details.
        message: String,
    },
    /// The audio device failed or has an unusable format.
    #[error("audio device error: {message}")]
    AudioDevice {
        /// Details.
        message: String,
    },
    /// The server sent something unexpected or rejected what was sent.
    #[error("protocol error: {message}")]
    Protocol {
        /// Details.
        message: String,
    },
    /// The session is closed (or not started) and cannot do this.
    #[error("the session is closed: {message}")]
    Closed {
        /// Details.
        message: String,
    },
    /// Anything else.
    #[error("{message}")]
    Other {
        /// Details.
        message: String,
    },
}

impl Error {
    pub(crate) fn other(message: impl Into<String>) -> Self {
        Error::Other {
            message: message.into(),
        }
    }

    pub(crate) fn closed(message: impl Into<String>) -> Self {
        Error::Closed {
            message: message.into(),
        }
    }
}

/// Failures of a transport (WebSocket today, WebRTC next).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The endpoint URL is not usable.
    #[error("invalid endpoint URL: {0}")]
    InvalidUrl(String),
    /// The server answered the handshake with an HTTP error.
    #[error("handshake refused with HTTP {status}: {message}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The server's error message (from its `{"error":{…}}` body when present).
        message: String,
        /// Parsed `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Connecting took longer than the connect timeout.
    #[error("connect timed out after {0:?}")]
    Timeout(Duration),
    /// The socket failed (refused, reset, TLS).
    #[error("connection failed: {0}")]
    Io(String),
    /// The server closed the connection.
    #[error("closed by the server with code {code}: {reason}")]
    Closed {
        /// WebSocket close code (1006 when the connection vanished without a close frame).
        code: u16,
        /// Close reason text.
        reason: String,
    },
    /// A WebRTC call ended: the server hung up (the data channel closed) or the peer
    /// connection closed. Reconnectable, like a dropped socket.
    #[error("the call ended: {0}")]
    CallEnded(String),
    /// The selected transport is not available in this build.
    #[error("transport {0} is not available in this build")]
    Unavailable(&'static str),
}

impl TransportError {
    /// What the failure means for the session.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TransportError::InvalidUrl(_) | TransportError::Unavailable(_) => ErrorKind::Other,
            TransportError::Http {
                status,
                retry_after,
                ..
            } => match status {
                401 | 403 => ErrorKind::Auth,
                429 => ErrorKind::RateLimited {
                    retry_after: *retry_after,
                },
                500..=599 | 408 => ErrorKind::Network,
                _ => ErrorKind::Protocol,
            },
            TransportError::Timeout(_) | TransportError::Io(_) | TransportError::CallEnded(_) => {
                ErrorKind::Network
            }
            TransportError::Closed { code, .. } => close_code_kind(*code),
        }
    }
}

/// Maps WebSocket close codes onto what they mean for the session.
///
/// 1000/1001 normal and going away, 1006 vanished, 1011-1014 server trouble: the network
/// kind, retried. 1008 (policy) and the 4001/4003 application codes some relays use:
/// credentials. 4000 (reported for retired beta traffic) and 1002/1003/1007/1009: protocol.
pub fn close_code_kind(code: u16) -> ErrorKind {
    match code {
        1008 | 4001 | 4003 | 4401 | 4403 => ErrorKind::Auth,
        4029 | 4429 => ErrorKind::RateLimited { retry_after: None },
        1002 | 1003 | 1007 | 1009 | 1010 | 4000 => ErrorKind::Protocol,
        _ => ErrorKind::Network,
    }
}

/// Failures to get a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The backend or the minting endpoint refused the request.
    #[error("token request refused with HTTP {status}: {message}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The error message from the body, if any.
        message: String,
        /// Parsed `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The request did not reach the backend.
    #[error("token request failed: {0}")]
    Network(String),
    /// The backend answered with something that is not a client secret.
    #[error("invalid token response: {0}")]
    InvalidResponse(String),
    /// The token already expired and the source cannot make a new one (a fixed ephemeral key).
    #[error("the ephemeral key expired and the token source cannot refresh it")]
    Expired,
    /// An application-provided token provider failed.
    #[error("token provider failed: {0}")]
    Provider(String),
}

impl TokenError {
    /// What the failure means for the session.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TokenError::Http {
                status,
                retry_after,
                ..
            } => match status {
                401 | 403 => ErrorKind::Auth,
                429 => ErrorKind::RateLimited {
                    retry_after: *retry_after,
                },
                500..=599 | 408 => ErrorKind::Network,
                _ => ErrorKind::Protocol,
            },
            TokenError::Network(_) => ErrorKind::Network,
            TokenError::InvalidResponse(_) => ErrorKind::Protocol,
            TokenError::Expired | TokenError::Provider(_) => ErrorKind::Auth,
        }
    }
}

impl From<&SessionError> for Error {
    fn from(e: &SessionError) -> Self {
        let message = e.message.clone();
        match &e.kind {
            ErrorKind::Auth => Error::Auth { message },
            ErrorKind::Network | ErrorKind::SessionExpired => Error::Network { message },
            ErrorKind::RateLimited { retry_after } => Error::RateLimited {
                retry_after: *retry_after,
                message,
            },
            ErrorKind::Protocol => Error::Protocol { message },
            ErrorKind::AudioDevice => Error::AudioDevice { message },
            ErrorKind::Closed => Error::Closed { message },
            // `Other`, and kinds a newer core adds before this crate names them.
            _ => Error::Other { message },
        }
    }
}

impl From<SessionError> for Error {
    fn from(e: SessionError) -> Self {
        Error::from(&e)
    }
}

impl From<&TransportError> for SessionError {
    fn from(e: &TransportError) -> Self {
        SessionError::new(e.kind(), e.to_string())
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::from(SessionError::from(&e))
    }
}

impl From<&TokenError> for SessionError {
    fn from(e: &TokenError) -> Self {
        SessionError::new(e.kind(), e.to_string())
    }
}

impl From<TokenError> for Error {
    fn from(e: TokenError) -> Self {
        Error::from(SessionError::from(&e))
    }
}

impl From<CommandError> for Error {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::NotLive(_) | CommandError::InvalidState(_) => {
                Error::closed(e.to_string())
            }
            CommandError::Unknown { .. } | CommandError::Invalid(_) => Error::other(e.to_string()),
        }
    }
}

impl From<voicewire_audio::AudioError> for Error {
    fn from(e: voicewire_audio::AudioError) -> Self {
        Error::AudioDevice {
            message: e.to_string(),
        }
    }
}

/// Parses an HTTP `Retry-After` header given in seconds (the HTTP-date form is rare for APIs
/// and is ignored).
///
/// The value comes from the network, so it is parsed without panicking (`1e30` or `u64::MAX`
/// seconds are accepted) and capped at [`MAX_RETRY_AFTER`]: a later timer built from it can
/// never overflow.
pub(crate) fn parse_retry_after(value: Option<&http::HeaderValue>) -> Option<Duration> {
    let text = value?.to_str().ok()?.trim();
    let parsed = match text.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let secs = text.parse::<f64>().ok()?;
            if !secs.is_finite() || secs < 0.0 {
                return None;
            }
            Duration::try_from_secs_f64(secs).unwrap_or(MAX_RETRY_AFTER)
        }
    };
    Some(parsed.min(MAX_RETRY_AFTER))
}

/// The longest wait a server's `Retry-After` can impose (ten minutes).
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Reads the `message` of an OpenAI-style `{"error":{"message":…}}` body, or a short prefix
/// of the body otherwise.
pub(crate) fn error_message_from_body(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        message: Option<String>,
        code: Option<String>,
    }
    match serde_json::from_str::<Body>(body) {
        Ok(Body {
            error: Inner {
                message: Some(m),
                code,
            },
        }) => match code {
            Some(c) => format!("{m} ({c})"),
            None => m,
        },
        _ => body.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_map_to_actionable_kinds() {
        let e = TransportError::Http {
            status: 429,
            message: "slow".into(),
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(
            Error::from(e),
            Error::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
                message: "handshake refused with HTTP 429: slow".into()
            }
        );
        let e = TransportError::Http {
            status: 401,
            message: "bad key".into(),
            retry_after: None,
        };
        assert!(matches!(Error::from(e), Error::Auth { .. }));
        let e = TokenError::Http {
            status: 503,
            message: "down".into(),
            retry_after: None,
        };
        assert!(matches!(Error::from(e), Error::Network { .. }));
    }

    #[test]
    fn close_codes_map_to_kinds() {
        assert_eq!(close_code_kind(1006), ErrorKind::Network);
        assert_eq!(close_code_kind(4001), ErrorKind::Auth);
        assert_eq!(close_code_kind(4000), ErrorKind::Protocol);
    }

    #[test]
    fn retry_after_parses_seconds() {
        let v = http::HeaderValue::from_static("7");
        assert_eq!(parse_retry_after(Some(&v)), Some(Duration::from_secs(7)));
        let v = http::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse_retry_after(Some(&v)), None);
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message_from_body(
                r#"{"error":{"message":"Too many","type":"x","code":"rate_limit"}}"#
            ),
            "Too many (rate_limit)"
        );
        assert_eq!(error_message_from_body("plain"), "plain");
    }

    #[test]
    fn huge_retry_after_values_are_capped_not_panicking() {
        for text in ["1e30", "18446744073709551615", "1.8e19", "600.5"] {
            let value = http::HeaderValue::from_str(text).unwrap();
            assert_eq!(
                parse_retry_after(Some(&value)),
                Some(MAX_RETRY_AFTER),
                "{text}"
            );
        }
        let value = http::HeaderValue::from_static("2.5");
        assert_eq!(
            parse_retry_after(Some(&value)),
            Some(Duration::from_millis(2500))
        );
        for text in ["-1", "NaN", "inf", "soon"] {
            let value = http::HeaderValue::from_str(text).unwrap();
            assert_eq!(parse_retry_after(Some(&value)), None, "{text}");
        }
    }
}
