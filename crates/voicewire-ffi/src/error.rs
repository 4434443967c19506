//! The one error apps see.
//!
//! Each variant exists because an app reacts to it differently: re-authenticate (`Auth`),
//! show "offline" and retry later (`Network`), back off for a server-given time
//! (`RateLimited`), ask for the microphone or change the route (`AudioDevice`), report a
//! bug (`Protocol`), start a new session (`Closed`). Everything else is `Other`. The
//! detailed engine errors are mapped in one `From` table (see `session.rs`), which is also the
//! one place that decides what gets logged.

/// Why a VoiceWire call failed, grouped by what the app should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum VoiceError {
    /// The token was refused or could not be obtained: fetch a new one or sign in again.
    #[error("authentication failed: {detail}")]
    Auth {
        /// What was refused, without the token itself. (Named `detail`, not `message`: Kotlin exceptions already have a `message`.)
        detail: String,
    },
    /// The server could not be reached or the connection dropped: retry when online.
    #[error("network error: {detail}")]
    Network {
        /// What failed (DNS, TLS, connect, dropped socket).
        detail: String,
    },
    /// The server asked us to slow down.
    #[error("rate limited: {detail}")]
    RateLimited {
        /// How long the server asked us to wait, when it said so.
        retry_after_ms: Option<u64>,
        /// The server's explanation.
        detail: String,
    },
    /// The microphone or speaker could not be used (permission, busy, unplugged).
    #[error("audio device error: {detail}")]
    AudioDevice {
        /// What the platform reported.
        detail: String,
    },
    /// The server sent something we do not understand, or rejected what we sent.
    #[error("protocol error: {detail}")]
    Protocol {
        /// The offending event or the server's error message.
        detail: String,
    },
    /// The session has ended; create a new one.
    #[error("session closed: {detail}")]
    Closed {
        /// Why it ended.
        detail: String,
    },
    /// Anything else (invalid options, internal failures).
    #[error("{detail}")]
    Other {
        /// A human-readable description.
        detail: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for VoiceError {
    /// A foreign callback (token provider, tool handler) threw something that is not a
    /// `VoiceError`: the app's own bug, reported as `Other` with the foreign message.
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        VoiceError::Other {
            detail: format!("app callback failed: {}", error.reason),
        }
    }
}

impl From<voicewire::Error> for VoiceError {
    fn from(error: voicewire::Error) -> Self {
        use voicewire::Error as E;
        match error {
            E::Auth { message } => VoiceError::Auth { detail: message },
            E::Network { message } => VoiceError::Network { detail: message },
            E::RateLimited {
                retry_after,
                message,
            } => VoiceError::RateLimited {
                retry_after_ms: retry_after
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                detail: message,
            },
            E::AudioDevice { message } => VoiceError::AudioDevice { detail: message },
            E::Protocol { message } => VoiceError::Protocol { detail: message },
            E::Closed { message } => VoiceError::Closed { detail: message },
            E::Other { message } => VoiceError::Other { detail: message },
            // `voicewire::Error` is non-exhaustive; a kind this layer does not name yet is
            // still reported, as its message.
            other => VoiceError::Other {
                detail: other.to_string(),
            },
        }
    }
}
