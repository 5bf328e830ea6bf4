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
"$WBG" --target web --remove-name-section --remove-producers-section --no-typescript \
  --out-dir "$out" --out-name kefu_widget "$dir/widget.wasm"
cp www/boot.js "$out/boot.js"
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
echo "sizes (gzip -9): loader $(gz www/loader.js) B; widget wasm $(gz $out/kefu_widget_bg.wasm) B + glue $(gz $out/kefu_widget.js) B + boot $(gz $out/boot.js) B" >&2
