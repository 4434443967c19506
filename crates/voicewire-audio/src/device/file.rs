//! [`FileDevice`]: a WAV file as the microphone, a WAV file of exactly what was played.
//!
//! Two paces:
//! - [`FilePace::RealTime`]: a thread ticks every 10 ms, like a sound card.
//! - [`FilePace::Stepped`]: no thread; whoever holds the [`FileDeviceStepper`] advances the
//!   device clock with [`FileDeviceStepper::step`]. Tests run as fast as the CPU allows and
//!   are deterministic, because the test decides when audio moves.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::device::pacer::Pacer;
use crate::device::{AudioDevice, DeviceIo};
use crate::error::AudioError;
use crate::format::AudioFormat;

/// Milliseconds per device tick.
const TICK_MS: u32 = 10;

/// How the file device's clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilePace {
    /// A thread moves 10 ms of audio every 10 ms of wall-clock time.
    RealTime,
    /// Audio moves only when [`FileDeviceStepper::step`] is called.
    Stepped,
}

/// What the microphone delivers after the input file ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterInput {
    /// Keep delivering digital silence (a quiet room; lets VAD see the end of speech).
    Silence,
    /// Deliver nothing more.
    Stop,
}

/// Reads a whole WAV file as interleaved PCM16 (16-bit integer or 32-bit float files).
pub fn read_wav(path: &Path) -> Result<(AudioFormat, Vec<i16>), AudioError> {
    let wav_err = |e: hound::Error| AudioError::Wav {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let reader = hound::WavReader::open(path).map_err(wav_err)?;
    let spec = reader.spec();
    let format = AudioFormat::new(spec.sample_rate, spec.channels).validate()?;
    let samples = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => reader
            .into_samples::<i16>()
            .collect::<Result<Vec<_>, _>>()
            .map_err(wav_err)?,
        (hound::SampleFormat::Float, 32) => reader
            .into_samples::<f32>()
            .map(|s| s.map(crate::convert::f32_to_i16))
            .collect::<Result<Vec<_>, _>>()
            .map_err(wav_err)?,
        (kind, bits) => {
            return Err(AudioError::Wav {
                path: path.display().to_string(),
                message: format!(
                    "unsupported sample format {kind:?} {bits}-bit (want 16-bit int or 32-bit float)"
                ),
            });
        }
    };
    let whole = samples.len() - samples.len() % usize::from(format.channels);
    let mut samples = samples;
    samples.truncate(whole);
    Ok((format, samples))
}

/// Writes interleaved PCM16 samples as a 16-bit WAV file.
pub fn write_wav(path: &Path, format: AudioFormat, samples: &[i16]) -> Result<(), AudioError> {
    let mut w = create_writer(path, format)?;
    let wav_err = |e: hound::Error| AudioError::Wav {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    for &s in samples {
        w.write_sample(s).map_err(wav_err)?;
    }
    w.finalize().map_err(wav_err)
}

type WavOut = hound::WavWriter<BufWriter<File>>;

fn create_writer(path: &Path, format: AudioFormat) -> Result<WavOut, AudioError> {
    let spec = hound::WavSpec {
        channels: format.channels,
        sample_rate: format.sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    hound::WavWriter::create(path, spec).map_err(|e| AudioError::Wav {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Progress counters readable while the device runs.
#[derive(Debug, Default)]
struct FileProgress {
    input_frames_fed: AtomicU64,
    input_done: AtomicBool,
    output_frames_written: AtomicU64,
    output_audio_frames: AtomicU64,
}

/// The state one tick works on: owned by the pacer thread or by the stepper.
struct FileClock {
    io: DeviceIo,
    input: Arc<[i16]>,
    input_format: Option<AudioFormat>,
    input_pos: usize,
    after_input: AfterInput,
    silence: Vec<i16>,
    playback_format: Option<AudioFormat>,
    playback_buf: Vec<i16>,
    writer: Option<WavOut>,
    output_path: Option<PathBuf>,
    progress: Arc<FileProgress>,
    write_error: Option<String>,
}

impl FileClock {
    /// Moves `ticks` × 10 ms of audio in both directions.
    fn run_ticks(&mut self, ticks: u64) {
        for _ in 0..ticks {
            self.tick();
        }
    }

    fn tick(&mut self) {
        if let (Some(sink), Some(format)) = (self.io.capture.as_mut(), self.input_format) {
            let n = format.samples_for_ms(TICK_MS);
            let end = (self.input_pos + n).min(self.input.len());
            if self.input_pos < end {
                let pushed = sink.push(&self.input[self.input_pos..end]);
                self.progress
                    .input_frames_fed
                    .fetch_add(pushed as u64, Ordering::Relaxed);
                self.input_pos = end;
                if end == self.input.len() {
                    self.progress.input_done.store(true, Ordering::Release);
                }
            } else {
                self.progress.input_done.store(true, Ordering::Release);
                if self.after_input == AfterInput::Silence {
                    sink.push(&self.silence[..n]);
                }
            }
        }
        if let (Some(source), Some(format)) = (self.io.playout.as_mut(), self.playback_format) {
            let audio = source.pull(&mut self.playback_buf);
            self.progress
                .output_audio_frames
                .fetch_add(audio as u64, Ordering::Relaxed);
            if let Some(w) = self.writer.as_mut() {
                let mut result = Ok(());
                for &s in &self.playback_buf {
                    result = w.write_sample(s);
                    if result.is_err() {
                        break;
                    }
                }
                if let Err(e) = result {
                    self.write_error.get_or_insert_with(|| e.to_string());
                    self.writer = None;
                }
            }
            let frames = format.frames_for_ms(TICK_MS) as u64;
            self.progress
                .output_frames_written
                .fetch_add(frames, Ordering::Relaxed);
        }
    }

    fn finish(&mut self) -> Result<(), AudioError> {
        let path = self
            .output_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if let Some(e) = self.write_error.take() {
            return Err(AudioError::Wav { path, message: e });
        }
        if let Some(w) = self.writer.take() {
            w.finalize().map_err(|e| AudioError::Wav {
                path,
                message: e.to_string(),
            })?;
        }
        Ok(())
    }
}

/// Advances a [`FilePace::Stepped`] file device. Clone it freely.
#[derive(Clone)]
pub struct FileDeviceStepper {
    clock: Arc<Mutex<Option<FileClock>>>,
    progress: Arc<FileProgress>,
}

impl std::fmt::Debug for FileDeviceStepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDeviceStepper").finish_non_exhaustive()
    }
}

impl FileDeviceStepper {
    /// Advances the device clock by `duration`, rounded down to whole 10 ms ticks: pushes that
    /// much input and pulls (and writes) that much output. Returns the ticks run (0 when the
    /// device is not started).
    pub fn step(&self, duration: Duration) -> u64 {
        let ticks = duration.as_millis() as u64 / u64::from(TICK_MS);
        let mut guard = self
            .clock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match guard.as_mut() {
            Some(clock) => {
                clock.run_ticks(ticks);
                ticks
            }
            None => 0,
        }
    }

    /// True once the whole input file has been pushed.
    pub fn input_done(&self) -> bool {
        self.progress.input_done.load(Ordering::Acquire)
    }
}

/// A file-backed device. See the module docs.
pub struct FileDevice {
    name: String,
    input: Option<(AudioFormat, Arc<[i16]>)>,
    after_input: AfterInput,
    playback: Option<AudioFormat>,
    output_path: Option<PathBuf>,
    pace: FilePace,
    progress: Arc<FileProgress>,
    stepped: Arc<Mutex<Option<FileClock>>>,
    pacer: Option<(Pacer, Arc<Mutex<Option<FileClock>>>)>,
    running: bool,
}

impl std::fmt::Debug for FileDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDevice")
            .field("name", &self.name)
            .field("capture", &self.input.as_ref().map(|i| i.0))
            .field("playback", &self.playback)
            .field("output_path", &self.output_path)
            .field("pace", &self.pace)
            .finish_non_exhaustive()
    }
}

impl FileDevice {
    /// A device with no input file and no output file yet (add them with the builders).
    pub fn new(pace: FilePace) -> Self {
        Self {
            name: "file".to_owned(),
            input: None,
            after_input: AfterInput::Silence,
            playback: None,
            output_path: None,
            pace,
            progress: Arc::new(FileProgress::default()),
            stepped: Arc::new(Mutex::new(None)),
            pacer: None,
            running: false,
        }
    }

    /// Uses the WAV file at `path` as the microphone (its format becomes the capture format).
    pub fn with_input_wav(mut self, path: impl AsRef<Path>) -> Result<Self, AudioError> {
        let (format, samples) = read_wav(path.as_ref())?;
        self.name = format!("file:{}", path.as_ref().display());
        self.input = Some((format, samples.into()));
        Ok(self)
    }

    /// Uses in-memory interleaved samples as the microphone.
    pub fn with_input_samples(
        mut self,
        format: AudioFormat,
        samples: Vec<i16>,
    ) -> Result<Self, AudioError> {
        format.validate()?;
        format.frames_in(samples.len())?;
        self.input = Some((format, samples.into()));
        Ok(self)
    }

    /// What to deliver after the input ends (default: silence).
    pub fn after_input(mut self, after: AfterInput) -> Self {
        self.after_input = after;
        self
    }

    /// Plays in `format`, discarding the audio (no output file).
    pub fn with_playback(mut self, format: AudioFormat) -> Self {
        self.playback = Some(format);
        self
    }

    /// Plays in `format` and writes everything handed to the "speaker" (queued audio and the
    /// silence between it, tick by tick) to a 16-bit WAV at `path`.
    pub fn with_output_wav(mut self, path: impl Into<PathBuf>, format: AudioFormat) -> Self {
        self.playback = Some(format);
        self.output_path = Some(path.into());
        self
    }

    /// The stepper for [`FilePace::Stepped`] (also returned in real-time mode, where it does
    /// nothing but report progress).
    pub fn stepper(&self) -> FileDeviceStepper {
        FileDeviceStepper {
            clock: Arc::clone(&self.stepped),
            progress: Arc::clone(&self.progress),
        }
    }

    /// True once the whole input file has been pushed.
    pub fn input_done(&self) -> bool {
        self.progress.input_done.load(Ordering::Acquire)
    }

    /// Frames written to the output (audio and silence).
    pub fn output_frames(&self) -> u64 {
        self.progress.output_frames_written.load(Ordering::Relaxed)
    }
}

impl AudioDevice for FileDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn capture_format(&self) -> Option<AudioFormat> {
        self.input.as_ref().map(|(f, _)| *f)
    }

    fn playback_format(&self) -> Option<AudioFormat> {
        self.playback
    }

    fn start(&mut self, io: DeviceIo) -> Result<(), AudioError> {
        if self.running {
            return Err(AudioError::DeviceState {
                device: self.name.clone(),
                state: "already running",
            });
        }
        let writer = match (&self.output_path, self.playback) {
            (Some(path), Some(format)) => Some(create_writer(path, format)?),
            _ => None,
        };
        let input_format = self.input.as_ref().map(|(f, _)| *f);
        let clock = FileClock {
            io,
            input: self
                .input
                .as_ref()
                .map_or_else(|| Arc::from(Vec::new()), |(_, s)| Arc::clone(s)),
            input_format,
            input_pos: 0,
            after_input: self.after_input,
            silence: vec![0; input_format.map_or(0, |f| f.samples_for_ms(TICK_MS))],
            playback_format: self.playback,
            playback_buf: vec![0; self.playback.map_or(0, |f| f.samples_for_ms(TICK_MS))],
            writer,
            output_path: self.output_path.clone(),
            progress: Arc::clone(&self.progress),
            write_error: None,
        };
        self.progress.input_done.store(false, Ordering::Release);
        match self.pace {
            FilePace::Stepped => {
                *self
                    .stepped
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(clock);
            }
            FilePace::RealTime => {
                // The thread is the only user of the clock while running; the mutex lets
                // `stop` take the clock back to finalize the WAV file after the join.
                let shared = Arc::new(Mutex::new(Some(clock)));
                let thread_clock = Arc::clone(&shared);
                let pacer = Pacer::spawn(
                    "voicewire-file-audio",
                    Duration::from_millis(TICK_MS.into()),
                    move || {
                        let mut guard = thread_clock
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        if let Some(c) = guard.as_mut() {
                            c.tick();
                        }
                        true
                    },
                )?;
                self.pacer = Some((pacer, shared));
            }
        }
        self.running = true;
        Ok(())
    }

    fn stop(&mut self) -> Result<(), AudioError> {
        if !self.running {
            return Ok(());
        }
        self.running = false;
        let clock = match self.pacer.take() {
            Some((mut pacer, shared)) => {
                pacer.stop();
                shared
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take()
            }
            None => self
                .stepped
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take(),
        };
        match clock {
            Some(mut c) => c.finish(),
            None => Ok(()),
        }
    }

    fn is_running(&self) -> bool {
        self.running
    }
}

impl Drop for FileDevice {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(error = %e, "file device: finishing the output WAV failed");
        }
    }
}
