#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer via cargo-fuzz, AddressSanitizer on) of the format core's
# parsers: PLY, ZIP, the `.sog` bundle, and an unbundled SOG's meta.json + images (v1 and v2).
# Seeds are small valid files made here by our own encoder. Each target runs FUZZ_SECONDS
# (default 120); a crash leaves its input under splat/fuzz/artifacts/ and fails the script.
# Not part of scripts/test.sh: the stable toolchain is told to accept libFuzzer's flags
# (RUSTC_BOOTSTRAP) and a real fuzzing run takes longer than a test should.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_EACH="${FUZZ_SECONDS:-120}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

cargo build --release --locked -p pipeline -p splat --example synthetic_cloud >/dev/null
SEEDS="$ROOT/target/fuzz-seeds"
rm -rf "$SEEDS" && mkdir -p "$SEEDS"/{ply,zip,sog_bundle,sog_files}
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

cd splat
export RUSTC_BOOTSTRAP=1
for target in ply zip sog_bundle sog_files; do
  echo "== $target (${SECONDS_EACH} s)"
  mkdir -p "fuzz/corpus/$target"
  cargo fuzz run -O "$target" "fuzz/corpus/$target" "$SEEDS/$target" -- \
    -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    2>&1 | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|thread .* panicked)" || true
  if compgen -G "fuzz/artifacts/$target/*" >/dev/null; then
    echo "FAILED: $target left inputs in splat/fuzz/artifacts/$target" >&2
    exit 1
  fi
done
echo "all fuzz targets ran clean"
