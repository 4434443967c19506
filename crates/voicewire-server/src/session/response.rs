//! One response being generated: the event sequence of the real service, paced, and
//! cancellable at any point.
//!
//! Per output item, in order: `response.output_item.added` → (the actor adds the item to
//! the conversation: `conversation.item.added`) → `response.content_part.added` → audio and
//! transcript deltas (or text deltas) → `response.output_audio.done` →
//! `response.output_audio_transcript.done` → `response.content_part.done` →
//! `response.output_item.done` → (`conversation.item.done`). Function calls stream their
//! arguments. Finally `response.done` with usage. A cancel closes the item in progress
//! (status `incomplete`) and ends with `response.done` `cancelled`.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use voicewire_protocol::item::{FunctionCallItem, StreamedPart};
use voicewire_protocol::response::{
    InputTokenDetails, OutputTokenDetails, ResponseAudio, ResponseAudioOutput, StatusDetails,
    StatusReason,
};
use voicewire_protocol::server as ev;
use voicewire_protocol::{
    AudioFormat, ContentPart, Item, ItemStatus, MaxTokens, MessageItem, Modality, Response,
    ResponseStatus, Role, ServerEvent, Usage, Voice,
};

use super::AudioDelivery;
use super::agent::{AudioSource, PlannedOutput, ReplyPlan};
use crate::audio::encode_base64;
use crate::config::AudioPace;
use crate::fault::Fault;
use crate::ids;
use crate::scenario::TurnFault;
use crate::synth::{SynthEngine, Synthesized};
use crate::vad::{ms_to_samples, samples_to_ms};

/// Most events one `advance` call emits before yielding to the actor loop.
const MAX_EVENTS_PER_ADVANCE: usize = 64;
/// Time between text deltas at real-time pace.
const TEXT_DELTA_INTERVAL: Duration = Duration::from_millis(20);

/// Something the actor must do while a response runs, in order.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "short-lived, moved once into the send path; boxing every event would add an allocation per event"
)]
pub(crate) enum RunEffect {
    /// Send this event.
    Event(ServerEvent),
    /// A new assistant item started: insert it into the conversation (when the response
    /// writes to it) and announce it.
    ItemStarted(Item),
    /// An item finished: store its final form and audio, and announce it.
    ItemFinished { item: Item, audio: Option<Vec<i16>> },
    /// Audio for a media track.
    MediaAudio { item_id: String, samples: Vec<i16> },
    /// The first audio of this response went out on the media track.
    MediaAudioStarted,
    /// Apply a fault now.
    Fault(Fault),
}

/// How a response is set up.
pub(crate) struct RunParams {
    pub(crate) id: String,
    pub(crate) conversation_id: Option<String>,
    pub(crate) plan: ReplyPlan,
    pub(crate) audio_mode: bool,
    pub(crate) voice: Option<Voice>,
    pub(crate) format: AudioFormat,
    pub(crate) max_output_tokens: Option<MaxTokens>,
    pub(crate) metadata: Option<Map<String, Value>>,
    pub(crate) pace: AudioPace,
    pub(crate) delivery: AudioDelivery,
    pub(crate) drop_after: Option<Duration>,
    pub(crate) input_text_tokens: u64,
    pub(crate) input_audio_tokens: u64,
}

struct RunOutput {
    planned: PlannedOutput,
    audio: Option<Vec<i16>>,
    engine: Option<SynthEngine>,
}

enum ActiveKind {
    Audio {
        samples: Vec<i16>,
        sent: usize,
        /// Stop streaming here (set by a truncate of the item in flight).
        limit: usize,
        words: Vec<String>,
        words_sent: usize,
        full_text: String,
        stream_start: Instant,
    },
    Text {
        words: Vec<String>,
        words_sent: usize,
        full_text: String,
        next_at: Instant,
    },
}

struct Active {
    item_id: String,
    output_index: u32,
    kind: ActiveKind,
}

/// A response in progress.
pub(crate) struct ResponseRun {
    pub(crate) id: String,
    pub(crate) in_conversation: bool,
    template: Response,
    outputs: Vec<RunOutput>,
    pending_synthesis: usize,
    not_before: Instant,
    next_output: usize,
    active: Option<Active>,
    finished_items: Vec<Item>,
    audio_mode: bool,
    format: AudioFormat,
    pace: AudioPace,
    delivery: AudioDelivery,
    fault: Option<TurnFault>,
    drop_after: Option<Duration>,
    audio_sent_total: usize,
    media_started: bool,
    output_text_chars: usize,
    input_text_tokens: u64,
    input_audio_tokens: u64,
    finished: bool,
}

impl ResponseRun {
    /// Sets up a response; [`ResponseRun::start`] emits its first events.
    pub(crate) fn new(params: RunParams, now: Instant) -> Self {
        let mut template = Response::in_progress(params.id.clone());
        template.conversation_id = params.conversation_id.clone();
        template.output_modalities = Some(vec![if params.audio_mode {
            Modality::Audio
        } else {
            Modality::Text
        }]);
        template.max_output_tokens = Some(params.max_output_tokens.unwrap_or(MaxTokens::Inf));
        template.audio = Some(ResponseAudio {
            output: Some(ResponseAudioOutput {
                format: Some(params.format),
                voice: params.voice.clone(),
            }),
        });
        let outputs: Vec<RunOutput> = params
            .plan
            .outputs
            .into_iter()
            .map(|planned| {
                let (audio, engine) = match &planned {
                    PlannedOutput::Message {
                        audio: AudioSource::Samples(s),
                        ..
                    } if params.audio_mode => (Some(s.clone()), Some(SynthEngine::Echo)),
                    _ => (None, None),
                };
                RunOutput {
                    planned,
                    audio,
                    engine,
                }
            })
            .collect();
        let pending_synthesis = if params.audio_mode {
            outputs
                .iter()
                .filter(|o| {
                    matches!(
                        o.planned,
                        PlannedOutput::Message {
                            audio: AudioSource::Synthesize(_),
                            ..
                        }
                    )
                })
                .count()
        } else {
            0
        };
        let mut metadata = params.metadata;
        if params.audio_mode
            && let Some(engine) = outputs.iter().find_map(|o| o.engine)
        {
            label_audio_source(&mut metadata, engine);
        }
        template.metadata = metadata;
        Self {
            id: params.id,
            in_conversation: params.conversation_id.is_some(),
            template,
            outputs,
            pending_synthesis,
            not_before: now + params.plan.delay,
            next_output: 0,
            active: None,
            finished_items: Vec::new(),
            audio_mode: params.audio_mode,
            format: params.format,
            pace: params.pace,
            delivery: params.delivery,
            fault: params.plan.fault,
            drop_after: params.drop_after,
            audio_sent_total: 0,
            media_started: false,
            output_text_chars: 0,
            input_text_tokens: params.input_text_tokens,
            input_audio_tokens: params.input_audio_tokens,
            finished: false,
        }
    }

    /// Texts to synthesize, by output index (audio mode only).
    pub(crate) fn synthesis_requests(&self) -> Vec<(usize, String)> {
        if !self.audio_mode {
            return Vec::new();
        }
        self.outputs
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match &o.planned {
                PlannedOutput::Message {
                    audio: AudioSource::Synthesize(text),
                    ..
                } => Some((i, text.clone())),
                _ => None,
            })
            .collect()
    }

    /// Hands over synthesized audio for output `index`.
    pub(crate) fn supply_audio(&mut self, index: usize, synthesized: Synthesized) {
        if let Some(output) = self.outputs.get_mut(index) {
            if output.audio.is_none() {
                self.pending_synthesis = self.pending_synthesis.saturating_sub(1);
            }
            output.engine = Some(synthesized.engine);
            output.audio = Some(synthesized.samples);
            label_audio_source(&mut self.template.metadata, synthesized.engine);
        }
    }

    /// `response.created` and `rate_limits.updated`, plus a fault scheduled at 0 ms.
    pub(crate) fn start(&mut self, out: &mut Vec<RunEffect>) {
        out.push(RunEffect::Event(ServerEvent::ResponseCreated(
            ev::ResponseCreatedEvent {
                event_id: ids::event(),
                response: self.template.clone(),
            },
        )));
        out.push(RunEffect::Event(ServerEvent::RateLimitsUpdated(
            ev::RateLimitsUpdatedEvent {
                event_id: ids::event(),
                rate_limits: vec![
                    ev::RateLimit {
                        name: Some("requests".into()),
                        limit: Some(10_000),
                        remaining: Some(9_999),
                        reset_seconds: Some(0.006),
                    },
                    ev::RateLimit {
                        name: Some("tokens".into()),
                        limit: Some(2_000_000),
                        remaining: Some(1_995_000),
                        reset_seconds: Some(0.15),
                    },
                ],
            },
        )));
        self.check_faults(out);
    }

    /// When the run next has something to do; `None` while it waits for synthesis.
    pub(crate) fn next_due(&self, now: Instant) -> Option<Instant> {
        if self.finished {
            return Some(now);
        }
        match &self.active {
            Some(active) => Some(match &active.kind {
                ActiveKind::Audio {
                    sent, stream_start, ..
                } => self.chunk_due(*stream_start, *sent),
                ActiveKind::Text { next_at, .. } => *next_at,
            }),
            None => {
                let waiting_for_audio = self.outputs.get(self.next_output).is_some_and(|o| {
                    self.audio_mode
                        && matches!(o.planned, PlannedOutput::Message { .. })
                        && o.audio.is_none()
                });
                if waiting_for_audio {
                    None
                } else {
                    Some(self.not_before)
                }
            }
        }
    }

    fn chunk_samples(&self) -> usize {
        match self.delivery {
            AudioDelivery::InEvents => ms_to_samples(50) as usize,
            AudioDelivery::MediaTrack => ms_to_samples(20) as usize,
        }
    }

    fn lead(&self) -> Duration {
        match self.delivery {
            AudioDelivery::InEvents => Duration::from_millis(150),
            AudioDelivery::MediaTrack => Duration::from_millis(60),
        }
    }

    fn chunk_due(&self, stream_start: Instant, sent: usize) -> Instant {
        match self.pace {
            AudioPace::Fast => stream_start,
            AudioPace::RealTime => {
                let offset = Duration::from_millis(samples_to_ms(sent as u64));
                (stream_start + offset)
                    .checked_sub(self.lead())
                    .unwrap_or(stream_start)
                    .max(stream_start)
            }
        }
    }

    /// Emits whatever is due at `now`. Returns true when the response has finished (its
    /// `response.done` is in `out`).
    pub(crate) fn advance(&mut self, now: Instant, out: &mut Vec<RunEffect>) -> bool {
        if self.finished {
            return true;
        }
        let start_len = out.len();
        loop {
            if out.len() - start_len >= MAX_EVENTS_PER_ADVANCE {
                return false;
            }
            match self.active.take() {
                Some(mut active) => {
                    let done = self.stream(&mut active, now, out);
                    if done {
                        self.close_item(active, ItemStatus::Completed, out);
                    } else {
                        self.active = Some(active);
                        return false;
                    }
                }
                None => {
                    if now < self.not_before {
                        return false;
                    }
                    if self.next_output >= self.outputs.len() {
                        self.finish(ResponseStatus::Completed, None, out);
                        return true;
                    }
                    let index = self.next_output;
                    let needs_audio = self.audio_mode
                        && matches!(self.outputs[index].planned, PlannedOutput::Message { .. })
                        && self.outputs[index].audio.is_none();
                    if needs_audio {
                        return false;
                    }
                    self.next_output += 1;
                    self.open_item(index, now, out);
                }
            }
        }
    }

    fn open_item(&mut self, index: usize, now: Instant, out: &mut Vec<RunEffect>) {
        let output_index = self.finished_items.len() as u32;
        let item_id = ids::item();
        let output = &mut self.outputs[index];
        match &output.planned {
            PlannedOutput::FunctionCall {
                name,
                call_id,
                arguments,
            } => {
                let mut item = FunctionCallItem {
                    id: Some(item_id.clone()),
                    object: Some("realtime.item".into()),
                    status: Some(ItemStatus::InProgress),
                    name: name.clone(),
                    call_id: call_id.clone(),
                    arguments: String::new(),
                };
                out.push(RunEffect::Event(ServerEvent::ResponseOutputItemAdded(
                    ev::ResponseOutputItemAddedEvent {
                        event_id: ids::event(),
                        response_id: self.id.clone(),
                        output_index,
                        item: Item::FunctionCall(item.clone()),
                    },
                )));
                out.push(RunEffect::ItemStarted(Item::FunctionCall(item.clone())));
                for piece in split_in_pieces(arguments, 3) {
                    out.push(RunEffect::Event(
                        ServerEvent::ResponseFunctionCallArgumentsDelta(
                            ev::ResponseFunctionCallArgumentsDeltaEvent {
                                event_id: ids::event(),
                                response_id: self.id.clone(),
                                item_id: item_id.clone(),
                                output_index,
                                call_id: call_id.clone(),
                                delta: piece,
                            },
                        ),
                    ));
                }
                out.push(RunEffect::Event(
                    ServerEvent::ResponseFunctionCallArgumentsDone(
                        ev::ResponseFunctionCallArgumentsDoneEvent {
                            event_id: ids::event(),
                            response_id: self.id.clone(),
                            item_id: item_id.clone(),
                            output_index,
                            call_id: call_id.clone(),
                            name: name.clone(),
                            arguments: arguments.clone(),
                        },
                    ),
                ));
                self.output_text_chars += arguments.len() + name.len();
                item.arguments = arguments.clone();
                item.status = Some(ItemStatus::Completed);
                let item = Item::FunctionCall(item);
                out.push(RunEffect::Event(ServerEvent::ResponseOutputItemDone(
                    ev::ResponseOutputItemDoneEvent {
                        event_id: ids::event(),
                        response_id: self.id.clone(),
                        output_index,
                        item: item.clone(),
                    },
                )));
                out.push(RunEffect::ItemFinished {
                    item: item.clone(),
                    audio: None,
                });
                self.finished_items.push(item);
            }
            PlannedOutput::Message { text, .. } => {
                let text = text.clone();
                let item = Item::Message(MessageItem {
                    id: Some(item_id.clone()),
                    object: Some("realtime.item".into()),
                    status: Some(ItemStatus::InProgress),
                    role: Role::Assistant,
                    content: Vec::new(),
                });
                out.push(RunEffect::Event(ServerEvent::ResponseOutputItemAdded(
                    ev::ResponseOutputItemAddedEvent {
                        event_id: ids::event(),
                        response_id: self.id.clone(),
                        output_index,
                        item: item.clone(),
                    },
                )));
                out.push(RunEffect::ItemStarted(item));
                let part = if self.audio_mode {
                    StreamedPart::audio("")
                } else {
                    StreamedPart::text("")
                };
                out.push(RunEffect::Event(ServerEvent::ResponseContentPartAdded(
                    ev::ResponseContentPartAddedEvent {
                        event_id: ids::event(),
                        response_id: self.id.clone(),
                        item_id: item_id.clone(),
                        output_index,
                        content_index: 0,
                        part,
                    },
                )));
                let words: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
                let kind = if self.audio_mode {
                    let samples = output.audio.take().unwrap_or_default();
                    ActiveKind::Audio {
                        limit: samples.len(),
                        samples,
                        sent: 0,
                        words,
                        words_sent: 0,
                        full_text: text,
                        stream_start: now,
                    }
                } else {
                    ActiveKind::Text {
                        words,
                        words_sent: 0,
                        full_text: text,
                        next_at: now,
                    }
                };
                self.active = Some(Active {
                    item_id,
                    output_index,
                    kind,
                });
            }
        }
    }

    /// Streams what is due; true when the item has nothing left to stream.
    fn stream(&mut self, active: &mut Active, now: Instant, out: &mut Vec<RunEffect>) -> bool {
        let chunk = self.chunk_samples();
        let mut emitted = 0;
        match &mut active.kind {
            ActiveKind::Audio {
                samples,
                sent,
                limit,
                words,
                words_sent,
                stream_start,
                ..
            } => {
                while *sent < *limit {
                    let due = match self.pace {
                        AudioPace::Fast => *stream_start,
                        AudioPace::RealTime => {
                            let offset = Duration::from_millis(samples_to_ms(*sent as u64));
                            (*stream_start + offset)
                                .checked_sub(self.lead())
                                .unwrap_or(*stream_start)
                        }
                    };
                    if due > now || emitted >= MAX_EVENTS_PER_ADVANCE {
                        return false;
                    }
                    let end = (*sent + chunk).min(*limit);
                    let piece = &samples[*sent..end];
                    match self.delivery {
                        AudioDelivery::InEvents => {
                            out.push(RunEffect::Event(ServerEvent::ResponseOutputAudioDelta(
                                ev::ResponseOutputAudioDeltaEvent {
                                    event_id: ids::event(),
                                    response_id: self.id.clone(),
                                    item_id: active.item_id.clone(),
                                    output_index: active.output_index,
                                    content_index: 0,
                                    delta: encode_base64(piece, self.format),
                                },
                            )));
                        }
                        AudioDelivery::MediaTrack => {
                            if !self.media_started {
                                self.media_started = true;
                                out.push(RunEffect::MediaAudioStarted);
                            }
                            out.push(RunEffect::MediaAudio {
                                item_id: active.item_id.clone(),
                                samples: piece.to_vec(),
                            });
                        }
                    }
                    self.audio_sent_total += end - *sent;
                    *sent = end;
                    emitted += 1;
                    // Transcript keeps pace with the audio, word by word.
                    let total = samples.len().max(1);
                    let target = if *sent >= *limit {
                        words.len()
                    } else {
                        ((*sent as u128 * words.len() as u128) / total as u128) as usize + 1
                    }
                    .min(words.len());
                    while *words_sent < target {
                        out.push(RunEffect::Event(
                            ServerEvent::ResponseOutputAudioTranscriptDelta(
                                ev::ResponseOutputAudioTranscriptDeltaEvent {
                                    event_id: ids::event(),
                                    response_id: self.id.clone(),
                                    item_id: active.item_id.clone(),
                                    output_index: active.output_index,
                                    content_index: 0,
                                    delta: words[*words_sent].clone(),
                                },
                            ),
                        ));
                        *words_sent += 1;
                    }
                    self.check_faults(out);
                }
                // Audio done (or empty): flush remaining transcript words.
                while *words_sent < words.len() && *limit == samples.len() {
                    out.push(RunEffect::Event(
                        ServerEvent::ResponseOutputAudioTranscriptDelta(
                            ev::ResponseOutputAudioTranscriptDeltaEvent {
                                event_id: ids::event(),
                                response_id: self.id.clone(),
                                item_id: active.item_id.clone(),
                                output_index: active.output_index,
                                content_index: 0,
                                delta: words[*words_sent].clone(),
                            },
                        ),
                    ));
                    *words_sent += 1;
                }
                true
            }
            ActiveKind::Text {
                words,
                words_sent,
                next_at,
                ..
            } => {
                while *words_sent < words.len() {
                    if *next_at > now || emitted >= MAX_EVENTS_PER_ADVANCE {
                        return false;
                    }
                    out.push(RunEffect::Event(ServerEvent::ResponseOutputTextDelta(
                        ev::ResponseOutputTextDeltaEvent {
                            event_id: ids::event(),
                            response_id: self.id.clone(),
                            item_id: active.item_id.clone(),
                            output_index: active.output_index,
                            content_index: 0,
                            delta: words[*words_sent].clone(),
                        },
                    )));
                    *words_sent += 1;
                    emitted += 1;
                    if self.pace == AudioPace::RealTime {
                        *next_at = now + TEXT_DELTA_INTERVAL;
                    }
                }
                true
            }
        }
    }

    /// The `.done` events of the item in `active`.
    fn close_item(&mut self, active: Active, status: ItemStatus, out: &mut Vec<RunEffect>) {
        let Active {
            item_id,
            output_index,
            kind,
        } = active;
        let (content, part, audio) = match kind {
            ActiveKind::Audio {
                samples,
                sent,
                words,
                words_sent,
                full_text,
                ..
            } => {
                let transcript = if status == ItemStatus::Completed {
                    full_text
                } else {
                    words[..words_sent].concat()
                };
                self.output_text_chars += transcript.len();
                out.push(RunEffect::Event(ServerEvent::ResponseOutputAudioDone(
                    ev::ResponseOutputAudioDoneEvent {
                        event_id: ids::event(),
                        response_id: self.id.clone(),
                        item_id: item_id.clone(),
                        output_index,
                        content_index: 0,
                    },
                )));
                out.push(RunEffect::Event(
                    ServerEvent::ResponseOutputAudioTranscriptDone(
                        ev::ResponseOutputAudioTranscriptDoneEvent {
                            event_id: ids::event(),
                            response_id: self.id.clone(),
                            item_id: item_id.clone(),
                            output_index,
                            content_index: 0,
                            transcript: transcript.clone(),
                        },
                    ),
                ));
                let mut audio = samples;
                audio.truncate(sent);
                (
                    ContentPart::OutputAudio {
                        audio: None,
                        transcript: Some(transcript.clone()),
                    },
                    StreamedPart::audio(transcript),
                    Some(audio),
                )
            }
            ActiveKind::Text {
                words,
                words_sent,
                full_text,
                ..
            } => {
                let text = if status == ItemStatus::Completed {
                    full_text
                } else {
                    words[..words_sent].concat()
                };
                self.output_text_chars += text.len();
                out.push(RunEffect::Event(ServerEvent::ResponseOutputTextDone(
                    ev::ResponseOutputTextDoneEvent {
                        event_id: ids::event(),
                        response_id: self.id.clone(),
                        item_id: item_id.clone(),
                        output_index,
                        content_index: 0,
                        text: text.clone(),
                    },
                )));
                (
                    ContentPart::output_text(text.clone()),
                    StreamedPart::text(text),
                    None,
                )
            }
        };
        out.push(RunEffect::Event(ServerEvent::ResponseContentPartDone(
            ev::ResponseContentPartDoneEvent {
                event_id: ids::event(),
                response_id: self.id.clone(),
                item_id: item_id.clone(),
                output_index,
                content_index: 0,
                part,
            },
        )));
        let item = Item::Message(MessageItem {
            id: Some(item_id),
            object: Some("realtime.item".into()),
            status: Some(status),
            role: Role::Assistant,
            content: vec![content],
        });
        out.push(RunEffect::Event(ServerEvent::ResponseOutputItemDone(
            ev::ResponseOutputItemDoneEvent {
                event_id: ids::event(),
                response_id: self.id.clone(),
                output_index,
                item: item.clone(),
            },
        )));
        out.push(RunEffect::ItemFinished {
            item: item.clone(),
            audio,
        });
        self.finished_items.push(item);
    }

    fn finish(
        &mut self,
        status: ResponseStatus,
        reason: Option<StatusReason>,
        out: &mut Vec<RunEffect>,
    ) {
        self.finished = true;
        let mut response = self.template.clone();
        response.status_details = Some(StatusDetails {
            r#type: Some(status.clone()),
            reason,
            error: None,
        });
        response.status = Some(status);
        response.output = std::mem::take(&mut self.finished_items);
        let audio_ms = samples_to_ms(self.audio_sent_total as u64);
        let output_text = (self.output_text_chars as u64).div_ceil(4);
        let output_audio = if self.audio_mode { audio_ms / 50 } else { 0 };
        let input = self.input_text_tokens + self.input_audio_tokens;
        response.usage = Some(Usage {
            total_tokens: Some(input + output_text + output_audio),
            input_tokens: Some(input),
            output_tokens: Some(output_text + output_audio),
            input_token_details: Some(InputTokenDetails {
                text_tokens: Some(self.input_text_tokens),
                audio_tokens: Some(self.input_audio_tokens),
                image_tokens: Some(0),
                cached_tokens: Some(0),
                cached_tokens_details: None,
            }),
            output_token_details: Some(OutputTokenDetails {
                text_tokens: Some(output_text),
                audio_tokens: Some(output_audio),
            }),
        });
        out.push(RunEffect::Event(ServerEvent::ResponseDone(
            ev::ResponseDoneEvent {
                event_id: ids::event(),
                response,
            },
        )));
    }

    /// Stops the response: closes the item in progress as `incomplete` and sends
    /// `response.done` with `cancelled`.
    pub(crate) fn cancel(&mut self, reason: StatusReason, out: &mut Vec<RunEffect>) {
        if self.finished {
            return;
        }
        if let Some(active) = self.active.take() {
            self.close_item(active, ItemStatus::Incomplete, out);
        }
        self.finish(ResponseStatus::Cancelled, Some(reason), out);
    }

    /// Ends the response as `failed` with a server error (an injected fault): closes the
    /// item in progress as `incomplete` and sends `response.done` with `failed`.
    pub(crate) fn fail(&mut self, out: &mut Vec<RunEffect>) {
        if self.finished {
            return;
        }
        if let Some(active) = self.active.take() {
            self.close_item(active, ItemStatus::Incomplete, out);
        }
        self.finish(ResponseStatus::Failed, None, out);
        if let Some(RunEffect::Event(ServerEvent::ResponseDone(done))) = out.last_mut()
            && let Some(details) = done.response.status_details.as_mut()
        {
            details.error = Some(voicewire_protocol::response::StatusError {
                r#type: Some(voicewire_protocol::error::SERVER_ERROR.to_owned()),
                code: None,
            });
        }
    }

    /// True once `response.done` has been produced.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether any audio went out.
    pub(crate) fn produced_audio(&self) -> bool {
        self.audio_sent_total > 0
    }

    /// Samples already sent of the item being streamed, if it is `item_id`.
    pub(crate) fn streaming_item_sent(&self, item_id: &str) -> Option<usize> {
        match &self.active {
            Some(Active {
                item_id: id,
                kind: ActiveKind::Audio { sent, .. },
                ..
            }) if id == item_id => Some(*sent),
            _ => None,
        }
    }

    /// The item being streamed and how much of its audio was sent.
    pub(crate) fn streaming_audio_item(&self) -> Option<(String, usize)> {
        match &self.active {
            Some(Active {
                item_id,
                kind: ActiveKind::Audio { sent, .. },
                ..
            }) => Some((item_id.clone(), *sent)),
            _ => None,
        }
    }

    /// Stops streaming the in-flight item's audio where it is (a truncate of that item:
    /// the client has heard no more than what was sent).
    pub(crate) fn truncate_streaming(&mut self, item_id: &str) {
        if let Some(Active {
            item_id: id,
            kind: ActiveKind::Audio { limit, sent, .. },
            ..
        }) = &mut self.active
            && id == item_id
        {
            *limit = *sent;
        }
    }

    fn check_faults(&mut self, out: &mut Vec<RunEffect>) {
        let sent_ms = samples_to_ms(self.audio_sent_total as u64);
        if let Some(fault) = &self.fault
            && sent_ms >= fault.after_audio_ms
        {
            out.push(RunEffect::Fault(fault.fault.clone()));
            self.fault = None;
        }
        if let Some(after) = self.drop_after
            && self.audio_sent_total > 0
            && Duration::from_millis(sent_ms) >= after
        {
            out.push(RunEffect::Fault(Fault::DropConnection));
            self.drop_after = None;
        }
    }
}

/// Adds `voicewire_audio_source` to the response metadata (at most 16 pairs allowed, so it
/// is only added when there is room).
fn label_audio_source(metadata: &mut Option<Map<String, Value>>, engine: SynthEngine) {
    let map = metadata.get_or_insert_with(Map::new);
    if map.len() < 16 || map.contains_key("voicewire_audio_source") {
        map.insert(
            "voicewire_audio_source".into(),
            Value::String(engine.label().into()),
        );
    }
}

/// Splits `text` into up to `n` pieces on char boundaries (for argument deltas).
fn split_in_pieces(text: &str, n: usize) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(n.max(1));
    chars
        .chunks(size.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(plan: ReplyPlan, audio_mode: bool) -> RunParams {
        RunParams {
            id: "resp_1".into(),
            conversation_id: Some("conv_1".into()),
            plan,
            audio_mode,
            voice: Some(Voice::from("marin")),
            format: AudioFormat::PCM16_24K,
            max_output_tokens: None,
            metadata: None,
            pace: AudioPace::Fast,
            delivery: AudioDelivery::InEvents,
            drop_after: None,
            input_text_tokens: 3,
            input_audio_tokens: 0,
        }
    }

    fn event_types(effects: &[RunEffect]) -> Vec<String> {
        effects
            .iter()
            .map(|e| match e {
                RunEffect::Event(ev) => ev.event_type(voicewire_protocol::Dialect::Ga).to_owned(),
                RunEffect::ItemStarted(_) => "<item started>".into(),
                RunEffect::ItemFinished { .. } => "<item finished>".into(),
                RunEffect::MediaAudio { .. } => "<media>".into(),
                RunEffect::MediaAudioStarted => "<media started>".into(),
                RunEffect::Fault(_) => "<fault>".into(),
            })
            .collect()
    }

    #[test]
    fn audio_reply_follows_the_service_order() {
        let plan = ReplyPlan {
            outputs: vec![PlannedOutput::Message {
                text: "one two".into(),
                audio: AudioSource::Samples(vec![100; 3_000]),
            }],
            ..ReplyPlan::default()
        };
        let now = Instant::now();
        let mut run = ResponseRun::new(params(plan, true), now);
        assert!(run.synthesis_requests().is_empty());
        let mut out = Vec::new();
        run.start(&mut out);
        assert!(run.advance(now, &mut out));
        let types = event_types(&out);
        assert_eq!(
            types,
            vec![
                "response.created",
                "rate_limits.updated",
                "response.output_item.added",
                "<item started>",
                "response.content_part.added",
                "response.output_audio.delta",
                "response.output_audio_transcript.delta",
                "response.output_audio.delta",
                "response.output_audio_transcript.delta",
                "response.output_audio.delta",
                "response.output_audio.done",
                "response.output_audio_transcript.done",
                "response.content_part.done",
                "response.output_item.done",
                "<item finished>",
                "response.done",
            ]
        );
        let Some(RunEffect::Event(ServerEvent::ResponseDone(done))) = out.last() else {
            panic!()
        };
        assert_eq!(done.response.status, Some(ResponseStatus::Completed));
        assert_eq!(done.response.output.len(), 1);
        assert!(done.response.usage.is_some());
    }

    #[test]
    fn cancel_closes_the_item_incomplete() {
        let plan = ReplyPlan {
            outputs: vec![PlannedOutput::Message {
                text: "a b c d".into(),
                audio: AudioSource::Samples(vec![100; 48_000]),
            }],
            ..ReplyPlan::default()
        };
        let now = Instant::now();
        let mut p = params(plan, true);
        p.pace = AudioPace::RealTime;
        let mut run = ResponseRun::new(p, now);
        let mut out = Vec::new();
        run.start(&mut out);
        assert!(!run.advance(now, &mut out));
        let (item, sent) = run.streaming_audio_item().unwrap();
        assert!(sent > 0 && sent < 48_000, "lead sent {sent}");
        out.clear();
        run.cancel(StatusReason::TurnDetected, &mut out);
        let Some(RunEffect::Event(ServerEvent::ResponseDone(done))) = out.last() else {
            panic!()
        };
        assert_eq!(done.response.status, Some(ResponseStatus::Cancelled));
        assert_eq!(
            done.response.status_details.as_ref().unwrap().reason,
            Some(StatusReason::TurnDetected)
        );
        assert_eq!(
            done.response.output[0].status(),
            Some(&ItemStatus::Incomplete)
        );
        assert!(out.iter().any(|e| matches!(e, RunEffect::ItemFinished { item: i, audio: Some(a) } if i.id() == Some(item.as_str()) && a.len() == sent)));
    }

    #[test]
    fn text_mode_and_function_calls() {
        let plan = ReplyPlan {
            outputs: vec![
                PlannedOutput::Message {
                    text: "hi there".into(),
                    audio: AudioSource::Synthesize("hi there".into()),
                },
                PlannedOutput::FunctionCall {
                    name: "f".into(),
                    call_id: "call_1".into(),
                    arguments: "{\"a\":1}".into(),
                },
            ],
            ..ReplyPlan::default()
        };
        let now = Instant::now();
        let mut run = ResponseRun::new(params(plan, false), now);
        assert!(run.synthesis_requests().is_empty());
        let mut out = Vec::new();
        run.start(&mut out);
        assert!(run.advance(now, &mut out));
        let types = event_types(&out);
        assert!(types.contains(&"response.output_text.delta".to_owned()));
        assert!(types.contains(&"response.function_call_arguments.done".to_owned()));
        assert!(!types.iter().any(|t| t.contains("audio")));
    }

    #[test]
    fn waits_for_synthesis() {
        let plan = ReplyPlan {
            outputs: vec![PlannedOutput::Message {
                text: "hi".into(),
                audio: AudioSource::Synthesize("hi".into()),
            }],
            ..ReplyPlan::default()
        };
        let now = Instant::now();
        let mut run = ResponseRun::new(params(plan, true), now);
        assert_eq!(run.synthesis_requests().len(), 1);
        let mut out = Vec::new();
        run.start(&mut out);
        assert!(run.next_due(now).is_none());
        assert!(!run.advance(now, &mut out));
        run.supply_audio(
            0,
            Synthesized {
                samples: vec![1; 100],
                engine: SynthEngine::Tone,
            },
        );
        assert!(run.advance(now, &mut out));
        let Some(RunEffect::Event(ServerEvent::ResponseDone(done))) = out.last() else {
            panic!()
        };
        assert_eq!(
            done.response
                .metadata
                .as_ref()
                .unwrap()
                .get("voicewire_audio_source"),
            Some(&Value::String("tone-pattern".into()))
        );
    }
}
