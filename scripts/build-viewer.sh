#!/usr/bin/env bash
# Builds the browser viewer — its own wasm, apart from the app's, so that pages without a model
# never download wgpu — into target/site/viewer (viewer.js + viewer_bg.wasm), served at /viewer/.
# Run after `cargo leptos build` (run.sh and test.sh do). Prints the wasm's size, raw and gzip.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="target/site/viewer"
cargo build --locked -p viewer --lib --features web --target wasm32-unknown-unknown --profile wasm-release
mkdir -p "$OUT"
wasm-bindgen --target web --no-typescript --out-dir "$OUT" --out-name viewer \
  target/wasm32-unknown-unknown/wasm-release/viewer.wasm
WASM_OPT="$ROOT/end2end/node_modules/.bin/wasm-opt"
if [ -x "$WASM_OPT" ]; then
  "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals "$OUT/viewer_bg.wasm" -o "$OUT/viewer_bg.wasm"
fi
raw=$(stat -c %s "$OUT/viewer_bg.wasm")
gz=$(gzip -9 -c "$OUT/viewer_bg.wasm" | wc -c)
echo "viewer wasm: $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzip -> $OUT"
