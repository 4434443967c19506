//! The one error type of this crate.

/// Why a peer operation failed.
///
/// The variants are the cases a caller treats differently: a bad SDP from the other
/// side is the remote's fault (HTTP 400 in the emulator), a closed peer ends the
/// session, a stack failure is ours.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtcError {
    /// The remote SDP could not be parsed or applied, or lacks what a Realtime call
    /// needs (an audio section).
    #[error("invalid SDP: {0}")]
    InvalidSdp(String),
    /// The offer has no Opus codec we can negotiate.
    #[error("no common audio codec: the offer must include opus/48000/2")]
    NoCommonCodec,
    /// The peer connection (or its data channel) is closed.
    #[error("peer connection is closed")]
    Closed,
    /// Too many data-channel messages were sent before the channel opened.
    #[error("data channel not open and {0} messages are already waiting")]
    PendingQueueFull(usize),
    /// `send_opus` was called before the audio sender was negotiated.
    #[error("audio sender is not negotiated yet")]
    AudioNotReady,
    /// Local ICE candidates were not gathered in time (no usable interface?).
    #[error("gathering local ICE candidates did not finish in {0:?}")]
    GatherTimeout(std::time::Duration),
    /// The operation is not valid in this peer's role or signaling state.
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
    /// The Opus codec failed (a malformed packet, or settings it refuses).
    #[error("opus codec: {0}")]
    Codec(String),
    /// Any other failure inside the WebRTC stack.
    #[error("webrtc stack: {0}")]
    Stack(String),
}

impl From<webrtc::error::Error> for RtcError {
    fn from(error: webrtc::error::Error) -> Self {
        use webrtc::error::Error;
        match error {
            Error::ErrConnectionClosed | Error::ErrDataChannelClosed => Self::Closed,
            other => Self::Stack(other.to_string()),
        }
    }
}
