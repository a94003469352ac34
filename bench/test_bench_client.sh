#!/usr/bin/env bash
# test_bench_client.sh - the benchmark client measures only what it verified: a tiny run of every
# mode passes against the raw mbedTLS server and our app, and fails against a server whose "echo" is
# wrong (openssl s_server -rev reverses each line).
source "$(dirname "$0")/../tests/integration/lib.sh"
: "${PORTAL_BENCH:?}" "${PORTAL_CERTS:?}"
C=$PORTAL_BENCH/bench_client
EC="$PORTAL_CERTS/server-ec.pem $PORTAL_CERTS/server-ec.key"
tiny() { # label port
    local out; out=$(timeout 60 "$C" handshakes 127.0.0.1 "$2" 0.5 2); check "$1: handshakes ($out)" test $? -eq 0
    out=$(timeout 60 "$C" handshakes 127.0.0.1 "$2" 0.5 2 resume); check "$1: resumed" test $? -eq 0
    out=$(timeout 60 "$C" bulk 127.0.0.1 "$2" 2 2); check "$1: bulk ($out)" test $? -eq 0
    out=$(timeout 60 "$C" rtt 127.0.0.1 "$2" 8 3); check "$1: rtt ($out)" test $? -eq 0
}
P1=$(free_port)
"$PORTAL_BENCH/mbedtls_echo_server" "$P1" $EC 2> "$WORK/raw.log" &
CLEANUP_PIDS+=($!)
wait_for_log "$WORK/raw.log" "listening" 10
tiny raw "$P1"
P2=$(free_port)
"$PORTAL_HOST" run "$PORTAL_APPS/tls-echo-server.wasm" -- --port "$P2" > /dev/null 2> "$WORK/ours.log" &
CLEANUP_PIDS+=($!)
wait_for_log "$WORK/ours.log" "try: openssl" 120
tiny ours "$P2"
P3=$(free_port)
mkfifo "$WORK/s_server.in"
exec 7<> "$WORK/s_server.in" # held open: s_server never sees end of input
openssl s_server -accept "$P3" -cert "$PORTAL_CERTS/server-ec.pem" -key "$PORTAL_CERTS/server-ec.key" \
    -rev -quiet < "$WORK/s_server.in" > /dev/null 2>&1 &
CLEANUP_PIDS+=($!)
sleep 1
timeout 30 "$C" handshakes 127.0.0.1 "$P3" 0.5 1 > "$WORK/rev.out" 2> "$WORK/rev.err"
check "a wrong echo fails the run (exit $?)" test "$(cat "$WORK/rev.out")" = "" -a -s "$WORK/rev.err"
check "and says so" grep -q "wrong echo" "$WORK/rev.err"
finish
