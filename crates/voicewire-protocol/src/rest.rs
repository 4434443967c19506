//! REST bodies: minting ephemeral client secrets (GA `POST /v1/realtime/client_secrets`,
//! beta `POST /v1/realtime/sessions`), PROTOCOL.md §1.1 and §1.4.
//!
//! Secret values never appear in `Debug` output.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::session::{BetaSessionConfig, SessionConfig, SessionPayload};

/// Lowest allowed `expires_after.seconds`.
pub const MIN_SECRET_TTL_SECONDS: u32 = 10;
/// Highest allowed `expires_after.seconds`.
pub const MAX_SECRET_TTL_SECONDS: u32 = 7200;
/// Default secret lifetime when `expires_after` is left out.
pub const DEFAULT_SECRET_TTL_SECONDS: u32 = 600;

/// How long a client secret may start sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiresAfter {
    /// Always `created_at`.
    #[serde(default = "default_anchor")]
    pub anchor: String,
    /// Lifetime in seconds, 10..=7200 (default 600).
    #[serde(default = "default_ttl")]
    pub seconds: u32,
}

fn default_anchor() -> String {
    "created_at".to_owned()
}

fn default_ttl() -> u32 {
    DEFAULT_SECRET_TTL_SECONDS
}

impl Default for ExpiresAfter {
    fn default() -> Self {
        Self {
            anchor: default_anchor(),
            seconds: DEFAULT_SECRET_TTL_SECONDS,
        }
    }
}

impl ExpiresAfter {
    /// Anchored at creation, lasting `seconds`.
    pub fn seconds(seconds: u32) -> Self {
        Self {
            anchor: default_anchor(),
            seconds,
        }
    }

    /// Whether `seconds` is in the allowed range and the anchor is `created_at`.
    pub fn is_valid(&self) -> bool {
        self.anchor == "created_at"
            && (MIN_SECRET_TTL_SECONDS..=MAX_SECRET_TTL_SECONDS).contains(&self.seconds)
    }
}

/// Body of `POST /v1/realtime/client_secrets` (every key optional).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClientSecretCreateRequest {
    /// Lifetime of the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_after: Option<ExpiresAfter>,
    /// Session config attached to the secret (tagged by `type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionPayload>,
}

/// Response of `POST /v1/realtime/client_secrets`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSecretCreateResponse {
    /// The secret (`ek_…`). Redacted in `Debug`.
    pub value: String,
    /// Unix time (s) after which the secret can no longer start sessions.
    pub expires_at: i64,
    /// The effective session config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionPayload>,
}

impl std::fmt::Debug for ClientSecretCreateResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecretCreateResponse")
            .field("value", &redacted(&self.value))
            .field("expires_at", &self.expires_at)
            .field("session", &self.session)
            .finish()
    }
}

/// `client_secret` of the beta session response.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSecret {
    /// The secret. Redacted in `Debug`.
    pub value: String,
    /// Unix time (s) when it expires.
    pub expires_at: i64,
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecret")
            .field("value", &redacted(&self.value))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Response of the beta `POST /v1/realtime/sessions`: the flat session plus
/// `client_secret`. The session is held in the GA type; it is written flat.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionsCreateResponse {
    /// The session (read from, and written as, the flat beta shape).
    pub session: SessionConfig,
    /// The ephemeral key.
    pub client_secret: ClientSecret,
}

impl Serialize for SessionsCreateResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(flatten)]
            session: BetaSessionConfig,
            client_secret: &'a ClientSecret,
        }
        Wire {
            session: BetaSessionConfig::from(&self.session),
            client_secret: &self.client_secret,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SessionsCreateResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut value = Value::deserialize(deserializer)?;
        let secret = value
            .as_object_mut()
            .and_then(|m| m.shift_remove("client_secret"))
            .ok_or_else(|| D::Error::missing_field("client_secret"))?;
        let client_secret = ClientSecret::deserialize(secret).map_err(D::Error::custom)?;
        let session = SessionConfig::deserialize(value).map_err(D::Error::custom)?;
        Ok(Self {
            session,
            client_secret,
        })
    }
}

/// A minted ephemeral key, read from either the GA `{value, expires_at, …}` or the beta
/// `{client_secret: {value, expires_at}, …}` response. This is what a token endpoint
/// hands to an app. `Debug` redacts the value.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct MintedSecret {
    /// The secret (`ek_…`).
    pub value: String,
    /// Unix time (s) when it stops being usable to start sessions.
    pub expires_at: i64,
}

impl std::fmt::Debug for MintedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedSecret")
            .field("value", &redacted(&self.value))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl<'de> Deserialize<'de> for MintedSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Flat {
            value: Option<String>,
            expires_at: Option<i64>,
            client_secret: Option<ClientSecret>,
        }
        let flat = Flat::deserialize(deserializer)?;
        match (flat.value, flat.expires_at, flat.client_secret) {
            (Some(value), Some(expires_at), _) => Ok(Self { value, expires_at }),
            (_, _, Some(secret)) => Ok(Self {
                value: secret.value,
                expires_at: secret.expires_at,
            }),
            _ => Err(D::Error::custom(
                "expected `{value, expires_at}` or `{client_secret: {value, expires_at}}`",
            )),
        }
    }
}

impl From<ClientSecretCreateResponse> for MintedSecret {
    fn from(r: ClientSecretCreateResponse) -> Self {
        Self {
            value: r.value,
            expires_at: r.expires_at,
        }
    }
}

impl From<ClientSecret> for MintedSecret {
    fn from(s: ClientSecret) -> Self {
        Self {
            value: s.value,
            expires_at: s.expires_at,
        }
    }
}

/// Shows only a short prefix (`ek_`…) and the length, never the secret itself.
fn redacted(secret: &str) -> String {
    let prefix: String = secret.chars().take(3).collect();
    format!("{prefix}… ({} chars, redacted)", secret.chars().count())
}
