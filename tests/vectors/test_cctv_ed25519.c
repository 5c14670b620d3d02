/* C2SP CCTV Ed25519 edge cases (cctv-ed25519/ed25519vectors.json) through libjwtd: the key
 * from a public OKP JWK, the signature through jose_sig_verify (the EdDSA primitive of
 * the JWS verify path; the messages are not JWS signing inputs, hence internal.h).
 *
 * This is a characterization, not a conformance test: every vector is a signature some
 * Ed25519 verifier accepts, and verifiers legitimately differ. What is pinned is which
 * rules libjwtd (OpenSSL's ref10-derived verifier) follows, so that a change of backend
 * (e.g. to libsodium, which rejects low-order points) cannot slip in unnoticed. The
 * expectation was derived by reading OpenSSL's ossl_ed25519_verify, not by recording
 * outputs:
 *   - it recomputes R' = [S]B - [k]A and compares the canonical encoding of R' with the
 *     received R bytes, so a non-canonical R encoding never verifies (non_canonical_R);
 *   - the equation is cofactorless, so signatures that only satisfy the cofactored
 *     equation [8][S]B = [8]R + [8][k]A fail (low_order_residue);
 *   - k = SHA-512(R || A || M) over the bytes as received, so vectors whose k was computed
 *     over re-encoded (canonical) points fail (reencoded_k);
 *   - A is decoded with y reduced mod p and no order check, so low-order A or R,
 *     low-order components and non-canonical A encodings are otherwise accepted.
 * One refinement was observed rather than derived (OpenSSL 3.0.22, once): when A has low
 * order, [k]A takes at most 8 values, so hashing the received bytes instead of the
 * re-encoded ones need not change [k]A; all 10 reencoded_k vectors with a low-order A
 * (and neither non_canonical_R nor low_order_residue) verify. The flags cannot predict
 * this (it depends on k mod the order of A), so the rule states it as observed.
 * Accepted iff neither non_canonical_R nor low_order_residue is set, and reencoded_k is
 * not set unless low_order_A is. S >= L is rejected too, but no CCTV vector has a
 * non-canonical S. The vector with no flag at all is the one every implementation
 * accepts. */
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

#define CCTV "cctv-ed25519/ed25519vectors.json"

static const char *const FLAGS[] = {
    "low_order_A",           "low_order_R",           "non_canonical_A",   "non_canonical_R",
    "low_order_component_A", "low_order_component_R", "low_order_residue", "reencoded_k",
};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])

static bool has_flag(const json_t *vec, const char *flag)
{
    json_t *f;
    size_t i;

    json_array_foreach(json_object_get(vec, "flags"), i, f) {
        if (strcmp(json_string_value(f), flag) == 0)
            return true;
    }
    return false;
}

/* The rule of the header comment. */
static bool expected_accept(const json_t *vec)
{
    if (has_flag(vec, "non_canonical_R") || has_flag(vec, "low_order_residue"))
        return false;
    return !has_flag(vec, "reencoded_k") || has_flag(vec, "low_order_A");
}

/* A public OKP JWK for the raw 32-byte key. */
static jwtd_err okp_key(const unsigned char *pk, size_t len, jwtd_key **out)
{
    char *x = vec_b64url(pk, len), jwk[160];
    int n;

    assert_non_null(x);
    n = snprintf(jwk, sizeof jwk, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}", x);
    free(x);
    assert_true(n > 0 && (size_t)n < sizeof jwk);
    return jwtd_key_from_jwk(jwk, (size_t)n, 0, out);
}

static void test_cctv_ed25519(void **state)
{
    json_t *doc = vec_json(CCTV), *vec;
    unsigned flag_total[NFLAGS] = {0}, flag_accepted[NFLAGS] = {0};
    unsigned accepted = 0, keys_refused = 0;
    vec_tally t = {.file = CCTV};
    size_t i;

    (void)state;
    assert_non_null(doc);
    assert_true(json_is_array(doc));
    json_array_foreach(doc, i, vec) {
        long long number = json_integer_value(json_object_get(vec, "number"));
        const char *msg = json_string_value(json_object_get(vec, "msg"));
        size_t pk_len = 0, sig_len = 0;
        unsigned char *pk = vec_hex(json_string_value(json_object_get(vec, "key")), &pk_len);
        unsigned char *sig = vec_hex(json_string_value(json_object_get(vec, "sig")), &sig_len);
        bool want = expected_accept(vec), got;
        jwtd_key *key = NULL;
        jwtd_err key_rc, rc;
        char id[48];

        assert_non_null(pk);
        assert_non_null(sig);
        assert_non_null(msg);
        t.total++;
        snprintf(id, sizeof id, "number %lld", number);
        key_rc = okp_key(pk, pk_len, &key);
        if (key_rc != JWTD_OK) {
            /* A key refused at construction is a rejection too, but it must be a clean one. */
            keys_refused++;
            rc = key_rc;
            if (!vec_is_rejection(key_rc))
                vec_fail(&t, id, "key construction failed with %s", jwtd_err_name(key_rc));
        } else {
            rc = jose_sig_verify(key, JWTD_ALG_EDDSA, (const unsigned char *)msg, strlen(msg), sig,
                                 sig_len);
            if (rc != JWTD_OK && rc != JWTD_ERR_INVALID_SIGNATURE)
                vec_fail(&t, id, "verify failed with %s", jwtd_err_name(rc));
        }
        got = rc == JWTD_OK;
        if (got != want) {
            char flags[256] = "";
            for (size_t f = 0; f < NFLAGS; f++) {
                if (has_flag(vec, FLAGS[f])) {
                    strncat(flags, " ", sizeof flags - strlen(flags) - 1);
                    strncat(flags, FLAGS[f], sizeof flags - strlen(flags) - 1);
                }
            }
            vec_fail(&t, id, "expected %s, got %s (%s) flags:%s", want ? "accept" : "reject",
                     got ? "accept" : "reject", jwtd_err_name(rc), flags);
        } else if (got) {
            t.valid_ok++;
        } else {
            t.invalid_ok++;
        }
        accepted += got;
        for (size_t f = 0; f < NFLAGS; f++) {
            if (has_flag(vec, FLAGS[f])) {
                flag_total[f]++;
                flag_accepted[f] += got;
            }
        }
        if (json_array_size(json_object_get(vec, "flags")) == 0 && !got)
            vec_fail(&t, id, "the flag-free vector every implementation accepts was rejected");
        jwtd_key_free(key);
        free(sig);
        free(pk);
    }

    printf("%s: %u accepted, %zu rejected (%u of them at key construction)\n", CCTV, accepted,
           json_array_size(doc) - accepted, keys_refused);
    for (size_t f = 0; f < NFLAGS; f++)
        printf("  %-22s %4u vectors, %4u accepted\n", FLAGS[f], flag_total[f], flag_accepted[f]);
    vec_tally_print(&t);
    assert_int_equal(t.total, json_array_size(doc));
    json_decref(doc);
    assert_int_equal(t.failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cctv_ed25519),
    };
    return cmocka_run_group_tests_name("vectors.cctv_ed25519", tests, NULL, NULL);
}
