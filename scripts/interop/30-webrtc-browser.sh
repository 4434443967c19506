#!/usr/bin/env bash
# Headless Chromium against the VoiceWire emulator over WebRTC, on loopback only.
# The page runs the standard browser snippet: getUserMedia (a fake microphone playing the
# speech fixture), RTCPeerConnection, createDataChannel('oai-events'), offer POSTed as
# application/sdp to /v1/realtime/calls with an ephemeral key minted from
# /v1/realtime/client_secrets, answer applied. It then checks that the data channel carries
# the session's events (session.created, the VAD turn, output_audio_buffer.*) and that audio
# flows both ways (RTP stats: packets sent, packets and audio energy received).
# Chromium comes from apt (no browser download); playwright-core from npm, cached.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
cd "$VW_ROOT"

apt_install chromium
CHROMIUM="$(command -v chromium)"

NODE_DIR="$VW_CACHE/node-webrtc-browser"
if [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
  log "npm install playwright-core (cached in $NODE_DIR)"
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || echo '{"private":true}' >"$NODE_DIR/package.json"
  retry 3 npm install --prefix "$NODE_DIR" --no-audit --no-fund --silent playwright-core@1
fi

log "building the voicewire CLI"
cargo build -q --locked -p voicewire-cli --all-features
BIN="$CARGO_TARGET_DIR/debug/voicewire"

WORK="$(mktemp -d)"
EMULATOR_PID=""
cleanup() {
  if [ -n "$EMULATOR_PID" ]; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" serve --port 0 >"$WORK/emulator.out" 2>"$WORK/emulator.err" &
EMULATOR_PID="$!"
URL=""
for _ in $(seq 1 200); do
  URL="$(grep -m1 -o 'listening on http://127\.0\.0\.1:[0-9]*' "$WORK/emulator.out" 2>/dev/null | sed 's/listening on //' || true)"
  [ -n "$URL" ] && break
  kill -0 "$EMULATOR_PID" 2>/dev/null || { cat "$WORK/emulator.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "emulator did not start" >&2; exit 1; }
log "emulator at $URL; driving $CHROMIUM"

set +e
NODE_PATH="$NODE_DIR/node_modules" \
  VOICEWIRE_URL="$URL" \
  CHROMIUM="$CHROMIUM" \
  FAKE_MIC="$VW_ROOT/fixtures/audio/speech_weather_48k.wav" \
  USER_DATA_DIR="$WORK/profile" \
  node "$VW_ROOT/interop/browser/webrtc_call.cjs"
status=$?
set -e
if [ "$status" -ne 0 ]; then
  log "emulator log"; tail -n 40 "$WORK/emulator.err" >&2 || true
fi
exit "$status"
