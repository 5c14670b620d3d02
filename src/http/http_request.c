/* Request headers as handlers read them (http_header): from the live h2o request on an
 * event loop, from a worker job's private copy, or, for requests made outside the adapter
 * (impl NULL: the fuzz harness of tests/fuzz), from the plain array http_request.headers. */
#include <string.h>

#include "http/http_internal.h"

/* Counts the headers called name in one source and keeps the first; stops at the first
 * when the caller does not want the count. */
typedef struct header_match {
    const char *name;
    size_t name_len;
    bool want_count;
    const char *found;
    size_t found_len, n;
} header_match;

/* true when the search may stop. */
static bool header_offer(header_match *m, const char *name, size_t name_len, const char *value,
                         size_t value_len)
{
    /* h2o_lcstris lowercases its first argument and compares it with the second, which is
     * lowercase: h2o stores header names that way (and the worker copies keep them). */
    if (!h2o_lcstris(m->name, m->name_len, name, name_len))
        return false;
    if (m->n++ == 0) {
        m->found = value;
        m->found_len = value_len;
    }
    return !m->want_count;
}

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

const char *http_header(const http_request *req, const char *name, size_t *len, size_t *count)
{
    if (count != NULL)
        *count = 0;
    if (req == NULL || name == NULL)
        return NULL;
    header_match m = {.name = name, .name_len = strlen(name), .want_count = count != NULL};
    const http_req_impl *impl = req->impl;
    if (impl == NULL) {
        for (size_t i = 0; i < req->nheaders && req->headers != NULL; i++) {
            const http_req_header *h = &req->headers[i];
            if (h->name == NULL || !plain_name_is(m.name, m.name_len, h->name, h->name_len))
                continue;
            if (m.n++ == 0) {
                m.found = h->value != NULL ? h->value : "";
                m.found_len = h->value != NULL ? h->value_len : 0;
            }
            if (!m.want_count)
                break;
        }
    } else if (impl->kind == HTTP_REQ_H2O) {
        const h2o_req_t *r = impl->h2o;
        if (r->input.authority.base != NULL && h2o_lcstris(name, m.name_len, H2O_STRLIT("host"))) {
            m.found = r->input.authority.base; /* h2o keeps Host apart from the other headers */
            m.found_len = r->input.authority.len;
            m.n = 1;
        }
        for (size_t i = 0; i < r->headers.size; i++) {
            const h2o_header_t *h = &r->headers.entries[i];
            if (header_offer(&m, h->name->base, h->name->len, h->value.base, h->value.len))
                break;
        }
    } else {
        for (size_t i = 0; i < impl->nheaders; i++) {
            const http_hdr_copy *h = &impl->headers[i];
            if (header_offer(&m, h->name, h->name_len, h->value, h->value_len))
                break;
        }
    }
    if (count != NULL)
        *count = m.n;
    if (m.found != NULL && len != NULL)
        *len = m.found_len;
    return m.found;
}

/* Appends one value to the joined list; false when it does not fit. */
static bool join_add(char *buf, size_t size, size_t *used, const char *v, size_t n)
{
    size_t sep = *used > 0 ? 2 : 0;
    if (*used + sep + n + 1 > size)
        return false;
    if (sep != 0)
        memcpy(buf + *used, ", ", 2);
    memcpy(buf + *used + sep, v, n);
    *used += sep + n;
    buf[*used] = '\0';
    return true;
}

long http_header_join(const http_request *req, const char *name, char *buf, size_t size)
{
    if (req == NULL || name == NULL || buf == NULL || size == 0)
        return -1;
    buf[0] = '\0';
    size_t used = 0, name_len = strlen(name);
    bool ok = true;
    const http_req_impl *impl = req->impl;
    if (impl == NULL) {
        for (size_t i = 0; ok && i < req->nheaders && req->headers != NULL; i++) {
            const http_req_header *h = &req->headers[i];
            if (h->name != NULL && plain_name_is(name, name_len, h->name, h->name_len))
                ok = join_add(buf, size, &used, h->value != NULL ? h->value : "",
                              h->value != NULL ? h->value_len : 0);
        }
    } else if (impl->kind == HTTP_REQ_H2O) {
        const h2o_req_t *r = impl->h2o;
        for (size_t i = 0; ok && i < r->headers.size; i++) {
            const h2o_header_t *h = &r->headers.entries[i];
            if (h2o_lcstris(name, name_len, h->name->base, h->name->len))
                ok = join_add(buf, size, &used, h->value.base, h->value.len);
        }
    } else {
        for (size_t i = 0; ok && i < impl->nheaders; i++) {
            const http_hdr_copy *h = &impl->headers[i];
            if (h2o_lcstris(name, name_len, h->name, h->name_len))
                ok = join_add(buf, size, &used, h->value, h->value_len);
        }
    }
    return ok ? (long)used : -1;
}
