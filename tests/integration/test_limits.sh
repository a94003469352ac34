#!/usr/bin/env bash
# test_limits.sh - resource exhaustion and teardown end to end, from a real wasm app
# (tests/apps/limits_app) under portal-host, driven by tls_client / sock_peer on 127.0.0.1:
#  A. per-app limits with small flags (8 sockets, 2 configs, 3 sessions, 2 pending handshakes):
#     the exact error code and lastErrorMessage at each limit, the same operation succeeding again
#     after a close, several cycles, portal-host's descriptor count back to its start after each;
#     stalled clients (silent or dribbling, each from its own loopback address so that neither
#     holds more than its share of the queue) filling the handshake queue while a real client
#     waits in the backlog until eviction (or, in a second run, the handshake deadline) frees a
#     slot.
#  A'. the OS descriptor limit (`ulimit -n`): EMFILE from sockSocket / accept / tlsAccept as -2
#     with the errno text, no crash, a poll-driven accept loop that does not spin, recovery.
#  B. an app that traps (in a microtask, and inside an import), exits or gets SIGTERM while holding
#     plain sockets, listeners, two configs, three sessions with data in flight both ways and three
#     pending handshakes: exit status, descriptors at exit = at start (fdwatch), and the heap
#     portal-host -v reports before the app's first host call and after teardown.
source "$(dirname "$0")/lib.sh"
: "${PORTAL_TOOLS:?}"
export PORTAL_CACHE_DIR
APP=$PORTAL_APPS/limits_app.wasm
PEER=$PORTAL_TOOLS/sock_peer
CLIENT=$PORTAL_TOOLS/tls_client
FDWATCH=$PORTAL_TOOLS/fdwatch
PORTAL_VALGRIND=${PORTAL_VALGRIND:-0}
# Every time bound (here and in the app) is multiplied by SCALE; valgrind runs ~20x slower.
SCALE=1
[ "$PORTAL_VALGRIND" = 1 ] && SCALE=10
valgrind_note "time bounds x$SCALE"
# Heap left behind by teardown that still counts as clean, in bytes. With glibc's per-thread
# cache off a correct teardown leaves exactly 0. portal-host -v turns the cache off itself (it runs
# itself again with GLIBC_TUNABLES); HEAP_ENV sets it from the start so that fdwatch (ptrace)
# watches a single exec. Measured with teardown
# broken on purpose: 3 sessions not closed 115,712 bytes, 2 configs not freed 12,784, the records
# of 7 sockets not freed (descriptors closed) 336.
HEAP_TOLERANCE=0
HEAP_ENV=GLIBC_TUNABLES=glibc.malloc.tcache_count=0
CYCLES=3

port() { timeout 10 "$PEER" freeport; }
fd_count() { ls "/proc/$1/fd" 2> /dev/null | wc -l; }
poke() { timeout 5 "$PEER" poke 127.0.0.1 "$1"; }
alive() { kill -0 "$1" 2> /dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2> /dev/null)" != Z ]; }
# at_sync FILE LABEL PID - waits until the app printed "SYNC LABEL" (it then waits for a poke);
# gives up at once when PID (portal-host, or fdwatch running it) has ended.
at_sync() {
    local deadline=$((SECONDS + 30 * SCALE))
    while :; do
        grep -qF -- "SYNC $2" "$1" 2> /dev/null && return 0
        if ! alive "$3"; then
            grep -qF -- "SYNC $2" "$1" 2> /dev/null && return 0
            fail "the app ended before '$2'"
            return 1
        fi
        if [ $SECONDS -ge $deadline ]; then
            fail "the app did not reach '$2' within $((30 * SCALE)) s"
            return 1
        fi
        sleep 0.05
    done
}
# Client-side connections to PORT that are established (the server side may still be queued).
established() { ss -Htn state established "( dport = :$1 )" 2> /dev/null | wc -l; }
wait_established() { # port count seconds
    local deadline=$((SECONDS + $3))
    if ! command -v ss > /dev/null; then
        sleep 1 # no way to look: give the clients time to connect
        return 0
    fi
    while [ "$(established "$1")" -lt "$2" ]; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.05
    done
}
# wait_exit PID SECONDS - the exit status of a background job, killed (137) after SECONDS.
wait_exit() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [ "$(awk '{print $3}' "/proc/$1/stat" 2> /dev/null)" = Z ] && break
        kill -0 "$1" 2> /dev/null || break
        sleep 0.1
    done
    kill -9 "$1" 2> /dev/null
    wait "$1"
}
# wait_fds PID COUNT SECONDS - until the process has COUNT descriptors; prints the last count.
wait_fds() {
    local deadline=$((SECONDS + $3)) n
    while :; do
        n=$(fd_count "$1")
        [ "$n" = "$2" ] || [ $SECONDS -ge $deadline ] && break
        sleep 0.05
    done
    echo "$n"
}
CLIENTS=()
# The peer is not under test: no LeakSanitizer pass at its exit in the ASan build (a SIGTERM from
# stop_clients during that pass deadlocks LSan's stop-the-world tracer), and -k backs the SIGTERM.
start_client() { # out args... (a tls_client in the background, bounded; $SOURCE = its address)
    local out=$1; shift
    timeout -k 5 $((60 * SCALE)) env ASAN_OPTIONS=detect_leaks=0 TLS_CLIENT_SOURCE="${SOURCE:-}" \
        "$CLIENT" "$@" > "$out" 2>&1 &
    CLIENT_PID=$!
    CLIENTS+=("$CLIENT_PID")
    CLEANUP_PIDS+=("$CLIENT_PID")
}
stop_clients() {
    local p
    for p in "${CLIENTS[@]:-}"; do [ -n "$p" ] && kill "$p" 2> /dev/null; done
    for p in "${CLIENTS[@]:-}"; do [ -n "$p" ] && wait "$p" 2> /dev/null; done
    CLIENTS=()
}

# ---- warm-up: compile the app once (cached afterwards) ----
timeout $((300 * SCALE)) "$PORTAL_HOST" run "$APP" -- hello > "$WORK/hello.out" 2> "$WORK/hello.err"
rc=$?
check "limits_app starts (exit 0, rc $rc)" test $rc -eq 0
app_checks "$WORK/hello.out" "hello"
if [ $rc -ne 0 ]; then
    cat "$WORK/hello.err"
    finish
    exit 1
fi

# ==== A. per-app limits ====
CTL=$(port); P=$(port)
"$PORTAL_HOST" run "$APP" --max-sockets 8 --max-tls-configs 2 --max-tls-sessions 3 \
    --max-pending-handshakes 2 -- limits "$CTL" "$P" sockets,configs,sessions,pending 8 2 3 2 \
    $CYCLES $SCALE > "$WORK/lim.out" 2> "$WORK/lim.err" &
app=$!
CLEANUP_PIDS+=("$app")
if at_sync "$WORK/lim.out" "limits: start" "$app"; then
    base=$(fd_count "$app")
    poke "$CTL"
    for c in $(seq $CYCLES); do
        at_sync "$WORK/lim.out" "sockets cycle $c: all closed" "$app" || break
        n=$(fd_count "$app")
        check "sockets cycle $c: descriptors back to the start ($n vs $base)" test "$n" -eq "$base"
        poke "$CTL"
    done
    if at_sync "$WORK/lim.out" "configs: $CYCLES cycles done" "$app"; then
        n=$(fd_count "$app")
        check "configs: descriptors unchanged ($n vs $base)" test "$n" -eq "$base"
        poke "$CTL"
    fi
    # 4 sessions for a limit of 3: the 4th waits in the backlog until the app closes one; the
    # first 2 echo 2 rounds. This phase and the next keep one listener open (lbase).
    lbase=$((base + 1))
    for c in $(seq $CYCLES); do
        at_sync "$WORK/lim.out" "sessions cycle $c: start the client" "$app" || break
        start_client "$WORK/sess$c.out" load 127.0.0.1 "$P" 4 2 2 0
        cl=$CLIENT_PID
        poke "$CTL"
        at_sync "$WORK/lim.out" "sessions cycle $c: all closed" "$app" || break
        wait "$cl"
        crc=$?
        check "sessions cycle $c: the client's 4 sessions and 2 echo rounds worked (rc $crc)" \
            test $crc -eq 0
        [ $crc -eq 0 ] || cat "$WORK/sess$c.out"
        n=$(fd_count "$app")
        check "sessions cycle $c: descriptors back to the start + the listener ($n vs $lbase)" \
            test "$n" -eq "$lbase"
        poke "$CTL"
    done
    # 2 stalled clients fill the queue of 2; a real client waits until one is evicted. Cycle 1:
    # clients that send nothing (evictable after 250 ms); then clients that send a ClientHello
    # byte a second (no handshake step: evictable after 500 ms). They come from 127.0.0.2 and
    # 127.0.0.3: a real client at the address of a stalled one would replace it at once (each
    # address's share of a queue of 2 is 1).
    for c in $(seq $CYCLES); do
        at_sync "$WORK/lim.out" "pending cycle $c: start 2 stalled clients" "$app" || break
        kind=$([ "$c" = 1 ] && echo silent || echo dribble)
        SOURCE=127.0.0.2 start_client "$WORK/stalled$c.a" $kind 127.0.0.1 "$P" $((30 * SCALE))
        SOURCE=127.0.0.3 start_client "$WORK/stalled$c.b" $kind 127.0.0.1 "$P" $((30 * SCALE))
        wait_established "$P" 2 10 || fail "pending cycle $c: the stalled clients did not connect"
        poke "$CTL"
        at_sync "$WORK/lim.out" "pending cycle $c: queue full, start a real client" "$app" || break
        n=$(fd_count "$app")
        check "pending cycle $c: the 2 stalled ($kind) handshakes hold 2 descriptors ($n vs $lbase + 2)" \
            test "$n" -eq $((lbase + 2))
        start_client "$WORK/real$c.out" many 127.0.0.1 "$P" 1
        cl=$CLIENT_PID
        poke "$CTL"
        at_sync "$WORK/lim.out" "pending cycle $c: served" "$app" || break
        wait "$cl"
        crc=$?
        check "pending cycle $c: the real client was served (rc $crc)" test $crc -eq 0
        # the stalled client that was not evicted leaves: its handshake is dropped at once
        stop_clients
        n=$(wait_fds "$app" "$lbase" $((5 * SCALE)))
        check "pending cycle $c: the stalled clients left, descriptors back to start + listener ($n vs $lbase)" \
            test "$n" -eq "$lbase"
        poke "$CTL"
    done
    if at_sync "$WORK/lim.out" "limits: end" "$app"; then
        n=$(fd_count "$app")
        check "limits: descriptors at the end = at the start ($n vs $base)" test "$n" -eq "$base"
        poke "$CTL"
    fi
fi
wait_exit "$app" $((30 * SCALE))
rc=$?
check "limits: app exit 0 (rc $rc)" test "$rc" -eq 0
app_checks "$WORK/lim.out" "limits"
check "limits: the app ran to its end" grep -qx END "$WORK/lim.out"
ev=$(grep -c "handshake queue full (2); dropping stalled handshake" "$WORK/lim.err")
check "pending: one stalled handshake evicted per cycle ($ev of $CYCLES), logged" test "$ev" -eq $CYCLES
sed -n 's/^PENDING served \([0-9]*\) ms.*/\1/p' "$WORK/lim.out" > "$WORK/served"
# ms from filling the queue to serving the real client: at least the time after which a stalled
# handshake may be evicted (cycle 1 silent: 250 ms, then dribbling: 500 ms without a handshake
# step), at most a bit more
served_ok() {
    awk -v n=$CYCLES -v hi=$((500 + 2000 * SCALE)) \
        '$1 < (NR == 1 ? 245 : 490) || $1 > hi {bad=1} END{exit bad || NR != n}' "$WORK/served"
}
check "pending: each real client was served only once a stalled handshake could be evicted ($(tr '\n' ' ' < "$WORK/served")ms after the queue filled)" \
    served_ok
[ "$rc" -eq 0 ] || tail -20 "$WORK/lim.err"
stop_clients

# ==== A. pending handshakes with a short deadline: the deadline frees the slots ====
deadline_run() {
    CTL=$(port); P=$(port)
    "$PORTAL_HOST" run "$APP" --max-pending-handshakes 2 --handshake-deadline-ms 400 \
        -- limits "$CTL" "$P" pending 64 4 64 2 2 $SCALE > "$WORK/dl.out" 2> "$WORK/dl.err" &
    app=$!
    CLEANUP_PIDS+=("$app")
    if at_sync "$WORK/dl.out" "limits: start" "$app"; then
        base=$(fd_count "$app")
        poke "$CTL"
        for c in 1 2; do
            # clients that dribble (a silent one may be evicted after 250 ms, and one without a
            # handshake step after 500 ms: the 400 ms deadline comes first), from addresses of
            # their own (see the pending cycles above)
            at_sync "$WORK/dl.out" "pending cycle $c: start 2 stalled clients" "$app" || break
            SOURCE=127.0.0.2 start_client "$WORK/dstalled$c.a" dribble 127.0.0.1 "$P" $((30 * SCALE))
            SOURCE=127.0.0.3 start_client "$WORK/dstalled$c.b" dribble 127.0.0.1 "$P" $((30 * SCALE))
            wait_established "$P" 2 10 || fail "deadline cycle $c: the stalled clients did not connect"
            poke "$CTL"
            at_sync "$WORK/dl.out" "pending cycle $c: queue full, start a real client" "$app" || break
            start_client "$WORK/dreal$c.out" many 127.0.0.1 "$P" 1
            cl=$CLIENT_PID
            poke "$CTL"
            at_sync "$WORK/dl.out" "pending cycle $c: served" "$app" || break
            wait "$cl"
            crc=$?
            check "deadline cycle $c: the real client was served (rc $crc)" test $crc -eq 0
            stop_clients
            n=$(fd_count "$app")
            check "deadline cycle $c: both stalled handshakes gone, descriptors back to start + listener ($n vs $((base + 1)))" \
                test "$n" -eq $((base + 1))
            poke "$CTL"
        done
        if at_sync "$WORK/dl.out" "limits: end" "$app"; then
            n=$(fd_count "$app")
            check "deadline: descriptors at the end = at the start ($n vs $base)" test "$n" -eq "$base"
            poke "$CTL"
        fi
    fi
    wait_exit "$app" $((30 * SCALE))
    rc=$?
    check "deadline: app exit 0 (rc $rc)" test "$rc" -eq 0
    app_checks "$WORK/dl.out" "deadline"
    dl=$(grep -c "TLS handshake with .* failed: not finished within 400 ms" "$WORK/dl.err")
    check "deadline: every stalled handshake hit the 400 ms deadline, logged ($dl of 4)" test "$dl" -eq 4
    sed -n 's/^PENDING served \([0-9]*\) ms.*/\1/p' "$WORK/dl.out" > "$WORK/served"
    check "deadline: each real client was served only once the deadline passed (>= 400 ms after the queue filled: $(tr '\n' ' ' < "$WORK/served")ms)" \
        awk -v hi=$((400 + 2000 * SCALE)) '$1 < 390 || $1 > hi {bad=1} END{exit bad || NR != 2}' "$WORK/served"
    [ "$rc" -eq 0 ] || tail -20 "$WORK/dl.err"
}
if [ "$PORTAL_VALGRIND" = 1 ]; then
    # the deadline must stay below the 500 ms stall time to be what frees the slots, and under
    # valgrind the real client's own handshake can take longer than that
    valgrind_note "the 400 ms handshake-deadline run is skipped (a handshake alone may take longer)"
else
    deadline_run
fi

# ==== A'. the process runs out of descriptors (ulimit -n) ====
emfile_run() {
    NOFILE=64
    CTL=$(port); P=$(port); P2=$(port)
    # `ulimit -n` sets the hard limit too, so portal-host cannot raise it again.
    (ulimit -n $NOFILE && exec "$PORTAL_HOST" run "$APP" --max-sockets 1024 \
        -- emfile "$CTL" "$P" "$P2" $CYCLES 1500 $SCALE) > "$WORK/mf.out" 2> "$WORK/mf.err" &
    app=$!
    CLEANUP_PIDS+=("$app")
    if at_sync "$WORK/mf.out" "emfile: start" "$app"; then
        base=$(fd_count "$app")
        echo "     emfile: portal-host runs with ulimit -n $NOFILE, $base descriptors at the start"
        poke "$CTL"
        for c in $(seq $CYCLES); do
            at_sync "$WORK/mf.out" "emfile cycle $c: start a TLS client" "$app" || break
            start_client "$WORK/mfc$c.out" load 127.0.0.1 "$P" 1 1 3 0
            cl=$CLIENT_PID
            poke "$CTL"
            at_sync "$WORK/mf.out" "emfile cycle $c: all closed" "$app" || break
            wait "$cl"
            crc=$?
            check "emfile cycle $c: the client that waited through EMFILE got its 3 echoes (rc $crc)" \
                test $crc -eq 0
            [ $crc -eq 0 ] || cat "$WORK/mfc$c.out"
            n=$(fd_count "$app")
            check "emfile cycle $c: descriptors back to the start ($n vs $base)" test "$n" -eq "$base"
            poke "$CTL"
        done
        if at_sync "$WORK/mf.out" "emfile: end" "$app"; then
            n=$(fd_count "$app")
            check "emfile: at the end only the 2 listeners fewer than at the start ($n vs $base - 2)" \
                test "$n" -eq $((base - 2))
            poke "$CTL"
        fi
    fi
    wait_exit "$app" $((30 * SCALE))
    rc=$?
    check "emfile: app exit 0, no crash (rc $rc)" test "$rc" -eq 0
    app_checks "$WORK/mf.out" "emfile"
    check "emfile: the app ran to its end" grep -qx END "$WORK/mf.out"
    grep "^SPIN" "$WORK/mf.out" | sed 's/^/     emfile: /'
    [ "$rc" -eq 0 ] || tail -20 "$WORK/mf.err"
    stop_clients
}
if [ "$PORTAL_VALGRIND" = 1 ]; then
    # valgrind keeps descriptors of its own above the app's limit: the kernel's accept succeeds
    # there and valgrind closes the new descriptor and reports EMFILE, so the queued client is
    # dropped - a real kernel leaves it queued, which is what this run checks
    valgrind_note "the ulimit -n run is skipped (valgrind's descriptor reserve changes what accept does at the limit)"
else
    emfile_run
fi

# ==== B. teardown while holding everything ====
# fdwatch (ptrace) counts portal-host's descriptors right after exec and at its exit stop.
# LeakSanitizer cannot run in a traced process: off for these runs, and one more run of the trap
# case below without fdwatch lets it check the sanitized build.
# check_heap ERRFILE LABEL - the -v teardown line: what teardown left behind <= HEAP_TOLERANCE.
check_heap() {
    local line left
    if [ "${PORTAL_SANITIZED:-0}" = 1 ] || [ "$PORTAL_VALGRIND" = 1 ]; then
        local who="valgrind's leak check (check-logs.sh)"
        [ "$PORTAL_VALGRIND" = 1 ] || who="LeakSanitizer's (one more run below)"
        echo "     $2: heap numbers not checked: $(sed -n 's/^portal-host: teardown: //p' "$1" |
            grep . || echo "malloc is replaced in this build") - leaks are $who job here"
        return
    fi
    line=$(grep "^portal-host: teardown: heap in use" "$1")
    left=$(sed -n 's/.*: \(-\{0,1\}[0-9]*\) bytes left behind$/\1/p' <<< "$line")
    echo "     $2: ${line#portal-host: }"
    check "$2: teardown left ${left:-?} bytes of heap behind (tolerance $HEAP_TOLERANCE)" \
        test -n "$left" -a "${left:-1}" -le $HEAP_TOLERANCE
}

# run_hold ACTION LABEL WANT_RC [fdwatch|lsan]
run_hold() {
    local action=$1 label=$2 want=$3 how=${4:-fdwatch}
    local out=$WORK/hold-$action-$how
    local ctl p p2 pid fw rc base n
    ctl=$(port); p=$(port); p2=$(port)
    if [ "$how" = fdwatch ]; then
        env $HEAP_ENV ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
            "$FDWATCH" "$out.fdw" "$PORTAL_HOST" run "$APP" -v --max-pending-handshakes 4 \
            -- hold "$ctl" "$p" "$p2" "$action" $SCALE > "$out.out" 2> "$out.err" &
        fw=$!
    else
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1" \
            "$PORTAL_HOST" run "$APP" --max-pending-handshakes 4 \
            -- hold "$ctl" "$p" "$p2" "$action" $SCALE > "$out.out" 2> "$out.err" &
        fw=$!
    fi
    CLEANUP_PIDS+=("$fw")
    if at_sync "$out.out" "hold: start" "$fw"; then
        pid=$fw
        [ "$how" = fdwatch ] && pid=$(awk '/^pid /{print $2}' "$out.fdw")
        base=$(fd_count "$pid")
        poke "$ctl"
        at_sync "$out.out" "hold: start the idle clients" "$fw" &&
            start_client "$out.idle" load 127.0.0.1 "$p" 2 2 1 $((30 * SCALE)) && poke "$ctl"
        at_sync "$out.out" "hold: start the sending client" "$fw" &&
            start_client "$out.send" echo 127.0.0.1 "$p" 4194304 && poke "$ctl"
        if at_sync "$out.out" "hold: start the handshaking clients" "$fw"; then
            start_client "$out.silent" silent 127.0.0.1 "$p" $((30 * SCALE))
            start_client "$out.dribble" dribble 127.0.0.1 "$p" $((30 * SCALE))
            start_client "$out.many" many 127.0.0.1 "$p" 1
            wait_established "$p" 6 10 || fail "$label: the handshaking clients did not connect"
            poke "$ctl"
        fi
        if at_sync "$out.out" "hold: holding" "$fw"; then
            n=$(fd_count "$pid")
            # 6 more plain sockets + 3 sessions + 3 pending handshakes since the start
            check "$label: holding raised portal-host's descriptors by 12 ($base -> $n)" \
                test "$n" -eq $((base + 12))
            poke "$ctl"
            if [ "$action" = wait ]; then
                wait_for_log "$out.out" "END" 10
                kill -TERM "$pid"
            fi
        fi
    fi
    wait_exit "$fw" $((30 * SCALE))
    rc=$?
    stop_clients
    check "$label: exit $want (rc $rc)" test "$rc" -eq "$want"
    app_checks "$out.out" "$label"
    check "$label: it held everything ($(grep -o 'holding 7 sockets.*' "$out.out"))" \
        grep -Eq "hold: holding 7 sockets, (3 sessions, 2 configs, 3 pending|4 sessions, 2 configs, 2 pending)" "$out.out"
    if [ "$how" = fdwatch ]; then
        check_exit_fds "$out.fdw" "$label"
        check_heap "$out.err" "$label"
    else
        check "$label: LeakSanitizer found nothing" not_in "$out.err" "LeakSanitizer"
    fi
    [ "$rc" -eq "$want" ] || tail -20 "$out.err"
    HOLD_ERR=$out.err
}
not_in() { ! grep -q -- "$2" "$1"; }

run_hold trap "trap while holding" 134
check "trap while holding: trapped in the microtask" \
    grep -q "app trapped in portalMicroTaskStep: unreachable executed" "$HOLD_ERR"
run_hold trap-in-call "trap inside tlsRecv while holding" 134
check "trap inside tlsRecv while holding: the host's range check trapped" \
    grep -q "app trapped in portalMicroTaskStep: out of bounds memory access: portal_socket_tls.tlsRecv argument buf" "$HOLD_ERR"
run_hold exit "exitApp while holding" 0
run_hold wait "SIGTERM while holding" 0
check "SIGTERM while holding: ppShutdown ran" grep -q "hold: ppShutdown" "$WORK/hold-wait-fdwatch.out"
if [ "${PORTAL_SANITIZED:-0}" = 1 ]; then
    run_hold trap "trap while holding (LeakSanitizer, no fdwatch)" 134 lsan
fi

finish
