//! Credentials, client secrets (GA and beta minting), TLS, and the HTTP surface.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use common::*;
use serde_json::json;
use voicewire_server::EmulatorConfig;

#[tokio::test]
async fn missing_and_wrong_keys_get_http_401_with_error_body() {
    let emulator = emulator_with(EmulatorConfig {
        api_key: Some("sk-right".into()),
        ..Default::default()
    })
    .await;
    let (status, body) = connect_refused(
        &emulator,
        Connect {
            key: None,
            ..Connect::default()
        },
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let (status, body) = connect_refused(
        &emulator,
        Connect {
            key: Some("sk-wrong".into()),
            ..Connect::default()
        },
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_api_key");
    let mut client = connect(
        &emulator,
        Connect {
            key: Some("sk-right".into()),
            ..Connect::default()
        },
    )
    .await;
    client.handshake().await;
    let (status, _) = post_json(
        &emulator,
        "/realtime/client_secrets",
        Some("sk-wrong"),
        "{}",
    )
    .await;
    assert_eq!(status, 401);
    emulator.shutdown().await;
}

#[tokio::test]
async fn browser_subprotocols_authenticate_and_select_realtime() {
    let emulator = emulator().await;
    let how = Connect {
        key: None,
        protocols: Some(
            "realtime, openai-insecure-api-key.sk-browser, openai-agents-sdk.0.20.0".into(),
        ),
        ..Connect::default()
    };
    let mut client = connect(&emulator, how).await;
    assert_eq!(client.selected_protocol.as_deref(), Some("realtime"));
    assert_eq!(client.handshake().await["session"]["type"], "realtime");
    // Beta by subprotocol.
    let how = Connect {
        key: None,
        protocols: Some(
            "realtime, openai-insecure-api-key.sk-browser, openai-beta.realtime-v1".into(),
        ),
        ..Connect::default()
    };
    let mut client = connect(&emulator, how).await;
    assert!(
        client.handshake().await["session"]
            .get("modalities")
            .is_some()
    );
    // No subprotocol at all (openai-python) is accepted too.
    let client = connect(&emulator, Connect::ga()).await;
    assert_eq!(client.selected_protocol, None);
    emulator.shutdown().await;
}

#[tokio::test]
async fn minted_secret_carries_its_session_config() {
    let emulator = emulator_with(EmulatorConfig {
        api_key: Some("sk-server".into()),
        ..Default::default()
    })
    .await;
    let body = json!({
        "expires_after": {"anchor": "created_at", "seconds": 120},
        "session": {"type": "realtime", "instructions": "From the backend.",
                    "audio": {"output": {"voice": "cedar"}}}
    });
    let (status, minted) = post_json(
        &emulator,
        "/realtime/client_secrets",
        Some("sk-server"),
        &body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{minted}");
    let secret = minted["value"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ek_"));
    assert!(minted["expires_at"].as_i64().unwrap() > 0);
    assert_eq!(minted["session"]["type"], "realtime");
    assert_eq!(minted["session"]["audio"]["output"]["voice"], "cedar");
    let decoded: voicewire_protocol::ClientSecretCreateResponse =
        serde_json::from_value(minted.clone()).unwrap();
    assert_eq!(decoded.value, secret);
    // The secret opens sessions with that config, even though only sk-server is accepted.
    for _ in 0..2 {
        let mut client = connect(
            &emulator,
            Connect {
                key: Some(secret.clone()),
                ..Connect::default()
            },
        )
        .await;
        let created = client.handshake().await;
        assert_eq!(created["session"]["instructions"], "From the backend.");
        assert_eq!(created["session"]["audio"]["output"]["voice"], "cedar");
    }
    // Browsers pass it as a subprotocol.
    let how = Connect {
        key: None,
        protocols: Some(format!("realtime, openai-insecure-api-key.{secret}")),
        ..Connect::default()
    };
    connect(&emulator, how).await.handshake().await;
    // Unknown ek_ keys are refused.
    let (status, body) = connect_refused(
        &emulator,
        Connect {
            key: Some("ek_forged".into()),
            ..Connect::default()
        },
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_api_key");
    // A client secret cannot mint.
    let (status, _) = post_json(&emulator, "/realtime/client_secrets", Some(&secret), "{}").await;
    assert_eq!(status, 401);
    emulator.shutdown().await;
}

#[tokio::test]
async fn mint_validation_errors_name_the_param() {
    let emulator = emulator().await;
    for (body, param) in [
        (
            json!({"expires_after": {"anchor": "created_at", "seconds": 5}}),
            "expires_after.seconds",
        ),
        (
            json!({"expires_after": {"anchor": "created_at", "seconds": 7201}}),
            "expires_after.seconds",
        ),
        (
            json!({"expires_after": {"anchor": "now", "seconds": 60}}),
            "expires_after.anchor",
        ),
        (
            json!({"session": {"type": "realtime", "audio": {"output": {"voice": "nobody"}}}}),
            "session.audio.output.voice",
        ),
        (json!({"sesion": {}}), "sesion"),
    ] {
        let (status, error) = post_json(
            &emulator,
            "/realtime/client_secrets",
            Some("sk"),
            &body.to_string(),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error["error"]["param"], param, "{error}");
    }
    let (status, _) = post_json(&emulator, "/realtime/client_secrets", Some("sk"), "{broken").await;
    assert_eq!(status, 400);
    let (status, minted) = post_json(&emulator, "/realtime/client_secrets", Some("sk"), "").await;
    assert_eq!(status, 200, "an empty body mints with defaults");
    assert_eq!(minted["session"]["model"], "gpt-realtime");
    emulator.shutdown().await;
}

#[tokio::test]
async fn beta_sessions_endpoint_mints_flat_sessions() {
    let emulator = emulator().await;
    let body = json!({"model": "gpt-4o-realtime-preview", "voice": "verse", "modalities": ["text", "audio"],
                      "client_secret": {"expires_after": {"anchor": "created_at", "seconds": 30}}});
    let (status, minted) = post_json(
        &emulator,
        "/realtime/sessions",
        Some("sk"),
        &body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{minted}");
    assert_eq!(minted["voice"], "verse");
    assert_eq!(minted["model"], "gpt-4o-realtime-preview");
    let secret = minted["client_secret"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut client = connect(
        &emulator,
        Connect {
            key: Some(secret),
            beta: true,
            ..Connect::default()
        },
    )
    .await;
    let created = client.handshake().await;
    assert_eq!(created["session"]["voice"], "verse");
    assert_eq!(created["session"]["model"], "gpt-4o-realtime-preview");
    emulator.shutdown().await;
}

#[tokio::test]
async fn expired_secret_is_refused_like_a_bad_key() {
    let emulator = emulator().await;
    let body = json!({"expires_after": {"anchor": "created_at", "seconds": 10}});
    let (_, minted) = post_json(
        &emulator,
        "/realtime/client_secrets",
        Some("sk"),
        &body.to_string(),
    )
    .await;
    let secret = minted["value"].as_str().unwrap().to_owned();
    let mut early = connect(
        &emulator,
        Connect {
            key: Some(secret.clone()),
            ..Connect::default()
        },
    )
    .await;
    early.handshake().await;
    tokio::time::sleep(Duration::from_millis(10_300)).await;
    let (status, body) = connect_refused(
        &emulator,
        Connect {
            key: Some(secret),
            ..Connect::default()
        },
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_api_key");
    // The session started before expiry keeps working.
    early.send(json!({"type":"session.update","session":{"type":"realtime","instructions":"still alive"}})).await;
    assert_eq!(early.next().await["type"], "session.updated");
    emulator.shutdown().await;
}

#[tokio::test]
async fn mint_rate_limit_fault_answers_429_then_recovers() {
    let emulator = emulator_with(EmulatorConfig {
        faults: voicewire_server::FaultConfig {
            mint_rate_limited: 2,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    for _ in 0..2 {
        let (status, body) =
            post_json(&emulator, "/realtime/client_secrets", Some("sk"), "{}").await;
        assert_eq!(status, 429);
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    }
    let (status, _) = post_json(&emulator, "/realtime/client_secrets", Some("sk"), "{}").await;
    assert_eq!(status, 200);
    emulator.refuse_next_mints(1);
    let (status, _) = post_json(&emulator, "/realtime/sessions", Some("sk"), "{}").await;
    assert_eq!(status, 429);
    emulator.shutdown().await;
}

#[tokio::test]
async fn health_and_unknown_paths() {
    let emulator = emulator().await;
    let mut stream = tokio::net::TcpStream::connect(emulator.addr())
        .await
        .unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"));
    assert!(response.contains("\"status\":\"ok\""));
    let (status, body) = post_json(&emulator, "/nothing/here", Some("sk"), "{}").await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/nothing/here")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn tls_listener_serves_wss_with_the_printed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = emulator_with(EmulatorConfig {
        tls: true,
        tls_cert_dir: Some(dir.path().to_owned()),
        ..Default::default()
    })
    .await;
    let cert_path = emulator.tls_cert_path().unwrap();
    assert!(cert_path.starts_with(dir.path()));
    let pem = std::fs::read_to_string(&cert_path).unwrap();
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(der)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(der))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let wss = emulator.wss_base().unwrap();
    assert!(wss.starts_with("wss://127.0.0.1:"));
    let request = request(&wss, &Connect::ga());
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        request,
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(Arc::new(config))),
    )
    .await
    .unwrap();
    let mut client = Client {
        ws,
        selected_protocol: None,
    };
    assert_eq!(client.handshake().await["session"]["type"], "realtime");
    emulator.shutdown().await;
}
