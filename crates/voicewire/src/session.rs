//! [`RealtimeVoiceSession`]: the public handle.
//!
//! The handle is cheap to clone (`Arc` inside), `Send + Sync`, and every method takes `&self`,
//! so it can be shared between tasks and wrapped by FFI objects. The session itself runs on a
//! driver task spawned by [`RealtimeVoiceSession::start`] on the current tokio runtime.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use futures_util::Stream;
use tokio::sync::{Mutex, mpsc, oneshot, watch};
use voicewire_audio::AudioFrame;
use voicewire_core::{SessionEvent, SessionMetrics, SessionState};
use voicewire_protocol::SessionConfig;

use crate::driver::{
    COMMAND_CAPACITY, Command, Driver, DriverChannels, DriverRemains, PUSHED_AUDIO_CAPACITY, Shared,
};
use crate::error::Error;
use crate::options::SessionOptions;
use crate::transport::Transport;

/// A realtime voice session.
///
/// ```no_run
/// # async fn demo() -> Result<(), voicewire::Error> {
/// use voicewire::{RealtimeVoiceSession, SessionOptions, TokenSource, SessionEvent};
///
/// let session = RealtimeVoiceSession::new(SessionOptions::new(TokenSource::api_key("sk-…")));
/// session.start().await?;
/// session.send_text("Hello!").await?;
/// while let Some(event) = session.next_event().await {
///     if let SessionEvent::AssistantTranscriptFinal { text, .. } = event {
///         println!("{text}");
///         break;
///     }
/// }
/// session.stop().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RealtimeVoiceSession {
    inner: Arc<Inner>,
}

struct Inner {
    /// The current driver's command queue (a new one for every start).
    commands: StdMutex<mpsc::Sender<Command>>,
    /// The current driver's pushed-audio queue (a new one for every start).
    pushed: StdMutex<mpsc::Sender<AudioFrame>>,
    events: Mutex<mpsc::Receiver<SessionEvent>>,
    state: watch::Receiver<SessionState>,
    shared: Arc<Shared>,
    /// What the next `start()` needs; present while no driver runs.
    seed: StdMutex<Option<Seed>>,
    /// The options while a driver runs (the driver hands back the device and state channel).
    parked_options: StdMutex<Option<SessionOptions>>,
    /// The running (or finished, not yet reclaimed) driver.
    driver: StdMutex<Option<tokio::task::JoinHandle<DriverRemains>>>,
    /// Serializes `start()` and `stop()`.
    lifecycle: Mutex<()>,
    started: AtomicBool,
}

/// What starting a driver takes: the options (without the device while one runs), the state
/// channel, and the first start's channels (made in `new`, so commands given before `start`
/// are queued for it).
struct Seed {
    options: SessionOptions,
    state: watch::Sender<SessionState>,
    first: Option<(
        mpsc::Receiver<Command>,
        mpsc::Sender<SessionEvent>,
        mpsc::Receiver<AudioFrame>,
    )>,
}

impl std::fmt::Debug for RealtimeVoiceSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealtimeVoiceSession")
            .field("state", &*self.inner.state.borrow())
            .finish_non_exhaustive()
    }
}

impl RealtimeVoiceSession {
    /// A session in [`SessionState::Idle`]; nothing happens until [`Self::start`].
    pub fn new(options: SessionOptions) -> Self {
        let (command_tx, command_rx) = mpsc::channel(COMMAND_CAPACITY);
        let (event_tx, event_rx) = mpsc::channel(options.event_capacity.max(16));
        let (pushed_tx, pushed_rx) = mpsc::channel(PUSHED_AUDIO_CAPACITY);
        let (state_tx, state_rx) = watch::channel(SessionState::Idle);
        let shared = Arc::new(Shared {
            metrics: StdMutex::new(SessionMetrics::default()),
            muted: AtomicBool::new(false),
            call_id: StdMutex::new(None),
            events_dropped: std::sync::atomic::AtomicU64::new(0),
        });
        RealtimeVoiceSession {
            inner: Arc::new(Inner {
                commands: StdMutex::new(command_tx),
                pushed: StdMutex::new(pushed_tx),
                events: Mutex::new(event_rx),
                state: state_rx,
                shared,
                seed: StdMutex::new(Some(Seed {
                    options,
                    state: state_tx,
                    first: Some((command_rx, event_tx, pushed_rx)),
                })),
                parked_options: StdMutex::new(None),
                driver: StdMutex::new(None),
                lifecycle: Mutex::new(()),
                started: AtomicBool::new(false),
            }),
        }
    }

    /// Connects: token → transport → session configuration. Resolves once the session is
    /// live, or with the error that made it fail (an audio device that cannot start, refused
    /// credentials, a rate limit, an unreachable server). Must be called inside a tokio runtime.
    ///
    /// A session that failed to start, failed later, or was stopped can be started again
    /// with the same options (a fresh connection, a fresh token fetch). Events of the ended
    /// run that were not read yet are kept and come first. A reader that saw
    /// [`Self::next_event`] return `None` (the run ended) simply calls it again after the
    /// restart. Calling `start()` while the session runs is an [`Error::Other`].
    pub async fn start(&self) -> Result<(), Error> {
        let lifecycle = self.inner.lifecycle.lock().await;
        self.reclaim_finished_driver().await?;
        let mut seed = self
            .inner
            .seed
            .lock()
            .map_err(|_| Error::other("session lock poisoned"))?
            .take()
            .ok_or_else(|| Error::other("start() was already called; the session is running"))?;
        if seed.options.transport == Transport::WebRtc
            && !crate::transport::is_available(Transport::WebRtc)
        {
            self.put_seed(seed);
            return Err(Error::Other {
                message:
                    "the WebRTC transport is not available in this build; use Transport::WebSocket"
                        .into(),
            });
        }
        let (commands, events, pushed) = match seed.first.take() {
            Some(first) => first,
            None => self.fresh_channels(seed.options.event_capacity).await,
        };
        // A restart begins from Idle: the previous run's terminal state must not be taken for
        // this run's outcome.
        seed.state.send_replace(SessionState::Idle);
        let channels = DriverChannels {
            commands,
            events,
            pushed,
            state: seed.state,
            shared: Arc::clone(&self.inner.shared),
        };
        let mut driver = Driver::new(&mut seed.options, channels);
        if let Err(e) = driver.start_audio() {
            let remains = driver.into_remains();
            seed.options.audio_device = remains.device;
            self.put_seed(Seed {
                options: seed.options,
                state: remains.state,
                first: None,
            });
            return Err(e);
        }
        self.inner.started.store(true, Ordering::SeqCst);
        // Only the options stay behind while the driver runs; it hands back the rest.
        let options = seed.options;
        let handle = tokio::spawn(driver.run());
        if let Ok(mut slot) = self.inner.driver.lock() {
            *slot = Some(handle);
        }
        if let Ok(mut slot) = self.inner.parked_options.lock() {
            *slot = Some(options);
        }
        drop(lifecycle);
        let mut state = self.inner.state.clone();
        loop {
            let current = state.borrow_and_update().clone();
            match current {
                SessionState::Live => return Ok(()),
                SessionState::Failed { error } => return Err(Error::from(&error)),
                SessionState::Closed { .. } => {
                    return Err(Error::closed("the session closed while starting"));
                }
                _ => {}
            }
            if state.changed().await.is_err() {
                return Err(Error::closed("the session driver ended"));
            }
        }
    }

    fn put_seed(&self, seed: Seed) {
        if let Ok(mut slot) = self.inner.seed.lock() {
            *slot = Some(seed);
        }
    }

    /// New queues for a restart. The event stream stays one stream for the application:
    /// events the previous run left unread move to the new queue first.
    async fn fresh_channels(
        &self,
        event_capacity: usize,
    ) -> (
        mpsc::Receiver<Command>,
        mpsc::Sender<SessionEvent>,
        mpsc::Receiver<AudioFrame>,
    ) {
        let (command_tx, command_rx) = mpsc::channel(COMMAND_CAPACITY);
        let (pushed_tx, pushed_rx) = mpsc::channel(PUSHED_AUDIO_CAPACITY);
        let mut events = self.inner.events.lock().await;
        let mut unread = Vec::new();
        while let Ok(event) = events.try_recv() {
            unread.push(event);
        }
        let (event_tx, event_rx) = mpsc::channel(event_capacity.max(16).max(unread.len()));
        for event in unread {
            let _ = event_tx.try_send(event);
        }
        *events = event_rx;
        drop(events);
        if let Ok(mut slot) = self.inner.commands.lock() {
            *slot = command_tx;
        }
        if let Ok(mut slot) = self.inner.pushed.lock() {
            *slot = pushed_tx;
        }
        (command_rx, event_tx, pushed_rx)
    }

    /// If the driver has ended (failed or stopped), takes back what it handed over so the
    /// session can start again. A driver still running is left alone; one whose session
    /// reached a terminal state is finishing and is waited for.
    async fn reclaim_finished_driver(&self) -> Result<(), Error> {
        let terminal = self.state().is_terminal();
        let finished = self
            .inner
            .driver
            .lock()
            .map_err(|_| Error::other("session lock poisoned"))?
            .take_if(|h| terminal || h.is_finished());
        if let Some(handle) = finished {
            self.reclaim(handle).await;
        }
        Ok(())
    }

    async fn reclaim(&self, handle: tokio::task::JoinHandle<DriverRemains>) {
        let Ok(remains) = handle.await else {
            tracing::error!("the session driver panicked; the session cannot restart");
            return;
        };
        let options = self
            .inner
            .parked_options
            .lock()
            .ok()
            .and_then(|mut o| o.take());
        if let Some(mut options) = options {
            options.audio_device = remains.device;
            self.put_seed(Seed {
                options,
                state: remains.state,
                first: None,
            });
        }
    }

    /// Stops the session and waits until it is closed. Safe to call more than once.
    pub async fn stop(&self) -> Result<(), Error> {
        let _lifecycle = self.inner.lifecycle.lock().await;
        if !self.inner.started.load(Ordering::SeqCst) {
            return Ok(());
        }
        let handle = self.inner.driver.lock().ok().and_then(|mut h| h.take());
        let Some(handle) = handle else {
            return Ok(());
        };
        if !handle.is_finished() {
            let (tx, rx) = oneshot::channel();
            if self.commands().send(Command::Stop(tx)).await.is_ok() {
                let _ = rx.await;
            }
        }
        self.reclaim(handle).await;
        Ok(())
    }

    fn commands(&self) -> mpsc::Sender<Command> {
        match self.inner.commands.lock() {
            Ok(tx) => tx.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    async fn request(
        &self,
        make: impl FnOnce(crate::driver::Reply) -> Command,
    ) -> Result<(), Error> {
        if !self.inner.started.load(Ordering::SeqCst) {
            return Err(Error::closed("the session has not been started"));
        }
        let (tx, rx) = oneshot::channel();
        self.commands()
            .send(make(tx))
            .await
            .map_err(|_| Error::closed("the session is not running"))?;
        rx.await.map_err(|_| Error::closed("the session ended"))?
    }

    /// Stops the assistant: playback stops at once; on WebSocket the answer is truncated at
    /// what was actually played.
    pub async fn interrupt(&self) -> Result<(), Error> {
        self.request(Command::Interrupt).await
    }

    /// Mutes or unmutes the microphone: audio captured (or pushed) after this returns is never
    /// sent while muted. Takes effect even when the command queue is full (the driver reads
    /// the flag before it touches any input audio). Before `start()` it sets the initial state.
    /// Fails only when the session has ended.
    pub fn set_muted(&self, muted: bool) -> Result<(), Error> {
        self.inner.shared.muted.store(muted, Ordering::SeqCst);
        match self.commands().try_send(Command::MuteChanged) {
            // Full: the driver is busy and applies the flag on its next turn anyway.
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                Err(Error::closed("the session is not running"))
            }
        }
    }

    /// Whether the microphone is muted (the value last given to [`Self::set_muted`]).
    pub fn is_muted(&self) -> bool {
        self.inner.shared.muted.load(Ordering::SeqCst)
    }

    /// Sends a user text message and asks for an answer.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        let text = text.into();
        self.request(|r| Command::SendText(text, r)).await
    }

    /// Changes the session configuration (a partial update, merged; re-sent on reconnect).
    pub async fn update_config(&self, update: SessionConfig) -> Result<(), Error> {
        self.request(|r| Command::UpdateConfig(Box::new(update), r))
            .await
    }

    /// Answers a tool call that has no registered handler.
    pub async fn send_tool_output(
        &self,
        call_id: impl Into<String>,
        output: impl Into<String>,
    ) -> Result<(), Error> {
        let (call_id, output) = (call_id.into(), output.into());
        self.request(|r| Command::ToolOutput(call_id, output, r))
            .await
    }

    /// Push-to-talk press (with turn detection off): interrupts the assistant and starts a
    /// user turn.
    pub async fn start_talking(&self) -> Result<(), Error> {
        self.request(Command::StartTalking).await
    }

    /// Push-to-talk release: commits the turn and asks for an answer.
    pub async fn stop_talking(&self) -> Result<(), Error> {
        self.request(Command::StopTalking).await
    }

    /// Pushes microphone audio (any rate and channel count; it is mixed to mono and
    /// resampled to 24 kHz). For sessions without a capture device. Fails, dropping the
    /// frame, when the queue is full or the session is not running.
    pub fn push_audio(&self, frame: AudioFrame) -> Result<(), Error> {
        let pushed = match self.inner.pushed.lock() {
            Ok(tx) => tx.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        pushed.try_send(frame).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => Error::AudioDevice {
                message: "pushed audio queue is full; frame dropped".into(),
            },
            mpsc::error::TrySendError::Closed(_) => Error::closed("the session is not running"),
        })
    }

    /// The next event, or `None` once the session has ended and every event was delivered.
    ///
    /// Events go to one consumer: calls from several tasks share (split) the stream.
    pub async fn next_event(&self) -> Option<SessionEvent> {
        self.inner.events.lock().await.recv().await
    }

    /// The events as a stream (see [`Self::next_event`]).
    pub fn events(&self) -> impl Stream<Item = SessionEvent> + Send + 'static {
        futures_util::stream::unfold(self.clone(), |session| async move {
            session.next_event().await.map(|event| (event, session))
        })
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        self.inner.state.borrow().clone()
    }

    /// A receiver of state changes (the current value first).
    pub fn watch_state(&self) -> watch::Receiver<SessionState> {
        self.inner.state.clone()
    }

    /// The server's id for the current call (WebRTC: from the answer's `Location`;
    /// WebSocket: the `call_id` the endpoint attached to), `None` before the first
    /// connection or when the server named none. A backend joins the same call over a
    /// sideband WebSocket with [`Endpoint::call_id`](crate::Endpoint::call_id) and this id to run
    /// tools server-side. After a reconnect it is the new call's id.
    pub fn call_id(&self) -> Option<String> {
        self.inner
            .shared
            .call_id
            .lock()
            .ok()
            .and_then(|id| id.clone())
    }

    /// How many events were dropped because the application did not read its event queue in
    /// time. The driver never waits for the reader: audio levels and metrics snapshots that
    /// do not fit are dropped, transcript deltas wait in a bounded overflow and then drop
    /// (the final transcript has the full text), and state changes, errors, final
    /// transcripts and tool calls wait until read. After drops, the reader gets one
    /// `SessionEvent::Error { code: Some("events_dropped"), recoverable: true, .. }` notice.
    pub fn events_dropped(&self) -> u64 {
        self.inner.shared.events_dropped.load(Ordering::Relaxed)
    }

    /// A snapshot of the metrics.
    pub fn metrics(&self) -> SessionMetrics {
        self.inner
            .shared
            .metrics
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn the_handle_is_send_sync_and_clone() {
        assert_send_sync::<RealtimeVoiceSession>();
    }

    #[tokio::test]
    async fn commands_before_start_are_typed_errors() {
        let session =
            RealtimeVoiceSession::new(SessionOptions::new(crate::TokenSource::api_key("sk-test")));
        assert_eq!(session.state(), SessionState::Idle);
        assert!(session.stop().await.is_ok());
        assert!(matches!(
            session.send_text("hi").await,
            Err(Error::Closed { .. })
        ));
        assert!(matches!(
            session.interrupt().await,
            Err(Error::Closed { .. })
        ));
    }
}
