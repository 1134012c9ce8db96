#!/usr/bin/env bash
# Installs whatever this machine is missing to build, run and test Spaceport; quick and quiet
# when everything is already in place. Sourced by run.sh and test.sh; can be run on its own.
#
# Debian 12 + rustup assumed (see ../shared/docs/toolchain.md for why each pin is what it is).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BINARYEN_VERSION="132"          # Debian's wasm-opt (108) silently breaks wasm-bindgen's output

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- system packages -------------------------------------------------------------------------
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v colmap >/dev/null 2>&1 || missing+=(colmap)  # Structure-from-Motion (CPU build, 3.8)
command -v brotli >/dev/null 2>&1 || missing+=(brotli)  # pre-compressed static files (build-site.sh)
# lavapipe: Mesa's Vulkan on the CPU, for native rendering (`spaceport render`, golden tests).
ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || missing+=(mesa-vulkan-drivers)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Rust side -------------------------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# No cargo-leptos: scripts/build-site.sh does what it did for the browser bundle with the tools
# below, and installing it took 12 minutes of a fresh machine's time.

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
WBG_VERSION="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' "$ROOT/Cargo.lock")"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WBG_VERSION" ]; then
  log "installing wasm-bindgen-cli $WBG_VERSION (about 2 minutes, once)"
  # Not --locked: its own lock file names a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WBG_VERSION"
fi

# --- Python side: the local stand-in of AWS and the template linter ------------------------------
# Cloud mode's tests run its adapters against the moto server (S3, DynamoDB, Cognito, Step
# Functions on localhost) and lint the AWS template with cfn-lint; both live in a virtual
# environment under .tools/ so nothing touches the system's Python.
MOTO_VERSION="5.2.5"
CFN_LINT_VERSION="1.58.0"
DOCKERFILE_VERSION="3.4.0"      # BuildKit's Dockerfile parser, for checks without a Docker engine
AWS_TOOLS="$ROOT/.tools/aws"
if [ "$("$AWS_TOOLS/bin/python" -c 'import moto, cfnlint.version as v, dockerfile; print(moto.__version__, v.__version__)' 2>/dev/null)" \
     != "$MOTO_VERSION $CFN_LINT_VERSION" ]; then
  command -v python3 >/dev/null 2>&1 || { as_root apt-get update -qq; DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3 python3-venv >/dev/null; }
  log "installing moto $MOTO_VERSION, cfn-lint $CFN_LINT_VERSION and dockerfile $DOCKERFILE_VERSION into .tools/aws"
  python3 -m venv "$AWS_TOOLS"
  "$AWS_TOOLS/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION" "dockerfile==$DOCKERFILE_VERSION"
fi
export PATH="$AWS_TOOLS/bin:$PATH"

# --- npm side: Playwright and binaryen's wasm-opt ---------------------------------------------
if [ ! -x "$ROOT/end2end/node_modules/.bin/wasm-opt" ] || [ ! -d "$ROOT/end2end/node_modules/@playwright/test" ] \
   || [ "$ROOT/end2end/package-lock.json" -nt "$ROOT/end2end/node_modules/.package-lock.json" ]; then
  log "installing npm packages (Playwright, binaryen $BINARYEN_VERSION)"
  (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
export PATH="$ROOT/end2end/node_modules/.bin:$PATH"
if ! wasm-opt --version | grep -q "version $BINARYEN_VERSION"; then
  echo "wasm-opt on PATH is not binaryen $BINARYEN_VERSION: $(command -v wasm-opt)" >&2
  exit 1
fi
