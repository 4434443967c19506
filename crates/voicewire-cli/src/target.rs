//! Where a command connects, and with which credential.
//!
//! The rule a newcomer can predict: with no `--url` and no `OPENAI_API_KEY`, the local
//! emulator starts inside the process (offline, no key); with `OPENAI_API_KEY` set, OpenAI;
//! with `--url`, that server (the emulator from `voicewire serve`, a relay, an Azure-style
//! deployment, any Realtime-compatible server). The API key is read from the environment
//! only — never from a flag, where it would show up in shell history and `ps`.

use std::io::Write;
use std::path::PathBuf;

use voicewire::auth::Secret;
use voicewire::{AuthStyle, Endpoint};
use voicewire_server::{AudioPace, Emulator, EmulatorConfig, EmulatorHandle, Scenario};

use crate::exit::CliError;

/// The environment variable holding the API key.
pub const API_KEY_ENV: &str = "OPENAI_API_KEY";

/// The key presented to servers that accept any key (the emulator in dev mode) when
/// `OPENAI_API_KEY` is not set.
pub const DEV_KEY: &str = "voicewire-dev-key";

/// How the credential is presented on a WebSocket handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthArg {
    /// `Authorization: Bearer <key>` (OpenAI, most servers, the emulator).
    Bearer,
    /// Browser-style subprotocols (`openai-insecure-api-key.<key>`), for relays built for browsers.
    Subprotocol,
    /// Azure-style `api-key` header.
    ApiKeyHeader,
    /// No credential on the handshake (a relay that authenticates with a token in its URL).
    None,
}

impl AuthArg {
    fn style(self) -> AuthStyle {
        match self {
            AuthArg::Bearer => AuthStyle::BearerHeader,
            AuthArg::Subprotocol => AuthStyle::Subprotocol,
            AuthArg::ApiKeyHeader => AuthStyle::Header("api-key".to_owned()),
            AuthArg::None => AuthStyle::None,
        }
    }
}

/// Connection options shared by `talk` and `mint`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Server to use instead of OpenAI: a REST base (`http://127.0.0.1:8765/v1`, the
    /// emulator from `voicewire serve`; `https://x.openai.azure.com` with --azure-deployment)
    /// or a WebSocket URL (`wss://relay.example/realtime?token=JWT`, a relay).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Use the local emulator inside this process even when OPENAI_API_KEY is set.
    #[arg(long, conflicts_with = "url")]
    pub emulator: bool,
    /// How the key is presented on the WebSocket handshake (default: bearer; subprotocol
    /// for ws:// and wss:// URLs).
    #[arg(long, value_enum)]
    pub auth: Option<AuthArg>,
    /// Azure-style deployment name (with --url https://RESOURCE.openai.azure.com).
    #[arg(long, requires = "url", value_name = "NAME")]
    pub azure_deployment: Option<String>,
    /// Azure-style API version.
    #[arg(
        long,
        requires = "azure_deployment",
        default_value = "2025-04-01-preview",
        value_name = "VERSION"
    )]
    pub azure_api_version: String,
    /// Script the in-process emulator's agent with this scenario file (JSON or YAML).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
}

/// A resolved target.
pub struct Target {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// The key to present (the real key, or [`DEV_KEY`] for the emulator).
    pub key: Secret,
    /// The in-process emulator, when one was started (shut down with [`Target::close`]).
    pub emulator: Option<EmulatorHandle>,
    /// One line saying where this goes, for people.
    pub description: String,
}

impl Target {
    /// Stops the in-process emulator, if any.
    pub async fn close(self) {
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await;
        }
    }
}

/// Reads the API key from the environment (an empty value counts as unset).
pub fn api_key_from_env() -> Option<Secret> {
    std::env::var(API_KEY_ENV)
        .ok()
        .filter(|k| !k.trim().is_empty())
        .map(|k| Secret::new(k.trim()))
}

/// Parses `--url` into an endpoint, with errors that say what a valid value looks like.
pub fn endpoint_from_url(args: &ConnectArgs, raw: &str) -> Result<Endpoint, CliError> {
    let url = url::Url::parse(raw).map_err(|e| {
        CliError::Usage(format!(
            "--url {raw:?} is not a valid URL ({e}); examples: http://127.0.0.1:8765/v1, wss://relay.example/realtime"
        ))
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(CliError::Usage(format!("--url {raw:?} has no host")));
    }
    let endpoint = match url.scheme() {
        "http" | "https" => {
            if let Some(deployment) = &args.azure_deployment {
                Endpoint::azure(
                    url.as_str().trim_end_matches('/'),
                    deployment,
                    &args.azure_api_version,
                )
            } else {
                let mut base = url.as_str().trim_end_matches('/').to_owned();
                if url.path() == "/" {
                    // `http://127.0.0.1:8765` means the server's standard `/v1` base.
                    base.push_str("/v1");
                }
                Endpoint::with_api_base(base)
            }
        }
        "ws" | "wss" => {
            if args.azure_deployment.is_some() {
                return Err(CliError::Usage(
                    "--azure-deployment needs an https:// resource URL, not a WebSocket URL".into(),
                ));
            }
            Endpoint::relay(url.as_str())
        }
        other => {
            return Err(CliError::Usage(format!(
                "--url must start with http://, https://, ws:// or wss:// (got {other}://)"
            )));
        }
    };
    Ok(match args.auth {
        Some(auth) => endpoint.auth_style(auth.style()),
        None => endpoint,
    })
}

/// Resolves the target of a command. `pace` is the in-process emulator's audio pace.
pub async fn resolve(args: &ConnectArgs, pace: AudioPace) -> Result<Target, CliError> {
    let key = api_key_from_env();
    if args.scenario.is_some() && (args.url.is_some() || (key.is_some() && !args.emulator)) {
        return Err(CliError::Usage(
            "--scenario scripts the in-process emulator; it cannot be used with --url or OPENAI_API_KEY (add --emulator)".into(),
        ));
    }
    if let Some(raw) = &args.url {
        let endpoint = endpoint_from_url(args, raw)?;
        let description = format!("server {}", endpoint.redacted_websocket_url());
        return Ok(Target {
            endpoint,
            key: key.unwrap_or_else(|| Secret::new(DEV_KEY)),
            emulator: None,
            description,
        });
    }
    if let (Some(key), false) = (key.clone(), args.emulator) {
        let mut endpoint = Endpoint::openai();
        if let Some(auth) = args.auth {
            endpoint = endpoint.auth_style(auth.style());
        }
        return Ok(Target {
            endpoint,
            key,
            emulator: None,
            description: "OpenAI (OPENAI_API_KEY is set)".into(),
        });
    }
    let scenario = match &args.scenario {
        Some(path) => Some(
            Scenario::from_file(path)
                .map_err(|e| CliError::File(format!("scenario {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let emulator = Emulator::start(EmulatorConfig {
        audio_pace: pace,
        scenario,
        ..EmulatorConfig::default()
    })
    .await?;
    let mut endpoint = Endpoint::with_api_base(emulator.http_base());
    if let Some(auth) = args.auth {
        endpoint = endpoint.auth_style(auth.style());
    }
    let description = if args.emulator {
        format!(
            "the local emulator at {} (--emulator)",
            emulator.http_base()
        )
    } else {
        format!(
            "the local emulator at {} (offline: OPENAI_API_KEY is not set)",
            emulator.http_base()
        )
    };
    Ok(Target {
        endpoint,
        key: Secret::new(DEV_KEY),
        emulator: Some(emulator),
        description,
    })
}

/// Writes a note for people on stderr (stdout carries the command's output).
pub fn note(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "voicewire: {text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ConnectArgs {
        ConnectArgs {
            url: None,
            emulator: false,
            auth: None,
            azure_deployment: None,
            azure_api_version: "2025-04-01-preview".into(),
            scenario: None,
        }
    }

    #[test]
    fn http_urls_become_rest_bases_and_get_v1_when_bare() {
        let e = endpoint_from_url(&args(), "http://127.0.0.1:8765").unwrap();
        assert_eq!(e.api_base, "http://127.0.0.1:8765/v1");
        let e = endpoint_from_url(&args(), "http://127.0.0.1:8765/v1/").unwrap();
        assert_eq!(e.api_base, "http://127.0.0.1:8765/v1");
        assert_eq!(e.auth, AuthStyle::BearerHeader);
    }

    #[test]
    fn websocket_urls_are_relays_with_subprotocol_auth_unless_told() {
        let e = endpoint_from_url(&args(), "wss://relay.example/realtime?token=abc").unwrap();
        assert_eq!(e.auth, AuthStyle::Subprotocol);
        assert!(
            e.websocket_url()
                .unwrap()
                .as_str()
                .starts_with("wss://relay.example/realtime?token=abc")
        );
        let mut a = args();
        a.auth = Some(AuthArg::None);
        let e = endpoint_from_url(&a, "ws://127.0.0.1:9/realtime").unwrap();
        assert_eq!(e.auth, AuthStyle::None);
    }

    #[test]
    fn azure_urls_use_the_deployment() {
        let mut a = args();
        a.azure_deployment = Some("voice".into());
        let e = endpoint_from_url(&a, "https://x.openai.azure.com").unwrap();
        assert_eq!(e.auth, AuthStyle::Header("api-key".into()));
        assert!(
            e.websocket_url()
                .unwrap()
                .as_str()
                .contains("deployment=voice")
        );
    }

    #[test]
    fn bad_urls_are_usage_errors() {
        for bad in ["not a url", "ftp://x/v1", "http://"] {
            let err = endpoint_from_url(&args(), bad).map(|_| ()).unwrap_err();
            assert_eq!(err.exit_code(), crate::exit::USAGE, "{bad}: {err}");
        }
    }
}
