//! Every device except real hardware: NullDevice, ManualDevice, FileDevice (both paces), and
//! the cpal device's listing (tolerating machines with no sound card).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use voicewire_audio::*;

/// Polls `cond` until it holds; the generous timeout only prevents a hang.
fn wait_until(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "condition not reached within 20 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn null_device_consumes_playback_at_device_pace_and_captures_silence() {
    let mut device = NullDevice::new(AudioFormat::new(16_000, 1));
    let mut pipeline = AudioPipeline::start(&mut device, PipelineConfig::default()).unwrap();
    assert!(device.is_running());
    pipeline.play("a", &vec![3_000; 2_400]).unwrap(); // 100 ms
    pipeline.finish_item("a").unwrap();
    wait_until(|| pipeline.played_ms("a") == Some(100));
    wait_until(|| pipeline.playback_state() == PlaybackState::Idle);
    let mut captured = Vec::new();
    wait_until(|| {
        pipeline.read_capture(&mut captured).unwrap();
        captured.len() >= 2_400
    });
    assert!(captured.iter().all(|&s| s == 0));
    assert!(matches!(
        device.start(DeviceIo {
            capture: None,
            playout: None
        }),
        Err(AudioError::DeviceState { .. })
    ));
    device.stop().unwrap();
    assert!(!device.is_running());
    device.stop().unwrap();
}

#[test]
fn manual_device_push_and_pull() {
    let mut device = ManualDevice::duplex(AudioFormat::new(48_000, 2));
    let handle = device.handle();
    let mut out = vec![1i16; 960];
    assert_eq!(handle.pull_playback(&mut out), 0, "not started: silence");
    assert!(out.iter().all(|&s| s == 0));
    assert_eq!(
        handle.push_capture(&[0i16; 960]),
        0,
        "not started: nothing accepted"
    );

    let mut pipeline = AudioPipeline::start(&mut device, PipelineConfig::default()).unwrap();
    assert!(handle.is_running());

    // Capture: 100 ms of a 440 Hz stereo sine pushed by the app arrives as 24 kHz mono.
    let sine = sine_i16(48_000, 2, 440.0, 0.5, 4_800);
    let frame = AudioFrame::from_pcm16(AudioFormat::new(48_000, 2), sine).unwrap();
    assert_eq!(handle.push_capture_frame(&frame).unwrap(), 4_800);
    let wrong = AudioFrame::silence(AudioFormat::new(16_000, 1), 10).unwrap();
    assert!(matches!(
        handle.push_capture_frame(&wrong),
        Err(AudioError::FormatMismatch { .. })
    ));
    let mut captured = Vec::new();
    pipeline.read_capture(&mut captured).unwrap();
    assert!(captured.len() >= 2_000, "got {}", captured.len());
    assert!(
        pipeline.levels().input.rms > 0.5,
        "input meter moved: {:?}",
        pipeline.levels()
    );

    // Playback: the app pulls what the pipeline queued, at 48 kHz stereo.
    pipeline.play("reply", &vec![8_000i16; 2_400]).unwrap();
    pipeline.finish_item("reply").unwrap();
    let mut pulled = 0;
    let mut buf = vec![0.0f32; 960];
    for _ in 0..20 {
        pulled += handle.pull_playback(&mut buf);
    }
    assert_eq!(pulled, 4_800);
    assert_eq!(pipeline.played_ms("reply"), Some(100));
    assert!(pipeline.levels().output.peak > 0.0);

    device.stop().unwrap();
    assert_eq!(handle.pull_playback(&mut buf), 0);
}

#[test]
fn file_device_stepped_is_deterministic() {
    let run = || {
        let mut device = FileDevice::new(FilePace::Stepped)
            .with_input_wav(fixture("speech_shopping_16k.wav"))
            .unwrap()
            .after_input(AfterInput::Stop)
            .with_playback(AudioFormat::new(44_100, 2));
        let stepper = device.stepper();
        let mut pipeline = AudioPipeline::start(&mut device, PipelineConfig::default()).unwrap();
        let mut captured = Vec::new();
        let mut played_trace = Vec::new();
        pipeline.play("x", &vec![500i16; 12_000]).unwrap();
        while !stepper.input_done() {
            stepper.step(Duration::from_millis(30));
            pipeline.read_capture(&mut captured).unwrap();
            played_trace.push(pipeline.played_ms("x").unwrap());
        }
        stepper.step(Duration::from_millis(200));
        pipeline.read_capture(&mut captured).unwrap();
        device.stop().unwrap();
        assert_eq!(
            stepper.step(Duration::from_millis(10)),
            0,
            "stopped device does not step"
        );
        (captured, played_trace)
    };
    let (a, trace_a) = run();
    let (b, trace_b) = run();
    assert_eq!(a, b);
    assert_eq!(trace_a, trace_b);
    let (_, input) = read_wav(&fixture("speech_shopping_16k.wav")).unwrap();
    // 16 kHz -> 24 kHz: 1.5x the samples (within the last partial chunk).
    let expected = input.len() * 3 / 2;
    assert!(
        a.len() + 480 >= expected && a.len() <= expected + 480,
        "{} vs {expected}",
        a.len()
    );
    assert_eq!(trace_a[0], 30, "30 ms played after the first 30 ms step");
}

#[test]
fn file_device_real_time_pace_plays_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("rt.wav");
    let mut device = FileDevice::new(FilePace::RealTime)
        .with_input_wav(fixture("speech_stop_24k.wav"))
        .unwrap()
        .with_output_wav(&out_path, AudioFormat::WIRE_PCM16_24K);
    let mut pipeline = AudioPipeline::start(&mut device, PipelineConfig::default()).unwrap();
    pipeline.play("a", &vec![4_000i16; 4_800]).unwrap(); // 200 ms
    pipeline.finish_item("a").unwrap();
    let mut captured = Vec::new();
    wait_until(|| {
        pipeline.pump();
        pipeline.read_capture(&mut captured).unwrap();
        device.input_done() && pipeline.played_ms("a") == Some(200)
    });
    device.stop().unwrap();
    let (_, input) = read_wav(&fixture("speech_stop_24k.wav")).unwrap();
    pipeline.read_capture(&mut captured).unwrap();
    assert_eq!(&captured[..input.len()], &input[..]);
    let (_, played) = read_wav(&out_path).unwrap();
    assert_eq!(played.iter().filter(|&&s| s == 4_000).count(), 4_800);
}

#[cfg(feature = "desktop")]
#[test]
fn desktop_device_listing_tolerates_no_hardware() {
    use voicewire_audio::device::desktop::{DesktopDevice, list_devices};
    // CI machines usually have no sound card: listing must work and may be empty.
    let devices = list_devices().unwrap();
    for d in &devices {
        assert!(!d.name.is_empty());
    }
    match DesktopDevice::open_default() {
        Ok(device) => {
            assert!(device.capture_format().is_some() || device.playback_format().is_some());
        }
        Err(AudioError::Device { .. }) => {}
        Err(other) => panic!("unexpected error {other}"),
    }
}

// ALSA's "null" PCM discards playback and records zeros: real cpal streams and real
// callbacks with no sound card. Every Linux host with libasound2 (scripts/test.sh installs it)
// has it, so its absence is a failure, not a skip.
#[cfg(all(feature = "desktop", target_os = "linux"))]
#[test]
fn desktop_device_runs_real_cpal_streams_on_the_alsa_null_device() {
    use voicewire_audio::device::desktop::{DesktopDevice, list_devices};
    let devices = list_devices().unwrap();
    assert!(
        devices.iter().any(|d| d.id == "alsa:null"),
        "ALSA's null PCM is missing (is libasound2 installed?): {devices:?}"
    );
    let mut device = DesktopDevice::open(Some("null"), Some("alsa:null")).unwrap();
    let capture = device.capture_format().unwrap();
    let playback = device.playback_format().unwrap();
    assert!(capture.validate().is_ok() && playback.validate().is_ok());
    let mut pipeline = AudioPipeline::start(&mut device, PipelineConfig::default()).unwrap();
    assert!(device.is_running());
    pipeline.play("a", &vec![2_000i16; 7_200]).unwrap(); // 300 ms
    pipeline.finish_item("a").unwrap();
    let mut captured = Vec::new();
    wait_until(|| {
        pipeline.pump();
        pipeline.read_capture(&mut captured).unwrap();
        pipeline.played_ms("a") == Some(300) && captured.len() >= 2_400
    });
    assert!(
        captured.iter().all(|&s| s == 0),
        "the null device records silence"
    );
    assert_eq!(pipeline.playback_state(), PlaybackState::Idle);
    device.stop().unwrap();
    assert!(!device.is_running());
    assert!(DesktopDevice::open(Some("no-such-device"), None).is_err());
}
