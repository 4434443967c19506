//! A minimal token backend: the server an app calls before every voice session.
//!
//! `POST /voice/token` with the app's own user credential (`Authorization: Bearer <app
//! token>`) answers `{"value": "ek_…", "expires_at": …, "config_version": N}`: a short-lived
//! client secret minted with the real API key (which never leaves this server) and bound to
//! the voice config that is live right now. What it shows:
//!
//! - **Versioned voice config.** Model, voice, instructions and a stored prompt id pinned to
//!   a version or left at "latest" live on the server. Publishing a new version changes
//!   every new session at once, with no app release; old versions stay for rollback.
//! - **Per-user rate limiting.** Each user may mint `limit` secrets per `window`; past that
//!   the answer is HTTP 429 with `Retry-After`, which VoiceWire token providers turn into
//!   a typed rate-limit error.
//! - **App authentication.** Unknown app tokens get 401 before anything is minted.
//!
//! Storage is in memory to keep the example short; a production backend keeps configs and
//! counters in a database (and in Redis when it runs on several machines).

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::json;
use voicewire::protocol::Nullable;
use voicewire::protocol::session::Prompt;
use voicewire::{MintingClient, SessionConfig};

/// Which version of a stored prompt sessions use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptVersion {
    /// Always the newest version of the prompt (edits go live at once).
    Latest,
    /// Exactly this version.
    Pinned(String),
}

/// One version of the voice configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoiceConfig {
    /// Model, e.g. `gpt-realtime`.
    pub model: String,
    /// Voice, e.g. `marin`.
    pub voice: String,
    /// System instructions (used alongside or instead of a stored prompt).
    pub instructions: Option<String>,
    /// A stored prompt (`pmpt_…`) and the version to use.
    pub prompt: Option<(String, PromptVersion)>,
}

impl VoiceConfig {
    /// The session configuration a secret is minted with.
    pub fn session_config(&self) -> SessionConfig {
        let mut config = SessionConfig {
            model: Some(self.model.clone()),
            ..SessionConfig::default()
        }
        .with_voice(self.voice.as_str());
        if let Some(instructions) = &self.instructions {
            config = config.with_instructions(instructions.clone());
        }
        if let Some((id, version)) = &self.prompt {
            config.prompt = Nullable::Value(Prompt {
                id: id.clone(),
                version: match version {
                    PromptVersion::Latest => None,
                    PromptVersion::Pinned(v) => Some(v.clone()),
                },
                variables: None,
            });
        }
        config
    }
}

/// Every version of the voice config and which one is live.
#[derive(Debug, Default)]
pub struct ConfigStore {
    versions: Vec<VoiceConfig>,
    live: usize,
}

impl ConfigStore {
    /// Adds a version and makes it live; returns its number (1-based).
    pub fn publish(&mut self, config: VoiceConfig) -> usize {
        self.versions.push(config);
        self.live = self.versions.len();
        self.live
    }

    /// Makes an earlier version live again; `false` when there is no such version.
    pub fn roll_back_to(&mut self, version: usize) -> bool {
        if version == 0 || version > self.versions.len() {
            return false;
        }
        self.live = version;
        true
    }

    /// The live version and its number.
    pub fn live(&self) -> Option<(usize, &VoiceConfig)> {
        self.versions
            .get(self.live.checked_sub(1)?)
            .map(|c| (self.live, c))
    }
}

/// A fixed-window counter per user.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    users: HashMap<String, (Instant, u32)>,
}

impl RateLimiter {
    /// `limit` requests per `window` per user.
    pub fn new(limit: u32, window: Duration) -> Self {
        RateLimiter {
            limit,
            window,
            users: HashMap::new(),
        }
    }

    /// Counts a request at `now`; `Err(wait)` when the user is over the limit.
    pub fn check(&mut self, user: &str, now: Instant) -> Result<(), Duration> {
        let entry = self.users.entry(user.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            return Err(self.window.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// The backend's state.
pub struct Backend {
    minter: MintingClient,
    /// Voice config versions (shared so an admin endpoint or a test can publish).
    pub configs: Mutex<ConfigStore>,
    limiter: Mutex<RateLimiter>,
    /// App token → user id. Stands in for the app's real session check.
    users: HashMap<String, String>,
    ttl: Duration,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend")
            .field("minter", &self.minter)
            .field("users", &self.users.len())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// A backend minting at `api_base` with `api_key`, allowing each user `limit` secrets per
    /// `window`, for the users in `users` (app token → user id).
    pub fn new(
        api_base: &str,
        api_key: &str,
        limit: u32,
        window: Duration,
        users: HashMap<String, String>,
    ) -> Result<Self, voicewire::Error> {
        Ok(Backend {
            minter: MintingClient::new(api_key)?.with_api_base(api_base),
            configs: Mutex::new(ConfigStore::default()),
            limiter: Mutex::new(RateLimiter::new(limit, window)),
            users,
            ttl: Duration::from_secs(600),
        })
    }

    /// The HTTP routes.
    pub fn router(self: Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route("/voice/token", post(mint_token))
            .with_state(self)
    }

    /// Serves on `addr` (port 0 picks one); returns the bound address and the server task.
    pub async fn serve(
        self: Arc<Self>,
        addr: SocketAddr,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let app = self.router();
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "backend stopped");
            }
        });
        Ok((bound, task))
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": { "message": message } }))).into_response()
}

async fn mint_token(State(backend): State<Arc<Backend>>, headers: HeaderMap) -> Response {
    let user = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| backend.users.get(token));
    let Some(user) = user else {
        return error(StatusCode::UNAUTHORIZED, "unknown app session");
    };
    let limited = backend
        .limiter
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .check(user, Instant::now());
    if let Err(wait) = limited {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many voice sessions; try again later",
        );
        let secs = wait.as_secs().max(1).to_string();
        if let Ok(value) = header::HeaderValue::from_str(&secs) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let live = backend
        .configs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .live()
        .map(|(n, c)| (n, c.session_config()));
    let Some((version, session)) = live else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "no voice config published");
    };
    match backend
        .minter
        .create_client_secret(&session, backend.ttl)
        .await
    {
        Ok(secret) => {
            tracing::info!(%user, version, "minted a client secret");
            Json(json!({
                "value": secret.value.expose(),
                "expires_at": secret.expires_at,
                "config_version": version,
            }))
            .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "minting failed");
            error(StatusCode::BAD_GATEWAY, "could not create a voice session")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_windows_reset() {
        let mut r = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(r.check("ana", t0).is_ok());
        assert!(r.check("ana", t0).is_ok());
        let wait = r.check("ana", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(r.check("ben", t0).is_ok(), "limits are per user");
        assert!(r.check("ana", t0 + Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn configs_publish_and_roll_back() {
        let mut s = ConfigStore::default();
        assert!(s.live().is_none());
        let v1 = VoiceConfig {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
            instructions: None,
            prompt: Some(("pmpt_1".into(), PromptVersion::Pinned("3".into()))),
        };
        assert_eq!(s.publish(v1.clone()), 1);
        let v2 = VoiceConfig {
            prompt: Some(("pmpt_1".into(), PromptVersion::Latest)),
            ..v1
        };
        assert_eq!(s.publish(v2), 2);
        let cfg = serde_json::to_value(s.live().unwrap().1.session_config()).unwrap();
        assert_eq!(cfg["prompt"]["id"], "pmpt_1");
        assert!(
            cfg["prompt"].get("version").is_none(),
            "latest = no version"
        );
        assert!(s.roll_back_to(1));
        let cfg = serde_json::to_value(s.live().unwrap().1.session_config()).unwrap();
        assert_eq!(cfg["prompt"]["version"], "3");
        assert_eq!(cfg["audio"]["output"]["voice"], "marin");
        assert!(!s.roll_back_to(7));
    }
}
