// Idiomatic Kotlin over the generated bindings (generated/voicewire_ffi.kt): suspend
// functions come from UniFFI directly; this file adds Flow/StateFlow and lambda-based services.
package dev.voicewire

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.channels.trySendBlocking
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.launch

/**
 * The session's events as a cold [Flow]: collecting subscribes (the current state comes
 * first), cancelling the collector closes the subscription's [TaskHandle].
 *
 * Delivery applies back-pressure: a slow collector slows the session down rather than
 * losing a transcript (level and metrics events may be dropped by the engine instead).
 */
fun RealtimeVoiceSession.events(): Flow<SessionEvent> = callbackFlow {
    val handle = subscribe(object : SessionEventListener {
        override fun onEvent(event: SessionEvent) {
            trySendBlocking(event)
        }
    })
    awaitClose { handle.close() }
}

/**
 * A [TokenProvider] from a suspend lambda (typically a call to your backend) returning
 * `ClientToken(value, expiresAt)`. The token object never prints or returns its key.
 */
fun tokenProvider(fetch: suspend () -> ClientToken): TokenProvider = object : TokenProvider {
    override suspend fun fetchToken(): ClientToken = fetch()
}

/**
 * A [ToolHandler] dispatching on the tool name (every call reaches it, including tools added
 * later with `updateConfig`); unknown names are reported to the model as an error.
 */
fun toolHandlers(handlers: Map<String, suspend (ToolCall) -> String>): ToolHandler = object : ToolHandler {
    override suspend fun callTool(call: ToolCall): String {
        val handler = handlers[call.name] ?: throw VoiceException.Other("no handler for tool ${call.name}")
        return handler(call)
    }
}

/**
 * Observable session state for UI code (Compose `collectAsState`, views): state, live
 * transcripts, levels and errors, fed by one subscription for the [scope]'s lifetime.
 */
class VoiceSessionModel(val session: RealtimeVoiceSession, scope: CoroutineScope) {
    private val _state = MutableStateFlow(session.state())
    private val _userTranscript = MutableStateFlow("")
    private val _assistantTranscript = MutableStateFlow("")
    private val _levels = MutableStateFlow(AudioLevels(0f, 0f, 0f, 0f))
    private val _errors = MutableSharedFlow<SessionEvent.Error>(extraBufferCapacity = 16)
    private val _toolCalls = MutableSharedFlow<ToolCall>(extraBufferCapacity = 16)
    private var assistantItem: String? = null

    /** The current state (starts with the session's state at creation). */
    val state: StateFlow<SessionState> = _state.asStateFlow()
    /** The user's transcript of the current turn (deltas appended, replaced by the final). */
    val userTranscript: StateFlow<String> = _userTranscript.asStateFlow()
    /** The assistant's transcript of the current answer. */
    val assistantTranscript: StateFlow<String> = _assistantTranscript.asStateFlow()
    /** Microphone and speaker levels. */
    val levels: StateFlow<AudioLevels> = _levels.asStateFlow()
    /** Errors reported by the session (recoverable or not). */
    val errors: SharedFlow<SessionEvent.Error> = _errors.asSharedFlow()
    /** Tool calls (answered by the handler, or by you with `sendToolOutput`). */
    val toolCalls: SharedFlow<ToolCall> = _toolCalls.asSharedFlow()

    init {
        scope.launch {
            session.events().collect { apply(it) }
        }
    }

    internal fun apply(event: SessionEvent) {
        when (event) {
            is SessionEvent.StateChanged -> _state.value = event.state
            is SessionEvent.UserSpeechStarted -> _userTranscript.value = ""
            is SessionEvent.UserTranscriptDelta -> _userTranscript.value += event.delta
            is SessionEvent.UserTranscriptFinal -> _userTranscript.value = event.text
            is SessionEvent.AssistantTranscriptDelta -> {
                // A new answer replaces the previous one's text.
                if (event.itemId != assistantItem) {
                    assistantItem = event.itemId
                    _assistantTranscript.value = ""
                }
                _assistantTranscript.value += event.delta
            }
            is SessionEvent.AssistantTranscriptFinal -> _assistantTranscript.value = event.text
            is SessionEvent.AudioLevels -> _levels.value = event.levels
            is SessionEvent.Error -> _errors.tryEmit(event)
            is SessionEvent.ToolCall -> _toolCalls.tryEmit(event.call)
            else -> {}
        }
    }

    /** Flips the microphone mute. */
    fun toggleMute() = session.setMuted(!session.isMuted())
}
