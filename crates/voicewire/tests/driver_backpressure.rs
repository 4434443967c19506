//! The driver never waits for the application's event queue: a session whose events are never
//! read still runs its turns and stops, and nothing that must not be lost is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{HANG_GUARD, emulator, options};
use voicewire::protocol::ServerEvent;
use voicewire::{RealtimeVoiceSession, SessionEvent, SessionState};
use voicewire_server::{AudioPace, ObservedKind, Scenario};

/// Bounds `stop()` so a driver that waits for the reader fails the test instead of hanging it.
const STOP_GUARD: Duration = Duration::from_secs(30);

fn long_reply() -> String {
    (0..400)
        .map(|n| format!("word{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn stop_completes_while_nobody_reads_events() {
    let reply = long_reply();
    let scenario = Scenario::parse(&format!(r#"{{"turns":[{{"reply":"{reply}"}}]}}"#)).unwrap();
    let emu = emulator(AudioPace::Fast, Some(scenario)).await;
    let mut observed = emu.observe();
    let mut opts = options(&emu);
    opts.event_capacity = 16;
    let session = RealtimeVoiceSession::new(opts);
    session.start().await.unwrap();
    session.send_text("talk for a long time").await.unwrap();

    // The whole long answer went out from the server, far more events than the queue holds.
    tokio::time::timeout(HANG_GUARD, async {
        loop {
            let o = observed.recv().await.unwrap();
            if let ObservedKind::ServerEvent(e) = &o.kind
                && matches!(e.as_ref(), ServerEvent::ResponseDone(_))
            {
                return;
            }
        }
    })
    .await
    .expect("the emulator finished the answer");
    // ... and the session took it all in (the turn is counted once the response is done).
    tokio::time::timeout(HANG_GUARD, async {
        while session.metrics().turns < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the driver keeps processing server events while nobody reads");
    tokio::time::timeout(STOP_GUARD, session.stop())
        .await
        .expect("stop() returns although nobody read the events")
        .unwrap();
    assert!(matches!(session.state(), SessionState::Closed { .. }));

    // The late reader still gets what matters: the final transcript, in full, and the close.
    let mut finals = Vec::new();
    let mut last_state = None;
    let mut dropped_notice = false;
    tokio::time::timeout(HANG_GUARD, async {
        while let Some(event) = session.next_event().await {
            match event {
                SessionEvent::AssistantTranscriptFinal { text, .. } => finals.push(text),
                SessionEvent::StateChanged(state) => last_state = Some(state),
                SessionEvent::Error { code, .. } if code.as_deref() == Some("events_dropped") => {
                    dropped_notice = true;
                }
                _ => {}
            }
        }
    })
    .await
    .expect("the event stream ends after the session closed");
    assert!(finals.iter().any(|t| t == &reply), "{finals:?}");
    assert!(
        matches!(last_state, Some(SessionState::Closed { .. })),
        "{last_state:?}"
    );
    assert!(session.events_dropped() > 0);
    assert!(
        dropped_notice,
        "the reader is told that events were dropped"
    );
    emu.shutdown().await;
}
