#!/usr/bin/env bash
# Benchmark (not a test) of training on real photos, from this project's own SfM output:
# held-out PSNR/SSIM (every 8th photo), wall time, peak memory and Gaussian count.
#
#   scripts/bench-train.sh [ITERATIONS] [TRAIN_SIZE]          our backends (default: 1500 512)
#   scripts/bench-train.sh --peer [ITERATIONS] [TRAIN_SIZE]   us (CPU) beside OpenSplat (CPU)
#
#   DATASETS="strecha-fountain-p11 …"  folders of ../shared/datasets (default: fountain-P11;
#                           with --peer, fountain-P11 and Herz-Jesu-P8)
#   BACKENDS="cpu wgpu"     our backends without --peer (default: both)
#   WGPU_ITERATIONS=N       iterations for wgpu (default: ITERATIONS). On a machine without a
#                           GPU wgpu runs on lavapipe, a CPU emulation of Vulkan ~25× slower than
#                           the CPU backend: there a short run (e.g. 60) measures its rate.
#   BENCH_OUT=DIR           where jobs, models and pictures go (default: a temporary folder);
#                           SfM results there are reused by later runs.
#
# The peer: OpenSplat (scripts/peer/build-opensplat.sh builds it once into target/peers).
# Both train on the same undistorted COLMAP model with the same held-out photos removed, at the
# same image size and iteration count, with the same schedule (SH degree steps, densification
# window and interval, coarse-to-fine levels); our own code scores both models on the held-out
# photos, each over the background it was trained with and through the cameras it was trained
# for (OpenSplat's CPU projection ignores the principal point: its model is scored through
# centred cameras, which favours it; ours through COLMAP's). Side-by-side pictures (photo | render)
# land in $BENCH_OUT/<dataset>/<trainer>/pictures/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="${SPACEPORT_SHARED:-$ROOT/../shared}"
PEER=0
if [ "${1:-}" = "--peer" ]; then PEER=1; shift; fi
ITERATIONS="${1:-1500}"
SIZE="${2:-512}"
BACKENDS="${BACKENDS:-cpu wgpu}"
if [ "$PEER" = 1 ]; then
  DATASETS="${DATASETS:-strecha-fountain-p11 strecha-herzjesu-p8}"
else
  DATASETS="${DATASETS:-strecha-fountain-p11}"
fi
OUT="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$OUT"

cargo build --release --locked --quiet -p pipeline
SP="$ROOT/target/release/spaceport"
[ "$PEER" = 1 ] && OPENSPLAT="$(scripts/peer/build-opensplat.sh)"

# peak_rss_mib from /usr/bin/time's output file.
peak() { awk -F= '/peak_rss_kib/ { printf "%.0f", $2 / 1024 }' "$1"; }
timed() { local out="$1"; shift; /usr/bin/time -f 'peak_rss_kib=%M wall_s=%e' -o "$out" "$@"; }
wall() { awk -F'wall_s=' '/wall_s/ { print $2 }' "$1"; }

for dataset in $DATASETS; do
  SFM="$OUT/$dataset/sfm-job"
  if [ ! -f "$SFM/sfm/undistorted/sparse/cameras.bin" ]; then
    rm -rf "$SFM"
    "$SP" ingest "$SHARED/datasets/$dataset/images" "$SFM" --max-size 1024 >/dev/null
    "$SP" sfm "$SFM" | tail -n 1
  fi

  if [ "$PEER" = 0 ]; then
    for backend in $BACKENDS; do
      n="$ITERATIONS"
      [ "$backend" = wgpu ] && n="${WGPU_ITERATIONS:-$ITERATIONS}"
      JOB="$OUT/$dataset/$backend"
      rm -rf "$JOB" && cp -r "$SFM" "$JOB"
      # XDG_RUNTIME_DIR: Mesa's Vulkan loader complains without one, though nothing is displayed.
      XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}" timed "$JOB/time.txt" \
        "$SP" train "$JOB" --backend "$backend" --iterations "$n" --max-size "$SIZE" >"$JOB/train.log"
      result=$(tail -n 1 "$JOB/train.log")
      read -r rate device < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{r['iterations_per_second']:.2f}\", r['backend'])" "$JOB/train/report.json")
      echo "== $dataset, $backend backend ($device), $n iterations at $SIZE px"
      echo "   $result iterations_per_second=$rate peak_rss_mib=$(peak "$JOB/time.txt")"
      echo "   held-out pictures (photo | render): $JOB/train/eval/"
    done
    continue
  fi

  # --- us and the peer, same photos, same size, same iterations, same schedule -------------
  names=$(ls "$SFM/sfm/undistorted/images" | sort)
  count=$(echo "$names" | wc -l)
  held=""
  [ "$count" -ge 8 ] && held=$(echo "$names" | awk 'NR % 8 == 1')
  long=$(python3 - "$SFM/sfm/undistorted/sparse/cameras.bin" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
_, _, w, h = struct.unpack_from("<iiQQ", data, 8)  # camera id, model, width, height
print(max(w, h))
PY
)
  # Our schedule for ITERATIONS (trainer::train::TrainConfig::for_iterations), spelled in
  # OpenSplat's options; opacity resets are off in both below 6,000 iterations.
  clamp() { local v=$(( $1 )); (( v < $2 )) && v=$2; (( v > $3 )) && v=$3; echo "$v"; }
  sh_every=$(clamp "$ITERATIONS / 8" 20 1000)
  warmup=$(clamp "$ITERATIONS / 60" 50 500)
  refine=$(clamp "$ITERATIONS / 100" 25 100)
  resolution=$(( ITERATIONS / 10 > 0 ? ITERATIONS / 10 : 1 ))

  OURS="$OUT/$dataset/spaceport"
  rm -rf "$OURS" && cp -r "$SFM" "$OURS"
  timed "$OURS/time.txt" "$SP" train "$OURS" --backend cpu --iterations "$ITERATIONS" \
    --max-size "$SIZE" >"$OURS/train.log"
  "$SP" eval-model "$OURS" "$OURS/train/point_cloud.ply" --max-size "$SIZE" \
    --pictures "$OURS/pictures" >"$OURS/eval.txt"

  PEERJOB="$OUT/$dataset/opensplat"
  # OpenSplat's CPU runs take many times ours: a finished one with the same settings is reused
  # (delete $PEERJOB to train it again).
  settings="$OPENSPLAT $ITERATIONS $SIZE $(cksum <"$SFM/sfm/undistorted/sparse/images.bin")"
  if [ -f "$PEERJOB/splat.ply" ] && [ "$(cat "$PEERJOB/settings" 2>/dev/null)" = "$settings" ]; then
    echo "   (OpenSplat's model from an earlier run with the same settings: $PEERJOB)"
  else
    rm -rf "$PEERJOB" && mkdir -p "$PEERJOB/project/sparse/0"
    # A copy: OpenSplat does not read its images through a symbolic link.
    cp -r "$SFM/sfm/undistorted/images" "$PEERJOB/project/images"
    echo "$held" | sed '/^$/d' >"$PEERJOB/held-out.txt"
    colmap image_deleter --input_path "$SFM/sfm/undistorted/sparse" \
      --output_path "$PEERJOB/project/sparse/0" --image_names_path "$PEERJOB/held-out.txt" >/dev/null
    factor=$(python3 -c "print($long / $SIZE)")
    timed "$PEERJOB/time.txt" "$OPENSPLAT" "$PEERJOB/project" -o "$PEERJOB/splat.ply" --cpu \
      --keep-crs -n "$ITERATIONS" --downscale-factor "$factor" --num-downscales 2 \
      --resolution-schedule "$resolution" --sh-degree 3 --sh-degree-interval "$sh_every" \
      --warmup-length "$warmup" --refine-every "$refine" --reset-alpha-every 100000 \
      >"$PEERJOB/train.log" 2>&1 || { tail -n 20 "$PEERJOB/train.log"; exit 1; }
    echo "$settings" >"$PEERJOB/settings"
  fi
  "$SP" eval-model "$SFM" "$PEERJOB/splat.ply" --max-size "$SIZE" \
    --background 0.613,0.0101,0.3984 --centred-principal-point --pictures "$PEERJOB/pictures" \
    >"$PEERJOB/eval.txt"

  echo "== $dataset: $ITERATIONS iterations at $SIZE px (long side), $(echo "$held" | sed '/^$/d' | wc -l) held-out of $count photos"
  printf '   %-10s %7s %7s %9s %10s %13s\n' trainer psnr ssim seconds gaussians peak_rss_mib
  for who in spaceport opensplat; do
    dir="$OUT/$dataset/$who"
    read -r psnr ssim gaussians < <(tail -n 1 "$dir/eval.txt" | sed -E 's/psnr=([^ ]+) ssim=([^ ]+) gaussians=([^ ]+)/\1 \2 \3/')
    printf '   %-10s %7s %7s %9s %10s %13s\n' "$who" "$psnr" "$ssim" "$(wall "$dir/time.txt")" "$gaussians" "$(peak "$dir/time.txt")"
  done
  ours_s=$(wall "$OURS/time.txt") peer_s=$(wall "$PEERJOB/time.txt")
  python3 -c "print(f'   wall time, spaceport / opensplat: $ours_s / $peer_s = {$ours_s / $peer_s:.2f}')"
  echo "   held-out pictures (photo | render): $OURS/pictures/ and $PEERJOB/pictures/"
done
