//! Loopback figures for the WebRTC path, both peers in this process on 127.0.0.1:
//!
//! * `connect/offer_to_data_channel_open`: offerer built → offer → answerer → answer
//!   applied → `oai-events` open on both sides (what gates `session.update`).
//! * `connect/offer_to_first_audio`: the same, until the first Opus packet sent by the
//!   answerer arrives at the offerer (what the user hears first).
//! * `audio/one_second_round_trip`: 50 Opus packets (1 s of 20 ms frames) written
//!   unpaced by each side and received by the other: SRTP, RTP and the event queues
//!   for one second of audio in each direction, i.e. the transport's CPU per audio
//!   second.
//! * `codec/encode_one_second` and `codec/decode_one_second`: the adapters' Opus work for
//!   one second of 24 kHz speech-like audio (a swept tone), so the whole WebRTC path's CPU
//!   per audio second is the transport plus these.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use voicewire_rtc::{RtcConfig, RtcError, RtcEvent, RtcPeer};

const FRAME: Duration = Duration::from_millis(20);

/// A valid 20 ms CELT-FB Opus packet (TOC 0xF8) of a typical speech size.
fn opus_frame() -> Vec<u8> {
    let mut packet = vec![0_u8; 80];
    packet[0] = 31 << 3;
    packet
}

async fn wait_for(peer: &RtcPeer, mut done: impl FnMut(&RtcEvent) -> bool) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = peer.next_event().await {
            if done(&event) {
                return;
            }
        }
        panic!("peer closed early");
    })
    .await
    .expect("timed out");
}

async fn connect() -> (RtcPeer, RtcPeer) {
    let (client, offer) = RtcPeer::offerer(RtcConfig::loopback()).await.unwrap();
    let (server, answer) = RtcPeer::answerer(RtcConfig::loopback(), &offer)
        .await
        .unwrap();
    client.apply_answer(&answer).await.unwrap();
    (client, server)
}

/// Keeps sending from `peer` until one write is accepted (the sender binds just after
/// the DTLS handshake).
async fn send_when_ready(peer: &RtcPeer, packet: &[u8]) {
    loop {
        match peer.send_opus(packet, FRAME).await {
            Ok(()) => return,
            Err(RtcError::AudioNotReady) => tokio::time::sleep(Duration::from_millis(1)).await,
            Err(other) => panic!("{other}"),
        }
    }
}

fn bench_connect(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("connect");
    group.sample_size(20);
    group.bench_function("offer_to_data_channel_open", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let start = Instant::now();
                    let (client, server) = connect().await;
                    wait_for(&client, |event| *event == RtcEvent::DataChannelOpen).await;
                    wait_for(&server, |event| *event == RtcEvent::DataChannelOpen).await;
                    total += start.elapsed();
                    client.close().await.unwrap();
                    server.close().await.unwrap();
                }
                total
            })
        });
    });
    group.bench_function("offer_to_first_audio", |b| {
        let packet = opus_frame();
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let start = Instant::now();
                    let (client, server) = connect().await;
                    let sender = {
                        let server = server.clone();
                        let packet = packet.clone();
                        tokio::spawn(async move {
                            send_when_ready(&server, &packet).await;
                            // Keep a real-time stream going until the client has one.
                            let mut ticker = tokio::time::interval(FRAME);
                            loop {
                                ticker.tick().await;
                                if server.send_opus(&packet, FRAME).await.is_err() {
                                    return;
                                }
                            }
                        })
                    };
                    wait_for(&client, |event| matches!(event, RtcEvent::Opus(_))).await;
                    total += start.elapsed();
                    sender.abort();
                    client.close().await.unwrap();
                    server.close().await.unwrap();
                }
                total
            })
        });
    });
    group.finish();

    let mut group = c.benchmark_group("audio");
    group.sample_size(20);
    group.bench_function("one_second_round_trip", |b| {
        let packet = opus_frame();
        let (client, server) = runtime.block_on(async {
            let (client, server) = connect().await;
            wait_for(&client, |event| *event == RtcEvent::DataChannelOpen).await;
            wait_for(&server, |event| *event == RtcEvent::DataChannelOpen).await;
            send_when_ready(&client, &packet).await;
            send_when_ready(&server, &packet).await;
            wait_for(&client, |event| matches!(event, RtcEvent::Opus(_))).await;
            wait_for(&server, |event| matches!(event, RtcEvent::Opus(_))).await;
            (client, server)
        });
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..iterations {
                    for _ in 0..50 {
                        client.send_opus(&packet, FRAME).await.unwrap();
                        server.send_opus(&packet, FRAME).await.unwrap();
                    }
                    let mut at_server = 0;
                    let mut at_client = 0;
                    wait_for(&server, |event| {
                        at_server += usize::from(matches!(event, RtcEvent::Opus(_)));
                        at_server == 50
                    })
                    .await;
                    wait_for(&client, |event| {
                        at_client += usize::from(matches!(event, RtcEvent::Opus(_)));
                        at_client == 50
                    })
                    .await;
                }
                start.elapsed()
            })
        });
        runtime.block_on(async {
            client.close().await.unwrap();
            server.close().await.unwrap();
        });
    });
    group.finish();
}

/// One second of a 200→2 000 Hz sweep at 24 kHz, loud enough to keep the encoder busy.
fn sweep_24k() -> Vec<i16> {
    (0..24_000)
        .map(|i| {
            let t = i as f32 / 24_000.0;
            let phase = std::f32::consts::TAU * (200.0 * t + 900.0 * t * t);
            (phase.sin() * 9_000.0) as i16
        })
        .collect()
}

fn bench_codec(c: &mut Criterion) {
    let pcm = sweep_24k();
    let mut group = c.benchmark_group("codec");
    group.sample_size(20);
    group.bench_function("encode_one_second", |b| {
        let mut encoder = voicewire_rtc::TrackEncoder::new().unwrap();
        b.iter(|| encoder.encode(&pcm).unwrap());
    });
    let packets = voicewire_rtc::TrackEncoder::new()
        .unwrap()
        .encode(&pcm)
        .unwrap();
    let packets: Vec<voicewire_rtc::OpusPacket> = packets
        .into_iter()
        .enumerate()
        .map(|(index, data)| voicewire_rtc::OpusPacket {
            duration: voicewire_rtc::opus_packet_duration(&data).unwrap(),
            data: data.into(),
            sequence: u16::try_from(index).unwrap(),
            rtp_timestamp: 0,
            lost_before: 0,
            talkspurt_start: false,
        })
        .collect();
    group.bench_function("decode_one_second", |b| {
        let mut decoder = voicewire_rtc::TrackDecoder::new().unwrap();
        let mut out = Vec::with_capacity(24_000);
        b.iter(|| {
            out.clear();
            for packet in &packets {
                decoder.decode(packet, &mut out).unwrap();
            }
            out.len()
        });
    });
    group.finish();
}

criterion_group!(benches, bench_connect, bench_codec);
criterion_main!(benches);
