/* `jwtd user add|list|set-roles|disable|enable|import-hash`: manage the users of the
 * database jwtd serve uses (same --db, JWTD_DB, config file). A running server sees the
 * changes at once (users are read from the store) and, for disable, within seconds (its
 * revocation set is re-read every few seconds). */
#ifdef JWTD_HAVE_SERVER
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli_server.h"

static const char user_usage[] =
    "Usage: jwtd user COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  add USERNAME (--password-stdin | --password P) [--role R]... [--email E] [--name N]\n"
    "                 create a user (role \"user\" when no --role is given)\n"
    "  list [--json]  every user: a table, or one JSON object per line\n"
    "  set-roles USERNAME ROLE...   replace the user's roles\n"
    "  disable USERNAME             refuse the user's logins and revoke every session\n"
    "  enable USERNAME              allow the user to log in again\n"
    "  import-hash USERNAME HASH|-  store a password hash made elsewhere (Argon2id PHC\n"
    "                 string or bcrypt $2b$), verified and rehashed at the next login\n"
    "\n"
    "Options of every command:\n" CLI_SERVER_COMMON_USAGE "\n"
    "Exit status: 0 success; 1 failure (stderr starts with the kind: Conflict, NotFound,\n"
    "InvalidInput, Unavailable, Internal); 2 bad usage.\n";

enum {
    OPT_DB = 256,
    OPT_CONFIG,
    OPT_PASSWORD,
    OPT_PASSWORD_STDIN,
    OPT_ROLE,
    OPT_EMAIL,
    OPT_NAME,
    OPT_JSON
};

typedef struct user_args {
    const char *db, *config;
    const char *password, *email, *name;
    bool password_stdin, json;
    const char *roles[AUTH_MAX_ROLES];
    size_t nroles;
    char **pos; /* positional arguments after the subcommand */
    int npos;
} user_args;

/* Parses the options of `jwtd user SUB`; allowed lists the subcommand's own options by
 * their OPT_ value (0-terminated). Returns CLI_EXIT_OK, or an exit code after --help or
 * a usage error (*done set). */
static int parse_args(const char *cmd, int argc, char **argv, const int *allowed, user_args *a,
                      bool *done)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"config", required_argument, NULL, OPT_CONFIG},
                                         {"password", required_argument, NULL, OPT_PASSWORD},
                                         {"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
                                         {"role", required_argument, NULL, OPT_ROLE},
                                         {"email", required_argument, NULL, OPT_EMAIL},
                                         {"name", required_argument, NULL, OPT_NAME},
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
            return cli_usage_error(cmd, user_usage, "option '%s' does not apply here",
                                   argv[optind - 1]);
        switch (c) {
        case 'h': fputs(user_usage, stdout); return CLI_EXIT_OK;
        case OPT_DB: a->db = optarg; break;
        case OPT_CONFIG: a->config = optarg; break;
        case OPT_PASSWORD: a->password = optarg; break;
        case OPT_PASSWORD_STDIN: a->password_stdin = true; break;
        case OPT_EMAIL: a->email = optarg; break;
        case OPT_NAME: a->name = optarg; break;
        case OPT_JSON: a->json = true; break;
        case OPT_ROLE:
            if (a->nroles == AUTH_MAX_ROLES)
                return cli_usage_error(cmd, user_usage, "--role may be given at most %d times",
                                       AUTH_MAX_ROLES);
            a->roles[a->nroles++] = optarg;
            break;
        default: return cli_getopt_error(cmd, user_usage, c, argv);
        }
    }
    a->pos = argv + optind;
    a->npos = argc - optind;
    *done = false;
    return CLI_EXIT_OK;
}

static void print_roles(FILE *f, const auth_user *u)
{
    for (size_t i = 0; i < u->nroles; i++)
        fprintf(f, "%s%s", i > 0 ? "," : "", u->roles[i]);
    if (u->nroles == 0)
        fputs("-", f);
}

static int user_add(int argc, char **argv)
{
    static const int allowed[] = {OPT_PASSWORD, OPT_PASSWORD_STDIN, OPT_ROLE,
                                  OPT_EMAIL,    OPT_NAME,           0};
    user_args a = {0};
    bool done;
    int rc = parse_args("user add", argc, argv, allowed, &a, &done);
    if (done)
        return rc;
    if (a.npos != 1)
        return cli_usage_error("user add", user_usage, "one USERNAME is needed");
    if ((a.password != NULL) == a.password_stdin)
        return cli_usage_error("user add", user_usage,
                               "give the password with exactly one of --password-stdin or "
                               "--password P");
    char *pw = OPENSSL_zalloc(AUTH_MAX_PASSWORD + 2);
    if (pw == NULL)
        return cli_auth_fail(AUTH_INTERNAL, "out of memory");
    if (a.password_stdin)
        rc = cli_read_stdin_secret(pw, AUTH_MAX_PASSWORD, "password");
    else
        snprintf(pw, AUTH_MAX_PASSWORD + 2, "%s", a.password);
    srv_config cfg;
    auth *au = NULL;
    if (rc == CLI_EXIT_OK)
        rc = cli_backend_open(a.config, a.db, &cfg, AUTH_OPEN_SERVICE, &au);
    if (rc == CLI_EXIT_OK) {
        static const char *const default_roles[] = {"user"};
        auth_user user;
        auth_err err = auth_user_add(
            au, a.pos[0], pw, a.email != NULL ? a.email : "", a.name != NULL ? a.name : "",
            a.nroles > 0 ? a.roles : default_roles, a.nroles > 0 ? a.nroles : 1, &user);
        if (err != AUTH_OK) {
            rc = cli_auth_fail(err, "cannot add user '%s'", a.pos[0]);
        } else {
            printf("created user %s (id %lld, roles ", user.username, (long long)user.id);
            print_roles(stdout, &user);
            printf(")\n");
        }
        cli_backend_close(&cfg, au);
    }
    OPENSSL_clear_free(pw, AUTH_MAX_PASSWORD + 2);
    return rc;
}

typedef struct list_ctx {
    bool json;
    size_t rows; /* in this page */
    int64_t last_id;
} list_ctx;

#define LIST_PAGE 500

static bool print_user(void *ctx, const auth_user *u)
{
    list_ctx *l = ctx;
    char created[32];
    cli_format_time(u->created, created);
    l->rows++;
    l->last_id = u->id;
    if (l->json) {
        json_t *roles = json_array();
        for (size_t i = 0; i < u->nroles; i++)
            json_array_append_new(roles, json_string(u->roles[i]));
        json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:b, s:I, s:I}", "id", (json_int_t)u->id,
                              "username", u->username, "email", u->email, "name", u->name, "roles",
                              roles, "disabled", u->disabled, "created", (json_int_t)u->created,
                              "updated", (json_int_t)u->updated);
        char *line = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (line != NULL)
            printf("%s\n", line);
        free(line);
        return true;
    }
    printf("%-6lld %-20s %-8s %-20s ", (long long)u->id, u->username,
           u->disabled ? "disabled" : "active", created);
    print_roles(stdout, u);
    printf("%s%s\n", u->email[0] != '\0' ? "  " : "", u->email);
    return true;
}

static int user_list(int argc, char **argv)
{
    static const int allowed[] = {OPT_JSON, 0};
    user_args a = {0};
    bool done;
    int rc = parse_args("user list", argc, argv, allowed, &a, &done);
    if (done)
        return rc;
    if (a.npos != 0)
        return cli_usage_error("user list", user_usage, "unexpected argument '%s'", a.pos[0]);
    srv_config cfg;
    auth *au = NULL;
    rc = cli_backend_open(a.config, a.db, &cfg, AUTH_OPEN_LOOKUP, &au);
    if (rc != CLI_EXIT_OK)
        return rc;
    list_ctx l = {a.json, 0, 0};
    size_t total = 0;
    if (!a.json)
        printf("%-6s %-20s %-8s %-20s %s\n", "ID", "USERNAME", "STATE", "CREATED", "ROLES  EMAIL");
    auth_err err = AUTH_OK;
    do {
        l.rows = 0;
        err = auth_user_list(au, l.last_id, LIST_PAGE, print_user, &l, &total);
    } while (err == AUTH_OK && l.rows == LIST_PAGE);
    if (err != AUTH_OK)
        rc = cli_auth_fail(err, "cannot list the users");
    cli_backend_close(&cfg, au);
    return rc;
}

/* set-roles, disable, enable, import-hash: USERNAME then the command's own arguments. */
static int user_change(const char *cmd, int argc, char **argv)
{
    static const int allowed[] = {0};
    user_args a = {0};
    bool done;
    int rc = parse_args(cmd, argc, argv, allowed, &a, &done);
    if (done)
        return rc;
    bool set_roles = strcmp(cmd, "user set-roles") == 0;
    bool import = strcmp(cmd, "user import-hash") == 0;
    if (set_roles && (a.npos < 2 || a.npos > 1 + AUTH_MAX_ROLES))
        return cli_usage_error(cmd, user_usage, "USERNAME and 1 to %d roles are needed",
                               AUTH_MAX_ROLES);
    if (import && a.npos != 2)
        return cli_usage_error(cmd, user_usage, "USERNAME and HASH (or - for stdin) are needed");
    if (!set_roles && !import && a.npos != 1)
        return cli_usage_error(cmd, user_usage, "one USERNAME is needed");

    char hash[AUTH_MAX_HASH + 2] = "";
    if (import && strcmp(a.pos[1], "-") == 0) {
        if (fgets(hash, sizeof hash, stdin) == NULL)
            return cli_auth_fail(AUTH_INVALID_INPUT, "no hash on stdin");
        hash[strcspn(hash, "\r\n")] = '\0';
    } else if (import) {
        snprintf(hash, sizeof hash, "%s", a.pos[1]);
    }

    srv_config cfg;
    auth *au = NULL;
    rc = cli_backend_open(a.config, a.db, &cfg, AUTH_OPEN_SERVICE, &au);
    if (rc != CLI_EXIT_OK)
        return rc;
    const char *username = a.pos[0];
    auth_user user;
    auth_err ferr = auth_user_find(au, username, &user);
    auth_err err = AUTH_OK;
    if (ferr != AUTH_OK && !import) {
        rc = ferr == AUTH_NOT_FOUND ? cli_auth_fail(AUTH_NOT_FOUND, "user '%s'", username)
                                    : cli_auth_fail(ferr, "cannot read the user");
    } else if (set_roles) {
        err = auth_set_roles(au, user.id, (const char *const *)(a.pos + 1), (size_t)a.npos - 1);
        if (err == AUTH_OK)
            printf("roles of %s: %s", username, a.pos[1]);
        for (int i = 2; err == AUTH_OK && i < a.npos; i++)
            printf(",%s", a.pos[i]);
        if (err == AUTH_OK)
            printf("\n");
    } else if (import) {
        err = auth_import_hash(au, username, hash);
        if (err == AUTH_OK)
            printf("imported a password hash for %s (rehashed to Argon2id at the next login)\n",
                   username);
    } else {
        bool disable = strcmp(cmd, "user disable") == 0;
        err = auth_set_disabled(au, user.id, disable);
        if (err == AUTH_OK)
            printf(disable ? "disabled %s: logins refused, every session revoked\n"
                           : "enabled %s\n",
                   username);
    }
    if (err != AUTH_OK)
        rc = cli_auth_fail(err, "%s '%s'", cmd, username);
    OPENSSL_cleanse(hash, sizeof hash);
    cli_backend_close(&cfg, au);
    return rc;
}

int cli_user_main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("user", user_usage, "a command is needed");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(user_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(sub, "add") == 0)
        return user_add(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0)
        return user_list(argc - 1, argv + 1);
    if (strcmp(sub, "set-roles") == 0)
        return user_change("user set-roles", argc - 1, argv + 1);
    if (strcmp(sub, "disable") == 0)
        return user_change("user disable", argc - 1, argv + 1);
    if (strcmp(sub, "enable") == 0)
        return user_change("user enable", argc - 1, argv + 1);
    if (strcmp(sub, "import-hash") == 0)
        return user_change("user import-hash", argc - 1, argv + 1);
    return cli_usage_error("user", user_usage, "unknown command '%s'", sub);
}
#endif /* JWTD_HAVE_SERVER */
