/* Request smuggling: the framing table of cases.txt against a real `jwtd serve` (issue 10).
 *
 * Direct (framing.direct): each case's bytes go to the server on a new loopback connection,
 * followed in the same write by a harmless `GET /healthz` (with Connection: close). The
 * answers must be exactly the case's, in order; then either the server closes without
 * answering anything more (`closed`: nothing after the refused or chunked request was read
 * as a request) or the GET /healthz is answered 200. Then the refusal counters of /metrics
 * must have grown by exactly what the cases name, and the server log (debug level, one line
 * per request) must never show the path /smuggled that every attack carries after its body.
 *
 * Through nginx (framing.nginx, --nginx PATH): the same bytes go to a real nginx proxying to
 * jwtd over keep-alive upstream connections (the set-up in which a desync lets one client's
 * smuggled prefix capture the next client's request). Whatever nginx answers, after each case
 * a victim's GET /healthz on a new connection must get jwtd's own 200 {"status":"ok"}, and
 * jwtd must never have answered /smuggled.
 *
 *   framing --jwtd PATH --tmp DIR --cases FILE [--nginx PATH] [--serve-arg ARG]...
 *
 * One `ok`/`FAIL` line per check, then `N passed, N failed`; exit 0 only when none failed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rawhttp.h"
#include "testnginx.h"
#include "testserver.h"
#include "testutil.h"

#define FRAMING_MAX_CASES 128
#define FRAMING_MAX_ANSWERS 8
#define FRAMING_MAX_BYTES 4096           /* one case's bytes, expanded */
#define FRAMING_IO_TIMEOUT_MS 5000       /* one answer, or the close after it */
#define FRAMING_NGINX_LOG_SETTLE_MS 3000 /* nginx's access log catching up after a close */
#define FRAMING_METRICS_MAX 65536

static const char FOLLOW_UP[] = "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
/* jwtd's own answer to GET /healthz on a SQLite database that answers. */
static const char HEALTHZ_BODY[] = "{\"status\":\"ok\",\"store\":\"up\",\"backend\":\"sqlite\"}";
static const char MACRO_POST[] =
    "POST /login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n";
static const char MACRO_SMUGGLE[] = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

typedef struct answer {
    int status;
    char what[128]; /* the JSON error message, "h2o", or "-" */
} answer;

typedef struct fcase {
    char name[64];
    char class_[16];
    char bytes[FRAMING_MAX_BYTES];
    size_t len;
    answer answers[FRAMING_MAX_ANSWERS];
    size_t nanswers;
    bool closed;
    char refused[32]; /* "" when the case is not counted as a refusal */
    int line;         /* where the case starts in the file */
} fcase;

static fcase g_cases[FRAMING_MAX_CASES];
static size_t g_ncases;

/* ---- the case file ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool append(fcase *c, const char *data, size_t n)
{
    if (c->len + n > sizeof c->bytes)
        return false;
    memcpy(c->bytes + c->len, data, n);
    c->len += n;
    return true;
}

/* Appends the escaped text of a send line to c's bytes; false on a bad escape or overflow. */
static bool append_escaped(fcase *c, const char *s)
{
    while (*s != '\0') {
        if (strncmp(s, "@POST@", 6) == 0) {
            if (!append(c, MACRO_POST, sizeof MACRO_POST - 1))
                return false;
            s += 6;
            continue;
        }
        if (strncmp(s, "@SMUGGLE@", 9) == 0) {
            if (!append(c, MACRO_SMUGGLE, sizeof MACRO_SMUGGLE - 1))
                return false;
            s += 9;
            continue;
        }
        char ch = *s++;
        if (ch == '\\') {
            char e = *s++;
            switch (e) {
            case 'r': ch = '\r'; break;
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            case '\\': ch = '\\'; break;
            case 'x': {
                int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
                if (lo < 0)
                    return false;
                ch = (char)(hi * 16 + lo);
                s += 2;
                break;
            }
            default: return false;
            }
        }
        if (!append(c, &ch, 1))
            return false;
    }
    return true;
}

/* A line of case c other than "case": key is its first word and arg the rest. False when the
 * line is malformed (an unknown key, a bad answer, or one answer too many). */
static bool load_case_line(fcase *c, const char *key, const char *arg)
{
    if (strcmp(key, "class") == 0) {
        snprintf(c->class_, sizeof c->class_, "%s", arg);
        return true;
    }
    if (strcmp(key, "send") == 0)
        return append_escaped(c, arg);
    if (strcmp(key, "answer") == 0 && c->nanswers < FRAMING_MAX_ANSWERS) {
        answer *a = &c->answers[c->nanswers++];
        char *end;
        a->status = (int)strtol(arg, &end, 10);
        bool ok = end != arg && *end == ' ' && a->status >= 100 && a->status <= 599;
        snprintf(a->what, sizeof a->what, "%s", ok ? end + 1 : "");
        return ok;
    }
    if (strcmp(key, "closed") == 0) {
        c->closed = true;
        return true;
    }
    if (strcmp(key, "refused") == 0) {
        snprintf(c->refused, sizeof c->refused, "%s", arg);
        return true;
    }
    return false;
}

/* Reads the case file; prints what is wrong and returns false on any malformed line. */
static bool load_cases(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        printf("FAIL - cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    char line[FRAMING_MAX_BYTES];
    int lineno = 0;
    fcase *c = NULL;
    bool ok = true;
    while (ok && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *sp = strchr(line, ' ');
        const char *arg = sp != NULL ? sp + 1 : "";
        if (sp != NULL)
            *sp = '\0';
        if (strcmp(line, "case") == 0) {
            if (g_ncases == FRAMING_MAX_CASES) {
                ok = false;
                break;
            }
            c = &g_cases[g_ncases++];
            memset(c, 0, sizeof *c);
            snprintf(c->name, sizeof c->name, "%s", arg);
            c->line = lineno;
        } else {
            /* Any other line belongs to a case: one before the first "case" is malformed. */
            ok = c != NULL && load_case_line(c, line, arg);
        }
        if (!ok)
            printf("FAIL - %s:%d: malformed line\n", path, lineno);
    }
    fclose(f);
    for (size_t i = 0; ok && i < g_ncases; i++) {
        if (g_cases[i].len == 0 || g_cases[i].nanswers == 0 || g_cases[i].class_[0] == '\0') {
            printf("FAIL - %s:%d: case %s needs class, send and answer lines\n", path,
                   g_cases[i].line, g_cases[i].name);
            ok = false;
        }
    }
    return ok && g_ncases > 0;
}

/* ---- checks ---- */

/* Does r match a? why gets what came instead. */
static bool answer_matches(const raw_response *r, const answer *a, char *why, size_t whylen)
{
    if (strcmp(a->what, "h2o") == 0)
        return r->status == a->status && raw_is_h2o_400(r, why, whylen);
    if (strcmp(a->what, "-") == 0) {
        snprintf(why, whylen, "status %d", r->status);
        return r->status == a->status;
    }
    return raw_is_json_error(r, a->status, a->what, why, whylen);
}

/* The case's bytes and the follow-up in one write, so that they reach the server together: a
 * server that closes has then read everything and closes cleanly (no reset that could drop
 * the answer before the client reads it). */
static bool send_case(raw_conn *conn, const fcase *c)
{
    char buf[FRAMING_MAX_BYTES + sizeof FOLLOW_UP];
    memcpy(buf, c->bytes, c->len);
    memcpy(buf + c->len, FOLLOW_UP, sizeof FOLLOW_UP - 1);
    return raw_send(conn, buf, c->len + sizeof FOLLOW_UP - 1);
}

/* True when the server closes the connection with no byte more: no further answer. */
static bool closes_silently(raw_conn *conn, char *why, size_t whylen)
{
    long deadline = testutil_now_ms() + FRAMING_IO_TIMEOUT_MS;
    while (conn->len == 0 && raw_fill(conn, deadline))
        ;
    if (conn->len > 0) {
        snprintf(why, whylen, "more came after the answers: %.120s", conn->buf);
        return false;
    }
    if (!conn->eof) {
        snprintf(why, whylen, "the connection stayed open");
        return false;
    }
    return true;
}

static void run_direct_case(int port, const fcase *c)
{
    raw_conn conn;
    char why[512] = "";
    bool ok = raw_open(&conn, port);
    if (!ok)
        snprintf(why, sizeof why, "cannot connect");
    if (ok)
        send_case(&conn, c); /* a server that refused early may have closed: answers tell */
    for (size_t i = 0; ok && i < c->nanswers; i++) {
        raw_response r;
        if (!raw_read_response(&conn, &r, FRAMING_IO_TIMEOUT_MS)) {
            snprintf(why, sizeof why, "answer %zu of %zu missing", i + 1, c->nanswers);
            ok = false;
            break;
        }
        char detail[400];
        if (!answer_matches(&r, &c->answers[i], detail, sizeof detail)) {
            snprintf(why, sizeof why, "answer %zu: want %d %.100s, got %.300s", i + 1,
                     c->answers[i].status, c->answers[i].what, detail);
            ok = false;
        }
        char connection[32] = "";
        raw_header(&r, "connection", connection, sizeof connection);
        if (ok && c->closed && i + 1 == c->nanswers && strcmp(connection, "close") != 0) {
            snprintf(why, sizeof why, "the last answer says Connection: \"%s\", not close",
                     connection);
            ok = false;
        }
        raw_response_free(&r);
    }
    if (ok && c->closed) {
        ok = closes_silently(&conn, why, sizeof why);
    } else if (ok) {
        raw_response r;
        ok = raw_read_response(&conn, &r, FRAMING_IO_TIMEOUT_MS) && r.status == 200 &&
             strcmp(r.body, HEALTHZ_BODY) == 0;
        snprintf(why, sizeof why, "the follow-up GET /healthz got %d %.100s", r.status,
                 r.body != NULL ? r.body : "");
        raw_response_free(&r);
    }
    testutil_check(ok, "%s %s: %s%s%s", c->class_, c->name,
                   c->closed ? "answered, then closed" : "answered, connection kept",
                   ok ? "" : ": ", ok ? "" : why);
    raw_close(&conn);
}

/* ---- /metrics and the log ---- */

/* The body of GET path on a new connection, in out; false when no 200 came. */
static bool get_body(int port, const char *path, char *out, size_t outlen)
{
    raw_conn conn;
    if (!raw_open(&conn, port))
        return false;
    char req[256];
    int n =
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", path);
    raw_response r = {0}; /* status 0 (nothing to free) when raw_send fails */
    bool ok = raw_send(&conn, req, (size_t)n) &&
              raw_read_response(&conn, &r, FRAMING_IO_TIMEOUT_MS) && r.status == 200;
    if (ok)
        snprintf(out, outlen, "%s", r.body);
    if (r.status != 0)
        raw_response_free(&r);
    raw_close(&conn);
    return ok;
}

/* jwtd_http_requests_refused_total{reason=REASON} in a /metrics text, or -1. */
static long refused_count(const char *metrics, const char *reason)
{
    char key[96];
    snprintf(key, sizeof key, "jwtd_http_requests_refused_total{reason=\"%s\"} ", reason);
    const char *p = strstr(metrics, key);
    return p != NULL ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* The refusal reasons the cases name, each once, with how many times. */
typedef struct tally {
    char reason[32];
    long want, before;
} tally;

static size_t tally_reasons(tally *t, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < g_ncases; i++) {
        if (g_cases[i].refused[0] == '\0')
            continue;
        size_t j = 0;
        while (j < n && strcmp(t[j].reason, g_cases[i].refused) != 0)
            j++;
        if (j == n && n < max)
            snprintf(t[n++].reason, sizeof t[0].reason, "%s", g_cases[i].refused);
        if (j < n)
            t[j].want++;
    }
    return n;
}

/* How many lines of the file from offset on hold needle and not skip (skip may be NULL);
 * -1 when there is no file. */
static long count_lines(const char *path, long offset, const char *needle, const char *skip)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    fseek(f, offset, SEEK_SET);
    char line[8192];
    long n = 0;
    while (fgets(line, sizeof line, f) != NULL)
        n += strstr(line, needle) != NULL && (skip == NULL || strstr(line, skip) == NULL);
    fclose(f);
    return n;
}

/* Lines of this run's server log holding needle. At debug level the log has one line per
 * answered request ("request") and per refused one ("request refused"). */
static long log_count(const testserver *ts, const char *needle)
{
    return count_lines(ts->log_path, ts->log_start, needle, NULL);
}

static const char JWTD_REQUEST_LOGGED[] = "\"msg\":\"request";
static const char SMUGGLED_LOGGED[] = "\"path\":\"/smuggled\"";

/* ---- nginx in front (testnginx.h) ---- */

/* Requests nginx forwarded to jwtd (its access log), whose URI starts with prefix. */
static long nginx_forwarded(const testnginx *ng, const char *prefix)
{
    char needle[128];
    snprintf(needle, sizeof needle, "%s", prefix);
    return count_lines(ng->access_log, 0, needle, "|-");
}

/* Sends the case through nginx and reads whatever comes until nginx closes (the follow-up
 * says Connection: close). nginx may refuse the bytes, or read them as one request or as
 * several (the "smuggled" one included, when it is a well-formed pipelined request to nginx):
 * either way jwtd must read exactly the requests nginx forwarded, never one more. Then a
 * victim's two requests on new connections must get jwtd's own answer: a desynced upstream
 * connection would hand them the answer to a smuggled prefix. */
static void run_nginx_case(const testnginx *ng, const testserver *ts, const fcase *c)
{
    long jwtd_before = log_count(ts, JWTD_REQUEST_LOGGED);
    long jwtd_smuggled_before = log_count(ts, SMUGGLED_LOGGED);
    long ng_before = nginx_forwarded(ng, "/");
    long ng_smuggled_before = nginx_forwarded(ng, "/smuggled|");
    raw_conn conn;
    char first[16] = "none";
    if (raw_open(&conn, ng->port)) {
        send_case(&conn, c);
        raw_response r;
        if (raw_read_response(&conn, &r, FRAMING_IO_TIMEOUT_MS)) {
            snprintf(first, sizeof first, "%d", r.status);
            raw_response_free(&r);
        }
        long deadline = testutil_now_ms() + FRAMING_IO_TIMEOUT_MS;
        while (raw_fill(&conn, deadline))
            conn.len = 0;
        raw_close(&conn);
    }
    /* jwtd logs a request before its answer leaves; nginx may log its last one a moment
     * after the client saw the close (lingering close): it gets a bounded while to catch up. */
    long jwtd = log_count(ts, JWTD_REQUEST_LOGGED) - jwtd_before;
    long jwtd_smuggled = log_count(ts, SMUGGLED_LOGGED) - jwtd_smuggled_before;
    long forwarded, forwarded_smuggled;
    long settle = testutil_now_ms() + FRAMING_NGINX_LOG_SETTLE_MS;
    for (;;) {
        forwarded = nginx_forwarded(ng, "/") - ng_before;
        forwarded_smuggled = nginx_forwarded(ng, "/smuggled|") - ng_smuggled_before;
        if ((forwarded >= jwtd && forwarded_smuggled >= jwtd_smuggled) ||
            testutil_now_ms() > settle)
            break;
        testutil_sleep_ms(10);
    }
    char body[256] = "";
    bool victim =
        get_body(ng->port, "/healthz", body, sizeof body) && strcmp(body, HEALTHZ_BODY) == 0 &&
        get_body(ng->port, "/healthz", body, sizeof body) && strcmp(body, HEALTHZ_BODY) == 0;
    bool ok = victim && jwtd <= forwarded && jwtd_smuggled == forwarded_smuggled;
    testutil_check(ok,
                   "nginx %s %s: nginx answered %s first and forwarded %ld requests (%ld to "
                   "/smuggled); jwtd read %ld (%ld to /smuggled); the next clients get jwtd's own "
                   "200%s%s",
                   c->class_, c->name, first, forwarded, forwarded_smuggled, jwtd, jwtd_smuggled,
                   victim ? "" : ": got ", victim ? "" : body);
}

static void usage(void)
{
    fprintf(stderr, "usage: framing --jwtd PATH --tmp DIR --cases FILE [--nginx PATH] "
                    "[--serve-arg ARG]...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    testutil_args opt = {0};
    const char *cases = NULL, *nginx_bin = NULL;
    for (int i = 1; i < argc; i++) {
        if (testutil_take_arg(&opt, argc, argv, &i))
            continue;
        if (strcmp(argv[i], "--cases") == 0 && i + 1 < argc)
            cases = argv[++i];
        else if (strcmp(argv[i], "--nginx") == 0 && i + 1 < argc)
            nginx_bin = argv[++i];
        else
            usage();
    }
    if (opt.jwtd == NULL || opt.dir == NULL || cases == NULL)
        usage();
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!load_cases(cases))
        return 1;
    if (!testutil_fresh_dir(opt.dir, "framing"))
        return 1;

    char db[4200], log[4200];
    snprintf(db, sizeof db, "%s/framing.db", opt.dir);
    snprintf(log, sizeof log, "%s/server.log", opt.dir);
    testserver ts;
    char err[512];
    if (!testserver_start(&ts, opt.jwtd, db, log, opt.serve, opt.nserve, err, sizeof err)) {
        printf("FAIL - jwtd serve did not start: %s\n", err);
        testserver_print_log(&ts, stdout, 4000);
        return 1;
    }

    if (nginx_bin == NULL) {
        tally t[16];
        size_t nt = tally_reasons(t, 16);
        char *metrics = malloc(FRAMING_METRICS_MAX);
        bool got = metrics != NULL && get_body(ts.port, "/metrics", metrics, FRAMING_METRICS_MAX);
        for (size_t i = 0; i < nt && got; i++)
            t[i].before = refused_count(metrics, t[i].reason);
        testutil_check(got, "setup: /metrics read before the cases");
        for (size_t i = 0; i < g_ncases; i++)
            run_direct_case(ts.port, &g_cases[i]);
        got = got && get_body(ts.port, "/metrics", metrics, FRAMING_METRICS_MAX);
        for (size_t i = 0; i < nt; i++) {
            long after = got ? refused_count(metrics, t[i].reason) : -1;
            testutil_check(t[i].before >= 0 && after - t[i].before == t[i].want,
                           "metrics: jwtd_http_requests_refused_total{reason=\"%s\"} grew by %ld "
                           "(want %ld)",
                           t[i].reason, after - t[i].before, t[i].want);
        }
        free(metrics);
    } else {
        testnginx ng = {0};
        char ngdir[4200];
        snprintf(ngdir, sizeof ngdir, "%s/nginx", opt.dir);
        bool up =
            testnginx_start(&ng, nginx_bin, ngdir, &ts.port, 1, "$request_uri|$upstream_status");
        testutil_check(up, "setup: nginx %s proxies 127.0.0.1:%d to jwtd (keep-alive upstream)",
                       nginx_bin, ng.port);
        for (size_t i = 0; up && i < g_ncases; i++)
            run_nginx_case(&ng, &ts, &g_cases[i]);
        testnginx_stop(&ng);
    }
    /* The log does record requests (so the absence below can fail). */
    testutil_check(log_count(&ts, "\"path\":\"/healthz\"") > 0,
                   "the server log records requests by path (GET /healthz seen)");
    if (nginx_bin == NULL)
        testutil_check(log_count(&ts, SMUGGLED_LOGGED) == 0,
                       "no request for /smuggled ever reached a handler (server log, debug level)");
    char how[128];
    bool stopped = testserver_stop(&ts, how, sizeof how);
    testutil_check(stopped, "jwtd serve stops on SIGTERM with status 0 (%s)", how);
    if (testutil_failed() > 0)
        testserver_print_log(&ts, stdout, 6000);
    return testutil_summary();
}
