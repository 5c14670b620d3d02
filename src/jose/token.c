/* A verified token and its typed getters. Everything here runs after verification. The claims
 * are read in place (jread) from the token's own copy of the payload; the strings the getters
 * return live in the token, unescaped once when it is built. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The string v of the claims ends as a C string in strs, at the offset of its first byte. */
static void unescape_in_place(const jread_doc *d, const jread_value *v, char *strs)
{
    size_t off = (size_t)(v->json - d->buf);

    if (!v->escaped)
        strs[off + v->json_len - 1] = '\0'; /* the closing quote */
    else
        (void)jread_unescape(v->json + 1, v->json_len - 2, strs + off + 1);
}

void jose_unescape_strings(const jread_doc *d, char *strs)
{
    jread_iter it = {0, 0};
    jread_value v, item;
    const char *key;
    size_t key_len, pos;
    bool key_escaped;

    memcpy(strs, d->buf, d->len);
    strs[d->len] = '\0';
    while (jread_next(d, &it, &v, &key, &key_len, &key_escaped)) {
        if (v.type == JREAD_STRING)
            unescape_in_place(d, &v, strs);
        for (pos = 0; v.type == JREAD_ARRAY && jread_array_next(&v, &pos, &item);) {
            if (item.type == JREAD_STRING)
                unescape_in_place(d, &item, strs);
        }
    }
}

jwtd_token *jose_token_new(jwtd_alg alg, jwtd_key *key, const char *hjson, size_t hjson_len,
                           const char *hstrs, const unsigned char *payload, size_t payload_len,
                           const jread_doc *claims, size_t max_depth)
{
    jwtd_token *t = NULL;
    jread_doc hdoc;
    char *pay, *strs, *hj, *hs;

    if (payload_len < (SIZE_MAX - sizeof *t) / 4 && hjson_len < (SIZE_MAX - sizeof *t) / 4)
        t = malloc(sizeof *t + 2 * (payload_len + 1) + 2 * (hjson_len + 1));
    if (t == NULL)
        return NULL;
    pay = (char *)(t + 1);
    strs = pay + payload_len + 1;
    hj = strs + payload_len + 1;
    hs = hj + hjson_len + 1;
    memcpy(hj, hjson, hjson_len);
    hj[hjson_len] = '\0';
    if (hstrs != NULL) {
        memcpy(hs, hstrs, hjson_len + 1);
    } else if (jread_parse(&hdoc, hj, hjson_len, JREAD_PARSER_MAX_DEPTH) == 0) {
        jose_unescape_strings(&hdoc, hs);
    } else {
        free(t);
        return NULL;
    }
    if (payload_len > 0)
        memcpy(pay, payload, payload_len);
    pay[payload_len] = '\0';
    t->alg = alg;
    t->key = jwtd_key_ref(key);
    t->hjson = hj;
    t->hjson_len = hjson_len;
    t->hstrs = hs;
    t->payload = (unsigned char *)pay;
    t->payload_len = payload_len;
    if (claims != NULL) {
        t->claims = *claims;
        t->claims.buf = pay;
        t->has_claims = true;
    } else {
        t->has_claims = jread_parse(&t->claims, pay, payload_len, max_depth) == 0;
    }
    t->strs = strs;
    if (t->has_claims) {
        jose_unescape_strings(&t->claims, strs);
    } else {
        memcpy(strs, pay, payload_len + 1);
    }
    return t;
}

void jwtd_token_free(jwtd_token *t)
{
    if (t == NULL)
        return;
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

/* JSON text jread accepted, as jansson reads and writes it (the same decision,
 * tests/fuzz/fuzz_json.c): arbitrary JSON on demand. */
static jwtd_err dump_json(const char *json, size_t len, char **json_out)
{
    json_t *v;

    if (json_out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    *json_out = NULL;
    if (json == NULL)
        return JWTD_ERR_INVALID_TOKEN;
    if ((v = jose_json_parse(json, len, JREAD_PARSER_MAX_DEPTH)) == NULL)
        return JWTD_ERR_NO_MEMORY;
    *json_out = jose_json_dump(v);
    json_decref(v);
    return *json_out != NULL ? JWTD_OK : JWTD_ERR_NO_MEMORY;
}

jwtd_err jwtd_token_header_json(const jwtd_token *t, char **json_out)
{
    return dump_json(t != NULL ? t->hjson : NULL, t != NULL ? t->hjson_len : 0, json_out);
}

jwtd_err jwtd_token_claims_json(const jwtd_token *t, char **json_out)
{
    return dump_json(t != NULL && t->has_claims ? (const char *)t->payload : NULL,
                     t != NULL ? t->payload_len : 0, json_out);
}

/* The claim called name: JWTD_OK and *v, else MissingRequiredClaim / InvalidArgument. */
static jwtd_err claim(const jwtd_token *t, const char *name, jread_value *v)
{
    if (name == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (t == NULL || !t->has_claims || !jread_get(&t->claims, name, v))
        return JWTD_ERR_MISSING_REQUIRED_CLAIM;
    return JWTD_OK;
}

/* claim() for a getter whose output is out: InvalidArgument when out is NULL. */
static jwtd_err claim_for(const jwtd_token *t, const char *name, const void *out, jread_value *v)
{
    return out == NULL ? JWTD_ERR_INVALID_ARGUMENT : claim(t, name, v);
}

/* The C string of the claims string v, inside the token. */
static const char *claim_cstr(const jwtd_token *t, const jread_value *v)
{
    return jose_strs_at(&t->claims, t->strs, v);
}

jwtd_err jwtd_token_claim_string(const jwtd_token *t, const char *name, const char **out)
{
    jread_value v;
    jwtd_err rc = claim_for(t, name, out, &v);

    if (rc != JWTD_OK)
        return rc;
    if (v.type != JREAD_STRING)
        return JWTD_ERR_INVALID_TOKEN;
    *out = claim_cstr(t, &v);
    return JWTD_OK;
}

/* The header is indexed on demand (headers are small and this getter is rare). */
jwtd_err jwtd_token_header_string(const jwtd_token *t, const char *name, const char **out)
{
    jread_doc d;
    jread_value v;

    if (out == NULL || name == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (t == NULL || jread_parse(&d, t->hjson, t->hjson_len, JREAD_PARSER_MAX_DEPTH) != 0 ||
        !jread_get(&d, name, &v))
        return JWTD_ERR_MISSING_REQUIRED_CLAIM;
    if (v.type != JREAD_STRING)
        return JWTD_ERR_INVALID_TOKEN;
    *out = jose_strs_at(&d, t->hstrs, &v);
    return JWTD_OK;
}

jwtd_err jwtd_token_claim_int(const jwtd_token *t, const char *name, int64_t *out)
{
    jread_value v;
    jwtd_err rc = claim_for(t, name, out, &v);
    double d;

    if (rc != JWTD_OK)
        return rc;
    if (v.type == JREAD_INTEGER) {
        *out = jread_int(&v);
        return JWTD_OK;
    }
    /* NumericDate may carry a fraction (RFC 7519 §2): take the whole seconds. */
    d = v.type == JREAD_REAL ? jread_real(&v) : NAN;
    if (!isfinite(d) || d <= -9223372036854775808.0 || d >= 9223372036854775808.0)
        return JWTD_ERR_INVALID_TOKEN;
    *out = (int64_t)d;
    return JWTD_OK;
}

jwtd_err jwtd_token_claim_bool(const jwtd_token *t, const char *name, bool *out)
{
    jread_value v;
    jwtd_err rc = claim_for(t, name, out, &v);

    if (rc != JWTD_OK)
        return rc;
    if (v.type != JREAD_TRUE && v.type != JREAD_FALSE)
        return JWTD_ERR_INVALID_TOKEN;
    *out = v.type == JREAD_TRUE;
    return JWTD_OK;
}

jwtd_err jwtd_token_claim_strings(const jwtd_token *t, const char *name, const char **out,
                                  size_t max, size_t *n)
{
    jread_value v, item;
    jwtd_err rc;
    size_t pos = 0, i = 0;

    if (n == NULL || (out == NULL && max > 0))
        return JWTD_ERR_INVALID_ARGUMENT;
    *n = 0;
    if ((rc = claim(t, name, &v)) != JWTD_OK)
        return rc;
    if (v.type == JREAD_STRING) {
        if (max > 0)
            out[0] = claim_cstr(t, &v);
        *n = 1;
        return JWTD_OK;
    }
    if (v.type != JREAD_ARRAY)
        return JWTD_ERR_INVALID_TOKEN;
    while (jread_array_next(&v, &pos, &item)) {
        if (item.type != JREAD_STRING)
            return JWTD_ERR_INVALID_TOKEN;
    }
    for (pos = 0; jread_array_next(&v, &pos, &item); i++) {
        if (i < max)
            out[i] = claim_cstr(t, &item);
    }
    *n = i;
    return JWTD_OK;
}

bool jwtd_token_claim_has_string(const jwtd_token *t, const char *name, const char *value)
{
    jread_value v, item;
    size_t pos = 0, len;

    if (value == NULL || claim(t, name, &v) != JWTD_OK)
        return false;
    len = strlen(value);
    while (jread_array_next(&v, &pos, &item)) {
        if (item.type == JREAD_STRING && jread_string_eq(&item, value, len))
            return true;
    }
    return v.type == JREAD_STRING && jread_string_eq(&v, value, len);
}
