#!/usr/bin/env bash
# Runs a test command, shows its output, and ends with one total line over
# every `test result:` (cargo) and `# pass`/`# fail` (node) line it printed:
# "tests: N passed, M failed", alone on the last line for CI parsers.
# A run that exits non-zero is never reported as "0 failed": a step that
# failed without a failing test of its own (setup, fuzzing, the wasm build)
# counts as one failure, and the line before the total names it
# ("tests: step failed: NAME (exit N)", printed by scripts/step.sh).
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
awk -v rc="$rc" '
  /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  /^# pass [0-9]+$/ { p += $3 } /^# fail [0-9]+$/ { f += $3 }
  /^step failed: / { step = substr($0, 14) }
  END {
    if (rc != 0) {
      if (f == 0) f = 1
      printf "tests: step failed: %s\n", (step != "" ? step : "exit status " rc)
    }
    printf "tests: %d passed, %d failed\n", p, f
  }' "$log"
exit "$rc"
