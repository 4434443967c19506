//! [`PlatformAudioController`]: the thin driver that connects the route and interruption
//! machines to a platform's audio session ([`AudioSessionBackend`]), its audio engine
//! ([`AudioEngineControl`]) and the app ([`PlatformAudioListener`]).
//!
//! Platform crates call it from OS notifications (route changed, interruption began/ended,
//! focus changed, media services reset) and from their device's start/stop; apps and the FFI
//! call it to list and choose routes, flip voice processing and resume. It runs on control
//! threads only (never an audio callback), holds its lock only while feeding a machine, and
//! calls the backend, the engine and the listener with the lock released, so a backend that
//! reports a route change synchronously from inside `apply_route` does not deadlock.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::bridge::LevelTaps;
use super::interruption::{
    FocusChange, InterruptionAction, InterruptionEvent, InterruptionInput, InterruptionMachine,
    InterruptionOutputs, InterruptionState, ResumePolicy,
};
use super::route::{
    AudioRoute, RouteAction, RouteChangeReason, RouteEvent, RouteInput, RouteMachine, RouteOutputs,
    RoutePolicy, RouteSelection, RouteUnavailable,
};

/// Who owns the platform audio session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionManagement {
    /// The SDK configures the session (play-and-record, voice chat, Bluetooth and speaker
    /// options) and activates it on start, deactivates it on stop.
    #[default]
    Sdk,
    /// The app does (required with CallKit, which activates the session itself and tells the
    /// app in `provider(_:didActivate:)`). The SDK never sets the category or activates the
    /// session; it still observes routes and interruptions and can still choose routes.
    App,
}

/// How the platform audio is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Who owns the audio session.
    pub management: SessionManagement,
    /// Platform echo cancellation, gain control and noise suppression (VoiceProcessingIO on
    /// Apple platforms, the VoiceCommunication preset and usage on Android). On by default;
    /// switch off for studio-style capture with headphones.
    pub voice_processing: bool,
    /// Allow Bluetooth A2DP output (high quality, output only) besides HFP. iOS only.
    pub allow_bluetooth_a2dp: bool,
    /// The automatic route policy.
    pub route_policy: RoutePolicy,
    /// The resume policy after interruptions.
    pub resume_policy: ResumePolicy,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            management: SessionManagement::Sdk,
            voice_processing: true,
            allow_bluetooth_a2dp: true,
            route_policy: RoutePolicy::default(),
            resume_policy: ResumePolicy::default(),
        }
    }
}

/// A platform call that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The requested route is not available.
    #[error(transparent)]
    RouteUnavailable(#[from] RouteUnavailable),
    /// The platform refused or failed an operation.
    #[error("{operation} failed: {message}")]
    Backend {
        /// What was attempted ("set category", "open input stream").
        operation: &'static str,
        /// The platform's message (NSError description, AAudio result text).
        message: String,
    },
    /// The operation needs a running audio engine.
    #[error("the audio engine is not running")]
    NotRunning,
}

impl PlatformError {
    /// A backend failure of `operation`.
    pub fn backend(operation: &'static str, message: impl std::fmt::Display) -> Self {
        Self::Backend {
            operation,
            message: message.to_string(),
        }
    }
}

/// The routes as the platform reports them now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteSnapshot {
    /// The route in use.
    pub current: Option<AudioRoute>,
    /// The routes that could be chosen.
    pub available: Vec<AudioRoute>,
}

/// The platform's audio session: iOS's AVAudioSession, Android's AudioManager (implemented in
/// Kotlin and passed in through the FFI). Called on control threads only.
pub trait AudioSessionBackend: Send + Sync {
    /// Applies category, mode and options (voice chat, Bluetooth, speaker). Only called in
    /// [`SessionManagement::Sdk`] mode.
    fn configure(&self, config: &SessionConfig) -> Result<(), PlatformError>;
    /// Activates or deactivates the session (iOS `setActive`, Android audio focus request /
    /// abandon). Only called in [`SessionManagement::Sdk`] mode.
    fn set_active(&self, active: bool) -> Result<(), PlatformError>;
    /// The current and available routes.
    fn routes(&self) -> Result<RouteSnapshot, PlatformError>;
    /// Routes output (and the matching input) to a route of `kind`, preferably port `id`.
    fn apply_route(&self, kind: super::RouteKind, id: Option<&str>) -> Result<(), PlatformError>;
}

/// The platform device's audio threads, as the controller drives them.
pub trait AudioEngineControl: Send + Sync {
    /// Stops the audio threads, keeping the pipeline ends for a later resume.
    fn suspend(&self) -> Result<(), PlatformError>;
    /// Restarts the audio threads after a suspend.
    fn resume(&self) -> Result<(), PlatformError>;
    /// Throws away the OS audio objects and builds them again (media services reset,
    /// voice-processing switch on platforms that need a new stream for it).
    fn rebuild(&self) -> Result<(), PlatformError>;
    /// Turns platform voice processing (echo cancellation, AGC, noise suppression) on or off.
    fn set_voice_processing(&self, enabled: bool) -> Result<(), PlatformError>;
}

/// Everything the app hears about platform audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformAudioEvent {
    /// Route news.
    Route(RouteEvent),
    /// Interruption news.
    Interruption(InterruptionEvent),
    /// Voice processing was switched.
    VoiceProcessingChanged {
        /// The new setting.
        enabled: bool,
    },
    /// The OS stream died (device disconnected) and was opened again.
    StreamReopened {
        /// Attempts it took.
        attempts: u32,
    },
    /// Something failed that the app may want to show; audio may be off.
    Error {
        /// What failed.
        message: String,
    },
}

/// Receives [`PlatformAudioEvent`]s. Called on control threads, never the audio thread.
pub trait PlatformAudioListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: PlatformAudioEvent);
}

#[derive(Debug)]
struct ControllerState {
    config: SessionConfig,
    routes: RouteMachine,
    interruptions: InterruptionMachine,
    retry_timer_armed: bool,
}

/// Drives platform audio policy; shared as `Arc<PlatformAudioController>`.
pub struct PlatformAudioController {
    state: Mutex<ControllerState>,
    backend: Arc<dyn AudioSessionBackend>,
    engine: Mutex<Option<Weak<dyn AudioEngineControl>>>,
    listener: Mutex<Option<Arc<dyn PlatformAudioListener>>>,
    levels: Mutex<Option<LevelTaps>>,
    me: Weak<PlatformAudioController>,
}

impl std::fmt::Debug for PlatformAudioController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformAudioController")
            .field("state", &*self.lock_state())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PlatformAudioController {
    /// A controller for `backend` with `config`.
    pub fn new(config: SessionConfig, backend: Arc<dyn AudioSessionBackend>) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            state: Mutex::new(ControllerState {
                config,
                routes: RouteMachine::new(config.route_policy),
                interruptions: InterruptionMachine::new(config.resume_policy),
                retry_timer_armed: false,
            }),
            backend,
            engine: Mutex::new(None),
            listener: Mutex::new(None),
            levels: Mutex::new(None),
            me: me.clone(),
        })
    }

    fn lock_state(&self) -> MutexGuard<'_, ControllerState> {
        lock(&self.state)
    }

    /// The configuration in force.
    pub fn config(&self) -> SessionConfig {
        self.lock_state().config
    }

    /// Connects the device's engine (held weakly: the device owns the controller, not the
    /// other way round).
    pub fn attach_engine(&self, engine: Weak<dyn AudioEngineControl>) {
        *lock(&self.engine) = Some(engine);
    }

    fn engine(&self) -> Option<Arc<dyn AudioEngineControl>> {
        lock(&self.engine).as_ref().and_then(Weak::upgrade)
    }

    /// True once a device attached its engine. Without one the app runs its own audio I/O
    /// (push/pull audio, a React Native audio module) and the controller only drives the
    /// session: it reports interruptions, and resuming means reactivating the session.
    fn has_engine(&self) -> bool {
        lock(&self.engine).is_some()
    }

    /// Connects the level meters of the running device's callbacks (`None` when it stops).
    pub fn attach_levels(&self, levels: Option<LevelTaps>) {
        *lock(&self.levels) = levels;
    }

    /// The latest microphone and speaker levels of the running device, or `None` while no
    /// device with meters runs (a device is stopped, or the app runs its own audio I/O).
    pub fn levels(&self) -> Option<crate::levels::AudioLevels> {
        lock(&self.levels).as_ref().map(LevelTaps::read)
    }

    /// Sets the listener. It first hears the routes as they are now (available, then
    /// current), then every change.
    pub fn set_listener(&self, listener: Option<Arc<dyn PlatformAudioListener>>) {
        *lock(&self.listener) = listener.clone();
        if let Some(l) = listener {
            let (available, current) = {
                let s = self.lock_state();
                (s.routes.available().to_vec(), s.routes.current().cloned())
            };
            l.on_event(PlatformAudioEvent::Route(
                RouteEvent::AvailableRoutesChanged { routes: available },
            ));
            l.on_event(PlatformAudioEvent::Route(RouteEvent::RouteChanged {
                from: None,
                to: current,
                reason: RouteChangeReason::Initial,
            }));
        }
    }

    fn emit(&self, event: PlatformAudioEvent) {
        tracing::debug!(?event, "platform audio event");
        let listener = lock(&self.listener).clone();
        if let Some(l) = listener {
            l.on_event(event);
        }
    }

    /// The device is starting: configure and activate the session (SDK mode), read the
    /// routes, apply the route policy.
    pub fn engine_starting(&self) -> Result<(), PlatformError> {
        let config = self.config();
        if config.management == SessionManagement::Sdk {
            self.backend.configure(&config)?;
            self.backend.set_active(true)?;
        }
        Ok(())
    }

    /// The device started its audio threads.
    pub fn engine_started(&self) {
        self.feed_interruption(InterruptionInput::EngineStarted);
        self.route_changed(RouteChangeReason::Initial);
    }

    /// The device stopped; deactivate the session (SDK mode).
    pub fn engine_stopped(&self) {
        self.feed_interruption(InterruptionInput::EngineStopped);
        if self.config().management == SessionManagement::Sdk
            && let Err(e) = self.backend.set_active(false)
        {
            // Deactivation fails while other I/O runs (e.g. a player in the app): harmless.
            tracing::debug!(%e, "session deactivation failed");
        }
    }

    /// The route as last reported.
    pub fn current_route(&self) -> Option<AudioRoute> {
        self.lock_state().routes.current().cloned()
    }

    /// The routes as last reported.
    pub fn available_routes(&self) -> Vec<AudioRoute> {
        self.lock_state().routes.available().to_vec()
    }

    /// What is selected (automatic or a kind).
    pub fn route_selection(&self) -> RouteSelection {
        self.lock_state().routes.selection()
    }

    /// Reads the routes from the platform now (for a route picker) and feeds them in.
    pub fn refresh_routes(&self) -> Result<Vec<AudioRoute>, PlatformError> {
        let snapshot = self.backend.routes()?;
        self.feed_route(RouteInput::Observed {
            current: snapshot.current,
            available: snapshot.available,
            reason: RouteChangeReason::Other,
        })?;
        Ok(self.available_routes())
    }

    /// Chooses a route (or automatic). Fails with [`PlatformError::RouteUnavailable`] when no
    /// route of that kind is connected, or with the platform's error when applying it fails.
    pub fn select_route(&self, selection: RouteSelection) -> Result<(), PlatformError> {
        // Fresh routes first, so a headset connected a moment ago can be chosen.
        if let Ok(snapshot) = self.backend.routes() {
            self.feed_route(RouteInput::Observed {
                current: snapshot.current,
                available: snapshot.available,
                reason: RouteChangeReason::Other,
            })?;
        }
        self.feed_route(RouteInput::Select(selection))
    }

    /// The OS reported a route change: read the routes from the backend and feed them in.
    pub fn route_changed(&self, reason: RouteChangeReason) {
        match self.backend.routes() {
            Ok(snapshot) => self.route_observed(snapshot, reason),
            Err(e) => self.emit(PlatformAudioEvent::Error {
                message: e.to_string(),
            }),
        }
    }

    /// The OS reported a route change with the routes attached (push-style platforms).
    pub fn route_observed(&self, snapshot: RouteSnapshot, reason: RouteChangeReason) {
        // Observations never fail; only selections can.
        let _ = self.feed_route(RouteInput::Observed {
            current: snapshot.current,
            available: snapshot.available,
            reason,
        });
    }

    fn feed_route(&self, input: RouteInput) -> Result<(), PlatformError> {
        let outputs = self.lock_state().routes.handle(input)?;
        self.run_route_outputs(outputs);
        Ok(())
    }

    fn run_route_outputs(&self, outputs: RouteOutputs) {
        let RouteOutputs { actions, events } = outputs;
        for e in events {
            self.emit(PlatformAudioEvent::Route(e));
        }
        for RouteAction::Apply { kind, id } in actions {
            tracing::info!(%kind, "applying audio route");
            let input = match self.backend.apply_route(kind, id.as_deref()) {
                // Read back what the platform did; an OS that ignored us counts against the
                // re-apply budget, so this recursion is bounded.
                Ok(()) => match self.backend.routes() {
                    Ok(snapshot) => RouteInput::Observed {
                        current: snapshot.current,
                        available: snapshot.available,
                        reason: RouteChangeReason::Applied,
                    },
                    Err(e) => RouteInput::ApplyFailed {
                        kind,
                        message: e.to_string(),
                    },
                },
                Err(e) => RouteInput::ApplyFailed {
                    kind,
                    message: e.to_string(),
                },
            };
            if let Ok(outputs) = self.lock_state().routes.handle(input) {
                self.run_route_outputs(outputs);
            }
        }
    }

    /// Feeds an interruption input (from OS notifications, or [`InterruptionInput::ResumeRequested`]
    /// from the app) and carries out what it asks.
    pub fn handle_interruption(&self, input: InterruptionInput) {
        self.feed_interruption(input);
    }

    /// Android's audio focus changed (reported by the app's AudioManager session).
    pub fn focus_changed(&self, change: FocusChange) {
        if let Some(input) = change.to_input() {
            self.feed_interruption(input);
        }
    }

    /// The app's "resume audio" (after [`InterruptionEvent::ResumeNeedsUser`]).
    pub fn resume(&self) {
        self.feed_interruption(InterruptionInput::ResumeRequested);
    }

    /// Where the interruption machine stands.
    pub fn interruption_state(&self) -> InterruptionState {
        self.lock_state().interruptions.state()
    }

    fn feed_interruption(&self, input: InterruptionInput) {
        let outputs = self
            .lock_state()
            .interruptions
            .handle(input, Instant::now());
        self.run_interruption_outputs(outputs);
    }

    fn run_interruption_outputs(&self, outputs: InterruptionOutputs) {
        let InterruptionOutputs { actions, events } = outputs;
        for e in events {
            self.emit(PlatformAudioEvent::Interruption(e));
        }
        for action in actions {
            self.run_interruption_action(action);
        }
        self.arm_retry_timer();
    }

    fn run_interruption_action(&self, action: InterruptionAction) {
        let engine = self.engine();
        match action {
            InterruptionAction::Suspend => {
                if let Some(engine) = engine
                    && let Err(e) = engine.suspend()
                {
                    tracing::warn!(%e, "suspending audio failed");
                }
            }
            InterruptionAction::Rebuild => {
                let config = self.config();
                let result = if config.management == SessionManagement::Sdk {
                    self.backend.configure(&config)
                } else {
                    Ok(())
                };
                let result = result.and_then(|()| engine.map_or(Ok(()), |engine| engine.rebuild()));
                if let Err(e) = result {
                    self.emit(PlatformAudioEvent::Error {
                        message: e.to_string(),
                    });
                }
            }
            InterruptionAction::Resume => {
                let result = self.try_resume(engine);
                let input = match result {
                    Ok(()) => InterruptionInput::ResumeSucceeded,
                    Err(e) => {
                        tracing::info!(%e, "resume failed; will retry");
                        InterruptionInput::ResumeFailed
                    }
                };
                let outputs = self
                    .lock_state()
                    .interruptions
                    .handle(input, Instant::now());
                let resumed = outputs.events.contains(&InterruptionEvent::Resumed);
                self.run_interruption_outputs(outputs);
                if resumed {
                    // The route may have changed while we were off (the call ended on a
                    // headset); re-read it and re-apply the policy.
                    self.route_changed(RouteChangeReason::Other);
                }
            }
        }
    }

    fn try_resume(&self, engine: Option<Arc<dyn AudioEngineControl>>) -> Result<(), PlatformError> {
        if self.config().management == SessionManagement::Sdk {
            self.backend.set_active(true)?;
        }
        match engine {
            Some(engine) => engine.resume(),
            // The app runs its own I/O: the session is active again; it restarts its I/O when
            // it hears `Resumed`.
            None if !self.has_engine() => Ok(()),
            None => Err(PlatformError::NotRunning),
        }
    }

    /// Runs due resume retries (the controller arms its own timer thread; platforms with a
    /// run loop may call this too).
    pub fn handle_timeout(&self) {
        let outputs = self
            .lock_state()
            .interruptions
            .handle_timeout(Instant::now());
        self.run_interruption_outputs(outputs);
    }

    fn arm_retry_timer(&self) {
        let at = {
            let mut s = self.lock_state();
            match s.interruptions.poll_timeout() {
                Some(at) if !s.retry_timer_armed => {
                    s.retry_timer_armed = true;
                    at
                }
                _ => return,
            }
        };
        let me = self.me.clone();
        let spawned = std::thread::Builder::new()
            .name("voicewire-audio-resume".into())
            .spawn(move || {
                std::thread::sleep(at.saturating_duration_since(Instant::now()));
                if let Some(me) = me.upgrade() {
                    me.lock_state().retry_timer_armed = false;
                    me.handle_timeout();
                }
            });
        if let Err(e) = spawned {
            self.lock_state().retry_timer_armed = false;
            tracing::warn!(%e, "could not start the resume timer");
        }
    }

    /// Switches platform voice processing on or off at runtime.
    pub fn set_voice_processing(&self, enabled: bool) -> Result<(), PlatformError> {
        if let Some(engine) = self.engine() {
            engine.set_voice_processing(enabled)?;
        }
        self.lock_state().config.voice_processing = enabled;
        self.emit(PlatformAudioEvent::VoiceProcessingChanged { enabled });
        Ok(())
    }

    /// Whether voice processing is on.
    pub fn voice_processing(&self) -> bool {
        self.lock_state().config.voice_processing
    }

    /// The device reopened its OS stream after a disconnect.
    pub fn stream_reopened(&self, attempts: u32) {
        self.emit(PlatformAudioEvent::StreamReopened { attempts });
        self.route_changed(RouteChangeReason::DeviceDisconnected);
    }

    /// The device reports a failure the app should know about.
    pub fn report_error(&self, message: impl Into<String>) {
        self.emit(PlatformAudioEvent::Error {
            message: message.into(),
        });
    }
}

/// Backoff for reopening a stream whose device disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReopenPolicy {
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Wait before the second attempt (the first is immediate); doubles each time.
    pub first_wait: Duration,
    /// Longest wait.
    pub max_wait: Duration,
}

impl Default for ReopenPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            first_wait: Duration::from_millis(100),
            max_wait: Duration::from_secs(2),
        }
    }
}

impl ReopenPolicy {
    /// How long to wait before attempt `attempt` (1-based), or `None` when out of attempts.
    pub fn wait_before(&self, attempt: u32) -> Option<Duration> {
        match attempt {
            0 => Some(Duration::ZERO),
            a if a > self.max_attempts => None,
            1 => Some(Duration::ZERO),
            a => Some(
                self.first_wait
                    .saturating_mul(1u32 << (a - 2).min(16))
                    .min(self.max_wait),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::RouteKind;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    /// A scripted session for testing the controller's wiring (pure logic, no platform).
    #[derive(Default)]
    struct ScriptedSession {
        routes: Mutex<RouteSnapshot>,
        applied: Mutex<Vec<RouteKind>>,
        activations: Mutex<Vec<bool>>,
        configured: AtomicU32,
        refuse_activation: AtomicBool,
    }

    impl AudioSessionBackend for ScriptedSession {
        fn configure(&self, _: &SessionConfig) -> Result<(), PlatformError> {
            self.configured.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        fn set_active(&self, active: bool) -> Result<(), PlatformError> {
            if active && self.refuse_activation.load(Ordering::SeqCst) {
                return Err(PlatformError::backend("set active", "busy"));
            }
            lock(&self.activations).push(active);
            Ok(())
        }
        fn routes(&self) -> Result<RouteSnapshot, PlatformError> {
            Ok(lock(&self.routes).clone())
        }
        fn apply_route(&self, kind: RouteKind, _id: Option<&str>) -> Result<(), PlatformError> {
            lock(&self.applied).push(kind);
            let mut r = lock(&self.routes);
            let new = r.available.iter().find(|a| a.kind == kind).cloned();
            r.current = new;
            Ok(())
        }
    }

    #[derive(Default)]
    struct CountingEngine {
        suspends: AtomicU32,
        resumes: AtomicU32,
        voice_processing: AtomicBool,
    }

    impl AudioEngineControl for CountingEngine {
        fn suspend(&self) -> Result<(), PlatformError> {
            self.suspends.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        fn resume(&self) -> Result<(), PlatformError> {
            self.resumes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        fn rebuild(&self) -> Result<(), PlatformError> {
            Ok(())
        }
        fn set_voice_processing(&self, enabled: bool) -> Result<(), PlatformError> {
            self.voice_processing.store(enabled, Ordering::SeqCst);
            Ok(())
        }
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<PlatformAudioEvent>>);
    impl PlatformAudioListener for Recorder {
        fn on_event(&self, event: PlatformAudioEvent) {
            lock(&self.0).push(event);
        }
    }

    fn builtin() -> RouteSnapshot {
        RouteSnapshot {
            current: Some(AudioRoute::new(RouteKind::Earpiece, "rcv", "Receiver")),
            available: vec![
                AudioRoute::new(RouteKind::Earpiece, "rcv", "Receiver"),
                AudioRoute::new(RouteKind::Speaker, "spk", "Speaker"),
            ],
        }
    }

    fn setup(
        config: SessionConfig,
    ) -> (
        Arc<PlatformAudioController>,
        Arc<ScriptedSession>,
        Arc<CountingEngine>,
        Arc<Recorder>,
    ) {
        let session = Arc::new(ScriptedSession::default());
        *lock(&session.routes) = builtin();
        let controller = PlatformAudioController::new(config, session.clone());
        let engine = Arc::new(CountingEngine::default());
        let weak: Weak<dyn AudioEngineControl> = Arc::downgrade(&engine) as _;
        controller.attach_engine(weak);
        let recorder = Arc::new(Recorder::default());
        controller.set_listener(Some(recorder.clone()));
        (controller, session, engine, recorder)
    }

    #[test]
    fn start_configures_activates_and_applies_the_speaker_default() {
        let (c, session, _engine, _rec) = setup(SessionConfig::default());
        c.engine_starting().unwrap();
        c.engine_started();
        assert_eq!(session.configured.load(Ordering::SeqCst), 1);
        assert_eq!(*lock(&session.activations), vec![true]);
        assert_eq!(*lock(&session.applied), vec![RouteKind::Speaker]);
        c.engine_stopped();
        assert_eq!(*lock(&session.activations), vec![true, false]);
    }

    #[test]
    fn app_managed_sessions_are_never_configured_or_activated() {
        let (c, session, engine, _rec) = setup(SessionConfig {
            management: SessionManagement::App,
            ..SessionConfig::default()
        });
        c.engine_starting().unwrap();
        c.engine_started();
        c.handle_interruption(InterruptionInput::Began(
            super::super::InterruptionSource::Call,
        ));
        c.handle_interruption(InterruptionInput::Ended {
            should_resume: true,
        });
        c.engine_stopped();
        assert_eq!(session.configured.load(Ordering::SeqCst), 0);
        assert!(lock(&session.activations).is_empty());
        // Routes and resume still work.
        assert_eq!(*lock(&session.applied), vec![RouteKind::Speaker]);
        assert_eq!(engine.resumes.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn simulated_interruption_suspends_resumes_and_reapplies_the_route() {
        let (c, session, engine, rec) = setup(SessionConfig::default());
        c.engine_starting().unwrap();
        c.engine_started();
        // A call comes in; during it the OS moves audio back to the receiver.
        c.handle_interruption(InterruptionInput::Began(
            super::super::InterruptionSource::Call,
        ));
        assert_eq!(engine.suspends.load(Ordering::SeqCst), 1);
        *lock(&session.routes) = builtin();
        c.handle_interruption(InterruptionInput::Ended {
            should_resume: true,
        });
        assert_eq!(engine.resumes.load(Ordering::SeqCst), 1);
        assert_eq!(c.interruption_state(), InterruptionState::Running);
        assert_eq!(
            *lock(&session.applied),
            vec![RouteKind::Speaker, RouteKind::Speaker],
            "the speaker default is restored after the call"
        );
        let events = lock(&rec.0).clone();
        assert!(events.contains(&PlatformAudioEvent::Interruption(
            InterruptionEvent::Interrupted {
                source: super::super::InterruptionSource::Call
            }
        )));
        assert!(events.contains(&PlatformAudioEvent::Interruption(
            InterruptionEvent::Resumed
        )));
    }

    #[test]
    fn a_refused_activation_is_retried_by_the_timer_thread() {
        let (c, session, engine, rec) = setup(SessionConfig {
            resume_policy: ResumePolicy {
                first_retry: Duration::from_millis(1),
                max_retry: Duration::from_millis(2),
                ..ResumePolicy::default()
            },
            ..SessionConfig::default()
        });
        c.engine_starting().unwrap();
        c.engine_started();
        c.handle_interruption(InterruptionInput::Began(
            super::super::InterruptionSource::Assistant,
        ));
        session.refuse_activation.store(true, Ordering::SeqCst);
        c.handle_interruption(InterruptionInput::Ended {
            should_resume: true,
        });
        assert_eq!(engine.resumes.load(Ordering::SeqCst), 0);
        assert!(matches!(
            c.interruption_state(),
            InterruptionState::RetryWait { .. }
        ));
        session.refuse_activation.store(false, Ordering::SeqCst);
        // Wait (bounded) for the timer thread's retry.
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.interruption_state() != InterruptionState::Running && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(c.interruption_state(), InterruptionState::Running);
        assert_eq!(engine.resumes.load(Ordering::SeqCst), 1);
        assert!(lock(&rec.0).contains(&PlatformAudioEvent::Interruption(
            InterruptionEvent::Resumed
        )));
    }

    #[test]
    fn listener_hears_current_routes_first_and_selection_errors_are_typed() {
        let (c, session, _engine, first_listener) = setup(SessionConfig::default());
        c.engine_starting().unwrap();
        c.engine_started();
        let heard_before = lock(&first_listener.0).len();
        let late = Arc::new(Recorder::default());
        c.set_listener(Some(late.clone()));
        let first = lock(&late.0).clone();
        assert!(matches!(
            &first[0],
            PlatformAudioEvent::Route(RouteEvent::AvailableRoutesChanged { routes }) if routes.len() == 2
        ));
        assert!(matches!(
            &first[1],
            PlatformAudioEvent::Route(RouteEvent::RouteChanged { to: Some(r), .. }) if r.kind == RouteKind::Speaker
        ));
        let err = c
            .select_route(RouteSelection::Kind(RouteKind::Bluetooth))
            .unwrap_err();
        assert!(matches!(err, PlatformError::RouteUnavailable(_)));
        c.select_route(RouteSelection::Kind(RouteKind::Earpiece))
            .unwrap();
        assert_eq!(c.current_route().unwrap().kind, RouteKind::Earpiece);
        // Something else overrides to the speaker: the choice is re-applied.
        {
            let mut r = lock(&session.routes);
            r.current = Some(AudioRoute::new(RouteKind::Speaker, "spk", "Speaker"));
        }
        c.route_changed(RouteChangeReason::Override);
        assert_eq!(c.current_route().unwrap().kind, RouteKind::Earpiece);
        assert_eq!(
            *lock(&session.applied),
            vec![RouteKind::Speaker, RouteKind::Earpiece, RouteKind::Earpiece]
        );
        assert!(lock(&late.0).iter().any(|e| matches!(
            e,
            PlatformAudioEvent::Route(RouteEvent::RouteChanged {
                reason: RouteChangeReason::Override,
                ..
            })
        )));
        assert_eq!(
            lock(&first_listener.0).len(),
            heard_before,
            "a replaced listener hears nothing more"
        );
    }

    #[test]
    fn voice_processing_switch_reaches_the_engine_and_the_app() {
        let (c, _s, engine, rec) = setup(SessionConfig::default());
        assert!(c.voice_processing());
        c.set_voice_processing(false).unwrap();
        assert!(!engine.voice_processing.load(Ordering::SeqCst));
        assert!(!c.voice_processing());
        assert!(
            lock(&rec.0).contains(&PlatformAudioEvent::VoiceProcessingChanged { enabled: false })
        );
    }

    #[test]
    fn without_an_engine_resuming_reactivates_the_session_for_app_driven_io() {
        let session = Arc::new(ScriptedSession::default());
        *lock(&session.routes) = builtin();
        let c = PlatformAudioController::new(SessionConfig::default(), session.clone());
        let rec = Arc::new(Recorder::default());
        c.set_listener(Some(rec.clone()));
        c.engine_starting().unwrap();
        c.engine_started();
        c.handle_interruption(InterruptionInput::Began(
            super::super::InterruptionSource::Call,
        ));
        c.handle_interruption(InterruptionInput::Ended {
            should_resume: true,
        });
        assert_eq!(c.interruption_state(), InterruptionState::Running);
        assert_eq!(*lock(&session.activations), vec![true, true]);
        assert!(lock(&rec.0).contains(&PlatformAudioEvent::Interruption(
            InterruptionEvent::Resumed
        )));
        assert_eq!(c.levels(), None, "no device, no meters");
    }

    #[test]
    fn an_engine_that_went_away_cannot_be_resumed() {
        let (c, _session, engine, _rec) = setup(SessionConfig {
            resume_policy: ResumePolicy {
                max_attempts: 1,
                ..ResumePolicy::default()
            },
            ..SessionConfig::default()
        });
        c.engine_starting().unwrap();
        c.engine_started();
        c.handle_interruption(InterruptionInput::Began(
            super::super::InterruptionSource::Call,
        ));
        drop(engine);
        c.handle_interruption(InterruptionInput::Ended {
            should_resume: true,
        });
        assert!(matches!(
            c.interruption_state(),
            InterruptionState::Suspended { ended: true, .. }
        ));
    }

    #[test]
    fn reopen_backoff() {
        let p = ReopenPolicy::default();
        let waits: Vec<_> = (1..=7).map(|a| p.wait_before(a)).collect();
        assert_eq!(
            waits,
            vec![
                Some(Duration::ZERO),
                Some(Duration::from_millis(100)),
                Some(Duration::from_millis(200)),
                Some(Duration::from_millis(400)),
                Some(Duration::from_millis(800)),
                Some(Duration::from_millis(1600)),
                None
            ]
        );
    }
}
