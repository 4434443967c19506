//! The peer: one WebRTC connection carrying a Realtime call.
//!
//! # Threading
//!
//! webrtc-rs runs a driver task per connection and awaits our event handler *on that
//! task*. The handler therefore never blocks and never calls back into the connection
//! (that would deadlock the driver): it forwards each signal to a relay task over an
//! unbounded channel. The relay task does the async work (asking a data channel for its
//! label, starting the pumps) and feeds the bounded event queue the caller reads.
//!
//! ```text
//! driver ──handler──> signals (unbounded) ──relay task──┐
//! data channel ──pump task── text, open, close ──────────┼──> events (bounded) ──> next_event()
//! remote track ──pump task── opus (dropped when full) ───┘
//! ```

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::peer_connection::transport::RTCDtlsRole;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::{Mutex, mpsc, watch};
use tracing::{debug, warn};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceGatheringState, RTCIceServer, RTCPeerConnectionState,
    RTCSessionDescription, Registry, SettingEngineBuilder, register_default_interceptors,
};

use crate::network::{NetworkSwitch, SeverableRuntime};
use crate::opus_packet::{LossCounter, OpusPacket, RtpStamper, opus_packet_duration};
use crate::{RtcConfig, RtcError, SdpSummary};

/// Label of the data channel that carries Realtime events, fixed by the API.
pub const EVENTS_CHANNEL_LABEL: &str = "oai-events";

/// Payload type we offer for Opus; browsers use the same number.
const OPUS_PAYLOAD_TYPE: u8 = 111;

/// Messages `send_text` may queue before the data channel opens.
const MAX_PENDING_TEXT: usize = 1024;

/// Sentinel for "payload type not resolved yet".
const PAYLOAD_TYPE_UNKNOWN: u16 = u16::MAX;

/// Which side of the offer/answer exchange this peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcRole {
    /// The client: creates the audio transceiver and `oai-events`, then the offer.
    Offerer,
    /// The server: answers an offer and accepts the remote's data channel.
    Answerer,
}

/// Connection state of the peer, after ICE and DTLS (the W3C `connectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    /// Created, nothing exchanged yet.
    New,
    /// ICE checks or the DTLS handshake are running.
    Connecting,
    /// Media and data can flow.
    Connected,
    /// Connectivity was lost; it may come back on its own or after an ICE restart.
    Disconnected,
    /// Connectivity is gone for good without an ICE restart.
    Failed,
    /// Closed locally or by the remote.
    Closed,
}

impl PeerState {
    fn from_stack(state: RTCPeerConnectionState) -> Option<Self> {
        match state {
            RTCPeerConnectionState::New => Some(Self::New),
            RTCPeerConnectionState::Connecting => Some(Self::Connecting),
            RTCPeerConnectionState::Connected => Some(Self::Connected),
            RTCPeerConnectionState::Disconnected => Some(Self::Disconnected),
            RTCPeerConnectionState::Failed => Some(Self::Failed),
            RTCPeerConnectionState::Closed => Some(Self::Closed),
            _ => None,
        }
    }
}

/// Something that happened on the peer, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcEvent {
    /// The connection state changed.
    StateChanged(PeerState),
    /// `oai-events` is open; queued `send_text` messages have been flushed.
    DataChannelOpen,
    /// A text message arrived on `oai-events` (one JSON event).
    Text(String),
    /// A binary message arrived on `oai-events`. The Realtime API never sends these;
    /// the caller reports it as a protocol error instead of guessing.
    Binary(Bytes),
    /// An Opus packet arrived on the remote audio track.
    Opus(OpusPacket),
    /// `oai-events` closed (the remote closed it or the connection went away).
    DataChannelClosed,
    /// The peer is closed; no further events follow.
    Closed,
}

/// Counters for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RtcStats {
    /// Opus packets written to the outgoing track.
    pub audio_packets_sent: u64,
    /// Opus packets received and queued for the caller.
    pub audio_packets_received: u64,
    /// Received packets dropped because the caller's event queue was full.
    pub audio_packets_dropped: u64,
    /// Packets missing from the incoming sequence (network loss).
    pub audio_packets_lost: u64,
    /// Received payloads that are not valid Opus packets (skipped).
    pub audio_packets_malformed: u64,
    /// Text messages sent on `oai-events`.
    pub texts_sent: u64,
    /// Text messages received on `oai-events`.
    pub texts_received: u64,
}

#[derive(Debug, Default)]
struct Counters {
    audio_packets_sent: AtomicU64,
    audio_packets_received: AtomicU64,
    audio_packets_dropped: AtomicU64,
    audio_packets_lost: AtomicU64,
    audio_packets_malformed: AtomicU64,
    texts_sent: AtomicU64,
    texts_received: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> RtcStats {
        RtcStats {
            audio_packets_sent: self.audio_packets_sent.load(Ordering::Relaxed),
            audio_packets_received: self.audio_packets_received.load(Ordering::Relaxed),
            audio_packets_dropped: self.audio_packets_dropped.load(Ordering::Relaxed),
            audio_packets_lost: self.audio_packets_lost.load(Ordering::Relaxed),
            audio_packets_malformed: self.audio_packets_malformed.load(Ordering::Relaxed),
            texts_sent: self.texts_sent.load(Ordering::Relaxed),
            texts_received: self.texts_received.load(Ordering::Relaxed),
        }
    }
}

/// Where `oai-events` stands, and what waits for it.
enum ChannelSlot {
    /// Not open yet; messages sent so far, in order.
    Pending(VecDeque<String>),
    /// Open: sends go straight through.
    Open(Arc<dyn DataChannel>),
    /// Closed for good.
    Closed,
}

/// A signal from the driver's callbacks to the relay task.
enum Signal {
    State(PeerState),
    DataChannel(Arc<dyn DataChannel>),
    Track(Arc<dyn TrackRemote>),
    LocalClose,
}

/// State shared by the peer handle, the handler and the tasks.
struct Shared {
    events: mpsc::Sender<RtcEvent>,
    channel: Mutex<ChannelSlot>,
    /// Set when a data channel has been adopted as `oai-events`.
    channel_adopted: AtomicBool,
    closed_emitted: AtomicBool,
    counters: Counters,
}

impl Shared {
    /// Queues an event, waiting for room. Fails only when the caller dropped the peer.
    async fn emit(&self, event: RtcEvent) -> bool {
        self.events.send(event).await.is_ok()
    }

    /// Queues `Closed` once.
    async fn emit_closed(&self) {
        if !self.closed_emitted.swap(true, Ordering::AcqRel) {
            *self.channel.lock().await = ChannelSlot::Closed;
            let _ = self.emit(RtcEvent::Closed).await;
        }
    }
}

/// The callbacks webrtc-rs awaits on its driver task: forward and return.
struct Handler {
    signals: mpsc::UnboundedSender<Signal>,
    gathering_complete: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        self.gathering_complete
            .send_replace(state == RTCIceGatheringState::Complete);
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if let Some(state) = PeerState::from_stack(state) {
            let _ = self.signals.send(Signal::State(state));
        }
    }

    async fn on_data_channel(&self, data_channel: Arc<dyn DataChannel>) {
        let _ = self.signals.send(Signal::DataChannel(data_channel));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.signals.send(Signal::Track(track));
    }
}

/// The outgoing audio track and its RTP bookkeeping.
struct AudioSender {
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    stamper: std::sync::Mutex<RtpStamper>,
    /// Negotiated Opus payload type, resolved on first send.
    payload_type: AtomicU16,
}

struct Inner {
    role: RtcRole,
    config: RtcConfig,
    connection: Arc<dyn PeerConnection>,
    shared: Arc<Shared>,
    signals: mpsc::UnboundedSender<Signal>,
    events: Mutex<mpsc::Receiver<RtcEvent>>,
    gathering_complete: watch::Receiver<bool>,
    audio: AudioSender,
    closed: AtomicBool,
    /// Cuts this peer's UDP path (see [`RtcPeer::sever_network`]).
    network: NetworkSwitch,
    /// [`RtcEvent::Closed`] was handed to the caller: nothing follows it.
    closed_delivered: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The stack's driver keeps its sockets until `close()`; a dropped peer must not
        // leave them open.
        if !self.closed.swap(true, Ordering::AcqRel)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let connection = Arc::clone(&self.connection);
            runtime.spawn(async move {
                if let Err(error) = connection.close().await {
                    debug!(%error, "closing a dropped peer failed");
                }
            });
        }
    }
}

/// One WebRTC connection carrying a Realtime call: the `oai-events` data channel and a
/// sendrecv Opus track.
///
/// Cloning is cheap and every clone drives the same connection, so a driver can read
/// events in one task and send audio from another. The connection closes when
/// [`close`](Self::close) is called or the last clone is dropped.
#[derive(Clone)]
pub struct RtcPeer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RtcPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtcPeer")
            .field("role", &self.inner.role)
            .field("ssrc", &self.inner.audio.ssrc)
            .finish_non_exhaustive()
    }
}

impl RtcPeer {
    /// Creates the client side: a sendrecv Opus 48 kHz transceiver and the `oai-events`
    /// data channel, then an offer with all local candidates in it.
    ///
    /// Send the returned SDP to `POST /v1/realtime/calls` and pass the answer to
    /// [`apply_answer`](Self::apply_answer).
    ///
    /// # Errors
    /// [`RtcError::Stack`] if the stack cannot bind or build the offer,
    /// [`RtcError::GatherTimeout`] if no candidate could be gathered.
    pub async fn offerer(config: RtcConfig) -> Result<(Self, String), RtcError> {
        let peer = Box::pin(Self::build(RtcRole::Offerer, config)).await?;
        let connection = &peer.inner.connection;
        connection
            .add_transceiver_from_track(
                Arc::clone(&peer.inner.audio.track) as Arc<dyn TrackLocal>,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendrecv,
                    streams: Vec::new(),
                    send_encodings: Vec::new(),
                }),
            )
            .await?;
        let channel = connection
            .create_data_channel(EVENTS_CHANNEL_LABEL, None)
            .await?;
        peer.inner
            .shared
            .channel_adopted
            .store(true, Ordering::Release);
        tokio::spawn(kick_driver_until_open(
            Arc::clone(&peer.inner.shared),
            Arc::clone(&channel),
            peer.inner.config.connect_timeout,
        ));
        tokio::spawn(pump_data_channel(Arc::clone(&peer.inner.shared), channel));
        let offer = connection.create_offer(None).await?;
        let offer_sdp = peer.set_local_and_gather(offer).await?;
        Ok((peer, offer_sdp))
    }

    /// Creates the server side from a client's offer: accepts its data channel when it
    /// opens, answers its audio with our own Opus track, and returns the answer with all
    /// local candidates in it.
    ///
    /// # Errors
    /// [`RtcError::InvalidSdp`] or [`RtcError::NoCommonCodec`] when the offer cannot
    /// become a Realtime call; [`RtcError::Stack`] for failures inside the stack.
    pub async fn answerer(config: RtcConfig, offer_sdp: &str) -> Result<(Self, String), RtcError> {
        SdpSummary::inspect(offer_sdp)?.require_realtime_call()?;
        let peer = Box::pin(Self::build(RtcRole::Answerer, config)).await?;
        // On failure the half-built peer is dropped here, which closes it.
        let answer_sdp = peer.answer_offer(offer_sdp).await?;
        Ok((peer, answer_sdp))
    }

    /// Applies the remote answer to our offer (offerer only).
    ///
    /// # Errors
    /// [`RtcError::InvalidSdp`] when the answer cannot be parsed or applied,
    /// [`RtcError::NoCommonCodec`] when it rejects our audio.
    pub async fn apply_answer(&self, answer_sdp: &str) -> Result<(), RtcError> {
        if self.inner.role != RtcRole::Offerer {
            return Err(RtcError::InvalidState("only the offerer applies an answer"));
        }
        let summary = SdpSummary::inspect(answer_sdp)?;
        if !summary.has_audio {
            return Err(RtcError::InvalidSdp(
                "the answer rejects the audio section".to_owned(),
            ));
        }
        if !summary.audio_has_opus {
            return Err(RtcError::NoCommonCodec);
        }
        let answer = RTCSessionDescription::answer(answer_sdp.to_owned())
            .map_err(|error| RtcError::InvalidSdp(error.to_string()))?;
        self.inner
            .connection
            .set_remote_description(answer)
            .await
            .map_err(|error| RtcError::InvalidSdp(error.to_string()))
    }

    /// Starts an ICE restart (offerer only): returns a new offer with fresh ICE
    /// credentials. Deliver it to the answerer's [`accept_reoffer`](Self::accept_reoffer)
    /// and apply the reply with [`apply_answer`](Self::apply_answer). Data channel and
    /// tracks survive; only the transport paths are renegotiated.
    ///
    /// # Errors
    /// [`RtcError::InvalidState`] on the answerer, [`RtcError::Stack`] on stack failures.
    pub async fn restart_ice(&self) -> Result<String, RtcError> {
        if self.inner.role != RtcRole::Offerer {
            return Err(RtcError::InvalidState("only the offerer restarts ICE"));
        }
        self.inner.connection.restart_ice().await?;
        let offer = self.inner.connection.create_offer(None).await?;
        self.set_local_and_gather(offer).await
    }

    /// Answers a new offer on an existing connection, such as an ICE restart (answerer
    /// only).
    ///
    /// # Errors
    /// As for [`answerer`](Self::answerer).
    pub async fn accept_reoffer(&self, offer_sdp: &str) -> Result<String, RtcError> {
        if self.inner.role != RtcRole::Answerer {
            return Err(RtcError::InvalidState("only the answerer accepts offers"));
        }
        SdpSummary::inspect(offer_sdp)?.require_realtime_call()?;
        self.answer_offer(offer_sdp).await
    }

    /// Sends one text message (a JSON event) on `oai-events`.
    ///
    /// Before the channel opens, messages wait in order (up to 1024) and go out as soon
    /// as it opens, so a caller may send `session.update` right after the offer.
    ///
    /// # Errors
    /// [`RtcError::Closed`] once the channel or peer is closed,
    /// [`RtcError::PendingQueueFull`] if too many messages wait for the channel.
    pub async fn send_text(&self, text: &str) -> Result<(), RtcError> {
        let mut slot = self.inner.shared.channel.lock().await;
        match &mut *slot {
            ChannelSlot::Pending(queue) => {
                if queue.len() >= MAX_PENDING_TEXT {
                    return Err(RtcError::PendingQueueFull(queue.len()));
                }
                queue.push_back(text.to_owned());
            }
            ChannelSlot::Open(channel) => channel.send_text(text).await?,
            ChannelSlot::Closed => return Err(RtcError::Closed),
        }
        self.inner
            .shared
            .counters
            .texts_sent
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Sends one Opus packet of `duration` on the audio track.
    ///
    /// The caller paces the packets (one per frame, in real time); this stamps them.
    /// A pause between packets (mute, silence) is carried into the RTP timestamps.
    ///
    /// # Errors
    /// [`RtcError::AudioNotReady`] before the audio sender is negotiated and bound
    /// (drop the packet and carry on), [`RtcError::Closed`] after close.
    pub async fn send_opus(&self, packet: &[u8], duration: Duration) -> Result<(), RtcError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(RtcError::Closed);
        }
        let payload_type = self.resolve_payload_type().await?;
        let audio = &self.inner.audio;
        let stamp = audio
            .stamper
            .lock()
            .map_err(|_| RtcError::InvalidState("audio stamper poisoned"))?
            .stamp(Instant::now(), duration);
        let rtp = rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                marker: stamp.marker,
                payload_type,
                sequence_number: stamp.sequence,
                timestamp: stamp.timestamp,
                ssrc: audio.ssrc,
                ..Default::default()
            },
            payload: Bytes::copy_from_slice(packet),
        };
        audio.track.write_rtp(rtp).await.map_err(|error| {
            if self.inner.closed.load(Ordering::Acquire) {
                RtcError::Closed
            } else {
                debug!(%error, "audio track not writable yet");
                RtcError::AudioNotReady
            }
        })?;
        self.inner
            .shared
            .counters
            .audio_packets_sent
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Waits for the next event. Returns `None` after [`RtcEvent::Closed`] has been
    /// delivered.
    pub async fn next_event(&self) -> Option<RtcEvent> {
        let mut events = self.inner.events.lock().await;
        if self.inner.closed_delivered.load(Ordering::Acquire) {
            // A pump may still have queued its own end (`DataChannelClosed`) behind
            // `Closed`; `Closed` is the last word whatever raced it.
            return None;
        }
        let event = events.recv().await?;
        if event == RtcEvent::Closed {
            self.inner.closed_delivered.store(true, Ordering::Release);
            events.close();
        }
        Some(event)
    }

    /// Closes the connection. Idempotent; queues [`RtcEvent::Closed`] once.
    ///
    /// # Errors
    /// [`RtcError::Stack`] if the stack reports a failure while closing (the peer is
    /// closed anyway).
    pub async fn close(&self) -> Result<(), RtcError> {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let result = self.inner.connection.close().await;
        let _ = self.inner.signals.send(Signal::LocalClose);
        result.map_err(RtcError::from)
    }

    /// Fault injection: from now on this peer's UDP sockets silently drop every datagram
    /// they would send or receive, as if the network path had died. Nothing is announced
    /// to the remote (no DTLS `close_notify`, no SCTP `ABORT`, no data-channel close), so
    /// the remote only finds out through ICE consent expiring: its connection state goes
    /// `disconnected`, then `failed`. This peer sees the same from its side.
    ///
    /// The emulator uses it for a dropped WebRTC call; tests use it to prove that a call
    /// whose network vanished is detected rather than hanging. Irreversible.
    pub fn sever_network(&self) {
        self.inner.network.sever();
    }

    /// This peer's role.
    #[must_use]
    pub fn role(&self) -> RtcRole {
        self.inner.role
    }

    /// The configuration the peer was built with.
    #[must_use]
    pub fn config(&self) -> &RtcConfig {
        &self.inner.config
    }

    /// Packet and message counters so far.
    #[must_use]
    pub fn stats(&self) -> RtcStats {
        self.inner.shared.counters.snapshot()
    }

    async fn build(role: RtcRole, config: RtcConfig) -> Result<Self, RtcError> {
        let mut media_engine = MediaEngine::default();
        media_engine.register_codec(opus_codec_parameters(), RtpCodecKind::Audio)?;
        let registry = register_default_interceptors(Registry::new(), &mut media_engine)?;
        let setting_engine = SettingEngineBuilder::new()
            // mDNS needs a multicast route; phones and sandboxes often have none, and
            // building the connection then fails.
            .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
            .with_ice_connection_attempts(Some(config.ice_check_interval), None)
            // Answer `a=setup:passive`: the offerer (our client, a browser) is then the DTLS
            // and SCTP client, and the answerer only ever responds, which the stack flushes
            // at once (see `kick_driver_until_open` for the other side).
            .with_answering_dtls_role(RTCDtlsRole::Server)
            .with_ice_timeouts(
                Some(config.ice_disconnected_timeout),
                Some(config.ice_failed_timeout),
                Some(config.ice_keepalive_interval),
            )
            .build();
        let ice_servers = if config.ice_servers.is_empty() {
            Vec::new()
        } else {
            vec![RTCIceServer {
                urls: config.ice_servers.clone(),
                ..Default::default()
            }]
        };
        let configuration = RTCConfigurationBuilder::new()
            .with_ice_servers(ice_servers)
            .build();

        let network = NetworkSwitch::default();
        let (signals_tx, signals_rx) = mpsc::unbounded_channel();
        let (gathering_tx, gathering_rx) = watch::channel(false);
        let handler = Handler {
            signals: signals_tx.clone(),
            gathering_complete: gathering_tx,
        };
        // The stack's build future is ~20 kB; keep it off our callers' stacks.
        let connection = Box::pin(
            PeerConnectionBuilder::new()
                .with_configuration(configuration)
                .with_media_engine(media_engine)
                .with_interceptor_registry(registry)
                .with_setting_engine(setting_engine)
                .with_handler(Arc::new(handler))
                .with_runtime(Arc::new(SeverableRuntime::new(network.clone())))
                .with_udp_addrs(config.udp_bind_addrs.clone())
                .build(),
        )
        .await?;
        let connection: Arc<dyn PeerConnection> = Arc::new(connection);

        let (events_tx, events_rx) = mpsc::channel(config.event_queue_capacity.max(16));
        let shared = Arc::new(Shared {
            events: events_tx,
            channel: Mutex::new(ChannelSlot::Pending(VecDeque::new())),
            channel_adopted: AtomicBool::new(false),
            closed_emitted: AtomicBool::new(false),
            counters: Counters::default(),
        });
        tokio::spawn(relay_signals(Arc::clone(&shared), signals_rx));

        let ssrc = rand::random::<u32>();
        let track = TrackLocalStaticRTP::new(MediaStreamTrack::new(
            format!("voicewire-{ssrc:08x}"),
            format!("voicewire-audio-{ssrc:08x}"),
            "voicewire-audio".to_owned(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                active: true,
                codec: opus_codec_parameters().rtp_codec,
                ..Default::default()
            }],
        ));
        let audio = AudioSender {
            track: Arc::new(track),
            ssrc,
            stamper: std::sync::Mutex::new(RtpStamper::new(rand::random(), rand::random())),
            payload_type: AtomicU16::new(PAYLOAD_TYPE_UNKNOWN),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                role,
                config,
                connection,
                shared,
                signals: signals_tx,
                events: Mutex::new(events_rx),
                gathering_complete: gathering_rx,
                audio,
                closed: AtomicBool::new(false),
                network,
                closed_delivered: AtomicBool::new(false),
            }),
        })
    }

    /// Applies a remote offer, attaches our audio track and returns the answer.
    async fn answer_offer(&self, offer_sdp: &str) -> Result<String, RtcError> {
        let connection = &self.inner.connection;
        let offer = RTCSessionDescription::offer(offer_sdp.to_owned())
            .map_err(|error| RtcError::InvalidSdp(error.to_string()))?;
        connection
            .set_remote_description(offer)
            .await
            .map_err(|error| RtcError::InvalidSdp(error.to_string()))?;
        if connection.get_senders().await.is_empty() {
            // Reuses the transceiver the offer created and turns it sendrecv.
            connection
                .add_track(Arc::clone(&self.inner.audio.track) as Arc<dyn TrackLocal>)
                .await?;
        }
        let answer = connection.create_answer(None).await?;
        let answer_sdp = self.set_local_and_gather(answer).await?;
        let summary = SdpSummary::inspect(&answer_sdp)?;
        if !summary.has_audio || !summary.audio_has_opus {
            return Err(RtcError::NoCommonCodec);
        }
        Ok(answer_sdp)
    }

    /// Applies a local description and waits until its candidates are gathered, since
    /// the HTTP signaling carries exactly one SDP each way.
    async fn set_local_and_gather(
        &self,
        description: RTCSessionDescription,
    ) -> Result<String, RtcError> {
        let mut gathering = self.inner.gathering_complete.clone();
        gathering.mark_unchanged();
        self.inner
            .connection
            .set_local_description(description)
            .await?;
        let timeout = self.inner.config.gather_timeout;
        let gathered = matches!(
            tokio::time::timeout(timeout, gathering.wait_for(|complete| *complete)).await,
            Ok(Ok(_))
        );
        let local =
            self.inner
                .connection
                .local_description()
                .await
                .ok_or(RtcError::InvalidState(
                    "no local description after applying it",
                ))?;
        match gathered {
            true => Ok(local.sdp),
            false if local.sdp.contains("a=candidate:") => {
                warn!(
                    ?timeout,
                    "ICE gathering did not complete; using the candidates found so far"
                );
                Ok(local.sdp)
            }
            false => Err(RtcError::GatherTimeout(timeout)),
        }
    }

    /// The negotiated Opus payload type of our sender, looked up once.
    async fn resolve_payload_type(&self) -> Result<u8, RtcError> {
        let audio = &self.inner.audio;
        let known = audio.payload_type.load(Ordering::Acquire);
        if let Ok(payload_type) = u8::try_from(known) {
            return Ok(payload_type);
        }
        let mut negotiated = None;
        for sender in self.inner.connection.get_senders().await {
            let Ok(parameters) = sender.get_parameters().await else {
                continue;
            };
            negotiated = parameters
                .rtp_parameters
                .codecs
                .iter()
                .find(|codec| {
                    codec
                        .rtp_codec
                        .mime_type
                        .eq_ignore_ascii_case(MIME_TYPE_OPUS)
                })
                .map(|codec| codec.payload_type);
            if negotiated.is_some() {
                break;
            }
        }
        let payload_type = negotiated.ok_or(RtcError::AudioNotReady)?;
        audio
            .payload_type
            .store(u16::from(payload_type), Ordering::Release);
        Ok(payload_type)
    }
}

fn opus_codec_parameters() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: Vec::new(),
        },
        payload_type: OPUS_PAYLOAD_TYPE,
    }
}

/// Turns driver signals into events and starts the pumps. Runs until the peer is
/// dropped.
async fn relay_signals(shared: Arc<Shared>, mut signals: mpsc::UnboundedReceiver<Signal>) {
    while let Some(signal) = signals.recv().await {
        match signal {
            Signal::State(state) => {
                if !shared.emit(RtcEvent::StateChanged(state)).await {
                    return;
                }
                if state == PeerState::Closed {
                    shared.emit_closed().await;
                }
            }
            Signal::LocalClose => shared.emit_closed().await,
            Signal::DataChannel(channel) => {
                let label = channel.label().await.unwrap_or_default();
                if label != EVENTS_CHANNEL_LABEL {
                    warn!(%label, "ignoring a data channel that is not `oai-events`");
                    continue;
                }
                if shared.channel_adopted.swap(true, Ordering::AcqRel) {
                    warn!("ignoring a second `oai-events` data channel");
                    continue;
                }
                tokio::spawn(pump_data_channel(Arc::clone(&shared), channel));
            }
            Signal::Track(track) => {
                if track.kind().await != RtpCodecKind::Audio {
                    debug!("ignoring a non-audio remote track");
                    continue;
                }
                tokio::spawn(pump_remote_audio(Arc::clone(&shared), track));
            }
        }
    }
}

/// How often the offerer nudges the stack's driver while `oai-events` is opening.
const DRIVER_KICK_INTERVAL: Duration = Duration::from_millis(2);

/// Nudges the stack's driver until `oai-events` opens.
///
/// webrtc-rs 0.21 flushes packets its core queues while handling *internal* events (the
/// SCTP INIT after the DTLS handshake, the DCEP OPEN once SCTP is up) only on its next
/// loop iteration, which without traffic is the next 200 ms timer: two such waits put the
/// data channel ~400 ms behind the media. Any application call that notifies the driver
/// makes it iterate; re-setting the channel's low-water mark to its current value (0) is
/// one with no other effect.
async fn kick_driver_until_open(
    shared: Arc<Shared>,
    channel: Arc<dyn DataChannel>,
    limit: Duration,
) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut ticker = tokio::time::interval(DRIVER_KICK_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while tokio::time::Instant::now() < deadline {
        ticker.tick().await;
        if !matches!(*shared.channel.lock().await, ChannelSlot::Pending(_)) {
            return;
        }
        if channel.set_buffered_amount_low_threshold(0).await.is_err() {
            return;
        }
    }
}

/// Forwards `oai-events` traffic to the event queue, waiting for room so a slow
/// reader slows the remote sender down (SCTP back-pressure) instead of losing events.
async fn pump_data_channel(shared: Arc<Shared>, channel: Arc<dyn DataChannel>) {
    while let Some(event) = channel.poll().await {
        let forwarded = match event {
            DataChannelEvent::OnOpen => {
                let mut slot = shared.channel.lock().await;
                if let ChannelSlot::Pending(queue) = &mut *slot {
                    for text in queue.drain(..) {
                        if let Err(error) = channel.send_text(&text).await {
                            warn!(%error, "flushing a queued message failed");
                        }
                    }
                    *slot = ChannelSlot::Open(Arc::clone(&channel));
                }
                drop(slot);
                shared.emit(RtcEvent::DataChannelOpen).await
            }
            DataChannelEvent::OnMessage(message) => {
                shared
                    .counters
                    .texts_received
                    .fetch_add(1, Ordering::Relaxed);
                let data = message.data.freeze();
                let event = if message.is_string {
                    match String::from_utf8(data.to_vec()) {
                        Ok(text) => RtcEvent::Text(text),
                        Err(_) => RtcEvent::Binary(data),
                    }
                } else {
                    RtcEvent::Binary(data)
                };
                shared.emit(event).await
            }
            DataChannelEvent::OnClose => break,
            _ => true,
        };
        if !forwarded {
            return;
        }
    }
    {
        let mut slot = shared.channel.lock().await;
        if !matches!(*slot, ChannelSlot::Closed) {
            *slot = ChannelSlot::Closed;
        }
    }
    let _ = shared.emit(RtcEvent::DataChannelClosed).await;
}

/// Forwards remote Opus packets; drops them (counted) when the reader is behind.
async fn pump_remote_audio(shared: Arc<Shared>, track: Arc<dyn TrackRemote>) {
    let mut losses = LossCounter::default();
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        let counters = &shared.counters;
        let Some(duration) = opus_packet_duration(&packet.payload) else {
            counters
                .audio_packets_malformed
                .fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let Some(lost_before) = losses.observe(packet.header.sequence_number) else {
            // Late or duplicate: its slot was already concealed.
            continue;
        };
        counters
            .audio_packets_lost
            .fetch_add(u64::from(lost_before), Ordering::Relaxed);
        let opus = OpusPacket {
            data: packet.payload,
            duration,
            sequence: packet.header.sequence_number,
            rtp_timestamp: packet.header.timestamp,
            lost_before,
            talkspurt_start: packet.header.marker,
        };
        match shared.events.try_send(RtcEvent::Opus(opus)) {
            Ok(()) => {
                counters
                    .audio_packets_received
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                counters
                    .audio_packets_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every future the adapters hold across `.await` must be `Send` (axum handlers and
    /// spawned tasks); this fails to compile otherwise.
    #[allow(dead_code, reason = "a compile-time check, never called")]
    fn peer_futures_are_send(peer: &RtcPeer) {
        fn is_send<T: Send>(_: T) {}
        is_send(RtcPeer::offerer(RtcConfig::loopback()));
        is_send(RtcPeer::answerer(RtcConfig::loopback(), ""));
        is_send(peer.apply_answer(""));
        is_send(peer.restart_ice());
        is_send(peer.accept_reoffer(""));
        is_send(peer.send_text(""));
        is_send(peer.send_opus(&[], Duration::ZERO));
        is_send(peer.next_event());
        is_send(peer.close());
    }

    #[test]
    fn stack_states_map_one_to_one() {
        assert_eq!(
            PeerState::from_stack(RTCPeerConnectionState::Connected),
            Some(PeerState::Connected)
        );
        assert_eq!(
            PeerState::from_stack(RTCPeerConnectionState::Failed),
            Some(PeerState::Failed)
        );
        assert_eq!(
            PeerState::from_stack(RTCPeerConnectionState::Unspecified),
            None
        );
    }
}
