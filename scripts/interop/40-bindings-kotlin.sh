#!/usr/bin/env bash
# Kotlin binding contract test: the committed generated Kotlin + the Flow layer, compiled with
# kotlinc 2.4 and run on the JVM through JNA against the local emulator.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$VW_ROOT/bindings/tools/toolchains.sh"
. "$VW_ROOT/bindings/tools/emulator.sh"
cd "$VW_ROOT"

vw_kotlin
cargo build --quiet -p voicewire-ffi --all-features
build="bindings/kotlin/build/jvm-test"
mkdir -p "$build"
jar="$build/contract-test.jar"
sources=(bindings/kotlin/src/main/kotlin/dev/voicewire/generated/voicewire_ffi.kt
  bindings/kotlin/src/main/kotlin/dev/voicewire/VoiceWire.kt
  bindings/kotlin/src/main/kotlin/dev/voicewire/audio/AudioRouteEvents.kt
  bindings/kotlin/src/test/kotlin/dev/voicewire/ContractTest.kt
  bindings/kotlin/src/test/kotlin/dev/voicewire/AudioRouteTest.kt)
# Recompile only when a source changed (kotlinc takes ~25 s).
if [ ! -f "$jar" ] || [ -n "$(find "${sources[@]}" -newer "$jar")" ]; then
  log "kotlinc (contract test)"
  "$KOTLINC" -nowarn -cp "$KOTLIN_CP" -d "$jar" "${sources[@]}"
fi

vw_start_emulator
java -Djna.library.path="$CARGO_TARGET_DIR/debug" -cp "$jar:$KOTLIN_CP" dev.voicewire.ContractTestKt
# Audio routes: a Kotlin AudioSessionBackend simulating a phone drives AudioRouteControl.
java -Djna.library.path="$CARGO_TARGET_DIR/debug" -cp "$jar:$KOTLIN_CP" dev.voicewire.AudioRouteTestKt
