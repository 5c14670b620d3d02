/* What the route files of jwtd serve share: the handlers that routes.c's table names
 * (routes_user.c, routes_admin.c) and the counters of metrics.c. Private to src/server. */
#ifndef JWTD_SERVER_ROUTES_H
#define JWTD_SERVER_ROUTES_H

#include <jansson.h>

#include "app.h"

/* A handler of the route table: fills resp from req (on a worker when its row blocks). */
typedef void (*route_fn)(srv_app *app, const http_request *req, http_response *resp);

/* routes_user.c: anyone. */
void srv_handle_register(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_login(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_refresh(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_logout(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_logout_all(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_me(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_forward_auth(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_jwks(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_healthz(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_readyz(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_metrics(srv_app *app, const http_request *req, http_response *resp);

/* openapi.c: GET /openapi.json, the document embedded at build time. */
void srv_handle_openapi(srv_app *app, const http_request *req, http_response *resp);

/* routes_oauth.c: OAuth 2.0 clients. */
void srv_handle_token(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_introspect(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_oauth_metadata(srv_app *app, const http_request *req, http_response *resp);
/* POST /login's body with a client_id: answered as /token's client credentials grant. */
void srv_client_login(srv_app *app, const http_request *req, json_t *body, http_response *resp);

/* routes_admin.c: role admin. */
void srv_handle_admin_users(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_admin_user_patch(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_admin_clients(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_admin_client_add(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_admin_client_delete(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_admin_client_rotate(srv_app *app, const http_request *req, http_response *resp);
void srv_handle_admin_metrics(srv_app *app, const http_request *req, http_response *resp);

/* metrics.c: one table of counters, two pages. The Prometheus text of GET /metrics
 * (malloc'ed, *len bytes), or NULL when out of memory. */
char *srv_metrics_text(srv_app *app, size_t *len);
/* The JSON document of GET /admin/metrics (a new reference), or NULL when out of memory. */
json_t *srv_metrics_json(srv_app *app);

#endif /* JWTD_SERVER_ROUTES_H */
