/* From an `Authorization` header to a verdict (libjwtd-rs): the bearer token is parsed
 * (RFC 6750 2.1), verified with the remote JWKS under the caller's pinned validation, its role
 * checked, and every outcome mapped, in this one place, to the status, WWW-Authenticate value
 * (RFC 6750 3) and JSON body a service sends. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rs_internal.h"

#define DEFAULT_REALM "api"
#define DEFAULT_ROLES_CLAIM "roles" /* jwtd's access tokens: "roles": [...] */

/* What one libjwtd kind means to the client: status, RFC 6750 error, and description. Every
 * kind is listed without a default, so a kind added to libjwtd breaks the build (-Wswitch). */
static int describe_kind(jwtd_err kind, const char **reason)
{
    switch (kind) {
    case JWTD_OK: *reason = ""; return 200;
    case JWTD_ERR_INVALID_TOKEN: *reason = "the token is malformed"; return 401;
    case JWTD_ERR_INVALID_SIGNATURE: *reason = "the token signature is invalid"; return 401;
    case JWTD_ERR_EXPIRED_SIGNATURE: *reason = "the token expired"; return 401;
    case JWTD_ERR_IMMATURE_SIGNATURE: *reason = "the token is not valid yet"; return 401;
    case JWTD_ERR_INVALID_AUDIENCE: *reason = "the token is meant for another audience"; return 401;
    case JWTD_ERR_INVALID_ISSUER: *reason = "the token comes from another issuer"; return 401;
    case JWTD_ERR_INVALID_SUBJECT: *reason = "the token subject is not accepted"; return 401;
    case JWTD_ERR_MISSING_REQUIRED_CLAIM: *reason = "the token lacks a required claim"; return 401;
    case JWTD_ERR_INVALID_ALGORITHM: *reason = "the token algorithm is not accepted"; return 401;
    case JWTD_ERR_KEY_NOT_FOUND: *reason = "the token was signed by an unknown key"; return 401;
    case JWTD_ERR_INVALID_TYPE: *reason = "the token is of another type"; return 401;
    case JWTD_ERR_UNSUPPORTED_CRITICAL:
        *reason = "the token needs an unknown extension";
        return 401;
    case JWTD_ERR_TOKEN_TOO_LARGE: *reason = "the token is too large"; return 401;
    /* Our side: the keys or the validation are wrong, or memory ran out. Not the client's. */
    case JWTD_ERR_INVALID_KEY_FORMAT:
    case JWTD_ERR_INVALID_ARGUMENT:
    case JWTD_ERR_NO_MEMORY:
    case JWTD_ERR_CRYPTO:
    case JWTD_ERR_COUNT: break; /* not a kind, only the number of kinds */
    }
    *reason = "the token could not be checked";
    return 500;
}

/* True for a value that may go inside a quoted-string of WWW-Authenticate and inside a JSON
 * string unescaped: printable ASCII without '"' and '\', non-empty, bounded. */
static bool plain_value(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) >= JWTD_RS_MAX_REALM_BYTES)
        return false;
    for (; *s != '\0'; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
            return false;
    return true;
}

/* Fills the answer of a refusal: status, error (may be ""), header (when realm is not NULL),
 * and body. A scope is named for insufficient_scope. */
static int refuse(jwtd_rs_verdict *out, int status, const char *realm, const char *error,
                  const char *reason, const char *scope)
{
    out->status = status;
    out->error = error;
    out->reason = reason;
    out->www_authenticate[0] = '\0';
    if (realm != NULL && *error == '\0')
        snprintf(out->www_authenticate, sizeof out->www_authenticate, "Bearer realm=\"%s\"", realm);
    else if (realm != NULL && scope != NULL)
        snprintf(out->www_authenticate, sizeof out->www_authenticate,
                 "Bearer realm=\"%s\", error=\"%s\", error_description=\"%s\", scope=\"%s\"", realm,
                 error, reason, scope);
    else if (realm != NULL)
        snprintf(out->www_authenticate, sizeof out->www_authenticate,
                 "Bearer realm=\"%s\", error=\"%s\", error_description=\"%s\"", realm, error,
                 reason);
    const char *code = *error != '\0' ? error : "unauthorized";
    snprintf(out->body, sizeof out->body, "{\"error\":\"%s\",\"error_description\":\"%s\"}", code,
             reason);
    return status;
}

/* The token of a "Bearer TOKEN" header value in *tok and *len. 0: found; 1: no bearer credentials
 * (absent, empty, another scheme); 2: Bearer with a malformed token. */
static int bearer_token(const char *h, const char **tok, size_t *len)
{
    if (h == NULL)
        return 1;
    while (*h == ' ' || *h == '\t')
        h++;
    if (*h == '\0')
        return 1;
    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\0'))
        return 1;
    const char *p = h + 6;
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, " \t");
    size_t rest = strspn(p + n, " \t");
    if (n == 0 || p[n + rest] != '\0')
        return 2;
    /* b64token (RFC 6750 2.1): letters, digits and -._~+/ then any number of "=". */
    size_t i = 0;
    while (i < n && (strchr("-._~+/", p[i]) != NULL || (p[i] >= 'A' && p[i] <= 'Z') ||
                     (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')))
        i++;
    if (i == 0)
        return 2;
    while (i < n && p[i] == '=')
        i++;
    if (i != n)
        return 2;
    *tok = p;
    *len = n;
    return 0;
}

/* Verifies with the current set, and once more after a rate-limited refetch when the token
 * names a key the set lacks (the issuer may have rotated). */
static jwtd_err verify_remote(jwtd_rs_jwks *jwks, const char *tok, size_t len,
                              const jwtd_validation *v, jwtd_token **token, jwtd_rs_err *fetch)
{
    jwtd_keyset *set = NULL;
    *fetch = jwtd_rs_jwks_get(jwks, &set);
    if (*fetch != JWTD_RS_OK)
        return JWTD_ERR_KEY_NOT_FOUND;
    jwtd_err kind = jwtd_verify(tok, len, set, v, token, NULL);
    if (kind == JWTD_ERR_KEY_NOT_FOUND) {
        jwtd_keyset *newer = NULL;
        if (jwtd_rs_jwks_refresh(jwks, set, &newer) == JWTD_RS_OK && newer != set)
            kind = jwtd_verify(tok, len, newer, v, token, NULL);
        jwtd_keyset_free(newer);
    }
    jwtd_keyset_free(set);
    return kind;
}

int jwtd_rs_authorize(jwtd_rs_jwks *jwks, const jwtd_rs_policy *policy, const char *authorization,
                      jwtd_rs_verdict *out)
{
    if (out == NULL)
        return 500;
    memset(out, 0, sizeof *out);
    out->kind = JWTD_OK;
    const char *realm = policy != NULL && policy->realm != NULL ? policy->realm : DEFAULT_REALM;
    const char *claim =
        policy != NULL && policy->roles_claim != NULL ? policy->roles_claim : DEFAULT_ROLES_CLAIM;
    if (jwks == NULL || policy == NULL || policy->validation == NULL || !plain_value(realm) ||
        !plain_value(claim) || strlen(claim) >= JWTD_MAX_CLAIM_NAME ||
        (policy->required_role != NULL &&
         (!plain_value(policy->required_role) || strchr(policy->required_role, ' ') != NULL)))
        return refuse(out, 500, NULL, "server_error", "the resource server is misconfigured", NULL);

    const char *tok = NULL;
    size_t len = 0;
    int parsed = bearer_token(authorization, &tok, &len);
    if (parsed == 1)
        return refuse(out, 401, realm, "", "a bearer token is required", NULL);
    if (parsed == 2) {
        out->kind = JWTD_ERR_INVALID_TOKEN;
        return refuse(out, 401, realm, "invalid_token", "the token is malformed", NULL);
    }

    jwtd_token *token = NULL;
    jwtd_rs_err fetch = JWTD_RS_OK;
    out->kind = verify_remote(jwks, tok, len, policy->validation, &token, &fetch);
    if (fetch != JWTD_RS_OK) {
        out->kind = JWTD_OK;
        return refuse(out, 503, NULL, "temporarily_unavailable",
                      "the signing keys cannot be fetched", NULL);
    }
    const char *reason = "";
    int status = describe_kind(out->kind, &reason);
    if (status == 500)
        return refuse(out, 500, NULL, "server_error", reason, NULL);
    if (status != 200)
        return refuse(out, status, realm, "invalid_token", reason, NULL);

    if (policy->required_role != NULL &&
        !jwtd_token_claim_has_string(token, claim, policy->required_role)) {
        jwtd_token_free(token);
        return refuse(out, 403, realm, "insufficient_scope", "the token lacks the required role",
                      policy->required_role);
    }
    out->token = token;
    out->status = 200;
    out->error = "";
    out->reason = "";
    return 200;
}

void jwtd_rs_verdict_clear(jwtd_rs_verdict *v)
{
    if (v == NULL)
        return;
    jwtd_token_free(v->token);
    memset(v, 0, sizeof *v);
}
