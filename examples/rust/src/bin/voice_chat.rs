//! Voice chat from a WAV file: the file is the microphone, the reply goes to a WAV file.
//!
//! `cargo run -p voicewire-examples --bin voice_chat -- [question.wav] [reply.wav]`
//! (defaults: the weather question in fixtures/, reply.wav). Offline against the local
//! emulator unless OPENAI_API_KEY is set.
#![allow(clippy::print_stdout, reason = "an example program reports on stdout")]

use std::path::PathBuf;
use std::time::Duration;

use voicewire::protocol::Nullable;
use voicewire::protocol::session::TranscriptionConfig;
use voicewire::run::voice_turn_from_wav;
use voicewire::{SessionConfig, SessionOptions, TurnDetection};
use voicewire_examples::{BoxError, upstream::Upstream};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let input = args.next().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/audio/speech_weather_24k.wav")
    });
    let output = args
        .next()
        .map_or_else(|| PathBuf::from("reply.wav"), PathBuf::from);

    let upstream = Upstream::from_env(None).await?;
    println!("talking to {}", upstream.describe());
    // Server VAD ends the turn when the speech stops; transcription shows what was heard.
    let mut config = SessionConfig::default()
        .with_instructions("You are a friendly weather assistant. Answer in one sentence.")
        .with_turn_detection(Some(TurnDetection::server_vad()));
    config.audio_input_mut().transcription = Nullable::Value(TranscriptionConfig {
        model: Some("gpt-4o-transcribe".into()),
        ..TranscriptionConfig::default()
    });
    let options = SessionOptions::new(upstream.api_key_source())
        .endpoint(upstream.endpoint())
        .session_config(config);

    let outcome = voice_turn_from_wav(options, &input, &output, Duration::from_secs(60)).await;
    upstream.shutdown().await;
    let outcome = outcome?;
    if let Some(heard) = &outcome.user_transcript {
        println!("you: {heard}");
    }
    println!("assistant: {}", outcome.assistant_transcript);
    println!("reply audio: {}", output.display());
    if let Some(latency) = outcome.metrics.last_time_to_first_audio {
        println!("time to first audio: {} ms", latency.as_millis());
    }
    Ok(())
}
