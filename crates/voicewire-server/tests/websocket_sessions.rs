//! Sessions over real WebSockets on 127.0.0.1, in the GA and beta dialects.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use voicewire_server::{EmulatorConfig, ObservedKind};

#[tokio::test]
async fn ga_handshake_sends_full_session_first() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::ga()).await;
    let created = client.handshake().await;
    let session = &created["session"];
    assert_eq!(session["type"], "realtime");
    assert_eq!(session["object"], "realtime.session");
    assert!(session["id"].as_str().unwrap().starts_with("sess_"));
    assert_eq!(session["model"], "gpt-realtime");
    assert_eq!(
        session["audio"]["input"]["turn_detection"]["type"],
        "server_vad"
    );
    assert_eq!(session["audio"]["output"]["voice"], "marin");
    assert!(created["event_id"].as_str().unwrap().starts_with("event_"));
    assert_eq!(emulator.sessions().len(), 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn beta_handshake_uses_flat_session_and_conversation_created() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::beta()).await;
    let created = client.handshake().await;
    let session = &created["session"];
    assert!(session.get("type").is_none(), "{session}");
    assert_eq!(session["modalities"], json!(["text", "audio"]));
    assert_eq!(session["voice"], "alloy");
    assert_eq!(session["input_audio_format"], "pcm16");
    let conversation = client.next().await;
    assert_eq!(conversation["type"], "conversation.created");
    assert_eq!(
        conversation["conversation"]["object"],
        "realtime.conversation"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn session_update_merges_and_errors_name_the_param() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client
        .send(
            json!({"type":"session.update","session":{"type":"realtime","instructions":"Be brief.",
            "audio":{"input":{"turn_detection":null},"output":{"voice":"cedar"}}}}),
        )
        .await;
    let updated = client.next().await;
    assert_eq!(updated["type"], "session.updated");
    let session = &updated["session"];
    assert_eq!(session["instructions"], "Be brief.");
    assert_eq!(session["audio"]["output"]["voice"], "cedar");
    assert!(session["audio"]["input"]["turn_detection"].is_null());
    assert_eq!(
        session["audio"]["output"]["format"]["type"], "audio/pcm",
        "full config is echoed"
    );

    client
        .send(
            json!({"type":"session.update","event_id":"evt_bad","session":{"type":"realtime",
            "audio":{"output":{"voice":"robot"}}}}),
        )
        .await;
    let error = client.next().await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert_eq!(error["error"]["code"], "invalid_value");
    assert_eq!(error["error"]["param"], "session.audio.output.voice");
    assert_eq!(error["error"]["event_id"], "evt_bad");

    client
        .send(json!({"type":"session.update","session":{"type":"realtime","temperature":0.7}}))
        .await;
    let error = client.next().await;
    assert_eq!(error["error"]["code"], "unknown_parameter");
    assert_eq!(error["error"]["param"], "session.temperature");
    emulator.shutdown().await;
}

#[tokio::test]
async fn text_turn_follows_the_service_event_order() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client
        .send(
            json!({"type":"conversation.item.create","item":{"type":"message","role":"user",
            "content":[{"type":"input_text","text":"hello emulator"}]}}),
        )
        .await;
    let added = client.next().await;
    assert_eq!(added["type"], "conversation.item.added");
    let user_id = added["item"]["id"].as_str().unwrap().to_owned();
    assert_eq!(client.next().await["type"], "conversation.item.done");
    client.send(json!({"type":"response.create"})).await;
    let events = client.until("response.done").await;
    let order: Vec<String> = types(&events)
        .into_iter()
        .filter(|t| !t.ends_with(".delta"))
        .collect();
    assert_eq!(
        order,
        vec![
            "response.created",
            "rate_limits.updated",
            "response.output_item.added",
            "conversation.item.added",
            "response.content_part.added",
            "response.output_audio.done",
            "response.output_audio_transcript.done",
            "response.content_part.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
        ]
    );
    let assistant_added = events
        .iter()
        .find(|e| e["type"] == "conversation.item.added")
        .unwrap();
    assert_eq!(assistant_added["previous_item_id"], user_id.as_str());
    assert_eq!(assistant_added["item"]["status"], "in_progress");
    let transcript: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_audio_transcript.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(transcript, "You said: hello emulator");
    assert!(
        audio_of(&events).len() > 24_000 / 4,
        "reply audio is streamed"
    );
    let done = events.last().unwrap();
    assert_eq!(done["response"]["status"], "completed");
    assert_eq!(
        done["response"]["output"][0]["content"][0]["type"],
        "output_audio"
    );
    assert_eq!(
        done["response"]["output"][0]["content"][0]["transcript"],
        "You said: hello emulator"
    );
    assert_eq!(
        done["response"]["metadata"]["voicewire_audio_source"],
        "tone-pattern"
    );
    assert!(done["response"]["usage"]["total_tokens"].as_u64().unwrap() > 0);
    emulator.shutdown().await;
}

#[tokio::test]
async fn text_output_modality_streams_text_only() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client
        .send(
            json!({"type":"conversation.item.create","item":{"type":"message","role":"user",
            "content":[{"type":"input_text","text":"ping"}]}}),
        )
        .await;
    client.until("conversation.item.done").await;
    client
        .send(json!({"type":"response.create","response":{"output_modalities":["text"]}}))
        .await;
    let events = client.until("response.done").await;
    assert!(
        types(&events).iter().all(|t| !t.contains("audio")),
        "{:?}",
        types(&events)
    );
    let text = events
        .iter()
        .find(|e| e["type"] == "response.output_text.done")
        .unwrap();
    assert_eq!(text["text"], "You said: ping");
    emulator.shutdown().await;
}

#[tokio::test]
async fn audio_turn_with_server_vad_echoes_the_committed_audio() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    let speech = fixture("speech_weather_padded_24k.wav");
    client.append(&speech, 2_400).await;
    let started = client.wait_for("input_audio_buffer.speech_started").await;
    let start_ms = started["audio_start_ms"].as_u64().unwrap();
    assert!(
        (700..=900).contains(&start_ms),
        "speech starts near 0.8 s, got {start_ms}"
    );
    let stopped = client.next().await;
    assert_eq!(stopped["type"], "input_audio_buffer.speech_stopped");
    assert_eq!(stopped["item_id"], started["item_id"]);
    let end_ms = stopped["audio_end_ms"].as_u64().unwrap();
    assert!(end_ms > start_ms + 1_500 && end_ms <= 5_136, "end {end_ms}");
    let committed = client.next().await;
    assert_eq!(committed["type"], "input_audio_buffer.committed");
    assert_eq!(committed["item_id"], started["item_id"]);
    let added = client.next().await;
    assert_eq!(added["type"], "conversation.item.added");
    assert_eq!(added["item"]["role"], "user");
    assert_eq!(added["item"]["content"][0]["type"], "input_audio");
    let events = client.until("response.done").await;
    let echoed = audio_of(&events);
    // The committed turn is [onset - 300 ms prefix, end]; the echo plays exactly that.
    let from = (start_ms as usize - 300) * 24;
    let to = end_ms as usize * 24;
    assert_eq!(echoed.len(), to - from);
    assert_eq!(&echoed[..], &speech[from..to]);
    let done = events.last().unwrap();
    assert_eq!(
        done["response"]["metadata"]["voicewire_audio_source"],
        "echo"
    );
    let transcript = done["response"]["output"][0]["content"][0]["transcript"]
        .as_str()
        .unwrap();
    assert!(transcript.contains("Echo of your"), "{transcript}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn manual_commit_and_empty_commit_error() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client
        .send(json!({"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":null}}}}))
        .await;
    client.wait_for("session.updated").await;
    client
        .send(json!({"type":"input_audio_buffer.commit","event_id":"c1"}))
        .await;
    let error = client.next().await;
    assert_eq!(error["error"]["code"], "input_audio_buffer_commit_empty");
    assert_eq!(error["error"]["event_id"], "c1");
    let speech = fixture("speech_shopping_24k.wav");
    client.append(&speech, 4_800).await;
    client
        .send(json!({"type":"input_audio_buffer.commit"}))
        .await;
    let committed = client.next().await;
    assert_eq!(
        committed["type"], "input_audio_buffer.committed",
        "no VAD events in manual mode"
    );
    client.until("conversation.item.done").await;
    client.send(json!({"type":"response.create"})).await;
    let events = client.until("response.done").await;
    assert_eq!(audio_of(&events), speech);
    client
        .send(json!({"type":"input_audio_buffer.append","audio":"not base64!"}))
        .await;
    let error = client.next().await;
    assert_eq!(error["error"]["param"], "audio");
    client.append(&speech[..2_400], 2_400).await;
    client
        .send(json!({"type":"input_audio_buffer.clear"}))
        .await;
    assert_eq!(client.next().await["type"], "input_audio_buffer.cleared");
    emulator.shutdown().await;
}

#[tokio::test]
async fn response_errors_and_cancel() {
    let emulator = realtime_emulator(EmulatorConfig::default()).await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client
        .send(json!({"type":"response.cancel","event_id":"x1"}))
        .await;
    let error = client.next().await;
    assert_eq!(error["error"]["code"], "response_cancel_not_active");
    assert_eq!(error["error"]["event_id"], "x1");
    client
        .send(json!({"type":"conversation.item.create","item":{"type":"message","role":"user",
            "content":[{"type":"input_text","text":"tell me a long story about the sea and the wind"}]}}))
        .await;
    client.until("conversation.item.done").await;
    client.send(json!({"type":"response.create"})).await;
    client.wait_for("response.output_audio.delta").await;
    client
        .send(json!({"type":"response.create","event_id":"x2"}))
        .await;
    let error = client.wait_for("error").await;
    assert_eq!(
        error["error"]["code"],
        "conversation_already_has_active_response"
    );
    assert_eq!(error["error"]["event_id"], "x2");
    client.send(json!({"type":"response.cancel"})).await;
    let events = client.until("response.done").await;
    let done = events.last().unwrap();
    assert_eq!(done["response"]["status"], "cancelled");
    assert_eq!(
        done["response"]["status_details"]["reason"],
        "client_cancelled"
    );
    assert_eq!(done["response"]["output"][0]["status"], "incomplete");
    emulator.shutdown().await;
}

#[tokio::test]
async fn barge_in_cancels_and_truncate_is_checked_against_audio_sent() {
    let emulator = realtime_emulator(EmulatorConfig::default()).await;
    let mut observed = emulator.observe();
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    // A long spoken turn (echoed back at real-time pace).
    let speech = fixture("speech_weather_padded_24k.wav");
    client.append(&speech, 4_800).await;
    client.wait_for("response.created").await;
    let first = client.wait_for("response.output_audio.delta").await;
    let item_id = first["item_id"].as_str().unwrap().to_owned();
    // Barge in.
    let stop = fixture("speech_stop_24k.wav");
    client.append(&stop, 2_400).await;
    let events = client.until("response.done").await;
    assert!(types(&events).contains(&"input_audio_buffer.speech_started".to_owned()));
    let done = events.last().unwrap();
    assert_eq!(done["response"]["status"], "cancelled");
    assert_eq!(
        done["response"]["status_details"]["reason"],
        "turn_detected"
    );
    let sent_samples =
        audio_of(&events).len() + pcm_from_b64(first["delta"].as_str().unwrap()).len();
    let sent_ms = sent_samples as u64 * 1000 / 24_000;
    assert!(sent_ms < 4_000, "interrupted before the end ({sent_ms} ms)");
    // Too far: error naming audio_end_ms.
    client
        .send(json!({"type":"conversation.item.truncate","event_id":"t1","item_id":item_id,"content_index":0,
            "audio_end_ms": sent_ms + 500}))
        .await;
    let error = client.wait_for("error").await;
    assert_eq!(error["error"]["param"], "audio_end_ms");
    assert_eq!(error["error"]["event_id"], "t1");
    // Within what was sent: truncated.
    let played = sent_ms / 2;
    client
        .send(json!({"type":"conversation.item.truncate","item_id":item_id,"content_index":0,"audio_end_ms":played}))
        .await;
    let truncated = client.wait_for("conversation.item.truncated").await;
    assert_eq!(truncated["audio_end_ms"], played);
    // The stored item now holds exactly the heard audio and no transcript.
    client
        .send(json!({"type":"conversation.item.retrieve","item_id":item_id}))
        .await;
    let retrieved = client.wait_for("conversation.item.retrieved").await;
    let part = &retrieved["item"]["content"][0];
    assert_eq!(
        pcm_from_b64(part["audio"].as_str().unwrap()).len() as u64,
        played * 24
    );
    assert!(part.get("transcript").is_none_or(Value::is_null));
    // The observer saw the truncate as the client sent it.
    let mut saw_truncate = false;
    while let Ok(o) = observed.try_recv() {
        if let ObservedKind::ClientEvent(e) = &o.kind
            && let voicewire_protocol::ClientEvent::ConversationItemTruncate(t) = e.as_ref()
        {
            saw_truncate |= t.audio_end_ms == played;
        }
    }
    assert!(saw_truncate);
    emulator.shutdown().await;
}

#[tokio::test]
async fn items_create_retrieve_delete_with_previous_item_id() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    let user = |id: &str, text: &str| json!({"type":"message","id":id,"role":"user","content":[{"type":"input_text","text":text}]});
    client
        .send(json!({"type":"conversation.item.create","item":user("item_a","a")}))
        .await;
    let a = client.next().await;
    assert!(a["previous_item_id"].is_null());
    client.until("conversation.item.done").await;
    client
        .send(json!({"type":"conversation.item.create","item":user("item_b","b")}))
        .await;
    assert_eq!(client.next().await["previous_item_id"], "item_a");
    client.until("conversation.item.done").await;
    client
        .send(json!({"type":"conversation.item.create","previous_item_id":"root","item":user("item_r","r")}))
        .await;
    assert!(client.next().await["previous_item_id"].is_null());
    client.until("conversation.item.done").await;
    client
        .send(json!({"type":"conversation.item.create","previous_item_id":"item_a","item":user("item_x","x")}))
        .await;
    assert_eq!(client.next().await["previous_item_id"], "item_a");
    client.until("conversation.item.done").await;
    client
        .send(json!({"type":"conversation.item.create","event_id":"e9","previous_item_id":"item_nope","item":user("item_y","y")}))
        .await;
    let error = client.next().await;
    assert_eq!(error["error"]["param"], "previous_item_id");
    assert_eq!(error["error"]["event_id"], "e9");
    client
        .send(
            json!({"type":"conversation.item.create","item":{"type":"message","role":"assistant",
            "content":[{"type":"output_audio","audio":"AAAA"}]}}),
        )
        .await;
    let error = client.next().await;
    assert_eq!(error["error"]["code"], "invalid_value");
    // An item type the service does not know is refused, naming the field.
    client
        .send(json!({"type":"conversation.item.create","event_id":"e10","item":{"type":"reasoning","summary":[]}}))
        .await;
    let error = client.next().await;
    assert_eq!(error["error"]["code"], "invalid_value");
    assert_eq!(error["error"]["param"], "item.type");
    assert_eq!(error["error"]["event_id"], "e10");
    // A user audio item keeps its audio for retrieval.
    let audio = fixture("speech_stop_24k.wav");
    client
        .send(json!({"type":"conversation.item.create","item":{"type":"message","id":"item_audio","role":"user",
            "content":[{"type":"input_audio","audio":pcm_b64(&audio)}]}}))
        .await;
    let added = client.next().await;
    assert!(
        added["item"]["content"][0].get("audio").is_none(),
        "audio bytes are left out of item events"
    );
    client.until("conversation.item.done").await;
    client
        .send(json!({"type":"conversation.item.retrieve","item_id":"item_audio"}))
        .await;
    let retrieved = client.next().await;
    assert_eq!(
        pcm_from_b64(retrieved["item"]["content"][0]["audio"].as_str().unwrap()),
        audio
    );
    client
        .send(json!({"type":"conversation.item.delete","item_id":"item_x"}))
        .await;
    let deleted = client.next().await;
    assert_eq!(deleted["type"], "conversation.item.deleted");
    assert_eq!(deleted["item_id"], "item_x");
    client
        .send(json!({"type":"conversation.item.delete","item_id":"item_x"}))
        .await;
    let error = client.next().await;
    assert_eq!(error["error"]["code"], "item_not_found");
    emulator.shutdown().await;
}

#[tokio::test]
async fn bad_frames_get_typed_errors_and_the_session_continues() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client.send_raw("{not json").await;
    assert_eq!(client.next().await["error"]["code"], "invalid_json");
    client.send_raw(r#"{"event_id":"n1"}"#).await;
    let error = client.next().await;
    assert_eq!(error["error"]["code"], "missing_required_parameter");
    assert_eq!(error["error"]["event_id"], "n1");
    client
        .send(json!({"type":"session.explode","event_id":"u1"}))
        .await;
    let error = client.next().await;
    assert_eq!(error["error"]["param"], "type");
    assert_eq!(error["error"]["event_id"], "u1");
    client
        .send(json!({"type":"conversation.item.truncate","item_id":5}))
        .await;
    assert_eq!(client.next().await["type"], "error");
    client
        .ws
        .send(tokio_tungstenite::tungstenite::Message::Binary(
            vec![1, 2, 3].into(),
        ))
        .await
        .unwrap();
    assert_eq!(client.next().await["type"], "error");
    client.send(json!({"type":"session.update","session":{"type":"realtime","instructions":"still here"}})).await;
    assert_eq!(client.next().await["type"], "session.updated");
    emulator.shutdown().await;
}

use futures_util::SinkExt;

#[tokio::test]
async fn beta_dialect_uses_beta_event_names() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::beta()).await;
    client.handshake().await;
    assert_eq!(client.next().await["type"], "conversation.created");
    client
        .send(
            json!({"type":"session.update","session":{"voice":"verse","modalities":["text","audio"],
            "input_audio_transcription":{"model":"whisper-1"}}}),
        )
        .await;
    let updated = client.next().await;
    assert_eq!(updated["session"]["voice"], "verse");
    assert_eq!(
        updated["session"]["input_audio_transcription"]["model"],
        "whisper-1"
    );
    client
        .send(json!({"type":"session.update","session":{"voice":"marin"}}))
        .await;
    assert_eq!(client.next().await["error"]["param"], "session.voice");
    client
        .send(
            json!({"type":"conversation.item.create","item":{"type":"message","role":"user",
            "content":[{"type":"input_text","text":"beta"}]}}),
        )
        .await;
    let created = client.next().await;
    assert_eq!(created["type"], "conversation.item.created");
    client.send(json!({"type":"response.create"})).await;
    let events = client.until("response.done").await;
    let kinds = types(&events);
    assert!(kinds.contains(&"response.audio.delta".to_owned()));
    assert!(kinds.contains(&"response.audio_transcript.delta".to_owned()));
    assert!(kinds.contains(&"response.audio.done".to_owned()));
    assert!(kinds.contains(&"conversation.item.created".to_owned()));
    assert!(
        !kinds
            .iter()
            .any(|k| k == "conversation.item.done" || k.starts_with("response.output_audio"))
    );
    let done = events.last().unwrap();
    assert_eq!(done["response"]["output"][0]["content"][0]["type"], "audio");
    assert!(done["response"].get("modalities").is_some());
    // Audio turn: input transcription events arrive in beta too.
    let speech = fixture("speech_weather_padded_24k.wav");
    client.append(&speech, 4_800).await;
    let completed = client
        .wait_for("conversation.item.input_audio_transcription.completed")
        .await;
    assert!(
        completed["transcript"]
            .as_str()
            .unwrap()
            .contains("does not transcribe")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn vad_without_create_response_only_reports_turns() {
    let emulator = emulator().await;
    let mut client = connect(&emulator, Connect::ga()).await;
    client.handshake().await;
    client
        .send(json!({"type":"session.update","session":{"type":"realtime","audio":{"input":{
            "turn_detection":{"type":"server_vad","create_response":false,"interrupt_response":false,
                              "silence_duration_ms":300,"prefix_padding_ms":100}}}}}))
        .await;
    let updated = client.wait_for("session.updated").await;
    let td = &updated["session"]["audio"]["input"]["turn_detection"];
    assert_eq!(td["silence_duration_ms"], 300);
    assert_eq!(td["threshold"], 0.5, "unset knobs get their defaults");
    let speech = fixture("speech_weather_padded_24k.wav");
    client.append(&speech, 4_800).await;
    let started = client.wait_for("input_audio_buffer.speech_started").await;
    client.wait_for("conversation.item.done").await;
    // No response follows: the next thing the server says is the answer to our update.
    client
        .send(json!({"type":"session.update","session":{"type":"realtime","instructions":"x"}}))
        .await;
    let next = client.next().await;
    assert_eq!(
        next["type"], "session.updated",
        "no response was created: {next}"
    );
    // The committed item starts 100 ms (prefix padding) before the onset.
    client
        .send(json!({"type":"conversation.item.retrieve","item_id":started["item_id"]}))
        .await;
    let item = client.wait_for("conversation.item.retrieved").await;
    let audio = pcm_from_b64(item["item"]["content"][0]["audio"].as_str().unwrap());
    let from = (started["audio_start_ms"].as_u64().unwrap() as usize - 100) * 24;
    assert_eq!(&audio[..], &speech[from..from + audio.len()]);
    emulator.shutdown().await;
}
