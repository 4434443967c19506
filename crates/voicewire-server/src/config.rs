//! Configuration of an emulator instance.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::fault::FaultConfig;
use crate::scenario::Scenario;

/// How fast reply audio is streamed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AudioPace {
    /// Like a live service: audio leaves at playback speed, a little ahead of it.
    #[default]
    RealTime,
    /// As fast as the socket takes it (tests that do not care about timing).
    Fast,
}

/// Which agent voice engine the emulator uses for replies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SynthChoice {
    /// `espeak-ng` when installed, the tone pattern otherwise.
    #[default]
    Auto,
    /// Always the deterministic tone pattern (bit-exact across machines).
    TonesOnly,
}

/// Everything an [`crate::Emulator`] needs to start. `Default` gives a dev-mode emulator
/// on `127.0.0.1:0` (a free port), real-time audio, echo agent, no TLS.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Plain HTTP/WebSocket listener address. Port 0 picks a free port.
    pub bind: SocketAddr,
    /// `None`: dev mode, any non-empty key is accepted. `Some(k)`: only `k` (and client
    /// secrets minted with it).
    pub api_key: Option<String>,
    /// Reply audio pacing.
    pub audio_pace: AudioPace,
    /// Scripted agent; `None` is the echo agent.
    pub scenario: Option<Scenario>,
    /// Also listen with TLS (self-signed certificate for 127.0.0.1) on `tls_bind`.
    pub tls: bool,
    /// TLS listener address (used when `tls` is on). Port 0 picks a free port.
    pub tls_bind: SocketAddr,
    /// Directory for the generated certificate; a fresh temporary directory when `None`.
    pub tls_cert_dir: Option<PathBuf>,
    /// Sessions end with `session_expired` after this long (the service caps at 60 min).
    pub max_session_duration: Option<Duration>,
    /// Faults applied from the start.
    pub faults: FaultConfig,
    /// Reply voice engine.
    pub synth: SynthChoice,
    /// Live sessions allowed at once; more get HTTP 429 on the upgrade.
    pub max_sessions: usize,
    /// Audio (input buffer plus stored conversation audio) kept per session; older audio
    /// is dropped first. Bounds memory per session.
    pub max_retained_audio: Duration,
    /// Capacity of the [`crate::Observed`] broadcast; slow observers lose the oldest.
    pub observe_capacity: usize,
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("bind", &self.bind)
            .field("api_key", &self.api_key.as_ref().map(|_| "…redacted"))
            .field("audio_pace", &self.audio_pace)
            .field(
                "scenario",
                &self
                    .scenario
                    .as_ref()
                    .map(|s| s.name.clone().unwrap_or_default()),
            )
            .field("tls", &self.tls)
            .field("tls_bind", &self.tls_bind)
            .field("max_session_duration", &self.max_session_duration)
            .field("faults", &self.faults)
            .field("synth", &self.synth)
            .field("max_sessions", &self.max_sessions)
            .field("max_retained_audio", &self.max_retained_audio)
            .finish_non_exhaustive()
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self {
            bind: loopback,
            api_key: None,
            audio_pace: AudioPace::RealTime,
            scenario: None,
            tls: false,
            tls_bind: loopback,
            tls_cert_dir: None,
            max_session_duration: None,
            faults: FaultConfig::default(),
            synth: SynthChoice::Auto,
            max_sessions: 1_000,
            max_retained_audio: Duration::from_secs(120),
            observe_capacity: 16_384,
        }
    }
}
