// Platform audio from TypeScript, run on Node through the N-API build of the same generated
// bindings: an AudioSessionBackend written in TypeScript simulates a phone's routes and
// interruptions and drives the real Rust route policy through AudioRouteControl and the
// package's AudioRoutes.ts. Needs no emulator. Prints "N passed, N failed".
import {
  AudioInterruptionSource,
  AudioRouteChangeReason,
  AudioRouteControl,
  AudioRouteKind,
  AudioRouteSelection,
  PlatformAudioEvent,
  defaultPlatformAudioOptions,
  onAudioRouteEvent,
  routeChangedTo,
  type AudioRoute,
  type AudioRouteSnapshot,
  type AudioSessionBackend,
} from '../src/AudioRoutes';

const TIMEOUT_MS = 30_000;

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const route = (kind: AudioRouteKind, id: string): AudioRoute => ({ kind, id, name: AudioRouteKind[kind] });

/** Receiver and speaker built in; the test plugs in a headset. */
class SimulatedPhone implements AudioSessionBackend {
  available: AudioRoute[] = [route(AudioRouteKind.Earpiece, 'rcv'), route(AudioRouteKind.Speaker, 'spk')];
  current: AudioRoute | undefined = this.available[0];
  calls: string[] = [];

  configure(voiceProcessing: boolean, _allowBluetoothA2dp: boolean): void {
    this.calls.push(`configure(${voiceProcessing})`);
  }
  setActive(active: boolean): void {
    this.calls.push(`setActive(${active})`);
  }
  routes(): AudioRouteSnapshot {
    return { current: this.current, available: [...this.available] };
  }
  applyRoute(kind: AudioRouteKind, _id: string | undefined): void {
    this.calls.push(`apply(${AudioRouteKind[kind]})`);
    const target = this.available.find((r) => r.kind === kind);
    if (target === undefined) throw new Error(`no ${AudioRouteKind[kind]} route`);
    this.current = target;
  }
  /** The OS moves output to a headset on its own when it is plugged in. */
  plugWiredHeadset(): void {
    const wired = route(AudioRouteKind.Wired, 'jack');
    this.available.push(wired);
    this.current = wired;
  }
}

async function waitFor(events: PlatformAudioEvent[], what: string, predicate: (e: PlatformAudioEvent) => boolean): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!events.some(predicate)) {
    if (Date.now() > deadline) throw new Error(`no ${what} event; got ${events.length} events`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function speakerSelectionAndAPluggedHeadset(): Promise<void> {
  const phone = new SimulatedPhone();
  const control = new AudioRouteControl(defaultPlatformAudioOptions(), phone);
  const events: PlatformAudioEvent[] = [];
  const unsubscribe = onAudioRouteEvent(control, (e) => void events.push(e));
  try {
    control.activateSession();
    assert(
      phone.calls.slice(0, 3).join() === 'configure(true),setActive(true),apply(Speaker)',
      `configured, activated, speaker applied: ${phone.calls.join()}`,
    );
    await waitFor(events, 'speaker', (e) => routeChangedTo(e)?.kind === AudioRouteKind.Speaker);

    control.selectRoute(AudioRouteSelection.Earpiece);
    assert(control.currentRoute()?.kind === AudioRouteKind.Earpiece, 'earpiece');
    control.selectRoute(AudioRouteSelection.Speaker);
    assert(phone.calls[phone.calls.length - 1] === 'apply(Speaker)', 'selecting the speaker calls the TS backend');
    let refused: unknown;
    try {
      control.selectRoute(AudioRouteSelection.Bluetooth);
    } catch (e) {
      refused = e;
    }
    assert(refused !== undefined, 'absent Bluetooth is refused');

    phone.plugWiredHeadset();
    control.reportRouteChange(AudioRouteChangeReason.DeviceConnected);
    await waitFor(events, 'wired', (e) => routeChangedTo(e)?.kind === AudioRouteKind.Wired);
    assert(control.selectedRoute() === AudioRouteSelection.Automatic, 'the headset won over the chosen speaker');
    control.deactivateSession();
    assert(phone.calls[phone.calls.length - 1] === 'setActive(false)', 'deactivated');
  } finally {
    unsubscribe();
    control.uniffiDestroy();
  }
}

async function interruptionsSuspendAndResume(): Promise<void> {
  const control = new AudioRouteControl(defaultPlatformAudioOptions(), new SimulatedPhone());
  const events: PlatformAudioEvent[] = [];
  const unsubscribe = onAudioRouteEvent(control, (e) => void events.push(e));
  try {
    control.activateSession();
    control.reportInterruptionBegan(AudioInterruptionSource.Call);
    await waitFor(
      events,
      'interrupted',
      (e) => PlatformAudioEvent.Interrupted.instanceOf(e) && e.inner.source === AudioInterruptionSource.Call,
    );
    assert(control.isInterrupted(), 'interrupted');
    control.reportInterruptionEnded(true);
    await waitFor(events, 'resumed', (e) => PlatformAudioEvent.Resumed.instanceOf(e));
    assert(!control.isInterrupted(), 'running again');
    control.setVoiceProcessing(false);
    await waitFor(events, 'switch', (e) => PlatformAudioEvent.VoiceProcessingChanged.instanceOf(e) && !e.inner.enabled);
    assert(control.levels() === undefined, 'app-driven audio has no device meters');
  } finally {
    unsubscribe();
    control.uniffiDestroy();
  }
}

async function main(): Promise<void> {
  const tests: [string, () => Promise<void>][] = [
    ['speaker selection and a plugged headset (TypeScript backend)', speakerSelectionAndAPluggedHeadset],
    ['interruptions suspend and resume (TypeScript backend)', interruptionsSuspendAndResume],
  ];
  let passed = 0;
  let failed = 0;
  for (const [name, test] of tests) {
    try {
      await test();
      console.log(`ok   ${name}`);
      passed++;
    } catch (e) {
      console.log(`FAIL ${name}: ${e instanceof Error ? e.stack : String(e)}`);
      failed++;
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

void main();
