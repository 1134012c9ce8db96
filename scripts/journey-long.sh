#!/usr/bin/env bash
# The long journeys through the browser (not part of scripts/test.sh), until the model opens in
# the viewer; each prints the held-out quality.
#
#   scripts/journey-long.sh standard   all 11 fountain-P11 photos with the standard preset
#                                      (upload, COLMAP, 7,000 training iterations, compression):
#                                      an hour or more on 2 CPU cores
#   scripts/journey-long.sh survey     all 75 caliterra-drone-75 photos with the preview preset
#                                      (spatial matching from GPS, georegistration); about 20
#                                      minutes, and a screenshot of the project page under
#                                      end2end/test-results/
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
case "${1:-}" in
  standard) export JOURNEY_PRESET=standard ;;
  survey) export JOURNEY_DATASET=caliterra ;;
  *) echo "usage: scripts/journey-long.sh standard|survey" >&2; exit 2 ;;
esac
source scripts/setup.sh
scripts/build-site.sh
cargo build --release --locked -p server -p pipeline
cd end2end
npx playwright test tests/journey-real.spec.ts --timeout 5400000
