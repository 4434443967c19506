//! Shared helpers for the integration tests: an in-process emulator and session options
//! pointing at it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use voicewire::protocol::session::TranscriptionConfig;
use voicewire::{
    Endpoint, ReconnectPolicy, SessionConfig, SessionEvent, SessionOptions, TokenSource,
    TurnDetection,
};
use voicewire_server::{AudioPace, Emulator, EmulatorConfig, EmulatorHandle, Scenario};

/// The API key the test emulators accept.
pub const API_KEY: &str = "sk-voicewire-test";

/// Generous bound so a broken test fails instead of hanging (never a performance assertion).
pub const HANG_GUARD: Duration = Duration::from_secs(60);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VOICEWIRE_TEST_LOG")
                .unwrap_or_else(|_| "off".into()),
        )
        .with_test_writer()
        .try_init();
}

pub async fn emulator(pace: AudioPace, scenario: Option<Scenario>) -> EmulatorHandle {
    init_tracing();
    Emulator::start(EmulatorConfig {
        api_key: Some(API_KEY.to_owned()),
        audio_pace: pace,
        scenario,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

/// Server VAD with input transcription, like a typical voice agent.
pub fn voice_session() -> SessionConfig {
    let mut config = SessionConfig::default()
        .with_instructions("You are a test agent.")
        .with_turn_detection(Some(TurnDetection::server_vad()));
    config.audio_input_mut().transcription =
        voicewire::protocol::Nullable::Value(TranscriptionConfig {
            model: Some("gpt-4o-transcribe".into()),
            ..Default::default()
        });
    config
}

pub fn options(emulator: &EmulatorHandle) -> SessionOptions {
    SessionOptions::new(TokenSource::api_key(API_KEY))
        .endpoint(Endpoint::with_api_base(emulator.http_base()))
        .session_config(voice_session())
        .reconnect(ReconnectPolicy {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
            ..ReconnectPolicy::default()
        })
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/audio")
        .join(name)
}

/// Reads events until `pred` matches (returning everything read), failing on a timeout.
pub async fn events_until(
    session: &voicewire::RealtimeVoiceSession,
    mut pred: impl FnMut(&SessionEvent) -> bool,
) -> Vec<SessionEvent> {
    let mut seen = Vec::new();
    let result = tokio::time::timeout(HANG_GUARD, async {
        while let Some(event) = session.next_event().await {
            let done = pred(&event);
            seen.push(event);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        result,
        Ok(true),
        "event not seen; got {:#?}",
        seen.iter().map(short).collect::<Vec<_>>()
    );
    seen
}

/// A one-line description of an event, for assertion messages.
pub fn short(event: &SessionEvent) -> String {
    let text = format!("{event:?}");
    text.chars().take(160).collect()
}

/// Sample value of audio captured while muted (it must never reach the server).
pub const MUTED_SAMPLE: i16 = 3000;
/// Sample value of audio captured after unmuting.
pub const LIVE_SAMPLE: i16 = 1000;

/// The samples of every `input_audio_buffer.append` observed so far (without waiting).
pub fn appended_samples(
    observed: &mut tokio::sync::broadcast::Receiver<voicewire_server::Observed>,
) -> Vec<Vec<i16>> {
    let mut out = Vec::new();
    while let Ok(o) = observed.try_recv() {
        if let voicewire_server::ObservedKind::ClientEvent(e) = &o.kind
            && let voicewire::protocol::ClientEvent::InputAudioBufferAppend(a) = e.as_ref()
        {
            out.push(
                voicewire_server::audio::decode_base64(
                    &a.audio,
                    voicewire::protocol::AudioFormat::PCM16_24K,
                )
                .unwrap(),
            );
        }
    }
    out
}

/// With the session muted: captures [`MUTED_SAMPLE`] audio, waits until the driver has read
/// it (an audio-levels event that saw it), unmutes, then captures [`LIVE_SAMPLE`] audio like
/// a microphone until the server has received some. Asserts that no muted sample was ever
/// sent. No fixed sleeps: every wait is on an observable condition under [`HANG_GUARD`].
pub async fn assert_muted_audio_never_sent(
    session: &voicewire::RealtimeVoiceSession,
    device: &voicewire::audio::ManualDeviceHandle,
    observed: &mut tokio::sync::broadcast::Receiver<voicewire_server::Observed>,
) {
    assert!(session.is_muted());
    for _ in 0..50 {
        device.push_capture(&[MUTED_SAMPLE; 240]);
    }
    // The driver reads the capture ring before it reports levels in the same tick, so a
    // report that saw the muted audio means the driver has read it while muted.
    events_until(
        session,
        |e| matches!(e, SessionEvent::AudioLevels(l) if l.input_peak > 0.0),
    )
    .await;
    session.set_muted(false).unwrap();
    assert!(!session.is_muted());
    let mut sent: Vec<Vec<i16>> = Vec::new();
    let mut mic = tokio::time::interval(Duration::from_millis(10));
    let live = tokio::time::timeout(HANG_GUARD, async {
        loop {
            mic.tick().await;
            device.push_capture(&[LIVE_SAMPLE; 240]);
            sent.extend(appended_samples(observed));
            let live_chunks = sent
                .iter()
                .filter(|chunk| chunk.contains(&LIVE_SAMPLE))
                .count();
            if live_chunks >= 4 {
                return;
            }
        }
    })
    .await;
    assert!(live.is_ok(), "audio flows again after unmute");
    // Appends arrive in order on one connection: any muted audio would show up before these.
    assert!(
        sent.iter().all(|chunk| !chunk.contains(&MUTED_SAMPLE)),
        "audio captured while muted was sent"
    );
}

/// The `function_call_output` items the client sent, as `(call_id, output)`, sorted; waits
/// (under the hang guard) until `count` of them reached the server.
pub async fn wait_for_tool_outputs(
    observed: &mut tokio::sync::broadcast::Receiver<voicewire_server::Observed>,
    count: usize,
) -> Vec<(String, String)> {
    use voicewire::protocol::ClientEvent;
    let mut outputs = Vec::new();
    tokio::time::timeout(HANG_GUARD, async {
        while outputs.len() < count {
            let o = observed.recv().await.unwrap();
            if let voicewire_server::ObservedKind::ClientEvent(e) = &o.kind
                && let ClientEvent::ConversationItemCreate(c) = e.as_ref()
            {
                let item = serde_json::to_value(&c.item).unwrap();
                if item["type"] == "function_call_output" {
                    outputs.push((
                        item["call_id"].as_str().unwrap().to_owned(),
                        item["output"].as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
    })
    .await
    .expect("the tool outputs reached the server");
    outputs.sort();
    outputs
}

/// Waits for `Reconnecting`, then `Live` again.
pub async fn until_reconnected(session: &voicewire::RealtimeVoiceSession) {
    use voicewire::SessionState;
    events_until(session, |e| {
        matches!(
            e,
            SessionEvent::StateChanged(SessionState::Reconnecting { .. })
        )
    })
    .await;
    events_until(session, |e| {
        matches!(e, SessionEvent::StateChanged(SessionState::Live))
    })
    .await;
}

/// What a new connection sent: it must open with the `session.update` carrying the test
/// config ([`options`]); returns the conversation items it then created (replayed
/// history), each as JSON text.
pub fn config_then_items(sent: &[voicewire::protocol::ClientEvent]) -> Vec<String> {
    use voicewire::protocol::ClientEvent;
    let ClientEvent::SessionUpdate(update) = &sent[0] else {
        panic!("the new connection starts with {:?}", sent[0])
    };
    assert!(
        serde_json::to_string(&update.session)
            .unwrap()
            .contains("You are a test agent.")
    );
    sent.iter()
        .filter_map(|e| match e {
            ClientEvent::ConversationItemCreate(c) => Some(serde_json::to_string(&c.item).unwrap()),
            _ => None,
        })
        .collect()
}
