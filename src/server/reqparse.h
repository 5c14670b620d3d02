/* Pure parsers for what a request carries besides its JSON body: the Authorization Bearer
 * header (RFC 6750), the refresh-token cookie (RFC 6265), the Content-Type of a POST,
 * query parameters, and which static file a path may name. No I/O, no allocation: each
 * returns pointers into its input; tests/serverunit checks them directly. */
#ifndef JWTD_SERVER_REQPARSE_H
#define JWTD_SERVER_REQPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRV_REFRESH_COOKIE "jwtd_refresh"

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". */
bool srv_is_b64token(const char *s, size_t len);

/* "Bearer TOKEN": the scheme case-insensitive, then one or more spaces (not tabs: RFC 6750
 * says 1*SP), then a b64token, then optional trailing spaces or tabs. Returns true and points
 * *tok at the token; false for any other scheme or a malformed token. */
bool srv_parse_bearer(const char *value, size_t len, const char **tok, size_t *tok_len);
/* srv_parse_bearer without the b64token check: the token's span (possibly empty). For the
 * hot path, which verifies first and checks the syntax only of a token that failed. */
bool srv_bearer_span(const char *value, size_t len, const char **tok, size_t *tok_len);

/* The value of cookie `name` in a Cookie header ("a=1; name=v"), unquoted. Returns false
 * when there is none. The value is not checked here. */
bool srv_cookie_find(const char *header, size_t len, const char *name, const char **val,
                     size_t *val_len);

/* The media type `type` (lower case), case-insensitive, optionally followed by parameters
 * (";charset=utf-8"). */
bool srv_is_content_type(const char *value, size_t len, const char *type);
/* application/json, case-insensitive, optionally followed by parameters (";charset=utf-8"). */
bool srv_is_json_content_type(const char *value, size_t len);

/* Query parameter `key` as its raw bytes (not percent-decoded: callers accept only values
 * that need no escaping). Returns 1 when present once with a value (*val, *val_len), 0 when
 * absent, -1 when given twice or without a value ("key", "key="). */
int srv_query_value(const char *query, size_t len, const char *key, const char **val,
                    size_t *val_len);

/* Query parameter `key` as a whole number within [min, max]. Returns 1 when present and
 * valid (*out set), 0 when absent, -1 when present but invalid. */
int srv_query_int(const char *query, size_t len, const char *key, int64_t min, int64_t max,
                  int64_t *out);

/* The content type for a static file path that may be served (a known extension, no
 * "..", no hidden or empty segments, only [A-Za-z0-9._/-], at most SRV_MAX_WEB_PATH
 * bytes, starting with "/"), or NULL. */
const char *srv_web_content_type(const char *path, size_t len);

#endif /* JWTD_SERVER_REQPARSE_H */
