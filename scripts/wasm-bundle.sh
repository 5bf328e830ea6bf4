#!/usr/bin/env bash
# make wasm: build the widget and the console, run wasm-bindgen, write
# www/widget/ and www/console/ (the relay embeds both), print the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
WBG_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
WBG=.tools/bin/wasm-bindgen
# One already on PATH at the pinned version will do.
if command -v wasm-bindgen >/dev/null 2>&1 && [ "$(wasm-bindgen --version | awk '{print $2}')" = "$WBG_VERSION" ]; then
  WBG=$(command -v wasm-bindgen)
fi
if ! [ -x "$WBG" ] || [ "$($WBG --version | awk '{print $2}')" != "$WBG_VERSION" ]; then
  echo "wasm: installing wasm-bindgen-cli $WBG_VERSION into .tools (once, ~6 min)" >&2
  cargo install wasm-bindgen-cli --version "$WBG_VERSION" --root .tools --locked >&2 \
    || cargo install wasm-bindgen-cli --version "$WBG_VERSION" --root .tools >&2
fi
dir=$(scripts/wasm-build.sh widget agent-web)
out=www/widget
rm -rf "$out"; mkdir -p "$out"
# Two shrinking passes on the widget (its budget: 40 KB gzipped in all),
# installed here when missing (Debian packages binaryen and esbuild;
# without them the bundle is only larger):
# - binaryen's wasm-opt -Oz after rustc's opt-level z, on rustc's output:
#   binaryen 108 run after wasm-bindgen points the externref table's export
#   at the funcref table (the widget then traps at boot). Measured on the
#   widget before the attention features: 34,189 → 33,291 B gzipped.
#   Two assumptions that hold for rustc's wasm32 output are stated to it:
#   --ignore-implicit-traps (safe Rust makes no out-of-bounds access; its
#   checks are explicit branches, which stay) and --low-memory-unused
#   (rustc links the stack first, growing down from 1 MiB: the lowest 1 KiB
#   is reached only by a stack already overflowing). With all features in:
#   35,494 → 35,148 B (node's zlib, level 9, as tests/browser/size.test.mjs).
# - esbuild's minifier on the JS glue and boot.js (glue 5,960 → 4,648 B).
apt_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || return 1
    sudo=(sudo -n)
  fi
  echo "wasm: installing $2 ($1)" >&2
  { "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$2" ||
    { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$2"; }; } >&2 || true
  command -v "$1" >/dev/null 2>&1
}
wasm="$dir/widget.wasm"
if apt_tool wasm-opt binaryen; then
  wasm-opt -Oz --converge --ignore-implicit-traps --low-memory-unused \
    "$dir/widget.wasm" -o "$dir/widget.opt.wasm"
  wasm="$dir/widget.opt.wasm"
else
  echo "wasm: no wasm-opt (Debian package binaryen): the widget wasm is left as rustc made it" >&2
fi
"$WBG" --target web --remove-name-section --remove-producers-section --no-typescript \
  --out-dir "$out" --out-name kefu_widget "$wasm"
cp www/boot.js "$out/boot.js"
if apt_tool esbuild esbuild; then
  esbuild --log-level=warning --minify --format=esm "$out/kefu_widget.js" --outfile="$out/kefu_widget.js.min"
  mv "$out/kefu_widget.js.min" "$out/kefu_widget.js"
else
  echo "wasm: no esbuild (Debian package esbuild): the widget's JS is left unminified" >&2
fi
# Short import names in the wasm and its glue (scripts/wasm-short-imports.py
# says why: ~3.9 KB gzipped of hex hashes); without python3, left as made.
if command -v python3 >/dev/null 2>&1; then
  python3 scripts/wasm-short-imports.py "$out/kefu_widget_bg.wasm" "$out/kefu_widget.js" || true
fi
# boot.js with the glue inside it: one request less, and one gzip stream
# (~300 B smaller than the two apart).
if command -v esbuild >/dev/null 2>&1; then
  esbuild --log-level=warning --bundle --minify --format=esm "$out/boot.js" --outfile="$out/boot.js.min"
  mv "$out/boot.js.min" "$out/boot.js"
  rm "$out/kefu_widget.js"
fi
# The fallback client (budget 12 KB gzipped), minified as ES5 into
# www/widget/fallback.js, which the relay serves in place of the source:
# its source is ES3 (tests/browser/es3.test.mjs), and esbuild with
# --target=es5 writes no shorthand properties or template literals, so the
# output stays ES3 too (the same test checks it). Measured: 11,671 → 9,102 B.
if command -v esbuild >/dev/null 2>&1; then
  esbuild --log-level=warning --minify --target=es5 www/fallback.js --outfile="$out/fallback.js"
fi
# The console (Yew): wasm + glue + its static files, under www/console/.
cout=www/console
rm -rf "$cout"; mkdir -p "$cout"
"$WBG" --target web --remove-name-section --remove-producers-section --no-typescript \
  --out-dir "$cout" --out-name kefu_console "$dir/agent_web.wasm"
cp agent-web/static/* "$cout/"
# The service worker's cache is named after the shell it holds: a new
# build is a new worker, which replaces the old cache.
shell_hash=$(cd "$cout" && cat index.html console.css boot.js kefu_console.js kefu_console_bg.wasm \
  manifest.webmanifest icon-*.png | sha256sum | cut -c1-16)
sed -i "s/^const VERSION = 'dev';/const VERSION = '$shell_hash';/" "$cout/sw.js"
gz() { gzip -9c "$1" | wc -c; }
echo "sizes (gzip -9): console wasm $(gz $cout/kefu_console_bg.wasm) B + glue $(gz $cout/kefu_console.js) B" >&2
echo "sizes (gzip -9): loader $(gz www/loader.js) B; widget wasm $(gz $out/kefu_widget_bg.wasm) B + boot with glue $(gz $out/boot.js) B; fallback $(gz $out/fallback.js) B" >&2
