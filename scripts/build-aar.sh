#!/usr/bin/env bash
# Builds libvoicewire_ffi.so for Android ABIs into bindings/kotlin/src/main/jniLibs with
# cargo-ndk, then the AAR with Gradle. Needs ANDROID_NDK_HOME (and Gradle with access to
# Google's Maven for the AAR); without an NDK it says so and exits non-zero.
#   scripts/build-aar.sh [ABI...]      (default: arm64-v8a x86_64)
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$VW_ROOT"
abis=("$@")
[ "${#abis[@]}" -gt 0 ] || abis=(arm64-v8a x86_64)

if [ -z "${ANDROID_NDK_HOME:-}" ] || [ ! -d "$ANDROID_NDK_HOME" ]; then
  echo "ANDROID_NDK_HOME is not set to an Android NDK; cannot link the Android library here." >&2
  exit 2
fi
command -v cargo-ndk >/dev/null || retry 3 cargo install --locked cargo-ndk
declare -A triple=([arm64-v8a]=aarch64-linux-android [armeabi-v7a]=armv7-linux-androideabi [x86_64]=x86_64-linux-android)
args=()
for abi in "${abis[@]}"; do
  rustup target add "${triple[$abi]}" >/dev/null
  args+=(-t "$abi")
done
cargo ndk "${args[@]}" --platform 26 -o bindings/kotlin/src/main/jniLibs build -p voicewire-ffi --profile mobile
if command -v gradle >/dev/null; then
  (cd bindings/kotlin && gradle --no-daemon assembleRelease)
  log "AAR: bindings/kotlin/build/outputs/aar/"
else
  log "libraries in bindings/kotlin/src/main/jniLibs; run gradle assembleRelease in bindings/kotlin for the AAR"
fi
