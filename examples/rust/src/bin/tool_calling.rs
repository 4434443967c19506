//! Tool calling: the agent manages a to-do list through three tools — create, update and
//! search items in an in-memory store. Handlers run in the session's driver; their results
//! go back to the model automatically, and the model answers with what it did.
//!
//! `cargo run -p voicewire-examples --bin tool_calling -- "Add buy milk, mark it done, then find it"`
//!
//! Against the emulator a scenario plays the model's part (create → update → search →
//! answer); against OpenAI the model decides which tools to call.
#![allow(clippy::print_stdout, reason = "an example program reports on stdout")]

use std::time::Duration;

use voicewire::run::text_turn;
use voicewire::{SessionConfig, SessionOptions};
use voicewire_examples::store::ItemStore;
use voicewire_examples::{BoxError, upstream::Upstream};
use voicewire_server::Scenario;

const SCRIPT: &str = r#"
name: to-do list
turns:
  - tool_calls: [{ name: create_item, arguments: { title: "Buy milk", notes: "2 litres" } }]
  - tool_calls: [{ name: update_item, arguments: { id: "item-1", done: true } }]
  - tool_calls: [{ name: search_items, arguments: { query: "milk" } }]
  - reply: "Done: I added Buy milk, marked it as done, and it is the one item matching milk."
"#;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let request = std::env::args().nth(1).unwrap_or_else(|| {
        "Add buy milk, two litres, to my list, mark it as done, then search for milk.".into()
    });
    let upstream = Upstream::from_env(Some(Scenario::parse(SCRIPT)?)).await?;
    println!("talking to {}", upstream.describe());

    let store = ItemStore::default();
    let config = SessionConfig {
        tools: Some(ItemStore::tool_declarations()),
        ..SessionConfig::default()
    }
    .with_instructions(
        "You manage the user's to-do list with the tools. Item ids look like item-1.",
    );
    let options = store.register(
        SessionOptions::new(upstream.api_key_source())
            .endpoint(upstream.endpoint())
            .session_config(config)
            .tool_timeout(Duration::from_secs(5)),
    );
    println!("you: {request}");
    let outcome = text_turn(options, &request, Duration::from_secs(90)).await;
    upstream.shutdown().await;
    let outcome = outcome?;
    for call in &outcome.tool_calls {
        println!("tool call: {}({})", call.name, call.arguments);
    }
    println!("assistant: {}", outcome.assistant_transcript);
    let items = store.items();
    println!("store: {} item(s)", items.len());
    for item in items {
        println!(
            "  {} {:?} notes={:?} done={}",
            item.id, item.title, item.notes, item.done
        );
    }
    Ok(())
}
