//! The session over WebRTC against the local emulator, on loopback: the offer goes to
//! `POST /v1/realtime/calls`, events ride `oai-events`, audio rides an Opus track.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{events_until, fixture, options};
use voicewire::audio::{AudioFormat, ManualDevice, read_wav};
use voicewire::protocol::ClientEvent;
use voicewire::run::{text_turn, voice_turn_from_wav};
use voicewire::{FnToolHandler, RealtimeVoiceSession, SessionEvent, SessionOptions, Transport};
use voicewire_server::{
    AudioPace, EmulatorHandle, ObservedKind, Scenario, Transport as ServerTransport,
};

fn webrtc(emulator: &EmulatorHandle) -> SessionOptions {
    options(emulator).transport(Transport::WebRtc)
}

/// Client event types the emulator received, in order.
fn client_events(
    rx: &mut tokio::sync::broadcast::Receiver<voicewire_server::Observed>,
) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(observation) = rx.try_recv() {
        if let ObservedKind::ClientEvent(event) = &observation.kind {
            out.push(
                event
                    .event_type(voicewire::protocol::Dialect::Ga)
                    .to_owned(),
            );
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_turn_over_webrtc_writes_an_audible_reply() {
    let emu = common::emulator(AudioPace::RealTime, None).await;
    let mut observed = emu.observe();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reply.wav");
    let outcome = voice_turn_from_wav(
        webrtc(&emu),
        &fixture("speech_weather_padded_24k.wav"),
        &out,
        common::HANG_GUARD,
    )
    .await
    .unwrap();
    let events = &outcome.events;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::UserSpeechStarted { .. }))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::UserSpeechStopped { .. }))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::AssistantTranscriptFinal { .. })),
        "assistant transcript arrives on the data channel"
    );
    // Playback events pair up on WebRTC too (the core's rule): every started item is
    // stopped exactly once, after it started.
    let mut playing: Vec<&str> = Vec::new();
    let mut started = 0;
    for event in events {
        match event {
            SessionEvent::AssistantAudioStarted { item_id } => {
                assert!(
                    !playing.contains(&item_id.as_str()),
                    "started twice: {item_id}"
                );
                playing.push(item_id);
                started += 1;
            }
            SessionEvent::AssistantAudioStopped { item_id, .. } => {
                let index = playing
                    .iter()
                    .position(|id| *id == item_id)
                    .unwrap_or_else(|| panic!("stopped without a start: {item_id}"));
                playing.remove(index);
            }
            _ => {}
        }
    }
    assert!(started >= 1, "the reply's audio started");
    assert!(playing.is_empty(), "never stopped: {playing:?}");
    let (format, samples) = read_wav(&out).unwrap();
    assert_eq!((format.sample_rate, format.channels), (24_000, 1));
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 1000).count();
    assert!(
        loud > 24_000 / 2,
        "reply audio is audible ({loud} loud samples of {})",
        samples.len()
    );

    // It really was a WebRTC call: media-track audio in both directions, no append events.
    let mut media_in = 0;
    let mut media_out = 0;
    let mut appends = 0;
    let mut webrtc_sessions = 0;
    while let Ok(observation) = observed.try_recv() {
        match &observation.kind {
            ObservedKind::MediaInputAudio { samples } => media_in += samples,
            ObservedKind::MediaOutputAudio { samples, .. } => media_out += samples,
            ObservedKind::ClientEvent(event)
                if matches!(event.as_ref(), ClientEvent::InputAudioBufferAppend(_)) =>
            {
                appends += 1
            }
            ObservedKind::ConnectionOpened {
                transport: ServerTransport::WebRtc,
                ..
            } => webrtc_sessions += 1,
            _ => {}
        }
    }
    assert_eq!(webrtc_sessions, 1);
    assert_eq!(appends, 0, "audio goes on the track, not in events");
    assert!(media_in > 48_000, "server decoded {media_in} samples");
    assert!(media_out > 24_000, "server sent {media_out} samples");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_turn_and_tool_call_over_webrtc() {
    let scenario = Scenario::parse(
        r#"{"turns":[
            {"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"},"call_id":"call_w"}]},
            {"reply":"It is sunny in Paris."}
        ]}"#,
    )
    .unwrap();
    let emu = common::emulator(AudioPace::Fast, Some(scenario)).await;
    let mut observed = emu.observe();
    let opts = webrtc(&emu).tool(
        "get_weather",
        std::sync::Arc::new(FnToolHandler(|call: voicewire::ToolCall| async move {
            assert!(call.arguments.contains("Paris"));
            Ok::<_, String>(r#"{"sky":"sunny"}"#.to_owned())
        })),
    );
    let outcome = text_turn(opts, "what is the weather in Paris?", common::HANG_GUARD)
        .await
        .unwrap();
    assert!(
        outcome.assistant_transcript.contains("sunny"),
        "{outcome:?}"
    );
    assert!(
        outcome
            .events
            .iter()
            .any(|e| matches!(e, SessionEvent::ToolCall(_)))
    );
    let sent = client_events(&mut observed);
    assert!(
        sent.contains(&"conversation.item.create".to_owned()),
        "{sent:?}"
    );
    assert!(
        sent.iter().filter(|t| *t == "response.create").count() >= 2,
        "{sent:?}"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupt_over_webrtc_cancels_clears_and_stops_playback() {
    let emu = common::emulator(AudioPace::RealTime, None).await;
    let mut observed = emu.observe();
    let device = ManualDevice::duplex(AudioFormat::WIRE_PCM16_24K);
    let handle = device.handle();
    let session = RealtimeVoiceSession::new(webrtc(&emu).audio_device(Box::new(device)));
    session.start().await.unwrap();
    session
        .send_text("tell me about the weather in Paris and in London today")
        .await
        .unwrap();
    events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantAudioStarted { .. })
    })
    .await;
    // Play 200 ms of the reply as a device would, 10 ms at a time.
    let mut frame = vec![0i16; 240];
    let mut played = 0;
    tokio::time::timeout(common::HANG_GUARD, async {
        while played < 240 * 20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            played += handle.pull_playback(&mut frame);
        }
    })
    .await
    .expect("reply audio reached the device");

    session.interrupt().await.unwrap();
    events_until(&session, |e| matches!(e, SessionEvent::Interrupted { .. })).await;
    // Playback stops within one 10 ms device frame.
    let mut after = 0;
    for _ in 0..20 {
        after += handle.pull_playback(&mut frame);
    }
    assert!(after <= 240, "{after} samples played after the interrupt");

    // The server saw `response.cancel` then `output_audio_buffer.clear` (no truncate: on
    // WebRTC the server truncates), and answered with `output_audio_buffer.cleared`.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sent = Vec::new();
    let mut cleared = false;
    while let Ok(observation) = observed.try_recv() {
        match &observation.kind {
            ObservedKind::ClientEvent(event) => sent.push(
                event
                    .event_type(voicewire::protocol::Dialect::Ga)
                    .to_owned(),
            ),
            ObservedKind::ServerEvent(event) => {
                cleared |= event.event_type(voicewire::protocol::Dialect::Ga)
                    == "output_audio_buffer.cleared";
            }
            _ => {}
        }
    }
    let cancel = sent
        .iter()
        .position(|t| t == "response.cancel")
        .expect("response.cancel sent");
    let clear = sent
        .iter()
        .position(|t| t == "output_audio_buffer.clear")
        .expect("clear sent");
    assert!(cancel < clear, "{sent:?}");
    assert!(
        !sent.contains(&"conversation.item.truncate".to_owned()),
        "{sent:?}"
    );
    assert!(cleared, "the server cleared its output buffer");
    session.stop().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_session_joins_a_live_call_with_call_id() {
    let emu = common::emulator(AudioPace::Fast, None).await;
    // The call, as a browser or phone would place it.
    let (peer, offer) = voicewire_rtc::RtcPeer::offerer(voicewire_rtc::RtcConfig::loopback())
        .await
        .unwrap();
    // Plain HTTP on loopback; reqwest still wants a TLS config (ring, like the SDK).
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap();
    let response = http
        .post(format!("{}/realtime/calls", emu.http_base()))
        .bearer_auth(common::API_KEY)
        .header("content-type", "application/sdp")
        .body(offer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let call_id = response.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    peer.apply_answer(&response.text().await.unwrap())
        .await
        .unwrap();

    // The backend joins the same call over WebSocket (sideband control) and speaks in it.
    let sideband = RealtimeVoiceSession::new(
        options(&emu)
            .endpoint(voicewire::Endpoint::with_api_base(emu.http_base()).call_id(&call_id)),
    );
    sideband.start().await.unwrap();
    sideband.send_text("hello from the backend").await.unwrap();
    events_until(&sideband, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { .. })
    })
    .await;

    // The caller sees the sideband's turn on its data channel.
    let seen = tokio::time::timeout(common::HANG_GUARD, async {
        let mut kinds = Vec::new();
        while let Some(event) = peer.next_event().await {
            if let voicewire_rtc::RtcEvent::Text(text) = event {
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                let kind = value["type"].as_str().unwrap_or_default().to_owned();
                let done = kind == "response.done";
                kinds.push(kind);
                if done {
                    return kinds;
                }
            }
        }
        kinds
    })
    .await
    .unwrap();
    assert!(
        seen.contains(&"conversation.item.created".to_owned())
            || seen.contains(&"conversation.item.added".to_owned()),
        "{seen:?}"
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some("response.done"),
        "{seen:?}"
    );
    sideband.stop().await.unwrap();
    peer.close().await.unwrap();
    emu.shutdown().await;
}

/// A loopback HTTP server that records the first request (head and body) it gets and
/// answers `401` with an OpenAI-style error, so the session stops without retrying.
async fn capture_one_offer() -> (String, tokio::task::JoinHandle<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut raw = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the request ended");
            raw.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&raw).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if raw.len() >= end + 4 + length {
                    break;
                }
            }
        }
        let body = r#"{"error":{"message":"captured","type":"invalid_request_error"}}"#;
        let reply = format!(
            "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(reply.as_bytes()).await.unwrap();
        let _ = socket.shutdown().await;
        String::from_utf8_lossy(&raw).to_string()
    });
    (base, task)
}

async fn offer_seen_with(
    token: voicewire::TokenSource,
    endpoint: impl FnOnce(voicewire::Endpoint) -> voicewire::Endpoint,
) -> String {
    let (base, captured) = capture_one_offer().await;
    let options = SessionOptions::new(token)
        .endpoint(endpoint(voicewire::Endpoint::with_api_base(base)))
        .transport(Transport::WebRtc);
    let session = RealtimeVoiceSession::new(options);
    let started = tokio::time::timeout(common::HANG_GUARD, session.start())
        .await
        .expect("start gives up on a 401");
    assert!(started.is_err(), "the capture server refuses the offer");
    tokio::time::timeout(common::HANG_GUARD, captured)
        .await
        .unwrap()
        .unwrap()
}

/// The offer carries the endpoint's credentials as the WebSocket handshake would: a named
/// key header instead of Bearer, extra headers, extra query (a relay JWT).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offer_uses_the_endpoints_auth_headers_and_query() {
    let request = offer_seen_with(voicewire::TokenSource::api_key("sk-azure-key"), |e| {
        e.auth_style(voicewire::AuthStyle::Header("api-key".into()))
            .header("x-relay-tenant", "tenant-7")
            .query("token", "relay.jwt.value")
    })
    .await;
    let head = request
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .to_ascii_lowercase();
    let request_line = head.lines().next().unwrap();
    assert!(
        request_line.starts_with("post /v1/realtime/calls?token=relay.jwt.value "),
        "{request_line}"
    );
    assert!(head.contains("\r\napi-key: sk-azure-key\r\n"), "{head}");
    assert!(head.contains("\r\nx-relay-tenant: tenant-7\r\n"), "{head}");
    assert!(!head.contains("authorization:"), "{head}");
    // An API key posts multipart with the session part.
    assert!(head.contains("content-type: multipart/form-data"), "{head}");
    assert!(request.contains("name=\"session\""));

    // No credential at all when the relay authenticates by query.
    let request = offer_seen_with(voicewire::TokenSource::api_key("sk-unused"), |e| {
        e.auth_style(voicewire::AuthStyle::None)
            .query("token", "relay.jwt.value")
    })
    .await;
    let head = request
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .to_ascii_lowercase();
    assert!(!head.contains("sk-unused"), "{head}");
}

/// An ephemeral key posts the raw SDP with Bearer auth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ephemeral_key_posts_raw_sdp_with_bearer() {
    let secret = voicewire::auth::ClientSecret {
        value: "ek_test_key".into(),
        expires_at: None,
    };
    let request = offer_seen_with(voicewire::TokenSource::ephemeral(secret), |e| e).await;
    let (head, body) = request.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("\r\nauthorization: bearer ek_test_key\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\ncontent-type: application/sdp\r\n"),
        "{head}"
    );
    assert!(body.starts_with("v=0"), "{body}");
}

/// A provider's token posts the raw SDP whatever its text looks like: the offer's shape
/// follows the token source, not an `ek_` prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_providers_token_without_the_ek_prefix_still_posts_raw_sdp() {
    struct RelayTokens;
    #[async_trait::async_trait]
    impl voicewire::TokenProvider for RelayTokens {
        async fn fetch_token(
            &self,
        ) -> Result<voicewire::auth::ClientSecret, voicewire::TokenError> {
            Ok(voicewire::auth::ClientSecret {
                value: "relay-issued-7f3a".into(),
                expires_at: None,
            })
        }
    }
    let request = offer_seen_with(
        voicewire::TokenSource::Provider(std::sync::Arc::new(RelayTokens)),
        |e| e,
    )
    .await;
    let (head, body) = request.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("\r\ncontent-type: application/sdp\r\n"),
        "{head}"
    );
    assert!(body.starts_with("v=0"), "{body}");
}

/// The app learns its call's id, and a backend joins that call over WebSocket with it: the
/// backend's turn reaches the phone's session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_call_id_lets_a_backend_join_the_call() {
    let emu = common::emulator(AudioPace::Fast, None).await;
    let phone = RealtimeVoiceSession::new(webrtc(&emu));
    assert_eq!(phone.call_id(), None, "no call before start");
    phone.start().await.unwrap();
    let call_id = phone
        .call_id()
        .expect("the answer's Location names the call");
    assert!(!call_id.is_empty());

    let backend = RealtimeVoiceSession::new(
        options(&emu)
            .endpoint(voicewire::Endpoint::with_api_base(emu.http_base()).call_id(&call_id)),
    );
    backend.start().await.unwrap();
    assert_eq!(backend.call_id().as_deref(), Some(call_id.as_str()));
    backend.send_text("hello from the backend").await.unwrap();
    events_until(&phone, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { .. })
    })
    .await;
    backend.stop().await.unwrap();
    phone.stop().await.unwrap();
    emu.shutdown().await;
}
