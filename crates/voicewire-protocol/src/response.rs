//! The response object (`response.created` / `response.done`) and the per-response
//! overrides of `response.create` (PROTOCOL.md §2.3, §3.2).
//!
//! Reading accepts the beta spellings (`modalities`, `voice`, `output_audio_format`,
//! `max_response_output_tokens`) and folds them into the GA fields.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::item::{Item, ResponseInputItem};
use crate::nullable::Nullable;
use crate::open_enum::open_string_enum;
use crate::session::{AudioFormat, MaxTokens, Modality, Prompt, Tool, ToolChoice, Voice};

open_string_enum! {
    /// Status of a response.
    pub enum ResponseStatus {
        /// Still generating.
        InProgress => "in_progress",
        /// Finished normally.
        Completed => "completed",
        /// Cancelled by the client or by a detected user turn.
        Cancelled => "cancelled",
        /// Failed with an error.
        Failed => "failed",
        /// Stopped early (token limit, content filter).
        Incomplete => "incomplete",
    }
}

open_string_enum! {
    /// Why a response ended the way it did.
    pub enum StatusReason {
        /// Cancelled because the user started speaking (server VAD).
        TurnDetected => "turn_detected",
        /// Cancelled by `response.cancel`.
        ClientCancelled => "client_cancelled",
        /// Hit `max_output_tokens`.
        MaxOutputTokens => "max_output_tokens",
        /// Stopped by the content filter.
        ContentFilter => "content_filter",
    }
}

/// The error inside `status_details` of a failed response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusError {
    /// Error class.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// `status_details` of a response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusDetails {
    /// `completed`, `cancelled`, `incomplete` or `failed`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<ResponseStatus>,
    /// Why it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<StatusReason>,
    /// The error, for failed responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StatusError>,
}

/// Cached-token breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CachedTokenDetails {
    /// Cached text tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_tokens: Option<u64>,
    /// Cached audio tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Cached image tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tokens: Option<u64>,
}

/// Input-token breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputTokenDetails {
    /// Text tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_tokens: Option<u64>,
    /// Audio tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Image tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tokens: Option<u64>,
    /// Cached tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Cached-token breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens_details: Option<CachedTokenDetails>,
}

/// Output-token breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutputTokenDetails {
    /// Text tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_tokens: Option<u64>,
    /// Audio tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
}

/// Token usage of a response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Input + output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
    /// Input tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Input breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_token_details: Option<InputTokenDetails>,
    /// Output breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_token_details: Option<OutputTokenDetails>,
}

/// `audio.output` of a response or of `response.create`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResponseAudioOutput {
    /// Output format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<AudioFormat>,
    /// Voice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<Voice>,
}

/// `audio` of a response or of `response.create`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResponseAudio {
    /// Output side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<ResponseAudioOutput>,
}

impl ResponseAudio {
    fn from_beta(voice: Option<Voice>, format: Option<AudioFormat>) -> Option<Self> {
        if voice.is_none() && format.is_none() {
            return None;
        }
        Some(Self {
            output: Some(ResponseAudioOutput { format, voice }),
        })
    }
}

/// A response (`RealtimeResponse`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "ResponseWire")]
pub struct Response {
    /// Response id (`resp_…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `realtime.response`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ResponseStatus>,
    /// Why it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_details: Option<StatusDetails>,
    /// Output items (audio bytes left out).
    pub output: Vec<Item>,
    /// Conversation the response writes to (absent for out-of-band responses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Output modalities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_modalities: Option<Vec<Modality>>,
    /// Output token limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<MaxTokens>,
    /// Audio output settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<ResponseAudio>,
    /// Client metadata given in `response.create`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// Token usage (in `response.done`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Beta-only sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
}

#[derive(Deserialize)]
struct ResponseWire {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    status: Option<ResponseStatus>,
    #[serde(default)]
    status_details: Option<StatusDetails>,
    #[serde(default)]
    output: Option<Vec<Item>>,
    #[serde(default)]
    conversation_id: Option<String>,
    #[serde(default)]
    output_modalities: Option<Vec<Modality>>,
    #[serde(default)]
    max_output_tokens: Option<MaxTokens>,
    #[serde(default)]
    audio: Option<ResponseAudio>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    temperature: Option<f64>,
    // beta spellings
    #[serde(default)]
    modalities: Option<Vec<Modality>>,
    #[serde(default)]
    voice: Option<Voice>,
    #[serde(default)]
    output_audio_format: Option<AudioFormat>,
}

impl From<ResponseWire> for Response {
    fn from(w: ResponseWire) -> Self {
        Self {
            id: w.id,
            object: w.object,
            status: w.status,
            status_details: w.status_details,
            output: w.output.unwrap_or_default(),
            conversation_id: w.conversation_id,
            output_modalities: w.output_modalities.or(w.modalities),
            max_output_tokens: w.max_output_tokens,
            audio: w
                .audio
                .or_else(|| ResponseAudio::from_beta(w.voice, w.output_audio_format)),
            metadata: w.metadata,
            usage: w.usage,
            temperature: w.temperature,
        }
    }
}

impl Response {
    /// A new in-progress response with the given id.
    pub fn in_progress(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            object: Some("realtime.response".to_owned()),
            status: Some(ResponseStatus::InProgress),
            ..Default::default()
        }
    }

    /// The id, or `""`.
    pub fn id_str(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }
}

/// Per-response overrides in `response.create` (`RealtimeResponseCreateParams`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "ResponseCreateParamsWire")]
pub struct ResponseCreateParams {
    /// `"auto"` (default, writes to the conversation) or `"none"` (out of band).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<String>,
    /// Replaces the conversation context for this response (`[]` = empty context).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Vec<ResponseInputItem>>,
    /// Instructions for this response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Output modalities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_modalities: Option<Vec<Modality>>,
    /// Tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Tool choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Metadata echoed in the response (≤16 pairs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// Stored prompt; `null` removes it for this response.
    #[serde(skip_serializing_if = "Nullable::is_absent")]
    pub prompt: Nullable<Prompt>,
    /// Output token limit (`max_response_output_tokens` in beta).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<MaxTokens>,
    /// Audio output settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<ResponseAudio>,
    /// Beta-only sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
}

#[derive(Deserialize)]
struct ResponseCreateParamsWire {
    #[serde(default)]
    conversation: Option<String>,
    #[serde(default)]
    input: Option<Vec<ResponseInputItem>>,
    #[serde(default)]
    instructions: Option<String>,
    #[serde(default)]
    output_modalities: Option<Vec<Modality>>,
    #[serde(default)]
    tools: Option<Vec<Tool>>,
    #[serde(default)]
    tool_choice: Option<ToolChoice>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    prompt: Nullable<Prompt>,
    #[serde(default)]
    max_output_tokens: Option<MaxTokens>,
    #[serde(default)]
    audio: Option<ResponseAudio>,
    #[serde(default)]
    temperature: Option<f64>,
    // beta spellings
    #[serde(default)]
    modalities: Option<Vec<Modality>>,
    #[serde(default)]
    voice: Option<Voice>,
    #[serde(default)]
    output_audio_format: Option<AudioFormat>,
    #[serde(default)]
    max_response_output_tokens: Option<MaxTokens>,
}

impl From<ResponseCreateParamsWire> for ResponseCreateParams {
    fn from(w: ResponseCreateParamsWire) -> Self {
        Self {
            conversation: w.conversation,
            input: w.input,
            instructions: w.instructions,
            output_modalities: w.output_modalities.or(w.modalities),
            tools: w.tools,
            tool_choice: w.tool_choice,
            metadata: w.metadata,
            prompt: w.prompt,
            max_output_tokens: w.max_output_tokens.or(w.max_response_output_tokens),
            audio: w
                .audio
                .or_else(|| ResponseAudio::from_beta(w.voice, w.output_audio_format)),
            temperature: w.temperature,
        }
    }
}

impl ResponseCreateParams {
    /// An out-of-band response (`conversation: "none"`) with the given instructions.
    pub fn out_of_band(instructions: impl Into<String>) -> Self {
        Self {
            conversation: Some("none".to_owned()),
            instructions: Some(instructions.into()),
            ..Default::default()
        }
    }
}
