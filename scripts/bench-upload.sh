#!/usr/bin/env bash
# Benchmark (not a test): upload throughput through the resumable protocol against a plain local
# copy of the same bytes (median of 3, and the ratio), then a preview run on 6 fountain-P11 photos
# with the time from launch to delivered, per stage. Arguments: [MIB] [PHOTO_DIR] [PHOTOS].
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cargo build --release --locked -p pipeline >/dev/null 2>&1
cargo build --release --locked -p server --example bench_upload >/dev/null 2>&1
SPACEPORT_PIPELINE_BIN="$ROOT/target/release/spaceport" target/release/examples/bench_upload "$@"
