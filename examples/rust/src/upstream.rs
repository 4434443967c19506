//! Where the examples' sessions go: OpenAI when `OPENAI_API_KEY` is set, otherwise the local
//! emulator started inside the process (offline, no key, deterministic).

use std::fmt;

use voicewire::{Endpoint, TokenSource};
use voicewire_server::{AudioPace, Emulator, EmulatorConfig, EmulatorHandle, Scenario};

/// The key the in-process emulator is started with (it accepts only this one, so the
/// examples show real credential checks).
pub const EMULATOR_KEY: &str = "sk-voicewire-examples";

/// A Realtime server and the standard API key for it.
pub struct Upstream {
    /// REST base, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:PORT/v1`.
    pub api_base: String,
    /// The standard API key (server side only: never ship it in an app).
    pub api_key: String,
    emulator: Option<EmulatorHandle>,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("api_base", &self.api_base)
            .field("api_key", &"***")
            .field("emulator", &self.emulator.is_some())
            .finish()
    }
}

impl Upstream {
    /// OpenAI with `OPENAI_API_KEY`, or an in-process emulator following `scenario` (the
    /// emulator's echo agent when `None`).
    pub async fn from_env(scenario: Option<Scenario>) -> Result<Self, crate::BoxError> {
        if let Some(key) = std::env::var("OPENAI_API_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
        {
            return Ok(Upstream {
                api_base: voicewire::auth::OPENAI_API_BASE.to_owned(),
                api_key: key,
                emulator: None,
            });
        }
        let emulator = Emulator::start(EmulatorConfig {
            api_key: Some(EMULATOR_KEY.to_owned()),
            audio_pace: AudioPace::RealTime,
            scenario,
            ..EmulatorConfig::default()
        })
        .await?;
        Ok(Upstream {
            api_base: emulator.http_base(),
            api_key: EMULATOR_KEY.to_owned(),
            emulator: Some(emulator),
        })
    }

    /// Whether this is the local emulator.
    pub fn is_emulator(&self) -> bool {
        self.emulator.is_some()
    }

    /// The WebSocket base (`ws://…/v1` or `wss://…/v1`).
    pub fn ws_base(&self) -> String {
        self.api_base
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1)
    }

    /// The endpoint for sessions.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::with_api_base(&self.api_base)
    }

    /// The API key as a token source (trusted Rust servers only).
    pub fn api_key_source(&self) -> TokenSource {
        TokenSource::api_key(self.api_key.as_str())
    }

    /// One line saying where sessions go.
    pub fn describe(&self) -> String {
        if self.is_emulator() {
            format!(
                "the local emulator at {} (set OPENAI_API_KEY to use OpenAI)",
                self.api_base
            )
        } else {
            "OpenAI".to_owned()
        }
    }

    /// Stops the in-process emulator, if any.
    pub async fn shutdown(self) {
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await;
        }
    }
}
