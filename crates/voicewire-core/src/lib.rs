//! The sans-I/O engine of VoiceWire.
//!
//! This crate holds every decision a realtime voice session makes — the connection state
//! machine, the conversation model, playback-accurate interruption, tool-call bookkeeping,
//! reconnect and recycle policy, metrics — and none of the I/O. It owns no socket, spawns no
//! task and never reads a clock (the crate's `clippy.toml` bans `Instant::now` and
//! `SystemTime::now`). That is what lets one engine sit under both the WebSocket and the
//! WebRTC driver, and what makes every behaviour testable on a virtual clock.
//!
//! # The run loop
//!
//! Mutate, then drain outputs until a timeout:
//!
//! 1. Feed one input with the current time: [`Engine::handle_server_event`],
//!    [`Engine::handle_transport_opened`] / `_closed` / `_failed`, [`Engine::handle_token`],
//!    [`Engine::handle_input_audio`], [`Engine::handle_playout_flushed`], a user command
//!    ([`Engine::send_text`], [`Engine::interrupt`], [`Engine::set_muted`], …) or
//!    [`Engine::handle_timeout`].
//! 2. Drain [`Engine::poll_output`] until `None` and execute each [`Output`]: send a client
//!    event, emit a [`SessionEvent`], drive the playout buffer ([`AudioCommand`]), or run a
//!    connection step ([`DriverAction`]).
//! 3. Wait for the next input or for [`Engine::poll_timeout`], whichever comes first.
//!
//! ```
//! use voicewire_core::{Engine, EngineConfig, Output, DriverAction, Timestamp};
//!
//! let mut engine = Engine::new(EngineConfig::default());
//! engine.start(Timestamp::ZERO).unwrap();
//! let mut actions = Vec::new();
//! while let Some(out) = engine.poll_output() {
//!     if let Output::Driver(a) = out { actions.push(a); }
//! }
//! assert_eq!(actions, vec![DriverAction::FetchToken]);
//! // The driver fetches a token, then reports back:
//! engine.handle_token(Ok(()), Timestamp::from_millis(5));
//! assert!(matches!(engine.poll_output(), Some(Output::Emit(_)))); // StateChanged(Connecting)
//! assert_eq!(engine.poll_output(), Some(Output::Driver(DriverAction::Connect)));
//! ```
//!
//! # Modules
//! - [`state`]: the state machine as one pure `transition` function, with its diagram.
//! - [`engine`]: the engine that drives it.
//! - [`conversation`]: items in server order, transcripts, replay history.
//! - [`tools`]: gathering tool-call arguments and sending outputs back.
//! - [`reconnect`]: back-off with jitter, and the recycle policy.
//! - [`metrics`]: counters and latencies.

// Counts come from the network and the app: arithmetic on them must say how it handles
// overflow (saturating / checked), never panic in debug or wrap in release.
#![cfg_attr(not(test), warn(clippy::arithmetic_side_effects))]

pub mod conversation;
pub mod engine;
pub mod error;
pub mod event;
pub mod metrics;
pub mod reconnect;
pub mod state;
pub mod time;
pub mod tools;

pub use conversation::{
    AudioRetention, Conversation, ConversationItem, DEFAULT_MAX_CONVERSATION_ITEMS, ItemKind,
    ItemStatus, ReplayItem, Role,
};
pub use engine::{AudioPath, Engine, EngineConfig, FlushedItem, WIRE_SAMPLES_PER_MS};
pub use error::{CommandError, ErrorKind, InvalidTransition, SessionError};
pub use event::{AudioCommand, AudioLevels, DriverAction, InterruptCause, Output, SessionEvent};
pub use metrics::{LATENCY_SAMPLES, SessionMetrics, Usage};
pub use reconnect::{JitterRng, ReconnectPolicy};
pub use state::{CloseReason, SessionState, StateInput, transition};
pub use time::Timestamp;
pub use tools::{ToolCall, ToolCallTracker, ToolStep};
