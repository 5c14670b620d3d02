/* Responses: the http_response helpers handlers use, the writer that puts an http_response
 * on an h2o request, and the filter that turns h2o's own plain-text errors (413 for a body
 * over the limit, 400 for a broken body encoding, 417, 404) into {"error": ...} JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"

#define JSON_TYPE "application/json"

/* The reason phrase h2o writes on the status line; HTTP/1.1 clients ignore it, but it must be
 * there. */
static const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: break;
    }
    if (status < 200)
        return "Informational";
    if (status < 300)
        return "Success";
    if (status < 400)
        return "Redirection";
    if (status < 500)
        return "Client Error";
    return "Server Error";
}

/* ---- http_response helpers (used by handlers, on loops and workers) ---- */

/* A header value goes on the wire verbatim: CR or LF in it would let a value forge headers. */
static bool header_value_is_safe(const char *value)
{
    for (const char *p = value; *p != '\0'; p++)
        if (*p == '\r' || *p == '\n')
            return false;
    return true;
}

static int add_header(http_response *resp, const char *name, const char *value, bool copy)
{
    if (resp == NULL || name == NULL || value == NULL || name[0] == '\0')
        return -1;
    if (resp->nheaders >= HTTP_MAX_RESPONSE_HEADERS || !header_value_is_safe(value))
        return -1;
    http_header_kv *h = &resp->headers[resp->nheaders];
    if (copy) {
        char *dup = strdup(value);
        if (dup == NULL)
            return -1;
        h->value = dup;
    } else {
        h->value = value;
    }
    h->name = name;
    h->owned = copy;
    resp->nheaders++;
    return 0;
}

int http_response_header(http_response *resp, const char *name, const char *value)
{
    return add_header(resp, name, value, true);
}

int http_response_header_static(http_response *resp, const char *name, const char *value)
{
    return add_header(resp, name, value, false);
}

void http_response_json(http_response *resp, int status, char *body)
{
    free(resp->body);
    resp->status = status;
    resp->content_type = NULL;
    resp->body = body;
    resp->body_len = body != NULL ? strlen(body) : 0;
}

/* Error messages are static identifiers such as "not found": they are put between quotes
 * as they are, so anything that JSON would need to escape is refused (and replaced). */
static bool message_is_plain(const char *message)
{
    for (const unsigned char *p = (const unsigned char *)message; *p != '\0'; p++)
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
            return false;
    return true;
}

void http_response_error(http_response *resp, int status, const char *message)
{
    if (message == NULL || !message_is_plain(message))
        message = "error";
    size_t size = strlen(message) + sizeof("{\"error\":\"\"}");
    char *body = malloc(size);
    if (body != NULL)
        snprintf(body, size, "{\"error\":\"%s\"}", message);
    http_response_json(resp, status, body);
}

void http_response_clear(http_response *resp)
{
    free(resp->body);
    for (size_t i = 0; i < resp->nheaders && i < HTTP_MAX_RESPONSE_HEADERS; i++)
        if (resp->headers[i].owned)
            free((void *)resp->headers[i].value);
    memset(resp, 0, sizeof(*resp));
}

/* ---- writing on h2o (event-loop thread only) ---- */

static const char ERROR_INTERNAL[] = "{\"error\":\"internal error\"}";

void http_send_static_json(h2o_req_t *req, int status, const char *json, size_t len)
{
    req->res.status = status;
    req->res.reason = http_reason(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT(JSON_TYPE));
    h2o_send_inline(req, json, len);
}

void http_send_response(h2o_req_t *req, const http_response *resp)
{
    int status = resp->status;
    if (status < 100 || status > 599) {
        http_send_static_json(req, 500, ERROR_INTERNAL, sizeof(ERROR_INTERNAL) - 1);
        return;
    }
    req->res.status = status;
    req->res.reason = http_reason(status);
    /* h2o's evloop may keep pointers to what it writes until the write completes, so every
     * value the response owns is copied into the request's pool; names and static values
     * outlive it. */
    for (size_t i = 0; i < resp->nheaders && i < HTTP_MAX_RESPONSE_HEADERS; i++) {
        const http_header_kv *h = &resp->headers[i];
        h2o_iovec_t value = h2o_iovec_init(h->value, strlen(h->value));
        if (h->owned)
            value = h2o_strdup(&req->pool, value.base, value.len);
        h2o_add_header_by_str(&req->pool, &req->res.headers, h->name, strlen(h->name), 1, NULL,
                              value.base, value.len);
    }
    /* 204 and 304 carry no body, hence neither a length nor a type (RFC 9110 8.6). */
    if (status == 204 || status == 304 || status < 200) {
        h2o_send_inline(req, "", 0);
        return;
    }
    const char *type = resp->content_type != NULL ? resp->content_type : JSON_TYPE;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    req->res.content_length = resp->body != NULL ? resp->body_len : 0;
    h2o_send_inline(req, resp->body != NULL ? resp->body : "", req->res.content_length);
}

/* ---- JSON for the errors h2o answers by itself ----
 * h2o 2.2 answers some requests before any handler runs (Content-Length over
 * max_request_entity_size -> 413, broken chunked encoding -> 400, unknown Expect -> 417, a path
 * no pathconf matches -> 404) with h2o_send_error_generic, which binds the request to the
 * host's fallback pathconf and sends text/plain. A filter on that pathconf replaces the body
 * with our JSON. Requests h2o cannot parse at all (picohttpparser refuses the head, more than
 * H2O_MAX_HEADERS headers, a head over H2O_MAX_REQLEN) never reach a pathconf: h2o writes its
 * fixed "400 Bad Request" text/plain bytes straight to the socket and closes, and no filter
 * can see them (docs/OPERATIONS.md, "Limits and timeouts": a known gap). */

typedef struct error_ostream {
    h2o_ostream_t super;
    const char *json;
    size_t len;
    bool sent;
} error_ostream;

static const char *error_json_for(int status, size_t *len)
{
#define ERR(s) (*len = sizeof("{\"error\":\"" s "\"}") - 1, "{\"error\":\"" s "\"}")
    switch (status) {
    case 400: return ERR("bad request");
    case 404: return ERR("not found");
    case 405: return ERR("method not allowed");
    case 413: return ERR("request body too large");
    case 417: return ERR("expectation failed");
    case 503: return ERR("service unavailable");
    default: break;
    }
    if (status >= 500)
        return ERR("internal error");
    return ERR("bad request");
#undef ERR
}

static void error_ostream_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs,
                               size_t bufcnt, h2o_send_state_t state)
{
    error_ostream *os = (error_ostream *)self;
    (void)bufs;
    /* h2o's text is dropped for ours. A HEAD request comes with no buffers (h2o_send_inline)
     * and so gets none. */
    if (!os->sent && bufcnt > 0) {
        h2o_iovec_t out = h2o_iovec_init(os->json, os->len);
        os->sent = true;
        h2o_ostream_send_next(&os->super, req, &out, 1, state);
    } else {
        h2o_ostream_send_next(&os->super, req, NULL, 0, state);
    }
}

typedef struct error_filter {
    h2o_filter_t super;
    http_server *srv;
} error_filter;

/* What each of h2o's own refusals is, for the refused callback; false: not a refusal. */
static bool refusal_of(int status, http_refusal *why)
{
    switch (status) {
    case 400: *why = HTTP_REFUSED_BODY_FRAMING; return true;
    case 413: *why = HTTP_REFUSED_BODY_TOO_LARGE; return true;
    case 417: *why = HTTP_REFUSED_EXPECTATION; return true;
    default: return false;
    }
}

static void error_filter_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    http_refusal why;
    if (refusal_of(req->res.status, &why))
        http_report_refusal(((error_filter *)self)->srv, req, req->res.status, why);
    if (req->res.status >= 400) {
        error_ostream *os = (error_ostream *)h2o_add_ostream(req, sizeof(*os), slot);
        os->super.do_send = error_ostream_send;
        os->json = error_json_for(req->res.status, &os->len);
        os->sent = false;
        req->res.content_length = os->len;
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT(JSON_TYPE),
                       1);
        slot = &os->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

void http_install_error_filter(http_server *srv, h2o_pathconf_t *pathconf)
{
    error_filter *filter = (error_filter *)h2o_create_filter(pathconf, sizeof(*filter));
    filter->super.on_setup_ostream = error_filter_setup;
    filter->srv = srv;
}
