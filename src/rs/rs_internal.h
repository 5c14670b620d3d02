/* libjwtd-rs internals: the one HTTP GET the remote JWKS and the metadata discovery make
 * (rs_fetch.c), with its limits, and the Cache-Control parse the cache needs. */
#ifndef JWTD_RS_INTERNAL_H
#define JWTD_RS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "jwtd/jwtd_rs.h"

#define RS_CACHE_CONTROL_BYTES 256u /* longer Cache-Control values are truncated */

/* What a GET brought back. body is NUL-terminated and owned by the caller (free). */
typedef struct rs_response {
    char *body;
    size_t len;
    char cache_control[RS_CACHE_CONTROL_BYTES]; /* "" when absent */
    const char *reason;                         /* static, on failure */
} rs_response;

/* True when url is https://, or http:// with allow_http; nothing else (no file:, no ftp:). */
bool rs_url_allowed(const char *url, bool allow_http);

/* GETs url (redirects only to the same scheme, bounded body and time). JWTD_RS_OK with
 * resp->body set only for status 200. */
jwtd_rs_err rs_fetch(const char *url, const jwtd_rs_jwks_options *o, size_t max_body,
                     rs_response *resp);

/* The lifetime in seconds that a Cache-Control value gives, within o's bounds. */
unsigned rs_ttl_from_cache_control(const char *value, const jwtd_rs_jwks_options *o);

#endif /* JWTD_RS_INTERNAL_H */
