# Shared helpers for the project's scripts. Source it: `. "$(dirname "$0")/lib/common.sh"`.
# Keeps installs idempotent and retried, and puts caches under ~/.cache/voicewire.

VW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VW_CACHE="${VW_CACHE:-$HOME/.cache/voicewire}"
mkdir -p "$VW_CACHE"

log() { printf '\n==> %s\n' "$*" >&2; }

# retry N CMD...: run CMD up to N times with a growing pause; the last failure is returned.
retry() {
  local n="$1"; shift
  local i=1
  until "$@"; do
    if [ "$i" -ge "$n" ]; then
      echo "failed after $n attempts: $*" >&2
      return 1
    fi
    echo "attempt $i failed: $*; retrying" >&2
    sleep $((i * 5))
    i=$((i + 1))
  done
}

# apt_install PKG...: installs the Debian packages that are not installed yet.
apt_install() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ ! -f "$VW_CACHE/.apt-updated" ] || [ -n "$(find "$VW_CACHE/.apt-updated" -mmin +720 2>/dev/null)" ]; then
    retry 3 $sudo apt-get update -qq && touch "$VW_CACHE/.apt-updated"
  fi
  retry 3 $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Cargo build outputs live in the cache when running in CI, so a second run on the same
# machine reuses them; locally the workspace's own target/ is used.
if [ "${CI:-}" = "true" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="$VW_CACHE/target"
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$VW_ROOT/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_NET_RETRY=5

# python_venv: a venv in the cache with the given pip packages; prints its python path.
python_venv() {
  local venv="$VW_CACHE/venv"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
  fi
  retry 3 "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" >&2
  echo "$venv/bin/python"
}
