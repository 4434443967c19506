//! Ephemeral client secrets (`ek_…`) minted by `POST /v1/realtime/client_secrets` (GA) and
//! `POST /v1/realtime/sessions` (beta), each bound to the session config it was minted with.
//!
//! As on the service, the expiry only limits when a secret may *start* sessions: a session
//! that started before the expiry keeps running, and one secret can start several sessions.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use voicewire_protocol::SessionPayload;

use crate::ids;

/// Shortest allowed `expires_after.seconds`.
pub const MIN_TTL_SECS: u64 = 10;
/// Longest allowed `expires_after.seconds`.
pub const MAX_TTL_SECS: u64 = 7_200;
/// Default TTL.
pub const DEFAULT_TTL_SECS: u64 = 600;
/// Secrets kept at once; the soonest-expiring go first beyond this (bounds memory).
const MAX_SECRETS: usize = 100_000;

/// A minted secret and what it was minted for.
#[derive(Clone)]
pub(crate) struct MintedSecret {
    pub(crate) expires_at: SystemTime,
    pub(crate) session: SessionPayload,
}

/// What looking up a presented `ek_…` key found.
pub(crate) enum SecretLookup {
    /// Valid: the session config to start with.
    Valid(Box<SessionPayload>),
    /// Known but past its expiry.
    Expired,
    /// Never minted here.
    Unknown,
}

/// All secrets minted by one emulator.
#[derive(Default)]
pub(crate) struct SecretStore {
    secrets: Mutex<HashMap<String, MintedSecret>>,
}

impl SecretStore {
    /// Mints a secret valid for `ttl`, returning its value and expiry (unix seconds).
    pub(crate) fn mint(&self, ttl: Duration, session: SessionPayload) -> (String, i64) {
        let value = ids::ephemeral_key();
        let expires_at = SystemTime::now() + ttl;
        let unix = unix_seconds(expires_at);
        let mut secrets = self
            .secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if secrets.len() >= MAX_SECRETS {
            let now = SystemTime::now();
            secrets.retain(|_, s| s.expires_at > now);
            if secrets.len() >= MAX_SECRETS
                && let Some(oldest) = secrets
                    .iter()
                    .min_by_key(|(_, s)| s.expires_at)
                    .map(|(k, _)| k.clone())
            {
                secrets.remove(&oldest);
            }
        }
        secrets.insert(
            value.clone(),
            MintedSecret {
                expires_at,
                session,
            },
        );
        (value, unix)
    }

    pub(crate) fn lookup(&self, value: &str) -> SecretLookup {
        let secrets = self
            .secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match secrets.get(value) {
            Some(s) if s.expires_at > SystemTime::now() => {
                SecretLookup::Valid(Box::new(s.session.clone()))
            }
            Some(_) => SecretLookup::Expired,
            None => SecretLookup::Unknown,
        }
    }
}

/// Seconds since the Unix epoch (0 for times before it).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mint_lookup_and_expiry() {
        let store = SecretStore::default();
        let (value, expires) = store.mint(Duration::from_secs(60), SessionPayload::default());
        assert!(value.starts_with("ek_"));
        assert!(expires > unix_seconds(SystemTime::now()));
        assert!(matches!(store.lookup(&value), SecretLookup::Valid(_)));
        assert!(matches!(store.lookup("ek_nope"), SecretLookup::Unknown));
        let (expired, _) = store.mint(Duration::ZERO, SessionPayload::default());
        assert!(matches!(store.lookup(&expired), SecretLookup::Expired));
    }
}
