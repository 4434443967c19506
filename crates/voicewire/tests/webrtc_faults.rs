//! WebRTC calls that end badly — hung up by the server, a network path that dies without
//! a word, a handshake that never completes — and the graceful end, against the emulator
//! (or a loopback stand-in) on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{API_KEY, events_until, options};
use voicewire::protocol::ClientEvent;
use voicewire::{RealtimeVoiceSession, SessionEvent, SessionOptions, SessionState, Transport};
use voicewire_server::{
    AudioPace, EmulatorHandle, Fault, Observed, ObservedKind, Transport as ServerTransport,
};

fn webrtc(emulator: &EmulatorHandle) -> SessionOptions {
    options(emulator).transport(Transport::WebRtc)
}

/// Plain HTTP on loopback; reqwest still wants a TLS config (ring, like the SDK).
fn http_client() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap()
}

/// Waits (with the hang guard) for an observation `pred` accepts; returns it.
async fn observe_until(
    rx: &mut tokio::sync::broadcast::Receiver<Observed>,
    mut pred: impl FnMut(&Observed) -> bool,
) -> Observed {
    tokio::time::timeout(common::HANG_GUARD, async {
        loop {
            match rx.recv().await {
                Ok(observed) if pred(&observed) => return observed,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(error) => panic!("observation stream ended: {error}"),
            }
        }
    })
    .await
    .expect("the emulator observed it")
}

/// WebRTC sessions in the order they opened, and each one's client events.
fn calls_and_client_events(
    observed: &[Observed],
) -> (Vec<String>, HashMap<String, Vec<ClientEvent>>) {
    let mut order = Vec::new();
    let mut events: HashMap<String, Vec<ClientEvent>> = HashMap::new();
    for o in observed {
        match &o.kind {
            ObservedKind::ConnectionOpened {
                transport: ServerTransport::WebRtc,
                sideband: false,
                ..
            } => order.push(o.session_id.clone()),
            ObservedKind::ClientEvent(event) => events
                .entry(o.session_id.clone())
                .or_default()
                .push(event.as_ref().clone()),
            _ => {}
        }
    }
    (order, events)
}

/// Reads observations until the session `id` has closed; returns everything read.
async fn observe_through_close(
    rx: &mut tokio::sync::broadcast::Receiver<Observed>,
    id: &str,
    seen: &mut Vec<Observed>,
) {
    observe_until(rx, |o| {
        seen.push(o.clone());
        o.session_id == id && matches!(o.kind, ObservedKind::ConnectionClosed { .. })
    })
    .await;
}

async fn one_text_turn(session: &RealtimeVoiceSession, text: &str) -> Vec<SessionEvent> {
    session.send_text(text).await.unwrap();
    events_until(session, |e| {
        matches!(
            e,
            SessionEvent::AssistantTranscriptFinal { complete: true, .. }
        )
    })
    .await
}

/// Reads session events until it is live again after a lost call; checks the app saw the
/// failure as recoverable and `Reconnecting` before `Live`.
async fn reconnected(session: &RealtimeVoiceSession) -> Vec<SessionEvent> {
    let mut lost = false;
    let events = events_until(session, |e| {
        lost |= matches!(
            e,
            SessionEvent::StateChanged(SessionState::Reconnecting { .. })
        );
        lost && matches!(e, SessionEvent::StateChanged(SessionState::Live))
    })
    .await;
    let short: Vec<String> = events.iter().map(common::short).collect();
    let reconnecting = events
        .iter()
        .position(|e| {
            matches!(
                e,
                SessionEvent::StateChanged(SessionState::Reconnecting { attempt: 1 })
            )
        })
        .unwrap_or_else(|| panic!("no Reconnecting: {short:#?}"));
    let error = events
        .iter()
        .position(|e| {
            matches!(
                e,
                SessionEvent::Error {
                    recoverable: true,
                    ..
                }
            )
        })
        .unwrap_or_else(|| panic!("no recoverable error: {short:#?}"));
    assert!(error < reconnecting, "{short:#?}");
    if let SessionEvent::Error { message, .. } = &events[error] {
        // A call has no WebSocket close code to report.
        assert!(!message.contains("code 10"), "{message}");
    }
    events
}

/// The server hangs up (`POST /v1/realtime/calls/{id}/hangup`): the transport reports the
/// end as an error at once, the driver places a new call with the config and the text
/// history, and the session works on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_up_call_is_replaced_by_a_new_call_with_config_and_history() {
    let emu = common::emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let session = RealtimeVoiceSession::new(webrtc(&emu));
    session.start().await.unwrap();
    one_text_turn(&session, "first question").await;
    let first_call = session.call_id().expect("the first call's id");

    let response = http_client()
        .post(format!(
            "{}/realtime/calls/{first_call}/hangup",
            emu.http_base()
        ))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    reconnected(&session).await;
    let second_call = session.call_id().expect("the new call's id");
    assert_ne!(first_call, second_call, "a new call, not the old one");

    // The new call works.
    let events = one_text_turn(&session, "third question").await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            SessionEvent::AssistantTranscriptFinal { text, .. } if text.contains("third question")
        )),
        "{:#?}",
        events.iter().map(common::short).collect::<Vec<_>>()
    );
    session.stop().await.unwrap();

    // What the emulator saw: two WebRTC calls; the second got the config and the history
    // before the new question.
    let mut seen = Vec::new();
    while let Ok(o) = observed.try_recv() {
        seen.push(o);
    }
    let (calls, events) = calls_and_client_events(&seen);
    assert_eq!(calls.len(), 2, "two calls");
    let items = common::config_then_items(&events[&calls[1]]);
    let position = |needle: &str| {
        items
            .iter()
            .position(|j| j.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not sent: {items:#?}"))
    };
    assert!(position("first question") < position("third question"));
    assert!(position("You said: first question") < position("third question"));
    emu.shutdown().await;
}

/// Mints real ephemeral keys from the emulator (so calls post the raw SDP, the mobile
/// case) but says they live `believed_ttl` only, so a reconnect after the refresh margin
/// (10 s before expiry) must fetch a new one.
struct CountingMinter {
    minter: voicewire::MintingClient,
    fetches: AtomicUsize,
    believed_ttl: Duration,
}

#[async_trait::async_trait]
impl voicewire::TokenProvider for CountingMinter {
    async fn fetch_token(&self) -> Result<voicewire::ClientSecret, voicewire::TokenError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let secret = self
            .minter
            .create_client_secret(&common::voice_session(), Duration::from_secs(600))
            .await?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        Ok(voicewire::ClientSecret::expiring(
            secret.value,
            (now + self.believed_ttl).as_secs(),
        ))
    }
}

/// The server's side of the call goes dead without a word (no DTLS close, no SCTP abort,
/// no data-channel close): the client's ICE consent expires, the connection-state callback
/// reports the failure, and the driver places a new call, with a fresh ephemeral key,
/// instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_network_dies_silently_is_detected_and_replaced() {
    let emu = common::emulator(AudioPace::Fast, None).await;
    let provider = Arc::new(CountingMinter {
        minter: voicewire::MintingClient::new(API_KEY)
            .unwrap()
            .with_api_base(emu.http_base()),
        fetches: AtomicUsize::new(0),
        // Outside the 10 s refresh margin at start (with 7 s to spare for a slow start);
        // inside it once ICE has had the 8 s of silence (5 s to `disconnected`, 3 s more
        // to `failed`) it needs before it can declare the call dead.
        believed_ttl: Duration::from_secs(17),
    });
    let mut opts = webrtc(&emu);
    opts.token_source = voicewire::TokenSource::provider(provider.clone());
    let session = RealtimeVoiceSession::new(opts);
    session.start().await.unwrap();
    assert_eq!(provider.fetches.load(Ordering::SeqCst), 1);
    one_text_turn(&session, "first question").await;
    let first_call = session.call_id().unwrap();
    let first_session = emu.sessions()[0].id.clone();

    assert_eq!(emu.inject(first_session.as_str(), Fault::DropConnection), 1);
    let events = reconnected(&session).await;
    let message = events
        .iter()
        .find_map(|e| match e {
            SessionEvent::Error { message, .. } => Some(message.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        message.contains("ICE"),
        "detected by connectivity: {message}"
    );
    assert_ne!(session.call_id().unwrap(), first_call, "a new call");
    assert_eq!(
        provider.fetches.load(Ordering::SeqCst),
        2,
        "a fresh key for the new call"
    );
    one_text_turn(&session, "after the outage").await;
    session.stop().await.unwrap();
    emu.shutdown().await;
}

/// `stop()` closes the peer connection, and the emulator sees the call end: no call is
/// left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_the_call_on_the_server() {
    let emu = common::emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let session = RealtimeVoiceSession::new(webrtc(&emu));
    session.start().await.unwrap();
    let live = emu.sessions();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].transport, ServerTransport::WebRtc);
    assert_eq!(live[0].call_id, session.call_id());

    session.stop().await.unwrap();
    assert!(
        matches!(session.state(), SessionState::Closed { .. }),
        "{:?}",
        session.state()
    );
    let mut seen = Vec::new();
    observe_through_close(&mut observed, &live[0].id, &mut seen).await;
    let reason = seen
        .iter()
        .find_map(|o| match &o.kind {
            ObservedKind::ConnectionClosed { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        reason.contains("data channel") || reason.contains("peer connection closed"),
        "{reason}"
    );
    // The session unregisters right after it reports the close.
    tokio::time::timeout(common::HANG_GUARD, async {
        while !emu.sessions().is_empty() {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the emulator forgot the call");
    emu.shutdown().await;
}

/// An endpoint that answers the offer with a real SDP answer whose media side then never
/// responds: ICE never completes, and connecting ends with `TransportError::Timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_handshake_never_completes_times_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut raw = Vec::new();
        let mut chunk = [0u8; 8192];
        let offer = loop {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the request ended");
            raw.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&raw).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if raw.len() >= end + 4 + length {
                    break text[end + 4..].to_owned();
                }
            }
        };
        // A real answerer whose network is dead from the start: the answer is valid, the
        // candidates are real, and nothing ever comes back from them.
        let (peer, answer) =
            voicewire_rtc::RtcPeer::answerer(voicewire_rtc::RtcConfig::loopback(), &offer)
                .await
                .unwrap();
        peer.sever_network();
        let reply = format!(
            "HTTP/1.1 201 Created\r\ncontent-type: application/sdp\r\nlocation: /v1/realtime/calls/rtc_silent\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        );
        socket.write_all(reply.as_bytes()).await.unwrap();
        // Keep the peer (and its dead sockets) alive while the client waits.
        let _ = socket.read(&mut chunk).await;
        peer
    });

    let connect_timeout = Duration::from_secs(2);
    let secret = voicewire::auth::ClientSecret {
        value: "ek_never_used".into(),
        expires_at: None,
    };
    let params = voicewire::transport::ConnectParams {
        endpoint: voicewire::Endpoint::with_api_base(base),
        token: secret,
        session: voicewire::SessionConfig::default(),
        connect_timeout,
        credential: voicewire::transport::CredentialKind::Ephemeral,
    };
    let result = tokio::time::timeout(
        common::HANG_GUARD,
        voicewire::transport::connect(Transport::WebRtc, &params),
    )
    .await
    .expect("connect gives up by itself");
    match result {
        Err(voicewire::TransportError::Timeout(after)) => assert_eq!(after, connect_timeout),
        other => panic!("expected a timeout, got {other:?}"),
    }
    let peer = tokio::time::timeout(common::HANG_GUARD, server)
        .await
        .unwrap()
        .unwrap();
    peer.close().await.unwrap();
}

/// The server closes the call in the middle of a spoken answer: the app sees the answer's
/// audio stop (paired with its start) and its transcript finalised as incomplete before
/// the session reconnects, and nothing received is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_closed_mid_answer_stops_playback_then_reconnects() {
    // Scenario turns count per call: on the new call the next question gets turn one.
    let scenario = voicewire_server::Scenario::parse(
        r#"{"turns":[
            {"reply":"Hello there."},
            {"reply":"This answer is long enough to be cut off when the server closes the call in the middle of it.",
             "fault":{"after_audio_ms":300,"type":"close","code":1011,"reason":"overloaded"}}
        ]}"#,
    )
    .unwrap();
    let emu = common::emulator(AudioPace::RealTime, Some(scenario)).await;
    let session = RealtimeVoiceSession::new(webrtc(&emu));
    session.start().await.unwrap();
    one_text_turn(&session, "hi").await;
    session.send_text("tell me something long").await.unwrap();
    let events = reconnected(&session).await;
    let short: Vec<String> = events.iter().map(common::short).collect();
    // The cut answer's item: its audio started once and stopped once, before the
    // session went on to reconnect (the earlier answer's stop may arrive here too).
    let cut_item = events
        .iter()
        .find_map(|e| match e {
            SessionEvent::AssistantTranscriptFinal {
                item_id,
                complete: false,
                ..
            } => Some(item_id.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the cut answer is finalised: {short:#?}"));
    let positions = |want_start: bool| -> Vec<usize> {
        events
            .iter()
            .enumerate()
            .filter(|(_, e)| match e {
                SessionEvent::AssistantAudioStarted { item_id } => {
                    want_start && *item_id == cut_item
                }
                SessionEvent::AssistantAudioStopped { item_id, .. } => {
                    !want_start && *item_id == cut_item
                }
                _ => false,
            })
            .map(|(i, _)| i)
            .collect()
    };
    let (started, stopped) = (positions(true), positions(false));
    let reconnecting = events
        .iter()
        .position(|e| {
            matches!(
                e,
                SessionEvent::StateChanged(SessionState::Reconnecting { .. })
            )
        })
        .unwrap();
    assert_eq!((started.len(), stopped.len()), (1, 1), "{short:#?}");
    assert!(
        started[0] < stopped[0] && stopped[0] < reconnecting,
        "{short:#?}"
    );
    let deltas: String = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::AssistantTranscriptDelta { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    let cut = events.iter().find_map(|e| match e {
        SessionEvent::AssistantTranscriptFinal {
            text,
            complete: false,
            ..
        } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(cut.as_deref(), Some(deltas.as_str()), "{short:#?}");

    let after = one_text_turn(&session, "are you back?").await;
    assert!(
        after.iter().any(|e| matches!(
            e,
            SessionEvent::AssistantTranscriptFinal { text, complete: true, .. } if text == "Hello there."
        )),
        "{:#?}",
        after.iter().map(common::short).collect::<Vec<_>>()
    );
    session.stop().await.unwrap();
    emu.shutdown().await;
}

/// At the transport seam: a call the server hangs up ends the link with
/// `Incoming::Closed(Err(..))` of the network kind (what makes the driver reconnect), and
/// a close the driver asked for ends it with `Closed(Ok(()))`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_reports_a_hang_up_as_an_error_and_a_requested_close_as_ok() {
    use voicewire::transport::{ConnectParams, CredentialKind, Incoming, Outgoing};
    let emu = common::emulator(AudioPace::Fast, None).await;
    let params = ConnectParams {
        endpoint: voicewire::Endpoint::with_api_base(emu.http_base()),
        token: voicewire::auth::ClientSecret {
            value: API_KEY.into(),
            expires_at: None,
        },
        session: common::voice_session(),
        connect_timeout: common::HANG_GUARD,
        credential: CredentialKind::ApiKey,
    };
    let closed = |link: voicewire::transport::Link| async move {
        // Hold the whole link (closures capture fields precisely): dropping the outgoing
        // sender would itself be a requested close.
        let mut link = link;
        tokio::time::timeout(common::HANG_GUARD, async {
            loop {
                match link.incoming.recv().await {
                    Some(Incoming::Closed(result)) => return result,
                    Some(_) => {}
                    None => panic!("the link ended without Closed"),
                }
            }
        })
        .await
        .expect("the link reports its end")
    };

    let link = voicewire::transport::connect(Transport::WebRtc, &params)
        .await
        .unwrap();
    let call_id = link.call_id.clone().expect("the answer names the call");
    let response = http_client()
        .post(format!(
            "{}/realtime/calls/{call_id}/hangup",
            emu.http_base()
        ))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let error = closed(link).await.expect_err("a hang-up is a failure");
    assert_eq!(
        error.kind(),
        voicewire::ErrorKind::Network,
        "retried: {error}"
    );

    let link = voicewire::transport::connect(Transport::WebRtc, &params)
        .await
        .unwrap();
    link.outgoing.send(Outgoing::Close).await.unwrap();
    closed(link)
        .await
        .expect("a requested close is not an error");
    emu.shutdown().await;
}

/// The other direction: a client whose network vanishes without hanging up (a phone out
/// of coverage) is found out by the emulator through ICE consent, and its call and session
/// end instead of lingering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_ends_a_call_whose_client_vanished() {
    let emu = common::emulator(AudioPace::Fast, None).await;
    let mut observed = emu.observe();
    let (peer, offer) = voicewire_rtc::RtcPeer::offerer(voicewire_rtc::RtcConfig::loopback())
        .await
        .unwrap();
    let response = http_client()
        .post(format!("{}/realtime/calls", emu.http_base()))
        .bearer_auth(API_KEY)
        .header("content-type", "application/sdp")
        .body(offer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    peer.apply_answer(&response.text().await.unwrap())
        .await
        .unwrap();
    tokio::time::timeout(common::HANG_GUARD, async {
        while let Some(event) = peer.next_event().await {
            if event == voicewire_rtc::RtcEvent::DataChannelOpen {
                return;
            }
        }
        panic!("the call closed before it opened");
    })
    .await
    .expect("the call opens");
    let session_id = emu.sessions()[0].id.clone();

    peer.sever_network();
    let closed = observe_until(&mut observed, |o| {
        o.session_id == session_id && matches!(o.kind, ObservedKind::ConnectionClosed { .. })
    })
    .await;
    let ObservedKind::ConnectionClosed { reason } = closed.kind else {
        unreachable!()
    };
    assert!(reason.contains("ICE"), "ended by connectivity: {reason}");
    peer.close().await.unwrap();
    emu.shutdown().await;
}
