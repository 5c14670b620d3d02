/* What the routes of jwtd serve share: the application state handed to the HTTP layer as
 * its `app` pointer, the router and tick it calls, and the static-file handler of web.c. */
#ifndef JWTD_SERVER_APP_H
#define JWTD_SERVER_APP_H

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>

#include "auth/ratelimit.h"
#include "http/http.h"
#include "server.h"

/* Route classes of the request-duration histogram (metrics.c names them). */
enum srv_route_class {
    SRV_CLASS_PASSWORD, /* register, login: Argon2id */
    SRV_CLASS_TOKEN,    /* refresh, logout, logout-all */
    SRV_CLASS_VERIFY,   /* /me, the JWKS */
    SRV_CLASS_ADMIN,    /* /admin/... */
    SRV_CLASS_OPS,      /* health, readiness, metrics */
    SRV_CLASS_STATIC,   /* the demo page */
    SRV_CLASS_OTHER,    /* 404, 405, refused by a per-IP limit */
    SRV_CLASS_COUNT
};
/* A histogram of durations: counts per bucket of SRV_LATENCY_BOUNDS (not cumulative: the
 * page sums them), the last above every bound, and the total in microseconds. */
#define SRV_LATENCY_BUCKETS 12
typedef struct srv_histogram {
    atomic_uint_least64_t counts[SRV_LATENCY_BUCKETS + 1];
    atomic_uint_least64_t sum_us;
} srv_histogram;
#define SRV_MAX_PUBLIC_URL 512 /* bytes of public-url */

typedef struct srv_app {
    const srv_config *cfg;
    auth *au;
    int64_t started; /* Unix seconds */
    int web_fd;      /* the web directory, or -1 when there is no demo page to serve */
    atomic_uint_least64_t responses[6]; /* by status class: [2] counts 2xx ... [5] 5xx */
    /* Abuse limits (rate-limit on): both NULL when off. */
    auth_limiter *ip_limits; /* per-IP buckets of /login, /register, /refresh */
    auth_limiter *lockouts;  /* failed logins per normalised identifier */
    srv_proxies proxies;     /* trusted-proxies, parsed */
    srv_origins origins;     /* cors-origins, parsed (srv_limits_open); n 0: CORS off */
    auth_lockout lockout;
    atomic_uint_least64_t limited_ip, limited_lockout; /* 429s answered, by cause */
    atomic_uint_least64_t refused[HTTP_REFUSED_COUNT]; /* refused by the HTTP layer, by reason */
    srv_histogram latency[SRV_CLASS_COUNT]; /* handler time of answered requests, by class */
    atomic_uint_least64_t store_errors[2];  /* the store's log lines: [0] error, [1] warn */
    /* The base of the metadata's URLs: public-url, else the address the server listens on
     * (known once it listens: port 0 picks one), published by public_url_set. */
    char public_url[SRV_MAX_PUBLIC_URL];
    atomic_bool public_url_set;
} srv_app;

/* metrics.c: counts a request of class cls answered in us microseconds. */
void srv_metrics_observe(srv_app *app, enum srv_route_class cls, uint64_t us);

/* The base URL clients reach this server at, without a trailing '/' (app->public_url once
 * set, else http://LISTEN). */
void srv_public_url(srv_app *app, char *out, size_t len);

/* Parses cors-origins, and creates the limiters and parses trusted-proxies when
 * cfg->rate_limit is on (now: the clock, as auth_config.now). -1 with a message in err. */
int srv_limits_open(srv_app *app, int64_t (*now)(void), char *err, size_t errlen);
void srv_limits_close(srv_app *app);

/* The router (http_router_fn): one lookup per request; every request goes to one
 * dispatcher, which counts and logs it and runs the route found here (out->entry: a row of
 * the route table, or the static files'; NULL: 405 when out->value, a bit per row of the
 * same path, is not 0, else 404), except a POST /login, /register or /refresh over its client's
 * per-IP limit, which is answered 429 with Retry-After (out->value) right on the event loop (no
 * worker, no body parsing, no Argon2). */
void srv_route(void *app, const http_request *req, http_route *out);
/* The HTTP layer refused a request before any handler (http_config.refused): counted with
 * the answers by status class and by reason, and logged at debug. */
void srv_refused(void *app, http_refusal reason, int status, const char *peer);

/* web.c: opens cfg->web_dir when it holds index.html (app->web_fd, else -1). */
void srv_web_open(srv_app *app);
void srv_web_close(srv_app *app);
/* Serves GET of a static file (path "/" is /index.html); false when the path names no
 * servable file (the caller answers 404). */
bool srv_web_serve(srv_app *app, const http_request *req, http_response *resp);

#endif /* JWTD_SERVER_APP_H */
