/* durability.kill9: a crash never loses an acknowledged write. 200 users register through
 * POST /register, a few at a time, and every tenth one logs out again; once 100 got their 201
 * the server is killed with SIGKILL while requests are in flight, restarted on the same
 * database, and then every user that got a 201 must log in, every acknowledged logout must
 * have revoked its refresh token, and every other acknowledged refresh token must still work.
 * The database is a SQLite file in WAL mode, or with --store postgres a fresh PostgreSQL
 * database (durability.pg.kill9; tests/support/testdb.h): there the kill -9 is of jwtd only,
 * and what it checks is that jwtd acknowledges a write only once PostgreSQL committed it.
 * Usage: durability --jwtd BIN --work DIR [--store sqlite|postgres [--pg-state DIR]]
 *                   [--serve-arg ARG]... */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "testdb.h"
#include "testserver.h"
#include "testutil.h"

#define USERS 200
#define KILL_AFTER 100     /* 201s before the SIGKILL */
#define LOGOUT_EVERY 10    /* every tenth registered user logs out before the crash */
#define IN_FLIGHT 4        /* concurrent requests */
#define PHASE_TIMEOUT_S 90 /* each phase, all requests together */
#define REQUEST_TIMEOUT_S 30
#define MAX_BODY 65536
#define SHOW_FAILURES 10

typedef enum job_kind { JOB_REGISTER, JOB_LOGOUT, JOB_LOGIN, JOB_REFRESH } job_kind;

typedef struct user {
    bool registered;  /* got 201 */
    bool logout_sent; /* its logout was sent: without a 204 its outcome is unknown */
    bool logged_out;  /* its logout got 204 */
    char *refresh;    /* from the 201 */
} user;

typedef struct job {
    job_kind kind;
    int user;
    char *body;
    size_t len;
    struct curl_slist *headers;
    char payload[4300];
} job;

typedef struct phase {
    CURLM *multi;
    const char *base;
    int running;
    CURL *inflight[IN_FLIGHT]; /* to drop them when a phase runs out of time */
} phase;

static user users[USERS];

static long now_s(void) { return testutil_now_ms() / 1000; }

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    job *j = ud;
    return testutil_append(&j->body, &j->len, MAX_BODY, data, size * n, NULL) ? size * n : 0;
}

static void username_of(int i, char *out, size_t len) { snprintf(out, len, "durable%03d", i); }
static void password_of(int i, char *out, size_t len)
{
    snprintf(out, len, "durable password %03d", i);
}

/* Queues one request of kind for user i on the phase's multi handle. */
static bool start_job(phase *p, job_kind kind, int i)
{
    job *j = calloc(1, sizeof *j);
    CURL *c = curl_easy_init();
    if (j == NULL || c == NULL) {
        free(j);
        curl_easy_cleanup(c);
        return false;
    }
    j->kind = kind;
    j->user = i;
    char name[32], pass[64];
    username_of(i, name, sizeof name);
    password_of(i, pass, sizeof pass);
    const char *path = "/login";
    switch (kind) {
    case JOB_REGISTER:
        path = "/register";
        /* fallthrough */
    case JOB_LOGIN:
        snprintf(j->payload, sizeof j->payload, "{\"username\":\"%s\",\"password\":\"%s\"}", name,
                 pass);
        break;
    case JOB_LOGOUT:
    case JOB_REFRESH:
        path = kind == JOB_LOGOUT ? "/logout" : "/refresh";
        snprintf(j->payload, sizeof j->payload, "{\"refresh_token\":\"%s\"}", users[i].refresh);
        break;
    }
    char url[256];
    snprintf(url, sizeof url, "%s%s", p->base, path);
    j->headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)REQUEST_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, j->headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->payload);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(c, CURLOPT_PRIVATE, j);
    size_t slot = 0;
    while (slot < IN_FLIGHT && p->inflight[slot] != NULL)
        slot++;
    if (slot == IN_FLIGHT || curl_multi_add_handle(p->multi, c) != CURLM_OK) {
        curl_slist_free_all(j->headers);
        free(j);
        curl_easy_cleanup(c);
        return false;
    }
    p->inflight[slot] = c;
    p->running++;
    return true;
}

static void finish_job(phase *p, CURL *c, job **out, long *status)
{
    curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)out);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_multi_remove_handle(p->multi, c);
    curl_easy_cleanup(c);
    for (size_t i = 0; i < IN_FLIGHT; i++)
        if (p->inflight[i] == c)
            p->inflight[i] = NULL;
    p->running--;
}

static void free_job(job *j)
{
    curl_slist_free_all(j->headers);
    free(j->body);
    free(j);
}

/* The refresh_token of a 201 body, or NULL. */
static char *refresh_of(const job *j)
{
    json_t *doc = j->body != NULL ? json_loads(j->body, 0, NULL) : NULL;
    const char *t = json_string_value(json_object_get(doc, "refresh_token"));
    char *copy = t != NULL && strlen(t) < 4096 ? strdup(t) : NULL;
    json_decref(doc);
    return copy;
}

/* Waits for activity; false when the phase ran out of time. */
static bool pump(phase *p, long deadline)
{
    if (now_s() > deadline)
        return false;
    int still = 0;
    curl_multi_perform(p->multi, &still);
    curl_multi_poll(p->multi, NULL, 0, 200, NULL);
    curl_multi_perform(p->multi, &still);
    return true;
}

/* Drops whatever is still in flight when a phase runs out of time. */
static void abandon(phase *p)
{
    for (size_t i = 0; i < IN_FLIGHT; i++) {
        if (p->inflight[i] == NULL)
            continue;
        job *j = NULL;
        curl_easy_getinfo(p->inflight[i], CURLINFO_PRIVATE, (char **)&j);
        curl_multi_remove_handle(p->multi, p->inflight[i]);
        curl_easy_cleanup(p->inflight[i]);
        p->inflight[i] = NULL;
        free_job(j);
    }
    p->running = 0;
}

/* Before the crash: registrations (and the logouts of every tenth user) until KILL_AFTER
 * 201s, then SIGKILL with requests still in flight. An answer that still arrives after the
 * kill was sent before it: it counts as acknowledged too. Returns the number of 201s. */
static int register_until_kill(testserver *ts, int *logouts, int *unexpected)
{
    phase p = {curl_multi_init(), ts->base, 0, {NULL}};
    int next = 0, created = 0, lost = 0, at_kill = 0;
    int pending_logout[USERS], n_pending = 0;
    long deadline = now_s() + PHASE_TIMEOUT_S;
    bool killed = false;
    while ((!killed && (next < USERS || n_pending > 0)) || p.running > 0) {
        if (!pump(&p, deadline)) {
            printf("# the registrations ran out of time (%d s)\n", PHASE_TIMEOUT_S);
            (*unexpected)++;
            break;
        }
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(p.multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            job *j = NULL;
            long status = 0;
            finish_job(&p, m->easy_handle, &j, &status);
            if (j->kind == JOB_REGISTER && status == 201) {
                users[j->user].registered = true;
                users[j->user].refresh = refresh_of(j);
                created++;
                if (users[j->user].refresh == NULL)
                    (*unexpected)++;
                else if (!killed && j->user % LOGOUT_EVERY == 0)
                    pending_logout[n_pending++] = j->user;
            } else if (j->kind == JOB_LOGOUT && status == 204) {
                users[j->user].logged_out = true;
                (*logouts)++;
            } else if (killed) {
                lost++;
            } else {
                (*unexpected)++;
                printf("# before the crash: %s %s -> %ld\n",
                       j->kind == JOB_REGISTER ? "register" : "logout", j->payload, status);
            }
            free_job(j);
            if (!killed && created >= KILL_AFTER) {
                /* The crash, with requests in flight: they may or may not have landed. */
                at_kill = p.running;
                testserver_kill9(ts);
                killed = true;
            }
        }
        while (!killed && p.running < IN_FLIGHT && (n_pending > 0 || next < USERS)) {
            bool ok;
            if (n_pending > 0) {
                int i = pending_logout[--n_pending];
                users[i].logout_sent = true;
                ok = start_job(&p, JOB_LOGOUT, i);
            } else {
                ok = start_job(&p, JOB_REGISTER, next++);
            }
            if (!ok) {
                (*unexpected)++;
                break;
            }
        }
    }
    printf("# kill -9 with %d request(s) in flight (%d lost) after %d of %d registrations were "
           "sent\n",
           at_kill, lost, next, USERS);
    abandon(&p);
    curl_multi_cleanup(p.multi);
    if (!killed)
        testserver_kill9(ts);
    return killed ? created : -1;
}

/* After the restart: one request per acknowledged write; counts what is wrong. */
static int check_after_restart(const testserver *ts, int *checked)
{
    phase p = {curl_multi_init(), ts->base, 0, {NULL}};
    int wrong = 0, shown = 0;
    /* Each acknowledged user: a login, and a refresh (or, after its logout, a refused one). */
    int next = 0, total = USERS * 2;
    long deadline = now_s() + PHASE_TIMEOUT_S;
    while ((next < total || p.running > 0) && pump(&p, deadline)) {
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(p.multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            job *j = NULL;
            long status = 0;
            finish_job(&p, m->easy_handle, &j, &status);
            const user *u = &users[j->user];
            long want = j->kind == JOB_LOGIN ? 200 : u->logged_out ? 401 : 200;
            /* A logout cut short by the crash may or may not have revoked the family. */
            bool unknown = j->kind == JOB_REFRESH && u->logout_sent && !u->logged_out &&
                           (status == 200 || status == 401);
            (*checked)++;
            if (status != want && !unknown) {
                wrong++;
                if (shown++ < SHOW_FAILURES) {
                    char name[32];
                    username_of(j->user, name, sizeof name);
                    printf("# %s after the restart: %s -> %ld, expected %ld%s\n", name,
                           j->kind == JOB_LOGIN ? "login" : "refresh", status, want,
                           users[j->user].logged_out ? " (its logout got 204)" : "");
                }
            }
            free_job(j);
        }
        while (p.running < IN_FLIGHT && next < total) {
            int i = next / 2;
            job_kind kind = next % 2 == 0 ? JOB_LOGIN : JOB_REFRESH;
            next++;
            if (users[i].registered && !start_job(&p, kind, i))
                wrong++;
        }
    }
    if (next < total || p.running > 0) {
        printf("# the checks ran out of time (%d s)\n", PHASE_TIMEOUT_S);
        wrong++;
    }
    abandon(&p);
    curl_multi_cleanup(p.multi);
    return wrong;
}

int main(int argc, char **argv)
{
    testutil_args opt = {0};
    testdb_args dbopt = {0};
    for (int i = 1; i < argc; i++)
        if (!testutil_take_arg(&opt, argc, argv, &i) && !testdb_take_arg(&dbopt, argc, argv, &i))
            opt.jwtd = NULL, i = argc;
    const char *jwtd = opt.jwtd, *work = opt.dir, *const *extra = opt.serve;
    size_t n_extra = opt.nserve;
    if (jwtd == NULL || work == NULL) {
        fprintf(stderr, "usage: durability --jwtd BIN --work DIR [--store sqlite|postgres "
                        "[--pg-state DIR]] [--serve-arg ARG]...\n");
        return 2;
    }
    testdb store;
    if (!testutil_fresh_dir(work, "durability") || !testdb_open(&store, &dbopt, work, "durability"))
        return 2;
    char log[4200], err[512], what[256];
    const char *db = store.url;
    snprintf(log, sizeof log, "%s/server.log", work);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    testserver ts = {0};
    bool up = testserver_start(&ts, jwtd, db, log, extra, n_extra, err, sizeof err);
    testutil_check(up, "%s", up ? "jwtd serve is listening" : err);
    int created = -1, logouts = 0, unexpected = 0;
    if (up) {
        created = register_until_kill(&ts, &logouts, &unexpected);
        snprintf(what, sizeof what, "%d registrations (and %d logouts) acknowledged, then kill -9",
                 created, logouts);
        testutil_check(created >= KILL_AFTER, "%s", what);
        snprintf(what, sizeof what, "no unexpected answer before the crash (%d)", unexpected);
        testutil_check(unexpected == 0, "%s", what);
        testutil_check(logouts > 0, "some logouts were acknowledged before the crash");
    }
    if (created >= KILL_AFTER) {
        up = testserver_start(&ts, jwtd, db, log, extra, n_extra, err, sizeof err);
        testutil_check(up, "%s", up ? "jwtd serve restarts on the same database" : err);
    }
    if (created >= KILL_AFTER && up) {
        int checked = 0, wrong = check_after_restart(&ts, &checked);
        snprintf(what, sizeof what,
                 "after the restart every acknowledged user logs in and every acknowledged "
                 "logout holds (%d checks, %d wrong)",
                 checked, wrong);
        testutil_check(wrong == 0 && checked == created * 2, "%s", what);
        char how[160];
        bool clean = testserver_stop(&ts, how, sizeof how);
        snprintf(what, sizeof what, "jwtd serve stops cleanly on SIGTERM (%s)", how);
        testutil_check(clean, "%s", what);
    }
    if (testutil_failed() > 0)
        testserver_print_log_end(&ts, 4000);
    if (ts.pid != 0)
        testserver_kill9(&ts);
    testdb_close(&store);
    for (int i = 0; i < USERS; i++)
        free(users[i].refresh);
    curl_global_cleanup();
    return testutil_summary();
}
