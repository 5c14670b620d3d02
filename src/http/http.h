/* The HTTP layer of jwtd serve: a thin adapter over libh2o (its own event loop). Handlers
 * see an http_request and fill an http_response, and never include h2o headers. The
 * server's router fills an http_route per request (which handler runs, whether it may block,
 * and what the handler should know of that decision), looked up once; blocking
 * handlers (password hashing, store writes) run on a worker pool and their answer is sent
 * back on the request's event loop, so a login being hashed never delays a GET /me. */
#ifndef JWTD_HTTP_H
#define JWTD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_RESPONSE_HEADERS 12          /* a token pair with CORS: 6; a preflight: 6 */
#define HTTP_DEFAULT_MAX_BODY (64u * 1024u)   /* bytes; larger -> 413 */
#define HTTP_DEFAULT_MAX_HEADER (16u * 1024u) /* all request headers together */
/* h2o's HTTP/1 request timeout (its own default too): a connection is closed when a whole
 * request (head and body) has not arrived this long after the previous answer or the
 * accept. It is both the keep-alive idle timeout and the slow-client (slowloris) bound. */
#define HTTP_DEFAULT_IDLE_TIMEOUT_MS 10000
#define HTTP_PEER_MAX 64

/* One request header as plain bytes, for requests built without h2o (http_request.headers). */
typedef struct http_req_header {
    const char *name; /* any case */
    size_t name_len;
    const char *value;
    size_t value_len;
} http_req_header;

typedef struct http_route http_route;

typedef struct http_request {
    const char *method;
    size_t method_len;
    const char *path; /* without the query string */
    size_t path_len;
    const char *query; /* after '?', or NULL */
    size_t query_len;
    const char *body;
    size_t body_len;
    char peer[HTTP_PEER_MAX]; /* the socket's address, e.g. "127.0.0.1" */
    void *impl;               /* adapter-private */
    /* Used by http_header only when impl is NULL: requests made outside the adapter (the
     * fuzz harness tests/fuzz/fuzz_request.c hands them straight to the router). */
    const http_req_header *headers;
    size_t nheaders;
    /* What the router decided for this request (NULL while the router runs): a handler reads
     * its route here instead of looking it up again. */
    const http_route *route;
} http_request;

/* The value of the first header called name (case-insensitive), or NULL; *count (may be
 * NULL) receives how many headers have that name. */
const char *http_header(const http_request *req, const char *name, size_t *len, size_t *count);
/* Every header called name, in the order received, joined with ", " into buf (NUL-terminated),
 * as RFC 9110 5.3 reads a field sent on several lines: one list. Returns the length, 0 when
 * there is none, or -1 when the joined value does not fit in size bytes. */
long http_header_join(const http_request *req, const char *name, char *buf, size_t size);

typedef struct http_header_kv {
    const char *name;  /* static */
    const char *value; /* owned by the response when owned, else static */
    bool owned;
} http_header_kv;

typedef struct http_response {
    int status;
    const char *content_type; /* static; NULL = "application/json" */
    char *body;               /* owned by the response (malloc'ed) */
    size_t body_len;
    http_header_kv headers[HTTP_MAX_RESPONSE_HEADERS];
    size_t nheaders;
} http_response;

/* Adds a header (copies value). 0 on success, -1 when full or out of memory. */
int http_response_header(http_response *resp, const char *name, const char *value);
/* The same for a value in static storage (a literal): neither copied nor freed, here or when
 * it is sent. */
int http_response_header_static(http_response *resp, const char *name, const char *value);
/* Sets status and a JSON body (takes ownership of body, which may be NULL = empty). */
void http_response_json(http_response *resp, int status, char *body);
/* {"error": message} with the status; message must be a static, stable string. */
void http_response_error(http_response *resp, int status, const char *message);
void http_response_clear(http_response *resp);

/* A handler: fills resp from req. Runs on an event loop (blocking=false) or a worker. */
typedef void (*http_handler_fn)(void *app, const http_request *req, http_response *resp);

/* The router's decision for one request. The adapter reads handler and blocking; entry and
 * value are the router's own, carried to the handler (req->route) unchanged, also onto a
 * worker, so nothing is looked up twice or passed through globals. */
struct http_route {
    http_handler_fn handler; /* NULL: 404 JSON */
    bool blocking;           /* run on a worker */
    const void *entry;       /* e.g. the router's table row */
    int64_t value;           /* e.g. the Retry-After of a request the router refuses */
};

/* The router: on the event loop, fills *out (zeroed by the caller) for req. It may answer
 * directly by choosing a non-blocking handler. */
typedef void (*http_router_fn)(void *app, const http_request *req, http_route *out);

/* Why the adapter refused a request before any handler ran (docs/API.md, "Request framing").
 * Each is answered with a JSON error and the connection closed. */
typedef enum http_refusal {
    HTTP_REFUSED_HEADERS_TOO_LARGE, /* 431: the head over max_header */
    HTTP_REFUSED_HOST,              /* 400: HTTP/1.1 without Host */
    HTTP_REFUSED_FIELD,             /* 400: obs-fold, several Content-Type */
    HTTP_REFUSED_CONTENT_LENGTH,    /* 400: several, a list, not digits, too long */
    HTTP_REFUSED_TRANSFER_ENCODING, /* 400: with Content-Length, several, not chunked, HTTP/1.0 */
    HTTP_REFUSED_BODY_TOO_LARGE,    /* 413, by h2o: the body over max_body */
    HTTP_REFUSED_BODY_FRAMING,      /* 400, by h2o: a Content-Length it cannot read, a broken
                                       chunk, a coding other than chunked */
    HTTP_REFUSED_EXPECTATION,       /* 417, by h2o: an Expect other than 100-continue */
    HTTP_REFUSED_COUNT
} http_refusal;

/* A stable lower-case name ("content_length"), e.g. for a metrics label. */
const char *http_refusal_name(http_refusal r);

typedef struct http_config {
    const char *listen; /* "127.0.0.1:3000"; port 0 picks a free port */
    unsigned threads;   /* event loops; 0 = number of cores */
    unsigned workers;   /* worker pool; 0 = number of cores */
    size_t max_body;    /* 0 = HTTP_DEFAULT_MAX_BODY */
    size_t max_header;  /* 0 = HTTP_DEFAULT_MAX_HEADER */
    unsigned idle_timeout_ms;
    /* PEM certificate chain and unencrypted PEM private key: both (HTTPS: TLS 1.2+, HTTP/1.1)
     * or neither (plain HTTP). A file that is missing or unreadable, holds no certificate or
     * key, an encrypted key, or a key not matching the certificate fails the start. */
    const char *tls_cert, *tls_key;
    http_router_fn router;
    void *app;
    /* Called on an event loop every tick_ms (0: never), e.g. for auth_sync. */
    void (*tick)(void *app);
    unsigned tick_ms;
    /* Called on an event loop for every request the adapter refused itself (may be NULL),
     * with the status it answered; peer is the socket's address. */
    void (*refused)(void *app, http_refusal reason, int status, const char *peer);
    /* Called on http_server_wait's thread for each SIGHUP (may be NULL); the server goes on. */
    void (*hangup)(void *app);
} http_config;

typedef struct http_server http_server;

/* Binds and starts the loops and workers. *why gets a static reason on failure. */
int http_server_start(const http_config *cfg, http_server **out, const char **why);
/* The bound address, e.g. "127.0.0.1:41237" (after port 0). */
const char *http_server_address(const http_server *srv);
/* Blocks until SIGINT/SIGTERM (or http_server_stop from another thread), then drains:
 * in-flight requests finish. SIGHUP only calls cfg.hangup. */
void http_server_wait(http_server *srv);
void http_server_stop(http_server *srv);
void http_server_free(http_server *srv);

#endif /* JWTD_HTTP_H */
