//! The WebSocket transport: one TLS (or plain, for loopback) WebSocket carrying JSON events.
//!
//! Two tasks per connection: the reader forwards text frames to the driver; the writer sends
//! the driver's events and a ping every keepalive interval, and declares the connection dead
//! when nothing at all has been received for three intervals (a half-open TCP connection
//! otherwise looks alive until the OS gives up, minutes later).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{Connector, connect_async_tls_with_config};

use super::{
    AudioPath, ConnectParams, INCOMING_CAPACITY, Incoming, Link, OUTGOING_CAPACITY, Outgoing,
};
use crate::endpoint::AuthStyle;
use crate::error::{TransportError, error_message_from_body, parse_retry_after};

/// The value of `User-Agent` on the handshake.
const USER_AGENT: &str = concat!("voicewire/", env!("CARGO_PKG_VERSION"));

/// The handshake request: the URL plus the credential and the endpoint's extra headers.
/// Every value that may carry a secret is marked sensitive, so `http`'s `Debug` (and any
/// layer that honours the flag, such as HPACK or a logging proxy) never shows it.
fn handshake_request(
    params: &ConnectParams,
    url: &url::Url,
) -> Result<http::Request<()>, TransportError> {
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| TransportError::InvalidUrl(e.to_string()))?;
    let headers = request.headers_mut();
    let token = params.token.value.expose();
    let secret_value = |v: &str| {
        let mut value = http::HeaderValue::from_str(v)
            .map_err(|_| TransportError::InvalidUrl("a header value is not valid HTTP".into()))?;
        value.set_sensitive(true);
        Ok::<_, TransportError>(value)
    };
    match &params.endpoint.auth {
        AuthStyle::BearerHeader => {
            headers.insert(
                http::header::AUTHORIZATION,
                secret_value(&format!("Bearer {token}"))?,
            );
        }
        AuthStyle::Subprotocol => {
            headers.insert(
                http::header::SEC_WEBSOCKET_PROTOCOL,
                secret_value(&format!("realtime, openai-insecure-api-key.{token}"))?,
            );
        }
        AuthStyle::Header(name) => {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| TransportError::InvalidUrl(format!("invalid header name {name}")))?;
            headers.insert(name, secret_value(token)?);
        }
        AuthStyle::None => {}
    }
    for (name, value) in &params.endpoint.extra_headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| TransportError::InvalidUrl(format!("invalid header name {name}")))?;
        headers.insert(name, secret_value(value.expose())?);
    }
    headers.insert(
        http::header::USER_AGENT,
        http::HeaderValue::from_static(USER_AGENT),
    );
    Ok(request)
}

/// Opens a WebSocket to the endpoint and starts its reader and writer tasks.
pub async fn connect(params: &ConnectParams) -> Result<Link, TransportError> {
    let url = params.endpoint.websocket_url()?;
    let request = handshake_request(params, &url)?;

    let connector = match url.scheme() {
        "wss" => Connector::Rustls(
            crate::tls::client_config().map_err(|e| TransportError::Io(e.to_string()))?,
        ),
        _ => Connector::Plain,
    };
    tracing::debug!(url = %params.endpoint.redacted_websocket_url(), "websocket connecting");
    let handshake = connect_async_tls_with_config(request, None, true, Some(connector));
    let (stream, _response) = match tokio::time::timeout(params.connect_timeout, handshake).await {
        Err(_) => return Err(TransportError::Timeout(params.connect_timeout)),
        Ok(Err(e)) => return Err(map_handshake_error(e)),
        Ok(Ok(ok)) => ok,
    };

    let (mut sink, mut source) = stream.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(OUTGOING_CAPACITY);
    let (in_tx, in_rx) = mpsc::channel::<Incoming>(INCOMING_CAPACITY);
    let origin = Instant::now();
    let last_rx_ms = Arc::new(AtomicU64::new(0));

    // Reader: frames in, until close or error. Only it (or the writer on keepalive failure)
    // sends the final `Closed`.
    let reader_tx = in_tx.clone();
    let reader_last_rx = Arc::clone(&last_rx_ms);
    let reader = tokio::spawn(async move {
        let result = loop {
            let Some(frame) = source.next().await else {
                break Err(TransportError::Closed {
                    code: 1006,
                    reason: "connection ended without a close frame".into(),
                });
            };
            reader_last_rx.store(elapsed_ms(origin), Ordering::Relaxed);
            match frame {
                Ok(Message::Text(text)) => {
                    if reader_tx
                        .send(Incoming::Event(text.as_str().to_owned()))
                        .await
                        .is_err()
                    {
                        break Ok(());
                    }
                }
                Ok(Message::Binary(bytes)) => {
                    // The protocol never uses binary frames; report it but keep going.
                    tracing::warn!(
                        len = bytes.len(),
                        "ignoring unexpected binary websocket frame"
                    );
                }
                Ok(Message::Close(frame)) => {
                    break match frame {
                        Some(CloseFrame { code, reason }) => Err(TransportError::Closed {
                            code: u16::from(code),
                            reason: reason.as_str().to_owned(),
                        }),
                        None => Err(TransportError::Closed {
                            code: 1005,
                            reason: String::new(),
                        }),
                    };
                }
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => break Ok(()),
                Err(e) => break Err(TransportError::Io(e.to_string())),
            }
        };
        let _ = reader_tx.send(Incoming::Closed(result)).await;
    });

    // Writer: events out, pings, keepalive deadline.
    let keepalive = params
        .endpoint
        .keepalive_interval
        .max(Duration::from_millis(100));
    let writer_tx = in_tx;
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(keepalive);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                message = out_rx.recv() => match message {
                    Some(Outgoing::Event(text)) => {
                        if let Err(e) = sink.send(Message::text(text)).await {
                            tracing::debug!(error = %e, "websocket write failed");
                            break;
                        }
                    }
                    Some(Outgoing::InputAudio(_)) => {
                        // Audio travels inside events on this transport; the core never asks
                        // for this, so a stray frame is a bug worth seeing in logs.
                        tracing::warn!("input audio frame sent to the websocket transport; ignored");
                    }
                    Some(Outgoing::Close) | None => {
                        let _ = sink.send(Message::Close(Some(CloseFrame { code: CloseCode::Normal, reason: "client closing".into() }))).await;
                        let _ = sink.close().await;
                        // The reader ends when the server answers the close; make sure it does.
                        let _ = tokio::time::timeout(Duration::from_secs(2), async {
                            while !reader.is_finished() {
                                tokio::time::sleep(Duration::from_millis(10)).await;
                            }
                        }).await;
                        reader.abort();
                        let _ = writer_tx.send(Incoming::Closed(Ok(()))).await;
                        return;
                    }
                },
                _ = ticker.tick() => {
                    let silent_for = elapsed_ms(origin).saturating_sub(last_rx_ms.load(Ordering::Relaxed));
                    if silent_for > 3 * u64::try_from(keepalive.as_millis()).unwrap_or(u64::MAX) {
                        tracing::warn!(silent_for_ms = silent_for, "websocket keepalive expired");
                        reader.abort();
                        let _ = writer_tx.send(Incoming::Closed(Err(TransportError::Io("keepalive timeout: the server stopped answering".into())))).await;
                        return;
                    }
                    if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                        break;
                    }
                }
            }
        }
        // A write failed: the reader will report how the connection ended.
    });

    Ok(Link {
        outgoing: out_tx,
        incoming: in_rx,
        audio_path: AudioPath::InEvents,
        call_id: params.endpoint.call_id.clone(),
    })
}

fn elapsed_ms(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn map_handshake_error(e: WsError) -> TransportError {
    match e {
        WsError::Http(response) => {
            let status = response.status().as_u16();
            let retry_after = parse_retry_after(response.headers().get(http::header::RETRY_AFTER));
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            TransportError::Http {
                status,
                message: error_message_from_body(&body),
                retry_after,
            }
        }
        WsError::Io(io) => TransportError::Io(io.to_string()),
        WsError::Tls(tls) => TransportError::Io(format!("TLS: {tls}")),
        WsError::Url(u) => TransportError::InvalidUrl(u.to_string()),
        other => TransportError::Io(other.to_string()),
    }
}

#[cfg(test)]
mod handshake_tests {
    use super::*;
    use crate::auth::ClientSecret;
    use crate::endpoint::Endpoint;
    use crate::transport::CredentialKind;

    fn params(endpoint: Endpoint) -> ConnectParams {
        ConnectParams {
            endpoint,
            token: ClientSecret::permanent("sk-handshake-secret"),
            session: voicewire_protocol::SessionConfig::default(),
            connect_timeout: Duration::from_secs(5),
            credential: CredentialKind::ApiKey,
        }
    }

    #[test]
    fn credential_and_extra_header_values_are_sensitive() {
        for auth in [
            AuthStyle::BearerHeader,
            AuthStyle::Subprotocol,
            AuthStyle::Header("api-key".into()),
        ] {
            let endpoint = Endpoint::with_api_base("http://127.0.0.1:9/v1")
                .auth_style(auth.clone())
                .header("x-relay-key", "rk_secret");
            let params = params(endpoint);
            let url = params.endpoint.websocket_url().unwrap();
            let request = handshake_request(&params, &url).unwrap();
            let headers = request.headers();
            let credential = match &auth {
                AuthStyle::BearerHeader => headers.get(http::header::AUTHORIZATION),
                AuthStyle::Subprotocol => headers.get(http::header::SEC_WEBSOCKET_PROTOCOL),
                _ => headers.get("api-key"),
            }
            .unwrap();
            assert!(credential.is_sensitive(), "{auth:?}");
            assert!(headers.get("x-relay-key").unwrap().is_sensitive());
            assert!(
                !headers
                    .get(http::header::USER_AGENT)
                    .unwrap()
                    .is_sensitive()
            );
            let shown = format!("{request:?}");
            assert!(
                !shown.contains("sk-handshake-secret") && !shown.contains("rk_secret"),
                "{shown}"
            );
        }
    }
}
