//! [`AudioRouteControl`] (routes, the voice-processing switch, levels, interruption reports
//! and events) and [`PlatformAudio`] (the phone's own audio device with its control).
//!
//! Both wrap `voicewire_audio::platform::PlatformAudioController`:
//! - on iOS, `PlatformAudio` opens VoiceProcessingIO with AVAudioSession driven from Rust;
//! - on Android, `PlatformAudio` opens AAudio streams and takes the app's
//!   [`AudioSessionBackend`] (the Kotlin `AndroidAudioSession`) for routes and focus;
//! - anywhere, `AudioRouteControl(options, backend)` drives an app-provided session for apps
//!   that run their own audio I/O (`AudioChoice.Manual`, a React Native audio module): the
//!   app activates it around its I/O, and pauses/restarts its I/O on `Interrupted`/`Resumed`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;
use voicewire::audio::AudioDevice;
use voicewire::audio::platform as pa;

use crate::error::VoiceError;
use crate::events::AudioLevels;
use crate::platform_audio::{
    AudioFocusChange, AudioInterruptionSource, AudioRoute, AudioRouteChangeReason,
    AudioRouteSelection, AudioRouteSnapshot, AudioSessionBackend, ForeignSessionBackend,
    PlatformAudioEvent, PlatformAudioListener, PlatformAudioOptions, platform_error,
};
use crate::runtime;
use crate::task_handle::TaskHandle;

/// Events queued per subscriber before the oldest news is dropped (route and interruption
/// events come a few at a time; a listener this far behind is stuck).
const LISTENER_QUEUE: usize = 256;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Fans the controller's events out to every subscriber's queue. The controller calls it on
/// its control threads; each subscriber's foreign listener runs on the FFI runtime, so a slow
/// app callback never holds up the controller (or an OS notification thread).
#[derive(Default)]
struct ListenerHub {
    subscribers: Mutex<Vec<mpsc::Sender<PlatformAudioEvent>>>,
}

impl pa::PlatformAudioListener for ListenerHub {
    fn on_event(&self, event: pa::PlatformAudioEvent) {
        let event = PlatformAudioEvent::from(event);
        lock(&self.subscribers).retain(|subscriber| match subscriber.try_send(event.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!("platform audio listener is not keeping up; event dropped");
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    }
}

/// Route control for platform audio: list and choose routes, switch voice processing (echo
/// cancellation), read levels, hear route and interruption events, and report what the OS
/// says (for session backends implemented by the app).
#[derive(uniffi::Object)]
pub struct AudioRouteControl {
    controller: Arc<pa::PlatformAudioController>,
    hub: Arc<ListenerHub>,
    /// True when the app runs its own audio I/O (created with the constructor); false when a
    /// platform device drives the session.
    app_driven: bool,
    /// App-driven only: the session is activated.
    active: Mutex<bool>,
}

impl std::fmt::Debug for AudioRouteControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioRouteControl")
            .field("controller", &self.controller)
            .field("app_driven", &self.app_driven)
            .finish_non_exhaustive()
    }
}

impl AudioRouteControl {
    fn wrap(controller: Arc<pa::PlatformAudioController>, app_driven: bool) -> Arc<Self> {
        let hub = Arc::new(ListenerHub::default());
        controller.set_listener(Some(hub.clone()));
        Arc::new(Self {
            controller,
            hub,
            app_driven,
            active: Mutex::new(false),
        })
    }
}

#[uniffi::export]
impl AudioRouteControl {
    /// A control for an audio session the app implements, for apps that run their own audio
    /// I/O. Call [`Self::activate_session`] when your I/O starts and
    /// [`Self::deactivate_session`] when it stops; stop your I/O on `Interrupted` and restart
    /// it on `Resumed`. (With `PlatformAudio` the device does all of that itself: use
    /// [`PlatformAudio::route_control`] instead.)
    #[uniffi::constructor]
    pub fn new(
        options: PlatformAudioOptions,
        backend: Arc<dyn AudioSessionBackend>,
    ) -> Result<Arc<Self>, VoiceError> {
        let controller = pa::PlatformAudioController::new(
            options.session_config()?,
            Arc::new(ForeignSessionBackend(backend)),
        );
        Ok(Self::wrap(controller, true))
    }

    /// Configures and activates the session (unless the app manages it), reads the routes
    /// and applies the route policy. App-driven controls only; calling it twice is harmless.
    pub fn activate_session(&self) -> Result<(), VoiceError> {
        self.require_app_driven("activate_session")?;
        let mut active = lock(&self.active);
        if *active {
            return Ok(());
        }
        self.controller.engine_starting().map_err(platform_error)?;
        *active = true;
        drop(active);
        self.controller.engine_started();
        Ok(())
    }

    /// Deactivates the session (unless the app manages it). App-driven controls only.
    pub fn deactivate_session(&self) -> Result<(), VoiceError> {
        self.require_app_driven("deactivate_session")?;
        let was_active = std::mem::replace(&mut *lock(&self.active), false);
        if was_active {
            self.controller.engine_stopped();
        }
        Ok(())
    }

    /// The routes as last reported by the OS.
    pub fn available_routes(&self) -> Vec<AudioRoute> {
        self.controller
            .available_routes()
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// The route in use, as last reported.
    pub fn current_route(&self) -> Option<AudioRoute> {
        self.controller.current_route().map(Into::into)
    }

    /// Reads the routes from the OS now (for a route picker) and returns them.
    pub fn refresh_routes(&self) -> Result<Vec<AudioRoute>, VoiceError> {
        let routes = self.controller.refresh_routes().map_err(platform_error)?;
        Ok(routes.into_iter().map(Into::into).collect())
    }

    /// What is selected: `Automatic` or a route kind.
    pub fn selected_route(&self) -> AudioRouteSelection {
        self.controller.route_selection().into()
    }

    /// Chooses a route, or `Automatic`. Fails with `AudioDevice` when no route of that kind
    /// is connected or the platform refuses it. The choice holds until the route goes away
    /// or a headset is connected (then the policy is automatic again).
    pub fn select_route(&self, selection: AudioRouteSelection) -> Result<(), VoiceError> {
        self.controller
            .select_route(selection.into())
            .map_err(platform_error)
    }

    /// Switches platform voice processing (echo cancellation, gain control, noise
    /// suppression) on or off, live. Off is for headphones or studio capture only: with a
    /// loudspeaker the assistant will hear itself.
    pub fn set_voice_processing(&self, enabled: bool) -> Result<(), VoiceError> {
        self.controller
            .set_voice_processing(enabled)
            .map_err(platform_error)
    }

    /// Whether platform voice processing is on.
    pub fn voice_processing(&self) -> bool {
        self.controller.voice_processing()
    }

    /// The latest microphone and speaker levels (0–1) of the running platform device, or
    /// none while it is stopped or when the app runs its own I/O (the session's
    /// `AudioLevels` events carry the pipeline's levels in every case).
    pub fn levels(&self) -> Option<AudioLevels> {
        self.controller.levels().map(|l| AudioLevels {
            input_rms: l.input.rms,
            input_peak: l.input.peak,
            output_rms: l.output.rms,
            output_peak: l.output.peak,
        })
    }

    /// True while an interruption keeps audio off.
    pub fn is_interrupted(&self) -> bool {
        !matches!(
            self.controller.interruption_state(),
            pa::InterruptionState::Idle | pa::InterruptionState::Running
        )
    }

    /// The app's "resume audio" (after `ResumeNeedsUser` or `ResumeGaveUp`).
    pub fn resume(&self) {
        self.controller.resume();
    }

    /// Delivers the routes as they are now (`AvailableRoutesChanged`, then `RouteChanged`
    /// with reason `Initial`), then every event, until the returned handle is cancelled or
    /// dropped.
    pub fn subscribe(&self, listener: Arc<dyn PlatformAudioListener>) -> Arc<TaskHandle> {
        let (sender, mut events) = mpsc::channel(LISTENER_QUEUE);
        {
            // Registered under the hub lock together with the snapshot, so no event falls
            // between the snapshot and the subscription.
            let mut subscribers = lock(&self.hub.subscribers);
            let routes = self.available_routes();
            let current = self.current_route();
            let _ = sender.try_send(PlatformAudioEvent::AvailableRoutesChanged { routes });
            let _ = sender.try_send(PlatformAudioEvent::RouteChanged {
                from: None,
                to: current,
                reason: AudioRouteChangeReason::Initial,
            });
            subscribers.push(sender);
        }
        let task = runtime::spawn(async move {
            while let Some(event) = events.recv().await {
                listener.on_event(event);
            }
        });
        Arc::new(TaskHandle::new(task.abort_handle()))
    }

    /// The OS says the routes changed: VoiceWire reads them from the backend and applies the
    /// route policy. (Android: `AudioDeviceCallback`, the communication-device listener.)
    pub fn report_route_change(&self, reason: AudioRouteChangeReason) {
        self.controller.route_changed(reason.into());
    }

    /// The OS says the routes changed and says to what (push-style platforms).
    pub fn report_routes(&self, snapshot: AudioRouteSnapshot, reason: AudioRouteChangeReason) {
        self.controller
            .route_observed(snapshot.into(), reason.into());
    }

    /// Android's audio focus changed (`OnAudioFocusChangeListener`).
    pub fn report_focus_change(&self, change: AudioFocusChange) {
        self.controller.focus_changed(change.into());
    }

    /// An interruption began (a call, Siri): audio is suspended.
    pub fn report_interruption_began(&self, source: AudioInterruptionSource) {
        self.controller
            .handle_interruption(pa::InterruptionInput::Began(source.into()));
    }

    /// The interruption ended; `should_resume` is the OS's hint.
    pub fn report_interruption_ended(&self, should_resume: bool) {
        self.controller
            .handle_interruption(pa::InterruptionInput::Ended { should_resume });
    }

    /// The OS's media services restarted: audio objects are rebuilt, then resumed.
    pub fn report_media_services_reset(&self) {
        self.controller
            .handle_interruption(pa::InterruptionInput::MediaServicesReset);
    }
}

impl AudioRouteControl {
    fn require_app_driven(&self, what: &str) -> Result<(), VoiceError> {
        if self.app_driven {
            Ok(())
        } else {
            Err(VoiceError::Other {
                detail: format!(
                    "{what} is for app-driven audio; the platform device activates its session \
                     when the voice session starts it"
                ),
            })
        }
    }
}

impl Drop for AudioRouteControl {
    fn drop(&mut self) {
        self.controller.set_listener(None);
        if self.app_driven && std::mem::replace(&mut *lock(&self.active), false) {
            // Deactivating calls the app's backend. The drop itself may run inside the foreign
            // runtime's destructor (a garbage-collector finalizer), where calling back into
            // that runtime is not allowed everywhere, so it runs on a VoiceWire thread.
            let controller = Arc::clone(&self.controller);
            drop(runtime::runtime().spawn_blocking(move || controller.engine_stopped()));
        }
    }
}

/// The phone's microphone and speaker with its route control: VoiceProcessingIO on iOS,
/// AAudio with the voice-communication preset on Android. Pass it to a session with
/// `AudioChoice.Platform`; keep [`Self::route_control`] for routes, the echo-cancellation
/// switch, levels and events. One session uses it.
#[derive(uniffi::Object)]
pub struct PlatformAudio {
    device: Mutex<Option<Box<dyn AudioDevice>>>,
    control: Arc<AudioRouteControl>,
}

impl std::fmt::Debug for PlatformAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformAudio")
            .field("control", &self.control)
            .finish_non_exhaustive()
    }
}

#[uniffi::export]
impl PlatformAudio {
    /// Opens the platform device with `options`.
    ///
    /// - iOS: pass no backend; AVAudioSession is driven from Rust (with
    ///   `AudioSessionManagement.App` for CallKit, start the voice session from
    ///   `provider(_:didActivate:)`).
    /// - Android: pass the Kotlin `AndroidAudioSession` (routes and audio focus through
    ///   AudioManager) and `options.hardware_sample_rate`.
    /// - Elsewhere: an `AudioDevice` error (use `AudioChoice.PlatformDefault` for the desktop
    ///   device, or `AudioRouteControl(options, backend)` around your own audio I/O).
    #[uniffi::constructor]
    pub fn new(
        options: PlatformAudioOptions,
        backend: Option<Arc<dyn AudioSessionBackend>>,
    ) -> Result<Arc<Self>, VoiceError> {
        let config = options.session_config()?;
        let (device, controller) = open_platform_device(config, &options, backend)?;
        Ok(Arc::new(Self {
            device: Mutex::new(Some(device)),
            control: AudioRouteControl::wrap(controller, false),
        }))
    }

    /// Routes, the voice-processing switch, levels and events of this device.
    pub fn route_control(&self) -> Arc<AudioRouteControl> {
        Arc::clone(&self.control)
    }
}

impl PlatformAudio {
    /// The device, for the session that uses it (once).
    pub(crate) fn take_device(&self) -> Result<Box<dyn AudioDevice>, VoiceError> {
        lock(&self.device)
            .take()
            .ok_or_else(|| VoiceError::AudioDevice {
                detail: "this PlatformAudio is already used by a session; create one per session"
                    .into(),
            })
    }
}

type OpenedDevice = (Box<dyn AudioDevice>, Arc<pa::PlatformAudioController>);

#[cfg(any(target_os = "ios", target_os = "android"))]
fn audio_error(error: voicewire::audio::AudioError) -> VoiceError {
    VoiceError::from(voicewire::Error::from(error))
}

#[cfg(target_os = "ios")]
fn open_platform_device(
    config: pa::SessionConfig,
    _options: &PlatformAudioOptions,
    backend: Option<Arc<dyn AudioSessionBackend>>,
) -> Result<OpenedDevice, VoiceError> {
    if backend.is_some() {
        return Err(VoiceError::Other {
            detail: "on iOS VoiceWire drives AVAudioSession itself; pass no session backend \
                     (use AudioSessionManagement.App when the app or CallKit owns the session)"
                .into(),
        });
    }
    let device =
        voicewire_audio_coreaudio::VoiceProcessingDevice::new(config).map_err(audio_error)?;
    let controller = Arc::clone(device.controller());
    Ok((Box::new(device), controller))
}

#[cfg(target_os = "android")]
fn open_platform_device(
    config: pa::SessionConfig,
    options: &PlatformAudioOptions,
    backend: Option<Arc<dyn AudioSessionBackend>>,
) -> Result<OpenedDevice, VoiceError> {
    let Some(backend) = backend else {
        return Err(VoiceError::Other {
            detail: "on Android PlatformAudio needs the app's audio session (the Kotlin \
                     AndroidAudioSession) for routes and audio focus"
                .into(),
        });
    };
    let hint = pa::HardwareHint {
        sample_rate: options.hardware_sample_rate.map(f64::from),
        io_buffer_seconds: None,
    };
    let device = voicewire_audio_oboe::AAudioDevice::new(
        config,
        Arc::new(ForeignSessionBackend(backend)),
        hint,
    )
    .map_err(audio_error)?;
    let controller = Arc::clone(device.controller());
    Ok((Box::new(device), controller))
}

#[cfg(not(any(target_os = "ios", target_os = "android")))]
fn open_platform_device(
    _config: pa::SessionConfig,
    _options: &PlatformAudioOptions,
    _backend: Option<Arc<dyn AudioSessionBackend>>,
) -> Result<OpenedDevice, VoiceError> {
    Err(VoiceError::AudioDevice {
        detail: "PlatformAudio exists on iOS and Android; here use AudioChoice.PlatformDefault \
                 (desktop device) or AudioRouteControl(options, backend) around your own audio \
                 I/O"
        .into(),
    })
}

/// The iOS platform device with default options, for `AudioChoice.PlatformDefault` (no route
/// control: create a [`PlatformAudio`] for that).
#[cfg(target_os = "ios")]
pub(crate) fn default_ios_device() -> Result<Box<dyn AudioDevice>, VoiceError> {
    let device =
        voicewire_audio_coreaudio::VoiceProcessingDevice::new(pa::SessionConfig::default())
            .map_err(audio_error)?;
    Ok(Box::new(device))
}
