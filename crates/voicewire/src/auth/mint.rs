//! Minting ephemeral keys from a trusted Rust backend (`POST /v1/realtime/client_secrets`).
//!
//! The backend holds the real API key and a voice config; each app session gets a secret
//! that expires after `ttl` (10 s to 2 h, default 10 min) and carries the config, so the
//! device never sees the API key.

use std::fmt;
use std::time::Duration;

use voicewire_protocol::{SessionConfig, SessionPayload};

use super::secret::Secret;
use super::token::ClientSecret;
use crate::error::TokenError;

/// The default OpenAI REST base.
pub const OPENAI_API_BASE: &str = "https://api.openai.com/v1";

/// Creates client secrets with a standard API key.
#[derive(Clone)]
pub struct MintingClient {
    api_key: Secret,
    api_base: String,
    client: reqwest::Client,
}

impl fmt::Debug for MintingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintingClient")
            .field("api_base", &self.api_base)
            .field("api_key", &self.api_key)
            .finish()
    }
}

impl MintingClient {
    /// A client for `https://api.openai.com/v1`.
    pub fn new(api_key: impl Into<Secret>) -> Result<Self, crate::Error> {
        Ok(MintingClient {
            api_key: api_key.into(),
            api_base: OPENAI_API_BASE.to_owned(),
            client: crate::tls::http_client()?,
        })
    }

    /// Uses another REST base (a local emulator: `http://127.0.0.1:PORT/v1`).
    pub fn with_api_base(mut self, api_base: impl Into<String>) -> Self {
        self.api_base = api_base.into().trim_end_matches('/').to_owned();
        self
    }

    /// Creates a secret valid for `ttl` that starts sessions with `session`.
    pub async fn create_client_secret(
        &self,
        session: &SessionConfig,
        ttl: Duration,
    ) -> Result<ClientSecret, TokenError> {
        let seconds = ttl.as_secs().clamp(10, 7200);
        let payload = SessionPayload::Realtime(session.clone());
        let body = serde_json::json!({
            "expires_after": { "anchor": "created_at", "seconds": seconds },
            "session": payload,
        });
        let url = format!("{}/realtime/client_secrets", self.api_base);
        let request = self
            .client
            .post(url)
            .bearer_auth(self.api_key.expose())
            .json(&body);
        super::http::fetch_client_secret(request).await
    }
}
