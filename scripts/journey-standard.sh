#!/usr/bin/env bash
# The long journey (not part of scripts/test.sh): all 11 fountain-P11 photos through the browser
# with the standard preset — upload, COLMAP, 7,000 training iterations, compression — until the
# model opens in the viewer. Prints the held-out quality. Expect an hour or more on 2 CPU cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
scripts/build-site.sh
cargo build --release --locked -p server -p pipeline
cd end2end
JOURNEY_PRESET=standard npx playwright test tests/journey-real.spec.ts --timeout 5400000
