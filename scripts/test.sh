#!/usr/bin/env bash
# One command to install what is missing and run every check: formatting, lints for both builds
# (server `ssr`, browser `hydrate` on wasm32), unit and integration tests (the splat tests read
# ../shared/splats and compare with PlayCanvas's splat-transform), and the Playwright journeys in
# Debian's Chromium against the release build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh

step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy: server build (ssr)"
cargo clippy --locked -p domain -p ids -p app -p server -p splat -p pipeline -p planner -p trainer -p viewer -p cloud --all-targets -- -D warnings   # app gets `ssr` from server

step "clippy: browser build (hydrate, wasm32) and the format core on wasm32"
cargo clippy --locked -p app -p domain -p splat -p planner --lib --features app/hydrate --target wasm32-unknown-unknown -- -D warnings
cargo clippy --locked -p viewer --lib --features web --target wasm32-unknown-unknown -- -D warnings

step "release build: server + wasm bundle (cargo leptos)"
cargo leptos build --release
scripts/build-viewer.sh   # the viewer's own wasm (after cargo leptos, which rewrites target/site)

step "unit and integration tests (release profile, sharing the build above)"
cargo test --locked --release -p domain -p ids -p server -p splat -p pipeline -p planner -p trainer -p viewer -p cloud

step "end-to-end tests (Playwright, Debian Chromium)"
(cd end2end && npx playwright test)

step "all checks passed"
