//! A token refused on reconnect is replaced once by a fresh one from the provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use common::{API_KEY, HANG_GUARD, emulator, events_until, options, voice_session};
use voicewire::{
    ClientSecret, MintingClient, RealtimeVoiceSession, SessionEvent, TokenError, TokenProvider,
    TokenSource,
};
use voicewire_server::{AudioPace, Fault, FaultTarget, ObservedKind};

/// A backend whose first key is short-lived on the server (10 s, the shortest the service
/// allows) but handed out as if it never expired, so the session caches it; later keys live
/// ten minutes.
struct Backend {
    minter: MintingClient,
    fetches: AtomicUsize,
    /// Unix seconds at which the first key stops working on the server.
    first_expires_at: std::sync::Mutex<Option<u64>>,
}

#[async_trait]
impl TokenProvider for Backend {
    async fn fetch_token(&self) -> Result<ClientSecret, TokenError> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst);
        let ttl = if n == 0 { 10 } else { 600 };
        let minted = self
            .minter
            .create_client_secret(&voice_session(), Duration::from_secs(ttl))
            .await?;
        if n == 0 {
            *self.first_expires_at.lock().unwrap() = minted.expires_at;
        }
        Ok(ClientSecret::permanent(minted.value))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_refused_token_on_reconnect_is_replaced_by_a_fresh_one() {
    let emu = emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let backend = Arc::new(Backend {
        minter: MintingClient::new(API_KEY)
            .unwrap()
            .with_api_base(emu.http_base()),
        fetches: AtomicUsize::new(0),
        first_expires_at: std::sync::Mutex::new(None),
    });
    let mut opts = options(&emu);
    opts.token_source = TokenSource::provider(backend.clone());
    let session = RealtimeVoiceSession::new(opts);
    session.start().await.unwrap();
    assert_eq!(backend.fetches.load(Ordering::SeqCst), 1);

    // Wait (on the wall clock the server uses) until the cached key is dead on the server.
    let dead_after = backend.first_expires_at.lock().unwrap().unwrap();
    tokio::time::timeout(HANG_GUARD, async {
        while unix_now() <= dead_after {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .unwrap();

    // The connection drops; the reconnect first presents the cached (now refused) key.
    assert!(emu.inject(FaultTarget::All, Fault::DropConnection) >= 1);
    common::until_reconnected(&session).await;
    assert_eq!(
        backend.fetches.load(Ordering::SeqCst),
        2,
        "one fresh token after the refusal"
    );
    session.send_text("after re-auth").await.unwrap();
    events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { text, .. } if text.contains("after re-auth"))
    })
    .await;
    session.stop().await.unwrap();

    let mut opened = 0;
    while let Ok(o) = observed.try_recv() {
        if matches!(o.kind, ObservedKind::ConnectionOpened { .. }) {
            opened += 1;
        }
    }
    assert_eq!(opened, 2, "the first session and the re-authenticated one");
    emu.shutdown().await;
}

/// A WebSocket endpoint on loopback that refuses every handshake with HTTP 401, counting
/// the attempts.
async fn refusing_server() -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&attempts);
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"error":{"message":"invalid key","code":"invalid_api_key"}}"#;
                let answer = format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tcp.write_all(answer.as_bytes()).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    (format!("http://{addr}/v1"), attempts)
}

struct FixedProvider;

#[async_trait]
impl TokenProvider for FixedProvider {
    async fn fetch_token(&self) -> Result<ClientSecret, TokenError> {
        Ok(ClientSecret::permanent("ek_refused"))
    }
}

#[tokio::test]
async fn only_sources_that_can_mint_a_new_token_retry_a_refusal() {
    common::init_tracing();
    let cases = [
        (TokenSource::api_key("sk-refused"), 1),
        (
            TokenSource::ephemeral(ClientSecret::permanent("ek_fixed")),
            1,
        ),
        (TokenSource::provider(Arc::new(FixedProvider)), 2),
    ];
    for (source, expected_attempts) in cases {
        let (base, attempts) = refusing_server().await;
        let shown = format!("{source:?}");
        let opts = voicewire::SessionOptions::new(source)
            .endpoint(voicewire::Endpoint::with_api_base(base));
        let err = RealtimeVoiceSession::new(opts).start().await.unwrap_err();
        assert!(
            matches!(err, voicewire::Error::Auth { .. }),
            "{shown}: {err:?}"
        );
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            expected_attempts,
            "{shown}: handshakes"
        );
    }
}
