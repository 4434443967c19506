//! A minimal backend that mints client secrets from a versioned voice config, with
//! per-user rate limiting (the code is in `src/backend.rs`).
//!
//! `cargo run -p voicewire-examples --bin mint_backend` serves `POST /voice/token` on
//! 127.0.0.1:8788 until Ctrl-C; try
//! `curl -X POST -H 'Authorization: Bearer app-token-ana' http://127.0.0.1:8788/voice/token`.
//! `--demo` instead walks through the behaviour once and exits (the test suite runs that).
#![allow(clippy::print_stdout, reason = "an example program reports on stdout")]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use voicewire_examples::backend::{Backend, PromptVersion, VoiceConfig};
use voicewire_examples::{BoxError, install_crypto_provider, upstream::Upstream};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    install_crypto_provider();
    let demo = std::env::args().any(|a| a == "--demo");
    let upstream = Upstream::from_env(None).await?;
    println!("minting with {}", upstream.describe());
    let users = HashMap::from([
        ("app-token-ana".to_owned(), "ana".to_owned()),
        ("app-token-ben".to_owned(), "ben".to_owned()),
    ]);
    let backend = Arc::new(Backend::new(
        &upstream.api_base,
        &upstream.api_key,
        3,
        Duration::from_secs(60),
        users,
    )?);
    let v1 = VoiceConfig {
        model: voicewire::DEFAULT_MODEL.into(),
        voice: "marin".into(),
        instructions: Some("You are the Acme support agent.".into()),
        prompt: Some(("pmpt_support".into(), PromptVersion::Pinned("3".into()))),
    };
    backend
        .configs
        .lock()
        .map_err(|_| "config lock poisoned")?
        .publish(v1.clone());
    let port = if demo { 0 } else { 8788 };
    let (addr, server) = Arc::clone(&backend)
        .serve(([127, 0, 0, 1], port).into())
        .await?;
    let url = format!("http://{addr}/voice/token");
    println!("POST {url}");
    if !demo {
        tokio::signal::ctrl_c().await?;
        server.abort();
        upstream.shutdown().await;
        return Ok(());
    }

    let client = reqwest::Client::new();
    let mint = |token: &'static str| {
        let request = client.post(&url).bearer_auth(token);
        async move {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body: serde_json::Value = response.json().await?;
            Ok::<_, reqwest::Error>((status, retry, body))
        }
    };
    let (status, _, body) = mint("app-token-ana").await?;
    println!(
        "ana: HTTP {status}, secret {}…, config version {}",
        body["value"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(6)
            .collect::<String>(),
        body["config_version"]
    );
    // Publish v2: the same prompt, now following its latest version.
    let v2 = VoiceConfig {
        prompt: Some(("pmpt_support".into(), PromptVersion::Latest)),
        ..v1
    };
    let version = backend
        .configs
        .lock()
        .map_err(|_| "config lock poisoned")?
        .publish(v2);
    println!("published voice config v{version} (prompt pmpt_support at latest)");
    let (status, _, body) = mint("app-token-ana").await?;
    println!(
        "ana: HTTP {status}, config version {}",
        body["config_version"]
    );
    let (status, _, _) = mint("app-token-ana").await?;
    println!("ana: HTTP {status}");
    let (status, retry, body) = mint("app-token-ana").await?;
    println!(
        "ana: HTTP {status} {} (Retry-After: {})",
        body["error"]["message"].as_str().unwrap_or(""),
        retry.unwrap_or_default()
    );
    let (status, _, _) = mint("app-token-ben").await?;
    println!("ben: HTTP {status} (limits are per user)");
    let (status, _, body) = mint("not-a-user").await?;
    println!(
        "unknown app token: HTTP {status} {}",
        body["error"]["message"].as_str().unwrap_or("")
    );
    server.abort();
    upstream.shutdown().await;
    Ok(())
}
