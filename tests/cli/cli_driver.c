/* Runs the jwtd command-line contract cases: each tests/cli/cases/NNN-name.case file is
 * one command with its stdin and the exit code, stdout and stderr it must produce (in the
 * manner of curl's tests/data). The case format is described in tests/cli/README.md.
 * Usage: cli_driver --jwtd BIN --keys DIR --tmp DIR --vectors DIR CASE... */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "casefile.h"

#define MAX_OUTPUT_BYTES (4u * 1024u * 1024u)
#define SHOW_OUTPUT_BYTES 2000

/* What the sections may be called (README.md); any other name fails the case. */
static const char *const section_names[] = {"info",
                                            "command",
                                            "exit",
                                            "stdin",
                                            "file",
                                            "stdout",
                                            "stderr",
                                            "stdout-match",
                                            "stdout-not-match",
                                            "stderr-match",
                                            "stderr-not-match",
                                            "stderr-first-word",
                                            "stdout-json",
                                            "post"};

typedef struct test_case {
    const char *path;
    char id[256]; /* file name without .case */
    casefile cf;
    char *text[CASEFILE_MAX_SECTIONS]; /* each section's text, placeholders replaced */
} test_case;

typedef struct places {
    const char *jwtd, *keys, *tmp_base, *vectors;
    char tmp[4096];         /* this case's scratch directory, also the command's cwd */
    char stdout_path[4200]; /* where the command's stdout is kept (for the post check) */
} places;

static int failures;

static void fail(const test_case *tc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const test_case *tc, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s: ", tc->id);
    va_start(ap, fmt);
    /* clang-tidy 14 reports ap as uninitialized when it analyzes several files in one run
     * (a false positive: va_start is just above). */
    vfprintf(stderr, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    fputc('\n', stderr);
    failures++;
}

static bool write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* Replaces the placeholders (see README.md) in text; returns a new string. */
static char *substitute(const char *text, const places *p)
{
    static const char *const names[] = {"%JWTD%", "%KEYS%", "%TMP%", "%VECTORS%", "%STDOUT%"};
    const char *values[] = {p->jwtd, p->keys, p->tmp, p->vectors, p->stdout_path};
    const size_t n_names = sizeof names / sizeof names[0];
    size_t cap = strlen(text) + 1, len = 0;
    for (const char *s = text; *s; s++)
        if (*s == '%')
            cap += 8192; /* the longest value a placeholder takes */
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    while (*text) {
        size_t i = 0;
        for (; i < n_names; i++)
            if (strncmp(text, names[i], strlen(names[i])) == 0)
                break;
        if (i < n_names) {
            size_t vl = strlen(values[i]);
            memcpy(out + len, values[i], vl);
            len += vl;
            text += strlen(names[i]);
        } else {
            out[len++] = *text++;
        }
    }
    out[len] = '\0';
    return out;
}

/* Reads the case file and replaces the placeholders in every section. */
static bool parse_case(test_case *tc, const places *p)
{
    char why[CASEFILE_MAX_WHY];
    if (casefile_load(&tc->cf, tc->path, why) != 0) {
        fail(tc, "%s", why);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < tc->cf.n; i++) {
        casefile_section *sec = &tc->cf.sec[i];
        size_t k = 0, n = sizeof section_names / sizeof section_names[0];
        while (k < n && strcmp(sec->name, section_names[k]) != 0)
            k++;
        if (k == n) {
            fail(tc, "line %d: unknown section '%s'", sec->line, sec->name);
            ok = false;
        }
        size_t bl = strlen(sec->text);
        if (casefile_has_word(sec->arg, "nonewline") && bl > 0 && sec->text[bl - 1] == '\n')
            sec->text[bl - 1] = '\0';
        tc->text[i] = substitute(sec->text, p);
    }
    return ok;
}

/* The text of the first section of that name, or NULL. */
static const char *section_text(const test_case *tc, const char *name)
{
    const casefile_section *sec = casefile_find(&tc->cf, name);
    return sec != NULL ? tc->text[sec - tc->cf.sec] : NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Runs a command section with bash -e -o pipefail: a script stops at its first failing
 * line and a pipeline fails if any part does, so no failure goes unseen. */
static int run_command(const test_case *tc, const places *p, const char *cmd, const char *in,
                       const char *out, const char *err)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fi = open(in, O_RDONLY), fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600),
            fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fi < 0 || fo < 0 || fe < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0 ||
            chdir(p->tmp) != 0)
            _exit(127);
        execl("/bin/bash", "bash", "-e", "-o", "pipefail", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFSIGNALED(status)) {
        fail(tc, "command killed by signal %d", WTERMSIG(status));
        return -1;
    }
    return WEXITSTATUS(status);
}

/* Each line of patterns (an ERE) must match (want) / must not match (!want) a line of text. */
static void check_lines(const test_case *tc, const char *what, const char *text,
                        const char *patterns, bool want)
{
    char *pats = strdup(patterns);
    for (char *save = NULL, *pat = strtok_r(pats, "\n", &save); pat;
         pat = strtok_r(NULL, "\n", &save)) {
        regex_t re;
        if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
            fail(tc, "bad regex '%s'", pat);
            continue;
        }
        bool found = false;
        char *copy = strdup(text);
        for (char *s2 = NULL, *l = strtok_r(copy, "\n", &s2); l && !found;
             l = strtok_r(NULL, "\n", &s2))
            found = regexec(&re, l, 0, NULL, 0) == 0;
        free(copy);
        regfree(&re);
        if (found != want)
            fail(tc, "%s %s '%s'", what, want ? "has no line matching" : "has a line matching",
                 pat);
    }
    free(pats);
}

/* Each line is a check of stdout as one JSON value (casefile_json_check: PATH = JSON,
 * PATH != JSON, PATH : TYPE, PATH ~ ERE, PATH # N, PATH !). */
static void check_json(const test_case *tc, const char *out, size_t out_len, const char *checks)
{
    char why[CASEFILE_MAX_WHY];
    json_t *root = casefile_json_load(out, out_len, why);
    if (root == NULL) {
        fail(tc, "stdout is not JSON: %s", why);
        return;
    }
    char *lines = strdup(checks);
    for (char *save = NULL, *l = strtok_r(lines, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (!casefile_json_check(root, l, why))
            fail(tc, "stdout %s", why);
    free(lines);
    json_decref(root);
}

/* The first word of stderr: up to the first ':' or white space. */
static void check_first_word(const test_case *tc, const char *err, const char *want)
{
    size_t wl = strcspn(want, "\n");
    size_t el = strcspn(err, ": \t\n");
    if (el != wl || strncmp(err, want, wl) != 0)
        fail(tc, "stderr's first word is '%.*s', expected '%.*s'", (int)el, err, (int)wl, want);
}

static void show(const char *what, const char *text, size_t len)
{
    fprintf(stderr, "---- %s (%zu bytes)\n%.*s%s\n", what, len,
            (int)(len < SHOW_OUTPUT_BYTES ? len : SHOW_OUTPUT_BYTES), text,
            len > SHOW_OUTPUT_BYTES ? "\n[...]" : "");
}

static void run_case(test_case *tc, places *p)
{
    int before = failures;
    char in[4200], err[4200];
    const char *out = p->stdout_path;
    snprintf(p->tmp, sizeof p->tmp, "%s/%s", p->tmp_base, tc->id);
    snprintf(in, sizeof in, "%s/%s.stdin", p->tmp_base, tc->id);
    snprintf(p->stdout_path, sizeof p->stdout_path, "%s/%s.stdout", p->tmp_base, tc->id);
    snprintf(err, sizeof err, "%s/%s.stderr", p->tmp_base, tc->id);
    /* A fresh scratch directory: cases such as "keygen refuses to overwrite" depend on it. */
    nftw(p->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (mkdir(p->tmp, 0700) != 0) {
        fail(tc, "cannot create %s: %s", p->tmp, strerror(errno));
        return;
    }
    if (!parse_case(tc, p))
        return;

    const char *cmd = section_text(tc, "command"), *exit_text = section_text(tc, "exit");
    if (cmd == NULL || exit_text == NULL) {
        fail(tc, "a case needs 'command' and 'exit' sections");
        return;
    }
    for (size_t i = 0; i < tc->cf.n; i++) {
        char fpath[8400];
        if (strcmp(tc->cf.sec[i].name, "file") != 0)
            continue;
        snprintf(fpath, sizeof fpath, "%s/%s", p->tmp, strtok(tc->cf.sec[i].arg, " "));
        if (!write_file(fpath, tc->text[i], strlen(tc->text[i])))
            fail(tc, "cannot write %s", fpath);
    }
    const char *stdin_text = section_text(tc, "stdin");
    if (stdin_text == NULL)
        stdin_text = "";
    if (!write_file(in, stdin_text, strlen(stdin_text))) {
        fail(tc, "cannot write %s", in);
        return;
    }

    int code = run_command(tc, p, cmd, in, out, err);
    size_t olen = 0, elen = 0;
    char *o = casefile_slurp(out, MAX_OUTPUT_BYTES, &olen),
         *e = casefile_slurp(err, MAX_OUTPUT_BYTES, &elen);
    if (o == NULL || e == NULL) {
        fail(tc, "cannot read the command's output");
    } else if (code >= 0) {
        int want = (int)strtol(exit_text, NULL, 10);
        if (code != want)
            fail(tc, "exit code %d, expected %d", code, want);
        for (size_t i = 0; i < tc->cf.n; i++) {
            const casefile_section *s = &tc->cf.sec[i];
            const char *text = tc->text[i];
            if (strcmp(s->name, "stdout") == 0 &&
                (olen != strlen(text) || memcmp(o, text, olen) != 0))
                fail(tc, "stdout differs from the expected bytes");
            else if (strcmp(s->name, "stderr") == 0 &&
                     (elen != strlen(text) || memcmp(e, text, elen) != 0))
                fail(tc, "stderr differs from the expected bytes");
            else if (strcmp(s->name, "stdout-match") == 0)
                check_lines(tc, "stdout", o, text, true);
            else if (strcmp(s->name, "stdout-not-match") == 0)
                check_lines(tc, "stdout", o, text, false);
            else if (strcmp(s->name, "stderr-match") == 0)
                check_lines(tc, "stderr", e, text, true);
            else if (strcmp(s->name, "stderr-not-match") == 0)
                check_lines(tc, "stderr", e, text, false);
            else if (strcmp(s->name, "stderr-first-word") == 0)
                check_first_word(tc, e, text);
            else if (strcmp(s->name, "stdout-json") == 0)
                check_json(tc, o, olen, text);
        }
        const char *post = section_text(tc, "post");
        if (post != NULL) {
            char post_out[4300];
            snprintf(post_out, sizeof post_out, "%s.post", err);
            int pc = run_command(tc, p, post, out, post_out, post_out);
            if (pc != 0)
                fail(tc, "post check exited %d", pc);
        }
    }
    if (failures != before) {
        fprintf(stderr, "---- command\n%s\n", cmd);
        if (o != NULL)
            show("stdout", o, olen);
        if (e != NULL)
            show("stderr", e, elen);
    } else {
        printf("ok   %s\n", tc->id);
    }
    free(o);
    free(e);
}

int main(int argc, char **argv)
{
    places p = {0};
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--jwtd") == 0)
            p.jwtd = argv[i + 1];
        else if (strcmp(argv[i], "--keys") == 0)
            p.keys = argv[i + 1];
        else if (strcmp(argv[i], "--tmp") == 0)
            p.tmp_base = argv[i + 1];
        else if (strcmp(argv[i], "--vectors") == 0)
            p.vectors = argv[i + 1];
    }
    if (!p.jwtd || !p.keys || !p.tmp_base || !p.vectors || i >= argc) {
        fprintf(stderr, "usage: cli_driver --jwtd BIN --keys DIR --tmp DIR --vectors DIR "
                        "CASE...\n");
        return 2;
    }
    mkdir(p.tmp_base, 0700);
    for (; i < argc; i++) {
        test_case *tc = calloc(1, sizeof *tc);
        const char *base = strrchr(argv[i], '/');
        tc->path = argv[i];
        snprintf(tc->id, sizeof tc->id, "%s", base ? base + 1 : argv[i]);
        char *dot = strstr(tc->id, ".case");
        if (dot != NULL)
            *dot = '\0';
        run_case(tc, &p);
        for (size_t s = 0; s < tc->cf.n; s++)
            free(tc->text[s]);
        casefile_free(&tc->cf);
        free(tc);
    }
    return failures == 0 ? 0 : 1;
}
