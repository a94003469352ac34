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
