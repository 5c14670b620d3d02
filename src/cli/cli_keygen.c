/* `jwtd keygen`: a fresh signing key for one algorithm, as PEM, a JWK, or (HS*) raw
 * secret bytes. A key written with --out is a new file of mode 0600 (never an existing
 * file overwritten) and the public JWK goes to stdout, ready to publish. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cli.h"

static const char keygen_usage[] =
    "Usage: jwtd keygen --alg ALG [--out FILE] [--jwk]\n"
    "\n"
    "Generates a private key for ALG: RSA 2048 bits for RS256/PS256 (3072 for *384, 4096\n"
    "for *512), P-256/P-384/P-521 for ES256/ES384/ES512, Ed25519 for EdDSA, and for\n"
    "HS256/HS384/HS512 a random secret of 32/48/64 bytes.\n"
    "\n"
    "  --alg ALG    HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384\n"
    "               ES512 EdDSA\n"
    "  --out FILE   write the private key to FILE, a new file of mode 0600 (an existing\n"
    "               FILE is never overwritten), and print the public JWK on stdout\n"
    "               (nothing for HS*: a secret has no public part)\n"
    "  --jwk        private key as a JWK (kid = RFC 7638 thumbprint, alg set) instead of\n"
    "               PEM (PKCS#8); for HS*, an oct JWK instead of raw bytes\n"
    "  --help       this text\n"
    "\n"
    "Without --out the private key goes to stdout. An HS* secret without --jwk is raw\n"
    "bytes and is only written with --out.\n"
    "\n"
    "Exit status: 0 success, 1 failure (e.g. FILE exists), 2 bad usage.\n";

enum { OPT_ALG = 256, OPT_OUT, OPT_JWK };

/* Regenerations allowed before giving up; each try is accepted with p > 0.99. */
#define SECRET_TRIES 64

static size_t hmac_secret_len(jwtd_alg alg)
{
    switch (alg) {
    case JWTD_ALG_HS256: return 32;
    case JWTD_ALG_HS384: return 48;
    case JWTD_ALG_HS512: return 64;
    default: return 0;
    }
}

/* Random secret bytes that --key FILE reads back unchanged: the rare draws that would
 * end in a newline (dropped when read) or look like PEM/JSON are drawn again. */
static int make_raw_secret(size_t len, unsigned char *out)
{
    for (int i = 0; i < SECRET_TRIES; i++) {
        jwtd_keyset *set = NULL;
        if (RAND_bytes(out, (int)len) != 1)
            return cli_failf(JWTD_ERR_CRYPTO, "the random generator failed");
        jwtd_err err = cli_keyset_from_bytes((const char *)out, len, &set);
        bool same = err == JWTD_OK && jwtd_keyset_count(set) == 1 &&
                    jwtd_key_kty(jwtd_keyset_get(set, 0)) == JWTD_KTY_OCT &&
                    jwtd_key_bits(jwtd_keyset_get(set, 0)) == len * 8;
        jwtd_keyset_free(set);
        if (same)
            return CLI_EXIT_OK;
    }
    OPENSSL_cleanse(out, len);
    return cli_failf(JWTD_ERR_CRYPTO, "cannot draw a usable secret");
}

/* Creates path (must not exist) with mode 0600 and writes data to it. */
static int write_new_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return cli_failf(JWTD_ERR_INVALID_ARGUMENT, "refusing to overwrite '%s': %s", path,
                             strerror(errno));
        return cli_failf(JWTD_ERR_INVALID_ARGUMENT, "cannot create '%s': %s", path,
                         strerror(errno));
    }
    /* The umask can only narrow 0600; fchmod states the mode whatever it is. */
    int rc = fchmod(fd, 0600) == 0 && cli_write_all(fd, data, len) == 0 ? 0 : -1;
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(path);
        return cli_failf(JWTD_ERR_INVALID_ARGUMENT, "cannot write '%s': %s", path, strerror(saved));
    }
    return CLI_EXIT_OK;
}

/* The private key as text ending in a newline (PEM, or a JWK), in memory that
 * OPENSSL_clear_free releases. */
static int private_text(const jwtd_key *key, bool jwk, char **out, size_t *len)
{
    char *text = NULL;
    jwtd_err err = jwk ? jwtd_key_private_jwk(key, &text) : jwtd_key_private_pem(key, &text);
    if (err != JWTD_OK)
        return cli_failf(err, "cannot export the private key");
    size_t n = strlen(text);
    char *copy = OPENSSL_zalloc(n + 2);
    if (copy != NULL) {
        memcpy(copy, text, n + 1);
        if (n == 0 || copy[n - 1] != '\n')
            copy[n++] = '\n'; /* copy[n + 1] is still the zalloc'ed NUL */
    }
    OPENSSL_cleanse(text, strlen(text));
    jwtd_free(text);
    if (copy == NULL)
        return cli_failf(JWTD_ERR_NO_MEMORY, "cannot export the private key");
    *out = copy;
    *len = n;
    return CLI_EXIT_OK;
}

static int keygen_key(jwtd_alg alg, const char *out_path, bool jwk)
{
    jwtd_key *key = NULL;
    char *priv = NULL, *pub = NULL;
    size_t priv_len = 0;
    jwtd_err err = jwtd_key_generate(alg, &key);
    int rc = err == JWTD_OK ? CLI_EXIT_OK
                            : cli_failf(err, "cannot generate a %s key", jwtd_alg_name(alg));
    if (rc == CLI_EXIT_OK)
        rc = private_text(key, jwk, &priv, &priv_len);
    if (rc == CLI_EXIT_OK && out_path == NULL) {
        if (cli_write_all(STDOUT_FILENO, priv, priv_len) != 0)
            rc =
                cli_failf(JWTD_ERR_INVALID_ARGUMENT, "cannot write to stdout: %s", strerror(errno));
    } else if (rc == CLI_EXIT_OK) {
        rc = write_new_file(out_path, priv, priv_len);
        if (rc == CLI_EXIT_OK && jwtd_key_kty(key) != JWTD_KTY_OCT) {
            err = jwtd_key_public_jwk(key, &pub);
            if (err != JWTD_OK)
                rc = cli_failf(err, "cannot export the public JWK");
            else if (printf("%s\n", pub) < 0 || fflush(stdout) != 0)
                rc = cli_failf(JWTD_ERR_INVALID_ARGUMENT, "cannot write to stdout");
        }
    }
    OPENSSL_clear_free(priv, priv_len);
    jwtd_free(pub);
    jwtd_key_free(key);
    return rc;
}

int cli_keygen_main(int argc, char **argv)
{
    static const struct option opts[] = {{"alg", required_argument, NULL, OPT_ALG},
                                         {"out", required_argument, NULL, OPT_OUT},
                                         {"jwk", no_argument, NULL, OPT_JWK},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out_path = NULL;
    jwtd_alg alg = JWTD_ALG_UNKNOWN;
    bool jwk = false;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(keygen_usage, stdout); return CLI_EXIT_OK;
        case OPT_ALG:
            if (!cli_parse_alg("keygen", keygen_usage, optarg, &alg))
                return CLI_EXIT_USAGE;
            break;
        case OPT_OUT: out_path = optarg; break;
        case OPT_JWK: jwk = true; break;
        default: return cli_getopt_error("keygen", keygen_usage, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("keygen", keygen_usage, "unexpected argument '%s'", argv[optind]);
    if (alg == JWTD_ALG_UNKNOWN)
        return cli_usage_error("keygen", keygen_usage, "--alg ALG is needed");

    size_t secret_len = hmac_secret_len(alg);
    if (secret_len == 0 || jwk)
        return keygen_key(alg, out_path, jwk);
    if (out_path == NULL)
        return cli_usage_error("keygen", keygen_usage,
                               "an %s secret is raw bytes: write it with --out FILE, or print "
                               "it as a JWK with --jwk",
                               jwtd_alg_name(alg));
    unsigned char secret[64];
    int rc = make_raw_secret(secret_len, secret);
    if (rc == CLI_EXIT_OK)
        rc = write_new_file(out_path, secret, secret_len);
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}
