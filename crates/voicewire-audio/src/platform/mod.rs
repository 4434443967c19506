//! Platform audio logic shared by the iOS/macOS (CoreAudio) and Android (AAudio) devices.
//!
//! The platform crates stay thin: they translate OS notifications and calls. Everything that
//! decides something lives here, in plain Rust that is unit-tested on Linux:
//!
//! - [`route`]: output routes (earpiece, speaker, wired, Bluetooth) and the route state machine
//!   (user choice vs. what the OS does, the speaker default, headsets winning).
//! - [`interruption`]: calls, Siri, audio focus; suspend and automatic resume with retries.
//! - [`negotiate`](mod@negotiate): the client format a device keeps across route and rate
//!   changes.
//! - [`bridge`]: handing the pipeline's real-time ends to OS callbacks and getting them back
//!   when a stream is rebuilt, with channel adaptation — no allocation, lock or block in the
//!   callback.
//! - [`controller`]: [`PlatformAudioController`], the driver that ties the machines to the
//!   platform's session ([`AudioSessionBackend`]), its engine ([`AudioEngineControl`]) and the
//!   app ([`PlatformAudioListener`]).
//! - [`device`](mod@device): [`PlatformDevice`], the device lifecycle (start, stop, drop,
//!   levels) shared by the platform crates, around their OS-specific [`PlatformEngine`].
//!
//! The design is written down in `docs/decisions/0006-platform-audio.md`.

pub mod bridge;
pub mod controller;
pub mod device;
pub mod interruption;
pub mod negotiate;
pub mod route;

pub use bridge::{
    CallbackLease, CallbackSlot, CallbackStats, CaptureHalf, LevelTaps, PlaybackHalf, RealtimeSlots,
};
pub use controller::{
    AudioEngineControl, AudioSessionBackend, PlatformAudioController, PlatformAudioEvent,
    PlatformAudioListener, PlatformError, ReopenPolicy, RouteSnapshot, SessionConfig,
    SessionManagement,
};
pub use device::{PlatformDevice, PlatformEngine};
pub use interruption::{
    FocusChange, InterruptionAction, InterruptionEvent, InterruptionInput, InterruptionMachine,
    InterruptionSource, InterruptionState, ResumePolicy,
};
pub use negotiate::{HardwareHint, NegotiatedFormat, check_reopened, negotiate};
pub use route::{
    AudioRoute, RouteAction, RouteChangeReason, RouteEvent, RouteInput, RouteKind, RouteMachine,
    RoutePolicy, RouteSelection, RouteUnavailable,
};
