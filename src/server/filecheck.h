/* Start-up check of the files that hold secrets: a key file or database that the group or
 * other users may read is named in a warning (its mode, never its content). */
#ifndef JWTD_FILECHECK_H
#define JWTD_FILECHECK_H

#include <stdio.h>

struct srv_config;

/* One line on out for each of jwt-secret-file, tls-key and the SQLite database file that is
 * readable by group or others, e.g.
 *   jwtd: warning: jwt-secret-file /etc/jwtd/secret is readable by group and others (mode
 *   0644); chmod 600 it
 * Unset options, database URLs and files that cannot be stat'ed are skipped (their errors
 * are reported where they are opened). Returns the number of warnings. */
int srv_filecheck(const struct srv_config *cfg, FILE *out);

/* The same check for one path; what names it in the line (an option name). Returns 1 when
 * it warned, else 0. */
int srv_filecheck_path(const char *what, const char *path, FILE *out);

#endif /* JWTD_FILECHECK_H */
