//! A session handle can start again after a failed start (once the cause is fixed) and after
//! `stop()`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::{API_KEY, HANG_GUARD, emulator, events_until, options, voice_session};
use voicewire::{
    ClientSecret, Error, MintingClient, RealtimeVoiceSession, SessionEvent, SessionState,
    TokenError, TokenProvider, TokenSource,
};
use voicewire_server::{AudioPace, ObservedKind};

/// A backend that hands out a key the server never issued until it is "fixed".
struct FlakyBackend {
    minter: MintingClient,
    fixed: AtomicBool,
    fetches: AtomicUsize,
}

#[async_trait]
impl TokenProvider for FlakyBackend {
    async fn fetch_token(&self) -> Result<ClientSecret, TokenError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.fixed.load(Ordering::SeqCst) {
            self.minter
                .create_client_secret(&voice_session(), Duration::from_secs(600))
                .await
        } else {
            Ok(ClientSecret::permanent("ek_never_issued"))
        }
    }
}

#[tokio::test]
async fn start_works_again_once_the_cause_of_a_failure_is_fixed() {
    let emu = emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let backend = Arc::new(FlakyBackend {
        minter: MintingClient::new(API_KEY)
            .unwrap()
            .with_api_base(emu.http_base()),
        fixed: AtomicBool::new(false),
        fetches: AtomicUsize::new(0),
    });
    let mut opts = options(&emu);
    opts.token_source = TokenSource::provider(backend.clone());
    let session = RealtimeVoiceSession::new(opts);

    let err = session.start().await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(matches!(session.state(), SessionState::Failed { .. }));
    assert_eq!(
        backend.fetches.load(Ordering::SeqCst),
        2,
        "a refused provider token is replaced once before the refusal is final"
    );
    // Commands on the failed session are typed errors, not hangs.
    assert!(matches!(
        session.send_text("anyone?").await,
        Err(Error::Closed { .. })
    ));

    backend.fixed.store(true, Ordering::SeqCst);
    tokio::time::timeout(HANG_GUARD, session.start())
        .await
        .expect("the retry does not hang")
        .unwrap();
    assert_eq!(session.state(), SessionState::Live);
    // One stream across both runs: the first run's failure is still there to read, then the
    // second run goes live and answers.
    let events = events_until(&session, |e| {
        matches!(e, SessionEvent::StateChanged(SessionState::Live))
    })
    .await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::StateChanged(SessionState::Failed { .. }))),
        "{events:?}"
    );
    session.send_text("second try").await.unwrap();
    events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { text, .. } if text.contains("second try"))
    })
    .await;
    // A running session refuses a second start.
    assert!(matches!(session.start().await, Err(Error::Other { .. })));
    session.stop().await.unwrap();

    let mut opened = 0;
    while let Ok(o) = observed.try_recv() {
        if matches!(o.kind, ObservedKind::ConnectionOpened { .. }) {
            opened += 1;
        }
    }
    assert_eq!(opened, 1, "only the fixed token opened a session");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_stopped_session_starts_again() {
    let emu = emulator(AudioPace::Fast, None).await;
    let session = RealtimeVoiceSession::new(options(&emu));
    session.start().await.unwrap();
    session.stop().await.unwrap();
    assert!(matches!(session.state(), SessionState::Closed { .. }));
    session.start().await.unwrap();
    assert_eq!(session.state(), SessionState::Live);
    session.send_text("after a restart").await.unwrap();
    events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { text, .. } if text.contains("after a restart"))
    })
    .await;
    session.stop().await.unwrap();
    // Once stopped for good, the stream ends after the last event.
    tokio::time::timeout(HANG_GUARD, async {
        while session.next_event().await.is_some() {}
    })
    .await
    .expect("the event stream ends");
    emu.shutdown().await;
}
