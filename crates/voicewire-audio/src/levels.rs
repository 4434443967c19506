//! Level meters: RMS and peak per 10 ms block, smoothed to 0–1 for direct drawing.
//!
//! The meter runs on the device callback thread ([`LevelMeter`], no allocation, no locks) and
//! publishes into a latest-value cell of atomics. The async side reads it with
//! [`LevelReader::read`] whenever it likes (the engine samples every ~50 ms), so levels arrive
//! at a steady rate chosen by the reader and never queue up or flood an event stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Levels below this are drawn as 0 (the bottom of the meter scale).
pub const METER_FLOOR_DBFS: f32 = -60.0;

/// Per-block smoothing towards a louder level (fast attack, ~10–20 ms).
const ATTACK: f32 = 0.6;
/// Per-block smoothing towards a quieter level (slow release, ~80 ms time constant).
const RELEASE: f32 = 0.12;
/// Per-block fall of the peak indicator (full scale to zero in 500 ms).
const PEAK_FALL: f32 = 0.02;

/// One direction's level, ready to draw.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LevelReading {
    /// Smoothed RMS mapped to 0–1 (0 = -60 dBFS or quieter, 1 = full scale).
    pub rms: f32,
    /// Peak with a falling hold, mapped to 0–1 the same way.
    pub peak: f32,
    /// RMS of the most recent 10 ms block in dBFS (unsmoothed; -inf-safe, floored at -120).
    pub rms_dbfs: f32,
    /// 10 ms blocks measured so far (lets a reader tell a fresh value from a stale one).
    pub blocks: u64,
}

/// Input (microphone) and output (speaker) levels together.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AudioLevels {
    /// Captured audio, measured before any resampling.
    pub input: LevelReading,
    /// Audio handed to the device for playback (silence during gaps counts as silence).
    pub output: LevelReading,
}

#[derive(Debug, Default)]
struct LevelCell {
    rms: AtomicU32,
    peak: AtomicU32,
    rms_dbfs: AtomicU32,
    blocks: AtomicU64,
}

/// The async-side reader of one meter; cheap to clone.
#[derive(Debug, Clone)]
pub struct LevelReader {
    cell: Arc<LevelCell>,
}

impl LevelReader {
    /// The latest published level.
    pub fn read(&self) -> LevelReading {
        LevelReading {
            rms: f32::from_bits(self.cell.rms.load(Ordering::Relaxed)),
            peak: f32::from_bits(self.cell.peak.load(Ordering::Relaxed)),
            rms_dbfs: f32::from_bits(self.cell.rms_dbfs.load(Ordering::Relaxed)),
            blocks: self.cell.blocks.load(Ordering::Acquire),
        }
    }
}

/// The callback-side meter. Feed it mono or interleaved samples as they pass.
#[derive(Debug)]
pub struct LevelMeter {
    cell: Arc<LevelCell>,
    block_frames: usize,
    sum_squares: f32,
    block_peak: f32,
    filled: usize,
    smoothed_rms: f32,
    held_peak: f32,
}

/// Maps a linear amplitude (0..1 full scale) to the 0–1 meter scale.
pub fn amplitude_to_meter(amplitude: f32) -> f32 {
    let db = amplitude_to_dbfs(amplitude);
    ((db - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS).clamp(0.0, 1.0)
}

/// Linear amplitude to dBFS, floored at -120 dB so silence stays finite.
pub fn amplitude_to_dbfs(amplitude: f32) -> f32 {
    if amplitude <= 1e-6 {
        -120.0
    } else {
        (20.0 * amplitude.log10()).max(-120.0)
    }
}

impl LevelMeter {
    /// A meter for a stream at `sample_rate` Hz, with its reader.
    pub fn new(sample_rate: u32) -> (Self, LevelReader) {
        let cell = Arc::new(LevelCell::default());
        cell.rms_dbfs
            .store((-120.0f32).to_bits(), Ordering::Relaxed);
        let meter = Self {
            cell: Arc::clone(&cell),
            block_frames: (sample_rate as usize / 100).max(1),
            sum_squares: 0.0,
            block_peak: 0.0,
            filled: 0,
            smoothed_rms: 0.0,
            held_peak: 0.0,
        };
        (meter, LevelReader { cell })
    }

    /// Measures interleaved frames of `channels` channels (each frame's channels averaged).
    pub fn process_interleaved<S: crate::convert::Sample>(&mut self, samples: &[S], channels: u16) {
        let channels = usize::from(channels.max(1));
        if channels == 1 {
            for &s in samples {
                self.push(s.to_f32());
            }
        } else {
            let scale = 1.0 / channels as f32;
            for frame in samples.chunks_exact(channels) {
                self.push(frame.iter().map(|s| s.to_f32()).sum::<f32>() * scale);
            }
        }
    }

    /// Measures mono samples.
    pub fn process_mono(&mut self, samples: &[f32]) {
        for &s in samples {
            self.push(s);
        }
    }

    /// Measures `frames` frames of silence (no buffer needed).
    pub fn process_silence(&mut self, frames: usize) {
        let mut left = frames;
        while left > 0 {
            let n = (self.block_frames - self.filled).min(left);
            self.filled += n;
            left -= n;
            if self.filled == self.block_frames {
                self.publish_block();
            }
        }
    }

    #[inline]
    fn push(&mut self, s: f32) {
        self.sum_squares += s * s;
        let a = s.abs();
        if a > self.block_peak {
            self.block_peak = a;
        }
        self.filled += 1;
        if self.filled == self.block_frames {
            self.publish_block();
        }
    }

    fn publish_block(&mut self) {
        let rms = (self.sum_squares / self.block_frames as f32).sqrt();
        let target = amplitude_to_meter(rms);
        let coeff = if target > self.smoothed_rms {
            ATTACK
        } else {
            RELEASE
        };
        self.smoothed_rms += (target - self.smoothed_rms) * coeff;
        let peak = amplitude_to_meter(self.block_peak);
        self.held_peak = if peak >= self.held_peak {
            peak
        } else {
            (self.held_peak - PEAK_FALL).max(peak)
        };
        self.cell
            .rms
            .store(self.smoothed_rms.to_bits(), Ordering::Relaxed);
        self.cell
            .peak
            .store(self.held_peak.to_bits(), Ordering::Relaxed);
        self.cell
            .rms_dbfs
            .store(amplitude_to_dbfs(rms).to_bits(), Ordering::Relaxed);
        self.cell.blocks.fetch_add(1, Ordering::Release);
        self.sum_squares = 0.0;
        self.block_peak = 0.0;
        self.filled = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_sine_reads_near_top_and_silence_decays() {
        let (mut meter, reader) = LevelMeter::new(48_000);
        let sine: Vec<f32> = (0..48_000)
            .map(|i| (2.0 * std::f32::consts::PI * 400.0 * i as f32 / 48_000.0).sin())
            .collect();
        meter.process_mono(&sine);
        let loud = reader.read();
        assert_eq!(loud.blocks, 100);
        // RMS of a full-scale sine is -3 dBFS -> (60-3)/60 = 0.95.
        assert!((loud.rms - 0.95).abs() < 0.01, "{loud:?}");
        assert!((loud.rms_dbfs + 3.01).abs() < 0.05, "{loud:?}");
        assert!(loud.peak > 0.99, "{loud:?}");
        meter.process_silence(48_000);
        let quiet = reader.read();
        assert_eq!(quiet.blocks, 200);
        assert!(quiet.rms < 0.01 && quiet.peak < 0.01, "{quiet:?}");
    }

    #[test]
    fn stereo_frames_are_measured_once_per_frame() {
        let (mut meter, reader) = LevelMeter::new(16_000);
        let stereo = vec![0.5f32; 320 * 2];
        meter.process_interleaved(&stereo, 2);
        assert_eq!(reader.read().blocks, 2);
    }
}
