//! Mute, push-to-talk, pushed audio, config updates and recycling, against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{emulator, events_until, fixture, options, voice_session};
use voicewire::audio::{AudioFormat, AudioFrame, ManualDevice, read_wav};
use voicewire::protocol::ClientEvent;
use voicewire::{RealtimeVoiceSession, ReconnectPolicy, SessionConfig, SessionEvent, SessionState};
use voicewire_server::{AudioPace, EmulatorConfig, Observed, ObservedKind};

fn drain_client_events(rx: &mut tokio::sync::broadcast::Receiver<Observed>) -> Vec<ClientEvent> {
    let mut out = Vec::new();
    while let Ok(o) = rx.try_recv() {
        if let ObservedKind::ClientEvent(e) = &o.kind {
            out.push(e.as_ref().clone());
        }
    }
    out
}

fn appends(events: &[ClientEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, ClientEvent::InputAudioBufferAppend(_)))
        .count()
}

/// Pushes a WAV file as 10 ms frames in its own format, paced like a microphone.
async fn push_wav(session: &RealtimeVoiceSession, name: &str) {
    let (format, samples) = read_wav(&fixture(name)).unwrap();
    let frame_len = format.samples_for_ms(10);
    for chunk in samples.chunks(frame_len) {
        if chunk.len() == frame_len {
            session
                .push_audio(AudioFrame::from_pcm16(format, chunk.to_vec()).unwrap())
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn pushed_audio_at_any_rate_reaches_the_server_and_gets_an_answer() {
    let emu = emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let session = RealtimeVoiceSession::new(options(&emu));
    session.start().await.unwrap();
    // 44.1 kHz stereo speech followed by silence so the server's VAD ends the turn.
    push_wav(&session, "speech_weather_44k1_stereo.wav").await;
    let silence = AudioFrame::from_pcm16(AudioFormat::new(44_100, 2), vec![0; 882]).unwrap();
    for _ in 0..150 {
        session.push_audio(silence.clone()).unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let events = events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { .. })
    })
    .await;
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
    let sent = drain_client_events(&mut observed);
    assert!(
        appends(&sent) > 50,
        "audio went out in chunks ({} appends)",
        appends(&sent)
    );
    let m = session.metrics();
    // ~2.3 s of speech + 1.5 s of silence, resampled to 24 kHz.
    assert!(m.audio_ms_sent > 3000, "{m:?}");
    session.stop().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn muted_input_is_never_sent() {
    let emu = emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let device = ManualDevice::duplex(AudioFormat::WIRE_PCM16_24K);
    let handle = device.handle();
    let session = RealtimeVoiceSession::new(options(&emu).audio_device(Box::new(device)));
    session.start().await.unwrap();
    session.set_muted(true).unwrap();
    common::assert_muted_audio_never_sent(&session, &handle, &mut observed).await;
    session.stop().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn push_to_talk_commits_on_release_and_gets_an_answer() {
    let emu = emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let session = RealtimeVoiceSession::new(
        options(&emu).session_config(voice_session().with_turn_detection(None)),
    );
    session.start().await.unwrap();
    session.start_talking().await.unwrap();
    push_wav(&session, "speech_shopping_16k.wav").await;
    // Pushed audio and commands travel on separate queues: release only once the driver has
    // sent (nearly) all of the speech, so the commit covers it.
    let (format, samples) = read_wav(&fixture("speech_shopping_16k.wav")).unwrap();
    let speech_ms = (samples.len() / usize::from(format.channels)) as u64 * 1000
        / u64::from(format.sample_rate);
    tokio::time::timeout(common::HANG_GUARD, async {
        while session.metrics().audio_ms_sent + 100 < speech_ms {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the pushed speech went out");
    session.stop_talking().await.unwrap();
    let events = events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { .. })
    })
    .await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, SessionEvent::UserSpeechStarted { .. })),
        "no server VAD"
    );
    let sent = drain_client_events(&mut observed);
    let kinds: Vec<&str> = sent
        .iter()
        .filter(|e| !matches!(e, ClientEvent::InputAudioBufferAppend(_)))
        .map(|e| e.event_type(voicewire::protocol::Dialect::Ga))
        .collect();
    assert_eq!(
        kinds,
        vec![
            "session.update",
            "input_audio_buffer.clear",
            "input_audio_buffer.commit",
            "response.create"
        ]
    );
    assert!(appends(&sent) > 20);
    session.stop().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn update_config_mid_session_is_sent_and_kept_live() {
    let emu = emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let session = RealtimeVoiceSession::new(options(&emu));
    session.start().await.unwrap();
    session
        .update_config(SessionConfig::default().with_instructions("Answer in French."))
        .await
        .unwrap();
    // Wait for the second session.update to reach the emulator (no fixed sleep).
    let mut sent = Vec::new();
    tokio::time::timeout(common::HANG_GUARD, async {
        while sent
            .iter()
            .filter(|e| matches!(e, ClientEvent::SessionUpdate(_)))
            .count()
            < 2
        {
            let o = observed.recv().await.unwrap();
            if let ObservedKind::ClientEvent(e) = &o.kind {
                sent.push(e.as_ref().clone());
            }
        }
    })
    .await
    .expect("the update reached the emulator");
    sent.extend(drain_client_events(&mut observed));
    let updates: Vec<String> = sent
        .iter()
        .filter_map(|e| match e {
            ClientEvent::SessionUpdate(u) => Some(serde_json::to_string(&u.session).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(updates.len(), 2);
    assert!(updates[1].contains("Answer in French."));
    assert_eq!(session.state(), SessionState::Live);
    session.stop().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn the_connection_is_recycled_before_the_server_limit() {
    let emu = emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let opts = options(&emu).reconnect(ReconnectPolicy {
        recycle_after: Some(Duration::from_millis(300)),
        initial_delay: Duration::from_millis(20),
        ..ReconnectPolicy::default()
    });
    let session = RealtimeVoiceSession::new(opts);
    session.start().await.unwrap();
    session.send_text("before the recycle").await.unwrap();
    events_until(&session, |e| {
        matches!(
            e,
            SessionEvent::StateChanged(SessionState::Reconnecting { attempt: 0 })
        )
    })
    .await;
    events_until(&session, |e| {
        matches!(e, SessionEvent::StateChanged(SessionState::Live))
    })
    .await;
    session.stop().await.unwrap();
    let mut opened = 0;
    while let Ok(o) = observed.try_recv() {
        if matches!(o.kind, ObservedKind::ConnectionOpened { .. }) {
            opened += 1;
        }
    }
    assert!(opened >= 2, "a new connection was opened ({opened})");
    assert!(session.metrics().reconnects >= 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn session_expiry_from_the_server_reconnects() {
    common::init_tracing();
    let emu = voicewire_server::Emulator::start(EmulatorConfig {
        api_key: Some(common::API_KEY.into()),
        audio_pace: AudioPace::Fast,
        max_session_duration: Some(Duration::from_millis(400)),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let session = RealtimeVoiceSession::new(options(&emu));
    session.start().await.unwrap();
    let events = events_until(&session, |e| {
        matches!(
            e,
            SessionEvent::StateChanged(SessionState::Reconnecting { .. })
        )
    })
    .await;
    assert!(events.iter().any(|e| matches!(e, SessionEvent::Error { code: Some(c), recoverable: true, .. } if c == "session_expired")));
    events_until(&session, |e| {
        matches!(e, SessionEvent::StateChanged(SessionState::Live))
    })
    .await;
    session.stop().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn a_huge_connect_timeout_is_no_timeout_not_a_panic() {
    // An app (or a binding passing Long.MAX_VALUE) may ask for an effectively unbounded
    // connect timeout: the driver's timer must not overflow.
    let emu = emulator(AudioPace::Fast, None).await;
    let opts = options(&emu).reconnect(ReconnectPolicy {
        connect_timeout: Duration::MAX,
        recycle_after: Some(Duration::MAX),
        ..ReconnectPolicy::default()
    });
    let session = RealtimeVoiceSession::new(opts);
    session.start().await.unwrap();
    assert_eq!(session.state(), SessionState::Live);
    session.send_text("still alive").await.unwrap();
    events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { .. })
    })
    .await;
    session.stop().await.unwrap();
    emu.shutdown().await;
}
