package dev.voicewire.demo

import android.Manifest
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.animation.core.animateFloatAsState
import androidx.compose.foundation.layout.*
import androidx.compose.foundation.shape.RoundedCornerShape
import androidx.compose.foundation.background
import androidx.compose.material3.*
import androidx.compose.runtime.*
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.unit.dp
import dev.voicewire.*
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.json.JSONObject
import java.net.HttpURLConnection
import java.net.URL
import kotlin.math.log10

/** Asks the app's backend for a short-lived client secret (the API key stays there). */
suspend fun fetchToken(): ClientToken = withContext(Dispatchers.IO) {
    val connection = URL(BuildConfig.TOKEN_URL).openConnection() as HttpURLConnection
    connection.requestMethod = "POST"
    connection.setRequestProperty("Authorization", "Bearer app-token-ana")
    try {
        if (connection.responseCode != 200) {
            throw VoiceException.Auth("token backend answered HTTP ${connection.responseCode}")
        }
        val body = JSONObject(connection.inputStream.bufferedReader().readText())
        ClientToken(body.getString("value"), body.optLong("expires_at").takeIf { it > 0 }?.toULong())
    } finally {
        connection.disconnect()
    }
}

fun newSession(): RealtimeVoiceSession = RealtimeVoiceSession(
    SessionOptions(
        endpoint = EndpointConfig(BuildConfig.API_BASE, null, null),
        transport = TransportKind.WEB_RTC,
        session = SessionConfig(
            instructions = "You are a friendly assistant. Keep answers short.",
            voice = "marin",
            outputModalities = null,
            turnDetection = null,
            inputTranscriptionModel = "gpt-4o-transcribe",
            tools = null,
        ),
        reconnect = null,
        toolTimeoutMs = null,
        levelsIntervalMs = 50u,
    ),
    tokenProvider { fetchToken() },
    toolHandlers(emptyMap()),
    // AAudio/Oboe with the voice-communication preset: hardware echo cancellation.
    AudioChoice.PlatformDefault,
)

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent { MaterialTheme { VoiceScreen() } }
    }
}

@Composable
fun VoiceScreen() {
    var model by remember { mutableStateOf<VoiceSessionModel?>(null) }
    var scope by remember { mutableStateOf(MainScope()) }
    var error by remember { mutableStateOf<String?>(null) }
    val start: () -> Unit = {
        scope = MainScope()
        val session = newSession()
        val m = VoiceSessionModel(session, scope)
        model = m
        scope.launch {
            try { session.start() } catch (e: VoiceException) { error = e.message }
        }
    }
    val permission = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) start() else error = "The microphone permission is needed to talk."
    }

    Column(
        modifier = Modifier.fillMaxSize().padding(24.dp),
        horizontalAlignment = Alignment.CenterHorizontally,
        verticalArrangement = Arrangement.spacedBy(16.dp),
    ) {
        val current = model
        val state = current?.state?.collectAsState()?.value
        val levels = current?.levels?.collectAsState()?.value
        val user = current?.userTranscript?.collectAsState()?.value.orEmpty()
        val assistant = current?.assistantTranscript?.collectAsState()?.value.orEmpty()
        Text(state?.toString() ?: "Tap the microphone to talk", style = MaterialTheme.typography.titleMedium)
        LevelBars(levels?.inputRms ?: 0f, Color(0xFF1E88E5))
        LevelBars(levels?.outputRms ?: 0f, Color(0xFF8E24AA))
        Column(Modifier.weight(1f).fillMaxWidth(), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            if (user.isNotEmpty()) Text("You: $user")
            if (assistant.isNotEmpty()) Text("Assistant: $assistant", color = Color(0xFF8E24AA))
        }
        error?.let { Text(it, color = Color.Red) }
        Row(horizontalArrangement = Arrangement.spacedBy(24.dp)) {
            Button(onClick = {
                if (current == null) permission.launch(Manifest.permission.RECORD_AUDIO) else current.toggleMute()
            }) { Text(if (current == null) "🎤 Talk" else "Mute / unmute") }
            OutlinedButton(enabled = current != null, onClick = {
                val session = current?.session ?: return@OutlinedButton
                scope.launch {
                    session.stop()
                    model = null
                    scope.coroutineContext[kotlinx.coroutines.Job]?.cancel()
                }
            }) { Text("Stop") }
        }
    }
}

/** Seven bars following the level on a decibel scale (-60 dBFS … 0 dBFS), animated. */
@Composable
fun LevelBars(rms: Float, color: Color) {
    val position = if (rms > 1e-6f) ((20 * log10(rms) + 60) / 60).coerceIn(0f, 1f) else 0f
    val animated by animateFloatAsState(position, label = "level")
    Row(Modifier.height(64.dp), verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(6.dp)) {
        for (i in 0 until 7) {
            val shape = 1f - kotlin.math.abs(i - 3) / 4f
            Box(
                Modifier.width(8.dp).height((6 + 54 * animated * shape).dp)
                    .background(color, RoundedCornerShape(3.dp))
            )
        }
    }
}
