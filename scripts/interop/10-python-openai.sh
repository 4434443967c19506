#!/usr/bin/env bash
# The official openai-python client (PyPI `openai`) against the VoiceWire emulator:
# mint a client secret, connect with it, session.update, a text turn, an audio turn from a
# real speech WAV (server VAD, echoed audio), a tool-call round trip, cancel + truncate,
# and the beta dialect. Two emulators run on 127.0.0.1 (echo agent, and a tool scenario);
# both are stopped on exit.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
cd "$VW_ROOT"

PY="$(python_venv openai websockets pytest)"
log "building the voicewire CLI"
cargo build -q --locked -p voicewire-cli --all-features
BIN="$CARGO_TARGET_DIR/debug/voicewire"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_emulator NAME ARGS...: runs `voicewire serve --port 0 ARGS` in the background
# (its pid goes to PIDS, so the EXIT trap stops it), waits for its
# "listening on http://127.0.0.1:P" line and stores that URL in URL_<NAME>.
start_emulator() {
  local name="$1"; shift
  "$BIN" serve --port 0 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  local pid="$!"
  PIDS+=("$pid")
  local url="" i
  for i in $(seq 1 200); do
    url="$(grep -m1 -o 'listening on http://127\.0\.0\.1:[0-9]*' "$WORK/$name.out" 2>/dev/null | sed 's/listening on //' || true)"
    [ -n "$url" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$WORK/$name.err" >&2
      echo "emulator $name exited before listening" >&2
      return 1
    fi
    sleep 0.1
  done
  [ -n "$url" ] || { echo "emulator $name did not start" >&2; cat "$WORK/$name.err" >&2; return 1; }
  printf -v "URL_$name" '%s' "$url"
}

start_emulator echo
start_emulator scenario --scenario interop/python/tool_scenario.yaml
ECHO_URL="$URL_echo"
SCENARIO_URL="$URL_scenario"
log "emulators: echo $ECHO_URL, scenario $SCENARIO_URL"

set +e
VOICEWIRE_ECHO_URL="$ECHO_URL" VOICEWIRE_SCENARIO_URL="$SCENARIO_URL" \
  "$PY" -m pytest -q -p no:cacheprovider interop/python
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests; treating that as a failure" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  log "emulator logs (echo)"; tail -n 50 "$WORK/echo.err" >&2 || true
  log "emulator logs (scenario)"; tail -n 50 "$WORK/scenario.err" >&2 || true
fi
exit "$status"
