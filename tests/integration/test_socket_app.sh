#!/usr/bin/env bash
# test_socket_app.sh - module portal_socket end to end: the sock_app test app under portal-host
# against native peers (tests/tools/sock_peer.c) on 127.0.0.1 and ::1: 10 MiB echo through a slow
# reader, accept/recv/send/connect timeouts 0 / 300 / -1 measured inside the app, EOF vs reset,
# refused, bind in use, handle misuse, the per-app socket limit, and teardown (portal-host's own
# descriptors after exitApp, a trap and SIGTERM; the port can be listened on again at once).
source "$(dirname "$0")/lib.sh"
: "${PORTAL_TOOLS:?}"
export PORTAL_CACHE_DIR
APP=$PORTAL_APPS/sock_app.wasm
PEER=$PORTAL_TOOLS/sock_peer
FDWATCH=$PORTAL_TOOLS/fdwatch
MiB10=10485760

host_of() { if [ "$1" = 6 ]; then echo ::1; else echo 127.0.0.1; fi; }
port() { timeout 10 "$PEER" freeport; } # free on both 127.0.0.1 and ::1
run_app() { # seconds args... (portal-host options, then -- and the app's arguments)
    local secs=$1; shift
    timeout "$secs" "$PORTAL_HOST" run "$APP" "$@"
}
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# app_checks_to_end FILE LABEL - lib.sh's app_checks, and END must follow.
app_checks_to_end() {
    app_checks "$1" "$2"
    check "$2: the app ran to its end" grep -qx END "$1"
}

# ---- warm-up: compile the app once (cached afterwards), check the feature bits ----
run_app 300 -- hello > "$WORK/hello.out" 2> "$WORK/hello.err"
rc=$?
check "sock_app starts (exit 0, rc $rc)" test $rc -eq 0
app_checks_to_end "$WORK/hello.out" "hello"
if [ $rc -ne 0 ]; then
    cat "$WORK/hello.err"
    finish
    exit 1
fi
if ! P=$(port) || [ -z "$P" ]; then
    fail "no port free on both 127.0.0.1 and ::1 (is IPv6 loopback up?)"
    finish
    exit 1
fi

# ---- 10 MiB echo through a slow reader ----
for fam in 4 6; do
    H=$(host_of $fam); P=$(port); L="IPv$fam echo"
    timeout 60 "$PORTAL_HOST" run "$APP" -- echo-server $fam "$P" > "$WORK/echo$fam.out" 2> "$WORK/echo$fam.err" &
    app=$!
    CLEANUP_PIDS+=("$app")
    if ! wait_for_log "$WORK/echo$fam.out" "echo: listening" 30; then
        fail "$L: app did not start listening"
        kill "$app" 2> /dev/null
        continue
    fi
    # the peer sends 10 MiB while reading the echo 8 KiB at a time with 1 ms pauses
    timeout 60 "$PEER" echo "$H" "$P" $MiB10 1000 "$WORK/sent" "$WORK/recv" > "$WORK/peer$fam.out" 2>&1
    prc=$?
    wait "$app"
    arc=$?
    check "$L: peer finished without error (rc $prc)" test $prc -eq 0
    check "$L: app exit 0 (rc $arc)" test $arc -eq 0
    check "$L: peer sent 10 MiB" test "$(stat -c %s "$WORK/sent")" -eq $MiB10
    check "$L: echo is byte-exact (cmp)" cmp -s "$WORK/sent" "$WORK/recv"
    s1=$(sha256sum < "$WORK/sent" | cut -c1-64); s2=$(sha256sum < "$WORK/recv" | cut -c1-64)
    check "$L: sha256 of sent and received equal (${s1:0:16}...)" test "$s1" = "$s2"
    app_checks_to_end "$WORK/echo$fam.out" "$L"
    echo "     $L: peer $(sed 's/^echo: //' "$WORK/peer$fam.out"); app $(sed -n 's/^echo: in/in/p' "$WORK/echo$fam.out")"
    rm -f "$WORK/sent" "$WORK/recv"
done

# ---- timeouts 0 / 300 / -1, EOF vs reset, refused (the peer is driven by the app) ----
for fam in 4 6; do
    H=$(host_of $fam); P=$(port); L="IPv$fam timeouts"
    timeout 60 "$PEER" control "$H" > "$WORK/ctl$fam.out" 2>&1 &
    peer=$!
    CLEANUP_PIDS+=("$peer")
    wait_for_log "$WORK/ctl$fam.out" "port " 10 || fail "$L: peer did not start"
    CTL=$(awk '/^port /{print $2; exit}' "$WORK/ctl$fam.out")
    run_app 60 -- timeouts $fam "$CTL" "$P" > "$WORK/to$fam.out" 2> "$WORK/to$fam.err"
    rc=$?
    kill "$peer" 2> /dev/null # it has quit already unless the app failed early
    wait "$peer"
    check "$L: app exit 0 (rc $rc)" test $rc -eq 0
    app_checks_to_end "$WORK/to$fam.out" "$L"
    echo "     $L measured in the app:"
    sed -n 's/^TIME \(.*\) \([0-9.]*\) ms$/       \2 ms  \1/p' "$WORK/to$fam.out"
done

# ---- misuse: domain/type, bad/stale handles, wrong socket kinds, addresses, bind in use ----
for fam in 4 6; do
    P=$(port)
    run_app 30 -- misuse $fam "$P" > "$WORK/mis$fam.out" 2> "$WORK/mis$fam.err"
    rc=$?
    check "IPv$fam misuse: app exit 0 (rc $rc)" test $rc -eq 0
    app_checks_to_end "$WORK/mis$fam.out" "IPv$fam misuse"
done

# ---- the per-app socket limit ----
P=$(port)
run_app 30 --max-sockets 4 -- limit 4 "$P" 4 > "$WORK/lim4.out" 2> "$WORK/lim4.err"
check "--max-sockets 4: app exit 0" test $? -eq 0
app_checks_to_end "$WORK/lim4.out" "IPv4 --max-sockets 4"
run_app 30 -- limit 6 "$P" 64 > "$WORK/lim64.out" 2> "$WORK/lim64.err"
check "default limit: app exit 0" test $? -eq 0
app_checks_to_end "$WORK/lim64.out" "IPv6 default limit 64"

# ---- teardown ----
# fdwatch (ptrace) counts portal-host's descriptors right after exec and at its exit stop, when
# everything still open is what portal-host itself did not close. LeakSanitizer cannot attach to
# a traced process, so leak checking is off for these runs (ASan still checks memory).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

P=$(port); C=$(port)
timeout 60 "$FDWATCH" "$WORK/fdw1" "$PORTAL_HOST" run "$APP" -- teardown "$P" "$C" > "$WORK/td.out" 2> "$WORK/td.err" &
td=$!
CLEANUP_PIDS+=("$td")
if ! wait_for_log "$WORK/td.out" "teardown: idle" 30; then
    fail "teardown: app did not start"
    cat "$WORK/td.err"
    finish
    exit 1
fi
pid=$(awk '/^pid /{print $2}' "$WORK/fdw1")
idle=$(fd_count "$pid")
timeout 5 "$PEER" poke 127.0.0.1 "$C"
wait_for_log "$WORK/td.out" "teardown: holding" 10
holding=$(fd_count "$pid")
n=$(sed -n 's/^teardown: holding \([0-9]*\)$/\1/p' "$WORK/td.out")
check "teardown: holding $n sockets raises portal-host's descriptors $idle -> $holding" \
    test -n "$n" -a "$holding" -eq $((idle + ${n:-0}))
timeout 5 "$PEER" poke 127.0.0.1 "$C"
wait_for_log "$WORK/td.out" "teardown: closed all" 10
closed=$(fd_count "$pid")
check "teardown: after sockClose of all, descriptors are back to $idle (got $closed)" \
    test "$closed" -eq "$idle"
timeout 5 "$PEER" poke 127.0.0.1 "$C"
wait_for_log "$WORK/td.out" "teardown: listening" 10
# two outside clients stay connected to the app's listeners until the app goes away
timeout 15 "$PEER" hold 127.0.0.1 "$P" 10 > "$WORK/hold4" 2>&1 &
h4=$!
timeout 15 "$PEER" hold ::1 "$P" 10 > "$WORK/hold6" 2>&1 &
h6=$!
wait "$td"
rc=$?
wait "$h4" "$h6"
check "teardown: exitApp while holding sockets: exit 0 (rc $rc)" test $rc -eq 0
check "teardown: the app exited holding sockets ($(grep -o 'holding [0-9]* sockets' "$WORK/td.out"))" \
    grep -q "teardown: exiting holding" "$WORK/td.out"
app_checks_to_end "$WORK/td.out" "teardown"
check_exit_fds "$WORK/fdw1" "teardown after exitApp"
check "teardown: the IPv4 client saw its connection end ($(tail -1 "$WORK/hold4"))" grep -q "hold: eof" "$WORK/hold4"
check "teardown: the IPv6 client saw its connection end ($(tail -1 "$WORK/hold6"))" grep -q "hold: eof" "$WORK/hold6"
tw=$(ss -tan 2>/dev/null | grep -c "TIME-WAIT.*:$P ")
run_app 20 -- rebind "$P" > "$WORK/rb.out" 2> "$WORK/rb.err"
rc=$?
check "teardown: a new run listens on the same port at once (exit 0; $tw TIME-WAIT connections on it)" test $rc -eq 0
app_checks_to_end "$WORK/rb.out" "rebind"

# a trap while holding sockets
P=$(port)
timeout 30 "$FDWATCH" "$WORK/fdw2" "$PORTAL_HOST" run "$APP" -- trap-holding "$P" > "$WORK/th.out" 2> "$WORK/th.err"
rc=$?
check "trap while holding sockets: exit 134 (rc $rc)" test $rc -eq 134
check "trap while holding sockets: trapped in the microtask" grep -q "app trapped in portalMicroTaskStep" "$WORK/th.err"
check "trap while holding sockets: it held them ($(grep -o 'holding [0-9]*' "$WORK/th.out"))" grep -q "trap-holding: holding 9" "$WORK/th.out"
check_exit_fds "$WORK/fdw2" "teardown after a trap"

# SIGTERM while holding sockets
P=$(port); C=$(port)
timeout 30 "$FDWATCH" "$WORK/fdw3" "$PORTAL_HOST" run "$APP" -- teardown "$P" "$C" > "$WORK/ts.out" 2> "$WORK/ts.err" &
ts=$!
CLEANUP_PIDS+=("$ts")
wait_for_log "$WORK/ts.out" "teardown: idle" 30
pid=$(awk '/^pid /{print $2}' "$WORK/fdw3")
timeout 5 "$PEER" poke 127.0.0.1 "$C"
wait_for_log "$WORK/ts.out" "teardown: holding" 10
kill -TERM "$pid"
wait "$ts"
rc=$?
check "SIGTERM while holding sockets: exit 0 (rc $rc)" test $rc -eq 0
check_exit_fds "$WORK/fdw3" "teardown after SIGTERM"

# SIGTERM while the app is blocked in a socket wait that only a client could end (sockAccept
# always waits): portal-host must still shut down promptly (--help: "SIGINT/SIGTERM call the
# app's ppShutdown export, then every socket ... is closed"), not only when the wait ends.
P=$(port)
"$PORTAL_HOST" run "$APP" -- wait-accept 4 "$P" > "$WORK/wa.out" 2> "$WORK/wa.err" &
wa=$!
CLEANUP_PIDS+=("$wa")
if wait_for_log "$WORK/wa.out" "wait-accept: waiting" 30; then
    sleep 0.2
    t0=$(now_ms)
    kill -TERM "$wa"
    for _ in $(seq 50); do kill -0 "$wa" 2> /dev/null || break; sleep 0.1; done
    if kill -0 "$wa" 2> /dev/null; then
        fail "SIGTERM during sockAccept(-1): portal-host still running 5 s later (no ppShutdown, no teardown)"
        # the host's escape hatch: a second signal exits at once with 128 + signal
        kill -TERM "$wa"
        for _ in $(seq 20); do kill -0 "$wa" 2> /dev/null || break; sleep 0.1; done
        kill -9 "$wa" 2> /dev/null
        wait "$wa"
        rc=$?
        check "... a second SIGTERM ends it at once (exit 143, got $rc)" test $rc -eq 143
    else
        wait "$wa"
        rc=$?
        check "SIGTERM during sockAccept(-1): portal-host ended after $(($(now_ms) - t0)) ms, exit 0 (rc $rc)" \
            test $rc -eq 0
    fi
else
    fail "wait-accept: app did not start"
fi

finish
