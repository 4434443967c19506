#!/usr/bin/env bash
# Builds bindings/swift/VoiceWireFFI.xcframework (the Swift package's binary target).
# Runs on macOS with Xcode. On Linux it builds and checks only the iOS device static library
# (type-checked and linked as a static archive; no Apple SDK is needed for that step).
#   scripts/build-xcframework.sh [--profile mobile]
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$VW_ROOT"
profile="${2:-mobile}"
[ "${1:-}" = "--profile" ] || profile="mobile"

targets=(aarch64-apple-ios)
if [ "$(uname)" = "Darwin" ]; then
  targets+=(aarch64-apple-ios-sim aarch64-apple-darwin)
else
  # Linux check build: ring's C is compiled by clang for arm64-apple-ios against stand-in
  # headers (musl + a TargetConditionals.h), so the archive proves the Rust side builds for
  # iOS; ship only archives built on macOS with the real SDK.
  apt_install clang llvm-14 musl-dev
  inc="$VW_CACHE/ios-include"
  mkdir -p "$inc"
  [ -f "$inc/TargetConditionals.h" ] || printf '%s\n' '#pragma once' '#define TARGET_OS_MAC 1' '#define TARGET_OS_IPHONE 1' \
    '#define TARGET_OS_IOS 1' '#define TARGET_OS_OSX 0' '#define TARGET_OS_SIMULATOR 0' '#define TARGET_OS_WATCH 0' \
    '#define TARGET_OS_TV 0' >"$inc/TargetConditionals.h"
  export CC_aarch64_apple_ios=clang AR_aarch64_apple_ios=llvm-ar-14 SDKROOT=/usr/include/x86_64-linux-musl \
    IPHONEOS_DEPLOYMENT_TARGET=13.0 \
    CFLAGS_aarch64_apple_ios="--target=arm64-apple-ios13.0 -isystem /usr/include/x86_64-linux-musl -I $inc"
fi
for t in "${targets[@]}"; do
  rustup target add "$t" >/dev/null
  log "static library for $t ($profile)"
  # staticlib only here: the crate's manifest builds cdylib/lib for everyday use.
  cargo rustc -p voicewire-ffi --lib --profile "$profile" --target "$t" --crate-type staticlib
done

# cargo names the dev profile's directory "debug".
outdir="$profile"
[ "$profile" = "dev" ] && outdir="debug"
if [ "$(uname)" != "Darwin" ]; then
  log "not on macOS: built $CARGO_TARGET_DIR/aarch64-apple-ios/$outdir/libvoicewire_ffi.a only"
  exit 0
fi

out="bindings/swift/VoiceWireFFI.xcframework"
headers="$(mktemp -d)"
cp bindings/swift/Sources/VoiceWireFFI/VoiceWireFFI.h "$headers/"
printf 'module VoiceWireFFI {\n    header "VoiceWireFFI.h"\n    export *\n}\n' >"$headers/module.modulemap"
rm -rf "$out"
xcodebuild -create-xcframework \
  -library "$CARGO_TARGET_DIR/aarch64-apple-ios/$outdir/libvoicewire_ffi.a" -headers "$headers" \
  -library "$CARGO_TARGET_DIR/aarch64-apple-ios-sim/$outdir/libvoicewire_ffi.a" -headers "$headers" \
  -library "$CARGO_TARGET_DIR/aarch64-apple-darwin/$outdir/libvoicewire_ffi.a" -headers "$headers" \
  -output "$out"
rm -rf "$headers"
log "wrote $out"
