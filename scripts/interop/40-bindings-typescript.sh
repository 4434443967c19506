#!/usr/bin/env bash
# TypeScript binding checks:
#  1. tsc --strict on the React Native package (committed JSI bindings + VoiceSession + hook);
#  2. the same VoiceSession.ts and contract test, type-checked and run on Node against the
#     N-API bindings of the same library (@ubjs/node), with the local emulator.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$VW_ROOT/bindings/tools/toolchains.sh"
. "$VW_ROOT/bindings/tools/emulator.sh"
cd "$VW_ROOT"

vw_ubrn
tsc="$VW_NODE_TOOLS/node_modules/.bin/tsc"
rn="bindings/react-native"
ln -sfn "$VW_NODE_TOOLS/node_modules" "$rn/node_modules"
log "tsc --strict: React Native package"
"$tsc" -p "$rn/tsconfig.json"

cargo build --quiet -p voicewire-ffi --all-features
node_dir="$rn/build/node"
rm -rf "$node_dir" && mkdir -p "$node_dir/src/generated" "$node_dir/test"
(cd crates/voicewire-ffi && "$UBRN" generate napi bindings --library --no-format --lib-colocated \
  --ts-dir "$VW_ROOT/$node_dir/src/generated" "$CARGO_TARGET_DIR/debug/libvoicewire_ffi.so" >/dev/null)
cp "$CARGO_TARGET_DIR/debug/libvoicewire_ffi.so" "$node_dir/src/generated/"
cp "$rn/src/VoiceSession.ts" "$node_dir/src/"
cp "$rn/test/contract.test.ts" "$node_dir/test/"
cp "$rn/src/AudioRoutes.ts" "$node_dir/src/"
cp "$rn/test/audio-routes.test.ts" "$node_dir/test/"
ln -sfn "$VW_NODE_TOOLS/node_modules" "$node_dir/node_modules"
printf '{ "type": "module", "private": true }\n' >"$node_dir/package.json"
cat >"$node_dir/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022", "module": "ESNext", "moduleResolution": "bundler", "lib": ["ES2022"],
    "strict": true, "noEmit": true, "skipLibCheck": true, "esModuleInterop": true, "types": ["node"]
  },
  "include": ["src/**/*.ts", "test/**/*.ts"]
}
JSON
log "tsc --strict: N-API bindings + VoiceSession + contract test"
"$tsc" -p "$node_dir/tsconfig.json"

vw_start_emulator
(cd "$node_dir" && node node_modules/tsx/dist/cli.mjs test/contract.test.ts)
(cd "$node_dir" && node node_modules/tsx/dist/cli.mjs test/audio-routes.test.ts)
# The Expo config plugin (microphone permissions) on plain config objects.
node "$rn/test/expo-plugin.test.cjs"
