//! Faults the emulator can inject, so clients can be tested against a misbehaving service.
//!
//! A fault is triggered three ways: at runtime from a test ([`crate::EmulatorHandle::inject`]),
//! from a scenario turn (during a given response), or from configuration
//! ([`FaultConfig`]: session expiry, 429 on minting, a close in the middle of every response).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One misbehaviour of the service, applied to a live session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Fault {
    /// Drop the TCP connection with no close frame (a network failure).
    DropConnection,
    /// Send a WebSocket close frame with this code and reason, then end the session.
    Close {
        /// Close code (1000 normal, 1011 server error, 4000 app-defined…).
        #[serde(default = "default_close_code")]
        code: u16,
        /// Close reason text.
        #[serde(default)]
        reason: String,
    },
    /// Stop sending anything (events and audio) for this long; input keeps queueing.
    Stall {
        /// Milliseconds to stay silent.
        ms: u64,
    },
    /// Send a text frame that is not JSON.
    MalformedFrame,
    /// Send a well-formed event with a type no client knows.
    UnknownEvent,
    /// Send an `error` event.
    Error {
        /// `error.type`, e.g. `invalid_request_error` or `server_error`.
        #[serde(default = "default_error_type")]
        error_type: String,
        /// `error.code`.
        #[serde(default)]
        code: Option<String>,
        /// `error.message`.
        #[serde(default = "default_error_message")]
        message: String,
    },
    /// An `error` event like the service sends when a rate limit is hit.
    RateLimitError,
    /// An `error` event of type `server_error`.
    ServerError,
    /// End the session as if its maximum duration was reached (`session_expired`).
    ExpireSession,
}

fn default_close_code() -> u16 {
    1011
}

fn default_error_type() -> String {
    "server_error".to_owned()
}

fn default_error_message() -> String {
    "The server had an error while processing your request (injected by the emulator).".to_owned()
}

/// Which sessions a runtime fault goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultTarget {
    /// Every live session.
    All,
    /// The session with this id (`sess_…`).
    Session(String),
}

impl From<&str> for FaultTarget {
    fn from(id: &str) -> Self {
        Self::Session(id.to_owned())
    }
}

impl From<String> for FaultTarget {
    fn from(id: String) -> Self {
        Self::Session(id)
    }
}

/// Faults configured up front (by flags, the in-process config or a scenario).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Answer this many client-secret mint requests with HTTP 429 before succeeding
    /// (`u32::MAX` = always).
    pub mint_rate_limited: u32,
    /// Close the connection (no close frame) this long into every response's audio.
    #[serde(with = "optional_millis")]
    pub drop_mid_response_after: Option<Duration>,
    /// Send an `error` event of type `server_error` at the start of every Nth response
    /// (0 = never).
    pub server_error_every_nth_response: u32,
}

mod optional_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_json() {
        let fault: Fault = serde_json::from_str(r#"{"type":"stall","ms":250}"#).unwrap();
        assert_eq!(fault, Fault::Stall { ms: 250 });
        let fault: Fault = serde_json::from_str(r#"{"type":"close"}"#).unwrap();
        assert_eq!(
            fault,
            Fault::Close {
                code: 1011,
                reason: String::new()
            }
        );
        let fault: Fault = serde_json::from_str(
            r#"{"type":"error","code":"rate_limit_exceeded","message":"slow down"}"#,
        )
        .unwrap();
        assert!(matches!(fault, Fault::Error { code: Some(c), .. } if c == "rate_limit_exceeded"));
        assert!(serde_json::from_str::<Fault>(r#"{"type":"meteor"}"#).is_err());
    }

    #[test]
    fn fault_config_parses_millis() {
        let config: FaultConfig =
            serde_json::from_str(r#"{"mint_rate_limited":2,"drop_mid_response_after":300}"#)
                .unwrap();
        assert_eq!(config.mint_rate_limited, 2);
        assert_eq!(
            config.drop_mid_response_after,
            Some(Duration::from_millis(300))
        );
    }
}
