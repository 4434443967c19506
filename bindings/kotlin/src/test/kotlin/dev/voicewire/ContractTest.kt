// The FFI contract from Kotlin on the JVM (JNA), against the local emulator.
// Run by scripts/interop/40-bindings-kotlin.sh; prints "N passed, N failed".
package dev.voicewire

import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.util.Collections
import kotlin.system.exitProcess

private val apiBase = System.getenv("VW_API_BASE") ?: error("VW_API_BASE is not set")
private val apiKey = System.getenv("VW_TEST_API_KEY") ?: error("VW_TEST_API_KEY is not set")
private const val TIMEOUT_MS = 30_000L

private fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

private fun backendTokens(key: String, calls: MutableList<Long>? = null) = tokenProvider {
    calls?.add(System.currentTimeMillis())
    ClientToken(key, (System.currentTimeMillis() / 1000 + 600).toULong())
}

private fun options() = SessionOptions(
    endpoint = EndpointConfig(apiBase, null, null),
    transport = TransportKind.WEB_SOCKET,
    session = SessionConfig(
        instructions = "You are a test agent.",
        voice = null,
        outputModalities = listOf(OutputModality.TEXT),
        turnDetection = null,
        inputTranscriptionModel = null,
        tools = listOf(FunctionToolConfig("get_weather", "Weather for a city", """{"type":"object"}""")),
    ),
    reconnect = ReconnectConfig(false, 0u, 10_000u),
    toolTimeoutMs = null,
    levelsIntervalMs = 0u,
)

private fun isFinalAnswer(e: SessionEvent) = e is SessionEvent.AssistantTranscriptFinal && "sunny" in e.text

private suspend fun eventsUntilAnswer(session: RealtimeVoiceSession): List<SessionEvent> {
    val seen = mutableListOf<SessionEvent>()
    while (true) {
        val event = session.nextEvent() ?: throw AssertionError("stream ended early after $seen")
        seen += event
        if (isFinalAnswer(event)) return seen
    }
}

private suspend fun textTurnWithKotlinToolHandler() {
    val tokenCalls = Collections.synchronizedList(mutableListOf<Long>())
    val toolCalls = Collections.synchronizedList(mutableListOf<ToolCall>())
    val tools = toolHandlers(mapOf("get_weather" to { call: ToolCall ->
        toolCalls += call
        """{"city":"Paris","sky":"sunny"}"""
    }))
    val session = RealtimeVoiceSession(options(), backendTokens(apiKey, tokenCalls), tools, AudioChoice.NoDevice)
    val first = session.nextEvent()
    check(first == SessionEvent.StateChanged(SessionState.Idle)) { "first event was $first" }
    session.start()
    check(session.state() == SessionState.Live) { "state after start: ${session.state()}" }
    check(tokenCalls.size == 1) { "token provider called ${tokenCalls.size} times" }
    session.sendText("What is the weather in Paris?")
    val seen = eventsUntilAnswer(session)
    check(seen.any { it == SessionEvent.StateChanged(SessionState.Live) }) { "no Live state in $seen" }
    check(seen.any { it is SessionEvent.AssistantTranscriptDelta }) { "no transcript delta" }
    check(toolCalls.size == 1 && toolCalls[0].arguments.contains("Paris")) { "tool calls: $toolCalls" }
    session.stop()
    check(session.state() == SessionState.Closed(CloseReason.STOPPED)) { "state after stop: ${session.state()}" }
    session.close()
}

private suspend fun badTokenIsTypedAuthError() {
    val session = RealtimeVoiceSession(options(), backendTokens("sk-wrong"), toolHandlers(emptyMap()), AudioChoice.NoDevice)
    try {
        session.start()
        throw AssertionError("start succeeded with a bad token")
    } catch (e: VoiceException.Auth) {
        check(session.state() is SessionState.Failed) { "state: ${session.state()}" }
        // The event carries the stable snake_case code apps switch on, not a Rust type name.
        var error: SessionEvent.Error? = null
        while (error == null) {
            val event = session.nextEvent() ?: throw AssertionError("stream ended without an Error event")
            if (event is SessionEvent.Error) error = event
        }
        check(error.code == "auth" && !error.recoverable) { "error event: $error" }
    } finally {
        session.close()
    }
}

private suspend fun aTokenNeverPrintsItsKey() {
    val key = "ek_secret_value_0123456789"
    ClientToken(key, 1_900_000_000uL).use { token ->
        for (text in listOf(token.toString(), "$token", listOf(token).toString(), mapOf("t" to token).toString())) {
            check(key !in text && "0123456789" !in text) { "the key is printed: $text" }
        }
        check("redacted" in token.toString()) { "toString: $token" }
        check(token.expiresAt() == 1_900_000_000uL) { "expiresAt: ${token.expiresAt()}" }
    }
}

private suspend fun closingTheListenerHandleStopsDelivery() {
    val session = RealtimeVoiceSession(options(), backendTokens(apiKey), toolHandlers(mapOf("get_weather" to { _: ToolCall -> "{}" })), AudioChoice.NoDevice)
    val received = Collections.synchronizedList(mutableListOf<SessionEvent>())
    val handle = session.subscribe(object : SessionEventListener {
        override fun onEvent(event: SessionEvent) { received += event }
    })
    session.start()
    while (SessionEvent.StateChanged(SessionState.Live) !in received.toList()) kotlinx.coroutines.delay(10)
    check(received[0] == SessionEvent.StateChanged(SessionState.Idle)) { "first: ${received[0]}" }
    handle.close()
    val delivered = received.size
    session.sendText("What is the weather in Paris?")
    eventsUntilAnswer(session)
    check(received.size == delivered) { "listener got ${received.size - delivered} events after close" }
    session.stop()
    session.close()
}

private suspend fun flowAndStateFlowWrappers() {
    val session = RealtimeVoiceSession(options(), backendTokens(apiKey), toolHandlers(mapOf("get_weather" to { _: ToolCall -> """{"sky":"sunny"}""" })), AudioChoice.NoDevice)
    val firstFromFlow = session.events().first()
    check(firstFromFlow == SessionEvent.StateChanged(SessionState.Idle)) { "flow first: $firstFromFlow" }
    kotlinx.coroutines.coroutineScope {
        val scope = this
        val job = kotlinx.coroutines.Job()
        val model = VoiceSessionModel(session, kotlinx.coroutines.CoroutineScope(scope.coroutineContext + job))
        session.start()
        model.state.first { it == SessionState.Live }
        session.sendText("What is the weather in Paris?")
        model.assistantTranscript.first { "sunny" in it }
        session.stop()
        model.state.first { it is SessionState.Closed }
        job.cancel()
    }
    session.close()
}

fun main() {
    val tests = listOf(
        "text turn with a Kotlin token provider and tool handler" to ::textTurnWithKotlinToolHandler,
        "a bad token is VoiceException.Auth" to ::badTokenIsTypedAuthError,
        "a ClientToken never prints its key" to ::aTokenNeverPrintsItsKey,
        "closing the listener handle stops delivery" to ::closingTheListenerHandleStopsDelivery,
        "Flow and StateFlow wrappers" to ::flowAndStateFlowWrappers,
    )
    var passed = 0
    var failed = 0
    for ((name, test) in tests) {
        try {
            runBlocking { withTimeout(TIMEOUT_MS) { test() } }
            println("ok   $name")
            passed++
        } catch (t: Throwable) {
            println("FAIL $name: $t")
            t.printStackTrace()
            failed++
        }
    }
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
