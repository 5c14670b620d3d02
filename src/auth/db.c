/* The auth service's door to the store's maintenance calls, for `jwtd db`: the integrity
 * and schema check and the online backup. They work in both open modes (an operator's
 * command opens AUTH_OPEN_LOOKUP) and touch nothing of the service's state. */
#include <stdio.h>
#include <string.h>

#include "auth_internal.h"

auth_err auth_db_check(auth *a, auth_db_report *out)
{
    if (a == NULL || out == NULL)
        return AUTH_INVALID_INPUT;
    memset(out, 0, sizeof *out);
    store_check_report r;
    store_err err = store_check(a->s, &r);
    snprintf(out->backend, sizeof out->backend, "%s", store_backend_name(a->s));
    out->schema_at_open = r.schema_at_open;
    out->schema = r.schema;
    out->schema_latest = r.schema_latest;
    snprintf(out->integrity, sizeof out->integrity, "%s", r.integrity);
    return auth_from_store(err);
}

auth_err auth_db_backup(auth *a, const char *path, char *why, size_t whylen)
{
    if (a == NULL || path == NULL || path[0] == '\0') {
        snprintf(why, whylen, "a backup file path is needed");
        return AUTH_INVALID_INPUT;
    }
    store_err err = store_backup(a->s, path);
    switch (err) {
    case STORE_OK: snprintf(why, whylen, "ok"); break;
    case STORE_CONFLICT:
        snprintf(why, whylen, "'%s' exists: a backup never overwrites", path);
        break;
    case STORE_UNSUPPORTED:
        snprintf(why, whylen, "not supported with the %s backend: use pg_dump",
                 store_backend_name(a->s));
        break;
    default: snprintf(why, whylen, "the backup failed: %s", store_err_name(err)); break;
    }
    return auth_from_store(err);
}
