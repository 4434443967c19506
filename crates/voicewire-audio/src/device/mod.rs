//! The [`AudioDevice`] trait and the devices built into this crate.
//!
//! A device owns the hardware (or file, or app callback) and runs the real-time side; the
//! [`crate::AudioPipeline`] owns the async side. They meet in [`DeviceIo`]: the device gets
//! the callback ends of the capture ring and the playout buffer and must only call
//! [`CaptureSink::push`] and [`PlayoutSource::pull`] from its audio thread. Platform crates
//! (CoreAudio, Oboe/AAudio) implement the same trait. Threading rules are written down in
//! `docs/decisions/0003-audio-threading.md`.

use crate::capture::CaptureSink;
use crate::error::AudioError;
use crate::format::AudioFormat;
use crate::playout::PlayoutSource;

pub mod file;
pub mod manual;
pub mod null;

#[cfg(feature = "desktop")]
pub mod desktop;
mod pacer;

/// The real-time ends handed to a device on start.
///
/// Either end is `None` when the pipeline was built without that direction (the device
/// reported no capture or no playback format).
#[derive(Debug)]
pub struct DeviceIo {
    /// Push microphone audio here from the capture callback.
    pub capture: Option<CaptureSink>,
    /// Pull speaker audio from here in the playback callback.
    pub playout: Option<PlayoutSource>,
}

/// Something that captures and/or plays audio in real time.
///
/// Lifecycle: the pipeline asks for the formats, builds the rings, then calls
/// [`AudioDevice::start`] once with the [`DeviceIo`]. [`AudioDevice::stop`] ends the audio
/// threads and drops the real-time ends; a stopped device may be started again with a new
/// `DeviceIo`. Implementations must never allocate, lock or block inside their audio
/// callbacks; everything they need is preallocated in `start`.
pub trait AudioDevice: Send {
    /// A human-readable name for logs and errors.
    fn name(&self) -> &str;

    /// The interleaved format the device captures in, or `None` if it does not capture.
    fn capture_format(&self) -> Option<AudioFormat>;

    /// The interleaved format the device plays in, or `None` if it does not play.
    fn playback_format(&self) -> Option<AudioFormat>;

    /// Starts the audio threads with the real-time ends of the pipeline.
    fn start(&mut self, io: DeviceIo) -> Result<(), AudioError>;

    /// Stops the audio threads. Stopping a stopped device is a no-op.
    fn stop(&mut self) -> Result<(), AudioError>;

    /// True between a successful `start` and `stop`.
    fn is_running(&self) -> bool;
}

impl<D: AudioDevice + ?Sized> AudioDevice for Box<D> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn capture_format(&self) -> Option<AudioFormat> {
        (**self).capture_format()
    }
    fn playback_format(&self) -> Option<AudioFormat> {
        (**self).playback_format()
    }
    fn start(&mut self, io: DeviceIo) -> Result<(), AudioError> {
        (**self).start(io)
    }
    fn stop(&mut self) -> Result<(), AudioError> {
        (**self).stop()
    }
    fn is_running(&self) -> bool {
        (**self).is_running()
    }
}
