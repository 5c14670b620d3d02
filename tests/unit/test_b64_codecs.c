/* The two base64url decoders (constant-time libsodium for keys, OpenSSL tables for tokens)
 * and the two encoders must agree byte for byte on every input, valid or not: a token and a
 * key must never disagree about what is canonical. Random inputs from a fixed seed, biased
 * toward the characters that tempt a decoder (padding, '+', '/', space, high bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#define ROUNDS 300000

/* xorshift64: deterministic across libcs, unlike rand(). */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_decoders_agree(void **state)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static const char tempting[] = "+/= \n.\x80\xff";
    size_t valid = 0;

    (void)state;
    for (int it = 0; it < ROUNDS; it++) {
        char in[24];
        unsigned char a[24], b[24];
        size_t n = (size_t)(rng() % 20), la = 0, lb = 0;
        int ra, rb;

        for (size_t i = 0; i < n; i++)
            in[i] = (char)(rng() % 8 == 0 ? tempting[rng() % (sizeof tempting - 1)]
                                          : alphabet[rng() % 64]);
        ra = jose_b64url_decode(in, n, a, sizeof a, &la);
        rb = jose_b64url_decode_public(in, n, b, sizeof b, &lb);
        if (ra != rb || (ra == 0 && (la != lb || memcmp(a, b, la) != 0)))
            fail_msg("decoders disagree on %zu bytes \"%.*s\": %d vs %d", n, (int)n, in, ra, rb);
        valid += ra == 0;
    }
    /* Both outcomes must have been exercised for the agreement to mean anything. */
    assert_true(valid > ROUNDS / 20);
    assert_true(valid < ROUNDS - ROUNDS / 20);
}

/* libsodium 1.0.18 decodes bytes >= 0x80 as '_'; both decoders must refuse them. */
static void test_high_bytes_refused(void **state)
{
    unsigned char out[8];
    size_t n = 0;

    (void)state;
    for (int c = 0x80; c <= 0xff; c++) {
        char in[4] = {(char)c, '_', '0', 'G'};
        assert_int_equal(jose_b64url_decode(in, 4, out, sizeof out, &n), -1);
        assert_int_equal(jose_b64url_decode_public(in, 4, out, sizeof out, &n), -1);
    }
}

static void test_encoders_agree(void **state)
{
    unsigned char in[1600];
    char a[2200], b[2200];

    (void)state;
    for (int it = 0; it < 20000; it++) {
        size_t n = it < 400 ? (size_t)(rng() % sizeof in) : (size_t)(rng() % 40);
        for (size_t i = 0; i < n; i++)
            in[i] = (unsigned char)rng();
        memset(b, '#', sizeof b);
        jose_b64url_encode(in, n, a);
        jose_b64url_encode_public(in, n, b);
        assert_string_equal(a, b);
        assert_int_equal(strlen(b), jose_b64url_encoded_len(n));
        assert_int_equal(b[strlen(b) + 1], '#'); /* nothing written past the NUL */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoders_agree),
        cmocka_unit_test(test_high_bytes_refused),
        cmocka_unit_test(test_encoders_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
