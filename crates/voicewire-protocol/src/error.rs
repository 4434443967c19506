//! The error object the server puts in `error` events and HTTP error bodies.
//!
//! See PROTOCOL.md §6. `type` and `message` are always present; `code`, `param` and
//! `event_id` may be `null` and are written as `null` (as the service does) rather than
//! left out.

use serde::{Deserialize, Serialize};

/// Error `type` for problems with what the client sent.
pub const INVALID_REQUEST_ERROR: &str = "invalid_request_error";
/// Error `type` for failures on the server side.
pub const SERVER_ERROR: &str = "server_error";

/// Well-known error codes (there is no official complete list; these are observed ones).
pub mod codes {
    /// `response.create` while another response writes to the default conversation.
    pub const CONVERSATION_ALREADY_HAS_ACTIVE_RESPONSE: &str =
        "conversation_already_has_active_response";
    /// `response.cancel` with no active response.
    pub const RESPONSE_CANCEL_NOT_ACTIVE: &str = "response_cancel_not_active";
    /// `input_audio_buffer.commit` on an empty or too-short buffer.
    pub const INPUT_AUDIO_BUFFER_COMMIT_EMPTY: &str = "input_audio_buffer_commit_empty";
    /// The maximum session duration was reached.
    pub const SESSION_EXPIRED: &str = "session_expired";
    /// A field has a value outside its allowed set or range.
    pub const INVALID_VALUE: &str = "invalid_value";
    /// A field the server does not know.
    pub const UNKNOWN_PARAMETER: &str = "unknown_parameter";
    /// A required field is missing.
    pub const MISSING_REQUIRED_PARAMETER: &str = "missing_required_parameter";
    /// A field has the wrong JSON type.
    pub const INVALID_TYPE: &str = "invalid_type";
    /// Beta-shaped traffic after the beta was retired (unverified, third-party report).
    pub const BETA_API_SHAPE_DISABLED: &str = "beta_api_shape_disabled";
    /// The item id named in a client event does not exist.
    pub const ITEM_NOT_FOUND: &str = "item_not_found";
    /// The API key or client secret was rejected.
    pub const INVALID_API_KEY: &str = "invalid_api_key";
}

/// The wire error object (`error` inside an `error` event, or inside an HTTP error body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Error class, e.g. `invalid_request_error` or `server_error`.
    #[serde(rename = "type", default)]
    pub r#type: String,
    /// Machine-readable code, e.g. `conversation_already_has_active_response`.
    #[serde(default)]
    pub code: Option<String>,
    /// Human-readable explanation.
    #[serde(default)]
    pub message: String,
    /// Path of the offending parameter, when there is one.
    #[serde(default)]
    pub param: Option<String>,
    /// The client `event_id` that caused the error, when the client sent one.
    #[serde(default)]
    pub event_id: Option<String>,
}

impl ApiError {
    /// A new error with the given class, code and message.
    pub fn new(r#type: impl Into<String>, code: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            r#type: r#type.into(),
            code: code.map(str::to_owned),
            message: message.into(),
            param: None,
            event_id: None,
        }
    }

    /// An `invalid_request_error` with a code.
    pub fn invalid_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(INVALID_REQUEST_ERROR, Some(code), message)
    }

    /// A `server_error` without a code.
    pub fn server_error(message: impl Into<String>) -> Self {
        Self::new(SERVER_ERROR, None, message)
    }

    /// Sets the offending parameter path.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Echoes the client `event_id` that caused the error.
    pub fn with_event_id(mut self, event_id: Option<impl Into<String>>) -> Self {
        self.event_id = event_id.map(Into::into);
        self
    }

    /// `conversation_already_has_active_response`.
    pub fn conversation_already_has_active_response(response_id: &str) -> Self {
        Self::invalid_request(
            codes::CONVERSATION_ALREADY_HAS_ACTIVE_RESPONSE,
            format!(
                "Conversation already has an active response in progress: {response_id}. \
                 Wait until the response is finished before creating a new one."
            ),
        )
    }

    /// `response_cancel_not_active`.
    pub fn response_cancel_not_active() -> Self {
        Self::invalid_request(
            codes::RESPONSE_CANCEL_NOT_ACTIVE,
            "Cancellation failed: no active response found",
        )
    }

    /// `input_audio_buffer_commit_empty`, naming how much audio the buffer held.
    pub fn input_audio_buffer_commit_empty(buffered_ms: f64) -> Self {
        Self::invalid_request(
            codes::INPUT_AUDIO_BUFFER_COMMIT_EMPTY,
            format!(
                "Error committing input audio buffer: buffer too small. Expected at least \
                 100ms of audio, but buffer only has {buffered_ms:.2}ms of audio."
            ),
        )
    }

    /// `session_expired`.
    pub fn session_expired() -> Self {
        Self::invalid_request(
            codes::SESSION_EXPIRED,
            "Your session hit the maximum duration of 60 minutes.",
        )
    }

    /// `invalid_value` for `param`.
    pub fn invalid_value(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid_request(codes::INVALID_VALUE, message).with_param(param)
    }

    /// `unknown_parameter` for `param`.
    pub fn unknown_parameter(param: impl Into<String>) -> Self {
        let param = param.into();
        Self::invalid_request(
            codes::UNKNOWN_PARAMETER,
            format!("Unknown parameter: '{param}'."),
        )
        .with_param(param)
    }

    /// `missing_required_parameter` for `param`.
    pub fn missing_required_parameter(param: impl Into<String>) -> Self {
        let param = param.into();
        Self::invalid_request(
            codes::MISSING_REQUIRED_PARAMETER,
            format!("Missing required parameter: '{param}'."),
        )
        .with_param(param)
    }

    /// `invalid_type` for `param`.
    pub fn invalid_type(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid_request(codes::INVALID_TYPE, message).with_param(param)
    }

    /// `item_not_found` for an unknown item id.
    pub fn item_not_found(item_id: &str) -> Self {
        Self::invalid_request(
            codes::ITEM_NOT_FOUND,
            format!("Item with item_id not found: {item_id}"),
        )
    }

    /// `invalid_api_key` (HTTP 401 bodies and failed upgrades).
    pub fn invalid_api_key() -> Self {
        Self::invalid_request(
            codes::INVALID_API_KEY,
            "Incorrect API key provided, or the client secret has expired.",
        )
    }

    /// `beta_api_shape_disabled` (what a retired beta endpoint is reported to answer).
    pub fn beta_api_shape_disabled() -> Self {
        Self::invalid_request(
            codes::BETA_API_SHAPE_DISABLED,
            "The beta Realtime API shape is no longer supported; use the GA interface.",
        )
    }

    /// The code, or `""` when there is none.
    pub fn code_str(&self) -> &str {
        self.code.as_deref().unwrap_or("")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} ({}): {}", self.r#type, code, self.message),
            None => write!(f, "{}: {}", self.r#type, self.message),
        }
    }
}

impl std::error::Error for ApiError {}

/// The body of an HTTP error response: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error object.
    pub error: ApiError,
}

impl From<ApiError> for ErrorBody {
    fn from(error: ApiError) -> Self {
        Self { error }
    }
}
