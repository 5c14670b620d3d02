/* Hostile HTTP input against a real `jwtd serve` (issue 4, "Hostile HTTP input"): see README.md
 * in this folder for every attack and the answer it must get.
 *
 * One program, one server: it creates two users on a fresh SQLite file, starts the server
 * (tests/http/support/testserver), logs in, and starts a thread that runs GET /me with a valid
 * access token over libcurl for the whole test, recording every answer that is not 200 and
 * every connection error, and sampling the server's VmRSS. Then it sends each attack over raw
 * sockets (bytes no HTTP library would send) and checks the exact answer. At the end the /me
 * loop must have seen no error, the RSS must have stayed under HOSTILE_RSS_BOUND_KIB (64 MiB,
 * --rss-bound-kib), and the server must still answer and exit 0 on SIGTERM. One `ok`/`FAIL` line
 * per check, then `N passed, N failed`; the exit status is 0 only when nothing failed.
 *
 *   hostile --jwtd PATH --tmp DIR [--rss-bound-kib N] [--serve-arg ARG]...
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rawhttp.h"
#include "testserver.h"
#include "testutil.h"

/* The documented figures this test holds the server to (docs/OPERATIONS.md, "Limits and
 * timeouts"). */
#define HOSTILE_IDLE_TIMEOUT_S 10 /* http: HTTP_DEFAULT_IDLE_TIMEOUT_MS */
#define HOSTILE_CLOSE_LATE_S                                                                       \
    5 /* a slow client closed later than this past the timeout: the timeout is not the one set */
#define HOSTILE_CLOSE_SLACK_S 15          /* a close may come this much after the timeout */
#define HOSTILE_MAX_HEADER (16 * 1024)    /* http: HTTP_DEFAULT_MAX_HEADER */
#define HOSTILE_MAX_BODY (64 * 1024)      /* jwtd serve --max-body default */
#define HOSTILE_IDLE_CONNS 10000          /* the figure */
#define HOSTILE_RSS_BOUND_KIB (64 * 1024) /* the server's VmRSS, whole test incl. 10k idle */
#define HOSTILE_SLOWLORIS_CONNS 5
#define HOSTILE_EXHAUSTED_WINDOW_MS 3000 /* CPU measured while out of descriptors */
#define HOSTILE_EXHAUSTED_CPU_S 0.5      /* spinning on accept burned 1.5 s in 3 s */
#define HOSTILE_IO_TIMEOUT_MS 10000      /* one answer on a raw socket */
#define HOSTILE_ME_PAUSE_MS 20           /* between two GET /me of the loop */
#define HOSTILE_ME_MAX_S 600             /* the loop's own bound, whatever happens */
#define LIT(s) s, sizeof(s) - 1          /* a byte string that may hold NULs, and its length */

/* The server's request timeout in seconds: its default, or --request-timeout S (then also
 * passed to jwtd serve, and slow clients must be cut within HOSTILE_CLOSE_LATE_S of it). */
static long g_timeout_s = HOSTILE_IDLE_TIMEOUT_S;
static bool g_timeout_set = false;

static const char ALICE_PW[] = "alice-password-1";
static const char ROOT_PW[] = "root-password-12";

static long g_rss_bound_kib = HOSTILE_RSS_BOUND_KIB; /* --rss-bound-kib (sanitizer builds) */
static int g_port;
static pid_t g_server_pid;
static int g_passed, g_failed;
static char g_access[4096], g_admin[4096];

/* ---- small helpers ---- */

static void check(bool cond, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void check(bool cond, const char *name, const char *fmt, ...)
{
    printf("%s - %s", cond ? "ok  " : "FAIL", name);
    if (fmt != NULL && fmt[0] != '\0') {
        va_list ap;
        va_start(ap, fmt);
        printf(" (");
        /* clang-tidy 14 false positive: va_start is just above */
        vprintf(fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
        printf(")");
        va_end(ap);
    }
    printf("\n");
    fflush(stdout);
    if (cond)
        g_passed++;
    else
        g_failed++;
}

/* The server's VmRSS in KiB, or 0. */
static long server_rss_kib(void)
{
    long kib = testutil_proc_rss_kib(g_server_pid);
    return kib > 0 ? kib : 0;
}

/* How many descriptors the server has open (entries of /proc/PID/fd), or -1. */
static long server_fd_count(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)g_server_pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    long n = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* One request on a new connection; the response in r. Returns false when none came. *closed
 * (may be NULL) says whether the server then closed the connection (within 2 s). */
static bool exchange(const char *req, size_t len, raw_response *r, bool *closed)
{
    raw_conn c;
    memset(r, 0, sizeof *r);
    if (!raw_open(&c, g_port))
        return false;
    raw_send(&c, req, len);
    bool got = raw_read_response(&c, r, HOSTILE_IO_TIMEOUT_MS);
    if (closed != NULL)
        *closed = got && raw_wait_closed(&c, 2000);
    raw_close(&c);
    return got;
}

/* Sends req on a new connection and checks the JSON error answer. */
static void expect_error(const char *name, const char *req, size_t len, int status,
                         const char *message)
{
    raw_response r;
    char why[512] = "no response";
    bool got = exchange(req, len, &r, NULL);
    check(got && raw_is_json_error(&r, status, message, why, sizeof why), name, "%s", why);
    raw_response_free(&r);
}

/* A request text: method, path, extra header lines (each ending in \r\n), a JSON body. */
static char *build_request(const char *method, const char *path, const char *headers,
                           const char *body)
{
    char *out = NULL;
    size_t blen = body != NULL ? strlen(body) : 0;
    if (body != NULL) {
        if (asprintf(&out,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, headers, blen, body) < 0)
            out = NULL;
    } else if (asprintf(&out, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method, path,
                        headers) < 0) {
        out = NULL;
    }
    if (out == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return out;
}

/* A JSON body request and its error answer. */
static void expect_body_error(const char *name, const char *method, const char *path,
                              const char *headers, const char *body, int status,
                              const char *message)
{
    char *req = build_request(method, path, headers, body);
    expect_error(name, req, strlen(req), status, message);
    free(req);
}

/* A JSON request; the status and the parsed body (NULL when not JSON). */
static int json_request(const char *method, const char *path, const char *headers, const char *body,
                        json_t **out)
{
    char *req = build_request(method, path, headers, body);
    raw_response r;
    int status = exchange(req, strlen(req), &r, NULL) ? r.status : 0;
    free(req);
    if (out != NULL)
        *out = status != 0 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
    raw_response_free(&r);
    return status;
}

static bool login(const char *user, const char *pw, char *token, size_t len)
{
    char body[256];
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    json_t *doc = NULL;
    int st = json_request("POST", "/login", "", body, &doc);
    const char *t = json_string_value(json_object_get(doc, "access_token"));
    bool ok = st == 200 && t != NULL && strlen(t) < len;
    if (ok)
        snprintf(token, len, "%s", t);
    json_decref(doc);
    return ok;
}

/* ---- the GET /me loop (libcurl, its own thread) ---- */

typedef struct me_loop {
    pthread_t thread;
    atomic_bool stop;
    char auth_header[4200];
    char url[128];
    long requests, errors;
    char first_errors[5][256];
    long rss_max_kib;
} me_loop;

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

static void *me_loop_main(void *arg)
{
    me_loop *m = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, m->auth_header);
    curl_easy_setopt(c, CURLOPT_URL, m->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)HOSTILE_IO_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long deadline = testutil_now_ms() + HOSTILE_ME_MAX_S * 1000L;
    while (!atomic_load(&m->stop) && testutil_now_ms() < deadline) {
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        m->requests++;
        if (rc != CURLE_OK || status != 200) {
            if (m->errors < 5)
                snprintf(m->first_errors[m->errors], sizeof m->first_errors[0],
                         "request %ld: %s, status %ld", m->requests, curl_easy_strerror(rc),
                         status);
            m->errors++;
        }
        long rss = server_rss_kib();
        if (rss > m->rss_max_kib)
            m->rss_max_kib = rss;
        testutil_sleep_ms(HOSTILE_ME_PAUSE_MS);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

/* A GET /me on a new connection, the way a new client would come in. */
static bool fresh_me_ok(void)
{
    char *req = NULL;
    if (asprintf(&req, "GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
                 g_access) < 0)
        return false;
    raw_response r;
    bool ok = exchange(req, strlen(req), &r, NULL) && r.status == 200;
    raw_response_free(&r);
    free(req);
    return ok;
}

/* The scheduling policy of a thread of the server (field 41 of /proc/PID/task/TID/stat), or -1. */
static int thread_policy(const char *tid)
{
    char path[96], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)g_server_pid, tid);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    /* Field 3 (state) follows ") "; the policy is 38 fields further. */
    for (int field = 2; field < 41 && p != NULL; field++)
        p = strchr(p + 1, ' ');
    if (p == NULL)
        return -1;
    char *end;
    long policy = strtol(p + 1, &end, 10);
    return end != p + 1 && policy >= 0 && policy < 64 ? (int)policy : -1;
}

/* Workers (Argon2id, store writes) run SCHED_IDLE, below the event loops, so a GET /me never
 * waits for a password check's slice (docs/OPERATIONS.md, Workers); the loops and the main
 * thread keep the normal policy. */
static void test_worker_policy(void)
{
    char path[64];
    int idle = 0, normal = 0, other = 0;
    snprintf(path, sizeof path, "/proc/%d/task", (int)g_server_pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int policy = thread_policy(e->d_name);
        if (policy == SCHED_IDLE)
            idle++;
        else if (policy == SCHED_OTHER)
            normal++;
        else
            other++;
    }
    if (d != NULL)
        closedir(d);
    char main_tid[24];
    snprintf(main_tid, sizeof main_tid, "%d", (int)g_server_pid);
    check(idle >= 1 && normal >= 1 && other == 0 && thread_policy(main_tid) == SCHED_OTHER,
          "workers run SCHED_IDLE, the loops and the main thread SCHED_OTHER",
          "%d idle, %d normal, %d other", idle, normal, other);
}

/* ---- the attacks ---- */

static void test_rlimit(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)g_server_pid);
    FILE *f = fopen(path, "r");
    long soft = -1, hard = -2;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "Max open files", 14) == 0) {
            /* "Max open files  SOFT  HARD  files": each left as it was when not a number. */
            const char *p = line + 14;
            char *end;
            long v = strtol(p, &end, 10);
            if (end != p) {
                soft = v;
                p = end;
                v = strtol(p, &end, 10);
                if (end != p)
                    hard = v;
            }
        }
    if (f != NULL)
        fclose(f);
    check(soft == hard && soft >= HOSTILE_IDLE_CONNS + 100,
          "rlimit: the server raised its open-files soft limit to the hard limit",
          "soft %ld, hard %ld", soft, hard);
}

/* fmt with every "{T}" replaced by the access token (malloc'ed). */
static char *subst_token(const char *fmt)
{
    size_t tl = strlen(g_access), n = 0;
    char *out = malloc(strlen(fmt) * (tl + 1) + 1);
    for (const char *p = fmt; *p != '\0';) {
        if (strncmp(p, "{T}", 3) == 0) {
            memcpy(out + n, g_access, tl);
            n += tl;
            p += 3;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

/* The RFC 6750 challenges of /me: no bearer token presented; one refused. */
#define NO_TOKEN "Bearer realm=\"jwtd\""
#define INVALID_TOKEN                                                                              \
    "Bearer realm=\"jwtd\", error=\"invalid_token\", error_description=\"the token is not valid\""

static void test_authorization(void)
{
    struct {
        const char *name;
        const char *fmt; /* the Authorization line(s), {T} = the token */
        int status;
        const char *message;
        const char *www; /* the WWW-Authenticate value */
    } cases[] = {
        {"Authorization: bearer (lower-case scheme) -> 200", "Authorization: bearer {T}\r\n", 200,
         NULL, NULL},
        {"Authorization: BEARER (upper-case scheme) -> 200", "Authorization: BEARER {T}\r\n", 200,
         NULL, NULL},
        {"Authorization: Bearer, two spaces (1*SP) -> 200", "Authorization: Bearer  {T}\r\n", 200,
         NULL, NULL},
        {"Authorization: trailing spaces (OWS, not part of the value) -> 200",
         "Authorization: Bearer {T}   \r\n", 200, NULL, NULL},
        {"Authorization: Bearer<TAB>token -> 401 invalid token", "Authorization: Bearer\t{T}\r\n",
         401, "invalid token", INVALID_TOKEN},
        {"Authorization: Bearer<SP><TAB>token -> 401 invalid token",
         "Authorization: Bearer \t{T}\r\n", 401, "invalid token", INVALID_TOKEN},
        {"Authorization: token then junk -> 401 invalid token",
         "Authorization: Bearer {T} junk\r\n", 401, "invalid token", INVALID_TOKEN},
        {"Authorization: Bearer without a token -> 401 invalid token", "Authorization: Bearer\r\n",
         401, "invalid token", INVALID_TOKEN},
        {"Authorization: Bearer and spaces, no token -> 401 invalid token",
         "Authorization: Bearer    \r\n", 401, "invalid token", INVALID_TOKEN},
        {"Authorization: empty -> 401 missing token", "Authorization:\r\n", 401, "missing token",
         NO_TOKEN},
        {"Authorization: Basic -> 401 missing token (another scheme: no bearer token)",
         "Authorization: Basic YWxpY2U6cGFzc3dvcmQ=\r\n", 401, "missing token", NO_TOKEN},
        {"Authorization: BearerX token (not the scheme) -> 401 missing token",
         "Authorization: BearerX {T}\r\n", 401, "missing token", NO_TOKEN},
        {"Authorization: two headers -> 401 invalid token",
         "Authorization: Bearer {T}\r\nAuthorization: Bearer {T}\r\n", 401, "invalid token",
         INVALID_TOKEN},
        {"Authorization: token with a NUL-free but invalid character -> 401 invalid token",
         "Authorization: Bearer {T}!\r\n", 401, "invalid token", INVALID_TOKEN},
        /* The server checks the b64token syntax only of a token that failed to verify: the
         * token above is in its cache by now, and none of these may pass for it. */
        {"Authorization: token then '=' (b64token, not a JWS) -> 401 invalid token",
         "Authorization: Bearer {T}=\r\n", 401, "invalid token", INVALID_TOKEN},
        {"Authorization: token then '~' (b64token, not base64url) -> 401 invalid token",
         "Authorization: Bearer {T}~\r\n", 401, "invalid token", INVALID_TOKEN},
        {"Authorization: token then a UTF-8 byte pair -> 401 invalid token",
         "Authorization: Bearer {T}\xc3\xa9\r\n", 401, "invalid token", INVALID_TOKEN},
        {"Authorization: the token again after all of these -> 200",
         "Authorization: Bearer {T}\r\n", 200, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *line = subst_token(cases[i].fmt);
        char *req = build_request("GET", "/me", line, NULL);
        raw_response r;
        char why[512] = "no response";
        bool ok = exchange(req, strlen(req), &r, NULL);
        if (ok && cases[i].status == 200) {
            ok = r.status == 200;
            snprintf(why, sizeof why, "%d %.200s", r.status, r.body != NULL ? r.body : "");
        } else if (ok) {
            char www[256] = "";
            raw_header(&r, "www-authenticate", www, sizeof www);
            ok = raw_is_json_error(&r, cases[i].status, cases[i].message, why, sizeof why) &&
                 strcmp(www, cases[i].www) == 0;
            size_t n = strlen(why);
            snprintf(why + n, sizeof why - n, "; WWW-Authenticate: %.100s", www);
        }
        check(ok, cases[i].name, "%s", why);
        raw_response_free(&r);
        free(req);
        free(line);
    }
}

static void test_headers(void)
{
    /* One header of 32 KiB: over the 16 KiB limit, under h2o's own parse limit. */
    size_t big = 32 * 1024;
    char *value = malloc(64 * 1024 + 1);
    memset(value, 'a', 64 * 1024);
    value[big] = '\0';
    char *line = NULL;
    if (asprintf(&line, "X-Big: %s\r\n", value) < 0)
        exit(2);
    char *req = build_request("GET", "/healthz", line, NULL);
    raw_response r;
    bool closed = false;
    char why[512] = "no response";
    bool ok = exchange(req, strlen(req), &r, &closed) &&
              raw_is_json_error(&r, 431, "request headers too large", why, sizeof why);
    check(ok && closed, "headers: one 32 KiB header -> 431 JSON, then the connection is closed",
          "%s%s", why, closed ? "" : "; not closed");
    raw_response_free(&r);
    free(req);
    free(line);

    /* A 64 KiB Authorization header. */
    value[64 * 1024] = '\0';
    if (asprintf(&line, "Authorization: Bearer %s\r\n", value) < 0)
        exit(2);
    req = build_request("GET", "/me", line, NULL);
    expect_error("headers: 64 KiB Authorization -> 431 JSON", req, strlen(req), 431,
                 "request headers too large");
    free(req);
    free(line);

    /* 80 headers of 300 bytes: each small, 24 KiB together. */
    value[280] = '\0';
    char *lines = malloc(80 * 320);
    lines[0] = '\0';
    for (int i = 0; i < 80; i++)
        sprintf(lines + strlen(lines), "X-H%d: %s\r\n", i, value);
    req = build_request("GET", "/healthz", lines, NULL);
    expect_error("headers: 80 headers, 24 KiB together -> 431 JSON", req, strlen(req), 431,
                 "request headers too large");
    free(req);

    /* More headers than h2o parses (100): h2o's own 400, as JSON through the filter. */
    lines[0] = '\0';
    for (int i = 0; i < 150; i++)
        sprintf(lines + strlen(lines), "X-H%d: v\r\n", i);
    req = build_request("GET", "/healthz", lines, NULL);
    ok = exchange(req, strlen(req), &r, &closed) && raw_is_h2o_400(&r, why, sizeof why);
    check(ok && closed, "headers: 150 headers (more than h2o parses) -> h2o's own 400, closed",
          "%s", why);
    raw_response_free(&r);
    free(req);
    free(lines);

    /* Beyond h2o's own request-head buffer (H2O_MAX_REQLEN, about 408 KiB): h2o closes the
     * connection without an answer; the server goes on. */
    static const char huge_head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: ";
    size_t huge = 600 * 1024, hl = sizeof huge_head - 1;
    char *hv = malloc(huge + hl + 8);
    memcpy(hv, huge_head, hl);
    memset(hv + hl, 'b', huge);
    memcpy(hv + hl + huge, "\r\n\r\n", 5);
    raw_conn c;
    bool got_resp = false, got_close = false;
    if (raw_open(&c, g_port)) {
        raw_send(&c, hv, strlen(hv));
        raw_response rr;
        got_resp = raw_read_response(&c, &rr, HOSTILE_IO_TIMEOUT_MS);
        got_close = got_resp ? raw_wait_closed(&c, 2000) : c.eof;
        /* The answer comes while the client may still be sending: the reset that follows
         * (unread bytes) can then destroy it before it is read. A close is enough. */
        snprintf(why, sizeof why, "closed without an answer");
        ok = got_close && (!got_resp || raw_is_h2o_400(&rr, why, sizeof why));
        raw_response_free(&rr);
        raw_close(&c);
    } else {
        ok = false;
    }
    check(ok, "headers: a 600 KiB header (beyond h2o's buffer) -> h2o's own 400 or a close", "%s",
          why);
    free(hv);

    /* A request line with a 20 KiB path, and one with a 300 KiB path. */
    memset(value, 'p', 20 * 1024);
    value[20 * 1024] = '\0';
    value[0] = '/';
    req = build_request("GET", value, "", NULL);
    expect_error("request line: a 20 KiB path -> 431 JSON", req, strlen(req), 431,
                 "request headers too large");
    free(req);
    char *long_path = malloc(300 * 1024 + 1);
    memset(long_path, 'p', 300 * 1024);
    long_path[0] = '/';
    long_path[300 * 1024] = '\0';
    req = build_request("GET", long_path, "", NULL);
    expect_error("request line: a 300 KiB path -> 431 JSON", req, strlen(req), 431,
                 "request headers too large");
    free(req);
    free(long_path);
    free(value);
}

static void test_bodies(void)
{
    /* Content-Length over the limit: 413 before the body is read. */
    char head[512];
    snprintf(head, sizeof head,
             "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: %d\r\n\r\n{\"username\":\"",
             HOSTILE_MAX_BODY + 1);
    expect_error("body: Content-Length over the limit -> 413 JSON", head, strlen(head), 413,
                 "request body too large");
    snprintf(head, sizeof head,
             "POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: 99999999999999999999\r\n\r\n{");
    raw_conn c;
    raw_response r;
    char why[512] = "no response";
    bool ok = false;
    if (raw_open(&c, g_port)) {
        raw_send(&c, head, strlen(head));
        ok = raw_read_response(&c, &r, HOSTILE_IO_TIMEOUT_MS) &&
             (raw_is_json_error(&r, 413, "request body too large", why, sizeof why) ||
              raw_is_json_error(&r, 400, "bad request", why, sizeof why));
        raw_response_free(&r);
        raw_close(&c);
    }
    check(ok, "body: Content-Length of 20 digits -> 413 (or 400) JSON", "%s", why);

    /* A whole body of 100 KiB: 413 (read as the request goes). */
    size_t blen = 100 * 1024;
    char *body = malloc(blen + 1);
    memset(body, ' ', blen);
    body[0] = '{';
    body[blen - 1] = '}';
    body[blen] = '\0';
    char *req = build_request("POST", "/login", "", body);
    /* send only the head and the first 1 KiB: the answer comes before the rest */
    size_t cut = strlen(req) - blen + 1024;
    expect_error("body: 100 KiB body -> 413 JSON", req, cut, 413, "request body too large");
    free(req);

    /* Chunked, beyond the limit. */
    ok = false;
    snprintf(why, sizeof why, "no response");
    if (raw_open(&c, g_port)) {
        const char *h = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n";
        raw_send(&c, h, strlen(h));
        char chunk[8192 + 16];
        int n = snprintf(chunk, sizeof chunk, "2000\r\n");
        memset(chunk + n, ' ', 8192);
        chunk[n + 8192] = '\r'; /* the chunk's CRLF; no NUL: sent by length */
        chunk[n + 8192 + 1] = '\n';
        for (int i = 0; i < 16; i++) { /* 128 KiB in all, unless the server answers first */
            struct pollfd pfd = {c.fd, POLLIN, 0};
            if (poll(&pfd, 1, 0) > 0 || !raw_send(&c, chunk, (size_t)n + 8192 + 2))
                break;
        }
        ok = raw_read_response(&c, &r, HOSTILE_IO_TIMEOUT_MS) &&
             raw_is_json_error(&r, 413, "request body too large", why, sizeof why);
        raw_response_free(&r);
        raw_close(&c);
    }
    check(ok, "body: chunked body beyond the limit -> 413 JSON", "%s", why);

    /* Chunked, small and valid: the body is read and parsed (a wrong password: 401). */
    ok = false;
    if (raw_open(&c, g_port)) {
        const char *h = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"
                        "14\r\n{\"username\":\"alice\",\r\n"
                        "18\r\n\"password\":\"not-hers-1\"}\r\n0\r\n\r\n";
        raw_send(&c, h, strlen(h));
        ok = raw_read_response(&c, &r, HOSTILE_IO_TIMEOUT_MS) &&
             raw_is_json_error(&r, 401, "invalid credentials", why, sizeof why);
        raw_response_free(&r);
        raw_close(&c);
    }
    check(ok, "body: a small valid chunked body is parsed (wrong password -> 401)", "%s", why);

    /* Broken chunked framing: h2o's 400, as JSON. */
    req = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
    expect_error("body: broken chunked framing -> 400 JSON", req, strlen(req), 400, "bad request");

    /* Truncated and closed: no answer is owed; the server must just go on. */
    if (raw_open(&c, g_port)) {
        const char *h = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Content-Length: 100\r\n\r\n{\"username\":";
        raw_send(&c, h, strlen(h));
        shutdown(c.fd, SHUT_WR);
        ok = raw_wait_closed(&c, HOSTILE_IO_TIMEOUT_MS);
        raw_close(&c);
    }
    check(ok && fresh_me_ok(),
          "body: truncated body then close -> connection closed, server still answers", NULL);
    free(body);
}

/* Wrong types in every string field of every body route: 400 with the stable message. */
static void test_json(void)
{
    static const char *const wrong[] = {"42", "1.5", "[\"x\"]", "{\"a\":\"b\"}", "true", "false"};
    static const struct {
        const char *path;
        const char *field;
        const char *others; /* the other members, valid */
    } fields[] = {
        {"/register", "username", "\"password\":\"password-123\""},
        {"/register", "password", "\"username\":\"mallory\""},
        {"/register", "email", "\"username\":\"mallory\",\"password\":\"password-123\""},
        {"/register", "name", "\"username\":\"mallory\",\"password\":\"password-123\""},
        {"/login", "username", "\"password\":\"password-123\""},
        {"/login", "email", "\"password\":\"password-123\""},
        {"/login", "password", "\"username\":\"alice\""},
        {"/refresh", "refresh_token", NULL},
        {"/logout", "refresh_token", NULL},
    };
    int bad = 0, total = 0;
    char first[600] = "";
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
            char body[512];
            snprintf(body, sizeof body, "{%s%s\"%s\":%s}", fields[f].others ? fields[f].others : "",
                     fields[f].others ? "," : "", fields[f].field, wrong[w]);
            char *req = build_request("POST", fields[f].path, "", body);
            raw_response r;
            char why[512] = "no response";
            total++;
            if (!exchange(req, strlen(req), &r, NULL) ||
                !raw_is_json_error(&r, 400, "invalid request", why, sizeof why)) {
                if (bad++ == 0)
                    snprintf(first, sizeof first, "%s %.200s: %.300s", fields[f].path, body, why);
            }
            raw_response_free(&r);
            free(req);
        }
    }
    check(bad == 0,
          "json: wrong types in every field of /register /login /refresh /logout -> 400 "
          "invalid request",
          "%d of %d wrong%s%s", bad, total, bad ? "; first: " : "", first);

    /* null in a required member is a missing member. */
    expect_body_error("json: /register username null -> 400 username and password are required",
                      "POST", "/register", "", "{\"username\":null,\"password\":\"password-123\"}",
                      400, "username and password are required");
    expect_body_error("json: /login password null -> 400 username and password are required",
                      "POST", "/login", "", "{\"username\":\"alice\",\"password\":null}", 400,
                      "username and password are required");

    /* PATCH /admin/users/{id}: roles and disabled. */
    static const char *const patch_bad[] = {
        "{\"roles\":\"admin\"}",   "{\"roles\":42}",
        "{\"roles\":{\"a\":1}}",   "{\"roles\":true}",
        "{\"roles\":null}",        "{\"roles\":[1]}",
        "{\"roles\":[null]}",      "{\"roles\":[[\"admin\"]]}",
        "{\"disabled\":\"true\"}", "{\"disabled\":1}",
        "{\"disabled\":null}",     "{\"disabled\":[true]}",
        "{\"disabled\":{}}",       "{}",
    };
    char auth[4200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", g_admin);
    bad = 0;
    first[0] = '\0';
    for (size_t i = 0; i < sizeof patch_bad / sizeof patch_bad[0]; i++) {
        char *req = build_request("PATCH", "/admin/users/1", auth, patch_bad[i]);
        raw_response r;
        char why[512] = "no response";
        if (!exchange(req, strlen(req), &r, NULL) ||
            !raw_is_json_error(&r, 400, "invalid request", why, sizeof why)) {
            if (bad++ == 0)
                snprintf(first, sizeof first, "%.100s: %.400s", patch_bad[i], why);
        }
        raw_response_free(&r);
        free(req);
    }
    check(bad == 0, "json: wrong types in PATCH /admin/users/{id} -> 400 invalid request",
          "%d of %zu wrong%s%s", bad, sizeof patch_bad / sizeof patch_bad[0], bad ? "; " : "",
          first);

    /* Not JSON, not an object, nested 10,000 levels. */
    static const struct {
        const char *name, *body;
    } invalid[] = {
        {"json: truncated JSON -> 400 invalid JSON", "{\"username\":\"alice\",\"password\":"},
        {"json: an array, not an object -> 400 invalid JSON", "[\"alice\",\"x\"]"},
        {"json: a string, not an object -> 400 invalid JSON", "\"alice\""},
        {"json: trailing garbage -> 400 invalid JSON", "{\"username\":\"a\"} {}"},
        {"json: duplicate members -> 400 invalid JSON",
         "{\"username\":\"alice\",\"username\":\"root\",\"password\":\"x\"}"},
        {"json: single quotes -> 400 invalid JSON", "{'username':'alice'}"},
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        expect_body_error(invalid[i].name, "POST", "/login", "", invalid[i].body, 400,
                          "invalid JSON");
    size_t depth = 10000, size = 2 * depth + 64;
    char *nested = malloc(size);
    size_t n = (size_t)snprintf(nested, size, "{\"username\":");
    memset(nested + n, '[', depth);
    memset(nested + n + depth, ']', depth);
    snprintf(nested + n + 2 * depth, size - n - 2 * depth, ",\"password\":\"x\"}");
    expect_body_error("json: arrays nested 10,000 levels -> 400 invalid JSON", "POST", "/login", "",
                      nested, 400, "invalid JSON");
    n = (size_t)snprintf(nested, size, "{\"refresh_token\":");
    static const char member[] = "{\"a\":"; /* 5 bytes, the NUL left out */
    for (size_t i = 0; i < depth / 5; i++)
        memcpy(nested + n + 5 * i, member, sizeof member - 1);
    memset(nested + n + depth, '}', depth / 5);
    snprintf(nested + n + depth + depth / 5, size - n - depth - depth / 5, "}");
    expect_body_error("json: objects nested 2,000 levels on /refresh -> 400 invalid JSON", "POST",
                      "/refresh", "", nested, 400, "invalid JSON");
    free(nested);
}

/* NUL and invalid UTF-8 in usernames and passwords: 400, and no user is created. */
static void test_nul_utf8(void)
{
    static const struct {
        const char *name;
        const char *body;
        size_t len; /* 0: strlen */
    } cases[] = {
        {"nul: \\u0000 in a username -> 400 invalid JSON",
         "{\"username\":\"eve\\u0000admin\",\"password\":\"password-123\"}", 0},
        {"nul: \\u0000 in a password -> 400 invalid JSON",
         "{\"username\":\"eve2\",\"password\":\"password-123\\u0000x\"}", 0},
        {"nul: a raw NUL byte in a username -> 400 invalid JSON",
         LIT("{\"username\":\"eve\0admin\",\"password\":\"password-123\"}")},
        {"nul: a raw NUL byte between members -> 400 invalid JSON",
         LIT("{\"username\":\"eve\",\0\"password\":\"password-123\"}")},
        {"utf8: invalid UTF-8 (\\xff) in a username -> 400 invalid JSON",
         "{\"username\":\"eve\xff\",\"password\":\"password-123\"}", 0},
        {"utf8: an overlong encoding (\\xc0\\xaf) in a username -> 400 invalid JSON",
         "{\"username\":\"eve\xc0\xaf\",\"password\":\"password-123\"}", 0},
        {"utf8: a lone surrogate (\\xed\\xa0\\x80) in a password -> 400 invalid JSON",
         "{\"username\":\"eve3\",\"password\":\"password-123\xed\xa0\x80\"}", 0},
        {"utf8: a truncated sequence (\\xe2\\x82) in a password -> 400 invalid JSON",
         "{\"username\":\"eve4\",\"password\":\"password\xe2\x82\"}", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t blen = cases[i].len != 0 ? cases[i].len : strlen(cases[i].body);
        char head[256];
        int n = snprintf(head, sizeof head,
                         "POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         blen);
        char *req = malloc((size_t)n + blen);
        memcpy(req, head, (size_t)n);
        memcpy(req + n, cases[i].body, blen);
        expect_error(cases[i].name, req, (size_t)n + blen, 400, "invalid JSON");
        free(req);
    }
    /* Escaped but valid: a username outside [A-Za-z0-9._-] is refused by the service. */
    expect_body_error("utf8: a valid non-ASCII username (\\u00e9) -> 400 invalid input", "POST",
                      "/register", "", "{\"username\":\"ev\\u00e9\",\"password\":\"password-123\"}",
                      400, "invalid input");
    expect_body_error("nul: a control character (\\u0001) in a username -> 400 invalid input",
                      "POST", "/register", "",
                      "{\"username\":\"eve\\u0001\",\"password\":\"password-123\"}", 400,
                      "invalid input");
    /* None of them made a user: no "eve", and the list still holds alice and root. */
    json_t *doc = NULL;
    int st = json_request("POST", "/login", "",
                          "{\"username\":\"eve\",\"password\":\"password-123\"}", &doc);
    check(st == 401, "nul/utf8: no user \"eve\" was created (login -> 401)", "status %d", st);
    json_decref(doc);
    char auth[4200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", g_admin);
    doc = NULL;
    st = json_request("GET", "/admin/users", auth, NULL, &doc);
    json_t *users = json_object_get(doc, "users");
    bool only = st == 200 && json_array_size(users) == 2;
    for (size_t i = 0; only && i < json_array_size(users); i++) {
        const char *u = json_string_value(json_object_get(json_array_get(users, i), "username"));
        only = u != NULL && (strcmp(u, "alice") == 0 || strcmp(u, "root") == 0);
    }
    check(only, "nul/utf8: GET /admin/users lists only alice and root", "status %d, %zu users", st,
          json_array_size(users));
    json_decref(doc);
}

static void test_duplicates_and_protocol(void)
{
    char *req;
    raw_response r;
    char why[512];
    bool closed = false, ok;

    /* Two Content-Type lines, even equal: refused. */
    req = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    ok = exchange(req, strlen(req), &r, &closed) &&
         raw_is_json_error(&r, 400, "bad request", why, sizeof why);
    check(ok && closed, "duplicates: two Content-Type -> 400 bad request JSON, then closed", "%s",
          why);
    raw_response_free(&r);
    /* Two Content-Length lines, Content-Length with Transfer-Encoding and every other
     * framing shape: tests/framing (framing.direct), each followed by a second request. */
    /* Two Cookie lines: only the first is read (RFC 6265 5.4: a client sends one). */
    char *line = NULL;
    if (asprintf(&line, "Cookie: a=1\r\nCookie: jwtd_refresh=%s\r\n", g_access) < 0)
        exit(2);
    req = build_request("POST", "/refresh", line, NULL);
    expect_error("duplicates: two Cookie, the token in the second -> 401 missing token", req,
                 strlen(req), 401, "missing token");
    free(req);
    free(line);
    /* Two Host lines: h2o keeps the first; harmless here (no virtual hosts). */

    /* Methods. */
    req = "FOO /me HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_error("methods: FOO /me -> 405 JSON", req, strlen(req), 405, "method not allowed");
    req = "get /me HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_error("methods: lower-case get /me -> 405 JSON (methods are case-sensitive)", req,
                 strlen(req), 405, "method not allowed");
    req = "G(T /me HTTP/1.1\r\nHost: x\r\n\r\n";
    ok = exchange(req, strlen(req), &r, &closed);
    snprintf(why, sizeof why, "no answer");
    ok = ok ? (raw_is_json_error(&r, 400, NULL, why, sizeof why) ||
               raw_is_json_error(&r, 405, NULL, why, sizeof why))
            : closed;
    check(ok, "methods: a method with a separator -> 400/405 JSON", "%s", why);
    raw_response_free(&r);

    /* HTTP/1.0: answered, then closed (no keep-alive asked). */
    char *r10 = NULL;
    if (asprintf(&r10, "GET /me HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n", g_access) < 0)
        exit(2);
    ok = exchange(r10, strlen(r10), &r, &closed) && r.status == 200;
    check(ok && closed, "HTTP/1.0: GET /me without Host -> 200, then closed", "status %d%s",
          r.status, closed ? "" : ", not closed");
    raw_response_free(&r);
    free(r10);
    req = "GET /healthz HTTP/1.1\r\n\r\n";
    snprintf(why, sizeof why, "no answer");
    ok = exchange(req, strlen(req), &r, &closed) &&
         raw_is_json_error(&r, 400, "bad request", why, sizeof why);
    check(ok && closed, "HTTP/1.1 without Host -> 400 bad request JSON, closed (RFC 9112 3.2)",
          "%s", why);
    raw_response_free(&r);
    req = "GET /healthz HTTP/1.1\r\nHost: default\r\n\r\n";
    ok = exchange(req, strlen(req), &r, NULL) && r.status == 200;
    check(ok, "HTTP/1.1 with Host: default (the internal host name) -> 200", "status %d", r.status);
    raw_response_free(&r);
    req = "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n";
    snprintf(why, sizeof why, "no answer");
    ok = exchange(req, strlen(req), &r, &closed) && raw_is_h2o_400(&r, why, sizeof why);
    check(ok && closed, "HTTP/2.0 on an HTTP/1 request line -> h2o's own 400, closed", "%s", why);
    raw_response_free(&r);

    /* Garbage, a TLS ClientHello, obsolete line folding, NULs, a line without a colon. */
    static const struct {
        const char *name;
        const char *bytes;
        size_t len;
        bool json; /* our 400 JSON; else h2o's own 400 */
    } junk[] = {
        {"junk: random bytes -> h2o's own 400, closed", LIT("\x01\x02\x03\x04 garbage\r\n\r\n"),
         false},
        {"junk: a TLS ClientHello on the plain port -> h2o's own 400, closed",
         LIT("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n"), false},
        {"junk: obsolete line folding -> 400 bad request JSON, closed",
         LIT("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"), true},
        {"junk: a NUL byte in a header value -> h2o's own 400, closed",
         LIT("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"), false},
        {"junk: a NUL byte in the path -> h2o's own 400, closed",
         LIT("GET /me\0x HTTP/1.1\r\nHost: x\r\n\r\n"), false},
        {"junk: a header line without a colon -> h2o's own 400, closed",
         LIT("GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n"), false},
        {"junk: a space before the colon -> h2o's own 400, closed",
         LIT("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n"), false},
    };
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        snprintf(why, sizeof why, "no answer");
        ok = exchange(junk[i].bytes, junk[i].len, &r, &closed) &&
             (junk[i].json ? raw_is_json_error(&r, 400, "bad request", why, sizeof why)
                           : raw_is_h2o_400(&r, why, sizeof why));
        check(ok && closed, junk[i].name, "%s%s", why, closed ? "" : "; not closed");
        raw_response_free(&r);
    }

    /* Targets routes must not be confused by: the router matches the raw origin-form path
     * exactly, so neither dot segments nor percent-encoding nor an absolute URI reach /me. */
    {
        char *auth_line = NULL;
        if (asprintf(&auth_line, "Authorization: Bearer %s\r\n", g_access) < 0)
            exit(2);
        static const char *const paths[] = {
            "/me/../me", "/./me", "/m%65", "/ME", "http://evil.example/me", "//me"};
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
            char name[128];
            snprintf(name, sizeof name, "targets: GET %s -> 404 not found JSON", paths[i]);
            req = build_request("GET", paths[i], auth_line, NULL);
            expect_error(name, req, strlen(req), 404, "not found");
            free(req);
        }
        free(auth_line);
    }
    req = "CONNECT evil.example:443 HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_error("methods: CONNECT -> 404 not found JSON", req, strlen(req), 404, "not found");

    /* Expect and Transfer-Encoding. */
    req = "POST /login HTTP/1.1\r\nHost: x\r\nExpect: bananas\r\nContent-Type: application/json"
          "\r\nContent-Length: 2\r\n\r\n{}";
    expect_error("Expect: an unknown expectation -> 417 JSON", req, strlen(req), 417,
                 "expectation failed");
    req = "POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n"
          "Content-Type: application/json\r\n\r\n0\r\n\r\n";
    expect_error("Transfer-Encoding other than chunked -> 400 bad request JSON", req, strlen(req),
                 400, "bad request");
    {
        raw_conn c;
        int first = 0, second = 0;
        snprintf(why, sizeof why, "no answer");
        if (raw_open(&c, g_port)) {
            const char *h = "POST /login HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                            "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n";
            raw_send(&c, h, strlen(h));
            /* "100 Continue" has no length: read its head alone. */
            long deadline = testutil_now_ms() + HOSTILE_IO_TIMEOUT_MS;
            char *end = NULL;
            while ((end = c.len > 0 ? memmem(c.buf, c.len, "\r\n\r\n", 4) : NULL) == NULL &&
                   raw_fill(&c, deadline))
                ;
            if (end != NULL) {
                raw_parse_status(c.buf, c.len, &first);
                size_t used = (size_t)(end - c.buf) + 4;
                memmove(c.buf, c.buf + used, c.len - used);
                c.len -= used;
                raw_send(&c, "{}", 2);
                if (raw_read_response(&c, &r, HOSTILE_IO_TIMEOUT_MS)) {
                    second = r.status;
                    raw_is_json_error(&r, 400, "username and password are required", why,
                                      sizeof why);
                }
                raw_response_free(&r);
            }
            raw_close(&c);
        }
        check(first == 100 && second == 400,
              "Expect: 100-continue -> 100, then the body is read (400 missing fields)",
              "%d then %s", first, why);
    }

    /* Pipelining: three requests in one write, one of them blocking (a login on a worker),
     * answered in order on the one connection. */
    char *pipe3 = NULL;
    if (asprintf(&pipe3,
                 "GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                 "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: 44\r\n\r\n{\"username\":\"alice\",\"password\":\"wrong-pass\"}"
                 "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
                 g_access) < 0)
        exit(2);
    raw_conn c;
    int got[4] = {0};
    if (raw_open(&c, g_port)) {
        raw_send(&c, pipe3, strlen(pipe3));
        for (int i = 0; i < 4; i++) {
            if (!raw_read_response(&c, &r, HOSTILE_IO_TIMEOUT_MS))
                break;
            got[i] = r.status;
            raw_response_free(&r);
        }
        raw_close(&c);
    }
    check(got[0] == 200 && got[1] == 401 && got[2] == 200 && got[3] == 404,
          "pipelining: 4 requests in one write -> 200, 401, 200, 404 in order", "got %d %d %d %d",
          got[0], got[1], got[2], got[3]);
    free(pipe3);
}

/* Slow clients: HOSTILE_SLOWLORIS_CONNS connections trickle a request head at 1 byte/s, one
 * sends a partial body and stalls, one sends nothing. Each is closed by the server within the
 * request timeout (plus slack); none ever gets a 200. */
static void test_slow_clients(void)
{
    enum { NSLOW = HOSTILE_SLOWLORIS_CONNS, NALL = HOSTILE_SLOWLORIS_CONNS + 2 };
    const char *trickle =
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-Header-Padding: "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    raw_conn c[NALL];
    long opened = testutil_now_ms(), closed_at[NALL];
    size_t sent[NALL];
    int status[NALL];
    int opened_ok = 0;
    for (int i = 0; i < NALL; i++) {
        closed_at[i] = 0;
        sent[i] = 0;
        status[i] = 0;
        if (raw_open(&c[i], g_port))
            opened_ok++;
    }
    const char *partial = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Content-Length: 100\r\n\r\n{\"username\":";
    if (c[NSLOW].fd >= 0)
        raw_send(&c[NSLOW], partial, strlen(partial));
    long deadline = opened + (g_timeout_s + HOSTILE_CLOSE_SLACK_S) * 1000L;
    int open_left = opened_ok;
    while (open_left > 0 && testutil_now_ms() < deadline) {
        for (int i = 0; i < NSLOW; i++)
            if (c[i].fd >= 0 && closed_at[i] == 0 && sent[i] < strlen(trickle)) {
                if (raw_send(&c[i], trickle + sent[i], 1))
                    sent[i]++;
            }
        long tick_end = testutil_now_ms() + 1000;
        while (testutil_now_ms() < tick_end) {
            for (int i = 0; i < NALL; i++) {
                if (c[i].fd < 0 || closed_at[i] != 0)
                    continue;
                struct pollfd pfd = {c[i].fd, POLLIN, 0};
                if (poll(&pfd, 1, 0) > 0) {
                    char buf[4096];
                    ssize_t n = recv(c[i].fd, buf, sizeof buf, 0);
                    if (n > 0) {
                        if (status[i] == 0)
                            raw_parse_status(buf, (size_t)n, &status[i]);
                    } else {
                        closed_at[i] = testutil_now_ms();
                        open_left--;
                    }
                }
            }
            testutil_sleep_ms(50);
        }
    }
    for (int i = 0; i < NALL; i++) {
        const char *what = i < NSLOW    ? "slowloris: head at 1 byte/s"
                           : i == NSLOW ? "slow body: 12 of 100 bytes, then a stall"
                                        : "idle: connected, sends nothing";
        char name[160];
        snprintf(name, sizeof name, "%s (#%d) -> closed after the request timeout", what, i);
        long took = closed_at[i] != 0 ? closed_at[i] - opened : -1;
        bool in_time = took >= (g_timeout_s - 1) * 1000L &&
                       (!g_timeout_set || took <= (g_timeout_s + HOSTILE_CLOSE_LATE_S) * 1000L);
        check(c[i].fd >= 0 && closed_at[i] != 0 && status[i] != 200 && in_time, name,
              "closed after %.1f s (timeout %ld s), %zu bytes sent, answer %d (0: none)",
              (double)took / 1000.0, g_timeout_s, sent[i], status[i]);
        raw_close(&c[i]);
    }
    check(fresh_me_ok(), "slow clients: a new client's GET /me still answered", NULL);
}

/* 10,000 idle connections at once: the server accepts them all, a new client still gets its
 * answer, RSS stays bounded, and every one of them is closed after the idle timeout. */
static void test_idle_connections(void)
{
    int *fds = malloc(HOSTILE_IDLE_CONNS * sizeof *fds);
    int n = 0;
    long fd_before = server_fd_count();
    long t0 = testutil_now_ms();
    for (; n < HOSTILE_IDLE_CONNS; n++) {
        fds[n] = raw_connect(g_port);
        if (fds[n] < 0)
            break;
    }
    long t_open = testutil_now_ms();
    check(n == HOSTILE_IDLE_CONNS, "idle: 10,000 connections opened", "%d in %.1f s (%s)", n,
          (double)(t_open - t0) / 1000.0, n == HOSTILE_IDLE_CONNS ? "ok" : strerror(errno));
    /* The server has accepted them (its descriptors), well before any could time out. */
    long fd_now = 0;
    for (int i = 0; i < 40; i++) {
        fd_now = server_fd_count();
        if (fd_now - fd_before >= n - 100)
            break;
        testutil_sleep_ms(100);
    }
    /* (A few connections of the steps before may close meanwhile: a slack of 100.) */
    check(fd_now - fd_before >= n - 100, "idle: the server accepted all of them",
          "%ld descriptors more", fd_now - fd_before);
    bool me = fresh_me_ok();
    long rss = server_rss_kib();
    check(me, "idle: a new client's GET /me is answered with 10,000 idle connections open", NULL);
    check(rss > 0 && rss < g_rss_bound_kib, "idle: server RSS with 10,000 idle connections",
          "%ld KiB, bound %ld KiB", rss, g_rss_bound_kib);

    /* Now wait for the server to close every one of them. */
    struct pollfd *pfd = calloc((size_t)n, sizeof *pfd);
    for (int i = 0; i < n; i++)
        pfd[i] = (struct pollfd){fds[i], POLLIN, 0};
    int left = n;
    long deadline = t_open + (g_timeout_s + HOSTILE_CLOSE_SLACK_S) * 1000L;
    bool answered = false;
    while (left > 0 && testutil_now_ms() < deadline) {
        int r = poll(pfd, (nfds_t)n, 500);
        if (r < 0 && errno != EINTR)
            break;
        for (int i = 0; r > 0 && i < n; i++) {
            if (pfd[i].fd < 0 || pfd[i].revents == 0)
                continue;
            char buf[512];
            ssize_t got = recv(pfd[i].fd, buf, sizeof buf, 0);
            if (got > 0) {
                answered = true; /* an unasked answer (a 408) is allowed, but is looked at */
                continue;
            }
            close(pfd[i].fd);
            pfd[i].fd = -1;
            left--;
        }
    }
    long t_closed = testutil_now_ms();
    check(left == 0, "idle: every idle connection closed by the server after the idle timeout",
          "%d still open %.1f s after the last was opened%s", left,
          (double)(t_closed - t_open) / 1000.0, answered ? "; some got bytes" : "");
    for (int i = 0; i < n; i++)
        if (pfd[i].fd >= 0)
            close(pfd[i].fd);
    free(pfd);
    free(fds);
    check(fresh_me_ok(), "idle: GET /me on a new connection after they are gone", NULL);
}

/* The server's CPU time (user + system) in seconds, or -1. */
static double server_cpu_s(void) { return testutil_proc_cpu_s(g_server_pid); }

/* More clients than the server has descriptors: its soft limit is lowered (prlimit) to 50
 * above what it holds, and 300 connections come. The ones it cannot accept wait in the
 * kernel's queue; the server must not spin on a listener it cannot accept from (it pauses
 * accepting), must keep serving the connections it has (the /me loop), and must accept again
 * once descriptors are free. The bound is on CPU burned, like the RSS bound on memory. */
static void test_fd_exhaustion(void)
{
    struct rlimit orig, low;
    if (prlimit(g_server_pid, RLIMIT_NOFILE, NULL, &orig) != 0) {
        check(false, "descriptors exhausted: prlimit on the server", "%s", strerror(errno));
        return;
    }
    low.rlim_cur = (rlim_t)server_fd_count() + 50;
    low.rlim_max = orig.rlim_max;
    if (prlimit(g_server_pid, RLIMIT_NOFILE, &low, NULL) != 0) {
        check(false, "descriptors exhausted: prlimit on the server", "%s", strerror(errno));
        return;
    }
    enum { NCONN = 300 };
    int fds[NCONN], n = 0;
    for (; n < NCONN; n++)
        if ((fds[n] = raw_connect(g_port)) < 0)
            break;
    testutil_sleep_ms(500);
    double c0 = server_cpu_s();
    testutil_sleep_ms(HOSTILE_EXHAUSTED_WINDOW_MS);
    double c1 = server_cpu_s();
    check(n == NCONN && c0 >= 0 && c1 - c0 < HOSTILE_EXHAUSTED_CPU_S,
          "descriptors exhausted: the server does not spin on the listener",
          "%d connections, %.2f s of CPU in %.1f s, bound %.1f s", n, c1 - c0,
          HOSTILE_EXHAUSTED_WINDOW_MS / 1000.0, HOSTILE_EXHAUSTED_CPU_S);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    prlimit(g_server_pid, RLIMIT_NOFILE, &orig, NULL);
    check(fresh_me_ok(), "descriptors exhausted: once they are free, a new client is answered",
          NULL);
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: hostile --jwtd PATH --tmp DIR [--rss-bound-kib N] [--request-timeout S]\n"
            "               [--serve-arg ARG]...\n");
    exit(2);
}

static int add_user(const char *jwtd, const char *db, const char *name, const char *role,
                    const char *pw)
{
    char out[4096];
    int st = testutil_user_add(jwtd, db, name, role, pw, out, sizeof out);
    if (st != 0)
        fprintf(stderr, "jwtd user add %s: exit %d: %s\n", name, st, out);
    return st;
}

int main(int argc, char **argv)
{
    testutil_args opt = {0};
    for (int i = 1; i < argc; i++) {
        if (testutil_take_arg(&opt, argc, argv, &i))
            continue;
        if (strcmp(argv[i], "--rss-bound-kib") == 0 && i + 1 < argc)
            g_rss_bound_kib = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--request-timeout") == 0 && i + 1 < argc &&
                 opt.nserve + 2 <= TESTUTIL_MAX_SERVE_ARGS) {
            g_timeout_s = strtol(argv[i + 1], NULL, 10);
            g_timeout_set = true;
            opt.serve[opt.nserve++] = "--request-timeout";
            opt.serve[opt.nserve++] = argv[++i];
        } else
            usage();
    }
    const char *jwtd = opt.jwtd, *tmp = opt.dir, *const *serve_args = opt.serve;
    size_t nserve = opt.nserve;
    if (jwtd == NULL || tmp == NULL)
        usage();
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Descriptors: this process needs one per idle connection and a few more. */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < HOSTILE_IDLE_CONNS + 200) {
        /* A low hard limit can be raised with CAP_SYS_RESOURCE; without it this fails below. */
        struct rlimit more = {HOSTILE_IDLE_CONNS + 1000, HOSTILE_IDLE_CONNS + 1000};
        if (setrlimit(RLIMIT_NOFILE, &more) == 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < HOSTILE_IDLE_CONNS + 200) {
        printf("FAIL - the open-files hard limit (%lu) is below %d: cannot run\n",
               (unsigned long)rl.rlim_max, HOSTILE_IDLE_CONNS + 200);
        return 1;
    }

    char db[4096], log[4096];
    mkdir(tmp, 0700);
    snprintf(db, sizeof db, "%s/hostile.db", tmp);
    snprintf(log, sizeof log, "%s/server.log", tmp);
    testutil_remove_db(db, log);
    if (add_user(jwtd, db, "alice", "user", ALICE_PW) != 0 ||
        add_user(jwtd, db, "root", "admin", ROOT_PW) != 0) {
        printf("FAIL - cannot create the users\n");
        return 1;
    }

    /* The server starts with a low soft limit (1024, inherited), as under a default shell:
     * it must raise its own to its hard limit to hold 10,000 connections. This process then
     * raises its own. */
    struct rlimit low = {1024, rl.rlim_max};
    setrlimit(RLIMIT_NOFILE, &low);
    testserver ts;
    char err[512];
    bool started = testserver_start(&ts, jwtd, db, log, serve_args, nserve, err, sizeof err);
    struct rlimit high = {rl.rlim_max == RLIM_INFINITY ? HOSTILE_IDLE_CONNS + 1000 : rl.rlim_max,
                          rl.rlim_max};
    setrlimit(RLIMIT_NOFILE, &high);
    if (!started) {
        printf("FAIL - jwtd serve did not start: %s\n", err);
        testserver_print_log(&ts, stdout, 4000);
        return 1;
    }
    g_port = ts.port;
    g_server_pid = ts.pid;
    curl_global_init(CURL_GLOBAL_DEFAULT);

    bool logged = login("alice", ALICE_PW, g_access, sizeof g_access) &&
                  login("root", ROOT_PW, g_admin, sizeof g_admin);
    check(logged, "setup: alice and root log in", NULL);
    if (!logged) {
        char how[128];
        testserver_stop(&ts, how, sizeof how);
        testserver_print_log(&ts, stdout, 4000);
        return 1;
    }

    me_loop me;
    memset(&me, 0, sizeof me);
    snprintf(me.auth_header, sizeof me.auth_header, "Authorization: Bearer %s", g_access);
    snprintf(me.url, sizeof me.url, "%s/me", ts.base);
    atomic_init(&me.stop, false);
    pthread_create(&me.thread, NULL, me_loop_main, &me);

    test_rlimit();
    test_worker_policy();
    test_authorization();
    test_headers();
    test_bodies();
    test_json();
    test_nul_utf8();
    test_duplicates_and_protocol();
    test_slow_clients();
    test_idle_connections();
    test_fd_exhaustion();

    atomic_store(&me.stop, true);
    pthread_join(me.thread, NULL);
    check(me.requests > 0 && me.errors == 0, "the concurrent GET /me loop saw no error",
          "%ld requests, %ld errors%s%s", me.requests, me.errors, me.errors ? "; first: " : "",
          me.first_errors[0]);
    for (long i = 1; i < me.errors && i < 5; i++)
        printf("     also: %s\n", me.first_errors[i]);
    check(me.rss_max_kib > 0 && me.rss_max_kib < g_rss_bound_kib,
          "the server's RSS stayed under the bound for the whole test",
          "max %ld KiB, bound %ld KiB", me.rss_max_kib, g_rss_bound_kib);
    check(fresh_me_ok(), "the server still answers at the end", NULL);
    char how[128];
    bool exited = testserver_stop(&ts, how, sizeof how);
    check(exited, "SIGTERM: the server exits 0", "%s", how);
    if (g_failed > 0) {
        printf("--- end of the server log:\n");
        testserver_print_log(&ts, stdout, 4000);
    }
    curl_global_cleanup();
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
