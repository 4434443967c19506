//! The capture path: device callback → lock-free ring → wire-format audio on the async side.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::convert::{Sample, f32_to_i16, mix_to_mono};
use crate::error::AudioError;
use crate::format::AudioFormat;
use crate::levels::{LevelMeter, LevelReader};
use crate::resample::StreamResampler;

/// Frames mixed per step inside the callback (stack buffer, no allocation).
const MIX_STEP: usize = 256;

#[derive(Debug, Default)]
struct CaptureShared {
    /// Device frames dropped because the ring was full (the async side fell behind).
    dropped_frames: AtomicU64,
    /// Device frames accepted into the ring.
    captured_frames: AtomicU64,
}

/// Callback side of the capture path: push what the microphone delivered.
///
/// [`CaptureSink::push`] mixes to mono, meters and writes into the ring without allocating,
/// locking or blocking. When the ring is full the newest audio is dropped and counted
/// (blocking the audio thread would be worse).
#[derive(Debug)]
pub struct CaptureSink {
    producer: rtrb::Producer<f32>,
    shared: Arc<CaptureShared>,
    meter: LevelMeter,
    format: AudioFormat,
    captured: u64,
}

impl CaptureSink {
    /// The device format this sink expects (interleaved).
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Takes interleaved device-format frames. Returns the frames accepted into the ring.
    pub fn push<S: Sample>(&mut self, interleaved: &[S]) -> usize {
        let channels = usize::from(self.format.channels);
        let mut mono = [0.0f32; MIX_STEP];
        let mut accepted = 0;
        let mut dropped = 0;
        for block in interleaved.chunks(MIX_STEP * channels) {
            let frames = mix_to_mono(block, self.format.channels, &mut mono);
            self.meter.process_mono(&mono[..frames]);
            let (pushed, rest) = self.producer.push_partial_slice(&mono[..frames]);
            accepted += pushed.len();
            dropped += rest.len();
        }
        self.captured += accepted as u64;
        self.shared
            .captured_frames
            .store(self.captured, Ordering::Release);
        if dropped > 0 {
            self.shared
                .dropped_frames
                .fetch_add(dropped as u64, Ordering::Relaxed);
        }
        accepted
    }
}

/// Async side of the capture path: drains the ring and converts to the wire format.
#[derive(Debug)]
pub struct CaptureReader {
    consumer: rtrb::Consumer<f32>,
    shared: Arc<CaptureShared>,
    input_levels: LevelReader,
    device: AudioFormat,
    wire: AudioFormat,
    resampler: StreamResampler,
    drained: Vec<f32>,
    converted: Vec<f32>,
    #[cfg(feature = "aec")]
    echo: Option<EchoStage>,
}

/// Echo cancellation between the capture ring and the wire resampler (feature `aec`).
#[cfg(feature = "aec")]
#[derive(Debug)]
struct EchoStage {
    canceller: crate::aec::EchoCanceller,
    reference: rtrb::Consumer<f32>,
    capture_to_aec: StreamResampler,
    reference_to_aec: StreamResampler,
    aec_to_wire: StreamResampler,
    capture_aec: Vec<f32>,
    reference_drained: Vec<f32>,
    reference_aec: Vec<f32>,
    cleaned: Vec<f32>,
}

#[cfg(feature = "aec")]
impl EchoStage {
    fn new(
        capture_rate: u32,
        playback_rate: u32,
        wire_rate: u32,
        reference: rtrb::Consumer<f32>,
    ) -> Result<Self, AudioError> {
        let aec_rate = if crate::aec::AEC_SUPPORTED_RATES.contains(&capture_rate) {
            capture_rate
        } else {
            48_000
        };
        Ok(Self {
            canceller: crate::aec::EchoCanceller::new(aec_rate)?,
            reference,
            capture_to_aec: StreamResampler::new(capture_rate, aec_rate)?,
            reference_to_aec: StreamResampler::new(playback_rate, aec_rate)?,
            aec_to_wire: StreamResampler::new(aec_rate, wire_rate)?,
            capture_aec: Vec::new(),
            reference_drained: Vec::new(),
            reference_aec: Vec::new(),
            cleaned: Vec::new(),
        })
    }

    fn process(&mut self, drained: &[f32], out: &mut Vec<f32>) -> Result<usize, AudioError> {
        self.reference_drained.clear();
        let available = self.reference.slots();
        if let Ok(chunk) = self.reference.read_chunk(available) {
            let (a, b) = chunk.as_slices();
            self.reference_drained.extend_from_slice(a);
            self.reference_drained.extend_from_slice(b);
            chunk.commit_all();
        }
        self.reference_aec.clear();
        self.reference_to_aec
            .process(&self.reference_drained, &mut self.reference_aec)?;
        self.canceller.push_render(&self.reference_aec);
        self.capture_aec.clear();
        self.capture_to_aec
            .process(drained, &mut self.capture_aec)?;
        self.cleaned.clear();
        self.canceller
            .process_capture(&self.capture_aec, &mut self.cleaned)?;
        self.aec_to_wire.process(&self.cleaned, out)
    }
}

impl CaptureReader {
    /// A capture path from a `device`-format microphone to mono `wire`-format audio, with a
    /// ring of `ring_ms` milliseconds. Returns the async side and the callback side.
    pub fn new(
        device: AudioFormat,
        wire: AudioFormat,
        ring_ms: u32,
    ) -> Result<(Self, CaptureSink), AudioError> {
        device.validate()?;
        wire.validate()?;
        if wire.channels != 1 {
            return Err(AudioError::UnsupportedFormat(wire));
        }
        let (producer, consumer) = rtrb::RingBuffer::new(device.frames_for_ms(ring_ms.max(20)));
        let shared = Arc::new(CaptureShared::default());
        let (meter, input_levels) = LevelMeter::new(device.sample_rate);
        let sink = CaptureSink {
            producer,
            shared: Arc::clone(&shared),
            meter,
            format: device,
            captured: 0,
        };
        let reader = Self {
            consumer,
            shared,
            input_levels,
            device,
            wire,
            resampler: StreamResampler::new(device.sample_rate, wire.sample_rate)?,
            drained: Vec::new(),
            converted: Vec::new(),
            #[cfg(feature = "aec")]
            echo: None,
        };
        Ok((reader, sink))
    }

    /// Runs captured audio through a software echo canceller fed with the playback
    /// reference ring (see [`crate::AudioPipeline::new_with_echo_cancellation`]).
    #[cfg(feature = "aec")]
    pub(crate) fn enable_echo_cancellation(
        &mut self,
        playback_rate: u32,
        reference: rtrb::Consumer<f32>,
    ) -> Result<(), AudioError> {
        self.echo = Some(EchoStage::new(
            self.device.sample_rate,
            playback_rate,
            self.wire.sample_rate,
            reference,
        )?);
        Ok(())
    }

    /// The echo canceller's running ERLE estimate in dB, when echo cancellation is on.
    #[cfg(feature = "aec")]
    pub fn echo_erle_db(&self) -> Option<f64> {
        self.echo.as_ref().map(|e| e.canceller.erle_db())
    }

    /// The device format captured.
    pub fn device_format(&self) -> AudioFormat {
        self.device
    }

    /// The wire format produced.
    pub fn wire_format(&self) -> AudioFormat {
        self.wire
    }

    /// Reader for the input level meter.
    pub fn input_levels(&self) -> &LevelReader {
        &self.input_levels
    }

    /// The device→wire resampler's (compensated) delay in wire samples.
    pub fn resampler_delay_frames(&self) -> usize {
        self.resampler.delay_frames()
    }

    /// Appends all newly captured audio to `out` as mono wire-rate f32. Returns the number
    /// of samples appended (may be 0 while the resampler fills its first chunk).
    pub fn read_f32(&mut self, out: &mut Vec<f32>) -> Result<usize, AudioError> {
        self.drained.clear();
        let available = self.consumer.slots();
        if let Ok(chunk) = self.consumer.read_chunk(available) {
            let (a, b) = chunk.as_slices();
            self.drained.extend_from_slice(a);
            self.drained.extend_from_slice(b);
            chunk.commit_all();
        }
        #[cfg(feature = "aec")]
        if let Some(echo) = self.echo.as_mut() {
            return echo.process(&self.drained, out);
        }
        self.resampler.process(&self.drained, out)
    }

    /// Appends all newly captured audio to `out` as mono wire-rate PCM16 (the WebSocket
    /// payload). Returns the number of samples appended.
    pub fn read(&mut self, out: &mut Vec<i16>) -> Result<usize, AudioError> {
        let mut converted = std::mem::take(&mut self.converted);
        converted.clear();
        let result = self.read_f32(&mut converted);
        out.extend(converted.iter().map(|&s| f32_to_i16(s)));
        self.converted = converted;
        result
    }

    /// Device frames dropped because the ring was full (reads fell behind the microphone).
    pub fn dropped_frames(&self) -> u64 {
        self.shared.dropped_frames.load(Ordering::Relaxed)
    }

    /// Device frames accepted from the microphone since creation.
    pub fn captured_frames(&self) -> u64 {
        self.shared.captured_frames.load(Ordering::Acquire)
    }

    /// Throws away captured audio not yet read and resets the resampler (e.g. on unmute, so
    /// stale audio is not sent).
    pub fn discard(&mut self) {
        let available = self.consumer.slots();
        if let Ok(chunk) = self.consumer.read_chunk(available) {
            chunk.commit_all();
        }
        self.resampler.reset();
    }
}
