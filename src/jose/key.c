/* jwtd_key: construction from raw secrets and from EVP_PKEYs with the key policy (sizes,
 * curves, a private half that matches the public one), the reference count, accessors, the
 * key/algorithm fit and key generation. JWK lives in jwk.c, PEM in pem.c, sets in keyset.c.
 * A key is never modified after its constructor returns, so threads share it without locks.
 * Ed25519 keys also carry their raw material for libsodium, which signs and verifies them. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

#define KEY_MIN_SECRET_BYTES 32u /* the HS256 hash length; shorter only with ALLOW_WEAK */
#define KEY_MIN_RSA_BITS 2048u
#define KEY_MIN_WEAK_RSA_BITS 512u /* OpenSSL's own floor: not even ALLOW_WEAK goes below */
#define KEY_MAX_RSA_BITS 16384u    /* OpenSSL refuses larger moduli when the key is used... */
#define KEY_MAX_RSA_E_BITS 64u     /* ...and larger exponents (verification cost, DoS) */

_Static_assert(JOSE_ED25519_PUBLIC_BYTES == crypto_sign_ed25519_PUBLICKEYBYTES, "Ed25519 public");
_Static_assert(JOSE_ED25519_SECRET_BYTES == crypto_sign_ed25519_SECRETKEYBYTES, "Ed25519 secret");

/* ---- Curves ---- */

static const jose_curve curves[] = {
    {NID_X9_62_prime256v1, JWTD_KTY_EC, "P-256", "prime256v1", 32, 256},
    {NID_secp384r1, JWTD_KTY_EC, "P-384", "secp384r1", 48, 384},
    {NID_secp521r1, JWTD_KTY_EC, "P-521", "secp521r1", 66, 521},
    {EVP_PKEY_ED25519, JWTD_KTY_OKP, "Ed25519", "ED25519", 32, 255},
    {EVP_PKEY_ED448, JWTD_KTY_OKP, "Ed448", "ED448", 57, 448},
};

const jose_curve *jose_curve_by_name(const char *crv, size_t len, jwtd_kty kty)
{
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++) {
        if (curves[i].kty == kty && strlen(curves[i].name) == len &&
            memcmp(curves[i].name, crv, len) == 0)
            return &curves[i];
    }
    return NULL;
}

const jose_curve *jose_curve_by_nid(int nid)
{
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++) {
        if (curves[i].nid == nid)
            return &curves[i];
    }
    return NULL;
}

/* ---- Lifecycle ---- */

static jwtd_key *key_alloc(jwtd_kty kty)
{
    jwtd_key *key = calloc(1, sizeof *key);

    if (key != NULL) {
        atomic_init(&key->refs, 1);
        key->kty = kty;
        key->alg = JWTD_ALG_UNKNOWN;
    }
    return key;
}

static void key_destroy(jwtd_key *key)
{
    for (int i = 0; i < JOSE_HMAC_VARIANTS; i++)
        EVP_MAC_CTX_free(key->hmac[i]);
    if (key->secret != NULL) {
        OPENSSL_cleanse(key->secret, key->secret_len);
        free(key->secret);
    }
    sodium_free(key->ed_sk); /* wipes it; NULL for all but private Ed25519 keys */
    EVP_PKEY_free(key->pkey);
    free(key->kid);
    free(key);
}

/* The count is a key's one mutable member (atomic), so a const key (from a key set) can be
 * referenced too; every key is allocated non-const, so dropping const here is defined. */
jwtd_key *jwtd_key_ref(const jwtd_key *key)
{
    jwtd_key *k = (jwtd_key *)key;

    if (k != NULL)
        atomic_fetch_add(&k->refs, 1);
    return k;
}

void jwtd_key_free(jwtd_key *key)
{
    if (key != NULL && atomic_fetch_sub(&key->refs, 1) == 1)
        key_destroy(key);
}

jwtd_err jose_key_set_kid(jwtd_key *key, const char *kid, size_t len)
{
    char *copy = NULL;

    if (key == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (kid != NULL) {
        /* jwtd_key_kid hands out a C string: an embedded NUL would silently shorten it. */
        if (len > JWTD_MAX_KID_BYTES || memchr(kid, '\0', len) != NULL)
            return JWTD_ERR_INVALID_KEY_FORMAT;
        copy = malloc(len + 1);
        if (copy == NULL)
            return JWTD_ERR_NO_MEMORY;
        memcpy(copy, kid, len);
        copy[len] = '\0';
    }
    free(key->kid);
    key->kid = copy;
    key->kid_explicit = copy != NULL;
    return JWTD_OK;
}

/* ---- HMAC secrets ---- */

/* One pre-keyed context per SHA-2 size: sign and verify then only duplicate a context. */
static jwtd_err key_build_hmac(jwtd_key *key)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    jwtd_err rc = mac != NULL ? JWTD_OK : JWTD_ERR_CRYPTO;

    for (int i = 0; rc == JWTD_OK && i < JOSE_HMAC_VARIANTS; i++) {
        const jose_alg_info *info = jose_alg_info_get((jwtd_alg)(JWTD_ALG_HS256 + i));
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)info->md_name, 0),
            OSSL_PARAM_construct_end()};
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);

        key->hmac[info->hmac_index] = ctx;
        if (ctx == NULL || EVP_MAC_init(ctx, key->secret, key->secret_len, params) != 1)
            rc = JWTD_ERR_CRYPTO;
    }
    EVP_MAC_free(mac);
    return rc;
}

jwtd_err jose_key_from_secret_bytes(const unsigned char *secret, size_t len, unsigned flags,
                                    jwtd_key **out)
{
    bool weak = (flags & JWTD_KEY_ALLOW_WEAK) != 0;
    jwtd_key *key;
    jwtd_err rc;

    if (out == NULL || (secret == NULL && len > 0))
        return JWTD_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (len == 0 || len > JWTD_MAX_KEY_BYTES || (len < KEY_MIN_SECRET_BYTES && !weak))
        return JWTD_ERR_INVALID_KEY_FORMAT;
    key = key_alloc(JWTD_KTY_OCT);
    if (key == NULL || (key->secret = malloc(len)) == NULL) {
        jwtd_key_free(key);
        return JWTD_ERR_NO_MEMORY;
    }
    memcpy(key->secret, secret, len);
    key->secret_len = len;
    key->bits = (unsigned)(len * 8);
    key->is_private = true;
    key->weak_allowed = weak;
    rc = key_build_hmac(key);
    if (rc != JWTD_OK) {
        jwtd_key_free(key);
        return rc;
    }
    *out = key;
    return JWTD_OK;
}

jwtd_err jwtd_key_from_secret(const void *secret, size_t len, unsigned flags, jwtd_key **out)
{
    return jose_key_from_secret_bytes(secret, len, flags, out);
}

/* ---- RSA policy ---- */

/* The RSA numbers of a key; absent ones stay NULL. */
typedef struct rsa_parts {
    BIGNUM *n, *e, *d, *p, *q, *dp, *dq, *qi;
} rsa_parts;

static void rsa_parts_get(const EVP_PKEY *pkey, rsa_parts *r)
{
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &r->n);
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &r->e);
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &r->d);
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, &r->p);
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, &r->q);
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, &r->dp);
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, &r->dq);
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &r->qi);
    ERR_clear_error(); /* a public key simply has no private parameters */
}

static void rsa_parts_free(rsa_parts *r)
{
    BN_free(r->n);
    BN_free(r->e);
    BN_clear_free(r->d);
    BN_clear_free(r->p);
    BN_clear_free(r->q);
    BN_clear_free(r->dp);
    BN_clear_free(r->dq);
    BN_clear_free(r->qi);
}

/* ROCA (CVE-2017-15361): Infineon's generator made moduli whose residue modulo each of these
 * small primes lies in the subgroup generated by 65537. A random modulus almost never does. */
static bool rsa_is_roca(const BIGNUM *n)
{
    static const unsigned primes[] = {
        3,  5,  7,  11, 13, 17,  19,  23,  29,  31,  37,  41,  43,  47,  53,  59,  61,  67,  71,
        73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};

    for (size_t i = 0; i < sizeof primes / sizeof primes[0]; i++) {
        unsigned p = primes[i], g = 65537u % p, x = 1;
        BN_ULONG r = BN_mod_word(n, p);
        bool in_subgroup = false;

        do { /* walk the powers of g until they cycle back to 1: at most p - 1 steps */
            in_subgroup = in_subgroup || r == x;
            x = x * g % p;
        } while (x != 1);
        if (!in_subgroup)
            return false;
    }
    return true;
}

/* The private half belongs to n and e: with the CRT values, p*q = n, e*d = 1 mod p-1 and
 * mod q-1, and each CRT value is the one d, p and q give; with d alone, 2^(e*d) = 2 mod n.
 * (EVP_PKEY_pairwise_check is not used: it also demands d < lcm(p-1, q-1), which keys
 * made with phi(n), such as RFC 7520's, do not meet.) */
static bool rsa_private_matches(const rsa_parts *r, BN_CTX *ctx)
{
    BIGNUM *t = BN_CTX_get(ctx), *u = BN_CTX_get(ctx), *p1 = BN_CTX_get(ctx), *q1 = BN_CTX_get(ctx);

    if (q1 == NULL || r->d == NULL)
        return false;
    if (r->p == NULL && r->q == NULL && r->dp == NULL && r->dq == NULL && r->qi == NULL)
        return BN_set_word(t, 2) && BN_mod_exp(u, t, r->e, r->n, ctx) &&
               BN_mod_exp_mont_consttime(t, u, r->d, r->n, ctx, NULL) && BN_is_word(t, 2);
    if (r->p == NULL || r->q == NULL || r->dp == NULL || r->dq == NULL || r->qi == NULL)
        return false;
    return BN_mul(t, r->p, r->q, ctx) && BN_cmp(t, r->n) == 0 && BN_sub(p1, r->p, BN_value_one()) &&
           BN_sub(q1, r->q, BN_value_one()) && BN_mul(t, r->e, r->d, ctx) &&
           BN_mod(u, t, p1, ctx) && BN_is_one(u) && BN_mod(u, t, q1, ctx) && BN_is_one(u) &&
           BN_mod(u, r->d, p1, ctx) && BN_cmp(u, r->dp) == 0 && BN_mod(u, r->d, q1, ctx) &&
           BN_cmp(u, r->dq) == 0 && BN_mod_mul(u, r->qi, r->q, r->p, ctx) && BN_is_one(u);
}

static bool rsa_public_ok(const rsa_parts *r, bool weak)
{
    unsigned bits = r->n != NULL ? (unsigned)BN_num_bits(r->n) : 0;

    return r->e != NULL && bits >= (weak ? KEY_MIN_WEAK_RSA_BITS : KEY_MIN_RSA_BITS) &&
           bits <= KEY_MAX_RSA_BITS && BN_is_odd(r->n) && BN_is_odd(r->e) &&
           BN_num_bits(r->e) > 1 && (unsigned)BN_num_bits(r->e) <= KEY_MAX_RSA_E_BITS &&
           !rsa_is_roca(r->n);
}

static jwtd_err rsa_check(const jwtd_key *key)
{
    rsa_parts r = {0};
    BN_CTX *ctx = NULL;
    bool ok;

    rsa_parts_get(key->pkey, &r);
    ok = rsa_public_ok(&r, key->weak_allowed);
    if (ok && key->is_private) {
        ok = (ctx = BN_CTX_secure_new()) != NULL;
        if (ok) {
            BN_CTX_start(ctx);
            ok = rsa_private_matches(&r, ctx);
            BN_CTX_end(ctx);
        }
        BN_CTX_free(ctx);
    }
    rsa_parts_free(&r);
    return ok ? JWTD_OK : JWTD_ERR_INVALID_KEY_FORMAT;
}

/* ---- Asymmetric keys ---- */

/* EC public: on the curve, not the point at infinity, of the group's order. Private as well:
 * 0 < d < n and d*G equals the public point. */
static jwtd_err ec_check(const jwtd_key *key)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    bool ok =
        ctx != NULL && (key->is_private ? EVP_PKEY_check(ctx) : EVP_PKEY_public_check(ctx)) == 1;

    EVP_PKEY_CTX_free(ctx);
    return ok ? JWTD_OK : JWTD_ERR_INVALID_KEY_FORMAT;
}

/* Named curves only: explicit EC parameters (an attack vector) have no group name. */
static int ec_group_nid(const EVP_PKEY *pkey)
{
    char name[64];
    size_t len = 0;
    int nid;

    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) !=
        1)
        return NID_undef;
    nid = OBJ_sn2nid(name);
    return nid != NID_undef ? nid : EC_curve_nist2nid(name);
}

/* Sets kty, curve and bits; anything but RSA, P-256/384/521, Ed25519 and Ed448 is refused. */
static jwtd_err key_classify(jwtd_key *key)
{
    const jose_curve *c = NULL;

    if (EVP_PKEY_is_a(key->pkey, "RSA")) {
        key->kty = JWTD_KTY_RSA;
        key->bits = (unsigned)EVP_PKEY_get_bits(key->pkey);
        return JWTD_OK;
    }
    if (EVP_PKEY_is_a(key->pkey, "EC"))
        c = jose_curve_by_nid(ec_group_nid(key->pkey));
    else if (EVP_PKEY_is_a(key->pkey, "ED25519"))
        c = jose_curve_by_nid(EVP_PKEY_ED25519);
    else if (EVP_PKEY_is_a(key->pkey, "ED448"))
        c = jose_curve_by_nid(EVP_PKEY_ED448);
    if (c == NULL)
        return JWTD_ERR_INVALID_KEY_FORMAT;
    key->kty = c->kty;
    key->curve = c->name;
    key->curve_nid = c->nid;
    key->bits = c->bits;
    return JWTD_OK;
}

/* Ed25519/Ed448 need nothing more: OpenSSL derives their public half from the private one
 * (PEM), and jwk.c compares a JWK's "x" with the derived one. */
static jwtd_err key_check(const jwtd_key *key)
{
    switch (key->kty) {
    case JWTD_KTY_RSA: return rsa_check(key);
    case JWTD_KTY_EC: return ec_check(key);
    default: return JWTD_OK;
    }
}

/* ---- Ed25519 material for libsodium ---- */

/* Keeps a copy of libsodium's secret key (seed || public key) in guarded memory, read-only. */
static jwtd_err ed25519_keep_secret(jwtd_key *key, const unsigned char *sk)
{
    key->ed_sk = sodium_malloc(JOSE_ED25519_SECRET_BYTES);
    if (key->ed_sk == NULL)
        return JWTD_ERR_NO_MEMORY;
    memcpy(key->ed_sk, sk, JOSE_ED25519_SECRET_BYTES);
    return sodium_mprotect_readonly(key->ed_sk) == 0 ? JWTD_OK : JWTD_ERR_CRYPTO;
}

/* The raw public key OpenSSL parsed and, for a private key, libsodium's secret key expanded
 * from the 32-byte seed; the public key libsodium derives from the seed must be the same. */
static jwtd_err ed25519_load(jwtd_key *key)
{
    unsigned char seed[crypto_sign_ed25519_SEEDBYTES], sk[crypto_sign_ed25519_SECRETKEYBYTES];
    unsigned char derived[crypto_sign_ed25519_PUBLICKEYBYTES];
    size_t len = sizeof key->ed_pk;
    jwtd_err rc = JWTD_ERR_INVALID_KEY_FORMAT;

    if (sodium_init() < 0) /* idempotent and thread-safe; sodium_malloc needs it */
        return JWTD_ERR_CRYPTO;
    if (EVP_PKEY_get_raw_public_key(key->pkey, key->ed_pk, &len) != 1 || len != sizeof key->ed_pk)
        return JWTD_ERR_INVALID_KEY_FORMAT;
    key->ed25519 = true;
    if (!key->is_private)
        return JWTD_OK;
    len = sizeof seed;
    if (EVP_PKEY_get_raw_private_key(key->pkey, seed, &len) == 1 && len == sizeof seed) {
        if (crypto_sign_ed25519_seed_keypair(derived, sk, seed) != 0)
            rc = JWTD_ERR_CRYPTO;
        else if (memcmp(derived, key->ed_pk, sizeof derived) == 0) /* public bytes */
            rc = ed25519_keep_secret(key, sk);
    }
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

static jwtd_err key_default_kid(jwtd_key *key)
{
    char thp[JWTD_THUMBPRINT_B64_LEN + 1];
    jwtd_err rc = jwtd_key_thumbprint(key, thp);

    if (rc == JWTD_OK && (rc = jose_key_set_kid(key, thp, strlen(thp))) == JWTD_OK)
        key->kid_explicit = false; /* computed, not named: see struct jwtd_key */
    return rc;
}

jwtd_err jose_key_from_pkey(EVP_PKEY *pkey, bool is_private, unsigned flags, jwtd_key **out)
{
    jwtd_key *key;
    jwtd_err rc;

    if (out == NULL || pkey == NULL) {
        EVP_PKEY_free(pkey);
        return JWTD_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    key = key_alloc(JWTD_KTY_RSA);
    if (key == NULL) {
        EVP_PKEY_free(pkey);
        return JWTD_ERR_NO_MEMORY;
    }
    key->pkey = pkey;
    key->is_private = is_private;
    key->weak_allowed = (flags & JWTD_KEY_ALLOW_WEAK) != 0;
    rc = key_classify(key);
    if (rc == JWTD_OK)
        rc = key_check(key);
    if (rc == JWTD_OK && key->curve_nid == EVP_PKEY_ED25519)
        rc = ed25519_load(key);
    if (rc == JWTD_OK)
        rc = key_default_kid(key);
    if (rc != JWTD_OK) {
        jwtd_key_free(key);
        ERR_clear_error();
        return rc;
    }
    *out = key;
    return JWTD_OK;
}

/* ---- Accessors ---- */

jwtd_kty jwtd_key_kty(const jwtd_key *key) { return key != NULL ? key->kty : (jwtd_kty)0; }

jwtd_alg jwtd_key_alg(const jwtd_key *key) { return key != NULL ? key->alg : JWTD_ALG_UNKNOWN; }

const char *jwtd_key_kid(const jwtd_key *key) { return key != NULL ? key->kid : NULL; }

bool jwtd_key_is_private(const jwtd_key *key) { return key != NULL && key->is_private; }

const char *jwtd_key_curve(const jwtd_key *key) { return key != NULL ? key->curve : NULL; }

unsigned jwtd_key_bits(const jwtd_key *key) { return key != NULL ? key->bits : 0; }

bool jwtd_key_fits_alg(const jwtd_key *key, jwtd_alg alg)
{
    const jose_alg_info *info = jose_alg_info_get(alg);

    if (key == NULL || info == NULL || (key->alg != JWTD_ALG_UNKNOWN && key->alg != alg))
        return false;
    switch (info->family) {
    case JOSE_FAM_HMAC:
        return key->kty == JWTD_KTY_OCT && (key->secret_len >= info->hash_len || key->weak_allowed);
    case JOSE_FAM_RSA:
    case JOSE_FAM_PSS: return key->kty == JWTD_KTY_RSA;
    case JOSE_FAM_ECDSA: return key->kty == JWTD_KTY_EC && key->curve_nid == info->curve_nid;
    case JOSE_FAM_EDDSA: return key->kty == JWTD_KTY_OKP;
    }
    return false;
}

/* ---- Copies ---- */

/* A new key with the same material (an HMAC key gets fresh contexts, an EVP_PKEY is shared:
 * both keys are immutable), alg and policy flags; kid still to be set. */
static jwtd_err key_clone_pkey(const jwtd_key *key, jwtd_key **out)
{
    jwtd_key *copy = key_alloc(key->kty);

    if (copy == NULL)
        return JWTD_ERR_NO_MEMORY;
    if (EVP_PKEY_up_ref(key->pkey) != 1) {
        jwtd_key_free(copy);
        return JWTD_ERR_CRYPTO;
    }
    copy->pkey = key->pkey;
    copy->is_private = key->is_private;
    copy->weak_allowed = key->weak_allowed;
    copy->bits = key->bits;
    copy->curve_nid = key->curve_nid;
    copy->curve = key->curve;
    copy->ed25519 = key->ed25519;
    memcpy(copy->ed_pk, key->ed_pk, sizeof copy->ed_pk);
    if (key->ed_sk != NULL) {
        jwtd_err rc = ed25519_keep_secret(copy, key->ed_sk);
        if (rc != JWTD_OK) {
            jwtd_key_free(copy);
            return rc;
        }
    }
    *out = copy;
    return JWTD_OK;
}

static jwtd_err key_clone(const jwtd_key *key, jwtd_key **out)
{
    jwtd_err rc = key->kty == JWTD_KTY_OCT
                      ? jose_key_from_secret_bytes(key->secret, key->secret_len,
                                                   key->weak_allowed ? JWTD_KEY_ALLOW_WEAK : 0, out)
                      : key_clone_pkey(key, out);

    if (rc == JWTD_OK)
        (*out)->alg = key->alg;
    return rc;
}

jwtd_err jwtd_key_with_kid(const jwtd_key *key, const char *kid, jwtd_key **out)
{
    size_t len = kid != NULL ? strnlen(kid, JWTD_MAX_KID_BYTES + 1) : 0;
    json_t *probe = kid != NULL ? json_string(kid) : NULL; /* exports need valid UTF-8 */
    jwtd_key *copy = NULL;
    jwtd_err rc;

    json_decref(probe);
    if (out != NULL)
        *out = NULL;
    if (key == NULL || out == NULL || len > JWTD_MAX_KID_BYTES || (kid != NULL && probe == NULL))
        return JWTD_ERR_INVALID_ARGUMENT;
    rc = key_clone(key, &copy);
    if (rc == JWTD_OK)
        rc = jose_key_set_kid(copy, kid, len);
    if (rc != JWTD_OK) {
        jwtd_key_free(copy);
        return rc;
    }
    *out = copy;
    return JWTD_OK;
}

/* ---- Generation ---- */

static jwtd_err generate_secret(const jose_alg_info *info, jwtd_key **out)
{
    unsigned char buf[64]; /* the longest hash, SHA-512 */
    size_t len = info->hash_len > KEY_MIN_SECRET_BYTES ? info->hash_len : KEY_MIN_SECRET_BYTES;
    jwtd_err rc = JWTD_ERR_CRYPTO;

    if (RAND_bytes(buf, (int)len) == 1)
        rc = jose_key_from_secret_bytes(buf, len, 0, out);
    OPENSSL_cleanse(buf, sizeof buf);
    /* The caller asked for this key, so its thumbprint may name it (unlike a raw secret). */
    if (rc == JWTD_OK && (rc = key_default_kid(*out)) != JWTD_OK) {
        jwtd_key_free(*out);
        *out = NULL;
    }
    return rc;
}

static jwtd_err generate_pkey(const jose_alg_info *info, jwtd_key **out)
{
    EVP_PKEY *pkey;

    switch (info->family) {
    case JOSE_FAM_RSA:
    case JOSE_FAM_PSS: /* 2048 bits for SHA-256, 3072 for SHA-384, 4096 for SHA-512 */
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)info->hash_len * 64);
        break;
    case JOSE_FAM_ECDSA:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", jose_curve_by_nid(info->curve_nid)->ossl);
        break;
    default: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); break;
    }
    if (pkey == NULL) {
        ERR_clear_error();
        return JWTD_ERR_CRYPTO;
    }
    return jose_key_from_pkey(pkey, true, 0, out);
}

jwtd_err jwtd_key_generate(jwtd_alg alg, jwtd_key **out)
{
    const jose_alg_info *info = jose_alg_info_get(alg);
    jwtd_err rc;

    if (out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (info == NULL)
        return JWTD_ERR_INVALID_ALGORITHM;
    rc = info->family == JOSE_FAM_HMAC ? generate_secret(info, out) : generate_pkey(info, out);
    if (rc == JWTD_OK)
        (*out)->alg = alg;
    return rc;
}
