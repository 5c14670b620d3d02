/* Runs the HTTP integration cases of jwtd serve: each tests/http/cases/NNN-name.case file
 * starts a fresh server on 127.0.0.1:0 with its own SQLite file, creates the case's users
 * with `jwtd user add`, and runs its requests with libcurl, checking status, headers and JSON
 * fields (in the manner of curl's tests/data). The case format is in tests/http/README.md.
 * With --record FILE it also writes every exchange to FILE as JSON lines (what
 * tests/openapi checks against docs/openapi.json).
 * Usage: http_driver --jwtd BIN --tmp DIR [--serve-arg ARG]... [--scan-secrets]
 *                    [--record FILE] CASE... */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "casefile.h"
#include "testserver.h"
#include "testutil.h"

#define MAX_VARS 128
#define MAX_VAR_NAME 64
#define MAX_HEADERS 64
#define MAX_BODY_BYTES (8u * 1024u * 1024u)    /* a response larger than this fails the step */
#define MAX_REQUEST_BYTES (4u * 1024u * 1024u) /* body-bytes= may ask for up to this */
#define MAX_SLEEP_S 10
#define MAX_REPEAT 1000u /* repeat= of one request section */
#define MAX_EXTRA_ARGS 32
#define MAX_SECRETS 1024   /* --scan-secrets: passwords and tokens remembered per case */
#define MIN_SECRET_BYTES 8 /* shorter strings are not searched for (false matches) */
#define MAX_LOG_SCAN (64u * 1024u * 1024u)
#define REQUEST_TIMEOUT_S 30
#define SHOW_BODY_BYTES 1500
#define SHOW_LOG_BYTES 6000
#define MAX_RECORD_REQUEST_BODY (64u * 1024u) /* --record: larger request bodies are left out */

typedef struct test_case {
    const char *path;
    char id[256];
    casefile cf;
} test_case;

typedef struct var {
    char name[MAX_VAR_NAME];
    char *value;
} var;

typedef struct header {
    char *name, *value;
} header;

typedef struct response {
    long status;
    header h[MAX_HEADERS];
    size_t nh;
    char *body;
    size_t len;
    bool too_big;
    json_t *json; /* parsed on first use */
    bool json_tried;
    char json_err[CASEFILE_MAX_WHY];
} response;

typedef struct options {
    const char *jwtd, *tmp;
    const char *serve_args[MAX_EXTRA_ARGS];
    size_t n_serve_args;
    bool scan_secrets; /* search the server's log for every password and token used */
    FILE *record;      /* --record: every exchange as a JSON line, or NULL */
} options;

/* A password or token the case used or received, searched for in the server's log. */
typedef struct secret {
    char *value;
    const char *what; /* "password", "access token", ...: printed instead of the value */
} secret;

/* One case's run: its variables, its server and its step counts. */
typedef struct run {
    const options *opt;
    const test_case *tc;
    var vars[MAX_VARS];
    size_t nvars;
    testserver server;
    char dir[4096], db[4200], log[4200];
    int step, passed, failed;
    char *why; /* the reasons the current step fails, one per line */
    size_t why_len;
    secret secrets[MAX_SECRETS];
    size_t nsecrets;
    const char *label; /* of the request step running, for --record */
} run;

/* ---- Small helpers ---- */

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL) {
        fprintf(stderr, "http_driver: out of memory\n");
        exit(2);
    }
    return d;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        fprintf(stderr, "http_driver: out of memory\n");
        exit(2);
    }
    return p;
}

/* Records one reason why the current step fails. */
static void why(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why(run *r, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    size_t l = strlen(line);
    char *n = realloc(r->why, r->why_len + l + 2);
    if (n == NULL)
        return;
    r->why = n;
    memcpy(r->why + r->why_len, line, l);
    r->why_len += l;
    r->why[r->why_len++] = '\n';
    r->why[r->why_len] = '\0';
}

/* Ends a step: ok when no reason was recorded. Returns whether it passed. */
static bool step_end(run *r, const char *label)
{
    r->step++;
    bool ok = r->why_len == 0;
    if (ok) {
        r->passed++;
        printf("ok %d - %s\n", r->step, label);
    } else {
        r->failed++;
        printf("FAIL %d - %s\n", r->step, label);
        for (char *save = NULL, *l = strtok_r(r->why, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save))
            printf("    %s\n", l);
    }
    free(r->why);
    r->why = NULL;
    r->why_len = 0;
    fflush(stdout);
    return ok;
}

/* Splits s in place on blanks into at most max words. */
static size_t split_words(char *s, char **words, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *w = strtok_r(s, " \t\r\n", &save); w && n < max;
         w = strtok_r(NULL, " \t\r\n", &save))
        words[n++] = w;
    return n;
}

/* ---- Variables ---- */

static const char *var_get(const run *r, const char *name, size_t len)
{
    for (size_t i = 0; i < r->nvars; i++)
        if (strlen(r->vars[i].name) == len && strncmp(r->vars[i].name, name, len) == 0)
            return r->vars[i].value;
    return NULL;
}

static bool var_set(run *r, const char *name, const char *value)
{
    if (strlen(name) >= MAX_VAR_NAME)
        return false;
    for (size_t i = 0; i < r->nvars; i++)
        if (strcmp(r->vars[i].name, name) == 0) {
            free(r->vars[i].value);
            r->vars[i].value = xstrdup(value);
            return true;
        }
    if (r->nvars == MAX_VARS)
        return false;
    snprintf(r->vars[r->nvars].name, MAX_VAR_NAME, "%s", name);
    r->vars[r->nvars++].value = xstrdup(value);
    return true;
}

static bool is_var_name(const char *s, size_t len)
{
    if (len == 0 || len >= MAX_VAR_NAME || !(s[0] >= 'A' && s[0] <= 'Z'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* Replaces every %NAME% (NAME: [A-Z][A-Z0-9_]*) by its value; any other '%' is literal.
 * An unknown NAME is a failure of the step (a capture that did not happen). */
static char *substitute(run *r, const char *text)
{
    size_t cap = strlen(text) + 1, len = 0;
    char *out = xmalloc(cap);
    while (*text) {
        const char *end = text[0] == '%' ? strchr(text + 1, '%') : NULL;
        if (end != NULL && is_var_name(text + 1, (size_t)(end - text - 1))) {
            size_t nl = (size_t)(end - text - 1);
            const char *v = var_get(r, text + 1, nl);
            if (v == NULL) {
                why(r, "variable %%%.*s%% is not set", (int)nl, text + 1);
                v = "";
            }
            size_t vl = strlen(v);
            cap += vl;
            char *grown = realloc(out, cap);
            if (grown == NULL) {
                free(out);
                return xstrdup("");
            }
            out = grown;
            memcpy(out + len, v, vl);
            len += vl;
            text = end + 1;
        } else {
            out[len++] = *text++;
        }
    }
    out[len] = '\0';
    return out;
}

/* A token with one character of its signature changed: the middle one, which maps to six
 * bits of the signature bytes on its own (the last character may only carry padding bits). */
static char *tamper(const char *token)
{
    char *t = xstrdup(token);
    char *dot = strrchr(t, '.');
    size_t sl = dot != NULL ? strlen(dot + 1) : 0;
    if (sl == 0)
        return t;
    char *c = dot + 1 + sl / 2;
    *c = *c == 'A' ? 'B' : 'A';
    return t;
}

/* ---- HTTP ---- */

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    response *res = user;
    return testutil_append(&res->body, &res->len, MAX_BODY_BYTES, data, size * n, &res->too_big)
               ? size * n
               : 0;
}

static void headers_clear(response *res)
{
    for (size_t i = 0; i < res->nh; i++) {
        free(res->h[i].name);
        free(res->h[i].value);
    }
    res->nh = 0;
}

/* Keeps the headers of the final response only (a 100 Continue has its own block). */
static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    response *res = user;
    size_t len = size * n;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        headers_clear(res);
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (colon == NULL || res->nh == MAX_HEADERS)
        return len;
    size_t nl = (size_t)(colon - data);
    const char *v = colon + 1, *end = data + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    res->h[res->nh].name = strndup(data, nl);
    res->h[res->nh].value = strndup(v, (size_t)(end - v));
    if (res->h[res->nh].name != NULL && res->h[res->nh].value != NULL)
        res->nh++;
    return len;
}

static void response_free(response *res)
{
    headers_clear(res);
    free(res->body);
    json_decref(res->json);
    memset(res, 0, sizeof *res);
}

static json_t *response_json(response *res)
{
    if (!res->json_tried) {
        res->json_tried = true;
        res->json = casefile_json_load(res->body, res->len, res->json_err);
    }
    return res->json;
}

/* ---- --scan-secrets: no password or token in the server's log ---- */

static void secret_add(run *r, const char *value, size_t len, const char *what)
{
    if (!r->opt->scan_secrets || value == NULL || len < MIN_SECRET_BYTES)
        return;
    for (size_t i = 0; i < r->nsecrets; i++)
        if (strlen(r->secrets[i].value) == len && memcmp(r->secrets[i].value, value, len) == 0)
            return;
    if (r->nsecrets == MAX_SECRETS)
        return;
    r->secrets[r->nsecrets].value = strndup(value, len);
    r->secrets[r->nsecrets].what = what;
    if (r->secrets[r->nsecrets].value != NULL)
        r->nsecrets++;
}

/* A token and, on its own, its signature (the part a log could show without the rest). */
static void secret_add_token(run *r, const char *token, const char *what)
{
    if (token == NULL)
        return;
    secret_add(r, token, strlen(token), what);
    const char *dot = strrchr(token, '.');
    if (dot != NULL)
        secret_add(r, dot + 1, strlen(dot + 1), what);
}

/* The secret-bearing parameters of a form body (client_secret, refresh_token, token): their
 * raw text, which is their value for what the cases send (base64url needs no escape). */
static void secrets_of_form(run *r, const char *body, size_t len)
{
    static const char *const names[] = {"client_secret=", "refresh_token=", "token="};
    for (size_t at = 0; at < len;) {
        const char *amp = memchr(body + at, '&', len - at);
        size_t end = amp != NULL ? (size_t)(amp - body) : len;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            size_t n = strlen(names[i]);
            if (end - at > n && memcmp(body + at, names[i], n) == 0)
                secret_add(r, body + at + n, end - at - n, "a form secret or token sent");
        }
        at = end + 1;
    }
}

/* The secrets of one exchange: "password", "client_secret" and "refresh_token" members of a
 * JSON request body (or a form's), the tokens and client secrets of a JSON answer and of
 * Set-Cookie, and a bearer token or Basic credentials sent. */
static void secrets_collect(run *r, const char *body, size_t body_len, const char *headers,
                            const response *res)
{
    if (!r->opt->scan_secrets)
        return;
    json_t *doc = body != NULL ? json_loadb(body, body_len, JSON_DECODE_ANY, NULL) : NULL;
    const char *keys[] = {"password", "new_password", "refresh_token", "client_secret", "token"};
    for (size_t i = 0; json_is_object(doc) && i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(doc, keys[i]);
        if (json_is_string(v))
            secret_add(r, json_string_value(v), json_string_length(v), "a password or token sent");
    }
    if (doc == NULL && body != NULL)
        secrets_of_form(r, body, body_len);
    json_decref(doc);
    for (const char *h = headers; h != NULL && *h != '\0';) {
        const char *eol = strchr(h, '\n');
        size_t n = eol != NULL ? (size_t)(eol - h) : strlen(h);
        if (n > 22 && strncasecmp(h, "Authorization: Bearer ", 22) == 0) {
            char *tok = strndup(h + 22, n - 22);
            secret_add_token(r, tok, "a bearer token sent");
            free(tok);
        }
        if (n > 21 && strncasecmp(h, "Authorization: Basic ", 21) == 0)
            secret_add(r, h + 21, n - 21, "Basic credentials sent");
        h = eol != NULL ? eol + 1 : NULL;
    }
    json_t *answer =
        res->body != NULL ? json_loadb(res->body, res->len, JSON_DECODE_ANY, NULL) : NULL;
    if (json_is_object(answer)) {
        secret_add_token(r, json_string_value(json_object_get(answer, "access_token")),
                         "an access token received");
        secret_add_token(r, json_string_value(json_object_get(answer, "refresh_token")),
                         "a refresh token received");
        secret_add_token(r, json_string_value(json_object_get(answer, "client_secret")),
                         "a client secret received");
    }
    json_decref(answer);
    for (size_t i = 0; i < res->nh; i++) {
        if (strcasecmp(res->h[i].name, "Set-Cookie") != 0)
            continue;
        const char *eq = strchr(res->h[i].value, '=');
        const char *semi = eq != NULL ? strchr(eq, ';') : NULL;
        if (eq != NULL) {
            char *v = strndup(eq + 1, semi != NULL ? (size_t)(semi - eq - 1) : strlen(eq + 1));
            secret_add_token(r, v, "a cookie received");
            free(v);
        }
    }
}

/* After the server stopped: none of the case's secrets may appear in this run's log. */
static void secrets_scan_log(run *r)
{
    FILE *f = fopen(r->server.log_path, "rb");
    if (f == NULL) {
        why(r, "cannot read the server log %s", r->server.log_path);
        step_end(r, "no password or token in the server log");
        return;
    }
    fseek(f, r->server.log_start, SEEK_SET);
    char *log = xmalloc(MAX_LOG_SCAN + 1);
    size_t n = fread(log, 1, MAX_LOG_SCAN, f);
    fclose(f);
    log[n] = '\0';
    size_t lines = 0, debug_lines = 0;
    for (const char *p = log; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    for (const char *p = log; (p = strstr(p, "\"level\":\"debug\"")) != NULL; p++)
        debug_lines++;
    if (debug_lines == 0)
        why(r, "the server log has no debug line: is the server at --log-level debug?");
    for (size_t i = 0; i < r->nsecrets; i++) {
        const char *hit = memmem(log, n, r->secrets[i].value, strlen(r->secrets[i].value));
        if (hit != NULL) {
            size_t line = 1;
            for (const char *p = log; p < hit; p++)
                line += *p == '\n';
            why(r, "%s (secret #%zu) appears in the server log, line %zu of this run",
                r->secrets[i].what, i + 1, line);
        }
    }
    free(log);
    char title[200];
    snprintf(title, sizeof title,
             "no password or token in the server log (%zu secrets, %zu lines, %zu at debug)",
             r->nsecrets, lines, debug_lines);
    step_end(r, title);
}

/* ---- --record: every exchange as one JSON line ---- */

/* Text as a JSON string, or null when it is not UTF-8 (jansson checks) or longer than max. */
static json_t *record_text(const char *text, size_t len, size_t max)
{
    json_t *s = text != NULL && len <= max ? json_stringn(text, len) : NULL;
    return s != NULL ? s : json_null();
}

/* The header lines of a request ("Name: value\n..."), as [[name, value], ...]. */
static json_t *record_request_headers(const char *lines)
{
    json_t *a = json_array();
    for (const char *h = lines; a != NULL && h != NULL && *h != '\0';) {
        const char *eol = strchr(h, '\n');
        size_t n = eol != NULL ? (size_t)(eol - h) : strlen(h);
        const char *colon = memchr(h, ':', n);
        if (colon != NULL) {
            const char *v = colon + 1, *end = h + n;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            json_array_append_new(
                a, json_pack("[s%, s%]", h, (size_t)(colon - h), v, (size_t)(end - v)));
        }
        h = eol != NULL ? eol + 1 : NULL;
    }
    return a;
}

/* One exchange: the case, the step, what was sent and the answer (status, headers in order,
 * body; a body that is not UTF-8 is null, with its length). */
static void record_exchange(run *r, const char *method, const char *target, const char *headers,
                            const char *payload, size_t payload_len, const response *res)
{
    if (r->opt->record == NULL)
        return;
    const char *q = strchr(target, '?');
    size_t path_len = q != NULL ? (size_t)(q - target) : strlen(target);
    json_t *rh = json_array();
    for (size_t i = 0; rh != NULL && i < res->nh; i++)
        json_array_append_new(rh, json_pack("[s, s]", res->h[i].name, res->h[i].value));
    json_t *line = json_pack(
        "{s:s, s:i, s:s, s:s, s:s%, s:o, s:o, s:o, s:I, s:i, s:o, s:o, s:I}", "case", r->tc->id,
        "step", r->step + 1, "label", r->label != NULL ? r->label : "", "method", method, "path",
        target, path_len, "query",
        q != NULL ? record_text(q + 1, strlen(q + 1), MAX_BODY_BYTES) : json_null(),
        "request_headers", record_request_headers(headers), "request_body",
        record_text(payload, payload_len, MAX_RECORD_REQUEST_BODY), "request_body_bytes",
        (json_int_t)payload_len, "status", (int)res->status, "headers",
        rh != NULL ? rh : json_null(), "body", record_text(res->body, res->len, MAX_BODY_BYTES),
        "body_bytes", (json_int_t)res->len);
    char *text = line != NULL ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text == NULL || fprintf(r->opt->record, "%s\n", text) < 0)
        why(r, "--record: cannot write the exchange");
    free(text);
    json_decref(line);
}

/* Sends "METHOD PATH\nHeader: v\n...\n\nbody" (already substituted). Returns false with a
 * reason recorded when no HTTP response came back. */
static bool http_request(run *r, const char *req, size_t body_bytes, response *res)
{
    char *copy = xstrdup(req);
    char *body = strstr(copy, "\n\n");
    if (body != NULL) {
        /* The blank lines that separate sections for the eye are not part of the body. */
        body[1] = '\0';
        body += 2;
        size_t bl = strlen(body);
        while (bl > 0 && body[bl - 1] == '\n')
            body[--bl] = '\0';
        if (bl == 0)
            body = NULL;
    }
    char method[16] = "", path[2048] = "";
    char *nl = strchr(copy, '\n');
    if (nl != NULL)
        *nl = '\0';
    if (sscanf(copy, "%15s %2047s", method, path) != 2 || path[0] != '/') {
        why(r, "the request must start with 'METHOD /path'");
        free(copy);
        return false;
    }
    char *fill = NULL;
    const char *payload = body;
    size_t payload_len = body != NULL ? strlen(body) : 0;
    if (body_bytes > 0) {
        /* body-bytes=N: the body text repeated to exactly N bytes (a large request). */
        const char *unit = payload_len > 0 ? body : "a";
        size_t ul = payload_len > 0 ? payload_len : 1;
        fill = xmalloc(body_bytes + 1);
        for (size_t i = 0; i < body_bytes; i++)
            fill[i] = unit[i % ul];
        fill[body_bytes] = '\0';
        payload = fill;
        payload_len = body_bytes;
    }

    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    bool has_ctype = false;
    /* The header lines as sent, for the secrets and the record: strtok_r cuts the original. */
    char *headers = xstrdup(nl != NULL ? nl + 1 : "");
    for (char *save = NULL, *h = nl != NULL ? strtok_r(nl + 1, "\n", &save) : NULL; h;
         h = strtok_r(NULL, "\n", &save)) {
        if (strncasecmp(h, "Content-Type:", 13) == 0)
            has_ctype = true;
        hl = curl_slist_append(hl, h);
    }
    /* libcurl would add a form Content-Type to any body: only what the case says is sent. */
    if (!has_ctype)
        hl = curl_slist_append(hl, "Content-Type:");
    char url[2200];
    snprintf(url, sizeof url, "%s%s", r->server.base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)REQUEST_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, res);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, res);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") == 0 && payload == NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        /* POST with no body text still sends "Content-Length: 0". */
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)payload_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload != NULL ? payload : "");
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
    secrets_collect(r, payload, payload_len, headers, res);
    if (res->status != 0)
        record_exchange(r, method, path, headers, payload, payload_len, res);
    bool ok = true;
    if (rc != CURLE_OK && res->status == 0) {
        why(r, "%s %s: no response: %s", method, path, curl_easy_strerror(rc));
        ok = false;
    } else if (res->too_big) {
        why(r, "response body larger than %u bytes", MAX_BODY_BYTES);
        ok = false;
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    free(headers);
    free(fill);
    free(copy);
    return ok;
}

/* ---- Expectations ---- */

/* The text a capture takes from a JSON value: a string as is, anything else as compact JSON. */
static char *json_text(const json_t *v)
{
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    return d != NULL ? d : xstrdup("");
}

/* Matches text against an ERE; on a match returns group 1 (or the whole match when the
 * pattern has no group) as a new string in *group when group is not NULL. */
static bool regex_match(run *r, const char *pattern, const char *text, bool multiline, char **group)
{
    regex_t re;
    int flags = REG_EXTENDED | (multiline ? REG_NEWLINE : 0);
    if (regcomp(&re, pattern, flags) != 0) {
        why(r, "bad regex '%s'", pattern);
        return false;
    }
    regmatch_t m[2];
    bool ok = regexec(&re, text, 2, m, 0) == 0;
    if (ok && group != NULL) {
        regmatch_t g = re.re_nsub >= 1 && m[1].rm_so >= 0 ? m[1] : m[0];
        *group = strndup(text + g.rm_so, (size_t)(g.rm_eo - g.rm_so));
    }
    regfree(&re);
    return ok;
}

static const char *first_header(const response *res, const char *name, size_t *from)
{
    for (size_t i = from != NULL ? *from : 0; i < res->nh; i++)
        if (strcasecmp(res->h[i].name, name) == 0) {
            if (from != NULL)
                *from = i + 1;
            return res->h[i].value;
        }
    return NULL;
}

/* "json PATH OP [OPERAND]": the checks of casefile_json_check on the answer's body. */
static void check_json(run *r, response *res, const char *check)
{
    json_t *root = response_json(res);
    char reason[CASEFILE_MAX_WHY];
    if (root == NULL)
        why(r, "body is not JSON: %s", res->json_err);
    else if (!casefile_json_check(root, check, reason))
        why(r, "%s", reason);
}

/* "header NAME OP OPERAND": = VALUE (some header is exactly it), ~ ERE (some header matches),
 * !~ ERE (none matches), ! (no header of that name). */
static void check_header(run *r, const response *res, const char *name, const char *op,
                         const char *arg)
{
    size_t from = 0;
    const char *v = first_header(res, name, &from);
    if (strcmp(op, "!") == 0) {
        if (v != NULL)
            why(r, "header %s: present (%s), expected absent", name, v);
        return;
    }
    bool negate = strcmp(op, "!~") == 0, found = false;
    if (strcmp(op, "=") != 0 && strcmp(op, "~") != 0 && !negate) {
        why(r, "unknown header operator '%s'", op);
        return;
    }
    for (; v != NULL && !found; v = first_header(res, name, &from))
        found = op[0] == '=' ? strcmp(v, arg) == 0 : regex_match(r, arg, v, false, NULL);
    if (found == negate) {
        from = 0;
        const char *seen = first_header(res, name, &from);
        why(r, "header %s: %s %s %s", name, seen != NULL ? seen : "(absent)",
            negate ? "matches" : "is not", arg);
    }
}

/* "capture VAR json PATH [~ ERE]" | "capture VAR header NAME [~ ERE]" | "capture VAR cookie NAME"
 */
static void do_capture(run *r, response *res, char *spec)
{
    char *w[3];
    char *rest = NULL;
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(spec, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        w[n++] = t;
        if (n == 3) {
            rest = save;
            break;
        }
    }
    if (n < 3 || !is_var_name(w[0], strlen(w[0]))) {
        why(r, "bad capture line");
        return;
    }
    const char *pattern = NULL;
    if (rest != NULL) {
        while (*rest == ' ')
            rest++;
        if (rest[0] == '~' && rest[1] == ' ')
            pattern = rest + 2;
        else if (*rest != '\0') {
            why(r, "bad capture line: '%s'", rest);
            return;
        }
    }
    char *value = NULL;
    if (strcmp(w[1], "json") == 0) {
        json_t *v = casefile_json_path(response_json(res), w[2]);
        if (v != NULL)
            value = json_text(v);
    } else if (strcmp(w[1], "header") == 0) {
        const char *v = first_header(res, w[2], NULL);
        if (v != NULL)
            value = xstrdup(v);
    } else if (strcmp(w[1], "cookie") == 0) {
        /* The value a Set-Cookie gives the cookie NAME ("NAME=value; attrs"). */
        size_t from = 0, nl = strlen(w[2]);
        for (const char *v = first_header(res, "Set-Cookie", &from); v && !value;
             v = first_header(res, "Set-Cookie", &from))
            if (strncmp(v, w[2], nl) == 0 && v[nl] == '=')
                value = strndup(v + nl + 1, strcspn(v + nl + 1, ";"));
    } else {
        why(r, "capture: unknown source '%s'", w[1]);
        return;
    }
    if (value == NULL) {
        why(r, "capture %s: no %s %s in the response", w[0], w[1], w[2]);
        return;
    }
    char *g = NULL;
    if (pattern != NULL && !regex_match(r, pattern, value, false, &g)) {
        why(r, "capture %s: '%s' does not match %s", w[0], value, pattern);
    } else if (!var_set(r, w[0], g != NULL ? g : value)) {
        why(r, "capture %s: too many variables", w[0]);
    }
    free(g);
    free(value);
}

/* Splits "WORD ARG OP REST" where OP is the third word (REST may hold spaces). */
static bool split_check(char *line, char **kind, char **arg, char **op, char **rest)
{
    *kind = strtok_r(line, " ", rest);
    *arg = *kind != NULL ? strtok_r(NULL, " ", rest) : NULL;
    *op = *arg != NULL ? strtok_r(NULL, " ", rest) : NULL;
    if (*rest == NULL)
        *rest = (char *)"";
    while (**rest == ' ')
        (*rest)++;
    return *op != NULL;
}

static void check_response(run *r, response *res, const char *expect)
{
    char *lines = xstrdup(expect);
    bool has_status = false;
    for (char *save = NULL, *raw = strtok_r(lines, "\n", &save); raw;
         raw = strtok_r(NULL, "\n", &save)) {
        if (raw[0] == '#' || raw[strspn(raw, " \t\r")] == '\0')
            continue;
        /* Line by line, so that a line can use what a capture above it took. */
        char *l = substitute(r, raw);
        if (strncmp(l, "status ", 7) == 0) {
            has_status = true;
            long want = strtol(l + 7, NULL, 10);
            if (res->status != want)
                why(r, "status %ld, expected %ld", res->status, want);
        } else if (strncmp(l, "capture ", 8) == 0) {
            do_capture(r, res, l + 8);
        } else if (strcmp(l, "body empty") == 0) {
            if (res->len != 0)
                why(r, "body has %zu bytes, expected none", res->len);
        } else if (strncmp(l, "body ~ ", 7) == 0 || strncmp(l, "body !~ ", 8) == 0) {
            bool negate = l[5] == '!';
            const char *pat = l + (negate ? 8 : 7);
            if (regex_match(r, pat, res->body != NULL ? res->body : "", true, NULL) == negate)
                why(r, "body %s %s", negate ? "matches" : "does not match", pat);
        } else if (strncmp(l, "json ", 5) == 0) {
            check_json(r, res, l + 5);
        } else {
            char *kind, *arg, *op, *rest;
            char *copy = xstrdup(l);
            bool split = split_check(copy, &kind, &arg, &op, &rest);
            if (split && strcmp(kind, "header") == 0)
                check_header(r, res, arg, op, rest);
            else
                why(r, "bad expect line '%s'", l);
            free(copy);
        }
        free(l);
    }
    if (!has_status)
        why(r, "the expect section has no status line");
    free(lines);
}

static void show_response(const response *res)
{
    printf("    -- response: status %ld\n", res->status);
    for (size_t i = 0; i < res->nh; i++)
        printf("    %s: %s\n", res->h[i].name, res->h[i].value);
    if (res->len > 0)
        printf("    %.*s%s\n", (int)(res->len < SHOW_BODY_BYTES ? res->len : SHOW_BODY_BYTES),
               res->body, res->len > SHOW_BODY_BYTES ? " [...]" : "");
}

/* ---- Steps ---- */

/* "--- set": lines "NAME = VALUE" or "NAME = tamper VALUE" (variables already replaced). */
static void do_set(run *r, const char *text)
{
    char *lines = substitute(r, text);
    for (char *save = NULL, *l = strtok_r(lines, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == '#')
            continue;
        char *eq = strstr(l, " = ");
        if (eq == NULL) {
            why(r, "bad set line '%s'", l);
            continue;
        }
        *eq = '\0';
        const char *value = eq + 3;
        char *made = strncmp(value, "tamper ", 7) == 0 ? tamper(value + 7) : xstrdup(value);
        if (!is_var_name(l, strlen(l)) || !var_set(r, l, made))
            why(r, "cannot set '%s'", l);
        free(made);
    }
    free(lines);
}

/* "--- request [body-bytes=N] [repeat=N] LABEL" followed by its "--- expect". With
 * repeat=N the request is sent N times, %REP% being 1..N, and every answer must pass the
 * expect; the step stops at the first repetition that fails. */
static void do_request(run *r, const casefile_section *req, const casefile_section *exp)
{
    size_t body_bytes = 0;
    unsigned long repeat = 1;
    const char *label = req->arg;
    for (;;) {
        char *end = NULL;
        if (strncmp(label, "body-bytes=", 11) == 0) {
            body_bytes = strtoul(label + 11, &end, 10);
            if (body_bytes == 0 || body_bytes > MAX_REQUEST_BYTES)
                why(r, "body-bytes must be 1..%u", MAX_REQUEST_BYTES);
        } else if (strncmp(label, "repeat=", 7) == 0) {
            repeat = strtoul(label + 7, &end, 10);
            if (repeat == 0 || repeat > MAX_REPEAT)
                why(r, "repeat must be 1..%u", MAX_REPEAT);
        } else {
            break;
        }
        label = end;
        while (*label == ' ')
            label++;
    }
    char *text = NULL;
    response res = {0};
    r->label = label;
    for (unsigned long i = 1; i <= repeat && r->why_len == 0; i++) {
        char rep[24];
        snprintf(rep, sizeof rep, "%lu", i);
        var_set(r, "REP", rep);
        free(text);
        response_free(&res);
        memset(&res, 0, sizeof res);
        text = substitute(r, req->text);
        if (r->why_len == 0 && http_request(r, text, body_bytes, &res))
            check_response(r, &res, exp->text);
        if (r->why_len != 0 && repeat > 1)
            why(r, "(repetition %lu of %lu)", i, repeat);
    }
    if (text == NULL)
        text = xstrdup("");
    char first[128] = "";
    sscanf(text, "%127[^\n]", first);
    char title[512];
    if (repeat > 1)
        snprintf(title, sizeof title, "%s%s%s (x%lu)", first, label[0] ? ": " : "", label, repeat);
    else
        snprintf(title, sizeof title, "%s%s%s", first, label[0] ? ": " : "", label);
    bool shown = r->why_len != 0;
    step_end(r, title);
    if (shown)
        show_response(&res);
    response_free(&res);
    free(text);
}

/* "--- sleep SECONDS", or "--- sleep next-second": until just after the wall clock's next
 * whole second, so that a token issued next (its iat and exp are whole seconds) gets nearly
 * all of a 1 s TTL. */
static void do_sleep(run *r, const casefile_section *s)
{
    struct timespec t = {0, 0};
    if (strcmp(s->arg, "next-second") == 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        t.tv_nsec = 1000000000L - now.tv_nsec + 20000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec = 1;
            t.tv_nsec -= 1000000000L;
        }
    } else {
        char *end = NULL;
        double secs = strtod(s->arg, &end);
        if (end == s->arg || *end != '\0' || secs <= 0 || secs > MAX_SLEEP_S)
            why(r, "sleep takes next-second or 0 < seconds <= %d", MAX_SLEEP_S);
        else
            t = (struct timespec){(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    }
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
    char title[300];
    snprintf(title, sizeof title, "sleep %s", s->arg);
    step_end(r, title);
}

/* "--- user NAME ROLE": `jwtd user add NAME --password-stdin --role ROLE --db DB`, the
 * section's text (its first line) as the password; "--- client NAME ROLE" likewise
 * `jwtd client add NAME --secret-stdin --role ROLE`, the first line as the client secret. */
static bool do_user(run *r, const casefile_section *s)
{
    bool client = strcmp(s->name, "client") == 0;
    const char *kind = client ? "client" : "user";
    char arg[256], *w[3];
    snprintf(arg, sizeof arg, "%s", s->arg);
    size_t n = split_words(arg, w, 3);
    char line[1024] = "";
    sscanf(s->text, "%1023[^\n]", line);
    if (n != 2)
        why(r, "the %s section takes NAME ROLE", kind);
    secret_add(r, line, strlen(line), client ? "a client secret" : "a user's password");
    char out[4096], input[1100];
    int st = 0;
    if (n == 2 && client) {
        snprintf(input, sizeof input, "%s\n", line);
        const char *argv[] = {r->opt->jwtd, "client", "add",  w[0],  "--secret-stdin",
                              "--role",     w[1],     "--db", r->db, NULL};
        st = testserver_run(argv, input, out, sizeof out);
    } else if (n == 2) {
        st = testutil_user_add(r->opt->jwtd, r->db, w[0], w[1], line, out, sizeof out);
    }
    if (n == 2 && st != 0)
        why(r, "jwtd %s add %s exited with %d: %s", kind, w[0], st, out);
    char title[300];
    snprintf(title, sizeof title, "jwtd %s add %s --role %s", kind, n > 0 ? w[0] : "?",
             n > 1 ? w[1] : "?");
    return step_end(r, title);
}

static bool start_server(run *r)
{
    char *args[MAX_EXTRA_ARGS * 2];
    size_t n = 0;
    for (size_t i = 0; i < r->opt->n_serve_args; i++)
        args[n++] = (char *)r->opt->serve_args[i];
    char *serve_text = NULL;
    for (size_t i = 0; i < r->tc->cf.n && serve_text == NULL; i++)
        if (strcmp(r->tc->cf.sec[i].name, "serve") == 0) {
            serve_text = substitute(r, r->tc->cf.sec[i].text);
            for (char *save = NULL, *l = strtok_r(serve_text, "\n", &save); l;
                 l = strtok_r(NULL, "\n", &save))
                if (l[0] != '#')
                    n += split_words(l, args + n, MAX_EXTRA_ARGS * 2 - n);
        }
    char err[512] = "";
    /* A serve section that names an unset variable has already failed this step. */
    bool ok = r->why_len == 0 && testserver_start(&r->server, r->opt->jwtd, r->db, r->log,
                                                  (const char *const *)args, n, err, sizeof err);
    if (!ok && err[0] != '\0')
        why(r, "%s", err);
    char title[128];
    snprintf(title, sizeof title, "jwtd serve is listening (port %d)", r->server.port);
    step_end(r, title);
    free(serve_text);
    return ok;
}

static void run_case(const options *opt, const char *path, int *passed, int *failed)
{
    test_case *tc = calloc(1, sizeof *tc);
    run *r = calloc(1, sizeof *r);
    if (tc == NULL || r == NULL) {
        fprintf(stderr, "http_driver: out of memory\n");
        exit(2);
    }
    tc->path = path;
    const char *base = strrchr(path, '/');
    snprintf(tc->id, sizeof tc->id, "%s", base != NULL ? base + 1 : path);
    char *dot = strstr(tc->id, ".case");
    if (dot != NULL)
        *dot = '\0';
    r->opt = opt;
    r->tc = tc;
    printf("# %s\n", tc->id);
    char reason[CASEFILE_MAX_WHY];
    if (casefile_load(&tc->cf, path, reason) != 0) {
        printf("FAIL %s\n", reason);
        (*failed)++;
        casefile_free(&tc->cf);
        free(tc);
        free(r);
        return;
    }
    /* A fresh directory: this case's SQLite file and the server's log. */
    snprintf(r->dir, sizeof r->dir, "%s/%s", opt->tmp, tc->id);
    testutil_remove_tree(r->dir);
    mkdir(opt->tmp, 0700);
    if (mkdir(r->dir, 0700) != 0)
        why(r, "cannot create %s: %s", r->dir, strerror(errno));
    snprintf(r->db, sizeof r->db, "%s/jwtd.db", r->dir);
    snprintf(r->log, sizeof r->log, "%s/server.log", r->dir);

    var_set(r, "DB", r->db);
    var_set(r, "TMP", r->dir);
    /* Users first, on the new database; then the server. A failed setup step ends the case. */
    bool setup_ok = r->why_len == 0 || step_end(r, "case directory");
    for (size_t i = 0; i < tc->cf.n && setup_ok; i++)
        if (strcmp(tc->cf.sec[i].name, "user") == 0 || strcmp(tc->cf.sec[i].name, "client") == 0)
            setup_ok = do_user(r, &tc->cf.sec[i]);
    bool up = setup_ok && start_server(r);
    if (up) {
        var_set(r, "BASE", r->server.base);
        char port[16];
        snprintf(port, sizeof port, "%d", r->server.port);
        var_set(r, "PORT", port);
    }
    for (size_t i = 0; up && i < tc->cf.n; i++) {
        const casefile_section *s = &tc->cf.sec[i];
        if (strcmp(s->name, "request") == 0) {
            const casefile_section *e =
                i + 1 < tc->cf.n && strcmp(tc->cf.sec[i + 1].name, "expect") == 0
                    ? &tc->cf.sec[i + 1]
                    : NULL;
            if (e == NULL) {
                why(r, "line %d: a request must be followed by an expect section", s->line);
                step_end(r, "request");
            } else {
                do_request(r, s, e);
                i++;
            }
        } else if (strcmp(s->name, "set") == 0) {
            do_set(r, s->text);
            step_end(r, "set");
        } else if (strcmp(s->name, "sleep") == 0) {
            do_sleep(r, s);
        } else if (strcmp(s->name, "expect") == 0) {
            why(r, "line %d: an expect section without a request before it", s->line);
            step_end(r, "expect");
        } else if (strcmp(s->name, "info") != 0 && strcmp(s->name, "serve") != 0 &&
                   strcmp(s->name, "user") != 0 && strcmp(s->name, "client") != 0) {
            why(r, "line %d: unknown section '%s'", s->line, s->name);
            step_end(r, s->name);
        }
    }
    if (r->server.pid != 0) {
        char how[160];
        if (!testserver_stop(&r->server, how, sizeof how))
            why(r, "SIGTERM: %s", how);
        step_end(r, "jwtd serve stops cleanly on SIGTERM");
        if (r->opt->scan_secrets)
            secrets_scan_log(r);
    }
    if (r->step == 0)
        r->failed++;
    if (r->failed > 0 && r->server.log_path[0] != '\0') {
        printf("# server log (%s), last %d bytes:\n", r->log, SHOW_LOG_BYTES);
        fflush(stdout);
        testserver_print_log(&r->server, stdout, SHOW_LOG_BYTES);
    }
    if (opt->record != NULL) {
        /* The last line says the case ran to its end, and how: a record without it (a driver
         * that died) or with failures is not a record of what the cases expect. */
        json_t *end = json_pack("{s:s, s:b, s:i, s:i}", "case", tc->id, "end", 1, "passed",
                                r->passed, "failed", r->failed);
        char *text = end != NULL ? json_dumps(end, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (text == NULL || fprintf(opt->record, "%s\n", text) < 0 || fflush(opt->record) != 0) {
            printf("FAIL --record: cannot write the end of %s\n", tc->id);
            (*failed)++;
        }
        free(text);
        json_decref(end);
    }
    *passed += r->passed;
    *failed += r->failed;
    for (size_t i = 0; i < r->nvars; i++)
        free(r->vars[i].value);
    for (size_t i = 0; i < r->nsecrets; i++)
        free(r->secrets[i].value);
    casefile_free(&tc->cf);
    free(tc);
    free(r);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: http_driver --jwtd BIN --tmp DIR [--serve-arg ARG]... [--scan-secrets]\n"
            "                   [--record FILE] CASE...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    options opt = {0};
    const char *record = NULL;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--scan-secrets") == 0) {
            opt.scan_secrets = true;
            i--; /* takes no value */
        } else if (strcmp(argv[i], "--jwtd") == 0)
            opt.jwtd = argv[i + 1];
        else if (strcmp(argv[i], "--tmp") == 0)
            opt.tmp = argv[i + 1];
        else if (strcmp(argv[i], "--record") == 0)
            record = argv[i + 1];
        else if (strcmp(argv[i], "--serve-arg") == 0 && opt.n_serve_args < MAX_EXTRA_ARGS)
            opt.serve_args[opt.n_serve_args++] = argv[i + 1];
        else
            usage();
    }
    if (opt.jwtd == NULL || opt.tmp == NULL || i >= argc)
        usage();
    /* Written anew for this run: a record is never what an earlier run saw. */
    if (record != NULL && (opt.record = fopen(record, "w")) == NULL) {
        fprintf(stderr, "http_driver: cannot write %s: %s\n", record, strerror(errno));
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 2;
    int passed = 0, failed = 0;
    for (; i < argc; i++)
        run_case(&opt, argv[i], &passed, &failed);
    curl_global_cleanup();
    if (opt.record != NULL && fclose(opt.record) != 0) {
        printf("FAIL --record: cannot write %s\n", record);
        failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
