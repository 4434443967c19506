//! The WebSocket adapter: `GET /v1/realtime?model=…` (new session) and `?call_id=…`
//! (sideband connection to a WebRTC call's session).
//!
//! Authentication happens before the upgrade, so bad credentials get the service's HTTP
//! 401 with an error body. The adapter only moves frames: client text → session input,
//! session output → text frames, close frames or a dropped connection.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use voicewire_protocol::{ApiError, Dialect, SessionPayload, TranscriptionSessionConfig};

use crate::auth::{self, REALTIME_PROTOCOL};
use crate::observe::Transport;
use crate::secrets::SecretLookup;
use crate::server::{Shared, error_response};
use crate::session::{
    self, AudioDelivery, SessionHandle, SessionInput, SessionOutput, SessionSetup,
};

/// Largest client frame accepted: the service allows 15 MiB of base64 audio per append.
const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Read and write buffer per connection (tungstenite's default is 128 KiB each; events
/// are small, and a large append simply takes several reads).
const SOCKET_BUFFER_BYTES: usize = 16 * 1024;
/// After the client closes, how long the session gets to say goodbye.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Query parameters of `GET /v1/realtime`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RealtimeQuery {
    model: Option<String>,
    call_id: Option<String>,
    intent: Option<String>,
}

/// `GET /v1/realtime`.
pub(crate) async fn realtime_websocket(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<RealtimeQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Query(query) = query.unwrap_or_default();
    let protocols = auth::offered_subprotocols(&headers);
    let dialect = if auth::wants_beta(&headers, &protocols) {
        Dialect::Beta
    } else {
        Dialect::Ga
    };
    let Some(key) = auth::presented_key(&headers, &protocols) else {
        return error_response(StatusCode::UNAUTHORIZED, crate::rest::missing_key_error());
    };
    let mut initial = None;
    if key.is_ephemeral() {
        match shared.secrets.lookup(key.expose()) {
            SecretLookup::Valid(payload) => initial = Some(*payload),
            SecretLookup::Expired => {
                return error_response(
                    StatusCode::UNAUTHORIZED,
                    ApiError::invalid_request(
                        voicewire_protocol::error::codes::INVALID_API_KEY,
                        "The client secret has expired. Mint a new one and connect again.",
                    ),
                );
            }
            SecretLookup::Unknown => {
                return error_response(StatusCode::UNAUTHORIZED, ApiError::invalid_api_key());
            }
        }
    } else if !shared.accepts_api_key(key.expose()) {
        return error_response(StatusCode::UNAUTHORIZED, ApiError::invalid_api_key());
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                ApiError::invalid_request(
                    voicewire_protocol::error::codes::INVALID_VALUE,
                    format!("This endpoint expects a WebSocket upgrade request ({rejection})."),
                ),
            );
        }
    };
    let upgrade = upgrade
        .protocols([REALTIME_PROTOCOL])
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES);

    if let Some(call_id) = query.call_id {
        if query.model.is_some() {
            return error_response(
                StatusCode::BAD_REQUEST,
                ApiError::invalid_value("call_id", "Pass either 'model' or 'call_id', not both."),
            );
        }
        let Some(handle) = shared.session_by_call_id(&call_id) else {
            return error_response(
                StatusCode::NOT_FOUND,
                ApiError::invalid_value("call_id", format!("No active call with id '{call_id}'.")),
            );
        };
        let tasks = shared.tasks.clone();
        return upgrade
            .on_upgrade(move |socket| tasks.track_future(run_sideband(handle, socket, dialect)));
    }

    if shared.session_count() >= shared.max_sessions {
        return error_response(
            StatusCode::TOO_MANY_REQUESTS,
            ApiError::new(
                "requests",
                Some("rate_limit_exceeded"),
                "Too many concurrent sessions on this emulator (raise max_sessions).",
            ),
        );
    }
    if initial.is_none() && query.intent.as_deref() == Some("transcription") {
        initial = Some(SessionPayload::Transcription(
            TranscriptionSessionConfig::default(),
        ));
    }
    let model = query.model.or_else(|| {
        initial
            .as_ref()
            .and_then(SessionPayload::as_realtime)
            .and_then(|c| c.model.clone())
    });
    let setup = SessionSetup {
        transport: Transport::WebSocket,
        dialect,
        model,
        initial,
        call_id: None,
        audio_delivery: AudioDelivery::InEvents,
    };
    let tasks = shared.tasks.clone();
    upgrade.on_upgrade(move |socket| tasks.track_future(run_connection(shared, socket, setup)))
}

/// Carries one session over one WebSocket until either side ends it.
async fn run_connection(shared: Arc<Shared>, socket: WebSocket, setup: SessionSetup) {
    let (handle, output) = session::spawn(&shared, setup);
    pump(socket, &handle, output, true).await;
}

/// A sideband connection: sees the call's events, may send client events.
async fn run_sideband(handle: SessionHandle, socket: WebSocket, dialect: Dialect) {
    let Some(output) = handle.attach_sideband(dialect) else {
        let mut socket = socket;
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code: 1011,
                reason: "session ended".into(),
            })))
            .await;
        return;
    };
    pump(socket, &handle, output, false).await;
}

async fn pump(
    socket: WebSocket,
    handle: &SessionHandle,
    mut output: tokio::sync::mpsc::Receiver<SessionOutput>,
    owns_session: bool,
) {
    let (mut sink, mut stream) = socket.split();
    let writer = async move {
        while let Some(out) = output.recv().await {
            let sent = match out {
                SessionOutput::Text(text) => sink.send(Message::Text(text.as_ref().into())).await,
                SessionOutput::MediaAudio { .. } => Ok(()),
                SessionOutput::Close { code, reason } => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })))
                        .await;
                    let _ = sink.flush().await;
                    return;
                }
                // Dropping both halves without a close frame looks like a network failure.
                SessionOutput::Drop => return,
            };
            if sent.is_err() {
                return;
            }
        }
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: 1000,
                reason: "".into(),
            })))
            .await;
        let _ = sink.flush().await;
    };
    let reader = async {
        let reason = loop {
            match stream.next().await {
                Some(Ok(Message::Text(text))) => {
                    if !handle
                        .send(SessionInput::ClientText(text.to_string()))
                        .await
                    {
                        break "session ended".to_owned();
                    }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    if !handle.send(SessionInput::ClientBinary(bytes.len())).await {
                        break "session ended".to_owned();
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(frame))) => {
                    break match frame {
                        Some(f) => format!("client closed ({} {})", f.code, f.reason),
                        None => "client closed".to_owned(),
                    };
                }
                Some(Err(error)) => break format!("connection error: {error}"),
                None => break "connection lost".to_owned(),
            }
        };
        if owns_session {
            let _ = handle.send(SessionInput::TransportClosed { reason }).await;
        }
    };
    let mut writer = std::pin::pin!(writer);
    tokio::select! {
        () = &mut writer => {}
        () = reader => {
            let _ = tokio::time::timeout(CLOSE_GRACE, &mut writer).await;
        }
    }
}
