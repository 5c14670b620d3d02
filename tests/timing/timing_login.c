/* Login timing equality (issue 4, "Timing and secrets"): a real `jwtd serve` with its default
 * Argon2id parameters (m=19 MiB, t=2: the hash dominates a login) and a real SQLite file, and
 * POST /login over HTTP (libcurl, one kept-alive connection) for the failures an attacker can
 * tell apart only by time:
 *
 *   unknown user        a username nobody has                  -> 401, dummy Argon2id verify
 *   disabled user       a disabled account, ITS RIGHT password -> 401, dummy Argon2id verify
 *   wrong password      an active account, a wrong password    -> 401, the real verify
 *   unknown email       login by email, no such email          -> 401, dummy verify
 *   wrong pw by email   login by email, a wrong password       -> 401, the real verify
 *
 * TRIES tries of each, interleaved round by round (and the order rotated every round) so that
 * noise from the machine falls on every case alike; a few warm-up rounds are not counted. The
 * test prints each case's median and fails when any two medians differ by more than 10% of the
 * smaller, or when any answer is not the one 401 body. The machine is shared (other builds and
 * tests load it in bursts), so a measurement over the limit is taken again, up to ATTEMPTS
 * times in all. When even the best attempt is over the limit, the test fails if that
 * measurement was quiet (every case's spread, MAD/median, under 6%) or the difference is gross
 * (over 50%: a missing dummy verify is a hundredfold); otherwise the machine was too loaded
 * to resolve 10% and the test is reported SKIPPED (exit 77), never passed. Without the dummy verify
 * an unknown user costs a store lookup instead of an Argon2id hash, two orders of magnitude less,
 * and this fails. This is the one test that asserts a timing (the issue asks for it); it runs alone
 * (RUN_SERIAL).
 *
 * Usage: timing_login --jwtd PATH --tmp DIR [--serve-arg ARG]... */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "testserver.h"
#include "testutil.h"

#define TRIES 30
#define WARMUP 3
#define MAX_DIFF 0.10 /* of the smaller median */
#define ATTEMPTS 3    /* whole measurements before a failure counts */
#define QUIET 0.06    /* a measurement is trusted when the spread (MAD/median) is below this */
#define GROSS 0.50    /* a difference no load explains: fails even on a noisy machine */
#define SKIPPED 77    /* CTest SKIP_RETURN_CODE: too noisy to resolve MAX_DIFF */
#define NCASES 5
#define MAX_BODY 4096
#define REQUEST_TIMEOUT_MS 30000L

static const char ALICE_PW[] = "alice-correct-horse";
static const char DORA_PW[] = "dora-correct-horse";

static const struct login_case {
    const char *name;
    const char *body;
} cases[NCASES] = {
    {"unknown user", "{\"username\":\"nobody-here\",\"password\":\"alice-correct-horse\"}"},
    {"disabled user", "{\"username\":\"dora\",\"password\":\"dora-correct-horse\"}"},
    {"wrong password", "{\"username\":\"alice\",\"password\":\"not-the-password-1\"}"},
    {"unknown email", "{\"email\":\"nobody@example.com\",\"password\":\"alice-correct-horse\"}"},
    {"wrong pw by email", "{\"email\":\"alice@example.com\",\"password\":\"not-the-password-1\"}"},
};

typedef struct buf {
    char data[MAX_BODY];
    size_t len;
} buf;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf *b = ud;
    size_t len = size * n;
    size_t room = sizeof b->data - 1 - b->len;
    size_t take = len < room ? len : room;
    memcpy(b->data + b->len, p, take);
    b->len += take;
    b->data[b->len] = '\0';
    return len;
}

static CURL *curl;
static struct curl_slist *json_headers;

/* POST path with body; returns the status (0 on a transport error) and the body in out. */
static long post(const testserver *ts, const char *path, const char *body, buf *out)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", ts->base, path);
    out->len = 0;
    out->data[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, json_headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        fprintf(stderr, "timing: POST %s: %s\n", path, curl_easy_strerror(rc));
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* One measurement: WARMUP + TRIES rounds of every case. Returns the largest difference
 * between two medians relative to the smaller, or -1 when an answer was not the one 401;
 * *noise gets the largest spread of a case (median absolute deviation / median). */
static double measure(const testserver *ts, double *noise)
{
    static char first_body[MAX_BODY];
    static double samples[NCASES][TRIES];
    buf b;
    for (int round = 0; round < WARMUP + TRIES; round++) {
        for (int k = 0; k < NCASES; k++) {
            int c = (round + k) % NCASES; /* every case in every position over the rounds */
            double t0 = now_s();
            long status = post(ts, "/login", cases[c].body, &b);
            double dt = now_s() - t0;
            /* Every failure must be the same 401 body: the answer itself tells nothing. */
            if (status != 401) {
                fprintf(stderr, "timing: %s answered %ld, not 401: %s\n", cases[c].name, status,
                        b.data);
                return -1;
            }
            if (first_body[0] == '\0') {
                snprintf(first_body, sizeof first_body, "%s", b.data);
            } else if (strcmp(first_body, b.data) != 0) {
                fprintf(stderr, "timing: %s answered %s, another case %s\n", cases[c].name, b.data,
                        first_body);
                return -1;
            }
            if (round >= WARMUP)
                samples[c][round - WARMUP] = dt;
        }
    }
    double med[NCASES], lo = 0, hi = 0;
    *noise = 0;
    for (int c = 0; c < NCASES; c++) {
        med[c] = median(samples[c], TRIES);
        double dev[TRIES];
        for (int i = 0; i < TRIES; i++)
            dev[i] = samples[c][i] > med[c] ? samples[c][i] - med[c] : med[c] - samples[c][i];
        double spread = median(dev, TRIES) / med[c];
        if (spread > *noise)
            *noise = spread;
        printf("timing: %-18s median %8.2f ms  (min %.2f, max %.2f, %d tries)\n", cases[c].name,
               med[c] * 1e3, samples[c][0] * 1e3, samples[c][TRIES - 1] * 1e3, TRIES);
        if (c == 0 || med[c] < lo)
            lo = med[c];
        if (c == 0 || med[c] > hi)
            hi = med[c];
    }
    double diff = (hi - lo) / lo;
    printf("timing: largest difference between medians: %.1f%% (limit %.0f%%); spread %.1f%%\n",
           diff * 100, MAX_DIFF * 100, *noise * 100);
    return diff;
}

static int usage(void)
{
    fprintf(stderr, "usage: timing_login --jwtd PATH --tmp DIR [--serve-arg ARG]...\n");
    return 2;
}

int main(int argc, char **argv)
{
    testutil_args opt = {0};
    for (int i = 1; i < argc; i++)
        if (!testutil_take_arg(&opt, argc, argv, &i))
            return usage();
    const char *jwtd = opt.jwtd, *tmp = opt.dir, *const *serve_args = opt.serve;
    size_t nserve = opt.nserve;
    if (jwtd == NULL || tmp == NULL)
        return usage();
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "timing: cannot create %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    char db[4096], log[4096];
    snprintf(db, sizeof db, "%s/timing.db", tmp);
    snprintf(log, sizeof log, "%s/timing.log", tmp);
    testutil_remove_db(db, log);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
    json_headers = curl_slist_append(NULL, "Content-Type: application/json");
    testserver ts;
    char err[512], how[128];
    int failed = 0;
    if (!testserver_start(&ts, jwtd, db, log, serve_args, nserve, err, sizeof err)) {
        fprintf(stderr, "timing: %s\n", err);
        testserver_print_log(&ts, stderr, 4096);
        failed = 1;
        goto out;
    }

    /* Two accounts, hashed by the server with its own (default) parameters. */
    buf b;
    char body[256];
    snprintf(body, sizeof body,
             "{\"username\":\"alice\",\"password\":\"%s\",\"email\":\"alice@example.com\"}",
             ALICE_PW);
    long st1 = post(&ts, "/register", body, &b);
    snprintf(body, sizeof body,
             "{\"username\":\"dora\",\"password\":\"%s\",\"email\":\"dora@example.com\"}", DORA_PW);
    long st2 = post(&ts, "/register", body, &b);
    if (st1 != 201 || st2 != 201) {
        fprintf(stderr, "timing: registration answered %ld and %ld, not 201\n", st1, st2);
        failed = 1;
        goto stop;
    }
    /* Disable dora through the command line on the same database (login reads the flag from
     * the store on every attempt). */
    char out[1024];
    const char *disable[] = {jwtd, "user", "disable", "dora", "--db", db, NULL};
    int rc = testserver_run(disable, NULL, out, sizeof out);
    if (rc != 0) {
        fprintf(stderr, "timing: jwtd user disable dora: status %d: %s\n", rc, out);
        failed = 1;
        goto stop;
    }
    snprintf(body, sizeof body, "{\"username\":\"alice\",\"password\":\"%s\"}", ALICE_PW);
    if ((rc = (int)post(&ts, "/login", body, &b)) != 200) {
        fprintf(stderr, "timing: alice's own password answered %d, not 200\n", rc);
        failed = 1;
        goto stop;
    }

    /* The verdict: the best attempt within the limit passes. Over it, a quiet measurement
     * fails, and so does a gross difference on any machine; a difference a loaded machine
     * could explain is reported as skipped (77), never as passed. */
    double diff = 0, noise = 0;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
        printf("timing: attempt %d of at most %d\n", attempt, ATTEMPTS);
        double n = 0, d = measure(&ts, &n);
        if (d < 0) {
            diff = d;
            break;
        }
        if (attempt == 1 || d < diff) {
            diff = d;
            noise = n;
        }
        if (diff <= MAX_DIFF || d > GROSS) /* within the limit, or beyond any noise */
            break;
    }
    if (diff < 0) {
        failed = 1;
    } else if (diff > MAX_DIFF && (noise < QUIET || diff > GROSS)) {
        fprintf(stderr,
                "timing: FAIL: login failures are distinguishable by time: medians %.1f%% apart "
                "(spread %.1f%%) in the best of %d attempts\n",
                diff * 100, noise * 100, ATTEMPTS);
        failed = 1;
    } else if (diff > MAX_DIFF) {
        printf("timing: SKIPPED: the machine is too loaded to resolve %.0f%% (best attempt: "
               "medians %.1f%% apart, spread %.1f%%); run it again on a quiet machine\n",
               MAX_DIFF * 100, diff * 100, noise * 100);
        failed = SKIPPED;
    }

stop:
    if (!testserver_stop(&ts, how, sizeof how)) {
        fprintf(stderr, "timing: server did not stop cleanly: %s\n", how);
        failed = 1;
    }
    if (failed && failed != SKIPPED)
        testserver_print_log(&ts, stderr, 4096);
out:
    curl_slist_free_all(json_headers);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    if (!failed)
        printf("timing: login timing equal within %.0f%%\n", MAX_DIFF * 100);
    return failed;
}
