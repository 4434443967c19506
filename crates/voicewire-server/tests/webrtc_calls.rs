//! `POST /v1/realtime/calls` against a real WebRTC client (`voicewire-rtc`) on loopback:
//! raw SDP and multipart offers, a spoken turn over Opus, interruption, the sideband
//! WebSocket, hangup, and the service's error shapes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use voicewire_rtc::{
    FRAME_DURATION, RtcConfig, RtcError, RtcEvent, RtcPeer, TrackDecoder, TrackEncoder,
    WIRE_FRAME_SAMPLES,
};
use voicewire_server::{EmulatorConfig, EmulatorHandle, ObservedKind, Transport};

/// One HTTP response: status, headers (lower-case names) and body text.
struct HttpReply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpReply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// POSTs `body` to `path` over a fresh connection (HTTP/1.1, `Connection: close`).
async fn post(
    emulator: &EmulatorHandle,
    path: &str,
    key: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> HttpReply {
    let addr = emulator.addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n{auth}\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(TIMEOUT, stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    HttpReply {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn multipart(offer: &str, session: &Value) -> (String, Vec<u8>) {
    let boundary = "voicewire-test-boundary-7f3a";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"sdp\"\r\nContent-Type: application/sdp\r\n\r\n{offer}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"session\"\r\nContent-Type: application/json\r\n\r\n{session}\r\n\
         --{boundary}--\r\n"
    );
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

/// A client peer connected to a new call; returns it and the call id.
async fn call(emulator: &EmulatorHandle) -> (RtcPeer, String) {
    let (peer, offer) = RtcPeer::offerer(RtcConfig::loopback()).await.unwrap();
    let reply = post(
        emulator,
        "/v1/realtime/calls",
        Some("sk-test"),
        "application/sdp",
        offer.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/sdp"));
    let location = reply.header("location").unwrap();
    let call_id = location.rsplit('/').next().unwrap().to_owned();
    assert_eq!(location, format!("/v1/realtime/calls/{call_id}"));
    assert!(call_id.starts_with("rtc_"));
    peer.apply_answer(&reply.body).await.unwrap();
    (peer, call_id)
}

/// Reads data-channel events until one has `type == kind`; returns the JSON events read
/// (that one last) and the number of Opus packets that arrived meanwhile.
async fn until_event(
    peer: &RtcPeer,
    kind: &str,
    decoded: &mut Vec<i16>,
    decoder: &mut TrackDecoder,
) -> (Vec<Value>, usize) {
    let mut events = Vec::new();
    let mut packets = 0;
    tokio::time::timeout(TIMEOUT, async {
        loop {
            match peer.next_event().await {
                Some(RtcEvent::Text(text)) => {
                    let event: Value = serde_json::from_str(&text).unwrap();
                    voicewire_protocol::ServerEvent::decode(&text).expect("server event decodes");
                    let done = event["type"] == kind;
                    events.push(event);
                    if done {
                        return;
                    }
                }
                Some(RtcEvent::Opus(packet)) => {
                    packets += 1;
                    decoder.decode(&packet, decoded).unwrap();
                }
                Some(RtcEvent::Closed | RtcEvent::DataChannelClosed) | None => {
                    panic!(
                        "call ended while waiting for {kind}; saw {:?}",
                        types(&events)
                    )
                }
                Some(_) => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {kind}; saw {:?}", types(&events)));
    (events, packets)
}

/// Sends `pcm` as Opus at real-time pace.
async fn speak(peer: &RtcPeer, pcm: &[i16]) {
    let mut encoder = TrackEncoder::new().unwrap();
    let mut ticker = tokio::time::interval(FRAME_DURATION);
    for frame in pcm.chunks(WIRE_FRAME_SAMPLES) {
        for packet in encoder
            .encode(frame)
            .unwrap()
            .into_iter()
            .chain(encoder.flush().unwrap())
        {
            ticker.tick().await;
            match peer.send_opus(&packet, FRAME_DURATION).await {
                Ok(()) | Err(RtcError::AudioNotReady) => {}
                Err(error) => panic!("{error}"),
            }
        }
    }
}

fn rms(pcm: &[i16]) -> f64 {
    (pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoken_turn_over_webrtc_gets_a_spoken_reply() {
    let emulator = realtime_emulator(EmulatorConfig::default()).await;
    let mut observed = emulator.observe();
    let (peer, call_id) = call(&emulator).await;
    let mut decoder = TrackDecoder::new().unwrap();
    let mut reply_audio = Vec::new();
    let (created, _) = until_event(&peer, "session.created", &mut reply_audio, &mut decoder).await;
    assert_eq!(created.len(), 1, "session.created comes first");
    let session = emulator
        .sessions()
        .into_iter()
        .find(|s| s.call_id.as_deref() == Some(call_id.as_str()))
        .unwrap();
    assert_eq!(session.transport, Transport::WebRtc);

    // The user speaks (fixture speech, then silence so server VAD ends the turn).
    let mut speech = fixture("speech_weather_24k.wav");
    speech.extend(silence(1_200));
    let talker = tokio::spawn({
        let peer = peer.clone();
        async move { speak(&peer, &speech).await }
    });
    until_event(
        &peer,
        "input_audio_buffer.speech_started",
        &mut reply_audio,
        &mut decoder,
    )
    .await;
    until_event(
        &peer,
        "input_audio_buffer.speech_stopped",
        &mut reply_audio,
        &mut decoder,
    )
    .await;
    let (events, _) = until_event(
        &peer,
        "output_audio_buffer.started",
        &mut reply_audio,
        &mut decoder,
    )
    .await;
    assert!(
        types(&events).contains(&"response.created".to_owned()),
        "{:?}",
        types(&events)
    );
    assert!(
        !types(&events)
            .iter()
            .any(|t| t.contains("output_audio.delta")),
        "no audio in events on WebRTC"
    );
    // Generation ends (`response.done`) before playback does (`output_audio_buffer.stopped`).
    let (events, packets) = until_event(
        &peer,
        "output_audio_buffer.stopped",
        &mut reply_audio,
        &mut decoder,
    )
    .await;
    let kinds = types(&events);
    assert!(kinds.contains(&"response.done".to_owned()), "{kinds:?}");
    assert!(!kinds.iter().any(|t| t.contains("output_audio.delta")));
    talker.await.unwrap();
    // The echo agent plays the user's turn back: a second or more of real audio.
    assert!(packets >= 50, "only {} reply packets", packets);
    assert!(reply_audio.len() >= 24_000, "{} samples", reply_audio.len());
    assert!(
        rms(&reply_audio) > 300.0,
        "reply is audible, rms {}",
        rms(&reply_audio)
    );

    // The server heard real audio on the track (decoded to 24 kHz for the VAD).
    let mut heard = 0;
    while let Ok(observation) = observed.try_recv() {
        if let ObservedKind::MediaInputAudio { samples } = observation.kind {
            heard += samples;
        }
    }
    assert!(heard >= 24_000, "server decoded only {heard} samples");
    peer.close().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interruption_clears_the_output_buffer_and_stops_the_audio() {
    let emulator = realtime_emulator(EmulatorConfig::default()).await;
    let mut observed = emulator.observe();
    let (peer, _) = call(&emulator).await;
    let mut decoder = TrackDecoder::new().unwrap();
    let mut audio = Vec::new();
    until_event(&peer, "session.created", &mut audio, &mut decoder).await;
    peer.send_text(&json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "Tell me a long story about the sea and the wind."}]}}).to_string()).await.unwrap();
    peer.send_text(&json!({"type": "response.create"}).to_string())
        .await
        .unwrap();
    until_event(
        &peer,
        "output_audio_buffer.started",
        &mut audio,
        &mut decoder,
    )
    .await;
    // Let some audio play, then interrupt the way agents-realtime does.
    let mut played = 0;
    while played < 10 {
        if let Some(RtcEvent::Opus(_)) = tokio::time::timeout(TIMEOUT, peer.next_event())
            .await
            .unwrap()
        {
            played += 1;
        }
    }
    peer.send_text(&json!({"type": "response.cancel"}).to_string())
        .await
        .unwrap();
    peer.send_text(&json!({"type": "output_audio_buffer.clear"}).to_string())
        .await
        .unwrap();
    // `response.done` (cancelled) and `output_audio_buffer.cleared`, in either order.
    let (mut events, _) = until_event(
        &peer,
        "output_audio_buffer.cleared",
        &mut audio,
        &mut decoder,
    )
    .await;
    if !types(&events).contains(&"response.done".to_owned()) {
        events.extend(
            until_event(&peer, "response.done", &mut audio, &mut decoder)
                .await
                .0,
        );
    }
    let done = events
        .iter()
        .find(|e| e["type"] == "response.done")
        .unwrap();
    assert_eq!(
        done["response"]["status"],
        "cancelled",
        "{:?}",
        types(&events)
    );

    // The server saw both client events.
    let mut seen = Vec::new();
    while let Ok(observation) = observed.try_recv() {
        if let ObservedKind::ClientEvent(event) = observation.kind {
            seen.push(event.event_type(voicewire_protocol::Dialect::Ga).to_owned());
        }
    }
    assert!(seen.contains(&"response.cancel".to_owned()), "{seen:?}");
    assert!(
        seen.contains(&"output_audio_buffer.clear".to_owned()),
        "{seen:?}"
    );

    // After the clear, no further reply audio: only packets already in flight may land.
    let mut after = 0;
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Some(event) = peer.next_event().await {
            if matches!(event, RtcEvent::Opus(_)) {
                after += 1;
            }
        }
    })
    .await;
    assert!(
        after <= 4,
        "{after} packets after output_audio_buffer.cleared"
    );
    peer.close().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_offer_applies_the_session_part_and_sideband_joins() {
    let emulator = emulator_with(EmulatorConfig::default()).await;
    let (peer, offer) = RtcPeer::offerer(RtcConfig::loopback()).await.unwrap();
    let session =
        json!({"type": "realtime", "model": "gpt-realtime", "instructions": "Answer in one word."});
    let (content_type, body) = multipart(&offer, &session);
    let reply = post(
        &emulator,
        "/v1/realtime/calls",
        Some("sk-test"),
        &content_type,
        &body,
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let call_id = reply
        .header("location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    peer.apply_answer(&reply.body).await.unwrap();
    let mut decoder = TrackDecoder::new().unwrap();
    let mut audio = Vec::new();
    let (events, _) = until_event(&peer, "session.created", &mut audio, &mut decoder).await;
    assert_eq!(events[0]["session"]["instructions"], "Answer in one word.");
    assert_eq!(events[0]["session"]["model"], "gpt-realtime");

    // A server joins the live call over WebSocket and steers it.
    let mut sideband = connect(
        &emulator,
        Connect {
            query: Some(format!("call_id={call_id}")),
            ..Connect::ga()
        },
    )
    .await;
    sideband.send(json!({"type": "session.update", "session": {"type": "realtime", "instructions": "From the sideband."}})).await;
    let updated = sideband.wait_for("session.updated").await;
    assert_eq!(updated["session"]["instructions"], "From the sideband.");
    let (events, _) = until_event(&peer, "session.updated", &mut audio, &mut decoder).await;
    assert_eq!(
        events.last().unwrap()["session"]["instructions"],
        "From the sideband."
    );

    // Hangup ends the call for the WebRTC client.
    let reply = post(
        &emulator,
        &format!("/v1/realtime/calls/{call_id}/hangup"),
        Some("sk-test"),
        "application/json",
        b"{}",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    tokio::time::timeout(TIMEOUT, async {
        while let Some(event) = peer.next_event().await {
            if matches!(event, RtcEvent::DataChannelClosed | RtcEvent::Closed) {
                return;
            }
        }
    })
    .await
    .expect("the call ended");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_service_error_shape() {
    let emulator = emulator_with(EmulatorConfig {
        api_key: Some("sk-right".into()),
        ..Default::default()
    })
    .await;
    let (_peer, offer) = RtcPeer::offerer(RtcConfig::loopback()).await.unwrap();
    let path = "/v1/realtime/calls";

    let reply = post(&emulator, path, None, "application/sdp", offer.as_bytes()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"]["type"], "invalid_request_error");
    let reply = post(
        &emulator,
        path,
        Some("sk-wrong"),
        "application/sdp",
        offer.as_bytes(),
    )
    .await;
    assert_eq!(
        (reply.status, reply.json()["error"]["code"].clone()),
        (401, json!("invalid_api_key"))
    );
    let reply = post(
        &emulator,
        path,
        Some("ek_unknown"),
        "application/sdp",
        offer.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 401);

    let reply = post(
        &emulator,
        path,
        Some("sk-right"),
        "application/sdp",
        b"not an offer",
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.json()["error"]["param"], "sdp");
    let no_audio = offer.replace("m=audio", "m=video");
    let reply = post(
        &emulator,
        path,
        Some("sk-right"),
        "application/sdp",
        no_audio.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("audio")
    );

    let reply = post(&emulator, path, Some("sk-right"), "application/json", b"{}").await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Content-Type")
    );

    let (content_type, body) = multipart(&offer, &json!({"type": "realtime", "voice": 12}));
    let reply = post(&emulator, path, Some("sk-right"), &content_type, &body).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.json()["error"]["param"], "session");
    let (content_type, body) = multipart(&offer, &json!({"type": "realtime"}));
    let without_sdp = String::from_utf8(body)
        .unwrap()
        .replace("name=\"sdp\"", "name=\"offer\"");
    let reply = post(
        &emulator,
        path,
        Some("sk-right"),
        &content_type,
        without_sdp.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);

    let reply = post(
        &emulator,
        "/v1/realtime/calls/rtc_missing/hangup",
        Some("sk-right"),
        "application/json",
        b"{}",
    )
    .await;
    assert_eq!(reply.status, 404);
    assert!(
        emulator.sessions().is_empty(),
        "no session for a refused call"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_shaped_offer_without_candidates_is_answered() {
    // The offer the interop test posts with openai-python: Chrome's codec list and
    // attributes, trickle ICE (no candidates yet), actpass.
    let offer = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../interop/python/browser_offer.sdp"),
    )
    .unwrap();
    let emulator = emulator_with(EmulatorConfig::default()).await;
    let session = json!({"type": "realtime", "model": "gpt-realtime"});
    let (content_type, body) = multipart(&offer, &session);
    let reply = post(
        &emulator,
        "/v1/realtime/calls",
        Some("sk-test"),
        &content_type,
        &body,
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let answer = voicewire_rtc::SdpSummary::inspect(&reply.body).unwrap();
    assert!(
        answer.has_audio && answer.audio_has_opus && answer.has_data_channel,
        "{answer:?}"
    );
    assert_eq!(answer.audio_direction, "sendrecv");
    assert!(
        answer.candidate_count >= 1,
        "the answer carries the emulator's candidates"
    );
    assert!(reply.body.contains("a=setup:passive"), "{}", reply.body);
    assert!(
        reply.body.contains("a=rtpmap:111 opus/48000/2"),
        "{}",
        reply.body
    );
    emulator.shutdown().await;
}
