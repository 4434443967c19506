//! Two real peers on 127.0.0.1 (offerer = client, answerer = server): data channel
//! both ways, Opus audio both ways checked as signal, state changes, ICE restart, close.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::f32::consts::TAU;
use std::time::Duration;

use voicewire_rtc::{PeerState, RtcConfig, RtcError, RtcEvent, RtcPeer, RtcRole};

/// Generous limit so a loaded CI machine never hangs a test; never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(20);
const FRAME: Duration = Duration::from_millis(20);
const FRAME_SAMPLES: usize = 960;

/// Reads events until `done` accepts one; returns everything read, in order.
async fn read_until(peer: &RtcPeer, mut done: impl FnMut(&RtcEvent) -> bool) -> Vec<RtcEvent> {
    let mut seen = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while let Some(event) = peer.next_event().await {
            let finished = done(&event);
            seen.push(event);
            if finished {
                return;
            }
        }
        panic!("event stream ended before the awaited event; saw {seen:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for an event"));
    seen
}

fn texts(events: &[RtcEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| match event {
            RtcEvent::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

struct Pair {
    client: RtcPeer,
    server: RtcPeer,
    offer: String,
    client_events: Vec<RtcEvent>,
    server_events: Vec<RtcEvent>,
}

async fn connected_pair() -> Pair {
    let (client, offer) = RtcPeer::offerer(RtcConfig::loopback()).await.unwrap();
    assert_eq!(client.role(), RtcRole::Offerer);
    assert!(offer.contains("a=rtpmap:111 opus/48000/2"), "{offer}");
    assert!(offer.contains("webrtc-datachannel"), "{offer}");
    assert!(
        offer.contains("127.0.0.1"),
        "loopback host candidate: {offer}"
    );
    // Sent before the channel exists: must wait and arrive first, in order.
    client
        .send_text(r#"{"type":"session.update","n":1}"#)
        .await
        .unwrap();
    client
        .send_text(r#"{"type":"session.update","n":2}"#)
        .await
        .unwrap();

    let (server, answer) = RtcPeer::answerer(RtcConfig::loopback(), &offer)
        .await
        .unwrap();
    assert!(answer.contains("opus/48000/2"), "{answer}");
    assert!(answer.contains("a=sendrecv"), "{answer}");
    client.apply_answer(&answer).await.unwrap();

    let client_events = read_until(&client, |event| *event == RtcEvent::DataChannelOpen).await;
    let server_events = read_until(&server, |event| *event == RtcEvent::DataChannelOpen).await;
    Pair {
        client,
        server,
        offer,
        client_events,
        server_events,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_channel_carries_text_both_ways_in_order() {
    let Pair {
        client,
        server,
        client_events,
        server_events,
        ..
    } = connected_pair().await;
    assert!(
        client_events.contains(&RtcEvent::StateChanged(PeerState::Connected)),
        "client saw {client_events:?}"
    );
    let server_events = [
        server_events,
        read_until(
            &server,
            |event| matches!(event, RtcEvent::Text(text) if text.contains("\"n\":2")),
        )
        .await,
    ]
    .concat();
    assert_eq!(
        texts(&server_events),
        [
            r#"{"type":"session.update","n":1}"#,
            r#"{"type":"session.update","n":2}"#
        ]
    );

    // Server to client, many messages, order kept.
    for n in 0..200 {
        server
            .send_text(&format!(
                r#"{{"type":"response.output_text.delta","n":{n}}}"#
            ))
            .await
            .unwrap();
    }
    let received = read_until(
        &client,
        |event| matches!(event, RtcEvent::Text(text) if text.contains("\"n\":199")),
    )
    .await;
    let numbers: Vec<usize> = texts(&received)
        .iter()
        .map(|text| {
            let tail = text.rsplit(':').next().unwrap();
            tail.trim_end_matches('}').parse().unwrap()
        })
        .collect();
    assert_eq!(numbers, (0..200).collect::<Vec<_>>());
    assert_eq!(server.stats().texts_sent, 200);
    assert_eq!(client.stats().texts_received, 200);

    client.close().await.unwrap();
    server.close().await.unwrap();
}

/// A 20 ms frame of a sine at `frequency` Hz starting at sample `offset`.
fn sine_frame(frequency: f32, offset: usize) -> Vec<i16> {
    (0..FRAME_SAMPLES)
        .map(|i| {
            let t = (offset + i) as f32 / 48_000.0;
            ((TAU * frequency * t).sin() * 12_000.0) as i16
        })
        .collect()
}

/// Sends `frames` Opus frames of a sine at real-time pace.
async fn send_sine(peer: RtcPeer, frequency: f32, frames: usize) {
    let mut encoder = opus_rs::OpusEncoder::new(48_000, 1, opus_rs::Application::Voip).unwrap();
    encoder.bitrate_bps = 32_000;
    let mut buffer = vec![0_u8; 1_500];
    let mut ticker = tokio::time::interval(FRAME);
    let mut sent = 0;
    let mut attempts = 0;
    while sent < frames {
        ticker.tick().await;
        attempts += 1;
        assert!(attempts < frames * 10, "audio sender never became ready");
        let frame = sine_frame(frequency, sent * FRAME_SAMPLES);
        let length = encoder
            .encode_i16(&frame, FRAME_SAMPLES, &mut buffer)
            .unwrap();
        let packet = buffer[..length].to_vec();
        match peer.send_opus(&packet, FRAME).await {
            Ok(()) => sent += 1,
            // Binding follows the DTLS handshake by a moment; a real driver drops these.
            Err(RtcError::AudioNotReady) => {}
            Err(other) => panic!("send_opus: {other}"),
        }
    }
}

/// Receives at least `frames` Opus packets, decodes them and returns the PCM.
async fn receive_pcm(peer: &RtcPeer, frames: usize) -> Vec<i16> {
    let mut decoder = opus_rs::OpusDecoder::new(48_000, 1).unwrap();
    let mut scratch = vec![0.0_f32; 5_760];
    let mut pcm: Vec<i16> = Vec::new();
    let mut decode = move |data: &[u8], pcm: &mut Vec<i16>| {
        let samples = decoder.decode(data, 5_760, &mut scratch).unwrap();
        pcm.extend(scratch[..samples].iter().map(|&s| (s * 32_767.0) as i16));
    };
    let mut packets = 0;
    read_until(peer, |event| {
        if let RtcEvent::Opus(packet) = event {
            assert_eq!(packet.duration, FRAME);
            for _ in 0..packet.lost_before {
                decode(&[], &mut pcm); // packet-loss concealment
            }
            decode(&packet.data, &mut pcm);
            packets += 1;
        }
        packets >= frames
    })
    .await;
    pcm
}

/// Dominant frequency from zero crossings, and RMS level, of the steady middle part.
fn frequency_and_rms(pcm: &[i16]) -> (f32, f32) {
    let middle = &pcm[pcm.len() / 4..pcm.len() * 3 / 4];
    let crossings = middle
        .windows(2)
        .filter(|pair| (pair[0] < 0) != (pair[1] < 0))
        .count();
    let seconds = middle.len() as f32 / 48_000.0;
    let rms =
        (middle.iter().map(|&s| f32::from(s).powi(2)).sum::<f32>() / middle.len() as f32).sqrt();
    (crossings as f32 / 2.0 / seconds, rms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_audio_flows_both_ways_as_signal() {
    let Pair { client, server, .. } = connected_pair().await;
    const FRAMES: usize = 50;

    let uplink = tokio::spawn(send_sine(client.clone(), 440.0, FRAMES));
    let downlink = tokio::spawn(send_sine(server.clone(), 660.0, FRAMES));
    // Allow a few packets sent before the receiver's track was announced.
    let at_server = receive_pcm(&server, FRAMES - 5).await;
    let at_client = receive_pcm(&client, FRAMES - 5).await;
    uplink.await.unwrap();
    downlink.await.unwrap();

    let (up_hz, up_rms) = frequency_and_rms(&at_server);
    let (down_hz, down_rms) = frequency_and_rms(&at_client);
    assert!((up_hz - 440.0).abs() < 15.0, "uplink tone {up_hz} Hz");
    assert!((down_hz - 660.0).abs() < 15.0, "downlink tone {down_hz} Hz");
    // 12 000 peak → ~8 500 RMS; Opus at 32 kb/s keeps it within a few dB.
    assert!(
        up_rms > 5_000.0 && up_rms < 12_000.0,
        "uplink level {up_rms}"
    );
    assert!(
        down_rms > 5_000.0 && down_rms < 12_000.0,
        "downlink level {down_rms}"
    );

    assert_eq!(client.stats().audio_packets_sent, FRAMES as u64);
    assert!(server.stats().audio_packets_received >= (FRAMES - 5) as u64);
    assert_eq!(server.stats().audio_packets_malformed, 0);
    client.close().await.unwrap();
    server.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_restart_keeps_the_call() {
    let Pair {
        client,
        server,
        offer,
        ..
    } = connected_pair().await;
    let reoffer = client.restart_ice().await.unwrap();
    let reanswer = server.accept_reoffer(&reoffer).await.unwrap();
    client.apply_answer(&reanswer).await.unwrap();
    // Fresh ICE credentials were negotiated.
    let ufrag = |sdp: &str| {
        sdp.lines()
            .find(|l| l.starts_with("a=ice-ufrag:"))
            .map(str::to_owned)
    };
    assert!(ufrag(&reoffer).is_some());
    assert_ne!(
        ufrag(&reoffer),
        ufrag(&offer),
        "the restart offer has new credentials"
    );

    client
        .send_text(r#"{"type":"after.restart"}"#)
        .await
        .unwrap();
    read_until(
        &server,
        |event| matches!(event, RtcEvent::Text(t) if t.contains("after.restart")),
    )
    .await;
    server
        .send_text(r#"{"type":"reply.after.restart"}"#)
        .await
        .unwrap();
    read_until(
        &client,
        |event| matches!(event, RtcEvent::Text(t) if t.contains("reply.after.restart")),
    )
    .await;

    // Roles are enforced.
    assert!(matches!(
        server.restart_ice().await,
        Err(RtcError::InvalidState(_))
    ));
    assert!(matches!(
        client.accept_reoffer(&reoffer).await,
        Err(RtcError::InvalidState(_))
    ));
    client.close().await.unwrap();
    server.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_is_seen_on_both_sides() {
    let Pair { client, server, .. } = connected_pair().await;
    client.close().await.unwrap();
    client.close().await.unwrap(); // idempotent
    let client_tail = read_until(&client, |event| *event == RtcEvent::Closed).await;
    assert_eq!(client_tail.last(), Some(&RtcEvent::Closed));
    assert_eq!(client.next_event().await, None, "nothing after Closed");
    assert!(matches!(
        client.send_text("{}").await,
        Err(RtcError::Closed)
    ));
    assert!(matches!(
        client.send_opus(&[0xf8, 0xff, 0xfe], FRAME).await,
        Err(RtcError::Closed)
    ));

    // The remote end learns it through the data channel (SCTP/DTLS teardown).
    // The remote end learns it from the data channel's teardown (SCTP over DTLS), at
    // once rather than after the ICE consent timeout.
    read_until(&server, |event| *event == RtcEvent::DataChannelClosed).await;
    assert!(matches!(
        server.send_text("{}").await,
        Err(RtcError::Closed)
    ));
    server.close().await.unwrap();
    let server_tail = read_until(&server, |event| *event == RtcEvent::Closed).await;
    assert_eq!(server_tail.last(), Some(&RtcEvent::Closed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_offers_and_answers_get_typed_errors() {
    let garbage = RtcPeer::answerer(RtcConfig::loopback(), "hello").await;
    assert!(matches!(garbage, Err(RtcError::InvalidSdp(_))));

    let (client, offer) = RtcPeer::offerer(RtcConfig::loopback()).await.unwrap();
    let without_channel = offer.split("m=application").next().unwrap().to_owned();
    let no_channel = RtcPeer::answerer(RtcConfig::loopback(), &without_channel).await;
    assert!(
        matches!(no_channel, Err(RtcError::InvalidSdp(message)) if message.contains("data channel"))
    );

    let pcmu_only = offer.replace("opus/48000/2", "PCMU/8000");
    let no_opus = RtcPeer::answerer(RtcConfig::loopback(), &pcmu_only).await;
    assert!(matches!(no_opus, Err(RtcError::NoCommonCodec)));

    // A mangled answer is refused and leaves the offerer usable for a good one.
    assert!(matches!(
        client.apply_answer("v=0\r\nm=audio 0 RTP/AVP 0\r\n").await,
        Err(RtcError::InvalidSdp(_))
    ));
    let (server, answer) = RtcPeer::answerer(RtcConfig::loopback(), &offer)
        .await
        .unwrap();
    assert!(matches!(
        server.apply_answer(&answer).await,
        Err(RtcError::InvalidState(_))
    ));
    client.apply_answer(&answer).await.unwrap();
    read_until(&client, |event| *event == RtcEvent::DataChannelOpen).await;
    client.close().await.unwrap();
    server.close().await.unwrap();
}

/// A peer whose network path dies without a word (no DTLS close, no SCTP abort) is found
/// out by the other side through ICE consent: `Disconnected`, then `Failed`, never a
/// clean data-channel close and never a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silently_severed_path_turns_the_remote_disconnected_then_failed() {
    let short_ice = RtcConfig {
        ice_disconnected_timeout: Duration::from_secs(2),
        ice_failed_timeout: Duration::from_secs(2),
        ice_keepalive_interval: Duration::from_millis(500),
        ..RtcConfig::loopback()
    };
    let (client, offer) = RtcPeer::offerer(short_ice.clone()).await.unwrap();
    let (server, answer) = RtcPeer::answerer(RtcConfig::loopback(), &offer)
        .await
        .unwrap();
    client.apply_answer(&answer).await.unwrap();
    read_until(&client, |event| *event == RtcEvent::DataChannelOpen).await;
    read_until(&server, |event| *event == RtcEvent::DataChannelOpen).await;

    server.sever_network();
    // Even a text the server sends now is lost on the wire.
    server.send_text(r#"{"type":"lost"}"#).await.unwrap();
    let seen = read_until(&client, |event| {
        *event == RtcEvent::StateChanged(PeerState::Failed)
    })
    .await;
    let disconnected = seen
        .iter()
        .position(|event| *event == RtcEvent::StateChanged(PeerState::Disconnected))
        .expect("disconnected before failed");
    assert!(disconnected < seen.len() - 1, "{seen:?}");
    assert!(
        !seen.iter().any(|event| matches!(
            event,
            RtcEvent::Text(_) | RtcEvent::DataChannelClosed | RtcEvent::Closed
        )),
        "nothing crossed the severed path: {seen:?}"
    );
    client.close().await.unwrap();
    server.close().await.unwrap();
    read_until(&client, |event| *event == RtcEvent::Closed).await;
}
