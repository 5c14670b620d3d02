/* Request headers as handlers read them (http_header): from the live h2o request on an
 * event loop, from a worker job's private copy, or, for requests made outside the adapter
 * (impl NULL: the fuzz harness of tests/fuzz), from the plain array http_request.headers. */
#include <string.h>

#include "http/http_internal.h"

/* Called with each value of the header asked for, in the order received; false stops. */
typedef bool (*value_fn)(void *ctx, const char *value, size_t len);

/* Plain headers: names in any case, compared byte by byte without locale. */
static bool plain_name_is(const char *want, size_t want_len, const char *name, size_t name_len)
{
    if (want_len != name_len)
        return false;
    for (size_t i = 0; i < name_len; i++)
        if (h2o_tolower((unsigned char)want[i]) != h2o_tolower((unsigned char)name[i]))
            return false;
    return true;
}

/* Every header called name, from whichever source the request has. h2o keeps Host apart
 * from the other headers (its authority): with_host offers it first. h2o_lcstris lowercases
 * its first argument and compares it with the second, which is lowercase: h2o stores header
 * names that way (and the worker copies keep them). */
static void each_value(const http_request *req, const char *name, bool with_host, value_fn fn,
                       void *ctx)
{
    size_t name_len = strlen(name);
    const http_req_impl *impl = req->impl;
    if (impl == NULL) {
        for (size_t i = 0; i < req->nheaders && req->headers != NULL; i++) {
            const http_req_header *h = &req->headers[i];
            if (h->name != NULL && plain_name_is(name, name_len, h->name, h->name_len) &&
                !fn(ctx, h->value != NULL ? h->value : "", h->value != NULL ? h->value_len : 0))
                return;
        }
    } else if (impl->kind == HTTP_REQ_H2O) {
        const h2o_req_t *r = impl->h2o;
        if (with_host && r->input.authority.base != NULL &&
            h2o_lcstris(name, name_len, H2O_STRLIT("host")) &&
            !fn(ctx, r->input.authority.base, r->input.authority.len))
            return;
        for (size_t i = 0; i < r->headers.size; i++) {
            const h2o_header_t *h = &r->headers.entries[i];
            if (h2o_lcstris(name, name_len, h->name->base, h->name->len) &&
                !fn(ctx, h->value.base, h->value.len))
                return;
        }
    } else {
        for (size_t i = 0; i < impl->nheaders; i++) {
            const http_hdr_copy *h = &impl->headers[i];
            if (h2o_lcstris(name, name_len, h->name, h->name_len) &&
                !fn(ctx, h->value, h->value_len))
                return;
        }
    }
}

/* http_header: keeps the first value and counts them all (or stops at the first when the
 * caller does not want the count). */
typedef struct first_match {
    bool want_count;
    const char *found;
    size_t found_len, n;
} first_match;

static bool take_first(void *ctx, const char *value, size_t len)
{
    first_match *m = ctx;
    if (m->n++ == 0) {
        m->found = value;
        m->found_len = len;
    }
    return m->want_count;
}

const char *http_header(const http_request *req, const char *name, size_t *len, size_t *count)
{
    if (count != NULL)
        *count = 0;
    if (req == NULL || name == NULL)
        return NULL;
    first_match m = {.want_count = count != NULL};
    each_value(req, name, true, take_first, &m);
    if (count != NULL)
        *count = m.n;
    if (m.found != NULL && len != NULL)
        *len = m.found_len;
    return m.found;
}

/* http_header_join: the values so far, ", " between them, in a bounded buffer. */
typedef struct joined {
    char *buf;
    size_t size, used;
    bool fits;
} joined;

static bool join_add(void *ctx, const char *value, size_t n)
{
    joined *j = ctx;
    size_t sep = j->used > 0 ? 2 : 0;
    if (j->used + sep + n + 1 > j->size) {
        j->fits = false;
        return false;
    }
    if (sep != 0)
        memcpy(j->buf + j->used, ", ", 2);
    memcpy(j->buf + j->used + sep, value, n);
    j->used += sep + n;
    j->buf[j->used] = '\0';
    return true;
}

long http_header_join(const http_request *req, const char *name, char *buf, size_t size)
{
    if (req == NULL || name == NULL || buf == NULL || size == 0)
        return -1;
    buf[0] = '\0';
    joined j = {.buf = buf, .size = size, .fits = true};
    each_value(req, name, false, join_add, &j);
    return j.fits ? (long)j.used : -1;
}
