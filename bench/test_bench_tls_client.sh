#!/usr/bin/env bash
# test_bench_tls_client.sh - the client row measures only what it did: the wasm app
# (bench-tls-client) and bench_client with ca= each report exactly the handshakes asked for against
# openssl s_server, verified; a run that did less fails loudly (no server, a server that cannot
# resume asked to resume, a certificate that does not verify); bench/client.sh --quick then
# produces every figure of its section.
source "$(dirname "$0")/../tests/integration/lib.sh"
: "${PORTAL_BENCH:?}" "${PORTAL_CERTS:?}"
C=$PORTAL_BENCH/bench_client
APP=$PORTAL_APPS/bench-tls-client.wasm
CA=$PORTAL_CERTS/ca.pem
mkfifo "$WORK/s_server.in"
exec 7<> "$WORK/s_server.in" # held open: s_server never sees end of input
s_server() { # port cert key extra... : a TLS 1.2 one (as in client.sh) on loopback; waits until it listens
    openssl s_server -accept "$1" -cert "$PORTAL_CERTS/$2" -key "$PORTAL_CERTS/$3" -tls1_2 -quiet "${@:4}" \
        < "$WORK/s_server.in" > /dev/null 2> "$WORK/s_server.$1.log" &
    CLEANUP_PIDS+=($!)
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
ours() { # port args... : one app run; OUT = its stdout, ERR file = its stderr, RC = exit code
    OUT=$(timeout 120 "$PORTAL_HOST" run "$APP" -- --port "$@" 2> "$WORK/ours.err"); RC=$?
}
raw() { OUT=$(timeout 60 "$C" handshakes 127.0.0.1 "$@" 2> "$WORK/raw.err"); RC=$?; }
said() { # key=value... : the run exited 0 and its RESULT line holds every pair (word match)
    [ "$RC" -eq 0 ] || return 1
    for kv; do [[ " $OUT " == *" $kv "* ]] || return 1; done
}

FULL=$(free_port); s_server "$FULL" server-ec.pem server-ec.key -no_ticket
TICKETS=$(free_port); s_server "$TICKETS" server-ec.pem server-ec.key
NORESUME=$(free_port); s_server "$NORESUME" server-ec.pem server-ec.key -no_ticket -no_cache
UNTRUSTED=$(free_port); s_server "$UNTRUSTED" client-untrusted.pem client-untrusted.key
NONE=$(free_port) # nothing listens there

ours "$FULL" --count 5
check "ours: exactly 5 full handshakes, exit 0 ($OUT)" said mode=full handshakes=5 resumed=0
check "ours: names the cipher suite" eval '[[ $OUT == *" cipher=TLS-ECDHE-ECDSA-WITH-"* ]]'
ours "$TICKETS" --count 7 --resume
check "ours: exactly 7 handshakes, all resumed ($OUT)" said mode=resumed handshakes=7 resumed=7
ours "$NONE" --count 3
check "ours, no server: exit 1 (exit $RC), no RESULT line" test "$RC" -eq 1 -a -z "$OUT"
check "and says it did 0 of 3" grep -q "did 0 of 3" "$WORK/ours.err"
ours "$NORESUME" --count 3 --resume
check "ours, resume where the server keeps no session: exit 1 (exit $RC)" test "$RC" -eq 1 -a -z "$OUT"
check "and says only 0 of 3 resumed" grep -q "only 0 of 3 handshakes resumed" "$WORK/ours.err"
ours "$UNTRUSTED" --count 2
check "ours, certificate from another CA: exit 1 (exit $RC)" test "$RC" -eq 1 -a -z "$OUT"
check "and says why" grep -q "not trusted" "$WORK/ours.err"

raw "$FULL" 5 1 noecho "ca=$CA"
check "raw with ca=: exactly 5 verified full handshakes ($OUT)" said mode=full handshakes=5 resumed=0
raw "$TICKETS" 7 1 noecho resume "ca=$CA"
check "raw with ca=: exactly 7 resumed ($OUT)" said mode=resumed handshakes=7 resumed=7
raw "$UNTRUSTED" 2 1 noecho "ca=$CA"
check "raw with ca=, certificate from another CA: exit 1 (exit $RC)" test "$RC" -eq 1 -a -z "$OUT"
check "and says why" grep -q "not correctly signed by the trusted CA" "$WORK/raw.err"

# The whole row, quick: every figure present (a missing one is exit 1 and a "failed" cell).
B=$(dirname "$PORTAL_BENCH")
timeout 300 bash "$(dirname "$0")/client.sh" "$B" --quick > "$WORK/section.md" 2> "$WORK/client.log"
check "client.sh --quick: exit 0 (exit $?)" test $? -eq 0
check "its table has 4 rows with figures" test "$(grep -cE '^\| (ours|raw)[^|]*\| [^|]+ \| [0-9.]+ \| [0-9.]+ \|' "$WORK/section.md")" -eq 4
check "and no failed cell" eval '! grep -q failed "$WORK/section.md"'
finish
