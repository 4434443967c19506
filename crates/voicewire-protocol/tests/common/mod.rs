//! Shared loading of the event catalogue (`data/events.json`, copied from the protocol
//! reference) and the hand-written wire samples (`data/samples.json`).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;

/// Which direction an event travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub fn key(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// One entry of the catalogue.
#[derive(Debug, Clone)]
pub struct CatalogueEntry {
    pub ga_type: String,
    pub beta_type: Option<String>,
}

pub fn catalogue(side: Side) -> Vec<CatalogueEntry> {
    let text = include_str!("../data/events.json");
    let doc: Value = serde_json::from_str(text).unwrap();
    doc[side.key()]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| CatalogueEntry {
            ga_type: e["type"].as_str().unwrap().to_owned(),
            beta_type: e["beta_type"].as_str().map(str::to_owned),
        })
        .collect()
}

/// Samples for one event type: GA-shaped and beta-shaped (explicit, or derived from the GA
/// samples by renaming `type` when the shapes are the same).
#[derive(Debug, Clone)]
pub struct Samples {
    pub ga: Vec<Value>,
    pub beta: Vec<Value>,
}

pub fn samples(side: Side, entry: &CatalogueEntry) -> Samples {
    let text = include_str!("../data/samples.json");
    let doc: Value = serde_json::from_str(text).unwrap();
    let node = &doc[side.key()][&entry.ga_type];
    let ga: Vec<Value> = node["ga"].as_array().cloned().unwrap_or_default();
    let beta = match (&entry.beta_type, node.get("beta")) {
        (None, _) => Vec::new(),
        (Some(_), Some(explicit)) => explicit.as_array().cloned().unwrap_or_default(),
        (Some(beta_type), None) => ga
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s["type"] = Value::String(beta_type.clone());
                s
            })
            .collect(),
    };
    Samples { ga, beta }
}

/// Removes object entries whose value is `null`, recursively. The typed values fold
/// "absent" and `null` together for plain optional fields, so comparisons at the JSON level
/// ignore that difference (the typed comparison checks the fields where it matters).
pub fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}
