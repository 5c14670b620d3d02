/* A small synchronous HTTP client over libcurl for the fault tests (tests/durability,
 * tests/faults): one request, a bounded body, the status and the Retry-After header. Safe to
 * call from several threads at once once curl_global_init has run. */
#ifndef JWTD_HTTPC_H
#define JWTD_HTTPC_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPC_MAX_BODY 65536
#define HTTPC_TIMEOUT_S 20 /* each request, connection included */

typedef struct httpc_resp {
    long status; /* 0: no answer (connection refused or reset, timeout) */
    char *body;  /* NUL-terminated, owned; NULL when empty */
    size_t len;
    bool retry_after; /* a Retry-After header came */
    bool json_type;   /* Content-Type: application/json */
} httpc_resp;

/* METHOD base+path with an optional bearer token and an optional JSON body. Returns the
 * status (0 when no answer came); out (may be NULL) gets the answer, free it with
 * httpc_resp_free. */
long httpc_request(const char *method, const char *base, const char *path, const char *bearer,
                   const char *json, httpc_resp *out);
/* The same, as if from client address `client` (X-Forwarded-For: client; NULL: none), for a
 * server that trusts 127.0.0.1 as its proxy: tests give each scenario addresses of its own. */
long httpc_request_from(const char *method, const char *base, const char *path, const char *bearer,
                        const char *json, const char *client, httpc_resp *out);
void httpc_resp_free(httpc_resp *r);

/* A copy of the string member key of the JSON object in r's body, or NULL. */
char *httpc_json_string(const httpc_resp *r, const char *key);

/* True when r's body is exactly {"error": message}. */
bool httpc_is_error(const httpc_resp *r, const char *message);

#endif /* JWTD_HTTPC_H */
