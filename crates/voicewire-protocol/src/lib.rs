//! Wire types for the OpenAI Realtime API: client and server events, session
//! configuration, conversation items, responses, errors and REST bodies.
//!
//! No I/O, no clock, no async: this crate turns JSON text into typed values and back. The
//! engine (`voicewire-core`), the transports and the local emulator all speak through it,
//! so a protocol rename touches only this crate.
//!
//! # Dialects
//!
//! The API has two dialects ([`Dialect`]):
//!
//! * **GA** (the default): event names such as `response.output_audio.delta`, the session
//!   tagged with `type: "realtime"` and nested under `audio.input` / `audio.output`,
//!   assistant content parts `output_text` / `output_audio`, `max_output_tokens`.
//! * **Beta** (`OpenAI-Beta: realtime=v1`, retired by OpenAI in 2026; kept for legacy
//!   servers): names such as `response.audio.delta`, a flat session (`modalities`,
//!   `voice`, `input_audio_format: "pcm16"`, `turn_detection`,
//!   `max_response_output_tokens`, `temperature`), assistant parts `text` / `audio`.
//!
//! The typed values are always GA-shaped. **Decoding accepts both dialects** without being
//! told which one it reads; **encoding** takes the dialect to write. The mapping is in
//! PROTOCOL.md §3.4 and is tested both ways. Two rules worth knowing:
//!
//! * `conversation.item.created` is a GA type of its own and also the beta name of
//!   `conversation.item.added`. It decodes to [`ServerEvent::ConversationItemCreated`];
//!   encoding [`ServerEvent::ConversationItemAdded`] for beta writes
//!   `conversation.item.created`.
//! * GA-only events (`conversation.item.done`, `input_audio_buffer.timeout_triggered`, the
//!   MCP events, …) are written under their GA name in beta too.
//!
//! # Tolerance
//!
//! Input from the network never panics the decoder and never loses what it could read:
//!
//! * an unknown event `type` decodes to `Unknown(`[`RawEvent`]`)` holding the original
//!   JSON, which encodes back unchanged (key order kept; compact input round-trips byte
//!   for byte);
//! * unknown fields are ignored;
//! * unknown values of open-ended enums (statuses, modalities, voices) are kept in an
//!   `Other(String)` variant;
//! * text that is not JSON, not an object, has no string `type`, or a known event whose
//!   fields have the wrong shape gives a [`DecodeError`] naming the event type and reason.
//!
//! # Absent versus `null`
//!
//! Session fields where `null` has a meaning (`turn_detection`, `noise_reduction`,
//! `transcription`, `prompt`, `tracing`) use [`Nullable`] (`Absent` / `Null` /
//! `Value`), so a partial `session.update` can say "leave it" or "turn it off".
//! [`SessionConfig::merge`] applies an update to an effective config.
//!
//! # Hot path
//!
//! [`audio::peek_audio_delta`] reads an audio delta borrowing the base64 payload, and
//! [`audio::decode_pcm16_base64`] appends samples into a caller buffer; see the
//! `decode_stream` benchmark.
//!
//! ```
//! use voicewire_protocol::{ClientEvent, Dialect, ServerEvent};
//!
//! let event = ServerEvent::decode(
//!     r#"{"type":"response.audio_transcript.delta","event_id":"e1","response_id":"r1",
//!        "item_id":"i1","output_index":0,"content_index":0,"delta":"Hel"}"#,
//! )?;
//! let ServerEvent::ResponseOutputAudioTranscriptDelta(delta) = &event else { unreachable!() };
//! assert_eq!(delta.delta, "Hel");
//! assert_eq!(event.event_type(Dialect::Ga), "response.output_audio_transcript.delta");
//!
//! let text = ClientEvent::append_audio("AAAA").encode(Dialect::Ga)?;
//! assert_eq!(text, r#"{"type":"input_audio_buffer.append","audio":"AAAA"}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod beta;
mod codec;
mod nullable;
mod open_enum;

pub mod audio;
pub mod client;
pub mod error;
pub mod item;
pub mod response;
pub mod rest;
pub mod server;
pub mod session;

pub use audio::{
    AudioDeltaRef, AudioPayloadError, decode_pcm16_base64, encode_pcm16_base64, peek_audio_delta,
};
pub use client::ClientEvent;
pub use codec::{DecodeError, DecodeErrorKind, EncodeError};
pub use error::{ApiError, ErrorBody};
pub use item::{ContentPart, Item, ItemStatus, MessageItem, Role, StreamedPart};
pub use nullable::Nullable;
pub use response::{Response, ResponseCreateParams, ResponseStatus, Usage};
pub use rest::{ClientSecretCreateRequest, ClientSecretCreateResponse, MintedSecret};
pub use server::ServerEvent;
pub use session::{
    AudioConfig, AudioFormat, AudioInputConfig, AudioOutputConfig, MaxTokens, Modality,
    SessionConfig, SessionPayload, Tool, ToolChoice, TranscriptionSessionConfig, TurnDetection,
    Voice,
};

use serde::{Deserialize, Serialize};

/// Which spelling of the protocol to write (reading accepts both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// The generally available API (August 2025 onward).
    #[default]
    Ga,
    /// The retired beta (`OpenAI-Beta: realtime=v1`).
    Beta,
}

/// An event of a type this crate does not know, kept as its original JSON so it can be
/// passed on or written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawEvent {
    /// The event `type`.
    pub event_type: String,
    /// The whole event object as received (including `type`).
    pub json: serde_json::Value,
}

impl RawEvent {
    /// Wraps a JSON object; `event_type` is read from its `type` (or `""`).
    pub fn from_json(json: serde_json::Value) -> Self {
        let event_type = json
            .get("type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Self { event_type, json }
    }
}
