/* durability.kill9_mixed: a crash under a mixed load never loses an acknowledged write and
 * never makes a refresh token usable twice.
 *
 * CLIENTS threads each play users one after the other against a real `jwtd serve`
 * (--refresh-grace 0: any second presentation of a refresh token is reuse): register (family
 * A: token A0), refresh A0 -> A1, refresh A1 -> A2, login (family B: B0), refresh B0 -> B1,
 * then, by the user's number, logout of A2, logout-all, logout of B1, or nothing. Once
 * KILL_AFTER requests were acknowledged the server gets SIGKILL with each client's request in
 * flight; that request's outcome is unknown. The server restarts on the same database (a
 * SQLite file, or with --store postgres a fresh PostgreSQL database: durability.pg.kill9_mixed,
 * where the kill -9 is of jwtd only and PostgreSQL rolls back the transactions of the
 * connections it lost; tests/support/testdb.h), and then, for every user:
 *   - an acknowledged registration logs in;
 *   - after an acknowledged logout-all every access token issued before it is refused
 *     (GET /me 401); without one the last access token still works (200);
 *   - a family whose logout (or logout-all) was acknowledged refuses each of its tokens;
 *   - a live family is checked one of two ways, alternating: "latest first": its newest
 *     token rotates exactly once (200, then 401), and the token that rotation returned is
 *     then refused, because presenting a spent token again revoked the family; "replaced
 *     first": the token replaced by the last acknowledged rotation is refused (the rotation
 *     persisted), and that revokes the family, so the newest token is refused too;
 *   - every refresh token the clients ever held is presented twice, and for each, the
 *     rotations acknowledged before the crash plus those that succeed after it are at most
 *     one, also for the tokens whose rotation was in flight at the crash.
 * Usage: durability_mixed --jwtd BIN --work DIR [--store sqlite|postgres [--pg-state DIR]]
 *                         [--serve-arg ARG]... */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>

#include "httpc.h"
#include "testdb.h"
#include "testserver.h"
#include "testutil.h"

#define CLIENTS 4
#define USERS_PER_CLIENT 64
#define KILL_AFTER 240      /* acknowledged requests before the SIGKILL */
#define LOAD_TIMEOUT_S 90   /* until the kill */
#define CHECK_TIMEOUT_S 120 /* all the checks after the restart */
#define SHOW_FAILURES 12
#define FAMILIES 2
#define FAMILY_TOKENS 3
#define ACCESS_TOKENS 6 /* a user gets 5: register, two rotations, login, one rotation */

typedef struct rtoken {
    char *value;
    int pre_uses;        /* rotations acknowledged before the crash (0 or 1) */
    bool rotate_unknown; /* its rotation was in flight at the crash */
    int post_uses;       /* successful rotations after the restart */
} rtoken;

typedef struct family {
    rtoken tok[FAMILY_TOKENS];
    int ntok;
    bool revoked;        /* a logout or logout-all of it was acknowledged */
    bool revoke_unknown; /* ... was in flight at the crash */
} family;

typedef struct muser {
    char name[32];
    bool registered, reg_unknown;
    family fam[FAMILIES];
    char *access[ACCESS_TOKENS];
    int naccess;
    bool logout_all, logout_all_unknown;
} muser;

typedef struct client {
    int id;
    const char *base;
    pthread_t thread;
    muser users[USERS_PER_CLIENT];
    int nusers;
    int unexpected; /* answers that should not have come before the crash */
    char first_unexpected[256];
    /* acknowledged before the crash, by kind */
    int acks_register, acks_refresh, acks_login, acks_logout, acks_logout_all, unknown;
} client;

static client clients[CLIENTS];
static atomic_int acks;
static atomic_bool killed;
static pid_t server_pid; /* set before the clients start */
static long load_deadline;

static long now_s(void) { return testutil_now_ms() / 1000; }

static void creds(const muser *u, char *out, size_t len)
{
    snprintf(out, len, "{\"username\":\"%s\",\"password\":\"password of %s\"}", u->name, u->name);
}

static void refresh_body(const char *token, char *out, size_t len)
{
    snprintf(out, len, "{\"refresh_token\":\"%s\"}", token);
}

static void add_access(muser *u, char *token)
{
    if (token != NULL && u->naccess < ACCESS_TOKENS)
        u->access[u->naccess++] = token;
    else
        free(token);
}

/* ---- The load ---- */

typedef enum outcome { ACKED, UNKNOWN, STOP } outcome;

/* Sends one request of the load. ACKED when the answer has status want (r filled), UNKNOWN
 * when no answer came because of the crash, STOP when the load is over (nothing sent) or the
 * answer was unexpected (counted). */
static outcome load_request(client *c, const char *what, const char *path, const char *bearer,
                            const char *json, long want, httpc_resp *r)
{
    memset(r, 0, sizeof *r);
    if (atomic_load(&killed))
        return STOP;
    if (now_s() > load_deadline) {
        c->unexpected++;
        snprintf(c->first_unexpected, sizeof c->first_unexpected, "the load ran out of time");
        return STOP;
    }
    long st = httpc_request("POST", c->base, path, bearer, json, r);
    if (st == want) {
        /* The client whose answer makes KILL_AFTER crashes the server at once, while the
         * other clients' requests are in flight. */
        if (atomic_fetch_add(&acks, 1) + 1 == KILL_AFTER) {
            atomic_store(&killed, true);
            kill(server_pid, SIGKILL);
        }
        return ACKED;
    }
    if (st == 0 && atomic_load(&killed)) {
        c->unknown++;
        httpc_resp_free(r);
        return UNKNOWN;
    }
    if (c->unexpected++ == 0)
        snprintf(c->first_unexpected, sizeof c->first_unexpected, "%s -> %ld %.120s", what, st,
                 r->body != NULL ? r->body : "");
    httpc_resp_free(r);
    return STOP;
}

/* Appends the pair of a 200/201 to family f of u; false when the answer had no tokens. */
static bool keep_pair(client *c, muser *u, int f, httpc_resp *r)
{
    char *rt = httpc_json_string(r, "refresh_token"), *at = httpc_json_string(r, "access_token");
    family *fam = &u->fam[f];
    httpc_resp_free(r);
    if (rt == NULL || at == NULL || fam->ntok == FAMILY_TOKENS) {
        free(rt);
        free(at);
        if (c->unexpected++ == 0)
            snprintf(c->first_unexpected, sizeof c->first_unexpected,
                     "a success without a token pair");
        return false;
    }
    fam->tok[fam->ntok++].value = rt;
    add_access(u, at);
    return true;
}

static bool op_register(client *c, muser *u)
{
    char json[256];
    httpc_resp r;
    creds(u, json, sizeof json);
    outcome o = load_request(c, "register", "/register", NULL, json, 201, &r);
    if (o == UNKNOWN)
        u->reg_unknown = true;
    if (o != ACKED)
        return false;
    u->registered = true;
    c->acks_register++;
    return keep_pair(c, u, 0, &r);
}

static bool op_login(client *c, muser *u)
{
    char json[256];
    httpc_resp r;
    creds(u, json, sizeof json);
    /* A login lost in the crash leaves at most a family nobody holds a token of. */
    if (load_request(c, "login", "/login", NULL, json, 200, &r) != ACKED)
        return false;
    c->acks_login++;
    return keep_pair(c, u, 1, &r);
}

/* Rotates the newest token of family f. */
static bool op_refresh(client *c, muser *u, int f)
{
    char json[4400];
    httpc_resp r;
    rtoken *t = &u->fam[f].tok[u->fam[f].ntok - 1];
    refresh_body(t->value, json, sizeof json);
    outcome o = load_request(c, "refresh", "/refresh", NULL, json, 200, &r);
    if (o == UNKNOWN)
        t->rotate_unknown = true;
    if (o != ACKED)
        return false;
    t->pre_uses = 1;
    c->acks_refresh++;
    return keep_pair(c, u, f, &r);
}

/* Logs out with the newest token of family f. */
static bool op_logout(client *c, muser *u, int f)
{
    char json[4400];
    httpc_resp r;
    refresh_body(u->fam[f].tok[u->fam[f].ntok - 1].value, json, sizeof json);
    outcome o = load_request(c, "logout", "/logout", NULL, json, 204, &r);
    if (o == UNKNOWN)
        u->fam[f].revoke_unknown = true;
    if (o != ACKED)
        return false;
    httpc_resp_free(&r);
    u->fam[f].revoked = true;
    c->acks_logout++;
    return true;
}

static bool op_logout_all(client *c, muser *u)
{
    httpc_resp r;
    outcome o =
        load_request(c, "logout-all", "/logout-all", u->access[u->naccess - 1], NULL, 204, &r);
    for (int f = 0; f < FAMILIES; f++) {
        if (o == UNKNOWN)
            u->fam[f].revoke_unknown = true;
        if (o == ACKED)
            u->fam[f].revoked = true;
    }
    if (o == UNKNOWN)
        u->logout_all_unknown = true;
    if (o != ACKED)
        return false;
    httpc_resp_free(&r);
    u->logout_all = true;
    c->acks_logout_all++;
    return true;
}

static void *client_main(void *arg)
{
    client *c = arg;
    for (int k = 0; k < USERS_PER_CLIENT; k++) {
        muser *u = &c->users[k];
        snprintf(u->name, sizeof u->name, "mixed%d_%02d", c->id, k);
        c->nusers = k + 1;
        if (!op_register(c, u) || !op_refresh(c, u, 0) || !op_refresh(c, u, 0) || !op_login(c, u) ||
            !op_refresh(c, u, 1))
            break;
        bool go = true;
        switch (k % 4) {
        case 0: go = op_logout(c, u, 0); break;
        case 1: go = op_logout_all(c, u); break;
        case 2: go = op_logout(c, u, 1); break;
        default: break;
        }
        if (!go)
            break;
    }
    return NULL;
}

/* ---- The checks after the restart ---- */

typedef struct checks {
    const char *base;
    long deadline;
    int done, wrong, shown;
    int twice; /* refresh tokens used twice or more in all */
} checks;

static void wrong(checks *k, const muser *u, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void wrong(checks *k, const muser *u, const char *fmt, ...)
{
    k->wrong++;
    if (k->shown++ >= SHOW_FAILURES)
        return;
    va_list ap;
    printf("# %s after the restart: ", u->name);
    va_start(ap, fmt);
    /* clang-tidy 14 false positive: va_start is just above */
    vprintf(fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    printf("\n");
}

static bool in_time(checks *k) { return now_s() <= k->deadline; }

/* Presents t once; counts a success. Returns the status; *next (may be NULL) gets the
 * refresh token a 200 returned. Any status but 200 and 401 is wrong. */
static long present(checks *k, const muser *u, rtoken *t, const char *label, char **next)
{
    char json[4400];
    httpc_resp r;
    refresh_body(t->value, json, sizeof json);
    long st = httpc_request("POST", k->base, "/refresh", NULL, json, &r);
    k->done++;
    if (st == 200) {
        t->post_uses++;
        if (next != NULL)
            *next = httpc_json_string(&r, "refresh_token");
    } else if (st != 401) {
        wrong(k, u, "refresh with %s -> %ld, expected 200 or 401", label, st);
    }
    httpc_resp_free(&r);
    return st;
}

/* Presents t twice and expects two refusals. */
static void refused_twice(checks *k, const muser *u, rtoken *t, const char *label)
{
    for (int i = 0; i < 2; i++) {
        long st = present(k, u, t, label, NULL);
        if (st == 200)
            wrong(k, u, "refresh with %s (try %d) -> 200, expected 401", label, i + 1);
    }
}

static void check_family(checks *k, const muser *u, family *fam, bool latest_first)
{
    if (fam->ntok == 0)
        return;
    rtoken *latest = &fam->tok[fam->ntok - 1];
    if (fam->revoked) {
        for (int i = fam->ntok - 1; i >= 0; i--)
            refused_twice(k, u, &fam->tok[i], "a token of a logged-out family");
        return;
    }
    if (fam->revoke_unknown || latest->rotate_unknown) {
        /* Cut short by the crash: either outcome, but never a second use (counted below). */
        for (int i = fam->ntok - 1; i >= 0; i--) {
            present(k, u, &fam->tok[i], "a token whose rotation or logout was in flight", NULL);
            present(k, u, &fam->tok[i], "a token whose rotation or logout was in flight", NULL);
        }
        return;
    }
    int older = fam->ntok - 1; /* tokens left to refuse */
    if (latest_first || fam->ntok == 1) {
        char *next = NULL;
        long st = present(k, u, latest, "the newest acknowledged token", &next);
        if (st != 200)
            wrong(k, u, "refresh with the newest acknowledged token -> %ld, expected 200", st);
        st = present(k, u, latest, "the newest token, again", NULL);
        if (st != 401)
            wrong(k, u, "refresh with the newest token again -> %ld, expected 401", st);
        if (next != NULL) {
            rtoken fresh = {next, 0, false, 0};
            st = present(k, u, &fresh, "the token of the rotation after the restart", NULL);
            if (st != 401)
                wrong(k, u,
                      "the token returned before a reuse -> %ld, expected 401 (family revoked)",
                      st);
            free(next);
        }
    } else {
        rtoken *replaced = &fam->tok[fam->ntok - 2];
        refused_twice(k, u, replaced, "the token replaced by the last acknowledged rotation");
        long st = present(k, u, latest, "the newest token after a reuse", NULL);
        if (st != 401)
            wrong(k, u, "the newest token after a reuse -> %ld, expected 401 (family revoked)", st);
        older = fam->ntok - 2;
    }
    for (int i = older - 1; i >= 0; i--)
        refused_twice(k, u, &fam->tok[i], "a token replaced before the crash");
}

static void check_user(checks *k, int cid, int n, muser *u)
{
    char json[256];
    creds(u, json, sizeof json);
    if (u->registered || u->reg_unknown) {
        long st = httpc_request("POST", k->base, "/login", NULL, json, NULL);
        k->done++;
        if (u->registered ? st != 200 : st != 200 && st != 401)
            wrong(k, u, "login -> %ld, expected 200%s", st,
                  u->registered ? " (its registration got 201)" : " or 401");
    }
    if (u->logout_all) {
        for (int i = 0; i < u->naccess; i++) {
            long st = httpc_request("GET", k->base, "/me", u->access[i], NULL, NULL);
            k->done++;
            if (st != 401)
                wrong(k, u,
                      "GET /me with access token %d of %d -> %ld, expected 401 "
                      "(its logout-all got 204)",
                      i + 1, u->naccess, st);
        }
    } else if (!u->logout_all_unknown && u->naccess > 0) {
        long st = httpc_request("GET", k->base, "/me", u->access[u->naccess - 1], NULL, NULL);
        k->done++;
        if (st != 200)
            wrong(k, u, "GET /me with the newest access token -> %ld, expected 200", st);
    }
    for (int f = 0; f < FAMILIES; f++)
        check_family(k, u, &u->fam[f], (cid + n + f) % 2 == 0);
    for (int f = 0; f < FAMILIES; f++) {
        for (int i = 0; i < u->fam[f].ntok; i++) {
            rtoken *t = &u->fam[f].tok[i];
            if (t->pre_uses + t->post_uses > 1) {
                k->twice++;
                wrong(k, u,
                      "a refresh token of family %c rotated %d time(s) before the crash "
                      "and %d after it",
                      'A' + f, t->pre_uses, t->post_uses);
            }
        }
    }
}

int main(int argc, char **argv)
{
    testutil_args opt = {0};
    testdb_args dbopt = {0};
    for (int i = 1; i < argc; i++)
        if (!testutil_take_arg(&opt, argc, argv, &i) && !testdb_take_arg(&dbopt, argc, argv, &i))
            opt.jwtd = NULL, i = argc;
    const char *jwtd = opt.jwtd, *work = opt.dir, **extra = opt.serve;
    size_t n_extra = opt.nserve;
    if (jwtd == NULL || work == NULL) {
        fprintf(stderr, "usage: durability_mixed --jwtd BIN --work DIR [--store sqlite|postgres "
                        "[--pg-state DIR]] [--serve-arg ARG]...\n");
        return 2;
    }
    /* No grace window: any second presentation of a spent token is reuse. */
    extra[n_extra++] = "--refresh-grace";
    extra[n_extra++] = "0";
    testdb store;
    if (!testutil_fresh_dir(work, "durability_mixed") ||
        !testdb_open(&store, &dbopt, work, "durability_mixed"))
        return 2;
    char log[4200], err[512];
    const char *db = store.url;
    snprintf(log, sizeof log, "%s/server.log", work);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    testserver ts = {0};
    bool up = testserver_start(&ts, jwtd, db, log, extra, n_extra, err, sizeof err);
    testutil_check(up, "%s", up ? "jwtd serve is listening (--refresh-grace 0)" : err);
    bool crashed = false;
    if (up) {
        load_deadline = now_s() + LOAD_TIMEOUT_S;
        server_pid = ts.pid;
        int started = 0;
        for (int i = 0; i < CLIENTS; i++) {
            clients[i].id = i;
            clients[i].base = ts.base;
            if (pthread_create(&clients[i].thread, NULL, client_main, &clients[i]) == 0)
                started++;
            else
                clients[i].thread = 0;
        }
        testutil_check(started == CLIENTS, "%d concurrent clients started", started);
        while (!atomic_load(&killed) && now_s() <= load_deadline)
            testutil_sleep_ms(2);
        crashed = atomic_load(&killed);
        atomic_store(&killed, true);
        testserver_kill9(&ts); /* reaps the server the client killed */
        for (int i = 0; i < CLIENTS; i++)
            if (clients[i].thread != 0)
                pthread_join(clients[i].thread, NULL);
        int unexpected = 0, reg = 0, rot = 0, login = 0, lo = 0, loa = 0, unknown = 0;
        for (int i = 0; i < CLIENTS; i++) {
            client *c = &clients[i];
            unexpected += c->unexpected;
            if (c->unexpected > 0)
                printf("# client %d before the crash: %s\n", i, c->first_unexpected);
            reg += c->acks_register;
            rot += c->acks_refresh;
            login += c->acks_login;
            lo += c->acks_logout;
            loa += c->acks_logout_all;
            unknown += c->unknown;
        }
        testutil_check(crashed,
                       "kill -9 after %d acknowledged requests (%d registrations, %d logins, "
                       "%d rotations, %d logouts, %d logout-alls), %d in flight",
                       atomic_load(&acks), reg, login, rot, lo, loa, unknown);
        testutil_check(unexpected == 0, "no unexpected answer before the crash (%d)", unexpected);
        testutil_check(reg > 0 && rot > 0 && login > 0 && lo > 0 && loa > 0,
                       "every kind of write was acknowledged before the crash");
    }
    if (crashed) {
        up = testserver_start(&ts, jwtd, db, log, extra, n_extra, err, sizeof err);
        testutil_check(up, "%s", up ? "jwtd serve restarts on the same database" : err);
    }
    if (crashed && up) {
        checks k = {ts.base, now_s() + CHECK_TIMEOUT_S, 0, 0, 0, 0};
        int users = 0;
        for (int i = 0; i < CLIENTS && in_time(&k); i++)
            for (int n = 0; n < clients[i].nusers && in_time(&k); n++, users++)
                check_user(&k, i, n, &clients[i].users[n]);
        testutil_check(in_time(&k), "the checks finished in time (%d s)", CHECK_TIMEOUT_S);
        testutil_check(k.wrong == 0,
                       "after the restart every acknowledged registration, rotation and revocation "
                       "holds (%d users, %d requests, %d wrong)",
                       users, k.done, k.wrong);
        testutil_check(k.twice == 0, "no refresh token was usable twice across the crash (%d were)",
                       k.twice);
        char how[160];
        bool clean = testserver_stop(&ts, how, sizeof how);
        testutil_check(clean, "jwtd serve stops cleanly on SIGTERM (%s)", how);
    }
    if (testutil_failed() > 0)
        testserver_print_log_end(&ts, 4000);
    if (ts.pid != 0)
        testserver_kill9(&ts);
    testdb_close(&store);
    for (int i = 0; i < CLIENTS; i++) {
        for (int n = 0; n < clients[i].nusers; n++) {
            muser *u = &clients[i].users[n];
            for (int f = 0; f < FAMILIES; f++)
                for (int t = 0; t < u->fam[f].ntok; t++)
                    free(u->fam[f].tok[t].value);
            for (int a = 0; a < u->naccess; a++)
                free(u->access[a]);
        }
    }
    curl_global_cleanup();
    return testutil_summary();
}
