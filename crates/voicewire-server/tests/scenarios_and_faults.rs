//! Scenario files (tool calls, transcripts, delays, scripted faults), runtime fault
//! injection, session expiry, idle timeouts, observation and shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use voicewire_server::{EmulatorConfig, Fault, FaultTarget, ObservedKind, Scenario};

const WEATHER: &str = r#"
name: weather
turns:
  - user_transcript: "What is the weather like in Paris today?"
    reply: "Let me check."
    tool_calls:
      - name: get_weather
        call_id: call_weather_1
        arguments: { city: Paris }
  - reply: "It is sunny and 21 degrees in Paris."
"#;

#[tokio::test]
async fn scenario_tool_call_round_trip_with_reported_transcript() {
    let scenario = Scenario::from_yaml_str(WEATHER).unwrap();
    let emulator = emulator_with(EmulatorConfig {
        scenario: Some(scenario),
        ..Default::default()
    })
    .await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client
        .send(json!({"type":"session.update","session":{"type":"realtime",
            "audio":{"input":{"transcription":{"model":"gpt-4o-transcribe"}}},
            "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}]}}))
        .await;
    client.wait_for("session.updated").await;
    client
        .append(&fixture("speech_weather_padded_24k.wav"), 4_800)
        .await;
    let completed = client
        .wait_for("conversation.item.input_audio_transcription.completed")
        .await;
    assert_eq!(
        completed["transcript"],
        "What is the weather like in Paris today?"
    );
    assert_eq!(completed["usage"]["type"], "duration");
    let events = client.until("response.done").await;
    let call_done = events
        .iter()
        .find(|e| e["type"] == "response.function_call_arguments.done")
        .unwrap();
    assert_eq!(call_done["name"], "get_weather");
    assert_eq!(call_done["call_id"], "call_weather_1");
    assert_eq!(call_done["arguments"], r#"{"city":"Paris"}"#);
    let deltas: String = events
        .iter()
        .filter(|e| e["type"] == "response.function_call_arguments.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, r#"{"city":"Paris"}"#);
    let done = events.last().unwrap();
    assert_eq!(done["response"]["output"].as_array().unwrap().len(), 2);
    assert_eq!(done["response"]["output"][1]["type"], "function_call");
    // The agent waits for the tool output and a response.create.
    client
        .send(
            json!({"type":"conversation.item.create","item":{"type":"function_call_output",
            "call_id":"call_weather_1","output":"{\"temp_c\":21}"}}),
        )
        .await;
    client.until("conversation.item.done").await;
    client.send(json!({"type":"response.create"})).await;
    let events = client.until("response.done").await;
    let transcript = events
        .iter()
        .find(|e| e["type"] == "response.output_audio_transcript.done")
        .unwrap();
    assert_eq!(
        transcript["transcript"],
        "It is sunny and 21 degrees in Paris."
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn scenario_fault_drops_the_connection_mid_response() {
    let scenario = Scenario::parse(
        r#"{"turns":[{"reply":"This reply will be cut off halfway through, like a network failure would.",
             "fault":{"type":"drop_connection","after_audio_ms":300}}]}"#,
    )
    .unwrap();
    let emulator = emulator_with(EmulatorConfig {
        scenario: Some(scenario),
        ..Default::default()
    })
    .await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client
        .send(
            json!({"type":"conversation.item.create","item":{"type":"message","role":"user",
            "content":[{"type":"input_text","text":"go"}]}}),
        )
        .await;
    client.send(json!({"type":"response.create"})).await;
    let mut audio_events = 0;
    let end = loop {
        match client.next_frame().await {
            Ok(text) => {
                assert!(
                    !text.contains("\"response.done\""),
                    "the response must not complete"
                );
                if text.contains("output_audio.delta") {
                    audio_events += 1;
                }
            }
            Err(end) => break end,
        }
    };
    assert!(audio_events >= 1);
    assert!(
        !end.starts_with("close"),
        "dropped without a close frame, got {end}"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn runtime_faults_reach_the_targeted_session() {
    let emulator = emulator().await;
    let mut observed = emulator.observe();
    let mut a = connect(&emulator, Connect::ga()).await;
    let id_a = a.handshake().await["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut b = connect(&emulator, Connect::ga()).await;
    b.handshake().await;
    assert_eq!(emulator.inject(id_a.as_str(), Fault::MalformedFrame), 1);
    let frame = a.next_frame().await.unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&frame).is_err(),
        "not JSON: {frame}"
    );
    emulator.inject(id_a.as_str(), Fault::UnknownEvent);
    let frame = a.next_frame().await.unwrap();
    let unknown = voicewire_protocol::ServerEvent::decode(&frame).unwrap();
    assert!(unknown.is_unknown());
    emulator.inject(id_a.as_str(), Fault::RateLimitError);
    assert_eq!(a.next().await["error"]["code"], "rate_limit_exceeded");
    emulator.inject(id_a.as_str(), Fault::ServerError);
    assert_eq!(a.next().await["error"]["type"], "server_error");
    emulator.inject(
        id_a.as_str(),
        Fault::Error {
            error_type: "invalid_request_error".into(),
            code: Some("custom".into()),
            message: "m".into(),
        },
    );
    assert_eq!(a.next().await["error"]["code"], "custom");
    // Stall: nothing is answered until the stall ends, then the queued event is.
    emulator.inject(id_a.as_str(), Fault::Stall { ms: 300 });
    a.send(json!({"type":"input_audio_buffer.clear"})).await;
    assert_eq!(a.next().await["type"], "input_audio_buffer.cleared");
    // Close with a code.
    emulator.inject(
        FaultTarget::All,
        Fault::Close {
            code: 4000,
            reason: "bye".into(),
        },
    );
    for client in [&mut a, &mut b] {
        let end = client.next_frame().await.unwrap_err();
        assert!(end.contains("4000"), "{end}");
    }
    let mut faults = 0;
    let mut closed = 0;
    while let Ok(o) = observed.try_recv() {
        match o.kind {
            ObservedKind::FaultApplied(_) => faults += 1,
            ObservedKind::ConnectionClosed { .. } => closed += 1,
            _ => {}
        }
    }
    assert!(faults >= 7, "{faults}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    while let Ok(o) = observed.try_recv() {
        if matches!(o.kind, ObservedKind::ConnectionClosed { .. }) {
            closed += 1;
        }
    }
    assert_eq!(closed, 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn sessions_expire_after_the_configured_duration() {
    let emulator = emulator_with(EmulatorConfig {
        max_session_duration: Some(Duration::from_millis(400)),
        ..Default::default()
    })
    .await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    let error = client.next().await;
    assert_eq!(error["error"]["code"], "session_expired");
    assert!(client.next_frame().await.is_err());
    emulator.shutdown().await;
}

#[tokio::test]
async fn server_error_every_nth_response_fails_that_response() {
    let emulator = emulator_with(EmulatorConfig {
        faults: voicewire_server::FaultConfig {
            server_error_every_nth_response: 2,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client.send(json!({"type":"response.create"})).await;
    assert_eq!(
        client.until("response.done").await.last().unwrap()["response"]["status"],
        "completed"
    );
    client.send(json!({"type":"response.create"})).await;
    let events = client.until("response.done").await;
    assert!(types(&events).contains(&"error".to_owned()));
    assert_eq!(events.last().unwrap()["response"]["status"], "failed");
    emulator.shutdown().await;
}

#[tokio::test]
async fn idle_timeout_triggers_a_turn() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client
        .send(
            json!({"type":"session.update","session":{"type":"realtime","audio":{"input":{
            "turn_detection":{"type":"server_vad","idle_timeout_ms":5000}}}}}),
        )
        .await;
    let updated = client.wait_for("session.updated").await;
    assert_eq!(
        updated["session"]["audio"]["input"]["turn_detection"]["idle_timeout_ms"],
        5000
    );
    client.send(json!({"type":"response.create"})).await;
    client.until("response.done").await;
    client.append(&silence(1_000), 2_400).await;
    let timeout = client
        .wait_for("input_audio_buffer.timeout_triggered")
        .await;
    assert_eq!(timeout["audio_start_ms"], 0);
    assert_eq!(timeout["audio_end_ms"], 1_000);
    assert_eq!(client.next().await["type"], "input_audio_buffer.committed");
    let events = client.until("response.done").await;
    let transcript = events
        .iter()
        .find(|e| e["type"] == "response.output_audio_transcript.done")
        .unwrap();
    assert_eq!(transcript["transcript"], "Are you still there?");
    emulator.shutdown().await;
}

#[tokio::test]
async fn semantic_vad_and_g711_input_still_detect_turns() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client
        .send(json!({"type":"session.update","session":{"type":"realtime","audio":{"input":{
            "format":{"type":"audio/pcmu"},"turn_detection":{"type":"semantic_vad","eagerness":"high"}}}}}))
        .await;
    let updated = client.wait_for("session.updated").await;
    assert_eq!(
        updated["session"]["audio"]["input"]["turn_detection"]["eagerness"],
        "high"
    );
    let speech = fixture("speech_weather_padded_24k.wav");
    let ulaw =
        voicewire_server::audio::encode_base64(&speech, voicewire_protocol::AudioFormat::Pcmu);
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(ulaw)
        .unwrap();
    for chunk in bytes.chunks(800) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(chunk);
        client
            .send(json!({"type":"input_audio_buffer.append","audio":b64}))
            .await;
    }
    let started = client.wait_for("input_audio_buffer.speech_started").await;
    assert!(
        (700..=900).contains(&started["audio_start_ms"].as_u64().unwrap()),
        "{started}"
    );
    client.wait_for("input_audio_buffer.speech_stopped").await;
    client.wait_for("response.done").await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn many_sessions_at_once_and_clean_shutdown() {
    let emulator = emulator().await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let base = emulator.ws_base();
        tasks.push(tokio::spawn(async move {
            let (ws, _) = tokio_tungstenite::connect_async(request(&base, &Connect::ga()))
                .await
                .unwrap();
            let mut client = Client {
                ws,
                selected_protocol: None,
            };
            client.handshake().await;
            client
                .send(
                    json!({"type":"conversation.item.create","item":{"type":"message","role":"user",
                    "content":[{"type":"input_text","text":format!("client {i}")}]}}),
                )
                .await;
            client.send(json!({"type":"response.create"})).await;
            let events = client.until("response.done").await;
            let transcript = events
                .iter()
                .find(|e| e["type"] == "response.output_audio_transcript.done")
                .unwrap();
            assert_eq!(transcript["transcript"], format!("You said: client {i}"));
            client
        }));
    }
    let mut clients = Vec::new();
    for task in tasks {
        clients.push(task.await.unwrap());
    }
    assert_eq!(emulator.sessions().len(), 24);
    emulator.shutdown().await;
    for client in &mut clients {
        let end = client.next_frame().await.unwrap_err();
        assert!(
            end.contains("Away") && end.contains("server shutting down"),
            "{end}"
        );
    }
}

#[tokio::test]
async fn espeak_voice_when_installed() {
    let emulator = voicewire_server::Emulator::start(EmulatorConfig {
        audio_pace: voicewire_server::AudioPace::Fast,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client.send(json!({"type":"response.create"})).await;
    let events = client.until("response.done").await;
    let label = events.last().unwrap()["response"]["metadata"]["voicewire_audio_source"].clone();
    let installed = std::process::Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_ok();
    assert_eq!(
        label,
        if installed {
            "espeak-ng"
        } else {
            "tone-pattern"
        }
    );
    assert!(audio_of(&events).len() > 24_000 / 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn configured_drop_mid_response_cuts_every_response() {
    let emulator = emulator_with(EmulatorConfig {
        faults: voicewire_server::FaultConfig {
            drop_mid_response_after: Some(Duration::from_millis(200)),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client.send(json!({"type":"response.create"})).await;
    let end = loop {
        match client.next_frame().await {
            Ok(text) => assert!(!text.contains("\"response.done\"")),
            Err(end) => break end,
        }
    };
    assert!(!end.starts_with("close"), "{end}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn transcription_intent_reports_transcripts_and_never_responds() {
    let scenario =
        Scenario::parse("turns:\n  - user_transcript: \"what is the weather\"\n").unwrap();
    let emulator = emulator_with(EmulatorConfig {
        scenario: Some(scenario),
        ..Default::default()
    })
    .await;
    let how = Connect {
        query: Some("intent=transcription".into()),
        ..Connect::ga()
    };
    let mut client = connect(&emulator, how).await;
    let created = client.handshake().await;
    assert_eq!(created["session"]["type"], "transcription");
    client
        .send(
            json!({"type":"session.update","session":{"type":"transcription","audio":{"input":{
            "transcription":{"model":"gpt-4o-transcribe","language":"en"}}}}}),
        )
        .await;
    let updated = client.next().await;
    assert_eq!(
        updated["session"]["audio"]["input"]["transcription"]["language"],
        "en"
    );
    client
        .append(&fixture("speech_weather_padded_24k.wav"), 4_800)
        .await;
    let completed = client
        .wait_for("conversation.item.input_audio_transcription.completed")
        .await;
    assert_eq!(completed["transcript"], "what is the weather");
    client
        .send(json!({"type":"response.create","event_id":"r1"}))
        .await;
    let error = client.next().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["error"]["event_id"], "r1");
    emulator.shutdown().await;
}
