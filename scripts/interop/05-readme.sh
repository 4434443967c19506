#!/usr/bin/env bash
# The README's main command, word for word, in a fresh clone of the committed HEAD: no API
# key, no sound card, the emulator in-process. Checks the printed transcript and the reply
# WAV (24 kHz mono 16-bit, audible speech). Shares CARGO_TARGET_DIR so nothing is rebuilt
# that the other stages already built.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
cd "$VW_ROOT"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log "fresh clone of HEAD ($(git rev-parse --short HEAD)) into $WORK/voicewire"
git clone -q "$VW_ROOT" "$WORK/voicewire"
cd "$WORK/voicewire"

# The command exactly as the README states it (the first `cargo run … talk` line).
CMD="$(grep -m1 '^cargo run -p voicewire-cli -- talk ' README.md)"
[ -n "$CMD" ] || { echo "README has no 'cargo run -p voicewire-cli -- talk' command" >&2; exit 1; }
log "running: $CMD"
env -u OPENAI_API_KEY -u RUST_LOG bash -c "$CMD" >"$WORK/stdout" 2>"$WORK/stderr" || {
  echo "the README command failed:" >&2; cat "$WORK/stdout" "$WORK/stderr" >&2; exit 1; }
cat "$WORK/stdout"

grep -q '^you: \[.* s of audio' "$WORK/stdout" || { echo "no user turn in the output" >&2; exit 1; }
grep -q '^assistant: Echo of your .* seconds of audio' "$WORK/stdout" || {
  echo "no assistant transcript in the output" >&2; exit 1; }
grep -q '^reply audio: reply.wav' "$WORK/stdout" || { echo "no reply audio line" >&2; exit 1; }

python3 - "$WORK/voicewire/reply.wav" <<'PY'
import array, sys, wave
with wave.open(sys.argv[1]) as w:
    rate, channels, width, frames = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
    samples = array.array("h", w.readframes(frames))
assert (rate, channels, width) == (24000, 1, 2), (rate, channels, width)
loud = sum(1 for s in samples if abs(s) > 1000)
seconds = frames / rate
assert seconds > 2.0, f"reply is {seconds:.1f} s"
assert loud > rate // 2, f"reply is not speech: {loud} loud samples"
print(f"reply.wav: {seconds:.1f} s, 24 kHz mono 16-bit, {loud} samples above -30 dBFS")
PY
log "the README command works from a fresh clone"
