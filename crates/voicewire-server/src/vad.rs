//! Server-side voice activity detection on PCM16 audio at 24 kHz.
//!
//! The real service runs a neural detector; the emulator runs an energy detector that is
//! good enough for synthesized and recorded speech, and — more importantly for tests —
//! deterministic: the same samples always give the same events at the same positions.
//!
//! Positions are milliseconds of audio since the session started (all audio ever
//! appended, including audio that was later cleared or committed), which is what
//! `audio_start_ms` / `audio_end_ms` mean on the wire.

/// Samples per second of the audio the detector reads (the Realtime wire rate).
pub const SAMPLE_RATE: u32 = 24_000;
/// Analysis frame: 10 ms.
const FRAME_SAMPLES: usize = (SAMPLE_RATE / 100) as usize;
/// Milliseconds per analysis frame.
const FRAME_MS: u64 = 10;
/// Consecutive voiced frames needed before speech counts as started (filters clicks).
const ONSET_FRAMES: u32 = 3;

/// Converts a sample count at 24 kHz into whole milliseconds (floored).
pub fn samples_to_ms(samples: u64) -> u64 {
    samples * 1000 / u64::from(SAMPLE_RATE)
}

/// Converts milliseconds into a sample count at 24 kHz.
pub fn ms_to_samples(ms: u64) -> u64 {
    ms * u64::from(SAMPLE_RATE) / 1000
}

/// Tunables of the detector, mirroring the `server_vad` session fields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadParams {
    /// Activation threshold in 0.0..=1.0; higher needs louder audio.
    pub threshold: f32,
    /// Audio kept before the detected onset when the turn is committed.
    pub prefix_padding_ms: u32,
    /// Silence needed after speech before the turn ends.
    pub silence_duration_ms: u32,
}

impl Default for VadParams {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            prefix_padding_ms: 300,
            silence_duration_ms: 500,
        }
    }
}

impl VadParams {
    /// Frame energy (dBFS) above which a frame counts as voiced. The threshold maps
    /// linearly from -60 dBFS (0.0) to -10 dBFS (1.0), so the default 0.5 is -35 dBFS:
    /// above room noise and dither, well below normal speech (-25..-15 dBFS RMS).
    fn level_dbfs(&self) -> f32 {
        -60.0 + 50.0 * self.threshold.clamp(0.0, 1.0)
    }
}

/// What the detector found in the audio it was fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// Speech began; `audio_start_ms` is the first voiced frame.
    SpeechStarted {
        /// Position of the onset, in ms of session audio.
        audio_start_ms: u64,
    },
    /// Speech ended after `silence_duration_ms` of silence.
    SpeechStopped {
        /// Position where the turn ends (last voiced audio plus the silence duration),
        /// which is also the end of the audio to commit.
        audio_end_ms: u64,
        /// Where the committed audio starts: onset minus prefix padding, never before the
        /// first sample still in the buffer (the actor clamps that).
        commit_start_ms: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Silence {
        voiced_run: u32,
        run_start_frame: u64,
    },
    Speech {
        onset_frame: u64,
        silent_frames: u64,
    },
}

/// Streaming energy detector. Feed it any number of samples at a time.
#[derive(Debug, Clone)]
pub struct VoiceActivityDetector {
    params: VadParams,
    partial: Vec<i16>,
    frames_seen: u64,
    state: State,
}

impl VoiceActivityDetector {
    /// A detector starting at session position 0.
    pub fn new(params: VadParams) -> Self {
        Self {
            params,
            partial: Vec::with_capacity(FRAME_SAMPLES),
            frames_seen: 0,
            state: State::Silence {
                voiced_run: 0,
                run_start_frame: 0,
            },
        }
    }

    /// Changes the tunables; an utterance in progress continues with the new values.
    pub fn set_params(&mut self, params: VadParams) {
        self.params = params;
    }

    /// The current tunables.
    pub fn params(&self) -> VadParams {
        self.params
    }

    /// True while the detector is inside an utterance.
    pub fn in_speech(&self) -> bool {
        matches!(self.state, State::Speech { .. })
    }

    /// Forgets any utterance in progress (after `input_audio_buffer.clear` or a manual
    /// commit). Session positions keep counting.
    pub fn reset(&mut self) {
        self.state = State::Silence {
            voiced_run: 0,
            run_start_frame: self.next_frame_index(),
        };
    }

    fn next_frame_index(&self) -> u64 {
        self.frames_seen
    }

    /// Feeds samples and appends any events found to `out`.
    pub fn push(&mut self, samples: &[i16], out: &mut Vec<VadEvent>) {
        let mut rest = samples;
        if !self.partial.is_empty() {
            let need = FRAME_SAMPLES - self.partial.len();
            let take = need.min(rest.len());
            self.partial.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.partial.len() == FRAME_SAMPLES {
                let frame = std::mem::take(&mut self.partial);
                self.process_frame(&frame, out);
                self.partial = frame;
                self.partial.clear();
            }
        }
        let mut chunks = rest.chunks_exact(FRAME_SAMPLES);
        for frame in &mut chunks {
            self.process_frame(frame, out);
        }
        self.partial.extend_from_slice(chunks.remainder());
    }

    fn process_frame(&mut self, frame: &[i16], out: &mut Vec<VadEvent>) {
        let index = self.frames_seen;
        self.frames_seen += 1;
        let voiced = frame_dbfs(frame) >= self.params.level_dbfs();
        self.state = match self.state {
            State::Silence {
                voiced_run,
                run_start_frame,
            } => {
                if voiced {
                    let start = if voiced_run == 0 {
                        index
                    } else {
                        run_start_frame
                    };
                    let run = voiced_run + 1;
                    if run >= ONSET_FRAMES {
                        out.push(VadEvent::SpeechStarted {
                            audio_start_ms: start * FRAME_MS,
                        });
                        State::Speech {
                            onset_frame: start,
                            silent_frames: 0,
                        }
                    } else {
                        State::Silence {
                            voiced_run: run,
                            run_start_frame: start,
                        }
                    }
                } else {
                    State::Silence {
                        voiced_run: 0,
                        run_start_frame: index + 1,
                    }
                }
            }
            State::Speech {
                onset_frame,
                silent_frames,
            } => {
                if voiced {
                    State::Speech {
                        onset_frame,
                        silent_frames: 0,
                    }
                } else {
                    let silent = silent_frames + 1;
                    let needed = u64::from(self.params.silence_duration_ms)
                        .div_ceil(FRAME_MS)
                        .max(1);
                    if silent >= needed {
                        let audio_end_ms = (index + 1) * FRAME_MS;
                        let onset_ms = onset_frame * FRAME_MS;
                        let commit_start_ms =
                            onset_ms.saturating_sub(u64::from(self.params.prefix_padding_ms));
                        out.push(VadEvent::SpeechStopped {
                            audio_end_ms,
                            commit_start_ms,
                        });
                        State::Silence {
                            voiced_run: 0,
                            run_start_frame: index + 1,
                        }
                    } else {
                        State::Speech {
                            onset_frame,
                            silent_frames: silent,
                        }
                    }
                }
            }
        };
    }
}

/// RMS level of a frame in dBFS (digital silence gives -inf).
fn frame_dbfs(frame: &[i16]) -> f32 {
    if frame.is_empty() {
        return f32::NEG_INFINITY;
    }
    let sum: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / frame.len() as f64).sqrt() / 32768.0;
    if rms <= 0.0 {
        f32::NEG_INFINITY
    } else {
        (20.0 * rms.log10()) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: u64, amplitude: f32) -> Vec<i16> {
        let n = ms_to_samples(ms) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / SAMPLE_RATE as f32;
                (amplitude * 32767.0 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()) as i16
            })
            .collect()
    }

    fn silence(ms: u64) -> Vec<i16> {
        vec![0; ms_to_samples(ms) as usize]
    }

    #[test]
    fn detects_onset_and_end_with_padding_and_silence() {
        let mut vad = VoiceActivityDetector::new(VadParams::default());
        let mut audio = silence(800);
        audio.extend(tone(1000, 0.3));
        audio.extend(silence(1000));
        let mut out = Vec::new();
        vad.push(&audio, &mut out);
        assert_eq!(
            out,
            vec![
                VadEvent::SpeechStarted {
                    audio_start_ms: 800
                },
                VadEvent::SpeechStopped {
                    audio_end_ms: 2300,
                    commit_start_ms: 500
                },
            ]
        );
    }

    #[test]
    fn chunking_does_not_change_results() {
        let mut audio = silence(333);
        audio.extend(tone(700, 0.2));
        audio.extend(silence(900));
        let mut whole = Vec::new();
        VoiceActivityDetector::new(VadParams::default()).push(&audio, &mut whole);
        let mut vad = VoiceActivityDetector::new(VadParams::default());
        let mut pieces = Vec::new();
        for chunk in audio.chunks(97) {
            vad.push(chunk, &mut pieces);
        }
        assert_eq!(whole, pieces);
        assert_eq!(whole.len(), 2);
    }

    #[test]
    fn quiet_audio_below_threshold_is_silence() {
        let mut vad = VoiceActivityDetector::new(VadParams {
            threshold: 0.9,
            ..VadParams::default()
        });
        let mut out = Vec::new();
        vad.push(&tone(1000, 0.01), &mut out);
        assert!(out.is_empty());
        assert!(!vad.in_speech());
    }

    #[test]
    fn short_pause_inside_speech_does_not_end_turn() {
        let mut vad = VoiceActivityDetector::new(VadParams::default());
        let mut audio = tone(300, 0.3);
        audio.extend(silence(200));
        audio.extend(tone(300, 0.3));
        let mut out = Vec::new();
        vad.push(&audio, &mut out);
        assert_eq!(out, vec![VadEvent::SpeechStarted { audio_start_ms: 0 }]);
        assert!(vad.in_speech());
    }

    #[test]
    fn reset_drops_utterance_but_keeps_positions() {
        let mut vad = VoiceActivityDetector::new(VadParams::default());
        let mut out = Vec::new();
        vad.push(&tone(200, 0.3), &mut out);
        assert!(vad.in_speech());
        vad.reset();
        assert!(!vad.in_speech());
        out.clear();
        vad.push(&silence(100), &mut out);
        vad.push(&tone(100, 0.3), &mut out);
        assert_eq!(
            out,
            vec![VadEvent::SpeechStarted {
                audio_start_ms: 300
            }]
        );
    }

    #[test]
    fn click_shorter_than_onset_is_ignored() {
        let mut vad = VoiceActivityDetector::new(VadParams::default());
        let mut out = Vec::new();
        vad.push(&tone(20, 0.5), &mut out);
        vad.push(&silence(500), &mut out);
        assert!(out.is_empty());
    }
}
