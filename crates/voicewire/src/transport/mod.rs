//! The transport seam: how the driver talks to a server, whatever carries the bytes.
//!
//! A transport is opened with [`connect`] and then is just two bounded channels (a
//! [`Link`]): the driver writes [`Outgoing`] (encoded client events, and, for transports
//! that carry audio on a media track, input audio), and reads [`Incoming`] (server event
//! text, remote audio, and one final `Closed`). Each transport runs its own tasks behind the
//! channels (socket reader/writer and keepalive for WebSocket; the peer connection, data
//! channel and RTP track for WebRTC), so the driver's select loop is the same for both.
//!
//! Audio path differences (the core is told which one applies through
//! [`voicewire_core::AudioPath`]):
//! - WebSocket ([`AudioPath::InEvents`]): input audio goes inside `input_audio_buffer.append`
//!   events produced by the core; output audio arrives in `response.output_audio.delta`;
//!   the client truncates on interruption with the milliseconds actually played.
//! - WebRTC ([`AudioPath::MediaTrack`]): input audio goes as [`Outgoing::InputAudio`] (24 kHz
//!   mono PCM16; the transport encodes Opus at 48 kHz); output audio comes back as
//!   [`Incoming::OutputAudio`]; the server truncates, and an interrupt is `response.cancel`
//!   plus `output_audio_buffer.clear`.
//!
//! Queue policy: outgoing holds [`OUTGOING_CAPACITY`] messages and the driver waits when it
//! is full (back-pressure instead of loss); incoming holds [`INCOMING_CAPACITY`] and the
//! reader waits, which in turn applies TCP flow control to the server.
//!
//! Adding WebRTC: implement `webrtc::connect(params) -> Result<Link, TransportError>` in
//! `transport/webrtc.rs` and route [`Transport::WebRtc`] to it in [`connect`].

pub mod webrtc;
pub mod websocket;

use std::time::Duration;

use tokio::sync::mpsc;
pub use voicewire_core::AudioPath;
use voicewire_protocol::SessionConfig;

use crate::auth::ClientSecret;
use crate::endpoint::Endpoint;
use crate::error::TransportError;

/// Capacity of the driver → transport queue.
pub const OUTGOING_CAPACITY: usize = 256;
/// Capacity of the transport → driver queue.
pub const INCOMING_CAPACITY: usize = 256;

/// Which transport a session uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Transport {
    /// JSON events and base64 audio on one WebSocket (servers, relays, the emulator).
    #[default]
    WebSocket,
    /// WebRTC: events on the `oai-events` data channel, Opus audio on an RTP track.
    WebRtc,
}

impl Transport {
    /// How audio travels on this transport.
    pub fn audio_path(self) -> AudioPath {
        match self {
            Transport::WebSocket => AudioPath::InEvents,
            Transport::WebRtc => AudioPath::MediaTrack,
        }
    }

    /// A short name for logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::WebRtc => "webrtc",
        }
    }
}

/// What the driver sends.
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded client event.
    Event(String),
    /// Input audio for transports with a media track (24 kHz mono PCM16).
    InputAudio(Vec<i16>),
    /// Close the connection politely; the transport answers with a final `Closed`.
    Close,
}

/// What the transport delivers.
#[derive(Debug)]
pub enum Incoming {
    /// One server event as text.
    Event(String),
    /// Remote audio from a media track (24 kHz mono PCM16).
    OutputAudio(Vec<i16>),
    /// The connection ended (the last message); `Ok` after a requested close.
    Closed(Result<(), TransportError>),
}

/// An open connection.
#[derive(Debug)]
pub struct Link {
    /// Driver → transport.
    pub outgoing: mpsc::Sender<Outgoing>,
    /// Transport → driver.
    pub incoming: mpsc::Receiver<Incoming>,
    /// How audio travels.
    pub audio_path: AudioPath,
    /// The server's id for this call: from the `Location` of a WebRTC answer, or the
    /// `call_id` a WebSocket attached to. A sideband server joins the call with it.
    pub call_id: Option<String>,
}

/// Everything a transport needs to connect.
#[derive(Debug, Clone)]
pub struct ConnectParams {
    /// Where.
    pub endpoint: Endpoint,
    /// With which credential.
    pub token: ClientSecret,
    /// The session configuration (WebRTC posts it with the offer; WebSocket sends it as
    /// `session.update` through the core instead).
    pub session: SessionConfig,
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// What kind of credential `token` is. WebRTC posts a bare SDP offer with an ephemeral
    /// key (the session is bound to the key) and a multipart offer carrying the session
    /// config with a standard API key.
    pub credential: CredentialKind,
}

/// What kind of credential a connection uses, decided by the token source, never guessed
/// from the key's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A standard API key (`TokenSource::ApiKey`): trusted servers only.
    ApiKey,
    /// An ephemeral client secret (fixed, from a provider, or from an HTTP backend) or a
    /// relay's own token.
    Ephemeral,
}

/// Whether `transport` is compiled into this build.
pub fn is_available(transport: Transport) -> bool {
    match transport {
        Transport::WebSocket => true,
        Transport::WebRtc => true,
    }
}

/// Opens `transport`.
pub async fn connect(transport: Transport, params: &ConnectParams) -> Result<Link, TransportError> {
    match transport {
        Transport::WebSocket => websocket::connect(params).await,
        Transport::WebRtc => webrtc::connect(params).await,
    }
}
