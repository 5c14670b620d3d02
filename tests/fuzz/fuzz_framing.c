/* libFuzzer harness for the request framing of the HTTP adapter (src/http: h2o 2.2 and the
 * rules of http_framing.c), with a differential invariant: no request smuggling.
 *
 * The server: the real adapter, started once per process (http_server_start on 127.0.0.1:0,
 * one event loop, one worker, 64 KiB bodies, a 1 s idle timeout) behind a router whose one
 * handler (inline) records every request it is given: method, path (without the query) and
 * body bytes. It answers 200 {}. An atexit handler stops and frees it (leak checks stay clean).
 *
 * Each input: a new loopback connection gets the input's bytes as they are, then the marker
 * request FUZZ_MARKER, then the client half-closes (shutdown SHUT_WR) and reads every answer
 * until the server closes, for at most FUZZ_IO_TIMEOUT_MS (an input whose answers do not end
 * in time is no failure: the harness stops reading and checks what it has, a prefix). Each
 * input connects from its own loopback address (127.0.0.2 onwards, in turn), and the handler
 * records only requests from the current one, so a connection of an earlier input that is
 * still being served can never be counted as this one's.
 *
 * The strict reader (this file, RFC 9112) splits the same bytes (input + marker) into
 * requests. A head is read by picohttpparser, the very parser h2o reads heads with (libh2o
 * exports it), so that both sides see the same heads and the difference under test is the
 * body's framing. It refuses what the adapter refuses (obs-fold, several Content-Type,
 * HTTP/1.1 without Host, several Content-Length, one not 1..18 digits, Transfer-Encoding with
 * Content-Length, several Transfer-Encoding, one other than "chunked", Transfer-Encoding on
 * HTTP/1.0) and reads a body as: no Content-Length nor Transfer-Encoding -> none; one
 * Content-Length -> that many bytes; "chunked" -> a strict chunked decoder (chunk-size =
 * 1*16HEXDIG, chunk-ext only after BWS ";", CRLF line ends only, data followed by CRLF,
 * trailer fields, the final CRLF). It stops at the first request it refuses or cannot finish;
 * the complete requests before it are S1..Sm.
 *
 * Invariant (else a report on stderr and abort): the server's requests R1..Rn satisfy
 * n <= m + 1 and Ri == Si (method, path, decoded body) for every i < n. The server may take
 * one request the strict reader refuses (the adapter then answers and closes: a refused
 * head, a chunked body, whose lenient decoding by h2o it cannot check), but it never reads a
 * request past a point where the two readings disagree: that is request smuggling. The
 * harness checks at its start that the check can fail (self_test).
 *
 * JWTD_FUZZ_VERBOSE=1 prints, for every input, both readings and the server's status lines. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "http/http_phr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The server under test. */
#define FUZZ_MAX_BODY (64u * 1024u)
#define FUZZ_IDLE_TIMEOUT_MS 1000u /* a connection the client leaves hanging goes soon */
/* Per input: the answers must end (the server closes) within this. Generous: ASan, a
 * loaded 2-core machine; a normal input takes well under a millisecond. */
#define FUZZ_IO_TIMEOUT_MS 2000
/* Every input connects from 127.0.0.FUZZ_PEER_FIRST + (k mod FUZZ_PEER_COUNT). */
#define FUZZ_PEER_FIRST 2u
#define FUZZ_PEER_COUNT 250u
#define FUZZ_PORT_RETRY_MS 5 /* no local port free: connect again after this long */
#define FUZZ_READ_CHUNK 16384
#define FUZZ_RESPONSE_KEEP (64u * 1024u) /* answer bytes kept for the verbose report */

/* The strict reader. Header slots per head: at least h2o's H2O_MAX_HEADERS (100), so that
 * every head h2o reads is read here too (one h2o refuses for its count only stops the server,
 * which the invariant allows). */
#define FUZZ_MAX_HEADERS 256
#define FUZZ_CONTENT_LENGTH_MAX_DIGITS 18 /* as the adapter: more is refused */
#define FUZZ_CHUNK_SIZE_MAX_DIGITS 16     /* 64 bits of hex */

/* Reports: how much of a body or of the input is shown. */
#define FUZZ_SHOW_BODY 200
#define FUZZ_SHOW_INPUT 4096

/* Sent after every input: a request both readings take whenever what came before ended
 * cleanly, so an input that smuggles a request also shifts this one. */
static const char FUZZ_MARKER[] = "GET /__after HTTP/1.1\r\nHost: a\r\n\r\n";

/* ---- requests as both readings give them ---- */

typedef struct fuzz_msg {
    char *method, *path, *body;
    size_t method_len, path_len, body_len;
} fuzz_msg;

typedef struct fuzz_msgs {
    fuzz_msg *v;
    size_t n, cap;
} fuzz_msgs;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_framing: %s\n", what);
    abort();
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n != 0 ? n : 1);
    if (p == NULL)
        fail("out of memory");
    return p;
}

static char *xmemdup(const void *p, size_t n)
{
    char *d = xmalloc(n);
    if (n != 0)
        memcpy(d, p, n);
    return d;
}

/* Appends a copy of the three parts (body NULL with body_len 0: none). */
static void msgs_add(fuzz_msgs *l, const char *method, size_t method_len, const char *path,
                     size_t path_len, const char *body, size_t body_len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap != 0 ? l->cap * 2 : 16;
        fuzz_msg *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            fail("out of memory");
        l->v = v;
        l->cap = cap;
    }
    fuzz_msg *m = &l->v[l->n++];
    m->method = xmemdup(method, method_len);
    m->method_len = method_len;
    m->path = xmemdup(path, path_len);
    m->path_len = path_len;
    m->body = xmemdup(body, body_len);
    m->body_len = body_len;
}

static void msgs_free(fuzz_msgs *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].method);
        free(l->v[i].path);
        free(l->v[i].body);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static bool bytes_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool msg_equal(const fuzz_msg *a, const fuzz_msg *b)
{
    return bytes_equal(a->method, a->method_len, b->method, b->method_len) &&
           bytes_equal(a->path, a->path_len, b->path, b->path_len) &&
           bytes_equal(a->body, a->body_len, b->body, b->body_len);
}

/* ---- printing (reports, verbose mode) ---- */

static void show_bytes(const char *p, size_t len, size_t max)
{
    size_t shown = len < max ? len : max;
    fputc('"', stderr);
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r')
            fputs("\\r", stderr);
        else if (c == '\n')
            fputs("\\n", stderr);
        else if (c == '\t')
            fputs("\\t", stderr);
        else if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputc('"', stderr);
    if (shown < len)
        fprintf(stderr, "... (%zu bytes)", len);
}

static void show_msgs(const char *label, const fuzz_msgs *l)
{
    fprintf(stderr, "  %s: %zu request(s)\n", label, l->n);
    for (size_t i = 0; i < l->n; i++) {
        const fuzz_msg *m = &l->v[i];
        fprintf(stderr, "    %zu. %.*s %.*s, body ", i + 1, (int)m->method_len, m->method,
                (int)m->path_len, m->path);
        show_bytes(m->body, m->body_len, FUZZ_SHOW_BODY);
        fputc('\n', stderr);
    }
}

/* ---- the strict reader (RFC 9112) ---- */

typedef struct cursor {
    const char *p;
    size_t len, pos;
} cursor;

static bool is_tchar(unsigned char c)
{
    /* RFC 9110 5.6.2: tchar */
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_ws(unsigned char c) { return c == ' ' || c == '\t'; }

/* RFC 9110 5.5: field-vchar = VCHAR / obs-text, with SP and HTAB inside a value. */
static bool is_field_char(unsigned char c) { return is_ws(c) || (c >= 0x21 && c != 0x7f); }

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool at_end(const cursor *c) { return c->pos >= c->len; }

static unsigned char peek(const cursor *c) { return (unsigned char)c->p[c->pos]; }

/* Consumes CRLF; a bare LF (or CR) is not a line end here. */
static bool take_crlf(cursor *c)
{
    if (c->len - c->pos < 2 || c->p[c->pos] != '\r' || c->p[c->pos + 1] != '\n')
        return false;
    c->pos += 2;
    return true;
}

static void skip_bws(cursor *c)
{
    while (!at_end(c) && is_ws(peek(c)))
        c->pos++;
}

static bool take_token(cursor *c)
{
    size_t start = c->pos;
    while (!at_end(c) && is_tchar(peek(c)))
        c->pos++;
    return c->pos > start;
}

/* RFC 9110 5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE */
static bool take_quoted_string(cursor *c)
{
    if (at_end(c) || peek(c) != '"')
        return false;
    c->pos++;
    while (!at_end(c)) {
        unsigned char ch = peek(c);
        c->pos++;
        if (ch == '"')
            return true;
        if (ch == '\\') {
            if (at_end(c) || !is_field_char(peek(c)))
                return false;
            c->pos++;
        } else if (!is_field_char(ch)) {
            return false;
        }
    }
    return false;
}

/* RFC 9112 7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
 * chunk-ext-val = token / quoted-string. Anything else before the CRLF is refused. */
static bool take_chunk_ext(cursor *c)
{
    for (;;) {
        size_t before = c->pos;
        skip_bws(c);
        if (at_end(c) || peek(c) != ';') {
            c->pos = before; /* white space not followed by ';' is left for the CRLF check */
            return true;
        }
        c->pos++;
        skip_bws(c);
        if (!take_token(c))
            return false;
        size_t after_name = c->pos;
        skip_bws(c);
        if (!at_end(c) && peek(c) == '=') {
            c->pos++;
            skip_bws(c);
            if (!take_token(c) && !take_quoted_string(c))
                return false;
        } else {
            c->pos = after_name;
        }
    }
}

/* RFC 9112 5: field-line = field-name ":" OWS field-value OWS, then CRLF. */
static bool take_field_line(cursor *c)
{
    if (!take_token(c) || at_end(c) || peek(c) != ':')
        return false;
    c->pos++;
    while (!at_end(c) && is_field_char(peek(c)))
        c->pos++;
    return take_crlf(c);
}

/* RFC 9112 7.1: chunked-body = *chunk last-chunk trailer-section CRLF. The decoded data goes
 * to body (room for c->len - c->pos bytes: it cannot be longer). NULL when the body is read
 * whole, else why the strict reader stops. */
static const char *strict_chunked(cursor *c, char *body, size_t *body_len)
{
    *body_len = 0;
    for (;;) {
        uint64_t size = 0;
        unsigned digits = 0;
        while (!at_end(c) && hex_value(peek(c)) >= 0) {
            if (++digits > FUZZ_CHUNK_SIZE_MAX_DIGITS)
                return "chunk size over 16 hex digits";
            size = size * 16u + (uint64_t)hex_value(peek(c));
            c->pos++;
        }
        if (digits == 0)
            return at_end(c) ? "chunked body incomplete" : "chunk size is not 1*HEXDIG";
        if (!take_chunk_ext(c))
            return "chunk extension malformed";
        if (!take_crlf(c))
            return at_end(c) ? "chunked body incomplete" : "chunk-size line not ended by CRLF";
        if (size == 0)
            break; /* last-chunk */
        if (size > c->len - c->pos)
            return "chunk data incomplete";
        memcpy(body + *body_len, c->p + c->pos, (size_t)size);
        *body_len += (size_t)size;
        c->pos += (size_t)size;
        if (!take_crlf(c))
            return at_end(c) ? "chunked body incomplete" : "chunk data not followed by CRLF";
    }
    /* trailer-section, then the CRLF that ends the body */
    while (!take_crlf(c)) {
        if (at_end(c))
            return "chunked body incomplete";
        if (!take_field_line(c))
            return at_end(c) ? "chunked body incomplete" : "trailer field malformed";
    }
    return NULL;
}

static bool name_is(const struct phr_header *h, const char *name)
{
    size_t len = strlen(name);
    return h->name_len == len && strncasecmp(h->name, name, len) == 0;
}

typedef enum body_kind { BODY_NONE, BODY_LENGTH, BODY_CHUNKED } body_kind;

/* The head rules of the adapter (src/http/http_framing.c and docs/API.md "Request framing"),
 * from RFC 9112: NULL when the head is acceptable (then *kind and *length say how its body
 * is framed), else why it is refused. */
static const char *head_refusal(int minor, const struct phr_header *h, size_t n, body_kind *kind,
                                uint64_t *length)
{
    size_t hosts = 0, content_types = 0, content_lengths = 0, transfer_encodings = 0;
    const struct phr_header *cl = NULL, *te = NULL;
    for (size_t i = 0; i < n; i++) {
        /* picohttpparser hands an obs-fold line over as a field without a name */
        if (h[i].name == NULL || h[i].name_len == 0)
            return "obs-fold";
        if (name_is(&h[i], "host")) {
            hosts++;
        } else if (name_is(&h[i], "content-type")) {
            content_types++;
        } else if (name_is(&h[i], "content-length")) {
            content_lengths++;
            cl = &h[i];
        } else if (name_is(&h[i], "transfer-encoding")) {
            transfer_encodings++;
            te = &h[i];
        }
    }
    if (content_types > 1)
        return "several Content-Type";
    if (minor != 0 && hosts == 0) /* HTTP/1.x, x > 0: read as 1.1, as h2o does */
        return "HTTP/1.1 without Host";
    if (content_lengths > 1)
        return "several Content-Length";
    if (content_lengths == 1) {
        if (cl->value_len == 0 || cl->value_len > FUZZ_CONTENT_LENGTH_MAX_DIGITS)
            return "Content-Length not 1..18 digits";
        *length = 0;
        for (size_t i = 0; i < cl->value_len; i++) {
            if (cl->value[i] < '0' || cl->value[i] > '9')
                return "Content-Length not 1..18 digits";
            *length = *length * 10u + (uint64_t)(cl->value[i] - '0');
        }
    }
    if (transfer_encodings == 0) {
        *kind = content_lengths == 1 ? BODY_LENGTH : BODY_NONE;
        return NULL;
    }
    if (content_lengths > 0)
        return "Transfer-Encoding with Content-Length";
    if (transfer_encodings > 1)
        return "several Transfer-Encoding";
    if (minor == 0)
        return "Transfer-Encoding on HTTP/1.0";
    if (te->value_len != strlen("chunked") || strncasecmp(te->value, "chunked", te->value_len) != 0)
        return "Transfer-Encoding other than chunked";
    *kind = BODY_CHUNKED;
    return NULL;
}

/* Splits buf into the complete, acceptable requests at its start (into out); returns why it
 * stopped and, in *stop_at, where. */
static const char *strict_read(const char *buf, size_t len, fuzz_msgs *out, size_t *stop_at)
{
    struct phr_header headers[FUZZ_MAX_HEADERS];
    size_t pos = 0;
    const char *why = NULL;
    char *body = xmalloc(len); /* no body is longer than the bytes */
    while (why == NULL) {
        *stop_at = pos;
        if (pos == len) {
            why = "end of the bytes";
            break;
        }
        const char *method, *path;
        size_t method_len, path_len, nheaders = FUZZ_MAX_HEADERS;
        int minor;
        int head = phr_parse_request(buf + pos, len - pos, &method, &method_len, &path, &path_len,
                                     &minor, headers, &nheaders, 0);
        if (head == -2) {
            why = "head incomplete";
            break;
        }
        if (head < 0) {
            why = "head unparseable (picohttpparser)";
            break;
        }
        body_kind kind = BODY_NONE;
        uint64_t length = 0;
        why = head_refusal(minor, headers, nheaders, &kind, &length);
        if (why != NULL)
            break;
        cursor c = {buf, len, pos + (size_t)head};
        size_t body_len = 0;
        const char *body_start = body;
        if (kind == BODY_LENGTH) {
            if (length > c.len - c.pos) {
                why = "body shorter than its Content-Length";
                break;
            }
            body_start = buf + c.pos;
            body_len = (size_t)length;
            c.pos += body_len;
        } else if (kind == BODY_CHUNKED) {
            why = strict_chunked(&c, body, &body_len);
            if (why != NULL)
                break;
        }
        /* The router's path: the request-target up to the first '?', as h2o splits it. */
        const char *query = memchr(path, '?', path_len);
        msgs_add(out, method, method_len, path, query != NULL ? (size_t)(query - path) : path_len,
                 body_start, body_len);
        pos = c.pos;
    }
    free(body);
    return why;
}

/* ---- the invariant ---- */

/* true when seen (the server's requests, in order) may follow from strict (the strict
 * reader's); else *index is the first request in question (0-based) and *what says why. */
static bool invariant_holds(const fuzz_msgs *seen, const fuzz_msgs *strict, size_t *index,
                            const char **what)
{
    /* Every request but the server's last must be one the strict reader read the same way:
     * this also bounds n by m + 1. */
    for (size_t i = 0; i + 1 < seen->n; i++) {
        if (i >= strict->n) {
            *index = i;
            *what = "the strict reader refuses it, and the server read another request after it";
            return false;
        }
        if (!msg_equal(&seen->v[i], &strict->v[i])) {
            *index = i;
            *what = "the strict reader reads it differently, and the server read another request "
                    "after it";
            return false;
        }
    }
    return true;
}

/* ---- the server and the client ---- */

static struct {
    pthread_mutex_t mu;
    fuzz_msgs seen;           /* mu: the requests from peer, in order */
    char peer[HTTP_PEER_MAX]; /* mu: the current input's client address */
    unsigned long stale;      /* mu: requests from any other address (earlier inputs) */
    http_server *srv;
    struct sockaddr_in server; /* where the adapter listens */
    bool spread;               /* clients can bind 127.0.0.FUZZ_PEER_FIRST and onwards */
    unsigned inputs;           /* picks each input's client address */
    bool verbose;
    char response[FUZZ_RESPONSE_KEEP]; /* the start of the current input's answers */
    size_t response_len;
} G = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void h_record(void *app, const http_request *req, http_response *resp)
{
    (void)app;
    pthread_mutex_lock(&G.mu);
    if (strcmp(req->peer, G.peer) == 0)
        msgs_add(&G.seen, req->method, req->method_len, req->path, req->path_len, req->body,
                 req->body_len);
    else
        G.stale++;
    pthread_mutex_unlock(&G.mu);
    http_response_json(resp, 200, strdup("{}"));
}

static void router(void *app, const http_request *req, http_route *out)
{
    (void)app;
    (void)req;
    out->handler = h_record;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cleanup(void)
{
    http_server_free(G.srv); /* stops it: loops and workers joined */
    G.srv = NULL;
    pthread_mutex_lock(&G.mu);
    msgs_free(&G.seen);
    pthread_mutex_unlock(&G.mu);
}

static struct sockaddr_in client_address(unsigned index)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK - 1u + FUZZ_PEER_FIRST + index % FUZZ_PEER_COUNT);
    return sin;
}

/* Whether a socket can bind a loopback address other than 127.0.0.1 (Linux routes all of
 * 127/8 to lo; some sandboxes may not). */
static bool can_spread(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sin = client_address(0);
    bool ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    close(fd);
    return ok;
}

static void self_test(void);

static void start_server(void)
{
    http_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.listen = "127.0.0.1:0";
    cfg.threads = 1;
    cfg.workers = 1;
    cfg.max_body = FUZZ_MAX_BODY;
    cfg.idle_timeout_ms = FUZZ_IDLE_TIMEOUT_MS;
    cfg.router = router;
    const char *why = NULL;
    if (http_server_start(&cfg, &G.srv, &why) != 0) {
        fprintf(stderr, "fuzz_framing: http_server_start: %s\n", why != NULL ? why : "?");
        abort();
    }
    atexit(cleanup);
    const char *addr = http_server_address(G.srv);
    const char *colon = addr != NULL ? strrchr(addr, ':') : NULL;
    if (colon == NULL)
        fail("no server address");
    G.server.sin_family = AF_INET;
    G.server.sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
    G.server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    G.spread = can_spread();
    const char *verbose = getenv("JWTD_FUZZ_VERBOSE");
    G.verbose = verbose != NULL && verbose[0] != '\0' && strcmp(verbose, "0") != 0;
    self_test();
}

typedef enum io_result { IO_CLOSED, IO_TIMEOUT } io_result;

/* A non-blocking socket from src (NULL: any) to the server, its connect under way. The client
 * half-closes first, so every connection leaves a TIME_WAIT entry on the client's side:
 * spread over FUZZ_PEER_COUNT addresses, the local port being picked at connect
 * (IP_BIND_ADDRESS_NO_PORT), they hardly ever use up the free ports; if they do, the
 * connect is retried until the deadline. */
static int connect_from(const struct sockaddr_in *src, int64_t deadline)
{
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            fail("socket");
        int one = 1;
        if (src != NULL) {
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
            if (bind(fd, (const struct sockaddr *)src, sizeof(*src)) != 0)
                fail("bind to the client address");
        }
        if (connect(fd, (const struct sockaddr *)&G.server, sizeof(G.server)) == 0 ||
            errno == EINPROGRESS)
            return fd;
        int err = errno;
        close(fd);
        if ((err != EADDRNOTAVAIL && err != EADDRINUSE && err != EAGAIN) || now_ms() >= deadline)
            fail("connect to the server");
        struct timespec pause = {0, FUZZ_PORT_RETRY_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
}

static void keep_response(const char *p, size_t n)
{
    size_t room = sizeof(G.response) - G.response_len;
    size_t take = n < room ? n : room;
    memcpy(G.response + G.response_len, p, take);
    G.response_len += take;
}

/* Connects from src, sends the bytes, half-closes and reads until the server closes (EOF or
 * a reset) or the deadline passes. Sending and reading interleave: the server may answer,
 * or close, before it has read everything. */
static io_result exchange(const char *bytes, size_t len, const struct sockaddr_in *src)
{
    static char sink[FUZZ_READ_CHUNK];
    int64_t deadline = now_ms() + FUZZ_IO_TIMEOUT_MS;
    int fd = connect_from(src, deadline);
    bool connected = false, shut = false;
    size_t sent = 0;
    io_result result = IO_TIMEOUT;
    G.response_len = 0;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN | (shut ? 0 : POLLOUT)};
        int ready = poll(&p, 1, (int)left);
        if (ready <= 0)
            continue; /* EINTR or the deadline: the loop decides */
        if (!connected && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
            int err = 0;
            socklen_t errlen = sizeof(err);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0 || err != 0)
                fail("connect to the server");
            connected = true;
        }
        if (!shut && (p.revents & POLLOUT)) {
            ssize_t n = send(fd, bytes + sent, len - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                sent = len; /* the server has closed: nothing more to send */
            if (sent == len) {
                shutdown(fd, SHUT_WR); /* may fail if the server is gone: no matter */
                shut = true;
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, sink, sizeof(sink), 0);
            if (n > 0) {
                keep_response(sink, (size_t)n);
            } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                /* EOF or a reset: the server closed this connection, so its handler is done
                 * with every request of it. */
                result = IO_CLOSED;
                break;
            }
        }
    }
    if (result == IO_TIMEOUT) {
        /* Reset rather than close: the server stops serving this connection at once. */
        struct linger hard = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    }
    close(fd);
    return result;
}

/* The statuses of the answers kept. Answers follow each other without a separator (after a
 * JSON body), and no body here holds "HTTP/1.1 ": every occurrence starts an answer. */
static void show_statuses(void)
{
    static const char prefix[] = "HTTP/1.1 ";
    size_t plen = sizeof(prefix) - 1;
    fprintf(stderr, "  answers:");
    for (size_t i = 0; i + plen + 3 <= G.response_len; i++) {
        if (memcmp(G.response + i, prefix, plen) == 0) {
            fprintf(stderr, " %.3s", G.response + i + plen);
            i += plen + 2;
        }
    }
    fputc('\n', stderr);
}

static void report(const char *input, size_t len, const fuzz_msgs *seen, const fuzz_msgs *strict,
                   const char *stop_why, size_t stop_at, io_result io)
{
    fprintf(stderr, "  input + marker: ");
    show_bytes(input, len, FUZZ_SHOW_INPUT);
    fputc('\n', stderr);
    show_msgs("the server's handler saw", seen);
    show_msgs("the strict reader read", strict);
    fprintf(stderr, "  the strict reader stopped at byte %zu: %s\n", stop_at, stop_why);
    fprintf(stderr, "  the connection: %s\n",
            io == IO_CLOSED ? "closed by the server" : "still open at the deadline");
    show_statuses();
    pthread_mutex_lock(&G.mu);
    unsigned long stale = G.stale;
    pthread_mutex_unlock(&G.mu);
    if (stale != 0)
        fprintf(stderr, "  requests of earlier inputs' connections left out so far: %lu\n", stale);
}

/* Asserts that the check is able to fail: with the close after a chunked body removed, the
 * adapter would take the smuggled request below (h2o reads "0x2" as a last chunk), and the
 * invariant must say so. Built from literals: no server involved. */
static void self_test(void)
{
    static const char smuggle[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                                  "\r\n0x2\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
                                  "GET /__after HTTP/1.1\r\nHost: a\r\n\r\n";
    fuzz_msgs strict = {0}, lenient = {0}, closed = {0};
    size_t stop_at, index;
    const char *what;
    strict_read(smuggle, sizeof(smuggle) - 1, &strict, &stop_at);
    msgs_add(&lenient, "POST", 4, "/", 1, NULL, 0);
    msgs_add(&closed, "POST", 4, "/", 1, NULL, 0);
    msgs_add(&lenient, "GET", 3, "/smuggled", 9, NULL, 0);
    msgs_add(&lenient, "GET", 3, "/__after", 8, NULL, 0);
    if (strict.n != 0 || invariant_holds(&lenient, &strict, &index, &what) ||
        !invariant_holds(&closed, &strict, &index, &what))
        fail("self test: the invariant does not catch the 0x2 smuggling");
    msgs_free(&strict);
    msgs_free(&lenient);
    msgs_free(&closed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (G.srv == NULL)
        start_server();

    /* The bytes on the wire: the input, then the marker. */
    size_t len = size + sizeof(FUZZ_MARKER) - 1;
    char *bytes = xmalloc(len);
    if (size != 0)
        memcpy(bytes, data, size);
    memcpy(bytes + size, FUZZ_MARKER, sizeof(FUZZ_MARKER) - 1);

    struct sockaddr_in src = client_address(G.inputs++);
    pthread_mutex_lock(&G.mu);
    msgs_free(&G.seen);
    if (G.spread)
        inet_ntop(AF_INET, &src.sin_addr, G.peer, sizeof(G.peer));
    else
        snprintf(G.peer, sizeof(G.peer), "127.0.0.1");
    pthread_mutex_unlock(&G.mu);

    io_result io = exchange(bytes, len, G.spread ? &src : NULL);

    /* What the handler saw (a prefix of it if the deadline passed: then requests may still
     * come in, and checking a prefix can only miss a break, never invent one). */
    fuzz_msgs seen = {0};
    pthread_mutex_lock(&G.mu);
    seen = G.seen;
    memset(&G.seen, 0, sizeof(G.seen));
    G.peer[0] = '\0'; /* later requests of this connection are no one's */
    pthread_mutex_unlock(&G.mu);

    fuzz_msgs strict = {0};
    size_t stop_at = 0, index = 0;
    const char *what = NULL;
    const char *stop_why = strict_read(bytes, len, &strict, &stop_at);
    if (!invariant_holds(&seen, &strict, &index, &what)) {
        fprintf(stderr,
                "fuzz_framing: invariant broken (request smuggling) at the server's request "
                "%zu: %s\n",
                index + 1, what);
        report(bytes, len, &seen, &strict, stop_why, stop_at, io);
        abort();
    }
    if (G.verbose) {
        fprintf(stderr, "fuzz_framing: %zu input bytes\n", size);
        report(bytes, len, &seen, &strict, stop_why, stop_at, io);
    }
    msgs_free(&seen);
    msgs_free(&strict);
    free(bytes);
    return 0;
}
