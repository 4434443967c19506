//! [`NullDevice`]: a virtual sound card that plays into nowhere and records silence.

use std::time::Duration;

use crate::device::pacer::Pacer;
use crate::device::{AudioDevice, DeviceIo};
use crate::error::AudioError;
use crate::format::AudioFormat;

/// Tick period of the null device's clock.
const TICK: Duration = Duration::from_millis(10);

/// A device with a real-time clock and no hardware: playback is consumed at real-time pace
/// and discarded (so playout accounting advances as if a speaker played it), and capture
/// delivers digital silence. Use it for headless runs and servers; use
/// [`crate::FileDevice`] when you need to hear or check the audio.
#[derive(Debug)]
pub struct NullDevice {
    capture: Option<AudioFormat>,
    playback: Option<AudioFormat>,
    pacer: Option<Pacer>,
}

impl NullDevice {
    /// A null device capturing and playing `format`.
    pub fn new(format: AudioFormat) -> Self {
        Self {
            capture: Some(format),
            playback: Some(format),
            pacer: None,
        }
    }

    /// A null device with independent (or absent) directions.
    pub fn with_formats(capture: Option<AudioFormat>, playback: Option<AudioFormat>) -> Self {
        Self {
            capture,
            playback,
            pacer: None,
        }
    }
}

impl Default for NullDevice {
    /// 48 kHz mono both ways.
    fn default() -> Self {
        Self::new(AudioFormat::mono(48_000))
    }
}

impl AudioDevice for NullDevice {
    fn name(&self) -> &str {
        "null"
    }

    fn capture_format(&self) -> Option<AudioFormat> {
        self.capture
    }

    fn playback_format(&self) -> Option<AudioFormat> {
        self.playback
    }

    fn start(&mut self, io: DeviceIo) -> Result<(), AudioError> {
        if self.pacer.is_some() {
            return Err(AudioError::DeviceState {
                device: "null".into(),
                state: "already running",
            });
        }
        let DeviceIo {
            mut capture,
            mut playout,
        } = io;
        let capture_buf = self
            .capture
            .map(|f| vec![0i16; f.samples_for_ms(10)])
            .unwrap_or_default();
        let mut playback_buf = self
            .playback
            .map(|f| vec![0i16; f.samples_for_ms(10)])
            .unwrap_or_default();
        self.pacer = Some(Pacer::spawn("voicewire-null-audio", TICK, move || {
            if let Some(c) = capture.as_mut() {
                c.push(&capture_buf);
            }
            if let Some(p) = playout.as_mut() {
                p.pull(&mut playback_buf);
            }
            true
        })?);
        Ok(())
    }

    fn stop(&mut self) -> Result<(), AudioError> {
        if let Some(mut p) = self.pacer.take() {
            p.stop();
        }
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.pacer.is_some()
    }
}
