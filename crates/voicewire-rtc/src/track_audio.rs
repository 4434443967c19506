//! The Realtime API's wire audio (PCM16 mono at 24 kHz) to and from Opus track packets.
//!
//! Both WebRTC adapters — the client transport and the emulator's answerer — hand the
//! session PCM16 at 24 kHz, the rate the WebSocket path uses, so everything above the
//! transport is the same on both. Opus codes any of its rates into the same bitstream
//! (the RTP clock stays 48 kHz), so we run the codec at 24 kHz directly: no resampler, no
//! resampler delay. The codec is `opus-rs`, the pure-Rust libopus port chosen in
//! `docs/decisions/0002-opus-codec.md` (same version as `voicewire-audio`).

use std::time::Duration;

use crate::{OpusPacket, RtcError};

/// The sample rate of Realtime wire audio.
pub const WIRE_SAMPLE_RATE: u32 = 24_000;
/// Samples in one 20 ms frame at the wire rate.
pub const WIRE_FRAME_SAMPLES: usize = 480;
/// Duration of one encoded frame.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// Largest Opus packet for one frame (RFC 6716).
const MAX_PACKET_BYTES: usize = 1_276;
/// Longest packet (120 ms) at the wire rate.
const MAX_DECODED_SAMPLES: usize = 2_880;

fn codec_error(what: &str, error: &str) -> RtcError {
    RtcError::Codec(format!("{what}: {error}"))
}

/// Turns a stream of 24 kHz PCM16 into 20 ms Opus packets.
pub struct TrackEncoder {
    encoder: Box<opus_rs::OpusEncoder>,
    pending: Vec<i16>,
    packet: Vec<u8>,
}

impl std::fmt::Debug for TrackEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackEncoder")
            .field("pending_samples", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl TrackEncoder {
    /// A voice encoder at 32 kb/s with in-band FEC for 10 % loss.
    ///
    /// # Errors
    /// [`RtcError::Codec`] if the codec refuses the settings.
    pub fn new() -> Result<Self, RtcError> {
        let mut encoder = opus_rs::OpusEncoder::new(
            i32::try_from(WIRE_SAMPLE_RATE).unwrap_or(24_000),
            1,
            opus_rs::Application::Voip,
        )
        .map_err(|error| codec_error("creating the Opus encoder", error))?;
        encoder.bitrate_bps = 32_000;
        encoder.use_inband_fec = true;
        encoder.packet_loss_perc = 10;
        Ok(Self {
            encoder: Box::new(encoder),
            pending: Vec::with_capacity(WIRE_FRAME_SAMPLES),
            packet: vec![0; MAX_PACKET_BYTES],
        })
    }

    /// Buffers `pcm` and returns every complete 20 ms packet, in order. A partial frame
    /// waits for the next call (or [`flush`](Self::flush)).
    ///
    /// # Errors
    /// [`RtcError::Codec`] if the encoder fails; the samples of that frame are lost.
    pub fn encode(&mut self, pcm: &[i16]) -> Result<Vec<Vec<u8>>, RtcError> {
        let mut packets = Vec::with_capacity((self.pending.len() + pcm.len()) / WIRE_FRAME_SAMPLES);
        let mut rest = pcm;
        while !rest.is_empty() {
            let take = (WIRE_FRAME_SAMPLES - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == WIRE_FRAME_SAMPLES {
                packets.push(self.encode_pending()?);
            }
        }
        Ok(packets)
    }

    /// Pads a partial frame with silence and encodes it (end of a reply, or mute).
    ///
    /// # Errors
    /// [`RtcError::Codec`] if the encoder fails.
    pub fn flush(&mut self) -> Result<Option<Vec<u8>>, RtcError> {
        if self.pending.is_empty() {
            return Ok(None);
        }
        self.pending.resize(WIRE_FRAME_SAMPLES, 0);
        self.encode_pending().map(Some)
    }

    /// Drops a partial frame without sending it (interruption).
    pub fn discard_pending(&mut self) {
        self.pending.clear();
    }

    fn encode_pending(&mut self) -> Result<Vec<u8>, RtcError> {
        let result = self
            .encoder
            .encode_i16(&self.pending, WIRE_FRAME_SAMPLES, &mut self.packet);
        self.pending.clear();
        let length = result.map_err(|error| codec_error("encoding a frame", error))?;
        Ok(self.packet[..length].to_vec())
    }
}

/// Turns received Opus packets into 24 kHz PCM16, concealing lost packets.
pub struct TrackDecoder {
    decoder: Box<opus_rs::OpusDecoder>,
    scratch: Vec<f32>,
}

impl std::fmt::Debug for TrackDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackDecoder").finish_non_exhaustive()
    }
}

impl TrackDecoder {
    /// A mono decoder at the wire rate (stereo packets are downmixed).
    ///
    /// # Errors
    /// [`RtcError::Codec`] if the codec cannot be created.
    pub fn new() -> Result<Self, RtcError> {
        let decoder =
            opus_rs::OpusDecoder::new(i32::try_from(WIRE_SAMPLE_RATE).unwrap_or(24_000), 1)
                .map_err(|error| codec_error("creating the Opus decoder", error))?;
        Ok(Self {
            decoder: Box::new(decoder),
            scratch: vec![0.0; MAX_DECODED_SAMPLES],
        })
    }

    /// Decodes `packet`, first rebuilding the packets lost before it (the one just
    /// before from in-band FEC, older ones by concealment), and appends PCM to `out`.
    /// Returns the samples appended.
    ///
    /// # Errors
    /// [`RtcError::Codec`] for a packet the decoder rejects; nothing is appended for it
    /// (concealed frames already appended stay).
    pub fn decode(&mut self, packet: &OpusPacket, out: &mut Vec<i16>) -> Result<usize, RtcError> {
        let start = out.len();
        let lost = usize::from(packet.lost_before).min(MAX_DECODED_SAMPLES / WIRE_FRAME_SAMPLES);
        let frame = usize::try_from(crate::duration_to_rtp_ticks(packet.duration) / 2)
            .unwrap_or(WIRE_FRAME_SAMPLES)
            .clamp(1, MAX_DECODED_SAMPLES);
        for index in 0..lost {
            let samples = if index + 1 == lost {
                self.decoder
                    .decode_fec(&packet.data, frame, &mut self.scratch)
            } else {
                self.decoder.decode(&[], frame, &mut self.scratch)
            }
            .map_err(|error| codec_error("concealing a lost packet", error))?;
            self.push(samples, out);
        }
        let samples = self
            .decoder
            .decode(&packet.data, MAX_DECODED_SAMPLES, &mut self.scratch)
            .map_err(|error| codec_error("decoding a packet", error))?;
        self.push(samples, out);
        Ok(out.len() - start)
    }

    fn push(&self, samples: usize, out: &mut Vec<i16>) {
        let samples = samples.min(self.scratch.len());
        out.extend(self.scratch[..samples].iter().map(|&sample| {
            // Saturating float-to-int: out-of-range values clamp, NaN becomes 0.
            (sample * 32_767.0).round() as i16
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::f32::consts::TAU;

    fn sine(frequency: f32, samples: usize) -> Vec<i16> {
        (0..samples)
            .map(|i| ((TAU * frequency * i as f32 / 24_000.0).sin() * 10_000.0) as i16)
            .collect()
    }

    fn packet(data: Vec<u8>, lost_before: u16) -> OpusPacket {
        OpusPacket {
            duration: crate::opus_packet_duration(&data).unwrap(),
            data: Bytes::from(data),
            sequence: 0,
            rtp_timestamp: 0,
            lost_before,
            talkspurt_start: false,
        }
    }

    fn zero_crossing_hz(pcm: &[i16]) -> f32 {
        let crossings = pcm.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        crossings as f32 / 2.0 / (pcm.len() as f32 / 24_000.0)
    }

    #[test]
    fn a_tone_survives_the_round_trip_in_any_chunking() {
        let mut encoder = TrackEncoder::new().unwrap();
        let pcm = sine(500.0, 24_000);
        let mut packets = Vec::new();
        // Odd chunk sizes: frames must be assembled across calls.
        for chunk in pcm.chunks(333) {
            packets.extend(encoder.encode(chunk).unwrap());
        }
        assert_eq!(packets.len(), 50);
        assert!(
            encoder.flush().unwrap().is_none(),
            "1 s is exactly 50 frames"
        );
        let mut decoder = TrackDecoder::new().unwrap();
        let mut out = Vec::new();
        for data in packets {
            let packet = packet(data, 0);
            assert_eq!(packet.duration, FRAME_DURATION);
            assert_eq!(
                decoder.decode(&packet, &mut out).unwrap(),
                WIRE_FRAME_SAMPLES
            );
        }
        assert_eq!(out.len(), 24_000);
        let steady = &out[6_000..18_000];
        assert!((zero_crossing_hz(steady) - 500.0).abs() < 10.0);
    }

    #[test]
    fn lost_packets_are_filled_and_bad_ones_rejected() {
        let mut encoder = TrackEncoder::new().unwrap();
        let packets = encoder.encode(&sine(300.0, 4_800)).unwrap();
        let mut decoder = TrackDecoder::new().unwrap();
        let mut out = Vec::new();
        decoder
            .decode(&packet(packets[0].clone(), 0), &mut out)
            .unwrap();
        // Packets 1..=3 lost: two concealed, one rebuilt from packet 4's FEC, then 4 itself.
        let appended = decoder
            .decode(&packet(packets[4].clone(), 3), &mut out)
            .unwrap();
        assert_eq!(appended, 4 * WIRE_FRAME_SAMPLES);
        let mut partial = encoder.encode(&sine(300.0, 100)).unwrap();
        assert!(partial.is_empty());
        partial.extend(encoder.flush().unwrap());
        assert_eq!(partial.len(), 1, "the padded tail frame");
        encoder.discard_pending();
        assert!(encoder.flush().unwrap().is_none());

        // A TOC promising two CBR frames of unequal total length (code 1, odd payload).
        let malformed = OpusPacket {
            data: Bytes::from_static(&[(31 << 3) | 1, 1, 2, 3]),
            duration: Duration::from_millis(40),
            ..packet(packets[5].clone(), 0)
        };
        let before = out.len();
        assert!(matches!(
            decoder.decode(&malformed, &mut out),
            Err(RtcError::Codec(_))
        ));
        assert_eq!(out.len(), before, "nothing appended for a rejected packet");
    }
}
