/* C2SP CCTV Ed25519 edge cases (cctv-ed25519/ed25519vectors.json), each through three
 * verifiers: OpenSSL's EVP (libjwtd's Ed25519 backend until issue 11), libsodium's
 * crypto_sign_ed25519_verify_detached (its backend since), and libjwtd itself — the key from a
 * public OKP JWK, the signature through jose_sig_verify, the EdDSA primitive of the JWS verify
 * path (the messages are not JWS signing inputs, hence internal.h).
 *
 * This is a characterization, not a conformance test: every vector is a signature some
 * Ed25519 verifier accepts, and verifiers legitimately differ. What is pinned is every
 * decision of each verifier, in cctv_ed25519_expected.txt (one line per vector: number,
 * OpenSSL, libsodium, libjwtd), so that a change of backend or library version cannot change
 * an accept/reject decision silently. After a deliberate change, rewrite the table with
 *   build/tests/vectors/vectors_cctv_ed25519 --write tests/vectors/cctv_ed25519_expected.txt
 * and explain the diff (docs/LIBRARY.md, "Ed25519 verification rules").
 *
 * The table is also checked against rules derived from the code, so that it is understood and
 * not only recorded:
 *  - OpenSSL 3.0 (ossl_ed25519_verify) recomputes R' = [S]B - [k]A and compares the canonical
 *    encoding of R' with the received R bytes, so a non-canonical R never verifies; the equation
 *    is cofactorless (low_order_residue fails); k = SHA-512(R || A || M) over the bytes as
 *    received (reencoded_k fails, except that with a low-order A, [k]A takes at most 8 values
 *    and all 10 such CCTV vectors verify, observed on OpenSSL 3.0); A is decoded with y reduced
 *    mod p and no order check, so low-order A or R and non-canonical A are otherwise accepted.
 *  - libsodium 1.0.18 does the same computation, but first refuses a non-canonical S, a
 *    small-order R, a non-canonical A and a small-order A (open.c). Its small-order blocklist
 *    holds the non-canonical encodings of those points too. Observed once by timing (issue 11):
 *    a non-canonical encoding of a point that is not of small order (y = 3 + p) is refused in
 *    0.2 us against 42 us for its canonical encoding, i.e. before any curve arithmetic.
 *    Mixed-order points (low_order_component_A/R alone) are accepted by both: the cofactorless
 *    equation holds for them, and neither library checks the prime-order subgroup.
 * A non-canonical S (S + L) is refused by both; no CCTV vector has one, so one is made here
 * from RFC 8032's test 1, beside that vector itself, which all three accept. */
#include <errno.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <sodium.h>
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
#define CCTV_MAX 2048 /* vectors the table may hold */

static const char *const FLAGS[] = {
    "low_order_A",           "low_order_R",           "non_canonical_A",   "non_canonical_R",
    "low_order_component_A", "low_order_component_R", "low_order_residue", "reencoded_k",
};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])

enum { V_OPENSSL, V_SODIUM, V_JWTD, NVERIFIERS };
static const char *const VERIFIERS[NVERIFIERS] = {"openssl", "libsodium", "jwtd"};

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

/* The rules of the header comment. */
static bool openssl_rule(const json_t *vec)
{
    if (has_flag(vec, "non_canonical_R") || has_flag(vec, "low_order_residue"))
        return false;
    return !has_flag(vec, "reencoded_k") || has_flag(vec, "low_order_A");
}

static bool sodium_rule(const json_t *vec)
{
    return openssl_rule(vec) && !has_flag(vec, "low_order_A") && !has_flag(vec, "low_order_R") &&
           !has_flag(vec, "non_canonical_A");
}

static bool openssl_verify(const unsigned char *pk, const unsigned char *msg, size_t msg_len,
                           const unsigned char *sig, size_t sig_len)
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    bool ok = pkey != NULL && m != NULL && EVP_DigestVerifyInit(m, NULL, NULL, NULL, pkey) == 1 &&
              EVP_DigestVerify(m, sig, sig_len, msg, msg_len) == 1;

    EVP_MD_CTX_free(m);
    EVP_PKEY_free(pkey);
    return ok;
}

/* libjwtd: a public OKP JWK for the raw key, then the signature primitive. A key refused at
 * construction is a rejection too, but it must be a clean one. */
static bool jwtd_verify_raw(vec_tally *t, const char *id, const unsigned char *pk,
                            const unsigned char *msg, size_t msg_len, const unsigned char *sig,
                            size_t sig_len)
{
    char *x = vec_b64url(pk, 32), jwk[160];
    jwtd_key *key = NULL;
    jwtd_err rc;
    int n;

    assert_non_null(x);
    n = snprintf(jwk, sizeof jwk, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}", x);
    free(x);
    assert_true(n > 0 && (size_t)n < sizeof jwk);
    rc = jwtd_key_from_jwk(jwk, (size_t)n, 0, &key);
    if (rc != JWTD_OK) {
        if (!vec_is_rejection(rc))
            vec_fail(t, id, "key construction failed with %s", jwtd_err_name(rc));
        return false;
    }
    rc = jose_sig_verify(key, JWTD_ALG_EDDSA, msg, msg_len, sig, sig_len);
    if (rc != JWTD_OK && rc != JWTD_ERR_INVALID_SIGNATURE)
        vec_fail(t, id, "verify failed with %s", jwtd_err_name(rc));
    jwtd_key_free(key);
    return rc == JWTD_OK;
}

static void decide(vec_tally *t, const char *id, const unsigned char *pk, const unsigned char *msg,
                   size_t msg_len, const unsigned char *sig, size_t sig_len, bool got[NVERIFIERS])
{
    got[V_OPENSSL] = openssl_verify(pk, msg, msg_len, sig, sig_len);
    got[V_SODIUM] = sig_len == crypto_sign_ed25519_BYTES &&
                    crypto_sign_ed25519_verify_detached(sig, msg, msg_len, pk) == 0;
    got[V_JWTD] = jwtd_verify_raw(t, id, pk, msg, msg_len, sig, sig_len);
}

static const char *word(bool accept) { return accept ? "accept" : "reject"; }

/* The committed table: decisions[number][verifier]; 0 reject, 1 accept, -1 no line. */
static int table[CCTV_MAX][NVERIFIERS];

static void read_table(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[128], w[NVERIFIERS][16], *end;
    unsigned long number;

    if (f == NULL)
        fail_msg("cannot read %s", path);
    memset(table, 0xff, sizeof table);
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        errno = 0;
        number = strtoul(line, &end, 10);
        if (end == line || errno != 0 || number >= CCTV_MAX ||
            sscanf(end, "%15s %15s %15s", w[0], w[1], w[2]) != 3)
            fail_msg("%s: bad line: %s", path, line);
        for (int v = 0; v < NVERIFIERS; v++) {
            if (strcmp(w[v], "accept") != 0 && strcmp(w[v], "reject") != 0)
                fail_msg("%s: bad decision: %s", path, line);
            table[number][v] = strcmp(w[v], "accept") == 0;
        }
    }
    fclose(f);
}

static void flags_string(const json_t *vec, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t f = 0; f < NFLAGS; f++) {
        if (has_flag(vec, FLAGS[f])) {
            strncat(buf, " ", cap - strlen(buf) - 1);
            strncat(buf, FLAGS[f], cap - strlen(buf) - 1);
        }
    }
}

/* Every vector through the three verifiers; with out != NULL the table is written instead of
 * compared. */
static void run_cctv(FILE *out)
{
    json_t *doc = vec_json(CCTV), *vec;
    unsigned accepted[NVERIFIERS] = {0}, changed = 0;
    unsigned flag_total[NFLAGS] = {0}, flag_accepted[NFLAGS][NVERIFIERS] = {{0}};
    vec_tally t = {.file = CCTV};
    size_t i;

    assert_non_null(doc);
    assert_true(json_is_array(doc));
    assert_true(json_array_size(doc) <= CCTV_MAX);
    if (out != NULL)
        fprintf(out,
                "# Decisions on %s (tests/vectors/test_cctv_ed25519.c):\n"
                "# number openssl libsodium jwtd. Rewrite with --write, explain the diff.\n",
                CCTV);
    else
        read_table(JWTD_CCTV_TABLE);
    json_array_foreach(doc, i, vec) {
        long long number = json_integer_value(json_object_get(vec, "number"));
        const char *msg = json_string_value(json_object_get(vec, "msg"));
        size_t pk_len = 0, sig_len = 0;
        unsigned char *pk = vec_hex(json_string_value(json_object_get(vec, "key")), &pk_len);
        unsigned char *sig = vec_hex(json_string_value(json_object_get(vec, "sig")), &sig_len);
        bool got[NVERIFIERS], rule[NVERIFIERS];
        char id[48], flags[256];
        unsigned bad = 0;

        assert_non_null(pk);
        assert_non_null(sig);
        assert_non_null(msg);
        assert_int_equal(pk_len, 32);
        assert_true(number >= 0 && number < CCTV_MAX);
        t.total++;
        snprintf(id, sizeof id, "number %lld", number);
        flags_string(vec, flags, sizeof flags);
        decide(&t, id, pk, (const unsigned char *)msg, strlen(msg), sig, sig_len, got);
        if (out != NULL)
            fprintf(out, "%lld %s %s %s\n", number, word(got[0]), word(got[1]), word(got[2]));
        rule[V_OPENSSL] = openssl_rule(vec);
        rule[V_SODIUM] = rule[V_JWTD] = sodium_rule(vec);
        for (int v = 0; v < NVERIFIERS; v++) {
            if (out == NULL && table[number][v] != (int)got[v]) {
                vec_fail(&t, id, "%s: the table says %s, it decided %s (flags:%s)", VERIFIERS[v],
                         table[number][v] < 0 ? "nothing" : word(table[number][v] == 1),
                         word(got[v]), flags);
                bad++;
            }
            if (rule[v] != got[v]) {
                vec_fail(&t, id, "%s: the rule says %s, it decided %s (flags:%s)", VERIFIERS[v],
                         word(rule[v]), word(got[v]), flags);
                bad++;
            }
            accepted[v] += got[v];
        }
        if (json_array_size(json_object_get(vec, "flags")) == 0 && !(got[0] && got[1] && got[2]))
            vec_fail(&t, id, "the flag-free vector every implementation accepts was rejected");
        changed += got[V_OPENSSL] != got[V_JWTD];
        if (bad == 0)
            got[V_JWTD] ? t.valid_ok++ : t.invalid_ok++;
        for (size_t f = 0; f < NFLAGS; f++) {
            if (has_flag(vec, FLAGS[f])) {
                flag_total[f]++;
                for (int v = 0; v < NVERIFIERS; v++)
                    flag_accepted[f][v] += got[v];
            }
        }
        free(sig);
        free(pk);
    }

    printf("%s: accepted by openssl %u, libsodium %u, jwtd %u of %zu; %u decisions differ "
           "between OpenSSL and jwtd\n",
           CCTV, accepted[0], accepted[1], accepted[2], json_array_size(doc), changed);
    printf("  %-22s %8s %8s %9s %5s\n", "flag", "vectors", "openssl", "libsodium", "jwtd");
    for (size_t f = 0; f < NFLAGS; f++)
        printf("  %-22s %8u %8u %9u %5u\n", FLAGS[f], flag_total[f], flag_accepted[f][0],
               flag_accepted[f][1], flag_accepted[f][2]);
    vec_tally_print(&t);
    assert_int_equal(t.total, json_array_size(doc));
    json_decref(doc);
    assert_int_equal(t.failed, 0);
}

static void test_cctv_ed25519(void **state)
{
    (void)state;
    run_cctv(NULL);
}

/* RFC 8032 §7.1 test 1 (empty message), and the same signature with S + L in place of S. */
static void test_non_canonical_s(void **state)
{
    static const char *const pk_hex =
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    static const char *const sig_hex =
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701"
        "cf9b46bd25bf5f0595bbe24655141438e7a100b";
    static const unsigned char order[32] = {/* L, little-endian */
                                            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                            0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
    size_t pk_len, sig_len;
    unsigned char *pk = vec_hex(pk_hex, &pk_len), *sig = vec_hex(sig_hex, &sig_len);
    vec_tally t = {.file = "RFC 8032 test 1"};
    bool got[NVERIFIERS];

    (void)state;
    assert_non_null(pk);
    assert_non_null(sig);
    assert_int_equal(sig_len, 64);
    decide(&t, "S", pk, (const unsigned char *)"", 0, sig, sig_len, got);
    for (int v = 0; v < NVERIFIERS; v++)
        assert_true(got[v]);
    sodium_add(sig + 32, order, 32); /* S + L < 2^253: still 32 bytes, same S mod L */
    decide(&t, "S + L", pk, (const unsigned char *)"", 0, sig, sig_len, got);
    for (int v = 0; v < NVERIFIERS; v++) {
        if (got[v])
            fail_msg("%s accepted the non-canonical S + L", VERIFIERS[v]);
    }
    assert_int_equal(t.failed, 0);
    free(sig);
    free(pk);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cctv_ed25519),
        cmocka_unit_test(test_non_canonical_s),
    };

    if (sodium_init() < 0)
        return 1;
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        FILE *out = fopen(argv[2], "w");
        if (out == NULL) {
            perror(argv[2]);
            return 1;
        }
        run_cctv(out);
        return fclose(out) == 0 ? 0 : 1;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: vectors_cctv_ed25519 [--write TABLE]\n");
        return 2;
    }
    return cmocka_run_group_tests_name("vectors.cctv_ed25519", tests, NULL, NULL);
}
