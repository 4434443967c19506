#!/usr/bin/env bash
# Type-checks (cargo check + clippy -D warnings) the mobile audio crates and the library an app
# links (voicewire-ffi: TLS, WebSocket and WebRTC included) for aarch64-apple-ios and
# aarch64-linux-android. Nothing is linked: there is no Apple SDK and no Android NDK here.
#
# C code in the dependency tree (ring) is compiled by the host clang against musl's headers
# (the recipe verified in /work/shared/TOOLCHAINS.md); for iOS a small TargetConditionals.h
# stands in for the SDK's. Idempotent on a fresh machine: installs clang, musl-dev and the two
# Rust targets, and writes the header into $VW_CACHE.
#
# Usage: scripts/check-mobile.sh [setup|audio|ffi]...   (default: all three)
# Cross builds use their own target dir ($CARGO_TARGET_DIR/cross) so host artifacts are kept.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$VW_ROOT"

ALL_STEPS=(setup audio ffi)
if [ "$#" -gt 0 ]; then STEPS=("$@"); else STEPS=("${ALL_STEPS[@]}"); fi

TARGETS=(aarch64-apple-ios aarch64-linux-android)
CROSS_TARGET_DIR="$CARGO_TARGET_DIR/cross"
IOS_INCLUDE="$VW_CACHE/ios-include"
LOCKED=()
# CI checks against the committed lock file; local runs may resolve new target-only deps.
[ "${CI:-}" = "true" ] && LOCKED=(--locked)

step_setup() {
  apt_install clang musl-dev llvm
  local installed
  installed="$(rustup target list --installed)"
  local t
  for t in "${TARGETS[@]}"; do
    if ! grep -qx "$t" <<<"$installed"; then
      retry 3 rustup target add "$t"
    fi
  done
  rustup component list --installed | grep -q '^clippy' || retry 3 rustup component add clippy
  mkdir -p "$IOS_INCLUDE"
  # The only SDK header ring's C code needs beyond libc: which Apple platform this is.
  cat >"$IOS_INCLUDE/TargetConditionals.h" <<'EOF'
/* Stand-in for the Apple SDK header, for type-checking iOS builds on Linux (nothing is linked). */
#ifndef VOICEWIRE_TARGET_CONDITIONALS_H
#define VOICEWIRE_TARGET_CONDITIONALS_H
#define TARGET_OS_MAC 1
#define TARGET_OS_IPHONE 1
#define TARGET_OS_IOS 1
#define TARGET_OS_OSX 0
#define TARGET_OS_SIMULATOR 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_TV 0
#define TARGET_OS_VISION 0
#define TARGET_OS_MACCATALYST 0
#endif
EOF
}

# The llvm-ar that ships with the installed clang (llvm-ar-14 on bookworm).
find_llvm_ar() {
  local c
  for c in llvm-ar llvm-ar-19 llvm-ar-18 llvm-ar-17 llvm-ar-16 llvm-ar-15 llvm-ar-14; do
    if command -v "$c" >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  echo "no llvm-ar found (apt-get install llvm)" >&2
  return 1
}

# cross TARGET SUBCOMMAND ARGS...: runs `cargo SUBCOMMAND --target TARGET ARGS...` with the C
# toolchain variables for TARGET (--target goes first so it never lands after a `--`).
cross() {
  local target="$1" sub="$2"; shift 2
  local ar musl="/usr/include/x86_64-linux-musl"
  ar="$(find_llvm_ar)"
  case "$target" in
    aarch64-linux-android)
      CC_aarch64_linux_android=clang \
      AR_aarch64_linux_android="$ar" \
      CFLAGS_aarch64_linux_android="--target=aarch64-linux-android24 -isystem $musl" \
      CARGO_TARGET_DIR="$CROSS_TARGET_DIR" \
        cargo "$sub" --target "$target" "$@"
      ;;
    aarch64-apple-ios)
      CC_aarch64_apple_ios=clang \
      AR_aarch64_apple_ios="$ar" \
      CFLAGS_aarch64_apple_ios="--target=arm64-apple-ios13.0 -isystem $musl -I $IOS_INCLUDE" \
      SDKROOT="$musl" \
      IPHONEOS_DEPLOYMENT_TARGET=13.0 \
      CARGO_TARGET_DIR="$CROSS_TARGET_DIR" \
        cargo "$sub" --target "$target" "$@"
      ;;
    *)
      echo "unknown target $target" >&2
      return 1
      ;;
  esac
}

# check_pkg TARGET PACKAGE [FEATURE-ARGS...]: cargo check, then clippy with warnings denied.
# Features default to --all-features.
check_pkg() {
  local target="$1" pkg="$2"; shift 2
  local features=("$@")
  [ "${#features[@]}" -eq 0 ] && features=(--all-features)
  # Chained with && so a failure counts even where `set -e` is suspended (step_ffi's ||).
  log "check $pkg for $target (${features[*]})" &&
    cross "$target" check "${LOCKED[@]}" -p "$pkg" "${features[@]}" &&
    log "clippy $pkg for $target (${features[*]})" &&
    cross "$target" clippy "${LOCKED[@]}" -p "$pkg" "${features[@]}" -- -D warnings
}

step_audio() {
  check_pkg aarch64-apple-ios voicewire-audio-coreaudio
  check_pkg aarch64-linux-android voicewire-audio-oboe
}

# The library an app links: voicewire-ffi with default features (TLS and WebSocket are not
# optional; `desktop-audio` (cpal) is for desktop hosts and is left out, as an app build
# would), and the WebRTC stack (voicewire-rtc: webrtc-rs with ring), checked on its own as
# well so it is covered whether or not the FFI links it yet.
# Known: webrtc-rs pulls nix 0.31.3 (feature "net"), which does not compile for iOS with libc
# 0.2.190+ (libc made SYSPROTO_CONTROL macOS-only); the lock file must pin libc 0.2.189 (and so
# mio 1.2.0): `cargo update -p mio --precise 1.2.0 && cargo update -p libc --precise 0.2.189`.
# Every package/target pair runs even after a failure, so one run shows all of them.
step_ffi() {
  local t failed=()
  for t in "${TARGETS[@]}"; do
    (check_pkg "$t" voicewire-ffi --features=) || failed+=("voicewire-ffi/$t")
    (check_pkg "$t" voicewire-rtc) || failed+=("voicewire-rtc/$t")
  done
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "check-mobile ffi failed for: ${failed[*]}" >&2
    return 1
  fi
}

for s in "${STEPS[@]}"; do
  log "check-mobile: $s"
  "step_$s"
done
log "check-mobile passed: ${STEPS[*]}"
