# env.sh - sourced by the integration tests (lib.sh, and the scripts that do not use lib.sh).
# With PORTAL_VALGRIND=1 (make test-valgrind) it points PORTAL_HOST at portal-host-vg, so every
# "$PORTAL_HOST" the scripts start runs under valgrind memcheck, and it gives the scripts
#   valgrind_scale NAME FULL REDUCED "what"  sets NAME to FULL normally, to REDUCED under valgrind
#                                            and prints "valgrind: REDUCED what instead of FULL"
#   valgrind_note "text"                     prints "valgrind: text" under valgrind only
#   valgrind_stacks PID                      under valgrind, prints where PID's code is now (vgdb),
#                                            e.g. before killing a server that did not stop
# so a script scales a count or widens a time bound visibly, and only where it has to.
PORTAL_VALGRIND=${PORTAL_VALGRIND:-0}
if [ "$PORTAL_VALGRIND" = 1 ] && [ "${PORTAL_HOST##*/}" != portal-host-vg ]; then
    export PORTAL_HOST_REAL=$PORTAL_HOST
    PORTAL_HOST=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/portal-host-vg
    export PORTAL_HOST
fi
valgrind_note() {
    [ "$PORTAL_VALGRIND" = 1 ] && echo "     valgrind: $1"
    return 0
}
valgrind_scale() { # NAME FULL REDUCED what
    if [ "$PORTAL_VALGRIND" = 1 ]; then
        printf -v "$1" '%s' "$3"
        echo "     valgrind: $3 $4 instead of $2"
    else
        printf -v "$1" '%s' "$2"
    fi
}
valgrind_stacks() { # PID
    [ "$PORTAL_VALGRIND" = 1 ] && command -v vgdb > /dev/null || return 0
    echo "     valgrind: what process $1 is running now (vgdb v.info scheduler):"
    timeout 10 vgdb --pid="$1" v.info scheduler 2>&1 | sed -n '/^Thread/,/^client stack/p' | sed 's/^/       /'
    return 0
}
