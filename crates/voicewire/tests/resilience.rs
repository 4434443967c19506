//! Dropped connections, expired tokens, rate limits: against the emulator on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use common::{API_KEY, emulator, events_until, options, voice_session};
use voicewire::protocol::ClientEvent;
use voicewire::{
    ClientSecret, Error, HttpTokenProvider, MintingClient, RealtimeVoiceSession, SessionEvent,
    SessionState, TokenError, TokenProvider, TokenSource,
};
use voicewire_server::{
    AudioPace, EmulatorHandle, Fault, FaultTarget, Observed, ObservedKind, Scenario,
};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Client events per emulator session, in order.
fn client_events_by_session(
    rx: &mut tokio::sync::broadcast::Receiver<Observed>,
) -> (Vec<String>, HashMap<String, Vec<ClientEvent>>) {
    let mut order = Vec::new();
    let mut map: HashMap<String, Vec<ClientEvent>> = HashMap::new();
    while let Ok(o) = rx.try_recv() {
        if let ObservedKind::ConnectionOpened { .. } = &o.kind {
            order.push(o.session_id.clone());
        }
        if let ObservedKind::ClientEvent(e) = &o.kind {
            map.entry(o.session_id.clone())
                .or_default()
                .push(e.as_ref().clone());
        }
    }
    (order, map)
}

#[tokio::test]
async fn server_drop_mid_response_reconnects_resends_config_and_keeps_every_transcript() {
    let scenario = Scenario::parse(
        r#"{"turns":[
            {"reply":"The first answer is complete."},
            {"reply":"This second answer is long enough to be cut off by a dropped connection in the middle of it.",
             "fault":{"after_audio_ms":300,"type":"drop_connection"}}
        ]}"#,
    )
    .unwrap();
    let emu = emulator(AudioPace::RealTime, Some(scenario)).await;
    let mut observed = emu.observe();
    let session = RealtimeVoiceSession::new(options(&emu));
    session.start().await.unwrap();

    session.send_text("first question").await.unwrap();
    events_until(&session, |e| {
        matches!(
            e,
            SessionEvent::AssistantTranscriptFinal { complete: true, .. }
        )
    })
    .await;
    session.send_text("second question").await.unwrap();
    let events = events_until(&session, |e| {
        matches!(e, SessionEvent::StateChanged(SessionState::Live))
    })
    .await;

    assert!(
        events.iter().any(|e| matches!(
            e,
            SessionEvent::StateChanged(SessionState::Reconnecting { attempt: 1 })
        )),
        "{:?}",
        events.iter().map(common::short).collect::<Vec<_>>()
    );
    // The cut answer's text arrives as a final (marked incomplete), nothing received is lost.
    let deltas: String = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::AssistantTranscriptDelta { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    let cut_final = events.iter().find_map(|e| match e {
        SessionEvent::AssistantTranscriptFinal {
            text,
            complete: false,
            ..
        } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(
        cut_final.as_deref(),
        Some(deltas.as_str()),
        "the incomplete final holds every delta received"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        SessionEvent::Error {
            recoverable: true,
            ..
        }
    )));
    assert_eq!(session.metrics().reconnects, 1);

    // And the session works on the new connection.
    session.send_text("third question").await.unwrap();
    events_until(&session, |e| {
        matches!(
            e,
            SessionEvent::AssistantTranscriptFinal { complete: true, .. }
        )
    })
    .await;
    // The new connection got the config again, then the history. Everything it sent before
    // the third answer was observed before that answer came back (one ordered connection),
    // so no waiting is needed.
    let (order, by_session) = client_events_by_session(&mut observed);
    assert_eq!(order.len(), 2, "two connections");
    let replay = common::config_then_items(&by_session[&order[1]]);
    assert!(
        replay.iter().any(|j| j.contains("first question")),
        "{replay:?}"
    );
    assert!(
        replay
            .iter()
            .any(|j| j.contains("The first answer is complete.")),
        "{replay:?}"
    );
    assert!(
        replay.iter().any(|j| j.contains("second question")),
        "{replay:?}"
    );

    session.stop().await.unwrap();
    emu.shutdown().await;
}

/// Mints real ephemeral keys from the emulator but reports them as expiring soon, so the
/// client must refresh before any reconnect.
struct ShortLivedMinter {
    minter: MintingClient,
    fetches: AtomicUsize,
    believed_ttl_secs: u64,
}

#[async_trait]
impl TokenProvider for ShortLivedMinter {
    async fn fetch_token(&self) -> Result<ClientSecret, TokenError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let secret = self
            .minter
            .create_client_secret(&voice_session(), Duration::from_secs(600))
            .await?;
        Ok(ClientSecret::expiring(
            secret.value,
            unix_now() + self.believed_ttl_secs,
        ))
    }
}

fn minter(emu: &EmulatorHandle) -> MintingClient {
    MintingClient::new(API_KEY)
        .unwrap()
        .with_api_base(emu.http_base())
}

#[tokio::test]
async fn expired_token_is_refreshed_before_reconnecting() {
    let emu = emulator(AudioPace::Fast, None).await;
    let provider = Arc::new(ShortLivedMinter {
        minter: minter(&emu),
        fetches: AtomicUsize::new(0),
        // Inside the 10 s refresh margin from the start: the cached token is never reused for
        // a new connection, whenever the reconnect happens.
        believed_ttl_secs: 5,
    });
    let mut opts = options(&emu);
    opts.token_source = TokenSource::provider(provider.clone());
    let session = RealtimeVoiceSession::new(opts);
    session.start().await.unwrap();
    assert_eq!(provider.fetches.load(Ordering::SeqCst), 1);
    assert!(emu.inject(FaultTarget::All, Fault::DropConnection) >= 1);
    common::until_reconnected(&session).await;
    assert_eq!(
        provider.fetches.load(Ordering::SeqCst),
        2,
        "a fresh token for the new connection"
    );
    session.send_text("after refresh").await.unwrap();
    events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { .. })
    })
    .await;
    session.stop().await.unwrap();
    emu.shutdown().await;
}

/// Issue #4's reconnect policy: a new connection gets a fresh token from a source that can
/// mint one, even while the old one is still valid.
#[tokio::test]
async fn a_reconnect_asks_the_provider_for_a_fresh_token() {
    let emu = emulator(AudioPace::Fast, None).await;
    let provider = Arc::new(ShortLivedMinter {
        minter: minter(&emu),
        fetches: AtomicUsize::new(0),
        believed_ttl_secs: 600,
    });
    let mut opts = options(&emu);
    opts.token_source = TokenSource::provider(provider.clone());
    let session = RealtimeVoiceSession::new(opts);
    session.start().await.unwrap();
    assert!(emu.inject(FaultTarget::All, Fault::DropConnection) >= 1);
    common::until_reconnected(&session).await;
    assert_eq!(
        provider.fetches.load(Ordering::SeqCst),
        2,
        "a still-valid token is not reused for the new connection"
    );
    session.stop().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn an_expired_fixed_key_fails_start_with_an_auth_error() {
    let emu = emulator(AudioPace::Fast, None).await;
    let mut opts = options(&emu);
    opts.token_source = TokenSource::ephemeral(ClientSecret::expiring("ek_old", unix_now() - 5));
    let err = RealtimeVoiceSession::new(opts).start().await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn rate_limited_mint_is_a_typed_error_with_retry_after() {
    let emu = emulator(AudioPace::Fast, None).await;
    emu.refuse_next_mints(1);
    let provider = Arc::new(ShortLivedMinter {
        minter: minter(&emu),
        fetches: AtomicUsize::new(0),
        believed_ttl_secs: 600,
    });
    let mut opts = options(&emu);
    opts.token_source = TokenSource::provider(provider);
    let err = RealtimeVoiceSession::new(opts).start().await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(1)),
        "{err:?}"
    );
    // The minting client reports the same thing directly.
    emu.refuse_next_mints(1);
    let direct = minter(&emu)
        .create_client_secret(&voice_session(), Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(
        matches!(
            direct,
            TokenError::Http {
                status: 429,
                retry_after: Some(_),
                ..
            }
        ),
        "{direct:?}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn http_token_provider_posts_to_a_backend_and_accepts_the_ga_shape() {
    let emu = emulator(AudioPace::Fast, None).await;
    // The emulator's mint endpoint stands in for the app's backend (same GA response shape).
    let provider = HttpTokenProvider::new(format!("{}/realtime/client_secrets", emu.http_base()))
        .unwrap()
        .with_header("Authorization", format!("Bearer {API_KEY}"))
        .with_body(
            serde_json::json!({ "session": { "type": "realtime", "model": "gpt-realtime" } }),
        );
    let secret = provider.fetch_token().await.unwrap();
    assert!(secret.value.expose().starts_with("ek_"));
    assert!(secret.expires_at.unwrap() > unix_now());
    assert!(!format!("{provider:?}").contains(API_KEY));

    let mut opts = options(&emu);
    opts.token_source = TokenSource::Http(provider);
    let outcome = voicewire::run::text_turn(opts, "minted elsewhere", common::HANG_GUARD)
        .await
        .unwrap();
    assert!(outcome.assistant_transcript.contains("minted elsewhere"));
    emu.shutdown().await;
}

#[test]
fn the_beta_mint_shape_is_accepted() {
    let secret = ClientSecret::from_json(
        r#"{"id":"sess_1","client_secret":{"value":"ek_beta","expires_at":1756400000}}"#,
    )
    .unwrap();
    assert_eq!(secret.value.expose(), "ek_beta");
    assert_eq!(secret.expires_at, Some(1_756_400_000));
    let secret = ClientSecret::from_json(
        r#"{"value":"ek_ga","expires_at":1756400001,"session":{"type":"realtime"}}"#,
    )
    .unwrap();
    assert_eq!(secret.expires_at, Some(1_756_400_001));
    assert!(matches!(
        ClientSecret::from_json("{}"),
        Err(TokenError::InvalidResponse(_))
    ));
}

#[tokio::test]
async fn unreachable_server_is_a_network_error() {
    // A port nothing listens on (bound, then released).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let opts = voicewire::SessionOptions::new(TokenSource::api_key(API_KEY)).endpoint(
        voicewire::Endpoint::with_api_base(format!("http://{addr}/v1")),
    );
    let err = RealtimeVoiceSession::new(opts).start().await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
}

#[tokio::test]
async fn server_close_codes_during_a_session_trigger_reconnects() {
    let emu = emulator(AudioPace::Fast, None).await;
    let session = RealtimeVoiceSession::new(options(&emu));
    session.start().await.unwrap();
    assert!(
        emu.inject(
            FaultTarget::All,
            Fault::Close {
                code: 1011,
                reason: "overloaded".into()
            }
        ) >= 1
    );
    let events = events_until(&session, |e| {
        matches!(
            e,
            SessionEvent::StateChanged(SessionState::Reconnecting { .. })
        )
    })
    .await;
    assert!(events.iter().any(|e| matches!(e, SessionEvent::Error { message, recoverable: true, .. } if message.contains("1011"))));
    events_until(&session, |e| {
        matches!(e, SessionEvent::StateChanged(SessionState::Live))
    })
    .await;
    session.stop().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn a_silent_server_is_detected_by_the_keepalive() {
    // A server that completes the WebSocket handshake and then never reads or writes again
    // (so not even pongs come back): a half-open connection.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(ws);
    });
    let mut endpoint = voicewire::Endpoint::with_api_base(format!("http://{addr}/v1"));
    endpoint.keepalive_interval = Duration::from_millis(100);
    let opts = voicewire::SessionOptions::new(TokenSource::api_key(API_KEY)).endpoint(endpoint);
    let err = RealtimeVoiceSession::new(opts).start().await.unwrap_err();
    assert!(
        matches!(&err, Error::Network { message } if message.contains("keepalive")),
        "{err:?}"
    );
    server.abort();
}
