#!/usr/bin/env bash
# Benchmark (not a test) of the 3D viewer, on PlayCanvas's playbot at 125k and 500k splats
# (../shared/splats) and a synthetic 2M-splat cloud compressed to .sog:
#   - load-to-first-frame in headless Debian Chromium from the release server over loopback,
#     and the CPU depth-sort time per frame in wasm (WebGL2 presented, WebGPU offscreen);
#   - native frame time with the same renderer (lavapipe on a machine without a GPU);
#   - the viewer's wasm size, and the size of the wasm the landing page loads (which must not
#     include the viewer).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh >/dev/null
SHARED="${SPACEPORT_SHARED:-$ROOT/../shared}"
export PATH="$ROOT/end2end/node_modules/.bin:$PATH"

echo "[bench] building (release)…"
scripts/build-site.sh >/dev/null 2>&1
cargo build --release --locked -p server -p pipeline -p viewer --example bench_native >/dev/null 2>&1
cargo build --release --locked -p splat --example synthetic_cloud >/dev/null 2>&1
SP="$ROOT/target/release/spaceport"

# Scenes go under the site root, so the server serves them like any static file.
BENCH="$ROOT/target/site/bench"
mkdir -p "$BENCH"
cp -r "$SHARED/splats/playbot-lod2-125k" "$SHARED/splats/playbot-lod0-500k" "$BENCH/"
if [ ! -s "$ROOT/target/bench-synthetic-2m.sog" ]; then
  echo "[bench] making the synthetic 2M-splat scene (compressing takes a while)…"
  WORK="$(mktemp -d)"
  "$ROOT/target/release/examples/synthetic_cloud" "$WORK/synthetic-2m.ply" 2000000 0 >/dev/null
  "$SP" compress "$WORK/synthetic-2m.ply" "$ROOT/target/bench-synthetic-2m.sog" --no-report >/dev/null 2>&1
  rm -rf "$WORK"
fi
cp "$ROOT/target/bench-synthetic-2m.sog" "$BENCH/synthetic-2m.sog"

DATA="$(mktemp -d)"
PORT="${BENCH_PORT:-3197}"
target/release/server --addr "127.0.0.1:$PORT" --data-dir "$DATA" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA" "$BENCH"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.2; done

echo "== browser (headless Chromium, SwiftShader, 1280x720, loopback)"
(cd end2end && node bench/viewer.mjs "http://127.0.0.1:$PORT" \
  /bench/playbot-lod2-125k/meta.json /bench/playbot-lod0-500k/meta.json /bench/synthetic-2m.sog)

echo "== native"
target/release/examples/bench_native "$BENCH/playbot-lod2-125k" "$BENCH/playbot-lod0-500k" \
  "$BENCH/synthetic-2m.sog" 2>/dev/null

echo "== sizes"
size() { printf '%s KiB raw, %s KiB gzip' $(( $(stat -c %s "$1") / 1024 )) $(( $(gzip -9 -c "$1" | wc -c) / 1024 )); }
echo "viewer wasm (viewer pages only): $(size target/site/viewer/viewer_bg.wasm)"
echo "app wasm (every page, the landing page included): $(size target/site/pkg/spaceport.wasm)"
if curl -fs "http://127.0.0.1:$PORT/" | grep -q '/viewer/'; then
  echo "the landing page references the viewer: it must not" >&2
  exit 1
fi
echo "landing page loads the viewer: no"
