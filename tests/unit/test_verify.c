/* Happy paths of libjwtd verification: every algorithm signed and verified (and cross-checked
 * against bare OpenSSL), key selection in sets, typ/aud/leeway rules, the token getters,
 * the insecure peek/decode calls, raw JWS serializations and concurrent verification. */
#include "testutil.h"

#include <pthread.h>

#include <jansson.h>

#define EXP_OK (TU_NOW + 3600)

/* ---- helpers ---- */

/* Signs claims JSON with the library. Caller frees the token. */
static char *lib_sign(const jwtd_key *key, jwtd_alg alg, const jwtd_header *hdr,
                      const char *claims_json)
{
    jwtd_claims *c = NULL;
    char *tok = NULL;

    assert_int_equal(jwtd_claims_from_json(claims_json, strlen(claims_json), &c), JWTD_OK);
    assert_int_equal(jwtd_sign(key, alg, hdr, c, &tok), JWTD_OK);
    assert_non_null(tok);
    jwtd_claims_free(c);
    return tok;
}

static char *std_claims(void)
{
    return tu_printf("{\"sub\":\"alice\",\"exp\":%lld}", (long long)EXP_OK);
}

/* Bare OpenSSL verification of a JWS signature (raw r||s converted to DER for ECDSA). */
static bool ossl_verify(jwtd_alg alg, EVP_PKEY *pkey, const char *msg, size_t msg_len,
                        const unsigned char *sig, size_t sig_len)
{
    size_t coord = tu_ec_coord_len(alg);
    unsigned char *der = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok;

    assert_non_null(ctx);
    if (coord != 0) {
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r, *s;
        int n;

        assert_int_equal(sig_len, 2 * coord);
        r = BN_bin2bn(sig, (int)coord, NULL);
        s = BN_bin2bn(sig + coord, (int)coord, NULL);
        assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
        n = i2d_ECDSA_SIG(es, &der);
        assert_true(n > 0);
        sig = der;
        sig_len = (size_t)n;
        ECDSA_SIG_free(es);
    }
    assert_int_equal(EVP_DigestVerifyInit_ex(ctx, &pctx,
                                             alg == JWTD_ALG_EDDSA ? NULL : tu_md_name(alg), NULL,
                                             NULL, pkey, NULL),
                     1);
    if (alg == JWTD_ALG_PS256 || alg == JWTD_ALG_PS384 || alg == JWTD_ALG_PS512) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
    }
    ok = EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)msg, msg_len);
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok == 1;
}

static size_t last_dot(const char *tok) { return (size_t)(strrchr(tok, '.') - tok); }

static bool same_kid(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* ---- every algorithm ---- */

struct alg_row {
    jwtd_alg alg;
    const char *gen; /* "lib": jwtd_key_generate(gen_alg); "ed448"; "secret"; "rsa-pem": the
                        private PEM of the generated RS key of the same size (no alg bound) */
    jwtd_alg gen_alg;
    size_t sig_len;
    bool deterministic;
    const char *curve;
};

static const struct alg_row alg_rows[] = {
    {JWTD_ALG_HS256, "secret", 0, 32, true, NULL},
    {JWTD_ALG_HS384, "secret", 0, 48, true, NULL},
    {JWTD_ALG_HS512, "secret", 0, 64, true, NULL},
    {JWTD_ALG_RS256, "lib", JWTD_ALG_RS256, 256, true, NULL},
    {JWTD_ALG_RS384, "lib", JWTD_ALG_RS384, 384, true, NULL},
    {JWTD_ALG_RS512, "lib", JWTD_ALG_RS512, 512, true, NULL},
    {JWTD_ALG_PS256, "rsa-pem", JWTD_ALG_RS256, 256, false, NULL},
    {JWTD_ALG_PS384, "rsa-pem", JWTD_ALG_RS384, 384, false, NULL},
    {JWTD_ALG_PS512, "rsa-pem", JWTD_ALG_RS512, 512, false, NULL},
    {JWTD_ALG_ES256, "lib", JWTD_ALG_ES256, 64, false, "P-256"},
    {JWTD_ALG_ES384, "lib", JWTD_ALG_ES384, 96, false, "P-384"},
    {JWTD_ALG_ES512, "lib", JWTD_ALG_ES512, 132, false, "P-521"},
    {JWTD_ALG_EDDSA, "lib", JWTD_ALG_EDDSA, 64, true, "Ed25519"},
    {JWTD_ALG_EDDSA, "ed448", 0, 114, true, "Ed448"},
};

/* RSA keys by size, generated once (4096 bits is slow) and shared by RS* and PS* rows. */
static jwtd_key *rsa_keys[3];

static jwtd_key *rsa_for(jwtd_alg gen_alg)
{
    int i = gen_alg == JWTD_ALG_RS256 ? 0 : gen_alg == JWTD_ALG_RS384 ? 1 : 2;

    if (rsa_keys[i] == NULL)
        assert_int_equal(jwtd_key_generate(gen_alg, &rsa_keys[i]), JWTD_OK);
    return rsa_keys[i];
}

static jwtd_key *row_key(const struct alg_row *r, unsigned char *secret, size_t secret_cap,
                         size_t *secret_len)
{
    jwtd_key *key = NULL;

    *secret_len = 0;
    if (strcmp(r->gen, "secret") == 0) {
        *secret_len = secret_cap;
        randombytes_buf(secret, secret_cap);
        assert_int_equal(jwtd_key_from_secret(secret, secret_cap, 0, &key), JWTD_OK);
    } else if (strcmp(r->gen, "lib") == 0) {
        if (r->gen_alg >= JWTD_ALG_RS256 && r->gen_alg <= JWTD_ALG_RS512)
            return jwtd_key_ref(rsa_for(r->gen_alg));
        assert_int_equal(jwtd_key_generate(r->gen_alg, &key), JWTD_OK);
        assert_int_equal(jwtd_key_alg(key), r->gen_alg);
    } else {
        EVP_PKEY *pkey = strcmp(r->gen, "ed448") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED448")
                                                      : tu_pkey_of(rsa_for(r->gen_alg));
        BIO *bio = BIO_new(BIO_s_mem());
        char *pem;
        long len;

        assert_non_null(pkey);
        assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
        len = BIO_get_mem_data(bio, &pem);
        assert_int_equal(jwtd_key_from_pem(pem, (size_t)len, 0, &key), JWTD_OK);
        assert_int_equal(jwtd_key_alg(key), JWTD_ALG_UNKNOWN);
        BIO_free(bio);
        EVP_PKEY_free(pkey);
    }
    assert_true(jwtd_key_fits_alg(key, r->alg));
    return key;
}

static void check_alg_row(const struct alg_row *r)
{
    unsigned char secret[64], *lib_sig, *my_sig;
    size_t secret_len, lib_sig_len, my_sig_len, dot;
    jwtd_key *key = row_key(r, secret, sizeof secret, &secret_len);
    jwtd_key *pub = jwtd_key_kty(key) == JWTD_KTY_OCT ? jwtd_key_ref(key) : tu_public_key(key, 0);
    jwtd_keyset *pub_set = tu_set1(pub), *priv_set = tu_set1(key);
    jwtd_validation *v = tu_validation(r->alg);
    jwtd_header hdr = {"JWT", NULL, NULL};
    char *claims = std_claims(), *tok = lib_sign(key, r->alg, &hdr, claims), *mine, *sig_b64;
    tu_signer s = {r->alg, secret_len ? NULL : tu_pkey_of(key), secret, secret_len};
    jwtd_token *t = NULL;
    jwtd_error err;

    print_message("  %s (%s)\n", jwtd_alg_name(r->alg), r->curve ? r->curve : r->gen);
    if (r->curve != NULL)
        assert_string_equal(jwtd_key_curve(key), r->curve);

    /* The library's token verifies with the public key alone, and with the private key. */
    assert_int_equal(jwtd_verify(tok, strlen(tok), pub_set, v, &t, &err), JWTD_OK);
    assert_int_equal(jwtd_token_alg(t), r->alg);
    assert_true(same_kid(jwtd_token_kid(t), jwtd_key_kid(key)));
    jwtd_token_free(t);
    assert_int_equal(tu_verify(tok, priv_set, v, &err), JWTD_OK);

    /* Its signature has the JWS length and verifies with bare OpenSSL (or, deterministic,
     * is byte for byte what OpenSSL computes). */
    dot = last_dot(tok);
    lib_sig = sodium_malloc(4096);
    assert_int_equal(sodium_base642bin(lib_sig, 4096, tok + dot + 1, strlen(tok + dot + 1), NULL,
                                       &lib_sig_len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    assert_int_equal(lib_sig_len, r->sig_len);
    my_sig = tu_sign(&s, tok, dot, &my_sig_len);
    if (r->deterministic) {
        assert_int_equal(my_sig_len, lib_sig_len);
        assert_memory_equal(my_sig, lib_sig, lib_sig_len);
    } else {
        assert_true(ossl_verify(r->alg, s.pkey, tok, dot, lib_sig, lib_sig_len));
    }

    /* A token signed by OpenSSL directly over the same header and payload verifies too. */
    sig_b64 = tu_b64url(my_sig, my_sig_len);
    mine = tu_printf("%.*s.%s", (int)dot, tok, sig_b64);
    assert_int_equal(tu_verify(mine, pub_set, v, &err), JWTD_OK);

    /* Other (well-formed) claims under the same header and signature do not verify. */
    {
        char *forged_claims = tu_printf("{\"sub\":\"mallory\",\"exp\":%lld}", (long long)EXP_OK);
        char *forged_b64 = tu_b64url_str(forged_claims);
        char *forged =
            tu_printf("%.*s.%s%s", (int)(strchr(tok, '.') - tok), tok, forged_b64, tok + dot);

        assert_int_equal(tu_verify(forged, pub_set, v, &err), JWTD_ERR_INVALID_SIGNATURE);
        free(forged);
        free(forged_b64);
        free(forged_claims);
    }

    sodium_free(lib_sig);
    free(my_sig);
    free(sig_b64);
    free(mine);
    free(tok);
    free(claims);
    EVP_PKEY_free(s.pkey);
    jwtd_validation_free(v);
    jwtd_keyset_free(pub_set);
    jwtd_keyset_free(priv_set);
    jwtd_key_free(pub);
    jwtd_key_free(key);
}

static void test_every_algorithm(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    for (size_t i = 0; i < sizeof alg_rows / sizeof alg_rows[0]; i++)
        check_alg_row(&alg_rows[i]);
    for (int i = 0; i < 3; i++) {
        jwtd_key_free(rsa_keys[i]);
        rsa_keys[i] = NULL;
    }
}

/* Generated HMAC keys: secret of the hash length (at least 32 bytes), sign and verify. */
static void test_generated_hmac(void **state)
{
    static const jwtd_alg algs[] = {JWTD_ALG_HS256, JWTD_ALG_HS384, JWTD_ALG_HS512};
    static const unsigned bits[] = {256, 384, 512};

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        jwtd_key *key = NULL;
        jwtd_keyset *set;
        jwtd_validation *v = tu_validation(algs[i]);
        char *claims = std_claims(), *tok;
        jwtd_error err;

        assert_int_equal(jwtd_key_generate(algs[i], &key), JWTD_OK);
        assert_int_equal(jwtd_key_kty(key), JWTD_KTY_OCT);
        assert_int_equal(jwtd_key_bits(key), bits[i]);
        set = tu_set1(key);
        tok = lib_sign(key, algs[i], NULL, claims);
        assert_int_equal(tu_verify(tok, set, v, &err), JWTD_OK);
        free(tok);
        free(claims);
        jwtd_validation_free(v);
        jwtd_keyset_free(set);
        jwtd_key_free(key);
    }
}

/* ---- key selection ---- */

/* Three ES256 keys named a, b, c, exported as a public JWKS and loaded back. */
static void test_jwks_by_kid(void **state)
{
    static const char *const kids[] = {"a", "b", "c"};
    jwtd_key *priv[3];
    jwtd_keyset *priv_set = NULL, *set = NULL;
    jwtd_validation *v = tu_validation(JWTD_ALG_ES256);
    char *jwks = NULL, *claims = std_claims(), *tok;
    jwtd_header as_c = {NULL, "c", NULL};
    jwtd_token *t = NULL;
    jwtd_error err;

    (void)state;
    for (int i = 0; i < 3; i++) {
        jwtd_key *k = NULL;

        assert_int_equal(jwtd_key_generate(JWTD_ALG_ES256, &k), JWTD_OK);
        assert_int_equal(jwtd_key_with_kid(k, kids[i], &priv[i]), JWTD_OK);
        assert_string_equal(jwtd_key_kid(priv[i]), kids[i]);
        jwtd_key_free(k);
    }
    assert_int_equal(jwtd_keyset_new(priv, 3, &priv_set), JWTD_OK);
    assert_int_equal(jwtd_keyset_public_jwks(priv_set, &jwks), JWTD_OK);
    assert_int_equal(jwtd_keyset_from_jwks(jwks, strlen(jwks), 0, &set), JWTD_OK);
    assert_int_equal(jwtd_keyset_count(set), 3);
    assert_non_null(jwtd_keyset_find(set, "b", 1));
    assert_null(jwtd_keyset_find(set, "d", 1));
    assert_false(jwtd_key_is_private(jwtd_keyset_find(set, "b", 1)));

    /* kid b, signed by b. */
    tok = lib_sign(priv[1], JWTD_ALG_ES256, NULL, claims);
    assert_int_equal(jwtd_verify(tok, strlen(tok), set, v, &t, &err), JWTD_OK);
    assert_string_equal(jwtd_token_kid(t), "b");
    jwtd_token_free(t);
    free(tok);

    /* kid c, signed by b: only c is tried. */
    tok = lib_sign(priv[1], JWTD_ALG_ES256, &as_c, claims);
    assert_int_equal(tu_verify(tok, set, v, &err), JWTD_ERR_INVALID_SIGNATURE);
    free(tok);

    jwtd_free(jwks);
    free(claims);
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    jwtd_keyset_free(priv_set);
    for (int i = 0; i < 3; i++)
        jwtd_key_free(priv[i]);
}

/* Keys loaded from PEM carry their RFC 7638 thumbprint as kid (jwtd_key_kid); a token
 * signed by the library names that kid, and a set of several such keys must find it. */
static void test_thumbprint_kid_in_set(void **state)
{
    jwtd_key *gen[2], *pub[2];
    jwtd_keyset *set = NULL;
    jwtd_validation *v = tu_validation(JWTD_ALG_EDDSA);
    char tp[JWTD_THUMBPRINT_B64_LEN + 1], *claims = std_claims(), *tok;
    jwtd_token *t = NULL;
    jwtd_error err;

    (void)state;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(jwtd_key_generate(JWTD_ALG_EDDSA, &gen[i]), JWTD_OK);
        pub[i] = tu_public_key(gen[i], 0);
        assert_int_equal(jwtd_key_thumbprint(pub[i], tp), JWTD_OK);
        assert_int_equal(strlen(tp), JWTD_THUMBPRINT_B64_LEN);
        assert_string_equal(jwtd_key_kid(pub[i]), tp);
        assert_string_equal(jwtd_key_kid(gen[i]), tp);
    }
    assert_int_equal(jwtd_keyset_new(pub, 2, &set), JWTD_OK);
    assert_true(jwtd_keyset_find(set, jwtd_key_kid(gen[1]), JWTD_THUMBPRINT_B64_LEN) ==
                jwtd_keyset_get(set, 1));

    tok = lib_sign(gen[1], JWTD_ALG_EDDSA, NULL, claims);
    assert_int_equal(jwtd_verify(tok, strlen(tok), set, v, &t, &err), JWTD_OK);
    assert_string_equal(jwtd_token_kid(t), jwtd_key_kid(gen[1]));
    jwtd_token_free(t);

    free(tok);
    free(claims);
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    for (int i = 0; i < 2; i++) {
        jwtd_key_free(gen[i]);
        jwtd_key_free(pub[i]);
    }
}

/* A token without kid against a set: only the keys that fit the pinned algorithm are tried. */
static void test_no_kid_compatible_keys(void **state)
{
    static const jwtd_alg gen_algs[] = {JWTD_ALG_RS256, JWTD_ALG_ES256, JWTD_ALG_ES256,
                                        JWTD_ALG_EDDSA};
    jwtd_key *priv[4], *pub[4];
    jwtd_keyset *set = NULL, *no_ec = NULL;
    jwtd_validation *all = tu_validation(JWTD_ALG_ES256), *es_only = tu_validation(JWTD_ALG_ES256);
    char *claims = std_claims(), *tok;
    jwtd_token *t = NULL;
    jwtd_error err;

    (void)state;
    assert_int_equal(jwtd_validation_allow_alg(all, JWTD_ALG_RS256), JWTD_OK);
    assert_int_equal(jwtd_validation_allow_alg(all, JWTD_ALG_EDDSA), JWTD_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(jwtd_key_generate(gen_algs[i], &priv[i]), JWTD_OK);
        pub[i] = tu_public_key(priv[i], 0);
    }
    assert_int_equal(jwtd_keyset_new(pub, 4, &set), JWTD_OK);

    for (int i = 0; i < 4; i++) {
        tu_signer s = {gen_algs[i], tu_pkey_of(priv[i]), NULL, 0};
        char *hdr = tu_printf("{\"alg\":\"%s\"}", jwtd_alg_name(gen_algs[i]));

        tok = tu_jwt(hdr, claims, &s);
        assert_int_equal(jwtd_verify(tok, strlen(tok), set, all, &t, &err), JWTD_OK);
        assert_int_equal(jwtd_token_alg(t), gen_algs[i]);
        /* The second EC key is found although the first EC key is tried before it. */
        assert_string_equal(jwtd_token_kid(t), jwtd_key_kid(pub[i]));
        jwtd_token_free(t);
        if (gen_algs[i] == JWTD_ALG_RS256) /* pinned ES256 only: RS256 is not even tried */
            assert_int_equal(tu_verify(tok, set, es_only, &err), JWTD_ERR_INVALID_ALGORITHM);
        free(tok);
        free(hdr);
        EVP_PKEY_free(s.pkey);
    }

    /* No key in the set fits the token's (allowed) algorithm. */
    {
        jwtd_key *two[2] = {pub[0], pub[3]};
        tu_signer s = {JWTD_ALG_ES256, tu_pkey_of(priv[1]), NULL, 0};

        assert_int_equal(jwtd_keyset_new(two, 2, &no_ec), JWTD_OK);
        tok = tu_jwt("{\"alg\":\"ES256\"}", claims, &s);
        assert_int_equal(tu_verify(tok, no_ec, es_only, &err), JWTD_ERR_INVALID_ALGORITHM);
        free(tok);
        EVP_PKEY_free(s.pkey);
    }

    free(claims);
    jwtd_validation_free(all);
    jwtd_validation_free(es_only);
    jwtd_keyset_free(set);
    jwtd_keyset_free(no_ec);
    for (int i = 0; i < 4; i++) {
        jwtd_key_free(priv[i]);
        jwtd_key_free(pub[i]);
    }
}

static void test_duplicate_kid_refused(void **state)
{
    jwtd_key *a = NULL, *b = NULL, *pair[2];
    jwtd_keyset *set = NULL;
    char *ja = NULL, *jb = NULL, *jwks;

    (void)state;
    assert_int_equal(jwtd_key_generate(JWTD_ALG_ES256, &a), JWTD_OK);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_ES256, &b), JWTD_OK);
    assert_int_equal(jwtd_key_with_kid(a, "dup", &pair[0]), JWTD_OK);
    assert_int_equal(jwtd_key_with_kid(b, "dup", &pair[1]), JWTD_OK);

    assert_int_equal(jwtd_keyset_new(pair, 2, &set), JWTD_ERR_INVALID_KEY_FORMAT);
    assert_null(set);

    assert_int_equal(jwtd_key_public_jwk(pair[0], &ja), JWTD_OK);
    assert_int_equal(jwtd_key_public_jwk(pair[1], &jb), JWTD_OK);
    jwks = tu_printf("{\"keys\":[%s,%s]}", ja, jb);
    assert_int_equal(jwtd_keyset_from_jwks(jwks, strlen(jwks), 0, &set),
                     JWTD_ERR_INVALID_KEY_FORMAT);
    assert_null(set);
    /* Control: the same two keys under different kids form a set, in both forms. */
    free(jwks);
    jwtd_free(jb);
    jwtd_key_free(pair[1]);
    assert_int_equal(jwtd_key_with_kid(b, "other", &pair[1]), JWTD_OK);
    assert_int_equal(jwtd_keyset_new(pair, 2, &set), JWTD_OK);
    jwtd_keyset_free(set);
    set = NULL;
    assert_int_equal(jwtd_key_public_jwk(pair[1], &jb), JWTD_OK);
    jwks = tu_printf("{\"keys\":[%s,%s]}", ja, jb);
    assert_int_equal(jwtd_keyset_from_jwks(jwks, strlen(jwks), 0, &set), JWTD_OK);
    assert_int_equal(jwtd_keyset_count(set), 2);
    jwtd_keyset_free(set);
    jwtd_free(jb);

    free(jwks);
    jwtd_free(ja);
    jwtd_key_free(pair[0]);
    jwtd_key_free(pair[1]);
    jwtd_key_free(a);
    jwtd_key_free(b);
}

/* ---- claim and header rules ---- */

/* A fixed HMAC secret (tests that need the raw bytes sign with it directly). */
static const unsigned char hs_secret[] = "a test secret that is 40 bytes long....";
#define HS_SECRET_LEN (sizeof hs_secret - 1)

static jwtd_key *hs_key(void)
{
    jwtd_key *k = NULL;

    assert_int_equal(jwtd_key_from_secret(hs_secret, HS_SECRET_LEN, 0, &k), JWTD_OK);
    return k;
}

static void test_typ(void **state)
{
    static const struct {
        const char *expected, *typ;
        jwtd_err want;
    } rows[] = {
        {"JWT", "JWT", JWTD_OK},
        {"JWT", "jwt", JWTD_OK},
        {"jwt", "JwT", JWTD_OK},
        {"at+jwt", "at+jwt", JWTD_OK},
        {"at+jwt", "application/at+jwt", JWTD_OK},
        {"at+jwt", "APPLICATION/AT+JWT", JWTD_OK},
        {"application/at+jwt", "at+JWT", JWTD_OK},
        {"at+jwt", "JWT", JWTD_ERR_INVALID_TYPE},
        {"JWT", "at+jwt", JWTD_ERR_INVALID_TYPE},
        {"JWT", "applicationjwt", JWTD_ERR_INVALID_TYPE},
        {"JWT", "application/", JWTD_ERR_INVALID_TYPE},
        {"JWT", "JWTX", JWTD_ERR_INVALID_TYPE},
        {"JWT", "", JWTD_ERR_INVALID_TYPE},
        {"JWT", NULL, JWTD_ERR_INVALID_TYPE},
    };
    jwtd_key *key = hs_key();
    jwtd_keyset *set = tu_set1(key);
    char *claims = std_claims();
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtd_validation *v = tu_validation(JWTD_ALG_HS256);
        jwtd_header hdr = {rows[i].typ, NULL, NULL};
        char *tok = lib_sign(key, JWTD_ALG_HS256, &hdr, claims);
        jwtd_error err;
        jwtd_err rc;

        assert_int_equal(jwtd_validation_set_typ(v, rows[i].expected), JWTD_OK);
        rc = tu_verify(tok, set, v, &err);
        if (rc != rows[i].want) {
            print_error("typ expected '%s', token '%s': want %s, got %s\n", rows[i].expected,
                        rows[i].typ ? rows[i].typ : "(none)", jwtd_err_name(rows[i].want),
                        jwtd_err_name(rc));
            failures++;
        }
        free(tok);
        jwtd_validation_free(v);
    }
    free(claims);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
    assert_int_equal(failures, 0);
}

static void test_audience(void **state)
{
    static const struct {
        const char *allowed[2];
        const char *aud_json; /* NULL: no aud claim */
        jwtd_err want;
    } rows[] = {
        {{"api", NULL}, "\"api\"", JWTD_OK},
        {{"api", NULL}, "[\"web\",\"api\"]", JWTD_OK},
        {{"api", NULL}, "[\"api\"]", JWTD_OK},
        {{"api", "web"}, "\"web\"", JWTD_OK},
        {{"api", "web"}, "[\"x\",\"web\"]", JWTD_OK},
        {{"api", NULL}, "\"API\"", JWTD_ERR_INVALID_AUDIENCE},
        {{"api", NULL}, "\"ap\"", JWTD_ERR_INVALID_AUDIENCE},
        {{"api", "web"}, "[\"x\",\"y\"]", JWTD_ERR_INVALID_AUDIENCE},
        {{"api", NULL}, "[]", JWTD_ERR_INVALID_AUDIENCE},
        {{"api", NULL}, NULL, JWTD_ERR_INVALID_AUDIENCE},
        {{NULL, NULL}, "\"anything\"", JWTD_OK},
        {{NULL, NULL}, NULL, JWTD_OK},
    };
    jwtd_key *key = hs_key();
    jwtd_keyset *set = tu_set1(key);
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtd_validation *v = tu_validation(JWTD_ALG_HS256);
        char *claims = rows[i].aud_json ? tu_printf("{\"exp\":%lld,\"aud\":%s}", (long long)EXP_OK,
                                                    rows[i].aud_json)
                                        : std_claims();
        char *tok = lib_sign(key, JWTD_ALG_HS256, NULL, claims);
        jwtd_error err;
        jwtd_err rc;

        for (int a = 0; a < 2 && rows[i].allowed[a] != NULL; a++)
            assert_int_equal(jwtd_validation_add_audience(v, rows[i].allowed[a]), JWTD_OK);
        rc = tu_verify(tok, set, v, &err);
        if (rc != rows[i].want) {
            print_error("aud row %zu (%s): want %s, got %s\n", i,
                        rows[i].aud_json ? rows[i].aud_json : "(none)", jwtd_err_name(rows[i].want),
                        jwtd_err_name(rc));
            failures++;
        }
        free(tok);
        free(claims);
        jwtd_validation_free(v);
    }
    jwtd_keyset_free(set);
    jwtd_key_free(key);
    assert_int_equal(failures, 0);
}

/* Several accepted issuers and subjects: any one of them passes. */
static void test_issuer_subject_sets(void **state)
{
    jwtd_key *key = hs_key();
    jwtd_keyset *set = tu_set1(key);
    jwtd_validation *v = tu_validation(JWTD_ALG_HS256);
    char *c1 = tu_printf("{\"iss\":\"i2\",\"sub\":\"s1\",\"exp\":%lld}", (long long)EXP_OK);
    char *c2 = tu_printf("{\"iss\":\"i3\",\"sub\":\"s1\",\"exp\":%lld}", (long long)EXP_OK);
    char *c3 = tu_printf("{\"sub\":\"s1\",\"exp\":%lld}", (long long)EXP_OK);
    char *t1 = lib_sign(key, JWTD_ALG_HS256, NULL, c1),
         *t2 = lib_sign(key, JWTD_ALG_HS256, NULL, c2);
    char *t3 = lib_sign(key, JWTD_ALG_HS256, NULL, c3);
    jwtd_error err;

    (void)state;
    assert_int_equal(jwtd_validation_add_issuer(v, "i1"), JWTD_OK);
    assert_int_equal(jwtd_validation_add_issuer(v, "i2"), JWTD_OK);
    assert_int_equal(jwtd_validation_add_subject(v, "s0"), JWTD_OK);
    assert_int_equal(jwtd_validation_add_subject(v, "s1"), JWTD_OK);
    assert_int_equal(tu_verify(t1, set, v, &err), JWTD_OK);
    assert_int_equal(tu_verify(t2, set, v, &err), JWTD_ERR_INVALID_ISSUER);
    assert_int_equal(tu_verify(t3, set, v, &err), JWTD_ERR_INVALID_ISSUER);
    free(c1);
    free(c2);
    free(c3);
    free(t1);
    free(t2);
    free(t3);
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
}

static void test_leeway(void **state)
{
    static const struct {
        int64_t leeway;
        const char *member; /* "exp" or "nbf" */
        int64_t offset;     /* from TU_NOW */
        jwtd_err want;
    } rows[] = {
        {0, "exp", 0, JWTD_ERR_EXPIRED_SIGNATURE},      {0, "exp", 1, JWTD_OK},
        {0, "exp", -1, JWTD_ERR_EXPIRED_SIGNATURE},     {300, "exp", -299, JWTD_OK},
        {300, "exp", -300, JWTD_ERR_EXPIRED_SIGNATURE}, {0, "nbf", 0, JWTD_OK},
        {0, "nbf", 1, JWTD_ERR_IMMATURE_SIGNATURE},     {300, "nbf", 300, JWTD_OK},
        {300, "nbf", 301, JWTD_ERR_IMMATURE_SIGNATURE},
    };
    jwtd_key *key = hs_key();
    jwtd_keyset *set = tu_set1(key);
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtd_validation *v = tu_validation(JWTD_ALG_HS256);
        bool is_exp = strcmp(rows[i].member, "exp") == 0;
        char *claims = tu_printf("{\"exp\":%lld,\"%s\":%lld}",
                                 (long long)(is_exp ? TU_NOW + rows[i].offset : EXP_OK),
                                 is_exp ? "iat" : "nbf", (long long)(TU_NOW + rows[i].offset));
        char *tok = lib_sign(key, JWTD_ALG_HS256, NULL, claims);
        jwtd_error err;
        jwtd_err rc;

        assert_int_equal(jwtd_validation_set_leeway(v, rows[i].leeway), JWTD_OK);
        rc = tu_verify(tok, set, v, &err);
        if (rc != rows[i].want) {
            print_error("leeway %lld, %s now%+lld: want %s, got %s\n", (long long)rows[i].leeway,
                        rows[i].member, (long long)rows[i].offset, jwtd_err_name(rows[i].want),
                        jwtd_err_name(rc));
            failures++;
        }
        free(tok);
        free(claims);
        jwtd_validation_free(v);
    }
    {
        jwtd_validation *v = tu_validation(JWTD_ALG_HS256);

        assert_int_equal(jwtd_validation_set_leeway(v, -1), JWTD_ERR_INVALID_ARGUMENT);
        jwtd_validation_free(v);
    }
    jwtd_keyset_free(set);
    jwtd_key_free(key);
    assert_int_equal(failures, 0);
}

/* ---- the verified token ---- */

static void test_getters(void **state)
{
    const char *claims_json =
        "{\"sub\":\"alice\",\"exp\":1700003600,\"n\":42,\"neg\":-7,\"b\":true,"
        "\"roles\":[\"admin\",\"ops\",\"dev\"],\"role\":\"viewer\",\"aud\":\"api\","
        "\"obj\":{\"a\":1},\"mixed\":[\"x\",1]}";
    jwtd_key *key = hs_key(), *named = NULL;
    jwtd_keyset *set;
    jwtd_validation *v = tu_validation(JWTD_ALG_HS256);
    jwtd_header hdr = {"JWT", NULL, "{\"cty\":\"demo\"}"};
    jwtd_claims *c = NULL;
    char *tok = NULL, *expected_payload = NULL, *hjson = NULL, *cjson = NULL;
    const char *s = NULL, *many[3] = {NULL, NULL, NULL};
    int64_t i64 = 0;
    bool b = false;
    size_t n = 99, plen = 0;
    jwtd_token *t = NULL;
    jwtd_error err;
    json_t *parsed, *orig;

    (void)state;
    assert_int_equal(jwtd_key_with_kid(key, "k-1", &named), JWTD_OK);
    set = tu_set1(named);
    assert_int_equal(jwtd_claims_from_json(claims_json, strlen(claims_json), &c), JWTD_OK);
    assert_int_equal(jwtd_claims_json(c, &expected_payload), JWTD_OK);
    assert_int_equal(jwtd_sign(named, JWTD_ALG_HS256, &hdr, c, &tok), JWTD_OK);
    assert_int_equal(jwtd_verify(tok, strlen(tok), set, v, &t, &err), JWTD_OK);

    assert_int_equal(jwtd_token_alg(t), JWTD_ALG_HS256);
    assert_string_equal(jwtd_token_kid(t), "k-1");

    assert_int_equal(jwtd_token_claim_string(t, "sub", &s), JWTD_OK);
    assert_string_equal(s, "alice");
    assert_int_equal(jwtd_token_claim_string(t, "n", &s), JWTD_ERR_INVALID_TOKEN);
    assert_int_equal(jwtd_token_claim_string(t, "nope", &s), JWTD_ERR_MISSING_REQUIRED_CLAIM);

    assert_int_equal(jwtd_token_claim_int(t, "n", &i64), JWTD_OK);
    assert_int_equal(i64, 42);
    assert_int_equal(jwtd_token_claim_int(t, "neg", &i64), JWTD_OK);
    assert_int_equal(i64, -7);
    assert_int_equal(jwtd_token_claim_int(t, "exp", &i64), JWTD_OK);
    assert_int_equal(i64, 1700003600);
    assert_int_equal(jwtd_token_claim_int(t, "sub", &i64), JWTD_ERR_INVALID_TOKEN);
    assert_int_equal(jwtd_token_claim_int(t, "b", &i64), JWTD_ERR_INVALID_TOKEN);
    assert_int_equal(jwtd_token_claim_int(t, "nope", &i64), JWTD_ERR_MISSING_REQUIRED_CLAIM);

    assert_int_equal(jwtd_token_claim_bool(t, "b", &b), JWTD_OK);
    assert_true(b);
    assert_int_equal(jwtd_token_claim_bool(t, "n", &b), JWTD_ERR_INVALID_TOKEN);

    assert_int_equal(jwtd_token_claim_strings(t, "roles", many, 3, &n), JWTD_OK);
    assert_int_equal(n, 3);
    assert_string_equal(many[0], "admin");
    assert_string_equal(many[2], "dev");
    many[1] = NULL;
    assert_int_equal(jwtd_token_claim_strings(t, "roles", many, 1, &n), JWTD_OK);
    assert_int_equal(n, 3); /* the array length, though only one pointer was filled */
    assert_string_equal(many[0], "admin");
    assert_null(many[1]);
    assert_int_equal(jwtd_token_claim_strings(t, "aud", many, 3, &n), JWTD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(many[0], "api");
    assert_int_equal(jwtd_token_claim_strings(t, "mixed", many, 3, &n), JWTD_ERR_INVALID_TOKEN);
    assert_int_equal(jwtd_token_claim_strings(t, "obj", many, 3, &n), JWTD_ERR_INVALID_TOKEN);
    assert_int_equal(jwtd_token_claim_strings(t, "nope", many, 3, &n),
                     JWTD_ERR_MISSING_REQUIRED_CLAIM);

    /* Membership in a string or an array of strings; other members never match. */
    static const struct {
        const char *claim, *value;
        bool has;
    } member[] = {
        {"roles", "admin", true},   {"roles", "dev", true},   {"role", "viewer", true},
        {"aud", "api", true},       {"mixed", "x", true},     {"roles", "ADMIN", false},
        {"roles", "viewer", false}, {"role", "admin", false}, {"mixed", "1", false},
        {"obj", "a", false},        {"nope", "admin", false}, {"b", "true", false},
    };
    for (size_t k = 0; k < sizeof member / sizeof member[0]; k++)
        assert_int_equal(jwtd_token_claim_has_string(t, member[k].claim, member[k].value),
                         member[k].has);
    assert_false(jwtd_token_claim_has_string(t, NULL, "admin"));
    assert_false(jwtd_token_claim_has_string(t, "roles", NULL));
    assert_false(jwtd_token_claim_has_string(NULL, "roles", "admin"));

    assert_int_equal(jwtd_token_header_string(t, "typ", &s), JWTD_OK);
    assert_string_equal(s, "JWT");
    assert_int_equal(jwtd_token_header_string(t, "alg", &s), JWTD_OK);
    assert_string_equal(s, "HS256");
    assert_int_equal(jwtd_token_header_string(t, "kid", &s), JWTD_OK);
    assert_string_equal(s, "k-1");
    assert_int_equal(jwtd_token_header_string(t, "cty", &s), JWTD_OK);
    assert_string_equal(s, "demo");
    assert_int_equal(jwtd_token_header_string(t, "x5u", &s), JWTD_ERR_MISSING_REQUIRED_CLAIM);

    s = jwtd_token_payload(t, &plen);
    assert_int_equal(plen, strlen(expected_payload));
    assert_memory_equal(s, expected_payload, plen);

    assert_int_equal(jwtd_token_claims_json(t, &cjson), JWTD_OK);
    parsed = json_loads(cjson, JSON_REJECT_DUPLICATES, NULL);
    orig = json_loads(claims_json, 0, NULL);
    assert_true(json_equal(parsed, orig));
    json_decref(parsed);
    json_decref(orig);
    assert_int_equal(jwtd_token_header_json(t, &hjson), JWTD_OK);
    parsed = json_loads(hjson, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(parsed);
    assert_string_equal(json_string_value(json_object_get(parsed, "alg")), "HS256");
    assert_string_equal(json_string_value(json_object_get(parsed, "cty")), "demo");
    assert_int_equal(json_object_size(parsed), 4); /* alg typ kid cty */
    json_decref(parsed);

    jwtd_free(hjson);
    jwtd_free(cjson);
    jwtd_free(expected_payload);
    jwtd_free(tok);
    jwtd_token_free(t);
    jwtd_claims_free(c);
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    jwtd_key_free(named);
    jwtd_key_free(key);
}

/* The getters read the claims in place (jread): escaped strings come back unescaped and
 * NUL-terminated, in arrays too; members past the 32 indexed ones are found; the claims as
 * JSON are jansson's writing of the payload, as before. */
static void test_getters_escaped_and_many(void **state)
{
    char claims_json[2048];
    size_t k = (size_t)snprintf(claims_json, sizeof claims_json,
                                "{\"exp\":1700003600,\"q\":\"a\\\"b\\\\c\\n\\u0001\","
                                "\"list\":[\"x\\ty\",\"plain\"]");
    jwtd_key *key = hs_key();
    jwtd_keyset *set = tu_set1(key);
    jwtd_validation *v = tu_validation(JWTD_ALG_HS256);
    jwtd_header hdr = {"JWT", NULL, NULL};
    jwtd_claims *c = NULL;
    char *tok = NULL, *cjson = NULL, *expected = NULL;
    const char *s = NULL, *items[2] = {NULL, NULL};
    int64_t i64 = 0;
    size_t n = 0;
    jwtd_token *t = NULL;

    (void)state;
    for (int i = 0; i < 40; i++)
        k += (size_t)snprintf(claims_json + k, sizeof claims_json - k, ",\"k%d\":%d", i, i);
    snprintf(claims_json + k, sizeof claims_json - k, ",\"sub\":\"last\"}");
    assert_int_equal(jwtd_claims_from_json(claims_json, strlen(claims_json), &c), JWTD_OK);
    assert_int_equal(jwtd_claims_json(c, &expected), JWTD_OK);
    assert_int_equal(jwtd_sign(key, JWTD_ALG_HS256, &hdr, c, &tok), JWTD_OK);
    assert_int_equal(jwtd_verify(tok, strlen(tok), set, v, &t, NULL), JWTD_OK);

    assert_int_equal(jwtd_token_claim_string(t, "q", &s), JWTD_OK);
    assert_string_equal(s, "a\"b\\c\n\x01");
    assert_int_equal(jwtd_token_claim_strings(t, "list", items, 2, &n), JWTD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(items[0], "x\ty");
    assert_string_equal(items[1], "plain");
    assert_true(jwtd_token_claim_has_string(t, "list", "x\ty"));
    assert_false(jwtd_token_claim_has_string(t, "list", "x\\ty"));
    assert_int_equal(jwtd_token_claim_int(t, "k39", &i64), JWTD_OK);
    assert_int_equal(i64, 39);
    assert_int_equal(jwtd_token_claim_string(t, "sub", &s), JWTD_OK);
    assert_string_equal(s, "last");
    assert_int_equal(jwtd_token_claim_int(t, "k40", &i64), JWTD_ERR_MISSING_REQUIRED_CLAIM);
    assert_int_equal(jwtd_token_claims_json(t, &cjson), JWTD_OK);
    assert_string_equal(cjson, expected);

    jwtd_free(cjson);
    jwtd_free(expected);
    jwtd_free(tok);
    jwtd_token_free(t);
    jwtd_claims_free(c);
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
}

/* The insecure calls read any well-formed token, verified or not, and nothing else. */
static void test_insecure(void **state)
{
    jwtd_key *key = NULL;
    char *claims = std_claims(), *tok, *h = NULL, *c = NULL, *nokid, *hdr_b64, *arr_b64, *arr;
    char alg[16], kid[64], tiny[4];
    json_t *parsed;

    (void)state;
    assert_int_equal(jwtd_key_generate(JWTD_ALG_ES256, &key), JWTD_OK);
    tok = lib_sign(key, JWTD_ALG_ES256, NULL, claims);

    assert_int_equal(jwtd_insecure_peek_header(tok, strlen(tok), alg, sizeof alg, kid, sizeof kid),
                     JWTD_OK);
    assert_string_equal(alg, "ES256");
    assert_string_equal(kid, jwtd_key_kid(key));
    /* A buffer too small is an error, never a silent truncation. */
    assert_int_equal(
        jwtd_insecure_peek_header(tok, strlen(tok), alg, sizeof alg, tiny, sizeof tiny),
        JWTD_ERR_INVALID_TOKEN);
    assert_int_equal(jwtd_insecure_peek_header(tok, strlen(tok), tiny, 3, kid, sizeof kid),
                     JWTD_ERR_INVALID_TOKEN);
    assert_int_equal(jwtd_insecure_peek_header("abc", 3, alg, sizeof alg, kid, sizeof kid),
                     JWTD_ERR_INVALID_TOKEN);

    /* Nothing is verified: a header-only token with a junk signature still peeks/decodes. */
    hdr_b64 = tu_b64url_str("{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
    {
        const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');

        nokid = tu_printf("%s.%.*s.AAAA", hdr_b64, (int)(d2 - d1 - 1), d1 + 1);
    }
    assert_int_equal(
        jwtd_insecure_peek_header(nokid, strlen(nokid), alg, sizeof alg, kid, sizeof kid), JWTD_OK);
    assert_string_equal(alg, "HS256");
    assert_string_equal(kid, "");

    assert_int_equal(jwtd_insecure_decode(tok, strlen(tok), &h, &c), JWTD_OK);
    parsed = json_loads(h, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(parsed, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(parsed, "kid")), jwtd_key_kid(key));
    json_decref(parsed);
    parsed = json_loads(c, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(parsed, "sub")), "alice");
    json_decref(parsed);
    jwtd_free(h);
    jwtd_free(c);

    assert_int_equal(jwtd_insecure_decode(nokid, strlen(nokid), &h, &c), JWTD_OK);
    jwtd_free(h);
    jwtd_free(c);

    /* Not a token: two segments; claims that are not an object. */
    assert_int_equal(jwtd_insecure_decode("abc.def", 7, &h, &c), JWTD_ERR_INVALID_TOKEN);
    assert_null(h);
    assert_null(c);
    arr_b64 = tu_b64url_str("[]");
    arr = tu_printf("%s.%s.AAAA", hdr_b64, arr_b64);
    assert_int_equal(jwtd_insecure_decode(arr, strlen(arr), &h, &c), JWTD_ERR_INVALID_TOKEN);
    assert_null(h);
    assert_null(c);

    free(arr);
    free(arr_b64);
    free(hdr_b64);
    free(nokid);
    free(tok);
    free(claims);
    jwtd_key_free(key);
}

/* ---- raw JWS ---- */

/* Splits a compact token into freshly allocated segments. */
static void split3(const char *tok, char **h, char **p, char **s)
{
    const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');

    *h = strndup(tok, (size_t)(d1 - tok));
    *p = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
    *s = strdup(d2 + 1);
    assert_true(*h && *p && *s);
}

static jwtd_err jws_check(const char *jws, const void *detached, size_t dlen,
                          const jwtd_keyset *set, const jwtd_validation *v, const void *want,
                          size_t want_len)
{
    jwtd_token *t = NULL;
    jwtd_error err;
    jwtd_err rc = jwtd_jws_verify(jws, strlen(jws), detached, dlen, set, v, &t, &err);

    if (rc == JWTD_OK) {
        size_t plen = 0;
        const char *p = jwtd_token_payload(t, &plen);

        assert_int_equal(plen, want_len);
        assert_memory_equal(p, want, want_len);
    } else {
        assert_null(t);
        assert_int_equal(err.kind, rc);
    }
    jwtd_token_free(t);
    return rc;
}

/* jws_check of the flattened JSON serialization of (h, p, s) with the unprotected header unprot. */
static jwtd_err flat_check(const char *h, const char *p, const char *s, const char *unprot,
                           const jwtd_keyset *set, const jwtd_validation *v, const void *want,
                           size_t want_len)
{
    char *json = tu_printf("{\"payload\":\"%s\",\"protected\":\"%s\",\"header\":%s,"
                           "\"signature\":\"%s\"}",
                           p, h, unprot, s);
    jwtd_err rc = jws_check(json, NULL, 0, set, v, want, want_len);

    free(json);
    return rc;
}

static void test_jws_serializations(void **state)
{
    static const char text[] = "hello, world: not JSON";
    static const unsigned char bin[] = {0x00, 0x01, 0xff, 0x00};
    jwtd_key *k1 = NULL, *k2 = NULL, *signer = NULL, *pair[2];
    jwtd_keyset *set = NULL;
    jwtd_validation *v = tu_validation(JWTD_ALG_HS256), *v_unenc = tu_validation(JWTD_ALG_HS256);
    char *tok = NULL, *h, *p, *s, *json, *bad_s;
    jwtd_error err;

    (void)state;
    signer = hs_key();
    assert_int_equal(jwtd_key_with_kid(signer, "k-1", &k1), JWTD_OK);
    {
        unsigned char other[40];
        jwtd_key *raw = NULL;

        memset(other, 'z', sizeof other);
        assert_int_equal(jwtd_key_from_secret(other, sizeof other, 0, &raw), JWTD_OK);
        assert_int_equal(jwtd_key_with_kid(raw, "k-2", &k2), JWTD_OK);
        jwtd_key_free(raw);
    }
    pair[0] = k2;
    pair[1] = k1;
    assert_int_equal(jwtd_keyset_new(pair, 2, &set), JWTD_OK);
    assert_int_equal(jwtd_validation_allow_unencoded_payload(v_unenc, true), JWTD_OK);

    /* Compact, arbitrary payload (signed without kid: both keys are candidates). */
    assert_int_equal(jwtd_sign_payload(signer, JWTD_ALG_HS256, NULL, text, strlen(text), &tok),
                     JWTD_OK);
    assert_int_equal(jws_check(tok, NULL, 0, set, v, text, strlen(text)), JWTD_OK);
    /* The same bytes are no JWT: the claims are not a JSON object. */
    assert_int_equal(tu_verify(tok, set, v, &err), JWTD_ERR_INVALID_TOKEN);

    /* Flattened JSON serialization, with and without an unprotected kid. */
    split3(tok, &h, &p, &s);
    json = tu_printf("{\"payload\":\"%s\",\"protected\":\"%s\",\"signature\":\"%s\"}", p, h, s);
    assert_int_equal(jws_check(json, NULL, 0, set, v, text, strlen(text)), JWTD_OK);
    /* JSON serialization is not a compact JWT. */
    assert_int_equal(tu_verify(json, set, v, &err), JWTD_ERR_INVALID_TOKEN);
    free(json);
    assert_int_equal(flat_check(h, p, s, "{\"kid\":\"k-1\"}", set, v, text, strlen(text)), JWTD_OK);
    assert_int_equal(flat_check(h, p, s, "{\"kid\":\"k-2\"}", set, v, NULL, 0),
                     JWTD_ERR_INVALID_SIGNATURE);
    /* The token's header: protected and unprotected members merged, as jansson writes them. */
    json = tu_printf("{\"payload\":\"%s\",\"protected\":\"%s\",\"header\":{\"k\\u0069d\":"
                     "\"k-\\u0031\"},\"signature\":\"%s\"}",
                     p, h, s);
    {
        jwtd_token *t = NULL;
        const char *kid = NULL;
        char *hj = NULL;
        assert_int_equal(jwtd_jws_verify(json, strlen(json), NULL, 0, set, v, &t, NULL), JWTD_OK);
        assert_int_equal(jwtd_token_header_string(t, "kid", &kid), JWTD_OK);
        assert_string_equal(kid, "k-1");
        assert_int_equal(jwtd_token_header_json(t, &hj), JWTD_OK);
        assert_string_equal(hj, "{\"alg\":\"HS256\",\"kid\":\"k-1\"}");
        jwtd_free(hj);
        jwtd_token_free(t);
    }
    free(json);
    /* A member in both headers (names compared after unescaping), crit unprotected. */
    assert_int_equal(flat_check(h, p, s, "{\"\\u0061lg\":\"HS256\"}", set, v, NULL, 0),
                     JWTD_ERR_INVALID_TOKEN);
    assert_int_equal(flat_check(h, p, s, "{\"crit\":[\"x\"],\"x\":1}", set, v, NULL, 0),
                     JWTD_ERR_INVALID_TOKEN);
    /* No protected header: alg unprotected, the signing input starts with '.'. */
    json =
        tu_printf("{\"payload\":\"%s\",\"header\":{\"alg\":\"HS256\"},\"signature\":\"%s\"}", p, s);
    assert_int_equal(jws_check(json, NULL, 0, set, v, NULL, 0), JWTD_ERR_INVALID_SIGNATURE);
    free(json);

    /* General JSON serialization: one verifying signature suffices; none is InvalidSignature. */
    bad_s = strdup(s);
    bad_s[0] = bad_s[0] == 'A' ? 'B' : 'A';
    json = tu_printf("{\"payload\":\"%s\",\"signatures\":[{\"protected\":\"%s\",\"signature\":"
                     "\"%s\"},{\"protected\":\"%s\",\"signature\":\"%s\"}]}",
                     p, h, bad_s, h, s);
    assert_int_equal(jws_check(json, NULL, 0, set, v, text, strlen(text)), JWTD_OK);
    free(json);
    json = tu_printf("{\"payload\":\"%s\",\"signatures\":[{\"protected\":\"%s\",\"signature\":"
                     "\"%s\"}]}",
                     p, h, bad_s);
    assert_int_equal(jws_check(json, NULL, 0, set, v, NULL, 0), JWTD_ERR_INVALID_SIGNATURE);
    free(json);
    free(h);
    free(p);
    free(s);
    free(bad_s);
    jwtd_free(tok);

    /* Binary payload with NUL bytes survives the round trip. */
    assert_int_equal(jwtd_sign_payload(signer, JWTD_ALG_HS256, NULL, bin, sizeof bin, &tok),
                     JWTD_OK);
    assert_int_equal(jws_check(tok, NULL, 0, set, v, bin, sizeof bin), JWTD_OK);
    jwtd_free(tok);

    /* RFC 7797 unencoded payload, detached and attached, only when the caller allows it. */
    {
        tu_signer hs = {JWTD_ALG_HS256, NULL, hs_secret, HS_SECRET_LEN};
        char *hb = tu_b64url_str("{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}");
        char *input = tu_printf("%s.$.02", hb), *sig_b64, *detached, *attached;
        size_t sig_len;
        unsigned char *sig = tu_sign(&hs, input, strlen(input), &sig_len);

        sig_b64 = tu_b64url(sig, sig_len);
        detached = tu_printf("%s..%s", hb, sig_b64);
        assert_int_equal(jws_check(detached, "$.02", 4, set, v_unenc, "$.02", 4), JWTD_OK);
        assert_int_equal(jws_check(detached, "$.03", 4, set, v_unenc, NULL, 0),
                         JWTD_ERR_INVALID_SIGNATURE);
        assert_int_equal(jws_check(detached, "$.02", 4, set, v, NULL, 0),
                         JWTD_ERR_UNSUPPORTED_CRITICAL);
        free(sig);
        free(input);
        free(sig_b64);
        free(detached);

        input = tu_printf("%s.plain text", hb);
        sig = tu_sign(&hs, input, strlen(input), &sig_len);
        sig_b64 = tu_b64url(sig, sig_len);
        attached = tu_printf("%s.%s", input, sig_b64);
        assert_int_equal(jws_check(attached, NULL, 0, set, v_unenc, "plain text", 10), JWTD_OK);
        free(sig);
        free(input);
        free(sig_b64);
        free(attached);
        free(hb);
    }

    jwtd_validation_free(v);
    jwtd_validation_free(v_unenc);
    jwtd_keyset_free(set);
    jwtd_key_free(k1);
    jwtd_key_free(k2);
    jwtd_key_free(signer);
}

/* ---- concurrency ---- */

#define THREADS 4
#define ITERATIONS 2000
#define ITERATIONS_MEMCHECK 50 /* under valgrind (JWTD_MEMCHECK set) each verify is ~50x slower */

static int iterations(void)
{
    return getenv("JWTD_MEMCHECK") != NULL ? ITERATIONS_MEMCHECK : ITERATIONS;
}

struct verify_job {
    const char *tok;
    const jwtd_keyset *set;
    const jwtd_validation *v;
    int failures;
};

/* No cmocka assertions off the main thread: failures are counted and checked after join. */
static void *verify_loop(void *arg)
{
    struct verify_job *job = arg;
    size_t len = strlen(job->tok);

    for (int i = 0; i < iterations(); i++) {
        jwtd_token *t = NULL;
        jwtd_error err;
        const char *sub = NULL;

        if (jwtd_verify(job->tok, len, job->set, job->v, &t, &err) != JWTD_OK ||
            jwtd_token_claim_string(t, "sub", &sub) != JWTD_OK || strcmp(sub, "alice") != 0)
            job->failures++;
        jwtd_token_free(t);
    }
    return NULL;
}

static void run_threads(const jwtd_key *signing, jwtd_alg alg, const jwtd_keyset *set)
{
    jwtd_validation *v = tu_validation(alg);
    char *claims = std_claims(), *tok = lib_sign(signing, alg, NULL, claims);
    struct verify_job jobs[THREADS];
    pthread_t th[THREADS];

    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (struct verify_job){tok, set, v, 0};
        assert_int_equal(pthread_create(&th[i], NULL, verify_loop, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(jobs[i].failures, 0);
    }
    free(tok);
    free(claims);
    jwtd_validation_free(v);
}

static void test_threads(void **state)
{
    jwtd_key *hs = hs_key(), *ed = NULL, *ed_pub;
    jwtd_keyset *hs_set = tu_set1(hs), *ed_set;

    (void)state;
    assert_int_equal(jwtd_key_generate(JWTD_ALG_EDDSA, &ed), JWTD_OK);
    ed_pub = tu_public_key(ed, 0);
    ed_set = tu_set1(ed_pub);
    run_threads(hs, JWTD_ALG_HS256, hs_set);
    run_threads(ed, JWTD_ALG_EDDSA, ed_set);
    jwtd_keyset_free(hs_set);
    jwtd_keyset_free(ed_set);
    jwtd_key_free(hs);
    jwtd_key_free(ed);
    jwtd_key_free(ed_pub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_algorithm),
        cmocka_unit_test(test_generated_hmac),
        cmocka_unit_test(test_jwks_by_kid),
        cmocka_unit_test(test_thumbprint_kid_in_set),
        cmocka_unit_test(test_no_kid_compatible_keys),
        cmocka_unit_test(test_duplicate_kid_refused),
        cmocka_unit_test(test_typ),
        cmocka_unit_test(test_audience),
        cmocka_unit_test(test_issuer_subject_sets),
        cmocka_unit_test(test_leeway),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_getters_escaped_and_many),
        cmocka_unit_test(test_insecure),
        cmocka_unit_test(test_jws_serializations),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
