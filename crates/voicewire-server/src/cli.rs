//! `voicewire serve`: the emulator as a command.
//!
//! Prints one machine-readable line per listener on stdout, e.g.
//! `listening on http://127.0.0.1:8765` and
//! `listening on https://127.0.0.1:8766 (certificate: /tmp/…/voicewire-emulator-cert.pem)`,
//! then runs until Ctrl-C or SIGTERM and shuts down cleanly.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{AudioPace, EmulatorConfig, SynthChoice};
use crate::error::EmulatorError;
use crate::fault::FaultConfig;
use crate::scenario::Scenario;
use crate::server::Emulator;

/// Options of `voicewire serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Keep it on loopback unless you know why not.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Port for HTTP and WebSocket (0 picks a free port; the line printed tells which).
    #[arg(long, short, default_value_t = 8765)]
    pub port: u16,
    /// Also listen with TLS (self-signed certificate for 127.0.0.1, path printed), for
    /// clients that only build wss:// URLs.
    #[arg(long)]
    pub tls: bool,
    /// Port of the TLS listener (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    pub tls_port: u16,
    /// Directory to write the TLS certificate to (default: a new temporary directory).
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
    /// Require this API key (default: dev mode, any non-empty key is accepted).
    #[arg(long, env = "VOICEWIRE_EMULATOR_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Scenario file (JSON or YAML) scripting the agent's turns.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Stream reply audio as fast as possible instead of at playback speed.
    #[arg(long)]
    pub fast: bool,
    /// Use the deterministic tone pattern for replies even when espeak-ng is installed.
    #[arg(long)]
    pub tones_only: bool,
    /// End sessions with `session_expired` after this many seconds.
    #[arg(long)]
    pub max_session_secs: Option<u64>,
    /// Answer this many client-secret requests with HTTP 429 first.
    #[arg(long, default_value_t = 0)]
    pub mint_rate_limited: u32,
    /// Drop the connection this many ms into every response's audio.
    #[arg(long)]
    pub drop_mid_response_ms: Option<u64>,
    /// Send a `server_error` event at the start of every Nth response.
    #[arg(long, default_value_t = 0)]
    pub server_error_every: u32,
    /// Live sessions allowed at once.
    #[arg(long, default_value_t = 1_000)]
    pub max_sessions: usize,
}

impl ServeArgs {
    /// The emulator configuration these options describe.
    pub fn to_config(&self) -> Result<EmulatorConfig, EmulatorError> {
        let scenario = self
            .scenario
            .as_ref()
            .map(Scenario::from_file)
            .transpose()?;
        Ok(EmulatorConfig {
            bind: SocketAddr::new(self.host, self.port),
            api_key: self.api_key.clone().filter(|k| !k.is_empty()),
            audio_pace: if self.fast {
                AudioPace::Fast
            } else {
                AudioPace::RealTime
            },
            scenario,
            tls: self.tls,
            tls_bind: SocketAddr::new(self.host, self.tls_port),
            tls_cert_dir: self.cert_dir.clone(),
            max_session_duration: self.max_session_secs.map(Duration::from_secs),
            faults: FaultConfig {
                mint_rate_limited: self.mint_rate_limited,
                drop_mid_response_after: self.drop_mid_response_ms.map(Duration::from_millis),
                server_error_every_nth_response: self.server_error_every,
            },
            synth: if self.tones_only {
                SynthChoice::TonesOnly
            } else {
                SynthChoice::Auto
            },
            max_sessions: self.max_sessions,
            ..EmulatorConfig::default()
        })
    }
}

/// Runs the emulator until Ctrl-C or SIGTERM.
#[allow(
    clippy::print_stdout,
    reason = "the listening lines on stdout are the command's output contract"
)]
pub async fn run(args: ServeArgs) -> Result<(), EmulatorError> {
    let config = args.to_config()?;
    let handle = Emulator::start(config).await?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{}", handle.addr());
        if let (Some(addr), Some(cert)) = (handle.tls_addr(), handle.tls_cert_path()) {
            let _ = writeln!(
                out,
                "listening on https://{addr} (certificate: {})",
                cert.display()
            );
        }
        let _ = writeln!(
            out,
            "realtime websocket: {}/realtime?model=gpt-realtime  (mode: {})",
            handle.ws_base(),
            if args.api_key.is_some() {
                "API key required"
            } else {
                "dev, any non-empty key"
            }
        );
        let _ = out.flush();
    }
    wait_for_stop_signal().await;
    tracing::info!("stopping");
    handle.shutdown().await;
    Ok(())
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
