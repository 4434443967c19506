//! Session metrics, all derived from injected timestamps and counted bytes.
//!
//! "Time to first audio" is measured per turn from the end of the user's input (VAD
//! `speech_stopped`, a push-to-talk release or a sent text message) to the first assistant
//! audio the engine hands to the playout buffer. Only the last [`LATENCY_SAMPLES`] turns are
//! kept, so memory stays bounded in long sessions.

use std::collections::VecDeque;
use std::time::Duration;

/// How many per-turn latencies are kept.
pub const LATENCY_SAMPLES: usize = 64;

/// Token usage, summed over every `response.done`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Total tokens.
    pub total_tokens: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input text tokens.
    pub input_text_tokens: u64,
    /// Input audio tokens.
    pub input_audio_tokens: u64,
    /// Input tokens served from cache.
    pub cached_tokens: u64,
    /// Output text tokens.
    pub output_text_tokens: u64,
    /// Output audio tokens.
    pub output_audio_tokens: u64,
}

impl Usage {
    /// Adds `other` into `self`. Counts come from the server, so the sums saturate at
    /// `u64::MAX` instead of wrapping or panicking.
    pub fn accumulate(&mut self, other: &Usage) {
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.input_text_tokens = self
            .input_text_tokens
            .saturating_add(other.input_text_tokens);
        self.input_audio_tokens = self
            .input_audio_tokens
            .saturating_add(other.input_audio_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(other.cached_tokens);
        self.output_text_tokens = self
            .output_text_tokens
            .saturating_add(other.output_text_tokens);
        self.output_audio_tokens = self
            .output_audio_tokens
            .saturating_add(other.output_audio_tokens);
    }
}

/// Counters and timings of one session (across reconnects).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionMetrics {
    /// Time from the start of the last connection attempt (token fetch) to live.
    pub connect_time: Option<Duration>,
    /// Time to first audio of the last turn.
    pub last_time_to_first_audio: Option<Duration>,
    /// Time to first audio of the last turns (oldest first, at most [`LATENCY_SAMPLES`]).
    pub time_to_first_audio: VecDeque<Duration>,
    /// Completed responses.
    pub turns: u64,
    /// Successful reconnects (recycles included).
    pub reconnects: u32,
    /// Interruptions (barge-in or `interrupt`).
    pub interruptions: u64,
    /// Tool calls handed out.
    pub tool_calls: u64,
    /// Playout underruns reported by the audio pipeline.
    pub underruns: u64,
    /// Bytes of client events written to the transport.
    pub bytes_sent: u64,
    /// Bytes of server events read from the transport.
    pub bytes_received: u64,
    /// Milliseconds of microphone audio sent.
    pub audio_ms_sent: u64,
    /// Milliseconds of assistant audio received.
    pub audio_ms_received: u64,
    /// Token usage summed over responses.
    pub usage: Usage,
}

impl SessionMetrics {
    /// Records one turn's time to first audio.
    pub fn record_first_audio(&mut self, latency: Duration) {
        self.last_time_to_first_audio = Some(latency);
        if self.time_to_first_audio.len() == LATENCY_SAMPLES {
            self.time_to_first_audio.pop_front();
        }
        self.time_to_first_audio.push_back(latency);
    }

    /// The median time to first audio over the kept turns.
    pub fn median_time_to_first_audio(&self) -> Option<Duration> {
        let mut v: Vec<Duration> = self.time_to_first_audio.iter().copied().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        v.get(v.len() / 2).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_history_is_bounded() {
        let mut m = SessionMetrics::default();
        for i in 0..(LATENCY_SAMPLES as u64 + 10) {
            m.record_first_audio(Duration::from_millis(i));
        }
        assert_eq!(m.time_to_first_audio.len(), LATENCY_SAMPLES);
        assert_eq!(
            m.last_time_to_first_audio,
            Some(Duration::from_millis(LATENCY_SAMPLES as u64 + 9))
        );
        assert_eq!(
            m.time_to_first_audio.front(),
            Some(&Duration::from_millis(10))
        );
    }

    #[test]
    fn median_of_recorded_latencies() {
        let mut m = SessionMetrics::default();
        assert_eq!(m.median_time_to_first_audio(), None);
        for ms in [300, 100, 200] {
            m.record_first_audio(Duration::from_millis(ms));
        }
        assert_eq!(
            m.median_time_to_first_audio(),
            Some(Duration::from_millis(200))
        );
    }

    #[test]
    fn usage_saturates_at_the_maximum() {
        let huge = Usage {
            total_tokens: u64::MAX,
            input_tokens: u64::MAX - 1,
            output_tokens: u64::MAX,
            input_text_tokens: u64::MAX,
            input_audio_tokens: u64::MAX,
            cached_tokens: u64::MAX,
            output_text_tokens: u64::MAX,
            output_audio_tokens: u64::MAX,
        };
        let mut u = Usage {
            input_tokens: 5,
            ..Usage::default()
        };
        u.accumulate(&huge);
        u.accumulate(&huge);
        assert_eq!(u, huge_all_max());
    }

    fn huge_all_max() -> Usage {
        Usage {
            total_tokens: u64::MAX,
            input_tokens: u64::MAX,
            output_tokens: u64::MAX,
            input_text_tokens: u64::MAX,
            input_audio_tokens: u64::MAX,
            cached_tokens: u64::MAX,
            output_text_tokens: u64::MAX,
            output_audio_tokens: u64::MAX,
        }
    }

    #[test]
    fn usage_accumulates() {
        let mut u = Usage::default();
        u.accumulate(&Usage {
            total_tokens: 10,
            input_tokens: 4,
            output_tokens: 6,
            ..Usage::default()
        });
        u.accumulate(&Usage {
            total_tokens: 5,
            input_tokens: 2,
            output_tokens: 3,
            ..Usage::default()
        });
        assert_eq!(
            (u.total_tokens, u.input_tokens, u.output_tokens),
            (15, 6, 9)
        );
    }
}
