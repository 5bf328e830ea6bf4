#!/usr/bin/env bash
# make bench: kefu's figures, measured on this machine in one run.
# Relay pinned to CPU 0, load client to CPU 1 (taskset). Results are
# printed and written to target/bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-3}
IDLE_N=${BENCH_IDLE_N:-10000}
OUT=target/bench; mkdir -p "$OUT"
cargo build --release -p relay --bin kefu-relay -p tests --bin kefu-load >&2
RELAY=target/release/kefu-relay; LOAD=target/release/kefu-load
TOKEN=bench-agent-token
PIN_RELAY="taskset -c 0"; PIN_LOAD="taskset -c 1"
command -v taskset >/dev/null || { PIN_RELAY=""; PIN_LOAD=""; }

start_relay() { # $1: extra flags; sets RPID, ADDR
  local dir; dir=$(mktemp -d); rm -f "$OUT/relay.out"
  $PIN_RELAY "$RELAY" --data-dir "$dir" --listen 127.0.0.1:0 --demo-token "$TOKEN" --sends-per-ip 10000000 --page-views-per-ip 10000000 $1 >"$OUT/relay.out" 2>"$OUT/relay.err" &
  RPID=$!; RDIR=$dir
  for _ in $(seq 100); do grep -q "listening on" "$OUT/relay.out" 2>/dev/null && break; sleep 0.1; done
  ADDR=$(sed -n 's/^kefu: listening on http:\/\///p' "$OUT/relay.out")
}
stop_relay() { kill "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null || true; rm -rf "$RDIR"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
metric() { curl -s "http://$ADDR/metrics" | awk -v m="$1" '$1==m {print $2}'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

idle_round() {
  start_relay ""
  sleep 1; local base; base=$(rss_kb "$RPID")
  mkfifo "$OUT/hold" 2>/dev/null || true
  $PIN_LOAD "$LOAD" idle --url "ws://$ADDR/v1/ws" --n "$IDLE_N" <"$OUT/hold" >"$OUT/idle.out" 2>&1 &
  local lpid=$!; exec 9>"$OUT/hold"
  for _ in $(seq 1200); do grep -q ready "$OUT/idle.out" && break; sleep 0.1; done
  grep -q ready "$OUT/idle.out" || { cat "$OUT/idle.out" >&2; exit 1; }
  sleep 3; local full; full=$(rss_kb "$RPID")
  exec 9>&-; wait "$lpid" || true
  stop_relay
  echo "$base $full" | awk -v n="$IDLE_N" '{printf "%.0f\n", ($2-$1)*1024/n}'
}

burst_round() { # $1: relay flags → "msgs_per_s fsyncs_per_msg cpu_us_per_msg"
  start_relay "$1"
  local t0; t0=$(awk '{print $14+$15}' "/proc/$RPID/stat")
  local line; line=$($PIN_LOAD "$LOAD" burst --url "ws://$ADDR/v1/ws" --visitors 200 --msgs 50)
  local t1; t1=$(awk '{print $14+$15}' "/proc/$RPID/stat")
  local fs ev; fs=$(metric kefu_fsyncs_total); ev=$(metric kefu_events_stored_total)
  stop_relay
  local rate; rate=$(sed -n 's/.*durable_msgs_per_s=\([0-9.]*\).*/\1/p' <<<"$line")
  local hz; hz=$(getconf CLK_TCK)
  echo "$rate $(awk -v f="$fs" -v e="$ev" 'BEGIN{printf "%.4f", f/e}') $(awk -v a="$t0" -v b="$t1" -v e="$ev" -v hz="$hz" 'BEGIN{printf "%.1f", (b-a)/hz*1e6/e}')"
}

chat_round() {
  start_relay ""
  local line; line=$($PIN_LOAD "$LOAD" chat --url "ws://$ADDR/v1/ws" --token "$TOKEN" --convs 200 --interval-ms 1000 --secs 15)
  stop_relay
  echo "$line"
}

echo "== idle WebSocket visitors: $IDLE_N, $ROUNDS rounds" >&2
: >"$OUT/idle.txt"; for r in $(seq "$ROUNDS"); do idle_round | tee -a "$OUT/idle.txt" >&2; done
echo "== durable burst vs --no-fsync (interleaved), $ROUNDS rounds" >&2
: >"$OUT/burst_d.txt"; : >"$OUT/burst_n.txt"
for r in $(seq "$ROUNDS"); do
  burst_round "" | tee -a "$OUT/burst_d.txt" >&2
  burst_round "--no-fsync" | tee -a "$OUT/burst_n.txt" >&2
done
echo "== steady chat: 200 conversations, 1 msg/s each" >&2
: >"$OUT/chat.txt"; for r in $(seq "$ROUNDS"); do chat_round | tee -a "$OUT/chat.txt" >&2; done

col() { awk -v c="$2" '{print $c}' "$1" | median; }
chatcol() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" "$OUT/chat.txt" | median; }
IDLE=$(median <"$OUT/idle.txt")
D_RATE=$(col "$OUT/burst_d.txt" 1); N_RATE=$(col "$OUT/burst_n.txt" 1)
D_FS=$(col "$OUT/burst_d.txt" 2); D_CPU=$(col "$OUT/burst_d.txt" 3); N_CPU=$(col "$OUT/burst_n.txt" 3)
{
  echo "# kefu bench — $(date -u +%Y-%m-%d) — $(nproc) cores, medians of $ROUNDS rounds"
  echo
  echo "| case | figure | target / ratio |"
  echo "|---|---|---|"
  echo "| idle WebSocket visitor, RSS per connection at $IDLE_N | $IDLE bytes | budget 8192 bytes → $(awk -v a="$IDLE" 'BEGIN{printf "%.2f", a/8192}')× budget |"
  echo "| durable messages/s (200 visitors × 50, 200 B, ack after flush+fdatasync) | $D_RATE | $(awk -v a="$D_RATE" -v b="$N_RATE" 'BEGIN{printf "%.2f", a/b}')× the no-fsync ceiling ($N_RATE/s) |"
  echo "| fsyncs per durable message (group commit) | $D_FS | well under 1 |"
  echo "| relay CPU per durable message | $D_CPU µs | no-fsync: $N_CPU µs |"
  echo "| steady chat 200 conv × 1/s: send→ack p50 / p99 | $(chatcol ack_p50_ms) / $(chatcol ack_p99_ms) ms | |"
  echo "| steady chat: send→deliver (agent) p50 / p99 | $(chatcol deliver_p50_ms) / $(chatcol deliver_p99_ms) ms | p99 budget 20 ms |"
} | tee "$OUT/results.md"
