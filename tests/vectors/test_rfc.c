/* RFC appendix vectors through libjwtd's public API: RFC 7515 appendix A (A.1-A.7),
 * RFC 7517 appendix A and B (JWKS / JWK parsing) and RFC 7638 §3.1 (thumbprint), from
 * latchset-jose-rfc/. Each appendix is one cmocka test; each asserts exact error kinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vectors.h"

#define DIR "latchset-jose-rfc/"
/* The exp of the RFC 7515 A.1-A.3 example claims (2011-03-22T18:43:00Z). These tokens
 * expired long ago, so the validation clock is pinned just before exp: the exp check
 * stays on (and is exercised at the leeway boundary) instead of being switched off. */
#define RFC_EXP 1300819380
#define RFC_CLAIMS                                                                                 \
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
#define KID_A6_RSA "2010-12-29"
#define KID_A6_EC "e9bc097a-ce51-4036-9562-d2ade882db0d"

/* ---- helpers ---- */
/* File contents with trailing whitespace removed (the .jwsc/.thp files end in '\n'). */
static char *read_trimmed(const char *rel, size_t *len)
{
    char *s = vec_read(rel, len);

    assert_non_null(s);
    while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r' || s[*len - 1] == ' '))
        s[--*len] = '\0';
    return s;
}

static jwtd_key *key_from_file(const char *rel, unsigned flags)
{
    size_t len = 0;
    char *text = vec_read(rel, &len);
    jwtd_key *key = NULL;

    assert_non_null(text);
    assert_err(JWTD_OK, jwtd_key_from_jwk(text, len, flags, &key));
    free(text);
    return key;
}

static jwtd_key *key_with_kid(jwtd_key *key, const char *kid)
{
    jwtd_key *named = NULL;

    assert_err(JWTD_OK, jwtd_key_with_kid(key, kid, &named));
    assert_string_equal(jwtd_key_kid(named), kid);
    return named;
}

/* The same key rebuilt from its exported public JWK. */
static jwtd_key *public_copy(const jwtd_key *key)
{
    char *jwk = NULL;
    jwtd_key *pub = NULL;

    assert_err(JWTD_OK, jwtd_key_public_jwk(key, &jwk));
    assert_null(strstr(jwk, "\"d\""));
    assert_err(JWTD_OK, jwtd_key_from_jwk(jwk, strlen(jwk), 0, &pub));
    assert_false(jwtd_key_is_private(pub));
    jwtd_free(jwk);
    return pub;
}

/* A copy of a compact token with the first signature character changed: still canonical
 * base64url (the trailing bits live in the last character), but a different signature. */
static char *tamper_signature(const char *tok, size_t len)
{
    char *t = strdup(tok), *sig;

    assert_non_null(t);
    sig = strrchr(t, '.');
    assert_non_null(sig);
    assert_true((size_t)(sig - t) + 1 < len);
    sig[1] = sig[1] == 'A' ? 'B' : 'A';
    return t;
}

static void assert_payload(const jwtd_token *t, const char *want, size_t want_len)
{
    size_t len = 0;
    const char *p = jwtd_token_payload(t, &len);

    assert_non_null(p);
    assert_int_equal(len, want_len);
    assert_memory_equal(p, want, want_len);
}

/* ---- RFC 7515 A.1-A.3: JWTs with the example claims ---- */
static void check_rfc_jwt(const char *jwk_file, const char *jwsc_file, jwtd_alg alg,
                          jwtd_alg other_alg)
{
    jwtd_key *key = key_from_file(jwk_file, 0);
    jwtd_keyset *set = vec_keyset_of(key);
    jwtd_validation *v = vec_validation(VEC_ALG(alg));
    size_t len = 0;
    char *tok = read_trimmed(jwsc_file, &len), *bad;
    const char *iss = NULL;
    jwtd_token *t = NULL;
    jwtd_error err;
    int64_t exp = 0;
    bool root = false;

    assert_non_null(set);
    assert_non_null(v);

    /* Real clock: the signature verifies, then exp (2011) has passed. */
    assert_err(JWTD_ERR_EXPIRED_SIGNATURE, jwtd_verify(tok, len, set, v, &t, &err));
    assert_null(t);
    assert_string_equal(err.claim, "exp");

    assert_err(JWTD_OK, jwtd_validation_set_now(v, RFC_EXP - 3600));
    assert_err(JWTD_OK, jwtd_verify(tok, len, set, v, &t, &err));
    assert_int_equal(jwtd_token_alg(t), alg);
    assert_payload(t, RFC_CLAIMS, strlen(RFC_CLAIMS));
    assert_err(JWTD_OK, jwtd_token_claim_string(t, "iss", &iss));
    assert_string_equal(iss, "joe");
    assert_err(JWTD_OK, jwtd_token_claim_int(t, "exp", &exp));
    assert_int_equal(exp, RFC_EXP);
    assert_err(JWTD_OK, jwtd_token_claim_bool(t, "http://example.com/is_root", &root));
    assert_true(root);
    jwtd_token_free(t);

    /* Leeway boundary (default 60 s): expired once exp + leeway <= now. */
    assert_err(JWTD_OK, jwtd_validation_set_now(v, RFC_EXP + 59));
    assert_err(JWTD_OK, jwtd_verify(tok, len, set, v, NULL, NULL));
    assert_err(JWTD_OK, jwtd_validation_set_now(v, RFC_EXP + 60));
    assert_err(JWTD_ERR_EXPIRED_SIGNATURE, jwtd_verify(tok, len, set, v, NULL, NULL));
    assert_err(JWTD_OK, jwtd_validation_set_now(v, RFC_EXP - 3600));

    /* The raw-JWS entry point accepts the same token. */
    assert_err(JWTD_OK, jwtd_jws_verify(tok, len, NULL, 0, set, v, &t, NULL));
    assert_payload(t, RFC_CLAIMS, strlen(RFC_CLAIMS));
    jwtd_token_free(t);

    bad = tamper_signature(tok, len);
    assert_err(JWTD_ERR_INVALID_SIGNATURE, jwtd_verify(bad, len, set, v, NULL, NULL));
    free(bad);

    /* Pinned to another algorithm: the token's alg is never trusted. */
    jwtd_validation_free(v);
    v = vec_validation(VEC_ALG(other_alg));
    assert_err(JWTD_OK, jwtd_validation_set_now(v, RFC_EXP - 3600));
    assert_err(JWTD_ERR_INVALID_ALGORITHM, jwtd_verify(tok, len, set, v, NULL, NULL));

    /* Asymmetric keys verify as well from their exported public JWK. */
    if (jwtd_key_kty(key) != JWTD_KTY_OCT) {
        jwtd_key *pub = public_copy(key);
        jwtd_keyset *pubset = vec_keyset_of(pub);
        jwtd_validation *pv = vec_validation(VEC_ALG(alg));

        assert_err(JWTD_OK, jwtd_validation_set_now(pv, RFC_EXP - 3600));
        assert_err(JWTD_OK, jwtd_verify(tok, len, pubset, pv, NULL, NULL));
        jwtd_validation_free(pv);
        jwtd_keyset_free(pubset);
        jwtd_key_free(pub);
    } else {
        char *jwk = NULL;
        /* A secret has no public JWK: asking for one is API misuse. */
        assert_err(JWTD_ERR_INVALID_ARGUMENT, jwtd_key_public_jwk(key, &jwk));
        assert_null(jwk);
    }

    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
    free(tok);
}

static void test_rfc7515_a1_hs256(void **state)
{
    (void)state;
    check_rfc_jwt(DIR "rfc7515_A.1.jwk", DIR "rfc7515_A.1.jwsc", JWTD_ALG_HS256, JWTD_ALG_HS384);
}

static void test_rfc7515_a2_rs256(void **state)
{
    (void)state;
    check_rfc_jwt(DIR "rfc7515_A.2.jwk", DIR "rfc7515_A.2.jwsc", JWTD_ALG_RS256, JWTD_ALG_PS256);
}

static void test_rfc7515_a3_es256(void **state)
{
    (void)state;
    check_rfc_jwt(DIR "rfc7515_A.3.jwk", DIR "rfc7515_A.3.jwsc", JWTD_ALG_ES256, JWTD_ALG_ES384);
}

/* A.4: ES512 over the payload "Payload", which is not a claims object, so it is a raw
 * JWS (no exp involved); as a JWT it is InvalidToken. */
static void test_rfc7515_a4_es512(void **state)
{
    jwtd_key *key = key_from_file(DIR "rfc7515_A.4.jwk", 0);
    jwtd_keyset *set = vec_keyset_of(key);
    jwtd_validation *v = vec_validation(VEC_ALG(JWTD_ALG_ES512));
    size_t len = 0;
    char *tok = read_trimmed(DIR "rfc7515_A.4.jwsc", &len), *bad;
    jwtd_token *t = NULL;

    (void)state;
    assert_string_equal(jwtd_key_curve(key), "P-521");
    assert_err(JWTD_OK, jwtd_jws_verify(tok, len, NULL, 0, set, v, &t, NULL));
    assert_int_equal(jwtd_token_alg(t), JWTD_ALG_ES512);
    assert_payload(t, "Payload", 7);
    jwtd_token_free(t);
    assert_err(JWTD_ERR_INVALID_TOKEN, jwtd_verify(tok, len, set, v, NULL, NULL));

    bad = tamper_signature(tok, len);
    assert_err(JWTD_ERR_INVALID_SIGNATURE, jwtd_jws_verify(bad, len, NULL, 0, set, v, NULL, NULL));
    free(bad);

    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
    free(tok);
}

/* A.5: the unsecured JWS (alg "none") never verifies, even with every algorithm pinned. */
static void test_rfc7515_a5_none(void **state)
{
    jwtd_key *key = key_from_file(DIR "rfc7515_A.1.jwk", 0);
    jwtd_keyset *set = vec_keyset_of(key);
    jwtd_validation *v = vec_validation(VEC_ALG(JWTD_ALG_HS256));
    jwtd_validation *all = vec_validation(VEC_ALG(JWTD_ALG_COUNT) - 1);
    size_t len = 0;
    char *tok = read_trimmed(DIR "rfc7515_A.5.jwsc", &len);
    jwtd_token *t = NULL;

    (void)state;
    assert_non_null(all);
    assert_err(JWTD_OK, jwtd_validation_set_now(v, RFC_EXP - 3600));
    assert_err(JWTD_OK, jwtd_validation_set_now(all, RFC_EXP - 3600));
    assert_err(JWTD_ERR_INVALID_ALGORITHM, jwtd_verify(tok, len, set, v, &t, NULL));
    assert_null(t);
    assert_err(JWTD_ERR_INVALID_ALGORITHM, jwtd_verify(tok, len, set, all, &t, NULL));
    assert_err(JWTD_ERR_INVALID_ALGORITHM, jwtd_jws_verify(tok, len, NULL, 0, set, v, &t, NULL));
    assert_err(JWTD_ERR_INVALID_ALGORITHM, jwtd_jws_verify(tok, len, NULL, 0, set, all, &t, NULL));
    assert_null(t);

    jwtd_validation_free(all);
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
    free(tok);
}

/* A.6: general JSON serialization, RS256 (kid 2010-12-29) and ES256 (kid e9bc...). The
 * kids are in the unprotected headers; RFC 7515 A.6 names the A.2 and A.3 keys by them. */
static void test_rfc7515_a6_general(void **state)
{
    jwtd_key *rsa0 = key_from_file(DIR "rfc7515_A.6.1.jwk", 0);
    jwtd_key *ec0 = key_from_file(DIR "rfc7515_A.6.2.jwk", 0);
    jwtd_key *rsa = key_with_kid(rsa0, KID_A6_RSA), *ec = key_with_kid(ec0, KID_A6_EC);
    jwtd_key *both[2] = {rsa, ec};
    jwtd_keyset *set = NULL, *rsa_only = vec_keyset_of(rsa), *ec_only = vec_keyset_of(ec);
    jwtd_keyset *unnamed = NULL;
    jwtd_validation *v = vec_validation(VEC_ALG(JWTD_ALG_RS256) | VEC_ALG(JWTD_ALG_ES256));
    jwtd_validation *v_rs = vec_validation(VEC_ALG(JWTD_ALG_RS256));
    jwtd_validation *v_es = vec_validation(VEC_ALG(JWTD_ALG_ES256));
    size_t len = 0, jwks_len = 0;
    char *jws = read_trimmed(DIR "rfc7515_A.6.jwsg", &len);
    char *jwks = vec_read(DIR "rfc7515_A.6.jwkset", &jwks_len);
    jwtd_token *t = NULL;

    (void)state;
    assert_err(JWTD_OK, jwtd_keyset_new(both, 2, &set));

    assert_err(JWTD_OK, jwtd_jws_verify(jws, len, NULL, 0, set, v, &t, NULL));
    assert_payload(t, RFC_CLAIMS, strlen(RFC_CLAIMS));
    jwtd_token_free(t);

    /* One verifying signature suffices; each key verifies its own signature. */
    assert_err(JWTD_OK, jwtd_jws_verify(jws, len, NULL, 0, rsa_only, v_rs, &t, NULL));
    assert_int_equal(jwtd_token_alg(t), JWTD_ALG_RS256);
    assert_string_equal(jwtd_token_kid(t), KID_A6_RSA);
    jwtd_token_free(t);
    assert_err(JWTD_OK, jwtd_jws_verify(jws, len, NULL, 0, ec_only, v_es, &t, NULL));
    assert_int_equal(jwtd_token_alg(t), JWTD_ALG_ES256);
    assert_string_equal(jwtd_token_kid(t), KID_A6_EC);
    jwtd_token_free(t);

    /* The appendix's JWKS names no key: the signatures' kids match nothing in it. */
    assert_non_null(jwks);
    assert_err(JWTD_OK, jwtd_keyset_from_jwks(jwks, jwks_len, 0, &unnamed));
    assert_int_equal(jwtd_keyset_count(unnamed), 2);
    assert_err(JWTD_ERR_KEY_NOT_FOUND, jwtd_jws_verify(jws, len, NULL, 0, unnamed, v, &t, NULL));
    assert_null(t);

    /* A JSON serialization is not a compact JWT. */
    assert_err(JWTD_ERR_INVALID_TOKEN, jwtd_verify(jws, len, set, v, NULL, NULL));

    free(jwks);
    free(jws);
    jwtd_validation_free(v_es);
    jwtd_validation_free(v_rs);
    jwtd_validation_free(v);
    jwtd_keyset_free(unnamed);
    jwtd_keyset_free(ec_only);
    jwtd_keyset_free(rsa_only);
    jwtd_keyset_free(set);
    jwtd_key_free(ec);
    jwtd_key_free(rsa);
    jwtd_key_free(ec0);
    jwtd_key_free(rsa0);
}

/* A.7: flattened JSON serialization of the A.3 ES256 signature. */
static void test_rfc7515_a7_flattened(void **state)
{
    jwtd_key *key0 = key_from_file(DIR "rfc7515_A.7.jwk", 0), *key = key_with_kid(key0, KID_A6_EC);
    jwtd_key *other0 = key_from_file(DIR "rfc7515_A.2.jwk", 0);
    jwtd_key *other = key_with_kid(other0, KID_A6_RSA);
    jwtd_keyset *set = vec_keyset_of(key), *wrong = vec_keyset_of(other);
    jwtd_validation *v = vec_validation(VEC_ALG(JWTD_ALG_ES256));
    size_t len = 0;
    char *jws = read_trimmed(DIR "rfc7515_A.7.jwsf", &len);
    jwtd_token *t = NULL;
    const char *kid = NULL;

    (void)state;
    assert_err(JWTD_OK, jwtd_jws_verify(jws, len, NULL, 0, set, v, &t, NULL));
    assert_payload(t, RFC_CLAIMS, strlen(RFC_CLAIMS));
    assert_string_equal(jwtd_token_kid(t), KID_A6_EC);
    assert_err(JWTD_OK, jwtd_token_header_string(t, "kid", &kid));
    assert_string_equal(kid, KID_A6_EC);
    jwtd_token_free(t);
    /* The kid names a key the set does not hold. */
    assert_err(JWTD_ERR_KEY_NOT_FOUND, jwtd_jws_verify(jws, len, NULL, 0, wrong, v, &t, NULL));

    free(jws);
    jwtd_validation_free(v);
    jwtd_keyset_free(wrong);
    jwtd_keyset_free(set);
    jwtd_key_free(other);
    jwtd_key_free(other0);
    jwtd_key_free(key);
    jwtd_key_free(key0);
}

/* ---- RFC 7517 ---- */
static jwtd_keyset *jwks_from_file(const char *rel, unsigned flags, jwtd_err want)
{
    size_t len = 0;
    char *text = vec_read(rel, &len);
    jwtd_keyset *set = NULL;

    assert_non_null(text);
    assert_err(want, jwtd_keyset_from_jwks(text, len, flags, &set));
    free(text);
    return set;
}

static const jwtd_key *find_kid(const jwtd_keyset *set, const char *kid)
{
    const jwtd_key *k = jwtd_keyset_find(set, kid, strlen(kid));

    assert_non_null(k);
    assert_string_equal(jwtd_key_kid(k), kid);
    return k;
}

/* A.1 public keys, A.2 the same as private keys: an EC P-256 key for encryption (kid 1)
 * and the RS256 key 2011-04-29. A JWKS may carry keys for other uses; parsing keeps the
 * signing key usable by kid. */
static void check_rfc7517_ec_rsa(const char *rel, bool priv)
{
    jwtd_keyset *set = jwks_from_file(rel, 0, JWTD_OK);
    const jwtd_key *rsa = find_kid(set, "2011-04-29");

    assert_int_equal(jwtd_key_kty(rsa), JWTD_KTY_RSA);
    assert_int_equal(jwtd_key_alg(rsa), JWTD_ALG_RS256);
    assert_int_equal(jwtd_key_bits(rsa), 2048);
    assert_int_equal(jwtd_key_is_private(rsa), priv);
    assert_true(jwtd_key_fits_alg(rsa, JWTD_ALG_RS256));
    assert_false(jwtd_key_fits_alg(rsa, JWTD_ALG_HS256));
    assert_null(jwtd_keyset_find(set, "no-such-kid", 11));
    jwtd_keyset_free(set);
}

static void test_rfc7517_a1_public(void **state)
{
    (void)state;
    check_rfc7517_ec_rsa(DIR "rfc7517_A.1.jwkset", false);
}

static void test_rfc7517_a2_private(void **state)
{
    (void)state;
    check_rfc7517_ec_rsa(DIR "rfc7517_A.2.jwkset", true);
}

/* A.3: symmetric keys: an A128KW key (16 bytes, for key wrapping) and the 64-byte HMAC
 * key of RFC 7515 A.1. The HMAC key must be usable for HS256 by its kid. */
static void test_rfc7517_a3_symmetric(void **state)
{
    jwtd_keyset *set = jwks_from_file(DIR "rfc7517_A.3.jwkset", JWTD_KEY_ALLOW_WEAK, JWTD_OK);
    const jwtd_key *hmac = find_kid(set, "HMACkeyusedinJWSspecAppendixA.1example");
    jwtd_validation *v = vec_validation(VEC_ALG(JWTD_ALG_HS256));
    size_t len = 0;
    char *tok = read_trimmed(DIR "rfc7515_A.1.jwsc", &len);

    (void)state;
    assert_int_equal(jwtd_key_kty(hmac), JWTD_KTY_OCT);
    assert_int_equal(jwtd_key_bits(hmac), 512);
    assert_true(jwtd_key_fits_alg(hmac, JWTD_ALG_HS512));
    /* The A.1 token has no kid: the HMAC key (the only one fitting HS256) verifies it. */
    assert_err(JWTD_OK, jwtd_validation_set_now(v, RFC_EXP - 3600));
    assert_err(JWTD_OK, jwtd_verify(tok, len, set, v, NULL, NULL));
    /* No key of the set can serve as an HMAC key for an algorithm it does not fit. */
    for (size_t i = 0; i < jwtd_keyset_count(set); i++) {
        const jwtd_key *k = jwtd_keyset_get(set, i);
        if (k != hmac)
            assert_false(jwtd_key_fits_alg(k, JWTD_ALG_HS256));
    }
    free(tok);
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
}

/* B: an RSA public key with an x5c chain; the chain is ignored (never a key source), and
 * the exported JWK does not carry it. */
static void test_rfc7517_b_x5c(void **state)
{
    jwtd_key *key = key_from_file(DIR "rfc7517_B.jwk", 0);
    char *jwk = NULL;

    (void)state;
    assert_int_equal(jwtd_key_kty(key), JWTD_KTY_RSA);
    assert_string_equal(jwtd_key_kid(key), "1b94c");
    assert_int_equal(jwtd_key_bits(key), 2048);
    assert_false(jwtd_key_is_private(key));
    assert_err(JWTD_OK, jwtd_key_public_jwk(key, &jwk));
    assert_null(strstr(jwk, "x5c"));
    assert_non_null(strstr(jwk, "\"kid\":\"1b94c\""));
    jwtd_free(jwk);
    jwtd_key_free(key);
}

/* ---- RFC 7638 §3.1 ---- */
static void test_rfc7638_thumbprint(void **state)
{
    jwtd_key *key = key_from_file(DIR "rfc7638_3.1.jwk", 0), *nokid = NULL;
    char thp[JWTD_THUMBPRINT_B64_LEN + 1];
    size_t len = 0, jlen = 0;
    char *want = read_trimmed(DIR "rfc7638_3.1.thp", &len), *text;
    json_t *jwk = vec_json(DIR "rfc7638_3.1.jwk");

    (void)state;
    assert_int_equal(len, JWTD_THUMBPRINT_B64_LEN);
    assert_err(JWTD_OK, jwtd_key_thumbprint(key, thp));
    assert_string_equal(thp, want);
    /* The JWK's own kid wins over the thumbprint. */
    assert_string_equal(jwtd_key_kid(key), "2011-04-29");

    /* Without a kid member, the thumbprint is the kid. */
    assert_non_null(jwk);
    assert_int_equal(json_object_del(jwk, "kid"), 0);
    text = vec_dump(jwk);
    jlen = strlen(text);
    assert_err(JWTD_OK, jwtd_key_from_jwk(text, jlen, 0, &nokid));
    assert_string_equal(jwtd_key_kid(nokid), want);
    assert_err(JWTD_OK, jwtd_key_thumbprint(nokid, thp));
    assert_string_equal(thp, want);

    free(text);
    json_decref(jwk);
    free(want);
    jwtd_key_free(nokid);
    jwtd_key_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7515_a1_hs256),     cmocka_unit_test(test_rfc7515_a2_rs256),
        cmocka_unit_test(test_rfc7515_a3_es256),     cmocka_unit_test(test_rfc7515_a4_es512),
        cmocka_unit_test(test_rfc7515_a5_none),      cmocka_unit_test(test_rfc7515_a6_general),
        cmocka_unit_test(test_rfc7515_a7_flattened), cmocka_unit_test(test_rfc7517_a1_public),
        cmocka_unit_test(test_rfc7517_a2_private),   cmocka_unit_test(test_rfc7517_a3_symmetric),
        cmocka_unit_test(test_rfc7517_b_x5c),        cmocka_unit_test(test_rfc7638_thumbprint),
    };
    return cmocka_run_group_tests_name("vectors.rfc", tests, NULL, NULL);
}
