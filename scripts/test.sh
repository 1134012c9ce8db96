#!/usr/bin/env bash
# One command to install what is missing and run every check: formatting, lints for both builds
# (server `ssr`, browser `hydrate` and the viewer on wasm32), unit and integration tests (the
# splat tests read ../shared/splats and compare with PlayCanvas's splat-transform), and the
# Playwright journeys in Debian's Chromium against the release build. Each step prints its
# duration, and the last line the total.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STARTED=$SECONDS
source scripts/setup.sh

LAST=$SECONDS
step() {
  printf '\033[1;32m    (%d s)\033[0m\n' $((SECONDS - LAST))
  LAST=$SECONDS
  printf '\n\033[1;32m==> %s\033[0m\n' "$*"
}
# The native crates, tested and linted together so that one feature resolution serves the
# lints, the release binaries and the tests.
NATIVE=(-p domain -p ids -p app -p server -p splat -p pipeline -p planner -p trainer -p viewer -p cloud)

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy: server build (ssr), every target"
cargo clippy --locked "${NATIVE[@]}" --all-targets -- -D warnings   # app gets `ssr` from server

step "clippy: the browser builds on wasm32 (app hydrate, the viewer, the format core)"
cargo clippy --locked -p app -p domain -p splat -p planner -p viewer --lib \
  --features app/hydrate,viewer/web --target wasm32-unknown-unknown -- -D warnings

step "release build: the binaries and every test in one cargo run, then the browser side"
# `cargo test --no-run` builds target/release/server and target/release/spaceport too, with the
# same features as the tests, so nothing is compiled twice.
cargo test --locked --release --no-run "${NATIVE[@]}"
scripts/build-site.sh

step "unit and integration tests (release profile)"
cargo test --locked --release "${NATIVE[@]}"

step "end-to-end tests (Playwright, Debian Chromium)"
(cd end2end && npx playwright test)

step "all checks passed"
printf 'total: %d s\n' $((SECONDS - STARTED))
