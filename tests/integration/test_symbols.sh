#!/usr/bin/env bash
# test_symbols.sh - every global symbol the host core defines carries the project's prefix. The
# firmware links the component next to ESP-IDF's own libraries, and wpa_supplicant, for one,
# exports tls_init, tls_connection_* and more: an unprefixed tls_* function here would clash or,
# worse, be silently resolved to the other one. Checked on the objects the build made: the portable
# core (libportal_core.a: API tables, core, socket, TLS, net, POSIX platform) and the firmware's lwIP
# platform (portal_fw_lwip, portal_fw_lwip_select) and WAMR binding (portal_fw_wamr, when built).
source "$(dirname "$0")/lib.sh"
: "${PORTAL_BUILD:?}"

objects=("$PORTAL_BUILD/libportal_core.a")
while IFS= read -r o; do objects+=("$o"); done < <(
    find "$PORTAL_BUILD/CMakeFiles" -path '*portal_fw_lwip*.dir/*' -name '*.o' -o \
        -path '*portal_fw_wamr.dir/*' -name '*.o' | sort)
check "the core library and the firmware's platform objects are there (${#objects[@]} files)" \
    test -f "${objects[0]}" -a "${#objects[@]}" -ge 2

# nm: "ADDRESS TYPE NAME" for defined globals (functions T, data D/B/R, common C, weak W/V)
nm -g --defined-only "${objects[@]}" 2> "$WORK/nm.err" | awk 'NF == 3 { print $3 }' | sort -u > "$WORK/globals"
count=$(wc -l < "$WORK/globals")
check "nm listed the defined globals ($count)" test "$count" -gt 100
# The sanitizer build adds instrumentation symbols of its own (__odr_asan.NAME for each global);
# they are the compiler's, not the component's, and never exist in the firmware build.
grep -vE '^(portal_|PORTAL_)' "$WORK/globals" | grep -vE '^__(odr_asan|asan|ubsan|sanitizer)' > "$WORK/unprefixed"
check "every global symbol starts with portal_ (unprefixed: $(tr '\n' ' ' < "$WORK/unprefixed"))" \
    test ! -s "$WORK/unprefixed"
finish
