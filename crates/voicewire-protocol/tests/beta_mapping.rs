//! GA ↔ beta mapping (PROTOCOL.md §3.4 and §4): session fields both ways, event names,
//! content part types, audio formats and token limits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use voicewire_protocol::item::ContentPart;
use voicewire_protocol::server::ConversationItemAddedEvent;
use voicewire_protocol::session::{BetaSessionConfig, Eagerness, NoiseReductionType};
use voicewire_protocol::{
    AudioFormat, ClientEvent, Dialect, Item, MaxTokens, Modality, Nullable, ServerEvent,
    SessionConfig, SessionPayload, TurnDetection, Voice,
};

fn encode_value(event: &ServerEvent, dialect: Dialect) -> Value {
    serde_json::from_str(&event.encode(dialect).unwrap()).unwrap()
}

fn session_of(event: &ClientEvent) -> &SessionConfig {
    let ClientEvent::SessionUpdate(update) = event else {
        panic!("not a session.update: {event:?}")
    };
    update.session.as_realtime().unwrap()
}

#[test]
fn beta_flat_session_reads_into_ga_config() {
    let event = ClientEvent::decode(
        &json!({
            "type": "session.update",
            "session": {
                "modalities": ["text", "audio"],
                "voice": "alloy",
                "speed": 1.2,
                "input_audio_format": "pcm16",
                "output_audio_format": "g711_ulaw",
                "input_audio_transcription": {"model": "whisper-1"},
                "input_audio_noise_reduction": {"type": "far_field"},
                "turn_detection": {"type": "semantic_vad", "eagerness": "low"},
                "max_response_output_tokens": 300,
                "temperature": 0.9
            }
        })
        .to_string(),
    )
    .unwrap();
    let s = session_of(&event);
    assert_eq!(
        s.output_modalities,
        Some(vec![Modality::Text, Modality::Audio])
    );
    assert_eq!(s.voice(), Some(&Voice::from("alloy")));
    assert_eq!(s.audio_output().unwrap().speed, Some(1.2));
    assert_eq!(
        s.input_format(),
        Some(AudioFormat::Pcm { rate: Some(24_000) })
    );
    assert_eq!(s.output_format(), Some(AudioFormat::Pcmu));
    let input = s.audio_input().unwrap();
    assert_eq!(
        input.transcription.as_value().unwrap().model.as_deref(),
        Some("whisper-1")
    );
    assert_eq!(
        input.noise_reduction.as_value().unwrap().r#type,
        NoiseReductionType::FarField
    );
    assert_eq!(
        input.turn_detection,
        Nullable::Value(TurnDetection::SemanticVad {
            eagerness: Some(Eagerness::Low),
            create_response: None,
            interrupt_response: None
        })
    );
    assert_eq!(s.max_output_tokens, Some(MaxTokens::Number(300)));
    assert_eq!(s.temperature, Some(0.9));
}

#[test]
fn ga_config_writes_flat_beta_session() {
    let mut config = SessionConfig {
        model: Some("gpt-4o-realtime-preview".into()),
        output_modalities: Some(vec![Modality::Audio]),
        max_output_tokens: Some(MaxTokens::Inf),
        instructions: Some("hi".into()),
        ..Default::default()
    }
    .with_voice("verse")
    .with_turn_detection(None);
    config.audio_input_mut().format = Some(AudioFormat::Pcma);
    config.audio_output_mut().format = Some(AudioFormat::PCM16_24K);
    config.audio_output_mut().speed = Some(0.9);

    let text = ClientEvent::session_update(config.clone())
        .encode(Dialect::Beta)
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v,
        json!({
            "type": "session.update",
            "session": {
                "model": "gpt-4o-realtime-preview",
                "modalities": ["audio"],
                "instructions": "hi",
                "voice": "verse",
                "input_audio_format": "g711_alaw",
                "output_audio_format": "pcm16",
                "turn_detection": null,
                "max_response_output_tokens": "inf",
                "speed": 0.9
            }
        })
    );
    // And back: the beta text reads into the same GA config.
    let back = ClientEvent::decode(&text).unwrap();
    assert_eq!(session_of(&back), &config);
}

#[test]
fn ga_session_has_type_and_nesting() {
    let config = SessionConfig::default()
        .with_voice("marin")
        .with_instructions("x");
    let v: Value = serde_json::from_str(
        &ClientEvent::session_update(config)
            .encode(Dialect::Ga)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        v,
        json!({"type": "session.update", "session": {"type": "realtime", "instructions": "x",
               "audio": {"output": {"voice": "marin"}}}})
    );
}

#[test]
fn when_both_spellings_appear_ga_wins() {
    let s: SessionConfig = serde_json::from_value(json!({
        "type": "realtime",
        "voice": "alloy",
        "audio": {"output": {"voice": "marin"}},
        "modalities": ["text"],
        "output_modalities": ["audio"],
        "max_response_output_tokens": 5,
        "max_output_tokens": 7
    }))
    .unwrap();
    assert_eq!(s.voice(), Some(&Voice::from("marin")));
    assert_eq!(s.output_modalities, Some(vec![Modality::Audio]));
    assert_eq!(s.max_output_tokens, Some(MaxTokens::Number(7)));
}

#[test]
fn audio_format_strings_map_both_ways() {
    let cases = [
        ("pcm16", json!({"type": "audio/pcm", "rate": 24000})),
        ("g711_ulaw", json!({"type": "audio/pcmu"})),
        ("g711_alaw", json!({"type": "audio/pcma"})),
    ];
    for (beta, ga) in cases {
        let from_beta: AudioFormat = serde_json::from_value(json!(beta)).unwrap();
        let from_ga: AudioFormat = serde_json::from_value(ga.clone()).unwrap();
        assert_eq!(from_beta, from_ga, "{beta}");
        assert_eq!(serde_json::to_value(from_beta).unwrap(), ga);
        assert_eq!(from_ga.beta_name(), beta);
    }
    assert_eq!(AudioFormat::PCM16_24K.sample_rate(), 24_000);
    assert_eq!(AudioFormat::Pcmu.sample_rate(), 8_000);
    assert!(serde_json::from_value::<AudioFormat>(json!("mp3")).is_err());
    assert!(serde_json::from_value::<AudioFormat>(json!({"type": "audio/opus"})).is_err());
}

#[test]
fn max_tokens_number_or_inf() {
    assert_eq!(
        serde_json::from_value::<MaxTokens>(json!("inf")).unwrap(),
        MaxTokens::Inf
    );
    assert_eq!(
        serde_json::from_value::<MaxTokens>(json!(4096)).unwrap(),
        MaxTokens::Number(4096)
    );
    assert_eq!(serde_json::to_value(MaxTokens::Inf).unwrap(), json!("inf"));
    assert!(serde_json::from_value::<MaxTokens>(json!("infinite")).is_err());
    assert!(serde_json::from_value::<MaxTokens>(json!(-1)).is_err());
}

#[test]
fn beta_event_names_decode_to_ga_variants_and_encode_back() {
    let pairs = [
        ("response.text.delta", "response.output_text.delta"),
        ("response.text.done", "response.output_text.done"),
        ("response.audio.delta", "response.output_audio.delta"),
        ("response.audio.done", "response.output_audio.done"),
        (
            "response.audio_transcript.delta",
            "response.output_audio_transcript.delta",
        ),
        (
            "response.audio_transcript.done",
            "response.output_audio_transcript.done",
        ),
    ];
    for (beta, ga) in pairs {
        let text = json!({"type": beta, "event_id": "e", "response_id": "r", "item_id": "i",
                          "output_index": 0, "content_index": 0, "delta": "d", "text": "t",
                          "transcript": "t"})
        .to_string();
        let event = ServerEvent::decode(&text).unwrap();
        assert_eq!(event.event_type(Dialect::Ga), ga);
        assert_eq!(event.event_type(Dialect::Beta), beta);
        assert_eq!(encode_value(&event, Dialect::Beta)["type"], beta);
        assert_eq!(encode_value(&event, Dialect::Ga)["type"], ga);
    }
}

#[test]
fn conversation_item_created_is_its_own_ga_type_and_the_beta_name_of_added() {
    let item = Item::user_text("hi");
    let added = ServerEvent::ConversationItemAdded(ConversationItemAddedEvent {
        event_id: "event_1".into(),
        previous_item_id: None,
        item,
    });
    assert_eq!(
        encode_value(&added, Dialect::Ga)["type"],
        "conversation.item.added"
    );
    let beta_text = added.encode(Dialect::Beta).unwrap();
    assert!(beta_text.contains(r#""type":"conversation.item.created""#));
    // Reading it back gives the GA type of that name.
    let ServerEvent::ConversationItemCreated(created) = ServerEvent::decode(&beta_text).unwrap()
    else {
        panic!("expected ConversationItemCreated");
    };
    assert_eq!(created.item, Item::user_text("hi"));
}

#[test]
fn ga_only_events_keep_their_names_in_beta() {
    let text = json!({"type": "conversation.item.done", "event_id": "e",
                      "item": {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "x"}]}})
    .to_string();
    let event = ServerEvent::decode(&text).unwrap();
    let beta = encode_value(&event, Dialect::Beta);
    assert_eq!(beta["type"], "conversation.item.done");
    // ...but the content part still gets its beta name.
    assert_eq!(beta["item"]["content"][0]["type"], "text");
}

#[test]
fn assistant_content_parts_map_between_dialects() {
    let beta_parts = json!([{"type": "text", "text": "a"}, {"type": "audio", "transcript": "b"}]);
    let parts: Vec<ContentPart> = serde_json::from_value(beta_parts.clone()).unwrap();
    assert_eq!(
        parts,
        vec![
            ContentPart::OutputText { text: "a".into() },
            ContentPart::OutputAudio {
                audio: None,
                transcript: Some("b".into())
            }
        ]
    );
    assert_eq!(
        serde_json::to_value(&parts).unwrap(),
        json!([{"type": "output_text", "text": "a"}, {"type": "output_audio", "transcript": "b"}])
    );
    let item = Item::message(voicewire_protocol::Role::Assistant, parts);
    let beta = ClientEvent::create_item(item)
        .encode(Dialect::Beta)
        .unwrap();
    let v: Value = serde_json::from_str(&beta).unwrap();
    assert_eq!(v["item"]["content"], beta_parts);
}

#[test]
fn user_content_parts_are_the_same_in_both_dialects() {
    let item = Item::message(
        voicewire_protocol::Role::User,
        vec![
            ContentPart::input_text("q"),
            ContentPart::input_audio("AAAA"),
        ],
    );
    let event = ClientEvent::create_item(item);
    assert_eq!(
        event.encode(Dialect::Ga).unwrap(),
        event.encode(Dialect::Beta).unwrap()
    );
}

#[test]
fn response_object_maps_between_dialects() {
    let beta = json!({"type": "response.created", "event_id": "e", "response": {
        "id": "resp_1", "status": "in_progress", "output": [], "modalities": ["text", "audio"],
        "voice": "sage", "output_audio_format": "g711_ulaw", "temperature": 0.8}});
    let event = ServerEvent::decode(&beta.to_string()).unwrap();
    let ServerEvent::ResponseCreated(created) = &event else {
        panic!()
    };
    let r = &created.response;
    assert_eq!(
        r.output_modalities,
        Some(vec![Modality::Text, Modality::Audio])
    );
    let out = r.audio.as_ref().unwrap().output.as_ref().unwrap();
    assert_eq!(out.voice, Some(Voice::from("sage")));
    assert_eq!(out.format, Some(AudioFormat::Pcmu));
    let ga = encode_value(&event, Dialect::Ga);
    assert_eq!(
        ga["response"]["output_modalities"],
        json!(["text", "audio"])
    );
    assert_eq!(
        ga["response"]["audio"],
        json!({"output": {"format": {"type": "audio/pcmu"}, "voice": "sage"}})
    );
    assert_eq!(encode_value(&event, Dialect::Beta), beta);
}

#[test]
fn response_create_params_map_max_tokens_names() {
    let beta = json!({"type": "response.create", "response": {"max_response_output_tokens": 99, "modalities": ["text"]}});
    let event = ClientEvent::decode(&beta.to_string()).unwrap();
    let ClientEvent::ResponseCreate(create) = &event else {
        panic!()
    };
    let params = create.response.as_ref().unwrap();
    assert_eq!(params.max_output_tokens, Some(MaxTokens::Number(99)));
    let ga: Value = serde_json::from_str(&event.encode(Dialect::Ga).unwrap()).unwrap();
    assert_eq!(
        ga,
        json!({"type": "response.create", "response": {"output_modalities": ["text"], "max_output_tokens": 99}})
    );
    let beta_again: Value = serde_json::from_str(&event.encode(Dialect::Beta).unwrap()).unwrap();
    assert_eq!(beta_again, beta);
}

#[test]
fn function_call_arguments_done_name_is_ga_only() {
    let ga = json!({"type": "response.function_call_arguments.done", "event_id": "e",
                    "response_id": "r", "item_id": "i", "output_index": 0, "call_id": "c",
                    "name": "get_weather", "arguments": "{}"});
    let event = ServerEvent::decode(&ga.to_string()).unwrap();
    assert_eq!(encode_value(&event, Dialect::Ga), ga);
    let beta = encode_value(&event, Dialect::Beta);
    assert!(beta.get("name").is_none());
    let mut without_name = ga.clone();
    without_name.as_object_mut().unwrap().remove("name");
    let ServerEvent::ResponseFunctionCallArgumentsDone(done) =
        ServerEvent::decode(&without_name.to_string()).unwrap()
    else {
        panic!()
    };
    assert_eq!(done.name, "");
}

#[test]
fn beta_session_config_type_converts_both_ways() {
    let beta: BetaSessionConfig = serde_json::from_value(json!({
        "voice": "echo", "input_audio_format": "g711_ulaw", "turn_detection": null,
        "max_response_output_tokens": "inf"
    }))
    .unwrap();
    let ga = SessionConfig::from(beta.clone());
    assert_eq!(ga.voice(), Some(&Voice::from("echo")));
    assert_eq!(ga.input_format(), Some(AudioFormat::Pcmu));
    assert!(ga.turn_detection().is_null());
    assert_eq!(ga.max_output_tokens, Some(MaxTokens::Inf));
    assert_eq!(BetaSessionConfig::from(&ga), beta);
}

#[test]
fn transcription_session_update_is_flat_in_both_dialects() {
    let text = json!({"type": "transcription_session.update", "session": {
        "input_audio_format": "pcm16", "input_audio_transcription": {"model": "gpt-4o-transcribe"},
        "turn_detection": null}})
    .to_string();
    let event = ClientEvent::decode(&text).unwrap();
    let ClientEvent::TranscriptionSessionUpdate(update) = &event else {
        panic!()
    };
    let input = update.session.audio_input().unwrap();
    assert_eq!(input.format, Some(AudioFormat::PCM16_24K));
    assert!(input.turn_detection.is_null());
    for dialect in [Dialect::Ga, Dialect::Beta] {
        let v: Value = serde_json::from_str(&event.encode(dialect).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::from_str::<Value>(&text).unwrap(),
            "{dialect:?}"
        );
    }
    // The nested GA shape is read too.
    let nested = json!({"type": "transcription_session.update", "session": {
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}}});
    let ClientEvent::TranscriptionSessionUpdate(u) =
        ClientEvent::decode(&nested.to_string()).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        u.session.audio_input().unwrap().format,
        Some(AudioFormat::PCM16_24K)
    );
}

#[test]
fn session_payload_without_type_is_realtime_and_unknown_type_is_an_error() {
    let p: SessionPayload = serde_json::from_value(json!({"voice": "ash"})).unwrap();
    assert_eq!(p.as_realtime().unwrap().voice(), Some(&Voice::from("ash")));
    let t: SessionPayload = serde_json::from_value(json!({"type": "transcription"})).unwrap();
    assert!(t.as_transcription().is_some());
    let flat_transcription: SessionPayload = serde_json::from_value(json!({
        "object": "realtime.transcription_session", "input_audio_format": "pcm16",
        "input_audio_transcription": {"model": "whisper-1"}}))
    .unwrap();
    let t = flat_transcription.as_transcription().unwrap();
    assert_eq!(
        t.audio_input().unwrap().format,
        Some(AudioFormat::PCM16_24K)
    );
    assert!(serde_json::from_value::<SessionPayload>(json!({"type": "translation"})).is_err());
    assert!(serde_json::from_value::<SessionPayload>(json!([1])).is_err());
}
