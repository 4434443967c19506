//! Server → client events (PROTOCOL.md §2.2).
//!
//! One variant per server event type in `events.json`, named after the GA type. Decoding
//! accepts GA and beta names and shapes (`response.audio.delta` →
//! [`ServerEvent::ResponseOutputAudioDelta`], `response.text.delta` →
//! [`ServerEvent::ResponseOutputTextDelta`], …). `conversation.item.created` is both a GA
//! type of its own and the beta name of `conversation.item.added`; it always decodes to
//! [`ServerEvent::ConversationItemCreated`].
//!
//! Encoding with [`Dialect::Beta`] writes beta names and shapes. Events that have no beta
//! equivalent (`conversation.item.done`, `input_audio_buffer.timeout_triggered`, the
//! `mcp…` events, `conversation.item.input_audio_transcription.segment`,
//! `input_audio_buffer.dtmf_event_received`, `transcription_session.created`) are written
//! under their GA name in beta too, since there is nothing better to call them.
//!
//! `event_id` is a `String` that defaults to `""` when absent (the SIP `dtmf` event has
//! none) and is left out when empty.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::codec::{DecodeError, EncodeError, Tagged, field_error, parse_raw, probe_type};
use crate::error::ApiError;
use crate::item::{Item, StreamedPart};
use crate::response::Response;
use crate::session::{SessionPayload, TranscriptionSessionConfig};
use crate::{Dialect, RawEvent};

/// `{id, object}` of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Conversation {
    /// Conversation id (`conv_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `realtime.conversation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
}

/// One entry of `rate_limits.updated`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RateLimit {
    /// `requests` or `tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// What is left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// Seconds until the limit resets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_seconds: Option<f64>,
}

/// Log probability of one transcription token.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LogProb {
    /// The token.
    #[serde(default)]
    pub token: String,
    /// Its log probability.
    #[serde(default)]
    pub logprob: f64,
    /// UTF-8 bytes of the token.
    #[serde(default)]
    pub bytes: Vec<u8>,
}

/// Input-token breakdown of transcription usage.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TranscriptionInputTokenDetails {
    /// Text tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_tokens: Option<u64>,
    /// Audio tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
}

/// Usage of an input transcription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum TranscriptionUsage {
    /// Billed by tokens.
    #[serde(rename = "tokens")]
    Tokens {
        /// Input tokens.
        #[serde(default)]
        input_tokens: u64,
        /// Output tokens.
        #[serde(default)]
        output_tokens: u64,
        /// Total tokens.
        #[serde(default)]
        total_tokens: u64,
        /// Breakdown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input_token_details: Option<TranscriptionInputTokenDetails>,
    },
    /// Billed by audio duration.
    #[serde(rename = "duration")]
    Duration {
        /// Seconds of audio.
        #[serde(default)]
        seconds: f64,
    },
}

/// The error of a failed input transcription (every field optional).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TranscriptionError {
    /// Error class.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Offending parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

/// `error`: something the client sent (or the server) failed. Most errors do not end
/// the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The error.
    pub error: ApiError,
}

/// `session.created` / `session.updated`: the full effective session.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionCreatedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The session.
    pub session: SessionPayload,
}

/// `session.updated`: the full effective session after a `session.update`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionUpdatedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The session.
    pub session: SessionPayload,
}

/// `transcription_session.created` (GA launch only).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TranscriptionSessionCreatedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The session (written flat).
    #[serde(serialize_with = "crate::beta::serialize_flat_transcription")]
    pub session: TranscriptionSessionConfig,
}

/// `transcription_session.updated` (beta and GA launch).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TranscriptionSessionUpdatedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The session (written flat).
    #[serde(serialize_with = "crate::beta::serialize_flat_transcription")]
    pub session: TranscriptionSessionConfig,
}

/// `conversation.created`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConversationCreatedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The conversation.
    #[serde(default)]
    pub conversation: Conversation,
}

/// Declares an event carrying `item` and an optional `previous_item_id`.
macro_rules! item_event {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            /// Server event id.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub event_id: String,
            /// The item before this one (`null` = at the start).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub previous_item_id: Option<String>,
            /// The item.
            pub item: Item,
        }
    };
}

item_event!(
    /// `conversation.item.added` (GA): an item was inserted; model items arrive empty
    /// with `status: "in_progress"`.
    ConversationItemAddedEvent
);
item_event!(
    /// `conversation.item.done` (GA): an item is complete (audio bytes left out).
    ConversationItemDoneEvent
);
item_event!(
    /// `conversation.item.created` (the beta name; still in the GA union).
    ConversationItemCreatedEvent
);

/// `conversation.item.retrieved`: answer to `conversation.item.retrieve` (with audio).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationItemRetrievedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The item.
    pub item: Item,
}

/// `conversation.item.truncated`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConversationItemTruncatedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The truncated item.
    pub item_id: String,
    /// Its audio part.
    pub content_index: u32,
    /// Where the audio was cut, ms.
    pub audio_end_ms: u64,
}

/// `conversation.item.deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConversationItemDeletedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The deleted item.
    pub item_id: String,
}

/// `conversation.item.input_audio_transcription.delta`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConversationItemInputAudioTranscriptionDeltaEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The user item.
    pub item_id: String,
    /// Its audio part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_index: Option<u32>,
    /// Text added to the transcript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<String>,
    /// Token log probabilities (when included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Vec<LogProb>>,
}

/// `conversation.item.input_audio_transcription.completed`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConversationItemInputAudioTranscriptionCompletedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The user item.
    pub item_id: String,
    /// Its audio part.
    pub content_index: u32,
    /// The final transcript.
    pub transcript: String,
    /// Usage (older beta servers may omit it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TranscriptionUsage>,
    /// Token log probabilities (when included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Vec<LogProb>>,
    /// Detected languages (GA, later addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<Vec<Value>>,
}

/// `conversation.item.input_audio_transcription.failed`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConversationItemInputAudioTranscriptionFailedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The user item.
    pub item_id: String,
    /// Its audio part.
    pub content_index: u32,
    /// What failed.
    #[serde(default)]
    pub error: TranscriptionError,
}

/// `conversation.item.input_audio_transcription.segment` (GA, diarization).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConversationItemInputAudioTranscriptionSegmentEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// Segment id.
    pub id: String,
    /// The user item.
    pub item_id: String,
    /// Its audio part.
    pub content_index: u32,
    /// Segment text.
    pub text: String,
    /// Speaker label.
    pub speaker: String,
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
}

/// `input_audio_buffer.committed`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputAudioBufferCommittedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The user item that will be created.
    pub item_id: String,
    /// The item before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_item_id: Option<String>,
}

/// `input_audio_buffer.cleared`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputAudioBufferClearedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
}

/// `input_audio_buffer.speech_started` (VAD).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputAudioBufferSpeechStartedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The user item that will hold the speech.
    pub item_id: String,
    /// Start of speech, ms since the session's audio began.
    pub audio_start_ms: u64,
}

/// `input_audio_buffer.speech_stopped` (VAD).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputAudioBufferSpeechStoppedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The user item.
    pub item_id: String,
    /// End of speech, ms.
    pub audio_end_ms: u64,
}

/// `input_audio_buffer.timeout_triggered` (GA, `server_vad.idle_timeout_ms`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputAudioBufferTimeoutTriggeredEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The item created from the idle audio.
    pub item_id: String,
    /// Start of the idle audio, ms.
    pub audio_start_ms: u64,
    /// End of the idle audio, ms.
    pub audio_end_ms: u64,
}

/// `input_audio_buffer.dtmf_event_received` (SIP; has no `event_id` on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputAudioBufferDtmfEventReceivedEvent {
    /// Always `""` from the service; left out when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The key: 0-9, `*`, `#`, A-D.
    pub event: String,
    /// Unix time (s) it was received.
    pub received_at: i64,
}

/// Declares an `output_audio_buffer.*` event (`response_id` only).
macro_rules! output_buffer_event {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
        pub struct $name {
            /// Server event id.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub event_id: String,
            /// The response whose audio this is about.
            #[serde(default)]
            pub response_id: String,
        }
    };
}

output_buffer_event!(
    /// `output_audio_buffer.started` (WebRTC/SIP): playback of a response began.
    OutputAudioBufferStartedEvent
);
output_buffer_event!(
    /// `output_audio_buffer.stopped` (WebRTC/SIP): playback drained.
    OutputAudioBufferStoppedEvent
);
output_buffer_event!(
    /// `output_audio_buffer.cleared` (WebRTC/SIP): playback was cut (interruption or clear).
    OutputAudioBufferClearedEvent
);

/// `response.created`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResponseCreatedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The new response (`status: in_progress`).
    pub response: Response,
}

/// `response.done` (always sent, also for cancelled and failed responses).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResponseDoneEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The final response (audio bytes left out).
    pub response: Response,
}

/// Declares `response.output_item.added` / `.done`.
macro_rules! output_item_event {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            /// Server event id.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub event_id: String,
            /// The response.
            pub response_id: String,
            /// Index of the item in the response output.
            pub output_index: u32,
            /// The item.
            pub item: Item,
        }
    };
}

output_item_event!(
    /// `response.output_item.added`.
    ResponseOutputItemAddedEvent
);
output_item_event!(
    /// `response.output_item.done`.
    ResponseOutputItemDoneEvent
);

/// Declares `response.content_part.added` / `.done`.
macro_rules! content_part_event {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            /// Server event id.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub event_id: String,
            /// The response.
            pub response_id: String,
            /// The item.
            pub item_id: String,
            /// Index of the item in the response output.
            pub output_index: u32,
            /// Index of the part in the item content.
            pub content_index: u32,
            /// The part (`type` is `text` or `audio`, in both dialects).
            pub part: StreamedPart,
        }
    };
}

content_part_event!(
    /// `response.content_part.added`.
    ResponseContentPartAddedEvent
);
content_part_event!(
    /// `response.content_part.done`.
    ResponseContentPartDoneEvent
);

/// Declares a content-level streaming event with one extra string field.
macro_rules! content_stream_event {
    ($(#[$meta:meta])* $name:ident { $(#[$fmeta:meta])* $field:ident }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
        pub struct $name {
            /// Server event id.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub event_id: String,
            /// The response.
            pub response_id: String,
            /// The item.
            pub item_id: String,
            /// Index of the item in the response output.
            pub output_index: u32,
            /// Index of the part in the item content.
            pub content_index: u32,
            $(#[$fmeta])*
            pub $field: String,
        }
    };
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
        pub struct $name {
            /// Server event id.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub event_id: String,
            /// The response.
            pub response_id: String,
            /// The item.
            pub item_id: String,
            /// Index of the item in the response output.
            pub output_index: u32,
            /// Index of the part in the item content.
            pub content_index: u32,
        }
    };
}

content_stream_event!(
    /// `response.output_text.delta` (beta `response.text.delta`).
    ResponseOutputTextDeltaEvent {
        /// Text added.
        delta
    }
);
content_stream_event!(
    /// `response.output_text.done` (beta `response.text.done`).
    ResponseOutputTextDoneEvent {
        /// The full text.
        text
    }
);
content_stream_event!(
    /// `response.output_audio.delta` (beta `response.audio.delta`). WebSocket/SIP only.
    ///
    /// For the hot path, [`crate::audio::peek_audio_delta`] reads this event without
    /// copying the base64 payload.
    ResponseOutputAudioDeltaEvent {
        /// Base64 audio in the session output format.
        delta
    }
);
content_stream_event!(
    /// `response.output_audio.done` (beta `response.audio.done`).
    ResponseOutputAudioDoneEvent
);
content_stream_event!(
    /// `response.output_audio_transcript.delta` (beta `response.audio_transcript.delta`).
    ResponseOutputAudioTranscriptDeltaEvent {
        /// Transcript text added.
        delta
    }
);
content_stream_event!(
    /// `response.output_audio_transcript.done` (beta `response.audio_transcript.done`).
    ResponseOutputAudioTranscriptDoneEvent {
        /// The full transcript.
        transcript
    }
);

/// `response.function_call_arguments.delta`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResponseFunctionCallArgumentsDeltaEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The response.
    pub response_id: String,
    /// The function call item.
    pub item_id: String,
    /// Index of the item in the response output.
    pub output_index: u32,
    /// The call id.
    pub call_id: String,
    /// Argument text added.
    pub delta: String,
}

/// `response.function_call_arguments.done`. The beta type has no `name`: it reads as `""`
/// and is left out when encoding for beta.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResponseFunctionCallArgumentsDoneEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The response.
    pub response_id: String,
    /// The function call item.
    pub item_id: String,
    /// Index of the item in the response output.
    pub output_index: u32,
    /// The call id.
    pub call_id: String,
    /// Function name (GA only).
    #[serde(default)]
    pub name: String,
    /// The full arguments (JSON string).
    pub arguments: String,
}

/// `response.mcp_call_arguments.delta` (GA).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResponseMcpCallArgumentsDeltaEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The response.
    pub response_id: String,
    /// The MCP call item.
    pub item_id: String,
    /// Index of the item in the response output.
    pub output_index: u32,
    /// Argument text added.
    pub delta: String,
    /// Padding that hides the payload size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obfuscation: Option<String>,
}

/// `response.mcp_call_arguments.done` (GA).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResponseMcpCallArgumentsDoneEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// The response.
    pub response_id: String,
    /// The MCP call item.
    pub item_id: String,
    /// Index of the item in the response output.
    pub output_index: u32,
    /// The full arguments (JSON string).
    pub arguments: String,
}

/// Declares an MCP progress event (`item_id`, `output_index`).
macro_rules! mcp_call_event {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
        pub struct $name {
            /// Server event id.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub event_id: String,
            /// The MCP call item.
            pub item_id: String,
            /// Index of the item in the response output.
            pub output_index: u32,
        }
    };
}

mcp_call_event!(
    /// `response.mcp_call.in_progress` (GA).
    ResponseMcpCallInProgressEvent
);
mcp_call_event!(
    /// `response.mcp_call.completed` (GA).
    ResponseMcpCallCompletedEvent
);
mcp_call_event!(
    /// `response.mcp_call.failed` (GA).
    ResponseMcpCallFailedEvent
);

/// Declares an `mcp_list_tools.*` event (`item_id`).
macro_rules! mcp_list_tools_event {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
        pub struct $name {
            /// Server event id.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub event_id: String,
            /// The `mcp_list_tools` item.
            pub item_id: String,
        }
    };
}

mcp_list_tools_event!(
    /// `mcp_list_tools.in_progress` (GA).
    McpListToolsInProgressEvent
);
mcp_list_tools_event!(
    /// `mcp_list_tools.completed` (GA).
    McpListToolsCompletedEvent
);
mcp_list_tools_event!(
    /// `mcp_list_tools.failed` (GA).
    McpListToolsFailedEvent
);

/// `rate_limits.updated` (sent when a response starts).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RateLimitsUpdatedEvent {
    /// Server event id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    /// Current limits.
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
}

macro_rules! server_events {
    ( $( $variant:ident ( $ty:ident ) = $ga:literal, beta $beta:literal $(, also $($alias:literal)|+ )? ; )+ ) => {
        /// A server → client event.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(
            clippy::large_enum_variant,
            reason = "the public API names plain event structs; session events are rare, so \
                      the size is not worth a Box in every match"
        )]
        pub enum ServerEvent {
            $(
                #[doc = concat!("`", $ga, "` (beta: `", $beta, "`).")]
                $variant($ty),
            )+
            /// An event of a type this crate does not know; the JSON is kept as it was.
            Unknown(RawEvent),
        }

        $(
            impl From<$ty> for ServerEvent {
                fn from(event: $ty) -> Self {
                    Self::$variant(event)
                }
            }
        )+

        impl ServerEvent {
            /// The wire `type` of this event in `dialect`. GA-only events keep their GA
            /// name in beta.
            pub fn event_type(&self, dialect: Dialect) -> &str {
                match (self, dialect) {
                    $(
                        (Self::$variant(_), Dialect::Ga) => $ga,
                        (Self::$variant(_), Dialect::Beta) => $beta,
                    )+
                    (Self::Unknown(raw), _) => &raw.event_type,
                }
            }

            /// Every server event type this crate knows (GA names).
            pub const KNOWN_TYPES: &'static [&'static str] = &[ $( $ga, )+ ];

            /// Every extra `type` accepted when decoding (beta names that differ from GA).
            pub const BETA_ALIASES: &'static [&'static str] = &[ $( $( $($alias,)+ )? )+ ];

            /// Decodes one server event, accepting GA and beta names and shapes.
            ///
            /// Unknown `type` → `Ok(Unknown)`; unknown fields are ignored; text that is not
            /// an event, or a known event with wrong field shapes, is a [`DecodeError`].
            /// Never panics.
            pub fn decode(text: &str) -> Result<Self, DecodeError> {
                let event_type = probe_type(text)?;
                match event_type.as_ref() {
                    $(
                        $ga $( $(| $alias)+ )? => serde_json::from_str::<$ty>(text)
                            .map(Self::$variant)
                            .map_err(|e| field_error(&event_type, &e)),
                    )+
                    other => parse_raw(other, text).map(Self::Unknown),
                }
            }

            /// Encodes this event as JSON text in `dialect`.
            pub fn encode(&self, dialect: Dialect) -> Result<String, EncodeError> {
                match (self, dialect) {
                    (Self::Unknown(raw), _) => serde_json::to_string(&raw.json)
                        .map_err(|e| EncodeError::json(&raw.event_type, e)),
                    $(
                        (Self::$variant(event), Dialect::Ga) => {
                            serde_json::to_string(&Tagged { event_type: $ga, event })
                                .map_err(|e| EncodeError::json($ga, e))
                        }
                    )+
                    (event, Dialect::Beta) => {
                        let value = event.to_beta_value()?;
                        serde_json::to_string(&value)
                            .map_err(|e| EncodeError::json(event.event_type(dialect), e))
                    }
                }
            }

            /// The event as a JSON value in the beta shape.
            fn to_beta_value(&self) -> Result<Value, EncodeError> {
                let event_type = self.event_type(Dialect::Beta);
                let mut value = match self {
                    $(
                        Self::$variant(event) => serde_json::to_value(&Tagged { event_type: $beta, event }),
                    )+
                    Self::Unknown(raw) => Ok(raw.json.clone()),
                }
                .map_err(|e| EncodeError::json(event_type, e))?;
                crate::beta::rewrite_server_event(self, &mut value)
                    .map_err(|e| EncodeError::json(event_type, e))?;
                Ok(value)
            }
        }
    };
}

server_events! {
    Error(ErrorEvent) = "error", beta "error";
    SessionCreated(SessionCreatedEvent) = "session.created", beta "session.created";
    SessionUpdated(SessionUpdatedEvent) = "session.updated", beta "session.updated";
    TranscriptionSessionCreated(TranscriptionSessionCreatedEvent) = "transcription_session.created", beta "transcription_session.created";
    TranscriptionSessionUpdated(TranscriptionSessionUpdatedEvent) = "transcription_session.updated", beta "transcription_session.updated";
    ConversationCreated(ConversationCreatedEvent) = "conversation.created", beta "conversation.created";
    ConversationItemAdded(ConversationItemAddedEvent) = "conversation.item.added", beta "conversation.item.created";
    ConversationItemDone(ConversationItemDoneEvent) = "conversation.item.done", beta "conversation.item.done";
    ConversationItemCreated(ConversationItemCreatedEvent) = "conversation.item.created", beta "conversation.item.created";
    ConversationItemRetrieved(ConversationItemRetrievedEvent) = "conversation.item.retrieved", beta "conversation.item.retrieved";
    ConversationItemTruncated(ConversationItemTruncatedEvent) = "conversation.item.truncated", beta "conversation.item.truncated";
    ConversationItemDeleted(ConversationItemDeletedEvent) = "conversation.item.deleted", beta "conversation.item.deleted";
    ConversationItemInputAudioTranscriptionDelta(ConversationItemInputAudioTranscriptionDeltaEvent) = "conversation.item.input_audio_transcription.delta", beta "conversation.item.input_audio_transcription.delta";
    ConversationItemInputAudioTranscriptionCompleted(ConversationItemInputAudioTranscriptionCompletedEvent) = "conversation.item.input_audio_transcription.completed", beta "conversation.item.input_audio_transcription.completed";
    ConversationItemInputAudioTranscriptionFailed(ConversationItemInputAudioTranscriptionFailedEvent) = "conversation.item.input_audio_transcription.failed", beta "conversation.item.input_audio_transcription.failed";
    ConversationItemInputAudioTranscriptionSegment(ConversationItemInputAudioTranscriptionSegmentEvent) = "conversation.item.input_audio_transcription.segment", beta "conversation.item.input_audio_transcription.segment";
    InputAudioBufferCommitted(InputAudioBufferCommittedEvent) = "input_audio_buffer.committed", beta "input_audio_buffer.committed";
    InputAudioBufferCleared(InputAudioBufferClearedEvent) = "input_audio_buffer.cleared", beta "input_audio_buffer.cleared";
    InputAudioBufferSpeechStarted(InputAudioBufferSpeechStartedEvent) = "input_audio_buffer.speech_started", beta "input_audio_buffer.speech_started";
    InputAudioBufferSpeechStopped(InputAudioBufferSpeechStoppedEvent) = "input_audio_buffer.speech_stopped", beta "input_audio_buffer.speech_stopped";
    InputAudioBufferTimeoutTriggered(InputAudioBufferTimeoutTriggeredEvent) = "input_audio_buffer.timeout_triggered", beta "input_audio_buffer.timeout_triggered";
    InputAudioBufferDtmfEventReceived(InputAudioBufferDtmfEventReceivedEvent) = "input_audio_buffer.dtmf_event_received", beta "input_audio_buffer.dtmf_event_received";
    OutputAudioBufferStarted(OutputAudioBufferStartedEvent) = "output_audio_buffer.started", beta "output_audio_buffer.started";
    OutputAudioBufferStopped(OutputAudioBufferStoppedEvent) = "output_audio_buffer.stopped", beta "output_audio_buffer.stopped";
    OutputAudioBufferCleared(OutputAudioBufferClearedEvent) = "output_audio_buffer.cleared", beta "output_audio_buffer.cleared";
    ResponseCreated(ResponseCreatedEvent) = "response.created", beta "response.created";
    ResponseDone(ResponseDoneEvent) = "response.done", beta "response.done";
    ResponseOutputItemAdded(ResponseOutputItemAddedEvent) = "response.output_item.added", beta "response.output_item.added";
    ResponseOutputItemDone(ResponseOutputItemDoneEvent) = "response.output_item.done", beta "response.output_item.done";
    ResponseContentPartAdded(ResponseContentPartAddedEvent) = "response.content_part.added", beta "response.content_part.added";
    ResponseContentPartDone(ResponseContentPartDoneEvent) = "response.content_part.done", beta "response.content_part.done";
    ResponseOutputTextDelta(ResponseOutputTextDeltaEvent) = "response.output_text.delta", beta "response.text.delta", also "response.text.delta";
    ResponseOutputTextDone(ResponseOutputTextDoneEvent) = "response.output_text.done", beta "response.text.done", also "response.text.done";
    ResponseOutputAudioDelta(ResponseOutputAudioDeltaEvent) = "response.output_audio.delta", beta "response.audio.delta", also "response.audio.delta";
    ResponseOutputAudioDone(ResponseOutputAudioDoneEvent) = "response.output_audio.done", beta "response.audio.done", also "response.audio.done";
    ResponseOutputAudioTranscriptDelta(ResponseOutputAudioTranscriptDeltaEvent) = "response.output_audio_transcript.delta", beta "response.audio_transcript.delta", also "response.audio_transcript.delta";
    ResponseOutputAudioTranscriptDone(ResponseOutputAudioTranscriptDoneEvent) = "response.output_audio_transcript.done", beta "response.audio_transcript.done", also "response.audio_transcript.done";
    ResponseFunctionCallArgumentsDelta(ResponseFunctionCallArgumentsDeltaEvent) = "response.function_call_arguments.delta", beta "response.function_call_arguments.delta";
    ResponseFunctionCallArgumentsDone(ResponseFunctionCallArgumentsDoneEvent) = "response.function_call_arguments.done", beta "response.function_call_arguments.done";
    ResponseMcpCallArgumentsDelta(ResponseMcpCallArgumentsDeltaEvent) = "response.mcp_call_arguments.delta", beta "response.mcp_call_arguments.delta";
    ResponseMcpCallArgumentsDone(ResponseMcpCallArgumentsDoneEvent) = "response.mcp_call_arguments.done", beta "response.mcp_call_arguments.done";
    ResponseMcpCallInProgress(ResponseMcpCallInProgressEvent) = "response.mcp_call.in_progress", beta "response.mcp_call.in_progress";
    ResponseMcpCallCompleted(ResponseMcpCallCompletedEvent) = "response.mcp_call.completed", beta "response.mcp_call.completed";
    ResponseMcpCallFailed(ResponseMcpCallFailedEvent) = "response.mcp_call.failed", beta "response.mcp_call.failed";
    McpListToolsInProgress(McpListToolsInProgressEvent) = "mcp_list_tools.in_progress", beta "mcp_list_tools.in_progress";
    McpListToolsCompleted(McpListToolsCompletedEvent) = "mcp_list_tools.completed", beta "mcp_list_tools.completed";
    McpListToolsFailed(McpListToolsFailedEvent) = "mcp_list_tools.failed", beta "mcp_list_tools.failed";
    RateLimitsUpdated(RateLimitsUpdatedEvent) = "rate_limits.updated", beta "rate_limits.updated";
}

impl ServerEvent {
    /// `error` with the given server event id.
    pub fn error(event_id: impl Into<String>, error: ApiError) -> Self {
        Self::Error(ErrorEvent {
            event_id: event_id.into(),
            error,
        })
    }

    /// The server `event_id` (`""` when the event has none).
    pub fn event_id(&self) -> &str {
        macro_rules! id_of {
            ($($variant:ident),+) => {
                match self {
                    $( Self::$variant(e) => &e.event_id, )+
                    Self::Unknown(raw) => raw.json.get("event_id").and_then(Value::as_str).unwrap_or(""),
                }
            };
        }
        id_of!(
            Error,
            SessionCreated,
            SessionUpdated,
            TranscriptionSessionCreated,
            TranscriptionSessionUpdated,
            ConversationCreated,
            ConversationItemAdded,
            ConversationItemDone,
            ConversationItemCreated,
            ConversationItemRetrieved,
            ConversationItemTruncated,
            ConversationItemDeleted,
            ConversationItemInputAudioTranscriptionDelta,
            ConversationItemInputAudioTranscriptionCompleted,
            ConversationItemInputAudioTranscriptionFailed,
            ConversationItemInputAudioTranscriptionSegment,
            InputAudioBufferCommitted,
            InputAudioBufferCleared,
            InputAudioBufferSpeechStarted,
            InputAudioBufferSpeechStopped,
            InputAudioBufferTimeoutTriggered,
            InputAudioBufferDtmfEventReceived,
            OutputAudioBufferStarted,
            OutputAudioBufferStopped,
            OutputAudioBufferCleared,
            ResponseCreated,
            ResponseDone,
            ResponseOutputItemAdded,
            ResponseOutputItemDone,
            ResponseContentPartAdded,
            ResponseContentPartDone,
            ResponseOutputTextDelta,
            ResponseOutputTextDone,
            ResponseOutputAudioDelta,
            ResponseOutputAudioDone,
            ResponseOutputAudioTranscriptDelta,
            ResponseOutputAudioTranscriptDone,
            ResponseFunctionCallArgumentsDelta,
            ResponseFunctionCallArgumentsDone,
            ResponseMcpCallArgumentsDelta,
            ResponseMcpCallArgumentsDone,
            ResponseMcpCallInProgress,
            ResponseMcpCallCompleted,
            ResponseMcpCallFailed,
            McpListToolsInProgress,
            McpListToolsCompleted,
            McpListToolsFailed,
            RateLimitsUpdated
        )
    }

    /// Whether this is an `Unknown` event.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Self::Unknown(_))
    }
}
