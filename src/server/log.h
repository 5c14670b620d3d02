/* Logs of jwtd serve: one JSON object per line on stderr ({"ts", "level", "msg", ...}),
 * up to the configured level. Callers never pass tokens, passwords or secrets. */
#ifndef JWTD_SERVER_LOG_H
#define JWTD_SERVER_LOG_H

#include <jansson.h>

#include "server.h"

void srv_log_set_level(int level); /* enum srv_log_level */
bool srv_log_enabled(int level);
/* Writes one line; fields (may be NULL) is an object whose members are added, and is
 * released (a reference is stolen, as json_pack's "o" does). */
void srv_log(int level, const char *msg, json_t *fields);

#endif /* JWTD_SERVER_LOG_H */
