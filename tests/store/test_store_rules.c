/* The backend-independent rules of src/store/store.c, against a fake backend that accepts
 * everything and counts its calls: every input check (lengths, role names, times, missing
 * arguments) must answer before the backend is called, so that a second backend cannot
 * forget one. A case fails when its check is removed from store.c (the fake would then be
 * called and answer STORE_OK). Also store_local_file and the log hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/store_backend.h"

/* ---- The fake backend: every call counted, every answer STORE_OK ---- */

typedef struct fake {
    store base; /* first: a store * is a fake * */
    int calls;
} fake;

static fake *fake_of(store *s) { return (fake *)s; }

static void f_close(store *s) { (void)s; }
static store_err f_user(store *s, store_user *u)
{
    (void)u;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_user_id(store *s, int64_t id, store_user *out)
{
    (void)id, (void)out;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_user_text(store *s, const char *key, store_user *out)
{
    (void)key, (void)out;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_user_list(store *s, int64_t after, size_t limit, store_user_cb cb, void *ctx,
                             size_t *total)
{
    (void)after, (void)limit, (void)cb, (void)ctx, (void)total;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_id_text(store *s, int64_t id, const char *text)
{
    (void)id, (void)text;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_roles(store *s, int64_t id, const char roles[][STORE_MAX_ROLE + 1], size_t n)
{
    (void)id, (void)roles, (void)n;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_id_bool(store *s, int64_t id, bool b)
{
    (void)id, (void)b;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_count(store *s, size_t *n)
{
    (void)n;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_refresh(store *s, const store_refresh *r)
{
    (void)r;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_refresh_get(store *s, const char *jti, store_refresh *out)
{
    (void)jti, (void)out;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_rotate(store *s, const char *old, int64_t now, const store_refresh *next,
                          store_refresh *cur)
{
    (void)old, (void)now, (void)next, (void)cur;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_text(store *s, const char *text)
{
    (void)text;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_id(store *s, int64_t id)
{
    (void)id;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_rev(store *s, const store_revocation *r)
{
    (void)r;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_rev_list(store *s, int64_t now, store_revocation_cb cb, void *ctx)
{
    (void)now, (void)cb, (void)ctx;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_key(store *s, const store_signing_key *k)
{
    (void)k;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_key_list(store *s, store_key_cb cb, void *ctx)
{
    (void)cb, (void)ctx;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_key_retire(store *s, const char *kid, int64_t when)
{
    (void)kid, (void)when;
    fake_of(s)->calls++;
    return STORE_OK;
}
static store_err f_audit(store *s, const char *kind, int64_t user_id, const char *detail)
{
    (void)kind, (void)user_id, (void)detail;
    fake_of(s)->calls++;
    return STORE_OK;
}

static const store_ops fake_ops = {
    .name = "fake",
    .close = f_close,
    .user_create = f_user,
    .user_get_by_id = f_user_id,
    .user_get_by_username = f_user_text,
    .user_get_by_email = f_user_text,
    .user_list = f_user_list,
    .user_set_password_hash = f_id_text,
    .user_set_roles = f_roles,
    .user_set_disabled = f_id_bool,
    .user_count = f_count,
    .refresh_insert = f_refresh,
    .refresh_get = f_refresh_get,
    .refresh_rotate = f_rotate,
    .family_revoke = f_text,
    .user_families_revoke = f_id,
    .revocation_add = f_rev,
    .revocation_list = f_rev_list,
    .key_insert = f_key,
    .key_list = f_key_list,
    .key_retire = f_key_retire,
    .audit_add = f_audit,
};

static int logged; /* lines the log hook received */

static void count_log(void *ctx, store_log_level level, const char *op, const char *msg)
{
    (void)ctx, (void)level;
    assert_non_null(op);
    assert_non_null(msg);
    logged++;
}

static fake F;

static void fake_reset(void)
{
    memset(&F, 0, sizeof F);
    F.base.ops = &fake_ops;
    F.base.log = (store_log){count_log, NULL};
    logged = 0;
}

/* Strings one byte longer than each limit. */
static char long_username[STORE_MAX_USERNAME + 2], long_email[STORE_MAX_EMAIL + 2],
    long_hash[STORE_MAX_HASH + 2], long_jti[STORE_MAX_JTI + 2], long_kid[STORE_MAX_KID + 2],
    long_kind[STORE_MAX_AUDIT_KIND + 2], long_detail[STORE_MAX_AUDIT_DETAIL + 2];

static void fill(char *buf, size_t len)
{
    memset(buf, 'a', len - 1);
    buf[len - 1] = '\0';
}

static bool keep(void *ctx, const void *row)
{
    (void)ctx, (void)row;
    return true;
}

static store_user good_user(void)
{
    store_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "alice");
    snprintf(u.roles[0], sizeof u.roles[0], "user");
    u.nroles = 1;
    return u;
}

static store_refresh good_refresh(void)
{
    store_refresh r;
    memset(&r, 0, sizeof r);
    snprintf(r.jti, sizeof r.jti, "j1");
    snprintf(r.family, sizeof r.family, "f1");
    r.user_id = 1;
    return r;
}

static store_signing_key *good_key(void)
{
    static store_signing_key k;
    memset(&k, 0, sizeof k);
    snprintf(k.kid, sizeof k.kid, "k1");
    snprintf(k.alg, sizeof k.alg, "EdDSA");
    snprintf(k.private_key, sizeof k.private_key, "-----BEGIN PRIVATE KEY-----");
    return &k;
}

/* The call refused with want before the backend ran; a refusal of a bad argument
 * (STORE_ERROR) is logged, a key that no row can have (STORE_NOT_FOUND) is not. */
#define REFUSED(call, want)                                                                        \
    do {                                                                                           \
        fake_reset();                                                                              \
        assert_int_equal((call), (want));                                                          \
        assert_int_equal(F.calls, 0);                                                              \
        assert_int_equal(logged, (want) == STORE_ERROR ? 1 : 0);                                   \
    } while (0)

/* The call reached the backend. */
#define PASSED(call)                                                                               \
    do {                                                                                           \
        fake_reset();                                                                              \
        assert_int_equal((call), STORE_OK);                                                        \
        assert_int_equal(F.calls, 1);                                                              \
        assert_int_equal(logged, 0);                                                               \
    } while (0)

static void test_user_rules(void **state)
{
    (void)state;
    store *s = &F.base;
    store_user u = good_user(), out;
    PASSED(store_user_create(s, &u));

    u = good_user();
    u.username[0] = '\0';
    REFUSED(store_user_create(s, &u), STORE_ERROR);
    u = good_user();
    memset(u.email, 'e', sizeof u.email); /* no NUL inside the limit */
    REFUSED(store_user_create(s, &u), STORE_ERROR);
    u = good_user();
    memset(u.name, 'n', sizeof u.name);
    REFUSED(store_user_create(s, &u), STORE_ERROR);
    u = good_user();
    memset(u.password_hash, 'h', sizeof u.password_hash);
    REFUSED(store_user_create(s, &u), STORE_ERROR);
    u = good_user();
    snprintf(u.roles[0], sizeof u.roles[0], "Admin"); /* upper case */
    REFUSED(store_user_create(s, &u), STORE_ERROR);
    u = good_user();
    snprintf(u.roles[0], sizeof u.roles[0], "a,b"); /* the separator */
    REFUSED(store_user_create(s, &u), STORE_ERROR);
    u = good_user();
    u.roles[0][0] = '\0';
    REFUSED(store_user_create(s, &u), STORE_ERROR);
    u = good_user();
    u.nroles = STORE_MAX_ROLES + 1;
    REFUSED(store_user_create(s, &u), STORE_ERROR);
    REFUSED(store_user_create(s, NULL), STORE_ERROR);

    PASSED(store_user_get_by_username(s, "alice", &out));
    REFUSED(store_user_get_by_username(s, "", &out), STORE_NOT_FOUND);
    REFUSED(store_user_get_by_username(s, long_username, &out), STORE_NOT_FOUND);
    REFUSED(store_user_get_by_username(s, NULL, &out), STORE_ERROR);
    REFUSED(store_user_get_by_username(s, "alice", NULL), STORE_ERROR);
    PASSED(store_user_get_by_email(s, "a@example.com", &out));
    REFUSED(store_user_get_by_email(s, "", &out), STORE_NOT_FOUND);
    REFUSED(store_user_get_by_email(s, long_email, &out), STORE_NOT_FOUND);
    PASSED(store_user_get_by_id(s, 1, &out));
    REFUSED(store_user_get_by_id(s, 1, NULL), STORE_ERROR);

    PASSED(store_user_list(s, 0, 10, (store_user_cb)keep, NULL, NULL));
    REFUSED(store_user_list(s, 0, 10, NULL, NULL, NULL), STORE_ERROR);
    size_t n;
    PASSED(store_user_count(s, &n));
    REFUSED(store_user_count(s, NULL), STORE_ERROR);

    PASSED(store_user_set_password_hash(s, 1, "$argon2id$v=19$m=19456,t=2,p=1$x$y"));
    PASSED(store_user_set_password_hash(s, 1, ""));
    REFUSED(store_user_set_password_hash(s, 1, long_hash), STORE_ERROR);
    REFUSED(store_user_set_password_hash(s, 1, NULL), STORE_ERROR);

    char roles[2][STORE_MAX_ROLE + 1] = {"admin", "user"};
    PASSED(store_user_set_roles(s, 1, (const char(*)[STORE_MAX_ROLE + 1]) roles, 2));
    PASSED(store_user_set_roles(s, 1, NULL, 0));
    snprintf(roles[1], sizeof roles[1], "us er");
    REFUSED(store_user_set_roles(s, 1, (const char(*)[STORE_MAX_ROLE + 1]) roles, 2), STORE_ERROR);
    REFUSED(store_user_set_roles(s, 1, NULL, 1), STORE_ERROR);
    PASSED(store_user_set_disabled(s, 1, true));
}

static void test_refresh_rules(void **state)
{
    (void)state;
    store *s = &F.base;
    store_refresh r = good_refresh(), out;
    PASSED(store_refresh_insert(s, &r));
    r.jti[0] = '\0';
    REFUSED(store_refresh_insert(s, &r), STORE_ERROR);
    r = good_refresh();
    memset(r.family, 'f', sizeof r.family);
    REFUSED(store_refresh_insert(s, &r), STORE_ERROR);
    r = good_refresh();
    memset(r.replaced_by, 'r', sizeof r.replaced_by);
    REFUSED(store_refresh_insert(s, &r), STORE_ERROR);
    REFUSED(store_refresh_insert(s, NULL), STORE_ERROR);

    PASSED(store_refresh_get(s, "j1", &out));
    REFUSED(store_refresh_get(s, long_jti, &out), STORE_NOT_FOUND);
    REFUSED(store_refresh_get(s, "", &out), STORE_NOT_FOUND);
    REFUSED(store_refresh_get(s, NULL, &out), STORE_ERROR);

    r = good_refresh();
    PASSED(store_refresh_rotate(s, "j0", 100, &r, &out));
    REFUSED(store_refresh_rotate(s, "j0", 0, &r, &out), STORE_ERROR); /* 0 means unspent */
    REFUSED(store_refresh_rotate(s, NULL, 100, &r, &out), STORE_ERROR);
    REFUSED(store_refresh_rotate(s, long_jti, 100, &r, &out), STORE_NOT_FOUND);
    r.family[0] = '\0';
    REFUSED(store_refresh_rotate(s, "j0", 100, &r, &out), STORE_ERROR);

    PASSED(store_family_revoke(s, "f1"));
    REFUSED(store_family_revoke(s, long_jti), STORE_NOT_FOUND);
    REFUSED(store_family_revoke(s, NULL), STORE_ERROR);
    PASSED(store_user_families_revoke(s, 1));
}

static void test_revocation_key_audit_rules(void **state)
{
    (void)state;
    store *s = &F.base;
    store_revocation rev = {.jti = "j1", .expires = 10};
    PASSED(store_revocation_add(s, &rev));
    rev = (store_revocation){.user_id = 7, .before = 5, .expires = 10};
    PASSED(store_revocation_add(s, &rev));
    rev = (store_revocation){.expires = 10}; /* neither a jti nor a user */
    REFUSED(store_revocation_add(s, &rev), STORE_ERROR);
    memset(rev.jti, 'j', sizeof rev.jti);
    REFUSED(store_revocation_add(s, &rev), STORE_ERROR);
    PASSED(store_revocation_list(s, 0, (store_revocation_cb)keep, NULL));
    REFUSED(store_revocation_list(s, 0, NULL, NULL), STORE_ERROR);

    store_signing_key *k = good_key();
    PASSED(store_key_insert(s, k));
    k = good_key();
    k->kid[0] = '\0';
    REFUSED(store_key_insert(s, k), STORE_ERROR);
    k = good_key();
    memset(k->alg, 'A', sizeof k->alg);
    REFUSED(store_key_insert(s, k), STORE_ERROR);
    k = good_key();
    k->private_key[0] = '\0';
    REFUSED(store_key_insert(s, k), STORE_ERROR);
    k = good_key();
    memset(k->private_key, 'p', sizeof k->private_key);
    REFUSED(store_key_insert(s, k), STORE_ERROR);
    PASSED(store_key_list(s, (store_key_cb)keep, NULL));
    REFUSED(store_key_list(s, NULL, NULL), STORE_ERROR);
    PASSED(store_key_retire(s, "k1", 100));
    REFUSED(store_key_retire(s, "k1", 0), STORE_ERROR); /* 0 means not retired */
    REFUSED(store_key_retire(s, long_kid, 100), STORE_NOT_FOUND);

    PASSED(store_audit_add(s, "login.failed", 0, NULL));
    PASSED(store_audit_add(s, "login.failed", 0, "{}"));
    REFUSED(store_audit_add(s, "", 0, NULL), STORE_ERROR);
    REFUSED(store_audit_add(s, long_kind, 0, NULL), STORE_ERROR);
    REFUSED(store_audit_add(s, "login.failed", 0, long_detail), STORE_ERROR);
}

static void test_local_file(void **state)
{
    (void)state;
    char path[64];
    assert_true(store_local_file("jwtd.db", path, sizeof path));
    assert_string_equal(path, "jwtd.db");
    assert_true(store_local_file("sqlite:/var/lib/jwtd/jwtd.db", path, sizeof path));
    assert_string_equal(path, "/var/lib/jwtd/jwtd.db");
    assert_false(store_local_file("postgres://u:p@db/jwtd", path, sizeof path));
    assert_false(store_local_file("postgresql://db/jwtd", path, sizeof path));
    assert_false(store_local_file("mysql://db/jwtd", path, sizeof path));
    assert_false(store_local_file("sqlite:file:/x.db?mode=ro", path, sizeof path));
    assert_false(store_local_file("sqlite::memory:", path, sizeof path));
    assert_false(store_local_file("sqlite:", path, sizeof path));
    assert_false(store_local_file("", path, sizeof path));
    assert_false(store_local_file(NULL, path, sizeof path));
    assert_false(
        store_local_file("/a/path/longer/than/the/buffer/of/sixty/four/bytes/jwtd.db", path, 16));
}

/* What a message may show of a location: a SQLite path as given, a URL's scheme only. */
static void test_location_safe(void **state)
{
    (void)state;
    char out[64];
    store_location_safe("sqlite:/var/lib/jwtd/jwtd.db", out, sizeof out);
    assert_string_equal(out, "sqlite:/var/lib/jwtd/jwtd.db");
    store_location_safe("jwtd.db", out, sizeof out);
    assert_string_equal(out, "jwtd.db");
    store_location_safe("postgres://u:s3cret@db/jwtd", out, sizeof out);
    assert_string_equal(out, "postgres://...");
    store_location_safe("postgresql://db/jwtd?password=s3cret", out, sizeof out);
    assert_string_equal(out, "postgresql://...");
    store_location_safe(NULL, out, sizeof out);
    assert_string_equal(out, "(none)");
}

/* store_open reports through the hook it is given, and only there. */
static void test_open_logs_through_hook(void **state)
{
    (void)state;
    store *s = (store *)&F;
    store_log hook = {count_log, NULL};
    logged = 0;
    /* Nothing listens on port 1: libpq's one complaint goes to the hook. */
    assert_int_equal(store_open("postgres://u:secret@127.0.0.1:1/jwtd", &hook, &s),
                     STORE_UNAVAILABLE);
    assert_null(s);
    assert_int_equal(logged, 1);
    assert_int_equal(store_open("", &hook, &s), STORE_ERROR);
    assert_int_equal(logged, 2);
    assert_int_equal(store_open("", NULL, &s), STORE_ERROR); /* no hook: nothing, no crash */
    assert_int_equal(logged, 2);
}

int main(void)
{
    fill(long_username, sizeof long_username);
    fill(long_email, sizeof long_email);
    fill(long_hash, sizeof long_hash);
    fill(long_jti, sizeof long_jti);
    fill(long_kid, sizeof long_kid);
    fill(long_kind, sizeof long_kind);
    fill(long_detail, sizeof long_detail);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_rules),
        cmocka_unit_test(test_refresh_rules),
        cmocka_unit_test(test_revocation_key_audit_rules),
        cmocka_unit_test(test_local_file),
        cmocka_unit_test(test_location_safe),
        cmocka_unit_test(test_open_logs_through_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
