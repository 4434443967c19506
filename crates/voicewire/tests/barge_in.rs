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

/// Pulls `ms` of playback in 10 ms device frames; returns the frames of real audio consumed.
fn pull_playback(handle: &ManualDeviceHandle, ms: u32) -> u64 {
    let mut buf = vec![0i16; 240];
    let mut real = 0u64;
    for _ in 0..ms / 10 {
        real += handle.pull_playback(&mut buf) as u64;
    }
    real
}

/// The `audio_end_ms` of every truncate the emulator received.
fn observed_truncates(
    rx: &mut tokio::sync::broadcast::Receiver<voicewire_server::Observed>,
) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    while let Ok(o) = rx.try_recv() {
        if let ObservedKind::ClientEvent(e) = &o.kind
            && let ClientEvent::ConversationItemTruncate(t) = e.as_ref()
        {
            out.push((t.item_id.clone(), t.audio_end_ms));
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

/// Waits until the playout buffer holds at least `ms` of audio for the device to pull
/// (the driver moves audio into the device ring on its 10 ms tick).
async fn wait_for_buffered_audio(session: &RealtimeVoiceSession, ms: u64) {
    tokio::time::timeout(common::HANG_GUARD, async {
        while session.metrics().audio_ms_received < ms {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // One more driver tick so the ring is filled.
        tokio::time::sleep(Duration::from_millis(50)).await;
    })
    .await
    .unwrap();
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
    wait_for_buffered_audio(&session, 1000).await;

    let played_frames = pull_playback(&device, 700);
    let played_ms = played_frames * 1000 / 24_000;
    assert!(
        played_ms >= 600,
        "the device consumed real audio ({played_ms} ms)"
    );

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
    tokio::time::sleep(Duration::from_millis(100)).await;
    let truncates = observed_truncates(&mut observed);
    assert_eq!(truncates, vec![(item_id.clone().unwrap(), reported)]);
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
    wait_for_buffered_audio(&session, 400).await;
    let played_ms = pull_playback(&device, 300) * 1000 / 24_000;
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
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut saw_cancel = false;
    let mut truncates = Vec::new();
    while let Ok(o) = observed.try_recv() {
        if let ObservedKind::ClientEvent(e) = &o.kind {
            match e.as_ref() {
                ClientEvent::ResponseCancel(_) => saw_cancel = true,
                ClientEvent::ConversationItemTruncate(t) => truncates.push(t.audio_end_ms),
                _ => {}
            }
        }
    }
    assert!(saw_cancel, "a manual interrupt cancels the response");
    assert_eq!(truncates, vec![*reported]);
    session.stop().await.unwrap();
    emu.shutdown().await;
}
