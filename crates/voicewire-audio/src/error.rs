//! The audio layer's error type.

use crate::format::AudioFormat;

/// Everything that can go wrong in the audio layer.
///
/// Variants carry enough context to act on: a format mismatch names both formats, a device
/// error names the device. Nothing here wraps a panic: bad input from the app or the network
/// becomes one of these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// A format that this crate cannot work with (zero rate, zero or too many channels).
    #[error("unsupported audio format: {0}")]
    UnsupportedFormat(AudioFormat),
    /// Samples handed in do not match the format they were declared with.
    #[error(
        "sample buffer of {samples} samples is not a whole number of {channels}-channel frames"
    )]
    RaggedFrame {
        /// Number of interleaved samples handed in.
        samples: usize,
        /// Channel count of the declared format.
        channels: u16,
    },
    /// Audio arrived in a format other than the one expected.
    #[error("format mismatch: expected {expected}, got {actual}")]
    FormatMismatch {
        /// Format the receiver was configured for.
        expected: AudioFormat,
        /// Format that arrived.
        actual: AudioFormat,
    },
    /// The resampler could not be built or run.
    #[error("resampler error: {0}")]
    Resampler(String),
    /// The playout buffer is at its cap; the samples that did not fit were not queued.
    #[error("playout buffer full: {accepted} of {offered} wire samples accepted (cap {cap_ms} ms)")]
    PlayoutOverflow {
        /// Wire samples that were queued.
        accepted: usize,
        /// Wire samples offered.
        offered: usize,
        /// The configured cap in milliseconds.
        cap_ms: u32,
    },
    /// Opus encoder or decoder failure.
    #[error("opus: {0}")]
    Opus(String),
    /// The echo canceller failed (its worker stopped or rejected the audio).
    #[error("echo canceller: {0}")]
    EchoCanceller(String),
    /// WAV file could not be read or written.
    #[error("wav file {path}: {message}")]
    Wav {
        /// The file involved.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A device could not be opened, configured, started or stopped.
    #[error("audio device {device}: {message}")]
    Device {
        /// Device name (or kind, when no name is known).
        device: String,
        /// What went wrong.
        message: String,
    },
    /// A device was started twice, or stopped/driven before it was started.
    #[error("audio device {device} is {state}")]
    DeviceState {
        /// Device name.
        device: String,
        /// Human-readable state ("already running", "not running").
        state: &'static str,
    },
}

impl AudioError {
    pub(crate) fn device(device: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Device {
            device: device.into(),
            message: message.to_string(),
        }
    }
}
