//! VoiceWire: realtime voice agents on the OpenAI Realtime API (and servers that speak the
//! same protocol), from Rust — and, through the FFI crate, from Swift, Kotlin and React Native.
//!
//! ```text
//! RealtimeVoiceSession (this crate: public async API)
//!   └─ driver task (tokio): transport + audio pipeline + token cache + tool handlers
//!        └─ voicewire-core Engine (sans-I/O: state machine, conversation, interruption, …)
//!             └─ voicewire-protocol (wire types)
//! ```
//!
//! - [`RealtimeVoiceSession`]: `start`, `stop`, `interrupt`, `set_muted`, `send_text`,
//!   `update_config`, `send_tool_output`, `push_audio`, `start_talking`/`stop_talking`,
//!   `next_event`/`events`, `state`, `metrics`.
//! - [`SessionOptions`]: endpoint, [`TokenSource`], [`Transport`], session config, audio
//!   device, reconnect policy, tool handlers.
//! - [`auth`]: token sources ([`TokenProvider`] for app callbacks, [`HttpTokenProvider`] for a
//!   backend URL) and [`MintingClient`] for Rust backends.
//! - [`run`]: one-call helpers (a WAV file in, a WAV file out; one text turn).
//!
//! Every queue is bounded: events to the app ([`SessionOptions::event_capacity`]; the session
//! never waits for a slow reader: levels and metrics snapshots that do not fit are dropped,
//! transcript deltas wait in a bounded overflow, and state changes, final transcripts,
//! tool calls and errors always wait to be read; drops are counted by
//! [`RealtimeVoiceSession::events_dropped`] and announced with an `events_dropped` error
//! event), commands (callers wait; `set_muted` never fails on a full queue), pushed audio
//! (`push_audio` fails when full), transport queues (back-pressure).

pub mod auth;
mod driver;
pub mod endpoint;
pub mod error;
pub mod options;
pub mod run;
pub mod session;
mod tls;
pub mod tools;
pub mod transport;

pub use auth::{
    ClientSecret, HttpTokenProvider, MintingClient, Secret, TokenCache, TokenProvider, TokenSource,
};
pub use endpoint::{AuthStyle, DEFAULT_MODEL, Endpoint};
pub use error::{Error, TokenError, TransportError};
pub use options::SessionOptions;
pub use session::RealtimeVoiceSession;
pub use tools::{FnToolHandler, ToolCall, ToolHandler, ToolRegistry};
pub use transport::Transport;

/// Audio devices and frames.
pub use voicewire_audio as audio;
/// The engine's types, re-exported so applications need only this crate.
pub use voicewire_core::{
    AudioLevels, AudioRetention, CloseReason, ErrorKind, InterruptCause, ReconnectPolicy,
    SessionEvent, SessionMetrics, SessionState, Usage,
};
/// Wire types applications use to configure sessions.
pub use voicewire_protocol as protocol;
pub use voicewire_protocol::{SessionConfig, TurnDetection};
