/* The Validation: what a token must satisfy, built once by the caller and then shared
 * read-only between threads (defaults are the safe ones, see jwtd_validation_new), and the
 * claim checks that apply it once a signature verified. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

#define NUMERIC_DATE_LIMIT 9223372036854775808.0 /* 2^63 */

static atomic_uint_fast64_t validation_ids = 1;

/* A new identity after every change: caches keyed on it never see a stale Validation. */
static void touch(jwtd_validation *v) { v->id = atomic_fetch_add(&validation_ids, 1); }

/* Registered header names that may never appear in crit (RFC 7515 §4.1.11). */
static const char *const registered_headers[] = {"alg", "jku",      "jwk", "kid", "x5u", "x5c",
                                                 "x5t", "x5t#S256", "typ", "cty", "crit"};

jwtd_err jwtd_validation_new(jwtd_validation **out)
{
    jwtd_validation *v;

    if (out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if ((*out = v = calloc(1, sizeof *v)) == NULL)
        return JWTD_ERR_NO_MEMORY;
    v->leeway = JWTD_DEFAULT_LEEWAY_SECONDS;
    v->require_exp = true;
    v->max_token_bytes = JWTD_DEFAULT_MAX_TOKEN_BYTES;
    v->max_json_depth = JWTD_DEFAULT_MAX_JSON_DEPTH;
    touch(v);
    return JWTD_OK;
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

/* ---- The claims (checked after the signature) ---- */
/* A NumericDate: integers are compared as integers (2^63-1 must not round up to 2^63),
 * fractions (RFC 7519 §2 allows them) as doubles. */
typedef struct numeric_date {
    bool present, is_int;
    int64_t i;
    double d;
} numeric_date;

/* The registered claims the rules read (RFC 7519 §4.1), found in one walk over the members. */
enum { REG_ISS, REG_SUB, REG_JTI, REG_AUD, REG_EXP, REG_NBF, REG_IAT, REG_COUNT };
static const char reg_names[REG_COUNT][4] = {"iss", "sub", "jti", "aud", "exp", "nbf", "iat"};
#define REG_NAME_LEN 3
#define REG_ESCAPED_MAX 18 /* "\u0069\u0073\u0073": a 3-letter name, every letter escaped */

/* reg[i] is the claim reg_names[i] (names compared after unescaping), type JREAD_NONE when
 * absent. */
static void registered_claims(const jread_doc *claims, jread_value reg[REG_COUNT])
{
    char name[REG_ESCAPED_MAX + 1];
    jread_iter it = {0, 0};
    const char *key;
    size_t key_len;
    jread_value v;
    bool escaped;

    for (int i = 0; i < REG_COUNT; i++)
        reg[i] = (jread_value){.type = JREAD_NONE};
    while (jread_next(claims, &it, &v, &key, &key_len, &escaped)) {
        if (escaped && key_len > REG_ESCAPED_MAX)
            continue;
        if (escaped) {
            key_len = jread_unescape(key, key_len, name);
            key = name;
        }
        for (int i = 0; key_len == REG_NAME_LEN && i < REG_COUNT; i++) {
            if (memcmp(key, reg_names[i], REG_NAME_LEN) == 0) {
                reg[i] = v;
                break;
            }
        }
    }
}

/* Reads the claim v (called name) if present: a JSON number in [0, 2^63). */
static jwtd_err numeric_date_get(const jread_value *vp, const char *name, numeric_date *out,
                                 jwtd_error *err)
{
    jread_value v = *vp;

    memset(out, 0, sizeof *out);
    if (v.type == JREAD_NONE)
        return JWTD_OK;
    out->present = true;
    if (v.type == JREAD_INTEGER) {
        out->is_int = true;
        out->i = jread_int(&v);
        if (out->i < 0)
            return jose_fail(err, JWTD_ERR_INVALID_TOKEN, name, "date claim out of range");
        return JWTD_OK;
    }
    if (v.type != JREAD_REAL)
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, name, "date claim must be a number");
    out->d = jread_real(&v);
    if (!isfinite(out->d) || out->d < 0 || out->d >= NUMERIC_DATE_LIMIT)
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, name, "date claim out of range");
    return JWTD_OK;
}

/* date <= t, with t a small time (now plus or minus the leeway): no overflow possible. */
static bool date_at_or_before(const numeric_date *nd, int64_t t)
{
    return nd->is_int ? nd->i <= t : nd->d <= (double)t;
}

/* aud is a string or an array of strings (RFC 7519 §4.1.3). */
static bool aud_well_formed(const jread_value *aud)
{
    jread_value item;
    size_t pos = 0;

    if (aud->type == JREAD_STRING)
        return true;
    if (aud->type != JREAD_ARRAY)
        return false;
    while (jread_array_next(aud, &pos, &item)) {
        if (item.type != JREAD_STRING)
            return false;
    }
    return true;
}

/* s is a string that unescapes to one of allowed's items. */
static bool string_in(const jread_value *s, const jose_strlist *allowed)
{
    if (s->type != JREAD_STRING)
        return false;
    for (size_t i = 0; i < allowed->n; i++) {
        if (jread_string_eq(s, allowed->items[i], strlen(allowed->items[i])))
            return true;
    }
    return false;
}

static bool aud_accepted(const jread_value *aud, const jose_strlist *allowed)
{
    jread_value item;
    size_t pos = 0;

    if (aud->type == JREAD_STRING)
        return string_in(aud, allowed);
    while (jread_array_next(aud, &pos, &item)) {
        if (string_in(&item, allowed))
            return true;
    }
    return false;
}

jwtd_err jose_validation_check_claims(const jwtd_validation *v, const jread_doc *claims,
                                      jwtd_error *err)
{
    static const int string_claims[] = {REG_ISS, REG_SUB, REG_JTI};
    numeric_date exp, nbf, iat;
    jread_value reg[REG_COUNT], s;
    const jread_value *aud = &reg[REG_AUD];
    int64_t now;
    jwtd_err rc;

    registered_claims(claims, reg);
    for (size_t i = 0; i < sizeof string_claims / sizeof string_claims[0]; i++) {
        int r = string_claims[i];
        if (reg[r].type != JREAD_NONE && reg[r].type != JREAD_STRING)
            return jose_fail(err, JWTD_ERR_INVALID_TOKEN, reg_names[r], "claim must be a string");
    }
    if (aud->type != JREAD_NONE && !aud_well_formed(aud))
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, "aud", "aud must be string or strings");
    if ((rc = numeric_date_get(&reg[REG_EXP], "exp", &exp, err)) != JWTD_OK ||
        (rc = numeric_date_get(&reg[REG_NBF], "nbf", &nbf, err)) != JWTD_OK ||
        (rc = numeric_date_get(&reg[REG_IAT], "iat", &iat, err)) != JWTD_OK)
        return rc;

    if (v->require_exp && !exp.present)
        return jose_fail(err, JWTD_ERR_MISSING_REQUIRED_CLAIM, "exp", "exp is required");
    for (size_t i = 0; i < v->required.n; i++) {
        if (!jread_get(claims, v->required.items[i], &s))
            return jose_fail(err, JWTD_ERR_MISSING_REQUIRED_CLAIM, v->required.items[i],
                             "required claim missing");
    }

    /* expired: exp + leeway <= now; immature: nbf - leeway > now (rearranged so that
     * nothing near 2^63 is ever added to). */
    now = jose_validation_now(v);
    if (exp.present && date_at_or_before(&exp, now - v->leeway))
        return jose_fail(err, JWTD_ERR_EXPIRED_SIGNATURE, "exp", "token expired");
    if (nbf.present && !date_at_or_before(&nbf, now + v->leeway))
        return jose_fail(err, JWTD_ERR_IMMATURE_SIGNATURE, "nbf", "token not valid yet");
    if (v->issuers.n > 0 && !string_in(&reg[REG_ISS], &v->issuers))
        return jose_fail(err, JWTD_ERR_INVALID_ISSUER, "iss", "issuer not accepted");
    if (v->subjects.n > 0 && !string_in(&reg[REG_SUB], &v->subjects))
        return jose_fail(err, JWTD_ERR_INVALID_SUBJECT, "sub", "subject not accepted");
    if (v->audiences.n > 0 && (aud->type == JREAD_NONE || !aud_accepted(aud, &v->audiences)))
        return jose_fail(err, JWTD_ERR_INVALID_AUDIENCE, "aud", "audience not accepted");
    return JWTD_OK;
}
