/* What every handler of jwtd serve shares: the answers (errors of the auth service become
 * HTTP statuses in exactly one place, srv_reply_auth_error; the abuse limits answer 429 in one,
 * srv_reply_too_many) and the reading of request input (JSON bodies, tokens, the client). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "replies.h"
#include "reqparse.h"

/* RFC 6750 3: the challenge of every 401 and 403 of a bearer-protected route. Without a
 * token (or after a failed password login) there is no error attribute (3.1). */
#define BEARER_REALM "Bearer realm=\"jwtd\""
#define BEARER_ERROR(code, text) BEARER_REALM ", error=\"" code "\", error_description=\"" text "\""

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

/* The challenge of a 401: what the holder of a refused token may be told. One text for every
 * signature and claim failure (which check failed is not said). */
static const char *bearer_challenge(auth_err err, auth_token_fault fault)
{
    if (err == AUTH_BAD_CREDENTIALS)
        return BEARER_REALM;
    if (err == AUTH_TOKEN_REUSED)
        return BEARER_ERROR("invalid_token", "the refresh token was used before: its session "
                                             "is revoked, log in again");
    switch (fault) {
    case AUTH_FAULT_EXPIRED: return BEARER_ERROR("invalid_token", "the token expired");
    case AUTH_FAULT_REVOKED: return BEARER_ERROR("invalid_token", "the token was revoked");
    case AUTH_FAULT_NONE:
    case AUTH_FAULT_INVALID: break;
    }
    return BEARER_ERROR("invalid_token", "the token is not valid");
}

void srv_reply_token_error(http_response *resp, auth_err err, auth_token_fault fault)
{
    int status = auth_status(err);
    http_response_error(resp, status, auth_err_message(err));
    if (status == 401)
        http_response_header(resp, "WWW-Authenticate", bearer_challenge(err, fault));
    if (status == 503)
        http_response_header(resp, "Retry-After", "1");
}

void srv_reply_auth_error(http_response *resp, auth_err err)
{
    srv_reply_token_error(resp, err, AUTH_FAULT_INVALID);
}

void srv_reply_insufficient_scope(http_response *resp, const char *role)
{
    char challenge[sizeof BEARER_REALM + AUTH_MAX_ROLE + 96];
    /* role has the syntax of a role name (a-z 0-9 _ -): nothing in it needs quoting. */
    snprintf(challenge, sizeof challenge,
             BEARER_REALM ", error=\"insufficient_scope\", error_description=\"the token "
                          "lacks role %s\"",
             role);
    http_response_error(resp, 403, auth_err_message(AUTH_FORBIDDEN));
    http_response_header(resp, "WWW-Authenticate", challenge);
}

void srv_reply_invalid_input(http_response *resp, const auth_input_fault *fault)
{
    if (fault == NULL || fault->field == NULL) {
        srv_reply_auth_error(resp, AUTH_INVALID_INPUT);
        return;
    }
    srv_reply_json(resp, 400,
                   json_pack("{s:s, s:s, s:s}", "error", auth_err_message(AUTH_INVALID_INPUT),
                             "field", fault->field, "detail", fault->detail));
}

/* 429 with Retry-After (whole seconds, at least 1). */
void srv_reply_too_many(http_response *resp, int64_t retry_after)
{
    char secs[24];
    snprintf(secs, sizeof secs, "%" PRId64, retry_after < 1 ? 1 : retry_after);
    http_response_error(resp, 429, MSG_TOO_MANY);
    http_response_header(resp, "Retry-After", secs);
    srv_no_store(resp);
}

void srv_reply_missing_token(http_response *resp)
{
    http_response_error(resp, 401, MSG_MISSING_TOKEN);
    http_response_header_static(resp, "WWW-Authenticate", BEARER_REALM);
}

/* Sends a JSON document (stolen) with the status; 500 when it cannot be encoded. */
void srv_reply_json(http_response *resp, int status, json_t *doc)
{
    char *body = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (body == NULL) {
        http_response_error(resp, 500, MSG_INTERNAL);
        return;
    }
    http_response_json(resp, status, body);
}

void srv_set_refresh_cookie(http_response *resp, const char *token, int64_t max_age)
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

void srv_no_store(http_response *resp)
{
    http_response_header_static(resp, "Cache-Control", "no-store");
    http_response_header_static(resp, "Pragma", "no-cache");
}

/* ---- The flat JSON writer (replies.h) ---- */
/* On libjwtd's claims writer (src/jose/jwrite.c): its quoting table, integers and buffer
 * accounting; what it does not handle fails the writer here too. */

/* ,"key": (no comma after the opening brace). */
static void jflat_key(srv_jflat *w, const char *key)
{
    if (w->w.len > 1)
        jose_jw_put(&w->w, ",", 1);
    jose_jw_cstring(&w->w, key);
    jose_jw_put(&w->w, ":", 1);
}

void srv_jflat_init(srv_jflat *w)
{
    jose_jw_init(&w->w, w->buf, sizeof w->buf);
    jose_jw_put(&w->w, "{", 1);
}

void srv_jflat_str(srv_jflat *w, const char *key, const char *value)
{
    jflat_key(w, key);
    jose_jw_cstring(&w->w, value);
}

void srv_jflat_null(srv_jflat *w, const char *key)
{
    jflat_key(w, key);
    jose_jw_put(&w->w, "null", 4);
}

void srv_jflat_int(srv_jflat *w, const char *key, int64_t value)
{
    jflat_key(w, key);
    jose_jw_int(&w->w, value);
}

void srv_jflat_strs(srv_jflat *w, const char *key, const char values[][AUTH_MAX_ROLE + 1], size_t n)
{
    jflat_key(w, key);
    jose_jw_put(&w->w, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            jose_jw_put(&w->w, ",", 1);
        jose_jw_cstring(&w->w, values[i]);
    }
    jose_jw_put(&w->w, "]", 1);
}

bool srv_jflat_reply(srv_jflat *w, http_response *resp, int status)
{
    jose_jw_put(&w->w, "}", 1);
    if (!jose_jw_done(&w->w))
        return false;
    char *body = malloc(w->w.len + 1);
    if (body == NULL)
        return false;
    memcpy(body, w->buf, w->w.len);
    body[w->w.len] = '\0';
    http_response_json(resp, status, body);
    return true;
}

json_t *srv_roles_json(const char roles[][AUTH_MAX_ROLE + 1], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, json_string(roles[i]));
    return a;
}

static json_t *opt_string(const char *s) { return s[0] != '\0' ? json_string(s) : json_null(); }

/* A user as the API shows it; the admin view adds state and times. Never the hash. */
json_t *srv_user_json(const auth_user *u, bool admin)
{
    json_t *o = json_pack("{s:I, s:s, s:o, s:o, s:o}", "id", (json_int_t)u->id, "username",
                          u->username, "email", opt_string(u->email), "name", opt_string(u->name),
                          "roles", srv_roles_json(u->roles, u->nroles));
    if (o != NULL && admin) {
        json_object_set_new(o, "disabled", json_boolean(u->disabled));
        json_object_set_new(o, "created", json_integer(u->created));
        json_object_set_new(o, "updated", json_integer(u->updated));
    }
    return o;
}

/* A machine client as the API shows it. Never a secret. */
json_t *srv_client_json(const auth_client *c)
{
    char sub[sizeof AUTH_CLIENT_SUB_PREFIX + AUTH_MAX_CLIENT];
    snprintf(sub, sizeof sub, "%s%s", AUTH_CLIENT_SUB_PREFIX, c->name);
    return json_pack("{s:s, s:s, s:o, s:I, s:I}", "client_id", c->name, "sub", sub, "roles",
                     srv_roles_json(c->roles, c->nroles), "created", (json_int_t)c->created,
                     "updated", (json_int_t)c->updated);
}

/* A token pair (and the user when known): body, refresh cookie, no-store. */
void srv_reply_tokens(http_response *resp, int status, const auth_pair *pair, const auth_user *user)
{
    json_t *doc = json_pack("{s:s, s:s, s:I, s:s}", "access_token", pair->access_token,
                            "token_type", "Bearer", "expires_in", (json_int_t)pair->expires_in,
                            "refresh_token", pair->refresh_token);
    if (doc != NULL && user != NULL)
        json_object_set_new(doc, "user", srv_user_json(user, false));
    srv_reply_json(resp, status, doc);
    if (resp->status == status) {
        srv_set_refresh_cookie(resp, pair->refresh_token, pair->refresh_expires_in);
        srv_no_store(resp);
    }
}

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
json_t *srv_read_body(const http_request *req, http_response *resp, bool optional)
{
    if (optional && req->body_len == 0)
        return json_object();
    size_t ct_len = 0;
    const char *ct = http_header(req, "content-type", &ct_len, NULL);
    if (ct == NULL || !srv_is_json_content_type(ct, ct_len)) {
        http_response_error(resp, 415, MSG_MEDIA_TYPE);
        return NULL;
    }
    json_t *doc = srv_json_object(req->body, req->body_len);
    if (doc == NULL)
        http_response_error(resp, 400, MSG_INVALID_JSON);
    return doc;
}

json_t *srv_json_object(const char *text, size_t len)
{
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (doc == NULL || !json_is_object(doc) || json_depth_exceeds(doc, 1)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* A string member: 1 and *out when present, 0 when absent or null, -1 when another type. */
int srv_get_string(json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 1;
}

/* The string members fields (NULL-terminated) into *out[i], left as they are when absent or
 * null: 0, or -1 after answering 400 naming the first member of another type. */
int srv_get_strings(json_t *obj, const char *const *fields, const char **const *out,
                    http_response *resp)
{
    for (size_t i = 0; fields[i] != NULL; i++) {
        if (srv_get_string(obj, fields[i], out[i]) < 0) {
            srv_reply_json(resp, 400,
                           json_pack("{s:s, s:s, s:s}", "error", MSG_INVALID_REQUEST, "field",
                                     fields[i], "detail", "must be a string"));
            return -1;
        }
    }
    return 0;
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
bool srv_authenticate(srv_app *app, const http_request *req, http_response *resp,
                      auth_principal *who)
{
    size_t len = 0, count = 0, tok_len = 0;
    const char *tok = NULL, *h = http_header(req, "authorization", &len, &count);
    if (h == NULL || (count == 1 && !names_bearer(h, len))) {
        srv_reply_missing_token(resp);
        return false;
    }
    if (count != 1 || !srv_bearer_span(h, len, &tok, &tok_len)) {
        srv_reply_auth_error(resp, AUTH_INVALID_TOKEN);
        return false;
    }
    /* The b64token syntax (RFC 6750 2.1) is checked only when the token failed: a token that
     * verified is a JWS in compact form (base64url and dots, a subset of b64token), or, from
     * the cache, the same bytes as one (its 128-bit keyed tag). Every request saves a pass
     * over the token; the answers are those of checking first. */
    auth_token_fault fault = AUTH_FAULT_NONE;
    auth_err err = auth_verify_access_why(app->au, tok, tok_len, who, &fault);
    if (err != AUTH_OK) {
        if (!srv_is_b64token(tok, tok_len))
            srv_reply_auth_error(resp, AUTH_INVALID_TOKEN);
        else
            srv_reply_token_error(resp, err, fault);
        return false;
    }
    return true;
}

/* The caller's principal when it has role admin; false after answering 401 or 403. */
bool srv_authenticate_admin(srv_app *app, const http_request *req, http_response *resp)
{
    auth_principal who;
    if (!srv_authenticate(app, req, resp, &who))
        return false;
    if (!auth_principal_has_role(&who, "admin")) {
        srv_reply_insufficient_scope(resp, "admin");
        return false;
    }
    return true;
}

/* The refresh token: the body's refresh_token, else Authorization: Bearer, else the
 * cookie. Returns 1 when found, 0 when none was presented, -1 after answering 400 (a
 * body member of another type) or 401 (a malformed header or cookie). */
int srv_refresh_token_of(const http_request *req, json_t *body, http_response *resp,
                         const char **tok, size_t *tok_len)
{
    size_t len = 0, count = 0;
    switch (srv_get_string(body, "refresh_token", tok)) {
    case 1: *tok_len = strlen(*tok); return 1;
    case -1: http_response_error(resp, 400, MSG_INVALID_REQUEST); return -1;
    default: break;
    }
    const char *h = http_header(req, "authorization", &len, &count);
    if (h != NULL) {
        if (count != 1 || !srv_parse_bearer(h, len, tok, tok_len)) {
            srv_reply_auth_error(resp, AUTH_INVALID_TOKEN);
            return -1;
        }
        return 1;
    }
    h = http_header(req, "cookie", &len, NULL);
    if (h != NULL && srv_cookie_find(h, len, SRV_REFRESH_COOKIE, tok, tok_len)) {
        if (!srv_is_b64token(*tok, *tok_len)) {
            srv_reply_auth_error(resp, AUTH_INVALID_TOKEN);
            return -1;
        }
        return 1;
    }
    return 0;
}

/* The client address as the abuse limits key it (srv_ip: IPv4, or IPv6 cut to /64): the peer,
 * or X-Forwarded-For from a trusted proxy. The header sent on several lines (HAProxy adds its
 * own line after the client's) is one list in order (RFC 9110 5.3); longer than
 * SRV_MAX_XFF_BYTES it is not read (the peer). false when there is no address (a Unix
 * socket); *ip is then all zero. */
bool srv_client_address(srv_app *app, const http_request *req, srv_ip *ip)
{
    char xff[SRV_MAX_XFF_BYTES];
    long xff_len =
        app->proxies.n > 0 ? http_header_join(req, "x-forwarded-for", xff, sizeof xff) : 0;
    memset(ip, 0, sizeof *ip);
    return srv_client_ip(&app->proxies, req->peer, xff_len > 0 ? xff : NULL,
                         xff_len > 0 ? (size_t)xff_len : 0, xff_len < 0 ? 2 : 1, ip);
}

/* ---- The account lockout ---- */

bool srv_attempt_begin(srv_app *app, const http_request *req, const char *ident, size_t len,
                       srv_attempt *at, http_response *resp)
{
    memset(at, 0, sizeof *at);
    at->ident = ident;
    at->len = len;
    if (app->lockouts == NULL)
        return true;
    /* The lockout is per normalised identifier whether or not the account exists (per
     * (identifier, address) from an address it logged in from before), and the attempt is
     * begun before any password work: a locked account answers 429 even to the right
     * password, and attempts in flight count against the failures left. */
    int64_t retry = 0;
    srv_ip ip;
    bool has_ip = srv_client_address(app, req, &ip);
    bool ok = auth_lockout_begin(app->lockouts, ident, len, has_ip ? &ip : NULL,
                                 has_ip ? sizeof ip : 0, &app->lockout, &at->lock, &retry);
    /* With a shared database the identifier's global lock is also counted there, so that
     * failures through every instance add up; an address this instance knows as familiar
     * keeps its own counter, as above. */
    if (ok && !at->lock.familiar &&
        !auth_shared_lockout_check(app->au, ident, len, &app->lockout, &retry)) {
        auth_lockout_end(app->lockouts, &at->lock, AUTH_LOGIN_NEITHER, &app->lockout);
        ok = false;
    }
    if (!ok) {
        atomic_fetch_add(&app->limited_lockout, 1);
        srv_reply_too_many(resp, retry);
        return false;
    }
    at->begun = true;
    return true;
}

void srv_attempt_end(srv_app *app, srv_attempt *at, auth_err err)
{
    if (!at->begun)
        return;
    at->begun = false;
    auth_login_outcome outcome = err == AUTH_OK                ? AUTH_LOGIN_SUCCESS
                                 : err == AUTH_BAD_CREDENTIALS ? AUTH_LOGIN_FAILURE
                                                               : AUTH_LOGIN_NEITHER;
    bool familiar = at->lock.familiar;
    auth_lockout_end(app->lockouts, &at->lock, outcome, &app->lockout);
    if (!familiar)
        auth_shared_lockout_end(app->au, at->ident, at->len, &app->lockout, outcome);
}
