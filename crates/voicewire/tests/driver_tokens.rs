//! Token fetching over HTTP: the minting client and the HTTP token provider share one request
//! path, so they map every answer the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{API_KEY, emulator, voice_session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use voicewire::{ErrorKind, HttpTokenProvider, MintingClient, TokenError, TokenProvider};
use voicewire_server::{AudioPace, EmulatorHandle};

fn minter(emu: &EmulatorHandle, key: &str) -> MintingClient {
    MintingClient::new(key)
        .unwrap()
        .with_api_base(emu.http_base())
}

fn backend(emu: &EmulatorHandle, key: &str) -> HttpTokenProvider {
    // The emulator's mint endpoint stands in for an app backend (same GA response shape).
    HttpTokenProvider::new(format!("{}/realtime/client_secrets", emu.http_base()))
        .unwrap()
        .with_header("Authorization", format!("Bearer {key}"))
        .with_body(
            serde_json::json!({ "session": { "type": "realtime", "model": "gpt-realtime" } }),
        )
}

async fn both(emu: &EmulatorHandle, key: &str) -> [Result<voicewire::ClientSecret, TokenError>; 2] {
    let minted = minter(emu, key)
        .create_client_secret(&voice_session(), Duration::from_secs(60))
        .await;
    let fetched = backend(emu, key).fetch_token().await;
    [minted, fetched]
}

#[tokio::test]
async fn minting_and_backend_fetches_map_answers_the_same_way() {
    let emu = emulator(AudioPace::Fast, None).await;
    for result in both(&emu, API_KEY).await {
        let secret = result.unwrap();
        assert!(secret.value.expose().starts_with("ek_"));
        assert!(secret.expires_at.is_some());
    }
    for result in both(&emu, "sk-wrong").await {
        let err = result.unwrap_err();
        assert!(
            matches!(err, TokenError::Http { status: 401, .. }),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::Auth);
    }
    emu.refuse_next_mints(1);
    let minted = minter(&emu, API_KEY)
        .create_client_secret(&voice_session(), Duration::from_secs(60))
        .await;
    emu.refuse_next_mints(1);
    let fetched = backend(&emu, API_KEY).fetch_token().await;
    for result in [minted, fetched] {
        let err = result.unwrap_err();
        assert!(
            matches!(
                err,
                TokenError::Http {
                    status: 429,
                    retry_after: Some(_),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(matches!(
            err.kind(),
            ErrorKind::RateLimited {
                retry_after: Some(_)
            }
        ));
    }
    emu.shutdown().await;
}

/// A one-shot HTTP server on loopback answering with `body` (a backend in the beta shape).
async fn one_shot_backend(status: &'static str, body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        // Read the head and the small JSON body (Content-Length bytes after the blank line).
        loop {
            let n = tcp.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if request.len() >= head_end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        tcp.write_all(answer.as_bytes()).await.unwrap();
        tcp.shutdown().await.unwrap();
    });
    format!("http://{addr}/token")
}

#[tokio::test]
async fn a_backend_answering_in_the_beta_shape_works() {
    let url = one_shot_backend(
        "200 OK",
        r#"{"id":"sess_1","client_secret":{"value":"ek_beta","expires_at":4102444800}}"#,
    )
    .await;
    let secret = HttpTokenProvider::new(url)
        .unwrap()
        .fetch_token()
        .await
        .unwrap();
    assert_eq!(secret.value.expose(), "ek_beta");
    assert_eq!(secret.expires_at, Some(4_102_444_800));

    let url = one_shot_backend("403 Forbidden", r#"{"error":{"message":"not signed in"}}"#).await;
    let err = HttpTokenProvider::new(url)
        .unwrap()
        .fetch_token()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TokenError::Http { status: 403, message, .. } if message.contains("not signed in")),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Auth);
}
