/* JWK (RFC 7517, RFC 7518 §6, RFC 8037): one key from JSON into a jwtd_key and back out,
 * and the RFC 7638 thumbprint. Every base64url member must be canonical, every length exact;
 * a key declared for anything but signatures ("use", "key_ops", a non-JWS "alg") is refused. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

/* ---- Reading members ---- */

static void clear_free(void *p, size_t len)
{
    if (p != NULL) {
        OPENSSL_cleanse(p, len);
        free(p);
    }
}

static bool str_is(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* 1 when the member is a string (*s, *len set), 0 when absent, -1 when of another type. */
static int member_str(const json_t *jwk, const char *name, const char **s, size_t *len)
{
    const json_t *v = json_object_get(jwk, name);

    *s = NULL;
    *len = 0;
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return -1;
    *s = json_string_value(v);
    *len = json_string_length(v);
    return 1;
}

/* The member decoded from canonical base64url into *out (malloc'ed; free with clear_free):
 * 1 when present, 0 when absent, -1 when not a canonical base64url string. */
static int member_b64(const json_t *jwk, const char *name, unsigned char **out, size_t *len)
{
    const char *s;
    size_t n;
    int rc = member_str(jwk, name, &s, &n);

    *out = NULL;
    *len = 0;
    if (rc != 1)
        return rc;
    *out = jose_b64url_decode_alloc(s, n, len);
    return *out != NULL ? 1 : -1;
}

/* Like member_b64 but exactly len bytes long. */
static int member_fixed(const json_t *jwk, const char *name, size_t len, unsigned char **out)
{
    size_t n;
    int rc = member_b64(jwk, name, out, &n);

    if (rc == 1 && n != len) {
        clear_free(*out, n);
        *out = NULL;
        return -1;
    }
    return rc;
}

/* Big-endian bytes as a BIGNUM on the secure heap (so parameter blocks built from it are
 * cleansed when freed); NULL if out of memory. */
static BIGNUM *secure_bn(const unsigned char *buf, size_t len)
{
    BIGNUM *bn = BN_secure_new();

    if (bn != NULL && BN_bin2bn(buf, (int)len, bn) == NULL) {
        BN_clear_free(bn);
        bn = NULL;
    }
    return bn;
}

/* An unsigned big-endian integer member as a BIGNUM: 1 present, 0 absent, -1 invalid. */
static int member_bn(const json_t *jwk, const char *name, BIGNUM **bn)
{
    unsigned char *buf;
    size_t len;
    int rc = member_b64(jwk, name, &buf, &len);

    *bn = NULL;
    if (rc == 1 && (*bn = secure_bn(buf, len)) == NULL)
        rc = -1;
    clear_free(buf, len);
    return rc;
}

/* ---- Common members: use, key_ops, alg, kid ---- */

typedef struct jwk_meta {
    jwtd_alg alg;
    const char *kid; /* borrowed from the JSON */
    size_t kid_len;
} jwk_meta;

/* Absent, or an array of strings naming "sign" or "verify" (RFC 7517 §4.3). */
static bool key_ops_allow_sig(const json_t *ops)
{
    bool sig = false;
    const json_t *op;
    size_t i;

    if (ops == NULL)
        return true;
    if (!json_is_array(ops))
        return false;
    json_array_foreach(ops, i, op) {
        if (!json_is_string(op))
            return false;
        sig = sig || strcmp(json_string_value(op), "sign") == 0 ||
              strcmp(json_string_value(op), "verify") == 0;
    }
    return sig;
}

bool jose_jwk_declared_non_sig(const json_t *jwk)
{
    json_t *use = json_object_get(jwk, "use"), *ops = json_object_get(jwk, "key_ops");
    json_t *alg = json_object_get(jwk, "alg");

    return (json_is_string(use) && strcmp(json_string_value(use), "sig") != 0) ||
           (json_is_array(ops) && !key_ops_allow_sig(ops)) ||
           (json_is_string(alg) && jwtd_alg_from_name(json_string_value(alg),
                                                      json_string_length(alg)) == JWTD_ALG_UNKNOWN);
}

static jwtd_err jwk_meta_get(const json_t *jwk, jwk_meta *m)
{
    const char *s;
    size_t n;
    int rc;

    rc = member_str(jwk, "use", &s, &n);
    if (rc < 0 || (rc == 1 && !str_is(s, n, "sig")))
        return JWTD_ERR_INVALID_KEY_FORMAT;
    if (!key_ops_allow_sig(json_object_get(jwk, "key_ops")))
        return JWTD_ERR_INVALID_KEY_FORMAT;
    m->alg = JWTD_ALG_UNKNOWN;
    rc = member_str(jwk, "alg", &s, &n);
    if (rc < 0 || (rc == 1 && (m->alg = jwtd_alg_from_name(s, n)) == JWTD_ALG_UNKNOWN))
        return JWTD_ERR_INVALID_KEY_FORMAT;
    rc = member_str(jwk, "kid", &m->kid, &m->kid_len);
    if (rc < 0 || m->kid_len > JWTD_MAX_KID_BYTES)
        return JWTD_ERR_INVALID_KEY_FORMAT;
    return JWTD_OK;
}

/* ---- Building keys ---- */

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, bool priv)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* clears the secure block that holds secure BIGNUMs */
    return pkey;
}

static jwtd_err jwk_oct(const json_t *jwk, unsigned flags, jwtd_key **out)
{
    unsigned char *k;
    size_t len;
    jwtd_err rc = JWTD_ERR_INVALID_KEY_FORMAT;

    if (member_b64(jwk, "k", &k, &len) == 1)
        rc = jose_key_from_secret_bytes(k, len, flags, out);
    clear_free(k, len);
    return rc;
}

enum { RSA_N, RSA_E, RSA_D, RSA_P, RSA_Q, RSA_DP, RSA_DQ, RSA_QI, RSA_MEMBERS };

static const char *const rsa_members[RSA_MEMBERS] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
static const char *const rsa_params[RSA_MEMBERS] = {
    OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,           OSSL_PKEY_PARAM_RSA_D,
    OSSL_PKEY_PARAM_RSA_FACTOR1,   OSSL_PKEY_PARAM_RSA_FACTOR2,     OSSL_PKEY_PARAM_RSA_EXPONENT1,
    OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};

/* Accepted shapes: n e (public); n e d; n e d p q dp dq qi. Multi-prime ("oth") is not. */
static bool rsa_shape_ok(const BIGNUM *const bn[RSA_MEMBERS])
{
    int crt = 0;

    for (int i = RSA_P; i <= RSA_QI; i++)
        crt += bn[i] != NULL;
    return bn[RSA_N] != NULL && bn[RSA_E] != NULL &&
           (crt == 0 || (crt == RSA_QI - RSA_P + 1 && bn[RSA_D] != NULL));
}

static jwtd_err rsa_from_bns(BIGNUM *const bn[RSA_MEMBERS], unsigned flags, jwtd_key **out)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    bool priv = bn[RSA_D] != NULL, ok = bld != NULL;
    EVP_PKEY *pkey = NULL;

    for (int i = 0; ok && i < RSA_MEMBERS; i++)
        ok = bn[i] == NULL || OSSL_PARAM_BLD_push_BN(bld, rsa_params[i], bn[i]) == 1;
    if (ok)
        pkey = pkey_fromdata("RSA", bld, priv);
    OSSL_PARAM_BLD_free(bld);
    if (pkey == NULL)
        return ok ? JWTD_ERR_INVALID_KEY_FORMAT : JWTD_ERR_NO_MEMORY;
    return jose_key_from_pkey(pkey, priv, flags, out);
}

static jwtd_err jwk_rsa(const json_t *jwk, unsigned flags, jwtd_key **out)
{
    BIGNUM *bn[RSA_MEMBERS] = {0};
    bool ok = json_object_get(jwk, "oth") == NULL;
    jwtd_err rc = JWTD_ERR_INVALID_KEY_FORMAT;

    for (int i = 0; ok && i < RSA_MEMBERS; i++)
        ok = member_bn(jwk, rsa_members[i], &bn[i]) >= 0;
    if (ok && rsa_shape_ok((const BIGNUM *const *)bn))
        rc = rsa_from_bns(bn, flags, out);
    for (int i = 0; i < RSA_MEMBERS; i++)
        BN_clear_free(bn[i]);
    return rc;
}

static const jose_curve *jwk_curve(const json_t *jwk, jwtd_kty kty)
{
    const char *crv;
    size_t len;

    return member_str(jwk, "crv", &crv, &len) == 1 ? jose_curve_by_name(crv, len, kty) : NULL;
}

/* The uncompressed point 04 || x || y from exact-length coordinates; false if malformed. */
static bool ec_point(const json_t *jwk, const jose_curve *c, unsigned char *point)
{
    unsigned char *x = NULL, *y = NULL;
    bool ok = member_fixed(jwk, "x", c->len, &x) == 1 && member_fixed(jwk, "y", c->len, &y) == 1;

    if (ok) {
        point[0] = 0x04;
        memcpy(point + 1, x, c->len);
        memcpy(point + 1 + c->len, y, c->len);
    }
    free(x);
    free(y);
    return ok;
}

static jwtd_err ec_from_parts(const jose_curve *c, const unsigned char *point, const BIGNUM *d,
                              unsigned flags, jwtd_key **out)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    bool ok = bld != NULL &&
              OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->ossl, 0) == 1 &&
              OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                               1 + 2 * c->len) == 1 &&
              (d == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) == 1);

    if (ok)
        pkey = pkey_fromdata("EC", bld, d != NULL); /* refuses a point off the curve */
    OSSL_PARAM_BLD_free(bld);
    if (pkey == NULL)
        return ok ? JWTD_ERR_INVALID_KEY_FORMAT : JWTD_ERR_NO_MEMORY;
    return jose_key_from_pkey(pkey, d != NULL, flags, out);
}

static jwtd_err jwk_ec(const json_t *jwk, unsigned flags, jwtd_key **out)
{
    const jose_curve *c = jwk_curve(jwk, JWTD_KTY_EC);
    unsigned char point[1 + 2 * JOSE_CURVE_MAX_LEN], *d = NULL;
    BIGNUM *dbn = NULL;
    jwtd_err rc = JWTD_ERR_INVALID_KEY_FORMAT;
    int has_d;

    if (c == NULL || !ec_point(jwk, c, point))
        return rc;
    has_d = member_fixed(jwk, "d", c->len, &d);
    if (has_d == 1)
        dbn = secure_bn(d, c->len);
    clear_free(d, c->len);
    if (has_d == 0 || (has_d == 1 && dbn != NULL))
        rc = ec_from_parts(c, point, dbn, flags, out);
    BN_clear_free(dbn);
    return rc;
}

/* A private OKP key from "d" alone; "x" must be the public key OpenSSL derives from it. */
static EVP_PKEY *okp_private(const jose_curve *c, const unsigned char *d, const unsigned char *x)
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key_ex(NULL, c->ossl, NULL, d, c->len);
    unsigned char pub[JOSE_CURVE_MAX_LEN];
    size_t len = sizeof pub;

    if (pkey != NULL && (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 || len != c->len ||
                         memcmp(pub, x, len) != 0)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

static jwtd_err jwk_okp(const json_t *jwk, unsigned flags, jwtd_key **out)
{
    const jose_curve *c = jwk_curve(jwk, JWTD_KTY_OKP);
    unsigned char *x = NULL, *d = NULL;
    EVP_PKEY *pkey = NULL;
    int has_d = -1;

    if (c != NULL && member_fixed(jwk, "x", c->len, &x) == 1)
        has_d = member_fixed(jwk, "d", c->len, &d);
    if (has_d == 1)
        pkey = okp_private(c, d, x);
    else if (has_d == 0)
        pkey = EVP_PKEY_new_raw_public_key_ex(NULL, c->ossl, NULL, x, c->len);
    free(x);
    clear_free(d, c != NULL ? c->len : 0);
    if (pkey == NULL)
        return JWTD_ERR_INVALID_KEY_FORMAT;
    return jose_key_from_pkey(pkey, has_d == 1, flags, out);
}

static jwtd_err jwk_build(const json_t *jwk, unsigned flags, jwtd_key **out)
{
    static const struct {
        const char *kty;
        jwtd_err (*build)(const json_t *, unsigned, jwtd_key **);
    } builders[] = {{"oct", jwk_oct}, {"RSA", jwk_rsa}, {"EC", jwk_ec}, {"OKP", jwk_okp}};
    const char *kty;
    size_t len;

    if (member_str(jwk, "kty", &kty, &len) == 1) {
        for (size_t i = 0; i < sizeof builders / sizeof builders[0]; i++) {
            if (str_is(kty, len, builders[i].kty))
                return builders[i].build(jwk, flags, out);
        }
    }
    return JWTD_ERR_INVALID_KEY_FORMAT;
}

jwtd_err jose_jwk_from_json(const json_t *jwk, unsigned flags, jwtd_key **out)
{
    jwk_meta meta;
    jwtd_key *key = NULL;
    jwtd_err rc;

    if (out == NULL || jwk == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!json_is_object(jwk))
        return JWTD_ERR_INVALID_KEY_FORMAT;
    rc = jwk_meta_get(jwk, &meta);
    if (rc == JWTD_OK)
        rc = jwk_build(jwk, flags, &key);
    if (rc == JWTD_OK && meta.kid != NULL)
        rc = jose_key_set_kid(key, meta.kid, meta.kid_len);
    if (rc == JWTD_OK && meta.alg != JWTD_ALG_UNKNOWN) {
        key->alg = meta.alg;
        if (!jwtd_key_fits_alg(key, meta.alg))
            rc = JWTD_ERR_INVALID_KEY_FORMAT;
    }
    if (rc != JWTD_OK) {
        jwtd_key_free(key);
        ERR_clear_error();
        return rc;
    }
    *out = key;
    return JWTD_OK;
}

jwtd_err jwtd_key_from_jwk(const char *json, size_t len, unsigned flags, jwtd_key **out)
{
    json_t *root;
    jwtd_err rc;

    if (out != NULL)
        *out = NULL;
    if (json == NULL || out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (len > JWTD_MAX_KEY_BYTES)
        return JWTD_ERR_INVALID_KEY_FORMAT;
    root = jose_json_parse(json, len, JWTD_DEFAULT_MAX_JSON_DEPTH);
    rc = root != NULL ? jose_jwk_from_json(root, flags, out) : JWTD_ERR_INVALID_KEY_FORMAT;
    json_decref(root);
    return rc;
}

/* ---- Writing members ---- */

/* Each returns 0 on success, -1 on failure (no memory, or OpenSSL lacks the parameter). */
static int add_str(json_t *o, const char *name, const char *value)
{
    return json_object_set_new(o, name, json_string(value));
}

static int add_b64(json_t *o, const char *name, const unsigned char *buf, size_t len)
{
    char *s = jose_b64url_encode_alloc(buf, len);
    int rc = s != NULL ? add_str(o, name, s) : -1;

    if (s != NULL)
        clear_free(s, strlen(s));
    return rc;
}

/* A BIGNUM parameter, big-endian, left-padded to pad bytes (0: its minimal length). */
static int add_bn(json_t *o, const char *name, const EVP_PKEY *pkey, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = -1;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) == 1) {
        len = pad != 0 ? pad : (size_t)BN_num_bytes(bn);
        buf = malloc(len + 1);
        if (buf != NULL && BN_bn2binpad(bn, buf, (int)len) == (int)len)
            rc = add_b64(o, name, buf, len);
    }
    clear_free(buf, len);
    BN_clear_free(bn);
    return rc;
}

static int add_raw(json_t *o, const char *name, const EVP_PKEY *pkey, bool priv)
{
    unsigned char buf[JOSE_CURVE_MAX_LEN];
    size_t len = sizeof buf;
    int ok = priv ? EVP_PKEY_get_raw_private_key(pkey, buf, &len)
                  : EVP_PKEY_get_raw_public_key(pkey, buf, &len);
    int rc = ok == 1 ? add_b64(o, name, buf, len) : -1;

    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

static int add_rsa(json_t *o, const jwtd_key *key, bool priv)
{
    if (add_bn(o, "e", key->pkey, OSSL_PKEY_PARAM_RSA_E, 0) != 0 || add_str(o, "kty", "RSA") != 0 ||
        add_bn(o, "n", key->pkey, OSSL_PKEY_PARAM_RSA_N, 0) != 0)
        return -1;
    if (!priv)
        return 0;
    if (add_bn(o, "d", key->pkey, OSSL_PKEY_PARAM_RSA_D, 0) != 0)
        return -1;
    for (int i = RSA_P; i <= RSA_QI; i++) {
        /* a key made from n, e and d has no CRT values: then none is written */
        if (add_bn(o, rsa_members[i], key->pkey, rsa_params[i], 0) != 0) {
            ERR_clear_error();
            return i == RSA_P ? 0 : -1;
        }
    }
    return 0;
}

static int add_ec(json_t *o, const jwtd_key *key, bool priv)
{
    size_t len = jose_curve_by_nid(key->curve_nid)->len;

    if (add_str(o, "crv", key->curve) != 0 || add_str(o, "kty", "EC") != 0 ||
        add_bn(o, "x", key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, len) != 0 ||
        add_bn(o, "y", key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, len) != 0)
        return -1;
    return priv ? add_bn(o, "d", key->pkey, OSSL_PKEY_PARAM_PRIV_KEY, len) : 0;
}

static int add_okp(json_t *o, const jwtd_key *key, bool priv)
{
    if (add_str(o, "crv", key->curve) != 0 || add_str(o, "kty", "OKP") != 0 ||
        add_raw(o, "x", key->pkey, false) != 0)
        return -1;
    return priv ? add_raw(o, "d", key->pkey, true) : 0;
}

/* The members RFC 7638 requires, in its lexicographic order, then the private ones. An oct
 * key's required "k" is its secret: only thumbprints and private exports come here for it. */
static int jwk_add_members(json_t *o, const jwtd_key *key, bool priv)
{
    switch (key->kty) {
    case JWTD_KTY_OCT:
        if (add_b64(o, "k", key->secret, key->secret_len) != 0)
            return -1;
        return add_str(o, "kty", "oct");
    case JWTD_KTY_RSA: return add_rsa(o, key, priv);
    case JWTD_KTY_EC: return add_ec(o, key, priv);
    case JWTD_KTY_OKP: return add_okp(o, key, priv);
    }
    return -1;
}

/* ---- Export ---- */

static jwtd_err jwk_json(const jwtd_key *key, bool priv, json_t **out)
{
    json_t *o;

    if (key == NULL || out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if ((!priv && key->kty == JWTD_KTY_OCT) || (priv && !key->is_private))
        return JWTD_ERR_INVALID_ARGUMENT;
    if ((o = json_object()) == NULL)
        return JWTD_ERR_NO_MEMORY;
    if (jwk_add_members(o, key, priv) != 0 ||
        (key->kid != NULL && add_str(o, "kid", key->kid) != 0) ||
        (key->alg != JWTD_ALG_UNKNOWN && add_str(o, "alg", jwtd_alg_name(key->alg)) != 0) ||
        add_str(o, "use", "sig") != 0) {
        json_decref(o);
        ERR_clear_error();
        return JWTD_ERR_NO_MEMORY;
    }
    *out = o;
    return JWTD_OK;
}

jwtd_err jose_jwk_public_json(const jwtd_key *key, json_t **out)
{
    return jwk_json(key, false, out);
}

static jwtd_err jwk_dump(const jwtd_key *key, bool priv, char **json_out)
{
    json_t *o = NULL;
    jwtd_err rc;

    if (json_out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    *json_out = NULL;
    rc = jwk_json(key, priv, &o);
    if (rc == JWTD_OK && (*json_out = jose_json_dump(o)) == NULL)
        rc = JWTD_ERR_NO_MEMORY;
    json_decref(o);
    return rc;
}

jwtd_err jwtd_key_public_jwk(const jwtd_key *key, char **json_out)
{
    return jwk_dump(key, false, json_out);
}

jwtd_err jwtd_key_private_jwk(const jwtd_key *key, char **json_out)
{
    return jwk_dump(key, true, json_out);
}

/* ---- Thumbprint (RFC 7638) ---- */

jwtd_err jwtd_key_thumbprint(const jwtd_key *key, char out[JWTD_THUMBPRINT_B64_LEN + 1])
{
    unsigned char md[32];
    size_t md_len = 0;
    json_t *o;
    char *s = NULL;
    bool ok;

    if (key == NULL || out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if ((o = json_object()) == NULL)
        return JWTD_ERR_NO_MEMORY;
    /* required members only, sorted, no white space: jose_json_dump keeps insertion order */
    ok = jwk_add_members(o, key, false) == 0 && (s = jose_json_dump(o)) != NULL &&
         EVP_Q_digest(NULL, "SHA256", NULL, s, strlen(s), md, &md_len) == 1 && md_len == sizeof md;
    if (ok)
        jose_b64url_encode(md, sizeof md, out);
    if (s != NULL)
        clear_free(s, strlen(s)); /* an oct key's "k" is the secret */
    json_decref(o);
    ERR_clear_error();
    return ok ? JWTD_OK : JWTD_ERR_CRYPTO;
}
