//! The engine: one session's logic, fed by the driver, drained by the driver.
//!
//! Contract (the "run loop"): the driver calls one `handle_*` method or command with the
//! current [`Timestamp`], then drains [`Engine::poll_output`] until it returns `None`, then
//! sleeps until [`Engine::poll_timeout`] (calling [`Engine::handle_timeout`] when it passes) or
//! until the next input arrives. The engine never blocks, never performs I/O and never reads
//! a clock, so the same inputs always give the same outputs.

use std::collections::VecDeque;
use std::time::Duration;

use voicewire_protocol::item::FunctionCallItem;
use voicewire_protocol::response::StatusReason;
use voicewire_protocol::{
    ClientEvent, ContentPart, Item, ItemStatus as WireItemStatus, ResponseStatus, Role as WireRole,
    ServerEvent, SessionConfig, decode_pcm16_base64, encode_pcm16_base64,
};

use crate::conversation::{
    AudioRetention, Conversation, ConversationItem, DEFAULT_MAX_CONVERSATION_ITEMS, ItemKind,
    ItemStatus, ReplayItem, Role,
};
use crate::error::{CommandError, ErrorKind, SessionError};
use crate::event::{AudioCommand, DriverAction, InterruptCause, Output, SessionEvent};
use crate::metrics::{SessionMetrics, Usage};
use crate::reconnect::{JitterRng, ReconnectPolicy};
use crate::state::{SessionState, StateInput, transition};
use crate::time::Timestamp;
use crate::tools::{ToolCallTracker, ToolStep};

/// Samples per millisecond at the wire rate (24 kHz).
pub const WIRE_SAMPLES_PER_MS: u64 = 24;

/// Samples in `ms` milliseconds at the wire rate, as a length (saturating).
fn ms_to_sample_count(ms: u64) -> usize {
    usize::try_from(ms.saturating_mul(WIRE_SAMPLES_PER_MS)).unwrap_or(usize::MAX)
}

/// How audio travels on the transport, which decides how interruption works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AudioPath {
    /// Audio inside JSON events (WebSocket): the client plays it and truncates on interrupt.
    #[default]
    InEvents,
    /// Audio on a media track (WebRTC): the server plays it and truncates; the client sends
    /// `response.cancel` + `output_audio_buffer.clear` to interrupt by hand.
    ///
    /// Playback events follow the server's `output_audio_buffer.*` events, with one exact
    /// rule: [`SessionEvent::AssistantAudioStarted`] is emitted on
    /// `output_audio_buffer.started` (naming the response's latest assistant message item, or
    /// the response id when no item was announced yet), and for every such item **exactly
    /// one** [`SessionEvent::AssistantAudioStopped`] (`played_ms: None`) follows, at the first
    /// of:
    /// - `output_audio_buffer.stopped` or `output_audio_buffer.cleared`;
    /// - `output_audio_buffer.started` for another response (the buffer plays one answer at a
    ///   time, so the previous one is over even if the server never said so);
    /// - an interruption ([`Engine::interrupt`], push-to-talk, or barge-in);
    /// - a lost connection, a recycle or a reconnect (the new server session will never
    ///   report on the old playback);
    /// - [`Engine::stop`];
    /// - [`EngineConfig::webrtc_stop_fallback`] after `response.done`, when configured.
    ///
    /// A text-only response sends no `output_audio_buffer.started` and gets neither event;
    /// `started` is only honoured while the session is [`crate::SessionState::Live`];
    /// `started` for a response that was already interrupted is ignored (its audio is being
    /// cleared), as are duplicate `started` events and `stopped`/`cleared` when nothing plays.
    MediaTrack,
}

/// Settings of one engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The session configuration sent on every connection (updates are merged into it).
    pub session: SessionConfig,
    /// How audio travels.
    pub audio_path: AudioPath,
    /// Retry and recycle policy.
    pub reconnect: ReconnectPolicy,
    /// Keep assistant audio per item (off by default).
    pub audio_retention: Option<AudioRetention>,
    /// At most this many history items are replayed after a reconnect.
    pub replay_max_items: usize,
    /// At most this many conversation items are kept in memory (at least 1); beyond it the
    /// oldest finished items are evicted. Replay only needs the most recent
    /// `replay_max_items`, so this bounds memory in sessions of any length.
    pub max_conversation_items: usize,
    /// Input audio is sent in chunks of this many milliseconds (20–100).
    pub input_chunk_ms: u32,
    /// Client events queued while reconnecting (text, tool outputs) beyond this are refused.
    pub offline_queue_cap: usize,
    /// Seed of the back-off jitter.
    pub jitter_seed: u64,
    /// How long `stop` waits for the transport to close before declaring the session closed.
    pub stop_timeout: Duration,
    /// WebRTC only: when the server plays an answer whose `response.done` has arrived but no
    /// `output_audio_buffer.stopped`/`.cleared` follows within this time, the engine ends the
    /// playback itself (emits `AssistantAudioStopped`), so nobody waits forever. `None` (the
    /// default) waits for the server or the other events listed on [`AudioPath::MediaTrack`];
    /// set it longer than the longest spoken answer, because the server keeps playing in
    /// real time after it has finished generating.
    pub webrtc_stop_fallback: Option<Duration>,
    /// Whether assistant audio is played locally (a playout buffer exists). Without it the
    /// engine emits no playout commands, an item's audio counts as stopped once it has all
    /// arrived, and interruptions have nothing to truncate.
    pub local_playback: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            session: SessionConfig::default(),
            audio_path: AudioPath::InEvents,
            reconnect: ReconnectPolicy::default(),
            audio_retention: None,
            replay_max_items: 50,
            max_conversation_items: DEFAULT_MAX_CONVERSATION_ITEMS,
            input_chunk_ms: 40,
            offline_queue_cap: 64,
            jitter_seed: 0x5eed,
            stop_timeout: Duration::from_secs(3),
            webrtc_stop_fallback: None,
            local_playback: true,
        }
    }
}

/// What the playout buffer reported when it was flushed: one entry per item it cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushedItem {
    /// The assistant item.
    pub item_id: String,
    /// Milliseconds of it handed to the device before the flush.
    pub played_ms: u64,
}

/// Assistant audio that may still be playing, in play order.
#[derive(Debug, Clone)]
struct PlayingItem {
    item_id: String,
    response_id: Option<String>,
    content_index: u32,
    received_samples: u64,
    generation_done: bool,
    /// False once the connection that produced the item is gone: the new server session
    /// does not know the item, so a truncate would only earn an error.
    truncatable: bool,
}

impl PlayingItem {
    fn received_ms(&self) -> u64 {
        self.received_samples / WIRE_SAMPLES_PER_MS
    }
}

/// WebRTC: an answer the server is playing (between `output_audio_buffer.started` and the
/// event that ends it, see [`AudioPath::MediaTrack`]).
#[derive(Debug, Clone)]
struct WebrtcPlayback {
    item_id: String,
    response_id: String,
    /// When [`EngineConfig::webrtc_stop_fallback`] ends it, if the server stays silent.
    fallback_at: Option<Timestamp>,
}

/// An assistant item whose text has not been finalised.
#[derive(Debug, Clone)]
struct OpenTranscript {
    item_id: String,
    response_id: Option<String>,
}

/// Assistant transcripts followed at once; beyond this the oldest is finalised as incomplete.
const OPEN_TRANSCRIPTS_MAX: usize = 32;

/// Remembered ids of cancelled responses whose late audio must be discarded.
const CUT_RESPONSES_REMEMBERED: usize = 16;

/// The sans-I/O session engine.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    state: SessionState,
    outputs: VecDeque<Output>,
    conversation: Conversation,
    tools: ToolCallTracker,
    metrics: SessionMetrics,
    rng: JitterRng,

    // connection bookkeeping
    ever_live: bool,
    attempt: u32,
    attempt_started_at: Option<Timestamp>,
    connect_deadline: Option<Timestamp>,
    retry_at: Option<Timestamp>,
    retry_floor: Option<Duration>,
    live_since: Option<Timestamp>,
    recycle_pending_since: Option<Timestamp>,
    stop_deadline: Option<Timestamp>,
    replay_expected: VecDeque<String>,
    offline_queue: VecDeque<ClientEvent>,

    // conversation flow
    active_response: Option<String>,
    response_create_pending: bool,
    muted: bool,
    talking: bool,
    input_chunk: Vec<i16>,
    turn_ended_at: Option<Timestamp>,
    playing: Vec<PlayingItem>,
    cut_responses: VecDeque<String>,
    flush_cause: Option<InterruptCause>,
    open_transcripts: Vec<OpenTranscript>,
    /// WebRTC: the answer the server is playing; `AssistantAudioStopped` is owed for it.
    webrtc_playing: Option<WebrtcPlayback>,
    input_samples_on_track: u64,
    output_samples_on_track: u64,
    /// The latest assistant message item per response (WebRTC names playback by response).
    assistant_item: Option<(String, String)>,
}

impl Engine {
    /// A new engine in [`SessionState::Idle`].
    pub fn new(config: EngineConfig) -> Self {
        let rng = JitterRng::new(config.jitter_seed);
        let conversation =
            Conversation::with_max_items(config.audio_retention, config.max_conversation_items);
        Engine {
            config,
            state: SessionState::Idle,
            outputs: VecDeque::new(),
            conversation,
            tools: ToolCallTracker::default(),
            metrics: SessionMetrics::default(),
            rng,
            ever_live: false,
            attempt: 0,
            attempt_started_at: None,
            connect_deadline: None,
            retry_at: None,
            retry_floor: None,
            live_since: None,
            recycle_pending_since: None,
            stop_deadline: None,
            replay_expected: VecDeque::new(),
            offline_queue: VecDeque::new(),
            active_response: None,
            response_create_pending: false,
            muted: false,
            talking: false,
            input_chunk: Vec::new(),
            turn_ended_at: None,
            playing: Vec::new(),
            cut_responses: VecDeque::new(),
            flush_cause: None,
            open_transcripts: Vec::new(),
            webrtc_playing: None,
            input_samples_on_track: 0,
            output_samples_on_track: 0,
            assistant_item: None,
        }
    }

    // ----- observation -------------------------------------------------------------------

    /// The current state.
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// Metrics so far.
    pub fn metrics(&self) -> &SessionMetrics {
        &self.metrics
    }

    /// The conversation so far.
    pub fn conversation(&self) -> &Conversation {
        &self.conversation
    }

    /// The effective session configuration (initial config with every update merged in).
    pub fn session_config(&self) -> &SessionConfig {
        &self.config.session
    }

    /// Whether microphone input is muted.
    pub fn is_muted(&self) -> bool {
        self.muted
    }

    /// Whether turn detection is off (push-to-talk: the client commits turns).
    pub fn is_manual_turns(&self) -> bool {
        self.config.session.turn_detection().is_null()
    }

    /// Whether input audio should be sent now (live, not muted, and in push-to-talk mode
    /// only while talking). WebRTC drivers use this to gate the track.
    pub fn accepts_input_audio(&self) -> bool {
        self.state == SessionState::Live && !self.muted && (!self.is_manual_turns() || self.talking)
    }

    /// The id of the response being generated, if any.
    pub fn active_response(&self) -> Option<&str> {
        self.active_response.as_deref()
    }

    /// Items whose assistant audio may still be playing (oldest first).
    pub fn playing_items(&self) -> Vec<String> {
        self.playing.iter().map(|p| p.item_id.clone()).collect()
    }

    /// Calls that were handed out and not answered yet.
    pub fn pending_tool_calls(&self) -> Vec<String> {
        self.tools.pending_call_ids()
    }

    // ----- the run loop ------------------------------------------------------------------

    /// The next thing for the driver to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the engine wants [`Engine::handle_timeout`] to be called.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        [
            self.connect_deadline,
            self.retry_at,
            self.recycle_deadline(),
            self.stop_deadline,
            self.webrtc_playing.as_ref().and_then(|p| p.fallback_at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn recycle_deadline(&self) -> Option<Timestamp> {
        if self.state != SessionState::Live {
            return None;
        }
        match self.recycle_pending_since {
            Some(since) => Some(since.saturating_add(self.config.reconnect.recycle_grace)),
            None => Some(
                self.live_since?
                    .saturating_add(self.config.reconnect.recycle_after?),
            ),
        }
    }

    /// Time passed; fire whatever is due.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self
            .webrtc_playing
            .as_ref()
            .and_then(|p| p.fallback_at)
            .is_some_and(|t| now >= t)
        {
            tracing::warn!("no output_audio_buffer.stopped after response.done: playback ended");
            self.end_webrtc_playback();
        }
        if self.stop_deadline.is_some_and(|t| now >= t) {
            self.stop_deadline = None;
            if self.state == SessionState::Stopping {
                self.apply(StateInput::TransportClosed, now);
            }
        }
        if self.connect_deadline.is_some_and(|t| now >= t) {
            self.connect_deadline = None;
            if self.state.is_connecting() {
                let error = SessionError::new(
                    ErrorKind::Network,
                    "connecting took longer than the connect timeout",
                );
                self.fail(error, now);
            }
        }
        if self.retry_at.is_some_and(|t| now >= t) {
            self.retry_at = None;
            if matches!(self.state, SessionState::Reconnecting { .. }) {
                self.apply(StateInput::RetryTimerFired, now);
                self.begin_attempt(now);
            }
        }
        if self.recycle_deadline().is_some_and(|t| now >= t) {
            if self.recycle_pending_since.is_none() && self.active_response.is_some() {
                // Do not cut an answer in the middle: wait for it, up to the grace period.
                self.recycle_pending_since = Some(now);
            } else {
                self.recycle(now);
            }
        }
    }

    // ----- connection lifecycle ------------------------------------------------------------

    /// Starts the session: Idle → Minting.
    pub fn start(&mut self, now: Timestamp) -> Result<(), CommandError> {
        let next = transition(&self.state, &StateInput::Start)?;
        self.set_state(next);
        self.begin_attempt(now);
        Ok(())
    }

    fn begin_attempt(&mut self, now: Timestamp) {
        self.attempt_started_at = Some(now);
        self.connect_deadline = Some(now.saturating_add(self.config.reconnect.connect_timeout));
        self.outputs
            .push_back(Output::Driver(DriverAction::FetchToken));
    }

    /// The token fetch finished.
    pub fn handle_token(&mut self, result: Result<(), SessionError>, now: Timestamp) {
        if self.state != SessionState::Minting {
            return;
        }
        match result {
            Ok(()) => {
                self.apply(StateInput::TokenReady, now);
                self.outputs
                    .push_back(Output::Driver(DriverAction::Connect));
            }
            Err(error) => self.fail(error, now),
        }
    }

    /// The transport opened: send the configuration (and, after a reconnect, the history).
    pub fn handle_transport_opened(&mut self, now: Timestamp) {
        if self.state != SessionState::Connecting {
            return;
        }
        self.apply(StateInput::TransportOpened, now);
        self.outputs
            .push_back(Output::Send(Box::new(ClientEvent::session_update(
                self.config.session.clone(),
            ))));
        if self.ever_live {
            self.replay_history();
        }
    }

    /// Opening the transport failed.
    pub fn handle_transport_failed(&mut self, error: SessionError, now: Timestamp) {
        if self.state.is_connecting() {
            self.fail(error, now);
        }
    }

    /// The transport closed (after `stop`, or by itself).
    pub fn handle_transport_closed(&mut self, result: Result<(), SessionError>, now: Timestamp) {
        match &self.state {
            SessionState::Stopping => {
                self.stop_deadline = None;
                self.apply(StateInput::TransportClosed, now);
            }
            SessionState::Live | SessionState::Configuring | SessionState::Connecting => {
                let error = match result {
                    Err(e) => e,
                    Ok(()) => {
                        SessionError::new(ErrorKind::Network, "the server closed the connection")
                    }
                };
                self.connection_lost(now);
                self.fail(error, now);
            }
            _ => {}
        }
    }

    /// Stops the session.
    pub fn stop(&mut self, now: Timestamp) -> Result<(), CommandError> {
        if self.state.is_terminal() || self.state == SessionState::Stopping {
            return Ok(());
        }
        let next = transition(&self.state, &StateInput::Stop)?;
        let had_transport = !matches!(
            self.state,
            SessionState::Idle | SessionState::Reconnecting { .. } | SessionState::Minting
        );
        self.flush_input_chunk();
        self.connect_deadline = None;
        self.retry_at = None;
        self.set_state(next);
        self.finish_open_transcripts();
        self.end_webrtc_playback();
        if !self.playing.is_empty() {
            self.outputs.push_back(Output::Audio(AudioCommand::Flush));
            // The flush report will find nothing to account for: the session is over, so
            // every started item gets its one `AssistantAudioStopped` now.
            for p in std::mem::take(&mut self.playing) {
                self.emit(SessionEvent::AssistantAudioStopped {
                    item_id: p.item_id,
                    played_ms: None,
                });
            }
        }
        if self.state == SessionState::Stopping {
            self.outputs
                .push_back(Output::Driver(DriverAction::Disconnect));
            if had_transport {
                self.stop_deadline = Some(now.saturating_add(self.config.stop_timeout));
            } else {
                self.apply(StateInput::TransportClosed, now);
            }
        }
        Ok(())
    }

    fn recycle(&mut self, now: Timestamp) {
        tracing::info!("recycling the connection before the server's maximum session duration");
        self.recycle_pending_since = None;
        self.live_since = None;
        self.flush_input_chunk();
        self.detach_playing_audio();
        self.end_webrtc_playback();
        self.apply(StateInput::Recycle, now);
        self.outputs
            .push_back(Output::Driver(DriverAction::Disconnect));
        self.attempt = 0;
        self.retry_at = Some(now);
    }

    /// Decides between retrying and failing, and moves the machine accordingly.
    fn fail(&mut self, error: SessionError, now: Timestamp) {
        if self.state.is_terminal() {
            return;
        }
        let next_attempt = self.attempt.saturating_add(1);
        let retry = (self.ever_live
            && error.kind.is_retryable()
            && self.config.reconnect.allows_attempt(next_attempt))
        .then_some(next_attempt);
        let floor = match &error.kind {
            ErrorKind::RateLimited { retry_after } => *retry_after,
            _ => None,
        };
        self.connect_deadline = None;
        self.end_webrtc_playback();
        self.outputs
            .push_back(Output::Driver(DriverAction::Disconnect));
        match retry {
            Some(attempt) => {
                tracing::warn!(attempt, error = %error, "connection failed; will retry");
                self.attempt = attempt;
                self.outputs
                    .push_back(Output::Emit(SessionEvent::error(&error, true)));
                self.apply(
                    StateInput::Failure {
                        error,
                        retry: Some(attempt),
                    },
                    now,
                );
                let delay = self.config.reconnect.delay(
                    attempt,
                    &mut self.rng,
                    floor.or(self.retry_floor.take()),
                );
                self.retry_at = Some(now.saturating_add(delay));
            }
            None => {
                tracing::error!(error = %error, "session failed");
                self.outputs
                    .push_back(Output::Emit(SessionEvent::error(&error, false)));
                self.apply(StateInput::Failure { error, retry: None }, now);
            }
        }
    }

    /// Cleans up what a lost connection leaves behind: cut answers are finalised (nothing
    /// received is lost), local playback of the dead connection's audio continues (it is
    /// already here) and will be accounted as it plays.
    fn connection_lost(&mut self, _now: Timestamp) {
        self.flush_input_chunk();
        self.input_chunk.clear();
        self.live_since = None;
        self.recycle_pending_since = None;
        self.finish_open_transcripts();
        self.conversation.interrupt_in_progress();
        if let Some(id) = self.active_response.take() {
            self.remember_cut_response(id);
        }
        self.response_create_pending = false;
        self.detach_playing_audio();
        self.end_webrtc_playback();
        let owed = self.tools.connection_lost();
        self.run_tool_steps(owed);
    }

    /// Audio already received keeps playing after its connection is gone, but no more of it
    /// will arrive and it can no longer be truncated on the server.
    fn detach_playing_audio(&mut self) {
        for p in &mut self.playing {
            p.truncatable = false;
            if !p.generation_done {
                p.generation_done = true;
                self.outputs
                    .push_back(Output::Audio(AudioCommand::FinishItem {
                        item_id: p.item_id.clone(),
                    }));
            }
        }
        self.release_unplayed_audio();
    }

    /// Emits the `AssistantAudioStopped` owed for the answer the server is playing on WebRTC,
    /// if any. Taking the slot is what makes it exactly one per started item.
    fn end_webrtc_playback(&mut self) {
        if let Some(playback) = self.webrtc_playing.take() {
            self.emit(SessionEvent::AssistantAudioStopped {
                item_id: playback.item_id,
                played_ms: None,
            });
        }
    }

    fn on_live(&mut self, now: Timestamp) {
        let reconnected = self.ever_live;
        self.ever_live = true;
        self.attempt = 0;
        self.connect_deadline = None;
        self.live_since = Some(now);
        if let Some(started) = self.attempt_started_at.take() {
            self.metrics.connect_time = Some(now.saturating_since(started));
        }
        if reconnected {
            self.metrics.reconnects = self.metrics.reconnects.saturating_add(1);
        }
        while let Some(event) = self.offline_queue.pop_front() {
            self.outputs.push_back(Output::Send(Box::new(event)));
        }
        if self.response_create_pending && self.active_response.is_none() {
            self.response_create_pending = false;
            self.outputs
                .push_back(Output::Send(Box::new(ClientEvent::create_response())));
        }
    }

    fn replay_history(&mut self) {
        let history = self
            .conversation
            .replay_history(self.config.replay_max_items);
        self.replay_expected.clear();
        for (original_id, item) in history {
            let wire = match item {
                ReplayItem::Message {
                    role: Role::User,
                    text,
                } => Item::user_text(text),
                ReplayItem::Message {
                    role: Role::System,
                    text,
                } => Item::system_text(text),
                ReplayItem::Message {
                    role: Role::Assistant,
                    text,
                } => Item::assistant_text(text),
                ReplayItem::FunctionCall {
                    call_id,
                    name,
                    arguments,
                } => Item::FunctionCall(FunctionCallItem {
                    call_id,
                    name,
                    arguments,
                    ..Default::default()
                }),
                ReplayItem::FunctionCallOutput { call_id, output } => {
                    Item::function_call_output(call_id, output)
                }
            };
            self.replay_expected.push_back(original_id);
            self.outputs
                .push_back(Output::Send(Box::new(ClientEvent::create_item(wire))));
        }
    }

    fn apply(&mut self, input: StateInput, _now: Timestamp) {
        match transition(&self.state, &input) {
            Ok(next) => self.set_state(next),
            Err(invalid) => tracing::debug!(%invalid, "ignored input"),
        }
    }

    fn set_state(&mut self, next: SessionState) {
        if next != self.state {
            tracing::debug!(from = self.state.name(), to = next.name(), "state");
            self.state = next.clone();
            self.outputs
                .push_back(Output::Emit(SessionEvent::StateChanged(next)));
        }
    }

    // ----- user commands -------------------------------------------------------------------

    /// Sends a client event now when live, queues it while reconnecting (bounded), refuses otherwise.
    fn send_or_queue(&mut self, event: ClientEvent) -> Result<(), CommandError> {
        match &self.state {
            SessionState::Live => {
                self.outputs.push_back(Output::Send(Box::new(event)));
                Ok(())
            }
            s if s.is_connecting() || matches!(s, SessionState::Reconnecting { .. }) => {
                if self.offline_queue.len() >= self.config.offline_queue_cap {
                    return Err(CommandError::NotLive(self.state.name()));
                }
                self.offline_queue.push_back(event);
                Ok(())
            }
            _ => Err(CommandError::NotLive(self.state.name())),
        }
    }

    /// Asks for a response now, or as soon as the active one is done.
    fn request_response(&mut self) {
        if self.active_response.is_some() || self.state != SessionState::Live {
            self.response_create_pending = true;
        } else {
            self.outputs
                .push_back(Output::Send(Box::new(ClientEvent::create_response())));
        }
    }

    /// Sends a user text message and asks for an answer.
    pub fn send_text(&mut self, text: &str, now: Timestamp) -> Result<(), CommandError> {
        if text.is_empty() {
            return Err(CommandError::Invalid("empty text".into()));
        }
        self.send_or_queue(ClientEvent::create_item(Item::user_text(text)))?;
        self.turn_ended_at = Some(now);
        self.request_response();
        Ok(())
    }

    /// Merges `update` into the session configuration and sends it when live (it is sent in
    /// full on every new connection).
    pub fn update_config(
        &mut self,
        update: SessionConfig,
        _now: Timestamp,
    ) -> Result<(), CommandError> {
        if self.state.is_terminal() {
            return Err(CommandError::NotLive(self.state.name()));
        }
        self.config.session.merge(&update);
        if self.state == SessionState::Live {
            self.outputs
                .push_back(Output::Send(Box::new(ClientEvent::session_update(update))));
        }
        Ok(())
    }

    /// Stops (or resumes) sending microphone audio.
    pub fn set_muted(&mut self, muted: bool, _now: Timestamp) {
        if muted && !self.muted {
            // Whatever was half-gathered belongs to the unmuted period: send it.
            self.flush_input_chunk();
        }
        self.muted = muted;
    }

    /// Push-to-talk press: interrupt the assistant, clear the server's input buffer, start
    /// sending audio.
    pub fn start_talking(&mut self, now: Timestamp) -> Result<(), CommandError> {
        if self.state != SessionState::Live {
            return Err(CommandError::NotLive(self.state.name()));
        }
        self.interrupt_with(InterruptCause::Manual, now);
        self.input_chunk.clear();
        self.outputs
            .push_back(Output::Send(Box::new(ClientEvent::clear_input_audio())));
        self.talking = true;
        Ok(())
    }

    /// Push-to-talk release: commit the turn and ask for an answer.
    pub fn stop_talking(&mut self, now: Timestamp) -> Result<(), CommandError> {
        if !self.talking {
            return Ok(());
        }
        self.flush_input_chunk();
        self.talking = false;
        if self.state != SessionState::Live {
            return Err(CommandError::NotLive(self.state.name()));
        }
        self.outputs
            .push_back(Output::Send(Box::new(ClientEvent::commit_audio())));
        self.turn_ended_at = Some(now);
        self.request_response();
        Ok(())
    }

    /// Answers a tool call. Outputs go out once the response that made the call is done;
    /// when every call of it is answered, one `response.create` follows.
    pub fn submit_tool_output(
        &mut self,
        call_id: &str,
        output: String,
        _now: Timestamp,
    ) -> Result<(), CommandError> {
        let steps =
            self.tools
                .submit_output(call_id, output)
                .ok_or_else(|| CommandError::Unknown {
                    what: "tool call",
                    id: call_id.to_owned(),
                })?;
        self.run_tool_steps(steps);
        Ok(())
    }

    fn run_tool_steps(&mut self, steps: Vec<ToolStep>) {
        for step in steps {
            match step {
                ToolStep::SendOutput { call_id, output } => {
                    let event = ClientEvent::create_item(Item::function_call_output(
                        call_id.clone(),
                        output.clone(),
                    ));
                    if let Err(e) = self.send_or_queue(event) {
                        tracing::warn!(%call_id, error = %e, "tool output could not be sent");
                    }
                }
                ToolStep::RequestResponse => self.request_response(),
                ToolStep::RecreateCall(call) => {
                    let item = Item::FunctionCall(FunctionCallItem {
                        call_id: call.call_id.clone(),
                        name: call.name,
                        arguments: call.arguments,
                        ..Default::default()
                    });
                    if let Err(e) = self.send_or_queue(ClientEvent::create_item(item)) {
                        tracing::warn!(call_id = %call.call_id, error = %e, "tool call could not be re-created");
                    }
                }
            }
        }
    }

    /// Interrupts the assistant (a button, or the app's own voice detector).
    pub fn interrupt(&mut self, now: Timestamp) -> Result<(), CommandError> {
        if self.state != SessionState::Live {
            return Err(CommandError::NotLive(self.state.name()));
        }
        self.interrupt_with(InterruptCause::Manual, now);
        Ok(())
    }

    /// Whether the server cancels the response itself when the user starts talking. A config
    /// that never mentions turn detection gets the server's default (server VAD with
    /// `interrupt_response: true`); only an explicit `null` turns detection off.
    fn interrupt_response_enabled(&self) -> bool {
        match self.config.session.turn_detection() {
            voicewire_protocol::Nullable::Absent => true,
            voicewire_protocol::Nullable::Null => false,
            voicewire_protocol::Nullable::Value(td) => td.interrupt_response(),
        }
    }

    fn interrupt_with(&mut self, cause: InterruptCause, _now: Timestamp) {
        let server_cancels =
            cause == InterruptCause::UserSpeech && self.interrupt_response_enabled();
        let active = self.active_response.clone();
        if let Some(id) = &active {
            if !server_cancels {
                self.outputs
                    .push_back(Output::Send(Box::new(ClientEvent::cancel_response())));
            }
            self.remember_cut_response(id.clone());
        }
        match self.config.audio_path {
            AudioPath::MediaTrack => {
                let audible = self.webrtc_playing.is_some() || active.is_some();
                if !server_cancels && audible {
                    self.outputs
                        .push_back(Output::Send(Box::new(ClientEvent::clear_output_audio())));
                }
                if audible && self.config.local_playback {
                    // Remote-track audio already buffered locally must stop at once too.
                    self.outputs.push_back(Output::Audio(AudioCommand::Flush));
                }
                if audible {
                    self.metrics.interruptions = self.metrics.interruptions.saturating_add(1);
                    let item_id = self
                        .webrtc_playing
                        .as_ref()
                        .map(|p| p.item_id.clone())
                        .or_else(|| self.playing.first().map(|p| p.item_id.clone()));
                    for p in std::mem::take(&mut self.playing) {
                        self.emit(SessionEvent::AssistantAudioStopped {
                            item_id: p.item_id,
                            played_ms: None,
                        });
                    }
                    self.end_webrtc_playback();
                    self.outputs
                        .push_back(Output::Emit(SessionEvent::Interrupted {
                            cause,
                            item_id,
                            played_ms: None,
                        }));
                }
            }
            AudioPath::InEvents => {
                let cut: Vec<String> = self
                    .playing
                    .iter()
                    .filter_map(|p| p.response_id.clone())
                    .collect();
                for id in cut {
                    self.remember_cut_response(id);
                }
                if !self.playing.is_empty() && self.config.local_playback {
                    // The truncate is sent when the driver reports what was actually played.
                    self.flush_cause = Some(cause);
                    self.outputs.push_back(Output::Audio(AudioCommand::Flush));
                } else if active.is_some() {
                    self.metrics.interruptions = self.metrics.interruptions.saturating_add(1);
                    self.outputs
                        .push_back(Output::Emit(SessionEvent::Interrupted {
                            cause,
                            item_id: None,
                            played_ms: None,
                        }));
                }
            }
        }
    }

    /// How many interrupted responses the engine remembers (to drop their late audio). Bounded
    /// by a small constant however long the session runs.
    pub fn remembered_cut_responses(&self) -> usize {
        self.cut_responses.len()
    }

    fn remember_cut_response(&mut self, id: String) {
        if !self.cut_responses.contains(&id) {
            if self.cut_responses.len() == CUT_RESPONSES_REMEMBERED {
                self.cut_responses.pop_front();
            }
            self.cut_responses.push_back(id);
        }
    }

    // ----- audio -----------------------------------------------------------------------------

    /// Microphone audio (24 kHz mono PCM16). On WebSocket it is gathered into chunks of
    /// `input_chunk_ms` and sent as `input_audio_buffer.append`; dropped while muted, not
    /// live, or (push-to-talk) not talking.
    ///
    /// Returns true when the driver must put these samples on the media track itself
    /// (WebRTC, and only when input is accepted); they are counted as sent.
    pub fn handle_input_audio(&mut self, samples: &[i16], _now: Timestamp) -> bool {
        if !self.accepts_input_audio() {
            return false;
        }
        if self.config.audio_path == AudioPath::MediaTrack {
            self.input_samples_on_track = self
                .input_samples_on_track
                .saturating_add(samples.len() as u64);
            self.metrics.audio_ms_sent = self.input_samples_on_track / WIRE_SAMPLES_PER_MS;
            return true;
        }
        let chunk = ms_to_sample_count(u64::from(self.config.input_chunk_ms.clamp(20, 100)));
        let mut rest = samples;
        while !rest.is_empty() {
            let room = chunk.saturating_sub(self.input_chunk.len());
            let (head, tail) = rest.split_at(room.min(rest.len()));
            self.input_chunk.extend_from_slice(head);
            rest = tail;
            if self.input_chunk.len() >= chunk {
                self.flush_input_chunk();
            }
        }
        false
    }

    /// Assistant audio that arrived on a media track (WebRTC), for the metrics.
    /// (Time to first audio comes from `output_audio_buffer.started`: a track may carry
    /// silence before the answer.)
    pub fn handle_track_audio(&mut self, samples: usize, _now: Timestamp) {
        self.output_samples_on_track = self.output_samples_on_track.saturating_add(samples as u64);
        self.metrics.audio_ms_received = self.output_samples_on_track / WIRE_SAMPLES_PER_MS;
    }

    fn flush_input_chunk(&mut self) {
        if self.input_chunk.is_empty() {
            return;
        }
        if self.state == SessionState::Live && self.config.audio_path == AudioPath::InEvents {
            self.metrics.audio_ms_sent = self
                .metrics
                .audio_ms_sent
                .saturating_add(self.input_chunk.len() as u64 / WIRE_SAMPLES_PER_MS);
            let mut audio = String::new();
            encode_pcm16_base64(&self.input_chunk, &mut audio);
            self.outputs
                .push_back(Output::Send(Box::new(ClientEvent::append_audio(audio))));
        }
        self.input_chunk.clear();
    }

    /// The playout buffer was flushed (after [`AudioCommand::Flush`]); `cut` lists the items
    /// it cut with the milliseconds actually played. Items not listed had finished playing.
    pub fn handle_playout_flushed(&mut self, cut: &[FlushedItem], _now: Timestamp) {
        let cause = self.flush_cause.take();
        let mut first: Option<(String, u64)> = None;
        for p in std::mem::take(&mut self.playing) {
            let played = cut
                .iter()
                .find(|c| c.item_id == p.item_id)
                .map(|c| c.played_ms);
            let Some(played) = played else {
                // Fully played before the flush: nothing to cut.
                self.outputs
                    .push_back(Output::Emit(SessionEvent::AssistantAudioStopped {
                        item_id: p.item_id.clone(),
                        played_ms: Some(p.received_ms()),
                    }));
                continue;
            };
            let played = played.min(p.received_ms());
            let fully_played = p.generation_done && played >= p.received_ms();
            if !fully_played
                && p.truncatable
                && self.config.audio_path == AudioPath::InEvents
                && self.state == SessionState::Live
            {
                self.outputs
                    .push_back(Output::Send(Box::new(ClientEvent::truncate_item(
                        p.item_id.clone(),
                        p.content_index,
                        played,
                    ))));
            }
            self.conversation.truncate(&p.item_id, played);
            self.outputs
                .push_back(Output::Emit(SessionEvent::AssistantAudioStopped {
                    item_id: p.item_id.clone(),
                    played_ms: Some(played),
                }));
            if first.is_none() && !fully_played {
                first = Some((p.item_id.clone(), played));
            }
        }
        if let Some(cause) = cause {
            self.metrics.interruptions = self.metrics.interruptions.saturating_add(1);
            let (item_id, played_ms) = match first {
                Some((id, ms)) => (Some(id), Some(ms)),
                None => (None, None),
            };
            self.outputs
                .push_back(Output::Emit(SessionEvent::Interrupted {
                    cause,
                    item_id,
                    played_ms,
                }));
        }
    }

    /// The playout buffer reports progress on an item (polled by the driver). When an item
    /// whose audio has fully arrived has been fully played, `AssistantAudioStopped` follows.
    pub fn handle_playout_progress(&mut self, item_id: &str, played_ms: u64, _now: Timestamp) {
        let Some(pos) = self.playing.iter().position(|p| p.item_id == item_id) else {
            return;
        };
        let Some(p) = self.playing.get(pos) else {
            return;
        };
        if p.generation_done && played_ms >= p.received_ms() {
            let received = p.received_ms();
            self.playing.remove(pos);
            self.outputs
                .push_back(Output::Emit(SessionEvent::AssistantAudioStopped {
                    item_id: item_id.to_owned(),
                    played_ms: Some(received),
                }));
        }
    }

    /// Playout underruns seen by the audio pipeline since the last report.
    pub fn record_underruns(&mut self, count: u64) {
        self.metrics.underruns = self.metrics.underruns.saturating_add(count);
    }

    /// Bytes written to the transport.
    pub fn record_bytes_sent(&mut self, bytes: usize) {
        self.metrics.bytes_sent = self.metrics.bytes_sent.saturating_add(bytes as u64);
    }

    /// Bytes read from the transport.
    pub fn record_bytes_received(&mut self, bytes: usize) {
        self.metrics.bytes_received = self.metrics.bytes_received.saturating_add(bytes as u64);
    }

    // ----- server events ---------------------------------------------------------------------

    /// A server event arrived.
    pub fn handle_server_event(&mut self, event: ServerEvent, now: Timestamp) {
        use ServerEvent as E;
        match event {
            E::SessionCreated(_) => {}
            E::SessionUpdated(ev) => {
                if let Some(effective) = ev.session.as_realtime() {
                    tracing::debug!(session_id = ?effective.id, "session configured");
                }
                if self.state == SessionState::Configuring {
                    self.apply(StateInput::Configured, now);
                    self.on_live(now);
                }
            }
            E::ConversationItemAdded(ev) => {
                self.item_added(ev.item, ev.previous_item_id.as_deref())
            }
            E::ConversationItemCreated(ev) => {
                self.item_added(ev.item, ev.previous_item_id.as_deref())
            }
            E::ConversationItemDone(ev) => self.item_added(ev.item, ev.previous_item_id.as_deref()),
            E::ConversationItemDeleted(ev) => {
                self.conversation.remove(&ev.item_id);
            }
            E::ConversationItemTruncated(ev) => {
                self.conversation.truncate(&ev.item_id, ev.audio_end_ms);
            }
            E::ConversationItemInputAudioTranscriptionDelta(ev) => {
                let delta = ev.delta.unwrap_or_default();
                self.conversation.append_text(&ev.item_id, &delta);
                self.emit(SessionEvent::UserTranscriptDelta {
                    item_id: ev.item_id,
                    delta,
                });
            }
            E::ConversationItemInputAudioTranscriptionCompleted(ev) => {
                self.conversation.finish_text(&ev.item_id, &ev.transcript);
                self.emit(SessionEvent::UserTranscriptFinal {
                    item_id: ev.item_id,
                    text: ev.transcript,
                });
            }
            E::ConversationItemInputAudioTranscriptionFailed(ev) => {
                let message = ev
                    .error
                    .message
                    .clone()
                    .unwrap_or_else(|| "input transcription failed".into());
                self.emit(SessionEvent::Error {
                    code: ev.error.code.clone(),
                    message,
                    recoverable: true,
                });
            }
            E::InputAudioBufferSpeechStarted(ev) => {
                self.emit(SessionEvent::UserSpeechStarted {
                    item_id: Some(ev.item_id),
                    audio_start_ms: ev.audio_start_ms,
                });
                if !self.playing.is_empty()
                    || self.active_response.is_some()
                    || self.webrtc_playing.is_some()
                {
                    self.interrupt_with(InterruptCause::UserSpeech, now);
                }
            }
            E::InputAudioBufferSpeechStopped(ev) => {
                self.turn_ended_at = Some(now);
                self.emit(SessionEvent::UserSpeechStopped {
                    item_id: Some(ev.item_id),
                    audio_end_ms: ev.audio_end_ms,
                });
            }
            E::OutputAudioBufferStarted(ev) => self.webrtc_playback_started(ev.response_id, now),
            E::OutputAudioBufferStopped(_) | E::OutputAudioBufferCleared(_) => {
                // The buffer drained or was cleared: nothing of any answer plays any more.
                self.end_webrtc_playback();
            }
            E::ResponseCreated(ev) => {
                self.active_response = ev.response.id.clone();
            }
            E::ResponseOutputItemAdded(ev) => {
                if let Item::FunctionCall(call) = &ev.item {
                    self.tools.call_started(
                        &call.call_id,
                        Some(&call.name),
                        call.id.as_deref().unwrap_or(""),
                        Some(&ev.response_id),
                    );
                }
                if let Item::Message(m) = &ev.item
                    && m.role == WireRole::Assistant
                    && let Some(id) = &m.id
                {
                    self.assistant_item = Some((ev.response_id.clone(), id.clone()));
                }
                self.item_added(ev.item, None);
            }
            E::ResponseOutputItemDone(ev) => self.item_added(ev.item, None),
            E::ResponseOutputAudioDelta(ev) => {
                self.audio_delta(
                    &ev.item_id,
                    Some(&ev.response_id),
                    ev.content_index,
                    &ev.delta,
                    now,
                );
            }
            E::ResponseOutputAudioDone(ev) => {
                if let Some(p) = self.playing.iter_mut().find(|p| p.item_id == ev.item_id) {
                    p.generation_done = true;
                    self.outputs
                        .push_back(Output::Audio(AudioCommand::FinishItem {
                            item_id: ev.item_id,
                        }));
                }
                self.release_unplayed_audio();
            }
            E::ResponseOutputAudioTranscriptDelta(ev) => {
                self.assistant_text_delta(ev.item_id, Some(ev.response_id), ev.delta);
            }
            E::ResponseOutputAudioTranscriptDone(ev) => {
                self.assistant_text_done(ev.item_id, Some(ev.response_id), ev.transcript);
            }
            E::ResponseOutputTextDelta(ev) => {
                self.assistant_text_delta(ev.item_id, Some(ev.response_id), ev.delta)
            }
            E::ResponseOutputTextDone(ev) => {
                self.assistant_text_done(ev.item_id, Some(ev.response_id), ev.text)
            }
            E::ResponseFunctionCallArgumentsDelta(ev) => {
                self.tools.arguments_delta(
                    &ev.call_id,
                    &ev.item_id,
                    Some(&ev.response_id),
                    &ev.delta,
                );
            }
            E::ResponseFunctionCallArgumentsDone(ev) => {
                let call = self.tools.arguments_done(
                    &ev.call_id,
                    Some(&ev.name),
                    Some(&ev.arguments),
                    &ev.item_id,
                    Some(&ev.response_id),
                );
                self.metrics.tool_calls = self.metrics.tool_calls.saturating_add(1);
                self.emit(SessionEvent::ToolCall(call));
            }
            E::ResponseDone(ev) => self.response_done(ev.response, now),
            E::Error(ev) => self.server_error(ev.error, now),
            other => self.emit(SessionEvent::Raw(Box::new(other))),
        }
    }

    /// A frame could not be decoded: report it, keep going (never fatal).
    pub fn handle_malformed_event(&mut self, reason: &str, _now: Timestamp) {
        tracing::warn!(reason, "malformed server event");
        self.emit(SessionEvent::Error {
            code: Some("malformed_event".into()),
            message: format!("could not decode a server event: {reason}"),
            recoverable: true,
        });
    }

    /// `output_audio_buffer.started`: see the rule on [`AudioPath::MediaTrack`].
    fn webrtc_playback_started(&mut self, response_id: String, now: Timestamp) {
        if self.config.audio_path != AudioPath::MediaTrack || self.state != SessionState::Live {
            return;
        }
        if self.cut_responses.contains(&response_id) {
            tracing::debug!(%response_id, "playback of an interrupted answer: ignored");
            return;
        }
        if let Some(playing) = &self.webrtc_playing {
            if playing.response_id == response_id {
                return;
            }
            // One answer at a time: a new one starting means the previous one is over.
            self.end_webrtc_playback();
        }
        let item_id = match &self.assistant_item {
            Some((response, item)) if *response == response_id => item.clone(),
            _ => response_id.clone(),
        };
        // If the answer is already done, the fallback clock starts now.
        let generating = self.active_response.as_deref() == Some(response_id.as_str());
        let fallback_at = match self.config.webrtc_stop_fallback {
            Some(grace) if !generating => Some(now.saturating_add(grace)),
            _ => None,
        };
        self.record_first_audio(now);
        self.emit(SessionEvent::AssistantAudioStarted {
            item_id: item_id.clone(),
        });
        self.webrtc_playing = Some(WebrtcPlayback {
            item_id,
            response_id,
            fallback_at,
        });
    }

    fn emit(&mut self, event: SessionEvent) {
        self.outputs.push_back(Output::Emit(event));
    }

    fn record_first_audio(&mut self, now: Timestamp) {
        if let Some(ended) = self.turn_ended_at.take() {
            self.metrics.record_first_audio(now.saturating_since(ended));
        }
    }

    fn audio_delta(
        &mut self,
        item_id: &str,
        response_id: Option<&str>,
        content_index: u32,
        delta: &str,
        now: Timestamp,
    ) {
        if self.state != SessionState::Live {
            // A late frame of a connection being stopped or replaced: nobody will play it,
            // and starting playback now would owe a stop nobody can report.
            return;
        }
        if self.config.audio_path == AudioPath::MediaTrack {
            // WebRTC audio travels on the track; playback is reported by the
            // `output_audio_buffer.*` events, so an audio delta here has no listener.
            tracing::debug!(item_id, "audio delta on a media-track session: ignored");
            return;
        }
        if response_id.is_some_and(|r| self.cut_responses.iter().any(|c| c == r)) {
            // Late audio of an interrupted answer: the user must not hear it.
            return;
        }
        let mut samples = Vec::with_capacity((delta.len() / 8).saturating_mul(3));
        match decode_pcm16_base64(delta, &mut samples) {
            Ok(_) => {}
            Err(e) => {
                self.emit(SessionEvent::Error {
                    code: Some("invalid_audio".into()),
                    message: format!("undecodable audio delta: {e}"),
                    recoverable: true,
                });
                return;
            }
        };
        if samples.is_empty() {
            return;
        }
        let n = samples.len() as u64;
        match self.playing.iter_mut().find(|p| p.item_id == item_id) {
            Some(p) => p.received_samples = p.received_samples.saturating_add(n),
            None => {
                self.record_first_audio(now);
                self.playing.push(PlayingItem {
                    item_id: item_id.to_owned(),
                    response_id: response_id.map(str::to_owned),
                    content_index,
                    received_samples: n,
                    generation_done: false,
                    truncatable: true,
                });
                self.emit(SessionEvent::AssistantAudioStarted {
                    item_id: item_id.to_owned(),
                });
            }
        }
        let total = self
            .playing
            .iter()
            .find(|p| p.item_id == item_id)
            .map_or(0, |p| p.received_samples);
        self.metrics.audio_ms_received = self
            .metrics
            .audio_ms_received
            .saturating_add(n / WIRE_SAMPLES_PER_MS);
        self.conversation.add_audio(item_id, &samples);
        self.conversation
            .set_audio_received_ms(item_id, total / WIRE_SAMPLES_PER_MS);
        if self.config.local_playback {
            self.outputs.push_back(Output::Audio(AudioCommand::Play {
                item_id: item_id.to_owned(),
                samples,
            }));
        }
    }

    /// Without local playback an item's audio is "over" once it has all arrived.
    fn release_unplayed_audio(&mut self) {
        if self.config.local_playback || self.config.audio_path == AudioPath::MediaTrack {
            return;
        }
        let (done, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.playing)
            .into_iter()
            .partition(|p| p.generation_done);
        self.playing = rest;
        for p in done {
            self.emit(SessionEvent::AssistantAudioStopped {
                item_id: p.item_id,
                played_ms: None,
            });
        }
    }

    fn assistant_text_delta(
        &mut self,
        item_id: String,
        response_id: Option<String>,
        delta: String,
    ) {
        if !self.open_transcripts.iter().any(|o| o.item_id == item_id) {
            if self.open_transcripts.len() >= OPEN_TRANSCRIPTS_MAX {
                // A server that never finishes its transcripts must not grow this list (or
                // the scan above) without bound: the oldest is finalised as incomplete.
                let oldest = self.open_transcripts.remove(0);
                self.emit_incomplete_final(oldest);
            }
            self.open_transcripts.push(OpenTranscript {
                item_id: item_id.clone(),
                response_id: response_id.clone(),
            });
        }
        self.conversation.append_text(&item_id, &delta);
        self.emit(SessionEvent::AssistantTranscriptDelta {
            item_id,
            response_id,
            delta,
        });
    }

    fn assistant_text_done(&mut self, item_id: String, response_id: Option<String>, text: String) {
        self.open_transcripts.retain(|o| o.item_id != item_id);
        self.conversation.finish_text(&item_id, &text);
        self.emit(SessionEvent::AssistantTranscriptFinal {
            item_id,
            response_id,
            text,
            complete: true,
        });
    }

    /// Emits a final transcript (marked incomplete) for every assistant item that never got one.
    fn finish_open_transcripts(&mut self) {
        for open in std::mem::take(&mut self.open_transcripts) {
            self.emit_incomplete_final(open);
        }
    }

    /// The final of an answer cut short: everything received so far, marked incomplete.
    fn emit_incomplete_final(&mut self, open: OpenTranscript) {
        let text = self
            .conversation
            .get(&open.item_id)
            .map(|i| i.text.clone())
            .unwrap_or_default();
        self.emit(SessionEvent::AssistantTranscriptFinal {
            item_id: open.item_id,
            response_id: open.response_id,
            text,
            complete: false,
        });
    }

    fn response_done(&mut self, response: voicewire_protocol::Response, now: Timestamp) {
        let id = response.id.clone();
        if self.active_response == id || id.is_none() {
            self.active_response = None;
        }
        let cancelled = matches!(response.status, Some(ResponseStatus::Cancelled))
            || response.status_details.as_ref().is_some_and(|d| {
                matches!(
                    d.reason,
                    Some(StatusReason::TurnDetected | StatusReason::ClientCancelled)
                )
            });
        // Finals for any item of this response whose text never completed.
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.open_transcripts)
            .into_iter()
            .partition(|o| o.response_id == id || id.is_none());
        self.open_transcripts = others;
        for open in mine {
            self.emit_incomplete_final(open);
        }
        for item in &response.output {
            if let Some(item_id) = item.id()
                && let Some(existing) = self.conversation.get_mut(item_id)
                && existing.status == ItemStatus::InProgress
            {
                existing.status = if cancelled {
                    ItemStatus::Incomplete
                } else {
                    ItemStatus::Completed
                };
            }
        }
        // Audio of this response has all arrived (a cancelled answer sends no audio.done).
        for p in self
            .playing
            .iter_mut()
            .filter(|p| p.response_id == id && !p.generation_done)
        {
            p.generation_done = true;
            self.outputs
                .push_back(Output::Audio(AudioCommand::FinishItem {
                    item_id: p.item_id.clone(),
                }));
        }
        self.release_unplayed_audio();
        if let (Some(playback), Some(done_id), Some(grace)) = (
            self.webrtc_playing.as_mut(),
            id.as_deref(),
            self.config.webrtc_stop_fallback,
        ) && playback.response_id == done_id
        {
            playback.fallback_at = Some(now.saturating_add(grace));
        }
        self.metrics.turns = self.metrics.turns.saturating_add(1);
        if let Some(usage) = response.usage.as_ref().map(usage_from_wire) {
            self.metrics.usage.accumulate(&usage);
            self.emit(SessionEvent::Usage(usage));
        }
        let steps = self.tools.response_done(id.as_deref(), cancelled);
        self.run_tool_steps(steps);
        if self.response_create_pending
            && self.active_response.is_none()
            && self.state == SessionState::Live
        {
            self.response_create_pending = false;
            self.outputs
                .push_back(Output::Send(Box::new(ClientEvent::create_response())));
        }
        self.emit(SessionEvent::Metrics(Box::new(self.metrics.clone())));
        if self.recycle_pending_since.is_some() && self.active_response.is_none() {
            self.recycle(now);
        }
    }

    fn server_error(&mut self, error: voicewire_protocol::ApiError, now: Timestamp) {
        let code = error.code.clone();
        match code.as_deref() {
            // Harmless races: cancelling a response that already ended.
            Some("response_cancel_not_active") => {
                tracing::debug!("response.cancel raced with the end of the response");
            }
            Some("session_expired") => {
                let e = SessionError::new(ErrorKind::SessionExpired, error.message.clone());
                self.emit(SessionEvent::Error {
                    code,
                    message: error.message,
                    recoverable: true,
                });
                if self.state == SessionState::Live {
                    self.connection_lost(now);
                    self.fail(e, now);
                }
            }
            _ => {
                if self.state == SessionState::Configuring {
                    // The server refused our configuration: nothing will work.
                    let e = SessionError::new(
                        ErrorKind::Protocol,
                        format!("session configuration refused: {}", error.message),
                    );
                    self.emit(SessionEvent::Error {
                        code,
                        message: error.message,
                        recoverable: false,
                    });
                    self.fail(e, now);
                } else {
                    self.emit(SessionEvent::Error {
                        code,
                        message: error.message,
                        recoverable: true,
                    });
                }
            }
        }
    }

    fn item_added(&mut self, item: Item, previous_item_id: Option<&str>) {
        let Some(id) = item.id().map(str::to_owned) else {
            return;
        };
        if self.conversation.get(&id).is_none()
            && let Some(original) = self.replay_expected.front().cloned()
            && self.is_replay_echo(&item, &original)
        {
            self.replay_expected.pop_front();
            self.conversation.alias(&id, &original);
            return;
        }
        let status = match item.status() {
            Some(WireItemStatus::Completed) => ItemStatus::Completed,
            Some(WireItemStatus::Incomplete) => ItemStatus::Incomplete,
            _ => ItemStatus::InProgress,
        };
        let (kind, text) = match &item {
            Item::Message(m) => {
                let role = match m.role {
                    WireRole::User => Role::User,
                    WireRole::Assistant => Role::Assistant,
                    WireRole::System => Role::System,
                };
                let text: String = m
                    .content
                    .iter()
                    .filter_map(ContentPart::text_or_transcript)
                    .collect::<Vec<_>>()
                    .join("");
                (ItemKind::Message { role }, text)
            }
            Item::FunctionCall(f) => (
                ItemKind::FunctionCall {
                    call_id: f.call_id.clone(),
                    name: f.name.clone(),
                    arguments: f.arguments.clone(),
                },
                String::new(),
            ),
            Item::FunctionCallOutput(o) => (
                ItemKind::FunctionCallOutput {
                    call_id: o.call_id.clone(),
                    output: o.output.clone(),
                },
                String::new(),
            ),
            other => (
                ItemKind::Other {
                    item_type: other.item_type().to_owned(),
                },
                String::new(),
            ),
        };
        let mut domain = ConversationItem::new(id, kind);
        domain.status = status;
        domain.text = text;
        self.conversation.upsert(domain, previous_item_id);
    }

    fn is_replay_echo(&self, item: &Item, original_id: &str) -> bool {
        let Some(original) = self.conversation.get(original_id) else {
            return false;
        };
        match (&original.kind, item) {
            (ItemKind::Message { role }, Item::Message(m)) => {
                matches!(
                    (role, m.role),
                    (Role::User, WireRole::User)
                        | (Role::Assistant, WireRole::Assistant)
                        | (Role::System, WireRole::System)
                )
            }
            (ItemKind::FunctionCall { call_id, .. }, Item::FunctionCall(f)) => {
                *call_id == f.call_id
            }
            (ItemKind::FunctionCallOutput { call_id, .. }, Item::FunctionCallOutput(o)) => {
                *call_id == o.call_id
            }
            _ => false,
        }
    }
}

fn usage_from_wire(u: &voicewire_protocol::Usage) -> Usage {
    let input = u.input_token_details.as_ref();
    let output = u.output_token_details.as_ref();
    Usage {
        total_tokens: u.total_tokens.unwrap_or(0),
        input_tokens: u.input_tokens.unwrap_or(0),
        output_tokens: u.output_tokens.unwrap_or(0),
        input_text_tokens: input.and_then(|d| d.text_tokens).unwrap_or(0),
        input_audio_tokens: input.and_then(|d| d.audio_tokens).unwrap_or(0),
        cached_tokens: input.and_then(|d| d.cached_tokens).unwrap_or(0),
        output_text_tokens: output.and_then(|d| d.text_tokens).unwrap_or(0),
        output_audio_tokens: output.and_then(|d| d.audio_tokens).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attempt_counter_saturates_with_an_unbounded_policy() {
        let mut engine = Engine::new(EngineConfig {
            reconnect: ReconnectPolicy {
                max_attempts: u32::MAX,
                ..ReconnectPolicy::default()
            },
            ..EngineConfig::default()
        });
        engine.ever_live = true;
        engine.state = SessionState::Connecting;
        engine.attempt = u32::MAX - 1;
        engine.fail(SessionError::new(ErrorKind::Network, "x"), Timestamp::ZERO);
        assert_eq!(engine.attempt, u32::MAX);
        assert!(matches!(
            engine.state,
            SessionState::Reconnecting { attempt: u32::MAX }
        ));
        engine.state = SessionState::Connecting;
        engine.fail(SessionError::new(ErrorKind::Network, "x"), Timestamp::ZERO);
        assert_eq!(engine.attempt, u32::MAX, "no wrap to zero");
    }
}
