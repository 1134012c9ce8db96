#!/usr/bin/env bash
# Benchmark (not a test) of the SOG encoder and decoder on PlayCanvas's 500k-splat SH-2 scene and
# a synthetic 1M-splat cloud: encode and decode time, bytes per splat, render-PSNR loss.
# With SOG_BENCH_REFERENCE=1 it also runs splat-transform (CPU mode) on the same inputs — slow:
# its CPU k-means takes many minutes on these sizes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="${SPACEPORT_SHARED:-$ROOT/../shared}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cargo build --release --locked -p pipeline >/dev/null
cargo build --release --locked -p splat --example synthetic_cloud >/dev/null
SP="$ROOT/target/release/spaceport"
ST="$ROOT/end2end/node_modules/.bin/splat-transform"

"$SP" decompress "$SHARED/splats/playbot-lod0-500k" "$WORK/playbot-500k.ply" >/dev/null
"$ROOT/target/release/examples/synthetic_cloud" "$WORK/synthetic-1m.ply" 1000000 2 >/dev/null

secs() { local t0 t1; t0=$(date +%s%N); "$@" >"$WORK/out.txt" 2>"$WORK/err.txt"; t1=$(date +%s%N); awk "BEGIN { print ($t1 - $t0) / 1e9 }"; }

for scene in playbot-500k synthetic-1m; do
  in="$WORK/$scene.ply"
  echo "== $scene"
  enc=$(secs "$SP" compress "$in" "$WORK/$scene.ours.sog" --no-report)
  dec=$(secs "$SP" decompress "$WORK/$scene.ours.sog" "$WORK/$scene.ours.ply")
  bps=$("$SP" info "$WORK/$scene.ours.sog" | sed -n 's/.*(\([0-9.]*\) per splat).*/\1/p')
  q=$("$SP" compare "$in" "$WORK/$scene.ours.sog")
  printf '  spaceport:       encode %6.1f s  decode %5.1f s  %6s bytes/splat  %s\n' "$enc" "$dec" "$bps" "$q"
  if [ "${SOG_BENCH_REFERENCE:-0}" = 1 ]; then
    enc=$(secs "$ST" -g cpu "$in" "$WORK/$scene.theirs.sog" -w)
    dec=$(secs "$ST" "$WORK/$scene.theirs.sog" "$WORK/$scene.theirs.ply" -w)
    bps=$("$SP" info "$WORK/$scene.theirs.sog" | sed -n 's/.*(\([0-9.]*\) per splat).*/\1/p')
    q=$("$SP" compare "$in" "$WORK/$scene.theirs.sog")
    printf '  splat-transform: encode %6.1f s  decode %5.1f s  %6s bytes/splat  %s\n' "$enc" "$dec" "$bps" "$q"
  fi
done
