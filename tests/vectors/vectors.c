/* Shared helpers for the vector tests: file access under JWTD_VECTORS_DIR, hex and
 * base64url (libsodium's URL-safe no-padding variant), keys from JSON and the tally.
 * Nothing here decides whether a case passes; the programs do. */
#include "vectors.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define VEC_MAX_FILE_BYTES (16u << 20) /* the largest vector file is ~1 MB */

static char *vec_path(const char *rel)
{
    size_t n = strlen(JWTD_VECTORS_DIR) + 1 + strlen(rel) + 1;
    char *p = malloc(n);

    if (p != NULL)
        snprintf(p, n, "%s/%s", JWTD_VECTORS_DIR, rel);
    return p;
}

char *vec_read(const char *rel, size_t *len)
{
    char *path = vec_path(rel), *buf = NULL;
    FILE *f = path != NULL ? fopen(path, "rb") : NULL;
    long size;

    if (f == NULL) {
        fprintf(stderr, "cannot open %s: %s\n", path != NULL ? path : rel, strerror(errno));
        free(path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        (unsigned long)size <= VEC_MAX_FILE_BYTES && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)size + 1)) != NULL) {
        if (fread(buf, 1, (size_t)size, f) == (size_t)size) {
            buf[size] = '\0';
            if (len != NULL)
                *len = (size_t)size;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    if (buf == NULL)
        fprintf(stderr, "cannot read %s\n", path);
    fclose(f);
    free(path);
    return buf;
}

json_t *vec_json(const char *rel)
{
    size_t len = 0;
    char *text = vec_read(rel, &len);
    json_error_t e;
    json_t *v;

    if (text == NULL)
        return NULL;
    v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (v == NULL)
        fprintf(stderr, "%s: JSON error line %d: %s\n", rel, e.line, e.text);
    free(text);
    return v;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **vec_list_dir(const char *rel_dir, const char *suffix, size_t *n)
{
    char *path = vec_path(rel_dir), **names = NULL, **grown;
    DIR *d = path != NULL ? opendir(path) : NULL;
    size_t count = 0, cap = 0, slen = strlen(suffix);
    struct dirent *de;

    *n = 0;
    if (d == NULL) {
        free(path);
        return NULL;
    }
    while ((de = readdir(d)) != NULL) {
        size_t nlen = strlen(de->d_name);
        char full[4096];
        struct stat st;

        if (nlen < slen || strcmp(de->d_name + nlen - slen, suffix) != 0)
            continue;
        snprintf(full, sizeof full, "%s/%s", path, de->d_name);
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (count == cap) {
            cap = cap != 0 ? 2 * cap : 16;
            grown = realloc(names, cap * sizeof *names);
            if (grown == NULL)
                break;
            names = grown;
        }
        names[count] = strdup(de->d_name);
        if (names[count] == NULL)
            break;
        count++;
    }
    closedir(d);
    free(path);
    if (count > 0)
        qsort(names, count, sizeof *names, cmp_names);
    *n = count;
    return names != NULL ? names : calloc(1, sizeof *names);
}

void vec_list_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

unsigned char *vec_hex(const char *hex, size_t *len)
{
    size_t hlen = strlen(hex), bin_len = 0;
    unsigned char *out;

    if (hlen % 2 != 0)
        return NULL;
    out = malloc(hlen / 2 + 1); /* +1: a valid pointer for empty input */
    if (out == NULL)
        return NULL;
    if (sodium_hex2bin(out, hlen / 2, hex, hlen, NULL, &bin_len, NULL) != 0 ||
        bin_len != hlen / 2) {
        free(out);
        return NULL;
    }
    *len = bin_len;
    return out;
}

char *vec_b64url(const void *bin, size_t len)
{
    const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);

    if (out != NULL)
        sodium_bin2base64(out, cap, bin, len, variant);
    return out;
}

unsigned char *vec_unb64url(const char *s, size_t *len)
{
    size_t slen = strlen(s), cap = slen * 3 / 4 + 1, n = 0;
    const char *end = NULL;
    unsigned char *out = malloc(cap);

    if (out == NULL)
        return NULL;
    if (sodium_base642bin(out, cap, s, slen, NULL, &n, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != s + slen) {
        free(out);
        return NULL;
    }
    *len = n;
    return out;
}

char *vec_dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

jwtd_err vec_key_from_json(const json_t *jwk, unsigned flags, jwtd_key **out)
{
    char *text = vec_dump(jwk);
    jwtd_err rc;

    *out = NULL;
    if (text == NULL)
        return JWTD_ERR_NO_MEMORY;
    rc = jwtd_key_from_jwk(text, strlen(text), flags, out);
    free(text);
    return rc;
}

jwtd_keyset *vec_keyset_of(jwtd_key *key)
{
    jwtd_keyset *set = NULL;

    if (jwtd_keyset_new(&key, 1, &set) != JWTD_OK)
        return NULL;
    return set;
}

jwtd_err vec_keyset_from_json(const json_t *jwk_or_jwks, unsigned flags, jwtd_keyset **out)
{
    jwtd_key *key = NULL;
    char *text;
    jwtd_err rc;

    *out = NULL;
    if (json_object_get(jwk_or_jwks, "keys") != NULL) {
        text = vec_dump(jwk_or_jwks);
        if (text == NULL)
            return JWTD_ERR_NO_MEMORY;
        rc = jwtd_keyset_from_jwks(text, strlen(text), flags, out);
        free(text);
        return rc;
    }
    rc = vec_key_from_json(jwk_or_jwks, flags, &key);
    if (rc != JWTD_OK)
        return rc;
    rc = jwtd_keyset_new(&key, 1, out);
    jwtd_key_free(key);
    return rc;
}

jwtd_validation *vec_validation(unsigned algs)
{
    jwtd_validation *v = NULL;

    if (jwtd_validation_new(&v) != JWTD_OK)
        return NULL;
    for (int a = JWTD_ALG_UNKNOWN + 1; a < JWTD_ALG_COUNT; a++) {
        if ((algs & VEC_ALG(a)) != 0 && jwtd_validation_allow_alg(v, (jwtd_alg)a) != JWTD_OK) {
            jwtd_validation_free(v);
            return NULL;
        }
    }
    return v;
}

unsigned vec_algs_for_keyset(const jwtd_keyset *set)
{
    unsigned algs = 0;

    for (size_t i = 0; i < jwtd_keyset_count(set); i++) {
        const jwtd_key *k = jwtd_keyset_get(set, i);
        jwtd_alg own = jwtd_key_alg(k);

        if (own != JWTD_ALG_UNKNOWN) {
            algs |= VEC_ALG(own);
            continue;
        }
        for (int a = JWTD_ALG_UNKNOWN + 1; a < JWTD_ALG_COUNT; a++) {
            if (jwtd_key_fits_alg(k, (jwtd_alg)a))
                algs |= VEC_ALG(a);
        }
    }
    return algs;
}

bool vec_is_rejection(jwtd_err e)
{
    return e != JWTD_OK && e != JWTD_ERR_CRYPTO && e != JWTD_ERR_NO_MEMORY &&
           e != JWTD_ERR_INVALID_ARGUMENT && e < JWTD_ERR_COUNT;
}

void vec_tally_print(const vec_tally *t)
{
    printf("%s: %u cases: %u valid verified, %u invalid rejected, %u acceptable recorded, "
           "%u skipped, %u FAILED\n",
           t->file, t->total, t->valid_ok, t->invalid_ok, t->acceptable, t->skipped, t->failed);
    fflush(stdout);
}

void vec_skip(const char *what, const char *why)
{
    printf("SKIP %s: %s\n", what, why);
    fflush(stdout);
}

void vec_fail(vec_tally *t, const char *case_id, const char *fmt, ...)
{
    va_list ap;

    printf("FAIL %s %s: ", t->file, case_id);
    va_start(ap, fmt);
    /* clang-tidy 14 false positive: va_start is just above */
    vprintf(fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    printf("\n");
    fflush(stdout);
    t->failed++;
}
