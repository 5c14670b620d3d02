/* libFuzzer harness for token verification: jwtd_verify (a fixed HS256 secret and an ES256/ES512
 * JWKS), jwtd_jws_verify (JSON and compact serialization), the insecure header peek and decode,
 * and sign-then-verify of the input as a payload, whose signature must always verify. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwtd/jwtd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 7515 A.1 (HS256) secret and A.3 (ES256) public key, plus the RFC 7520 P-521 key, so the
 * vector tokens in the seed corpus verify all the way through the claims. */
static const char HS_JWK[] = "{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_"
                             "T-1qS0gZH75aKtMN3Yj0iPS4hcgUu"
                             "TwjAzZr1Z9CAow\"}";
static const char ES_JWKS[] =
    "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"es256-a3\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
    "{\"kty\":\"EC\",\"kid\":\"bilbo.baggins@hobbiton.example\",\"use\":\"sig\",\"crv\":\"P-521\","
    "\"x\":\"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-"
    "7ytDyRXYgCF5cj0Kt\","
    "\"y\":\"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-"
    "HqHZR1\"}]}";
/* Just before the vectors' exp (1300819380), so their claims pass. */
#define FUZZ_NOW 1300819000

typedef struct fuzz_state {
    jwtd_key *hs_key;
    jwtd_keyset *hs_set, *es_set;
    jwtd_validation *v_hs, *v_es, *v_raw_hs, *v_raw_es, *v_claims;
} fuzz_state;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_verify: %s\n", what);
    abort();
}

static jwtd_validation *validation(const jwtd_alg *algs, size_t n)
{
    jwtd_validation *v = NULL;
    if (jwtd_validation_new(&v) != JWTD_OK || jwtd_validation_set_now(v, FUZZ_NOW) != JWTD_OK)
        fail("validation set-up");
    for (size_t i = 0; i < n; i++) {
        if (jwtd_validation_allow_alg(v, algs[i]) != JWTD_OK)
            fail("allow_alg");
    }
    return v;
}

static const fuzz_state *state(void)
{
    static fuzz_state s;
    static int ready;
    if (ready)
        return &s;
    static const jwtd_alg hs[] = {JWTD_ALG_HS256};
    static const jwtd_alg es[] = {JWTD_ALG_ES256, JWTD_ALG_ES512};
    if (jwtd_key_from_jwk(HS_JWK, sizeof HS_JWK - 1, 0, &s.hs_key) != JWTD_OK ||
        jwtd_keyset_new(&s.hs_key, 1, &s.hs_set) != JWTD_OK ||
        jwtd_keyset_from_jwks(ES_JWKS, sizeof ES_JWKS - 1, 0, &s.es_set) != JWTD_OK)
        fail("key set-up");
    s.v_hs = validation(hs, 1);
    s.v_es = validation(es, 2);
    /* Raw JWS: RFC 7797 unencoded payloads allowed, to reach that path too. */
    s.v_raw_hs = validation(hs, 1);
    s.v_raw_es = validation(es, 2);
    if (jwtd_validation_allow_unencoded_payload(s.v_raw_hs, true) != JWTD_OK ||
        jwtd_validation_allow_unencoded_payload(s.v_raw_es, true) != JWTD_OK)
        fail("allow_unencoded_payload");
    /* Every claim check on: the sign-then-verify path reaches them with a valid signature. */
    s.v_claims = validation(hs, 1);
    if (jwtd_validation_require_exp(s.v_claims, false) != JWTD_OK ||
        jwtd_validation_add_audience(s.v_claims, "fuzz-aud") != JWTD_OK ||
        jwtd_validation_add_issuer(s.v_claims, "joe") != JWTD_OK ||
        jwtd_validation_add_subject(s.v_claims, "alice") != JWTD_OK ||
        jwtd_validation_require_claim(s.v_claims, "jti") != JWTD_OK ||
        jwtd_validation_set_typ(s.v_claims, "JWT") != JWTD_OK)
        fail("claims validation set-up");
    ready = 1;
    return &s;
}

/* Reads everything a caller may read from a verified token. */
static void read_token(const jwtd_token *t)
{
    const char *s;
    const char *list[4];
    size_t n;
    int64_t i;
    bool b;
    char *json = NULL;
    (void)jwtd_token_alg(t);
    (void)jwtd_token_kid(t);
    if (!jwtd_token_payload(t, &n))
        fail("verified token without payload");
    if (jwtd_token_header_json(t, &json) == JWTD_OK)
        jwtd_free(json);
    json = NULL;
    if (jwtd_token_claims_json(t, &json) == JWTD_OK)
        jwtd_free(json);
    (void)jwtd_token_claim_string(t, "sub", &s);
    (void)jwtd_token_claim_int(t, "exp", &i);
    (void)jwtd_token_claim_bool(t, "http://example.com/is_root", &b);
    (void)jwtd_token_claim_strings(t, "aud", list, 4, &n);
    (void)jwtd_token_header_string(t, "typ", &s);
    (void)jwtd_token_claim_has_string(t, "roles", "admin");
}

static void verify_compact(const char *in, size_t len, const jwtd_keyset *set,
                           const jwtd_validation *v)
{
    jwtd_token *t = NULL;
    jwtd_error err;
    jwtd_err rc = jwtd_verify(in, len, set, v, &t, &err);
    if ((rc == JWTD_OK) != (t != NULL) || (rc != JWTD_OK && err.kind != rc))
        fail("jwtd_verify result and token/error disagree");
    if (t)
        read_token(t);
    jwtd_token_free(t);
}

static void verify_raw(const char *in, size_t len, const jwtd_keyset *set, const jwtd_validation *v)
{
    jwtd_token *t = NULL;
    jwtd_err rc = jwtd_jws_verify(in, len, NULL, 0, set, v, &t, NULL);
    if ((rc == JWTD_OK) != (t != NULL))
        fail("jwtd_jws_verify result and token disagree");
    if (t) {
        size_t n;
        (void)jwtd_token_payload(t, &n);
        (void)jwtd_token_kid(t);
    }
    jwtd_token_free(t);
}

static void insecure(const char *in, size_t len)
{
    char alg[16], kid[JWTD_MAX_KID_BYTES + 1];
    char *h = NULL, *c = NULL;
    memset(alg, 0, sizeof alg);
    memset(kid, 0, sizeof kid);
    if (jwtd_insecure_peek_header(in, len, alg, sizeof alg, kid, sizeof kid) == JWTD_OK) {
        if (!memchr(alg, '\0', sizeof alg) || !memchr(kid, '\0', sizeof kid))
            fail("peek_header left a buffer unterminated");
    }
    if (jwtd_insecure_decode(in, len, &h, &c) == JWTD_OK && (!h || !c))
        fail("insecure_decode succeeded without output");
    jwtd_free(h);
    jwtd_free(c);
}

/* The input as the payload of a token we sign: its signature must verify, and a token that
 * passes must carry the input bytes unchanged. */
static void sign_then_verify(const fuzz_state *s, const char *in, size_t len)
{
    static const jwtd_header hdr = {.typ = "JWT"};
    char *tok = NULL;
    if (jwtd_sign_payload(s->hs_key, JWTD_ALG_HS256, &hdr, in, len, &tok) != JWTD_OK)
        return;
    jwtd_token *t = NULL;
    jwtd_err rc = jwtd_verify(tok, strlen(tok), s->hs_set, s->v_claims, &t, NULL);
    switch (rc) {
    case JWTD_ERR_INVALID_SIGNATURE:
    case JWTD_ERR_INVALID_ALGORITHM:
    case JWTD_ERR_KEY_NOT_FOUND:
    case JWTD_ERR_INVALID_TYPE:
    case JWTD_ERR_UNSUPPORTED_CRITICAL:
    case JWTD_ERR_INVALID_ARGUMENT:
    case JWTD_ERR_CRYPTO:
        fprintf(stderr, "fuzz_verify: own token refused with %s\n", jwtd_err_name(rc));
        fail("a token signed by jwtd_sign_payload did not verify its signature");
        break;
    default: break;
    }
    if (t) {
        size_t n;
        const char *p = jwtd_token_payload(t, &n);
        if (n != len || (len && memcmp(p, in, len) != 0))
            fail("verified payload differs from the signed bytes");
        read_token(t);
    }
    jwtd_token_free(t);
    jwtd_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fuzz_state *s = state();
    const char *in = (const char *)data;
    verify_compact(in, size, s->hs_set, s->v_hs);
    verify_compact(in, size, s->es_set, s->v_es);
    verify_raw(in, size, s->hs_set, s->v_raw_hs);
    verify_raw(in, size, s->es_set, s->v_raw_es);
    insecure(in, size);
    sign_then_verify(s, in, size);
    return 0;
}
