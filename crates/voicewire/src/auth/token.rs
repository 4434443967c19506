//! Where the session's credential comes from, and when to ask for a new one.
//!
//! Four sources (DESIGN.md): a standard API key (trusted servers only), a fixed ephemeral
//! key, an application callback ([`TokenProvider`], how a mobile app asks its own backend),
//! and [`HttpTokenProvider`], which POSTs to a backend URL and accepts both the GA shape
//! `{value, expires_at}` and the beta shape `{client_secret: {value, expires_at}}`.
//!
//! [`TokenCache`] holds the current token and refreshes it before every (re)connect when it
//! has expired or will within [`EXPIRY_MARGIN`]; a connection that is already open is not
//! affected by expiry (the TTL only limits when a secret may *start* sessions).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

/// Kept here too: the WebRTC transport describes its HTTP errors with it.
pub(crate) use super::http::without_url;
use super::secret::Secret;
use crate::error::TokenError;

/// A token is refreshed when it expires within this margin.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// A credential and when it stops being usable for new connections.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret {
    /// The key (`ek_…` for ephemeral keys).
    pub value: Secret,
    /// Unix time (seconds) after which the key cannot start sessions; `None` = never expires.
    pub expires_at: Option<u64>,
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecret")
            .field("value", &self.value)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl ClientSecret {
    /// A secret that never expires (API keys).
    pub fn permanent(value: impl Into<Secret>) -> Self {
        ClientSecret {
            value: value.into(),
            expires_at: None,
        }
    }

    /// A secret expiring at `expires_at` (unix seconds).
    pub fn expiring(value: impl Into<Secret>, expires_at: u64) -> Self {
        ClientSecret {
            value: value.into(),
            expires_at: Some(expires_at),
        }
    }

    /// Whether the secret is expired, or expires within `margin`, at unix time `now_secs`.
    pub fn expires_within(&self, now_secs: u64, margin: Duration) -> bool {
        match self.expires_at {
            None => false,
            Some(at) => now_secs.saturating_add(margin.as_secs()) >= at,
        }
    }

    /// Parses a minting or backend response: GA `{value, expires_at}` or beta
    /// `{client_secret: {value, expires_at}}`.
    pub fn from_json(body: &str) -> Result<Self, TokenError> {
        let minted: voicewire_protocol::MintedSecret = serde_json::from_str(body)
            .map_err(|e| TokenError::InvalidResponse(describe_bad_body(&e)))?;
        Ok(ClientSecret::from(minted))
    }
}

impl From<voicewire_protocol::MintedSecret> for ClientSecret {
    fn from(m: voicewire_protocol::MintedSecret) -> Self {
        ClientSecret {
            value: Secret::new(m.value),
            expires_at: u64::try_from(m.expires_at).ok(),
        }
    }
}

/// An application-provided source of tokens: typically a call to the app's own backend,
/// which mints an ephemeral key with the real API key (that key never reaches the device).
#[async_trait]
pub trait TokenProvider: Send + Sync {
    /// Returns a fresh token. Called before the first connect and again before every
    /// reconnect or recycle (each new connection gets a fresh secret), and once more when the
    /// server refuses a token.
    async fn fetch_token(&self) -> Result<ClientSecret, TokenError>;
}

/// Fetches tokens by POSTing to a backend URL.
#[derive(Clone)]
pub struct HttpTokenProvider {
    url: String,
    headers: Vec<(String, Secret)>,
    body: Option<serde_json::Value>,
    client: reqwest::Client,
}

impl fmt::Debug for HttpTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpTokenProvider")
            .field("url", &self.url)
            .field("headers", &header_names)
            .finish()
    }
}

impl HttpTokenProvider {
    /// A provider that POSTs `{}` to `url`.
    pub fn new(url: impl Into<String>) -> Result<Self, crate::Error> {
        Ok(HttpTokenProvider {
            url: url.into(),
            headers: Vec::new(),
            body: None,
            client: crate::tls::http_client()?,
        })
    }

    /// Adds a header to every request (for example the app's own session cookie or bearer).
    /// The value is treated as a secret and never logged.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends this JSON body instead of `{}`.
    pub fn with_body(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }
}

#[async_trait]
impl TokenProvider for HttpTokenProvider {
    async fn fetch_token(&self) -> Result<ClientSecret, TokenError> {
        let mut request = self
            .client
            .post(&self.url)
            .json(self.body.as_ref().unwrap_or(&serde_json::json!({})));
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.expose());
        }
        super::http::fetch_client_secret(request).await
    }
}

/// Where the session gets its credential.
#[derive(Clone)]
#[non_exhaustive]
pub enum TokenSource {
    /// A standard API key. Only for trusted servers: it must never ship inside an app.
    ApiKey(Secret),
    /// A fixed ephemeral key; once it expires the session cannot reconnect.
    EphemeralKey(ClientSecret),
    /// The application's callback.
    Provider(Arc<dyn TokenProvider>),
    /// POST to a backend URL.
    Http(HttpTokenProvider),
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::ApiKey(_) => f.write_str("TokenSource::ApiKey(***)"),
            TokenSource::EphemeralKey(s) => write!(
                f,
                "TokenSource::EphemeralKey(expires_at: {:?})",
                s.expires_at
            ),
            TokenSource::Provider(_) => f.write_str("TokenSource::Provider(..)"),
            TokenSource::Http(p) => write!(f, "TokenSource::Http({p:?})"),
        }
    }
}

impl TokenSource {
    /// A standard API key.
    pub fn api_key(key: impl Into<Secret>) -> Self {
        TokenSource::ApiKey(key.into())
    }

    /// What kind of credential this source hands out (it decides the WebRTC offer's shape).
    pub fn credential_kind(&self) -> crate::transport::CredentialKind {
        match self {
            TokenSource::ApiKey(_) => crate::transport::CredentialKind::ApiKey,
            TokenSource::EphemeralKey(_) | TokenSource::Provider(_) | TokenSource::Http(_) => {
                crate::transport::CredentialKind::Ephemeral
            }
        }
    }

    /// A fixed ephemeral key.
    pub fn ephemeral(secret: ClientSecret) -> Self {
        TokenSource::EphemeralKey(secret)
    }

    /// An application callback.
    pub fn provider(provider: Arc<dyn TokenProvider>) -> Self {
        TokenSource::Provider(provider)
    }

    /// POST to `url` for each token.
    pub fn http(url: impl Into<String>) -> Result<Self, crate::Error> {
        Ok(TokenSource::Http(HttpTokenProvider::new(url)?))
    }

    async fn fetch(&self) -> Result<ClientSecret, TokenError> {
        match self {
            TokenSource::ApiKey(key) => Ok(ClientSecret::permanent(key.clone())),
            TokenSource::EphemeralKey(secret) => Ok(secret.clone()),
            TokenSource::Provider(p) => p.fetch_token().await,
            TokenSource::Http(p) => p.fetch_token().await,
        }
    }
}

/// Seconds since the Unix epoch from the system clock (token expiry is wall-clock time).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The current token, refreshed from the source when needed.
#[derive(Debug)]
pub struct TokenCache {
    source: TokenSource,
    current: Option<ClientSecret>,
    fetches: u64,
}

impl TokenCache {
    /// A cache in front of `source`.
    pub fn new(source: TokenSource) -> Self {
        TokenCache {
            source,
            current: None,
            fetches: 0,
        }
    }

    /// A usable token: the cached one if it is valid for at least [`EXPIRY_MARGIN`] more,
    /// otherwise a new one from the source.
    pub async fn token(&mut self) -> Result<ClientSecret, TokenError> {
        self.token_at(unix_now()).await
    }

    /// [`TokenCache::token`] at an explicit unix time (for tests).
    pub async fn token_at(&mut self, now_secs: u64) -> Result<ClientSecret, TokenError> {
        if let Some(current) = &self.current
            && !current.expires_within(now_secs, EXPIRY_MARGIN)
        {
            return Ok(current.clone());
        }
        let fresh = self.source.fetch().await?;
        self.fetches += 1;
        if fresh.expires_within(now_secs, Duration::ZERO) {
            // A fixed key that already expired cannot be refreshed; a provider that returns
            // an expired token is broken in the same way.
            return Err(TokenError::Expired);
        }
        self.current = Some(fresh.clone());
        Ok(fresh)
    }

    /// A token for a new connection after an earlier one (reconnect, recycle): sources that
    /// can mint (a provider, a backend URL) are asked for a fresh token even when the cached
    /// one is still valid — an ephemeral secret belongs to the connection it was minted
    /// for, and a new one carries the backend's current session policy. Fixed keys (API
    /// key, one ephemeral key) are reused while valid.
    pub async fn token_for_next_connection(&mut self) -> Result<ClientSecret, TokenError> {
        if matches!(self.source, TokenSource::Provider(_) | TokenSource::Http(_)) {
            self.invalidate();
        }
        self.token().await
    }

    /// Forgets the cached token (the server refused it), so the next call fetches.
    pub fn invalidate(&mut self) {
        self.current = None;
    }

    /// How many tokens were fetched from the source.
    pub fn fetches(&self) -> u64 {
        self.fetches
    }
}

/// Says what is wrong with a token response without quoting it: serde's own messages quote the
/// offending value (`invalid type: string "ek_…"`), and a backend that puts the secret in an
/// unexpected shape would otherwise see it land in logs, states and app events.
fn describe_bad_body(error: &serde_json::Error) -> String {
    let kind = match error.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "valid JSON of the wrong shape",
        serde_json::error::Category::Eof => "cut short",
    };
    format!(
        "the body is {kind} (line {}, column {}); expected {{\"value\", \"expires_at\"}} or \
         {{\"client_secret\": {{\"value\", \"expires_at\"}}}}",
        error.line(),
        error.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_token_body_never_quotes_the_secret() {
        for body in [
            r#"{"client_secret":"ek_topsecret"}"#,
            r#"{"value":42,"note":"ek_topsecret"}"#,
            r#"{"value":"ek_topsecret","expires_at":"soon"}"#,
            r#"ek_topsecret"#,
            r#"{"value":"ek_topsecret""#,
        ] {
            let error = ClientSecret::from_json(body).unwrap_err();
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("topsecret"), "{shown}");
            assert!(matches!(error, TokenError::InvalidResponse(_)), "{error:?}");
            assert_eq!(error.kind(), voicewire_core::ErrorKind::Protocol);
        }
    }
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Counting {
        calls: AtomicU64,
        ttl: u64,
        now: u64,
    }

    #[async_trait]
    impl TokenProvider for Counting {
        async fn fetch_token(&self) -> Result<ClientSecret, TokenError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(ClientSecret::expiring(
                format!("ek_{n}"),
                self.now + self.ttl,
            ))
        }
    }

    #[tokio::test]
    async fn cache_refreshes_only_near_expiry() {
        let provider = Arc::new(Counting {
            calls: AtomicU64::new(0),
            ttl: 60,
            now: 1_000,
        });
        let mut cache = TokenCache::new(TokenSource::provider(provider.clone()));
        let a = cache.token_at(1_000).await.unwrap();
        let b = cache.token_at(1_040).await.unwrap();
        assert_eq!(a, b);
        let c = cache.token_at(1_055).await.unwrap(); // within the 10 s margin
        assert_ne!(a, c);
        assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn expired_fixed_key_is_a_typed_error() {
        let mut cache = TokenCache::new(TokenSource::ephemeral(ClientSecret::expiring(
            "ek_old", 100,
        )));
        assert!(matches!(
            cache.token_at(200).await,
            Err(TokenError::Expired)
        ));
        let mut cache = TokenCache::new(TokenSource::api_key("sk"));
        assert_eq!(cache.token_at(u64::MAX - 5).await.unwrap().expires_at, None);
    }

    #[test]
    fn debug_never_shows_keys() {
        let s = TokenSource::api_key("sk-secret");
        assert!(!format!("{s:?}").contains("sk-secret"));
        let c = ClientSecret::expiring("ek_secret", 5);
        assert!(!format!("{c:?}").contains("ek_secret"));
    }
}
