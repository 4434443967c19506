//! Text-only chat: no audio device, messages in, text answers out.
//!
//! `cargo run -p voicewire-examples --bin text_chat -- "Hello!" "What can you do?"`
#![allow(clippy::print_stdout, reason = "an example program reports on stdout")]

use std::time::Duration;

use voicewire::protocol::session::Modality;
use voicewire::run::collect_turn;
use voicewire::{RealtimeVoiceSession, SessionConfig, SessionOptions};
use voicewire_examples::{BoxError, upstream::Upstream};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut messages: Vec<String> = std::env::args().skip(1).collect();
    if messages.is_empty() {
        messages = vec!["Hello!".into(), "What can you do?".into()];
    }
    let upstream = Upstream::from_env(None).await?;
    println!("talking to {}", upstream.describe());
    // Text answers only: no audio is generated or sent.
    let config = SessionConfig {
        output_modalities: Some(vec![Modality::Text]),
        ..SessionConfig::default()
    }
    .with_instructions("You are a concise assistant.")
    .with_turn_detection(None);
    let session = RealtimeVoiceSession::new(
        SessionOptions::new(upstream.api_key_source())
            .endpoint(upstream.endpoint())
            .session_config(config),
    );
    session.start().await?;
    let mut result = Ok(());
    for message in &messages {
        println!("you: {message}");
        let turn = async {
            session.send_text(message.as_str()).await?;
            collect_turn(&session).await
        };
        match tokio::time::timeout(Duration::from_secs(60), turn).await {
            Ok(Ok(outcome)) => println!("assistant: {}", outcome.assistant_transcript),
            Ok(Err(e)) => {
                result = Err(e.into());
                break;
            }
            Err(_) => {
                result = Err("no answer within 60 s".into());
                break;
            }
        }
    }
    session.stop().await?;
    upstream.shutdown().await;
    result
}
