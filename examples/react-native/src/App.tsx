// One screen: a talk button, level meters, the live transcript and a stop button, all from
// the `useRealtimeVoice` hook of @voicewire/react-native.
import React from 'react';
import { Pressable, SafeAreaView, StyleSheet, Text, View } from 'react-native';
import { AudioChoice, TransportKind, useRealtimeVoice, type SessionOptions } from '@voicewire/react-native';

import { TranscriptView } from './TranscriptView';

/** Your backend mints a short-lived client secret per session (see examples/rust
 * `mint_backend`); the API key never ships in the app. 10.0.2.2 is the host machine from the
 * Android emulator; use 127.0.0.1 on the iOS simulator. */
const TOKEN_URL = 'http://10.0.2.2:8788/voice/token';

async function fetchToken(): Promise<{ value: string; expiresAt?: number }> {
  const response = await fetch(TOKEN_URL, {
    method: 'POST',
    headers: { Authorization: 'Bearer app-token-ana' },
  });
  if (!response.ok) throw new Error(`token backend answered HTTP ${response.status}`);
  const body = (await response.json()) as { value: string; expires_at?: number };
  return { value: body.value, expiresAt: body.expires_at };
}

const options: SessionOptions = {
  endpoint: { apiBase: 'https://api.openai.com/v1', relayUrl: undefined, model: undefined },
  transport: TransportKind.WebRtc,
  session: {
    instructions: 'You are a friendly assistant. Keep answers short.',
    voice: 'marin',
    outputModalities: undefined,
    turnDetection: undefined,
    inputTranscriptionModel: 'gpt-4o-transcribe',
    tools: undefined,
  },
  reconnect: undefined,
  toolTimeoutMs: undefined,
  levelsIntervalMs: 50n,
};

/** -60 dBFS … 0 dBFS as 0 … 1: speech moves the meter, silence leaves it low. */
function meter(rms: number): number {
  return rms > 1e-6 ? Math.min(1, Math.max(0, (20 * Math.log10(rms) + 60) / 60)) : 0;
}

export default function App() {
  const voice = useRealtimeVoice({ options, fetchToken, audio: AudioChoice.PlatformDefault.new() });
  const live = String(voice.state.tag) === 'Live';

  return (
    <SafeAreaView style={styles.screen}>
      <Text style={styles.state}>{voice.connected ? String(voice.state.tag) : 'Tap Talk to start'}</Text>
      <View style={styles.meters}>
        <View style={[styles.meter, { width: `${meter(voice.levels.inputRms) * 100}%`, backgroundColor: '#1e88e5' }]} />
        <View style={[styles.meter, { width: `${meter(voice.levels.outputRms) * 100}%`, backgroundColor: '#8e24aa' }]} />
      </View>
      <TranscriptView user={voice.userTranscript} assistant={voice.assistantTranscript} />
      {voice.error ? <Text style={styles.error}>{voice.error.message}</Text> : null}
      <View style={styles.buttons}>
        <Pressable
          accessibilityRole="button"
          style={[styles.button, live && !voice.muted ? styles.active : null]}
          onPress={() => (voice.connected ? voice.toggleMute() : void voice.connect())}
        >
          <Text style={styles.label}>{!voice.connected ? 'Talk' : voice.muted ? 'Unmute' : 'Mute'}</Text>
        </Pressable>
        <Pressable accessibilityRole="button" style={styles.button} disabled={!voice.connected} onPress={() => void voice.disconnect()}>
          <Text style={styles.label}>Stop</Text>
        </Pressable>
      </View>
    </SafeAreaView>
  );
}

const styles = StyleSheet.create({
  screen: { flex: 1, padding: 24, gap: 16 },
  state: { fontSize: 18, fontWeight: '600', textAlign: 'center' },
  meters: { gap: 8 },
  meter: { height: 10, borderRadius: 5, minWidth: 4 },
  error: { color: '#c62828' },
  buttons: { flexDirection: 'row', justifyContent: 'center', gap: 24 },
  button: { paddingVertical: 16, paddingHorizontal: 28, borderRadius: 28, backgroundColor: '#eceff1' },
  active: { backgroundColor: '#bbdefb' },
  label: { fontSize: 17, fontWeight: '600' },
});
