/* Signature primitives behind JWS sign and verify, over OpenSSL 3 EVP, and libsodium for
 * Ed25519. HMAC duplicates the key's pre-keyed context (cheaper than keying per call); ECDSA
 * converts between JOSE's fixed-width r||s and OpenSSL's DER, checking 1 <= r,s < n
 * before OpenSSL sees anything, so psychic (zero) and out-of-range signatures never
 * reach the verifier. Digests and curve orders are fetched once per process. Ed25519 runs in
 * libsodium: about twice as fast as OpenSSL 3.0 here, and it refuses small-order public keys
 * and R, and non-canonical S, R and A (docs/LIBRARY.md; tests/vectors/test_cctv_ed25519.c
 * pins every decision). Ed448 stays with OpenSSL. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SIG_MAX_EC_COORD 66

/* ---- Process-wide read-only state, initialised once ---- */
static EVP_MD *md_sha256, *md_sha384, *md_sha512;
static BIGNUM *order_p256, *order_p384, *order_p521;
static pthread_once_t sig_once = PTHREAD_ONCE_INIT;

static BIGNUM *curve_order_dup(int nid)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    BIGNUM *n = g != NULL ? BN_dup(EC_GROUP_get0_order(g)) : NULL;
    EC_GROUP_free(g);
    return n;
}

static void sig_init_once(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    md_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
    order_p256 = curve_order_dup(NID_X9_62_prime256v1);
    order_p384 = curve_order_dup(NID_secp384r1);
    order_p521 = curve_order_dup(NID_secp521r1);
}

/* The fetched digest for alg, or NULL (EdDSA, or the fetch failed). */
static const EVP_MD *sig_md(const jose_alg_info *info)
{
    pthread_once(&sig_once, sig_init_once);
    switch (info->hash_len) {
    case 32: return md_sha256;
    case 48: return md_sha384;
    case 64: return md_sha512;
    default: return NULL;
    }
}

static const BIGNUM *sig_curve_order(int nid)
{
    pthread_once(&sig_once, sig_init_once);
    if (nid == NID_X9_62_prime256v1)
        return order_p256;
    if (nid == NID_secp384r1)
        return order_p384;
    if (nid == NID_secp521r1)
        return order_p521;
    return NULL;
}

/* ---- HMAC ---- */
/* The MAC of msg through ctx (pre-keyed, or reset to that state). */
static jwtd_err mac_run(EVP_MAC_CTX *ctx, const jose_alg_info *info, const unsigned char *msg,
                        size_t msg_len, unsigned char *mac, size_t *mac_len)
{
    return EVP_MAC_update(ctx, msg, msg_len) == 1 &&
                   EVP_MAC_final(ctx, mac, mac_len, EVP_MAX_MD_SIZE) == 1 &&
                   *mac_len == info->hash_len
               ? JWTD_OK
               : JWTD_ERR_CRYPTO;
}

/* ---- ECDSA: raw r||s <-> DER ---- */
/* DER of r||s, or NULL when the length is wrong or r or s is outside [1, n-1]. */
static unsigned char *ecdsa_raw_to_der(const jose_alg_info *info, const unsigned char *sig,
                                       size_t sig_len, int *der_len, bool *malformed)
{
    const BIGNUM *order = sig_curve_order(info->curve_nid);
    size_t w = info->ec_coord_len;
    BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG *es = NULL;
    unsigned char *der = NULL;

    *malformed = true;
    if (order == NULL || sig_len != 2 * w)
        return NULL;
    r = BN_bin2bn(sig, (int)w, NULL);
    s = BN_bin2bn(sig + w, (int)w, NULL);
    if (r == NULL || s == NULL)
        goto out;
    if (BN_is_zero(r) || BN_is_zero(s) || BN_cmp(r, order) >= 0 || BN_cmp(s, order) >= 0)
        goto out;
    *malformed = false;
    es = ECDSA_SIG_new();
    if (es == NULL || ECDSA_SIG_set0(es, r, s) != 1)
        goto out;
    r = s = NULL; /* now owned by es */
    *der_len = i2d_ECDSA_SIG(es, &der);
    if (*der_len <= 0)
        der = NULL;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return der;
}

/* Fixed-width r||s from DER; 0 on success. */
static int ecdsa_der_to_raw(const jose_alg_info *info, const unsigned char *der, size_t der_len,
                            unsigned char *out)
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    const BIGNUM *r, *s;
    int w = (int)info->ec_coord_len, rc = -1;

    if (es == NULL)
        return -1;
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, out, w) == w && BN_bn2binpad(s, out + w, w) == w)
        rc = 0;
    ECDSA_SIG_free(es);
    return rc;
}

/* ---- EVP DigestSign / DigestVerify for RSA, PSS, ECDSA, EdDSA ---- */
static int pkey_ctx_setup(EVP_PKEY_CTX *pctx, const jose_alg_info *info, const EVP_MD *md)
{
    if (info->family != JOSE_FAM_PSS)
        return 1;
    /* JWA §3.5: MGF1 with the same hash, salt length = hash length, exactly. */
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
}

static jwtd_err evp_verify(const jwtd_key *key, const jose_alg_info *info, const unsigned char *msg,
                           size_t msg_len, const unsigned char *sig, size_t sig_len)
{
    const EVP_MD *md = info->family == JOSE_FAM_EDDSA ? NULL : sig_md(info);
    EVP_MD_CTX *mctx;
    EVP_PKEY_CTX *pctx = NULL;
    jwtd_err rc = JWTD_ERR_CRYPTO;
    int ok;

    if (info->family != JOSE_FAM_EDDSA && md == NULL)
        return JWTD_ERR_CRYPTO;
    mctx = EVP_MD_CTX_new();
    if (mctx == NULL)
        return JWTD_ERR_NO_MEMORY;
    if (EVP_DigestVerifyInit(mctx, &pctx, md, NULL, key->pkey) == 1 &&
        pkey_ctx_setup(pctx, info, md)) {
        ok = EVP_DigestVerify(mctx, sig, sig_len, msg, msg_len);
        rc = ok == 1 ? JWTD_OK : JWTD_ERR_INVALID_SIGNATURE;
    }
    EVP_MD_CTX_free(mctx);
    return rc;
}

static jwtd_err digest_sign(EVP_MD_CTX *mctx, const unsigned char *msg, size_t msg_len,
                            unsigned char **sig_out, size_t *sig_len)
{
    unsigned char *sig;
    size_t len = 0;

    if (EVP_DigestSign(mctx, NULL, &len, msg, msg_len) != 1)
        return JWTD_ERR_CRYPTO;
    if ((sig = malloc(len)) == NULL)
        return JWTD_ERR_NO_MEMORY;
    if (EVP_DigestSign(mctx, sig, &len, msg, msg_len) != 1) {
        free(sig);
        return JWTD_ERR_CRYPTO;
    }
    *sig_out = sig;
    *sig_len = len;
    return JWTD_OK;
}

static jwtd_err evp_sign(const jwtd_key *key, const jose_alg_info *info, const unsigned char *msg,
                         size_t msg_len, unsigned char **sig_out, size_t *sig_len)
{
    const EVP_MD *md = info->family == JOSE_FAM_EDDSA ? NULL : sig_md(info);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    jwtd_err rc = JWTD_ERR_CRYPTO;

    if (mctx == NULL)
        return JWTD_ERR_NO_MEMORY;
    if ((info->family == JOSE_FAM_EDDSA || md != NULL) &&
        EVP_DigestSignInit(mctx, &pctx, md, NULL, key->pkey) == 1 && pkey_ctx_setup(pctx, info, md))
        rc = digest_sign(mctx, msg, msg_len, sig_out, sig_len);
    EVP_MD_CTX_free(mctx);
    return rc;
}

/* ---- Contexts kept in the caller's cache (jwtd_cache), or none ----
 * HMAC: EVP_MAC_init without a key resets the kept context to its pre-keyed state, which
 * costs less than a duplicate and its free (wall clock, this machine: 0.5 us against 1.4-1.8
 * us per HS256 MAC of a 330-byte input). RSA, PSS, ECDSA: a context initialised once for
 * (key, alg, operation), PSS parameters included, is copied into a kept working context per
 * call; EVP_DigestVerifyInit alone is ~24k instructions of a 335k RS256 verify (callgrind).
 * EdDSA keeps no context. Without a cache, or when OpenSSL cannot make one to keep, each call
 * builds its own, exactly as a cache-less library would. */
enum { SIG_OP_HMAC, SIG_OP_VERIFY, SIG_OP_SIGN };

static void mac_ctx_free(void *ctx) { EVP_MAC_CTX_free(ctx); }

/* The MAC of msg: through the context the cache keeps for (key, alg), made on first use, else
 * through a duplicate of the key's pre-keyed one, freed after. */
static jwtd_err hmac_mac(jwtd_cache *cache, const jwtd_key *key, jwtd_alg alg,
                         const jose_alg_info *info, const unsigned char *msg, size_t msg_len,
                         unsigned char *mac, size_t *mac_len)
{
    EVP_MAC_CTX *ctx = jose_ctx_cache_get(cache, key, alg, SIG_OP_HMAC), *own = NULL, *base;
    jwtd_err rc;

    if (info->hmac_index < 0 || (base = key->hmac[info->hmac_index]) == NULL)
        return JWTD_ERR_CRYPTO;
    if (ctx == NULL && cache != NULL && (ctx = EVP_MAC_CTX_dup(base)) != NULL &&
        !jose_ctx_cache_put(cache, key, alg, SIG_OP_HMAC, ctx, mac_ctx_free)) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    if ((ctx == NULL || EVP_MAC_init(ctx, NULL, 0, NULL) != 1) &&
        (ctx = own = EVP_MAC_CTX_dup(base)) == NULL)
        return JWTD_ERR_NO_MEMORY;
    rc = mac_run(ctx, info, msg, msg_len, mac, mac_len);
    EVP_MAC_CTX_free(own);
    return rc;
}

typedef struct md_pair {
    EVP_MD_CTX *proto; /* initialised for the key and alg, never finalised */
    EVP_MD_CTX *work;  /* a copy of proto per call */
} md_pair;

static void md_pair_free(void *p)
{
    md_pair *m = p;
    EVP_MD_CTX_free(m->proto);
    EVP_MD_CTX_free(m->work);
    free(m);
}

/* The cache's working context for (key, alg, op), a fresh copy of its prototype (made and kept
 * on first use), or NULL (no cache, EdDSA, or OpenSSL failed: the caller builds its own). */
static EVP_MD_CTX *md_work(jwtd_cache *cache, const jwtd_key *key, jwtd_alg alg,
                           const jose_alg_info *info, int op)
{
    md_pair *m = jose_ctx_cache_get(cache, key, alg, op);
    const EVP_MD *md = sig_md(info);
    EVP_PKEY_CTX *pctx = NULL;

    if (m == NULL) {
        if (cache == NULL || info->family == JOSE_FAM_EDDSA || md == NULL ||
            (m = calloc(1, sizeof *m)) == NULL)
            return NULL;
        m->proto = EVP_MD_CTX_new();
        m->work = EVP_MD_CTX_new();
        if (m->proto == NULL || m->work == NULL ||
            (op == SIG_OP_VERIFY ? EVP_DigestVerifyInit(m->proto, &pctx, md, NULL, key->pkey)
                                 : EVP_DigestSignInit(m->proto, &pctx, md, NULL, key->pkey)) != 1 ||
            !pkey_ctx_setup(pctx, info, md) ||
            !jose_ctx_cache_put(cache, key, alg, op, m, md_pair_free)) {
            md_pair_free(m);
            return NULL;
        }
    }
    return EVP_MD_CTX_copy_ex(m->work, m->proto) == 1 ? m->work : NULL;
}

/* EVP verify of an RSA, PSS or ECDSA (DER) signature, through the cache's context or a new one. */
static jwtd_err digest_verify(jwtd_cache *cache, const jwtd_key *key, jwtd_alg alg,
                              const jose_alg_info *info, const unsigned char *msg, size_t msg_len,
                              const unsigned char *sig, size_t sig_len)
{
    EVP_MD_CTX *mctx = md_work(cache, key, alg, info, SIG_OP_VERIFY);

    if (mctx == NULL)
        return evp_verify(key, info, msg, msg_len, sig, sig_len);
    return EVP_DigestVerify(mctx, sig, sig_len, msg, msg_len) == 1 ? JWTD_OK
                                                                   : JWTD_ERR_INVALID_SIGNATURE;
}

jwtd_err jose_sig_verify_cached(jwtd_cache *cache, const jwtd_key *key, jwtd_alg alg,
                                const unsigned char *msg, size_t msg_len, const unsigned char *sig,
                                size_t sig_len)
{
    const jose_alg_info *info = jose_alg_info_get(alg);
    unsigned char mac[EVP_MAX_MD_SIZE], *der;
    size_t mac_len = 0;
    int der_len = 0;
    bool malformed;
    jwtd_err rc;

    if (info == NULL || key == NULL)
        return JWTD_ERR_INVALID_ALGORITHM;
    switch (info->family) {
    case JOSE_FAM_HMAC:
        if (sig_len != info->hash_len) /* truncated or extended MACs are never accepted */
            return JWTD_ERR_INVALID_SIGNATURE;
        rc = hmac_mac(cache, key, alg, info, msg, msg_len, mac, &mac_len);
        if (rc == JWTD_OK && CRYPTO_memcmp(mac, sig, sig_len) != 0)
            rc = JWTD_ERR_INVALID_SIGNATURE;
        OPENSSL_cleanse(mac, sizeof mac);
        return rc;
    case JOSE_FAM_ECDSA:
        der = ecdsa_raw_to_der(info, sig, sig_len, &der_len, &malformed);
        if (der == NULL)
            return malformed ? JWTD_ERR_INVALID_SIGNATURE : JWTD_ERR_NO_MEMORY;
        rc = digest_verify(cache, key, alg, info, msg, msg_len, der, (size_t)der_len);
        OPENSSL_free(der);
        return rc;
    case JOSE_FAM_RSA:
    case JOSE_FAM_PSS:
        if (sig_len != (size_t)EVP_PKEY_get_size(key->pkey))
            return JWTD_ERR_INVALID_SIGNATURE;
        return digest_verify(cache, key, alg, info, msg, msg_len, sig, sig_len);
    case JOSE_FAM_EDDSA:
        if (!key->ed25519)
            return evp_verify(key, info, msg, msg_len, sig, sig_len);
        if (sig_len != crypto_sign_ed25519_BYTES)
            return JWTD_ERR_INVALID_SIGNATURE;
        return crypto_sign_ed25519_verify_detached(sig, msg, msg_len, key->ed_pk) == 0
                   ? JWTD_OK
                   : JWTD_ERR_INVALID_SIGNATURE;
    }
    return JWTD_ERR_INVALID_ALGORITHM;
}

jwtd_err jose_sig_verify(const jwtd_key *key, jwtd_alg alg, const unsigned char *msg,
                         size_t msg_len, const unsigned char *sig, size_t sig_len)
{
    return jose_sig_verify_cached(NULL, key, alg, msg, msg_len, sig, sig_len);
}

jwtd_err jose_sig_sign_cached(jwtd_cache *cache, const jwtd_key *key, jwtd_alg alg,
                              const unsigned char *msg, size_t msg_len, unsigned char **sig_out,
                              size_t *sig_len)
{
    const jose_alg_info *info = jose_alg_info_get(alg);
    unsigned char *sig = NULL, *raw;
    EVP_MD_CTX *mctx;
    size_t len = 0;
    jwtd_err rc;

    if (info == NULL || key == NULL)
        return JWTD_ERR_INVALID_ALGORITHM;
    if (info->family == JOSE_FAM_EDDSA && key->ed_sk != NULL) {
        if ((sig = malloc(crypto_sign_ed25519_BYTES)) == NULL)
            return JWTD_ERR_NO_MEMORY;
        len = crypto_sign_ed25519_BYTES;
        rc = crypto_sign_ed25519_detached(sig, NULL, msg, msg_len, key->ed_sk) == 0
                 ? JWTD_OK
                 : JWTD_ERR_CRYPTO;
    } else if (info->family == JOSE_FAM_HMAC) {
        if ((sig = malloc(EVP_MAX_MD_SIZE)) == NULL)
            return JWTD_ERR_NO_MEMORY;
        rc = hmac_mac(cache, key, alg, info, msg, msg_len, sig, &len);
    } else if ((mctx = md_work(cache, key, alg, info, SIG_OP_SIGN)) != NULL) {
        rc = digest_sign(mctx, msg, msg_len, &sig, &len);
    } else {
        rc = evp_sign(key, info, msg, msg_len, &sig, &len);
    }
    /* JWA: ECDSA signatures are r||s at the curve's width, not OpenSSL's DER. */
    if (rc == JWTD_OK && info->family == JOSE_FAM_ECDSA) {
        if ((raw = malloc(2 * info->ec_coord_len)) == NULL)
            rc = JWTD_ERR_NO_MEMORY;
        else if (ecdsa_der_to_raw(info, sig, len, raw) != 0)
            rc = JWTD_ERR_CRYPTO;
        free(sig);
        sig = raw;
        len = 2 * info->ec_coord_len;
    }
    if (rc != JWTD_OK) {
        free(sig);
        return rc;
    }
    *sig_out = sig;
    *sig_len = len;
    return JWTD_OK;
}

jwtd_err jose_sig_sign(const jwtd_key *key, jwtd_alg alg, const unsigned char *msg, size_t msg_len,
                       unsigned char **sig_out, size_t *sig_len)
{
    return jose_sig_sign_cached(NULL, key, alg, msg, msg_len, sig_out, sig_len);
}
