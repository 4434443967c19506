//! `SessionConfig::merge`: the partial-update rules of `session.update` (PROTOCOL.md §3.1).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use voicewire_protocol::session::{NoiseReduction, NoiseReductionType, TranscriptionConfig};
use voicewire_protocol::{
    AudioFormat, MaxTokens, Modality, Nullable, SessionConfig, Tool, TurnDetection, Voice,
};

fn effective() -> SessionConfig {
    serde_json::from_value(json!({
        "type": "realtime", "id": "sess_1", "object": "realtime.session", "model": "gpt-realtime",
        "output_modalities": ["audio"], "instructions": "Be kind.",
        "prompt": {"id": "pmpt_1", "version": "2"},
        "audio": {
            "input": {"format": {"type": "audio/pcm", "rate": 24000},
                      "noise_reduction": {"type": "near_field"},
                      "transcription": {"model": "whisper-1"},
                      "turn_detection": {"type": "server_vad", "threshold": 0.5}},
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1.0}
        },
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
        "tool_choice": "auto", "max_output_tokens": "inf", "tracing": "auto", "expires_at": 100
    }))
    .unwrap()
}

fn update(v: serde_json::Value) -> SessionConfig {
    serde_json::from_value(v).unwrap()
}

#[test]
fn absent_fields_keep_their_values() {
    let mut s = effective();
    let before = s.clone();
    s.merge(&update(json!({"type": "realtime"})));
    assert_eq!(s, before);
    s.merge(&update(
        json!({"type": "realtime", "audio": {"input": {}, "output": {}}}),
    ));
    assert_eq!(s, before);
}

#[test]
fn values_replace_and_nested_audio_merges_field_by_field() {
    let mut s = effective();
    s.merge(&update(
        json!({"type": "realtime", "instructions": "Be brief.",
        "audio": {"output": {"speed": 1.3}, "input": {"format": {"type": "audio/pcmu"}}},
        "max_output_tokens": 200, "output_modalities": ["text"]}),
    ));
    assert_eq!(s.instructions.as_deref(), Some("Be brief."));
    assert_eq!(s.audio_output().unwrap().speed, Some(1.3));
    assert_eq!(s.voice(), Some(&Voice::from("marin")), "voice untouched");
    assert_eq!(
        s.output_format(),
        Some(AudioFormat::PCM16_24K),
        "output format untouched"
    );
    assert_eq!(s.input_format(), Some(AudioFormat::Pcmu));
    assert_eq!(
        s.audio_input().unwrap().transcription,
        Nullable::Value(TranscriptionConfig {
            model: Some("whisper-1".into()),
            ..Default::default()
        })
    );
    assert_eq!(s.max_output_tokens, Some(MaxTokens::Number(200)));
    assert_eq!(s.output_modalities, Some(vec![Modality::Text]));
}

#[test]
fn empty_string_and_empty_list_clear() {
    let mut s = effective();
    s.merge(&update(
        json!({"type": "realtime", "instructions": "", "tools": []}),
    ));
    assert_eq!(s.instructions.as_deref(), Some(""));
    assert_eq!(s.tools, Some(Vec::<Tool>::new()));
}

#[test]
fn null_clears_turn_detection_noise_reduction_transcription_prompt_tracing() {
    let mut s = effective();
    s.merge(&update(json!({"type": "realtime", "prompt": null, "tracing": null,
        "audio": {"input": {"turn_detection": null, "noise_reduction": null, "transcription": null}}})));
    let input = s.audio_input().unwrap();
    assert!(input.turn_detection.is_null());
    assert!(input.noise_reduction.is_null());
    assert!(input.transcription.is_null());
    assert!(s.prompt.is_null());
    assert!(s.tracing.is_null());
    assert!(s.turn_detection().is_null(), "manual turn taking");
    // Setting them again after a clear works too.
    s.merge(&update(json!({"type": "realtime", "audio": {"input": {
        "turn_detection": {"type": "semantic_vad"}, "noise_reduction": {"type": "far_field"}}}})));
    assert_eq!(
        s.turn_detection(),
        Nullable::Value(&TurnDetection::semantic_vad())
    );
    assert_eq!(
        s.audio_input().unwrap().noise_reduction,
        Nullable::Value(NoiseReduction {
            r#type: NoiseReductionType::FarField,
            strength: None
        })
    );
}

#[test]
fn turn_detection_is_replaced_as_a_whole() {
    let mut s = effective();
    s.merge(&update(json!({"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 800}}}})));
    assert_eq!(
        s.turn_detection(),
        Nullable::Value(&TurnDetection::ServerVad {
            threshold: None,
            prefix_padding_ms: None,
            silence_duration_ms: Some(800),
            idle_timeout_ms: None,
            create_response: None,
            interrupt_response: None,
        })
    );
}

#[test]
fn server_owned_fields_are_not_taken_from_the_update() {
    let mut s = effective();
    s.merge(&update(
        json!({"type": "realtime", "id": "sess_evil", "object": "x", "expires_at": 1}),
    ));
    assert_eq!(s.id.as_deref(), Some("sess_1"));
    assert_eq!(s.object.as_deref(), Some("realtime.session"));
    assert_eq!(s.expires_at, Some(100));
}

#[test]
fn beta_flat_update_merges_like_the_ga_one() {
    let mut ga = effective();
    let mut beta = effective();
    ga.merge(&update(json!({"type": "realtime", "audio": {"input": {"turn_detection": null}, "output": {"voice": "ash"}}})));
    beta.merge(&update(json!({"turn_detection": null, "voice": "ash"})));
    assert_eq!(ga, beta);
}

#[test]
fn merge_into_empty_config_builds_it_up() {
    let mut s = SessionConfig::default();
    s.merge(&effective());
    let mut expected = effective();
    expected.id = None;
    expected.object = None;
    expected.expires_at = None;
    assert_eq!(s, expected);
}
