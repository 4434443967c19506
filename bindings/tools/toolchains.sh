# Toolchains for generating and testing the VoiceWire bindings. Source it after
# scripts/lib/common.sh; every function is idempotent, caches under $VW_CACHE, and is safe to
# re-run after an interrupted run (each step writes its "done" stamp only after it succeeded).
#
#   vw_node_tools      npm tools pinned in bindings/tools/node-tools.package.json
#                      (kotlinc 2.4.20, uniffi-bindgen-react-native 0.31.0-5, typescript 5, @ubjs/node)
#   vw_ubrn            builds the uniffi-bindgen-react-native CLI once (cargo, --locked against
#                      bindings/tools/ubrn.Cargo.lock) into $VW_CACHE/ubrn-target; sets $UBRN
#   vw_kotlin          kotlinc + JNA + kotlinx-coroutines; sets $KOTLINC and $KOTLIN_CP
#   vw_swift_chroot    a Debian trixie chroot with swiftlang 6 in $VW_CACHE/swift-trixie; sets $SWIFT_ROOT
#   vw_chroot_run CMD  runs CMD (a shell string) in that chroot with /proc mounted for the call only

VW_TOOLS_DIR="$VW_ROOT/bindings/tools"
VW_NODE_TOOLS="$VW_CACHE/node-tools"

# stamp_matches FILE CONTENT: true when FILE holds exactly CONTENT.
_vw_stamp_matches() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

vw_node_tools() {
  local want
  want="$(sha256sum "$VW_TOOLS_DIR/node-tools.package.json" | cut -d' ' -f1)"
  if _vw_stamp_matches "$VW_NODE_TOOLS/.vw-installed" "$want" && [ -d "$VW_NODE_TOOLS/node_modules/uniffi-bindgen-react-native" ]; then
    return 0
  fi
  command -v npm >/dev/null || apt_install nodejs npm
  log "installing pinned node tools into $VW_NODE_TOOLS"
  mkdir -p "$VW_NODE_TOOLS"
  rm -f "$VW_NODE_TOOLS/.vw-installed"
  cp "$VW_TOOLS_DIR/node-tools.package.json" "$VW_NODE_TOOLS/package.json"
  (cd "$VW_NODE_TOOLS" && retry 3 npm install --no-audit --no-fund --loglevel=error)
  # Generated TypeScript imports @ubjs/core; npm's copy (0.31.0-3) does not match the
  # 0.31.0-5 generator, whose own copy ships inside the ubrn package.
  mkdir -p "$VW_NODE_TOOLS/node_modules/@ubjs"
  rm -rf "$VW_NODE_TOOLS/node_modules/@ubjs/core"
  ln -s ../uniffi-bindgen-react-native/typescript "$VW_NODE_TOOLS/node_modules/@ubjs/core"
  echo "$want" >"$VW_NODE_TOOLS/.vw-installed"
}

vw_ubrn() {
  vw_node_tools
  local pkg="$VW_NODE_TOOLS/node_modules/uniffi-bindgen-react-native"
  local target="$VW_CACHE/ubrn-target"
  UBRN="$target/debug/uniffi-bindgen-react-native"
  # The npm package ships no Cargo.lock; ours pins every dependency so a fresh machine builds
  # the same CLI. The build happens once per machine (~10 min on 2 cores) and lives outside
  # node_modules so reinstalling the npm tools does not throw it away.
  cmp -s "$VW_TOOLS_DIR/ubrn.Cargo.lock" "$pkg/Cargo.lock" || cp "$VW_TOOLS_DIR/ubrn.Cargo.lock" "$pkg/Cargo.lock"
  if [ ! -x "$UBRN" ] || [ "$pkg/Cargo.lock" -nt "$UBRN" ]; then
    log "building the uniffi-bindgen-react-native CLI (first use only)"
    retry 2 cargo build --locked --quiet --manifest-path "$pkg/crates/ubrn_cli/Cargo.toml" --target-dir "$target"
    touch "$UBRN"
  fi
  export UBRN
}

vw_kotlin() {
  apt_install libjna-java
  vw_node_tools
  local kc="$VW_NODE_TOOLS/node_modules/kotlin-compiler"
  KOTLIN_HOME="$kc"
  KOTLINC="$kc/bin/kotlinc"
  [ -x "$KOTLINC" ] || chmod +x "$kc"/bin/* 2>/dev/null || true
  KOTLIN_CP="/usr/share/java/jna.jar:$kc/lib/kotlinx-coroutines-core-jvm.jar:$kc/lib/kotlin-stdlib.jar"
  export KOTLIN_HOME KOTLINC KOTLIN_CP
}

SWIFT_ROOT="$VW_CACHE/swift-trixie"

# Mounts under the chroot (or its .partial twin), deepest first.
_vw_chroot_mounts() { findmnt -rn -o TARGET | grep -F "$SWIFT_ROOT" | sort -r || true; }

_vw_chroot_umount_all() {
  local m
  for m in $(_vw_chroot_mounts); do umount "$m" 2>/dev/null || umount -l "$m" || true; done
}

vw_chroot_run() {
  [ -f "$SWIFT_ROOT/.vw-complete" ] || [ -f "$SWIFT_ROOT/.vw-bootstrapped" ] || { echo "no chroot at $SWIFT_ROOT" >&2; return 1; }
  local rc=0 prev_trap
  prev_trap="$(trap -p EXIT)"
  # Unmount even when interrupted; a later run also cleans up what a killed run left.
  trap '_vw_chroot_umount_all' EXIT INT TERM
  mountpoint -q "$SWIFT_ROOT/proc" || mount -t proc proc "$SWIFT_ROOT/proc"
  cp /etc/resolv.conf "$SWIFT_ROOT/etc/resolv.conf" 2>/dev/null || true
  chroot "$SWIFT_ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 /bin/sh -c "$1" || rc=$?
  _vw_chroot_umount_all
  trap - INT TERM
  if [ -n "$prev_trap" ]; then eval "$prev_trap"; else trap - EXIT; fi
  return "$rc"
}

# A fresh debootstrap into $SWIFT_ROOT.partial (renamed into place by the caller on success).
_vw_debootstrap() {
  _vw_chroot_umount_all
  rm -rf --one-file-system "$SWIFT_ROOT.partial"
  debootstrap --variant=minbase --include=ca-certificates trixie "$SWIFT_ROOT.partial" "$1" >"$VW_CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$VW_CACHE/debootstrap.log" >&2; return 1; }
}

# libasound2t64: the test library is built with --all-features, which links ALSA (desktop audio).
VW_SWIFT_PACKAGES="swiftlang libc6-dev libstdc++-14-dev libasound2t64"

vw_swift_chroot() {
  if _vw_stamp_matches "$SWIFT_ROOT/.vw-complete" "$VW_SWIFT_PACKAGES"; then return 0; fi
  [ "$(id -u)" -eq 0 ] || { echo "the Swift chroot needs root (debootstrap, mount, chroot)" >&2; return 1; }
  _vw_chroot_umount_all
  if [ -n "$(_vw_chroot_mounts)" ]; then
    echo "refusing to touch $SWIFT_ROOT: something is still mounted inside it" >&2
    return 1
  fi
  if [ -d "$SWIFT_ROOT" ] && [ ! -f "$SWIFT_ROOT/.vw-bootstrapped" ] && [ ! -f "$SWIFT_ROOT/.vw-complete" ]; then
    # An interrupted debootstrap leaves a half-made tree; start it over (nothing is mounted).
    log "removing an incomplete chroot at $SWIFT_ROOT"
    rm -rf --one-file-system "$SWIFT_ROOT"
  fi
  if [ ! -f "$SWIFT_ROOT/.vw-bootstrapped" ]; then
    apt_install debootstrap
    local mirror
    mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
    mirror="${mirror:-http://deb.debian.org/debian}"
    log "debootstrap trixie into $SWIFT_ROOT (from $mirror)"
    retry 2 _vw_debootstrap "$mirror" || { rm -rf --one-file-system "$SWIFT_ROOT.partial"; return 1; }
    rm -rf --one-file-system "$SWIFT_ROOT"
    mv "$SWIFT_ROOT.partial" "$SWIFT_ROOT"
    touch "$SWIFT_ROOT/.vw-bootstrapped"
  fi
  log "installing swiftlang in the chroot"
  retry 3 vw_chroot_run "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $VW_SWIFT_PACKAGES >/dev/null"
  vw_chroot_run 'swift --version' >&2
  echo "$VW_SWIFT_PACKAGES" >"$SWIFT_ROOT/.vw-complete"
}
