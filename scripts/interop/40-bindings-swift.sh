#!/usr/bin/env bash
# Swift binding contract test: the Swift package (committed generated Swift + the async/SwiftUI
# layer) built and tested with `swift test` in a Debian trixie chroot (swiftlang 6), linked
# against the host's libvoicewire_ffi.so, against the local emulator (the chroot shares the
# host's loopback).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$VW_ROOT/bindings/tools/toolchains.sh"
. "$VW_ROOT/bindings/tools/emulator.sh"
cd "$VW_ROOT"

vw_swift_chroot
cargo build --quiet -p voicewire-ffi --all-features
apt_install rsync
# The package is copied in (not bind-mounted) so nothing of the repo is ever under the chroot
# while it is being cleaned; .build stays in the chroot between runs for incremental builds.
mkdir -p "$SWIFT_ROOT/vw/swift" "$SWIFT_ROOT/vw/lib"
rsync -a --delete --exclude .build bindings/swift/ "$SWIFT_ROOT/vw/swift/"
cp "$CARGO_TARGET_DIR/debug/libvoicewire_ffi.so" "$SWIFT_ROOT/vw/lib/"

vw_start_emulator
log_file="$(mktemp)"
rc=0
vw_chroot_run "cd /vw/swift && VW_API_BASE='$VW_API_BASE' VW_TEST_API_KEY='$VW_TEST_API_KEY' LD_LIBRARY_PATH=/vw/lib \
  swift test -Xlinker -L/vw/lib 2>&1" | tee "$log_file" || rc=$?
# XCTest's summary as the "N passed, N failed" line every binding test ends with.
summary="$(grep -o 'Executed [0-9]* tests\?, with [0-9]* failures\?' "$log_file" | tail -1 || true)"
rm -f "$log_file"
if [ -n "$summary" ]; then
  total="$(echo "$summary" | awk '{print $2}')"
  failed="$(echo "$summary" | awk '{print $5}')"
  echo "$((total - failed)) passed, $failed failed"
  [ "$failed" -eq 0 ] || rc=1
else
  echo "0 passed, 1 failed (swift test did not run)"
  rc=1
fi
exit "$rc"
