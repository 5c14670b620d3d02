/* Parsers for the Authorization header, the refresh cookie, the Content-Type, query
 * parameters and static file paths. Strict about what a token may contain, liberal about
 * the whitespace around it. */
#include <string.h>
#include <strings.h>

#include "reqparse.h"
#include "server.h"

/* The b64token characters of RFC 6750 2.1 (but '='): A-Z a-z 0-9 - . _ ~ + /, one entry
 * per byte, since every GET /me runs its whole token through this (a load per byte instead
 * of a chain of comparisons). tests/serverunit/test_reqparse.c checks every byte. */
static const unsigned char TOKEN_CHARS[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00-0f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10-1f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, /* 20-2f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 30-3f */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 40-4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, /* 50-5f */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60-6f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, /* 70-7f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 80-8f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 90-9f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* a0-af */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* b0-bf */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* c0-cf */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* d0-df */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* e0-ef */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* f0-ff */
};

static bool is_token_char(char c) { return TOKEN_CHARS[(unsigned char)c] != 0; }

static bool is_ws(char c) { return c == ' ' || c == '\t'; }

bool srv_is_b64token(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && is_token_char(s[i]))
        i++;
    if (i == 0)
        return false;
    while (i < len && s[i] == '=')
        i++;
    return i == len;
}

bool srv_bearer_span(const char *value, size_t len, const char **tok, size_t *tok_len)
{
    static const char scheme[] = "Bearer";
    const size_t n = sizeof scheme - 1;
    /* RFC 6750 2.1: credentials = "Bearer" 1*SP b64token. Spaces only between the scheme
     * and the token (a tab is not SP); trailing spaces or tabs are the field's optional
     * white space (RFC 9110 5.5), which the HTTP parser may or may not have trimmed. */
    if (len <= n || strncasecmp(value, scheme, n) != 0 || value[n] != ' ')
        return false;
    size_t start = n;
    while (start < len && value[start] == ' ')
        start++;
    size_t end = len;
    while (end > start && is_ws(value[end - 1]))
        end--;
    *tok = value + start;
    *tok_len = end - start;
    return true;
}

bool srv_parse_bearer(const char *value, size_t len, const char **tok, size_t *tok_len)
{
    const char *t = NULL;
    size_t n = 0;
    if (!srv_bearer_span(value, len, &t, &n) || !srv_is_b64token(t, n))
        return false;
    *tok = t;
    *tok_len = n;
    return true;
}

bool srv_cookie_find(const char *header, size_t len, const char *name, const char **val,
                     size_t *val_len)
{
    size_t name_len = strlen(name), i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && header[end] != ';')
            end++;
        size_t a = i, b = end;
        while (a < b && is_ws(header[a]))
            a++;
        while (b > a && is_ws(header[b - 1]))
            b--;
        if (b - a > name_len && memcmp(header + a, name, name_len) == 0 &&
            header[a + name_len] == '=') {
            a += name_len + 1;
            if (b - a >= 2 && header[a] == '"' && header[b - 1] == '"') {
                a++;
                b--;
            }
            *val = header + a;
            *val_len = b - a;
            return true;
        }
        i = end + 1;
    }
    return false;
}

bool srv_is_content_type(const char *value, size_t len, const char *type)
{
    const size_t n = strlen(type);
    size_t i = 0;
    while (i < len && is_ws(value[i]))
        i++;
    if (len - i < n || strncasecmp(value + i, type, n) != 0)
        return false;
    i += n;
    while (i < len && is_ws(value[i]))
        i++;
    return i == len || value[i] == ';';
}

bool srv_is_json_content_type(const char *value, size_t len)
{
    return srv_is_content_type(value, len, "application/json");
}

int srv_query_value(const char *query, size_t len, const char *key, const char **val,
                    size_t *val_len)
{
    size_t key_len = strlen(key), i = 0;
    int found = 0;
    while (query != NULL && i < len) {
        size_t end = i;
        while (end < len && query[end] != '&')
            end++;
        if (end - i >= key_len && memcmp(query + i, key, key_len) == 0 &&
            (end - i == key_len || query[i + key_len] == '=')) {
            if (found || end - i <= key_len + 1)
                return -1; /* given twice, or without a value */
            *val = query + i + key_len + 1;
            *val_len = end - i - key_len - 1;
            found = 1;
        }
        i = end + 1;
    }
    return found;
}

int srv_query_int(const char *query, size_t len, const char *key, int64_t min, int64_t max,
                  int64_t *out)
{
    const char *p = NULL;
    size_t n = 0;
    int found = srv_query_value(query, len, key, &p, &n);
    if (found <= 0)
        return found;
    if (n > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 1;
}

static const struct {
    const char *ext;
    const char *type;
} web_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

const char *srv_web_content_type(const char *path, size_t len)
{
    if (len < 2 || len > SRV_MAX_WEB_PATH || path[0] != '/')
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = path[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-' || c == '/';
        if (!ok)
            return NULL;
        /* Every segment starts after a '/': no empty segment, none starting with '.' (so
         * no "..", and no ".git" or other hidden files). */
        if (c == '/' && (i + 1 == len || path[i + 1] == '/' || path[i + 1] == '.'))
            return NULL;
    }
    for (size_t i = 0; i < sizeof web_types / sizeof web_types[0]; i++) {
        size_t n = strlen(web_types[i].ext);
        if (len > n && strncmp(path + len - n, web_types[i].ext, n) == 0)
            return web_types[i].type;
    }
    return NULL;
}
