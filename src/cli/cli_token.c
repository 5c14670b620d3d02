/* `jwtd token sign|verify|decode`: JWTs (compact JWS whose payload is a JSON claims
 * object). verify pins the algorithms from --alg or the key file, never from the token;
 * decode shows a token without checking anything and says so on stderr. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

static const char token_usage[] = "Usage: jwtd token sign|verify|decode [OPTIONS] [INPUT]\n"
                                  "\n"
                                  "  sign     sign claims into a JWT (token on stdout)\n"
                                  "  verify   verify a JWT (claims JSON on stdout)\n"
                                  "  decode   show header and claims WITHOUT verifying them\n"
                                  "\n"
                                  "Run 'jwtd token SUBCOMMAND --help' for its options.\n";

static const char sign_usage[] =
    "Usage: jwtd token sign --key FILE [--alg ALG] [--kid K] [--exp-in SECONDS] [--typ T]\n"
    "                       [CLAIMS_JSON | -]\n"
    "\n"
    "Signs the claims (a JSON object; '-' reads it from stdin; none means {}) and prints\n"
    "the compact token. iat is set to now unless the claims have one; exp is set to now +\n"
    "SECONDS (default 3600) unless the claims have one and --exp-in is not given;\n"
    "--exp-in 0 adds no exp.\n"
    "\n"
    "  --key FILE        private key: raw secret (one trailing newline is ignored), PEM,\n"
    "                    JWK, or JWKS (then --kid picks the key)\n"
    "  --alg ALG         HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384\n"
    "                    ES512 EdDSA; may be left out when the JWK names its own alg\n"
    "  --kid K           header kid (default: the key's kid); selects the key in a JWKS;\n"
    "                    --kid '' signs without a kid\n"
    "  --exp-in SECONDS  lifetime; negative values make an already expired token\n"
    "  --typ T           header typ (e.g. JWT, at+jwt)\n"
    "  --help            this text\n"
    "\n"
    "Exit status: 0 success, 1 failure (stderr starts with the error kind), 2 bad usage.\n";

static const char verify_usage[] =
    "Usage: jwtd token verify --key FILE --alg ALG... [--aud A]... [--iss I]... [--sub S]...\n"
    "                         [--leeway N] [--require CLAIM]... [--no-exp] [--typ T]\n"
    "                         [--max-size BYTES] [TOKEN | -]\n"
    "\n"
    "Verifies the token (from the argument, or stdin with '-' or when stdin is not a\n"
    "terminal) and prints its claims as JSON. The signature is checked first, with an\n"
    "algorithm pinned here, never taken from the token; then exp (required unless\n"
    "--no-exp), nbf, and the checks asked for.\n"
    "\n"
    "  --key FILE         secret, PEM, JWK or JWKS (the token's kid picks the key)\n"
    "  --alg ALG          an accepted algorithm; repeat to accept several; may be left out\n"
    "                     when every key in FILE names its own alg\n"
    "  --aud A            accepted audience (repeatable); the token's aud must contain one\n"
    "  --iss I            accepted issuer (repeatable)\n"
    "  --sub S            accepted subject (repeatable)\n"
    "  --leeway N         clock skew allowed for exp/nbf, seconds (default 60)\n"
    "  --require CLAIM    the claim must be present (repeatable)\n"
    "  --no-exp           accept tokens without exp\n"
    "  --typ T            the header typ must be T\n"
    "  --max-size BYTES   largest token accepted (default 8192)\n"
    "  --help             this text\n"
    "\n"
    "Exit status: 0 valid, 1 rejected (stderr starts with the error kind, e.g.\n"
    "\"ExpiredSignature: ...\" or \"MissingRequiredClaim: sub: ...\"), 2 bad usage.\n";

static const char decode_usage[] =
    "Usage: jwtd token decode [TOKEN | -]\n"
    "\n"
    "Prints {\"header\":...,\"claims\":...} of a compact token WITHOUT verifying its\n"
    "signature or claims, and says so on stderr (\"WARNING: not verified\"). Use it to\n"
    "look at a token, never to trust one.\n"
    "\n"
    "Exit status: 0 decoded, 1 malformed (stderr starts with the error kind), 2 bad usage.\n";

enum {
    OPT_KEY = 256,
    OPT_ALG,
    OPT_KID,
    OPT_EXP_IN,
    OPT_TYP,
    OPT_AUD,
    OPT_ISS,
    OPT_SUB,
    OPT_LEEWAY,
    OPT_REQUIRE,
    OPT_NO_EXP,
    OPT_MAX_SIZE
};

/* exp/iat arithmetic stays far from int64 overflow: about 136 years either way. */
#define SIGN_MAX_LIFETIME (INT64_C(1) << 32)
#define DEFAULT_EXP_IN 3600

/* The key that signs: the only one, or the one --kid names. */
static int pick_signing_key(const jwtd_keyset *set, const char *kid, const jwtd_key **out)
{
    size_t count = jwtd_keyset_count(set);
    if (count == 1) {
        *out = jwtd_keyset_get(set, 0);
        return CLI_EXIT_OK;
    }
    if (kid == NULL)
        return cli_failf(JWTD_ERR_KEY_NOT_FOUND,
                         "the key file holds %zu keys; choose one with --kid", count);
    *out = jwtd_keyset_find(set, kid, strlen(kid));
    if (*out == NULL)
        return cli_failf(JWTD_ERR_KEY_NOT_FOUND, "no key with kid '%s' in the key file", kid);
    return CLI_EXIT_OK;
}

/* Adds iat and exp as the usage text describes. */
static jwtd_err add_time_claims(jwtd_claims *claims, const char *json, size_t len, bool exp_given,
                                int64_t exp_in)
{
    json_error_t jerr;
    json_t *obj = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    bool has_iat = json_object_get(obj, "iat") != NULL;
    bool has_exp = json_object_get(obj, "exp") != NULL;
    json_decref(obj);
    int64_t now = (int64_t)time(NULL);
    jwtd_err err = JWTD_OK;
    if (!has_iat)
        err = jwtd_claims_set_int(claims, "iat", now);
    if (err == JWTD_OK && exp_in != 0 && (exp_given || !has_exp))
        err = jwtd_claims_set_int(claims, "exp", now + exp_in);
    return err;
}

static int token_sign(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, OPT_KEY},
                                         {"alg", required_argument, NULL, OPT_ALG},
                                         {"kid", required_argument, NULL, OPT_KID},
                                         {"exp-in", required_argument, NULL, OPT_EXP_IN},
                                         {"typ", required_argument, NULL, OPT_TYP},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *key_path = NULL, *kid = NULL, *typ = NULL;
    jwtd_alg alg = JWTD_ALG_UNKNOWN;
    int64_t exp_in = DEFAULT_EXP_IN;
    bool exp_given = false;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(sign_usage, stdout); return CLI_EXIT_OK;
        case OPT_KEY: key_path = optarg; break;
        case OPT_ALG:
            if (!cli_parse_alg("token sign", sign_usage, optarg, &alg))
                return CLI_EXIT_USAGE;
            break;
        case OPT_KID: kid = optarg; break;
        case OPT_EXP_IN:
            if (!cli_parse_int("token sign", sign_usage, "--exp-in", optarg, -SIGN_MAX_LIFETIME,
                               SIGN_MAX_LIFETIME, &exp_in))
                return CLI_EXIT_USAGE;
            exp_given = true;
            break;
        case OPT_TYP: typ = optarg; break;
        default: return cli_getopt_error("token sign", sign_usage, c, argv);
        }
    }
    if (argc - optind > 1)
        return cli_usage_error("token sign", sign_usage, "unexpected argument '%s'",
                               argv[optind + 1]);
    if (key_path == NULL)
        return cli_usage_error("token sign", sign_usage, "--key FILE is needed");

    const char *claims_arg = optind < argc ? argv[optind] : NULL;
    cli_buf claims_text = {0};
    jwtd_keyset *set = NULL;
    jwtd_claims *claims = NULL;
    char *token = NULL;
    const jwtd_key *key = NULL;
    jwtd_key *unnamed = NULL;
    int rc = cli_load_keyset(key_path, &set);
    if (rc == CLI_EXIT_OK)
        rc = pick_signing_key(set, kid, &key);
    if (rc == CLI_EXIT_OK && alg == JWTD_ALG_UNKNOWN) {
        alg = jwtd_key_alg(key);
        if (alg == JWTD_ALG_UNKNOWN)
            rc = cli_usage_error("token sign", sign_usage,
                                 "--alg is needed (the key does not name its algorithm)");
    }
    if (rc == CLI_EXIT_OK) {
        if (claims_arg == NULL)
            claims_arg = "{}";
        rc = cli_read_token_input("token sign", sign_usage, claims_arg, &claims_text);
    }
    if (rc == CLI_EXIT_OK) {
        jwtd_err err = jwtd_claims_from_json(claims_text.data, claims_text.len, &claims);
        if (err != JWTD_OK)
            rc = cli_failf(err, "the claims must be one JSON object without duplicate members");
        else if ((err = add_time_claims(claims, claims_text.data, claims_text.len, exp_given,
                                        exp_in)) != JWTD_OK)
            rc = cli_failf(err, "cannot add iat/exp to the claims");
    }
    if (rc == CLI_EXIT_OK && kid != NULL && kid[0] == '\0') {
        /* The header takes the key's kid when given none, so drop it from a copy. */
        jwtd_err err = jwtd_key_with_kid(key, NULL, &unnamed);
        if (err != JWTD_OK)
            rc = cli_failf(err, "cannot remove the key's kid");
        key = unnamed;
        kid = NULL;
    }
    if (rc == CLI_EXIT_OK) {
        jwtd_header hdr = {.typ = typ, .kid = kid, .extra_json = NULL};
        jwtd_err err = jwtd_sign(key, alg, &hdr, claims, &token);
        if (err != JWTD_OK)
            rc = cli_failf(err, "cannot sign with this key and %s", jwtd_alg_name(alg));
        else if (printf("%s\n", token) < 0 || fflush(stdout) != 0)
            rc = cli_failf(JWTD_ERR_INVALID_ARGUMENT, "cannot write the token to stdout");
    }
    jwtd_free(token);
    jwtd_claims_free(claims);
    jwtd_key_free(unnamed);
    jwtd_keyset_free(set);
    cli_buf_free(&claims_text);
    return rc;
}

/* The verify options that become the validation, gathered before any is applied. */
typedef struct verify_opts {
    const char *key_path, *typ;
    jwtd_alg algs[JWTD_ALG_COUNT];
    size_t n_algs;
    const char *aud[CLI_MAX_LIST], *iss[CLI_MAX_LIST], *sub[CLI_MAX_LIST], *req[CLI_MAX_LIST];
    size_t n_aud, n_iss, n_sub, n_req;
    int64_t leeway, max_size;
    bool leeway_given, max_size_given, no_exp;
} verify_opts;

static jwtd_err build_validation(const verify_opts *o, jwtd_validation **out)
{
    jwtd_validation *v = NULL;
    jwtd_err err = jwtd_validation_new(&v);
    for (size_t i = 0; err == JWTD_OK && i < o->n_algs; i++)
        err = jwtd_validation_allow_alg(v, o->algs[i]);
    for (size_t i = 0; err == JWTD_OK && i < o->n_aud; i++)
        err = jwtd_validation_add_audience(v, o->aud[i]);
    for (size_t i = 0; err == JWTD_OK && i < o->n_iss; i++)
        err = jwtd_validation_add_issuer(v, o->iss[i]);
    for (size_t i = 0; err == JWTD_OK && i < o->n_sub; i++)
        err = jwtd_validation_add_subject(v, o->sub[i]);
    for (size_t i = 0; err == JWTD_OK && i < o->n_req; i++)
        err = jwtd_validation_require_claim(v, o->req[i]);
    if (err == JWTD_OK && o->leeway_given)
        err = jwtd_validation_set_leeway(v, o->leeway);
    if (err == JWTD_OK && o->no_exp)
        err = jwtd_validation_require_exp(v, false);
    if (err == JWTD_OK && o->typ != NULL)
        err = jwtd_validation_set_typ(v, o->typ);
    if (err == JWTD_OK && o->max_size_given)
        err = jwtd_validation_set_max_token_bytes(v, (size_t)o->max_size);
    if (err != JWTD_OK) {
        jwtd_validation_free(v);
        v = NULL;
    }
    *out = v;
    return err;
}

static int parse_verify_opts(int argc, char **argv, verify_opts *o)
{
    static const struct option opts[] = {{"key", required_argument, NULL, OPT_KEY},
                                         {"alg", required_argument, NULL, OPT_ALG},
                                         {"aud", required_argument, NULL, OPT_AUD},
                                         {"iss", required_argument, NULL, OPT_ISS},
                                         {"sub", required_argument, NULL, OPT_SUB},
                                         {"leeway", required_argument, NULL, OPT_LEEWAY},
                                         {"require", required_argument, NULL, OPT_REQUIRE},
                                         {"no-exp", no_argument, NULL, OPT_NO_EXP},
                                         {"typ", required_argument, NULL, OPT_TYP},
                                         {"max-size", required_argument, NULL, OPT_MAX_SIZE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static const char cmd[] = "token verify";
    const char *const u = verify_usage;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        bool ok = true;
        jwtd_alg alg;
        switch (c) {
        case 'h': fputs(verify_usage, stdout); return -1;
        case OPT_KEY: o->key_path = optarg; break;
        case OPT_ALG:
            ok = cli_parse_alg(cmd, u, optarg, &alg);
            /* Repeating an algorithm is harmless; keep each once. */
            for (size_t i = 0; ok && i < o->n_algs; i++)
                if (o->algs[i] == alg)
                    alg = JWTD_ALG_UNKNOWN;
            if (ok && alg != JWTD_ALG_UNKNOWN)
                o->algs[o->n_algs++] = alg;
            break;
        case OPT_AUD: ok = cli_list_add(cmd, u, "--aud", o->aud, &o->n_aud, optarg); break;
        case OPT_ISS: ok = cli_list_add(cmd, u, "--iss", o->iss, &o->n_iss, optarg); break;
        case OPT_SUB: ok = cli_list_add(cmd, u, "--sub", o->sub, &o->n_sub, optarg); break;
        case OPT_REQUIRE: ok = cli_list_add(cmd, u, "--require", o->req, &o->n_req, optarg); break;
        case OPT_LEEWAY:
            ok = cli_parse_int(cmd, u, "--leeway", optarg, 0, INT32_MAX, &o->leeway);
            o->leeway_given = true;
            break;
        case OPT_MAX_SIZE:
            ok = cli_parse_int(cmd, u, "--max-size", optarg, 1, CLI_MAX_INPUT_BYTES, &o->max_size);
            o->max_size_given = true;
            break;
        case OPT_NO_EXP: o->no_exp = true; break;
        case OPT_TYP: o->typ = optarg; break;
        default: return cli_getopt_error(cmd, u, c, argv);
        }
        if (!ok)
            return CLI_EXIT_USAGE;
    }
    if (argc - optind > 1)
        return cli_usage_error(cmd, u, "unexpected argument '%s'", argv[optind + 1]);
    if (o->key_path == NULL)
        return cli_usage_error(cmd, u, "--key FILE is needed");
    return CLI_EXIT_OK;
}

static int token_verify(int argc, char **argv)
{
    verify_opts o = {0};
    int rc = parse_verify_opts(argc, argv, &o);
    if (rc < 0)
        return CLI_EXIT_OK; /* --help */
    if (rc != CLI_EXIT_OK)
        return rc;

    jwtd_keyset *set = NULL;
    jwtd_validation *v = NULL;
    jwtd_token *tok = NULL;
    cli_buf input = {0};
    char *claims = NULL;
    rc = cli_load_keyset(o.key_path, &set);
    if (rc == CLI_EXIT_OK && o.n_algs == 0 && !cli_algs_from_keys(set, o.algs, &o.n_algs))
        rc = cli_usage_error("token verify", verify_usage,
                             "--alg is needed (the key file does not name its algorithm)");
    if (rc == CLI_EXIT_OK) {
        jwtd_err err = build_validation(&o, &v);
        if (err != JWTD_OK)
            rc = cli_failf(err, "cannot set up the validation from these options");
    }
    if (rc == CLI_EXIT_OK)
        rc = cli_read_token_input("token verify", verify_usage, optind < argc ? argv[optind] : NULL,
                                  &input);
    if (rc == CLI_EXIT_OK) {
        jwtd_error detail = {0};
        jwtd_err err = jwtd_verify(input.data, input.len, set, v, &tok, &detail);
        if (err != JWTD_OK)
            rc = cli_fail(err, &detail);
        else if ((err = jwtd_token_claims_json(tok, &claims)) != JWTD_OK)
            rc = cli_failf(err, "cannot print the claims");
        else if (printf("%s\n", claims) < 0 || fflush(stdout) != 0)
            rc = cli_failf(JWTD_ERR_INVALID_ARGUMENT, "cannot write the claims to stdout");
    }
    jwtd_free(claims);
    jwtd_token_free(tok);
    jwtd_validation_free(v);
    jwtd_keyset_free(set);
    cli_buf_free(&input);
    return rc;
}

static int token_decode(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(decode_usage, stdout);
            return CLI_EXIT_OK;
        }
        return cli_getopt_error("token decode", decode_usage, c, argv);
    }
    if (argc - optind > 1)
        return cli_usage_error("token decode", decode_usage, "unexpected argument '%s'",
                               argv[optind + 1]);

    cli_buf input = {0};
    char *header = NULL, *claims = NULL;
    int rc = cli_read_token_input("token decode", decode_usage, optind < argc ? argv[optind] : NULL,
                                  &input);
    if (rc == CLI_EXIT_OK) {
        jwtd_err err = jwtd_insecure_decode(input.data, input.len, &header, &claims);
        if (err != JWTD_OK) {
            rc = cli_failf(err, "cannot decode the token");
        } else {
            /* Both parts are compact JSON from the library, so they nest as they are. */
            fputs("WARNING: not verified\n", stderr);
            if (printf("{\"header\":%s,\"claims\":%s}\n", header, claims) < 0 ||
                fflush(stdout) != 0)
                rc = cli_failf(JWTD_ERR_INVALID_ARGUMENT, "cannot write to stdout");
        }
    }
    jwtd_free(header);
    jwtd_free(claims);
    cli_buf_free(&input);
    return rc;
}

int cli_token_main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("token", token_usage, "a subcommand is needed");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(token_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(sub, "sign") == 0)
        return token_sign(argc - 1, argv + 1);
    if (strcmp(sub, "verify") == 0)
        return token_verify(argc - 1, argv + 1);
    if (strcmp(sub, "decode") == 0)
        return token_decode(argc - 1, argv + 1);
    return cli_usage_error("token", token_usage, "unknown subcommand '%s'", sub);
}
