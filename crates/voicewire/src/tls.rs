//! One TLS configuration for every outgoing connection: rustls with the `ring` provider and
//! the Mozilla roots compiled in (webpki-roots).
//!
//! Why not the platform verifier or the process-default provider: mobile builds must not
//! depend on OpenSSL or on which crypto provider another crate installed first, and the same
//! roots everywhere make behaviour identical on iOS, Android and Linux.

use std::sync::{Arc, OnceLock};

use crate::error::Error;

/// The shared client TLS configuration (built once).
pub(crate) fn client_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| Error::other(format!("TLS configuration failed: {e}")))
}

/// An HTTP client that uses [`client_config`].
pub(crate) fn http_client() -> Result<reqwest::Client, Error> {
    let tls = client_config()?;
    reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .build()
        .map_err(|e| Error::other(format!("HTTP client setup failed: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn configs_build() {
        assert!(super::client_config().is_ok());
        assert!(super::http_client().is_ok());
    }
}
