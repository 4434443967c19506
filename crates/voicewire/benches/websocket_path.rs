//! The full-duplex WebSocket audio path: CPU per audio second, and SDK-added latency.
//!
//! The benches run the driver's hot path with the real pieces — the core engine, the
//! protocol codec, the WebSocket transport (`transport::websocket::connect` over loopback)
//! and the audio playout buffer — in the order the driver runs them:
//!
//! - uplink: a full input chunk → engine → `input_audio_buffer.append` JSON → transport
//!   queue → socket → read by the peer;
//! - downlink: peer writes a `response.output_audio.delta` → transport reader → decode →
//!   engine → playout buffer.
//!
//! Not included (stated in the report): the driver's 10 ms capture poll and the 40 ms input
//! chunking, which are buffering by design rather than processing cost.
//!
//! `cargo bench -p voicewire --bench websocket_path -- --warm-up-time 1 --measurement-time 3`
//! prints criterion's figures plus p50/p99 latencies over 2000 samples per direction.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    missing_docs
)]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use voicewire::audio::{AudioFormat, AudioPipeline, PipelineConfig};
use voicewire::protocol::{
    Dialect, ServerEvent, SessionConfig, TurnDetection, encode_pcm16_base64,
};
use voicewire::transport::{ConnectParams, Incoming, Link, Outgoing, websocket};
use voicewire::{ClientSecret, Endpoint};
use voicewire_core::{AudioCommand, Engine, EngineConfig, Output, Timestamp};

/// 20 ms of assistant audio per delta, like the service sends.
const DELTA_MS: usize = 20;
/// 40 ms input chunks (the SDK default).
const CHUNK_MS: usize = 40;

struct Rig {
    runtime: tokio::runtime::Runtime,
    engine: Engine,
    link: Link,
    pipeline: AudioPipeline,
    /// Peer → bench: time a client frame was read by the peer.
    peer_reads: mpsc::UnboundedReceiver<Instant>,
    /// Bench → peer: frames for the peer to send to the client.
    peer_sends: mpsc::UnboundedSender<String>,
    _device_io: voicewire::audio::DeviceIo,
}

fn live_engine() -> Engine {
    let mut engine = Engine::new(EngineConfig {
        session: SessionConfig::default().with_turn_detection(Some(TurnDetection::server_vad())),
        ..EngineConfig::default()
    });
    let t = Timestamp::ZERO;
    engine.start(t).unwrap();
    engine.handle_token(Ok(()), t);
    engine.handle_transport_opened(t);
    engine.handle_server_event(
        ServerEvent::decode(
            r#"{"type":"session.updated","event_id":"e","session":{"type":"realtime"}}"#,
        )
        .unwrap(),
        t,
    );
    engine.handle_server_event(
        ServerEvent::decode(
            r#"{"type":"response.created","event_id":"e","response":{"id":"resp_1","output":[]}}"#,
        )
        .unwrap(),
        t,
    );
    while engine.poll_output().is_some() {}
    engine
}

fn rig() -> Rig {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (peer_reads_tx, peer_reads) = mpsc::unbounded_channel();
    let (peer_sends, mut peer_sends_rx) = mpsc::unbounded_channel::<String>();
    let link = runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let (mut sink, mut stream) = ws.split();
            tokio::spawn(async move {
                while let Some(Ok(msg)) = stream.next().await {
                    if matches!(msg, Message::Text(_)) {
                        let _ = peer_reads_tx.send(Instant::now());
                    }
                }
            });
            while let Some(text) = peer_sends_rx.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });
        let params = ConnectParams {
            endpoint: Endpoint::with_api_base(format!("http://{addr}/v1")),
            token: ClientSecret::permanent("sk-bench"),
            session: SessionConfig::default(),
            connect_timeout: Duration::from_secs(5),
            credential: voicewire::transport::CredentialKind::ApiKey,
        };
        websocket::connect(&params).await.unwrap()
    });
    let (pipeline, device_io) = AudioPipeline::new(
        PipelineConfig::default(),
        None,
        Some(AudioFormat::WIRE_PCM16_24K),
    )
    .unwrap();
    Rig {
        runtime,
        engine: live_engine(),
        link,
        pipeline,
        peer_reads,
        peer_sends,
        _device_io: device_io,
    }
}

fn delta_event(seq: usize) -> String {
    let samples: Vec<i16> = (0..24 * DELTA_MS)
        .map(|i| ((i as f32 * 0.05).sin() * 8000.0) as i16)
        .collect();
    let mut b64 = String::new();
    encode_pcm16_base64(&samples, &mut b64);
    format!(
        r#"{{"type":"response.output_audio.delta","event_id":"event_{seq}","response_id":"resp_1","item_id":"item_1","output_index":0,"content_index":0,"delta":"{b64}"}}"#
    )
}

impl Rig {
    /// Uplink: one full chunk through engine, codec and transport; returns when the peer read it.
    fn uplink_once(&mut self, chunk: &[i16]) -> Duration {
        let start = Instant::now();
        self.engine.handle_input_audio(chunk, Timestamp::ZERO);
        while let Some(out) = self.engine.poll_output() {
            if let Output::Send(event) = out {
                let text = event.encode(Dialect::Ga).unwrap();
                self.runtime
                    .block_on(self.link.outgoing.send(Outgoing::Event(text)))
                    .unwrap();
            }
        }
        let read_at = self.runtime.block_on(self.peer_reads.recv()).unwrap();
        read_at.duration_since(start)
    }

    /// Downlink: the peer writes one delta; returns the time from that write to the samples
    /// sitting in the playout buffer.
    fn downlink_once(&mut self, frame: String) -> Duration {
        let start = Instant::now();
        self.peer_sends.send(frame).unwrap();
        let Some(Incoming::Event(text)) = self.runtime.block_on(self.link.incoming.recv()) else {
            panic!("transport closed")
        };
        let event = ServerEvent::decode(&text).unwrap();
        self.engine.handle_server_event(event, Timestamp::ZERO);
        while let Some(out) = self.engine.poll_output() {
            if let Output::Audio(AudioCommand::Play { item_id, samples }) = out {
                self.pipeline.play(&item_id, &samples).unwrap();
            }
        }
        let elapsed = start.elapsed();
        if self.pipeline.stats().buffered_ms > 60_000 {
            self.pipeline.flush();
        }
        elapsed
    }
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (p(0.50), p(0.99))
}

fn report_latencies() {
    let mut rig = rig();
    let chunk = vec![1000i16; 24 * CHUNK_MS];
    let frames: Vec<String> = (0..2000).map(delta_event).collect();
    for _ in 0..200 {
        rig.uplink_once(&chunk);
    }
    let up: Vec<Duration> = (0..2000).map(|_| rig.uplink_once(&chunk)).collect();
    let down: Vec<Duration> = frames.into_iter().map(|f| rig.downlink_once(f)).collect();
    let (up50, up99) = percentiles(up);
    let (down50, down99) = percentiles(down);
    eprintln!("latency uplink   (chunk ready -> peer read):       p50 {up50:?}  p99 {up99:?}");
    eprintln!("latency downlink (peer write -> playout buffer):   p50 {down50:?}  p99 {down99:?}");
}

fn benches(c: &mut Criterion) {
    report_latencies();

    // Pure processing cost of one audio second in both directions (no sockets): 25 input
    // chunks of 40 ms encoded to JSON, 50 deltas of 20 ms decoded and queued for playout.
    let frames: Vec<String> = (0..50).map(delta_event).collect();
    let chunk = vec![1000i16; 24 * CHUNK_MS];
    let mut engine = live_engine();
    let (mut pipeline, _io) = AudioPipeline::new(
        PipelineConfig::default(),
        None,
        Some(AudioFormat::WIRE_PCM16_24K),
    )
    .unwrap();
    c.bench_function("core_full_duplex_audio_second", |b| {
        b.iter(|| {
            for _ in 0..25 {
                engine.handle_input_audio(&chunk, Timestamp::ZERO);
            }
            for f in &frames {
                engine.handle_server_event(ServerEvent::decode(f).unwrap(), Timestamp::ZERO);
            }
            while let Some(out) = engine.poll_output() {
                match out {
                    Output::Send(event) => {
                        std::hint::black_box(event.encode(Dialect::Ga).unwrap());
                    }
                    Output::Audio(AudioCommand::Play { item_id, samples }) => {
                        pipeline.play(&item_id, &samples).unwrap();
                    }
                    _ => {}
                }
            }
            pipeline.flush();
        });
    });

    // The same audio second through real loopback sockets, both directions.
    let mut rig = rig();
    c.bench_function("websocket_full_duplex_audio_second", |b| {
        b.iter(|| {
            for (i, frame) in frames.iter().enumerate() {
                if i % 2 == 0 {
                    rig.uplink_once(&chunk);
                }
                rig.downlink_once(frame.clone());
            }
        });
    });
}

criterion_group! {
    name = websocket_path;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(websocket_path);
