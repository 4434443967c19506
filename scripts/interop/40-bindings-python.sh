#!/usr/bin/env bash
# Python binding contract test (pytest) against the local emulator.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$VW_ROOT/bindings/tools/emulator.sh"
cd "$VW_ROOT"

py="$(python_venv pytest==8.4.2 pytest-asyncio==1.2.0)"
cargo build --quiet -p voicewire-ffi -p uniffi-bindgen --all-features
build="bindings/python/build"
rm -rf "$build" && mkdir -p "$build"
"$CARGO_TARGET_DIR/debug/uniffi-bindgen" generate --library "$CARGO_TARGET_DIR/debug/libvoicewire_ffi.so" \
  --config uniffi.toml --no-format --language python --out-dir "$build" >/dev/null
cp "$CARGO_TARGET_DIR/debug/libvoicewire_ffi.so" "$build/"

vw_start_emulator
"$py" -m pytest -q -p no:cacheprovider bindings/python
