//! The emulator's "model": decides what a response contains. Pure logic — the actor does
//! the synthesis, streaming and bookkeeping.
//!
//! Default (echo) behaviour: an audio turn is answered with the user's own audio played
//! back (so a round trip can be checked as signal) and a transcript that says so; a text
//! turn is answered "You said: …"; a tool result is acknowledged. A scenario replaces this
//! with scripted turns. The emulator never claims to have recognized speech.

use std::time::Duration;

use crate::scenario::{Fallback, Scenario, ScenarioTurn, TurnFault};
use crate::vad::SAMPLE_RATE;

/// What the response is answering (the last relevant item of its context).
#[derive(Debug, Clone)]
pub(crate) enum LastInput {
    /// Nothing to answer (empty context or system messages only).
    Nothing,
    /// A user text message.
    Text(String),
    /// User audio (24 kHz samples; `None` when the audio budget dropped them).
    Audio {
        samples: Option<Vec<i16>>,
        len: usize,
    },
    /// A tool result.
    ToolOutput(String),
    /// The idle timeout fired.
    IdleTimeout,
}

/// Where a message's audio comes from.
#[derive(Debug, Clone)]
pub(crate) enum AudioSource {
    /// Speak this text.
    Synthesize(String),
    /// Play these samples (echo).
    Samples(Vec<i16>),
}

/// One planned output item.
#[derive(Debug, Clone)]
pub(crate) enum PlannedOutput {
    /// An assistant message.
    Message {
        /// Its text (the transcript, in audio mode).
        text: String,
        /// Its audio (ignored in text mode).
        audio: AudioSource,
    },
    /// A function call.
    FunctionCall {
        name: String,
        call_id: String,
        arguments: String,
    },
}

/// Everything a response will do.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReplyPlan {
    pub(crate) delay: Duration,
    pub(crate) outputs: Vec<PlannedOutput>,
    pub(crate) fault: Option<TurnFault>,
}

/// The transcript reported for user audio that the scenario does not name.
pub(crate) fn unrecognized_transcript(samples: usize) -> String {
    format!(
        "[{:.1} s of audio; the VoiceWire emulator does not transcribe speech]",
        seconds(samples)
    )
}

fn seconds(samples: usize) -> f64 {
    samples as f64 / f64::from(SAMPLE_RATE)
}

/// Plans the `index`th response (0-based) of a session.
pub(crate) fn plan(scenario: Option<&Scenario>, index: usize, last: &LastInput) -> ReplyPlan {
    match scenario {
        None => echo_plan(last),
        Some(s) => match s.turn(index) {
            Some(turn) => scripted_plan(turn, last),
            None => match s.fallback {
                Fallback::Echo | Fallback::RepeatLast => echo_plan(last),
                Fallback::Silence => ReplyPlan::default(),
            },
        },
    }
}

/// The transcript a scenario gives for the user input answered by the `index`th response.
pub(crate) fn scripted_user_transcript(
    scenario: Option<&Scenario>,
    index: usize,
) -> Option<String> {
    scenario
        .and_then(|s| s.turn(index))
        .and_then(|t| t.user_transcript.clone())
}

fn echo_plan(last: &LastInput) -> ReplyPlan {
    let (text, audio) = match last {
        LastInput::Nothing => {
            let text = "Hello from the VoiceWire local emulator.".to_owned();
            (text.clone(), AudioSource::Synthesize(text))
        }
        LastInput::Text(said) => {
            let text = format!("You said: {said}");
            (text.clone(), AudioSource::Synthesize(text))
        }
        LastInput::ToolOutput(output) => {
            let shown: String = output.chars().take(200).collect();
            let text = format!("The tool returned: {shown}");
            (text.clone(), AudioSource::Synthesize(text))
        }
        LastInput::IdleTimeout => {
            let text = "Are you still there?".to_owned();
            (text.clone(), AudioSource::Synthesize(text))
        }
        LastInput::Audio {
            samples: Some(samples),
            len,
        } => {
            let text = format!(
                "Echo of your {:.1} seconds of audio (the VoiceWire emulator plays your audio back; it does not recognize speech).",
                seconds(*len)
            );
            (text, AudioSource::Samples(samples.clone()))
        }
        LastInput::Audio { samples: None, len } => {
            let text = format!(
                "I received {:.1} seconds of audio, but it is no longer stored, so I cannot play it back.",
                seconds(*len)
            );
            (text.clone(), AudioSource::Synthesize(text))
        }
    };
    ReplyPlan {
        delay: Duration::ZERO,
        outputs: vec![PlannedOutput::Message { text, audio }],
        fault: None,
    }
}

fn scripted_plan(turn: &ScenarioTurn, last: &LastInput) -> ReplyPlan {
    let mut outputs = Vec::new();
    let user_audio = match last {
        LastInput::Audio {
            samples: Some(samples),
            ..
        } => Some(samples.clone()),
        _ => None,
    };
    match (&turn.reply, turn.echo, user_audio) {
        (Some(reply), true, Some(samples)) => {
            outputs.push(PlannedOutput::Message {
                text: reply.clone(),
                audio: AudioSource::Samples(samples),
            });
        }
        (Some(reply), _, _) => {
            outputs.push(PlannedOutput::Message {
                text: reply.clone(),
                audio: AudioSource::Synthesize(reply.clone()),
            });
        }
        (None, true, _) => outputs.extend(echo_plan(last).outputs),
        (None, false, _) => {}
    }
    for call in &turn.tool_calls {
        outputs.push(PlannedOutput::FunctionCall {
            name: call.name.clone(),
            call_id: call
                .call_id
                .clone()
                .unwrap_or_else(crate::ids::function_call),
            arguments: call.arguments_json(),
        });
    }
    ReplyPlan {
        delay: Duration::from_millis(turn.delay_ms),
        outputs,
        fault: turn.fault.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::Fault;

    #[test]
    fn echo_answers_each_kind() {
        let p = plan(None, 0, &LastInput::Text("hi".into()));
        assert!(
            matches!(&p.outputs[0], PlannedOutput::Message { text, .. } if text == "You said: hi")
        );
        let p = plan(
            None,
            0,
            &LastInput::Audio {
                samples: Some(vec![1; 24_000]),
                len: 24_000,
            },
        );
        assert!(
            matches!(&p.outputs[0], PlannedOutput::Message { audio: AudioSource::Samples(s), text } if s.len() == 24_000 && text.contains("1.0 seconds"))
        );
        let p = plan(None, 0, &LastInput::ToolOutput("{\"ok\":true}".into()));
        assert!(
            matches!(&p.outputs[0], PlannedOutput::Message { text, .. } if text.contains("ok"))
        );
    }

    #[test]
    fn scenario_turns_then_fallback() {
        let s = Scenario::parse(
            r#"
turns:
  - reply: "Checking."
    delay_ms: 50
    tool_calls: [{name: get_weather, arguments: {city: Paris}, call_id: call_1}]
    fault: {type: stall, ms: 10, after_audio_ms: 100}
  - {}
fallback: silence
"#,
        )
        .unwrap();
        let p = plan(Some(&s), 0, &LastInput::Nothing);
        assert_eq!(p.delay, Duration::from_millis(50));
        assert_eq!(p.outputs.len(), 2);
        assert!(
            matches!(&p.outputs[1], PlannedOutput::FunctionCall { name, call_id, arguments }
            if name == "get_weather" && call_id == "call_1" && arguments == r#"{"city":"Paris"}"#)
        );
        assert_eq!(p.fault.unwrap().fault, Fault::Stall { ms: 10 });
        assert!(plan(Some(&s), 1, &LastInput::Nothing).outputs.is_empty());
        assert!(
            plan(Some(&s), 2, &LastInput::Text("x".into()))
                .outputs
                .is_empty()
        );
    }
}
