//! [`AAudioDevice`]: voice-communication capture and playback on AAudio streams.
//!
//! AAudio hands the data callback a raw pointer, and its stream handles are not marked
//! `Send` by the `ndk` crate, so this module allows `unsafe_code` for exactly two things,
//! each with its reasoning beside it: viewing the callback buffer as a slice, and moving
//! stream handles between control threads.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::num::NonZeroI32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use ndk::audio::{
    AudioCallbackResult, AudioContentType, AudioDirection, AudioError as AAudioError,
    AudioFormat as SampleFormat, AudioInputPreset, AudioPerformanceMode, AudioSharingMode,
    AudioStream, AudioStreamBuilder, AudioStreamDataCallback, AudioStreamErrorCallback, AudioUsage,
    SessionId,
};
use voicewire_audio::platform::{
    AudioEngineControl, AudioSessionBackend, HardwareHint, NegotiatedFormat,
    PlatformAudioController, PlatformDevice, PlatformEngine, PlatformError, RealtimeSlots,
    ReopenPolicy, SessionConfig, check_reopened, negotiate,
};
use voicewire_audio::{AudioDevice, AudioError, AudioFormat, DeviceIo};

const DEVICE_NAME: &str = "aaudio-voice-communication";

fn aaudio_error(operation: &'static str, e: AAudioError) -> PlatformError {
    PlatformError::backend(operation, format!("{e:?}"))
}

/// An open AAudio stream owned by the engine.
struct OwnedStream(AudioStream);

// SAFETY: AAudio stream handles may be used from any thread; the one rule — never close a
// stream while another thread calls into it — is kept by the engine's mutex, which is held
// for every call on these handles (the data callback gets its own borrowed handle from
// AAudio and never closes it).
unsafe impl Send for OwnedStream {}

impl std::fmt::Debug for OwnedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedStream")
            .field("rate", &self.0.sample_rate())
            .field("channels", &self.0.channel_count())
            .field("sharing", &self.0.sharing_mode())
            .finish()
    }
}

#[derive(Debug, Default)]
struct Streams {
    input: Option<OwnedStream>,
    output: Option<OwnedStream>,
}

#[derive(Debug, Default)]
struct EngineState {
    /// The pipeline ends between `start` and `stop`.
    slots: Option<RealtimeSlots>,
    /// The open streams (absent while stopped or suspended).
    streams: Option<Streams>,
    /// The session id shared by input and output (kept across reopens so effects and the
    /// echo canceller stay attached to one session).
    session_id: Option<NonZeroI32>,
    /// Bumped on every open; error callbacks report the generation they belong to, so a
    /// disconnect reported by both streams reopens once.
    generation: u64,
}

struct AAudioEngine {
    format: NegotiatedFormat,
    voice_processing: AtomicBool,
    reopen_policy: ReopenPolicy,
    state: Mutex<EngineState>,
    reopen_requests: Sender<u64>,
    controller: Weak<PlatformAudioController>,
}

impl AAudioEngine {
    fn lock(&self) -> MutexGuard<'_, EngineState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn builder(
        &self,
        direction: AudioDirection,
        format: AudioFormat,
        sharing: AudioSharingMode,
        session: Option<SessionId>,
    ) -> Result<AudioStreamBuilder, PlatformError> {
        let rate = i32::try_from(format.sample_rate)
            .map_err(|_| PlatformError::backend("configure stream", "sample rate out of range"))?;
        let builder = AudioStreamBuilder::new()
            .map_err(|e| aaudio_error("create stream builder", e))?
            .direction(direction)
            .format(SampleFormat::PCM_Float)
            .sample_rate(rate)
            .channel_count(i32::from(format.channels))
            .performance_mode(AudioPerformanceMode::LowLatency)
            .sharing_mode(sharing)
            .content_type(AudioContentType::Speech)
            .session_id(session);
        Ok(match direction {
            AudioDirection::Input => {
                let preset = if self.voice_processing.load(Ordering::Relaxed) {
                    // The preset that switches on the platform AEC, NS and AGC.
                    AudioInputPreset::VoiceCommunication
                } else {
                    AudioInputPreset::VoiceRecognition
                };
                builder.input_preset(preset)
            }
            // Usage VoiceCommunication gives the echo canceller its reference signal and
            // follows AudioManager's communication route (earpiece/speaker/SCO).
            _ => builder.usage(AudioUsage::VoiceCommunication),
        })
    }

    fn error_callback(&self, generation: u64) -> AudioStreamErrorCallback {
        let requests = self.reopen_requests.clone();
        Box::new(move |_stream, error| {
            // Runs on an AAudio thread that must not close the stream: hand it to the
            // reopen worker. Any error leaves the stream unusable, a disconnect most often.
            tracing::info!(?error, "AAudio stream error; reopening");
            let _ = requests.send(generation);
        })
    }

    /// Opens one stream, exclusive first and shared on refusal or on a format the exclusive
    /// (MMAP) path cannot give. `callback` leases the pipeline end for each attempt (a refused
    /// attempt drops its callback, which hands the end back for the next one).
    fn open_stream(
        &self,
        direction: AudioDirection,
        format: AudioFormat,
        generation: u64,
        session: Option<SessionId>,
        operation: &'static str,
        mut callback: impl FnMut() -> Result<AudioStreamDataCallback, PlatformError>,
    ) -> Result<OwnedStream, PlatformError> {
        let mut last_error = None;
        for sharing in [AudioSharingMode::Exclusive, AudioSharingMode::Shared] {
            let builder = self
                .builder(direction, format, sharing, session)?
                .data_callback(callback()?)
                .error_callback(self.error_callback(generation));
            match builder.open_stream() {
                Ok(stream) => {
                    let stream = OwnedStream(stream);
                    // An exclusive (MMAP) stream may come back in the device's own format;
                    // the shared path resamples, so fall back to it instead of failing.
                    match self.verify(&stream, format) {
                        Ok(()) => return Ok(stream),
                        Err(e) => {
                            tracing::debug!(?direction, ?sharing, %e, "stream format not usable");
                            last_error = Some(e);
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(?direction, ?sharing, ?e, "stream refused");
                    last_error = Some(aaudio_error(operation, e));
                }
            }
        }
        Err(last_error
            .unwrap_or_else(|| PlatformError::backend(operation, "no sharing mode tried")))
    }

    /// Opens the input stream with the capture half.
    fn open_input(
        &self,
        slots: &RealtimeSlots,
        generation: u64,
        session: Option<SessionId>,
    ) -> Result<OwnedStream, PlatformError> {
        const OPERATION: &str = "open input stream";
        let callback = || -> Result<AudioStreamDataCallback, PlatformError> {
            let mut half = slots
                .capture
                .lease()
                .ok_or_else(|| PlatformError::backend(OPERATION, "capture end in use"))?;
            Ok(Box::new(
                move |stream: &AudioStream, data: *mut c_void, frames: i32| {
                    let channels = stream.channel_count().max(1);
                    let len = usize::try_from(frames).unwrap_or(0)
                        * usize::try_from(channels).unwrap_or(1);
                    // SAFETY: AAudio passes `frames` frames of `channel_count` interleaved
                    // f32 samples (PCM_Float was requested and is verified after open, before
                    // the stream starts), valid for the duration of this call.
                    let samples = unsafe { std::slice::from_raw_parts(data as *const f32, len) };
                    half.on_input(samples, u16::try_from(channels).unwrap_or(1));
                    AudioCallbackResult::Continue
                },
            ))
        };
        self.open_stream(
            AudioDirection::Input,
            self.format.capture,
            generation,
            session,
            OPERATION,
            callback,
        )
    }

    /// Opens the output stream with the playback half.
    fn open_output(
        &self,
        slots: &RealtimeSlots,
        generation: u64,
        session: Option<SessionId>,
    ) -> Result<OwnedStream, PlatformError> {
        const OPERATION: &str = "open output stream";
        let callback = || -> Result<AudioStreamDataCallback, PlatformError> {
            let mut half = slots
                .playback
                .lease()
                .ok_or_else(|| PlatformError::backend(OPERATION, "playout end in use"))?;
            Ok(Box::new(
                move |stream: &AudioStream, data: *mut c_void, frames: i32| {
                    let channels = stream.channel_count().max(1);
                    let len = usize::try_from(frames).unwrap_or(0)
                        * usize::try_from(channels).unwrap_or(1);
                    // SAFETY: AAudio passes a writable buffer for `frames` frames of
                    // `channel_count` interleaved f32 samples (PCM_Float, verified after
                    // open), valid and exclusively ours for the duration of this call.
                    let out = unsafe { std::slice::from_raw_parts_mut(data as *mut f32, len) };
                    half.on_output(out, u16::try_from(channels).unwrap_or(1));
                    AudioCallbackResult::Continue
                },
            ))
        };
        self.open_stream(
            AudioDirection::Output,
            self.format.playback,
            generation,
            session,
            OPERATION,
            callback,
        )
    }

    fn verify(&self, stream: &OwnedStream, expected: AudioFormat) -> Result<(), PlatformError> {
        if stream.0.format() != SampleFormat::PCM_Float {
            return Err(PlatformError::backend(
                "open stream",
                format!(
                    "AAudio gave sample format {:?}, not float",
                    stream.0.format()
                ),
            ));
        }
        let rate = u32::try_from(stream.0.sample_rate()).unwrap_or(0);
        check_reopened(expected, rate, DEVICE_NAME)
            .map_err(|e| PlatformError::backend("open stream", e))
    }

    /// Opens and starts the streams for the pipeline ends in `state`.
    fn open_streams(&self, state: &mut EngineState) -> Result<(), PlatformError> {
        let Some(slots) = state.slots.clone() else {
            return Err(PlatformError::NotRunning);
        };
        state.streams = None;
        state.generation += 1;
        let generation = state.generation;
        // The first stream allocates the session id; the second joins it.
        let session =
            |id: Option<NonZeroI32>| Some(id.map_or(SessionId::None, SessionId::Allocated));
        let mut streams = Streams::default();
        let mut session_id = state.session_id;
        if slots.capture.is_home() {
            let request = if session_id.is_some() {
                session(session_id)
            } else {
                None
            };
            let input = self.open_input(&slots, generation, request)?;
            if let SessionId::Allocated(id) = input.0.session_id() {
                session_id = Some(id);
            }
            streams.input = Some(input);
        }
        if slots.playback.is_home() {
            let request = if session_id.is_some() {
                session(session_id)
            } else {
                None
            };
            let output = self.open_output(&slots, generation, request)?;
            if let SessionId::Allocated(id) = output.0.session_id() {
                session_id = Some(id);
            }
            streams.output = Some(output);
        }
        for s in [&streams.input, &streams.output].into_iter().flatten() {
            s.0.request_start()
                .map_err(|e| aaudio_error("start stream", e))?;
        }
        tracing::info!(?streams, ?session_id, "AAudio streams running");
        state.session_id = session_id;
        state.streams = Some(streams);
        Ok(())
    }

    fn session_id(&self) -> Option<i32> {
        self.lock().session_id.map(NonZeroI32::get)
    }

    /// Reopens after a stream error from `generation`, with the policy's backoff.
    fn reopen_after_error(&self, generation: u64) {
        let mut attempt = 1;
        while let Some(wait) = self.reopen_policy.wait_before(attempt) {
            std::thread::sleep(wait);
            let mut state = self.lock();
            if state.generation != generation || state.slots.is_none() {
                // Already reopened (both streams reported) or stopped meanwhile.
                return;
            }
            match self.open_streams(&mut state) {
                Ok(()) => {
                    drop(state);
                    if let Some(c) = self.controller.upgrade() {
                        c.stream_reopened(attempt);
                    }
                    return;
                }
                Err(e) => {
                    tracing::warn!(attempt, %e, "reopening AAudio streams failed");
                    // Keep the generation matching so the next attempt proceeds.
                    state.streams = None;
                    state.generation = generation;
                }
            }
            attempt += 1;
        }
        if let Some(c) = self.controller.upgrade() {
            c.report_error(format!(
                "audio device lost; reopening failed after {} attempts",
                attempt - 1
            ));
        }
    }
}

impl PlatformEngine for AAudioEngine {
    fn start(&self, slots: RealtimeSlots) -> Result<(), PlatformError> {
        let mut state = self.lock();
        state.slots = Some(slots);
        if let Err(e) = self.open_streams(&mut state) {
            state.streams = None;
            if let Some(slots) = state.slots.take() {
                slots.clear();
            }
            return Err(e);
        }
        Ok(())
    }

    fn stop(&self) {
        let mut state = self.lock();
        // Closing the streams drops their callbacks, which hands the ends back.
        state.streams = None;
        if let Some(slots) = state.slots.take() {
            slots.clear();
        }
    }

    fn is_running(&self) -> bool {
        self.lock().slots.is_some()
    }
}

impl AudioEngineControl for AAudioEngine {
    fn suspend(&self) -> Result<(), PlatformError> {
        self.lock().streams = None;
        Ok(())
    }

    fn resume(&self) -> Result<(), PlatformError> {
        let mut state = self.lock();
        if state.streams.is_some() {
            return Ok(());
        }
        self.open_streams(&mut state)
    }

    fn rebuild(&self) -> Result<(), PlatformError> {
        let mut state = self.lock();
        if state.slots.is_none() {
            return Ok(());
        }
        self.open_streams(&mut state)
    }

    fn set_voice_processing(&self, enabled: bool) -> Result<(), PlatformError> {
        self.voice_processing.store(enabled, Ordering::Relaxed);
        // The input preset is fixed at open: reopen running streams with the new one.
        let mut state = self.lock();
        if state.streams.is_some() {
            self.open_streams(&mut state)?;
        }
        Ok(())
    }
}

fn reopen_worker(engine: Weak<AAudioEngine>, requests: Receiver<u64>) {
    while let Ok(generation) = requests.recv() {
        match engine.upgrade() {
            Some(engine) => engine.reopen_after_error(generation),
            None => return,
        }
    }
}

/// Microphone and speaker on AAudio with Android's voice-communication processing.
///
/// Create it with the [`SessionConfig`], the app's [`AudioSessionBackend`] (the Kotlin
/// package's `AndroidAudioSession`, which drives AudioManager routes and audio focus) and the
/// hardware hint (`AudioManager.PROPERTY_OUTPUT_SAMPLE_RATE`; without it 48 kHz is used and
/// AAudio converts). Keep [`AAudioDevice::controller`] for routes, the voice-processing switch,
/// levels and events.
#[derive(Debug)]
pub struct AAudioDevice {
    device: PlatformDevice<AAudioEngine>,
}

impl AAudioDevice {
    /// A device with the given policy, session backend and hardware hint. Starts the small
    /// reopen worker thread (idle until a stream reports an error).
    pub fn new(
        config: SessionConfig,
        backend: Arc<dyn AudioSessionBackend>,
        hint: HardwareHint,
    ) -> Result<Self, AudioError> {
        Self::with_reopen_policy(config, backend, hint, ReopenPolicy::default())
    }

    /// A device opened without the app's `AudioManager` session (`PlatformDefault`): the
    /// voice-communication streams (platform echo cancellation included) on the system's
    /// routing, the session left to the app, route choice refused with a typed error (see
    /// [`crate::streams_only`]).
    pub fn without_app_session(hint: HardwareHint) -> Result<Self, AudioError> {
        Self::new(
            crate::streams_only_config(),
            Arc::new(crate::StreamsOnlySession),
            hint,
        )
    }

    /// Like [`Self::new`] with a custom reopen backoff.
    pub fn with_reopen_policy(
        config: SessionConfig,
        backend: Arc<dyn AudioSessionBackend>,
        hint: HardwareHint,
        reopen_policy: ReopenPolicy,
    ) -> Result<Self, AudioError> {
        let format = negotiate(hint);
        let controller = PlatformAudioController::new(config, backend);
        let (reopen_requests, requests) = channel();
        let engine = Arc::new(AAudioEngine {
            format,
            voice_processing: AtomicBool::new(config.voice_processing),
            reopen_policy,
            state: Mutex::new(EngineState::default()),
            reopen_requests,
            controller: Arc::downgrade(&controller),
        });
        let weak_engine = Arc::downgrade(&engine);
        std::thread::Builder::new()
            .name("voicewire-aaudio-reopen".into())
            .spawn(move || reopen_worker(weak_engine, requests))
            .map_err(|e| AudioError::Device {
                device: DEVICE_NAME.to_owned(),
                message: format!("could not start the reopen worker: {e}"),
            })?;
        Ok(Self {
            device: PlatformDevice::new(DEVICE_NAME, format, controller, engine),
        })
    }

    /// Route control, the voice-processing switch, resume, levels and the event listener.
    pub fn controller(&self) -> &Arc<PlatformAudioController> {
        self.device.controller()
    }

    /// The AAudio session id shared by input and output while running (for the app's own
    /// `AudioEffect`s, e.g. `AcousticEchoCanceler.create(id)` on devices that need it).
    pub fn audio_session_id(&self) -> Option<i32> {
        self.device.engine().session_id()
    }
}

impl AudioDevice for AAudioDevice {
    fn name(&self) -> &str {
        self.device.name()
    }

    fn capture_format(&self) -> Option<AudioFormat> {
        self.device.capture_format()
    }

    fn playback_format(&self) -> Option<AudioFormat> {
        self.device.playback_format()
    }

    fn start(&mut self, io: DeviceIo) -> Result<(), AudioError> {
        self.device.start(io)
    }

    fn stop(&mut self) -> Result<(), AudioError> {
        self.device.stop()
    }

    fn is_running(&self) -> bool {
        self.device.is_running()
    }
}
