// Platform audio routes for React Native: the FFI's AudioRouteControl (list and choose
// routes, the echo-cancellation switch, levels, route and interruption events) with a
// function-style subscription.
//
// Where the control comes from:
// - iOS: `new PlatformAudio(options, undefined).routeControl()`; pass the device to the
//   session with `AudioChoice.Platform.new({ audio })` (AVAudioSession is driven from Rust).
// - Android: the session backend is Java's AudioManager, which JavaScript cannot reach; the
//   Kotlin package's `AndroidPlatformAudio` wires it in native code.
// - Apps that run their own audio module (`ManualAudio`): `new AudioRouteControl(options,
//   backend)` with a backend that calls that module, then `activateSession()` around its I/O;
//   pause the module on `Interrupted` and restart it on `Resumed`.
import {
  AudioFocusChange,
  AudioInterruptionSource,
  AudioRouteChangeReason,
  AudioRouteControl,
  AudioRouteKind,
  AudioRouteSelection,
  AudioSessionManagement,
  PlatformAudio,
  PlatformAudioEvent,
  PlatformAudioEvent_Tags,
  TaskHandle,
  defaultPlatformAudioOptions,
  type AudioRoute,
  type AudioRouteSnapshot,
  type AudioSessionBackend,
  type PlatformAudioOptions,
} from './generated/voicewire_ffi';
import voicewireFfi from './generated/voicewire_ffi';

// Registers the foreign-trait vtables (the session backend and listener implemented in JS);
// harmless when VoiceSession.ts has done it already.
voicewireFfi.initialize();

export {
  AudioFocusChange,
  AudioInterruptionSource,
  AudioRouteChangeReason,
  AudioRouteControl,
  AudioRouteKind,
  AudioRouteSelection,
  AudioSessionManagement,
  PlatformAudio,
  PlatformAudioEvent,
  PlatformAudioEvent_Tags,
  defaultPlatformAudioOptions,
  type AudioRoute,
  type AudioRouteSnapshot,
  type AudioSessionBackend,
  type PlatformAudioOptions,
};

/**
 * Calls `handler` with the routes as they are now, then with every route and interruption
 * event, until the returned function is called (which cancels and releases the native
 * subscription; call it when the screen goes away).
 */
export function onAudioRouteEvent(
  control: AudioRouteControl,
  handler: (event: PlatformAudioEvent) => void,
): () => void {
  const handle = control.subscribe({ onEvent: handler });
  let active = true;
  return () => {
    if (!active) return;
    active = false;
    handle.cancel();
    // Release the native handle now rather than whenever the garbage collector runs.
    if (handle instanceof TaskHandle) handle.uniffiDestroy();
  };
}

/** The route an event moved audio to, if it is a route change. */
export function routeChangedTo(event: PlatformAudioEvent): AudioRoute | undefined {
  return PlatformAudioEvent.RouteChanged.instanceOf(event) ? event.inner.to : undefined;
}
