/* The backend-independent part of src/store: error names and store_open, which picks the
 * backend from the URL ("sqlite:PATH" or a plain PATH -> SQLite; "postgres://" is reserved
 * for the PostgreSQL backend, which is not built yet). */
#include <stdio.h>
#include <string.h>

#include "store/store.h"

static const char *const err_names[] = {
    [STORE_OK] = "Ok",
    [STORE_NOT_FOUND] = "NotFound",
    [STORE_CONFLICT] = "Conflict",
    [STORE_UNAVAILABLE] = "Unavailable",
    [STORE_ERROR] = "Error",
};

const char *store_err_name(store_err err)
{
    if ((unsigned)err >= sizeof err_names / sizeof err_names[0])
        return "UnknownError";
    return err_names[err];
}

/* True when url starts with prefix. */
static bool has_prefix(const char *url, const char *prefix)
{
    return strncmp(url, prefix, strlen(prefix)) == 0;
}

/* True for "scheme://...", the shape of every URL that is not a SQLite path. */
static bool looks_like_url(const char *url)
{
    const char *sep = strstr(url, "://");
    if (sep == NULL || sep == url)
        return false;
    for (const char *p = url; p < sep; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '+' || *p == '-' || *p == '.'))
            return false;
    }
    return true;
}

store_err store_open(const char *url, store **out)
{
    if (out == NULL)
        return STORE_ERROR;
    *out = NULL;
    if (url == NULL || url[0] == '\0') {
        fprintf(stderr, "jwtd: store: empty database location\n");
        return STORE_ERROR;
    }
    if (has_prefix(url, "sqlite:"))
        return store_sqlite_open(url + strlen("sqlite:"), out);
    if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://")) {
        /* Only the scheme is printed: the rest of the URL may hold a password. */
        fprintf(stderr, "jwtd: store: postgres backend not built yet\n");
        return STORE_ERROR;
    }
    if (looks_like_url(url)) {
        fprintf(stderr, "jwtd: store: unknown database URL scheme (use sqlite:PATH or a path)\n");
        return STORE_ERROR;
    }
    return store_sqlite_open(url, out);
}
