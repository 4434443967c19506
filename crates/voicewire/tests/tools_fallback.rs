//! The fallback tool handler: a tool declared mid-session with `update_config` has no
//! handler of its own, and its call is still answered automatically (by the fallback), while
//! a tool with a named handler keeps going to that handler.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{HANG_GUARD, emulator, events_until, options};
use voicewire::protocol::ClientEvent;
use voicewire::protocol::session::Tool;
use voicewire::{FnToolHandler, RealtimeVoiceSession, SessionConfig, SessionEvent, ToolCall};
use voicewire_server::{AudioPace, ObservedKind, Scenario};

/// Waits for the client's `session.update` that declares `tool`.
async fn wait_for_declared_tool(
    observed: &mut tokio::sync::broadcast::Receiver<voicewire_server::Observed>,
    tool: &str,
) {
    tokio::time::timeout(HANG_GUARD, async {
        loop {
            let o = observed.recv().await.unwrap();
            if let ObservedKind::ClientEvent(e) = &o.kind
                && let ClientEvent::SessionUpdate(update) = e.as_ref()
            {
                let session = serde_json::to_value(&update.session).unwrap();
                let declared = session["tools"]
                    .as_array()
                    .is_some_and(|tools| tools.iter().any(|t| t["name"] == tool));
                if declared {
                    return;
                }
            }
        }
    })
    .await
    .expect("the session.update declaring the tool reached the server");
}

#[tokio::test]
async fn a_tool_added_by_update_config_is_answered_by_the_fallback() {
    let scenario = Scenario::parse(
        r#"{"turns":[
            {"tool_calls":[{"name":"clock","call_id":"call_clock","arguments":{"zone":"UTC"}},
                           {"name":"weather","call_id":"call_weather"}]},
            {"reply":"Both answered."}
        ]}"#,
    )
    .unwrap();
    let emu = emulator(AudioPace::Fast, Some(scenario)).await;
    let mut observed = emu.observe();
    let opts = options(&emu)
        .tool(
            "weather",
            Arc::new(FnToolHandler(|_call: ToolCall| async {
                Ok::<_, String>(r#"{"sky":"clear"}"#.to_string())
            })),
        )
        .fallback_tool_handler(Arc::new(FnToolHandler(|call: ToolCall| async move {
            Ok::<_, String>(
                serde_json::json!({ "handled_by": "fallback", "tool": call.name, "args": call.arguments })
                    .to_string(),
            )
        })));
    let session = RealtimeVoiceSession::new(opts);
    session.start().await.unwrap();

    // `clock` exists only from this update on; no handler was registered for it by name.
    let update = SessionConfig {
        tools: Some(vec![
            Tool::function(
                "weather",
                "The weather",
                serde_json::json!({"type": "object"}),
            ),
            Tool::function(
                "clock",
                "The time in a zone",
                serde_json::json!({"type": "object", "properties": {"zone": {"type": "string"}}}),
            ),
        ]),
        ..SessionConfig::default()
    };
    session.update_config(update).await.unwrap();
    wait_for_declared_tool(&mut observed, "clock").await;

    session.send_text("what time is it").await.unwrap();
    let outputs = common::wait_for_tool_outputs(&mut observed, 2).await;
    assert_eq!(outputs[0].0, "call_clock");
    let clock: serde_json::Value = serde_json::from_str(&outputs[0].1).unwrap();
    assert_eq!(clock["handled_by"], "fallback");
    assert_eq!(clock["tool"], "clock");
    let args: serde_json::Value = serde_json::from_str(clock["args"].as_str().unwrap()).unwrap();
    assert_eq!(args["zone"], "UTC");
    // The named handler still wins over the fallback for its own tool.
    assert_eq!(
        outputs[1],
        ("call_weather".into(), r#"{"sky":"clear"}"#.into())
    );

    // Both calls were answered, so the model goes on with the next turn.
    events_until(&session, |e| {
        matches!(e, SessionEvent::AssistantTranscriptFinal { text, .. } if text == "Both answered.")
    })
    .await;
    session.stop().await.unwrap();
    emu.shutdown().await;
}
