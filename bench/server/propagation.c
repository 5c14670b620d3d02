/* bench_propagation: how long a logout-all made through one jwtd instance takes to reach
 * another instance on the same PostgreSQL database (issue 9; scripts/bench-pg.sh runs it).
 * Each round: log in through A (a fresh access token), GET /me on B until it answers 200 (B has
 * verified, and cached, the token), POST /logout-all through A, then GET /me on B as fast as it
 * answers (a pause of --poll-us between polls) until it answers 401. The delay of a round is
 * from A's 204 to B's first 401 (also printed: from sending the logout-all). Figures, not a
 * test: it prints the median, the 90th percentile and the maximum over the rounds; the exit
 * status is 1 only when a round could not be measured.
 * Usage: bench_propagation --a URL --b URL --user NAME --password PW [--rounds N]
 *                          [--timeout-ms MS] [--poll-us US] [--verbose] */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#define MAX_ROUNDS 10000
#define MAX_BODY 65536
#define REQUEST_TIMEOUT_S 10

/* One keep-alive connection to one instance, and the body of its last answer. */
typedef struct conn {
    CURL *c;
    const char *base;
    char body[MAX_BODY];
    size_t len;
} conn;

/* Milliseconds on the monotonic clock, with a fraction. */
static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Sleeps us microseconds. */
static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&t, &t) != 0)
        ;
}

/* libcurl's write callback: keeps the body (truncated) for the token's extraction. */
static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    conn *k = ud;
    size_t len = size * n, room = sizeof k->body - 1 - k->len;
    size_t take = len < room ? len : room;
    memcpy(k->body + k->len, data, take);
    k->len += take;
    k->body[k->len] = '\0';
    return len;
}

/* One request on k: method GET or POST (with json, may be NULL), bearer may be NULL. Returns
 * the HTTP status, 0 when no answer came. */
static long request(conn *k, const char *method, const char *path, const char *bearer,
                    const char *json)
{
    char url[512], auth[4200];
    struct curl_slist *h = NULL;
    snprintf(url, sizeof url, "%s%s", k->base, path);
    k->len = 0;
    k->body[0] = '\0';
    curl_easy_setopt(k->c, CURLOPT_URL, url);
    curl_easy_setopt(k->c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(k->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k->c, CURLOPT_TIMEOUT, (long)REQUEST_TIMEOUT_S);
    curl_easy_setopt(k->c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k->c, CURLOPT_WRITEDATA, k);
    if (bearer != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        h = curl_slist_append(h, auth);
    }
    if (strcmp(method, "POST") == 0) {
        if (json != NULL)
            h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(k->c, CURLOPT_POSTFIELDS, json != NULL ? json : "");
    } else {
        curl_easy_setopt(k->c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(k->c, CURLOPT_HTTPHEADER, h);
    long status = 0;
    if (curl_easy_perform(k->c) == CURLE_OK)
        curl_easy_getinfo(k->c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(k->c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    return status;
}

/* The access_token member of k's last body (a copy to free), or NULL. */
static char *access_token(const conn *k)
{
    json_t *doc = json_loads(k->body, 0, NULL);
    const char *t = json_string_value(json_object_get(doc, "access_token"));
    char *copy = t != NULL && strlen(t) < 4096 ? strdup(t) : NULL;
    json_decref(doc);
    return copy;
}

/* qsort's order of doubles. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The p-quantile (nearest rank) of the n sorted values v. */
static double quantile(const double *v, int n, double p)
{
    int i = (int)(p * (double)n + 0.999999) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* The median of the n sorted values v. */
static double median(const double *v, int n)
{
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One round (see the top); false when it could not be measured (reason printed). */
static bool round_once(conn *a, conn *b, const char *creds, long timeout_ms, long poll_us,
                       double *after_ack, double *after_send, int *polls)
{
    long st = request(a, "POST", "/login", NULL, creds);
    char *tok = st == 200 ? access_token(a) : NULL;
    if (tok == NULL) {
        printf("# login through A -> %ld\n", st);
        return false;
    }
    bool ok = false;
    double deadline = now_ms() + (double)timeout_ms;
    while ((st = request(b, "GET", "/me", tok, NULL)) != 200 && now_ms() < deadline)
        sleep_us(poll_us);
    if (st != 200) {
        printf("# GET /me on B with a fresh token -> %ld\n", st);
        goto out;
    }
    double t0 = now_ms();
    st = request(a, "POST", "/logout-all", tok, NULL);
    double t_ack = now_ms();
    if (st != 204) {
        printf("# logout-all through A -> %ld\n", st);
        goto out;
    }
    deadline = t_ack + (double)timeout_ms;
    *polls = 0;
    for (;;) {
        st = request(b, "GET", "/me", tok, NULL);
        double t = now_ms();
        ++*polls;
        if (st == 401) {
            *after_ack = t - t_ack;
            *after_send = t - t0;
            ok = true;
            break;
        }
        if (st != 200 || t > deadline) {
            printf("# GET /me on B after the logout-all -> %ld after %.0f ms\n", st, t - t_ack);
            break;
        }
        sleep_us(poll_us);
    }
out:
    free(tok);
    return ok;
}

/* Prints the usage. */
static void usage(void)
{
    fprintf(stderr, "usage: bench_propagation --a URL --b URL --user NAME --password PW "
                    "[--rounds N] [--timeout-ms MS] [--poll-us US] [--verbose]\n");
}

int main(int argc, char **argv)
{
    const char *a_url = NULL, *b_url = NULL, *user = NULL, *pw = NULL;
    long rounds = 100, timeout_ms = 5000, poll_us = 500;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--verbose") == 0) {
            verbose = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL) {
            usage();
            return 2;
        }
        if (strcmp(o, "--a") == 0)
            a_url = v;
        else if (strcmp(o, "--b") == 0)
            b_url = v;
        else if (strcmp(o, "--user") == 0)
            user = v;
        else if (strcmp(o, "--password") == 0)
            pw = v;
        else if (strcmp(o, "--rounds") == 0)
            rounds = strtol(v, NULL, 10);
        else if (strcmp(o, "--timeout-ms") == 0)
            timeout_ms = strtol(v, NULL, 10);
        else if (strcmp(o, "--poll-us") == 0)
            poll_us = strtol(v, NULL, 10);
        else {
            usage();
            return 2;
        }
    }
    if (a_url == NULL || b_url == NULL || user == NULL || pw == NULL || rounds < 1 ||
        rounds > MAX_ROUNDS || timeout_ms < 1 || poll_us < 0 || poll_us > 1000000 ||
        strlen(a_url) > 200 || strlen(b_url) > 200 || strlen(user) > 200 || strlen(pw) > 200) {
        usage();
        return 2;
    }
    char creds[512];
    snprintf(creds, sizeof creds, "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static conn a, b;
    a.c = curl_easy_init();
    b.c = curl_easy_init();
    a.base = a_url;
    b.base = b_url;
    double *ack = calloc((size_t)rounds, sizeof *ack), *sent = calloc((size_t)rounds, sizeof *sent);
    int n = 0, failed = 0;
    long total_polls = 0;
    for (long r = 0; r < rounds && ack != NULL && sent != NULL && a.c != NULL && b.c != NULL; r++) {
        int polls = 0;
        if (round_once(&a, &b, creds, timeout_ms, poll_us, &ack[n], &sent[n], &polls)) {
            if (verbose)
                printf("round %ld: %.2f ms after the 204 (%.2f ms after sending), %d polls\n",
                       r + 1, ack[n], sent[n], polls);
            total_polls += polls;
            n++;
        } else {
            failed++;
        }
    }
    if (n > 0) {
        qsort(ack, (size_t)n, sizeof *ack, cmp_double);
        qsort(sent, (size_t)n, sizeof *sent, cmp_double);
        printf("propagation A -> B over %d logout-alls: from A's 204 to B's first 401: median %.1f "
               "ms, p90 %.1f ms, max %.1f ms (min %.1f); from sending the logout-all: median %.1f "
               "ms, max %.1f ms; %.1f polls of B per round (a pause of %ld us between polls); %d "
               "round(s) not measured\n",
               n, median(ack, n), quantile(ack, n, 0.9), ack[n - 1], ack[0], median(sent, n),
               sent[n - 1], (double)total_polls / n, poll_us, failed);
    } else {
        printf("propagation: no round measured (%d failed)\n", failed);
    }
    free(ack);
    free(sent);
    curl_easy_cleanup(a.c);
    curl_easy_cleanup(b.c);
    curl_global_cleanup();
    return n == rounds ? 0 : 1;
}
