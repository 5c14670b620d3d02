/* What the server's commands (jwtd serve, jwtd user, jwtd keys) share: reading the
 * configuration that names the database, opening the auth service over it, and
 * reporting the auth service's errors as "Kind: reason" on stderr. Built only with the
 * server layers (JWTD_HAVE_SERVER). */
#ifndef JWTD_CLI_SERVER_H
#define JWTD_CLI_SERVER_H

#include "cli.h"
#include "server/server.h"

/* Options every `user` and `keys` subcommand takes. */
#define CLI_SERVER_COMMON_USAGE                                                                    \
    "  --db PATH|URL  the database (env JWTD_DB, config key db; default jwtd.db, the file\n"       \
    "                 jwtd serve uses in the same directory; or the postgres:// URL the\n"         \
    "                 instances share)\n"                                                          \
    "  --config FILE  a jwtd serve config file (env JWTD_CONFIG)\n"                                \
    "  --help         this text\n"

/* Loads the configuration (defaults, config_path or JWTD_CONFIG, environment), applies
 * db when not NULL, and opens the auth service in mode (AUTH_OPEN_SERVICE may generate the
 * first signing key; AUTH_OPEN_LOOKUP only reads). The store's complaints go to stderr as
 * plain lines. Returns CLI_EXIT_OK, CLI_EXIT_USAGE after a bad configuration value, or
 * CLI_EXIT_FAILED when the database cannot be opened. */
int cli_backend_open(const char *config_path, const char *db, srv_config *cfg, auth_open_mode mode,
                     auth **au);
void cli_backend_close(srv_config *cfg, auth *au);

/* "Kind: message" on stderr, the kind named after err (Conflict, NotFound, InvalidInput,
 * Unavailable, Internal, ...); returns CLI_EXIT_FAILED. */
int cli_auth_fail(auth_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A secret (a password, a client secret) from stdin: at most max bytes, one trailing
 * newline dropped, no NUL byte, into buf (max + 2 bytes). CLI_EXIT_OK, or CLI_EXIT_FAILED
 * after saying so (what names the secret). */
int cli_read_stdin_secret(char *buf, size_t max, const char *what);

/* "2024-05-01T12:00:00Z" for Unix seconds t. */
void cli_format_time(int64_t t, char out[32]);

#endif /* JWTD_CLI_SERVER_H */
