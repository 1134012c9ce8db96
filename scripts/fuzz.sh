#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer via cargo-fuzz, AddressSanitizer on) of the parsers that
# read untrusted bytes: the format core's (PLY, ZIP, the `.sog` bundle, an unbundled SOG's
# meta.json + images, v1 and v2) and an uploaded photo's header and EXIF (`photo`).
# Seeds are small valid files made here by our own encoders (and, when the shared datasets are
# beside the project, the first 64 KiB of real camera photos: their EXIF as cameras write it).
# Each target runs FUZZ_SECONDS (default 600); a crash leaves its input under
# CRATE/fuzz/artifacts/ and fails the script.
# Not part of scripts/test.sh: the stable toolchain is told to accept libFuzzer's flags
# (RUSTC_BOOTSTRAP) and a real fuzzing run takes longer than a test should.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_EACH="${FUZZ_SECONDS:-600}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

cargo build --release --locked -p pipeline -p splat --example synthetic_cloud >/dev/null
cargo build --release --locked -p photo --example exif_seed >/dev/null
SEEDS="$ROOT/target/fuzz-seeds"
rm -rf "$SEEDS" && mkdir -p "$SEEDS"/{ply,zip,sog_bundle,sog_files,exif_header}
target/release/examples/exif_seed "$SEEDS/exif_header/ours.jpg"
for dataset in "$ROOT"/../shared/datasets/*/images; do
  [ -d "$dataset" ] || continue
  ls "$dataset" | grep -i '\.jpe\?g$' | head -2 | while read -r photo; do
    head -c 65536 "$dataset/$photo" > "$SEEDS/exif_header/$(basename "$(dirname "$dataset")")-$photo"
  done
done
target/release/examples/synthetic_cloud "$SEEDS/tiny.ply" 64 1 >/dev/null
target/release/spaceport compress "$SEEDS/tiny.ply" "$SEEDS/tiny.sog" --no-report >/dev/null 2>&1
target/release/spaceport compress "$SEEDS/tiny.ply" "$SEEDS/tiny-dir" --no-report >/dev/null 2>&1
cp "$SEEDS/tiny.ply" "$SEEDS/ply/"
cp "$SEEDS/tiny.sog" "$SEEDS/zip/"
cp "$SEEDS/tiny.sog" "$SEEDS/sog_bundle/"
# sog_files inputs: u16 length of meta.json, meta.json, then one image.
python3 - "$SEEDS" <<'PY'
import json, struct, sys, pathlib
seeds = pathlib.Path(sys.argv[1])
meta = json.loads((seeds / "tiny-dir/meta.json").read_text())
n = meta["count"]
v1 = {
    "means": {"shape": [n, 3], "mins": meta["means"]["mins"], "maxs": meta["means"]["maxs"],
              "files": meta["means"]["files"]},
    "scales": {"shape": [n, 3], "mins": [-5, -5, -5], "maxs": [0, 0, 0], "files": ["scales.webp"]},
    "quats": {"shape": [n, 4], "encoding": "quaternion_packed", "files": ["quats.webp"]},
    "sh0": {"shape": [n, 1, 4], "mins": [-1, -1, -1, -4], "maxs": [1, 1, 1, 4], "files": ["sh0.webp"]},
    "shN": {"mins": -1, "maxs": 1, "files": ["shN_centroids.webp", "shN_labels.webp"]},
}
for tag, m in (("v2", meta), ("v1", v1)):
    body = json.dumps(m).encode()
    for image in ("means_l.webp", "quats.webp", "shN_centroids.webp"):
        data = struct.pack("<H", len(body)) + body + (seeds / "tiny-dir" / image).read_bytes()
        (seeds / "sog_files" / f"{tag}-{image}").write_bytes(data)
PY

export RUSTC_BOOTSTRAP=1
# FUZZ_TARGETS picks some (e.g. "photo:exif_header"); all by default.
for pair in ${FUZZ_TARGETS:-splat:ply splat:zip splat:sog_bundle splat:sog_files photo:exif_header}; do
  crate="${pair%%:*}" target="${pair#*:}"
  echo "== $crate/$target (${SECONDS_EACH} s)"
  mkdir -p "$ROOT/$crate/fuzz/corpus/$target"
  (cd "$ROOT/$crate" && cargo fuzz run -O "$target" "fuzz/corpus/$target" "$SEEDS/$target" -- \
    -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    2>&1 | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|thread .* panicked)" || true)
  if compgen -G "$ROOT/$crate/fuzz/artifacts/$target/*" >/dev/null; then
    echo "FAILED: $target left inputs in $crate/fuzz/artifacts/$target" >&2
    exit 1
  fi
done
echo "all fuzz targets ran clean"
