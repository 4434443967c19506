//! UniFFI exports of VoiceWire: the same `RealtimeVoiceSession` for Swift, Kotlin,
//! React Native (TypeScript) and Python.
//!
//! This crate is deliberately thin: objects hold the `voicewire` types and forward calls,
//! records and enums mirror the Rust API with `From` conversions, and foreign traits let the
//! app provide services (token fetch, tool handlers, logs). Behaviour belongs in the Rust
//! crates below and is tested there; here only the contract is tested.
//!
//! Conventions, the same in every binding:
//! - every async export runs on one process-wide tokio runtime (`runtime.rs`);
//! - every subscription returns a [`TaskHandle`] that cancels on drop, and delivers the
//!   current state first;
//! - every fallible call returns [`VoiceError`], whose variants are what the app acts on.

// UniFFI's generated scaffolding consists of `extern "C"` functions that are unsafe by
// nature; our own code contains no `unsafe` blocks.
#![allow(unsafe_code)]

mod audio;
mod config;
mod error;
mod events;
mod log;
mod platform_audio;
mod platform_audio_control;
mod runtime;
mod services;
mod session;
mod task_handle;

pub use audio::{AudioChoice, ManualAudio};
pub use config::{
    EndpointConfig, FunctionToolConfig, OutputModality, ReconnectConfig, SessionConfig,
    SessionOptions, TransportKind, TurnDetectionConfig,
};
pub use services::{ClientToken, SessionEventListener, TokenProvider, ToolHandler};
pub use session::RealtimeVoiceSession;

pub use error::VoiceError;
pub use events::{
    AudioLevels, CloseReason, InterruptCause, SessionEvent, SessionMetrics, SessionState, ToolCall,
    Usage,
};
pub use log::{LogLevel, LogRecord, LogSink, clear_log_sink, set_log_sink};
pub use platform_audio::{
    AudioFocusChange, AudioInterruptionSource, AudioRoute, AudioRouteChangeReason, AudioRouteKind,
    AudioRouteSelection, AudioRouteSnapshot, AudioSessionBackend, AudioSessionManagement,
    PlatformAudioEvent, PlatformAudioListener, PlatformAudioOptions,
    default_platform_audio_options,
};
pub use platform_audio_control::{AudioRouteControl, PlatformAudio};
pub use task_handle::TaskHandle;

uniffi::setup_scaffolding!("voicewire_ffi");
