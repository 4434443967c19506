//! Snapshot tests (insta, JSON) of every sample encoded in both dialects. A change in how
//! any event is written shows up as a reviewed snapshot diff.
//!
//! For each event type the snapshot holds `ga`: the GA samples re-encoded in GA, and `beta`:
//! every sample (GA-shaped and beta-shaped) encoded for beta, which documents the GA → beta
//! mapping event by event.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Side, catalogue, samples};
use serde_json::{Value, json};
use voicewire_protocol::{ClientEvent, Dialect, ServerEvent};

fn encode(side: Side, sample: &Value, dialect: Dialect) -> Value {
    let text = sample.to_string();
    let encoded = match side {
        Side::Client => ClientEvent::decode(&text).unwrap().encode(dialect).unwrap(),
        Side::Server => ServerEvent::decode(&text).unwrap().encode(dialect).unwrap(),
    };
    serde_json::from_str(&encoded).unwrap()
}

fn snapshot_side(side: Side) {
    for entry in catalogue(side) {
        let samples = samples(side, &entry);
        let ga: Vec<Value> = samples
            .ga
            .iter()
            .map(|s| encode(side, s, Dialect::Ga))
            .collect();
        let beta: Vec<Value> = samples
            .ga
            .iter()
            .chain(samples.beta.iter())
            .map(|s| encode(side, s, Dialect::Beta))
            .collect();
        let name = format!("{}__{}", side.key(), entry.ga_type);
        // An absolute snapshot path: insta otherwise derives it from the workspace root,
        // which it finds with `cargo metadata` and which fails while a sibling crate of
        // the shared workspace is half-written.
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"));
        settings.bind(|| {
            insta::assert_json_snapshot!(name, json!({ "ga": ga, "beta": beta }));
        });
    }
}

#[test]
fn client_events_encode_as_snapshotted() {
    snapshot_side(Side::Client);
}

#[test]
fn server_events_encode_as_snapshotted() {
    snapshot_side(Side::Server);
}
