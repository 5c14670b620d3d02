/* libFuzzer harness for the configuration of jwtd serve (src/server/config.c). Each input is
 * used twice:
 *
 *  1. as a config file: srv_config_apply_text (what srv_config_apply_file runs on the file's
 *     bytes), then srv_config_finish, then srv_config_free;
 *  2. as option values: line k of the input (up to its first NUL) is given to
 *     srv_config_set for option k modulo the number of options (the first line to the first
 *     option, and so on), then srv_config_finish, then srv_config_free.
 *
 * Invariants (abort otherwise; ASan/LeakSanitizer add no crash and no leak):
 *  - every failing call leaves a non-empty, NUL-terminated message within its buffer, also
 *    with a 7-byte buffer; every succeeding call leaves the buffer alone;
 *  - no message depends on the bytes of a secret: each run is repeated with every byte of
 *    every jwt-secret value replaced by 'Z' (in the file: the value bytes of jwt-secret lines,
 *    keeping spaces, tabs, CR, quotes and NULs, which the parser looks at), and both runs must
 *    give the same results and the same messages, byte for byte. A message that quoted a
 *    secret, or any part of it, would differ.
 *
 * srv_config_finish reads the file named by jwt-secret-file: the harness points that option at
 * its own files before finishing (a 40-byte secret, a 10-byte one, or a missing file, chosen
 * by the fuzzed value's length), so that a fuzzed path never reads /dev/stdin or a FIFO. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_VALUES 64
#define FILL 0x7f /* what an error buffer holds before a call */

typedef struct fuzz_state {
    char dir[64];
    char files[3][128]; /* a good secret, a short one, a missing file */
} fuzz_state;

static fuzz_state S;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_config: %s\n", what);
    abort();
}

static void cleanup(void)
{
    unlink(S.files[0]);
    unlink(S.files[1]);
    rmdir(S.dir);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        fail("cannot write a secret file");
}

static void setup(void)
{
    static int ready;
    if (ready)
        return;
    ready = 1;
    const char *tmp = getenv("TMPDIR");
    snprintf(S.dir, sizeof S.dir, "%s/jwtd-fuzzcfg-XXXXXX",
             tmp != NULL && tmp[0] != '\0' && strlen(tmp) < 40 ? tmp : "/tmp");
    if (mkdtemp(S.dir) == NULL)
        fail("mkdtemp");
    snprintf(S.files[0], sizeof S.files[0], "%s/secret", S.dir);
    snprintf(S.files[1], sizeof S.files[1], "%s/short", S.dir);
    snprintf(S.files[2], sizeof S.files[2], "%s/missing", S.dir);
    write_file(S.files[0], "fuzz-config-file-secret-0123456789abcdef\n");
    write_file(S.files[1], "too-short\n");
    atexit(cleanup);
}

/* The outcome of one call: its result and its message. */
typedef struct outcome {
    int rc;
    char msg[SRV_ERRMSG];
} outcome;

/* Checks the error buffer after a call that returned rc. */
static void check_message(int rc, const char *err, size_t errlen, const char *what)
{
    if (rc != 0 && rc != -1) {
        fprintf(stderr, "fuzz_config: %s returned %d\n", what, rc);
        abort();
    }
    if (rc == 0) {
        for (size_t i = 0; i < errlen; i++)
            if ((unsigned char)err[i] != FILL)
                fail("a successful call wrote into the error buffer");
        return;
    }
    const char *nul = memchr(err, '\0', errlen);
    if (nul == NULL)
        fail("an error message is not NUL-terminated within its buffer");
    if (nul == err && errlen > 1)
        fail("an empty error message");
}

/* One call into out with a full buffer: call_with(err, errlen) is a macro naming the call. */
#define STEP(out, what, call_with)                                                                 \
    do {                                                                                           \
        memset((out)->msg, FILL, sizeof(out)->msg);                                                \
        (out)->rc = call_with((out)->msg, sizeof(out)->msg);                                       \
        check_message((out)->rc, (out)->msg, sizeof(out)->msg, what);                              \
    } while (0)

static bool same(const outcome *a, const outcome *b)
{
    return a->rc == b->rc && (a->rc == 0 || strcmp(a->msg, b->msg) == 0);
}

static void must_match(const outcome *a, const outcome *b, const char *what)
{
    if (!same(a, b)) {
        fprintf(stderr,
                "fuzz_config: %s: the outcome depends on the secret's bytes:\n  %d '%s'\n  %d "
                "'%s'\n",
                what, a->rc, a->rc ? a->msg : "", b->rc, b->rc ? b->msg : "");
        abort();
    }
}

/* Replaces jwt-secret-file by one of the harness's files, chosen by the value's length. */
static void pin_secret_file(srv_config *cfg)
{
    if (cfg->jwt_secret_file[0] == '\0')
        return;
    size_t which = strlen(cfg->jwt_secret_file) % 3;
    char err[SRV_ERRMSG];
    if (srv_config_set(cfg, srv_option_find("jwt-secret-file"), S.files[which], "fuzz", err,
                       sizeof err) != 0)
        fail("cannot pin jwt-secret-file");
}

/* ---- 1. The input as a config file ---- */

static bool is_secret_key(const char *line, size_t len, size_t *value_at)
{
    const char *eq = memchr(line, '=', len);
    if (eq == NULL)
        return false;
    const char *k = line, *end = eq;
    while (k < end && (*k == ' ' || *k == '\t'))
        k++;
    while (end > k && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    static const char want[] = "jwt-secret";
    if ((size_t)(end - k) != sizeof want - 1)
        return false;
    for (size_t i = 0; i < sizeof want - 1; i++) {
        char c = (char)(k[i] == '_' ? '-' : k[i]);
        if (c != want[i])
            return false;
    }
    *value_at = (size_t)(eq + 1 - line);
    return true;
}

/* The text with the value bytes of every jwt-secret line replaced by 'Z'. */
static char *mask_text(const char *text, size_t len)
{
    char *m = malloc(len ? len : 1);
    if (m == NULL)
        fail("out of memory");
    if (len > 0)
        memcpy(m, text, len);
    size_t pos = 0;
    while (pos < len) {
        char *line = m + pos;
        char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl != NULL ? (size_t)(nl - line) : len - pos;
        size_t v;
        if (is_secret_key(line, ll, &v)) {
            for (size_t i = v; i < ll; i++)
                if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '"' &&
                    line[i] != '\0')
                    line[i] = 'Z';
        }
        pos += ll + (nl != NULL);
    }
    return m;
}

typedef struct file_run {
    outcome apply, finish;
} file_run;

static void run_text(const char *text, size_t len, file_run *out)
{
    srv_config cfg;
    srv_config_init(&cfg);
#define APPLY(err, errlen) srv_config_apply_text(&cfg, text, len, "fuzz.conf", err, errlen)
    STEP(&out->apply, "srv_config_apply_text", APPLY);
    /* Bound: a 7-byte buffer gets a terminated prefix. */
    srv_config_free(&cfg);
    srv_config_init(&cfg);
    char small[7];
    memset(small, FILL, sizeof small);
    int rc = APPLY(small, sizeof small);
#undef APPLY
    check_message(rc, small, sizeof small, "srv_config_apply_text (7-byte buffer)");
    if (rc != out->apply.rc)
        fail("the result depends on the size of the error buffer");
    pin_secret_file(&cfg);
#define FINISH(err, errlen) srv_config_finish(&cfg, err, errlen)
    STEP(&out->finish, "srv_config_finish", FINISH);
#undef FINISH
    srv_config_free(&cfg);
}

static void fuzz_file(const char *text, size_t len)
{
    file_run plain, masked;
    run_text(text, len, &plain);
    char *m = mask_text(text, len);
    run_text(m, len, &masked);
    free(m);
    must_match(&plain.apply, &masked.apply, "config file");
    must_match(&plain.finish, &masked.finish, "finish after the config file");
}

/* ---- 2. The input as option values ---- */

typedef struct value_run {
    size_t n;
    outcome set[FUZZ_MAX_VALUES];
    outcome finish;
} value_run;

static void run_values(char **values, size_t n, bool mask, value_run *out)
{
    srv_config cfg;
    srv_config_init(&cfg);
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        const srv_option *o = &srv_options[i % srv_options_count];
        char *v = values[i];
        char *masked = NULL;
        if (mask && o->type == SRV_OPT_SECRET) {
            masked = strdup(v);
            if (masked == NULL)
                fail("out of memory");
            memset(masked, 'Z', strlen(masked));
            v = masked;
        }
#define SET(err, errlen) srv_config_set(&cfg, o, v, "fuzz", err, errlen)
        STEP(&out->set[i], "srv_config_set", SET);
        char small[7];
        memset(small, FILL, sizeof small);
        srv_config tmp;
        srv_config_init(&tmp);
        int rc = srv_config_set(&tmp, o, v, "fuzz", small, sizeof small);
        srv_config_free(&tmp);
#undef SET
        check_message(rc, small, sizeof small, "srv_config_set (7-byte buffer)");
        if (rc != out->set[i].rc)
            fail("the result depends on the size of the error buffer");
        free(masked);
    }
    pin_secret_file(&cfg);
#define FINISH(err, errlen) srv_config_finish(&cfg, err, errlen)
    STEP(&out->finish, "srv_config_finish", FINISH);
#undef FINISH
    /* What the server makes of a finished configuration must not crash either. */
    if (out->finish.rc == 0) {
        auth_config ac;
        srv_config_auth(&cfg, &ac);
        (void)srv_config_key_alg(&cfg);
        (void)srv_config_enum_name(&cfg, "log-level");
        (void)srv_config_enum_name(&cfg, "registration");
    }
    srv_config_free(&cfg);
}

static void fuzz_values(const char *text, size_t len)
{
    char *values[FUZZ_MAX_VALUES];
    size_t n = 0, pos = 0;
    while (n < FUZZ_MAX_VALUES && pos <= len) {
        const char *line = text + pos;
        const char *nl = len > pos ? memchr(line, '\n', len - pos) : NULL;
        size_t ll = nl != NULL ? (size_t)(nl - line) : len - pos;
        const char *nul = memchr(line, '\0', ll);
        size_t vl = nul != NULL ? (size_t)(nul - line) : ll;
        if ((values[n] = malloc(vl + 1)) == NULL)
            fail("out of memory");
        memcpy(values[n], line, vl);
        values[n++][vl] = '\0';
        if (nl == NULL)
            break;
        pos += ll + 1;
    }
    value_run *plain = calloc(1, sizeof *plain), *masked = calloc(1, sizeof *masked);
    if (plain == NULL || masked == NULL)
        fail("out of memory");
    run_values(values, n, false, plain);
    run_values(values, n, true, masked);
    for (size_t i = 0; i < n; i++) {
        must_match(&plain->set[i], &masked->set[i], "srv_config_set");
        free(values[i]);
    }
    must_match(&plain->finish, &masked->finish, "finish after srv_config_set");
    free(plain);
    free(masked);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    fuzz_file((const char *)data, size);
    fuzz_values((const char *)data, size);
    return 0;
}
