/* Canonical base64url (RFC 4648 §5, no padding). "Canonical" means exactly one encoding
 * per byte string: '=' padding, '+', '/', white space and non-zero trailing bits are all
 * refused, by both decoders below, which must agree byte for byte (tests/unit/test_b64.c):
 *  - jose_b64url_decode: libsodium's constant-time codec, for key material (JWK members);
 *  - jose_b64url_decode_public: OpenSSL's table-driven EVP_DecodeBlock, for token bytes,
 *    which are public. Measured with callgrind on an HS256 verify: sodium spent ~32k
 *    instructions decoding the three segments, this path ~2k. */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define B64_CHUNK 512 /* characters translated per EVP_DecodeBlock call (multiple of 4) */

#include "internal.h"

size_t jose_b64url_decoded_len(size_t enc_len) { return enc_len / 4 * 3 + (enc_len % 4) * 3 / 4; }

size_t jose_b64url_encoded_len(size_t bin_len)
{
    return sodium_base64_ENCODED_LEN(bin_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1;
}

int jose_b64url_decode(const char *in, size_t in_len, unsigned char *out, size_t cap,
                       size_t *out_len)
{
    const char *end = NULL;
    size_t n = 0;

    /* A length of 1 mod 4 can never come from an encoder; sodium would also refuse it. */
    if (in_len % 4 == 1 || jose_b64url_decoded_len(in_len) > cap)
        return -1;
    if (in_len == 0) {
        *out_len = 0;
        return 0;
    }
    /* libsodium 1.0.18 decodes every byte >= 0x80 as '_' (63) instead of refusing it. */
    for (size_t i = 0; i < in_len; i++) {
        if ((unsigned char)in[i] >= 0x80)
            return -1;
    }
    if (sodium_base642bin(out, cap, in, in_len, NULL, &n, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != in + in_len)
        return -1;
    *out_len = n;
    return 0;
}

void jose_b64url_encode(const unsigned char *in, size_t len, char *out)
{
    sodium_bin2base64(out, jose_b64url_encoded_len(len) + 1, in, len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

typedef int (*b64_decoder)(const char *, size_t, unsigned char *, size_t, size_t *);

/* A NUL-terminated copy decoded by `decode` (+1 byte: callers may treat it as text). */
static unsigned char *decode_alloc(b64_decoder decode, const char *in, size_t in_len,
                                   size_t *out_len)
{
    size_t cap = jose_b64url_decoded_len(in_len);
    unsigned char *out = malloc(cap + 1);

    if (out == NULL)
        return NULL;
    if (decode(in, in_len, out, cap, out_len) != 0) {
        free(out);
        return NULL;
    }
    out[*out_len] = '\0';
    return out;
}

unsigned char *jose_b64url_decode_alloc(const char *in, size_t in_len, size_t *out_len)
{
    return decode_alloc(jose_b64url_decode, in, in_len, out_len);
}

char *jose_b64url_encode_alloc(const unsigned char *in, size_t len)
{
    char *out = malloc(jose_b64url_encoded_len(len) + 1);

    if (out != NULL)
        jose_b64url_encode(in, len, out);
    return out;
}

/* base64url character -> the standard one EVP_DecodeBlock reads; 0 for every byte outside
 * the base64url alphabet ('+', '/', '=', white space and bytes >= 0x80 included), which
 * EVP_DecodeBlock would otherwise tolerate or skip. A table, not a chain of tests: measured
 * with callgrind, the per-byte tests were two thirds of decoding an HS256 token. */
static const unsigned char url_to_std[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
    0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x00, 0x00, 0x00, 0x00, 0x2f,
    0x00, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* Standard base64 character (as EVP_EncodeBlock writes them) -> base64url. */
static const unsigned char std_to_url[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x5f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
    0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* Copies n base64url characters into the standard alphabet; -1 if any byte is outside it.
 * The check is accumulated rather than branched on per byte (c - 1 is negative only for a
 * refused byte), four bytes a step (n is a multiple of 4 here): public input, and a third
 * of the instructions of a test per byte (callgrind). */
static int to_std_alphabet(const char *in, size_t n, unsigned char *out)
{
    const unsigned char *u = (const unsigned char *)in;
    int bad = 0;

    for (size_t i = 0; i < n; i += 4) {
        unsigned char a = url_to_std[u[i]], b = url_to_std[u[i + 1]], c = url_to_std[u[i + 2]],
                      d = url_to_std[u[i + 3]];
        bad |= (a - 1) | (b - 1) | (c - 1) | (d - 1);
        out[i] = a;
        out[i + 1] = b;
        out[i + 2] = c;
        out[i + 3] = d;
    }
    return bad < 0 ? -1 : 0;
}

int jose_b64url_decode_public(const char *in, size_t in_len, unsigned char *out, size_t cap,
                              size_t *out_len)
{
    unsigned char chunk[B64_CHUNK];
    size_t full = in_len / 4 * 4, rem = in_len % 4, o = 0;

    if (rem == 1 || jose_b64url_decoded_len(in_len) > cap)
        return -1;
    for (size_t i = 0; i < full; i += B64_CHUNK) {
        size_t n = full - i < B64_CHUNK ? full - i : B64_CHUNK;
        if (to_std_alphabet(in + i, n, chunk) != 0 ||
            EVP_DecodeBlock(out + o, chunk, (int)n) != (int)(n / 4 * 3))
            return -1;
        o += n / 4 * 3;
    }
    if (rem != 0) {
        /* Complete the group with 'A' (zero bits): the bytes past the real ones then hold
         * exactly the trailing bits, which canonical input has at zero. */
        char group[4] = {'A', 'A', 'A', 'A'};
        unsigned char tail[4], bytes[3];
        size_t nb = rem - 1;
        memcpy(group, in + full, rem);
        if (to_std_alphabet(group, 4, tail) != 0 || EVP_DecodeBlock(bytes, tail, 4) != 3)
            return -1;
        for (size_t i = nb; i < 3; i++) {
            if (bytes[i] != 0)
                return -1;
        }
        memcpy(out + o, bytes, nb);
        o += nb;
    }
    *out_len = o;
    return 0;
}

unsigned char *jose_b64url_decode_public_alloc(const char *in, size_t in_len, size_t *out_len)
{
    return decode_alloc(jose_b64url_decode_public, in, in_len, out_len);
}

/* Copies n characters of EVP_EncodeBlock output into base64url, four a step (callgrind: a
 * third fewer instructions than one a step). */
static void to_url_alphabet(const unsigned char *in, size_t n, char *out)
{
    size_t i = 0;

    for (; i + 4 <= n; i += 4) {
        out[i] = (char)std_to_url[in[i]];
        out[i + 1] = (char)std_to_url[in[i + 1]];
        out[i + 2] = (char)std_to_url[in[i + 2]];
        out[i + 3] = (char)std_to_url[in[i + 3]];
    }
    for (; i < n; i++)
        out[i] = (char)std_to_url[in[i]];
}

void jose_b64url_encode_public(const unsigned char *in, size_t len, char *out)
{
    size_t full = len / 3 * 3, rem = len % 3, o = 0;
    unsigned char chunk[B64_CHUNK + 1];

    /* EVP_EncodeBlock writes the standard alphabet, pads and NUL-terminates: each chunk goes
     * through a small buffer and is translated on the way to out, padding left behind. */
    for (size_t i = 0; i < full; i += B64_CHUNK / 4 * 3) {
        size_t n = full - i < B64_CHUNK / 4 * 3 ? full - i : B64_CHUNK / 4 * 3;
        EVP_EncodeBlock(chunk, in + i, (int)n);
        to_url_alphabet(chunk, n / 3 * 4, out + o);
        o += n / 3 * 4;
    }
    if (rem != 0) {
        EVP_EncodeBlock(chunk, in + full, (int)rem);
        to_url_alphabet(chunk, rem + 1, out + o);
        o += rem + 1;
    }
    out[o] = '\0';
}
