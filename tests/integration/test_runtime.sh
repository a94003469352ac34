#!/usr/bin/env bash
# test_runtime.sh - portal-host itself: running an app, the compile cache, exit codes, every trap
# kind, unlinked and mistyped imports, refusal of corrupt files, SIGTERM -> ppShutdown, signals to
# a busy app (the notice after the first, exit 128 + signal after the second).
source "$(dirname "$0")/lib.sh"
HOST=$PORTAL_HOST
CACHE="$WORK/cache"
run() { timeout 120 "$HOST" run --cache-dir "$CACHE" "$@"; }

# --help and usage errors
"$HOST" --help > "$WORK/help" 2>&1
check "--help exits 0 and explains run" contains "$WORK/help" "usage: portal-host run APP.wasm"
"$HOST" > /dev/null 2>&1; check "no arguments is a usage error (2)" test $? -eq 2
"$HOST" run "$PORTAL_APPS/hello.wasm" --bogus > /dev/null 2>&1
check "unknown flag is a usage error (2)" test $? -eq 2
"$HOST" run "$PORTAL_APPS/hello.wasm" --port 1 > /dev/null 2> "$WORK/argerr"
check "an app flag before -- is a usage error (2)" test $? -eq 2
check "...that says app arguments go after --" contains "$WORK/argerr" \
    "portal-host: unknown argument --port: the app's own arguments go after \`--\`: portal-host run $PORTAL_APPS/hello.wasm [options] -- --port ..."
"$HOST" --version > "$WORK/version" 2>&1
check "--version exits 0" test $? -eq 0
check "--version names portal-host's version" grep -qE '^portal-host [0-9]+\.[0-9]+\.[0-9]+$' "$WORK/version"
check "--version names the app contract" contains "$WORK/version" "app contract version 1"
check "--version names the mbedTLS version and its TLS versions" grep -qE '^mbedTLS [0-9]+\.[0-9]+\.[0-9]+ \(TLS 1\.2' "$WORK/version"

# first run compiles, second run comes from the cache
run -v "$PORTAL_APPS/hello.wasm" -- 50 > "$WORK/h1.out" 2> "$WORK/h1.err"
check "hello exits 0 after exitApp" test $? -eq 0
check "hello was compiled on the first run" contains "$WORK/h1.err" "compiled in"
check "hello logged five ticks" contains "$WORK/h1.err" "tick 5 at"
check "exitApp leads to ppShutdown" contains "$WORK/h1.err" "shutdown after 5 ticks"
# -v's teardown heap line is exact (portal-host runs itself with glibc's per-thread cache off), so
# a clean run reads 0; where the cache stays on the line says what the figure includes.
if [ "${PORTAL_SANITIZED:-0}" = 1 ] || [ "$PORTAL_VALGRIND" = 1 ]; then
    check "-v: the heap report says why it is unavailable here" \
        grep -q "^portal-host: teardown: heap report unavailable: " "$WORK/h1.err"
else
    check "-v: exact heap figure, a clean run leaves 0 bytes behind ($(grep -o '[-0-9]* bytes left behind' "$WORK/h1.err"))" \
        grep -qE "^portal-host: teardown: heap in use [0-9]+ bytes before the app's first host call( \([0-9]+ of them process-wide crypto state, set up at startup and kept\))?, [0-9]+ after teardown, which also freed the [0-9]+-byte handle table \(exact: glibc's per-thread cache is off\): 0 bytes left behind$" "$WORK/h1.err"
    GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.tcache_count=7 \
        run -v "$PORTAL_APPS/hello.wasm" -- 20 > /dev/null 2> "$WORK/h3.err"
    check "-v with the cache on after all: the figure is not called a leak" \
        grep -qE "^portal-host: teardown: heap in use .*: -?[0-9]+ bytes more, including freed blocks glibc keeps in its per-thread cache \(not a leak; with GLIBC_TUNABLES=glibc.malloc.tcache_count=0 the figure is exact\)$" "$WORK/h3.err"
fi
ticks=$(grep -o 'tick [0-9]* at [0-9]*' "$WORK/h1.err" | awk '{print $4}')
first=$(echo "$ticks" | head -1); last=$(echo "$ticks" | tail -1)
span=$((last - first))
# Periods are anchored to due times, so a first tick that ran late (valgrind, a loaded machine)
# shortens the span by that delay: the bound only has to tell periodic ticks from back-to-back ones.
check "periodic task: 4 periods of 50 ms took ${span} ms (150..400)" test "$span" -ge 150 -a "$span" -le 400
run -v "$PORTAL_APPS/hello.wasm" -- 50 > /dev/null 2> "$WORK/h2.err"
check "second run loads from the cache" contains "$WORK/h2.err" "loaded from cache"
c1=$(grep -o 'compiled in [0-9.]*' "$WORK/h1.err" | awk '{print $3}')
c2=$(grep -o 'loaded from cache in [0-9.]*' "$WORK/h2.err" | awk '{print $5}')
echo "     start times: first run ${c1} ms (wasm2c + cc), cached ${c2} ms"
check "cached start is faster than compiling" awk -v a="$c1" -v b="$c2" 'BEGIN{exit !(b < a)}'

# every trap kind: message names it, exit 134, no crash
trap_case() { # arg expected-text
    run "$PORTAL_APPS/traps.wasm" -- "$1" > "$WORK/t.out" 2> "$WORK/t.err"
    local rc=$?
    check "trap $1: exit 134 (got $rc)" test $rc -eq 134
    check "trap $1: message '$2'" contains "$WORK/t.err" "$2"
}
trap_case oob "app trapped in _start: out of bounds memory access"
trap_case unreachable "unreachable executed"
trap_case stack "call stack exhausted"
trap_case shadow-stack "out of bounds memory access"
trap_case divzero "integer divide by zero"
trap_case indirect "indirect call"
trap_case lasterr-oob "out of bounds memory access: portal.lastErrorMessage argument out"
trap_case string-oob "portal_log.logInfo argument msg"
trap_case unlinked "unlinked import portal_missing.doesNotExist"
trap_case mistyped "unlinked import portal.millis"
trap_case step-oob "app trapped in portalMicroTaskStep: out of bounds memory access"
check "unlinked import traps only when called" contains "$WORK/t.out" "in step"

run "$PORTAL_APPS/traps.wasm" -- ok > "$WORK/ok.out" 2> "$WORK/ok.err"
check "an app with unlinked imports starts and exits 0" test $? -eq 0
check "warning lists the missing import" contains "$WORK/ok.err" "portal_missing.doesNotExist (i:i): not provided by this host"
check "warning lists the mistyped import with both types" contains "$WORK/ok.err" "portal.millis: declared type (i:I), host provides (:i) ()i"
check "the warning is printed once" test "$(grep -c 'not linked' "$WORK/ok.err")" -eq 1

# constructors run once: not again on each portalMicroTaskStep (SDK's reactor-model _start)
run "$PORTAL_APPS/traps.wasm" -- ctors > "$WORK/c.out" 2> "$WORK/c.err"
check "ctors app exits 0" test $? -eq 0
check "constructors ran once before main" contains "$WORK/c.out" "main: ctors=1"
check "still once after three microtask steps" contains "$WORK/c.out" "step 3: ctors=1"

# corrupt files are refused with a clear message (exit 125)
printf 'hello, I am not wasm' > "$WORK/text.wasm"
head -c 100 "$PORTAL_APPS/hello.wasm" > "$WORK/short.wasm"
head -c 4096 /dev/urandom > "$WORK/random.wasm"
printf '\0asm\2\0\0\0' > "$WORK/version.wasm"
for f in text short random version; do
    run "$WORK/$f.wasm" > /dev/null 2> "$WORK/bad.err"
    rc=$?
    check "corrupt $f.wasm refused with 125 (got $rc)" test $rc -eq 125
    check "corrupt $f.wasm: message says why" grep -qE "not a valid WebAssembly module|invalid module" "$WORK/bad.err"
done
run "$WORK/missing.wasm" > /dev/null 2> "$WORK/bad.err"
check "missing file: 125 and message" contains "$WORK/bad.err" "cannot open"
mkdir -p "$WORK/adir.wasm"
run "$WORK/adir.wasm" > /dev/null 2> "$WORK/bad.err"
rc=$?; check "a directory: 125 (got $rc)" test $rc -eq 125
check "a directory: the message says why" contains "$WORK/bad.err" \
    "portal-host: cannot read $WORK/adir.wasm: Is a directory"
# A C app linked as a WASI command (without -mexec-model=reactor): crt1's _start next to the SDK's.
if "${WASI_CLANG:-clang}" --target=wasm32-wasi -O2 -std=c11 -I"$PORTAL_SOURCE/sdk/c/include" \
    -o "$WORK/command.wasm" "$PORTAL_SOURCE/apps/hello/main.c" "$PORTAL_SOURCE/sdk/c/portal_sdk.c" 2> "$WORK/cc.err"; then
    run "$WORK/command.wasm" > /dev/null 2> "$WORK/bad.err"
    rc=$?
    check "command-model app: 125 (got $rc)" test $rc -eq 125
    check "command-model app: one line that says to build with -mexec-model=reactor" test "$(cat "$WORK/bad.err")" = \
        "portal-host: $WORK/command.wasm is not a valid WebAssembly module: export \"_start\" appears twice: the app was linked as a WASI command; build C apps with -mexec-model=reactor (the SDK provides _start)"
else
    fail "clang could not build the command-model app: $(head -3 "$WORK/cc.err")"
fi

# SIGTERM calls ppShutdown, then the host exits cleanly
not_contains() { ! grep -qF -- "$2" "$1"; }
"$HOST" run --cache-dir "$CACHE" "$PORTAL_APPS/hello.wasm" -- 1000 > "$WORK/s.out" 2> "$WORK/s.err" &
pid=$!
CLEANUP_PIDS+=("$pid")
wait_for_log "$WORK/s.err" "tick 1 at" 30
kill -TERM "$pid"
wait "$pid"
rc=$?
check "SIGTERM: exit 0 after ppShutdown (got $rc)" test $rc -eq 0
check "SIGTERM: ppShutdown ran" contains "$WORK/s.err" "shutdown after 1 ticks"
check "SIGTERM, app not busy: no 'waiting for the app' notice" not_contains "$WORK/s.err" "shutting down: waiting"

# A busy app (a step or main that never returns) cannot be stopped in the middle: the first signal
# must not be ignored silently (after 1 s portal-host says what it waits for), and a second one
# ends portal-host at once with 128 + signal.
busy_case() { # traps-mode signal export exit-code
    local out=$WORK/busy-$1 pid rc
    "$HOST" run --cache-dir "$CACHE" "$PORTAL_APPS/traps.wasm" -- "$1" > "$out.out" 2> "$out.err" &
    pid=$!
    CLEANUP_PIDS+=("$pid")
    if ! wait_for_log "$out.out" "spinning in" 60; then
        fail "busy in $3: the app did not start ($(tail -n 2 "$out.err"))"
        return
    fi
    kill -"$2" "$pid"
    wait_for_log "$out.err" "portal-host: shutting down" 20
    check "busy in $3, SIG$2: portal-host says it waits for the app" grep -qxF \
        "portal-host: shutting down: waiting for the app to return from $3 (Ctrl-C again to stop it now)" "$out.err"
    check "busy in $3, SIG$2: ... and keeps waiting (still running)" kill -0 "$pid"
    kill -"$2" "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null
    wait "$pid"
    rc=$?
    check "busy in $3: a second SIG$2 ends it at once with exit $4 (rc $rc)" test $rc -eq "$4"
    check "busy in $3: ... saying so" grep -qxF \
        "portal-host: second signal: stopping the app now, without ppShutdown (exit $4)" "$out.err"
}
busy_case spin-step INT portalMicroTaskStep 130
busy_case spin TERM _start 143

finish
