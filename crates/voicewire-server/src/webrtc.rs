//! The WebRTC adapter: `POST /v1/realtime/calls` answers an SDP offer and carries one
//! session over the peer connection; `POST /v1/realtime/calls/{call_id}/hangup` ends it.
//!
//! Requests come in the service's two shapes: a raw `application/sdp` body (browsers and
//! mobile apps, normally with an ephemeral key whose session config applies), or
//! `multipart/form-data` with an `sdp` part and a JSON `session` part (server side, with
//! the standard key; openai-python's `realtime.calls.create`). The answer is `201` with
//! `Content-Type: application/sdp` and `Location: /v1/realtime/calls/{call_id}`; errors
//! use the service's JSON error body.
//!
//! The peer (`voicewire-rtc`) binds only the address the client reached us on (the `Host`
//! header), so a loopback emulator keeps its media on loopback. The session is the same
//! actor the WebSocket adapter drives, with `AudioDelivery::MediaTrack`: data-channel text
//! goes in and out as events, microphone Opus is decoded to 24 kHz PCM16 for the server
//! VAD, and reply audio (paced in real time by the actor, in 20 ms chunks) is encoded to
//! Opus on the outgoing track. A sideband WebSocket joins with `?call_id=` (see `ws.rs`).
//!
//! How a call ends, as the client sees it: a hang-up, a `close` fault, expiry or shutdown
//! close the peer properly (the client's `oai-events` closes at once); a
//! `drop_connection` fault is a network failure, so the call's UDP path goes dead with
//! nothing said (`RtcPeer::sever_network`) and the client has to notice through ICE
//! consent, exactly as when a phone loses its network.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Deserialize;
use serde_json::Value;
use voicewire_protocol::{ApiError, Dialect, SessionPayload};
use voicewire_rtc::{
    FRAME_DURATION, PeerState, RtcConfig, RtcError, RtcEvent, RtcPeer, TrackDecoder, TrackEncoder,
    WIRE_FRAME_SAMPLES,
};

use crate::auth;
use crate::observe::Transport;
use crate::secrets::SecretLookup;
use crate::server::{Shared, error_response};
use crate::session::{
    self, AudioDelivery, SessionHandle, SessionInput, SessionOutput, SessionSetup,
};

/// A client whose packets stop for this long turns the call `disconnected`…
const CLIENT_SILENT_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// …and this much longer `failed`: the call and its session end, so a phone that lost its
/// network without hanging up does not leave a call behind.
const CLIENT_GONE_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

/// Query parameters of `POST /v1/realtime/calls` (an older guide appended `?model=`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CallQuery {
    model: Option<String>,
}

/// A request failed before a call existed; rendered as the service's error response.
struct CallError(StatusCode, Box<ApiError>);

impl CallError {
    fn new(status: StatusCode, error: ApiError) -> Self {
        Self(status, Box::new(error))
    }
}

impl IntoResponse for CallError {
    fn into_response(self) -> Response {
        error_response(self.0, *self.1)
    }
}

fn bad_request(error: ApiError) -> CallError {
    CallError::new(StatusCode::BAD_REQUEST, error)
}

/// `POST /v1/realtime/calls`.
pub(crate) async fn create_call(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<CallQuery>, axum::extract::rejection::QueryRejection>,
    request: Request,
) -> Response {
    let Query(query) = query.unwrap_or_default();
    match answer_call(shared, query, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// `POST /v1/realtime/calls/{call_id}/hangup`.
pub(crate) async fn hangup_call(
    State(shared): State<Arc<Shared>>,
    Path(call_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = authorize(&shared, &headers) {
        return error.into_response();
    }
    let Some(handle) = shared.session_by_call_id(&call_id) else {
        return error_response(
            StatusCode::NOT_FOUND,
            ApiError::invalid_value("call_id", format!("No active call with id '{call_id}'.")),
        );
    };
    handle
        .send(SessionInput::TransportClosed {
            reason: "call hung up".to_owned(),
        })
        .await;
    StatusCode::OK.into_response()
}

async fn answer_call(
    shared: Arc<Shared>,
    query: CallQuery,
    request: Request,
) -> Result<Response, CallError> {
    // The body is read before the request is judged: answering while a client is still
    // uploading makes HTTP clients see a reset connection instead of our error.
    let headers = request.headers().clone();
    let offer = read_offer(&shared, request).await;
    let secret_session = authorize(&shared, &headers)?;
    let (offer, session_part) = offer?;
    if shared.session_count() >= shared.max_sessions {
        return Err(CallError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ApiError::new(
                "requests",
                Some("rate_limit_exceeded"),
                "Too many concurrent sessions on this emulator (raise max_sessions).",
            ),
        ));
    }
    let media_ip = media_address(&headers);
    let initial = session_part.or(secret_session);
    let model = query.model.or_else(|| {
        initial
            .as_ref()
            .and_then(SessionPayload::as_realtime)
            .and_then(|config| config.model.clone())
    });

    let config = RtcConfig {
        ice_disconnected_timeout: CLIENT_SILENT_AFTER,
        ice_failed_timeout: CLIENT_GONE_AFTER,
        ..RtcConfig::bound_to(media_ip)
    };
    let (peer, answer) = RtcPeer::answerer(config, &offer)
        .await
        .map_err(|error| match error {
            RtcError::InvalidSdp(_) | RtcError::NoCommonCodec => bad_request(
                ApiError::invalid_value("sdp", format!("Invalid SDP offer: {error}.")),
            ),
            other => CallError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ApiError::server_error(format!("Could not answer the offer: {other}.")),
            ),
        })?;
    let call_id = new_call_id();
    let setup = SessionSetup {
        transport: Transport::WebRtc,
        dialect: Dialect::Ga,
        model,
        initial,
        call_id: Some(call_id.clone()),
        audio_delivery: AudioDelivery::MediaTrack,
    };
    let (handle, output) = session::spawn(&shared, setup);
    tracing::debug!(%call_id, session = handle.id(), "WebRTC call answered");
    let call = carry_call(Arc::clone(&shared), peer, handle, output);
    shared.tasks.spawn(call);

    let location =
        HeaderValue::from_str(&format!("/v1/realtime/calls/{call_id}")).map_err(|error| {
            CallError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ApiError::server_error(error.to_string()),
            )
        })?;
    Ok((
        StatusCode::CREATED,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/sdp"),
            ),
            (header::LOCATION, location),
        ],
        answer,
    )
        .into_response())
}

/// Checks the key; returns the session config bound to an ephemeral key.
fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<Option<SessionPayload>, CallError> {
    let Some(key) = auth::presented_key(headers, &[]) else {
        return Err(CallError::new(
            StatusCode::UNAUTHORIZED,
            crate::rest::missing_key_error(),
        ));
    };
    if key.is_ephemeral() {
        return match shared.secrets.lookup(key.expose()) {
            SecretLookup::Valid(payload) => Ok(Some(*payload)),
            SecretLookup::Expired => Err(CallError::new(
                StatusCode::UNAUTHORIZED,
                ApiError::invalid_request(
                    voicewire_protocol::error::codes::INVALID_API_KEY,
                    "The client secret has expired. Mint a new one and connect again.",
                ),
            )),
            SecretLookup::Unknown => Err(CallError::new(
                StatusCode::UNAUTHORIZED,
                ApiError::invalid_api_key(),
            )),
        };
    }
    if shared.accepts_api_key(key.expose()) {
        Ok(None)
    } else {
        Err(CallError::new(
            StatusCode::UNAUTHORIZED,
            ApiError::invalid_api_key(),
        ))
    }
}

/// Reads the offer (and the multipart `session` part) from either request shape.
async fn read_offer(
    shared: &Arc<Shared>,
    request: Request,
) -> Result<(String, Option<SessionPayload>), CallError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, shared)
            .await
            .map_err(|rejection| {
                bad_request(invalid_body(format!(
                    "Invalid multipart body: {rejection}."
                )))
            })?;
        return read_multipart(multipart).await;
    }
    if !(content_type.is_empty()
        || content_type.starts_with("application/sdp")
        || content_type.starts_with("text/plain"))
    {
        return Err(bad_request(invalid_body(format!(
            "Unsupported Content-Type '{content_type}'. Send the SDP offer as application/sdp, \
             or multipart/form-data with 'sdp' and 'session' parts."
        ))));
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_OFFER_BYTES)
        .await
        .map_err(|error| bad_request(invalid_body(format!("Could not read the body: {error}."))))?;
    let offer = String::from_utf8(body.to_vec()).map_err(|_| {
        bad_request(ApiError::invalid_value(
            "sdp",
            "The SDP offer is not UTF-8 text.",
        ))
    })?;
    Ok((offer, None))
}

/// An SDP offer is a few kilobytes; anything this large is not one.
const MAX_OFFER_BYTES: usize = 256 * 1024;

async fn read_multipart(
    mut multipart: Multipart,
) -> Result<(String, Option<SessionPayload>), CallError> {
    let mut offer = None;
    let mut session = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| bad_request(invalid_body(format!("Invalid multipart body: {error}."))))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let text = field.text().await.map_err(|error| {
            bad_request(invalid_body(format!("Invalid '{name}' part: {error}.")))
        })?;
        match name.as_str() {
            "sdp" => offer = Some(text),
            "session" => session = Some(parse_session_part(&text)?),
            other => return Err(bad_request(ApiError::unknown_parameter(other))),
        }
    }
    let offer = offer.ok_or_else(|| bad_request(ApiError::missing_required_parameter("sdp")))?;
    Ok((offer, session))
}

/// The `session` part: a JSON realtime (or transcription) session config.
fn parse_session_part(text: &str) -> Result<SessionPayload, CallError> {
    let raw: Value = serde_json::from_str(text).map_err(|error| {
        bad_request(ApiError::invalid_value(
            "session",
            format!("The 'session' part is not valid JSON ({error})."),
        ))
    })?;
    let payload = SessionPayload::deserialize(&raw).map_err(|error| {
        bad_request(ApiError::invalid_value(
            "session",
            format!("Invalid 'session': {error}."),
        ))
    })?;
    if let SessionPayload::Realtime(config) = &payload {
        crate::session::settings::validate_update(Some(&raw), config, None, Dialect::Ga, false)
            .map_err(bad_request)?;
    }
    Ok(payload)
}

fn invalid_body(message: String) -> ApiError {
    ApiError::new(
        voicewire_protocol::error::INVALID_REQUEST_ERROR,
        None,
        message,
    )
}

/// The IP the client used to reach us, from `Host`: media binds there, so a client that
/// reached a loopback emulator gets loopback candidates only. Names resolve to loopback.
fn media_address(headers: &HeaderMap) -> IpAddr {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let without_port = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    match without_port.parse::<IpAddr>() {
        Ok(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// `rtc_…`, the shape of the service's call ids.
fn new_call_id() -> String {
    let suffix: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("rtc_{suffix}")
}

/// Moves one call's traffic between the peer and its session until either ends.
async fn carry_call(
    shared: Arc<Shared>,
    peer: RtcPeer,
    handle: SessionHandle,
    mut output: tokio::sync::mpsc::Receiver<SessionOutput>,
) {
    let (mut encoder, mut decoder) = match (TrackEncoder::new(), TrackDecoder::new()) {
        (Ok(encoder), Ok(decoder)) => (encoder, decoder),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(%error, "cannot start the call's Opus codec");
            let _ = peer.close().await;
            handle
                .send(SessionInput::TransportClosed {
                    reason: format!("codec unavailable: {error}"),
                })
                .await;
            return;
        }
    };
    let mut pcm = Vec::with_capacity(WIRE_FRAME_SAMPLES * 6);
    let reason = loop {
        tokio::select! {
            () = shared.stop.cancelled() => break "emulator shutting down".to_owned(),
            event = peer.next_event() => match event {
                Some(RtcEvent::Text(text)) => {
                    if !handle.send(SessionInput::ClientText(text)).await {
                        break "session ended".to_owned();
                    }
                }
                Some(RtcEvent::Binary(bytes)) => {
                    if !handle.send(SessionInput::ClientBinary(bytes.len())).await {
                        break "session ended".to_owned();
                    }
                }
                Some(RtcEvent::Opus(packet)) => {
                    pcm.clear();
                    match decoder.decode(&packet, &mut pcm) {
                        Ok(_) => {
                            let samples = std::mem::replace(&mut pcm, Vec::with_capacity(WIRE_FRAME_SAMPLES * 6));
                            if !handle.send(SessionInput::MediaAudio(samples)).await {
                                break "session ended".to_owned();
                            }
                        }
                        Err(error) => tracing::debug!(%error, "skipping an undecodable Opus packet"),
                    }
                }
                Some(RtcEvent::StateChanged(PeerState::Failed)) => break "ICE connection failed".to_owned(),
                Some(RtcEvent::DataChannelClosed) => break "client closed the data channel".to_owned(),
                Some(RtcEvent::Closed) | None => break "peer connection closed".to_owned(),
                Some(_) => {}
            },
            out = output.recv() => match out {
                Some(SessionOutput::Text(text)) => {
                    if let Err(error) = peer.send_text(&text).await {
                        break format!("data channel send failed: {error}");
                    }
                }
                Some(SessionOutput::MediaAudio { samples, discard_queued, .. }) => {
                    if discard_queued {
                        encoder.discard_pending();
                    }
                    if !samples.is_empty()
                        && let Err(error) = send_reply_audio(&peer, &mut encoder, &samples).await
                    {
                        break error;
                    }
                }
                Some(SessionOutput::Close { reason, .. }) => {
                    let _ = peer.close().await;
                    return finish(&handle, format!("session closed the call: {reason}")).await;
                }
                Some(SessionOutput::Drop) => {
                    // A network failure, not a hang-up: the path goes dead with nothing
                    // said (the client must notice through ICE consent), then the peer is
                    // closed into the void so no resources are left behind.
                    tracing::debug!("dropping the WebRTC call without a word (fault)");
                    peer.sever_network();
                    let _ = peer.close().await;
                    return;
                }
                // The session ended (a hang-up, expiry, shutdown): close the call properly
                // so the client sees its data channel close at once.
                None => {
                    let _ = peer.close().await;
                    return;
                }
            },
        }
    };
    let _ = peer.close().await;
    finish(&handle, reason).await;
}

async fn finish(handle: &SessionHandle, reason: String) {
    tracing::debug!(%reason, "WebRTC call ended");
    handle.send(SessionInput::TransportClosed { reason }).await;
}

/// Encodes one chunk of reply audio and sends its packets. A chunk shorter than a frame is
/// the end of a reply: it is padded and sent at once instead of waiting for more.
async fn send_reply_audio(
    peer: &RtcPeer,
    encoder: &mut TrackEncoder,
    samples: &[i16],
) -> Result<(), String> {
    let mut packets = encoder
        .encode(samples)
        .map_err(|error| format!("encoding reply audio failed: {error}"))?;
    if samples.len() < WIRE_FRAME_SAMPLES {
        packets.extend(
            encoder
                .flush()
                .map_err(|error| format!("encoding reply audio failed: {error}"))?,
        );
    }
    for packet in packets {
        match peer.send_opus(&packet, FRAME_DURATION).await {
            Ok(()) => {}
            // The track binds right after the DTLS handshake; audio before that is moot.
            Err(RtcError::AudioNotReady) => {
                tracing::trace!("reply audio before the track is ready")
            }
            Err(error) => return Err(format!("audio send failed: {error}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_binds_the_address_the_client_used() {
        let mut headers = HeaderMap::new();
        for (host, expected) in [
            ("127.0.0.1:8080", "127.0.0.1"),
            ("[::1]:8080", "::1"),
            ("localhost:8080", "127.0.0.1"),
            ("0.0.0.0:1", "127.0.0.1"),
            ("192.168.1.20", "192.168.1.20"),
        ] {
            headers.insert(header::HOST, HeaderValue::from_static(host));
            assert_eq!(media_address(&headers).to_string(), expected, "{host}");
        }
        headers.remove(header::HOST);
        assert_eq!(media_address(&headers), IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn call_ids_look_like_the_service() {
        let id = new_call_id();
        assert!(id.starts_with("rtc_") && id.len() == 28, "{id}");
        assert_ne!(id, new_call_id());
    }

    #[test]
    fn session_parts_are_validated() {
        assert!(parse_session_part(r#"{"type":"realtime","model":"gpt-realtime"}"#).is_ok());
        let CallError(status, error) = parse_session_part("{not json").err().unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error.param.as_deref(), Some("session"));
        assert!(parse_session_part(r#"{"type":"nonsense"}"#).is_err());
    }
}
