/* src/auth against a real SQLite file in a temporary directory: passwords (Argon2id, rehash,
 * bcrypt import), token pairs and their claims, rotation with grace and reuse detection,
 * logout, logout-all, disabling, revocation, key rotation and sync between two instances.
 * Usage: test_auth [users|tokens|revocation|keys] (no argument: every group). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <crypt.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/auth.h"
#include "store/store.h"

/* ---- Fixture: a store file, one or two auth instances, a clock the tests move ---- */

static int64_t clock_offset;
static int64_t frozen_now; /* when not 0, the clock stands still there */

static int64_t test_now(void)
{
    return frozen_now != 0 ? frozen_now : (int64_t)time(NULL) + clock_offset;
}

typedef struct fixture {
    char dir[64];
    char path[128];
    store *s, *s2; /* s2: a second connection, as a second process would have */
    auth *a, *a2;
    auth_config cfg;
} fixture;

/* Argon2id at libsodium's minimum cost: the tests check behaviour, not hardness. Ed25519 keys,
 * made in microseconds where an RSA key (the default, test_default_key) takes from 0.1 s to
 * seconds, and far longer under valgrind: the tests generate many keys. */
static void config_fast(auth_config *cfg)
{
    auth_config_defaults(cfg);
    cfg->pwhash_opslimit = 1;
    cfg->pwhash_memlimit = 8192;
    cfg->key_alg = JWTD_ALG_EDDSA;
    cfg->now = test_now;
}

static fixture *fixture_new(void)
{
    fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    clock_offset = 0;
    frozen_now = 0;
    strcpy(f->dir, "/tmp/jwtd-auth-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/jwtd.db", f->dir);
    assert_int_equal(store_open(f->path, NULL, &f->s), STORE_OK);
    config_fast(&f->cfg);
    return f;
}

static void fixture_start(fixture *f)
{
    const char *why = NULL;

    assert_int_equal(auth_new(&f->cfg, f->s, &f->a, &why), AUTH_OK);
    assert_null(why);
}

/* A second instance on the same file, with the same configuration. */
static void fixture_start_second(fixture *f)
{
    const char *why = NULL;

    assert_int_equal(store_open(f->path, NULL, &f->s2), STORE_OK);
    assert_int_equal(auth_new(&f->cfg, f->s2, &f->a2, &why), AUTH_OK);
}

static int setup(void **state)
{
    fixture *f = fixture_new();

    fixture_start(f);
    *state = f;
    return 0;
}

/* The test starts auth itself, after changing f->cfg. */
static int setup_unstarted(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    struct dirent *de;
    char file[512];
    DIR *d;

    auth_free(f->a2);
    auth_free(f->a);
    store_close(f->s2);
    store_close(f->s);
    if ((d = opendir(f->dir)) != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                snprintf(file, sizeof file, "%s/%s", f->dir, de->d_name);
                unlink(file);
            }
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

static auth_user register_user(fixture *f, const char *name, const char *password, auth_pair *pair)
{
    auth_user u;
    auth_pair local = {0};

    assert_int_equal(auth_register(f->a, name, password, NULL, NULL, &u, pair ? pair : &local),
                     AUTH_OK);
    auth_pair_clear(&local);
    return u;
}

/* The password hash as stored (the service never hands it out). */
static void stored_hash(fixture *f, const char *name, char out[STORE_MAX_HASH + 1])
{
    store_user row;

    assert_int_equal(store_user_get_by_username(f->s, name, &row), STORE_OK);
    memcpy(out, row.password_hash, STORE_MAX_HASH + 1);
}

static auth_err verify(auth *a, const char *token, auth_principal *p)
{
    auth_principal local;

    assert_non_null(token);
    return auth_verify_access(a, token, token != NULL ? strlen(token) : 0, p != NULL ? p : &local);
}

static auth_err refresh(auth *a, const char *token, auth_pair *out)
{
    return auth_refresh(a, token, strlen(token), out);
}

static auth_stats stats(auth *a)
{
    auth_stats st;

    auth_stats_get(a, &st);
    return st;
}

/* Verifies as an outside client would: the published JWKS, alg pinned, the given typ. */
static jwtd_token *verify_outside_alg(auth *a, const char *token, const char *typ, jwtd_alg alg)
{
    jwtd_validation *v = NULL;
    jwtd_keyset *set = NULL;
    jwtd_token *t = NULL;
    char *jwks = NULL;

    assert_int_equal(jwtd_validation_new(&v), JWTD_OK);
    assert_int_equal(auth_jwks_copy(a, &jwks), AUTH_OK);
    assert_int_equal(jwtd_keyset_from_jwks(jwks, strlen(jwks), 0, &set), JWTD_OK);
    assert_int_equal(jwtd_validation_allow_alg(v, alg), JWTD_OK);
    assert_int_equal(jwtd_validation_set_typ(v, typ), JWTD_OK);
    assert_int_equal(jwtd_verify(token, strlen(token), set, v, &t, NULL), JWTD_OK);
    jwtd_keyset_free(set);
    jwtd_validation_free(v);
    free(jwks);
    return t;
}

/* The same with EdDSA pinned: the key-alg of the fixtures (config_fast). */
static jwtd_token *verify_outside(auth *a, const char *token, const char *typ)
{
    return verify_outside_alg(a, token, typ, JWTD_ALG_EDDSA);
}

static const char *header_kid(const char *token)
{
    static char kid[STORE_MAX_KID + 1];
    char alg[16];

    assert_int_equal(
        jwtd_insecure_peek_header(token, strlen(token), alg, sizeof alg, kid, sizeof kid), JWTD_OK);
    return kid;
}

static bool jwks_has_kid(auth *a, const char *kid)
{
    char *jwks = NULL;
    char quoted[STORE_MAX_KID + 16];
    bool found;

    assert_int_equal(auth_jwks_copy(a, &jwks), AUTH_OK);
    snprintf(quoted, sizeof quoted, "\"kid\":\"%s\"", kid);
    found = strstr(jwks, quoted) != NULL;
    free(jwks);
    return found;
}

/* ---- users ---- */

static void test_config_and_messages(void **state)
{
    static const struct {
        auth_err err;
        const char *message;
    } messages[] = {
        {AUTH_BAD_CREDENTIALS, "invalid credentials"},
        {AUTH_INVALID_TOKEN, "invalid token"},
        {AUTH_TOKEN_REUSED, "refresh token reuse detected"},
        {AUTH_FORBIDDEN, "forbidden"},
        {AUTH_CONFLICT, "username or email already registered"},
        {AUTH_INVALID_INPUT, "invalid input"},
        {AUTH_NOT_FOUND, "not found"},
        {AUTH_UNAVAILABLE, "service unavailable"},
        {AUTH_INTERNAL, "internal error"},
    };
    auth_config cfg;

    (void)state;
    auth_config_defaults(&cfg);
    assert_int_equal(cfg.access_ttl, 900);
    assert_int_equal(cfg.refresh_ttl, 604800);
    assert_int_equal(cfg.refresh_grace, 10);
    assert_string_equal(cfg.issuer, "jwtd");
    assert_string_equal(cfg.audience, "jwtd");
    assert_int_equal(cfg.pwhash_opslimit, 2);
    assert_int_equal(cfg.pwhash_memlimit, 19u * 1024 * 1024);
    assert_int_equal(cfg.key_alg, JWTD_ALG_RS256);
    assert_null(cfg.jwt_secret);
    assert_null(cfg.now);
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++)
        assert_string_equal(auth_err_message(messages[i].err), messages[i].message);
}

static void test_bad_config(void **state)
{
    static const struct {
        const char *what;
        int64_t access_ttl, refresh_ttl, grace;
        size_t secret_len;
        const char *why;
    } cases[] = {
        {"zero access ttl", 0, 60, 10, 0, "access_ttl must be between 1 second and 10 years"},
        {"negative grace", 60, 60, -1, 0, "refresh_grace must be between 0 and 3600 seconds"},
        {"short secret", 60, 60, 10, 31, "JWT_SECRET must be at least 32 bytes"},
        {"empty-ish secret", 60, 60, 10, 1, "JWT_SECRET must be at least 32 bytes"},
        {"short HS384 secret", 60, 60, 10, 47, "JWT_SECRET must be at least 48 bytes"},
        {"short HS512 secret", 60, 60, 10, 63, "JWT_SECRET must be at least 64 bytes"},
    };
    fixture *f = *state;
    unsigned char secret[64];

    memset(secret, 'k', sizeof secret);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        auth_config cfg = f->cfg;
        const char *why = NULL;
        static int sentinel;
        auth *a = (auth *)&sentinel; /* auth_new must reset it to NULL */

        cfg.access_ttl = cases[i].access_ttl;
        cfg.refresh_ttl = cases[i].refresh_ttl;
        cfg.refresh_grace = cases[i].grace;
        if (cases[i].secret_len > 0) {
            cfg.jwt_secret = secret;
            cfg.jwt_secret_len = cases[i].secret_len;
            cfg.key_alg = strstr(cases[i].what, "HS512") != NULL   ? JWTD_ALG_HS512
                          : strstr(cases[i].what, "HS384") != NULL ? JWTD_ALG_HS384
                                                                   : cfg.key_alg;
        }
        assert_int_equal(auth_new(&cfg, f->s, &a, &why), AUTH_INVALID_INPUT);
        assert_null(a);
        assert_non_null(why);
        assert_string_equal(why, cases[i].why);
    }
}

static void test_register_and_login(void **state)
{
    fixture *f = *state;
    auth_pair pair = {0};
    auth_principal p;
    auth_user u, again;
    char hash[STORE_MAX_HASH + 1];

    assert_int_equal(
        auth_register(f->a, "alice", "hunter22", "alice@example.org", "Alice", &u, &pair), AUTH_OK);
    assert_true(u.id > 0);
    assert_string_equal(u.username, "alice");
    assert_string_equal(u.email, "alice@example.org");
    assert_int_equal(u.nroles, 1);
    assert_string_equal(u.roles[0], "user");
    assert_non_null(pair.access_token);
    assert_non_null(pair.refresh_token);
    assert_int_equal(pair.expires_in, 900);
    assert_int_equal(pair.refresh_expires_in, 604800);
    assert_int_equal(verify(f->a, pair.access_token, &p), AUTH_OK);
    assert_int_equal(p.user_id, u.id);
    assert_string_equal(p.username, "alice");
    assert_true(auth_principal_has_role(&p, "user"));
    assert_false(auth_principal_has_role(&p, "admin"));
    auth_pair_clear(&pair);
    assert_null(pair.access_token);

    /* by username and by email */
    assert_int_equal(auth_login(f->a, "alice", "hunter22", &again, &pair), AUTH_OK);
    assert_int_equal(again.id, u.id);
    auth_pair_clear(&pair);
    assert_int_equal(auth_login(f->a, "alice@example.org", "hunter22", &again, &pair), AUTH_OK);
    auth_pair_clear(&pair);

    /* the stored hash is Argon2id with the configured parameters */
    stored_hash(f, "alice", hash);
    assert_true(strncmp(hash, "$argon2id$v=19$m=8,t=1,p=1$", 27) == 0);
    assert_int_equal(stats(f->a).registrations, 1);
    assert_int_equal(stats(f->a).logins_ok, 2);
}

static void test_register_input(void **state)
{
    static const char long_name[] =
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 65 */
    static const struct {
        const char *username, *password, *email, *name;
        auth_err expect;
    } cases[] = {
        {"bob", "1234567", NULL, NULL, AUTH_INVALID_INPUT}, /* 7 bytes: too short */
        {"bob", "12345678", NULL, NULL, AUTH_OK},           /* 8: the minimum */
        {"bob", "12345678", NULL, NULL, AUTH_CONFLICT},     /* the same username */
        {"", "12345678", NULL, NULL, AUTH_INVALID_INPUT},
        {long_name, "12345678", NULL, NULL, AUTH_INVALID_INPUT},
        {long_name + 1, "12345678", NULL, NULL, AUTH_OK}, /* 64: the maximum */
        {"al ice", "12345678", NULL, NULL, AUTH_INVALID_INPUT},
        {"al@ice", "12345678", NULL, NULL, AUTH_INVALID_INPUT},
        {"a.b_c-D9", "12345678", "", "", AUTH_OK},
        {"carol", "12345678", "carol@", NULL, AUTH_INVALID_INPUT},
        {"carol", "12345678", "@example.org", NULL, AUTH_INVALID_INPUT},
        {"carol", "12345678", "c@rol@example.org", NULL, AUTH_INVALID_INPUT},
        {"carol", "12345678", "carol @example.org", NULL, AUTH_INVALID_INPUT},
        {"carol", "12345678", "carol\n@example.org", NULL, AUTH_INVALID_INPUT},
        {"carol", "12345678", NULL, "Car\x01ol", AUTH_INVALID_INPUT},
        {"carol", "12345678", NULL, "Car\xffol", AUTH_INVALID_INPUT}, /* not UTF-8 */
        {"carol", "12345678", "carol@example.org", "Carol \xc3\xa9", AUTH_OK},
        {"carol2", "12345678", "carol@example.org", NULL, AUTH_CONFLICT}, /* same email */
    };
    fixture *f = *state;
    char *huge = malloc(AUTH_MAX_PASSWORD + 2);
    auth_pair pair = {0};
    auth_user u;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        auth_err rc = auth_register(f->a, cases[i].username, cases[i].password, cases[i].email,
                                    cases[i].name, &u, &pair);
        if (rc != cases[i].expect)
            fail_msg("case %zu (%s): %d, expected %d", i, cases[i].username, rc, cases[i].expect);
        assert_true((pair.access_token != NULL) == (rc == AUTH_OK));
        auth_pair_clear(&pair);
    }
    assert_non_null(huge);
    memset(huge, 'p', AUTH_MAX_PASSWORD + 1);
    huge[AUTH_MAX_PASSWORD + 1] = '\0';
    assert_int_equal(auth_register(f->a, "dave", huge, NULL, NULL, &u, &pair), AUTH_INVALID_INPUT);
    huge[AUTH_MAX_PASSWORD] = '\0';
    assert_int_equal(auth_register(f->a, "dave", huge, NULL, NULL, &u, &pair), AUTH_OK);
    auth_pair_clear(&pair);
    free(huge);
}

static void test_user_add(void **state)
{
    static const char *const admin[] = {"admin"};
    static const char *const two[] = {"admin", "ops-read"};
    static const char *const bad[] = {"a b"};
    static const char *const upper[] = {"Admin"};
    static const char *const comma[] = {"a,b"};
    static const char *const dup[] = {"x", "x"};
    static const char *const nine[] = {"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"};
    fixture *f = *state;
    auth_user u;

    /* An administrator may set the tutorials' short passwords. */
    assert_int_equal(auth_user_add(f->a, "root", "toor", NULL, NULL, admin, 1, &u), AUTH_OK);
    assert_int_equal(u.nroles, 1);
    assert_string_equal(u.roles[0], "admin");
    assert_int_equal(auth_user_add(f->a, "alice", "hunter2", NULL, NULL, NULL, 0, &u), AUTH_OK);
    assert_string_equal(u.roles[0], "user");
    assert_int_equal(auth_user_add(f->a, "ops", "opsopsops", NULL, NULL, two, 2, &u), AUTH_OK);
    assert_int_equal(u.nroles, 2);
    assert_int_equal(auth_user_add(f->a, "x1", "pw", NULL, NULL, bad, 1, &u), AUTH_INVALID_INPUT);
    assert_int_equal(auth_user_add(f->a, "x2", "pw", NULL, NULL, dup, 2, &u), AUTH_INVALID_INPUT);
    assert_int_equal(auth_user_add(f->a, "x5", "pw", NULL, NULL, upper, 1, &u), AUTH_INVALID_INPUT);
    assert_int_equal(auth_user_add(f->a, "x6", "pw", NULL, NULL, comma, 1, &u), AUTH_INVALID_INPUT);
    assert_int_equal(auth_user_add(f->a, "x3", "pw", NULL, NULL, nine, 9, &u), AUTH_INVALID_INPUT);
    assert_int_equal(auth_user_add(f->a, "x4", "", NULL, NULL, admin, 1, &u), AUTH_INVALID_INPUT);
    assert_int_equal(auth_user_add(f->a, "root", "toor2", NULL, NULL, admin, 1, &u), AUTH_CONFLICT);
}

static void test_bad_credentials(void **state)
{
    fixture *f = *state;
    auth_user u = register_user(f, "alice", "correct horse", NULL), out;
    char huge[AUTH_MAX_PASSWORD + 2];
    auth_pair pair = {0};

    assert_int_equal(auth_login(f->a, "alice", "wrong horse", &out, &pair), AUTH_BAD_CREDENTIALS);
    assert_null(pair.access_token);
    assert_int_equal(auth_login(f->a, "nobody", "correct horse", &out, &pair),
                     AUTH_BAD_CREDENTIALS);
    assert_int_equal(auth_login(f->a, "nobody@example.org", "correct horse", &out, &pair),
                     AUTH_BAD_CREDENTIALS);
    assert_int_equal(auth_set_disabled(f->a, u.id, true), AUTH_OK);
    assert_int_equal(auth_login(f->a, "alice", "correct horse", &out, &pair), AUTH_BAD_CREDENTIALS);
    assert_int_equal(stats(f->a).logins_failed, 4);
    assert_int_equal(stats(f->a).logins_ok, 0);
    /* too long to be a password: refused without hashing, counted as nothing */
    memset(huge, 'p', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(auth_login(f->a, "alice", huge, &out, &pair), AUTH_INVALID_INPUT);
    assert_int_equal(auth_set_disabled(f->a, u.id, false), AUTH_OK);
    assert_int_equal(auth_login(f->a, "alice", "correct horse", &out, &pair), AUTH_OK);
    auth_pair_clear(&pair);
}

static void test_rehash_on_new_parameters(void **state)
{
    fixture *f = *state;
    auth_config stronger = f->cfg;
    const char *why = NULL;
    auth_pair pair = {0};
    auth_user u;
    char hash[STORE_MAX_HASH + 1];
    auth *a2;

    register_user(f, "alice", "correct horse", NULL);
    stored_hash(f, "alice", hash);
    assert_non_null(strstr(hash, "$m=8,t=1,p=1$"));

    stronger.pwhash_opslimit = 2;
    stronger.pwhash_memlimit = 16384;
    assert_int_equal(auth_new(&stronger, f->s, &a2, &why), AUTH_OK);
    assert_int_equal(auth_login(a2, "alice", "wrong horse", &u, &pair), AUTH_BAD_CREDENTIALS);
    stored_hash(f, "alice", hash);
    assert_non_null(strstr(hash, "$m=8,t=1,p=1$")); /* not on a failure */
    assert_int_equal(auth_login(a2, "alice", "correct horse", &u, &pair), AUTH_OK);
    auth_pair_clear(&pair);
    stored_hash(f, "alice", hash);
    assert_true(strncmp(hash, "$argon2id$v=19$m=16,t=2,p=1$", 28) == 0);
    /* the new hash still logs in, with either configuration */
    assert_int_equal(auth_login(a2, "alice", "correct horse", &u, &pair), AUTH_OK);
    auth_pair_clear(&pair);
    assert_int_equal(auth_login(f->a, "alice", "correct horse", &u, &pair), AUTH_OK);
    auth_pair_clear(&pair);
    auth_free(a2);
}

static void test_bcrypt_import(void **state)
{
    fixture *f = *state;
    struct crypt_data *cd = calloc(1, sizeof *cd);
    char salt[CRYPT_GENSALT_OUTPUT_SIZE], bcrypt[CRYPT_OUTPUT_SIZE], argon[crypto_pwhash_STRBYTES];
    char hash[STORE_MAX_HASH + 1];
    auth_pair pair = {0};
    auth_user u;

    assert_non_null(cd);
    assert_non_null(crypt_gensalt_rn("$2b$", 5, NULL, 0, salt, sizeof salt));
    assert_non_null(crypt_rn("legacy password", salt, cd, (int)sizeof *cd));
    snprintf(bcrypt, sizeof bcrypt, "%s", cd->output);
    free(cd);
    assert_int_equal(strlen(bcrypt), 60);
    assert_true(strncmp(bcrypt, "$2b$05$", 7) == 0);

    assert_int_equal(auth_user_add(f->a, "legacy", "placeholder", NULL, NULL, NULL, 0, &u),
                     AUTH_OK);
    assert_int_equal(auth_import_hash(f->a, "legacy", bcrypt), AUTH_OK);
    stored_hash(f, "legacy", hash);
    assert_string_equal(hash, bcrypt);

    assert_int_equal(auth_login(f->a, "legacy", "legacy passwor", &u, &pair), AUTH_BAD_CREDENTIALS);
    stored_hash(f, "legacy", hash);
    assert_string_equal(hash, bcrypt);
    assert_int_equal(auth_login(f->a, "legacy", "legacy password", &u, &pair), AUTH_OK);
    auth_pair_clear(&pair);
    stored_hash(f, "legacy", hash);
    assert_true(strncmp(hash, "$argon2id$", 10) == 0);
    assert_int_equal(auth_login(f->a, "legacy", "legacy password", &u, &pair), AUTH_OK);
    auth_pair_clear(&pair);

    /* an Argon2id hash from elsewhere is accepted as is */
    assert_int_equal(
        crypto_pwhash_str_alg(argon, "imported pw", 11, 1, 8192, crypto_pwhash_ALG_ARGON2ID13), 0);
    assert_int_equal(auth_import_hash(f->a, "legacy", argon), AUTH_OK);
    assert_int_equal(auth_login(f->a, "legacy", "imported pw", &u, &pair), AUTH_OK);
    auth_pair_clear(&pair);

    assert_int_equal(auth_import_hash(f->a, "nobody", bcrypt), AUTH_NOT_FOUND);
    assert_int_equal(auth_import_hash(f->a, "legacy", "plaintext"), AUTH_INVALID_INPUT);
    assert_int_equal(auth_import_hash(f->a, "legacy", "$2b$05$short"), AUTH_INVALID_INPUT);
    assert_int_equal(auth_import_hash(f->a, "legacy", "$argon2id$v=19$garbage"),
                     AUTH_INVALID_INPUT);
    bcrypt[5] = '2'; /* cost 02: below bcrypt's minimum */
    assert_int_equal(auth_import_hash(f->a, "legacy", bcrypt), AUTH_INVALID_INPUT);
}

/* ---- tokens ---- */

static void test_access_token_claims(void **state)
{
    fixture *f = *state;
    const char *s, *roles[4];
    int64_t iat, exp;
    auth_pair pair = {0};
    char sub[24];
    jwtd_token *t;
    size_t n;
    auth_user u = register_user(f, "alice", "correct horse", &pair);

    t = verify_outside(f->a, pair.access_token, "at+jwt");
    assert_int_equal(jwtd_token_alg(t), JWTD_ALG_EDDSA);
    assert_int_equal(jwtd_token_header_string(t, "typ", &s), JWTD_OK);
    assert_string_equal(s, "at+jwt");
    assert_int_equal(jwtd_token_header_string(t, "kid", &s), JWTD_OK);
    assert_true(jwks_has_kid(f->a, s));
    snprintf(sub, sizeof sub, "%" PRId64, u.id);
    assert_int_equal(jwtd_token_claim_string(t, "sub", &s), JWTD_OK);
    assert_string_equal(s, sub);
    assert_int_equal(jwtd_token_claim_string(t, "iss", &s), JWTD_OK);
    assert_string_equal(s, "jwtd");
    assert_int_equal(jwtd_token_claim_string(t, "aud", &s), JWTD_OK);
    assert_string_equal(s, "jwtd");
    assert_int_equal(jwtd_token_claim_string(t, "user", &s), JWTD_OK);
    assert_string_equal(s, "alice");
    assert_int_equal(jwtd_token_claim_string(t, "role", &s), JWTD_OK);
    assert_string_equal(s, "user");
    assert_int_equal(jwtd_token_claim_strings(t, "roles", roles, 4, &n), JWTD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(roles[0], "user");
    assert_int_equal(jwtd_token_claim_string(t, "jti", &s), JWTD_OK);
    assert_int_equal(strlen(s), 22); /* 128 bits, base64url */
    assert_int_equal(jwtd_token_claim_int(t, "iat", &iat), JWTD_OK);
    assert_int_equal(jwtd_token_claim_int(t, "exp", &exp), JWTD_OK);
    assert_int_equal(exp - iat, 900);
    assert_true(iat >= test_now() - 5 && iat <= test_now());
    jwtd_token_free(t);

    t = verify_outside(f->a, pair.refresh_token, "refresh+jwt");
    assert_int_equal(jwtd_token_claim_string(t, "sub", &s), JWTD_OK);
    assert_string_equal(s, sub);
    assert_int_equal(jwtd_token_claim_string(t, "fam", &s), JWTD_OK);
    assert_int_equal(strlen(s), 22);
    assert_int_equal(jwtd_token_claim_string(t, "jti", &s), JWTD_OK);
    assert_int_equal(jwtd_token_claim_int(t, "iat", &iat), JWTD_OK);
    assert_int_equal(jwtd_token_claim_int(t, "exp", &exp), JWTD_OK);
    assert_int_equal(exp - iat, 604800);
    assert_int_equal(jwtd_token_claim_string(t, "roles", &s), JWTD_ERR_MISSING_REQUIRED_CLAIM);
    jwtd_token_free(t);
    auth_pair_clear(&pair);
}

static void test_token_types_not_interchangeable(void **state)
{
    fixture *f = *state;
    auth_pair pair = {0}, next = {0};
    char *tampered;

    register_user(f, "alice", "correct horse", &pair);
    assert_int_equal(verify(f->a, pair.refresh_token, NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(refresh(f->a, pair.access_token, &next), AUTH_INVALID_TOKEN);
    assert_null(next.access_token);
    /* logout ignores an access token: the family lives on */
    assert_int_equal(auth_logout(f->a, pair.access_token, strlen(pair.access_token)), AUTH_OK);
    assert_int_equal(stats(f->a).logouts, 0);

    tampered = strdup(pair.access_token);
    tampered[strlen(tampered) - 10] = tampered[strlen(tampered) - 10] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(f->a, tampered, NULL), AUTH_INVALID_TOKEN);
    free(tampered);
    assert_int_equal(verify(f->a, "", NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(verify(f->a, "not.a.token", NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(refresh(f->a, "not.a.token", &next), AUTH_INVALID_TOKEN);
    assert_int_equal(refresh(f->a, "{\"payload\":\"e30\"}", &next), AUTH_INVALID_TOKEN);

    assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_OK);
    assert_int_equal(refresh(f->a, pair.refresh_token, &next), AUTH_OK);
    assert_int_equal(stats(f->a).verify_failed, 4);
    auth_pair_clear(&pair);
    auth_pair_clear(&next);
}

static void test_rotation_grace_and_reuse(void **state)
{
    fixture *f = *state;
    auth_pair p0 = {0}, p1 = {0}, again = {0}, p2 = {0}, none = {0};

    register_user(f, "alice", "correct horse", &p0);
    assert_int_equal(refresh(f->a, p0.refresh_token, &p1), AUTH_OK);
    assert_string_not_equal(p1.refresh_token, p0.refresh_token);
    assert_string_not_equal(p1.access_token, p0.access_token);
    assert_int_equal(verify(f->a, p1.access_token, NULL), AUTH_OK);

    /* a second tab presents the same token at once: the very same pair */
    assert_int_equal(refresh(f->a, p0.refresh_token, &again), AUTH_OK);
    assert_string_equal(again.access_token, p1.access_token);
    assert_string_equal(again.refresh_token, p1.refresh_token);
    auth_pair_clear(&again);

    /* the chain goes on */
    assert_int_equal(refresh(f->a, p1.refresh_token, &p2), AUTH_OK);
    assert_int_equal(stats(f->a).refreshes, 3);

    /* later, the spent token again: theft. The whole family dies. */
    clock_offset = f->cfg.refresh_grace + 1;
    assert_int_equal(refresh(f->a, p0.refresh_token, &none), AUTH_TOKEN_REUSED);
    assert_null(none.access_token);
    assert_int_equal(stats(f->a).refresh_reuse, 1);
    assert_int_equal(refresh(f->a, p2.refresh_token, &none), AUTH_INVALID_TOKEN);
    assert_int_equal(refresh(f->a, p1.refresh_token, &none), AUTH_INVALID_TOKEN);
    auth_pair_clear(&p0);
    auth_pair_clear(&p1);
    auth_pair_clear(&p2);
}

/* refresh_grace 0 turns the window off: the very next presentation of a spent token, even
 * in the same second, is reuse and kills the family. */
static void test_grace_zero_is_reuse(void **state)
{
    fixture *f = *state;
    auth_pair p0 = {0}, p1 = {0}, none = {0};
    auth_user u;

    f->cfg.refresh_grace = 0;
    fixture_start_second(f);
    assert_int_equal(auth_register(f->a2, "alice", "correct horse", NULL, NULL, &u, &p0), AUTH_OK);
    assert_int_equal(refresh(f->a2, p0.refresh_token, &p1), AUTH_OK);
    assert_int_equal(refresh(f->a2, p0.refresh_token, &none), AUTH_TOKEN_REUSED);
    assert_null(none.access_token);
    assert_int_equal(refresh(f->a2, p1.refresh_token, &none), AUTH_INVALID_TOKEN);
    auth_pair_clear(&p0);
    auth_pair_clear(&p1);
}

/* Grace entries live in one process: another instance cannot hand out the same pair, so it
 * refuses the token but leaves the family alive. */
static void test_grace_on_another_instance(void **state)
{
    fixture *f = *state;
    auth_pair p0 = {0}, p1 = {0}, other = {0}, p2 = {0};

    fixture_start_second(f);
    register_user(f, "alice", "correct horse", &p0);
    assert_int_equal(refresh(f->a, p0.refresh_token, &p1), AUTH_OK);
    assert_int_equal(refresh(f->a2, p0.refresh_token, &other), AUTH_INVALID_TOKEN);
    assert_int_equal(stats(f->a2).refresh_reuse, 0);
    assert_int_equal(refresh(f->a2, p1.refresh_token, &p2), AUTH_OK);
    auth_pair_clear(&p0);
    auth_pair_clear(&p1);
    auth_pair_clear(&p2);
}

static void test_refresh_uses_current_roles(void **state)
{
    static const char *const roles[] = {"admin", "user"};
    fixture *f = *state;
    auth_pair p0 = {0}, p1 = {0};
    auth_principal p;
    auth_user u = register_user(f, "alice", "correct horse", &p0);

    assert_int_equal(auth_set_roles(f->a, u.id, roles, 2), AUTH_OK);
    /* tokens carry roles: the old ones are revoked */
    assert_int_equal(verify(f->a, p0.access_token, NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(refresh(f->a, p0.refresh_token, &p1), AUTH_OK);
    assert_int_equal(verify(f->a, p1.access_token, &p), AUTH_OK);
    assert_int_equal(p.nroles, 2);
    assert_true(auth_principal_has_role(&p, "admin"));
    assert_true(auth_principal_has_role(&p, "user"));
    assert_int_equal(auth_set_roles(f->a, u.id + 100, roles, 2), AUTH_NOT_FOUND);
    assert_int_equal(auth_set_roles(f->a, u.id, roles, 0), AUTH_INVALID_INPUT);
    auth_pair_clear(&p0);
    auth_pair_clear(&p1);
}

static void test_access_expiry_even_when_cached(void **state)
{
    fixture *f = *state;
    auth_pair pair = {0};

    f->cfg.access_ttl = 60;
    fixture_start(f);
    /* A stopped clock: on the running one, a second that ends between the login and the
     * check made "59 s later" the second of exp (1 run in 100 or so, more under valgrind). */
    int64_t issued = (int64_t)time(NULL);
    frozen_now = issued;
    register_user(f, "alice", "correct horse", &pair);
    assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_OK);
    assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_OK);
    assert_int_equal(stats(f->a).verify_cache_hits, 1);
    frozen_now = issued + 59;
    assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_OK);
    frozen_now = issued + 60; /* now == exp: expired, no leeway */
    assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(stats(f->a).verify_cache_hits, 2);
    /* found in the cache, and refused all the same */
    assert_int_equal(stats(f->a).token_cache_hits, 3);
    assert_int_equal(stats(f->a).token_cache_misses, 1);
    frozen_now = 0;
    auth_pair_clear(&pair);
}

static void test_refresh_expiry(void **state)
{
    fixture *f = *state;
    auth_pair pair = {0}, next = {0};

    f->cfg.refresh_ttl = 120;
    fixture_start(f);
    register_user(f, "alice", "correct horse", &pair);
    clock_offset = 120;
    assert_int_equal(refresh(f->a, pair.refresh_token, &next), AUTH_INVALID_TOKEN);
    clock_offset = 0; /* nothing was spent by the refused attempt */
    assert_int_equal(refresh(f->a, pair.refresh_token, &next), AUTH_OK);
    auth_pair_clear(&pair);
    auth_pair_clear(&next);
}

/* ---- revocation ---- */

static void test_logout_revokes_family(void **state)
{
    fixture *f = *state;
    auth_pair a = {0}, b = {0}, next = {0};

    register_user(f, "alice", "correct horse", &a);
    assert_int_equal(auth_login(f->a, "alice", "correct horse", NULL, &b), AUTH_OK);
    assert_int_equal(auth_logout(f->a, a.refresh_token, strlen(a.refresh_token)), AUTH_OK);
    assert_int_equal(stats(f->a).logouts, 1);
    assert_int_equal(refresh(f->a, a.refresh_token, &next), AUTH_INVALID_TOKEN);
    /* another login (family) of the same user is untouched */
    assert_int_equal(refresh(f->a, b.refresh_token, &next), AUTH_OK);
    auth_pair_clear(&next);
    /* invalid input is ignored: logout always succeeds */
    assert_int_equal(auth_logout(f->a, "garbage", 7), AUTH_OK);
    assert_int_equal(auth_logout(f->a, NULL, 0), AUTH_OK);
    assert_int_equal(stats(f->a).logouts, 1);
    auth_pair_clear(&a);
    auth_pair_clear(&b);
}

static void test_logout_with_expired_token(void **state)
{
    fixture *f = *state;
    auth_pair pair = {0}, next = {0};

    f->cfg.refresh_ttl = 120;
    fixture_start(f);
    register_user(f, "alice", "correct horse", &pair);
    clock_offset = 500;
    assert_int_equal(auth_logout(f->a, pair.refresh_token, strlen(pair.refresh_token)), AUTH_OK);
    assert_int_equal(stats(f->a).logouts, 1);
    clock_offset = 0; /* had it not been revoked, it would refresh now */
    assert_int_equal(refresh(f->a, pair.refresh_token, &next), AUTH_INVALID_TOKEN);
    auth_pair_clear(&pair);
}

static void test_logout_all(void **state)
{
    fixture *f = *state;
    auth_pair a = {0}, b = {0}, c = {0}, next = {0};
    auth_user u = register_user(f, "alice", "correct horse", &a);

    register_user(f, "bob", "correct horse", &c);

    assert_int_equal(auth_login(f->a, "alice", "correct horse", NULL, &b), AUTH_OK);
    assert_int_equal(verify(f->a, a.access_token, NULL), AUTH_OK); /* now cached */
    assert_int_equal(auth_logout_all(f->a, u.id), AUTH_OK);
    assert_int_equal(verify(f->a, a.access_token, NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(verify(f->a, b.access_token, NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(refresh(f->a, a.refresh_token, &next), AUTH_INVALID_TOKEN);
    assert_int_equal(refresh(f->a, b.refresh_token, &next), AUTH_INVALID_TOKEN);
    /* other users keep their sessions */
    assert_int_equal(verify(f->a, c.access_token, NULL), AUTH_OK);
    assert_int_equal(stats(f->a).revoked_users, 1);
    auth_pair_clear(&a);
    auth_pair_clear(&b);

    /* logging in again in the same second gives a token that is not born revoked */
    assert_int_equal(auth_login(f->a, "alice", "correct horse", NULL, &a), AUTH_OK);
    assert_int_equal(verify(f->a, a.access_token, NULL), AUTH_OK);
    assert_int_equal(refresh(f->a, a.refresh_token, &next), AUTH_OK);
    assert_int_equal(verify(f->a, next.access_token, NULL), AUTH_OK);
    assert_int_equal(auth_logout_all(f->a, 0), AUTH_INVALID_INPUT);
    auth_pair_clear(&a);
    auth_pair_clear(&c);
    auth_pair_clear(&next);
}

/* Found by the soak (tests/soak): logout-all, a login in the same second (its token dated one
 * second later so as not to be born revoked), then a second logout-all in that second: the
 * second logout-all must revoke that token too. */
static void test_logout_all_twice_in_one_second(void **state)
{
    fixture *f = *state;
    auth_pair a = {0}, b = {0}, c = {0}, next = {0};

    frozen_now = (int64_t)time(NULL);
    auth_user u = register_user(f, "alice", "correct horse", &a);
    assert_int_equal(auth_logout_all(f->a, u.id), AUTH_OK);
    assert_int_equal(auth_login(f->a, "alice", "correct horse", NULL, &b), AUTH_OK);
    assert_int_equal(verify(f->a, b.access_token, NULL), AUTH_OK);
    assert_int_equal(auth_logout_all(f->a, u.id), AUTH_OK);
    assert_int_equal(verify(f->a, b.access_token, NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(refresh(f->a, b.refresh_token, &next), AUTH_INVALID_TOKEN);
    /* and a login after the second one is still not born revoked */
    assert_int_equal(auth_login(f->a, "alice", "correct horse", NULL, &c), AUTH_OK);
    assert_int_equal(verify(f->a, c.access_token, NULL), AUTH_OK);
    assert_int_equal(verify(f->a, a.access_token, NULL), AUTH_INVALID_TOKEN);
    frozen_now = 0;
    auth_pair_clear(&a);
    auth_pair_clear(&b);
    auth_pair_clear(&c);
}

static void test_disable_user(void **state)
{
    fixture *f = *state;
    auth_pair pair = {0}, next = {0};
    auth_user u = register_user(f, "alice", "correct horse", &pair);

    assert_int_equal(auth_set_disabled(f->a, u.id, true), AUTH_OK);
    assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(refresh(f->a, pair.refresh_token, &next), AUTH_INVALID_TOKEN);
    assert_int_equal(auth_login(f->a, "alice", "correct horse", NULL, &next), AUTH_BAD_CREDENTIALS);
    assert_int_equal(auth_set_disabled(f->a, u.id, false), AUTH_OK);
    assert_int_equal(auth_login(f->a, "alice", "correct horse", NULL, &next), AUTH_OK);
    assert_int_equal(verify(f->a, next.access_token, NULL), AUTH_OK);
    /* enabling does not bring old tokens back */
    assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(auth_set_disabled(f->a, u.id + 100, true), AUTH_NOT_FOUND);
    auth_pair_clear(&pair);
    auth_pair_clear(&next);
}

static void test_revocations_survive_restart(void **state)
{
    fixture *f = *state;
    auth_pair a = {0}, b = {0};
    auth_user u = register_user(f, "alice", "correct horse", &a);

    register_user(f, "bob", "correct horse", &b);
    assert_int_equal(auth_logout_all(f->a, u.id), AUTH_OK);
    auth_free(f->a);
    f->a = NULL;
    fixture_start(f);
    assert_int_equal(stats(f->a).revoked_users, 1);
    assert_int_equal(verify(f->a, a.access_token, NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(verify(f->a, b.access_token, NULL), AUTH_OK); /* same key, reloaded */
    auth_pair_clear(&a);
    auth_pair_clear(&b);
}

static void test_revocation_seen_by_other_instance(void **state)
{
    fixture *f = *state;
    auth_pair pair = {0};
    auth_user u;

    fixture_start_second(f);
    u = register_user(f, "alice", "correct horse", &pair);
    assert_int_equal(verify(f->a2, pair.access_token, NULL), AUTH_OK);
    assert_int_equal(auth_logout_all(f->a, u.id), AUTH_OK);
    /* a2 learns of it at its next sync, not before (it never reads the store to verify) */
    assert_int_equal(verify(f->a2, pair.access_token, NULL), AUTH_OK);
    assert_int_equal(auth_sync(f->a2), AUTH_OK);
    assert_int_equal(verify(f->a2, pair.access_token, NULL), AUTH_INVALID_TOKEN);
    auth_pair_clear(&pair);
}

static void test_verify_cache(void **state)
{
    fixture *f = *state;
    auth_pair pair = {0}, other = {0};
    auth_principal p1, p2;
    auth_user u = register_user(f, "alice", "correct horse", &pair);

    register_user(f, "bob", "correct horse", &other);
    assert_int_equal(verify(f->a, pair.access_token, &p1), AUTH_OK);
    assert_int_equal(stats(f->a).verify_cache_hits, 0);
    assert_int_equal(verify(f->a, pair.access_token, &p2), AUTH_OK);
    assert_int_equal(stats(f->a).verify_cache_hits, 1);
    assert_memory_equal(&p1, &p2, sizeof p1);
    assert_int_equal(verify(f->a, other.access_token, NULL), AUTH_OK);
    assert_int_equal(stats(f->a).verify_cache_hits, 1);
    assert_int_equal(stats(f->a).verify_ok, 3);

    assert_int_equal(auth_logout_all(f->a, u.id), AUTH_OK);
    assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(verify(f->a, other.access_token, NULL), AUTH_OK);
    assert_int_equal(stats(f->a).verify_cache_hits, 2); /* a refused hit is not counted */
    assert_int_equal(stats(f->a).verify_failed, 1);
    /* the revoked token was found in the cache (3 lookups found, 2 verified) and refused */
    assert_int_equal(stats(f->a).token_cache_hits, 3);
    assert_int_equal(stats(f->a).token_cache_misses, 2);
    auth_pair_clear(&pair);
    auth_pair_clear(&other);
}

/* A cache of one set (3 slots asked, rounded up to 4): exact hits and misses, the least
 * recently used entry goes first, and a token differing in one byte from a cached one is no
 * hit. */
static void test_token_cache_counts(void **state)
{
    fixture *f = *state;
    auth_pair pairs[5];
    char name[16], *tampered;
    auth_stats st;

    f->cfg.token_cache = 3;
    fixture_start(f);
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "user%d", i);
        memset(&pairs[i], 0, sizeof pairs[i]);
        register_user(f, name, "correct horse", &pairs[i]);
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 4; i++)
            assert_int_equal(verify(f->a, pairs[i].access_token, NULL), AUTH_OK);
    }
    st = stats(f->a);
    assert_int_equal(st.token_cache_hits, 4);
    assert_int_equal(st.token_cache_misses, 4);
    assert_int_equal(st.token_cache_slots, 4);
    /* the fifth evicts the least recently used (user0); user1 stays; user0 is verified again */
    assert_int_equal(verify(f->a, pairs[4].access_token, NULL), AUTH_OK);
    assert_int_equal(verify(f->a, pairs[1].access_token, NULL), AUTH_OK);
    assert_int_equal(verify(f->a, pairs[0].access_token, NULL), AUTH_OK);
    /* user0 took the way of user2, the least recently used then, not user4's */
    assert_int_equal(verify(f->a, pairs[4].access_token, NULL), AUTH_OK);
    st = stats(f->a);
    assert_int_equal(st.token_cache_hits, 6);
    assert_int_equal(st.token_cache_misses, 6);
    /* user1's token with its last character changed: a miss, and a bad signature */
    tampered = strdup(pairs[1].access_token);
    assert_non_null(tampered);
    tampered[strlen(tampered) - 1] = tampered[strlen(tampered) - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(f->a, tampered, NULL), AUTH_INVALID_TOKEN);
    st = stats(f->a);
    assert_int_equal(st.token_cache_hits, 6);
    assert_int_equal(st.token_cache_misses, 7);
    assert_int_equal(st.verify_ok, 12);
    assert_int_equal(st.verify_failed, 1);
    free(tampered);
    for (int i = 0; i < 5; i++)
        auth_pair_clear(&pairs[i]);
}

/* token_cache 0: every check verifies the signature; beyond the bound auth_new refuses. */
static void test_token_cache_off(void **state)
{
    fixture *f = *state;
    auth_pair pair = {0};
    const char *why = NULL;
    auth *other = NULL;
    auth_stats st;

    f->cfg.token_cache = AUTH_TOKEN_CACHE_MAX + 1;
    assert_int_equal(auth_new(&f->cfg, f->s, &other, &why), AUTH_INVALID_INPUT);
    assert_null(other);
    assert_non_null(why);
    f->cfg.token_cache = 0;
    fixture_start(f);
    register_user(f, "alice", "correct horse", &pair);
    for (int i = 0; i < 3; i++)
        assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_OK);
    st = stats(f->a);
    assert_int_equal(st.token_cache_hits, 0);
    assert_int_equal(st.token_cache_misses, 3);
    assert_int_equal(st.token_cache_slots, 0);
    assert_int_equal(st.verify_cache_hits, 0);
    assert_int_equal(st.verify_ok, 3);
    auth_pair_clear(&pair);
}

typedef struct verifier {
    auth *a;
    const char *token;
    int ok;
} verifier;

static void *verify_loop(void *arg)
{
    verifier *v = arg;
    auth_principal p;

    for (int i = 0; i < 50; i++)
        v->ok += auth_verify_access(v->a, v->token, strlen(v->token), &p) == AUTH_OK;
    return NULL;
}

/* Each thread has its own cache; the counts of threads that ended are kept. */
static void test_verify_from_threads(void **state)
{
    fixture *f = *state;
    pthread_t th[4];
    verifier v[4];
    auth_pair pair = {0};

    register_user(f, "alice", "correct horse", &pair);
    for (int i = 0; i < 4; i++) {
        v[i] = (verifier){f->a, pair.access_token, 0};
        assert_int_equal(pthread_create(&th[i], NULL, verify_loop, &v[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(v[i].ok, 50);
    }
    assert_int_equal(stats(f->a).verify_ok, 200);
    assert_int_equal(stats(f->a).verify_cache_hits, 4 * 49);
    auth_pair_clear(&pair);
}

/* ---- keys ---- */

static void test_key_rotation(void **state)
{
    fixture *f = *state;
    auth_pair p0 = {0}, p1 = {0}, p2 = {0};
    char kid0[STORE_MAX_KID + 1], kid1[STORE_MAX_KID + 1];
    uint64_t hits;

    register_user(f, "alice", "correct horse", &p0);
    snprintf(kid0, sizeof kid0, "%s", header_kid(p0.access_token));
    assert_int_equal(strlen(kid0), JWTD_THUMBPRINT_B64_LEN);
    assert_int_equal(stats(f->a).signing_keys, 1);
    assert_int_equal(verify(f->a, p0.access_token, NULL), AUTH_OK); /* cached */

    assert_int_equal(auth_keys_rotate(f->a, JWTD_ALG_UNKNOWN, kid1), AUTH_OK);
    assert_string_not_equal(kid0, kid1);
    assert_int_equal(stats(f->a).signing_keys, 2);
    assert_true(jwks_has_kid(f->a, kid0));
    assert_true(jwks_has_kid(f->a, kid1));

    /* the old key still verifies (the cache was emptied: a real verify) */
    hits = stats(f->a).verify_cache_hits;
    assert_int_equal(verify(f->a, p0.access_token, NULL), AUTH_OK);
    assert_int_equal(stats(f->a).verify_cache_hits, hits);
    /* a refresh token signed by the retired key rotates; new tokens use the new key */
    assert_int_equal(refresh(f->a, p0.refresh_token, &p1), AUTH_OK);
    assert_string_equal(header_kid(p1.access_token), kid1);
    assert_string_equal(header_kid(p1.refresh_token), kid1);
    assert_int_equal(auth_login(f->a, "alice", "correct horse", NULL, &p2), AUTH_OK);
    assert_string_equal(header_kid(p2.access_token), kid1);

    /* once everything the old key signed has expired, it leaves the JWKS */
    clock_offset = f->cfg.refresh_ttl + 1;
    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_false(jwks_has_kid(f->a, kid0));
    assert_true(jwks_has_kid(f->a, kid1));
    assert_int_equal(stats(f->a).signing_keys, 1);
    auth_pair_clear(&p0);
    auth_pair_clear(&p1);
    auth_pair_clear(&p2);
}

/* Snapshots swap under verifying threads: every verify of a token of a retired key keeps
 * succeeding while keys rotate and revocations of another user land. */
static void test_verify_during_rotation(void **state)
{
    fixture *f = *state;
    pthread_t th[3];
    verifier v[3];
    auth_pair pair = {0};
    auth_user other = register_user(f, "bob", "correct horse", NULL);

    register_user(f, "alice", "correct horse", &pair);
    for (int i = 0; i < 3; i++) {
        v[i] = (verifier){f->a, pair.access_token, 0};
        assert_int_equal(pthread_create(&th[i], NULL, verify_loop, &v[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(auth_keys_rotate(f->a, JWTD_ALG_UNKNOWN, NULL), AUTH_OK);
        assert_int_equal(auth_logout_all(f->a, other.id), AUTH_OK);
        assert_int_equal(auth_sync(f->a), AUTH_OK);
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(v[i].ok, 50);
    }
    assert_int_equal(stats(f->a).signing_keys, 4);
    auth_pair_clear(&pair);
}

/* jwtd keys rotate run by the CLI while the server runs: the server picks it up at sync. */
static void test_sync_picks_up_other_instance_key(void **state)
{
    fixture *f = *state;
    char kid1[STORE_MAX_KID + 1];
    auth_pair mine = {0}, theirs = {0};

    fixture_start_second(f);
    register_user(f, "alice", "correct horse", &mine);
    assert_int_equal(auth_keys_rotate(f->a2, JWTD_ALG_UNKNOWN, kid1), AUTH_OK);
    assert_false(jwks_has_kid(f->a, kid1));
    assert_int_equal(auth_login(f->a2, "alice", "correct horse", NULL, &theirs), AUTH_OK);
    assert_string_equal(header_kid(theirs.access_token), kid1);
    assert_int_equal(verify(f->a, theirs.access_token, NULL), AUTH_INVALID_TOKEN);

    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_true(jwks_has_kid(f->a, kid1));
    assert_int_equal(verify(f->a, theirs.access_token, NULL), AUTH_OK);
    assert_int_equal(verify(f->a, mine.access_token, NULL), AUTH_OK);
    auth_pair_clear(&mine);
    assert_int_equal(auth_login(f->a, "alice", "correct horse", NULL, &mine), AUTH_OK);
    assert_string_equal(header_kid(mine.access_token), kid1);
    /* nothing changed: a sync keeps the same snapshot */
    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_int_equal(stats(f->a).signing_keys, 2);
    auth_pair_clear(&mine);
    auth_pair_clear(&theirs);
}

static void test_keys_persist_across_restart(void **state)
{
    fixture *f = *state;
    auth_pair pair = {0};
    char *before = NULL, *after = NULL;

    register_user(f, "alice", "correct horse", &pair);
    assert_int_equal(auth_jwks_copy(f->a, &before), AUTH_OK);
    auth_free(f->a);
    f->a = NULL;
    fixture_start(f);
    assert_int_equal(auth_jwks_copy(f->a, &after), AUTH_OK);
    assert_string_equal(before, after);
    assert_non_null(strstr(after, "\"alg\":\"EdDSA\""));
    assert_non_null(strstr(after, "\"crv\":\"Ed25519\""));
    assert_null(strstr(after, "\"d\""));
    assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_OK);
    free(before);
    free(after);
    auth_pair_clear(&pair);
}

static bool count_key(void *ctx, const store_signing_key *k)
{
    (void)k;
    ++*(int *)ctx;
    return true;
}

/* What a tutorial's service does: verifies token with the shared secret, alg pinned. */
static void assert_verifies_with_secret(const char *token, const char *secret, jwtd_alg alg)
{
    jwtd_validation *v = NULL;
    jwtd_key *key = NULL;
    jwtd_keyset *set = NULL;
    jwtd_token *t = NULL;

    assert_int_equal(jwtd_validation_new(&v), JWTD_OK);
    assert_int_equal(jwtd_key_from_secret(secret, strlen(secret), 0, &key), JWTD_OK);
    assert_int_equal(jwtd_keyset_new(&key, 1, &set), JWTD_OK);
    assert_int_equal(jwtd_validation_allow_alg(v, alg), JWTD_OK);
    assert_int_equal(jwtd_verify(token, strlen(token), set, v, &t, NULL), JWTD_OK);
    jwtd_token_free(t);
    jwtd_keyset_free(set);
    jwtd_key_free(key);
    jwtd_validation_free(v);
}

static void test_hs256_secret(void **state)
{
    static const char secret[] = "0123456789abcdef0123456789abcdef"; /* 32 bytes */
    fixture *f = *state;
    char kid[STORE_MAX_KID + 1], alg[16], *jwks = NULL;
    auth_pair pair = {0};
    int nkeys = 0;

    f->cfg.jwt_secret = (const unsigned char *)secret;
    f->cfg.jwt_secret_len = strlen(secret);
    fixture_start(f);
    assert_int_equal(auth_jwks_copy(f->a, &jwks), AUTH_OK);
    assert_string_equal(jwks, "{\"keys\":[]}");
    free(jwks);
    assert_int_equal(store_key_list(f->s, count_key, &nkeys), STORE_OK);
    assert_int_equal(nkeys, 0); /* nothing generated */

    register_user(f, "alice", "correct horse", &pair);
    assert_int_equal(jwtd_insecure_peek_header(pair.access_token, strlen(pair.access_token), alg,
                                               sizeof alg, kid, sizeof kid),
                     JWTD_OK);
    assert_string_equal(alg, "HS256");
    assert_int_equal(strlen(kid), 14);
    assert_true(strncmp(kid, "hs256-", 6) == 0);
    assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_OK);

    /* what the tutorials' services do: verify with the shared secret */
    assert_verifies_with_secret(pair.access_token, secret, JWTD_ALG_HS256);

    assert_int_equal(auth_keys_rotate(f->a, JWTD_ALG_UNKNOWN, kid), AUTH_INVALID_INPUT);
    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_OK);
    auth_pair_clear(&pair);
}

/* key_alg HS512 with a 64-byte secret: tokens are HS512, their kid says so, and a service
 * holding the secret verifies them with HS512 alone. */
static void test_hs512_secret(void **state)
{
    static const char secret[] = "0123456789abcdef0123456789abcdef"
                                 "0123456789abcdef0123456789abcdef"; /* 64 bytes */
    fixture *f = *state;
    char kid[STORE_MAX_KID + 1], alg[16];
    auth_pair pair = {0};

    f->cfg.jwt_secret = (const unsigned char *)secret;
    f->cfg.jwt_secret_len = strlen(secret);
    f->cfg.key_alg = JWTD_ALG_HS512;
    fixture_start(f);
    register_user(f, "alice", "correct horse", &pair);
    assert_int_equal(jwtd_insecure_peek_header(pair.access_token, strlen(pair.access_token), alg,
                                               sizeof alg, kid, sizeof kid),
                     JWTD_OK);
    assert_string_equal(alg, "HS512");
    assert_true(strncmp(kid, "hs512-", 6) == 0);
    assert_int_equal(verify(f->a, pair.access_token, NULL), AUTH_OK);
    assert_verifies_with_secret(pair.access_token, secret, JWTD_ALG_HS512);
    auth_pair_clear(&pair);
}

/* A machine client's access token (RFC 9068: sub "client:" NAME and client_id NAME, no user
 * claim), signed with the shared secret as the token endpoint does: it verifies as a client,
 * with its revocation key for a user id, the client in client_id and sub, and its roles. */
static void test_client_token_principal(void **state)
{
    static const char secret[] = "0123456789abcdef0123456789abcdef"; /* 32 bytes */
    fixture *f = *state;
    jwtd_header hdr = {.typ = "at+jwt", .kid = NULL, .extra_json = NULL};
    jwtd_claims *c = NULL;
    jwtd_key *key = NULL;
    auth_pair pair = {0};
    auth_principal p;
    char claims[512], *tok = NULL;
    int64_t now = test_now();

    f->cfg.jwt_secret = (const unsigned char *)secret;
    f->cfg.jwt_secret_len = strlen(secret);
    fixture_start(f);
    register_user(f, "alice", "correct horse", &pair);
    hdr.kid = header_kid(pair.access_token);
    snprintf(claims, sizeof claims,
             "{\"iss\":\"jwtd\",\"aud\":\"jwtd\",\"sub\":\"client:cron-job\","
             "\"client_id\":\"cron-job\","
             "\"jti\":\"c1\",\"iat\":%lld,\"exp\":%lld,\"roles\":[\"reports\"]}",
             (long long)now, (long long)now + 60);
    assert_int_equal(jwtd_claims_from_json(claims, strlen(claims), &c), JWTD_OK);
    assert_int_equal(jwtd_key_from_secret(secret, strlen(secret), 0, &key), JWTD_OK);
    assert_int_equal(jwtd_sign(key, JWTD_ALG_HS256, &hdr, c, &tok), JWTD_OK);
    assert_int_equal(verify(f->a, tok, &p), AUTH_OK);
    assert_true(p.client);
    assert_true(p.user_id < 0); /* the client's revocation key, never a user id */
    assert_string_equal(p.client_id, "cron-job");
    assert_string_equal(p.sub, "client:cron-job");
    assert_string_equal(p.username, "");
    assert_true(auth_principal_has_role(&p, "reports"));
    jwtd_claims_free(c);
    jwtd_key_free(key);
    free(tok);
    auth_pair_clear(&pair);
}

/* What auth_verify_access_why tells: nothing of which check failed for a forged or foreign
 * token, "expired" and "revoked" only for genuine ones. */
static void test_token_faults(void **state)
{
    fixture *f = *state;
    auth_token_fault fault = AUTH_FAULT_NONE;
    auth_principal p;
    auth_pair pair = {0};
    char *tampered;

    register_user(f, "alice", "correct horse", &pair);
    const char *tok = pair.access_token;
    assert_int_equal(auth_verify_access_why(f->a, tok, strlen(tok), &p, &fault), AUTH_OK);
    assert_int_equal(fault, AUTH_FAULT_NONE);
    assert_string_equal(p.sub, "1");
    assert_string_equal(p.client_id, "");
    tampered = strdup(tok);
    tampered[strlen(tampered) - 2] = tampered[strlen(tampered) - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(auth_verify_access_why(f->a, tampered, strlen(tampered), &p, &fault),
                     AUTH_INVALID_TOKEN);
    assert_int_equal(fault, AUTH_FAULT_INVALID);
    free(tampered);
    assert_int_equal(
        auth_verify_access_why(f->a, pair.refresh_token, strlen(pair.refresh_token), &p, &fault),
        AUTH_INVALID_TOKEN);
    assert_int_equal(fault, AUTH_FAULT_INVALID);
    clock_offset = f->cfg.access_ttl + 1; /* on the cache-hit path: our clock */
    assert_int_equal(auth_verify_access_why(f->a, tok, strlen(tok), &p, &fault),
                     AUTH_INVALID_TOKEN);
    assert_int_equal(fault, AUTH_FAULT_EXPIRED);
    clock_offset = 0;
    assert_int_equal(auth_logout_all(f->a, 1), AUTH_OK);
    assert_int_equal(auth_verify_access_why(f->a, tok, strlen(tok), &p, &fault),
                     AUTH_INVALID_TOKEN);
    assert_int_equal(fault, AUTH_FAULT_REVOKED);
    auth_pair_clear(&pair);
}

/* Which field an invalid input names, and why (the 400 answers say it). */
static void test_input_faults(void **state)
{
    static const char *const bad_roles[] = {"Admin"};
    static const char *const good_roles[] = {"admin", "user"};
    auth_input_fault fault;
    char long_name[AUTH_MAX_NAME + 2];
    (void)state;

    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_true(
        auth_user_input_check("alice", "hunter22", "", "", NULL, 0, AUTH_MIN_PASSWORD, &fault));
    assert_null(fault.field);
    assert_false(auth_user_input_check("al ice", "hunter22", NULL, NULL, NULL, 0, AUTH_MIN_PASSWORD,
                                       &fault));
    assert_string_equal(fault.field, "username");
    assert_string_equal(fault.detail, "1 to 64 of A-Z a-z 0-9 . _ -");
    assert_false(
        auth_user_input_check("alice", "short", NULL, NULL, NULL, 0, AUTH_MIN_PASSWORD, &fault));
    assert_string_equal(fault.field, "password");
    assert_string_equal(fault.detail, "8 to 1024 bytes");
    assert_true(auth_user_input_check("alice", "s", NULL, NULL, NULL, 0, 1, &fault));
    assert_false(auth_user_input_check("alice", "hunter22", "no-at-sign", NULL, NULL, 0,
                                       AUTH_MIN_PASSWORD, &fault));
    assert_string_equal(fault.field, "email");
    assert_false(auth_user_input_check("alice", "hunter22", NULL, long_name, NULL, 0,
                                       AUTH_MIN_PASSWORD, &fault));
    assert_string_equal(fault.field, "name");
    assert_string_equal(fault.detail, "at most 128 bytes of UTF-8 without control characters");
    assert_false(auth_user_input_check("alice", "hunter22", NULL, NULL, bad_roles, 1, 1, &fault));
    assert_string_equal(fault.field, "roles");
    assert_true(auth_roles_check(good_roles, 2, &fault));
    assert_false(auth_roles_check(good_roles, 0, &fault));
    assert_true(auth_role_valid("admin", 5));
    assert_false(auth_role_valid("ad min", 6));
    assert_false(auth_role_valid("", 0));
}

/* A token signed by a key we never held, with our kid, is refused. */
static void test_foreign_key_refused(void **state)
{
    fixture *f = *state;
    jwtd_header hdr = {.typ = "at+jwt", .kid = NULL, .extra_json = NULL};
    jwtd_claims *c = NULL;
    jwtd_key *key = NULL;
    auth_pair pair = {0};
    char *claims = NULL, *header = NULL, *forged = NULL;

    register_user(f, "alice", "correct horse", &pair);
    assert_int_equal(
        jwtd_insecure_decode(pair.access_token, strlen(pair.access_token), &header, &claims),
        JWTD_OK);
    assert_int_equal(jwtd_claims_from_json(claims, strlen(claims), &c), JWTD_OK);
    hdr.kid = header_kid(pair.access_token);
    assert_int_equal(jwtd_key_generate(JWTD_ALG_EDDSA, &key), JWTD_OK);
    assert_int_equal(jwtd_sign(key, JWTD_ALG_EDDSA, &hdr, c, &forged), JWTD_OK);
    assert_int_equal(verify(f->a, forged, NULL), AUTH_INVALID_TOKEN);
    jwtd_free(forged);
    jwtd_key_free(key);
    /* the same claims with HS256 and the public key's bytes: alg not pinned */
    assert_int_equal(jwtd_key_generate(JWTD_ALG_HS256, &key), JWTD_OK);
    assert_int_equal(jwtd_sign(key, JWTD_ALG_HS256, &hdr, c, &forged), JWTD_OK);
    assert_int_equal(verify(f->a, forged, NULL), AUTH_INVALID_TOKEN);
    jwtd_free(forged);
    jwtd_key_free(key);
    jwtd_claims_free(c);
    jwtd_free(claims);
    jwtd_free(header);
    auth_pair_clear(&pair);
}

/* ---- The reads of the admin routes and the command line, and auth_open ---- */

typedef struct collected {
    int64_t ids[8];
    char names[8][AUTH_MAX_USERNAME + 1];
    size_t n;
    size_t stop_after; /* 0: never stop */
} collected;

static bool collect(void *ctx, const auth_user *u)
{
    collected *c = ctx;
    c->ids[c->n] = u->id;
    memcpy(c->names[c->n], u->username, sizeof c->names[0]);
    c->n++;
    return c->stop_after == 0 || c->n < c->stop_after;
}

static void test_user_reads(void **state)
{
    static const char *const admin[] = {"admin", "user"};
    fixture *f = *state;
    auth_user alice, bob, got;
    collected c = {0};
    size_t total = 0, count = 0;

    alice = register_user(f, "alice", "correct horse", NULL);
    assert_int_equal(auth_user_add(f->a, "bob", "pw", "bob@example.org", "Bob", admin, 2, &bob),
                     AUTH_OK);

    assert_int_equal(auth_user_get(f->a, bob.id, &got), AUTH_OK);
    assert_string_equal(got.username, "bob");
    assert_string_equal(got.email, "bob@example.org");
    assert_string_equal(got.name, "Bob");
    assert_int_equal(got.nroles, 2);
    assert_string_equal(got.roles[0], "admin");
    assert_false(got.disabled);
    assert_true(got.created > 0 && got.updated >= got.created);
    assert_int_equal(auth_user_get(f->a, 999, &got), AUTH_NOT_FOUND);
    assert_int_equal(auth_user_get(f->a, 0, &got), AUTH_INVALID_INPUT);

    assert_int_equal(auth_user_find(f->a, "ALICE", &got), AUTH_OK); /* case-insensitive */
    assert_int_equal(got.id, alice.id);
    assert_int_equal(auth_user_find(f->a, "carol", &got), AUTH_NOT_FOUND);
    assert_int_equal(auth_user_find(f->a, "", &got), AUTH_NOT_FOUND);

    assert_int_equal(auth_user_count(f->a, &count), AUTH_OK);
    assert_int_equal(count, 2);
    assert_int_equal(auth_user_list(f->a, 0, 10, collect, &c, &total), AUTH_OK);
    assert_int_equal(total, 2);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.ids[0], alice.id);
    assert_string_equal(c.names[1], "bob");
    /* pages: after an id, a limit, and a callback that stops early */
    memset(&c, 0, sizeof c);
    assert_int_equal(auth_user_list(f->a, alice.id, 10, collect, &c, NULL), AUTH_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ids[0], bob.id);
    memset(&c, 0, sizeof c);
    c.stop_after = 1;
    assert_int_equal(auth_user_list(f->a, 0, 10, collect, &c, NULL), AUTH_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(auth_user_list(f->a, 0, 10, NULL, NULL, NULL), AUTH_INVALID_INPUT);

    /* a change shows in the next read */
    assert_int_equal(auth_set_disabled(f->a, bob.id, true), AUTH_OK);
    assert_int_equal(auth_user_get(f->a, bob.id, &got), AUTH_OK);
    assert_true(got.disabled);
}

static bool collect_key(void *ctx, const auth_key_info *k)
{
    auth_key_info *keys = ctx;
    size_t i = 0;
    while (keys[i].kid[0] != '\0')
        i++;
    keys[i] = *k;
    return true;
}

static void test_keys_list(void **state)
{
    fixture *f = *state;
    auth_key_info keys[4];
    char kid[AUTH_MAX_KID + 1];

    memset(keys, 0, sizeof keys);
    assert_int_equal(auth_keys_list(f->a, collect_key, keys), AUTH_OK);
    assert_string_equal(keys[0].alg, "EdDSA"); /* generated at the first start */
    assert_int_equal(keys[0].retired, 0);
    assert_int_equal(keys[1].kid[0], '\0');

    assert_int_equal(auth_keys_rotate(f->a, JWTD_ALG_ES256, kid), AUTH_OK);
    memset(keys, 0, sizeof keys);
    assert_int_equal(auth_keys_list(f->a, collect_key, keys), AUTH_OK);
    assert_true(keys[0].retired > 0); /* oldest first */
    assert_string_equal(keys[1].kid, kid);
    assert_string_equal(keys[1].alg, "ES256");
    assert_int_equal(keys[1].retired, 0);
    assert_int_equal(auth_keys_list(f->a, NULL, NULL), AUTH_INVALID_INPUT);
}

/* The default key-alg (RS256, docs/BENCHMARKS.md "Default algorithm"): the first key a
 * service generates, its public JWK, and a token that verifies from outside with RS256 pinned. */
static void test_default_key(void **state)
{
    fixture *f = *state; /* unstarted */
    auth_config dflt;
    auth_key_info keys[2];
    auth_pair pair = {0};
    char *jwks = NULL;

    auth_config_defaults(&dflt);
    f->cfg.key_alg = dflt.key_alg;
    fixture_start(f);
    memset(keys, 0, sizeof keys);
    assert_int_equal(auth_keys_list(f->a, collect_key, keys), AUTH_OK);
    assert_string_equal(keys[0].alg, "RS256");
    assert_int_equal(keys[1].kid[0], '\0');
    assert_int_equal(auth_jwks_copy(f->a, &jwks), AUTH_OK);
    assert_non_null(strstr(jwks, "\"kty\":\"RSA\""));
    assert_null(strstr(jwks, "\"d\""));
    free(jwks);
    register_user(f, "alice", "correct horse", &pair);
    jwtd_token_free(verify_outside_alg(f->a, pair.access_token, "at+jwt", JWTD_ALG_RS256));
    auth_pair_clear(&pair);
}

typedef struct log_lines {
    int n;
    char last[256];
} log_lines;

static void capture(void *ctx, auth_log_level level, const char *what, const char *msg)
{
    log_lines *l = ctx;
    (void)level;
    l->n++;
    snprintf(l->last, sizeof l->last, "%s: %s", what, msg);
}

static void test_open(void **state)
{
    fixture *f = *state; /* unstarted: its store is open, the database empty */
    char why[256], url[256], path[128];
    log_lines lines = {0};
    auth_key_info keys[2];
    auth_pair pair = {0};
    auth_principal p;
    auth_user u;
    size_t count = 1;
    auth *a = NULL;

    f->cfg.log = (auth_log){capture, &lines};

    /* A database that cannot be reached (nothing listens on port 1): the store's complaint
     * (libpq's) reaches the hook, not stderr, and the message names the database without
     * the password. */
    assert_int_equal(auth_open(&f->cfg, "postgres://u:s3cret@127.0.0.1:1/jwtd", AUTH_OPEN_SERVICE,
                               &a, why, sizeof why),
                     AUTH_UNAVAILABLE);
    assert_null(a);
    assert_true(strncmp(why, "cannot open the database '", 26) == 0);
    assert_null(strstr(why, "s3cret"));
    assert_non_null(strstr(why, "'postgres://...'"));
    assert_int_equal(lines.n, 1);
    assert_non_null(strstr(lines.last, "127.0.0.1"));
    assert_null(strstr(lines.last, "s3cret"));

    /* Lookup: reads work, nothing is generated or written, the rest is refused. */
    snprintf(url, sizeof url, "sqlite:%s", f->path);
    assert_int_equal(auth_open(&f->cfg, url, AUTH_OPEN_LOOKUP, &a, why, sizeof why), AUTH_OK);
    memset(keys, 0, sizeof keys);
    assert_int_equal(auth_keys_list(a, collect_key, keys), AUTH_OK);
    assert_int_equal(keys[0].kid[0], '\0'); /* no signing key generated */
    assert_int_equal(auth_user_count(a, &count), AUTH_OK);
    assert_int_equal(count, 0);
    assert_int_equal(auth_user_find(a, "alice", &u), AUTH_NOT_FOUND);
    assert_int_equal(auth_register(a, "alice", "correct horse", NULL, NULL, &u, &pair),
                     AUTH_INTERNAL);
    assert_int_equal(auth_login(a, "alice", "correct horse", &u, &pair), AUTH_INTERNAL);
    assert_int_equal(auth_verify_access(a, "x.y.z", 5, &p), AUTH_INTERNAL);
    assert_int_equal(auth_set_disabled(a, 1, true), AUTH_INTERNAL);
    assert_int_equal(auth_sync(a), AUTH_INTERNAL);
    auth_free(a);
    a = NULL;

    /* Service: the first key is generated; auth_free closes the database it opened. */
    assert_int_equal(auth_open(&f->cfg, f->path, AUTH_OPEN_SERVICE, &a, why, sizeof why), AUTH_OK);
    memset(keys, 0, sizeof keys);
    assert_int_equal(auth_keys_list(a, collect_key, keys), AUTH_OK);
    assert_string_equal(keys[0].alg, "EdDSA");
    assert_int_equal(auth_register(a, "alice", "correct horse", NULL, NULL, &u, &pair), AUTH_OK);
    assert_int_equal(auth_verify_access(a, pair.access_token, strlen(pair.access_token), &p),
                     AUTH_OK);
    auth_pair_clear(&pair);
    auth_free(a);
    assert_int_equal(lines.n, 1); /* nothing more to say */

    /* A bad configuration: the service's reason. */
    f->cfg.access_ttl = 0;
    assert_int_equal(auth_open(&f->cfg, f->path, AUTH_OPEN_SERVICE, &a, why, sizeof why),
                     AUTH_INVALID_INPUT);
    assert_null(a);
    assert_string_equal(why, "cannot start the auth service: access_ttl must be between 1 second "
                             "and 10 years");

    assert_true(auth_db_local_file(url, path, sizeof path));
    assert_string_equal(path, f->path);
    assert_false(auth_db_local_file("postgresql://db/jwtd", path, sizeof path));
}

/* ---- sync: the sync thread and automatic rotation ---- */

static int stored_keys(fixture *f)
{
    int n = 0;

    assert_int_equal(store_key_list(f->s, count_key, &n), STORE_OK);
    return n;
}

/* Automatic rotation: the new key is in the JWKS key_prepublish seconds before it signs, the
 * old one stays until what it signed has expired, and two instances due at the same moment
 * rotate once. */
static void test_auto_rotation_prepublished(void **state)
{
    fixture *f = *state;
    int64_t t0 = (int64_t)time(NULL) + 10;
    char k1[STORE_MAX_KID + 1], k2[STORE_MAX_KID + 1];
    auth_pair p = {0};

    f->cfg.key_rotation = 100;
    f->cfg.key_prepublish = 20;
    frozen_now = t0;
    fixture_start(f);
    register_user(f, "alice", "correct horse", &p);
    snprintf(k1, sizeof k1, "%s", header_kid(p.access_token));
    auth_pair_clear(&p);

    frozen_now = t0 + 79; /* not yet due */
    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_int_equal(stored_keys(f), 1);

    frozen_now = t0 + 80; /* due: published now, signs from t0 + 100 */
    fixture_start_second(f);
    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_int_equal(auth_sync(f->a2), AUTH_OK); /* the second instance finds it done */
    assert_int_equal(stored_keys(f), 2);
    assert_int_equal(stats(f->a).signing_keys, 2);
    assert_int_equal(auth_login(f->a, "alice", "correct horse", NULL, &p), AUTH_OK);
    assert_string_equal(header_kid(p.access_token), k1); /* the old key still signs */
    auth_pair_clear(&p);

    frozen_now = t0 + 100; /* the new key signs; the old one still verifies */
    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_int_equal(auth_login(f->a, "alice", "correct horse", NULL, &p), AUTH_OK);
    snprintf(k2, sizeof k2, "%s", header_kid(p.access_token));
    assert_string_not_equal(k1, k2);
    assert_true(jwks_has_kid(f->a, k1));
    assert_true(jwks_has_kid(f->a, k2));
    /* The other instance has not synced since t0 + 80: it knew the key before it signed. */
    assert_int_equal(verify(f->a2, p.access_token, NULL), AUTH_OK);
    auth_pair_clear(&p);

    /* Both instances due for the next rotation at once: one new key. */
    frozen_now = t0 + 180;
    assert_int_equal(auth_sync(f->a2), AUTH_OK);
    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_int_equal(stored_keys(f), 3);

    /* Once everything k1 signed has expired, k1 leaves the JWKS. */
    frozen_now = t0 + 100 + f->cfg.refresh_ttl + 1;
    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_false(jwks_has_kid(f->a, k1));
    frozen_now = 0;
}

/* `jwtd keys rotate` while an automatic rotation is planned: the manual key signs at once,
 * the planned key never signs (it stays published until its window ends), and the schedule
 * counts from the manual key. */
static void test_manual_rotation_over_planned(void **state)
{
    fixture *f = *state;
    int64_t t0 = (int64_t)time(NULL) + 10;
    char manual[STORE_MAX_KID + 1], used[STORE_MAX_KID + 1];
    auth_pair p = {0};

    f->cfg.key_rotation = 100;
    f->cfg.key_prepublish = 20;
    frozen_now = t0;
    fixture_start(f);
    register_user(f, "alice", "correct horse", NULL);
    frozen_now = t0 + 85; /* due: a key planned for t0 + 100 */
    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_int_equal(stored_keys(f), 2);
    frozen_now = t0 + 90; /* an operator rotates by hand before it starts */
    assert_int_equal(auth_keys_rotate(f->a, JWTD_ALG_UNKNOWN, manual), AUTH_OK);
    assert_int_equal(stored_keys(f), 3);
    frozen_now = t0 + 120; /* past the planned start: the manual key still signs */
    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_int_equal(stored_keys(f), 3); /* not due again: counted from t0 + 90 */
    assert_int_equal(auth_login(f->a, "alice", "correct horse", NULL, &p), AUTH_OK);
    snprintf(used, sizeof used, "%s", header_kid(p.access_token));
    assert_string_equal(used, manual);
    auth_pair_clear(&p);
    frozen_now = t0 + 170; /* t0 + 90 + 100 - 20: due again */
    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_int_equal(stored_keys(f), 4);
    frozen_now = 0;
}

/* Polls cond(f, arg) every 20 ms for up to ms milliseconds; the time it took, or -1. */
static long wait_until(bool (*cond)(fixture *, const char *), fixture *f, const char *arg, long ms)
{
    struct timespec start, now, nap = {0, 20 * 1000 * 1000};

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
        if (cond(f, arg))
            return spent;
        if (spent > ms)
            return -1;
        nanosleep(&nap, NULL);
    }
}

static bool second_refuses(fixture *f, const char *token)
{
    return verify(f->a2, token, NULL) == AUTH_INVALID_TOKEN;
}

static bool second_publishes(fixture *f, const char *kid) { return jwks_has_kid(f->a2, kid); }

/* The sync thread of a second instance on the same database sees a logout-all and a key
 * rotation made through the first within a second, without anyone calling auth_sync. */
static void test_sync_thread_follows_other_instance(void **state)
{
    fixture *f = *state;
    auth_pair p = {0};
    auth_health h;
    char kid[STORE_MAX_KID + 1];
    long took;

    fixture_start_second(f);
    assert_int_equal(auth_sync_start(f->a2), AUTH_OK);
    auth_user u = register_user(f, "alice", "correct horse", &p);
    assert_int_equal(verify(f->a2, p.access_token, NULL), AUTH_OK);

    assert_int_equal(auth_logout_all(f->a, u.id), AUTH_OK);
    took = wait_until(second_refuses, f, p.access_token, 3000);
    assert_true(took >= 0 && took <= 1500);

    assert_int_equal(auth_keys_rotate(f->a, JWTD_ALG_UNKNOWN, kid), AUTH_OK);
    took = wait_until(second_publishes, f, kid, 3000);
    assert_true(took >= 0 && took <= 1500);

    auth_health_get(f->a2, &h);
    assert_true(h.store_up);
    assert_int_equal(h.down_since, 0);
    /* The counters move after the snapshot they count is published: at least the first. */
    assert_true(h.syncs >= 1);
    assert_true(h.watch_wakeups >= 1);
    assert_string_equal(h.backend, "sqlite");
    assert_false(h.shared);
    auth_pair_clear(&p);
}

/* ---- Machine clients ---- */

/* Authenticates name with secret; the client's token on success. */
static auth_err client_token(fixture *f, const char *name, const char *secret, auth_access *t)
{
    auth_client c;
    auth_err rc = auth_client_authenticate(f->a, name, strlen(name), secret, strlen(secret), &c);
    if (rc == AUTH_OK)
        rc = auth_client_issue(f->a, &c, t);
    return rc;
}

/* The cache keeps principals packed (src/auth/verify.c): a hit gives back exactly the principal
 * the miss made, for a user at the longest name and for a client; a principal too large for a
 * slot (eight 32-byte roles beside a 64-byte name) is not cached and still verifies, each time
 * with the same principal. */
static void check_cached_principal(fixture *f, const char *token, bool cached,
                                   const auth_principal *want)
{
    auth_stats before = stats(f->a);
    auth_principal miss, hit;

    assert_int_equal(verify(f->a, token, &miss), AUTH_OK);
    assert_int_equal(verify(f->a, token, &hit), AUTH_OK);
    assert_memory_equal(&miss, &hit, sizeof miss);
    assert_string_equal(hit.username, want->username);
    assert_string_equal(hit.client_id, want->client_id);
    assert_int_equal(hit.client, want->client);
    assert_int_equal(hit.nroles, want->nroles);
    for (size_t i = 0; i < want->nroles; i++)
        assert_string_equal(hit.roles[i], want->roles[i]);
    assert_true(hit.jti[0] != '\0' && hit.exp > hit.iat && hit.sub[0] != '\0');
    auth_stats after = stats(f->a);
    assert_int_equal(after.token_cache_hits - before.token_cache_hits, cached ? 1 : 0);
    assert_int_equal(after.token_cache_misses - before.token_cache_misses, cached ? 1 : 2);
}

static void test_token_cache_principals(void **state)
{
    fixture *f = *state;
    char name[AUTH_MAX_USERNAME + 1], big[AUTH_MAX_ROLES][AUTH_MAX_ROLE + 1];
    const char *two[] = {"user", "admin"}, *eight[AUTH_MAX_ROLES];
    char secret[AUTH_CLIENT_SECRET_CHARS + 1], cname[AUTH_MAX_CLIENT + 1];
    auth_principal want;
    auth_user u;
    auth_client c;
    auth_pair pair = {0};
    auth_access t = {0};

    fixture_start(f);
    memset(name, 'n', AUTH_MAX_USERNAME);
    name[AUTH_MAX_USERNAME] = '\0';
    assert_int_equal(auth_user_add(f->a, name, "pw-long-name", NULL, NULL, two, 2, &u), AUTH_OK);
    assert_int_equal(auth_login(f->a, name, "pw-long-name", &u, &pair), AUTH_OK);
    memset(&want, 0, sizeof want);
    memcpy(want.username, name, sizeof name);
    want.nroles = 2;
    strcpy(want.roles[0], "user");
    strcpy(want.roles[1], "admin");
    check_cached_principal(f, pair.access_token, true, &want);
    auth_pair_clear(&pair);

    for (size_t i = 0; i < AUTH_MAX_ROLES; i++) {
        memset(big[i], 'a' + (int)i, AUTH_MAX_ROLE);
        big[i][AUTH_MAX_ROLE] = '\0';
        eight[i] = big[i];
    }
    name[0] = 'm';
    assert_int_equal(
        auth_user_add(f->a, name, "pw-long-name", NULL, NULL, eight, AUTH_MAX_ROLES, &u), AUTH_OK);
    assert_int_equal(auth_login(f->a, name, "pw-long-name", &u, &pair), AUTH_OK);
    memcpy(want.username, name, sizeof name);
    want.nroles = AUTH_MAX_ROLES;
    for (size_t i = 0; i < AUTH_MAX_ROLES; i++)
        memcpy(want.roles[i], big[i], sizeof big[i]);
    check_cached_principal(f, pair.access_token, false, &want);
    auth_pair_clear(&pair);

    memset(cname, 'c', AUTH_MAX_CLIENT - 10);
    memcpy(cname + AUTH_MAX_CLIENT - 10, ".reports-9", 11);
    assert_int_equal(auth_client_add(f->a, cname, two, 2, NULL, 0, secret, &c), AUTH_OK);
    assert_int_equal(client_token(f, cname, secret, &t), AUTH_OK);
    memset(&want, 0, sizeof want);
    memcpy(want.client_id, cname, sizeof cname);
    want.client = true;
    want.nroles = 2;
    strcpy(want.roles[0], "user");
    strcpy(want.roles[1], "admin");
    check_cached_principal(f, t.access_token, true, &want);
    auth_access_clear(&t);
}

/* Registration rules, the stored hash (never the secret), authentication, the token's claims
 * and principal, rotation and removal revoking tokens. */
static void test_client_lifecycle(void **state)
{
    fixture *f = *state;
    const char *roles[] = {"reader", "reports"};
    char secret[AUTH_CLIENT_SECRET_CHARS + 1], rotated[AUTH_CLIENT_SECRET_CHARS + 1];
    auth_client c;
    auth_access t1 = {0}, t2 = {0};
    auth_principal p;
    store_client row;

    assert_int_equal(auth_client_add(f->a, "svc.reports", roles, 2, NULL, 0, secret, &c), AUTH_OK);
    assert_int_equal(strlen(secret), AUTH_CLIENT_SECRET_CHARS);
    assert_string_equal(c.name, "svc.reports");
    assert_int_equal(c.nroles, 2);
    /* The store keeps a 64-hex-digit keyed hash, not the secret. */
    assert_int_equal(store_client_get(f->s, "svc.reports", &row), STORE_OK);
    assert_int_equal(strlen(row.secret_hash), 64);
    assert_null(strstr(row.secret_hash, secret));
    /* The rules: a taken name, a bad name, a short or long given secret, a bad role. */
    assert_int_equal(auth_client_add(f->a, "svc.reports", NULL, 0, NULL, 0, secret, &c),
                     AUTH_CONFLICT);
    assert_int_equal(auth_client_add(f->a, "svc:x", NULL, 0, NULL, 0, secret, &c),
                     AUTH_INVALID_INPUT);
    assert_int_equal(auth_client_add(f->a, "svc.x", NULL, 0, "bar", 3, NULL, &c),
                     AUTH_INVALID_INPUT);
    assert_int_equal(auth_client_add(f->a, "svc.x", NULL, 0, "0123456789abcde", 15, NULL, &c),
                     AUTH_INVALID_INPUT);
    const char *bad_roles[] = {"Admin"};
    assert_int_equal(auth_client_add(f->a, "svc.x", bad_roles, 1, NULL, 0, secret, &c),
                     AUTH_INVALID_INPUT);
    assert_int_equal(auth_client_add(f->a, "svc.x", NULL, 0, "0123456789abcdef", 16, NULL, &c),
                     AUTH_OK);

    /* Authentication: right, wrong, unknown, malformed. */
    assert_int_equal(client_token(f, "svc.x", "0123456789abcdef", &t1), AUTH_OK);
    auth_access_clear(&t1);
    assert_int_equal(client_token(f, "svc.x", "0123456789abcdeF", &t1), AUTH_BAD_CREDENTIALS);
    assert_int_equal(client_token(f, "nobody", "0123456789abcdef", &t1), AUTH_BAD_CREDENTIALS);
    assert_int_equal(client_token(f, "svc.reports", "", &t1), AUTH_BAD_CREDENTIALS);
    assert_int_equal(auth_client_authenticate(f->a, "svc.x\0y", 7, "0123456789abcdef", 16, &c),
                     AUTH_BAD_CREDENTIALS);
    /* The secret is bound to its client: svc.x's secret does not open svc.reports. */
    assert_int_equal(client_token(f, "svc.reports", "0123456789abcdef", &t1), AUTH_BAD_CREDENTIALS);

    /* The token: a client principal, never a user. */
    assert_int_equal(client_token(f, "svc.reports", secret, &t1), AUTH_OK);
    assert_int_equal(t1.expires_in, 900);
    assert_int_equal(verify(f->a, t1.access_token, &p), AUTH_OK);
    assert_true(p.client);
    assert_string_equal(p.client_id, "svc.reports");
    assert_string_equal(p.username, "");
    assert_true(p.user_id < 0);
    assert_int_equal(p.nroles, 2);
    assert_string_equal(p.roles[1], "reports");

    /* Rotation: the old secret and the old token die; a new token works in the same second. */
    assert_int_equal(auth_client_rotate_secret(f->a, "svc.reports", rotated), AUTH_OK);
    assert_string_not_equal(rotated, secret);
    assert_int_equal(verify(f->a, t1.access_token, NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(client_token(f, "svc.reports", secret, &t2), AUTH_BAD_CREDENTIALS);
    assert_int_equal(client_token(f, "svc.reports", rotated, &t2), AUTH_OK);
    assert_int_equal(verify(f->a, t2.access_token, NULL), AUTH_OK);
    /* The other client is untouched. */
    auth_access_clear(&t1);
    assert_int_equal(client_token(f, "svc.x", "0123456789abcdef", &t1), AUTH_OK);

    /* Removal: its tokens die, its secret fails, another remove is NotFound. */
    assert_int_equal(auth_client_remove(f->a, "svc.reports"), AUTH_OK);
    assert_int_equal(verify(f->a, t2.access_token, NULL), AUTH_INVALID_TOKEN);
    assert_int_equal(verify(f->a, t1.access_token, NULL), AUTH_OK);
    assert_int_equal(client_token(f, "svc.reports", rotated, &t2), AUTH_BAD_CREDENTIALS);
    assert_int_equal(auth_client_remove(f->a, "svc.reports"), AUTH_NOT_FOUND);
    assert_int_equal(auth_client_rotate_secret(f->a, "svc.reports", rotated), AUTH_NOT_FOUND);
    auth_access_clear(&t1);
    auth_access_clear(&t2);
}

/* A removal by another process (jwtd client remove) reaches a serving instance at its sync. */
static void test_client_removed_elsewhere(void **state)
{
    fixture *f = *state;
    char secret[AUTH_CLIENT_SECRET_CHARS + 1];
    auth_client c;
    auth_access t = {0};

    fixture_start_second(f);
    assert_int_equal(auth_client_add(f->a2, "svc.a", NULL, 0, NULL, 0, secret, &c), AUTH_OK);
    assert_int_equal(client_token(f, "svc.a", secret, &t), AUTH_OK);
    assert_int_equal(verify(f->a, t.access_token, NULL), AUTH_OK);
    assert_int_equal(auth_client_remove(f->a2, "svc.a"), AUTH_OK);
    assert_int_equal(auth_sync(f->a), AUTH_OK);
    assert_int_equal(verify(f->a, t.access_token, NULL), AUTH_INVALID_TOKEN);
    auth_access_clear(&t);
}

/* auth_introspect: active tokens of each kind with what they say; everything else inactive. */
static void test_introspect(void **state)
{
    fixture *f = *state;
    char secret[AUTH_CLIENT_SECRET_CHARS + 1];
    auth_client c;
    auth_access t = {0};
    auth_pair pair = {0}, next = {0};
    auth_introspection in;

    auth_user u = register_user(f, "alice", "correct horse", &pair);
    assert_int_equal(auth_client_add(f->a, "rs", NULL, 0, NULL, 0, secret, &c), AUTH_OK);
    assert_int_equal(client_token(f, "rs", secret, &t), AUTH_OK);

    assert_int_equal(
        auth_introspect(f->a, pair.access_token, strlen(pair.access_token), false, &in), AUTH_OK);
    assert_true(in.active);
    assert_false(in.refresh);
    assert_false(in.client);
    assert_string_equal(in.username, "alice");
    assert_int_equal(
        auth_introspect(f->a, pair.refresh_token, strlen(pair.refresh_token), false, &in), AUTH_OK);
    assert_true(in.active);
    assert_true(in.refresh);
    assert_non_null(t.access_token);
    assert_int_equal(auth_introspect(f->a, t.access_token,
                                     t.access_token != NULL ? strlen(t.access_token) : 0, true,
                                     &in),
                     AUTH_OK);
    assert_true(in.active);
    assert_true(in.client);
    assert_string_equal(in.sub, "client:rs");
    assert_int_equal(auth_introspect(f->a, "garbage", 7, false, &in), AUTH_OK);
    assert_false(in.active);

    /* Spent by a rotation: inactive; the new one active. */
    assert_int_equal(auth_refresh(f->a, pair.refresh_token, strlen(pair.refresh_token), &next),
                     AUTH_OK);
    assert_int_equal(
        auth_introspect(f->a, pair.refresh_token, strlen(pair.refresh_token), true, &in), AUTH_OK);
    assert_false(in.active);
    assert_int_equal(
        auth_introspect(f->a, next.refresh_token, strlen(next.refresh_token), true, &in), AUTH_OK);
    assert_true(in.active);
    /* Disabled: every token of hers inactive. */
    assert_int_equal(auth_set_disabled(f->a, u.id, true), AUTH_OK);
    assert_int_equal(
        auth_introspect(f->a, next.access_token, strlen(next.access_token), false, &in), AUTH_OK);
    assert_false(in.active);
    assert_int_equal(
        auth_introspect(f->a, next.refresh_token, strlen(next.refresh_token), true, &in), AUTH_OK);
    assert_false(in.active);
    auth_pair_clear(&pair);
    auth_pair_clear(&next);
    auth_access_clear(&t);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_CFG(fn) cmocka_unit_test_setup_teardown(fn, setup_unstarted, teardown)

int main(int argc, char **argv)
{
    const struct CMUnitTest users[] = {
        cmocka_unit_test(test_config_and_messages),
        T(test_bad_config),
        T(test_register_and_login),
        T(test_register_input),
        T(test_user_add),
        T(test_bad_credentials),
        T(test_rehash_on_new_parameters),
        T(test_bcrypt_import),
        T(test_user_reads),
        T_CFG(test_open),
    };
    const struct CMUnitTest tokens[] = {
        T(test_access_token_claims),
        T(test_token_types_not_interchangeable),
        T(test_rotation_grace_and_reuse),
        T(test_grace_on_another_instance),
        T(test_grace_zero_is_reuse),
        T(test_refresh_uses_current_roles),
        T_CFG(test_access_expiry_even_when_cached),
        T_CFG(test_refresh_expiry),
    };
    const struct CMUnitTest revocation[] = {
        T(test_logout_revokes_family),
        T_CFG(test_logout_with_expired_token),
        T(test_logout_all),
        T(test_logout_all_twice_in_one_second),
        T(test_disable_user),
        T(test_revocations_survive_restart),
        T(test_revocation_seen_by_other_instance),
        T(test_verify_cache),
        T_CFG(test_token_cache_counts),
        T_CFG(test_token_cache_principals),
        T_CFG(test_token_cache_off),
        T(test_verify_from_threads),
    };
    const struct CMUnitTest keys[] = {
        T(test_key_rotation),
        T(test_verify_during_rotation),
        T(test_sync_picks_up_other_instance_key),
        T(test_keys_persist_across_restart),
        T_CFG(test_hs256_secret),
        T_CFG(test_hs512_secret),
        T_CFG(test_client_token_principal),
        T(test_token_faults),
        T(test_input_faults),
        T(test_foreign_key_refused),
        T(test_keys_list),
        T_CFG(test_default_key),
    };
    const struct CMUnitTest sync[] = {
        T_CFG(test_auto_rotation_prepublished),
        T_CFG(test_manual_rotation_over_planned),
        T(test_sync_thread_follows_other_instance),
    };
    const struct CMUnitTest clients[] = {
        T(test_client_lifecycle),
        T(test_client_removed_elsewhere),
        T(test_introspect),
    };
    const char *group = argc > 1 ? argv[1] : NULL;
    int failed = 0;
    bool any = false;

#define GROUP(name)                                                                                \
    if (group == NULL || strcmp(group, #name) == 0) {                                              \
        any = true;                                                                                \
        failed += cmocka_run_group_tests_name("auth." #name, name, NULL, NULL);                    \
    }
    GROUP(users)
    GROUP(tokens)
    GROUP(revocation)
    GROUP(keys)
    GROUP(sync)
    GROUP(clients)
#undef GROUP
    if (!any) {
        fprintf(stderr, "unknown group %s\n", group);
        return 2;
    }
    return failed;
}
