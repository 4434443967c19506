//! `--json`: every session event as one JSON object per line, for scripts.
//!
//! The shape is ours, not the wire protocol's: `{"type": "<snake_case event>", ...fields}`,
//! stable across transports and server dialects, so `jq 'select(.type=="assistant_transcript")'`
//! works the same against OpenAI, a relay or the emulator. Unknown server events pass through
//! as `{"type":"raw","event":{…}}`.

use serde_json::{Value, json};
use voicewire::protocol::Dialect;
use voicewire::{
    AudioLevels, CloseReason, InterruptCause, SessionEvent, SessionMetrics, SessionState, Usage,
};

/// A session state as JSON fields (merged into the `state` event).
pub fn state_json(state: &SessionState) -> Value {
    let mut v = json!({ "state": state.name() });
    match state {
        SessionState::Reconnecting { attempt } => v["attempt"] = json!(attempt),
        SessionState::Closed { reason } => {
            v["reason"] = json!(match reason {
                CloseReason::Stopped => "stopped",
                CloseReason::ServerClosed => "server_closed",
                _ => "other",
            })
        }
        SessionState::Failed { error } => {
            v["error"] = json!({ "kind": error.kind.code(), "message": error.message })
        }
        _ => {}
    }
    v
}

fn levels_json(l: &AudioLevels) -> Value {
    json!({
        "input_rms": l.input_rms, "input_peak": l.input_peak,
        "output_rms": l.output_rms, "output_peak": l.output_peak,
    })
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "total_tokens": u.total_tokens, "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens, "input_text_tokens": u.input_text_tokens,
        "input_audio_tokens": u.input_audio_tokens, "cached_tokens": u.cached_tokens,
        "output_text_tokens": u.output_text_tokens, "output_audio_tokens": u.output_audio_tokens,
    })
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Metrics as JSON (durations in milliseconds).
pub fn metrics_json(m: &SessionMetrics) -> Value {
    json!({
        "connect_ms": m.connect_time.map(millis),
        "last_time_to_first_audio_ms": m.last_time_to_first_audio.map(millis),
        "time_to_first_audio_ms": m.time_to_first_audio.iter().copied().map(millis).collect::<Vec<_>>(),
        "turns": m.turns,
        "reconnects": m.reconnects,
        "interruptions": m.interruptions,
        "tool_calls": m.tool_calls,
        "underruns": m.underruns,
        "bytes_sent": m.bytes_sent,
        "bytes_received": m.bytes_received,
        "audio_ms_sent": m.audio_ms_sent,
        "audio_ms_received": m.audio_ms_received,
        "usage": usage_json(&m.usage),
    })
}

/// One event as a JSON object.
pub fn event_json(event: &SessionEvent) -> Value {
    match event {
        SessionEvent::StateChanged(state) => {
            let mut v = state_json(state);
            v["type"] = json!("state");
            v
        }
        SessionEvent::UserSpeechStarted {
            item_id,
            audio_start_ms,
        } => {
            json!({"type": "user_speech_started", "item_id": item_id, "audio_start_ms": audio_start_ms})
        }
        SessionEvent::UserSpeechStopped {
            item_id,
            audio_end_ms,
        } => {
            json!({"type": "user_speech_stopped", "item_id": item_id, "audio_end_ms": audio_end_ms})
        }
        SessionEvent::UserTranscriptDelta { item_id, delta } => {
            json!({"type": "user_transcript_delta", "item_id": item_id, "delta": delta})
        }
        SessionEvent::UserTranscriptFinal { item_id, text } => {
            json!({"type": "user_transcript", "item_id": item_id, "text": text})
        }
        SessionEvent::AssistantTranscriptDelta {
            item_id,
            response_id,
            delta,
        } => json!({
            "type": "assistant_transcript_delta", "item_id": item_id,
            "response_id": response_id, "delta": delta,
        }),
        SessionEvent::AssistantTranscriptFinal {
            item_id,
            response_id,
            text,
            complete,
        } => json!({
            "type": "assistant_transcript", "item_id": item_id,
            "response_id": response_id, "text": text, "complete": complete,
        }),
        SessionEvent::AssistantAudioStarted { item_id } => {
            json!({"type": "assistant_audio_started", "item_id": item_id})
        }
        SessionEvent::AssistantAudioStopped { item_id, played_ms } => {
            json!({"type": "assistant_audio_stopped", "item_id": item_id, "played_ms": played_ms})
        }
        SessionEvent::ToolCall(call) => json!({
            "type": "tool_call", "call_id": call.call_id, "name": call.name,
            "arguments": call.arguments, "item_id": call.item_id, "response_id": call.response_id,
        }),
        SessionEvent::Interrupted {
            cause,
            item_id,
            played_ms,
        } => json!({
            "type": "interrupted",
            "cause": match cause { InterruptCause::UserSpeech => "user_speech", InterruptCause::Manual => "manual", _ => "other" },
            "item_id": item_id, "played_ms": played_ms,
        }),
        SessionEvent::AudioLevels(levels) => {
            let mut v = levels_json(levels);
            v["type"] = json!("levels");
            v
        }
        SessionEvent::Usage(usage) => {
            let mut v = usage_json(usage);
            v["type"] = json!("usage");
            v
        }
        SessionEvent::Metrics(metrics) => {
            let mut v = metrics_json(metrics);
            v["type"] = json!("metrics");
            v
        }
        SessionEvent::Error {
            code,
            message,
            recoverable,
        } => json!({"type": "error", "code": code, "message": message, "recoverable": recoverable}),
        SessionEvent::Raw(server_event) => {
            let event = server_event
                .encode(Dialect::Ga)
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .unwrap_or(Value::Null);
            json!({"type": "raw", "event": event})
        }
        // Events a newer library adds before this CLI names them are still printed.
        other => json!({"type": "other", "debug": format!("{other:?}")}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voicewire::protocol::ServerEvent;

    #[test]
    fn events_have_stable_snake_case_types() {
        let e = SessionEvent::AssistantTranscriptFinal {
            item_id: "i1".into(),
            response_id: Some("r1".into()),
            text: "Hi".into(),
            complete: true,
        };
        assert_eq!(
            event_json(&e),
            json!({"type":"assistant_transcript","item_id":"i1","response_id":"r1","text":"Hi","complete":true})
        );
        let s = SessionEvent::StateChanged(SessionState::Failed {
            error: voicewire_core::SessionError::new(voicewire_core::ErrorKind::Auth, "refused"),
        });
        let v = event_json(&s);
        assert_eq!(v["type"], "state");
        assert_eq!(v["state"], "Failed");
        assert_eq!(v["error"]["kind"], "auth");
    }

    #[test]
    fn unknown_server_events_pass_through_whole() {
        let raw = ServerEvent::decode(r#"{"type":"future.event","event_id":"e9","x":1}"#).unwrap();
        let v = event_json(&SessionEvent::Raw(Box::new(raw)));
        assert_eq!(v["type"], "raw");
        assert_eq!(v["event"]["type"], "future.event");
        assert_eq!(v["event"]["x"], 1);
    }
}
