//! App-side services as foreign traits: the token provider, tool handlers, event listeners.
//!
//! Each adapter only translates types; deciding when to call them is the engine's job.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::VoiceError;
use crate::events::{SessionEvent, ToolCall};

/// A credential from the app's backend.
///
/// An object rather than a record on purpose: records become data classes and structs whose
/// generated `toString` / `__repr__` / `description` print every field, and a key that ends
/// up in a log or crash report is a leaked key. The value goes in through the constructor
/// and never comes back out to foreign code; every textual form is redacted.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct ClientToken {
    /// The key; `Secret` never prints it.
    value: voicewire::Secret,
    /// Unix time (seconds) after which it cannot start sessions.
    expires_at: Option<u64>,
}

#[uniffi::export]
impl ClientToken {
    /// A token with key `value` (`ek_…` for ephemeral client secrets) that cannot start
    /// sessions after Unix time `expires_at` (seconds; absent = never expires).
    #[uniffi::constructor]
    pub fn new(value: String, expires_at: Option<u64>) -> Arc<Self> {
        Arc::new(ClientToken {
            value: voicewire::Secret::new(value),
            expires_at,
        })
    }

    /// Unix time (seconds) after which the token cannot start sessions; absent = never.
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }
}

impl ClientToken {
    /// The engine's form of this token (the only way the key leaves this object).
    fn to_client_secret(&self) -> voicewire::ClientSecret {
        voicewire::ClientSecret {
            value: self.value.clone(),
            expires_at: self.expires_at,
        }
    }
}

impl fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientToken")
            .field("value", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl fmt::Display for ClientToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expires_at {
            Some(at) => write!(f, "ClientToken(<redacted>, expires_at={at})"),
            None => f.write_str("ClientToken(<redacted>)"),
        }
    }
}

/// Implemented by the app: ask your backend for a short-lived client secret (it mints one
/// with the real API key, which never reaches the device) and return it.
///
/// Called before the first connection and again before every reconnect (each new
/// connection gets a fresh secret).
/// Throw `VoiceError.Auth` when the user must sign in again, `Network` when the backend is
/// unreachable, `RateLimited` when it says so.
#[uniffi::export(with_foreign)]
#[async_trait]
pub trait TokenProvider: Send + Sync {
    /// Returns a fresh token.
    async fn fetch_token(&self) -> Result<Arc<ClientToken>, VoiceError>;
}

/// Makes an app's [`TokenProvider`] usable as the engine's token source.
pub(crate) struct ForeignTokenProvider(pub(crate) Arc<dyn TokenProvider>);

#[async_trait]
impl voicewire::TokenProvider for ForeignTokenProvider {
    async fn fetch_token(&self) -> Result<voicewire::ClientSecret, voicewire::TokenError> {
        let provider = Arc::clone(&self.0);
        // Foreign futures are polled on our runtime like any other (see runtime.rs).
        match provider.fetch_token().await {
            Ok(token) => Ok(token.to_client_secret()),
            Err(error) => Err(token_error(error)),
        }
    }
}

/// The app's error, as the engine's token error of the same meaning.
fn token_error(error: VoiceError) -> voicewire::TokenError {
    use voicewire::TokenError;
    match error {
        VoiceError::Network { detail } => TokenError::Network(detail),
        VoiceError::RateLimited {
            retry_after_ms,
            detail,
        } => TokenError::Http {
            status: 429,
            message: detail,
            retry_after: retry_after_ms.map(crate::config::app_duration),
        },
        VoiceError::Protocol { detail } => TokenError::InvalidResponse(detail),
        other => TokenError::Provider(other.to_string()),
    }
}

/// Implemented by the app to run the tools the model calls: one handler for every name,
/// including tools first declared in a later `update_config`; dispatch on `call.name`.
///
/// The returned text (usually JSON) goes back to the model and a new answer is requested;
/// a thrown error is reported to the model as `{"error": message}`.
#[uniffi::export(with_foreign)]
#[async_trait]
pub trait ToolHandler: Send + Sync {
    /// Runs one call and returns its output.
    async fn call_tool(&self, call: ToolCall) -> Result<String, VoiceError>;
}

/// Makes an app's [`ToolHandler`] usable by the engine's tool registry.
pub(crate) struct ForeignToolHandler(pub(crate) Arc<dyn ToolHandler>);

#[async_trait]
impl voicewire::ToolHandler for ForeignToolHandler {
    async fn call(&self, call: voicewire::ToolCall) -> Result<String, String> {
        self.0
            .call_tool(ToolCall::from(&call))
            .await
            .map_err(|e| match e {
                VoiceError::Other { detail } => detail,
                other => other.to_string(),
            })
    }
}

/// Receives session events; subscribing returns a [`crate::TaskHandle`] that stops delivery
/// when dropped.
#[uniffi::export(with_foreign)]
pub trait SessionEventListener: Send + Sync {
    /// One event, in order. Called on a VoiceWire thread: hop to the UI thread yourself.
    fn on_event(&self, event: SessionEvent);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_textual_form_of_a_token_shows_the_key() {
        let key = "ek_live_do_not_print_0123456789";
        let token = ClientToken::new(key.to_owned(), Some(1_900_000_000));
        for text in [
            format!("{token}"),
            format!("{token:?}"),
            format!("{token:#?}"),
        ] {
            assert!(!text.contains(key), "{text}");
            assert!(!text.contains("0123456789"), "{text}");
        }
        assert_eq!(
            token.to_string(),
            "ClientToken(<redacted>, expires_at=1900000000)"
        );
        assert_eq!(
            ClientToken::new(key.to_owned(), None).to_string(),
            "ClientToken(<redacted>)"
        );
    }

    #[test]
    fn the_engine_gets_the_key_and_expiry_unchanged() {
        let token = ClientToken::new("ek_abc".to_owned(), Some(42));
        assert_eq!(token.expires_at(), Some(42));
        let secret = token.to_client_secret();
        assert_eq!(secret.value.expose(), "ek_abc");
        assert_eq!(secret.expires_at, Some(42));
    }

    #[test]
    fn app_errors_become_token_errors_of_the_same_meaning() {
        let limited = token_error(VoiceError::RateLimited {
            retry_after_ms: Some(u64::MAX),
            detail: "slow down".into(),
        });
        match limited {
            voicewire::TokenError::Http {
                status: 429,
                retry_after: Some(wait),
                ..
            } => assert!(wait <= std::time::Duration::from_secs(31 * 24 * 3600)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            token_error(VoiceError::Network { detail: "x".into() }),
            voicewire::TokenError::Network(_)
        ));
    }
}
