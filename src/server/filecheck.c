/* Key files and the database readable by group or others: one warning line each at start-up.
 * Only the mode is looked at (stat, which follows a symbolic link to the file it names); the
 * content is never read here. See filecheck.h. */
#include "filecheck.h"

#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "server.h"

int srv_filecheck_path(const char *what, const char *path, FILE *out)
{
    struct stat st;
    if (path == NULL || path[0] == '\0' || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    bool group = (st.st_mode & S_IRGRP) != 0, others = (st.st_mode & S_IROTH) != 0;
    if (!group && !others)
        return 0;
    fprintf(out, "jwtd: warning: %s %s is readable by %s (mode %04o); chmod 600 it\n", what, path,
            group && others ? "group and others"
            : group         ? "group"
                            : "others",
            (unsigned)(st.st_mode & 07777));
    fflush(out);
    return 1;
}

int srv_filecheck(const srv_config *cfg, FILE *out)
{
    int n = 0;
    n += srv_filecheck_path("jwt-secret-file", cfg->jwt_secret_file, out);
    n += srv_filecheck_path("tls-key", cfg->tls_key, out);
    /* The database holds the password hashes and, without JWT_SECRET, the private signing
     * keys: as secret as a key file. Only a local file has a mode to check. */
    char db[PATH_MAX];
    if (cfg->db != NULL && auth_db_local_file(cfg->db, db, sizeof db))
        n += srv_filecheck_path("db", db, out);
    return n;
}
