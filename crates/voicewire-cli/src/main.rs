//! `voicewire`: one command for the VoiceWire tools. Each subcommand lives in its own
//! module or crate; this file only parses arguments and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Serve(args) => voicewire_server::cli::run(args)
            .await
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout carries command output), filtered by `RUST_LOG`.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
