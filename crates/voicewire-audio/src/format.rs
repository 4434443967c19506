//! Audio format descriptions: sample rate and channel count.

use std::fmt;

use crate::error::AudioError;

/// The most channels any part of this crate accepts. Devices with more are asked for stereo.
pub const MAX_CHANNELS: u16 = 8;

/// Sample rate and channel count of an interleaved PCM stream.
///
/// The sample representation (PCM16 or f32) is not part of the format: [`crate::AudioFrame`]
/// stores PCM16 and offers f32 views, and the device callback paths accept both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioFormat {
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels per frame.
    pub channels: u16,
}

impl AudioFormat {
    /// The WebSocket wire format of the Realtime API: PCM16 mono at 24 kHz.
    pub const WIRE_PCM16_24K: AudioFormat = AudioFormat {
        sample_rate: 24_000,
        channels: 1,
    };
    /// The WebRTC wire format: Opus runs at 48 kHz; we use it mono.
    pub const OPUS_48K: AudioFormat = AudioFormat {
        sample_rate: 48_000,
        channels: 1,
    };

    /// A format with the given rate and channel count (not validated; see [`Self::validate`]).
    pub const fn new(sample_rate: u32, channels: u16) -> Self {
        Self {
            sample_rate,
            channels,
        }
    }

    /// A mono format at `sample_rate`.
    pub const fn mono(sample_rate: u32) -> Self {
        Self {
            sample_rate,
            channels: 1,
        }
    }

    /// Checks that the format is usable: a rate between 1 kHz and 384 kHz and 1..=8 channels.
    pub fn validate(self) -> Result<Self, AudioError> {
        if (1_000..=384_000).contains(&self.sample_rate)
            && (1..=MAX_CHANNELS).contains(&self.channels)
        {
            Ok(self)
        } else {
            Err(AudioError::UnsupportedFormat(self))
        }
    }

    /// Frames in `ms` milliseconds (rounded down).
    pub const fn frames_for_ms(self, ms: u32) -> usize {
        (self.sample_rate as u64 * ms as u64 / 1000) as usize
    }

    /// Interleaved samples in `ms` milliseconds (rounded down to whole frames).
    pub const fn samples_for_ms(self, ms: u32) -> usize {
        self.frames_for_ms(ms) * self.channels as usize
    }

    /// Whole milliseconds covered by `frames` frames (rounded down). This is the rounding the
    /// Realtime API's `audio_end_ms` expects: never claim more than was played.
    pub const fn ms_for_frames(self, frames: u64) -> u64 {
        frames * 1000 / self.sample_rate as u64
    }

    /// Frames in an interleaved buffer of `samples` samples, or an error when the buffer is not
    /// a whole number of frames.
    pub fn frames_in(self, samples: usize) -> Result<usize, AudioError> {
        let channels = usize::from(self.channels.max(1));
        if samples.is_multiple_of(channels) {
            Ok(samples / channels)
        } else {
            Err(AudioError::RaggedFrame {
                samples,
                channels: self.channels,
            })
        }
    }
}

impl fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layout = match self.channels {
            1 => "mono".to_owned(),
            2 => "stereo".to_owned(),
            n => format!("{n} ch"),
        };
        write!(f, "{} Hz {}", self.sample_rate, layout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_formats_and_durations() {
        let wire = AudioFormat::WIRE_PCM16_24K;
        assert_eq!(wire.frames_for_ms(20), 480);
        assert_eq!(AudioFormat::OPUS_48K.samples_for_ms(20), 960);
        assert_eq!(AudioFormat::new(44_100, 2).samples_for_ms(10), 882);
        assert_eq!(wire.ms_for_frames(23_999), 999);
        assert_eq!(wire.ms_for_frames(24_000), 1000);
        assert_eq!(wire.to_string(), "24000 Hz mono");
    }

    #[test]
    fn validation_rejects_nonsense() {
        assert!(AudioFormat::new(0, 1).validate().is_err());
        assert!(AudioFormat::new(48_000, 0).validate().is_err());
        assert!(AudioFormat::new(48_000, 9).validate().is_err());
        assert!(AudioFormat::new(44_100, 2).validate().is_ok());
        assert!(AudioFormat::new(44_100, 2).frames_in(3).is_err());
        assert_eq!(AudioFormat::new(44_100, 2).frames_in(4).unwrap(), 2);
    }
}
