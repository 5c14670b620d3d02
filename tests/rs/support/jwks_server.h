/* A small JWKS server for the libjwtd-rs unit tests (libmicrohttpd, 127.0.0.1, a free port):
 * it serves whatever body, status and Cache-Control the test sets at /jwks.json, RFC 8414
 * metadata at /.well-known/oauth-authorization-server, a redirect at /redirect, counts the
 * JWKS fetches, and can make each one slow. */
#ifndef JWTD_TESTS_JWKS_SERVER_H
#define JWTD_TESTS_JWKS_SERVER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct jwks_server jwks_server;

/* Starts the server; NULL when it could not. base gets "http://127.0.0.1:PORT". */
jwks_server *jwks_server_start(char *base, size_t baselen);
void jwks_server_stop(jwks_server *s);

/* What /jwks.json answers from now on: status, body (copied) and Cache-Control (NULL: none). */
void jwks_server_set(jwks_server *s, int status, const char *body, const char *cache_control);
/* What the metadata document says (copied); NULL: 404. */
void jwks_server_set_metadata(jwks_server *s, const char *json);
/* Where /redirect points (copied). */
void jwks_server_set_redirect(jwks_server *s, const char *location);
/* Each /jwks.json answer waits this long first (for the concurrency test). */
void jwks_server_set_delay_ms(jwks_server *s, unsigned ms);
/* The /jwks.json requests so far, and the most that were in flight at once. */
unsigned jwks_server_fetches(jwks_server *s);
unsigned jwks_server_max_in_flight(jwks_server *s);

#endif /* JWTD_TESTS_JWKS_SERVER_H */
