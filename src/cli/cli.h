/* The jwtd command line: entry points of the command groups and the helpers they share
 * (bounded file and stdin reading, key loading, option parsing, error reporting).
 * Everything here uses only the public API in <jwtd/jwtd.h>. */
#ifndef JWTD_CLI_H
#define JWTD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jwtd/jwtd.h>

/* Exit codes of every command (a contract: scripts and tests rely on them). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILED = 1, CLI_EXIT_USAGE = 2 };

/* Largest key file, token, JWS, claims or payload the command line reads. */
#define CLI_MAX_INPUT_BYTES JWTD_MAX_KEY_BYTES
/* Most --alg / --aud / --iss / --sub / --require values one command accepts. */
#define CLI_MAX_LIST 32

/* Command groups: argv[0] is the group's own word ("token", "jws", "keygen"). */
int cli_token_main(int argc, char **argv);
int cli_jws_main(int argc, char **argv);
int cli_keygen_main(int argc, char **argv);
#ifdef JWTD_HAVE_SERVER
/* The server's commands (cli_serve.c, cli_user.c, cli_keys.c, cli_db.c), built with src/server. */
int cli_serve_main(int argc, char **argv);
int cli_user_main(int argc, char **argv);
int cli_client_main(int argc, char **argv);
int cli_keys_main(int argc, char **argv);
int cli_db_main(int argc, char **argv);
#endif

/* A byte buffer read from a file or stdin; data is NUL-terminated (not counted in len). */
typedef struct cli_buf {
    char *data;
    size_t len;
} cli_buf;
void cli_buf_free(cli_buf *b);

/* Reads up to max bytes of path into out. Returns 0, or -1 with errno set (EFBIG when the
 * file is larger than max). */
int cli_read_file(const char *path, size_t max, cli_buf *out);

/* The token/JWS input: arg itself, or stdin when arg is "-" or NULL and stdin is not a
 * terminal. Trailing whitespace is removed. Returns CLI_EXIT_OK, or the exit code after
 * reporting (TokenTooLarge beyond CLI_MAX_INPUT_BYTES, usage when nothing was given). */
int cli_read_token_input(const char *cmd, const char *usage, const char *arg, cli_buf *out);

/* Loads --key FILE as a key set (raw secret, PEM, JWK or JWKS). A raw secret file loses
 * one trailing "\n" or "\r\n". Returns CLI_EXIT_OK or CLI_EXIT_FAILED after reporting
 * InvalidKeyFormat (never with key bytes in the message). */
int cli_load_keyset(const char *path, jwtd_keyset **out);
/* The same for bytes already in memory; returns the library's error kind. */
jwtd_err cli_keyset_from_bytes(const char *data, size_t len, jwtd_keyset **out);
/* Algorithms to pin when --alg was not given: every key's own "alg", provided each key in
 * the set names one (never the token's). Returns false when some key names none. */
bool cli_algs_from_keys(const jwtd_keyset *set, jwtd_alg *algs, size_t *n);

/* Option values. Each returns false after printing a usage error (the caller then exits
 * with CLI_EXIT_USAGE). */
bool cli_parse_alg(const char *cmd, const char *usage, const char *name, jwtd_alg *out);
bool cli_parse_int(const char *cmd, const char *usage, const char *opt, const char *text,
                   int64_t min, int64_t max, int64_t *out);
/* Appends value to a bounded list (for repeatable options). */
bool cli_list_add(const char *cmd, const char *usage, const char *opt, const char **list, size_t *n,
                  const char *value);

/* "Kind: reason" (or "Kind: claim: reason") on stderr; returns CLI_EXIT_FAILED. */
int cli_fail(jwtd_err kind, const jwtd_error *detail);
/* "Kind: message" on stderr for failures that happen outside the library. */
int cli_failf(jwtd_err kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "jwtd CMD: message" then the usage text, both on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports a getopt_long failure ('?' or ':') for argv; returns CLI_EXIT_USAGE. */
int cli_getopt_error(const char *cmd, const char *usage, int c, char **argv);

/* Writes all of buf to fd. Returns 0 or -1 with errno set. */
int cli_write_all(int fd, const void *buf, size_t len);

#endif /* JWTD_CLI_H */
