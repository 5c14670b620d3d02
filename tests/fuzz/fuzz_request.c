/* libFuzzer harness for the request handlers of jwtd serve: routing, JSON bodies, Bearer and
 * cookie parsing, and the auth service behind them, over a real SQLite database.
 *
 * Input framing (one to FUZZ_MAX_REQUESTS requests, separated by a line "@@@"):
 *
 *     METHOD SP TARGET LF            TARGET is PATH[?QUERY]; no space: the line is the method
 *     NAME ":" VALUE LF ...          up to FUZZ_MAX_HEADERS headers (spaces/tabs after ':' skipped)
 *     LF                             the first empty line ends the headers
 *     BODY                           everything up to the next "\n@@@\n" or the end
 *
 * Placeholders anywhere in the input are replaced by live tokens of the seeded users before
 * parsing: @ACCESS@ / @REFRESH@ (alice, role user), @ADMIN@ / @ADMIN_REFRESH@ (admin).
 * The seeds also carry literal access tokens, valid in every run because the service signs
 * HS256 with a fixed secret and runs on a fixed clock (FUZZ_NOW, below): the fuzzer mutates
 * those.
 *
 * Each request is parsed into an http_request whose parts are exact-size heap copies (no
 * terminating NUL, so ASan sees any read past a length) and whose headers are the plain
 * array http_header reads when impl is NULL. It goes to srv_route and the handler it
 * returns, called synchronously (blocking ones too). Every response must hold (else abort):
 * a documented status (200 201 204 400 401 403 404 405 409 413 415 429 503: no 5xx but 503),
 * a JSON body (204: empty) unless it is the text of /metrics or of a static web file, an
 * "error" string for 4xx/5xx, WWW-Authenticate on 401, Allow on 405, Retry-After on 429 and
 * 503, header values without CR/LF, and no password hash or signing secret in the body.
 *
 * State: the database and the auth service are built once per process in a temporary
 * directory (/dev/shm when it exists, else $TMPDIR or /tmp; removed at exit), with Argon2id
 * t=1, 8 KiB and three users: admin (id 1, role admin), alice (2, user) and mallory (3,
 * disabled); the database is kept as a template file. Before every input that follows one
 * that reached a blocking handler (the only ones that write), the working database is a
 * fresh copy of the template and the auth service is reopened on it, so an input's effect (a
 * registration, a rotation, a disabled admin) never reaches the next one: each input runs
 * the same in libFuzzer and in the replay, and the database never grows.
 *
 * JWTD_FUZZ_VERBOSE=1 prints each request's status and the start of its body;
 * JWTD_FUZZ_LOG_LEVEL=info|debug turns the server's JSON log lines on (stderr).
 * JWTD_FUZZ_WRITE_SEEDS=DIR: on its first input, the harness writes its seed corpus (one
 * realistic request for every route, with literal tokens) into DIR and exits. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "server/app.h"
#include "server/log.h"
#include "server/reqparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The auth service's clock (auth_config.now) never moves: 2100-01-01. jwtd_verify checks exp
 * against the real clock, which is earlier, and the service again against this one, so the
 * literal tokens of the seeds (exp 2100-01-01T01:00) pass both until 2100. A clock in the
 * past would not do: auth_config.now does not reach jwtd_verify's own exp check. */
#define FUZZ_NOW INT64_C(4102444800)
#define FUZZ_MAX_REQUESTS 4
#define FUZZ_MAX_HEADERS 16
#define FUZZ_MAX_EXPANDED (256u * 1024u) /* the input after placeholder expansion */
#define FUZZ_SEPARATOR "\n@@@\n"
/* 40 bytes: over AUTH_MIN_SECRET. Fixed, so that seed tokens verify in every run. */
static const char FUZZ_SECRET[] = "fuzz-request-hs256-secret-0123456789abcd";
#define PW_ADMIN "admin-password-1"
#define PW_ALICE "alice-password-1"
#define PW_MALLORY "mallory-password-1"

typedef struct fuzz_state {
    char dir[64];
    char template_db[128], work_db[128];
    srv_config cfg;
    srv_app app;
    /* Live tokens of the template database (its refresh tokens are unspent in every copy). */
    char *access, *refresh, *admin_access, *admin_refresh;
    bool verbose; /* JWTD_FUZZ_VERBOSE=1: one line per request on stderr */
    bool dirty;   /* an input reached a blocking handler since the last copy */
} fuzz_state;

static fuzz_state S;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_request: %s\n", what);
    abort();
}

static int64_t fuzz_clock(void) { return FUZZ_NOW; }

static void open_service(const char *db)
{
    auth_config ac;
    srv_config_auth(&S.cfg, &ac);
    ac.now = fuzz_clock;
    char why[256];
    if (auth_open(&ac, db, AUTH_OPEN_SERVICE, &S.app.au, why, sizeof why) != AUTH_OK) {
        fprintf(stderr, "fuzz_request: auth_open: %s\n", why);
        abort();
    }
}

static void close_service(void)
{
    auth_free(S.app.au);
    S.app.au = NULL;
}

static void login(const char *user, const char *password, char **access, char **refresh)
{
    auth_user u;
    auth_pair pair = {0};
    if (auth_login(S.app.au, user, password, &u, &pair) != AUTH_OK)
        fail("seed login");
    *access = strdup(pair.access_token);
    *refresh = strdup(pair.refresh_token);
    auth_pair_clear(&pair);
    if (*access == NULL || *refresh == NULL)
        fail("out of memory");
}

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (in < 0 || out < 0)
        fail("copy of the template database");
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, (size_t)n) != n)
            fail("copy of the template database");
    }
    if (n < 0)
        fail("copy of the template database");
    close(in);
    close(out);
}

static void remove_work_db(void)
{
    char p[160];
    unlink(S.work_db);
    snprintf(p, sizeof p, "%s-wal", S.work_db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", S.work_db);
    unlink(p);
}

static void cleanup(void)
{
    char p[160];
    close_service();
    srv_web_close(&S.app);
    srv_limits_close(&S.app);
    remove_work_db();
    unlink(S.template_db);
    snprintf(p, sizeof p, "%s-wal", S.template_db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", S.template_db);
    unlink(p);
    rmdir(S.dir);
    free(S.access);
    free(S.refresh);
    free(S.admin_access);
    free(S.admin_refresh);
    srv_config_free(&S.cfg);
}

static void write_seeds(const char *dir);

static void setup(void)
{
    static int ready;
    if (ready)
        return;
    ready = 1;
    /* JWTD_FUZZ_LOG_LEVEL=debug also runs the request log lines (noisy: with libFuzzer, add
     * -close_fd_mask=2). Default: error, which only a 5xx would print. */
    const char *lvl = getenv("JWTD_FUZZ_LOG_LEVEL");
    srv_log_set_level(lvl != NULL && strcmp(lvl, "debug") == 0  ? SRV_LOG_DEBUG
                      : lvl != NULL && strcmp(lvl, "info") == 0 ? SRV_LOG_INFO
                                                                : SRV_LOG_ERROR);
    S.verbose = getenv("JWTD_FUZZ_VERBOSE") != NULL;
    /* tmpfs when there is one: SQLite's fsyncs on a disk would make most of the time. */
    const char *tmp = getenv("TMPDIR");
    snprintf(S.dir, sizeof S.dir, "/dev/shm/jwtd-fuzz-XXXXXX");
    if (mkdtemp(S.dir) == NULL) {
        snprintf(S.dir, sizeof S.dir, "%s/jwtd-fuzz-XXXXXX",
                 tmp != NULL && tmp[0] != '\0' && strlen(tmp) < 40 ? tmp : "/tmp");
        if (mkdtemp(S.dir) == NULL)
            fail("mkdtemp");
    }
    snprintf(S.template_db, sizeof S.template_db, "%s/template.db", S.dir);
    snprintf(S.work_db, sizeof S.work_db, "%s/work.db", S.dir);

    char err[SRV_ERRMSG];
    srv_config_init(&S.cfg);
    static const char *const set[][2] = {
        {"argon2-t", "1"},
        {"argon2-m-kib", "8"},
        {"access-ttl", "1h"},
        {"refresh-ttl", "7d"},
        {"refresh-grace", "0"}, /* a second use is reuse */
        /* The abuse limits on, tight enough that one input of a few requests reaches the
         * 429s and the lockout, and X-Forwarded-For believed from the harness's peer. */
        {"rate-limit", "on"},
        {"login-rate", "2/1h"},
        {"register-rate", "2/1h"},
        {"refresh-rate", "3/1h"},
        {"lockout-after", "2"},
        {"trusted-proxies", "127.0.0.1"},
    };
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        if (srv_config_set(&S.cfg, srv_option_find(set[i][0]), set[i][1], "fuzz", err,
                           sizeof err) != 0)
            fail(err);
    }
    if (srv_config_set(&S.cfg, srv_option_find("jwt-secret"), FUZZ_SECRET, "fuzz", err,
                       sizeof err) != 0 ||
        srv_config_finish(&S.cfg, err, sizeof err) != 0)
        fail(err);
    S.app.cfg = &S.cfg;
    S.app.started = (int64_t)time(NULL); /* the handlers count uptime on time() */
    srv_web_open(&S.app);                /* the repository's web/: GET / and the static files */

    open_service(S.template_db);
    static const char *const admin_roles[] = {"admin"};
    static const char *const user_roles[] = {"user"};
    auth_user u;
    if (auth_user_add(S.app.au, "admin", PW_ADMIN, "admin@example.com", "Admin", admin_roles, 1,
                      &u) != AUTH_OK ||
        u.id != 1 ||
        auth_user_add(S.app.au, "alice", PW_ALICE, "alice@example.com", "Alice", user_roles, 1,
                      &u) != AUTH_OK ||
        u.id != 2 ||
        auth_user_add(S.app.au, "mallory", PW_MALLORY, "", "", user_roles, 1, &u) != AUTH_OK ||
        u.id != 3 || auth_set_disabled(S.app.au, 3, true) != AUTH_OK)
        fail("seed users");
    login("alice", PW_ALICE, &S.access, &S.refresh);
    login("admin", PW_ADMIN, &S.admin_access, &S.admin_refresh);
    close_service();
    atexit(cleanup);

    const char *seeds = getenv("JWTD_FUZZ_WRITE_SEEDS");
    if (seeds != NULL && seeds[0] != '\0') {
        write_seeds(seeds);
        exit(0);
    }
}

/* ---- Input ---- */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *grown = realloc(b->p, cap);
        if (grown == NULL)
            fail("out of memory");
        b->p = grown;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* The input with its placeholders replaced; NULL when the result would be over the bound. */
static char *expand(const char *in, size_t len, size_t *out_len)
{
    const struct {
        const char *name;
        const char *value;
    } ph[] = {{"@ACCESS@", S.access},
              {"@REFRESH@", S.refresh},
              {"@ADMIN@", S.admin_access},
              {"@ADMIN_REFRESH@", S.admin_refresh}};
    buf b = {0};
    size_t i = 0;
    while (i < len) {
        bool replaced = false;
        for (size_t k = 0; in[i] == '@' && k < sizeof ph / sizeof ph[0]; k++) {
            size_t n = strlen(ph[k].name);
            if (len - i >= n && memcmp(in + i, ph[k].name, n) == 0) {
                buf_add(&b, ph[k].value, strlen(ph[k].value));
                i += n;
                replaced = true;
                break;
            }
        }
        if (!replaced)
            buf_add(&b, in + i++, 1);
        if (b.len > FUZZ_MAX_EXPANDED) {
            free(b.p);
            return NULL;
        }
    }
    *out_len = b.len;
    return b.p;
}

/* An exact-size heap copy without a terminating NUL (non-NULL even when empty). */
static char *dup_exact(const char *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (c == NULL)
        fail("out of memory");
    if (n > 0)
        memcpy(c, p, n);
    return c;
}

typedef struct parsed {
    http_request req;
    http_req_header headers[FUZZ_MAX_HEADERS];
} parsed;

static const char *find(const char *p, size_t len, const char *what, size_t what_len)
{
    return what_len <= len ? memmem(p, len, what, what_len) : NULL;
}

/* One request of the framing above. */
static void parse_request(const char *p, size_t len, parsed *out)
{
    memset(out, 0, sizeof *out);
    http_request *r = &out->req;
    snprintf(r->peer, sizeof r->peer, "127.0.0.1");
    const char *nl = memchr(p, '\n', len);
    size_t line_len = nl != NULL ? (size_t)(nl - p) : len;
    const char *sp = memchr(p, ' ', line_len);
    size_t method_len = sp != NULL ? (size_t)(sp - p) : line_len;
    r->method = dup_exact(p, method_len);
    r->method_len = method_len;
    const char *target = sp != NULL ? sp + 1 : p + line_len;
    size_t target_len = (size_t)(p + line_len - target);
    const char *q = memchr(target, '?', target_len);
    r->path_len = q != NULL ? (size_t)(q - target) : target_len;
    r->path = dup_exact(target, r->path_len);
    if (q != NULL) {
        r->query_len = target_len - r->path_len - 1;
        r->query = dup_exact(q + 1, r->query_len);
    }
    size_t pos = nl != NULL ? line_len + 1 : len;
    /* Headers until an empty line. */
    while (pos < len) {
        const char *h = p + pos;
        const char *end = memchr(h, '\n', len - pos);
        size_t hl = end != NULL ? (size_t)(end - h) : len - pos;
        pos += hl + (end != NULL);
        if (hl == 0)
            break;
        if (r->nheaders == FUZZ_MAX_HEADERS)
            continue;
        const char *colon = memchr(h, ':', hl);
        size_t nlen = colon != NULL ? (size_t)(colon - h) : hl;
        const char *v = colon != NULL ? colon + 1 : h + hl;
        while (v < h + hl && (*v == ' ' || *v == '\t'))
            v++;
        http_req_header *hd = &out->headers[r->nheaders++];
        hd->name = dup_exact(h, nlen);
        hd->name_len = nlen;
        hd->value_len = (size_t)(h + hl - v);
        hd->value = dup_exact(v, hd->value_len);
    }
    r->headers = out->headers;
    r->body_len = len - pos;
    r->body = dup_exact(p + pos, r->body_len);
}

static void free_request(parsed *pr)
{
    free((void *)pr->req.method);
    free((void *)pr->req.path);
    free((void *)pr->req.query);
    free((void *)pr->req.body);
    for (size_t i = 0; i < pr->req.nheaders; i++) {
        free((void *)pr->headers[i].name);
        free((void *)pr->headers[i].value);
    }
}

/* ---- Invariants ---- */

static bool has_header(const http_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return true;
    return false;
}

static bool path_is(const http_request *r, const char *path)
{
    return r->path_len == strlen(path) && memcmp(r->path, path, r->path_len) == 0;
}

/* Text a response body must never carry unless the request itself sent it. */
static bool leaks(const http_response *resp, const char *in, size_t in_len, const char *secret)
{
    size_t n = strlen(secret);
    return resp->body_len >= n && memmem(resp->body, resp->body_len, secret, n) != NULL &&
           find(in, in_len, secret, n) == NULL;
}

static void violated(const http_request *r, const http_response *resp, const char *what)
{
    fprintf(stderr,
            "fuzz_request: invariant broken: %s\n  request: %.*s %.*s\n  status %d, body: %.*s\n",
            what, (int)r->method_len, r->method, (int)r->path_len, r->path, resp->status,
            (int)(resp->body_len > 400 ? 400 : resp->body_len), resp->body ? resp->body : "");
    abort();
}

static void check_response(const http_request *r, const http_response *resp, const char *in,
                           size_t in_len)
{
    switch (resp->status) {
    case 200:
    case 201:
    case 204:
    case 400:
    case 401:
    case 403:
    case 404:
    case 405:
    case 409:
    case 413:
    case 415:
    case 429:
    case 503: break;
    default: violated(r, resp, "status is not one of the documented ones (or a 5xx but 503)");
    }
    if (resp->body_len > 0 && resp->body == NULL)
        violated(r, resp, "body_len without a body");
    if (resp->nheaders > HTTP_MAX_RESPONSE_HEADERS)
        violated(r, resp, "too many headers");
    for (size_t i = 0; i < resp->nheaders; i++) {
        const http_header_kv *h = &resp->headers[i];
        if (h->name == NULL || h->name[0] == '\0' || h->value == NULL ||
            strpbrk(h->value, "\r\n") != NULL)
            violated(r, resp, "a response header is empty or holds CR/LF");
    }
    const char *ctype = resp->content_type != NULL ? resp->content_type : "application/json";
    if (ctype[0] == '\0')
        violated(r, resp, "empty Content-Type");
    if (resp->status == 204) {
        if (resp->body_len != 0)
            violated(r, resp, "204 with a body");
    } else if (strcmp(ctype, "application/json") == 0) {
        json_error_t jerr;
        json_t *doc = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, &jerr);
        if (doc == NULL || !(json_is_object(doc) || json_is_array(doc)))
            violated(r, resp, "body is not a JSON object or array");
        json_t *e = json_object_get(doc, "error");
        /* A 400 may add which member and why: "field" and "detail", both strings. */
        size_t extra = resp->status == 400 && json_is_string(json_object_get(doc, "field")) &&
                               json_is_string(json_object_get(doc, "detail"))
                           ? 2
                           : 0;
        if (resp->status >= 400 && (!json_is_string(e) || json_string_length(e) == 0 ||
                                    json_object_size(doc) != 1 + extra))
            violated(r, resp, "an error is not {\"error\": \"<message>\"} (+ field, detail)");
        if (resp->status < 400 && e != NULL)
            violated(r, resp, "a success carries an error member");
        json_decref(doc);
    } else {
        /* Text: only the Prometheus counters and the static files of the demo page. */
        bool text_route = path_is(r, "/metrics") || path_is(r, "/") ||
                          srv_web_content_type(r->path, r->path_len) != NULL;
        if (resp->status != 200 || !text_route)
            violated(r, resp, "a non-JSON body outside /metrics and the static files");
    }
    if (resp->status == 201 && !path_is(r, "/register"))
        violated(r, resp, "201 from another route than /register");
    if (resp->status == 401 && !has_header(resp, "WWW-Authenticate"))
        violated(r, resp, "401 without WWW-Authenticate");
    if (resp->status == 405 && !has_header(resp, "Allow"))
        violated(r, resp, "405 without Allow");
    if ((resp->status == 429 || resp->status == 503) && !has_header(resp, "Retry-After"))
        violated(r, resp, "429/503 without Retry-After");
    if (leaks(resp, in, in_len, "$argon2") || leaks(resp, in, in_len, FUZZ_SECRET))
        violated(r, resp, "a password hash or the signing secret in a body");
}

/* ---- One input ---- */

static void handle(const char *p, size_t len, const char *in, size_t in_len)
{
    parsed pr;
    parse_request(p, len, &pr);
    http_route route = {0};
    srv_route(&S.app, &pr.req, &route);
    S.dirty |= route.blocking; /* only blocking handlers write to the store */
    pr.req.route = &route;     /* as the adapter hands it to the handler */
    http_response resp = {0};
    if (route.handler != NULL)
        route.handler(&S.app, &pr.req, &resp);
    else
        http_response_error(&resp, 404, "not found"); /* what the adapter answers */
    check_response(&pr.req, &resp, in, in_len);
    if (S.verbose)
        fprintf(stderr, "fuzz_request: %.*s %.*s -> %d %.*s\n", (int)pr.req.method_len,
                pr.req.method, (int)pr.req.path_len, pr.req.path, resp.status,
                (int)(resp.body_len > 80 ? 80 : resp.body_len), resp.body ? resp.body : "");
    http_response_clear(&resp);
    free_request(&pr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    size_t len = 0;
    char *in = expand((const char *)data, size, &len);
    if (in == NULL)
        return 0;
    /* A fresh copy of the template after any input that may have written (it reached a
     * blocking handler): nothing an input does reaches the next one. */
    if (S.dirty || S.app.au == NULL) {
        close_service();
        remove_work_db();
        copy_file(S.template_db, S.work_db);
        open_service(S.work_db);
        S.dirty = false;
    }
    /* Fresh limiters for every input: what one input spent never limits the next. */
    srv_limits_close(&S.app);
    char lerr[SRV_ERRMSG];
    if (srv_limits_open(&S.app, NULL, lerr, sizeof lerr) != 0)
        fail(lerr);
    const char *p = in;
    size_t left = len;
    const size_t sep_len = sizeof FUZZ_SEPARATOR - 1;
    for (int i = 0; i < FUZZ_MAX_REQUESTS && (i == 0 || left > 0); i++) {
        const char *sep = find(p, left, FUZZ_SEPARATOR, sep_len);
        size_t n = sep != NULL ? (size_t)(sep - p) : left;
        /* The request gets its own exact-size copy, so reading past it is caught. */
        char *one = dup_exact(p, n);
        handle(one, n, in, len);
        free(one);
        if (sep == NULL)
            break;
        p = sep + sep_len;
        left -= n + sep_len;
    }
    free(in);
    return 0;
}

/* ---- Seeds (JWTD_FUZZ_WRITE_SEEDS) ---- */

static void seed(const char *dir, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seed(const char *dir, const char *name, const char *fmt, ...)
{
    char path[512], *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = n < 0 ? NULL : fopen(path, "wb");
    if (f == NULL || fwrite(text, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0)
        fail("cannot write a seed");
    free(text);
}

#define JSON_CT "Content-Type: application/json\n"
#define SEP "\n@@@\n"

static void write_seeds(const char *dir)
{
    const char *a = S.access, *adm = S.admin_access, *r = S.refresh;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        fail("cannot create the seed directory");
    seed(dir, "register",
         "POST /register\n" JSON_CT "\n"
         "{\"username\":\"bob\",\"password\":\"bob-password-1\",\"email\":\"bob@example.com\","
         "\"name\":\"Bob\"}");
    seed(dir, "register_then_login",
         "POST /register\n" JSON_CT "\n"
         "{\"username\":\"carol\",\"password\":\"carol-password\"}" SEP "POST /login\n" JSON_CT
         "\n{\"username\":\"carol\",\"password\":\"carol-password\"}");
    seed(dir, "register_taken",
         "POST /register\n" JSON_CT "\n"
         "{\"username\":\"alice\",\"password\":\"another-password\"}");
    seed(dir, "register_short_password",
         "POST /register\n" JSON_CT "\n"
         "{\"username\":\"dave\",\"password\":\"short\"}");
    seed(dir, "register_wrong_types",
         "POST /register\n" JSON_CT "\n"
         "{\"username\":1,\"password\":[\"x\"],\"email\":{},\"name\":true}");
    seed(dir, "register_bad_username",
         "POST /register\ncontent-type: Application/JSON; "
         "charset=utf-8\n\n{\"username\":\"a\\u0000b\\u00e9\",\"password\":\"password-123\"}");
    seed(dir, "register_text_plain", "POST /register\nContent-Type: text/plain\n\nusername=bob");
    seed(dir, "login",
         "POST /login\n" JSON_CT "\n{\"username\":\"alice\",\"password\":\"" PW_ALICE "\"}");
    seed(dir, "login_email",
         "POST /login\n" JSON_CT "\n{\"email\":\"admin@example.com\","
         "\"password\":\"" PW_ADMIN "\"}");
    seed(dir, "login_wrong_password",
         "POST /login\n" JSON_CT "\n{\"username\":\"alice\","
         "\"password\":\"wrong-password\"}");
    /* Two wrong passwords for alice from two forwarded addresses lock her (lockout-after 2):
     * her right password then gets 429; bob from the first address is within that address's
     * per-IP limit (2 an hour): 401, 401, 429, 401. */
    seed(dir, "login_lockout_forwarded",
         "POST /login\nX-Forwarded-For: 203.0.113.7\n" JSON_CT
         "\n{\"username\":\"alice\",\"password\":\"wrong-1\"}" SEP
         "POST /login\nX-Forwarded-For: 198.51.100.1, 203.0.113.8\n" JSON_CT
         "\n{\"username\":\"ALICE\",\"password\":\"wrong-2\"}" SEP
         "POST /login\nX-Forwarded-For: 203.0.113.8\n" JSON_CT
         "\n{\"username\":\"alice\",\"password\":\"" PW_ALICE "\"}" SEP
         "POST /login\nX-Forwarded-For: 203.0.113.7\n" JSON_CT
         "\n{\"username\":\"bob\",\"password\":\"x\"}");
    /* Three refreshes from the peer, then one whose X-Forwarded-For ends in garbage (so the
     * peer counts): 401 three times, then 429 (refresh-rate 3 an hour). */
    seed(dir, "refresh_rate_limited",
         "POST /refresh\n\n" SEP "POST /refresh\n\n" SEP "POST /refresh\n\n" SEP
         "POST /refresh\nX-Forwarded-For: 2001:db8::1, garbage\n\n");
    seed(dir, "login_disabled",
         "POST /login\n" JSON_CT "\n{\"username\":\"mallory\","
         "\"password\":\"" PW_MALLORY "\"}");
    seed(dir, "login_unknown",
         "POST /login\n" JSON_CT "\n{\"username\":\"nobody\","
         "\"password\":\"whatever-password\"}");
    seed(dir, "login_invalid_json", "POST /login\n" JSON_CT "\n{\"username\":\"alice\",");
    seed(dir, "login_duplicate_keys",
         "POST /login\n" JSON_CT "\n{\"username\":\"alice\","
         "\"username\":\"admin\",\"password\":\"" PW_ALICE "\"}");
    seed(dir, "login_deep_json", "POST /login\n" JSON_CT "\n{\"a\":[[[[[[[[[[{}]]]]]]]]]]}");
    seed(dir, "refresh_body", "POST /refresh\n" JSON_CT "\n{\"refresh_token\":\"@REFRESH@\"}");
    seed(dir, "refresh_literal", "POST /refresh\n" JSON_CT "\n{\"refresh_token\":\"%s\"}", r);
    seed(dir, "refresh_bearer", "POST /refresh\nAuthorization: Bearer @REFRESH@\n\n");
    seed(dir, "refresh_cookie", "POST /refresh\nCookie: theme=dark; jwtd_refresh=@REFRESH@\n\n");
    seed(dir, "refresh_access_token", "POST /refresh\nAuthorization: Bearer %s\n\n", a);
    seed(dir, "refresh_reuse",
         "POST /refresh\nAuthorization: Bearer @REFRESH@\n\n" SEP
         "POST /refresh\nAuthorization: Bearer @REFRESH@\n\n" SEP
         "POST /refresh\nCookie: jwtd_refresh=@REFRESH@\n\n");
    seed(dir, "refresh_missing", "POST /refresh\n\n");
    seed(dir, "logout",
         "POST /logout\n" JSON_CT "\n{\"refresh_token\":\"@REFRESH@\"}" SEP
         "POST /refresh\n" JSON_CT "\n{\"refresh_token\":\"@REFRESH@\"}");
    seed(dir, "logout_cookie", "POST /logout\nCookie: jwtd_refresh=\"@ADMIN_REFRESH@\"\n\n");
    seed(dir, "logout_all",
         "POST /logout-all\nAuthorization: Bearer %s\n\n" SEP
         "GET /me\nAuthorization: Bearer %s\n\n",
         a, a);
    seed(dir, "me", "GET /me\nAuthorization: Bearer %s\n\n", a);
    seed(dir, "me_placeholder", "GET /me\nAuthorization: Bearer @ACCESS@\n\n");
    seed(dir, "me_admin", "GET /me\nAuthorization: Bearer %s\nAccept: application/json\n\n", adm);
    seed(dir, "me_lower_case_tabs", "GET /me\nauthorization: bearer \t %s  \n\n", a);
    seed(dir, "me_no_token", "GET /me\n\n");
    seed(dir, "me_duplicate_authorization",
         "GET /me\nAuthorization: Bearer %s\nAuthorization: Bearer %s\n\n", a, adm);
    seed(dir, "me_basic", "GET /me\nAuthorization: Basic YWxpY2U6cHc=\n\n");
    seed(dir, "me_refresh_token", "GET /me\nAuthorization: Bearer @REFRESH@\n\n");
    seed(dir, "admin_users", "GET /admin/users?limit=2&after=0\nAuthorization: Bearer %s\n\n", adm);
    seed(dir, "admin_users_bad_query",
         "GET /admin/users?limit=-1&after=x\nAuthorization: "
         "Bearer %s\n\n",
         adm);
    seed(dir, "admin_users_forbidden", "GET /admin/users\nAuthorization: Bearer %s\n\n", a);
    seed(dir, "admin_patch",
         "PATCH /admin/users/2\nAuthorization: Bearer %s\n" JSON_CT "\n"
         "{\"roles\":[\"user\",\"editor\"],\"disabled\":false}",
         adm);
    seed(dir, "admin_patch_disable_self",
         "PATCH /admin/users/1\nAuthorization: Bearer %s\n" JSON_CT "\n{\"disabled\":true}" SEP
         "GET /admin/metrics\nAuthorization: Bearer %s\n\n",
         adm, adm);
    seed(dir, "admin_patch_unknown",
         "PATCH /admin/users/999\nAuthorization: Bearer %s\n" JSON_CT "\n{\"roles\":[]}", adm);
    seed(dir, "admin_patch_bad_id",
         "PATCH /admin/users/01\nAuthorization: Bearer %s\n" JSON_CT "\n{\"disabled\":\"yes\"}",
         adm);
    seed(dir, "admin_metrics", "GET /admin/metrics\nAuthorization: Bearer %s\n\n", adm);
    seed(dir, "jwks", "GET /.well-known/jwks.json\n\n");
    seed(dir, "healthz", "GET /healthz\n\n");
    seed(dir, "metrics", "GET /metrics\n\n");
    seed(dir, "web_index", "GET /\n\n");
    seed(dir, "web_file", "GET /app.js\n\n");
    seed(dir, "web_traversal", "GET /../CMakeLists.txt\n\n");
    seed(dir, "method_not_allowed", "DELETE /login\n\n" SEP "POST /healthz\n\n" SEP "PUT /\n\n");
    seed(dir, "not_found", "GET /nope?x=1\n\n");
#define FORM_CT "Content-Type: application/x-www-form-urlencoded\n"
    /* OAuth 2.0: a client made by an admin, then each route with its secret (@CAPTURE@-free:
     * an unknown secret exercises the same parsing and the failure path). */
    seed(dir, "admin_client_add",
         "POST /admin/clients\nAuthorization: Bearer %s\n" JSON_CT "\n"
         "{\"client_id\":\"svc.a\",\"roles\":[\"reader\"]}" SEP
         "GET /admin/clients\nAuthorization: Bearer %s\n\n" SEP
         "POST /admin/clients/svc.a/rotate-secret\nAuthorization: Bearer %s\n\n" SEP
         "DELETE /admin/clients/svc.a\nAuthorization: Bearer %s\n\n",
         adm, adm, adm, adm);
    seed(dir, "token_basic",
         "POST /token\nAuthorization: Basic c3ZjLmE6YStiJTJCYyUzQQ==\n" FORM_CT
         "\ngrant_type=client_credentials&scope=a+b");
    seed(dir, "token_post",
         "POST /token\n" FORM_CT "\ngrant_type=client_credentials&client_id=svc%%2Ea"
         "&client_secret=x%%2By%%20z");
    seed(dir, "token_json",
         "POST /token\n" JSON_CT "\n{\"grant_type\":\"client_credentials\","
         "\"client_id\":\"svc.a\",\"client_secret\":\"0123456789abcdef\"}");
    seed(dir, "token_refresh",
         "POST /token\n" FORM_CT "\ngrant_type=refresh_token&refresh_token=%s", r);
    seed(dir, "token_bad_form",
         "POST /token\n" FORM_CT "\ngrant_type=a&grant_type=b&%%zz=1&&=x" SEP
         "POST /token\nAuthorization: Basic !!\n" FORM_CT "\ngrant_type=client_credentials");
    seed(dir, "introspect",
         "POST /introspect\nAuthorization: Basic c3ZjLmE6eA==\n" FORM_CT
         "\ntoken=%s&token_type_hint=refresh_token",
         a);
    seed(dir, "login_client",
         "POST /login\n" JSON_CT "\n{\"client_id\":\"svc.a\",\"client_secret\":\"x\"}");
    seed(dir, "oauth_metadata", "GET /.well-known/oauth-authorization-server\n\n");
#undef FORM_CT
}
