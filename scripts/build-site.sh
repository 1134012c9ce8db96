#!/usr/bin/env bash
# Builds the browser side of Spaceport into target/site, which the release server serves:
#   pkg/spaceport.js + pkg/spaceport.wasm   the whole app's hydration bundle (`app`, feature
#                                            `hydrate`), for the signed-in pages
#   pkg/public.js + pkg/public.wasm         the pages anyone can open (`app`, feature `public`):
#                                            every visitor's first load (`app::bundle_for`)
#   pkg/spaceport.css                        style/main.css
#   viewer/viewer.js + viewer_bg.wasm        the splat viewer's own wasm (`viewer`, feature `web`),
#                                            loaded only by pages that show a model
#   everything in public/                    static files, at the site's root
#
# This is what `cargo leptos build` did for the browser, done with the tools it drove (cargo,
# wasm-bindgen, binaryen's wasm-opt): installing cargo-leptos itself took 12 minutes on a fresh
# two-core machine, for a few lines of shell. The server binary is an ordinary `cargo build
# --release -p server` (the hydration script's file names come from `LEPTOS_OUTPUT_NAME` in
# .cargo/config.toml, as cargo-leptos set it). Prints each wasm's size, raw and gzip.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SITE="target/site"
WASM_DIR="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release"

# Both wasm libraries in one cargo run, so their shared dependencies build once; then `app` again
# with the public pages only (a second run: one crate cannot build twice with different features
# in one). Each is copied out, as the next build writes the same file.
cargo build --locked --lib --target wasm32-unknown-unknown --profile wasm-release \
  -p app --features app/hydrate -p viewer --features viewer/web
cp "$WASM_DIR/app.wasm" "$WASM_DIR/app-whole.wasm"
cargo build --locked --lib --target wasm32-unknown-unknown --profile wasm-release \
  -p app --features app/public
cp "$WASM_DIR/app.wasm" "$WASM_DIR/app-public.wasm"

# The same flags cargo-leptos gave wasm-opt: -Oz, and the features rustc's wasm32 target emits.
WASM_OPT="$ROOT/end2end/node_modules/.bin/wasm-opt"
optimise() {
  if [ -x "$WASM_OPT" ]; then
    "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals "$1" -o "$1"
  else
    echo "build-site: no wasm-opt at $WASM_OPT (run scripts/setup.sh); the wasm stays unoptimised" >&2
  fi
}
size() {
  echo "$1: $(($(stat -c %s "$2") / 1024)) KiB raw, $(($(gzip -9 -c "$2" | wc -c) / 1024)) KiB gzip"
}

rm -rf "$SITE.partial"
mkdir -p "$SITE.partial/pkg" "$SITE.partial/viewer"
cp -R public/. "$SITE.partial/"
cp style/main.css "$SITE.partial/pkg/spaceport.css"

# The server's own hydration script (`app::shell`) names the files, through pkg/assets.txt below.
for bundle in spaceport:whole public:public; do
  name="${bundle%%:*}"
  wasm-bindgen --target web --no-typescript --out-dir "$SITE.partial/pkg" --out-name "$name" \
    "$WASM_DIR/app-${bundle#*:}.wasm"
  mv "$SITE.partial/pkg/${name}_bg.wasm" "$SITE.partial/pkg/$name.wasm"
  optimise "$SITE.partial/pkg/$name.wasm"
done

wasm-bindgen --target web --no-typescript --out-dir "$SITE.partial/viewer" --out-name viewer \
  "$WASM_DIR/viewer.wasm"
optimise "$SITE.partial/viewer/viewer_bg.wasm"

size "app wasm (signed-in pages)" "$SITE.partial/pkg/spaceport.wasm"
size "public wasm (first load)" "$SITE.partial/pkg/public.wasm"
size "viewer wasm" "$SITE.partial/viewer/viewer_bg.wasm"

# Long-lived caching: the bundles and the stylesheet get their content's hash in their names
# (`name.<16 hex>.ext`), and pkg/assets.txt maps each plain name to its file for the server
# (`app::Assets`), which caches hashed names for a year (`server::assets`).
: > "$SITE.partial/pkg/assets.txt"
for f in spaceport.js spaceport.wasm public.js public.wasm spaceport.css; do
  hash="$(sha256sum "$SITE.partial/pkg/$f" | cut -c1-16)"
  hashed="${f%.*}.$hash.${f##*.}"
  mv "$SITE.partial/pkg/$f" "$SITE.partial/pkg/$hashed"
  echo "$f=$hashed" >> "$SITE.partial/pkg/assets.txt"
done
# Compressed once here, at the best levels, rather than per request: .br and .gz beside each
# file the browser fetches, which the server sends to browsers that accept them.
find "$SITE.partial/pkg" "$SITE.partial/viewer" -type f \( -name '*.js' -o -name '*.wasm' -o -name '*.css' \) |
  while read -r f; do
    gzip -9 -n -k -f "$f"
    if command -v brotli >/dev/null 2>&1; then
      brotli -q 11 -k -f "$f"
    else
      echo "build-site: no brotli (run scripts/setup.sh); $f gets gzip only" >&2
    fi
  done

# What each page downloads on its first visit (wasm, JS, CSS; as sent: brotli where there is
# one, and gzip for comparison): `scripts/build-site.sh` is the page-weight command.
weight() {
  local label="$1"; shift
  local raw=0 gz=0 br=0
  for f in "$@"; do
    raw=$((raw + $(stat -c %s "$f")))
    gz=$((gz + $(stat -c %s "$f.gz")))
    br=$((br + $(stat -c %s "$f.br" 2>/dev/null || stat -c %s "$f.gz")))
  done
  echo "page weight, $label: $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzip, $((br / 1024)) KiB brotli"
}
asset() { echo "$SITE.partial/pkg/$(grep "^$1=" "$SITE.partial/pkg/assets.txt" | cut -d= -f2)"; }
weight "landing, sign-in (public bundle)" "$(asset public.wasm)" "$(asset public.js)" "$(asset spaceport.css)"
weight "signed-in pages (whole app)" "$(asset spaceport.wasm)" "$(asset spaceport.js)" "$(asset spaceport.css)"
weight "about, pricing (no script)" "$(asset spaceport.css)"
weight "a model's viewer (its own wasm)" "$SITE.partial/viewer/viewer_bg.wasm" "$SITE.partial/viewer/viewer.js"

# Swap in whole: a server reading target/site never sees half a site.
rm -rf "$SITE"
mv "$SITE.partial" "$SITE"
echo "site -> $SITE"
