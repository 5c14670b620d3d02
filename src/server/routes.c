/* The routes of jwtd serve (DESIGN.md, "The server"): one table of method, path, handler,
 * whether the handler blocks (password hashing, store writes: run on workers) and which
 * per-IP limit it draws from. Errors of the auth service become HTTP statuses in exactly
 * one place, reply_auth_error; the abuse limits answer 429 in one, reply_too_many. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "app.h"
#include "log.h"
#include "reqparse.h"

/* Stable messages of the errors the server itself decides (the auth service's own come
 * from auth_err_message). */
#define MSG_INVALID_JSON "invalid JSON"
#define MSG_MEDIA_TYPE "content type must be application/json"
#define MSG_INVALID_REQUEST "invalid request"
#define MSG_MISSING_FIELDS "username and password are required"
#define MSG_MISSING_TOKEN "missing token"
#define MSG_REG_CLOSED "registration closed"
#define MSG_NOT_FOUND "not found"
#define MSG_METHOD "method not allowed"
#define MSG_INTERNAL "internal error"
#define MSG_TOO_MANY "too many requests"

#define BEARER_MISSING "Bearer"
#define BEARER_INVALID "Bearer error=\"invalid_token\""

typedef void (*route_fn)(srv_app *app, const http_request *req, http_response *resp);

/* The per-IP limits: which bucket a route draws from (its own per route). */
enum route_limit { LIMIT_NONE, LIMIT_LOGIN, LIMIT_REGISTER, LIMIT_REFRESH };

typedef struct route {
    const char *method;
    const char *path; /* exact, or a prefix followed by a user id when id_suffix */
    bool id_suffix;
    bool blocking;
    route_fn fn;
    enum route_limit limit;
} route;

/* ---- Answers ---- */

static void no_store(http_response *resp);

/* The one mapping from the auth service's errors to HTTP statuses. */
static int auth_status(auth_err err)
{
    switch (err) {
    case AUTH_OK: return 200;
    case AUTH_BAD_CREDENTIALS:
    case AUTH_INVALID_TOKEN:
    case AUTH_TOKEN_REUSED: return 401;
    case AUTH_FORBIDDEN: return 403;
    case AUTH_CONFLICT: return 409;
    case AUTH_INVALID_INPUT: return 400;
    case AUTH_NOT_FOUND: return 404;
    case AUTH_UNAVAILABLE: return 503;
    case AUTH_INTERNAL: return 500;
    }
    return 500;
}

static void reply_auth_error(http_response *resp, auth_err err)
{
    int status = auth_status(err);
    http_response_error(resp, status, auth_err_message(err));
    /* RFC 6750 section 3: a 401 names the scheme; a presented token that failed says
     * invalid_token, a failed password login presented none. */
    if (status == 401)
        http_response_header(resp, "WWW-Authenticate",
                             err == AUTH_BAD_CREDENTIALS ? BEARER_MISSING : BEARER_INVALID);
    if (status == 503)
        http_response_header(resp, "Retry-After", "1");
}

/* 429 with Retry-After (whole seconds, at least 1). */
static void reply_too_many(http_response *resp, int64_t retry_after)
{
    char secs[24];
    snprintf(secs, sizeof secs, "%" PRId64, retry_after < 1 ? 1 : retry_after);
    http_response_error(resp, 429, MSG_TOO_MANY);
    http_response_header(resp, "Retry-After", secs);
    no_store(resp);
}

static void reply_missing_token(http_response *resp)
{
    http_response_error(resp, 401, MSG_MISSING_TOKEN);
    http_response_header(resp, "WWW-Authenticate", BEARER_MISSING);
}

/* Sends a JSON document (stolen) with the status; 500 when it cannot be encoded. */
static void reply_json(http_response *resp, int status, json_t *doc)
{
    char *body = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (body == NULL) {
        http_response_error(resp, 500, MSG_INTERNAL);
        return;
    }
    http_response_json(resp, status, body);
}

static void set_refresh_cookie(http_response *resp, const char *token, int64_t max_age)
{
    char *cookie = NULL;
    if (asprintf(&cookie,
                 SRV_REFRESH_COOKIE "=%s; HttpOnly; Secure; SameSite=Strict; Path=/; "
                                    "Max-Age=%" PRId64,
                 token, max_age) < 0)
        return;
    http_response_header(resp, "Set-Cookie", cookie);
    free(cookie);
}

static void no_store(http_response *resp)
{
    http_response_header(resp, "Cache-Control", "no-store");
    http_response_header(resp, "Pragma", "no-cache");
}

static json_t *roles_json(const char roles[][AUTH_MAX_ROLE + 1], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, json_string(roles[i]));
    return a;
}

static json_t *opt_string(const char *s) { return s[0] != '\0' ? json_string(s) : json_null(); }

/* A user as the API shows it; the admin view adds state and times. Never the hash. */
static json_t *user_json(const auth_user *u, bool admin)
{
    json_t *o = json_pack("{s:I, s:s, s:o, s:o, s:o}", "id", (json_int_t)u->id, "username",
                          u->username, "email", opt_string(u->email), "name", opt_string(u->name),
                          "roles", roles_json(u->roles, u->nroles));
    if (o != NULL && admin) {
        json_object_set_new(o, "disabled", json_boolean(u->disabled));
        json_object_set_new(o, "created", json_integer(u->created));
        json_object_set_new(o, "updated", json_integer(u->updated));
    }
    return o;
}

/* A token pair (and the user when known): body, refresh cookie, no-store. */
static void reply_tokens(http_response *resp, int status, const auth_pair *pair,
                         const auth_user *user)
{
    json_t *doc = json_pack("{s:s, s:s, s:I, s:s}", "access_token", pair->access_token,
                            "token_type", "Bearer", "expires_in", (json_int_t)pair->expires_in,
                            "refresh_token", pair->refresh_token);
    if (doc != NULL && user != NULL)
        json_object_set_new(doc, "user", user_json(user, false));
    reply_json(resp, status, doc);
    if (resp->status == status) {
        set_refresh_cookie(resp, pair->refresh_token, pair->refresh_expires_in);
        no_store(resp);
    }
}

/* ---- Request input ---- */

static bool json_depth_exceeds(json_t *v, size_t depth)
{
    if (depth > SRV_MAX_JSON_DEPTH)
        return true;
    const char *key;
    json_t *child;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, key, child)
            if (json_depth_exceeds(child, depth + 1))
                return true;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child)
            if (json_depth_exceeds(child, depth + 1))
                return true;
    }
    return false;
}

/* The body as a JSON object. An empty body is an empty object when optional. Returns NULL
 * after answering 415 or 400. */
static json_t *read_body(const http_request *req, http_response *resp, bool optional)
{
    if (optional && req->body_len == 0)
        return json_object();
    size_t ct_len = 0;
    const char *ct = http_header(req, "content-type", &ct_len, NULL);
    if (ct == NULL || !srv_is_json_content_type(ct, ct_len)) {
        http_response_error(resp, 415, MSG_MEDIA_TYPE);
        return NULL;
    }
    json_t *doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
    if (doc == NULL || !json_is_object(doc) || json_depth_exceeds(doc, 1)) {
        json_decref(doc);
        http_response_error(resp, 400, MSG_INVALID_JSON);
        return NULL;
    }
    return doc;
}

/* A string member: 1 and *out when present, 0 when absent or null, -1 when another type. */
static int get_string(json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 1;
}

/* Whether an Authorization value names the Bearer scheme (case-insensitive, RFC 9110 11.1),
 * whatever follows it. Another scheme (Basic ...) or an empty value presents no bearer
 * token at all: RFC 6750 3.1 answers that without an error code. */
static bool names_bearer(const char *h, size_t len)
{
    return len >= 6 && strncasecmp(h, "Bearer", 6) == 0 &&
           (len == 6 || h[6] == ' ' || h[6] == '\t');
}

/* The access token's principal; false after answering 401. */
static bool authenticate(srv_app *app, const http_request *req, http_response *resp,
                         auth_principal *who)
{
    size_t len = 0, count = 0, tok_len = 0;
    const char *tok = NULL, *h = http_header(req, "authorization", &len, &count);
    if (h == NULL || (count == 1 && !names_bearer(h, len))) {
        reply_missing_token(resp);
        return false;
    }
    if (count != 1 || !srv_parse_bearer(h, len, &tok, &tok_len)) {
        reply_auth_error(resp, AUTH_INVALID_TOKEN);
        return false;
    }
    auth_err err = auth_verify_access(app->au, tok, tok_len, who);
    if (err != AUTH_OK) {
        reply_auth_error(resp, err);
        return false;
    }
    return true;
}

/* The refresh token: the body's refresh_token, else Authorization: Bearer, else the
 * cookie. Returns 1 when found, 0 when none was presented, -1 after answering 400 (a
 * body member of another type) or 401 (a malformed header or cookie). */
static int refresh_token_of(const http_request *req, json_t *body, http_response *resp,
                            const char **tok, size_t *tok_len)
{
    size_t len = 0, count = 0;
    switch (get_string(body, "refresh_token", tok)) {
    case 1: *tok_len = strlen(*tok); return 1;
    case -1: http_response_error(resp, 400, MSG_INVALID_REQUEST); return -1;
    default: break;
    }
    const char *h = http_header(req, "authorization", &len, &count);
    if (h != NULL) {
        if (count != 1 || !srv_parse_bearer(h, len, tok, tok_len)) {
            reply_auth_error(resp, AUTH_INVALID_TOKEN);
            return -1;
        }
        return 1;
    }
    h = http_header(req, "cookie", &len, NULL);
    if (h != NULL && srv_cookie_find(h, len, SRV_REFRESH_COOKIE, tok, tok_len)) {
        if (!srv_is_b64token(*tok, *tok_len)) {
            reply_auth_error(resp, AUTH_INVALID_TOKEN);
            return -1;
        }
        return 1;
    }
    return 0;
}

static json_t *peer_field(const http_request *req) { return json_pack("{s:s}", "peer", req->peer); }

/* ---- Handlers: anyone ---- */

static void h_register(srv_app *app, const http_request *req, http_response *resp)
{
    if (app->cfg->registration == SRV_REG_CLOSED) {
        http_response_error(resp, 403, MSG_REG_CLOSED);
        return;
    }
    json_t *body = read_body(req, resp, false);
    if (body == NULL)
        return;
    const char *username = NULL, *password = NULL, *email = "", *name = "";
    int u = get_string(body, "username", &username), p = get_string(body, "password", &password);
    int e = get_string(body, "email", &email), n = get_string(body, "name", &name);
    if (u < 0 || p < 0 || e < 0 || n < 0) {
        http_response_error(resp, 400, MSG_INVALID_REQUEST);
    } else if (u == 0 || p == 0) {
        http_response_error(resp, 400, MSG_MISSING_FIELDS);
    } else {
        auth_user user;
        auth_pair pair = {0};
        auth_err err = auth_register(app->au, username, password, email, name, &user, &pair);
        if (err == AUTH_OK) {
            reply_tokens(resp, 201, &pair, &user);
            srv_log(SRV_LOG_INFO, "user registered",
                    json_pack("{s:I, s:s}", "user_id", (json_int_t)user.id, "peer", req->peer));
        } else {
            reply_auth_error(resp, err);
        }
        auth_pair_clear(&pair);
    }
    json_decref(body);
}

/* The client address as the abuse limits key it (srv_ip: IPv4, or IPv6 cut to /64): the peer,
 * or X-Forwarded-For from a trusted proxy. The header sent on several lines (HAProxy adds its
 * own line after the client's) is one list in order (RFC 9110 5.3); longer than
 * SRV_MAX_XFF_BYTES it is not read (the peer). false when there is no address (a Unix
 * socket); *ip is then all zero. */
static bool client_address(srv_app *app, const http_request *req, srv_ip *ip)
{
    char xff[SRV_MAX_XFF_BYTES];
    long xff_len =
        app->proxies.n > 0 ? http_header_join(req, "x-forwarded-for", xff, sizeof xff) : 0;
    memset(ip, 0, sizeof *ip);
    return srv_client_ip(&app->proxies, req->peer, xff_len > 0 ? xff : NULL,
                         xff_len > 0 ? (size_t)xff_len : 0, xff_len < 0 ? 2 : 1, ip);
}

static void h_login(srv_app *app, const http_request *req, http_response *resp)
{
    json_t *body = read_body(req, resp, false);
    if (body == NULL)
        return;
    const char *username = NULL, *email = NULL, *password = NULL;
    int u = get_string(body, "username", &username), e = get_string(body, "email", &email);
    int p = get_string(body, "password", &password);
    if (u < 0 || e < 0 || p < 0) {
        http_response_error(resp, 400, MSG_INVALID_REQUEST);
    } else if ((u == 0 && e == 0) || p == 0) {
        http_response_error(resp, 400, MSG_MISSING_FIELDS);
    } else {
        /* The lockout is per normalised identifier whether or not the account exists (per
         * (identifier, address) from an address it logged in from before), and the attempt
         * is begun before any password work: a locked account answers 429 even to the right
         * password, and attempts in flight count against the failures left. */
        const char *ident = u == 1 ? username : email;
        size_t ident_len = strlen(ident);
        int64_t retry = 0;
        auth_lockout_attempt attempt = {0};
        if (app->lockouts != NULL) {
            srv_ip ip;
            bool has_ip = client_address(app, req, &ip);
            if (!auth_lockout_begin(app->lockouts, ident, ident_len, has_ip ? &ip : NULL,
                                    has_ip ? sizeof ip : 0, &app->lockout, &attempt, &retry)) {
                atomic_fetch_add(&app->limited_lockout, 1);
                reply_too_many(resp, retry);
                srv_log(SRV_LOG_INFO, "login refused: account locked", peer_field(req));
                json_decref(body);
                return;
            }
        }
        auth_user user;
        auth_pair pair = {0};
        auth_err err = auth_login(app->au, ident, password, &user, &pair);
        if (app->lockouts != NULL) /* ends the attempt begun above, exactly once */
            auth_lockout_end(app->lockouts, &attempt,
                             err == AUTH_OK                ? AUTH_LOGIN_SUCCESS
                             : err == AUTH_BAD_CREDENTIALS ? AUTH_LOGIN_FAILURE
                                                           : AUTH_LOGIN_NEITHER,
                             &app->lockout);
        if (err == AUTH_OK) {
            reply_tokens(resp, 200, &pair, &user);
        } else {
            reply_auth_error(resp, err);
            if (err == AUTH_BAD_CREDENTIALS)
                srv_log(SRV_LOG_INFO, "login failed", peer_field(req));
        }
        auth_pair_clear(&pair);
    }
    json_decref(body);
}

static void h_refresh(srv_app *app, const http_request *req, http_response *resp)
{
    json_t *body = read_body(req, resp, true);
    if (body == NULL)
        return;
    const char *tok = NULL;
    size_t tok_len = 0;
    int found = refresh_token_of(req, body, resp, &tok, &tok_len);
    if (found == 0) {
        reply_missing_token(resp);
    } else if (found == 1) {
        auth_pair pair = {0};
        auth_err err = auth_refresh(app->au, tok, tok_len, &pair);
        if (err == AUTH_OK)
            reply_tokens(resp, 200, &pair, NULL);
        else
            reply_auth_error(resp, err);
        if (err == AUTH_TOKEN_REUSED)
            srv_log(SRV_LOG_WARN, "refresh token reuse detected: family revoked", peer_field(req));
        auth_pair_clear(&pair);
    }
    json_decref(body);
}

static void h_logout(srv_app *app, const http_request *req, http_response *resp)
{
    json_t *body = read_body(req, resp, true);
    if (body == NULL)
        return;
    const char *tok = NULL;
    size_t tok_len = 0;
    http_response tmp = {0};
    /* Logout succeeds for an invalid or missing token: it has nothing left to revoke. A
     * body that is not what the API takes (refresh_token not a string) is still malformed
     * input: 400, as for /refresh. A valid token's family that the store cannot revoke now
     * is no success (503). */
    auth_err err = AUTH_OK;
    int found = refresh_token_of(req, body, &tmp, &tok, &tok_len);
    if (found == 1)
        err = auth_logout(app->au, tok, tok_len);
    bool malformed = found < 0 && tmp.status == 400;
    http_response_clear(&tmp);
    if (malformed) {
        json_decref(body);
        http_response_error(resp, 400, MSG_INVALID_REQUEST);
        return;
    }
    json_decref(body);
    if (err != AUTH_OK) {
        reply_auth_error(resp, err);
        return;
    }
    http_response_json(resp, 204, NULL);
    set_refresh_cookie(resp, "", 0);
    no_store(resp);
}

static void h_logout_all(srv_app *app, const http_request *req, http_response *resp)
{
    auth_principal who;
    if (!authenticate(app, req, resp, &who))
        return;
    auth_err err = auth_logout_all(app->au, who.user_id);
    if (err != AUTH_OK) {
        reply_auth_error(resp, err);
        return;
    }
    http_response_json(resp, 204, NULL);
    set_refresh_cookie(resp, "", 0);
    no_store(resp);
}

static void h_me(srv_app *app, const http_request *req, http_response *resp)
{
    auth_principal who;
    if (!authenticate(app, req, resp, &who))
        return;
    char sub[24];
    snprintf(sub, sizeof sub, "%" PRId64, who.user_id);
    reply_json(resp, 200,
               json_pack("{s:s, s:o, s:o, s:s, s:I, s:I, s:s}", "user", who.username, "role",
                         who.nroles > 0 ? json_string(who.roles[0]) : json_null(), "roles",
                         roles_json(who.roles, who.nroles), "sub", sub, "iat", (json_int_t)who.iat,
                         "exp", (json_int_t)who.exp, "jti", who.jti));
    no_store(resp);
}

static void h_jwks(srv_app *app, const http_request *req, http_response *resp)
{
    (void)req; /* the handler signature is shared */
    char *jwks = NULL;
    auth_err err = auth_jwks_copy(app->au, &jwks);
    if (err != AUTH_OK) {
        reply_auth_error(resp, err);
        return;
    }
    http_response_json(resp, 200, jwks);
    http_response_header(resp, "Cache-Control", "public, max-age=60");
}

static void h_healthz(srv_app *app, const http_request *req, http_response *resp)
{
    (void)app, (void)req; /* the handler signature is shared */
    reply_json(resp, 200, json_pack("{s:s}", "status", "ok"));
    http_response_header(resp, "Cache-Control", "no-store");
}

/* ---- Counters ---- */

static uint64_t responses(srv_app *app, int cls) { return atomic_load(&app->responses[cls]); }

/* One jwtd_http_requests_refused_total line per reason, into buf (always terminated). */
static void refused_lines(srv_app *app, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int r = 0; r < HTTP_REFUSED_COUNT && used < size; r++) {
        int n =
            snprintf(buf + used, size - used,
                     "jwtd_http_requests_refused_total{reason=\"%s\"} %" PRIu64 "\n",
                     http_refusal_name((http_refusal)r), (uint64_t)atomic_load(&app->refused[r]));
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

void srv_refused(void *ctx, http_refusal reason, int status, const char *peer)
{
    srv_app *app = ctx;
    int cls = status / 100;
    if (cls >= 1 && cls <= 5)
        atomic_fetch_add(&app->responses[cls], 1);
    if ((unsigned)reason < HTTP_REFUSED_COUNT)
        atomic_fetch_add(&app->refused[reason], 1);
    if (srv_log_enabled(SRV_LOG_DEBUG))
        srv_log(SRV_LOG_DEBUG, "request refused",
                json_pack("{s:s, s:i, s:s}", "reason", http_refusal_name(reason), "status", status,
                          "peer", peer));
}

static void h_metrics(srv_app *app, const http_request *req, http_response *resp)
{
    (void)req; /* the handler signature is shared */
    auth_stats s;
    auth_stats_get(app->au, &s);
    char refused[HTTP_REFUSED_COUNT * 96];
    refused_lines(app, refused, sizeof refused);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        http_response_error(resp, 500, MSG_INTERNAL);
        return;
    }
    fputs("# HELP jwtd_http_responses_total HTTP responses by status class.\n"
          "# TYPE jwtd_http_responses_total counter\n",
          f);
    for (int c = 1; c <= 5; c++)
        fprintf(f, "jwtd_http_responses_total{code=\"%dxx\"} %" PRIu64 "\n", c, responses(app, c));
    fprintf(f,
            "# HELP jwtd_logins_total Password logins by result.\n"
            "# TYPE jwtd_logins_total counter\n"
            "jwtd_logins_total{result=\"ok\"} %" PRIu64 "\n"
            "jwtd_logins_total{result=\"failed\"} %" PRIu64 "\n"
            "# HELP jwtd_registrations_total Users registered through POST /register.\n"
            "# TYPE jwtd_registrations_total counter\n"
            "jwtd_registrations_total %" PRIu64 "\n"
            "# HELP jwtd_refreshes_total Refresh-token rotations.\n"
            "# TYPE jwtd_refreshes_total counter\n"
            "jwtd_refreshes_total %" PRIu64 "\n"
            "# HELP jwtd_refresh_reuse_total Spent refresh tokens presented again.\n"
            "# TYPE jwtd_refresh_reuse_total counter\n"
            "jwtd_refresh_reuse_total %" PRIu64 "\n"
            "# HELP jwtd_logouts_total Logouts.\n"
            "# TYPE jwtd_logouts_total counter\n"
            "jwtd_logouts_total %" PRIu64 "\n"
            "# HELP jwtd_access_verifications_total Access-token checks by result.\n"
            "# TYPE jwtd_access_verifications_total counter\n"
            "jwtd_access_verifications_total{result=\"ok\"} %" PRIu64 "\n"
            "jwtd_access_verifications_total{result=\"failed\"} %" PRIu64 "\n"
            "# HELP jwtd_access_verify_cache_hits_total Access tokens verified from the cache.\n"
            "# TYPE jwtd_access_verify_cache_hits_total counter\n"
            "jwtd_access_verify_cache_hits_total %" PRIu64 "\n"
            "# HELP jwtd_revoked_access_tokens Access-token revocations held in memory.\n"
            "# TYPE jwtd_revoked_access_tokens gauge\n"
            "jwtd_revoked_access_tokens{kind=\"jti\"} %zu\n"
            "jwtd_revoked_access_tokens{kind=\"user\"} %zu\n"
            "# HELP jwtd_signing_keys Signing keys published in the JWKS.\n"
            "# TYPE jwtd_signing_keys gauge\n"
            "jwtd_signing_keys %zu\n"
            "# HELP jwtd_rate_limited_total Requests answered 429: per-IP limit or account "
            "lockout.\n"
            "# TYPE jwtd_rate_limited_total counter\n"
            "jwtd_rate_limited_total{reason=\"ip\"} %" PRIu64 "\n"
            "jwtd_rate_limited_total{reason=\"lockout\"} %" PRIu64 "\n"
            "# HELP jwtd_http_requests_refused_total Requests the HTTP layer refused before any "
            "handler (framing, field syntax, size), by reason.\n"
            "# TYPE jwtd_http_requests_refused_total counter\n"
            "%s"
            "# HELP jwtd_uptime_seconds Seconds since start-up.\n"
            "# TYPE jwtd_uptime_seconds gauge\n"
            "jwtd_uptime_seconds %" PRId64 "\n",
            s.logins_ok, s.logins_failed, s.registrations, s.refreshes, s.refresh_reuse, s.logouts,
            s.verify_ok, s.verify_failed, s.verify_cache_hits, s.revoked_jtis, s.revoked_users,
            s.signing_keys, (uint64_t)atomic_load(&app->limited_ip),
            (uint64_t)atomic_load(&app->limited_lockout), refused,
            (int64_t)time(NULL) - app->started);
    if (fclose(f) != 0 || text == NULL) {
        free(text);
        http_response_error(resp, 500, MSG_INTERNAL);
        return;
    }
    http_response_json(resp, 200, text);
    resp->body_len = len;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    http_response_header(resp, "Cache-Control", "no-store");
}

/* ---- Handlers: role admin ---- */

/* The caller's principal when it has role admin; false after answering 401 or 403. */
static bool authenticate_admin(srv_app *app, const http_request *req, http_response *resp)
{
    auth_principal who;
    if (!authenticate(app, req, resp, &who))
        return false;
    if (!auth_principal_has_role(&who, "admin")) {
        reply_auth_error(resp, AUTH_FORBIDDEN);
        return false;
    }
    return true;
}

static void h_admin_metrics(srv_app *app, const http_request *req, http_response *resp)
{
    if (!authenticate_admin(app, req, resp))
        return;
    auth_stats s;
    auth_stats_get(app->au, &s);
    uint64_t total = 0;
    for (int c = 1; c <= 5; c++)
        total += responses(app, c);
    json_t *http = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "total", (json_int_t)total, "1xx",
                             (json_int_t)responses(app, 1), "2xx", (json_int_t)responses(app, 2),
                             "3xx", (json_int_t)responses(app, 3), "4xx",
                             (json_int_t)responses(app, 4), "5xx", (json_int_t)responses(app, 5));
    json_t *doc = json_pack(
        "{s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "uptime_seconds",
        (json_int_t)((int64_t)time(NULL) - app->started), "requests", http, "logins_ok",
        (json_int_t)s.logins_ok, "logins_failed", (json_int_t)s.logins_failed, "registrations",
        (json_int_t)s.registrations, "refreshes", (json_int_t)s.refreshes, "refresh_reuse",
        (json_int_t)s.refresh_reuse, "logouts", (json_int_t)s.logouts, "verify_ok",
        (json_int_t)s.verify_ok, "verify_failed", (json_int_t)s.verify_failed, "verify_cache_hits",
        (json_int_t)s.verify_cache_hits, "revoked_jtis", (json_int_t)s.revoked_jtis,
        "revoked_users", (json_int_t)s.revoked_users, "signing_keys", (json_int_t)s.signing_keys);
    if (doc != NULL)
        json_object_set_new(doc, "rate_limited",
                            json_pack("{s:I, s:I}", "ip", (json_int_t)atomic_load(&app->limited_ip),
                                      "lockout", (json_int_t)atomic_load(&app->limited_lockout)));
    json_t *refused = json_object();
    for (int r = 0; r < HTTP_REFUSED_COUNT && refused != NULL; r++)
        json_object_set_new(refused, http_refusal_name((http_refusal)r),
                            json_integer((json_int_t)atomic_load(&app->refused[r])));
    if (doc != NULL && refused != NULL)
        json_object_set_new(doc, "refused", refused);
    else
        json_decref(refused);
    reply_json(resp, 200, doc);
    http_response_header(resp, "Cache-Control", "no-store");
}

typedef struct user_page {
    json_t *users;
    size_t limit;
    int64_t next_after; /* 0: no further page */
} user_page;

static bool collect_user(void *ctx, const auth_user *u)
{
    user_page *page = ctx;
    /* One user beyond the limit was asked for: it only says that another page exists. */
    if (json_array_size(page->users) == page->limit) {
        page->next_after = (int64_t)json_integer_value(
            json_object_get(json_array_get(page->users, page->limit - 1), "id"));
        return false;
    }
    json_array_append_new(page->users, user_json(u, true));
    return true;
}

static void h_admin_users(srv_app *app, const http_request *req, http_response *resp)
{
    if (!authenticate_admin(app, req, resp))
        return;
    int64_t after = 0, limit = SRV_USERS_PAGE_DEFAULT;
    if (srv_query_int(req->query, req->query_len, "after", 0, INT64_MAX / 2, &after) < 0 ||
        srv_query_int(req->query, req->query_len, "limit", 1, SRV_USERS_PAGE_MAX, &limit) < 0) {
        http_response_error(resp, 400, MSG_INVALID_REQUEST);
        return;
    }
    user_page page = {json_array(), (size_t)limit, 0};
    size_t total = 0;
    auth_err err = page.users == NULL ? AUTH_INTERNAL
                                      : auth_user_list(app->au, after, (size_t)limit + 1,
                                                       collect_user, &page, &total);
    if (err != AUTH_OK) {
        json_decref(page.users);
        reply_auth_error(resp, err);
        return;
    }
    reply_json(resp, 200,
               json_pack("{s:o, s:I, s:o}", "users", page.users, "total", (json_int_t)total,
                         "next_after",
                         page.next_after != 0 ? json_integer(page.next_after) : json_null()));
    http_response_header(resp, "Cache-Control", "no-store");
}

/* The id of /admin/users/{id}: 1 to 18 digits, no sign or leading zero. */
static int64_t path_user_id(const http_request *req, size_t prefix_len)
{
    const char *p = req->path + prefix_len;
    size_t n = req->path_len - prefix_len;
    int64_t id = 0;
    if (n == 0 || n > 18 || p[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        id = id * 10 + (p[i] - '0');
    }
    return id;
}

/* {"roles": [...]} and/or {"disabled": bool}: the members, or false when malformed. */
static bool patch_fields(json_t *body, const char **roles, size_t *nroles, int *disabled)
{
    json_t *r = json_object_get(body, "roles"), *d = json_object_get(body, "disabled"), *v;
    size_t i;
    *nroles = 0;
    *disabled = -1;
    if (r == NULL && d == NULL)
        return false;
    if (d != NULL) {
        if (!json_is_boolean(d))
            return false;
        *disabled = json_is_true(d);
    }
    if (r != NULL) {
        if (!json_is_array(r) || json_array_size(r) > AUTH_MAX_ROLES)
            return false;
        json_array_foreach(r, i, v) {
            if (!json_is_string(v))
                return false;
            roles[(*nroles)++] = json_string_value(v);
        }
    }
    return true;
}

static void h_admin_user_patch(srv_app *app, const http_request *req, http_response *resp)
{
    if (!authenticate_admin(app, req, resp))
        return;
    int64_t id = path_user_id(req, strlen("/admin/users/"));
    if (id == 0) {
        http_response_error(resp, 404, MSG_NOT_FOUND);
        return;
    }
    json_t *body = read_body(req, resp, false);
    if (body == NULL)
        return;
    const char *roles[AUTH_MAX_ROLES];
    size_t nroles = 0;
    int disabled = -1;
    auth_user user;
    if (!patch_fields(body, roles, &nroles, &disabled)) {
        http_response_error(resp, 400, MSG_INVALID_REQUEST);
        json_decref(body);
        return;
    }
    bool set_roles = json_object_get(body, "roles") != NULL;
    auth_err err = auth_user_get(app->au, id, &user);
    if (err == AUTH_OK && set_roles)
        err = auth_set_roles(app->au, id, roles, nroles);
    if (err == AUTH_OK && disabled >= 0)
        err = auth_set_disabled(app->au, id, disabled == 1);
    if (err == AUTH_OK)
        err = auth_user_get(app->au, id, &user);
    json_decref(body);
    if (err != AUTH_OK) {
        reply_auth_error(resp, err);
        return;
    }
    srv_log(SRV_LOG_INFO, "user changed by an admin",
            json_pack("{s:I, s:b, s:b}", "user_id", (json_int_t)id, "roles_set", set_roles,
                      "disabled", user.disabled));
    reply_json(resp, 200, json_pack("{s:o}", "user", user_json(&user, true)));
    http_response_header(resp, "Cache-Control", "no-store");
}

/* ---- Routing ---- */

static const route routes[] = {
    {"POST", "/register", false, true, h_register, LIMIT_REGISTER},
    {"POST", "/login", false, true, h_login, LIMIT_LOGIN},
    {"POST", "/refresh", false, true, h_refresh, LIMIT_REFRESH},
    {"POST", "/logout", false, true, h_logout, LIMIT_NONE},
    {"POST", "/logout-all", false, true, h_logout_all, LIMIT_NONE},
    {"GET", "/me", false, false, h_me, LIMIT_NONE},
    {"GET", "/admin/users", false, true, h_admin_users, LIMIT_NONE},
    {"PATCH", "/admin/users/", true, true, h_admin_user_patch, LIMIT_NONE},
    {"GET", "/admin/metrics", false, false, h_admin_metrics, LIMIT_NONE},
    {"GET", "/.well-known/jwks.json", false, false, h_jwks, LIMIT_NONE},
    {"GET", "/healthz", false, false, h_healthz, LIMIT_NONE},
    {"GET", "/metrics", false, false, h_metrics, LIMIT_NONE},
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

static const route web_route = {"GET", "/", false, false, h_web, LIMIT_NONE};

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

/* Counts and logs an answered request. */
static void account(srv_app *app, const http_request *req, const http_response *resp)
{
    int cls = resp->status / 100;
    if (cls >= 1 && cls <= 5)
        atomic_fetch_add(&app->responses[cls], 1);
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
 * have this path (req->route->value), or 404. */
static void dispatch(void *ctx, const http_request *req, http_response *resp)
{
    srv_app *app = ctx;
    const route *r = req->route->entry;
    if (r != NULL) {
        r->fn(app, req, resp);
    } else if (req->route->value != 0) {
        char allow[64];
        allow_of((uint64_t)req->route->value, allow, sizeof allow);
        reply_method_not_allowed(resp, allow);
    } else {
        http_response_error(resp, 404, MSG_NOT_FOUND);
    }
    account(app, req, resp);
}

/* ---- Per-IP limits ---- */

/* A request srv_route refused for its client's per-IP limit: 429 with the wait srv_route
 * computed (req->route->value). */
static void dispatch_limited(void *ctx, const http_request *req, http_response *resp)
{
    srv_app *app = ctx;
    atomic_fetch_add(&app->limited_ip, 1);
    reply_too_many(resp, req->route->value);
    account(app, req, resp);
}

static const srv_rate *route_rate(const srv_config *cfg, enum route_limit limit)
{
    switch (limit) {
    case LIMIT_LOGIN: return &cfg->login_rate;
    case LIMIT_REGISTER: return &cfg->register_rate;
    case LIMIT_REFRESH: return &cfg->refresh_rate;
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
    client_address(app, req, &ip); /* no address (a Unix socket): one shared bucket */
    auth_rate ar = {rate->burst, rate->period};
    return auth_limiter_take(app->ip_limits, (unsigned)r->limit, &ip, sizeof ip, &ar, retry_after);
}

int srv_limits_open(srv_app *app, int64_t (*now)(void), char *err, size_t errlen)
{
    const srv_config *cfg = app->cfg;
    app->ip_limits = app->lockouts = NULL;
    app->proxies.n = 0;
    if (cfg->rate_limit != SRV_ON)
        return 0;
    char bad[SRV_ERRMSG / 4];
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

void srv_tick(void *ctx)
{
    srv_app *app = ctx;
    auth_err err = auth_sync(app->au);
    if (err != AUTH_OK)
        srv_log(SRV_LOG_WARN, "cannot sync keys and revocations from the store",
                json_pack("{s:s}", "error", auth_err_message(err)));
}
