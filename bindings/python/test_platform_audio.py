"""Platform audio from Python (scripts/interop/40-bindings-python.sh picks this file up).

The audio session is implemented here, in Python, the way the Kotlin package's
AndroidAudioSession implements it on a phone: it simulates a phone's routes (receiver,
speaker, a wired headset the test plugs in) and records what VoiceWire asks of it. The route
policy, the interruption machine and event delivery are the real Rust ones behind the
generated bindings; events arrive on a VoiceWire thread, so the test waits for them with a
generous hang guard instead of sleeping.
"""

import threading

import pytest

import voicewire_ffi as vw

TIMEOUT = 30  # generous, only to avoid hangs


def route(kind, route_id):
    return vw.AudioRoute(kind=kind, id=route_id, name=str(kind))


class SimulatedPhone(vw.AudioSessionBackend):
    """An AudioManager/AVAudioSession stand-in with routes the test can change."""

    def __init__(self):
        self.lock = threading.Lock()
        self.available = [
            route(vw.AudioRouteKind.EARPIECE, "rcv"),
            route(vw.AudioRouteKind.SPEAKER, "spk"),
        ]
        # Voice-chat sessions start on the receiver, as on iOS and Android.
        self.current = self.available[0]
        self.calls = []
        self.refuse_next_activation = False

    def configure(self, voice_processing, allow_bluetooth_a2dp):
        with self.lock:
            self.calls.append(("configure", voice_processing))

    def set_active(self, active):
        with self.lock:
            if active and self.refuse_next_activation:
                self.refuse_next_activation = False
                raise vw.VoiceError.AudioDevice("audio focus refused: a call is active")
            self.calls.append(("set_active", active))

    def routes(self):
        with self.lock:
            return vw.AudioRouteSnapshot(current=self.current, available=list(self.available))

    def apply_route(self, kind, route_id):
        with self.lock:
            self.calls.append(("apply", kind))
            matching = [r for r in self.available if r.kind == kind]
            if not matching:
                raise vw.VoiceError.AudioDevice(f"no {kind} route")
            self.current = matching[0]

    def plug_wired_headset(self):
        """The OS moves output to a headset on its own when it is plugged in."""
        with self.lock:
            wired = route(vw.AudioRouteKind.WIRED, "jack")
            self.available.append(wired)
            self.current = wired

    def recorded(self):
        with self.lock:
            return list(self.calls)


class Recorder(vw.PlatformAudioListener):
    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def on_event(self, event):
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait_for(self, what, predicate, count=1):
        with self.cond:
            ok = self.cond.wait_for(
                lambda: sum(1 for e in self.events if predicate(e)) >= count, timeout=TIMEOUT
            )
            assert ok, f"no {what} event; got {self.events}"


def routed_to(kind):
    return lambda e: e.is_ROUTE_CHANGED() and e.to is not None and e.to.kind == kind


def new_control(**changes):
    options = vw.default_platform_audio_options()
    for name, value in changes.items():
        setattr(options, name, value)
    phone = SimulatedPhone()
    return vw.AudioRouteControl(options, phone), phone


def test_speaker_selection_and_a_plugged_headset_reach_python():
    control, phone = new_control()
    listener = Recorder()
    handle = control.subscribe(listener)
    listener.wait_for("initial", lambda e: e.is_ROUTE_CHANGED() and e.reason == vw.AudioRouteChangeReason.INITIAL)

    control.activate_session()
    assert phone.recorded()[:3] == [
        ("configure", True),
        ("set_active", True),
        ("apply", vw.AudioRouteKind.SPEAKER),
    ], "configured, activated, then the speaker default applied"
    listener.wait_for("speaker", routed_to(vw.AudioRouteKind.SPEAKER))

    control.select_route(vw.AudioRouteSelection.EARPIECE)
    assert control.current_route().kind == vw.AudioRouteKind.EARPIECE
    control.select_route(vw.AudioRouteSelection.SPEAKER)
    assert phone.recorded()[-1] == ("apply", vw.AudioRouteKind.SPEAKER), "selecting the speaker calls the Python backend"
    assert control.selected_route() == vw.AudioRouteSelection.SPEAKER
    assert [r.kind for r in control.available_routes()] == [vw.AudioRouteKind.EARPIECE, vw.AudioRouteKind.SPEAKER]

    with pytest.raises(vw.VoiceError.AudioDevice):
        control.select_route(vw.AudioRouteSelection.BLUETOOTH)

    phone.plug_wired_headset()
    control.report_route_change(vw.AudioRouteChangeReason.DEVICE_CONNECTED)
    listener.wait_for("wired", routed_to(vw.AudioRouteKind.WIRED))
    listener.wait_for(
        "three routes", lambda e: e.is_AVAILABLE_ROUTES_CHANGED() and len(e.routes) == 3
    )
    assert control.current_route().kind == vw.AudioRouteKind.WIRED
    assert control.selected_route() == vw.AudioRouteSelection.AUTOMATIC, "the headset won over the chosen speaker"

    control.deactivate_session()
    assert phone.recorded()[-1] == ("set_active", False)
    handle.cancel()


def test_interruptions_suspend_and_resume_and_a_refused_resume_is_retried():
    control, phone = new_control()
    listener = Recorder()
    handle = control.subscribe(listener)
    control.activate_session()

    control.report_interruption_began(vw.AudioInterruptionSource.CALL)
    listener.wait_for(
        "interrupted",
        lambda e: e.is_INTERRUPTED() and e.source == vw.AudioInterruptionSource.CALL,
    )
    assert control.is_interrupted()
    control.report_interruption_ended(True)
    listener.wait_for("resumed", lambda e: e.is_RESUMED())
    assert not control.is_interrupted()

    # Focus lost for a while; the phone app still holds audio focus when the call ends, so
    # the first reactivation fails in Python and the Rust timer thread retries it.
    control.report_focus_change(vw.AudioFocusChange.LOST_TRANSIENT)
    listener.wait_for(
        "focus loss",
        lambda e: e.is_INTERRUPTED() and e.source == vw.AudioInterruptionSource.TRANSIENT_FOCUS_LOSS,
    )
    phone.refuse_next_activation = True
    control.report_focus_change(vw.AudioFocusChange.GAINED)
    listener.wait_for("resumed after retry", lambda e: e.is_RESUMED(), count=2)
    assert not control.is_interrupted()
    handle.cancel()


def test_voice_processing_switch_levels_and_typed_option_errors():
    control, _phone = new_control()
    listener = Recorder()
    handle = control.subscribe(listener)
    assert control.voice_processing()
    control.set_voice_processing(False)
    assert not control.voice_processing()
    listener.wait_for(
        "switch", lambda e: e.is_VOICE_PROCESSING_CHANGED() and e.enabled is False
    )
    assert control.levels() is None, "app-driven audio has no device meters"
    handle.cancel()

    with pytest.raises(vw.VoiceError.Other):
        new_control(builtin_route=vw.AudioRouteKind.BLUETOOTH)
    with pytest.raises(vw.VoiceError.AudioDevice):
        vw.PlatformAudio(vw.default_platform_audio_options(), None)


def test_app_managed_session_is_left_alone():
    control, phone = new_control(management=vw.AudioSessionManagement.APP)
    control.activate_session()
    control.report_interruption_began(vw.AudioInterruptionSource.ASSISTANT)
    control.report_interruption_ended(True)
    control.deactivate_session()
    assert phone.recorded() == [("apply", vw.AudioRouteKind.SPEAKER)]
