//! Streaming mono sample-rate conversion with the filter delay compensated.
//!
//! Device rates (16/44.1/48 kHz) meet wire rates (24/48 kHz) here. The converter is rubato's
//! synchronous FFT resampler: the ratio between two fixed rates never changes, it is the
//! fastest high-quality option in rubato 5, and it reports its delay exactly.
//!
//! # Delay compensation
//! Any band-limited resampler outputs each input event `delay_frames()` output frames late.
//! [`StreamResampler`] drops that many frames at the start of a stream and, on
//! [`StreamResampler::finish`], pushes silence through to release the held-back tail. So
//! output frame `k` lines up with input time `k / output_rate`, and a finished stream of `n`
//! input frames yields exactly `ceil(n * to / from)` output frames. Playout accounting relies
//! on both facts to convert played device frames back to wire samples.

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::error::AudioError;

/// A mono streaming resampler from one fixed rate to another.
///
/// `process` accepts any number of input frames and appends whatever output is ready; the
/// work buffers are allocated once in [`StreamResampler::new`]. Equal rates pass through
/// untouched (bit-exact, zero delay).
pub struct StreamResampler {
    from_rate: u32,
    to_rate: u32,
    fft: Option<Box<Fft<f32>>>,
    chunk_in: usize,
    chunk_out: usize,
    pending: Vec<f32>,
    chunk_out_buf: Vec<f32>,
    delay: usize,
    to_trim: usize,
    input_total: u64,
    output_total: u64,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("from_rate", &self.from_rate)
            .field("to_rate", &self.to_rate)
            .field("chunk_in", &self.chunk_in)
            .field("chunk_out", &self.chunk_out)
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

impl StreamResampler {
    /// A resampler from `from_rate` to `to_rate` Hz, processing in ~10 ms chunks.
    pub fn new(from_rate: u32, to_rate: u32) -> Result<Self, AudioError> {
        if from_rate == 0 || to_rate == 0 {
            return Err(AudioError::Resampler(format!(
                "invalid rates {from_rate} -> {to_rate}"
            )));
        }
        if from_rate == to_rate {
            return Ok(Self {
                from_rate,
                to_rate,
                fft: None,
                chunk_in: 0,
                chunk_out: 0,
                pending: Vec::new(),
                chunk_out_buf: Vec::new(),
                delay: 0,
                to_trim: 0,
                input_total: 0,
                output_total: 0,
            });
        }
        let chunk_hint = (from_rate as usize / 100).max(1);
        let fft = Fft::<f32>::new(
            from_rate as usize,
            to_rate as usize,
            chunk_hint,
            1,
            FixedSync::Both,
        )
        .map_err(|e| AudioError::Resampler(e.to_string()))?;
        let chunk_in = fft.input_frames_next();
        let chunk_out = fft.output_frames_next();
        let delay = fft.output_delay();
        Ok(Self {
            from_rate,
            to_rate,
            fft: Some(Box::new(fft)),
            chunk_in,
            chunk_out,
            pending: Vec::with_capacity(chunk_in),
            chunk_out_buf: vec![0.0; chunk_out],
            delay,
            to_trim: delay,
            input_total: 0,
            output_total: 0,
        })
    }

    /// Input rate in Hz.
    pub fn from_rate(&self) -> u32 {
        self.from_rate
    }

    /// Output rate in Hz.
    pub fn to_rate(&self) -> u32 {
        self.to_rate
    }

    /// True when the rates are equal and samples pass through untouched.
    pub fn is_passthrough(&self) -> bool {
        self.fft.is_none()
    }

    /// The filter delay in output frames. It is compensated (trimmed at the start of a
    /// stream), so it shows up as latency until the first output, not as a time shift.
    pub fn delay_frames(&self) -> usize {
        self.delay
    }

    /// Output frames a finished stream of `input_frames` frames produces: `ceil(n*to/from)`.
    pub fn expected_output_frames(&self, input_frames: u64) -> u64 {
        (input_frames * u64::from(self.to_rate)).div_ceil(u64::from(self.from_rate))
    }

    /// Input frames received since the last reset.
    pub fn input_frames(&self) -> u64 {
        self.input_total
    }

    /// Output frames emitted since the last reset.
    pub fn output_frames(&self) -> u64 {
        self.output_total
    }

    /// Resamples `input`, appending the output that is ready to `out`. Returns the number of
    /// frames appended.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<usize, AudioError> {
        self.input_total += input.len() as u64;
        if self.fft.is_none() {
            out.extend_from_slice(input);
            self.output_total += input.len() as u64;
            return Ok(input.len());
        }
        let before = out.len();
        let mut rest = input;
        if !self.pending.is_empty() {
            let take = (self.chunk_in - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == self.chunk_in {
                let chunk = std::mem::take(&mut self.pending);
                let result = self.run_chunk(&chunk, out);
                self.pending = chunk;
                self.pending.clear();
                result?;
            }
        }
        while rest.len() >= self.chunk_in {
            let (chunk, tail) = rest.split_at(self.chunk_in);
            self.run_chunk(chunk, out)?;
            rest = tail;
        }
        self.pending.extend_from_slice(rest);
        Ok(out.len() - before)
    }

    /// Ends the stream: pushes silence through until every input frame has come out, appends
    /// the tail to `out` (exactly enough to reach [`Self::expected_output_frames`]), then
    /// resets for the next stream. Returns the number of frames appended.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<usize, AudioError> {
        let before = out.len();
        if self.fft.is_some() {
            let expected = self.expected_output_frames(self.input_total);
            let zeros = vec![0.0f32; self.chunk_in];
            // Each chunk releases chunk_out frames; bound the loop by what can be missing.
            let max_rounds = (self.delay + self.pending.len() + self.chunk_in) / self.chunk_out + 3;
            let mut rounds = 0;
            while self.output_total < expected && rounds < max_rounds {
                let fill = self.chunk_in - self.pending.len();
                self.pending.extend_from_slice(&zeros[..fill]);
                let chunk = std::mem::take(&mut self.pending);
                let start = out.len();
                let result = self.run_chunk(&chunk, out);
                self.pending = chunk;
                self.pending.clear();
                result?;
                let excess = self.output_total.saturating_sub(expected);
                let keep = (out.len() - start).saturating_sub(excess as usize);
                out.truncate(start + keep);
                self.output_total -= excess;
                rounds += 1;
            }
        }
        let appended = out.len() - before;
        self.reset();
        Ok(appended)
    }

    /// Drops all buffered input and filter state (used on flush and between streams).
    pub fn reset(&mut self) {
        if let Some(fft) = self.fft.as_mut() {
            fft.reset();
        }
        self.pending.clear();
        self.to_trim = self.delay;
        self.input_total = 0;
        self.output_total = 0;
    }

    fn run_chunk(&mut self, chunk: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        let Some(fft) = self.fft.as_mut() else {
            return Ok(());
        };
        let input = SequentialSlice::new(chunk, 1, chunk.len())
            .map_err(|e| AudioError::Resampler(e.to_string()))?;
        let frames_out = self.chunk_out_buf.len();
        let mut output = SequentialSlice::new_mut(&mut self.chunk_out_buf, 1, frames_out)
            .map_err(|e| AudioError::Resampler(e.to_string()))?;
        let (_, produced) = fft
            .process_into_buffer(&input, &mut output, None)
            .map_err(|e| AudioError::Resampler(e.to_string()))?;
        let trim = self.to_trim.min(produced);
        self.to_trim -= trim;
        out.extend_from_slice(&self.chunk_out_buf[trim..produced]);
        self.output_total += (produced - trim) as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resample_all(from: u32, to: u32, input: &[f32], piece: usize) -> (Vec<f32>, usize) {
        let mut r = StreamResampler::new(from, to).unwrap();
        let delay = r.delay_frames();
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            r.process(chunk, &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        (out, delay)
    }

    #[test]
    fn finished_stream_has_exact_length() {
        for (from, to) in [
            (24_000, 48_000),
            (48_000, 24_000),
            (44_100, 24_000),
            (24_000, 44_100),
            (16_000, 24_000),
        ] {
            for n in [0usize, 1, 100, 479, 4_410, 24_001] {
                let input = vec![0.1f32; n];
                let (out, _) = resample_all(from, to, &input, 333);
                let expected = (n as u64 * to as u64).div_ceil(from as u64) as usize;
                assert_eq!(out.len(), expected, "{from}->{to} n={n}");
            }
        }
    }

    #[test]
    fn impulse_is_not_shifted_by_the_filter_delay() {
        // A click at input frame 2400 (100 ms at 24 kHz) must land at 100 ms at 48 kHz.
        let mut input = vec![0.0f32; 9_600];
        input[2_400] = 1.0;
        let (out, delay) = resample_all(24_000, 48_000, &input, 480);
        assert!(delay > 0, "fft resampler has a delay to compensate");
        let peak = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(i, _)| i)
            .unwrap();
        assert!(
            (peak as i64 - 4_800).abs() <= 1,
            "peak at {peak}, expected 4800"
        );
    }

    #[test]
    fn equal_rates_pass_through_bit_exact() {
        let input: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin()).collect();
        let (out, delay) = resample_all(24_000, 24_000, &input, 77);
        assert_eq!(delay, 0);
        assert_eq!(out, input);
    }
}
