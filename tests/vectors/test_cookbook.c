/* RFC 7520 "JOSE Cookbook" vectors (jose-cookbook/) through libjwtd's public API: every
 * JWS example (§4.1-4.8) in each serialization it gives, RFC 7797 b64:false, RFC 8037
 * A.4 Ed25519, the JWS half of §6 (nesting), the §3 JWKs, and exact reproduction of the
 * deterministic signatures (RS256 §4.1, HS256 §4.4, Ed25519). JWE files are skipped,
 * each with a printed reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vectors.h"

#define CB "jose-cookbook/"
#define JWE_REASON "JWE is not in libjwtd's scope (JWS only)"
#define NESTED_EXP 1300819380 /* §6's claims expire in 2011: the clock is pinned before */

/* ---- helpers ---- */
static json_t *load(const char *rel)
{
    json_t *v = vec_json(rel);

    assert_non_null(v);
    return v;
}

static jwtd_key *key_from(const json_t *jwk)
{
    jwtd_key *key = NULL;

    assert_err(JWTD_OK, vec_key_from_json(jwk, 0, &key));
    return key;
}

static jwtd_alg alg_from(const json_t *name)
{
    jwtd_alg a;

    assert_true(json_is_string(name));
    a = jwtd_alg_from_name(json_string_value(name), json_string_length(name));
    assert_int_not_equal(a, JWTD_ALG_UNKNOWN);
    return a;
}

static void assert_payload(const jwtd_token *t, const json_t *want)
{
    size_t len = 0;
    const char *p = jwtd_token_payload(t, &len);

    assert_non_null(p);
    assert_int_equal(len, json_string_length(want));
    assert_memory_equal(p, json_string_value(want), len);
}

/* One serialization of a cookbook example, verified with one key pinned to one alg.
 * detached: bytes passed as the detached payload (NULL: none). */
static jwtd_err verify_form(const char *jws, size_t len, const void *detached, size_t dlen,
                            const jwtd_keyset *set, jwtd_alg alg, bool allow_b64_false,
                            const json_t *want_payload)
{
    jwtd_validation *v = vec_validation(VEC_ALG(alg));
    jwtd_token *t = NULL;
    jwtd_err rc;

    assert_non_null(v);
    if (allow_b64_false)
        assert_err(JWTD_OK, jwtd_validation_allow_unencoded_payload(v, true));
    rc = jwtd_jws_verify(jws, len, detached, dlen, set, v, &t, NULL);
    if (rc == JWTD_OK) {
        assert_int_equal(jwtd_token_alg(t), alg);
        assert_payload(t, want_payload);
    } else {
        assert_null(t);
    }
    jwtd_token_free(t);
    jwtd_validation_free(v);
    return rc;
}

/* Serialized output member ("compact", "json", "json_flat"), or NULL if absent. */
static char *output_form(const json_t *doc, const char *form)
{
    json_t *out = json_object_get(json_object_get(doc, "output"), form);

    if (out == NULL)
        return NULL;
    if (json_is_string(out))
        return strdup(json_string_value(out));
    return vec_dump(out);
}

/* The compact form with the signature's first character changed. */
static char *tamper_compact(const char *tok)
{
    char *t = strdup(tok), *sig;

    assert_non_null(t);
    sig = strrchr(t, '.');
    assert_non_null(sig);
    assert_true(sig[1] != '\0');
    sig[1] = sig[1] == 'A' ? 'B' : 'A';
    return t;
}

/* ---- one JWS example with one key: all its serializations ---- */
static void check_example_with_key(const char *rel, const json_t *doc, const json_t *jwk,
                                   jwtd_alg alg)
{
    static const char *const forms[] = {"compact", "json", "json_flat"};
    const json_t *payload = json_object_get(json_object_get(doc, "input"), "payload");
    jwtd_key *key = key_from(jwk);
    jwtd_keyset *set = vec_keyset_of(key);
    char *b64_payload = vec_b64url(json_string_value(payload), json_string_length(payload));
    unsigned checked = 0;

    assert_non_null(set);
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
        char *jws = output_form(doc, forms[f]), label[256];
        bool is_compact = f == 0, detached, skipped = false;
        json_t *parsed;

        if (jws == NULL)
            continue;
        snprintf(label, sizeof label, "%s %s (%s)", rel, forms[f], jwtd_alg_name(alg));
        if (is_compact) {
            const char *d1 = strchr(jws, '.');
            detached = d1 != NULL && d1[1] == '.' && json_string_length(payload) > 0;
        } else {
            parsed = json_loads(jws, 0, NULL);
            assert_non_null(parsed);
            detached = json_object_get(parsed, "payload") == NULL;
            json_decref(parsed);
        }

        if (detached && is_compact) {
            /* RFC 7515 appendix F: the receiver puts the detached payload back as it was
             * transmitted, i.e. its base64url form (the API's convention for b64:true). */
            assert_err(JWTD_OK, verify_form(jws, strlen(jws), b64_payload, strlen(b64_payload), set,
                                            alg, false, payload));
            assert_err(JWTD_ERR_INVALID_TOKEN,
                       verify_form(jws, strlen(jws), json_string_value(payload),
                                   json_string_length(payload), set, alg, false, payload));
        } else if (detached) {
            vec_skip(label, "detached payload with a JSON serialization: jwtd_jws_verify takes "
                            "a detached payload for the compact form only");
            skipped = true;
            assert_err(JWTD_ERR_INVALID_ARGUMENT,
                       verify_form(jws, strlen(jws), b64_payload, strlen(b64_payload), set, alg,
                                   false, payload));
        } else {
            jwtd_err rc = verify_form(jws, strlen(jws), NULL, 0, set, alg, false, payload);
            if (rc != JWTD_OK)
                print_error("%s: %s\n", label, jwtd_err_name(rc));
            assert_err(JWTD_OK, rc);
        }
        if (is_compact) {
            char *bad = tamper_compact(jws);
            const void *d = detached ? b64_payload : NULL;
            assert_err(JWTD_ERR_INVALID_SIGNATURE,
                       verify_form(bad, strlen(bad), d, d != NULL ? strlen(d) : 0, set, alg, false,
                                   payload));
            free(bad);
        }
        if (!skipped)
            printf("ok %s\n", label);
        checked++;
        free(jws);
    }
    assert_true(checked > 0);
    free(b64_payload);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
}

static void check_example(const char *rel)
{
    json_t *doc = load(rel), *input = json_object_get(doc, "input");

    check_example_with_key(rel, doc, json_object_get(input, "key"),
                           alg_from(json_object_get(input, "alg")));
    json_decref(doc);
}

static void test_4_1_rs256(void **state)
{
    (void)state;
    check_example(CB "jws/4_1.rsa_v15_signature.json");
}

static void test_4_2_ps384(void **state)
{
    (void)state;
    check_example(CB "jws/4_2.rsa-pss_signature.json");
}

static void test_4_3_es512(void **state)
{
    (void)state;
    check_example(CB "jws/4_3.ecdsa_signature.json");
}

static void test_4_4_hs256(void **state)
{
    (void)state;
    check_example(CB "jws/4_4.hmac-sha2_integrity_protection.json");
}

static void test_4_5_detached(void **state)
{
    (void)state;
    check_example(CB "jws/4_5.signature_with_detached_content.json");
}

/* §4.6: only alg protected; kid in the unprotected header. */
static void test_4_6_protected_alg_only(void **state)
{
    (void)state;
    check_example(CB "jws/4_6.protecting_specific_header_fields.json");
}

/* §4.7: nothing protected, alg and kid in the unprotected header (RFC 7515 allows it;
 * the caller's pinned algorithm is what counts, so this verifies). */
static void test_4_7_content_only(void **state)
{
    (void)state;
    check_example(CB "jws/4_7.protecting_content_only.json");
}

/* §4.8: three signatures (RS256, ES512 with its alg unprotected, HS256); each key alone,
 * pinned to its algorithm, verifies the general serialization. */
static void test_4_8_multiple(void **state)
{
    const char *rel = CB "jws/4_8.multiple_signatures.json";
    json_t *doc = load(rel), *input = json_object_get(doc, "input");
    json_t *keys = json_object_get(input, "key"), *algs = json_object_get(input, "alg");

    (void)state;
    assert_int_equal(json_array_size(keys), 3);
    assert_int_equal(json_array_size(algs), 3);
    for (size_t i = 0; i < json_array_size(keys); i++)
        check_example_with_key(rel, doc, json_array_get(keys, i),
                               alg_from(json_array_get(algs, i)));
    json_decref(doc);
}

/* ---- RFC 7797 ---- */
/* b64:false with crit ["b64"]: verifies only when the caller enables RFC 7797; the
 * compact form carries the payload inline (RFC 7797 §5.2: allowed without '.') or
 * detached. */
static void test_rfc7797_b64_false(void **state)
{
    const char *rel = CB "rfc7797/hmac-sha2_b64_false.json";
    json_t *doc = load(rel), *input = json_object_get(doc, "input");
    const json_t *payload = json_object_get(input, "payload");
    jwtd_key *key = key_from(json_object_get(input, "key"));
    jwtd_keyset *set = vec_keyset_of(key);
    jwtd_alg alg = alg_from(json_object_get(input, "alg"));
    char *compact = output_form(doc, "compact"), *json = output_form(doc, "json");
    char *flat = output_form(doc, "json_flat"), *detached, *dot;
    const char *forms[] = {compact, json, flat};

    (void)state;
    if (compact == NULL || json == NULL || flat == NULL) {
        free(compact);
        free(json);
        free(flat);
        fail_msg("%s: an output form is missing", rel);
        return; /* not reached: fail_msg jumps out (cmocka does not declare it noreturn) */
    }
    for (size_t f = 0; f < 3; f++) {
        assert_err(JWTD_ERR_UNSUPPORTED_CRITICAL,
                   verify_form(forms[f], strlen(forms[f]), NULL, 0, set, alg, false, payload));
        assert_err(JWTD_OK,
                   verify_form(forms[f], strlen(forms[f]), NULL, 0, set, alg, true, payload));
    }
    /* The same compact JWS with the payload detached: "header..signature". */
    detached = strdup(compact);
    dot = strchr(detached, '.');
    memmove(dot + 1, strrchr(compact, '.'), strlen(strrchr(compact, '.')) + 1);
    assert_err(JWTD_OK, verify_form(detached, strlen(detached), json_string_value(payload),
                                    json_string_length(payload), set, alg, true, payload));
    assert_err(JWTD_ERR_UNSUPPORTED_CRITICAL,
               verify_form(detached, strlen(detached), json_string_value(payload),
                           json_string_length(payload), set, alg, false, payload));
    /* A different detached payload does not verify. */
    assert_err(JWTD_ERR_INVALID_SIGNATURE,
               verify_form(detached, strlen(detached), "This is the payload string?", 27, set, alg,
                           true, payload));
    /* Never as a JWT. */
    {
        jwtd_validation *v = vec_validation(VEC_ALG(alg));
        assert_err(JWTD_OK, jwtd_validation_allow_unencoded_payload(v, true));
        assert_err(JWTD_ERR_INVALID_TOKEN,
                   jwtd_verify(compact, strlen(compact), set, v, NULL, NULL));
        jwtd_validation_free(v);
    }
    printf("ok %s compact (inline and detached), json, json_flat\n", rel);
    free(detached);
    free(flat);
    free(json);
    free(compact);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
    json_decref(doc);
}

/* RFC 7797 §4.2's JSON-only example has b64:false without crit. RFC 7797 §6 requires
 * "b64" to be listed in crit, so a verifier must reject it even with RFC 7797 enabled. */
static void test_rfc7797_b64_false_without_crit(void **state)
{
    const char *rel = CB "rfc7797/4.2.hmac-sha2_b64_false.json";
    json_t *doc = load(rel), *input = json_object_get(doc, "input");
    const json_t *payload = json_object_get(input, "payload");
    jwtd_key *key = key_from(json_object_get(input, "key"));
    jwtd_keyset *set = vec_keyset_of(key);
    jwtd_alg alg = alg_from(json_object_get(input, "alg"));
    char *json = output_form(doc, "json"), *flat = output_form(doc, "json_flat");

    (void)state;
    /* The file's "signing.protected" lists crit, but the header actually transmitted
     * (output.json_flat.protected) does not: that header is what is checked. */
    {
        const char *b64 = json_string_value(json_object_get(
            json_object_get(json_object_get(doc, "output"), "json_flat"), "protected"));
        size_t hlen = 0;
        unsigned char *hdr = vec_unb64url(b64, &hlen);
        json_t *h = hdr != NULL ? json_loadb((const char *)hdr, hlen, 0, NULL) : NULL;

        assert_non_null(h);
        assert_true(json_is_false(json_object_get(h, "b64")));
        assert_null(json_object_get(h, "crit"));
        json_decref(h);
        free(hdr);
    }
    assert_non_null(json);
    assert_non_null(flat);
    for (int allow = 0; allow <= 1; allow++) {
        assert_err(JWTD_ERR_INVALID_TOKEN,
                   verify_form(json, strlen(json), NULL, 0, set, alg, allow, payload));
        assert_err(JWTD_ERR_INVALID_TOKEN,
                   verify_form(flat, strlen(flat), NULL, 0, set, alg, allow, payload));
    }
    printf("ok %s json, json_flat rejected (b64:false not in crit)\n", rel);
    free(flat);
    free(json);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
    json_decref(doc);
}

/* ---- RFC 8037 A.4 ---- */
static void test_rfc8037_ed25519(void **state)
{
    (void)state;
    check_example(CB "curve25519/jws.json");
}

/* ---- §6: a JWT signed with PS256 (typ JWT), then encrypted ---- */
static void test_6_nested(void **state)
{
    const char *rel = CB "6.nesting_signatures_and_encryption.json";
    json_t *doc = load(rel), *sign = json_object_get(doc, "sign");
    json_t *input = json_object_get(sign, "input");
    const char *jwt =
        json_string_value(json_object_get(json_object_get(sign, "output"), "compact"));
    jwtd_key *key = key_from(json_object_get(input, "key"));
    jwtd_keyset *set = vec_keyset_of(key);
    jwtd_alg alg = alg_from(json_object_get(input, "alg"));
    jwtd_validation *v = vec_validation(VEC_ALG(alg));
    jwtd_token *t = NULL;
    const char *iss = NULL;
    char label[256];

    (void)state;
    assert_non_null(jwt);
    assert_err(JWTD_OK, jwtd_validation_set_now(v, NESTED_EXP - 3600));
    assert_err(JWTD_OK, jwtd_validation_set_typ(v, "JWT"));
    assert_err(JWTD_OK, jwtd_verify(jwt, strlen(jwt), set, v, &t, NULL));
    assert_err(JWTD_OK, jwtd_token_claim_string(t, "iss", &iss));
    assert_string_equal(iss, "hobbiton.example");
    jwtd_token_free(t);
    assert_err(JWTD_OK, jwtd_validation_set_typ(v, "at+jwt"));
    assert_err(JWTD_ERR_INVALID_TYPE, jwtd_verify(jwt, strlen(jwt), set, v, NULL, NULL));
    printf("ok %s sign.output.compact (PS256 JWT)\n", rel);
    snprintf(label, sizeof label, "%s encrypt (RSA-OAEP + A128GCM)", rel);
    vec_skip(label, JWE_REASON);
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
    json_decref(doc);
}

/* ---- Exact signing: the deterministic algorithms reproduce the cookbook byte for byte.
 * jwtd_sign_payload writes the protected header as {"alg":..,"kid":..} (alg first, then
 * the key's kid), which is exactly the cookbook's header for these examples. ---- */
static void check_reproduce(const char *rel, bool drop_kid)
{
    json_t *doc = load(rel), *input = json_object_get(doc, "input");
    const json_t *payload = json_object_get(input, "payload");
    jwtd_key *key = key_from(json_object_get(input, "key")), *signer = key;
    jwtd_alg alg = alg_from(json_object_get(input, "alg"));
    char *want = output_form(doc, "compact"), *got = NULL;

    assert_non_null(want);
    /* RFC 8037's header is {"alg":"EdDSA"}: sign with no kid at all. */
    if (drop_kid)
        assert_err(JWTD_OK, jwtd_key_with_kid(key, NULL, &signer));
    assert_err(JWTD_OK, jwtd_sign_payload(signer, alg, NULL, json_string_value(payload),
                                          json_string_length(payload), &got));
    if (strcmp(got, want) != 0)
        print_error("%s:\n  want %s\n  got  %s\n", rel, want, got);
    assert_string_equal(got, want);
    printf("ok %s: jwtd_sign_payload reproduces output.compact exactly\n", rel);
    jwtd_free(got);
    free(want);
    if (signer != key)
        jwtd_key_free(signer);
    jwtd_key_free(key);
    json_decref(doc);
}

static void test_sign_reproduces_4_1_rs256(void **state)
{
    (void)state;
    check_reproduce(CB "jws/4_1.rsa_v15_signature.json", false);
}

static void test_sign_reproduces_4_4_hs256(void **state)
{
    (void)state;
    check_reproduce(CB "jws/4_4.hmac-sha2_integrity_protection.json", false);
}

static void test_sign_reproduces_rfc8037_ed25519(void **state)
{
    (void)state;
    check_reproduce(CB "curve25519/jws.json", true);
}

/* ---- §3 JWKs ---- */
static jwtd_key *cookbook_jwk(const char *name, jwtd_kty kty, bool priv, unsigned bits)
{
    char rel[256];
    json_t *jwk;
    jwtd_key *key;

    snprintf(rel, sizeof rel, CB "jwk/%s", name);
    jwk = load(rel);
    key = key_from(jwk);
    assert_int_equal(jwtd_key_kty(key), kty);
    if (kty != JWTD_KTY_OCT) /* a secret has no public half to compare with */
        assert_int_equal(jwtd_key_is_private(key), priv);
    assert_int_equal(jwtd_key_bits(key), bits);
    assert_string_equal(jwtd_key_kid(key), json_string_value(json_object_get(jwk, "kid")));
    printf("ok %s\n", rel);
    json_decref(jwk);
    return key;
}

static void assert_same_thumbprint(const jwtd_key *a, const jwtd_key *b)
{
    char ta[JWTD_THUMBPRINT_B64_LEN + 1], tb[JWTD_THUMBPRINT_B64_LEN + 1];

    assert_err(JWTD_OK, jwtd_key_thumbprint(a, ta));
    assert_err(JWTD_OK, jwtd_key_thumbprint(b, tb));
    assert_string_equal(ta, tb);
}

static void test_jwk_3_x(void **state)
{
    jwtd_key *ec_pub = cookbook_jwk("3_1.ec_public_key.json", JWTD_KTY_EC, false, 521);
    jwtd_key *ec_priv = cookbook_jwk("3_2.ec_private_key.json", JWTD_KTY_EC, true, 521);
    jwtd_key *rsa_pub = cookbook_jwk("3_3.rsa_public_key.json", JWTD_KTY_RSA, false, 2048);
    jwtd_key *rsa_priv = cookbook_jwk("3_4.rsa_private_key.json", JWTD_KTY_RSA, true, 2048);
    jwtd_key *mac = cookbook_jwk("3_5.symmetric_key_mac_computation.json", JWTD_KTY_OCT, true, 256);
    json_t *enc = load(CB "jwk/3_6.symmetric_key_encryption.json");
    jwtd_key *enc_key = NULL;

    (void)state;
    assert_string_equal(jwtd_key_curve(ec_pub), "P-521");
    assert_true(jwtd_key_fits_alg(ec_pub, JWTD_ALG_ES512));
    assert_false(jwtd_key_fits_alg(ec_pub, JWTD_ALG_ES256));
    assert_same_thumbprint(ec_pub, ec_priv);
    assert_same_thumbprint(rsa_pub, rsa_priv);
    assert_int_equal(jwtd_key_alg(mac), JWTD_ALG_HS256);
    assert_true(jwtd_key_fits_alg(mac, JWTD_ALG_HS256));
    assert_false(jwtd_key_fits_alg(mac, JWTD_ALG_HS384)); /* 32-byte secret < SHA-384 */
    /* §3.6 is an A256GCM content-encryption key ("use":"enc"): not a JWS key. */
    assert_err(JWTD_ERR_INVALID_KEY_FORMAT, vec_key_from_json(enc, 0, &enc_key));
    assert_null(enc_key);
    printf("ok " CB "jwk/3_6.symmetric_key_encryption.json refused as a JWS key\n");
    json_decref(enc);
    jwtd_key_free(mac);
    jwtd_key_free(rsa_priv);
    jwtd_key_free(rsa_pub);
    jwtd_key_free(ec_priv);
    jwtd_key_free(ec_pub);
}

/* ---- JWE: out of scope, but every file is listed with the reason ---- */
static void test_jwe_skipped(void **state)
{
    size_t n = 0;
    char **names = vec_list_dir(CB "jwe", ".json", &n), label[512];

    (void)state;
    assert_non_null(names);
    assert_int_equal(n, 13); /* RFC 7520 §5.1-5.13 */
    for (size_t i = 0; i < n; i++) {
        snprintf(label, sizeof label, CB "jwe/%s", names[i]);
        vec_skip(label, JWE_REASON);
    }
    vec_skip(CB "curve25519/ecdh-es.json", JWE_REASON " (ECDH-ES key agreement)");
    vec_list_free(names, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_4_1_rs256),
        cmocka_unit_test(test_4_2_ps384),
        cmocka_unit_test(test_4_3_es512),
        cmocka_unit_test(test_4_4_hs256),
        cmocka_unit_test(test_4_5_detached),
        cmocka_unit_test(test_4_6_protected_alg_only),
        cmocka_unit_test(test_4_7_content_only),
        cmocka_unit_test(test_4_8_multiple),
        cmocka_unit_test(test_rfc7797_b64_false),
        cmocka_unit_test(test_rfc7797_b64_false_without_crit),
        cmocka_unit_test(test_rfc8037_ed25519),
        cmocka_unit_test(test_6_nested),
        cmocka_unit_test(test_sign_reproduces_4_1_rs256),
        cmocka_unit_test(test_sign_reproduces_4_4_hs256),
        cmocka_unit_test(test_sign_reproduces_rfc8037_ed25519),
        cmocka_unit_test(test_jwk_3_x),
        cmocka_unit_test(test_jwe_skipped),
    };
    return cmocka_run_group_tests_name("vectors.cookbook", tests, NULL, NULL);
}
