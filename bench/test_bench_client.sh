#!/usr/bin/env bash
# test_bench_client.sh - the benchmark client measures only what it did and verified: a short run of
# every mode against the raw mbedTLS server and our app reports exactly the operations asked for
# (and the server's CPU when given its pid); a run fails loudly when it did less (no server, a
# server without session tickets asked to resume, a server whose "echo" is wrong: openssl s_server
# -rev reverses each line).
source "$(dirname "$0")/../tests/integration/lib.sh"
: "${PORTAL_BENCH:?}" "${PORTAL_CERTS:?}"
C=$PORTAL_BENCH/bench_client
EC="$PORTAL_CERTS/server-ec.pem $PORTAL_CERTS/server-ec.key"
run() { OUT=$(timeout 60 "$C" "$@"); RC=$?; } # one client run: its RESULT line and exit code
said() { # key=value... : the run exited 0 and its RESULT line holds every pair (word match)
    [ "$RC" -eq 0 ] || return 1
    for kv; do [[ " $OUT " == *" $kv "* ]] || return 1; done
}
modes() { # label port server-pid
    run handshakes 127.0.0.1 "$2" 5 2 server="$3"
    check "$1: exactly 5 full handshakes, exit 0 ($OUT)" said handshakes=5 resumed=0
    check "$1: the server's CPU is reported" eval '[[ $OUT == *" server_user="*" server_sys="* ]]'
    run handshakes 127.0.0.1 "$2" 7 2 resume
    check "$1: exactly 7 handshakes, all resumed ($OUT)" said handshakes=7 resumed=7
    run bulk 127.0.0.1 "$2" 2 3
    check "$1: bulk echoes exactly 3 x 2 MiB ($OUT)" said bytes=6291456 streams=3
    run rtt 127.0.0.1 "$2" 8 3
    check "$1: rtt measures exactly 8 x 3 round trips ($OUT)" said samples=24
    run idle 127.0.0.1 "$2" 4 0
    check "$1: idle holds exactly 4 sessions ($OUT)" said sessions=4
}
P1=$(free_port)
"$PORTAL_BENCH/mbedtls_echo_server" "$P1" $EC 2> "$WORK/raw.log" &
RAW=$!
CLEANUP_PIDS+=($RAW)
wait_for_log "$WORK/raw.log" "listening" 10
modes raw "$P1" "$RAW"
P2=$(free_port)
"$PORTAL_HOST" run "$PORTAL_APPS/tls-echo-server.wasm" -- --port "$P2" > /dev/null 2> "$WORK/ours.log" &
OURS=$!
CLEANUP_PIDS+=($OURS)
wait_for_log "$WORK/ours.log" "try: openssl" 120
modes ours "$P2" "$OURS"

# Less than asked is a failure, never a smaller figure.
P0=$(free_port) # nothing listens there
timeout 30 "$C" handshakes 127.0.0.1 "$P0" 3 1 > "$WORK/none.out" 2> "$WORK/none.err"
check "no server: exit 1 (exit $?), no RESULT line" test $? -eq 1 -a ! -s "$WORK/none.out"
check "and says it did 0 of 3" grep -q "did 0 of 3" "$WORK/none.err"
P4=$(free_port)
"$PORTAL_HOST" run "$PORTAL_APPS/tls-echo-server.wasm" -- --port "$P4" --no-tickets > /dev/null \
    2> "$WORK/notickets.log" &
CLEANUP_PIDS+=($!)
wait_for_log "$WORK/notickets.log" "try: openssl" 120
timeout 30 "$C" handshakes 127.0.0.1 "$P4" 3 1 resume > "$WORK/nt.out" 2> "$WORK/nt.err"
check "resume without tickets: exit 1 (exit $?)" test $? -eq 1
check "and says only 0 of 3 resumed" grep -q "only 0 of 3 handshakes resumed" "$WORK/nt.err"
P3=$(free_port)
mkfifo "$WORK/s_server.in"
exec 7<> "$WORK/s_server.in" # held open: s_server never sees end of input
openssl s_server -accept "$P3" -cert "$PORTAL_CERTS/server-ec.pem" -key "$PORTAL_CERTS/server-ec.key" \
    -rev -quiet < "$WORK/s_server.in" > /dev/null 2>&1 &
CLEANUP_PIDS+=($!)
sleep 1
timeout 30 "$C" handshakes 127.0.0.1 "$P3" 2 1 > "$WORK/rev.out" 2> "$WORK/rev.err"
check "a wrong echo fails the run (exit $?)" test $? -eq 1 -a ! -s "$WORK/rev.out"
check "and says so" grep -q "wrong echo" "$WORK/rev.err"
finish
