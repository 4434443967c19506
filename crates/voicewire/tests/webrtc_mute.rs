//! Mute over WebRTC, against the emulator on loopback: while muted no audio reaches the
//! server's media track at all (the transport sends no RTP), and unmuting resumes it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{events_until, fixture, options};
use voicewire::audio::{AudioFormat, ManualDevice, ManualDeviceHandle, read_wav};
use voicewire::{RealtimeVoiceSession, SessionEvent, Transport};
use voicewire_server::{AudioPace, ObservedKind};

/// Plays `samples` into the device like a microphone would: 20 ms every 20 ms (pacing
/// the input, never waiting on the session). Returns the samples the device accepted.
async fn speak(device: &ManualDeviceHandle, samples: &[i16]) -> usize {
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let mut accepted = 0;
    for chunk in samples.chunks(480) {
        ticker.tick().await;
        accepted += device.push_capture(chunk);
    }
    accepted
}

/// Waits until every command sent before it has been handled by the session's driver:
/// commands are handled in order, and releasing push-to-talk when not talking is a no-op
/// that still answers.
async fn commands_handled(session: &RealtimeVoiceSession) {
    tokio::time::timeout(common::HANG_GUARD, session.stop_talking())
        .await
        .expect("the driver answers")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn muted_audio_never_reaches_the_server_and_unmuting_resumes_it() {
    let emu = common::emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let (format, speech) = read_wav(&fixture("speech_weather_padded_24k.wav")).unwrap();
    assert_eq!((format.sample_rate, format.channels), (24_000, 1));
    let device = ManualDevice::duplex(AudioFormat::WIRE_PCM16_24K);
    let mic = device.handle();
    let session = RealtimeVoiceSession::new(
        options(&emu)
            .transport(Transport::WebRtc)
            .audio_device(Box::new(device)),
    );
    session.start().await.unwrap();
    let server_session = emu.sessions()[0].id.clone();

    // Muted: a whole utterance goes into the microphone and none of it may leave.
    session.set_muted(true).unwrap();
    commands_handled(&session).await;
    assert!(session.is_muted());
    let muted = speak(&mic, &speech).await;
    assert!(muted > 24_000, "the device took the muted speech ({muted})");

    // Unmuted: the same utterance again reaches the server, which hears the speech.
    session.set_muted(false).unwrap();
    commands_handled(&session).await;
    let unmuted = speak(&mic, &speech).await;
    let events = events_until(&session, |e| {
        matches!(e, SessionEvent::UserSpeechStopped { .. })
    })
    .await;
    let starts = events
        .iter()
        .filter(|e| matches!(e, SessionEvent::UserSpeechStarted { .. }))
        .count();
    assert_eq!(starts, 1, "one utterance heard");

    // Count what the server decoded from the track over the whole call.
    session.stop().await.unwrap();
    let decoded = tokio::time::timeout(common::HANG_GUARD, async {
        let mut decoded = 0usize;
        loop {
            let o = observed.recv().await.unwrap();
            if o.session_id != server_session {
                continue;
            }
            match o.kind {
                ObservedKind::MediaInputAudio { samples } => decoded += samples,
                ObservedKind::ConnectionClosed { .. } => return decoded,
                _ => {}
            }
        }
    })
    .await
    .expect("the call ends");
    // Only the unmuted utterance crossed (a packet or two may be lost on the way, or cut
    // by the close, but nothing from the muted one was sent).
    assert!(
        decoded <= unmuted,
        "the server decoded {decoded} samples but only {unmuted} were spoken unmuted \
         ({muted} were spoken muted)"
    );
    assert!(
        decoded >= unmuted / 2,
        "unmuting resumed the audio ({decoded} of {unmuted} samples decoded)"
    );
    emu.shutdown().await;
}
