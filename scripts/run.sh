#!/usr/bin/env bash
# One command to a running Spaceport on this machine's embedded defaults (SQLite and local files
# under ./data): installs what is missing, builds the release server and browser bundle, serves.
#   scripts/run.sh                 → http://127.0.0.1:3000
#   SPACEPORT_ADDR=0.0.0.0:8080 SPACEPORT_DATA_DIR=/srv/spaceport scripts/run.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh

echo "[run] building (release)…"
cargo build --locked --release -p server -p pipeline   # the server and the pipeline it runs
scripts/build-site.sh                                  # the browser side, into target/site

DATA_DIR="${SPACEPORT_DATA_DIR:-$ROOT/data}"
if [ -z "$(target/release/server users --data-dir "$DATA_DIR" 2>/dev/null)" ]; then
  echo
  echo "[run] No accounts yet. Invite yourself as an administrator:"
  echo "      target/release/server invite you@example.com --admin --data-dir $DATA_DIR"
  echo
fi
exec target/release/server --data-dir "$DATA_DIR" "$@"
