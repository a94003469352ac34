/* bench_tls_client.c - the wasm app of `make bench`'s client row: COUNT sequential TLS client
 * handshakes (tlsConnect, tlsSessionInfo, tlsClose; no data) against a server on 127.0.0.1,
 * verifying the server's certificate against the build's development CA for host "localhost".
 *   portal-host run bench-tls-client.wasm -- --port P --count N [--resume]
 * Full (default): the config has PP_TLS_NO_TICKETS, so every handshake is a full one; a resumed
 * one fails the run. --resume: one full handshake first (not counted, not timed) leaves a ticket
 * in the config, then every counted handshake must have resumed it (tlsSessionInfo bit 0).
 * It counts what it did and exits 1, saying why on stderr and printing no RESULT line, when it
 * did fewer handshakes than asked; on success it prints one line, as bench/bench_client does:
 *   RESULT mode=full handshakes=N resumed=R rate=HS_PER_S seconds=S client_cpu=S cipher=NAME
 * (client_cpu: CPU seconds of the whole portal-host process during the timed loop). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <portal/portal.h>
#include <portal/socket.h>
#include <portal/tls_socket.h>
#include "dev_certs.h" /* dev_ca_cert, made by scripts/gen-certs.sh at build time */

static double clock_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One connect + handshake + close. 1 when the session was resumed, 0 when it was a full
 * handshake, -1 on failure (said on stderr). `cipher` receives the negotiated suite. */
static int one_handshake(int32_t config, const SocketAddr *server, char *cipher, size_t cipher_len)
{
    int32_t session = tlsConnect(config, "localhost", server, sizeof *server, 0, PP_WAIT_FOREVER);
    if (session < 0) {
        fprintf(stderr, "bench-tls-client: %s\n", pp_last_error()); /* "tlsConnect: why" */
        return -1;
    }
    pp_tls_session_info info;
    int32_t got = tlsSessionInfo(session, &info, sizeof info);
    int result = -1;
    if (got != (int32_t)sizeof info)
        fprintf(stderr, "bench-tls-client: %s\n", pp_last_error());
    else if (!(info.flags & PP_TLS_INFO_PEER_VERIFIED))
        fprintf(stderr, "bench-tls-client: the server's certificate was not verified\n");
    else {
        snprintf(cipher, cipher_len, "%s", info.cipher);
        result = (info.flags & PP_TLS_INFO_RESUMED) != 0;
    }
    tlsClose(session);
    return result;
}

int main(int argc, char **argv)
{
    long port = 0, count = 0;
    int resume = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atol(argv[++i]);
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) count = atol(argv[++i]);
        else if (strcmp(argv[i], "--resume") == 0) resume = 1;
        else {
            fprintf(stderr, "bench-tls-client: unknown argument %s\n", argv[i]);
            return 2;
        }
    if (port < 1 || port > 65535 || count < 1) {
        fprintf(stderr, "usage: bench-tls-client --port P --count N [--resume]\n");
        return 2;
    }
    if (!pp_has_features(PP_FEATURE_EXT_TLS_CLIENT | PP_FEATURE_EXT_TLS_SESSION_INFO)) {
        fprintf(stderr, "bench-tls-client: this host has no TLS client extension\n");
        return 1;
    }
    int32_t config = tlsClientConfigCreate(dev_ca_cert, sizeof dev_ca_cert, NULL, 0, NULL, 0, NULL,
                                           0, resume ? 0 : PP_TLS_NO_TICKETS);
    if (config < 0) {
        fprintf(stderr, "bench-tls-client: %s\n", pp_last_error());
        return 1;
    }
    SocketAddr server = {.family = PP_AF_INET, .port = (uint16_t)port, .ip = {127, 0, 0, 1}};
    char cipher[64] = "";
    int ready = !resume || one_handshake(config, &server, cipher, sizeof cipher) == 0;
    long done = 0, resumed = 0;
    double wall0 = clock_s(CLOCK_MONOTONIC), cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    while (ready && done < count) {
        int r = one_handshake(config, &server, cipher, sizeof cipher);
        if (r < 0)
            break;
        done++;
        resumed += r;
    }
    double wall = clock_s(CLOCK_MONOTONIC) - wall0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    tlsClientConfigFree(config);
    if (done < count) {
        fprintf(stderr, "bench-tls-client: handshakes: did %ld of %ld\n", done, count);
        return 1;
    }
    if (resume && resumed < done) {
        fprintf(stderr, "bench-tls-client: resume: only %ld of %ld handshakes resumed\n", resumed,
                done);
        return 1;
    }
    if (!resume && resumed > 0) {
        fprintf(stderr, "bench-tls-client: full: %ld of %ld handshakes were resumed\n", resumed,
                done);
        return 1;
    }
    printf("RESULT mode=%s handshakes=%ld resumed=%ld rate=%.1f seconds=%.3f client_cpu=%.3f "
           "cipher=%s\n",
           resume ? "resumed" : "full", done, resumed, (double)done / wall, wall, cpu, cipher);
    return 0;
}
