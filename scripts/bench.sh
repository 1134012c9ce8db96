#!/usr/bin/env bash
# Benchmarks (not tests): prints p50/p99 latency and throughput of listing 1,000 projects under
# concurrent load on loopback; the same user's sign-in and listing, calm and while 200
# unauthenticated clients hammer the upload and sign-in routes; and the release wasm bundle's
# size (raw and gzip).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
scripts/build-site.sh
cargo run --release --locked -p server --example list_projects_bench
