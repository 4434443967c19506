//! Ring wiring for platform callbacks: handing the pipeline's real-time ends to an OS audio
//! callback, adapting channel counts, and getting the ends back when the OS stream closes.
//!
//! Platform streams are torn down and rebuilt under us: an interruption suspends them, a
//! disconnected headset kills an AAudio stream, media services reset on iOS. The
//! [`CaptureSink`]/[`PlayoutSource`] must survive that without locks on the audio thread. So
//! the ends live in a [`CallbackSlot`] while no stream runs; opening a stream *leases* them
//! ([`CallbackSlot::lease`]) into the callback closure, which then owns them outright (no
//! lock, no atomics beyond the rings' own); when the platform drops the closure (stream
//! closed, unit disposed), the [`CallbackLease`] puts them back into the slot. A slot is only
//! locked on control threads (open, close, drop), never in a callback.
//!
//! The halves ([`CaptureHalf`], [`PlaybackHalf`]) adapt whatever channel count the stream
//! really has to the mono pipeline, through a fixed scratch buffer allocated at lease time.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::capture::CaptureSink;
use crate::convert::{Sample, expand_mono, mix_to_mono};
use crate::device::DeviceIo;
use crate::levels::{AudioLevels, LevelMeter, LevelReader};
use crate::playout::PlayoutSource;

/// Frames converted per step through the scratch buffer (callbacks bigger than this are
/// processed in several steps; no allocation either way).
pub const SCRATCH_FRAMES: usize = 1024;

/// Where a real-time end waits while no callback owns it.
#[derive(Debug)]
pub struct CallbackSlot<T> {
    inner: Arc<Mutex<Option<T>>>,
}

impl<T> Clone for CallbackSlot<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> Default for CallbackSlot<T> {
    fn default() -> Self {
        Self {
            inner: Arc::new(Mutex::new(None)),
        }
    }
}

impl<T> CallbackSlot<T> {
    /// A slot holding `value`.
    pub fn new(value: T) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Some(value))),
        }
    }

    /// Puts a value in (replacing and returning any value already there). Control threads only.
    pub fn put(&self, value: T) -> Option<T> {
        self.lock().replace(value)
    }

    /// Takes the value out for good (the device is stopping). Control threads only.
    pub fn take(&self) -> Option<T> {
        self.lock().take()
    }

    /// True when the value is home (no callback holds it).
    pub fn is_home(&self) -> bool {
        self.lock().is_some()
    }

    /// Moves the value into a lease for a callback, or `None` when it is already leased or
    /// was taken. Control threads only.
    pub fn lease(&self) -> Option<CallbackLease<T>> {
        let value = self.lock().take()?;
        Some(CallbackLease {
            value: Some(value),
            home: self.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<T>> {
        // Poisoning only means a control thread panicked mid-put; the Option is still valid.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A value owned by a callback closure; goes back to its slot when dropped.
#[derive(Debug)]
pub struct CallbackLease<T> {
    value: Option<T>,
    home: CallbackSlot<T>,
}

impl<T> Deref for CallbackLease<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // `value` is only None inside `drop`.
        match &self.value {
            Some(v) => v,
            None => unreachable_lease(),
        }
    }
}

impl<T> DerefMut for CallbackLease<T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.value {
            Some(v) => v,
            None => unreachable_lease(),
        }
    }
}

#[cold]
fn unreachable_lease() -> ! {
    unreachable!("a CallbackLease is only empty while it is being dropped")
}

impl<T> Drop for CallbackLease<T> {
    fn drop(&mut self) {
        if let Some(v) = self.value.take() {
            self.home.put(v);
        }
    }
}

/// Callback counters, readable from any thread.
#[derive(Debug, Default)]
pub struct CallbackStats {
    /// Capture callbacks run.
    pub capture_callbacks: AtomicU64,
    /// Frames received from the microphone.
    pub capture_frames: AtomicU64,
    /// Playback callbacks run.
    pub playback_callbacks: AtomicU64,
    /// Frames handed to the speaker (audio and silence).
    pub playback_frames: AtomicU64,
}

/// The capture side of a platform callback: stream-format frames in, pipeline out.
#[derive(Debug)]
pub struct CaptureHalf {
    sink: CaptureSink,
    scratch: Box<[f32]>,
    stats: Arc<CallbackStats>,
    meter: LevelMeter,
}

impl CaptureHalf {
    /// Wraps the pipeline's capture end. Allocates the scratch buffer (call off the audio
    /// thread). The returned reader shows the microphone level as the stream delivers it
    /// (the route control's meter; the pipeline meters separately for session events).
    pub fn new(sink: CaptureSink, stats: Arc<CallbackStats>) -> (Self, LevelReader) {
        let (meter, reader) = LevelMeter::new(sink.format().sample_rate);
        let half = Self {
            sink,
            scratch: vec![0.0; SCRATCH_FRAMES].into_boxed_slice(),
            stats,
            meter,
        };
        (half, reader)
    }

    /// Takes interleaved frames with `channels` channels (whatever the stream delivers) and
    /// pushes them into the pipeline. Returns frames accepted. Never allocates, locks or
    /// blocks.
    pub fn on_input<S: Sample>(&mut self, interleaved: &[S], channels: u16) -> usize {
        let channels = channels.max(1);
        let step = usize::from(channels);
        let frames = interleaved.len() / step;
        self.stats.capture_callbacks.fetch_add(1, Ordering::Relaxed);
        self.stats
            .capture_frames
            .fetch_add(frames as u64, Ordering::Relaxed);
        self.meter
            .process_interleaved(&interleaved[..frames * step], channels);
        if channels == self.sink.format().channels {
            return self.sink.push(&interleaved[..frames * step]);
        }
        // The pipeline sink is mono (negotiated) or has another layout: mix to mono first,
        // then expand to the sink's layout only if it is not mono.
        let mut accepted = 0;
        for block in interleaved[..frames * step].chunks(SCRATCH_FRAMES * step) {
            let n = mix_to_mono(block, channels, &mut self.scratch);
            accepted += if self.sink.format().channels == 1 {
                self.sink.push(&self.scratch[..n])
            } else {
                // Rare (a stereo sink): push frame by frame through a small stack buffer.
                let sink_channels = usize::from(self.sink.format().channels);
                let mut frame = [0.0f32; crate::format::MAX_CHANNELS as usize];
                let mut pushed = 0;
                for &m in &self.scratch[..n] {
                    frame[..sink_channels].iter_mut().for_each(|s| *s = m);
                    pushed += self.sink.push(&frame[..sink_channels]);
                }
                pushed
            };
        }
        accepted
    }

    /// The pipeline end, back (when the device stops).
    pub fn into_sink(self) -> CaptureSink {
        self.sink
    }
}

/// The playback side of a platform callback: pipeline in, stream-format frames out.
#[derive(Debug)]
pub struct PlaybackHalf {
    source: PlayoutSource,
    scratch: Box<[f32]>,
    stats: Arc<CallbackStats>,
    meter: LevelMeter,
}

impl PlaybackHalf {
    /// Wraps the pipeline's playout end. Allocates the scratch buffer (call off the audio
    /// thread). The returned reader shows the level of what the speaker is given.
    pub fn new(source: PlayoutSource, stats: Arc<CallbackStats>) -> (Self, LevelReader) {
        let (meter, reader) = LevelMeter::new(source.format().sample_rate);
        let half = Self {
            source,
            scratch: vec![0.0; SCRATCH_FRAMES * usize::from(crate::format::MAX_CHANNELS)]
                .into_boxed_slice(),
            stats,
            meter,
        };
        (half, reader)
    }

    /// Fills `out` (interleaved, `channels` channels) with queued audio or silence. Returns
    /// frames of real audio. Never allocates, locks or blocks.
    pub fn on_output<S: Sample>(&mut self, out: &mut [S], channels: u16) -> usize {
        let real = self.fill(out, channels);
        let step = usize::from(channels.max(1));
        let frames = out.len() / step;
        self.meter
            .process_interleaved(&out[..frames * step], channels.max(1));
        real
    }

    fn fill<S: Sample>(&mut self, out: &mut [S], channels: u16) -> usize {
        let channels = channels.max(1);
        let step = usize::from(channels);
        let frames = out.len() / step;
        self.stats
            .playback_callbacks
            .fetch_add(1, Ordering::Relaxed);
        self.stats
            .playback_frames
            .fetch_add(frames as u64, Ordering::Relaxed);
        // Trailing samples that do not form a frame get silence.
        for s in &mut out[frames * step..] {
            *s = S::SILENCE;
        }
        let source_channels = self.source.format().channels;
        if channels == source_channels {
            return self.source.pull(&mut out[..frames * step]);
        }
        let src_step = usize::from(source_channels);
        let mut real = 0;
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(SCRATCH_FRAMES);
            let scratch = &mut self.scratch[..n * src_step];
            real += self.source.pull(scratch);
            let mono: &[f32] = if src_step == 1 {
                scratch
            } else {
                // Mix the source layout down to mono in place (frame i's mono value lands at
                // index i, which is never ahead of the frame being read).
                for i in 0..n {
                    let frame = &scratch[i * src_step..(i + 1) * src_step];
                    let m = frame.iter().sum::<f32>() / src_step as f32;
                    scratch[i] = m;
                }
                &scratch[..n]
            };
            expand_mono(mono, channels, &mut out[done * step..(done + n) * step]);
            done += n;
        }
        real
    }

    /// The pipeline end, back (when the device stops).
    pub fn into_source(self) -> PlayoutSource {
        self.source
    }
}

/// Both halves' slots for one device, built from the pipeline's [`DeviceIo`].
#[derive(Debug, Default, Clone)]
pub struct RealtimeSlots {
    /// The capture half, while no capture callback holds it (`None` inside when the pipeline
    /// has no capture direction).
    pub capture: CallbackSlot<CaptureHalf>,
    /// The playback half, likewise.
    pub playback: CallbackSlot<PlaybackHalf>,
    /// Counters shared with the halves.
    pub stats: Arc<CallbackStats>,
    /// The halves' level meters.
    pub levels: LevelTaps,
}

/// Readers of the level meters in a device's callback halves: the microphone as captured and
/// the speaker as fed, both at the stream's own rate, before any resampling.
#[derive(Debug, Clone, Default)]
pub struct LevelTaps {
    /// The capture half's meter (absent when the pipeline does not capture).
    pub input: Option<LevelReader>,
    /// The playback half's meter (absent when the pipeline does not play).
    pub output: Option<LevelReader>,
}

impl LevelTaps {
    /// The latest levels; a missing direction reads as silence.
    pub fn read(&self) -> AudioLevels {
        AudioLevels {
            input: self
                .input
                .as_ref()
                .map(LevelReader::read)
                .unwrap_or_default(),
            output: self
                .output
                .as_ref()
                .map(LevelReader::read)
                .unwrap_or_default(),
        }
    }
}

impl RealtimeSlots {
    /// Wraps the pipeline's ends (allocates the scratch buffers).
    pub fn from_io(io: DeviceIo) -> Self {
        let stats = Arc::new(CallbackStats::default());
        let capture = CallbackSlot::default();
        let playback = CallbackSlot::default();
        let mut levels = LevelTaps::default();
        if let Some(sink) = io.capture {
            let (half, reader) = CaptureHalf::new(sink, Arc::clone(&stats));
            capture.put(half);
            levels.input = Some(reader);
        }
        if let Some(source) = io.playout {
            let (half, reader) = PlaybackHalf::new(source, Arc::clone(&stats));
            playback.put(half);
            levels.output = Some(reader);
        }
        Self {
            capture,
            playback,
            stats,
            levels,
        }
    }

    /// Empties both slots (device stopped for good), dropping the pipeline ends.
    pub fn clear(&self) {
        self.capture.take();
        self.playback.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AudioFormat, AudioPipeline, PipelineConfig};

    fn pipeline(device: AudioFormat) -> (AudioPipeline, RealtimeSlots) {
        let (p, io) = AudioPipeline::new(
            PipelineConfig::with_wire(AudioFormat::mono(device.sample_rate)),
            Some(device),
            Some(device),
        )
        .unwrap();
        (p, RealtimeSlots::from_io(io))
    }

    /// A stand-in for an OS stream: owns callbacks that own leases, like AAudio/CoreAudio do.
    type CaptureCallback = Box<dyn FnMut(&[f32]) + Send>;
    type PlaybackCallback = Box<dyn FnMut(&mut [f32]) + Send>;
    struct FakeStream {
        capture: CaptureCallback,
        playback: PlaybackCallback,
    }

    fn open(slots: &RealtimeSlots, channels: u16) -> FakeStream {
        let mut cap = slots.capture.lease().expect("capture home");
        let mut play = slots.playback.lease().expect("playback home");
        FakeStream {
            capture: Box::new(move |data| {
                cap.on_input(data, channels);
            }),
            playback: Box::new(move |out| {
                play.on_output(out, channels);
            }),
        }
    }

    #[test]
    fn ends_survive_a_stream_reopen_and_keep_counting() {
        let format = AudioFormat::mono(24_000);
        let (mut p, slots) = pipeline(format);
        let mut stream = open(&slots, 1);
        assert!(!slots.capture.is_home(), "leased to the stream");
        assert!(slots.capture.lease().is_none(), "cannot lease twice");
        (stream.capture)(&[0.5; 240]);
        drop(stream); // The OS closed the stream (disconnect).
        assert!(slots.capture.is_home() && slots.playback.is_home());

        let mut stream = open(&slots, 2); // Reopened on a stereo route.
        (stream.capture)(&[0.25; 480]);
        let mut got = Vec::new();
        p.read_capture_f32(&mut got).unwrap();
        assert_eq!(got.len(), 480, "both streams' audio arrived");
        assert!((got[0] - 0.5).abs() < 1e-6 && (got[479] - 0.25).abs() < 1e-6);

        p.play("item", &vec![8_192i16; 240]).unwrap();
        let mut out = vec![9.0f32; 2 * 300];
        (stream.playback)(&mut out);
        assert!(out[..480].iter().all(|&s| (s - 0.25).abs() < 1e-6));
        assert!(
            out[480..].iter().all(|&s| s == 0.0),
            "silence after the item"
        );
        assert_eq!(slots.stats.capture_callbacks.load(Ordering::Relaxed), 2);
        assert_eq!(slots.stats.playback_frames.load(Ordering::Relaxed), 300);
        drop(stream);
        slots.clear();
        assert!(!slots.capture.is_home());
    }

    #[test]
    fn halves_meter_what_the_stream_delivers_and_plays() {
        let format = AudioFormat::mono(48_000);
        let (mut p, slots) = pipeline(format);
        let quiet = slots.levels.read();
        assert_eq!((quiet.input.blocks, quiet.output.blocks), (0, 0));
        let mut stream = open(&slots, 2);
        // 100 ms of a loud stereo microphone, then 100 ms of speaker output of which the
        // first half is audio and the rest silence.
        (stream.capture)(&vec![0.5f32; 2 * 4_800]);
        p.play("item", &vec![16_384i16; 2_400]).unwrap();
        let mut out = vec![0.0f32; 2 * 4_800];
        (stream.playback)(&mut out);
        let levels = slots.levels.read();
        assert_eq!(levels.input.blocks, 10, "ten 10 ms blocks measured");
        assert!(levels.input.rms > 0.8, "input rms {}", levels.input.rms);
        assert!((levels.input.rms_dbfs + 6.02).abs() < 0.1);
        assert_eq!(levels.output.blocks, 10);
        assert!(
            levels.output.peak > 0.7,
            "the played half shows in the peak hold: {levels:?}"
        );
        assert!(
            levels.output.rms_dbfs < -100.0,
            "the last block played was silence"
        );
    }

    #[test]
    fn big_callbacks_are_processed_in_steps() {
        let format = AudioFormat::mono(48_000);
        let (mut p, slots) = pipeline(format);
        let mut stream = open(&slots, 2);
        let frames = SCRATCH_FRAMES * 3 + 17;
        let input: Vec<f32> = (0..frames).flat_map(|i| [i as f32 / 1e5, 0.0]).collect();
        (stream.capture)(&input);
        let mut got = Vec::new();
        p.read_capture_f32(&mut got).unwrap();
        assert_eq!(got.len(), frames);
        assert!((got[frames - 1] - (frames - 1) as f32 / 2e5).abs() < 1e-6);

        p.play("a", &vec![16_384i16; frames]).unwrap();
        let mut out = vec![0.0f32; frames * 2 + 1];
        (stream.playback)(&mut out);
        assert!(out[..frames * 2].iter().all(|&s| (s - 0.5).abs() < 1e-6));
        assert_eq!(out[frames * 2], 0.0, "the ragged tail is silence");
    }

    /// Frequency from rising zero crossings, and RMS, of a mono signal at `rate`.
    fn frequency_and_rms(signal: &[f32], rate: u32) -> (f32, f32) {
        let rising = signal
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        let seconds = signal.len() as f32 / rate as f32;
        let rms = (signal.iter().map(|s| s * s).sum::<f32>() / signal.len() as f32).sqrt();
        (rising as f32 / seconds, rms)
    }

    #[test]
    fn a_sine_survives_stereo_streams_a_reopen_and_resampling_both_ways() {
        // Device side 48 kHz (stereo stream, mono pipeline end), wire side 24 kHz.
        let device = AudioFormat::mono(48_000);
        let (mut p, io) = AudioPipeline::new(
            PipelineConfig::with_wire(AudioFormat::WIRE_PCM16_24K),
            Some(device),
            Some(device),
        )
        .unwrap();
        let slots = RealtimeSlots::from_io(io);
        let sine = |i: usize, rate: f32| {
            0.5 * (2.0 * std::f32::consts::PI * 1_000.0 * i as f32 / rate).sin()
        };

        // Capture: 1 s of a 1 kHz sine in 10 ms stereo callbacks, the stream reopened halfway.
        let mut frame = 0usize;
        for half in 0..2 {
            let mut stream = open(&slots, 2);
            for _ in 0..50 {
                let block: Vec<f32> = (frame..frame + 480)
                    .flat_map(|i| [sine(i, 48_000.0); 2])
                    .collect();
                (stream.capture)(&block);
                frame += 480;
            }
            drop(stream);
            assert!(slots.capture.is_home(), "home after stream {half}");
        }
        let mut wire = Vec::new();
        p.read_capture_f32(&mut wire).unwrap();
        // Nothing lost across the reopen (the resampler holds back less than 10 ms).
        assert!(
            wire.len() > 23_700 && wire.len() <= 24_000,
            "{} wire samples",
            wire.len()
        );
        let settled = &wire[wire.len() / 10..];
        let (hz, rms) = frequency_and_rms(settled, 24_000);
        assert!((hz - 1_000.0).abs() < 15.0, "captured {hz} Hz");
        assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.02, "captured rms {rms}");

        // Playback: a 24 kHz wire item comes out of a stereo 48 kHz stream at 1 kHz.
        let item: Vec<i16> = (0..24_000)
            .map(|i| (sine(i, 24_000.0) * 32_767.0) as i16)
            .collect();
        p.play("assistant", &item).unwrap();
        let mut stream = open(&slots, 2);
        let mut left = Vec::new();
        for _ in 0..90 {
            let mut out = vec![0.0f32; 960];
            (stream.playback)(&mut out);
            assert!(
                out.chunks(2).all(|f| f[0] == f[1]),
                "both channels carry the voice"
            );
            left.extend(out.iter().step_by(2));
            p.pump();
        }
        let (hz, rms) = frequency_and_rms(&left[4_800..], 48_000);
        assert!((hz - 1_000.0).abs() < 15.0, "played {hz} Hz");
        assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.02, "played rms {rms}");
    }

    #[test]
    fn a_lease_dropped_on_another_thread_comes_home() {
        let (_p, slots) = pipeline(AudioFormat::mono(16_000));
        let stream = open(&slots, 1);
        std::thread::spawn(move || drop(stream)).join().unwrap();
        assert!(slots.capture.is_home() && slots.playback.is_home());
    }
}
