//! Credentials: token sources, the token cache, and the minting client for Rust backends.

mod http;
pub mod mint;
pub mod secret;
pub mod token;

pub use mint::{MintingClient, OPENAI_API_BASE};
pub use secret::Secret;
pub use token::{
    ClientSecret, EXPIRY_MARGIN, HttpTokenProvider, TokenCache, TokenProvider, TokenSource,
};
