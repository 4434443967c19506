//! Deterministic engine tests on a virtual clock: scripted server events in, outputs checked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use voicewire_core::{
    AudioCommand, AudioPath, DriverAction, Engine, EngineConfig, ErrorKind, FlushedItem,
    InterruptCause, Output, ReconnectPolicy, SessionError, SessionEvent, SessionState, Timestamp,
};
use voicewire_protocol::{
    ClientEvent, Dialect, ServerEvent, SessionConfig, TurnDetection, encode_pcm16_base64,
};

/// Drives an engine and sorts its outputs.
struct Harness {
    engine: Engine,
    now: Timestamp,
    sent: Vec<ClientEvent>,
    events: Vec<SessionEvent>,
    audio: Vec<AudioCommand>,
    actions: Vec<DriverAction>,
}

impl Harness {
    fn new(config: EngineConfig) -> Self {
        Harness {
            engine: Engine::new(config),
            now: Timestamp::ZERO,
            sent: Vec::new(),
            events: Vec::new(),
            audio: Vec::new(),
            actions: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::Send(e) => self.sent.push(*e),
                Output::Emit(e) => self.events.push(e),
                Output::Audio(a) => self.audio.push(a),
                Output::Driver(d) => self.actions.push(d),
            }
        }
    }

    fn advance(&mut self, ms: u64) {
        let target = self.now + Duration::from_millis(ms);
        // Fire every timer due on the way, in order, like a driver would.
        while let Some(t) = self.engine.poll_timeout() {
            if t > target {
                break;
            }
            self.now = t.max(self.now);
            self.engine.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    fn server(&mut self, json: &str) {
        let event = ServerEvent::decode(json).expect("test event decodes");
        self.engine.handle_server_event(event, self.now);
        self.drain();
    }

    fn sent_types(&self) -> Vec<String> {
        self.sent
            .iter()
            .map(|e| e.event_type(Dialect::Ga).to_owned())
            .collect()
    }

    fn take_sent(&mut self) -> Vec<String> {
        let t = self.sent_types();
        self.sent.clear();
        t
    }

    fn states(&self) -> Vec<SessionState> {
        self.events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::StateChanged(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    /// Runs the whole connection sequence to Live.
    fn go_live(&mut self) {
        self.engine.start(self.now).unwrap();
        self.connect_cycle();
    }

    /// Token → connect → configure → live, answering each driver action.
    fn connect_cycle(&mut self) {
        self.drain();
        assert_eq!(self.actions.pop(), Some(DriverAction::FetchToken));
        self.advance(10);
        self.engine.handle_token(Ok(()), self.now);
        self.drain();
        assert_eq!(self.actions.pop(), Some(DriverAction::Connect));
        self.advance(20);
        self.engine.handle_transport_opened(self.now);
        self.drain();
        self.advance(5);
        self.server(r#"{"type":"session.updated","event_id":"e","session":{"type":"realtime","id":"sess_1"}}"#);
        assert_eq!(self.engine.state(), &SessionState::Live);
    }

    fn audio_delta(&mut self, response: &str, item: &str, ms: u64) {
        let samples = vec![1000i16; (ms * 24) as usize];
        let mut b64 = String::new();
        encode_pcm16_base64(&samples, &mut b64);
        self.server(&format!(
            r#"{{"type":"response.output_audio.delta","event_id":"e","response_id":"{response}","item_id":"{item}","output_index":0,"content_index":0,"delta":"{b64}"}}"#
        ));
    }

    fn response_created(&mut self, response: &str) {
        self.server(&format!(
            r#"{{"type":"response.created","event_id":"e","response":{{"id":"{response}","object":"realtime.response","status":"in_progress","output":[]}}}}"#
        ));
    }

    fn assistant_item(&mut self, response: &str, item: &str) {
        self.server(&format!(
            r#"{{"type":"response.output_item.added","event_id":"e","response_id":"{response}","output_index":0,"item":{{"id":"{item}","type":"message","role":"assistant","status":"in_progress","content":[]}}}}"#
        ));
    }

    fn response_done(&mut self, response: &str, status: &str) {
        self.server(&format!(
            r#"{{"type":"response.done","event_id":"e","response":{{"id":"{response}","object":"realtime.response","status":"{status}","output":[],"usage":{{"total_tokens":30,"input_tokens":10,"output_tokens":20}}}}}}"#
        ));
    }

    fn truncates(&self) -> Vec<(String, u32, u64)> {
        self.sent
            .iter()
            .filter_map(|e| match e {
                ClientEvent::ConversationItemTruncate(t) => {
                    Some((t.item_id.clone(), t.content_index, t.audio_end_ms))
                }
                _ => None,
            })
            .collect()
    }
}

fn vad_config() -> EngineConfig {
    EngineConfig {
        session: SessionConfig::default().with_turn_detection(Some(TurnDetection::server_vad())),
        ..EngineConfig::default()
    }
}

#[test]
fn connects_through_every_state_and_measures_connect_time() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    assert_eq!(
        h.states(),
        vec![
            SessionState::Minting,
            SessionState::Connecting,
            SessionState::Configuring,
            SessionState::Live
        ]
    );
    assert_eq!(h.sent_types(), vec!["session.update"]);
    assert_eq!(
        h.engine.metrics().connect_time,
        Some(Duration::from_millis(35))
    );
    assert_eq!(
        h.engine.poll_timeout(),
        Some(h.now + Duration::from_secs(55 * 60)),
        "only the recycle timer is armed"
    );
}

#[test]
fn first_connection_failure_is_not_retried() {
    let mut h = Harness::new(vad_config());
    h.engine.start(h.now).unwrap();
    h.drain();
    h.engine.handle_token(
        Err(SessionError::new(
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(3)),
            },
            "429",
        )),
        h.now,
    );
    h.drain();
    assert!(
        matches!(h.engine.state(), SessionState::Failed { error } if matches!(error.kind, ErrorKind::RateLimited { .. }))
    );
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::Error {
            recoverable: false,
            ..
        }
    )));
}

#[test]
fn configuring_times_out() {
    let mut h = Harness::new(vad_config());
    h.engine.start(h.now).unwrap();
    h.drain();
    h.engine.handle_token(Ok(()), h.now);
    h.engine.handle_transport_opened(h.now);
    h.drain();
    h.advance(14_999);
    assert_eq!(h.engine.state(), &SessionState::Configuring);
    h.advance(2);
    assert!(matches!(h.engine.state(), SessionState::Failed { .. }));
}

#[test]
fn barge_in_truncates_at_exactly_the_played_milliseconds() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.sent.clear();
    h.response_created("resp_1");
    h.assistant_item("resp_1", "item_a");
    for _ in 0..10 {
        h.audio_delta("resp_1", "item_a", 100);
    }
    assert_eq!(h.engine.playing_items(), vec!["item_a"]);
    assert!(h.events.iter().any(
        |e| matches!(e, SessionEvent::AssistantAudioStarted { item_id } if item_id == "item_a")
    ));
    let played: usize = h
        .audio
        .iter()
        .map(|a| {
            if let AudioCommand::Play { samples, .. } = a {
                samples.len()
            } else {
                0
            }
        })
        .sum();
    assert_eq!(played, 24_000);
    h.audio.clear();

    h.server(r#"{"type":"input_audio_buffer.speech_started","event_id":"e","item_id":"item_u","audio_start_ms":5000}"#);
    assert_eq!(h.audio, vec![AudioCommand::Flush], "playback stops at once");
    assert!(
        h.truncates().is_empty(),
        "no truncate before the played amount is known"
    );
    // The playout buffer says 420 ms were really played.
    h.engine.handle_playout_flushed(
        &[FlushedItem {
            item_id: "item_a".into(),
            played_ms: 420,
        }],
        h.now,
    );
    h.drain();
    assert_eq!(h.truncates(), vec![("item_a".to_string(), 0, 420)]);
    assert!(
        !h.sent_types().contains(&"response.cancel".to_string()),
        "the server cancels on VAD"
    );
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::Interrupted { cause: InterruptCause::UserSpeech, item_id: Some(i), played_ms: Some(420) } if i == "item_a"
    )));
    assert_eq!(
        h.engine
            .conversation()
            .get("item_a")
            .unwrap()
            .audio_heard_ms,
        Some(420)
    );
    // Late audio of the cancelled response is dropped.
    h.audio.clear();
    h.audio_delta("resp_1", "item_a", 100);
    assert!(h.audio.is_empty());
    assert_eq!(h.engine.metrics().interruptions, 1);
}

#[test]
fn interrupting_after_the_whole_response_arrived_still_truncates() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.response_created("resp_1");
    h.assistant_item("resp_1", "item_a");
    h.audio_delta("resp_1", "item_a", 3000);
    h.server(r#"{"type":"response.output_audio.done","event_id":"e","response_id":"resp_1","item_id":"item_a","output_index":0,"content_index":0}"#);
    h.response_done("resp_1", "completed");
    assert!(h.audio.contains(&AudioCommand::FinishItem {
        item_id: "item_a".into()
    }));
    assert_eq!(h.engine.active_response(), None);
    h.sent.clear();
    h.audio.clear();
    // Generated faster than real time: still playing 1.2 s in.
    h.engine.handle_playout_progress("item_a", 1200, h.now);
    h.engine.interrupt(h.now).unwrap();
    h.drain();
    assert_eq!(h.audio, vec![AudioCommand::Flush]);
    assert!(
        !h.sent_types().contains(&"response.cancel".to_string()),
        "no active response to cancel"
    );
    h.engine.handle_playout_flushed(
        &[FlushedItem {
            item_id: "item_a".into(),
            played_ms: 1234,
        }],
        h.now,
    );
    h.drain();
    assert_eq!(h.truncates(), vec![("item_a".to_string(), 0, 1234)]);
}

#[test]
fn fully_played_audio_is_not_truncated() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.response_created("resp_1");
    h.audio_delta("resp_1", "item_a", 500);
    h.response_done("resp_1", "completed");
    h.engine.handle_playout_progress("item_a", 500, h.now);
    h.drain();
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::AssistantAudioStopped {
            played_ms: Some(500),
            ..
        }
    )));
    assert!(h.engine.playing_items().is_empty());
    h.audio.clear();
    h.sent.clear();
    h.server(r#"{"type":"input_audio_buffer.speech_started","event_id":"e","item_id":"item_u","audio_start_ms":1}"#);
    assert!(h.audio.is_empty(), "nothing to flush");
    assert!(h.truncates().is_empty());
}

#[test]
fn manual_interrupt_cancels_the_response_and_truncates() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.response_created("resp_1");
    h.audio_delta("resp_1", "item_a", 800);
    h.sent.clear();
    h.engine.interrupt(h.now).unwrap();
    h.drain();
    assert_eq!(h.sent_types(), vec!["response.cancel"]);
    h.engine.handle_playout_flushed(
        &[FlushedItem {
            item_id: "item_a".into(),
            played_ms: 0,
        }],
        h.now,
    );
    h.drain();
    assert_eq!(h.truncates(), vec![("item_a".to_string(), 0, 0)]);
}

#[test]
fn webrtc_interrupt_is_cancel_plus_clear_and_never_truncates() {
    let mut h = Harness::new(EngineConfig {
        audio_path: AudioPath::MediaTrack,
        ..vad_config()
    });
    h.go_live();
    h.response_created("resp_1");
    h.assistant_item("resp_1", "item_a");
    h.server(r#"{"type":"output_audio_buffer.started","event_id":"e","response_id":"resp_1"}"#);
    assert!(h.events.iter().any(
        |e| matches!(e, SessionEvent::AssistantAudioStarted { item_id } if item_id == "item_a")
    ));
    h.sent.clear();
    h.engine.interrupt(h.now).unwrap();
    h.drain();
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::AssistantAudioStopped { item_id, played_ms: None } if item_id == "item_a"
    )));
    assert_eq!(
        h.sent_types(),
        vec!["response.cancel", "output_audio_buffer.clear"]
    );
    assert_eq!(
        h.audio,
        vec![AudioCommand::Flush],
        "locally buffered track audio stops too"
    );
    h.engine.handle_playout_flushed(
        &[FlushedItem {
            item_id: "remote-track".into(),
            played_ms: 300,
        }],
        h.now,
    );
    h.drain();
    assert!(h.truncates().is_empty(), "the server truncates on WebRTC");
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::Interrupted {
            cause: InterruptCause::Manual,
            ..
        }
    )));
    // Input audio goes on the track, never into events.
    h.engine.handle_input_audio(&[0; 4800], h.now);
    h.drain();
    assert_eq!(
        h.sent_types(),
        vec!["response.cancel", "output_audio_buffer.clear"]
    );
}

fn function_call(h: &mut Harness, response: &str, call: &str, name: &str, args: &str) {
    h.server(&format!(
        r#"{{"type":"response.output_item.added","event_id":"e","response_id":"{response}","output_index":0,"item":{{"id":"fc_{call}","type":"function_call","status":"in_progress","name":"{name}","call_id":"{call}","arguments":""}}}}"#
    ));
    let (a, b) = args.split_at(args.len() / 2);
    for part in [a, b] {
        h.server(&format!(
            r#"{{"type":"response.function_call_arguments.delta","event_id":"e","response_id":"{response}","item_id":"fc_{call}","output_index":0,"call_id":"{call}","delta":{}}}"#,
            serde_json::to_string(part).unwrap()
        ));
    }
    h.server(&format!(
        r#"{{"type":"response.function_call_arguments.done","event_id":"e","response_id":"{response}","item_id":"fc_{call}","output_index":0,"call_id":"{call}","name":"{name}","arguments":{}}}"#,
        serde_json::to_string(args).unwrap()
    ));
}

#[test]
fn parallel_tool_calls_give_outputs_then_one_response_create() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.response_created("resp_1");
    function_call(
        &mut h,
        "resp_1",
        "call_a",
        "get_weather",
        r#"{"city":"Paris"}"#,
    );
    function_call(&mut h, "resp_1", "call_b", "get_time", r#"{"tz":"CET"}"#);
    let calls: Vec<_> = h
        .events
        .iter()
        .filter_map(|e| {
            if let SessionEvent::ToolCall(c) = e {
                Some(c.clone())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].arguments, r#"{"city":"Paris"}"#);
    assert_eq!(calls[1].name, "get_time");
    h.sent.clear();
    // One answer arrives before the response is done: held back.
    h.engine
        .submit_tool_output("call_b", "12:00".into(), h.now)
        .unwrap();
    h.drain();
    assert!(h.sent.is_empty());
    h.response_done("resp_1", "completed");
    assert_eq!(h.take_sent(), vec!["conversation.item.create"]);
    h.engine
        .submit_tool_output("call_a", "sunny".into(), h.now)
        .unwrap();
    h.drain();
    assert_eq!(
        h.take_sent(),
        vec!["conversation.item.create", "response.create"]
    );
    assert!(
        h.engine
            .submit_tool_output("call_a", "again".into(), h.now)
            .is_err()
    );
    assert!(h.engine.pending_tool_calls().is_empty());
    assert_eq!(h.engine.metrics().tool_calls, 2);
}

#[test]
fn reconnect_replays_text_history_and_resends_the_merged_config() {
    let mut h = Harness::new(EngineConfig {
        reconnect: ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            jitter: 0.0,
            ..ReconnectPolicy::default()
        },
        ..vad_config()
    });
    h.go_live();
    h.engine
        .update_config(
            SessionConfig::default().with_instructions("be brief"),
            h.now,
        )
        .unwrap();
    h.engine.send_text("hello there", h.now).unwrap();
    h.drain();
    h.server(r#"{"type":"conversation.item.added","event_id":"e","item":{"id":"item_u1","type":"message","role":"user","status":"completed","content":[{"type":"input_text","text":"hello there"}]}}"#);
    h.response_created("resp_1");
    h.assistant_item("resp_1", "item_a1");
    h.server(r#"{"type":"response.output_audio_transcript.delta","event_id":"e","response_id":"resp_1","item_id":"item_a1","output_index":0,"content_index":0,"delta":"Hi! How"}"#);
    h.server(r#"{"type":"response.output_audio_transcript.done","event_id":"e","response_id":"resp_1","item_id":"item_a1","output_index":0,"content_index":0,"transcript":"Hi! How can I help?"}"#);
    h.response_done("resp_1", "completed");
    h.response_created("resp_2");
    h.assistant_item("resp_2", "item_a2");
    h.server(r#"{"type":"response.output_audio_transcript.delta","event_id":"e","response_id":"resp_2","item_id":"item_a2","output_index":0,"content_index":0,"delta":"Half of an"}"#);
    h.sent.clear();
    h.events.clear();

    // The server drops mid-response.
    h.engine
        .handle_transport_closed(Err(SessionError::new(ErrorKind::Network, "reset")), h.now);
    h.drain();
    assert_eq!(h.engine.state(), &SessionState::Reconnecting { attempt: 1 });
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::AssistantTranscriptFinal { item_id, text, complete: false, .. } if item_id == "item_a2" && text == "Half of an"
    )), "the cut answer's text is not lost");
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::Error {
            recoverable: true,
            ..
        }
    )));
    assert!(
        h.engine.send_text("while offline", h.now).is_ok(),
        "queued while reconnecting"
    );
    h.drain();
    assert!(h.sent.is_empty());

    h.advance(99);
    assert!(h.actions.is_empty() || h.actions == vec![DriverAction::Disconnect]);
    h.actions.clear();
    h.advance(1);
    assert_eq!(h.engine.state(), &SessionState::Minting);
    h.connect_cycle();
    let sent = h.sent.clone();
    let types = h.sent_types();
    assert_eq!(types[0], "session.update");
    let ClientEvent::SessionUpdate(update) = &sent[0] else {
        panic!()
    };
    let json = serde_json::to_string(&update.session).unwrap();
    assert!(json.contains("be brief"), "merged config re-sent: {json}");
    let replayed: Vec<String> = sent[1..]
        .iter()
        .filter_map(|e| match e {
            ClientEvent::ConversationItemCreate(c) => Some(serde_json::to_string(&c.item).unwrap()),
            _ => None,
        })
        .collect();
    assert!(
        replayed
            .iter()
            .any(|j| j.contains("hello there") && j.contains("\"user\"")),
        "{replayed:?}"
    );
    assert!(
        replayed
            .iter()
            .any(|j| j.contains("Hi! How can I help?") && j.contains("assistant")),
        "{replayed:?}"
    );
    assert!(
        replayed.iter().any(|j| j.contains("Half of an")),
        "what was received is kept: {replayed:?}"
    );
    assert!(
        types.ends_with(&[
            "conversation.item.create".to_string(),
            "response.create".to_string()
        ]),
        "queued text goes out once live: {types:?}"
    );
    assert_eq!(h.engine.metrics().reconnects, 1);
    assert!(
        h.states()
            .contains(&SessionState::Reconnecting { attempt: 1 })
    );
    // The server echoes the replayed items with new ids: they are not duplicated.
    let before = h.engine.conversation().items().len();
    h.server(r#"{"type":"conversation.item.added","event_id":"e","item":{"id":"new_1","type":"message","role":"user","status":"completed","content":[{"type":"input_text","text":"hello there"}]}}"#);
    assert_eq!(h.engine.conversation().items().len(), before);
}

#[test]
fn backoff_grows_and_gives_up_after_max_attempts() {
    let mut h = Harness::new(EngineConfig {
        reconnect: ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            multiplier: 2.0,
            jitter: 0.0,
            max_attempts: 3,
            ..ReconnectPolicy::default()
        },
        ..vad_config()
    });
    h.go_live();
    h.engine
        .handle_transport_closed(Err(SessionError::new(ErrorKind::Network, "reset")), h.now);
    h.drain();
    let mut waits = Vec::new();
    for attempt in 1..=3 {
        assert_eq!(h.engine.state(), &SessionState::Reconnecting { attempt });
        let wait = h.engine.poll_timeout().unwrap() - h.now;
        waits.push(wait.as_millis());
        h.advance(wait.as_millis() as u64);
        assert_eq!(h.engine.state(), &SessionState::Minting);
        h.engine.handle_token(Ok(()), h.now);
        h.engine
            .handle_transport_failed(SessionError::new(ErrorKind::Network, "refused"), h.now);
        h.drain();
    }
    assert_eq!(waits, vec![100, 200, 400]);
    assert!(matches!(h.engine.state(), SessionState::Failed { .. }));
}

#[test]
fn auth_failure_during_reconnect_is_final() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.engine.handle_transport_closed(Ok(()), h.now);
    h.drain();
    let wait = h.engine.poll_timeout().unwrap() - h.now;
    h.advance(wait.as_millis() as u64 + 1);
    h.engine
        .handle_token(Err(SessionError::new(ErrorKind::Auth, "revoked")), h.now);
    h.drain();
    assert!(
        matches!(h.engine.state(), SessionState::Failed { error } if error.kind == ErrorKind::Auth)
    );
}

#[test]
fn rate_limit_retry_after_is_respected() {
    let mut h = Harness::new(EngineConfig {
        reconnect: ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            jitter: 0.0,
            ..ReconnectPolicy::default()
        },
        ..vad_config()
    });
    h.go_live();
    h.engine.handle_transport_closed(Ok(()), h.now);
    h.drain();
    h.advance(100);
    h.engine.handle_token(
        Err(SessionError::new(
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(5)),
            },
            "429",
        )),
        h.now,
    );
    h.drain();
    assert_eq!(h.engine.state(), &SessionState::Reconnecting { attempt: 2 });
    assert_eq!(
        h.engine.poll_timeout().unwrap() - h.now,
        Duration::from_secs(5)
    );
}

#[test]
fn recycle_before_the_maximum_duration_waits_for_the_answer() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    let live_at = h.now;
    h.response_created("resp_1");
    h.actions.clear();
    h.advance(55 * 60 * 1000 + 1);
    assert_eq!(
        h.engine.state(),
        &SessionState::Live,
        "an answer is in progress"
    );
    h.advance(2000);
    h.response_done("resp_1", "completed");
    assert_eq!(h.engine.state(), &SessionState::Reconnecting { attempt: 0 });
    assert_eq!(h.actions, vec![DriverAction::Disconnect]);
    h.actions.clear();
    h.advance(0);
    h.engine.handle_timeout(h.now);
    h.drain();
    assert_eq!(h.engine.state(), &SessionState::Minting);
    h.connect_cycle();
    assert_eq!(h.engine.metrics().reconnects, 1);
    assert!(h.now - live_at > Duration::from_secs(55 * 60));
}

#[test]
fn recycle_without_answer_in_progress_is_immediate() {
    let mut h = Harness::new(EngineConfig {
        reconnect: ReconnectPolicy {
            recycle_after: Some(Duration::from_secs(60)),
            ..ReconnectPolicy::default()
        },
        ..vad_config()
    });
    h.go_live();
    h.advance(60_000);
    assert_eq!(
        h.engine.state(),
        &SessionState::Minting,
        "recycled and retried at once"
    );
    assert!(
        h.states()
            .contains(&SessionState::Reconnecting { attempt: 0 })
    );
}

#[test]
fn input_audio_is_chunked_and_muting_stops_it() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.sent.clear();
    // 100 ms in 10 ms frames → two 40 ms chunks, 20 ms left over.
    for _ in 0..10 {
        h.engine.handle_input_audio(&[7; 240], h.now);
    }
    h.drain();
    assert_eq!(
        h.take_sent(),
        vec!["input_audio_buffer.append", "input_audio_buffer.append"]
    );
    h.engine.set_muted(true, h.now);
    h.drain();
    assert_eq!(
        h.take_sent(),
        vec!["input_audio_buffer.append"],
        "the partial chunk goes out on mute"
    );
    assert!(h.engine.is_muted());
    h.engine.handle_input_audio(&[7; 4800], h.now);
    h.drain();
    assert!(h.sent.is_empty());
    h.engine.set_muted(false, h.now);
    h.engine.handle_input_audio(&[7; 960], h.now);
    h.drain();
    assert_eq!(h.take_sent(), vec!["input_audio_buffer.append"]);
    assert_eq!(h.engine.metrics().audio_ms_sent, 140);
}

#[test]
fn push_to_talk_commits_on_release() {
    let mut h = Harness::new(EngineConfig {
        session: SessionConfig::default().with_turn_detection(None),
        ..EngineConfig::default()
    });
    h.go_live();
    assert!(h.engine.is_manual_turns());
    h.sent.clear();
    h.engine.handle_input_audio(&[1; 960], h.now);
    h.drain();
    assert!(h.sent.is_empty(), "no audio unless talking");
    h.engine.start_talking(h.now).unwrap();
    h.engine.handle_input_audio(&[1; 1200], h.now);
    h.advance(500);
    h.engine.stop_talking(h.now).unwrap();
    h.drain();
    assert_eq!(
        h.take_sent(),
        vec![
            "input_audio_buffer.clear",
            "input_audio_buffer.append",
            "input_audio_buffer.append",
            "input_audio_buffer.commit",
            "response.create"
        ]
    );
    h.response_created("resp_1");
    h.advance(300);
    h.audio_delta("resp_1", "item_a", 100);
    assert_eq!(
        h.engine.metrics().last_time_to_first_audio,
        Some(Duration::from_millis(300))
    );
}

#[test]
fn text_during_an_answer_waits_for_it_before_asking_again() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.response_created("resp_1");
    h.sent.clear();
    h.engine.send_text("and another thing", h.now).unwrap();
    h.drain();
    assert_eq!(h.take_sent(), vec!["conversation.item.create"]);
    h.response_done("resp_1", "completed");
    assert_eq!(h.take_sent(), vec!["response.create"]);
    assert!(h.engine.send_text("", h.now).is_err());
}

#[test]
fn unknown_and_malformed_events_are_reported_and_never_fatal() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.server(r#"{"type":"brand.new.event","event_id":"e","x":1}"#);
    assert!(h.events.iter().any(|e| matches!(e, SessionEvent::Raw(_))));
    h.engine
        .handle_malformed_event("invalid JSON at line 1", h.now);
    h.drain();
    assert!(h.events.iter().any(|e| matches!(e, SessionEvent::Error { recoverable: true, code: Some(c), .. } if c == "malformed_event")));
    h.server(r#"{"type":"error","event_id":"e","error":{"type":"invalid_request_error","code":"unknown_parameter","message":"nope"}}"#);
    assert_eq!(h.engine.state(), &SessionState::Live);
}

#[test]
fn transcripts_and_speech_events_become_session_events() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.advance(1000);
    h.server(r#"{"type":"input_audio_buffer.speech_started","event_id":"e","item_id":"item_u","audio_start_ms":100}"#);
    h.advance(1500);
    h.server(r#"{"type":"input_audio_buffer.speech_stopped","event_id":"e","item_id":"item_u","audio_end_ms":1600}"#);
    h.server(r#"{"type":"conversation.item.added","event_id":"e","item":{"id":"item_u","type":"message","role":"user","status":"completed","content":[{"type":"input_audio"}]}}"#);
    h.server(r#"{"type":"conversation.item.input_audio_transcription.delta","event_id":"e","item_id":"item_u","content_index":0,"delta":"What is"}"#);
    h.server(r#"{"type":"conversation.item.input_audio_transcription.completed","event_id":"e","item_id":"item_u","content_index":0,"transcript":"What is the weather?"}"#);
    h.response_created("resp_1");
    h.advance(420);
    h.audio_delta("resp_1", "item_a", 100);
    h.response_done("resp_1", "completed");
    assert_eq!(
        h.engine.metrics().last_time_to_first_audio,
        Some(Duration::from_millis(420))
    );
    assert_eq!(h.engine.metrics().turns, 1);
    assert_eq!(h.engine.metrics().usage.total_tokens, 30);
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::UserSpeechStarted {
            audio_start_ms: 100,
            ..
        }
    )));
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::UserSpeechStopped {
            audio_end_ms: 1600,
            ..
        }
    )));
    assert!(h.events.iter().any(|e| matches!(e, SessionEvent::UserTranscriptFinal { text, .. } if text == "What is the weather?")));
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, SessionEvent::Usage(u) if u.output_tokens == 20))
    );
    assert_eq!(
        h.engine.conversation().get("item_u").unwrap().text,
        "What is the weather?"
    );
}

#[test]
fn stop_closes_through_stopping_and_times_out_if_the_transport_hangs() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.actions.clear();
    h.engine.stop(h.now).unwrap();
    h.drain();
    assert_eq!(h.engine.state(), &SessionState::Stopping);
    assert_eq!(h.actions, vec![DriverAction::Disconnect]);
    h.engine.handle_transport_closed(Ok(()), h.now);
    h.drain();
    assert!(matches!(h.engine.state(), SessionState::Closed { .. }));

    let mut h = Harness::new(vad_config());
    h.go_live();
    h.engine.stop(h.now).unwrap();
    h.drain();
    h.advance(3000);
    assert!(matches!(h.engine.state(), SessionState::Closed { .. }));
    assert!(h.engine.send_text("late", h.now).is_err());
}

#[test]
fn session_expired_error_reconnects() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.server(r#"{"type":"error","event_id":"e","error":{"type":"invalid_request_error","code":"session_expired","message":"Your session hit the maximum duration of 60 minutes."}}"#);
    assert_eq!(h.engine.state(), &SessionState::Reconnecting { attempt: 1 });
}

#[test]
fn refused_configuration_fails_the_session() {
    let mut h = Harness::new(vad_config());
    h.engine.start(h.now).unwrap();
    h.drain();
    h.engine.handle_token(Ok(()), h.now);
    h.engine.handle_transport_opened(h.now);
    h.drain();
    h.server(r#"{"type":"error","event_id":"e","error":{"type":"invalid_request_error","code":"invalid_value","message":"bad voice"}}"#);
    assert!(
        matches!(h.engine.state(), SessionState::Failed { error } if error.kind == ErrorKind::Protocol)
    );
}

#[test]
fn without_local_playback_audio_stops_when_it_has_all_arrived() {
    let mut h = Harness::new(EngineConfig {
        local_playback: false,
        ..vad_config()
    });
    h.go_live();
    h.response_created("resp_1");
    h.audio_delta("resp_1", "item_a", 300);
    assert!(h.audio.is_empty(), "no playout commands without a speaker");
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, SessionEvent::AssistantAudioStarted { .. }))
    );
    h.response_done("resp_1", "completed");
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::AssistantAudioStopped {
            played_ms: None,
            ..
        }
    )));
    assert!(h.engine.playing_items().is_empty());
}

#[test]
fn audio_of_a_lost_connection_finishes_playing_and_is_never_truncated_on_the_new_one() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.response_created("resp_1");
    h.audio_delta("resp_1", "item_old", 2000);
    h.audio.clear();
    h.engine
        .handle_transport_closed(Err(SessionError::new(ErrorKind::Network, "reset")), h.now);
    h.drain();
    assert!(
        h.audio.contains(&AudioCommand::FinishItem {
            item_id: "item_old".into()
        }),
        "the item is complete: no more of it will come"
    );
    let wait = h.engine.poll_timeout().unwrap() - h.now;
    h.actions.clear();
    h.engine.handle_timeout(h.now + wait);
    h.now = h.now + wait;
    h.connect_cycle();
    h.sent.clear();
    h.engine.interrupt(h.now).unwrap();
    h.drain();
    h.engine.handle_playout_flushed(
        &[FlushedItem {
            item_id: "item_old".into(),
            played_ms: 700,
        }],
        h.now,
    );
    h.drain();
    assert!(
        h.truncates().is_empty(),
        "the new session does not know item_old"
    );
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::AssistantAudioStopped {
            played_ms: Some(700),
            ..
        }
    )));
}

#[test]
fn a_tool_call_owed_across_a_reconnect_is_answered_on_the_new_connection() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.response_created("resp_1");
    function_call(
        &mut h,
        "resp_1",
        "call_a",
        "get_weather",
        r#"{"city":"Paris"}"#,
    );
    // The connection drops before response.done; the handler is still running.
    h.engine
        .handle_transport_closed(Err(SessionError::new(ErrorKind::Network, "reset")), h.now);
    h.drain();
    h.engine
        .submit_tool_output("call_a", "sunny".into(), h.now)
        .unwrap();
    h.drain();
    let wait = h.engine.poll_timeout().unwrap() - h.now;
    h.actions.clear();
    h.now = h.now + wait;
    h.engine.handle_timeout(h.now);
    h.sent.clear();
    h.connect_cycle();
    let sent = h.sent.clone();
    let types = h.sent_types();
    // session.update, then the call item, its output, and one response.create.
    assert_eq!(
        types,
        vec![
            "session.update",
            "conversation.item.create",
            "conversation.item.create",
            "response.create"
        ]
    );
    let json: Vec<String> = sent[1..3]
        .iter()
        .map(|e| match e {
            ClientEvent::ConversationItemCreate(c) => serde_json::to_string(&c.item).unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(
        json[0].contains("\"function_call\"")
            && json[0].contains("call_a")
            && json[0].contains("Paris"),
        "{json:?}"
    );
    assert!(
        json[1].contains("function_call_output") && json[1].contains("sunny"),
        "{json:?}"
    );
}

#[test]
fn webrtc_playback_start_and_stop_follow_the_output_audio_buffer_events() {
    let mut h = Harness::new(EngineConfig {
        audio_path: AudioPath::MediaTrack,
        ..vad_config()
    });
    h.go_live();
    h.advance(100);
    h.server(r#"{"type":"input_audio_buffer.speech_stopped","event_id":"e","item_id":"item_u","audio_end_ms":900}"#);
    h.response_created("resp_1");
    h.assistant_item("resp_1", "item_a");
    h.advance(250);
    h.server(r#"{"type":"output_audio_buffer.started","event_id":"e","response_id":"resp_1"}"#);
    h.response_done("resp_1", "completed");
    h.server(r#"{"type":"output_audio_buffer.stopped","event_id":"e","response_id":"resp_1"}"#);
    let audio_events: Vec<&SessionEvent> = h
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                SessionEvent::AssistantAudioStarted { .. }
                    | SessionEvent::AssistantAudioStopped { .. }
            )
        })
        .collect();
    assert_eq!(
        audio_events,
        vec![
            &SessionEvent::AssistantAudioStarted {
                item_id: "item_a".into()
            },
            &SessionEvent::AssistantAudioStopped {
                item_id: "item_a".into(),
                played_ms: None
            },
        ]
    );
    assert_eq!(
        h.engine.metrics().last_time_to_first_audio,
        Some(Duration::from_millis(250))
    );
}

#[test]
fn a_config_silent_on_turn_detection_gets_the_server_default_on_barge_in() {
    // No turn_detection in the config means the server's default: server VAD with
    // interrupt_response, so the server cancels by itself and the client must not send a
    // redundant response.cancel. An explicit null (VAD off) would never produce speech_started.
    let mut h = Harness::new(EngineConfig::default());
    h.go_live();
    h.sent.clear();
    h.response_created("resp_1");
    h.assistant_item("resp_1", "item_a");
    h.audio_delta("resp_1", "item_a", 100);
    h.server(r#"{"type":"input_audio_buffer.speech_started","event_id":"e","item_id":"item_u","audio_start_ms":900}"#);
    h.engine.handle_playout_flushed(
        &[FlushedItem {
            item_id: "item_a".into(),
            played_ms: 40,
        }],
        h.now,
    );
    h.drain();
    assert_eq!(h.truncates(), vec![("item_a".to_string(), 0, 40)]);
    assert!(
        !h.sent_types().contains(&"response.cancel".to_string()),
        "{:?}",
        h.sent_types()
    );
}

#[test]
fn many_interruptions_keep_a_bounded_memory_of_cut_responses() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    for n in 0..200 {
        let resp = format!("resp_{n}");
        let item = format!("item_{n}");
        h.response_created(&resp);
        h.assistant_item(&resp, &item);
        h.audio_delta(&resp, &item, 20);
        h.server(&format!(r#"{{"type":"input_audio_buffer.speech_started","event_id":"e","item_id":"u{n}","audio_start_ms":1}}"#));
        h.engine.handle_playout_flushed(
            &[FlushedItem {
                item_id: item.clone(),
                played_ms: 10,
            }],
            h.now,
        );
        h.server(&format!(r#"{{"type":"response.done","event_id":"e","response":{{"id":"{resp}","object":"realtime.response","status":"cancelled","output":[]}}}}"#));
        h.drain();
    }
    assert!(
        h.engine.remembered_cut_responses() <= 16,
        "{}",
        h.engine.remembered_cut_responses()
    );
    assert_eq!(h.truncates().len(), 200);
}

// ----- overflow safety: values from the network or the app never panic or wrap ---------------

#[test]
fn connection_failures_carry_the_stable_error_code() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    h.engine
        .handle_transport_closed(Err(SessionError::new(ErrorKind::Network, "reset")), h.now);
    h.drain();
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::Error { code: Some(c), recoverable: true, .. } if c == "network"
    )));
}

#[test]
fn extreme_truncation_points_and_speech_positions_are_safe() {
    let mut h = Harness::new(EngineConfig {
        audio_retention: Some(voicewire_core::AudioRetention {
            max_ms_per_item: u64::MAX,
            max_total_ms: u64::MAX,
        }),
        ..vad_config()
    });
    h.go_live();
    h.response_created("resp_1");
    h.assistant_item("resp_1", "item_a");
    h.audio_delta("resp_1", "item_a", 100);
    assert_eq!(h.engine.conversation().retained_audio_samples(), 2400);
    let max = u64::MAX;
    h.server(&format!(
        r#"{{"type":"conversation.item.truncated","event_id":"e","item_id":"item_a","content_index":0,"audio_end_ms":{max}}}"#
    ));
    let item = h.engine.conversation().get("item_a").unwrap();
    assert_eq!(item.audio_heard_ms, Some(u64::MAX));
    assert_eq!(item.audio.len(), 2400, "nothing beyond what arrived to cut");
    assert_eq!(h.engine.conversation().retained_audio_samples(), 2400);
    h.server(&format!(
        r#"{{"type":"input_audio_buffer.speech_started","event_id":"e","item_id":"item_u","audio_start_ms":{max}}}"#
    ));
    h.server(&format!(
        r#"{{"type":"input_audio_buffer.speech_stopped","event_id":"e","item_id":"item_u","audio_end_ms":{max}}}"#
    ));
    assert!(h.events.iter().any(|e| matches!(
        e,
        SessionEvent::UserSpeechStopped { audio_end_ms, .. } if *audio_end_ms == u64::MAX
    )));
    // A truncation at zero after the extreme one releases the retained audio exactly.
    h.server(r#"{"type":"conversation.item.truncated","event_id":"e","item_id":"item_a","content_index":0,"audio_end_ms":0}"#);
    assert_eq!(h.engine.conversation().retained_audio_samples(), 0);
}

#[test]
fn metric_counters_saturate_instead_of_wrapping() {
    let mut h = Harness::new(EngineConfig {
        audio_path: AudioPath::MediaTrack,
        ..vad_config()
    });
    h.go_live();
    for _ in 0..3 {
        h.engine.record_bytes_sent(usize::MAX);
        h.engine.record_bytes_received(usize::MAX);
        h.engine.record_underruns(u64::MAX);
        h.engine.handle_track_audio(usize::MAX, h.now);
    }
    let m = h.engine.metrics();
    assert_eq!(m.bytes_sent, u64::MAX);
    assert_eq!(m.bytes_received, u64::MAX);
    assert_eq!(m.underruns, u64::MAX);
    assert_eq!(
        m.audio_ms_received,
        u64::MAX / voicewire_core::WIRE_SAMPLES_PER_MS
    );
    let max = u64::MAX;
    for _ in 0..2 {
        h.response_created("resp_1");
        h.server(&format!(
            r#"{{"type":"response.done","event_id":"e","response":{{"id":"resp_1","object":"realtime.response","status":"completed","output":[],"usage":{{"total_tokens":{max},"input_tokens":{max},"output_tokens":{max},"input_token_details":{{"text_tokens":{max},"audio_tokens":{max},"cached_tokens":{max}}},"output_token_details":{{"text_tokens":{max},"audio_tokens":{max}}}}}}}}}"#
        ));
    }
    let usage = h.engine.metrics().usage;
    assert_eq!(usage.total_tokens, u64::MAX);
    assert_eq!(usage.input_tokens, u64::MAX);
    assert_eq!(usage.output_tokens, u64::MAX);
    assert_eq!(usage.cached_tokens, u64::MAX);
    assert_eq!(usage.output_audio_tokens, u64::MAX);
    assert_eq!(h.engine.metrics().turns, 2);
}

#[test]
fn timers_near_the_end_of_time_saturate() {
    let mut h = Harness::new(EngineConfig {
        reconnect: ReconnectPolicy {
            recycle_after: Some(Duration::MAX),
            recycle_grace: Duration::MAX,
            connect_timeout: Duration::MAX,
            initial_delay: Duration::MAX,
            max_delay: Duration::MAX,
            multiplier: f64::INFINITY,
            jitter: f64::NAN,
            max_attempts: u32::MAX,
            ..ReconnectPolicy::default()
        },
        stop_timeout: Duration::MAX,
        ..vad_config()
    });
    h.now = Timestamp::from_elapsed(Duration::MAX - Duration::from_secs(1));
    h.go_live();
    let end = Timestamp::from_elapsed(Duration::MAX);
    assert_eq!(h.engine.poll_timeout(), Some(end));
    h.response_created("resp_1");
    h.engine.handle_timeout(end);
    h.drain();
    assert_eq!(
        h.engine.poll_timeout(),
        Some(end),
        "the recycle waits for the answer, its grace saturating"
    );
    h.engine
        .handle_transport_closed(Err(SessionError::new(ErrorKind::Network, "x")), end);
    h.drain();
    assert!(matches!(
        h.engine.state(),
        SessionState::Reconnecting { attempt: 1, .. }
    ));
    h.engine.stop(end).unwrap();
    h.drain();
    assert!(matches!(h.engine.state(), SessionState::Closed { .. }));
}

// ----- bounded conversation memory -----------------------------------------------------------

#[test]
fn a_long_session_keeps_a_bounded_conversation_and_replays_the_latest_turns() {
    let mut h = Harness::new(EngineConfig {
        max_conversation_items: 8,
        replay_max_items: 4,
        reconnect: ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            jitter: 0.0,
            ..ReconnectPolicy::default()
        },
        ..vad_config()
    });
    h.go_live();
    let turn = |h: &mut Harness, n: u32| {
        h.server(&format!(
            r#"{{"type":"conversation.item.added","event_id":"e","item":{{"id":"u{n}","type":"message","role":"user","status":"completed","content":[{{"type":"input_text","text":"question {n}"}}]}}}}"#
        ));
        h.response_created(&format!("r{n}"));
        h.assistant_item(&format!("r{n}"), &format!("a{n}"));
        h.server(&format!(
            r#"{{"type":"response.output_audio_transcript.delta","event_id":"e","response_id":"r{n}","item_id":"a{n}","output_index":0,"content_index":0,"delta":"answer"}}"#
        ));
        h.server(&format!(
            r#"{{"type":"response.output_audio_transcript.done","event_id":"e","response_id":"r{n}","item_id":"a{n}","output_index":0,"content_index":0,"transcript":"answer {n}"}}"#
        ));
        h.server(&format!(
            r#"{{"type":"response.done","event_id":"e","response":{{"id":"r{n}","object":"realtime.response","status":"completed","output":[{{"id":"a{n}","type":"message","role":"assistant","status":"completed","content":[]}}]}}}}"#
        ));
        h.events.clear();
    };
    for n in 0..300 {
        turn(&mut h, n);
        assert!(h.engine.conversation().len() <= 8);
    }
    let conversation = h.engine.conversation();
    assert_eq!(conversation.len(), 8);
    assert!(conversation.get("u0").is_none());
    assert_eq!(conversation.get("a299").unwrap().text, "answer 299");
    assert_eq!(conversation.get("u296").unwrap().text, "question 296");

    h.engine
        .handle_transport_closed(Err(SessionError::new(ErrorKind::Network, "reset")), h.now);
    h.drain();
    h.advance(100);
    h.sent.clear();
    h.connect_cycle();
    let replayed: Vec<String> = h
        .sent
        .iter()
        .filter_map(|e| match e {
            ClientEvent::ConversationItemCreate(c) => Some(serde_json::to_string(&c.item).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(replayed.len(), 4, "{replayed:?}");
    for (json, text) in
        replayed
            .iter()
            .zip(["question 298", "answer 298", "question 299", "answer 299"])
    {
        assert!(json.contains(text), "{json} should hold {text}");
    }
    // The echoes become aliases; later turns evict the originals and their aliases.
    for (n, (role, kind)) in [
        ("user", "input_text"),
        ("assistant", "output_text"),
        ("user", "input_text"),
        ("assistant", "output_text"),
    ]
    .iter()
    .enumerate()
    {
        h.server(&format!(
            r#"{{"type":"conversation.item.added","event_id":"e","item":{{"id":"echo{n}","type":"message","role":"{role}","status":"completed","content":[{{"type":"{kind}","text":"x"}}]}}}}"#
        ));
    }
    assert_eq!(h.engine.conversation().alias_count(), 4);
    assert_eq!(
        h.engine.conversation().len(),
        8,
        "echoes are not duplicated"
    );
    assert_eq!(
        h.engine.conversation().get("echo3").map(|i| i.id.as_str()),
        Some("a299")
    );
    for n in 300..310 {
        turn(&mut h, n);
    }
    assert_eq!(h.engine.conversation().alias_count(), 0);
    assert!(h.engine.conversation().get("echo3").is_none());
    assert_eq!(h.engine.conversation().len(), 8);
}

// ----- WebRTC: exactly one AssistantAudioStopped per AssistantAudioStarted --------------------

fn webrtc_harness(config: EngineConfig) -> Harness {
    let mut h = Harness::new(EngineConfig {
        audio_path: AudioPath::MediaTrack,
        ..config
    });
    h.go_live();
    h
}

/// The playback events so far, as ("started" | "stopped", item).
fn playback(h: &Harness) -> Vec<(&'static str, String)> {
    h.events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::AssistantAudioStarted { item_id } => Some(("started", item_id.clone())),
            SessionEvent::AssistantAudioStopped { item_id, played_ms } => {
                assert_eq!(*played_ms, None, "the server plays on WebRTC");
                Some(("stopped", item_id.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Every started item is stopped exactly once, after it started, and nothing else is stopped.
fn assert_exactly_one_stop_per_start(h: &Harness) {
    let mut open: Vec<String> = Vec::new();
    for (what, item) in playback(h) {
        match what {
            "started" => {
                assert!(!open.contains(&item), "{item} started twice");
                open.push(item);
            }
            _ => {
                let at = open.iter().position(|i| *i == item);
                assert!(
                    at.is_some(),
                    "{item} stopped without being started (or twice)"
                );
                open.retain(|i| *i != item);
            }
        }
    }
    assert!(open.is_empty(), "never stopped: {open:?}");
}

fn buffer_event(h: &mut Harness, kind: &str, response: &str) {
    h.server(&format!(
        r#"{{"type":"output_audio_buffer.{kind}","event_id":"e","response_id":"{response}"}}"#
    ));
}

/// A response with an assistant item whose audio the server starts playing.
fn webrtc_answer(h: &mut Harness, response: &str, item: &str) {
    h.response_created(response);
    h.assistant_item(response, item);
    buffer_event(h, "started", response);
}

#[test]
fn webrtc_stopped_ends_playback_once_and_late_buffer_events_add_nothing() {
    let mut h = webrtc_harness(vad_config());
    webrtc_answer(&mut h, "resp_1", "item_a");
    buffer_event(&mut h, "started", "resp_1"); // duplicate: ignored
    h.response_done("resp_1", "completed");
    assert_eq!(playback(&h), vec![("started", "item_a".to_string())]);
    buffer_event(&mut h, "stopped", "resp_1");
    buffer_event(&mut h, "stopped", "resp_1");
    buffer_event(&mut h, "cleared", "resp_1");
    assert_eq!(
        playback(&h),
        vec![
            ("started", "item_a".to_string()),
            ("stopped", "item_a".to_string())
        ]
    );
    assert_exactly_one_stop_per_start(&h);
}

#[test]
fn webrtc_cleared_by_the_server_ends_playback() {
    let mut h = webrtc_harness(vad_config());
    webrtc_answer(&mut h, "resp_1", "item_a");
    buffer_event(&mut h, "cleared", "resp_1");
    assert_eq!(
        playback(&h),
        vec![
            ("started", "item_a".to_string()),
            ("stopped", "item_a".to_string())
        ]
    );
    assert_exactly_one_stop_per_start(&h);
}

#[test]
fn webrtc_barge_in_stops_once_even_when_the_server_then_clears() {
    let mut h = webrtc_harness(vad_config());
    webrtc_answer(&mut h, "resp_1", "item_a");
    h.server(r#"{"type":"input_audio_buffer.speech_started","event_id":"e","item_id":"item_u","audio_start_ms":1200}"#);
    assert_eq!(
        playback(&h).last(),
        Some(&("stopped", "item_a".to_string()))
    );
    buffer_event(&mut h, "cleared", "resp_1");
    h.response_done("resp_1", "cancelled");
    // A late `started` of the interrupted answer does not start anything.
    buffer_event(&mut h, "started", "resp_1");
    buffer_event(&mut h, "stopped", "resp_1");
    assert_eq!(playback(&h).len(), 2);
    assert_exactly_one_stop_per_start(&h);
}

#[test]
fn webrtc_manual_interrupt_stops_once() {
    let mut h = webrtc_harness(vad_config());
    webrtc_answer(&mut h, "resp_1", "item_a");
    h.response_done("resp_1", "completed"); // generation over, the server still plays
    h.engine.interrupt(h.now).unwrap();
    h.drain();
    assert!(
        h.sent_types()
            .contains(&"output_audio_buffer.clear".to_string())
    );
    assert_eq!(
        playback(&h).last(),
        Some(&("stopped", "item_a".to_string()))
    );
    buffer_event(&mut h, "cleared", "resp_1");
    h.engine.interrupt(h.now).unwrap();
    h.drain();
    assert_eq!(playback(&h).len(), 2);
    assert_exactly_one_stop_per_start(&h);
}

#[test]
fn webrtc_a_missing_stopped_is_closed_by_the_next_answer() {
    let mut h = webrtc_harness(vad_config());
    webrtc_answer(&mut h, "resp_1", "item_a");
    h.response_done("resp_1", "completed");
    // The server never sends output_audio_buffer.stopped for resp_1.
    webrtc_answer(&mut h, "resp_2", "item_b");
    assert_eq!(
        playback(&h),
        vec![
            ("started", "item_a".to_string()),
            ("stopped", "item_a".to_string()),
            ("started", "item_b".to_string())
        ]
    );
    h.response_done("resp_2", "completed");
    buffer_event(&mut h, "stopped", "resp_2");
    assert_exactly_one_stop_per_start(&h);
}

#[test]
fn webrtc_text_only_answers_get_no_playback_events() {
    let mut h = webrtc_harness(vad_config());
    h.response_created("resp_1");
    h.assistant_item("resp_1", "item_a");
    h.server(r#"{"type":"response.output_text.delta","event_id":"e","response_id":"resp_1","item_id":"item_a","output_index":0,"content_index":0,"delta":"hi"}"#);
    h.response_done("resp_1", "completed");
    buffer_event(&mut h, "stopped", "resp_1");
    buffer_event(&mut h, "cleared", "");
    assert!(playback(&h).is_empty());
}

#[test]
fn webrtc_playback_announced_before_its_item_is_named_by_the_response() {
    let mut h = webrtc_harness(vad_config());
    h.response_created("resp_1");
    buffer_event(&mut h, "started", "resp_1");
    h.assistant_item("resp_1", "item_a");
    buffer_event(&mut h, "stopped", "resp_1");
    assert_eq!(
        playback(&h),
        vec![
            ("started", "resp_1".to_string()),
            ("stopped", "resp_1".to_string())
        ]
    );
}

#[test]
fn webrtc_lost_connection_stops_playback_and_the_new_one_reports_nothing_old() {
    let mut h = webrtc_harness(EngineConfig {
        reconnect: ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            jitter: 0.0,
            ..ReconnectPolicy::default()
        },
        ..vad_config()
    });
    webrtc_answer(&mut h, "resp_1", "item_a");
    h.engine
        .handle_transport_closed(Err(SessionError::new(ErrorKind::Network, "reset")), h.now);
    h.drain();
    assert_eq!(
        playback(&h).last(),
        Some(&("stopped", "item_a".to_string()))
    );
    h.advance(100);
    h.connect_cycle();
    buffer_event(&mut h, "stopped", "resp_1");
    assert_eq!(playback(&h).len(), 2);
    webrtc_answer(&mut h, "resp_2", "item_b");
    buffer_event(&mut h, "stopped", "resp_2");
    assert_exactly_one_stop_per_start(&h);
}

#[test]
fn webrtc_session_expiry_stops_playback() {
    let mut h = webrtc_harness(vad_config());
    webrtc_answer(&mut h, "resp_1", "item_a");
    h.server(r#"{"type":"error","event_id":"e","error":{"type":"invalid_request_error","code":"session_expired","message":"max duration"}}"#);
    assert_eq!(
        playback(&h).last(),
        Some(&("stopped", "item_a".to_string()))
    );
    assert_exactly_one_stop_per_start(&h);
}

#[test]
fn webrtc_recycle_stops_playback() {
    let mut h = webrtc_harness(EngineConfig {
        reconnect: ReconnectPolicy {
            recycle_after: Some(Duration::from_secs(60)),
            ..ReconnectPolicy::default()
        },
        ..vad_config()
    });
    webrtc_answer(&mut h, "resp_1", "item_a");
    h.response_done("resp_1", "completed");
    h.advance(60_000);
    assert!(
        h.states()
            .contains(&SessionState::Reconnecting { attempt: 0 }),
        "{:?}",
        h.states()
    );
    assert_eq!(
        playback(&h).last(),
        Some(&("stopped", "item_a".to_string()))
    );
    assert_exactly_one_stop_per_start(&h);
}

#[test]
fn webrtc_stop_ends_playback_once() {
    let mut h = webrtc_harness(vad_config());
    webrtc_answer(&mut h, "resp_1", "item_a");
    h.engine.stop(h.now).unwrap();
    h.drain();
    assert_eq!(
        playback(&h).last(),
        Some(&("stopped", "item_a".to_string()))
    );
    buffer_event(&mut h, "stopped", "resp_1");
    h.engine.handle_transport_closed(Ok(()), h.now);
    h.drain();
    assert!(matches!(h.engine.state(), SessionState::Closed { .. }));
    assert_exactly_one_stop_per_start(&h);
}

#[test]
fn webrtc_fallback_ends_playback_when_the_server_never_says_stopped() {
    let mut h = webrtc_harness(EngineConfig {
        webrtc_stop_fallback: Some(Duration::from_secs(5)),
        ..vad_config()
    });
    webrtc_answer(&mut h, "resp_1", "item_a");
    h.advance(60_000);
    assert_eq!(
        playback(&h).len(),
        1,
        "no fallback while the answer is generated"
    );
    h.response_done("resp_1", "completed");
    h.advance(4_999);
    assert_eq!(playback(&h).len(), 1);
    h.advance(1);
    assert_eq!(
        playback(&h).last(),
        Some(&("stopped", "item_a".to_string()))
    );
    buffer_event(&mut h, "stopped", "resp_1");
    assert_eq!(playback(&h).len(), 2, "the late stopped adds nothing");
    // Playback that starts after its response is done gets the fallback at once.
    h.response_created("resp_2");
    h.assistant_item("resp_2", "item_b");
    h.response_done("resp_2", "completed");
    buffer_event(&mut h, "started", "resp_2");
    h.advance(5_000);
    assert_eq!(
        playback(&h).last(),
        Some(&("stopped", "item_b".to_string()))
    );
    // With the server reporting normally, the fallback never fires.
    webrtc_answer(&mut h, "resp_3", "item_c");
    h.response_done("resp_3", "completed");
    buffer_event(&mut h, "stopped", "resp_3");
    h.advance(10_000);
    assert_eq!(playback(&h).len(), 6);
    assert_exactly_one_stop_per_start(&h);
}

#[test]
fn websocket_ignores_output_audio_buffer_events_and_stop_ends_local_playback() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    buffer_event(&mut h, "started", "resp_x");
    buffer_event(&mut h, "stopped", "resp_x");
    assert!(h.events.iter().all(|e| !matches!(
        e,
        SessionEvent::AssistantAudioStarted { .. } | SessionEvent::AssistantAudioStopped { .. }
    )));
    h.response_created("resp_1");
    h.assistant_item("resp_1", "item_a");
    h.audio_delta("resp_1", "item_a", 200);
    h.engine.stop(h.now).unwrap();
    h.drain();
    assert!(h.audio.contains(&AudioCommand::Flush));
    let stops = h
        .events
        .iter()
        .filter(|e| matches!(e, SessionEvent::AssistantAudioStopped { item_id, .. } if item_id == "item_a"))
        .count();
    assert_eq!(stops, 1);
    h.engine.handle_playout_flushed(
        &[FlushedItem {
            item_id: "item_a".into(),
            played_ms: 100,
        }],
        h.now,
    );
    h.drain();
    let stops = h
        .events
        .iter()
        .filter(|e| matches!(e, SessionEvent::AssistantAudioStopped { .. }))
        .count();
    assert_eq!(stops, 1, "the flush report after stop adds no second stop");
}

#[test]
fn transcripts_that_never_finish_are_bounded_and_finalised_oldest_first() {
    let mut h = Harness::new(vad_config());
    h.go_live();
    for n in 0..1000 {
        h.server(&format!(
            r#"{{"type":"response.output_audio_transcript.delta","event_id":"e","response_id":"r{n}","item_id":"a{n}","output_index":0,"content_index":0,"delta":"part {n}"}}"#
        ));
    }
    let finals: Vec<(&str, bool)> = h
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::AssistantTranscriptFinal {
                item_id, complete, ..
            } => Some((item_id.as_str(), *complete)),
            _ => None,
        })
        .collect();
    assert_eq!(finals.len(), 1000 - 32);
    assert_eq!(finals.first(), Some(&("a0", false)));
    assert_eq!(finals.last(), Some(&("a967", false)));
    // The 32 still open are finalised when the session stops; none twice.
    h.engine.stop(h.now).unwrap();
    h.drain();
    let mut ids: Vec<&str> = h
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::AssistantTranscriptFinal { item_id, .. } => Some(item_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 1000);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1000);
}
