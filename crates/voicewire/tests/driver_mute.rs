//! `set_muted` takes effect even when the command queue is full.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{emulator, options};
use voicewire::RealtimeVoiceSession;
use voicewire::audio::{AudioFormat, ManualDevice};
use voicewire_server::AudioPace;

/// Capacity of the command queue (`driver::COMMAND_CAPACITY`).
const COMMAND_CAPACITY: usize = 64;

// A current-thread runtime: the driver cannot run while this test fills the queue without
// awaiting, so the queue really is full when `set_muted(true)` is called.
#[tokio::test(flavor = "current_thread")]
async fn mute_on_a_full_command_queue_still_mutes() {
    let emu = emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let device = ManualDevice::duplex(AudioFormat::WIRE_PCM16_24K);
    let handle = device.handle();
    let session = RealtimeVoiceSession::new(options(&emu).audio_device(Box::new(device)));
    session.start().await.unwrap();
    for _ in 0..COMMAND_CAPACITY + 8 {
        session.set_muted(false).unwrap();
    }
    // The queue is full now; the mute must neither fail nor be lost.
    session.set_muted(true).unwrap();
    common::assert_muted_audio_never_sent(&session, &handle, &mut observed).await;
    session.stop().await.unwrap();
    emu.shutdown().await;
}
