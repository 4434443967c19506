//! Format negotiation between the hardware and the pipeline.
//!
//! The pipeline's rings are built once for the device formats reported before start, but
//! phone hardware changes rate under us (a Bluetooth HFP headset runs at 16 kHz or 8 kHz,
//! the built-in route at 48 kHz). So a platform device fixes its *client* format at start —
//! mono, at the hardware rate of that moment, so the common case needs no extra conversion —
//! and keeps it across route changes and reopens: CoreAudio's I/O unit and AAudio convert
//! between a changed hardware rate and the client format themselves. When a platform cannot
//! give us the client format back after a reopen, [`check_reopened`] says so and the device
//! reports a typed error instead of playing at the wrong speed. The device→wire resampling
//! stays in the pipeline ([`crate::StreamResampler`]).

use crate::error::AudioError;
use crate::format::AudioFormat;

/// Rates accepted as a client rate as-is. Others (a DAC at 176.4 kHz, a bogus 0) fall back to
/// [`FALLBACK_RATE`]; voice never needs more than 48 kHz.
pub const CLIENT_RATES: [u32; 8] = [
    8_000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
];

/// The client rate used when the hardware rate is unknown or unusual.
pub const FALLBACK_RATE: u32 = 48_000;

/// What the platform reports about the hardware before the stream opens.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HardwareHint {
    /// The hardware (route) sample rate, if the platform knows it (iOS
    /// `AVAudioSession.sampleRate`, Android `PROPERTY_OUTPUT_SAMPLE_RATE`).
    pub sample_rate: Option<f64>,
    /// The hardware I/O buffer duration in seconds, if known.
    pub io_buffer_seconds: Option<f64>,
}

/// The client formats a platform device runs with for its whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NegotiatedFormat {
    /// The microphone format handed to the pipeline (mono: voice processing is mono).
    pub capture: AudioFormat,
    /// The speaker format handed to the pipeline (mono; the platform fans out to the route).
    pub playback: AudioFormat,
    /// The I/O buffer to ask the OS for, in frames at the client rate (10 ms: low latency
    /// for barge-in without the CPU cost of 5 ms buffers on older phones).
    pub preferred_buffer_frames: u32,
}

/// Picks the client format for a voice device from the hardware hint.
pub fn negotiate(hint: HardwareHint) -> NegotiatedFormat {
    let rate = hint
        .sample_rate
        .filter(|r| r.is_finite() && *r > 0.0)
        .map(|r| r.round() as u32)
        .filter(|r| CLIENT_RATES.contains(r))
        .unwrap_or(FALLBACK_RATE);
    let format = AudioFormat::mono(rate);
    NegotiatedFormat {
        capture: format,
        playback: format,
        preferred_buffer_frames: (rate / 100).max(1),
    }
}

/// The I/O buffer duration to ask the OS for, in seconds, for `frames` at `rate`.
pub fn buffer_seconds(frames: u32, rate: u32) -> f64 {
    f64::from(frames) / f64::from(rate.max(1))
}

/// Checks a stream the platform (re)opened against the client format the pipeline was built
/// for. The channel count may differ (the device adapts channels in the callback); the rate
/// may not.
pub fn check_reopened(
    expected: AudioFormat,
    actual_rate: u32,
    device: &str,
) -> Result<(), AudioError> {
    if actual_rate == expected.sample_rate {
        return Ok(());
    }
    let error = AudioError::FormatMismatch {
        expected,
        actual: AudioFormat::new(actual_rate, expected.channels),
    };
    tracing::warn!(device, %error, "reopened stream runs at another rate");
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hardware_rate_is_used_when_it_is_a_voice_rate() {
        let n = negotiate(HardwareHint {
            sample_rate: Some(48_000.0),
            io_buffer_seconds: Some(0.005),
        });
        assert_eq!(n.capture, AudioFormat::mono(48_000));
        assert_eq!(n.playback, AudioFormat::mono(48_000));
        assert_eq!(n.preferred_buffer_frames, 480);
        // A Bluetooth HFP route at start.
        assert_eq!(
            negotiate(HardwareHint {
                sample_rate: Some(16_000.0),
                ..HardwareHint::default()
            })
            .capture,
            AudioFormat::mono(16_000)
        );
        // 44.1 kHz reported as 44100.0000001 still counts.
        assert_eq!(
            negotiate(HardwareHint {
                sample_rate: Some(44_100.000_000_1),
                ..HardwareHint::default()
            })
            .capture
            .sample_rate,
            44_100
        );
    }

    #[test]
    fn unknown_or_odd_rates_fall_back_to_48k() {
        for r in [
            None,
            Some(0.0),
            Some(-1.0),
            Some(f64::NAN),
            Some(176_400.0),
            Some(96_000.0),
        ] {
            let n = negotiate(HardwareHint {
                sample_rate: r,
                io_buffer_seconds: None,
            });
            assert_eq!(n.capture.sample_rate, FALLBACK_RATE, "{r:?}");
        }
    }

    #[test]
    fn a_reopened_stream_at_another_rate_is_a_typed_error() {
        let f = AudioFormat::mono(48_000);
        assert!(check_reopened(f, 48_000, "test").is_ok());
        match check_reopened(f, 16_000, "test") {
            Err(AudioError::FormatMismatch { expected, actual }) => {
                assert_eq!(expected, f);
                assert_eq!(actual.sample_rate, 16_000);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!((buffer_seconds(480, 48_000) - 0.01).abs() < 1e-12);
    }
}
