/* Unit tests for the internal canonical base64url codec (src/jose/b64.c): RFC 4648 §10
 * vectors in their URL-safe, unpadded form, refusal of every non-canonical spelling and
 * the capacity rule, run against both decoders (libsodium's and the EVP one used for token
 * bytes), plus a differential test that they agree byte for byte on random input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct b64_vector {
    const char *bin; /* raw bytes (may hold non-ASCII) */
    size_t bin_len;
    const char *enc;
};

/* RFC 4648 §10 plus bytes that land on the two URL-safe digits (62 '-', 63 '_'). */
static const struct b64_vector vectors[] = {
    {"", 0, ""},
    {"f", 1, "Zg"},
    {"fo", 2, "Zm8"},
    {"foo", 3, "Zm9v"},
    {"foob", 4, "Zm9vYg"},
    {"fooba", 5, "Zm9vYmE"},
    {"foobar", 6, "Zm9vYmFy"},
    {"\xfb\xef\xbe", 3, "----"},
    {"\xff\xff\xff", 3, "____"},
    {"\xfb\xff", 2, "-_8"},
    {"\x00", 1, "AA"},
    {"\x00\x00\x00", 3, "AAAA"},
};

static void test_vectors_encode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const struct b64_vector *t = &vectors[i];
        char buf[64];
        char *dyn;

        assert_int_equal(jose_b64url_encoded_len(t->bin_len), strlen(t->enc));
        memset(buf, 'X', sizeof buf);
        jose_b64url_encode((const unsigned char *)t->bin, t->bin_len, buf);
        assert_string_equal(buf, t->enc);

        dyn = jose_b64url_encode_alloc((const unsigned char *)t->bin, t->bin_len);
        assert_non_null(dyn);
        assert_string_equal(dyn, t->enc);
        free(dyn);
    }
}

typedef int (*decode_fn)(const char *in, size_t in_len, unsigned char *out, size_t cap,
                         size_t *out_len);
typedef unsigned char *(*decode_alloc_fn)(const char *in, size_t in_len, size_t *out_len);

static const struct decoder {
    const char *name;
    decode_fn dec;
    decode_alloc_fn alloc;
} decoders[] = {
    {"sodium", jose_b64url_decode, jose_b64url_decode_alloc},
    {"public", jose_b64url_decode_public, jose_b64url_decode_public_alloc},
};
#define N_DECODERS (sizeof decoders / sizeof decoders[0])

static void check_vectors_with(const struct decoder *d)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const struct b64_vector *t = &vectors[i];
        size_t enc_len = strlen(t->enc);
        unsigned char buf[64];
        unsigned char *dyn;
        size_t n = 999;

        assert_int_equal(jose_b64url_decoded_len(enc_len), t->bin_len);
        assert_int_equal(d->dec(t->enc, enc_len, buf, sizeof buf, &n), 0);
        assert_int_equal(n, t->bin_len);
        if (n > 0)
            assert_memory_equal(buf, t->bin, n);

        n = 999;
        dyn = d->alloc(t->enc, enc_len, &n);
        assert_non_null(dyn);
        assert_int_equal(n, t->bin_len);
        if (n > 0)
            assert_memory_equal(dyn, t->bin, n);
        free(dyn);
    }
}

static void test_vectors_decode(void **state)
{
    (void)state;
    for (size_t d = 0; d < N_DECODERS; d++)
        check_vectors_with(&decoders[d]);
}

/* Every input here decodes to something under a lenient decoder; a canonical one refuses. */
static const struct {
    const char *why;
    const char *enc;
    size_t len; /* 0: strlen(enc) */
} rejected[] = {
    {"padding, 2 chars", "Zg==", 0},
    {"padding, 1 char", "Zm8=", 0},
    {"padding on a full quantum", "Zm9v====", 0},
    {"lone padding", "=", 0},
    {"'+' (standard alphabet)", "++++", 0},
    {"'/' (standard alphabet)", "////", 0},
    {"'+' mixed in", "Zm9v+A", 0},
    {"'/' mixed in", "Zm9/", 0},
    {"inner space", "Zm 9v", 0},
    {"leading space", " Zm9v", 0},
    {"trailing newline", "Zm9v\n", 0},
    {"CRLF inside", "Zm9v\r\nYmFy", 0},
    {"tab", "Zm9v\tYg", 0},
    {"non-zero trailing bits, len%4==2 ('Zh')", "Zh", 0},
    {"non-zero trailing bits, len%4==2 ('Zv')", "Zv", 0},
    {"non-zero trailing bits, len%4==3 ('Zm9')", "Zm9", 0},
    {"non-zero trailing bits, len%4==3 ('-_9')", "-_9", 0},
    {"length 1", "Z", 0},
    {"length 5 (1 mod 4)", "Zm9vY", 0},
    {"length 9 (1 mod 4)", "Zm9vYmFyZ", 0},
    {"embedded NUL", "Zm\0v", 4},
    {"non-ASCII byte", "Zm\xc3\xa9", 0},
    {"dot", "Zm9.", 0},
};

static void test_non_canonical_rejected(void **state)
{
    (void)state;
    int failures = 0;

    for (size_t d = 0; d < N_DECODERS; d++) {
        for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
            size_t len = rejected[i].len != 0 ? rejected[i].len : strlen(rejected[i].enc);
            unsigned char buf[64];
            size_t n = 0;
            unsigned char *dyn;

            if (decoders[d].dec(rejected[i].enc, len, buf, sizeof buf, &n) != -1) {
                print_error("%s decode accepted non-canonical input: %s\n", decoders[d].name,
                            rejected[i].why);
                failures++;
            }
            dyn = decoders[d].alloc(rejected[i].enc, len, &n);
            if (dyn != NULL) {
                print_error("%s decode_alloc accepted non-canonical input: %s\n", decoders[d].name,
                            rejected[i].why);
                failures++;
                free(dyn);
            }
        }
    }
    assert_int_equal(failures, 0);
}

/* Each of these is the canonical spelling with one trailing-bit flip: it proves the
 * rejection above is about the bits and not about the characters themselves. */
static void test_trailing_bits_controls(void **state)
{
    unsigned char buf[8];
    size_t n;

    (void)state;
    for (size_t d = 0; d < N_DECODERS; d++) {
        assert_int_equal(decoders[d].dec("Zg", 2, buf, sizeof buf, &n), 0);
        assert_int_equal(decoders[d].dec("Zh", 2, buf, sizeof buf, &n), -1);
        assert_int_equal(decoders[d].dec("Zm8", 3, buf, sizeof buf, &n), 0);
        assert_int_equal(decoders[d].dec("Zm9", 3, buf, sizeof buf, &n), -1);
    }
}

static void test_capacity(void **state)
{
    unsigned char buf[8];
    size_t n = 0;

    (void)state;
    for (size_t d = 0; d < N_DECODERS; d++) {
        decode_fn dec = decoders[d].dec;

        /* "foobar": 6 bytes. Exactly 6 fits, 5 does not. */
        assert_int_equal(dec("Zm9vYmFy", 8, buf, 6, &n), 0);
        assert_int_equal(n, 6);
        assert_memory_equal(buf, "foobar", 6);
        assert_int_equal(dec("Zm9vYmFy", 8, buf, 5, &n), -1);
        /* Partial last quantum: "fooba" needs 5. */
        assert_int_equal(dec("Zm9vYmE", 7, buf, 5, &n), 0);
        assert_int_equal(n, 5);
        assert_int_equal(dec("Zm9vYmE", 7, buf, 4, &n), -1);
        assert_int_equal(dec("Zg", 2, buf, 0, &n), -1);
        /* Empty input fits in zero bytes. */
        n = 7;
        assert_int_equal(dec("", 0, buf, 0, &n), 0);
        assert_int_equal(n, 0);
    }
}

static void test_length_formulas(void **state)
{
    (void)state;
    /* Unpadded: 4 chars per 3 bytes, then 2 for 1 byte, 3 for 2 bytes. */
    assert_int_equal(jose_b64url_encoded_len(0), 0);
    assert_int_equal(jose_b64url_encoded_len(1), 2);
    assert_int_equal(jose_b64url_encoded_len(2), 3);
    assert_int_equal(jose_b64url_encoded_len(32), 43);
    assert_int_equal(jose_b64url_encoded_len(64), 86);
    assert_int_equal(jose_b64url_encoded_len(132), 176);
    assert_int_equal(jose_b64url_decoded_len(43), 32);
    assert_int_equal(jose_b64url_decoded_len(86), 64);
    assert_int_equal(jose_b64url_decoded_len(176), 132);
}

/* Round trip of every length 0..1200 (past the public decoder's 512-character chunks) with
 * random content, compared against libsodium's own URL-safe encoder. */
static void test_round_trip(void **state)
{
    enum { MAX = 1200 };
    unsigned char *bin = malloc(MAX), *back = malloc(MAX);
    char *enc = malloc(2 * MAX), *ref = malloc(2 * MAX);

    (void)state;
    assert_true(bin && back && enc && ref);
    assert_true(sodium_init() >= 0);
    for (size_t len = 0; len <= MAX; len++) {
        randombytes_buf(bin, len);
        jose_b64url_encode(bin, len, enc);
        sodium_bin2base64(ref, 2 * MAX, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        assert_string_equal(enc, ref);
        assert_null(strchr(enc, '='));
        for (size_t d = 0; d < N_DECODERS; d++) {
            size_t n = 0;

            assert_int_equal(decoders[d].dec(enc, strlen(enc), back, len, &n), 0);
            assert_int_equal(n, len);
            if (len > 0)
                assert_memory_equal(back, bin, len);
        }
    }
    free(bin);
    free(back);
    free(enc);
    free(ref);
}

/* A flaw past the first chunk is still seen: one bad character at every position of a
 * 1100-character encoding, and bad trailing bits at its end. */
static void test_long_input_rejections(void **state)
{
    enum { BIN = 824 }; /* 824 bytes: 1099 characters, len % 4 == 3 */
    static const char bad[] = {'+', '/', '=', ' ', '\n', '.', '\x80', '\xff', '\0'};
    unsigned char bin[BIN], out[BIN];
    char enc[1200];
    size_t len, n;

    (void)state;
    randombytes_buf(bin, sizeof bin);
    jose_b64url_encode(bin, sizeof bin, enc);
    len = strlen(enc);
    assert_int_equal(len % 4, 3);
    for (size_t d = 0; d < N_DECODERS; d++) {
        assert_int_equal(decoders[d].dec(enc, len, out, sizeof out, &n), 0);
        for (size_t pos = 0; pos < len; pos += 37) {
            for (size_t b = 0; b < sizeof bad; b++) {
                char saved = enc[pos];

                enc[pos] = bad[b];
                if (decoders[d].dec(enc, len, out, sizeof out, &n) != -1)
                    fail_msg("%s accepted 0x%02x at %zu of %zu", decoders[d].name,
                             (unsigned char)bad[b], pos, len);
                enc[pos] = saved;
            }
        }
        {
            char saved = enc[len - 1];
            static const char alphabet[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            size_t idx = (size_t)(strchr(alphabet, saved) - alphabet);

            enc[len - 1] = alphabet[idx | 1];
            assert_int_equal(decoders[d].dec(enc, len, out, sizeof out, &n), -1);
            enc[len - 1] = saved;
        }
    }
}

/* Differential: random short strings over the alphabet plus the usual intruders. Both
 * decoders give the same verdict and bytes, and whatever is accepted re-encodes to exactly
 * the input (the definition of canonical). */
static void test_decoders_agree(void **state)
{
    static const char pool[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                               "+/= .\n\t\x80\xc3\xff\x7f";
    char in[48], re[80];
    unsigned char o1[48], o2[48];
    int accepted = 0;

    (void)state;
    for (int iter = 0; iter < 50000; iter++) {
        size_t len = randombytes_uniform(sizeof in), n1 = 0, n2 = 0;
        int r1, r2;

        for (size_t i = 0; i < len; i++)
            in[i] = pool[randombytes_uniform(sizeof pool - 1)];
        r1 = jose_b64url_decode(in, len, o1, sizeof o1, &n1);
        r2 = jose_b64url_decode_public(in, len, o2, sizeof o2, &n2);
        if (r1 != r2)
            fail_msg("decoders disagree on \"%.*s\": sodium %d, public %d", (int)len, in, r1, r2);
        if (r1 != 0)
            continue;
        accepted++;
        assert_int_equal(n1, n2);
        if (n1 > 0)
            assert_memory_equal(o1, o2, n1);
        jose_b64url_encode(o1, n1, re);
        if (strlen(re) != len || memcmp(re, in, len) != 0)
            fail_msg("accepted non-canonical \"%.*s\" (re-encodes as %s)", (int)len, in, re);
    }
    /* The pool is mostly alphabet: a good share of inputs must have been valid, or this
     * test compared nothing but rejections. */
    assert_true(accepted > 1000);
}

/* The public decoder against OpenSSL (issue 11: the direct decoder keeps a differential test
 * against OpenSSL): the reference translates base64url to the standard alphabet, pads, decodes
 * with EVP_DecodeBlock, and calls the input canonical when EVP_EncodeBlock gives it back.
 * Longer inputs than test_decoders_agree, so that many full groups come before the tail. */
static int openssl_reference(const char *in, size_t len, unsigned char *out, size_t *n)
{
    static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char padded[320], again[320];
    size_t plen = (len + 3) / 4 * 4, pads = plen - len;

    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        const char *at = in[i] != '\0' ? strchr(url, in[i]) : NULL;
        if (at == NULL)
            return -1;
        padded[i] = (unsigned char)std[at - url];
    }
    memset(padded + len, '=', pads);
    if (plen == 0) {
        *n = 0;
        return 0;
    }
    int got = EVP_DecodeBlock(out, padded, (int)plen);
    if (got != (int)(plen / 4 * 3))
        return -1;
    *n = (size_t)got - pads;
    EVP_EncodeBlock(again, out, (int)*n);
    return memcmp(again, padded, plen) == 0 ? 0 : -1;
}

static void test_public_matches_openssl(void **state)
{
    static const char pool[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                               "+/= .\n\t\x80\xc3\xff\x7f";
    char in[300];
    unsigned char o1[240], o2[240];
    int accepted = 0, refused = 0;

    (void)state;
    for (int iter = 0; iter < 40000; iter++) {
        size_t len = randombytes_uniform(sizeof in), n1 = 0, n2 = 0;
        /* Most inputs all alphabet (else nearly all long ones hold an intruder), some not. */
        uint32_t top = iter % 4 == 0 ? (uint32_t)(sizeof pool - 1) : 192;
        for (size_t i = 0; i < len; i++)
            in[i] = pool[randombytes_uniform(top)];
        if (iter % 8 == 1 && len > 0)
            in[randombytes_uniform((uint32_t)len)] =
                pool[192 + randombytes_uniform(sizeof pool - 193)];
        int r1 = openssl_reference(in, len, o1, &n1);
        int r2 = jose_b64url_decode_public(in, len, o2, sizeof o2, &n2);
        if (r1 != r2)
            fail_msg("OpenSSL %d, public %d on \"%.*s\"", r1, r2, (int)len, in);
        if (r1 != 0) {
            refused++;
            continue;
        }
        accepted++;
        assert_int_equal(n1, n2);
        if (n1 > 0)
            assert_memory_equal(o1, o2, n1);
    }
    /* Both verdicts must have been compared many times. */
    assert_true(accepted > 5000 && refused > 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_encode),
        cmocka_unit_test(test_vectors_decode),
        cmocka_unit_test(test_non_canonical_rejected),
        cmocka_unit_test(test_trailing_bits_controls),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_length_formulas),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_long_input_rejections),
        cmocka_unit_test(test_decoders_agree),
        cmocka_unit_test(test_public_matches_openssl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
