//! Interruption against the emulator: the truncation point is what the output device really
//! consumed, checked on the wire through the emulator's observer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{emulator, events_until, fixture, options};
use voicewire::audio::{AudioFormat, ManualDevice, ManualDeviceHandle, read_wav};
use voicewire::protocol::ClientEvent;
use voicewire::{InterruptCause, RealtimeVoiceSession, SessionEvent};
use voicewire_server::{AudioPace, EmulatorHandle, ObservedKind};

/// Pulls `ms` of playback in 10 ms device frames at once; returns the frames of real audio
/// consumed.
fn pull_playback(handle: &ManualDeviceHandle, ms: u32) -> u64 {
    let mut buf = vec![0i16; 240];
    let mut real = 0u64;
    for _ in 0..ms / 10 {
        real += handle.pull_playback(&mut buf) as u64;
    }
    real
}

/// Plays exactly `ms` of real audio like a device, waiting for the driver to move more
/// audio into the ring whenever it runs dry (no fixed sleeps: the wait ends on the condition).
async fn play_exactly(handle: &ManualDeviceHandle, ms: u64) -> u64 {
    let target = ms * 24;
    let mut buf = vec![0i16; 240];
    let mut real = 0u64;
    tokio::time::timeout(common::HANG_GUARD, async {
        while real < target {
            let want = usize::try_from((target - real).min(240)).unwrap();
            let got = handle.pull_playback(&mut buf[..want]) as u64;
            real += got;
            if got == 0 {
                // Let the driver's tick refill the ring.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    })
    .await
    .expect("the assistant audio reached the device");
    real * 1000 / 24_000
}

/// Client events already observed (without waiting).
fn drain_client_events(
    rx: &mut tokio::sync::broadcast::Receiver<voicewire_server::Observed>,
) -> Vec<ClientEvent> {
    let mut out = Vec::new();
    while let Ok(o) = rx.try_recv() {
        if let ObservedKind::ClientEvent(e) = &o.kind {
            out.push(e.as_ref().clone());
        }
    }
    out
}

async fn start_with_manual_device(
    emu: &EmulatorHandle,
) -> (RealtimeVoiceSession, ManualDeviceHandle) {
    let device = ManualDevice::duplex(AudioFormat::WIRE_PCM16_24K);
    let handle = device.handle();
    let session = RealtimeVoiceSession::new(options(emu).audio_device(Box::new(device)));
    session.start().await.unwrap();
    (session, handle)
}

/// Waits until the client has received at least `ms` of assistant audio.
async fn wait_for_received_audio(session: &RealtimeVoiceSession, ms: u64) {
    tokio::time::timeout(common::HANG_GUARD, async {
        while session.metrics().audio_ms_received < ms {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
}

/// Client events observed until `done` says enough arrived (under the hang guard).
async fn observe_client_events_until(
    rx: &mut tokio::sync::broadcast::Receiver<voicewire_server::Observed>,
    mut done: impl FnMut(&[ClientEvent]) -> bool,
) -> Vec<ClientEvent> {
    let mut seen = Vec::new();
    tokio::time::timeout(common::HANG_GUARD, async {
        while !done(&seen) {
            let o = rx.recv().await.unwrap();
            if let ObservedKind::ClientEvent(e) = &o.kind {
                seen.push(e.as_ref().clone());
            }
        }
    })
    .await
    .expect("the client events reached the emulator");
    seen
}

fn truncates(events: &[ClientEvent]) -> Vec<(String, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::ConversationItemTruncate(t) => Some((t.item_id.clone(), t.audio_end_ms)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn barge_in_after_the_whole_answer_arrived_truncates_at_what_the_device_played() {
    // Fast pace: the whole answer arrives long before it is played.
    let emu = emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let (session, device) = start_with_manual_device(&emu).await;
    session
        .send_text("tell me about the weather in Paris and in London today")
        .await
        .unwrap();
    events_until(&session, |e| matches!(e, SessionEvent::Usage(_))).await;
    wait_for_received_audio(&session, 1000).await;

    let played_ms = play_exactly(&device, 700).await;
    assert_eq!(played_ms, 700, "the device consumed real audio");

    // The user speaks: real speech into the microphone, paced like a microphone.
    let (format, speech) = read_wav(&fixture("speech_stop_24k.wav")).unwrap();
    assert_eq!(format.sample_rate, 24_000);
    let pushing = {
        let device = device.clone();
        tokio::spawn(async move {
            let silence = vec![0i16; 240 * 100];
            for chunk in speech.chunks(240).chain(silence.chunks(240)) {
                device.push_capture(chunk);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let events = events_until(&session, |e| matches!(e, SessionEvent::Interrupted { .. })).await;
    let Some(SessionEvent::Interrupted {
        cause,
        item_id,
        played_ms: reported,
    }) = events.last()
    else {
        panic!()
    };
    assert_eq!(*cause, InterruptCause::UserSpeech);
    let reported = reported.expect("played ms known on WebSocket");
    assert!(
        reported.abs_diff(played_ms) <= 10,
        "truncated at {reported} ms, device played {played_ms} ms"
    );

    // The emulator received exactly that truncate.
    let mut seen =
        observe_client_events_until(&mut observed, |events| !truncates(events).is_empty()).await;
    seen.extend(drain_client_events(&mut observed));
    assert_eq!(truncates(&seen), vec![(item_id.clone().unwrap(), reported)]);
    // No audio of the cut answer is played after the flush.
    assert_eq!(pull_playback(&device, 200), 0, "playback stopped at once");
    pushing.abort();
    session.stop().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn manual_interrupt_mid_stream_cancels_and_truncates_at_what_was_played() {
    let emu = emulator(AudioPace::RealTime, None).await;
    let mut observed = emu.observe();
    let (session, device) = start_with_manual_device(&emu).await;
    session
        .send_text("tell me about the weather in Paris and in London today")
        .await
        .unwrap();
    events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantAudioStarted { .. })
    })
    .await;
    let played_ms = play_exactly(&device, 300).await;
    session.interrupt().await.unwrap();
    let events = events_until(&session, |e| matches!(e, SessionEvent::Interrupted { .. })).await;
    let Some(SessionEvent::Interrupted {
        cause,
        played_ms: Some(reported),
        ..
    }) = events.last()
    else {
        panic!()
    };
    assert_eq!(*cause, InterruptCause::Manual);
    assert!(
        reported.abs_diff(played_ms) <= 10,
        "truncated at {reported}, played {played_ms}"
    );
    let mut seen = observe_client_events_until(&mut observed, |events| {
        !truncates(events).is_empty()
            && events
                .iter()
                .any(|e| matches!(e, ClientEvent::ResponseCancel(_)))
    })
    .await;
    seen.extend(drain_client_events(&mut observed));
    let saw_cancel = seen
        .iter()
        .any(|e| matches!(e, ClientEvent::ResponseCancel(_)));
    let truncates: Vec<u64> = truncates(&seen).into_iter().map(|(_, ms)| ms).collect();
    assert!(saw_cancel, "a manual interrupt cancels the response");
    assert_eq!(truncates, vec![*reported]);
    session.stop().await.unwrap();
    emu.shutdown().await;
}
