#!/usr/bin/env bash
# Builds OpenSplat (the CPU build: Debian's libtorch, no CUDA) into target/peers/opensplat for
# `scripts/bench-train.sh --peer`. A benchmark peer only: nothing in the product uses it.
#   scripts/peer/build-opensplat.sh            prints the binary's path (quiet when already built)
#   OPENSPLAT_SRC=DIR                          an OpenSplat checkout to build instead of cloning
# The pinned commit is the one the figures in docs/benchmarks.md were measured with.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
COMMIT="15b7e80016bb25107f07956b5682231f226f62b9"
DIR="$ROOT/target/peers/opensplat"
BIN="$DIR/build/opensplat"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

log() { printf '\033[1;34m[peer]\033[0m %s\n' "$*" >&2; }
need=()
for pkg in libtorch-dev libopencv-dev cmake nlohmann-json3-dev libnanoflann-dev libcxxopts-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
fi

rm -rf "$DIR/src" && mkdir -p "$DIR"
if [ -n "${OPENSPLAT_SRC:-}" ]; then
  git -C "$OPENSPLAT_SRC" archive --format=tar "$COMMIT" | (mkdir -p "$DIR/src" && tar -x -C "$DIR/src")
else
  git clone --quiet https://github.com/pierotofy/OpenSplat "$DIR/src"
  git -C "$DIR/src" checkout --quiet "$COMMIT"
fi
# Its CMakeLists downloads nlohmann_json, nanoflann and cxxopts; Debian packages all three, so
# FetchContent is told to take the installed ones (no network needed beyond the clone).
log "building OpenSplat ${COMMIT:0:7} (CPU; about 15 minutes on 2 cores)"
cmake -S "$DIR/src" -B "$DIR/build" -DCMAKE_BUILD_TYPE=Release -DGPU_RUNTIME=CPU \
  -DFETCHCONTENT_TRY_FIND_PACKAGE_MODE=ALWAYS -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
  -DCMAKE_PREFIX_PATH="/usr/share/nanoflann/cmake" >"$DIR/cmake.log" 2>&1 \
  || { tail -n 30 "$DIR/cmake.log" >&2; exit 1; }
cmake --build "$DIR/build" --target opensplat -j "$(nproc)" >"$DIR/build.log" 2>&1 \
  || { grep -m 20 -B 2 -A 8 'error' "$DIR/build.log" >&2; exit 1; }
echo "$BIN"
