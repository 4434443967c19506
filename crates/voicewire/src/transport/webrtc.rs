//! The WebRTC transport: one peer connection (`voicewire-rtc`) carrying events on the
//! `oai-events` data channel and Opus audio on one sendrecv track.
//!
//! Connecting is one HTTP exchange: the offer (with the audio transceiver and the data
//! channel already in it, and every local candidate) is `POST`ed to
//! `{api_base}/realtime/calls` — as raw `application/sdp` with an ephemeral key (the mobile
//! case: the session config is bound to the key), or as multipart with `sdp` and `session`
//! parts when the caller holds a standard API key. The `201` answer is applied, the call id
//! is read from `Location`, and the link is handed to the driver once the data channel is
//! open, so "connected" means events can flow.
//!
//! Audio crosses the link as 24 kHz PCM16, the rate the WebSocket path uses, so the driver,
//! playout tracker and level meters are identical for both transports; the Opus codec runs
//! at that rate (`voicewire_rtc::TrackEncoder`/`TrackDecoder`, no resampler).
//!
//! Failure handling: every way a call can end without the driver asking ends the link with
//! `Incoming::Closed(Err(..))`, and the driver's reconnect policy places a new call (fresh
//! token when the old one is spent, config in the offer and again in `session.update`,
//! text history replayed):
//! - the server hangs up or closes the peer (`/hangup`, a session that ends): the
//!   `oai-events` data channel closes, reported at once;
//! - the network path dies with nothing said (Wi-Fi gone, NAT rebinding, a crashed
//!   media server): ICE consent stops being answered, the stack's connection-state
//!   callback reports `disconnected` after `ICE_DISCONNECTED_AFTER` (5 s) and `failed`
//!   `ICE_FAILED_AFTER` (3 s) later, which ends the link; `disconnected` alone is only logged,
//!   since a brief outage recovers by itself;
//! - connecting never finishes (the offer is answered but ICE/DTLS never completes):
//!   [`TransportError::Timeout`] after `connect_timeout`.
//!
//! (ICE restart exists in `voicewire-rtc`, but `/v1/realtime/calls` offers no
//! renegotiation endpoint, so a new call is the recovery the Realtime API supports.)
//!
//! Mute: a muted session sends no RTP at all. The core hands the transport no microphone
//! audio while muted (exactly as it sends no `input_audio_buffer.append` on WebSocket), so
//! the encoder is simply not fed. Stopping is preferred to sending silence frames: it costs
//! no bandwidth or battery, the server's VAD sees exactly what it sees on WebSocket, and
//! `voicewire-rtc` carries the pause into the RTP timestamps (with the marker bit) so the
//! server's jitter buffer treats the resumption as a new talk spurt instead of loss. At most
//! one partial 20 ms frame from before the mute waits in the encoder and leads the first
//! frame after it.

use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::mpsc;
use voicewire_protocol::SessionPayload;
use voicewire_rtc::{
    FRAME_DURATION, PeerState, RtcConfig, RtcError, RtcEvent, RtcPeer, TrackDecoder, TrackEncoder,
};

use super::{
    AudioPath, ConnectParams, CredentialKind, INCOMING_CAPACITY, Incoming, Link, OUTGOING_CAPACITY,
    Outgoing,
};
use crate::endpoint::AuthStyle;
use crate::error::{TransportError, error_message_from_body};

/// No packet from the server for this long turns the call `disconnected` (consent checks
/// run every 2 s while idle, so at least two answers in a row went missing).
const ICE_DISCONNECTED_AFTER: Duration = Duration::from_secs(5);

/// `disconnected` for this much longer turns the call `failed`, which ends the link with a
/// network error. The Realtime API offers no ICE-restart endpoint, so waiting out the
/// stack's longer default would only delay the new call the driver places.
const ICE_FAILED_AFTER: Duration = Duration::from_secs(3);

/// The value of `User-Agent` on the offer.
const USER_AGENT: &str = concat!("voicewire/", env!("CARGO_PKG_VERSION"));

/// What the server answered to the offer.
#[derive(Debug)]
struct CallAnswer {
    sdp: String,
    call_id: Option<String>,
}

/// Creates the peer, exchanges offer and answer, waits for `oai-events` to open and starts
/// the task that carries the call.
pub async fn connect(params: &ConnectParams) -> Result<Link, TransportError> {
    let timeout = params.connect_timeout;
    match tokio::time::timeout(timeout, open_call(params)).await {
        Ok(result) => result,
        Err(_) => Err(TransportError::Timeout(timeout)),
    }
}

async fn open_call(params: &ConnectParams) -> Result<Link, TransportError> {
    let config = RtcConfig {
        connect_timeout: params.connect_timeout,
        ice_disconnected_timeout: ICE_DISCONNECTED_AFTER,
        ice_failed_timeout: ICE_FAILED_AFTER,
        ..peer_config_for(&params.endpoint.api_base)
    };
    let (peer, offer) = RtcPeer::offerer(config).await.map_err(rtc_error)?;
    let answer = match post_offer(params, &offer).await {
        Ok(answer) => answer,
        Err(error) => {
            let _ = peer.close().await;
            return Err(error);
        }
    };
    tracing::debug!(
        call_id = answer.call_id.as_deref().unwrap_or("?"),
        "webrtc call answered"
    );
    if let Err(error) = peer.apply_answer(&answer.sdp).await {
        let _ = peer.close().await;
        return Err(TransportError::Io(format!(
            "the server's SDP answer is unusable: {error}"
        )));
    }
    wait_for_data_channel(&peer).await?;

    let (out_tx, out_rx) = mpsc::channel::<Outgoing>(OUTGOING_CAPACITY);
    let (in_tx, in_rx) = mpsc::channel::<Incoming>(INCOMING_CAPACITY);
    tokio::spawn(carry_call(peer, out_rx, in_tx));
    Ok(Link {
        outgoing: out_tx,
        incoming: in_rx,
        audio_path: AudioPath::MediaTrack,
        call_id: answer.call_id,
    })
}

/// Media binds where the server is: loopback for a local emulator (nothing leaves the
/// machine), every interface otherwise.
fn peer_config_for(api_base: &str) -> RtcConfig {
    let host = url::Url::parse(api_base)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return RtcConfig::loopback();
    }
    match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => RtcConfig::bound_to(ip),
        _ => RtcConfig::default(),
    }
}

/// `POST {api_base}/realtime/calls`: raw SDP with an ephemeral key, multipart with the
/// session config otherwise. Credentials follow the endpoint exactly as the WebSocket
/// handshake does (see [`authorized_offer_request`]).
///
/// The body shape follows [`ConnectParams::credential`], which the driver takes from the
/// token source: a provider's ephemeral key gets the raw offer whatever its text looks like.
async fn post_offer(params: &ConnectParams, offer: &str) -> Result<CallAnswer, TransportError> {
    let client =
        crate::tls::http_client().map_err(|error| TransportError::Io(error.to_string()))?;
    let token = params.token.value.expose();
    let request = authorized_offer_request(&client, &params.endpoint, token)?
        .header(http::header::USER_AGENT, USER_AGENT)
        .header(http::header::ACCEPT, "application/sdp");
    let request = if params.credential == CredentialKind::Ephemeral {
        request
            .header(http::header::CONTENT_TYPE, "application/sdp")
            .body(offer.to_owned())
    } else {
        let mut session = params.session.clone();
        if session.model.is_none() {
            session.model.clone_from(&params.endpoint.model);
        }
        let session_json = serde_json::to_string(&SessionPayload::Realtime(session))
            .map_err(|error| TransportError::Io(format!("encoding the session part: {error}")))?;
        let form = reqwest::multipart::Form::new()
            .part(
                "sdp",
                reqwest::multipart::Part::text(offer.to_owned())
                    .mime_str("application/sdp")
                    .map_err(|error| TransportError::Io(error.to_string()))?,
            )
            .part(
                "session",
                reqwest::multipart::Part::text(session_json)
                    .mime_str("application/json")
                    .map_err(|error| TransportError::Io(error.to_string()))?,
            );
        request.multipart(form)
    };
    let response = request.send().await.map_err(|error| {
        TransportError::Io(format!(
            "posting the offer failed: {}",
            crate::auth::token::without_url(&error)
        ))
    })?;
    let status = response.status();
    let retry_after =
        crate::error::parse_retry_after(response.headers().get(http::header::RETRY_AFTER));
    let call_id = response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(call_id_from_location);
    let body = response.text().await.map_err(|error| {
        TransportError::Io(format!(
            "reading the answer failed: {}",
            crate::auth::token::without_url(&error)
        ))
    })?;
    if !status.is_success() {
        return Err(TransportError::Http {
            status: status.as_u16(),
            message: error_message_from_body(&body),
            retry_after,
        });
    }
    if !body.trim_start().starts_with("v=0") {
        return Err(TransportError::Http {
            status: status.as_u16(),
            message: format!(
                "expected an SDP answer, got: {}",
                body.chars().take(120).collect::<String>()
            ),
            retry_after: None,
        });
    }
    Ok(CallAnswer { sdp: body, call_id })
}

/// Builds the offer `POST` with the endpoint's credentials, the same data the WebSocket
/// handshake uses: [`AuthStyle::BearerHeader`] → `Authorization: Bearer`,
/// [`AuthStyle::Header`] → that header carrying the raw token (Azure's `api-key`),
/// [`AuthStyle::None`] → no credential (a relay authenticating by `extra_query`/headers),
/// and [`AuthStyle::Subprotocol`] → `Authorization: Bearer` (subprotocols exist only on a
/// WebSocket handshake; a browser's `fetch` of the offer sends the header). Every
/// `extra_headers` entry is added and every `extra_query` pair is appended to the URL.
fn authorized_offer_request(
    client: &reqwest::Client,
    endpoint: &crate::endpoint::Endpoint,
    token: &str,
) -> Result<reqwest::RequestBuilder, TransportError> {
    let base = endpoint.api_base.trim_end_matches('/');
    let mut url = url::Url::parse(&format!("{base}/realtime/calls"))
        .map_err(|error| TransportError::InvalidUrl(format!("api_base: {error}")))?;
    if !endpoint.extra_query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in &endpoint.extra_query {
            pairs.append_pair(name, value.expose());
        }
    }
    let header_name = |name: &str| {
        http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| TransportError::InvalidUrl(format!("invalid header name {name}")))
    };
    let header_value = |value: &str| {
        http::HeaderValue::from_str(value)
            .map_err(|_| TransportError::InvalidUrl("a header value is not valid HTTP".into()))
    };
    let mut request = client.post(url);
    match &endpoint.auth {
        AuthStyle::BearerHeader | AuthStyle::Subprotocol => {
            request = request.bearer_auth(token);
        }
        AuthStyle::Header(name) => {
            let mut value = header_value(token)?;
            value.set_sensitive(true);
            request = request.header(header_name(name)?, value);
        }
        AuthStyle::None => {}
    }
    for (name, value) in &endpoint.extra_headers {
        let mut value = header_value(value.expose())?;
        value.set_sensitive(true);
        request = request.header(header_name(name)?, value);
    }
    Ok(request)
}

/// The call id is the last path segment of `Location: /v1/realtime/calls/{call_id}`.
fn call_id_from_location(location: &str) -> Option<String> {
    let id = location.trim_end_matches('/').rsplit('/').next()?;
    (!id.is_empty()).then(|| id.to_owned())
}

async fn wait_for_data_channel(peer: &RtcPeer) -> Result<(), TransportError> {
    loop {
        match peer.next_event().await {
            Some(RtcEvent::DataChannelOpen) => return Ok(()),
            Some(RtcEvent::StateChanged(PeerState::Failed)) => {
                let _ = peer.close().await;
                return Err(TransportError::Io(
                    "ICE connection failed (no route to the media server)".into(),
                ));
            }
            Some(RtcEvent::DataChannelClosed | RtcEvent::Closed) | None => {
                let _ = peer.close().await;
                return Err(TransportError::Io(
                    "the call closed before the data channel opened".into(),
                ));
            }
            Some(_) => {}
        }
    }
}

fn rtc_error(error: RtcError) -> TransportError {
    TransportError::Io(format!("webrtc: {error}"))
}

/// Carries the call until the driver closes it or the connection ends.
async fn carry_call(
    peer: RtcPeer,
    mut outgoing: mpsc::Receiver<Outgoing>,
    incoming: mpsc::Sender<Incoming>,
) {
    let codecs = TrackEncoder::new().and_then(|encoder| Ok((encoder, TrackDecoder::new()?)));
    let (mut encoder, mut decoder) = match codecs {
        Ok(codecs) => codecs,
        Err(error) => {
            let _ = peer.close().await;
            let _ = incoming.send(Incoming::Closed(Err(rtc_error(error)))).await;
            return;
        }
    };
    // After the client clears the server's output buffer (an interrupt), packets already in
    // flight belong to the cut answer: drop them until the server starts a new one.
    let mut output_cleared = false;
    let result = loop {
        tokio::select! {
            message = outgoing.recv() => match message {
                Some(Outgoing::Event(text)) => {
                    if is_event(&text, "output_audio_buffer.clear") {
                        output_cleared = true;
                    }
                    if let Err(error) = peer.send_text(&text).await {
                        break Err(TransportError::Io(format!("data channel send failed: {error}")));
                    }
                }
                Some(Outgoing::InputAudio(pcm)) => {
                    match encoder.encode(&pcm) {
                        Ok(packets) => {
                            for packet in packets {
                                match peer.send_opus(&packet, FRAME_DURATION).await {
                                    Ok(()) | Err(RtcError::AudioNotReady) => {}
                                    Err(error) => tracing::debug!(%error, "dropping an audio frame"),
                                }
                            }
                        }
                        Err(error) => tracing::warn!(%error, "encoding microphone audio failed"),
                    }
                }
                Some(Outgoing::Close) | None => {
                    let _ = peer.close().await;
                    break Ok(());
                }
            },
            event = peer.next_event() => {
                let delivered = match event {
                    Some(RtcEvent::Text(text)) => {
                        if output_cleared && is_event(&text, "output_audio_buffer.started") {
                            output_cleared = false;
                        }
                        incoming.send(Incoming::Event(text)).await.is_ok()
                    }
                    Some(RtcEvent::Binary(bytes)) => {
                        tracing::warn!(len = bytes.len(), "ignoring an unexpected binary data-channel message");
                        true
                    }
                    Some(RtcEvent::Opus(_)) if output_cleared => true,
                    Some(RtcEvent::Opus(packet)) => {
                        let mut pcm = Vec::with_capacity(voicewire_rtc::WIRE_FRAME_SAMPLES * 2);
                        match decoder.decode(&packet, &mut pcm) {
                            Ok(_) => incoming.send(Incoming::OutputAudio(pcm)).await.is_ok(),
                            Err(error) => {
                                tracing::debug!(%error, "skipping an undecodable audio packet");
                                true
                            }
                        }
                    }
                    Some(RtcEvent::StateChanged(PeerState::Failed)) => {
                        break Err(TransportError::Io("ICE connection failed".into()));
                    }
                    Some(RtcEvent::StateChanged(PeerState::Disconnected)) => {
                        tracing::info!("webrtc connectivity lost; waiting for ICE to recover or fail");
                        true
                    }
                    Some(RtcEvent::DataChannelClosed) => {
                        break Err(TransportError::CallEnded("the server hung up".into()));
                    }
                    Some(RtcEvent::Closed) | None => {
                        break Err(TransportError::CallEnded("the peer connection closed".into()));
                    }
                    Some(_) => true,
                };
                if !delivered {
                    // The driver is gone; nobody is listening.
                    let _ = peer.close().await;
                    return;
                }
            }
        }
    };
    let _ = peer.close().await;
    let stats = peer.stats();
    tracing::debug!(
        sent = stats.audio_packets_sent,
        received = stats.audio_packets_received,
        lost = stats.audio_packets_lost,
        dropped = stats.audio_packets_dropped,
        "webrtc call ended"
    );
    let _ = incoming.send(Incoming::Closed(result)).await;
}

/// Whether the JSON event `text` has `"type": kind` (a cheap check for the two
/// output-buffer events the transport itself watches; the core parses everything).
fn is_event(text: &str, kind: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Typed<'a> {
        #[serde(borrow, rename = "type")]
        kind: std::borrow::Cow<'a, str>,
    }
    text.contains(kind)
        && serde_json::from_str::<Typed<'_>>(text).is_ok_and(|event| event.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_capped_and_never_panics() {
        // The offer POST shares the crate's one Retry-After parser with the token and mint
        // paths; this pins that a hostile header on the WebRTC path is capped, not a panic.
        use crate::error::{MAX_RETRY_AFTER, parse_retry_after};
        let header = |text: &str| http::HeaderValue::from_str(text).unwrap();
        assert_eq!(
            parse_retry_after(Some(&header("1e30"))),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after(Some(&header("2.5"))),
            Some(std::time::Duration::from_millis(2500))
        );
        assert_eq!(
            parse_retry_after(Some(&header("7"))),
            Some(std::time::Duration::from_secs(7))
        );
        assert_eq!(parse_retry_after(Some(&header("-1"))), None);
        assert_eq!(parse_retry_after(Some(&header("NaN"))), None);
        assert_eq!(parse_retry_after(None), None);
    }

    #[test]
    fn loopback_servers_get_loopback_media() {
        assert_eq!(
            peer_config_for("http://127.0.0.1:8080/v1"),
            RtcConfig::loopback()
        );
        assert_eq!(
            peer_config_for("http://localhost:8080/v1"),
            RtcConfig::loopback()
        );
        assert_eq!(
            peer_config_for("http://[::1]:8080/v1"),
            RtcConfig::bound_to(std::net::Ipv6Addr::LOCALHOST.into())
        );
        assert_eq!(
            peer_config_for("https://api.openai.com/v1"),
            RtcConfig::default()
        );
    }

    #[test]
    fn output_buffer_events_are_recognised_exactly() {
        assert!(is_event(
            r#"{"type":"output_audio_buffer.clear"}"#,
            "output_audio_buffer.clear"
        ));
        assert!(!is_event(
            r#"{"type":"output_audio_buffer.cleared"}"#,
            "output_audio_buffer.clear"
        ));
        assert!(!is_event(
            r#"{"type":"x","note":"output_audio_buffer.clear"}"#,
            "output_audio_buffer.clear"
        ));
        assert!(!is_event(
            "not json output_audio_buffer.clear",
            "output_audio_buffer.clear"
        ));
    }

    #[test]
    fn call_id_is_the_last_location_segment() {
        assert_eq!(
            call_id_from_location("/v1/realtime/calls/rtc_u1_9c65").as_deref(),
            Some("rtc_u1_9c65")
        );
        assert_eq!(
            call_id_from_location("https://x/v1/realtime/calls/rtc_1/").as_deref(),
            Some("rtc_1")
        );
        assert_eq!(call_id_from_location(""), None);
    }
}
