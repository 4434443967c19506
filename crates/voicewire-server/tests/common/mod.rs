//! Shared helpers for the emulator's integration tests: start an emulator, connect a real
//! WebSocket client (tokio-tungstenite) to it, read events, load fixture audio.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use voicewire_server::{AudioPace, Emulator, EmulatorConfig, EmulatorHandle, SynthChoice};

/// Generous bound that only exists to stop a broken test from hanging.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A test emulator: fast audio, deterministic tone voice.
pub async fn emulator() -> EmulatorHandle {
    emulator_with(EmulatorConfig::default()).await
}

/// A test emulator from a config; `audio_pace` and `synth` default to fast and tones.
pub async fn emulator_with(config: EmulatorConfig) -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        audio_pace: AudioPace::Fast,
        synth: SynthChoice::TonesOnly,
        ..config
    })
    .await
    .unwrap()
}

/// A real-time emulator (for interruption tests).
pub async fn realtime_emulator(config: EmulatorConfig) -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        audio_pace: AudioPace::RealTime,
        synth: SynthChoice::TonesOnly,
        ..config
    })
    .await
    .unwrap()
}

/// One WebSocket client.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub selected_protocol: Option<String>,
}

/// How to connect.
#[derive(Clone, Default)]
pub struct Connect {
    pub key: Option<String>,
    pub beta: bool,
    pub protocols: Option<String>,
    pub query: Option<String>,
}

impl Connect {
    pub fn ga() -> Self {
        Self {
            key: Some("sk-test".into()),
            ..Self::default()
        }
    }
    pub fn beta() -> Self {
        Self {
            key: Some("sk-test".into()),
            beta: true,
            ..Self::default()
        }
    }
}

/// Builds the upgrade request.
pub fn request(
    base: &str,
    how: &Connect,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let query = how
        .query
        .clone()
        .unwrap_or_else(|| "model=gpt-realtime".into());
    let mut request = format!("{base}/realtime?{query}")
        .into_client_request()
        .unwrap();
    if let Some(key) = &how.key {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {key}").parse().unwrap());
    }
    if how.beta {
        request
            .headers_mut()
            .insert("openai-beta", "realtime=v1".parse().unwrap());
    }
    if let Some(protocols) = &how.protocols {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocols.parse().unwrap());
    }
    request
}

/// Connects; panics on failure.
pub async fn connect(emulator: &EmulatorHandle, how: Connect) -> Client {
    let (ws, response) = tokio::time::timeout(
        TIMEOUT,
        tokio_tungstenite::connect_async(request(&emulator.ws_base(), &how)),
    )
    .await
    .unwrap()
    .unwrap();
    let selected_protocol = response
        .headers()
        .get("sec-websocket-protocol")
        .map(|v| v.to_str().unwrap().to_owned());
    Client {
        ws,
        selected_protocol,
    }
}

/// Connects expecting the upgrade to be refused; returns the HTTP status and JSON body.
pub async fn connect_refused(emulator: &EmulatorHandle, how: Connect) -> (u16, Value) {
    match tokio_tungstenite::connect_async(request(&emulator.ws_base(), &how)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = response.body().clone().unwrap_or_default();
            (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

impl Client {
    pub async fn send(&mut self, event: Value) {
        self.ws
            .send(Message::Text(event.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.to_owned().into()))
            .await
            .unwrap();
    }

    /// The next server event (text frame), as JSON; checks it also decodes as a typed
    /// `ServerEvent` (unless it is an injected fault frame).
    pub async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(TIMEOUT, self.ws.next())
                .await
                .expect("timed out waiting for an event")
                .expect("connection ended")
                .expect("connection error");
            match message {
                Message::Text(text) => {
                    let value: Value =
                        serde_json::from_str(&text).expect("server sent invalid JSON");
                    voicewire_protocol::ServerEvent::decode(&text)
                        .expect("server event does not decode");
                    return value;
                }
                Message::Close(frame) => panic!("connection closed: {frame:?}"),
                _ => {}
            }
        }
    }

    /// The next raw frame: `Ok(text)` or `Err(close or end description)`.
    pub async fn next_frame(&mut self) -> Result<String, String> {
        loop {
            match tokio::time::timeout(TIMEOUT, self.ws.next())
                .await
                .expect("timed out")
            {
                Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
                Some(Ok(Message::Close(frame))) => return Err(format!("close {frame:?}")),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(format!("error {error}")),
                None => return Err("end".into()),
            }
        }
    }

    /// Reads events until one of type `kind`; returns all events read, that one last.
    pub async fn until(&mut self, kind: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let done = event["type"] == kind;
            seen.push(event);
            if done {
                return seen;
            }
        }
    }

    /// Reads until an event of type `kind` and returns it.
    pub async fn wait_for(&mut self, kind: &str) -> Value {
        self.until(kind).await.pop().unwrap()
    }

    /// `session.created` (and, for beta, `conversation.created`).
    pub async fn handshake(&mut self) -> Value {
        let created = self.next().await;
        assert_eq!(created["type"], "session.created", "{created}");
        created
    }

    pub async fn append(&mut self, samples: &[i16], chunk: usize) {
        for piece in samples.chunks(chunk) {
            self.send(json!({"type": "input_audio_buffer.append", "audio": pcm_b64(piece)}))
                .await;
        }
    }
}

pub fn pcm_b64(samples: &[i16]) -> String {
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn pcm_from_b64(b64: &str) -> Vec<i16> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// All audio in the `*audio.delta` events of `events`.
pub fn audio_of(events: &[Value]) -> Vec<i16> {
    events
        .iter()
        .filter(|e| {
            e["type"] == "response.output_audio.delta" || e["type"] == "response.audio.delta"
        })
        .flat_map(|e| pcm_from_b64(e["delta"].as_str().unwrap()))
        .collect()
}

/// Event types of `events`.
pub fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/audio")
        .join(name)
}

/// PCM16 mono samples of a fixture WAV (24 kHz fixtures).
pub fn fixture(name: &str) -> Vec<i16> {
    let mut reader = hound::WavReader::open(fixture_path(name)).unwrap();
    assert_eq!(reader.spec().sample_rate, 24_000);
    assert_eq!(reader.spec().channels, 1);
    reader.samples::<i16>().map(Result::unwrap).collect()
}

/// Silence, in samples at 24 kHz.
pub fn silence(ms: usize) -> Vec<i16> {
    vec![0; ms * 24]
}

/// POSTs JSON to the emulator; returns status and JSON body.
pub async fn post_json(
    emulator: &EmulatorHandle,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let addr = emulator.addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST /v1{path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(TIMEOUT, stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    let status: u16 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body_start = text.find("\r\n\r\n").unwrap() + 4;
    let mut body = &text[body_start..];
    // chunked encoding is not used by axum for JSON bodies with a known length
    if let Some(brace) = body.find('{') {
        body = &body[brace..];
    }
    let end = body.rfind('}').map_or(body.len(), |i| i + 1);
    (
        status,
        serde_json::from_str(&body[..end]).unwrap_or(Value::Null),
    )
}
