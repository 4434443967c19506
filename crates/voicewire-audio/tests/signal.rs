//! Audio tested as signal: sines and speech through the real resampler, pipeline, Opus codec
//! and WAV files, checked for frequency, level, timing and bit-exactness.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use voicewire_audio::*;

/// Runs a stepped FileDevice with `input` as microphone through a pipeline and returns all
/// wire-format capture.
fn capture_through_pipeline(format: AudioFormat, input: Vec<i16>, wire: AudioFormat) -> Vec<i16> {
    let total_ms =
        (input.len() / usize::from(format.channels)) as u64 * 1000 / u64::from(format.sample_rate);
    let mut device = FileDevice::new(FilePace::Stepped)
        .with_input_samples(format, input)
        .unwrap()
        .after_input(AfterInput::Silence);
    let stepper = device.stepper();
    let mut pipeline = AudioPipeline::start(&mut device, PipelineConfig::with_wire(wire)).unwrap();
    let mut out = Vec::new();
    // Run past the end so the resampler's compensated delay is flushed by trailing silence.
    for _ in 0..(total_ms / 20 + 20) {
        stepper.step(Duration::from_millis(20));
        pipeline.read_capture(&mut out).unwrap();
    }
    device.stop().unwrap();
    out
}

#[test]
fn sine_through_resample_opus_and_back_keeps_frequency_and_level() {
    // A 44.1 kHz stereo "device" microphone plays a 1 kHz sine at -6 dBFS.
    let device = AudioFormat::new(44_100, 2);
    let input = sine_i16(44_100, 2, 1_000.0, 0.5, 44_100 * 2);
    let wire = capture_through_pipeline(device, input, AudioFormat::OPUS_48K);
    assert!(wire.len() >= 96_000, "got {} samples", wire.len());

    let mut encoder = OpusEncoder::new(OpusEncoderConfig::default()).unwrap();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut decoded = Vec::new();
    let mut packets = 0;
    encoder
        .encode_stream(&wire[..96_000], |packet| {
            packets += 1;
            decoder.decode(packet, &mut decoded).unwrap();
        })
        .unwrap();
    assert_eq!(packets, 100);
    assert_eq!(decoded.len(), 96_000);

    // Steady-state window (skip codec start-up), 0.5 s = 500 whole periods of 1 kHz.
    let window = &decoded[24_000..48_000];
    let freq = dominant(window, 48_000, (900..=1_100).step_by(10).map(f64::from));
    assert_eq!(freq, 1_000.0, "Goertzel peak");
    let zc = zero_crossing_hz(window, 48_000);
    assert!((zc - 1_000.0).abs() <= 4.0, "zero crossings say {zc} Hz");
    // -6 dBFS sine has RMS 0.5/sqrt(2) = 0.354; allow ±1 dB through resampler + Opus.
    let level = rms(window);
    let db = 20.0 * (level / 0.3536).log10();
    assert!(db.abs() < 1.0, "level off by {db:.2} dB (rms {level:.4})");
}

#[test]
fn wav_capture_at_wire_rate_is_bit_exact() {
    let path = fixture("speech_weather_24k.wav");
    let (format, samples) = read_wav(&path).unwrap();
    assert_eq!(format, AudioFormat::WIRE_PCM16_24K);
    let captured = capture_through_pipeline(format, samples.clone(), AudioFormat::WIRE_PCM16_24K);
    assert_eq!(&captured[..samples.len()], &samples[..]);
    assert!(
        captured[samples.len()..].iter().all(|&s| s == 0),
        "trailing silence"
    );
}

#[test]
fn wav_write_read_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (format, samples) = read_wav(&fixture("speech_weather_44k1_stereo.wav")).unwrap();
    assert_eq!(format, AudioFormat::new(44_100, 2));
    let out = dir.path().join("copy.wav");
    write_wav(&out, format, &samples).unwrap();
    assert_eq!(read_wav(&out).unwrap(), (format, samples));
}

#[test]
fn played_wav_is_exactly_what_was_queued() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("played.wav");
    let (_, speech) = read_wav(&fixture("speech_stop_24k.wav")).unwrap();
    let mut device =
        FileDevice::new(FilePace::Stepped).with_output_wav(&out_path, AudioFormat::WIRE_PCM16_24K);
    let stepper = device.stepper();
    let mut pipeline = AudioPipeline::start(&mut device, PipelineConfig::default()).unwrap();
    // The whole reply arrives in a burst of 100 ms deltas, faster than real time.
    for chunk in speech.chunks(2_400) {
        pipeline.play("item_1", chunk).unwrap();
    }
    pipeline.finish_item("item_1").unwrap();
    let ms = speech.len() as u64 * 1000 / 24_000;
    for _ in 0..(ms / 10 + 10) {
        stepper.step(Duration::from_millis(10));
        pipeline.pump();
    }
    assert_eq!(pipeline.played_ms("item_1"), Some(ms));
    assert_eq!(pipeline.playback_state(), PlaybackState::Idle);
    assert_eq!(pipeline.underruns(), 0);
    device.stop().unwrap();
    let (format, played) = read_wav(&out_path).unwrap();
    assert_eq!(format, AudioFormat::WIRE_PCM16_24K);
    assert_eq!(&played[..speech.len()], &speech[..], "bit-exact playback");
    assert!(played[speech.len()..].iter().all(|&s| s == 0));
}

#[test]
fn resampled_playback_lines_up_in_time() {
    // 24 kHz wire audio played on a 48 kHz stereo device: after delay compensation the
    // output starts at the same instant (lag 0 within one device frame).
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("played48.wav");
    let (_, speech) = read_wav(&fixture("speech_shopping_24k.wav")).unwrap();
    let mut device =
        FileDevice::new(FilePace::Stepped).with_output_wav(&out_path, AudioFormat::new(48_000, 2));
    let stepper = device.stepper();
    let mut pipeline = AudioPipeline::start(&mut device, PipelineConfig::default()).unwrap();
    pipeline.play("a", &speech).unwrap();
    pipeline.finish_item("a").unwrap();
    let ms = speech.len() as u64 * 1000 / 24_000;
    for _ in 0..(ms / 10 + 10) {
        stepper.step(Duration::from_millis(10));
        pipeline.pump();
    }
    device.stop().unwrap();
    let (_, played) = read_wav(&out_path).unwrap();
    let left: Vec<i16> = played.chunks_exact(2).map(|f| f[0]).collect();
    // Upsample the reference naively (repeat) only to compare timing.
    let reference: Vec<i16> = speech.iter().flat_map(|&s| [s, s]).collect();
    assert_eq!(
        best_lag(&reference[..48_000], &left[..48_000 + 200], 200),
        0
    );
    let played_audio = pipeline.item_playout("a").unwrap();
    assert_eq!(played_audio.played_wire_samples, speech.len() as u64);
    assert_eq!(played_audio.played_ms, ms);
}

#[test]
fn opus_conceals_and_recovers_lost_packets() {
    let (_, speech) = read_wav(&fixture("speech_weather_48k.wav")).unwrap();
    let mut encoder = OpusEncoder::new(OpusEncoderConfig::default()).unwrap();
    let mut packets = Vec::new();
    encoder
        .encode_stream(&speech, |p| packets.push(p.to_vec()))
        .unwrap();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut out = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        if i % 10 == 5 && i + 1 < packets.len() {
            assert_eq!(
                decoder.recover_from_fec(&packets[i + 1], &mut out).unwrap(),
                960
            );
        } else if i % 10 == 7 {
            assert_eq!(decoder.conceal(&mut out).unwrap(), 960);
        } else {
            decoder.decode(p, &mut out).unwrap();
        }
    }
    assert_eq!(out.len(), packets.len() * 960);
    // Speech energy survives: the decoded level is within 3 dB of the input.
    let db = 20.0 * (rms(&out) / rms(&speech)).log10();
    assert!(db.abs() < 3.0, "level changed by {db:.2} dB");
    // Garbage from the network is an error, not a panic.
    for garbage in [
        &[0xffu8, 0xff, 0xff][..],
        &[0x03],
        &[0x7b, 0x00, 0x01, 0x02, 0x03],
        &[0xfc; 40],
    ] {
        let before = out.len();
        match decoder.decode(garbage, &mut out) {
            Ok(n) => assert_eq!(out.len() - before, n),
            Err(AudioError::Opus(_)) => assert_eq!(out.len(), before),
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert!(matches!(
        decoder.decode(&[], &mut out),
        Err(AudioError::Opus(_))
    ));
}

#[test]
fn stereo_44k1_microphone_matches_the_24k_reference_in_time_and_shape() {
    // The same utterance converted by sox to 44.1 kHz stereo and to 24 kHz mono: our capture
    // path (mix to mono, resample 44.1k -> 24k, delay compensated) must line up with sox's.
    let (format, stereo) = read_wav(&fixture("speech_weather_44k1_stereo.wav")).unwrap();
    assert_eq!(format, AudioFormat::new(44_100, 2));
    let (_, reference) = read_wav(&fixture("speech_weather_24k.wav")).unwrap();
    let ours = capture_through_pipeline(format, stereo, AudioFormat::WIRE_PCM16_24K);
    let n = reference.len().min(ours.len()) - 200;
    // Lag search both ways: `ours` against `reference` and the reverse.
    assert_eq!(
        best_lag(&reference[..n], &ours[..n + 100], 50),
        0,
        "ours is late"
    );
    assert_eq!(
        best_lag(&ours[..n], &reference[..n + 100], 50),
        0,
        "ours is early"
    );
    let dot: f64 = (0..n)
        .map(|i| f64::from(reference[i]) * f64::from(ours[i]))
        .sum();
    let er: f64 = reference[..n].iter().map(|&s| f64::from(s).powi(2)).sum();
    let eo: f64 = ours[..n].iter().map(|&s| f64::from(s).powi(2)).sum();
    let correlation = dot / (er.sqrt() * eo.sqrt());
    assert!(
        correlation > 0.98,
        "normalised correlation {correlation:.4}"
    );
    let db = 10.0 * (eo / er).log10();
    assert!(db.abs() < 0.5, "level differs by {db:.2} dB");
}
