#!/usr/bin/env bash
# test_wasi.sh - runs tests/apps/wasi_app under portal-host and checks the WASI preview1 subset:
# stdout/stderr contents, argument passing, no host environment, clocks close to the host's, sleeps,
# randomness, ENOSYS rows, FAULT on bad pointers, and that exit(7) becomes portal-host's exit code.
# Environment (set by ctest): PORTAL_HOST, PORTAL_APPS, PORTAL_CACHE_DIR.
set -euo pipefail

: "${PORTAL_HOST:?PORTAL_HOST must name the portal-host binary}"
: "${PORTAL_APPS:?PORTAL_APPS must name the directory with the test apps}"
# With PORTAL_VALGRIND=1, $PORTAL_HOST runs under valgrind.
source "$(dirname "${BASH_SOURCE[0]}")/../valgrind/env.sh"
export PORTAL_CACHE_DIR="${PORTAL_CACHE_DIR:-$(mktemp -d)}"

APP="$PORTAL_APPS/wasi_app.wasm"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
expect() { # expect NAME CONDITION-COMMAND...
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
has_line() { grep -qxF -- "$2" "$1"; }
has_text() { grep -qF -- "$2" "$1"; }

if [[ ! -f "$APP" ]]; then
    fail "wasi_app.wasm was not built ($APP)"
    echo "$passed passed, $failed failed"
    exit 1
fi

# The variable must not reach the app (it sees no host environment).
rc=0
host_before=$(date +%s)
PORTAL_WASI_TEST_VAR=leak timeout 60 "$PORTAL_HOST" run "$APP" -- a "b c" 7 \
    </dev/null >"$work/out" 2>"$work/err" || rc=$?
host_after=$(date +%s)

echo "---- stdout ----"
cat "$work/out"
echo
echo "---- stderr ----"
cat "$work/err"
echo "----------------"

expect "exit code is 7 (got $rc)" test "$rc" -eq 7
expect "stdout marker" has_line "$work/out" "wasi-stdout-marker: hello from stdout"
expect "stderr marker on stderr" has_line "$work/err" "wasi-stderr-marker: hello from stderr"
expect "stderr marker not on stdout" bash -c "! grep -qF 'wasi-stderr-marker' '$work/out'"
expect "stdout marker not on stderr" bash -c "! grep -qF 'wasi-stdout-marker' '$work/err'"
expect "iovecs written in order" has_line "$work/out" "wasi-iovec-marker: one two"
expect "argc is 4" has_line "$work/out" "wasi: argc=4"
expect "argv[0] is app" has_line "$work/out" "wasi: argv[0]=<app>"
expect "argv[1] is a" has_line "$work/out" "wasi: argv[1]=<a>"
expect "argv[2] keeps its space" has_line "$work/out" "wasi: argv[2]=<b c>"
expect "argv[3] is 7" has_line "$work/out" "wasi: argv[3]=<7>"
expect "no FAIL line" bash -c "! grep -q 'FAIL' '$work/out'"
expect "host environment not leaked" bash -c "! grep -qF 'leak' '$work/out'"
expect "atexit handler ran before proc_exit" has_line "$work/out" "wasi: atexit ran, 0 failed"
expect "stdio flushed by exit" has_text "$work/out" "wasi-final-unterminated"
expect "app exited through exit(7)" has_line "$work/out" "wasi: exiting with 7"

# Every check the app makes must have reported ok.
for c in api_version fd_write_iovecs isatty_stdout write_badfd lseek_stdout_spipe stdin_eof \
    fd_write_fault argv0 args_sizes_get getenv_null environ_empty realtime_plausible \
    monotonic_increasing clock_getres clock_bad_id clock_fault nanosleep_50ms \
    sleep_abs_monotonic sleep_abs_realtime poll_earliest_clock poll_fds libc_poll_stdout \
    poll_zero_subs poll_fault getentropy arc4random random_fault sched_yield no_host_files \
    no_create no_preopens fdstat_stderr fdstat_badf nosys_filestat nosys_path_open \
    nosys_proc_raise; do
    expect "check $c" has_line "$work/out" "wasi: $c ok"
done

# The app's realtime clock is the host's: it lies between the host's readings around the run.
app_now=$(sed -n 's/^wasi: realtime_s=\([0-9]*\)$/\1/p' "$work/out" | head -n1)
if [[ -n "$app_now" ]] && (( host_before <= app_now && app_now <= host_after )); then
    pass "realtime matches host time ($host_before <= $app_now <= $host_after)"
else
    fail "realtime matches host time (app '${app_now}', host $host_before..$host_after)"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
