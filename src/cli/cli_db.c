/* `jwtd db backup|check|migrate`: the database's maintenance, through src/auth. backup
 * copies a live SQLite database with the online backup API (consistent while jwtd serve
 * runs); check runs the integrity check and shows the schema version; migrate brings the
 * schema to this build's version and says what it did. With PostgreSQL, backup says to use
 * pg_dump and check is a round trip plus the schema version. */
#ifdef JWTD_HAVE_SERVER
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli_server.h"

static const char db_usage[] =
    "Usage: jwtd db COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  backup FILE  copy the database into FILE (a new file, mode 0600) while jwtd serve\n"
    "               runs: SQLite's online backup, the database as of one commit.\n"
    "               PostgreSQL: not supported, use pg_dump\n"
    "  check        integrity check and schema version; exit 1 when a problem is found\n"
    "  migrate      bring the schema to this build's version (jwtd serve also does at\n"
    "               start-up) and print \"migrated from N to M\" or \"already at M\"\n"
    "\n"
    "Options of every command:\n" CLI_SERVER_COMMON_USAGE "\n"
    "Exit status: 0 success; 1 failure (stderr starts with the kind); 2 bad usage.\n";

enum { OPT_DB = 256, OPT_CONFIG };

/* Prints the check's report; returns the exit code (1 when the database has a problem). */
static int db_check(auth *au, bool migrate)
{
    auth_db_report r;
    auth_err err = auth_db_check(au, &r);
    if (err != AUTH_OK)
        return cli_auth_fail(err, "cannot check the database");
    if (migrate) {
        if (r.schema_at_open < r.schema)
            printf("migrated from %lld to %lld\n", (long long)r.schema_at_open,
                   (long long)r.schema);
        else
            printf("already at %lld\n", (long long)r.schema);
        return CLI_EXIT_OK;
    }
    printf("backend: %s\nschema: %lld (this build: %lld)\nintegrity: %s\n", r.backend,
           (long long)r.schema, (long long)r.schema_latest, r.integrity);
    if (r.schema_at_open < r.schema)
        printf("note: opening migrated the schema from %lld\n", (long long)r.schema_at_open);
    if (strcmp(r.integrity, "ok") != 0) {
        fprintf(stderr, "Corrupt: the integrity check failed: %s\n", r.integrity);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

int cli_db_main(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, OPT_DB},
                                         {"config", required_argument, NULL, OPT_CONFIG},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    if (argc < 2)
        return cli_usage_error("db", db_usage, "a command is needed");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(db_usage, stdout);
        return CLI_EXIT_OK;
    }
    bool backup = strcmp(sub, "backup") == 0, check = strcmp(sub, "check") == 0,
         migrate = strcmp(sub, "migrate") == 0;
    if (!backup && !check && !migrate)
        return cli_usage_error("db", db_usage, "unknown command '%s'", sub);
    const char *cmd = backup ? "db backup" : check ? "db check" : "db migrate";
    const char *db = NULL, *config = NULL;
    int c;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(db_usage, stdout); return CLI_EXIT_OK;
        case OPT_DB: db = optarg; break;
        case OPT_CONFIG: config = optarg; break;
        default: return cli_getopt_error(cmd, db_usage, c, argv);
        }
    }
    const char *file = NULL;
    if (backup && optind < argc)
        file = argv[optind++];
    if (backup && file == NULL)
        return cli_usage_error(cmd, db_usage, "the backup FILE is needed");
    if (optind < argc)
        return cli_usage_error(cmd, db_usage, "unexpected argument '%s'", argv[optind]);

    srv_config cfg;
    auth *au = NULL;
    int rc = cli_backend_open(config, db, &cfg, AUTH_OPEN_LOOKUP, &au);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (backup) {
        char why[512];
        auth_err err = auth_db_backup(au, file, why, sizeof why);
        /* why says all: exists, unsupported (pg_dump), or the store's error kind. */
        if (err != AUTH_OK) {
            fprintf(stderr, "BackupFailed: %s\n", why);
            rc = CLI_EXIT_FAILED;
        } else
            printf("backed up to %s\n", file);
    } else {
        rc = db_check(au, migrate);
    }
    cli_backend_close(&cfg, au);
    return rc;
}
#endif /* JWTD_HAVE_SERVER */
