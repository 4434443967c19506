//! `voicewire mint`: create a short-lived client secret (`POST /v1/realtime/client_secrets`).
//!
//! What a backend does for each app session, from the command line: with `OPENAI_API_KEY`
//! against OpenAI, or against any compatible server with `--url` (the emulator from
//! `voicewire serve`). Prints the secret alone on stdout so `$(voicewire mint)` works, or a
//! JSON object with `--json`. The secret is the command's output; it is never logged.

use std::io::Write;
use std::time::Duration;

use voicewire::auth::Secret;
use voicewire::protocol::Nullable;
use voicewire::protocol::session::Prompt;
use voicewire::{MintingClient, SessionConfig};

use crate::exit::{self, CliError};
use crate::target::{self, API_KEY_ENV, DEV_KEY};

/// Options of `voicewire mint`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = exit::TABLE)]
pub struct MintArgs {
    /// Server to mint against instead of OpenAI: its REST base, e.g. the emulator from
    /// `voicewire serve` at http://127.0.0.1:8765/v1.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Seconds the secret can start sessions (10 to 7200).
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub ttl: u64,
    /// Model the secret's sessions use.
    #[arg(long)]
    pub model: Option<String>,
    /// Voice.
    #[arg(long)]
    pub voice: Option<String>,
    /// System instructions.
    #[arg(long)]
    pub instructions: Option<String>,
    /// A stored prompt (`pmpt_…`).
    #[arg(long, value_name = "ID")]
    pub prompt_id: Option<String>,
    /// The prompt version to pin (default: the latest).
    #[arg(long, value_name = "VERSION", requires = "prompt_id")]
    pub prompt_version: Option<String>,
    /// Print `{"value": …, "expires_at": …}` instead of the bare secret.
    #[arg(long)]
    pub json: bool,
}

impl MintArgs {
    fn session_config(&self) -> SessionConfig {
        let mut config = SessionConfig {
            model: self.model.clone(),
            ..SessionConfig::default()
        };
        if let Some(instructions) = &self.instructions {
            config = config.with_instructions(instructions.clone());
        }
        if let Some(voice) = &self.voice {
            config = config.with_voice(voice.as_str());
        }
        if let Some(id) = &self.prompt_id {
            config.prompt = Nullable::Value(Prompt {
                id: id.clone(),
                version: self.prompt_version.clone(),
                variables: None,
            });
        }
        config
    }

    fn api_base(&self) -> Result<Option<String>, CliError> {
        let Some(raw) = &self.url else {
            return Ok(None);
        };
        let url = url::Url::parse(raw)
            .map_err(|e| CliError::Usage(format!("--url {raw:?} is not a valid URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(CliError::Usage(format!(
                "--url must be the server's REST base, like http://127.0.0.1:8765/v1 (got {raw})"
            )));
        }
        let mut base = url.as_str().trim_end_matches('/').to_owned();
        if url.path() == "/" {
            base.push_str("/v1");
        }
        Ok(Some(base))
    }
}

/// Runs `voicewire mint`.
pub async fn run(args: MintArgs) -> Result<(), CliError> {
    if !(10..=7200).contains(&args.ttl) {
        return Err(CliError::Usage(format!(
            "--ttl must be between 10 and 7200 seconds (got {})",
            args.ttl
        )));
    }
    let api_base = args.api_base()?;
    let key = match (target::api_key_from_env(), &api_base) {
        (Some(key), _) => key,
        (None, Some(_)) => Secret::new(DEV_KEY),
        (None, None) => {
            return Err(CliError::Usage(format!(
                "{API_KEY_ENV} is not set: set it to mint with OpenAI, or mint against the local emulator with `voicewire serve` and `voicewire mint --url http://127.0.0.1:8765/v1`"
            )));
        }
    };
    let mut client = MintingClient::new(key)?;
    if let Some(base) = api_base {
        client = client.with_api_base(base);
    }
    let secret = client
        .create_client_secret(&args.session_config(), Duration::from_secs(args.ttl))
        .await
        .map_err(voicewire::Error::from)?;
    let mut out = std::io::stdout().lock();
    let line = if args.json {
        serde_json::json!({
            "value": secret.value.expose(),
            "expires_at": secret.expires_at,
        })
        .to_string()
    } else {
        secret.value.expose().to_owned()
    };
    writeln!(out, "{line}").map_err(|e| CliError::File(format!("cannot write to stdout: {e}")))?;
    Ok(())
}
