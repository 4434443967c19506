//! [`AudioFrame`]: the one audio buffer type that crosses module and crate boundaries.

use crate::convert::{f32_to_i16, i16_to_f32};
use crate::error::AudioError;
use crate::format::AudioFormat;

/// A block of interleaved PCM audio with its format.
///
/// Samples are stored as PCM16 because both wire formats are 16-bit and the Realtime API
/// sends PCM16; f32 views are produced on demand for DSP. A frame may hold any number of
/// whole audio frames (one sample per channel each), including zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFrame {
    format: AudioFormat,
    samples: Vec<i16>,
}

impl AudioFrame {
    /// Wraps interleaved PCM16 samples. Fails when the format is unusable or the buffer is not
    /// a whole number of frames.
    pub fn from_pcm16(format: AudioFormat, samples: Vec<i16>) -> Result<Self, AudioError> {
        format.validate()?;
        format.frames_in(samples.len())?;
        Ok(Self { format, samples })
    }

    /// Converts interleaved f32 samples (nominally in [-1, 1], clamped) to a PCM16 frame.
    pub fn from_f32(format: AudioFormat, samples: &[f32]) -> Result<Self, AudioError> {
        format.validate()?;
        format.frames_in(samples.len())?;
        Ok(Self {
            format,
            samples: samples.iter().map(|&s| f32_to_i16(s)).collect(),
        })
    }

    /// Decodes little-endian PCM16 bytes (the Realtime API's base64 payload after decoding).
    /// A trailing odd byte is an error, not silently dropped.
    pub fn from_pcm16_le_bytes(format: AudioFormat, bytes: &[u8]) -> Result<Self, AudioError> {
        if !bytes.len().is_multiple_of(2) {
            return Err(AudioError::RaggedFrame {
                samples: bytes.len(),
                channels: 0,
            });
        }
        let samples = bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        Self::from_pcm16(format, samples)
    }

    /// A frame of `ms` milliseconds of digital silence.
    pub fn silence(format: AudioFormat, ms: u32) -> Result<Self, AudioError> {
        format.validate()?;
        Ok(Self {
            format,
            samples: vec![0; format.samples_for_ms(ms)],
        })
    }

    /// The frame's format.
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.format.sample_rate
    }

    /// Channel count.
    pub fn channels(&self) -> u16 {
        self.format.channels
    }

    /// Number of audio frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.format.channels)
    }

    /// Duration in whole milliseconds (rounded down).
    pub fn duration_ms(&self) -> u64 {
        self.format.ms_for_frames(self.frames() as u64)
    }

    /// True when the frame holds no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The interleaved PCM16 samples.
    pub fn pcm16(&self) -> &[i16] {
        &self.samples
    }

    /// Mutable access to the samples (the format cannot change through this).
    pub fn pcm16_mut(&mut self) -> &mut [i16] {
        &mut self.samples
    }

    /// Takes the samples out.
    pub fn into_pcm16(self) -> Vec<i16> {
        self.samples
    }

    /// Iterates the samples as f32 in [-1, 1).
    pub fn f32_samples(&self) -> impl ExactSizeIterator<Item = f32> + '_ {
        self.samples.iter().map(|&s| i16_to_f32(s))
    }

    /// Appends the samples as f32 to `out` (reuse `out` across calls to avoid allocation).
    pub fn extend_f32(&self, out: &mut Vec<f32>) {
        out.extend(self.f32_samples());
    }

    /// The samples as a new f32 vector.
    pub fn to_f32_vec(&self) -> Vec<f32> {
        self.f32_samples().collect()
    }

    /// Little-endian PCM16 bytes, ready for base64 on the WebSocket wire.
    pub fn to_pcm16_le_bytes(&self) -> Vec<u8> {
        self.samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm16_bytes_round_trip_bit_exact() {
        let samples: Vec<i16> = (0..480).map(|i| (i * 137 - 30_000) as i16).collect();
        let frame = AudioFrame::from_pcm16(AudioFormat::WIRE_PCM16_24K, samples.clone()).unwrap();
        let bytes = frame.to_pcm16_le_bytes();
        let back = AudioFrame::from_pcm16_le_bytes(AudioFormat::WIRE_PCM16_24K, &bytes).unwrap();
        assert_eq!(back.pcm16(), &samples[..]);
        assert_eq!(back.duration_ms(), 20);
        assert!(AudioFrame::from_pcm16_le_bytes(AudioFormat::WIRE_PCM16_24K, &bytes[1..]).is_err());
    }

    #[test]
    fn f32_view_and_back_is_exact() {
        let f =
            AudioFrame::from_pcm16(AudioFormat::new(48_000, 2), vec![0, 1, -1, i16::MAX]).unwrap();
        let back = AudioFrame::from_f32(f.format(), &f.to_f32_vec()).unwrap();
        assert_eq!(back, f);
        assert_eq!(f.frames(), 2);
        assert!(AudioFrame::from_pcm16(AudioFormat::new(48_000, 2), vec![0; 3]).is_err());
    }
}
