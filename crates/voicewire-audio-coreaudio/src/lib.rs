//! iOS audio for VoiceWire.
//!
//! `VoiceProcessingDevice` (built for iOS only) captures and plays through Apple's
//! VoiceProcessingIO audio unit — the same echo canceller, automatic gain control and noise
//! suppressor FaceTime uses — and drives the shared AVAudioSession: category play-and-record, mode
//! voice chat, Bluetooth HFP and A2DP allowed, output routed by the route policy (loudspeaker by
//! default, headsets win). Route changes, interruptions (a phone call, Siri) and media-services
//! resets are observed and handled with automatic resume; the app hears about them as
//! [`PlatformAudioEvent`]s and chooses routes through [`PlatformAudioController`].
//!
//! With [`SessionManagement::App`] the app owns the session (CallKit): the device never sets
//! the category or activates the session; start it from `provider(_:didActivate:)`.
//!
//! The policy logic (routes, interruptions, format negotiation, ring wiring) lives in
//! [`voicewire_audio::platform`] and is tested on Linux; this crate only talks to the OS, and
//! only when built for iOS. On other targets it re-exports the shared API, so a workspace
//! build on Linux or macOS compiles it as a no-op. See `docs/decisions/0006-platform-audio.md`.

pub use voicewire_audio::platform::{
    AudioRoute, InterruptionEvent, InterruptionSource, PlatformAudioController, PlatformAudioEvent,
    PlatformAudioListener, PlatformError, RouteChangeReason, RouteEvent, RouteKind, RoutePolicy,
    RouteSelection, SessionConfig, SessionManagement,
};

#[cfg(target_os = "ios")]
mod device;
#[cfg(target_os = "ios")]
mod session;

#[cfg(target_os = "ios")]
pub use device::VoiceProcessingDevice;
#[cfg(target_os = "ios")]
pub use session::AvAudioSessionBackend;
