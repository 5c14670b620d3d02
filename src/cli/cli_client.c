/* `jwtd client add|list|remove|rotate-secret`: manage the machine clients (OAuth 2.0 client
 * credentials) of the database jwtd serve uses (same --db, JWTD_DB, config file). A secret
 * is printed once, when it is made, and never again: the database keeps only a keyed hash.
 * A running server sees a new client at once; a removal or rotation revokes the client's
 * access tokens, which a running server learns within seconds (its sync thread). */
#ifdef JWTD_HAVE_SERVER
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli_server.h"

static const char client_usage[] =
    "Usage: jwtd client COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  add NAME [--role R]... [--secret-stdin]\n"
    "                 register a client (NAME: 1 to 64 of A-Z a-z 0-9 . _ -, case-sensitive);\n"
    "                 without --secret-stdin a 256-bit secret is generated and printed once;\n"
    "                 a secret given on stdin must be 16 to 256 bytes\n"
    "  list [--json]  every client and its roles (never a secret)\n"
    "  remove NAME    delete the client and revoke its access tokens\n"
    "  rotate-secret NAME\n"
    "                 a new generated secret, printed once; the old one stops working and\n"
    "                 the client's access tokens are revoked\n"
    "\n"
    "Options of every command:\n" CLI_SERVER_COMMON_USAGE "\n"
    "Exit status: 0 success; 1 failure (stderr starts with the kind: Conflict, NotFound,\n"
    "InvalidInput, Unavailable, Internal); 2 bad usage.\n";

enum { OPT_DB = 256, OPT_CONFIG, OPT_ROLE, OPT_SECRET_STDIN, OPT_JSON };

typedef struct client_args {
    const char *db, *config;
    bool secret_stdin, json;
    const char *roles[AUTH_MAX_ROLES];
    size_t nroles;
    char **pos; /* positional arguments after the subcommand */
    int npos;
} client_args;

/* Parses the options of `jwtd client SUB`; allowed lists the subcommand's own options by
 * their OPT_ value (0-terminated). Returns CLI_EXIT_OK, or an exit code after --help or a
 * usage error (*done set). */
static int parse_args(const char *cmd, int argc, char **argv, const int *allowed, client_args *a,
                      bool *done)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"config", required_argument, NULL, OPT_CONFIG},
                                         {"role", required_argument, NULL, OPT_ROLE},
                                         {"secret-stdin", no_argument, NULL, OPT_SECRET_STDIN},
                                         {"json", no_argument, NULL, OPT_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    *done = true;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        bool ok = c == OPT_DB || c == OPT_CONFIG || c == 'h';
        for (const int *p = allowed; !ok && *p != 0; p++)
            ok = *p == c;
        if (!ok && c >= OPT_DB)
            return cli_usage_error(cmd, client_usage, "option '%s' does not apply here",
                                   argv[optind - 1]);
        switch (c) {
        case 'h': fputs(client_usage, stdout); return CLI_EXIT_OK;
        case OPT_DB: a->db = optarg; break;
        case OPT_CONFIG: a->config = optarg; break;
        case OPT_SECRET_STDIN: a->secret_stdin = true; break;
        case OPT_JSON: a->json = true; break;
        case OPT_ROLE:
            if (a->nroles == AUTH_MAX_ROLES)
                return cli_usage_error(cmd, client_usage, "--role may be given at most %d times",
                                       AUTH_MAX_ROLES);
            a->roles[a->nroles++] = optarg;
            break;
        default: return cli_getopt_error(cmd, client_usage, c, argv);
        }
    }
    a->pos = argv + optind;
    a->npos = argc - optind;
    *done = false;
    return CLI_EXIT_OK;
}

static void print_roles(FILE *f, const auth_client *c)
{
    for (size_t i = 0; i < c->nroles; i++)
        fprintf(f, "%s%s", i > 0 ? "," : "", c->roles[i]);
    if (c->nroles == 0)
        fputs("-", f);
}

static int client_add(int argc, char **argv)
{
    static const int allowed[] = {OPT_ROLE, OPT_SECRET_STDIN, 0};
    client_args a = {0};
    bool done;
    int rc = parse_args("client add", argc, argv, allowed, &a, &done);
    if (done)
        return rc;
    if (a.npos != 1)
        return cli_usage_error("client add", client_usage, "one NAME is needed");
    char *given = OPENSSL_zalloc(AUTH_MAX_CLIENT_SECRET + 2);
    if (given == NULL)
        return cli_auth_fail(AUTH_INTERNAL, "out of memory");
    if (a.secret_stdin)
        rc = cli_read_stdin_secret(given, AUTH_MAX_CLIENT_SECRET, "client secret");
    size_t given_len = strlen(given);
    if (rc == CLI_EXIT_OK && a.secret_stdin && given_len < AUTH_MIN_CLIENT_SECRET)
        rc = cli_auth_fail(AUTH_INVALID_INPUT,
                           "the client secret must be at least %d bytes (better: let jwtd "
                           "generate one)",
                           AUTH_MIN_CLIENT_SECRET);
    srv_config cfg;
    auth *au = NULL;
    if (rc == CLI_EXIT_OK)
        rc = cli_backend_open(a.config, a.db, &cfg, AUTH_OPEN_SERVICE, &au);
    if (rc == CLI_EXIT_OK) {
        char secret[AUTH_CLIENT_SECRET_CHARS + 1];
        auth_client c;
        auth_err err = auth_client_add(au, a.pos[0], a.roles, a.nroles,
                                       a.secret_stdin ? given : NULL, given_len, secret, &c);
        if (err != AUTH_OK) {
            rc = cli_auth_fail(err, "cannot add client '%s'%s", a.pos[0],
                               err == AUTH_INVALID_INPUT
                                   ? " (NAME: 1 to 64 of A-Z a-z 0-9 . _ -; roles: a-z 0-9 _ -)"
                                   : "");
        } else {
            printf("created client %s (roles ", c.name);
            print_roles(stdout, &c);
            printf(")\n");
            if (!a.secret_stdin)
                printf("client_secret: %s\n(shown once: store it now; jwtd keeps only a hash)\n",
                       secret);
        }
        OPENSSL_cleanse(secret, sizeof secret);
        cli_backend_close(&cfg, au);
    }
    OPENSSL_clear_free(given, AUTH_MAX_CLIENT_SECRET + 2);
    return rc;
}

static bool print_client(void *ctx, const auth_client *c)
{
    const bool *json = ctx;
    char created[32];
    if (*json) {
        json_t *roles = json_array();
        for (size_t i = 0; i < c->nroles; i++)
            json_array_append_new(roles, json_string(c->roles[i]));
        json_t *o = json_pack("{s:s, s:o, s:I, s:I}", "client_id", c->name, "roles", roles,
                              "created", (json_int_t)c->created, "updated", (json_int_t)c->updated);
        char *line = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (line != NULL)
            printf("%s\n", line);
        free(line);
        return true;
    }
    cli_format_time(c->created, created);
    printf("%-30s %-20s ", c->name, created);
    print_roles(stdout, c);
    printf("\n");
    return true;
}

static int client_list(int argc, char **argv)
{
    static const int allowed[] = {OPT_JSON, 0};
    client_args a = {0};
    bool done;
    int rc = parse_args("client list", argc, argv, allowed, &a, &done);
    if (done)
        return rc;
    if (a.npos != 0)
        return cli_usage_error("client list", client_usage, "unexpected argument '%s'", a.pos[0]);
    srv_config cfg;
    auth *au = NULL;
    rc = cli_backend_open(a.config, a.db, &cfg, AUTH_OPEN_LOOKUP, &au);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!a.json)
        printf("%-30s %-20s %s\n", "CLIENT_ID", "CREATED", "ROLES");
    auth_err err = auth_client_list(au, print_client, &a.json);
    if (err != AUTH_OK)
        rc = cli_auth_fail(err, "cannot list the clients");
    cli_backend_close(&cfg, au);
    return rc;
}

/* remove and rotate-secret: one NAME. */
static int client_change(const char *cmd, int argc, char **argv)
{
    static const int allowed[] = {0};
    client_args a = {0};
    bool done;
    int rc = parse_args(cmd, argc, argv, allowed, &a, &done);
    if (done)
        return rc;
    if (a.npos != 1)
        return cli_usage_error(cmd, client_usage, "one NAME is needed");
    srv_config cfg;
    auth *au = NULL;
    rc = cli_backend_open(a.config, a.db, &cfg, AUTH_OPEN_SERVICE, &au);
    if (rc != CLI_EXIT_OK)
        return rc;
    const char *name = a.pos[0];
    char secret[AUTH_CLIENT_SECRET_CHARS + 1];
    auth_err err;
    if (strcmp(cmd, "client remove") == 0) {
        err = auth_client_remove(au, name);
        if (err == AUTH_OK)
            printf("removed client %s: its access tokens are revoked\n", name);
    } else {
        err = auth_client_rotate_secret(au, name, secret);
        if (err == AUTH_OK)
            printf("client_secret: %s\n(shown once: the old secret no longer works and the "
                   "client's access tokens are revoked)\n",
                   secret);
        OPENSSL_cleanse(secret, sizeof secret);
    }
    if (err != AUTH_OK)
        rc = cli_auth_fail(err, "%s '%s'", cmd, name);
    cli_backend_close(&cfg, au);
    return rc;
}

int cli_client_main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("client", client_usage, "a command is needed");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(client_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(sub, "add") == 0)
        return client_add(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0)
        return client_list(argc - 1, argv + 1);
    if (strcmp(sub, "remove") == 0)
        return client_change("client remove", argc - 1, argv + 1);
    if (strcmp(sub, "rotate-secret") == 0)
        return client_change("client rotate-secret", argc - 1, argv + 1);
    return cli_usage_error("client", client_usage, "unknown command '%s'", sub);
}
#endif /* JWTD_HAVE_SERVER */
