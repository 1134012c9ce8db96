#!/usr/bin/env bash
# Benchmark (not a test) of the SOG encoder and decoder on PlayCanvas's 500k-splat SH-2 scene and
# a synthetic 1M-splat cloud: encode and decode time, bytes per splat, render-PSNR loss.
# Alongside: the size of PlayCanvas's own SOG of the 500k scene (written by splat-transform).
# With SOG_BENCH_REFERENCE=1 it also runs splat-transform (CPU mode) on the same inputs, each run
# cut off after SOG_BENCH_REFERENCE_LIMIT seconds (default 3600): its CPU k-means over a
# 65,536-entry palette takes hours on these sizes on 2 cores.
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

# Prints the seconds a command took; returns its exit status.
secs() {
  local t0 t1 rc=0
  t0=$(date +%s%N)
  "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
  t1=$(date +%s%N)
  awk "BEGIN { print ($t1 - $t0) / 1e9 }"
  return "$rc"
}

own=$(du -cb "$SHARED"/splats/playbot-lod0-500k/*.webp "$SHARED"/splats/playbot-lod0-500k/meta.json | tail -1 | cut -f1)
printf 'PlayCanvas'"'"'s own SOG of playbot-500k: %s bytes, %.2f bytes/splat\n' "$own" "$(awk "BEGIN { print $own / 500000 }")"

for scene in playbot-500k synthetic-1m; do
  in="$WORK/$scene.ply"
  echo "== $scene"
  enc=$(secs "$SP" compress "$in" "$WORK/$scene.ours.sog" --no-report)
  dec=$(secs "$SP" decompress "$WORK/$scene.ours.sog" "$WORK/$scene.ours.ply")
  bps=$("$SP" info "$WORK/$scene.ours.sog" | sed -n 's/.*(\([0-9.]*\) per splat).*/\1/p')
  q=$("$SP" compare "$in" "$WORK/$scene.ours.sog")
  printf '  spaceport:       encode %6.1f s  decode %5.1f s  %6s bytes/splat  %s\n' "$enc" "$dec" "$bps" "$q"
  if [ "${SOG_BENCH_REFERENCE:-0}" = 1 ]; then
    if ! enc=$(secs timeout "${SOG_BENCH_REFERENCE_LIMIT:-3600}" "$ST" -g cpu "$in" "$WORK/$scene.theirs.sog" -w); then
      printf '  splat-transform: encode did not finish within %s s\n' "${SOG_BENCH_REFERENCE_LIMIT:-3600}"
      continue
    fi
    dec=$(secs "$ST" "$WORK/$scene.theirs.sog" "$WORK/$scene.theirs.ply" -w)
    bps=$("$SP" info "$WORK/$scene.theirs.sog" | sed -n 's/.*(\([0-9.]*\) per splat).*/\1/p')
    q=$("$SP" compare "$in" "$WORK/$scene.theirs.sog")
    printf '  splat-transform: encode %6.1f s  decode %5.1f s  %6s bytes/splat  %s\n' "$enc" "$dec" "$bps" "$q"
  fi
done
