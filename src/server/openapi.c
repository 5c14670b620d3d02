/* GET /openapi.json: the API's contract (docs/openapi.json), the bytes embedded at build time
 * (openapi.h), so the document served is always the one of the source this jwtd was built
 * from, and nothing is read from disk. tests/openapi checks it against the file and every
 * answer of the HTTP cases against it. */
#include <stdlib.h>
#include <string.h>

#include "openapi.h"
#include "replies.h"
#include "routes.h"

void srv_handle_openapi(srv_app *app, const http_request *req, http_response *resp)
{
    (void)app; /* the handler signature is shared */
    (void)req;
    char *body = malloc(srv_openapi_json_len + 1); /* the response owns its body */
    if (body == NULL) {
        http_response_error(resp, 500, MSG_INTERNAL);
        return;
    }
    memcpy(body, srv_openapi_json, srv_openapi_json_len);
    body[srv_openapi_json_len] = '\0';
    http_response_json(resp, 200, body);
    resp->body_len = srv_openapi_json_len;
    http_response_header(resp, "Cache-Control", "public, max-age=60");
}
