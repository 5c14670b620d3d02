/* Replays a fuzz harness without libFuzzer: feeds every regular file of the directories (or files)
 * named on the command line to LLVMFuzzerTestOneInput, so any compiler's `make test` runs the seed
 * corpus and the saved crash regressions as plain tests. A missing directory is skipped. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Far above the 16 KiB -max_len that scripts/fuzz.sh gives libFuzzer: larger is a mistake. */
#define REPLAY_MAX_INPUT (1u << 20)

/* Runs one file; returns 0 if it ran, -1 if it could not be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* An exact-size heap copy, as libFuzzer gives, so ASan sees any read past the end. */
    uint8_t *buf = malloc(REPLAY_MAX_INPUT + 1);
    size_t n = buf ? fread(buf, 1, REPLAY_MAX_INPUT + 1, f) : 0;
    int bad = !buf || ferror(f) || n > REPLAY_MAX_INPUT;
    fclose(f);
    uint8_t *exact = bad ? NULL : malloc(n ? n : 1);
    if (bad || !exact) {
        fprintf(stderr, "replay: cannot read %s (or it is over %u bytes)\n", path,
                REPLAY_MAX_INPUT);
        free(buf);
        free(exact);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of dir in name order; counts into *ran; -1 on a read error. */
static int replay_dir(const char *dir, unsigned *ran)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) {
            printf("replay: %s: no such directory, skipped\n", dir);
            return 0;
        }
        fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) {
                rc = -1;
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(path) != 0)
                rc = -1;
            else
                (*ran)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned ran = 0;
    int rc = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(argv[i]) != 0)
                rc = 1;
            else
                ran++;
        } else if (replay_dir(argv[i], &ran) != 0) {
            rc = 1;
        }
    }
    printf("replay: %u inputs ran without a crash\n", ran);
    if (ran == 0) {
        fprintf(stderr, "replay: no input found: the seed corpus is missing\n");
        return 1;
    }
    return rc;
}
