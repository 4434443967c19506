# The local emulator for the binding tests. Source after scripts/lib/common.sh.
#
#   vw_start_emulator   builds and starts `voicewire serve` on a free loopback port with the
#                       binding scenario and a required API key; exports VW_API_BASE
#                       (http://127.0.0.1:P/v1), VW_TEST_API_KEY and VW_EMULATOR_PID, and
#                       stops the emulator when the calling script exits.
#
# The tests use the CLI rather than an FFI helper so the shipped library carries no server
# code (docs/decisions/0005-ffi.md).

VW_TEST_API_KEY="sk-voicewire-binding-test"

vw_stop_emulator() {
  if [ -n "${VW_EMULATOR_PID:-}" ] && kill -0 "$VW_EMULATOR_PID" 2>/dev/null; then
    kill "$VW_EMULATOR_PID" 2>/dev/null || true
    wait "$VW_EMULATOR_PID" 2>/dev/null || true
  fi
  VW_EMULATOR_PID=""
}

vw_start_emulator() {
  cargo build --quiet -p voicewire-cli --all-features
  local out
  out="$(mktemp)"
  "$CARGO_TARGET_DIR/debug/voicewire" serve --port 0 --fast --tones-only \
    --api-key "$VW_TEST_API_KEY" --scenario "$VW_ROOT/bindings/tools/binding-scenario.yaml" \
    >"$out" 2>"$out.err" &
  VW_EMULATOR_PID=$!
  trap 'vw_stop_emulator' EXIT
  local i line=""
  for i in $(seq 1 100); do
    line="$(grep -m1 '^listening on http://' "$out" || true)"
    [ -n "$line" ] && break
    kill -0 "$VW_EMULATOR_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$line" ]; then
    echo "the emulator did not start:" >&2
    cat "$out" "$out.err" >&2
    return 1
  fi
  VW_API_BASE="${line#listening on }/v1"
  export VW_API_BASE VW_TEST_API_KEY VW_EMULATOR_PID
  rm -f "$out"
  log "emulator at $VW_API_BASE (pid $VW_EMULATOR_PID)"
}
