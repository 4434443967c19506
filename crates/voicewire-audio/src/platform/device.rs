//! [`PlatformDevice`]: the one [`AudioDevice`] lifecycle every platform device shares.
//!
//! The iOS (VoiceProcessingIO) and Android (AAudio) devices differ only in how they open and
//! close OS streams. What happens around that is the same and lives here once: refuse a
//! second start, let the controller configure and activate the session first, hand the
//! pipeline ends to the engine, tell the controller the engine runs (so interruptions and
//! the route policy apply), connect the level meters, and undo all of it in the right order
//! on stop, on a failed start and on drop.

use std::sync::{Arc, Weak};

use super::bridge::RealtimeSlots;
use super::controller::{AudioEngineControl, PlatformAudioController, PlatformError};
use super::negotiate::NegotiatedFormat;
use crate::{AudioDevice, AudioError, AudioFormat, DeviceIo};

/// The OS-specific part of a platform device: opening and closing its streams.
///
/// Called on control threads with the device's `&mut` (start, stop), and through
/// [`AudioEngineControl`] from the controller (suspend, resume, rebuild, voice processing).
pub trait PlatformEngine: AudioEngineControl + 'static {
    /// Takes the pipeline ends and starts the OS streams. On failure the engine must not
    /// keep the slots (the pipeline ends are dropped with them).
    fn start(&self, slots: RealtimeSlots) -> Result<(), PlatformError>;
    /// Closes the OS streams and drops the pipeline ends for good.
    fn stop(&self);
    /// True between a successful [`Self::start`] and [`Self::stop`] (also while suspended by
    /// an interruption: the app still wants audio).
    fn is_running(&self) -> bool;
}

/// A platform device: a [`PlatformEngine`] driven by a [`PlatformAudioController`].
pub struct PlatformDevice<E: PlatformEngine> {
    name: &'static str,
    format: NegotiatedFormat,
    controller: Arc<PlatformAudioController>,
    engine: Arc<E>,
}

impl<E: PlatformEngine> std::fmt::Debug for PlatformDevice<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformDevice")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("running", &self.engine.is_running())
            .finish_non_exhaustive()
    }
}

impl<E: PlatformEngine> PlatformDevice<E> {
    /// A device called `name` running `engine` at `format`, attached to `controller` (which
    /// holds the engine weakly: the device owns both).
    pub fn new(
        name: &'static str,
        format: NegotiatedFormat,
        controller: Arc<PlatformAudioController>,
        engine: Arc<E>,
    ) -> Self {
        let weak: Weak<dyn AudioEngineControl> = Arc::downgrade(&engine) as _;
        controller.attach_engine(weak);
        Self {
            name,
            format,
            controller,
            engine,
        }
    }

    /// Route control, the voice-processing switch, resume, levels and the event listener.
    pub fn controller(&self) -> &Arc<PlatformAudioController> {
        &self.controller
    }

    /// The engine (for platform-specific queries such as Android's audio session id).
    pub fn engine(&self) -> &Arc<E> {
        &self.engine
    }

    /// The client formats the device keeps for its whole life.
    pub fn format(&self) -> NegotiatedFormat {
        self.format
    }

    fn error(&self, e: PlatformError) -> AudioError {
        AudioError::Device {
            device: self.name.to_owned(),
            message: e.to_string(),
        }
    }

    fn shut_down(&self) {
        self.engine.stop();
        self.controller.attach_levels(None);
        self.controller.engine_stopped();
    }
}

impl<E: PlatformEngine> AudioDevice for PlatformDevice<E> {
    fn name(&self) -> &str {
        self.name
    }

    fn capture_format(&self) -> Option<AudioFormat> {
        Some(self.format.capture)
    }

    fn playback_format(&self) -> Option<AudioFormat> {
        Some(self.format.playback)
    }

    fn start(&mut self, io: DeviceIo) -> Result<(), AudioError> {
        if self.engine.is_running() {
            return Err(AudioError::DeviceState {
                device: self.name.to_owned(),
                state: "already running",
            });
        }
        self.controller
            .engine_starting()
            .map_err(|e| self.error(e))?;
        let slots = RealtimeSlots::from_io(io);
        let levels = slots.levels.clone();
        if let Err(e) = self.engine.start(slots) {
            self.controller.engine_stopped();
            return Err(self.error(e));
        }
        self.controller.attach_levels(Some(levels));
        self.controller.engine_started();
        Ok(())
    }

    fn stop(&mut self) -> Result<(), AudioError> {
        if self.engine.is_running() {
            self.shut_down();
        }
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.engine.is_running()
    }
}

impl<E: PlatformEngine> Drop for PlatformDevice<E> {
    fn drop(&mut self) {
        if self.engine.is_running() {
            self.shut_down();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{
        AudioRoute, AudioSessionBackend, HardwareHint, InterruptionInput, InterruptionSource,
        InterruptionState, RouteKind, RouteSnapshot, SessionConfig, negotiate,
    };
    use crate::{AudioPipeline, PipelineConfig};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A session that records activations (pure logic: no OS here).
    #[derive(Default)]
    struct RecordingSession {
        activations: Mutex<Vec<bool>>,
        refuse: AtomicBool,
    }

    impl AudioSessionBackend for RecordingSession {
        fn configure(&self, _: &SessionConfig) -> Result<(), PlatformError> {
            Ok(())
        }
        fn set_active(&self, active: bool) -> Result<(), PlatformError> {
            if active && self.refuse.load(Ordering::SeqCst) {
                return Err(PlatformError::backend("set active", "refused"));
            }
            self.activations.lock().unwrap().push(active);
            Ok(())
        }
        fn routes(&self) -> Result<RouteSnapshot, PlatformError> {
            let speaker = AudioRoute::new(RouteKind::Speaker, "spk", "Speaker");
            Ok(RouteSnapshot {
                current: Some(speaker.clone()),
                available: vec![speaker],
            })
        }
        fn apply_route(&self, _: RouteKind, _: Option<&str>) -> Result<(), PlatformError> {
            Ok(())
        }
    }

    /// An engine whose "stream" is the test itself: it leases the halves like an OS stream
    /// callback would, and the test plays the callback.
    #[derive(Default)]
    struct LeasingEngine {
        slots: Mutex<Option<RealtimeSlots>>,
        fail_start: AtomicBool,
        suspended: AtomicBool,
    }

    impl AudioEngineControl for LeasingEngine {
        fn suspend(&self) -> Result<(), PlatformError> {
            self.suspended.store(true, Ordering::SeqCst);
            Ok(())
        }
        fn resume(&self) -> Result<(), PlatformError> {
            self.suspended.store(false, Ordering::SeqCst);
            Ok(())
        }
        fn rebuild(&self) -> Result<(), PlatformError> {
            Ok(())
        }
        fn set_voice_processing(&self, _: bool) -> Result<(), PlatformError> {
            Ok(())
        }
    }

    impl PlatformEngine for LeasingEngine {
        fn start(&self, slots: RealtimeSlots) -> Result<(), PlatformError> {
            if self.fail_start.load(Ordering::SeqCst) {
                return Err(PlatformError::backend("open stream", "no device"));
            }
            *self.slots.lock().unwrap() = Some(slots);
            Ok(())
        }
        fn stop(&self) {
            if let Some(slots) = self.slots.lock().unwrap().take() {
                slots.clear();
            }
        }
        fn is_running(&self) -> bool {
            self.slots.lock().unwrap().is_some()
        }
    }

    fn device() -> (
        PlatformDevice<LeasingEngine>,
        Arc<RecordingSession>,
        AudioPipeline,
        DeviceIo,
    ) {
        let session = Arc::new(RecordingSession::default());
        let format = negotiate(HardwareHint {
            sample_rate: Some(48_000.0),
            io_buffer_seconds: None,
        });
        let controller = PlatformAudioController::new(SessionConfig::default(), session.clone());
        let device = PlatformDevice::new(
            "test-platform",
            format,
            controller,
            Arc::new(LeasingEngine::default()),
        );
        let (pipeline, io) = AudioPipeline::new(
            PipelineConfig::with_wire(crate::AudioFormat::WIRE_PCM16_24K),
            device.capture_format(),
            device.playback_format(),
        )
        .unwrap();
        (device, session, pipeline, io)
    }

    #[test]
    fn start_stop_drive_the_session_levels_and_interruptions() {
        let (mut device, session, _pipeline, io) = device();
        assert_eq!(device.controller().levels(), None);
        device.start(io).unwrap();
        assert!(device.is_running());
        assert_eq!(*session.activations.lock().unwrap(), vec![true]);
        assert_eq!(
            device.controller().interruption_state(),
            InterruptionState::Running
        );
        // The "OS callback" delivers a loud microphone; the controller's levels show it.
        let slots = device.engine().slots.lock().unwrap().clone().unwrap();
        {
            let mut capture = slots.capture.lease().unwrap();
            capture.on_input(&[0.5f32; 960], 1);
        }
        let levels = device.controller().levels().unwrap();
        assert!(
            levels.input.blocks >= 2 && levels.input.rms > 0.5,
            "{levels:?}"
        );
        // An interruption reaches the engine through the controller.
        device
            .controller()
            .handle_interruption(InterruptionInput::Began(InterruptionSource::Call));
        assert!(device.engine().suspended.load(Ordering::SeqCst));
        device
            .controller()
            .handle_interruption(InterruptionInput::Ended {
                should_resume: true,
            });
        assert!(!device.engine().suspended.load(Ordering::SeqCst));

        let (_p, second_io) = AudioPipeline::new(
            PipelineConfig::with_wire(crate::AudioFormat::WIRE_PCM16_24K),
            device.capture_format(),
            device.playback_format(),
        )
        .unwrap();
        assert!(matches!(
            device.start(second_io),
            Err(AudioError::DeviceState { .. })
        ));
        device.stop().unwrap();
        assert!(!device.is_running());
        assert_eq!(device.controller().levels(), None);
        assert_eq!(
            *session.activations.lock().unwrap(),
            vec![true, true, false]
        );
        assert_eq!(
            device.controller().interruption_state(),
            InterruptionState::Idle
        );
    }

    #[test]
    fn a_failed_start_deactivates_and_a_refused_session_never_starts_the_engine() {
        let (mut device, session, _pipeline, io) = device();
        device.engine().fail_start.store(true, Ordering::SeqCst);
        let err = device.start(io).unwrap_err();
        assert!(err.to_string().contains("no device"), "{err}");
        assert!(!device.is_running());
        assert_eq!(*session.activations.lock().unwrap(), vec![true, false]);

        device.engine().fail_start.store(false, Ordering::SeqCst);
        session.refuse.store(true, Ordering::SeqCst);
        let (_p, io) = AudioPipeline::new(
            PipelineConfig::with_wire(crate::AudioFormat::WIRE_PCM16_24K),
            device.capture_format(),
            device.playback_format(),
        )
        .unwrap();
        assert!(device.start(io).is_err());
        assert!(!device.is_running(), "the engine was never started");
    }

    #[test]
    fn dropping_a_running_device_stops_it_and_deactivates() {
        let (mut device, session, _pipeline, io) = device();
        device.start(io).unwrap();
        drop(device);
        assert_eq!(*session.activations.lock().unwrap(), vec![true, false]);
    }
}
