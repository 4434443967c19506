#!/usr/bin/env bash
# Fails when the committed generated bindings (Swift, Kotlin, React Native JSI) do not match
# what the pinned generators produce from the current voicewire-ffi.
set -euo pipefail
exec bash "$(dirname "$0")/../bindings.sh" --check
