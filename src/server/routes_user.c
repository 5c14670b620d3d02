/* The routes anyone may call: register, login, refresh, logout, logout-all, /me, forward
 * auth (/auth), the JWKS and health. Password work and store writes run on workers (the route
 * table, routes.c). */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "replies.h"
#include "reqparse.h"
#include "routes.h"

static json_t *peer_field(const http_request *req) { return json_pack("{s:s}", "peer", req->peer); }

void srv_handle_register(srv_app *app, const http_request *req, http_response *resp)
{
    if (app->cfg->registration == SRV_REG_CLOSED) {
        http_response_error(resp, 403, MSG_REG_CLOSED);
        return;
    }
    json_t *body = srv_read_body(req, resp, false);
    if (body == NULL)
        return;
    const char *username = NULL, *password = NULL, *email = "", *name = "";
    static const char *const fields[] = {"username", "password", "email", "name", NULL};
    const char **values[] = {&username, &password, &email, &name};
    if (srv_get_strings(body, fields, values, resp) < 0) {
        /* answered: a member of another type */
    } else if (username == NULL || password == NULL) {
        http_response_error(resp, 400, MSG_MISSING_FIELDS);
    } else {
        auth_user user;
        auth_pair pair = {0};
        auth_err err = auth_register(app->au, username, password, email, name, &user, &pair);
        auth_input_fault fault = {0};
        if (err == AUTH_OK) {
            srv_reply_tokens(resp, 201, &pair, &user);
            srv_log(SRV_LOG_INFO, "user registered",
                    json_pack("{s:I, s:s}", "user_id", (json_int_t)user.id, "peer", req->peer));
        } else if (err == AUTH_INVALID_INPUT &&
                   !auth_user_input_check(username, password, email, name, NULL, 0,
                                          AUTH_MIN_PASSWORD, &fault)) {
            srv_reply_invalid_input(resp, &fault);
        } else {
            srv_reply_auth_error(resp, err);
        }
        auth_pair_clear(&pair);
    }
    json_decref(body);
}

void srv_handle_login(srv_app *app, const http_request *req, http_response *resp)
{
    json_t *body = srv_read_body(req, resp, false);
    if (body == NULL)
        return;
    /* The shuttle tutorial's machine login: {"client_id", "client_secret"}. */
    if (json_object_get(body, "client_id") != NULL) {
        srv_client_login(app, req, body, resp);
        json_decref(body);
        return;
    }
    const char *username = NULL, *email = NULL, *password = NULL;
    static const char *const fields[] = {"username", "email", "password", NULL};
    const char **values[] = {&username, &email, &password};
    auth_input_fault fault = {0};
    if (srv_get_strings(body, fields, values, resp) < 0) {
        /* answered: a member of another type */
    } else if ((username == NULL && email == NULL) || password == NULL) {
        http_response_error(resp, 400, MSG_MISSING_FIELDS);
    } else if (!auth_login_input_check(password, &fault)) {
        /* Refused before the lockout and any password work, as auth_login would. */
        srv_reply_invalid_input(resp, &fault);
    } else {
        /* The lockout is per normalised identifier whether or not the account exists (per
         * (identifier, address) from an address it logged in from before), and the attempt
         * is begun before any password work (srv_attempt_begin). */
        const char *ident = username != NULL ? username : email;
        srv_attempt attempt;
        if (!srv_attempt_begin(app, req, ident, strlen(ident), &attempt, resp)) {
            srv_log(SRV_LOG_INFO, "login refused: account locked", peer_field(req));
            json_decref(body);
            return;
        }
        auth_user user;
        auth_pair pair = {0};
        auth_err err = auth_login(app->au, ident, password, &user, &pair);
        srv_attempt_end(app, &attempt, err);
        if (err == AUTH_OK) {
            srv_reply_tokens(resp, 200, &pair, &user);
        } else {
            srv_reply_auth_error(resp, err);
            if (err == AUTH_BAD_CREDENTIALS)
                srv_log(SRV_LOG_INFO, "login failed", peer_field(req));
        }
        auth_pair_clear(&pair);
    }
    json_decref(body);
}

void srv_handle_refresh(srv_app *app, const http_request *req, http_response *resp)
{
    json_t *body = srv_read_body(req, resp, true);
    if (body == NULL)
        return;
    const char *tok = NULL;
    size_t tok_len = 0;
    int found = srv_refresh_token_of(req, body, resp, &tok, &tok_len);
    if (found == 0) {
        srv_reply_missing_token(resp);
    } else if (found == 1) {
        auth_pair pair = {0};
        auth_err err = auth_refresh(app->au, tok, tok_len, &pair);
        if (err == AUTH_OK)
            srv_reply_tokens(resp, 200, &pair, NULL);
        else
            srv_reply_auth_error(resp, err);
        if (err == AUTH_TOKEN_REUSED)
            srv_log(SRV_LOG_WARN, "refresh token reuse detected: family revoked", peer_field(req));
        auth_pair_clear(&pair);
    }
    json_decref(body);
}

void srv_handle_logout(srv_app *app, const http_request *req, http_response *resp)
{
    json_t *body = srv_read_body(req, resp, true);
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
    int found = srv_refresh_token_of(req, body, &tmp, &tok, &tok_len);
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
        srv_reply_auth_error(resp, err);
        return;
    }
    http_response_json(resp, 204, NULL);
    srv_set_refresh_cookie(resp, "", 0);
    srv_no_store(resp);
}

void srv_handle_logout_all(srv_app *app, const http_request *req, http_response *resp)
{
    auth_principal who;
    if (!srv_authenticate(app, req, resp, &who))
        return;
    auth_err err = auth_logout_all(app->au, who.user_id);
    if (err != AUTH_OK) {
        srv_reply_auth_error(resp, err);
        return;
    }
    http_response_json(resp, 204, NULL);
    srv_set_refresh_cookie(resp, "", 0);
    srv_no_store(resp);
}

/* /me's body without a JSON tree (srv_jflat): false when a value is not plain, for
 * srv_handle_me to build it with jansson. The members and their order are the jansson answer's
 * (tests/serverunit/test_jflat.c compares the two). who->sub is the token's sub as verified:
 * "client:" and the client_id, or a user's id in its one decimal spelling. */
static bool me_flat(http_response *resp, const auth_principal *who)
{
    srv_jflat w;
    srv_jflat_init(&w);
    if (who->client) {
        srv_jflat_str(&w, "client_id", who->client_id);
        srv_jflat_str(&w, "sub", who->sub);
    } else {
        srv_jflat_str(&w, "user", who->username);
        if (who->nroles > 0)
            srv_jflat_str(&w, "role", who->roles[0]);
        else
            srv_jflat_null(&w, "role");
    }
    srv_jflat_strs(&w, "roles", who->roles, who->nroles);
    if (!who->client)
        srv_jflat_str(&w, "sub", who->sub);
    srv_jflat_int(&w, "iat", who->iat);
    srv_jflat_int(&w, "exp", who->exp);
    srv_jflat_str(&w, "jti", who->jti);
    return srv_jflat_reply(&w, resp, 200);
}

void srv_handle_me(srv_app *app, const http_request *req, http_response *resp)
{
    auth_principal who;
    if (!srv_authenticate(app, req, resp, &who))
        return;
    if (!me_flat(resp, &who)) { /* a value jansson must escape */
        if (who.client)         /* a machine client describes itself */
            srv_reply_json(resp, 200,
                           json_pack("{s:s, s:s, s:o, s:I, s:I, s:s}", "client_id", who.client_id,
                                     "sub", who.sub, "roles", srv_roles_json(who.roles, who.nroles),
                                     "iat", (json_int_t)who.iat, "exp", (json_int_t)who.exp, "jti",
                                     who.jti));
        else
            srv_reply_json(
                resp, 200,
                json_pack("{s:s, s:o, s:o, s:s, s:I, s:I, s:s}", "user", who.username, "role",
                          who.nroles > 0 ? json_string(who.roles[0]) : json_null(), "roles",
                          srv_roles_json(who.roles, who.nroles), "sub", who.sub, "iat",
                          (json_int_t)who.iat, "exp", (json_int_t)who.exp, "jti", who.jti));
    }
    srv_no_store(resp);
}

/* Forward auth (GET and HEAD /auth) for a proxy in front of another service: nginx
 * auth_request, Traefik forwardAuth, Caddy forward_auth. As hot as /me: on the event loop, the
 * token checked against the keys and the in-memory revocations, no store. 200 names the
 * caller in X-Auth-User (a client's client_id, else the username), X-Auth-Subject (sub) and
 * X-Auth-Roles (comma-separated), for the proxy to hand on; 401 with the RFC 6750 challenge;
 * with ?role=NAME, 403 insufficient_scope when the token lacks it, 400 for a NAME that is
 * no role name (a proxy's configuration error, said before any token is looked at). */
void srv_handle_forward_auth(srv_app *app, const http_request *req, http_response *resp)
{
    const char *role = NULL;
    size_t role_len = 0;
    int has_role = srv_query_value(req->query, req->query_len, "role", &role, &role_len);
    if (has_role < 0 || (has_role == 1 && !auth_role_valid(role, role_len))) {
        auth_input_fault fault = {"role", "one role name: 1 to 32 of a-z 0-9 _ -"};
        srv_reply_invalid_input(resp, &fault);
        return;
    }
    auth_principal who;
    if (!srv_authenticate(app, req, resp, &who))
        return;
    char wanted[AUTH_MAX_ROLE + 1] = "", roles[AUTH_MAX_ROLES * (AUTH_MAX_ROLE + 1)] = "";
    if (has_role == 1) {
        memcpy(wanted, role, role_len); /* auth_role_valid: at most AUTH_MAX_ROLE bytes */
        if (!auth_principal_has_role(&who, wanted)) {
            srv_reply_insufficient_scope(resp, wanted);
            return;
        }
    }
    for (size_t i = 0, n = 0; i < who.nroles; i++) {
        snprintf(roles + n, sizeof roles - n, "%s%s", i > 0 ? "," : "", who.roles[i]);
        n = strlen(roles);
    }
    const char *user = who.client_id[0] != '\0' ? who.client_id : who.username;
    srv_reply_json(resp, 200,
                   json_pack("{s:s, s:s, s:o}", "user", user, "sub", who.sub, "roles",
                             srv_roles_json(who.roles, who.nroles)));
    /* A header the proxy cannot get would let it pass a request without its identity. */
    if (resp->status != 200 || http_response_header(resp, "X-Auth-User", user) != 0 ||
        http_response_header(resp, "X-Auth-Subject", who.sub) != 0 ||
        http_response_header(resp, "X-Auth-Roles", roles) != 0 ||
        http_response_header(resp, "Cache-Control", "no-store") != 0) {
        http_response_clear(resp);
        http_response_error(resp, 500, MSG_INTERNAL);
    }
}

void srv_handle_jwks(srv_app *app, const http_request *req, http_response *resp)
{
    (void)req; /* the handler signature is shared */
    char *jwks = NULL;
    auth_err err = auth_jwks_copy(app->au, &jwks);
    if (err != AUTH_OK) {
        srv_reply_auth_error(resp, err);
        return;
    }
    http_response_json(resp, 200, jwks);
    http_response_header(resp, "Cache-Control", "public, max-age=60");
}

/* {"status", "store"} and, when the store is down, since when: what the sync thread last saw
 * (no database call on the event loop). */
static json_t *health_body(srv_app *app, bool *store_up)
{
    auth_health h;
    auth_health_get(app->au, &h);
    *store_up = h.store_up;
    json_t *body = json_pack("{s:s, s:s, s:s}", "status", h.store_up ? "ok" : "degraded", "store",
                             h.store_up ? "up" : "down", "backend", h.backend);
    if (body != NULL && !h.store_up)
        json_object_set_new(body, "store_down_since", json_integer((json_int_t)h.down_since));
    return body;
}

/* Liveness: 200 while the process serves, also with the database down (verification goes on
 * without it); the body says how the store is. */
void srv_handle_healthz(srv_app *app, const http_request *req, http_response *resp)
{
    (void)req; /* the handler signature is shared */
    bool up;
    srv_reply_json(resp, 200, health_body(app, &up));
    http_response_header(resp, "Cache-Control", "no-store");
}

/* Readiness: 503 while the database does not answer (writes would fail), 200 otherwise. */
void srv_handle_readyz(srv_app *app, const http_request *req, http_response *resp)
{
    (void)req; /* the handler signature is shared */
    bool up;
    json_t *body = health_body(app, &up);
    srv_reply_json(resp, up ? 200 : 503, body);
    http_response_header(resp, "Cache-Control", "no-store");
}

void srv_handle_metrics(srv_app *app, const http_request *req, http_response *resp)
{
    (void)req; /* the handler signature is shared */
    size_t len = 0;
    char *text = srv_metrics_text(app, &len);
    if (text == NULL) {
        http_response_error(resp, 500, MSG_INTERNAL);
        return;
    }
    http_response_json(resp, 200, text);
    resp->body_len = len;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    http_response_header(resp, "Cache-Control", "no-store");
}
