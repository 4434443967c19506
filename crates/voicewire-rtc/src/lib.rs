//! The WebRTC peer behind VoiceWire's Realtime calls.
//!
//! Both the client transport (`voicewire`) and the local emulator's answerer
//! (`voicewire-server`) use this crate, and nothing else in the workspace names the
//! WebRTC stack. It speaks in the terms of a Realtime call:
//!
//! * SDP strings (one offer, one answer, exchanged over `POST /v1/realtime/calls`),
//! * text messages on the `oai-events` data channel (one JSON event each),
//! * Opus packets with their duration on one sendrecv audio track (48 kHz RTP clock).
//!
//! The peer itself never sees PCM. [`TrackEncoder`] and [`TrackDecoder`] sit beside it
//! for the two adapters: they turn the session's 24 kHz PCM16 into 20 ms Opus packets and
//! back, with the same codec `voicewire-audio` uses. Swapping
//! webrtc-rs for str0m (see `docs/decisions/0004-webrtc-stack.md`) would touch this
//! crate only.
//!
//! ```no_run
//! # async fn demo() -> Result<(), voicewire_rtc::RtcError> {
//! use voicewire_rtc::{RtcConfig, RtcEvent, RtcPeer};
//!
//! let (client, offer) = RtcPeer::offerer(RtcConfig::loopback()).await?;
//! let (server, answer) = RtcPeer::answerer(RtcConfig::loopback(), &offer).await?;
//! client.apply_answer(&answer).await?;
//! client.send_text(r#"{"type":"session.update","session":{}}"#).await?;
//! while let Some(event) = server.next_event().await {
//!     if let RtcEvent::Text(json) = event {
//!         // hand `json` to the protocol layer
//! #       let _ = json;
//!         break;
//!     }
//! }
//! # Ok(()) }
//! ```

mod config;
mod error;
mod network;
mod opus_packet;
mod peer;
mod sdp;
mod track_audio;

pub use config::RtcConfig;
pub use error::RtcError;
pub use opus_packet::{OPUS_RTP_CLOCK_HZ, OpusPacket, duration_to_rtp_ticks, opus_packet_duration};
pub use peer::{EVENTS_CHANNEL_LABEL, PeerState, RtcEvent, RtcPeer, RtcRole, RtcStats};
pub use sdp::SdpSummary;
pub use track_audio::{
    FRAME_DURATION, TrackDecoder, TrackEncoder, WIRE_FRAME_SAMPLES, WIRE_SAMPLE_RATE,
};
