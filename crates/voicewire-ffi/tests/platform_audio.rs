//! The FFI's platform-audio surface on Linux: an `AudioSessionBackend` implemented outside
//! the shared crate (as Kotlin's `AndroidAudioSession` is) simulates a phone's routes and
//! focus, and `AudioRouteControl` drives it through the real route policy and interruption
//! machine; events reach a subscribed `PlatformAudioListener` on the FFI runtime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use voicewire_ffi::{
    AudioFocusChange, AudioInterruptionSource, AudioRoute, AudioRouteChangeReason,
    AudioRouteControl, AudioRouteKind, AudioRouteSelection, AudioRouteSnapshot,
    AudioSessionBackend, AudioSessionManagement, PlatformAudio, PlatformAudioEvent,
    PlatformAudioListener, PlatformAudioOptions, VoiceError, default_platform_audio_options,
};

const HANG_GUARD: Duration = Duration::from_secs(30);

fn route(kind: AudioRouteKind, id: &str) -> AudioRoute {
    AudioRoute {
        kind,
        id: id.into(),
        name: format!("{kind:?}"),
    }
}

/// What the simulated phone was asked to do.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Configure { voice_processing: bool },
    SetActive(bool),
    Apply(AudioRouteKind),
}

/// A phone's audio session: earpiece and speaker built in, headsets plugged by the test.
#[derive(Default)]
struct SimulatedPhone {
    state: Mutex<PhoneState>,
}

#[derive(Default)]
struct PhoneState {
    current: Option<AudioRoute>,
    available: Vec<AudioRoute>,
    calls: Vec<Call>,
    refuse_routes: bool,
}

impl SimulatedPhone {
    fn new() -> Arc<Self> {
        let phone = Self::default();
        {
            let mut s = phone.state.lock().unwrap();
            s.available = vec![
                route(AudioRouteKind::Earpiece, "rcv"),
                route(AudioRouteKind::Speaker, "spk"),
            ];
            // Voice-chat sessions start on the receiver, as iOS and Android do.
            s.current = Some(route(AudioRouteKind::Earpiece, "rcv"));
        }
        Arc::new(phone)
    }

    fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// A wired headset is plugged in; like a phone, output moves to it on its own.
    fn plug_wired_headset(&self) {
        let mut s = self.state.lock().unwrap();
        let wired = route(AudioRouteKind::Wired, "jack");
        s.available.push(wired.clone());
        s.current = Some(wired);
    }
}

impl AudioSessionBackend for SimulatedPhone {
    fn configure(
        &self,
        voice_processing: bool,
        _allow_bluetooth_a2dp: bool,
    ) -> Result<(), VoiceError> {
        self.state
            .lock()
            .unwrap()
            .calls
            .push(Call::Configure { voice_processing });
        Ok(())
    }

    fn set_active(&self, active: bool) -> Result<(), VoiceError> {
        self.state
            .lock()
            .unwrap()
            .calls
            .push(Call::SetActive(active));
        Ok(())
    }

    fn routes(&self) -> Result<AudioRouteSnapshot, VoiceError> {
        let s = self.state.lock().unwrap();
        Ok(AudioRouteSnapshot {
            current: s.current.clone(),
            available: s.available.clone(),
        })
    }

    fn apply_route(&self, kind: AudioRouteKind, _id: Option<String>) -> Result<(), VoiceError> {
        let mut s = self.state.lock().unwrap();
        if s.refuse_routes {
            return Err(VoiceError::AudioDevice {
                detail: "AudioManager refused the route".into(),
            });
        }
        s.calls.push(Call::Apply(kind));
        s.current = s.available.iter().find(|r| r.kind == kind).cloned();
        Ok(())
    }
}

/// Collects events; tests wait for the one they expect (no sleeps, no timing).
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<PlatformAudioEvent>>,
    arrived: Condvar,
}

impl PlatformAudioListener for Recorder {
    fn on_event(&self, event: PlatformAudioEvent) {
        self.events.lock().unwrap().push(event);
        self.arrived.notify_all();
    }
}

impl Recorder {
    fn wait_for(&self, what: &str, matches: impl Fn(&PlatformAudioEvent) -> bool) {
        self.wait_for_n(what, 1, matches);
    }

    fn wait_for_n(&self, what: &str, n: usize, matches: impl Fn(&PlatformAudioEvent) -> bool) {
        let events = self.events.lock().unwrap();
        let (events, timeout) = self
            .arrived
            .wait_timeout_while(events, HANG_GUARD, |events| {
                events.iter().filter(|e| matches(e)).count() < n
            })
            .unwrap();
        assert!(!timeout.timed_out(), "no {what} event; got {events:?}");
    }

    fn count(&self, matches: impl Fn(&PlatformAudioEvent) -> bool) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches(e))
            .count()
    }
}

fn routed_to(kind: AudioRouteKind) -> impl Fn(&PlatformAudioEvent) -> bool {
    move |e| matches!(e, PlatformAudioEvent::RouteChanged { to: Some(r), .. } if r.kind == kind)
}

fn control(options: PlatformAudioOptions) -> (Arc<AudioRouteControl>, Arc<SimulatedPhone>) {
    let phone = SimulatedPhone::new();
    let control = AudioRouteControl::new(options, phone.clone()).unwrap();
    (control, phone)
}

#[test]
fn routes_are_listed_selected_and_follow_a_plugged_headset() {
    let (control, phone) = control(default_platform_audio_options());
    let listener = Arc::new(Recorder::default());
    let _handle = control.subscribe(listener.clone());
    listener.wait_for("initial", is_initial);

    control.activate_session().unwrap();
    assert_eq!(
        phone.calls()[..3],
        [
            Call::Configure {
                voice_processing: true
            },
            Call::SetActive(true),
            Call::Apply(AudioRouteKind::Speaker)
        ],
        "configured, activated, then the speaker default applied"
    );
    assert_eq!(control.available_routes().len(), 2);
    assert_eq!(
        control.current_route().unwrap().kind,
        AudioRouteKind::Speaker
    );
    listener.wait_for("speaker", routed_to(AudioRouteKind::Speaker));

    control.select_route(AudioRouteSelection::Earpiece).unwrap();
    assert_eq!(control.selected_route(), AudioRouteSelection::Earpiece);
    assert_eq!(
        control.current_route().unwrap().kind,
        AudioRouteKind::Earpiece
    );
    control.select_route(AudioRouteSelection::Speaker).unwrap();
    assert_eq!(
        phone.calls().last(),
        Some(&Call::Apply(AudioRouteKind::Speaker)),
        "selecting the speaker calls the backend"
    );

    let err = control
        .select_route(AudioRouteSelection::Bluetooth)
        .unwrap_err();
    assert!(
        matches!(&err, VoiceError::AudioDevice { detail } if detail.contains("bluetooth")),
        "{err:?}"
    );

    // The user plugs in a headset: the OS reports it, the headset wins over the chosen
    // speaker, and the app hears about both the new route list and the route.
    phone.plug_wired_headset();
    control.report_route_change(AudioRouteChangeReason::DeviceConnected);
    listener.wait_for("wired", routed_to(AudioRouteKind::Wired));
    listener.wait_for(
        "three routes",
        |e| matches!(e, PlatformAudioEvent::AvailableRoutesChanged { routes } if routes.len() == 3),
    );
    assert_eq!(control.current_route().unwrap().kind, AudioRouteKind::Wired);
    assert_eq!(control.selected_route(), AudioRouteSelection::Automatic);
    assert_eq!(control.refresh_routes().unwrap().len(), 3);

    control.deactivate_session().unwrap();
    assert_eq!(phone.calls().last(), Some(&Call::SetActive(false)));
}

#[test]
fn interruptions_and_focus_loss_suspend_and_resume() {
    let (control, phone) = control(default_platform_audio_options());
    let listener = Arc::new(Recorder::default());
    let _handle = control.subscribe(listener.clone());
    control.activate_session().unwrap();

    control.report_interruption_began(AudioInterruptionSource::Call);
    listener.wait_for("interrupted", |e| {
        *e == PlatformAudioEvent::Interrupted {
            source: AudioInterruptionSource::Call,
        }
    });
    assert!(control.is_interrupted());
    control.report_interruption_ended(true);
    listener.wait_for("resumed", |e| *e == PlatformAudioEvent::Resumed);
    assert!(!control.is_interrupted());
    let activations = phone
        .calls()
        .iter()
        .filter(|c| **c == Call::SetActive(true))
        .count();
    assert_eq!(activations, 2, "resuming reactivated the session");

    // Another app takes focus for good: no automatic resume, the app's button resumes.
    control.report_focus_change(AudioFocusChange::LostPermanent);
    control.report_focus_change(AudioFocusChange::Gained);
    listener.wait_for("needs user", |e| *e == PlatformAudioEvent::ResumeNeedsUser);
    assert!(control.is_interrupted());
    control.resume();
    assert!(!control.is_interrupted());
    listener.wait_for_n("second resume", 2, |e| *e == PlatformAudioEvent::Resumed);
    // A ducking notification does not interrupt a conversation.
    control.report_focus_change(AudioFocusChange::LostCanDuck);
    assert!(!control.is_interrupted());
}

#[test]
fn voice_processing_switch_and_levels() {
    let (control, _phone) = control(default_platform_audio_options());
    let listener = Arc::new(Recorder::default());
    let _handle = control.subscribe(listener.clone());
    assert!(control.voice_processing());
    control.set_voice_processing(false).unwrap();
    assert!(!control.voice_processing());
    listener.wait_for("switch", |e| {
        *e == PlatformAudioEvent::VoiceProcessingChanged { enabled: false }
    });
    assert_eq!(
        control.levels(),
        None,
        "app-driven audio has no device meters"
    );
}

#[test]
fn app_managed_sessions_are_never_configured_or_activated() {
    let (control, phone) = control(PlatformAudioOptions {
        management: AudioSessionManagement::App,
        ..default_platform_audio_options()
    });
    control.activate_session().unwrap();
    control.report_interruption_began(AudioInterruptionSource::Call);
    control.report_interruption_ended(true);
    control.deactivate_session().unwrap();
    assert_eq!(
        phone.calls(),
        vec![Call::Apply(AudioRouteKind::Speaker)],
        "only the route policy touched the session"
    );
}

#[test]
fn a_refused_route_is_a_typed_error_and_reported() {
    let (control, phone) = control(PlatformAudioOptions {
        builtin_route: AudioRouteKind::Earpiece,
        ..default_platform_audio_options()
    });
    let listener = Arc::new(Recorder::default());
    let _handle = control.subscribe(listener.clone());
    control.activate_session().unwrap();
    assert!(
        phone.calls().iter().all(|c| !matches!(c, Call::Apply(_))),
        "the earpiece default needs no change"
    );
    phone.state.lock().unwrap().refuse_routes = true;
    control.select_route(AudioRouteSelection::Speaker).unwrap();
    listener.wait_for("apply failed", |e| {
        matches!(e, PlatformAudioEvent::RouteApplyFailed { kind: AudioRouteKind::Speaker, detail }
            if detail.contains("AudioManager refused"))
    });
    assert_eq!(control.selected_route(), AudioRouteSelection::Automatic);

    let bad = AudioRouteControl::new(
        PlatformAudioOptions {
            builtin_route: AudioRouteKind::Bluetooth,
            ..default_platform_audio_options()
        },
        SimulatedPhone::new(),
    );
    assert!(matches!(bad, Err(VoiceError::Other { .. })));
}

#[test]
fn a_cancelled_subscription_hears_nothing_more() {
    let (control, _phone) = control(default_platform_audio_options());
    let first = Arc::new(Recorder::default());
    let second = Arc::new(Recorder::default());
    let first_handle = control.subscribe(first.clone());
    let _second_handle = control.subscribe(second.clone());
    first.wait_for("initial", is_initial);
    first_handle.cancel();
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while !first_handle.is_finished() {
        assert!(std::time::Instant::now() < deadline, "task never ended");
        std::thread::yield_now();
    }
    let heard = first.events.lock().unwrap().len();
    control.set_voice_processing(false).unwrap();
    second.wait_for("switch", |e| {
        *e == PlatformAudioEvent::VoiceProcessingChanged { enabled: false }
    });
    assert_eq!(first.events.lock().unwrap().len(), heard);
    assert_eq!(
        first.count(|e| matches!(e, PlatformAudioEvent::VoiceProcessingChanged { .. })),
        0
    );
}

fn is_initial(e: &PlatformAudioEvent) -> bool {
    matches!(
        e,
        PlatformAudioEvent::RouteChanged {
            reason: AudioRouteChangeReason::Initial,
            ..
        }
    )
}

#[test]
fn pushed_routes_and_a_media_services_reset_are_handled() {
    let (control, phone) = control(default_platform_audio_options());
    let listener = Arc::new(Recorder::default());
    let _handle = control.subscribe(listener.clone());
    control.activate_session().unwrap();

    // A push-style platform reports the routes with the change: a Bluetooth headset.
    let headset = route(AudioRouteKind::Bluetooth, "bt");
    {
        let mut s = phone.state.lock().unwrap();
        s.available.push(headset.clone());
    }
    let mut available = control.available_routes();
    available.push(headset.clone());
    control.report_routes(
        AudioRouteSnapshot {
            current: control.current_route(),
            available,
        },
        AudioRouteChangeReason::DeviceConnected,
    );
    listener.wait_for("bluetooth", routed_to(AudioRouteKind::Bluetooth));
    assert_eq!(
        phone.calls().last(),
        Some(&Call::Apply(AudioRouteKind::Bluetooth)),
        "the new headset was applied"
    );

    // Media services restart: the session is configured again and audio comes back.
    let configured_before = phone
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::Configure { .. }))
        .count();
    control.report_media_services_reset();
    let configured_after = phone
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::Configure { .. }))
        .count();
    assert_eq!(configured_after, configured_before + 1);
    assert!(!control.is_interrupted());
}

#[test]
fn dropping_an_active_control_deactivates_the_session() {
    let (control, phone) = control(default_platform_audio_options());
    control.activate_session().unwrap();
    drop(control);
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while phone.calls().last() != Some(&Call::SetActive(false)) {
        assert!(
            std::time::Instant::now() < deadline,
            "never deactivated: {:?}",
            phone.calls()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn platform_audio_is_a_typed_error_off_the_phones() {
    let err = PlatformAudio::new(default_platform_audio_options(), None).unwrap_err();
    assert!(matches!(err, VoiceError::AudioDevice { .. }), "{err:?}");
}
