/* A raw HTTP/1.1 client for the tests that send bytes no HTTP library would (hostile,
 * framing): a connection to 127.0.0.1:PORT, exact bytes out, and the answers read back one at
 * a time (head, then a Content-Length body, or everything up to EOF without one). Part of
 * the jwtd_testserver library. */
#ifndef JWTD_RAWHTTP_H
#define JWTD_RAWHTTP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct raw_conn {
    int fd;
    char *buf; /* bytes read and not yet consumed */
    size_t len, cap;
    bool eof;
} raw_conn;

typedef struct raw_response {
    int status; /* 0: no response */
    char head[16384];
    char *body;
    size_t body_len;
} raw_response;

/* A TCP connection to 127.0.0.1:port (5 s send timeout, TCP_NODELAY); the fd or -1. */
int raw_connect(int port);
bool raw_open(raw_conn *c, int port);
void raw_close(raw_conn *c);
/* Sends everything it can; a server that answered early and closed may make it fail. */
bool raw_send(raw_conn *c, const void *data, size_t len);
/* Reads more bytes (waiting at most until deadline, testutil_now_ms); false on EOF, error or
 * timeout. */
bool raw_fill(raw_conn *c, long deadline);
/* The status code of the "HTTP/1.x NNN" line that the len bytes at s start with (they need not
 * end in a NUL), in *status; false, and *status untouched, when they do not start with one. */
bool raw_parse_status(const char *s, size_t len, int *status);
/* Reads one response; false when none came whole within timeout_ms. */
bool raw_read_response(raw_conn *c, raw_response *r, int timeout_ms);
/* True when the server closes the connection (EOF or reset) within timeout_ms; bytes it sends
 * first are discarded. */
bool raw_wait_closed(raw_conn *c, int timeout_ms);
void raw_response_free(raw_response *r);
/* The value of header name in r->head (the first one), copied into out; false when absent. */
bool raw_header(const raw_response *r, const char *name, char *out, size_t outlen);
/* {"error": message} JSON with that status and nothing else in the object but, for a 400,
 * the "field" and "detail" strings that say which input and why (message NULL: any); false
 * with what came instead in why. */
bool raw_is_json_error(const raw_response *r, int status, const char *message, char *why,
                       size_t whylen);
/* The fixed answer h2o 2.2 writes by itself, on the socket, for a request head it cannot
 * parse: 400, text/plain "Bad Request", "Connection: close"; no jwtd code ever sees it. */
bool raw_is_h2o_400(const raw_response *r, char *why, size_t whylen);

#endif /* JWTD_RAWHTTP_H */
