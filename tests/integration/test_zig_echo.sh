#!/usr/bin/env bash
# test_zig_echo.sh - the Zig TLS echo server app (apps/tls-echo-server-zig) under portal-host:
# openssl s_client handshake + echo over IPv4 (and IPv6 when the host listens there), the
# client/close log lines, ppShutdown on SIGTERM; then the Zig SDK unit-test app must exit 0.
source "$(dirname "$0")/lib.sh"
APP=$PORTAL_APPS/tls-echo-server-zig.wasm
UNIT=$PORTAL_APPS/zig-sdk-test.wasm
export PORTAL_CACHE_DIR

check "Zig echo app was built ($APP)" test -s "$APP"
check "Zig unit-test app was built ($UNIT)" test -s "$UNIT"
[ -s "$APP" ] && [ -s "$UNIT" ] || { finish; exit 1; }

# s_client keeps stdin open for STDIN_S so the echo can come back (under valgrind a fresh
# process's first handshake, code translation included, can take more than a second).
valgrind_scale STDIN_S 1 3 "s of s_client stdin (the time the echo has to come back)"
sclient() { # out host:port
    (echo "zig-ping-$RANDOM-line"; sleep "$STDIN_S") | timeout $((STDIN_S + 7)) openssl s_client -connect "$2" -quiet -no_ign_eof > "$1" 2>&1
}

PORT=$(free_port)
LOG=$WORK/zig-echo.log
"$PORTAL_HOST" run "$APP" -- --port "$PORT" > "$LOG.out" 2> "$LOG" &
APP_PID=$!
CLEANUP_PIDS+=("$APP_PID")
if ! wait_for_log "$LOG" "try: openssl" 120; then
    fail "app did not start"
    cat "$LOG" "$LOG.out"
    finish
    exit 1
fi
check "app logged its listening address" grep -q "listening on 0.0.0.0 port $PORT" "$LOG"
check "the hint is an s_client line that verifies against build/certs/ca.pem" \
    grep -qx "I wasm: try: openssl s_client -verify_return_error -CAfile build/certs/ca.pem -connect 127.0.0.1:$PORT" "$LOG"
hint=$(sed -n 's/^I wasm: try: //p' "$LOG" | head -n 1)
(echo "zig-hint-$RANDOM-line"; sleep "$STDIN_S") |
    timeout $((STDIN_S + 7)) bash -c "${hint//build\/certs\//${PORTAL_CERTS:?}/}" > "$WORK/hint" 2>&1
check "the hint, run as printed (build/certs = this build's): chain verified" grep -q "Verify return code: 0 (ok)" "$WORK/hint"
check "the hint, run as printed: line echoed" grep -q '^zig-hint-' "$WORK/hint"

t0=$(now_ms)
sclient "$WORK/s4" "127.0.0.1:$PORT"
t1=$(now_ms)
check "s_client over 127.0.0.1: line echoed ($((t1 - t0)) ms incl. $STDIN_S s stdin wait)" grep -q '^zig-ping-' "$WORK/s4"
if grep -q "listening on \[::\]" "$LOG"; then
    sclient "$WORK/s6" "[::1]:$PORT"
    check "s_client over ::1: line echoed" grep -q '^zig-ping-' "$WORK/s6"
    check "app logged the IPv6 client as [::1] (RFC 5952 text)" grep -q "client \[::1\]:[0-9]* connected" "$LOG"
fi
wait_for_log "$LOG" "closed (peer closed)" 5
check "app logged the IPv4 client" grep -q "client 127.0.0.1:[0-9]* connected" "$LOG"
check "app logged the close with the byte count" grep -q "client 127.0.0.1:[0-9]* closed (peer closed), [0-9]* bytes echoed" "$LOG"

# three clients at once
for i in 1 2 3; do sclient "$WORK/p$i" "127.0.0.1:$PORT" & done
wait $(jobs -p | grep -v "^$APP_PID$") 2>/dev/null
ok=0
for i in 1 2 3; do grep -q '^zig-ping-' "$WORK/p$i" && ok=$((ok + 1)); done
check "three concurrent clients echoed ($ok/3)" test $ok -eq 3

# bulk: 10 MiB byte-exact, also through a slow reader (pending bytes are flushed before reading more)
CLIENT=${PORTAL_TOOLS:-}/tls_client
if [ -x "$CLIENT" ]; then
    timeout 120 "$CLIENT" echo 127.0.0.1 "$PORT" 10485760 > "$WORK/bulk" 2>&1
    check "10 MiB echoed byte-exact: $(cat "$WORK/bulk")" grep -q "byte-exact" "$WORK/bulk"
    timeout 120 "$CLIENT" echo 127.0.0.1 "$PORT" 10485760 300 > "$WORK/slow" 2>&1
    check "10 MiB echoed to a slow reader: $(cat "$WORK/slow")" grep -q "byte-exact" "$WORK/slow"
fi

# SIGTERM: ppShutdown closes everything, exit 0
kill -TERM "$APP_PID" 2>/dev/null
for _ in $(seq 50); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
kill -9 "$APP_PID" 2>/dev/null
wait "$APP_PID" 2>/dev/null
rc=$?
check "app exited 0 after SIGTERM (got $rc)" test $rc -eq 0
check "ppShutdown logged" grep -q "tls-echo-server-zig stopped" "$LOG"

# unknown argument: main fails -> nonzero exit
timeout 60 "$PORTAL_HOST" run "$APP" -- --bogus > /dev/null 2> "$WORK/bad.log"
rc=$?
check "unknown argument: app fails to start (exit $rc)" test $rc -ne 0
check "unknown argument is logged" grep -q "unknown argument --bogus" "$WORK/bad.log"

# the Zig SDK unit tests
timeout 120 "$PORTAL_HOST" run "$UNIT" > "$WORK/unit.out" 2> "$WORK/unit.err"
rc=$?
sed 's/^/     /' "$WORK/unit.out"
check "Zig SDK unit tests exit 0 (got $rc)" test $rc -eq 0
check "Zig SDK unit tests report no failure" grep -q "^zig-sdk: [0-9]* passed, 0 failed$" "$WORK/unit.out"
finish
