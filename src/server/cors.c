/* CORS for browser apps on other origins (--cors-origins): the list of exact origins, checked
 * at start-up, and what the answers carry. A request whose Origin is listed gets
 * Access-Control-Allow-Origin (that origin) and Access-Control-Allow-Credentials; a preflight
 * OPTIONS from it is answered 204 with the methods of its path; every answer says
 * Vary: Origin while CORS is on. An unlisted origin gets no CORS header at all, so the
 * browser keeps the answer from the page. Off (no origins): nothing here runs. */
#include <stdio.h>
#include <string.h>

#include "cors.h"

#define CORS_MAX_AGE "600" /* seconds a browser may reuse a preflight's answer */

/* The host of an origin: a DNS name (a-z 0-9 . -, lower case as browsers send it) or an
 * IPv6 literal in brackets. */
static bool host_valid(const char *h, size_t n)
{
    if (n == 0)
        return false;
    bool v6 = h[0] == '[';
    if (v6 && (n < 3 || h[n - 1] != ']'))
        return false;
    for (size_t i = v6 ? 1 : 0; i < (v6 ? n - 1 : n); i++) {
        char c = h[i];
        bool ok = v6 ? (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.'
                     : (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* Why item (n bytes) is not an origin as a browser serialises it (RFC 6454 6.2), or NULL. */
static const char *origin_problem(const char *item, size_t n)
{
    static const char http[] = "http://", https[] = "https://";
    size_t skip = 0;
    if (n == 1 && item[0] == '*')
        return "no wildcard: credentials are allowed, so every origin is listed exactly";
    if (n > SRV_MAX_ORIGIN)
        return "too long";
    if (n > sizeof https - 1 && memcmp(item, https, sizeof https - 1) == 0)
        skip = sizeof https - 1;
    else if (n > sizeof http - 1 && memcmp(item, http, sizeof http - 1) == 0)
        skip = sizeof http - 1;
    else
        return "it must start with http:// or https:// (lower case)";
    const char *host = item + skip, *end = item + n;
    if (memchr(host, '/', (size_t)(end - host)) != NULL)
        return "an origin has no path, not even a trailing /";
    const char *colon = NULL;
    for (const char *p = end; p > host; p--)
        if (p[-1] == ':' || p[-1] == ']') {
            colon = p[-1] == ':' ? p - 1 : NULL;
            break;
        }
    if (colon != NULL) {
        size_t digits = (size_t)(end - colon - 1);
        long port = 0;
        if (digits == 0 || digits > 5 || colon[1] == '0')
            return "the port must be 1 to 65535";
        for (const char *p = colon + 1; p < end; p++) {
            if (*p < '0' || *p > '9')
                return "the port must be 1 to 65535";
            port = port * 10 + (*p - '0');
        }
        if (port > 65535)
            return "the port must be 1 to 65535";
        if ((skip == sizeof http - 1 && port == 80) || (skip == sizeof https - 1 && port == 443))
            return "browsers send the scheme's default port without it: leave it out";
        end = colon;
    }
    if (!host_valid(host, (size_t)(end - host)))
        return "the host must be a lower-case name (a-z 0-9 . -) or a [IPv6] address";
    return NULL;
}

int srv_origins_parse(const char *text, srv_origins *out, char *bad, size_t badlen,
                      const char **why)
{
    out->n = 0;
    for (const char *p = text; *p != '\0';) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        size_t n = strcspn(p, ", \t");
        *why = out->n == SRV_MAX_ORIGINS ? "too many origins" : origin_problem(p, n);
        if (*why != NULL) {
            snprintf(bad, badlen, "%.*s", (int)(n < 200 ? n : 200), p);
            return -1;
        }
        memcpy(out->v[out->n], p, n);
        out->v[out->n][n] = '\0';
        out->len[out->n++] = n;
        p += n;
    }
    return 0;
}

/* The listed origin the request comes from (one Origin header, exactly listed), or NULL. */
static const char *listed_origin(const srv_app *app, const http_request *req)
{
    size_t len = 0, count = 0;
    const char *origin = http_header(req, "origin", &len, &count);
    if (origin == NULL || count != 1)
        return NULL;
    for (size_t i = 0; i < app->origins.n; i++)
        if (app->origins.len[i] == len && memcmp(app->origins.v[i], origin, len) == 0)
            return app->origins.v[i];
    return NULL;
}

bool srv_cors_is_preflight(const srv_app *app, const http_request *req)
{
    return app->origins.n > 0 && req->method_len == 7 && memcmp(req->method, "OPTIONS", 7) == 0 &&
           http_header(req, "access-control-request-method", NULL, NULL) != NULL &&
           listed_origin(app, req) != NULL;
}

void srv_cors_preflight(http_response *resp, const char *methods)
{
    http_response_json(resp, 204, NULL);
    http_response_header(resp, "Access-Control-Allow-Methods", methods);
    http_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    http_response_header(resp, "Access-Control-Max-Age", CORS_MAX_AGE);
}

void srv_cors_decorate(const srv_app *app, const http_request *req, http_response *resp)
{
    if (app->origins.n == 0)
        return;
    /* Caches must not hand one origin's answer to another. */
    http_response_header_static(resp, "Vary", "Origin");
    const char *origin = listed_origin(app, req);
    if (origin == NULL)
        return;
    http_response_header(resp, "Access-Control-Allow-Origin", origin);
    http_response_header_static(resp, "Access-Control-Allow-Credentials", "true");
}
