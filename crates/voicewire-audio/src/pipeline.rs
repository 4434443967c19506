//! [`AudioPipeline`]: the async-side owner of everything between a device and a transport.

use crate::capture::CaptureReader;
use crate::device::{AudioDevice, DeviceIo};
use crate::error::AudioError;
use crate::format::AudioFormat;
use crate::frame::AudioFrame;
use crate::levels::AudioLevels;
use crate::playout::{FlushReport, ItemPlayout, PlaybackState, PlayoutBuffer, PlayoutConfig};

/// How a pipeline is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineConfig {
    /// The transport's audio format, mono: [`AudioFormat::WIRE_PCM16_24K`] (WebSocket,
    /// default) or [`AudioFormat::OPUS_48K`] (WebRTC, before Opus encode / after decode).
    pub wire: AudioFormat,
    /// Capacity of the capture ring in ms of device audio (default 2000). Capture beyond it
    /// is dropped and counted, so read at least every second or so.
    pub capture_ring_ms: u32,
    /// Playout buffer sizing.
    pub playout: PlayoutConfig,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            wire: AudioFormat::WIRE_PCM16_24K,
            capture_ring_ms: 2_000,
            playout: PlayoutConfig::default(),
        }
    }
}

impl PipelineConfig {
    /// Defaults with the given wire format.
    pub fn with_wire(wire: AudioFormat) -> Self {
        Self {
            wire,
            ..Self::default()
        }
    }
}

/// Pipeline counters at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PipelineStats {
    /// Playout dry episodes in the middle of an item.
    pub underruns: u64,
    /// Device frames of real audio handed to the speaker.
    pub played_frames: u64,
    /// Device frames of silence handed out because nothing was queued.
    pub silence_frames: u64,
    /// Milliseconds queued for playback and not yet handed to the device.
    pub buffered_ms: u64,
    /// Device frames captured.
    pub captured_frames: u64,
    /// Device frames of capture dropped because the ring was full.
    pub capture_dropped_frames: u64,
}

/// The async side of the audio path, speaking only the wire format.
///
/// The engine never sees device rates: it reads wire-format capture audio, plays wire-format
/// assistant audio per item, flushes on interrupt and asks how much of an item was played.
/// Methods are cheap and non-blocking; call them from the driver task.
#[derive(Debug)]
pub struct AudioPipeline {
    wire: AudioFormat,
    capture: Option<CaptureReader>,
    playout: Option<PlayoutBuffer>,
}

impl AudioPipeline {
    /// Builds a pipeline for the given device formats (either may be `None`), returning the
    /// real-time ends for the device.
    pub fn new(
        config: PipelineConfig,
        capture_format: Option<AudioFormat>,
        playback_format: Option<AudioFormat>,
    ) -> Result<(Self, DeviceIo), AudioError> {
        config.wire.validate()?;
        if config.wire.channels != 1 {
            return Err(AudioError::UnsupportedFormat(config.wire));
        }
        let (capture, sink) = match capture_format {
            Some(f) => {
                let (reader, sink) = CaptureReader::new(f, config.wire, config.capture_ring_ms)?;
                (Some(reader), Some(sink))
            }
            None => (None, None),
        };
        let (playout, source) = match playback_format {
            Some(f) => {
                let (buffer, source) = PlayoutBuffer::new(config.wire, f, config.playout)?;
                (Some(buffer), Some(source))
            }
            None => (None, None),
        };
        Ok((
            Self {
                wire: config.wire,
                capture,
                playout,
            },
            DeviceIo {
                capture: sink,
                playout: source,
            },
        ))
    }

    /// Like [`Self::new`] with software echo cancellation (feature `aec`): the playout
    /// callback copies what it plays into a reference ring, and `read_capture` removes its
    /// echo from the microphone before resampling to the wire rate. Both directions are
    /// required. Use it for devices without platform voice processing (desktop speakers).
    #[cfg(feature = "aec")]
    pub fn new_with_echo_cancellation(
        config: PipelineConfig,
        capture_format: AudioFormat,
        playback_format: AudioFormat,
    ) -> Result<(Self, DeviceIo), AudioError> {
        config.wire.validate()?;
        if config.wire.channels != 1 {
            return Err(AudioError::UnsupportedFormat(config.wire));
        }
        let (mut reader, sink) =
            CaptureReader::new(capture_format, config.wire, config.capture_ring_ms)?;
        let (buffer, source, reference) = PlayoutBuffer::with_reference(
            config.wire,
            playback_format,
            config.playout,
            Some(config.capture_ring_ms),
        )?;
        let reference = reference
            .ok_or_else(|| AudioError::EchoCanceller("playout reference ring missing".into()))?;
        reader.enable_echo_cancellation(playback_format.sample_rate, reference)?;
        Ok((
            Self {
                wire: config.wire,
                capture: Some(reader),
                playout: Some(buffer),
            },
            DeviceIo {
                capture: Some(sink),
                playout: Some(source),
            },
        ))
    }

    /// Builds an echo-cancelling pipeline for `device` and starts the device with it
    /// (feature `aec`). Fails when the device lacks capture or playback.
    #[cfg(feature = "aec")]
    pub fn start_with_echo_cancellation(
        device: &mut dyn AudioDevice,
        config: PipelineConfig,
    ) -> Result<Self, AudioError> {
        let (Some(capture), Some(playback)) = (device.capture_format(), device.playback_format())
        else {
            return Err(AudioError::EchoCanceller(format!(
                "device {} needs both capture and playback for echo cancellation",
                device.name()
            )));
        };
        let (pipeline, io) = Self::new_with_echo_cancellation(config, capture, playback)?;
        device.start(io)?;
        Ok(pipeline)
    }

    /// The echo canceller's running ERLE estimate (dB), when echo cancellation is on.
    #[cfg(feature = "aec")]
    pub fn echo_erle_db(&self) -> Option<f64> {
        self.capture.as_ref().and_then(CaptureReader::echo_erle_db)
    }

    /// Builds a pipeline matching `device`'s formats (the device is not started).
    pub fn for_device(
        device: &dyn AudioDevice,
        config: PipelineConfig,
    ) -> Result<(Self, DeviceIo), AudioError> {
        Self::new(config, device.capture_format(), device.playback_format())
    }

    /// Builds a pipeline for `device` and starts the device with it.
    pub fn start(device: &mut dyn AudioDevice, config: PipelineConfig) -> Result<Self, AudioError> {
        let (pipeline, io) = Self::for_device(device, config)?;
        device.start(io)?;
        Ok(pipeline)
    }

    /// The wire format of `read_capture` output and `play` input.
    pub fn wire_format(&self) -> AudioFormat {
        self.wire
    }

    /// True when the pipeline has a capture direction.
    pub fn has_capture(&self) -> bool {
        self.capture.is_some()
    }

    /// True when the pipeline has a playback direction.
    pub fn has_playback(&self) -> bool {
        self.playout.is_some()
    }

    /// Appends newly captured audio, converted to the wire format (mono PCM16), to `out`.
    /// Returns the number of samples appended (0 when there is no capture direction).
    pub fn read_capture(&mut self, out: &mut Vec<i16>) -> Result<usize, AudioError> {
        match self.capture.as_mut() {
            Some(c) => c.read(out),
            None => Ok(0),
        }
    }

    /// Like [`Self::read_capture`] with f32 samples (for the Opus encoder or DSP).
    pub fn read_capture_f32(&mut self, out: &mut Vec<f32>) -> Result<usize, AudioError> {
        match self.capture.as_mut() {
            Some(c) => c.read_f32(out),
            None => Ok(0),
        }
    }

    /// Throws away captured audio not yet read (e.g. when unmuting).
    pub fn discard_capture(&mut self) {
        if let Some(c) = self.capture.as_mut() {
            c.discard();
        }
    }

    /// Queues wire-format (mono) samples of assistant item `item_id` for playback. See
    /// [`PlayoutBuffer::play`]. Fails with [`AudioError::DeviceState`] when the pipeline has
    /// no playback direction.
    pub fn play(&mut self, item_id: &str, samples: &[i16]) -> Result<usize, AudioError> {
        self.playout_mut()?.play(item_id, samples)
    }

    /// Queues a frame of assistant audio; it must be in the wire format (else
    /// [`AudioError::FormatMismatch`], nothing queued).
    pub fn play_frame(&mut self, item_id: &str, frame: &AudioFrame) -> Result<usize, AudioError> {
        if frame.format() != self.wire {
            return Err(AudioError::FormatMismatch {
                expected: self.wire,
                actual: frame.format(),
            });
        }
        self.play(item_id, frame.pcm16())
    }

    /// Reads newly captured audio as one wire-format [`AudioFrame`] (possibly empty).
    pub fn read_capture_frame(&mut self) -> Result<AudioFrame, AudioError> {
        let mut samples = Vec::new();
        self.read_capture(&mut samples)?;
        AudioFrame::from_pcm16(self.wire, samples)
    }

    /// Marks the end of `item_id`'s audio. See [`PlayoutBuffer::finish_item`].
    pub fn finish_item(&mut self, item_id: &str) -> Result<bool, AudioError> {
        match self.playout.as_mut() {
            Some(p) => p.finish_item(item_id),
            None => Ok(false),
        }
    }

    /// Moves queued audio into the device ring. Call at least every second while audio is
    /// queued (the engine's 50 ms level tick is plenty); every other method pumps too.
    pub fn pump(&mut self) {
        if let Some(p) = self.playout.as_mut() {
            p.pump();
        }
    }

    /// Stops playback instantly (interrupt) and reports what was played of the cut item.
    pub fn flush(&mut self) -> FlushReport {
        self.playout
            .as_mut()
            .map(PlayoutBuffer::flush)
            .unwrap_or_default()
    }

    /// Milliseconds of `item_id` handed to the device (wire rate, rounded down).
    pub fn played_ms(&self, item_id: &str) -> Option<u64> {
        self.playout.as_ref().and_then(|p| p.played_ms(item_id))
    }

    /// Full playout figures for `item_id`.
    pub fn item_playout(&self, item_id: &str) -> Option<ItemPlayout> {
        self.playout.as_ref().and_then(|p| p.item_playout(item_id))
    }

    /// Whether assistant audio is audible now.
    pub fn playback_state(&self) -> PlaybackState {
        self.playout
            .as_ref()
            .map_or(PlaybackState::Idle, PlayoutBuffer::state)
    }

    /// Latest smoothed input and output levels (0–1). Sample at your display rate.
    pub fn levels(&self) -> AudioLevels {
        AudioLevels {
            input: self
                .capture
                .as_ref()
                .map(|c| c.input_levels().read())
                .unwrap_or_default(),
            output: self
                .playout
                .as_ref()
                .map(|p| p.output_levels().read())
                .unwrap_or_default(),
        }
    }

    /// Playout underruns so far.
    pub fn underruns(&self) -> u64 {
        self.playout.as_ref().map_or(0, PlayoutBuffer::underruns)
    }

    /// All counters.
    pub fn stats(&self) -> PipelineStats {
        let mut s = PipelineStats::default();
        if let Some(p) = self.playout.as_ref() {
            s.underruns = p.underruns();
            s.played_frames = p.played_frames();
            s.silence_frames = p.silence_frames();
            s.buffered_ms = p.buffered_ms();
        }
        if let Some(c) = self.capture.as_ref() {
            s.captured_frames = c.captured_frames();
            s.capture_dropped_frames = c.dropped_frames();
        }
        s
    }

    /// The playout buffer, for figures this facade does not forward.
    pub fn playout(&self) -> Option<&PlayoutBuffer> {
        self.playout.as_ref()
    }

    /// The capture reader, for figures this facade does not forward.
    pub fn capture(&self) -> Option<&CaptureReader> {
        self.capture.as_ref()
    }

    fn playout_mut(&mut self) -> Result<&mut PlayoutBuffer, AudioError> {
        self.playout.as_mut().ok_or(AudioError::DeviceState {
            device: "pipeline".to_owned(),
            state: "without a playback direction",
        })
    }
}
