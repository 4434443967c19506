//! PCM16 ⇄ base64 for audio payloads, and a zero-copy reader for audio delta events.
//!
//! Audio is the bulk of Realtime traffic (100 ms of 24 kHz PCM16 is 6.4 kB of base64), so
//! these helpers append into caller-owned buffers and use fixed stack chunks instead of an
//! intermediate byte vector: steady-state streaming allocates nothing once the caller's
//! buffers have grown.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde::Deserialize;
use thiserror::Error;

/// Samples per encode chunk: 384 samples = 768 bytes, a multiple of 3, so chunks
/// concatenate into one valid base64 string without inner padding.
const ENCODE_CHUNK_SAMPLES: usize = 384;
/// Base64 characters per decode chunk (a multiple of 4): 1024 chars = 768 bytes.
const DECODE_CHUNK_CHARS: usize = 1024;

/// A base64 audio payload could not be decoded as PCM16.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AudioPayloadError {
    /// The payload is not valid base64.
    #[error("audio payload is not valid base64: {0}")]
    InvalidBase64(String),
    /// The payload decodes to an odd number of bytes, so it cannot be 16-bit samples.
    #[error("audio payload has {0} bytes, not a whole number of 16-bit samples")]
    OddByteCount(usize),
}

/// Appends the base64 (standard alphabet, padded) of `samples` as little-endian PCM16.
pub fn encode_pcm16_base64(samples: &[i16], out: &mut String) {
    out.reserve(samples.len().div_ceil(3) * 8);
    let mut bytes = [0u8; ENCODE_CHUNK_SAMPLES * 2];
    for chunk in samples.chunks(ENCODE_CHUNK_SAMPLES) {
        for (dst, sample) in bytes.chunks_exact_mut(2).zip(chunk) {
            dst.copy_from_slice(&sample.to_le_bytes());
        }
        STANDARD.encode_string(&bytes[..chunk.len() * 2], out);
    }
}

/// Appends the PCM16 samples in a base64 payload to `out`; returns how many were added.
///
/// Accepts padded or unpadded base64. On error nothing is appended.
pub fn decode_pcm16_base64(b64: &str, out: &mut Vec<i16>) -> Result<usize, AudioPayloadError> {
    let text = b64.trim_end_matches('=').as_bytes();
    if b64.len() - text.len() > 2 {
        return Err(AudioPayloadError::InvalidBase64(
            "too much padding".to_owned(),
        ));
    }
    let byte_len = match text.len() % 4 {
        0 => text.len() / 4 * 3,
        2 => text.len() / 4 * 3 + 1,
        3 => text.len() / 4 * 3 + 2,
        _ => {
            return Err(AudioPayloadError::InvalidBase64(format!(
                "invalid length {} for base64 text",
                b64.len()
            )));
        }
    };
    if byte_len % 2 != 0 {
        return Err(AudioPayloadError::OddByteCount(byte_len));
    }
    let start_len = out.len();
    out.reserve(byte_len / 2);
    let mut bytes = [0u8; DECODE_CHUNK_CHARS / 4 * 3];
    // Every full chunk decodes to 768 bytes (even), so no sample straddles two chunks.
    for chunk in text.chunks(DECODE_CHUNK_CHARS) {
        let n = match STANDARD_NO_PAD.decode_slice(chunk, &mut bytes) {
            Ok(n) => n,
            Err(err) => {
                out.truncate(start_len);
                return Err(AudioPayloadError::InvalidBase64(err.to_string()));
            }
        };
        out.extend(
            bytes[..n]
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
    }
    Ok(out.len() - start_len)
}

/// Number of PCM16 samples a base64 payload holds, from its length alone (no decoding).
pub fn pcm16_sample_count(b64: &str) -> usize {
    let text = b64.trim_end_matches('=');
    let bytes = text.len() / 4 * 3
        + match text.len() % 4 {
            2 => 1,
            3 => 2,
            _ => 0,
        };
    bytes / 2
}

/// A borrowed view of a `response.output_audio.delta` (or beta `response.audio.delta`)
/// event. `delta` borrows the base64 text straight from the input when it has no escapes
/// (JSON base64 never does), so reading it copies nothing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AudioDeltaRef<'a> {
    /// Server event id.
    #[serde(borrow, default)]
    pub event_id: Cow<'a, str>,
    /// The response.
    #[serde(borrow, default)]
    pub response_id: Cow<'a, str>,
    /// The assistant item.
    #[serde(borrow, default)]
    pub item_id: Cow<'a, str>,
    /// Index of the item in the response output.
    #[serde(default)]
    pub output_index: u32,
    /// Index of the audio part in the item content.
    #[serde(default)]
    pub content_index: u32,
    /// Base64 audio.
    #[serde(borrow)]
    pub delta: Cow<'a, str>,
}

/// Reads an audio delta event without allocating for its payload. Returns `None` for any
/// other event type or malformed text; callers then use [`crate::ServerEvent::decode`].
///
/// This is the hot path of a WebSocket session: check it first, decode everything else
/// normally.
pub fn peek_audio_delta(json: &str) -> Option<AudioDeltaRef<'_>> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(rename = "type", borrow)]
        event_type: Cow<'a, str>,
        #[serde(flatten, borrow)]
        delta: AudioDeltaRef<'a>,
    }
    if let Some(t) = crate::codec::sniff_leading_type(json) {
        if !is_audio_delta_type(t) {
            return None;
        }
        return serde_json::from_str::<AudioDeltaRef<'_>>(json).ok();
    }
    let envelope = serde_json::from_str::<Envelope<'_>>(json).ok()?;
    is_audio_delta_type(&envelope.event_type).then_some(envelope.delta)
}

fn is_audio_delta_type(t: &str) -> bool {
    t == "response.output_audio.delta" || t == "response.audio.delta"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm16_round_trip_across_chunk_boundaries() {
        for len in [0usize, 1, 2, 3, 383, 384, 385, 767, 768, 4800] {
            let samples: Vec<i16> = (0..len)
                .map(|i| (i as i32 * 7919 % 65536 - 32768) as i16)
                .collect();
            let mut b64 = String::new();
            encode_pcm16_base64(&samples, &mut b64);
            let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
            assert_eq!(b64, STANDARD.encode(&bytes), "len {len}");
            let mut back = vec![7i16];
            assert_eq!(decode_pcm16_base64(&b64, &mut back), Ok(len));
            assert_eq!(back[0], 7);
            assert_eq!(&back[1..], &samples[..]);
            assert_eq!(pcm16_sample_count(&b64), len);
        }
    }

    #[test]
    fn decode_rejects_odd_bytes_and_bad_base64_without_appending() {
        let mut out = vec![1i16, 2];
        assert_eq!(
            decode_pcm16_base64("AA==", &mut out),
            Err(AudioPayloadError::OddByteCount(1))
        );
        assert_eq!(
            decode_pcm16_base64("AAAA", &mut out),
            Err(AudioPayloadError::OddByteCount(3))
        );
        assert!(matches!(
            decode_pcm16_base64("AAAAAA!A", &mut out),
            Err(AudioPayloadError::InvalidBase64(_))
        ));
        assert!(matches!(
            decode_pcm16_base64("A", &mut out),
            Err(AudioPayloadError::InvalidBase64(_))
        ));
        assert_eq!(out, vec![1, 2]);
    }

    #[test]
    fn decode_accepts_unpadded() {
        let mut out = Vec::new();
        assert_eq!(decode_pcm16_base64("AQA", &mut out), Ok(1));
        assert_eq!(out, vec![1]);
    }

    #[test]
    fn peek_reads_ga_and_beta_and_borrows() {
        let ga = r#"{"type":"response.output_audio.delta","event_id":"e","response_id":"r","item_id":"i","output_index":0,"content_index":0,"delta":"AAAA"}"#;
        let d = peek_audio_delta(ga).unwrap();
        assert!(matches!(d.delta, Cow::Borrowed("AAAA")));
        let beta = r#"{"event_id":"e","type":"response.audio.delta","response_id":"r","item_id":"i","output_index":0,"content_index":0,"delta":"AAAA"}"#;
        assert_eq!(peek_audio_delta(beta).unwrap().delta, "AAAA");
        assert!(peek_audio_delta(r#"{"type":"response.done"}"#).is_none());
        assert!(peek_audio_delta("not json").is_none());
    }
}
