//! Client → server events (PROTOCOL.md §2.1).
//!
//! All client events have the same `type` in both dialects; what differs is the shape of
//! nested objects (the session, assistant content parts, the `response.create` overrides),
//! which [`ClientEvent::encode`] rewrites for [`Dialect::Beta`].

use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, EncodeError, Tagged, field_error, parse_raw, probe_type};
use crate::item::Item;
use crate::response::ResponseCreateParams;
use crate::session::{SessionConfig, SessionPayload, TranscriptionSessionConfig};
use crate::{Dialect, RawEvent};

/// `session.update`: change the session configuration (a partial merge).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionUpdateEvent {
    /// Optional client-chosen id, echoed in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The fields to change.
    pub session: SessionPayload,
}

/// `input_audio_buffer.append`: add base64 audio to the input buffer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputAudioBufferAppendEvent {
    /// Optional client-chosen id, echoed in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Base64 audio in the session input format.
    pub audio: String,
}

/// `input_audio_buffer.commit`: turn the buffered audio into a user item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputAudioBufferCommitEvent {
    /// Optional client-chosen id, echoed in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// `input_audio_buffer.clear`: drop the buffered audio.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputAudioBufferClearEvent {
    /// Optional client-chosen id, echoed in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// `output_audio_buffer.clear`: stop server-side playback (WebRTC/SIP only; send
/// `response.cancel` first).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutputAudioBufferClearEvent {
    /// Optional client-chosen id, echoed in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// `conversation.item.create`: add an item to the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationItemCreateEvent {
    /// Optional client-chosen id, echoed in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Insert after this item (`"root"` = at the start; absent = at the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_item_id: Option<String>,
    /// The item.
    pub item: Item,
}

/// `conversation.item.retrieve`: ask for the full item (with audio).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConversationItemRetrieveEvent {
    /// Optional client-chosen id, echoed in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Item to retrieve.
    pub item_id: String,
}

/// `conversation.item.truncate`: cut an assistant audio item at what was actually played.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConversationItemTruncateEvent {
    /// Optional client-chosen id, echoed in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The assistant message item.
    pub item_id: String,
    /// Its audio content part (normally 0).
    pub content_index: u32,
    /// Milliseconds of audio played (inclusive).
    pub audio_end_ms: u64,
}

/// `conversation.item.delete`: remove an item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConversationItemDeleteEvent {
    /// Optional client-chosen id, echoed in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Item to delete.
    pub item_id: String,
}

/// `response.create`: ask the model to respond.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResponseCreateEvent {
    /// Optional client-chosen id, echoed in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Per-response overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseCreateParams>,
}

/// `response.cancel`: stop the active (or the named) response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResponseCancelEvent {
    /// Optional client-chosen id, echoed in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Response to cancel; absent = the active one in the default conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
}

/// `transcription_session.update` (beta, and the GA launch; later GA uses `session.update`
/// with `type: "transcription"`). The session is always written in the flat shape, which
/// is what both of those dialects used.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TranscriptionSessionUpdateEvent {
    /// Optional client-chosen id, echoed in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The transcription settings.
    #[serde(serialize_with = "crate::beta::serialize_flat_transcription")]
    pub session: TranscriptionSessionConfig,
}

macro_rules! client_events {
    ( $( $variant:ident ( $ty:ident ) = $wire:literal ; )+ ) => {
        /// A client → server event.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(
            clippy::large_enum_variant,
            reason = "the public API names plain event structs; session updates are rare, so \
                      the size is not worth a Box in every match"
        )]
        pub enum ClientEvent {
            $(
                #[doc = concat!("`", $wire, "`.")]
                $variant($ty),
            )+
            /// An event of a type this crate does not know; the JSON is kept as it was.
            Unknown(RawEvent),
        }

        $(
            impl From<$ty> for ClientEvent {
                fn from(event: $ty) -> Self {
                    Self::$variant(event)
                }
            }
        )+

        impl ClientEvent {
            /// The wire `type` of this event in `dialect` (client event names are the same
            /// in both dialects).
            pub fn event_type(&self, dialect: Dialect) -> &str {
                let _ = dialect;
                match self {
                    $( Self::$variant(_) => $wire, )+
                    Self::Unknown(raw) => &raw.event_type,
                }
            }

            /// Every client event type this crate knows (GA names).
            pub const KNOWN_TYPES: &'static [&'static str] = &[ $( $wire, )+ ];

            /// Decodes one client event, accepting GA and beta shapes.
            ///
            /// Unknown `type` → `Ok(Unknown)`; unknown fields are ignored; text that is not
            /// an event, or a known event with wrong field shapes, is a [`DecodeError`].
            pub fn decode(text: &str) -> Result<Self, DecodeError> {
                let event_type = probe_type(text)?;
                match event_type.as_ref() {
                    $(
                        $wire => serde_json::from_str::<$ty>(text)
                            .map(Self::$variant)
                            .map_err(|e| field_error($wire, &e)),
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
                            serde_json::to_string(&Tagged { event_type: $wire, event })
                                .map_err(|e| EncodeError::json($wire, e))
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
            fn to_beta_value(&self) -> Result<serde_json::Value, EncodeError> {
                let event_type = self.event_type(Dialect::Beta);
                let mut value = match self {
                    $(
                        Self::$variant(event) => serde_json::to_value(&Tagged { event_type: $wire, event }),
                    )+
                    Self::Unknown(raw) => Ok(raw.json.clone()),
                }
                .map_err(|e| EncodeError::json(event_type, e))?;
                crate::beta::rewrite_client_event(self, &mut value)
                    .map_err(|e| EncodeError::json(event_type, e))?;
                Ok(value)
            }
        }
    };
}

client_events! {
    SessionUpdate(SessionUpdateEvent) = "session.update";
    InputAudioBufferAppend(InputAudioBufferAppendEvent) = "input_audio_buffer.append";
    InputAudioBufferCommit(InputAudioBufferCommitEvent) = "input_audio_buffer.commit";
    InputAudioBufferClear(InputAudioBufferClearEvent) = "input_audio_buffer.clear";
    OutputAudioBufferClear(OutputAudioBufferClearEvent) = "output_audio_buffer.clear";
    ConversationItemCreate(ConversationItemCreateEvent) = "conversation.item.create";
    ConversationItemRetrieve(ConversationItemRetrieveEvent) = "conversation.item.retrieve";
    ConversationItemTruncate(ConversationItemTruncateEvent) = "conversation.item.truncate";
    ConversationItemDelete(ConversationItemDeleteEvent) = "conversation.item.delete";
    ResponseCreate(ResponseCreateEvent) = "response.create";
    ResponseCancel(ResponseCancelEvent) = "response.cancel";
    TranscriptionSessionUpdate(TranscriptionSessionUpdateEvent) = "transcription_session.update";
}

impl ClientEvent {
    /// The client `event_id`, if any.
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Self::SessionUpdate(e) => e.event_id.as_deref(),
            Self::InputAudioBufferAppend(e) => e.event_id.as_deref(),
            Self::InputAudioBufferCommit(e) => e.event_id.as_deref(),
            Self::InputAudioBufferClear(e) => e.event_id.as_deref(),
            Self::OutputAudioBufferClear(e) => e.event_id.as_deref(),
            Self::ConversationItemCreate(e) => e.event_id.as_deref(),
            Self::ConversationItemRetrieve(e) => e.event_id.as_deref(),
            Self::ConversationItemTruncate(e) => e.event_id.as_deref(),
            Self::ConversationItemDelete(e) => e.event_id.as_deref(),
            Self::ResponseCreate(e) => e.event_id.as_deref(),
            Self::ResponseCancel(e) => e.event_id.as_deref(),
            Self::TranscriptionSessionUpdate(e) => e.event_id.as_deref(),
            Self::Unknown(raw) => raw.json.get("event_id").and_then(serde_json::Value::as_str),
        }
    }

    /// `session.update` with a realtime config.
    pub fn session_update(session: SessionConfig) -> Self {
        Self::SessionUpdate(SessionUpdateEvent {
            event_id: None,
            session: SessionPayload::Realtime(session),
        })
    }

    /// `input_audio_buffer.append` with base64 audio.
    pub fn append_audio(audio_base64: impl Into<String>) -> Self {
        Self::InputAudioBufferAppend(InputAudioBufferAppendEvent {
            event_id: None,
            audio: audio_base64.into(),
        })
    }

    /// `input_audio_buffer.commit`.
    pub fn commit_audio() -> Self {
        Self::InputAudioBufferCommit(InputAudioBufferCommitEvent::default())
    }

    /// `input_audio_buffer.clear`.
    pub fn clear_input_audio() -> Self {
        Self::InputAudioBufferClear(InputAudioBufferClearEvent::default())
    }

    /// `output_audio_buffer.clear`.
    pub fn clear_output_audio() -> Self {
        Self::OutputAudioBufferClear(OutputAudioBufferClearEvent::default())
    }

    /// `conversation.item.create` appending `item`.
    pub fn create_item(item: Item) -> Self {
        Self::ConversationItemCreate(ConversationItemCreateEvent {
            event_id: None,
            previous_item_id: None,
            item,
        })
    }

    /// `conversation.item.truncate`.
    pub fn truncate_item(
        item_id: impl Into<String>,
        content_index: u32,
        audio_end_ms: u64,
    ) -> Self {
        Self::ConversationItemTruncate(ConversationItemTruncateEvent {
            event_id: None,
            item_id: item_id.into(),
            content_index,
            audio_end_ms,
        })
    }

    /// `conversation.item.delete`.
    pub fn delete_item(item_id: impl Into<String>) -> Self {
        Self::ConversationItemDelete(ConversationItemDeleteEvent {
            event_id: None,
            item_id: item_id.into(),
        })
    }

    /// `conversation.item.retrieve`.
    pub fn retrieve_item(item_id: impl Into<String>) -> Self {
        Self::ConversationItemRetrieve(ConversationItemRetrieveEvent {
            event_id: None,
            item_id: item_id.into(),
        })
    }

    /// `response.create` without overrides.
    pub fn create_response() -> Self {
        Self::ResponseCreate(ResponseCreateEvent::default())
    }

    /// `response.create` with overrides.
    pub fn create_response_with(params: ResponseCreateParams) -> Self {
        Self::ResponseCreate(ResponseCreateEvent {
            event_id: None,
            response: Some(params),
        })
    }

    /// `response.cancel` of the active response.
    pub fn cancel_response() -> Self {
        Self::ResponseCancel(ResponseCancelEvent::default())
    }

    /// Sets the client `event_id` (builder style). No effect on `Unknown`.
    pub fn with_event_id(mut self, id: impl Into<String>) -> Self {
        let id = Some(id.into());
        match &mut self {
            Self::SessionUpdate(e) => e.event_id = id,
            Self::InputAudioBufferAppend(e) => e.event_id = id,
            Self::InputAudioBufferCommit(e) => e.event_id = id,
            Self::InputAudioBufferClear(e) => e.event_id = id,
            Self::OutputAudioBufferClear(e) => e.event_id = id,
            Self::ConversationItemCreate(e) => e.event_id = id,
            Self::ConversationItemRetrieve(e) => e.event_id = id,
            Self::ConversationItemTruncate(e) => e.event_id = id,
            Self::ConversationItemDelete(e) => e.event_id = id,
            Self::ResponseCreate(e) => e.event_id = id,
            Self::ResponseCancel(e) => e.event_id = id,
            Self::TranscriptionSessionUpdate(e) => e.event_id = id,
            Self::Unknown(_) => {}
        }
        self
    }
}
