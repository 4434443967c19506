//! Costs per second of audio: resampling, Opus encode/decode, ring throughput (capture and
//! playout paths end to end). Run: `cargo bench -p voicewire-audio --bench audio`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use voicewire_audio::*;

fn speechlike(rate: u32, seconds: u32) -> Vec<i16> {
    // Two tones with a slow envelope: enough structure that codecs do real work.
    (0..rate * seconds)
        .map(|i| {
            let t = f64::from(i) / f64::from(rate);
            let env = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * 3.0 * t).sin();
            let v = (2.0 * std::f64::consts::PI * 220.0 * t).sin() * 0.5
                + (2.0 * std::f64::consts::PI * 1_870.0 * t).sin() * 0.2;
            (v * env * 20_000.0) as i16
        })
        .collect()
}

fn resampling(c: &mut Criterion) {
    let mut group = c.benchmark_group("resample_1s");
    for (from, to) in [
        (48_000u32, 24_000u32),
        (24_000, 48_000),
        (44_100, 24_000),
        (24_000, 44_100),
        (16_000, 24_000),
    ] {
        let input: Vec<f32> = speechlike(from, 1)
            .iter()
            .map(|&s| convert::i16_to_f32(s))
            .collect();
        let mut resampler = StreamResampler::new(from, to).unwrap();
        let mut out = Vec::with_capacity(to as usize * 2);
        group.throughput(Throughput::Elements(u64::from(from)));
        group.bench_function(format!("{from}->{to}"), |b| {
            b.iter(|| {
                out.clear();
                // Device-sized pieces (10 ms), as the pipeline feeds it.
                for chunk in input.chunks(from as usize / 100) {
                    resampler.process(black_box(chunk), &mut out).unwrap();
                }
                black_box(out.len())
            });
        });
    }
    group.finish();
}

fn opus(c: &mut Criterion) {
    let pcm = speechlike(48_000, 1);
    let mut encoder = OpusEncoder::new(OpusEncoderConfig::default()).unwrap();
    let mut packets = Vec::new();
    encoder
        .encode_stream(&pcm, |p| packets.push(p.to_vec()))
        .unwrap();
    let mut group = c.benchmark_group("opus_1s");
    group.throughput(Throughput::Elements(48_000));
    group.bench_function("encode_48k_mono_20ms_fec", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for frame in pcm.chunks_exact(960) {
                bytes += encoder.encode_frame(black_box(frame)).unwrap().len();
            }
            black_box(bytes)
        });
    });
    let mut decoder = OpusDecoder::new().unwrap();
    let mut out = Vec::with_capacity(48_000);
    group.bench_function("decode_48k_mono_20ms", |b| {
        b.iter(|| {
            out.clear();
            for p in &packets {
                decoder.decode(black_box(p), &mut out).unwrap();
            }
            black_box(out.len())
        });
    });
    group.finish();
}

fn rings(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring_1s");
    // Capture: 48 kHz stereo f32 callback pushes in 10 ms blocks, async side reads 24 kHz.
    let (mut pipeline, io) = AudioPipeline::new(
        PipelineConfig::default(),
        Some(AudioFormat::new(48_000, 2)),
        Some(AudioFormat::new(48_000, 2)),
    )
    .unwrap();
    let DeviceIo { capture, playout } = io;
    let mut sink = capture.unwrap();
    let mut source = playout.unwrap();
    let mic = vec![0.1f32; 960];
    let mut wire = Vec::with_capacity(48_000);
    group.throughput(Throughput::Elements(48_000));
    group.bench_function("capture_48k_stereo_to_wire_24k", |b| {
        b.iter(|| {
            wire.clear();
            for _ in 0..100 {
                sink.push(black_box(&mic));
                pipeline.read_capture(&mut wire).unwrap();
            }
            black_box(wire.len())
        });
    });
    let reply = speechlike(24_000, 1);
    let mut speaker = vec![0.0f32; 960];
    group.bench_function("playout_wire_24k_to_48k_stereo", |b| {
        b.iter(|| {
            for chunk in reply.chunks(2_400) {
                pipeline.play("bench", chunk).unwrap();
                for _ in 0..10 {
                    source.pull(black_box(&mut speaker));
                }
            }
            black_box(pipeline.played_ms("bench"))
        });
    });
    // Raw callback cost: pulls from an already-filled ring (f32 stereo, 10 ms blocks).
    group.bench_function("playout_pull_only_48k_stereo", |b| {
        b.iter_batched(
            || {
                pipeline.flush();
                pipeline.play("pull", &reply).unwrap();
                pipeline.finish_item("pull").unwrap();
            },
            |()| {
                for _ in 0..100 {
                    source.pull(black_box(&mut speaker));
                }
            },
            criterion::BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// Software echo cancellation (feature `aec`): 1 s of 48 kHz far end + microphone.
#[cfg(feature = "aec")]
fn echo_cancellation(c: &mut Criterion) {
    let far: Vec<f32> = speechlike(48_000, 1)
        .iter()
        .map(|&s| convert::i16_to_f32(s))
        .collect();
    let mic: Vec<f32> = (0..far.len())
        .map(|n| {
            if n >= 1_440 {
                0.5 * far[n - 1_440]
            } else {
                0.0
            }
        })
        .collect();
    let mut aec = EchoCanceller::new(48_000).unwrap();
    let mut out = Vec::with_capacity(48_000);
    let mut group = c.benchmark_group("aec_1s");
    group.throughput(Throughput::Elements(48_000));
    group.bench_function("aec3_48k_mono_10ms_blocks", |b| {
        b.iter(|| {
            out.clear();
            for (f, m) in far.chunks(960).zip(mic.chunks(960)) {
                aec.push_render(black_box(f));
                aec.process_capture(black_box(m), &mut out).unwrap();
            }
            black_box(out.len())
        });
    });
    group.finish();
}

#[cfg(not(feature = "aec"))]
fn echo_cancellation(_: &mut Criterion) {}

criterion_group!(benches, resampling, opus, rings, echo_cancellation);
criterion_main!(benches);
