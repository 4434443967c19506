//! Tool handlers owned by the driver: failures always answer the model, and `stop()` leaves
//! no handler running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{HANG_GUARD, emulator, events_until, options};
use voicewire::{FnToolHandler, RealtimeVoiceSession, SessionEvent, SessionState, ToolCall};
use voicewire_server::{AudioPace, Scenario};

#[tokio::test]
async fn a_panicking_or_failing_handler_still_answers_the_model() {
    let scenario = Scenario::parse(
        r#"{"turns":[
            {"tool_calls":[{"name":"explode","call_id":"call_boom"},
                           {"name":"refuse","call_id":"call_no"}]},
            {"reply":"Recovered."}
        ]}"#,
    )
    .unwrap();
    let emu = emulator(AudioPace::Fast, Some(scenario)).await;
    let mut observed = emu.observe();
    let opts = options(&emu)
        .tool(
            "explode",
            Arc::new(FnToolHandler(|_call: ToolCall| async {
                if true {
                    panic!("handler bug");
                }
                Ok::<_, String>(String::new())
            })),
        )
        .tool(
            "refuse",
            Arc::new(FnToolHandler(|_call: ToolCall| async {
                Err::<String, _>("not allowed".to_string())
            })),
        );
    let session = RealtimeVoiceSession::new(opts);
    session.start().await.unwrap();
    session.send_text("do both").await.unwrap();

    let outputs = common::wait_for_tool_outputs(&mut observed, 2).await;
    assert_eq!(outputs[0].0, "call_boom");
    let boom: serde_json::Value = serde_json::from_str(&outputs[0].1).unwrap();
    assert!(
        boom["error"].as_str().unwrap().contains("panicked"),
        "{boom}"
    );
    assert_eq!(outputs[1].0, "call_no");
    let refused: serde_json::Value = serde_json::from_str(&outputs[1].1).unwrap();
    assert_eq!(refused["error"], "not allowed");

    // The calls are answered, so the conversation goes on.
    events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { text, .. } if text == "Recovered.")
    })
    .await;
    session.stop().await.unwrap();
    emu.shutdown().await;
}

/// Sets its flag when dropped: shows that a handler's future was torn down.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn stop_aborts_a_hanging_handler() {
    let scenario =
        Scenario::parse(r#"{"turns":[{"tool_calls":[{"name":"hang","call_id":"call_hang"}]}]}"#)
            .unwrap();
    let emu = emulator(AudioPace::Fast, Some(scenario)).await;
    let dropped = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = tokio::sync::mpsc::channel::<()>(1);
    let flag = Arc::clone(&dropped);
    let opts = options(&emu)
        // Far longer than the test: only `stop()` can end the handler.
        .tool_timeout(Duration::from_secs(3600))
        .tool(
            "hang",
            Arc::new(FnToolHandler(move |_call: ToolCall| {
                let guard = DropFlag(Arc::clone(&flag));
                let started = started_tx.clone();
                async move {
                    let _guard = guard;
                    started.send(()).await.unwrap();
                    std::future::pending::<()>().await;
                    Ok::<_, String>(String::new())
                }
            })),
        );
    let session = RealtimeVoiceSession::new(opts);
    session.start().await.unwrap();
    session.send_text("hang please").await.unwrap();
    let mut started_rx = started_rx;
    tokio::time::timeout(HANG_GUARD, started_rx.recv())
        .await
        .expect("the handler started")
        .unwrap();
    assert!(!dropped.load(Ordering::SeqCst));

    tokio::time::timeout(Duration::from_secs(30), session.stop())
        .await
        .expect("stop() returns while a handler hangs")
        .unwrap();
    assert!(matches!(session.state(), SessionState::Closed { .. }));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the hanging handler was aborted by stop()"
    );
    emu.shutdown().await;
}
