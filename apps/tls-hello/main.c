/* tls-hello - a first TLS server app, explained in docs/quickstart.md: upper-cases every line.
 * Flags: --port N (8444), --cert PATH --key PATH (PEM files on the SD card, e.g. /sdcard/a.pem). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <portal/fs.h>
#include <portal/log.h>
#include <portal/microtask.h>
#include <portal/tls_socket.h>
#include "dev_certs.h" /* the certificate without --cert/--key, made by scripts/gen-certs.sh */

static int32_t config, listener;

/* One task per client. A step must never block the app: it takes what is there and returns. */
static pp_action serve_client(void *user, int32_t task, int32_t now_ms)
{
    int32_t session = (int32_t)(intptr_t)user, n;
    char buf[1024];
    (void)task, (void)now_ms;
    if (pp_tls_not_yet(n = tlsRecv(session, buf, sizeof buf, PP_NO_WAIT)))
        return pp_sleep(10); /* nothing there yet: run again in 10 ms */
    for (int32_t i = 0; i < n; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
    if (n <= 0 || pp_tls_send_all(session, buf, (uint32_t)n, 1000) != n)
        return tlsClose(session), pp_done(); /* the client left (n == 0) or the connection broke */
    return pp_sleep(1);
}

/* Gives each client whose handshake is done (the host runs handshakes) a task of its own. */
static pp_action accept_clients(void *user, int32_t task, int32_t now_ms)
{
    (void)user, (void)task, (void)now_ms;
    for (int32_t s; (s = tlsAccept(config, listener, NULL, 0, PP_NO_WAIT)) > 0;)
        if (pp_task_start(0, 0, serve_client, (void *)(intptr_t)s) < 0)
            tlsClose(s); /* at most 64 tasks */
    return pp_sleep(20);
}

int main(int argc, char **argv)
{
    const char *cert_path = NULL, *key_path = NULL;
    int32_t port = 8444, err;
    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--cert") == 0) cert_path = argv[i + 1];
        else if (strcmp(argv[i], "--key") == 0) key_path = argv[i + 1];
    uint32_t cert_len = sizeof dev_server_ec_cert, key_len = sizeof dev_server_ec_key;
    uint8_t *cert = cert_path ? pp_fs_read_file(cert_path, 65536, &cert_len, &err) : NULL;
    uint8_t *key = key_path ? pp_fs_read_file(key_path, 65536, &key_len, &err) : NULL;
    config = (cert_path && !cert) || (key_path && !key) ? -1 /* unreadable: logged below */
             : pp_tls_server_config(cert ? cert : dev_server_ec_cert, cert_len,
                                    key ? key : dev_server_ec_key, key_len);
    free(cert), free(key); /* the host keeps its own copies */
    SocketAddr any = pp_addr4_any((uint16_t)port);
    if (config < 0 || (listener = sockSocket(PP_AF_INET, PP_SOCK_STREAM, 0)) < 0 ||
        sockBind(listener, &any, sizeof any) < 0 || sockListen(listener, 16) < 0)
        return pp_logf(PP_LOG_ERROR, "cannot start on port %d: %s", port, pp_last_error()), 1;
    pp_logf(PP_LOG_INFO, "listening on port %d; try: openssl s_client -verify_return_error "
                         "-CAfile build/certs/ca.pem -connect 127.0.0.1:%d", port, port);
    return pp_task_start(0, 0, accept_clients, NULL) < 0;
}
