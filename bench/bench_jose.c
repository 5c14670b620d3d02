/* bench_jose: ns/op of libjwtd sign and verify (HS256, RS256, PS256, ES256, EdDSA) beside the bare
 * OpenSSL operation on the same bytes (the floor), libjwt 1.x and cjose doing the same work, and a
 * minimal jansson + OpenSSL HS256 verify. Prints figures and ratios; never fails on a timing.
 * Run pinned to one core (scripts/bench.sh uses taskset). Env: BENCH_BATCHES, BENCH_BATCH_MS,
 * BENCH_CLOCK=cpu (thread CPU time instead of wall clock: for a machine shared with other work).
 * `bench_jose --profile ALG OP [SECONDS]` loops one operation alone (for perf record / callgrind).
 */
#include <cjose/cjose.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sched.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h" /* jose_b64url_encode (libsodium), jose_b64url_encode_public (OpenSSL) */
#include "jwtd/jwtd.h"

#define BENCH_DEFAULT_BATCHES 7
#define BENCH_DEFAULT_BATCH_MS 200
#define BENCH_MAX_BATCHES 64
#define BENCH_SECRET "bench-hs256-secret-of-at-least-32-bytes!"
#define BENCH_AUD "https://api.example.com"
#define BENCH_KID "k1"
#define BENCH_BUF 4096

/* One timed operation: returns 0 when the work succeeded (a failure stops its measurement). */
typedef int (*bench_op)(void *ctx);

typedef struct timing {
    bool ok;    /* measured */
    bool na;    /* the library does not support this case */
    double med; /* ns/op, median of the batches */
    double min; /* ns/op, fastest batch */
} timing;

static unsigned g_batches = BENCH_DEFAULT_BATCHES;
static double g_batch_ns = BENCH_DEFAULT_BATCH_MS * 1e6;

/* BENCH_CLOCK=cpu: the thread's CPU time instead of the wall clock, so that the time other
 * work on a shared core takes from the benchmark is not counted (set in main). */
static clockid_t g_clock = CLOCK_MONOTONIC;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(g_clock, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs op n times; the elapsed ns, or a negative value if an op failed. */
static double run_batch(bench_op op, void *ctx, uint64_t n)
{
    double t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        if (op(ctx) != 0)
            return -1.0;
    }
    return now_ns() - t0;
}

/* Batch size for about g_batch_ns per batch; 0 if the op fails. Its first call checks that it
 * works and warms the caches. */
static uint64_t calibrate(bench_op op, void *ctx)
{
    if (op(ctx) != 0)
        return 0;
    uint64_t n = 1;
    double el;
    for (;;) {
        el = run_batch(op, ctx, n);
        if (el < 0)
            return 0;
        if (el >= g_batch_ns / 10 || n >= (UINT64_C(1) << 40))
            break;
        n *= 2;
    }
    double scaled = (double)n * g_batch_ns / (el > 1.0 ? el : 1.0);
    return scaled < 1.0 ? 1 : (uint64_t)scaled;
}

/* One measured operation of a group. */
typedef struct measured {
    bench_op op;
    timing *out;
    uint64_t n;
    double per[BENCH_MAX_BATCHES];
} measured;

/* Times the ops of a group in rounds, one batch of each op per round, so that the load of a
 * shared machine falls on every column alike rather than on whichever ran at a bad moment. */
static void measure_group(measured *m, size_t count, void *ctx)
{
    for (size_t i = 0; i < count; i++) {
        *m[i].out = (timing){0};
        m[i].n = calibrate(m[i].op, ctx);
    }
    for (unsigned b = 0; b < g_batches; b++) {
        for (size_t i = 0; i < count; i++) {
            if (!m[i].n)
                continue;
            double el = run_batch(m[i].op, ctx, m[i].n);
            if (el < 0)
                m[i].n = 0;
            else
                m[i].per[b] = el / (double)m[i].n;
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (!m[i].n)
            continue;
        qsort(m[i].per, g_batches, sizeof m[i].per[0], cmp_double);
        m[i].out->ok = true;
        m[i].out->min = m[i].per[0];
        m[i].out->med = (g_batches % 2)
                            ? m[i].per[g_batches / 2]
                            : (m[i].per[g_batches / 2 - 1] + m[i].per[g_batches / 2]) / 2.0;
    }
}

/* ---- the case of one algorithm: keys for every library, one token, its pieces ---- */
typedef struct alg_case {
    jwtd_alg alg;
    const char *name;
    bool hmac;
    const char *md_name; /* NULL for EdDSA */
    int64_t now;

    /* floor */
    EVP_MD *md;
    EVP_PKEY *priv, *pub;
    EVP_MAC_CTX *mac;   /* pre-keyed; only duplicated */
    unsigned char *tbs; /* signing input: header.payload */
    size_t tbs_len;
    unsigned char sig[1024]; /* the token's signature, as OpenSSL wants it (DER for ECDSA) */
    size_t sig_len;

    /* jwtd */
    jwtd_key *sign_key;
    jwtd_keyset *verify_set;
    jwtd_validation *validation;
    jwtd_cache *cache; /* one thread: one cache, as a service keeps one per thread */
    jwtd_claims *claims;
    jwtd_header hdr;
    char *token;
    size_t token_len;
    char *claims_json;

    /* libjwt (1.10: HS, RS, ES; keys as PEM, parsed by libjwt on each call) */
    bool lj_supported;
    bool lj_failed; /* supported, but set-up failed: its cells say "failed" */
    jwt_alg_t lj_alg;
    jwt_t *lj_template;
    unsigned char *lj_verify_key;
    int lj_verify_key_len;

    /* cjose (HS, RS, PS, ES) */
    bool cj_supported;
    bool cj_failed;
    const char *cj_alg;
    cjose_jwk_t *cj_priv, *cj_pub;
    cjose_header_t *cj_hdr;
} alg_case;

static void die(const char *what)
{
    fprintf(stderr, "bench_jose: set-up failed: %s\n", what);
    exit(1);
}

static char *bio_to_string(BIO *bio)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    char *s = malloc((size_t)n + 1);
    if (!s)
        die("malloc");
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

static char *pem_private(EVP_PKEY *pk)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || !PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL))
        die("PEM_write_bio_PrivateKey");
    char *s = bio_to_string(b);
    BIO_free(b);
    return s;
}

static char *pem_public(EVP_PKEY *pk)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || !PEM_write_bio_PUBKEY(b, pk))
        die("PEM_write_bio_PUBKEY");
    char *s = bio_to_string(b);
    BIO_free(b);
    return s;
}

static EVP_PKEY *pem_read_public(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pk = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!pk)
        die("PEM_read_bio_PUBKEY");
    return pk;
}

static EVP_PKEY *generate(jwtd_alg alg)
{
    EVP_PKEY *pk = NULL;
    switch (alg) {
    case JWTD_ALG_RS256:
    case JWTD_ALG_PS256: pk = EVP_RSA_gen(2048); break;
    case JWTD_ALG_ES256: pk = EVP_EC_gen("P-256"); break;
    case JWTD_ALG_EDDSA: pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); break;
    default: break;
    }
    if (!pk)
        die("key generation");
    return pk;
}

/* Decodes one base64url segment (no padding) with libsodium; -1 if malformed or too long. */
static int b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *n)
{
    return sodium_base642bin(out, cap, in, len, NULL, n, NULL,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Converts a raw r||s ECDSA signature to DER for OpenSSL. */
static size_t ecdsa_raw_to_der(const unsigned char *raw, size_t raw_len, unsigned char *der,
                               size_t cap)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(raw_len / 2), NULL);
    BIGNUM *s = BN_bin2bn(raw + raw_len / 2, (int)(raw_len / 2), NULL);
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s))
        die("ECDSA_SIG");
    int n = i2d_ECDSA_SIG(es, NULL);
    if (n <= 0 || (size_t)n > cap)
        die("i2d_ECDSA_SIG");
    unsigned char *p = der;
    i2d_ECDSA_SIG(es, &p);
    ECDSA_SIG_free(es);
    return (size_t)n;
}

static void build_claims(alg_case *c)
{
    static const char *const roles[] = {"user", "billing:read", "admin"};
    if (jwtd_claims_new(&c->claims) ||
        jwtd_claims_set_string(c->claims, "iss", "https://auth.example.com") ||
        jwtd_claims_set_string(c->claims, "sub", "user-8f14e45fceea167a") ||
        jwtd_claims_set_string(c->claims, "aud", BENCH_AUD) ||
        jwtd_claims_set_int(c->claims, "exp", c->now + 900) ||
        jwtd_claims_set_int(c->claims, "iat", c->now) ||
        jwtd_claims_set_string(c->claims, "jti", "1b4e28ba-2fa1-11d2-883f-0016d3cca427") ||
        jwtd_claims_set_strings(c->claims, "roles", roles, 3) ||
        jwtd_claims_json(c->claims, &c->claims_json))
        die("jwtd claims");
}

static void setup_floor(alg_case *c)
{
    const char *dot2 = strrchr(c->token, '.');
    c->tbs_len = (size_t)(dot2 - c->token);
    c->tbs = malloc(c->tbs_len);
    if (!c->tbs)
        die("malloc");
    memcpy(c->tbs, c->token, c->tbs_len);
    unsigned char raw[1024];
    size_t raw_len;
    if (b64url_decode(dot2 + 1, strlen(dot2 + 1), raw, sizeof raw, &raw_len) != 0)
        die("token signature base64url");
    if (c->alg == JWTD_ALG_ES256) {
        c->sig_len = ecdsa_raw_to_der(raw, raw_len, c->sig, sizeof c->sig);
    } else {
        memcpy(c->sig, raw, raw_len);
        c->sig_len = raw_len;
    }
    if (c->md_name) {
        c->md = EVP_MD_fetch(NULL, c->md_name, NULL);
        if (!c->md)
            die("EVP_MD_fetch");
    }
    if (c->hmac) {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
            OSSL_PARAM_construct_end()};
        c->mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
        EVP_MAC_free(mac);
        if (!c->mac || !EVP_MAC_init(c->mac, (const unsigned char *)BENCH_SECRET,
                                     strlen(BENCH_SECRET), params))
            die("HMAC context");
    }
}

static void setup_libjwt(alg_case *c, const char *priv_pem, const char *pub_pem)
{
    switch (c->alg) {
    case JWTD_ALG_HS256: c->lj_alg = JWT_ALG_HS256; break;
    case JWTD_ALG_RS256: c->lj_alg = JWT_ALG_RS256; break;
    case JWTD_ALG_ES256: c->lj_alg = JWT_ALG_ES256; break;
    default: return; /* libjwt 1.10 has no PS* and no EdDSA */
    }
    const unsigned char *sk =
        c->hmac ? (const unsigned char *)BENCH_SECRET : (const unsigned char *)priv_pem;
    const char *vk = c->hmac ? BENCH_SECRET : pub_pem;
    if (sk == NULL || vk == NULL) /* no PEM for an asymmetric algorithm */
        die("libjwt keys");
    int sk_len = (int)strlen((const char *)sk);
    if (jwt_new(&c->lj_template) || jwt_add_grants_json(c->lj_template, c->claims_json) ||
        jwt_add_header(c->lj_template, "kid", BENCH_KID) ||
        jwt_set_alg(c->lj_template, c->lj_alg, sk, sk_len) ||
        !(c->lj_verify_key = (unsigned char *)strdup(vk))) {
        fprintf(stderr, "bench_jose: libjwt set-up failed for %s\n", c->name);
        c->lj_failed = true;
        return;
    }
    c->lj_verify_key_len = (int)strlen(vk);
    c->lj_supported = true;
}

static void setup_cjose(alg_case *c)
{
    cjose_err e;
    switch (c->alg) {
    case JWTD_ALG_HS256: c->cj_alg = CJOSE_HDR_ALG_HS256; break;
    case JWTD_ALG_RS256: c->cj_alg = CJOSE_HDR_ALG_RS256; break;
    case JWTD_ALG_PS256: c->cj_alg = CJOSE_HDR_ALG_PS256; break;
    case JWTD_ALG_ES256: c->cj_alg = CJOSE_HDR_ALG_ES256; break;
    default: return; /* cjose 0.6 has no EdDSA */
    }
    if (c->hmac) {
        c->cj_priv =
            cjose_jwk_create_oct_spec((const uint8_t *)BENCH_SECRET, strlen(BENCH_SECRET), &e);
        c->cj_pub = c->cj_priv ? cjose_jwk_retain(c->cj_priv, &e) : NULL;
    } else {
        char *pj = NULL, *uj = NULL;
        if (jwtd_key_private_jwk(c->sign_key, &pj) != JWTD_OK ||
            jwtd_key_public_jwk(jwtd_keyset_get(c->verify_set, 0), &uj) != JWTD_OK)
            die("jwtd JWK export for cjose");
        c->cj_priv = cjose_jwk_import(pj, strlen(pj), &e);
        c->cj_pub = cjose_jwk_import(uj, strlen(uj), &e);
        jwtd_free(pj);
        jwtd_free(uj);
    }
    c->cj_hdr = cjose_header_new(&e);
    if (!c->cj_priv || !c->cj_pub || !c->cj_hdr ||
        !cjose_header_set(c->cj_hdr, CJOSE_HDR_ALG, c->cj_alg, &e) ||
        !cjose_header_set(c->cj_hdr, "typ", "JWT", &e) ||
        !cjose_header_set(c->cj_hdr, CJOSE_HDR_KID, BENCH_KID, &e)) {
        fprintf(stderr, "bench_jose: cjose set-up failed for %s\n", c->name);
        c->cj_failed = true;
        return;
    }
    c->cj_supported = true;
}

static void setup_case(alg_case *c, jwtd_alg alg, const char *md_name)
{
    memset(c, 0, sizeof *c);
    c->alg = alg;
    c->name = jwtd_alg_name(alg);
    c->hmac = alg == JWTD_ALG_HS256;
    c->md_name = md_name;
    c->now = (int64_t)time(NULL);
    build_claims(c);

    jwtd_key *key = NULL, *pubkey = NULL;
    char *priv_pem = NULL, *pub_pem = NULL;
    if (c->hmac) {
        if (jwtd_key_from_secret(BENCH_SECRET, strlen(BENCH_SECRET), 0, &key) != JWTD_OK)
            die("jwtd_key_from_secret");
        pubkey = jwtd_key_ref(key);
    } else {
        c->priv = generate(alg);
        priv_pem = pem_private(c->priv);
        pub_pem = pem_public(c->priv);
        c->pub = pem_read_public(pub_pem);
        if (jwtd_key_from_pem(priv_pem, strlen(priv_pem), 0, &key) != JWTD_OK)
            die("jwtd_key_from_pem (private)");
        if (jwtd_key_from_pem(pub_pem, strlen(pub_pem), 0, &pubkey) != JWTD_OK)
            die("jwtd_key_from_pem (public)");
    }
    /* Both ends name the key "k1", as a JWKS-backed service would. */
    jwtd_key *named = NULL, *pub_named = NULL;
    if (jwtd_key_with_kid(key, BENCH_KID, &named) != JWTD_OK ||
        jwtd_key_with_kid(pubkey, BENCH_KID, &pub_named) != JWTD_OK)
        die("jwtd_key_with_kid");
    jwtd_key_free(key);
    jwtd_key_free(pubkey);
    c->sign_key = named;
    if (jwtd_keyset_new(&pub_named, 1, &c->verify_set) != JWTD_OK)
        die("jwtd_keyset_new");
    jwtd_key_free(pub_named);

    if (jwtd_validation_new(&c->validation) || jwtd_validation_allow_alg(c->validation, alg) ||
        jwtd_validation_require_exp(c->validation, true) ||
        jwtd_validation_add_audience(c->validation, BENCH_AUD))
        die("jwtd validation");

    if (jwtd_cache_new(&c->cache) != JWTD_OK)
        die("jwtd_cache_new");
    c->hdr.typ = "JWT";
    c->hdr.kid = BENCH_KID;
    if (jwtd_sign(c->sign_key, alg, &c->hdr, c->claims, &c->token) != JWTD_OK)
        die("jwtd_sign");
    c->token_len = strlen(c->token);

    setup_floor(c);
    setup_libjwt(c, priv_pem, pub_pem);
    setup_cjose(c);
    free(priv_pem);
    free(pub_pem);
}

static void free_case(alg_case *c)
{
    EVP_MD_free(c->md);
    EVP_PKEY_free(c->priv);
    EVP_PKEY_free(c->pub);
    EVP_MAC_CTX_free(c->mac);
    free(c->tbs);
    jwtd_key_free(c->sign_key);
    jwtd_keyset_free(c->verify_set);
    jwtd_validation_free(c->validation);
    jwtd_cache_free(c->cache);
    jwtd_claims_free(c->claims);
    jwtd_free(c->token);
    jwtd_free(c->claims_json);
    jwt_free(c->lj_template);
    free(c->lj_verify_key);
    cjose_jwk_release(c->cj_priv);
    cjose_jwk_release(c->cj_pub);
    cjose_header_release(c->cj_hdr);
}

/* ---- the floor: bare OpenSSL with everything loaded ---- */
static int floor_hmac(alg_case *c, unsigned char out[EVP_MAX_MD_SIZE], size_t *out_len)
{
    EVP_MAC_CTX *m = EVP_MAC_CTX_dup(c->mac);
    int ok = m && EVP_MAC_update(m, c->tbs, c->tbs_len) &&
             EVP_MAC_final(m, out, out_len, EVP_MAX_MD_SIZE);
    EVP_MAC_CTX_free(m);
    return ok ? 0 : -1;
}

static int init_pkey_ctx(alg_case *c, EVP_PKEY_CTX *pctx)
{
    if (c->alg != JWTD_ALG_PS256)
        return 1;
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
}

static int op_floor_sign(void *ctx)
{
    alg_case *c = ctx;
    unsigned char out[1024];
    size_t out_len = sizeof out;
    if (c->hmac)
        return floor_hmac(c, out, &out_len);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = m && EVP_DigestSignInit(m, &pctx, c->md, NULL, c->priv) && init_pkey_ctx(c, pctx) &&
             EVP_DigestSign(m, out, &out_len, c->tbs, c->tbs_len);
    EVP_MD_CTX_free(m);
    return ok ? 0 : -1;
}

static int op_floor_verify(void *ctx)
{
    alg_case *c = ctx;
    if (c->hmac) {
        unsigned char out[EVP_MAX_MD_SIZE];
        size_t out_len;
        if (floor_hmac(c, out, &out_len) != 0)
            return -1;
        return out_len == c->sig_len && CRYPTO_memcmp(out, c->sig, out_len) == 0 ? 0 : -1;
    }
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = m && EVP_DigestVerifyInit(m, &pctx, c->md, NULL, c->pub) && init_pkey_ctx(c, pctx) &&
             EVP_DigestVerify(m, c->sig, c->sig_len, c->tbs, c->tbs_len) == 1;
    EVP_MD_CTX_free(m);
    return ok ? 0 : -1;
}

/* ---- libjwtd through its public API, with the thread's cache (and without: -nocache) ---- */
static int jwtd_sign_with(alg_case *c, jwtd_cache *cache)
{
    char *tok = NULL;
    if (jwtd_sign_cached(cache, c->sign_key, c->alg, &c->hdr, c->claims, &tok) != JWTD_OK)
        return -1;
    jwtd_free(tok);
    return 0;
}

/* A full verify as a service does it: the token, then one claim read from it (sub). */
static int jwtd_verify_with(alg_case *c, jwtd_cache *cache)
{
    jwtd_token *t = NULL;
    const char *sub = NULL;
    if (jwtd_verify_cached(cache, c->token, c->token_len, c->verify_set, c->validation, &t, NULL) !=
            JWTD_OK ||
        jwtd_token_claim_string(t, "sub", &sub) != JWTD_OK || sub[0] != 'u') {
        jwtd_token_free(t);
        return -1;
    }
    jwtd_token_free(t);
    return 0;
}

static int op_jwtd_sign(void *ctx) { return jwtd_sign_with(ctx, ((alg_case *)ctx)->cache); }
static int op_jwtd_verify(void *ctx) { return jwtd_verify_with(ctx, ((alg_case *)ctx)->cache); }
static int op_jwtd_sign_nocache(void *ctx) { return jwtd_sign_with(ctx, NULL); }
static int op_jwtd_verify_nocache(void *ctx) { return jwtd_verify_with(ctx, NULL); }

/* ---- libjwt: it has no validation object, so alg, exp and aud are checked here ---- */
static int op_libjwt_sign(void *ctx)
{
    alg_case *c = ctx;
    char *tok = jwt_encode_str(c->lj_template);
    if (!tok)
        return -1;
    free(tok);
    return 0;
}

static int op_libjwt_verify(void *ctx)
{
    alg_case *c = ctx;
    jwt_t *j = NULL;
    if (jwt_decode(&j, c->token, c->lj_verify_key, c->lj_verify_key_len) != 0)
        return -1;
    const char *aud = jwt_get_grant(j, "aud");
    int ok = jwt_get_alg(j) == c->lj_alg && jwt_get_grant_int(j, "exp") > (long)time(NULL) && aud &&
             strcmp(aud, BENCH_AUD) == 0;
    jwt_free(j);
    return ok ? 0 : -1;
}

/* ---- cjose: JWS only, so the claims are parsed and checked here with jansson ---- */
static int op_cjose_sign(void *ctx)
{
    alg_case *c = ctx;
    cjose_err e;
    const char *ser = NULL;
    cjose_jws_t *jws = cjose_jws_sign(c->cj_priv, c->cj_hdr, (const uint8_t *)c->claims_json,
                                      strlen(c->claims_json), &e);
    int ok = jws && cjose_jws_export(jws, &ser, &e);
    cjose_jws_release(jws);
    return ok ? 0 : -1;
}

/* exp in the future and aud equal to ours; duplicates in the claims already rejected. */
static int check_claims(const char *json, size_t len)
{
    json_t *claims = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (!claims)
        return -1;
    json_t *exp = json_object_get(claims, "exp");
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    int ok = json_is_integer(exp) && json_integer_value(exp) > (json_int_t)time(NULL) && aud &&
             strcmp(aud, BENCH_AUD) == 0;
    json_decref(claims);
    return ok ? 0 : -1;
}

static int op_cjose_verify(void *ctx)
{
    alg_case *c = ctx;
    cjose_err e;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    cjose_jws_t *jws = cjose_jws_import(c->token, c->token_len, &e);
    if (!jws)
        return -1;
    const char *alg = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_ALG, &e);
    int ok = alg && strcmp(alg, c->cj_alg) == 0 && cjose_jws_verify(jws, c->cj_pub, &e) &&
             cjose_jws_get_plaintext(jws, &plain, &plain_len, &e) &&
             check_claims((const char *)plain, plain_len) == 0;
    cjose_jws_release(jws);
    return ok ? 0 : -1;
}

/* ---- minimal full HS256 verify: split, base64url (libsodium), pre-keyed HMAC, strict jansson
 * parse of header and claims, alg and exp checks. The reference for what verify must cost. ---- */
static int op_minimal_verify(void *ctx)
{
    alg_case *c = ctx;
    const char *t = c->token;
    const char *d1 = memchr(t, '.', c->token_len);
    if (!d1)
        return -1;
    const char *d2 = memchr(d1 + 1, '.', c->token_len - (size_t)(d1 + 1 - t));
    if (!d2 || memchr(d2 + 1, '.', c->token_len - (size_t)(d2 + 1 - t)))
        return -1;
    unsigned char hdr[BENCH_BUF], body[BENCH_BUF], sig[EVP_MAX_MD_SIZE], mac[EVP_MAX_MD_SIZE];
    size_t hdr_len, body_len, sig_len, mac_len;
    if (b64url_decode(t, (size_t)(d1 - t), hdr, sizeof hdr, &hdr_len) ||
        b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), body, sizeof body, &body_len) ||
        b64url_decode(d2 + 1, c->token_len - (size_t)(d2 + 1 - t), sig, sizeof sig, &sig_len))
        return -1;
    EVP_MAC_CTX *m = EVP_MAC_CTX_dup(c->mac);
    int ok = m && EVP_MAC_update(m, (const unsigned char *)t, (size_t)(d2 - t)) &&
             EVP_MAC_final(m, mac, &mac_len, sizeof mac);
    EVP_MAC_CTX_free(m);
    if (!ok || mac_len != sig_len || CRYPTO_memcmp(mac, sig, sig_len) != 0)
        return -1;
    json_t *h = json_loadb((const char *)hdr, hdr_len, JSON_REJECT_DUPLICATES, NULL);
    const char *alg = json_string_value(json_object_get(h, "alg"));
    ok = alg && strcmp(alg, "HS256") == 0;
    json_decref(h);
    if (!ok)
        return -1;
    return check_claims((const char *)body, body_len);
}

/* ---- report ---- */
typedef struct row {
    const char *alg;
    const char *op;
    timing jwtd, floor, libjwt, cjose;
    double target; /* max jwtd/floor */
} row;

static void fmt_time(char *buf, size_t cap, timing t)
{
    if (t.na)
        snprintf(buf, cap, "n/a");
    else if (!t.ok)
        snprintf(buf, cap, "failed");
    else
        snprintf(buf, cap, "%.0f (%.0f)", t.med, t.min);
}

static void fmt_ratio(char *buf, size_t cap, timing num, timing den)
{
    if (num.ok && den.ok)
        snprintf(buf, cap, "%.2fx (%.2fx)", num.med / den.med, num.min / den.min);
    else
        snprintf(buf, cap, "-");
}

static void print_row(const row *r)
{
    char j[40], f[40], l[40], cj[40], rf[32], rl[32], rc[32], mark[48];
    fmt_time(j, sizeof j, r->jwtd);
    fmt_time(f, sizeof f, r->floor);
    fmt_time(l, sizeof l, r->libjwt);
    fmt_time(cj, sizeof cj, r->cjose);
    fmt_ratio(rf, sizeof rf, r->jwtd, r->floor);
    fmt_ratio(rl, sizeof rl, r->libjwt, r->jwtd);
    fmt_ratio(rc, sizeof rc, r->cjose, r->jwtd);
    if (r->jwtd.ok && r->floor.ok)
        snprintf(mark, sizeof mark, "%s (<= %.1fx)",
                 r->jwtd.med / r->floor.med <= r->target ? "PASS" : "MISS", r->target);
    else
        snprintf(mark, sizeof mark, "MISS (not measured)");
    printf("%-6s %-7s %-17s %-17s %-17s %-17s %-15s %-15s %-15s %s\n", r->alg, r->op, j, f, l, cj,
           rf, rl, rc, mark);
}

static unsigned env_unsigned(const char *name, unsigned dflt, unsigned lo, unsigned hi)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v < lo || v > hi)
        return dflt;
    return (unsigned)v;
}

/* Operations that --profile can loop alone. */
static const struct {
    const char *name;
    bench_op op;
} profile_ops[] = {{"jwtd-verify", op_jwtd_verify},
                   {"jwtd-sign", op_jwtd_sign},
                   {"jwtd-verify-nocache", op_jwtd_verify_nocache},
                   {"jwtd-sign-nocache", op_jwtd_sign_nocache},
                   {"minimal-verify", op_minimal_verify},
                   {"floor-verify", op_floor_verify},
                   {"floor-sign", op_floor_sign},
                   {"cjose-verify", op_cjose_verify},
                   {"cjose-sign", op_cjose_sign},
                   {"libjwt-verify", op_libjwt_verify},
                   {"libjwt-sign", op_libjwt_sign}};

static int profile(const char *alg_name, const char *which, const char *seconds)
{
    bench_op op = NULL;
    for (size_t i = 0; i < sizeof profile_ops / sizeof profile_ops[0]; i++) {
        if (strcmp(which, profile_ops[i].name) == 0)
            op = profile_ops[i].op;
    }
    jwtd_alg alg = jwtd_alg_from_name(alg_name, strlen(alg_name));
    double secs = seconds ? strtod(seconds, NULL) : 3.0;
    bool hmac = alg == JWTD_ALG_HS256;
    if (!op ||
        !(hmac || alg == JWTD_ALG_RS256 || alg == JWTD_ALG_PS256 || alg == JWTD_ALG_ES256 ||
          alg == JWTD_ALG_EDDSA) ||
        (op == op_minimal_verify && !hmac) || !(secs > 0 && secs <= 600)) {
        fprintf(stderr,
                "usage: bench_jose --profile HS256|RS256|PS256|ES256|EdDSA jwtd-verify|jwtd-sign|"
                "jwtd-verify-nocache|jwtd-sign-nocache|minimal-verify(HS256)|floor-verify|floor-"
                "sign|cjose-verify|cjose-sign|libjwt-verify|"
                "libjwt-sign [SECONDS]\n");
        return 2;
    }
    alg_case c;
    setup_case(&c, alg, alg == JWTD_ALG_EDDSA ? NULL : "SHA256");
    if ((op == op_cjose_verify || op == op_cjose_sign) && !c.cj_supported) {
        fprintf(stderr, "bench_jose: cjose has no %s\n", alg_name);
        return 2;
    }
    if ((op == op_libjwt_verify || op == op_libjwt_sign) && !c.lj_supported) {
        fprintf(stderr, "bench_jose: libjwt has no %s\n", alg_name);
        return 2;
    }
    uint64_t n = 0;
    double end = now_ns() + secs * 1e9;
    while (now_ns() < end) {
        if (run_batch(op, &c, 1000) < 0) {
            fprintf(stderr, "bench_jose: %s failed\n", which);
            return 1;
        }
        n += 1000;
    }
    printf("%s: %llu ops in %.1f s\n", which, (unsigned long long)n, secs);
    free_case(&c);
    return 0;
}

/* ---- Ed25519: libsodium beside OpenSSL (issue 11) ----
 * The floor of an algorithm is the fastest correct implementation among the libraries jwtd
 * uses. For Ed25519 that is libsodium (libjwtd's backend since issue 11), so this block measures
 * jwtd beside both OpenSSL 3's EVP and libsodium on the same token, interleaved in one group. */
typedef struct ed_case {
    alg_case c; /* first: the OpenSSL floor and jwtd ops take it */
    unsigned char pk[crypto_sign_ed25519_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_ed25519_SECRETKEYBYTES];
} ed_case;

static int op_sodium_sign(void *ctx)
{
    ed_case *e = ctx;
    unsigned char sig[crypto_sign_ed25519_BYTES];
    return crypto_sign_ed25519_detached(sig, NULL, e->c.tbs, e->c.tbs_len, e->sk);
}

static int op_sodium_verify(void *ctx)
{
    ed_case *e = ctx;
    return crypto_sign_ed25519_verify_detached(e->c.sig, e->c.tbs, e->c.tbs_len, e->pk);
}

static void print_ed_row(const char *op, timing j, timing ossl, timing sod)
{
    char tj[40], to[40], ts[40], rf[32], ro[32];
    timing fastest = ossl.ok && (!sod.ok || ossl.med < sod.med) ? ossl : sod;
    fmt_time(tj, sizeof tj, j);
    fmt_time(to, sizeof to, ossl);
    fmt_time(ts, sizeof ts, sod);
    fmt_ratio(rf, sizeof rf, j, fastest);
    fmt_ratio(ro, sizeof ro, ossl, sod);
    printf("%-6s %-7s %-17s %-17s %-17s %-15s %-15s %s\n", "EdDSA", op, tj, to, ts, rf, ro,
           j.ok && fastest.ok ? (j.med / fastest.med <= 1.1 ? "PASS (<= 1.1x)" : "MISS (<= 1.1x)")
                              : "MISS (not measured)");
}

static void bench_ed25519(void)
{
    ed_case e;
    unsigned char seed[crypto_sign_ed25519_SEEDBYTES], pk[crypto_sign_ed25519_PUBLICKEYBYTES];
    size_t seed_len = sizeof seed, pk_len = sizeof pk;
    timing js = {0}, jv = {0}, os = {0}, ov = {0}, ss = {0}, sv = {0};

    setup_case(&e.c, JWTD_ALG_EDDSA, NULL);
    if (EVP_PKEY_get_raw_private_key(e.c.priv, seed, &seed_len) != 1 ||
        EVP_PKEY_get_raw_public_key(e.c.pub, pk, &pk_len) != 1 ||
        crypto_sign_ed25519_seed_keypair(e.pk, e.sk, seed) != 0 || memcmp(pk, e.pk, sizeof pk) != 0)
        die("Ed25519 keys for libsodium");
    sodium_memzero(seed, sizeof seed);
    measured m[] = {{.op = op_floor_sign, .out = &os},    {.op = op_sodium_sign, .out = &ss},
                    {.op = op_jwtd_sign, .out = &js},     {.op = op_floor_verify, .out = &ov},
                    {.op = op_sodium_verify, .out = &sv}, {.op = op_jwtd_verify, .out = &jv}};
    measure_group(m, sizeof m / sizeof m[0], &e);
    printf("\nEd25519 floors (issue 11): jwtd beside OpenSSL's EVP and libsodium %s on the same "
           "token; "
           "ratios of medians (of fastest batches)\n",
           sodium_version_string());
    printf("%-6s %-7s %-17s %-17s %-17s %-15s %-15s %s\n", "alg", "op", "jwtd", "OpenSSL EVP",
           "libsodium", "jwtd/fastest", "OpenSSL/sodium", "target");
    print_ed_row("sign", js, os, ss);
    print_ed_row("verify", jv, ov, sv);
    free_case(&e.c);
    sodium_memzero(e.sk, sizeof e.sk);
}

/* ---- Default algorithm of jwtd serve (issue 11) ----
 * jwtd's sign and verify for each asymmetric algorithm it can generate keys for, all in one
 * interleaved group (so the load of a shared machine falls on every algorithm alike), with the
 * token's size: the figures behind the default key-alg (docs/BENCHMARKS.md). */
enum { DEF_RS256, DEF_PS256, DEF_ES256, DEF_EDDSA, DEF_N };
typedef struct def_cases {
    alg_case c[DEF_N];
} def_cases;

#define DEF_OPS(i)                                                                                 \
    static int op_def_sign_##i(void *ctx) { return op_jwtd_sign(&((def_cases *)ctx)->c[i]); }      \
    static int op_def_verify_##i(void *ctx) { return op_jwtd_verify(&((def_cases *)ctx)->c[i]); }
DEF_OPS(0)
DEF_OPS(1)
DEF_OPS(2)
DEF_OPS(3)

static void bench_default_alg(void)
{
    static const jwtd_alg algs[DEF_N] = {JWTD_ALG_RS256, JWTD_ALG_PS256, JWTD_ALG_ES256,
                                         JWTD_ALG_EDDSA};
    static const bench_op sign_ops[DEF_N] = {op_def_sign_0, op_def_sign_1, op_def_sign_2,
                                             op_def_sign_3};
    static const bench_op verify_ops[DEF_N] = {op_def_verify_0, op_def_verify_1, op_def_verify_2,
                                               op_def_verify_3};
    static def_cases d;
    timing sign[DEF_N] = {{0}}, verify[DEF_N] = {{0}};
    measured m[2 * DEF_N];

    for (int i = 0; i < DEF_N; i++) {
        setup_case(&d.c[i], algs[i], algs[i] == JWTD_ALG_EDDSA ? NULL : "SHA256");
        m[2 * i] = (measured){.op = sign_ops[i], .out = &sign[i]};
        m[2 * i + 1] = (measured){.op = verify_ops[i], .out = &verify[i]};
    }
    measure_group(m, 2 * DEF_N, &d);
    printf("\nDefault algorithm (issue 11): jwtd per asymmetric algorithm, one interleaved group "
           "(RSA 2048, P-256, Ed25519)\n");
    printf("%-6s %-12s %-17s %-17s %-14s %s\n", "alg", "token bytes", "sign", "verify",
           "verify/EdDSA", "sign/EdDSA");
    for (int i = 0; i < DEF_N; i++) {
        char ts[40], tv[40], rv[32], rs[32];
        fmt_time(ts, sizeof ts, sign[i]);
        fmt_time(tv, sizeof tv, verify[i]);
        fmt_ratio(rv, sizeof rv, verify[i], verify[DEF_EDDSA]);
        fmt_ratio(rs, sizeof rs, sign[i], sign[DEF_EDDSA]);
        printf("%-6s %-12zu %-17s %-17s %-14s %s\n", d.c[i].name, d.c[i].token_len, ts, tv, rv, rs);
    }
    for (int i = 0; i < DEF_N; i++)
        free_case(&d.c[i]);
}

/* ---- base64url encoding on the sign path (issue 11): libsodium beside OpenSSL ----
 * The two encoders libjwtd has, on the three segments an HS256 sign encodes: the claims (this
 * bench's, 200-odd bytes), a header, and the 32-byte MAC. jose_b64url_encode is libsodium's
 * constant-time sodium_bin2base64 (URL-safe, no padding); jose_b64url_encode_public is
 * OpenSSL's EVP_EncodeBlock and the alphabet translation pass (src/jose/b64.c). */
typedef struct b64_case {
    const unsigned char *seg[3];
    size_t len[3];
    char out[1024];
} b64_case;

static int op_b64_sodium(void *ctx)
{
    b64_case *b = ctx;
    for (int i = 0; i < 3; i++)
        jose_b64url_encode(b->seg[i], b->len[i], b->out);
    return b->out[0] == '\0' ? -1 : 0;
}

static int op_b64_openssl(void *ctx)
{
    b64_case *b = ctx;
    for (int i = 0; i < 3; i++)
        jose_b64url_encode_public(b->seg[i], b->len[i], b->out);
    return b->out[0] == '\0' ? -1 : 0;
}

static void bench_b64(void)
{
    static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";
    unsigned char mac[32];
    alg_case c;
    b64_case b;
    timing ts = {0}, to = {0};
    char rs[32];

    setup_case(&c, JWTD_ALG_HS256, "SHA256");
    for (size_t i = 0; i < sizeof mac; i++)
        mac[i] = (unsigned char)(i * 37u + 11u);
    b.seg[0] = (const unsigned char *)c.claims_json;
    b.len[0] = strlen(c.claims_json);
    b.seg[1] = (const unsigned char *)hdr;
    b.len[1] = sizeof hdr - 1;
    b.seg[2] = mac;
    b.len[2] = sizeof mac;
    measured m[] = {{.op = op_b64_sodium, .out = &ts}, {.op = op_b64_openssl, .out = &to}};
    measure_group(m, sizeof m / sizeof m[0], &b);
    char t1[40], t2[40];
    fmt_time(t1, sizeof t1, ts);
    fmt_time(t2, sizeof t2, to);
    fmt_ratio(rs, sizeof rs, ts, to);
    printf("\nbase64url encode (issue 11), ns per sign's three segments (%zu + %zu + %zu bytes): "
           "libsodium %s, OpenSSL EVP_EncodeBlock + translation %s, sodium/OpenSSL %s\n",
           b.len[0], b.len[1], b.len[2], t1, t2, rs);
    free_case(&c);
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        die("sodium_init");
    if (argc >= 4 && strcmp(argv[1], "--profile") == 0)
        return profile(argv[2], argv[3], argc >= 5 ? argv[4] : NULL);
    if (argc > 1) {
        fprintf(stderr, "usage: bench_jose [--profile ALG OP [SECONDS]]\n");
        return 2;
    }
    g_batches = env_unsigned("BENCH_BATCHES", BENCH_DEFAULT_BATCHES, 1, BENCH_MAX_BATCHES);
    g_batch_ns = env_unsigned("BENCH_BATCH_MS", BENCH_DEFAULT_BATCH_MS, 1, 10000) * 1e6;
    const char *clock_name = getenv("BENCH_CLOCK");
    if (clock_name != NULL && strcmp(clock_name, "cpu") == 0)
        g_clock = CLOCK_THREAD_CPUTIME_ID;

    static const struct {
        jwtd_alg alg;
        const char *md;
    } algs[] = {{JWTD_ALG_HS256, "SHA256"},
                {JWTD_ALG_RS256, "SHA256"},
                {JWTD_ALG_PS256, "SHA256"},
                {JWTD_ALG_ES256, "SHA256"},
                {JWTD_ALG_EDDSA, NULL}};
    enum { N_ALGS = sizeof algs / sizeof algs[0] };

    printf("bench_jose: ns/op, median of %u batches of ~%.0f ms (fastest batch in parentheses), on "
           "CPU %d\n",
           g_batches, g_batch_ns / 1e6, sched_getcpu());
    printf("clock: %s\n", g_clock == CLOCK_MONOTONIC ? "wall (CLOCK_MONOTONIC)"
                                                     : "thread CPU time (BENCH_CLOCK=cpu)");
    printf("jwtd %s, %s, libjwt 1.x, cjose %s, jansson %s\n", JWTD_VERSION,
           OpenSSL_version(OPENSSL_VERSION), cjose_version(), JANSSON_VERSION);
    printf("ratios of medians (of fastest batches): jwtd/floor (lower is better); libjwt/jwtd and\n"
           "cjose/jwtd (above 1 = jwtd faster). Batches of all columns are interleaved round by "
           "round.\n"
           "target: the issue's bound on jwtd/floor (medians); PASS/MISS is a marker, never a "
           "failure\n\n");
    printf("%-6s %-7s %-17s %-17s %-17s %-17s %-15s %-15s %-15s %s\n", "alg", "op", "jwtd",
           "floor(OpenSSL)", "libjwt", "cjose", "jwtd/floor", "libjwt/jwtd", "cjose/jwtd",
           "target");

    timing minimal = {0};
    double hmac_floor = 0;
    for (unsigned i = 0; i < N_ALGS; i++) {
        alg_case c;
        setup_case(&c, algs[i].alg, algs[i].md);
        double target_sign = c.hmac ? 2.5 : 1.1, target_verify = c.hmac ? 2.5 : 1.1;
        row sign = {.alg = c.name, .op = "sign", .target = target_sign};
        row verify = {.alg = c.name, .op = "verify", .target = target_verify};
        measured m[9];
        size_t k = 0;
        m[k++] = (measured){.op = op_floor_sign, .out = &sign.floor};
        m[k++] = (measured){.op = op_jwtd_sign, .out = &sign.jwtd};
        m[k++] = (measured){.op = op_floor_verify, .out = &verify.floor};
        m[k++] = (measured){.op = op_jwtd_verify, .out = &verify.jwtd};
        if (c.lj_supported) {
            m[k++] = (measured){.op = op_libjwt_sign, .out = &sign.libjwt};
            m[k++] = (measured){.op = op_libjwt_verify, .out = &verify.libjwt};
        }
        if (c.cj_supported) {
            m[k++] = (measured){.op = op_cjose_sign, .out = &sign.cjose};
            m[k++] = (measured){.op = op_cjose_verify, .out = &verify.cjose};
        }
        if (c.hmac)
            m[k++] = (measured){.op = op_minimal_verify, .out = &minimal};
        measure_group(m, k, &c);
        sign.libjwt.na = verify.libjwt.na = !c.lj_supported && !c.lj_failed;
        sign.cjose.na = verify.cjose.na = !c.cj_supported && !c.cj_failed;
        if (c.hmac)
            hmac_floor = verify.floor.ok ? verify.floor.med : 0;
        print_row(&sign);
        print_row(&verify);
        fflush(stdout);
        free_case(&c);
    }
    char m[40];
    fmt_time(m, sizeof m, minimal);
    printf("\nminimal HS256 verify (split, sodium base64url, pre-keyed HMAC, jansson strict parse, "
           "exp): %s",
           m);
    if (minimal.ok && hmac_floor > 0)
        printf(" = %.2fx the HMAC floor", minimal.med / hmac_floor);
    printf("\nfailed = the library returned an error (its set-up, or its sign or verify)\n");
    bench_b64();
    bench_ed25519();
    bench_default_alg();
    return 0;
}
