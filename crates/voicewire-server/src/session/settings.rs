//! The effective session configuration: defaults, validation of updates (typed errors with
//! `param`, like the service), and the values the session logic reads.

use serde_json::Value;
use voicewire_protocol::session::{Eagerness, Truncation};
use voicewire_protocol::{
    ApiError, AudioFormat, Dialect, MaxTokens, Modality, Nullable, SessionConfig, Tool,
    TurnDetection, Voice,
};

use crate::vad::VadParams;

/// Default model when the client names none.
pub(crate) const DEFAULT_MODEL: &str = "gpt-realtime";
/// Instructions the service fills in when the client sets none (ours say what we are).
const DEFAULT_INSTRUCTIONS: &str = "You are the VoiceWire local emulator. You echo audio turns, answer text turns \
     with \"You said: ...\", and follow scenario files. You do not recognize speech.";

const GA_VOICES: &[&str] = &[
    "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar",
];
const BETA_VOICES: &[&str] = &[
    "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse",
];
const TRANSCRIPTION_MODELS: &[&str] = &[
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-transcribe-latest",
    "gpt-4o-mini-transcribe",
    "gpt-4o-mini-transcribe-2025-12-15",
    "gpt-4o-transcribe-diarize",
    "gpt-transcribe",
    "gpt-live-transcribe",
    "gpt-realtime-whisper",
];
const GA_KEYS: &[&str] = &[
    "type",
    "id",
    "object",
    "model",
    "output_modalities",
    "instructions",
    "prompt",
    "audio",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "tracing",
    "truncation",
    "include",
    "expires_at",
    "reasoning",
    "parallel_tool_calls",
];
const BETA_KEYS: &[&str] = &[
    "id",
    "object",
    "model",
    "modalities",
    "instructions",
    "voice",
    "input_audio_format",
    "output_audio_format",
    "input_audio_transcription",
    "input_audio_noise_reduction",
    "turn_detection",
    "tools",
    "tool_choice",
    "temperature",
    "max_response_output_tokens",
    "speed",
    "tracing",
    "expires_at",
    "client_secret",
    "include",
];

/// The full config a new session starts with (what `session.created` shows).
pub(crate) fn default_session(
    dialect: Dialect,
    model: Option<&str>,
    id: &str,
    expires_at: i64,
) -> SessionConfig {
    let mut config = SessionConfig {
        id: Some(id.to_owned()),
        object: Some("realtime.session".to_owned()),
        model: Some(model.unwrap_or(DEFAULT_MODEL).to_owned()),
        output_modalities: Some(match dialect {
            Dialect::Ga => vec![Modality::Audio],
            Dialect::Beta => vec![Modality::Text, Modality::Audio],
        }),
        instructions: Some(DEFAULT_INSTRUCTIONS.to_owned()),
        tools: Some(Vec::new()),
        tool_choice: Some(voicewire_protocol::ToolChoice::default()),
        max_output_tokens: Some(MaxTokens::Inf),
        tracing: Nullable::Null,
        truncation: Some(Truncation::Auto),
        prompt: Nullable::Null,
        expires_at: Some(expires_at),
        temperature: (dialect == Dialect::Beta).then_some(0.8),
        ..SessionConfig::default()
    };
    {
        let input = config.audio_input_mut();
        input.format = Some(AudioFormat::PCM16_24K);
        input.noise_reduction = Nullable::Null;
        input.transcription = Nullable::Null;
        input.turn_detection = Nullable::Value(TurnDetection::server_vad_defaults());
    }
    {
        let output = config.audio_output_mut();
        output.format = Some(AudioFormat::PCM16_24K);
        output.voice = Some(Voice::from(if dialect == Dialect::Ga {
            "marin"
        } else {
            "alloy"
        }));
        output.speed = Some(1.0);
    }
    config
}

/// Fills server defaults into fields an update left partial (VAD knobs, formats).
pub(crate) fn normalize(config: &mut SessionConfig) {
    let input = config.audio_input_mut();
    if let Nullable::Value(td) = &mut input.turn_detection {
        match td {
            TurnDetection::ServerVad {
                threshold,
                prefix_padding_ms,
                silence_duration_ms,
                create_response,
                interrupt_response,
                ..
            } => {
                threshold.get_or_insert(0.5);
                prefix_padding_ms.get_or_insert(300);
                silence_duration_ms.get_or_insert(500);
                create_response.get_or_insert(true);
                interrupt_response.get_or_insert(true);
            }
            TurnDetection::SemanticVad {
                eagerness,
                create_response,
                interrupt_response,
            } => {
                eagerness.get_or_insert(Eagerness::Auto);
                create_response.get_or_insert(true);
                interrupt_response.get_or_insert(true);
            }
        }
    }
}

/// Joins a param path the way the dialect spells it.
fn param(dialect: Dialect, ga: &str, beta: &str) -> String {
    match dialect {
        Dialect::Ga => format!("session.{ga}"),
        Dialect::Beta => format!("session.{beta}"),
    }
}

/// Checks a `session.update` (or a minted session) before it is merged.
///
/// `raw` is the `session` object as the client sent it (for unknown keys), `current` the
/// effective config, `audio_produced` whether the assistant has produced audio (the voice
/// is then fixed).
pub(crate) fn validate_update(
    raw: Option<&Value>,
    update: &SessionConfig,
    current: Option<&SessionConfig>,
    dialect: Dialect,
    audio_produced: bool,
) -> Result<(), ApiError> {
    if let Some(Value::Object(map)) = raw {
        let known = match dialect {
            Dialect::Ga => GA_KEYS,
            Dialect::Beta => BETA_KEYS,
        };
        if let Some(key) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(ApiError::unknown_parameter(format!("session.{key}")));
        }
        if dialect == Dialect::Ga {
            match map.get("type") {
                None => return Err(ApiError::missing_required_parameter("session.type")),
                Some(Value::String(t)) if t == "realtime" || t == "transcription" => {}
                Some(other) => {
                    return Err(ApiError::invalid_value(
                        "session.type",
                        format!(
                            "Invalid value: {other}. Supported values are: 'realtime' and 'transcription'."
                        ),
                    ));
                }
            }
        }
    }
    if let (Some(model), Some(current)) = (&update.model, current)
        && current.model.as_deref().is_some_and(|m| m != model)
    {
        return Err(ApiError::invalid_value(
            "session.model",
            "Cannot update a session's model after the session has started.",
        ));
    }
    if let Some(modalities) = &update.output_modalities {
        let p = param(dialect, "output_modalities", "modalities");
        if modalities.is_empty() {
            return Err(ApiError::invalid_value(
                p,
                "At least one output modality is required.",
            ));
        }
        if let Some(bad) = modalities.iter().find(|m| matches!(m, Modality::Other(_))) {
            return Err(ApiError::invalid_value(
                p,
                format!("Invalid modality '{bad}'. Supported values are: 'text' and 'audio'."),
            ));
        }
        let has_audio = modalities.contains(&Modality::Audio);
        let has_text = modalities.contains(&Modality::Text);
        match dialect {
            Dialect::Ga if modalities.len() > 1 => {
                return Err(ApiError::invalid_value(
                    p,
                    "Only one output modality may be requested: ['audio'] or ['text'].",
                ));
            }
            Dialect::Beta if has_audio && !has_text => {
                return Err(ApiError::invalid_value(
                    p,
                    "Invalid modalities: ['audio']. Supported combinations are: ['text'] and ['audio', 'text'].",
                ));
            }
            _ => {}
        }
    }
    if let Some(output) = update.audio_output() {
        if let Some(voice) = &output.voice {
            let p = param(dialect, "audio.output.voice", "voice");
            if let Voice::Named(name) = voice {
                let allowed = if dialect == Dialect::Ga {
                    GA_VOICES
                } else {
                    BETA_VOICES
                };
                if !allowed.contains(&name.as_str()) {
                    return Err(ApiError::invalid_value(
                        p,
                        format!(
                            "Invalid value: '{name}'. Supported values are: {}.",
                            quoted(allowed)
                        ),
                    ));
                }
            }
            if audio_produced
                && current
                    .and_then(SessionConfig::voice)
                    .is_some_and(|v| v != voice)
            {
                return Err(ApiError::invalid_value(
                    p,
                    "Cannot update a conversation's voice if assistant audio is present.",
                ));
            }
        }
        if let Some(speed) = output.speed
            && !(0.25..=1.5).contains(&speed)
        {
            return Err(ApiError::invalid_value(
                param(dialect, "audio.output.speed", "speed"),
                format!("Invalid 'speed': {speed}. Expected a value between 0.25 and 1.5."),
            ));
        }
        if let Some(format) = &output.format {
            check_format(
                format,
                param(dialect, "audio.output.format", "output_audio_format"),
            )?;
        }
    }
    if let Some(input) = update.audio_input() {
        if let Some(format) = &input.format {
            check_format(
                format,
                param(dialect, "audio.input.format", "input_audio_format"),
            )?;
        }
        if let Nullable::Value(transcription) = &input.transcription
            && let Some(model) = &transcription.model
            && !TRANSCRIPTION_MODELS.contains(&model.as_str())
        {
            return Err(ApiError::invalid_value(
                param(
                    dialect,
                    "audio.input.transcription.model",
                    "input_audio_transcription.model",
                ),
                format!(
                    "Invalid value: '{model}'. Supported values are: {}.",
                    quoted(TRANSCRIPTION_MODELS)
                ),
            ));
        }
        if let Nullable::Value(nr) = &input.noise_reduction
            && let voicewire_protocol::session::NoiseReductionType::Other(kind) = &nr.r#type
        {
            return Err(ApiError::invalid_value(
                param(
                    dialect,
                    "audio.input.noise_reduction.type",
                    "input_audio_noise_reduction.type",
                ),
                format!(
                    "Invalid value: '{kind}'. Supported values are: 'near_field' and 'far_field'."
                ),
            ));
        }
        if let Nullable::Value(td) = &input.turn_detection {
            check_turn_detection(td, dialect)?;
        }
    }
    if let Some(MaxTokens::Number(n)) = update.max_output_tokens
        && !(1..=4096).contains(&n)
    {
        return Err(ApiError::invalid_value(
            param(dialect, "max_output_tokens", "max_response_output_tokens"),
            format!("Invalid value: {n}. Expected an integer between 1 and 4096, or 'inf'."),
        ));
    }
    if let Some(temperature) = update.temperature
        && dialect == Dialect::Beta
        && !(0.6..=1.2).contains(&temperature)
    {
        return Err(ApiError::invalid_value(
            "session.temperature",
            format!("Invalid 'temperature': {temperature}. Expected a value between 0.6 and 1.2."),
        ));
    }
    if let Some(tools) = &update.tools {
        check_tools(tools)?;
    }
    Ok(())
}

fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_format(format: &AudioFormat, p: String) -> Result<(), ApiError> {
    if let AudioFormat::Pcm { rate: Some(rate) } = format
        && *rate != 24_000
    {
        return Err(ApiError::invalid_value(
            format!("{p}.rate"),
            format!("Invalid value: {rate}. Supported values are: 24000."),
        ));
    }
    Ok(())
}

fn check_turn_detection(td: &TurnDetection, dialect: Dialect) -> Result<(), ApiError> {
    let base = param(dialect, "audio.input.turn_detection", "turn_detection");
    match td {
        TurnDetection::ServerVad {
            threshold,
            prefix_padding_ms,
            silence_duration_ms,
            idle_timeout_ms,
            ..
        } => {
            if let Some(t) = threshold
                && !(0.0..=1.0).contains(t)
            {
                return Err(ApiError::invalid_value(
                    format!("{base}.threshold"),
                    format!("Invalid 'threshold': {t}. Expected a value between 0 and 1."),
                ));
            }
            if let Some(ms) = prefix_padding_ms
                && *ms > 10_000
            {
                return Err(ApiError::invalid_value(
                    format!("{base}.prefix_padding_ms"),
                    format!("Invalid 'prefix_padding_ms': {ms}. Expected at most 10000."),
                ));
            }
            if let Some(ms) = silence_duration_ms
                && *ms > 10_000
            {
                return Err(ApiError::invalid_value(
                    format!("{base}.silence_duration_ms"),
                    format!("Invalid 'silence_duration_ms': {ms}. Expected at most 10000."),
                ));
            }
            if let Some(ms) = idle_timeout_ms
                && !(5_000..=30_000).contains(ms)
            {
                return Err(ApiError::invalid_value(
                    format!("{base}.idle_timeout_ms"),
                    format!(
                        "Invalid 'idle_timeout_ms': {ms}. Expected a value between 5000 and 30000."
                    ),
                ));
            }
        }
        TurnDetection::SemanticVad { eagerness, .. } => {
            if let Some(Eagerness::Other(e)) = eagerness {
                return Err(ApiError::invalid_value(
                    format!("{base}.eagerness"),
                    format!(
                        "Invalid value: '{e}'. Supported values are: 'low', 'medium', 'high' and 'auto'."
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_tools(tools: &[Tool]) -> Result<(), ApiError> {
    let mut names = std::collections::HashSet::new();
    for (i, tool) in tools.iter().enumerate() {
        if let Tool::Function(f) = tool {
            let valid = !f.name.is_empty()
                && f.name.len() <= 64
                && f.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                return Err(ApiError::invalid_value(
                    format!("session.tools[{i}].name"),
                    format!(
                        "Invalid 'tools[{i}].name': string does not match pattern '^[a-zA-Z0-9_-]{{1,64}}$'."
                    ),
                ));
            }
            if !names.insert(f.name.clone()) {
                return Err(ApiError::invalid_value(
                    format!("session.tools[{i}].name"),
                    format!("Duplicate tool name '{}'.", f.name),
                ));
            }
        }
    }
    Ok(())
}

/// How turns are taken, read from the effective config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TurnSettings {
    /// `None` = manual commits.
    pub(crate) vad: Option<VadParams>,
    pub(crate) create_response: bool,
    pub(crate) interrupt_response: bool,
    /// `server_vad.idle_timeout_ms`.
    pub(crate) idle_timeout_ms: Option<u32>,
}

/// Reads turn taking from a config. `semantic_vad` maps onto the energy detector by
/// eagerness: the end-of-turn silence grows from `high` (fast) to `low` (patient).
pub(crate) fn turn_settings(config: &SessionConfig) -> TurnSettings {
    match config.turn_detection() {
        Nullable::Value(TurnDetection::ServerVad {
            threshold,
            prefix_padding_ms,
            silence_duration_ms,
            idle_timeout_ms,
            create_response,
            interrupt_response,
        }) => TurnSettings {
            vad: Some(VadParams {
                threshold: threshold.unwrap_or(0.5) as f32,
                prefix_padding_ms: prefix_padding_ms.unwrap_or(300),
                silence_duration_ms: silence_duration_ms.unwrap_or(500),
            }),
            create_response: create_response.unwrap_or(true),
            interrupt_response: interrupt_response.unwrap_or(true),
            idle_timeout_ms: *idle_timeout_ms,
        },
        Nullable::Value(TurnDetection::SemanticVad {
            eagerness,
            create_response,
            interrupt_response,
        }) => {
            let silence_duration_ms = match eagerness {
                Some(Eagerness::High) => 300,
                Some(Eagerness::Low) => 1_200,
                _ => 650,
            };
            TurnSettings {
                vad: Some(VadParams {
                    threshold: 0.5,
                    prefix_padding_ms: 300,
                    silence_duration_ms,
                }),
                create_response: create_response.unwrap_or(true),
                interrupt_response: interrupt_response.unwrap_or(true),
                idle_timeout_ms: None,
            }
        }
        Nullable::Null => TurnSettings {
            vad: None,
            create_response: false,
            interrupt_response: false,
            idle_timeout_ms: None,
        },
        Nullable::Absent => TurnSettings {
            vad: Some(VadParams::default()),
            create_response: true,
            interrupt_response: true,
            idle_timeout_ms: None,
        },
    }
}

/// Whether replies are audio (with transcript) rather than text only.
pub(crate) fn wants_audio(modalities: Option<&[Modality]>) -> bool {
    modalities.is_none_or(|m| m.contains(&Modality::Audio))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(dialect: Dialect, raw: Value) -> Result<(), ApiError> {
        let update: SessionConfig = serde_json::from_value(raw.clone()).unwrap();
        let current = default_session(dialect, None, "sess_x", 0);
        validate_update(Some(&raw), &update, Some(&current), dialect, false)
    }

    #[test]
    fn good_updates_pass() {
        check(Dialect::Ga, json!({"type":"realtime","instructions":"hi","audio":{"output":{"voice":"cedar","speed":1.2}}}))
            .unwrap();
        check(
            Dialect::Beta,
            json!({"modalities":["text"],"voice":"alloy","turn_detection":null}),
        )
        .unwrap();
    }

    #[test]
    fn bad_values_name_their_param() {
        let err = check(
            Dialect::Ga,
            json!({"type":"realtime","audio":{"output":{"voice":"robot"}}}),
        )
        .unwrap_err();
        assert_eq!(err.param.as_deref(), Some("session.audio.output.voice"));
        assert_eq!(err.code.as_deref(), Some("invalid_value"));
        let err = check(Dialect::Beta, json!({"voice":"marin"})).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("session.voice"));
        let err = check(
            Dialect::Ga,
            json!({"type":"realtime","audio":{"input":{"turn_detection":{"type":"server_vad","threshold":1.5}}}}),
        )
        .unwrap_err();
        assert_eq!(
            err.param.as_deref(),
            Some("session.audio.input.turn_detection.threshold")
        );
        let err = check(Dialect::Ga, json!({"type":"realtime","temperature":0.9})).unwrap_err();
        assert_eq!(err.code.as_deref(), Some("unknown_parameter"));
        let err = check(Dialect::Ga, json!({"instructions":"x"})).unwrap_err();
        assert_eq!(err.code.as_deref(), Some("missing_required_parameter"));
        let err = check(
            Dialect::Ga,
            json!({"type":"realtime","output_modalities":["text","audio"]}),
        )
        .unwrap_err();
        assert_eq!(err.param.as_deref(), Some("session.output_modalities"));
        let err = check(
            Dialect::Ga,
            json!({"type":"realtime","model":"gpt-4o-realtime-preview"}),
        )
        .unwrap_err();
        assert_eq!(err.param.as_deref(), Some("session.model"));
    }

    #[test]
    fn semantic_vad_maps_eagerness_to_silence() {
        let mut config = default_session(Dialect::Ga, None, "s", 0);
        config.audio_input_mut().turn_detection = Nullable::Value(TurnDetection::SemanticVad {
            eagerness: Some(Eagerness::High),
            create_response: None,
            interrupt_response: Some(false),
        });
        let t = turn_settings(&config);
        assert_eq!(t.vad.unwrap().silence_duration_ms, 300);
        assert!(!t.interrupt_response);
        config.audio_input_mut().turn_detection = Nullable::Null;
        assert!(turn_settings(&config).vad.is_none());
    }
}
