//! Audio device choice and [`ManualAudio`], the push/pull device for React Native and apps
//! with their own audio stack.

use std::sync::{Arc, Mutex};

use voicewire::audio::{AudioDevice, AudioFormat, ManualDevice, ManualDeviceHandle};

use crate::error::VoiceError;
use crate::platform_audio_control::PlatformAudio;

/// The most audio one [`ManualAudio::pull_playback`] call returns, in seconds.
pub const MAX_PULL_SECONDS: u32 = 1;

/// Which audio device a session uses.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum AudioChoice {
    /// No device: text-only sessions, or audio pushed with `RealtimeVoiceSession.push_audio`.
    NoDevice,
    /// The platform's microphone and speaker with default options: VoiceProcessingIO on iOS;
    /// on Android AAudio voice-communication streams (platform echo cancellation) on the
    /// system's routing, with the audio session (mode, focus) left to the app; the default
    /// desktop device on desktop builds with `desktop-audio`. For route control, the
    /// echo-cancellation switch and levels use `Platform` (Android: `AndroidPlatformAudio`).
    PlatformDefault,
    /// The phone's device with its route control (see [`PlatformAudio`]).
    Platform {
        /// The device (usable by one session).
        audio: Arc<PlatformAudio>,
    },
    /// The app pushes capture PCM and pulls playback PCM through a [`ManualAudio`].
    Manual {
        /// The device (usable by one session).
        device: Arc<ManualAudio>,
    },
}

impl AudioChoice {
    /// The device to give the session, if any.
    pub(crate) fn into_device(self) -> Result<Option<Box<dyn AudioDevice>>, VoiceError> {
        match self {
            AudioChoice::NoDevice => Ok(None),
            AudioChoice::PlatformDefault => platform_default_device().map(Some),
            AudioChoice::Platform { audio } => audio.take_device().map(Some),
            AudioChoice::Manual { device } => device
                .take_device()
                .map(|d| Some(Box::new(d) as Box<dyn AudioDevice>)),
        }
    }
}

/// iOS: VoiceProcessingIO with AVAudioSession driven from Rust, default options.
#[cfg(target_os = "ios")]
fn platform_default_device() -> Result<Box<dyn AudioDevice>, VoiceError> {
    crate::platform_audio_control::default_ios_device()
}

/// Android: the AAudio voice-communication streams (platform echo cancellation) on the
/// system's routing, with the session (mode, focus) left to the app. Route choice needs
/// Java's AudioManager, which only the app can hand in: apps that want it use
/// `AudioChoice.Platform` with `AndroidPlatformAudio(context)`; React Native, which has no
/// `Context` to give, gets working audio this way.
#[cfg(target_os = "android")]
fn platform_default_device() -> Result<Box<dyn AudioDevice>, VoiceError> {
    let device = voicewire_audio_oboe::AAudioDevice::without_app_session(
        voicewire_audio_oboe::HardwareHint::default(),
    )
    .map_err(voicewire::Error::from)?;
    Ok(Box::new(device))
}

/// Desktop builds use the default input and output of the OS (cpal).
#[cfg(all(
    not(any(target_os = "ios", target_os = "android")),
    feature = "desktop-audio"
))]
fn platform_default_device() -> Result<Box<dyn AudioDevice>, VoiceError> {
    let device = voicewire::audio::DesktopDevice::open_default().map_err(voicewire::Error::from)?;
    Ok(Box::new(device))
}

#[cfg(all(
    not(any(target_os = "ios", target_os = "android")),
    not(feature = "desktop-audio")
))]
fn platform_default_device() -> Result<Box<dyn AudioDevice>, VoiceError> {
    Err(VoiceError::AudioDevice {
        detail: "this build has no platform audio device (enable the desktop-audio feature)".into(),
    })
}

/// A device the app drives: push microphone PCM, pull speaker PCM (PCM16 little-endian,
/// interleaved).
///
/// Pushes and pulls never block, but every call crosses the FFI with an owned buffer and so
/// allocates on both sides: call them from a non-real-time thread (a timer, or a thread that
/// drains a lock-free ring the app's own audio callback fills), never from the real-time
/// audio callback itself. One pull returns at most `MAX_PULL_SECONDS` (1) second of audio.
#[derive(Debug, uniffi::Object)]
pub struct ManualAudio {
    device: Mutex<Option<ManualDevice>>,
    handle: ManualDeviceHandle,
}

#[uniffi::export]
impl ManualAudio {
    /// A device capturing at `capture_sample_rate`/`capture_channels` and playing at
    /// `playback_sample_rate`/`playback_channels` (the engine resamples both ways).
    #[uniffi::constructor]
    pub fn new(
        capture_sample_rate: u32,
        capture_channels: u16,
        playback_sample_rate: u32,
        playback_channels: u16,
    ) -> Result<Arc<Self>, VoiceError> {
        let format = |sample_rate, channels| {
            AudioFormat {
                sample_rate,
                channels,
            }
            .validate()
            .map_err(|e| VoiceError::from(voicewire::Error::from(e)))
        };
        let device = ManualDevice::new(
            Some(format(capture_sample_rate, capture_channels)?),
            Some(format(playback_sample_rate, playback_channels)?),
        );
        let handle = device.handle();
        Ok(Arc::new(ManualAudio {
            device: Mutex::new(Some(device)),
            handle,
        }))
    }

    /// Pushes microphone audio (PCM16 LE, interleaved, capture format). Returns the frames
    /// accepted: 0 while the session is not running audio or when its buffer is full.
    pub fn push_capture(&self, pcm16le: Vec<u8>) -> Result<u32, VoiceError> {
        if !pcm16le.len().is_multiple_of(2) {
            return Err(VoiceError::AudioDevice {
                detail: "PCM16 data must have an even number of bytes".into(),
            });
        }
        let samples: Vec<i16> = pcm16le
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        Ok(u32::try_from(self.handle.push_capture(&samples)).unwrap_or(u32::MAX))
    }

    /// Pulls `frames` frames of speaker audio (PCM16 LE, interleaved, playback format);
    /// silence where nothing is queued. Asking for more than one second of audio (the
    /// playback sample rate in frames) is an `AudioDevice` error, so an app-supplied count
    /// can never trigger a huge allocation.
    pub fn pull_playback(&self, frames: u32) -> Result<Vec<u8>, VoiceError> {
        let (channels, sample_rate) = self
            .handle
            .playback_format()
            .map_or((1, 48_000), |f| (usize::from(f.channels), f.sample_rate));
        let max_frames = sample_rate.saturating_mul(MAX_PULL_SECONDS);
        if frames > max_frames {
            return Err(VoiceError::AudioDevice {
                detail: format!(
                    "pull_playback asked for {frames} frames; at most {max_frames} \
                     ({MAX_PULL_SECONDS} s at {sample_rate} Hz) per call"
                ),
            });
        }
        let sample_count = usize::try_from(frames)
            .ok()
            .and_then(|f| f.checked_mul(channels))
            .ok_or_else(|| VoiceError::AudioDevice {
                detail: format!("pull_playback: {frames} frames do not fit in memory"),
            })?;
        let mut samples = vec![0i16; sample_count];
        self.handle.pull_playback(&mut samples);
        let mut bytes = Vec::with_capacity(sample_count * 2);
        for sample in &samples {
            bytes.extend_from_slice(&sample.to_le_bytes());
        }
        Ok(bytes)
    }

    /// True while a session runs this device.
    pub fn is_running(&self) -> bool {
        self.handle.is_running()
    }
}

impl ManualAudio {
    fn take_device(&self) -> Result<ManualDevice, VoiceError> {
        self.device
            .lock()
            .ok()
            .and_then(|mut d| d.take())
            .ok_or_else(|| VoiceError::AudioDevice {
                detail: "this ManualAudio is already used by a session; create one per session"
                    .into(),
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pull_playback_caps_the_app_supplied_frame_count() {
        let audio = ManualAudio::new(24_000, 1, 48_000, 2).unwrap();
        let pcm = audio.pull_playback(480).unwrap();
        assert_eq!(pcm.len(), 480 * 2 * 2);
        assert!(pcm.iter().all(|b| *b == 0));
        assert_eq!(audio.pull_playback(48_000).unwrap().len(), 48_000 * 2 * 2);
        assert!(matches!(
            audio.pull_playback(48_001),
            Err(VoiceError::AudioDevice { .. })
        ));
        assert!(matches!(
            audio.pull_playback(u32::MAX),
            Err(VoiceError::AudioDevice { .. })
        ));
    }

    #[test]
    fn push_capture_rejects_odd_byte_counts() {
        let audio = ManualAudio::new(24_000, 1, 24_000, 1).unwrap();
        assert!(matches!(
            audio.push_capture(vec![0; 3]),
            Err(VoiceError::AudioDevice { .. })
        ));
        assert_eq!(audio.push_capture(vec![0; 4]).unwrap(), 0);
    }
}
