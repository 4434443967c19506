//! The session against the local emulator over real loopback sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{API_KEY, HANG_GUARD, emulator, events_until, fixture, options};
use voicewire::protocol::ClientEvent;
use voicewire::run::{text_turn, voice_turn_from_wav};
use voicewire::{
    AuthStyle, Endpoint, Error, FnToolHandler, RealtimeVoiceSession, SessionEvent, SessionState,
    TokenSource, ToolCall,
};
use voicewire_server::{AudioPace, Fault, FaultTarget, ObservedKind, Scenario};

#[tokio::test]
async fn text_turn_gets_an_answer() {
    let emu = emulator(AudioPace::Fast, None).await;
    let outcome = text_turn(options(&emu), "hello there", HANG_GUARD)
        .await
        .unwrap();
    assert!(
        outcome.assistant_transcript.contains("hello there"),
        "{outcome:?}"
    );
    assert_eq!(outcome.metrics.turns, 1);
    assert!(outcome.metrics.bytes_sent > 0 && outcome.metrics.bytes_received > 0);
    assert!(outcome.metrics.connect_time.is_some());
    emu.shutdown().await;
}

#[tokio::test]
async fn wrong_key_is_an_auth_error() {
    let emu = emulator(AudioPace::Fast, None).await;
    let session =
        RealtimeVoiceSession::new(options(&emu).endpoint(Endpoint::with_api_base(emu.http_base())));
    drop(session);
    let mut opts = options(&emu);
    opts.token_source = TokenSource::api_key("sk-wrong");
    let session = RealtimeVoiceSession::new(opts);
    let err = session.start().await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(matches!(session.state(), SessionState::Failed { .. }));
    emu.shutdown().await;
}

#[tokio::test]
async fn subprotocol_auth_works_like_a_browser() {
    let emu = emulator(AudioPace::Fast, None).await;
    let opts = options(&emu)
        .endpoint(Endpoint::with_api_base(emu.http_base()).auth_style(AuthStyle::Subprotocol));
    let outcome = text_turn(opts, "via subprotocol", HANG_GUARD)
        .await
        .unwrap();
    assert!(outcome.assistant_transcript.contains("via subprotocol"));
    emu.shutdown().await;
}

#[tokio::test]
async fn voice_turn_from_a_wav_file_writes_the_reply_to_a_wav_file() {
    let emu = emulator(AudioPace::RealTime, None).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reply.wav");
    let outcome = voice_turn_from_wav(
        options(&emu),
        &fixture("speech_weather_padded_24k.wav"),
        &out,
        HANG_GUARD,
    )
    .await
    .unwrap();
    assert!(
        outcome
            .events
            .iter()
            .any(|e| matches!(e, SessionEvent::UserSpeechStarted { .. }))
    );
    assert!(
        outcome
            .events
            .iter()
            .any(|e| matches!(e, SessionEvent::UserSpeechStopped { .. }))
    );
    let (format, samples) = voicewire::audio::read_wav(&out).unwrap();
    assert_eq!((format.sample_rate, format.channels), (24_000, 1));
    // The echo agent plays the user's speech back: the file holds real audio, not silence.
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 1000).count();
    assert!(
        loud > 24_000 / 2,
        "reply audio is audible ({loud} loud samples of {})",
        samples.len()
    );
    let m = outcome.metrics;
    assert_eq!(m.turns, 1);
    assert!(m.audio_ms_sent > 2000, "{m:?}");
    assert!(m.audio_ms_received > 1000, "{m:?}");
    assert_eq!(m.time_to_first_audio.len(), 1, "{m:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn tool_calls_run_through_registered_handlers_in_parallel() {
    let scenario = Scenario::parse(
        r#"{"turns":[
            {"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"},"call_id":"call_w"},
                           {"name":"get_time","arguments":{"tz":"CET"},"call_id":"call_t"}]},
            {"reply":"It is sunny in Paris at noon."}
        ]}"#,
    )
    .unwrap();
    let emu = emulator(AudioPace::Fast, Some(scenario)).await;
    let mut observed = emu.observe();
    let calls = Arc::new(AtomicUsize::new(0));
    let (c1, c2) = (Arc::clone(&calls), Arc::clone(&calls));
    let opts = options(&emu)
        .tool(
            "get_weather",
            Arc::new(FnToolHandler(move |call: ToolCall| {
                let calls = Arc::clone(&c1);
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    // Slower than the other tool: the outputs must still lead to one response.create.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    assert!(call.arguments.contains("Paris"));
                    Ok::<_, String>(r#"{"sky":"sunny"}"#.to_string())
                }
            })),
        )
        .tool(
            "get_time",
            Arc::new(FnToolHandler(move |_call: ToolCall| {
                let calls = Arc::clone(&c2);
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, String>(r#"{"time":"12:00"}"#.to_string())
                }
            })),
        );
    let outcome = text_turn(opts, "weather and time please", HANG_GUARD)
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(outcome.tool_calls.len(), 2);
    assert!(
        outcome.assistant_transcript.contains("sunny"),
        "{}",
        outcome.assistant_transcript
    );

    // On the wire: both outputs, then exactly one response.create after them.
    let mut after_outputs = Vec::new();
    let mut outputs = 0;
    while let Ok(o) = observed.try_recv() {
        if let ObservedKind::ClientEvent(e) = &o.kind {
            match e.as_ref() {
                ClientEvent::ConversationItemCreate(c)
                    if serde_json::to_string(&c.item)
                        .unwrap()
                        .contains("function_call_output") =>
                {
                    outputs += 1;
                }
                ClientEvent::ResponseCreate(_) if outputs > 0 => after_outputs.push(outputs),
                _ => {}
            }
        }
    }
    assert_eq!(outputs, 2);
    assert_eq!(
        after_outputs,
        vec![2],
        "one response.create, after both outputs"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn manual_tool_output_from_the_application() {
    let scenario = Scenario::parse(
        r#"{"turns":[{"tool_calls":[{"name":"lookup","arguments":{"q":"x"}}]},{"reply":"Found it."}]}"#,
    )
    .unwrap();
    let emu = emulator(AudioPace::Fast, Some(scenario)).await;
    let session = RealtimeVoiceSession::new(options(&emu));
    session.start().await.unwrap();
    session.send_text("look it up").await.unwrap();
    let events = events_until(&session, |e| matches!(e, SessionEvent::ToolCall(_))).await;
    let Some(SessionEvent::ToolCall(call)) = events.last() else {
        panic!()
    };
    assert_eq!(call.name, "lookup");
    session
        .send_tool_output(&call.call_id, r#"{"result":42}"#)
        .await
        .unwrap();
    assert!(session.send_tool_output("call_unknown", "x").await.is_err());
    let events = events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { .. })
    })
    .await;
    assert!(events.iter().any(|e| matches!(e, SessionEvent::AssistantTranscriptFinal { text, .. } if text.contains("Found it"))));
    session.stop().await.unwrap();
    assert!(matches!(session.state(), SessionState::Closed { .. }));
    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_events_and_malformed_frames_do_not_end_the_session() {
    let emu = emulator(AudioPace::Fast, None).await;
    let session = RealtimeVoiceSession::new(options(&emu));
    session.start().await.unwrap();
    assert!(emu.inject(FaultTarget::All, Fault::UnknownEvent) >= 1);
    events_until(&session, |e| matches!(e, SessionEvent::Raw(_))).await;
    assert!(emu.inject(FaultTarget::All, Fault::MalformedFrame) >= 1);
    events_until(&session, |e| {
        matches!(
            e,
            SessionEvent::Error {
                recoverable: true,
                ..
            }
        )
    })
    .await;
    assert_eq!(session.state(), SessionState::Live);
    session.send_text("still there?").await.unwrap();
    let events = events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { .. })
    })
    .await;
    assert!(events.iter().any(|e| matches!(e, SessionEvent::AssistantTranscriptFinal { text, .. } if text.contains("still there"))));
    session.stop().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn api_key_is_never_in_debug_output() {
    let emu = emulator(AudioPace::Fast, None).await;
    let opts = options(&emu);
    let text = format!("{opts:?}");
    assert!(!text.contains(API_KEY), "{text}");
    emu.shutdown().await;
}

#[tokio::test]
async fn dropping_every_handle_closes_the_session() {
    let emu = emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let session = RealtimeVoiceSession::new(options(&emu));
    session.start().await.unwrap();
    let mut state = session.watch_state();
    drop(session);
    tokio::time::timeout(HANG_GUARD, state.wait_for(|s| s.is_terminal()))
        .await
        .unwrap()
        .unwrap();
    let closed = tokio::time::timeout(HANG_GUARD, async {
        loop {
            if let Ok(o) = observed.recv().await
                && matches!(o.kind, ObservedKind::ConnectionClosed { .. })
            {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server saw the connection close");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_relay_url_with_a_jwt_query_and_subprotocol_auth() {
    let emu = emulator(AudioPace::Fast, None).await;
    let relay = Endpoint::relay(format!("{}/realtime", emu.ws_base()))
        .query("token", "eyJhbGciOi.relay.jwt");
    let outcome = text_turn(
        options(&emu).endpoint(relay),
        "through the relay",
        HANG_GUARD,
    )
    .await
    .unwrap();
    assert!(outcome.assistant_transcript.contains("through the relay"));
    emu.shutdown().await;
}
