//! Platform audio types for the bindings: routes, the session options, events, and the two
//! foreign traits — [`AudioSessionBackend`] (the OS audio session, implemented by the Kotlin
//! package's `AndroidAudioSession`, or by an app that owns its session) and
//! [`PlatformAudioListener`] (route and interruption news for the app).
//!
//! Only translation lives here: the route policy, the interruption machine and resume retries
//! are `voicewire_audio::platform`'s, tested there. See `docs/decisions/0006-platform-audio.md`.

use std::sync::Arc;

use voicewire::audio::platform as pa;

use crate::error::VoiceError;

/// The kinds of audio route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum AudioRouteKind {
    /// The phone's receiver, held to the ear.
    Earpiece,
    /// The built-in loudspeaker.
    Speaker,
    /// A wired headset or headphones (3.5 mm, USB-C, Lightning).
    Wired,
    /// A Bluetooth headset in a two-way voice profile (HFP, SCO, LE audio).
    Bluetooth,
    /// Anything else (car audio, AirPlay, HDMI, hearing aids); listed, never chosen
    /// automatically.
    Other,
}

impl From<pa::RouteKind> for AudioRouteKind {
    fn from(kind: pa::RouteKind) -> Self {
        match kind {
            pa::RouteKind::Earpiece => Self::Earpiece,
            pa::RouteKind::Speaker => Self::Speaker,
            pa::RouteKind::Wired => Self::Wired,
            pa::RouteKind::Bluetooth => Self::Bluetooth,
            pa::RouteKind::Other => Self::Other,
        }
    }
}

impl From<AudioRouteKind> for pa::RouteKind {
    fn from(kind: AudioRouteKind) -> Self {
        match kind {
            AudioRouteKind::Earpiece => Self::Earpiece,
            AudioRouteKind::Speaker => Self::Speaker,
            AudioRouteKind::Wired => Self::Wired,
            AudioRouteKind::Bluetooth => Self::Bluetooth,
            AudioRouteKind::Other => Self::Other,
        }
    }
}

/// One route the OS offers.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AudioRoute {
    /// What kind of route it is.
    pub kind: AudioRouteKind,
    /// The platform's id (AVAudioSession port UID, Android `AudioDeviceInfo.id` as text).
    pub id: String,
    /// A name to show the user ("AirPods Pro", "Speaker").
    pub name: String,
}

impl From<pa::AudioRoute> for AudioRoute {
    fn from(route: pa::AudioRoute) -> Self {
        Self {
            kind: route.kind.into(),
            id: route.id,
            name: route.name,
        }
    }
}

impl From<AudioRoute> for pa::AudioRoute {
    fn from(route: AudioRoute) -> Self {
        pa::AudioRoute::new(route.kind.into(), route.id, route.name)
    }
}

fn routes_from(routes: Vec<pa::AudioRoute>) -> Vec<AudioRoute> {
    routes.into_iter().map(AudioRoute::from).collect()
}

/// The route in use and the routes that could be chosen, as the OS reports them.
#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct AudioRouteSnapshot {
    /// The route audio plays through now, if any.
    pub current: Option<AudioRoute>,
    /// Every route that could be selected now.
    pub available: Vec<AudioRoute>,
}

impl From<AudioRouteSnapshot> for pa::RouteSnapshot {
    fn from(snapshot: AudioRouteSnapshot) -> Self {
        pa::RouteSnapshot {
            current: snapshot.current.map(Into::into),
            available: snapshot.available.into_iter().map(Into::into).collect(),
        }
    }
}

/// What the app wants the audio to go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AudioRouteSelection {
    /// The automatic policy: Bluetooth, else wired, else the built-in default (speaker unless
    /// the options say earpiece). A newly connected headset always wins.
    Automatic,
    /// The phone's receiver.
    Earpiece,
    /// The loudspeaker.
    Speaker,
    /// A wired headset.
    Wired,
    /// A Bluetooth headset.
    Bluetooth,
}

impl From<AudioRouteSelection> for pa::RouteSelection {
    fn from(selection: AudioRouteSelection) -> Self {
        use pa::RouteKind as K;
        match selection {
            AudioRouteSelection::Automatic => Self::Auto,
            AudioRouteSelection::Earpiece => Self::Kind(K::Earpiece),
            AudioRouteSelection::Speaker => Self::Kind(K::Speaker),
            AudioRouteSelection::Wired => Self::Kind(K::Wired),
            AudioRouteSelection::Bluetooth => Self::Kind(K::Bluetooth),
        }
    }
}

impl From<pa::RouteSelection> for AudioRouteSelection {
    fn from(selection: pa::RouteSelection) -> Self {
        use pa::RouteKind as K;
        match selection {
            // `Other` cannot be selected through this API; the machine never holds it.
            pa::RouteSelection::Auto | pa::RouteSelection::Kind(K::Other) => Self::Automatic,
            pa::RouteSelection::Kind(K::Earpiece) => Self::Earpiece,
            pa::RouteSelection::Kind(K::Speaker) => Self::Speaker,
            pa::RouteSelection::Kind(K::Wired) => Self::Wired,
            pa::RouteSelection::Kind(K::Bluetooth) => Self::Bluetooth,
        }
    }
}

/// Why the OS says the route changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AudioRouteChangeReason {
    /// A headset or other device became available.
    DeviceConnected,
    /// The device in use went away.
    DeviceDisconnected,
    /// Something (this app or another) overrode the output.
    Override,
    /// The session's category or mode changed.
    CategoryChange,
    /// VoiceWire applied a selection.
    Applied,
    /// The first report after the session was set up.
    Initial,
    /// Anything else.
    Other,
}

impl From<pa::RouteChangeReason> for AudioRouteChangeReason {
    fn from(reason: pa::RouteChangeReason) -> Self {
        use pa::RouteChangeReason as R;
        match reason {
            R::DeviceConnected => Self::DeviceConnected,
            R::DeviceDisconnected => Self::DeviceDisconnected,
            R::Override => Self::Override,
            R::CategoryChange => Self::CategoryChange,
            R::Applied => Self::Applied,
            R::Initial => Self::Initial,
            R::Other => Self::Other,
        }
    }
}

impl From<AudioRouteChangeReason> for pa::RouteChangeReason {
    fn from(reason: AudioRouteChangeReason) -> Self {
        use AudioRouteChangeReason as R;
        match reason {
            R::DeviceConnected => Self::DeviceConnected,
            R::DeviceDisconnected => Self::DeviceDisconnected,
            R::Override => Self::Override,
            R::CategoryChange => Self::CategoryChange,
            R::Applied => Self::Applied,
            R::Initial => Self::Initial,
            R::Other => Self::Other,
        }
    }
}

/// Who interrupted the audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AudioInterruptionSource {
    /// A phone or VoIP call.
    Call,
    /// Siri, Google Assistant or another system voice feature.
    Assistant,
    /// Another app took audio focus for a while.
    TransientFocusLoss,
    /// Another app took audio focus for good: audio stays off until `resume()`.
    PermanentFocusLoss,
    /// The OS did not say.
    Unknown,
}

impl From<pa::InterruptionSource> for AudioInterruptionSource {
    fn from(source: pa::InterruptionSource) -> Self {
        use pa::InterruptionSource as S;
        match source {
            S::Call => Self::Call,
            S::Assistant => Self::Assistant,
            S::TransientFocusLoss => Self::TransientFocusLoss,
            S::PermanentFocusLoss => Self::PermanentFocusLoss,
            S::Unknown => Self::Unknown,
        }
    }
}

impl From<AudioInterruptionSource> for pa::InterruptionSource {
    fn from(source: AudioInterruptionSource) -> Self {
        use AudioInterruptionSource as S;
        match source {
            S::Call => Self::Call,
            S::Assistant => Self::Assistant,
            S::TransientFocusLoss => Self::TransientFocusLoss,
            S::PermanentFocusLoss => Self::PermanentFocusLoss,
            S::Unknown => Self::Unknown,
        }
    }
}

/// Android audio-focus changes (`AudioManager.OnAudioFocusChangeListener`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AudioFocusChange {
    /// `AUDIOFOCUS_GAIN`: focus is back; the interruption ends.
    Gained,
    /// `AUDIOFOCUS_LOSS_TRANSIENT`: a call or another app took focus for a while.
    LostTransient,
    /// `AUDIOFOCUS_LOSS_TRANSIENT_CAN_DUCK`: a short sound plays over us (the conversation
    /// goes on).
    LostCanDuck,
    /// `AUDIOFOCUS_LOSS`: another app took focus for good.
    LostPermanent,
}

impl From<AudioFocusChange> for pa::FocusChange {
    fn from(change: AudioFocusChange) -> Self {
        match change {
            AudioFocusChange::Gained => Self::Gained,
            AudioFocusChange::LostTransient => Self::LostTransient,
            AudioFocusChange::LostCanDuck => Self::LostCanDuck,
            AudioFocusChange::LostPermanent => Self::LostPermanent,
        }
    }
}

/// Who owns the platform audio session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AudioSessionManagement {
    /// VoiceWire configures and activates the session on start and deactivates it on stop.
    Sdk,
    /// The app does (CallKit activates the session itself): VoiceWire never configures or
    /// activates it, but still observes routes and interruptions and can choose routes.
    App,
}

/// How platform audio is set up.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct PlatformAudioOptions {
    /// Who owns the audio session (`Sdk` unless CallKit or the app does).
    pub management: AudioSessionManagement,
    /// The built-in route used when no headset is connected: `Speaker` (voice agents, held
    /// at arm's length) or `Earpiece` (call-style apps).
    pub builtin_route: AudioRouteKind,
    /// Platform echo cancellation, gain control and noise suppression. On by default.
    #[uniffi(default = true)]
    pub voice_processing: bool,
    /// Allow Bluetooth A2DP output besides HFP (iOS).
    #[uniffi(default = true)]
    pub allow_bluetooth_a2dp: bool,
    /// Resume on its own after an interruption when the OS allows it.
    #[uniffi(default = true)]
    pub auto_resume: bool,
    /// The hardware sample rate if the app knows it (Android
    /// `AudioManager.PROPERTY_OUTPUT_SAMPLE_RATE`); absent = 48 kHz. iOS reads it itself.
    #[uniffi(default = None)]
    pub hardware_sample_rate: Option<u32>,
}

impl Default for PlatformAudioOptions {
    fn default() -> Self {
        Self {
            management: AudioSessionManagement::Sdk,
            builtin_route: AudioRouteKind::Speaker,
            voice_processing: true,
            allow_bluetooth_a2dp: true,
            auto_resume: true,
            hardware_sample_rate: None,
        }
    }
}

impl PlatformAudioOptions {
    /// The shared crate's session configuration; a built-in route other than the earpiece
    /// or speaker is an error.
    pub(crate) fn session_config(&self) -> Result<pa::SessionConfig, VoiceError> {
        let builtin_default = match self.builtin_route {
            AudioRouteKind::Speaker => pa::RouteKind::Speaker,
            AudioRouteKind::Earpiece => pa::RouteKind::Earpiece,
            other => {
                return Err(VoiceError::Other {
                    detail: format!(
                        "builtin_route must be Speaker or Earpiece, not {other:?} (headsets are \
                         chosen automatically when connected)"
                    ),
                });
            }
        };
        let defaults = pa::SessionConfig::default();
        Ok(pa::SessionConfig {
            management: match self.management {
                AudioSessionManagement::Sdk => pa::SessionManagement::Sdk,
                AudioSessionManagement::App => pa::SessionManagement::App,
            },
            voice_processing: self.voice_processing,
            allow_bluetooth_a2dp: self.allow_bluetooth_a2dp,
            route_policy: pa::RoutePolicy {
                builtin_default,
                ..defaults.route_policy
            },
            resume_policy: pa::ResumePolicy {
                auto_resume: self.auto_resume,
                ..defaults.resume_policy
            },
        })
    }
}

/// The default [`PlatformAudioOptions`] (SDK-managed session, voice processing on, speaker
/// default, automatic resume), for languages without record defaults.
#[uniffi::export]
pub fn default_platform_audio_options() -> PlatformAudioOptions {
    PlatformAudioOptions::default()
}

/// What the app hears about platform audio.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum PlatformAudioEvent {
    /// The route audio plays through changed.
    RouteChanged {
        /// The previous route.
        from: Option<AudioRoute>,
        /// The route now in use.
        to: Option<AudioRoute>,
        /// The OS's reason.
        reason: AudioRouteChangeReason,
    },
    /// The routes the user can choose from changed.
    AvailableRoutesChanged {
        /// The routes now available.
        routes: Vec<AudioRoute>,
    },
    /// The route the user chose went away; back on automatic.
    ChosenRouteLost {
        /// The kind that was chosen.
        kind: AudioRouteKind,
    },
    /// Applying a route failed; back on automatic.
    RouteApplyFailed {
        /// The kind that failed.
        kind: AudioRouteKind,
        /// The platform's message.
        detail: String,
    },
    /// Audio stopped because of an interruption (a call, Siri, focus loss).
    Interrupted {
        /// Who interrupted.
        source: AudioInterruptionSource,
    },
    /// The interruption ended and audio runs again.
    Resumed,
    /// The interruption ended but audio stays off until the app calls `resume()`.
    ResumeNeedsUser,
    /// Resuming failed this many times and was given up; the app may call `resume()`.
    ResumeGaveUp {
        /// Attempts made.
        attempts: u32,
    },
    /// Voice processing was switched.
    VoiceProcessingChanged {
        /// The new setting.
        enabled: bool,
    },
    /// The OS stream died (device disconnected) and was opened again.
    StreamReopened {
        /// Attempts it took.
        attempts: u32,
    },
    /// Something failed that the app may want to show; audio may be off.
    Error {
        /// What failed.
        detail: String,
    },
}

impl From<pa::PlatformAudioEvent> for PlatformAudioEvent {
    fn from(event: pa::PlatformAudioEvent) -> Self {
        use pa::{InterruptionEvent as I, PlatformAudioEvent as P, RouteEvent as R};
        match event {
            P::Route(R::RouteChanged { from, to, reason }) => Self::RouteChanged {
                from: from.map(Into::into),
                to: to.map(Into::into),
                reason: reason.into(),
            },
            P::Route(R::AvailableRoutesChanged { routes }) => Self::AvailableRoutesChanged {
                routes: routes_from(routes),
            },
            P::Route(R::ChosenRouteLost { kind }) => Self::ChosenRouteLost { kind: kind.into() },
            P::Route(R::RouteApplyFailed { kind, message }) => Self::RouteApplyFailed {
                kind: kind.into(),
                detail: message,
            },
            P::Interruption(I::Interrupted { source }) => Self::Interrupted {
                source: source.into(),
            },
            P::Interruption(I::Resumed) => Self::Resumed,
            P::Interruption(I::ResumeNeedsUser) => Self::ResumeNeedsUser,
            P::Interruption(I::ResumeGaveUp { attempts }) => Self::ResumeGaveUp { attempts },
            P::VoiceProcessingChanged { enabled } => Self::VoiceProcessingChanged { enabled },
            P::StreamReopened { attempts } => Self::StreamReopened { attempts },
            P::Error { message } => Self::Error { detail: message },
        }
    }
}

/// The platform's audio session, implemented by the app side: Android's `AudioManager`
/// (the Kotlin package's `AndroidAudioSession`), or any session an app drives itself.
///
/// Called on VoiceWire control threads, never the audio thread. Throw
/// `VoiceError.AudioDevice` with the platform's message when an operation fails. Report OS
/// changes (devices, focus) through [`crate::AudioRouteControl`]'s `report_*` methods.
#[uniffi::export(with_foreign)]
pub trait AudioSessionBackend: Send + Sync {
    /// Applies the voice-communication configuration (Android: `MODE_IN_COMMUNICATION`).
    /// Only called when VoiceWire manages the session.
    fn configure(
        &self,
        voice_processing: bool,
        allow_bluetooth_a2dp: bool,
    ) -> Result<(), VoiceError>;
    /// Activates (requests audio focus) or deactivates (abandons it) the session. Only
    /// called when VoiceWire manages the session.
    fn set_active(&self, active: bool) -> Result<(), VoiceError>;
    /// The current and available routes.
    fn routes(&self) -> Result<AudioRouteSnapshot, VoiceError>;
    /// Routes voice to a route of `kind`, preferably the one with `id`.
    fn apply_route(&self, kind: AudioRouteKind, id: Option<String>) -> Result<(), VoiceError>;
}

/// Makes an app's [`AudioSessionBackend`] the shared crate's session backend.
pub(crate) struct ForeignSessionBackend(pub(crate) Arc<dyn AudioSessionBackend>);

fn backend_error(operation: &'static str, error: VoiceError) -> pa::PlatformError {
    let detail = match error {
        VoiceError::AudioDevice { detail } | VoiceError::Other { detail } => detail,
        other => other.to_string(),
    };
    pa::PlatformError::backend(operation, detail)
}

impl pa::AudioSessionBackend for ForeignSessionBackend {
    fn configure(&self, config: &pa::SessionConfig) -> Result<(), pa::PlatformError> {
        self.0
            .configure(config.voice_processing, config.allow_bluetooth_a2dp)
            .map_err(|e| backend_error("configure audio session", e))
    }

    fn set_active(&self, active: bool) -> Result<(), pa::PlatformError> {
        let operation = if active {
            "activate audio session"
        } else {
            "deactivate audio session"
        };
        self.0
            .set_active(active)
            .map_err(|e| backend_error(operation, e))
    }

    fn routes(&self) -> Result<pa::RouteSnapshot, pa::PlatformError> {
        self.0
            .routes()
            .map(Into::into)
            .map_err(|e| backend_error("read audio routes", e))
    }

    fn apply_route(&self, kind: pa::RouteKind, id: Option<&str>) -> Result<(), pa::PlatformError> {
        self.0
            .apply_route(kind.into(), id.map(str::to_owned))
            .map_err(|e| backend_error("apply audio route", e))
    }
}

/// Receives [`PlatformAudioEvent`]s; subscribing returns a [`crate::TaskHandle`] that stops
/// delivery when dropped.
#[uniffi::export(with_foreign)]
pub trait PlatformAudioListener: Send + Sync {
    /// One event, in order. Called on a VoiceWire thread: hop to the UI thread yourself.
    fn on_event(&self, event: PlatformAudioEvent);
}

/// Route, session and engine failures are all things the app handles as an audio-device
/// problem (show the route picker again, tell the user the microphone is busy).
pub(crate) fn platform_error(error: pa::PlatformError) -> VoiceError {
    VoiceError::AudioDevice {
        detail: error.to_string(),
    }
}
