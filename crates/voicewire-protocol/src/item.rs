//! Conversation items and their content parts (PROTOCOL.md §4).
//!
//! GA and beta items share one shape except for assistant content parts: GA writes
//! `output_text`/`output_audio`, beta wrote `text`/`audio`. Reading accepts both; the beta
//! names are produced only when encoding with [`crate::Dialect::Beta`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::open_enum::open_string_enum;

open_string_enum! {
    /// Item lifecycle status.
    pub enum ItemStatus {
        /// Finished.
        Completed => "completed",
        /// Cut short (for example by an interruption).
        Incomplete => "incomplete",
        /// Still being produced.
        InProgress => "in_progress",
    }
}

/// Who authored a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// System message.
    System,
    /// User message.
    User,
    /// Assistant (model) message.
    Assistant,
}

open_string_enum! {
    /// Detail level of an input image.
    pub enum ImageDetail {
        /// Let the model choose.
        Auto => "auto",
        /// Low detail.
        Low => "low",
        /// High detail.
        High => "high",
    }
}

/// One part of a message's `content`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ContentPart {
    /// `input_text` (system and user messages).
    #[serde(rename = "input_text")]
    InputText {
        /// The text.
        #[serde(default)]
        text: String,
    },
    /// `input_audio` (user messages): base64 audio in the session input format.
    #[serde(rename = "input_audio")]
    InputAudio {
        /// Base64 audio; left out by the server in most events.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio: Option<String>,
        /// Transcript, when input transcription is on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transcript: Option<String>,
    },
    /// `input_image` (user messages): a data URL.
    #[serde(rename = "input_image")]
    InputImage {
        /// `data:image/png;base64,…`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_url: Option<String>,
        /// Detail level.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<ImageDetail>,
    },
    /// `output_text` (assistant messages; beta `text`).
    #[serde(rename = "output_text", alias = "text")]
    OutputText {
        /// The text.
        #[serde(default)]
        text: String,
    },
    /// `output_audio` (assistant messages; beta `audio`).
    #[serde(rename = "output_audio", alias = "audio")]
    OutputAudio {
        /// Base64 audio; usually left out by the server.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio: Option<String>,
        /// Transcript of the audio.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transcript: Option<String>,
    },
    /// `item_reference` (beta content, and `response.input`).
    #[serde(rename = "item_reference")]
    ItemReference {
        /// Id of the referenced item.
        id: String,
    },
    /// A part this version does not know (a newer part type, or a known type whose fields do
    /// not have the known shape), kept exactly as received so nothing is lost and it encodes
    /// back unchanged. A server should reject it; a client passes it through.
    #[serde(untagged)]
    Other(serde_json::Value),
}

impl ContentPart {
    /// `input_text`.
    pub fn input_text(text: impl Into<String>) -> Self {
        Self::InputText { text: text.into() }
    }

    /// `input_audio` with base64 audio.
    pub fn input_audio(audio_base64: impl Into<String>) -> Self {
        Self::InputAudio {
            audio: Some(audio_base64.into()),
            transcript: None,
        }
    }

    /// `output_text`.
    pub fn output_text(text: impl Into<String>) -> Self {
        Self::OutputText { text: text.into() }
    }

    /// The GA `type` of this part (for [`ContentPart::Other`], the `type` it carries, or
    /// `""` when it has none).
    pub fn ga_type(&self) -> &str {
        match self {
            Self::Other(raw) => raw_type(raw),
            Self::InputText { .. } => "input_text",
            Self::InputAudio { .. } => "input_audio",
            Self::InputImage { .. } => "input_image",
            Self::OutputText { .. } => "output_text",
            Self::OutputAudio { .. } => "output_audio",
            Self::ItemReference { .. } => "item_reference",
        }
    }

    /// The beta `type` of this part (`text`/`audio` for assistant parts).
    pub fn beta_type(&self) -> &str {
        match self {
            Self::OutputText { .. } => "text",
            Self::OutputAudio { .. } => "audio",
            other => other.ga_type(),
        }
    }

    /// The text or transcript this part carries, if any.
    pub fn text_or_transcript(&self) -> Option<&str> {
        match self {
            Self::InputText { text } | Self::OutputText { text } => Some(text),
            Self::InputAudio { transcript, .. } | Self::OutputAudio { transcript, .. } => {
                transcript.as_deref()
            }
            Self::InputImage { .. } | Self::ItemReference { .. } | Self::Other(_) => None,
        }
    }
}

open_string_enum! {
    /// The `type` of a streamed part: `text` or `audio` (in both dialects).
    pub enum StreamedPartType {
        /// A text part.
        Text => "text",
        /// An audio part (with transcript).
        Audio => "audio",
    }
}

/// The `part` of `response.content_part.added` / `.done`. Unlike item content, this uses
/// `text`/`audio` as its `type` in GA too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamedPart {
    /// `text` or `audio`.
    #[serde(rename = "type")]
    pub r#type: StreamedPartType,
    /// Text (text parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Base64 audio (audio parts; usually left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<String>,
    /// Transcript (audio parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
}

impl StreamedPart {
    /// A text part with the given text so far.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            r#type: StreamedPartType::Text,
            text: Some(text.into()),
            audio: None,
            transcript: None,
        }
    }

    /// An audio part with the given transcript so far.
    pub fn audio(transcript: impl Into<String>) -> Self {
        Self {
            r#type: StreamedPartType::Audio,
            text: None,
            audio: None,
            transcript: Some(transcript.into()),
        }
    }
}

/// A `message` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageItem {
    /// Item id (`item_…`); optional when the client creates the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `realtime.item`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Lifecycle status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// Author.
    pub role: Role,
    /// Content parts.
    #[serde(default)]
    pub content: Vec<ContentPart>,
}

/// A `function_call` item (produced by the model).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FunctionCallItem {
    /// Item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `realtime.item`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Lifecycle status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// Function name.
    #[serde(default)]
    pub name: String,
    /// Call id (`call_…`) to answer with a `function_call_output`.
    #[serde(default)]
    pub call_id: String,
    /// Arguments as a JSON string.
    #[serde(default)]
    pub arguments: String,
}

/// A `function_call_output` item (the client's answer to a function call).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FunctionCallOutputItem {
    /// Item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `realtime.item`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Lifecycle status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// The call this answers.
    #[serde(default)]
    pub call_id: String,
    /// The output (a string, usually JSON).
    #[serde(default)]
    pub output: String,
}

/// Why an MCP call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum McpCallError {
    /// `protocol_error`.
    #[serde(rename = "protocol_error")]
    Protocol {
        /// Error code.
        code: i64,
        /// Message.
        message: String,
    },
    /// `tool_execution_error`.
    #[serde(rename = "tool_execution_error")]
    ToolExecution {
        /// Message.
        message: String,
    },
    /// `http_error`.
    #[serde(rename = "http_error")]
    Http {
        /// HTTP status.
        code: i64,
        /// Message.
        message: String,
    },
}

/// An `mcp_call` item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct McpCallItem {
    /// Item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// MCP server label.
    #[serde(default)]
    pub server_label: String,
    /// Tool name.
    #[serde(default)]
    pub name: String,
    /// Arguments as a JSON string.
    #[serde(default)]
    pub arguments: String,
    /// Tool output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Failure, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<McpCallError>,
    /// The approval request this call followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_request_id: Option<String>,
}

/// A tool an MCP server offers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct McpToolInfo {
    /// Tool name.
    pub name: String,
    /// JSON Schema of its input.
    #[serde(default)]
    pub input_schema: Value,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

/// An `mcp_list_tools` item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct McpListToolsItem {
    /// Item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// MCP server label.
    #[serde(default)]
    pub server_label: String,
    /// The tools offered.
    #[serde(default)]
    pub tools: Vec<McpToolInfo>,
}

/// An `mcp_approval_request` item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct McpApprovalRequestItem {
    /// Item id (the approval request id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// MCP server label.
    #[serde(default)]
    pub server_label: String,
    /// Tool name.
    #[serde(default)]
    pub name: String,
    /// Arguments as a JSON string.
    #[serde(default)]
    pub arguments: String,
}

/// An `mcp_approval_response` item (the client's answer to an approval request).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct McpApprovalResponseItem {
    /// Item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The request answered.
    #[serde(default)]
    pub approval_request_id: String,
    /// Whether the call is approved.
    #[serde(default)]
    pub approve: bool,
    /// Optional reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A conversation item, tagged by `type`.
///
/// Decoding is strict for the known types (a `message` with a bad `role` is an error that
/// names the field) and tolerant for the rest: an item type this version does not know
/// decodes to [`Item::Other`] with its JSON kept, so a newer server never breaks an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum Item {
    /// `message`.
    #[serde(rename = "message")]
    Message(MessageItem),
    /// `function_call`.
    #[serde(rename = "function_call")]
    FunctionCall(FunctionCallItem),
    /// `function_call_output`.
    #[serde(rename = "function_call_output")]
    FunctionCallOutput(FunctionCallOutputItem),
    /// `mcp_call`.
    #[serde(rename = "mcp_call")]
    McpCall(McpCallItem),
    /// `mcp_list_tools`.
    #[serde(rename = "mcp_list_tools")]
    McpListTools(McpListToolsItem),
    /// `mcp_approval_request`.
    #[serde(rename = "mcp_approval_request")]
    McpApprovalRequest(McpApprovalRequestItem),
    /// `mcp_approval_response`.
    #[serde(rename = "mcp_approval_response")]
    McpApprovalResponse(McpApprovalResponseItem),
    /// An item this version does not know (a newer item type, or a known type whose fields do
    /// not have the known shape), kept exactly as received so the event carrying it still
    /// decodes and encodes back unchanged. A server should reject it; a client passes it on.
    #[serde(untagged)]
    Other(serde_json::Value),
}

/// The `type` string of a raw JSON object, or `""`.
fn raw_type(raw: &serde_json::Value) -> &str {
    raw.get("type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let raw = serde_json::Value::deserialize(deserializer)?;
        if !raw.is_object() {
            return Err(D::Error::custom("an item must be a JSON object"));
        }
        let known = match raw_type(&raw) {
            "message" => MessageItem::deserialize(&raw).map(Self::Message),
            "function_call" => FunctionCallItem::deserialize(&raw).map(Self::FunctionCall),
            "function_call_output" => {
                FunctionCallOutputItem::deserialize(&raw).map(Self::FunctionCallOutput)
            }
            "mcp_call" => McpCallItem::deserialize(&raw).map(Self::McpCall),
            "mcp_list_tools" => McpListToolsItem::deserialize(&raw).map(Self::McpListTools),
            "mcp_approval_request" => {
                McpApprovalRequestItem::deserialize(&raw).map(Self::McpApprovalRequest)
            }
            "mcp_approval_response" => {
                McpApprovalResponseItem::deserialize(&raw).map(Self::McpApprovalResponse)
            }
            _ => return Ok(Self::Other(raw)),
        };
        known.map_err(D::Error::custom)
    }
}

impl Item {
    /// A user message with one `input_text` part.
    pub fn user_text(text: impl Into<String>) -> Self {
        Self::message(Role::User, vec![ContentPart::input_text(text)])
    }

    /// A user message with one `input_audio` part (base64 audio).
    pub fn user_audio(audio_base64: impl Into<String>) -> Self {
        Self::message(Role::User, vec![ContentPart::input_audio(audio_base64)])
    }

    /// A system message with one `input_text` part.
    pub fn system_text(text: impl Into<String>) -> Self {
        Self::message(Role::System, vec![ContentPart::input_text(text)])
    }

    /// An assistant message with one `output_text` part.
    pub fn assistant_text(text: impl Into<String>) -> Self {
        Self::message(Role::Assistant, vec![ContentPart::output_text(text)])
    }

    /// A message with the given role and content.
    pub fn message(role: Role, content: Vec<ContentPart>) -> Self {
        Self::Message(MessageItem {
            id: None,
            object: None,
            status: None,
            role,
            content,
        })
    }

    /// A `function_call_output` answering `call_id`.
    pub fn function_call_output(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        Self::FunctionCallOutput(FunctionCallOutputItem {
            call_id: call_id.into(),
            output: output.into(),
            ..Default::default()
        })
    }

    /// The item id, if set.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Message(i) => i.id.as_deref(),
            Self::FunctionCall(i) => i.id.as_deref(),
            Self::FunctionCallOutput(i) => i.id.as_deref(),
            Self::McpCall(i) => i.id.as_deref(),
            Self::McpListTools(i) => i.id.as_deref(),
            Self::McpApprovalRequest(i) => i.id.as_deref(),
            Self::McpApprovalResponse(i) => i.id.as_deref(),
            Self::Other(raw) => raw.get("id").and_then(serde_json::Value::as_str),
        }
    }

    /// Sets the item id.
    pub fn set_id(&mut self, id: impl Into<String>) {
        let id = Some(id.into());
        match self {
            Self::Message(i) => i.id = id,
            Self::FunctionCall(i) => i.id = id,
            Self::FunctionCallOutput(i) => i.id = id,
            Self::McpCall(i) => i.id = id,
            Self::McpListTools(i) => i.id = id,
            Self::McpApprovalRequest(i) => i.id = id,
            Self::McpApprovalResponse(i) => i.id = id,
            Self::Other(raw) => {
                if let (Some(map), Some(id)) = (raw.as_object_mut(), id) {
                    map.insert("id".to_owned(), serde_json::Value::String(id));
                }
            }
        }
    }

    /// The `type` tag (for [`Item::Other`], the `type` it carries, or `""`).
    pub fn item_type(&self) -> &str {
        match self {
            Self::Other(raw) => raw_type(raw),
            Self::Message(_) => "message",
            Self::FunctionCall(_) => "function_call",
            Self::FunctionCallOutput(_) => "function_call_output",
            Self::McpCall(_) => "mcp_call",
            Self::McpListTools(_) => "mcp_list_tools",
            Self::McpApprovalRequest(_) => "mcp_approval_request",
            Self::McpApprovalResponse(_) => "mcp_approval_response",
        }
    }

    /// The status, for item kinds that carry one.
    pub fn status(&self) -> Option<&ItemStatus> {
        match self {
            Self::Message(i) => i.status.as_ref(),
            Self::FunctionCall(i) => i.status.as_ref(),
            Self::FunctionCallOutput(i) => i.status.as_ref(),
            _ => None,
        }
    }

    /// The role, for messages.
    pub fn role(&self) -> Option<Role> {
        match self {
            Self::Message(m) => Some(m.role),
            _ => None,
        }
    }
}

/// An element of `response.create.response.input`: an item, or a reference to an existing
/// one (`{"type":"item_reference","id":…}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseInputItem {
    /// A reference to an item already in the conversation.
    Reference {
        /// The referenced item id.
        id: String,
    },
    /// An inline item.
    Item(Item),
}

impl Serialize for ResponseInputItem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Reference { id } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "item_reference")?;
                map.serialize_entry("id", id)?;
                map.end()
            }
            Self::Item(item) => item.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ResponseInputItem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        if value.get("type").and_then(Value::as_str) == Some("item_reference") {
            let id = value
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| D::Error::missing_field("id"))?;
            return Ok(Self::Reference { id: id.to_owned() });
        }
        Item::deserialize(value)
            .map(Self::Item)
            .map_err(D::Error::custom)
    }
}

impl From<Item> for ResponseInputItem {
    fn from(item: Item) -> Self {
        Self::Item(item)
    }
}
