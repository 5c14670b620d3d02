/* rs.example_*: one examples/ service built on libjwtd-rs, run against a real `jwtd serve`
 * (SQLite in a fresh folder, a free loopback port each). Tokens come from /register and
 * /login; the ones that must fail are signed with the library: with jwtd's own signing key
 * (read from its SQLite file: expired, another audience) and with a stranger's key (unknown
 * kid, and jwtd's kid). Then `jwtd keys rotate`, and the service must accept the new tokens.
 *
 *   rs_examples --jwtd BIN --example BIN --work DIR [--serve-arg ARG]... */
#include <curl/curl.h>
#include <jwtd/jwtd.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testserver.h"
#include "testutil.h"

#define BODY_MAX 65536
#define ROTATE_TIMEOUT_MS 10000 /* jwtd serve picks a rotation up within ~2 s */
#define START_TIMEOUT_MS 10000
#define POLL_MS 200
#define PASSWORD "correct horse battery"

/* One HTTP answer: status, body, WWW-Authenticate. */
typedef struct answer {
    long status;
    char *body;
    size_t len;
    char www[512];
} answer;

/* libcurl's write callback: the body, bounded. */
static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    return testutil_append(&a->body, &a->len, BODY_MAX, data, size * n, NULL) ? size * n : 0;
}

/* libcurl's header callback: keeps WWW-Authenticate. */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t len = size * n;
    static const char name[] = "www-authenticate: ";
    if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        size_t v = len - (sizeof name - 1);
        while (v > 0 && (data[sizeof name - 2 + v] == '\r' || data[sizeof name - 2 + v] == '\n'))
            v--;
        snprintf(a->www, sizeof a->www, "%.*s", (int)v, data + sizeof name - 1);
    }
    return len;
}

/* GET (post NULL) or POST JSON url, with Authorization when auth is not NULL. */
static bool http(const char *url, const char *post, const char *auth, answer *a)
{
    memset(a, 0, sizeof *a);
    CURL *h = curl_easy_init();
    if (h == NULL)
        return false;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char line[8192];
    if (auth != NULL) {
        snprintf(line, sizeof line, "Authorization: %s", auth);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    if (post != NULL)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    bool ok = curl_easy_perform(h) == CURLE_OK;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return ok;
}

/* The access_token of a /register or /login answer (caller frees), or NULL. */
static char *access_token(const answer *a)
{
    const char *p = a->body != NULL ? strstr(a->body, "\"access_token\":\"") : NULL;
    if (p == NULL)
        return NULL;
    p += strlen("\"access_token\":\"");
    const char *end = strchr(p, '"');
    return end != NULL ? strndup(p, (size_t)(end - p)) : NULL;
}

/* POST /login (or /register) for name; the access token (caller frees) or NULL. */
static char *get_token(const testserver *ts, const char *route, const char *name)
{
    char url[128], body[256];
    snprintf(url, sizeof url, "%s/%s", ts->base, route);
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"" PASSWORD "\"}", name);
    answer a;
    char *tok = http(url, body, NULL, &a) ? access_token(&a) : NULL;
    if (tok == NULL)
        printf("# %s %s: %ld %.300s\n", route, name, a.status, a.body != NULL ? a.body : "");
    free(a.body);
    return tok;
}

/* jwtd's newest signing key, from its SQLite file (read-only), with its stored kid. */
static jwtd_key *jwtd_signing_key(const char *db)
{
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;
    jwtd_key *key = NULL;
    if (sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(s, 5000) == SQLITE_OK &&
        sqlite3_prepare_v2(s,
                           "SELECT kid, private_key FROM signing_keys ORDER BY created DESC, "
                           "rowid DESC LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *kid = (const char *)sqlite3_column_text(st, 0);
        const char *pk = (const char *)sqlite3_column_text(st, 1);
        jwtd_keyset *set = NULL;
        if (kid != NULL && pk != NULL && jwtd_keyset_parse(pk, strlen(pk), 0, &set) == JWTD_OK &&
            jwtd_keyset_count(set) == 1)
            (void)jwtd_key_with_kid(jwtd_keyset_get(set, 0), kid, &key);
        jwtd_keyset_free(set);
    }
    sqlite3_finalize(st);
    sqlite3_close(s);
    return key;
}

/* "Bearer " + an at+jwt access token like jwtd's, signed by key, for aud, expiring in exp_in
 * seconds (caller frees). */
static char *forge(const jwtd_key *key, const char *aud, int64_t exp_in)
{
    static const char *const roles[] = {"reader"};
    jwtd_claims *c = NULL;
    char *tok = NULL;
    jwtd_header hdr = {.typ = "at+jwt", .kid = NULL, .extra_json = NULL};
    bool ok = jwtd_claims_new(&c) == JWTD_OK && jwtd_claims_set_string(c, "iss", "jwtd") == 0 &&
              jwtd_claims_set_string(c, "aud", aud) == 0 &&
              jwtd_claims_set_string(c, "sub", "1") == 0 && jwtd_claims_set_iat_now(c) == 0 &&
              jwtd_claims_set_exp_in(c, exp_in) == 0 && jwtd_claims_set_jti_random(c) == 0 &&
              jwtd_claims_set_strings(c, "roles", roles, 1) == 0 &&
              jwtd_sign(key, JWTD_ALG_RS256, &hdr, c, &tok) == JWTD_OK;
    jwtd_claims_free(c);
    char *h = NULL;
    if (ok && asprintf(&h, "Bearer %s", tok) < 0)
        h = NULL;
    jwtd_free(tok);
    return h;
}

/* The example: started with stdout on a pipe; its "listening on" URL in base. */
typedef struct example {
    pid_t pid;
    char base[64];
} example;

/* Starts BIN JWKS_URL jwtd jwtd reader and waits (bounded) for its listening line. */
static bool example_start(example *ex, const char *bin, const char *jwks_url)
{
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    pid_t parent = getpid();
    ex->pid = fork();
    if (ex->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(bin, bin, jwks_url, "jwtd", "jwtd", "reader", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[256] = "";
    size_t n = 0;
    long deadline = testutil_now_ms() + START_TIMEOUT_MS;
    FILE *out = fdopen(fds[0], "r");
    while (out != NULL && n == 0 && testutil_now_ms() < deadline)
        if (fgets(line, sizeof line, out) != NULL)
            n = strlen(line);
    if (out != NULL)
        fclose(out);
    else
        close(fds[0]);
    return sscanf(line, "listening on %63s", ex->base) == 1;
}

/* SIGTERM, a bounded wait, then SIGKILL; true when it exited with status 0 by itself. */
static bool example_stop(example *ex)
{
    if (ex->pid <= 0)
        return false;
    kill(ex->pid, SIGTERM);
    int status = 0;
    long deadline = testutil_now_ms() + 10000;
    while (waitpid(ex->pid, &status, WNOHANG) == 0) {
        if (testutil_now_ms() > deadline) {
            kill(ex->pid, SIGKILL);
            waitpid(ex->pid, &status, 0);
            return false;
        }
        testutil_sleep_ms(20);
    }
    ex->pid = 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* GET /hello of the example with auth; checks status and WWW-Authenticate (prefix). */
static void expect(const example *ex, const char *auth, long status, const char *www,
                   const char *what)
{
    char url[128];
    snprintf(url, sizeof url, "%s/hello", ex->base);
    answer a;
    bool ok = http(url, NULL, auth, &a);
    bool www_ok = www == NULL || strncmp(a.www, www, strlen(www)) == 0;
    testutil_check(ok && a.status == status && www_ok, "%s: %ld [%s] %.200s", what, a.status, a.www,
                   a.body != NULL ? a.body : "");
    free(a.body);
}

/* The kid in a token's header (unverified: only to see which key jwtd used). */
static void token_kid(const char *tok, char kid[JWTD_MAX_KID_BYTES])
{
    char alg[32];
    kid[0] = '\0';
    if (tok == NULL || jwtd_insecure_peek_header(tok, strlen(tok), alg, sizeof alg, kid,
                                                 JWTD_MAX_KID_BYTES) != JWTD_OK)
        kid[0] = '\0';
}

/* The refusals and acceptances before the rotation. */
static void before_rotation(const example *ex, const char *db, const char *alice, const char *bob)
{
    char auth[4096];
    jwtd_key *jwtd_key_ = jwtd_signing_key(db), *stranger = NULL, *impostor = NULL;
    testutil_check(jwtd_key_ != NULL, "jwtd's signing key read from its SQLite file");
    if (jwtd_key_ == NULL || jwtd_key_generate(JWTD_ALG_RS256, &stranger) != JWTD_OK ||
        jwtd_key_with_kid(stranger, jwtd_key_kid(jwtd_key_), &impostor) != JWTD_OK)
        return;
    expect(ex, NULL, 401, "Bearer realm=\"hello\"", "no Authorization header");
    snprintf(auth, sizeof auth, "Bearer %s", alice);
    expect(ex, auth, 200, NULL, "alice (role reader) from /login");
    snprintf(auth, sizeof auth, "Bearer %s", bob);
    expect(ex, auth, 403, "Bearer realm=\"hello\", error=\"insufficient_scope\"",
           "bob (registered, no role reader)");
    static const struct {
        int signer; /* 0: jwtd's key, 1: a stranger's, 2: a stranger's with jwtd's kid */
        const char *aud;
        int64_t exp_in;
        const char *desc;
        const char *what;
    } refused[] = {
        {0, "jwtd", 600, "", "jwtd's key, forged by the test (control: accepted)"},
        {0, "jwtd", -3600, "the token expired", "expired"},
        {0, "other", 600, "the token is meant for another audience", "another audience"},
        {1, "jwtd", 600, "the token was signed by an unknown key", "another issuer's key"},
        {2, "jwtd", 600, "the token signature is invalid", "another key with jwtd's kid"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const jwtd_key *k = refused[i].signer == 0   ? jwtd_key_
                            : refused[i].signer == 1 ? stranger
                                                     : impostor;
        char *h = forge(k, refused[i].aud, refused[i].exp_in);
        char www[256];
        snprintf(www, sizeof www,
                 "Bearer realm=\"hello\", error=\"invalid_token\", error_description=\"%s\"",
                 refused[i].desc);
        if (i == 0)
            expect(ex, h, 200, NULL, refused[i].what);
        else
            expect(ex, h, 401, www, refused[i].what);
        free(h);
    }
    jwtd_key_free(jwtd_key_);
    jwtd_key_free(stranger);
    jwtd_key_free(impostor);
}

/* `jwtd keys rotate`; then, within a bounded time, a new login is signed by the new key and
 * the example accepts it (and still the old token). */
static void across_rotation(const example *ex, const testutil_args *args, const char *db,
                            const testserver *ts, const char *old)
{
    char out[4096], old_kid[JWTD_MAX_KID_BYTES], kid[JWTD_MAX_KID_BYTES], auth[4096];
    const char *argv[] = {args->jwtd, "keys", "rotate", "--db", db, NULL};
    int rc = testserver_run(argv, "", out, sizeof out);
    testutil_check(rc == 0, "jwtd keys rotate: %d %.200s", rc, out);
    token_kid(old, old_kid);
    char *fresh = NULL;
    long deadline = testutil_now_ms() + ROTATE_TIMEOUT_MS;
    for (;;) {
        free(fresh);
        fresh = get_token(ts, "login", "alice");
        token_kid(fresh, kid);
        if ((kid[0] != '\0' && strcmp(kid, old_kid) != 0) || testutil_now_ms() > deadline)
            break;
        testutil_sleep_ms(POLL_MS);
    }
    testutil_check(kid[0] != '\0' && strcmp(kid, old_kid) != 0,
                   "a login after the rotation is signed with the new key (%s)", kid);
    snprintf(auth, sizeof auth, "Bearer %s", fresh != NULL ? fresh : "");
    /* The example refetches on an unknown kid at most once per refetch interval (1 s here):
     * when the stranger's token above spent it a moment ago, the first try may be refused. */
    char url[128];
    snprintf(url, sizeof url, "%s/hello", ex->base);
    answer a = {0};
    long start = testutil_now_ms();
    for (;;) {
        free(a.body);
        a = (answer){0};
        if ((http(url, NULL, auth, &a) && a.status == 200) ||
            testutil_now_ms() - start > ROTATE_TIMEOUT_MS)
            break;
        testutil_sleep_ms(POLL_MS);
    }
    testutil_check(
        a.status == 200,
        "alice's new token, after the rotation: %ld within %ld ms (refetch interval 1 s)", a.status,
        testutil_now_ms() - start);
    free(a.body);
    snprintf(auth, sizeof auth, "Bearer %s", old);
    expect(ex, auth, 200, NULL, "alice's old token (the retired key stays published)");
    free(fresh);
}

int main(int argc, char **argv)
{
    testutil_args args = {0};
    const char *example_bin = NULL;
    for (int i = 1; i < argc; i++) {
        if (testutil_take_arg(&args, argc, argv, &i))
            continue;
        if (strcmp(argv[i], "--example") == 0 && i + 1 < argc) {
            example_bin = argv[++i];
            continue;
        }
        fprintf(stderr, "usage: rs_examples --jwtd BIN --example BIN --work DIR\n");
        return 2;
    }
    if (args.jwtd == NULL || args.dir == NULL || example_bin == NULL ||
        !testutil_fresh_dir(args.dir, "rs_examples"))
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char db[4096], log[4096], err[256], out[4096], jwks_url[128];
    snprintf(db, sizeof db, "%s/jwtd.db", args.dir);
    snprintf(log, sizeof log, "%s/server.log", args.dir);
    int rc = testutil_user_add(args.jwtd, db, "alice", "reader", PASSWORD, out, sizeof out);
    testutil_check(rc == 0, "jwtd user add alice --role reader: %d %.200s", rc, out);

    testserver ts;
    if (!testserver_start(&ts, args.jwtd, db, log, args.serve, args.nserve, err, sizeof err)) {
        testutil_check(false, "jwtd serve starts: %s", err);
        return testutil_summary();
    }
    snprintf(jwks_url, sizeof jwks_url, "%s/.well-known/jwks.json", ts.base);
    example ex = {0};
    bool up = example_start(&ex, example_bin, jwks_url);
    testutil_check(up, "%s is listening at %s", example_bin, ex.base);
    char *alice = get_token(&ts, "login", "alice");
    char *bob = get_token(&ts, "register", "bob");
    testutil_check(alice != NULL && bob != NULL, "tokens from /login (alice), /register (bob)");
    if (up && alice != NULL && bob != NULL) {
        before_rotation(&ex, db, alice, bob);
        across_rotation(&ex, &args, db, &ts, alice);
    }
    testutil_check(example_stop(&ex), "the example stops cleanly on SIGTERM");
    char how[128];
    testutil_check(testserver_stop(&ts, how, sizeof how), "jwtd serve stops cleanly: %s", how);
    if (testutil_failed() > 0)
        testserver_print_log_end(&ts, 4000);
    free(alice);
    free(bob);
    curl_global_cleanup();
    return testutil_summary();
}
