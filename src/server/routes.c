/* The routes of jwtd serve (DESIGN.md, "The server"): one table of method, path, handler,
 * whether the handler blocks (password hashing, store writes: run on workers) and which
 * per-IP limit it draws from; the router that looks a request up in it once, the per-IP
 * limits it applies on the event loop, and the accounting of every answer. The handlers are
 * in routes_user.c and routes_admin.c, what they share in replies.c, counters in metrics.c. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cors.h"
#include "log.h"
#include "replies.h"
#include "reqparse.h"
#include "routes.h"

/* The per-IP limits: which bucket a route draws from (its own per route). */
enum route_limit {
    LIMIT_NONE,
    LIMIT_LOGIN,
    LIMIT_REGISTER,
    LIMIT_REFRESH,
    LIMIT_TOKEN,
    LIMIT_INTROSPECT
};

typedef struct route {
    const char *method;
    const char *path; /* exact, or a prefix followed by a user id when id_suffix */
    bool id_suffix;
    bool blocking;
    route_fn fn;
    enum route_limit limit;
    enum srv_route_class cls; /* of jwtd_http_request_duration_seconds */
} route;

/* ---- Routing ---- */

static const route routes[] = {
    {"POST", "/register", false, true, srv_handle_register, LIMIT_REGISTER, SRV_CLASS_PASSWORD},
    {"POST", "/login", false, true, srv_handle_login, LIMIT_LOGIN, SRV_CLASS_PASSWORD},
    {"POST", "/refresh", false, true, srv_handle_refresh, LIMIT_REFRESH, SRV_CLASS_TOKEN},
    {"POST", "/logout", false, true, srv_handle_logout, LIMIT_NONE, SRV_CLASS_TOKEN},
    {"POST", "/logout-all", false, true, srv_handle_logout_all, LIMIT_NONE, SRV_CLASS_TOKEN},
    {"GET", "/me", false, false, srv_handle_me, LIMIT_NONE, SRV_CLASS_VERIFY},
    {"GET", "/auth", false, false, srv_handle_forward_auth, LIMIT_NONE, SRV_CLASS_VERIFY},
    {"HEAD", "/auth", false, false, srv_handle_forward_auth, LIMIT_NONE, SRV_CLASS_VERIFY},
    {"GET", "/admin/users", false, true, srv_handle_admin_users, LIMIT_NONE, SRV_CLASS_ADMIN},
    {"PATCH", "/admin/users/", true, true, srv_handle_admin_user_patch, LIMIT_NONE,
     SRV_CLASS_ADMIN},
    {"GET", "/admin/metrics", false, false, srv_handle_admin_metrics, LIMIT_NONE, SRV_CLASS_ADMIN},
    {"GET", "/admin/clients", false, true, srv_handle_admin_clients, LIMIT_NONE, SRV_CLASS_ADMIN},
    {"POST", "/admin/clients", false, true, srv_handle_admin_client_add, LIMIT_NONE,
     SRV_CLASS_ADMIN},
    {"DELETE", "/admin/clients/", true, true, srv_handle_admin_client_delete, LIMIT_NONE,
     SRV_CLASS_ADMIN},
    {"POST", "/admin/clients/", true, true, srv_handle_admin_client_rotate, LIMIT_NONE,
     SRV_CLASS_ADMIN},
    {"POST", "/token", false, true, srv_handle_token, LIMIT_TOKEN, SRV_CLASS_TOKEN},
    {"POST", "/introspect", false, true, srv_handle_introspect, LIMIT_INTROSPECT, SRV_CLASS_TOKEN},
    {"GET", "/.well-known/oauth-authorization-server", false, false, srv_handle_oauth_metadata,
     LIMIT_NONE, SRV_CLASS_VERIFY},
    {"GET", "/.well-known/jwks.json", false, false, srv_handle_jwks, LIMIT_NONE, SRV_CLASS_VERIFY},
    {"GET", "/healthz", false, false, srv_handle_healthz, LIMIT_NONE, SRV_CLASS_OPS},
    {"GET", "/readyz", false, false, srv_handle_readyz, LIMIT_NONE, SRV_CLASS_OPS},
    {"GET", "/metrics", false, false, srv_handle_metrics, LIMIT_NONE, SRV_CLASS_OPS},
    {"GET", "/openapi.json", false, false, srv_handle_openapi, LIMIT_NONE, SRV_CLASS_OPS},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static bool path_matches(const route *r, const http_request *req)
{
    size_t n = strlen(r->path);
    if (r->id_suffix)
        return req->path_len > n && memcmp(req->path, r->path, n) == 0;
    return req->path_len == n && memcmp(req->path, r->path, n) == 0;
}

static bool method_is(const http_request *req, const char *m)
{
    return req->method_len == strlen(m) && memcmp(req->method, m, req->method_len) == 0;
}

static bool is_web_path(const srv_app *app, const http_request *req)
{
    return app->web_fd >= 0 && ((req->path_len == 1 && req->path[0] == '/') ||
                                srv_web_content_type(req->path, req->path_len) != NULL);
}

static void reply_method_not_allowed(http_response *resp, const char *allow)
{
    http_response_error(resp, 405, MSG_METHOD);
    http_response_header(resp, "Allow", allow);
}

/* The demo page's files, for a path no route has: GET only. */
static void h_web(srv_app *app, const http_request *req, http_response *resp)
{
    if (!method_is(req, "GET"))
        reply_method_not_allowed(resp, "GET");
    else if (!srv_web_serve(app, req, resp))
        http_response_error(resp, 404, MSG_NOT_FOUND);
}

static const route web_route = {"GET", "/", false, false, h_web, LIMIT_NONE, SRV_CLASS_STATIC};

/* The row for req (web_route for a static file's path), or NULL with *paths holding a bit
 * per row whose path matched under another method: 0 is 404, else 405. */
static const route *find_route(const srv_app *app, const http_request *req, uint64_t *paths)
{
    _Static_assert(NROUTES <= 64, "one bit per route in http_route.value");
    *paths = 0;
    for (size_t i = 0; i < NROUTES; i++) {
        if (!path_matches(&routes[i], req))
            continue;
        if (method_is(req, routes[i].method))
            return &routes[i];
        *paths |= UINT64_C(1) << i;
    }
    return *paths == 0 && is_web_path(app, req) ? &web_route : NULL;
}

/* The methods of the rows in paths, as an Allow value ("GET, POST"). */
static void allow_of(uint64_t paths, char *allow, size_t len)
{
    allow[0] = '\0';
    for (size_t i = 0, n = 0; i < NROUTES; i++)
        if (paths & (UINT64_C(1) << i)) {
            snprintf(allow + n, len - n, "%s%s", n > 0 ? ", " : "", routes[i].method);
            n = strlen(allow);
        }
}

/* Counts an answer by its status class (jwtd_http_responses_total). */
static void count_answer(srv_app *app, int status)
{
    int cls = status / 100;
    if (cls >= 1 && cls <= 5)
        atomic_fetch_add(&app->responses[cls], 1);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Adds the CORS headers, counts and logs an answered request, and its time since start
 * (now_us) by class. */
static void account(srv_app *app, const http_request *req, http_response *resp,
                    enum srv_route_class cls, uint64_t start)
{
    srv_cors_decorate(app, req, resp);
    count_answer(app, resp->status);
    srv_metrics_observe(app, cls, now_us() - start);
    if (resp->status >= 500)
        srv_log(SRV_LOG_ERROR, "request failed",
                json_pack("{s:s%, s:s%, s:i}", "method", req->method, req->method_len, "path",
                          req->path, req->path_len, "status", resp->status));
    else if (srv_log_enabled(SRV_LOG_DEBUG))
        srv_log(SRV_LOG_DEBUG, "request",
                json_pack("{s:s%, s:s%, s:i, s:s}", "method", req->method, req->method_len, "path",
                          req->path, req->path_len, "status", resp->status, "peer", req->peer));
}

/* The row srv_route found (req->route->entry); none: 405 with the methods of the rows that
 * have this path (req->route->value), or, for a CORS preflight from a listed origin, 204 with
 * them; or 404. */
static bool within_shared_ip_limit(srv_app *app, const route *r, const http_request *req,
                                   int64_t *retry_after);

static void dispatch(void *ctx, const http_request *req, http_response *resp)
{
    srv_app *app = ctx;
    const route *r = req->route->entry;
    int64_t retry = 0;
    uint64_t start = now_us();
    enum srv_route_class cls = r != NULL ? r->cls : SRV_CLASS_OTHER;
    if (r != NULL && r->limit != LIMIT_NONE && !within_shared_ip_limit(app, r, req, &retry)) {
        cls = SRV_CLASS_OTHER;
        atomic_fetch_add(&app->limited_ip, 1);
        srv_reply_too_many(resp, retry);
    } else if (r != NULL) {
        r->fn(app, req, resp);
    } else if (req->route->value != 0) {
        char allow[64];
        allow_of((uint64_t)req->route->value, allow, sizeof allow);
        if (srv_cors_is_preflight(app, req))
            srv_cors_preflight(resp, allow);
        else
            reply_method_not_allowed(resp, allow);
    } else {
        http_response_error(resp, 404, MSG_NOT_FOUND);
    }
    account(app, req, resp, cls, start);
}

/* ---- Per-IP limits ---- */

/* A request srv_route refused for its client's per-IP limit: 429 with the wait srv_route
 * computed (req->route->value). */
static void dispatch_limited(void *ctx, const http_request *req, http_response *resp)
{
    srv_app *app = ctx;
    uint64_t start = now_us();
    atomic_fetch_add(&app->limited_ip, 1);
    srv_reply_too_many(resp, req->route->value);
    account(app, req, resp, SRV_CLASS_OTHER, start);
}

static const srv_rate *route_rate(const srv_config *cfg, enum route_limit limit)
{
    switch (limit) {
    case LIMIT_LOGIN: return &cfg->login_rate;
    case LIMIT_REGISTER: return &cfg->register_rate;
    case LIMIT_REFRESH: return &cfg->refresh_rate;
    case LIMIT_TOKEN: return &cfg->token_rate;
    case LIMIT_INTROSPECT: return &cfg->introspect_rate;
    case LIMIT_NONE: break;
    }
    return NULL;
}

/* Takes one request of the route's bucket for the client; false with *retry_after when the
 * bucket is empty. */
static bool within_ip_limit(srv_app *app, const route *r, const http_request *req,
                            int64_t *retry_after)
{
    const srv_rate *rate = route_rate(app->cfg, r->limit);
    if (app->ip_limits == NULL || rate == NULL)
        return true;
    srv_ip ip;
    srv_client_address(app, req, &ip); /* no address (a Unix socket): one shared bucket */
    auth_rate ar = {rate->burst, rate->period};
    return auth_limiter_take(app->ip_limits, (unsigned)r->limit, &ip, sizeof ip, &ar, retry_after);
}

/* The same limit counted in a database that several instances share (auth_shared_take), on
 * the worker that runs the route: the instances of one database admit about one client's
 * burst together, not one each. Nothing when the database is not shared. */
static bool within_shared_ip_limit(srv_app *app, const route *r, const http_request *req,
                                   int64_t *retry_after)
{
    const srv_rate *rate = route_rate(app->cfg, r->limit);
    if (app->ip_limits == NULL || rate == NULL || !auth_shared_limits(app->au))
        return true;
    srv_ip ip;
    srv_client_address(app, req, &ip);
    auth_rate ar = {rate->burst, rate->period};
    return auth_shared_take(app->au, (unsigned)r->limit, &ip, sizeof ip, &ar, retry_after);
}

int srv_limits_open(srv_app *app, int64_t (*now)(void), char *err, size_t errlen)
{
    const srv_config *cfg = app->cfg;
    app->ip_limits = app->lockouts = NULL;
    app->proxies.n = 0;
    char bad[SRV_ERRMSG / 4];
    const char *why = NULL;
    if (srv_origins_parse(cfg->cors_origins, &app->origins, bad, sizeof bad, &why) != 0) {
        snprintf(err, errlen, "invalid value for cors-origins: '%s': %s", bad, why);
        return -1;
    }
    if (cfg->rate_limit != SRV_ON)
        return 0;
    if (srv_proxies_parse(cfg->trusted_proxies, &app->proxies, bad, sizeof bad) != 0) {
        snprintf(err, errlen, "invalid value for trusted-proxies: '%s'", bad);
        return -1;
    }
    app->lockout = (auth_lockout){cfg->lockout_after, cfg->lockout_base, cfg->lockout_max};
    app->ip_limits = auth_limiter_new(SRV_LIMIT_ENTRIES, now);
    app->lockouts = auth_limiter_new(SRV_LOCKOUT_ENTRIES, now);
    if (app->ip_limits == NULL || app->lockouts == NULL) {
        srv_limits_close(app);
        snprintf(err, errlen, "out of memory for the rate limits");
        return -1;
    }
    return 0;
}

void srv_limits_close(srv_app *app)
{
    auth_limiter_free(app->ip_limits);
    auth_limiter_free(app->lockouts);
    app->ip_limits = app->lockouts = NULL;
}

/* On the event loop, before any worker is involved: the per-IP limit of /login, /register
 * and /refresh comes first, so a refused request costs no JSON parsing, no Argon2 and no
 * store access, and never counts against an account's lockout. Refused: 429 answered on the
 * loop (dispatch_limited). */
void srv_route(void *ctx, const http_request *req, http_route *out)
{
    srv_app *app = ctx;
    uint64_t paths = 0;
    const route *r = find_route(app, req, &paths);
    int64_t retry = 0;
    if (r != NULL && r->limit != LIMIT_NONE && !within_ip_limit(app, r, req, &retry)) {
        *out = (http_route){.handler = dispatch_limited, .value = retry};
        return;
    }
    *out = (http_route){.handler = dispatch,
                        .blocking = r != NULL && r->blocking,
                        .entry = r,
                        .value = (int64_t)paths};
}

/* Counted with the answers by status class and by reason, and logged at debug. */
void srv_refused(void *ctx, http_refusal reason, int status, const char *peer)
{
    srv_app *app = ctx;
    count_answer(app, status);
    if ((unsigned)reason < HTTP_REFUSED_COUNT)
        atomic_fetch_add(&app->refused[reason], 1);
    if (srv_log_enabled(SRV_LOG_DEBUG))
        srv_log(SRV_LOG_DEBUG, "request refused",
                json_pack("{s:s, s:i, s:s}", "reason", http_refusal_name(reason), "status", status,
                          "peer", peer));
}
