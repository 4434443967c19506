//! What the engine tells the application ([`SessionEvent`]) and the driver ([`Output`]).
//!
//! Session events are transport- and dialect-independent: the same sequence comes out of a
//! WebSocket or a WebRTC session, GA or beta server. Server events the engine does not turn
//! into a domain event pass through as [`SessionEvent::Raw`] (unknown types included), so
//! nothing the server says is lost and nothing unknown is fatal.

use voicewire_protocol::{ClientEvent, ServerEvent};

use crate::error::SessionError;
use crate::metrics::{SessionMetrics, Usage};
use crate::state::SessionState;
use crate::tools::ToolCall;

/// Input and output audio levels, as reported by the audio pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AudioLevels {
    /// Microphone RMS level, 0..1.
    pub input_rms: f32,
    /// Microphone peak level, 0..1.
    pub input_peak: f32,
    /// Speaker RMS level, 0..1.
    pub output_rms: f32,
    /// Speaker peak level, 0..1.
    pub output_peak: f32,
}

/// Why an assistant answer stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InterruptCause {
    /// The server's voice detector heard the user (barge-in).
    UserSpeech,
    /// The application called `interrupt` (or pressed push-to-talk).
    Manual,
}

/// Everything the application hears about the session.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The session moved to a new state.
    StateChanged(SessionState),
    /// The server's voice detector heard the user start speaking.
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
    /// Part of the transcript of the user's speech.
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
    /// Part of what the assistant says (audio transcript, or text in text mode).
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
        /// Full text (when `complete` is false: everything received before the answer was
        /// cut by an interruption or a lost connection).
        text: String,
        /// False when the answer was cut short.
        complete: bool,
    },
    /// The first assistant audio of an item went to the speaker.
    AssistantAudioStarted {
        /// The assistant item.
        item_id: String,
    },
    /// The assistant audio of an item finished playing or was cut.
    AssistantAudioStopped {
        /// The assistant item.
        item_id: String,
        /// Milliseconds that were played, when known (WebSocket).
        played_ms: Option<u64>,
    },
    /// The model asks for a tool to run.
    ToolCall(ToolCall),
    /// An assistant answer was interrupted.
    Interrupted {
        /// What interrupted it.
        cause: InterruptCause,
        /// The item whose audio was cut, when audio was playing.
        item_id: Option<String>,
        /// Milliseconds of it that had been played (the truncation point, WebSocket).
        played_ms: Option<u64>,
    },
    /// Audio levels (sent periodically; may be dropped under load).
    AudioLevels(AudioLevels),
    /// Token usage of one response.
    Usage(Usage),
    /// A metrics snapshot (sent after each turn; may be dropped under load).
    Metrics(Box<SessionMetrics>),
    /// Something went wrong; `recoverable` says whether the session carries on.
    Error {
        /// Machine-readable code: the server's `error.code` for server errors, `"malformed_event"`
        /// / `"invalid_audio"` for undecodable input, or [`crate::ErrorKind::code`] for
        /// connection failures (a stable snake_case string such as `"network"`).
        code: Option<String>,
        /// Human-readable message.
        message: String,
        /// True when the session continues (possibly after reconnecting).
        recoverable: bool,
    },
    /// A server event with no domain meaning here (including unknown event types).
    Raw(Box<ServerEvent>),
}

impl SessionEvent {
    /// Whether this event may be dropped when the application does not keep up
    /// (levels and metrics snapshots only; transcripts, tool calls and errors never).
    pub fn is_droppable(&self) -> bool {
        matches!(
            self,
            SessionEvent::AudioLevels(_) | SessionEvent::Metrics(_)
        )
    }

    pub(crate) fn error(error: &SessionError, recoverable: bool) -> Self {
        SessionEvent::Error {
            code: Some(error.kind.code().to_owned()),
            message: error.message.clone(),
            recoverable,
        }
    }
}

/// An audio instruction for the driver's playout buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioCommand {
    /// Queue assistant audio (24 kHz mono PCM16) for an item.
    Play {
        /// The assistant item.
        item_id: String,
        /// Samples.
        samples: Vec<i16>,
    },
    /// All of an item's audio has arrived.
    FinishItem {
        /// The assistant item.
        item_id: String,
    },
    /// Stop playback now and drop queued audio; report what was played with
    /// [`crate::Engine::handle_playout_flushed`].
    Flush,
}

/// Work for the driver outside the socket and the speaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverAction {
    /// Get a usable token (refresh it when expired), then call
    /// [`crate::Engine::handle_token`].
    FetchToken,
    /// Open the transport, then call [`crate::Engine::handle_transport_opened`] or
    /// [`crate::Engine::handle_transport_failed`].
    Connect,
    /// Close (or abandon) the current transport.
    Disconnect,
}

/// One thing for the driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send this client event on the transport (boxed: events differ a lot in size).
    Send(Box<ClientEvent>),
    /// Give this event to the application.
    Emit(SessionEvent),
    /// Drive the playout buffer.
    Audio(AudioCommand),
    /// Run a connection step.
    Driver(DriverAction),
}
