//! Opus encode/decode for the WebRTC wire format: 48 kHz mono, 20 ms frames, in-band FEC,
//! packet-loss concealment.
//!
//! The codec is `opus-rs`, a pure-Rust port of libopus (no C toolchain, builds for Android
//! and iOS as plain Rust); the choice and its measurements are in
//! `docs/decisions/0002-opus-codec.md`. This wrapper fixes the parameters WebRTC voice uses
//! and turns codec failures into [`AudioError::Opus`] (a malformed packet from the network
//! is an error, never a panic).

use crate::convert::f32_to_i16;
use crate::error::AudioError;
use crate::format::AudioFormat;

/// Opus's sample rate here (the RTP clock rate for Opus is always 48 kHz).
pub const OPUS_SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame at 48 kHz mono.
pub const OPUS_FRAME_SAMPLES: usize = 960;
/// Largest packet the encoder writes (RFC 6716 limit for one frame).
pub const OPUS_MAX_PACKET: usize = 1_276;
/// Longest audio one packet can carry: 120 ms at 48 kHz.
const MAX_PACKET_SAMPLES: usize = 5_760;

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusEncoderConfig {
    /// Target bitrate in bits per second (default 32 000: wideband speech with FEC headroom).
    pub bitrate_bps: u32,
    /// Carry a low-bitrate copy of each frame in the next packet (in-band FEC). Default on.
    pub inband_fec: bool,
    /// Expected packet loss in percent; the encoder spends FEC bits accordingly. Default 10.
    pub expected_loss_percent: u8,
    /// 0 (fastest) to 10 (best). Default 9, libopus's default.
    pub complexity: u8,
}

impl Default for OpusEncoderConfig {
    fn default() -> Self {
        Self {
            bitrate_bps: 32_000,
            inband_fec: true,
            expected_loss_percent: 10,
            complexity: 9,
        }
    }
}

/// Encodes 48 kHz mono PCM into Opus packets, one per 20 ms.
pub struct OpusEncoder {
    inner: opus_rs::OpusEncoder,
    pending: Vec<i16>,
    packet: Vec<u8>,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// The format the encoder takes: [`AudioFormat::OPUS_48K`].
    pub const FORMAT: AudioFormat = AudioFormat::OPUS_48K;

    /// A VoIP-tuned encoder with `config`.
    pub fn new(config: OpusEncoderConfig) -> Result<Self, AudioError> {
        let mut inner =
            opus_rs::OpusEncoder::new(OPUS_SAMPLE_RATE as i32, 1, opus_rs::Application::Voip)
                .map_err(|e| AudioError::Opus(e.to_owned()))?;
        inner.bitrate_bps =
            i32::try_from(config.bitrate_bps.clamp(6_000, 510_000)).unwrap_or(32_000);
        inner.use_inband_fec = config.inband_fec;
        inner.packet_loss_perc = i32::from(config.expected_loss_percent.min(100));
        inner.complexity = i32::from(config.complexity.min(10));
        Ok(Self {
            inner,
            pending: Vec::with_capacity(OPUS_FRAME_SAMPLES),
            packet: vec![0; OPUS_MAX_PACKET],
        })
    }

    /// Encodes exactly one 20 ms frame (960 samples) and returns the packet bytes.
    pub fn encode_frame(&mut self, frame: &[i16]) -> Result<&[u8], AudioError> {
        if frame.len() != OPUS_FRAME_SAMPLES {
            return Err(AudioError::Opus(format!(
                "frame of {} samples; Opus frames here are {OPUS_FRAME_SAMPLES}",
                frame.len()
            )));
        }
        let n = self
            .inner
            .encode_i16(frame, OPUS_FRAME_SAMPLES, &mut self.packet)
            .map_err(|e| AudioError::Opus(e.to_owned()))?;
        Ok(&self.packet[..n])
    }

    /// Streams any amount of PCM: buffers partial frames and calls `on_packet` with each
    /// complete 20 ms packet. Returns the number of packets produced.
    pub fn encode_stream(
        &mut self,
        pcm: &[i16],
        mut on_packet: impl FnMut(&[u8]),
    ) -> Result<usize, AudioError> {
        let mut produced = 0;
        let mut rest = pcm;
        while !rest.is_empty() {
            let take = (OPUS_FRAME_SAMPLES - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == OPUS_FRAME_SAMPLES {
                let frame = std::mem::take(&mut self.pending);
                let result = self.encode_frame(&frame).map(&mut on_packet);
                self.pending = frame;
                self.pending.clear();
                result?;
                produced += 1;
            }
        }
        Ok(produced)
    }

    /// Samples buffered towards the next frame.
    pub fn pending_samples(&self) -> usize {
        self.pending.len()
    }
}

/// Decodes Opus packets to 48 kHz mono PCM, concealing lost packets.
pub struct OpusDecoder {
    inner: opus_rs::OpusDecoder,
    scratch: Vec<f32>,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").finish_non_exhaustive()
    }
}

impl OpusDecoder {
    /// The format the decoder produces: [`AudioFormat::OPUS_48K`].
    pub const FORMAT: AudioFormat = AudioFormat::OPUS_48K;

    /// A 48 kHz mono decoder (stereo packets are downmixed).
    pub fn new() -> Result<Self, AudioError> {
        let inner = opus_rs::OpusDecoder::new(OPUS_SAMPLE_RATE as i32, 1)
            .map_err(|e| AudioError::Opus(e.to_owned()))?;
        Ok(Self {
            inner,
            scratch: vec![0.0; MAX_PACKET_SAMPLES],
        })
    }

    /// Decodes one packet (any duration up to 120 ms), appending PCM to `out`. Returns the
    /// samples appended. A malformed packet is an error and appends nothing.
    pub fn decode(&mut self, packet: &[u8], out: &mut Vec<i16>) -> Result<usize, AudioError> {
        if packet.is_empty() {
            return Err(AudioError::Opus(
                "empty packet (use conceal for a lost packet)".into(),
            ));
        }
        let n = self
            .inner
            .decode(packet, MAX_PACKET_SAMPLES, &mut self.scratch)
            .map_err(|e| AudioError::Opus(e.to_owned()))?;
        out.extend(self.scratch[..n].iter().map(|&s| f32_to_i16(s)));
        Ok(n)
    }

    /// Conceals one lost 20 ms packet (packet-loss concealment), appending 960 samples.
    pub fn conceal(&mut self, out: &mut Vec<i16>) -> Result<usize, AudioError> {
        let n = self
            .inner
            .decode(&[], OPUS_FRAME_SAMPLES, &mut self.scratch)
            .map_err(|e| AudioError::Opus(e.to_owned()))?;
        out.extend(self.scratch[..n].iter().map(|&s| f32_to_i16(s)));
        Ok(n)
    }

    /// Rebuilds the lost 20 ms packet just before `next_packet` from `next_packet`'s in-band
    /// FEC (falls back to concealment when it carries none), appending 960 samples. Decode
    /// `next_packet` itself with [`Self::decode`] afterwards.
    pub fn recover_from_fec(
        &mut self,
        next_packet: &[u8],
        out: &mut Vec<i16>,
    ) -> Result<usize, AudioError> {
        let n = self
            .inner
            .decode_fec(next_packet, OPUS_FRAME_SAMPLES, &mut self.scratch)
            .map_err(|e| AudioError::Opus(e.to_owned()))?;
        out.extend(self.scratch[..n].iter().map(|&s| f32_to_i16(s)));
        Ok(n)
    }
}
