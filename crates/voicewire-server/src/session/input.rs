//! The input audio buffer: what the client appended and has not been committed yet.
//!
//! Positions are session sample positions (all audio ever appended), so VAD events and
//! commits can name exact ranges. The buffer never holds more than its cap; when a client
//! appends without ever committing, the oldest audio goes first.

use std::collections::VecDeque;

/// Uncommitted input audio (PCM16, 24 kHz, mono).
#[derive(Debug)]
pub(crate) struct InputAudioBuffer {
    samples: VecDeque<i16>,
    /// Session position of `samples[0]`.
    start: u64,
    cap: usize,
}

impl InputAudioBuffer {
    pub(crate) fn new(cap_samples: usize) -> Self {
        Self {
            samples: VecDeque::new(),
            start: 0,
            cap: cap_samples.max(1),
        }
    }

    /// Session position just past the newest sample.
    pub(crate) fn end(&self) -> u64 {
        self.start + self.samples.len() as u64
    }

    /// Samples currently buffered.
    pub(crate) fn len(&self) -> usize {
        self.samples.len()
    }

    pub(crate) fn append(&mut self, audio: &[i16]) {
        self.samples.extend(audio.iter().copied());
        let excess = self.samples.len().saturating_sub(self.cap);
        if excess > 0 {
            self.samples.drain(..excess);
            self.start += excess as u64;
        }
    }

    /// Removes and returns everything buffered.
    pub(crate) fn take_all(&mut self) -> Vec<i16> {
        let out: Vec<i16> = self.samples.drain(..).collect();
        self.start += out.len() as u64;
        out
    }

    /// Removes audio up to session position `end` and returns the part from `from` on
    /// (both clamped to what is buffered). Audio after `end` stays for the next turn.
    pub(crate) fn take_range(&mut self, from: u64, end: u64) -> Vec<i16> {
        let end = end.clamp(self.start, self.end());
        let from = from.clamp(self.start, end);
        let drop_count = (end - self.start) as usize;
        let keep_from = (from - self.start) as usize;
        let out: Vec<i16> = self.samples.drain(..drop_count).skip(keep_from).collect();
        self.start = end;
        out
    }

    /// Drops everything buffered (positions keep counting).
    pub(crate) fn clear(&mut self) {
        self.start = self.end();
        self.samples.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_survive_take_and_clear() {
        let mut buf = InputAudioBuffer::new(1_000);
        buf.append(&[1, 2, 3, 4, 5]);
        assert_eq!(buf.take_range(1, 3), vec![2, 3]);
        assert_eq!(buf.end(), 5);
        assert_eq!(buf.take_all(), vec![4, 5]);
        buf.append(&[6, 7]);
        buf.clear();
        assert_eq!(buf.len(), 0);
        assert_eq!(buf.end(), 7);
        buf.append(&[8]);
        assert_eq!(buf.take_range(0, 100), vec![8]);
    }

    #[test]
    fn cap_drops_oldest() {
        let mut buf = InputAudioBuffer::new(3);
        buf.append(&[1, 2, 3, 4, 5]);
        assert_eq!(buf.len(), 3);
        assert_eq!(buf.take_all(), vec![3, 4, 5]);
        assert_eq!(buf.end(), 5);
    }
}
