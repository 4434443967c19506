// The framework-independent TypeScript API over the generated bindings: one controller per
// conversation, a snapshot for UIs, and plain async methods. `useRealtimeVoice` wraps it for
// React; the Node contract test (scripts/interop/40-bindings-typescript.sh) runs it as is
// against the N-API build of the same bindings.
import {
  AudioChoice,
  ClientToken,
  RealtimeVoiceSession,
  SessionEvent,
  SessionEvent_Tags,
  SessionState,
  VoiceError,
  type AudioLevels,
  type SessionEventListener,
  type SessionOptions,
  type TaskHandle,
  type TokenProvider,
  type ToolCall,
  type ToolHandler,
} from './generated/voicewire_ffi';
import voicewireFfi from './generated/voicewire_ffi';

// Checks the library matches these bindings and registers the callback tables that let Rust
// call the app's token provider, tool handler and listeners. Once per module load.
voicewireFfi.initialize();

export {
  AudioChoice,
  ClientToken,
  RealtimeVoiceSession,
  SessionEvent,
  SessionEvent_Tags,
  SessionState,
  VoiceError,
  type AudioLevels,
  type SessionEventListener,
  type SessionOptions,
  type TaskHandle,
  type TokenProvider,
  type ToolCall,
  type ToolHandler,
};

/** A tool implementation: receives the parsed arguments, returns the output (JSON text). */
export type ToolFunction = (args: unknown, call: ToolCall) => Promise<string>;

/** What the app provides to create sessions. */
export type VoiceConfig = {
  /** Endpoint, transport, model configuration (tools listed here are routed to `tools`). */
  options: SessionOptions;
  /** Calls your backend for a short-lived client secret (wrapped in a `ClientToken`, which
   *  never prints its key, before it reaches the engine). */
  fetchToken: () => Promise<{ value: string; expiresAt?: number }>;
  /** Tool implementations by name (tools added later with `updateConfig` are looked up here
   *  too). */
  tools?: Record<string, ToolFunction>;
  /** Audio device: on React Native usually a `ManualAudio` fed by your audio module. */
  audio?: AudioChoice;
};

/** A plain description of the last error, for display. */
export type VoiceErrorInfo = { kind: string; message: string; retryAfterMs?: number };

/** Everything a UI shows, replaced (never mutated) on every change. */
export type VoiceSnapshot = {
  readonly state: SessionState;
  readonly connected: boolean;
  readonly userTranscript: string;
  readonly assistantTranscript: string;
  readonly levels: AudioLevels;
  readonly muted: boolean;
  readonly error?: VoiceErrorInfo;
};

const SILENT: AudioLevels = { inputRms: 0, inputPeak: 0, outputRms: 0, outputPeak: 0 };

/** Describes any thrown value; VoiceError variants keep their kind. */
export function describeError(e: unknown): VoiceErrorInfo {
  if (VoiceError.instanceOf(e)) {
    const err = e as VoiceError;
    const inner = err.inner as { detail: string; retryAfterMs?: bigint };
    return {
      kind: String(err.tag),
      message: inner.detail,
      retryAfterMs: inner.retryAfterMs === undefined ? undefined : Number(inner.retryAfterMs),
    };
  }
  return { kind: 'Other', message: e instanceof Error ? e.message : String(e) };
}

function tokenProviderFrom(fetchToken: VoiceConfig['fetchToken']): TokenProvider {
  return {
    async fetchToken(): Promise<ClientToken> {
      const token = await fetchToken();
      return new ClientToken(
        token.value,
        token.expiresAt === undefined ? undefined : BigInt(Math.floor(token.expiresAt)),
      );
    },
  };
}

function toolHandlerFrom(tools: Record<string, ToolFunction>): ToolHandler {
  return {
    async callTool(call: ToolCall): Promise<string> {
      const tool = tools[call.name];
      if (tool === undefined) {
        throw VoiceError.Other.new({ detail: `no handler for tool ${call.name}` });
      }
      let args: unknown;
      try {
        args = JSON.parse(call.arguments);
      } catch {
        args = call.arguments;
      }
      return tool(args, call);
    },
  };
}

/** One voice conversation at a time: `connect`, talk, `disconnect`, connect again. */
export class VoiceSessionController {
  private session?: RealtimeVoiceSession;
  private snapshot: VoiceSnapshot = {
    state: SessionState.Idle.new(),
    connected: false,
    userTranscript: '',
    assistantTranscript: '',
    levels: SILENT,
    muted: false,
  };
  private readonly listeners = new Set<(s: VoiceSnapshot) => void>();
  private assistantItem?: string;

  constructor(private readonly config: VoiceConfig) {}

  /** The current snapshot (stable identity until something changes). */
  getSnapshot = (): VoiceSnapshot => this.snapshot;

  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe = (listener: (s: VoiceSnapshot) => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /** Creates a session and connects; rejects with the typed VoiceError (also in `error`). */
  async connect(): Promise<void> {
    if (this.session !== undefined) {
      await this.disconnect();
    }
    const { options, fetchToken, tools, audio } = this.config;
    this.update({ userTranscript: '', assistantTranscript: '', error: undefined });
    try {
      const session = new RealtimeVoiceSession(
        options,
        tokenProviderFrom(fetchToken),
        toolHandlerFrom(tools ?? {}),
        audio ?? AudioChoice.NoDevice.new(),
      );
      this.session = session;
      void this.pump(session);
      await session.start();
      this.update({ muted: session.isMuted() });
    } catch (e) {
      this.update({ error: describeError(e) });
      throw e;
    }
  }

  /** Ends the conversation (safe to call when not connected). */
  async disconnect(): Promise<void> {
    const session = this.session;
    if (session === undefined) return;
    try {
      await session.stop();
    } finally {
      this.session = undefined;
    }
  }

  /** Sends a typed user message. */
  async sendText(text: string): Promise<void> {
    await this.required().sendText(text);
  }

  /** Stops the assistant mid-answer. */
  async interrupt(): Promise<void> {
    await this.required().interrupt();
  }

  /** Mutes or unmutes the microphone. */
  toggleMute(): void {
    const session = this.required();
    session.setMuted(!session.isMuted());
    this.update({ muted: session.isMuted() });
  }

  private required(): RealtimeVoiceSession {
    if (this.session === undefined) {
      throw VoiceError.Closed.new({ detail: 'not connected; call connect() first' });
    }
    return this.session;
  }

  /** Pulls events until the session ends (the pull API suits the JS event loop). */
  private async pump(session: RealtimeVoiceSession): Promise<void> {
    for (;;) {
      const event = await session.nextEvent();
      if (event === undefined) return;
      if (this.session === session) this.apply(event);
    }
  }

  private apply(event: SessionEvent): void {
    switch (event.tag) {
      case SessionEvent_Tags.StateChanged: {
        const state = event.inner.state;
        this.update({ state, connected: SessionState.Live.instanceOf(state) });
        if (SessionState.Failed.instanceOf(state)) {
          this.update({ error: describeError(state.inner.error) });
        }
        break;
      }
      case SessionEvent_Tags.UserSpeechStarted:
        this.update({ userTranscript: '' });
        break;
      case SessionEvent_Tags.UserTranscriptDelta:
        this.update({ userTranscript: this.snapshot.userTranscript + event.inner.delta });
        break;
      case SessionEvent_Tags.UserTranscriptFinal:
        this.update({ userTranscript: event.inner.text });
        break;
      case SessionEvent_Tags.AssistantTranscriptDelta: {
        const fresh = event.inner.itemId !== this.assistantItem;
        this.assistantItem = event.inner.itemId;
        this.update({ assistantTranscript: (fresh ? '' : this.snapshot.assistantTranscript) + event.inner.delta });
        break;
      }
      case SessionEvent_Tags.AssistantTranscriptFinal:
        this.update({ assistantTranscript: event.inner.text });
        break;
      case SessionEvent_Tags.AudioLevels:
        this.update({ levels: event.inner.levels });
        break;
      case SessionEvent_Tags.Error:
        this.update({ error: { kind: event.inner.code ?? 'Error', message: event.inner.message } });
        break;
      default:
        break;
    }
  }

  private update(change: Partial<VoiceSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...change };
    for (const listener of this.listeners) listener(this.snapshot);
  }
}
