#!/usr/bin/env bash
# The drone-survey journey (not part of scripts/test.sh): all 75 caliterra-drone-75 photos
# through the browser with the preview preset — upload, COLMAP (spatial matching from GPS,
# georegistration), training, compression — until the model opens in the viewer. Prints the
# held-out quality and leaves a screenshot of the project page under end2end/test-results/.
# About 20 minutes on 2 CPU cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
scripts/build-site.sh
cargo build --release --locked -p server -p pipeline
cd end2end
JOURNEY_DATASET=caliterra npx playwright test tests/journey-real.spec.ts --timeout 3600000
