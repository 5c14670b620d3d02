/* The library example of README.md, compiled and run by CTest (example.readme) so that the
 * README cannot drift from the API: sign an access token, then verify tokens as a request
 * handler would, mapping every error kind to an HTTP status. */
#include <jwtd/jwtd.h>
#include <stdio.h>
#include <string.h>

/* What a service answers for each outcome. Every kind is listed and there is no default,
 * so a kind added to the library breaks this build (-Wswitch) instead of becoming a 500. */
static int status_for(jwtd_err kind)
{
    switch (kind) {
    case JWTD_OK: return 200;
    case JWTD_ERR_INVALID_TOKEN:      /* not a well-formed JWT, or a claim of the wrong type */
    case JWTD_ERR_INVALID_SIGNATURE:  /* forged, tampered with, or signed by another key */
    case JWTD_ERR_EXPIRED_SIGNATURE:  /* the client should refresh its token */
    case JWTD_ERR_IMMATURE_SIGNATURE: /* nbf is still in the future */
    case JWTD_ERR_INVALID_AUDIENCE:   /* issued for another service */
    case JWTD_ERR_INVALID_ISSUER:
    case JWTD_ERR_INVALID_SUBJECT:
    case JWTD_ERR_MISSING_REQUIRED_CLAIM: /* jwtd_error.claim names it */
    case JWTD_ERR_INVALID_ALGORITHM:      /* an alg we did not allow ("none" never is) */
    case JWTD_ERR_KEY_NOT_FOUND:          /* unknown kid: our copy of the JWKS may be old */
    case JWTD_ERR_INVALID_TYPE:           /* e.g. a refresh token offered as an access token */
    case JWTD_ERR_UNSUPPORTED_CRITICAL:   /* crit names an extension we do not implement */
        return 401;
    case JWTD_ERR_TOKEN_TOO_LARGE: return 413;
    case JWTD_ERR_INVALID_KEY_FORMAT: /* our key configuration is wrong, not the client */
    case JWTD_ERR_INVALID_ARGUMENT:
    case JWTD_ERR_NO_MEMORY:
    case JWTD_ERR_CRYPTO:
    /* JWTD_ERR_COUNT is not a kind, only the number of kinds. */
    case JWTD_ERR_COUNT: break;
    }
    return 500;
}

/* Verifies a bearer token, reads its claims, and returns the HTTP status to send. */
static int handle_request(const char *bearer, const jwtd_keyset *keys, const jwtd_validation *v)
{
    jwtd_token *t = NULL;
    jwtd_error err;
    const char *sub = NULL;

    if (jwtd_verify(bearer, strlen(bearer), keys, v, &t, &err) != JWTD_OK) {
        /* The name is stable ("ExpiredSignature"); neither it nor the reason holds secrets. */
        printf("refused: %s%s%s (%s)\n", jwtd_err_name(err.kind), err.claim[0] ? " " : "",
               err.claim, err.reason);
        return status_for(err.kind);
    }
    /* Typed getters: "sub" is present (required below) but could still be a number. Roles in
     * a "roles" array are this application's convention, not a JWT rule. */
    jwtd_err rc = jwtd_token_claim_string(t, "sub", &sub);
    if (rc == JWTD_OK)
        printf("hello %s%s\n", sub,
               jwtd_token_claim_has_string(t, "roles", "admin") ? " (admin)" : "");
    jwtd_token_free(t);
    return status_for(rc);
}

int main(void)
{
    /* jwtd_keyset_parse takes a raw HMAC secret (>= 32 bytes), a PEM, a JWK or a JWKS; a
     * service reads it from a file or a secret store, never from its source code. */
    static const char secret[] = "an example secret of 32 bytes or more";
    static const char *const roles[] = {"user", "admin"};
    const jwtd_header header = {.typ = "JWT"};
    jwtd_keyset *keys = NULL;
    jwtd_claims *claims = NULL;
    jwtd_validation *v = NULL;
    char *alice = NULL, *no_sub = NULL, *expired = NULL, forged[1024];
    int status = 1;

    if (jwtd_claims_new(&claims) != JWTD_OK || jwtd_validation_new(&v) != JWTD_OK ||
        jwtd_keyset_parse(secret, sizeof secret - 1, 0, &keys) != JWTD_OK)
        goto out;
    const jwtd_key *key = jwtd_keyset_get(keys, 0);

    /* Sign: build the claims, then a compact JWS. set_* replaces a claim of the same name. */
    if (jwtd_claims_set_string(claims, "iss", "https://auth.example.com") != JWTD_OK ||
        jwtd_claims_set_string(claims, "aud", "api") != JWTD_OK ||
        jwtd_claims_set_strings(claims, "roles", roles, 2) != JWTD_OK ||
        jwtd_claims_set_iat_now(claims) != JWTD_OK ||
        jwtd_claims_set_exp_in(claims, 15 * 60) != JWTD_OK ||
        jwtd_sign(key, JWTD_ALG_HS256, &header, claims, &no_sub) != JWTD_OK ||
        jwtd_claims_set_string(claims, "sub", "alice") != JWTD_OK ||
        jwtd_sign(key, JWTD_ALG_HS256, &header, claims, &alice) != JWTD_OK ||
        jwtd_claims_set_exp_in(claims, -3600) != JWTD_OK ||
        jwtd_sign(key, JWTD_ALG_HS256, &header, claims, &expired) != JWTD_OK)
        goto out;
    /* A forgery: alice's header and claims under another token's signature. */
    snprintf(forged, sizeof forged, "%.*s%s", (int)(strrchr(alice, '.') - alice), alice,
             strrchr(no_sub, '.'));

    /* Verify: pin the algorithm (the token's own "alg" is never trusted), then say what the
     * claims must hold. exp is required and a 60 s leeway applies unless changed. */
    if (jwtd_validation_allow_alg(v, JWTD_ALG_HS256) != JWTD_OK ||
        jwtd_validation_add_audience(v, "api") != JWTD_OK ||
        jwtd_validation_add_issuer(v, "https://auth.example.com") != JWTD_OK ||
        jwtd_validation_require_claim(v, "sub") != JWTD_OK)
        goto out;

    const char *const requests[] = {alice, no_sub, expired, forged};
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++)
        printf("-> %d\n", handle_request(requests[i], keys, v));
    status = 0;
out:
    jwtd_free(alice);
    jwtd_free(no_sub);
    jwtd_free(expired);
    jwtd_validation_free(v);
    jwtd_claims_free(claims);
    jwtd_keyset_free(keys);
    return status;
}
