/* The OpenAPI 3.1 document of jwtd serve (docs/openapi.json), embedded at build time by
 * cmake/embed.cmake into the generated openapi_doc.c: GET /openapi.json sends these bytes.
 * Private to src/server. */
#ifndef JWTD_SERVER_OPENAPI_H
#define JWTD_SERVER_OPENAPI_H

#include <stddef.h>

extern const unsigned char srv_openapi_json[];
extern const size_t srv_openapi_json_len;

#endif /* JWTD_SERVER_OPENAPI_H */
