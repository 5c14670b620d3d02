/* No secret anywhere it could leak (issue 4, "Timing and secrets").
 *
 * Starts a real `jwtd serve --log-level debug` (its stdout and stderr into a log file, a real
 * SQLite file) in one of two modes: `hs256` (JWT_SECRET set to a random 48-byte secret) or
 * `keys` (no secret: the server generates and stores a signing key of its key-alg, RS256 unless
 * a --serve-arg says otherwise). It then walks
 * every route and its error paths over real HTTP (libcurl): register (ok, taken, short
 * password, missing fields, invalid JSON, wrong content type), login (ok by username and by
 * email, wrong password, unknown user, disabled user, invalid JSON), refresh (body, Bearer,
 * cookie, reuse of a spent token, an access token, garbage), logout, logout-all, /me (good,
 * expired, tampered signature, tampered payload, missing, malformed, forged with the stored key),
 * admin (users list, patch disable and roles, metrics, 403 for a non-admin), /metrics, the
 * JWKS, /healthz, 404 and 405, and `jwtd user list` / `jwtd keys list`.
 *
 * It collects every secret it used or received: each password, each access and refresh token
 * (whole, and its signature part), each token it presented (tampered and forged ones too), the
 * JWT_SECRET (raw and base64url), every password hash read from the SQLite file with libsqlite3
 * (whole, and its salt and digest parts), and the stored private signing keys (each PEM body
 * line, and the JWK "d"). Then it searches, for every secret:
 *   - the server log (all of it: JSON lines at debug level, the start-up lines),
 *   - every response body and every response header it received,
 *   - the output of the CLI commands,
 * and fails on any hit, printing the secret's label and where it was found, never the secret.
 *
 * The allow-list, exactly: in a 200/201 answer of POST /login, /register or /refresh, the
 * body's "access_token" and "refresh_token" members, and in that answer's Set-Cookie header
 * the value of the jwtd_refresh cookie when it is that same refresh token. Those values are
 * blanked (after checking they are there) and the rest of the answer is still searched.
 *
 * The test checks itself: every token it collects was seen where it was issued, the log has
 * debug lines, a key forged from the secret it read from the store is accepted by /me (so what
 * it searches for is the real signing key), and there is at least one hash and one key.
 *
 * Usage: secrets_scan --jwtd PATH --tmp DIR --mode hs256|keys [--serve-arg ARG]... */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <jwtd/jwtd.h>
#include <sodium.h>
#include <sqlite3.h>

#include "testserver.h"
#include "testutil.h"

#define MAX_ITEMS 1024
#define MAX_RESPONSE (1024 * 1024)
#define REQUEST_TIMEOUT_MS 30000L
#define MIN_SECRET 8 /* shorter strings would match by chance */

typedef struct item {
    char label[160];
    char *data;
    size_t len;
} item;

static item secrets[MAX_ITEMS], hay[MAX_ITEMS];
static size_t nsecrets, nhay;
static const char *mode;
static char fail_prefix[32]; /* "secrets[MODE]": the prefix of its FAIL lines */

static void add_item(item *list, size_t *n, const char *data, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void add_item(item *list, size_t *n, const char *data, size_t len, const char *fmt, ...)
{
    if (*n >= MAX_ITEMS) {
        testutil_fail(fail_prefix, "too many items");
        return;
    }
    if (list == secrets) {
        for (size_t i = 0; i < *n; i++)
            if (list[i].len == len && memcmp(list[i].data, data, len) == 0)
                return; /* already searched for */
    }
    item *it = &list[(*n)++];
    va_list ap;
    va_start(ap, fmt);
    /* clang-tidy 14 false positive: va_start is just above */
    vsnprintf(it->label, sizeof it->label, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    it->data = malloc(len + 1);
    if (it->data == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memcpy(it->data, data, len);
    it->data[len] = '\0';
    it->len = len;
}

#define add_secret(data, len, ...) add_item(secrets, &nsecrets, data, len, __VA_ARGS__)
#define add_hay(data, len, ...) add_item(hay, &nhay, data, len, __VA_ARGS__)

/* A secret, and for a JWS also its signature part (what a log would need to leak to make a
 * token replayable even if cut). */
static void add_token_secret(const char *tok, const char *what)
{
    size_t len = strlen(tok);
    const char *dot = strrchr(tok, '.');
    if (len < MIN_SECRET || dot == NULL || strlen(dot + 1) < MIN_SECRET) {
        testutil_fail(fail_prefix, "%s is not a JWS", what);
        return;
    }
    add_secret(tok, len, "%s", what);
    add_secret(dot + 1, strlen(dot + 1), "signature of %s", what);
}

/* A random printable secret of 2*n hex characters. */
static void random_hex(char *out, size_t n)
{
    unsigned char raw[64];
    randombytes_buf(raw, n);
    sodium_bin2hex(out, 2 * n + 1, raw, n);
}

/* ---- HTTP ---- */

typedef struct growbuf {
    char *data;
    size_t len;
} growbuf;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    growbuf *b = ud;
    return testutil_append(&b->data, &b->len, MAX_RESPONSE, p, size * n, NULL) ? size * n : 0;
}

typedef struct response {
    long status;
    growbuf body, headers;
    json_t *json; /* the body parsed, when it is JSON */
} response;

static CURL *curl;
static testserver ts;
/* The pair of the last token-issuing answer. */
static char last_access[4096], last_refresh[4096];
static int nrequests;

static void response_free(response *r)
{
    free(r->body.data);
    free(r->headers.data);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

static const char *json_str(const response *r, const char *key)
{
    return json_string_value(json_object_get(r->json, key));
}

/* Applies the allow-list to a token-issuing answer: collects its tokens as secrets, checks
 * they are in the body and the cookie, and blanks exactly those values. */
static void allow_issued_tokens(response *r, const char *where)
{
    const char *at = json_str(r, "access_token"), *rt = json_str(r, "refresh_token");
    if (r->body.data == NULL || at == NULL || rt == NULL) { /* no body: no JSON, no tokens */
        testutil_fail(fail_prefix, "%s: no access_token/refresh_token in a %ld answer", where,
                      r->status);
        return;
    }
    char *acc = strdup(at), *ref = strdup(rt), label[300];
    snprintf(label, sizeof label, "access token from %s", where);
    add_token_secret(acc, label);
    snprintf(label, sizeof label, "refresh token from %s", where);
    add_token_secret(ref, label);
    snprintf(last_access, sizeof last_access, "%s", acc);
    snprintf(last_refresh, sizeof last_refresh, "%s", ref);

    /* The body: the two members set to "", everything else kept and searched. */
    json_object_set_new(r->json, "access_token", json_string(""));
    json_object_set_new(r->json, "refresh_token", json_string(""));
    char *rest = json_dumps(r->json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (memmem(r->body.data, r->body.len, acc, strlen(acc)) == NULL ||
        memmem(r->body.data, r->body.len, ref, strlen(ref)) == NULL)
        testutil_fail(fail_prefix, "%s: the issued tokens are not in the body as sent", where);
    free(r->body.data);
    r->body.data = rest;
    r->body.len = rest != NULL ? strlen(rest) : 0;

    /* The headers: only "Set-Cookie: jwtd_refresh=<this refresh token>;" is allowed (the
     * header name in any case). */
    char cookie[4096];
    snprintf(cookie, sizeof cookie, "Set-Cookie: jwtd_refresh=%s;", ref);
    if (r->headers.data == NULL || strcasestr(r->headers.data, cookie) == NULL) {
        testutil_fail(fail_prefix, "%s: no refresh cookie with the issued refresh token", where);
    } else {
        char *p = strcasestr(r->headers.data, cookie) + strlen("Set-Cookie: jwtd_refresh=");
        memmove(p, p + strlen(ref),
                r->headers.len - (size_t)(p - r->headers.data) - strlen(ref) + 1);
        r->headers.len -= strlen(ref);
    }
    free(acc);
    free(ref);
}

/* One request. bearer: the Authorization header's value (already "Bearer x"), or NULL;
 * cookie: a Cookie header value or NULL; ctype NULL means application/json. Every answer is
 * kept for the search, after the allow-list for token-issuing answers. */
static long call(const char *method, const char *path, const char *auth, const char *cookie,
                 const char *body, const char *ctype, response *r)
{
    memset(r, 0, sizeof *r);
    char url[512], hdr[8192], where[256];
    snprintf(url, sizeof url, "%s%s", ts.base, path);
    snprintf(where, sizeof where, "%s %s (request #%d)", method, path, ++nrequests);
    struct curl_slist *h = NULL;
    if (body != NULL) {
        snprintf(hdr, sizeof hdr, "Content-Type: %s", ctype != NULL ? ctype : "application/json");
        h = curl_slist_append(h, hdr);
    }
    if (auth != NULL) {
        snprintf(hdr, sizeof hdr, "Authorization: %s", auth);
        h = curl_slist_append(h, hdr);
    }
    if (cookie != NULL) {
        snprintf(hdr, sizeof hdr, "Cookie: %s", cookie);
        h = curl_slist_append(h, hdr);
    }
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        testutil_fail(fail_prefix, "%s: %s", where, curl_easy_strerror(rc));
        return 0;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->body.data != NULL)
        r->json = json_loadb(r->body.data, r->body.len, 0, NULL);
    bool issuing = (strcmp(path, "/login") == 0 || strcmp(path, "/register") == 0 ||
                    strcmp(path, "/refresh") == 0) &&
                   (r->status == 200 || r->status == 201);
    if (issuing)
        allow_issued_tokens(r, where);
    char label[300];
    snprintf(label, sizeof label, "the body of the answer to %s", where);
    add_hay(r->body.data != NULL ? r->body.data : "", r->body.len, "%s", label);
    snprintf(label, sizeof label, "the headers of the answer to %s", where);
    add_hay(r->headers.data != NULL ? r->headers.data : "", r->headers.len, "%s", label);
    return r->status;
}

/* call() that expects a status; the response is freed unless out is given. */
static void expect(long want, const char *method, const char *path, const char *auth,
                   const char *cookie, const char *body, const char *ctype, response *out)
{
    response r;
    long got = call(method, path, auth, cookie, body, ctype, &r);
    if (got != want)
        testutil_fail(fail_prefix, "%s %s (request #%d) answered %ld, expected %ld", method, path,
                      nrequests, got, want);
    if (out != NULL)
        *out = r;
    else
        response_free(&r);
}

static char *bearer(const char *tok)
{
    char *s = NULL;
    if (asprintf(&s, "Bearer %s", tok) < 0)
        exit(1);
    return s;
}

/* ---- Reading the store and forging tokens ---- */

static void collect_store_secrets(const char *db, char *pem_out, size_t pem_len, char *kid_out,
                                  size_t kid_len, size_t *nhashes, size_t *nkeys)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    *nhashes = *nkeys = 0;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        testutil_fail(fail_prefix, "cannot open %s: %s", db, sqlite3_errmsg(h));
        sqlite3_close(h);
        return;
    }
    sqlite3_busy_timeout(h, 5000);
    if (sqlite3_prepare_v2(h, "SELECT username, password_hash FROM users", -1, &st, NULL) ==
        SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *user = (const char *)sqlite3_column_text(st, 0);
            const char *hash = (const char *)sqlite3_column_text(st, 1);
            if (hash == NULL || strlen(hash) < MIN_SECRET)
                continue;
            (*nhashes)++;
            add_secret(hash, strlen(hash), "password hash of %s", user);
            /* $argon2id$v=19$m=..,t=..,p=..$SALT$DIGEST: salt and digest alone too. */
            const char *dig = strrchr(hash, '$');
            if (dig != NULL && strlen(dig + 1) >= MIN_SECRET) {
                add_secret(dig + 1, strlen(dig + 1), "digest of the password hash of %s", user);
                const char *salt = dig - 1;
                while (salt > hash && *salt != '$')
                    salt--;
                if ((size_t)(dig - salt - 1) >= MIN_SECRET)
                    add_secret(salt + 1, (size_t)(dig - salt - 1),
                               "salt of the password hash of %s", user);
            }
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(h, "SELECT kid, private_key FROM signing_keys ORDER BY created DESC", -1,
                           &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *kid = (const char *)sqlite3_column_text(st, 0);
            const char *pem = (const char *)sqlite3_column_text(st, 1);
            if (pem == NULL)
                continue;
            if ((*nkeys)++ == 0) {
                snprintf(pem_out, pem_len, "%s", pem);
                snprintf(kid_out, kid_len, "%s", kid != NULL ? kid : "");
            }
            add_secret(pem, strlen(pem), "private key %s (PEM)", kid);
            /* Each base64 line of the PEM body: a JSON log would escape the newlines. */
            const char *p = pem;
            while (*p != '\0') {
                const char *e = strchr(p, '\n');
                size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
                if (n >= MIN_SECRET && strncmp(p, "-----", 5) != 0)
                    add_secret(p, n, "a line of private key %s (PEM)", kid);
                p += n + (e != NULL);
            }
            jwtd_key *k = NULL;
            char *jwk = NULL;
            if (jwtd_key_from_pem(pem, strlen(pem), 0, &k) == JWTD_OK &&
                jwtd_key_private_jwk(k, &jwk) == JWTD_OK) {
                json_t *j = json_loads(jwk, 0, NULL);
                const char *d = json_string_value(json_object_get(j, "d"));
                if (d != NULL)
                    add_secret(d, strlen(d), "private key %s (JWK d)", kid);
                else
                    testutil_fail(fail_prefix, "private key %s: no d in its JWK", kid);
                json_decref(j);
            } else {
                testutil_fail(fail_prefix, "private key %s: not a PEM private key", kid);
            }
            if (jwk != NULL)
                sodium_memzero(jwk, strlen(jwk));
            jwtd_free(jwk);
            jwtd_key_free(k);
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
}

/* A token with the claims of tok, exp moved by exp_shift seconds (from now), signed with key:
 * what only the holder of the signing secret can make. */
static char *forge(const char *tok, const jwtd_key *key, jwtd_alg alg, int64_t exp_in)
{
    const char *d1 = strchr(tok, '.'), *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
    if (d2 == NULL)
        return NULL;
    unsigned char hdr[1024], pl[4096];
    size_t hl = 0, pll = 0;
    if (sodium_base642bin(hdr, sizeof hdr - 1, tok, (size_t)(d1 - tok), NULL, &hl, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        sodium_base642bin(pl, sizeof pl - 1, d1 + 1, (size_t)(d2 - d1 - 1), NULL, &pll, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return NULL;
    json_t *h = json_loadb((const char *)hdr, hl, 0, NULL);
    jwtd_claims *c = NULL;
    char *out = NULL;
    if (h != NULL && jwtd_claims_from_json((const char *)pl, pll, &c) == JWTD_OK &&
        jwtd_claims_set_exp_in(c, exp_in) == JWTD_OK) {
        jwtd_header jh = {.typ = json_string_value(json_object_get(h, "typ")),
                          .kid = json_string_value(json_object_get(h, "kid"))};
        if (exp_in < 0)
            jwtd_claims_set_int(c, "iat", (int64_t)time(NULL) + exp_in - 60);
        if (jwtd_sign(key, alg, &jh, c, &out) != JWTD_OK)
            out = NULL;
    }
    jwtd_claims_free(c);
    json_decref(h);
    return out;
}

/* ---- The search ---- */

static void search(void)
{
    size_t hits = 0;
    for (size_t s = 0; s < nsecrets; s++) {
        for (size_t h = 0; h < nhay; h++) {
            const char *p = memmem(hay[h].data, hay[h].len, secrets[s].data, secrets[s].len);
            if (p != NULL) {
                testutil_fail(fail_prefix, "%s: found in %s (at byte %zu)", secrets[s].label,
                              hay[h].label, (size_t)(p - hay[h].data));
                hits++;
            }
        }
    }
    printf("secrets[%s]: searched %zu places for %zu secrets: %zu found\n", mode, nhay, nsecrets,
           hits);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    growbuf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (on_data(chunk, 1, n, &b) != n)
            break;
    fclose(f);
    *len = b.len;
    return b.data;
}

/* A jwtd command's exit status rc and output out: a failure unless 0; the output is searched. */
static void cli_done(int rc, const char *out, const char *what)
{
    if (rc != 0)
        testutil_fail(fail_prefix, "%s: exit status %d: %s", what, rc, out);
    add_hay(out, strlen(out), "the output of %s", what);
}

static void run_cli(const char *const *args, const char *stdin_data, const char *what)
{
    static char out[65536];
    cli_done(testserver_run(args, stdin_data, out, sizeof out), out, what);
}

static int usage(void)
{
    fprintf(stderr, "usage: secrets_scan --jwtd PATH --tmp DIR --mode hs256|keys "
                    "[--serve-arg ARG]...\n");
    return 2;
}

int main(int argc, char **argv)
{
    testutil_args opt = {0};
    for (int i = 1; i < argc; i++) {
        if (testutil_take_arg(&opt, argc, argv, &i))
            continue;
        if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
            mode = argv[++i];
        else
            return usage();
    }
    const char *jwtd = opt.jwtd, *tmp = opt.dir, *const *serve_args = opt.serve;
    size_t nserve = opt.nserve;
    if (jwtd == NULL || tmp == NULL || mode == NULL ||
        (strcmp(mode, "hs256") != 0 && strcmp(mode, "keys") != 0))
        return usage();
    snprintf(fail_prefix, sizeof fail_prefix, "secrets[%s]", mode);
    bool hs = strcmp(mode, "hs256") == 0;
    if (sodium_init() < 0)
        return 1;
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "secrets: cannot create %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    char db[4096], log[4096];
    snprintf(db, sizeof db, "%s/secrets-%s.db", tmp, mode);
    snprintf(log, sizeof log, "%s/secrets-%s.log", tmp, mode);
    testutil_remove_db(db, log);

    /* The secrets this run chooses. */
    char jwt_secret[97], pw_admin[33], pw_alice[33], pw_bob[33], pw_dora[33], pw_wrong[33],
        pw_short[8], pw_other[33];
    random_hex(jwt_secret, 48);
    random_hex(pw_admin, 16);
    random_hex(pw_alice, 16);
    random_hex(pw_bob, 16);
    random_hex(pw_dora, 16);
    random_hex(pw_wrong, 16);
    random_hex(pw_other, 16);
    {
        unsigned char raw[5];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(pw_short, sizeof pw_short, raw, sizeof raw,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING); /* 7 characters */
    }
    add_secret(pw_admin, strlen(pw_admin), "admin's password");
    add_secret(pw_alice, strlen(pw_alice), "alice's password");
    add_secret(pw_bob, strlen(pw_bob), "bob's password");
    add_secret(pw_dora, strlen(pw_dora), "dora's password");
    add_secret(pw_wrong, strlen(pw_wrong), "a wrong password");
    add_secret(pw_other, strlen(pw_other), "a password sent in invalid requests");
    add_item(secrets, &nsecrets, pw_short, strlen(pw_short), "a too-short password");
    if (hs) {
        char b64[140];
        add_secret(jwt_secret, strlen(jwt_secret), "JWT_SECRET");
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)jwt_secret, strlen(jwt_secret),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        add_secret(b64, strlen(b64), "JWT_SECRET as base64url");
        setenv("JWT_SECRET", jwt_secret, 1);
    } else {
        unsetenv("JWT_SECRET");
    }
    unsetenv("JWTD_JWT_SECRET");
    unsetenv("JWTD_JWT_SECRET_FILE");

    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();

    /* The first admin, by the command line, before the server starts. */
    setenv("JWTD_ARGON2_T", "1", 1); /* the command line's hashing: cheap as the server's */
    setenv("JWTD_ARGON2_M_KIB", "8", 1);
    {
        static char out[65536];
        int rc = testutil_user_add(jwtd, db, "admin", "admin", pw_admin, out, sizeof out);
        cli_done(rc, out, "jwtd user add admin");
    }

    const char *args[TESTSERVER_MAX_ARGS];
    size_t nargs = 0;
    const char *fixed[] = {"--log-level",    "debug", "--argon2-t",      "1",
                           "--argon2-m-kib", "8",     "--refresh-grace", "0"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        args[nargs++] = fixed[i];
    for (size_t i = 0; i < nserve; i++)
        args[nargs++] = serve_args[i];
    char err[512], how[128];
    if (!testserver_start(&ts, jwtd, db, log, args, nargs, err, sizeof err)) {
        fprintf(stderr, "secrets[%s]: %s\n", mode, err);
        testserver_print_log(&ts, stderr, 8192);
        return 1;
    }

    response r, r2;
    char body[1024], path[128];

    /* Anyone. */
    expect(200, "GET", "/healthz", NULL, NULL, NULL, NULL, NULL);
    expect(200, "GET", "/.well-known/jwks.json", NULL, NULL, NULL, NULL, NULL);
    expect(200, "GET", "/metrics", NULL, NULL, NULL, NULL, NULL);
    call("GET", "/", NULL, NULL, NULL, NULL, &r); /* the demo page or 404: either is fine */
    response_free(&r);
    expect(404, "GET", "/no/such/route", NULL, NULL, NULL, NULL, NULL);
    expect(405, "DELETE", "/login", NULL, NULL, NULL, NULL, NULL);

    /* Register: ok x3, taken, too short, missing field, invalid JSON, wrong content type. */
    snprintf(body, sizeof body,
             "{\"username\":\"alice\",\"password\":\"%s\",\"email\":\"alice@example.com\","
             "\"name\":\"Alice\"}",
             pw_alice);
    expect(201, "POST", "/register", NULL, NULL, body, NULL, NULL);
    char *alice_access = strdup(last_access);
    snprintf(body, sizeof body, "{\"username\":\"bob\",\"password\":\"%s\"}", pw_bob);
    expect(201, "POST", "/register", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "{\"username\":\"dora\",\"password\":\"%s\"}", pw_dora);
    expect(201, "POST", "/register", NULL, NULL, body, NULL, &r);
    json_int_t dora_id = json_integer_value(json_object_get(json_object_get(r.json, "user"), "id"));
    response_free(&r);
    snprintf(body, sizeof body, "{\"username\":\"alice\",\"password\":\"%s\"}", pw_other);
    expect(409, "POST", "/register", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "{\"username\":\"eve\",\"password\":\"%s\"}", pw_short);
    expect(400, "POST", "/register", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "{\"password\":\"%s\"}", pw_other);
    expect(400, "POST", "/register", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "{\"username\":\"eve\",\"password\":\"%s\"", pw_other);
    expect(400, "POST", "/register", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "{\"username\":\"eve\",\"password\":%s}", "12345678901234");
    expect(400, "POST", "/register", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "username=eve&password=%s", pw_other);
    call("POST", "/register", NULL, NULL, body, "application/x-www-form-urlencoded", &r);
    if (r.status != 415 && r.status != 400)
        testutil_fail(fail_prefix, "a form body to /register answered %ld", r.status);
    response_free(&r);

    /* Login: ok by username and by email, wrong, unknown, invalid JSON, missing fields. */
    snprintf(body, sizeof body, "{\"username\":\"alice\",\"password\":\"%s\"}", pw_alice);
    expect(200, "POST", "/login", NULL, NULL, body, NULL, NULL);
    char *a_access = strdup(last_access), *a_refresh = strdup(last_refresh);
    snprintf(body, sizeof body, "{\"email\":\"alice@example.com\",\"password\":\"%s\"}", pw_alice);
    expect(200, "POST", "/login", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "{\"username\":\"alice\",\"password\":\"%s\"}", pw_wrong);
    expect(401, "POST", "/login", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "{\"username\":\"nobody\",\"password\":\"%s\"}", pw_alice);
    expect(401, "POST", "/login", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "{\"email\":\"nobody@example.com\",\"password\":\"%s\"}", pw_wrong);
    expect(401, "POST", "/login", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "{\"username\":\"alice\",\"password\":\"%s\",}", pw_alice);
    expect(400, "POST", "/login", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "{\"password\":\"%s\"}", pw_alice);
    expect(400, "POST", "/login", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "{\"username\":[\"alice\"],\"password\":\"%s\"}", pw_alice);
    expect(400, "POST", "/login", NULL, NULL, body, NULL, NULL);

    /* /me: good, tampered signature, tampered payload, missing, malformed, lower case. */
    char *auth = bearer(a_access);
    expect(200, "GET", "/me", auth, NULL, NULL, NULL, NULL);
    free(auth);
    char *bad_sig = strdup(a_access);
    char *sig = strrchr(bad_sig, '.') + 1;
    sig[strlen(sig) / 2] = sig[strlen(sig) / 2] == 'A' ? 'B' : 'A';
    add_token_secret(bad_sig, "a token with a tampered signature");
    auth = bearer(bad_sig);
    expect(401, "GET", "/me", auth, NULL, NULL, NULL, NULL);
    free(auth);
    char *bad_payload = strdup(a_access);
    char *pl = strchr(bad_payload, '.') + 3;
    *pl = *pl == 'A' ? 'B' : 'A';
    add_secret(bad_payload, strlen(bad_payload), "a token with a tampered payload");
    auth = bearer(bad_payload);
    expect(401, "GET", "/me", auth, NULL, NULL, NULL, NULL);
    free(auth);
    expect(401, "GET", "/me", NULL, NULL, NULL, NULL, NULL);
    expect(401, "GET", "/me", "Bearer not-a-token-at-all", NULL, NULL, NULL, NULL);
    snprintf(body, sizeof body, "bearer %s", a_access);
    call("GET", "/me", body, NULL, NULL, NULL, &r); /* 200 or 401: only secrecy matters */
    response_free(&r);
    snprintf(body, sizeof body, "Basic %s", pw_alice);
    expect(401, "GET", "/me", body, NULL, NULL, NULL, NULL);

    /* Forged with the stored signing secret: a valid one proves the secret read from the store
     * (or JWT_SECRET) is what signs; an expired one is refused. */
    jwtd_key *key = NULL;
    char pem[8192] = "", kid[256] = "";
    size_t nhashes = 0, nkeys = 0;
    collect_store_secrets(db, pem, sizeof pem, kid, sizeof kid, &nhashes, &nkeys);
    if (hs) {
        if (jwtd_key_from_secret(jwt_secret, strlen(jwt_secret), 0, &key) != JWTD_OK)
            testutil_fail(fail_prefix, "JWT_SECRET is not a key");
        if (nkeys != 0)
            testutil_fail(fail_prefix, "%zu signing keys stored while signing with JWT_SECRET",
                          nkeys);
    } else if (nkeys == 0 || jwtd_key_from_pem(pem, strlen(pem), 0, &key) != JWTD_OK) {
        testutil_fail(fail_prefix, "no signing key in the store");
    }
    if (key != NULL) {
        jwtd_alg alg = hs                                  ? JWTD_ALG_HS256
                       : jwtd_key_kty(key) == JWTD_KTY_OKP ? JWTD_ALG_EDDSA
                                                           : JWTD_ALG_RS256;
        char *good = forge(a_access, key, alg, 600), *old = forge(a_access, key, alg, -120);
        if (good == NULL || old == NULL) {
            testutil_fail(fail_prefix, "cannot forge tokens with the stored key");
        } else {
            add_token_secret(good, "a token forged with the signing secret");
            add_token_secret(old, "an expired token forged with the signing secret");
            auth = bearer(good);
            expect(200, "GET", "/me", auth, NULL, NULL, NULL, NULL);
            free(auth);
            auth = bearer(old);
            expect(401, "GET", "/me", auth, NULL, NULL, NULL, NULL);
            free(auth);
        }
        jwtd_free(good);
        jwtd_free(old);
        jwtd_key_free(key);
    }

    /* Refresh: in the body, then the spent one again (reuse: the family is revoked), the new
     * one after that (revoked), an access token, garbage; by Bearer and by cookie. */
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", a_refresh);
    expect(200, "POST", "/refresh", NULL, NULL, body, NULL, NULL);
    char *rotated = strdup(last_refresh);
    expect(401, "POST", "/refresh", NULL, NULL, body, NULL, NULL); /* reuse */
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", rotated);
    expect(401, "POST", "/refresh", NULL, NULL, body, NULL, NULL); /* family revoked */
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", a_access);
    expect(401, "POST", "/refresh", NULL, NULL, body, NULL, NULL);
    expect(401, "POST", "/refresh", NULL, NULL, "{\"refresh_token\":\"garbage.garbage.garbage\"}",
           NULL, NULL);
    expect(400, "POST", "/refresh", NULL, NULL, "{\"refresh_token\":12}", NULL, NULL);
    snprintf(body, sizeof body, "{\"username\":\"alice\",\"password\":\"%s\"}", pw_alice);
    expect(200, "POST", "/login", NULL, NULL, body, NULL, NULL);
    char *b_refresh = strdup(last_refresh);
    auth = bearer(b_refresh);
    expect(200, "POST", "/refresh", auth, NULL, "{}", NULL, NULL);
    free(auth);
    char *c_refresh = strdup(last_refresh);
    char cookie[4096];
    snprintf(cookie, sizeof cookie, "jwtd_refresh=%s", c_refresh);
    expect(200, "POST", "/refresh", NULL, cookie, "{}", NULL, NULL);
    char *d_access = strdup(last_access), *d_refresh = strdup(last_refresh);

    /* Admin: list, patch (disable dora, roles of bob), metrics; a non-admin gets 403. */
    snprintf(body, sizeof body, "{\"username\":\"admin\",\"password\":\"%s\"}", pw_admin);
    expect(200, "POST", "/login", NULL, NULL, body, NULL, NULL);
    char *admin_auth = bearer(last_access);
    expect(200, "GET", "/admin/users", admin_auth, NULL, NULL, NULL, &r);
    json_t *users = json_object_get(r.json, "users");
    json_int_t bob_id = 0;
    for (size_t i = 0; i < json_array_size(users); i++) {
        json_t *u = json_array_get(users, i);
        const char *name = json_string_value(json_object_get(u, "username"));
        if (name != NULL && strcmp(name, "bob") == 0)
            bob_id = json_integer_value(json_object_get(u, "id"));
    }
    response_free(&r);
    expect(200, "GET", "/admin/users?limit=2", admin_auth, NULL, NULL, NULL, NULL);
    snprintf(path, sizeof path, "/admin/users/%lld", (long long)dora_id);
    expect(200, "PATCH", path, admin_auth, NULL, "{\"disabled\":true}", NULL, NULL);
    snprintf(path, sizeof path, "/admin/users/%lld", (long long)bob_id);
    expect(200, "PATCH", path, admin_auth, NULL, "{\"roles\":[\"user\",\"editor\"]}", NULL, NULL);
    expect(400, "PATCH", path, admin_auth, NULL, "{\"roles\":\"x\",", NULL, NULL);
    expect(404, "PATCH", "/admin/users/999999", admin_auth, NULL, "{\"disabled\":true}", NULL,
           NULL);
    expect(200, "GET", "/admin/metrics", admin_auth, NULL, NULL, NULL, NULL);
    auth = bearer(d_access);
    expect(403, "GET", "/admin/users", auth, NULL, NULL, NULL, NULL);
    expect(403, "GET", "/admin/metrics", auth, NULL, NULL, NULL, NULL);
    free(auth);
    expect(401, "GET", "/admin/users", NULL, NULL, NULL, NULL, NULL);

    /* The disabled user's right password. */
    snprintf(body, sizeof body, "{\"username\":\"dora\",\"password\":\"%s\"}", pw_dora);
    expect(401, "POST", "/login", NULL, NULL, body, NULL, NULL);

    /* Logout (the refresh token), logout-all (an access token), then both are dead. */
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", d_refresh);
    expect(204, "POST", "/logout", NULL, NULL, body, NULL, NULL);
    expect(204, "POST", "/logout", NULL, NULL, "{\"refresh_token\":\"nonsense\"}", NULL, NULL);
    expect(401, "POST", "/refresh", NULL, NULL, body, NULL, NULL);
    snprintf(body, sizeof body, "{\"username\":\"bob\",\"password\":\"%s\"}", pw_bob);
    expect(200, "POST", "/login", NULL, NULL, body, NULL, NULL);
    char *bob_auth = bearer(last_access);
    expect(204, "POST", "/logout-all", bob_auth, NULL, "{}", NULL, NULL);
    /* bob's token was issued in the same second as an earlier revocation of his tokens (his
     * roles were just changed), so it is dated one second later: the logout-all still
     * revokes it (auth.revocation tests the arithmetic). */
    expect(401, "GET", "/me", bob_auth, NULL, NULL, NULL, NULL);
    expect(401, "POST", "/logout-all", "Bearer x.y.z", NULL, "{}", NULL, NULL);
    free(bob_auth);
    auth = bearer(alice_access);
    expect(200, "GET", "/me", auth, NULL, NULL, NULL, NULL);
    free(auth);

    /* Counters after all that. */
    expect(200, "GET", "/metrics", NULL, NULL, NULL, NULL, &r2);
    if (r2.body.data == NULL || strstr(r2.body.data, "jwtd_logins_total") == NULL)
        testutil_fail(fail_prefix, "/metrics has no login counter");
    response_free(&r2);
    expect(200, "GET", "/admin/metrics", admin_auth, NULL, NULL, NULL, NULL);
    free(admin_auth);

    /* The command line over the same database. */
    const char *ulist[] = {jwtd, "user", "list", "--db", db, NULL};
    run_cli(ulist, NULL, "jwtd user list");
    const char *ujson[] = {jwtd, "user", "list", "--json", "--db", db, NULL};
    run_cli(ujson, NULL, "jwtd user list --json");
    const char *klist[] = {jwtd, "keys", "list", "--db", db, NULL};
    run_cli(klist, NULL, "jwtd keys list");

    if (!testserver_stop(&ts, how, sizeof how))
        testutil_fail(fail_prefix, "the server did not stop cleanly: %s", how);

    /* Every hash and key, after the last write (add_secret skips the ones already read). */
    collect_store_secrets(db, pem, sizeof pem, kid, sizeof kid, &nhashes, &nkeys);
    if (nhashes < 4)
        testutil_fail(fail_prefix, "only %zu password hashes in the store, 4 users expected",
                      nhashes);
    if (!hs && nkeys == 0)
        testutil_fail(fail_prefix, "no private key in the store");

    size_t loglen = 0;
    char *logtext = read_file(log, &loglen);
    if (logtext == NULL || strstr(logtext, "\"level\":\"debug\"") == NULL ||
        strstr(logtext, "login failed") == NULL)
        testutil_fail(
            fail_prefix,
            "the log has no debug lines or no failed login: logging was not at debug level");
    add_hay(logtext != NULL ? logtext : "", loglen, "the server log %s", log);
    free(logtext);

    search();

    free(alice_access);
    free(a_access);
    free(a_refresh);
    free(bad_sig);
    free(bad_payload);
    free(rotated);
    free(b_refresh);
    free(c_refresh);
    free(d_access);
    free(d_refresh);
    for (size_t i = 0; i < nsecrets; i++) {
        sodium_memzero(secrets[i].data, secrets[i].len);
        free(secrets[i].data);
    }
    for (size_t i = 0; i < nhay; i++)
        free(hay[i].data);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    if (testutil_failed() != 0) {
        fprintf(stderr, "%s: %d failure(s); the log is %s\n", fail_prefix, testutil_failed(), log);
        return 1;
    }
    printf("secrets[%s]: no secret in the log, the answers or the CLI output\n", mode);
    return 0;
}
