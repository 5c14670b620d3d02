/* jwtd_keyset: an immutable, reference-counted list of keys (a JWKS, or one key of any
 * format), the format sniffing behind `--key FILE`, lookup by kid and the public JWKS.
 * Rules for every set: 1..JWTD_MAX_JWKS_KEYS keys, no duplicate kid, and never secrets mixed
 * with asymmetric keys (a verifier could then be steered from one kind to the other). */
#include <stdlib.h>
#include <string.h>

#include "keys.h"

/* ---- Building ---- */

static bool kid_equal(const jwtd_key *a, const jwtd_key *b)
{
    return a->kid != NULL && b->kid != NULL && strcmp(a->kid, b->kid) == 0;
}

static jwtd_err keyset_rules(jwtd_key *const *keys, size_t n)
{
    bool oct = false, asym = false;

    if (n == 0 || n > JWTD_MAX_JWKS_KEYS)
        return JWTD_ERR_INVALID_KEY_FORMAT;
    for (size_t i = 0; i < n; i++) {
        oct = oct || keys[i]->kty == JWTD_KTY_OCT;
        asym = asym || keys[i]->kty != JWTD_KTY_OCT;
        for (size_t j = 0; j < i; j++) {
            if (kid_equal(keys[i], keys[j]))
                return JWTD_ERR_INVALID_KEY_FORMAT;
        }
    }
    return oct && asym ? JWTD_ERR_INVALID_KEY_FORMAT : JWTD_OK;
}

static void keys_free(jwtd_key **keys, size_t n)
{
    for (size_t i = 0; keys != NULL && i < n; i++)
        jwtd_key_free(keys[i]);
    free(keys);
}

/* Wraps keys (a malloc'ed array of n references) into a set; consumes them even on failure. */
static jwtd_err keyset_take(jwtd_key **keys, size_t n, jwtd_keyset **out)
{
    jwtd_keyset *set;
    jwtd_err rc = keyset_rules(keys, n);

    if (rc != JWTD_OK) {
        keys_free(keys, n);
        return rc;
    }
    if ((set = malloc(sizeof *set)) == NULL) {
        keys_free(keys, n);
        return JWTD_ERR_NO_MEMORY;
    }
    atomic_init(&set->refs, 1);
    set->n = n;
    set->keys = keys;
    *out = set;
    return JWTD_OK;
}

static jwtd_err keyset_of_one(jwtd_key *key, jwtd_keyset **out)
{
    jwtd_key **keys = malloc(sizeof *keys);

    if (keys == NULL) {
        jwtd_key_free(key);
        return JWTD_ERR_NO_MEMORY;
    }
    keys[0] = key;
    return keyset_take(keys, 1, out);
}

jwtd_err jwtd_keyset_new(jwtd_key *const *keys, size_t n, jwtd_keyset **out)
{
    jwtd_key **copy;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || keys == NULL || n == 0)
        return JWTD_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++) {
        if (keys[i] == NULL)
            return JWTD_ERR_INVALID_ARGUMENT;
    }
    if (n > JWTD_MAX_JWKS_KEYS)
        return JWTD_ERR_INVALID_KEY_FORMAT;
    if ((copy = malloc(n * sizeof *copy)) == NULL)
        return JWTD_ERR_NO_MEMORY;
    for (size_t i = 0; i < n; i++)
        copy[i] = jwtd_key_ref(keys[i]);
    return keyset_take(copy, n, out);
}

/* ---- JWKS ---- */

/* Strict and simple: one key that fails to load fails the whole set. */
static jwtd_err jwks_from_json(const json_t *root, unsigned flags, jwtd_keyset **out)
{
    const json_t *arr = json_object_get(root, "keys");
    size_t n = json_array_size(arr);
    jwtd_key **keys;
    jwtd_err rc = JWTD_OK;

    if (!json_is_array(arr) || n == 0 || n > JWTD_MAX_JWKS_KEYS)
        return JWTD_ERR_INVALID_KEY_FORMAT;
    size_t used = 0;

    if ((keys = calloc(n, sizeof *keys)) == NULL)
        return JWTD_ERR_NO_MEMORY;
    for (size_t i = 0; rc == JWTD_OK && i < n; i++) {
        const json_t *jwk = json_array_get(arr, i);
        if (json_is_object(jwk) && jose_jwk_declared_non_sig(jwk))
            continue; /* an encryption key published beside the signing keys */
        rc = jose_jwk_from_json(jwk, flags, &keys[used]);
        if (rc == JWTD_OK)
            used++;
    }
    if (rc == JWTD_OK && used == 0)
        rc = JWTD_ERR_INVALID_KEY_FORMAT;
    if (rc != JWTD_OK) {
        keys_free(keys, n);
        return rc;
    }
    return keyset_take(keys, used, out);
}

/* A JSON text: a JWKS when it has "keys", else one JWK. */
static jwtd_err keyset_from_json_text(const char *json, size_t len, unsigned flags,
                                      jwtd_keyset **out)
{
    json_t *root = jose_json_parse(json, len, JWTD_DEFAULT_MAX_JSON_DEPTH);
    jwtd_key *key = NULL;
    jwtd_err rc;

    if (!json_is_object(root))
        rc = JWTD_ERR_INVALID_KEY_FORMAT;
    else if (json_object_get(root, "keys") != NULL)
        rc = jwks_from_json(root, flags, out);
    else if ((rc = jose_jwk_from_json(root, flags, &key)) == JWTD_OK)
        rc = keyset_of_one(key, out);
    json_decref(root);
    return rc;
}

jwtd_err jwtd_keyset_from_jwks(const char *json, size_t len, unsigned flags, jwtd_keyset **out)
{
    json_t *root;
    jwtd_err rc;

    if (out != NULL)
        *out = NULL;
    if (json == NULL || out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (len > JWTD_MAX_KEY_BYTES)
        return JWTD_ERR_INVALID_KEY_FORMAT;
    root = jose_json_parse(json, len, JWTD_DEFAULT_MAX_JSON_DEPTH);
    rc = json_is_object(root) ? jwks_from_json(root, flags, out) : JWTD_ERR_INVALID_KEY_FORMAT;
    json_decref(root);
    return rc;
}

/* ---- Sniffing ---- */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* JSON (JWKS or JWK) if the first non-blank byte is '{', PEM if it starts "-----BEGIN", else
 * the bytes exactly as given are an HMAC secret: a trailing newline is the caller's to strip. */
jwtd_err jwtd_keyset_parse(const void *data, size_t len, unsigned flags, jwtd_keyset **out)
{
    static const char pem_start[] = "-----BEGIN";
    const char *text = data;
    size_t skip = 0;
    jwtd_key *key = NULL;
    jwtd_err rc;

    if (out != NULL)
        *out = NULL;
    if (data == NULL || out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (len > JWTD_MAX_KEY_BYTES)
        return JWTD_ERR_INVALID_KEY_FORMAT;
    while (skip < len && is_space(text[skip]))
        skip++;
    if (skip < len && text[skip] == '{')
        return keyset_from_json_text(text + skip, len - skip, flags, out);
    if (len - skip >= sizeof pem_start - 1 &&
        memcmp(text + skip, pem_start, sizeof pem_start - 1) == 0)
        rc = jwtd_key_from_pem(text + skip, len - skip, flags, &key);
    else
        rc = jwtd_key_from_secret(data, len, flags, &key);
    return rc == JWTD_OK ? keyset_of_one(key, out) : rc;
}

/* ---- Use ---- */

/* As jwtd_key_ref: only the atomic count changes. */
jwtd_keyset *jwtd_keyset_ref(const jwtd_keyset *set)
{
    jwtd_keyset *s = (jwtd_keyset *)set;

    if (s != NULL)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

void jwtd_keyset_free(jwtd_keyset *set)
{
    if (set != NULL && atomic_fetch_sub(&set->refs, 1) == 1) {
        keys_free(set->keys, set->n);
        free(set);
    }
}

size_t jwtd_keyset_count(const jwtd_keyset *set) { return set != NULL ? set->n : 0; }

const jwtd_key *jwtd_keyset_get(const jwtd_keyset *set, size_t i)
{
    return set != NULL && i < set->n ? set->keys[i] : NULL;
}

const jwtd_key *jwtd_keyset_find(const jwtd_keyset *set, const char *kid, size_t kid_len)
{
    if (set == NULL || kid == NULL)
        return NULL;
    for (size_t i = 0; i < set->n; i++) {
        const char *k = set->keys[i]->kid;

        if (k != NULL && strlen(k) == kid_len && memcmp(k, kid, kid_len) == 0)
            return set->keys[i];
    }
    return NULL;
}

jwtd_err jwtd_keyset_public_jwks(const jwtd_keyset *set, char **json_out)
{
    json_t *root, *arr = json_array();
    jwtd_err rc = JWTD_OK;

    if (json_out != NULL)
        *json_out = NULL;
    if (set == NULL || json_out == NULL) {
        json_decref(arr);
        return JWTD_ERR_INVALID_ARGUMENT;
    }
    root = json_pack("{s:o}", "keys", arr);
    for (size_t i = 0; root != NULL && rc == JWTD_OK && i < set->n; i++) {
        json_t *jwk = NULL;

        if (set->keys[i]->kty == JWTD_KTY_OCT)
            continue; /* secrets are never published */
        rc = jose_jwk_public_json(set->keys[i], &jwk);
        if (rc == JWTD_OK && json_array_append_new(arr, jwk) != 0)
            rc = JWTD_ERR_NO_MEMORY;
    }
    if (root == NULL)
        rc = JWTD_ERR_NO_MEMORY;
    if (rc == JWTD_OK && (*json_out = jose_json_dump(root)) == NULL)
        rc = JWTD_ERR_NO_MEMORY;
    json_decref(root);
    return rc;
}
