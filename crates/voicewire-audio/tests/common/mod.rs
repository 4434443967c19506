//! Signal helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// Path of a committed fixture WAV.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/audio")
        .join(name)
}

/// `frames` frames of a sine at `freq` Hz and `amplitude` (0..1), interleaved over `channels`.
pub fn sine_i16(rate: u32, channels: u16, freq: f64, amplitude: f64, frames: usize) -> Vec<i16> {
    let mut out = Vec::with_capacity(frames * usize::from(channels));
    for i in 0..frames {
        let v = (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin() * amplitude;
        let s = (v * 32767.0).round() as i16;
        for _ in 0..channels {
            out.push(s);
        }
    }
    out
}

/// Normalised power of `freq` in `x` (Goertzel): a full-scale sine at that frequency gives
/// about 1.0 when the window holds whole periods, a frequency far off gives ~0.
pub fn goertzel(x: &[i16], freq: f64, rate: u32) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) / 32768.0 + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let n = x.len() as f64;
    (s1 * s1 + s2 * s2 - c * s1 * s2) / (n * n / 4.0)
}

/// The frequency among `candidates` with the most power.
pub fn dominant(x: &[i16], rate: u32, candidates: impl IntoIterator<Item = f64>) -> f64 {
    candidates
        .into_iter()
        .map(|f| (f, goertzel(x, f, rate)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(f, _)| f)
        .unwrap()
}

/// Frequency estimated from zero crossings (rising edges) over `x`.
pub fn zero_crossing_hz(x: &[i16], rate: u32) -> f64 {
    let rising = x.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    rising as f64 * f64::from(rate) / x.len() as f64
}

/// RMS amplitude relative to full scale.
pub fn rms(x: &[i16]) -> f64 {
    (x.iter()
        .map(|&s| (f64::from(s) / 32768.0).powi(2))
        .sum::<f64>()
        / x.len().max(1) as f64)
        .sqrt()
}

/// Lag (0..max_lag) at which `b` best matches `a` (normalised cross-correlation).
pub fn best_lag(a: &[i16], b: &[i16], max_lag: usize) -> usize {
    let mut best = (f64::MIN, 0);
    for lag in 0..max_lag {
        let n = a.len().min(b.len().saturating_sub(lag));
        let mut dot = 0.0;
        let mut eb = 0.0;
        for i in 0..n {
            dot += f64::from(a[i]) * f64::from(b[i + lag]);
            eb += f64::from(b[i + lag]).powi(2);
        }
        let score = dot / eb.sqrt().max(1.0);
        if score > best.0 {
            best = (score, lag);
        }
    }
    best.1
}
