#!/usr/bin/env bash
# Builds the wasm crates for wasm32-unknown-unknown by whichever route this
# machine supports (docs/wasm.md says what each route needs and why):
#   1. rustup's toolchain with the wasm32 target and rust-src (a normal
#      developer laptop), rebuilding std (-Zbuild-std);
#   2. Debian's rustc-web + its std source, rebuilding std (-Zbuild-std).
# Usage: scripts/wasm-build.sh <crate>...   Prints the target dir it used.
set -euo pipefail
cd "$(dirname "$0")/.."
crates=("$@")
pkgs=()
for c in "${crates[@]}"; do pkgs+=(-p "$c"); done

# std is rebuilt with panic=immediate-abort: no panic formatting code in
# the bundle (measured: widget wasm 37.4 KB → 28.8 KB gzipped). A panic
# traps, exactly as panic=abort would, minus the message.
WASM_FLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"

have_rustup_wasm() {
  command -v rustup >/dev/null 2>&1 || return 1
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo "wasm: trying 'rustup target add wasm32-unknown-unknown' (bounded to 120 s)" >&2
    timeout 120 rustup target add wasm32-unknown-unknown >&2 || return 1
  fi
  if ! [ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
    echo "wasm: trying 'rustup component add rust-src' (bounded to 120 s)" >&2
    timeout 120 rustup component add rust-src >&2 || return 1
  fi
}

if [ -z "${KEFU_WASM_ROUTE:-}" ]; then
  if have_rustup_wasm; then KEFU_WASM_ROUTE=rustup; else KEFU_WASM_ROUTE=debian; fi
fi

case "$KEFU_WASM_ROUTE" in
  rustup)
    echo "wasm: route 1 (rustup toolchain + rust-src, -Zbuild-std)" >&2
    RUSTC_BOOTSTRAP=1 RUSTFLAGS="$WASM_FLAGS" CARGO_TARGET_DIR=target-wasm \
      cargo build --profile wasm -Zbuild-std=std,panic_abort \
      --target wasm32-unknown-unknown "${pkgs[@]}" >&2
    echo "target-wasm/wasm32-unknown-unknown/wasm"
    ;;
  debian)
    echo "wasm: route 2 (Debian rustc-web, -Zbuild-std)" >&2
    if ! [ -x /usr/bin/rustc ] || ! [ -x /usr/lib/llvm-22/bin/wasm-ld ] || ! [ -d /usr/lib/rustlib/src/rust/library ]; then
      apt-get update >&2 && apt-get install -y --no-install-recommends rustc-web cargo-web rust-web-src lld-22 >&2
    fi
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/lib/llvm-22/bin/wasm-ld \
    RUSTFLAGS="-C target-cpu=mvp $WASM_FLAGS" CARGO_TARGET_DIR=target-debian \
      /usr/bin/cargo build --profile wasm -Zbuild-std=std,panic_abort \
      --target wasm32-unknown-unknown "${pkgs[@]}" >&2
    echo "target-debian/wasm32-unknown-unknown/wasm"
    ;;
  *) echo "KEFU_WASM_ROUTE must be rustup or debian" >&2; exit 2 ;;
esac
