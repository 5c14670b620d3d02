/* libFuzzer harness for PEM keys and format detection: jwtd_key_from_pem (public/private, SPKI,
 * PKCS#8, PKCS#1, SEC1) with its PEM/JWK export round trips, and jwtd_keyset_parse (JWKS, JWK, PEM
 * or raw secret) over the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwtd/jwtd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_pem: %s\n", what);
    abort();
}

typedef jwtd_err (*key_parser)(const char *text, size_t len, unsigned flags, jwtd_key **out);

static void check_reimport(const jwtd_key *key, key_parser parse,
                           jwtd_err (*export)(const jwtd_key *, char **), unsigned flags,
                           bool want_private)
{
    char *text = NULL;
    if (export(key, &text) != JWTD_OK)
        fail("export failed on a parsed key");
    jwtd_key *again = NULL;
    if (parse(text, strlen(text), flags, &again) != JWTD_OK)
        fail("export did not re-import");
    char t1[JWTD_THUMBPRINT_B64_LEN + 1], t2[JWTD_THUMBPRINT_B64_LEN + 1];
    if (jwtd_key_kty(again) != jwtd_key_kty(key) || jwtd_key_is_private(again) != want_private ||
        jwtd_key_bits(again) != jwtd_key_bits(key) || jwtd_key_thumbprint(key, t1) != JWTD_OK ||
        jwtd_key_thumbprint(again, t2) != JWTD_OK || strcmp(t1, t2) != 0)
        fail("re-imported key differs");
    jwtd_key_free(again);
    jwtd_free(text);
}

static void check_pem_key(const jwtd_key *key, unsigned flags)
{
    if (jwtd_key_kty(key) == JWTD_KTY_OCT)
        fail("a PEM parsed into an HMAC secret");
    (void)jwtd_key_kid(key);
    (void)jwtd_key_curve(key);
    for (int a = JWTD_ALG_UNKNOWN; a < JWTD_ALG_COUNT; a++)
        (void)jwtd_key_fits_alg(key, (jwtd_alg)a);
    check_reimport(key, jwtd_key_from_pem, jwtd_key_public_pem, flags, false);
    check_reimport(key, jwtd_key_from_jwk, jwtd_key_public_jwk, flags, false);
    if (jwtd_key_is_private(key)) {
        check_reimport(key, jwtd_key_from_pem, jwtd_key_private_pem, flags, true);
        check_reimport(key, jwtd_key_from_jwk, jwtd_key_private_jwk, flags, true);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    static const unsigned flag_sets[] = {0, JWTD_KEY_ALLOW_WEAK};
    for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0]; i++) {
        jwtd_key *key = NULL;
        if (jwtd_key_from_pem(in, size, flag_sets[i], &key) == JWTD_OK) {
            check_pem_key(key, flag_sets[i]);
            jwtd_key_free(key);
        }
    }
    jwtd_keyset *set = NULL;
    if (jwtd_keyset_parse(data, size, 0, &set) == JWTD_OK) {
        size_t n = jwtd_keyset_count(set);
        if (n > JWTD_MAX_JWKS_KEYS)
            fail("keyset_parse returned an oversized set");
        for (size_t k = 0; k < n; k++) {
            const jwtd_key *key = jwtd_keyset_get(set, k);
            if (!key)
                fail("keyset_get returned NULL inside the count");
            (void)jwtd_key_bits(key);
            (void)jwtd_key_kid(key);
        }
        jwtd_keyset_free(set);
    }
    return 0;
}
