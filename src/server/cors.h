/* CORS (cors.c): the answers to browser apps on the origins of --cors-origins. Private to
 * src/server; the list itself (srv_origins, srv_origins_parse) is in server.h with the
 * configuration. */
#ifndef JWTD_SERVER_CORS_H
#define JWTD_SERVER_CORS_H

#include "app.h"

/* Whether req is a CORS preflight (OPTIONS with Access-Control-Request-Method) from a listed
 * origin: false whenever CORS is off. */
bool srv_cors_is_preflight(const srv_app *app, const http_request *req);
/* The preflight's 204: the path's methods (an Allow value), the request headers a page may
 * send (Authorization, Content-Type) and how long the answer may be reused. */
void srv_cors_preflight(http_response *resp, const char *methods);
/* What every answer carries while CORS is on: Vary: Origin, and for a listed origin
 * Access-Control-Allow-Origin (that origin) and Access-Control-Allow-Credentials. */
void srv_cors_decorate(const srv_app *app, const http_request *req, http_response *resp);

#endif /* JWTD_SERVER_CORS_H */
