/* The signing side of libjwtd: the claims builder (typed setters, time and jti helpers,
 * strict claims_from_json), and jwtd_sign's protected header (typ, kid, extra members that
 * may not override alg/kid/typ) and its refusals (public key, algorithm unfit for the key). */
#include "testutil.h"

#include <jansson.h>
#include <time.h>

/* The claims of c as a jansson object (the builder's own JSON output, parsed strictly). */
static json_t *claims_of(const jwtd_claims *c)
{
    char *json = NULL;
    json_t *obj;

    assert_int_equal(jwtd_claims_json(c, &json), JWTD_OK);
    obj = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    assert_true(json_is_object(obj));
    jwtd_free(json);
    return obj;
}

/* The protected header of a compact token, not verified. */
static json_t *header_of(const char *tok)
{
    char *h = NULL, *c = NULL;
    json_t *obj;

    assert_int_equal(jwtd_insecure_decode(tok, strlen(tok), &h, &c), JWTD_OK);
    obj = json_loads(h, JSON_REJECT_DUPLICATES, NULL);
    assert_true(json_is_object(obj));
    jwtd_free(h);
    jwtd_free(c);
    return obj;
}

/* ---- Constructors: a jwtd_err and the object through an out parameter, like every call ---- */
static void *failing_malloc(size_t n)
{
    (void)n;
    return NULL;
}

static void test_constructors(void **state)
{
    json_malloc_t saved_malloc;
    json_free_t saved_free;
    jwtd_validation *v = NULL;
    jwtd_claims *c = NULL;

    (void)state;
    assert_int_equal(jwtd_claims_new(NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_validation_new(NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_validation_new(&v), JWTD_OK);
    assert_non_null(v);
    assert_int_equal(jwtd_claims_new(&c), JWTD_OK);
    assert_non_null(c);
    jwtd_claims_free(c);
    /* The claims object comes from jansson: with its allocator failing, NoMemory and no
     * object (the pointer is cleared, not left as it was). */
    c = (jwtd_claims *)&c;
    json_get_alloc_funcs(&saved_malloc, &saved_free);
    json_set_alloc_funcs(failing_malloc, saved_free);
    assert_int_equal(jwtd_claims_new(&c), JWTD_ERR_NO_MEMORY);
    json_set_alloc_funcs(saved_malloc, saved_free);
    assert_null(c);
    jwtd_validation_free(v);
}

static void test_setters(void **state)
{
    static const char *const roles[] = {"admin", "ops"};
    jwtd_claims *c = tu_claims();
    json_t *o, *m;

    (void)state;
    assert_non_null(c);
    assert_int_equal(jwtd_claims_set_string(c, "sub", "alice"), JWTD_OK);
    assert_int_equal(jwtd_claims_set_string(c, "name", "Zo\xc3\xab"), JWTD_OK); /* UTF-8 */
    assert_int_equal(jwtd_claims_set_int(c, "n", 42), JWTD_OK);
    assert_int_equal(jwtd_claims_set_int(c, "max", INT64_MAX), JWTD_OK);
    assert_int_equal(jwtd_claims_set_int(c, "min", INT64_MIN), JWTD_OK);
    assert_int_equal(jwtd_claims_set_bool(c, "t", true), JWTD_OK);
    assert_int_equal(jwtd_claims_set_bool(c, "f", false), JWTD_OK);
    assert_int_equal(jwtd_claims_set_strings(c, "roles", roles, 2), JWTD_OK);
    assert_int_equal(jwtd_claims_set_strings(c, "none", NULL, 0), JWTD_OK);
    assert_int_equal(jwtd_claims_set_json(c, "obj", "{\"x\":[1,2],\"y\":null}"), JWTD_OK);
    assert_int_equal(jwtd_claims_set_json(c, "pi", "3.5"), JWTD_OK);
    assert_int_equal(jwtd_claims_set_json(c, "nul", "null"), JWTD_OK);

    o = claims_of(c);
    assert_int_equal(json_object_size(o), 12);
    assert_string_equal(json_string_value(json_object_get(o, "sub")), "alice");
    assert_string_equal(json_string_value(json_object_get(o, "name")), "Zo\xc3\xab");
    assert_int_equal(json_integer_value(json_object_get(o, "n")), 42);
    assert_true(json_integer_value(json_object_get(o, "max")) == INT64_MAX);
    assert_true(json_integer_value(json_object_get(o, "min")) == INT64_MIN);
    assert_true(json_is_true(json_object_get(o, "t")));
    assert_true(json_is_false(json_object_get(o, "f")));
    m = json_object_get(o, "roles");
    assert_int_equal(json_array_size(m), 2);
    assert_string_equal(json_string_value(json_array_get(m, 1)), "ops");
    assert_true(json_is_array(json_object_get(o, "none")));
    assert_int_equal(json_array_size(json_object_get(o, "none")), 0);
    m = json_object_get(o, "obj");
    assert_int_equal(json_array_size(json_object_get(m, "x")), 2);
    assert_true(json_is_null(json_object_get(m, "y")));
    assert_true(json_real_value(json_object_get(o, "pi")) == 3.5);
    assert_true(json_is_null(json_object_get(o, "nul")));
    json_decref(o);

    /* set_* replace a member of the same name, whatever its previous type. */
    assert_int_equal(jwtd_claims_set_string(c, "sub", "bob"), JWTD_OK);
    assert_int_equal(jwtd_claims_set_int(c, "roles", 7), JWTD_OK);
    o = claims_of(c);
    assert_int_equal(json_object_size(o), 12);
    assert_string_equal(json_string_value(json_object_get(o, "sub")), "bob");
    assert_int_equal(json_integer_value(json_object_get(o, "roles")), 7);
    json_decref(o);
    jwtd_claims_free(c);
}

/* Refused values leave the claims as they were. */
static void test_setter_refusals(void **state)
{
    static const char *const with_null[] = {"a", NULL};
    static const char *const bad_utf8[] = {"a", "\xff"};
    static const struct {
        const char *name, *json;
    } bad_json[] = {
        {"dup", "{\"a\":1,\"a\":2}"}, {"text", "not json"}, {"cut", "[1,"},
        {"trailing", "{} x"},         {"empty", ""},        {"utf8", "\"\xc3\x28\""},
    };
    jwtd_claims *c = tu_claims();
    json_t *o;

    (void)state;
    assert_int_equal(jwtd_claims_set_string(c, "keep", "yes"), JWTD_OK);
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        if (jwtd_claims_set_json(c, bad_json[i].name, bad_json[i].json) !=
            JWTD_ERR_INVALID_ARGUMENT)
            fail_msg("set_json accepted %s: %s", bad_json[i].name, bad_json[i].json);
    }
    assert_int_equal(jwtd_claims_set_string(c, "s", "\xff"), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_claims_set_string(c, "s", "\xc0\xaf"), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_claims_set_string(c, "s", NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_claims_set_string(c, NULL, "v"), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_claims_set_int(c, NULL, 1), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_claims_set_strings(c, "l", with_null, 2), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_claims_set_strings(c, "l", bad_utf8, 2), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_claims_set_strings(c, "l", NULL, 1), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_claims_set_json(c, "j", NULL), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_claims_set_string(NULL, "s", "v"), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_claims_set_exp_in(c, INT64_MAX), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_claims_set_nbf_in(c, INT64_MIN), JWTD_ERR_INVALID_ARGUMENT);

    o = claims_of(c);
    assert_int_equal(json_object_size(o), 1);
    assert_string_equal(json_string_value(json_object_get(o, "keep")), "yes");
    json_decref(o);
    jwtd_claims_free(c);
}

static void test_time_helpers(void **state)
{
    jwtd_claims *c = tu_claims();
    time_t before = time(NULL), after;
    json_int_t iat, exp, nbf;
    json_t *o;

    (void)state;
    assert_int_equal(jwtd_claims_set_iat_now(c), JWTD_OK);
    assert_int_equal(jwtd_claims_set_exp_in(c, 900), JWTD_OK);
    assert_int_equal(jwtd_claims_set_nbf_in(c, -30), JWTD_OK);
    after = time(NULL);
    o = claims_of(c);
    assert_true(json_is_integer(json_object_get(o, "iat")));
    iat = json_integer_value(json_object_get(o, "iat"));
    exp = json_integer_value(json_object_get(o, "exp"));
    nbf = json_integer_value(json_object_get(o, "nbf"));
    assert_true(iat >= before && iat <= after);
    assert_true(exp >= before + 900 && exp <= after + 900);
    assert_true(nbf >= before - 30 && nbf <= after - 30);
    json_decref(o);
    jwtd_claims_free(c);
}

static bool is_b64url_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

/* 128 random bits: 22 base64url characters, canonical, and no two alike. */
static void test_jti_random(void **state)
{
    enum { N = 256 };
    char *seen[N];

    (void)state;
    for (int i = 0; i < N; i++) {
        jwtd_claims *c = tu_claims();
        json_t *o;
        const char *jti;
        unsigned char bin[32];
        size_t bin_len = 0;
        const char *end = NULL;

        assert_int_equal(jwtd_claims_set_jti_random(c), JWTD_OK);
        o = claims_of(c);
        jti = json_string_value(json_object_get(o, "jti"));
        assert_non_null(jti);
        assert_int_equal(strlen(jti), 22);
        for (size_t k = 0; k < 22; k++)
            assert_true(is_b64url_char(jti[k]));
        assert_int_equal(sodium_base642bin(bin, sizeof bin, jti, 22, NULL, &bin_len, &end,
                                           sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                         0);
        assert_int_equal(bin_len, 16);
        seen[i] = strdup(jti);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[j], seen[i]);
        json_decref(o);
        jwtd_claims_free(c);
    }
    for (int i = 0; i < N; i++)
        free(seen[i]);

    /* A second call replaces the first jti. */
    {
        jwtd_claims *c = tu_claims();
        json_t *o1, *o2;

        assert_int_equal(jwtd_claims_set_jti_random(c), JWTD_OK);
        o1 = claims_of(c);
        assert_int_equal(jwtd_claims_set_jti_random(c), JWTD_OK);
        o2 = claims_of(c);
        assert_int_equal(json_object_size(o2), 1);
        assert_string_not_equal(json_string_value(json_object_get(o1, "jti")),
                                json_string_value(json_object_get(o2, "jti")));
        json_decref(o1);
        json_decref(o2);
        jwtd_claims_free(c);
    }
}

static void test_from_json(void **state)
{
    static const struct {
        const char *json;
        size_t len; /* 0: strlen */
    } refused[] = {
        {"{\"sub\":\"a\",\"sub\":\"b\"}", 0},
        {"{\"a\":{\"x\":1,\"x\":1}}", 0},
        {"[]", 0},
        {"[{\"sub\":\"a\"}]", 0},
        {"123", 0},
        {"\"str\"", 0},
        {"null", 0},
        {"", 0},
        {"{", 0},
        {"{} {}", 0},
        {"{\"s\":\"\xff\"}", 0},
        {"{\"sub\":\"a\"}", 5}, /* only the first 5 bytes count */
    };
    const char *good = "{\"sub\":\"alice\",\"exp\":1700003600,\"roles\":[\"a\"]}garbage";
    jwtd_claims *c = NULL;
    json_t *o, *want;

    (void)state;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        size_t len = refused[i].len ? refused[i].len : strlen(refused[i].json);

        c = (jwtd_claims *)&c; /* must be reset to NULL on failure */
        if (jwtd_claims_from_json(refused[i].json, len, &c) != JWTD_ERR_INVALID_ARGUMENT)
            fail_msg("claims_from_json accepted: %.*s", (int)len, refused[i].json);
        assert_null(c);
    }
    /* The length bounds the input: trailing bytes past len are not read. */
    assert_int_equal(jwtd_claims_from_json(good, strlen(good) - 7, &c), JWTD_OK);
    o = claims_of(c);
    want = json_loadb(good, strlen(good) - 7, 0, NULL);
    assert_true(json_equal(o, want));
    json_decref(o);
    json_decref(want);
    /* Setters work on top of parsed claims. */
    assert_int_equal(jwtd_claims_set_string(c, "sub", "bob"), JWTD_OK);
    o = claims_of(c);
    assert_string_equal(json_string_value(json_object_get(o, "sub")), "bob");
    assert_int_equal(json_object_size(o), 3);
    json_decref(o);
    jwtd_claims_free(c);
}

/* ---- jwtd_sign ---- */

static void test_sign_header(void **state)
{
    static const unsigned char secret[40] = "0123456789012345678901234567890123456789";
    jwtd_key *ec = NULL, *hs = NULL, *pub;
    jwtd_keyset *set;
    jwtd_validation *v = tu_validation(JWTD_ALG_ES256);
    jwtd_claims *c = tu_claims();
    jwtd_header full = {"at+jwt", "custom-kid", "{\"cty\":\"demo\",\"x5t\":\"abc\",\"n\":[1]}"};
    char *tok = NULL;
    json_t *h;
    jwtd_error err;

    (void)state;
    assert_int_equal(jwtd_key_generate(JWTD_ALG_ES256, &ec), JWTD_OK);
    assert_int_equal(jwtd_key_from_secret(secret, sizeof secret, 0, &hs), JWTD_OK);
    pub = tu_public_key(ec, 0);
    set = tu_set1(pub);
    assert_int_equal(jwtd_claims_set_string(c, "sub", "alice"), JWTD_OK);
    assert_int_equal(jwtd_claims_set_int(c, "exp", TU_NOW + 60), JWTD_OK);

    /* No header options: alg, and the key's kid (its thumbprint); no typ. */
    assert_int_equal(jwtd_sign(ec, JWTD_ALG_ES256, NULL, c, &tok), JWTD_OK);
    h = header_of(tok);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(h, "kid")), jwtd_key_kid(ec));
    assert_null(json_object_get(h, "typ"));
    assert_int_equal(json_object_size(h), 2);
    json_decref(h);
    assert_int_equal(tu_verify(tok, set, v, &err), JWTD_OK);
    jwtd_free(tok);

    /* typ, kid and extra members. */
    assert_int_equal(jwtd_sign(ec, JWTD_ALG_ES256, &full, c, &tok), JWTD_OK);
    h = header_of(tok);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "at+jwt");
    assert_string_equal(json_string_value(json_object_get(h, "kid")), "custom-kid");
    assert_string_equal(json_string_value(json_object_get(h, "cty")), "demo");
    assert_string_equal(json_string_value(json_object_get(h, "x5t")), "abc");
    assert_int_equal(json_array_size(json_object_get(h, "n")), 1);
    assert_int_equal(json_object_size(h), 6);
    json_decref(h);
    assert_int_equal(jwtd_validation_set_typ(v, "at+jwt"), JWTD_OK);
    assert_int_equal(tu_verify(tok, set, v, &err), JWTD_OK);
    jwtd_free(tok);

    /* A raw secret has no kid, so none is written. */
    assert_int_equal(jwtd_sign(hs, JWTD_ALG_HS256, NULL, c, &tok), JWTD_OK);
    h = header_of(tok);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "HS256");
    assert_null(json_object_get(h, "kid"));
    assert_int_equal(json_object_size(h), 1);
    json_decref(h);
    jwtd_free(tok);

    jwtd_claims_free(c);
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    jwtd_key_free(pub);
    jwtd_key_free(ec);
    jwtd_key_free(hs);
}

/* extra_json may add members but never set alg, kid or typ, and must be one strict object. */
static void test_sign_extra_refused(void **state)
{
    static const char *const refused[] = {
        "{\"alg\":\"none\"}",
        "{\"alg\":\"HS256\"}",
        "{\"kid\":\"other\"}",
        "{\"typ\":\"JWT\"}",
        "{\"cty\":\"a\",\"alg\":\"HS512\"}",
        "{\"a\":1,\"a\":2}",
        "[]",
        "\"x\"",
        "{",
        "",
    };
    static const unsigned char secret[40] = "0123456789012345678901234567890123456789";
    jwtd_key *hs = NULL;
    jwtd_claims *c = tu_claims();

    (void)state;
    assert_int_equal(jwtd_key_from_secret(secret, sizeof secret, 0, &hs), JWTD_OK);
    assert_int_equal(jwtd_claims_set_string(c, "sub", "alice"), JWTD_OK);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        jwtd_header hdr = {NULL, NULL, refused[i]};
        char *tok = (char *)"untouched";
        jwtd_err rc = jwtd_sign(hs, JWTD_ALG_HS256, &hdr, c, &tok);

        if (rc != JWTD_ERR_INVALID_ARGUMENT)
            fail_msg("extra_json %s: want InvalidArgument, got %s", refused[i], jwtd_err_name(rc));
        assert_null(tok);
    }
    jwtd_claims_free(c);
    jwtd_key_free(hs);
}

static void test_sign_refusals(void **state)
{
    static const unsigned char secret32[32] = "01234567890123456789012345678901";
    jwtd_key *ec = NULL, *pub, *hs = NULL, *rsa_pub;
    jwtd_claims *c = tu_claims();
    char *tok;

    (void)state;
    assert_int_equal(jwtd_key_generate(JWTD_ALG_ES256, &ec), JWTD_OK);
    pub = tu_public_key(ec, 0);
    assert_int_equal(jwtd_key_from_secret(secret32, sizeof secret32, 0, &hs), JWTD_OK);
    {
        jwtd_key *rsa = NULL;

        assert_int_equal(jwtd_key_generate(JWTD_ALG_RS256, &rsa), JWTD_OK);
        rsa_pub = tu_public_key(rsa, 0);
        jwtd_key_free(rsa);
    }
    assert_int_equal(jwtd_claims_set_string(c, "sub", "alice"), JWTD_OK);

    /* A public key cannot sign: the key is refused for the operation. */
    tok = (char *)"untouched";
    assert_int_equal(jwtd_sign(pub, JWTD_ALG_ES256, NULL, c, &tok), JWTD_ERR_INVALID_KEY_FORMAT);
    assert_null(tok);
    tok = (char *)"untouched";
    assert_int_equal(jwtd_sign(rsa_pub, JWTD_ALG_RS256, NULL, c, &tok),
                     JWTD_ERR_INVALID_KEY_FORMAT);
    assert_null(tok);
    tok = (char *)"untouched";
    assert_int_equal(jwtd_sign_payload(pub, JWTD_ALG_ES256, NULL, "x", 1, &tok),
                     JWTD_ERR_INVALID_KEY_FORMAT);
    assert_null(tok);

    /* Algorithms that do not fit the key. */
    assert_int_equal(jwtd_sign(ec, JWTD_ALG_RS256, NULL, c, &tok), JWTD_ERR_INVALID_ALGORITHM);
    assert_int_equal(jwtd_sign(ec, JWTD_ALG_ES384, NULL, c, &tok), JWTD_ERR_INVALID_ALGORITHM);
    assert_int_equal(jwtd_sign(ec, JWTD_ALG_HS256, NULL, c, &tok), JWTD_ERR_INVALID_ALGORITHM);
    assert_int_equal(jwtd_sign(ec, JWTD_ALG_UNKNOWN, NULL, c, &tok), JWTD_ERR_INVALID_ALGORITHM);
    assert_int_equal(jwtd_sign(hs, JWTD_ALG_ES256, NULL, c, &tok), JWTD_ERR_INVALID_ALGORITHM);
    assert_int_equal(jwtd_sign(hs, JWTD_ALG_HS512, NULL, c, &tok), JWTD_ERR_INVALID_ALGORITHM);
    assert_int_equal(jwtd_sign(hs, JWTD_ALG_EDDSA, NULL, c, &tok), JWTD_ERR_INVALID_ALGORITHM);
    assert_int_equal(jwtd_sign(hs, JWTD_ALG_COUNT, NULL, c, &tok), JWTD_ERR_INVALID_ALGORITHM);
    assert_null(tok);
    /* Control: the same secret signs HS256. */
    assert_int_equal(jwtd_sign(hs, JWTD_ALG_HS256, NULL, c, &tok), JWTD_OK);
    jwtd_free(tok);

    /* API misuse. */
    assert_int_equal(jwtd_sign(NULL, JWTD_ALG_HS256, NULL, c, &tok), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_sign(hs, JWTD_ALG_HS256, NULL, NULL, &tok), JWTD_ERR_INVALID_ARGUMENT);
    assert_int_equal(jwtd_sign(hs, JWTD_ALG_HS256, NULL, c, NULL), JWTD_ERR_INVALID_ARGUMENT);

    jwtd_claims_free(c);
    jwtd_key_free(ec);
    jwtd_key_free(pub);
    jwtd_key_free(rsa_pub);
    jwtd_key_free(hs);
}

/* Everything the builder sets comes back through the verified token's getters. */
static void test_builder_round_trip(void **state)
{
    static const char *const roles[] = {"admin", "ops"};
    jwtd_key *ed = NULL, *pub;
    jwtd_keyset *set;
    jwtd_validation *v = NULL; /* real clock: the builder uses it too */
    jwtd_claims *c = tu_claims();
    const char *s = NULL, *list[2];
    jwtd_token *t = NULL;
    int64_t exp = 0;
    size_t n = 0;
    bool b = false;
    char *tok = NULL;
    jwtd_error err;

    (void)state;
    assert_int_equal(jwtd_validation_new(&v), JWTD_OK);
    assert_int_equal(jwtd_validation_allow_alg(v, JWTD_ALG_EDDSA), JWTD_OK);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_EDDSA, &ed), JWTD_OK);
    pub = tu_public_key(ed, 0);
    set = tu_set1(pub);
    assert_int_equal(jwtd_claims_set_string(c, "sub", "alice"), JWTD_OK);
    assert_int_equal(jwtd_claims_set_strings(c, "roles", roles, 2), JWTD_OK);
    assert_int_equal(jwtd_claims_set_bool(c, "admin", true), JWTD_OK);
    assert_int_equal(jwtd_claims_set_iat_now(c), JWTD_OK);
    assert_int_equal(jwtd_claims_set_nbf_in(c, 0), JWTD_OK);
    assert_int_equal(jwtd_claims_set_exp_in(c, 600), JWTD_OK);
    assert_int_equal(jwtd_claims_set_jti_random(c), JWTD_OK);
    assert_int_equal(jwtd_sign(ed, JWTD_ALG_EDDSA, NULL, c, &tok), JWTD_OK);

    assert_int_equal(jwtd_verify(tok, strlen(tok), set, v, &t, &err), JWTD_OK);
    assert_int_equal(jwtd_token_claim_string(t, "sub", &s), JWTD_OK);
    assert_string_equal(s, "alice");
    assert_int_equal(jwtd_token_claim_strings(t, "roles", list, 2, &n), JWTD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[1], "ops");
    assert_true(jwtd_token_claim_has_string(t, "roles", "admin"));
    assert_int_equal(jwtd_token_claim_bool(t, "admin", &b), JWTD_OK);
    assert_true(b);
    assert_int_equal(jwtd_token_claim_int(t, "exp", &exp), JWTD_OK);
    assert_true(exp > (int64_t)time(NULL) + 590);
    assert_int_equal(jwtd_token_claim_string(t, "jti", &s), JWTD_OK);
    assert_int_equal(strlen(s), 22);

    jwtd_token_free(t);
    jwtd_free(tok);
    jwtd_claims_free(c);
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    jwtd_key_free(pub);
    jwtd_key_free(ed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constructors),    cmocka_unit_test(test_setters),
        cmocka_unit_test(test_setter_refusals), cmocka_unit_test(test_time_helpers),
        cmocka_unit_test(test_jti_random),      cmocka_unit_test(test_from_json),
        cmocka_unit_test(test_sign_header),     cmocka_unit_test(test_sign_extra_refused),
        cmocka_unit_test(test_sign_refusals),   cmocka_unit_test(test_builder_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
