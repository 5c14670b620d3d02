/* The Validation: what a token must satisfy, built once by the caller and then shared
 * read-only between threads. Defaults are the safe ones (see jwtd_validation_new). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

static atomic_uint_fast64_t validation_ids = 1;

/* A new identity after every change: caches keyed on it never see a stale Validation. */
static void touch(jwtd_validation *v) { v->id = atomic_fetch_add(&validation_ids, 1); }

/* Registered header names that may never appear in crit (RFC 7515 §4.1.11). */
static const char *const registered_headers[] = {"alg", "jku", "jwk", "kid", "x5u", "x5c",
                                                 "x5t", "x5t#S256", "typ", "cty", "crit"};

jwtd_validation *jwtd_validation_new(void)
{
    jwtd_validation *v = calloc(1, sizeof *v);

    if (v == NULL)
        return NULL;
    v->leeway = JWTD_DEFAULT_LEEWAY_SECONDS;
    v->require_exp = true;
    v->max_token_bytes = JWTD_DEFAULT_MAX_TOKEN_BYTES;
    v->max_json_depth = JWTD_DEFAULT_MAX_JSON_DEPTH;
    touch(v);
    return v;
}

static void strlist_clear(jose_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void jwtd_validation_free(jwtd_validation *v)
{
    if (v == NULL)
        return;
    strlist_clear(&v->audiences);
    strlist_clear(&v->issuers);
    strlist_clear(&v->subjects);
    strlist_clear(&v->required);
    strlist_clear(&v->crit);
    free(v->typ);
    free(v);
}

static jwtd_err strlist_add(jose_strlist *l, const char *s)
{
    char **items;
    char *copy;

    if (s == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (jose_strlist_has(l, s, strlen(s)))
        return JWTD_OK;
    copy = strdup(s);
    items = copy != NULL ? realloc(l->items, (l->n + 1) * sizeof *items) : NULL;
    if (items == NULL) {
        free(copy);
        return JWTD_ERR_NO_MEMORY;
    }
    items[l->n++] = copy;
    l->items = items;
    return JWTD_OK;
}

bool jose_strlist_has(const jose_strlist *l, const char *s, size_t len)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strlen(l->items[i]) == len && memcmp(l->items[i], s, len) == 0)
            return true;
    }
    return false;
}

int64_t jose_validation_now(const jwtd_validation *v)
{
    return v->fixed_now != 0 ? v->fixed_now : (int64_t)time(NULL);
}

jwtd_err jwtd_validation_allow_alg(jwtd_validation *v, jwtd_alg alg)
{
    if (v == NULL || jose_alg_info_get(alg) == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    v->allowed_algs |= 1u << alg;
    touch(v);
    return JWTD_OK;
}

jwtd_err jwtd_validation_set_leeway(jwtd_validation *v, int64_t seconds)
{
    /* A day of leeway is already absurd; the bound keeps exp + leeway far from overflow. */
    if (v == NULL || seconds < 0 || seconds > 86400)
        return JWTD_ERR_INVALID_ARGUMENT;
    v->leeway = seconds;
    touch(v);
    return JWTD_OK;
}

jwtd_err jwtd_validation_require_exp(jwtd_validation *v, bool required)
{
    if (v == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    v->require_exp = required;
    touch(v);
    return JWTD_OK;
}

jwtd_err jwtd_validation_add_audience(jwtd_validation *v, const char *aud)
{
    if (v == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    touch(v);
    return strlist_add(&v->audiences, aud);
}

jwtd_err jwtd_validation_add_issuer(jwtd_validation *v, const char *iss)
{
    if (v == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    touch(v);
    return strlist_add(&v->issuers, iss);
}

jwtd_err jwtd_validation_add_subject(jwtd_validation *v, const char *sub)
{
    if (v == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    touch(v);
    return strlist_add(&v->subjects, sub);
}

jwtd_err jwtd_validation_require_claim(jwtd_validation *v, const char *name)
{
    if (v == NULL || name == NULL || name[0] == '\0' || strlen(name) >= JWTD_MAX_CLAIM_NAME)
        return JWTD_ERR_INVALID_ARGUMENT;
    touch(v);
    return strlist_add(&v->required, name);
}

/* Lower-case typ without an "application/" prefix (RFC 7515 §4.1.9); NULL if too long. */
char *jose_typ_normalise(const char *typ, size_t len)
{
    static const char prefix[] = "application/";
    char *out;

    if (len >= sizeof prefix - 1 && strncasecmp(typ, prefix, sizeof prefix - 1) == 0) {
        typ += sizeof prefix - 1;
        len -= sizeof prefix - 1;
    }
    out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)typ[i]);
    out[len] = '\0';
    return out;
}

jwtd_err jwtd_validation_set_typ(jwtd_validation *v, const char *typ)
{
    char *norm = NULL;

    if (v == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (typ != NULL && (norm = jose_typ_normalise(typ, strlen(typ))) == NULL)
        return JWTD_ERR_NO_MEMORY;
    free(v->typ);
    v->typ = norm;
    touch(v);
    return JWTD_OK;
}

bool jose_header_is_registered(const char *name)
{
    for (size_t i = 0; i < sizeof registered_headers / sizeof registered_headers[0]; i++) {
        if (strcmp(name, registered_headers[i]) == 0)
            return true;
    }
    return false;
}

jwtd_err jwtd_validation_allow_crit(jwtd_validation *v, const char *name)
{
    if (v == NULL || name == NULL || jose_header_is_registered(name))
        return JWTD_ERR_INVALID_ARGUMENT;
    touch(v);
    return strlist_add(&v->crit, name);
}

jwtd_err jwtd_validation_allow_unencoded_payload(jwtd_validation *v, bool allow)
{
    if (v == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    v->allow_unencoded = allow;
    touch(v);
    return JWTD_OK;
}

jwtd_err jwtd_validation_set_max_token_bytes(jwtd_validation *v, size_t max)
{
    if (v == NULL || max == 0 || max > (64u << 20))
        return JWTD_ERR_INVALID_ARGUMENT;
    v->max_token_bytes = max;
    touch(v);
    return JWTD_OK;
}

jwtd_err jwtd_validation_set_max_json_depth(jwtd_validation *v, size_t max)
{
    if (v == NULL || max == 0 || max > 256)
        return JWTD_ERR_INVALID_ARGUMENT;
    v->max_json_depth = max;
    touch(v);
    return JWTD_OK;
}

jwtd_err jwtd_validation_set_now(jwtd_validation *v, int64_t unix_seconds)
{
    if (v == NULL || unix_seconds < 0)
        return JWTD_ERR_INVALID_ARGUMENT;
    v->fixed_now = unix_seconds;
    touch(v);
    return JWTD_OK;
}
