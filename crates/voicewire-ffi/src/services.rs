//! App-side services as foreign traits: the token provider, tool handlers, event listeners.
//!
//! Each adapter only translates types; deciding when to call them is the engine's job.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::VoiceError;
use crate::events::{SessionEvent, ToolCall};

/// A credential from the app's backend.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClientToken {
    /// The key (`ek_…` for ephemeral client secrets).
    pub value: String,
    /// Unix time (seconds) after which it cannot start sessions; absent = never expires.
    pub expires_at: Option<u64>,
}

impl fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientToken")
            .field("value", &"…redacted")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Implemented by the app: ask your backend for a short-lived client secret (it mints one
/// with the real API key, which never reaches the device) and return it.
///
/// Called before the first connection and before any reconnect once the token expired.
/// Throw `VoiceError.Auth` when the user must sign in again, `Network` when the backend is
/// unreachable, `RateLimited` when it says so.
#[uniffi::export(with_foreign)]
#[async_trait]
pub trait TokenProvider: Send + Sync {
    /// Returns a fresh token.
    async fn fetch_token(&self) -> Result<ClientToken, VoiceError>;
}

/// Makes an app's [`TokenProvider`] usable as the engine's token source.
pub(crate) struct ForeignTokenProvider(pub(crate) Arc<dyn TokenProvider>);

#[async_trait]
impl voicewire::TokenProvider for ForeignTokenProvider {
    async fn fetch_token(&self) -> Result<voicewire::ClientSecret, voicewire::TokenError> {
        let provider = Arc::clone(&self.0);
        // Foreign futures are polled on our runtime like any other (see runtime.rs).
        match provider.fetch_token().await {
            Ok(token) => Ok(voicewire::ClientSecret {
                value: voicewire::Secret::new(token.value),
                expires_at: token.expires_at,
            }),
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
            retry_after: retry_after_ms.map(std::time::Duration::from_millis),
        },
        VoiceError::Protocol { detail } => TokenError::InvalidResponse(detail),
        other => TokenError::Provider(other.to_string()),
    }
}

/// Implemented by the app to run the tools the model calls (one handler for all the names
/// in `SessionConfig.tools`; dispatch on `call.name`).
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
