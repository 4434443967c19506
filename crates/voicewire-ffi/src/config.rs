//! Records for session options and session configuration, converted to the Rust API's types.
//!
//! Only what apps set is mirrored; every field is optional where the Rust type is, so an
//! absent value keeps the engine's (or the server's) default. `update_config` takes the same
//! record as a partial update: absent fields are left as they are.

use std::time::Duration;

use serde_json::{Value, json};
use voicewire::protocol as wire;

use crate::error::VoiceError;

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EndpointConfig {
    /// REST base: `https://api.openai.com/v1`, or `http://127.0.0.1:PORT/v1` for the local
    /// emulator. The WebSocket URL is derived from it.
    pub api_base: String,
    /// A relay's full WebSocket URL; when set it replaces the derived URL and the token is
    /// sent as browser-style subprotocols.
    pub relay_url: Option<String>,
    /// Model for new sessions (`gpt-realtime` when absent).
    pub model: Option<String>,
}

impl EndpointConfig {
    fn to_endpoint(&self) -> voicewire::Endpoint {
        let mut endpoint = match &self.relay_url {
            Some(url) => voicewire::Endpoint {
                api_base: self.api_base.trim_end_matches('/').to_owned(),
                ..voicewire::Endpoint::relay(url.clone())
            },
            None => voicewire::Endpoint::with_api_base(self.api_base.clone()),
        };
        if let Some(model) = &self.model {
            endpoint = endpoint.model(model.clone());
        }
        endpoint
    }
}

/// How audio and events travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TransportKind {
    /// One WebSocket with JSON events and base64 PCM (works everywhere, relays included).
    WebSocket,
    /// WebRTC with Opus audio (lower latency on mobile networks).
    WebRtc,
}

impl From<TransportKind> for voicewire::Transport {
    fn from(kind: TransportKind) -> Self {
        match kind {
            TransportKind::WebSocket => voicewire::Transport::WebSocket,
            TransportKind::WebRtc => voicewire::Transport::WebRtc,
        }
    }
}

/// What the assistant answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OutputModality {
    /// Spoken answers (with transcripts).
    Audio,
    /// Text-only answers.
    Text,
}

/// How the end of the user's turn is detected.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum TurnDetectionConfig {
    /// Energy-based detection on the server.
    ServerVad {
        /// Activation threshold 0..1 (server default 0.5).
        threshold: Option<f64>,
        /// Audio kept before speech start, ms.
        prefix_padding_ms: Option<u32>,
        /// Silence that ends the turn, ms.
        silence_duration_ms: Option<u32>,
    },
    /// Model-based end-of-turn detection.
    SemanticVad {
        /// `low`, `medium`, `high` or `auto`.
        eagerness: Option<String>,
    },
    /// No detection: the app uses push-to-talk (`start_talking` / `stop_talking`).
    Manual,
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FunctionToolConfig {
    /// Function name; the tool handler receives calls by this name.
    pub name: String,
    /// When and how to use it.
    pub description: Option<String>,
    /// JSON Schema of the arguments, as JSON text.
    pub parameters_json: Option<String>,
}

/// The model's session configuration (a partial update in `update_config`).
#[derive(Debug, Clone, PartialEq, Default, uniffi::Record)]
pub struct SessionConfig {
    /// System instructions.
    pub instructions: Option<String>,
    /// Voice name (`marin`, `cedar`, …).
    pub voice: Option<String>,
    /// Audio (default) or text answers.
    pub output_modalities: Option<Vec<OutputModality>>,
    /// Turn detection; absent keeps the server default (server VAD).
    pub turn_detection: Option<TurnDetectionConfig>,
    /// Transcribe the user's speech with this model (e.g. `gpt-4o-transcribe`).
    pub input_transcription_model: Option<String>,
    /// Functions the model may call; an empty list removes them.
    pub tools: Option<Vec<FunctionToolConfig>>,
}

fn invalid(what: &str, e: impl std::fmt::Display) -> VoiceError {
    VoiceError::Other {
        detail: format!("invalid {what}: {e}"),
    }
}

impl TryFrom<&SessionConfig> for wire::SessionConfig {
    type Error = VoiceError;

    /// Builds the GA JSON shape and lets the protocol crate parse it, so its open enums and
    /// validation apply exactly as for Rust users.
    fn try_from(config: &SessionConfig) -> Result<Self, VoiceError> {
        let mut session = serde_json::Map::new();
        if let Some(instructions) = &config.instructions {
            session.insert("instructions".into(), json!(instructions));
        }
        if let Some(modalities) = &config.output_modalities {
            let names: Vec<&str> = modalities
                .iter()
                .map(|m| match m {
                    OutputModality::Audio => "audio",
                    OutputModality::Text => "text",
                })
                .collect();
            session.insert("output_modalities".into(), json!(names));
        }
        let mut input = serde_json::Map::new();
        if let Some(turn_detection) = &config.turn_detection {
            let value = match turn_detection {
                TurnDetectionConfig::ServerVad {
                    threshold,
                    prefix_padding_ms,
                    silence_duration_ms,
                } => {
                    let mut v = json!({ "type": "server_vad" });
                    if let Some(t) = threshold {
                        v["threshold"] = json!(t);
                    }
                    if let Some(p) = prefix_padding_ms {
                        v["prefix_padding_ms"] = json!(p);
                    }
                    if let Some(s) = silence_duration_ms {
                        v["silence_duration_ms"] = json!(s);
                    }
                    v
                }
                TurnDetectionConfig::SemanticVad { eagerness } => match eagerness {
                    Some(e) => json!({ "type": "semantic_vad", "eagerness": e }),
                    None => json!({ "type": "semantic_vad" }),
                },
                TurnDetectionConfig::Manual => Value::Null,
            };
            input.insert("turn_detection".into(), value);
        }
        if let Some(model) = &config.input_transcription_model {
            input.insert("transcription".into(), json!({ "model": model }));
        }
        let mut audio = serde_json::Map::new();
        if !input.is_empty() {
            audio.insert("input".into(), Value::Object(input));
        }
        if let Some(voice) = &config.voice {
            audio.insert("output".into(), json!({ "voice": voice }));
        }
        if !audio.is_empty() {
            session.insert("audio".into(), Value::Object(audio));
        }
        if let Some(tools) = &config.tools {
            let mut list = Vec::with_capacity(tools.len());
            for tool in tools {
                let mut t = json!({ "type": "function", "name": tool.name });
                if let Some(d) = &tool.description {
                    t["description"] = json!(d);
                }
                if let Some(p) = &tool.parameters_json {
                    let schema: Value =
                        serde_json::from_str(p).map_err(|e| invalid("tool parameters JSON", e))?;
                    t["parameters"] = schema;
                }
                list.push(t);
            }
            session.insert("tools".into(), Value::Array(list));
        }
        serde_json::from_value(Value::Object(session)).map_err(|e| invalid("session config", e))
    }
}

/// When and how lost connections are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ReconnectConfig {
    /// Retry lost connections at all.
    pub enabled: bool,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// How long one connection attempt (token, connect, configure) may take, ms.
    pub connect_timeout_ms: u64,
}

impl ReconnectConfig {
    fn apply(&self, mut policy: voicewire::ReconnectPolicy) -> voicewire::ReconnectPolicy {
        policy.enabled = self.enabled;
        policy.max_attempts = self.max_attempts;
        policy.connect_timeout = Duration::from_millis(self.connect_timeout_ms);
        policy
    }
}

/// Everything a session is created with, besides the app's services.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SessionOptions {
    /// Where to connect.
    pub endpoint: EndpointConfig,
    /// WebSocket or WebRTC.
    pub transport: TransportKind,
    /// The model's configuration.
    pub session: SessionConfig,
    /// Retry policy; absent keeps the engine default.
    pub reconnect: Option<ReconnectConfig>,
    /// How long a tool handler may run before the model is told it timed out, ms.
    pub tool_timeout_ms: Option<u64>,
    /// How often `AudioLevels` events are sent, ms; 0 turns them off; absent = 100 ms.
    pub levels_interval_ms: Option<u64>,
}

impl SessionOptions {
    /// The Rust options for these settings (services and audio are added by the caller).
    pub(crate) fn to_rust(
        &self,
        token_source: voicewire::TokenSource,
    ) -> Result<voicewire::SessionOptions, VoiceError> {
        let mut options = voicewire::SessionOptions::new(token_source)
            .endpoint(self.endpoint.to_endpoint())
            .transport(self.transport.into())
            .session_config(wire::SessionConfig::try_from(&self.session)?);
        if let Some(reconnect) = &self.reconnect {
            options.reconnect = reconnect.apply(options.reconnect);
        }
        if let Some(ms) = self.tool_timeout_ms {
            options = options.tool_timeout(Duration::from_millis(ms));
        }
        match self.levels_interval_ms {
            Some(0) => options.levels_interval = None,
            Some(ms) => options.levels_interval = Some(Duration::from_millis(ms)),
            None => {}
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_config_becomes_the_ga_shape() {
        let config = SessionConfig {
            instructions: Some("be brief".into()),
            voice: Some("marin".into()),
            output_modalities: Some(vec![OutputModality::Text]),
            turn_detection: Some(TurnDetectionConfig::Manual),
            input_transcription_model: Some("gpt-4o-transcribe".into()),
            tools: Some(vec![FunctionToolConfig {
                name: "get_weather".into(),
                description: Some("weather".into()),
                parameters_json: Some(r#"{"type":"object"}"#.into()),
            }]),
        };
        let wire = wire::SessionConfig::try_from(&config).unwrap();
        let json = serde_json::to_value(&wire).unwrap();
        assert_eq!(json["instructions"], "be brief");
        assert_eq!(json["output_modalities"], json!(["text"]));
        assert_eq!(json["audio"]["output"]["voice"], "marin");
        assert_eq!(json["audio"]["input"]["turn_detection"], Value::Null);
        assert_eq!(json["tools"][0]["parameters"]["type"], "object");
    }

    #[test]
    fn invalid_tool_schema_is_a_typed_error() {
        let config = SessionConfig {
            tools: Some(vec![FunctionToolConfig {
                name: "x".into(),
                description: None,
                parameters_json: Some("{not json".into()),
            }]),
            ..SessionConfig::default()
        };
        assert!(matches!(
            wire::SessionConfig::try_from(&config),
            Err(VoiceError::Other { .. })
        ));
    }

    #[test]
    fn an_empty_update_stays_empty() {
        let wire = wire::SessionConfig::try_from(&SessionConfig::default()).unwrap();
        assert_eq!(serde_json::to_value(&wire).unwrap(), json!({}));
    }
}
