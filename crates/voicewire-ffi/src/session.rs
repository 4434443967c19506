//! [`RealtimeVoiceSession`]: the FFI object over `voicewire::RealtimeVoiceSession`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
}

impl std::fmt::Debug for RealtimeVoiceSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

#[uniffi::export]
impl RealtimeVoiceSession {
    /// A session in the `Idle` state. `tool_handler` answers the calls to the tools named in
    /// `options.session.tools` (it is never called when no tools are configured).
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
        let adapter: Arc<dyn voicewire::ToolHandler> = Arc::new(ForeignToolHandler(tool_handler));
        for tool in options.session.tools.iter().flatten() {
            rust_options
                .tools
                .register(tool.name.clone(), Arc::clone(&adapter));
        }
        rust_options.audio_device = audio.into_device()?;
        Ok(Arc::new(RealtimeVoiceSession {
            inner: voicewire::RealtimeVoiceSession::new(rust_options),
            state_pending: AtomicBool::new(true),
        }))
    }

    /// Connects (token → transport → configuration); returns once live, or the error that
    /// prevented it (`Auth` for a refused token).
    pub async fn start(&self) -> Result<(), VoiceError> {
        let inner = self.inner.clone();
        runtime::run(async move { inner.start().await.map_err(VoiceError::from) }).await
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

    /// Changes the session configuration (absent fields are kept).
    pub async fn update_config(&self, update: SessionConfig) -> Result<(), VoiceError> {
        let update = voicewire::SessionConfig::try_from(&update)?;
        let inner = self.inner.clone();
        runtime::run(async move { inner.update_config(update).await.map_err(VoiceError::from) })
            .await
    }

    /// Answers a tool call that no handler answered.
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
    /// and every event was delivered.
    pub async fn next_event(&self) -> Option<SessionEvent> {
        if self.state_pending.swap(false, Ordering::SeqCst) {
            return Some(SessionEvent::StateChanged {
                state: self.state(),
            });
        }
        let inner = self.inner.clone();
        runtime::spawn(async move { inner.next_event().await.map(|e| SessionEvent::from(&e)) })
            .await
            .ok()
            .flatten()
    }

    /// Delivers the current state, then every event, to `listener` until the session ends
    /// or the returned handle is cancelled or dropped.
    pub fn subscribe(&self, listener: Arc<dyn SessionEventListener>) -> Arc<TaskHandle> {
        self.state_pending.store(false, Ordering::SeqCst);
        let inner = self.inner.clone();
        let task = runtime::spawn(async move {
            listener.on_event(SessionEvent::StateChanged {
                state: SessionState::from(&inner.state()),
            });
            while let Some(event) = inner.next_event().await {
                listener.on_event(SessionEvent::from(&event));
            }
        });
        Arc::new(TaskHandle::new(task.abort_handle()))
    }
}
