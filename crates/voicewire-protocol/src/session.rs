//! Session configuration: the GA realtime and transcription sessions, and their beta
//! (flat) spellings.
//!
//! The types are GA-shaped. Deserializing accepts both dialects: a session object without
//! `type`, or with the flat beta keys (`modalities`, `voice`, `input_audio_format`,
//! `turn_detection`, `max_response_output_tokens`, …), is read into the same GA
//! [`SessionConfig`]. When both spellings of a field appear, the GA one wins. To write the
//! beta shape, convert with [`BetaSessionConfig::from`].
//!
//! Every field is optional so one type serves `session.update` (a partial merge), the
//! server's `session.created`/`session.updated` (the full effective config) and REST bodies.
//! Fields where `null` means something (`turn_detection`, `noise_reduction`,
//! `transcription`, `prompt`, `tracing`) are [`Nullable`]: absent keeps the current value,
//! `null` clears it. [`SessionConfig::merge`] applies those rules (PROTOCOL.md §3.1).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::nullable::Nullable;
use crate::open_enum::open_string_enum;

open_string_enum! {
    /// An output modality (`output_modalities` in GA, `modalities` in beta).
    pub enum Modality {
        /// Text output.
        Text => "text",
        /// Audio output (always comes with a transcript).
        Audio => "audio",
    }
}

open_string_enum! {
    /// Kind of input noise reduction.
    pub enum NoiseReductionType {
        /// Close-talking microphones (headsets).
        NearField => "near_field",
        /// Far-field microphones (laptops, conference rooms).
        FarField => "far_field",
    }
}

open_string_enum! {
    /// How eagerly `semantic_vad` ends the user's turn.
    pub enum Eagerness {
        /// Waits longest (up to 8 s).
        Low => "low",
        /// Medium (up to 4 s).
        Medium => "medium",
        /// Ends turns quickly (up to 2 s).
        High => "high",
        /// Server default, behaves like `medium`.
        Auto => "auto",
    }
}

open_string_enum! {
    /// The string forms of `tool_choice`.
    pub enum ToolChoiceMode {
        /// The model may not call tools.
        None => "none",
        /// The model decides.
        Auto => "auto",
        /// The model must call a tool.
        Required => "required",
    }
}

/// Audio encoding of WebSocket/SIP audio payloads.
///
/// GA writes `{"type":"audio/pcm","rate":24000}`, `{"type":"audio/pcmu"}` or
/// `{"type":"audio/pcma"}`; beta wrote the strings `pcm16`, `g711_ulaw`, `g711_alaw`.
/// Both are accepted when reading; the GA object is written (use [`AudioFormat::beta_name`]
/// for the beta string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioFormat {
    /// 16-bit little-endian mono PCM (24 kHz is the only rate the service accepts).
    Pcm {
        /// Sample rate in Hz; `None` when the sender left it out.
        rate: Option<u32>,
    },
    /// G.711 µ-law at 8 kHz.
    Pcmu,
    /// G.711 A-law at 8 kHz.
    Pcma,
}

impl Default for AudioFormat {
    fn default() -> Self {
        Self::PCM16_24K
    }
}

impl AudioFormat {
    /// PCM16 at 24 kHz, the default of the service.
    pub const PCM16_24K: Self = Self::Pcm { rate: Some(24_000) };

    /// The GA `type` string (`audio/pcm`, `audio/pcmu`, `audio/pcma`).
    pub fn ga_type(&self) -> &'static str {
        match self {
            Self::Pcm { .. } => "audio/pcm",
            Self::Pcmu => "audio/pcmu",
            Self::Pcma => "audio/pcma",
        }
    }

    /// The beta string (`pcm16`, `g711_ulaw`, `g711_alaw`).
    pub fn beta_name(&self) -> &'static str {
        match self {
            Self::Pcm { .. } => "pcm16",
            Self::Pcmu => "g711_ulaw",
            Self::Pcma => "g711_alaw",
        }
    }

    /// Parses a beta string (or a bare GA type string).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "pcm16" => Some(Self::PCM16_24K),
            "audio/pcm" => Some(Self::Pcm { rate: None }),
            "g711_ulaw" | "audio/pcmu" => Some(Self::Pcmu),
            "g711_alaw" | "audio/pcma" => Some(Self::Pcma),
            _ => None,
        }
    }

    /// Sample rate in Hz (PCM defaults to 24 kHz when no rate is given, G.711 is 8 kHz).
    pub fn sample_rate(&self) -> u32 {
        match self {
            Self::Pcm { rate } => rate.unwrap_or(24_000),
            Self::Pcmu | Self::Pcma => 8_000,
        }
    }

    /// Bytes per sample (2 for PCM16, 1 for G.711).
    pub fn bytes_per_sample(&self) -> u32 {
        match self {
            Self::Pcm { .. } => 2,
            Self::Pcmu | Self::Pcma => 1,
        }
    }
}

impl Serialize for AudioFormat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let rate = match self {
            Self::Pcm { rate } => *rate,
            Self::Pcmu | Self::Pcma => None,
        };
        let mut map = serializer.serialize_map(Some(1 + usize::from(rate.is_some())))?;
        map.serialize_entry("type", self.ga_type())?;
        if let Some(rate) = rate {
            map.serialize_entry("rate", &rate)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for AudioFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Name(String),
            Object {
                #[serde(rename = "type")]
                format_type: String,
                #[serde(default)]
                rate: Option<u32>,
            },
        }
        let unknown = |name: &str| D::Error::custom(format!("unknown audio format `{name}`"));
        match Wire::deserialize(deserializer)? {
            Wire::Name(name) => Self::from_name(&name).ok_or_else(|| unknown(&name)),
            Wire::Object { format_type, rate } => match format_type.as_str() {
                "audio/pcm" => Ok(Self::Pcm { rate }),
                "audio/pcmu" => Ok(Self::Pcmu),
                "audio/pcma" => Ok(Self::Pcma),
                other => Err(unknown(other)),
            },
        }
    }
}

/// A voice: one of the named voices (an open string, e.g. `marin`) or a custom voice id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Voice {
    /// A named voice such as `alloy`, `marin`, `cedar`.
    Named(String),
    /// A custom voice (`{"id":"voice_…"}`, later addition).
    Custom {
        /// The custom voice id.
        id: String,
    },
}

impl Voice {
    /// The voice name or custom id.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Named(name) => name,
            Self::Custom { id } => id,
        }
    }
}

impl From<&str> for Voice {
    fn from(value: &str) -> Self {
        Self::Named(value.to_owned())
    }
}

impl From<String> for Voice {
    fn from(value: String) -> Self {
        Self::Named(value)
    }
}

/// Input noise reduction (`null` turns it off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseReduction {
    /// `near_field` or `far_field`.
    #[serde(rename = "type")]
    pub r#type: NoiseReductionType,
    /// Strength (later addition, default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<f64>,
}

/// Input audio transcription settings (`null` turns transcription off).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TranscriptionConfig {
    /// Transcription model, e.g. `gpt-4o-transcribe`, `whisper-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// ISO-639-1 language hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Prompt to guide the transcription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

/// Voice activity detection settings; `null` in the session means manual turn taking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum TurnDetection {
    /// Energy-based detection with silence timing.
    #[serde(rename = "server_vad")]
    ServerVad {
        /// Activation threshold 0..1 (default 0.5).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        threshold: Option<f64>,
        /// Audio kept before speech start, ms (default 300).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix_padding_ms: Option<u32>,
        /// Silence that ends the turn, ms (default 500).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        silence_duration_ms: Option<u32>,
        /// Idle time after the assistant finished before `timeout_triggered`, ms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idle_timeout_ms: Option<u32>,
        /// Start a response when the turn ends (default true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create_response: Option<bool>,
        /// Cancel the active response when the user starts speaking (default true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interrupt_response: Option<bool>,
    },
    /// Model-based end-of-turn detection.
    #[serde(rename = "semantic_vad")]
    SemanticVad {
        /// How eagerly to end the turn (default `auto`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        eagerness: Option<Eagerness>,
        /// Start a response when the turn ends (default true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create_response: Option<bool>,
        /// Cancel the active response when the user starts speaking (default true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interrupt_response: Option<bool>,
    },
}

impl TurnDetection {
    /// `server_vad` with every knob left to the server default.
    pub fn server_vad() -> Self {
        Self::ServerVad {
            threshold: None,
            prefix_padding_ms: None,
            silence_duration_ms: None,
            idle_timeout_ms: None,
            create_response: None,
            interrupt_response: None,
        }
    }

    /// `server_vad` with the documented defaults written out (0.5, 300 ms, 500 ms).
    pub fn server_vad_defaults() -> Self {
        Self::ServerVad {
            threshold: Some(0.5),
            prefix_padding_ms: Some(300),
            silence_duration_ms: Some(500),
            idle_timeout_ms: None,
            create_response: Some(true),
            interrupt_response: Some(true),
        }
    }

    /// `semantic_vad` with server defaults.
    pub fn semantic_vad() -> Self {
        Self::SemanticVad {
            eagerness: None,
            create_response: None,
            interrupt_response: None,
        }
    }

    /// Whether the server starts a response at the end of a turn (default true).
    pub fn create_response(&self) -> bool {
        match self {
            Self::ServerVad {
                create_response, ..
            }
            | Self::SemanticVad {
                create_response, ..
            } => create_response.unwrap_or(true),
        }
    }

    /// Whether user speech cancels the active response (default true).
    pub fn interrupt_response(&self) -> bool {
        match self {
            Self::ServerVad {
                interrupt_response, ..
            }
            | Self::SemanticVad {
                interrupt_response, ..
            } => interrupt_response.unwrap_or(true),
        }
    }
}

/// `audio.input` of a session.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AudioInputConfig {
    /// Input audio format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<AudioFormat>,
    /// Noise reduction; `null` = off.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub noise_reduction: Nullable<NoiseReduction>,
    /// Input transcription; `null` = off.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub transcription: Nullable<TranscriptionConfig>,
    /// Turn detection; `null` = manual turns (the client commits and asks for responses).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub turn_detection: Nullable<TurnDetection>,
}

impl AudioInputConfig {
    /// Partial-update merge (absent keeps, `null` clears, a value replaces).
    pub fn merge(&mut self, update: &Self) {
        merge_option(&mut self.format, &update.format);
        self.noise_reduction.merge_from(&update.noise_reduction);
        self.transcription.merge_from(&update.transcription);
        self.turn_detection.merge_from(&update.turn_detection);
    }
}

/// `audio.output` of a session.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AudioOutputConfig {
    /// Output audio format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<AudioFormat>,
    /// Voice (fixed once the session has produced audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<Voice>,
    /// Speaking speed 0.25..1.5 (default 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
}

impl AudioOutputConfig {
    /// Partial-update merge.
    pub fn merge(&mut self, update: &Self) {
        merge_option(&mut self.format, &update.format);
        merge_option(&mut self.voice, &update.voice);
        merge_option(&mut self.speed, &update.speed);
    }
}

/// `audio` of a session.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AudioConfig {
    /// Input side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<AudioInputConfig>,
    /// Output side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<AudioOutputConfig>,
}

impl AudioConfig {
    /// Partial-update merge, recursing into `input` and `output`.
    pub fn merge(&mut self, update: &Self) {
        if let Some(input) = &update.input {
            self.input.get_or_insert_with(Default::default).merge(input);
        }
        if let Some(output) = &update.output {
            self.output
                .get_or_insert_with(Default::default)
                .merge(output);
        }
    }

    fn input_mut(audio: &mut Option<Self>) -> &mut AudioInputConfig {
        audio
            .get_or_insert_with(Default::default)
            .input
            .get_or_insert_with(Default::default)
    }

    fn output_mut(audio: &mut Option<Self>) -> &mut AudioOutputConfig {
        audio
            .get_or_insert_with(Default::default)
            .output
            .get_or_insert_with(Default::default)
    }
}

/// A stored prompt reference.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Prompt {
    /// Prompt id (`pmpt_…`).
    pub id: String,
    /// Version; absent means the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Template variables: strings or `input_text`/`input_image`/`input_file` objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Map<String, Value>>,
}

/// A function tool the model may call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FunctionTool {
    /// Function name.
    pub name: String,
    /// When and how to use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
}

/// A remote MCP server the service calls on the model's behalf.
///
/// `Debug` redacts `authorization` and header values: they hold credentials.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct McpTool {
    /// Label the model and events use for this server.
    pub server_label: String,
    /// Server URL (or use `connector_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    /// Built-in connector id, e.g. `connector_gmail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<String>,
    /// OAuth token or similar credential for the server (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
    /// Extra HTTP headers (may hold secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Map<String, Value>>,
    /// A list of tool names, or a filter object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<Value>,
    /// `always`, `never`, or `{always:{tool_names}, never:{tool_names}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_approval: Option<Value>,
    /// Description of the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_description: Option<String>,
}

impl std::fmt::Debug for McpTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Option<Vec<&String>> = self.headers.as_ref().map(|h| h.keys().collect());
        f.debug_struct("McpTool")
            .field("server_label", &self.server_label)
            .field("server_url", &self.server_url)
            .field("connector_id", &self.connector_id)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("headers (names only)", &header_names)
            .field("allowed_tools", &self.allowed_tools)
            .field("require_approval", &self.require_approval)
            .field("server_description", &self.server_description)
            .finish()
    }
}

/// A tool in `session.tools` or `response.tools`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(
    clippy::large_enum_variant,
    reason = "tools are configuration, built a few times per session"
)]
#[serde(tag = "type")]
pub enum Tool {
    /// `{"type":"function", ...}`.
    #[serde(rename = "function")]
    Function(FunctionTool),
    /// `{"type":"mcp", ...}` (GA only).
    #[serde(rename = "mcp")]
    Mcp(McpTool),
}

impl Tool {
    /// A function tool with a JSON Schema for its arguments.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        Self::Function(FunctionTool {
            name: name.into(),
            description: Some(description.into()),
            parameters: Some(parameters),
        })
    }
}

/// `tool_choice`: a mode string or a specific tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// `"none"`, `"auto"`, `"required"`.
    Mode(ToolChoiceMode),
    /// `{"type":"function","name":…}`.
    Function {
        /// Function to call.
        name: String,
    },
    /// `{"type":"mcp","server_label":…,"name":…}`.
    Mcp {
        /// MCP server label.
        server_label: String,
        /// Tool name on that server.
        name: Option<String>,
    },
}

impl Default for ToolChoice {
    fn default() -> Self {
        Self::Mode(ToolChoiceMode::Auto)
    }
}

impl Serialize for ToolChoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Mode(mode) => mode.serialize(serializer),
            Self::Function { name } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "function")?;
                map.serialize_entry("name", name)?;
                map.end()
            }
            Self::Mcp { server_label, name } => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("type", "mcp")?;
                map.serialize_entry("server_label", server_label)?;
                if let Some(name) = name {
                    map.serialize_entry("name", name)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Mode(String),
            Object {
                #[serde(rename = "type")]
                choice_type: String,
                #[serde(default)]
                name: Option<String>,
                #[serde(default)]
                server_label: Option<String>,
            },
        }
        match Wire::deserialize(deserializer)? {
            Wire::Mode(mode) => Ok(Self::Mode(ToolChoiceMode::from(mode))),
            Wire::Object {
                choice_type,
                name,
                server_label,
            } => match choice_type.as_str() {
                "function" => Ok(Self::Function {
                    name: name.ok_or_else(|| D::Error::missing_field("name"))?,
                }),
                "mcp" => Ok(Self::Mcp {
                    server_label: server_label
                        .ok_or_else(|| D::Error::missing_field("server_label"))?,
                    name,
                }),
                other => Err(D::Error::custom(format!(
                    "unknown tool_choice type `{other}`"
                ))),
            },
        }
    }
}

/// Output token limit: a number (1..4096) or `"inf"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MaxTokens {
    /// A fixed limit.
    Number(u32),
    /// No limit beyond the model's (`"inf"`, the default).
    #[default]
    Inf,
}

impl Serialize for MaxTokens {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(n) => serializer.serialize_u32(*n),
            Self::Inf => serializer.serialize_str("inf"),
        }
    }
}

impl<'de> Deserialize<'de> for MaxTokens {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Number(u32),
            Text(String),
        }
        match Wire::deserialize(deserializer)? {
            Wire::Number(n) => Ok(Self::Number(n)),
            Wire::Text(t) if t == "inf" => Ok(Self::Inf),
            Wire::Text(t) => Err(D::Error::custom(format!(
                "max output tokens must be an integer or \"inf\", found \"{t}\""
            ))),
        }
    }
}

/// Tracing settings: `"auto"` or an explicit configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tracing {
    /// `"auto"`: default workflow name, group and metadata.
    Auto,
    /// Explicit settings.
    Config(TracingConfig),
}

/// Explicit tracing settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TracingConfig {
    /// Workflow name shown in the traces dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_name: Option<String>,
    /// Group id for filtering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl Serialize for Tracing {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Auto => serializer.serialize_str("auto"),
            Self::Config(config) => config.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Tracing {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Text(String),
            Config(TracingConfig),
        }
        match Wire::deserialize(deserializer)? {
            Wire::Text(t) if t == "auto" => Ok(Self::Auto),
            Wire::Text(t) => Err(D::Error::custom(format!("unknown tracing mode \"{t}\""))),
            Wire::Config(c) => Ok(Self::Config(c)),
        }
    }
}

/// Context truncation strategy.
#[derive(Debug, Clone, PartialEq)]
pub enum Truncation {
    /// `"auto"` (default).
    Auto,
    /// `"disabled"`: fail instead of truncating.
    Disabled,
    /// `{"type":"retention_ratio", ...}`.
    RetentionRatio {
        /// Fraction of the context to keep after truncation (0..1).
        retention_ratio: f64,
        /// `token_limits.post_instructions` (later addition).
        post_instructions_token_limit: Option<u32>,
    },
}

impl Serialize for Truncation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Auto => serializer.serialize_str("auto"),
            Self::Disabled => serializer.serialize_str("disabled"),
            Self::RetentionRatio {
                retention_ratio,
                post_instructions_token_limit,
            } => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("type", "retention_ratio")?;
                map.serialize_entry("retention_ratio", retention_ratio)?;
                if let Some(limit) = post_instructions_token_limit {
                    map.serialize_entry(
                        "token_limits",
                        &serde_json::json!({ "post_instructions": limit }),
                    )?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Truncation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct TokenLimits {
            #[serde(default)]
            post_instructions: Option<u32>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Text(String),
            Object {
                #[serde(rename = "type")]
                truncation_type: String,
                #[serde(default)]
                retention_ratio: Option<f64>,
                #[serde(default)]
                token_limits: Option<TokenLimits>,
            },
        }
        match Wire::deserialize(deserializer)? {
            Wire::Text(t) => match t.as_str() {
                "auto" => Ok(Self::Auto),
                "disabled" => Ok(Self::Disabled),
                other => Err(D::Error::custom(format!("unknown truncation \"{other}\""))),
            },
            Wire::Object {
                truncation_type,
                retention_ratio,
                token_limits,
            } => {
                if truncation_type != "retention_ratio" {
                    return Err(D::Error::custom(format!(
                        "unknown truncation type \"{truncation_type}\""
                    )));
                }
                Ok(Self::RetentionRatio {
                    retention_ratio: retention_ratio
                        .ok_or_else(|| D::Error::missing_field("retention_ratio"))?,
                    post_instructions_token_limit: token_limits.and_then(|t| t.post_instructions),
                })
            }
        }
    }
}

/// A GA realtime session configuration (`session` with `type: "realtime"`).
///
/// Reading also accepts the flat beta session (see the module docs).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "SessionConfigWire")]
pub struct SessionConfig {
    /// Session id (`sess_…`); set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `realtime.session`; set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Model name (an open string); cannot change after the session starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `["audio"]` (default) or `["text"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_modalities: Option<Vec<Modality>>,
    /// System instructions; `""` clears them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Stored prompt; `null` removes it.
    #[serde(skip_serializing_if = "Nullable::is_absent")]
    pub prompt: Nullable<Prompt>,
    /// Audio input and output settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioConfig>,
    /// Tools; `[]` clears them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// How the model picks tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Output token limit per response (`max_response_output_tokens` in beta).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<MaxTokens>,
    /// Tracing; `null` disables it.
    #[serde(skip_serializing_if = "Nullable::is_absent")]
    pub tracing: Nullable<Tracing>,
    /// Context truncation strategy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncation: Option<Truncation>,
    /// Extra fields to include, e.g. `item.input_audio_transcription.logprobs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    /// Unix time (s) when the session expires; set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Beta-only sampling temperature (0.6..1.2). GA has no such field; it is kept so beta
    /// traffic round-trips, and is not written in the GA shape by servers that follow GA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
}

/// What the deserializer reads: the GA keys plus the flat beta keys.
#[derive(Deserialize)]
struct SessionConfigWire {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    output_modalities: Option<Vec<Modality>>,
    #[serde(default)]
    instructions: Option<String>,
    #[serde(default)]
    prompt: Nullable<Prompt>,
    #[serde(default)]
    audio: Option<AudioConfig>,
    #[serde(default)]
    tools: Option<Vec<Tool>>,
    #[serde(default)]
    tool_choice: Option<ToolChoice>,
    #[serde(default)]
    max_output_tokens: Option<MaxTokens>,
    #[serde(default)]
    tracing: Nullable<Tracing>,
    #[serde(default)]
    truncation: Option<Truncation>,
    #[serde(default)]
    include: Option<Vec<String>>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(flatten)]
    beta: BetaAudioFields,
}

/// The flat beta audio keys shared by realtime and transcription sessions.
#[derive(Deserialize, Default)]
struct BetaAudioFields {
    #[serde(default)]
    modalities: Option<Vec<Modality>>,
    #[serde(default)]
    voice: Option<Voice>,
    #[serde(default)]
    speed: Option<f64>,
    #[serde(default)]
    input_audio_format: Option<AudioFormat>,
    #[serde(default)]
    output_audio_format: Option<AudioFormat>,
    #[serde(default)]
    input_audio_transcription: Nullable<TranscriptionConfig>,
    #[serde(default)]
    input_audio_noise_reduction: Nullable<NoiseReduction>,
    #[serde(default)]
    turn_detection: Nullable<TurnDetection>,
    #[serde(default)]
    max_response_output_tokens: Option<MaxTokens>,
}

impl BetaAudioFields {
    /// Moves the flat input keys into `audio.input`, unless the GA key is already set.
    fn fold_input_into(&mut self, audio: &mut Option<AudioConfig>) {
        let has_input = self.input_audio_format.is_some()
            || !self.input_audio_transcription.is_absent()
            || !self.input_audio_noise_reduction.is_absent()
            || !self.turn_detection.is_absent();
        if !has_input {
            return;
        }
        let input = AudioConfig::input_mut(audio);
        if input.format.is_none() {
            input.format = self.input_audio_format.take();
        }
        if input.transcription.is_absent() {
            input.transcription = std::mem::take(&mut self.input_audio_transcription);
        }
        if input.noise_reduction.is_absent() {
            input.noise_reduction = std::mem::take(&mut self.input_audio_noise_reduction);
        }
        if input.turn_detection.is_absent() {
            input.turn_detection = std::mem::take(&mut self.turn_detection);
        }
    }

    /// Moves the flat output keys into `audio.output`, unless the GA key is already set.
    fn fold_output_into(&mut self, audio: &mut Option<AudioConfig>) {
        if self.voice.is_none() && self.speed.is_none() && self.output_audio_format.is_none() {
            return;
        }
        let output = AudioConfig::output_mut(audio);
        if output.format.is_none() {
            output.format = self.output_audio_format.take();
        }
        if output.voice.is_none() {
            output.voice = self.voice.take();
        }
        if output.speed.is_none() {
            output.speed = self.speed.take();
        }
    }
}

impl From<SessionConfigWire> for SessionConfig {
    fn from(mut w: SessionConfigWire) -> Self {
        let mut audio = w.audio;
        w.beta.fold_input_into(&mut audio);
        w.beta.fold_output_into(&mut audio);
        Self {
            id: w.id,
            object: w.object,
            model: w.model,
            output_modalities: w.output_modalities.or(w.beta.modalities),
            instructions: w.instructions,
            prompt: w.prompt,
            audio,
            tools: w.tools,
            tool_choice: w.tool_choice,
            max_output_tokens: w.max_output_tokens.or(w.beta.max_response_output_tokens),
            tracing: w.tracing,
            truncation: w.truncation,
            include: w.include,
            expires_at: w.expires_at,
            temperature: w.temperature,
        }
    }
}

fn merge_option<T: Clone>(target: &mut Option<T>, update: &Option<T>) {
    if let Some(value) = update {
        *target = Some(value.clone());
    }
}

impl SessionConfig {
    /// Applies a `session.update` (partial merge, PROTOCOL.md §3.1) to this effective
    /// config: fields left out keep their values; `""` clears `instructions`; `[]` clears
    /// `tools`; `null` clears `turn_detection`, `noise_reduction`, `transcription`, `prompt`
    /// and `tracing`; `audio.input` and `audio.output` merge field by field. The
    /// server-owned `id`, `object` and `expires_at` of the update are ignored.
    ///
    /// This does not enforce policy (model fixed for the session, voice fixed after the
    /// first audio); the server decides whether to accept such an update.
    pub fn merge(&mut self, update: &SessionConfig) {
        merge_option(&mut self.model, &update.model);
        merge_option(&mut self.output_modalities, &update.output_modalities);
        merge_option(&mut self.instructions, &update.instructions);
        self.prompt.merge_from(&update.prompt);
        if let Some(audio) = &update.audio {
            self.audio.get_or_insert_with(Default::default).merge(audio);
        }
        merge_option(&mut self.tools, &update.tools);
        merge_option(&mut self.tool_choice, &update.tool_choice);
        merge_option(&mut self.max_output_tokens, &update.max_output_tokens);
        self.tracing.merge_from(&update.tracing);
        merge_option(&mut self.truncation, &update.truncation);
        merge_option(&mut self.include, &update.include);
        merge_option(&mut self.temperature, &update.temperature);
    }

    /// `audio.input`, if set.
    pub fn audio_input(&self) -> Option<&AudioInputConfig> {
        self.audio.as_ref().and_then(|a| a.input.as_ref())
    }

    /// `audio.output`, if set.
    pub fn audio_output(&self) -> Option<&AudioOutputConfig> {
        self.audio.as_ref().and_then(|a| a.output.as_ref())
    }

    /// Mutable `audio.input`, created when missing.
    pub fn audio_input_mut(&mut self) -> &mut AudioInputConfig {
        AudioConfig::input_mut(&mut self.audio)
    }

    /// Mutable `audio.output`, created when missing.
    pub fn audio_output_mut(&mut self) -> &mut AudioOutputConfig {
        AudioConfig::output_mut(&mut self.audio)
    }

    /// `audio.output.voice`, if set.
    pub fn voice(&self) -> Option<&Voice> {
        self.audio_output().and_then(|o| o.voice.as_ref())
    }

    /// `audio.input.turn_detection` (absent, null = manual turns, or a value).
    pub fn turn_detection(&self) -> Nullable<&TurnDetection> {
        self.audio_input()
            .map_or(Nullable::Absent, |i| i.turn_detection.as_ref())
    }

    /// `audio.input.format`, if set.
    pub fn input_format(&self) -> Option<AudioFormat> {
        self.audio_input().and_then(|i| i.format)
    }

    /// `audio.output.format`, if set.
    pub fn output_format(&self) -> Option<AudioFormat> {
        self.audio_output().and_then(|o| o.format)
    }

    /// Sets `audio.output.voice` (builder style).
    pub fn with_voice(mut self, voice: impl Into<Voice>) -> Self {
        self.audio_output_mut().voice = Some(voice.into());
        self
    }

    /// Sets `instructions` (builder style).
    pub fn with_instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Sets `audio.input.turn_detection` (builder style); `None` writes `null` (manual turns).
    pub fn with_turn_detection(mut self, turn_detection: Option<TurnDetection>) -> Self {
        self.audio_input_mut().turn_detection = Nullable::from(turn_detection);
        self
    }
}

/// A GA transcription session configuration (`session` with `type: "transcription"`).
///
/// Reading also accepts the flat beta / GA-launch `transcription_session` shape
/// (`input_audio_format`, `input_audio_transcription`, `turn_detection`,
/// `input_audio_noise_reduction`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "TranscriptionSessionConfigWire")]
pub struct TranscriptionSessionConfig {
    /// Session id; set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Object name; set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Audio input settings (only `input` is meaningful here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioConfig>,
    /// Extra fields to include, e.g. `item.input_audio_transcription.logprobs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    /// Unix time (s) when the session expires; set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

#[derive(Deserialize)]
struct TranscriptionSessionConfigWire {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    audio: Option<AudioConfig>,
    #[serde(default)]
    include: Option<Vec<String>>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(flatten)]
    beta: BetaAudioFields,
}

impl From<TranscriptionSessionConfigWire> for TranscriptionSessionConfig {
    fn from(mut w: TranscriptionSessionConfigWire) -> Self {
        let mut audio = w.audio;
        w.beta.fold_input_into(&mut audio);
        Self {
            id: w.id,
            object: w.object,
            audio,
            include: w.include,
            expires_at: w.expires_at,
        }
    }
}

impl TranscriptionSessionConfig {
    /// `audio.input`, if set.
    pub fn audio_input(&self) -> Option<&AudioInputConfig> {
        self.audio.as_ref().and_then(|a| a.input.as_ref())
    }

    /// Partial-update merge (same rules as [`SessionConfig::merge`]).
    pub fn merge(&mut self, update: &TranscriptionSessionConfig) {
        if let Some(audio) = &update.audio {
            self.audio.get_or_insert_with(Default::default).merge(audio);
        }
        merge_option(&mut self.include, &update.include);
    }
}

/// A session object tagged by `type`: `realtime` or `transcription`.
///
/// Reading: `type: "realtime"` or a missing `type` (the beta flat session) gives
/// `Realtime`; `type: "transcription"`, or a missing `type` with
/// `object: "realtime.transcription_session"` (the GA-launch flat shape), gives
/// `Transcription`.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "configuration, built a few times per session"
)]
pub enum SessionPayload {
    /// `type: "realtime"`.
    Realtime(SessionConfig),
    /// `type: "transcription"`.
    Transcription(TranscriptionSessionConfig),
}

impl Default for SessionPayload {
    fn default() -> Self {
        Self::Realtime(SessionConfig::default())
    }
}

impl SessionPayload {
    /// The realtime config, if this is one.
    pub fn as_realtime(&self) -> Option<&SessionConfig> {
        match self {
            Self::Realtime(c) => Some(c),
            Self::Transcription(_) => None,
        }
    }

    /// The transcription config, if this is one.
    pub fn as_transcription(&self) -> Option<&TranscriptionSessionConfig> {
        match self {
            Self::Transcription(c) => Some(c),
            Self::Realtime(_) => None,
        }
    }

    /// The `type` tag.
    pub fn session_type(&self) -> &'static str {
        match self {
            Self::Realtime(_) => "realtime",
            Self::Transcription(_) => "transcription",
        }
    }
}

impl From<SessionConfig> for SessionPayload {
    fn from(value: SessionConfig) -> Self {
        Self::Realtime(value)
    }
}

impl From<TranscriptionSessionConfig> for SessionPayload {
    fn from(value: TranscriptionSessionConfig) -> Self {
        Self::Transcription(value)
    }
}

impl Serialize for SessionPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Realtime(c) => crate::codec::Tagged {
                event_type: "realtime",
                event: c,
            }
            .serialize(serializer),
            Self::Transcription(c) => crate::codec::Tagged {
                event_type: "transcription",
                event: c,
            }
            .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for SessionPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let Value::Object(map) = &value else {
            return Err(D::Error::custom(format!(
                "session must be an object, found {}",
                crate::codec::json_kind(&value)
            )));
        };
        // Untyped (beta / GA-launch) sessions: `object` tells a transcription session apart.
        let untyped_transcription =
            map.get("object").and_then(Value::as_str) == Some("realtime.transcription_session");
        match map.get("type") {
            None | Some(Value::Null) if untyped_transcription => {
                TranscriptionSessionConfig::deserialize(value)
                    .map(Self::Transcription)
                    .map_err(D::Error::custom)
            }
            None | Some(Value::Null) => SessionConfig::deserialize(value)
                .map(Self::Realtime)
                .map_err(D::Error::custom),
            Some(Value::String(t)) if t == "realtime" => SessionConfig::deserialize(value)
                .map(Self::Realtime)
                .map_err(D::Error::custom),
            Some(Value::String(t)) if t == "transcription" => {
                TranscriptionSessionConfig::deserialize(value)
                    .map(Self::Transcription)
                    .map_err(D::Error::custom)
            }
            Some(other) => Err(D::Error::custom(format!(
                "session.type must be \"realtime\" or \"transcription\", found {other}"
            ))),
        }
    }
}

/// The flat beta realtime session, as written on beta connections and by the beta
/// `POST /v1/realtime/sessions`. Built from a GA [`SessionConfig`]; GA-only fields
/// (`prompt`, `truncation`, `include`) have no beta spelling and are left out.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BetaSessionConfig {
    /// Session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `realtime.session`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Output modalities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modalities: Option<Vec<Modality>>,
    /// Instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Voice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<Voice>,
    /// `pcm16`, `g711_ulaw` or `g711_alaw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_audio_format: Option<String>,
    /// `pcm16`, `g711_ulaw` or `g711_alaw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_audio_format: Option<String>,
    /// Input transcription; `null` = off.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub input_audio_transcription: Nullable<TranscriptionConfig>,
    /// Noise reduction; `null` = off.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub input_audio_noise_reduction: Nullable<NoiseReduction>,
    /// Turn detection; `null` = manual.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub turn_detection: Nullable<TurnDetection>,
    /// Tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Tool choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_output_tokens: Option<MaxTokens>,
    /// Speaking speed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// Tracing.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub tracing: Nullable<Tracing>,
    /// Expiry (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl From<&SessionConfig> for BetaSessionConfig {
    fn from(c: &SessionConfig) -> Self {
        let input = c.audio_input();
        let output = c.audio_output();
        Self {
            id: c.id.clone(),
            object: c.object.clone(),
            model: c.model.clone(),
            modalities: c.output_modalities.clone(),
            instructions: c.instructions.clone(),
            voice: output.and_then(|o| o.voice.clone()),
            input_audio_format: input
                .and_then(|i| i.format)
                .map(|f| f.beta_name().to_owned()),
            output_audio_format: output
                .and_then(|o| o.format)
                .map(|f| f.beta_name().to_owned()),
            input_audio_transcription: input.map_or(Nullable::Absent, |i| i.transcription.clone()),
            input_audio_noise_reduction: input
                .map_or(Nullable::Absent, |i| i.noise_reduction.clone()),
            turn_detection: input.map_or(Nullable::Absent, |i| i.turn_detection.clone()),
            tools: c.tools.clone(),
            tool_choice: c.tool_choice.clone(),
            temperature: c.temperature,
            max_response_output_tokens: c.max_output_tokens,
            speed: output.and_then(|o| o.speed),
            tracing: c.tracing.clone(),
            expires_at: c.expires_at,
        }
    }
}

impl From<BetaSessionConfig> for SessionConfig {
    fn from(b: BetaSessionConfig) -> Self {
        let mut audio = None;
        let mut beta = BetaAudioFields {
            modalities: None,
            voice: b.voice,
            speed: b.speed,
            input_audio_format: b
                .input_audio_format
                .as_deref()
                .and_then(AudioFormat::from_name),
            output_audio_format: b
                .output_audio_format
                .as_deref()
                .and_then(AudioFormat::from_name),
            input_audio_transcription: b.input_audio_transcription,
            input_audio_noise_reduction: b.input_audio_noise_reduction,
            turn_detection: b.turn_detection,
            max_response_output_tokens: None,
        };
        beta.fold_input_into(&mut audio);
        beta.fold_output_into(&mut audio);
        Self {
            id: b.id,
            object: b.object,
            model: b.model,
            output_modalities: b.modalities,
            instructions: b.instructions,
            prompt: Nullable::Absent,
            audio,
            tools: b.tools,
            tool_choice: b.tool_choice,
            max_output_tokens: b.max_response_output_tokens,
            tracing: b.tracing,
            truncation: None,
            include: None,
            expires_at: b.expires_at,
            temperature: b.temperature,
        }
    }
}

/// The flat transcription session (beta `transcription_session.*` and the GA-launch
/// `transcription_session.update`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlatTranscriptionSessionConfig {
    /// Session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Object name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// `pcm16`, `g711_ulaw` or `g711_alaw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_audio_format: Option<String>,
    /// Transcription settings.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub input_audio_transcription: Nullable<TranscriptionConfig>,
    /// Turn detection; `null` = manual.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub turn_detection: Nullable<TurnDetection>,
    /// Noise reduction; `null` = off.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub input_audio_noise_reduction: Nullable<NoiseReduction>,
    /// Extra fields to include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    /// Expiry (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl From<&TranscriptionSessionConfig> for FlatTranscriptionSessionConfig {
    fn from(c: &TranscriptionSessionConfig) -> Self {
        let input = c.audio_input();
        Self {
            id: c.id.clone(),
            object: c.object.clone(),
            input_audio_format: input
                .and_then(|i| i.format)
                .map(|f| f.beta_name().to_owned()),
            input_audio_transcription: input.map_or(Nullable::Absent, |i| i.transcription.clone()),
            turn_detection: input.map_or(Nullable::Absent, |i| i.turn_detection.clone()),
            input_audio_noise_reduction: input
                .map_or(Nullable::Absent, |i| i.noise_reduction.clone()),
            include: c.include.clone(),
            expires_at: c.expires_at,
        }
    }
}
