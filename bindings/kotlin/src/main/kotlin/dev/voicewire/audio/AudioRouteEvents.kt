// Kotlin conveniences for platform audio routes (plain JVM code: usable and tested off Android).
package dev.voicewire.audio

import dev.voicewire.AudioRouteControl
import dev.voicewire.PlatformAudioEvent
import dev.voicewire.PlatformAudioListener
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.channels.trySendBlocking
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow

/**
 * Route and interruption events as a cold [Flow]: collecting subscribes (the routes as they
 * are now come first: available routes, then the current route with reason `INITIAL`);
 * cancelling the collector closes the subscription's handle.
 */
fun AudioRouteControl.events(): Flow<PlatformAudioEvent> = callbackFlow {
    val handle = subscribe(object : PlatformAudioListener {
        override fun onEvent(event: PlatformAudioEvent) {
            trySendBlocking(event)
        }
    })
    awaitClose { handle.close() }
}
