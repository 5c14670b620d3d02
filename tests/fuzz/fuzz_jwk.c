/* libFuzzer harness for JWK and JWKS parsing: jwtd_key_from_jwk and jwtd_keyset_from_jwks, then the
 * export round trips (public JWK, private JWK, PEM), which must re-import to the same key (same
 * RFC 7638 thumbprint), and kid lookup in a parsed set. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwtd/jwtd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_jwk: %s\n", what);
    abort();
}

typedef jwtd_err (*key_parser)(const char *text, size_t len, unsigned flags, jwtd_key **out);

/* Re-imports an export of `key` and checks that it is the same key. */
static void check_reimport(const jwtd_key *key, const char *text, key_parser parse, unsigned flags,
                           bool want_private, const char *what)
{
    jwtd_key *again = NULL;
    if (parse(text, strlen(text), flags, &again) != JWTD_OK) {
        fprintf(stderr, "fuzz_jwk: %s export did not re-import\n", what);
        fail("round trip");
    }
    char t1[JWTD_THUMBPRINT_B64_LEN + 1], t2[JWTD_THUMBPRINT_B64_LEN + 1];
    if (jwtd_key_kty(again) != jwtd_key_kty(key) || jwtd_key_is_private(again) != want_private ||
        jwtd_key_bits(again) != jwtd_key_bits(key))
        fail("re-imported key differs in kind, privacy or size");
    jwtd_err r1 = jwtd_key_thumbprint(key, t1), r2 = jwtd_key_thumbprint(again, t2);
    if (r1 != r2 || (r1 == JWTD_OK && strcmp(t1, t2) != 0)) {
        fprintf(stderr, "fuzz_jwk: %s export changed the thumbprint\n", what);
        fail("round trip");
    }
    jwtd_key_free(again);
}

static void check_key(const jwtd_key *key, unsigned flags)
{
    char tp[JWTD_THUMBPRINT_B64_LEN + 1];
    (void)jwtd_key_kid(key);
    (void)jwtd_key_alg(key);
    (void)jwtd_key_curve(key);
    if (jwtd_key_thumbprint(key, tp) == JWTD_OK && strlen(tp) != JWTD_THUMBPRINT_B64_LEN)
        fail("thumbprint of the wrong length");
    for (int a = JWTD_ALG_UNKNOWN; a < JWTD_ALG_COUNT; a++)
        (void)jwtd_key_fits_alg(key, (jwtd_alg)a);

    char *text = NULL;
    if (jwtd_key_private_jwk(key, &text) == JWTD_OK) {
        check_reimport(key, text, jwtd_key_from_jwk, flags, true, "private JWK");
        jwtd_free(text);
    } else if (jwtd_key_is_private(key)) {
        fail("private key without a private JWK");
    }
    if (jwtd_key_kty(key) == JWTD_KTY_OCT)
        return;
    text = NULL;
    if (jwtd_key_public_jwk(key, &text) != JWTD_OK)
        fail("asymmetric key without a public JWK");
    check_reimport(key, text, jwtd_key_from_jwk, flags, false, "public JWK");
    jwtd_free(text);
    text = NULL;
    if (jwtd_key_public_pem(key, &text) != JWTD_OK)
        fail("asymmetric key without a public PEM");
    check_reimport(key, text, jwtd_key_from_pem, flags, false, "public PEM");
    jwtd_free(text);
    if (jwtd_key_is_private(key)) {
        text = NULL;
        if (jwtd_key_private_pem(key, &text) != JWTD_OK)
            fail("private key without a private PEM");
        check_reimport(key, text, jwtd_key_from_pem, flags, true, "private PEM");
        jwtd_free(text);
    }
}

static void check_set(const jwtd_keyset *set)
{
    size_t n = jwtd_keyset_count(set), asym = 0;
    if (n > JWTD_MAX_JWKS_KEYS)
        fail("keyset larger than JWTD_MAX_JWKS_KEYS");
    for (size_t i = 0; i < n; i++) {
        const jwtd_key *k = jwtd_keyset_get(set, i);
        if (!k)
            fail("keyset_get returned NULL inside the count");
        const char *kid = jwtd_key_kid(k);
        if (kid) {
            const jwtd_key *found = jwtd_keyset_find(set, kid, strlen(kid));
            if (!found || !jwtd_key_kid(found) || strcmp(jwtd_key_kid(found), kid) != 0)
                fail("keyset_find does not find a member's kid");
        }
        asym += jwtd_key_kty(k) != JWTD_KTY_OCT;
    }
    char *jwks = NULL;
    if (jwtd_keyset_public_jwks(set, &jwks) != JWTD_OK)
        fail("public_jwks failed on a parsed set");
    if (asym > 0) {
        jwtd_keyset *again = NULL;
        if (jwtd_keyset_from_jwks(jwks, strlen(jwks), 0, &again) != JWTD_OK ||
            jwtd_keyset_count(again) != asym)
            fail("public JWKS did not re-import with the same asymmetric keys");
        jwtd_keyset_free(again);
    }
    jwtd_free(jwks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    static const unsigned flag_sets[] = {0, JWTD_KEY_ALLOW_WEAK};
    for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0]; i++) {
        jwtd_key *key = NULL;
        if (jwtd_key_from_jwk(in, size, flag_sets[i], &key) == JWTD_OK) {
            check_key(key, flag_sets[i]);
            jwtd_key_free(key);
        }
    }
    jwtd_keyset *set = NULL;
    if (jwtd_keyset_from_jwks(in, size, 0, &set) == JWTD_OK) {
        check_set(set);
        jwtd_keyset_free(set);
    }
    return 0;
}
