/* `jwtd serve`: the authentication server. Its options come from the table in
 * src/server/config.c (flag = environment variable = config-file key), so --help lists
 * exactly what the server reads. Also the helpers `jwtd user` and `jwtd keys` share with
 * it (cli_server.h): opening the database a configuration names. */
#ifdef JWTD_HAVE_SERVER
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_server.h"

enum { OPT_CONFIG = 256, OPT_TABLE = 300 };

/* Generated from the option table once; owned until exit. */
static char *serve_usage(void)
{
    static char *text;
    size_t len = 0;
    if (text != NULL)
        return text;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return (char *)"Usage: jwtd serve [OPTIONS]\n";
    fputs("Usage: jwtd serve [OPTIONS]\n"
          "\n"
          "Runs the authentication server (register, login, refresh, logout, /me, admin routes,\n"
          "the JWKS, metrics and the demo page) on a SQLite database. On start-up it prints\n"
          "\"jwtd: listening on http://ADDR:PORT (data: /path/to/db)\" on stdout.\n"
          "\n"
          "Every option is a flag, an environment variable and a config-file key (the name\n"
          "without --). Priority: flags > environment > config file > defaults.\n"
          "\n"
          "  --config FILE\n"
          "      env JWTD_CONFIG: a file of \"key = value\" lines ('#' starts a comment line)\n",
          f);
    for (size_t i = 0; i < srv_options_count; i++) {
        const srv_option *o = &srv_options[i];
        if (o->type == SRV_OPT_SECRET) {
            fprintf(f, "  %s (environment or config file only, never a flag)\n", o->name);
        } else if (o->type == SRV_OPT_ENUM) {
            fprintf(f, "  --%s ", o->name);
            for (size_t c = 0; o->choices[c] != NULL; c++)
                fprintf(f, "%s%s", c > 0 ? "|" : "", o->choices[c]);
            fputc('\n', f);
        } else {
            fprintf(f, "  --%s %s\n", o->name, o->metavar);
        }
        fprintf(f, "      %s\n      env %s; default %s\n", o->help, o->env,
                o->def[0] != '\0' ? o->def : "(none)");
    }
    fputs("\n"
          "The tutorials' variables are read too (a JWTD_* variable wins over them):\n"
          "JWT_SECRET (= jwt-secret), JWT_EXPIRATION_SECONDS, JWT_EXPIRATION_MINUTES,\n"
          "JWT_EXPIRATION_HOURS (= access-ttl), REFRESH_TOKEN_EXPIRATION_DAYS (= refresh-ttl).\n"
          "\n"
          "Exit status: 0 after SIGINT or SIGTERM; 1 start-up failed (database, signing keys,\n"
          "listen address); 2 bad usage or a bad configuration value.\n",
          f);
    if (fclose(f) != 0)
        return (char *)"Usage: jwtd serve [OPTIONS]\n";
    return text;
}

int cli_serve_main(int argc, char **argv)
{
    struct option opts[64];
    size_t n = 0;
    for (size_t i = 0; i < srv_options_count && n < 60; i++)
        if (srv_options[i].type != SRV_OPT_SECRET)
            opts[n++] =
                (struct option){srv_options[i].name, required_argument, NULL, OPT_TABLE + (int)i};
    opts[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
    opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    opts[n] = (struct option){NULL, 0, NULL, 0};

    /* Flags are applied after the file and the environment, in the order given. */
    int flag_opt[64];
    const char *flag_val[64], *config_path = NULL;
    size_t nflags = 0;
    const char *usage = serve_usage();
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        } else if (c == OPT_CONFIG) {
            config_path = optarg;
        } else if (c >= OPT_TABLE) {
            if (nflags == 64)
                return cli_usage_error("serve", usage, "more than 64 options");
            flag_opt[nflags] = c - OPT_TABLE;
            flag_val[nflags++] = optarg;
        } else {
            return cli_getopt_error("serve", usage, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("serve", usage, "unexpected argument '%s'", argv[optind]);

    srv_config cfg;
    char err[SRV_ERRMSG];
    int rc = srv_config_load(&cfg, config_path, err, sizeof err);
    for (size_t i = 0; rc == 0 && i < nflags; i++) {
        const srv_option *o = &srv_options[flag_opt[i]];
        char source[80];
        snprintf(source, sizeof source, "--%s", o->name);
        rc = srv_config_set(&cfg, o, flag_val[i], source, err, sizeof err);
    }
    if (rc == 0)
        rc = srv_config_finish(&cfg, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "jwtd: %s\n", err);
        srv_config_free(&cfg);
        return CLI_EXIT_USAGE;
    }
    rc = srv_run(&cfg) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
    srv_config_free(&cfg);
    return rc;
}

/* ---- Shared with jwtd user and jwtd keys ---- */

/* The store's log hook on the command line: a plain line on stderr. */
static void store_logged(void *ctx, auth_log_level level, const char *what, const char *msg)
{
    (void)ctx, (void)level;
    fprintf(stderr, "jwtd: store: %s: %s\n", what, msg);
}

int cli_backend_open(const char *config_path, const char *db, srv_config *cfg, auth_open_mode mode,
                     auth **au)
{
    char err[SRV_ERRMSG];
    *au = NULL;
    int rc = srv_config_load(cfg, config_path, err, sizeof err);
    if (rc == 0 && db != NULL)
        rc = srv_config_set(cfg, srv_option_find("db"), db, "--db", err, sizeof err);
    if (rc == 0)
        rc = srv_config_finish(cfg, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "jwtd: %s\n", err);
        srv_config_free(cfg);
        return CLI_EXIT_USAGE;
    }
    if (srv_backend_open(cfg, mode, &(auth_log){store_logged, NULL}, au, err, sizeof err) != 0) {
        fprintf(stderr, "Unavailable: %s\n", err);
        srv_config_free(cfg);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

void cli_backend_close(srv_config *cfg, auth *au)
{
    auth_free(au);
    srv_config_free(cfg);
}

/* The names of the auth service's errors on the command line (the first word on stderr). */
static const char *auth_kind(auth_err err)
{
    switch (err) {
    case AUTH_OK: return "OK";
    case AUTH_BAD_CREDENTIALS: return "BadCredentials";
    case AUTH_INVALID_TOKEN: return "InvalidToken";
    case AUTH_TOKEN_REUSED: return "TokenReused";
    case AUTH_FORBIDDEN: return "Forbidden";
    case AUTH_CONFLICT: return "Conflict";
    case AUTH_INVALID_INPUT: return "InvalidInput";
    case AUTH_NOT_FOUND: return "NotFound";
    case AUTH_UNAVAILABLE: return "Unavailable";
    case AUTH_INTERNAL: return "Internal";
    }
    return "Internal";
}

int cli_auth_fail(auth_err err, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", auth_kind(err));
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    fprintf(stderr, ": %s\n", auth_err_message(err));
    return CLI_EXIT_FAILED;
}

void cli_format_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)t);
}
int cli_read_stdin_secret(char *buf, size_t max, const char *what)
{
    size_t len = 0;
    for (;;) {
        ssize_t r = read(STDIN_FILENO, buf + len, max + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cli_auth_fail(AUTH_INVALID_INPUT, "cannot read the %s from stdin (%s)", what,
                                 strerror(errno));
        if (r == 0 || (len += (size_t)r) > max)
            break;
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    if (len > max || memchr(buf, '\0', len) != NULL)
        return cli_auth_fail(AUTH_INVALID_INPUT,
                             "the %s on stdin is longer than %zu bytes or contains a NUL byte",
                             what, max);
    return CLI_EXIT_OK;
}
#endif /* JWTD_HAVE_SERVER */
