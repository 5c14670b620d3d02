/* Tests of the store (src/store) against both backends: SQLite on real database files in a
 * fresh temporary directory per test, and PostgreSQL on a fresh database per test of the
 * throwaway server that the CTest fixture `postgres` starts (tests/support/pgtest.sh). Every
 * operation of store.h, its conflicts and limits, rotation under 8 racing threads, the calls
 * several instances share (key rotation, settings, lockouts, hits, prune, ping, watch);
 * SQLite only: housekeeping on insert, file mode, read-only and busy files, a writer killed
 * with SIGKILL; PostgreSQL only: the password kept out of the log, concurrent first opens, a
 * newer schema refused, lost connections and a stopped server.
 * Run `test_store [sqlite|postgres] [GROUP]` (default: sqlite, every group). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pgtest.h"
#include "store/store.h"
#include "store/store_postgres.h"
#include "store/store_sqlite.h"

/* ---- Fixture: a temporary directory, a database path in it (SQLite) or a fresh database
 * (PostgreSQL), the open store ---- */

static bool g_pg; /* the backend under test: PostgreSQL, else SQLite */

typedef struct fixture {
    char dir[PATH_MAX];
    char path[PATH_MAX + 16];
    char url[PATH_MAX + 64]; /* what store_open takes: the path, or the database's URL */
    char dbname[64];         /* PostgreSQL */
    store *s;
} fixture;

/* A case that tests what only SQLite has (files, its locks, its housekeeping). */
#define SQLITE_ONLY()                                                                              \
    do {                                                                                           \
        if (g_pg)                                                                                  \
            skip();                                                                                \
    } while (0)
#define PG_ONLY()                                                                                  \
    do {                                                                                           \
        if (!g_pg)                                                                                 \
            skip();                                                                                \
    } while (0)

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *base = getenv("TMPDIR");

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/store-XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/jwtd.db", f->dir);
    snprintf(f->url, sizeof f->url, "%s", f->path);
    if (g_pg && !pgtest_db_create(NULL, f->url, sizeof f->url, f->dbname)) {
        rmdir(f->dir);
        free(f);
        return -1;
    }
    if (store_open(f->url, NULL, &f->s) != STORE_OK) {
        if (g_pg)
            pgtest_db_drop(NULL, f->dbname);
        rmdir(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    DIR *d;
    struct dirent *e;
    char file[PATH_MAX + 256];

    store_close(f->s);
    if (g_pg) {
        pgtest_db_drop(NULL, f->dbname);
        /* A server of the case's own that a failed assertion left running. */
        snprintf(file, sizeof file, "%s/server/datadir", f->dir);
        if (access(file, F_OK) == 0) {
            snprintf(file, sizeof file, "%s/server", f->dir);
            pgtest_script("stop", file);
        }
    }
    d = opendir(f->dir);
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(file, sizeof file, "%s/%s", f->dir, e->d_name);
            unlink(file);
        }
    }
    if (d != NULL)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Closes and reopens the fixture's store. */
static void reopen(fixture *f)
{
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(store_open(f->url, NULL, &f->s), STORE_OK);
    assert_non_null(f->s);
}

/* A second store on the fixture's database, as another process (instance) would open it. */
static store *open_other(const fixture *f)
{
    store *other = NULL;
    assert_int_equal(store_open(f->url, NULL, &other), STORE_OK);
    return other;
}

/* A query's single integer answer, read with a connection of the test's own. */
static int64_t sqlite_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void sqlite_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* The same on the fixture's database, whichever the backend (SQL both understand). */
static int64_t sql_int(const fixture *f, const char *sql)
{
    int64_t v = -1;
    if (!g_pg)
        return sqlite_int(f->path, sql);
    assert_true(pgtest_sql(f->url, sql, &v));
    return v;
}

static void sql_exec(const fixture *f, const char *sql)
{
    if (g_pg)
        assert_true(pgtest_sql(f->url, sql, NULL));
    else
        sqlite_exec(f->path, sql);
}

/* Copies a string into a fixed-size field; a test string that does not fit is a bug. */
#define COPY(field, text)                                                                          \
    assert_true((size_t)snprintf((field), sizeof(field), "%s", (text)) < sizeof(field))

static store_user user_make(const char *username, const char *email)
{
    store_user u;

    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "%s", username);
    snprintf(u.email, sizeof u.email, "%s", email);
    snprintf(u.name, sizeof u.name, "Name of %s", username);
    snprintf(u.password_hash, sizeof u.password_hash, "$argon2id$v=19$m=19456,t=2,p=1$%s",
             username);
    COPY(u.roles[0], "user");
    u.nroles = 1;
    return u;
}

static int64_t user_add(store *s, const char *username, const char *email)
{
    store_user u = user_make(username, email);

    assert_int_equal(store_user_create(s, &u), STORE_OK);
    return u.id;
}

static store_refresh refresh_make(const char *jti, const char *family, int64_t user_id,
                                  int64_t issued)
{
    store_refresh r;

    memset(&r, 0, sizeof r);
    snprintf(r.jti, sizeof r.jti, "%s", jti);
    snprintf(r.family, sizeof r.family, "%s", family);
    r.user_id = user_id;
    r.issued = issued;
    r.expires = issued + 604800;
    return r;
}

static void user_assert_equal(const store_user *a, const store_user *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->username, b->username);
    assert_string_equal(a->email, b->email);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->password_hash, b->password_hash);
    assert_int_equal(a->nroles, b->nroles);
    for (size_t i = 0; i < a->nroles; i++)
        assert_string_equal(a->roles[i], b->roles[i]);
    assert_int_equal(a->disabled, b->disabled);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->updated, b->updated);
}

/* ---- Users ---- */

static void test_user_create_and_get(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    store_user u = user_make("alice", "Alice@Example.com"), got;
    int64_t before = (int64_t)time(NULL);

    COPY(u.roles[1], "admin");
    u.nroles = 2;
    assert_int_equal(store_user_create(s, &u), STORE_OK);
    assert_true(u.id > 0);
    assert_true(u.created >= before && u.created <= (int64_t)time(NULL));
    assert_int_equal(u.updated, u.created);

    assert_int_equal(store_user_get_by_id(s, u.id, &got), STORE_OK);
    user_assert_equal(&got, &u);
    /* Usernames and emails match without regard to ASCII case. */
    assert_int_equal(store_user_get_by_username(s, "ALICE", &got), STORE_OK);
    user_assert_equal(&got, &u);
    assert_int_equal(store_user_get_by_email(s, "alice@example.COM", &got), STORE_OK);
    user_assert_equal(&got, &u);
    assert_string_equal(store_backend_name(s), g_pg ? "postgres" : "sqlite");
    assert_int_equal(store_shared(s), g_pg);
}

static void test_user_not_found(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    store_user got;
    char long_name[STORE_MAX_USERNAME + 2];

    user_add(s, "bob", "");
    memset(long_name, 'b', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(store_user_get_by_id(s, 999, &got), STORE_NOT_FOUND);
    assert_int_equal(store_user_get_by_username(s, "nobody", &got), STORE_NOT_FOUND);
    assert_int_equal(store_user_get_by_username(s, long_name, &got), STORE_NOT_FOUND);
    assert_int_equal(store_user_get_by_username(s, "", &got), STORE_NOT_FOUND);
    /* bob has no email: "" must not find him. */
    assert_int_equal(store_user_get_by_email(s, "", &got), STORE_NOT_FOUND);
    assert_int_equal(store_user_get_by_email(s, "x@example.com", &got), STORE_NOT_FOUND);
    assert_int_equal(store_user_get_by_username(s, NULL, &got), STORE_ERROR);
}

static void test_user_conflicts(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    store_user u;
    size_t count = 0;

    user_add(s, "alice", "alice@example.com");
    u = user_make("Alice", "other@example.com");
    assert_int_equal(store_user_create(s, &u), STORE_CONFLICT);
    u = user_make("bob", "ALICE@example.com");
    assert_int_equal(store_user_create(s, &u), STORE_CONFLICT);
    /* Users without an email do not collide on "". */
    user_add(s, "carol", "");
    user_add(s, "dave", "");
    assert_int_equal(store_user_count(s, &count), STORE_OK);
    assert_int_equal(count, 3);
}

static void test_user_bad_input(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    store_user u;
    size_t count = 99;

    u = user_make("x", "");
    memset(u.username, 'a', sizeof u.username); /* no room for the NUL: too long */
    assert_int_equal(store_user_create(s, &u), STORE_ERROR);
    u = user_make("", "");
    assert_int_equal(store_user_create(s, &u), STORE_ERROR);
    u = user_make("x", "");
    memset(u.email, 'e', sizeof u.email);
    assert_int_equal(store_user_create(s, &u), STORE_ERROR);
    u = user_make("x", "");
    memset(u.password_hash, 'h', sizeof u.password_hash);
    assert_int_equal(store_user_create(s, &u), STORE_ERROR);

    static const char *const bad_roles[] = {"Admin", "a,b", "", "sp ace", "r\xc3\xa9le"};
    for (size_t i = 0; i < sizeof bad_roles / sizeof bad_roles[0]; i++) {
        u = user_make("x", "");
        COPY(u.roles[0], bad_roles[i]);
        assert_int_equal(store_user_create(s, &u), STORE_ERROR);
    }
    u = user_make("x", "");
    memset(u.roles[0], 'r', sizeof u.roles[0]);
    assert_int_equal(store_user_create(s, &u), STORE_ERROR);
    u = user_make("x", "");
    u.nroles = STORE_MAX_ROLES + 1;
    assert_int_equal(store_user_create(s, &u), STORE_ERROR);

    assert_int_equal(store_user_count(s, &count), STORE_OK);
    assert_int_equal(count, 0);
}

struct id_list {
    int64_t ids[64];
    size_t n;
    size_t stop_after; /* 0: never stop */
};

static bool collect_user(void *ctx, const store_user *u)
{
    struct id_list *l = ctx;

    assert_true(l->n < 64);
    l->ids[l->n++] = u->id;
    return l->stop_after == 0 || l->n < l->stop_after;
}

static void test_user_list_paging(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    int64_t ids[25];
    char name[32];
    size_t total = 0;
    struct id_list page;
    int64_t after = 0;

    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof name, "user%02d", i);
        ids[i] = user_add(s, name, "");
    }
    for (int p = 0; p < 3; p++) {
        memset(&page, 0, sizeof page);
        total = 0;
        assert_int_equal(store_user_list(s, after, 10, collect_user, &page, &total), STORE_OK);
        assert_int_equal(total, 25);
        assert_int_equal(page.n, p < 2 ? 10 : 5);
        for (size_t i = 0; i < page.n; i++)
            assert_int_equal(page.ids[i], ids[p * 10 + (int)i]);
        after = page.ids[page.n - 1];
    }
    memset(&page, 0, sizeof page);
    assert_int_equal(store_user_list(s, after, 10, collect_user, &page, &total), STORE_OK);
    assert_int_equal(page.n, 0);
    /* The callback stops the listing; total may be skipped. */
    memset(&page, 0, sizeof page);
    page.stop_after = 3;
    assert_int_equal(store_user_list(s, 0, 100, collect_user, &page, NULL), STORE_OK);
    assert_int_equal(page.n, 3);
}

static void test_user_updates(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    int64_t id = user_add(s, "erin", "erin@example.com");
    store_user got;
    char roles[STORE_MAX_ROLES][STORE_MAX_ROLE + 1];

    assert_int_equal(store_user_set_password_hash(s, id, "$2b$10$newhash"), STORE_OK);
    assert_int_equal(store_user_set_disabled(s, id, true), STORE_OK);
    /* The most roles, each as long as allowed, round-trip in order. */
    for (int i = 0; i < STORE_MAX_ROLES; i++) {
        memset(roles[i], 'a' + i, STORE_MAX_ROLE);
        roles[i][STORE_MAX_ROLE] = '\0';
    }
    roles[1][0] = '-';
    roles[2][STORE_MAX_ROLE - 1] = '_';
    roles[3][5] = '7';
    assert_int_equal(
        store_user_set_roles(s, id, (const char(*)[STORE_MAX_ROLE + 1]) roles, STORE_MAX_ROLES),
        STORE_OK);
    assert_int_equal(store_user_get_by_id(s, id, &got), STORE_OK);
    assert_string_equal(got.password_hash, "$2b$10$newhash");
    assert_true(got.disabled);
    assert_int_equal(got.nroles, STORE_MAX_ROLES);
    for (int i = 0; i < STORE_MAX_ROLES; i++)
        assert_string_equal(got.roles[i], roles[i]);
    assert_true(got.updated >= got.created);

    assert_int_equal(store_user_set_roles(s, id, NULL, 0), STORE_OK);
    assert_int_equal(store_user_set_disabled(s, id, false), STORE_OK);
    assert_int_equal(store_user_get_by_id(s, id, &got), STORE_OK);
    assert_int_equal(got.nroles, 0);
    assert_false(got.disabled);

    COPY(roles[0], "Bad");
    assert_int_equal(store_user_set_roles(s, id, (const char(*)[STORE_MAX_ROLE + 1]) roles, 1),
                     STORE_ERROR);
    assert_int_equal(
        store_user_set_roles(s, id, (const char(*)[STORE_MAX_ROLE + 1]) roles, STORE_MAX_ROLES + 1),
        STORE_ERROR);
    assert_int_equal(store_user_set_password_hash(s, 999, "h"), STORE_NOT_FOUND);
    assert_int_equal(store_user_set_disabled(s, 999, true), STORE_NOT_FOUND);
    assert_int_equal(store_user_set_roles(s, 999, NULL, 0), STORE_NOT_FOUND);
}

/* ---- Refresh tokens ---- */

static void test_refresh_insert_get(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    int64_t alice = user_add(s, "alice", ""), bob = user_add(s, "bob", "");
    store_refresh r = refresh_make("jti-1", "fam-1", alice, 1000), got;

    assert_int_equal(store_refresh_insert(s, &r), STORE_OK);
    assert_int_equal(store_refresh_get(s, "jti-1", &got), STORE_OK);
    assert_string_equal(got.jti, "jti-1");
    assert_string_equal(got.family, "fam-1");
    assert_int_equal(got.user_id, alice);
    assert_int_equal(got.issued, 1000);
    assert_int_equal(got.expires, 1000 + 604800);
    assert_int_equal(got.spent, 0);
    assert_string_equal(got.replaced_by, "");
    assert_false(got.revoked);

    assert_int_equal(store_refresh_insert(s, &r), STORE_CONFLICT);
    r = refresh_make("jti-2", "fam-1", bob, 1000); /* alice's family */
    assert_int_equal(store_refresh_insert(s, &r), STORE_CONFLICT);
    r = refresh_make("jti-3", "fam-3", 999, 1000); /* no such user */
    assert_int_equal(store_refresh_insert(s, &r), STORE_NOT_FOUND);
    r = refresh_make("", "fam-4", alice, 1000);
    assert_int_equal(store_refresh_insert(s, &r), STORE_ERROR);
    r = refresh_make("jti-5", "fam-5", alice, 1000);
    memset(r.jti, 'j', sizeof r.jti);
    assert_int_equal(store_refresh_insert(s, &r), STORE_ERROR);
    assert_int_equal(store_refresh_get(s, "jti-2", &got), STORE_NOT_FOUND);
    assert_int_equal(store_refresh_get(s, "jti-3", &got), STORE_NOT_FOUND);
}

static void test_refresh_rotate(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    int64_t alice = user_add(s, "alice", "");
    store_refresh r = refresh_make("a1", "fam", alice, 1000), next, cur, got;

    assert_int_equal(store_refresh_insert(s, &r), STORE_OK);
    next = refresh_make("a2", "fam", alice, 2000);
    assert_int_equal(store_refresh_rotate(s, "a1", 2000, &next, &cur), STORE_OK);
    assert_int_equal(cur.spent, 2000);
    assert_string_equal(cur.replaced_by, "a2");
    assert_int_equal(store_refresh_get(s, "a1", &got), STORE_OK);
    assert_int_equal(got.spent, 2000);
    assert_string_equal(got.replaced_by, "a2");
    assert_int_equal(store_refresh_get(s, "a2", &got), STORE_OK);
    assert_int_equal(got.spent, 0);
    assert_string_equal(got.family, "fam");

    /* Spent: nothing changes, and current says by whom it was replaced. */
    next = refresh_make("a3", "fam", alice, 3000);
    memset(&cur, 0, sizeof cur);
    assert_int_equal(store_refresh_rotate(s, "a1", 3000, &next, &cur), STORE_CONFLICT);
    assert_string_equal(cur.jti, "a1");
    assert_int_equal(cur.spent, 2000);
    assert_string_equal(cur.replaced_by, "a2");
    assert_false(cur.revoked);
    assert_int_equal(store_refresh_get(s, "a3", &got), STORE_NOT_FOUND);

    assert_int_equal(store_refresh_rotate(s, "nope", 3000, &next, &cur), STORE_NOT_FOUND);
    assert_int_equal(store_refresh_rotate(s, "a2", 0, &next, &cur), STORE_ERROR);
    /* The next token must continue the same family of the same user. */
    next = refresh_make("a3", "other", alice, 3000);
    assert_int_equal(store_refresh_rotate(s, "a2", 3000, &next, &cur), STORE_ERROR);
    assert_int_equal(store_refresh_get(s, "a2", &got), STORE_OK);
    assert_int_equal(got.spent, 0);
    /* A taken next jti: the rotation is undone as a whole. */
    next = refresh_make("a1", "fam", alice, 3000);
    assert_int_equal(store_refresh_rotate(s, "a2", 3000, &next, NULL), STORE_CONFLICT);
    assert_int_equal(store_refresh_get(s, "a2", &got), STORE_OK);
    assert_int_equal(got.spent, 0);
    assert_string_equal(got.replaced_by, "");
}

static void test_refresh_revoked_family(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    int64_t alice = user_add(s, "alice", "");
    store_refresh r = refresh_make("t1", "famA", alice, 1000), next, cur, got;

    assert_int_equal(store_refresh_insert(s, &r), STORE_OK);
    assert_int_equal(store_family_revoke(s, "famA"), STORE_OK);
    assert_int_equal(store_family_revoke(s, "famA"), STORE_OK);
    assert_int_equal(store_refresh_get(s, "t1", &got), STORE_OK);
    assert_true(got.revoked);
    next = refresh_make("t2", "famA", alice, 2000);
    assert_int_equal(store_refresh_rotate(s, "t1", 2000, &next, &cur), STORE_CONFLICT);
    assert_true(cur.revoked);
    assert_int_equal(cur.spent, 0);
    assert_int_equal(store_refresh_get(s, "t2", &got), STORE_NOT_FOUND);
    assert_int_equal(store_family_revoke(s, "no-such-family"), STORE_NOT_FOUND);
}

static void test_user_families_revoke(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    int64_t alice = user_add(s, "alice", ""), bob = user_add(s, "bob", "");
    store_refresh r, got;

    r = refresh_make("a-1", "alice-laptop", alice, 1000);
    assert_int_equal(store_refresh_insert(s, &r), STORE_OK);
    r = refresh_make("a-2", "alice-phone", alice, 1000);
    assert_int_equal(store_refresh_insert(s, &r), STORE_OK);
    r = refresh_make("b-1", "bob-laptop", bob, 1000);
    assert_int_equal(store_refresh_insert(s, &r), STORE_OK);

    assert_int_equal(store_user_families_revoke(s, alice), STORE_OK);
    assert_int_equal(store_refresh_get(s, "a-1", &got), STORE_OK);
    assert_true(got.revoked);
    assert_int_equal(store_refresh_get(s, "a-2", &got), STORE_OK);
    assert_true(got.revoked);
    assert_int_equal(store_refresh_get(s, "b-1", &got), STORE_OK);
    assert_false(got.revoked);
    assert_int_equal(store_user_families_revoke(s, alice), STORE_OK);
    assert_int_equal(store_user_families_revoke(s, 999), STORE_OK);
}

#define RACERS 8
#define RACE_ROUNDS 20

struct racer {
    store *s;
    pthread_barrier_t *start;
    const char *old_jti;
    store_refresh next;
    store_refresh current;
    store_err result;
};

static void *racer_run(void *arg)
{
    struct racer *r = arg;

    pthread_barrier_wait(r->start);
    r->result = store_refresh_rotate(r->s, r->old_jti, 2000, &r->next, &r->current);
    return NULL;
}

/* Eight threads rotate one token at the same moment, half of them through a second store
 * on the same file (as another process would, with its own connections and locks): exactly
 * one wins, and the others see the token spent and replaced by the winner's. */
static void test_refresh_concurrent_rotate(void **state)
{
    fixture *f = *state;
    store *s = f->s, *other = NULL;
    int64_t alice = user_add(s, "alice", "");
    struct racer racers[RACERS];
    pthread_t threads[RACERS];
    pthread_barrier_t start;
    char old_jti[32], fam[32];

    other = open_other(f);
    for (int round = 0; round < RACE_ROUNDS; round++) {
        snprintf(old_jti, sizeof old_jti, "old-%d", round);
        snprintf(fam, sizeof fam, "fam-%d", round);
        store_refresh r = refresh_make(old_jti, fam, alice, 1000);
        assert_int_equal(store_refresh_insert(s, &r), STORE_OK);
        pthread_barrier_init(&start, NULL, RACERS);
        for (int i = 0; i < RACERS; i++) {
            char jti[32];
            snprintf(jti, sizeof jti, "new-%d-%d", round, i);
            memset(&racers[i], 0, sizeof racers[i]);
            racers[i].s = i % 2 == 0 ? s : other;
            racers[i].start = &start;
            racers[i].old_jti = old_jti;
            racers[i].next = refresh_make(jti, fam, alice, 2000);
            racers[i].result = STORE_ERROR;
            assert_int_equal(pthread_create(&threads[i], NULL, racer_run, &racers[i]), 0);
        }
        for (int i = 0; i < RACERS; i++)
            pthread_join(threads[i], NULL);
        pthread_barrier_destroy(&start);

        int winners = 0, winner = -1;
        for (int i = 0; i < RACERS; i++) {
            if (racers[i].result == STORE_OK) {
                winners++;
                winner = i;
            } else {
                assert_int_equal(racers[i].result, STORE_CONFLICT);
            }
        }
        assert_int_equal(winners, 1);
        for (int i = 0; i < RACERS; i++) {
            assert_int_equal(racers[i].current.spent, 2000);
            assert_string_equal(racers[i].current.replaced_by, racers[winner].next.jti);
        }
        for (int i = 0; i < RACERS; i++) {
            store_refresh got;
            assert_int_equal(store_refresh_get(s, racers[i].next.jti, &got),
                             i == winner ? STORE_OK : STORE_NOT_FOUND);
        }
    }
    store_close(other);
}

/* Rows expired more than a day before a new token's issue time go on every
 * STORE_SQLITE_PURGE_EVERY-th insert; recent ones stay. */
static void test_refresh_purge(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    int64_t alice = user_add(s, "alice", "");
    const int64_t now = 10 * STORE_SQLITE_PURGE_AGE;
    store_refresh r, got;
    store_revocation rev;
    char jti[32];

    SQLITE_ONLY(); /* PostgreSQL purges in store_prune (test_prune) */
    r = refresh_make("ancient", "fam-ancient", alice, 1000);
    r.expires = now - STORE_SQLITE_PURGE_AGE - 1;
    assert_int_equal(store_refresh_insert(s, &r), STORE_OK);
    r = refresh_make("recent", "fam-recent", alice, 1000);
    r.expires = now - STORE_SQLITE_PURGE_AGE + 60; /* expired, but within the slack */
    assert_int_equal(store_refresh_insert(s, &r), STORE_OK);
    memset(&rev, 0, sizeof rev);
    COPY(rev.jti, "old-access");
    rev.expires = now - STORE_SQLITE_PURGE_AGE - 1;
    assert_int_equal(store_revocation_add(s, &rev), STORE_OK);

    for (int i = 2; i < STORE_SQLITE_PURGE_EVERY - 1; i++) {
        snprintf(jti, sizeof jti, "fill-%d", i);
        r = refresh_make(jti, "fam-fill", alice, now);
        assert_int_equal(store_refresh_insert(s, &r), STORE_OK);
    }
    /* One insert before the purge, everything is still there. */
    assert_int_equal(store_refresh_get(s, "ancient", &got), STORE_OK);
    r = refresh_make("trigger", "fam-fill", alice, now);
    assert_int_equal(store_refresh_insert(s, &r), STORE_OK);

    assert_int_equal(store_refresh_get(s, "ancient", &got), STORE_NOT_FOUND);
    assert_int_equal(store_refresh_get(s, "recent", &got), STORE_OK);
    assert_int_equal(store_refresh_get(s, "trigger", &got), STORE_OK);
    assert_int_equal(
        sql_int(f, "SELECT count(*) FROM refresh_families WHERE family = 'fam-ancient'"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM refresh_families"), 2);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM revocations"), 0);
}

/* ---- Revocations ---- */

struct rev_list {
    store_revocation r[8];
    size_t n;
    size_t stop_after;
};

static bool collect_revocation(void *ctx, const store_revocation *r)
{
    struct rev_list *l = ctx;

    assert_true(l->n < 8);
    l->r[l->n++] = *r;
    return l->stop_after == 0 || l->n < l->stop_after;
}

static void test_revocations(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    store_revocation r;
    struct rev_list l;

    memset(&r, 0, sizeof r);
    COPY(r.jti, "at-1");
    r.expires = 5000;
    assert_int_equal(store_revocation_add(s, &r), STORE_OK);
    memset(&r, 0, sizeof r);
    r.user_id = 7;
    r.before = 4000;
    r.expires = 4900;
    assert_int_equal(store_revocation_add(s, &r), STORE_OK);
    memset(&r, 0, sizeof r);
    COPY(r.jti, "at-expired");
    r.expires = 3999;
    assert_int_equal(store_revocation_add(s, &r), STORE_OK);
    memset(&r, 0, sizeof r);
    COPY(r.jti, "at-ends-now");
    r.expires = 4000;
    assert_int_equal(store_revocation_add(s, &r), STORE_OK);

    memset(&l, 0, sizeof l);
    assert_int_equal(store_revocation_list(s, 4000, collect_revocation, &l), STORE_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.r[0].jti, "at-1");
    assert_int_equal(l.r[0].user_id, 0);
    assert_int_equal(l.r[0].expires, 5000);
    assert_string_equal(l.r[1].jti, "");
    assert_int_equal(l.r[1].user_id, 7);
    assert_int_equal(l.r[1].before, 4000);
    assert_int_equal(l.r[1].expires, 4900);

    /* The same jti again: one row, with the later expiry. */
    memset(&r, 0, sizeof r);
    COPY(r.jti, "at-1");
    r.expires = 6000;
    assert_int_equal(store_revocation_add(s, &r), STORE_OK);
    r.expires = 5500;
    assert_int_equal(store_revocation_add(s, &r), STORE_OK);
    memset(&l, 0, sizeof l);
    assert_int_equal(store_revocation_list(s, 4950, collect_revocation, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.r[0].jti, "at-1");
    assert_int_equal(l.r[0].expires, 6000);

    memset(&l, 0, sizeof l);
    l.stop_after = 1;
    assert_int_equal(store_revocation_list(s, 0, collect_revocation, &l), STORE_OK);
    assert_int_equal(l.n, 1);

    memset(&r, 0, sizeof r); /* neither a jti nor a user */
    r.expires = 9000;
    assert_int_equal(store_revocation_add(s, &r), STORE_ERROR);
    memset(r.jti, 'j', sizeof r.jti);
    assert_int_equal(store_revocation_add(s, &r), STORE_ERROR);
}

/* ---- Signing keys ---- */

struct key_list {
    char kids[8][STORE_MAX_KID + 1];
    int64_t retired[8];
    size_t key_len[8];
    size_t n;
};

static bool collect_key(void *ctx, const store_signing_key *k)
{
    struct key_list *l = ctx;

    assert_true(l->n < 8);
    COPY(l->kids[l->n], k->kid);
    l->retired[l->n] = k->retired;
    l->key_len[l->n] = strlen(k->private_key);
    l->n++;
    return true;
}

static void test_keys(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    store_signing_key *k = calloc(1, sizeof *k);
    struct key_list l;
    static const struct {
        const char *kid;
        int64_t created;
    } keys[] = {{"k-middle", 100}, {"k-oldest", 50}, {"k-newest", 200}};

    assert_non_null(k);
    for (size_t i = 0; i < 3; i++) {
        memset(k, 0, sizeof *k);
        COPY(k->kid, keys[i].kid);
        COPY(k->alg, "EdDSA");
        snprintf(k->private_key, sizeof k->private_key, "-----BEGIN PRIVATE KEY-----\n%s\n",
                 keys[i].kid);
        k->created = keys[i].created;
        assert_int_equal(store_key_insert(s, k), STORE_OK);
    }
    assert_int_equal(store_key_insert(s, k), STORE_CONFLICT);
    /* The largest private key that fits round-trips whole; one byte more is refused. */
    memset(k, 0, sizeof *k);
    COPY(k->kid, "k-big");
    COPY(k->alg, "RS256");
    memset(k->private_key, 'K', sizeof k->private_key - 1);
    k->created = 300;
    assert_int_equal(store_key_insert(s, k), STORE_OK);
    COPY(k->kid, "k-too-big");
    memset(k->private_key, 'K', sizeof k->private_key);
    assert_int_equal(store_key_insert(s, k), STORE_ERROR);
    memset(k, 0, sizeof *k);
    COPY(k->kid, "k-no-alg");
    COPY(k->private_key, "pem");
    assert_int_equal(store_key_insert(s, k), STORE_ERROR);

    assert_int_equal(store_key_retire(s, "k-middle", 1000), STORE_OK);
    assert_int_equal(store_key_retire(s, "k-middle", 2000), STORE_OK);
    assert_int_equal(store_key_retire(s, "k-none", 1000), STORE_NOT_FOUND);
    assert_int_equal(store_key_retire(s, "k-newest", 0), STORE_ERROR);

    memset(&l, 0, sizeof l);
    assert_int_equal(store_key_list(s, collect_key, &l), STORE_OK);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.kids[0], "k-oldest");
    assert_string_equal(l.kids[1], "k-middle");
    assert_string_equal(l.kids[2], "k-newest");
    assert_string_equal(l.kids[3], "k-big");
    assert_int_equal(l.retired[0], 0);
    assert_int_equal(l.retired[1], 1000); /* the first retirement time stays */
    assert_int_equal(l.retired[2], 0);
    assert_int_equal(l.key_len[3], STORE_MAX_KEY_BYTES - 1);
    free(k);
}

/* ---- Audit ---- */

static void test_audit(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    char detail[STORE_MAX_AUDIT_DETAIL + 2];

    assert_int_equal(store_audit_add(s, "login.failed", 0, "{\"ip\":\"127.0.0.1\"}"), STORE_OK);
    assert_int_equal(store_audit_add(s, "refresh.reuse", 42, NULL), STORE_OK);
    assert_int_equal(store_audit_add(s, "", 42, NULL), STORE_ERROR);
    assert_int_equal(store_audit_add(s, NULL, 42, NULL), STORE_ERROR);
    memset(detail, 'd', sizeof detail - 1);
    detail[sizeof detail - 1] = '\0';
    assert_int_equal(store_audit_add(s, "x", 1, detail), STORE_ERROR);
    detail[sizeof detail - 2] = '\0';
    assert_int_equal(store_audit_add(s, "x", 1, detail), STORE_OK);

    assert_int_equal(sql_int(f, "SELECT count(*) FROM audit"), 3);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM audit WHERE kind = 'login.failed'"
                                " AND user_id = 0 AND detail = '{\"ip\":\"127.0.0.1\"}'"),
                     1);
    assert_int_equal(sql_int(f, "SELECT user_id FROM audit WHERE kind = 'refresh.reuse'"
                                " AND detail = ''"),
                     42);
    int64_t at = sql_int(f, "SELECT min(at) FROM audit");
    assert_true(at > 0 && at <= (int64_t)time(NULL));
}

/* ---- Files: persistence, schema, mode, URLs, read-only and busy databases ---- */

static void test_reopen_persists(void **state)
{
    fixture *f = *state;
    store_user u = user_make("alice", "a@example.com"), got;
    store_refresh r, rgot;
    store_signing_key *k = calloc(1, sizeof *k);
    struct key_list l;

    assert_non_null(k);
    assert_int_equal(store_user_create(f->s, &u), STORE_OK);
    r = refresh_make("j1", "f1", u.id, 1000);
    assert_int_equal(store_refresh_insert(f->s, &r), STORE_OK);
    COPY(k->kid, "kid1");
    COPY(k->alg, "ES256");
    COPY(k->private_key, "pem");
    k->created = 1;
    assert_int_equal(store_key_insert(f->s, k), STORE_OK);
    free(k);

    reopen(f);
    assert_int_equal(store_user_get_by_username(f->s, "alice", &got), STORE_OK);
    user_assert_equal(&got, &u);
    assert_int_equal(store_refresh_get(f->s, "j1", &rgot), STORE_OK);
    assert_int_equal(rgot.user_id, u.id);
    memset(&l, 0, sizeof l);
    assert_int_equal(store_key_list(f->s, collect_key, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.kids[0], "kid1");
    /* An id is never reused, and ids keep growing after a reopen. */
    assert_true(user_add(f->s, "bob", "") > u.id);
}

static void test_schema_version(void **state)
{
    fixture *f = *state;

    SQLITE_ONLY(); /* PostgreSQL: test_pg_schema */
    assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_version"),
                     STORE_SQLITE_SCHEMA_VERSION);
    assert_int_equal(sql_int(f, "SELECT max(version) FROM schema_version"),
                     STORE_SQLITE_SCHEMA_VERSION);
    reopen(f);
    reopen(f);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_version"),
                     STORE_SQLITE_SCHEMA_VERSION);
    /* WAL is a property of the file. */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* A database from a newer jwtd is refused, not downgraded. */
    store_close(f->s);
    f->s = NULL;
    sqlite_exec(f->path, "INSERT INTO schema_version (version, applied) VALUES (99, 0)");
    assert_int_equal(store_sqlite_open(f->path, NULL, &f->s), STORE_ERROR);
    assert_null(f->s);
}

static void test_file_mode(void **state)
{
    SQLITE_ONLY();
    fixture *f = *state;
    struct stat st;
    char wal[PATH_MAX + 32];

    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    user_add(f->s, "alice", ""); /* the WAL file exists once something was written */
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_int_equal(stat(wal, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

/* A log hook that appends "op: msg\n" lines to a buffer. */
typedef struct log_capture {
    char *buf;
    size_t cap;
    int lines;
} log_capture;

static void capture_log(void *ctx, store_log_level level, const char *op, const char *msg)
{
    log_capture *c = ctx;
    size_t used = strlen(c->buf);
    (void)level;
    snprintf(c->buf + used, c->cap - used, "%s: %s\n", op, msg);
    c->lines++;
}

/* Runs store_open(url) with its log hook captured into log (cap bytes); stderr must stay
 * silent (the store never writes there). */
static store_err open_logged(const char *dir, const char *url, store **out, char *log, size_t cap)
{
    char file[PATH_MAX + 16], err_text[64];
    int saved = dup(STDERR_FILENO), fd;
    store_err err;
    ssize_t n;
    log_capture c = {log, cap, 0};
    store_log hook = {capture_log, &c};

    log[0] = '\0';
    snprintf(file, sizeof file, "%s/stderr.txt", dir);
    fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    err = store_open(url, &hook, out);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    n = pread(fd, err_text, sizeof err_text - 1, 0);
    close(fd);
    unlink(file);
    assert_true(n == 0);
    return err;
}

static void test_open_urls(void **state)
{
    SQLITE_ONLY();
    fixture *f = *state;
    store *s = NULL;
    char url[PATH_MAX + 64], log[512];

    /* A PostgreSQL URL goes to that backend: nothing listens on port 1, so it cannot be
     * reached; libpq's message is logged, never the password. */
    assert_int_equal(
        open_logged(f->dir, "postgres://jwtd:s3cret@127.0.0.1:1/jwtd", &s, log, sizeof log),
        STORE_UNAVAILABLE);
    assert_null(s);
    assert_non_null(strstr(log, "open: "));
    assert_null(strstr(log, "s3cret"));
    assert_int_equal(open_logged(f->dir, "mysql://127.0.0.1/jwtd", &s, log, sizeof log),
                     STORE_ERROR);
    assert_int_equal(store_open("", NULL, &s), STORE_ERROR);
    assert_int_equal(store_open(NULL, NULL, &s), STORE_ERROR);
    assert_int_equal(store_open("sqlite:", NULL, &s), STORE_ERROR);
    assert_int_equal(store_open("sqlite::memory:", NULL, &s), STORE_ERROR);
    snprintf(url, sizeof url, "%s/missing-dir/x.db", f->dir);
    assert_int_equal(store_open(url, NULL, &s), STORE_ERROR);
    assert_null(s);

    /* "sqlite:PATH" and a plain PATH open the same database. */
    user_add(f->s, "alice", "");
    snprintf(url, sizeof url, "sqlite:%s", f->path);
    assert_int_equal(store_open(url, NULL, &s), STORE_OK);
    store_user got;
    assert_int_equal(store_user_get_by_username(s, "alice", &got), STORE_OK);
    store_close(s);
    assert_int_equal(store_open(f->path, NULL, &s), STORE_OK);
    assert_int_equal(store_user_get_by_username(s, "alice", &got), STORE_OK);
    store_close(s);

    assert_string_equal(store_err_name(STORE_OK), "Ok");
    assert_string_equal(store_err_name(STORE_NOT_FOUND), "NotFound");
    assert_string_equal(store_err_name(STORE_CONFLICT), "Conflict");
    assert_string_equal(store_err_name(STORE_UNAVAILABLE), "Unavailable");
    assert_string_equal(store_err_name(STORE_ERROR), "Error");
    assert_string_equal(store_err_name((store_err)99), "UnknownError");
}

/* Reads work and every kind of write is STORE_UNAVAILABLE on the read-only store ro, whose
 * database holds alice. */
static void check_read_only(store *ro, int64_t alice)
{
    store_user u = user_make("bob", ""), got;
    store_refresh r = refresh_make("j", "f", alice, 1000);
    store_revocation rev;
    size_t count = 0;

    assert_int_equal(store_user_get_by_username(ro, "alice", &got), STORE_OK);
    assert_int_equal(store_user_count(ro, &count), STORE_OK);
    assert_int_equal(count, 1);
    assert_int_equal(store_user_create(ro, &u), STORE_UNAVAILABLE);
    assert_int_equal(store_user_set_disabled(ro, alice, true), STORE_UNAVAILABLE);
    assert_int_equal(store_refresh_insert(ro, &r), STORE_UNAVAILABLE);
    memset(&rev, 0, sizeof rev);
    rev.user_id = alice;
    rev.expires = 5000;
    assert_int_equal(store_revocation_add(ro, &rev), STORE_UNAVAILABLE);
    assert_int_equal(store_audit_add(ro, "x", 0, NULL), STORE_UNAVAILABLE);
    assert_int_equal(store_user_get_by_id(ro, alice, &got), STORE_OK);
    assert_false(got.disabled);
}

/* check_read_only for a child process, where cmocka cannot report: 0 when every check
 * holds, else the number of the first that failed. */
static int read_only_status(const char *path, int64_t alice)
{
    store *ro = NULL;
    store_user u = user_make("bob", ""), got;
    store_refresh r = refresh_make("j", "f", alice, 1000);
    int status = 0;

    if (store_sqlite_open(path, NULL, &ro) != STORE_OK)
        return 10;
    if (store_user_get_by_username(ro, "alice", &got) != STORE_OK)
        status = 11;
    else if (store_user_create(ro, &u) != STORE_UNAVAILABLE)
        status = 12;
    else if (store_refresh_insert(ro, &r) != STORE_UNAVAILABLE)
        status = 13;
    else if (store_audit_add(ro, "x", 0, NULL) != STORE_UNAVAILABLE)
        status = 14;
    store_close(ro);
    return status;
}

#define NOBODY 65534

/* Removes the -wal and -shm files that a read-only connection leaves behind; only when no
 * writer is open and the last one closed cleanly, so they hold no commit. */
static void remove_side_files(const fixture *f)
{
    char side[PATH_MAX + 32];

    snprintf(side, sizeof side, "%s-wal", f->path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", f->path);
    unlink(side);
}

static void test_read_only(void **state)
{
    SQLITE_ONLY();
    fixture *f = *state;
    store *ro = NULL;
    char url[PATH_MAX + 64];
    int64_t alice = user_add(f->s, "alice", "");
    int status;

    store_close(f->s);
    f->s = NULL;
    snprintf(url, sizeof url, "sqlite:file:%s?mode=ro", f->path);
    assert_int_equal(store_open(url, NULL, &ro), STORE_OK);
    check_read_only(ro, alice);
    store_close(ro);
    remove_side_files(f);

    /* A file without write permission, opened as a plain path. Root ignores permissions,
     * so as root the check runs as nobody, who then owns the directory and the file. */
    assert_int_equal(chmod(f->path, 0400), 0);
    if (geteuid() == 0) {
        assert_int_equal(chown(f->dir, NOBODY, NOBODY), 0);
        assert_int_equal(chown(f->path, NOBODY, NOBODY), 0);
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 &&
            (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0))
            _exit(20);
        _exit(read_only_status(f->path, alice));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* Back to writable. The child wrote nothing, so its -wal and -shm hold nothing. */
    assert_int_equal(chmod(f->path, 0600), 0);
    remove_side_files(f);
    reopen(f);
    assert_int_equal(store_user_create(f->s, &(store_user){.username = "carol"}), STORE_OK);
}

/* Another process holding the write lock past the busy timeout: STORE_UNAVAILABLE. */
static void test_busy(void **state)
{
    SQLITE_ONLY();
    fixture *f = *state;
    sqlite3 *db = NULL;
    store_user u = user_make("alice", ""), got;
    time_t t0;

    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    t0 = time(NULL);
    assert_int_equal(store_user_create(f->s, &u), STORE_UNAVAILABLE);
    assert_true(time(NULL) - t0 >= STORE_SQLITE_BUSY_MS / 1000 - 1);
    /* Readers are not blocked by a writer in WAL mode. */
    assert_int_equal(store_user_get_by_id(f->s, 1, &got), STORE_NOT_FOUND);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_user_create(f->s, &u), STORE_OK);
}

/* ---- Durability: a writer killed with SIGKILL loses no acknowledged row ---- */

#define DURABLE_KILL_AFTER 100
#define DURABLE_MAX 100000

static void durable_child(const char *path, int out)
{
    store *s = NULL;
    char name[32];

    if (store_sqlite_open(path, NULL, &s) != STORE_OK)
        _exit(2);
    for (int i = 0; i < DURABLE_MAX; i++) {
        snprintf(name, sizeof name, "durable%d", i);
        store_user u = user_make(name, "");
        if (store_user_create(s, &u) != STORE_OK)
            _exit(3);
        /* Acknowledged: the row is committed before its id leaves the process. */
        if (write(out, &u.id, sizeof u.id) != (ssize_t)sizeof u.id)
            _exit(4);
    }
    _exit(5); /* never reached in time: the parent kills it first */
}

static void test_durability_kill9(void **state)
{
    SQLITE_ONLY();
    fixture *f = *state;
    int fds[2];
    int64_t ids[DURABLE_MAX / 8];
    size_t n = 0;
    int status;
    pid_t pid;

    store_close(f->s); /* the child is the only writer */
    f->s = NULL;
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        durable_child(f->path, fds[1]);
    }
    close(fds[1]);
    for (;;) {
        int64_t id;
        ssize_t got = read(fds[0], &id, sizeof id);
        if (got == 0)
            break;
        if (got < 0 && errno == EINTR)
            continue;
        assert_int_equal(got, sizeof id);
        assert_true(n < sizeof ids / sizeof ids[0]);
        ids[n++] = id;
        if (n == DURABLE_KILL_AFTER)
            kill(pid, SIGKILL);
    }
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_true(n >= DURABLE_KILL_AFTER);

    reopen(f);
    for (size_t i = 0; i < n; i++) {
        store_user got;
        char name[32];
        snprintf(name, sizeof name, "durable%zu", i);
        assert_int_equal(store_user_get_by_id(f->s, ids[i], &got), STORE_OK);
        assert_string_equal(got.username, name);
    }
}

/* ---- What several instances share: key rotation, settings, lockouts, hits, prune, ping,
 * watch (both backends) ---- */

/* Inserts key kid created at `created`. */
static void key_add(store *s, const char *kid, int64_t created)
{
    store_signing_key *k = calloc(1, sizeof *k);

    assert_non_null(k);
    COPY(k->kid, kid);
    COPY(k->alg, "EdDSA");
    COPY(k->private_key, "-----BEGIN PRIVATE KEY-----\n");
    k->created = created;
    assert_int_equal(store_key_insert(s, k), STORE_OK);
    free(k);
}

/* A key to rotate to, on the heap (it is large). */
static store_signing_key *key_make(const char *kid, int64_t created)
{
    store_signing_key *k = calloc(1, sizeof *k);

    assert_non_null(k);
    COPY(k->kid, kid);
    COPY(k->alg, "EdDSA");
    COPY(k->private_key, "-----BEGIN PRIVATE KEY-----\nrotated\n");
    k->created = created;
    return k;
}

/* The keys as key_list lists them. */
static struct key_list keys_of(store *s)
{
    struct key_list l;

    memset(&l, 0, sizeof l);
    assert_int_equal(store_key_list(s, collect_key, &l), STORE_OK);
    return l;
}

/* A later retirement moves earlier; an earlier one stays. */
static void test_key_retire_rule(void **state)
{
    fixture *f = *state;
    struct key_list l;

    key_add(f->s, "k1", 100);
    assert_int_equal(store_key_retire(f->s, "k1", 2000), STORE_OK);
    l = keys_of(f->s);
    assert_int_equal(l.retired[0], 2000);
    assert_int_equal(store_key_retire(f->s, "k1", 1000), STORE_OK); /* earlier: moves */
    l = keys_of(f->s);
    assert_int_equal(l.retired[0], 1000);
    assert_int_equal(store_key_retire(f->s, "k1", 3000), STORE_OK); /* later: stays */
    l = keys_of(f->s);
    assert_int_equal(l.retired[0], 1000);
}

static void test_key_rotate(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    int64_t future = (int64_t)time(NULL) + 3600;
    store_signing_key *k2 = key_make("k2", future), *k3 = key_make("k3", future + 10);
    struct key_list l;

    /* On no key: expecting one conflicts, expecting none (NULL) inserts. */
    assert_int_equal(store_key_rotate(s, k2, "k1", 5000), STORE_CONFLICT);
    assert_int_equal(keys_of(s).n, 0);
    key_add(s, "k0", 50);
    key_add(s, "k1", 100);
    /* next->created in the future: published now, listed last (newest). */
    assert_int_equal(store_key_rotate(s, k2, "k1", 5000), STORE_OK);
    l = keys_of(s);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.kids[2], "k2");
    assert_int_equal(l.retired[0], 5000);
    assert_int_equal(l.retired[1], 5000);
    assert_int_equal(l.retired[2], 0);
    /* A stale expectation changes nothing. */
    assert_int_equal(store_key_rotate(s, k3, "k1", 4000), STORE_CONFLICT);
    l = keys_of(s);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.retired[0], 5000);
    /* retire_at applies to all others as key_retire would: earlier moves, later stays. */
    assert_int_equal(store_key_rotate(s, k3, "k2", 4000), STORE_OK);
    l = keys_of(s);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.retired[0], 4000);
    assert_int_equal(l.retired[1], 4000);
    assert_int_equal(l.retired[2], 4000);
    assert_int_equal(l.retired[3], 0);
    /* The same created time: the last inserted is the newest. */
    store_signing_key *k4 = key_make("k4", future + 10);
    assert_int_equal(store_key_rotate(s, k4, "k3", 6000), STORE_OK);
    store_signing_key *k5 = key_make("k5", future + 10);
    assert_int_equal(store_key_rotate(s, k5, "k3", 6000), STORE_CONFLICT);
    assert_int_equal(store_key_rotate(s, k5, NULL, 6000), STORE_OK);
    l = keys_of(s);
    assert_string_equal(l.kids[5], "k5");
    assert_int_equal(l.retired[0], 4000);
    assert_int_equal(l.retired[3], 6000);
    assert_int_equal(l.retired[4], 6000);
    free(k2);
    free(k3);
    free(k4);
    free(k5);
}

#define ROTATORS 6

struct rotator {
    store *s;
    pthread_barrier_t *start;
    store_signing_key *next;
    store_err result;
};

static void *rotator_run(void *arg)
{
    struct rotator *r = arg;

    pthread_barrier_wait(r->start);
    r->result = store_key_rotate(r->s, r->next, "k0", 9000);
    return NULL;
}

/* Rotators on two handles (two instances) rotating from the same newest key: exactly one
 * wins. */
static void test_key_rotate_concurrent(void **state)
{
    fixture *f = *state;
    store *other = open_other(f);
    struct rotator r[ROTATORS];
    pthread_t threads[ROTATORS];
    pthread_barrier_t start;
    int winners = 0;

    key_add(f->s, "k0", 100);
    pthread_barrier_init(&start, NULL, ROTATORS);
    for (int i = 0; i < ROTATORS; i++) {
        char kid[16];
        snprintf(kid, sizeof kid, "next-%d", i);
        r[i] = (struct rotator){i % 2 ? other : f->s, &start, key_make(kid, 200), STORE_ERROR};
        assert_int_equal(pthread_create(&threads[i], NULL, rotator_run, &r[i]), 0);
    }
    for (int i = 0; i < ROTATORS; i++) {
        pthread_join(threads[i], NULL);
        if (r[i].result == STORE_OK)
            winners++;
        else
            assert_int_equal(r[i].result, STORE_CONFLICT);
        free(r[i].next);
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(winners, 1);
    assert_int_equal(keys_of(f->s).n, 2);
    store_close(other);
}

struct setter {
    store *s;
    pthread_barrier_t *start;
    char proposal[16];
    char got[STORE_MAX_SETTING + 1];
    store_err result;
};

static void *setter_run(void *arg)
{
    struct setter *t = arg;

    pthread_barrier_wait(t->start);
    t->result =
        store_setting_get_or_init(t->s, "cluster-secret", t->proposal, t->got, sizeof t->got);
    return NULL;
}

static void test_setting_get_or_init(void **state)
{
    fixture *f = *state;
    char out[STORE_MAX_SETTING + 1], small[4];
    struct setter t[ROTATORS];
    pthread_t threads[ROTATORS];
    pthread_barrier_t start;
    store *other = open_other(f);

    assert_int_equal(store_setting_get_or_init(f->s, "issuer", "first", out, sizeof out), STORE_OK);
    assert_string_equal(out, "first");
    assert_int_equal(store_setting_get_or_init(other, "issuer", "second", out, sizeof out),
                     STORE_OK);
    assert_string_equal(out, "first");
    assert_int_equal(store_setting_get_or_init(f->s, "issuer", "x", small, sizeof small),
                     STORE_ERROR);
    assert_int_equal(store_setting_get_or_init(f->s, "", "x", out, sizeof out), STORE_ERROR);

    /* Concurrent different proposals: every caller gets the one stored. */
    pthread_barrier_init(&start, NULL, ROTATORS);
    for (int i = 0; i < ROTATORS; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].s = i % 2 ? other : f->s;
        t[i].start = &start;
        snprintf(t[i].proposal, sizeof t[i].proposal, "value-%d", i);
        assert_int_equal(pthread_create(&threads[i], NULL, setter_run, &t[i]), 0);
    }
    for (int i = 0; i < ROTATORS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < ROTATORS; i++) {
        assert_int_equal(t[i].result, STORE_OK);
        assert_string_equal(t[i].got, t[0].got);
    }
    assert_non_null(strstr(t[0].got, "value-"));
    store_close(other);
}

/* lock_for: 60 s from the third failure, 10 s from the fifth; records what it was given. */
struct lock_policy {
    int64_t last_failures;
    int calls;
};

static int64_t lock_for(void *ctx, int64_t failures)
{
    struct lock_policy *p = ctx;

    p->last_failures = failures;
    p->calls++;
    return failures >= 5 ? 10 : failures >= 3 ? 60 : 0;
}

static void test_lockout(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    struct lock_policy p = {0, 0};
    int64_t failures = -1, until = -1;
    const int64_t forget = 600;

    assert_int_equal(store_lockout_get(s, "k", 1000, forget, &failures, &until), STORE_OK);
    assert_int_equal(failures, 0);
    assert_int_equal(until, 0);
    for (int i = 1; i <= 2; i++) {
        assert_int_equal(store_lockout_fail(s, "k", 1000, forget, lock_for, &p, &failures, &until),
                         STORE_OK);
        assert_int_equal(failures, i);
        assert_int_equal(until, 0);
        assert_int_equal(p.last_failures, i);
    }
    assert_int_equal(store_lockout_fail(s, "k", 1001, forget, lock_for, &p, &failures, &until),
                     STORE_OK);
    assert_int_equal(failures, 3);
    assert_int_equal(until, 1061);
    assert_int_equal(store_lockout_fail(s, "k", 1002, forget, lock_for, &p, NULL, NULL), STORE_OK);
    assert_int_equal(p.last_failures, 4);
    /* Failure 5 asks for 10 s: the lock end stays the later one (max). */
    assert_int_equal(store_lockout_fail(s, "k", 1003, forget, lock_for, &p, &failures, &until),
                     STORE_OK);
    assert_int_equal(failures, 5);
    assert_int_equal(until, 1062); /* failure 4 set 1002 + 60 */
    assert_int_equal(p.calls, 5);
    assert_int_equal(store_lockout_get(s, "k", 1010, forget, &failures, &until), STORE_OK);
    assert_int_equal(failures, 5);
    assert_int_equal(until, 1062);
    /* Forgotten once the last failure is `forget` old and the lock is over. */
    assert_int_equal(store_lockout_get(s, "k", 1003 + forget, forget, &failures, &until), STORE_OK);
    assert_int_equal(failures, 0);
    assert_int_equal(until, 0);
    assert_int_equal(
        store_lockout_fail(s, "k", 1003 + forget, forget, lock_for, &p, &failures, &until),
        STORE_OK);
    assert_int_equal(failures, 1);
    assert_int_equal(until, 0);
    /* Other keys count apart; clear forgets (also a key that has nothing). */
    assert_int_equal(store_lockout_fail(s, "other", 1000, forget, lock_for, &p, &failures, NULL),
                     STORE_OK);
    assert_int_equal(failures, 1);
    assert_int_equal(store_lockout_clear(s, "k"), STORE_OK);
    assert_int_equal(store_lockout_clear(s, "none"), STORE_OK);
    assert_int_equal(store_lockout_get(s, "k", 1700, forget, &failures, &until), STORE_OK);
    assert_int_equal(failures, 0);
    assert_int_equal(store_lockout_get(s, "other", 1001, forget, &failures, &until), STORE_OK);
    assert_int_equal(failures, 1);
}

#define HITTERS 4
#define HITS_EACH 50

struct hitter {
    store *s;
    pthread_barrier_t *start;
    store_err result;
    bool lockout; /* count lockout failures instead of hits */
};

static int64_t no_lock(void *ctx, int64_t failures)
{
    (void)ctx;
    (void)failures;
    return 0;
}

static void *hitter_run(void *arg)
{
    struct hitter *h = arg;
    int64_t count;

    pthread_barrier_wait(h->start);
    h->result = STORE_OK;
    for (int i = 0; i < HITS_EACH && h->result == STORE_OK; i++) {
        if (h->lockout)
            h->result = store_lockout_fail(h->s, "acct", 1000, 600, no_lock, NULL, NULL, NULL);
        else
            h->result = store_hits_add(h->s, "ip", 600, 1200, &count);
    }
    return NULL;
}

static void test_hits(void **state)
{
    fixture *f = *state;
    store *other = open_other(f);
    int64_t count = 0, until = 0;
    struct hitter h[HITTERS];
    pthread_t threads[HITTERS];
    pthread_barrier_t start;

    assert_int_equal(store_hits_add(f->s, "a", 100, 200, &count), STORE_OK);
    assert_int_equal(count, 1);
    assert_int_equal(store_hits_add(other, "a", 100, 200, &count), STORE_OK);
    assert_int_equal(count, 2);
    assert_int_equal(store_hits_add(f->s, "a", 160, 260, &count), STORE_OK); /* next window */
    assert_int_equal(count, 1);
    assert_int_equal(store_hits_add(f->s, "b", 100, 200, &count), STORE_OK);
    assert_int_equal(count, 1);

    /* Threads on two handles: exactly N hits and N lockout failures are counted. */
    for (int round = 0; round < 2; round++) {
        pthread_barrier_init(&start, NULL, HITTERS);
        for (int i = 0; i < HITTERS; i++) {
            h[i] = (struct hitter){i % 2 ? other : f->s, &start, STORE_ERROR, round == 1};
            assert_int_equal(pthread_create(&threads[i], NULL, hitter_run, &h[i]), 0);
        }
        for (int i = 0; i < HITTERS; i++) {
            pthread_join(threads[i], NULL);
            assert_int_equal(h[i].result, STORE_OK);
        }
        pthread_barrier_destroy(&start);
    }
    assert_int_equal(store_hits_add(f->s, "ip", 600, 1200, &count), STORE_OK);
    assert_int_equal(count, HITTERS * HITS_EACH + 1);
    assert_int_equal(store_lockout_get(f->s, "acct", 1000, 600, &count, &until), STORE_OK);
    assert_int_equal(count, HITTERS * HITS_EACH);
    store_close(other);
}

static void test_prune(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    struct lock_policy p = {0, 0};
    int64_t count, failures, until;
    store_revocation rev;
    struct rev_list l;
    const int64_t now = 10 * 86400;

    assert_int_equal(store_hits_add(s, "old", now - 60, now, &count), STORE_OK);
    assert_int_equal(store_hits_add(s, "new", now - 60, now + 1, &count), STORE_OK);
    /* forgotten at now (last failure 600 s ago, no lock), and one still locked */
    assert_int_equal(store_lockout_fail(s, "gone", now - 600, 600, lock_for, &p, NULL, NULL),
                     STORE_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_lockout_fail(s, "kept", now - 30, 10, lock_for, &p, NULL, NULL),
                         STORE_OK);
    memset(&rev, 0, sizeof rev);
    COPY(rev.jti, "expired");
    rev.expires = now - 1;
    assert_int_equal(store_revocation_add(s, &rev), STORE_OK);
    COPY(rev.jti, "live");
    rev.expires = now + 1;
    assert_int_equal(store_revocation_add(s, &rev), STORE_OK);
    int64_t alice = user_add(s, "alice", "");
    store_refresh r = refresh_make("ancient", "fam-ancient", alice, 1000), got;
    r.expires = now - 86400 - 1;
    assert_int_equal(store_refresh_insert(s, &r), STORE_OK);
    r = refresh_make("recent", "fam-recent", alice, 1000);
    r.expires = now - 86400 + 60;
    assert_int_equal(store_refresh_insert(s, &r), STORE_OK);

    assert_int_equal(store_prune(s, now), STORE_OK);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM hits"), 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM hits WHERE key = 'new'"), 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM lockouts"), 1);
    assert_int_equal(store_lockout_get(s, "kept", now, 10, &failures, &until), STORE_OK);
    assert_int_equal(failures, 3);
    assert_int_equal(until, now + 30);
    memset(&l, 0, sizeof l);
    assert_int_equal(store_revocation_list(s, 0, collect_revocation, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.r[0].jti, "live");
    assert_int_equal(store_refresh_get(s, "recent", &got), STORE_OK);
    /* PostgreSQL's prune also purges refresh tokens (SQLite does it on insert). */
    if (g_pg) {
        assert_int_equal(store_refresh_get(s, "ancient", &got), STORE_NOT_FOUND);
        assert_int_equal(sql_int(f, "SELECT count(*) FROM refresh_families"), 1);
    }
    assert_int_equal(store_prune(s, now), STORE_OK); /* nothing left to do */
}

/* Waits on s for a change, up to ms; returns changed. */
static bool watch_for(store *s, int ms)
{
    bool changed = false;

    assert_int_equal(store_watch(s, ms, &changed), STORE_OK);
    return changed;
}

static int64_t elapsed_ms(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_ping_watch(void **state)
{
    fixture *f = *state;
    store *other = open_other(f);
    store_revocation rev;
    struct timespec t0;

    assert_int_equal(store_ping(f->s), STORE_OK);
    /* The first call may report a change (PostgreSQL: its connection is new). */
    watch_for(f->s, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_false(watch_for(f->s, 150));
    assert_true(elapsed_ms(&t0) >= 140);
    /* A revocation and a key through another handle are seen within 1 s. */
    memset(&rev, 0, sizeof rev);
    COPY(rev.jti, "revoked");
    rev.expires = (int64_t)time(NULL) + 60;
    assert_int_equal(store_revocation_add(other, &rev), STORE_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_true(watch_for(f->s, 1000));
    assert_true(elapsed_ms(&t0) < 1000);
    key_add(other, "k1", 100);
    assert_true(watch_for(f->s, 1000));
    /* Nothing else came: a plain timeout. Users are not watched. */
    user_add(other, "alice", "");
    assert_false(watch_for(f->s, 100));
    assert_int_equal(store_watch(f->s, STORE_MAX_WATCH_MS + 1, &(bool){false}), STORE_ERROR);
    store_close(other);
}

/* ---- PostgreSQL only: the URL, migrations, lost connections, a stopped server ---- */

/* The fixture's database URL with a password and another database name. */
static void url_with(const fixture *f, const char *password, const char *db, char *out, size_t len)
{
    char base[512];

    assert_true(pgtest_base_url(NULL, base, sizeof base));
    /* base: postgres://postgres@HOST:PORT */
    const char *at = strchr(base, '@');
    assert_non_null(at);
    snprintf(out, len, "postgres://postgres:%s%s/%s", password, at, db);
    (void)f;
}

static void test_pg_password_not_logged(void **state)
{
    fixture *f = *state;
    store *s = NULL;
    char url[PATH_MAX + 128], log[2048];

    PG_ONLY();
    /* A database that does not exist: the server's message is logged, the password not. */
    url_with(f, "Sup3rSecretPw", "no_such_database", url, sizeof url);
    assert_int_equal(open_logged(f->dir, url, &s, log, sizeof log), STORE_UNAVAILABLE);
    assert_null(s);
    assert_non_null(strstr(log, "no_such_database"));
    assert_null(strstr(log, "Sup3rSecretPw"));
    /* One that exists opens (trust auth ignores the password), silently. */
    url_with(f, "Sup3rSecretPw", f->dbname, url, sizeof url);
    assert_int_equal(open_logged(f->dir, url, &s, log, sizeof log), STORE_OK);
    assert_string_equal(log, "");
    assert_int_equal(store_ping(s), STORE_OK);
    store_close(s);
    /* A URL libpq cannot parse. */
    assert_int_equal(open_logged(f->dir, "postgres://u:Sup3rSecretPw@[::1/x", &s, log, sizeof log),
                     STORE_ERROR);
    assert_null(strstr(log, "Sup3rSecretPw"));
    /* application_name: jwtd, unless the URL says otherwise. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND application_name "
             "= 'jwtd'",
             f->dbname);
    assert_true(sql_int(f, sql) >= 1);
    /* The URL's own settings win over jwtd's defaults. */
    snprintf(url, sizeof url, "%s?application_name=jwtd-other", f->url);
    assert_int_equal(store_open(url, NULL, &s), STORE_OK);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND application_name "
             "= 'jwtd-other'",
             f->dbname);
    assert_int_equal(sql_int(f, sql), 1);
    store_close(s);
}

static void test_pg_schema(void **state)
{
    fixture *f = *state;
    char log[1024], expect[128];
    store *s = NULL;

    PG_ONLY();
    assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_version"), STORE_PG_SCHEMA_VERSION);
    reopen(f);
    reopen(f);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_version"), STORE_PG_SCHEMA_VERSION);
    /* Ids are never reused, even of rolled-back inserts. */
    int64_t a = user_add(f->s, "alice", "");
    store_user u = user_make("ALICE", "");
    assert_int_equal(store_user_create(f->s, &u), STORE_CONFLICT);
    assert_true(user_add(f->s, "bob", "") > a);
    /* A database from a newer jwtd is refused with a clear message. */
    sql_exec(f, "INSERT INTO schema_version (version, applied) VALUES (99, 0)");
    assert_int_equal(open_logged(f->dir, f->url, &s, log, sizeof log), STORE_ERROR);
    assert_null(s);
    snprintf(expect, sizeof expect,
             "the database was written by a newer jwtd (schema version 99, this build knows %d)",
             STORE_PG_SCHEMA_VERSION);
    assert_non_null(strstr(log, expect));
}

#define OPENERS 6

struct opener {
    const char *url;
    pthread_barrier_t *start;
    store_err result;
};

static void *opener_run(void *arg)
{
    struct opener *o = arg;
    store *s = NULL;

    pthread_barrier_wait(o->start);
    o->result = store_open(o->url, NULL, &s);
    if (s != NULL)
        store_close(s);
    return NULL;
}

/* Instances started at the same moment on an empty database all open; the schema is
 * applied once. */
static void test_pg_concurrent_first_open(void **state)
{
    fixture *f = *state;
    char url[PATH_MAX + 64], name[64], sql[256];
    struct opener o[OPENERS];
    pthread_t threads[OPENERS];
    pthread_barrier_t start;

    PG_ONLY();
    assert_true(pgtest_db_create(NULL, url, sizeof url, name));
    pthread_barrier_init(&start, NULL, OPENERS);
    for (int i = 0; i < OPENERS; i++) {
        o[i] = (struct opener){url, &start, STORE_ERROR};
        assert_int_equal(pthread_create(&threads[i], NULL, opener_run, &o[i]), 0);
    }
    for (int i = 0; i < OPENERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(o[i].result, STORE_OK);
    }
    pthread_barrier_destroy(&start);
    int64_t n = -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM schema_version");
    assert_true(pgtest_sql(url, sql, &n));
    assert_int_equal(n, STORE_PG_SCHEMA_VERSION);
    assert_true(pgtest_db_drop(NULL, name));
    (void)f;
}

/* Closes every other connection to the fixture's database, as an administrator's
 * pg_terminate_backend or a failover would. */
static void terminate_others(const fixture *f)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '%s'"
             " AND pid <> pg_backend_pid()",
             f->dbname);
    assert_true(sql_int(f, sql) >= 1);
    /* Gone once they have exited (bounded). */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND pid <> "
             "pg_backend_pid()",
             f->dbname);
    for (int i = 0; i < 100 && sql_int(f, sql) > 0; i++) {
        struct timespec nap = {0, 20 * 1000000L};
        nanosleep(&nap, NULL);
    }
}

/* Connections closed by the server are opened again by the next call, without reopening
 * the store; the watcher reconnects and reports a (possibly missed) change. */
static void test_pg_connections_lost(void **state)
{
    fixture *f = *state;
    store_user got;

    PG_ONLY();
    int64_t alice = user_add(f->s, "alice", "");
    watch_for(f->s, 0);
    assert_false(watch_for(f->s, 50));
    for (int round = 0; round < 3; round++) {
        terminate_others(f);
        assert_int_equal(store_user_get_by_id(f->s, alice, &got), STORE_OK);
        assert_int_equal(store_ping(f->s), STORE_OK);
        assert_true(watch_for(f->s, 1000));
        assert_false(watch_for(f->s, 50));
    }
}

/* A server of the test's own, stopped and started again: calls answer STORE_UNAVAILABLE
 * promptly while it is down and succeed when it is back, on the same store. */
static void test_pg_server_down(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX + 32], url[PATH_MAX + 64], name[64];
    store *s = NULL;
    store_user got;
    bool changed = false;
    struct timespec t0;

    PG_ONLY();
    snprintf(dir, sizeof dir, "%s/server", f->dir);
    assert_int_equal(pgtest_script("start", dir), 0);
    assert_true(pgtest_db_create(dir, url, sizeof url, name));
    assert_int_equal(store_open(url, NULL, &s), STORE_OK);
    int64_t alice = user_add(s, "alice", "");
    watch_for(s, 0);

    assert_int_equal(pgtest_script("pause", dir), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(store_user_get_by_id(s, alice, &got), STORE_UNAVAILABLE);
    store_user u = user_make("bob", "");
    assert_int_equal(store_user_create(s, &u), STORE_UNAVAILABLE);
    assert_int_equal(store_ping(s), STORE_UNAVAILABLE);
    assert_true(elapsed_ms(&t0) < 5000);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(store_watch(s, 300, &changed), STORE_UNAVAILABLE);
    assert_true(elapsed_ms(&t0) >= 250 && elapsed_ms(&t0) < 5000);

    assert_int_equal(pgtest_script("resume", dir), 0);
    assert_int_equal(store_ping(s), STORE_OK);
    assert_int_equal(store_user_get_by_id(s, alice, &got), STORE_OK);
    assert_int_equal(store_user_create(s, &u), STORE_OK);
    assert_true(watch_for(s, 1000)); /* reconnected: a change may have been missed */
    store_close(s);
    assert_int_equal(pgtest_script("stop", dir), 0);
}

/* ---- Machine clients ---- */

static store_client client_make(const char *name, const char *hash)
{
    store_client c;
    memset(&c, 0, sizeof c);
    COPY(c.name, name);
    COPY(c.secret_hash, hash);
    return c;
}

typedef struct client_names {
    char names[4][STORE_MAX_CLIENT + 1];
    size_t n;
} client_names;

static bool client_collect(void *ctx, const store_client *c)
{
    client_names *l = ctx;
    if (l->n < 4)
        COPY(l->names[l->n], c->name);
    l->n++;
    return true;
}

/* Create, get, list by name, the exact-name rule, a new secret, delete, and the limits. */
static void test_clients(void **state)
{
    fixture *f = *state;
    store *s = f->s;
    store_client c = client_make("svc.billing", "aa11"), got;
    store_user u = user_make("svc.billing", "");
    client_names l = {0};
    char long_name[STORE_MAX_CLIENT + 2];
    int64_t before = (int64_t)time(NULL);

    COPY(c.roles[0], "reader");
    COPY(c.roles[1], "writer");
    c.nroles = 2;
    assert_int_equal(store_client_create(s, &c), STORE_OK);
    assert_true(c.id > 0);
    assert_true(c.created >= before && c.updated == c.created);
    assert_int_equal(store_client_get(s, "svc.billing", &got), STORE_OK);
    assert_int_equal(got.id, c.id);
    assert_string_equal(got.secret_hash, "aa11");
    assert_int_equal(got.nroles, 2);
    assert_string_equal(got.roles[1], "writer");
    /* Names compare exactly: another case is another client; a user may share the name. */
    assert_int_equal(store_client_get(s, "SVC.billing", &got), STORE_NOT_FOUND);
    store_client other = client_make("SVC.billing", "bb22");
    assert_int_equal(store_client_create(s, &other), STORE_OK);
    assert_int_equal(store_user_create(s, &u), STORE_OK);
    store_client dup = client_make("svc.billing", "cc33");
    assert_int_equal(store_client_create(s, &dup), STORE_CONFLICT);

    assert_int_equal(store_client_list(s, client_collect, &l), STORE_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.names[0], "SVC.billing"); /* byte order on both backends */
    assert_string_equal(l.names[1], "svc.billing");

    assert_int_equal(store_client_set_secret(s, "svc.billing", "dd44"), STORE_OK);
    assert_int_equal(store_client_get(s, "svc.billing", &got), STORE_OK);
    assert_string_equal(got.secret_hash, "dd44");
    assert_int_equal(store_client_set_secret(s, "nobody", "dd44"), STORE_NOT_FOUND);

    assert_int_equal(store_client_delete(s, "svc.billing"), STORE_OK);
    assert_int_equal(store_client_get(s, "svc.billing", &got), STORE_NOT_FOUND);
    assert_int_equal(store_client_delete(s, "svc.billing"), STORE_NOT_FOUND);
    /* A name used again is a new client: ids are never handed out twice. */
    dup = client_make("svc.billing", "ee55");
    assert_int_equal(store_client_create(s, &dup), STORE_OK);
    assert_true(dup.id > other.id);

    /* The limits: store.c refuses what no row may hold. */
    memset(long_name, 'c', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(store_client_get(s, long_name, &got), STORE_NOT_FOUND);
    assert_int_equal(store_client_get(s, "", &got), STORE_NOT_FOUND);
    store_client bad = client_make("", "aa");
    assert_int_equal(store_client_create(s, &bad), STORE_ERROR);
    bad = client_make("ok", "");
    assert_int_equal(store_client_create(s, &bad), STORE_ERROR);
    bad = client_make("ok", "aa");
    COPY(bad.roles[0], "Not,Valid");
    bad.nroles = 1;
    assert_int_equal(store_client_create(s, &bad), STORE_ERROR);
    assert_int_equal(store_client_set_secret(s, "svc.billing", ""), STORE_ERROR);
    assert_int_equal(store_client_list(s, NULL, NULL), STORE_ERROR);
    l.n = 0;
    assert_int_equal(store_client_list(s, client_collect, &l), STORE_OK);
    assert_int_equal(l.n, 2);
}

/* ---- Groups: one CTest test each (store.<group>) ---- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest users_tests[] = {
    T(test_user_create_and_get), T(test_user_not_found),   T(test_user_conflicts),
    T(test_user_bad_input),      T(test_user_list_paging), T(test_user_updates),
};
static const struct CMUnitTest refresh_tests[] = {
    T(test_refresh_insert_get),   T(test_refresh_rotate), T(test_refresh_revoked_family),
    T(test_user_families_revoke), T(test_refresh_purge),  T(test_refresh_concurrent_rotate),
};
static const struct CMUnitTest revocations_tests[] = {T(test_revocations)};
static const struct CMUnitTest clients_tests[] = {T(test_clients)};
static const struct CMUnitTest keys_tests[] = {T(test_keys)};
static const struct CMUnitTest audit_tests[] = {T(test_audit)};
static const struct CMUnitTest files_tests[] = {
    T(test_reopen_persists), T(test_schema_version), T(test_file_mode),
    T(test_open_urls),       T(test_read_only),      T(test_busy),
};
static const struct CMUnitTest durability_tests[] = {T(test_durability_kill9)};
static const struct CMUnitTest shared_tests[] = {
    T(test_key_retire_rule),
    T(test_key_rotate),
    T(test_key_rotate_concurrent),
    T(test_setting_get_or_init),
    T(test_lockout),
    T(test_hits),
    T(test_prune),
    T(test_ping_watch),
};
static const struct CMUnitTest server_tests[] = {
    T(test_pg_password_not_logged), T(test_pg_schema),      T(test_pg_concurrent_first_open),
    T(test_pg_connections_lost),    T(test_pg_server_down),
};

#define GROUP(name, tests)                                                                         \
    {                                                                                              \
        name, tests, sizeof(tests) / sizeof(tests)[0]                                              \
    }

static const struct test_group {
    const char *name;
    const struct CMUnitTest *tests;
    size_t count;
} groups[] = {
    GROUP("users", users_tests),
    GROUP("refresh", refresh_tests),
    GROUP("revocations", revocations_tests),
    GROUP("clients", clients_tests),
    GROUP("keys", keys_tests),
    GROUP("audit", audit_tests),
    GROUP("files", files_tests),
    GROUP("durability", durability_tests),
    GROUP("shared", shared_tests),
    GROUP("server", server_tests),
};

/* test_store [sqlite|postgres] [GROUP]: every group, or one, against one backend. */
int main(int argc, char **argv)
{
    int failed = 0, ran = 0;

    if (argc > 1 && (strcmp(argv[1], "sqlite") == 0 || strcmp(argv[1], "postgres") == 0)) {
        g_pg = strcmp(argv[1], "postgres") == 0;
        argc--;
        argv++;
    }
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (argc > 1 && strcmp(argv[1], groups[i].name) != 0)
            continue;
        /* Groups of one backend's cases are left out of the other's full run. */
        if (argc == 1 && strcmp(groups[i].name, g_pg ? "files" : "server") == 0)
            continue;
        if (argc == 1 && g_pg && strcmp(groups[i].name, "durability") == 0)
            continue;
        failed +=
            _cmocka_run_group_tests(groups[i].name, groups[i].tests, groups[i].count, NULL, NULL);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "test_store: no group named %s\n", argv[1]);
        return 2;
    }
    return failed;
}
