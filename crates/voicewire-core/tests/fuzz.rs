//! Random sequences of server events, driver reports and app commands, on a virtual clock:
//! whatever the input, the engine never panics, keeps its memory bounded, and pairs every
//! `AssistantAudioStarted` with exactly one `AssistantAudioStopped` by the time it stops.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use proptest::prelude::*;
use voicewire_core::{
    AudioPath, Engine, EngineConfig, ErrorKind, FlushedItem, Output, ReconnectPolicy, SessionError,
    SessionEvent, SessionState, Timestamp,
};
use voicewire_protocol::{ServerEvent, SessionConfig, TurnDetection, encode_pcm16_base64};

const CAP: usize = 6;

/// One step of a random session.
#[derive(Debug, Clone)]
enum Step {
    ResponseCreated(u8),
    AssistantItem(u8, u8),
    AudioDelta(u8, u8, u16),
    AudioDone(u8, u8),
    TranscriptDelta(u8, u8),
    TranscriptDone(u8, u8),
    ResponseDone(u8, bool),
    Buffer(u8, u8),
    SpeechStarted(u64),
    SpeechStopped(u64),
    UserItem(u8, Option<u8>, bool),
    ItemDeleted(u8),
    ItemTruncated(u8, u64),
    FunctionCall(u8, u8),
    ServerError(bool),
    Garbage(String),
    Interrupt,
    SendText,
    Talk(bool),
    ToolOutput(u8),
    Mute(bool),
    InputAudio(u16),
    Flushed(u8, u64),
    Progress(u8, u64),
    TransportClosed,
    Advance(u32),
    Reconnect,
    Counters(u64),
}

fn step() -> impl Strategy<Value = Step> {
    let id = 0u8..4;
    prop_oneof![
        id.clone().prop_map(Step::ResponseCreated),
        (id.clone(), id.clone()).prop_map(|(r, i)| Step::AssistantItem(r, i)),
        (id.clone(), id.clone(), 0u16..300).prop_map(|(r, i, ms)| Step::AudioDelta(r, i, ms)),
        (id.clone(), id.clone()).prop_map(|(r, i)| Step::AudioDone(r, i)),
        (id.clone(), id.clone()).prop_map(|(r, i)| Step::TranscriptDelta(r, i)),
        (id.clone(), id.clone()).prop_map(|(r, i)| Step::TranscriptDone(r, i)),
        (id.clone(), any::<bool>()).prop_map(|(r, c)| Step::ResponseDone(r, c)),
        (id.clone(), 0u8..3).prop_map(|(r, k)| Step::Buffer(r, k)),
        any::<u64>().prop_map(Step::SpeechStarted),
        any::<u64>().prop_map(Step::SpeechStopped),
        (0u8..12, proptest::option::of(0u8..13), any::<bool>())
            .prop_map(|(i, p, d)| Step::UserItem(i, p, d)),
        (0u8..12).prop_map(Step::ItemDeleted),
        (id.clone(), any::<u64>()).prop_map(|(i, ms)| Step::ItemTruncated(i, ms)),
        (id.clone(), 0u8..3).prop_map(|(r, c)| Step::FunctionCall(r, c)),
        any::<bool>().prop_map(Step::ServerError),
        "\\PC{0,40}".prop_map(Step::Garbage),
        Just(Step::Interrupt),
        Just(Step::SendText),
        any::<bool>().prop_map(Step::Talk),
        (0u8..3).prop_map(Step::ToolOutput),
        any::<bool>().prop_map(Step::Mute),
        (0u16..5000).prop_map(Step::InputAudio),
        (id.clone(), any::<u64>()).prop_map(|(i, ms)| Step::Flushed(i, ms)),
        (id, any::<u64>()).prop_map(|(i, ms)| Step::Progress(i, ms)),
        Just(Step::TransportClosed),
        (0u32..120_000).prop_map(Step::Advance),
        Just(Step::Reconnect),
        any::<u64>().prop_map(Step::Counters),
    ]
}

struct Run {
    engine: Engine,
    now: Timestamp,
    open: Vec<String>,
}

impl Run {
    fn drain(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::Emit(SessionEvent::AssistantAudioStarted { item_id }) => {
                    assert!(!self.open.contains(&item_id), "{item_id} started twice");
                    self.open.push(item_id);
                }
                Output::Emit(SessionEvent::AssistantAudioStopped { item_id, .. }) => {
                    let before = self.open.len();
                    self.open.retain(|i| *i != item_id);
                    assert_eq!(self.open.len() + 1, before, "{item_id} stopped unstarted");
                }
                _ => {}
            }
        }
        assert!(self.engine.conversation().len() <= CAP);
        assert!(self.engine.conversation().alias_count() <= CAP);
    }

    fn server(&mut self, json: &str) {
        match ServerEvent::decode(json) {
            Ok(event) => self.engine.handle_server_event(event, self.now),
            Err(e) => self.engine.handle_malformed_event(&e.to_string(), self.now),
        }
        self.drain();
    }

    fn apply(&mut self, step: Step) {
        let e = r#""event_id":"e""#;
        match step {
            Step::ResponseCreated(r) => self.server(&format!(
                r#"{{"type":"response.created",{e},"response":{{"id":"r{r}","object":"realtime.response","status":"in_progress","output":[]}}}}"#
            )),
            Step::AssistantItem(r, i) => self.server(&format!(
                r#"{{"type":"response.output_item.added",{e},"response_id":"r{r}","output_index":0,"item":{{"id":"a{i}","type":"message","role":"assistant","status":"in_progress","content":[]}}}}"#
            )),
            Step::AudioDelta(r, i, ms) => {
                let mut b64 = String::new();
                encode_pcm16_base64(&vec![7i16; usize::from(ms) * 24], &mut b64);
                self.server(&format!(
                    r#"{{"type":"response.output_audio.delta",{e},"response_id":"r{r}","item_id":"a{i}","output_index":0,"content_index":0,"delta":"{b64}"}}"#
                ));
            }
            Step::AudioDone(r, i) => self.server(&format!(
                r#"{{"type":"response.output_audio.done",{e},"response_id":"r{r}","item_id":"a{i}","output_index":0,"content_index":0}}"#
            )),
            Step::TranscriptDelta(r, i) => self.server(&format!(
                r#"{{"type":"response.output_audio_transcript.delta",{e},"response_id":"r{r}","item_id":"a{i}","output_index":0,"content_index":0,"delta":"wörds "}}"#
            )),
            Step::TranscriptDone(r, i) => self.server(&format!(
                r#"{{"type":"response.output_audio_transcript.done",{e},"response_id":"r{r}","item_id":"a{i}","output_index":0,"content_index":0,"transcript":"wörds ünd mëhr"}}"#
            )),
            Step::ResponseDone(r, cancelled) => {
                let status = if cancelled { "cancelled" } else { "completed" };
                self.server(&format!(
                    r#"{{"type":"response.done",{e},"response":{{"id":"r{r}","object":"realtime.response","status":"{status}","output":[{{"id":"a{r}","type":"message","role":"assistant","status":"completed","content":[]}}],"usage":{{"total_tokens":{},"input_tokens":1}}}}}}"#,
                    u64::MAX
                ));
            }
            Step::Buffer(r, kind) => {
                let kind = ["started", "stopped", "cleared"][usize::from(kind)];
                self.server(&format!(
                    r#"{{"type":"output_audio_buffer.{kind}",{e},"response_id":"r{r}"}}"#
                ));
            }
            Step::SpeechStarted(ms) => self.server(&format!(
                r#"{{"type":"input_audio_buffer.speech_started",{e},"item_id":"u","audio_start_ms":{ms}}}"#
            )),
            Step::SpeechStopped(ms) => self.server(&format!(
                r#"{{"type":"input_audio_buffer.speech_stopped",{e},"item_id":"u","audio_end_ms":{ms}}}"#
            )),
            Step::UserItem(i, previous, done) => {
                let previous = match previous {
                    None => String::new(),
                    Some(12) => r#","previous_item_id":"root""#.to_owned(),
                    Some(p) => format!(r#","previous_item_id":"u{p}""#),
                };
                let status = if done { "completed" } else { "in_progress" };
                self.server(&format!(
                    r#"{{"type":"conversation.item.added",{e}{previous},"item":{{"id":"u{i}","type":"message","role":"user","status":"{status}","content":[{{"type":"input_text","text":"hi {i}"}}]}}}}"#
                ));
            }
            Step::ItemDeleted(i) => self.server(&format!(
                r#"{{"type":"conversation.item.deleted",{e},"item_id":"u{i}"}}"#
            )),
            Step::ItemTruncated(i, ms) => self.server(&format!(
                r#"{{"type":"conversation.item.truncated",{e},"item_id":"a{i}","content_index":0,"audio_end_ms":{ms}}}"#
            )),
            Step::FunctionCall(r, c) => {
                self.server(&format!(
                    r#"{{"type":"response.output_item.added",{e},"response_id":"r{r}","output_index":0,"item":{{"id":"f{c}","type":"function_call","status":"in_progress","name":"w","call_id":"c{c}","arguments":""}}}}"#
                ));
                self.server(&format!(
                    r#"{{"type":"response.function_call_arguments.done",{e},"response_id":"r{r}","item_id":"f{c}","output_index":0,"call_id":"c{c}","name":"w","arguments":"{{}}"}}"#
                ));
            }
            Step::ServerError(expired) => {
                let code = if expired { "session_expired" } else { "invalid_value" };
                self.server(&format!(
                    r#"{{"type":"error",{e},"error":{{"type":"invalid_request_error","code":"{code}","message":"m"}}}}"#
                ));
            }
            Step::Garbage(text) => self.server(&text),
            Step::Interrupt => {
                let _ = self.engine.interrupt(self.now);
                self.drain();
            }
            Step::SendText => {
                let _ = self.engine.send_text("hello", self.now);
                self.drain();
            }
            Step::Talk(start) => {
                let _ = if start {
                    self.engine.start_talking(self.now)
                } else {
                    self.engine.stop_talking(self.now)
                };
                self.drain();
            }
            Step::ToolOutput(c) => {
                let _ = self
                    .engine
                    .submit_tool_output(&format!("c{c}"), "{}".into(), self.now);
                self.drain();
            }
            Step::Mute(muted) => {
                self.engine.set_muted(muted, self.now);
                self.drain();
            }
            Step::InputAudio(n) => {
                self.engine
                    .handle_input_audio(&vec![3i16; usize::from(n)], self.now);
                self.drain();
            }
            Step::Flushed(i, ms) => {
                let cut = [FlushedItem {
                    item_id: format!("a{i}"),
                    played_ms: ms,
                }];
                self.engine.handle_playout_flushed(&cut, self.now);
                self.drain();
            }
            Step::Progress(i, ms) => {
                self.engine
                    .handle_playout_progress(&format!("a{i}"), ms, self.now);
                self.drain();
            }
            Step::TransportClosed => {
                self.engine.handle_transport_closed(
                    Err(SessionError::new(ErrorKind::Network, "reset")),
                    self.now,
                );
                self.drain();
            }
            Step::Advance(ms) => {
                let target = self.now + Duration::from_millis(u64::from(ms));
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
            Step::Reconnect => {
                // Answer whatever connection step the engine is waiting for.
                match self.engine.state() {
                    SessionState::Minting => self.engine.handle_token(Ok(()), self.now),
                    SessionState::Connecting => self.engine.handle_transport_opened(self.now),
                    SessionState::Configuring => {
                        return self.server(&format!(
                            r#"{{"type":"session.updated",{e},"session":{{"type":"realtime"}}}}"#
                        ));
                    }
                    _ => {}
                }
                self.drain();
            }
            Step::Counters(n) => {
                self.engine.record_underruns(n);
                self.engine
                    .record_bytes_sent(usize::try_from(n).unwrap_or(usize::MAX));
                self.engine
                    .record_bytes_received(usize::try_from(n).unwrap_or(usize::MAX));
                self.engine
                    .handle_track_audio(usize::try_from(n).unwrap_or(usize::MAX), self.now);
            }
        }
    }
}

fn run(path: AudioPath, local_playback: bool, vad: bool, steps: Vec<Step>) {
    let session = if vad {
        SessionConfig::default().with_turn_detection(Some(TurnDetection::server_vad()))
    } else {
        SessionConfig::default().with_turn_detection(None)
    };
    let mut run = Run {
        engine: Engine::new(EngineConfig {
            session,
            audio_path: path,
            local_playback,
            max_conversation_items: CAP,
            replay_max_items: 4,
            webrtc_stop_fallback: Some(Duration::from_secs(30)),
            audio_retention: Some(voicewire_core::AudioRetention {
                max_ms_per_item: 500,
                max_total_ms: 800,
            }),
            reconnect: ReconnectPolicy {
                initial_delay: Duration::from_millis(10),
                recycle_after: Some(Duration::from_secs(200)),
                ..ReconnectPolicy::default()
            },
            ..EngineConfig::default()
        }),
        now: Timestamp::ZERO,
        open: Vec::new(),
    };
    run.engine.start(run.now).unwrap();
    run.drain();
    for s in [Step::Reconnect, Step::Reconnect, Step::Reconnect] {
        run.apply(s);
    }
    assert_eq!(run.engine.state(), &SessionState::Live);
    for s in steps {
        run.apply(s);
    }
    // However the session went, stopping it owes no playback event.
    let _ = run.engine.stop(run.now);
    run.drain();
    run.engine.handle_playout_flushed(&[], run.now);
    run.drain();
    assert!(run.open.is_empty(), "never stopped: {:?}", run.open);
    let retained = run.engine.conversation().retained_audio_samples();
    let counted: u64 = run
        .engine
        .conversation()
        .items()
        .iter()
        .map(|i| i.audio.len() as u64)
        .sum();
    assert_eq!(retained, counted, "retained-audio bookkeeping drifted");
    assert!(retained <= 800 * 24);
}

proptest! {
    // 96 cases per run in CI; set VOICEWIRE_FUZZ_CASES for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("VOICEWIRE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96),
        ..ProptestConfig::default()
    })]

    #[test]
    fn websocket_sessions_never_panic_and_pair_playback_events(
        steps in proptest::collection::vec(step(), 1..160),
        local_playback in any::<bool>(),
        vad in any::<bool>(),
    ) {
        run(AudioPath::InEvents, local_playback, vad, steps);
    }

    #[test]
    fn webrtc_sessions_never_panic_and_pair_playback_events(
        steps in proptest::collection::vec(step(), 1..160),
        local_playback in any::<bool>(),
        vad in any::<bool>(),
    ) {
        run(AudioPath::MediaTrack, local_playback, vad, steps);
    }
}
