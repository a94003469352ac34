#!/usr/bin/env bash
# test_tls_client.sh - the TLS client extension (tlsClientConfigCreate/Free, tlsConnect) end to end:
# the https-get app under portal-host against real servers on loopback, with certificates made
# here by tests/tools/gen-client-certs.sh (a test root CA, an intermediate, an untrusted CA):
#   openssl s_server -www with a good certificate (by name, IPv4 and IPv6 literal, by a chain with
#   an intermediate, by the CN when there is no SAN, from the default trust store via
#   SSL_CERT_FILE; a missing SSL_CERT_FILE) and with each bad one (wrong host, expired, not yet
#   valid, self-signed, untrusted CA, missing intermediate, client-only key usage, expired and
#   wrong host at once), each refused with its reason;
#   --insecure; ALPN (-alpn); mutual TLS (-Verify); resumption (tickets, -no_ticket/-no_cache,
#   the client's --no-tickets); TLS 1.2 and 1.3 servers; a Python TLS server for Content-Length,
#   chunked and error statuses; servers that stall, send half a ServerHello or reset; a closed
#   port; and tests/apps/tls_client_app: every argument check, a handshake deadline with
#   timeout 0, and many connects at once from one app to tls-echo-server (100; 20 under
#   valgrind).
source "$(dirname "$0")/lib.sh"
: "${PORTAL_SOURCE:?}"
export PORTAL_CACHE_DIR
GET=$PORTAL_APPS/https-get.wasm
CLIENT_APP=$PORTAL_APPS/tls_client_app.wasm
SERVERS=$PORTAL_SOURCE/tests/tools/tls_test_server.py
SD=$WORK/sd
C=$SD/certs # the certificates, seen by the apps as /sdcard/certs
valgrind_scale SCALE 1 4 "x every time bound"
valgrind_scale MANY 100 20 "concurrent connects"
valgrind_scale CROWD 20 5 "handshakes behind 260 stalled ones"
TLS_MAX=$(host_tls_max)
host_clean() { ! grep -qE "Sanitizer|runtime error:|Segmentation|core dumped|Aborted|double free" "$1"; }

T_START=$(now_ms)
check "test certificates generated" bash "$PORTAL_SOURCE/tests/tools/gen-client-certs.sh" "$C"
echo "     certificates made in $(($(now_ms) - T_START)) ms"

# ---- servers ----
# sserver LABEL ADDR s_server-args...: openssl s_server -www on ADDR (127.0.0.1 or [::1]) and a
# free port (SPORT), up until stop_sserver.
sserver() {
    local label=$1 addr=$2
    shift 2
    SPORT=$(free_port)
    SLOG=$WORK/$label.s_server
    timeout 300 openssl s_server -accept "$addr:$SPORT" -www "$@" > "$SLOG" 2>&1 &
    SPID=$!
    CLEANUP_PIDS+=("$SPID")
    wait_for_log "$SLOG" ACCEPT 10 || { fail "$label: s_server did not start"; cat "$SLOG"; }
}
stop_sserver() {
    kill "$SPID" 2> /dev/null
    wait "$SPID" 2> /dev/null
}
# pyserver MODE args...: tests/tools/tls_test_server.py on 127.0.0.1 (PYPORT), until stop_pyserver.
pyserver() {
    local log=$WORK/py-$1.out # one file per server: a new one is empty until it prints its port
    timeout 300 python3 "$SERVERS" "$@" > "$log" 2>&1 &
    PYPID=$!
    CLEANUP_PIDS+=("$PYPID")
    wait_for_log "$log" "port " 10 || { fail "tls_test_server.py $1 did not start"; cat "$log"; }
    PYPORT=$(awk '/^port /{print $2; exit}' "$log")
}
stop_pyserver() {
    kill "$PYPID" 2> /dev/null
    wait "$PYPID" 2> /dev/null
}

# client_app LABEL SECONDS [portal-host options] -- MODE ARGS...: runs tests/apps/tls_client_app
# under `timeout`, takes over its CHECK lines and checks it ran to its end with a clean host.
client_app() {
    local label=$1 secs=$2
    shift 2
    timeout $((secs * SCALE)) "$PORTAL_HOST" run "$CLIENT_APP" "$@" > "$WORK/$label.out" 2> "$WORK/$label.err"
    local rc=$?
    app_checks "$WORK/$label.out" "$label"
    check "$label (tls_client_app): ran to its end, exit 0 (rc $rc)" bash -c "[ $rc -eq 0 ] && grep -qx END '$WORK/$label.out'"
    check "$label: host clean" host_clean "$WORK/$label.err"
    [ $rc -eq 0 ] || tail -5 "$WORK/$label.err"
}

# get LABEL [portal-host options --] https-get args...: runs https-get; $OUT, $ERR, $RC, $MS.
get() {
    local label=$1
    shift
    local opts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    OUT=$WORK/$label.out
    ERR=$WORK/$label.err
    local start
    start=$(now_ms)
    timeout $((60 * SCALE)) "$PORTAL_HOST" run "$GET" --sd "$SD" "${opts[@]}" -- "$@" > "$OUT" 2> "$ERR"
    RC=$?
    MS=$(($(now_ms) - start))
    host_clean "$ERR" || fail "$label: portal-host reported a crash or sanitizer error"
}
show() { sed 's/^/       /' "$OUT" "$ERR" | head -20; }
# fetches LABEL: exit 0, a status line and a body size on stdout.
fetches() {
    local label=$1
    check "$label: exit 0 (rc $RC)" test "$RC" -eq 0
    check "$label: status line printed" grep -qE '^HTTP/1\.[01] [23][0-9][0-9]' "$OUT"
    check "$label: body size printed ($(grep -o 'body: [0-9]* bytes ([a-zA-Z -]*)' "$OUT"))" \
        grep -qE '^body: [1-9][0-9]* bytes' "$OUT"
    [ "$RC" -eq 0 ] || show
}
# refused LABEL TEXT: exit 1 and TEXT (the host's reason) on stderr, no status line.
refused() {
    check "$1: exit 1 (rc $RC)" test "$RC" -eq 1
    check "$1: reason '$(grep -m1 -o 'tlsConnect: .*' "$ERR")'" grep -qF -- "$2" "$ERR"
    check "$1: nothing fetched" bash -c "! grep -q '^HTTP/' '$OUT'"
    [ "$RC" -eq 1 ] && grep -qF -- "$2" "$ERR" || show
}
CA=(--ca /sdcard/certs/root.pem)

# ---- a good certificate ----
sserver good 127.0.0.1 -cert "$C/good.pem" -key "$C/good.key"
get good-name -- "${CA[@]}" "https://localhost:$SPORT/"
fetches "good certificate, by name"
check "good: read to close (s_server -www sends neither length nor chunks)" grep -q "(read to close)" "$OUT"
check "good: TLS version, cipher, ALPN, new session, verified printed" \
    grep -qE "^connected: TLSv1\.[23], TLS[A-Z0-9-]+, ALPN none, new session, verified$" "$OUT"
check "good: server certificate subject CN=localhost" grep -qx "server certificate: CN=localhost" "$OUT"
echo "     one https-get run (start, handshake, fetch): $MS ms"
get good-ip4 -- "${CA[@]}" "https://127.0.0.1:$SPORT/index.html"
fetches "good certificate, by IPv4 literal (SAN IP:127.0.0.1)"
get good-default -- "https://localhost:$SPORT/"
refused "no --ca: the default trust store does not know the test CA" "tlsConnect: certificate of localhost is not trusted"
SSL_CERT_FILE=$C/root.pem get good-sslcertfile -- "https://localhost:$SPORT/"
fetches "no --ca, SSL_CERT_FILE names the test CA (the default trust store)"
SSL_CERT_FILE=$WORK/none.pem get no-store -- "https://localhost:$SPORT/"
check "SSL_CERT_FILE names a missing file: exit 1, no default trust store" bash -c "[ $RC -eq 1 ] &&
    grep -qF 'tlsClientConfigCreate: no default trust store: $WORK/none.pem: No such file or directory' '$ERR'"
[ "$RC" -eq 1 ] || show
get no-file -- --ca /sdcard/certs/none.pem "https://localhost:$SPORT/"
check "--ca with a missing file: exit 1, the file named" \
    bash -c "[ $RC -eq 1 ] && grep -q 'https-get: /sdcard/certs/none.pem' '$ERR'"
stop_sserver

sserver good6 "[::1]" -cert "$C/good.pem" -key "$C/good.key"
get good-ip6 -- "${CA[@]}" "https://[::1]:$SPORT/"
fetches "good certificate, by IPv6 literal [::1] (SAN IP:::1)"
stop_sserver

sserver chain 127.0.0.1 -cert "$C/leaf-int.pem" -key "$C/leaf-int.key" -cert_chain "$C/intermediate.pem"
get chain -- "${CA[@]}" "https://localhost:$SPORT/"
fetches "leaf from the intermediate, served with the intermediate"
stop_sserver

sserver nosan 127.0.0.1 -cert "$C/nosan-cn.pem" -key "$C/nosan-cn.key"
get nosan -- "${CA[@]}" "https://localhost:$SPORT/"
fetches "no subjectAltName: the CN (localhost) is used"
stop_sserver

# ---- bad certificates, each with its reason ----
bad() { # CERT TEXT WHAT
    sserver "$1" 127.0.0.1 -cert "$C/$1.pem" -key "$C/$1.key"
    get "$1" -- "${CA[@]}" "https://localhost:$SPORT/"
    refused "$3" "$2"
    stop_sserver
}
bad wronghost "tlsConnect: certificate for wrong.example is not valid for host localhost" "wrong host name"
sserver wronghost-ip 127.0.0.1 -cert "$C/wronghost.pem" -key "$C/wronghost.key"
get wronghost-ip -- "${CA[@]}" "https://127.0.0.1:$SPORT/"
refused "wrong host, by IP literal" "tlsConnect: certificate for wrong.example is not valid for host 127.0.0.1"
stop_sserver
bad expired "tlsConnect: certificate of localhost has expired" "expired"
bad notyet "tlsConnect: certificate of localhost is not yet valid" "not yet valid"
bad selfsigned "tlsConnect: certificate of localhost is not trusted (issuer: CN=localhost)" "self-signed"
bad untrusted "tlsConnect: certificate of localhost is not trusted (issuer: CN=Untrusted CA)" "signed by an untrusted CA"
bad leaf-int "tlsConnect: certificate of localhost is not trusted (issuer: CN=Test Intermediate CA)" "missing intermediate"
bad clientonly "tlsConnect: certificate of localhost is not allowed for TLS servers (key usage)" "client-only extended key usage"
bad expired-wrong "tlsConnect: certificate for wrong.example is not valid for host localhost; certificate of localhost has expired" "two problems at once, listed together"

# ---- --insecure: no verification, and said so ----
sserver insecure 127.0.0.1 -cert "$C/selfsigned.pem" -key "$C/selfsigned.key"
get insecure -- --insecure "https://localhost:$SPORT/"
fetches "--insecure on the self-signed certificate"
check "--insecure: the session info says NOT VERIFIED" grep -qE "^connected: .*, NOT VERIFIED \(--insecure\)$" "$OUT"
check "--insecure: the server certificate's subject is still reported" grep -qx "server certificate: CN=localhost" "$OUT"
check "--insecure: the host logged a warning for the connect" grep -qi "warn.*verif\|verif.*warn\|W .*verif" "$ERR"
stop_sserver

# ---- ALPN ----
sserver alpn 127.0.0.1 -cert "$C/good.pem" -key "$C/good.key" -alpn "h2,http/1.1"
get alpn1 -- "${CA[@]}" --alpn http/1.1 "https://localhost:$SPORT/"
fetches "ALPN http/1.1"
check "ALPN: http/1.1 negotiated" grep -q "ALPN http/1.1," "$OUT"
get alpn2 -- "${CA[@]}" --alpn "spdy/1,h2,http/1.1" "https://localhost:$SPORT/"
check "ALPN of three names: the server's first choice, h2" grep -q "ALPN h2," "$OUT"
get alpn3 -- "${CA[@]}" --alpn "spdy/1,http/1.1" "https://localhost:$SPORT/"
check "ALPN spdy/1,http/1.1: the one the server has, http/1.1" grep -q "ALPN http/1.1," "$OUT"
get alpn4 -- "${CA[@]}" --alpn foo "https://localhost:$SPORT/"
refused "ALPN without a common protocol (OpenSSL 3 refuses: no_application_protocol)" \
    "tlsConnect: handshake failed: server sent alert 120"
get alpn-bad -- "${CA[@]}" --alpn "h2,,x" "https://localhost:$SPORT/"
check "a bad ALPN list: exit 1, tlsClientConfigCreate's reason" \
    bash -c "[ $RC -eq 1 ] && grep -qF 'tlsClientConfigCreate: bad ALPN list: empty protocol name at byte 3' '$ERR'"
stop_sserver

# ---- mutual TLS ----
sserver mtls 127.0.0.1 -cert "$C/good.pem" -key "$C/good.key" -Verify 1 -CAfile "$C/root.pem"
get mtls-none -- "${CA[@]}" "https://localhost:$SPORT/"
if [ "$TLS_MAX" = 1.3 ]; then
    # TLS 1.3: the client's handshake is over before the server checks its certificate, so the
    # server's alert arrives on the first read
    check "mutual TLS without a client certificate (TLS 1.3): exit 1, the server's alert on the first read (rc $RC)" \
        bash -c "[ $RC -eq 1 ] && grep -qE 'tlsRecv: .*alert' '$ERR' && ! grep -q '^HTTP/' '$OUT'"
else
    refused "mutual TLS without a client certificate" "tlsConnect: handshake failed: server sent alert 40"
fi
get mtls -- "${CA[@]}" --cert /sdcard/certs/client.pem --key /sdcard/certs/client.key "https://localhost:$SPORT/"
fetches "mutual TLS with the client certificate"
check "mutual TLS: s_server verified the client (CN=portal-test-client)" grep -q "portal-test-client" "$SLOG" "$OUT"
get mtls-mismatch -- "${CA[@]}" --cert /sdcard/certs/client.pem --key /sdcard/certs/good.key "https://localhost:$SPORT/"
check "a key that does not match the client certificate: exit 1, said so" \
    bash -c "[ $RC -eq 1 ] && grep -qF 'tlsClientConfigCreate: client key does not match the certificate' '$ERR'"
stop_sserver

# ---- resumption: two fetches in one run share the config ----
resumes() { # LABEL WANT(resumed|new) s_server-args... -- https-get-args...
    local label=$1 want=$2
    shift 2
    local sargs=()
    while [ "$1" != -- ]; do sargs+=("$1"); shift; done
    shift
    sserver "$label" 127.0.0.1 -cert "$C/good.pem" -key "$C/good.key" "${sargs[@]}"
    get "$label" -- "${CA[@]}" --repeat 2 "$@" "https://localhost:$SPORT/"
    check "$label: two fetches (rc $RC)" test "$(grep -c '^HTTP/1.0 200' "$OUT")" -eq 2
    check "$label: the first is a new session" bash -c "grep '^connected:' '$OUT' | head -1 | grep -q 'new session'"
    if [ "$want" = resumed ]; then
        check "$label: the second is resumed" bash -c "grep '^connected:' '$OUT' | sed -n 2p | grep -q ', resumed,'"
    else
        check "$label: the second is a new session too" bash -c "grep '^connected:' '$OUT' | sed -n 2p | grep -q 'new session'"
    fi
    [ "$RC" -eq 0 ] || show
    stop_sserver
}
resumes "resumption with tickets" resumed --
resumes "server -no_ticket -no_cache" new -no_ticket -no_cache --
resumes "client --no-tickets" new -- --no-tickets
resumes "TLS 1.2 server" resumed -tls1_2 --
check "TLS 1.2 server: TLSv1.2 negotiated" grep -q "^connected: TLSv1.2," "$OUT"
if [ "$TLS_MAX" = 1.3 ]; then
    resumes "TLS 1.3 server" resumed -tls1_3 --
    check "TLS 1.3 server: TLSv1.3 negotiated" grep -q "^connected: TLSv1.3," "$OUT"
else
    sserver tls13 127.0.0.1 -cert "$C/good.pem" -key "$C/good.key" -tls1_3
    get tls13 -- "${CA[@]}" "https://localhost:$SPORT/"
    refused "a TLS 1.3-only server (this mbedTLS speaks TLS ${TLS_MAX:-?} at most)" "tlsConnect: handshake failed"
    stop_sserver
fi

# ---- HTTP framing: Content-Length, chunked, statuses (Python's TLS server) ----
pyserver http "$C/good.pem" "$C/good.key"
get http-len -- "${CA[@]}" "https://localhost:$PYPORT/len/100000"
fetches "Content-Length"
check "Content-Length: 100000 bytes" grep -qx "body: 100000 bytes (Content-Length)" "$OUT"
get http-fragment -- "${CA[@]}" "https://localhost:$PYPORT/len/500#part-2"
check "a #fragment stays with the client: /len/500 asked, 500 bytes" grep -qx "body: 500 bytes (Content-Length)" "$OUT"
get http-chunked -- "${CA[@]}" "https://localhost:$PYPORT/chunked/25000"
fetches "chunked"
check "chunked: 25000 bytes (extensions and trailer skipped)" grep -qx "body: 25000 bytes (chunked)" "$OUT"
get http-301 -- "${CA[@]}" "https://localhost:$PYPORT/status/301"
check "301: the status line, exit 0" bash -c "[ $RC -eq 0 ] && grep -q '^HTTP/1.1 301 Test' '$OUT'"
get http-404 -- "${CA[@]}" "https://localhost:$PYPORT/status/404"
check "404: exit 1, said so" bash -c "[ $RC -eq 1 ] && grep -q 'the server answered 404' '$ERR'"
stop_pyserver

# ---- servers that stall, half-answer or reset; a closed port ----
pyserver stall
get stall -- "${CA[@]}" --timeout 1500 "https://localhost:$PYPORT/"
refused "a server that never answers the ClientHello" "tlsConnect: timed out"
check "stall: gave up after --timeout 1500 ($MS ms for the whole run)" test "$MS" -lt $((1500 + 8000 * SCALE))
if [ "$PORTAL_VALGRIND" = 1 ]; then STALL_DEADLINE=4000; else STALL_DEADLINE=1500; fi
client_app stall 60 --handshake-deadline-ms "$STALL_DEADLINE" -- stall "$PYPORT" "$STALL_DEADLINE" "$SCALE"
stop_pyserver

pyserver half-hello
get half -- "${CA[@]}" --timeout 1500 "https://localhost:$PYPORT/"
refused "a server that sends half a ServerHello, then nothing" "tlsConnect: timed out"
stop_pyserver
pyserver reset
get reset -- "${CA[@]}" "https://localhost:$PYPORT/"
refused "a server that resets the connection" "tlsConnect: server closed the connection during the handshake"
stop_pyserver
CLOSED=$(free_port)
get closed -- "${CA[@]}" "https://127.0.0.1:$CLOSED/"
refused "a closed port" "tlsConnect: connect to 127.0.0.1:$CLOSED failed: Connection refused"
get noname -- "${CA[@]}" "https://no-such-host.invalid/"
refused "a name that does not resolve" "tlsConnect: cannot resolve no-such-host.invalid"

# ---- every argument check of the imports ----
client_app errors 120 --max-tls-sessions 8 -- errors "$CLOSED" 8

# ---- many connects at once from one app, to tls-echo-server ----
EPORT=$(free_port)
# (the server's admission control closes handshakes beyond --max-pending-handshakes, default 8,
# from one address: all $MANY come from 127.0.0.1 or ::1 at once)
# --foreground: timeout passes our SIGTERM to portal-host only; without it, it also signals its
# process group, portal-host gets a second SIGTERM during its shutdown and ends with 143.
timeout --foreground 300 "$PORTAL_HOST" run "$PORTAL_APPS/tls-echo-server.wasm" --max-tls-sessions 128 \
    --max-pending-handshakes 128 -- \
    --port "$EPORT" --max-clients 128 > "$WORK/echo.out" 2> "$WORK/echo.err" &
EPID=$!
CLEANUP_PIDS+=("$EPID")
wait_for_log "$WORK/echo.err" "try: openssl" $((30 * SCALE)) || fail "tls-echo-server did not start"
t0=$(now_ms)
client_app many 120 --max-tls-sessions 128 -- many "$MANY" "$EPORT" "$SCALE"
echo "     $MANY connects at once: the app ran $(($(now_ms) - t0)) ms"
check "tls-echo-server saw $MANY clients connect" test "$(grep -c 'connected (' "$WORK/echo.err")" -ge "$MANY"
# ---- many handshakes in flight while the app only sleeps: the event loop watches them all ----
# 260 connects to a server that never answers come first, then $CROWD to a tls-echo-server that
# drops handshakes not finished within 1 s; the app sleeps 3 s in the event loop and then finds
# them all finished (the loop used to watch only 256 descriptors: these were looked at only when
# the sleep ended, and the server had dropped them by then).
CPORT=$(free_port)
timeout --foreground 300 "$PORTAL_HOST" run "$PORTAL_APPS/tls-echo-server.wasm" --max-tls-sessions 64 \
    --max-pending-handshakes 64 --handshake-deadline-ms $((1000 * SCALE)) -- \
    --port "$CPORT" --max-clients 64 > "$WORK/crowd-echo.out" 2> "$WORK/crowd-echo.err" &
CEPID=$!
CLEANUP_PIDS+=("$CEPID")
wait_for_log "$WORK/crowd-echo.err" "try: openssl" $((30 * SCALE)) || fail "tls-echo-server (crowd) did not start"
pyserver stall
client_app crowd 120 --max-tls-sessions 320 --handshake-deadline-ms 60000 -- \
    crowd "$PYPORT" "$CPORT" 260 "$CROWD" "$SCALE"
stop_pyserver
kill -TERM "$CEPID" 2> /dev/null
wait "$CEPID" 2> /dev/null
kill -TERM "$EPID" 2> /dev/null
wait "$EPID"
rc=$?
check "tls-echo-server exited 0 after SIGTERM (rc $rc)" test $rc -eq 0
[ $rc -eq 0 ] || { echo "     tls-echo-server's log, the end:"; grep -v "connected (\|closed (peer" "$WORK/echo.err" | tail -8; }

echo "     test_tls_client.sh took $(($(now_ms) - T_START)) ms"
finish
