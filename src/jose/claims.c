/* The claims builder used for signing: a JSON object with typed setters and the
 * registered time and id helpers. */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "jwrite.h"

#define JTI_RANDOM_BYTES 16 /* 128 bits: unguessable and collision-free in practice */

struct jwtd_claims {
    json_t *obj;
};

jwtd_err jwtd_claims_new(jwtd_claims **out)
{
    jwtd_claims *c;

    if (out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if ((c = malloc(sizeof *c)) == NULL)
        return JWTD_ERR_NO_MEMORY;
    if ((c->obj = json_object()) == NULL) {
        free(c);
        return JWTD_ERR_NO_MEMORY;
    }
    *out = c;
    return JWTD_OK;
}

jwtd_err jwtd_claims_from_json(const char *json, size_t len, jwtd_claims **out)
{
    json_t *obj;
    jwtd_claims *c;

    if (json == NULL || out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    *out = NULL;
    obj = jose_json_parse(json, len, JWTD_DEFAULT_MAX_JSON_DEPTH);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return JWTD_ERR_INVALID_ARGUMENT;
    }
    c = malloc(sizeof *c);
    if (c == NULL) {
        json_decref(obj);
        return JWTD_ERR_NO_MEMORY;
    }
    c->obj = obj;
    *out = c;
    return JWTD_OK;
}

void jwtd_claims_free(jwtd_claims *c)
{
    if (c == NULL)
        return;
    json_decref(c->obj);
    free(c);
}

/* Sets name to v, taking the reference to v in every case. */
static jwtd_err claims_set(jwtd_claims *c, const char *name, json_t *v)
{
    if (c == NULL || name == NULL) {
        json_decref(v);
        return JWTD_ERR_INVALID_ARGUMENT;
    }
    if (v == NULL)
        return JWTD_ERR_NO_MEMORY;
    return json_object_set_new(c->obj, name, v) == 0 ? JWTD_OK : JWTD_ERR_INVALID_ARGUMENT;
}

jwtd_err jwtd_claims_set_string(jwtd_claims *c, const char *name, const char *value)
{
    if (value == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    /* json_string refuses invalid UTF-8, which would make an unparseable token. */
    json_t *v = json_string(value);
    if (v == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    return claims_set(c, name, v);
}

jwtd_err jwtd_claims_set_int(jwtd_claims *c, const char *name, int64_t value)
{
    return claims_set(c, name, json_integer((json_int_t)value));
}

jwtd_err jwtd_claims_set_bool(jwtd_claims *c, const char *name, bool value)
{
    return claims_set(c, name, json_boolean(value));
}

jwtd_err jwtd_claims_set_strings(jwtd_claims *c, const char *name, const char *const *values,
                                 size_t n)
{
    json_t *arr;

    if (values == NULL && n > 0)
        return JWTD_ERR_INVALID_ARGUMENT;
    arr = json_array();
    if (arr == NULL)
        return JWTD_ERR_NO_MEMORY;
    for (size_t i = 0; i < n; i++) {
        json_t *s = values[i] != NULL ? json_string(values[i]) : NULL;
        if (s == NULL || json_array_append_new(arr, s) != 0) {
            json_decref(arr);
            return JWTD_ERR_INVALID_ARGUMENT;
        }
    }
    return claims_set(c, name, arr);
}

jwtd_err jwtd_claims_set_json(jwtd_claims *c, const char *name, const char *json)
{
    json_t *v;

    if (json == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    v = jose_json_parse(json, strlen(json), JWTD_DEFAULT_MAX_JSON_DEPTH);
    if (v == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    return claims_set(c, name, v);
}

jwtd_err jwtd_claims_set_iat_now(jwtd_claims *c)
{
    return jwtd_claims_set_int(c, "iat", (int64_t)time(NULL));
}

jwtd_err jwtd_claims_set_exp_in(jwtd_claims *c, int64_t seconds)
{
    if (seconds < -(INT64_C(1) << 40) || seconds > (INT64_C(1) << 40))
        return JWTD_ERR_INVALID_ARGUMENT;
    return jwtd_claims_set_int(c, "exp", (int64_t)time(NULL) + seconds);
}

jwtd_err jwtd_claims_set_nbf_in(jwtd_claims *c, int64_t seconds)
{
    if (seconds < -(INT64_C(1) << 40) || seconds > (INT64_C(1) << 40))
        return JWTD_ERR_INVALID_ARGUMENT;
    return jwtd_claims_set_int(c, "nbf", (int64_t)time(NULL) + seconds);
}

jwtd_err jwtd_claims_set_jti_random(jwtd_claims *c)
{
    unsigned char rnd[JTI_RANDOM_BYTES];
    char jti[32];

    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return JWTD_ERR_CRYPTO;
    jose_b64url_encode(rnd, sizeof rnd, jti);
    return jwtd_claims_set_string(c, "jti", jti);
}

jwtd_err jwtd_claims_json(const jwtd_claims *c, char **json_out)
{
    if (c == NULL || json_out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    *json_out = jose_json_dump(c->obj);
    return *json_out != NULL ? JWTD_OK : JWTD_ERR_NO_MEMORY;
}

size_t jose_claims_dumpb(const jwtd_claims *c, char *buf, size_t cap)
{
    /* jwrite first: the same bytes as jansson for the claims it handles (plain ASCII strings,
     * integers, literals, shallow nesting), at a fraction of json_dumpb's cost (its loop
     * detection formats a key per container, its integers go through snprintf). */
    size_t n = jose_jwrite_object(c->obj, buf, cap);
    if (n != 0)
        return n;
    /* The flags of jose_json_dump, so both give the same bytes. */
    return json_dumpb(c->obj, buf, cap, JSON_COMPACT | JSON_PRESERVE_ORDER);
}
