//! Credentials on incoming requests: where they come from, and whether they are good.
//!
//! Server-side clients send `Authorization: Bearer <key>`; browsers cannot set headers on a
//! WebSocket, so they send the key as the subprotocol `openai-insecure-api-key.<key>` next
//! to `realtime` (and `openai-beta.realtime-v1` for the beta dialect). The emulator accepts
//! both, and a handshake with no subprotocol at all (openai-python sends none).

use http::HeaderMap;

/// Subprotocol prefix that carries the API key in browsers.
pub const INSECURE_KEY_PROTOCOL_PREFIX: &str = "openai-insecure-api-key.";
/// Subprotocol that selects the beta dialect.
pub const BETA_PROTOCOL: &str = "openai-beta.realtime-v1";
/// The subprotocol the server selects when offered.
pub const REALTIME_PROTOCOL: &str = "realtime";
/// Prefix of ephemeral client secrets.
pub const EPHEMERAL_KEY_PREFIX: &str = "ek_";

/// A key presented by a client. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedKey(String);

impl std::fmt::Debug for PresentedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_ephemeral() {
            f.write_str("PresentedKey(ek_…redacted)")
        } else {
            f.write_str("PresentedKey(…redacted)")
        }
    }
}

impl PresentedKey {
    /// The raw key text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for `ek_…` client secrets.
    pub fn is_ephemeral(&self) -> bool {
        self.0.starts_with(EPHEMERAL_KEY_PREFIX)
    }
}

/// The subprotocols offered in `Sec-WebSocket-Protocol`, split and trimmed.
pub fn offered_subprotocols(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The key from `Authorization: Bearer`, else from the browser subprotocol. Empty keys
/// count as absent.
pub fn presented_key(headers: &HeaderMap, subprotocols: &[String]) -> Option<PresentedKey> {
    let from_header = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_owned())
        })
        .filter(|k| !k.is_empty());
    let from_protocol = || {
        subprotocols
            .iter()
            .find_map(|p| p.strip_prefix(INSECURE_KEY_PROTOCOL_PREFIX))
            .map(str::to_owned)
            .filter(|k| !k.is_empty())
    };
    from_header.or_else(from_protocol).map(PresentedKey)
}

/// True when the connection asks for the beta dialect (`OpenAI-Beta: realtime=v1` or the
/// `openai-beta.realtime-v1` subprotocol).
pub fn wants_beta(headers: &HeaderMap, subprotocols: &[String]) -> bool {
    let header = headers
        .get_all("openai-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|part| part.trim().eq_ignore_ascii_case("realtime=v1"))
        });
    header || subprotocols.iter().any(|p| p == BETA_PROTOCOL)
}

/// Compares two secrets in time independent of where they first differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn bearer_header_wins_over_subprotocol() {
        let h = headers(&[
            ("authorization", "Bearer sk-one"),
            (
                "sec-websocket-protocol",
                "realtime, openai-insecure-api-key.sk-two",
            ),
        ]);
        let protocols = offered_subprotocols(&h);
        assert_eq!(
            protocols,
            vec!["realtime", "openai-insecure-api-key.sk-two"]
        );
        assert_eq!(presented_key(&h, &protocols).unwrap().expose(), "sk-one");
    }

    #[test]
    fn browser_subprotocol_key_and_beta() {
        let h = headers(&[(
            "sec-websocket-protocol",
            "realtime, openai-insecure-api-key.ek_abc, openai-beta.realtime-v1",
        )]);
        let protocols = offered_subprotocols(&h);
        let key = presented_key(&h, &protocols).unwrap();
        assert!(key.is_ephemeral());
        assert!(!format!("{key:?}").contains("abc"));
        assert!(wants_beta(&h, &protocols));
    }

    #[test]
    fn missing_or_empty_keys() {
        let h = headers(&[("authorization", "Bearer   ")]);
        assert!(presented_key(&h, &[]).is_none());
        let h = headers(&[("authorization", "Basic abc")]);
        assert!(presented_key(&h, &[]).is_none());
        assert!(presented_key(&HeaderMap::new(), &[]).is_none());
    }

    #[test]
    fn beta_header() {
        assert!(wants_beta(&headers(&[("OpenAI-Beta", "realtime=v1")]), &[]));
        assert!(!wants_beta(
            &headers(&[("OpenAI-Beta", "assistants=v2")]),
            &[]
        ));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
