#!/usr/bin/env bash
# make bench: kefu against real peers on this machine, side by side in one
# run. Servers are pinned to CPU 0 and load clients to CPU 1 (taskset);
# A/B rounds are interleaved and medians reported. Results are printed and
# written to target/bench/results.md.
#
#   1. idle visitors: RSS per WebSocket connection — kefu vs mosquitto's
#      WebSocket listener (own network namespace) vs a Node `ws` relay;
#   2. durable chat: 200 conversations, a 200-byte message each way every
#      second, then a saturation sweep — server CPU per delivered message,
#      p50/p99 send→ack and send→deliver, fsyncs per message (strace) —
#      kefu vs mosquitto QoS 1 with persistence vs Redis streams with
#      appendfsync always (the durable peer) vs kefu --no-fsync;
#   3. long-poll: 500 long-poll visitors chatting — kefu vs Socket.IO's
#      polling transport;
#   4. storage: bytes on disk per message after 1M messages, start-up time;
#   5. routing decisions per second; 6. search: the index's size and build
#      time for BENCH_STORAGE_N stored messages, query latency p50/p99.
#
# Env: BENCH_ROUNDS (3), BENCH_IDLE_N (10000), BENCH_STORAGE_N (1000000),
# BENCH_SECS (15, per chat round), BENCH_IDLE_SETTLE (40: seconds the idle
# connections idle, through heartbeats, before their memory is read).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-3}
IDLE_N=${BENCH_IDLE_N:-10000}
IDLE_SETTLE=${BENCH_IDLE_SETTLE:-40}
STORAGE_N=${BENCH_STORAGE_N:-1000000}
SECS=${BENCH_SECS:-15}
OUT=target/bench; mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- peers and tools (installed once) ----------------------------------------
need=()
command -v mosquitto >/dev/null || need+=(mosquitto)
command -v redis-server >/dev/null || need+=(redis-server)
command -v strace >/dev/null || need+=(strace)
command -v curl >/dev/null || need+=(curl)
command -v taskset >/dev/null || need+=(util-linux)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}" >&2
  apt-get update >&2 && apt-get install -y --no-install-recommends "${need[@]}" >&2
fi
[ -d node_modules/socket.io ] && [ -d node_modules/ws ] || npm ci --no-audit --no-fund >&2
cargo build --release -p relay --bin kefu-relay -p kefu-bench --bin kefu-load --bin kefu-route --bin kefu-search >&2
RELAY=$PWD/target/release/kefu-relay; LOAD=$PWD/target/release/kefu-load
TOKEN=bench-agent-token
S0="taskset -c 0"; S1="taskset -c 1"
NS=kefu-bench
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up
cleanup() { pkill -f "bench/peers/" 2>/dev/null || true; pkill -x mosquitto 2>/dev/null || true; pkill -f "redis-server 127.0.0.1:16379" 2>/dev/null || true; ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
field() { sed -n "s/.*[ ^]$1=\([0-9.a-z]*\).*/\1/p"; }
wait_line() { for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; echo "timeout waiting for $2 in $1" >&2; cat "$1" >&2; return 1; }

# --- servers: start_X sets SPID and the URLs ---------------------------------
start_kefu() { # $1: extra flags
  SDIR=$(mktemp -d); rm -f "$OUT/relay.out"
  $S0 "$RELAY" --data-dir "$SDIR" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --demo-token "$TOKEN" \
    --sends-per-ip 100000000 --sends-per-visitor 100000000 --page-views-per-ip 100000000 $1 >"$OUT/relay.out" 2>"$OUT/relay.err" &
  SPID=$!
  wait_line "$OUT/relay.out" "listening on"
  ADDR=$(sed -n 's/^kefu: listening on http:\/\///p' "$OUT/relay.out")
  METRICS=$(sed -n 's/^kefu: metrics on http:\/\///p' "$OUT/relay.out")
  WS="ws://$ADDR/v1/ws"; HTTP="http://$ADDR"; IN=""
}
start_mosquitto() {
  SDIR=$(mktemp -d); sed "s#@DIR@#$SDIR#" bench/peers/mosquitto.conf >"$SDIR/m.conf"
  ip netns exec "$NS" $S0 mosquitto -c "$SDIR/m.conf" >"$OUT/mosquitto.log" 2>&1 &
  SPID=$!; sleep 0.5
  WS="ws://127.0.0.1:18883"; IN="ip netns exec $NS"
}
start_redis() { # the durable peer: every write fsynced before its reply
  SDIR=$(mktemp -d)
  $S0 redis-server --bind 127.0.0.1 --port 16379 --dir "$SDIR" --appendonly yes --appendfsync always \
    --save '' --protected-mode no >"$OUT/redis.log" 2>&1 &
  SPID=$!; wait_line "$OUT/redis.log" "Ready to accept connections"
  RURL="redis://127.0.0.1:16379"; IN=""
}
start_node() {
  SDIR=$(mktemp -d); rm -f "$OUT/node.out"
  $S0 node bench/peers/ws-relay.mjs 18090 >"$OUT/node.out" 2>&1 &
  SPID=$!; wait_line "$OUT/node.out" "listening"
  WS="ws://127.0.0.1:18090"; IN=""
}
start_sio() {
  SDIR=$(mktemp -d); rm -f "$OUT/sio.out"
  $S0 node bench/peers/sio-server.mjs 18091 >"$OUT/sio.out" 2>&1 &
  SPID=$!; wait_line "$OUT/sio.out" "listening"
  HTTP="http://127.0.0.1:18091"; IN=""
}
stop_server() { kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; rm -rf "$SDIR"; }

# --- 1. idle -----------------------------------------------------------------
idle_round() { # $1: kefu|mosquitto|node → bytes per connection
  "start_$1" ""
  sleep 1; local base; base=$(rss_kb "$SPID")
  local mode=idle; [ "$1" = mosquitto ] && mode=mqtt-idle
  rm -f "$OUT/hold"; mkfifo "$OUT/hold"
  $IN $S1 "$LOAD" "$mode" --url "$WS" --n "$IDLE_N" <"$OUT/hold" >"$OUT/idle.out" 2>&1 &
  local lpid=$!; exec 9>"$OUT/hold"
  for _ in $(seq 1800); do grep -q ready "$OUT/idle.out" && break; kill -0 "$lpid" 2>/dev/null || break; sleep 0.1; done
  grep -q ready "$OUT/idle.out" || { cat "$OUT/idle.out" >&2; exit 1; }
  # Read after the connections idled through a few heartbeats: most of a
  # connection's memory arrives in its first seconds, not at connect.
  sleep "$IDLE_SETTLE"; local full; full=$(rss_kb "$SPID")
  exec 9>&-; wait "$lpid" || true
  stop_server
  echo "$base $full" | awk -v n="$IDLE_N" '{printf "%.0f\n", ($2-$1)*1024/n}'
}

# --- 2/3. chat ---------------------------------------------------------------
# chat_round server mode convs interval_ms [flags] → "cpu_us_per_msg line"
chat_round() {
  local server=$1 mode=$2 convs=$3 iv=$4 flags=${5:-}
  "start_$server" "$flags"
  local t0; t0=$(ticks "$SPID")
  local line
  case $mode in
    chat) line=$($S1 "$LOAD" chat --url "$WS" --token "$TOKEN" --convs "$convs" --interval-ms "$iv" --secs "$SECS") ;;
    lp-chat) line=$($S1 "$LOAD" lp-chat --base "$HTTP" --url "$WS" --token "$TOKEN" --convs "$convs" --interval-ms "$iv" --secs "$SECS") ;;
    mqtt-chat) line=$($IN $S1 "$LOAD" mqtt-chat --url "$WS" --convs "$convs" --interval-ms "$iv" --secs "$SECS") ;;
    redis-chat) line=$($S1 "$LOAD" redis-chat --url "$RURL" --convs "$convs" --interval-ms "$iv" --secs "$SECS") ;;
    sio-chat) line=$($S1 node bench/peers/sio-load.mjs "$HTTP" "$convs" "$iv" "$SECS") ;;
  esac
  local t1; t1=$(ticks "$SPID")
  stop_server
  local del; del=$(field delivered <<<"$line")
  echo "$(awk -v a="$t0" -v b="$t1" -v d="$del" -v hz="$HZ" 'BEGIN{printf "%.1f", (d>0 ? (b-a)/hz*1e6/d : 0)}') $line"
}

# fsyncs per delivered message: one extra steady round under strace -c.
fsync_round() { # server mode flags → fsyncs per message
  local server=$1 mode=$2 flags=${3:-}
  "start_$server" "$flags"
  strace -c -f -e trace=fsync,fdatasync,sync_file_range -p "$SPID" -o "$OUT/strace.txt" &
  local st=$!; sleep 0.5
  local line
  case $mode in
    chat) line=$($S1 "$LOAD" chat --url "$WS" --token "$TOKEN" --convs 200 --interval-ms 1000 --secs 10) ;;
    mqtt-chat) line=$($IN $S1 "$LOAD" mqtt-chat --url "$WS" --convs 200 --interval-ms 1000 --secs 10) ;;
    redis-chat) line=$($S1 "$LOAD" redis-chat --url "$RURL" --convs 200 --interval-ms 1000 --secs 10) ;;
  esac
  kill -INT "$st" 2>/dev/null || true; wait "$st" 2>/dev/null || true
  stop_server
  local calls; calls=$(awk '$NF=="fsync" || $NF=="fdatasync" {s+=$4} END {print s+0}' "$OUT/strace.txt")
  local del; del=$(field delivered <<<"$line")
  awk -v c="$calls" -v d="$del" 'BEGIN{printf "%.4f\n", (d>0 ? c/d : 0)}'
}

col() { awk -v c="$2" '{print $c}' "$1" | median; }
fcol() { field "$2" <"$1" | median; }

echo "== 1. idle WebSocket visitors: $IDLE_N, $ROUNDS interleaved rounds" >&2
for s in kefu mosquitto node; do : >"$OUT/idle_$s.txt"; done
for r in $(seq "$ROUNDS"); do
  for s in kefu mosquitto node; do idle_round "$s" | tee -a "$OUT/idle_$s.txt" >&2; done
done

echo "== 2. durable chat: 200 conversations, a message each way every second, $ROUNDS rounds" >&2
for k in kefu mosq redis nofsync; do : >"$OUT/chat_$k.txt"; done
for r in $(seq "$ROUNDS"); do
  chat_round kefu chat 200 1000 | tee -a "$OUT/chat_kefu.txt" >&2
  chat_round mosquitto mqtt-chat 200 1000 | tee -a "$OUT/chat_mosq.txt" >&2
  chat_round redis redis-chat 200 1000 | tee -a "$OUT/chat_redis.txt" >&2
  chat_round kefu chat 200 1000 --no-fsync | tee -a "$OUT/chat_nofsync.txt" >&2
done
echo "== 2b. fsyncs per message (strace -c -f)" >&2
F_KEFU=$(fsync_round kefu chat); F_MOSQ=$(fsync_round mosquitto mqtt-chat); F_RED=$(fsync_round redis redis-chat)
F_NOF=$(fsync_round kefu chat --no-fsync)
echo "fsyncs/msg: kefu $F_KEFU mosquitto $F_MOSQ redis $F_RED no-fsync $F_NOF" >&2
# More conversations, not faster ones: a visitor may send 60 messages a
# minute (MAX_VISITOR_SENDS_PER_MINUTE), as a person would.
echo "== 2c. saturation sweep (more conversations, a message each way every second)" >&2
: >"$OUT/sweep.txt"
for n in ${BENCH_SWEEP:-1000 2500 5000}; do
  for s in "kefu chat" "mosquitto mqtt-chat" "kefu-nofsync chat"; do
    set -- $s
    if [ "$1" = kefu-nofsync ]; then line=$(chat_round kefu chat "$n" 1000 --no-fsync); else line=$(chat_round "$1" "$2" "$n" 1000); fi
    echo "$1 convs=$n $line" | tee -a "$OUT/sweep.txt" >&2
  done
done

echo "== 3. long-poll: 500 visitors chatting, $ROUNDS rounds" >&2
: >"$OUT/lp_kefu.txt"; : >"$OUT/lp_sio.txt"
for r in $(seq "$ROUNDS"); do
  chat_round kefu lp-chat 500 1000 | tee -a "$OUT/lp_kefu.txt" >&2
  chat_round sio sio-chat 500 1000 | tee -a "$OUT/lp_sio.txt" >&2
done

echo "== 4. storage: $STORAGE_N durable messages" >&2
start_kefu ""
V=1000; M=$((STORAGE_N / V))
T0=$(ticks "$SPID")
$S1 "$LOAD" burst --url "$WS" --visitors "$V" --msgs "$M" >"$OUT/storage.out"
T1=$(ticks "$SPID")
metric() { curl -s "http://$METRICS/metrics" | awk -v m="$1" '$1==m {print $2}'; }
B_FS=$(metric kefu_fsyncs_total); B_EV=$(metric kefu_events_stored_total)
B_RATE=$(field durable_msgs_per_s <"$OUT/storage.out")
B_FPM=$(awk -v f="$B_FS" -v e="$B_EV" 'BEGIN{printf "%.4f", f/e}')
B_CPU=$(awk -v a="$T0" -v b="$T1" -v e="$B_EV" -v hz="$HZ" 'BEGIN{printf "%.1f", (b-a)/hz*1e6/e}')
kill "$SPID"; wait "$SPID" 2>/dev/null || true
BYTES=$(du -sb "$SDIR/sled" | awk '{print $1}')
STARTS=""
for r in 1 2 3; do
  t0=$(date +%s.%N); rm -f "$OUT/relay.out"
  $S0 "$RELAY" --data-dir "$SDIR" --listen 127.0.0.1:0 --demo-token "$TOKEN" >"$OUT/relay.out" 2>"$OUT/relay.err" &
  SPID=$!; wait_line "$OUT/relay.out" "listening on"; t1=$(date +%s.%N)
  STARTS="$STARTS $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", (b-a)*1000}')"
  kill "$SPID"; wait "$SPID" 2>/dev/null || true
done
START_MS=$(tr ' ' '\n' <<<"$STARTS" | sed '/^$/d' | median)
rm -rf "$SDIR"
BPM=$(awk -v b="$BYTES" -v n="$STORAGE_N" 'BEGIN{printf "%.0f", b/n}')
echo "storage: $BYTES bytes for $STORAGE_N messages ($BPM B/msg); start-up ms:$STARTS" >&2

# The relay's own commit path in-process (kefu-route): a decision per new
# conversation with 1,000 agents online, against the same starts with no
# decision (manual routing), rounds interleaved.
echo "== 5. routing: assignment decisions per second, 1,000 agents online" >&2
ROUTE=$($S0 "$PWD/target/release/kefu-route" --agents 1000 --capacity 5 --starts 4000 --rounds "$ROUNDS")
echo "$ROUTE" >&2
R_AUTO=$(field auto_per_s <<<"$ROUTE"); R_MAN=$(field manual_per_s <<<"$ROUTE"); R_COST=$(field cost <<<"$ROUTE")

# Search: the index built from STORAGE_N stored 200-byte messages (mixed
# English and Chinese) the way a relay rebuilds a missing index, then
# mixed queries through its query path.
echo "== 6. search: index for $STORAGE_N messages, 400 queries" >&2
SEARCH=$($S0 "$PWD/target/release/kefu-search" --messages "$STORAGE_N" --queries 400)
echo "$SEARCH" >&2
S_BYTES=$(field index_bytes <<<"$SEARCH"); S_BPM=$(field bytes_per_msg <<<"$SEARCH"); S_BUILD=$(field build_s <<<"$SEARCH")
S_P50=$(field q_p50_ms <<<"$SEARCH"); S_P99=$(field q_p99_ms <<<"$SEARCH")

# --- table ---------------------------------------------------------------------
I_K=$(median <"$OUT/idle_kefu.txt"); I_M=$(median <"$OUT/idle_mosquitto.txt"); I_N=$(median <"$OUT/idle_node.txt")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0==0) print "n/a"; else printf "%.2f×", a/b }'; }
row() { # label file → "cpu | ack p50/p99 | deliver p50/p99 | delivered/s"
  echo "$(col "$2" 1) | $(fcol "$2" ack_p50_ms) / $(fcol "$2" ack_p99_ms) | $(fcol "$2" deliver_p50_ms) / $(fcol "$2" deliver_p99_ms) | $(fcol "$2" msgs_per_s)"
}
C_K=$(col "$OUT/chat_kefu.txt" 1); C_M=$(col "$OUT/chat_mosq.txt" 1); C_N=$(col "$OUT/chat_nofsync.txt" 1)
C_R=$(col "$OUT/chat_redis.txt" 1)
REDIS_V=$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
L_K=$(col "$OUT/lp_kefu.txt" 1); L_S=$(col "$OUT/lp_sio.txt" 1)
{
  echo "# kefu bench — $(date -u +%Y-%m-%d) — $(nproc) cores; servers on CPU 0, load on CPU 1; medians of $ROUNDS interleaved rounds"
  echo
  echo "## 1. Idle WebSocket visitors ($IDLE_N connections: hello + page view + heartbeats)"
  echo
  echo "| server | RSS per connection | vs kefu |"
  echo "|---|---|---|"
  echo "| kefu | $I_K B | 1.00× (budget 8,192 B: $(ratio "$I_K" 8192)) |"
  echo "| mosquitto 2.0.11 WebSocket listener | $I_M B | kefu uses $(ratio "$I_K" "$I_M") |"
  echo "| Node \`ws\` relay | $I_N B | kefu uses $(ratio "$I_K" "$I_N") |"
  echo
  echo "## 2. Durable chat: 200 conversations, a 200-byte message each way every second (${SECS} s)"
  echo
  echo "| server | CPU µs per delivered message | send→ack p50 / p99 ms | send→deliver p50 / p99 ms | delivered/s | fsyncs per message |"
  echo "|---|---|---|---|---|---|"
  echo "| kefu (ack after flush + fdatasync) | $(row x "$OUT/chat_kefu.txt") | $F_KEFU |"
  echo "| mosquitto QoS 1, persistence on | $(row x "$OUT/chat_mosq.txt") | $F_MOSQ |"
  echo "| Redis $REDIS_V streams, appendfsync always | $(row x "$OUT/chat_redis.txt") | $F_RED |"
  echo "| kefu --no-fsync (ceiling) | $(row x "$OUT/chat_nofsync.txt") | $F_NOF |"
  echo
  echo "CPU per delivered message, kefu vs Redis (durable): $(ratio "$C_K" "$C_R") (goal ≤ 1.00×); vs mosquitto (no per-message fsync): $(ratio "$C_K" "$C_M") (goal ≤ 1.50×); vs its own no-fsync ceiling: $(ratio "$C_K" "$C_N")."
  echo
  echo "Saturation sweep (N conversations, a message each way every second → offered 2N messages/s):"
  echo
  echo "| server | conversations | CPU µs/msg | ack p99 ms | deliver p50 / p99 ms | delivered/s of offered |"
  echo "|---|---|---|---|---|---|"
  while read -r name nf cpu rest; do
    echo "| $name | ${nf#convs=} | $cpu | $(field ack_p99_ms <<<"$rest") | $(field deliver_p50_ms <<<"$rest") / $(field deliver_p99_ms <<<"$rest") | $(field msgs_per_s <<<"$rest") of $(( ${nf#convs=} * 2 )) |"
  done <"$OUT/sweep.txt"
  echo
  echo "## 3. Long-poll: 500 visitors, a message each way every second"
  echo
  echo "| server | CPU µs per delivered message | send→ack p50 / p99 ms | send→deliver p50 / p99 ms | delivered/s |"
  echo "|---|---|---|---|---|"
  echo "| kefu long-poll (durable) | $(row x "$OUT/lp_kefu.txt") |"
  echo "| Socket.IO 4.8 polling (no storage) | $(row x "$OUT/lp_sio.txt") |"
  echo
  echo "CPU per message, kefu vs Socket.IO: $(ratio "$L_K" "$L_S")."
  echo
  echo "## 4. Storage"
  echo
  echo "| figure | value |"
  echo "|---|---|"
  echo "| bytes on disk after $STORAGE_N messages (200 B text each) | $BYTES ($BPM B per message) |"
  echo "| start-up on that data (median of 3) | $START_MS ms |"
  echo "| writing them: $V visitors, 8 sends in flight each, ack after flush + fdatasync | $B_RATE messages/s; $B_FPM fsyncs and $B_CPU µs relay CPU per message |"
  echo
  echo "## 5. Routing: assignment decisions in the commit path, 1,000 agents online"
  echo
  echo "| figure | value |"
  echo "|---|---|"
  echo "| new conversations auto-assigned (capacity 5 each, 512 starts in flight, durable) | $R_AUTO decisions/s |"
  echo "| the same starts on manual routing (no decision), same run | $R_MAN starts/s |"
  echo "| time per start, deciding vs not | ${R_COST}× |"
  echo
  echo "## 6. Search: $STORAGE_N stored messages (200 B, mixed English and Chinese)"
  echo
  echo "| figure | value |"
  echo "|---|---|"
  echo "| index size on disk | $S_BYTES bytes ($S_BPM B per message) |"
  echo "| build time from the store (a missing index) | $S_BUILD s |"
  echo "| query latency, 400 mixed queries (words, pairs, Chinese substrings), 20 hits with snippets | p50 $S_P50 ms, p99 $S_P99 ms |"
} | tee "$OUT/results.md"
