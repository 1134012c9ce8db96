#!/usr/bin/env bash
# Benchmark (not a test) of the SOG encoder and decoder on PlayCanvas's 500k-splat SH-2 scene and
# a synthetic 1M-splat cloud: encode and decode time, bytes per splat, render-PSNR loss.
# Alongside: the size of PlayCanvas's own SOG of the 500k scene (written by splat-transform).
# Side by side in the same run: ours and splat-transform (CPU mode) on a SOG_BENCH_SUBSET-splat
# piece of the real scene (default 20000: its first splats in Morton order, a compact region),
# and on three pieces (from splat 0, 240,000 and 480,000) with their SH coefficients jittered
# (σ 0.003): the scene was itself decoded from a SOG, so its splats share 65,536 SH vectors and a
# piece re-encodes its SH losslessly when they fit our palette; a jittered piece is what a freshly
# trained scene looks like.
# splat-transform's CPU k-means costs splats × palette entries and its palette grows with the
# splats (32,768 entries at 50k): on 2 cores 20k takes about 17 s and 50k about 70 s, while the
# full 500k scene did not finish in 56 minutes. With SOG_BENCH_REFERENCE=1 it is also run on
# the full inputs, each cut off after SOG_BENCH_REFERENCE_LIMIT seconds (default 3600).
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

# N splats from OFFSET of a binary PLY (header rewritten, rows kept whole), with every f_rest_*
# jittered by a seeded Gaussian of σ JITTER (0: none).
piece() {
  python3 - "$WORK/playbot-500k.ply" "$WORK/$1.ply" "$2" "${SOG_BENCH_SUBSET:-20000}" "$3" <<'PY'
import array, random, re, sys
src, dst, offset, n, jitter = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
data = open(src, "rb").read()
end = data.index(b"end_header\n") + len(b"end_header\n")
header = data[:end].decode()
names = re.findall(r"^property float (\S+)", header, re.M)
header = re.sub(r"element vertex \d+", f"element vertex {n}", header)
row = len(names) * 4
values = array.array("f", data[end + offset * row:end + (offset + n) * row])  # little-endian host
rest = [i for i, name in enumerate(names) if name.startswith("f_rest_")]
rng = random.Random(offset)
for r in range(0, len(values), len(names)) if jitter > 0 else ():
    for i in rest:
        values[r + i] += rng.gauss(0.0, jitter)
open(dst, "wb").write(header.encode() + values.tobytes())
PY
}
piece playbot-subset 0 0
for offset in 0 240000 480000; do
  piece "playbot-jittered-$offset" "$offset" 0.003
done

# scene name, then whether splat-transform runs on it
for run in "playbot-subset 1" "playbot-jittered-0 1" "playbot-jittered-240000 1" "playbot-jittered-480000 1" "playbot-500k ${SOG_BENCH_REFERENCE:-0}" "synthetic-1m ${SOG_BENCH_REFERENCE:-0}"; do
  read -r scene reference <<<"$run"
  in="$WORK/$scene.ply"
  echo "== $scene ($("$SP" info "$in" | sed -n 's/^splats: //p') splats)"
  enc=$(secs "$SP" compress "$in" "$WORK/$scene.ours.sog" --no-report)
  dec=$(secs "$SP" decompress "$WORK/$scene.ours.sog" "$WORK/$scene.ours.ply")
  bps=$("$SP" info "$WORK/$scene.ours.sog" | sed -n 's/.*(\([0-9.]*\) per splat).*/\1/p')
  q=$("$SP" compare "$in" "$WORK/$scene.ours.sog")
  printf '  spaceport:       encode %6.1f s  decode %5.1f s  %6s bytes/splat  %s\n' "$enc" "$dec" "$bps" "$q"
  if [ "$reference" = 1 ]; then
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
