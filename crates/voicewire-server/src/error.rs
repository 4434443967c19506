//! Errors of starting and running the emulator.

use std::net::SocketAddr;

/// The emulator could not start (or stop cleanly).
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsSetupError),
    /// The certificate directory could not be created.
    #[error("cannot create a directory for the TLS certificate: {0}")]
    CertDir(std::io::Error),
    /// A scenario file was invalid.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// A server task failed.
    #[error("server task failed: {0}")]
    Task(String),
}
