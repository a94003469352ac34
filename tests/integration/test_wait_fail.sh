#!/usr/bin/env bash
# test_wait_fail.sh - waits whose poll(2) fails for good must end with an error, never spin. The
# failure is real: poll returns EINVAL when it is given more descriptors than RLIMIT_NOFILE, so
# sockPoll runs under `ulimit -n 64` with 200 entries (all naming one listener), and the other
# waits get their limit lowered with prlimit while the app runs (below the 1-2 descriptors they
# watch): the run loop's sleep between microtasks, delayMs, WASI poll_oneoff, and tlsAccept
# waiting for a pending handshake. Before the fix each of these looped on the failing poll at
# ~100% CPU (sockPoll and tlsAccept until their timeout, the others forever).
source "$(dirname "$0")/lib.sh"
: "${PORTAL_TOOLS:?}"
export PORTAL_CACHE_DIR
APP=$PORTAL_APPS/wait_fail.wasm
CLIENT=$PORTAL_TOOLS/tls_client
EINVAL_TEXT="poll failed: Invalid argument"
# A crash or sanitizer report in the host: signals, ASan/UBSan/LSan, glibc aborts.
host_clean() { ! grep -qE "Sanitizer|runtime error:|Segmentation|core dumped|Aborted|stack smashing|double free|corrupted" "$1"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; } # utime + stime
TICK_HZ=$(getconf CLK_TCK)
# RESULT line of an app run: "RESULT <rc> <ms> <message>"
result_field() { awk -v f="$2" '/^RESULT /{ if (f == "msg") { $1 = $2 = $3 = ""; sub(/^ +/, ""); print } else print $f; exit }' "$1"; }

# the first run translates and compiles the app (seconds; more under valgrind): keep it out of
# the timed runs
timeout 300 "$PORTAL_HOST" run "$APP" -- sockpoll 1 0 > /dev/null 2>&1

# ---- sockPoll with more entries than RLIMIT_NOFILE ----
(ulimit -n 64 && exec timeout 60 "$PORTAL_HOST" run "$APP" -- sockpoll 200 5000) \
    > "$WORK/sp.out" 2> "$WORK/sp.err"
rc=$?
sp_rc=$(result_field "$WORK/sp.out" 2); sp_ms=$(result_field "$WORK/sp.out" 3)
sp_msg=$(result_field "$WORK/sp.out" msg)
check "sockPoll, 200 entries, ulimit -n 64: -2 'sockPoll: $EINVAL_TEXT' (got ${sp_rc:-none} '$sp_msg')" \
    test "$sp_rc" = -2 -a "$sp_msg" = "sockPoll: $EINVAL_TEXT"
# it returns at once; before the fix it spun on poll until its 5000 ms timeout, then returned 0
check "sockPoll returned at once instead of spinning to its 5000 ms timeout (${sp_ms:-?} ms)" \
    test -n "$sp_ms" -a "${sp_ms:-9999}" -lt 1000
check "sockPoll case: app exit 0 (rc $rc)" test $rc -eq 0
check "sockPoll case: host clean (no crash or sanitizer report)" host_clean "$WORK/sp.err"
# the same call with fewer entries than the limit works and waits its timeout
(ulimit -n 64 && exec timeout 60 "$PORTAL_HOST" run "$APP" -- sockpoll 40 300) \
    > "$WORK/sp40.out" 2> "$WORK/sp40.err"
sp_rc=$(result_field "$WORK/sp40.out" 2); sp_ms=$(result_field "$WORK/sp40.out" 3)
check "control: 40 entries under the same limit wait their 300 ms and return 0 (${sp_rc:-none} after ${sp_ms:-?} ms)" \
    test "$sp_rc" = 0 -a "${sp_ms:-0}" -ge 300

# ---- waits whose limit is lowered while the app runs ----
# drop_limit MODE NOFILE WANT_RC [APP ARGS...] - runs the app, waits for READY, lowers the soft
# RLIMIT_NOFILE to NOFILE, then waits (bounded) for the app to end; reports the CPU time portal-host
# used from the drop to its last sample before exiting. Sets DROP_RC (exit code, 124 when it had to
# be killed) and DROP_OUT / DROP_ERR (files).
valgrind_scale END_BOUND_S 10 60 "s for the app to end after the limit drop"
# LeakSanitizer opens /proc/PID/task at exit, which a limit of 0 or 1 refuses ("LeakSanitizer has
# encountered a fatal error", exit 1): in the sanitized build these runs go without it (ASan and
# UBSan stay on); the valgrind pass checks the same runs for leaks.
DROP_ASAN_OPTIONS=${ASAN_OPTIONS:-}
if [ "${PORTAL_SANITIZED:-0}" = 1 ]; then
    DROP_ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
    echo "     sanitized build: LeakSanitizer off for the runs with a lowered limit (it cannot open /proc at exit); valgrind's pass checks them for leaks"
fi
drop_limit() {
    local mode=$1 nofile=$2; shift 2
    DROP_OUT=$WORK/$mode.out DROP_ERR=$WORK/$mode.err
    ASAN_OPTIONS=$DROP_ASAN_OPTIONS "$PORTAL_HOST" run "$APP" -- "$mode" "$@" > "$DROP_OUT" 2> "$DROP_ERR" &
    local pid=$! helpers=()
    CLEANUP_PIDS+=("$pid")
    if ! wait_for_log "$DROP_OUT" READY 120; then
        fail "$mode: app did not start"; kill -9 "$pid"; wait "$pid"; DROP_RC=124; return
    fi
    if [ "$mode" = tlsaccept ]; then
        # one silent client in the handshake queue: tlsAccept then waits on its socket too
        timeout 60 "$CLIENT" silent 127.0.0.1 "$1" 40 > /dev/null 2>&1 &
        helpers+=("$!")
        for _ in $(seq 300); do
            [ "$(find "/proc/$pid/fd" -lname 'socket:*' 2>/dev/null | wc -l)" -ge 2 ] && break
            sleep 0.1
        done
    fi
    local cpu0 cpu_last t0
    cpu0=$(cpu_ticks "$pid"); cpu_last=$cpu0; t0=$(now_ms)
    prlimit --pid "$pid" --nofile="$nofile": || fail "$mode: prlimit failed"
    if [ "$mode" = tlsaccept ]; then
        # a second client wakes tlsAccept's poll; accepting it then fails with EMFILE, so
        # tlsAccept waits for the queued handshake only: with 2 descriptors, over the limit
        timeout 60 "$CLIENT" silent 127.0.0.1 "$1" 40 > /dev/null 2>&1 &
        helpers+=("$!")
    fi
    local ended=0
    for _ in $(seq $((END_BOUND_S * 10))); do
        local c
        c=$(cpu_ticks "$pid")
        [ -n "$c" ] && cpu_last=$c
        if ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
            ended=1
            break
        fi
        sleep 0.1
    done
    local wall=$(($(now_ms) - t0)) cpu_ms=$(((cpu_last - cpu0) * 1000 / TICK_HZ))
    if [ $ended = 0 ]; then
        fail "$mode: portal-host still runs ${END_BOUND_S} s after the limit drop (used $cpu_ms ms CPU in $wall ms: spinning)"
        valgrind_stacks "$pid"
        kill -9 "$pid" 2>/dev/null
    else
        pass "$mode: ended $wall ms after the limit drop"
        if [ "$PORTAL_VALGRIND" = 1 ]; then
            valgrind_note "$mode: CPU bound not checked (memcheck's leak check at exit runs inside the window): $cpu_ms ms CPU in $wall ms"
        else
            check "$mode: no spinning: $cpu_ms ms CPU from the drop to the exit ($wall ms)" \
                test "$cpu_ms" -lt 500
        fi
    fi
    wait "$pid" 2>/dev/null
    DROP_RC=$?
    [ $ended = 1 ] || DROP_RC=124
    for h in "${helpers[@]}"; do kill "$h" 2>/dev/null; wait "$h" 2>/dev/null; done
}
LOOP_TEXT="portal-host: the event loop cannot wait: $EINVAL_TEXT; ending the app"

# the run loop, sleeping between microtask steps: the app is ended (exit 125), no ppShutdown
drop_limit loop 0
check "run loop: exit 125 (got $DROP_RC)" test "$DROP_RC" = 125
check "run loop: '$LOOP_TEXT'" grep -qF "$LOOP_TEXT" "$DROP_ERR"
check "run loop: host clean" host_clean "$DROP_ERR"

# delayMs: -2 with the cause; then the app is ended the same way
drop_limit delay 0
got="$(result_field "$DROP_OUT" 2) '$(result_field "$DROP_OUT" msg)'"
check "delayMs: -2 'delayMs: $EINVAL_TEXT' (got $got)" test "$got" = "-2 'delayMs: $EINVAL_TEXT'"
check "delayMs: then exit 125 with the run loop's message (got $DROP_RC)" \
    test "$DROP_RC" = 125 -a -n "$(grep -F "$LOOP_TEXT" "$DROP_ERR")"
check "delayMs: host clean" host_clean "$DROP_ERR"

# WASI poll_oneoff (a clock subscription): the WASI errno INVAL (28)
drop_limit sleep 0
got="$(result_field "$DROP_OUT" 2) '$(result_field "$DROP_OUT" msg)'"
check "poll_oneoff: WASI errno 28 (INVAL) (got $got)" test "$got" = "28 'WASI errno INVAL'"
check "poll_oneoff: then exit 125 with the run loop's message (got $DROP_RC)" \
    test "$DROP_RC" = 125 -a -n "$(grep -F "$LOOP_TEXT" "$DROP_ERR")"
check "poll_oneoff: host clean" host_clean "$DROP_ERR"

# tlsAccept waiting for a queued handshake: -2 with the cause, well before its 20 s timeout
if [ -x "$PORTAL_TOOLS/sock_peer" ]; then PORT=$(timeout 10 "$PORTAL_TOOLS/sock_peer" freeport); else PORT=$(free_port); fi
drop_limit tlsaccept 1 "$PORT"
got="$(result_field "$DROP_OUT" 2) '$(result_field "$DROP_OUT" msg)'"
check "tlsAccept: -2 'tlsAccept: $EINVAL_TEXT' (got $got)" test "$got" = "-2 'tlsAccept: $EINVAL_TEXT'"
check "tlsAccept: app exit 0 (got $DROP_RC)" test "$DROP_RC" = 0
check "tlsAccept: host clean" host_clean "$DROP_ERR"

finish
