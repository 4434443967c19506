//! Load benchmark: how many concurrent sessions, each streaming microphone audio at real
//! time, one emulator holds while its events stay on time; and memory per session.
//!
//! The emulator runs in a child process (this binary re-executed), so its resident memory
//! is measured alone. Each client streams a speech fixture in 20 ms appends, cyclically,
//! with server VAD on: the emulator detects turns, commits them and streams echo replies at
//! real-time pace, and new speech barges in on them — the whole session path under load.
//!
//! Lag, measured at the clients:
//! * VAD lag: `speech_stopped` arrival minus the send time of the append that completed
//!   the turn (the audio position is in the event, so the cause is known exactly);
//! * pacing lag: each `response.output_audio.delta` arrival minus its due time
//!   (first delta's arrival + the audio before it − the 150 ms lead the emulator keeps).
//!
//! Levels ramp up until p99 lag exceeds 50 ms or the last level is reached. Everything
//! stays on 127.0.0.1. Run: `cargo bench -p voicewire-server --bench concurrent_sessions`
//! (`VW_BENCH_LEVELS=10,50,100` and `VW_BENCH_SECS=10` to change the ramp).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const CHUNK_MS: u64 = 20;
const LEAD_MS: f64 = 150.0;
const LAG_LIMIT_MS: f64 = 50.0;

fn main() {
    if std::env::var_os("VW_BENCH_SERVER").is_some() {
        run_server();
        return;
    }
    let levels: Vec<usize> = std::env::var("VW_BENCH_LEVELS")
        .unwrap_or_else(|_| "10,25,50,100,150,200,300".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let secs: u64 = std::env::var("VW_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(ramp(levels, Duration::from_secs(secs)));
}

/// Child process: an emulator at real-time pace until stdin closes.
fn run_server() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let handle = voicewire_server::Emulator::start(voicewire_server::EmulatorConfig {
            synth: voicewire_server::SynthChoice::TonesOnly,
            max_sessions: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
        println!("port {}", handle.addr().port());
        std::io::stdout().flush().unwrap();
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin()
                .read_line(&mut line)
                .map(|n| n > 0)
                .unwrap_or(false)
            {}
        })
        .await
        .unwrap();
        handle.shutdown().await;
    });
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn speech() -> Arc<Vec<i16>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/audio/speech_weather_padded_24k.wav"
    );
    let mut reader = hound::WavReader::open(path).unwrap();
    Arc::new(reader.samples::<i16>().map(Result::unwrap).collect())
}

#[derive(Default)]
struct Lags {
    vad: Vec<f64>,
    pacing: Vec<f64>,
    turns: usize,
    failures: usize,
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let index = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[index]
}

async fn ramp(levels: Vec<usize>, duration: Duration) {
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .env("VW_BENCH_SERVER", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let port: u16 = line.trim().strip_prefix("port ").unwrap().parse().unwrap();
    let pid = child.id();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let base_rss = rss_kib(pid);
    let audio = speech();
    println!(
        "emulator pid {pid}, idle RSS {:.1} MiB; {} s per level; lag limit p99 <= {LAG_LIMIT_MS} ms",
        base_rss as f64 / 1024.0,
        duration.as_secs()
    );
    println!(
        "sessions | turns | VAD lag p50/p99 ms | pacing lag p50/p99 ms | worst p99 | server RSS MiB | KiB/session"
    );
    let mut held = 0;
    for &n in &levels {
        let lags = Arc::new(Mutex::new(Lags::default()));
        let peak = Arc::new(Mutex::new(0_u64));
        let sampler = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    let rss = rss_kib(pid);
                    let mut p = peak.lock().unwrap();
                    *p = (*p).max(rss);
                }
            })
        };
        let mut clients = Vec::new();
        for i in 0..n {
            let lags = lags.clone();
            let audio = audio.clone();
            // Stagger starts so turns do not all line up.
            let offset = Duration::from_millis((i as u64 * 37) % 1_000);
            clients.push(tokio::spawn(async move {
                tokio::time::sleep(offset).await;
                if run_client(port, audio, duration, lags.clone())
                    .await
                    .is_err()
                {
                    lags.lock().unwrap().failures += 1;
                }
            }));
        }
        for c in clients {
            let _ = c.await;
        }
        sampler.abort();
        let peak_rss = *peak.lock().unwrap();
        let mut lags = std::mem::take(&mut *lags.lock().unwrap());
        let vad50 = percentile(&mut lags.vad, 0.50);
        let vad99 = percentile(&mut lags.vad, 0.99);
        let pace50 = percentile(&mut lags.pacing, 0.50);
        let pace99 = percentile(&mut lags.pacing, 0.99);
        let worst = vad99.max(pace99);
        let per_session = peak_rss.saturating_sub(base_rss) as f64 / n as f64;
        println!(
            "{n:>8} | {:>5} | {vad50:>8.1} / {vad99:>7.1} | {pace50:>9.1} / {pace99:>7.1} | {worst:>9.1} | {:>14.1} | {per_session:>11.0}{}",
            lags.turns,
            peak_rss as f64 / 1024.0,
            if lags.failures > 0 {
                format!("  ({} clients failed)", lags.failures)
            } else {
                String::new()
            }
        );
        if worst <= LAG_LIMIT_MS && lags.failures == 0 {
            held = n;
        } else {
            break;
        }
        // Let the emulator settle between levels.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    println!("held with p99 lag <= {LAG_LIMIT_MS} ms: {held} concurrent real-time sessions");
    drop(child.stdin.take());
    let _ = child.wait();
}

async fn run_client(
    port: u16,
    audio: Arc<Vec<i16>>,
    duration: Duration,
    lags: Arc<Mutex<Lags>>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut request =
        format!("ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime").into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", "Bearer sk-bench".parse()?);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    let (mut sink, mut stream) = ws.split();
    // (session audio position after the chunk, in samples; when it was sent)
    let send_times: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let chunk = (24 * CHUNK_MS) as usize;
    let writer = {
        let send_times = send_times.clone();
        async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(CHUNK_MS));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let deadline = Instant::now() + duration;
            let mut position = 0;
            let mut total: u64 = 0;
            while Instant::now() < deadline {
                ticker.tick().await;
                let start = position % audio.len();
                let end = (start + chunk).min(audio.len());
                let bytes: Vec<u8> = audio[start..end]
                    .iter()
                    .flat_map(|s| s.to_le_bytes())
                    .collect();
                let event = json!({"type": "input_audio_buffer.append",
                                   "audio": base64::engine::general_purpose::STANDARD.encode(bytes)});
                total += (end - start) as u64;
                send_times.lock().unwrap().push((total, Instant::now()));
                sink.send(Message::Text(event.to_string().into())).await?;
                position = end % audio.len();
            }
            sink.send(Message::Close(None)).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
    };
    let reader = async {
        // response id -> (first delta arrival, samples before the next delta)
        let mut responses: HashMap<String, (Instant, usize)> = HashMap::new();
        let mut vad = Vec::new();
        let mut pacing = Vec::new();
        let mut turns = 0;
        while let Some(message) = stream.next().await {
            let Ok(Message::Text(text)) = message else {
                break;
            };
            let now = Instant::now();
            let event: Value = serde_json::from_str(&text)?;
            match event["type"].as_str() {
                Some("input_audio_buffer.speech_stopped") => {
                    turns += 1;
                    let end_ms = event["audio_end_ms"].as_u64().unwrap_or(0);
                    // The append that carried the sample just before audio_end_ms caused it.
                    let needed = end_ms * 24;
                    let times = send_times.lock().unwrap();
                    let cause = times.partition_point(|(position, _)| *position < needed);
                    if std::env::var_os("VW_BENCH_DEBUG").is_some() {
                        eprintln!(
                            "speech_stopped end {end_ms} ms -> append {cause} of {}",
                            times.len()
                        );
                    }
                    if let Some((_, sent)) = times.get(cause) {
                        vad.push(now.duration_since(*sent).as_secs_f64() * 1000.0);
                    }
                }
                Some("response.output_audio.delta") => {
                    let id = event["response_id"].as_str().unwrap_or_default().to_owned();
                    let samples = event["delta"].as_str().map_or(0, |d| d.len() * 3 / 4 / 2);
                    let entry = responses.entry(id).or_insert((now, 0));
                    let due_ms = (entry.1 as f64 / 24.0 - LEAD_MS).max(0.0);
                    let lag = now.duration_since(entry.0).as_secs_f64() * 1000.0 - due_ms;
                    pacing.push(lag.max(0.0));
                    entry.1 += samples;
                }
                _ => {}
            }
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((vad, pacing, turns))
    };
    // Separate tasks, so a busy writer never delays reading (and timing) an event.
    let writer = tokio::spawn(writer);
    let (vad, pacing, turns) = reader.await?;
    writer.await??;
    let mut lags = lags.lock().unwrap();
    lags.vad.extend(vad);
    lags.pacing.extend(pacing);
    lags.turns += turns;
    Ok(())
}
