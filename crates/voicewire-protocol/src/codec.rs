//! Errors of decoding and encoding events, and the helpers both event enums share.

use serde::Serialize;
use thiserror::Error;

/// What went wrong while decoding an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecodeErrorKind {
    /// The text is not valid JSON.
    InvalidJson,
    /// The JSON is valid but is not an object.
    NotAnObject,
    /// The object has no `type`, or `type` is not a string.
    MissingType,
    /// The `type` is known but a field has the wrong shape (missing required field,
    /// wrong JSON type, value out of range).
    InvalidField,
}

impl DecodeErrorKind {
    fn describe(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid JSON",
            Self::NotAnObject => "not a JSON object",
            Self::MissingType => "missing string `type`",
            Self::InvalidField => "wrong field shape",
        }
    }
}

impl std::fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// An event could not be decoded. Unknown event types are *not* errors (they decode to
/// `Unknown`); this is only for text that is not an event at all, or a known event whose
/// fields do not have the documented shape.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot decode {}: {kind}: {reason}", event_type.as_deref().map_or("event".to_owned(), |t| format!("`{t}`")))]
pub struct DecodeError {
    /// Which of the failure classes this is.
    pub kind: DecodeErrorKind,
    /// The event `type`, when it could be read.
    pub event_type: Option<String>,
    /// Detail from the JSON parser (line, column, field).
    pub reason: String,
}

impl DecodeError {
    /// Builds an error.
    pub fn new(kind: DecodeErrorKind, event_type: Option<&str>, reason: impl Into<String>) -> Self {
        Self {
            kind,
            event_type: event_type.map(str::to_owned),
            reason: reason.into(),
        }
    }
}

/// An event could not be encoded (only possible for values serde_json refuses, which the
/// typed events never produce; kept so callers handle it instead of unwrapping).
#[derive(Debug, Error)]
pub enum EncodeError {
    /// serde_json refused the value.
    #[error("cannot encode `{event_type}`: {source}")]
    Json {
        /// The event type being encoded.
        event_type: String,
        /// The serializer error.
        #[source]
        source: serde_json::Error,
    },
}

impl EncodeError {
    pub(crate) fn json(event_type: &str, source: serde_json::Error) -> Self {
        Self::Json {
            event_type: event_type.to_owned(),
            source,
        }
    }
}

/// Serializes an event struct with its `type` written first.
#[derive(Serialize)]
pub(crate) struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    pub(crate) event_type: &'a str,
    #[serde(flatten)]
    pub(crate) event: &'a T,
}

/// Reads the event `type` cheaply when it is the first key (as the service writes it),
/// without scanning the rest of the text. Returns `None` when the text does not start that
/// way or the value contains escapes; callers then fall back to a full parse.
pub(crate) fn sniff_leading_type(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix('{')?.trim_start();
    let rest = rest.strip_prefix("\"type\"")?.trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find(['"', '\\'])?;
    if rest.as_bytes().get(end) == Some(&b'"') {
        Some(&rest[..end])
    } else {
        None
    }
}

/// Finds the event `type`, classifying failures into [`DecodeError`] kinds.
pub(crate) fn probe_type(text: &str) -> Result<std::borrow::Cow<'_, str>, DecodeError> {
    if let Some(t) = sniff_leading_type(text) {
        return Ok(std::borrow::Cow::Borrowed(t));
    }
    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(rename = "type", borrow)]
        event_type: std::borrow::Cow<'a, str>,
    }
    match serde_json::from_str::<Probe<'_>>(text) {
        Ok(p) => Ok(p.event_type),
        Err(_) => Err(classify_envelope_error(text)),
    }
}

/// Works out why the envelope (object with string `type`) could not be read.
fn classify_envelope_error(text: &str) -> DecodeError {
    match serde_json::from_str::<serde_json::Value>(text) {
        Err(json_err) => DecodeError::new(DecodeErrorKind::InvalidJson, None, json_err.to_string()),
        Ok(serde_json::Value::Object(map)) => {
            let reason = match map.get("type") {
                None => "the object has no `type` field".to_owned(),
                Some(serde_json::Value::String(_)) => DUPLICATE_TYPE.to_owned(),
                Some(other) => format!("`type` must be a string, found {}", json_kind(other)),
            };
            DecodeError::new(DecodeErrorKind::MissingType, None, reason)
        }
        Ok(other) => DecodeError::new(
            DecodeErrorKind::NotAnObject,
            None,
            format!(
                "an event must be a JSON object, found {}",
                json_kind(&other)
            ),
        ),
    }
}

/// Converts a serde error on a known event type into a [`DecodeError`].
pub(crate) fn field_error(event_type: &str, err: &serde_json::Error) -> DecodeError {
    let kind = match err.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            DecodeErrorKind::InvalidJson
        }
        serde_json::error::Category::Io | serde_json::error::Category::Data => {
            DecodeErrorKind::InvalidField
        }
    };
    DecodeError::new(kind, Some(event_type), err.to_string())
}

/// A short name for a JSON value's kind, for error messages.
pub(crate) fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

const DUPLICATE_TYPE: &str = "the object has more than one `type` key";

/// Parses the whole text as a JSON value for an event of an unknown type.
///
/// An object with several `type` keys is refused: the first one chose how to decode it,
/// while the kept JSON holds the last one, and the two must not disagree.
pub(crate) fn parse_raw(event_type: &str, text: &str) -> Result<crate::RawEvent, DecodeError> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => {
            if json.get("type").and_then(serde_json::Value::as_str) != Some(event_type) {
                return Err(DecodeError::new(
                    DecodeErrorKind::MissingType,
                    Some(event_type),
                    DUPLICATE_TYPE,
                ));
            }
            Ok(crate::RawEvent {
                event_type: event_type.to_owned(),
                json,
            })
        }
        Err(err) => Err(field_error(event_type, &err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_reads_leading_type_only() {
        assert_eq!(sniff_leading_type(r#"{"type":"a.b","x":1}"#), Some("a.b"));
        assert_eq!(sniff_leading_type(" { \"type\" : \"a\" }"), Some("a"));
        assert_eq!(sniff_leading_type(r#"{"x":1,"type":"a"}"#), None);
        assert_eq!(sniff_leading_type(r#"{"type":"a\"b"}"#), None);
        assert_eq!(sniff_leading_type(r#"{"type":"abc"#), None);
    }
}
