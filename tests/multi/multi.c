/* Several instances on one PostgreSQL database (issue 9): three `jwtd serve` on loopback ports
 * share a database of a PostgreSQL server that this program starts for itself
 * (tests/support/pgtest.sh with a state folder of its own, since it stops and restarts that
 * server), and a real nginx in front of them round robin for the load part. Each scenario
 * speaks as clients of its own addresses (X-Forwarded-For through the trusted proxy
 * 127.0.0.1), so that the per-IP limits of one never touch another.
 *
 *   1. three instances started at the same moment on an empty database all come up, the
 *      schema applied once, and they publish the same JWKS;
 *   2. a refresh token rotated through A and replayed through B revokes the family;
 *   3. one token refreshed through A and B at the same moment: exactly one new pair (the other
 *      gets the grace answer), and the family stays alive;
 *   4. logout-all through A: B refuses the access token within 1 s (measured, median and max);
 *      `jwtd user add` and `jwtd user disable` on the database: the same within 1 s;
 *   5. the account lockout counts failures through every instance;
 *   6. the per-IP limit counts requests through every instance;
 *   7. `jwtd keys rotate` on the database: every instance publishes and signs with the new key
 *      within 1 s;
 *   8. the database stopped under load: GET /me and the JWKS keep answering 200, writes answer
 *      503 JSON, /readyz 503 and /healthz says the store is down; started again, every
 *      instance writes again by itself, and nothing acknowledged before is lost;
 *   9. kill -9 of one instance under a mixed load through nginx: every acknowledged
 *      registration can log in, and no refresh token is usable twice.
 *
 *   multi --jwtd BIN --tmp DIR --nginx BIN [--serve-arg ARG]...
 *
 * Output: "ok N - ..." / "FAIL N - ..." lines and "P passed, F failed"; exit 0 when all pass. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "httpc.h"
#include "jwtd/jwtd.h"
#include "pgtest.h"
#include "testnginx.h"
#include "testserver.h"
#include "testutil.h"

#define N_INST 3
#define PASSWORD "correct horse battery"
#define PROPAGATION_ROUNDS 10
#define PROPAGATION_LIMIT_MS 1000 /* the bound */
#define POLL_MS 10
#define LOCKOUT_AFTER 5
#define LOGIN_RATE 4 /* per client address and minute, across the instances */
#define LOAD_THREADS 4
#define LOAD_MS 4000
#define KILL_AFTER_MS 1500
#define MAX_TOKENS 4096

static const char *g_jwtd, *g_dir, *g_nginx;
static char g_pgstate[4200], g_url[700], g_dbname[64];
static testserver g_ts[N_INST];
static const char *g_args[TESTSERVER_MAX_ARGS];
static size_t g_nargs;

/* ---- clients ---- */

/* A client address of its own: 10.x.y.z, never the same twice in a run. */
static void new_ip(char out[32])
{
    static atomic_uint next = 1;
    unsigned n = atomic_fetch_add(&next, 1);
    snprintf(out, 32, "10.%u.%u.%u", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

static const char *base(int i) { return g_ts[i].base; }

/* POST path {"username":name,"password":pw} to base from ip; the tokens of a 200/201 into
 * access/refresh (owned; NULL otherwise). */
static long credentials(const char *b, const char *path, const char *name, const char *pw,
                        const char *ip, char **access, char **refresh)
{
    char body[256];
    httpc_resp r;
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", name, pw);
    long st = httpc_request_from("POST", b, path, NULL, body, ip, &r);
    if (access != NULL)
        *access = st / 100 == 2 ? httpc_json_string(&r, "access_token") : NULL;
    if (refresh != NULL)
        *refresh = st / 100 == 2 ? httpc_json_string(&r, "refresh_token") : NULL;
    httpc_resp_free(&r);
    return st;
}

/* POST /refresh with token; the new pair of a 200 into access/refresh (owned). */
static long refresh_with(const char *b, const char *token, const char *ip, char **access,
                         char **refresh, httpc_resp *keep)
{
    char body[4200];
    httpc_resp r;
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", token);
    long st = httpc_request_from("POST", b, "/refresh", NULL, body, ip, &r);
    if (access != NULL)
        *access = st == 200 ? httpc_json_string(&r, "access_token") : NULL;
    if (refresh != NULL)
        *refresh = st == 200 ? httpc_json_string(&r, "refresh_token") : NULL;
    if (keep != NULL)
        *keep = r;
    else
        httpc_resp_free(&r);
    return st;
}

static long get_me(const char *b, const char *access)
{
    return httpc_request("GET", b, "/me", access, NULL, NULL);
}

/* The body of GET path (owned), or NULL when it did not answer 200. */
static char *get_body(const char *b, const char *path)
{
    httpc_resp r;
    char *body = NULL;
    if (httpc_request("GET", b, path, NULL, NULL, &r) == 200 && r.body != NULL)
        body = strdup(r.body);
    httpc_resp_free(&r);
    return body;
}

static bool jwks_has(int i, const char *kid)
{
    char *jwks = get_body(base(i), "/.well-known/jwks.json");
    char needle[128];
    snprintf(needle, sizeof needle, "\"kid\":\"%s\"", kid);
    bool found = jwks != NULL && strstr(jwks, needle) != NULL;
    free(jwks);
    return found;
}

/* The kid in the protected header of a compact token (owned), or NULL: libjwtd's peek,
 * which verifies nothing (the test compares it with the kid jwtd keys rotate printed). */
static char *token_kid(const char *token)
{
    char alg[16], kid[JWTD_MAX_KID_BYTES + 1];
    if (token == NULL || jwtd_insecure_peek_header(token, strlen(token), alg, sizeof alg, kid,
                                                   sizeof kid) != JWTD_OK)
        return NULL;
    return strdup(kid);
}

/* Polls cond(arg) every POLL_MS up to ms; the milliseconds it took, or -1. */
static long wait_for(bool (*cond)(void *), void *arg, long ms)
{
    long start = testutil_now_ms();
    for (;;) {
        long spent = testutil_now_ms() - start;
        if (cond(arg))
            return spent;
        if (spent > ms)
            return -1;
        testutil_sleep_ms(POLL_MS);
    }
}

/* ---- instances ---- */

typedef struct start_job {
    int i;
    bool ok;
    char err[256];
} start_job;

/* The starter threads of case 1 live until the end: a server started with
 * PR_SET_PDEATHSIG dies with the thread that forked it. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_started;
static bool g_done;

static void start_in_place(start_job *j)
{
    char log[4300];
    snprintf(log, sizeof log, "%s/jwtd-%c.log", g_dir, 'A' + j->i);
    j->ok =
        testserver_start(&g_ts[j->i], g_jwtd, g_url, log, g_args, g_nargs, j->err, sizeof j->err);
}

static void *start_one(void *arg)
{
    start_job *j = arg;
    start_in_place(j);
    pthread_mutex_lock(&g_mu);
    g_started++;
    pthread_cond_broadcast(&g_cv);
    while (!g_done)
        pthread_cond_wait(&g_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

/* Starts instance i anew (after a kill). */
static bool restart(int i)
{
    start_job j = {.i = i};
    start_in_place(&j);
    if (!j.ok)
        printf("# instance %c: %s\n", 'A' + i, j.err);
    return j.ok;
}

static pthread_t g_starters[N_INST];
static start_job g_jobs[N_INST];

/* 1: three instances at the same moment on an empty database. */
static bool case_start_together(void)
{
    start_job *jobs = g_jobs;
    bool all = true;
    for (int i = 0; i < N_INST; i++) {
        jobs[i] = (start_job){.i = i};
        pthread_create(&g_starters[i], NULL, start_one, &jobs[i]);
    }
    pthread_mutex_lock(&g_mu);
    while (g_started < N_INST)
        pthread_cond_wait(&g_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
    for (int i = 0; i < N_INST; i++) {
        if (!jobs[i].ok)
            printf("# instance %c: %s\n", 'A' + i, jobs[i].err);
        all = all && jobs[i].ok;
    }
    testutil_check(all,
                   "three instances started at the same moment on an empty database all serve");
    if (!all)
        return false;
    int64_t rows = -1, newest = -2;
    pgtest_sql(g_url, "SELECT count(*) FROM schema_version", &rows);
    pgtest_sql(g_url, "SELECT max(version) FROM schema_version", &newest);
    testutil_check(rows >= 1 && rows == newest,
                   "the schema was applied once (%lld migration rows, version %lld)",
                   (long long)rows, (long long)newest);
    /* Each may have made a first key; after a sync they all publish the same set. */
    long took = -1, start = testutil_now_ms();
    while (testutil_now_ms() - start < 3000) {
        char *j[N_INST];
        bool same = true;
        for (int i = 0; i < N_INST; i++)
            j[i] = get_body(base(i), "/.well-known/jwks.json");
        for (int i = 1; i < N_INST; i++)
            same = same && j[0] != NULL && j[i] != NULL && strcmp(j[0], j[i]) == 0;
        for (int i = 0; i < N_INST; i++)
            free(j[i]);
        if (same) {
            took = testutil_now_ms() - start;
            break;
        }
        testutil_sleep_ms(50);
    }
    testutil_check(took >= 0, "the three instances publish the same JWKS (after %ld ms)", took);
    return true;
}

/* 2: rotated through A, replayed through B after the grace window: the family is revoked. */
static void case_reuse_across(void)
{
    char ip[32], *a0 = NULL, *r0 = NULL, *a1 = NULL, *r1 = NULL;
    new_ip(ip);
    long st = credentials(base(0), "/register", "reuse-alice", PASSWORD, ip, &a0, &r0);
    testutil_check(st == 201 && r0 != NULL, "reuse: alice registered through A (%ld)", st);
    st = refresh_with(base(0), r0, ip, &a1, &r1, NULL);
    testutil_check(st == 200 && r1 != NULL, "reuse: refreshed through A (%ld)", st);
    testutil_sleep_ms(3100); /* past --refresh-grace 2, counted in whole seconds */
    httpc_resp r;
    st = refresh_with(base(1), r0, ip, NULL, NULL, &r);
    testutil_check(st == 401 && httpc_is_error(&r, "refresh token reuse detected"),
                   "reuse: the spent token replayed through B: 401 reuse detected (%ld %s)", st,
                   r.body != NULL ? r.body : "");
    httpc_resp_free(&r);
    st = refresh_with(base(0), r1, ip, NULL, NULL, NULL);
    testutil_check(st == 401,
                   "reuse: the family is revoked: the newest token fails through A (%ld)", st);
    free(a0), free(r0), free(a1), free(r1);
}

typedef struct race {
    const char *b, *token, *ip;
    pthread_barrier_t *go;
    long status;
    char *access, *refresh;
} race;

static void *race_one(void *arg)
{
    race *r = arg;
    pthread_barrier_wait(r->go);
    r->status = refresh_with(r->b, r->token, r->ip, &r->access, &r->refresh, NULL);
    return NULL;
}

/* 3: one refresh token through A and B at the same moment. */
static void case_concurrent_refresh(void)
{
    char ip[32], *a0 = NULL, *r0 = NULL;
    new_ip(ip);
    long st = credentials(base(0), "/register", "race-bob", PASSWORD, ip, &a0, &r0);
    testutil_check(st == 201, "race: bob registered (%ld)", st);
    int one_pair = 0, alive = 0;
    const int rounds = 5;
    for (int round = 0; round < rounds && r0 != NULL; round++) {
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        race rs[2] = {{base(0), r0, ip, &go, 0, NULL, NULL}, {base(1), r0, ip, &go, 0, NULL, NULL}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&th[i], NULL, race_one, &rs[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&go);
        int wins = (rs[0].status == 200) + (rs[1].status == 200);
        bool same = wins == 2 && strcmp(rs[0].refresh, rs[1].refresh) == 0;
        bool ok = (wins == 1 && (rs[0].status == 401 || rs[1].status == 401)) || same;
        one_pair += ok;
        if (!ok)
            printf("# round %d: A %ld, B %ld\n", round, rs[0].status, rs[1].status);
        /* The winner's new token goes on: the family was not revoked. */
        const char *next = rs[0].status == 200 ? rs[0].refresh : rs[1].refresh;
        char *r_next = NULL;
        if (next != NULL && refresh_with(base(round % 2), next, ip, NULL, &r_next, NULL) == 200)
            alive++;
        free(r0);
        r0 = r_next;
        for (int i = 0; i < 2; i++)
            free(rs[i].access), free(rs[i].refresh);
    }
    testutil_check(one_pair == rounds,
                   "race: %d of %d concurrent refreshes through A and B gave exactly one new pair "
                   "(the other: the grace answer)",
                   one_pair, rounds);
    testutil_check(alive == rounds, "race: the family stayed alive each time (%d of %d)", alive,
                   rounds);
    free(a0), free(r0);
}

typedef struct refused_arg {
    int inst;
    const char *access;
} refused_arg;

static bool refused_by(void *arg)
{
    refused_arg *r = arg;
    return get_me(base(r->inst), r->access) == 401;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* 4: logout-all through A; B refuses the access token within 1 s. */
static void case_logout_all_propagation(void)
{
    char ip[32], *access = NULL;
    long delays[PROPAGATION_ROUNDS];
    int n = 0;
    new_ip(ip);
    long st = credentials(base(0), "/register", "prop-carol", PASSWORD, ip, NULL, NULL);
    testutil_check(st == 201, "propagation: carol registered (%ld)", st);
    for (int round = 0; round < PROPAGATION_ROUNDS; round++) {
        char lip[32];
        new_ip(lip);
        if (credentials(base(0), "/login", "prop-carol", PASSWORD, lip, &access, NULL) != 200)
            break;
        testutil_sleep_ms(1100); /* logout-all revokes tokens issued up to its second */
        if (get_me(base(1), access) != 200 ||
            httpc_request("POST", base(0), "/logout-all", access, NULL, NULL) / 100 != 2) {
            free(access);
            break;
        }
        refused_arg ra = {1, access};
        delays[n++] = wait_for(refused_by, &ra, 5000);
        free(access);
        access = NULL;
    }
    qsort(delays, (size_t)n, sizeof delays[0], cmp_long);
    long max = n > 0 ? delays[n - 1] : -1, med = n > 0 ? delays[n / 2] : -1;
    testutil_check(n == PROPAGATION_ROUNDS && delays[0] >= 0 && max <= PROPAGATION_LIMIT_MS,
                   "propagation: a logout-all through A is refused by B within %d ms "
                   "(%d rounds: median %ld ms, max %ld ms)",
                   PROPAGATION_LIMIT_MS, n, med, max);
}

/* 4b: the command line on the shared database: `jwtd user add` there, a login through A,
 * then `jwtd user disable` there: B refuses the access token within 1 s. */
static void case_cli_disable(void)
{
    char out[4096], ip[32], *access = NULL;
    int rc = testutil_user_add(g_jwtd, g_url, "cli-gina", "user", PASSWORD, out, sizeof out);
    testutil_check(rc == 0, "cli: jwtd user add --db postgres://... (%d %.200s)", rc, out);
    new_ip(ip);
    long st = credentials(base(0), "/login", "cli-gina", PASSWORD, ip, &access, NULL);
    testutil_check(st == 200 && get_me(base(1), access) == 200,
                   "cli: gina, added by the command line, logs in through A; B accepts her token");
    const char *argv[] = {g_jwtd, "user", "disable", "cli-gina", "--db", g_url, NULL};
    rc = testserver_run(argv, NULL, out, sizeof out);
    refused_arg ra = {1, access};
    long took = rc == 0 ? wait_for(refused_by, &ra, 5000) : -1;
    testutil_check(took >= 0 && took <= PROPAGATION_LIMIT_MS,
                   "cli: jwtd user disable: B refuses her token within %d ms (%ld ms; exit %d)",
                   PROPAGATION_LIMIT_MS, took, rc);
    new_ip(ip);
    st = credentials(base(2), "/login", "cli-gina", PASSWORD, ip, NULL, NULL);
    testutil_check(st == 401, "cli: and C refuses her login (%ld)", st);
    free(access);
}

/* 5: failures through A and B add up to one lockout. */
static void case_shared_lockout(void)
{
    char ip[32];
    new_ip(ip);
    long st = credentials(base(0), "/register", "lock-dave", PASSWORD, ip, NULL, NULL);
    testutil_check(st == 201, "lockout: dave registered (%ld)", st);
    int fail401 = 0;
    for (int i = 0; i < 3; i++) {
        char lip[32];
        new_ip(lip);
        fail401 +=
            credentials(base(0), "/login", "lock-dave", "wrong password", lip, NULL, NULL) == 401;
    }
    for (int i = 0; i < LOCKOUT_AFTER - 3; i++) {
        char lip[32];
        new_ip(lip);
        fail401 +=
            credentials(base(1), "/login", "lock-dave", "wrong password", lip, NULL, NULL) == 401;
    }
    testutil_check(fail401 == LOCKOUT_AFTER,
                   "lockout: %d wrong passwords (3 through A, %d through B) answered 401", fail401,
                   LOCKOUT_AFTER - 3);
    char lip[32];
    new_ip(lip);
    /* A itself saw 3 failures, fewer than the 5 that lock: only the shared count can refuse. */
    st = credentials(base(0), "/login", "lock-dave", PASSWORD, lip, NULL, NULL);
    testutil_check(st == 429, "lockout: the right password through A is refused 429: locked (%ld)",
                   st);
    new_ip(lip);
    st = credentials(base(2), "/login", "lock-dave", PASSWORD, lip, NULL, NULL);
    testutil_check(st == 429, "lockout: and through C, which saw no failure (%ld)", st);
}

/* 6: one address's logins through A and B count against one limit. */
static void case_shared_ip_limit(void)
{
    char ip[32];
    new_ip(ip);
    int answered = 0;
    for (int i = 0; i < LOGIN_RATE; i++) {
        char who[32];
        snprintf(who, sizeof who, "nobody-%d", i); /* distinct names: no lockout involved */
        answered += credentials(base(i % 2), "/login", who, "whatever pw", ip, NULL, NULL) == 401;
    }
    testutil_check(answered == LOGIN_RATE,
                   "per-IP: %d logins from one address through A and B "
                   "answered (401: no such user)",
                   answered);
    httpc_resp r;
    char body[] = "{\"username\":\"nobody-x\",\"password\":\"whatever pw\"}";
    long st = httpc_request_from("POST", base(2), "/login", NULL, body, ip, &r);
    /* C's own bucket is full; only the shared window refuses. */
    testutil_check(st == 429 && r.retry_after,
                   "per-IP: the next one through C is refused 429 with Retry-After (%ld)", st);
    httpc_resp_free(&r);
}

typedef struct kid_arg {
    const char *kid;
} kid_arg;

static bool all_publish(void *arg)
{
    const kid_arg *k = arg;
    for (int i = 0; i < N_INST; i++)
        if (!jwks_has(i, k->kid))
            return false;
    return true;
}

/* 7: jwtd keys rotate on the database: every instance publishes and signs with the new key. */
static void case_keys_rotate(void)
{
    char out[4096];
    const char *argv[] = {g_jwtd, "keys", "rotate", "--db", g_url, NULL};
    int rc = testserver_run(argv, NULL, out, sizeof out);
    out[strcspn(out, "\r\n")] = '\0';
    testutil_check(rc == 0 && strlen(out) > 20, "keys: jwtd keys rotate --db postgres://... (%d)",
                   rc);
    if (rc != 0)
        return;
    kid_arg k = {out};
    long took = wait_for(all_publish, &k, 5000);
    testutil_check(took >= 0 && took <= PROPAGATION_LIMIT_MS,
                   "keys: every instance publishes the new key within %d ms (%ld ms)",
                   PROPAGATION_LIMIT_MS, took);
    int signed_new = 0;
    for (int i = 0; i < N_INST; i++) {
        char ip[32], *access = NULL, name[32];
        new_ip(ip);
        snprintf(name, sizeof name, "keys-user-%d", i);
        credentials(base(i), "/register", name, PASSWORD, ip, &access, NULL);
        char *kid = token_kid(access);
        signed_new += kid != NULL && strcmp(kid, out) == 0;
        free(kid);
        free(access);
    }
    testutil_check(signed_new == N_INST, "keys: every instance signs with it (%d of %d)",
                   signed_new, N_INST);
}

/* ---- 8: the database stopped under load ---- */

typedef struct reader {
    const char *access;
    atomic_bool stop;
    atomic_long ok, other;
} reader;

static void *read_loop(void *arg)
{
    reader *r = arg;
    for (int n = 0; !atomic_load(&r->stop); n++) {
        long st = get_me(base(n % 2), r->access);
        if (st == 200)
            atomic_fetch_add(&r->ok, 1);
        else
            atomic_fetch_add(&r->other, 1);
        testutil_sleep_ms(5);
    }
    return NULL;
}

static bool readyz_is(int inst, long want)
{
    return httpc_request("GET", base(inst), "/readyz", NULL, NULL, NULL) == want;
}

static bool b_ready_503(void *arg)
{
    (void)arg;
    return readyz_is(1, 503);
}

static bool both_ready(void *arg)
{
    (void)arg;
    return readyz_is(0, 200) && readyz_is(1, 200);
}

typedef struct write_arg {
    int inst;
} write_arg;

static bool writes_again(void *arg)
{
    write_arg *w = arg;
    char ip[32], name[48];
    static atomic_int n;
    new_ip(ip);
    snprintf(name, sizeof name, "after-%d", atomic_fetch_add(&n, 1));
    return credentials(base(w->inst), "/register", name, PASSWORD, ip, NULL, NULL) == 201;
}

static void case_database_down(void)
{
    char ip[32], *access = NULL;
    new_ip(ip);
    long st = credentials(base(0), "/register", "down-erin", PASSWORD, ip, &access, NULL);
    testutil_check(st == 201, "db down: erin registered before the outage (%ld)", st);
    reader rd = {.access = access};
    pthread_t th;
    pthread_create(&th, NULL, read_loop, &rd);
    testutil_sleep_ms(200);

    int rc = pgtest_script("pause", g_pgstate);
    testutil_check(rc == 0, "db down: PostgreSQL stopped (%d)", rc);
    long took = wait_for(b_ready_503, NULL, 5000);
    testutil_check(took >= 0, "db down: B's /readyz answers 503 (after %ld ms)", took);
    httpc_resp r;
    st = httpc_request("GET", base(1), "/healthz", NULL, NULL, &r);
    testutil_check(st == 200 && r.body != NULL && strstr(r.body, "\"store\":\"down\"") != NULL,
                   "db down: /healthz still answers 200 and says the store is down (%ld %s)", st,
                   r.body != NULL ? r.body : "");
    httpc_resp_free(&r);
    char *jwks = get_body(base(0), "/.well-known/jwks.json");
    testutil_check(jwks != NULL, "db down: the JWKS answers 200");
    free(jwks);
    new_ip(ip);
    char body[128];
    snprintf(body, sizeof body, "{\"username\":\"down-erin\",\"password\":\"%s\"}", PASSWORD);
    st = httpc_request_from("POST", base(0), "/login", NULL, body, ip, &r);
    testutil_check(st == 503 && httpc_is_error(&r, "service unavailable"),
                   "db down: POST /login answers 503 JSON (%ld %s)", st,
                   r.body != NULL ? r.body : "");
    httpc_resp_free(&r);
    new_ip(ip);
    st = credentials(base(1), "/register", "down-frank", PASSWORD, ip, NULL, NULL);
    testutil_check(st == 503, "db down: POST /register answers 503 (%ld)", st);
    testutil_sleep_ms(1000); /* GET /me goes on meanwhile */

    rc = pgtest_script("resume", g_pgstate);
    testutil_check(rc == 0, "db back: PostgreSQL started again (%d)", rc);
    for (int i = 0; i < 2; i++) {
        write_arg w = {i};
        took = wait_for(writes_again, &w, 20000);
        testutil_check(took >= 0, "db back: %c registers users again by itself (after %ld ms)",
                       'A' + i, took);
    }
    atomic_store(&rd.stop, true);
    pthread_join(th, NULL);
    testutil_check(atomic_load(&rd.ok) > 20 && atomic_load(&rd.other) == 0,
                   "db down: GET /me answered 200 throughout (%ld times, %ld otherwise)",
                   atomic_load(&rd.ok), atomic_load(&rd.other));
    took = wait_for(both_ready, NULL, 5000);
    testutil_check(took >= 0, "db back: /readyz answers 200 again on A and B (after %ld ms)", took);
    new_ip(ip);
    st = credentials(base(1), "/login", "down-erin", PASSWORD, ip, NULL, NULL);
    testutil_check(st == 200, "db back: erin, acknowledged before the outage, logs in (%ld)", st);
    free(access);
}

/* ---- 9: kill -9 under a mixed load through nginx ---- */

typedef struct ledger {
    pthread_mutex_t mu;
    char *users[MAX_TOKENS];
    size_t nusers;
    char *spent[MAX_TOKENS]; /* refresh tokens whose rotation was acknowledged */
    size_t nspent;
} ledger;

typedef struct loader {
    int id;
    const char *front;
    ledger *l;
    long until;
} loader;

static void ledger_add(ledger *l, char **v, size_t *n, const char *s)
{
    pthread_mutex_lock(&l->mu);
    if (*n < MAX_TOKENS)
        v[(*n)++] = strdup(s);
    pthread_mutex_unlock(&l->mu);
}

static void *load_loop(void *arg)
{
    loader *ld = arg;
    for (int n = 0; testutil_now_ms() < ld->until; n++) {
        char ip[32], name[48], *access = NULL, *rt = NULL;
        new_ip(ip);
        snprintf(name, sizeof name, "load-%d-%d", ld->id, n);
        if (credentials(ld->front, "/register", name, PASSWORD, ip, &access, &rt) != 201) {
            testutil_sleep_ms(20);
            continue;
        }
        ledger_add(ld->l, ld->l->users, &ld->l->nusers, name);
        for (int k = 0; k < 3 && rt != NULL; k++) {
            char *next = NULL;
            if (refresh_with(ld->front, rt, ip, NULL, &next, NULL) == 200) {
                ledger_add(ld->l, ld->l->spent, &ld->l->nspent, rt);
                free(rt);
                rt = next;
            }
        }
        if (n % 3 == 0 && access != NULL)
            httpc_request("POST", ld->front, "/logout-all", access, NULL, NULL);
        free(access);
        free(rt);
    }
    return NULL;
}

static void case_kill9_under_load(void)
{
    testnginx ng;
    char ngdir[4300];
    int ports[N_INST];
    for (int i = 0; i < N_INST; i++)
        ports[i] = g_ts[i].port;
    snprintf(ngdir, sizeof ngdir, "%s/nginx", g_dir);
    bool up =
        testnginx_start(&ng, g_nginx, ngdir, ports, N_INST, "$request_uri|$upstream_addr|$status");
    testutil_check(up, "load: nginx round robin over the three instances");
    if (!up)
        return;
    char front[64];
    snprintf(front, sizeof front, "http://127.0.0.1:%d", ng.port);
    ledger l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    loader ld[LOAD_THREADS];
    pthread_t th[LOAD_THREADS];
    long until = testutil_now_ms() + LOAD_MS;
    for (int i = 0; i < LOAD_THREADS; i++) {
        ld[i] = (loader){i, front, &l, until};
        pthread_create(&th[i], NULL, load_loop, &ld[i]);
    }
    testutil_sleep_ms(KILL_AFTER_MS);
    testserver_kill9(&g_ts[0]);
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(th[i], NULL);
    testnginx_stop(&ng);
    testutil_check(l.nusers > 10 && l.nspent > 10,
                   "load: %zu registrations and %zu refreshes acknowledged around a kill -9 of A",
                   l.nusers, l.nspent);
    size_t logged = 0, reused = 0;
    for (size_t i = 0; i < l.nusers; i++) {
        char ip[32];
        new_ip(ip);
        logged += credentials(base(1 + (int)(i % 2)), "/login", l.users[i], PASSWORD, ip, NULL,
                              NULL) == 200;
        free(l.users[i]);
    }
    for (size_t i = 0; i < l.nspent; i++) {
        char ip[32];
        new_ip(ip);
        reused += refresh_with(base(1 + (int)(i % 2)), l.spent[i], ip, NULL, NULL, NULL) == 200;
        free(l.spent[i]);
    }
    testutil_check(logged == l.nusers,
                   "load: every acknowledged user logs in through B or C "
                   "(%zu of %zu)",
                   logged, l.nusers);
    testutil_check(reused == 0, "load: no spent refresh token is usable again (%zu were)", reused);
    testutil_check(restart(0), "load: A starts again on the same database");
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr, "usage: multi --jwtd BIN --tmp DIR --nginx BIN [--serve-arg ARG]...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    testutil_args a = {0};
    for (int i = 1; i < argc; i++) {
        if (testutil_take_arg(&a, argc, argv, &i))
            continue;
        if (strcmp(argv[i], "--nginx") == 0 && i + 1 < argc)
            g_nginx = argv[++i];
        else
            usage();
    }
    if (a.jwtd == NULL || a.dir == NULL || g_nginx == NULL)
        usage();
    g_jwtd = a.jwtd;
    g_dir = a.dir;
    for (size_t i = 0; i < a.nserve; i++)
        g_args[g_nargs++] = a.serve[i];
    if (!testutil_fresh_dir(g_dir, "multi"))
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    setvbuf(stdout, NULL, _IOLBF, 0);

    snprintf(g_pgstate, sizeof g_pgstate, "%s/pg", g_dir);
    int rc = pgtest_script("start", g_pgstate);
    testutil_check(rc == 0, "setup: a PostgreSQL server of this test's own (%d)", rc);
    bool db = rc == 0 && pgtest_db_create(g_pgstate, g_url, sizeof g_url, g_dbname);
    testutil_check(db, "setup: an empty database");
    if (db && case_start_together()) {
        case_reuse_across();
        case_concurrent_refresh();
        case_logout_all_propagation();
        case_cli_disable();
        case_shared_lockout();
        case_shared_ip_limit();
        case_keys_rotate();
        case_database_down();
        case_kill9_under_load();
    }
    for (int i = 0; i < N_INST; i++) {
        char how[128];
        if (g_ts[i].pid > 0 && !testserver_stop(&g_ts[i], how, sizeof how))
            testutil_check(false, "instance %c stopped cleanly (%s)", 'A' + i, how);
        if (testutil_failed() > 0)
            testserver_print_log_end(&g_ts[i], 3000);
    }
    pthread_mutex_lock(&g_mu);
    g_done = true;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    for (int i = 0; i < g_started; i++)
        pthread_join(g_starters[i], NULL);
    pgtest_script("stop", g_pgstate);
    curl_global_cleanup();
    return testutil_summary();
}
