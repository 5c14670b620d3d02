/* Shared helpers for the libjwtd unit tests: base64url, token assembly and a signer built
 * directly on OpenSSL EVP, independent of the library, so tests can craft tokens with odd
 * but validly signed headers and cross-check the library's own signatures. Test code only. */
#ifndef JWTD_TESTS_TESTUTIL_H
#define JWTD_TESTS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwtd/jwtd.h"

/* The fixed clock every validation in the tests uses (jwtd_validation_set_now). */
#define TU_NOW INT64_C(1700000000)

/* What signs a crafted token: an EVP private key, or an HMAC secret. The algorithm used
 * for the signature is `alg`, whatever the crafted header claims. */
typedef struct tu_signer {
    jwtd_alg alg;
    EVP_PKEY *pkey;
    const unsigned char *secret;
    size_t secret_len;
} tu_signer;

static inline char *tu_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* asprintf that never returns NULL (a test without memory has nothing sensible to do). */
static inline char *tu_printf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    return s;
}

/* base64url without padding (RFC 7515 §2), via libsodium. Caller frees. */
static inline char *tu_b64url(const void *data, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);

    assert_non_null(out);
    sodium_bin2base64(out, cap, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static inline char *tu_b64url_str(const char *s) { return tu_b64url(s, strlen(s)); }

/* Standard base64 WITH padding and '+' '/' (what a careless encoder emits), via OpenSSL. */
static inline char *tu_b64std(const void *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);

    assert_non_null(out);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

static inline const char *tu_md_name(jwtd_alg alg)
{
    switch (alg) {
    case JWTD_ALG_HS256:
    case JWTD_ALG_RS256:
    case JWTD_ALG_PS256:
    case JWTD_ALG_ES256: return "SHA256";
    case JWTD_ALG_HS384:
    case JWTD_ALG_RS384:
    case JWTD_ALG_PS384:
    case JWTD_ALG_ES384: return "SHA384";
    case JWTD_ALG_HS512:
    case JWTD_ALG_RS512:
    case JWTD_ALG_PS512:
    case JWTD_ALG_ES512: return "SHA512";
    default: return NULL;
    }
}

/* ECDSA coordinate size for raw r||s (RFC 7518 §3.4); 0 for other algorithms. */
static inline size_t tu_ec_coord_len(jwtd_alg alg)
{
    return alg == JWTD_ALG_ES256 ? 32 : alg == JWTD_ALG_ES384 ? 48 : alg == JWTD_ALG_ES512 ? 66 : 0;
}

/* EVP_DigestSign of msg: the signature as OpenSSL emits it (DER for ECDSA). */
static inline unsigned char *tu_evp_sign(const tu_signer *s, const void *msg, size_t len,
                                         size_t *sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const char *md = tu_md_name(s->alg);
    unsigned char *sig;

    assert_non_null(ctx);
    assert_non_null(s->pkey);
    assert_int_equal(EVP_DigestSignInit_ex(ctx, &pctx, s->alg == JWTD_ALG_EDDSA ? NULL : md, NULL,
                                           NULL, s->pkey, NULL),
                     1);
    if (s->alg == JWTD_ALG_PS256 || s->alg == JWTD_ALG_PS384 || s->alg == JWTD_ALG_PS512) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
    }
    assert_int_equal(EVP_DigestSign(ctx, NULL, sig_len, msg, len), 1);
    sig = malloc(*sig_len);
    assert_non_null(sig);
    assert_int_equal(EVP_DigestSign(ctx, sig, sig_len, msg, len), 1);
    EVP_MD_CTX_free(ctx);
    return sig;
}

/* The JWS signature of msg (raw r||s for ECDSA, RFC 7518 §3.4). Caller frees. The ECDSA
 * coordinate size follows the key's curve, so a P-384 key used under an ES256 header
 * still yields its honest 96-byte r||s. */
static inline unsigned char *tu_sign(const tu_signer *s, const void *msg, size_t len,
                                     size_t *sig_len)
{
    size_t coord = tu_ec_coord_len(s->alg) ? (size_t)(EVP_PKEY_get_bits(s->pkey) + 7) / 8 : 0;
    unsigned char *der, *raw;
    const unsigned char *p;
    ECDSA_SIG *es;
    size_t der_len;

    if (s->alg == JWTD_ALG_HS256 || s->alg == JWTD_ALG_HS384 || s->alg == JWTD_ALG_HS512) {
        unsigned char *mac = malloc(EVP_MAX_MD_SIZE);

        assert_non_null(mac);
        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, tu_md_name(s->alg), NULL, s->secret,
                                  s->secret_len, msg, len, mac, EVP_MAX_MD_SIZE, sig_len));
        return mac;
    }
    der = tu_evp_sign(s, msg, len, &der_len);
    if (coord == 0) {
        *sig_len = der_len;
        return der;
    }
    p = der;
    es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    assert_non_null(es);
    raw = malloc(2 * coord);
    assert_non_null(raw);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)coord), (int)coord);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + coord, (int)coord), (int)coord);
    ECDSA_SIG_free(es);
    free(der);
    *sig_len = 2 * coord;
    return raw;
}

/* "h.p.sig" with the signature computed over exactly the bytes "h.p" given (so a verifier
 * that is lenient about how h or p are spelled would accept it). Caller frees. */
static inline char *tu_jws_segments(const char *h_seg, const char *p_seg, const tu_signer *s)
{
    char *input = tu_printf("%s.%s", h_seg, p_seg);
    size_t sig_len;
    unsigned char *sig = tu_sign(s, input, strlen(input), &sig_len);
    char *sig_b64 = tu_b64url(sig, sig_len);
    char *tok = tu_printf("%s.%s", input, sig_b64);

    free(input);
    free(sig);
    free(sig_b64);
    return tok;
}

/* A compact token from raw header and payload bytes, canonically encoded and signed. */
static inline char *tu_jws_raw(const char *header, size_t hlen, const char *payload, size_t plen,
                               const tu_signer *s)
{
    char *h = tu_b64url(header, hlen);
    char *p = tu_b64url(payload, plen);
    char *tok = tu_jws_segments(h, p, s);

    free(h);
    free(p);
    return tok;
}

static inline char *tu_jwt(const char *header_json, const char *claims_json, const tu_signer *s)
{
    return tu_jws_raw(header_json, strlen(header_json), claims_json, strlen(claims_json), s);
}

/* The private key of a library key as an EVP_PKEY (via its PKCS#8 PEM export). */
static inline EVP_PKEY *tu_pkey_of(const jwtd_key *key)
{
    char *pem = NULL;
    BIO *bio;
    EVP_PKEY *pkey;

    assert_int_equal(jwtd_key_private_pem(key, &pem), JWTD_OK);
    bio = BIO_new_mem_buf(pem, -1);
    assert_non_null(bio);
    pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    assert_non_null(pkey);
    BIO_free(bio);
    jwtd_free(pem);
    return pkey;
}

/* A public-only copy of a library key (SPKI PEM round trip), as a verifier would hold it. */
static inline jwtd_key *tu_public_key(const jwtd_key *key, unsigned flags)
{
    char *pem = NULL;
    jwtd_key *pub = NULL;

    assert_int_equal(jwtd_key_public_pem(key, &pem), JWTD_OK);
    assert_int_equal(jwtd_key_from_pem(pem, strlen(pem), flags, &pub), JWTD_OK);
    assert_false(jwtd_key_is_private(pub));
    jwtd_free(pem);
    return pub;
}

/* A keyset holding just this key (the set takes its own reference). */
static inline jwtd_keyset *tu_set1(jwtd_key *key)
{
    jwtd_keyset *set = NULL;

    assert_int_equal(jwtd_keyset_new(&key, 1, &set), JWTD_OK);
    return set;
}

/* An empty claims builder. */
static inline jwtd_claims *tu_claims(void)
{
    jwtd_claims *c = NULL;

    assert_int_equal(jwtd_claims_new(&c), JWTD_OK);
    assert_non_null(c);
    return c;
}

/* A validation pinned to one algorithm (none: JWTD_ALG_UNKNOWN), on the fixed test clock. */
static inline jwtd_validation *tu_validation(jwtd_alg alg)
{
    jwtd_validation *v = NULL;

    assert_int_equal(jwtd_validation_new(&v), JWTD_OK);
    assert_non_null(v);
    if (alg != JWTD_ALG_UNKNOWN)
        assert_int_equal(jwtd_validation_allow_alg(v, alg), JWTD_OK);
    assert_int_equal(jwtd_validation_set_now(v, TU_NOW), JWTD_OK);
    return v;
}

/* jwtd_verify of a NUL-terminated token; the result kind, with err filled. The same token
 * is also verified twice with a cache (once filling it, once from it): a header cache must
 * never change a result. The cache lives until the program exits. */
static inline jwtd_err tu_verify(const char *tok, const jwtd_keyset *set, const jwtd_validation *v,
                                 jwtd_error *err)
{
    static jwtd_cache *cache;
    jwtd_cache *with[3] = {NULL, NULL, NULL};
    jwtd_err rc = JWTD_OK;

    if (cache == NULL)
        assert_int_equal(jwtd_cache_new(&cache), JWTD_OK);
    with[1] = with[2] = cache;
    for (int i = 0; i < 3; i++) {
        jwtd_token *t = NULL;
        jwtd_error e = {0};
        jwtd_err r = jwtd_verify_cached(with[i], tok, strlen(tok), set, v, &t, &e);

        if (r == JWTD_OK) {
            assert_non_null(t);
        } else {
            assert_null(t);
            assert_int_equal(e.kind, r);
        }
        jwtd_token_free(t);
        if (i == 0) {
            rc = r;
            *err = e;
        } else {
            assert_int_equal(r, rc);
            assert_string_equal(e.claim, err->claim);
        }
    }
    return rc;
}

#endif /* JWTD_TESTS_TESTUTIL_H */
