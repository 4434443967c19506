//! Scenario files: a script for the emulator's agent, in JSON or YAML.
//!
//! Without a scenario the agent echoes (audio turns are played back, text turns are
//! answered "You said: …"). A scenario lists the turns the agent takes, one per response
//! it produces, in order; when they run out, the `fallback` behaviour applies.
//!
//! ```yaml
//! name: weather
//! fallback: echo            # echo (default) | silence | repeat_last
//! turns:
//!   - user_transcript: "What is the weather in Paris?"  # reported as the input transcription
//!     delay_ms: 200                                     # "thinking" time before output
//!     reply: "Let me check."                            # spoken (or text) reply
//!     tool_calls:                                       # then wait for function_call_output
//!       - name: get_weather                             #   + response.create
//!         arguments: { city: Paris }
//!   - reply: "It is sunny and 21 degrees in Paris."
//!   - reply: "This reply is cut off."
//!     fault: { type: drop_connection, after_audio_ms: 400 }
//! faults:                    # optional, same fields as FaultConfig
//!   mint_rate_limited: 1
//! max_session_duration_secs: 120
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fault::{Fault, FaultConfig};

/// A scripted conversation for the agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Free-form name, shown in logs.
    #[serde(default)]
    pub name: Option<String>,
    /// Turns, consumed one per response.
    #[serde(default)]
    pub turns: Vec<ScenarioTurn>,
    /// What the agent does once the turns are used up.
    #[serde(default)]
    pub fallback: Fallback,
    /// Faults applied to every session (merged over the emulator's own fault config).
    #[serde(default)]
    pub faults: Option<FaultConfig>,
    /// Sessions end with `session_expired` after this many seconds.
    #[serde(default)]
    pub max_session_duration_secs: Option<u64>,
}

/// What the agent does after the scripted turns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// The default agent: echo audio turns, answer text turns with "You said: …".
    #[default]
    Echo,
    /// Complete responses with no output items.
    Silence,
    /// Repeat the last scripted turn forever.
    RepeatLast,
}

/// One scripted response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioTurn {
    /// Transcript reported for the user's audio that led to this turn (only when input
    /// transcription is configured). The emulator never recognizes speech itself.
    #[serde(default)]
    pub user_transcript: Option<String>,
    /// Milliseconds between `response.created` and the first output.
    #[serde(default)]
    pub delay_ms: u64,
    /// Text of the assistant message (spoken in audio mode).
    #[serde(default)]
    pub reply: Option<String>,
    /// Play the user's last audio back instead of (or, with `reply`, as the audio of) the reply.
    #[serde(default)]
    pub echo: bool,
    /// Function calls emitted after the message.
    #[serde(default)]
    pub tool_calls: Vec<ScriptedToolCall>,
    /// A fault to inject during this response.
    #[serde(default)]
    pub fault: Option<TurnFault>,
}

/// A function call the agent makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedToolCall {
    /// Function name (should be one of the session's tools).
    pub name: String,
    /// Arguments: a JSON object (serialized for the wire) or a ready JSON string.
    #[serde(default = "empty_object")]
    pub arguments: serde_json::Value,
    /// Call id; generated (`call_…`) when absent.
    #[serde(default)]
    pub call_id: Option<String>,
}

impl ScriptedToolCall {
    /// The `arguments` string as it goes on the wire.
    pub fn arguments_json(&self) -> String {
        match &self.arguments {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// A fault placed inside a scripted response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnFault {
    /// Fires once this much reply audio has been sent (0 = at `response.created`).
    #[serde(default)]
    pub after_audio_ms: u64,
    /// The fault itself.
    #[serde(flatten)]
    pub fault: Fault,
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid JSON for a scenario.
    #[error("invalid scenario JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Not valid YAML for a scenario.
    #[error("invalid scenario YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    /// Parsed, but makes no sense.
    #[error("invalid scenario: {0}")]
    Invalid(String),
}

impl Scenario {
    /// Parses JSON.
    pub fn from_json_str(text: &str) -> Result<Self, ScenarioError> {
        let scenario: Self = serde_json::from_str(text)?;
        scenario.validate()
    }

    /// Parses YAML.
    pub fn from_yaml_str(text: &str) -> Result<Self, ScenarioError> {
        let scenario: Self = serde_yaml::from_str(text)?;
        scenario.validate()
    }

    /// Parses JSON when the text starts with `{`, YAML otherwise.
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        if text.trim_start().starts_with('{') {
            Self::from_json_str(text)
        } else {
            Self::from_yaml_str(text)
        }
    }

    /// Loads a `.json`, `.yaml` or `.yml` file (other names: by content).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Self::from_json_str(&text),
            Some("yaml" | "yml") => Self::from_yaml_str(&text),
            _ => Self::parse(&text),
        }
    }

    fn validate(self) -> Result<Self, ScenarioError> {
        for (index, turn) in self.turns.iter().enumerate() {
            for call in &turn.tool_calls {
                if call.name.trim().is_empty() {
                    return Err(ScenarioError::Invalid(format!(
                        "turn {index}: a tool call has an empty name"
                    )));
                }
                if let serde_json::Value::String(s) = &call.arguments
                    && serde_json::from_str::<serde_json::Value>(s).is_err()
                {
                    return Err(ScenarioError::Invalid(format!(
                        "turn {index}: arguments of {} are a string but not JSON",
                        call.name
                    )));
                }
            }
        }
        if self.fallback == Fallback::RepeatLast && self.turns.is_empty() {
            return Err(ScenarioError::Invalid(
                "fallback repeat_last needs at least one turn".into(),
            ));
        }
        Ok(self)
    }

    /// The turn for the `index`th response (0-based), after the fallback rule.
    pub fn turn(&self, index: usize) -> Option<&ScenarioTurn> {
        match self.turns.get(index) {
            Some(turn) => Some(turn),
            None if self.fallback == Fallback::RepeatLast => self.turns.last(),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
name: weather
turns:
  - user_transcript: "What is the weather in Paris?"
    delay_ms: 200
    reply: "Let me check."
    tool_calls:
      - name: get_weather
        arguments: { city: Paris }
  - reply: "It is sunny."
    fault: { type: drop_connection, after_audio_ms: 400 }
faults:
  mint_rate_limited: 1
max_session_duration_secs: 120
"#;

    #[test]
    fn yaml_and_json_give_the_same_scenario() {
        let from_yaml = Scenario::parse(YAML).unwrap();
        let json = serde_json::to_string(&from_yaml).unwrap();
        let from_json = Scenario::parse(&json).unwrap();
        assert_eq!(from_yaml, from_json);
        assert_eq!(from_yaml.turns.len(), 2);
        assert_eq!(
            from_yaml.turns[0].tool_calls[0].arguments_json(),
            r#"{"city":"Paris"}"#
        );
        assert_eq!(
            from_yaml.turns[1].fault,
            Some(TurnFault {
                after_audio_ms: 400,
                fault: Fault::DropConnection
            })
        );
        assert_eq!(from_yaml.faults.unwrap().mint_rate_limited, 1);
        assert_eq!(from_yaml.max_session_duration_secs, Some(120));
    }

    #[test]
    fn unknown_fields_and_bad_arguments_are_rejected() {
        assert!(Scenario::parse("turns:\n  - replly: hi\n").is_err());
        let bad = r#"{"turns":[{"tool_calls":[{"name":"f","arguments":"{not json"}]}]}"#;
        assert!(matches!(
            Scenario::parse(bad),
            Err(ScenarioError::Invalid(_))
        ));
    }

    #[test]
    fn fallback_rules() {
        let s =
            Scenario::parse("turns: [{reply: a}, {reply: b}]\nfallback: repeat_last\n").unwrap();
        assert_eq!(s.turn(5).and_then(|t| t.reply.as_deref()), Some("b"));
        let s = Scenario::parse("turns: [{reply: a}]\n").unwrap();
        assert!(s.turn(1).is_none());
        assert!(Scenario::parse("fallback: repeat_last\n").is_err());
    }
}
