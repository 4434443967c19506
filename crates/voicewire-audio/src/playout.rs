//! The playout buffer: bursty network audio in, device-paced audio out, with exact per-item
//! accounting of what was actually handed to the device.
//!
//! # Shape
//! [`PlayoutBuffer`] (async side) resamples wire audio to the device rate and queues it;
//! [`PlayoutSource`] (device callback side) pulls it. Between them sits a lock-free SPSC ring
//! ([`rtrb`]) of device-rate mono samples, sized by [`PlayoutConfig::ring_ms`]; audio beyond
//! what the ring holds waits in an async-side backlog and moves into the ring on every call
//! into the buffer (call [`PlayoutBuffer::pump`] at least every `ring_ms / 2` while audio is
//! queued; the engine's level tick does it). The total queued audio is capped by
//! [`PlayoutConfig::max_buffered_ms`]; audio beyond the cap is refused with
//! [`AudioError::PlayoutOverflow`] (the part that fitted stays queued) — the network side
//! decides what to do, nothing is silently dropped.
//!
//! # Accounting
//! The callback publishes one number: device frames of real audio handed to the device
//! (`played`). Items occupy consecutive ranges of that "played stream", so the async side
//! alone maps `played` to "how much of item X was heard" — no strings, maps or allocation in
//! the callback. Device frames convert back to wire samples exactly because the resampler's
//! delay is compensated (see [`crate::resample`]): played wire samples =
//! `min(received, floor(device_frames * wire_rate / device_rate))`, and a finished item maps
//! back to exactly its received sample count. Milliseconds are `wire_samples * 1000 /
//! wire_rate`, rounded down.
//!
//! # Flush
//! [`PlayoutBuffer::flush`] is instant: it tells the callback to discard everything written
//! so far (an atomic ring position), waits only while a callback is *currently* running (a
//! few microseconds; Dekker-style handshake on `busy`), then reads `played`. No frame written
//! before the flush is played after it, so the reported `played_ms` is exact.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::convert::{Sample, expand_mono, i16_to_f32};
use crate::error::AudioError;
use crate::format::AudioFormat;
use crate::levels::{LevelMeter, LevelReader};
use crate::resample::StreamResampler;

/// Sentinel for `clean_end` while a flush is in progress: running dry is expected.
const FLUSHING: u64 = u64::MAX;

/// Sizes and caps of the playout buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayoutConfig {
    /// Capacity of the lock-free ring between the async side and the device callback, in ms
    /// of device audio. Default 2000 ms (192 KB at 48 kHz).
    pub ring_ms: u32,
    /// Cap on all queued audio (ring + backlog), in ms. Default 300 000 ms (5 minutes; 57 MB
    /// worst case at 48 kHz, only allocated when a burst actually queues that much).
    pub max_buffered_ms: u32,
    /// Finished, fully played items remembered for [`PlayoutBuffer::played_ms`] queries.
    /// Default 64.
    pub item_history: usize,
}

impl Default for PlayoutConfig {
    fn default() -> Self {
        Self {
            ring_ms: 2_000,
            max_buffered_ms: 300_000,
            item_history: 64,
        }
    }
}

/// Whether assistant audio is audible right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybackState {
    /// Nothing queued; the device plays silence.
    Idle,
    /// Audio of this item is queued and being handed to the device.
    Playing {
        /// The assistant item being played.
        item_id: String,
    },
    /// This item is still open (not finished) but its queued audio ran out: the device plays
    /// silence until more arrives.
    Starved {
        /// The item waiting for audio.
        item_id: String,
    },
}

impl PlaybackState {
    /// True when item audio is being handed to the device.
    pub fn is_playing(&self) -> bool {
        matches!(self, Self::Playing { .. })
    }

    /// The item involved, if any.
    pub fn item_id(&self) -> Option<&str> {
        match self {
            Self::Idle => None,
            Self::Playing { item_id } | Self::Starved { item_id } => Some(item_id),
        }
    }
}

/// How much of one item was played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPlayout {
    /// The assistant item.
    pub item_id: String,
    /// Milliseconds handed to the device, at the wire rate, rounded down (`audio_end_ms`).
    pub played_ms: u64,
    /// Wire-rate samples handed to the device.
    pub played_wire_samples: u64,
    /// Wire-rate samples received for the item (accepted into the buffer).
    pub received_wire_samples: u64,
    /// Milliseconds received, rounded down.
    pub received_ms: u64,
    /// The item was ended by [`PlayoutBuffer::finish_item`] or cut by a flush.
    pub finished: bool,
    /// A flush cut the item before all of it was played.
    pub truncated: bool,
}

/// What a flush stopped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlushReport {
    /// The item that was cut (the first item with unplayed audio), if any was.
    pub item_id: Option<String>,
    /// Milliseconds of that item handed to the device before the flush (0 when none was cut).
    pub played_ms: u64,
    /// Milliseconds of queued audio thrown away (device audio, all items).
    pub discarded_ms: u64,
    /// Every item the flush cut, in play order.
    pub items: Vec<ItemPlayout>,
}

/// Counters shared between the callback (writer) and the async side (reader).
#[derive(Debug, Default)]
struct PlayoutShared {
    /// Device frames of queued audio handed to the device (silence fill not counted).
    played_frames: AtomicU64,
    /// Ring samples consumed by the callback (played or discarded).
    read_pos: AtomicU64,
    /// The callback discards ring samples below this position.
    discard_until: AtomicU64,
    /// Played-stream position where running dry is expected (not an underrun).
    clean_end: AtomicU64,
    /// A callback is between its `discard_until` read and its `played_frames` publish.
    busy: AtomicBool,
    /// Dry episodes that started before the item's audio was complete.
    underruns: AtomicU64,
    /// Device frames of silence handed out because the ring was empty.
    silence_frames: AtomicU64,
}

#[derive(Debug, Clone)]
struct ItemSpan {
    item_id: String,
    /// Played-stream position of the span's first device frame.
    start: u64,
    /// Device frames queued for the span (cut to the played amount by a flush).
    frames: u64,
    /// Wire samples accepted for the span.
    wire_samples: u64,
    finished: bool,
    truncated: bool,
}

impl ItemSpan {
    fn end(&self) -> u64 {
        self.start + self.frames
    }
}

/// Callback side of the playout buffer: hand it the device's output buffer.
///
/// [`PlayoutSource::pull`] never allocates, locks or blocks. Move it into the device's audio
/// callback (it is `Send`).
#[derive(Debug)]
pub struct PlayoutSource {
    consumer: rtrb::Consumer<f32>,
    shared: Arc<PlayoutShared>,
    meter: LevelMeter,
    format: AudioFormat,
    read_pos: u64,
    played: u64,
    dry: bool,
    /// Copy of everything handed to the device (mono, device rate), for an echo canceller.
    reference: Option<rtrb::Producer<f32>>,
}

/// Zeros pushed into the echo reference for silence fill, without a buffer per call.
const REFERENCE_SILENCE: [f32; 256] = [0.0; 256];

impl PlayoutSource {
    /// The device format this source fills (interleaved, `channels` per frame).
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Fills `out` (interleaved device-format frames) with queued audio, padding with silence
    /// when the queue runs dry. Returns the number of frames of real audio written.
    pub fn pull<S: Sample>(&mut self, out: &mut [S]) -> usize {
        let channels = usize::from(self.format.channels);
        let wanted = out.len() / channels;
        let shared = &*self.shared;
        shared.busy.store(true, Ordering::SeqCst);
        let discard_until = shared.discard_until.load(Ordering::SeqCst);
        if self.read_pos < discard_until {
            let n = ((discard_until - self.read_pos) as usize).min(self.consumer.slots());
            if let Ok(chunk) = self.consumer.read_chunk(n) {
                chunk.commit_all();
                self.read_pos += n as u64;
            }
        }
        let available = self.consumer.slots().min(wanted);
        let mut written = 0;
        if let Ok(chunk) = self.consumer.read_chunk(available) {
            let (first, second) = chunk.as_slices();
            for part in [first, second] {
                let start = written * channels;
                expand_mono(
                    part,
                    self.format.channels,
                    &mut out[start..start + part.len() * channels],
                );
                self.meter.process_mono(part);
                if let Some(reference) = self.reference.as_mut() {
                    // A full reference ring (capture not being read) drops the copy, never blocks.
                    let _ = reference.push_partial_slice(part);
                }
                written += part.len();
            }
            chunk.commit_all();
        }
        for s in &mut out[written * channels..] {
            *s = S::SILENCE;
        }
        self.meter.process_silence(wanted - written);
        if let Some(reference) = self.reference.as_mut() {
            let mut silent = wanted - written;
            while silent > 0 {
                let n = silent.min(REFERENCE_SILENCE.len());
                let (pushed, _) = reference.push_partial_slice(&REFERENCE_SILENCE[..n]);
                if pushed.len() < n {
                    break;
                }
                silent -= n;
            }
        }
        self.read_pos += written as u64;
        self.played += written as u64;
        shared.read_pos.store(self.read_pos, Ordering::Release);
        shared.played_frames.store(self.played, Ordering::SeqCst);
        if written > 0 {
            self.dry = false;
        }
        if written < wanted {
            shared
                .silence_frames
                .fetch_add((wanted - written) as u64, Ordering::Relaxed);
            if !self.dry {
                self.dry = true;
                let clean_end = shared.clean_end.load(Ordering::Acquire);
                if clean_end != FLUSHING && clean_end != self.played {
                    shared.underruns.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        shared.busy.store(false, Ordering::SeqCst);
        written
    }
}

/// Async side of the playout buffer: queue wire audio per item, flush, ask what was played.
#[derive(Debug)]
pub struct PlayoutBuffer {
    producer: rtrb::Producer<f32>,
    shared: Arc<PlayoutShared>,
    output_levels: LevelReader,
    config: PlayoutConfig,
    wire: AudioFormat,
    device: AudioFormat,
    resampler: StreamResampler,
    input_scratch: Vec<f32>,
    resampled: Vec<f32>,
    backlog: VecDeque<f32>,
    /// Ring samples written.
    written: u64,
    /// Played-stream position just after everything queued so far.
    queued_end: u64,
    cap_frames: u64,
    spans: VecDeque<ItemSpan>,
}

impl PlayoutBuffer {
    /// A playout buffer taking `wire`-format audio (mono; 24 or 48 kHz) for a device playing
    /// `device`-format audio. Returns the async side and the callback side.
    pub fn new(
        wire: AudioFormat,
        device: AudioFormat,
        config: PlayoutConfig,
    ) -> Result<(Self, PlayoutSource), AudioError> {
        let (buffer, source, _) = Self::with_reference(wire, device, config, None)?;
        Ok((buffer, source))
    }

    /// Like [`Self::new`], and when `reference_ms` is set, the callback also copies what it
    /// hands to the device into a ring of that many ms (the echo canceller's far-end input).
    pub(crate) fn with_reference(
        wire: AudioFormat,
        device: AudioFormat,
        config: PlayoutConfig,
        reference_ms: Option<u32>,
    ) -> Result<(Self, PlayoutSource, Option<rtrb::Consumer<f32>>), AudioError> {
        wire.validate()?;
        device.validate()?;
        if wire.channels != 1 {
            return Err(AudioError::UnsupportedFormat(wire));
        }
        let ring_frames = device.frames_for_ms(config.ring_ms.max(20));
        let (producer, consumer) = rtrb::RingBuffer::new(ring_frames);
        let shared = Arc::new(PlayoutShared::default());
        let (meter, output_levels) = LevelMeter::new(device.sample_rate);
        let (reference, reference_reader) = match reference_ms {
            Some(ms) => {
                let (p, c) = rtrb::RingBuffer::new(device.frames_for_ms(ms.max(20)));
                (Some(p), Some(c))
            }
            None => (None, None),
        };
        let source = PlayoutSource {
            consumer,
            shared: Arc::clone(&shared),
            meter,
            format: device,
            read_pos: 0,
            played: 0,
            dry: true,
            reference,
        };
        let buffer = Self {
            producer,
            shared,
            output_levels,
            config,
            wire,
            device,
            resampler: StreamResampler::new(wire.sample_rate, device.sample_rate)?,
            input_scratch: Vec::new(),
            resampled: Vec::new(),
            backlog: VecDeque::new(),
            written: 0,
            queued_end: 0,
            cap_frames: device.frames_for_ms(config.max_buffered_ms) as u64,
            spans: VecDeque::new(),
        };
        Ok((buffer, source, reference_reader))
    }

    /// The wire format `play` expects.
    pub fn wire_format(&self) -> AudioFormat {
        self.wire
    }

    /// The device format the callback side fills.
    pub fn device_format(&self) -> AudioFormat {
        self.device
    }

    /// The filter delay of the wire→device resampler, in device frames. It is compensated;
    /// it only delays when an item's first audio becomes playable.
    pub fn resampler_delay_frames(&self) -> usize {
        self.resampler.delay_frames()
    }

    /// Reader for the output level meter (measured on what the device was handed).
    pub fn output_levels(&self) -> &LevelReader {
        &self.output_levels
    }

    /// Queues wire-format samples of `item_id`. Audio of a new item ends the previous item
    /// (as if [`Self::finish_item`] had been called). Returns the samples accepted; beyond
    /// the cap the rest is refused with [`AudioError::PlayoutOverflow`] (the accepted part
    /// stays queued and counted).
    pub fn play(&mut self, item_id: &str, samples: &[i16]) -> Result<usize, AudioError> {
        self.pump();
        let open_same = self
            .spans
            .back()
            .is_some_and(|s| s.item_id == item_id && !s.finished);
        if !open_same {
            self.close_open_span()?;
            self.spans.push_back(ItemSpan {
                item_id: item_id.to_owned(),
                start: self.queued_end,
                frames: 0,
                wire_samples: 0,
                finished: false,
                truncated: false,
            });
            self.prune_history();
        }
        let played = self.shared.played_frames.load(Ordering::Acquire);
        let buffered = self.queued_end.saturating_sub(played);
        let room_frames = self.cap_frames.saturating_sub(buffered);
        let room_wire =
            room_frames * u64::from(self.wire.sample_rate) / u64::from(self.device.sample_rate);
        let accepted = samples
            .len()
            .min(usize::try_from(room_wire).unwrap_or(usize::MAX));
        self.input_scratch.clear();
        self.input_scratch
            .extend(samples[..accepted].iter().map(|&s| i16_to_f32(s)));
        self.resampled.clear();
        self.resampler
            .process(&self.input_scratch, &mut self.resampled)?;
        let produced = self.resampled.len() as u64;
        self.enqueue_resampled();
        if let Some(span) = self.spans.back_mut() {
            span.frames += produced;
            span.wire_samples += accepted as u64;
        }
        self.queued_end += produced;
        self.pump();
        if accepted < samples.len() {
            tracing::warn!(
                item_id,
                accepted,
                offered = samples.len(),
                "playout buffer at cap"
            );
            return Err(AudioError::PlayoutOverflow {
                accepted,
                offered: samples.len(),
                cap_ms: self.config.max_buffered_ms,
            });
        }
        Ok(accepted)
    }

    /// Marks the end of `item_id`'s audio (the server's `output_audio.done`): releases the
    /// resampler's tail so every received sample becomes playable, and makes running dry
    /// afterwards a clean end rather than an underrun. Returns false when the item is not the
    /// open item (unknown, already finished, or flushed) — nothing to do then.
    pub fn finish_item(&mut self, item_id: &str) -> Result<bool, AudioError> {
        if self
            .spans
            .back()
            .is_some_and(|s| s.item_id == item_id && !s.finished)
        {
            self.close_open_span()?;
            self.pump();
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Moves backlog audio into the ring as space allows. Cheap when there is nothing to do.
    pub fn pump(&mut self) {
        while !self.backlog.is_empty() {
            let (front, _) = self.backlog.as_slices();
            let (pushed, _) = self.producer.push_partial_slice(front);
            let n = pushed.len();
            if n == 0 {
                break;
            }
            self.backlog.drain(..n);
            self.written += n as u64;
        }
    }

    /// Stops playback now: discards everything queued, and reports how much of the cut
    /// item(s) had been handed to the device. See the module docs for why this is exact.
    pub fn flush(&mut self) -> FlushReport {
        let shared = &*self.shared;
        shared.clean_end.store(FLUSHING, Ordering::SeqCst);
        shared.discard_until.store(self.written, Ordering::SeqCst);
        let started = Instant::now();
        while shared.busy.load(Ordering::SeqCst) {
            // A callback is mid-copy (microseconds). Bounded so a suspended callback thread
            // cannot hang the async side.
            if started.elapsed() > Duration::from_millis(50) {
                tracing::warn!("playout flush: device callback did not finish within 50 ms");
                break;
            }
            std::thread::yield_now();
        }
        let played = shared.played_frames.load(Ordering::SeqCst);
        let discarded_frames = self.queued_end.saturating_sub(played);
        self.backlog.clear();
        self.resampler.reset();
        let mut cut = Vec::new();
        for span in self.spans.iter_mut() {
            let was_open = !span.finished;
            if span.end() > played || was_open {
                let kept = played.saturating_sub(span.start).min(span.frames);
                let cut_now = kept < span.frames || was_open;
                span.frames = kept;
                span.finished = true;
                if cut_now {
                    span.truncated = true;
                    let id = span.item_id.clone();
                    cut.push(id);
                }
            }
        }
        self.queued_end = played;
        shared.clean_end.store(played, Ordering::SeqCst);
        let items: Vec<ItemPlayout> = dedup(cut)
            .iter()
            .filter_map(|id| self.item_playout(id))
            .collect();
        let report = FlushReport {
            item_id: items.first().map(|i| i.item_id.clone()),
            played_ms: items.first().map_or(0, |i| i.played_ms),
            discarded_ms: self.device.ms_for_frames(discarded_frames),
            items,
        };
        tracing::debug!(?report.item_id, report.played_ms, report.discarded_ms, "playout flushed");
        report
    }

    /// Milliseconds of `item_id` handed to the device so far (wire rate, rounded down), or
    /// `None` for an item this buffer never saw (or forgot; see
    /// [`PlayoutConfig::item_history`]).
    pub fn played_ms(&self, item_id: &str) -> Option<u64> {
        self.item_playout(item_id).map(|p| p.played_ms)
    }

    /// Full playout figures for `item_id` (all its spans summed).
    pub fn item_playout(&self, item_id: &str) -> Option<ItemPlayout> {
        let played = self.shared.played_frames.load(Ordering::Acquire);
        let mut found: Option<ItemPlayout> = None;
        for span in self.spans.iter().filter(|s| s.item_id == item_id) {
            let wire = self.played_wire_samples(span, played);
            let entry = found.get_or_insert_with(|| ItemPlayout {
                item_id: item_id.to_owned(),
                played_ms: 0,
                played_wire_samples: 0,
                received_wire_samples: 0,
                received_ms: 0,
                finished: true,
                truncated: false,
            });
            entry.played_wire_samples += wire;
            entry.received_wire_samples += span.wire_samples;
            entry.finished &= span.finished;
            entry.truncated |= span.truncated;
        }
        found.map(|mut p| {
            p.played_ms = self.wire.ms_for_frames(p.played_wire_samples);
            p.received_ms = self.wire.ms_for_frames(p.received_wire_samples);
            p
        })
    }

    /// Whether assistant audio is audible, and of which item.
    pub fn state(&self) -> PlaybackState {
        let played = self.shared.played_frames.load(Ordering::Acquire);
        if let Some(span) = self
            .spans
            .iter()
            .find(|s| s.start <= played && played < s.end())
        {
            return PlaybackState::Playing {
                item_id: span.item_id.clone(),
            };
        }
        match self.spans.back() {
            Some(span) if !span.finished => PlaybackState::Starved {
                item_id: span.item_id.clone(),
            },
            _ => PlaybackState::Idle,
        }
    }

    /// Dry episodes in the middle of an item (the network fell behind real time).
    pub fn underruns(&self) -> u64 {
        self.shared.underruns.load(Ordering::Relaxed)
    }

    /// Device frames of real audio handed to the device since creation.
    pub fn played_frames(&self) -> u64 {
        self.shared.played_frames.load(Ordering::Acquire)
    }

    /// Device frames of silence handed out because nothing was queued.
    pub fn silence_frames(&self) -> u64 {
        self.shared.silence_frames.load(Ordering::Relaxed)
    }

    /// Milliseconds of audio queued and not yet handed to the device (device rate).
    pub fn buffered_ms(&self) -> u64 {
        let played = self.shared.played_frames.load(Ordering::Acquire);
        self.device
            .ms_for_frames(self.queued_end.saturating_sub(played))
    }

    fn played_wire_samples(&self, span: &ItemSpan, played: u64) -> u64 {
        let device_frames = played.saturating_sub(span.start).min(span.frames);
        if span.finished && !span.truncated && device_frames == span.frames {
            return span.wire_samples;
        }
        let wire = u128::from(device_frames) * u128::from(self.wire.sample_rate)
            / u128::from(self.device.sample_rate);
        u64::try_from(wire)
            .unwrap_or(u64::MAX)
            .min(span.wire_samples)
    }

    fn close_open_span(&mut self) -> Result<(), AudioError> {
        let Some(span) = self.spans.back() else {
            return Ok(());
        };
        if span.finished {
            return Ok(());
        }
        self.resampled.clear();
        self.resampler.finish(&mut self.resampled)?;
        let produced = self.resampled.len() as u64;
        self.enqueue_resampled();
        self.queued_end += produced;
        if let Some(span) = self.spans.back_mut() {
            span.frames += produced;
            span.finished = true;
        }
        self.shared
            .clean_end
            .store(self.queued_end, Ordering::Release);
        Ok(())
    }

    fn enqueue_resampled(&mut self) {
        let mut rest: &[f32] = &self.resampled;
        if self.backlog.is_empty() {
            let (pushed, tail) = self.producer.push_partial_slice(rest);
            self.written += pushed.len() as u64;
            rest = tail;
        }
        self.backlog.extend(rest.iter().copied());
    }

    fn prune_history(&mut self) {
        let played = self.shared.played_frames.load(Ordering::Acquire);
        while self.spans.len() > self.config.item_history.max(1) {
            match self.spans.front() {
                Some(s) if s.finished && s.end() <= played => {
                    self.spans.pop_front();
                }
                _ => break,
            }
        }
    }
}

fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(device: AudioFormat) -> (PlayoutBuffer, PlayoutSource) {
        PlayoutBuffer::new(
            AudioFormat::WIRE_PCM16_24K,
            device,
            PlayoutConfig::default(),
        )
        .unwrap()
    }

    #[test]
    fn same_rate_accounting_is_sample_exact() {
        let (mut buf, mut src) = buffer(AudioFormat::mono(24_000));
        buf.play("a", &vec![1000; 2_400]).unwrap();
        assert_eq!(
            buf.state(),
            PlaybackState::Playing {
                item_id: "a".into()
            }
        );
        let mut out = vec![0i16; 1_000];
        assert_eq!(src.pull(&mut out), 1_000);
        assert_eq!(out[0], 1000);
        assert_eq!(buf.played_ms("a"), Some(41)); // 1000 samples = 41.67 ms
        let report = buf.flush();
        assert_eq!(report.item_id.as_deref(), Some("a"));
        assert_eq!(report.played_ms, 41);
        assert_eq!(report.items[0].played_wire_samples, 1_000);
        assert_eq!(src.pull(&mut out), 0, "flushed audio must not play");
        assert_eq!(buf.state(), PlaybackState::Idle);
        assert_eq!(buf.underruns(), 0);
    }

    #[test]
    fn resampled_item_maps_back_to_all_received_samples() {
        let (mut buf, mut src) = buffer(AudioFormat::new(48_000, 2));
        buf.play("a", &vec![500; 4_801]).unwrap();
        buf.finish_item("a").unwrap();
        let mut out = vec![0.0f32; 2 * 480];
        while src.pull(&mut out) > 0 {}
        let p = buf.item_playout("a").unwrap();
        assert_eq!(p.played_wire_samples, 4_801);
        assert_eq!(p.played_ms, 200);
        assert_eq!(buf.state(), PlaybackState::Idle);
        assert_eq!(buf.underruns(), 0);
    }

    #[test]
    fn running_dry_mid_item_is_an_underrun() {
        let (mut buf, mut src) = buffer(AudioFormat::mono(24_000));
        buf.play("a", &[7; 240]).unwrap();
        let mut out = vec![0i16; 480];
        assert_eq!(src.pull(&mut out), 240);
        assert_eq!(buf.underruns(), 1);
        assert_eq!(
            buf.state(),
            PlaybackState::Starved {
                item_id: "a".into()
            }
        );
        src.pull(&mut out);
        assert_eq!(buf.underruns(), 1, "one dry episode counts once");
    }
}
