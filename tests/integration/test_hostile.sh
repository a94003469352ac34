#!/usr/bin/env bash
# test_hostile.sh - the hostile app against portal-host: every portal_socket and portal_net import
# (and portal.lastErrorMessage; for the TLS client extension, the buffer arguments of
# tlsClientConfigCreate and tlsConnect and the 584-byte tlsSessionInfo) with bogus handles and values (-1 with a message, or the documented
# result), with extreme but valid memory ranges (no trap, nothing written outside them), and with
# ranges outside linear memory: far away, past the end, huge, negative and 32-bit-wrapping lengths,
# an unterminated string. Each of those must trap the app (exit 134) with the import and argument
# named, and portal-host must survive (no crash, no sanitizer report). Uses $PORTAL_HOST as given,
# so the same script checks an ASan build.
source "$(dirname "$0")/lib.sh"
export PORTAL_CACHE_DIR
APP=$PORTAL_APPS/hostile.wasm
run_app() { timeout "$1" "$PORTAL_HOST" run "$APP" -- "${@:2}"; }
# A crash or sanitizer report in the host: signals, ASan/UBSan/LSan, glibc aborts.
host_clean() { ! grep -qE "Sanitizer|runtime error:|Segmentation|core dumped|Aborted|stack smashing|double free|corrupted" "$1"; }

# ---- values: bad handles and values, extreme but valid ranges ----
# a port for the app's own loopback connection
if [ -x "${PORTAL_TOOLS:-}/sock_peer" ]; then PORT=$(timeout 10 "$PORTAL_TOOLS/sock_peer" freeport); else PORT=$(free_port); fi
run_app 300 values "$PORT" > "$WORK/values.out" 2> "$WORK/values.err"
rc=$?
check "values: exit 0 (rc $rc)" test $rc -eq 0
check "values: ran to its end" grep -qx END "$WORK/values.out"
check "values: host clean (no crash or sanitizer report)" host_clean "$WORK/values.err"
check "values: the missing Wi-Fi scan imports are listed once as unlinked" \
    test "$(grep -c 'portal_net.wifiScan.*not provided by this host' "$WORK/values.err")" -eq 5

# expect CASE RC TEXT - the app printed "VAL CASE RC <message>" and the message contains TEXT
# (an empty TEXT: any message, e.g. the earlier one a successful call leaves alone).
declare -A VAL_RC VAL_MSG
while read -r tag name rc msg; do
    [ "$tag" = VAL ] && VAL_RC[$name]=$rc && VAL_MSG[$name]=$msg
done < "$WORK/values.out"
N_EXPECT=0
expect() {
    N_EXPECT=$((N_EXPECT + 1))
    if [ -z "${VAL_RC[$1]:-}" ]; then
        fail "values $1: not reported"
    elif [ "${VAL_RC[$1]}" = "$2" ] && [[ "${VAL_MSG[$1]}" == *"$3"* ]]; then
        if [ -n "$3" ]; then pass "values $1: $2 '${VAL_MSG[$1]}'"; else pass "values $1: $2"; fi
    else
        fail "values $1: got ${VAL_RC[$1]} '${VAL_MSG[$1]}', want $2 '$3'"
    fi
}

for h in 0 -1 -2147483648 2147483647 2147418112; do
    for imp in sockConnect sockBind sockListen sockAccept sockAcceptWithTimeout sockSend sockRecv; do
        expect "$imp-handle-$h" -1 "$imp: bad socket handle $h"
    done
    expect "sockClose-handle-$h" 0 "" # idempotent: 0, any earlier message
done
expect sockSend-handle-stale -1 "sockSend: bad socket handle"
expect sockClose-handle-stale 0 ""
while IFS='|' read -r name want text; do
    [ -n "$name" ] && expect "$name" "$want" "$text"
done << 'EOF'
sockSocket-domain-99|-1|sockSocket: unsupported domain 99 (2 = IPv4, 10 = IPv6)
sockSocket-domain-min|-1|sockSocket: unsupported domain -2147483648
sockSocket-type-7|-1|sockSocket: unsupported type 7 (1 = stream, 2 = datagram)
sockSocket-type-neg|-1|sockSocket: unsupported type -1
sockSocket-protocol-12345|-1|sockSocket: protocol 12345 is not supported (only 0 or 6/TCP)
sockSocket-protocol-icmp|-1|sockSocket: protocol 1 is not supported (only 0 or 6/TCP)
sockSocket-protocol-sctp|-1|sockSocket: protocol 132 is not supported (only 0 or 6/TCP)
sockSocket-protocol-udp-on-stream|-1|sockSocket: protocol 17 is not supported (only 0 or 6/TCP)
sockSocket-protocol-neg|-1|sockSocket: protocol -1 is not supported (only 0 or 6/TCP)
sockSocket-protocol-icmp-dgram|-1|sockSocket: protocol 1 is not supported on a datagram socket (only 0 or 17/UDP)
sockConnect-addr-len-0|-1|sockConnect: invalid address (0 bytes; need 12, or 28 for IPv6)
sockConnect-addr-len-11|-1|sockConnect: invalid address (11 bytes
sockBind-addr-len-11|-1|sockBind: invalid address (11 bytes
sockBind-addr-len-4096|0|
sockListen-backlog-neg|0|
sockBind-port-0|0|
sockListen-backlog-max|0|
sockAcceptWithTimeout-out-len-11|-1|sockAcceptWithTimeout: out_addr_len too small (need 12, or 28 for IPv6)
sockAcceptWithTimeout-out-len-1|-1|sockAcceptWithTimeout: out_addr_len too small
sockAccept-out-len-11|-1|sockAccept: out_addr_len too small
sockAcceptWithTimeout-out-len-4096|-3|sockAcceptWithTimeout: no pending client
sockAcceptWithTimeout-out-at-end|-3|sockAcceptWithTimeout: no pending client
sockAcceptWithTimeout-out-len-0-at-end|-3|sockAcceptWithTimeout: no pending client
sockSend-len-0|0|
sockSend-len-0-at-end|0|
sockRecv-len-0|-1|sockRecv: buf_len is 0
sockSend-whole-memory|-2|sockSend: closed
sockRecv-whole-memory|-3|sockRecv: closed
sockRecv-at-end|-3|sockRecv: closed
netIsReady|1|
netConnect|0|
netDisconnect|0|
wifiGetMode|1|
netGetIpv4-out-len-0|-1|netGetIpv4: out_len too small (need 4)
netGetIpv4-out-len-3|-1|netGetIpv4: out_len too small (need 4)
netGetIpv4-canary|4|canary intact
netGetIpv4-out-at-end|4|
netGetIpv4-out-len-4096|4|
netResolveIpv4-out-len-3|-1|netResolveIpv4: out_len too small (need 4)
netResolveIpv4-localhost|4|127.0.0.1 canary intact
netResolveIpv4-empty-name|0|zeros yes, last error untouched
netResolveIpv4-host-at-end|4|
lastErrorMessage-len-0|0|
lastErrorMessage-len-5|4|'sock' canary intact
lastErrorMessage-at-end|0|NUL written
lastErrorMessage-len-4096|55|sockSocket: unsupported domain 77 (2 = IPv4, 10 = IPv6)
real-listen|0|
real-connect|0|
real-accept-out-at-end|0|written in the last 12 bytes, the 4 before untouched
real-send-64|64|
real-recv-16-at-end|16|the first 16 bytes in the last 16 of memory, the 16 before untouched
real-recv-rest|48|the other 48 bytes, in order
EOF
n_val=$(grep -c '^VAL ' "$WORK/values.out")
check "values: every call the app reported was checked ($n_val reported, $N_EXPECT checked)" \
    test "$n_val" -eq "$N_EXPECT"

# ---- traps: one run per bad range; exit 134, the import and argument named, host survives ----
# case | module.import | argument
RAN=()
trap_case() {
    local name=$1 import=$2 arg=$3 rc
    RAN+=("$name")
    run_app 20 trap "$name" > "$WORK/t.out" 2> "$WORK/t.err"
    rc=$?
    local msg
    msg=$(grep -m1 "app trapped" "$WORK/t.err" | sed 's/^portal-host: //')
    if [ $rc -eq 134 ] && grep -q "calling $name" "$WORK/t.out" && ! grep -q "NO TRAP" "$WORK/t.out" &&
        grep -qF "app trapped in _start: out of bounds memory access: $import argument $arg (" "$WORK/t.err" &&
        host_clean "$WORK/t.err"; then
        pass "trap $name: 134, $msg"
    else
        fail "trap $name: rc $rc (want 134), stdout: $(tr '\n' ' ' < "$WORK/t.out") stderr: $(grep -v '^  portal_net.wifi\|warning: these' "$WORK/t.err" | tr '\n' ' ')"
    fi
}
while IFS='|' read -r name import arg; do
    [ -n "$name" ] && trap_case "$name" "$import" "$arg"
done << 'EOF'
sockConnect-addr-far|portal_socket.sockConnect|addr
sockConnect-addr-past-end|portal_socket.sockConnect|addr
sockConnect-addr-neglen|portal_socket.sockConnect|addr
sockBind-addr-far|portal_socket.sockBind|addr
sockBind-addr-past-end|portal_socket.sockBind|addr
sockBind-addr-neglen|portal_socket.sockBind|addr
sockAccept-out_addr-far|portal_socket.sockAccept|out_addr
sockAccept-out_addr-past-end|portal_socket.sockAccept|out_addr
sockAccept-out_addr-neglen|portal_socket.sockAccept|out_addr
sockAcceptWithTimeout-out_addr-far|portal_socket.sockAcceptWithTimeout|out_addr
sockAcceptWithTimeout-out_addr-past-end|portal_socket.sockAcceptWithTimeout|out_addr
sockAcceptWithTimeout-out_addr-neglen|portal_socket.sockAcceptWithTimeout|out_addr
sockSend-buf-far|portal_socket.sockSend|buf
sockSend-buf-past-end|portal_socket.sockSend|buf
sockSend-buf-huge|portal_socket.sockSend|buf
sockSend-buf-neglen|portal_socket.sockSend|buf
sockSend-buf-wrap|portal_socket.sockSend|buf
sockRecv-buf-far|portal_socket.sockRecv|buf
sockRecv-buf-past-end|portal_socket.sockRecv|buf
sockRecv-buf-huge|portal_socket.sockRecv|buf
sockRecv-buf-neglen|portal_socket.sockRecv|buf
sockRecv-buf-wrap|portal_socket.sockRecv|buf
netGetIpv4-out-far|portal_net.netGetIpv4|out
netGetIpv4-out-past-end|portal_net.netGetIpv4|out
netGetIpv4-out-neglen|portal_net.netGetIpv4|out
netResolveIpv4-host-unterminated|portal_net.netResolveIpv4|host
netResolveIpv4-host-far|portal_net.netResolveIpv4|host
netResolveIpv4-out-far|portal_net.netResolveIpv4|out
netResolveIpv4-out-past-end|portal_net.netResolveIpv4|out
netResolveIpv4-out-neglen|portal_net.netResolveIpv4|out
lastErrorMessage-out-far|portal.lastErrorMessage|out
lastErrorMessage-out-past-end|portal.lastErrorMessage|out
lastErrorMessage-out-neglen|portal.lastErrorMessage|out
tlsClientConfigCreate-ca_pem-far|portal_socket_tls.tlsClientConfigCreate|ca_pem
tlsClientConfigCreate-ca_pem-past-end|portal_socket_tls.tlsClientConfigCreate|ca_pem
tlsClientConfigCreate-ca_pem-neglen|portal_socket_tls.tlsClientConfigCreate|ca_pem
tlsClientConfigCreate-cert_pem-far|portal_socket_tls.tlsClientConfigCreate|cert_pem
tlsClientConfigCreate-cert_pem-past-end|portal_socket_tls.tlsClientConfigCreate|cert_pem
tlsClientConfigCreate-cert_pem-neglen|portal_socket_tls.tlsClientConfigCreate|cert_pem
tlsClientConfigCreate-key_pem-far|portal_socket_tls.tlsClientConfigCreate|key_pem
tlsClientConfigCreate-key_pem-past-end|portal_socket_tls.tlsClientConfigCreate|key_pem
tlsClientConfigCreate-key_pem-wrap|portal_socket_tls.tlsClientConfigCreate|key_pem
tlsClientConfigCreate-alpn-far|portal_socket_tls.tlsClientConfigCreate|alpn
tlsClientConfigCreate-alpn-past-end|portal_socket_tls.tlsClientConfigCreate|alpn
tlsClientConfigCreate-alpn-neglen|portal_socket_tls.tlsClientConfigCreate|alpn
tlsConnect-host-unterminated|portal_socket_tls.tlsConnect|host
tlsConnect-host-far|portal_socket_tls.tlsConnect|host
tlsConnect-addr-far|portal_socket_tls.tlsConnect|addr
tlsConnect-addr-past-end|portal_socket_tls.tlsConnect|addr
tlsConnect-addr-neglen|portal_socket_tls.tlsConnect|addr
tlsSessionInfo-out-past-end|portal_socket_tls.tlsSessionInfo|out
tlsSessionInfo-out-far|portal_socket_tls.tlsSessionInfo|out
EOF
# the exact wording, once: offset, length and memory size are given
run_app 20 trap sockSend-buf-far > "$WORK/t.out" 2> "$WORK/t.err"
check "trap message gives offset, length and memory size" grep -qE \
    "out of bounds memory access: portal_socket.sockSend argument buf \(offset 4294967280, length 16, memory size [0-9]+\)" "$WORK/t.err"
run_app 20 trap netResolveIpv4-host-unterminated > "$WORK/t.out" 2> "$WORK/t.err"
check "unterminated host name: says the string is not terminated inside memory" grep -qE \
    "portal_net.netResolveIpv4 argument host \(string at offset [0-9]+ is not terminated inside memory of size [0-9]+\)" "$WORK/t.err"
run_app 20 trap tlsConnect-host-unterminated > "$WORK/t.out" 2> "$WORK/t.err"
check "tlsConnect with an unterminated host name: says the string is not terminated" \
    grep -qE "app trapped in _start: out of bounds memory access: portal_socket_tls.tlsConnect argument host \(string at offset [0-9]+ is not terminated inside memory of size [0-9]+\)" "$WORK/t.err"

# the Wi-Fi scan imports the desktop does not provide trap as unlinked imports
for imp in wifiScanStart wifiScanIsRunning wifiScanGetCount wifiScanGetBest wifiScanGetRecord; do
    run_app 20 trap "$imp" > "$WORK/t.out" 2> "$WORK/t.err"
    rc=$?
    RAN+=("$imp")
    check "unlinked $imp: 134 and 'unlinked import portal_net.$imp' (rc $rc)" \
        test $rc -eq 134 -a -n "$(grep "app trapped in _start: unlinked import portal_net.$imp$" "$WORK/t.err")"
done

# every trap case the app knows was run above
known=$(run_app 20 list 2> /dev/null | sort | tr '\n' ' ')
ran=$(printf '%s\n' "${RAN[@]}" | sort | tr '\n' ' ')
check "all $(wc -w <<< "$known") trap cases of the app were run" test -n "$known" -a "$known" = "$ran"

finish
