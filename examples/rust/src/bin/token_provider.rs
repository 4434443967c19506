//! A token provider that calls the app's backend: how an iOS/Android/RN app (here in Rust)
//! gets the short-lived secret for each session without ever holding the API key.
//!
//! The provider POSTs to the backend with the app's own user token and hands VoiceWire
//! `{value, expires_at}`; VoiceWire calls it before the first connect and again before
//! every reconnect. A 429 from the backend becomes a typed
//! rate-limit error with its `Retry-After`.
//!
//! `cargo run -p voicewire-examples --bin token_provider` (starts the example backend and,
//! without OPENAI_API_KEY, the emulator behind it).
#![allow(clippy::print_stdout, reason = "an example program reports on stdout")]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use voicewire::run::text_turn;
use voicewire::{ClientSecret, SessionOptions, TokenError, TokenProvider, TokenSource};
use voicewire_examples::backend::{Backend, VoiceConfig};
use voicewire_examples::{BoxError, install_crypto_provider, upstream::Upstream};

/// Asks the app's backend for a session secret.
struct BackendTokenProvider {
    url: String,
    app_token: String,
    client: reqwest::Client,
    fetches: AtomicU32,
}

#[async_trait]
impl TokenProvider for BackendTokenProvider {
    async fn fetch_token(&self) -> Result<ClientSecret, TokenError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.app_token)
            .send()
            .await
            .map_err(|e| TokenError::Network(e.to_string()))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .map(Duration::from_secs);
        let body = response
            .text()
            .await
            .map_err(|e| TokenError::Network(e.to_string()))?;
        if !status.is_success() {
            return Err(TokenError::Http {
                status: status.as_u16(),
                message: body.chars().take(200).collect(),
                retry_after,
            });
        }
        // `{value, expires_at}` (extra fields such as config_version are ignored).
        ClientSecret::from_json(&body)
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    install_crypto_provider();
    let upstream = Upstream::from_env(None).await?;
    println!("sessions go to {}", upstream.describe());

    // The backend (see the mint_backend example): one user, two sessions per minute.
    let users = HashMap::from([("app-token-ana".to_owned(), "ana".to_owned())]);
    let backend = Arc::new(Backend::new(
        &upstream.api_base,
        &upstream.api_key,
        2,
        Duration::from_secs(60),
        users,
    )?);
    backend
        .configs
        .lock()
        .map_err(|_| "config lock poisoned")?
        .publish(VoiceConfig {
            model: voicewire::DEFAULT_MODEL.into(),
            voice: "marin".into(),
            instructions: Some("You are a helpful assistant.".into()),
            prompt: None,
        });
    let (addr, _server) = Arc::clone(&backend)
        .serve(([127, 0, 0, 1], 0).into())
        .await?;
    let url = format!("http://{addr}/voice/token");
    println!("backend at {url}");

    let provider = Arc::new(BackendTokenProvider {
        url,
        app_token: "app-token-ana".into(),
        client: reqwest::Client::new(),
        fetches: AtomicU32::new(0),
    });
    let options = || {
        SessionOptions::new(TokenSource::provider(provider.clone())).endpoint(upstream.endpoint())
    };
    for n in 1..=3 {
        match text_turn(options(), "Hello from the app!", Duration::from_secs(60)).await {
            Ok(outcome) => println!("session {n}: assistant: {}", outcome.assistant_transcript),
            Err(voicewire::Error::RateLimited { retry_after, .. }) => println!(
                "session {n}: rate limited by the backend (retry after {} s)",
                retry_after.map_or(0, |d| d.as_secs())
            ),
            Err(e) => {
                upstream.shutdown().await;
                return Err(e.into());
            }
        }
    }
    println!(
        "token fetches: {}",
        provider.fetches.load(Ordering::Relaxed)
    );
    upstream.shutdown().await;
    Ok(())
}
