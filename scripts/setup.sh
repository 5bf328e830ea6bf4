#!/usr/bin/env bash
# Installs what `make lint` and `make test` need when it is missing, and
# nothing (silently) when it is already there, so both work on a fresh
# machine as on a developer laptop. Run by `make test` before anything else
# (`scripts/setup.sh`) and by `make lint` (`scripts/setup.sh lint`).
#
#   lint: rustup components rustfmt and clippy.
#   test: the above, plus
#     - the wasm32-unknown-unknown target and rust-src for `make wasm`, each
#       bounded to 120 s: rustup may not reach its download server
#       everywhere, and scripts/wasm-build.sh then takes the Debian route
#       (docs/wasm.md), so a failure here is not fatal;
#     - a minimal nightly toolchain and cargo-fuzz (scripts/fuzz.sh);
#     - Debian packages: chromium (browser tests), fiu-utils (disk-fault
#       tests: fiu-run, fiu-ctrl), openssl (the user_hash test computes the
#       site owner's HMAC with it), binaryen (wasm-opt) and esbuild (its
#       minifier), which shrink the widget in scripts/wasm-bundle.sh,
#       fonts-wqy-microhei (Chinese in screenshots), fonts-noto-color-emoji
#       (ratings' 👍 / 👎 in screenshots), python3-aiosmtpd (the mail tests'
#       SMTP receiver), dovecot-imapd (the IMAP server the mail-in tests
#       fetch from), nodejs/npm if absent; `apt-get update`
#       runs only when one of them is missing;
#     - `npm ci` when node_modules is missing or older than package-lock.json.
# apt-get needs root: as another user it goes through `sudo -n` when that
# works, else the script stops and names the packages to install.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-test}
case "$what" in lint | test) ;; *) echo "usage: scripts/setup.sh [lint|test]" >&2; exit 2 ;; esac
say() { echo "setup: $*" >&2; }

# --- Rust: lint components ---------------------------------------------------
if command -v rustup >/dev/null 2>&1; then
  installed=$(rustup component list --installed 2>/dev/null || true)
  for c in rustfmt clippy; do
    if ! grep -q "^$c" <<<"$installed"; then
      say "rustup component add $c"
      rustup component add "$c" >&2
    fi
  done
fi
[ "$what" = lint ] && exit 0

# --- Rust: wasm (best effort; wasm-build.sh falls back to Debian's route) ----
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "rustup target add wasm32-unknown-unknown (bounded to 120 s)"
    timeout 120 rustup target add wasm32-unknown-unknown >&2 ||
      say "no rustup wasm target; make wasm will use Debian's rustc-web (docs/wasm.md)"
  fi
  if ! [ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
    say "rustup component add rust-src (bounded to 120 s)"
    timeout 120 rustup component add rust-src >&2 ||
      say "no rust-src; make wasm will use Debian's rustc-web (docs/wasm.md)"
  fi
  # --- fuzzing: libFuzzer needs nightly ---------------------------------------
  if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    say "rustup toolchain install nightly --profile minimal"
    timeout 300 rustup toolchain install nightly --profile minimal >&2
  fi
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "cargo install cargo-fuzz --locked"
  cargo install -q cargo-fuzz --locked >&2
fi

# --- Debian packages -----------------------------------------------------------
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
{ command -v fiu-run && command -v fiu-ctrl; } >/dev/null 2>&1 || need+=(fiu-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v wasm-opt >/dev/null 2>&1 || need+=(binaryen)
command -v esbuild >/dev/null 2>&1 || need+=(esbuild)
# python3: make wasm's scripts/wasm-short-imports.py (the widget's import names).
command -v python3 >/dev/null 2>&1 || need+=(python3)
# A CJK font, so the browser tests' Chinese screenshots show the text.
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
# A colour emoji font, so the ratings' 👍 / 👎 show in screenshots.
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
# The IMAP server the inbound-mail tests start on loopback.
[ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# The mail tests' SMTP receiver (tests/src/mail/smtp.rs).
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || need+=(python3-aiosmtpd)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "setup: missing ${need[*]}; install them as root: apt-get install ${need[*]}" >&2
    exit 1
  fi
  say "apt-get install ${need[*]}"
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# --- npm packages (browser tests) -----------------------------------------------
# npm ci writes node_modules/.package-lock.json; older than the lock file
# (or absent) means the installed packages may not match it.
if ! [ node_modules/.package-lock.json -nt package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
