/* Canonical base64url (RFC 4648 §5, no padding) over libsodium's constant-time codec.
 * "Canonical" means exactly one encoding per byte string: '=' padding, '+', '/', white
 * space and non-zero trailing bits are all refused (libsodium checks the last two). */
#include <sodium.h>
#include <stdlib.h>

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
