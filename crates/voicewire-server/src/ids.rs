//! Server-generated ids with the service's prefixes (`sess_`, `item_`, `resp_`, `event_`,
//! `call_`, `conv_`, `ek_`).

use rand::Rng;
use rand::distr::Alphanumeric;

fn random_suffix(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// `sess_…`
pub fn session() -> String {
    format!("sess_{}", random_suffix(20))
}

/// `conv_…`
pub fn conversation() -> String {
    format!("conv_{}", random_suffix(20))
}

/// `item_…`
pub fn item() -> String {
    format!("item_{}", random_suffix(20))
}

/// `resp_…`
pub fn response() -> String {
    format!("resp_{}", random_suffix(20))
}

/// `event_…`
pub fn event() -> String {
    format!("event_{}", random_suffix(20))
}

/// `call_…` (function call ids)
pub fn function_call() -> String {
    format!("call_{}", random_suffix(16))
}

/// `ek_…` (ephemeral client secrets); long enough not to be guessed.
pub fn ephemeral_key() -> String {
    format!("ek_{}", random_suffix(40))
}
