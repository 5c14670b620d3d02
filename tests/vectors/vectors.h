/* Shared helpers for the vector tests (tests/vectors): reading the public vector files
 * under JWTD_VECTORS_DIR, hex and base64url (libsodium), keys and key sets from JSON,
 * validations pinned to algorithms, and the per-file tally every program prints. */
#ifndef JWTD_TESTS_VECTORS_H
#define JWTD_TESTS_VECTORS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "jwtd/jwtd.h"

/* Whole file under JWTD_VECTORS_DIR (rel is relative to it), NUL-terminated; NULL if
 * it cannot be read. Caller frees. */
char *vec_read(const char *rel, size_t *len);
/* The file parsed as JSON, or NULL (the reason is printed). Caller decrefs. */
json_t *vec_json(const char *rel);
/* Names of the regular files in a directory under JWTD_VECTORS_DIR, sorted, ending in
 * suffix; *n gets the count. NULL when the directory cannot be read. */
char **vec_list_dir(const char *rel_dir, const char *suffix, size_t *n);
void vec_list_free(char **names, size_t n);

/* Hex to bytes (malloc'ed, never NULL for valid hex; NULL for odd length / bad digit). */
unsigned char *vec_hex(const char *hex, size_t *len);
/* base64url without padding, via libsodium. Caller frees. */
char *vec_b64url(const void *bin, size_t len);
/* base64url (canonical, no padding) to bytes; NULL if invalid. Caller frees. */
unsigned char *vec_unb64url(const char *s, size_t *len);
/* Compact JSON text of v (caller frees), members in document order. */
char *vec_dump(const json_t *v);

/* One key from a JWK object. */
jwtd_err vec_key_from_json(const json_t *jwk, unsigned flags, jwtd_key **out);
/* A key set from a JWK object or a JWKS object ({"keys": [...]}). */
jwtd_err vec_keyset_from_json(const json_t *jwk_or_jwks, unsigned flags, jwtd_keyset **out);
/* A set of one key (takes no ownership of key). */
jwtd_keyset *vec_keyset_of(jwtd_key *key);

/* A validation allowing exactly the algorithms in algs (a bit mask of 1u << jwtd_alg). */
jwtd_validation *vec_validation(unsigned algs);
#define VEC_ALG(a) (1u << (a))

/* The algorithms a caller holding these keys would pin, never taken from a token: each
 * key's own "alg" when it names one, otherwise every algorithm the key fits. */
unsigned vec_algs_for_keyset(const jwtd_keyset *set);

/* Kinds that mean "rejected as the input deserves": not an internal failure (CRYPTO,
 * NO_MEMORY) nor API misuse (INVALID_ARGUMENT). */
bool vec_is_rejection(jwtd_err e);

/* Per-file results, printed as one summary line. */
typedef struct vec_tally {
    const char *file;
    unsigned total;      /* cases seen */
    unsigned valid_ok;   /* expected to pass and passed */
    unsigned invalid_ok; /* expected to fail and were rejected */
    unsigned acceptable; /* "acceptable" cases, recorded */
    unsigned skipped;    /* skipped with a printed reason */
    unsigned failed;     /* expectation not met (each one printed) */
} vec_tally;

void vec_tally_print(const vec_tally *t);
/* Prints "SKIP <what>: <why>" (one line, greppable). */
void vec_skip(const char *what, const char *why);
/* Prints "FAIL <file> <case>: <fmt...>" and counts it. */
void vec_fail(vec_tally *t, const char *case_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For cmocka programs (include cmocka.h first): fail with both kinds' names. */
#define assert_err(expected, got)                                                                  \
    do {                                                                                           \
        jwtd_err want_ = (expected), got_ = (got);                                                 \
        if (want_ != got_) {                                                                       \
            print_error("%s:%d: expected %s, got %s\n", __FILE__, __LINE__, jwtd_err_name(want_),  \
                        jwtd_err_name(got_));                                                      \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

#endif /* JWTD_TESTS_VECTORS_H */
