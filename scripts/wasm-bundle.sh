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
# binaryen's wasm-opt shrinks the widget further after rustc's opt-level z
# (measured: wasm 34,191 → 33,344 B gzipped); without it the bundle is only larger.
if ! command -v wasm-opt >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "wasm: installing binaryen (wasm-opt)" >&2
    { apt-get install -y -qq --no-install-recommends binaryen || { apt-get update -qq && apt-get install -y -qq --no-install-recommends binaryen; }; } >&2 || true
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "wasm: installing binaryen (wasm-opt)" >&2
    sudo -n apt-get install -y -qq --no-install-recommends binaryen >&2 || true
  fi
fi
if command -v wasm-opt >/dev/null 2>&1; then
  wasm-opt -Oz --converge "$out/kefu_widget_bg.wasm" -o "$out/kefu_widget_bg.wasm.opt"
  mv "$out/kefu_widget_bg.wasm.opt" "$out/kefu_widget_bg.wasm"
else
  echo "wasm: no wasm-opt (Debian package binaryen): the widget is left as rustc made it" >&2
fi
# The console (Yew): wasm + glue + its static files, under www/console/.
cout=www/console
rm -rf "$cout"; mkdir -p "$cout"
"$WBG" --target web --remove-name-section --remove-producers-section --no-typescript \
  --out-dir "$cout" --out-name kefu_console "$dir/agent_web.wasm"
cp agent-web/static/* "$cout/"
gz() { gzip -9c "$1" | wc -c; }
echo "sizes (gzip -9): console wasm $(gz $cout/kefu_console_bg.wasm) B + glue $(gz $cout/kefu_console.js) B" >&2
echo "sizes (gzip -9): loader $(gz www/loader.js) B; widget wasm $(gz $out/kefu_widget_bg.wasm) B + glue $(gz $out/kefu_widget.js) B + boot $(gz $out/boot.js) B" >&2
