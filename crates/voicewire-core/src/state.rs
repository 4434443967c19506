//! The session state machine: every legal transition lives in one pure function.
//!
//! ```text
//!              start                token ok             transport open        session.updated
//!   Idle ───────────────> Minting ───────────> Connecting ───────────> Configuring ───────────> Live
//!     │                    │  ▲                   │                       │                   │
//!     │ stop               │  │ retry timer       │ failure               │ failure            │ connection lost /
//!     ▼                    │  │                   ▼                       ▼                    │ recycle
//!   Closed                 │ Reconnecting{attempt} <─────────────────────────────────────────────┘
//!     ▲                    │        │  (failure with retries left: attempt + 1)
//!     │ transport closed   │        │ retries exhausted / not retryable
//!   Stopping <── stop ─────┴────────┴──────────────> Failed{error}
//! ```
//!
//! - `stop` is legal from every non-terminal state and lands in `Stopping` (or straight in
//!   `Closed` from `Idle`, where there is nothing to close).
//! - A failure in `Minting`, `Connecting` or `Configuring` on the *first* connection lands in
//!   `Failed` (the caller of `start` gets the error); once the session has been live, failures
//!   with retries left land in `Reconnecting{attempt}` and the attempt counter grows.
//! - `Failed` and `Closed` are terminal: nothing leaves them.
//!
//! The engine computes *whether* to retry (with [`crate::ReconnectPolicy`]) and passes the
//! decision in the input, so this function stays a pure table.

use crate::error::{InvalidTransition, SessionError};

/// Why a session closed normally.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The application called `stop`.
    Stopped,
    /// The server closed the connection and reconnecting was disabled.
    ServerClosed,
}

/// Where the session is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// Created, not started.
    Idle,
    /// Getting a token (from the token source) before connecting.
    Minting,
    /// Opening the transport.
    Connecting,
    /// Transport open; sending the session configuration and waiting for `session.updated`.
    Configuring,
    /// Audio and events flow.
    Live,
    /// The connection was lost (or is being recycled); waiting before connection attempt `attempt`.
    Reconnecting {
        /// 1 for the first retry after a loss; 0 for a planned recycle.
        attempt: u32,
    },
    /// `stop` was called; closing the transport.
    Stopping,
    /// Ended normally.
    Closed {
        /// Why it ended.
        reason: CloseReason,
    },
    /// Ended with an error that cannot be recovered from.
    Failed {
        /// What went wrong.
        error: SessionError,
    },
}

impl SessionState {
    /// A short stable name, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            SessionState::Idle => "Idle",
            SessionState::Minting => "Minting",
            SessionState::Connecting => "Connecting",
            SessionState::Configuring => "Configuring",
            SessionState::Live => "Live",
            SessionState::Reconnecting { .. } => "Reconnecting",
            SessionState::Stopping => "Stopping",
            SessionState::Closed { .. } => "Closed",
            SessionState::Failed { .. } => "Failed",
        }
    }

    /// Whether the session has ended for good.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            SessionState::Closed { .. } | SessionState::Failed { .. }
        )
    }

    /// Whether a connection attempt is under way (minting, connecting or configuring).
    pub fn is_connecting(&self) -> bool {
        matches!(
            self,
            SessionState::Minting | SessionState::Connecting | SessionState::Configuring
        )
    }
}

/// What happened, as far as the state machine cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateInput {
    /// The application called `start`.
    Start,
    /// A token is ready.
    TokenReady,
    /// The transport opened.
    TransportOpened,
    /// The server confirmed the session configuration.
    Configured,
    /// Something failed; `retry` says which attempt comes next, `None` means give up.
    Failure {
        /// What failed.
        error: SessionError,
        /// The next attempt number when the policy allows another try.
        retry: Option<u32>,
    },
    /// The session is being recycled before the server's maximum duration.
    Recycle,
    /// The reconnect back-off elapsed.
    RetryTimerFired,
    /// The application called `stop`.
    Stop,
    /// The transport finished closing after `stop`.
    TransportClosed,
    /// The server closed the connection and no reconnect is wanted.
    ServerClosed,
}

impl StateInput {
    fn name(&self) -> &'static str {
        match self {
            StateInput::Start => "Start",
            StateInput::TokenReady => "TokenReady",
            StateInput::TransportOpened => "TransportOpened",
            StateInput::Configured => "Configured",
            StateInput::Failure { .. } => "Failure",
            StateInput::Recycle => "Recycle",
            StateInput::RetryTimerFired => "RetryTimerFired",
            StateInput::Stop => "Stop",
            StateInput::TransportClosed => "TransportClosed",
            StateInput::ServerClosed => "ServerClosed",
        }
    }
}

/// The whole state machine: the next state for `input` in `state`, or why it is refused.
pub fn transition(
    state: &SessionState,
    input: &StateInput,
) -> Result<SessionState, InvalidTransition> {
    use SessionState as S;
    use StateInput as I;
    let next = match (state, input) {
        (S::Idle, I::Start) => S::Minting,
        (S::Idle, I::Stop) => S::Closed {
            reason: CloseReason::Stopped,
        },

        (S::Minting, I::TokenReady) => S::Connecting,
        (S::Connecting, I::TransportOpened) => S::Configuring,
        (S::Configuring, I::Configured) => S::Live,
        // A live session may be re-configured (the server re-confirms with session.updated).
        (S::Live, I::Configured) => S::Live,

        (
            S::Minting | S::Connecting | S::Configuring | S::Live | S::Reconnecting { .. },
            I::Failure { error, retry },
        ) => match retry {
            Some(attempt) => S::Reconnecting { attempt: *attempt },
            None => S::Failed {
                error: error.clone(),
            },
        },
        (S::Live, I::Recycle) => S::Reconnecting { attempt: 0 },
        (S::Live | S::Configuring | S::Connecting | S::Minting, I::ServerClosed) => S::Closed {
            reason: CloseReason::ServerClosed,
        },
        (S::Reconnecting { .. }, I::RetryTimerFired) => S::Minting,

        (
            S::Minting | S::Connecting | S::Configuring | S::Live | S::Reconnecting { .. },
            I::Stop,
        ) => S::Stopping,
        (S::Stopping, I::TransportClosed) => S::Closed {
            reason: CloseReason::Stopped,
        },
        // While stopping, late failures or closes are irrelevant: we were closing anyway.
        (S::Stopping, I::Failure { .. } | I::ServerClosed) => S::Closed {
            reason: CloseReason::Stopped,
        },

        (from, input) => {
            return Err(InvalidTransition {
                from: from.name(),
                input: input.name(),
            });
        }
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn net() -> SessionError {
        SessionError::new(ErrorKind::Network, "reset")
    }

    fn all_states() -> Vec<SessionState> {
        vec![
            SessionState::Idle,
            SessionState::Minting,
            SessionState::Connecting,
            SessionState::Configuring,
            SessionState::Live,
            SessionState::Reconnecting { attempt: 2 },
            SessionState::Stopping,
            SessionState::Closed {
                reason: CloseReason::Stopped,
            },
            SessionState::Failed { error: net() },
        ]
    }

    fn all_inputs() -> Vec<StateInput> {
        vec![
            StateInput::Start,
            StateInput::TokenReady,
            StateInput::TransportOpened,
            StateInput::Configured,
            StateInput::Failure {
                error: net(),
                retry: Some(3),
            },
            StateInput::Failure {
                error: net(),
                retry: None,
            },
            StateInput::Recycle,
            StateInput::RetryTimerFired,
            StateInput::Stop,
            StateInput::TransportClosed,
            StateInput::ServerClosed,
        ]
    }

    #[test]
    fn happy_path_reaches_live() {
        let mut s = SessionState::Idle;
        for input in [
            StateInput::Start,
            StateInput::TokenReady,
            StateInput::TransportOpened,
            StateInput::Configured,
        ] {
            s = transition(&s, &input).unwrap();
        }
        assert_eq!(s, SessionState::Live);
    }

    #[test]
    fn failure_with_retry_goes_to_reconnecting_and_back_to_minting() {
        let s = transition(
            &SessionState::Live,
            &StateInput::Failure {
                error: net(),
                retry: Some(1),
            },
        )
        .unwrap();
        assert_eq!(s, SessionState::Reconnecting { attempt: 1 });
        let s = transition(&s, &StateInput::RetryTimerFired).unwrap();
        assert_eq!(s, SessionState::Minting);
        let s = transition(
            &s,
            &StateInput::Failure {
                error: net(),
                retry: Some(2),
            },
        )
        .unwrap();
        assert_eq!(s, SessionState::Reconnecting { attempt: 2 });
    }

    #[test]
    fn failure_without_retry_fails_with_the_error() {
        let s = transition(
            &SessionState::Connecting,
            &StateInput::Failure {
                error: net(),
                retry: None,
            },
        )
        .unwrap();
        assert_eq!(s, SessionState::Failed { error: net() });
    }

    #[test]
    fn recycle_is_reconnecting_attempt_zero() {
        assert_eq!(
            transition(&SessionState::Live, &StateInput::Recycle).unwrap(),
            SessionState::Reconnecting { attempt: 0 }
        );
    }

    #[test]
    fn stop_from_every_active_state_goes_through_stopping() {
        for s in [
            SessionState::Minting,
            SessionState::Connecting,
            SessionState::Configuring,
            SessionState::Live,
            SessionState::Reconnecting { attempt: 1 },
        ] {
            assert_eq!(
                transition(&s, &StateInput::Stop).unwrap(),
                SessionState::Stopping,
                "{s:?}"
            );
        }
        assert_eq!(
            transition(&SessionState::Idle, &StateInput::Stop).unwrap(),
            SessionState::Closed {
                reason: CloseReason::Stopped
            }
        );
        assert_eq!(
            transition(&SessionState::Stopping, &StateInput::TransportClosed).unwrap(),
            SessionState::Closed {
                reason: CloseReason::Stopped
            }
        );
    }

    #[test]
    fn terminal_states_accept_nothing() {
        for s in all_states().into_iter().filter(SessionState::is_terminal) {
            for i in all_inputs() {
                assert!(transition(&s, &i).is_err(), "{s:?} accepted {i:?}");
            }
        }
    }

    #[test]
    fn refused_inputs_name_the_state() {
        let err = transition(&SessionState::Live, &StateInput::Start).unwrap_err();
        assert_eq!(
            err,
            InvalidTransition {
                from: "Live",
                input: "Start"
            }
        );
    }

    #[test]
    fn table_is_total_and_deterministic() {
        // Every (state, input) pair either transitions or is refused, and the same pair
        // always gives the same answer.
        for s in all_states() {
            for i in all_inputs() {
                assert_eq!(transition(&s, &i), transition(&s, &i));
            }
        }
    }
}
