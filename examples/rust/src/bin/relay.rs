//! Connecting through a JWT-authenticated relay: the session's URL is the relay's, the
//! credential is a JWT from the app's own login, and only the relay holds the API key
//! (the relay's code is in `src/relay.rs`).
//!
//! `cargo run -p voicewire-examples --bin relay`
#![allow(clippy::print_stdout, reason = "an example program reports on stdout")]

use std::sync::Arc;
use std::time::Duration;

use voicewire::run::text_turn;
use voicewire::{AuthStyle, ClientSecret, Endpoint, SessionOptions, TokenSource};
use voicewire_examples::relay::Relay;
use voicewire_examples::{BoxError, install_crypto_provider, upstream::Upstream};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    install_crypto_provider();
    let upstream = Upstream::from_env(None).await?;
    println!("relay upstream: {}", upstream.describe());
    let relay = Arc::new(Relay::new(
        &upstream.ws_base(),
        &upstream.api_key,
        b"relay-signing-secret-from-your-config",
    ));
    let (addr, _server) = Arc::clone(&relay).serve(([127, 0, 0, 1], 0).into()).await?;
    println!("relay at ws://{addr}/realtime");

    // The app's login backend issues the JWT; the app puts it in the relay URL.
    let jwt = relay.issue_token("ana", 300)?;
    let session_via_relay = |token: &str| {
        let endpoint = Endpoint::relay(format!("ws://{addr}/realtime"))
            .query("token", token)
            .auth_style(AuthStyle::None);
        // The relay authenticates with the URL's token; the token source only tracks its
        // expiry (a session cannot reconnect once the JWT has expired).
        let source = TokenSource::ephemeral(ClientSecret::permanent(token));
        SessionOptions::new(source).endpoint(endpoint)
    };
    let outcome = text_turn(
        session_via_relay(&jwt),
        "Hello through the relay",
        Duration::from_secs(60),
    )
    .await;
    let result = match outcome {
        Ok(outcome) => {
            println!("assistant: {}", outcome.assistant_transcript);
            // A forged token is refused before anything reaches the upstream server.
            let forged =
                Relay::new("ws://unused/v1", "", b"someone-else").issue_token("ana", 300)?;
            match text_turn(session_via_relay(&forged), "hi", Duration::from_secs(30)).await {
                Err(e) => {
                    println!("forged token: refused ({e})");
                    Ok(())
                }
                Ok(_) => Err("the relay accepted a forged token".into()),
            }
        }
        Err(e) => Err(e.into()),
    };
    upstream.shutdown().await;
    result
}
