//! Android audio for VoiceWire.
//!
//! `AAudioDevice` (built for Android only) captures with the `VoiceCommunication` input preset and
//! plays with the `VoiceCommunication` usage — together they switch on the platform's echo
//! canceller, noise suppressor and gain control — on two AAudio streams that share one audio
//! session id, in low-latency mode, asking for exclusive access and falling back to shared. A
//! disconnected device (headset unplugged, Bluetooth gone) closes the streams and reopens them on
//! the new route with a backoff; the app hears [`PlatformAudioEvent::StreamReopened`].
//!
//! Routes (speaker, earpiece, wired, Bluetooth SCO) and audio focus belong to Java's
//! `AudioManager`, so they come in as an [`AudioSessionBackend`] the app implements — the
//! Kotlin package ships one — and reach the shared [`PlatformAudioController`], which runs the
//! route policy and the interruption (focus) machine tested on Linux. The Kotlin side reports
//! device and focus changes back through the controller.
//!
//! The crate keeps its historical name: the design card asked for Oboe, but AAudio through the
//! `ndk` crate is what can be verified here (see `docs/decisions/0006-platform-audio.md`). On
//! targets other than Android it only re-exports the shared API.

pub use voicewire_audio::platform::{
    AudioRoute, AudioSessionBackend, FocusChange, HardwareHint, InterruptionEvent,
    InterruptionInput, InterruptionSource, PlatformAudioController, PlatformAudioEvent,
    PlatformAudioListener, PlatformError, ReopenPolicy, RouteChangeReason, RouteEvent, RouteKind,
    RoutePolicy, RouteSelection, RouteSnapshot, SessionConfig, SessionManagement,
};

#[cfg(target_os = "android")]
mod aaudio;
pub mod streams_only;

pub use streams_only::{StreamsOnlySession, streams_only_config};

#[cfg(target_os = "android")]
pub use aaudio::AAudioDevice;
