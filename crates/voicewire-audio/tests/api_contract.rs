//! The thread-safety contract the engine and platform crates rely on, checked at compile
//! time, plus the wire-format guards of the pipeline facade.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use voicewire_audio::*;

fn send<T: Send>() {}
fn send_sync<T: Send + Sync>() {}

#[test]
fn handles_cross_threads() {
    send::<AudioPipeline>();
    send::<DeviceIo>();
    send::<CaptureSink>();
    send::<PlayoutSource>();
    send::<OpusEncoder>();
    send::<OpusDecoder>();
    send::<FileDevice>();
    send::<NullDevice>();
    send::<ManualDevice>();
    send::<Box<dyn AudioDevice>>();
    send_sync::<ManualDeviceHandle>();
    send_sync::<FileDeviceStepper>();
    send_sync::<LevelReader>();
    send_sync::<AudioFrame>();
    #[cfg(feature = "desktop")]
    send::<DesktopDevice>();
    #[cfg(feature = "aec")]
    send::<EchoCanceller>();
}

#[test]
fn pipeline_checks_wire_format_of_frames() {
    let (mut pipeline, io) = AudioPipeline::new(
        PipelineConfig::default(),
        Some(AudioFormat::mono(24_000)),
        Some(AudioFormat::mono(24_000)),
    )
    .unwrap();
    let wrong = AudioFrame::silence(AudioFormat::OPUS_48K, 20).unwrap();
    assert!(matches!(
        pipeline.play_frame("a", &wrong),
        Err(AudioError::FormatMismatch { .. })
    ));
    assert_eq!(
        pipeline.played_ms("a"),
        None,
        "nothing queued for a rejected frame"
    );
    let right = AudioFrame::from_pcm16(AudioFormat::WIRE_PCM16_24K, vec![100; 480]).unwrap();
    assert_eq!(pipeline.play_frame("a", &right).unwrap(), 480);
    let mut capture = io.capture.unwrap();
    capture.push(&[7i16; 240]);
    let frame = pipeline.read_capture_frame().unwrap();
    assert_eq!(frame.format(), AudioFormat::WIRE_PCM16_24K);
    assert_eq!(frame.pcm16(), &[7i16; 240][..]);
    // Stereo wire formats are refused up front.
    assert!(
        AudioPipeline::new(
            PipelineConfig::with_wire(AudioFormat::new(24_000, 2)),
            None,
            None
        )
        .is_err()
    );
    // No playback direction: play is a typed error, flush and queries are harmless.
    let (mut capture_only, _) = AudioPipeline::new(
        PipelineConfig::default(),
        Some(AudioFormat::mono(16_000)),
        None,
    )
    .unwrap();
    assert!(matches!(
        capture_only.play("x", &[1, 2, 3]),
        Err(AudioError::DeviceState { .. })
    ));
    assert_eq!(capture_only.flush(), FlushReport::default());
    assert_eq!(capture_only.playback_state(), PlaybackState::Idle);
}

#[test]
fn overflow_keeps_what_fits_and_says_so() {
    let config = PipelineConfig {
        playout: PlayoutConfig {
            ring_ms: 100,
            max_buffered_ms: 500,
            item_history: 8,
        },
        ..PipelineConfig::default()
    };
    let (mut pipeline, _io) =
        AudioPipeline::new(config, None, Some(AudioFormat::mono(24_000))).unwrap();
    let err = pipeline.play("big", &vec![1i16; 24_000]).unwrap_err();
    match err {
        AudioError::PlayoutOverflow {
            accepted,
            offered,
            cap_ms,
        } => {
            assert_eq!((accepted, offered, cap_ms), (12_000, 24_000, 500));
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(pipeline.item_playout("big").unwrap().received_ms, 500);
    assert_eq!(pipeline.stats().buffered_ms, 500);
}

#[test]
fn played_ms_is_exact_for_both_wire_rates_and_any_device_rate() {
    for (wire, device) in [
        (AudioFormat::OPUS_48K, AudioFormat::new(44_100, 2)),
        (AudioFormat::OPUS_48K, AudioFormat::mono(16_000)),
        (AudioFormat::WIRE_PCM16_24K, AudioFormat::mono(16_000)),
        (AudioFormat::WIRE_PCM16_24K, AudioFormat::new(44_100, 1)),
        (AudioFormat::WIRE_PCM16_24K, AudioFormat::new(96_000, 2)),
    ] {
        let (mut pipeline, io) =
            AudioPipeline::new(PipelineConfig::with_wire(wire), None, Some(device)).unwrap();
        let mut source = io.playout.unwrap();
        // 1234 ms of audio in uneven deltas.
        let total = wire.frames_for_ms(1_234);
        let samples = vec![3_000i16; total];
        for chunk in samples.chunks(997) {
            pipeline.play("a", chunk).unwrap();
        }
        pipeline.finish_item("a").unwrap();
        let mut buf = vec![0.0f32; device.samples_for_ms(7)];
        let mut handed = 0;
        loop {
            let n = source.pull(&mut buf);
            if n == 0 {
                break;
            }
            handed += n;
        }
        assert_eq!(
            handed as u64,
            (total as u64 * u64::from(device.sample_rate)).div_ceil(u64::from(wire.sample_rate))
        );
        let p = pipeline.item_playout("a").unwrap();
        assert_eq!(p.played_wire_samples, total as u64, "{wire} -> {device}");
        assert_eq!(p.played_ms, 1_234, "{wire} -> {device}");
    }
}
