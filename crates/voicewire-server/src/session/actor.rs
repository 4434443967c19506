//! The session actor: owns one session's state and turns client events and input audio
//! into server events and output audio. See the module docs of `session` for the seam.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tokio::sync::mpsc;
use voicewire_protocol::client::{
    ConversationItemCreateEvent, ConversationItemTruncateEvent, ResponseCancelEvent,
};
use voicewire_protocol::response::StatusReason;
use voicewire_protocol::server as ev;
use voicewire_protocol::{
    ApiError, AudioFormat, ClientEvent, ContentPart, DecodeErrorKind, Dialect, Item, ItemStatus,
    Modality, Nullable, ResponseCreateParams, Role, ServerEvent, SessionConfig, SessionPayload,
    TranscriptionSessionConfig,
};

use super::agent::{self, LastInput};
use super::conversation::{Conversation, Entry, Placement};
use super::input::InputAudioBuffer;
use super::response::{ResponseRun, RunEffect, RunParams};
use super::settings::{
    self, TurnSettings, default_session, normalize, turn_settings, validate_update,
};
use super::{AudioDelivery, Control, SessionInput, SessionOutput, SessionSetup};
use crate::audio::{decode_base64, encode_base64};
use crate::fault::Fault;
use crate::ids;
use crate::observe::ObservedKind;
use crate::server::Shared;
use crate::synth::Synthesized;
use crate::vad::{VadEvent, VoiceActivityDetector, ms_to_samples, samples_to_ms};

/// Shortest audio a commit accepts.
const MIN_COMMIT_MS: u64 = 100;
/// Longest a session lives when no cap is configured (what `expires_at` shows).
const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(3_600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Realtime,
    Transcription,
}

/// Why a response is being created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Client,
    Vad,
    IdleTimeout,
}

struct Sink {
    dialect: Dialect,
    tx: mpsc::Sender<SessionOutput>,
    primary: bool,
}

struct SynthResult {
    response_id: String,
    index: usize,
    synthesized: Synthesized,
}

/// One session's state.
pub(crate) struct SessionActor {
    shared: Arc<Shared>,
    id: String,
    dialect: Dialect,
    transport: crate::observe::Transport,
    delivery: AudioDelivery,
    model: Option<String>,
    kind: Kind,
    config: SessionConfig,
    turn: TurnSettings,
    vad: VoiceActivityDetector,
    input: InputAudioBuffer,
    speech_item: Option<String>,
    conversation: Conversation<Item>,
    conversation_id: String,
    runs: Vec<ResponseRun>,
    responses_started: usize,
    audio_produced: bool,
    idle_deadline: Option<Instant>,
    expires: Option<Instant>,
    stalled_until: Option<Instant>,
    sinks: Vec<Sink>,
    synth_tx: mpsc::UnboundedSender<SynthResult>,
    synth_rx: Option<mpsc::UnboundedReceiver<SynthResult>>,
    media_stops: Vec<(Instant, String)>,
    pending_truncations: HashMap<String, usize>,
    ended: Option<String>,
}

impl SessionActor {
    pub(crate) fn new(
        shared: Arc<Shared>,
        id: String,
        setup: SessionSetup,
        primary: mpsc::Sender<SessionOutput>,
    ) -> Self {
        let now = Instant::now();
        let lifetime = shared
            .max_session_duration
            .unwrap_or(DEFAULT_SESSION_LIFETIME);
        let expires_at = crate::secrets::unix_seconds(SystemTime::now() + lifetime);
        let initial_model = setup.model.clone().or_else(|| {
            setup
                .initial
                .as_ref()
                .and_then(|p| p.as_realtime())
                .and_then(|c| c.model.clone())
        });
        let mut config = default_session(setup.dialect, initial_model.as_deref(), &id, expires_at);
        let mut kind = Kind::Realtime;
        match &setup.initial {
            Some(SessionPayload::Realtime(minted)) => {
                let mut minted = minted.clone();
                minted.id = None;
                minted.object = None;
                minted.expires_at = None;
                config.merge(&minted);
            }
            Some(SessionPayload::Transcription(minted)) => {
                kind = Kind::Transcription;
                if let Some(audio) = &minted.audio {
                    config
                        .audio
                        .get_or_insert_with(Default::default)
                        .merge(audio);
                }
                if minted.include.is_some() {
                    config.include.clone_from(&minted.include);
                }
            }
            None => {}
        }
        normalize(&mut config);
        let turn = turn_settings(&config);
        let retained = ms_to_samples(shared.max_retained_audio.as_millis() as u64) as usize;
        let (synth_tx, synth_rx) = mpsc::unbounded_channel();
        let vad_params = turn.vad.unwrap_or_default();
        Self {
            dialect: setup.dialect,
            transport: setup.transport,
            delivery: setup.audio_delivery,
            model: initial_model,
            kind,
            turn,
            vad: VoiceActivityDetector::new(vad_params),
            input: InputAudioBuffer::new(retained / 2),
            speech_item: None,
            conversation: Conversation::new(retained / 2),
            conversation_id: ids::conversation(),
            runs: Vec::new(),
            responses_started: 0,
            audio_produced: false,
            idle_deadline: None,
            expires: shared.max_session_duration.map(|d| now + d),
            stalled_until: None,
            sinks: vec![Sink {
                dialect: setup.dialect,
                tx: primary,
                primary: true,
            }],
            synth_tx,
            synth_rx: Some(synth_rx),
            media_stops: Vec::new(),
            pending_truncations: HashMap::new(),
            ended: None,
            config,
            id,
            shared,
        }
    }

    /// Runs until the transport closes, a fault ends the session, or the emulator stops.
    pub(crate) async fn run(
        mut self,
        mut input_rx: mpsc::Receiver<SessionInput>,
        mut control_rx: mpsc::UnboundedReceiver<Control>,
    ) {
        let stop = self.shared.stop.clone();
        let Some(mut synth_rx) = self.synth_rx.take() else {
            return;
        };
        self.shared.observer.emit(
            &self.id,
            ObservedKind::ConnectionOpened {
                transport: self.transport,
                dialect: self.dialect,
                model: self.model.clone(),
                sideband: false,
            },
        );
        self.send_session_created(None).await;
        while self.ended.is_none() {
            let now = Instant::now();
            let stalled = self.stalled_until.is_some_and(|t| t > now);
            let deadline = self.next_deadline(now);
            tokio::select! {
                () = stop.cancelled() => {
                    self.close_all(1001, "server shutting down").await;
                    self.end("emulator shut down");
                }
                control = control_rx.recv() => match control {
                    Some(control) => self.handle_control(control).await,
                    None => self.end("session handle dropped"),
                },
                input = input_rx.recv(), if !stalled => match input {
                    Some(input) => self.handle_input(input).await,
                    None => self.end("input closed"),
                },
                Some(result) = synth_rx.recv() => self.supply_synthesis(result),
                () = tokio::time::sleep_until(deadline.into()) => self.on_timer().await,
            }
        }
        let reason = self.ended.take().unwrap_or_default();
        tracing::debug!(session = %self.id, %reason, "session ended");
        self.shared
            .observer
            .emit(&self.id, ObservedKind::ConnectionClosed { reason });
    }

    fn end(&mut self, reason: &str) {
        if self.ended.is_none() {
            self.ended = Some(reason.to_owned());
        }
    }

    fn next_deadline(&self, now: Instant) -> Instant {
        let far = now + Duration::from_secs(3_600);
        if let Some(until) = self.stalled_until
            && until > now
        {
            return until;
        }
        let runs = self.runs.iter().filter_map(|r| r.next_due(now));
        let timers = [self.idle_deadline, self.expires].into_iter().flatten();
        let stops = self.media_stops.iter().map(|(t, _)| *t);
        runs.chain(timers)
            .chain(stops)
            .min()
            .unwrap_or(far)
            .max(now)
    }

    // ----- output -------------------------------------------------------------------

    /// Sends an event to every attached transport, in each one's dialect.
    async fn send(&mut self, event: ServerEvent) {
        let mut encoded: [Option<Arc<str>>; 2] = [None, None];
        let mut failed = Vec::new();
        for (index, sink) in self.sinks.iter().enumerate() {
            if sink.dialect == Dialect::Beta && !exists_in_beta(&event) {
                continue;
            }
            let slot = usize::from(sink.dialect == Dialect::Beta);
            let text = match &encoded[slot] {
                Some(text) => text.clone(),
                None => match event.encode(sink.dialect) {
                    Ok(text) => {
                        let text: Arc<str> = Arc::from(text);
                        encoded[slot] = Some(text.clone());
                        text
                    }
                    Err(error) => {
                        tracing::error!(%error, "cannot encode a server event");
                        continue;
                    }
                },
            };
            if sink.tx.send(SessionOutput::Text(text)).await.is_err() {
                failed.push(index);
            }
        }
        self.drop_failed_sinks(failed);
        if self.shared.observer.active() {
            self.shared
                .observer
                .emit(&self.id, ObservedKind::ServerEvent(Arc::new(event)));
        }
    }

    fn drop_failed_sinks(&mut self, failed: Vec<usize>) {
        for index in failed.into_iter().rev() {
            if self.sinks[index].primary {
                self.end("transport gone");
            }
            self.sinks.remove(index);
        }
    }

    /// Tells the media transport to drop reply audio it has queued for `response_id`
    /// (sent just before `output_audio_buffer.cleared`).
    async fn discard_queued_media(&mut self, response_id: &str) {
        self.send_to_primary(SessionOutput::MediaAudio {
            response_id: response_id.to_owned(),
            item_id: String::new(),
            samples: Vec::new(),
            discard_queued: true,
        })
        .await;
    }

    async fn send_to_primary(&mut self, output: SessionOutput) {
        let Some(primary) = self.sinks.iter().find(|s| s.primary) else {
            return;
        };
        if primary.tx.send(output).await.is_err() {
            self.end("transport gone");
        }
    }

    async fn close_all(&mut self, code: u16, reason: &str) {
        for sink in &self.sinks {
            let _ = sink
                .tx
                .send(SessionOutput::Close {
                    code,
                    reason: reason.to_owned(),
                })
                .await;
        }
    }

    async fn error(&mut self, error: ApiError, event_id: Option<&str>) {
        let error = error.with_event_id(event_id);
        self.send(ServerEvent::error(ids::event(), error)).await;
    }

    fn payload(&self) -> SessionPayload {
        match self.kind {
            Kind::Realtime => SessionPayload::Realtime(self.config.clone()),
            Kind::Transcription => SessionPayload::Transcription(TranscriptionSessionConfig {
                id: self.config.id.clone(),
                object: Some("realtime.transcription_session".into()),
                audio: self.config.audio.clone(),
                include: self.config.include.clone(),
                expires_at: self.config.expires_at,
            }),
        }
    }

    /// `session.created` (and `conversation.created` on beta connections), to every sink
    /// or only to the sink at `only`.
    async fn send_session_created(&mut self, only: Option<usize>) {
        let created = ServerEvent::SessionCreated(ev::SessionCreatedEvent {
            event_id: ids::event(),
            session: self.payload(),
        });
        let conversation = ServerEvent::ConversationCreated(ev::ConversationCreatedEvent {
            event_id: ids::event(),
            conversation: ev::Conversation {
                id: Some(self.conversation_id.clone()),
                object: Some("realtime.conversation".into()),
            },
        });
        match only {
            None => {
                self.send(created).await;
                if self.dialect == Dialect::Beta && self.kind == Kind::Realtime {
                    self.send(conversation).await;
                }
            }
            Some(index) => {
                let Some(sink) = self.sinks.get(index) else {
                    return;
                };
                let dialect = sink.dialect;
                let tx = sink.tx.clone();
                let mut events = vec![created];
                if dialect == Dialect::Beta {
                    events.push(conversation);
                }
                for event in events {
                    if let Ok(text) = event.encode(dialect) {
                        let _ = tx.send(SessionOutput::Text(Arc::from(text))).await;
                    }
                }
            }
        }
    }

    // ----- control and faults -----------------------------------------------------------

    async fn handle_control(&mut self, control: Control) {
        match control {
            Control::Fault(fault) => self.apply_fault(fault).await,
            Control::Attach { dialect, sink } => {
                self.sinks.push(Sink {
                    dialect,
                    tx: sink,
                    primary: false,
                });
                self.shared.observer.emit(
                    &self.id,
                    ObservedKind::ConnectionOpened {
                        transport: crate::observe::Transport::WebSocket,
                        dialect,
                        model: self.model.clone(),
                        sideband: true,
                    },
                );
                self.send_session_created(Some(self.sinks.len() - 1)).await;
            }
        }
    }

    async fn apply_fault(&mut self, fault: Fault) {
        tracing::debug!(session = %self.id, ?fault, "applying fault");
        self.shared
            .observer
            .emit(&self.id, ObservedKind::FaultApplied(fault.clone()));
        match fault {
            Fault::DropConnection => {
                for sink in &self.sinks {
                    let _ = sink.tx.send(SessionOutput::Drop).await;
                }
                self.end("connection dropped (fault)");
            }
            Fault::Close { code, reason } => {
                self.close_all(code, &reason).await;
                self.end("closed (fault)");
            }
            Fault::Stall { ms } => {
                self.stalled_until = Some(Instant::now() + Duration::from_millis(ms));
            }
            Fault::MalformedFrame => {
                let frame = format!(
                    "{{\"type\":\"response.output_audio.delta\",\"event_id\":\"{}\",\"delta\":\"AAAA",
                    ids::event()
                );
                self.send_to_primary(SessionOutput::Text(Arc::from(frame)))
                    .await;
            }
            Fault::UnknownEvent => {
                let frame = serde_json::json!({
                    "type": "voicewire.injected.unknown_event",
                    "event_id": ids::event(),
                    "detail": "an event type no client knows (injected by the VoiceWire emulator)",
                });
                self.send_to_primary(SessionOutput::Text(Arc::from(frame.to_string())))
                    .await;
            }
            Fault::Error {
                error_type,
                code,
                message,
            } => {
                self.error(ApiError::new(error_type, code.as_deref(), message), None)
                    .await;
            }
            Fault::RateLimitError => {
                self.error(
                    ApiError::invalid_request(
                        "rate_limit_exceeded",
                        "Rate limit reached (injected by the VoiceWire emulator). Please try again later.",
                    ),
                    None,
                )
                .await;
            }
            Fault::ServerError => {
                self.error(
                    ApiError::server_error(
                        "The server had an error while processing your request. Sorry about that! (injected by the VoiceWire emulator)",
                    ),
                    None,
                )
                .await;
            }
            Fault::ExpireSession => self.expire().await,
        }
    }

    async fn expire(&mut self) {
        self.error(ApiError::session_expired(), None).await;
        self.close_all(1000, "session_expired").await;
        self.end("session expired");
    }

    // ----- timers ---------------------------------------------------------------------

    async fn on_timer(&mut self) {
        let now = Instant::now();
        if let Some(until) = self.stalled_until {
            if until > now {
                return;
            }
            self.stalled_until = None;
        }
        if self.expires.is_some_and(|t| t <= now) {
            self.expires = None;
            self.expire().await;
            return;
        }
        let due: Vec<String> = self
            .media_stops
            .iter()
            .filter(|(t, _)| *t <= now)
            .map(|(_, id)| id.clone())
            .collect();
        if !due.is_empty() {
            self.media_stops.retain(|(t, _)| *t > now);
            for response_id in due {
                self.send(ServerEvent::OutputAudioBufferStopped(
                    ev::OutputAudioBufferStoppedEvent {
                        event_id: ids::event(),
                        response_id,
                    },
                ))
                .await;
            }
        }
        if self.idle_deadline.is_some_and(|t| t <= now) {
            self.idle_deadline = None;
            self.idle_timeout().await;
        }
        let mut index = 0;
        while index < self.runs.len() && self.ended.is_none() {
            let due = self.runs[index].next_due(now).is_some_and(|t| t <= now);
            if due {
                let mut effects = Vec::new();
                let finished = self.runs[index].advance(now, &mut effects);
                let in_conversation = self.runs[index].in_conversation;
                let response_id = self.runs[index].id.clone();
                self.apply_effects(effects, in_conversation, &response_id)
                    .await;
                if finished {
                    self.finish_run(index, false);
                    continue;
                }
            }
            index += 1;
        }
    }

    async fn idle_timeout(&mut self) {
        if self.kind != Kind::Realtime || self.turn.vad.is_none() || self.active_run().is_some() {
            return;
        }
        let item_id = ids::item();
        let audio_start_ms = samples_to_ms(self.input.end() - self.input.len() as u64);
        let audio_end_ms = samples_to_ms(self.input.end());
        self.send(ServerEvent::InputAudioBufferTimeoutTriggered(
            ev::InputAudioBufferTimeoutTriggeredEvent {
                event_id: ids::event(),
                item_id: item_id.clone(),
                audio_start_ms,
                audio_end_ms,
            },
        ))
        .await;
        let audio = self.input.take_all();
        self.vad.reset();
        self.speech_item = None;
        self.commit_user_audio(item_id, audio).await;
        self.start_response(None, None, Trigger::IdleTimeout).await;
    }

    // ----- input ----------------------------------------------------------------------

    async fn handle_input(&mut self, input: SessionInput) {
        match input {
            SessionInput::ClientText(text) => self.handle_client_text(&text).await,
            SessionInput::ClientBinary(len) => {
                let error = ApiError::invalid_request(
                    voicewire_protocol::error::codes::INVALID_VALUE,
                    format!(
                        "Binary frames are not supported ({len} bytes received); send JSON text frames."
                    ),
                );
                self.shared
                    .observer
                    .emit(&self.id, ObservedKind::RejectedClientFrame(error.clone()));
                self.error(error, None).await;
            }
            SessionInput::MediaAudio(samples) => {
                self.shared.observer.emit(
                    &self.id,
                    ObservedKind::MediaInputAudio {
                        samples: samples.len(),
                    },
                );
                self.ingest_audio(samples).await;
            }
            SessionInput::TransportClosed { reason } => self.end(&reason),
        }
    }

    async fn handle_client_text(&mut self, text: &str) {
        let event = match ClientEvent::decode(text) {
            Ok(event) => event,
            Err(error) => {
                let raw: Option<Value> = serde_json::from_str(text).ok();
                let event_id = raw
                    .as_ref()
                    .and_then(|v| v.get("event_id"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let api = match error.kind {
                    DecodeErrorKind::InvalidJson => ApiError::invalid_request(
                        "invalid_json",
                        format!(
                            "The server could not parse the event as JSON: {}",
                            error.reason
                        ),
                    ),
                    DecodeErrorKind::NotAnObject => {
                        ApiError::invalid_type("", "Each event must be a JSON object.")
                    }
                    DecodeErrorKind::MissingType => ApiError::missing_required_parameter("type"),
                    DecodeErrorKind::InvalidField => ApiError::invalid_type(
                        "",
                        format!(
                            "Invalid '{}' event: {}",
                            error.event_type.as_deref().unwrap_or("?"),
                            error.reason
                        ),
                    ),
                };
                let api = match (&api.param, error.kind) {
                    (Some(p), DecodeErrorKind::NotAnObject | DecodeErrorKind::InvalidField)
                        if p.is_empty() =>
                    {
                        ApiError { param: None, ..api }
                    }
                    _ => api,
                };
                self.shared
                    .observer
                    .emit(&self.id, ObservedKind::RejectedClientFrame(api.clone()));
                self.error(api, event_id.as_deref()).await;
                return;
            }
        };
        if self.shared.observer.active() {
            self.shared
                .observer
                .emit(&self.id, ObservedKind::ClientEvent(Arc::new(event.clone())));
        }
        let event_id = event.event_id().map(str::to_owned);
        let event_id = event_id.as_deref();
        match event {
            ClientEvent::SessionUpdate(e) => {
                let raw: Option<Value> = serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|mut v| v.get_mut("session").map(Value::take));
                self.session_update(e.session, raw.as_ref(), event_id).await;
            }
            ClientEvent::InputAudioBufferAppend(e) => {
                let format = self.config.input_format().unwrap_or(AudioFormat::PCM16_24K);
                match decode_base64(&e.audio, format) {
                    Ok(samples) => self.ingest_audio(samples).await,
                    Err(error) => {
                        self.error(
                            ApiError::invalid_value(
                                "audio",
                                format!(
                                    "Invalid 'audio': {error}. Expected base64-encoded audio bytes."
                                ),
                            ),
                            event_id,
                        )
                        .await;
                    }
                }
            }
            ClientEvent::InputAudioBufferCommit(_) => self.commit(event_id).await,
            ClientEvent::InputAudioBufferClear(_) => {
                self.input.clear();
                self.vad.reset();
                self.speech_item = None;
                self.send(ServerEvent::InputAudioBufferCleared(
                    ev::InputAudioBufferClearedEvent {
                        event_id: ids::event(),
                    },
                ))
                .await;
            }
            ClientEvent::OutputAudioBufferClear(_) => self.clear_output_audio(event_id).await,
            ClientEvent::ConversationItemCreate(e) => self.create_item(e, event_id).await,
            ClientEvent::ConversationItemRetrieve(e) => {
                self.retrieve_item(&e.item_id, event_id).await
            }
            ClientEvent::ConversationItemTruncate(e) => self.truncate_item(e, event_id).await,
            ClientEvent::ConversationItemDelete(e) => {
                if self.conversation.remove(&e.item_id).is_some() {
                    self.send(ServerEvent::ConversationItemDeleted(
                        ev::ConversationItemDeletedEvent {
                            event_id: ids::event(),
                            item_id: e.item_id,
                        },
                    ))
                    .await;
                } else {
                    self.error(
                        ApiError::item_not_found(&e.item_id).with_param("item_id"),
                        event_id,
                    )
                    .await;
                }
            }
            ClientEvent::ResponseCreate(e) => {
                self.start_response(e.response, event_id, Trigger::Client)
                    .await
            }
            ClientEvent::ResponseCancel(e) => self.cancel_request(e, event_id).await,
            ClientEvent::TranscriptionSessionUpdate(e) => {
                if self.kind != Kind::Transcription {
                    self.error(
                        ApiError::invalid_value(
                            "type",
                            "transcription_session.update is only valid in transcription sessions; use session.update.",
                        ),
                        event_id,
                    )
                    .await;
                    return;
                }
                self.apply_transcription_update(&e.session);
                let session = match self.payload() {
                    SessionPayload::Transcription(t) => t,
                    SessionPayload::Realtime(_) => return,
                };
                self.send(ServerEvent::TranscriptionSessionUpdated(
                    ev::TranscriptionSessionUpdatedEvent {
                        event_id: ids::event(),
                        session,
                    },
                ))
                .await;
            }
            ClientEvent::Unknown(raw) => {
                let supported: Vec<String> = ClientEvent::KNOWN_TYPES
                    .iter()
                    .map(|t| format!("'{t}'"))
                    .collect();
                self.error(
                    ApiError::invalid_value(
                        "type",
                        format!(
                            "Invalid value: '{}'. Supported values are: {}.",
                            raw.event_type,
                            supported.join(", ")
                        ),
                    ),
                    event_id,
                )
                .await;
            }
        }
    }

    fn apply_transcription_update(&mut self, update: &TranscriptionSessionConfig) {
        if let Some(audio) = &update.audio {
            self.config
                .audio
                .get_or_insert_with(Default::default)
                .merge(audio);
        }
        if update.include.is_some() {
            self.config.include.clone_from(&update.include);
        }
        normalize(&mut self.config);
        self.refresh_turn_settings();
    }

    async fn session_update(
        &mut self,
        payload: SessionPayload,
        raw: Option<&Value>,
        event_id: Option<&str>,
    ) {
        match (payload, self.kind) {
            (SessionPayload::Realtime(mut update), Kind::Realtime) => {
                if let Err(error) = validate_update(
                    raw,
                    &update,
                    Some(&self.config),
                    self.dialect,
                    self.audio_produced,
                ) {
                    self.error(error, event_id).await;
                    return;
                }
                update.id = None;
                update.object = None;
                update.expires_at = None;
                if self.dialect == Dialect::Ga {
                    update.temperature = None;
                }
                self.config.merge(&update);
                normalize(&mut self.config);
                self.refresh_turn_settings();
            }
            (SessionPayload::Transcription(update), Kind::Transcription) => {
                if let Some(Value::Object(map)) = raw {
                    let allowed = ["type", "audio", "include", "id", "object", "expires_at"];
                    if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
                        self.error(
                            ApiError::unknown_parameter(format!("session.{key}")),
                            event_id,
                        )
                        .await;
                        return;
                    }
                }
                let as_realtime = SessionConfig {
                    audio: update.audio.clone(),
                    ..SessionConfig::default()
                };
                if let Err(error) = validate_update(None, &as_realtime, None, self.dialect, false) {
                    self.error(error, event_id).await;
                    return;
                }
                self.apply_transcription_update(&update);
            }
            (_, _) => {
                self.error(
                    ApiError::invalid_value(
                        "session.type",
                        "Cannot change the type of a session after it has started.",
                    ),
                    event_id,
                )
                .await;
                return;
            }
        }
        self.send(ServerEvent::SessionUpdated(ev::SessionUpdatedEvent {
            event_id: ids::event(),
            session: self.payload(),
        }))
        .await;
    }

    fn refresh_turn_settings(&mut self) {
        let before = self.turn.vad;
        self.turn = turn_settings(&self.config);
        match (before, self.turn.vad) {
            (_, Some(params)) => {
                self.vad.set_params(params);
                if before.is_none() {
                    self.vad.reset();
                }
            }
            (Some(_), None) => {
                self.vad.reset();
                self.speech_item = None;
            }
            (None, None) => {}
        }
        if self.turn.idle_timeout_ms.is_none() {
            self.idle_deadline = None;
        }
    }

    async fn ingest_audio(&mut self, samples: Vec<i16>) {
        self.input.append(&samples);
        let mut found = Vec::new();
        self.vad.push(&samples, &mut found);
        if self.turn.vad.is_none() {
            return;
        }
        for event in found {
            match event {
                VadEvent::SpeechStarted { audio_start_ms } => {
                    let item_id = ids::item();
                    self.speech_item = Some(item_id.clone());
                    self.idle_deadline = None;
                    self.send(ServerEvent::InputAudioBufferSpeechStarted(
                        ev::InputAudioBufferSpeechStartedEvent {
                            event_id: ids::event(),
                            item_id,
                            audio_start_ms,
                        },
                    ))
                    .await;
                    if self.turn.interrupt_response
                        && let Some(index) = self.active_run()
                    {
                        self.cancel_run(index, StatusReason::TurnDetected).await;
                    }
                }
                VadEvent::SpeechStopped {
                    audio_end_ms,
                    commit_start_ms,
                } => {
                    let item_id = self.speech_item.take().unwrap_or_else(ids::item);
                    self.send(ServerEvent::InputAudioBufferSpeechStopped(
                        ev::InputAudioBufferSpeechStoppedEvent {
                            event_id: ids::event(),
                            item_id: item_id.clone(),
                            audio_end_ms,
                        },
                    ))
                    .await;
                    let audio = self
                        .input
                        .take_range(ms_to_samples(commit_start_ms), ms_to_samples(audio_end_ms));
                    self.commit_user_audio(item_id, audio).await;
                    if self.turn.create_response && self.kind == Kind::Realtime {
                        if self.active_run().is_none() {
                            self.start_response(None, None, Trigger::Vad).await;
                        } else {
                            tracing::debug!(session = %self.id, "turn ended while a response is active; not creating another");
                        }
                    }
                }
            }
        }
    }

    async fn commit(&mut self, event_id: Option<&str>) {
        let buffered = self.input.len();
        if (buffered as u64) < ms_to_samples(MIN_COMMIT_MS) {
            let buffered_ms = buffered as f64 * 1000.0 / f64::from(crate::vad::SAMPLE_RATE);
            self.error(
                ApiError::input_audio_buffer_commit_empty(buffered_ms),
                event_id,
            )
            .await;
            return;
        }
        let item_id = self.speech_item.take().unwrap_or_else(ids::item);
        let audio = self.input.take_all();
        self.vad.reset();
        self.commit_user_audio(item_id, audio).await;
    }

    /// `committed`, the user item, and its transcription when configured.
    async fn commit_user_audio(&mut self, item_id: String, audio: Vec<i16>) {
        let previous = self.conversation.last_id().map(str::to_owned);
        self.send(ServerEvent::InputAudioBufferCommitted(
            ev::InputAudioBufferCommittedEvent {
                event_id: ids::event(),
                item_id: item_id.clone(),
                previous_item_id: previous.clone(),
            },
        ))
        .await;
        let samples = audio.len();
        let item = Item::Message(voicewire_protocol::MessageItem {
            id: Some(item_id.clone()),
            object: Some("realtime.item".into()),
            status: Some(ItemStatus::Completed),
            role: Role::User,
            content: vec![ContentPart::InputAudio {
                audio: None,
                transcript: None,
            }],
        });
        if self
            .conversation
            .insert(
                Entry::new(item_id.clone(), item.clone(), Some(audio)),
                &Placement::End,
            )
            .is_err()
        {
            return;
        }
        self.announce_item(previous, item).await;
        let transcribing = self
            .config
            .audio_input()
            .is_some_and(|input| matches!(input.transcription, Nullable::Value(_)));
        if transcribing {
            let transcript = agent::scripted_user_transcript(
                self.shared.scenario.as_deref(),
                self.responses_started,
            )
            .unwrap_or_else(|| agent::unrecognized_transcript(samples));
            self.send(ServerEvent::ConversationItemInputAudioTranscriptionDelta(
                ev::ConversationItemInputAudioTranscriptionDeltaEvent {
                    event_id: ids::event(),
                    item_id: item_id.clone(),
                    content_index: Some(0),
                    delta: Some(transcript.clone()),
                    logprobs: None,
                },
            ))
            .await;
            self.send(
                ServerEvent::ConversationItemInputAudioTranscriptionCompleted(
                    ev::ConversationItemInputAudioTranscriptionCompletedEvent {
                        event_id: ids::event(),
                        item_id: item_id.clone(),
                        content_index: 0,
                        transcript: transcript.clone(),
                        usage: Some(ev::TranscriptionUsage::Duration {
                            seconds: samples as f64 / f64::from(crate::vad::SAMPLE_RATE),
                        }),
                        logprobs: None,
                        languages: None,
                    },
                ),
            )
            .await;
            if let Some(Entry {
                item: Item::Message(message),
                ..
            }) = self.conversation.get_mut(&item_id)
                && let Some(ContentPart::InputAudio { transcript: t, .. }) =
                    message.content.first_mut()
            {
                *t = Some(transcript);
            }
        }
    }

    /// `conversation.item.added` + `conversation.item.done` (GA) / `conversation.item.created` (beta).
    async fn announce_item(&mut self, previous: Option<String>, item: Item) {
        self.send(ServerEvent::ConversationItemAdded(
            ev::ConversationItemAddedEvent {
                event_id: ids::event(),
                previous_item_id: previous.clone(),
                item: item.clone(),
            },
        ))
        .await;
        self.send(ServerEvent::ConversationItemDone(
            ev::ConversationItemDoneEvent {
                event_id: ids::event(),
                previous_item_id: previous,
                item,
            },
        ))
        .await;
    }

    // ----- conversation items -----------------------------------------------------------

    async fn create_item(&mut self, event: ConversationItemCreateEvent, event_id: Option<&str>) {
        let ConversationItemCreateEvent {
            previous_item_id,
            mut item,
            ..
        } = event;
        if let Item::Other(_) = &item {
            // The real service validates the item type; an unknown one is refused.
            let message_text = format!(
                "Invalid value: '{}'. Supported values are: 'message', 'function_call', \
                 'function_call_output', 'mcp_approval_response'.",
                item.item_type()
            );
            self.error(ApiError::invalid_value("item.type", message_text), event_id)
                .await;
            return;
        }
        let input_format = self.config.input_format().unwrap_or(AudioFormat::PCM16_24K);
        let mut audio = None;
        if let Item::Message(message) = &mut item {
            for (index, part) in message.content.iter_mut().enumerate() {
                let allowed = match message.role {
                    Role::System => matches!(part, ContentPart::InputText { .. }),
                    Role::User => matches!(
                        part,
                        ContentPart::InputText { .. }
                            | ContentPart::InputAudio { .. }
                            | ContentPart::InputImage { .. }
                    ),
                    Role::Assistant => matches!(part, ContentPart::OutputText { .. }),
                };
                if !allowed {
                    let kind = match self.dialect {
                        Dialect::Ga => part.ga_type(),
                        Dialect::Beta => part.beta_type(),
                    };
                    let message_text = if message.role == Role::Assistant
                        && matches!(part, ContentPart::OutputAudio { .. })
                    {
                        "Assistant messages cannot contain audio content; create assistant text with 'output_text'.".to_owned()
                    } else {
                        format!(
                            "Content of type '{kind}' is not allowed in a {:?} message.",
                            message.role
                        )
                        .to_lowercase()
                    };
                    self.error(
                        ApiError::invalid_value(
                            format!("item.content[{index}].type"),
                            message_text,
                        ),
                        event_id,
                    )
                    .await;
                    return;
                }
                if let ContentPart::InputAudio {
                    audio: Some(b64), ..
                } = part
                {
                    match decode_base64(b64, input_format) {
                        Ok(samples) => audio = Some(samples),
                        Err(error) => {
                            self.error(
                                ApiError::invalid_value(
                                    format!("item.content[{index}].audio"),
                                    format!("Invalid audio: {error}."),
                                ),
                                event_id,
                            )
                            .await;
                            return;
                        }
                    }
                    *part = ContentPart::InputAudio {
                        audio: None,
                        transcript: None,
                    };
                }
            }
        }
        if let Item::FunctionCallOutput(output) = &item
            && output.call_id.is_empty()
        {
            self.error(
                ApiError::missing_required_parameter("item.call_id"),
                event_id,
            )
            .await;
            return;
        }
        let id = match item.id() {
            Some(id) if self.conversation.get(id).is_some() => {
                self.error(
                    ApiError::invalid_value(
                        "item.id",
                        format!("Item with id '{id}' already exists in the conversation."),
                    ),
                    event_id,
                )
                .await;
                return;
            }
            Some(id) => id.to_owned(),
            None => ids::item(),
        };
        item.set_id(id.clone());
        set_object_and_status(&mut item);
        let placement = Placement::from_previous_item_id(previous_item_id.as_deref());
        match self
            .conversation
            .insert(Entry::new(id, item.clone(), audio), &placement)
        {
            Ok(previous) => {
                self.idle_deadline = None;
                self.announce_item(previous, item).await;
            }
            Err(_) => {
                let missing = previous_item_id.unwrap_or_default();
                self.error(
                    ApiError::invalid_value(
                        "previous_item_id",
                        format!("Previous item with item_id not found: {missing}"),
                    ),
                    event_id,
                )
                .await;
            }
        }
    }

    async fn retrieve_item(&mut self, item_id: &str, event_id: Option<&str>) {
        let input_format = self.config.input_format().unwrap_or(AudioFormat::PCM16_24K);
        let output_format = self
            .config
            .output_format()
            .unwrap_or(AudioFormat::PCM16_24K);
        let Some(entry) = self.conversation.get(item_id) else {
            self.error(
                ApiError::item_not_found(item_id).with_param("item_id"),
                event_id,
            )
            .await;
            return;
        };
        let mut item = entry.item.clone();
        if let (Item::Message(message), Some(samples)) = (&mut item, &entry.audio) {
            for part in &mut message.content {
                match part {
                    ContentPart::InputAudio { audio, .. } => {
                        *audio = Some(encode_base64(samples, input_format))
                    }
                    ContentPart::OutputAudio { audio, .. } => {
                        *audio = Some(encode_base64(samples, output_format))
                    }
                    _ => {}
                }
            }
        }
        self.send(ServerEvent::ConversationItemRetrieved(
            ev::ConversationItemRetrievedEvent {
                event_id: ids::event(),
                item,
            },
        ))
        .await;
    }

    async fn truncate_item(
        &mut self,
        event: ConversationItemTruncateEvent,
        event_id: Option<&str>,
    ) {
        let ConversationItemTruncateEvent {
            item_id,
            content_index,
            audio_end_ms,
            ..
        } = event;
        let streaming_sent = self
            .runs
            .iter()
            .find_map(|r| r.streaming_item_sent(&item_id));
        let Some(entry) = self.conversation.get(&item_id) else {
            self.error(
                ApiError::item_not_found(&item_id).with_param("item_id"),
                event_id,
            )
            .await;
            return;
        };
        let has_audio_part = match &entry.item {
            Item::Message(m) if m.role == Role::Assistant => {
                streaming_sent.is_some()
                    || matches!(
                        m.content.get(content_index as usize),
                        Some(ContentPart::OutputAudio { .. })
                    )
            }
            _ => {
                self.error(
                    ApiError::invalid_value(
                        "item_id",
                        "Only assistant messages with audio can be truncated.",
                    ),
                    event_id,
                )
                .await;
                return;
            }
        };
        if !has_audio_part || content_index != 0 {
            self.error(
                ApiError::invalid_value(
                    "content_index",
                    format!("Content part {content_index} of item {item_id} is not audio."),
                ),
                event_id,
            )
            .await;
            return;
        }
        let available = streaming_sent.unwrap_or(entry.audio_len);
        let available_ms = samples_to_ms(available as u64);
        if audio_end_ms > available_ms {
            self.error(
                ApiError::invalid_value(
                    "audio_end_ms",
                    format!(
                        "Audio content of {available_ms}ms is already shorter than {audio_end_ms}ms"
                    ),
                ),
                event_id,
            )
            .await;
            return;
        }
        let cut = (ms_to_samples(audio_end_ms) as usize).min(available);
        if streaming_sent.is_some() {
            for run in &mut self.runs {
                run.truncate_streaming(&item_id);
            }
            self.pending_truncations.insert(item_id.clone(), cut);
        } else if let Some(entry) = self.conversation.get_mut(&item_id) {
            apply_truncation(entry, cut);
        }
        self.send(ServerEvent::ConversationItemTruncated(
            ev::ConversationItemTruncatedEvent {
                event_id: ids::event(),
                item_id,
                content_index,
                audio_end_ms,
            },
        ))
        .await;
    }

    async fn clear_output_audio(&mut self, event_id: Option<&str>) {
        if self.delivery != AudioDelivery::MediaTrack {
            self.error(
                ApiError::new(
                    voicewire_protocol::error::INVALID_REQUEST_ERROR,
                    None,
                    "output_audio_buffer.clear is only supported for WebRTC and SIP sessions.",
                ),
                event_id,
            )
            .await;
            return;
        }
        let mut cleared = Vec::new();
        for run in &mut self.runs {
            if let Some((item_id, _)) = run.streaming_audio_item() {
                run.truncate_streaming(&item_id);
                cleared.push(run.id.clone());
            }
        }
        cleared.extend(self.media_stops.drain(..).map(|(_, id)| id));
        for response_id in cleared {
            self.discard_queued_media(&response_id).await;
            self.send(ServerEvent::OutputAudioBufferCleared(
                ev::OutputAudioBufferClearedEvent {
                    event_id: ids::event(),
                    response_id,
                },
            ))
            .await;
        }
    }

    // ----- responses --------------------------------------------------------------------

    /// The response writing to the default conversation, if any.
    fn active_run(&self) -> Option<usize> {
        self.runs
            .iter()
            .position(|r| r.in_conversation && !r.is_finished())
    }

    async fn start_response(
        &mut self,
        params: Option<ResponseCreateParams>,
        event_id: Option<&str>,
        trigger: Trigger,
    ) {
        if self.kind == Kind::Transcription {
            self.error(
                ApiError::invalid_value(
                    "type",
                    "Responses cannot be created in a transcription session.",
                ),
                event_id,
            )
            .await;
            return;
        }
        let params = params.unwrap_or_default();
        let out_of_band = match params.conversation.as_deref() {
            None | Some("auto") => false,
            Some("none") => true,
            Some(other) => {
                self.error(
                    ApiError::invalid_value(
                        "response.conversation",
                        format!(
                            "Invalid value: '{other}'. Supported values are: 'auto' and 'none'."
                        ),
                    ),
                    event_id,
                )
                .await;
                return;
            }
        };
        if !out_of_band && let Some(index) = self.active_run() {
            let id = self.runs[index].id.clone();
            self.error(
                ApiError::conversation_already_has_active_response(&id),
                event_id,
            )
            .await;
            return;
        }
        if let Err(error) = self.validate_response_params(&params) {
            self.error(error, event_id).await;
            return;
        }
        let last = match trigger {
            Trigger::IdleTimeout => LastInput::IdleTimeout,
            Trigger::Client | Trigger::Vad => self.last_input(params.input.as_deref()),
        };
        let plan = agent::plan(
            self.shared.scenario.as_deref(),
            self.responses_started,
            &last,
        );
        self.responses_started += 1;
        let modalities = params
            .output_modalities
            .as_deref()
            .or(self.config.output_modalities.as_deref());
        let audio_mode = settings::wants_audio(modalities);
        let output = params.audio.as_ref().and_then(|a| a.output.as_ref());
        let voice = output
            .and_then(|o| o.voice.clone())
            .or_else(|| self.config.voice().cloned());
        let format = output
            .and_then(|o| o.format)
            .or_else(|| self.config.output_format())
            .unwrap_or(AudioFormat::PCM16_24K);
        let (input_text_tokens, input_audio_tokens) = self.estimate_input_tokens();
        let response_id = ids::response();
        let run = ResponseRun::new(
            RunParams {
                id: response_id.clone(),
                conversation_id: (!out_of_band).then(|| self.conversation_id.clone()),
                plan,
                audio_mode,
                voice,
                format,
                max_output_tokens: params.max_output_tokens.or(self.config.max_output_tokens),
                metadata: params.metadata.clone(),
                pace: self.shared.audio_pace,
                delivery: self.delivery,
                drop_after: self.shared.faults.drop_mid_response_after,
                input_text_tokens,
                input_audio_tokens,
            },
            Instant::now(),
        );
        self.idle_deadline = None;
        self.runs.push(run);
        let index = self.runs.len() - 1;
        let mut effects = Vec::new();
        self.runs[index].start(&mut effects);
        let speed = self
            .config
            .audio_output()
            .and_then(|o| o.speed)
            .unwrap_or(1.0) as f32;
        for (output_index, text) in self.runs[index].synthesis_requests() {
            let synth = self.shared.synth.clone();
            let tx = self.synth_tx.clone();
            let response_id = response_id.clone();
            self.shared.tasks.spawn(async move {
                let synthesized = synth.synthesize(&text, speed).await;
                let _ = tx.send(SynthResult {
                    response_id,
                    index: output_index,
                    synthesized,
                });
            });
        }
        self.apply_effects(effects, !out_of_band, &response_id)
            .await;
        let every = self.shared.faults.server_error_every_nth_response;
        if every > 0 && self.responses_started.is_multiple_of(every as usize) {
            self.error(
                ApiError::server_error(
                    "The server had an error while processing your request. Sorry about that! (injected by the VoiceWire emulator)",
                ),
                None,
            )
            .await;
            if let Some(index) = self.runs.iter().position(|r| r.id == response_id) {
                let mut effects = Vec::new();
                self.runs[index].fail(&mut effects);
                self.apply_effects(effects, !out_of_band, &response_id)
                    .await;
                self.finish_run(index, true);
            }
        }
    }

    fn validate_response_params(&self, params: &ResponseCreateParams) -> Result<(), ApiError> {
        if let Some(modalities) = &params.output_modalities {
            if modalities.is_empty() || modalities.iter().any(|m| matches!(m, Modality::Other(_))) {
                return Err(ApiError::invalid_value(
                    "response.output_modalities",
                    "Supported values are: ['audio'] and ['text'].",
                ));
            }
            if self.dialect == Dialect::Ga && modalities.len() > 1 {
                return Err(ApiError::invalid_value(
                    "response.output_modalities",
                    "Only one output modality may be requested: ['audio'] or ['text'].",
                ));
            }
        }
        if let Some(metadata) = &params.metadata {
            if metadata.len() > 16 {
                return Err(ApiError::invalid_value(
                    "response.metadata",
                    "Metadata may hold at most 16 pairs.",
                ));
            }
            for (key, value) in metadata {
                let ok = key.chars().count() <= 64
                    && value.as_str().is_some_and(|v| v.chars().count() <= 512);
                if !ok {
                    return Err(ApiError::invalid_value(
                        format!("response.metadata.{key}"),
                        "Metadata keys are at most 64 characters and values are strings of at most 512 characters.",
                    ));
                }
            }
        }
        if let Some(voicewire_protocol::MaxTokens::Number(n)) = params.max_output_tokens
            && !(1..=4096).contains(&n)
        {
            return Err(ApiError::invalid_value(
                "response.max_output_tokens",
                format!("Invalid value: {n}. Expected an integer between 1 and 4096, or 'inf'."),
            ));
        }
        if let Some(input) = &params.input {
            for (index, entry) in input.iter().enumerate() {
                if let voicewire_protocol::item::ResponseInputItem::Reference { id } = entry
                    && self.conversation.get(id).is_none()
                {
                    return Err(ApiError::item_not_found(id)
                        .with_param(format!("response.input[{index}].id")));
                }
            }
        }
        Ok(())
    }

    /// What the response answers: the last user message or tool result of its context.
    fn last_input(
        &self,
        input: Option<&[voicewire_protocol::item::ResponseInputItem]>,
    ) -> LastInput {
        use voicewire_protocol::item::ResponseInputItem;
        let from_entry =
            |item: &Item, audio: Option<&Vec<i16>>, audio_len: usize| -> Option<LastInput> {
                match item {
                    Item::FunctionCallOutput(output) => {
                        Some(LastInput::ToolOutput(output.output.clone()))
                    }
                    Item::Message(m) if m.role == Role::User => {
                        let text: Vec<&str> = m
                            .content
                            .iter()
                            .filter_map(|p| match p {
                                ContentPart::InputText { text } => Some(text.as_str()),
                                _ => None,
                            })
                            .collect();
                        if m.content
                            .iter()
                            .any(|p| matches!(p, ContentPart::InputAudio { .. }))
                            && audio_len > 0
                        {
                            Some(LastInput::Audio {
                                samples: audio.cloned(),
                                len: audio_len,
                            })
                        } else if !text.is_empty() {
                            Some(LastInput::Text(text.join(" ")))
                        } else {
                            None
                        }
                    }
                    _ => None,
                }
            };
        match input {
            None => self
                .conversation
                .entries()
                .iter()
                .rev()
                .find_map(|e| from_entry(&e.item, e.audio.as_ref(), e.audio_len))
                .unwrap_or(LastInput::Nothing),
            Some(items) => {
                let format = self.config.input_format().unwrap_or(AudioFormat::PCM16_24K);
                items
                    .iter()
                    .rev()
                    .find_map(|entry| match entry {
                        ResponseInputItem::Reference { id } => self
                            .conversation
                            .get(id)
                            .and_then(|e| from_entry(&e.item, e.audio.as_ref(), e.audio_len)),
                        ResponseInputItem::Item(item) => {
                            let audio = match item {
                                Item::Message(m) => m.content.iter().find_map(|p| match p {
                                    ContentPart::InputAudio {
                                        audio: Some(b64), ..
                                    } => decode_base64(b64, format).ok(),
                                    _ => None,
                                }),
                                _ => None,
                            };
                            let len = audio.as_ref().map_or(0, Vec::len);
                            from_entry(item, audio.as_ref(), len)
                        }
                    })
                    .unwrap_or(LastInput::Nothing)
            }
        }
    }

    fn estimate_input_tokens(&self) -> (u64, u64) {
        let mut text_chars = self.config.instructions.as_ref().map_or(0, String::len);
        let mut audio_samples = 0;
        for entry in self.conversation.entries() {
            audio_samples += entry.audio_len;
            if let Item::Message(m) = &entry.item {
                text_chars += m
                    .content
                    .iter()
                    .filter_map(ContentPart::text_or_transcript)
                    .map(str::len)
                    .sum::<usize>();
            }
        }
        (
            (text_chars as u64).div_ceil(4),
            samples_to_ms(audio_samples as u64) / 100,
        )
    }

    fn supply_synthesis(&mut self, result: SynthResult) {
        if let Some(run) = self.runs.iter_mut().find(|r| r.id == result.response_id) {
            run.supply_audio(result.index, result.synthesized);
        }
    }

    async fn cancel_request(&mut self, event: ResponseCancelEvent, event_id: Option<&str>) {
        let index = match &event.response_id {
            Some(id) => self
                .runs
                .iter()
                .position(|r| &r.id == id && !r.is_finished()),
            None => self.active_run(),
        };
        match index {
            Some(index) => self.cancel_run(index, StatusReason::ClientCancelled).await,
            None => {
                self.error(ApiError::response_cancel_not_active(), event_id)
                    .await
            }
        }
    }

    async fn cancel_run(&mut self, index: usize, reason: StatusReason) {
        let streaming = self.runs[index].streaming_audio_item();
        let produced_audio = self.runs[index].produced_audio();
        let response_id = self.runs[index].id.clone();
        let in_conversation = self.runs[index].in_conversation;
        let mut effects = Vec::new();
        self.runs[index].cancel(reason.clone(), &mut effects);
        self.apply_effects(effects, in_conversation, &response_id)
            .await;
        self.finish_run(index, true);
        if self.delivery == AudioDelivery::MediaTrack && produced_audio {
            // The server plays WebRTC audio itself, so it knows what was heard: it cuts
            // the item there and tells the client.
            if let (StatusReason::TurnDetected, Some((item_id, sent))) = (&reason, streaming) {
                let heard = sent.saturating_sub(ms_to_samples(60) as usize);
                if let Some(entry) = self.conversation.get_mut(&item_id) {
                    apply_truncation(entry, heard);
                    self.send(ServerEvent::ConversationItemTruncated(
                        ev::ConversationItemTruncatedEvent {
                            event_id: ids::event(),
                            item_id,
                            content_index: 0,
                            audio_end_ms: samples_to_ms(heard as u64),
                        },
                    ))
                    .await;
                }
            }
            self.media_stops.retain(|(_, id)| id != &response_id);
            self.discard_queued_media(&response_id).await;
            self.send(ServerEvent::OutputAudioBufferCleared(
                ev::OutputAudioBufferClearedEvent {
                    event_id: ids::event(),
                    response_id,
                },
            ))
            .await;
        }
    }

    /// Removes a finished run; starts the idle timer and schedules the end of media
    /// playback.
    fn finish_run(&mut self, index: usize, cancelled: bool) {
        let run = self.runs.remove(index);
        if run.produced_audio() {
            self.audio_produced = true;
        }
        let now = Instant::now();
        let playback_tail = match (self.shared.audio_pace, run.produced_audio()) {
            (crate::config::AudioPace::RealTime, true) => Duration::from_millis(150),
            _ => Duration::ZERO,
        };
        if self.delivery == AudioDelivery::MediaTrack && run.produced_audio() && !cancelled {
            self.media_stops.push((now + playback_tail, run.id.clone()));
        }
        if run.in_conversation
            && let Some(ms) = self.turn.idle_timeout_ms
            && self.turn.vad.is_some()
        {
            self.idle_deadline = Some(now + playback_tail + Duration::from_millis(u64::from(ms)));
        }
    }

    async fn apply_effects(
        &mut self,
        effects: Vec<RunEffect>,
        in_conversation: bool,
        response_id: &str,
    ) {
        for effect in effects {
            if self.ended.is_some() {
                return;
            }
            match effect {
                RunEffect::Event(event) => self.send(event).await,
                RunEffect::ItemStarted(item) => {
                    if in_conversation {
                        let id = item.id().unwrap_or_default().to_owned();
                        let previous = self.conversation.last_id().map(str::to_owned);
                        if self
                            .conversation
                            .insert(Entry::new(id, item.clone(), None), &Placement::End)
                            .is_ok()
                        {
                            self.send(ServerEvent::ConversationItemAdded(
                                ev::ConversationItemAddedEvent {
                                    event_id: ids::event(),
                                    previous_item_id: previous,
                                    item,
                                },
                            ))
                            .await;
                        }
                    }
                }
                RunEffect::ItemFinished { item, audio } => {
                    if audio.as_ref().is_some_and(|a| !a.is_empty()) {
                        self.audio_produced = true;
                    }
                    if in_conversation {
                        let id = item.id().unwrap_or_default().to_owned();
                        let position = self.conversation.position(&id);
                        let previous = position
                            .and_then(|p| p.checked_sub(1))
                            .map(|p| self.conversation.entries()[p].id.clone());
                        if let Some(entry) = self.conversation.get_mut(&id) {
                            entry.item = item.clone();
                            entry.audio_len = audio.as_ref().map_or(0, Vec::len);
                            entry.audio = audio;
                            if let Some(cut) = self.pending_truncations.remove(&id) {
                                apply_truncation(entry, cut);
                            }
                            let announced = entry.item.clone();
                            self.conversation.enforce_audio_budget();
                            self.send(ServerEvent::ConversationItemDone(
                                ev::ConversationItemDoneEvent {
                                    event_id: ids::event(),
                                    previous_item_id: previous,
                                    item: announced,
                                },
                            ))
                            .await;
                        }
                    }
                }
                RunEffect::MediaAudio { item_id, samples } => {
                    self.shared.observer.emit(
                        &self.id,
                        ObservedKind::MediaOutputAudio {
                            item_id: item_id.clone(),
                            samples: samples.len(),
                        },
                    );
                    self.send_to_primary(SessionOutput::MediaAudio {
                        response_id: response_id.to_owned(),
                        item_id,
                        samples,
                        discard_queued: false,
                    })
                    .await;
                }
                RunEffect::MediaAudioStarted => {
                    self.send(ServerEvent::OutputAudioBufferStarted(
                        ev::OutputAudioBufferStartedEvent {
                            event_id: ids::event(),
                            response_id: response_id.to_owned(),
                        },
                    ))
                    .await;
                }
                RunEffect::Fault(fault) => self.apply_fault(fault).await,
            }
        }
    }
}

/// Cuts an assistant item's stored audio at `cut` samples and removes its transcript (the
/// service deletes the transcript of a truncated item, so the context holds only what was
/// heard).
fn apply_truncation(entry: &mut Entry<Item>, cut: usize) {
    if let Some(audio) = entry.audio.as_mut() {
        audio.truncate(cut);
    }
    entry.audio_len = entry.audio_len.min(cut);
    if let Item::Message(message) = &mut entry.item {
        for part in &mut message.content {
            if let ContentPart::OutputAudio { transcript, .. } = part {
                *transcript = None;
            }
        }
    }
}

/// Client-created items come back with `object` and `status: completed`.
fn set_object_and_status(item: &mut Item) {
    let object = Some("realtime.item".to_owned());
    let status = Some(ItemStatus::Completed);
    match item {
        Item::Message(m) => {
            m.object = object;
            m.status = status;
        }
        Item::FunctionCall(f) => {
            f.object = object;
            f.status = status;
        }
        Item::FunctionCallOutput(f) => {
            f.object = object;
            f.status = status;
        }
        _ => {}
    }
}

/// Events the beta dialect never had (sent on GA connections only).
fn exists_in_beta(event: &ServerEvent) -> bool {
    !matches!(
        event,
        ServerEvent::ConversationItemDone(_)
            | ServerEvent::InputAudioBufferTimeoutTriggered(_)
            | ServerEvent::ConversationItemInputAudioTranscriptionSegment(_)
    )
}
