/* `jwtd keys list|rotate`: the signing keys of the database jwtd serve uses. Rotation adds
 * a new current key; the previous one is retired but stays in the JWKS and keeps verifying
 * until every token it signed has expired. A running server picks the new key up within
 * seconds (it re-reads the keys periodically). Private keys are never printed. */
#ifdef JWTD_HAVE_SERVER
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_server.h"

static const char keys_usage[] =
    "Usage: jwtd keys COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  list [--json]       every signing key: kid, alg, created, retired (\"-\": current)\n"
    "  rotate [--alg ALG]  make a new current signing key (default: key-alg, RS256) and\n"
    "                      retire the previous one; prints the new kid\n"
    "\n"
    "Options of every command:\n" CLI_SERVER_COMMON_USAGE "\n"
    "Exit status: 0 success; 1 failure (stderr starts with the kind); 2 bad usage.\n";

enum { OPT_DB = 256, OPT_CONFIG, OPT_ALG, OPT_JSON };

static bool print_key(void *ctx, const auth_key_info *k)
{
    const bool *json = ctx;
    char created[32], retired[32] = "-";
    cli_format_time(k->created, created);
    if (k->retired != 0)
        cli_format_time(k->retired, retired);
    if (*json) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:o}", "kid", k->kid, "alg", k->alg, "created",
                              (json_int_t)k->created, "retired",
                              k->retired != 0 ? json_integer(k->retired) : json_null());
        char *line = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (line != NULL)
            printf("%s\n", line);
        free(line);
    } else {
        printf("%-44s %-6s %-20s %s\n", k->kid, k->alg, created, retired);
    }
    return true;
}

int cli_keys_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, OPT_DB},   {"config", required_argument, NULL, OPT_CONFIG},
        {"alg", required_argument, NULL, OPT_ALG}, {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    if (argc < 2)
        return cli_usage_error("keys", keys_usage, "a command is needed");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(keys_usage, stdout);
        return CLI_EXIT_OK;
    }
    bool list = strcmp(sub, "list") == 0, rotate = strcmp(sub, "rotate") == 0;
    if (!list && !rotate)
        return cli_usage_error("keys", keys_usage, "unknown command '%s'", sub);
    const char *cmd = list ? "keys list" : "keys rotate";
    const char *db = NULL, *config = NULL;
    jwtd_alg alg = JWTD_ALG_UNKNOWN;
    bool json = false;
    int c;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(keys_usage, stdout); return CLI_EXIT_OK;
        case OPT_DB: db = optarg; break;
        case OPT_CONFIG: config = optarg; break;
        case OPT_ALG:
            if (!rotate)
                return cli_usage_error(cmd, keys_usage, "--alg applies to keys rotate");
            if (!cli_parse_alg(cmd, keys_usage, optarg, &alg))
                return CLI_EXIT_USAGE;
            break;
        case OPT_JSON:
            if (!list)
                return cli_usage_error(cmd, keys_usage, "--json applies to keys list");
            json = true;
            break;
        default: return cli_getopt_error(cmd, keys_usage, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, keys_usage, "unexpected argument '%s'", argv[optind]);

    srv_config cfg;
    auth *au = NULL;
    int rc = cli_backend_open(config, db, &cfg, rotate ? AUTH_OPEN_SERVICE : AUTH_OPEN_LOOKUP, &au);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (list) {
        if (!json)
            printf("%-44s %-6s %-20s %s\n", "KID", "ALG", "CREATED", "RETIRED");
        auth_err err = auth_keys_list(au, print_key, &json);
        if (err != AUTH_OK)
            rc = cli_auth_fail(err, "cannot list the signing keys");
    } else {
        char kid[AUTH_MAX_KID + 1] = "";
        auth_err err = auth_keys_rotate(au, alg, kid);
        if (err != AUTH_OK)
            rc = cli_auth_fail(err, "cannot rotate the signing key");
        else
            printf("%s\n", kid);
    }
    cli_backend_close(&cfg, au);
    return rc;
}
#endif /* JWTD_HAVE_SERVER */
