// Android's side of VoiceWire platform audio: routes and audio focus through AudioManager.
//
// The Rust AAudio device (crate voicewire-audio-oboe) plays and records; everything that only
// Java's AudioManager can do lives here and reaches Rust through the FFI's audio-session
// foreign trait, whose methods map one to one onto configure / setActive / routes / applyRoute
// below. Changes the OS makes (a headset plugged in, Bluetooth connected, focus taken by a
// call) are reported back through [AudioSessionReporter], which the FFI wires to the Rust
// controller; the route policy and resume logic run there, not here.
//
// Background microphone use: since Android 11 an app may only record while it is visible or
// while it runs a foreground service started from the foreground; since Android 14 that
// service must declare `android:foregroundServiceType="microphone"` and the app must hold
// `FOREGROUND_SERVICE_MICROPHONE` (plus `RECORD_AUDIO`). Start the service before the voice
// session if the conversation should continue with the screen off or the app in the
// background; without it Android delivers silence to the AAudio input stream.
package dev.voicewire.audio

import android.content.Context
import android.media.AudioAttributes
import android.media.AudioDeviceCallback
import android.media.AudioDeviceInfo
import android.media.AudioFocusRequest
import android.media.AudioManager
import android.os.Build
import android.os.Handler
import android.os.Looper
import java.util.concurrent.Executor

/** The kinds of output route, as the Rust route policy knows them. */
enum class AudioRouteKind { EARPIECE, SPEAKER, WIRED, BLUETOOTH, OTHER }

/** One route the user could choose. [id] is the AudioDeviceInfo id as text. */
data class AudioRoute(val kind: AudioRouteKind, val id: String, val name: String)

/** The route in use and the routes available. */
data class AudioRouteSnapshot(val current: AudioRoute?, val available: List<AudioRoute>)

/** Why routes changed, as reported to Rust. */
enum class AudioRouteChange { DEVICE_CONNECTED, DEVICE_DISCONNECTED, OVERRIDE, OTHER }

/** What happened to audio focus, as reported to Rust. */
enum class AudioFocusChange {
    /** Focus is ours again: the interruption ended and audio may resume. */
    GAINED,
    /** Another app (a call, navigation) took focus for a while. */
    LOST_TRANSIENT,
    /** Another app took focus for good: audio stays off until the app resumes it. */
    LOST_PERMANENT,
}

/** Receives OS-side changes; the FFI forwards them to the Rust controller. */
interface AudioSessionReporter {
    fun onRoutesChanged(change: AudioRouteChange)
    fun onFocusChanged(change: AudioFocusChange)
}

/** A failed AudioManager operation, with what was attempted. */
class AudioSessionException(message: String) : Exception(message)

/**
 * AudioManager-backed audio session: communication mode, audio focus, route listing and
 * selection (speaker, earpiece, wired, Bluetooth SCO / LE audio), and change reporting.
 *
 * Call [close] when the app no longer needs VoiceWire audio.
 */
class AndroidAudioSession(
    context: Context,
    private val reporter: AudioSessionReporter,
) : AutoCloseable {
    private val audioManager =
        context.applicationContext.getSystemService(Context.AUDIO_SERVICE) as AudioManager
    private val mainHandler = Handler(Looper.getMainLooper())
    private val mainExecutor = Executor { command -> mainHandler.post(command) }
    private var focusRequest: AudioFocusRequest? = null

    private val focusListener = AudioManager.OnAudioFocusChangeListener { change ->
        when (change) {
            AudioManager.AUDIOFOCUS_GAIN -> reporter.onFocusChanged(AudioFocusChange.GAINED)
            AudioManager.AUDIOFOCUS_LOSS ->
                reporter.onFocusChanged(AudioFocusChange.LOST_PERMANENT)
            AudioManager.AUDIOFOCUS_LOSS_TRANSIENT ->
                reporter.onFocusChanged(AudioFocusChange.LOST_TRANSIENT)
            // A notification sound may duck us; a conversation keeps going through it.
            AudioManager.AUDIOFOCUS_LOSS_TRANSIENT_CAN_DUCK -> Unit
        }
    }

    private val deviceCallback = object : AudioDeviceCallback() {
        override fun onAudioDevicesAdded(addedDevices: Array<out AudioDeviceInfo>) {
            reporter.onRoutesChanged(AudioRouteChange.DEVICE_CONNECTED)
        }

        override fun onAudioDevicesRemoved(removedDevices: Array<out AudioDeviceInfo>) {
            reporter.onRoutesChanged(AudioRouteChange.DEVICE_DISCONNECTED)
        }
    }

    private val communicationDeviceListener: Any? =
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            AudioManager.OnCommunicationDeviceChangedListener {
                reporter.onRoutesChanged(AudioRouteChange.OVERRIDE)
            }
        } else {
            null
        }

    init {
        audioManager.registerAudioDeviceCallback(deviceCallback, mainHandler)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            audioManager.addOnCommunicationDeviceChangedListener(
                mainExecutor,
                communicationDeviceListener as AudioManager.OnCommunicationDeviceChangedListener,
            )
        }
    }

    /**
     * Puts the phone in communication mode: the mode the platform echo canceller, Bluetooth
     * SCO and the earpiece route belong to. [voiceProcessing] is informational here (the Rust
     * device picks the input preset).
     */
    fun configure(@Suppress("UNUSED_PARAMETER") voiceProcessing: Boolean) {
        audioManager.mode = AudioManager.MODE_IN_COMMUNICATION
    }

    /** Requests (true) or abandons (false) transient voice-communication audio focus. */
    fun setActive(active: Boolean) {
        if (active) {
            val attributes = AudioAttributes.Builder()
                .setUsage(AudioAttributes.USAGE_VOICE_COMMUNICATION)
                .setContentType(AudioAttributes.CONTENT_TYPE_SPEECH)
                .build()
            val request = AudioFocusRequest.Builder(AudioManager.AUDIOFOCUS_GAIN_TRANSIENT)
                .setAudioAttributes(attributes)
                .setAcceptsDelayedFocusGain(false)
                .setOnAudioFocusChangeListener(focusListener, mainHandler)
                .build()
            val result = audioManager.requestAudioFocus(request)
            if (result != AudioManager.AUDIOFOCUS_REQUEST_GRANTED) {
                throw AudioSessionException("audio focus refused (result $result): a call may be active")
            }
            focusRequest = request
            audioManager.mode = AudioManager.MODE_IN_COMMUNICATION
        } else {
            focusRequest?.let { audioManager.abandonAudioFocusRequest(it) }
            focusRequest = null
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
                audioManager.clearCommunicationDevice()
            } else {
                @Suppress("DEPRECATION")
                audioManager.isSpeakerphoneOn = false
                @Suppress("DEPRECATION")
                audioManager.stopBluetoothSco()
            }
            audioManager.mode = AudioManager.MODE_NORMAL
        }
    }

    /** The current and available communication routes. */
    fun routes(): AudioRouteSnapshot =
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            val available = audioManager.availableCommunicationDevices.map(::routeOf)
            val current = audioManager.communicationDevice?.let(::routeOf)
            AudioRouteSnapshot(current, available.distinctBy { it.kind to it.id })
        } else {
            legacyRoutes()
        }

    /** Routes voice to a device of [kind], preferring the device with [id]. */
    fun applyRoute(kind: AudioRouteKind, id: String?) {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            val candidates = audioManager.availableCommunicationDevices.filter { kindOf(it) == kind }
            val device = candidates.firstOrNull { it.id.toString() == id } ?: candidates.firstOrNull()
                ?: throw AudioSessionException("no $kind route is available")
            if (!audioManager.setCommunicationDevice(device)) {
                throw AudioSessionException("AudioManager refused to route to ${device.productName}")
            }
        } else {
            applyLegacyRoute(kind)
        }
    }

    override fun close() {
        audioManager.unregisterAudioDeviceCallback(deviceCallback)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            audioManager.removeOnCommunicationDeviceChangedListener(
                communicationDeviceListener as AudioManager.OnCommunicationDeviceChangedListener,
            )
        }
        focusRequest?.let { audioManager.abandonAudioFocusRequest(it) }
        focusRequest = null
    }

    private fun kindOf(device: AudioDeviceInfo): AudioRouteKind = when (device.type) {
        AudioDeviceInfo.TYPE_BUILTIN_EARPIECE -> AudioRouteKind.EARPIECE
        AudioDeviceInfo.TYPE_BUILTIN_SPEAKER -> AudioRouteKind.SPEAKER
        AudioDeviceInfo.TYPE_WIRED_HEADSET,
        AudioDeviceInfo.TYPE_WIRED_HEADPHONES,
        AudioDeviceInfo.TYPE_USB_HEADSET,
        AudioDeviceInfo.TYPE_USB_DEVICE,
        AudioDeviceInfo.TYPE_LINE_ANALOG -> AudioRouteKind.WIRED
        AudioDeviceInfo.TYPE_BLUETOOTH_SCO,
        AudioDeviceInfo.TYPE_BLUETOOTH_A2DP,
        AudioDeviceInfo.TYPE_HEARING_AID -> AudioRouteKind.BLUETOOTH
        // TYPE_BLE_HEADSET (26) exists from API 31; compare by value so older SDKs compile.
        BLE_HEADSET -> AudioRouteKind.BLUETOOTH
        else -> AudioRouteKind.OTHER
    }

    private fun routeOf(device: AudioDeviceInfo): AudioRoute {
        val kind = kindOf(device)
        val name = device.productName?.toString()?.takeIf { it.isNotBlank() } ?: kind.name.lowercase()
        return AudioRoute(kind, device.id.toString(), name)
    }

    /** Before API 31 there is no communication-device API: derive routes from outputs. */
    @Suppress("DEPRECATION")
    private fun legacyRoutes(): AudioRouteSnapshot {
        val outputs = audioManager.getDevices(AudioManager.GET_DEVICES_OUTPUTS)
            .map(::routeOf)
            .filter { it.kind != AudioRouteKind.OTHER }
            .distinctBy { it.kind }
        val current = when {
            audioManager.isBluetoothScoOn -> outputs.firstOrNull { it.kind == AudioRouteKind.BLUETOOTH }
            audioManager.isSpeakerphoneOn -> outputs.firstOrNull { it.kind == AudioRouteKind.SPEAKER }
            else -> outputs.firstOrNull { it.kind == AudioRouteKind.WIRED }
                ?: outputs.firstOrNull { it.kind == AudioRouteKind.EARPIECE }
        }
        return AudioRouteSnapshot(current, outputs)
    }

    @Suppress("DEPRECATION")
    private fun applyLegacyRoute(kind: AudioRouteKind) {
        when (kind) {
            AudioRouteKind.SPEAKER -> {
                audioManager.stopBluetoothSco()
                audioManager.isBluetoothScoOn = false
                audioManager.isSpeakerphoneOn = true
            }
            AudioRouteKind.BLUETOOTH -> {
                audioManager.isSpeakerphoneOn = false
                audioManager.startBluetoothSco()
                audioManager.isBluetoothScoOn = true
            }
            AudioRouteKind.EARPIECE, AudioRouteKind.WIRED -> {
                // Wired headsets take over from the earpiece by themselves.
                audioManager.stopBluetoothSco()
                audioManager.isBluetoothScoOn = false
                audioManager.isSpeakerphoneOn = false
            }
            AudioRouteKind.OTHER -> throw AudioSessionException("other routes cannot be selected")
        }
    }

    private companion object {
        const val BLE_HEADSET = 26
    }
}
