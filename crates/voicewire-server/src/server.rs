//! Starting, observing, steering and stopping an emulator: [`Emulator::start`] and the
//! [`EmulatorHandle`] it returns, plus the HTTP router.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use voicewire_protocol::{ApiError, Dialect, ErrorBody};

use crate::config::{EmulatorConfig, SynthChoice};
use crate::error::EmulatorError;
use crate::fault::{Fault, FaultConfig, FaultTarget};
use crate::observe::{Observed, Observer, Transport};
use crate::scenario::Scenario;
use crate::secrets::SecretStore;
use crate::session::SessionHandle;
use crate::synth::SpeechSynth;
use crate::tls::{SelfSignedTls, TlsListener};

/// How long [`EmulatorHandle::shutdown`] waits for sessions to close before giving up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A live session, as listed by [`EmulatorHandle::sessions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// `sess_…`
    pub id: String,
    /// The adapter carrying it.
    pub transport: Transport,
    /// The dialect of its (first) connection.
    pub dialect: Dialect,
    /// The model it was opened for.
    pub model: Option<String>,
    /// The WebRTC call id (`rtc_…`), for sessions a sideband WebSocket can join.
    pub call_id: Option<String>,
    /// When it started.
    pub started_at: SystemTime,
}

/// State shared by the HTTP handlers and the sessions of one emulator.
pub(crate) struct Shared {
    pub(crate) api_key: Option<String>,
    pub(crate) audio_pace: crate::config::AudioPace,
    pub(crate) scenario: Option<Arc<Scenario>>,
    pub(crate) faults: FaultConfig,
    pub(crate) max_session_duration: Option<Duration>,
    pub(crate) max_sessions: usize,
    pub(crate) max_retained_audio: Duration,
    pub(crate) secrets: SecretStore,
    pub(crate) sessions: Mutex<HashMap<String, (SessionInfo, SessionHandle)>>,
    pub(crate) observer: Observer,
    pub(crate) synth: SpeechSynth,
    /// Cancelled at shutdown; every session and listener watches it.
    pub(crate) stop: CancellationToken,
    /// Every session and connection task, joined at shutdown.
    pub(crate) tasks: TaskTracker,
    /// Mint requests still to be refused with HTTP 429.
    pub(crate) mint_refusals_left: AtomicU32,
}

impl Shared {
    /// Registers a live session.
    pub(crate) fn register(&self, info: SessionInfo, handle: SessionHandle) {
        self.lock_sessions().insert(info.id.clone(), (info, handle));
    }

    /// Removes a session that ended.
    pub(crate) fn unregister(&self, id: &str) {
        self.lock_sessions().remove(id);
    }

    /// Live session count.
    pub(crate) fn session_count(&self) -> usize {
        self.lock_sessions().len()
    }

    /// The session serving a WebRTC call id (for sideband WebSockets).
    pub(crate) fn session_by_call_id(&self, call_id: &str) -> Option<SessionHandle> {
        self.lock_sessions()
            .values()
            .find(|(info, _)| info.call_id.as_deref() == Some(call_id))
            .map(|(_, handle)| handle.clone())
    }

    fn lock_sessions(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (SessionInfo, SessionHandle)>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a presented non-ephemeral key is acceptable.
    pub(crate) fn accepts_api_key(&self, key: &str) -> bool {
        match &self.api_key {
            None => !key.is_empty(),
            Some(required) => crate::auth::constant_time_eq(required, key),
        }
    }

    /// Takes one pending mint refusal, if any.
    pub(crate) fn take_mint_refusal(&self) -> bool {
        self.mint_refusals_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| match left {
                0 => None,
                u32::MAX => Some(u32::MAX),
                n => Some(n - 1),
            })
            .is_ok()
    }
}

/// An HTTP error with the service's `{"error": {...}}` body.
pub(crate) fn error_response(status: StatusCode, error: ApiError) -> Response {
    (status, axum::Json(ErrorBody::from(error))).into_response()
}

/// The Realtime-compatible emulator.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Binds the listeners, starts serving and returns a handle. Nothing leaves the
    /// machine: use a loopback `bind` (the default).
    pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
        let synth = match config.synth {
            SynthChoice::Auto => SpeechSynth::detect().await,
            SynthChoice::TonesOnly => SpeechSynth::tones_only(),
        };
        let mut faults = config.faults.clone();
        let mut max_session_duration = config.max_session_duration;
        if let Some(scenario) = &config.scenario {
            if let Some(extra) = &scenario.faults {
                faults.mint_rate_limited = faults.mint_rate_limited.max(extra.mint_rate_limited);
                faults.drop_mid_response_after = faults
                    .drop_mid_response_after
                    .or(extra.drop_mid_response_after);
                if faults.server_error_every_nth_response == 0 {
                    faults.server_error_every_nth_response = extra.server_error_every_nth_response;
                }
            }
            if let Some(secs) = scenario.max_session_duration_secs {
                max_session_duration = max_session_duration.or(Some(Duration::from_secs(secs)));
            }
        }
        let shared = Arc::new(Shared {
            api_key: config.api_key.clone().filter(|k| !k.is_empty()),
            audio_pace: config.audio_pace,
            scenario: config.scenario.clone().map(Arc::new),
            mint_refusals_left: AtomicU32::new(faults.mint_rate_limited),
            faults,
            max_session_duration,
            max_sessions: config.max_sessions.max(1),
            max_retained_audio: config.max_retained_audio,
            secrets: SecretStore::default(),
            sessions: Mutex::new(HashMap::new()),
            observer: Observer::new(config.observe_capacity),
            synth,
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        let app = router(shared.clone());

        let listener =
            TcpListener::bind(config.bind)
                .await
                .map_err(|source| EmulatorError::Bind {
                    addr: config.bind,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: config.bind,
                source,
            })?;
        let mut servers = Vec::new();
        let stop = shared.stop.clone();
        // Realtime traffic is many small frames: never let Nagle hold one back.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
        });
        servers.push(tokio::spawn({
            let app = app.clone();
            async move {
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await;
                if let Err(error) = served {
                    tracing::error!(%error, "HTTP listener failed");
                }
            }
        }));

        let mut tls_addr = None;
        let mut cert_path = None;
        let mut owned_cert_dir = None;
        if config.tls {
            let dir = match &config.tls_cert_dir {
                Some(dir) => {
                    std::fs::create_dir_all(dir).map_err(EmulatorError::CertDir)?;
                    dir.clone()
                }
                None => {
                    let dir = std::env::temp_dir().join(format!(
                        "voicewire-emulator-{}-{}",
                        std::process::id(),
                        addr.port()
                    ));
                    std::fs::create_dir_all(&dir).map_err(EmulatorError::CertDir)?;
                    owned_cert_dir = Some(dir.clone());
                    dir
                }
            };
            let tls = SelfSignedTls::generate(&dir)?;
            let tcp =
                TcpListener::bind(config.tls_bind)
                    .await
                    .map_err(|source| EmulatorError::Bind {
                        addr: config.tls_bind,
                        source,
                    })?;
            let listener =
                TlsListener::spawn(tcp, tls.acceptor, shared.stop.clone()).map_err(|source| {
                    EmulatorError::Bind {
                        addr: config.tls_bind,
                        source,
                    }
                })?;
            tls_addr = Some(
                axum::serve::Listener::local_addr(&listener).map_err(|source| {
                    EmulatorError::Bind {
                        addr: config.tls_bind,
                        source,
                    }
                })?,
            );
            cert_path = Some(tls.cert_path);
            let stop = shared.stop.clone();
            servers.push(tokio::spawn(async move {
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await;
                if let Err(error) = served {
                    tracing::error!(%error, "TLS listener failed");
                }
            }));
        }
        tracing::info!(%addr, ?tls_addr, engine = shared.synth.preferred_engine().label(), "emulator listening");
        Ok(EmulatorHandle {
            shared,
            addr,
            tls_addr,
            cert_path,
            owned_cert_dir,
            servers,
        })
    }
}

/// A running emulator. Dropping it stops everything in the background; call
/// [`EmulatorHandle::shutdown`] to stop and wait.
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    cert_path: Option<PathBuf>,
    owned_cert_dir: Option<PathBuf>,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("addr", &self.addr)
            .field("tls_addr", &self.tls_addr)
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

impl EmulatorHandle {
    /// The plain HTTP/WebSocket listener.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:P/v1` (REST base URL for clients).
    pub fn http_base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `ws://127.0.0.1:P/v1` (WebSocket base; clients append `/realtime?model=…`).
    pub fn ws_base(&self) -> String {
        format!("ws://{}/v1", self.addr)
    }

    /// The TLS listener, when `tls` was on.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// `https://127.0.0.1:Q/v1`, when `tls` was on.
    pub fn https_base(&self) -> Option<String> {
        self.tls_addr.map(|a| format!("https://{a}/v1"))
    }

    /// `wss://127.0.0.1:Q/v1`, when `tls` was on.
    pub fn wss_base(&self) -> Option<String> {
        self.tls_addr.map(|a| format!("wss://{a}/v1"))
    }

    /// PEM file of the self-signed certificate, when `tls` was on.
    pub fn tls_cert_path(&self) -> Option<PathBuf> {
        self.cert_path.clone()
    }

    /// Everything sessions receive and send from now on (see [`Observed`]).
    pub fn observe(&self) -> broadcast::Receiver<Observed> {
        self.shared.observer.subscribe()
    }

    /// Applies a fault to one session or all; returns how many sessions it reached.
    pub fn inject(&self, target: impl Into<FaultTarget>, fault: Fault) -> usize {
        let target = target.into();
        let sessions = self.shared.lock_sessions();
        let mut reached = 0;
        for (info, handle) in sessions.values() {
            let hit = match &target {
                FaultTarget::All => true,
                FaultTarget::Session(id) => &info.id == id,
            };
            if hit && handle.inject(fault.clone()) {
                reached += 1;
            }
        }
        reached
    }

    /// Answers the next `count` client-secret mint requests with HTTP 429
    /// (`u32::MAX` = until changed; 0 = stop refusing).
    pub fn refuse_next_mints(&self, count: u32) {
        self.shared
            .mint_refusals_left
            .store(count, Ordering::SeqCst);
    }

    /// The live sessions.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let mut list: Vec<SessionInfo> = self
            .shared
            .lock_sessions()
            .values()
            .map(|(info, _)| info.clone())
            .collect();
        list.sort_by_key(|info| info.started_at);
        list
    }

    /// Closes every session (WebSocket close 1001), stops the listeners and waits for all
    /// tasks (up to a few seconds).
    pub async fn shutdown(mut self) {
        self.shared.stop.cancel();
        self.shared.tasks.close();
        let servers = std::mem::take(&mut self.servers);
        let wait = async {
            self.shared.tasks.wait().await;
            for server in servers {
                let _ = server.await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, wait).await.is_err() {
            tracing::warn!("emulator tasks did not stop within {SHUTDOWN_GRACE:?}");
        }
        if let Some(dir) = self.owned_cert_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.shared.stop.cancel();
        if let Some(dir) = self.owned_cert_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The HTTP surface. A second adapter adds its route here (WebRTC:
/// `.route("/v1/realtime/calls", post(crate::webrtc::create_call))`).
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/realtime", get(crate::ws::realtime_websocket))
        .route(
            "/v1/realtime/client_secrets",
            post(crate::rest::create_client_secret),
        )
        .route(
            "/v1/realtime/sessions",
            post(crate::rest::create_beta_session),
        )
        .route("/v1/realtime/calls", post(crate::webrtc::create_call))
        .route(
            "/v1/realtime/calls/{call_id}/hangup",
            post(crate::webrtc::hangup_call),
        )
        .fallback(not_found)
        .with_state(shared)
}

async fn health(axum::extract::State(shared): axum::extract::State<Arc<Shared>>) -> Response {
    axum::Json(serde_json::json!({
        "status": "ok",
        "sessions": shared.session_count(),
        "audio_engine": shared.synth.preferred_engine().label(),
    }))
    .into_response()
}

async fn not_found(uri: axum::http::Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        ApiError::invalid_request(
            "not_found",
            format!("Invalid URL (unknown path {}).", uri.path()),
        ),
    )
}
