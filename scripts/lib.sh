# Shared by scripts/*: idempotent installers. Each checks first and does nothing when the tool is
# already there, so a rerun on a prepared machine spends seconds here.
# shellcheck shell=bash

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

# Each line says how long its script had run (bash's SECONDS): where a run's time goes.
log() { printf '\033[1m[cinelock]\033[0m %4ds  %s\n' "$SECONDS" "$*" >&2; }
die() { printf '[cinelock] error: %s\n' "$*" >&2; exit 1; }

# Browser binaries: overridable for machines where they live elsewhere.
export CINELOCK_CHROMIUM="${CINELOCK_CHROMIUM:-/usr/bin/chromium}"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"

# The exact wasm-bindgen version the workspace is locked to (the CLI must match it).
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# apt packages for a command each; installed only when the command is missing.
ensure_system_packages() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd=${pair%%:*}; pkg=${pair#*:}
    if [ "$cmd" = chromium ]; then [ -x "$CINELOCK_CHROMIUM" ] && continue
    elif [ "$cmd" = chromedriver ]; then [ -x "$CHROMEDRIVER" ] && continue
    else command -v "$cmd" >/dev/null 2>&1 && continue
    fi
    missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt_install "${missing[@]}" || die "please install: ${missing[*]} (or set CINELOCK_CHROMIUM / CHROMEDRIVER to their paths)"
}

# apt-get install, as root or through sudo; fails when neither apt nor the rights are there.
apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
  command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; } || return 1
  log "installing with apt: $*"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_wasm_target() {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown && return 0
  log "adding the wasm32-unknown-unknown Rust target"
  rustup target add wasm32-unknown-unknown
}

ensure_wasm_bindgen_cli() {
  local want have
  want=$(wasm_bindgen_version)
  have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}') || true
  [ "$have" = "$want" ] && return 0
  log "installing wasm-bindgen-cli $want (compiles from crates.io; a few minutes, once)"
  # Not --locked: the registry mirror here lacks some of its locked dependency versions.
  cargo install wasm-bindgen-cli --version "=$want"
}

# npm ci in a directory, skipped when node_modules matches the lockfile already.
ensure_npm_deps() {
  local dir=$1 stamp
  stamp="$dir/node_modules/.cinelock-lock-hash"
  local hash
  hash=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && return 0
  log "npm ci in ${dir#"$ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$hash" >"$stamp"
}

# Garage, the S3-compatible store the tests run against (a real store, not a mock).
GARAGE_VERSION=2.5.0
ensure_garage() {
  garage --version 2>/dev/null | grep -q "cargo:$GARAGE_VERSION" && return 0
  log "installing Garage $GARAGE_VERSION (compiles from crates.io: 6 to 20 minutes on 2 cores, once)"
  # Only what the tests run: the SQLite metadata engine. The default features add LMDB, K2V and
  # the metrics exporters, which no test uses (331 s to build without them, 363 s with them, on
  # one 2-core machine). Full optimisation is kept: the benchmarks measure uploads against it.
  cargo install garage --version "=$GARAGE_VERSION" --locked --no-default-features --features bundled-libs,sqlite
}

# PostgreSQL's server binaries, for the server's database tests (test command only). The tests
# start throwaway clusters of their own; they use no system service.
ensure_postgres() {
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && return 0
  [ -n "${CINELOCK_PG_BIN:-}" ] && [ -x "$CINELOCK_PG_BIN/initdb" ] && return 0
  command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1 && return 0
  apt_install postgresql || die "please install PostgreSQL's server (or set CINELOCK_PG_BIN to the directory of its initdb and postgres)"
}

setup_all() {
  command -v cargo >/dev/null || die "Rust is required: https://rustup.rs"
  command -v node >/dev/null || die "Node.js 20+ and npm are required"
  ensure_system_packages chromium:chromium chromedriver:chromium-driver ffmpeg:ffmpeg
  ensure_wasm_target
  ensure_wasm_bindgen_cli
  ensure_npm_deps "$ROOT/npm"
  ensure_npm_deps "$ROOT/tests/browser"
}

# Builds the wasm SDK and the npm package into npm/pkg and npm/dist.
build_sdk() {
  # "wasm" is the optimised profile (LTO); "dev" builds faster for debugging.
  local profile=${1:-wasm} dir
  log "building the SDK ($profile wasm + TypeScript)"
  cargo build -q --profile "$profile" --target wasm32-unknown-unknown -p cinelock-sdk-wasm
  dir=$profile; [ "$profile" = dev ] && dir=debug
  # The name section only names functions for debuggers and profiles: 131 KB of the module,
  # kept only when asked for (CINELOCK_WASM_NAMES=1, to read a CPU profile).
  local names=--remove-name-section
  [ -n "${CINELOCK_WASM_NAMES:-}" ] && names=
  wasm-bindgen --target web $names --out-dir npm/pkg \
    "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/$dir/cinelock_sdk_wasm.wasm"
  rm -rf npm/dist
  (cd npm && ./node_modules/.bin/tsc -p tsconfig.json)
  # Brotli copies for the server to send (not part of the npm package).
  node scripts/compress-sdk.mjs npm/dist npm/pkg
  # The package ships the project's license (npm pack takes it from the package directory).
  cp LICENSE npm/LICENSE
}
