#!/usr/bin/env bash
# Benchmark (not a test) of the CPU training backend on the Strecha fountain-P11 photos, from
# this project's own SfM output: held-out PSNR/SSIM (every 8th photo: 0000 and 0008), iterations
# per second, peak memory, Gaussian count. Side-by-side held-out pictures land in
# $BENCH_OUT/eval/ (default: a temporary folder, printed). About 10 minutes on 2 cores.
#   scripts/bench-train.sh [ITERATIONS] [TRAIN_SIZE]     (defaults: 1500 512)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="${SPACEPORT_SHARED:-$ROOT/../shared}"
ITERATIONS="${1:-1500}"
SIZE="${2:-512}"
JOB="${BENCH_OUT:-$(mktemp -d)}"

cargo build --release --locked --quiet -p pipeline
SP="$ROOT/target/release/spaceport"

"$SP" ingest "$SHARED/datasets/strecha-fountain-p11/images" "$JOB" --max-size 1024 >/dev/null
"$SP" sfm "$JOB" | tail -n 1
/usr/bin/time -f 'peak_rss_mib=%M' -o "$JOB/time.txt" \
  "$SP" train "$JOB" --iterations "$ITERATIONS" --max-size "$SIZE" >"$JOB/train.log"
result=$(tail -n 1 "$JOB/train.log")
rate=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['iterations_per_second']:.2f}\")" "$JOB/train/report.json")
peak=$(awk -F= '/peak_rss_mib/ { printf "%.0f", $2 / 1024 }' "$JOB/time.txt")
echo "== fountain-P11, CPU backend, $ITERATIONS iterations at $SIZE px"
echo "   $result iterations_per_second=$rate peak_rss_mib=$peak"
echo "   held-out pictures (photo | render): $JOB/train/eval/"
