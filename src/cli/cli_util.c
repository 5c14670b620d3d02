/* Helpers shared by the jwtd command groups: bounded reads of files and stdin, loading
 * --key FILE, parsing option values, and the two kinds of error report (exit 1: the
 * error kind name first; exit 2: a usage message followed by the usage text). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

void cli_buf_free(cli_buf *b)
{
    if (b->data != NULL) {
        /* Key files and tokens pass through here: leave no copy of them in freed memory. */
        OPENSSL_cleanse(b->data, b->len);
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
}

/* Reads fd to its end, keeping at most max bytes; EFBIG when there is more. */
static int read_fd(int fd, size_t max, cli_buf *out)
{
    /* One byte beyond max is enough to know the input is too large. */
    size_t cap = max + 1 < 4096 ? max + 1 : 4096, len = 0;
    char *data = malloc(cap + 1);
    if (data == NULL)
        return -1;
    for (;;) {
        if (len == cap) {
            /* len <= max here, so ncap > cap. Copy by hand: realloc would leave the old
             * bytes (possibly a secret) behind in freed memory. */
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *n = malloc(ncap + 1);
            if (n == NULL) {
                OPENSSL_cleanse(data, len);
                free(data);
                return -1;
            }
            memcpy(n, data, len);
            OPENSSL_cleanse(data, len);
            free(data);
            data = n;
            cap = ncap;
        }
        ssize_t r = read(fd, data + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int saved = errno;
            if (r == 0)
                break;
            OPENSSL_cleanse(data, len);
            free(data);
            errno = saved;
            return -1;
        }
        len += (size_t)r;
        if (len > max) {
            OPENSSL_cleanse(data, len);
            free(data);
            errno = EFBIG;
            return -1;
        }
    }
    data[len] = '\0'; /* the +1 of every allocation */
    out->data = data;
    out->len = len;
    return 0;
}

int cli_read_file(const char *path, size_t max, cli_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = read_fd(fd, max, out);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int cli_read_token_input(const char *cmd, const char *usage, const char *arg, cli_buf *out)
{
    if (arg != NULL && strcmp(arg, "-") != 0) {
        size_t len = strlen(arg);
        if (len > CLI_MAX_INPUT_BYTES)
            return cli_failf(JWTD_ERR_TOKEN_TOO_LARGE, "input is larger than %u bytes",
                             CLI_MAX_INPUT_BYTES);
        out->data = strdup(arg);
        if (out->data == NULL)
            return cli_failf(JWTD_ERR_NO_MEMORY, "cannot copy the input");
        out->len = len;
    } else {
        if (arg == NULL && isatty(STDIN_FILENO))
            return cli_usage_error(cmd, usage,
                                   "no input given (pass it as an argument, or '-' for stdin)");
        if (read_fd(STDIN_FILENO, CLI_MAX_INPUT_BYTES, out) != 0) {
            if (errno == EFBIG)
                return cli_failf(JWTD_ERR_TOKEN_TOO_LARGE, "input is larger than %u bytes",
                                 CLI_MAX_INPUT_BYTES);
            return cli_failf(JWTD_ERR_INVALID_TOKEN, "cannot read standard input: %s",
                             strerror(errno));
        }
    }
    while (out->len > 0 && is_space(out->data[out->len - 1]))
        out->data[--out->len] = '\0';
    return CLI_EXIT_OK;
}

/* PEM and JSON keys are passed on untouched; anything else is a raw secret. */
static bool looks_structured(const char *data, size_t len)
{
    size_t i = 0;
    while (i < len && is_space(data[i]))
        i++;
    if (i < len && data[i] == '{')
        return true;
    return len - i >= 10 && memcmp(data + i, "-----BEGIN", 10) == 0;
}

jwtd_err cli_keyset_from_bytes(const char *data, size_t len, jwtd_keyset **out)
{
    /* Editors and `echo` end a secret file with a newline that is not part of the secret;
     * dropping exactly one gives the bytes other libraries are given as the secret. */
    if (!looks_structured(data, len)) {
        if (len >= 2 && data[len - 2] == '\r' && data[len - 1] == '\n')
            len -= 2;
        else if (len >= 1 && data[len - 1] == '\n')
            len -= 1;
    }
    return jwtd_keyset_parse(data, len, 0, out);
}

int cli_load_keyset(const char *path, jwtd_keyset **out)
{
    cli_buf buf = {0};
    if (cli_read_file(path, CLI_MAX_INPUT_BYTES, &buf) != 0) {
        if (errno == EFBIG)
            return cli_failf(JWTD_ERR_INVALID_KEY_FORMAT, "key file '%s' is larger than %u bytes",
                             path, CLI_MAX_INPUT_BYTES);
        return cli_failf(JWTD_ERR_INVALID_KEY_FORMAT, "cannot read key file '%s': %s", path,
                         strerror(errno));
    }
    jwtd_err err = cli_keyset_from_bytes(buf.data, buf.len, out);
    cli_buf_free(&buf);
    if (err != JWTD_OK)
        return cli_failf(err, "key file '%s' is not a usable secret, PEM, JWK or JWKS", path);
    return CLI_EXIT_OK;
}

bool cli_parse_alg(const char *cmd, const char *usage, const char *name, jwtd_alg *out)
{
    *out = jwtd_alg_from_name(name, strlen(name));
    if (*out != JWTD_ALG_UNKNOWN)
        return true;
    cli_usage_error(cmd, usage,
                    "unknown algorithm '%s' (HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 "
                    "PS512 ES256 ES384 ES512 EdDSA)",
                    name);
    return false;
}

bool cli_parse_int(const char *cmd, const char *usage, const char *opt, const char *text,
                   int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
        cli_usage_error(cmd, usage,
                        "%s needs a whole number from %" PRId64 " to %" PRId64 ", not '%s'", opt,
                        min, max, text);
        return false;
    }
    *out = (int64_t)v;
    return true;
}

bool cli_list_add(const char *cmd, const char *usage, const char *opt, const char **list, size_t *n,
                  const char *value)
{
    if (*n >= CLI_MAX_LIST) {
        cli_usage_error(cmd, usage, "%s may be given at most %d times", opt, CLI_MAX_LIST);
        return false;
    }
    list[(*n)++] = value;
    return true;
}

int cli_fail(jwtd_err kind, const jwtd_error *detail)
{
    const char *reason = detail != NULL && detail->kind == kind && detail->reason != NULL
                             ? detail->reason
                             : jwtd_err_name(kind);
    if (detail != NULL && detail->kind == kind && detail->claim[0] != '\0')
        fprintf(stderr, "%s: %s: %s\n", jwtd_err_name(kind), detail->claim, reason);
    else
        fprintf(stderr, "%s: %s\n", jwtd_err_name(kind), reason);
    return CLI_EXIT_FAILED;
}

int cli_failf(jwtd_err kind, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", jwtd_err_name(kind));
    va_start(ap, fmt);
    /* clang-tidy 14 reports ap as uninitialized when it analyzes several files in one run
     * (a false positive: va_start is just above). */
    vfprintf(stderr, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAILED;
}

int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;
    if (cmd[0] != '\0')
        fprintf(stderr, "jwtd %s: ", cmd);
    else
        fputs("jwtd: ", stderr);
    va_start(ap, fmt);
    /* clang-tidy 14 reports ap as uninitialized when it analyzes several files in one run
     * (a false positive: va_start is just above). */
    vfprintf(stderr, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    fprintf(stderr, "\n\n%s", usage);
    return CLI_EXIT_USAGE;
}

int cli_getopt_error(const char *cmd, const char *usage, int c, char **argv)
{
    const char *what = optind > 0 ? argv[optind - 1] : "?";
    char shortopt[3] = {'-', (char)optopt, '\0'};
    /* For a short option glibc leaves optind on the next word; optopt is exact. */
    if (optopt > 0 && optopt < 128 && what[0] == '-' && what[1] != '-')
        what = shortopt;
    if (c == ':')
        return cli_usage_error(cmd, usage, "option '%s' needs a value", what);
    /* glibc leaves optopt 0 for an unknown long option, the option's value otherwise. */
    if (what[0] == '-' && what[1] == '-' && optopt != 0)
        return cli_usage_error(cmd, usage, "option '%s' takes no value", what);
    return cli_usage_error(cmd, usage, "unknown option '%s'", what);
}

int cli_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

bool cli_algs_from_keys(const jwtd_keyset *set, jwtd_alg *algs, size_t *n)
{
    size_t count = jwtd_keyset_count(set);
    *n = 0;
    if (count == 0)
        return false;
    for (size_t i = 0; i < count; i++) {
        jwtd_alg alg = jwtd_key_alg(jwtd_keyset_get(set, i));
        bool seen = false;
        if (alg == JWTD_ALG_UNKNOWN)
            return false;
        for (size_t j = 0; j < *n; j++)
            seen = seen || algs[j] == alg;
        /* At most JWTD_ALG_COUNT distinct values, so the caller's array of that size fits. */
        if (!seen)
            algs[(*n)++] = alg;
    }
    return true;
}
