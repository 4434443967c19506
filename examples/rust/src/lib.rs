//! Building blocks of the VoiceWire examples (the programs are in `src/bin/`).
//!
//! Every example runs two ways with no change: with `OPENAI_API_KEY` set it talks to
//! OpenAI; without it, it starts the local emulator inside the process and runs offline.
//! The test suite (`tests/examples.rs`) runs each program the second way.
//!
//! - [`upstream`]: that choice, in one place.
//! - [`store`]: an in-memory item store and the three tool handlers over it.
//! - [`backend`]: a minimal token backend: versioned voice configs, per-user rate limits,
//!   client secrets minted with the server-held API key.
//! - [`relay`]: a JWT-authenticated WebSocket relay in front of the Realtime server.

pub mod backend;
pub mod relay;
pub mod store;
pub mod upstream;

/// The repository README, compiled here so its Rust quick start is checked by
/// `cargo test --doc` (it needs `OPENAI_API_KEY` to run, so it is compiled, not run).
#[doc = include_str!("../../../README.md")]
pub mod readme {}

/// The error type of the example programs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Installs the process-wide TLS crypto provider (ring) used by HTTP clients built here.
/// VoiceWire's own clients do this themselves; call it before building a `reqwest::Client`.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
