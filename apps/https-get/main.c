/* https-get - the example TLS client app: fetches one https:// URL with GET, verifying the server's
 * certificate and host name, and prints what it got:
 *   portal-host run https-get.wasm [--sd DIR] -- [options] https://HOST[:PORT]/PATH[?QUERY]
 * HOST is a name, an IPv4 address or an IPv6 address in brackets ([::1]). Options:
 *   --ca FILE       trust the CA certificate(s) in FILE (PEM, on the SD card: /sdcard/...) instead
 *                   of the host's default trust store
 *   --cert FILE --key FILE   a client certificate and its key for mutual TLS (SD card files)
 *   --alpn LIST     offer these application protocols (ALPN), e.g. http/1.1 or h2,http/1.1
 *   --insecure      DEVELOPMENT ONLY: do not verify the server at all (said in the output)
 *   --no-tickets    never resume a TLS session (every handshake is a full one)
 *   --timeout MS    the most each step may wait: connect + handshake, each send, each read
 *                   (default 10000)
 *   --repeat N      fetch N times with the same client config: the 2nd fetch on resumes the TLS
 *                   session unless the server (or --no-tickets) refuses
 * Output (stdout), per fetch: "connected: ..." (TLS version, cipher, ALPN, new or resumed,
 * verified or not), "server certificate: SUBJECT", the status line, "body: N bytes (how)".
 * Exit status: 0 when every response was 2xx or 3xx; 1 on a failure (the reason on stderr, e.g.
 * "https-get: tlsConnect: certificate of example.org has expired"); 2 for a bad command line.
 *
 * A one-shot command, so it works from main with bounded waits (every call has a timeout). An app
 * that keeps running connects with timeout 0 and lets sockPoll say when the session is ready
 * (tests/apps/tls_client_app does that for 100 connections at once). Details: docs/extensions.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <portal/fs.h>
#include <portal/portal.h>
#include <portal/tls_socket.h>

#define HEADER_MAX 16384 /* status line + headers */

typedef struct url {
    char host[256]; /* without brackets: what tlsConnect verifies */
    char authority[272]; /* the Host header: "[::1]:8443", "example.org" */
    int32_t port;
    const char *path; /* the request target: path and query, without the #fragment */
    int path_len;
} url;

static int32_t timeout_ms = 10000;

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "https-get: %s%s%s\n", what, why ? ": " : "", why ? why : "");
    return 1;
}

/* https://HOST[:PORT][/PATH][?QUERY][#FRAGMENT] -> u; 0 on a bad URL. The fragment stays with
 * the client (RFC 9110 4.2.4): it is not sent. */
static int parse_url(const char *text, url *u)
{
    if (strncmp(text, "https://", 8) != 0)
        return 0;
    const char *host = text + 8, *after; /* `after`: just past the host */
    size_t host_len;
    int ipv6 = *host == '[';
    if (ipv6) {
        after = strchr(++host, ']');
        if (!after)
            return 0;
        host_len = (size_t)(after++ - host);
    } else {
        after = host + strcspn(host, ":/?#");
        host_len = (size_t)(after - host);
    }
    if (host_len == 0 || host_len >= sizeof u->host)
        return 0;
    memcpy(u->host, host, host_len);
    u->host[host_len] = 0;
    u->port = 443;
    if (*after == ':') {
        char *end;
        long port = strtol(after + 1, &end, 10);
        if (end == after + 1 || port < 1 || port > 65535 || (*end && !strchr("/?#", *end)))
            return 0;
        u->port = (int32_t)port;
        after = end;
    } else if (*after && !strchr("/?#", *after)) {
        return 0;
    }
    u->path = *after == '/' || *after == '?' ? after : "/";
    u->path_len = u->path == after ? (int)strcspn(after, "#") : 1;
    const char *open = ipv6 ? "[" : "", *close = ipv6 ? "]" : "";
    if (u->port == 443)
        snprintf(u->authority, sizeof u->authority, "%s%s%s", open, u->host, close);
    else
        snprintf(u->authority, sizeof u->authority, "%s%s%s:%d", open, u->host, close,
                 (int)u->port);
    return 1;
}

/* A file from the SD card, NUL-terminated; *len counts the NUL (as PEM parsers want). */
static uint8_t *load_file(const char *path, uint32_t *len)
{
    int32_t err;
    uint8_t *data = pp_fs_read_file(path, 1u << 20, len, &err);
    if (!data)
        fail(path, err ? pp_last_error() : "a directory, larger than 1 MiB or out of memory");
    else
        *len += 1;
    return data;
}

static void print_session(int32_t session)
{
    pp_tls_session_info_ex info;
    if (pp_tls_session_info_ex_get(session, &info) <= 0) {
        printf("connected (no session info: %s)\n", pp_last_error());
        return;
    }
    printf("connected: %s, %s, ALPN %s, %s, %s\n",
           info.protocol_version == PP_TLS_VERSION_1_3 ? "TLSv1.3" : "TLSv1.2", info.cipher,
           info.alpn[0] ? info.alpn : "none",
           (info.flags & PP_TLS_INFO_RESUMED) ? "resumed" : "new session",
           (info.flags & PP_TLS_INFO_UNVERIFIED) ? "NOT VERIFIED (--insecure)"
           : (info.flags & PP_TLS_INFO_PEER_VERIFIED) ? "verified"
                                                      : "not verified");
    printf("server certificate: %s\n", info.subject);
}

/* ---- the response: headers, then a body sized by Content-Length, chunked or read to close ---- */

typedef struct response {
    char head[HEADER_MAX + 1];
    uint32_t head_len;
    int status;
    int chunked;
    long long content_length; /* -1: none */
    unsigned long long body;  /* body bytes seen */
    /* the chunked decoder */
    enum { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE } ch;
    unsigned long long ch_left;
    int ch_digits, ch_line;
} response;

/* The value of header `name` (case-insensitive) in the head, or NULL. */
static const char *header(const response *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = strstr(r->head, "\r\n"); line && line[2] != '\r';
         line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, name, n) == 0 && line[2 + n] == ':')
            return line + 3 + n + strspn(line + 3 + n, " \t");
    return NULL;
}

/* Parses the status line and headers; 0 when they make no sense. */
static int parse_head(response *r)
{
    if (sscanf(r->head, "HTTP/1.%*1[01] %3d", &r->status) != 1 || r->status < 100)
        return 0;
    const char *te = header(r, "Transfer-Encoding"), *cl = header(r, "Content-Length");
    r->chunked = te && strncasecmp(te, "chunked", 7) == 0;
    r->content_length = -1;
    if (cl && !r->chunked) {
        char *end;
        r->content_length = strtoll(cl, &end, 10);
        if (end == cl || r->content_length < 0)
            return 0;
    }
    if (r->status == 204 || r->status == 304)
        r->content_length = 0; /* no body, whatever the headers say */
    return 1;
}

/* Feeds body bytes through the chunked decoder; 0 on a malformed chunk. */
static int feed_chunked(response *r, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && r->ch != CH_DONE; i++) {
        uint8_t c = p[i];
        switch (r->ch) {
        case CH_SIZE:
        case CH_EXT:
            if (c == '\n') {
                if (!r->ch_digits)
                    return 0;
                r->ch = r->ch_left ? CH_DATA : CH_TRAILER;
                r->ch_line = 0;
            } else if (r->ch == CH_SIZE && c != '\r') {
                const char *hex = "0123456789abcdef", *d = strchr(hex, c | 0x20);
                if (c == ';' || c == ' ' || c == '\t') {
                    r->ch = CH_EXT;
                } else if (!d || !*d || r->ch_left >> 56) {
                    return 0;
                } else {
                    r->ch_left = r->ch_left * 16 + (unsigned)(d - hex);
                    r->ch_digits++;
                }
            }
            break;
        case CH_DATA: {
            size_t take = n - i < r->ch_left ? n - i : (size_t)r->ch_left;
            r->body += take;
            r->ch_left -= take;
            i += take - 1;
            if (r->ch_left == 0)
                r->ch = CH_DATA_END;
            break;
        }
        case CH_DATA_END: /* the CRLF after a chunk's data */
            if (c == '\n') {
                r->ch = CH_SIZE;
                r->ch_digits = 0;
            }
            break;
        case CH_TRAILER: /* trailer lines, until an empty one */
            if (c == '\n') {
                if (r->ch_line == 0)
                    r->ch = CH_DONE;
                r->ch_line = 0;
            } else if (c != '\r') {
                r->ch_line++;
            }
            break;
        case CH_DONE:
            break;
        }
    }
    return 1;
}

/* Body bytes: returns 0 on a malformed body. */
static int feed_body(response *r, const uint8_t *p, size_t n)
{
    if (r->chunked)
        return feed_chunked(r, p, n);
    r->body += n;
    return r->content_length < 0 || r->body <= (unsigned long long)r->content_length;
}

static int body_complete(const response *r)
{
    if (r->chunked)
        return r->ch == CH_DONE;
    return r->content_length >= 0 && r->body == (unsigned long long)r->content_length;
}

/* Reads the response until the body is complete (or the server closes, for a body read to
 * close). Returns 0 on success. */
static int read_response(int32_t session, response *r)
{
    static uint8_t buf[16384];
    int in_body = 0;
    for (;;) {
        if (in_body && body_complete(r))
            return 0;
        int32_t n = tlsRecv(session, buf, sizeof buf, timeout_ms);
        if (n == 0) { /* the server closed the connection (close_notify) */
            if (!in_body)
                return fail("the server closed the connection before the end of the headers", NULL);
            if (r->chunked || r->content_length >= 0) {
                char why[96];
                snprintf(why, sizeof why, "connection closed after %llu body bytes", r->body);
                return fail(why, r->chunked ? "the chunked body is incomplete"
                                            : "fewer than Content-Length");
            }
            return 0; /* read to close */
        }
        if (n < 0)
            return fail(pp_last_error(), NULL);
        if (in_body) {
            if (!feed_body(r, buf, (size_t)n))
                return fail("malformed body", r->chunked ? "bad chunk" : "longer than Content-Length");
            continue;
        }
        /* still in the head: append, look for its end */
        uint32_t room = HEADER_MAX - r->head_len, take = (uint32_t)n < room ? (uint32_t)n : room;
        memcpy(r->head + r->head_len, buf, take);
        r->head_len += take;
        r->head[r->head_len] = 0;
        char *end = strstr(r->head, "\r\n\r\n");
        if (!end) {
            if (r->head_len == HEADER_MAX)
                return fail("response headers longer than 16 KiB", NULL);
            continue;
        }
        uint32_t head_size = (uint32_t)(end + 4 - r->head);
        end[2] = 0; /* the head keeps its last CRLF: every header line ends in "\r\n" */
        if (!parse_head(r))
            return fail("not an HTTP/1.x response", NULL);
        in_body = 1;
        /* bytes after the head are body: from the head buffer, then from buf past `take` */
        if (!feed_body(r, (uint8_t *)r->head + head_size, r->head_len - head_size) ||
            !feed_body(r, buf + take, (size_t)n - take))
            return fail("malformed body", NULL);
    }
}

/* One GET over a new session from `config`. Returns 0 on a 2xx/3xx response. */
static int fetch(int32_t config, const url *u)
{
    int32_t session = pp_tls_connect_host(config, u->host, u->port, timeout_ms);
    if (session < 0)
        return fail(pp_last_error(), NULL); /* "tlsConnect: <why>" */
    print_session(session);
    char request[1024];
    int len = snprintf(request, sizeof request,
                       "GET %s%.*s HTTP/1.1\r\nHost: %s\r\nUser-Agent: https-get (Paper Portal)\r\n"
                       "Accept: */*\r\nConnection: close\r\n\r\n",
                       *u->path == '?' ? "/" : "", u->path_len, u->path, u->authority);
    int rc = 1;
    static response r;
    memset(&r, 0, sizeof r);
    if (len <= 0 || (size_t)len >= sizeof request)
        fail("the path is too long", NULL);
    else if (pp_tls_send_all(session, request, (uint32_t)len, timeout_ms) < 0)
        fail(pp_last_error(), NULL);
    else if (read_response(session, &r) == 0) {
        printf("%.*s\n", (int)strcspn(r.head, "\r\n"), r.head); /* the status line */
        printf("body: %llu bytes (%s)\n", r.body,
               r.chunked                ? "chunked"
               : r.content_length >= 0 ? "Content-Length"
                                        : "read to close");
        rc = r.status >= 200 && r.status < 400 ? 0 : 1;
        if (rc)
            fprintf(stderr, "https-get: the server answered %d\n", r.status);
    }
    tlsClose(session);
    return rc;
}

static int usage(const char *why)
{
    fprintf(stderr, "https-get: %s\nusage: https-get [--ca FILE] [--cert FILE --key FILE] "
                    "[--alpn LIST] [--insecure] [--no-tickets] [--timeout MS] [--repeat N] "
                    "https://HOST[:PORT]/PATH\n", why);
    return 2;
}

int main(int argc, char **argv)
{
    const char *ca_path = NULL, *cert_path = NULL, *key_path = NULL, *alpn = "", *target = NULL;
    int32_t flags = 0;
    int repeat = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--insecure") == 0) flags |= PP_TLS_CLIENT_NO_VERIFY;
        else if (strcmp(a, "--no-tickets") == 0) flags |= PP_TLS_NO_TICKETS;
        else if (!v && a[0] == '-') return usage("an option without its value");
        else if (strcmp(a, "--ca") == 0) ca_path = argv[++i];
        else if (strcmp(a, "--cert") == 0) cert_path = argv[++i];
        else if (strcmp(a, "--key") == 0) key_path = argv[++i];
        else if (strcmp(a, "--alpn") == 0) alpn = argv[++i];
        else if (strcmp(a, "--timeout") == 0) timeout_ms = atoi(argv[++i]);
        else if (strcmp(a, "--repeat") == 0) repeat = atoi(argv[++i]);
        else if (a[0] != '-' && !target) target = a;
        else return usage("unknown argument");
    }
    url u;
    if (!target || !parse_url(target, &u))
        return usage("give one URL: https://HOST[:PORT]/PATH");
    if (timeout_ms <= 0 || repeat < 1 || !cert_path != !key_path)
        return usage("--timeout and --repeat take a positive number; --cert and --key go together");
    if (!pp_tls_has_client())
        return fail("this host has no TLS client (feature bit 36)", NULL);
    if (flags & PP_TLS_CLIENT_NO_VERIFY)
        printf("WARNING: --insecure: the server's certificate is not verified\n");

    uint32_t ca_len = 0, cert_len = 0, key_len = 0;
    uint8_t *ca = ca_path ? load_file(ca_path, &ca_len) : NULL;
    uint8_t *cert = cert_path ? load_file(cert_path, &cert_len) : NULL;
    uint8_t *key = key_path ? load_file(key_path, &key_len) : NULL;
    if ((ca_path && !ca) || (cert_path && !cert) || (key_path && !key))
        return 1;
    int32_t config = tlsClientConfigCreate(ca, ca_len, cert, cert_len, key, key_len, alpn,
                                           (uint32_t)strlen(alpn), flags);
    free(ca), free(cert), free(key); /* the host keeps its own copies */
    if (config < 0)
        return fail(pp_last_error(), NULL); /* "tlsClientConfigCreate: <why>" */

    int rc = 0;
    for (int i = 0; i < repeat && rc == 0; i++)
        rc = fetch(config, &u);
    tlsClientConfigFree(config);
    return rc;
}
