/* The HTTP side of libjwtd-rs: one bounded GET with libcurl (timeouts, a body cap, redirects
 * only to the scheme of the URL, no signals) and the Cache-Control lifetime of its answer.
 * Failure reasons are static texts: never the URL (it may carry credentials) or the body. */
#include <ctype.h>
#include <curl/curl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rs_internal.h"

/* A body being received, capped at max. */
typedef struct rs_sink {
    rs_response *resp;
    size_t cap, max;
    bool too_large;
} rs_sink;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

/* curl_global_init, once per process (libcurl asks for it before any handle exists). */
static void curl_init_once(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

bool rs_url_allowed(const char *url, bool allow_http)
{
    if (url == NULL || strlen(url) >= JWTD_RS_MAX_URL_BYTES)
        return false;
    if (strncasecmp(url, "https://", 8) == 0)
        return url[8] != '\0';
    return allow_http && strncasecmp(url, "http://", 7) == 0 && url[7] != '\0';
}

/* libcurl's write callback: appends to the body, or stops the transfer past the cap. */
static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    rs_sink *s = arg;
    size_t len = size * n;
    if (len > s->max - s->resp->len) {
        s->too_large = true;
        return 0;
    }
    if (s->resp->len + len + 1 > s->cap) {
        size_t cap = s->cap * 2 + len + 1;
        if (cap > s->max + 1)
            cap = s->max + 1;
        char *nb = realloc(s->resp->body, cap);
        if (nb == NULL)
            return 0;
        s->resp->body = nb;
        s->cap = cap;
    }
    memcpy(s->resp->body + s->resp->len, data, len);
    s->resp->len += len;
    s->resp->body[s->resp->len] = '\0';
    return len;
}

/* libcurl's header callback: keeps the Cache-Control of the last response (after redirects). */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    rs_response *resp = arg;
    size_t len = size * n;
    static const char name[] = "cache-control:";
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
        resp->cache_control[0] = '\0';
    if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t vlen = len - (sizeof name - 1);
        while (vlen > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
            vlen--;
        if (vlen >= sizeof resp->cache_control)
            vlen = sizeof resp->cache_control - 1;
        memcpy(resp->cache_control, v, vlen);
        resp->cache_control[vlen] = '\0';
    }
    return len;
}

/* Sets the options of one GET; false when libcurl refused one. */
static bool set_options(CURL *h, const char *url, const jwtd_rs_jwks_options *o, rs_sink *sink)
{
    bool https = strncasecmp(url, "https://", 8) == 0;
    const char *protocols = https ? "https" : "http";
    bool ok = true;
    ok = ok && curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_MAXREDIRS, JWTD_RS_MAX_REDIRECTS) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink->max) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_USERAGENT, "libjwtd-rs/" JWTD_VERSION) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_WRITEDATA, sink) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
    ok = ok && curl_easy_setopt(h, CURLOPT_HEADERDATA, sink->resp) == CURLE_OK;
    return ok;
}

jwtd_rs_err rs_fetch(const char *url, const jwtd_rs_jwks_options *o, size_t max_body,
                     rs_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->reason = "";
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        resp->reason = "libcurl could not be initialized";
        return JWTD_RS_ERR_FETCH;
    }
    CURL *h = curl_easy_init();
    if (h == NULL) {
        resp->reason = "out of memory";
        return JWTD_RS_ERR_NO_MEMORY;
    }
    rs_sink sink = {.resp = resp, .cap = 0, .max = max_body, .too_large = false};
    jwtd_rs_err err = JWTD_RS_OK;
    if (!set_options(h, url, o, &sink)) {
        resp->reason = "libcurl refused an option";
        err = JWTD_RS_ERR_FETCH;
    } else {
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
            resp->reason = "the body is larger than the limit";
            err = JWTD_RS_ERR_TOO_LARGE;
        } else if (rc != CURLE_OK) {
            resp->reason = curl_easy_strerror(rc); /* static text, no URL */
            err = rc == CURLE_OUT_OF_MEMORY ? JWTD_RS_ERR_NO_MEMORY : JWTD_RS_ERR_FETCH;
        } else if (status != 200) {
            resp->reason = "the server answered with a status other than 200";
            err = JWTD_RS_ERR_FETCH;
        } else if (resp->body == NULL) {
            resp->reason = "the body is empty";
            err = JWTD_RS_ERR_FETCH;
        }
    }
    curl_easy_cleanup(h);
    if (err != JWTD_RS_OK) {
        free(resp->body);
        resp->body = NULL;
        resp->len = 0;
    }
    return err;
}

/* The seconds of "max-age=N" at p (after the '='), saturating; false if not digits. */
static bool parse_seconds(const char *p, unsigned long *out)
{
    if (!isdigit((unsigned char)*p))
        return false;
    unsigned long v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        v = v > (ULONG_MAX - d) / 10 ? ULONG_MAX : v * 10 + d;
    }
    *out = v;
    return *p == '\0' || *p == ',' || *p == ' ' || *p == '\t' || *p == ';';
}

unsigned rs_ttl_from_cache_control(const char *value, const jwtd_rs_jwks_options *o)
{
    unsigned long ttl = o->default_ttl;
    bool revalidate = false;
    const char *p = value;
    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        unsigned long secs = 0;
        if (strncasecmp(p, "no-store", 8) == 0 || strncasecmp(p, "no-cache", 8) == 0)
            revalidate = true;
        else if (strncasecmp(p, "max-age=", 8) == 0 && parse_seconds(p + 8, &secs))
            ttl = secs;
        p = strchr(p, ',');
    }
    /* No cache is allowed to keep it: kept for the shortest time we allow, since refetching
     * on every request would let any client make us hammer the issuer. */
    if (revalidate)
        ttl = o->min_ttl;
    if (ttl < o->min_ttl)
        ttl = o->min_ttl;
    if (ttl > o->max_ttl)
        ttl = o->max_ttl;
    return (unsigned)ttl;
}
