# kefu — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
DATA_DIR ?= data
LISTEN ?= 127.0.0.1:8080

.PHONY: run setup test test-all lint wasm icons bench bench-quick fuzz clean

## Run the relay with an embedded sled data dir (./data) on 127.0.0.1:8080.
## On first run it creates the demo site and agent and prints the login.
run: wasm
	$(CARGO) run --release -p relay --bin kefu-relay -- --data-dir $(DATA_DIR) --listen $(LISTEN)

## Every test: installs what is missing (scripts/setup.sh), then Rust unit +
## end-to-end tests against a real relay process, fuzzing, the wasm build
## and the browser tests (headless Debian chromium). The last line is the
## total: "tests: N passed, M failed" (M ≥ 1 whenever a step failed).
test:
	scripts/test-summary.sh $(MAKE) --no-print-directory test-all

STEP = scripts/step.sh
test-all:
	$(STEP) setup scripts/setup.sh
	$(STEP) "cargo test" $(CARGO) test --workspace
	$(STEP) fuzz env FUZZ_SECS=$${FUZZ_SECS:-20} scripts/fuzz.sh
	$(STEP) wasm $(MAKE) --no-print-directory wasm
	$(STEP) "relay build" $(CARGO) build -p relay --bin kefu-relay
	$(STEP) "browser tests" npm test

## What make test needs (toolchains, Debian packages, npm packages), when missing.
setup:
	scripts/setup.sh

## Fuzz the frame decoder and the long-poll body parser (cargo-fuzz,
## nightly); FUZZ_SECS per target (default 300 here, 20 inside make test).
fuzz:
	FUZZ_SECS=$${FUZZ_SECS:-300} scripts/fuzz.sh

## Formatting and clippy, warnings as errors.
lint:
	scripts/setup.sh lint
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Benchmarks: figures and ratios, written to target/bench/results.md.
bench:
	scripts/bench.sh

## The same figures and ratios at reduced size (one round, 2,000 idle
## connections, 100k stored messages): a few minutes, to check a change.
bench-quick:
	BENCH_ROUNDS=$${BENCH_ROUNDS:-1} BENCH_IDLE_N=$${BENCH_IDLE_N:-2000} \
	BENCH_STORAGE_N=$${BENCH_STORAGE_N:-100000} BENCH_SECS=$${BENCH_SECS:-5} \
	BENCH_IDLE_SETTLE=$${BENCH_IDLE_SETTLE:-30} scripts/bench.sh

## Build the wasm crates (widget, console) for wasm32-unknown-unknown into
## www/; relay/build.rs makes the next relay build embed them.
wasm:
	scripts/wasm-bundle.sh

## Re-render the console's app icons (agent-web/static/icon-*.png, committed)
## from their SVG sources in agent-web/icons/ (headless chromium).
icons:
	node scripts/icons.mjs

clean:
	$(CARGO) clean
	rm -rf target-debian
