/* Wycheproof primitive vectors (HMAC, ECDSA P1363, RSA PKCS#1 v1.5, RSA-PSS, Ed25519)
 * through jose_sig_verify: the signature primitive jwtd_verify and jwtd_jws_verify call
 * on the signing input. A Wycheproof "msg" is arbitrary bytes, not a JWS signing input,
 * so the public API cannot carry it; this program links the library's internal header
 * (src/jose/internal.h) for that one function and nothing else of the internals.
 *
 * Keys come from the group's JWK when it has one (publicKeyJwk / keyJwk), else its PEM,
 * through the public constructors; when both exist their thumbprints must agree.
 * valid -> JWTD_OK, invalid -> JWTD_ERR_INVALID_SIGNATURE exactly. Differences from the
 * Wycheproof labels that JWS itself imposes, and every "acceptable" case, are listed in
 * tables below with the reason. Also: the RFC 7520 / RFC 8037 signing inputs, signed and
 * verified with jose_sig_sign / jose_sig_verify (byte-exact for deterministic algs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "vectors.h"

#define WP "wycheproof/"

typedef struct prim_file {
    const char *name;
    jwtd_alg alg;
    const char *sha; /* the group "sha" the JWA algorithm implies; NULL: HMAC / EdDSA */
} prim_file;

static const prim_file FILES[] = {
    {"hmac_sha256_test.json", JWTD_ALG_HS256, NULL},
    {"hmac_sha384_test.json", JWTD_ALG_HS384, NULL},
    {"hmac_sha512_test.json", JWTD_ALG_HS512, NULL},
    {"ecdsa_secp256r1_sha256_p1363_test.json", JWTD_ALG_ES256, "SHA-256"},
    {"ecdsa_secp384r1_sha384_p1363_test.json", JWTD_ALG_ES384, "SHA-384"},
    {"ecdsa_secp521r1_sha512_p1363_test.json", JWTD_ALG_ES512, "SHA-512"},
    {"rsa_signature_2048_sha256_test.json", JWTD_ALG_RS256, "SHA-256"},
    {"rsa_signature_3072_sha384_test.json", JWTD_ALG_RS384, "SHA-384"},
    {"rsa_signature_4096_sha512_test.json", JWTD_ALG_RS512, "SHA-512"},
    {"rsa_pss_2048_sha256_mgf1_32_test.json", JWTD_ALG_PS256, "SHA-256"},
    {"rsa_pss_4096_sha384_mgf1_48_test.json", JWTD_ALG_PS384, "SHA-384"},
    {"rsa_pss_4096_sha512_mgf1_64_test.json", JWTD_ALG_PS512, "SHA-512"},
    {"ed25519_test.json", JWTD_ALG_EDDSA, NULL},
};

/* Our result for each kind of "acceptable" case, and why. A case with a flag not listed
 * here fails the test, so every acceptable case is a documented decision. */
typedef struct acceptable_choice {
    const char *flag;
    jwtd_err result;
    const char *why;
} acceptable_choice;

static const acceptable_choice ACCEPTABLE[] = {
    {"MissingNull", JWTD_ERR_INVALID_SIGNATURE,
     "PKCS#1 v1.5 DigestInfo without the NULL parameter: rejected; RFC 8017 §9.2 encodes "
     "NULL and OpenSSL compares the whole encoding, so only one encoding verifies"},
};

/* ---- key construction ---- */
static jwtd_key *group_key(const char *file, const json_t *group, const char **source)
{
    const json_t *jwk = json_object_get(group, "publicKeyJwk");
    const char *pem = json_string_value(json_object_get(group, "publicKeyPem"));
    jwtd_key *from_jwk = NULL, *from_pem = NULL;
    char ta[JWTD_THUMBPRINT_B64_LEN + 1], tb[JWTD_THUMBPRINT_B64_LEN + 1];

    if (jwk == NULL)
        jwk = json_object_get(group, "keyJwk");
    if (pem != NULL) {
        jwtd_err rc = jwtd_key_from_pem(pem, strlen(pem), 0, &from_pem);
        if (rc != JWTD_OK)
            print_error("%s: publicKeyPem refused: %s\n", file, jwtd_err_name(rc));
        assert_err(JWTD_OK, rc);
    }
    if (jwk == NULL) {
        assert_non_null(from_pem);
        *source = "PEM";
        return from_pem;
    }
    assert_err(JWTD_OK, vec_key_from_json(jwk, 0, &from_jwk));
    *source = "JWK";
    if (from_pem != NULL) {
        assert_err(JWTD_OK, jwtd_key_thumbprint(from_jwk, ta));
        assert_err(JWTD_OK, jwtd_key_thumbprint(from_pem, tb));
        assert_string_equal(ta, tb);
        jwtd_key_free(from_pem);
    }
    return from_jwk;
}

/* ---- one file ---- */
static const char *group_skip_reason(const prim_file *pf, const json_t *group)
{
    const jose_alg_info *info = jose_alg_info_get(pf->alg);
    const char *sha = json_string_value(json_object_get(group, "sha"));
    const char *mgf_sha = json_string_value(json_object_get(group, "mgfSha"));
    const char *mgf = json_string_value(json_object_get(group, "mgf"));

    if (pf->sha != NULL && (sha == NULL || strcmp(sha, pf->sha) != 0))
        return "hash differs from the one the JWA algorithm fixes";
    if (info->family == JOSE_FAM_PSS) {
        /* JWA §3.5: MGF1 with the same hash and a salt as long as the hash. */
        if (mgf == NULL || strcmp(mgf, "MGF1") != 0 || mgf_sha == NULL || pf->sha == NULL ||
            strcmp(mgf_sha, pf->sha) != 0)
            return "PSS parameters differ from JWA (MGF1 with the signature hash)";
        if (json_integer_value(json_object_get(group, "sLen")) != (json_int_t)info->hash_len)
            return "PSS salt length differs from JWA (salt length = hash length)";
    }
    return NULL;
}

static void run_file(const prim_file *pf)
{
    char rel[128];
    const jose_alg_info *info = jose_alg_info_get(pf->alg);
    json_t *doc, *group, *test;
    vec_tally t;
    size_t gi, ti;

    snprintf(rel, sizeof rel, WP "%s", pf->name);
    t = (vec_tally){.file = rel};
    doc = vec_json(rel);
    assert_non_null(doc);
    assert_non_null(info);

    json_array_foreach(json_object_get(doc, "testGroups"), gi, group) {
        const json_t *tests = json_object_get(group, "tests");
        const char *reason = group_skip_reason(pf, group), *source = "secret";
        bool hmac = info->family == JOSE_FAM_HMAC;
        /* A JWS MAC is the whole HMAC output (RFC 7518 §3.2): Wycheproof's truncated-tag
         * groups are valid for a MAC API but every one of their tags must fail here. */
        bool truncated = hmac && json_integer_value(json_object_get(group, "tagSize")) !=
                                     8 * (json_int_t)info->hash_len;
        jwtd_key *key = NULL;

        if (reason != NULL) {
            char what[192];
            snprintf(what, sizeof what, "%s group %zu (%zu cases)", rel, gi,
                     json_array_size(tests));
            vec_skip(what, reason);
            t.total += (unsigned)json_array_size(tests);
            t.skipped += (unsigned)json_array_size(tests);
            continue;
        }
        if (!hmac) {
            key = group_key(rel, group, &source);
            assert_true(jwtd_key_fits_alg(key, pf->alg));
        }
        if (truncated)
            printf("NOTE %s group %zu: tagSize %lld < %zu bits: all %zu tags must be rejected "
                   "(a JWS MAC is never truncated)\n",
                   rel, gi, (long long)json_integer_value(json_object_get(group, "tagSize")),
                   8 * info->hash_len, json_array_size(tests));

        json_array_foreach(tests, ti, test) {
            long long tc = json_integer_value(json_object_get(test, "tcId"));
            const char *result = json_string_value(json_object_get(test, "result"));
            const char *sig_hex = json_string_value(json_object_get(test, hmac ? "tag" : "sig"));
            size_t msg_len = 0, sig_len = 0;
            unsigned char *msg = vec_hex(json_string_value(json_object_get(test, "msg")), &msg_len);
            unsigned char *sig = sig_hex != NULL ? vec_hex(sig_hex, &sig_len) : NULL;
            jwtd_err rc, want;
            char id[64];

            snprintf(id, sizeof id, "tcId %lld (%s key)", tc, source);
            t.total++;
            assert_non_null(msg);
            assert_non_null(sig);
            if (hmac) {
                size_t klen = 0;
                unsigned char *k = vec_hex(json_string_value(json_object_get(test, "key")), &klen);
                assert_non_null(k);
                /* Short keys are allowed on purpose: this test is about the MAC. */
                assert_err(JWTD_OK, jwtd_key_from_secret(k, klen, JWTD_KEY_ALLOW_WEAK, &key));
                free(k);
            }
            rc = jose_sig_verify(key, pf->alg, msg, msg_len, sig, sig_len);

            if (strcmp(result, "acceptable") == 0) {
                const acceptable_choice *c = NULL;
                for (size_t a = 0; a < sizeof ACCEPTABLE / sizeof ACCEPTABLE[0]; a++) {
                    json_t *f;
                    size_t fi;
                    json_array_foreach(json_object_get(test, "flags"), fi, f) {
                        if (strcmp(json_string_value(f), ACCEPTABLE[a].flag) == 0)
                            c = &ACCEPTABLE[a];
                    }
                }
                if (c == NULL)
                    vec_fail(&t, id, "acceptable case with no documented choice");
                else if (rc != c->result)
                    vec_fail(&t, id, "acceptable (%s): documented %s, got %s", c->flag,
                             jwtd_err_name(c->result), jwtd_err_name(rc));
                else {
                    t.acceptable++;
                    printf("ACCEPTABLE %s %s: %s (%s: %s)\n", rel, id, jwtd_err_name(rc), c->flag,
                           c->why);
                }
            } else {
                bool valid = strcmp(result, "valid") == 0 && !truncated;
                want = valid ? JWTD_OK : JWTD_ERR_INVALID_SIGNATURE;
                if (rc != want)
                    vec_fail(&t, id, "%s%s: expected %s, got %s (%s)", result,
                             truncated ? " (truncated tag)" : "", jwtd_err_name(want),
                             jwtd_err_name(rc),
                             json_string_value(json_object_get(test, "comment")));
                else if (valid)
                    t.valid_ok++;
                else
                    t.invalid_ok++;
            }
            if (hmac) {
                jwtd_key_free(key);
                key = NULL;
            }
            free(sig);
            free(msg);
        }
        jwtd_key_free(key);
    }
    vec_tally_print(&t);
    assert_int_equal(t.total, json_integer_value(json_object_get(doc, "numberOfTests")));
    json_decref(doc);
    assert_int_equal(t.failed, 0);
}

#define FILE_TEST(fn, i)                                                                           \
    static void fn(void **state)                                                                   \
    {                                                                                              \
        (void)state;                                                                               \
        run_file(&FILES[i]);                                                                       \
    }

FILE_TEST(test_hmac_sha256, 0)
FILE_TEST(test_hmac_sha384, 1)
FILE_TEST(test_hmac_sha512, 2)
FILE_TEST(test_ecdsa_p256, 3)
FILE_TEST(test_ecdsa_p384, 4)
FILE_TEST(test_ecdsa_p521, 5)
FILE_TEST(test_rsa_2048_sha256, 6)
FILE_TEST(test_rsa_3072_sha384, 7)
FILE_TEST(test_rsa_4096_sha512, 8)
FILE_TEST(test_pss_2048_sha256, 9)
FILE_TEST(test_pss_4096_sha384, 10)
FILE_TEST(test_pss_4096_sha512, 11)
FILE_TEST(test_ed25519, 12)

/* ---- RFC 7520 §4 and RFC 8037 A.4 signing inputs through the same primitives ---- */
typedef struct cookbook_sig {
    const char *file;
    int index;          /* signing[] entry for §4.8, -1 for a single "signing" object */
    bool deterministic; /* RSASSA-PKCS1-v1_5, HMAC and Ed25519 give the same bytes again */
} cookbook_sig;

static const cookbook_sig COOKBOOK[] = {
    {"jws/4_1.rsa_v15_signature.json", -1, true},
    {"jws/4_2.rsa-pss_signature.json", -1, false},
    {"jws/4_3.ecdsa_signature.json", -1, false},
    {"jws/4_4.hmac-sha2_integrity_protection.json", -1, true},
    {"jws/4_6.protecting_specific_header_fields.json", -1, true},
    {"jws/4_7.protecting_content_only.json", -1, true},
    {"jws/4_8.multiple_signatures.json", 0, true},
    {"jws/4_8.multiple_signatures.json", 1, false},
    {"jws/4_8.multiple_signatures.json", 2, true},
    {"curve25519/jws.json", -1, true},
};

static void test_cookbook_signature_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof COOKBOOK / sizeof COOKBOOK[0]; i++) {
        const cookbook_sig *c = &COOKBOOK[i];
        char rel[160];
        json_t *doc, *input, *signing, *jwk, *alg_v;
        const char *input_s;
        unsigned char *want, *got = NULL;
        size_t want_len = 0, got_len = 0;
        jwtd_key *key = NULL;
        jwtd_alg alg;

        snprintf(rel, sizeof rel, "jose-cookbook/%s", c->file);
        doc = vec_json(rel);
        assert_non_null(doc);
        input = json_object_get(doc, "input");
        signing = json_object_get(doc, "signing");
        jwk = json_object_get(input, "key");
        alg_v = json_object_get(input, "alg");
        if (c->index >= 0) {
            signing = json_array_get(signing, (size_t)c->index);
            jwk = json_array_get(jwk, (size_t)c->index);
            alg_v = json_array_get(alg_v, (size_t)c->index);
        }
        alg = jwtd_alg_from_name(json_string_value(alg_v), json_string_length(alg_v));
        input_s = json_string_value(json_object_get(signing, "sig-input"));
        want = vec_unb64url(json_string_value(json_object_get(signing, "sig")), &want_len);
        assert_non_null(input_s);
        assert_non_null(want);
        assert_err(JWTD_OK, vec_key_from_json(jwk, 0, &key));

        assert_err(JWTD_OK, jose_sig_verify(key, alg, (const unsigned char *)input_s,
                                            strlen(input_s), want, want_len));
        assert_err(JWTD_OK, jose_sig_sign(key, alg, (const unsigned char *)input_s, strlen(input_s),
                                          &got, &got_len));
        if (c->deterministic) {
            assert_int_equal(got_len, want_len);
            assert_memory_equal(got, want, want_len);
        } else {
            assert_err(JWTD_OK, jose_sig_verify(key, alg, (const unsigned char *)input_s,
                                                strlen(input_s), got, got_len));
        }
        printf("ok %s%s: signature over sig-input %s\n", rel,
               c->index >= 0 ? " (one of its signatures)" : "",
               c->deterministic ? "reproduced byte for byte" : "verified; a fresh one verifies");
        free(got);
        free(want);
        jwtd_key_free(key);
        json_decref(doc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_sha256),     cmocka_unit_test(test_hmac_sha384),
        cmocka_unit_test(test_hmac_sha512),     cmocka_unit_test(test_ecdsa_p256),
        cmocka_unit_test(test_ecdsa_p384),      cmocka_unit_test(test_ecdsa_p521),
        cmocka_unit_test(test_rsa_2048_sha256), cmocka_unit_test(test_rsa_3072_sha384),
        cmocka_unit_test(test_rsa_4096_sha512), cmocka_unit_test(test_pss_2048_sha256),
        cmocka_unit_test(test_pss_4096_sha384), cmocka_unit_test(test_pss_4096_sha512),
        cmocka_unit_test(test_ed25519),         cmocka_unit_test(test_cookbook_signature_bytes),
    };
    return cmocka_run_group_tests_name("vectors.primitives", tests, NULL, NULL);
}
