//! Reply audio: text to PCM16 at 24 kHz.
//!
//! With `espeak-ng` on the PATH the emulator speaks its replies (so a person listening, or
//! a speech recognizer in a test, hears words). Without it, a deterministic tone pattern
//! stands in: one tone burst per word, pitch derived from the word. Every reply says which
//! engine produced it (see [`SynthEngine::label`]), so nothing pretends to be real TTS.
//!
//! `espeak-ng` runs through `tokio::process`, bounded by a semaphore and a timeout, so a
//! burst of sessions never blocks the runtime or forks without limit.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::Semaphore;

use crate::vad::SAMPLE_RATE;

/// Longest text handed to the synthesizer; longer replies are cut at a word boundary.
const MAX_TEXT_CHARS: usize = 2_000;
/// Concurrent `espeak-ng` processes across the whole emulator.
const MAX_CONCURRENT_ESPEAK: usize = 4;
/// A synthesis that takes longer than this falls back to tones.
const ESPEAK_TIMEOUT: Duration = Duration::from_secs(15);

/// Which engine produced a reply's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthEngine {
    /// Speech from the `espeak-ng` program.
    EspeakNg,
    /// The built-in deterministic tone pattern (no speech).
    Tone,
    /// The user's own audio played back.
    Echo,
}

impl SynthEngine {
    /// Short label put in replies' metadata (`voicewire_audio_source`).
    pub fn label(self) -> &'static str {
        match self {
            Self::EspeakNg => "espeak-ng",
            Self::Tone => "tone-pattern",
            Self::Echo => "echo",
        }
    }
}

/// Synthesized audio plus the engine that made it.
#[derive(Debug, Clone)]
pub struct Synthesized {
    /// PCM16 mono samples at 24 kHz.
    pub samples: Vec<i16>,
    /// Who produced them.
    pub engine: SynthEngine,
}

/// Text-to-audio for the emulator's replies. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SpeechSynth {
    espeak: Option<Arc<Semaphore>>,
}

impl SpeechSynth {
    /// Uses `espeak-ng` when it runs on this machine, tones otherwise.
    pub async fn detect() -> Self {
        let found = Command::new("espeak-ng")
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await
            .map(|s| s.success())
            .unwrap_or(false);
        if found {
            tracing::debug!("espeak-ng found; replies are spoken");
            Self {
                espeak: Some(Arc::new(Semaphore::new(MAX_CONCURRENT_ESPEAK))),
            }
        } else {
            tracing::info!("espeak-ng not found; replies use a tone pattern");
            Self::tones_only()
        }
    }

    /// Never runs a program: every reply is the tone pattern.
    pub fn tones_only() -> Self {
        Self { espeak: None }
    }

    /// The engine replies will use (unless `espeak-ng` fails for one of them).
    pub fn preferred_engine(&self) -> SynthEngine {
        if self.espeak.is_some() {
            SynthEngine::EspeakNg
        } else {
            SynthEngine::Tone
        }
    }

    /// Audio for `text` at `speed` (0.25..=1.5, 1.0 normal).
    pub async fn synthesize(&self, text: &str, speed: f32) -> Synthesized {
        let text = clip_text(text);
        if let Some(limit) = &self.espeak {
            match espeak(limit, text, speed).await {
                Ok(samples) if !samples.is_empty() => {
                    return Synthesized {
                        samples,
                        engine: SynthEngine::EspeakNg,
                    };
                }
                Ok(_) => tracing::warn!("espeak-ng produced no audio; using tones"),
                Err(error) => tracing::warn!(%error, "espeak-ng failed; using tones"),
            }
        }
        Synthesized {
            samples: tone_pattern(text, speed),
            engine: SynthEngine::Tone,
        }
    }
}

fn clip_text(text: &str) -> &str {
    if text.len() <= MAX_TEXT_CHARS {
        return text;
    }
    let mut end = MAX_TEXT_CHARS;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text[..end].rfind(' ') {
        Some(space) => &text[..space],
        None => &text[..end],
    }
}

async fn espeak(limit: &Semaphore, text: &str, speed: f32) -> std::io::Result<Vec<i16>> {
    let _permit = limit.acquire().await.map_err(std::io::Error::other)?;
    let words_per_minute = (175.0 * speed.clamp(0.25, 1.5)).round() as u32;
    let mut child = Command::new("espeak-ng")
        .args([
            "-v",
            "en-us",
            "-s",
            &words_per_minute.to_string(),
            "--stdout",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes()).await?;
        stdin.shutdown().await?;
    }
    let output = tokio::time::timeout(ESPEAK_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "espeak-ng timed out"))??;
    if !output.status.success() {
        return Err(std::io::Error::other(format!(
            "espeak-ng exited with {}",
            output.status
        )));
    }
    let (rate, samples) = parse_streamed_wav(&output.stdout)
        .ok_or_else(|| std::io::Error::other("espeak-ng output is not a PCM16 mono WAV"))?;
    Ok(resample_linear(&samples, rate, SAMPLE_RATE))
}

/// Reads a PCM16 mono WAV whose size fields may be bogus (espeak-ng writes `0x7fff…`
/// when streaming to stdout): takes the rate from `fmt ` and every byte after `data`.
fn parse_streamed_wav(bytes: &[u8]) -> Option<(u32, Vec<i16>)> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let mut pos = 12;
    let mut rate = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().ok()?) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            let fmt = bytes.get(body..body + 16)?;
            let format = u16::from_le_bytes([fmt[0], fmt[1]]);
            let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
            let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
            if format != 1 || channels != 1 || bits != 16 {
                return None;
            }
            rate = Some(u32::from_le_bytes(fmt[4..8].try_into().ok()?));
        } else if id == b"data" {
            let data = &bytes[body..];
            let samples = data
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            return Some((rate?, samples));
        }
        pos = body.checked_add(size)?.checked_add(size % 2)?;
    }
    None
}

/// Linear-interpolation resampler; plenty for speech going to a test client.
pub fn resample_linear(input: &[i16], from_rate: u32, to_rate: u32) -> Vec<i16> {
    if from_rate == to_rate || input.is_empty() || from_rate == 0 {
        return input.to_vec();
    }
    let out_len = (input.len() as u64 * u64::from(to_rate) / u64::from(from_rate)) as usize;
    let step = f64::from(from_rate) / f64::from(to_rate);
    let last = input.len() - 1;
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * step;
            let index = (pos as usize).min(last);
            let next = (index + 1).min(last);
            let frac = pos - index as f64;
            let value = f64::from(input[index]) * (1.0 - frac) + f64::from(input[next]) * frac;
            value.round() as i16
        })
        .collect()
}

/// One tone burst per word (pitch from the word's bytes), with short gaps: a fixed,
/// recognizable signal for a given text.
pub fn tone_pattern(text: &str, speed: f32) -> Vec<i16> {
    let speed = speed.clamp(0.25, 1.5);
    let rate = SAMPLE_RATE as f32;
    let gap = (0.06 * rate / speed) as usize;
    let mut out = Vec::new();
    let words: Vec<&str> = text.split_whitespace().collect();
    let words = if words.is_empty() { vec!["…"] } else { words };
    for word in words {
        let hash = word.bytes().fold(2_166_136_261_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(16_777_619)
        });
        let frequency = 220.0 + 40.0 * (hash % 12) as f32;
        let length = ((0.08 + 0.02 * word.chars().count().min(12) as f32) * rate / speed) as usize;
        let fade = (0.005 * rate) as usize;
        for i in 0..length {
            let envelope = (i.min(length - i) as f32 / fade as f32).min(1.0);
            let phase = 2.0 * std::f32::consts::PI * frequency * i as f32 / rate;
            out.push((0.3 * 32767.0 * envelope * phase.sin()) as i16);
        }
        out.extend(std::iter::repeat_n(0, gap));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_pattern_is_deterministic_and_audible() {
        let a = tone_pattern("You said: hello there", 1.0);
        let b = tone_pattern("You said: hello there", 1.0);
        assert_eq!(a, b);
        assert!(a.len() > SAMPLE_RATE as usize / 4);
        assert!(a.iter().any(|&s| s.unsigned_abs() > 8_000));
        assert_ne!(a, tone_pattern("You said: goodbye", 1.0));
    }

    #[test]
    fn resampling_keeps_duration() {
        let input = vec![100_i16; 22_050];
        let out = resample_linear(&input, 22_050, 24_000);
        assert_eq!(out.len(), 24_000);
        assert!(out.iter().all(|&s| s == 100));
    }

    #[test]
    fn parses_streamed_wav_with_bogus_sizes() {
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF\xff\xff\xff\x7fWAVEfmt ");
        wav.extend_from_slice(&16_u32.to_le_bytes());
        wav.extend_from_slice(&1_u16.to_le_bytes());
        wav.extend_from_slice(&1_u16.to_le_bytes());
        wav.extend_from_slice(&22_050_u32.to_le_bytes());
        wav.extend_from_slice(&44_100_u32.to_le_bytes());
        wav.extend_from_slice(&2_u16.to_le_bytes());
        wav.extend_from_slice(&16_u16.to_le_bytes());
        wav.extend_from_slice(b"data\xff\xff\xff\x7f");
        wav.extend_from_slice(&[1, 0, 2, 0, 255, 255]);
        assert_eq!(parse_streamed_wav(&wav), Some((22_050, vec![1, 2, -1])));
        assert_eq!(parse_streamed_wav(b"not a wav"), None);
    }

    #[test]
    fn long_text_is_clipped_at_a_word() {
        let text = "word ".repeat(1_000);
        let clipped = clip_text(&text);
        assert!(clipped.len() <= MAX_TEXT_CHARS);
        assert!(clipped.ends_with("word"));
    }

    #[tokio::test]
    async fn espeak_or_tones_produce_audio() {
        let synth = SpeechSynth::detect().await;
        let out = synth.synthesize("Hello from the emulator.", 1.0).await;
        assert!(out.samples.len() > SAMPLE_RATE as usize / 2);
        assert_eq!(out.engine, synth.preferred_engine());
    }
}
