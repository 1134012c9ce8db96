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

# The hydration script asks for `<name>.wasm` (LEPTOS_OUTPUT_NAME is set at compile time).
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

# Swap in whole: a server reading target/site never sees half a site.
rm -rf "$SITE"
mv "$SITE.partial" "$SITE"
size "app wasm (signed-in pages)" "$SITE/pkg/spaceport.wasm"
size "public wasm (first load)" "$SITE/pkg/public.wasm"
size "viewer wasm" "$SITE/viewer/viewer_bg.wasm"
echo "site -> $SITE"
