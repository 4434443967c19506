//! Sample conversion (PCM16 ↔ f32) and channel mixing (any layout ↔ mono).
//!
//! These run inside device callbacks, so every function here works on caller-provided
//! slices and never allocates.

/// Converts one PCM16 sample to f32 in [-1.0, 1.0).
#[inline]
pub fn i16_to_f32(sample: i16) -> f32 {
    f32::from(sample) / 32_768.0
}

/// Converts one f32 sample to PCM16, clamping out-of-range input (a hot resampler overshoot or
/// a loud mix must clip, not wrap around).
#[inline]
pub fn f32_to_i16(sample: f32) -> i16 {
    // `as` saturates for floats; NaN becomes 0.
    (sample * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16
}

/// Converts PCM16 to f32 into `out` (pairs up to the shorter length; returns how many).
pub fn i16_slice_to_f32(input: &[i16], out: &mut [f32]) -> usize {
    let n = input.len().min(out.len());
    for (o, &i) in out[..n].iter_mut().zip(&input[..n]) {
        *o = i16_to_f32(i);
    }
    n
}

/// Converts f32 to PCM16 into `out` (pairs up to the shorter length; returns how many).
pub fn f32_slice_to_i16(input: &[f32], out: &mut [i16]) -> usize {
    let n = input.len().min(out.len());
    for (o, &i) in out[..n].iter_mut().zip(&input[..n]) {
        *o = f32_to_i16(i);
    }
    n
}

/// A sample type the callback paths accept: PCM16 or f32, converted to f32 for processing.
pub trait Sample: Copy + Send + 'static {
    /// This sample as f32 in [-1, 1].
    fn to_f32(self) -> f32;
    /// An f32 in [-1, 1] as this sample type (clamped).
    fn from_f32(value: f32) -> Self;
    /// Digital silence.
    const SILENCE: Self;
}

impl Sample for f32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline]
    fn from_f32(value: f32) -> Self {
        value
    }
    const SILENCE: Self = 0.0;
}

impl Sample for i16 {
    #[inline]
    fn to_f32(self) -> f32 {
        i16_to_f32(self)
    }
    #[inline]
    fn from_f32(value: f32) -> Self {
        f32_to_i16(value)
    }
    const SILENCE: Self = 0;
}

/// Averages interleaved `channels`-channel frames down to mono f32, writing one value per
/// whole frame into `out`. Returns the number of frames written (limited by `out`).
///
/// Averaging (rather than summing) keeps a full-scale stereo signal at full scale in mono and
/// never clips.
pub fn mix_to_mono<S: Sample>(interleaved: &[S], channels: u16, out: &mut [f32]) -> usize {
    let channels = usize::from(channels.max(1));
    let frames = (interleaved.len() / channels).min(out.len());
    if channels == 1 {
        for (o, s) in out[..frames].iter_mut().zip(interleaved) {
            *o = s.to_f32();
        }
        return frames;
    }
    let scale = 1.0 / channels as f32;
    for (o, frame) in out[..frames]
        .iter_mut()
        .zip(interleaved.chunks_exact(channels))
    {
        *o = frame.iter().map(|s| s.to_f32()).sum::<f32>() * scale;
    }
    frames
}

/// Copies mono samples into every channel of interleaved `channels`-channel frames. Returns the
/// number of frames written (limited by both buffers).
pub fn expand_mono<S: Sample>(mono: &[f32], channels: u16, out: &mut [S]) -> usize {
    let channels = usize::from(channels.max(1));
    let frames = mono.len().min(out.len() / channels);
    for (frame, &m) in out.chunks_exact_mut(channels).zip(&mono[..frames]) {
        let s = S::from_f32(m);
        frame.iter_mut().for_each(|o| *o = s);
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm16_round_trips_exactly_through_f32() {
        for s in [i16::MIN, -12_345, -1, 0, 1, 12_345, i16::MAX] {
            assert_eq!(f32_to_i16(i16_to_f32(s)), s);
        }
        assert_eq!(f32_to_i16(2.0), i16::MAX);
        assert_eq!(f32_to_i16(-2.0), i16::MIN);
        assert_eq!(f32_to_i16(f32::NAN), 0);
    }

    #[test]
    fn stereo_mixes_to_mono_and_back() {
        let stereo: [i16; 6] = [1000, 3000, -2000, -2000, 16_384, 0];
        let mut mono = [0.0f32; 3];
        assert_eq!(mix_to_mono(&stereo, 2, &mut mono), 3);
        assert_eq!(f32_to_i16(mono[0]), 2000);
        assert_eq!(f32_to_i16(mono[1]), -2000);
        assert_eq!(f32_to_i16(mono[2]), 8192);
        let mut back = [0i16; 6];
        assert_eq!(expand_mono(&mono, 2, &mut back), 3);
        assert_eq!(back, [2000, 2000, -2000, -2000, 8192, 8192]);
    }

    #[test]
    fn partial_frames_are_ignored() {
        let mut mono = [0.0f32; 4];
        assert_eq!(mix_to_mono(&[0.5f32, 0.5, 0.25], 2, &mut mono), 1);
        let mut out = [0.0f32; 5];
        assert_eq!(expand_mono(&[0.1, 0.2, 0.3], 2, &mut out), 2);
    }
}
