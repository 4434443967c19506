//! [`VoiceProcessingDevice`]: capture and playback through the VoiceProcessingIO unit.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use coreaudio::audio_unit::audio_format::LinearPcmFlags;
use coreaudio::audio_unit::render_callback::{self, data};
use coreaudio::audio_unit::{AudioUnit, Element, IOType, SampleFormat, Scope, StreamFormat};
use objc2_audio_toolbox::{
    kAUVoiceIOProperty_BypassVoiceProcessing, kAUVoiceIOProperty_VoiceProcessingEnableAGC,
    kAudioOutputUnitProperty_EnableIO,
};
use voicewire_audio::platform::{
    AudioEngineControl, HardwareHint, NegotiatedFormat, PlatformAudioController, PlatformDevice,
    PlatformEngine, PlatformError, RealtimeSlots, SessionConfig, negotiate,
};
use voicewire_audio::{AudioDevice, AudioError, AudioFormat, DeviceIo};

use crate::session::{AvAudioSessionBackend, SessionObservers};

const DEVICE_NAME: &str = "coreaudio-voice-processing";

type Args = render_callback::Args<data::Interleaved<f32>>;

fn unit_error(operation: &'static str, e: coreaudio::Error) -> PlatformError {
    PlatformError::backend(operation, e)
}

#[derive(Default)]
struct EngineState {
    /// The pipeline ends while the device is started (between `start` and `stop`).
    slots: Option<RealtimeSlots>,
    /// The running unit (absent while stopped or suspended by an interruption).
    unit: Option<AudioUnit>,
}

/// The audio unit and the pipeline ends; driven by the device and the controller.
struct VoiceProcessingEngine {
    format: NegotiatedFormat,
    voice_processing: std::sync::atomic::AtomicBool,
    state: Mutex<EngineState>,
}

impl VoiceProcessingEngine {
    fn lock(&self) -> MutexGuard<'_, EngineState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn voice_processing(&self) -> bool {
        self.voice_processing
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Builds, configures and starts a VoiceProcessingIO unit wired to the slots.
    fn open_unit(&self, slots: &RealtimeSlots) -> Result<AudioUnit, PlatformError> {
        let mut unit = AudioUnit::new_uninitialized(IOType::VoiceProcessingIO)
            .map_err(|e| unit_error("create VoiceProcessingIO unit", e))?;
        let enable: u32 = 1;
        unit.set_property(
            kAudioOutputUnitProperty_EnableIO,
            Scope::Input,
            Element::Input,
            Some(&enable),
        )
        .map_err(|e| unit_error("enable microphone input", e))?;
        unit.set_property(
            kAudioOutputUnitProperty_EnableIO,
            Scope::Output,
            Element::Output,
            Some(&enable),
        )
        .map_err(|e| unit_error("enable speaker output", e))?;
        // The client side of both buses runs at the negotiated format for the device's whole
        // life; the unit converts when the route changes the hardware rate.
        let client = |format: AudioFormat| StreamFormat {
            sample_rate: f64::from(format.sample_rate),
            sample_format: SampleFormat::F32,
            flags: LinearPcmFlags::IS_FLOAT | LinearPcmFlags::IS_PACKED,
            channels: u32::from(format.channels),
        };
        unit.set_stream_format(client(self.format.capture), Scope::Output, Element::Input)
            .map_err(|e| unit_error("set microphone format", e))?;
        unit.set_stream_format(client(self.format.playback), Scope::Input, Element::Output)
            .map_err(|e| unit_error("set speaker format", e))?;
        apply_voice_processing(&mut unit, self.voice_processing())?;
        unit.initialize()
            .map_err(|e| unit_error("initialize VoiceProcessingIO unit", e))?;

        let capture_channels = self.format.capture.channels;
        let mut capture = slots.capture.lease();
        unit.set_input_callback(move |args: Args| {
            if let Some(half) = capture.as_mut() {
                half.on_input(args.data.buffer, capture_channels);
            }
            Ok(())
        })
        .map_err(|e| unit_error("set input callback", e))?;
        let playback_channels = self.format.playback.channels;
        let mut playback = slots.playback.lease();
        unit.set_render_callback(move |args: Args| {
            match playback.as_mut() {
                Some(half) => {
                    half.on_output(args.data.buffer, playback_channels);
                }
                None => args.data.buffer.fill(0.0),
            }
            Ok(())
        })
        .map_err(|e| unit_error("set render callback", e))?;
        unit.start()
            .map_err(|e| unit_error("start VoiceProcessingIO unit", e))?;
        Ok(unit)
    }
}

impl PlatformEngine for VoiceProcessingEngine {
    fn start(&self, slots: RealtimeSlots) -> Result<(), PlatformError> {
        let mut state = self.lock();
        let unit = self.open_unit(&slots)?;
        state.unit = Some(unit);
        state.slots = Some(slots);
        Ok(())
    }

    fn stop(&self) {
        let mut state = self.lock();
        // Dropping the unit stops it and frees the callbacks, which hands the ends back.
        state.unit = None;
        if let Some(slots) = state.slots.take() {
            slots.clear();
        }
    }

    fn is_running(&self) -> bool {
        self.lock().slots.is_some()
    }
}

fn apply_voice_processing(unit: &mut AudioUnit, enabled: bool) -> Result<(), PlatformError> {
    let bypass: u32 = u32::from(!enabled);
    unit.set_property(
        kAUVoiceIOProperty_BypassVoiceProcessing,
        Scope::Global,
        Element::Output,
        Some(&bypass),
    )
    .map_err(|e| unit_error("set voice-processing bypass", e))?;
    let agc: u32 = u32::from(enabled);
    unit.set_property(
        kAUVoiceIOProperty_VoiceProcessingEnableAGC,
        Scope::Global,
        Element::Output,
        Some(&agc),
    )
    .map_err(|e| unit_error("set automatic gain control", e))
}

impl AudioEngineControl for VoiceProcessingEngine {
    fn suspend(&self) -> Result<(), PlatformError> {
        // iOS already stopped the I/O; disposing the unit returns the ends to their slots.
        self.lock().unit = None;
        Ok(())
    }

    fn resume(&self) -> Result<(), PlatformError> {
        let mut state = self.lock();
        let Some(slots) = state.slots.clone() else {
            return Err(PlatformError::NotRunning);
        };
        state.unit = None;
        state.unit = Some(self.open_unit(&slots)?);
        Ok(())
    }

    fn rebuild(&self) -> Result<(), PlatformError> {
        // After a media-services reset every unit is dead; the resume that follows builds
        // a new one.
        self.lock().unit = None;
        Ok(())
    }

    fn set_voice_processing(&self, enabled: bool) -> Result<(), PlatformError> {
        self.voice_processing
            .store(enabled, std::sync::atomic::Ordering::Relaxed);
        let mut state = self.lock();
        if let Some(unit) = state.unit.as_mut() {
            apply_voice_processing(unit, enabled)?;
        }
        Ok(())
    }
}

/// Microphone and speaker through Apple's VoiceProcessingIO unit, with AVAudioSession policy.
///
/// Create it with a [`SessionConfig`], keep [`VoiceProcessingDevice::controller`] for routes,
/// the voice-processing switch, levels and events, and hand the device to the session. Its
/// formats are mono at the hardware rate when it was created (the pipeline resamples to the
/// wire rate); later rate changes (Bluetooth HFP) are converted inside the unit.
pub struct VoiceProcessingDevice {
    // Declared first so it is dropped first: the unit stops and the session is deactivated
    // while the observers still listen.
    device: PlatformDevice<VoiceProcessingEngine>,
    _observers: SessionObservers,
}

impl std::fmt::Debug for VoiceProcessingDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceProcessingDevice")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl VoiceProcessingDevice {
    /// A device with the given session policy. Registers for AVAudioSession notifications;
    /// the session itself is configured and activated on `start` (SDK-managed mode).
    pub fn new(config: SessionConfig) -> Result<Self, AudioError> {
        let backend = AvAudioSessionBackend;
        let format = negotiate(HardwareHint {
            sample_rate: Some(backend.hardware_sample_rate()),
            io_buffer_seconds: Some(backend.io_buffer_duration()),
        });
        let controller = PlatformAudioController::new(config, Arc::new(backend));
        let engine = Arc::new(VoiceProcessingEngine {
            format,
            voice_processing: std::sync::atomic::AtomicBool::new(config.voice_processing),
            state: Mutex::new(EngineState::default()),
        });
        let observers = SessionObservers::register(&controller);
        Ok(Self {
            device: PlatformDevice::new(DEVICE_NAME, format, controller, engine),
            _observers: observers,
        })
    }

    /// Route control, the voice-processing switch, resume, levels and the event listener.
    pub fn controller(&self) -> &Arc<PlatformAudioController> {
        self.device.controller()
    }
}

impl AudioDevice for VoiceProcessingDevice {
    fn name(&self) -> &str {
        self.device.name()
    }

    fn capture_format(&self) -> Option<AudioFormat> {
        self.device.capture_format()
    }

    fn playback_format(&self) -> Option<AudioFormat> {
        self.device.playback_format()
    }

    fn start(&mut self, io: DeviceIo) -> Result<(), AudioError> {
        self.device.start(io)
    }

    fn stop(&mut self) -> Result<(), AudioError> {
        self.device.stop()
    }

    fn is_running(&self) -> bool {
        self.device.is_running()
    }
}
