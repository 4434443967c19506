//! Software echo cancellation (feature `aec`) measured on a synthetic echo: echo return loss
//! enhancement (ERLE) after convergence, standalone and through the whole pipeline.
#![cfg(feature = "aec")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use voicewire_audio::*;

/// A small room: 30 ms acoustic delay, a few decaying reflections, -6 dB overall.
fn room_echo(played: &[f32], n: usize, rate: usize) -> f32 {
    let delay = 30 * rate / 1000;
    [
        (0usize, 0.5f32),
        (37, 0.25),
        (113, 0.12),
        (257, 0.06),
        (611, 0.03),
    ]
    .iter()
    .map(|&(k, g)| {
        if n >= delay + k {
            g * played[n - delay - k]
        } else {
            0.0
        }
    })
    .sum()
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64
}

fn far_end_speech(rate_from_fixture: &str, seconds: usize, rate: usize) -> Vec<f32> {
    let (_, speech) = read_wav(&fixture(rate_from_fixture)).unwrap();
    let mut far = Vec::new();
    while far.len() < seconds * rate {
        far.extend(speech.iter().map(|&s| convert::i16_to_f32(s)));
        far.extend(std::iter::repeat_n(0.0, rate * 3 / 10));
    }
    far.truncate(seconds * rate);
    far
}

#[test]
fn aec3_removes_synthetic_echo() {
    let rate = 48_000;
    let far = far_end_speech("speech_weather_48k.wav", 9, rate);
    let mic: Vec<f32> = (0..far.len()).map(|n| room_echo(&far, n, rate)).collect();
    let mut aec = EchoCanceller::new(48_000).unwrap();
    let mut cleaned = Vec::new();
    // Device-like pacing: 10 ms of far end, then 10 ms of microphone.
    for (f, m) in far.chunks(480).zip(mic.chunks(480)) {
        aec.push_render(f);
        aec.process_capture(m, &mut cleaned).unwrap();
    }
    assert_eq!(cleaned.len(), mic.len());
    let (a, b) = (3 * rate, 9 * rate);
    let erle = 10.0 * (energy(&mic[a..b]) / energy(&cleaned[a..b]).max(1e-15)).log10();
    println!(
        "standalone ERLE over 3-9 s: {erle:.1} dB (AEC3 estimate {:.1} dB)",
        aec.erle_db()
    );
    // Measured 41 dB with a release build of the same setup; require a conservative 25 dB.
    assert!(erle > 25.0, "ERLE {erle:.1} dB");
    assert!(EchoCanceller::new(44_100).is_err());
}

#[test]
fn pipeline_cancels_the_echo_of_what_it_played() {
    // A 48 kHz mono "desktop" driven through the ManualDevice: each 10 ms the test pulls
    // what the speaker plays, runs it through the room, and pushes it as the microphone.
    let rate = 48_000;
    let format = AudioFormat::mono(rate as u32);
    let mut device = ManualDevice::duplex(format);
    let handle = device.handle();
    let mut pipeline =
        AudioPipeline::start_with_echo_cancellation(&mut device, PipelineConfig::default())
            .unwrap();
    let far = far_end_speech("speech_weather_24k.wav", 9, 24_000);
    let far_i16: Vec<i16> = far.iter().map(|&s| convert::f32_to_i16(s)).collect();
    pipeline.play("assistant", &far_i16).unwrap();
    pipeline.finish_item("assistant").unwrap();

    // The user talks over the assistant from 6.5 s to 8.5 s (reversed speech, so it differs
    // from the far end); that must survive the canceller.
    let (_, user) = read_wav(&fixture("speech_weather_48k.wav")).unwrap();
    let near = |n: usize| -> f32 {
        if (6 * rate + rate / 2..8 * rate + rate / 2).contains(&n) {
            0.4 * convert::i16_to_f32(user[user.len() - 1 - (n - 6 * rate - rate / 2) % user.len()])
        } else {
            0.0
        }
    };
    let mut near_all: Vec<f32> = Vec::new();
    let mut played: Vec<f32> = Vec::new();
    let mut mic_all: Vec<f32> = Vec::new();
    let mut wire: Vec<i16> = Vec::new();
    let mut block = vec![0.0f32; 480];
    for _ in 0..900 {
        handle.pull_playback(&mut block);
        let start = played.len();
        played.extend_from_slice(&block);
        let mic: Vec<f32> = (start..played.len())
            .map(|n| room_echo(&played, n, rate) + near(n))
            .collect();
        near_all.extend((start..played.len()).map(near));
        mic_all.extend_from_slice(&mic);
        assert_eq!(handle.push_capture(&mic), 480);
        pipeline.pump();
        pipeline.read_capture(&mut wire).unwrap();
    }
    assert_eq!(pipeline.played_ms("assistant"), Some(9_000));
    // Compare mean power over seconds 3..6, echo only (wire output is 24 kHz, mic 48 kHz).
    let mic_power = energy(&mic_all[3 * rate..6 * rate]);
    let wire_f32: Vec<f32> = wire.iter().map(|&s| convert::i16_to_f32(s)).collect();
    assert!(
        wire_f32.len() >= 9 * 24_000 - 2_000,
        "wire samples {}",
        wire_f32.len()
    );
    let out_power = energy(&wire_f32[3 * 24_000..6 * 24_000]);
    let erle = 10.0 * (mic_power / out_power.max(1e-15)).log10();
    // Double talk: the user's speech keeps most of its power.
    let near_power = energy(&near_all[6 * rate + rate / 2..8 * rate + rate / 2]);
    let out_dt = energy(&wire_f32[6 * 24_000 + 12_000..8 * 24_000 + 12_000]);
    let kept = 10.0 * (out_dt / near_power).log10();
    println!(
        "pipeline ERLE over 3-6 s: {erle:.1} dB; near-end kept during double talk: {kept:.1} dB"
    );
    assert!(kept > -10.0, "near-end speech suppressed by {kept:.1} dB");
    assert!(erle > 20.0, "pipeline ERLE {erle:.1} dB");
    assert!(pipeline.echo_erle_db().is_some());
    device.stop().unwrap();
}
