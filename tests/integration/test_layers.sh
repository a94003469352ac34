#!/usr/bin/env bash
# test_layers.sh - the layering the architecture promises (docs/architecture.md, "Layers"): the core
# knows no module by name, the socket module knows nothing of TLS (TLS plugs into it through
# portal_socket_poll_ext), and the loops that drive modules (sockPoll, the desktop run loop, the
# WAMR binding) go through the app's module hooks. Checked on the sources, so a shortcut that
# compiles still fails here.
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
check "the TLS module registers its hooks and sockPoll's view" \
    grep -q 'portal_app_use_module(app, &portal_tls_module)' "$H/tls/tls_config.c"
finish
