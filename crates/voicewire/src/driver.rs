//! The tokio driver: one task that owns the transport, the audio pipeline and the token cache,
//! feeds the core engine and executes its outputs.
//!
//! The loop follows the core's contract: handle one input (a command, a server event, a
//! transport signal, an audio tick, a finished token fetch / connect / tool call, or the
//! engine's timer), then drain the engine's outputs, then wait again. Token fetches and
//! connects run as futures polled by the same `select!`, so `stop()` is honoured even while a
//! connect is hanging.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use voicewire_audio::{AudioDevice, AudioFrame, AudioPipeline, PipelineConfig, StreamResampler};
use voicewire_core::{
    AudioCommand, AudioLevels, CommandError, DriverAction, Engine, EngineConfig, FlushedItem,
    Output, SessionError, SessionEvent, SessionMetrics, SessionState, Timestamp,
};
use voicewire_protocol::{Dialect, ServerEvent, SessionConfig};

use crate::auth::{ClientSecret, TokenCache};
use crate::endpoint::Endpoint;
use crate::error::{Error, TokenError, TransportError};
use crate::options::SessionOptions;
use crate::tools::ToolRegistry;
use crate::transport::{self, ConnectParams, Incoming, Link, Outgoing, Transport};

/// How often the driver moves audio between the device rings, the engine and the transport.
pub(crate) const AUDIO_TICK: Duration = Duration::from_millis(10);
/// Capacity of the application → driver command queue (callers wait when it is full).
pub(crate) const COMMAND_CAPACITY: usize = 64;
/// Capacity of the pushed-audio queue; `push_audio` fails (the frame is dropped) when full.
pub(crate) const PUSHED_AUDIO_CAPACITY: usize = 256;

/// A reply channel for commands that can fail.
pub(crate) type Reply = oneshot::Sender<Result<(), Error>>;

/// What the application asks the driver to do.
pub(crate) enum Command {
    Stop(oneshot::Sender<()>),
    Interrupt(Reply),
    /// The mute flag in [`Shared`] changed: apply it now.
    MuteChanged,
    SendText(String, Reply),
    UpdateConfig(Box<SessionConfig>, Reply),
    ToolOutput(String, String, Reply),
    StartTalking(Reply),
    StopTalking(Reply),
}

/// State shared with the public handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) metrics: StdMutex<SessionMetrics>,
    pub(crate) muted: std::sync::atomic::AtomicBool,
    /// The call id of the current (or last) connection, if the server named one.
    pub(crate) call_id: StdMutex<Option<String>>,
    /// Events dropped because the application did not read its queue in time.
    pub(crate) events_dropped: AtomicU64,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Everything the driver task owns.
pub(crate) struct Driver {
    engine: Engine,
    origin: Instant,
    endpoint: Endpoint,
    transport_kind: Transport,
    connect_timeout: Duration,
    tokens: Arc<tokio::sync::Mutex<TokenCache>>,
    /// Whether the token source hands out API keys or ephemeral secrets.
    credential: transport::CredentialKind,
    /// Whether the token source can hand out a new token (a provider or a backend URL), so a
    /// refused token is worth replacing once before giving up.
    refreshable_token: bool,
    token: Option<ClientSecret>,
    link: Option<Link>,
    closing: Option<Link>,
    pending_token: Option<BoxFuture<Result<ClientSecret, TokenError>>>,
    pending_connect: Option<BoxFuture<Result<Link, TransportError>>>,
    /// A second attempt after the server refused the cached token: a fresh token, then a
    /// connect with it.
    pending_fresh_connect: Option<BoxFuture<Result<(ClientSecret, Link), SessionError>>>,
    /// Whether the current connect attempt already had its fresh-token retry.
    fresh_token_retry_used: bool,
    device: Option<Box<dyn AudioDevice>>,
    pipeline: Option<AudioPipeline>,
    capture_buf: Vec<i16>,
    pushed: mpsc::Receiver<AudioFrame>,
    pushed_resampler: Option<(u32, StreamResampler)>,
    tools: ToolRegistry,
    /// Running tool handlers, each yielding `(call_id, output)`; owned here so `stop()`
    /// aborts them all.
    tool_tasks: JoinSet<(String, String)>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<SessionEvent>,
    /// Events the application's full queue could not take yet (the driver never waits).
    outbox: EventOutbox,
    state_tx: watch::Sender<SessionState>,
    shared: Arc<Shared>,
    last_underruns: u64,
    levels_interval: Option<Duration>,
    last_levels: Instant,
    stop_waiters: Vec<oneshot::Sender<()>>,
}

/// What a finished driver hands back so the session can start again.
pub(crate) struct DriverRemains {
    pub(crate) device: Option<Box<dyn AudioDevice>>,
    pub(crate) state: watch::Sender<SessionState>,
}

/// The driver's ends of the channels to the public handle.
pub(crate) struct DriverChannels {
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) events: mpsc::Sender<SessionEvent>,
    pub(crate) pushed: mpsc::Receiver<AudioFrame>,
    pub(crate) state: watch::Sender<SessionState>,
    pub(crate) shared: Arc<Shared>,
}

impl Driver {
    /// A driver for `options`. Takes only the audio device out of them (it comes back in
    /// [`DriverRemains`] when the driver ends); everything else is copied, so the same
    /// options can start the session again after a failure.
    pub(crate) fn new(options: &mut SessionOptions, channels: DriverChannels) -> Self {
        let device = options.audio_device.take();
        let local_playback = device
            .as_ref()
            .is_some_and(|d| d.playback_format().is_some());
        let engine = Engine::new(EngineConfig {
            local_playback,
            session: options.session.clone(),
            audio_path: options.transport.audio_path(),
            reconnect: options.reconnect.clone(),
            audio_retention: options.audio_retention,
            input_chunk_ms: options.input_chunk_ms,
            jitter_seed: rand::random(),
            ..EngineConfig::default()
        });
        let now = Instant::now();
        Driver {
            engine,
            origin: now,
            endpoint: options.endpoint.clone(),
            transport_kind: options.transport,
            connect_timeout: options.reconnect.connect_timeout,
            credential: options.token_source.credential_kind(),
            refreshable_token: matches!(
                options.token_source,
                crate::auth::TokenSource::Provider(_) | crate::auth::TokenSource::Http(_)
            ),
            tokens: Arc::new(tokio::sync::Mutex::new(TokenCache::new(
                options.token_source.clone(),
            ))),
            token: None,
            link: None,
            closing: None,
            pending_token: None,
            pending_connect: None,
            pending_fresh_connect: None,
            fresh_token_retry_used: false,
            device,
            pipeline: None,
            capture_buf: Vec::with_capacity(4800),
            pushed: channels.pushed,
            pushed_resampler: None,
            tools: options.tools.clone(),
            tool_tasks: JoinSet::new(),
            commands: channels.commands,
            outbox: EventOutbox::new(channels.events.max_capacity()),
            events: channels.events,
            state_tx: channels.state,
            shared: channels.shared,
            last_underruns: 0,
            levels_interval: options.levels_interval,
            last_levels: now,
            stop_waiters: Vec::new(),
        }
    }

    /// What outlives this driver: the audio device and the state channel, for a restart.
    pub(crate) fn into_remains(mut self) -> DriverRemains {
        self.pipeline = None;
        DriverRemains {
            device: self.device.take(),
            state: self.state_tx,
        }
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_elapsed(self.origin.elapsed())
    }

    /// Starts the audio device (if any). Called before the engine starts, so a broken
    /// microphone fails `start()` with an audio error instead of a half-working session.
    pub(crate) fn start_audio(&mut self) -> Result<(), Error> {
        if let Some(device) = self.device.as_mut() {
            let pipeline = AudioPipeline::start(device.as_mut(), PipelineConfig::default())?;
            tracing::info!(device = device.name(), "audio device started");
            self.pipeline = Some(pipeline);
        }
        Ok(())
    }

    /// Runs the session until it reaches a terminal state, then hands back what a restart
    /// needs.
    pub(crate) async fn run(mut self) -> DriverRemains {
        let now = self.now();
        if let Err(e) = self.engine.start(now) {
            tracing::error!(error = %e, "engine refused to start");
        }
        let mut handles_gone = false;
        let mut audio_tick = tokio::time::interval(AUDIO_TICK);
        audio_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            self.sync_mute();
            self.drain_outputs().await;
            self.publish_metrics();
            if self.engine.state().is_terminal() {
                break;
            }
            // A deadline past what the clock can represent (a huge configured timeout or
            // server-imposed backoff) means "not in any foreseeable future": no timer, rather
            // than an overflow panic.
            let deadline = self
                .engine
                .poll_timeout()
                .and_then(|t| self.origin.checked_add(t.elapsed()));
            let has_audio = self.pipeline.is_some();
            let outbox_waiting = !self.outbox.is_empty();
            tokio::select! {
                permit = self.events.clone().reserve_owned(), if outbox_waiting => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.outbox.pop() {
                            drop(permit.send(event));
                        }
                        self.outbox.flush(&self.events);
                    }
                    // Nobody reads any more: nothing queued can ever be delivered.
                    Err(_) => self.outbox.clear(),
                },
                command = self.commands.recv(), if !handles_gone => match command {
                    Some(c) => self.handle_command(c),
                    None => {
                        // Every handle was dropped: stop (and stop polling the closed queue).
                        handles_gone = true;
                        let now = self.now();
                        let _ = self.engine.stop(now);
                    }
                },
                incoming = recv_link(&mut self.link) => self.handle_incoming(incoming),
                incoming = recv_link(&mut self.closing) => {
                    if matches!(incoming, Some(Incoming::Closed(_)) | None) {
                        self.closing = None;
                        if self.engine.state() == &SessionState::Stopping {
                            let now = self.now();
                            self.engine.handle_transport_closed(Ok(()), now);
                        }
                    }
                }
                token = poll_opt(&mut self.pending_token) => {
                    self.pending_token = None;
                    self.handle_token(token);
                }
                link = poll_opt(&mut self.pending_connect) => {
                    self.pending_connect = None;
                    self.handle_connected(link);
                }
                retried = poll_opt(&mut self.pending_fresh_connect) => {
                    self.pending_fresh_connect = None;
                    self.handle_fresh_connect(retried);
                }
                Some(joined) = self.tool_tasks.join_next(), if !self.tool_tasks.is_empty() => {
                    // Handlers catch their own panics (see `spawn_tool`); a join error here
                    // is a task aborted by shutdown, whose call no longer matters.
                    if let Ok((call_id, output)) = joined {
                        let now = self.now();
                        if let Err(e) = self.engine.submit_tool_output(&call_id, output, now) {
                            tracing::warn!(%call_id, error = %e, "tool handler output not accepted");
                        }
                    }
                }
                Some(frame) = self.pushed.recv() => self.handle_pushed_audio(frame),
                _ = audio_tick.tick(), if has_audio => self.audio_tick(),
                _ = sleep_until_opt(deadline) => {
                    let now = self.now();
                    self.engine.handle_timeout(now);
                }
            }
        }
        // Handlers still running answer calls of a session that is over: abort them and wait
        // until they are gone, so none outlives `stop()`.
        self.tool_tasks.shutdown().await;
        self.shutdown_audio();
        self.drain_outputs().await;
        self.publish_metrics();
        self.hand_over_outbox();
        let waiters = std::mem::take(&mut self.stop_waiters);
        let remains = self.into_remains();
        for waiter in waiters {
            let _ = waiter.send(());
        }
        remains
    }

    fn handle_command(&mut self, command: Command) {
        let now = self.now();
        let to_public = |r: Result<(), CommandError>| r.map_err(Error::from);
        match command {
            Command::Stop(done) => {
                self.stop_waiters.push(done);
                let _ = self.engine.stop(now);
            }
            Command::Interrupt(reply) => {
                let _ = reply.send(to_public(self.engine.interrupt(now)));
            }
            // The flag in `Shared` is the truth (the command only wakes the driver up and may
            // have been dropped on a full queue): apply its latest value.
            Command::MuteChanged => self.sync_mute(),
            Command::SendText(text, reply) => {
                let _ = reply.send(to_public(self.engine.send_text(&text, now)));
            }
            Command::UpdateConfig(config, reply) => {
                let _ = reply.send(to_public(self.engine.update_config(*config, now)));
            }
            Command::ToolOutput(call_id, output, reply) => {
                let _ = reply.send(to_public(
                    self.engine.submit_tool_output(&call_id, output, now),
                ));
            }
            Command::StartTalking(reply) => {
                let _ = reply.send(to_public(self.engine.start_talking(now)));
            }
            Command::StopTalking(reply) => {
                let _ = reply.send(to_public(self.engine.stop_talking(now)));
            }
        }
    }

    /// Applies the application's mute flag to the engine. Called before any input audio is
    /// read or fed, so audio captured after `set_muted(true)` returned is never sent, even
    /// when the mute command itself could not be queued.
    fn sync_mute(&mut self) {
        let muted = self.shared.muted.load(Ordering::SeqCst);
        if muted == self.engine.is_muted() {
            return;
        }
        if !muted && let Some(p) = self.pipeline.as_mut() {
            // Audio captured while muted is stale: never send it.
            p.discard_capture();
        }
        let now = self.now();
        self.engine.set_muted(muted, now);
    }

    fn handle_incoming(&mut self, incoming: Option<Incoming>) {
        let now = self.now();
        match incoming {
            Some(Incoming::Event(text)) => {
                self.engine.record_bytes_received(text.len());
                match ServerEvent::decode(&text) {
                    Ok(event) => self.engine.handle_server_event(event, now),
                    Err(e) => self.engine.handle_malformed_event(&e.to_string(), now),
                }
            }
            Some(Incoming::OutputAudio(samples)) => {
                // WebRTC: the remote track's audio, already at the wire rate.
                self.engine.handle_track_audio(samples.len(), now);
                if let Some(p) = self.pipeline.as_mut()
                    && let Err(e) = p.play("remote-track", &samples)
                {
                    tracing::warn!(error = %e, "remote audio not queued");
                }
            }
            Some(Incoming::Closed(result)) => {
                self.link = None;
                let result = result.map_err(|e| {
                    if matches!(e.kind(), voicewire_core::ErrorKind::Auth) {
                        self.invalidate_token();
                    }
                    SessionError::from(&e)
                });
                self.engine.handle_transport_closed(result, now);
            }
            None => {
                self.link = None;
                self.engine.handle_transport_closed(
                    Err(SessionError::new(
                        voicewire_core::ErrorKind::Network,
                        "transport ended",
                    )),
                    now,
                );
            }
        }
    }

    fn invalidate_token(&self) {
        if let Ok(mut cache) = self.tokens.try_lock() {
            cache.invalidate();
        }
    }

    fn handle_token(&mut self, result: Result<ClientSecret, TokenError>) {
        let now = self.now();
        match result {
            Ok(token) => {
                self.token = Some(token);
                self.engine.handle_token(Ok(()), now);
            }
            Err(e) => {
                tracing::warn!(error = %e, "token fetch failed");
                self.engine.handle_token(Err(SessionError::from(&e)), now);
            }
        }
    }

    fn handle_connected(&mut self, result: Result<Link, TransportError>) {
        let now = self.now();
        match result {
            Ok(link) => {
                tracing::info!(transport = self.transport_kind.name(), "transport open");
                if let Ok(mut call_id) = self.shared.call_id.lock() {
                    call_id.clone_from(&link.call_id);
                }
                self.link = Some(link);
                self.engine.handle_transport_opened(now);
            }
            Err(e) => {
                tracing::warn!(error = %e, "connect failed");
                if matches!(e.kind(), voicewire_core::ErrorKind::Auth) {
                    self.invalidate_token();
                    if self.refreshable_token && !self.fresh_token_retry_used {
                        // The server refused the cached token (revoked, or expired earlier
                        // than it claimed): a provider can mint another, so try once more
                        // with a fresh one before the refusal becomes final.
                        self.fresh_token_retry_used = true;
                        self.connect_with_fresh_token();
                        return;
                    }
                }
                self.engine
                    .handle_transport_failed(SessionError::from(&e), now);
            }
        }
    }

    /// Fetches a new token (the cache was just invalidated) and connects with it, as one
    /// future polled by the driver loop (so `stop()` still cancels it).
    fn connect_with_fresh_token(&mut self) {
        tracing::info!("credentials refused; retrying once with a fresh token");
        let tokens = Arc::clone(&self.tokens);
        let template = self.connect_params(ClientSecret::permanent(String::new()));
        let kind = self.transport_kind;
        self.pending_fresh_connect = Some(Box::pin(async move {
            let token = tokens
                .lock()
                .await
                .token()
                .await
                .map_err(|e| SessionError::from(&e))?;
            let params = ConnectParams {
                token: token.clone(),
                ..template
            };
            let link = transport::connect(kind, &params)
                .await
                .map_err(|e| SessionError::from(&e))?;
            Ok((token, link))
        }));
    }

    fn handle_fresh_connect(&mut self, result: Result<(ClientSecret, Link), SessionError>) {
        match result {
            Ok((token, link)) => {
                self.token = Some(token);
                self.handle_connected(Ok(link));
            }
            Err(error) => {
                tracing::warn!(error = %error.message, "connect with a fresh token failed");
                if matches!(error.kind, voicewire_core::ErrorKind::Auth) {
                    self.invalidate_token();
                }
                let now = self.now();
                self.engine.handle_transport_failed(error, now);
            }
        }
    }

    fn connect_params(&self, token: ClientSecret) -> ConnectParams {
        ConnectParams {
            endpoint: self.endpoint.clone(),
            token,
            session: self.engine.session_config().clone(),
            connect_timeout: self.connect_timeout,
            credential: self.credential,
        }
    }

    async fn drain_outputs(&mut self) {
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Send(event) => self.send_event(&event).await,
                Output::Emit(event) => self.emit(event),
                Output::Audio(command) => self.audio_command(command),
                Output::Driver(action) => self.driver_action(action),
            }
        }
    }

    async fn send_event(&mut self, event: &voicewire_protocol::ClientEvent) {
        let text = match event.encode(Dialect::Ga) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "client event could not be encoded");
                return;
            }
        };
        let Some(link) = self.link.as_ref() else {
            tracing::debug!(
                event = event.event_type(Dialect::Ga),
                "no transport; client event dropped"
            );
            return;
        };
        self.engine.record_bytes_sent(text.len());
        if link.outgoing.send(Outgoing::Event(text)).await.is_err() {
            tracing::debug!("transport writer is gone");
        }
    }

    fn emit(&mut self, event: SessionEvent) {
        match &event {
            SessionEvent::StateChanged(state) => {
                tracing::info!(state = state.name(), "session state");
                self.state_tx.send_replace(state.clone());
            }
            SessionEvent::ToolCall(call) => {
                if let Some(handler) = self.tools.get(&call.name) {
                    self.spawn_tool(handler, call.clone());
                }
            }
            _ => {}
        }
        self.deliver(event);
    }

    /// Runs a registered handler on its own task (under the registry's timeout). A handler
    /// that panics still answers the call, with an error object, so the model is told and the
    /// call is never left pending.
    fn spawn_tool(
        &mut self,
        handler: std::sync::Arc<dyn crate::tools::ToolHandler>,
        call: voicewire_core::ToolCall,
    ) {
        let timeout = self.tools.timeout;
        let call_id = call.call_id.clone();
        let name = call.name.clone();
        self.tool_tasks.spawn(async move {
            let run = std::panic::AssertUnwindSafe(ToolRegistry::run(handler, call, timeout));
            let output = match run.catch_unwind().await {
                Ok(output) => output,
                Err(_) => {
                    tracing::error!(tool = %name, %call_id, "tool handler panicked");
                    panicked_tool_output(&name)
                }
            };
            (call_id, output)
        });
    }

    /// Queues `event` for the application without ever waiting for it to read (see
    /// [`EventOutbox`] for what is dropped when it does not).
    fn deliver(&mut self, event: SessionEvent) {
        self.outbox.push(event, &self.events, &self.shared);
    }

    /// The session ended with events still waiting for a slow reader: a small task keeps
    /// delivering them, so `stop()` returns at once and the reader still gets everything
    /// (it ends when the reader catches up or drops the session).
    fn hand_over_outbox(&mut self) {
        self.outbox.flush(&self.events);
        let mut rest = self.outbox.take_all();
        if rest.is_empty() {
            return;
        }
        if let Some(notice) = self.outbox.drop_notice() {
            rest.push_back(notice);
        }
        let events = self.events.clone();
        tokio::spawn(async move {
            for event in rest {
                if events.send(event).await.is_err() {
                    break;
                }
            }
        });
    }

    fn audio_command(&mut self, command: AudioCommand) {
        let now = self.now();
        match command {
            AudioCommand::Play { item_id, samples } => {
                if let Some(p) = self.pipeline.as_mut()
                    && p.has_playback()
                    && let Err(e) = p.play(&item_id, &samples)
                {
                    tracing::warn!(error = %e, "assistant audio not fully queued");
                }
            }
            AudioCommand::FinishItem { item_id } => {
                if let Some(p) = self.pipeline.as_mut()
                    && let Err(e) = p.finish_item(&item_id)
                {
                    tracing::debug!(error = %e, "finish_item");
                }
            }
            AudioCommand::Flush => {
                let cut: Vec<FlushedItem> = match self.pipeline.as_mut() {
                    Some(p) if p.has_playback() => p
                        .flush()
                        .items
                        .into_iter()
                        .map(|i| FlushedItem {
                            item_id: i.item_id,
                            played_ms: i.played_ms,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                self.engine.handle_playout_flushed(&cut, now);
            }
        }
    }

    fn driver_action(&mut self, action: DriverAction) {
        match action {
            DriverAction::FetchToken => {
                let tokens = Arc::clone(&self.tokens);
                // A token already used means this is a reconnect or recycle: mint afresh.
                let reconnecting = self.token.is_some();
                self.pending_token = Some(Box::pin(async move {
                    let mut tokens = tokens.lock().await;
                    if reconnecting {
                        tokens.token_for_next_connection().await
                    } else {
                        tokens.token().await
                    }
                }));
            }
            DriverAction::Connect => {
                let Some(token) = self.token.clone() else {
                    let now = self.now();
                    self.engine.handle_transport_failed(
                        SessionError::new(
                            voicewire_core::ErrorKind::Auth,
                            "no token to connect with",
                        ),
                        now,
                    );
                    return;
                };
                self.fresh_token_retry_used = false;
                let params = self.connect_params(token);
                let kind = self.transport_kind;
                self.pending_connect =
                    Some(Box::pin(
                        async move { transport::connect(kind, &params).await },
                    ));
            }
            DriverAction::Disconnect => {
                self.pending_token = None;
                self.pending_connect = None;
                self.pending_fresh_connect = None;
                if let Some(link) = self.link.take() {
                    let _ = link.outgoing.try_send(Outgoing::Close);
                    if self.engine.state() == &SessionState::Stopping {
                        self.closing = Some(link);
                    }
                } else if self.engine.state() == &SessionState::Stopping && self.closing.is_none() {
                    let now = self.now();
                    self.engine.handle_transport_closed(Ok(()), now);
                }
            }
        }
    }

    /// Moves captured audio to the engine (or the media track), pumps the playout buffer,
    /// and reports playout progress, underruns and levels.
    fn audio_tick(&mut self) {
        self.sync_mute();
        let now = self.now();
        let Some(pipeline) = self.pipeline.as_mut() else {
            return;
        };
        self.capture_buf.clear();
        if let Err(e) = pipeline.read_capture(&mut self.capture_buf) {
            tracing::warn!(error = %e, "capture read failed");
        }
        pipeline.pump();
        let progress: Vec<(String, u64)> = self
            .engine
            .playing_items()
            .into_iter()
            .filter_map(|id| pipeline.item_playout(&id).map(|p| (id, p.played_ms)))
            .collect();
        let underruns = pipeline.underruns();
        let levels = pipeline.levels();
        if !self.capture_buf.is_empty() {
            let samples = std::mem::take(&mut self.capture_buf);
            self.feed_input(&samples, now);
            self.capture_buf = samples;
        }
        for (id, played) in progress {
            self.engine.handle_playout_progress(&id, played, now);
        }
        if underruns > self.last_underruns {
            self.engine
                .record_underruns(underruns - self.last_underruns);
            self.last_underruns = underruns;
        }
        if let Some(interval) = self.levels_interval
            && self.last_levels.elapsed() >= interval
        {
            self.last_levels = Instant::now();
            let event = SessionEvent::AudioLevels(AudioLevels {
                input_rms: levels.input.rms,
                input_peak: levels.input.peak,
                output_rms: levels.output.rms,
                output_peak: levels.output.peak,
            });
            self.deliver(event);
        }
    }

    fn feed_input(&mut self, samples: &[i16], now: Timestamp) {
        // The engine gathers WebSocket audio into events itself; for a media track it only
        // says whether these samples may go out (live, not muted, talking).
        if self.engine.handle_input_audio(samples, now)
            && let Some(link) = self.link.as_ref()
            && link
                .outgoing
                .try_send(Outgoing::InputAudio(samples.to_vec()))
                .is_err()
        {
            tracing::debug!("media track queue full; input audio dropped");
        }
    }

    /// Audio pushed by the application: mixed to mono and resampled to 24 kHz first.
    fn handle_pushed_audio(&mut self, frame: AudioFrame) {
        self.sync_mute();
        let now = self.now();
        let format = frame.format();
        let mut mono = vec![0f32; frame.frames()];
        voicewire_audio::convert::mix_to_mono(frame.pcm16(), format.channels, &mut mono);
        let rate = format.sample_rate;
        let samples: Vec<i16> = if rate == voicewire_core::WIRE_SAMPLES_PER_MS as u32 * 1000 {
            mono.iter()
                .map(|&s| voicewire_audio::convert::f32_to_i16(s))
                .collect()
        } else {
            if self
                .pushed_resampler
                .as_ref()
                .is_none_or(|(r, _)| *r != rate)
            {
                match StreamResampler::new(rate, 24_000) {
                    Ok(r) => self.pushed_resampler = Some((rate, r)),
                    Err(e) => {
                        tracing::warn!(error = %e, "pushed audio has an unusable rate");
                        return;
                    }
                }
            }
            let mut out = Vec::with_capacity(mono.len() * 24_000 / rate as usize + 1);
            if let Some((_, r)) = self.pushed_resampler.as_mut()
                && let Err(e) = r.process(&mono, &mut out)
            {
                tracing::warn!(error = %e, "resampling pushed audio failed");
                return;
            }
            out.iter()
                .map(|&s| voicewire_audio::convert::f32_to_i16(s))
                .collect()
        };
        self.feed_input(&samples, now);
    }

    fn shutdown_audio(&mut self) {
        if let Some(device) = self.device.as_mut()
            && let Err(e) = device.stop()
        {
            tracing::warn!(error = %e, "audio device stop failed");
        }
        self.pipeline = None;
    }

    fn publish_metrics(&self) {
        if let Ok(mut m) = self.shared.metrics.lock() {
            m.clone_from(self.engine.metrics());
        }
    }
}

/// What the model is told when a tool handler panicked.
fn panicked_tool_output(name: &str) -> String {
    serde_json::json!({ "error": format!("the tool `{name}` failed (its handler panicked)") })
        .to_string()
}

async fn recv_link(link: &mut Option<Link>) -> Option<Incoming> {
    match link.as_mut() {
        Some(l) => l.incoming.recv().await,
        None => std::future::pending().await,
    }
}

async fn poll_opt<T>(fut: &mut Option<BoxFuture<T>>) -> T {
    match fut.as_mut() {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Events waiting for room in the application's bounded queue.
///
/// The driver never waits for the application: a reader that is slow (or never reads) must not
/// stall audio, reconnects or `stop()`. Overflow policy, in order:
/// - audio levels and metrics snapshots are dropped when they cannot go out at once (newer
///   ones follow);
/// - transcript deltas wait here up to [`EventOutbox::delta_limit`] events, then are dropped
///   (the final transcript carries the full text);
/// - everything else (state changes, errors, final transcripts, tool calls, speech and audio
///   markers, raw events) always waits; past [`OUTBOX_HARD_LIMIT`] events the oldest delta is
///   evicted first, then the oldest raw event, and only a reader that stays away for
///   thousands of turns loses the oldest of the rest.
///
/// Every drop is counted ([`Shared::events_dropped`]); once the reader catches up it receives
/// one `Error { code: "events_dropped", recoverable: true }` notice saying how many.
#[derive(Debug)]
struct EventOutbox {
    queue: VecDeque<SessionEvent>,
    /// How many of `queue` are transcript deltas (kept, not counted per push: a slow
    /// reader must not make every delta cost a walk over thousands of waiting events).
    waiting_deltas: usize,
    delta_limit: usize,
    /// Drops not yet announced to the reader.
    unreported: u64,
}

/// Events kept for a reader that does not keep up, past which the oldest go.
const OUTBOX_HARD_LIMIT: usize = 16_384;

/// The code of the notice sent when events were dropped.
pub(crate) const EVENTS_DROPPED_CODE: &str = "events_dropped";

impl EventOutbox {
    fn new(capacity: usize) -> Self {
        EventOutbox {
            queue: VecDeque::new(),
            waiting_deltas: 0,
            delta_limit: capacity.max(16),
            unreported: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    fn pop(&mut self) -> Option<SessionEvent> {
        let event = self.queue.pop_front()?;
        self.forget(&event);
        Some(event)
    }

    fn clear(&mut self) {
        self.queue.clear();
        self.waiting_deltas = 0;
    }

    fn take_all(&mut self) -> VecDeque<SessionEvent> {
        self.waiting_deltas = 0;
        std::mem::take(&mut self.queue)
    }

    /// Bookkeeping for an event that left the queue.
    fn forget(&mut self, event: &SessionEvent) {
        if Self::is_delta(event) {
            self.waiting_deltas = self.waiting_deltas.saturating_sub(1);
        }
    }

    fn is_delta(event: &SessionEvent) -> bool {
        matches!(
            event,
            SessionEvent::UserTranscriptDelta { .. }
                | SessionEvent::AssistantTranscriptDelta { .. }
        )
    }

    fn dropped(&mut self, shared: &Shared, count: u64) {
        self.unreported += count;
        shared.events_dropped.fetch_add(count, Ordering::Relaxed);
    }

    /// Queues `event` behind anything already waiting, then sends what fits.
    fn push(&mut self, event: SessionEvent, tx: &mpsc::Sender<SessionEvent>, shared: &Shared) {
        if tx.is_closed() {
            return;
        }
        if self.queue.is_empty() {
            match tx.try_send(event) {
                Ok(()) => return self.announce_drops(tx),
                Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(event)) => self.enqueue(event, shared),
            }
        } else {
            self.enqueue(event, shared);
        }
        self.flush(tx);
    }

    fn enqueue(&mut self, event: SessionEvent, shared: &Shared) {
        if event.is_droppable() {
            return self.dropped(shared, 1);
        }
        if Self::is_delta(&event) {
            if self.waiting_deltas >= self.delta_limit {
                return self.dropped(shared, 1);
            }
            self.waiting_deltas += 1;
        }
        self.queue.push_back(event);
        if self.queue.len() > OUTBOX_HARD_LIMIT {
            let victim = self
                .queue
                .iter()
                .position(Self::is_delta)
                .or_else(|| {
                    self.queue
                        .iter()
                        .position(|e| matches!(e, SessionEvent::Raw(_)))
                })
                .unwrap_or(0);
            if let Some(evicted) = self.queue.remove(victim) {
                self.forget(&evicted);
            }
            self.dropped(shared, 1);
        }
    }

    /// Sends waiting events while the application's queue has room.
    fn flush(&mut self, tx: &mpsc::Sender<SessionEvent>) {
        while let Some(event) = self.queue.pop_front() {
            let delta = Self::is_delta(&event);
            match tx.try_send(event) {
                Ok(()) => {
                    if delta {
                        self.waiting_deltas = self.waiting_deltas.saturating_sub(1);
                    }
                }
                Err(mpsc::error::TrySendError::Full(event)) => {
                    self.queue.push_front(event);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.clear();
                    return;
                }
            }
        }
        self.announce_drops(tx);
    }

    /// Once the reader has caught up, tells it how many events it missed.
    fn announce_drops(&mut self, tx: &mpsc::Sender<SessionEvent>) {
        if !self.queue.is_empty() {
            return;
        }
        // When the queue has no room the drops stay unannounced until the next flush.
        if let Some(notice) = self.drop_notice()
            && tx.try_send(notice).is_ok()
        {
            self.unreported = 0;
        }
    }

    /// The notice for drops not yet announced.
    fn drop_notice(&self) -> Option<SessionEvent> {
        if self.unreported == 0 {
            return None;
        }
        let notice = SessionEvent::Error {
            code: Some(EVENTS_DROPPED_CODE.to_owned()),
            message: format!(
                "{} events (audio levels, metrics snapshots or transcript deltas) were dropped \
                 because the application did not read its event queue in time",
                self.unreported
            ),
            recoverable: true,
        };
        Some(notice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        Shared {
            metrics: StdMutex::new(SessionMetrics::default()),
            muted: std::sync::atomic::AtomicBool::new(false),
            call_id: StdMutex::new(None),
            events_dropped: AtomicU64::new(0),
        }
    }

    fn delta(n: usize) -> SessionEvent {
        SessionEvent::AssistantTranscriptDelta {
            item_id: "i".into(),
            response_id: None,
            delta: n.to_string(),
        }
    }

    fn final_text(n: usize) -> SessionEvent {
        SessionEvent::AssistantTranscriptFinal {
            item_id: n.to_string(),
            response_id: None,
            text: "t".into(),
            complete: true,
        }
    }

    fn levels() -> SessionEvent {
        SessionEvent::AudioLevels(AudioLevels {
            input_rms: 0.0,
            input_peak: 0.0,
            output_rms: 0.0,
            output_peak: 0.0,
        })
    }

    #[test]
    fn a_full_queue_never_blocks_and_keeps_what_must_not_be_lost() {
        let shared = shared();
        let (tx, mut rx) = mpsc::channel(16);
        let mut outbox = EventOutbox::new(16);
        // Far more than the queue holds, while nobody reads.
        for n in 0..1_000 {
            outbox.push(delta(n), &tx, &shared);
            outbox.push(levels(), &tx, &shared);
            if n % 10 == 0 {
                outbox.push(final_text(n), &tx, &shared);
            }
        }
        let dropped = shared.events_dropped.load(Ordering::Relaxed);
        assert!(dropped > 0);
        // The reader catches up: every final transcript arrives, in order, then the notice.
        let mut finals = Vec::new();
        let mut notice = None;
        let mut deltas = 0;
        loop {
            while let Ok(event) = rx.try_recv() {
                match event {
                    SessionEvent::AssistantTranscriptFinal { item_id, .. } => finals.push(item_id),
                    SessionEvent::AssistantTranscriptDelta { .. } => deltas += 1,
                    SessionEvent::Error { code, message, .. } => {
                        assert_eq!(code.as_deref(), Some(EVENTS_DROPPED_CODE));
                        notice = Some(message);
                    }
                    _ => {}
                }
            }
            if outbox.is_empty() && notice.is_some() {
                break;
            }
            outbox.flush(&tx);
        }
        let expected: Vec<String> = (0..1_000)
            .step_by(10)
            .map(|n: usize| n.to_string())
            .collect();
        assert_eq!(finals, expected);
        assert!((16..1_000).contains(&deltas), "{deltas}");
        let notice = notice.unwrap_or_default();
        assert!(notice.starts_with(&dropped.to_string()), "{notice}");
    }

    #[test]
    fn the_hard_limit_evicts_deltas_before_anything_else() {
        let shared = shared();
        let (tx, _rx) = mpsc::channel(16);
        let mut outbox = EventOutbox::new(OUTBOX_HARD_LIMIT);
        for n in 0..OUTBOX_HARD_LIMIT + 100 {
            if n % 2 == 0 {
                outbox.push(delta(n), &tx, &shared);
            } else {
                outbox.push(final_text(n), &tx, &shared);
            }
        }
        assert!(outbox.queue.len() <= OUTBOX_HARD_LIMIT);
        let finals = outbox
            .queue
            .iter()
            .filter(|e| matches!(e, SessionEvent::AssistantTranscriptFinal { .. }))
            .count();
        // Every final transcript that did not fit the channel is still waiting.
        assert_eq!(finals + 8, (OUTBOX_HARD_LIMIT + 100) / 2);
        let counted = outbox
            .queue
            .iter()
            .filter(|e| EventOutbox::is_delta(e))
            .count();
        assert_eq!(outbox.waiting_deltas, counted);
    }

    #[test]
    fn the_waiting_delta_count_follows_the_queue_through_drains() {
        let shared = shared();
        let (tx, mut rx) = mpsc::channel(4);
        let mut outbox = EventOutbox::new(16);
        for round in 0..5 {
            // Fill past the channel and the delta allowance, with finals in between.
            for n in 0..40 {
                outbox.push(delta(n), &tx, &shared);
                if n % 7 == 0 {
                    outbox.push(final_text(n), &tx, &shared);
                }
                let counted = outbox
                    .queue
                    .iter()
                    .filter(|e| EventOutbox::is_delta(e))
                    .count();
                assert_eq!(outbox.waiting_deltas, counted, "round {round}, push {n}");
            }
            assert_eq!(outbox.waiting_deltas, 16, "the allowance is full");
            // The reader drains everything; the allowance is free again.
            while !outbox.is_empty() {
                while rx.try_recv().is_ok() {}
                outbox.flush(&tx);
            }
            while rx.try_recv().is_ok() {}
            assert_eq!(outbox.waiting_deltas, 0, "round {round}");
        }
        let _ = outbox.pop();
        outbox.push(delta(0), &tx, &shared);
        outbox.clear();
        assert_eq!(outbox.waiting_deltas, 0);
    }
}
