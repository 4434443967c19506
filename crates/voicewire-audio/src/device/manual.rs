//! [`ManualDevice`]: the app pushes microphone audio and pulls speaker audio itself.
//!
//! For React Native and apps with their own audio stack: the app's audio callback (or any
//! thread) calls [`ManualDeviceHandle::push_capture`] and
//! [`ManualDeviceHandle::pull_playback`]. Those never block: each direction sits behind its
//! own mutex that is only ever *tried* (`try_lock`); the only other holder is
//! `start`/`stop`, so a push or pull racing a start or stop is skipped (reported as 0
//! frames) instead of waiting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

use crate::capture::CaptureSink;
use crate::device::{AudioDevice, DeviceIo};
use crate::error::AudioError;
use crate::format::AudioFormat;
use crate::frame::AudioFrame;
use crate::playout::PlayoutSource;

#[derive(Debug, Default)]
struct ManualSlots {
    capture: Mutex<Option<CaptureSink>>,
    playout: Mutex<Option<PlayoutSource>>,
    running: AtomicBool,
}

/// A device driven by the app. Create it, keep a [`ManualDeviceHandle`], give the device to
/// the session.
#[derive(Debug)]
pub struct ManualDevice {
    capture: Option<AudioFormat>,
    playback: Option<AudioFormat>,
    slots: Arc<ManualSlots>,
}

/// The app's end of a [`ManualDevice`]; cheap to clone and `Send + Sync`.
#[derive(Debug, Clone)]
pub struct ManualDeviceHandle {
    capture: Option<AudioFormat>,
    playback: Option<AudioFormat>,
    slots: Arc<ManualSlots>,
}

impl ManualDevice {
    /// A manual device with the given directions (either may be `None`).
    pub fn new(capture: Option<AudioFormat>, playback: Option<AudioFormat>) -> Self {
        Self {
            capture,
            playback,
            slots: Arc::new(ManualSlots::default()),
        }
    }

    /// A manual device capturing and playing the same format.
    pub fn duplex(format: AudioFormat) -> Self {
        Self::new(Some(format), Some(format))
    }

    /// The app's handle for pushing and pulling.
    pub fn handle(&self) -> ManualDeviceHandle {
        ManualDeviceHandle {
            capture: self.capture,
            playback: self.playback,
            slots: Arc::clone(&self.slots),
        }
    }
}

fn lock_slot<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned slot only means a previous holder panicked; the data is a ring end that is
    // still consistent, so keep using it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AudioDevice for ManualDevice {
    fn name(&self) -> &str {
        "manual"
    }

    fn capture_format(&self) -> Option<AudioFormat> {
        self.capture
    }

    fn playback_format(&self) -> Option<AudioFormat> {
        self.playback
    }

    fn start(&mut self, io: DeviceIo) -> Result<(), AudioError> {
        if self.slots.running.load(Ordering::Acquire) {
            return Err(AudioError::DeviceState {
                device: "manual".into(),
                state: "already running",
            });
        }
        *lock_slot(&self.slots.capture) = io.capture;
        *lock_slot(&self.slots.playout) = io.playout;
        self.slots.running.store(true, Ordering::Release);
        Ok(())
    }

    fn stop(&mut self) -> Result<(), AudioError> {
        self.slots.running.store(false, Ordering::Release);
        *lock_slot(&self.slots.capture) = None;
        *lock_slot(&self.slots.playout) = None;
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.slots.running.load(Ordering::Acquire)
    }
}

impl ManualDeviceHandle {
    /// The capture format pushes must use.
    pub fn capture_format(&self) -> Option<AudioFormat> {
        self.capture
    }

    /// The playback format pulls deliver.
    pub fn playback_format(&self) -> Option<AudioFormat> {
        self.playback
    }

    /// True while the device is started.
    pub fn is_running(&self) -> bool {
        self.slots.running.load(Ordering::Acquire)
    }

    /// Pushes interleaved capture samples (PCM16 or f32) in the capture format. Returns the
    /// frames accepted: 0 when the device is not running, is being started/stopped, or the
    /// ring is full. Never blocks or allocates.
    pub fn push_capture<S: crate::convert::Sample>(&self, interleaved: &[S]) -> usize {
        match self.slots.capture.try_lock() {
            Ok(mut slot) => slot.as_mut().map_or(0, |sink| sink.push(interleaved)),
            Err(TryLockError::Poisoned(p)) => p
                .into_inner()
                .as_mut()
                .map_or(0, |sink| sink.push(interleaved)),
            Err(TryLockError::WouldBlock) => 0,
        }
    }

    /// Pushes a frame, checking its format against the capture format first.
    pub fn push_capture_frame(&self, frame: &AudioFrame) -> Result<usize, AudioError> {
        let expected = self.capture.ok_or(AudioError::DeviceState {
            device: "manual".into(),
            state: "without a capture direction",
        })?;
        if frame.format() != expected {
            return Err(AudioError::FormatMismatch {
                expected,
                actual: frame.format(),
            });
        }
        Ok(self.push_capture(frame.pcm16()))
    }

    /// Fills `out` (interleaved, playback format, PCM16 or f32) with playback audio; silence
    /// where nothing is queued. Returns frames of real audio. Not running: fills silence and
    /// returns 0. Never blocks or allocates.
    pub fn pull_playback<S: crate::convert::Sample>(&self, out: &mut [S]) -> usize {
        let pulled = match self.slots.playout.try_lock() {
            Ok(mut slot) => slot.as_mut().map(|src| src.pull(out)),
            Err(TryLockError::Poisoned(p)) => p.into_inner().as_mut().map(|src| src.pull(out)),
            Err(TryLockError::WouldBlock) => None,
        };
        match pulled {
            Some(n) => n,
            None => {
                out.iter_mut().for_each(|s| *s = S::SILENCE);
                0
            }
        }
    }
}
