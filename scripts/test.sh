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
NATIVE=(-p domain -p ids -p app -p server -p splat -p photo -p pipeline -p planner -p trainer -p viewer -p cloud)

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy: server build (ssr), every target"
cargo clippy --locked "${NATIVE[@]}" --all-targets -- -D warnings   # app gets `ssr` from server

step "clippy: the browser builds on wasm32 (app hydrate, the viewer, the format core)"
cargo clippy --locked -p app -p domain -p splat -p planner -p viewer --lib \
  --features app/hydrate,viewer/web --target wasm32-unknown-unknown -- -D warnings
# The public pages' bundle: the same crate with some pages left out (`app::Bundle`).
cargo clippy --locked -p app --lib --features app/public --target wasm32-unknown-unknown -- -D warnings

step "build: the binaries and every test in one cargo run, the browser side alongside"
# The tests build with the `ci` profile (Cargo.toml: release, with what tests spend no time in
# optimised less). `cargo test --no-run` also builds target/ci/server and target/ci/spaceport,
# with the tests' features, so nothing is compiled twice. Examples are left out (clippy above
# checks them) and so are doctests (there are none: doc comments hold only text blocks).
# The browser side builds at the same time in its own target folder (cargo locks a target folder
# for one build at a time), so the wasm's single-threaded LTO overlaps the native build.
mkdir -p target
CARGO_TARGET_DIR="$ROOT/target/wasm-site" scripts/build-site.sh >target/build-site.log 2>&1 &
SITE=$!
TESTS=(--locked --profile ci --lib --bins --tests "${NATIVE[@]}")
cargo test "${TESTS[@]}" --no-run
if ! wait "$SITE"; then
  cat target/build-site.log
  echo "scripts/build-site.sh failed" >&2
  exit 1
fi
cat target/build-site.log

step "unit and integration tests"
cargo test "${TESTS[@]}"

step "end-to-end tests (Playwright, Debian Chromium, against target/ci/server)"
(cd end2end && E2E_BIN_DIR="$ROOT/target/ci" npx playwright test)

step "all checks passed"
printf 'total: %d s\n' $((SECONDS - STARTED))
