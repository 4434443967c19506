//! Writing the beta dialect: rewrites of a GA-shaped event value into the beta shape.
//!
//! Reading needs none of this (the serde types accept both spellings); only encoding with
//! [`crate::Dialect::Beta`] goes through here. The rewrites are, per PROTOCOL.md §3.4/§4:
//! the flat session; `text`/`audio` for assistant content parts; `modalities`, `voice`,
//! `output_audio_format` (and `max_response_output_tokens` in `response.create`) instead
//! of the GA response fields; no `name` in `response.function_call_arguments.done`.
//! GA-only fields with no beta spelling (session `prompt`, `truncation`, `include`;
//! `response.create` `prompt`) are left out.

use serde::Serializer;
use serde_json::{Map, Value};

use crate::client::ClientEvent;
use crate::server::ServerEvent;
use crate::session::{
    AudioFormat, BetaSessionConfig, FlatTranscriptionSessionConfig, SessionPayload,
    TranscriptionSessionConfig,
};

/// `serialize_with` helper: writes a transcription session in the flat shape.
pub(crate) fn serialize_flat_transcription<S: Serializer>(
    session: &TranscriptionSessionConfig,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&FlatTranscriptionSessionConfig::from(session), serializer)
}

/// The beta spelling of a session payload. Transcription sessions had no `session.update`
/// form in beta, so they keep the GA shape.
pub(crate) fn session_payload_to_beta(
    session: &SessionPayload,
) -> Result<Value, serde_json::Error> {
    match session {
        SessionPayload::Realtime(config) => serde_json::to_value(BetaSessionConfig::from(config)),
        SessionPayload::Transcription(_) => serde_json::to_value(session),
    }
}

/// Renames assistant content part types in one item value (`output_text` → `text`,
/// `output_audio` → `audio`).
pub(crate) fn item_to_beta(item: &mut Value) {
    let Some(item) = item.as_object_mut() else {
        return;
    };
    if item.get("type").and_then(Value::as_str) != Some("message") {
        return;
    }
    let Some(Value::Array(parts)) = item.get_mut("content") else {
        return;
    };
    for part in parts {
        let Some(part) = part.as_object_mut() else {
            continue;
        };
        let beta = match part.get("type").and_then(Value::as_str) {
            Some("output_text") => "text",
            Some("output_audio") => "audio",
            _ => continue,
        };
        part.insert("type".to_owned(), Value::String(beta.to_owned()));
    }
}

fn items_to_beta(items: Option<&mut Value>) {
    if let Some(Value::Array(items)) = items {
        items.iter_mut().for_each(item_to_beta);
    }
}

/// Replaces `audio.output.{voice,format}` by the flat `voice` / `output_audio_format`.
fn flatten_response_audio(obj: &mut Map<String, Value>) {
    let Some(audio) = obj.shift_remove("audio") else {
        return;
    };
    let output = audio.get("output");
    if let Some(voice) = output.and_then(|o| o.get("voice")) {
        obj.insert("voice".to_owned(), voice.clone());
    }
    if let Some(format) = output.and_then(|o| o.get("format")) {
        let beta_name = serde_json::from_value::<AudioFormat>(format.clone())
            .map(|f| Value::String(f.beta_name().to_owned()))
            .unwrap_or_else(|_| format.clone());
        obj.insert("output_audio_format".to_owned(), beta_name);
    }
}

fn rename_key(obj: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = obj.shift_remove(from) {
        obj.insert(to.to_owned(), v);
    }
}

/// A `RealtimeResponse` value in the beta shape.
fn response_to_beta(response: Option<&mut Value>) {
    let Some(Value::Object(obj)) = response else {
        return;
    };
    rename_key(obj, "output_modalities", "modalities");
    flatten_response_audio(obj);
    items_to_beta(obj.get_mut("output"));
}

/// `response.create.response` in the beta shape. `prompt` has no beta spelling and is
/// left out, like the GA-only session fields.
fn response_params_to_beta(params: Option<&mut Value>) {
    let Some(Value::Object(obj)) = params else {
        return;
    };
    obj.shift_remove("prompt");
    rename_key(obj, "output_modalities", "modalities");
    rename_key(obj, "max_output_tokens", "max_response_output_tokens");
    flatten_response_audio(obj);
    items_to_beta(obj.get_mut("input"));
}

/// Rewrites a GA-shaped client event value into the beta shape.
pub(crate) fn rewrite_client_event(
    event: &ClientEvent,
    value: &mut Value,
) -> Result<(), serde_json::Error> {
    let Some(obj) = value.as_object_mut() else {
        return Ok(());
    };
    match event {
        ClientEvent::SessionUpdate(e) => {
            obj.insert("session".to_owned(), session_payload_to_beta(&e.session)?);
        }
        ClientEvent::ConversationItemCreate(_) => {
            if let Some(item) = obj.get_mut("item") {
                item_to_beta(item);
            }
        }
        ClientEvent::ResponseCreate(_) => response_params_to_beta(obj.get_mut("response")),
        _ => {}
    }
    Ok(())
}

/// Rewrites a GA-shaped server event value into the beta shape.
pub(crate) fn rewrite_server_event(
    event: &ServerEvent,
    value: &mut Value,
) -> Result<(), serde_json::Error> {
    let Some(obj) = value.as_object_mut() else {
        return Ok(());
    };
    match event {
        ServerEvent::SessionCreated(e) => {
            obj.insert("session".to_owned(), session_payload_to_beta(&e.session)?);
        }
        ServerEvent::SessionUpdated(e) => {
            obj.insert("session".to_owned(), session_payload_to_beta(&e.session)?);
        }
        ServerEvent::ConversationItemAdded(_)
        | ServerEvent::ConversationItemDone(_)
        | ServerEvent::ConversationItemCreated(_)
        | ServerEvent::ConversationItemRetrieved(_)
        | ServerEvent::ResponseOutputItemAdded(_)
        | ServerEvent::ResponseOutputItemDone(_) => {
            if let Some(item) = obj.get_mut("item") {
                item_to_beta(item);
            }
        }
        ServerEvent::ResponseCreated(_) | ServerEvent::ResponseDone(_) => {
            response_to_beta(obj.get_mut("response"));
        }
        ServerEvent::ResponseFunctionCallArgumentsDone(_) => {
            obj.shift_remove("name");
        }
        _ => {}
    }
    Ok(())
}
