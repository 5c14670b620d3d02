/* The request-head rules every request must pass before any handler runs, in one place: the
 * head size, Host, field syntax, and above all the body's framing (RFC 9112 6), so that no
 * request can be read one way by a proxy in front and another way here (request smuggling).
 * h2o 2.2 frames a body leniently (the first of several Content-Length fields wins; a
 * Transfer-Encoding overrides a Content-Length; "0x2" is a zero-length last chunk with an
 * extension "x2") and then keeps the connection open, so this file decides what it may not.
 * A refused request is answered 400 JSON and its connection closed; nothing after it on the
 * connection is ever read as a request. */
#include <string.h>

#include "http/http_internal.h"
#include "http/http_phr.h"

/* Content-Length digits beyond this cannot be a size this server accepts (its body limit is
 * far below) and could overflow a 64-bit count: refused, not clamped. */
#define HTTP_CONTENT_LENGTH_MAX_DIGITS 18

static const char *const REFUSAL_NAMES[HTTP_REFUSED_COUNT] = {
    [HTTP_REFUSED_HEADERS_TOO_LARGE] = "headers_too_large",
    [HTTP_REFUSED_HOST] = "host",
    [HTTP_REFUSED_FIELD] = "field",
    [HTTP_REFUSED_CONTENT_LENGTH] = "content_length",
    [HTTP_REFUSED_TRANSFER_ENCODING] = "transfer_encoding",
    [HTTP_REFUSED_BODY_TOO_LARGE] = "body_too_large",
    [HTTP_REFUSED_BODY_FRAMING] = "body_framing",
    [HTTP_REFUSED_EXPECTATION] = "expectation",
};

const char *http_refusal_name(http_refusal r)
{
    return (unsigned)r < HTTP_REFUSED_COUNT ? REFUSAL_NAMES[r] : "unknown";
}

/* The request line and headers, about as they came on the wire (h2o keeps no raw length). */
static size_t request_head_size(const h2o_req_t *req)
{
    size_t size = req->input.method.len + req->input.path.len + req->input.authority.len +
                  sizeof(" HTTP/1.1\r\nhost: \r\n\r\n");
    for (size_t i = 0; i < req->headers.size; i++)
        size += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    return size;
}

/* Rules on the fields h2o kept (every field but Host, Content-Length, Transfer-Encoding,
 * Expect and Upgrade, which it takes apart). */
static int check_fields(const http_server *srv, const h2o_req_t *req, http_refusal *why)
{
    /* RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host. h2o puts
     * its default host's name in its place, the very string of the host configuration, which
     * a Host line never points at. (HTTP/1.0 has no Host; a missing one is fine there.) */
    const char *default_host = srv->globalconf.hosts[0]->authority.hostport.base;
    if (req->version >= 0x101 &&
        (req->input.authority.base == NULL || req->input.authority.base == default_host)) {
        *why = HTTP_REFUSED_HOST;
        return 400;
    }
    size_t content_types = 0;
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_iovec_t *name = req->headers.entries[i].name;
        /* RFC 9112 5.2: obs-fold (a line starting with white space) MAY be refused with 400;
         * h2o hands the continuation over as a field without a name. Refused: a folded
         * line could continue a Content-Length that a proxy reads whole. */
        if (name->len == 0) {
            *why = HTTP_REFUSED_FIELD;
            return 400;
        }
        /* RFC 9110 5.3, 8.3: Content-Type is a singleton; with two, the body could be read
         * as either. */
        if (h2o_memis(name->base, name->len, H2O_STRLIT("content-type")) && ++content_types > 1) {
            *why = HTTP_REFUSED_FIELD;
            return 400;
        }
    }
    return 0;
}

static bool is_named(const struct phr_header *h, const char *lower, size_t len)
{
    /* h2o lowercased every field name of the head in place before it was handed over. */
    return h->name_len == len && memcmp(h->name, lower, len) == 0;
}

/* RFC 9112 6.3 item 5 and 8.6 (Content-Length = 1*DIGIT): digits only, no sign, no hex, no
 * list, no white space inside, and not so many that the count could overflow. */
static bool content_length_is_valid(const char *value, size_t len)
{
    if (len == 0 || len > HTTP_CONTENT_LENGTH_MAX_DIGITS)
        return false;
    for (size_t i = 0; i < len; i++)
        if (value[i] < '0' || value[i] > '9')
            return false;
    return true;
}

/* The framing rules, on the head read again from the connection's input buffer, where h2o
 * leaves it until the answer is sent. Only for requests with a body: h2o gives a request an
 * entity only when it found a Content-Length or a Transfer-Encoding, so a request with
 * neither (GET /me) costs nothing here. */
static int check_framing(h2o_req_t *req, http_refusal *why, bool *close_after)
{
    if (req->entity.base == NULL || req->version >= 0x200)
        return 0;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    const char *method, *path;
    size_t method_len, path_len, nheaders = H2O_MAX_HEADERS;
    int minor;
    struct phr_header headers[H2O_MAX_HEADERS];
    if (sock == NULL || sock->input == NULL ||
        phr_parse_request(sock->input->bytes, sock->input->size, &method, &method_len, &path,
                          &path_len, &minor, headers, &nheaders, 0) <= 0) {
        /* h2o parsed this head a moment ago; if it cannot be read again, fail closed. */
        *why = HTTP_REFUSED_FIELD;
        return 400;
    }
    size_t content_lengths = 0, transfer_encodings = 0;
    const struct phr_header *te = NULL;
    for (size_t i = 0; i < nheaders; i++) {
        const struct phr_header *h = &headers[i];
        if (is_named(h, H2O_STRLIT("content-length"))) {
            /* RFC 9112 6.3 item 5: several Content-Length fields (or a list) with differing
             * values are unrecoverable: 400 and close. Identical ones MAY be merged; they
             * are refused too, as no client of this API sends them and a proxy may not
             * have merged them the same way. */
            if (++content_lengths > 1 || !content_length_is_valid(h->value, h->value_len)) {
                *why = HTTP_REFUSED_CONTENT_LENGTH;
                return 400;
            }
        } else if (is_named(h, H2O_STRLIT("transfer-encoding"))) {
            transfer_encodings++;
            te = h;
        }
    }
    if (transfer_encodings == 0)
        return 0;
    /* RFC 9112 6.1: Transfer-Encoding with Content-Length "ought to be handled as an error";
     * a server MAY reject it, and MUST close the connection if it does not. Rejected. */
    if (content_lengths > 0) {
        *why = HTTP_REFUSED_TRANSFER_ENCODING;
        return 400;
    }
    /* RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding MUST be treated as having
     * faulty framing. Several Transfer-Encoding fields are one list (RFC 9110 5.3), and
     * any coding but chunked alone is one this server does not implement: h2o would frame
     * by the last field only, so neither is read. */
    if (minor == 0 || transfer_encodings > 1 ||
        !h2o_lcstris(te->value, te->value_len, H2O_STRLIT("chunked"))) {
        *why = HTTP_REFUSED_TRANSFER_ENCODING;
        return 400;
    }
    /* RFC 9112 7.1: chunk-size = 1*HEXDIG, chunk-ext = *( BWS ";" ... ). h2o's decoder reads
     * "0x2" as a zero-length last chunk with an extension "x2", and decodes in place, so the
     * chunk lines are gone by now and cannot be checked. The request is answered, then the
     * connection closed: whatever followed the body is never read as a request. */
    *close_after = true;
    return 0;
}

int http_framing_check(const http_server *srv, h2o_req_t *req, http_refusal *why, bool *close_after)
{
    *close_after = false;
    /* RFC 9110 15.5.20 (431): all fields together over the configured bound. */
    if (request_head_size(req) > srv->max_header) {
        *why = HTTP_REFUSED_HEADERS_TOO_LARGE;
        return 431;
    }
    int status = check_fields(srv, req, why);
    if (status == 0)
        status = check_framing(req, why, close_after);
    return status;
}
