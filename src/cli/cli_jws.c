/* `jwtd jws verify`: a raw JWS in compact or JSON (flattened or general) serialization.
 * Only the signature is checked and the payload bytes are printed as they are; the
 * algorithm comes from --alg or the key file's own "alg", never from the JWS. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char jws_usage[] = "Usage: jwtd jws verify [OPTIONS] [JWS | -]\n"
                                "\n"
                                "  verify   verify a raw JWS and print its payload\n"
                                "\n"
                                "Run 'jwtd jws verify --help' for its options.\n";

static const char verify_usage[] =
    "Usage: jwtd jws verify --key FILE [--alg ALG]... [--allow-b64-false] [--payload FILE]\n"
    "                       [--max-size BYTES] [JWS | -]\n"
    "\n"
    "Verifies a raw JWS, compact or JSON serialization (flattened or general: one\n"
    "verifying signature is enough), from the argument, or stdin with '-' or when stdin\n"
    "is not a terminal, and writes the payload bytes to stdout unchanged. The payload\n"
    "need not be JSON and no claim is checked.\n"
    "\n"
    "  --key FILE          secret, PEM, JWK or JWKS\n"
    "  --alg ALG           an accepted algorithm (repeatable); without it, the algorithms\n"
    "                      the keys name in their own \"alg\" (never the JWS's)\n"
    "  --allow-b64-false   accept RFC 7797 unencoded payloads (b64:false with crit)\n"
    "  --payload FILE      the detached payload, for a compact JWS with an empty payload\n"
    "  --max-size BYTES    largest JWS accepted (default 8192)\n"
    "  --help              this text\n"
    "\n"
    "Exit status: 0 valid, 1 rejected (stderr starts with the error kind), 2 bad usage.\n";

enum { OPT_KEY = 256, OPT_ALG, OPT_B64_FALSE, OPT_PAYLOAD, OPT_MAX_SIZE };

static int jws_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, OPT_KEY},
                                         {"alg", required_argument, NULL, OPT_ALG},
                                         {"allow-b64-false", no_argument, NULL, OPT_B64_FALSE},
                                         {"payload", required_argument, NULL, OPT_PAYLOAD},
                                         {"max-size", required_argument, NULL, OPT_MAX_SIZE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static const char cmd[] = "jws verify";
    const char *key_path = NULL, *payload_path = NULL;
    jwtd_alg algs[JWTD_ALG_COUNT];
    size_t n_algs = 0;
    bool allow_b64_false = false, max_size_given = false;
    int64_t max_size = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        jwtd_alg alg;
        bool seen = false;
        switch (c) {
        case 'h': fputs(verify_usage, stdout); return CLI_EXIT_OK;
        case OPT_KEY: key_path = optarg; break;
        case OPT_ALG:
            if (!cli_parse_alg(cmd, verify_usage, optarg, &alg))
                return CLI_EXIT_USAGE;
            for (size_t i = 0; i < n_algs; i++)
                seen = seen || algs[i] == alg;
            if (!seen)
                algs[n_algs++] = alg;
            break;
        case OPT_B64_FALSE: allow_b64_false = true; break;
        case OPT_PAYLOAD: payload_path = optarg; break;
        case OPT_MAX_SIZE:
            if (!cli_parse_int(cmd, verify_usage, "--max-size", optarg, 1, CLI_MAX_INPUT_BYTES,
                               &max_size))
                return CLI_EXIT_USAGE;
            max_size_given = true;
            break;
        default: return cli_getopt_error(cmd, verify_usage, c, argv);
        }
    }
    if (argc - optind > 1)
        return cli_usage_error(cmd, verify_usage, "unexpected argument '%s'", argv[optind + 1]);
    if (key_path == NULL)
        return cli_usage_error(cmd, verify_usage, "--key FILE is needed");

    jwtd_keyset *set = NULL;
    jwtd_validation *v = NULL;
    jwtd_token *tok = NULL;
    cli_buf input = {0}, payload = {0};
    int rc = cli_load_keyset(key_path, &set);
    if (rc == CLI_EXIT_OK && n_algs == 0 && !cli_algs_from_keys(set, algs, &n_algs))
        rc = cli_usage_error(cmd, verify_usage,
                             "--alg is needed (the key file does not name its algorithm)");
    if (rc == CLI_EXIT_OK) {
        jwtd_err err = jwtd_validation_new(&v);
        for (size_t i = 0; err == JWTD_OK && i < n_algs; i++)
            err = jwtd_validation_allow_alg(v, algs[i]);
        if (err == JWTD_OK && allow_b64_false)
            err = jwtd_validation_allow_unencoded_payload(v, true);
        if (err == JWTD_OK && max_size_given)
            err = jwtd_validation_set_max_token_bytes(v, (size_t)max_size);
        if (err != JWTD_OK)
            rc = cli_failf(err, "cannot set up the validation from these options");
    }
    if (rc == CLI_EXIT_OK && payload_path != NULL &&
        cli_read_file(payload_path, CLI_MAX_INPUT_BYTES, &payload) != 0)
        rc = errno == EFBIG
                 ? cli_failf(JWTD_ERR_TOKEN_TOO_LARGE, "payload file '%s' is larger than %u bytes",
                             payload_path, CLI_MAX_INPUT_BYTES)
                 : cli_failf(JWTD_ERR_INVALID_ARGUMENT, "cannot read payload file '%s': %s",
                             payload_path, strerror(errno));
    if (rc == CLI_EXIT_OK)
        rc = cli_read_token_input(cmd, verify_usage, optind < argc ? argv[optind] : NULL, &input);
    if (rc == CLI_EXIT_OK) {
        jwtd_error detail = {0};
        jwtd_err err = jwtd_jws_verify(input.data, input.len, payload_path ? payload.data : NULL,
                                       payload.len, set, v, &tok, &detail);
        size_t len = 0;
        const char *bytes = err == JWTD_OK ? jwtd_token_payload(tok, &len) : NULL;
        if (err != JWTD_OK)
            rc = cli_fail(err, &detail);
        else if (cli_write_all(STDOUT_FILENO, bytes, len) != 0)
            rc = cli_failf(JWTD_ERR_INVALID_ARGUMENT, "cannot write the payload to stdout: %s",
                           strerror(errno));
    }
    jwtd_token_free(tok);
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    cli_buf_free(&input);
    cli_buf_free(&payload);
    return rc;
}

int cli_jws_main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("jws", jws_usage, "a subcommand is needed");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(jws_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(sub, "verify") == 0)
        return jws_verify(argc - 1, argv + 1);
    return cli_usage_error("jws", jws_usage, "unknown subcommand '%s'", sub);
}
