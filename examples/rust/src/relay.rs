//! A JWT-authenticated WebSocket relay in front of a Realtime server.
//!
//! Many production apps do not give devices even an ephemeral key: the app connects to
//! `wss://relay.example/realtime?token=<JWT>` (the JWT comes from the app's own login), the
//! relay checks the token, opens the upstream Realtime WebSocket with the real API key and
//! pipes messages both ways. The relay can also log, meter or filter events — this one only
//! forwards them, keeping close codes so the client still sees why a session ended.
//!
//! The upstream connection is opened *before* the client's upgrade is accepted, so an
//! upstream refusal reaches the client as an HTTP error (502) rather than a socket that
//! opens and closes at once.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::ws::{self, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

/// The claims the relay requires.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The app's user id.
    pub sub: String,
    /// Expiry, unix seconds.
    pub exp: u64,
}

/// Why a relay could not be built or a token issued.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The JWT could not be signed.
    #[error("cannot sign the token: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
    /// The listener could not bind.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// The relay.
pub struct Relay {
    upstream_ws_base: String,
    api_key: String,
    jwt_secret: Vec<u8>,
}

impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("upstream_ws_base", &self.upstream_ws_base)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Relay {
    /// A relay to `upstream_ws_base` (`wss://api.openai.com/v1`, or an emulator's
    /// `ws://127.0.0.1:P/v1`) using `api_key`, accepting HS256 JWTs signed with `jwt_secret`.
    pub fn new(upstream_ws_base: &str, api_key: &str, jwt_secret: &[u8]) -> Self {
        Relay {
            upstream_ws_base: upstream_ws_base.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            jwt_secret: jwt_secret.to_vec(),
        }
    }

    /// Signs a token for `user` valid for `ttl_secs` (what the app's login backend does).
    pub fn issue_token(&self, user: &str, ttl_secs: u64) -> Result<String, RelayError> {
        let claims = Claims {
            sub: user.to_owned(),
            exp: unix_now() + ttl_secs,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.jwt_secret),
        )?)
    }

    fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(&self.jwt_secret),
            &validation,
        )
        .map(|data| data.claims)
    }

    /// Serves `GET /realtime` on `addr` (port 0 picks one); returns the bound address.
    pub async fn serve(
        self: Arc<Self>,
        addr: SocketAddr,
    ) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), RelayError> {
        let app = axum::Router::new()
            .route("/realtime", get(upgrade))
            .with_state(self);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "relay stopped");
            }
        });
        Ok((bound, task))
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "message": message } });
    (status, axum::Json(body)).into_response()
}

type Upstream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn upgrade(
    State(relay): State<Arc<Relay>>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(token) = query.get("token") else {
        return refuse(StatusCode::UNAUTHORIZED, "missing token");
    };
    let claims = match relay.verify(token) {
        Ok(claims) => claims,
        Err(e) => {
            tracing::info!(error = %e, "relay refused a token");
            return refuse(StatusCode::UNAUTHORIZED, "invalid or expired token");
        }
    };
    let model = query
        .get("model")
        .map_or(voicewire::DEFAULT_MODEL, String::as_str);
    let upstream = match connect_upstream(&relay, model).await {
        Ok(upstream) => upstream,
        Err(e) => {
            tracing::warn!(error = %e, "upstream refused");
            return refuse(StatusCode::BAD_GATEWAY, "the voice service is unavailable");
        }
    };
    tracing::info!(user = %claims.sub, "relaying a session");
    upgrade.on_upgrade(move |client| pipe(client, upstream))
}

async fn connect_upstream(relay: &Relay, model: &str) -> Result<Upstream, tungstenite::Error> {
    let mut request = url_with_model(&relay.upstream_ws_base, model).into_client_request()?;
    let bearer = format!("Bearer {}", relay.api_key);
    let value = http::HeaderValue::from_str(&bearer)
        .map_err(|e| tungstenite::Error::HttpFormat(http::Error::from(e)))?;
    request
        .headers_mut()
        .insert(http::header::AUTHORIZATION, value);
    let (socket, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(socket)
}

fn url_with_model(base: &str, model: &str) -> String {
    let encoded: String = model
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-._".contains(*c))
        .collect();
    format!("{base}/realtime?model={encoded}")
}

/// Forwards messages both ways until either side closes; a close frame (with its code) is
/// passed on to the other side.
async fn pipe(client: WebSocket, upstream: Upstream) {
    let (mut client_tx, mut client_rx) = client.split();
    let (mut up_tx, mut up_rx) = upstream.split();
    let to_upstream = async {
        while let Some(Ok(message)) = client_rx.next().await {
            let forwarded = match message {
                ws::Message::Text(t) => tungstenite::Message::Text(t.as_str().into()),
                ws::Message::Binary(b) => tungstenite::Message::Binary(b),
                ws::Message::Close(frame) => {
                    let frame = frame.map(|f| tungstenite::protocol::CloseFrame {
                        code: f.code.into(),
                        reason: f.reason.as_str().into(),
                    });
                    let _ = up_tx.send(tungstenite::Message::Close(frame)).await;
                    break;
                }
                ws::Message::Ping(_) | ws::Message::Pong(_) => continue,
            };
            if up_tx.send(forwarded).await.is_err() {
                break;
            }
        }
        let _ = up_tx.close().await;
    };
    let to_client = async {
        while let Some(Ok(message)) = up_rx.next().await {
            let forwarded = match message {
                tungstenite::Message::Text(t) => ws::Message::Text(t.as_str().into()),
                tungstenite::Message::Binary(b) => ws::Message::Binary(b),
                tungstenite::Message::Close(frame) => {
                    let frame = frame.map(|f| ws::CloseFrame {
                        code: f.code.into(),
                        reason: f.reason.as_str().into(),
                    });
                    let _ = client_tx.send(ws::Message::Close(frame)).await;
                    break;
                }
                _ => continue,
            };
            if client_tx.send(forwarded).await.is_err() {
                break;
            }
        }
        let _ = client_tx.close().await;
    };
    tokio::select! {
        _ = to_upstream => {}
        _ = to_client => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_wrong_secrets_or_expiry_fail() {
        let relay = Relay::new("ws://x/v1", "sk", b"secret-1");
        let token = relay.issue_token("ana", 60).unwrap();
        assert_eq!(relay.verify(&token).unwrap().sub, "ana");
        let other = Relay::new("ws://x/v1", "sk", b"secret-2");
        assert!(other.verify(&token).is_err());
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                sub: "ana".into(),
                exp: unix_now() - 10,
            },
            &EncodingKey::from_secret(b"secret-1"),
        )
        .unwrap();
        assert!(relay.verify(&expired).is_err());
    }

    #[test]
    fn model_names_cannot_inject_query_parameters() {
        assert_eq!(
            url_with_model("ws://h/v1", "gpt-realtime&key=x"),
            "ws://h/v1/realtime?model=gpt-realtimekeyx"
        );
    }
}
