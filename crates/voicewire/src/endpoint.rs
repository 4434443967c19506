//! Where to connect: OpenAI by default, or any server that speaks the protocol (a relay, an
//! Azure-style deployment, the local emulator).

use std::time::Duration;

use crate::auth::Secret;
use crate::error::TransportError;

/// The default model of new sessions.
pub const DEFAULT_MODEL: &str = "gpt-realtime";

/// How the credential is presented on the WebSocket handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthStyle {
    /// `Authorization: Bearer <token>` (OpenAI, servers, the emulator).
    BearerHeader,
    /// Browser-style subprotocols `realtime, openai-insecure-api-key.<token>`, for relays and
    /// servers built for browsers (which cannot set headers).
    Subprotocol,
    /// A named header carrying the raw token (Azure-style `api-key`).
    Header(String),
    /// No credential on the handshake (the relay authenticates with `extra_query`/headers).
    None,
}

/// A server endpoint.
///
/// Its `Debug` output redacts URLs (userinfo and query values: a relay URL may carry a JWT)
/// and every header and query value.
#[derive(Clone)]
pub struct Endpoint {
    /// REST base, e.g. `https://api.openai.com/v1` (also the base the WebSocket URL is derived
    /// from: `http`→`ws`, `https`→`wss`, plus `/realtime`).
    pub api_base: String,
    /// A full WebSocket URL that replaces the derived one (a relay URL); `model`/`call_id` are
    /// still appended when set.
    pub websocket_url: Option<String>,
    /// Model query parameter for new sessions.
    pub model: Option<String>,
    /// Join an existing call instead of starting a session (`?call_id=`).
    pub call_id: Option<String>,
    /// How the token is presented.
    pub auth: AuthStyle,
    /// Extra handshake headers (values treated as secrets).
    pub extra_headers: Vec<(String, Secret)>,
    /// Extra query parameters, e.g. a relay JWT (values treated as secrets).
    pub extra_query: Vec<(String, Secret)>,
    /// WebSocket ping interval; the connection is declared dead after three silent intervals.
    pub keepalive_interval: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |pairs: &[(String, Secret)]| -> Vec<String> {
            pairs.iter().map(|(name, _)| name.clone()).collect()
        };
        f.debug_struct("Endpoint")
            .field("api_base", &redact_url(&self.api_base))
            .field(
                "websocket_url",
                &self.websocket_url.as_deref().map(redact_url),
            )
            .field("model", &self.model)
            .field("call_id", &self.call_id)
            .field("auth", &self.auth)
            .field("extra_headers", &names(&self.extra_headers))
            .field("extra_query", &names(&self.extra_query))
            .field("keepalive_interval", &self.keepalive_interval)
            .finish()
    }
}

/// `url` with its userinfo replaced by `***`, every query value by `…` (names are kept) and
/// any fragment removed, for logs and `Debug`. Text that does not parse as a URL is hidden
/// entirely (it could be anything, including a bare secret).
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<unparseable url>".to_owned();
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // Both only fail for URLs that cannot have userinfo, which then has none to hide.
        let _ = parsed.set_username("***");
        let _ = parsed.set_password(None);
    }
    let names: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
    if parsed.query().is_some() {
        if names.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear();
            let mut pairs = parsed.query_pairs_mut();
            for name in &names {
                pairs.append_pair(name, "…");
            }
        }
    }
    parsed.set_fragment(None);
    // Keep the placeholder readable instead of percent-encoded.
    parsed.to_string().replace("%E2%80%A6", "…")
}

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint::openai()
    }
}

impl Endpoint {
    /// OpenAI, model [`DEFAULT_MODEL`].
    pub fn openai() -> Self {
        Endpoint::with_api_base(crate::auth::OPENAI_API_BASE)
    }

    /// Any server given its REST base (`http://127.0.0.1:PORT/v1` for the local emulator).
    pub fn with_api_base(api_base: impl Into<String>) -> Self {
        Endpoint {
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            websocket_url: None,
            model: Some(DEFAULT_MODEL.to_owned()),
            call_id: None,
            auth: AuthStyle::BearerHeader,
            extra_headers: Vec::new(),
            extra_query: Vec::new(),
            keepalive_interval: Duration::from_secs(15),
        }
    }

    /// A relay: connect to `websocket_url` exactly, authenticating with subprotocols.
    pub fn relay(websocket_url: impl Into<String>) -> Self {
        Endpoint {
            websocket_url: Some(websocket_url.into()),
            auth: AuthStyle::Subprotocol,
            ..Endpoint::openai()
        }
    }

    /// An Azure-style deployment: `wss://<resource>/openai/realtime?api-version=…&deployment=…`
    /// with the key in an `api-key` header. `resource_base` is like `https://x.openai.azure.com`.
    pub fn azure(resource_base: &str, deployment: &str, api_version: &str) -> Self {
        let base = resource_base.trim_end_matches('/');
        let ws = base
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        Endpoint {
            api_base: format!("{base}/openai"),
            websocket_url: Some(format!("{ws}/openai/realtime")),
            model: None,
            extra_query: vec![
                ("api-version".to_owned(), Secret::new(api_version)),
                ("deployment".to_owned(), Secret::new(deployment)),
            ],
            auth: AuthStyle::Header("api-key".to_owned()),
            ..Endpoint::openai()
        }
    }

    /// Sets the model (builder style).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self.call_id = None;
        self
    }

    /// Joins an existing call (builder style).
    pub fn call_id(mut self, call_id: impl Into<String>) -> Self {
        self.call_id = Some(call_id.into());
        self.model = None;
        self
    }

    /// Sets the handshake auth style (builder style).
    pub fn auth_style(mut self, auth: AuthStyle) -> Self {
        self.auth = auth;
        self
    }

    /// Adds a handshake header (builder style).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }

    /// Adds a query parameter (builder style).
    pub fn query(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.extra_query.push((name.into(), value.into()));
        self
    }

    /// The WebSocket URL to open.
    pub fn websocket_url(&self) -> Result<url::Url, TransportError> {
        let text = match &self.websocket_url {
            Some(url) => url.clone(),
            None => {
                let base = self.api_base.trim_end_matches('/');
                let ws = if let Some(rest) = base.strip_prefix("https://") {
                    format!("wss://{rest}")
                } else if let Some(rest) = base.strip_prefix("http://") {
                    format!("ws://{rest}")
                } else {
                    base.to_owned()
                };
                format!("{ws}/realtime")
            }
        };
        let mut url =
            url::Url::parse(&text).map_err(|e| TransportError::InvalidUrl(format!("{e}")))?;
        if !matches!(url.scheme(), "ws" | "wss") {
            return Err(TransportError::InvalidUrl(format!(
                "scheme must be ws or wss, found {}",
                url.scheme()
            )));
        }
        {
            let existing: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
            let mut pairs = url.query_pairs_mut();
            if let Some(call_id) = &self.call_id {
                if !existing.iter().any(|k| k == "call_id") {
                    pairs.append_pair("call_id", call_id);
                }
            } else if let Some(model) = &self.model
                && !existing.iter().any(|k| k == "model")
            {
                pairs.append_pair("model", model);
            }
            for (k, v) in &self.extra_query {
                pairs.append_pair(k, v.expose());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }

    /// The WebSocket URL with userinfo and query values hidden, for logs.
    pub fn redacted_websocket_url(&self) -> String {
        match self.websocket_url() {
            Ok(url) => redact_url(url.as_str()),
            Err(e) => e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_websocket_urls() {
        assert_eq!(
            Endpoint::openai().websocket_url().unwrap().as_str(),
            "wss://api.openai.com/v1/realtime?model=gpt-realtime"
        );
        assert_eq!(
            Endpoint::with_api_base("http://127.0.0.1:9000/v1/")
                .call_id("rtc_1")
                .websocket_url()
                .unwrap()
                .as_str(),
            "ws://127.0.0.1:9000/v1/realtime?call_id=rtc_1"
        );
    }

    #[test]
    fn relay_keeps_its_query_and_adds_a_jwt() {
        let e = Endpoint::relay("wss://relay.example/ws?room=1").query("token", "jwt.abc");
        assert_eq!(
            e.websocket_url().unwrap().as_str(),
            "wss://relay.example/ws?room=1&model=gpt-realtime&token=jwt.abc"
        );
        assert!(!e.redacted_websocket_url().contains("jwt"));
    }

    #[test]
    fn debug_never_shows_userinfo_query_values_or_header_values() {
        let e = Endpoint::relay("wss://user:hunter2@relay.example/ws?room=r42&jwt=eyJ.secret#frag")
            .query("token", "jwt.abc")
            .header("x-relay-key", "rk_live_secret");
        let shown = format!("{e:?} {e:#?}");
        for secret in [
            "hunter2",
            "user:",
            "eyJ.secret",
            "jwt.abc",
            "rk_live_secret",
            "r42",
            "frag",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        // Still useful: host, path, parameter and header names.
        for visible in [
            "relay.example/ws",
            "room=…",
            "jwt=…",
            "token",
            "x-relay-key",
        ] {
            assert!(shown.contains(visible), "{visible} missing: {shown}");
        }
        let logged = e.redacted_websocket_url();
        assert!(
            !logged.contains("hunter2") && !logged.contains("jwt.abc"),
            "{logged}"
        );
        assert!(
            logged.starts_with("wss://***@relay.example/ws?"),
            "{logged}"
        );

        let api = Endpoint::with_api_base("https://key:pw@api.example/v1?k=v");
        let shown = format!("{api:?}");
        assert!(!shown.contains("pw") && !shown.contains("=v"), "{shown}");
        assert_eq!(redact_url("not a url with sk-secret"), "<unparseable url>");
        assert_eq!(
            redact_url("https://api.openai.com/v1"),
            "https://api.openai.com/v1"
        );
    }

    #[test]
    fn azure_style() {
        let e = Endpoint::azure("https://x.openai.azure.com", "dep", "2025-04-01-preview");
        assert_eq!(
            e.websocket_url().unwrap().as_str(),
            "wss://x.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=dep"
        );
        assert_eq!(e.auth, AuthStyle::Header("api-key".into()));
    }

    #[test]
    fn rejects_non_websocket_schemes() {
        let e = Endpoint {
            websocket_url: Some("ftp://x".into()),
            ..Endpoint::openai()
        };
        assert!(e.websocket_url().is_err());
    }
}
