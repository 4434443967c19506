//! # voicewire-server: a local OpenAI-Realtime-compatible emulator
//!
//! The backbone of VoiceWire's tests and the SDK's offline default: a server on loopback
//! that speaks the Realtime protocol (GA and beta dialects) closely enough that the
//! official clients cannot tell it from the service, with no network and no API key.
//!
//! ```no_run
//! # async fn demo() -> Result<(), voicewire_server::EmulatorError> {
//! use voicewire_server::{AudioPace, Emulator, EmulatorConfig};
//! let emulator = Emulator::start(EmulatorConfig { audio_pace: AudioPace::Fast, ..Default::default() }).await?;
//! let url = format!("{}/realtime?model=gpt-realtime", emulator.ws_base()); // ws://127.0.0.1:P/v1/realtime…
//! let mut events = emulator.observe(); // every client and server event, per session
//! # let _ = (url, &mut events);
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ## Surfaces
//! * `GET /v1/realtime?model=…` (and `?call_id=…` for a sideband connection to a WebRTC
//!   call): WebSocket. Credentials by `Authorization: Bearer` or the browser subprotocols
//!   (`realtime`, `openai-insecure-api-key.<key>`); `OpenAI-Beta: realtime=v1` or the
//!   `openai-beta.realtime-v1` subprotocol selects the beta dialect. Bad credentials get
//!   HTTP 401 with the service's error body.
//! * `POST /v1/realtime/client_secrets` (GA) and `POST /v1/realtime/sessions` (beta) mint
//!   `ek_…` secrets bound to a session config (`expires_after` 10–7200 s).
//! * `GET /health`.
//! * Optional TLS listener with a self-signed certificate for 127.0.0.1 (`tls: true`).
//!
//! ## Behaviour
//! Sessions run server VAD on the real audio (energy detector, [`vad`]), stream replies in
//! the service's event order at real-time pace ([`AudioPace`]), honour cancel, barge-in,
//! truncate (validated against the audio actually sent), item create/retrieve/delete,
//! input transcription events, idle timeouts and session expiry. The agent echoes by
//! default (audio turns are played back; text turns are answered "You said: …", spoken
//! with `espeak-ng` when installed or a tone pattern otherwise; the response metadata key
//! `voicewire_audio_source` says which), or follows a [`Scenario`]. Faults ([`Fault`],
//! [`FaultConfig`]) are injected at runtime with [`EmulatorHandle::inject`], by scenario
//! turns, or by configuration.
//!
//! ## The transport seam (for the WebRTC adapter)
//! Session logic does not know about sockets. `session::spawn(&shared, SessionSetup)`
//! starts an actor and returns a `SessionHandle` (input: `SessionInput::ClientText`,
//! `SessionInput::MediaAudio` with 24 kHz PCM16 samples, `SessionInput::TransportClosed`)
//! and a receiver of `SessionOutput` (`Text` frames in the connection's dialect,
//! `MediaAudio` samples paced in real time, `Close`, `Drop`). The WebSocket adapter
//! (`ws.rs`) uses `AudioDelivery::InEvents`; a WebRTC adapter (`webrtc.rs`, routed as
//! `POST /v1/realtime/calls` in `server::router`) uses `AudioDelivery::MediaTrack`, which
//! switches the session to `output_audio_buffer.*` events, server-side truncation on
//! interruption, and audio out of band. Setting `SessionSetup::call_id` lets a sideband
//! WebSocket (`?call_id=`) join with `SessionHandle::attach_sideband`.
//!
//! Memory per session is bounded: input and stored conversation audio share
//! [`EmulatorConfig::max_retained_audio`], and every queue is bounded (a slow client
//! pushes back on its own session only). Nothing blocks the runtime: `espeak-ng` runs
//! through `tokio::process`, bounded by a semaphore.

pub mod audio;
pub mod auth;
pub mod cli;
mod config;
mod error;
pub mod fault;
mod ids;
pub mod observe;
mod rest;
pub mod scenario;
mod secrets;
mod server;
pub(crate) mod session;
pub mod synth;
mod tls;
pub mod vad;
mod webrtc;
mod ws;

pub use config::{AudioPace, EmulatorConfig, SynthChoice};
pub use error::EmulatorError;
pub use fault::{Fault, FaultConfig, FaultTarget};
pub use observe::{Observed, ObservedKind, Transport};
pub use scenario::{Scenario, ScenarioError};
pub use server::{Emulator, EmulatorHandle, SessionInfo};
pub use tls::TlsSetupError;
