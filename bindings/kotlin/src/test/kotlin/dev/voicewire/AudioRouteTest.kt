// Platform audio from Kotlin on the JVM (JNA): an AudioSessionBackend implemented in Kotlin
// simulates a phone's routes and focus (as AndroidAudioSession does with AudioManager) and
// drives the real Rust route policy and interruption machine through AudioRouteControl.
// Needs no emulator. Prints "N passed, N failed"; exits non-zero on a failure.
package dev.voicewire

import dev.voicewire.audio.events
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock
import kotlin.system.exitProcess

private const val HANG_GUARD_MS = 30_000L

private fun expect(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

private fun route(kind: AudioRouteKind, id: String) = AudioRoute(kind = kind, id = id, name = kind.name)

/** A phone's audio session: receiver and speaker built in, a headset the test plugs in. */
private class SimulatedPhone : AudioSessionBackend {
    private val lock = ReentrantLock()
    private val available = mutableListOf(route(AudioRouteKind.EARPIECE, "rcv"), route(AudioRouteKind.SPEAKER, "spk"))
    private var current: AudioRoute? = available[0]
    private val calls = mutableListOf<String>()
    @Volatile var refuseNextActivation = false

    fun calls(): List<String> = lock.withLock { calls.toList() }

    /** The OS moves output to a headset on its own when it is plugged in. */
    fun plugWiredHeadset() = lock.withLock {
        val wired = route(AudioRouteKind.WIRED, "jack")
        available += wired
        current = wired
    }

    override fun configure(voiceProcessing: Boolean, allowBluetoothA2dp: Boolean) {
        lock.withLock { calls += "configure($voiceProcessing)" }
    }

    override fun setActive(active: Boolean) {
        if (active && refuseNextActivation) {
            refuseNextActivation = false
            throw VoiceException.AudioDevice("audio focus refused: a call is active")
        }
        lock.withLock { calls += "setActive($active)" }
    }

    override fun routes(): AudioRouteSnapshot = lock.withLock { AudioRouteSnapshot(current, available.toList()) }

    override fun applyRoute(kind: AudioRouteKind, id: String?) {
        lock.withLock {
            calls += "apply($kind)"
            current = available.firstOrNull { it.kind == kind }
                ?: throw VoiceException.AudioDevice("no $kind route")
        }
    }
}

/** Collects events (delivered on a VoiceWire thread); tests wait for what they expect. */
private class Recorder : PlatformAudioListener {
    private val lock = ReentrantLock()
    private val arrived = lock.newCondition()
    private val events = mutableListOf<PlatformAudioEvent>()

    override fun onEvent(event: PlatformAudioEvent) {
        lock.withLock {
            events += event
            arrived.signalAll()
        }
    }

    fun waitFor(what: String, count: Int = 1, predicate: (PlatformAudioEvent) -> Boolean) {
        val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HANG_GUARD_MS)
        lock.withLock {
            while (events.count(predicate) < count) {
                val left = deadline - System.nanoTime()
                if (left <= 0) throw AssertionError("no $what event; got $events")
                arrived.awaitNanos(left)
            }
        }
    }
}

private fun routedTo(kind: AudioRouteKind): (PlatformAudioEvent) -> Boolean =
    { it is PlatformAudioEvent.RouteChanged && it.to?.kind == kind }

private fun speakerSelectionAndAPluggedHeadset() {
    val phone = SimulatedPhone()
    AudioRouteControl(defaultPlatformAudioOptions(), phone).use { control ->
        val listener = Recorder()
        control.subscribe(listener).use {
            control.activateSession()
            expect(phone.calls().take(3) == listOf("configure(true)", "setActive(true)", "apply(SPEAKER)")) {
                "configured, activated, speaker default applied: ${phone.calls()}"
            }
            listener.waitFor("speaker", predicate = routedTo(AudioRouteKind.SPEAKER))

            control.selectRoute(AudioRouteSelection.EARPIECE)
            expect(control.currentRoute()?.kind == AudioRouteKind.EARPIECE) { "earpiece: ${control.currentRoute()}" }
            control.selectRoute(AudioRouteSelection.SPEAKER)
            expect(phone.calls().last() == "apply(SPEAKER)") { "selecting the speaker calls Kotlin: ${phone.calls()}" }

            val refused = runCatching { control.selectRoute(AudioRouteSelection.BLUETOOTH) }.exceptionOrNull()
            expect(refused is VoiceException.AudioDevice) { "absent Bluetooth is AudioDevice: $refused" }

            phone.plugWiredHeadset()
            control.reportRouteChange(AudioRouteChangeReason.DEVICE_CONNECTED)
            listener.waitFor("wired", predicate = routedTo(AudioRouteKind.WIRED))
            listener.waitFor("three routes") { it is PlatformAudioEvent.AvailableRoutesChanged && it.routes.size == 3 }
            expect(control.selectedRoute() == AudioRouteSelection.AUTOMATIC) { "the headset won" }

            control.deactivateSession()
            expect(phone.calls().last() == "setActive(false)") { "deactivated: ${phone.calls()}" }
        }
    }
}

private fun interruptionsSuspendAndResume() {
    val phone = SimulatedPhone()
    AudioRouteControl(defaultPlatformAudioOptions(), phone).use { control ->
        val listener = Recorder()
        control.subscribe(listener).use {
            control.activateSession()
            control.reportInterruptionBegan(AudioInterruptionSource.CALL)
            listener.waitFor("interrupted") {
                it is PlatformAudioEvent.Interrupted && it.source == AudioInterruptionSource.CALL
            }
            expect(control.isInterrupted()) { "interrupted" }
            control.reportInterruptionEnded(true)
            listener.waitFor("resumed") { it is PlatformAudioEvent.Resumed }

            // The phone app still holds focus when the call ends: the first reactivation
            // throws in Kotlin, the Rust timer thread retries.
            control.reportFocusChange(AudioFocusChange.LOST_TRANSIENT)
            phone.refuseNextActivation = true
            control.reportFocusChange(AudioFocusChange.GAINED)
            listener.waitFor("resumed after a retry", count = 2) { it is PlatformAudioEvent.Resumed }
            expect(!control.isInterrupted()) { "running again" }

            control.setVoiceProcessing(false)
            listener.waitFor("switch") { it == PlatformAudioEvent.VoiceProcessingChanged(false) }
            expect(!control.voiceProcessing()) { "voice processing off" }
            expect(control.levels() == null) { "app-driven audio has no device meters" }
        }
    }
}

private fun eventsAsAFlow() {
    val phone = SimulatedPhone()
    AudioRouteControl(defaultPlatformAudioOptions(), phone).use { control ->
        runBlocking {
            withTimeout(HANG_GUARD_MS) {
                val initial = control.events().take(2).toList()
                expect(initial[0] is PlatformAudioEvent.AvailableRoutesChanged) { "routes first: $initial" }
                expect((initial[1] as? PlatformAudioEvent.RouteChanged)?.reason == AudioRouteChangeReason.INITIAL) {
                    "then the current route: $initial"
                }
                control.activateSession()
                // A new collector hears the state as it is now: the speaker default applied.
                val now = control.events().first { it is PlatformAudioEvent.RouteChanged }
                expect(routedTo(AudioRouteKind.SPEAKER)(now)) { "speaker now: $now" }
                control.deactivateSession()
            }
        }
    }
}

private fun platformAudioIsTypedOffThePhones() {
    val error = runCatching { PlatformAudio(defaultPlatformAudioOptions(), null) }.exceptionOrNull()
    expect(error is VoiceException.AudioDevice) { "PlatformAudio on the JVM: $error" }
}

fun main() {
    val tests = listOf(
        "speaker selection and a plugged headset (Kotlin backend)" to ::speakerSelectionAndAPluggedHeadset,
        "interruptions suspend and resume (Kotlin backend)" to ::interruptionsSuspendAndResume,
        "route events as a Flow" to ::eventsAsAFlow,
        "PlatformAudio is a typed error off the phones" to ::platformAudioIsTypedOffThePhones,
    )
    var passed = 0
    var failed = 0
    for ((name, test) in tests) {
        try {
            test()
            println("ok   $name")
            passed++
        } catch (t: Throwable) {
            println("FAIL $name: $t")
            t.printStackTrace()
            failed++
        }
    }
    println("$passed passed, $failed failed")
    if (failed > 0) exitProcess(1)
}
