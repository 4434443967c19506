//! Tolerance rules: unknown event types are kept, unknown fields are ignored, bad input is
//! a typed error with the event type and reason, and nothing panics (property tests over
//! arbitrary bytes, arbitrary JSON, and arbitrary objects carrying known event types).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::{Value, json};
use voicewire_protocol::{
    ClientEvent, DecodeErrorKind, Dialect, RawEvent, ServerEvent, peek_audio_delta,
};

#[test]
fn unknown_server_event_is_kept_and_reencoded_byte_for_byte() {
    let text = r#"{"type":"response.reasoning.delta","event_id":"event_9","zeta":1,"alpha":{"b":[1,2.5,"x"],"a":null},"delta":"thinking"}"#;
    let event = ServerEvent::decode(text).unwrap();
    let ServerEvent::Unknown(raw) = &event else {
        panic!("expected Unknown, got {event:?}")
    };
    assert_eq!(raw.event_type, "response.reasoning.delta");
    assert_eq!(raw.json["delta"], "thinking");
    assert_eq!(event.event_id(), "event_9");
    for dialect in [Dialect::Ga, Dialect::Beta] {
        assert_eq!(event.encode(dialect).unwrap(), text, "{dialect:?}");
        assert_eq!(event.event_type(dialect), "response.reasoning.delta");
    }
}

#[test]
fn unknown_client_event_is_kept_and_reencoded_byte_for_byte() {
    let text = r#"{"type":"session.close","event_id":"c1","reason":"done"}"#;
    let event = ClientEvent::decode(text).unwrap();
    assert!(
        matches!(&event, ClientEvent::Unknown(RawEvent { event_type, .. }) if event_type == "session.close")
    );
    assert_eq!(event.event_id(), Some("c1"));
    assert_eq!(event.encode(Dialect::Ga).unwrap(), text);
    assert_eq!(event.encode(Dialect::Beta).unwrap(), text);
}

#[test]
fn unknown_fields_are_ignored_at_every_level() {
    let text = json!({
        "type": "response.done", "event_id": "e", "brand_new": {"x": 1},
        "response": {"id": "r", "status": "completed", "future_field": [1],
            "output": [{"type": "message", "role": "assistant", "id": "i", "extra": true,
                        "content": [{"type": "output_text", "text": "hi", "annotations": []}]}],
            "usage": {"total_tokens": 3, "novel_tokens": 9}}
    })
    .to_string();
    let ServerEvent::ResponseDone(done) = ServerEvent::decode(&text).unwrap() else {
        panic!()
    };
    assert_eq!(done.response.id.as_deref(), Some("r"));
    assert_eq!(done.response.output.len(), 1);
    assert_eq!(done.response.usage.unwrap().total_tokens, Some(3));
}

#[test]
fn unknown_enum_values_are_kept() {
    let text = json!({"type": "response.done", "event_id": "e", "response": {
        "status": "paused", "status_details": {"type": "paused", "reason": "thinking"},
        "output_modalities": ["video"], "output": [],
        "audio": {"output": {"voice": "nebula"}}}})
    .to_string();
    let event = ServerEvent::decode(&text).unwrap();
    let ServerEvent::ResponseDone(done) = &event else {
        panic!()
    };
    assert_eq!(done.response.status.as_ref().unwrap().as_str(), "paused");
    let again: Value = serde_json::from_str(&event.encode(Dialect::Ga).unwrap()).unwrap();
    assert_eq!(again["response"]["output_modalities"], json!(["video"]));
    assert_eq!(again["response"]["status_details"]["reason"], "thinking");
}

#[test]
fn invalid_json_is_an_error_without_event_type() {
    for text in [
        "",
        "{",
        "{\"type\":",
        "nul",
        "{\"type\" \"error\"}",
        "\u{0}",
    ] {
        let err = ServerEvent::decode(text).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::InvalidJson, "{text:?}: {err}");
        assert_eq!(err.event_type, None);
        assert!(!err.reason.is_empty());
    }
}

#[test]
fn truncated_known_event_is_invalid_json_with_its_type() {
    let err =
        ServerEvent::decode(r#"{"type":"response.output_audio.delta","delta":"AAA"#).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::InvalidJson);
    assert_eq!(
        err.event_type.as_deref(),
        Some("response.output_audio.delta")
    );
    let err = ServerEvent::decode(r#"{"type":"error",}"#).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::InvalidJson);
    assert_eq!(err.event_type.as_deref(), Some("error"));
}

#[test]
fn non_objects_are_not_events() {
    for text in [
        "[]",
        "1",
        "\"session.created\"",
        "null",
        "true",
        "[{\"type\":\"error\"}]",
    ] {
        let err = ClientEvent::decode(text).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::NotAnObject, "{text}");
        assert!(err.to_string().contains("not a JSON object"), "{err}");
    }
}

#[test]
fn objects_without_a_string_type_are_errors() {
    for text in [
        r#"{}"#,
        r#"{"event_id":"e"}"#,
        r#"{"type":5}"#,
        r#"{"type":null}"#,
        r#"{"type":{"a":1}}"#,
    ] {
        let err = ServerEvent::decode(text).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::MissingType, "{text}: {err}");
    }
}

#[test]
fn wrong_field_shape_names_the_event_type_and_field() {
    let err = ServerEvent::decode(
        r#"{"type":"input_audio_buffer.speech_started","event_id":"e","item_id":"i","audio_start_ms":"soon"}"#,
    )
    .unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::InvalidField);
    assert_eq!(
        err.event_type.as_deref(),
        Some("input_audio_buffer.speech_started")
    );
    assert!(err.reason.contains("invalid type"), "{}", err.reason);
    assert!(
        err.to_string()
            .contains("`input_audio_buffer.speech_started`"),
        "{err}"
    );

    let missing = ServerEvent::decode(r#"{"type":"response.output_audio.delta","event_id":"e"}"#)
        .unwrap_err();
    assert_eq!(missing.kind, DecodeErrorKind::InvalidField);
    assert!(
        missing.reason.contains("missing field"),
        "{}",
        missing.reason
    );

    let beta = ServerEvent::decode(r#"{"type":"response.audio.delta","delta":7}"#).unwrap_err();
    assert_eq!(beta.event_type.as_deref(), Some("response.audio.delta"));

    let negative = ClientEvent::decode(
        r#"{"type":"conversation.item.truncate","item_id":"i","content_index":-1,"audio_end_ms":5}"#,
    )
    .unwrap_err();
    assert_eq!(negative.kind, DecodeErrorKind::InvalidField);

    let bad_item = ClientEvent::decode(
        r#"{"type":"conversation.item.create","item":{"type":"message","role":"robot","content":[]}}"#,
    )
    .unwrap_err();
    assert_eq!(
        bad_item.event_type.as_deref(),
        Some("conversation.item.create")
    );

    let bad_session = ClientEvent::decode(r#"{"type":"session.update","session":{"type":"realtime","audio":{"input":{"format":"mp3"}}}}"#).unwrap_err();
    assert_eq!(bad_session.kind, DecodeErrorKind::InvalidField);
    assert!(bad_session.reason.contains("mp3"), "{}", bad_session.reason);
}

#[test]
fn type_need_not_be_the_first_key() {
    let text = r#"{"event_id":"e","delta":"AAAA","content_index":0,"output_index":0,"item_id":"i","response_id":"r","type":"response.output_audio.delta"}"#;
    assert!(matches!(
        ServerEvent::decode(text).unwrap(),
        ServerEvent::ResponseOutputAudioDelta(_)
    ));
    // An escaped type string takes the slow path and still works.
    let escaped = r#"{"type":"input_audio_buffer.cleare\u0064","event_id":"e"}"#;
    assert!(matches!(
        ServerEvent::decode(escaped).unwrap(),
        ServerEvent::InputAudioBufferCleared(_)
    ));
}

#[test]
fn whitespace_and_pretty_printing_are_fine() {
    let text = "\n  {\n \"type\" : \"input_audio_buffer.cleared\",\n \"event_id\": \"e\"\n}\n";
    assert!(matches!(
        ServerEvent::decode(text).unwrap(),
        ServerEvent::InputAudioBufferCleared(_)
    ));
}

#[test]
fn duplicate_type_keys_never_give_an_event_that_changes_type_on_reencode() {
    // Unknown first type: refused, since the kept JSON would carry the other type.
    let err =
        ServerEvent::decode(r#"{"type":"x.future","type":"error","event_id":"e"}"#).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::MissingType);
    assert!(
        err.reason.contains("more than one `type`"),
        "{}",
        err.reason
    );
    // Not the first key: refused by the envelope check with the same reason.
    let err = ServerEvent::decode(r#"{"event_id":"e","type":"x.a","type":"x.b"}"#).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::MissingType);
    assert!(
        err.reason.contains("more than one `type`"),
        "{}",
        err.reason
    );
    // Known first type: the typed decoder ignores the extra key; re-encoding is stable.
    let event = ServerEvent::decode(
        r#"{"type":"input_audio_buffer.cleared","type":"error","event_id":"e"}"#,
    )
    .unwrap();
    assert!(matches!(event, ServerEvent::InputAudioBufferCleared(_)));
    let again = ServerEvent::decode(&event.encode(Dialect::Ga).unwrap()).unwrap();
    assert_eq!(again, event);
}

const KNOWN_SERVER: &[&str] = ServerEvent::KNOWN_TYPES;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z_./]{0,12}".prop_map(Value::String),
        proptest::sample::select(KNOWN_SERVER).prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z_]{1,10}",
                    proptest::sample::select(
                        &[
                            "type",
                            "event_id",
                            "item",
                            "session",
                            "response",
                            "audio",
                            "content",
                            "delta",
                            "part",
                            "error",
                            "usage",
                            "output",
                            "role",
                            "format",
                            "turn_detection",
                            "input",
                            "item_id",
                            "response_id",
                        ][..]
                    )
                    .prop_map(str::to_owned),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects whose `type` is a known event type (GA or beta name) with random fields, so the
/// typed decoders (not just the envelope check) see hostile shapes.
fn arb_known_event() -> impl Strategy<Value = Value> {
    let types: Vec<&'static str> = ServerEvent::KNOWN_TYPES
        .iter()
        .chain(ServerEvent::BETA_ALIASES)
        .chain(ClientEvent::KNOWN_TYPES)
        .copied()
        .collect();
    (
        proptest::sample::select(types),
        prop::collection::btree_map("[a-z_]{1,12}", arb_json(), 0..8),
    )
        .prop_map(|(t, fields)| {
            let mut map: serde_json::Map<String, Value> = fields.into_iter().collect();
            map.insert("type".to_owned(), Value::String(t.to_owned()));
            Value::Object(map)
        })
}

fn exercise(text: &str) {
    if let Ok(event) = ServerEvent::decode(text) {
        for dialect in [Dialect::Ga, Dialect::Beta] {
            let encoded = event.encode(dialect).unwrap();
            // Whatever we write must read back.
            ServerEvent::decode(&encoded).unwrap();
        }
    }
    if let Ok(event) = ClientEvent::decode(text) {
        for dialect in [Dialect::Ga, Dialect::Beta] {
            let encoded = event.encode(dialect).unwrap();
            ClientEvent::decode(&encoded).unwrap();
        }
    }
    let _ = peek_audio_delta(text);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes);
        exercise(&text);
    }

    #[test]
    fn arbitrary_json_never_panics(value in arb_json()) {
        exercise(&value.to_string());
    }

    #[test]
    fn known_types_with_random_fields_never_panic(value in arb_known_event()) {
        exercise(&value.to_string());
    }

    #[test]
    fn unknown_types_always_round_trip_unchanged(
        suffix in "[a-z]{1,8}",
        fields in prop::collection::btree_map("[a-z]{1,6}", arb_json(), 0..5),
    ) {
        let mut map: serde_json::Map<String, Value> = fields.into_iter().collect();
        map.insert("type".to_owned(), Value::String(format!("x_future.{suffix}")));
        let text = Value::Object(map).to_string();
        let event = ServerEvent::decode(&text).unwrap();
        prop_assert!(event.is_unknown());
        prop_assert_eq!(event.encode(Dialect::Ga).unwrap(), text);
    }
}

#[test]
fn unknown_item_and_part_types_are_kept_not_fatal() {
    // A newer server may add item and content part types: the event still decodes, the
    // unknown pieces keep their JSON, and encoding writes them back unchanged.
    let text = r#"{"type":"conversation.item.added","event_id":"e1","item":{"id":"item_9","type":"reasoning","summary":[{"text":"hm"}]}}"#;
    let event = ServerEvent::decode(text).unwrap();
    let ServerEvent::ConversationItemAdded(added) = &event else {
        panic!("expected conversation.item.added, got {event:?}")
    };
    let voicewire_protocol::Item::Other(raw) = &added.item else {
        panic!("expected Item::Other, got {:?}", added.item)
    };
    assert_eq!(raw["summary"][0]["text"], "hm");
    assert_eq!(added.item.item_type(), "reasoning");
    assert_eq!(added.item.id(), Some("item_9"));
    let reencoded: Value = serde_json::from_str(&event.encode(Dialect::Ga).unwrap()).unwrap();
    assert_eq!(reencoded, serde_json::from_str::<Value>(text).unwrap());

    let text = r#"{"type":"conversation.item.added","event_id":"e2","item":{"id":"item_1","type":"message","role":"user","content":[{"type":"input_video","url":"x"},{"type":"input_text","text":"hi"}]}}"#;
    let event = ServerEvent::decode(text).unwrap();
    let ServerEvent::ConversationItemAdded(added) = &event else {
        panic!("expected conversation.item.added, got {event:?}")
    };
    let voicewire_protocol::Item::Message(message) = &added.item else {
        panic!("expected a message, got {:?}", added.item)
    };
    assert!(matches!(
        &message.content[0],
        voicewire_protocol::ContentPart::Other(raw) if raw["url"] == "x"
    ));
    assert_eq!(message.content[0].ga_type(), "input_video");
    assert_eq!(message.content[1].text_or_transcript(), Some("hi"));
    let reencoded: Value = serde_json::from_str(&event.encode(Dialect::Ga).unwrap()).unwrap();
    assert_eq!(reencoded, serde_json::from_str::<Value>(text).unwrap());
}

#[test]
fn a_known_item_type_with_a_bad_shape_is_still_an_error() {
    let err = ServerEvent::decode(
        r#"{"type":"conversation.item.added","event_id":"e","item":{"type":"function_call","call_id":5}}"#,
    )
    .unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::InvalidField);
    assert_eq!(err.event_type.as_deref(), Some("conversation.item.added"));
    let err =
        ClientEvent::decode(r#"{"type":"conversation.item.create","item":"message"}"#).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::InvalidField);
}
