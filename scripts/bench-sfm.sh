#!/usr/bin/env bash
# Benchmark (not a test) of ingest + COLMAP SfM on the Strecha fountain-P11 photos at two working
# resolutions: per-step times, then the accuracy against the ground-truth cameras. Also runs
# herzjesu-P8 at the first resolution. About 4 minutes on 2 cores.
#   scripts/bench-sfm.sh [SIZE...]      (default sizes: 1024 1536)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="${SPACEPORT_SHARED:-$ROOT/../shared}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1024 1536)

cargo build --release --locked --quiet -p pipeline
SP="$ROOT/target/release/spaceport"

run() { # name dataset size
  local job="$WORK/$1-$3" data="$SHARED/datasets/$2"
  local t0 t1
  t0=$(date +%s%N)
  "$SP" ingest "$data/images" "$job" --max-size "$3" >"$WORK/ingest.log"
  t1=$(date +%s%N)
  local sfm eval
  sfm=$("$SP" sfm "$job" | tail -n 1)
  eval=$("$SP" eval-sfm "$job" "$data/cameras" | tail -n 1)
  printf '== %s at %s px: ingest=%.1fs %s\n   %s\n' "$1" "$3" "$(awk "BEGIN { print ($t1 - $t0) / 1e9 }")" "$sfm" "$eval"
}

for size in "${sizes[@]}"; do
  run fountain-P11 strecha-fountain-p11 "$size"
done
run herzjesu-P8 strecha-herzjesu-p8 "${sizes[0]}"
