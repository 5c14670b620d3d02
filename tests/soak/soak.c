/* soak: a bounded soak of jwtd serve (issue 4, "Soak"). Starts a real `jwtd serve` on a real
 * SQLite file, or with --store postgres on a fresh PostgreSQL database (soak.pg.short: the
 * fixture `postgres`'s server; `make soak SOAK_STORE=postgres`: a server of its own in
 * --pg-state DIR; tests/support/testdb.h), or attaches to a running one with --url, then for
 * --seconds keeps --inflight requests in flight (closed loop: as fast as the server answers) with a
 * realistic mix: mostly GET /me with valid access tokens, and registrations, logins, refresh
 * rotations, logouts, logout-all, wrong-password logins, the JWKS and /healthz. It remembers every
 * acknowledged write, samples the server's RSS every second, and at the end checks and prints:
 *   - requests, req/s and latency p50/p99 per kind, status classes;
 *   - zero 5xx, zero transport errors, zero unexpected answers (a 401 only for a wrong
 *     password or a revoked token; every body of a success is the JSON it should be);
 *   - zero lost writes: every user that got its 201 logs in, every refresh token whose
 *     logout (or logout-all) got its 204 is refused, every access token of a logout-all is
 *     refused, every session's latest refresh token (the last rotation acknowledged) still
 *     rotates. All of them, in random order, within a time budget (--check-seconds); a budget
 *     too short to check at least CHECK_MIN of each kind fails;
 *   - RSS flat after warm-up: warm-up is the first 25% of the run; the RSS at the end of the
 *     load must not exceed the RSS at the end of warm-up by more than 10% + 8 MiB (the
 *     margin is explained in docs/BENCHMARKS.md, "Soak");
 *   - no line at level error in the server log, and a clean exit on SIGTERM.
 * Nothing asserts a rate: the short version runs beside other tests on a loaded machine.
 * Every wait is bounded; the server it started is always stopped.
 * Usage: soak --jwtd BIN --work DIR [--serve-arg ARG]... [--seconds S] [--inflight N]
 *             [--check-seconds S] [--seed N] [--rss-check on|off]
 *             [--store sqlite|postgres [--pg-state DIR]]
 *             [--url http://HOST:PORT [--pid PID]]
 * --rss-check off: the RSS curve is printed but not judged (sanitizer builds, whose allocator
 * holds freed memory in quarantine, so their RSS grows by design). The RSS is jwtd's only:
 * with PostgreSQL the server's own processes are not counted. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "testdb.h"
#include "testserver.h"
#include "testutil.h"

#define MAX_SECONDS 3600
#define MAX_INFLIGHT 256
#define DEFAULT_INFLIGHT 32
#define MAX_LIVE 4096        /* sessions kept alive at once; beyond, logouts replace logins */
#define MIN_LIVE 64          /* below, registrations and logins replace session requests */
#define REQUEST_TIMEOUT_S 30 /* any one request */
#define DRAIN_TIMEOUT_S 40   /* for the requests in flight when the load ends */
#define MAX_BODY 65536       /* a larger answer is a transport error */
#define MAX_TOKEN 4096
#define CHECK_MIN 100 /* of each kind of check, at least this many (or all) */
#define SHOW_UNEXPECTED 20
#define BADLOGIN_MIN_USERS 1000 /* wrong passwords for real users only once there are this many */
#define WARMUP_PERCENT 25       /* of the run */
#define RSS_MARGIN_PERCENT 10   /* of the post-warm-up RSS ... */
#define RSS_MARGIN_KIB 8192     /* ... plus this: see docs/BENCHMARKS.md, "Soak" */

typedef enum kind {
    K_ME,
    K_REGISTER,
    K_LOGIN,
    K_BADLOGIN,
    K_REFRESH,
    K_LOGOUT,
    K_LOGOUT_ALL,
    K_JWKS,
    K_HEALTHZ,
    C_LOGIN,      /* check: an acknowledged user logs in */
    C_ROTATE,     /* check: a live session's latest refresh token rotates */
    C_REFUSED,    /* check: a logged-out (or logout-all) refresh token is refused */
    C_ME_REVOKED, /* check: an access token of a logout-all is refused */
    NKINDS
} kind;
#define NLOAD (K_HEALTHZ + 1)

static const char *const kind_name[NKINDS] = {
    "GET /me",      "POST /register",   "POST /login",      "POST /login (bad)", "POST /refresh",
    "POST /logout", "POST /logout-all", "GET jwks.json",    "GET /healthz",      "check login",
    "check rotate", "check refused",    "check /me revoked"};
static const long want_status[NKINDS] = {200, 201, 200, 401, 200, 204, 204,
                                         200, 200, 200, 200, 401, 401};
/* The mix, per 1000 requests started (only the load kinds). */
static const int weight[NLOAD] = {800, 30, 30, 15, 50, 25, 5, 15, 30};

typedef enum sstate { S_LIVE, S_LOGGED_OUT, S_REVOKED_ALL, S_UNKNOWN } sstate;

typedef struct user {
    char name[64];
    int inflight;  /* requests of this user in flight */
    bool locked;   /* its logout-all is in flight: nothing else starts for it */
    bool wrong_pw; /* got its one wrong-password login */
} user;

typedef struct session {
    int user;
    char *access, *refresh;
    sstate state;
    bool busy;    /* one request per session at a time: rotations are never raced */
    int live_pos; /* index in live[] while S_LIVE */
} session;

/* Latency histogram: microseconds, 16 sub-buckets per power of two (~6% resolution). */
#define HIST_BUCKETS (16 + 40 * 16)
typedef struct stats {
    uint64_t count, cls[6]; /* cls[0]: no HTTP answer */
    uint64_t hist[HIST_BUCKETS];
} stats;

typedef struct slot {
    CURL *c;
    bool busy;
    kind k;
    int user, session;
    struct curl_slist *headers;
    char *body;
    size_t len, cap;
    bool too_big;
    char payload[MAX_TOKEN + 256];
    char name[64]; /* the username of a registration */
} slot;

typedef struct check {
    kind k;
    int idx; /* user for C_LOGIN, session otherwise */
} check;

/* ---- State ---- */

static const char *base;
static CURLM *multi;
static slot slots[MAX_INFLIGHT];
static int nslots, running;
static user *users;
static int nusers, cap_users;
static session *sessions;
static int nsessions, cap_sessions;
static int *live;
static int nlive;
static stats st[NKINDS];
static uint64_t rng_state;
static char run_id[32];
static unsigned long reg_counter, bad_counter;
static int unexpected, transport_errors, shown_unexpected;
static bool oom;

static uint64_t rnd(void)
{
    /* xorshift64*: reproducible with --seed */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static uint32_t rnd_below(uint32_t n) { return n == 0 ? 0 : (uint32_t)(rnd() >> 32) % n; }

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void password_of(const char *name, char *out, size_t len)
{
    snprintf(out, len, "pw-%s-soak", name);
}

/* ---- Latency histogram ---- */

static int hist_bucket(uint64_t us)
{
    if (us < 16)
        return (int)us;
    int e = 63 - __builtin_clzll(us); /* >= 4 */
    int b = 16 + (e - 4) * 16 + (int)((us >> (e - 4)) & 15);
    return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

static uint64_t hist_value(int b)
{
    if (b < 16)
        return (uint64_t)b;
    int e = (b - 16) / 16 + 4, sub = (b - 16) % 16;
    uint64_t lo = ((uint64_t)(16 + sub)) << (e - 4), width = UINT64_C(1) << (e - 4);
    return lo + width / 2;
}

static uint64_t hist_pct(const stats *s, double p)
{
    uint64_t total = 0;
    for (int b = 0; b < HIST_BUCKETS; b++)
        total += s->hist[b];
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)((double)total * p), seen = 0;
    if (want >= total)
        want = total - 1;
    for (int b = 0; b < HIST_BUCKETS; b++) {
        seen += s->hist[b];
        if (seen > want)
            return hist_value(b);
    }
    return hist_value(HIST_BUCKETS - 1);
}

/* ---- Users and sessions ---- */

static void *grow(void *p, int *cap, size_t elem)
{
    int ncap = *cap > 0 ? *cap * 2 : 1024;
    void *n = realloc(p, (size_t)ncap * elem);
    if (n == NULL) {
        oom = true;
        return NULL;
    }
    *cap = ncap;
    return n;
}

static int user_add(const char *name)
{
    if (nusers == cap_users) {
        user *n = grow(users, &cap_users, sizeof *users);
        if (n == NULL)
            return -1;
        users = n;
    }
    user *u = &users[nusers];
    memset(u, 0, sizeof *u);
    snprintf(u->name, sizeof u->name, "%s", name);
    return nusers++;
}

static void live_remove(int s)
{
    int pos = sessions[s].live_pos, last = live[--nlive];
    live[pos] = last;
    sessions[last].live_pos = pos;
    sessions[s].live_pos = -1;
}

/* A new live session; takes the tokens. */
static void session_add(int u, char *access, char *refresh)
{
    if (nsessions == cap_sessions) {
        int cap = cap_sessions;
        session *n = grow(sessions, &cap, sizeof *sessions);
        int *l = n != NULL ? realloc(live, (size_t)cap * sizeof *live) : NULL;
        if (n != NULL)
            sessions = n;
        if (l == NULL) {
            oom = true;
            free(access);
            free(refresh);
            return;
        }
        live = l;
        cap_sessions = cap;
    }
    session *s = &sessions[nsessions];
    s->user = u;
    s->access = access;
    s->refresh = refresh;
    s->state = S_LIVE;
    s->busy = false;
    s->live_pos = nlive;
    live[nlive++] = nsessions++;
}

static void session_end(int s, sstate to)
{
    if (sessions[s].state == S_LIVE)
        live_remove(s);
    sessions[s].state = to;
    if (to == S_LOGGED_OUT || to == S_UNKNOWN) {
        free(sessions[s].access); /* only a logout-all's access tokens are checked */
        sessions[s].access = NULL;
    }
    if (to == S_UNKNOWN) {
        free(sessions[s].refresh);
        sessions[s].refresh = NULL;
    }
}

/* A live session of a user that may take a request now, or -1 (a few random probes). */
static int pick_live(bool need_idle_user)
{
    for (int i = 0; i < 16 && nlive > 0; i++) {
        int s = live[rnd_below((uint32_t)nlive)];
        const user *u = &users[sessions[s].user];
        if (!sessions[s].busy && !u->locked && (!need_idle_user || u->inflight == 0))
            return s;
    }
    return -1;
}

static int pick_user(void)
{
    for (int i = 0; i < 16 && nusers > 0; i++) {
        int u = (int)rnd_below((uint32_t)nusers);
        if (!users[u].locked)
            return u;
    }
    return -1;
}

/* ---- Requests ---- */

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    slot *sl = ud;
    size_t len = size * n;
    if (sl->len + len > MAX_BODY) {
        sl->too_big = true;
        return 0;
    }
    if (sl->len + len + 1 > sl->cap) {
        size_t cap = sl->cap > 0 ? sl->cap : 1024;
        while (cap < sl->len + len + 1)
            cap *= 2;
        char *b = realloc(sl->body, cap);
        if (b == NULL)
            return 0;
        sl->body = b;
        sl->cap = cap;
    }
    memcpy(sl->body + sl->len, data, len);
    sl->len += len;
    sl->body[sl->len] = '\0';
    return len;
}

/* Starts request k on sl; user/session are indices or -1. */
static bool start(slot *sl, kind k, int u, int s)
{
    char url[256], auth[MAX_TOKEN + 32], pass[128];
    const char *path = NULL, *bearer = NULL;
    bool post = true;
    sl->payload[0] = '\0';
    switch (k) {
    case K_ME:
    case C_ME_REVOKED:
        path = "/me";
        post = false;
        bearer = sessions[s].access;
        break;
    case K_REGISTER:
        snprintf(sl->name, sizeof sl->name, "soak%s-%lu", run_id, reg_counter++);
        password_of(sl->name, pass, sizeof pass);
        path = "/register";
        snprintf(sl->payload, sizeof sl->payload, "{\"username\":\"%s\",\"password\":\"%s\"}",
                 sl->name, pass);
        break;
    case K_LOGIN:
    case C_LOGIN:
        path = "/login";
        password_of(users[u].name, pass, sizeof pass);
        snprintf(sl->payload, sizeof sl->payload, "{\"username\":\"%s\",\"password\":\"%s\"}",
                 users[u].name, pass);
        break;
    case K_BADLOGIN:
        path = "/login";
        /* Half against a real user, half against a name nobody has. */
        if (u >= 0)
            snprintf(sl->payload, sizeof sl->payload,
                     "{\"username\":\"%s\",\"password\":\"wrong password %lu\"}", users[u].name,
                     bad_counter++);
        else
            snprintf(sl->payload, sizeof sl->payload,
                     "{\"username\":\"nobody%s-%lu\",\"password\":\"wrong password\"}", run_id,
                     bad_counter++);
        break;
    case K_REFRESH:
    case C_ROTATE:
    case C_REFUSED:
    case K_LOGOUT:
        path = k == K_LOGOUT ? "/logout" : "/refresh";
        snprintf(sl->payload, sizeof sl->payload, "{\"refresh_token\":\"%s\"}",
                 sessions[s].refresh);
        break;
    case K_LOGOUT_ALL:
        path = "/logout-all";
        bearer = sessions[s].access;
        break;
    case K_JWKS:
        path = "/.well-known/jwks.json";
        post = false;
        break;
    case K_HEALTHZ:
        path = "/healthz";
        post = false;
        break;
    case NKINDS: return false;
    }
    CURL *c = sl->c;
    curl_easy_reset(c);
    snprintf(url, sizeof url, "%s%s", base, path);
    sl->headers = NULL;
    if (post && k != K_LOGOUT_ALL)
        sl->headers = curl_slist_append(sl->headers, "Content-Type: application/json");
    if (bearer != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        sl->headers = curl_slist_append(sl->headers, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)REQUEST_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl->headers);
    if (post) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, sl->payload);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(sl->payload));
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sl);
    curl_easy_setopt(c, CURLOPT_PRIVATE, sl);
    sl->k = k;
    sl->user = u;
    sl->session = s;
    sl->len = 0;
    sl->too_big = false;
    if (sl->body != NULL)
        sl->body[0] = '\0';
    if (curl_multi_add_handle(multi, c) != CURLM_OK) {
        curl_slist_free_all(sl->headers);
        sl->headers = NULL;
        return false;
    }
    sl->busy = true;
    running++;
    if (s >= 0)
        sessions[s].busy = true;
    if (u >= 0) {
        users[u].inflight++;
        if (k == K_LOGOUT_ALL)
            users[u].locked = true;
    }
    return true;
}

/* Picks the next load request by the mix, adapted to what exists. */
static bool start_load(slot *sl)
{
    uint32_t r = rnd_below(1000);
    kind k = K_ME;
    for (int i = 0, acc = 0; i < NLOAD; i++) {
        acc += weight[i];
        if (r < (uint32_t)acc) {
            k = (kind)i;
            break;
        }
    }
    if ((k == K_LOGIN || k == K_REGISTER) && nlive >= MAX_LIVE)
        k = K_LOGOUT;
    if ((k == K_ME || k == K_REFRESH || k == K_LOGOUT || k == K_LOGOUT_ALL) && nlive < MIN_LIVE)
        k = nusers > MIN_LIVE && (r & 1) ? K_LOGIN : K_REGISTER;
    int u = -1, s = -1;
    switch (k) {
    case K_ME:
    case K_REFRESH:
    case K_LOGOUT:
    case K_LOGOUT_ALL:
        s = pick_live(k == K_LOGOUT_ALL);
        if (s < 0) {
            k = K_HEALTHZ; /* every live session busy: a cheap request instead */
            break;
        }
        u = sessions[s].user;
        break;
    case K_LOGIN:
        u = pick_user();
        if (u < 0)
            k = K_REGISTER;
        break;
    case K_BADLOGIN:
        /* Half of them against real users, once there are many, and at most one per
         * account, so that a per-account lockout never turns a correct login into a 429. */
        u = (rnd() & 1) && nusers >= BADLOGIN_MIN_USERS ? pick_user() : -1;
        if (u >= 0 && users[u].wrong_pw)
            u = -1;
        if (u >= 0)
            users[u].wrong_pw = true;
        break;
    default: break;
    }
    return start(sl, k, u, s);
}

static char *json_token(json_t *doc, const char *key)
{
    const char *t = json_string_value(json_object_get(doc, key));
    return t != NULL && t[0] != '\0' && strlen(t) < MAX_TOKEN ? strdup(t) : NULL;
}

static void note_unexpected(const slot *sl, long status, const char *why)
{
    unexpected++;
    if (shown_unexpected++ < SHOW_UNEXPECTED)
        printf("# unexpected: %s -> %ld, expected %ld%s%s: %.200s\n", kind_name[sl->k], status,
               want_status[sl->k], why[0] ? ", " : "", why, sl->body != NULL ? sl->body : "");
}

/* Handles one finished request: statistics, then the state it acknowledged. */
static void finish(slot *sl, CURLcode res)
{
    long status = 0;
    curl_off_t us = 0;
    curl_easy_getinfo(sl->c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(sl->c, CURLINFO_TOTAL_TIME_T, &us);
    curl_multi_remove_handle(multi, sl->c);
    curl_slist_free_all(sl->headers);
    sl->headers = NULL;
    sl->busy = false;
    running--;

    stats *s = &st[sl->k];
    s->count++;
    bool answered = res == CURLE_OK && status >= 100 && status < 600;
    s->cls[answered ? status / 100 : 0]++;
    s->hist[hist_bucket(us > 0 ? (uint64_t)us : 0)]++;
    if (!answered) {
        transport_errors++;
        if (transport_errors <= SHOW_UNEXPECTED)
            printf("# no answer: %s: %s\n", kind_name[sl->k], curl_easy_strerror(res));
    } else if (status != want_status[sl->k]) {
        note_unexpected(sl, status, "");
    }
    bool ok = answered && status == want_status[sl->k];

    json_t *doc = NULL;
    if (ok && (status == 200 || status == 201)) {
        doc = json_loadb(sl->body != NULL ? sl->body : "", sl->len, 0, NULL);
        if (doc == NULL || !json_is_object(doc)) {
            note_unexpected(sl, status, "body is not a JSON object");
            ok = false;
        }
    }
    int se = sl->session, u = sl->user;
    switch (sl->k) {
    case K_ME:
        if (ok && (!json_is_string(json_object_get(doc, "user")) ||
                   strcmp(json_string_value(json_object_get(doc, "user")), users[u].name) != 0))
            note_unexpected(sl, status, "not this user");
        break;
    case K_REGISTER:
    case K_LOGIN:
    case K_REFRESH:
    case C_LOGIN:
    case C_ROTATE:
        if (ok) {
            char *a = json_token(doc, "access_token"), *r = json_token(doc, "refresh_token");
            if (a == NULL || r == NULL) {
                note_unexpected(sl, status, "no token pair");
                free(a);
                free(r);
                if (sl->k == K_REFRESH)
                    session_end(se, S_UNKNOWN);
            } else if (sl->k == K_REGISTER) {
                int nu = user_add(sl->name);
                if (nu >= 0)
                    session_add(nu, a, r);
            } else if (sl->k == K_LOGIN) {
                session_add(u, a, r);
            } else if (sl->k == K_REFRESH) {
                free(sessions[se].access);
                free(sessions[se].refresh);
                sessions[se].access = a;
                sessions[se].refresh = r;
            } else {
                free(a); /* a check: the pair is not used again */
                free(r);
            }
        } else if (sl->k == K_REFRESH) {
            session_end(se, S_UNKNOWN); /* its fate is not known: never checked */
        }
        break;
    case K_LOGOUT: session_end(se, ok ? S_LOGGED_OUT : S_UNKNOWN); break;
    case K_LOGOUT_ALL:
        /* Every live session of the user: revoked when acknowledged, unknown otherwise. */
        for (int i = nlive - 1; i >= 0; i--) {
            int x = live[i];
            if (sessions[x].user == u)
                session_end(x, ok ? S_REVOKED_ALL : S_UNKNOWN);
        }
        break;
    case K_JWKS: {
        json_t *keys = json_object_get(doc, "keys");
        if (ok && (!json_is_array(keys) || json_array_size(keys) == 0))
            note_unexpected(sl, status, "no keys");
        break;
    }
    default: break;
    }
    json_decref(doc);
    if (se >= 0)
        sessions[se].busy = false;
    if (u >= 0) {
        users[u].inflight--;
        if (sl->k == K_LOGOUT_ALL)
            users[u].locked = false;
    }
}

/* Runs curl until something happened or 100 ms passed; finishes what is done. */
static void pump(void)
{
    int still = 0;
    curl_multi_perform(multi, &still);
    curl_multi_poll(multi, NULL, 0, 100, NULL);
    curl_multi_perform(multi, &still);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        slot *sl = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
        finish(sl, m->data.result);
    }
}

/* Drops what is still in flight (after a drain that ran out of time). */
static int abandon(void)
{
    int n = 0;
    for (int i = 0; i < nslots; i++) {
        if (!slots[i].busy)
            continue;
        curl_multi_remove_handle(multi, slots[i].c);
        curl_slist_free_all(slots[i].headers);
        slots[i].headers = NULL;
        slots[i].busy = false;
        n++;
    }
    running = 0;
    return n;
}

/* ---- RSS ---- */

static double self_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- The report ---- */

static char loadavg[64] = "?\n";

static void read_loadavg(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fgets(loadavg, sizeof loadavg, f) == NULL)
            snprintf(loadavg, sizeof loadavg, "?\n");
        fclose(f);
    }
}

static void print_table(int from, int to, double seconds)
{
    printf("# %-18s %9s %9s %8s %8s %8s %6s %6s %6s %5s\n", "kind", "requests", "req/s", "p50 us",
           "p99 us", "2xx", "3xx", "4xx", "5xx", "none");
    stats all = {0};
    for (int k = from; k < to; k++) {
        const stats *s = &st[k];
        for (int i = 0; i < 6; i++)
            all.cls[i] += s->cls[i];
        for (int b = 0; b < HIST_BUCKETS; b++)
            all.hist[b] += s->hist[b];
        all.count += s->count;
        printf("# %-18s %9" PRIu64 " %9.1f %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %6" PRIu64
               " %6" PRIu64 " %6" PRIu64 " %5" PRIu64 "\n",
               kind_name[k], s->count, (double)s->count / seconds, hist_pct(s, 0.5),
               hist_pct(s, 0.99), s->cls[2], s->cls[3], s->cls[4], s->cls[5], s->cls[0]);
    }
    printf("# %-18s %9" PRIu64 " %9.1f %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %6" PRIu64
           " %6" PRIu64 " %6" PRIu64 " %5" PRIu64 "\n",
           "all", all.count, (double)all.count / seconds, hist_pct(&all, 0.5), hist_pct(&all, 0.99),
           all.cls[2], all.cls[3], all.cls[4], all.cls[5], all.cls[0]);
}

static uint64_t count_5xx(int from, int to)
{
    uint64_t n = 0;
    for (int k = from; k < to; k++)
        n += st[k].cls[5];
    return n;
}

/* ---- Phases ---- */

typedef struct rss_curve {
    double t[MAX_SECONDS + 8];
    long kib[MAX_SECONDS + 8];
    int n;
} rss_curve;

static rss_curve rss;

/* The load: closed loop for seconds; returns its length including the drain. */
static double run_load(int seconds, long pid)
{
    double t0 = now_s(), end = t0 + seconds, next_sample = t0;
    while (!oom) {
        double t = now_s();
        if (pid > 0 && t >= next_sample && rss.n < MAX_SECONDS + 8) {
            rss.t[rss.n] = t - t0;
            rss.kib[rss.n++] = testutil_proc_rss_kib(pid);
            next_sample += 1.0;
        }
        if (t >= end)
            break;
        for (int i = 0; i < nslots; i++)
            if (!slots[i].busy && !start_load(&slots[i]))
                break;
        pump();
    }
    read_loadavg();
    /* The last sample is the end of the load, taken before the drain. */
    if (pid > 0 && rss.n < MAX_SECONDS + 8) {
        rss.t[rss.n] = now_s() - t0;
        rss.kib[rss.n++] = testutil_proc_rss_kib(pid);
    }
    double drain_end = now_s() + DRAIN_TIMEOUT_S;
    while (running > 0 && now_s() < drain_end)
        pump();
    int dropped = abandon();
    if (dropped > 0) {
        printf("# %d request(s) still unanswered %d s after the load ended\n", dropped,
               DRAIN_TIMEOUT_S);
        transport_errors += dropped;
    }
    return now_s() - t0;
}

static void shuffle(check *c, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rnd_below((uint32_t)i + 1);
        check t = c[i];
        c[i] = c[j];
        c[j] = t;
    }
}

/* The lost-write checks, in random order within the budget. */
static void run_checks(int budget_s, int *wrong, int *done_of, int *total_of, bool *complete)
{
    int n = 0, cap = nusers + 2 * nsessions + 1;
    check *list = malloc((size_t)cap * sizeof *list);
    if (list == NULL) {
        oom = true;
        *complete = false;
        return;
    }
    for (int u = 0; u < nusers; u++)
        list[n++] = (check){C_LOGIN, u};
    for (int s = 0; s < nsessions; s++) {
        switch (sessions[s].state) {
        case S_LIVE: list[n++] = (check){C_ROTATE, s}; break;
        case S_LOGGED_OUT: list[n++] = (check){C_REFUSED, s}; break;
        case S_REVOKED_ALL:
            list[n++] = (check){C_REFUSED, s};
            list[n++] = (check){C_ME_REVOKED, s};
            break;
        case S_UNKNOWN: break;
        }
    }
    shuffle(list, n);
    for (int i = 0; i < n; i++)
        total_of[list[i].k]++;
    int before[NKINDS];
    for (int k = 0; k < NKINDS; k++)
        before[k] = (int)(st[k].cls[2] + st[k].cls[4]);
    int bad_before = unexpected + transport_errors;

    int next = 0;
    double end = now_s() + budget_s;
    while (!oom && (next < n || running > 0) && now_s() < end) {
        for (int i = 0; i < nslots && next < n; i++) {
            if (slots[i].busy)
                continue;
            const check *c = &list[next++];
            int u = c->k == C_LOGIN ? c->idx : sessions[c->idx].user;
            if (!start(&slots[i], c->k, u, c->k == C_LOGIN ? -1 : c->idx))
                break;
        }
        pump();
    }
    int dropped = abandon();
    *complete = next == n && dropped == 0;
    for (int k = 0; k < NKINDS; k++)
        done_of[k] = (int)(st[k].cls[2] + st[k].cls[4]) - before[k];
    *wrong = unexpected + transport_errors - bad_before;
    free(list);
}

/* Lines of this run's server log at level error and warn. */
static void count_log_levels(const testserver *ts, int *errors, int *warnings)
{
    *errors = *warnings = 0;
    FILE *f = fopen(ts->log_path, "r");
    if (f == NULL || fseek(f, ts->log_start, SEEK_SET) != 0) {
        if (f != NULL)
            fclose(f);
        *errors = -1;
        return;
    }
    char line[4096];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, "\"level\":\"error\"") != NULL)
            (*errors)++;
        else if (strstr(line, "\"level\":\"warn\"") != NULL)
            (*warnings)++;
    }
    fclose(f);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: soak --jwtd BIN --work DIR [--serve-arg ARG]... [--seconds S]\n"
            "            [--inflight N] [--check-seconds S] [--seed N] [--rss-check on|off]\n"
            "            [--store sqlite|postgres [--pg-state DIR]]\n"
            "       soak --url http://HOST:PORT [--pid PID] [--seconds S] ...\n");
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    testutil_args opt = {0};
    testdb_args dbopt = {0};
    long seconds = 180, inflight = DEFAULT_INFLIGHT, check_s = -1, pid = 0;
    bool rss_check = true;
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    for (int i = 1; i < argc; i++) {
        if (testutil_take_arg(&opt, argc, argv, &i) || testdb_take_arg(&dbopt, argc, argv, &i))
            continue;
        const char *o = argv[i], *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL) {
            usage();
            return 2;
        }
        if (strcmp(o, "--url") == 0)
            url = v;
        else if (strcmp(o, "--seconds") == 0)
            seconds = strtol(v, NULL, 10);
        else if (strcmp(o, "--inflight") == 0)
            inflight = strtol(v, NULL, 10);
        else if (strcmp(o, "--check-seconds") == 0)
            check_s = strtol(v, NULL, 10);
        else if (strcmp(o, "--pid") == 0)
            pid = strtol(v, NULL, 10);
        else if (strcmp(o, "--rss-check") == 0 && (strcmp(v, "on") == 0 || strcmp(v, "off") == 0))
            rss_check = strcmp(v, "on") == 0;
        else if (strcmp(o, "--seed") == 0)
            seed = strtoull(v, NULL, 10);
        else {
            usage();
            return 2;
        }
    }
    const char *jwtd = opt.jwtd, *work = opt.dir, *const *extra = opt.serve;
    size_t n_extra = opt.nserve;
    if ((url == NULL && (jwtd == NULL || work == NULL)) || seconds < 4 || seconds > MAX_SECONDS ||
        inflight < 1 || inflight > MAX_INFLIGHT || (url != NULL && strlen(url) > 200)) {
        usage();
        return 2;
    }
    if (check_s < 0)
        check_s = seconds / 4 > 20 ? seconds / 4 : 20;
    rng_state = seed != 0 ? seed : 1;
    snprintf(run_id, sizeof run_id, "%x%x", (unsigned)getpid() & 0xffff,
             (unsigned)time(NULL) & 0xffffff);
    printf("# soak: %ld s of load, %ld requests in flight, checks within %ld s, seed %" PRIu64 "\n",
           seconds, inflight, check_s, seed);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    testserver ts = {0};
    testdb store = {0};
    char err[512], what[512], log[4200];
    const char *db = NULL;
    if (url == NULL) {
        if (!testutil_fresh_dir(work, "soak") || !testdb_open(&store, &dbopt, work, "soak")) {
            curl_global_cleanup();
            return 2;
        }
        db = store.url;
        snprintf(log, sizeof log, "%s/server.log", work);
        bool up = testserver_start(&ts, jwtd, db, log, extra, n_extra, err, sizeof err);
        testutil_check(up, "%s", up ? "jwtd serve is listening" : err);
        if (!up) {
            testdb_close(&store);
            curl_global_cleanup();
            return testutil_summary();
        }
        base = ts.base;
        pid = ts.pid;
        printf("# server: %s, pid %ld, db %s, log %s; serve args:", base, pid, db, log);
        for (size_t i = 0; i < n_extra; i++)
            printf(" %s", extra[i]);
        printf("\n");
    } else {
        base = url;
    }

    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, inflight);
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, inflight);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, inflight);
    nslots = (int)inflight;
    for (int i = 0; i < nslots; i++)
        slots[i].c = curl_easy_init();

    /* The load. */
    double srv_cpu0 = pid > 0 ? testutil_proc_cpu_s(pid) : -1, my_cpu0 = self_cpu_s();
    double elapsed = run_load((int)seconds, pid);
    double srv_cpu = pid > 0 ? testutil_proc_cpu_s(pid) - srv_cpu0 : -1,
           my_cpu = self_cpu_s() - my_cpu0;
    printf("# load: %.1f s (with the drain), %d users registered, %d sessions (%d live); "
           "CPU: server %.0f%%, this client %.0f%% (of one core; %ld cores), load average %s",
           elapsed, nusers, nsessions, nlive, srv_cpu0 >= 0 ? 100.0 * srv_cpu / elapsed : -1.0,
           100.0 * my_cpu / elapsed, sysconf(_SC_NPROCESSORS_ONLN), loadavg);
    print_table(0, NLOAD, elapsed);
    uint64_t load_5xx = count_5xx(0, NLOAD);
    int load_unexpected = unexpected, load_transport = transport_errors;

    /* The lost-write checks. */
    int wrong = 0, done_of[NKINDS] = {0}, total_of[NKINDS] = {0};
    bool complete = false;
    double tc = now_s();
    run_checks((int)check_s, &wrong, done_of, total_of, &complete);
    double check_elapsed = now_s() - tc;
    printf("# checks: %.1f s\n", check_elapsed);
    print_table(C_LOGIN, NKINDS, check_elapsed);
    long rss_after = pid > 0 ? testutil_proc_rss_kib(pid) : -1;

    snprintf(what, sizeof what, "zero 5xx under load (%" PRIu64 ")", load_5xx);
    testutil_check(load_5xx == 0, "%s", what);
    snprintf(what, sizeof what, "every request under load got an answer (%d without)",
             load_transport);
    testutil_check(load_transport == 0, "%s", what);
    snprintf(what, sizeof what,
             "zero unexpected answers under load (%d; 401 only for bad passwords)",
             load_unexpected);
    testutil_check(load_unexpected == 0, "%s", what);
    testutil_check(!oom, "the soak's own memory sufficed");
    snprintf(what, sizeof what,
             "zero lost writes: %d/%d users log in, %d/%d latest refresh tokens rotate, "
             "%d/%d logged-out refresh tokens refused, %d/%d logout-all access tokens refused "
             "(%d wrong)",
             done_of[C_LOGIN], total_of[C_LOGIN], done_of[C_ROTATE], total_of[C_ROTATE],
             done_of[C_REFUSED], total_of[C_REFUSED], done_of[C_ME_REVOKED], total_of[C_ME_REVOKED],
             wrong);
    testutil_check(wrong == 0, "%s", what);
    bool covered = true;
    for (int k = C_LOGIN; k < NKINDS; k++) {
        int need = total_of[k] < CHECK_MIN ? total_of[k] : CHECK_MIN;
        if (done_of[k] < need)
            covered = false;
    }
    snprintf(what, sizeof what, "the checks covered %s (at least %d of each kind, or all)",
             complete ? "every acknowledged write" : "a random sample", CHECK_MIN);
    testutil_check(covered, "%s", what);
    testutil_check(total_of[C_LOGIN] > 0 && total_of[C_ROTATE] > 0 && total_of[C_REFUSED] > 0,
                   "the load acknowledged registrations, rotations and logouts");

    if (pid > 0 && rss.n >= 3) {
        /* The RSS curve: about 12 points, then the verdict. */
        int every = rss.n / 12 > 0 ? rss.n / 12 : 1;
        printf("# RSS MiB by second:");
        for (int i = 0; i < rss.n; i += every)
            printf(" %.0fs:%.1f", rss.t[i], (double)rss.kib[i] / 1024.0);
        printf(" end:%.1f after-checks:%.1f\n", (double)rss.kib[rss.n - 1] / 1024.0,
               (double)rss_after / 1024.0);
        int w = 0;
        while (w < rss.n - 1 && rss.t[w] < (double)seconds * WARMUP_PERCENT / 100.0)
            w++;
        long warm = rss.kib[w], end = rss.kib[rss.n - 1], peak = 0;
        for (int i = w; i < rss.n; i++)
            peak = rss.kib[i] > peak ? rss.kib[i] : peak;
        long limit = warm + warm * RSS_MARGIN_PERCENT / 100 + RSS_MARGIN_KIB;
        snprintf(what, sizeof what,
                 "RSS flat after warm-up (%d%% of the run): %.1f MiB at %.0f s, %.1f MiB at the "
                 "end (peak %.1f), limit %.1f MiB (+%d%% + %d MiB)",
                 WARMUP_PERCENT, (double)warm / 1024.0, rss.t[w], (double)end / 1024.0,
                 (double)peak / 1024.0, (double)limit / 1024.0, RSS_MARGIN_PERCENT,
                 RSS_MARGIN_KIB / 1024);
        if (rss_check)
            testutil_check(warm > 0 && end > 0 && end <= limit, "%s", what);
        else
            printf("# not checked (--rss-check off): %s\n", what);
    } else {
        printf("# RSS not sampled (no server pid)\n");
    }

    for (int i = 0; i < nslots; i++) {
        curl_easy_cleanup(slots[i].c);
        free(slots[i].body);
    }
    curl_multi_cleanup(multi);
    if (url == NULL) {
        char how[160];
        bool clean = testserver_stop(&ts, how, sizeof how);
        snprintf(what, sizeof what, "jwtd serve stops cleanly on SIGTERM (%s)", how);
        testutil_check(clean, "%s", what);
        int errors = 0, warnings = 0;
        count_log_levels(&ts, &errors, &warnings);
        snprintf(what, sizeof what, "no error in the server log (%d error, %d warn lines)", errors,
                 warnings);
        testutil_check(errors == 0, "%s", what);
        if (testutil_failed() > 0)
            testserver_print_log_end(&ts, 4000);
        testdb_close(&store);
    }
    for (int s = 0; s < nsessions; s++) {
        free(sessions[s].access);
        free(sessions[s].refresh);
    }
    free(sessions);
    free(live);
    free(users);
    curl_global_cleanup();
    return testutil_summary();
}
