//! Records for session options and session configuration, converted to the Rust API's types.
//!
//! Only what apps set is mirrored; every field is optional where the Rust type is, so an
//! absent value keeps the engine's (or the server's) default. `update_config` takes the same
//! record as a partial update: absent fields are left as they are.

use std::time::Duration;

use voicewire::protocol as wire;

use crate::error::VoiceError;

/// Where to connect.
///
/// `Debug` hides userinfo and query values of both URLs (a relay URL may carry a credential).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
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

impl std::fmt::Debug for EndpointConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use voicewire::endpoint::redact_url;
        f.debug_struct("EndpointConfig")
            .field("api_base", &redact_url(&self.api_base))
            .field("relay_url", &self.relay_url.as_deref().map(redact_url))
            .field("model", &self.model)
            .finish()
    }
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

impl From<OutputModality> for wire::session::Modality {
    fn from(modality: OutputModality) -> Self {
        match modality {
            OutputModality::Audio => wire::session::Modality::Audio,
            OutputModality::Text => wire::session::Modality::Text,
        }
    }
}

impl TurnDetectionConfig {
    /// The protocol's turn detection: `None` for manual turns (sent as `null`).
    fn to_wire(&self) -> Result<Option<wire::TurnDetection>, VoiceError> {
        Ok(match self {
            TurnDetectionConfig::ServerVad {
                threshold,
                prefix_padding_ms,
                silence_duration_ms,
            } => {
                // JSON has no NaN or infinity: serde would quietly send `null` (the server
                // default) instead of what the app asked for.
                if let Some(t) = threshold
                    && !t.is_finite()
                {
                    return Err(invalid("server VAD threshold", t));
                }
                Some(wire::TurnDetection::ServerVad {
                    threshold: *threshold,
                    prefix_padding_ms: *prefix_padding_ms,
                    silence_duration_ms: *silence_duration_ms,
                    idle_timeout_ms: None,
                    create_response: None,
                    interrupt_response: None,
                })
            }
            TurnDetectionConfig::SemanticVad { eagerness } => {
                Some(wire::TurnDetection::SemanticVad {
                    // An open enum: names this version does not know are passed through.
                    eagerness: eagerness.as_deref().map(wire::session::Eagerness::from),
                    create_response: None,
                    interrupt_response: None,
                })
            }
            TurnDetectionConfig::Manual => None,
        })
    }
}

impl FunctionToolConfig {
    /// The protocol's function tool; the schema text must be JSON.
    fn to_wire(&self) -> Result<wire::session::Tool, VoiceError> {
        let parameters = match &self.parameters_json {
            Some(text) => Some(
                serde_json::from_str::<serde_json::Value>(text)
                    .map_err(|e| invalid(&format!("parameters JSON of tool `{}`", self.name), e))?,
            ),
            None => None,
        };
        Ok(wire::session::Tool::Function(wire::session::FunctionTool {
            name: self.name.clone(),
            description: self.description.clone(),
            parameters,
        }))
    }
}

impl TryFrom<&SessionConfig> for wire::SessionConfig {
    type Error = VoiceError;

    /// Fills the protocol's typed configuration field by field, so the wire JSON is exactly
    /// what a Rust app building the same `SessionConfig` sends. Absent fields stay absent
    /// (a partial update keeps them); `Manual` turn detection is an explicit `null`.
    fn try_from(config: &SessionConfig) -> Result<Self, VoiceError> {
        let mut session = wire::SessionConfig {
            instructions: config.instructions.clone(),
            output_modalities: config
                .output_modalities
                .as_ref()
                .map(|list| list.iter().copied().map(Into::into).collect()),
            ..wire::SessionConfig::default()
        };
        if let Some(turn_detection) = &config.turn_detection {
            session.audio_input_mut().turn_detection =
                wire::Nullable::from(turn_detection.to_wire()?);
        }
        if let Some(model) = &config.input_transcription_model {
            session.audio_input_mut().transcription =
                wire::Nullable::Value(wire::session::TranscriptionConfig {
                    model: Some(model.clone()),
                    ..Default::default()
                });
        }
        if let Some(voice) = &config.voice {
            session = session.with_voice(voice.as_str());
        }
        if let Some(tools) = &config.tools {
            session.tools = Some(
                tools
                    .iter()
                    .map(FunctionToolConfig::to_wire)
                    .collect::<Result<_, _>>()?,
            );
        }
        Ok(session)
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

/// The longest duration taken from the app (30 days): longer is "never" in practice, and
/// a bound keeps every `Instant + duration` in the engine far from overflowing.
const MAX_APP_DURATION_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// `ms` from the app as a duration, capped at [`MAX_APP_DURATION_MS`].
pub(crate) fn app_duration(ms: u64) -> Duration {
    Duration::from_millis(ms.min(MAX_APP_DURATION_MS))
}

impl ReconnectConfig {
    fn apply(&self, mut policy: voicewire::ReconnectPolicy) -> voicewire::ReconnectPolicy {
        policy.enabled = self.enabled;
        policy.max_attempts = self.max_attempts;
        policy.connect_timeout = app_duration(self.connect_timeout_ms);
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
    /// How long a tool handler may run before the model is told it timed out, ms (values
    /// above 30 days count as 30 days, as do the other durations here).
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
            options = options.tool_timeout(app_duration(ms));
        }
        match self.levels_interval_ms {
            Some(0) => options.levels_interval = None,
            Some(ms) => options.levels_interval = Some(app_duration(ms)),
            None => {}
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use wire::session::{Eagerness, FunctionTool, Modality, Tool, TranscriptionConfig};
    use wire::{ClientEvent, Dialect, Nullable, TurnDetection};

    fn weather_tool() -> FunctionToolConfig {
        FunctionToolConfig {
            name: "get_weather".into(),
            description: Some("weather".into()),
            parameters_json: Some(
                r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into(),
            ),
        }
    }

    /// The same configuration built with the Rust API's types and builders.
    fn rust_api_equivalent() -> wire::SessionConfig {
        let mut config = wire::SessionConfig::default()
            .with_instructions("be brief")
            .with_voice("marin")
            .with_turn_detection(None);
        config.output_modalities = Some(vec![Modality::Text]);
        config.audio_input_mut().transcription = Nullable::Value(TranscriptionConfig {
            model: Some("gpt-4o-transcribe".into()),
            ..Default::default()
        });
        config.tools = Some(vec![Tool::function(
            "get_weather",
            "weather",
            json!({"type":"object","properties":{"city":{"type":"string"}}}),
        )]);
        config
    }

    #[test]
    fn ffi_config_sends_the_same_wire_json_as_the_rust_api() {
        let config = SessionConfig {
            instructions: Some("be brief".into()),
            voice: Some("marin".into()),
            output_modalities: Some(vec![OutputModality::Text]),
            turn_detection: Some(TurnDetectionConfig::Manual),
            input_transcription_model: Some("gpt-4o-transcribe".into()),
            tools: Some(vec![weather_tool()]),
        };
        let from_ffi = wire::SessionConfig::try_from(&config).unwrap();
        let from_rust = rust_api_equivalent();
        assert_eq!(from_ffi, from_rust);
        for dialect in [Dialect::Ga, Dialect::Beta] {
            let ffi_event = ClientEvent::session_update(from_ffi.clone())
                .encode(dialect)
                .unwrap();
            let rust_event = ClientEvent::session_update(from_rust.clone())
                .encode(dialect)
                .unwrap();
            assert_eq!(ffi_event, rust_event, "{dialect:?}");
        }
        // And the wire text decodes back to the same configuration.
        let json = serde_json::to_string(&from_ffi).unwrap();
        let decoded: wire::SessionConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(decoded, from_ffi);
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["output_modalities"], json!(["text"]));
        assert_eq!(value["audio"]["output"]["voice"], "marin");
        assert_eq!(value["audio"]["input"]["turn_detection"], Value::Null);
        assert_eq!(value["tools"][0]["type"], "function");
        assert_eq!(value["tools"][0]["parameters"]["type"], "object");
    }

    #[test]
    fn vad_settings_map_onto_the_protocol_variants() {
        let server = SessionConfig {
            turn_detection: Some(TurnDetectionConfig::ServerVad {
                threshold: Some(0.6),
                prefix_padding_ms: Some(200),
                silence_duration_ms: None,
            }),
            ..SessionConfig::default()
        };
        let wire = wire::SessionConfig::try_from(&server).unwrap();
        let Nullable::Value(TurnDetection::ServerVad {
            threshold,
            prefix_padding_ms,
            silence_duration_ms,
            ..
        }) = wire.turn_detection()
        else {
            panic!("server VAD expected: {wire:?}");
        };
        assert_eq!(
            (*threshold, *prefix_padding_ms, *silence_duration_ms),
            (Some(0.6), Some(200), None)
        );

        let semantic = SessionConfig {
            turn_detection: Some(TurnDetectionConfig::SemanticVad {
                eagerness: Some("high".into()),
            }),
            ..SessionConfig::default()
        };
        let wire = wire::SessionConfig::try_from(&semantic).unwrap();
        assert_eq!(
            wire.turn_detection(),
            Nullable::Value(&TurnDetection::SemanticVad {
                eagerness: Some(Eagerness::High),
                create_response: None,
                interrupt_response: None,
            })
        );
    }

    #[test]
    fn invalid_tool_schema_is_a_typed_error_naming_the_tool() {
        let config = SessionConfig {
            tools: Some(vec![FunctionToolConfig {
                name: "lookup".into(),
                description: None,
                parameters_json: Some("{not json".into()),
            }]),
            ..SessionConfig::default()
        };
        match wire::SessionConfig::try_from(&config) {
            Err(VoiceError::Other { detail }) => assert!(detail.contains("lookup"), "{detail}"),
            other => panic!("expected a typed error, got {other:?}"),
        }
    }

    #[test]
    fn a_non_finite_threshold_is_refused_not_sent_as_null() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let config = SessionConfig {
                turn_detection: Some(TurnDetectionConfig::ServerVad {
                    threshold: Some(bad),
                    prefix_padding_ms: None,
                    silence_duration_ms: None,
                }),
                ..SessionConfig::default()
            };
            assert!(matches!(
                wire::SessionConfig::try_from(&config),
                Err(VoiceError::Other { .. })
            ));
        }
    }

    #[test]
    fn a_tool_without_schema_or_description_has_neither_key() {
        let config = SessionConfig {
            tools: Some(vec![FunctionToolConfig {
                name: "ping".into(),
                description: None,
                parameters_json: None,
            }]),
            ..SessionConfig::default()
        };
        let wire = wire::SessionConfig::try_from(&config).unwrap();
        assert_eq!(
            wire.tools,
            Some(vec![Tool::Function(FunctionTool {
                name: "ping".into(),
                description: None,
                parameters: None,
            })])
        );
        assert_eq!(
            serde_json::to_value(&wire).unwrap(),
            json!({"tools":[{"type":"function","name":"ping"}]})
        );
    }

    #[test]
    fn an_empty_update_stays_empty() {
        let wire = wire::SessionConfig::try_from(&SessionConfig::default()).unwrap();
        assert_eq!(serde_json::to_value(&wire).unwrap(), json!({}));
    }

    #[test]
    fn endpoint_debug_hides_credentials_in_urls() {
        let endpoint = EndpointConfig {
            api_base: "https://user:hunter2@relay.example/v1".into(),
            relay_url: Some("wss://relay.example/ws?token=ek_supersecret".into()),
            model: Some("gpt-realtime".into()),
        };
        let text = format!("{endpoint:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("ek_supersecret"), "{text}");
        assert!(text.contains("relay.example"), "{text}");
    }

    #[test]
    fn huge_durations_are_capped() {
        let options = SessionOptions {
            endpoint: EndpointConfig {
                api_base: "http://127.0.0.1:1/v1".into(),
                relay_url: None,
                model: None,
            },
            transport: TransportKind::WebSocket,
            session: SessionConfig::default(),
            reconnect: Some(ReconnectConfig {
                enabled: true,
                max_attempts: u32::MAX,
                connect_timeout_ms: u64::MAX,
            }),
            tool_timeout_ms: Some(u64::MAX),
            levels_interval_ms: Some(u64::MAX),
        };
        let rust = options
            .to_rust(voicewire::TokenSource::api_key("sk-test"))
            .unwrap();
        let cap = Duration::from_millis(MAX_APP_DURATION_MS);
        assert_eq!(rust.tools.timeout, cap);
        assert_eq!(rust.reconnect.connect_timeout, cap);
        assert_eq!(rust.levels_interval, Some(cap));
        assert_eq!(rust.reconnect.max_attempts, u32::MAX);
    }
}
