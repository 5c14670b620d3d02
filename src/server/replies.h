/* What the handlers of jwtd serve share (replies.c): the stable error messages, the answers
 * (the one map from auth_err to HTTP status among them) and the reading of request input.
 * Private to src/server. */
#ifndef JWTD_SERVER_REPLIES_H
#define JWTD_SERVER_REPLIES_H

#include <jansson.h>

#include "app.h"
#include "jose/jwrite.h"

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

/* ---- Answers ---- */

/* The auth service's error as its status and message (401 with WWW-Authenticate, 503 with
 * Retry-After). */
void srv_reply_auth_error(http_response *resp, auth_err err);
/* The same for a refused access token: the 401's WWW-Authenticate says what fault allows
 * (RFC 6750 error_description: expired, revoked, or one text for every other failure). */
void srv_reply_token_error(http_response *resp, auth_err err, auth_token_fault fault);
/* 403 with WWW-Authenticate error="insufficient_scope" naming role (a valid role name). */
void srv_reply_insufficient_scope(http_response *resp, const char *role);
/* 400 {"error": "invalid input", "field": ..., "detail": ...}: which input and why
 * (fault->field NULL: the plain 400). */
void srv_reply_invalid_input(http_response *resp, const auth_input_fault *fault);
/* 429 with Retry-After (whole seconds, at least 1). */
void srv_reply_too_many(http_response *resp, int64_t retry_after);
/* 401 for a request that presented no token. */
void srv_reply_missing_token(http_response *resp);
/* Sends a JSON document (stolen) with the status; 500 when it cannot be encoded. */
void srv_reply_json(http_response *resp, int status, json_t *doc);
/* A token pair (and the user when known): body, refresh cookie, no-store. */
void srv_reply_tokens(http_response *resp, int status, const auth_pair *pair,
                      const auth_user *user);
/* The refresh cookie with token (max_age 0 and "" remove it). */
void srv_set_refresh_cookie(http_response *resp, const char *token, int64_t max_age);
/* Cache-Control: no-store and Pragma: no-cache. */
void srv_no_store(http_response *resp);
/* A flat JSON object written straight into a buffer, for the answers of the hot path (GET
 * /me): no tree, and no allocation but the body's. A string goes in only when JSON writes it
 * as it is (printable ASCII but '"' and '\\': user and role names, ids and jtis are checked
 * to be that before they are ever issued); anything else, or a body over the buffer, fails
 * the writer, and the caller answers with jansson instead. Nothing here escapes anything. */
#define SRV_JFLAT_MAX 1024
typedef struct srv_jflat {
    char buf[SRV_JFLAT_MAX];
    jose_jw w; /* libjwtd's writer over buf (src/jose/jwrite.h); points into buf: never copied */
} srv_jflat;
void srv_jflat_init(srv_jflat *w);
void srv_jflat_str(srv_jflat *w, const char *key, const char *value);
void srv_jflat_null(srv_jflat *w, const char *key);
void srv_jflat_int(srv_jflat *w, const char *key, int64_t value);
void srv_jflat_strs(srv_jflat *w, const char *key, const char values[][AUTH_MAX_ROLE + 1],
                    size_t n);
/* Closes the object and answers it with the status; false (nothing answered) when the writer
 * failed or memory ran out: the caller then answers another way. */
bool srv_jflat_reply(srv_jflat *w, http_response *resp, int status);
/* A JSON array of role names. */
json_t *srv_roles_json(const char roles[][AUTH_MAX_ROLE + 1], size_t n);
/* A user as the API shows it; the admin view adds state and times. Never the hash. */
json_t *srv_user_json(const auth_user *u, bool admin);
/* A machine client as the API shows it: client_id, sub, roles, created, updated. */
json_t *srv_client_json(const auth_client *c);

/* ---- Request input ---- */

/* The body as a JSON object (an empty body is {} when optional); NULL after answering 415 or
 * 400. */
json_t *srv_read_body(const http_request *req, http_response *resp, bool optional);
/* text as a JSON object within the API's depth limit, duplicate keys refused; else NULL. */
json_t *srv_json_object(const char *text, size_t len);
/* A string member: 1 and *out when present, 0 when absent or null, -1 when another type. */
int srv_get_string(json_t *obj, const char *key, const char **out);
/* The string members fields (NULL-terminated) into *out[i], left as they are when absent or
 * null: 0, or -1 after answering 400 {"error": "invalid request", "field", "detail"} for the
 * first member of another type. */
int srv_get_strings(json_t *obj, const char *const *fields, const char **const *out,
                    http_response *resp);
/* The access token's principal; false after answering 401. */
bool srv_authenticate(srv_app *app, const http_request *req, http_response *resp,
                      auth_principal *who);
/* Whether the caller has role admin; false after answering 401 or 403. */
bool srv_authenticate_admin(srv_app *app, const http_request *req, http_response *resp);
/* The refresh token (body, else Authorization, else cookie): 1 found, 0 none, -1 after
 * answering 400 or 401. */
int srv_refresh_token_of(const http_request *req, json_t *body, http_response *resp,
                         const char **tok, size_t *tok_len);
/* The client address the abuse limits key (the peer, or X-Forwarded-For from a trusted
 * proxy); false when there is none (a Unix socket), *ip then all zero. */
bool srv_client_address(srv_app *app, const http_request *req, srv_ip *ip);

/* ---- The account lockout of one credential check ---- */

/* One login-like attempt of ident (a username, an email, or "client:" NAME), under the
 * in-process lockout and, with a shared database, the one counted there. */
typedef struct srv_attempt {
    auth_lockout_attempt lock;
    const char *ident;
    size_t len;
    bool begun; /* srv_attempt_end has something to end */
} srv_attempt;
/* Begins the attempt before any credential work: false after answering 429 (the identifier
 * is locked), else true; then call srv_attempt_end exactly once. */
bool srv_attempt_begin(srv_app *app, const http_request *req, const char *ident, size_t len,
                       srv_attempt *at, http_response *resp);
/* Ends it: err AUTH_OK is a success, AUTH_BAD_CREDENTIALS a failure, anything else neither. */
void srv_attempt_end(srv_app *app, srv_attempt *at, auth_err err);

#endif /* JWTD_SERVER_REPLIES_H */
