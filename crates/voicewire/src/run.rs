//! One-call helpers for tools and examples: a voice turn from a WAV file to a WAV file, and a
//! text turn. They run a whole session (start, one exchange, stop) and return what was said.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use voicewire_audio::{AfterInput, AudioFormat, FileDevice, FilePace};
use voicewire_core::{SessionEvent, SessionMetrics};

use crate::error::Error;
use crate::options::SessionOptions;
use crate::session::RealtimeVoiceSession;
use crate::tools::ToolCall;

/// What happened in one exchange.
#[derive(Debug, Clone, Default)]
pub struct TurnOutcome {
    /// The user's words as the server transcribed them (when input transcription is on).
    pub user_transcript: Option<String>,
    /// What the assistant said (all final transcripts of the exchange, joined).
    pub assistant_transcript: String,
    /// Tool calls the model made.
    pub tool_calls: Vec<ToolCall>,
    /// Every event of the session, in order.
    pub events: Vec<SessionEvent>,
    /// Metrics at the end.
    pub metrics: SessionMetrics,
}

/// Plays `input_wav` (any rate/channels) as the microphone, in real time, followed by
/// silence so the server's voice detector sees the end of the turn; writes everything the
/// "speaker" played (24 kHz mono PCM16) to `output_wav`; returns once the assistant's answer
/// has been fully played, or fails after `timeout`.
pub async fn voice_turn_from_wav(
    options: SessionOptions,
    input_wav: &Path,
    output_wav: &Path,
    timeout: Duration,
) -> Result<TurnOutcome, Error> {
    let device = FileDevice::new(FilePace::RealTime)
        .with_input_wav(input_wav)?
        .after_input(AfterInput::Silence)
        .with_output_wav(output_wav, AudioFormat::WIRE_PCM16_24K);
    let session = RealtimeVoiceSession::new(options.audio_device(Box::new(device)));
    session.start().await?;
    let outcome = tokio::time::timeout(timeout, collect_turn(&session)).await;
    session.stop().await?;
    match outcome {
        Ok(result) => result.map(|mut o| {
            o.metrics = session.metrics();
            o
        }),
        Err(_) => Err(Error::Other {
            message: format!("no complete answer within {} ms", timeout.as_millis()),
        }),
    }
}

/// Sends `text` and returns once the answer is complete (and, with an audio device in
/// `options`, fully played).
pub async fn text_turn(
    options: SessionOptions,
    text: &str,
    timeout: Duration,
) -> Result<TurnOutcome, Error> {
    let session = RealtimeVoiceSession::new(options);
    session.start().await?;
    let result = async {
        session.send_text(text).await?;
        collect_turn(&session).await
    };
    let outcome = tokio::time::timeout(timeout, result).await;
    session.stop().await?;
    match outcome {
        Ok(result) => result.map(|mut o| {
            o.metrics = session.metrics();
            o
        }),
        Err(_) => Err(Error::Other {
            message: format!("no complete answer within {} ms", timeout.as_millis()),
        }),
    }
}

/// Reads events until the assistant has given a final answer and its audio has stopped.
pub async fn collect_turn(session: &RealtimeVoiceSession) -> Result<TurnOutcome, Error> {
    let mut outcome = TurnOutcome::default();
    let mut audio_playing: HashSet<String> = HashSet::new();
    let mut answered = false;
    while let Some(event) = session.next_event().await {
        match &event {
            SessionEvent::UserTranscriptFinal { text, .. } => {
                outcome.user_transcript = Some(text.clone())
            }
            SessionEvent::AssistantTranscriptFinal { text, .. } => {
                if !outcome.assistant_transcript.is_empty() {
                    outcome.assistant_transcript.push(' ');
                }
                outcome.assistant_transcript.push_str(text);
                answered = true;
            }
            SessionEvent::AssistantAudioStarted { item_id } => {
                audio_playing.insert(item_id.clone());
            }
            SessionEvent::AssistantAudioStopped { item_id, .. } => {
                audio_playing.remove(item_id);
            }
            SessionEvent::ToolCall(call) => outcome.tool_calls.push(call.clone()),
            SessionEvent::StateChanged(state) if state.is_terminal() => {
                outcome.events.push(event.clone());
                return Err(match state {
                    voicewire_core::SessionState::Failed { error } => Error::from(error),
                    _ => Error::closed("the session closed before the answer"),
                });
            }
            _ => {}
        }
        let finished = answered && audio_playing.is_empty();
        outcome.events.push(event);
        if finished {
            return Ok(outcome);
        }
    }
    Err(Error::closed("the session ended before the answer"))
}
