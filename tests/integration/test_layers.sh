#!/usr/bin/env bash
# test_layers.sh - the layering the architecture promises (docs/architecture.md, "Layers"): the core
# knows no module by name, the socket module knows nothing of TLS (TLS plugs into it through
# portal_socket_poll_ext), and the loops that drive modules (sockPoll, the desktop run loop, the
# WAMR binding) go through the app's module hooks; no host function is over 80 lines without a
# reason written above it (long_functions.awk). Checked on the sources, so a shortcut that compiles
# still fails here.
source "$(dirname "$0")/lib.sh"
: "${PORTAL_SOURCE:?}"
H=$PORTAL_SOURCE/host

# includes_outside DIR ALLOWED-REGEX: the quoted includes of DIR's files that ALLOWED does not match
includes_outside() {
    grep -hoE '^#include "[^"]+"' "$1"/*.[ch] | sed 's/#include "//; s/"$//' | grep -vE "$2" | sort -u | tr '\n' ' '
}
bad=$(includes_outside "$H/core" '^(\.\./api/|\.\./platform/|[a-z_]+\.h$)')
check "host/core includes only core, api and platform headers (outside: ${bad:-none})" test -z "$bad"
bad=$(includes_outside "$H/socket" '^(\.\./api/|\.\./core/|\.\./platform/|[a-z_]+\.h$)')
check "host/socket includes nothing of host/tls (outside: ${bad:-none})" test -z "$bad"
calls=$(grep -nE 'portal_tls_[a-z_]+\(' "$H"/socket/*.c "$H"/core/*.c "$H/runtime/run.c" "$H/esp-idf/wamr_binding.c" |
    grep -v 'portal_tls_library_init' | tr '\n' ' ')
check "sockPoll, core, the run loop and the WAMR binding call no portal_tls_ function (${calls:-none})" test -z "$calls"
limits=$(grep -noE 'max_(tls_[a-z_]+|pending_handshakes)' "$H"/socket/*.c | tr '\n' ' ')
check "the socket module sizes its waits by the modules' wait_capacity, not by TLS limits (${limits:-none})" \
    test -z "$limits"
check "the TLS module registers its hooks and sockPoll's view" \
    grep -q 'portal_app_use_module(app, &portal_tls_module)' "$H/tls/tls_state.c"

# Function length: first the checker itself on made-up functions (81 body lines is reported, 80 is
# not, nor 81 under a "/* Long because:" comment), then every host source.
# synthetic_function NAME BODY-LINES [COMMENT]
synthetic_function() {
    [ -n "${3:-}" ] && echo "$3"
    echo "static int $1(void)"
    echo "{"
    for ((l = 0; l < $2; l++)); do echo "    x++;"; done
    echo "}"
}
long_functions() { awk -v MAX=80 -f "$(dirname "$0")/long_functions.awk" "$@"; }
{
    echo "static int x;"
    synthetic_function too_long 81
    synthetic_function just_fits 80 "/* Short enough. */"
    synthetic_function long_with_reason 81 "/* Long because: one table, read top to bottom. */"
    echo "typedef struct s {"; echo "    int a;"; echo "} s;"
    synthetic_function too_long_after_struct 90
} >"$WORK/lengths.c"
found=$(long_functions "$WORK/lengths.c" | sed 's/.*:[0-9]* //' | tr '\n' ' ')
check "the length checker reports exactly the unexplained long functions (found: ${found:-none})" \
    test "$found" = "too_long 81 too_long_after_struct 90 "
long=$(long_functions $(find "$H" -name '*.[ch]' | sort) | sed "s|^$PORTAL_SOURCE/||" | tr '\n' ' ')
check "no host function is over 80 lines without a '/* Long because:' reason (over: ${long:-none})" \
    test -z "$long"
finish
