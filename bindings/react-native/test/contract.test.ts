// The FFI contract from TypeScript, run on Node through the N-API build of the same
// generated bindings and the same VoiceSession.ts the React Native package ships.
// Run by scripts/interop/40-bindings-typescript.sh; prints "N passed, N failed".
import { inspect } from 'node:util';
import {
  AudioChoice,
  ClientToken,
  RealtimeVoiceSession,
  SessionEvent,
  SessionState,
  VoiceError,
  VoiceSessionController,
  type SessionOptions,
  type TaskHandle,
  type ToolCall,
} from '../src/VoiceSession';
import { OutputModality, TransportKind } from '../src/generated/voicewire_ffi';

const apiBase = process.env.VW_API_BASE ?? '';
const apiKey = process.env.VW_TEST_API_KEY ?? '';
const TIMEOUT_MS = 30_000;

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function options(): SessionOptions {
  return {
    endpoint: { apiBase, relayUrl: undefined, model: undefined },
    transport: TransportKind.WebSocket,
    session: {
      instructions: 'You are a test agent.',
      voice: undefined,
      outputModalities: [OutputModality.Text],
      turnDetection: undefined,
      inputTranscriptionModel: undefined,
      tools: [{ name: 'get_weather', description: 'Weather for a city', parametersJson: '{"type":"object"}' }],
    },
    reconnect: { enabled: false, maxAttempts: 0, connectTimeoutMs: 10_000n },
    toolTimeoutMs: undefined,
    levelsIntervalMs: 0n,
  };
}

const tokens = (key: string, calls: number[] = []) => ({
  async fetchToken() {
    calls.push(Date.now());
    return new ClientToken(key, BigInt(Math.floor(Date.now() / 1000) + 600));
  },
});

const isFinalAnswer = (e: SessionEvent) =>
  SessionEvent.AssistantTranscriptFinal.instanceOf(e) && e.inner.text.includes('sunny');

async function eventsUntilAnswer(session: RealtimeVoiceSession): Promise<SessionEvent[]> {
  const seen: SessionEvent[] = [];
  for (;;) {
    const event = await session.nextEvent();
    assert(event !== undefined, `stream ended early after ${seen.length} events`);
    seen.push(event);
    if (isFinalAnswer(event)) return seen;
  }
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!condition()) {
    assert(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function textTurnWithTypeScriptServices(): Promise<void> {
  const tokenCalls: number[] = [];
  const toolCalls: ToolCall[] = [];
  const session = new RealtimeVoiceSession(
    options(),
    tokens(apiKey, tokenCalls),
    {
      async callTool(call: ToolCall) {
        toolCalls.push(call);
        return JSON.stringify({ city: JSON.parse(call.arguments).city, sky: 'sunny' });
      },
    },
    AudioChoice.NoDevice.new(),
  );
  const first = await session.nextEvent();
  assert(first !== undefined && SessionEvent.StateChanged.instanceOf(first), 'first event is a state');
  assert(SessionState.Idle.instanceOf(first.inner.state), 'first state is Idle');
  await session.start();
  assert(SessionState.Live.instanceOf(session.state()), 'live after start');
  assert(tokenCalls.length === 1, `token provider called ${tokenCalls.length} times`);
  await session.sendText('What is the weather in Paris?');
  const seen = await eventsUntilAnswer(session);
  assert(
    seen.some((e) => SessionEvent.StateChanged.instanceOf(e) && SessionState.Live.instanceOf(e.inner.state)),
    'a Live state event',
  );
  assert(seen.some((e) => SessionEvent.AssistantTranscriptDelta.instanceOf(e)), 'transcript deltas');
  assert(toolCalls.length === 1 && JSON.parse(toolCalls[0].arguments).city === 'Paris', 'tool called once with Paris');
  await session.stop();
  const closed = session.state();
  assert(SessionState.Closed.instanceOf(closed), 'closed after stop');
  session.uniffiDestroy();
}

async function badTokenIsTypedAuthError(): Promise<void> {
  const session = new RealtimeVoiceSession(options(), tokens('sk-wrong'), { callTool: async () => '{}' }, AudioChoice.NoDevice.new());
  let caught: unknown;
  try {
    await session.start();
  } catch (e) {
    caught = e;
  }
  assert(VoiceError.Auth.instanceOf(caught), `expected VoiceError.Auth, got ${String(caught)}`);
  assert(SessionState.Failed.instanceOf(session.state()), 'failed state');
  // The event carries the stable snake_case code apps switch on, not a Rust type name.
  for (;;) {
    const event = await session.nextEvent();
    assert(event !== undefined, 'stream ended without an Error event');
    if (SessionEvent.Error.instanceOf(event)) {
      assert(event.inner.code === 'auth', `error code ${String(event.inner.code)}`);
      assert(!event.inner.recoverable, 'auth failure is not recoverable');
      break;
    }
  }
  session.uniffiDestroy();
}

async function aTokenNeverPrintsItsKey(): Promise<void> {
  const key = 'ek_secret_value_0123456789';
  const token = new ClientToken(key, 1_900_000_000n);
  for (const text of [String(token), `${token}`, token.toString(), inspect(token), JSON.stringify({ token })]) {
    assert(!text.includes(key) && !text.includes('0123456789'), `the key is printed: ${text}`);
  }
  assert(token.toString().includes('redacted'), `toString: ${token.toString()}`);
  assert(token.expiresAt() === 1_900_000_000n, `expiresAt: ${String(token.expiresAt())}`);
  token.uniffiDestroy();
}

async function destroyingTheListenerHandleStopsDelivery(): Promise<void> {
  const session = new RealtimeVoiceSession(
    options(),
    tokens(apiKey),
    { callTool: async () => '{"sky":"sunny"}' },
    AudioChoice.NoDevice.new(),
  );
  const received: SessionEvent[] = [];
  const handle = session.subscribe({ onEvent: (e: SessionEvent) => void received.push(e) });
  await session.start();
  const isLive = (e: SessionEvent) => SessionEvent.StateChanged.instanceOf(e) && SessionState.Live.instanceOf(e.inner.state);
  await waitFor(() => received.some(isLive), 'Live on the listener');
  // Dropping the handle (what GC does to a forgotten one) cancels the subscription.
  (handle as TaskHandle).uniffiDestroy();
  const delivered = received.length;
  await session.sendText('What is the weather in Paris?');
  await eventsUntilAnswer(session);
  assert(received.length === delivered, `listener got ${received.length - delivered} events after destroy`);
  await session.stop();
  session.uniffiDestroy();
}

async function controllerUsedByTheHook(): Promise<void> {
  const controller = new VoiceSessionController({
    options: options(),
    fetchToken: async () => ({ value: apiKey, expiresAt: Date.now() / 1000 + 600 }),
    tools: { get_weather: async (args) => JSON.stringify({ args, sky: 'sunny' }) },
  });
  const snapshots: string[] = [];
  const unsubscribe = controller.subscribe((s) => snapshots.push(s.state.tag));
  await controller.connect();
  // The snapshot follows the event stream, which catches up with start() right after.
  await waitFor(() => controller.getSnapshot().connected, 'connected snapshot');
  await controller.sendText('What is the weather in Paris?');
  await waitFor(() => controller.getSnapshot().assistantTranscript.includes('sunny'), 'assistant transcript');
  controller.toggleMute();
  assert(controller.getSnapshot().muted, 'muted after toggleMute');
  await controller.disconnect();
  unsubscribe();
  assert(snapshots.includes('Live'), `states seen: ${snapshots.join(',')}`);

  const refused = new VoiceSessionController({ options: options(), fetchToken: async () => ({ value: 'sk-wrong' }) });
  let caught: unknown;
  try {
    await refused.connect();
  } catch (e) {
    caught = e;
  }
  assert(VoiceError.Auth.instanceOf(caught), 'connect rejects with Auth');
  assert(refused.getSnapshot().error?.kind === 'Auth', `snapshot error ${JSON.stringify(refused.getSnapshot().error)}`);
}

async function main(): Promise<void> {
  const tests: [string, () => Promise<void>][] = [
    ['text turn with a TypeScript token provider and tool handler', textTurnWithTypeScriptServices],
    ['a bad token is VoiceError.Auth', badTokenIsTypedAuthError],
    ['a ClientToken never prints its key', aTokenNeverPrintsItsKey],
    ['destroying the listener handle stops delivery', destroyingTheListenerHandleStopsDelivery],
    ['VoiceSessionController (the hook\'s engine)', controllerUsedByTheHook],
  ];
  let passed = 0;
  let failed = 0;
  for (const [name, test] of tests) {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        test(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), TIMEOUT_MS);
        }),
      ]);
      console.log(`ok   ${name}`);
      passed++;
    } catch (e) {
      console.log(`FAIL ${name}: ${e instanceof Error ? e.stack : String(e)}`);
      failed++;
    } finally {
      clearTimeout(timer);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

void main();
