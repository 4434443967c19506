//! Wire audio ⇄ PCM16 24 kHz samples, for the formats a session may choose:
//! `audio/pcm` (PCM16 LE at 24 kHz), `audio/pcmu` and `audio/pcma` (G.711 at 8 kHz).
//! Sessions work on 24 kHz samples internally; G.711 is converted at the edge.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use voicewire_protocol::AudioFormat;

use crate::synth::resample_linear;
use crate::vad::SAMPLE_RATE;

/// Base64 audio could not be turned into samples.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioDecodeError {
    /// Not base64.
    #[error("audio is not valid base64: {0}")]
    Base64(String),
    /// PCM16 needs an even number of bytes.
    #[error("pcm16 audio must have an even number of bytes, got {0}")]
    OddLength(usize),
}

/// Decodes a base64 payload in `format` into 24 kHz samples.
pub fn decode_base64(payload: &str, format: AudioFormat) -> Result<Vec<i16>, AudioDecodeError> {
    let bytes = STANDARD
        .decode(payload.trim())
        .map_err(|e| AudioDecodeError::Base64(e.to_string()))?;
    match format {
        AudioFormat::Pcm { .. } => {
            if bytes.len() % 2 != 0 {
                return Err(AudioDecodeError::OddLength(bytes.len()));
            }
            Ok(bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect())
        }
        AudioFormat::Pcmu => {
            let narrow: Vec<i16> = bytes.iter().map(|&b| ulaw_to_linear(b)).collect();
            Ok(resample_linear(&narrow, 8_000, SAMPLE_RATE))
        }
        AudioFormat::Pcma => {
            let narrow: Vec<i16> = bytes.iter().map(|&b| alaw_to_linear(b)).collect();
            Ok(resample_linear(&narrow, 8_000, SAMPLE_RATE))
        }
    }
}

/// Encodes 24 kHz samples as base64 in `format`.
pub fn encode_base64(samples: &[i16], format: AudioFormat) -> String {
    match format {
        AudioFormat::Pcm { .. } => {
            let mut bytes = Vec::with_capacity(samples.len() * 2);
            for s in samples {
                bytes.extend_from_slice(&s.to_le_bytes());
            }
            STANDARD.encode(bytes)
        }
        AudioFormat::Pcmu => {
            let narrow = resample_linear(samples, SAMPLE_RATE, 8_000);
            STANDARD.encode(
                narrow
                    .iter()
                    .map(|&s| linear_to_ulaw(s))
                    .collect::<Vec<u8>>(),
            )
        }
        AudioFormat::Pcma => {
            let narrow = resample_linear(samples, SAMPLE_RATE, 8_000);
            STANDARD.encode(
                narrow
                    .iter()
                    .map(|&s| linear_to_alaw(s))
                    .collect::<Vec<u8>>(),
            )
        }
    }
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32_635;

fn linear_to_ulaw(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(ULAW_CLIP) + ULAW_BIAS;
    let exponent = (7 - (s.leading_zeros() as i32 - 17)).clamp(0, 7);
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

fn ulaw_to_linear(byte: u8) -> i16 {
    let b = !byte;
    let sign = b & 0x80;
    let exponent = i32::from((b >> 4) & 0x07);
    let mantissa = i32::from(b & 0x0F);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    (if sign != 0 { -magnitude } else { magnitude }) as i16
}

fn linear_to_alaw(sample: i16) -> u8 {
    let s = i32::from(sample);
    let (sign, magnitude) = if s >= 0 {
        (0xD5_u8, s)
    } else {
        (0x55_u8, -s - 1)
    };
    let magnitude = magnitude.min(0x7FFF);
    let encoded = if magnitude < 256 {
        (magnitude >> 4) as u8
    } else {
        let exponent = (31 - magnitude.leading_zeros() as i32) - 7;
        let mantissa = (magnitude >> (exponent + 3)) & 0x0F;
        ((exponent << 4) | mantissa) as u8
    };
    encoded ^ sign
}

fn alaw_to_linear(byte: u8) -> i16 {
    let b = byte ^ 0x55;
    let sign = b & 0x80;
    let exponent = i32::from((b >> 4) & 0x07);
    let mantissa = i32::from(b & 0x0F);
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    (if sign != 0 { magnitude } else { -magnitude }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm16_round_trip() {
        let samples = vec![0, 1, -1, i16::MAX, i16::MIN, 1234];
        let b64 = encode_base64(&samples, AudioFormat::PCM16_24K);
        assert_eq!(
            decode_base64(&b64, AudioFormat::PCM16_24K).unwrap(),
            samples
        );
    }

    #[test]
    fn bad_payloads_are_typed_errors() {
        assert!(matches!(
            decode_base64("%%%", AudioFormat::PCM16_24K),
            Err(AudioDecodeError::Base64(_))
        ));
        let odd = STANDARD.encode([1_u8, 2, 3]);
        assert_eq!(
            decode_base64(&odd, AudioFormat::PCM16_24K),
            Err(AudioDecodeError::OddLength(3))
        );
    }

    #[test]
    fn g711_companding_is_close() {
        for &s in &[0_i16, 100, -100, 1000, -1000, 8000, -8000, 30000, -30000] {
            let u = ulaw_to_linear(linear_to_ulaw(s));
            let a = alaw_to_linear(linear_to_alaw(s));
            let tolerance = (i32::from(s).abs() / 16).max(40);
            assert!(
                (i32::from(u) - i32::from(s)).abs() <= tolerance,
                "ulaw {s} -> {u}"
            );
            assert!(
                (i32::from(a) - i32::from(s)).abs() <= tolerance,
                "alaw {s} -> {a}"
            );
        }
    }

    #[test]
    fn g711_changes_rate() {
        let samples = vec![1000_i16; 2400];
        let b64 = encode_base64(&samples, AudioFormat::Pcmu);
        let back = decode_base64(&b64, AudioFormat::Pcmu).unwrap();
        assert_eq!(back.len(), 2400);
    }
}
