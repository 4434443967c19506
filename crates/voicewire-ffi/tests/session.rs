//! The exported FFI API driven directly from Rust against the local emulator over real
//! loopback sockets: a full session, cancelled `next_event` calls, and releasing a session
//! while its listener handle is still held.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use voicewire_ffi::{
    AudioChoice, ClientToken, EndpointConfig, RealtimeVoiceSession, SessionConfig, SessionEvent,
    SessionEventListener, SessionOptions, SessionState, TokenProvider, ToolCall, ToolHandler,
    TransportKind, VoiceError,
};
use voicewire_server::{Emulator, EmulatorConfig, EmulatorHandle, ObservedKind};

const API_KEY: &str = "sk-voicewire-ffi-test";
/// Bound so a broken test fails instead of hanging (never a performance assertion).
const HANG_GUARD: Duration = Duration::from_secs(60);

struct StaticToken;

#[async_trait]
impl TokenProvider for StaticToken {
    async fn fetch_token(&self) -> Result<Arc<ClientToken>, VoiceError> {
        Ok(ClientToken::new(API_KEY.to_owned(), None))
    }
}

struct NoTools;

#[async_trait]
impl ToolHandler for NoTools {
    async fn call_tool(&self, call: ToolCall) -> Result<String, VoiceError> {
        Err(VoiceError::Other {
            detail: format!("no tool {}", call.name),
        })
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<SessionEvent>>);

impl SessionEventListener for Recorder {
    fn on_event(&self, event: SessionEvent) {
        self.0.lock().unwrap().push(event);
    }
}

async fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        api_key: Some(API_KEY.to_owned()),
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

fn session(emu: &EmulatorHandle) -> Arc<RealtimeVoiceSession> {
    let options = SessionOptions {
        endpoint: EndpointConfig {
            api_base: emu.http_base(),
            relay_url: None,
            model: None,
        },
        transport: TransportKind::WebSocket,
        session: SessionConfig {
            instructions: Some("You are a test agent.".into()),
            voice: None,
            output_modalities: None,
            turn_detection: None,
            input_transcription_model: None,
            tools: None,
        },
        reconnect: None,
        tool_timeout_ms: None,
        levels_interval_ms: Some(0),
    };
    RealtimeVoiceSession::new(
        options,
        Arc::new(StaticToken),
        Arc::new(NoTools),
        AudioChoice::NoDevice,
    )
    .unwrap()
}

/// Reads events until the assistant's final transcript, returning (deltas joined, final).
async fn answer(session: &RealtimeVoiceSession, poll: Option<Duration>) -> (String, String) {
    let mut deltas = String::new();
    tokio::time::timeout(HANG_GUARD, async {
        loop {
            let event = match poll {
                // A short timeout drops the `next_event` future mid-wait again and again,
                // as a cancelled Swift task or Kotlin coroutine does.
                Some(poll) => match tokio::time::timeout(poll, session.next_event()).await {
                    Ok(event) => event,
                    Err(_) => continue,
                },
                None => session.next_event().await,
            };
            match event.expect("session ended before the answer") {
                SessionEvent::AssistantTranscriptDelta { delta, .. } => deltas.push_str(&delta),
                SessionEvent::AssistantTranscriptFinal { text, .. } => return (deltas, text),
                _ => {}
            }
        }
    })
    .await
    .expect("answer within the hang guard")
}

#[tokio::test]
async fn a_full_session_through_the_exported_api() {
    let emu = emulator().await;
    let session = session(&emu);
    assert!(matches!(
        session.next_event().await,
        Some(SessionEvent::StateChanged {
            state: SessionState::Idle
        })
    ));
    session.start().await.unwrap();
    assert!(matches!(session.state(), SessionState::Live));
    session
        .send_text("hello from the ffi".into())
        .await
        .unwrap();
    let (deltas, text) = answer(&session, None).await;
    assert!(text.contains("hello from the ffi"), "{text}");
    assert_eq!(deltas, text);
    let metrics = session.metrics();
    assert!(metrics.bytes_sent > 0 && metrics.bytes_received > 0);
    session.stop().await.unwrap();
    assert!(matches!(session.state(), SessionState::Closed { .. }));
    emu.shutdown().await;
}

#[tokio::test]
async fn cancelled_next_event_calls_lose_no_event() {
    let emu = emulator().await;
    let session = session(&emu);
    session.start().await.unwrap();
    session
        .send_text("every delta must arrive".into())
        .await
        .unwrap();
    let (deltas, text) = answer(&session, Some(Duration::from_micros(200))).await;
    assert!(text.contains("every delta must arrive"), "{text}");
    assert_eq!(deltas, text, "a cancelled next_event swallowed a delta");
    session.stop().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn releasing_the_session_ends_it_even_while_a_listener_handle_is_held() {
    let emu = emulator().await;
    let mut observed = emu.observe();
    let session = session(&emu);
    let recorder = Arc::new(Recorder::default());
    let handle = session.subscribe(Arc::clone(&recorder) as Arc<dyn SessionEventListener>);
    session.start().await.unwrap();
    drop(session);
    tokio::time::timeout(HANG_GUARD, async {
        loop {
            let seen = observed.recv().await.unwrap();
            if matches!(seen.kind, ObservedKind::ConnectionClosed { .. }) {
                return;
            }
        }
    })
    .await
    .expect("the emulator saw the connection close");
    tokio::time::timeout(HANG_GUARD, async {
        while !handle.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the listener task ended");
    assert!(!recorder.0.lock().unwrap().is_empty());
    emu.shutdown().await;
}
