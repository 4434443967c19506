#!/usr/bin/env bash
# The one test command (named in the README, run by .ci/run).
# Installs what the tests need, then: format check, clippy (-D warnings), the whole Rust
# test suite (nextest + doc tests), and the interop/binding stages.
# `scripts/test.sh STAGE...` runs only the named stages (see the list below).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$VW_ROOT"

ALL_STAGES=(setup fmt clippy rust doc mobile interop)
if [ "$#" -gt 0 ]; then STAGES=("$@"); else STAGES=("${ALL_STAGES[@]}"); fi

stage_setup() {
  # Linux build deps: pkg-config + ALSA headers (cpal desktop audio builds in CI).
  apt_install pkg-config libasound2-dev
  rustup component add rustfmt clippy >/dev/null 2>&1 || retry 3 rustup component add rustfmt clippy
  if ! cargo nextest --version >/dev/null 2>&1; then
    retry 3 cargo install --locked cargo-nextest
  fi
  retry 3 cargo fetch --locked
}

stage_fmt() { cargo fmt --all -- --check; }

stage_clippy() {
  cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
}

stage_rust() {
  # The `ci` profile (.config/nextest.toml) retries a failed test once and reports it as
  # FLAKY; a real break fails both attempts.
  cargo nextest run --workspace --all-features --locked --no-fail-fast --profile ci
}

stage_doc() {
  cargo test --workspace --all-features --locked --doc
}

stage_mobile() {
  # Type-checks the platform audio crates and the FFI library for iOS and Android targets.
  bash scripts/check-mobile.sh
}

# Interop scripts that failed once and passed when run again (reported at the end).
FLAKY_INTEROP=()

stage_interop() {
  local s
  for s in scripts/interop/*.sh; do
    [ -e "$s" ] || continue
    log "interop: $s"
    # Each script drives real processes (browsers, JVMs, a Swift chroot) on a shared CI
    # machine. One failure is retried once and reported as FLAKY; two fail the run.
    if ! bash "$s"; then
      log "FLAKY? $s failed; running it once more"
      bash "$s"
      FLAKY_INTEROP+=("$s")
    fi
  done
}

for s in "${STAGES[@]}"; do
  log "stage: $s"
  "stage_$s"
done
if [ "${#FLAKY_INTEROP[@]}" -gt 0 ]; then
  log "FLAKY (failed once, passed on retry): ${FLAKY_INTEROP[*]}"
fi
log "all stages passed: ${STAGES[*]}"
