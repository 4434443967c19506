//! `voicewire`: one command for the VoiceWire tools. Each subcommand lives in its own
//! module or crate; this file only parses arguments and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod event_json;
mod exit;
mod mint;
mod talk;
mod target;
mod view;

/// VoiceWire: realtime voice agents on the OpenAI Realtime API.
#[derive(Debug, Parser)]
#[command(name = "voicewire", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the local Realtime-compatible emulator (offline, no API key needed).
    Serve(voicewire_server::cli::ServeArgs),
    /// Talk to a voice agent: microphone, a WAV file (--input) or text (--text). Without
    /// OPENAI_API_KEY it talks to the local emulator, offline.
    Talk(Box<talk::TalkArgs>),
    /// Create a short-lived client secret for an app session (OpenAI or --url).
    Mint(mint::MintArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Session commands keep the terminal for the conversation and report failures
    // themselves: no logs unless RUST_LOG asks for them.
    init_logging(match cli.command {
        Command::Serve(_) => "info",
        Command::Talk(_) | Command::Mint(_) => "off",
    });
    let result = match cli.command {
        Command::Serve(args) => voicewire_server::cli::run(args)
            .await
            .map_err(|e| e.to_string()),
        Command::Talk(args) => return exit::report(talk::run(*args).await),
        Command::Mint(args) => return exit::report(mint::run(args).await),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout carries command output), filtered by `RUST_LOG`. Without it, the
/// WebRTC stack's own crates (`webrtc*`, `rtc*`, matched by target prefix) log warnings and
/// errors only: their routine INFO lines would drown the tool's own output.
fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{default_level},webrtc=warn,rtc=warn"))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
