#!/usr/bin/env bash
# client.sh BUILD_DIR [--quick] [--update FILE] - the client row of `make bench`: handshakes/s of
# our TLS client (bench/bench_tls_client.c, a wasm app calling tlsConnect under portal-host) next
# to the raw mbedTLS client (bench/bench_client) against the same `openssl s_server` on loopback,
# same certificate (ECDSA P-256, then RSA-2048), both verifying it against the build's development
# CA for "localhost". s_server serves one connection at a time, so both clients run one sequential
# connect-handshake-close loop. Every run does an exact number of handshakes and fails when it did
# fewer (a failed run shows as "failed", never as a smaller figure). Prints the markdown section
# on stdout (run.sh puts it into docs/benchmarks.md); --update FILE replaces that section in FILE
# instead (or adds it before "## Instructions"). Exit 1 when a figure is missing. ~45 s (--quick ~8).
set -uo pipefail
B=$(cd "${1:?usage: client.sh BUILD_DIR [--quick] [--update FILE]}" && pwd)
shift
QUICK="" UPDATE=""
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=--quick ;;
    --update) UPDATE=${2:?--update needs a file}; shift ;;
    *) echo "client.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
CLIENT=$B/bench/bench_client
HOST=$B/portal-host
APP=$B/apps-wasm/bench-tls-client.wasm
CERTS=$B/certs
export PORTAL_CACHE_DIR=${PORTAL_CACHE_DIR:-$B/wasm-cache}
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
STARTED=$SECONDS

if [ "$QUICK" = --quick ]; then RUNS=3; FULL=30; RESUMED=200; else RUNS=5; FULL=200; RESUMED=1000; fi
CLIENTS=(ours raw)
PORT=24300

wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
# CPU seconds (user+sys) a process has used so far, from /proc/PID/stat fields 14 and 15.
cpu_of() { awk -v t="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# start_s_server CERT KEY PORT EXTRA... - TLS 1.2 only: bench_client speaks 1.2 on every mbedTLS,
# ours would speak 1.3 with mbedTLS 3, and the two must compare one protocol. stdin is a FIFO held
# open, so s_server never sees end of input; sets SRV.
start_s_server() {
    local cert=$1 key=$2 port=$3; shift 3
    [ -p "$WORK/s_server.in" ] || { mkfifo "$WORK/s_server.in"; exec 7<> "$WORK/s_server.in"; }
    openssl s_server -accept "$port" -cert "$cert" -key "$key" -tls1_2 -quiet "$@" \
        < "$WORK/s_server.in" > /dev/null 2> "$WORK/s_server.$port.log" &
    SRV=$!
    PIDS+=("$SRV")
    wait_port "$port" || { echo "client.sh: s_server did not start" >&2; cat "$WORK/s_server.$port.log" >&2; }
}
stop_s_server() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# one_run CLIENT MODE PORT SERVER-PID COUNT - one client run; appends to runs.LABEL.CLIENT.MODE a
# line "rate=… seconds=… client_cpu=… server_cpu=… cipher=…", or records why there is none.
declare -A R LO HI N OPS CPU NOTE CIPHER CMS
one_run() {
    local who=$1 mode=$2 port=$3 srv=$4 count=$5 out rc before after resume=""
    local lines=$WORK/runs.$LABEL.$who.$mode
    before=$(cpu_of "$srv")
    if [ "$who" = ours ]; then
        [ "$mode" = resumed ] && resume=--resume
        out=$(timeout 120 "$HOST" run "$APP" -- --port "$port" --count "$count" $resume 2> "$WORK/err"); rc=$?
    else
        [ "$mode" = resumed ] && resume=resume
        out=$(timeout 120 "$CLIENT" handshakes 127.0.0.1 "$port" "$count" 1 noecho $resume \
            "ca=$CERTS/ca.pem" 2> "$WORK/err"); rc=$?
    fi
    after=$(cpu_of "$srv")
    # (leaving out portal-host's list of imports it does not provide: the app's own check says it)
    grep -v -e '^portal-host: warning: these imports' -e '^  [a-z_]*\.[A-Za-z]* (' "$WORK/err" > "$WORK/err.own"
    sed "s/^/$LABEL $who $mode: /" "$WORK/err.own" >> "$WORK/client.err"
    local line; line=$(grep '^RESULT' <<< "$out")
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        local why; why=$(tail -1 "$WORK/err.own" | cut -c1-100)
        [ $rc -eq 124 ] && why="timed out after 120 s"
        NOTE[$LABEL,$who,$mode]="failed: ${why:-exit $rc}"
        return
    fi
    # raw reports user and sys apart, ours one process-CPU figure: both become client_cpu
    awk -v s="$(awk -v a="$before" -v b="$after" 'BEGIN{printf "%.2f", b - a}')" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        c = ("client_cpu" in v) ? v["client_cpu"] : v["client_user"] + v["client_sys"]
        printf "rate=%s seconds=%s client_cpu=%.3f server_cpu=%s handshakes=%s cipher=%s\n",
            v["rate"], v["seconds"], c, s, v["handshakes"], v["cipher"] }' <<< "$line" >> "$lines"
}

# summarise CLIENT MODE COUNT - median, min, max of the rate over RUNS runs that all passed.
summarise() {
    local who=$1 mode=$2 k=$LABEL,$1,$2 lines=$WORK/runs.$LABEL.$1.$2
    OPS[$k]="$3 handshakes"
    touch "$lines"
    N[$k]=$(wc -l < "$lines")
    [ "${N[$k]}" -eq "$RUNS" ] || { NOTE[$k]=${NOTE[$k]:-failed}; return; }
    local sorted mid; sorted=$(sed 's/^rate=\([^ ]*\) /\1 /' "$lines" | sort -n)
    mid=$(sed -n "$(( (RUNS + 1) / 2 ))p" <<< "$sorted")
    R[$k]=${mid%% *}
    LO[$k]=$(head -1 <<< "$sorted" | cut -d' ' -f1)
    HI[$k]=$(tail -1 <<< "$sorted" | cut -d' ' -f1)
    CPU[$k]=$(awk '{for(i=2;i<=NF;i++){split($i,kv,"="); v[kv[1]]=kv[2]}
        printf "%.2f | %.2f | %.2f", v["client_cpu"], v["server_cpu"], v["seconds"]}' <<< "$mid")
    CIPHER[$k]=$(sed 's/.*cipher=//' <<< "$mid")
    # client CPU ms per handshake over all runs
    CMS[$k]=$(awk '{for(i=1;i<=NF;i++){split($i,kv,"="); v[kv[1]]=kv[2]} c += v["client_cpu"]; h += v["handshakes"]}
        END { if (h > 0) printf "%.3f", 1000 * c / h }' "$lines")
}

measure() { # label cert key
    LABEL=$1
    local cert=$2 key=$3 full_port resumed_port full_srv resumed_srv
    full_port=$((PORT += 1)); start_s_server "$cert" "$key" "$full_port" -no_ticket; full_srv=$SRV
    resumed_port=$((PORT += 1)); start_s_server "$cert" "$key" "$resumed_port"; resumed_srv=$SRV
    # the clients take turns, run by run, so a change in the machine's load hits both alike
    for _ in $(seq "$RUNS"); do
        for who in "${CLIENTS[@]}"; do
            one_run "$who" full "$full_port" "$full_srv" "$FULL"
            one_run "$who" resumed "$resumed_port" "$resumed_srv" "$RESUMED"
        done
    done
    stop_s_server "$full_srv"; stop_s_server "$resumed_srv"
    for who in "${CLIENTS[@]}"; do
        summarise "$who" full "$FULL"
        summarise "$who" resumed "$RESUMED"
        echo "bench: client $LABEL $who: full ${R[$LABEL,$who,full]:-?}/s resumed ${R[$LABEL,$who,resumed]:-?}/s ($((SECONDS - STARTED)) s)" >&2
    done
}

[ -x "$CLIENT" ] && [ -x "$HOST" ] && [ -f "$APP" ] || { echo "client.sh: build first (make build)" >&2; exit 2; }
measure ec "$CERTS/server-ec.pem" "$CERTS/server-ec.key"
measure rsa "$CERTS/server-rsa.pem" "$CERTS/server-rsa.key"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || b == 0) print "–"; else printf "%.2f", a / b }'; }
cell() { local k=$1,$2,$3; if [ -n "${R[$k]:-}" ]; then echo "${R[$k]}"; else echo "${NOTE[$k]:-–}"; fi; }
declare -A CERTNAME=([ec]="ECDSA P-256" [rsa]="RSA-2048")
declare -A WHO=([ours]="ours (wasm, tlsConnect)" [raw]="raw mbedTLS")
section() {
    echo "## TLS client: handshakes against \`openssl s_server\`"
    echo
    echo "Produced by ${BENCH_CLIENT_VIA:-\`bash bench/client.sh build${QUICK:+ --quick}\` (also part of \`make bench\`)} on"
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') in $((SECONDS - STARTED)) s; load average then: $(cut -d' ' -f1-3 /proc/loadavg)."
    [ "$QUICK" = --quick ] && echo && echo "**Quick run** (--quick): few handshakes per run, figures are rough."
    echo
    echo "Clients: **ours** = bench/bench_tls_client.c (C, wasm) under portal-host: \`tlsConnect\` (waiting"
    echo "for the handshake), \`tlsSessionInfo\` (checks that the certificate was verified and whether the"
    echo "session was resumed), \`tlsClose\`; **raw** = \`bench/bench_client handshakes … 1 noecho ca=…\`"
    echo "(native mbedTLS, no WASM, no host layer: the ceiling), one thread. Each is one sequential loop of"
    echo "TCP connect, handshake, close, no application data: \`openssl s_server\` serves one connection at a"
    echo "time. Both verify the server's certificate against the development CA for host name \`localhost\`"
    echo "(also sent as SNI) and offer the same suites and groups in the same order; s_server speaks TLS 1.2"
    echo "only (\`-tls1_2\`: bench_client speaks nothing newer) and follows the client's order (X25519). Full"
    echo "handshakes go to an s_server with \`-no_ticket\` and the clients offer no session (ours: config flag"
    echo "\`PP_TLS_NO_TICKETS\`); resumed ones to a second s_server with tickets, after one full handshake"
    echo "that is not counted: the client checks that every counted handshake resumed. Each figure is the"
    echo "median of $RUNS runs of an exact number of handshakes (the two clients take turns, run by run), and a"
    echo "run fails when it did fewer. Client CPU = what the client process used in the timed loop (ours:"
    echo "the whole portal-host process, \`CLOCK_PROCESS_CPUTIME_ID\`; raw: getrusage), per handshake over all"
    echo "runs: with one connection at a time the client and s_server alternate, so the wall time is"
    echo "roughly their CPU added up, and the client's CPU is the figure that compares the two clients."
    echo
    echo "| client | certificate | full hs/s | resumed hs/s | full vs raw | resumed vs raw | client CPU ms / full hs | client CPU ms / resumed hs | cipher suite |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for label in ec rsa; do
        for who in "${CLIENTS[@]}"; do
            echo "| ${WHO[$who]} | ${CERTNAME[$label]} | $(cell $label $who full) | $(cell $label $who resumed) | $(ratio "${R[$label,$who,full]:-}" "${R[$label,raw,full]:-}") | $(ratio "${R[$label,$who,resumed]:-}" "${R[$label,raw,resumed]:-}") | ${CMS[$label,$who,full]:-–} | ${CMS[$label,$who,resumed]:-–} | ${CIPHER[$label,$who,full]:-–} |"
        done
    done
    echo
    echo "<details><summary>Spread and CPU per row (client)</summary>"
    echo
    echo "| measure | client | certificate | operations per run | runs | median | min | max | client CPU s | s_server CPU s | wall s |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for label in ec rsa; do
        for mode in full resumed; do
            for who in "${CLIENTS[@]}"; do
                local k=$label,$who,$mode
                echo "| $mode handshakes/s | $who | ${CERTNAME[$label]} | ${OPS[$k]} | ${N[$k]:-0} of $RUNS | $(cell $label $who $mode) | ${LO[$k]:-–} | ${HI[$k]:-–} | ${CPU[$k]:-– | – | –} |"
            done
        done
    done
    echo
    echo "</details>"
    if [ -s "$WORK/client.err" ]; then
        echo
        echo "Client errors in this run:"
        echo
        sort -u "$WORK/client.err" | head -20 | sed 's/^/    /'
    fi
}
section > "$WORK/section.md"
if [ -n "$UPDATE" ]; then
    # replace the old section (its heading up to the next "## " heading), else add it before
    # "## Instructions", else at the end
    awk -v new="$WORK/section.md" '
        function put() { while ((getline l < new) > 0) print l; print ""; done = 1 }
        /^## TLS client: / { put(); skip = 1; next }
        skip && /^## / { skip = 0 }
        skip { next }
        !done && /^## Instructions/ { put() }
        { print }
        END { if (!done) { print ""; put() } }' "$UPDATE" > "$WORK/updated.md" && cat "$WORK/updated.md" > "$UPDATE"
    echo "bench: client section written into $UPDATE" >&2
else
    cat "$WORK/section.md"
fi
echo "bench: client row done in $((SECONDS - STARTED)) s" >&2
missing=0
for k in ec,ours,full ec,raw,full ec,ours,resumed ec,raw,resumed rsa,ours,full rsa,raw,full rsa,ours,resumed rsa,raw,resumed; do
    [ -n "${R[$k]:-}" ] || missing=1
done
exit $missing
