// Android's side of VoiceWire platform audio: routes and audio focus through AudioManager.
//
// The Rust AAudio device (crate voicewire-audio-oboe) plays and records; everything that only
// Java's AudioManager can do lives here. [AndroidAudioSession] implements the FFI's
// [AudioSessionBackend] foreign trait (configure / setActive / routes / applyRoute), so the
// Rust controller calls it directly. Changes the OS makes (a headset plugged in, Bluetooth
// connected, focus taken by a call) are reported to the [AudioRouteControl] it is attached to;
// the route policy and the resume logic run there, in Rust, not here.
//
// Typical use (see [AndroidPlatformAudio]):
//
//     val platform = AndroidPlatformAudio(context)
//     val session = RealtimeVoiceSession(options, tokens, tools, platform.choice())
//     platform.routes.selectRoute(AudioRouteSelection.SPEAKER)
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
import dev.voicewire.AudioChoice
import dev.voicewire.AudioFocusChange
import dev.voicewire.AudioRoute
import dev.voicewire.AudioRouteChangeReason
import dev.voicewire.AudioRouteControl
import dev.voicewire.AudioRouteKind
import dev.voicewire.AudioRouteSnapshot
import dev.voicewire.AudioSessionBackend
import dev.voicewire.PlatformAudio
import dev.voicewire.PlatformAudioOptions
import dev.voicewire.VoiceException
import dev.voicewire.defaultPlatformAudioOptions
import java.util.concurrent.Executor

/**
 * AudioManager-backed audio session: communication mode, audio focus, route listing and
 * selection (speaker, earpiece, wired, Bluetooth SCO / LE audio), and change reporting.
 *
 * Pass it to `PlatformAudio(options, session)`, then [attach] the device's route control so
 * OS changes reach the Rust controller ([AndroidPlatformAudio] does both). Failures are thrown
 * as `VoiceException.AudioDevice`. Call [close] when the app no longer needs VoiceWire audio.
 */
class AndroidAudioSession(context: Context) : AudioSessionBackend, AutoCloseable {
    private val audioManager =
        context.applicationContext.getSystemService(Context.AUDIO_SERVICE) as AudioManager
    private val mainHandler = Handler(Looper.getMainLooper())
    private val mainExecutor = Executor { command -> mainHandler.post(command) }
    @Volatile private var focusRequest: AudioFocusRequest? = null
    @Volatile private var control: AudioRouteControl? = null

    /** Reports OS changes to [routes] from now on (the control of the PlatformAudio this session backs). */
    fun attach(routes: AudioRouteControl) {
        control = routes
    }

    private val focusListener = AudioManager.OnAudioFocusChangeListener { change ->
        val focus = when (change) {
            AudioManager.AUDIOFOCUS_GAIN -> AudioFocusChange.GAINED
            AudioManager.AUDIOFOCUS_LOSS -> AudioFocusChange.LOST_PERMANENT
            AudioManager.AUDIOFOCUS_LOSS_TRANSIENT -> AudioFocusChange.LOST_TRANSIENT
            // A notification sound may duck us; Rust keeps the conversation going through it.
            AudioManager.AUDIOFOCUS_LOSS_TRANSIENT_CAN_DUCK -> AudioFocusChange.LOST_CAN_DUCK
            else -> null
        }
        focus?.let { control?.reportFocusChange(it) }
    }

    private val deviceCallback = object : AudioDeviceCallback() {
        override fun onAudioDevicesAdded(addedDevices: Array<out AudioDeviceInfo>) {
            control?.reportRouteChange(AudioRouteChangeReason.DEVICE_CONNECTED)
        }

        override fun onAudioDevicesRemoved(removedDevices: Array<out AudioDeviceInfo>) {
            control?.reportRouteChange(AudioRouteChangeReason.DEVICE_DISCONNECTED)
        }
    }

    private val communicationDeviceListener: Any? =
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            AudioManager.OnCommunicationDeviceChangedListener {
                control?.reportRouteChange(AudioRouteChangeReason.OVERRIDE)
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
     * SCO and the earpiece route belong to. The flags are informational here (the Rust device
     * picks the input preset; A2DP is an iOS option).
     */
    override fun configure(voiceProcessing: Boolean, allowBluetoothA2dp: Boolean) {
        audioManager.mode = AudioManager.MODE_IN_COMMUNICATION
    }

    /** Requests (true) or abandons (false) transient voice-communication audio focus. */
    override fun setActive(active: Boolean) {
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
                throw VoiceException.AudioDevice("audio focus refused (result $result): a call may be active")
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
    override fun routes(): AudioRouteSnapshot =
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            val available = audioManager.availableCommunicationDevices.map(::routeOf)
            val current = audioManager.communicationDevice?.let(::routeOf)
            AudioRouteSnapshot(current = current, available = available.distinctBy { it.kind to it.id })
        } else {
            legacyRoutes()
        }

    /** Routes voice to a device of [kind], preferring the device with [id]. */
    override fun applyRoute(kind: AudioRouteKind, id: String?) {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            val candidates = audioManager.availableCommunicationDevices.filter { kindOf(it) == kind }
            val device = candidates.firstOrNull { it.id.toString() == id } ?: candidates.firstOrNull()
                ?: throw VoiceException.AudioDevice("no $kind route is available")
            if (!audioManager.setCommunicationDevice(device)) {
                throw VoiceException.AudioDevice("AudioManager refused to route to ${device.productName}")
            }
        } else {
            applyLegacyRoute(kind)
        }
    }

    override fun close() {
        control = null
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
        return AudioRoute(kind = kind, id = device.id.toString(), name = name)
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
        return AudioRouteSnapshot(current = current, available = outputs)
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
            AudioRouteKind.OTHER -> throw VoiceException.AudioDevice("other routes cannot be selected")
        }
    }

    private companion object {
        const val BLE_HEADSET = 26
    }
}

/**
 * The phone's microphone and speaker for a voice session, with route control: an
 * [AndroidAudioSession] backing a `PlatformAudio` (AAudio, voice-communication preset), its
 * [routes] attached so device and focus changes reach Rust.
 *
 * Pass [choice] to `RealtimeVoiceSession`; keep [routes] for the route picker, the
 * echo-cancellation switch (`setVoiceProcessing`), levels and `subscribe`. Close it when the
 * voice session has ended.
 */
class AndroidPlatformAudio(
    context: Context,
    options: PlatformAudioOptions = defaultPlatformAudioOptions().also {
        it.hardwareSampleRate = outputSampleRate(context)
    },
) : AutoCloseable {
    /** The AudioManager side. */
    val session = AndroidAudioSession(context)

    /** The device (one voice session may use it). */
    val audio = PlatformAudio(options, session)

    /** Routes, voice processing, levels and events. */
    val routes: AudioRouteControl = audio.routeControl().also(session::attach)

    /** The session's audio choice for this device. */
    fun choice(): AudioChoice = AudioChoice.Platform(audio)

    override fun close() {
        session.close()
        routes.close()
        audio.close()
    }

    private companion object {
        /** `PROPERTY_OUTPUT_SAMPLE_RATE`, the rate AAudio runs without resampling. */
        fun outputSampleRate(context: Context): UInt? {
            val manager = context.applicationContext.getSystemService(Context.AUDIO_SERVICE) as AudioManager
            return manager.getProperty(AudioManager.PROPERTY_OUTPUT_SAMPLE_RATE)?.toUIntOrNull()
        }
    }
}
