/* A raw HTTP/1.1 client for the tests that send bytes no HTTP library would (hostile,
 * framing): a loopback connection, exact bytes out, responses read back one at a time. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "rawhttp.h"
#include "testutil.h"

int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

bool raw_open(raw_conn *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = raw_connect(port);
    return c->fd >= 0;
}

void raw_close(raw_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Sends everything it can; a server that answered early and closed may make it fail. */
bool raw_send(raw_conn *c, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        len -= (size_t)w;
    }
    return true;
}

/* Reads more bytes (waiting at most until deadline); false on EOF, error or timeout. */
bool raw_parse_status(const char *s, size_t len, int *status)
{
    static const char prefix[] = "HTTP/1.";
    size_t i = sizeof prefix - 1;
    if (len < i || memcmp(s, prefix, i) != 0)
        return false;
    size_t minor = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == minor || i == len || s[i] != ' ')
        return false;
    while (i < len && s[i] == ' ')
        i++;
    /* Three digits (RFC 9112 4), not followed by a fourth. */
    int code = 0;
    size_t digits = i;
    while (i < len && i - digits < 4 && s[i] >= '0' && s[i] <= '9')
        code = code * 10 + (s[i++] - '0');
    if (i - digits != 3)
        return false;
    *status = code;
    return true;
}

bool raw_fill(raw_conn *c, long deadline)
{
    if (c->eof)
        return false;
    long wait = deadline - testutil_now_ms();
    if (wait <= 0)
        return false;
    struct pollfd pfd = {c->fd, POLLIN, 0};
    int r = poll(&pfd, 1, (int)wait);
    if (r <= 0)
        return false;
    if (c->cap - c->len < 65536) {
        size_t cap = c->cap * 2 + 65536;
        char *nb = realloc(c->buf, cap);
        if (nb == NULL)
            return false;
        c->buf = nb;
        c->cap = cap;
    }
    ssize_t got = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (got <= 0) {
        c->eof = true;
        return false;
    }
    c->len += (size_t)got;
    return true;
}

void raw_response_free(raw_response *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* The value of header name in r->head (first one), copied into out; false when absent. */
bool raw_header(const raw_response *r, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    const char *line = strstr(r->head, "\r\n");
    while (line != NULL && line[2] != '\0') {
        line += 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t len = end != NULL ? (size_t)(end - v) : strlen(v);
            if (len >= outlen)
                len = outlen - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return true;
        }
        line = strstr(line, "\r\n");
    }
    return false;
}

/* Reads one response (head, then a Content-Length body, or up to EOF without one). */
bool raw_read_response(raw_conn *c, raw_response *r, int timeout_ms)
{
    memset(r, 0, sizeof *r);
    long deadline = testutil_now_ms() + timeout_ms;
    char *end = NULL;
    for (;;) {
        if (c->len > 0) {
            end = memmem(c->buf, c->len, "\r\n\r\n", 4);
            if (end != NULL)
                break;
        }
        if (!raw_fill(c, deadline))
            return false;
    }
    size_t head_len = (size_t)(end - c->buf) + 4;
    size_t copy = head_len < sizeof r->head ? head_len : sizeof r->head - 1;
    memcpy(r->head, c->buf, copy);
    r->head[copy] = '\0';
    if (!raw_parse_status(r->head, copy, &r->status))
        return false;
    char cl[32];
    bool has_len = raw_header(r, "content-length", cl, sizeof cl);
    size_t body_len = has_len ? (size_t)strtoul(cl, NULL, 10) : 0;
    bool no_body = r->status == 204 || r->status == 304 || r->status < 200;
    if (!has_len && !no_body) {
        while (raw_fill(c, deadline))
            ;
        body_len = c->len - head_len;
    }
    if (no_body)
        body_len = 0;
    while (c->len - head_len < body_len)
        if (!raw_fill(c, deadline))
            return false;
    r->body = malloc(body_len + 1);
    if (r->body == NULL)
        return false;
    memcpy(r->body, c->buf + head_len, body_len);
    r->body[body_len] = '\0';
    r->body_len = body_len;
    memmove(c->buf, c->buf + head_len + body_len, c->len - head_len - body_len);
    c->len -= head_len + body_len;
    return true;
}

/* True when the server closes the connection (EOF or reset) before deadline; bytes it sends
 * first are discarded. */
bool raw_wait_closed(raw_conn *c, int timeout_ms)
{
    long deadline = testutil_now_ms() + timeout_ms;
    while (!c->eof) {
        c->len = 0;
        if (!raw_fill(c, deadline) && !c->eof)
            return false;
    }
    return true;
}

/* {"error": message} JSON with that status, and nothing else in the object. */
bool raw_is_json_error(const raw_response *r, int status, const char *message, char *why,
                       size_t whylen)
{
    char ct[128] = "";
    raw_header(r, "content-type", ct, sizeof ct);
    if (r->status != status) {
        snprintf(why, whylen, "status %d, want %d; body %.200s", r->status, status,
                 r->body != NULL ? r->body : "");
        return false;
    }
    if (strncmp(ct, "application/json", 16) != 0) {
        snprintf(why, whylen, "content type \"%s\"; body %.200s", ct, r->body ? r->body : "");
        return false;
    }
    json_t *doc = json_loadb(r->body, r->body_len, 0, NULL);
    const char *got = json_string_value(json_object_get(doc, "error"));
    /* A 400 may say which member and why: "field" and "detail", both strings, or neither. */
    size_t extra = json_is_string(json_object_get(doc, "field")) &&
                           json_is_string(json_object_get(doc, "detail"))
                       ? 2
                       : 0;
    bool ok = got != NULL && json_object_size(doc) == 1 + extra && (extra == 0 || status == 400) &&
              (message == NULL || strcmp(got, message) == 0);
    snprintf(why, whylen, "%d %.200s", r->status, r->body != NULL ? r->body : "");
    json_decref(doc);
    return ok;
}

/* The answer h2o 2.2 writes by itself, on the socket, for a request head it cannot parse
 * (picohttpparser refuses it, or it is longer than H2O_MAX_REQLEN): fixed bytes, text/plain,
 * "Connection: close", no handler and no filter ever sees it (README: the known gap). */
bool raw_is_h2o_400(const raw_response *r, char *why, size_t whylen)
{
    char ct[128] = "", conn[64] = "";
    raw_header(r, "content-type", ct, sizeof ct);
    raw_header(r, "connection", conn, sizeof conn);
    snprintf(why, whylen, "%d %s \"%.100s\" connection: %s", r->status, ct,
             r->body != NULL ? r->body : "", conn);
    return r->status == 400 && strcmp(ct, "text/plain; charset=utf-8") == 0 && r->body != NULL &&
           strcmp(r->body, "Bad Request") == 0 && strcmp(conn, "close") == 0;
}
