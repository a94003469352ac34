# lib.sh - shared helpers for the integration tests (sourced). Counts checks and prints the plain
# "N passed, N failed" line at the end; every command that waits is bounded by `timeout`.
# With PORTAL_VALGRIND=1, $PORTAL_HOST runs under valgrind (../valgrind/env.sh).
set -uo pipefail
: "${PORTAL_HOST:?}" "${PORTAL_APPS:?}"
source "$(dirname "${BASH_SOURCE[0]}")/../valgrind/env.sh"
PASSED=0
FAILED=0
WORK=$(mktemp -d)
trap 'finish_cleanup' EXIT
CLEANUP_PIDS=()

finish_cleanup() {
    for p in "${CLEANUP_PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
    rm -rf "$WORK"
}

pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; }
check() { # description command...
    local what=$1; shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
contains() { grep -qF -- "$2" "$1"; }
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# A free TCP port on loopback (the kernel picks it; tiny race accepted for tests).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}

# wait_for_log FILE TEXT SECONDS - waits until FILE contains TEXT.
wait_for_log() {
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# ms since epoch
now_ms() { date +%s%3N; }

# The newest TLS version the host's mbedTLS speaks, "1.3" or "1.2", from `portal-host --version`
# ("mbedTLS X (TLS 1.2 and 1.3)" / "(TLS 1.2 only: ...)"): 2.28 is a TLS 1.2 server, 3.x with
# MBEDTLS_SSL_PROTO_TLS1_3 speaks 1.3 too. Tests expect what the library speaks; a test that needs
# one version forces it on the client (s_client -tls1_2 / -tls1_3) and runs the 1.3 variant only
# when this says 1.3. Empty (and the caller's checks fail) when --version says neither.
host_tls_max() {
    local v
    v=$("${PORTAL_HOST_REAL:-$PORTAL_HOST}" --version 2>/dev/null)
    case $v in
    *"(TLS 1.2 and 1.3)"*) echo 1.3 ;;
    *"(TLS 1.2 only"*) echo 1.2 ;;
    esac
}

# check_exit_fds FDWATCH_REPORT LABEL - fdwatch (ptrace) counts portal-host's descriptors right
# after exec and at its exit stop, when whatever is still open is what portal-host itself did not
# close: none may be a socket, and the count must equal the one at start.
check_exit_fds() {
    if grep -q "ptrace unavailable" "$1"; then
        echo "     $2: SKIPPED the at-exit descriptor check: $(grep 'ptrace unavailable' "$1")"
        return
    fi
    local start exit_fds exit_socks
    start=$(awk '/^start fds/{print $3}' "$1")
    exit_fds=$(awk '/^exit fds/{print $3}' "$1")
    if [ "$PORTAL_VALGRIND" = 1 ]; then
        # The exit stop is valgrind's (the start stop is portal-host-vg's exec, before valgrind
        # runs): leave out valgrind's own descriptors, its log file and the ones it reserves at
        # the top of the limit (ulimit -n minus 12 and up, coregrind's N_RESERVED_FDS).
        local reserved=$(($(ulimit -n) - 12)) vg_fds
        vg_fds=$(awk -v r="$reserved" '/^fd /{ if ($2 >= r || $4 ~ /\/vg\.[0-9]+\.log$/) n++ } END{print n + 0}' "$1")
        valgrind_note "$2: $vg_fds of the ${exit_fds:-?} descriptors at exit are valgrind's own, not counted"
        [ -n "$exit_fds" ] && exit_fds=$((exit_fds - vg_fds))
    fi
    exit_socks=$(awk '/^exit fds/{print $5}' "$1")
    check "$2: no socket open when portal-host exits (${exit_socks:-?})" test "${exit_socks:-x}" = 0
    check "$2: descriptors at exit = at start (${exit_fds:-?} vs ${start:-?})" \
        test -n "$start" -a "${exit_fds:-x}" = "$start"
    [ "${exit_socks:-x}" = 0 ] || sed -n '/^exit/,$p' "$1"
}

# app_checks FILE LABEL - an app's own "CHECK ok|FAIL ..." output lines become checks.
app_checks() {
    local line
    while IFS= read -r line; do
        case $line in
        "CHECK ok "*) pass "$2: ${line#CHECK ok }" ;;
        "CHECK FAIL "*) fail "$2: ${line#CHECK FAIL }" ;;
        esac
    done < "$1"
}
