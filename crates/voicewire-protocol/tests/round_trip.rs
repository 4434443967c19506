//! Every event type in the protocol catalogue decodes to a typed variant and round-trips
//! (decode → encode → decode) in GA and, where a beta name exists, in beta.
//!
//! The catalogue (`data/events.json`) drives the loop, so a type without a sample, or one
//! that decodes to `Unknown`, fails here: coverage is checked, not claimed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Side, catalogue, samples, strip_nulls};
use serde_json::Value;
use voicewire_protocol::{ClientEvent, Dialect, ServerEvent};

/// The operations the test needs from both event enums.
trait Event: Sized + PartialEq + std::fmt::Debug {
    fn decode(text: &str) -> Result<Self, voicewire_protocol::DecodeError>;
    fn encode(&self, dialect: Dialect) -> String;
    fn event_type(&self, dialect: Dialect) -> String;
    fn is_unknown(&self) -> bool;
}

impl Event for ClientEvent {
    fn decode(text: &str) -> Result<Self, voicewire_protocol::DecodeError> {
        ClientEvent::decode(text)
    }
    fn encode(&self, dialect: Dialect) -> String {
        ClientEvent::encode(self, dialect).unwrap()
    }
    fn event_type(&self, dialect: Dialect) -> String {
        ClientEvent::event_type(self, dialect).to_owned()
    }
    fn is_unknown(&self) -> bool {
        matches!(self, ClientEvent::Unknown(_))
    }
}

impl Event for ServerEvent {
    fn decode(text: &str) -> Result<Self, voicewire_protocol::DecodeError> {
        ServerEvent::decode(text)
    }
    fn encode(&self, dialect: Dialect) -> String {
        ServerEvent::encode(self, dialect).unwrap()
    }
    fn event_type(&self, dialect: Dialect) -> String {
        ServerEvent::event_type(self, dialect).to_owned()
    }
    fn is_unknown(&self) -> bool {
        matches!(self, ServerEvent::Unknown(_))
    }
}

/// Decodes `sample`, checks its type, re-encodes in `dialect`, checks the JSON matches the
/// sample (ignoring nulls) and that decoding the output gives the same value.
fn check_sample<E: Event>(
    sample: &Value,
    dialect: Dialect,
    expected_type: &str,
) -> Result<(), String> {
    let text = serde_json::to_string(sample).unwrap();
    let decoded = E::decode(&text).map_err(|e| format!("decode failed: {e}"))?;
    if decoded.is_unknown() {
        return Err("decoded to Unknown".to_owned());
    }
    let got_type = decoded.event_type(dialect);
    if got_type != expected_type {
        return Err(format!(
            "event_type({dialect:?}) is {got_type}, expected {expected_type}"
        ));
    }
    let encoded = decoded.encode(dialect);
    let encoded_value: Value = serde_json::from_str(&encoded).unwrap();
    if strip_nulls(&encoded_value) != strip_nulls(sample) {
        return Err(format!(
            "re-encoded JSON differs from the sample\n  sample:  {}\n  encoded: {}",
            serde_json::to_string(&strip_nulls(sample)).unwrap(),
            serde_json::to_string(&strip_nulls(&encoded_value)).unwrap()
        ));
    }
    let again = E::decode(&encoded).map_err(|e| format!("second decode failed: {e}"))?;
    if again != decoded {
        return Err(format!(
            "round trip changed the value\n  first:  {decoded:?}\n  second: {again:?}"
        ));
    }
    Ok(())
}

fn check_side<E: Event>(side: Side, expected_count: usize) {
    let entries = catalogue(side);
    assert_eq!(entries.len(), expected_count, "catalogue size for {side:?}");
    let mut failures = Vec::new();
    let mut checked = 0;
    for entry in &entries {
        let samples = samples(side, entry);
        if samples.ga.is_empty() {
            failures.push(format!("{}: no GA sample", entry.ga_type));
        }
        for sample in &samples.ga {
            checked += 1;
            if let Err(e) = check_sample::<E>(sample, Dialect::Ga, &entry.ga_type) {
                failures.push(format!("{} (GA): {e}", entry.ga_type));
            }
        }
        match &entry.beta_type {
            Some(beta_type) => {
                if samples.beta.is_empty() {
                    failures.push(format!("{}: no beta sample", entry.ga_type));
                }
                for sample in &samples.beta {
                    checked += 1;
                    if let Err(e) = check_sample::<E>(sample, Dialect::Beta, beta_type) {
                        failures.push(format!("{} (beta {beta_type}): {e}", entry.ga_type));
                    }
                }
            }
            None => {
                // GA-only events keep their GA name when written for beta.
                for sample in &samples.ga {
                    let decoded = E::decode(&sample.to_string()).unwrap();
                    if decoded.event_type(Dialect::Beta) != entry.ga_type {
                        failures.push(format!("{}: GA-only event renamed in beta", entry.ga_type));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} samples failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_client_event_type_round_trips() {
    check_side::<ClientEvent>(Side::Client, 12);
}

#[test]
fn every_server_event_type_round_trips() {
    check_side::<ServerEvent>(Side::Server, 48);
}

#[test]
fn crate_knows_exactly_the_catalogue_types() {
    let mut client: Vec<_> = catalogue(Side::Client)
        .into_iter()
        .map(|e| e.ga_type)
        .collect();
    let mut known: Vec<_> = ClientEvent::KNOWN_TYPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    client.sort();
    known.sort();
    assert_eq!(client, known);

    let mut server: Vec<_> = catalogue(Side::Server)
        .into_iter()
        .map(|e| e.ga_type)
        .collect();
    let mut known: Vec<_> = ServerEvent::KNOWN_TYPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    server.sort();
    known.sort();
    assert_eq!(server, known);
}

#[test]
fn every_beta_name_in_the_catalogue_decodes() {
    for side in [Side::Client, Side::Server] {
        for entry in catalogue(side) {
            let Some(beta_type) = entry.beta_type else {
                continue;
            };
            let text = format!(r#"{{"type":"{beta_type}"}}"#);
            let known = match side {
                Side::Client => !matches!(ClientEvent::decode(&text), Ok(ClientEvent::Unknown(_))),
                Side::Server => !matches!(ServerEvent::decode(&text), Ok(ServerEvent::Unknown(_))),
            };
            assert!(known, "beta type {beta_type} is not recognised");
        }
    }
}
