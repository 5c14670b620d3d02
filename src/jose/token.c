/* A verified token and its typed getters. Everything here runs after verification. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void jwtd_token_free(jwtd_token *t)
{
    if (t == NULL)
        return;
    json_decref(t->header);
    json_decref(t->claims);
    free(t->payload);
    jwtd_key_free(t->key);
    free(t);
}

jwtd_alg jwtd_token_alg(const jwtd_token *t) { return t != NULL ? t->alg : JWTD_ALG_UNKNOWN; }

const char *jwtd_token_kid(const jwtd_token *t)
{
    return t != NULL && t->key != NULL ? jwtd_key_kid(t->key) : NULL;
}

const char *jwtd_token_payload(const jwtd_token *t, size_t *len)
{
    if (t == NULL)
        return NULL;
    if (len != NULL)
        *len = t->payload_len;
    return (const char *)t->payload;
}

static jwtd_err dump_to(const json_t *v, char **json_out)
{
    if (json_out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    *json_out = NULL;
    if (v == NULL)
        return JWTD_ERR_INVALID_TOKEN;
    *json_out = jose_json_dump(v);
    return *json_out != NULL ? JWTD_OK : JWTD_ERR_NO_MEMORY;
}

jwtd_err jwtd_token_header_json(const jwtd_token *t, char **json_out)
{
    return dump_to(t != NULL ? t->header : NULL, json_out);
}

jwtd_err jwtd_token_claims_json(const jwtd_token *t, char **json_out)
{
    return dump_to(t != NULL ? t->claims : NULL, json_out);
}

/* The member, or NULL with *rc set (MissingRequiredClaim / InvalidArgument). */
static json_t *member(const json_t *obj, const char *name, jwtd_err *rc)
{
    json_t *v;

    if (name == NULL) {
        *rc = JWTD_ERR_INVALID_ARGUMENT;
        return NULL;
    }
    v = obj != NULL ? json_object_get(obj, name) : NULL;
    *rc = v != NULL ? JWTD_OK : JWTD_ERR_MISSING_REQUIRED_CLAIM;
    return v;
}

static jwtd_err string_of(const json_t *obj, const char *name, const char **out)
{
    jwtd_err rc;
    json_t *v = member(obj, name, &rc);

    if (out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (v == NULL)
        return rc;
    if (!json_is_string(v))
        return JWTD_ERR_INVALID_TOKEN;
    *out = json_string_value(v);
    return JWTD_OK;
}

jwtd_err jwtd_token_claim_string(const jwtd_token *t, const char *name, const char **out)
{
    return string_of(t != NULL ? t->claims : NULL, name, out);
}

jwtd_err jwtd_token_header_string(const jwtd_token *t, const char *name, const char **out)
{
    return string_of(t != NULL ? t->header : NULL, name, out);
}

jwtd_err jwtd_token_claim_int(const jwtd_token *t, const char *name, int64_t *out)
{
    jwtd_err rc;
    json_t *v = member(t != NULL ? t->claims : NULL, name, &rc);
    double d;

    if (out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (v == NULL)
        return rc;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return JWTD_OK;
    }
    /* NumericDate may carry a fraction (RFC 7519 §2): take the whole seconds. */
    d = json_is_real(v) ? json_real_value(v) : NAN;
    if (!isfinite(d) || d <= -9223372036854775808.0 || d >= 9223372036854775808.0)
        return JWTD_ERR_INVALID_TOKEN;
    *out = (int64_t)d;
    return JWTD_OK;
}

jwtd_err jwtd_token_claim_bool(const jwtd_token *t, const char *name, bool *out)
{
    jwtd_err rc;
    json_t *v = member(t != NULL ? t->claims : NULL, name, &rc);

    if (out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (v == NULL)
        return rc;
    if (!json_is_boolean(v))
        return JWTD_ERR_INVALID_TOKEN;
    *out = json_is_true(v);
    return JWTD_OK;
}

jwtd_err jwtd_token_claim_strings(const jwtd_token *t, const char *name, const char **out,
                                  size_t max, size_t *n)
{
    jwtd_err rc;
    json_t *v = member(t != NULL ? t->claims : NULL, name, &rc), *item;
    size_t i;

    if (n == NULL || (out == NULL && max > 0))
        return JWTD_ERR_INVALID_ARGUMENT;
    *n = 0;
    if (v == NULL)
        return rc;
    if (json_is_string(v)) {
        if (max > 0)
            out[0] = json_string_value(v);
        *n = 1;
        return JWTD_OK;
    }
    if (!json_is_array(v))
        return JWTD_ERR_INVALID_TOKEN;
    json_array_foreach(v, i, item) {
        if (!json_is_string(item))
            return JWTD_ERR_INVALID_TOKEN;
    }
    json_array_foreach(v, i, item) {
        if (i < max)
            out[i] = json_string_value(item);
    }
    *n = json_array_size(v);
    return JWTD_OK;
}

static bool string_is(const json_t *s, const char *value)
{
    return json_is_string(s) && strcmp(json_string_value(s), value) == 0;
}

bool jwtd_token_claim_has_string(const jwtd_token *t, const char *name, const char *value)
{
    json_t *v, *item;
    size_t i;

    if (t == NULL || name == NULL || value == NULL ||
        (v = json_object_get(t->claims, name)) == NULL)
        return false;
    json_array_foreach(v, i, item) {
        if (string_is(item, value))
            return true;
    }
    return string_is(v, value);
}
