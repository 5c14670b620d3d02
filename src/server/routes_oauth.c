/* The OAuth 2.0 routes: POST /token (RFC 6749: client_credentials and refresh_token), the
 * machine-client form of POST /login, POST /introspect (RFC 7662) and the authorization
 * server metadata (RFC 8414). Inputs are form-urlencoded (form.h) or JSON; client
 * authentication is client_secret_basic or client_secret_post, never both; errors are
 * RFC 6749 section 5.2's {"error", "error_description"}. Every answer that carries or
 * describes a token is no-store. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "form.h"
#include "log.h"
#include "replies.h"
#include "reqparse.h"
#include "routes.h"

#define ERR_INVALID_REQUEST "invalid_request"
#define ERR_INVALID_CLIENT "invalid_client"
#define ERR_INVALID_GRANT "invalid_grant"
#define ERR_UNSUPPORTED_GRANT "unsupported_grant_type"
#define BASIC_CHALLENGE "Basic realm=\"jwtd\""
#define MAX_PARAM 64 /* grant_type, token_type_hint */

/* ---- Answers ---- */

/* An RFC 6749 section 5.2 error; a 401 challenges for Basic when basic is set. */
static void reply_oauth_error(http_response *resp, int status, const char *error,
                              const char *description, bool basic)
{
    srv_reply_json(resp, status,
                   json_pack("{s:s, s:s}", "error", error, "error_description", description));
    if (status == 401 && basic)
        http_response_header(resp, "WWW-Authenticate", BASIC_CHALLENGE);
    srv_no_store(resp);
}

/* The token response of RFC 6749 section 5.1 (refresh_token when there is one). */
static void reply_token(http_response *resp, const char *access, int64_t expires_in,
                        const char *refresh)
{
    json_t *doc = json_pack("{s:s, s:s, s:I}", "access_token", access, "token_type", "Bearer",
                            "expires_in", (json_int_t)expires_in);
    if (doc != NULL && refresh != NULL)
        json_object_set_new(doc, "refresh_token", json_string(refresh));
    srv_reply_json(resp, 200, doc);
    srv_no_store(resp);
}

/* ---- Request parameters: a form or a JSON object ---- */

typedef struct params {
    json_t *json;     /* the JSON body, or NULL for a form */
    const char *form; /* the form body */
    size_t form_len;
} params;

/* Reads the body as a form (application/x-www-form-urlencoded) or JSON; false after
 * answering 400 invalid_request. p->json is to be json_decref'ed. */
static bool params_read(const http_request *req, http_response *resp, params *p)
{
    size_t ct_len = 0;
    const char *ct = http_header(req, "content-type", &ct_len, NULL);

    memset(p, 0, sizeof *p);
    if (ct != NULL && srv_is_form_content_type(ct, ct_len)) {
        if (!srv_form_valid(req->body, req->body_len)) {
            reply_oauth_error(resp, 400, ERR_INVALID_REQUEST,
                              "malformed form body (bad %-escape or a repeated parameter)", false);
            return false;
        }
        p->form = req->body;
        p->form_len = req->body_len;
        return true;
    }
    if (ct != NULL && srv_is_json_content_type(ct, ct_len)) {
        p->json = srv_json_object(req->body, req->body_len);
        if (p->json != NULL)
            return true;
        reply_oauth_error(resp, 400, ERR_INVALID_REQUEST, "malformed JSON body", false);
        return false;
    }
    reply_oauth_error(resp, 400, ERR_INVALID_REQUEST,
                      "content type must be application/x-www-form-urlencoded or "
                      "application/json",
                      false);
    return false;
}

/* Parameter name into out (cap bytes): 1 found, 0 absent (or JSON null), -1 malformed (not
 * a string, too long, a NUL byte). */
static int param_get(const params *p, const char *name, char *out, size_t cap, size_t *len)
{
    size_t n = 0;
    if (p->json == NULL) {
        int rc = srv_form_get(p->form, p->form_len, name, out, cap, &n);
        if (rc == 1 && len != NULL)
            *len = n;
        return rc;
    }
    const char *s = NULL;
    int rc = srv_get_string(p->json, name, &s);
    if (rc != 1)
        return rc;
    n = strlen(s);
    if (n >= cap || n != json_string_length(json_object_get(p->json, name)))
        return -1;
    memcpy(out, s, n + 1);
    if (len != NULL)
        *len = n;
    return 1;
}

/* Whether parameter name is there at all (a JSON null counts as absent). */
static bool param_present(const params *p, const char *name)
{
    char probe[1];
    if (p->json != NULL) {
        json_t *v = json_object_get(p->json, name);
        return v != NULL && !json_is_null(v);
    }
    return srv_form_get(p->form, p->form_len, name, probe, sizeof probe, NULL) != 0;
}

/* ---- Client authentication ---- */

/* The credentials a request presents. */
typedef struct client_creds {
    char id[AUTH_MAX_CLIENT + 1];
    char secret[AUTH_MAX_CLIENT_SECRET + 1];
    size_t id_len, secret_len;
    bool basic; /* client_secret_basic */
} client_creds;

/* What a request's client authentication came to. */
enum client_auth { CLIENT_NONE, CLIENT_OK, CLIENT_ANSWERED };

/* Reads the client's credentials (Basic, or client_id and client_secret parameters) and
 * authenticates them under the lockout of "client:" ID. CLIENT_NONE: none presented;
 * CLIENT_OK: *out is the client; CLIENT_ANSWERED: an error (400, 401, 429, 5xx) was sent. */
static enum client_auth client_authenticate(srv_app *app, const http_request *req, const params *p,
                                            http_response *resp, auth_client *out)
{
    client_creds c;
    char post_id[AUTH_MAX_CLIENT + 1];
    size_t hlen = 0, count = 0, post_id_len = 0;
    const char *h = http_header(req, "authorization", &hlen, &count);
    int basic = 0, pid, psec;

    memset(&c, 0, sizeof c);
    if (h != NULL)
        basic = count == 1 ? srv_parse_basic(h, hlen, c.id, sizeof c.id, &c.id_len, c.secret,
                                             sizeof c.secret, &c.secret_len)
                           : -1;
    c.basic = basic == 1;
    if (basic < 0) {
        reply_oauth_error(resp, 401, ERR_INVALID_CLIENT, "malformed Basic credentials", true);
        return CLIENT_ANSWERED;
    }
    pid = param_get(p, "client_id", post_id, sizeof post_id, &post_id_len);
    if (c.basic) {
        /* RFC 6749 section 2.3: one authentication method per request. A client_id
         * parameter naming the same client as Basic is harmless; another is not. */
        if (param_present(p, "client_secret") || pid < 0 ||
            (pid == 1 && (post_id_len != c.id_len || memcmp(post_id, c.id, c.id_len) != 0))) {
            reply_oauth_error(resp, 400, ERR_INVALID_REQUEST,
                              "use one client authentication method: Basic or the body", false);
            return CLIENT_ANSWERED;
        }
    } else {
        psec = param_get(p, "client_secret", c.secret, sizeof c.secret, &c.secret_len);
        if (pid < 0 || psec < 0) {
            reply_oauth_error(resp, 401, ERR_INVALID_CLIENT, "client authentication failed", false);
            return CLIENT_ANSWERED;
        }
        if (pid == 0 && psec == 0)
            return CLIENT_NONE;
        if (pid == 0 || psec == 0) {
            reply_oauth_error(resp, 400, ERR_INVALID_REQUEST,
                              "client_id and client_secret go together", false);
            return CLIENT_ANSWERED;
        }
        memcpy(c.id, post_id, post_id_len + 1);
        c.id_len = post_id_len;
    }

    /* The lockout of "client:" ID: its failures count like a user's failed logins. */
    char ident[sizeof AUTH_CLIENT_SUB_PREFIX + AUTH_MAX_CLIENT];
    int n = snprintf(ident, sizeof ident, "%s%s", AUTH_CLIENT_SUB_PREFIX, c.id);
    srv_attempt attempt;
    enum client_auth result = CLIENT_ANSWERED;
    if (srv_attempt_begin(app, req, ident, (size_t)n, &attempt, resp)) {
        auth_err err =
            auth_client_authenticate(app->au, c.id, c.id_len, c.secret, c.secret_len, out);
        srv_attempt_end(app, &attempt, err);
        if (err == AUTH_OK)
            result = CLIENT_OK;
        else if (err == AUTH_BAD_CREDENTIALS)
            reply_oauth_error(resp, 401, ERR_INVALID_CLIENT, "client authentication failed",
                              c.basic);
        else
            srv_reply_auth_error(resp, err);
        if (err == AUTH_BAD_CREDENTIALS)
            srv_log(SRV_LOG_INFO, "client authentication failed",
                    json_pack("{s:s}", "peer", req->peer));
    } else {
        srv_log(SRV_LOG_INFO, "client refused: locked", json_pack("{s:s}", "peer", req->peer));
    }
    sodium_memzero(&c, sizeof c);
    return result;
}

/* ---- POST /token ---- */

/* An access token for an authenticated client, answered as /token does. */
static void issue_client_token(srv_app *app, const auth_client *client, http_response *resp)
{
    auth_access tok = {0};
    auth_err err = auth_client_issue(app->au, client, &tok);
    if (err == AUTH_OK)
        reply_token(resp, tok.access_token, tok.expires_in, NULL);
    else
        srv_reply_auth_error(resp, err);
    auth_access_clear(&tok);
}

static void grant_client_credentials(srv_app *app, const http_request *req, const params *p,
                                     http_response *resp)
{
    auth_client client;
    enum client_auth ca = client_authenticate(app, req, p, resp, &client);
    if (ca == CLIENT_NONE)
        reply_oauth_error(resp, 401, ERR_INVALID_CLIENT, "client authentication required", true);
    else if (ca == CLIENT_OK)
        issue_client_token(app, &client, resp);
}

/* The same rotation and reuse detection as POST /refresh (auth_refresh). Client
 * authentication is optional (users' refresh tokens belong to public clients) but, when
 * presented, must succeed. */
static void grant_refresh_token(srv_app *app, const http_request *req, const params *p,
                                http_response *resp)
{
    char tok[AUTH_MAX_TOKEN + 1];
    size_t len = 0;
    auth_client client;
    int rc = param_get(p, "refresh_token", tok, sizeof tok, &len);
    if (rc <= 0) {
        reply_oauth_error(resp, 400, rc == 0 ? ERR_INVALID_REQUEST : ERR_INVALID_GRANT,
                          rc == 0 ? "refresh_token is required" : "invalid refresh token", false);
        return;
    }
    if (client_authenticate(app, req, p, resp, &client) == CLIENT_ANSWERED)
        return;
    auth_pair pair = {0};
    auth_err err = auth_refresh(app->au, tok, len, &pair);
    if (err == AUTH_OK)
        reply_token(resp, pair.access_token, pair.expires_in, pair.refresh_token);
    else if (err == AUTH_INVALID_TOKEN || err == AUTH_TOKEN_REUSED)
        reply_oauth_error(resp, 400, ERR_INVALID_GRANT,
                          "the refresh token is invalid, expired, spent or revoked", false);
    else
        srv_reply_auth_error(resp, err);
    if (err == AUTH_TOKEN_REUSED)
        srv_log(SRV_LOG_WARN, "refresh token reuse detected: family revoked",
                json_pack("{s:s}", "peer", req->peer));
    auth_pair_clear(&pair);
    sodium_memzero(tok, sizeof tok);
}

void srv_handle_token(srv_app *app, const http_request *req, http_response *resp)
{
    params p;
    char grant[MAX_PARAM];
    if (!params_read(req, resp, &p))
        return;
    int rc = param_get(&p, "grant_type", grant, sizeof grant, NULL);
    if (rc < 0)
        reply_oauth_error(resp, 400, ERR_UNSUPPORTED_GRANT, "unsupported grant_type", false);
    else if (rc == 0)
        reply_oauth_error(resp, 400, ERR_INVALID_REQUEST, "grant_type is required", false);
    else if (strcmp(grant, "client_credentials") == 0)
        grant_client_credentials(app, req, &p, resp);
    else if (strcmp(grant, "refresh_token") == 0)
        grant_refresh_token(app, req, &p, resp);
    else
        reply_oauth_error(resp, 400, ERR_UNSUPPORTED_GRANT,
                          "grant_type must be client_credentials or refresh_token", false);
    json_decref(p.json);
}

/* ---- POST /login with {"client_id", "client_secret"} ---- */

void srv_client_login(srv_app *app, const http_request *req, json_t *body, http_response *resp)
{
    params p = {body, NULL, 0};
    auth_client client;
    if (param_present(&p, "password") || param_present(&p, "username")) {
        reply_oauth_error(resp, 400, ERR_INVALID_REQUEST,
                          "a client login takes client_id and client_secret only", false);
        return;
    }
    enum client_auth ca = client_authenticate(app, req, &p, resp, &client);
    if (ca == CLIENT_NONE)
        reply_oauth_error(resp, 400, ERR_INVALID_REQUEST, "client_id and client_secret go together",
                          false);
    else if (ca == CLIENT_OK)
        issue_client_token(app, &client, resp);
}

/* ---- POST /introspect ---- */

/* RFC 7662 section 2.2's answer for a token auth_introspect found active. */
static json_t *introspection_json(const srv_app *app, const auth_introspection *in)
{
    json_t *doc = json_pack("{s:b, s:s, s:s, s:I, s:I}", "active", 1, "token_type",
                            in->refresh ? "refresh_token" : "access_token", "sub", in->sub, "exp",
                            (json_int_t)in->exp, "iat", (json_int_t)in->iat);
    if (doc == NULL)
        return NULL;
    if (!in->refresh) {
        json_object_set_new(doc, "iss", json_string(app->cfg->issuer));
        json_object_set_new(doc, "aud", json_string(app->cfg->audience));
        json_object_set_new(doc, "roles", srv_roles_json(in->roles, in->nroles));
    }
    if (in->client)
        json_object_set_new(doc, "client_id", json_string(in->client_id));
    else
        json_object_set_new(doc, "username", json_string(in->username));
    return doc;
}

void srv_handle_introspect(srv_app *app, const http_request *req, http_response *resp)
{
    params p;
    auth_client client;
    char hint[MAX_PARAM], tok[AUTH_MAX_TOKEN + 1];
    size_t len = 0;
    if (!params_read(req, resp, &p))
        return;
    enum client_auth ca = client_authenticate(app, req, &p, resp, &client);
    if (ca == CLIENT_NONE)
        reply_oauth_error(resp, 401, ERR_INVALID_CLIENT, "client authentication required", true);
    if (ca != CLIENT_OK) {
        json_decref(p.json);
        return;
    }
    int h = param_get(&p, "token_type_hint", hint, sizeof hint, NULL);
    int t = param_get(&p, "token", tok, sizeof tok, &len);
    json_decref(p.json);
    if (t == 0 || h < 0) {
        reply_oauth_error(resp, 400, ERR_INVALID_REQUEST,
                          t == 0 ? "token is required" : "malformed token_type_hint", false);
        return;
    }
    auth_introspection in;
    /* A token too long to be ours is simply not active. */
    auth_err err = t < 0 ? AUTH_OK
                         : auth_introspect(app->au, tok, len,
                                           h == 1 && strcmp(hint, "refresh_token") == 0, &in);
    sodium_memzero(tok, sizeof tok);
    if (t < 0)
        memset(&in, 0, sizeof in);
    if (err != AUTH_OK) {
        srv_reply_auth_error(resp, err);
        return;
    }
    srv_reply_json(resp, 200,
                   in.active ? introspection_json(app, &in) : json_pack("{s:b}", "active", 0));
    srv_no_store(resp);
}

/* ---- GET /.well-known/oauth-authorization-server ---- */

void srv_handle_oauth_metadata(srv_app *app, const http_request *req, http_response *resp)
{
    (void)req; /* the handler signature is shared */
    char base[SRV_MAX_PUBLIC_URL], url[3][SRV_MAX_PUBLIC_URL + 32];
    static const char *const paths[3] = {"/token", "/introspect", "/.well-known/jwks.json"};
    srv_public_url(app, base, sizeof base);
    for (size_t i = 0; i < 3; i++)
        snprintf(url[i], sizeof url[i], "%s%s", base, paths[i]);
    json_t *methods = json_pack("[s, s]", "client_secret_basic", "client_secret_post");
    srv_reply_json(resp, 200,
                   json_pack("{s:s, s:s, s:s, s:s, s:[s, s], s:O, s:o, s:[]}", "issuer",
                             app->cfg->issuer, "token_endpoint", url[0], "introspection_endpoint",
                             url[1], "jwks_uri", url[2], "grant_types_supported",
                             "client_credentials", "refresh_token",
                             "token_endpoint_auth_methods_supported", methods,
                             "introspection_endpoint_auth_methods_supported", methods,
                             "response_types_supported"));
    http_response_header(resp, "Cache-Control", "public, max-age=60");
}
