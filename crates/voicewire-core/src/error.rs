//! Errors of the core layer.
//!
//! The engine reports failures as data ([`SessionError`]) because they travel inside
//! [`crate::SessionState::Failed`] and [`crate::SessionEvent::Error`]; the driver crate maps
//! them onto its public error. [`ErrorKind`] has a variant only where the application or the
//! reconnect policy acts differently.

use std::time::Duration;

/// What kind of failure happened, so callers can decide what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The credentials were refused (HTTP 401/403, WebSocket close 4001/4003 style). Not retried.
    Auth,
    /// The network failed (connect refused, reset, timeout, abnormal close). Retried.
    Network,
    /// The server asked us to slow down. Retried no earlier than `retry_after` when given.
    RateLimited {
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The server sent something we could not understand, or rejected what we sent.
    Protocol,
    /// The server ended the session because it reached its maximum duration.
    SessionExpired,
    /// The audio device failed.
    AudioDevice,
    /// The session is closed; the command cannot run.
    Closed,
    /// Anything else (a bug, an unexpected internal condition).
    Other,
}

impl ErrorKind {
    /// Every code [`ErrorKind::code`] can return, in declaration order.
    ///
    /// Bindings and tests use this to check that each code is handled; like the codes
    /// themselves, the list only grows.
    pub const ALL_CODES: [&'static str; 8] = [
        "auth",
        "network",
        "rate_limited",
        "protocol",
        "session_expired",
        "audio_device",
        "closed",
        "other",
    ];

    /// A stable, machine-readable snake_case code for this kind of failure.
    ///
    /// These strings are part of the public contract: the FFI layer and the platform
    /// bindings (Swift, Kotlin, TypeScript) hand them to applications instead of the `Debug`
    /// text, so that renaming a Rust variant or adding a field never breaks an app that
    /// switches on the code. A code, once released, is never changed or reused; new variants
    /// get new codes. Details that vary (such as `retry_after`) are not part of the code.
    ///
    /// | variant | code |
    /// |---|---|
    /// | [`ErrorKind::Auth`] | `"auth"` |
    /// | [`ErrorKind::Network`] | `"network"` |
    /// | [`ErrorKind::RateLimited`] | `"rate_limited"` |
    /// | [`ErrorKind::Protocol`] | `"protocol"` |
    /// | [`ErrorKind::SessionExpired`] | `"session_expired"` |
    /// | [`ErrorKind::AudioDevice`] | `"audio_device"` |
    /// | [`ErrorKind::Closed`] | `"closed"` |
    /// | [`ErrorKind::Other`] | `"other"` |
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::Network => "network",
            ErrorKind::RateLimited { .. } => "rate_limited",
            ErrorKind::Protocol => "protocol",
            ErrorKind::SessionExpired => "session_expired",
            ErrorKind::AudioDevice => "audio_device",
            ErrorKind::Closed => "closed",
            ErrorKind::Other => "other",
        }
    }

    /// Whether the reconnect policy may try again after this failure.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ErrorKind::Network | ErrorKind::RateLimited { .. } | ErrorKind::SessionExpired
        )
    }
}

/// A failure as the engine records it: a kind to act on, plus a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct SessionError {
    /// What the failure means for the caller.
    pub kind: ErrorKind,
    /// A human-readable explanation (never contains secrets).
    pub message: String,
}

impl SessionError {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        SessionError {
            kind,
            message: message.into(),
        }
    }
}

/// A command or input that makes no sense in the current state (for example `start` twice).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid transition from {from} on {input}")]
pub struct InvalidTransition {
    /// Name of the state the machine was in (it stays there).
    pub from: &'static str,
    /// Name of the input that was refused.
    pub input: &'static str,
}

/// Errors returned by engine commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The command is not valid in the current state.
    #[error(transparent)]
    InvalidState(#[from] InvalidTransition),
    /// The session is not live, so the command cannot reach the server.
    #[error("the session is not live (state: {0})")]
    NotLive(&'static str),
    /// The command referred to something that does not exist (a tool call id, an item id).
    #[error("unknown {what}: {id}")]
    Unknown {
        /// What kind of thing was looked up.
        what: &'static str,
        /// The id that was not found.
        id: String,
    },
    /// The command's content could not be encoded.
    #[error("invalid command: {0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<ErrorKind> {
        vec![
            ErrorKind::Auth,
            ErrorKind::Network,
            ErrorKind::RateLimited { retry_after: None },
            ErrorKind::Protocol,
            ErrorKind::SessionExpired,
            ErrorKind::AudioDevice,
            ErrorKind::Closed,
            ErrorKind::Other,
        ]
    }

    #[test]
    fn codes_are_the_documented_stable_strings() {
        let codes: Vec<&str> = every_kind().iter().map(ErrorKind::code).collect();
        assert_eq!(
            codes,
            [
                "auth",
                "network",
                "rate_limited",
                "protocol",
                "session_expired",
                "audio_device",
                "closed",
                "other"
            ]
        );
        assert_eq!(codes, ErrorKind::ALL_CODES);
    }

    #[test]
    fn codes_are_unique_snake_case_and_ignore_details() {
        let mut seen = std::collections::HashSet::new();
        for kind in every_kind() {
            let code = kind.code();
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(
                !code.is_empty()
                    && code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    && !code.starts_with('_')
                    && !code.ends_with('_'),
                "not snake_case: {code}"
            );
        }
        let with_delay = ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(with_delay.code(), "rate_limited");
    }
}
