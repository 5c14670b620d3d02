/* Unit tests of jwtd_rs_authorize: every way an Authorization header can arrive, each with the
 * exact status, libjwtd kind, WWW-Authenticate value and body a service must send. The keys
 * come from a real JWKS server on 127.0.0.1 (jwks_server.c) through the remote JWKS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jwtd/jwtd.h>
#include <jwtd/jwtd_rs.h>

#include "jwks_server.h"

#define ISSUER "https://issuer.test"
#define AUDIENCE "api"
#define ROLE "reader"

static int64_t test_now_ms = 1000000;

/* The clock of the cache: moved by the rotation case only. */
static int64_t test_clock(void *arg)
{
    (void)arg;
    return test_now_ms;
}

typedef struct fixture {
    jwks_server *srv;
    char base[64], url[128];
    jwtd_key *key, *rotated, *foreign, *impostor; /* impostor: foreign, with key's kid */
    jwtd_rs_jwks *jwks;
    jwtd_validation *v;
    jwtd_rs_policy policy;
} fixture;

/* Serves the public JWKS of keys. */
static void serve_keys(fixture *f, jwtd_key *const *keys, size_t n)
{
    jwtd_keyset *set = NULL;
    assert_int_equal(jwtd_keyset_new(keys, n, &set), JWTD_OK);
    char *json = NULL;
    assert_int_equal(jwtd_keyset_public_jwks(set, &json), JWTD_OK);
    jwks_server_set(f->srv, 200, json, "max-age=300");
    jwtd_free(json);
    jwtd_keyset_free(set);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->srv = jwks_server_start(f->base, sizeof f->base);
    assert_non_null(f->srv);
    snprintf(f->url, sizeof f->url, "%s/jwks.json", f->base);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_EDDSA, &f->key), JWTD_OK);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_EDDSA, &f->rotated), JWTD_OK);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_EDDSA, &f->foreign), JWTD_OK);
    assert_int_equal(jwtd_key_with_kid(f->foreign, jwtd_key_kid(f->key), &f->impostor), JWTD_OK);
    serve_keys(f, &f->key, 1);
    jwtd_rs_jwks_options o;
    jwtd_rs_jwks_options_init(&o);
    o.allow_http = true;
    o.clock = test_clock;
    assert_int_equal(jwtd_rs_jwks_new(f->url, &o, &f->jwks), JWTD_RS_OK);
    assert_int_equal(jwtd_validation_new(&f->v), JWTD_OK);
    assert_int_equal(jwtd_validation_allow_alg(f->v, JWTD_ALG_EDDSA), JWTD_OK);
    assert_int_equal(jwtd_validation_add_issuer(f->v, ISSUER), JWTD_OK);
    assert_int_equal(jwtd_validation_add_audience(f->v, AUDIENCE), JWTD_OK);
    f->policy = (jwtd_rs_policy){
        .realm = "api", .validation = f->v, .required_role = ROLE, .roles_claim = NULL};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    jwtd_rs_jwks_free(f->jwks);
    jwtd_validation_free(f->v);
    jwtd_key_free(f->key);
    jwtd_key_free(f->rotated);
    jwtd_key_free(f->foreign);
    jwtd_key_free(f->impostor);
    jwks_server_stop(f->srv);
    free(f);
    return 0;
}

/* "Bearer " + a token signed by key with alg over claims (JSON) with exp = now + exp_in, for
 * the header; caller frees. */
static char *bearer(const jwtd_key *key, jwtd_alg alg, const char *claims, int64_t exp_in)
{
    jwtd_claims *c = NULL;
    assert_int_equal(jwtd_claims_from_json(claims, strlen(claims), &c), JWTD_OK);
    assert_int_equal(jwtd_claims_set_exp_in(c, exp_in), JWTD_OK);
    char *tok = NULL;
    assert_int_equal(jwtd_sign(key, alg, NULL, c, &tok), JWTD_OK);
    jwtd_claims_free(c);
    size_t len = strlen(tok) + 8;
    char *h = malloc(len);
    assert_non_null(h);
    snprintf(h, len, "Bearer %s", tok);
    jwtd_free(tok);
    return h;
}

#define GOOD "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"sub\":\"alice\","
#define WITH_ROLE GOOD "\"roles\":[\"user\",\"" ROLE "\"]}"
#define EXPECT(err, desc) "Bearer realm=\"api\", error=\"" err "\", error_description=\"" desc "\""

typedef enum key_choice { KEY, FOREIGN, IMPOSTOR, SECRET, NONE } key_choice;

/* One case: the header (raw, or a token signed as said), and the exact answer. */
typedef struct verdict_case {
    const char *what;
    const char *header; /* used when key is NONE */
    key_choice key;
    const char *claims;
    int64_t exp_in;
    int status;
    jwtd_err kind;
    const char *www_authenticate;
    const char *body;
} verdict_case;

static const verdict_case cases[] = {
    {"missing header", NULL, NONE, NULL, 0, 401, JWTD_OK, "Bearer realm=\"api\"",
     "{\"error\":\"unauthorized\",\"error_description\":\"a bearer token is required\"}"},
    {"empty header", "  ", NONE, NULL, 0, 401, JWTD_OK, "Bearer realm=\"api\"", NULL},
    {"another scheme", "Basic YWxpY2U6cHc=", NONE, NULL, 0, 401, JWTD_OK, "Bearer realm=\"api\"",
     NULL},
    {"Bearerish scheme", "Bearerx abc", NONE, NULL, 0, 401, JWTD_OK, "Bearer realm=\"api\"", NULL},
    {"Bearer without token", "Bearer", NONE, NULL, 0, 401, JWTD_ERR_INVALID_TOKEN,
     EXPECT("invalid_token", "the token is malformed"),
     "{\"error\":\"invalid_token\",\"error_description\":\"the token is malformed\"}"},
    {"two tokens", "Bearer a.b.c d.e.f", NONE, NULL, 0, 401, JWTD_ERR_INVALID_TOKEN,
     EXPECT("invalid_token", "the token is malformed"), NULL},
    {"not b64token", "Bearer a\"b", NONE, NULL, 0, 401, JWTD_ERR_INVALID_TOKEN,
     EXPECT("invalid_token", "the token is malformed"), NULL},
    {"not a JWT", "Bearer not.a.jwt", NONE, NULL, 0, 401, JWTD_ERR_INVALID_TOKEN,
     EXPECT("invalid_token", "the token is malformed"), NULL},
    {"expired", NULL, KEY, WITH_ROLE, -3600, 401, JWTD_ERR_EXPIRED_SIGNATURE,
     EXPECT("invalid_token", "the token expired"),
     "{\"error\":\"invalid_token\",\"error_description\":\"the token expired\"}"},
    {"wrong audience", NULL, KEY,
     "{\"iss\":\"" ISSUER "\",\"aud\":\"other\",\"roles\":[\"" ROLE "\"]}", 600, 401,
     JWTD_ERR_INVALID_AUDIENCE, EXPECT("invalid_token", "the token is meant for another audience"),
     NULL},
    {"wrong issuer", NULL, KEY,
     "{\"iss\":\"https://evil.test\",\"aud\":\"api\",\"roles\":[\"" ROLE "\"]}", 600, 401,
     JWTD_ERR_INVALID_ISSUER, EXPECT("invalid_token", "the token comes from another issuer"), NULL},
    {"another issuer's key", NULL, FOREIGN, WITH_ROLE, 600, 401, JWTD_ERR_KEY_NOT_FOUND,
     EXPECT("invalid_token", "the token was signed by an unknown key"), NULL},
    {"another key with our kid", NULL, IMPOSTOR, WITH_ROLE, 600, 401, JWTD_ERR_INVALID_SIGNATURE,
     EXPECT("invalid_token", "the token signature is invalid"), NULL},
    {"HS256 (not pinned)", NULL, SECRET, WITH_ROLE, 600, 401, JWTD_ERR_INVALID_ALGORITHM,
     EXPECT("invalid_token", "the token algorithm is not accepted"), NULL},
    {"missing role", NULL, KEY, GOOD "\"roles\":[\"user\"]}", 600, 403, JWTD_OK,
     EXPECT("insufficient_scope", "the token lacks the required role") ", scope=\"reader\"",
     "{\"error\":\"insufficient_scope\",\"error_description\":\"the token lacks the required "
     "role\"}"},
    {"no roles claim", NULL, KEY, GOOD "\"role\":\"" ROLE "\"}", 600, 403, JWTD_OK, NULL, NULL},
    {"ok", NULL, KEY, WITH_ROLE, 600, 200, JWTD_OK, "", ""},
    {"ok, roles as a string", NULL, KEY, GOOD "\"roles\":\"" ROLE "\"}", 600, 200, JWTD_OK, "", ""},
};

/* The header value of a case (caller frees). */
static char *case_header(const fixture *f, const verdict_case *c)
{
    static const char secret[] = "0123456789abcdef0123456789abcdef";
    jwtd_key *hs = NULL;
    char *h = NULL;
    switch (c->key) {
    case NONE: return c->header != NULL ? strdup(c->header) : NULL;
    case KEY: return bearer(f->key, JWTD_ALG_EDDSA, c->claims, c->exp_in);
    case FOREIGN: return bearer(f->foreign, JWTD_ALG_EDDSA, c->claims, c->exp_in);
    case IMPOSTOR: return bearer(f->impostor, JWTD_ALG_EDDSA, c->claims, c->exp_in);
    case SECRET:
        assert_int_equal(jwtd_key_from_secret(secret, sizeof secret - 1, 0, &hs), JWTD_OK);
        h = bearer(hs, JWTD_ALG_HS256, c->claims, c->exp_in);
        jwtd_key_free(hs);
        return h;
    }
    return NULL;
}

/* Every case of the table gives exactly its answer. */
static void every_header_gets_its_answer(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const verdict_case *c = &cases[i];
        char *h = case_header(f, c);
        jwtd_rs_verdict v;
        int status = jwtd_rs_authorize(f->jwks, &f->policy, h, &v);
        if (status != c->status || v.status != c->status || v.kind != c->kind)
            fail_msg("%s: status %d kind %s, want %d %s", c->what, status, jwtd_err_name(v.kind),
                     c->status, jwtd_err_name(c->kind));
        if (c->www_authenticate != NULL && strcmp(v.www_authenticate, c->www_authenticate) != 0)
            fail_msg("%s: WWW-Authenticate [%s], want [%s]", c->what, v.www_authenticate,
                     c->www_authenticate);
        if (c->status != 200 && c->body != NULL && strcmp(v.body, c->body) != 0)
            fail_msg("%s: body [%s], want [%s]", c->what, v.body, c->body);
        if ((status == 200) != (v.token != NULL))
            fail_msg("%s: token %p with status %d", c->what, (void *)v.token, status);
        if (status == 200) {
            const char *sub = NULL;
            assert_int_equal(jwtd_token_claim_string(v.token, "sub", &sub), JWTD_OK);
            assert_string_equal(sub, "alice");
        }
        jwtd_rs_verdict_clear(&v);
        assert_null(v.token);
        free(h);
    }
    /* The case-insensitive scheme, and another roles claim. */
    char *h = bearer(f->key, JWTD_ALG_EDDSA, GOOD "\"groups\":[\"" ROLE "\"]}", 600);
    h[0] = 'b', h[1] = 'E', h[2] = 'A', h[3] = 'R', h[4] = 'E', h[5] = 'R'; /* "bEARER ..." */
    jwtd_rs_policy p = f->policy;
    p.roles_claim = "groups";
    jwtd_rs_verdict v;
    assert_int_equal(jwtd_rs_authorize(f->jwks, &p, h, &v), 200);
    jwtd_rs_verdict_clear(&v);
    p.required_role = NULL;
    p.roles_claim = NULL;
    assert_int_equal(jwtd_rs_authorize(f->jwks, &p, h, &v), 200);
    jwtd_rs_verdict_clear(&v);
    free(h);
}

/* Tokens of a key the set lacks refetch once per interval; after a rotation the new key is
 * found by that one refetch. */
static void rotation_is_found_by_one_refetch(void **state)
{
    fixture *f = *state;
    char *old = bearer(f->key, JWTD_ALG_EDDSA, WITH_ROLE, 600);
    char *fresh = bearer(f->rotated, JWTD_ALG_EDDSA, WITH_ROLE, 600);
    char *alien = bearer(f->foreign, JWTD_ALG_EDDSA, WITH_ROLE, 600);
    jwtd_rs_verdict v;
    assert_int_equal(jwtd_rs_authorize(f->jwks, &f->policy, old, &v), 200);
    jwtd_rs_verdict_clear(&v);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(jwtd_rs_authorize(f->jwks, &f->policy, alien, &v), 401);
        jwtd_rs_verdict_clear(&v);
    }
    assert_int_equal(jwks_server_fetches(f->srv), 1);

    jwtd_key *both[] = {f->key, f->rotated};
    serve_keys(f, both, 2);
    assert_int_equal(jwtd_rs_authorize(f->jwks, &f->policy, fresh, &v), 401);
    jwtd_rs_verdict_clear(&v);
    test_now_ms += JWTD_RS_DEFAULT_REFETCH_INTERVAL * 1000;
    assert_int_equal(jwtd_rs_authorize(f->jwks, &f->policy, fresh, &v), 200);
    jwtd_rs_verdict_clear(&v);
    assert_int_equal(jwtd_rs_authorize(f->jwks, &f->policy, old, &v), 200);
    jwtd_rs_verdict_clear(&v);
    assert_int_equal(jwks_server_fetches(f->srv), 2);
    free(old);
    free(fresh);
    free(alien);
}

/* Our side failing is never the client's 401: no keys is 503, a bad policy 500. */
static void server_side_failures(void **state)
{
    fixture *f = *state;
    char *h = bearer(f->key, JWTD_ALG_EDDSA, WITH_ROLE, 600);
    jwtd_rs_verdict v;
    jwks_server_set(f->srv, 500, "", NULL);
    assert_int_equal(jwtd_rs_authorize(f->jwks, &f->policy, h, &v), 503);
    assert_string_equal(v.www_authenticate, "");
    assert_string_equal(v.body, "{\"error\":\"temporarily_unavailable\",\"error_description\":"
                                "\"the signing keys cannot be fetched\"}");
    jwtd_rs_verdict_clear(&v);

    static const jwtd_rs_policy bad[] = {
        {.realm = "a\"b", .required_role = ROLE},
        {.realm = "api", .required_role = "two words"},
        {.realm = "api", .roles_claim = ""},
        {.realm = "api"}, /* no validation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jwtd_rs_policy p = bad[i];
        if (i < 3)
            p.validation = f->v;
        assert_int_equal(jwtd_rs_authorize(f->jwks, &p, h, &v), 500);
        assert_string_equal(v.www_authenticate, "");
        jwtd_rs_verdict_clear(&v);
    }
    assert_int_equal(jwtd_rs_authorize(NULL, &f->policy, h, &v), 500);
    jwtd_rs_verdict_clear(&v);
    assert_int_equal(jwtd_rs_authorize(f->jwks, &f->policy, h, NULL), 500);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_header_gets_its_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(rotation_is_found_by_one_refetch, setup, teardown),
        cmocka_unit_test_setup_teardown(server_side_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
