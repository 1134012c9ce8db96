#!/usr/bin/env bash
# The training benchmark on a machine with an NVIDIA GPU: the wgpu backend on fountain-P11
# (held-out PSNR/SSIM, iterations per second, peak memory, Gaussians), with a short CPU run on
# the same machine for the ratio. A few minutes on an H100.
#
# Where the GPU machine has a Rust toolchain, COLMAP and ../shared, just run:
#   scripts/gpu-bench-train.sh [ITERATIONS] [TRAIN_SIZE]        (defaults: 7000 768)
# Where it has none of them (a lent machine without internet), prepare a folder here and carry it:
#   scripts/gpu-bench-train.sh --prepare DIR     # builds spaceport, runs ingest + SfM into DIR
#   (on the GPU machine) DIR/run.sh [ITERATIONS] [TRAIN_SIZE]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ "${1:-}" = "--prepare" ]; then
  DIR="$(mkdir -p "$2" && cd "$2" && pwd)"
  cd "$ROOT"
  cargo build --release --locked --quiet -p pipeline
  cp target/release/spaceport "$DIR/"
  SHARED="${SPACEPORT_SHARED:-$ROOT/../shared}"
  rm -rf "$DIR/sfm-job"
  "$DIR/spaceport" ingest "$SHARED/datasets/strecha-fountain-p11/images" "$DIR/sfm-job" --max-size 1024 >/dev/null
  "$DIR/spaceport" sfm "$DIR/sfm-job" | tail -n 1
  cp "$0" "$DIR/run.sh"
  echo "prepared $DIR: carry it and run $DIR/run.sh"
  exit 0
fi

ITERATIONS="${1:-7000}"
SIZE="${2:-768}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -x "$HERE/spaceport" ] && [ -d "$HERE/sfm-job" ]; then
  SP="$HERE/spaceport"         # a prepared folder
  SFM="$HERE/sfm-job"
else
  cd "$ROOT"
  cargo build --release --locked --quiet -p pipeline
  SP="$ROOT/target/release/spaceport"
  SFM="$(mktemp -d)/sfm-job"
  "$SP" ingest "${SPACEPORT_SHARED:-$ROOT/../shared}/datasets/strecha-fountain-p11/images" "$SFM" --max-size 1024 >/dev/null
  "$SP" sfm "$SFM" | tail -n 1
fi
OUT="${BENCH_OUT:-$(mktemp -d)}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

# wgpu picks Vulkan first; where NVIDIA's Vulkan driver is missing it can fall back to GL (EGL).
run() { # backend iterations folder [env...]
  local backend=$1 n=$2 job=$3; shift 3
  rm -rf "$job" && cp -r "$SFM" "$job"
  env "$@" /usr/bin/time -f 'peak_rss_mib=%M' -o "$job/time.txt" \
    "$SP" train "$job" --backend "$backend" --iterations "$n" --max-size "$SIZE" >"$job/train.log" 2>"$job/stderr.log"
}
report() { # label folder
  local rate device peak
  read -r rate device < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['iterations_per_second']:.2f}\", r['backend'])" "$2/train/report.json")
  peak=$(awk -F= '/peak_rss_mib/ { printf "%.0f", $2 / 1024 }' "$2/time.txt")
  echo "== fountain-P11, $1 ($device) at $SIZE px"
  echo "   $(tail -n 1 "$2/train.log") iterations_per_second=$rate peak_rss_mib=$peak"
}

# Like for like: both backends over the same short run (the rate falls as Gaussians multiply).
SHORT=$(( ITERATIONS < 300 ? ITERATIONS : 300 ))
done_gpu=""
for api in vulkan gl; do
  if run wgpu "$ITERATIONS" "$OUT/wgpu-$api" WGPU_BACKEND=$api; then
    report "wgpu backend, $ITERATIONS iterations" "$OUT/wgpu-$api"
    run wgpu "$SHORT" "$OUT/wgpu-short" WGPU_BACKEND=$api
    report "wgpu backend, $SHORT iterations" "$OUT/wgpu-short"
    done_gpu=1
    break
  fi
  echo "wgpu over $api failed: $(grep -v XDG "$OUT/wgpu-$api/stderr.log" | tail -n 2)"
done
run cpu "$SHORT" "$OUT/cpu"
report "cpu backend, $SHORT iterations ($(nproc) cores)" "$OUT/cpu"
echo "held-out pictures (photo | render): $OUT/*/train/eval/"
[ -n "$done_gpu" ]
