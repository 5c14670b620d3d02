/* Shared pieces of the integration test programs. See testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

long testutil_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

void testutil_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

long testutil_proc_rss_kib(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

double testutil_proc_cpu_s(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15 (utime, stime) come after the ")" that ends the command name, which
     * may hold spaces. */
    const char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    p++;
    for (int field = 3; field < 14; field++) { /* state, ppid, ..., cmajflt */
        p += strspn(p, " ");
        p += strcspn(p, " ");
    }
    char *end;
    errno = 0;
    unsigned long long ut = strtoull(p, &end, 10);
    if (end == p)
        return -1;
    p = end;
    unsigned long long st = strtoull(p, &end, 10);
    if (end == p || errno != 0)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

bool testutil_append(char **buf, size_t *len, size_t max, const void *data, size_t n, bool *too_big)
{
    if (n > max || *len > max - n) {
        if (too_big != NULL)
            *too_big = true;
        return false;
    }
    char *grown = realloc(*buf, *len + n + 1);
    if (grown == NULL)
        return false;
    *buf = grown;
    memcpy(grown + *len, data, n);
    *len += n;
    grown[*len] = '\0';
    return true;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void testutil_remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

bool testutil_fresh_dir(const char *dir, const char *prog)
{
    testutil_remove_tree(dir);
    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "%s: cannot create %s: %s\n", prog, dir, strerror(errno));
        return false;
    }
    return true;
}

void testutil_remove_db(const char *db, const char *log)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", db, suffix[i]);
        unlink(p);
    }
    if (log != NULL)
        unlink(log);
}

int testutil_user_add(const char *jwtd, const char *db, const char *name, const char *role,
                      const char *password, char *out, size_t outlen)
{
    char line[1100];
    snprintf(line, sizeof line, "%s\n", password);
    const char *argv[] = {jwtd,     "user", "add",  name, "--password-stdin",
                          "--role", role,   "--db", db,   NULL};
    return testserver_run(argv, line, out, outlen);
}

bool testutil_take_arg(testutil_args *a, int argc, char **argv, int *i)
{
    const char *o = argv[*i];
    if (*i + 1 >= argc)
        return false;
    if (strcmp(o, "--jwtd") == 0)
        a->jwtd = argv[*i + 1];
    else if (strcmp(o, "--tmp") == 0 || strcmp(o, "--work") == 0)
        a->dir = argv[*i + 1];
    else if (strcmp(o, "--serve-arg") == 0 && a->nserve < TESTUTIL_MAX_SERVE_ARGS)
        a->serve[a->nserve++] = argv[*i + 1];
    else
        return false;
    ++*i;
    return true;
}

static int steps, failures;

void testutil_check(bool ok, const char *fmt, ...)
{
    va_list ap;
    steps++;
    if (!ok)
        failures++;
    printf("%s %d - ", ok ? "ok" : "FAIL", steps);
    va_start(ap, fmt);
    /* clang-tidy 14 false positive: va_start is just above */
    vprintf(fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

int testutil_failed(void) { return failures; }

int testutil_summary(void)
{
    printf("%d passed, %d failed\n", steps - failures, failures);
    return failures == 0 ? 0 : 1;
}

void testutil_fail(const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: FAIL: ", prefix);
    /* clang-tidy 14 false positive: va_start is just above */
    vfprintf(stderr, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}
