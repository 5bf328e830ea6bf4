#!/usr/bin/env bash
# One named step of `make test`: runs the command and, when it fails,
# prints "step failed: NAME (exit N)" for scripts/test-summary.sh to report.
# Usage: scripts/step.sh NAME command [args...]
set -uo pipefail
name=$1
shift
"$@"
rc=$?
[ "$rc" -eq 0 ] || echo "step failed: $name (exit $rc)"
exit "$rc"
