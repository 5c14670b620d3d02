/* jwtd: the command-line tool over libjwtd. This file only picks the command group;
 * each group (cli_token.c, cli_jws.c, cli_keygen.c; with the server, cli_serve.c,
 * cli_user.c, cli_keys.c, cli_db.c, cli_client.c) parses its own options.
 * Exit codes: 0 success, 1 the operation failed, 2 bad usage. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: jwtd COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  token sign     sign a JWT:   --key FILE --alg ALG [CLAIMS_JSON | -]\n"
    "  token verify   verify a JWT: --key FILE --alg ALG... [TOKEN | -]\n"
    "  token decode   show a JWT's header and claims WITHOUT verifying them\n"
    "  jws verify     verify a raw JWS (compact or JSON) and print its payload\n"
    "  keygen         generate a signing key: --alg ALG [--out FILE] [--jwk]\n"
#ifdef JWTD_HAVE_SERVER
    "  serve          run the authentication server (HTTP API, JWKS, demo page)\n"
    "  user           add|list|set-roles|disable|enable|import-hash users of its database\n"
    "  keys           list|rotate the server's signing keys\n"
    "  db             backup|check|migrate the server's database\n"
    "  client         add|list|remove|rotate-secret machine clients (client credentials)\n"
#endif
    "\n"
    "  jwtd --help, jwtd --version; every command takes --help.\n"
    "\n"
    "Exit status: 0 success; 1 the operation failed (stderr starts with the error kind,\n"
    "e.g. \"ExpiredSignature: ...\"); 2 bad usage.\n";

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("", usage, "a command is needed");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("jwtd %s\n", JWTD_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "token") == 0)
        return cli_token_main(argc - 1, argv + 1);
    if (strcmp(cmd, "jws") == 0)
        return cli_jws_main(argc - 1, argv + 1);
    if (strcmp(cmd, "keygen") == 0)
        return cli_keygen_main(argc - 1, argv + 1);
#ifdef JWTD_HAVE_SERVER
    if (strcmp(cmd, "serve") == 0)
        return cli_serve_main(argc - 1, argv + 1);
    if (strcmp(cmd, "user") == 0)
        return cli_user_main(argc - 1, argv + 1);
    if (strcmp(cmd, "keys") == 0)
        return cli_keys_main(argc - 1, argv + 1);
    if (strcmp(cmd, "db") == 0)
        return cli_db_main(argc - 1, argv + 1);
    if (strcmp(cmd, "client") == 0)
        return cli_client_main(argc - 1, argv + 1);
#endif
    return cli_usage_error("", usage, "unknown command '%s'", cmd);
}
