/* Unit tests for the key half of libjwtd: JWK (RFC 7517/7518/8037, the RFC 7520 cookbook),
 * PEM in every format, JWKS rules, RFC 7638 thumbprints, generation, export round trips,
 * the key policy (weak keys, e = 1, off-curve points, mismatched private halves, ROCA) and
 * the key/algorithm fit matrix. Keys are generated with OpenSSL in the group set-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <openssl/encoder.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- Helpers ---- */

static char *slurp(const char *rel, size_t *len)
{
    char path[512];
    FILE *f;
    char *buf;
    long size;

    snprintf(path, sizeof path, "%s/%s", JWTD_VECTORS_DIR, rel);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    fclose(f);
    if (len != NULL)
        *len = (size_t)size;
    return buf;
}

static jwtd_err load_jwk(const char *json, unsigned flags, jwtd_key **key)
{
    return jwtd_key_from_jwk(json, strlen(json), flags, key);
}

static jwtd_err load_pem(const char *pem, unsigned flags, jwtd_key **key)
{
    return jwtd_key_from_pem(pem, strlen(pem), flags, key);
}

/* A copy of the JSON object text with member set to value_json (NULL: member removed). */
static char *json_with(const char *base, const char *member, const char *value_json)
{
    json_t *o = json_loads(base, 0, NULL);
    char *out;

    assert_non_null(o);
    if (value_json == NULL) {
        json_object_del(o, member);
    } else {
        json_t *v = json_loads(value_json, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        assert_int_equal(json_object_set_new(o, member, v), 0);
    }
    out = json_dumps(o, JSON_COMPACT);
    assert_non_null(out);
    json_decref(o);
    return out;
}

/* The string value of member in a JSON object text (caller frees). */
static char *json_member(const char *base, const char *member)
{
    json_t *o = json_loads(base, 0, NULL);
    char *s;

    assert_non_null(o);
    assert_true(json_is_string(json_object_get(o, member)));
    s = strdup(json_string_value(json_object_get(o, member)));
    json_decref(o);
    return s;
}

/* Element i of the "keys" array of a JWKS text, as JSON text. */
static char *jwks_element(const char *jwks, size_t i)
{
    json_t *o = json_loads(jwks, 0, NULL);
    char *s;

    assert_non_null(o);
    s = json_dumps(json_array_get(json_object_get(o, "keys"), i), JSON_COMPACT);
    assert_non_null(s);
    json_decref(o);
    return s;
}

static void thumbprint_of(const jwtd_key *key, char out[JWTD_THUMBPRINT_B64_LEN + 1])
{
    assert_int_equal(jwtd_key_thumbprint(key, out), JWTD_OK);
    assert_int_equal(strlen(out), JWTD_THUMBPRINT_B64_LEN);
}

static void assert_same_key(const jwtd_key *a, const jwtd_key *b)
{
    char ta[JWTD_THUMBPRINT_B64_LEN + 1], tb[JWTD_THUMBPRINT_B64_LEN + 1];

    thumbprint_of(a, ta);
    thumbprint_of(b, tb);
    assert_string_equal(ta, tb);
    assert_int_equal(jwtd_key_kty(a), jwtd_key_kty(b));
    assert_int_equal(jwtd_key_bits(a), jwtd_key_bits(b));
}

static char *bio_text(BIO *bio)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    char *s = malloc((size_t)len + 1);

    assert_non_null(s);
    memcpy(s, data, (size_t)len);
    s[len] = '\0';
    BIO_free(bio);
    return s;
}

/* ---- Keys made once for the whole group ---- */

enum { G_HS256, G_HS384, G_HS512, G_RS256, G_ES256, G_ES384, G_ES512, G_EDDSA, G_COUNT };
static const jwtd_alg gen_algs[G_COUNT] = {JWTD_ALG_HS256, JWTD_ALG_HS384, JWTD_ALG_HS512,
                                           JWTD_ALG_RS256, JWTD_ALG_ES256, JWTD_ALG_ES384,
                                           JWTD_ALG_ES512, JWTD_ALG_EDDSA};
static jwtd_key *gen[G_COUNT];
static jwtd_key *ed448;
static EVP_PKEY *rsa1024, *x25519, *secp256k1;

static int group_setup(void **state)
{
    for (int i = 0; i < G_COUNT; i++) {
        if (jwtd_key_generate(gen_algs[i], &gen[i]) != JWTD_OK)
            return -1;
    }
    rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    secp256k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    if (jose_key_from_pkey(EVP_PKEY_Q_keygen(NULL, NULL, "ED448"), true, 0, &ed448) != JWTD_OK)
        return -1;
    return rsa1024 != NULL && x25519 != NULL && secp256k1 != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    for (int i = 0; i < G_COUNT; i++)
        jwtd_key_free(gen[i]);
    jwtd_key_free(ed448);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(x25519);
    EVP_PKEY_free(secp256k1);
    return 0;
}

/* The same key material without the generated alg (and so fitting every alg of its kind). */
static jwtd_key *without_alg(const jwtd_key *key)
{
    jwtd_key *plain = NULL;

    if (key->kty == JWTD_KTY_OCT) {
        assert_int_equal(jwtd_key_from_secret(key->secret, key->secret_len, 0, &plain), JWTD_OK);
    } else {
        assert_int_equal(EVP_PKEY_up_ref(key->pkey), 1);
        assert_int_equal(jose_key_from_pkey(key->pkey, key->is_private, 0, &plain), JWTD_OK);
    }
    assert_int_equal(jwtd_key_alg(plain), JWTD_ALG_UNKNOWN);
    return plain;
}

/* ---- RFC 7520 cookbook JWKs (§3) ---- */

static void test_cookbook_jwks(void **state)
{
    static const struct {
        const char *file;
        jwtd_err want;
        jwtd_kty kty;
        bool is_private;
        const char *curve;
        unsigned bits;
        jwtd_alg alg;
        const char *kid;
    } cases[] = {
        {"3_1.ec_public_key.json", JWTD_OK, JWTD_KTY_EC, false, "P-521", 521, JWTD_ALG_UNKNOWN,
         "bilbo.baggins@hobbiton.example"},
        {"3_2.ec_private_key.json", JWTD_OK, JWTD_KTY_EC, true, "P-521", 521, JWTD_ALG_UNKNOWN,
         "bilbo.baggins@hobbiton.example"},
        {"3_3.rsa_public_key.json", JWTD_OK, JWTD_KTY_RSA, false, NULL, 2048, JWTD_ALG_UNKNOWN,
         "bilbo.baggins@hobbiton.example"},
        {"3_4.rsa_private_key.json", JWTD_OK, JWTD_KTY_RSA, true, NULL, 2048, JWTD_ALG_UNKNOWN,
         "bilbo.baggins@hobbiton.example"},
        {"3_5.symmetric_key_mac_computation.json", JWTD_OK, JWTD_KTY_OCT, true, NULL, 256,
         JWTD_ALG_HS256, "018c0ae5-4d9b-471b-bfd6-eef314bc7037"},
        /* declares "use":"enc" and "alg":"A256GCM": an encryption key, never a JWS key */
        {"3_6.symmetric_key_encryption.json", JWTD_ERR_INVALID_KEY_FORMAT, 0, false, NULL, 0, 0,
         NULL},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[128];
        char *json;
        jwtd_key *key = NULL;

        snprintf(rel, sizeof rel, "jose-cookbook/jwk/%s", cases[i].file);
        json = slurp(rel, NULL);
        print_message("%s\n", cases[i].file);
        assert_int_equal(load_jwk(json, 0, &key), cases[i].want);
        if (cases[i].want == JWTD_OK) {
            assert_int_equal(jwtd_key_kty(key), cases[i].kty);
            assert_int_equal(jwtd_key_is_private(key), cases[i].is_private);
            if (cases[i].curve != NULL)
                assert_string_equal(jwtd_key_curve(key), cases[i].curve);
            else
                assert_null(jwtd_key_curve(key));
            assert_int_equal(jwtd_key_bits(key), cases[i].bits);
            assert_int_equal(jwtd_key_alg(key), cases[i].alg);
            assert_string_equal(jwtd_key_kid(key), cases[i].kid);
        } else {
            assert_null(key);
        }
        jwtd_key_free(key);
        free(json);
    }
}

/* 3_6 is refused for what it declares, not for its material: without "use" and "alg" the
 * same 256-bit secret loads. */
static void test_cookbook_enc_key_is_refused_for_its_use(void **state)
{
    char *json = slurp("jose-cookbook/jwk/3_6.symmetric_key_encryption.json", NULL);
    char *no_use = json_with(json, "use", NULL);
    char *neither = json_with(no_use, "alg", NULL);
    jwtd_key *key = NULL;

    assert_int_equal(load_jwk(no_use, 0, &key), JWTD_ERR_INVALID_KEY_FORMAT); /* A256GCM */
    assert_int_equal(load_jwk(neither, 0, &key), JWTD_OK);
    assert_int_equal(jwtd_key_kty(key), JWTD_KTY_OCT);
    assert_int_equal(jwtd_key_bits(key), 256);
    jwtd_key_free(key);
    free(json);
    free(no_use);
    free(neither);
}

/* ---- RFC 7515 / 7517 / 7638 appendix keys ---- */

static void test_rfc7515_keys(void **state)
{
    static const struct {
        const char *file;
        jwtd_kty kty;
        bool is_private;
        unsigned bits;
    } cases[] = {
        {"rfc7515_A.1.jwk", JWTD_KTY_OCT, true, 512},
        {"rfc7515_A.2.jwk", JWTD_KTY_RSA, true, 2048},
        {"rfc7515_A.3.jwk", JWTD_KTY_EC, true, 256},
        {"rfc7515_A.4.jwk", JWTD_KTY_EC, true, 521},
        {"rfc7515_A.6.2.jwk", JWTD_KTY_EC, true, 256},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[128];
        char *json;
        jwtd_key *key = NULL;

        snprintf(rel, sizeof rel, "latchset-jose-rfc/%s", cases[i].file);
        json = slurp(rel, NULL);
        print_message("%s\n", cases[i].file);
        assert_int_equal(load_jwk(json, 0, &key), JWTD_OK);
        assert_int_equal(jwtd_key_kty(key), cases[i].kty);
        assert_int_equal(jwtd_key_is_private(key), cases[i].is_private);
        assert_int_equal(jwtd_key_bits(key), cases[i].bits);
        /* a secret gets no implicit kid; an asymmetric key gets its thumbprint */
        if (cases[i].kty == JWTD_KTY_OCT)
            assert_null(jwtd_key_kid(key));
        else
            assert_int_equal(strlen(jwtd_key_kid(key)), JWTD_THUMBPRINT_B64_LEN);
        jwtd_key_free(key);
        free(json);
    }
}

static void test_rfc7515_a6_jwks(void **state)
{
    size_t len;
    char *json = slurp("latchset-jose-rfc/rfc7515_A.6.jwkset", &len);
    jwtd_keyset *set = NULL;

    assert_int_equal(jwtd_keyset_from_jwks(json, len, 0, &set), JWTD_OK);
    assert_int_equal(jwtd_keyset_count(set), 2);
    assert_int_equal(jwtd_key_kty(jwtd_keyset_get(set, 0)), JWTD_KTY_RSA);
    assert_int_equal(jwtd_key_kty(jwtd_keyset_get(set, 1)), JWTD_KTY_EC);
    assert_null(jwtd_keyset_get(set, 2));
    jwtd_keyset_free(set);
    free(json);
}

/* RFC 7517 A.1 and A.2 hold an EC key with "use":"enc"; A.3 an oct key for "A128KW". A set
 * skips keys declared for another purpose (RFC 7517 §5), so it loads with its one signature
 * key; each of those keys alone is still refused. */
static void test_rfc7517_jwks(void **state)
{
    static const struct {
        const char *file;
        jwtd_err want[2];
        const char *kid[2];
    } cases[] = {
        {"rfc7517_A.1.jwkset", {JWTD_ERR_INVALID_KEY_FORMAT, JWTD_OK}, {NULL, "2011-04-29"}},
        {"rfc7517_A.2.jwkset", {JWTD_ERR_INVALID_KEY_FORMAT, JWTD_OK}, {NULL, "2011-04-29"}},
        {"rfc7517_A.3.jwkset",
         {JWTD_ERR_INVALID_KEY_FORMAT, JWTD_OK},
         {NULL, "HMACkeyusedinJWSspecAppendixA.1example"}},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[128];
        size_t len;
        char *json;
        jwtd_keyset *set = NULL;

        snprintf(rel, sizeof rel, "latchset-jose-rfc/%s", cases[i].file);
        json = slurp(rel, &len);
        print_message("%s\n", cases[i].file);
        assert_int_equal(jwtd_keyset_from_jwks(json, len, 0, &set), JWTD_OK);
        assert_int_equal(jwtd_keyset_count(set), 1);
        assert_string_equal(jwtd_key_kid(jwtd_keyset_get(set, 0)), cases[i].kid[1]);
        jwtd_keyset_free(set);
        set = NULL;
        for (size_t k = 0; k < 2; k++) {
            char *one = jwks_element(json, k);
            jwtd_key *key = NULL;

            assert_int_equal(load_jwk(one, 0, &key), cases[i].want[k]);
            if (cases[i].kid[k] != NULL)
                assert_string_equal(jwtd_key_kid(key), cases[i].kid[k]);
            jwtd_key_free(key);
            free(one);
        }
        free(json);
    }
}

/* Skipping keys for other purposes must never leave an empty set that "loads". */
static void test_jwks_only_non_sig_keys(void **state)
{
    static const char *const sets[] = {
        "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"A128KW\",\"k\":\"GawgguFyGrWKav7AX4VKUg\"}]}",
        "{\"keys\":[{\"kty\":\"oct\",\"use\":\"enc\","
        "\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-"
        "1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}]}",
        "{\"keys\":[{\"kty\":\"oct\",\"key_ops\":[\"encrypt\"],"
        "\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-"
        "1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}]}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        jwtd_keyset *set = NULL;
        assert_int_equal(jwtd_keyset_from_jwks(sets[i], strlen(sets[i]), 0, &set),
                         JWTD_ERR_INVALID_KEY_FORMAT);
        assert_null(set);
    }
}

/* With the EC key of A.1 declared for signatures, the set loads and kids select keys. */
static void test_rfc7517_a1_as_signature_keys(void **state)
{
    char *json = slurp("latchset-jose-rfc/rfc7517_A.1.jwkset", NULL);
    json_t *o = json_loads(json, 0, NULL);
    char *fixed;
    jwtd_keyset *set = NULL;

    assert_non_null(o);
    json_object_set_new(json_array_get(json_object_get(o, "keys"), 0), "use", json_string("sig"));
    fixed = json_dumps(o, 0);
    assert_int_equal(jwtd_keyset_from_jwks(fixed, strlen(fixed), 0, &set), JWTD_OK);
    assert_int_equal(jwtd_keyset_count(set), 2);
    assert_int_equal(jwtd_key_kty(jwtd_keyset_find(set, "1", 1)), JWTD_KTY_EC);
    assert_int_equal(jwtd_key_kty(jwtd_keyset_find(set, "2011-04-29", 10)), JWTD_KTY_RSA);
    assert_null(jwtd_keyset_find(set, "2011-04-2", 9));
    jwtd_keyset_free(set);
    json_decref(o);
    free(fixed);
    free(json);
}

static void test_rfc7638_thumbprint(void **state)
{
    char *json = slurp("latchset-jose-rfc/rfc7638_3.1.jwk", NULL);
    char *expect = slurp("latchset-jose-rfc/rfc7638_3.1.thp", NULL);
    char *no_kid = json_with(json, "kid", NULL);
    char thp[JWTD_THUMBPRINT_B64_LEN + 1];
    jwtd_key *key = NULL, *bare = NULL;

    expect[strcspn(expect, "\r\n")] = '\0';
    assert_int_equal(load_jwk(json, 0, &key), JWTD_OK);
    thumbprint_of(key, thp);
    assert_string_equal(thp, expect);
    assert_string_equal(jwtd_key_kid(key), "2011-04-29"); /* the JWK's own kid wins */
    assert_true(key->kid_explicit);
    assert_int_equal(jwtd_key_alg(key), JWTD_ALG_RS256);
    assert_int_equal(load_jwk(no_kid, 0, &bare), JWTD_OK);
    assert_string_equal(jwtd_key_kid(bare), expect); /* else the thumbprint is the kid */
    assert_false(bare->kid_explicit);
    jwtd_key_free(key);
    jwtd_key_free(bare);
    free(json);
    free(expect);
    free(no_kid);
}

/* ---- Wycheproof JWK / JWKS groups ---- */

/* Every group of json_web_key_test.json, and the jws_* groups of json_web_crypto_test.json:
 * the key set must load exactly when the group has a test that is expected to verify. */
static void run_wycheproof_keys(const char *rel, const char *prefix)
{
    json_t *root, *group;
    char *text = slurp(rel, NULL);
    size_t i, checked = 0;

    root = json_loads(text, 0, NULL);
    assert_non_null(root);
    json_array_foreach(json_object_get(root, "testGroups"), i, group) {
        const char *comment = json_string_value(json_object_get(group, "comment"));
        json_t *test;
        size_t t;
        bool valid = false;
        char *keys;
        jwtd_keyset *set = NULL;

        if (strncmp(comment, prefix, strlen(prefix)) != 0)
            continue;
        json_array_foreach(json_object_get(group, "tests"), t, test) {
            valid =
                valid || strcmp(json_string_value(json_object_get(test, "result")), "valid") == 0;
        }
        keys = json_dumps(json_object_get(group, "private"), JSON_COMPACT);
        print_message("%s group %zu (%s): expect %s\n", rel, i, comment, valid ? "load" : "refuse");
        assert_int_equal(jwtd_keyset_parse(keys, strlen(keys), 0, &set),
                         valid ? JWTD_OK : JWTD_ERR_INVALID_KEY_FORMAT);
        jwtd_keyset_free(set);
        free(keys);
        checked++;
    }
    assert_true(checked >= 6);
    json_decref(root);
    free(text);
}

static void test_wycheproof_json_web_key(void **state)
{
    run_wycheproof_keys("wycheproof/json_web_key_test.json", "");
}

static void test_wycheproof_json_web_crypto_jws(void **state)
{
    run_wycheproof_keys("wycheproof/json_web_crypto_test.json", "jws_");
}

/* ---- JWK refusals (table of one-member edits of good keys) ---- */

static const char ec_p256[] = /* RFC 7515 A.3 */
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
    "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}";
static const char okp_ed25519[] = /* RFC 8037 A.1 */
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
    "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}";
static const char oct_hs256[] = /* RFC 7520 3.5 */
    "{\"kty\":\"oct\",\"k\":\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg\"}";

typedef struct jwk_edit {
    const char *name;
    const char *base; /* NULL: the RFC 7515 A.2 RSA key */
    const char *member;
    const char *value; /* JSON text; NULL removes the member */
    unsigned flags;
    jwtd_err want;
} jwk_edit;

static const jwk_edit jwk_edits[] = {
    /* controls: the bases and harmless edits load */
    {"ec base", ec_p256, "kid", "\"a\"", 0, JWTD_OK},
    {"okp base", okp_ed25519, "kid", "\"a\"", 0, JWTD_OK},
    {"oct base", oct_hs256, "kid", "\"a\"", 0, JWTD_OK},
    {"rsa base", NULL, "kid", "\"a\"", 0, JWTD_OK},
    {"ec public", ec_p256, "d", NULL, 0, JWTD_OK},
    {"okp public", okp_ed25519, "d", NULL, 0, JWTD_OK},
    {"rsa n e d only", NULL, "qi", NULL, 0, JWTD_ERR_INVALID_KEY_FORMAT}, /* partial CRT */
    {"use sig", ec_p256, "use", "\"sig\"", 0, JWTD_OK},
    {"key_ops verify", ec_p256, "key_ops", "[\"verify\"]", 0, JWTD_OK},
    {"key_ops sign", ec_p256, "key_ops", "[\"sign\",\"verify\"]", 0, JWTD_OK},
    {"alg fits", ec_p256, "alg", "\"ES256\"", 0, JWTD_OK},
    {"kid 256 bytes", oct_hs256, "kid",
     "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
     0, JWTD_OK},
    /* kty and crv */
    {"kty missing", ec_p256, "kty", NULL, 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"kty unknown", ec_p256, "kty", "\"ECDSA\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"kty not string", ec_p256, "kty", "1", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"kty RSA, EC members", ec_p256, "kty", "\"RSA\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"kty OKP, EC members", ec_p256, "kty", "\"OKP\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"crv missing", ec_p256, "crv", NULL, 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"crv secp256k1", ec_p256, "crv", "\"secp256k1\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"crv X25519", okp_ed25519, "crv", "\"X25519\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"crv Ed448, 32-byte x", okp_ed25519, "crv", "\"Ed448\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"crv P-384, 32-byte x y", ec_p256, "crv", "\"P-384\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"crv P-521 on OKP", okp_ed25519, "crv", "\"P-521\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    /* points and lengths */
    {"ec point off curve", ec_p256, "x", "\"g83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"ec public point off curve", ec_p256, "d", NULL, 0, JWTD_OK}, /* control for the next */
    {"ec x 31 bytes", ec_p256, "x", "\"zc4ncPbEXUGDy-5v20t7WAczNXvp7xO6z248e9FURQ\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"ec x 33 bytes", ec_p256, "x", "\"AH_Nzidw9sRdQYPL7m_bS3tYBzM1e-nvE7rPbjx70VRF\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"ec y missing", ec_p256, "y", NULL, 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"ec d 31 bytes", ec_p256, "d", "\"mxCecZCYv5gEh98fXXfpyylgbr7SJjtfV8IT34T0sg\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"ec d of another key", ec_p256, "d", "\"yy49oPcINGK2ps0LmtxpB6UTEOiITghHBif6wDqmJ3c\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"ec d zero", ec_p256, "d", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"okp x of another key", okp_ed25519, "x", "\"fU0Of2FTpptiQrUiq77mhf2kQg-INLEIw72uNp71Sfo\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"okp x 31 bytes", okp_ed25519, "x", "\"WpgBgrEKt9VL_tPJZAc6DuFy89qmIyWvAhpo9wdRGg\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"okp x missing", okp_ed25519, "x", NULL, 0, JWTD_ERR_INVALID_KEY_FORMAT},
    /* RSA */
    {"rsa e=1", NULL, "e", "\"AQ\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"rsa e=2", NULL, "e", "\"Ag\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"rsa e=0", NULL, "e", "\"AA\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"rsa e 2^64+1", NULL, "e", "\"AQAAAAAAAAAB\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"rsa e missing", NULL, "e", NULL, 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"rsa n empty", NULL, "n", "\"\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"rsa multi-prime", NULL, "oth", "[]", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    /* declared purpose */
    {"use enc", ec_p256, "use", "\"enc\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"use not string", ec_p256, "use", "1", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"key_ops encrypt", ec_p256, "key_ops", "[\"encrypt\",\"decrypt\"]", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"key_ops one string", ec_p256, "key_ops", "[\"sign, verify\"]", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"key_ops not array", ec_p256, "key_ops", "\"verify\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"alg unknown", ec_p256, "alg", "\"ES521\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"alg none", ec_p256, "alg", "\"none\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"alg wrong curve", ec_p256, "alg", "\"ES384\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"alg HMAC on EC", ec_p256, "alg", "\"HS256\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"alg RSA on oct", oct_hs256, "alg", "\"RS256\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"alg HS512 on 32 bytes", oct_hs256, "alg", "\"HS512\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"alg HS512 on 32 bytes, weak", oct_hs256, "alg", "\"HS512\"", JWTD_KEY_ALLOW_WEAK, JWTD_OK},
    {"alg EdDSA on RSA", NULL, "alg", "\"EdDSA\"", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    /* kid */
    {"kid 257 bytes", oct_hs256, "kid",
     "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefX\"",
     0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"kid number", oct_hs256, "kid", "5", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    /* secrets and canonical base64url */
    {"k 31 bytes", oct_hs256, "k", "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"k 31 bytes, weak", oct_hs256, "k", "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg\"",
     JWTD_KEY_ALLOW_WEAK, JWTD_OK},
    {"k empty", oct_hs256, "k", "\"\"", JWTD_KEY_ALLOW_WEAK, JWTD_ERR_INVALID_KEY_FORMAT},
    {"k missing", oct_hs256, "k", NULL, 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"k number", oct_hs256, "k", "12", 0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"k padded", oct_hs256, "k", "\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg=\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"k with +", oct_hs256, "k", "\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG+Onbc6mxCcYg\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"k with /", oct_hs256, "k", "\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG/Onbc6mxCcYg\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"k non-zero trailing bits", oct_hs256, "k", "\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYh\"",
     0, JWTD_ERR_INVALID_KEY_FORMAT},
    {"k with space", oct_hs256, "k", "\"hJtXIZ2uSN5kbQfbtTNW bpdmhkV8FJG-Onbc6mxCcYg\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"k length 1 mod 4", oct_hs256, "k", "\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYgAA\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
    {"x non-canonical", okp_ed25519, "x", "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp\"", 0,
     JWTD_ERR_INVALID_KEY_FORMAT},
};

static void test_jwk_edits(void **state)
{
    char *rsa = slurp("latchset-jose-rfc/rfc7515_A.2.jwk", NULL);

    for (size_t i = 0; i < sizeof jwk_edits / sizeof jwk_edits[0]; i++) {
        const jwk_edit *c = &jwk_edits[i];
        char *json = json_with(c->base != NULL ? c->base : rsa, c->member, c->value);
        jwtd_key *key = (jwtd_key *)&key; /* must be reset to NULL on failure */

        print_message("%s\n", c->name);
        assert_int_equal(load_jwk(json, c->flags, &key), c->want);
        if (c->want != JWTD_OK)
            assert_null(key);
        jwtd_key_free(key);
        free(json);
    }
    free(rsa);
    {
        /* a kid with NUL would be cut short by jwtd_key_kid (json_with cannot build it) */
        static const char nul_kid[] = "{\"kty\":\"oct\",\"k\":\"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-"
                                      "Onbc6mxCcYg\",\"kid\":\"a\\u0000b\"}";
        jwtd_key *key = NULL;

        assert_int_equal(load_jwk(nul_kid, 0, &key), JWTD_ERR_INVALID_KEY_FORMAT);
        assert_null(key);
    }
}

/* A private RSA JWK with only n, e and d (no CRT values) is a usable private key. */
static void test_rsa_jwk_without_crt(void **state)
{
    static const char *const crt[] = {"p", "q", "dp", "dq", "qi"};
    char *json = slurp("latchset-jose-rfc/rfc7515_A.2.jwk", NULL);
    jwtd_key *full = NULL, *bare = NULL;
    char *out = NULL;

    assert_int_equal(load_jwk(json, 0, &full), JWTD_OK);
    for (size_t i = 0; i < sizeof crt / sizeof crt[0]; i++) {
        char *next = json_with(json, crt[i], NULL);
        free(json);
        json = next;
    }
    assert_int_equal(load_jwk(json, 0, &bare), JWTD_OK);
    assert_true(jwtd_key_is_private(bare));
    assert_same_key(full, bare);
    assert_int_equal(jwtd_key_private_jwk(bare, &out), JWTD_OK);
    assert_non_null(strstr(out, "\"d\":"));
    assert_null(strstr(out, "\"qi\":"));
    jwtd_free(out);
    free(json);
    /* ...and d must still belong to n and e */
    json = slurp("latchset-jose-rfc/rfc7515_A.2.jwk", NULL);
    for (size_t i = 0; i < sizeof crt / sizeof crt[0]; i++) {
        char *next = json_with(json, crt[i], NULL);
        free(json);
        json = next;
    }
    {
        char *other = slurp("jose-cookbook/jwk/3_4.rsa_private_key.json", NULL);
        char *d = json_member(other, "d");
        char *value = malloc(strlen(d) + 3);
        char *bad;
        jwtd_key *key = NULL;

        sprintf(value, "\"%s\"", d);
        bad = json_with(json, "d", value);
        assert_int_equal(load_jwk(bad, 0, &key), JWTD_ERR_INVALID_KEY_FORMAT);
        free(bad);
        free(value);
        free(d);
        free(other);
    }
    jwtd_key_free(full);
    jwtd_key_free(bare);
    free(json);
}

/* A private JWK whose private half was swapped for that of another key of the same kind. */
static void test_mismatched_private_halves(void **state)
{
    static const struct {
        int a, b;
        const char *member;
    } cases[] = {{G_ES256, -1, "d"},
                 {G_ES512, -1, "d"},
                 {G_EDDSA, -1, "d"},
                 {G_RS256, -1, "d"},
                 {G_RS256, -1, "p"}};
    jwtd_key *others[3] = {NULL};

    /* a second key of each kind: RSA from RFC 7520 (also 2048 bits) */
    char *cookbook = slurp("jose-cookbook/jwk/3_4.rsa_private_key.json", NULL);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_ES256, &others[0]), JWTD_OK);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_ES512, &others[1]), JWTD_OK);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_EDDSA, &others[2]), JWTD_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *mine = NULL, *theirs = NULL, *value, *swapped, *member;
        jwtd_key *key = NULL;

        assert_int_equal(jwtd_key_private_jwk(gen[cases[i].a], &mine), JWTD_OK);
        if (cases[i].a == G_RS256)
            theirs = strdup(cookbook);
        else
            assert_int_equal(jwtd_key_private_jwk(others[i], &theirs), JWTD_OK);
        member = json_member(theirs, cases[i].member);
        value = malloc(strlen(member) + 3);
        sprintf(value, "\"%s\"", member);
        swapped = json_with(mine, cases[i].member, value);
        print_message("swap %s of %s\n", cases[i].member, jwtd_alg_name(gen_algs[cases[i].a]));
        assert_int_equal(load_jwk(mine, 0, &key), JWTD_OK); /* control */
        jwtd_key_free(key);
        assert_int_equal(load_jwk(swapped, 0, &key), JWTD_ERR_INVALID_KEY_FORMAT);
        free(member);
        free(value);
        free(swapped);
        jwtd_free(mine);
        free(theirs);
    }
    for (int i = 0; i < 3; i++)
        jwtd_key_free(others[i]);
    free(cookbook);
}

/* ---- PEM ---- */

typedef enum pem_format {
    F_SPKI,
    F_PKCS8,
    F_PKCS1_PUB,
    F_PKCS1_PRIV,
    F_SEC1,
    F_SEC1_WITH_PARAMS, /* what `openssl ecparam -genkey` prints */
    F_PKCS8_ENCRYPTED,
    F_TRADITIONAL_ENCRYPTED,
} pem_format;

static const char *const pem_first_line[] = {
    "-----BEGIN PUBLIC KEY-----",
    "-----BEGIN PRIVATE KEY-----",
    "-----BEGIN RSA PUBLIC KEY-----",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----BEGIN EC PRIVATE KEY-----",
    "-----BEGIN EC PARAMETERS-----",
    "-----BEGIN ENCRYPTED PRIVATE KEY-----",
    NULL,
};

static char *pem_of(EVP_PKEY *pkey, pem_format f)
{
    BIO *bio = BIO_new(BIO_s_mem());
    OSSL_ENCODER_CTX *ectx = NULL;
    int ok = 0;

    assert_non_null(bio);
    switch (f) {
    case F_SPKI: ok = PEM_write_bio_PUBKEY(bio, pkey); break;
    case F_PKCS8: ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL); break;
    case F_PKCS1_PUB:
        ectx =
            OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", NULL);
        ok = ectx != NULL && OSSL_ENCODER_to_bio(ectx, bio);
        OSSL_ENCODER_CTX_free(ectx);
        break;
    case F_SEC1_WITH_PARAMS:
        /* the EC PARAMETERS block, then the SEC1 key */
        assert_int_equal(PEM_write_bio_Parameters(bio, pkey), 1);
        /* fall through */
    case F_PKCS1_PRIV:
    case F_SEC1:
        ok = PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL);
        break;
    case F_PKCS8_ENCRYPTED:
        ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), "passphrase", 10, NULL,
                                           NULL);
        break;
    case F_TRADITIONAL_ENCRYPTED:
        ok = PEM_write_bio_PrivateKey_traditional(bio, pkey, EVP_aes_256_cbc(),
                                                  (unsigned char *)"passphrase", 10, NULL, NULL);
        break;
    }
    assert_int_equal(ok, 1);
    return bio_text(bio);
}

enum { K_ED448 = G_COUNT };

static jwtd_key *key_by_index(int i) { return i == K_ED448 ? ed448 : gen[i]; }

static void test_pem_formats(void **state)
{
    static const struct {
        int key;
        pem_format f;
        bool is_private;
    } cases[] = {
        {G_RS256, F_SPKI, false},      {G_RS256, F_PKCS8, true},
        {G_RS256, F_PKCS1_PUB, false}, {G_RS256, F_PKCS1_PRIV, true},
        {G_ES256, F_SPKI, false},      {G_ES256, F_PKCS8, true},
        {G_ES256, F_SEC1, true},       {G_ES256, F_SEC1_WITH_PARAMS, true},
        {G_ES384, F_SPKI, false},      {G_ES384, F_SEC1, true},
        {G_ES512, F_PKCS8, true},      {G_ES512, F_SEC1, true},
        {G_EDDSA, F_SPKI, false},      {G_EDDSA, F_PKCS8, true},
        {K_ED448, F_SPKI, false},      {K_ED448, F_PKCS8, true},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const jwtd_key *orig = key_by_index(cases[i].key);
        char *pem = pem_of(orig->pkey, cases[i].f);
        jwtd_key *key = NULL;

        print_message("%s %s\n", jwtd_key_curve(orig) ? jwtd_key_curve(orig) : "RSA",
                      pem_first_line[cases[i].f]);
        /* the test must really have written the format it names */
        assert_memory_equal(pem, pem_first_line[cases[i].f], strlen(pem_first_line[cases[i].f]));
        assert_int_equal(load_pem(pem, 0, &key), JWTD_OK);
        assert_int_equal(jwtd_key_is_private(key), cases[i].is_private);
        assert_same_key(orig, key);
        if (orig->curve != NULL)
            assert_string_equal(jwtd_key_curve(key), orig->curve);
        assert_int_equal(jwtd_key_alg(key), JWTD_ALG_UNKNOWN); /* PEM names no algorithm */
        assert_string_equal(jwtd_key_kid(key), orig->kid);     /* both: the thumbprint */
        jwtd_key_free(key);
        free(pem);
    }
}

static char *str_replace_all(const char *s, const char *from, const char *to)
{
    size_t n = 0, fl = strlen(from), tl = strlen(to), size;
    char *out, *w;

    for (const char *p = strstr(s, from); p != NULL; p = strstr(p + fl, from))
        n++;
    size = strlen(s) + n * tl + 1;
    out = malloc(size);
    assert_non_null(out);
    w = out;
    for (const char *p; (p = strstr(s, from)) != NULL; s = p + fl)
        w += snprintf(w, size - (size_t)(w - out), "%.*s%s", (int)(p - s), s, to);
    snprintf(w, size - (size_t)(w - out), "%s", s);
    return out;
}

/* An SPKI PEM whose DER is followed by two zero bytes. */
static char *spki_with_trailing_bytes(EVP_PKEY *pkey)
{
    unsigned char *der = NULL, *longer;
    int len = i2d_PUBKEY(pkey, &der);
    BIO *bio = BIO_new(BIO_s_mem());

    assert_true(len > 0);
    longer = calloc(1, (size_t)len + 2);
    assert_non_null(longer);
    memcpy(longer, der, (size_t)len);
    assert_true(PEM_write_bio(bio, "PUBLIC KEY", "", longer, len + 2) > 0);
    OPENSSL_free(der);
    free(longer);
    return bio_text(bio);
}

static void test_pem_refused(void **state)
{
    char *pkcs8 = pem_of(gen[G_ES256]->pkey, F_PKCS8);
    char *spki = pem_of(gen[G_ES256]->pkey, F_SPKI);
    size_t half = strlen(pkcs8) / 2;
    char *truncated = strndup(pkcs8, half);
    char *relabelled = str_replace_all(pkcs8, "PRIVATE KEY", "PUBLIC KEY");
    char *unknown_label = str_replace_all(spki, "PUBLIC KEY", "FOO KEY");
    char *two = malloc(2 * strlen(spki) + 1);
    char *corrupt = strdup(spki);
    struct {
        const char *name;
        char *pem; /* owned */
    } cases[] = {
        {"garbage", strdup("hello, world\n")},
        {"begin line only", strdup("-----BEGIN PUBLIC KEY-----\n")},
        {"empty body", strdup("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")},
        {"bad base64", strdup("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n")},
        {"truncated", truncated},
        {"PKCS#8 body under PUBLIC KEY", relabelled},
        {"unknown label", unknown_label},
        {"two keys", two},
        {"corrupt DER", corrupt},
        {"bytes after the DER", spki_with_trailing_bytes(gen[G_ES256]->pkey)},
        {"encrypted PKCS#8", pem_of(gen[G_ES256]->pkey, F_PKCS8_ENCRYPTED)},
        {"encrypted traditional", pem_of(gen[G_RS256]->pkey, F_TRADITIONAL_ENCRYPTED)},
        {"X25519 SPKI", pem_of(x25519, F_SPKI)},
        {"X25519 PKCS#8", pem_of(x25519, F_PKCS8)},
        {"secp256k1 SPKI", pem_of(secp256k1, F_SPKI)},
        {"secp256k1 SEC1", pem_of(secp256k1, F_SEC1)},
        {"RSA 1024 SPKI", pem_of(rsa1024, F_SPKI)},
        {"RSA 1024 PKCS#1", pem_of(rsa1024, F_PKCS1_PRIV)},
    };

    snprintf(two, 2 * strlen(spki) + 1, "%s%s", spki, spki);
    corrupt[strlen("-----BEGIN PUBLIC KEY-----\n") + 2] ^= 0x01; /* inside the DER header */
    assert_non_null(strstr(cases[11].pem, "ENCRYPTED"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jwtd_key *key = (jwtd_key *)&key;

        print_message("%s\n", cases[i].name);
        assert_int_equal(load_pem(cases[i].pem, 0, &key), JWTD_ERR_INVALID_KEY_FORMAT);
        assert_null(key);
        free(cases[i].pem);
    }
    {
        jwtd_key *key = NULL;
        assert_int_equal(jwtd_key_from_pem("", 0, 0, &key), JWTD_ERR_INVALID_KEY_FORMAT);
        assert_int_equal(jwtd_key_from_pem(spki, JWTD_MAX_KEY_BYTES + 1, 0, &key),
                         JWTD_ERR_INVALID_KEY_FORMAT);
        /* the control: the good PEMs load */
        assert_int_equal(load_pem(spki, 0, &key), JWTD_OK);
        jwtd_key_free(key);
        assert_int_equal(load_pem(pkcs8, 0, &key), JWTD_OK);
        jwtd_key_free(key);
    }
    free(pkcs8);
    free(spki);
}

/* ---- Weak keys ---- */

static void test_rsa_1024(void **state)
{
    char *pem = pem_of(rsa1024, F_SPKI);
    jwtd_key *key = NULL, *again = NULL;
    char *jwk = NULL;

    assert_int_equal(load_pem(pem, 0, &key), JWTD_ERR_INVALID_KEY_FORMAT);
    assert_int_equal(load_pem(pem, JWTD_KEY_ALLOW_WEAK, &key), JWTD_OK);
    assert_int_equal(jwtd_key_bits(key), 1024);
    assert_true(jwtd_key_fits_alg(key, JWTD_ALG_RS256));
    /* the same key as a JWK obeys the same rule */
    assert_int_equal(jwtd_key_public_jwk(key, &jwk), JWTD_OK);
    assert_int_equal(load_jwk(jwk, 0, &again), JWTD_ERR_INVALID_KEY_FORMAT);
    assert_int_equal(load_jwk(jwk, JWTD_KEY_ALLOW_WEAK, &again), JWTD_OK);
    assert_same_key(key, again);
    jwtd_key_free(key);
    jwtd_key_free(again);
    jwtd_free(jwk);
    free(pem);
}

static void test_hmac_secret_lengths(void **state)
{
    static const unsigned char bytes[64] = {1, 2, 3};
    static const struct {
        size_t len;
        unsigned flags;
        jwtd_err want;
    } cases[] = {
        {0, 0, JWTD_ERR_INVALID_KEY_FORMAT},
        {0, JWTD_KEY_ALLOW_WEAK, JWTD_ERR_INVALID_KEY_FORMAT},
        {1, 0, JWTD_ERR_INVALID_KEY_FORMAT},
        {1, JWTD_KEY_ALLOW_WEAK, JWTD_OK},
        {31, 0, JWTD_ERR_INVALID_KEY_FORMAT},
        {31, JWTD_KEY_ALLOW_WEAK, JWTD_OK},
        {32, 0, JWTD_OK},
        {64, 0, JWTD_OK},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jwtd_key *key = NULL;

        print_message("%zu bytes, flags %u\n", cases[i].len, cases[i].flags);
        assert_int_equal(jwtd_key_from_secret(bytes, cases[i].len, cases[i].flags, &key),
                         cases[i].want);
        if (key != NULL) {
            assert_int_equal(jwtd_key_kty(key), JWTD_KTY_OCT);
            assert_int_equal(jwtd_key_bits(key), cases[i].len * 8);
            assert_null(jwtd_key_kid(key));
            assert_true(jwtd_key_is_private(key));
            for (int h = 0; h < JOSE_HMAC_VARIANTS; h++)
                assert_non_null(key->hmac[h]);
        }
        jwtd_key_free(key);
    }
    {
        jwtd_key *key = NULL;
        assert_int_equal(
            jwtd_key_from_secret(bytes, JWTD_MAX_KEY_BYTES + 1, JWTD_KEY_ALLOW_WEAK, &key),
            JWTD_ERR_INVALID_KEY_FORMAT);
    }
}

/* ---- Fit matrix ---- */

#define A(x) (1u << JWTD_ALG_##x)
#define ALL_HS (A(HS256) | A(HS384) | A(HS512))
#define ALL_RSA (A(RS256) | A(RS384) | A(RS512) | A(PS256) | A(PS384) | A(PS512))

static void test_fits_alg_matrix(void **state)
{
    static const unsigned char secret[64] = {0};
    jwtd_key *oct31 = NULL, *oct32 = NULL, *oct48 = NULL, *oct64 = NULL, *oct64_hs384 = NULL;
    char *jwk = json_with("{\"kty\":\"oct\",\"k\":"
                          "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                          "AAAAAAAAAAAAAAAA\"}",
                          "alg", "\"HS384\"");
    struct {
        const char *name;
        jwtd_key *key; /* owned */
        unsigned fits;
    } rows[] = {
        {"oct 31 weak", NULL, ALL_HS},
        {"oct 32", NULL, A(HS256)},
        {"oct 48", NULL, A(HS256) | A(HS384)},
        {"oct 64", NULL, ALL_HS},
        {"oct 64 alg HS384", NULL, A(HS384)},
        {"RSA", without_alg(gen[G_RS256]), ALL_RSA},
        {"RSA alg RS256", jwtd_key_ref(gen[G_RS256]), A(RS256)},
        {"P-256", without_alg(gen[G_ES256]), A(ES256)},
        {"P-384", without_alg(gen[G_ES384]), A(ES384)},
        {"P-521", without_alg(gen[G_ES512]), A(ES512)},
        {"P-521 alg ES512", jwtd_key_ref(gen[G_ES512]), A(ES512)},
        {"Ed25519", without_alg(gen[G_EDDSA]), A(EDDSA)},
        {"Ed448", jwtd_key_ref(ed448), A(EDDSA)},
        {"HS256 generated", jwtd_key_ref(gen[G_HS256]), A(HS256)},
    };

    assert_int_equal(jwtd_key_from_secret(secret, 31, JWTD_KEY_ALLOW_WEAK, &oct31), JWTD_OK);
    assert_int_equal(jwtd_key_from_secret(secret, 32, 0, &oct32), JWTD_OK);
    assert_int_equal(jwtd_key_from_secret(secret, 48, 0, &oct48), JWTD_OK);
    assert_int_equal(jwtd_key_from_secret(secret, 64, 0, &oct64), JWTD_OK);
    assert_int_equal(load_jwk(jwk, 0, &oct64_hs384), JWTD_OK);
    rows[0].key = oct31;
    rows[1].key = oct32;
    rows[2].key = oct48;
    rows[3].key = oct64;
    rows[4].key = oct64_hs384;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        for (int a = JWTD_ALG_UNKNOWN; a <= JWTD_ALG_COUNT; a++) {
            bool want = a > JWTD_ALG_UNKNOWN && a < JWTD_ALG_COUNT && (rows[r].fits & (1u << a));

            if (jwtd_key_fits_alg(rows[r].key, (jwtd_alg)a) != want)
                fail_msg("%s with %s: expected %d", rows[r].name, jwtd_alg_name((jwtd_alg)a), want);
        }
        jwtd_key_free(rows[r].key);
    }
    assert_false(jwtd_key_fits_alg(NULL, JWTD_ALG_HS256));
    free(jwk);
}

/* ---- Generation and export round trips ---- */

static void test_generate(void **state)
{
    static const unsigned bits[G_COUNT] = {256, 384, 512, 2048, 256, 384, 521, 255};
    static const char *const curve[G_COUNT] = {NULL,    NULL,    NULL,    NULL,
                                               "P-256", "P-384", "P-521", "Ed25519"};

    for (int i = 0; i < G_COUNT; i++) {
        char thp[JWTD_THUMBPRINT_B64_LEN + 1];

        print_message("%s\n", jwtd_alg_name(gen_algs[i]));
        assert_int_equal(jwtd_key_alg(gen[i]), gen_algs[i]);
        assert_int_equal(jwtd_key_bits(gen[i]), bits[i]);
        assert_true(jwtd_key_is_private(gen[i]));
        assert_true(jwtd_key_fits_alg(gen[i], gen_algs[i]));
        if (curve[i] != NULL)
            assert_string_equal(jwtd_key_curve(gen[i]), curve[i]);
        else
            assert_null(jwtd_key_curve(gen[i]));
        thumbprint_of(gen[i], thp);
        assert_string_equal(jwtd_key_kid(gen[i]), thp);
    }
    {
        jwtd_key *key = (jwtd_key *)&key;
        assert_int_equal(jwtd_key_generate(JWTD_ALG_UNKNOWN, &key), JWTD_ERR_INVALID_ALGORITHM);
        assert_null(key);
        assert_int_equal(jwtd_key_generate(JWTD_ALG_COUNT, &key), JWTD_ERR_INVALID_ALGORITHM);
        assert_int_equal(jwtd_key_generate(JWTD_ALG_HS256, NULL), JWTD_ERR_INVALID_ARGUMENT);
    }
}

/* generate -> private PEM -> load -> public JWK -> load: the thumbprint never changes. */
static void test_asymmetric_round_trips(void **state)
{
    static const int keys[] = {G_RS256, G_ES256, G_ES384, G_ES512, G_EDDSA, K_ED448};

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const jwtd_key *orig = key_by_index(keys[i]);
        char *priv_pem = NULL, *pub_pem = NULL, *pub_jwk = NULL, *priv_jwk = NULL, *j2 = NULL;
        jwtd_key *from_pem = NULL, *from_pub_jwk = NULL, *from_priv_jwk = NULL,
                 *from_pub_pem = NULL;

        print_message("%s\n", orig->curve != NULL ? orig->curve : "RSA");
        assert_int_equal(jwtd_key_private_pem(orig, &priv_pem), JWTD_OK);
        assert_memory_equal(priv_pem, "-----BEGIN PRIVATE KEY-----", 27);
        assert_int_equal(load_pem(priv_pem, 0, &from_pem), JWTD_OK);
        assert_true(jwtd_key_is_private(from_pem));
        assert_same_key(orig, from_pem);

        assert_int_equal(jwtd_key_public_jwk(from_pem, &pub_jwk), JWTD_OK);
        assert_null(strstr(pub_jwk, "\"d\""));
        assert_non_null(strstr(pub_jwk, "\"use\":\"sig\""));
        assert_int_equal(load_jwk(pub_jwk, 0, &from_pub_jwk), JWTD_OK);
        assert_false(jwtd_key_is_private(from_pub_jwk));
        assert_same_key(orig, from_pub_jwk);

        assert_int_equal(jwtd_key_private_jwk(orig, &priv_jwk), JWTD_OK);
        assert_non_null(strstr(priv_jwk, "\"d\""));
        assert_int_equal(load_jwk(priv_jwk, 0, &from_priv_jwk), JWTD_OK);
        assert_true(jwtd_key_is_private(from_priv_jwk));
        assert_int_equal(jwtd_key_alg(from_priv_jwk), jwtd_key_alg(orig)); /* alg travels */
        assert_same_key(orig, from_priv_jwk);
        assert_int_equal(jwtd_key_private_jwk(from_priv_jwk, &j2), JWTD_OK);
        assert_string_equal(priv_jwk, j2); /* export is deterministic */

        assert_int_equal(jwtd_key_public_pem(orig, &pub_pem), JWTD_OK);
        assert_memory_equal(pub_pem, "-----BEGIN PUBLIC KEY-----", 26);
        assert_int_equal(load_pem(pub_pem, 0, &from_pub_pem), JWTD_OK);
        assert_same_key(orig, from_pub_pem);

        /* a public key has nothing private to export */
        jwtd_free(j2);
        assert_int_equal(jwtd_key_private_jwk(from_pub_jwk, &j2), JWTD_ERR_INVALID_ARGUMENT);
        assert_null(j2);
        assert_int_equal(jwtd_key_private_pem(from_pub_pem, &j2), JWTD_ERR_INVALID_ARGUMENT);
        assert_null(j2);

        jwtd_key_free(from_pem);
        jwtd_key_free(from_pub_jwk);
        jwtd_key_free(from_priv_jwk);
        jwtd_key_free(from_pub_pem);
        jwtd_free(priv_pem);
        jwtd_free(pub_pem);
        jwtd_free(pub_jwk);
        jwtd_free(priv_jwk);
    }
}

static void test_oct_export(void **state)
{
    static const int keys[] = {G_HS256, G_HS384, G_HS512};

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const jwtd_key *orig = gen[keys[i]];
        char *out = (char *)&out, *priv = NULL;
        jwtd_key *back = NULL;

        assert_int_equal(jwtd_key_public_jwk(orig, &out), JWTD_ERR_INVALID_ARGUMENT);
        assert_null(out);
        assert_int_equal(jwtd_key_public_pem(orig, &out), JWTD_ERR_INVALID_ARGUMENT);
        assert_int_equal(jwtd_key_private_pem(orig, &out), JWTD_ERR_INVALID_ARGUMENT);
        assert_int_equal(jwtd_key_private_jwk(orig, &priv), JWTD_OK);
        assert_memory_equal(priv, "{\"k\":\"", 6);
        assert_non_null(strstr(priv, "\"kty\":\"oct\""));
        assert_int_equal(load_jwk(priv, 0, &back), JWTD_OK);
        assert_same_key(orig, back);
        assert_int_equal(back->secret_len, orig->secret_len);
        assert_memory_equal(back->secret, orig->secret, orig->secret_len);
        assert_int_equal(jwtd_key_alg(back), jwtd_key_alg(orig));
        assert_string_equal(jwtd_key_kid(back), jwtd_key_kid(orig));
        jwtd_key_free(back);
        jwtd_free(priv);
    }
}

/* ---- kid replacement and reference counts ---- */

static void test_with_kid(void **state)
{
    char long_kid[JWTD_MAX_KID_BYTES + 2];
    jwtd_key *named = NULL, *bare = NULL, *oct = NULL;
    const char *orig_kid = jwtd_key_kid(gen[G_ES256]);
    char *jwk = NULL;

    assert_int_equal(jwtd_key_with_kid(gen[G_ES256], "rotated-1", &named), JWTD_OK);
    assert_string_equal(jwtd_key_kid(named), "rotated-1");
    assert_true(named->kid_explicit);
    assert_false(gen[G_ES256]->kid_explicit);                  /* generated: the thumbprint */
    assert_string_equal(jwtd_key_kid(gen[G_ES256]), orig_kid); /* the original is untouched */
    assert_int_equal(jwtd_key_alg(named), JWTD_ALG_ES256);
    assert_same_key(gen[G_ES256], named);
    assert_int_equal(jwtd_key_public_jwk(named, &jwk), JWTD_OK);
    assert_non_null(strstr(jwk, "\"kid\":\"rotated-1\""));
    assert_int_equal(jwtd_key_with_kid(named, NULL, &bare), JWTD_OK);
    assert_null(jwtd_key_kid(bare));
    assert_false(bare->kid_explicit);
    assert_int_equal(jwtd_key_with_kid(gen[G_HS256], "hs", &oct), JWTD_OK);
    assert_string_equal(jwtd_key_kid(oct), "hs");
    assert_same_key(gen[G_HS256], oct);

    memset(long_kid, 'a', sizeof long_kid - 1);
    long_kid[sizeof long_kid - 1] = '\0';
    {
        jwtd_key *k = (jwtd_key *)&k;
        assert_int_equal(jwtd_key_with_kid(gen[G_ES256], long_kid, &k), JWTD_ERR_INVALID_ARGUMENT);
        assert_null(k);
        assert_int_equal(jwtd_key_with_kid(gen[G_ES256], "\xff\xfe", &k),
                         JWTD_ERR_INVALID_ARGUMENT);
        long_kid[JWTD_MAX_KID_BYTES] = '\0';
        assert_int_equal(jwtd_key_with_kid(gen[G_ES256], long_kid, &k), JWTD_OK);
        jwtd_key_free(k);
    }
    jwtd_free(jwk);
    jwtd_key_free(named);
    jwtd_key_free(bare);
    jwtd_key_free(oct);
}

static void test_reference_counts(void **state)
{
    jwtd_key *key = NULL;
    jwtd_keyset *set = NULL;

    assert_int_equal(jwtd_key_generate(JWTD_ALG_ES256, &key), JWTD_OK);
    assert_ptr_equal(jwtd_key_ref(key), key);
    assert_int_equal(atomic_load(&key->refs), 2);
    assert_int_equal(jwtd_keyset_new(&key, 1, &set), JWTD_OK);
    assert_int_equal(atomic_load(&key->refs), 3);
    jwtd_key_free(key);
    jwtd_key_free(key);
    /* the set still holds the key */
    assert_int_equal(atomic_load(&key->refs), 1);
    assert_ptr_equal(jwtd_keyset_ref(set), set);
    jwtd_keyset_free(set);
    assert_int_equal(jwtd_key_kty(jwtd_keyset_get(set, 0)), JWTD_KTY_EC);
    /* A const key from a set is referenced without a cast and outlives the set. */
    key = jwtd_key_ref(jwtd_keyset_get(set, 0));
    assert_int_equal(atomic_load(&key->refs), 2);
    jwtd_keyset_free(set); /* last reference to the set */
    assert_int_equal(atomic_load(&key->refs), 1);
    assert_int_equal(jwtd_key_kty(key), JWTD_KTY_EC);
    jwtd_key_free(key); /* valgrind/ASan check the rest */
    jwtd_key_free(NULL);
    jwtd_keyset_free(NULL);
    assert_null(jwtd_key_ref(NULL));
    assert_null(jwtd_keyset_ref(NULL));
}

/* ---- Key sets ---- */

/* {"keys":[n oct keys with kids "k0".."k<n-1>"]} */
static char *oct_jwks(size_t n, bool same_kid)
{
    json_t *keys = json_array();
    json_t *root = json_pack("{s:o}", "keys", keys);
    char *s;

    for (size_t i = 0; i < n; i++) {
        char kid[24];

        snprintf(kid, sizeof kid, "k%zu", same_kid ? (size_t)0 : i);
        json_array_append_new(keys, json_pack("{s:s,s:s,s:s}", "kty", "oct", "kid", kid, "k",
                                              "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"));
    }
    s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

static void test_jwks_limits(void **state)
{
    char *max = oct_jwks(JWTD_MAX_JWKS_KEYS, false);
    char *over = oct_jwks(JWTD_MAX_JWKS_KEYS + 1, false);
    char *dup = oct_jwks(2, true);
    jwtd_keyset *set = NULL;

    assert_int_equal(jwtd_keyset_from_jwks(max, strlen(max), 0, &set), JWTD_OK);
    assert_int_equal(jwtd_keyset_count(set), JWTD_MAX_JWKS_KEYS);
    assert_non_null(jwtd_keyset_find(set, "k255", 4));
    jwtd_keyset_free(set);
    set = (jwtd_keyset *)&set;
    assert_int_equal(jwtd_keyset_from_jwks(over, strlen(over), 0, &set),
                     JWTD_ERR_INVALID_KEY_FORMAT);
    assert_null(set);
    assert_int_equal(jwtd_keyset_from_jwks(dup, strlen(dup), 0, &set), JWTD_ERR_INVALID_KEY_FORMAT);
    free(max);
    free(over);
    free(dup);
}

static void test_jwks_refused(void **state)
{
    char *ec = NULL, *oct = NULL, *mixed, *same_ec;
    static const char *const bad[] = {
        "{\"keys\":[]}",
        "{\"keys\":{}}",
        "{\"keys\":[1]}",
        "{\"keys\":null}",
        "{\"key\":[]}",
        "[]",
        "{\"keys\":[{}]}",
        "{\"keys\":[{\"kty\":\"oct\"}]}",
        "{\"keys\":[",
        "",
        "{\"keys\":[],\"keys\":[]}",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jwtd_keyset *set = NULL;

        print_message("%s\n", bad[i]);
        assert_int_equal(jwtd_keyset_from_jwks(bad[i], strlen(bad[i]), 0, &set),
                         JWTD_ERR_INVALID_KEY_FORMAT);
    }
    /* secrets mixed with public keys, and the same public key twice (same implicit kid) */
    assert_int_equal(jwtd_key_public_jwk(gen[G_ES256], &ec), JWTD_OK);
    assert_int_equal(jwtd_key_private_jwk(gen[G_HS256], &oct), JWTD_OK);
    mixed = malloc(strlen(ec) + strlen(oct) + 16);
    sprintf(mixed, "{\"keys\":[%s,%s]}", oct, ec);
    {
        char *ec_no_kid = json_with(ec, "kid", NULL);
        same_ec = malloc(2 * strlen(ec_no_kid) + 16);
        sprintf(same_ec, "{\"keys\":[%s,%s]}", ec_no_kid, ec_no_kid);
        free(ec_no_kid);
    }
    {
        jwtd_keyset *set = NULL;
        jwtd_key *pair[2] = {gen[G_HS256], gen[G_ES256]};

        assert_int_equal(jwtd_keyset_from_jwks(mixed, strlen(mixed), 0, &set),
                         JWTD_ERR_INVALID_KEY_FORMAT);
        assert_int_equal(jwtd_keyset_from_jwks(same_ec, strlen(same_ec), 0, &set),
                         JWTD_ERR_INVALID_KEY_FORMAT);
        assert_int_equal(jwtd_keyset_new(pair, 2, &set), JWTD_ERR_INVALID_KEY_FORMAT);
        assert_null(set);
        pair[0] = gen[G_ES384];
        assert_int_equal(jwtd_keyset_new(pair, 2, &set), JWTD_OK); /* control */
        jwtd_keyset_free(set);
        pair[0] = gen[G_ES256];
        assert_int_equal(jwtd_keyset_new(pair, 2, &set), JWTD_ERR_INVALID_KEY_FORMAT);
    }
    jwtd_free(ec);
    jwtd_free(oct);
    free(mixed);
    free(same_ec);
}

static void test_keyset_find_exact(void **state)
{
    jwtd_key *a = NULL, *ab = NULL;
    jwtd_keyset *set = NULL;
    jwtd_key *keys[2];

    assert_int_equal(jwtd_key_with_kid(gen[G_ES256], "a", &a), JWTD_OK);
    assert_int_equal(jwtd_key_with_kid(gen[G_ES384], "ab", &ab), JWTD_OK);
    keys[0] = a;
    keys[1] = ab;
    assert_int_equal(jwtd_keyset_new(keys, 2, &set), JWTD_OK);
    assert_ptr_equal(jwtd_keyset_find(set, "a", 1), a);
    assert_ptr_equal(jwtd_keyset_find(set, "ab", 2), ab);
    assert_ptr_equal(jwtd_keyset_find(set, "abc", 2), ab); /* kid_len bytes, not strlen */
    assert_null(jwtd_keyset_find(set, "b", 1));
    assert_null(jwtd_keyset_find(set, "", 0));
    assert_null(jwtd_keyset_find(set, "A", 1));
    assert_null(jwtd_keyset_find(set, "a\0", 2));
    assert_null(jwtd_keyset_find(set, NULL, 0));
    assert_null(jwtd_keyset_find(NULL, "a", 1));
    jwtd_keyset_free(set);
    jwtd_key_free(a);
    jwtd_key_free(ab);
}

static void test_keyset_public_jwks(void **state)
{
    jwtd_key *keys[3] = {gen[G_ES256], gen[G_EDDSA], gen[G_RS256]};
    jwtd_keyset *set = NULL, *back = NULL;
    char *json = NULL;

    assert_int_equal(jwtd_keyset_new(keys, 3, &set), JWTD_OK);
    assert_int_equal(jwtd_keyset_public_jwks(set, &json), JWTD_OK);
    assert_null(strstr(json, "\"d\""));
    assert_int_equal(jwtd_keyset_from_jwks(json, strlen(json), 0, &back), JWTD_OK);
    assert_int_equal(jwtd_keyset_count(back), 3);
    for (size_t i = 0; i < 3; i++) {
        const jwtd_key *k = jwtd_keyset_find(back, keys[i]->kid, strlen(keys[i]->kid));

        assert_non_null(k);
        assert_false(jwtd_key_is_private(k));
        assert_same_key(keys[i], k);
    }
    jwtd_keyset_free(set);
    jwtd_keyset_free(back);
    jwtd_free(json);
    /* secrets are never published */
    keys[0] = gen[G_HS256];
    keys[1] = gen[G_HS512];
    assert_int_equal(jwtd_keyset_new(keys, 2, &set), JWTD_OK);
    assert_int_equal(jwtd_keyset_public_jwks(set, &json), JWTD_OK);
    assert_string_equal(json, "{\"keys\":[]}");
    jwtd_keyset_free(set);
    jwtd_free(json);
}

static void test_keyset_parse_sniffing(void **state)
{
    char *jwk = NULL, *pem = NULL, *jwks = NULL, *ws_pem, *ws_jwks;
    static const unsigned char binary[40] = {0, '{', 0xff, '-'};
    jwtd_keyset *set = NULL;
    jwtd_key *two[2] = {gen[G_ES256], gen[G_EDDSA]};

    assert_int_equal(jwtd_key_public_jwk(gen[G_ES256], &jwk), JWTD_OK);
    assert_int_equal(jwtd_key_public_pem(gen[G_EDDSA], &pem), JWTD_OK);
    assert_int_equal(jwtd_keyset_new(two, 2, &set), JWTD_OK);
    assert_int_equal(jwtd_keyset_public_jwks(set, &jwks), JWTD_OK);
    jwtd_keyset_free(set);
    ws_pem = malloc(strlen(pem) + 4);
    sprintf(ws_pem, " \n\t%s", pem);
    ws_jwks = malloc(strlen(jwks) + 4);
    sprintf(ws_jwks, "\r\n %s", jwks);
    {
        const struct {
            const char *name;
            const void *data;
            size_t len;
            jwtd_err want;
            size_t count;
            jwtd_kty kty;
            unsigned bits;
        } cases[] = {
            {"JWKS after white space", ws_jwks, strlen(ws_jwks), JWTD_OK, 2, JWTD_KTY_EC, 256},
            {"JWK", jwk, strlen(jwk), JWTD_OK, 1, JWTD_KTY_EC, 256},
            {"PEM after white space", ws_pem, strlen(ws_pem), JWTD_OK, 1, JWTD_KTY_OKP, 255},
            {"secret with its newline", "0123456789abcdef0123456789abcdef\n", 33, JWTD_OK, 1,
             JWTD_KTY_OCT, 264},
            {"binary secret", binary, sizeof binary, JWTD_OK, 1, JWTD_KTY_OCT, 320},
            {"short secret", "0123456789abcdef0123456789abcde", 31, JWTD_ERR_INVALID_KEY_FORMAT, 0,
             0, 0},
            {"empty", "", 0, JWTD_ERR_INVALID_KEY_FORMAT, 0, 0, 0},
            {"broken JSON is not a secret", "{\"kty\":\"oct\",\"k\":\"0123456789abcdef0123456789\"",
             44, JWTD_ERR_INVALID_KEY_FORMAT, 0, 0, 0},
            {"JSON without kty", "{}", 2, JWTD_ERR_INVALID_KEY_FORMAT, 0, 0, 0},
            {"broken PEM", "-----BEGIN PUBLIC KEY-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", 64,
             JWTD_ERR_INVALID_KEY_FORMAT, 0, 0, 0},
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            print_message("%s\n", cases[i].name);
            set = (jwtd_keyset *)&set;
            assert_int_equal(jwtd_keyset_parse(cases[i].data, cases[i].len, 0, &set),
                             cases[i].want);
            if (cases[i].want != JWTD_OK) {
                assert_null(set);
                continue;
            }
            assert_int_equal(jwtd_keyset_count(set), cases[i].count);
            assert_int_equal(jwtd_key_kty(jwtd_keyset_get(set, 0)), cases[i].kty);
            assert_int_equal(jwtd_key_bits(jwtd_keyset_get(set, 0)), cases[i].bits);
            jwtd_keyset_free(set);
        }
    }
    assert_int_equal(jwtd_keyset_parse(jwk, JWTD_MAX_KEY_BYTES + 1, 0, &set),
                     JWTD_ERR_INVALID_KEY_FORMAT);
    jwtd_free(jwk);
    jwtd_free(pem);
    jwtd_free(jwks);
    free(ws_pem);
    free(ws_jwks);
}

/* ---- API misuse ---- */

static void test_null_arguments(void **state)
{
    jwtd_key *key = NULL;
    jwtd_keyset *set = NULL;
    char *s = NULL;
    char thp[JWTD_THUMBPRINT_B64_LEN + 1];
    jwtd_key *none[1] = {NULL};

    assert_int_equal(jwtd_key_from_secret(NULL, 32, 0, &key), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_from_secret("x", 1, JWTD_KEY_ALLOW_WEAK, NULL),
                     JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_from_pem(NULL, 10, 0, &key), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_from_pem("-----BEGIN", 10, 0, NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_from_jwk(NULL, 10, 0, &key), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_from_jwk("{}", 2, 0, NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_with_kid(NULL, "a", &key), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_with_kid(gen[G_ES256], "a", NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_thumbprint(NULL, thp), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_thumbprint(gen[G_ES256], NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_public_jwk(NULL, &s), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_public_jwk(gen[G_ES256], NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_private_jwk(NULL, &s), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_public_pem(NULL, &s), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_key_private_pem(gen[G_ES256], NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_keyset_from_jwks(NULL, 1, 0, &set), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_keyset_from_jwks("{}", 2, 0, NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_keyset_parse(NULL, 1, 0, &set), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_keyset_parse("x", 1, 0, NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_keyset_new(NULL, 1, &set), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_keyset_new(none, 1, &set), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_keyset_new(gen, 0, &set), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_keyset_new(gen, 1, NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_keyset_public_jwks(NULL, &s), JWTD_ERR_INVALID_ARGUMENT);
    assert_null(key);
    assert_null(set);
    assert_null(s);
    assert_int_equal(jwtd_key_kty(NULL), 0);
    assert_int_equal(jwtd_key_alg(NULL), JWTD_ALG_UNKNOWN);
    assert_null(jwtd_key_kid(NULL));
    assert_false(jwtd_key_is_private(NULL));
    assert_null(jwtd_key_curve(NULL));
    assert_int_equal(jwtd_key_bits(NULL), 0);
    assert_int_equal(jwtd_keyset_count(NULL), 0);
    assert_null(jwtd_keyset_get(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookbook_jwks),
        cmocka_unit_test(test_cookbook_enc_key_is_refused_for_its_use),
        cmocka_unit_test(test_rfc7515_keys),
        cmocka_unit_test(test_rfc7515_a6_jwks),
        cmocka_unit_test(test_rfc7517_jwks),
        cmocka_unit_test(test_jwks_only_non_sig_keys),
        cmocka_unit_test(test_rfc7517_a1_as_signature_keys),
        cmocka_unit_test(test_rfc7638_thumbprint),
        cmocka_unit_test(test_wycheproof_json_web_key),
        cmocka_unit_test(test_wycheproof_json_web_crypto_jws),
        cmocka_unit_test(test_jwk_edits),
        cmocka_unit_test(test_rsa_jwk_without_crt),
        cmocka_unit_test(test_mismatched_private_halves),
        cmocka_unit_test(test_pem_formats),
        cmocka_unit_test(test_pem_refused),
        cmocka_unit_test(test_rsa_1024),
        cmocka_unit_test(test_hmac_secret_lengths),
        cmocka_unit_test(test_fits_alg_matrix),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_asymmetric_round_trips),
        cmocka_unit_test(test_oct_export),
        cmocka_unit_test(test_with_kid),
        cmocka_unit_test(test_reference_counts),
        cmocka_unit_test(test_jwks_limits),
        cmocka_unit_test(test_jwks_refused),
        cmocka_unit_test(test_keyset_find_exact),
        cmocka_unit_test(test_keyset_public_jwks),
        cmocka_unit_test(test_keyset_parse_sniffing),
        cmocka_unit_test(test_null_arguments),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
