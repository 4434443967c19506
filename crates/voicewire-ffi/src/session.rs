//! [`RealtimeVoiceSession`]: the FFI object over `voicewire::RealtimeVoiceSession`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::task::AbortHandle;

use voicewire::audio::{AudioFormat, AudioFrame};

use crate::audio::AudioChoice;
use crate::config::{SessionConfig, SessionOptions};
use crate::error::VoiceError;
use crate::events::{SessionEvent, SessionMetrics, SessionState};
use crate::runtime;
use crate::services::{
    ForeignTokenProvider, ForeignToolHandler, SessionEventListener, TokenProvider, ToolHandler,
};
use crate::task_handle::TaskHandle;

/// A realtime voice session: the same engine as the Rust `RealtimeVoiceSession`.
///
/// Events go to one consumer: either [`Self::subscribe`] a listener or pull with
/// [`Self::next_event`] (several consumers would split the stream). Both deliver the
/// current state first.
#[derive(uniffi::Object)]
pub struct RealtimeVoiceSession {
    inner: voicewire::RealtimeVoiceSession,
    /// The pull API owes the app the current state before its first event.
    state_pending: AtomicBool,
    /// Listener tasks started by [`Self::subscribe`]. Each holds an engine handle (the
    /// engine has no events-only handle), so they are aborted when the app releases this
    /// object: otherwise a kept `TaskHandle` would keep the driver, mic and socket alive.
    listeners: Mutex<Vec<AbortHandle>>,
}

impl Drop for RealtimeVoiceSession {
    fn drop(&mut self) {
        if let Ok(listeners) = self.listeners.get_mut() {
            for listener in listeners.drain(..) {
                listener.abort();
            }
        }
    }
}

/// Stops a session whose `start()` future the caller dropped before it resolved (a
/// cancelled Swift `Task`, Kotlin coroutine or abandoned JS promise), so it does not go on
/// connecting in the background.
struct StopIfAbandoned(Option<voicewire::RealtimeVoiceSession>);

impl StopIfAbandoned {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for StopIfAbandoned {
    fn drop(&mut self) {
        if let Some(session) = self.0.take() {
            drop(runtime::spawn(async move {
                let _ = session.stop().await;
            }));
        }
    }
}

impl std::fmt::Debug for RealtimeVoiceSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

#[uniffi::export]
impl RealtimeVoiceSession {
    /// A session in the `Idle` state. `tool_handler` answers every tool call, whether the
    /// tool was named in `options.session.tools` or added later with `update_config` (it is
    /// never called when no tools are configured).
    ///
    /// The handler is required rather than optional because uniffi-bindgen-react-native
    /// 0.31.0-5 cannot pass a JS-implemented object inside an optional (its runtime's
    /// `FfiConverterObjectWithCallbacks.writeIntoCursor` skips the foreign-handle map).
    #[uniffi::constructor]
    pub fn new(
        options: SessionOptions,
        token_provider: Arc<dyn TokenProvider>,
        tool_handler: Arc<dyn ToolHandler>,
        audio: AudioChoice,
    ) -> Result<Arc<Self>, VoiceError> {
        let token_source =
            voicewire::TokenSource::Provider(Arc::new(ForeignTokenProvider(token_provider)));
        let mut rust_options = options.to_rust(token_source)?;
        // The catch-all, not one registration per configured name: tools added later by
        // `update_config` must reach the app's handler too.
        rust_options
            .tools
            .set_fallback(Arc::new(ForeignToolHandler(tool_handler)));
        rust_options.audio_device = audio.into_device()?;
        Ok(Arc::new(RealtimeVoiceSession {
            inner: voicewire::RealtimeVoiceSession::new(rust_options),
            state_pending: AtomicBool::new(true),
            listeners: Mutex::new(Vec::new()),
        }))
    }

    /// Connects (token → transport → configuration); returns once live, or the error that
    /// prevented it (`Auth` for a refused token). Cancelling the call (dropping its
    /// future) stops the session instead of leaving it connecting in the background.
    pub async fn start(&self) -> Result<(), VoiceError> {
        let guard = StopIfAbandoned(Some(self.inner.clone()));
        let inner = self.inner.clone();
        let result =
            runtime::run(async move { inner.start().await.map_err(VoiceError::from) }).await;
        guard.disarm();
        result
    }

    /// Stops and waits until closed. Safe to call more than once.
    pub async fn stop(&self) -> Result<(), VoiceError> {
        let inner = self.inner.clone();
        runtime::run(async move { inner.stop().await.map_err(VoiceError::from) }).await
    }

    /// Stops the assistant now (playback stops; the answer is truncated at what was heard).
    pub async fn interrupt(&self) -> Result<(), VoiceError> {
        let inner = self.inner.clone();
        runtime::run(async move { inner.interrupt().await.map_err(VoiceError::from) }).await
    }

    /// Sends a user text message and asks for an answer.
    pub async fn send_text(&self, text: String) -> Result<(), VoiceError> {
        let inner = self.inner.clone();
        runtime::run(async move { inner.send_text(text).await.map_err(VoiceError::from) }).await
    }

    /// Changes the session configuration (absent fields are kept). Calls to tools first
    /// named here go to the session's `ToolHandler` like any other.
    pub async fn update_config(&self, update: SessionConfig) -> Result<(), VoiceError> {
        let update = voicewire::SessionConfig::try_from(&update)?;
        let inner = self.inner.clone();
        runtime::run(async move { inner.update_config(update).await.map_err(VoiceError::from) })
            .await
    }

    /// Answers a tool call by hand (the `ToolHandler` already answers every call; this is
    /// for apps that answer from elsewhere, e.g. after asking the user).
    pub async fn send_tool_output(
        &self,
        call_id: String,
        output: String,
    ) -> Result<(), VoiceError> {
        let inner = self.inner.clone();
        runtime::run(async move {
            inner
                .send_tool_output(call_id, output)
                .await
                .map_err(VoiceError::from)
        })
        .await
    }

    /// Push-to-talk press (turn detection `Manual`).
    pub async fn start_talking(&self) -> Result<(), VoiceError> {
        let inner = self.inner.clone();
        runtime::run(async move { inner.start_talking().await.map_err(VoiceError::from) }).await
    }

    /// Push-to-talk release: commits the turn and asks for an answer.
    pub async fn stop_talking(&self) -> Result<(), VoiceError> {
        let inner = self.inner.clone();
        runtime::run(async move { inner.stop_talking().await.map_err(VoiceError::from) }).await
    }

    /// Mutes or unmutes the microphone (muted audio is never sent).
    pub fn set_muted(&self, muted: bool) -> Result<(), VoiceError> {
        self.inner.set_muted(muted).map_err(VoiceError::from)
    }

    /// Whether the microphone is muted.
    pub fn is_muted(&self) -> bool {
        self.inner.is_muted()
    }

    /// Pushes microphone audio for sessions without a capture device (PCM16 LE,
    /// interleaved, any rate and channel count).
    pub fn push_audio(
        &self,
        pcm16le: Vec<u8>,
        sample_rate: u32,
        channels: u16,
    ) -> Result<(), VoiceError> {
        let format = AudioFormat {
            sample_rate,
            channels,
        };
        let frame =
            AudioFrame::from_pcm16_le_bytes(format, &pcm16le).map_err(voicewire::Error::from)?;
        self.inner.push_audio(frame).map_err(VoiceError::from)
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        SessionState::from(&self.inner.state())
    }

    /// A snapshot of the session's counters and timings.
    pub fn metrics(&self) -> SessionMetrics {
        SessionMetrics::from(&self.inner.metrics())
    }

    /// The next event (the current state first), or nothing once the session has ended
    /// and every event was delivered. Cancelling the call loses no event: the next call
    /// gets it.
    pub async fn next_event(&self) -> Option<SessionEvent> {
        if self.state_pending.swap(false, Ordering::SeqCst) {
            return Some(SessionEvent::StateChanged {
                state: self.state(),
            });
        }
        // Awaited in place, not spawned: the engine's `next_event` is cancel-safe (a tokio
        // mutex and mpsc receive, which need no runtime context), so a dropped foreign
        // future leaves the event queued instead of a detached task consuming it.
        self.inner
            .next_event()
            .await
            .map(|event| SessionEvent::from(&event))
    }

    /// Delivers the current state, then every event, to `listener` until the session ends,
    /// the returned handle is cancelled or dropped, or the app releases this session.
    /// A subscription covers one run: after a failed `start()` or a `stop()`, subscribe
    /// again before calling `start()` again (`next_event()` keeps working across runs).
    pub fn subscribe(&self, listener: Arc<dyn SessionEventListener>) -> Arc<TaskHandle> {
        self.state_pending.store(false, Ordering::SeqCst);
        // The state is read here, not in the task: the first delivery is the state at the
        // moment of subscribing, even if `start()` runs before the task is first polled.
        let current = SessionState::from(&self.inner.state());
        let inner = self.inner.clone();
        let task = runtime::spawn(async move {
            listener.on_event(SessionEvent::StateChanged { state: current });
            while let Some(event) = inner.next_event().await {
                listener.on_event(SessionEvent::from(&event));
            }
        });
        let abort = task.abort_handle();
        if let Ok(mut listeners) = self.listeners.lock() {
            listeners.retain(|l| !l.is_finished());
            listeners.push(abort.clone());
        }
        Arc::new(TaskHandle::new(abort))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_trait::async_trait;
    use voicewire_server::{Emulator, EmulatorConfig, EmulatorHandle, Scenario};

    use super::*;
    use crate::config::{EndpointConfig, FunctionToolConfig, TransportKind};
    use crate::services::ClientToken;

    const API_KEY: &str = "sk-voicewire-ffi-unit";
    /// Bound so a broken test fails instead of hanging (never a performance assertion).
    const HANG_GUARD: Duration = Duration::from_secs(60);

    struct Token(&'static str);

    #[async_trait]
    impl TokenProvider for Token {
        async fn fetch_token(&self) -> Result<Arc<ClientToken>, VoiceError> {
            Ok(ClientToken::new(self.0.to_owned(), None))
        }
    }

    /// A foreign-style handler that answers with the tool name and its arguments.
    struct EchoTools;

    #[async_trait]
    impl ToolHandler for EchoTools {
        async fn call_tool(&self, call: crate::ToolCall) -> Result<String, VoiceError> {
            Ok(format!(
                r#"{{"tool":"{}","args":{}}}"#,
                call.name, call.arguments
            ))
        }
    }

    async fn emulator(scenario: Option<Scenario>) -> EmulatorHandle {
        Emulator::start(EmulatorConfig {
            api_key: Some(API_KEY.to_owned()),
            scenario,
            ..EmulatorConfig::default()
        })
        .await
        .expect("emulator starts")
    }

    fn session(emu: &EmulatorHandle, key: &'static str) -> Arc<RealtimeVoiceSession> {
        let options = SessionOptions {
            endpoint: EndpointConfig {
                api_base: emu.http_base(),
                relay_url: None,
                model: None,
            },
            transport: TransportKind::WebSocket,
            session: SessionConfig {
                instructions: Some("You are a test agent.".into()),
                ..SessionConfig::default()
            },
            reconnect: None,
            tool_timeout_ms: None,
            levels_interval_ms: Some(0),
        };
        RealtimeVoiceSession::new(
            options,
            Arc::new(Token(key)),
            Arc::new(EchoTools),
            AudioChoice::NoDevice,
        )
        .unwrap()
    }

    /// Reads events until `pred` matches one, returning it.
    async fn event_matching(
        session: &RealtimeVoiceSession,
        pred: impl Fn(&SessionEvent) -> bool,
    ) -> SessionEvent {
        tokio::time::timeout(HANG_GUARD, async {
            loop {
                let event = session.next_event().await.expect("session ended first");
                if pred(&event) {
                    return event;
                }
            }
        })
        .await
        .expect("event within the hang guard")
    }

    #[tokio::test]
    async fn a_tool_added_by_update_config_reaches_the_apps_handler() {
        let scenario = Scenario::parse(
            r#"{"turns":[
                {"tool_calls":[{"name":"clock","call_id":"call_clock","arguments":{"zone":"UTC"}}]},
                {"reply":"Done."}
            ]}"#,
        )
        .unwrap();
        let emu = emulator(Some(scenario)).await;
        let mut observed = emu.observe();
        let session = session(&emu, API_KEY);
        session.start().await.unwrap();
        session
            .update_config(SessionConfig {
                tools: Some(vec![FunctionToolConfig {
                    name: "clock".into(),
                    description: Some("The time".into()),
                    parameters_json: Some(r#"{"type":"object"}"#.into()),
                }]),
                ..SessionConfig::default()
            })
            .await
            .unwrap();
        session.send_text("what time is it".into()).await.unwrap();
        let output = tokio::time::timeout(HANG_GUARD, async {
            loop {
                let o = observed.recv().await.unwrap();
                if let voicewire_server::ObservedKind::ClientEvent(e) = &o.kind
                    && let voicewire::protocol::ClientEvent::ConversationItemCreate(c) = e.as_ref()
                {
                    let item = serde_json::to_value(&c.item).unwrap();
                    if item["type"] == "function_call_output" {
                        return item;
                    }
                }
            }
        })
        .await
        .expect("the handler's output reached the server");
        assert_eq!(output["call_id"], "call_clock");
        let answer: serde_json::Value =
            serde_json::from_str(output["output"].as_str().unwrap()).unwrap();
        assert_eq!(answer["tool"], "clock");
        assert_eq!(answer["args"]["zone"], "UTC");
        event_matching(
            &session,
            |e| matches!(e, SessionEvent::AssistantTranscriptFinal { text, .. } if text == "Done."),
        )
        .await;
        session.stop().await.unwrap();
        emu.shutdown().await;
    }

    #[tokio::test]
    async fn bad_audio_from_the_app_is_a_typed_error() {
        let emu = emulator(None).await;
        let session = session(&emu, API_KEY);
        session.start().await.unwrap();
        for (bytes, rate, channels) in [
            (vec![0u8; 3], 24_000, 1),        // half a sample
            (vec![0u8; 6], 24_000, 2),        // one and a half frames
            (vec![0u8; 4], 0, 1),             // no sample rate
            (vec![0u8; 4], 24_000, 0),        // no channels
            (vec![0u8; 4], u32::MAX, 1),      // absurd rate
            (vec![0u8; 4], 24_000, u16::MAX), // absurd channel count
        ] {
            let result = session.push_audio(bytes, rate, channels);
            assert!(result.is_err(), "{rate} Hz x{channels} was accepted");
        }
        // The session is unharmed.
        session.push_audio(vec![0u8; 960], 24_000, 1).unwrap();
        assert!(matches!(session.state(), SessionState::Live));
        session.stop().await.unwrap();
        emu.shutdown().await;
    }

    #[tokio::test]
    async fn unusable_endpoints_fail_start_with_a_typed_error() {
        for (api_base, relay_url) in [
            ("not a url at all", None),
            ("http://127.0.0.1:1/v1", Some("::::".to_owned())),
            ("", None),
        ] {
            let options = SessionOptions {
                endpoint: EndpointConfig {
                    api_base: api_base.into(),
                    relay_url,
                    model: Some(String::new()),
                },
                transport: TransportKind::WebSocket,
                session: SessionConfig::default(),
                reconnect: Some(crate::config::ReconnectConfig {
                    enabled: false,
                    max_attempts: 0,
                    connect_timeout_ms: 10_000,
                }),
                tool_timeout_ms: Some(0),
                levels_interval_ms: None,
            };
            let session = RealtimeVoiceSession::new(
                options,
                Arc::new(Token(API_KEY)),
                Arc::new(EchoTools),
                AudioChoice::NoDevice,
            )
            .unwrap();
            let result = tokio::time::timeout(HANG_GUARD, session.start())
                .await
                .expect("start ends");
            assert!(result.is_err(), "{api_base} started");
            assert!(matches!(session.state(), SessionState::Failed { .. }));
        }
    }

    #[tokio::test]
    async fn error_events_carry_stable_snake_case_codes() {
        let emu = emulator(None).await;
        let session = session(&emu, "sk-refused");
        assert!(matches!(
            session.start().await,
            Err(VoiceError::Auth { .. })
        ));
        let event = event_matching(&session, |e| matches!(e, SessionEvent::Error { .. })).await;
        let SessionEvent::Error {
            code, recoverable, ..
        } = event
        else {
            unreachable!()
        };
        let code = code.expect("connection failures carry a code");
        assert_eq!(code, voicewire::ErrorKind::Auth.code());
        assert!(voicewire::ErrorKind::ALL_CODES.contains(&code.as_str()));
        assert!(
            code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{code}"
        );
        assert!(!recoverable);
        emu.shutdown().await;
    }
}
