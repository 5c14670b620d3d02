/* Times one Argon2id password check (libsodium crypto_pwhash_str_verify), the work of one POST
 * /login, so scripts/bench-server.sh can compare jwtd's login throughput with (cores / one hash
 * time). Usage: argon2_time OPSLIMIT MEMLIMIT_KIB [ROUNDS]  -> prints the median seconds of ROUNDS
 * checks. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_ROUNDS = 101 };

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Parses a whole number in [lo, hi]; exits with a message otherwise. */
static unsigned long long parse_count(const char *s, unsigned long long lo, unsigned long long hi,
                                      const char *what)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "argon2_time: %s must be a number in [%llu, %llu]\n", what, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: argon2_time OPSLIMIT MEMLIMIT_KIB [ROUNDS]\n");
        return 2;
    }
    unsigned long long ops = parse_count(argv[1], crypto_pwhash_OPSLIMIT_MIN, 16, "OPSLIMIT");
    size_t mem = (size_t)parse_count(argv[2], crypto_pwhash_MEMLIMIT_MIN / 1024, 4ULL << 20,
                                     "MEMLIMIT_KIB") *
                 1024u;
    int rounds = argc == 4 ? (int)parse_count(argv[3], 1, MAX_ROUNDS, "ROUNDS") : 7;
    if (sodium_init() < 0) {
        fprintf(stderr, "argon2_time: sodium_init failed\n");
        return 1;
    }
    static const char password[] = "bench-password-0123";
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(hash, password, strlen(password), ops, mem,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        fprintf(stderr, "argon2_time: hashing failed (out of memory?)\n");
        return 1;
    }
    double t[MAX_ROUNDS];
    for (int i = 0; i < rounds; i++) {
        double a = now_seconds();
        if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0) {
            fprintf(stderr, "argon2_time: verification failed\n");
            return 1;
        }
        t[i] = now_seconds() - a;
    }
    /* rounds is in [1, MAX_ROUNDS] (parse_count exits otherwise; the default is 7), so the loop
     * above set every t[i] that qsort reads; cppcheck does not follow parse_count's exit. */
    // cppcheck-suppress uninitvar
    qsort(t, (size_t)rounds, sizeof t[0], cmp_double);
    printf("%.6f\n", t[rounds / 2]);
    return 0;
}
