//! One voice turn from a WAV file to a WAV file.
//!
//! With `OPENAI_API_KEY` set it talks to OpenAI; otherwise it starts the local emulator
//! in-process (no network, no key). Usage:
//!
//! ```text
//! cargo run -p voicewire --example wav_turn -- [INPUT.wav] [OUTPUT.wav]
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::time::Duration;

use voicewire::protocol::Nullable;
use voicewire::protocol::session::TranscriptionConfig;
use voicewire::run::voice_turn_from_wav;
use voicewire::{Endpoint, SessionConfig, SessionOptions, TokenSource, TurnDetection};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args.next().map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/audio/speech_weather_padded_24k.wav")
        },
        PathBuf::from,
    );
    let output = args.next().map_or_else(
        || std::env::temp_dir().join("voicewire-reply.wav"),
        PathBuf::from,
    );

    let mut session = SessionConfig::default()
        .with_instructions("You are a concise, friendly voice assistant.")
        .with_turn_detection(Some(TurnDetection::server_vad()));
    session.audio_input_mut().transcription = Nullable::Value(TranscriptionConfig {
        model: Some("gpt-4o-transcribe".into()),
        ..Default::default()
    });

    let (options, emulator) = match std::env::var("OPENAI_API_KEY") {
        Ok(key) => (SessionOptions::new(TokenSource::api_key(key)), None),
        Err(_) => {
            let emulator =
                voicewire_server::Emulator::start(voicewire_server::EmulatorConfig::default())
                    .await?;
            eprintln!(
                "no OPENAI_API_KEY: using the local emulator at {}",
                emulator.http_base()
            );
            let options = SessionOptions::new(TokenSource::api_key("sk-local"))
                .endpoint(Endpoint::with_api_base(emulator.http_base()));
            (options, Some(emulator))
        }
    };
    let outcome = voice_turn_from_wav(
        options.session_config(session),
        &input,
        &output,
        Duration::from_secs(60),
    )
    .await?;
    println!(
        "you said:       {}",
        outcome
            .user_transcript
            .as_deref()
            .unwrap_or("(no transcript)")
    );
    println!("assistant said: {}", outcome.assistant_transcript);
    println!("reply audio:    {}", output.display());
    let m = outcome.metrics;
    println!(
        "metrics:        connect {:?}, time to first audio {:?}, {} ms sent, {} ms received, {} tokens",
        m.connect_time,
        m.last_time_to_first_audio,
        m.audio_ms_sent,
        m.audio_ms_received,
        m.usage.total_tokens
    );
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    Ok(())
}
