#!/usr/bin/env bash
# test_many_clients.sh - one app holds 1,000 TLS sessions (sockPoll extension): all open at once,
# the app's CPU stays near zero while they idle, and 64 of them echo concurrently, byte-exact.
# The round-trip p50/p99 printed here is informational (the benchmark reports it).
# Under valgrind (PORTAL_VALGRIND=1) 250 sessions: 1,000 handshakes alone take ~2 min there.
source "$(dirname "$0")/lib.sh"
: "${PORTAL_TOOLS:?}"
valgrind_scale CLIENTS 1000 250 "TLS sessions held at once"
PORT=$(free_port)
LOG=$WORK/app.log
"$PORTAL_HOST" run --max-tls-sessions 1100 "$PORTAL_APPS/tls-echo-server.wasm" -- \
    --port "$PORT" --max-clients 1100 > "$WORK/app.out" 2> "$LOG" &
APP=$!
CLEANUP_PIDS+=("$APP")
wait_for_log "$LOG" "try: openssl" 120 || fail "app did not start"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

timeout 300 "$PORTAL_TOOLS/tls_client" load 127.0.0.1 "$PORT" $CLIENTS 64 20 7 > "$WORK/load.out" 2>&1 &
LOAD=$!
CLEANUP_PIDS+=("$LOAD")
wait_for_log "$WORK/load.out" "open $CLIENTS sessions" 200
check "$CLIENTS concurrent TLS sessions opened" contains "$WORK/load.out" "open $CLIENTS sessions"
sleep 1
open_now=$(grep -c " connected" "$LOG")
closed_now=$(grep -c " closed (" "$LOG")
check "the app holds all $CLIENTS at once (connected $open_now, closed $closed_now)" \
    test $((open_now - closed_now)) -ge $CLIENTS
hz=$(getconf CLK_TCK)
t0=$(cpu_ticks "$APP"); s0=$(date +%s%N)
sleep 5
t1=$(cpu_ticks "$APP"); s1=$(date +%s%N)
pct=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v ns=$((s1 - s0)) 'BEGIN{printf "%.2f", 100 * (t / hz) / (ns / 1e9)}')
echo "     portal-host CPU while $CLIENTS sessions idle: ${pct}% of one core over 5 s"
check "idle CPU below 5% of one core (${pct}%)" awk -v p="$pct" 'BEGIN{exit !(p < 5)}'
wait "$LOAD"
rc=$?
cat "$WORK/load.out"
check "64 concurrent sessions echoed 20 rounds byte-exact (rc $rc)" test $rc -eq 0
check "round-trip figures reported" contains "$WORK/load.out" "p99"
sleep 1
kill -0 "$APP" 2>/dev/null
check "app still running after the clients left" test $? -eq 0
kill -TERM "$APP"; wait "$APP"
check "clean shutdown (exit $?)" test $? -eq 0
finish
