#!/usr/bin/env bash
# make fuzz / make test: runs each cargo-fuzz target for FUZZ_SECS seconds
# (libFuzzer, nightly toolchain) from the seed corpus in fuzz/corpus/.
# New inputs found go to target/fuzz-corpus/ (not the repo); a crash fails
# the run and leaves its input under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECS:-20}
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: no nightly toolchain (rustup toolchain install nightly --profile minimal)" >&2; exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: cargo-fuzz missing (cargo install cargo-fuzz --locked)" >&2; exit 1
fi
export CARGO_TARGET_DIR=$PWD/target-fuzz
for t in frame_decode longpoll_body; do
  work=target/fuzz-corpus/$t; mkdir -p "$work"
  echo "fuzz: $t for ${SECS}s" >&2
  cargo +nightly fuzz run --fuzz-dir fuzz "$t" "$work" "fuzz/corpus/$t" -- \
    -max_total_time="$SECS" -max_len=20000 -print_final_stats=1 2>&1 | grep -E "^(stat::number_of_executed_units|stat::peak_rss|==|SUMMARY|Done|INFO: seed corpus)|panicked|ERROR" >&2
done
