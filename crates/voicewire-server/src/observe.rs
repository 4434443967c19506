//! What tests can watch: every client event a session received, every server event it
//! sent, and connection lifecycle, per session id.
//!
//! Observation is a `tokio::sync::broadcast` channel: free when nobody listens, and a slow
//! observer loses the oldest entries (it sees `RecvError::Lagged`) instead of slowing the
//! sessions down. Event payloads are shared (`Arc`), so observing does not copy audio.

use std::sync::Arc;
use std::time::Instant;

use voicewire_protocol::{ApiError, ClientEvent, Dialect, ServerEvent};

use crate::fault::Fault;

/// Which adapter carries a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `GET /v1/realtime` WebSocket.
    WebSocket,
    /// `POST /v1/realtime/calls` WebRTC peer connection (events on `oai-events`).
    WebRtc,
}

/// One observation.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The session (`sess_…`).
    pub session_id: String,
    /// When it happened.
    pub at: Instant,
    /// What happened.
    pub kind: ObservedKind,
}

/// What happened in a session.
#[derive(Debug, Clone)]
pub enum ObservedKind {
    /// A transport connected (the session's own, or a sideband `?call_id=` WebSocket).
    ConnectionOpened {
        /// The adapter.
        transport: Transport,
        /// The connection's dialect.
        dialect: Dialect,
        /// The `model` query parameter or the minted session's model.
        model: Option<String>,
        /// True for a sideband WebSocket joining an existing call.
        sideband: bool,
    },
    /// A client event was received and decoded.
    ClientEvent(Arc<ClientEvent>),
    /// A client frame could not be decoded; the session answered with this error.
    RejectedClientFrame(ApiError),
    /// A server event was sent.
    ServerEvent(Arc<ServerEvent>),
    /// Input audio arrived on a media track (WebRTC), in samples at 24 kHz.
    MediaInputAudio {
        /// Number of samples.
        samples: usize,
    },
    /// Output audio was handed to a media track (WebRTC), in samples at 24 kHz.
    MediaOutputAudio {
        /// The assistant item the audio belongs to.
        item_id: String,
        /// Number of samples.
        samples: usize,
    },
    /// A fault was applied.
    FaultApplied(Fault),
    /// The session ended.
    ConnectionClosed {
        /// Why, in words.
        reason: String,
    },
}

impl Observed {
    /// The server event, if this is one.
    pub fn server_event(&self) -> Option<&ServerEvent> {
        match &self.kind {
            ObservedKind::ServerEvent(e) => Some(e),
            _ => None,
        }
    }

    /// The client event, if this is one.
    pub fn client_event(&self) -> Option<&ClientEvent> {
        match &self.kind {
            ObservedKind::ClientEvent(e) => Some(e),
            _ => None,
        }
    }
}

/// Sending side, shared by all sessions of one emulator.
#[derive(Debug, Clone)]
pub(crate) struct Observer {
    tx: tokio::sync::broadcast::Sender<Observed>,
}

impl Observer {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            tx: tokio::sync::broadcast::channel(capacity.max(16)).0,
        }
    }

    pub(crate) fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Observed> {
        self.tx.subscribe()
    }

    /// True when someone listens (lets callers skip building observations).
    pub(crate) fn active(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub(crate) fn emit(&self, session_id: &str, kind: ObservedKind) {
        if self.active() {
            let _ = self.tx.send(Observed {
                session_id: session_id.to_owned(),
                at: Instant::now(),
                kind,
            });
        }
    }
}
