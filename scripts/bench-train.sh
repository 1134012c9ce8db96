#!/usr/bin/env bash
# Benchmark (not a test) of the training backends on the Strecha fountain-P11 photos, from this
# project's own SfM output: held-out PSNR/SSIM (every 8th photo: 0000 and 0008), iterations per
# second, peak memory and Gaussian count, per backend. Side-by-side held-out pictures (photo |
# render) land in $BENCH_OUT/<backend>/train/eval/ (default: a temporary folder, printed).
#   scripts/bench-train.sh [ITERATIONS] [TRAIN_SIZE]     (defaults: 1500 512)
#   BACKENDS="cpu wgpu"     which backends (default: both)
#   WGPU_ITERATIONS=N       iterations for wgpu (default: ITERATIONS). On a machine without a
#                           GPU wgpu runs on lavapipe, a CPU emulation of Vulkan ~25× slower than
#                           the CPU backend: there a short run (e.g. 60) measures its rate.
# About 10 minutes on 2 cores for the CPU backend at the defaults.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="${SPACEPORT_SHARED:-$ROOT/../shared}"
ITERATIONS="${1:-1500}"
SIZE="${2:-512}"
BACKENDS="${BACKENDS:-cpu wgpu}"
OUT="${BENCH_OUT:-$(mktemp -d)}"

cargo build --release --locked --quiet -p pipeline
SP="$ROOT/target/release/spaceport"

SFM="$OUT/sfm-job"
if [ ! -f "$SFM/sfm/undistorted/sparse/cameras.bin" ]; then
  "$SP" ingest "$SHARED/datasets/strecha-fountain-p11/images" "$SFM" --max-size 1024 >/dev/null
  "$SP" sfm "$SFM" | tail -n 1
fi

for backend in $BACKENDS; do
  n="$ITERATIONS"
  [ "$backend" = wgpu ] && n="${WGPU_ITERATIONS:-$ITERATIONS}"
  JOB="$OUT/$backend"
  rm -rf "$JOB" && cp -r "$SFM" "$JOB"
  # XDG_RUNTIME_DIR: Mesa's Vulkan loader complains without one, though nothing is displayed.
  XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}" /usr/bin/time -f 'peak_rss_mib=%M' -o "$JOB/time.txt" \
    "$SP" train "$JOB" --backend "$backend" --iterations "$n" --max-size "$SIZE" >"$JOB/train.log"
  result=$(tail -n 1 "$JOB/train.log")
  read -r rate device < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['iterations_per_second']:.2f}\", r['backend'])" "$JOB/train/report.json")
  peak=$(awk -F= '/peak_rss_mib/ { printf "%.0f", $2 / 1024 }' "$JOB/time.txt")
  echo "== fountain-P11, $backend backend ($device), $n iterations at $SIZE px"
  echo "   $result iterations_per_second=$rate peak_rss_mib=$peak"
  echo "   held-out pictures (photo | render): $JOB/train/eval/"
done
