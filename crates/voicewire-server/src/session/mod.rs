//! One Realtime session, independent of the transport that carries it.
//!
//! A session is an actor (one tokio task). A transport adapter feeds it
//! [`SessionInput`]s — client event text frames and, for media transports, decoded input
//! audio — and forwards the [`SessionOutput`]s it produces — server event text frames
//! (already encoded in the connection's dialect), output audio samples for a media track,
//! and close/drop instructions. The WebSocket adapter (`crate::ws`) is one such adapter;
//! a WebRTC adapter is another:
//!
//! * spawn with [`spawn`] and `AudioDelivery::MediaTrack`: reply audio then arrives as
//!   `SessionOutput::MediaAudio` (24 kHz PCM16, paced in real time in 20 ms chunks)
//!   instead of `response.output_audio.delta` events, and the session sends
//!   `output_audio_buffer.started/stopped/cleared`, truncates interrupted items itself, and
//!   honours `output_audio_buffer.clear`;
//! * feed microphone audio as `SessionInput::MediaAudio` (24 kHz PCM16 mono): it runs
//!   through the same server VAD as `input_audio_buffer.append`;
//! * feed data-channel text as `SessionInput::ClientText`, send every
//!   `SessionOutput::Text` on the data channel;
//! * a sideband WebSocket (`?call_id=`) joins with [`SessionHandle::attach_sideband`].
//!
//! Pacing lives in the actor, so adapters only move bytes.

pub(crate) mod actor;
mod agent;
pub(crate) mod conversation;
mod input;
mod response;
pub(crate) mod settings;

use std::sync::Arc;

use tokio::sync::mpsc;
use voicewire_protocol::{Dialect, SessionPayload};

use crate::fault::Fault;
use crate::observe::Transport;
use crate::server::Shared;

/// Client frames waiting for the actor; a full queue pushes back on the socket reader.
const INPUT_QUEUE: usize = 256;
/// Output frames waiting for the adapter; a full queue pauses the actor (back-pressure from
/// a slow client), which bounds memory per session.
const OUTPUT_QUEUE: usize = 256;

/// How reply audio leaves a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AudioDelivery {
    /// As base64 `response.output_audio.delta` events (WebSocket, SIP).
    InEvents,
    /// As samples for a media track (WebRTC), with `output_audio_buffer.*` events.
    MediaTrack,
}

/// What a new session needs to know.
#[derive(Debug, Clone)]
pub(crate) struct SessionSetup {
    pub(crate) transport: Transport,
    pub(crate) dialect: Dialect,
    /// Model from the URL (or the minted secret).
    pub(crate) model: Option<String>,
    /// Config bound to the client secret (or the WebRTC `session` part), applied first.
    pub(crate) initial: Option<SessionPayload>,
    /// WebRTC call id, so a sideband WebSocket can find the session.
    pub(crate) call_id: Option<String>,
    pub(crate) audio_delivery: AudioDelivery,
}

/// Input to a session from its transport.
#[derive(Debug)]
pub(crate) enum SessionInput {
    /// One client event as JSON text.
    ClientText(String),
    /// A binary frame (not part of the protocol; answered with an error).
    ClientBinary(usize),
    /// Microphone audio from a media track: PCM16, 24 kHz, mono.
    #[allow(
        dead_code,
        reason = "fed by the WebRTC adapter (webrtc.rs); exercised by unit tests"
    )]
    MediaAudio(Vec<i16>),
    /// The transport went away.
    TransportClosed {
        /// Why, in words.
        reason: String,
    },
}

/// Output of a session for its transport.
#[derive(Debug)]
pub(crate) enum SessionOutput {
    /// One server event (or an injected malformed frame) as text.
    Text(Arc<str>),
    /// Reply audio for a media track (only with `AudioDelivery::MediaTrack`).
    #[allow(
        dead_code,
        reason = "read by the WebRTC adapter (webrtc.rs); exercised by unit tests"
    )]
    MediaAudio {
        /// The response it belongs to.
        response_id: String,
        /// The assistant item it belongs to.
        item_id: String,
        /// PCM16, 24 kHz, mono.
        samples: Vec<i16>,
        /// Drop reply audio the transport has queued but not yet played before these
        /// samples: set (with no samples) when the output audio buffer is cleared, so the
        /// media path learns it from the session and never from event text.
        discard_queued: bool,
    },
    /// Close the transport cleanly with this code and reason.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// Drop the transport without a close handshake (an injected network failure).
    Drop,
}

/// Out-of-band instructions to a session.
#[derive(Debug)]
pub(crate) enum Control {
    Fault(Fault),
    Attach {
        dialect: Dialect,
        sink: mpsc::Sender<SessionOutput>,
    },
}

/// Cheap handle to a running session.
#[derive(Debug, Clone)]
pub(crate) struct SessionHandle {
    id: Arc<str>,
    input: mpsc::Sender<SessionInput>,
    control: mpsc::UnboundedSender<Control>,
}

impl SessionHandle {
    /// The session id (`sess_…`).
    #[allow(
        dead_code,
        reason = "for the WebRTC adapter (webrtc.rs); exercised by unit tests"
    )]
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Delivers input; false once the session has ended.
    pub(crate) async fn send(&self, input: SessionInput) -> bool {
        self.input.send(input).await.is_ok()
    }

    /// Applies a fault; false once the session has ended.
    pub(crate) fn inject(&self, fault: Fault) -> bool {
        self.control.send(Control::Fault(fault)).is_ok()
    }

    /// Joins a sideband connection: it receives every server event from now on (in its own
    /// dialect) and may send client events with [`SessionHandle::send`]. Audio is not
    /// copied to it.
    pub(crate) fn attach_sideband(
        &self,
        dialect: Dialect,
    ) -> Option<mpsc::Receiver<SessionOutput>> {
        let (sink, rx) = mpsc::channel(OUTPUT_QUEUE);
        self.control.send(Control::Attach { dialect, sink }).ok()?;
        Some(rx)
    }
}

/// Starts a session actor; returns its handle and the output the transport must carry.
/// The session is registered in the emulator until it ends.
pub(crate) fn spawn(
    shared: &Arc<Shared>,
    setup: SessionSetup,
) -> (SessionHandle, mpsc::Receiver<SessionOutput>) {
    let id: Arc<str> = Arc::from(crate::ids::session());
    let (input_tx, input_rx) = mpsc::channel(INPUT_QUEUE);
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let (output_tx, output_rx) = mpsc::channel(OUTPUT_QUEUE);
    let handle = SessionHandle {
        id: id.clone(),
        input: input_tx,
        control: control_tx,
    };
    let info = crate::server::SessionInfo {
        id: id.to_string(),
        transport: setup.transport,
        dialect: setup.dialect,
        model: setup.model.clone(),
        call_id: setup.call_id.clone(),
        started_at: std::time::SystemTime::now(),
    };
    shared.register(info, handle.clone());
    let actor = actor::SessionActor::new(shared.clone(), id.to_string(), setup, output_tx);
    let shared_for_task = shared.clone();
    shared.tasks.spawn(async move {
        actor.run(input_rx, control_rx).await;
        shared_for_task.unregister(&id);
    });
    (handle, output_rx)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicU32;
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    use super::*;
    use crate::config::AudioPace;
    use crate::fault::FaultConfig;
    use crate::observe::Observer;
    use crate::secrets::SecretStore;
    use crate::synth::SpeechSynth;

    fn shared() -> Arc<Shared> {
        Arc::new(Shared {
            api_key: None,
            audio_pace: AudioPace::Fast,
            scenario: None,
            faults: FaultConfig::default(),
            max_session_duration: None,
            max_sessions: 10,
            max_retained_audio: Duration::from_secs(60),
            secrets: SecretStore::default(),
            sessions: Mutex::new(HashMap::new()),
            observer: Observer::new(64),
            synth: SpeechSynth::tones_only(),
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
            mint_refusals_left: AtomicU32::new(0),
        })
    }

    async fn next_text(rx: &mut mpsc::Receiver<SessionOutput>, audio: &mut usize) -> String {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .unwrap()
                .unwrap()
            {
                SessionOutput::Text(text) => return text.to_string(),
                SessionOutput::MediaAudio { samples, .. } => *audio += samples.len(),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn kind(text: &str) -> String {
        serde_json::from_str::<serde_json::Value>(text).unwrap()["type"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The seam a WebRTC adapter uses: audio in and out as samples, playback events.
    #[tokio::test]
    async fn media_track_delivery_sends_samples_and_playback_events() {
        let shared = shared();
        let setup = SessionSetup {
            transport: Transport::WebRtc,
            dialect: Dialect::Ga,
            model: None,
            initial: None,
            call_id: Some("rtc_test".into()),
            audio_delivery: AudioDelivery::MediaTrack,
        };
        let (handle, mut rx) = spawn(&shared, setup);
        assert!(handle.id().starts_with("sess_"));
        assert!(shared.session_by_call_id("rtc_test").is_some());
        let mut audio = 0;
        assert_eq!(
            kind(&next_text(&mut rx, &mut audio).await),
            "session.created"
        );
        // Microphone audio on the track goes through server VAD.
        let mut mic = vec![0_i16; 24_000];
        mic.extend((0..24_000).map(|i| ((i as f32 * 0.06).sin() * 8_000.0) as i16));
        mic.extend(vec![0_i16; 24_000]);
        for chunk in mic.chunks(480) {
            assert!(handle.send(SessionInput::MediaAudio(chunk.to_vec())).await);
        }
        let mut kinds = Vec::new();
        loop {
            let k = kind(&next_text(&mut rx, &mut audio).await);
            kinds.push(k.clone());
            if k == "output_audio_buffer.stopped" {
                break;
            }
        }
        assert!(kinds.contains(&"input_audio_buffer.speech_started".to_owned()));
        assert!(kinds.contains(&"output_audio_buffer.started".to_owned()));
        assert!(
            !kinds.iter().any(|k| k == "response.output_audio.delta"),
            "no audio in events on WebRTC"
        );
        assert!(kinds.contains(&"response.output_audio_transcript.done".to_owned()));
        assert!(
            audio >= 24_000,
            "the echoed turn arrives as samples ({audio})"
        );
        // A sideband connection sees the same events.
        let mut side = handle.attach_sideband(Dialect::Ga).unwrap();
        let mut none = 0;
        assert_eq!(
            kind(&next_text(&mut side, &mut none).await),
            "session.created"
        );
        assert!(
            handle
                .send(SessionInput::ClientText(
                    r#"{"type":"input_audio_buffer.clear"}"#.into()
                ))
                .await
        );
        assert_eq!(
            kind(&next_text(&mut rx, &mut audio).await),
            "input_audio_buffer.cleared"
        );
        assert_eq!(
            kind(&next_text(&mut side, &mut none).await),
            "input_audio_buffer.cleared"
        );
        assert!(
            handle
                .send(SessionInput::TransportClosed {
                    reason: "test".into()
                })
                .await
        );
        shared.tasks.close();
        tokio::time::timeout(Duration::from_secs(5), shared.tasks.wait())
            .await
            .unwrap();
        assert!(shared.session_by_call_id("rtc_test").is_none());
    }

    /// The media path learns of `output_audio_buffer.cleared` from a typed signal sent just
    /// before the event, never from event text: a transcript quoting the event's name
    /// carries no discard signal, and a real clear does.
    #[tokio::test]
    async fn clearing_the_output_buffer_is_a_typed_media_signal() {
        let shared = shared();
        let setup = SessionSetup {
            transport: Transport::WebRtc,
            dialect: Dialect::Ga,
            model: None,
            initial: None,
            call_id: Some("rtc_clear".into()),
            audio_delivery: AudioDelivery::MediaTrack,
        };
        let (handle, mut rx) = spawn(&shared, setup);
        async fn recv(rx: &mut mpsc::Receiver<SessionOutput>) -> SessionOutput {
            tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .unwrap()
                .unwrap()
        }
        let user_text = |text: &str| {
            serde_json::json!({"type": "conversation.item.create", "item": {"type": "message",
                "role": "user", "content": [{"type": "input_text", "text": text}]}})
            .to_string()
        };
        // A reply whose transcript names the event: all its audio, no discard signal.
        assert!(
            handle
                .send(SessionInput::ClientText(user_text(
                    "\"output_audio_buffer.cleared\""
                )))
                .await
        );
        assert!(
            handle
                .send(SessionInput::ClientText(
                    r#"{"type":"response.create"}"#.into()
                ))
                .await
        );
        let mut audio = 0;
        let mut quoted = false;
        loop {
            match recv(&mut rx).await {
                SessionOutput::Text(text) => {
                    quoted |= text.contains("output_audio_buffer.cleared")
                        && kind(&text) != "output_audio_buffer.cleared";
                    if kind(&text) == "output_audio_buffer.stopped" {
                        break;
                    }
                    assert_ne!(kind(&text), "output_audio_buffer.cleared");
                }
                SessionOutput::MediaAudio {
                    samples,
                    discard_queued,
                    ..
                } => {
                    assert!(!discard_queued, "nothing was cleared");
                    audio += samples.len();
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(quoted, "the transcript quotes the event name");
        assert!(audio > 0, "the quoting reply kept its audio");

        // A real clear during a reply: the typed signal comes first, then the event.
        assert!(
            handle
                .send(SessionInput::ClientText(user_text(
                    "Tell me a long story about the sea and the wind."
                )))
                .await
        );
        assert!(
            handle
                .send(SessionInput::ClientText(
                    r#"{"type":"response.create"}"#.into()
                ))
                .await
        );
        loop {
            if let SessionOutput::Text(text) = recv(&mut rx).await
                && kind(&text) == "output_audio_buffer.started"
            {
                break;
            }
        }
        assert!(
            handle
                .send(SessionInput::ClientText(
                    r#"{"type":"output_audio_buffer.clear"}"#.into()
                ))
                .await
        );
        let mut signalled = false;
        loop {
            match recv(&mut rx).await {
                SessionOutput::MediaAudio {
                    samples,
                    discard_queued: true,
                    ..
                } => {
                    assert!(samples.is_empty());
                    signalled = true;
                }
                SessionOutput::Text(text) if kind(&text) == "output_audio_buffer.cleared" => {
                    assert!(signalled, "the discard signal precedes the event");
                    break;
                }
                _ => {}
            }
        }
        assert!(
            handle
                .send(SessionInput::TransportClosed {
                    reason: "test".into()
                })
                .await
        );
    }
}
