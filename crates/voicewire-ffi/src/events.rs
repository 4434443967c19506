//! Mirrors of the engine's state and event types, one `From` per type.
//!
//! Shapes follow `voicewire_core` field for field; only types foreign languages lack are
//! changed (durations become milliseconds, boxed server events become their type and JSON).

use voicewire as core;
use voicewire::protocol::Dialect;

use crate::error::VoiceError;

/// Why a session closed normally.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CloseReason {
    /// The app called `stop`.
    Stopped,
    /// The server closed the connection and reconnecting was disabled.
    ServerClosed,
}

impl From<&core::CloseReason> for CloseReason {
    fn from(reason: &core::CloseReason) -> Self {
        match reason {
            core::CloseReason::Stopped => CloseReason::Stopped,
            core::CloseReason::ServerClosed => CloseReason::ServerClosed,
            // Non-exhaustive upstream: a reason this layer does not name yet was not a stop.
            _ => CloseReason::ServerClosed,
        }
    }
}

/// Where the session is in its life.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SessionState {
    /// Created, not started.
    Idle,
    /// Getting a token from the token provider.
    Minting,
    /// Opening the connection.
    Connecting,
    /// Connected; sending the session configuration.
    Configuring,
    /// Audio and events flow.
    Live,
    /// The connection was lost; waiting before attempt `attempt` (0 = planned recycle).
    Reconnecting {
        /// Retry number, starting at 1.
        attempt: u32,
    },
    /// `stop` was called; closing.
    Stopping,
    /// Ended normally.
    Closed {
        /// Why it ended.
        reason: CloseReason,
    },
    /// Ended with an error that cannot be recovered from.
    Failed {
        /// What went wrong, as the error the app acts on.
        error: VoiceError,
    },
}

impl From<&core::SessionState> for SessionState {
    fn from(state: &core::SessionState) -> Self {
        match state {
            core::SessionState::Idle => SessionState::Idle,
            core::SessionState::Minting => SessionState::Minting,
            core::SessionState::Connecting => SessionState::Connecting,
            core::SessionState::Configuring => SessionState::Configuring,
            core::SessionState::Live => SessionState::Live,
            core::SessionState::Reconnecting { attempt } => {
                SessionState::Reconnecting { attempt: *attempt }
            }
            core::SessionState::Stopping => SessionState::Stopping,
            core::SessionState::Closed { reason } => SessionState::Closed {
                reason: reason.into(),
            },
            core::SessionState::Failed { error } => SessionState::Failed {
                error: VoiceError::from(voicewire::Error::from(error)),
            },
            // Non-exhaustive upstream; every state the engine has today is named above.
            other => SessionState::Failed {
                error: VoiceError::Other {
                    detail: format!("unmapped session state {other:?}"),
                },
            },
        }
    }
}

/// Microphone and speaker levels, 0..1.
#[derive(Debug, Clone, Copy, PartialEq, Default, uniffi::Record)]
pub struct AudioLevels {
    /// Microphone RMS level.
    pub input_rms: f32,
    /// Microphone peak level.
    pub input_peak: f32,
    /// Speaker RMS level.
    pub output_rms: f32,
    /// Speaker peak level.
    pub output_peak: f32,
}

impl From<&core::AudioLevels> for AudioLevels {
    fn from(l: &core::AudioLevels) -> Self {
        AudioLevels {
            input_rms: l.input_rms,
            input_peak: l.input_peak,
            output_rms: l.output_rms,
            output_peak: l.output_peak,
        }
    }
}

/// Why an assistant answer stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum InterruptCause {
    /// The user started speaking (barge-in).
    UserSpeech,
    /// The app called `interrupt`.
    Manual,
}

impl From<core::InterruptCause> for InterruptCause {
    fn from(cause: core::InterruptCause) -> Self {
        match cause {
            core::InterruptCause::UserSpeech => InterruptCause::UserSpeech,
            core::InterruptCause::Manual => InterruptCause::Manual,
            // Non-exhaustive upstream: a new cause is not the user speaking.
            _ => InterruptCause::Manual,
        }
    }
}

/// A tool the model asks the app to run.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ToolCall {
    /// Id to answer with.
    pub call_id: String,
    /// Function name.
    pub name: String,
    /// Arguments as the JSON text the model produced (may be invalid JSON).
    pub arguments: String,
    /// The conversation item carrying the call.
    pub item_id: String,
    /// The response that produced the call.
    pub response_id: Option<String>,
}

impl From<&core::ToolCall> for ToolCall {
    fn from(c: &core::ToolCall) -> Self {
        ToolCall {
            call_id: c.call_id.clone(),
            name: c.name.clone(),
            arguments: c.arguments.clone(),
            item_id: c.item_id.clone(),
            response_id: c.response_id.clone(),
        }
    }
}

/// Token usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, uniffi::Record)]
pub struct Usage {
    /// Total tokens.
    pub total_tokens: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input text tokens.
    pub input_text_tokens: u64,
    /// Input audio tokens.
    pub input_audio_tokens: u64,
    /// Input tokens served from cache.
    pub cached_tokens: u64,
    /// Output text tokens.
    pub output_text_tokens: u64,
    /// Output audio tokens.
    pub output_audio_tokens: u64,
}

impl From<&core::Usage> for Usage {
    fn from(u: &core::Usage) -> Self {
        Usage {
            total_tokens: u.total_tokens,
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            input_text_tokens: u.input_text_tokens,
            input_audio_tokens: u.input_audio_tokens,
            cached_tokens: u.cached_tokens,
            output_text_tokens: u.output_text_tokens,
            output_audio_tokens: u.output_audio_tokens,
        }
    }
}

/// Counters and timings of one session (across reconnects). Durations in milliseconds.
#[derive(Debug, Clone, PartialEq, Default, uniffi::Record)]
pub struct SessionMetrics {
    /// Token fetch to live, for the last connection.
    pub connect_time_ms: Option<u64>,
    /// Time to first audio of the last turn.
    pub last_time_to_first_audio_ms: Option<u64>,
    /// Median time to first audio over the recent turns.
    pub median_time_to_first_audio_ms: Option<u64>,
    /// Completed responses.
    pub turns: u64,
    /// Successful reconnects.
    pub reconnects: u32,
    /// Interruptions.
    pub interruptions: u64,
    /// Tool calls handed out.
    pub tool_calls: u64,
    /// Playout underruns.
    pub underruns: u64,
    /// Bytes written to the transport.
    pub bytes_sent: u64,
    /// Bytes read from the transport.
    pub bytes_received: u64,
    /// Milliseconds of microphone audio sent.
    pub audio_ms_sent: u64,
    /// Milliseconds of assistant audio received.
    pub audio_ms_received: u64,
    /// Token usage summed over responses.
    pub usage: Usage,
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl From<&core::SessionMetrics> for SessionMetrics {
    fn from(m: &core::SessionMetrics) -> Self {
        SessionMetrics {
            connect_time_ms: m.connect_time.map(millis),
            last_time_to_first_audio_ms: m.last_time_to_first_audio.map(millis),
            median_time_to_first_audio_ms: m.median_time_to_first_audio().map(millis),
            turns: m.turns,
            reconnects: m.reconnects,
            interruptions: m.interruptions,
            tool_calls: m.tool_calls,
            underruns: m.underruns,
            bytes_sent: m.bytes_sent,
            bytes_received: m.bytes_received,
            audio_ms_sent: m.audio_ms_sent,
            audio_ms_received: m.audio_ms_received,
            usage: (&m.usage).into(),
        }
    }
}

/// Everything the app hears about a session; the same for WebSocket and WebRTC.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum SessionEvent {
    /// The session moved to a new state (also delivered first on every subscription).
    StateChanged {
        /// The new state.
        state: SessionState,
    },
    /// The user started speaking.
    UserSpeechStarted {
        /// The user item that will hold the speech.
        item_id: Option<String>,
        /// Position in the input audio stream.
        audio_start_ms: u64,
    },
    /// The user stopped speaking.
    UserSpeechStopped {
        /// The user item.
        item_id: Option<String>,
        /// Position in the input audio stream.
        audio_end_ms: u64,
    },
    /// Part of the user's transcript.
    UserTranscriptDelta {
        /// The user item.
        item_id: String,
        /// New text.
        delta: String,
    },
    /// The complete transcript of a user item.
    UserTranscriptFinal {
        /// The user item.
        item_id: String,
        /// Full text.
        text: String,
    },
    /// Part of what the assistant says.
    AssistantTranscriptDelta {
        /// The assistant item.
        item_id: String,
        /// The response producing it.
        response_id: Option<String>,
        /// New text.
        delta: String,
    },
    /// The complete text of an assistant item.
    AssistantTranscriptFinal {
        /// The assistant item.
        item_id: String,
        /// The response that produced it.
        response_id: Option<String>,
        /// Full text (what was received before a cut when `complete` is false).
        text: String,
        /// False when the answer was cut short.
        complete: bool,
    },
    /// Assistant audio of an item started playing.
    AssistantAudioStarted {
        /// The assistant item.
        item_id: String,
    },
    /// Assistant audio of an item finished or was cut.
    AssistantAudioStopped {
        /// The assistant item.
        item_id: String,
        /// Milliseconds played, when known.
        played_ms: Option<u64>,
    },
    /// The model asks for a tool (answered automatically when a handler is registered).
    ToolCall {
        /// The call.
        call: ToolCall,
    },
    /// An assistant answer was interrupted.
    Interrupted {
        /// What interrupted it.
        cause: InterruptCause,
        /// The item whose audio was cut.
        item_id: Option<String>,
        /// Milliseconds of it that had been played.
        played_ms: Option<u64>,
    },
    /// Audio levels (periodic; may be dropped under load).
    AudioLevels {
        /// The levels.
        levels: AudioLevels,
    },
    /// Token usage of one response.
    Usage {
        /// The usage.
        usage: Usage,
    },
    /// A metrics snapshot (after each turn; may be dropped under load).
    Metrics {
        /// The snapshot.
        metrics: SessionMetrics,
    },
    /// Something went wrong; `recoverable` says whether the session carries on.
    Error {
        /// Machine-readable code to switch on: a stable snake_case `ErrorKind` code for
        /// connection failures (`auth`, `network`, `rate_limited`, `protocol`,
        /// `session_expired`, `audio_device`, `closed`, `other`), `malformed_event` /
        /// `invalid_audio` / `events_dropped` for local conditions, or the server's own
        /// `error.code`. Never a Rust type name.
        code: Option<String>,
        /// Human-readable message.
        message: String,
        /// True when the session continues.
        recoverable: bool,
    },
    /// A server event with no domain meaning (unknown types included), as JSON.
    Raw {
        /// The event's `type`.
        event_type: String,
        /// The event as JSON (GA shape).
        json: String,
    },
}

impl From<&core::SessionEvent> for SessionEvent {
    fn from(event: &core::SessionEvent) -> Self {
        use core::SessionEvent as E;
        match event {
            E::StateChanged(state) => SessionEvent::StateChanged {
                state: state.into(),
            },
            E::UserSpeechStarted {
                item_id,
                audio_start_ms,
            } => SessionEvent::UserSpeechStarted {
                item_id: item_id.clone(),
                audio_start_ms: *audio_start_ms,
            },
            E::UserSpeechStopped {
                item_id,
                audio_end_ms,
            } => SessionEvent::UserSpeechStopped {
                item_id: item_id.clone(),
                audio_end_ms: *audio_end_ms,
            },
            E::UserTranscriptDelta { item_id, delta } => SessionEvent::UserTranscriptDelta {
                item_id: item_id.clone(),
                delta: delta.clone(),
            },
            E::UserTranscriptFinal { item_id, text } => SessionEvent::UserTranscriptFinal {
                item_id: item_id.clone(),
                text: text.clone(),
            },
            E::AssistantTranscriptDelta {
                item_id,
                response_id,
                delta,
            } => SessionEvent::AssistantTranscriptDelta {
                item_id: item_id.clone(),
                response_id: response_id.clone(),
                delta: delta.clone(),
            },
            E::AssistantTranscriptFinal {
                item_id,
                response_id,
                text,
                complete,
            } => SessionEvent::AssistantTranscriptFinal {
                item_id: item_id.clone(),
                response_id: response_id.clone(),
                text: text.clone(),
                complete: *complete,
            },
            E::AssistantAudioStarted { item_id } => SessionEvent::AssistantAudioStarted {
                item_id: item_id.clone(),
            },
            E::AssistantAudioStopped { item_id, played_ms } => {
                SessionEvent::AssistantAudioStopped {
                    item_id: item_id.clone(),
                    played_ms: *played_ms,
                }
            }
            E::ToolCall(call) => SessionEvent::ToolCall { call: call.into() },
            E::Interrupted {
                cause,
                item_id,
                played_ms,
            } => SessionEvent::Interrupted {
                cause: (*cause).into(),
                item_id: item_id.clone(),
                played_ms: *played_ms,
            },
            E::AudioLevels(levels) => SessionEvent::AudioLevels {
                levels: levels.into(),
            },
            E::Usage(usage) => SessionEvent::Usage {
                usage: usage.into(),
            },
            E::Metrics(metrics) => SessionEvent::Metrics {
                metrics: metrics.as_ref().into(),
            },
            E::Error {
                code,
                message,
                recoverable,
            } => SessionEvent::Error {
                code: code.clone(),
                message: message.clone(),
                recoverable: *recoverable,
            },
            E::Raw(server_event) => SessionEvent::Raw {
                event_type: server_event.event_type(Dialect::Ga).to_owned(),
                json: server_event.encode(Dialect::Ga).unwrap_or_else(|e| {
                    serde_json::json!({ "encode_error": e.to_string() }).to_string()
                }),
            },
            // Non-exhaustive upstream: an event this layer does not map yet still reaches
            // the app, described, instead of vanishing.
            other => SessionEvent::Raw {
                event_type: "voicewire.unmapped".to_owned(),
                json: serde_json::json!({ "event": format!("{other:?}") }).to_string(),
            },
        }
    }
}
