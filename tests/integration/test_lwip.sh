#!/usr/bin/env bash
# test_lwip.sh - the TLS echo app on a real lwIP stack: portal-host-lwip (the desktop runtime on
# host/platform/lwip.c and Debian's liblwip, cmake/lwip-host.cmake) attached to a TAP interface
# inside a network namespace this test creates, with openssl s_client and tests/tools/tls_client
# on the Linux side of the TAP in the same namespace. Traffic never leaves the namespace.
# lwIP is limited like ESP-IDF's default (10 sockets, PORTAL_LWIP_TEST_SOCKETS) and waits with
# select semantics (no HANGUP), so this covers: TLS echo verified with the build's CA; a client
# reset mid-handshake; clients up to the socket limit plus one that waits in the backlog and is
# served, not reset, once a socket frees (lwip_accept would have dropped it); SIGTERM ending the
# app at once although it sleeps in an lwIP wait; teardown closing every lwIP socket (the
# platform's own count, printed by portal-host-lwip at exit).
# Needs root, `ip netns` and /dev/net/tun; skips (with the reason in the summary) without them.
# Not run under valgrind (label no-valgrind): the valgrind wrapper is portal-host's; this test
# runs its own binary, natively in the normal pass and sanitized in the ASan build.
source "$(dirname "$0")/lib.sh"
: "${PORTAL_CERTS:?}" "${PORTAL_TOOLS:?}" "${PORTAL_BUILD:?}"
HOST_LWIP=$PORTAL_BUILD/portal-host-lwip
APP=$PORTAL_APPS/tls-echo-server.wasm
CLIENT=$PORTAL_TOOLS/tls_client
SOCKETS=10 # PORTAL_LWIP_TEST_SOCKETS (cmake/lwip-host.cmake)

skip() {
    echo "SKIP - $1"
    echo "0 passed, 0 failed, 1 skipped ($1)"
    exit 0
}
[ -x "$HOST_LWIP" ] || skip "portal-host-lwip not built (liblwip-dev missing)"
[ "$(id -u)" = 0 ] || skip "not root: cannot create a network namespace"
[ -c /dev/net/tun ] || skip "/dev/net/tun unavailable"
NS=portal-lwip-$$
TAP=plw$$
ip netns add "$NS" 2>/dev/null || skip "ip netns add failed (no network namespaces here)"
trap 'finish_cleanup; ip netns del "$NS" 2>/dev/null' EXIT
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
in_ns ip tuntap add dev "$TAP" mode tap 2>/dev/null || skip "cannot create a TAP device in a namespace"
in_ns ip addr add 10.77.0.1/24 dev "$TAP"
in_ns ip link set "$TAP" up
ADDR=10.77.0.2
PORT=8443
export PORTAL_CACHE_DIR

start_app() { # log extra-host-args...
    APP_LOG=$1; shift
    # Not through in_ns: a function in the background is a subshell, and SIGTERM must reach the
    # host itself (ip netns exec and env exec, so $! is portal-host-lwip).
    ip netns exec "$NS" env PORTAL_LWIP_TAP="$TAP" PORTAL_LWIP_ADDR=$ADDR "$HOST_LWIP" run "$@" "$APP" -- \
        --port $PORT > "$APP_LOG.out" 2> "$APP_LOG" &
    APP_PID=$!
    CLEANUP_PIDS+=("$APP_PID")
    wait_for_log "$APP_LOG" "try: openssl" 120 || { fail "app did not start"; cat "$APP_LOG"; }
}
stop_app() { # what
    local t0 took
    t0=$(now_ms)
    kill -TERM "$APP_PID" 2>/dev/null
    for _ in $(seq 150); do
        kill -0 "$APP_PID" 2>/dev/null || break
        sleep 0.1
    done
    took=$(($(now_ms) - t0))
    # The app sleeps in sockPoll on lwIP sockets, which no signal interrupts: only the wake-up
    # socket (lwip_host.c's bridge from the signal pipe) ends that wait at once. Without it the
    # wait would last until the pending handshakes' 10 s deadline.
    check "$1: the app ended promptly after SIGTERM (${took} ms < 5000)" test $took -lt 5000
    kill -9 "$APP_PID" 2>/dev/null
    wait "$APP_PID" 2>/dev/null
    local rc=$?
    check "$1: app exited 0 after SIGTERM (got $rc)" test $rc -eq 0
    check "$1: teardown left no lwIP socket open ($(grep -o 'teardown: [0-9]* lwIP sockets held' "$APP_LOG"))" \
        grep -q "teardown: 0 lwIP sockets held, budget $SOCKETS free" "$APP_LOG"
    [ $rc -eq 0 ] || { echo "---- app log tail"; tail -15 "$APP_LOG"; }
}
sclient() { # out
    (echo "ping-$RANDOM-line"; sleep 1) | in_ns timeout 10 openssl s_client -connect $ADDR:$PORT \
        -CAfile "$PORTAL_CERTS/ca.pem" -verify_return_error -no_ign_eof > "$1" 2>&1
}

LOG=$WORK/app.log
start_app "$LOG"

# --- TLS echo over lwIP, certificate verified with the build's CA ---
sclient "$WORK/s1"
check "s_client through lwIP: line echoed" grep -q '^ping-' "$WORK/s1"
check "s_client verified the server with the build's CA" grep -q "Verify return code: 0 (ok)" "$WORK/s1"
check "app logged the client from the TAP's Linux side" grep -q "client 10.77.0.1:[0-9]* connected (TLS" "$LOG"
# lwIP waits have select semantics (no HANGUP): the close is seen as a readable end of stream.
check "app saw the client's close (as a readable end of stream: no HANGUP on lwIP)" grep -q "closed (peer closed)" "$LOG"

# --- faults: resets mid-handshake, then a client that never speaks ---
for at in mid:1 recv:1 step:3; do
    in_ns timeout 20 "$CLIENT" rst-at $ADDR $PORT "$at" > "$WORK/rst" 2>&1
    rc=$?
    check "client reset at $at mid-handshake ($(head -1 "$WORK/rst"))" test $rc -eq 0
done
in_ns timeout 20 "$CLIENT" silent $ADDR $PORT 1 > /dev/null 2>&1
sclient "$WORK/s2"
check "echo still works after the resets" grep -q '^ping-' "$WORK/s2"

# --- up to the socket limit, plus one client waiting in the backlog ---
# Sockets held: 2 listeners (IPv4, IPv6) + the shutdown wake-up socket; the rest are clients.
# If a reset above had leaked its socket, these would not all fit.
CLIENTS=$((SOCKETS - 3))
enfile_before=$(grep -c "Too many open files in system" "$LOG")
in_ns timeout 120 "$CLIENT" load $ADDR $PORT $CLIENTS $CLIENTS 1 4 > "$WORK/load" 2>&1 &
LOAD=$!
CLEANUP_PIDS+=("$LOAD")
wait_for_log "$WORK/load" "open $CLIENTS sessions" 60
check "$CLIENTS sessions fill lwIP's $SOCKETS sockets" contains "$WORK/load" "open $CLIENTS sessions"
t0=$(now_ms)
in_ns timeout 60 "$CLIENT" timed $ADDR $PORT 40000 > "$WORK/waiting" 2>&1 &
WAITING=$!
CLEANUP_PIDS+=("$WAITING")
sleep 2
check "the extra client is still waiting while every socket is in use" kill -0 $WAITING
wait $LOAD
check "the $CLIENTS sessions echoed and closed ($(tail -1 "$WORK/load"))" test $? -eq 0
wait $WAITING
rc=$?
check "the waiting client was served once sockets freed, not reset ($(tail -1 "$WORK/waiting"))" \
    test $rc -eq 0
waited_ms=$(($(now_ms) - t0))
check "it waited for the load to end (${waited_ms} ms >= 3000)" test $waited_ms -ge 3000
enfile_after=$(grep -c "Too many open files in system" "$LOG")
# sockPoll does not call the listener ready while no socket can be had, so the app is not woken
# to try accepts that fail (one per 100 ms pause otherwise: ~40 over these 4 s). The app's own
# accept loop, which goes on after its last success until "no client", may meet the limit once.
check "sockPoll did not wake the app for accepts that could not succeed ($((enfile_after - enfile_before)) refused)" \
    test $((enfile_after - enfile_before)) -le 2
sclient "$WORK/s3"
check "echo after the limit was reached" grep -q '^ping-' "$WORK/s3"

# --- teardown with clients still connected ---
ip netns exec "$NS" timeout 60 "$CLIENT" silent-many $ADDR $PORT 4 30 > "$WORK/held" 2>&1 &
HELD=$!
CLEANUP_PIDS+=("$HELD")
wait_for_log "$WORK/held" "open 4" 30
check "4 idle connections open before shutdown" contains "$WORK/held" "open 4"
stop_app "shutdown with 4 clients connected"
kill -TERM $HELD 2>/dev/null
wait $HELD 2>/dev/null

finish
