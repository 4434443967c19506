//! Software acoustic echo cancellation for devices without platform voice processing
//! (desktop speakers + microphone). Feature `aec`.
//!
//! The canceller is `aec3`, a pure-Rust port of WebRTC's AEC3 (evaluation and measured ERLE
//! in `docs/decisions/0003-audio-threading.md`). Its state is not `Send`, so it lives on a
//! worker thread created with it; [`EchoCanceller`] (which is `Send`) hands it whole 10 ms
//! blocks of far-end reference and microphone audio and waits for the cleaned microphone
//! blocks (≈1 % of the audio's duration). It runs on the async side, never in a device
//! callback.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use aec3::api::config::EchoCanceller3Config;
use aec3::api::control::EchoControl;
use aec3::audio_processing::aec3::echo_canceller3::EchoCanceller3;
use aec3::audio_processing::audio_buffer::AudioBuffer;
use aec3::audio_processing::stream_config::StreamConfig;

use crate::error::AudioError;

/// Rates AEC3 runs at.
pub const AEC_SUPPORTED_RATES: [u32; 3] = [16_000, 32_000, 48_000];

/// How long to wait for the worker before reporting it dead.
const WORKER_TIMEOUT: Duration = Duration::from_secs(2);

struct Job {
    render: Vec<f32>,
    capture: Vec<f32>,
}

/// The AEC3 state, confined to the worker thread.
struct Aec3Worker {
    canceller: EchoCanceller3,
    render: AudioBuffer,
    capture: AudioBuffer,
    stream: StreamConfig,
    block: usize,
}

impl Aec3Worker {
    fn new(rate: usize) -> Self {
        Self {
            canceller: EchoCanceller3::new(EchoCanceller3Config::default(), rate as i32, 1, 1),
            render: AudioBuffer::from_sample_rates(rate, 1, rate, 1, rate),
            capture: AudioBuffer::from_sample_rates(rate, 1, rate, 1, rate),
            stream: StreamConfig::new(rate, 1, false),
            block: rate / 100,
        }
    }

    fn analyze_render(&mut self, block: &[f32]) {
        self.render.copy_from(&[block], &self.stream);
        self.render.split_into_frequency_bands();
        self.canceller.analyze_render(&mut self.render);
    }

    fn process_capture(&mut self, block: &mut [f32]) {
        self.capture.copy_from(&[&*block], &self.stream);
        self.canceller.analyze_capture(&mut self.capture);
        self.capture.split_into_frequency_bands();
        self.canceller.process_capture(&mut self.capture, false);
        self.capture.merge_frequency_bands();
        self.capture.copy_to_stream(&self.stream, &mut [block]);
    }

    /// Interleaves render and capture blocks the way a duplex device delivers them.
    fn run(&mut self, mut job: Job) -> Vec<f32> {
        let render_blocks = job.render.len() / self.block;
        let capture_blocks = job.capture.len() / self.block;
        for i in 0..render_blocks.max(capture_blocks) {
            if i < render_blocks {
                let start = i * self.block;
                let block = &job.render[start..start + self.block];
                self.analyze_render(block);
            }
            if i < capture_blocks {
                let start = i * self.block;
                let end = start + self.block;
                self.process_capture(&mut job.capture[start..end]);
            }
        }
        job.capture
    }
}

/// An echo canceller for one mono microphone and one mono far-end reference at one rate.
pub struct EchoCanceller {
    rate: u32,
    block: usize,
    jobs: Option<mpsc::Sender<Job>>,
    results: mpsc::Receiver<Vec<f32>>,
    worker: Option<JoinHandle<()>>,
    render_pending: Vec<f32>,
    capture_pending: Vec<f32>,
    erle_bits: Arc<AtomicU64>,
}

impl std::fmt::Debug for EchoCanceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoCanceller")
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl EchoCanceller {
    /// Starts a canceller at `sample_rate` (one of [`AEC_SUPPORTED_RATES`]).
    pub fn new(sample_rate: u32) -> Result<Self, AudioError> {
        if !AEC_SUPPORTED_RATES.contains(&sample_rate) {
            return Err(AudioError::EchoCanceller(format!(
                "unsupported rate {sample_rate} Hz (AEC3 runs at 16, 32 or 48 kHz)"
            )));
        }
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (result_tx, result_rx) = mpsc::channel::<Vec<f32>>();
        let erle_bits = Arc::new(AtomicU64::new(0f64.to_bits()));
        let erle = Arc::clone(&erle_bits);
        let worker = std::thread::Builder::new()
            .name("voicewire-aec3".into())
            .spawn(move || {
                let mut aec = Aec3Worker::new(sample_rate as usize);
                while let Ok(job) = job_rx.recv() {
                    let cleaned = aec.run(job);
                    erle.store(
                        aec.canceller
                            .metrics()
                            .echo_return_loss_enhancement
                            .to_bits(),
                        Ordering::Relaxed,
                    );
                    if result_tx.send(cleaned).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| AudioError::EchoCanceller(e.to_string()))?;
        Ok(Self {
            rate: sample_rate,
            block: sample_rate as usize / 100,
            jobs: Some(job_tx),
            results: result_rx,
            worker: Some(worker),
            render_pending: Vec::new(),
            capture_pending: Vec::new(),
            erle_bits,
        })
    }

    /// The rate the canceller runs at.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// AEC3's own running estimate of echo return loss enhancement, in dB.
    pub fn erle_db(&self) -> f64 {
        f64::from_bits(self.erle_bits.load(Ordering::Relaxed))
    }

    /// Queues far-end audio (what the speaker played), processed with the next capture call.
    pub fn push_render(&mut self, samples: &[f32]) {
        self.render_pending.extend_from_slice(samples);
    }

    /// Cancels echo from microphone audio, appending the cleaned audio to `out` in whole
    /// 10 ms blocks (a partial block waits for the next call). Returns samples appended.
    pub fn process_capture(
        &mut self,
        samples: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<usize, AudioError> {
        self.capture_pending.extend_from_slice(samples);
        let capture_len = self.capture_pending.len() / self.block * self.block;
        let render_len = self.render_pending.len() / self.block * self.block;
        if capture_len == 0 && render_len == 0 {
            return Ok(0);
        }
        let job = Job {
            render: self.render_pending.drain(..render_len).collect(),
            capture: self.capture_pending.drain(..capture_len).collect(),
        };
        let dead = || AudioError::EchoCanceller("worker thread stopped".into());
        self.jobs
            .as_ref()
            .ok_or_else(dead)?
            .send(job)
            .map_err(|_| dead())?;
        let cleaned = self
            .results
            .recv_timeout(WORKER_TIMEOUT)
            .map_err(|_| dead())?;
        out.extend_from_slice(&cleaned);
        Ok(cleaned.len())
    }
}

impl Drop for EchoCanceller {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(worker) = self.worker.take()
            && worker.join().is_err()
        {
            tracing::warn!("echo canceller worker panicked");
        }
    }
}
