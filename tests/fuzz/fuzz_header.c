/* libFuzzer differential harness of the protected-header rules of the verify path. They used to
 * run on jansson's tree of the header; since issue 11 they run on jread's in-place reading
 * (src/jose/jws.c). The reference below is the jansson-based code they replaced, verbatim but
 * for the names (ref_*). For each input, the token (or JWS) is built with that header and a
 * valid HS256 signature, verified by the library, and the outcome must be the one the
 * reference predicts: the same error kind, and for a verified token the same header (as
 * jansson writes it, and alg/kid/typ read back).
 * Input: one byte of options (bit 0: unencoded payloads allowed; 1: crit "foo" understood;
 * 2: typ "at+jwt" expected; 3: depth bound 3 instead of the default), then the protected
 * header's bytes; a 0xff byte (never part of valid JSON) starts an unprotected header, and the
 * JWS is then verified in the flattened JSON serialization. Every verify also runs through one
 * cache, twice (a miss, then a hit). */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR_MAX 2048 /* longer headers would make the token too large: not what this checks */
#define CLAIMS "{\"sub\":\"alice\",\"exp\":4102444800}"

static const unsigned char secret[32] = "fuzz-header-secret-of-32-bytes!";

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_header: %s\n", what);
    abort();
}

typedef struct ref_header {
    json_t *json;
    jwtd_alg alg;
    const char *kid;
    size_t kid_len;
    bool b64;
} ref_header;

/* ---- The reference: the header rules as they ran on jansson before issue 11 ---- */
/* The member from the protected header, else the unprotected one. */
static json_t *ref_header_get(const json_t *prot, const json_t *unprot, const char *name)
{
    json_t *v = json_object_get(prot, name);
    return v != NULL || unprot == NULL ? v : json_object_get(unprot, name);
}

static jwtd_err ref_check_crit(const json_t *prot, const json_t *unprot, const jwtd_validation *v,
                               jwtd_error *err)
{
    json_t *crit = json_object_get(prot, "crit"), *item, *other;
    size_t i, j;

    if (unprot != NULL && json_object_get(unprot, "crit") != NULL)
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "crit must be integrity protected");
    if (crit == NULL)
        return JWTD_OK;
    if (!json_is_array(crit) || json_array_size(crit) == 0)
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "crit must be a non-empty array");
    json_array_foreach(crit, i, item) {
        const char *name = json_string_value(item);
        if (name == NULL || jose_header_is_registered(name) || json_object_get(prot, name) == NULL)
            return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL,
                             "crit lists a registered or absent header");
        json_array_foreach(crit, j, other) {
            if (j < i && json_equal(item, other))
                return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "crit repeats a name");
        }
        if (strcmp(name, "b64") == 0 ? !v->allow_unencoded
                                     : !jose_strlist_has(&v->crit, name, strlen(name)))
            return jose_fail(err, JWTD_ERR_UNSUPPORTED_CRITICAL, NULL,
                             "crit names an unsupported extension");
    }
    return JWTD_OK;
}

static bool ref_crit_lists(const json_t *prot, const char *name)
{
    json_t *crit = json_object_get(prot, "crit"), *item;
    size_t i;

    json_array_foreach(crit, i, item) {
        if (json_is_string(item) && strcmp(json_string_value(item), name) == 0)
            return true;
    }
    return false;
}

/* Applies every rule that needs no key; fills h. unprot may be NULL. */
static jwtd_err ref_check_header(const json_t *prot, const json_t *unprot, const jwtd_validation *v,
                                 ref_header *h, jwtd_error *err)
{
    const char *key;
    json_t *val, *alg, *kid, *b64, *typ;
    jwtd_err rc;

    if (unprot != NULL) {
        json_object_foreach((json_t *)unprot, key, val) {
            if (json_object_get(prot, key) != NULL)
                return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL,
                                 "header member in both protected and unprotected");
        }
    }
    /* alg may be unprotected (RFC 7515 §4.1.1 places it in the JOSE header): it only
     * selects among the caller's pinned algorithms, so integrity protection adds nothing. */
    alg = ref_header_get(prot, unprot, "alg");
    if (alg == NULL || !json_is_string(alg))
        return jose_fail(err, JWTD_ERR_INVALID_ALGORITHM, NULL, "alg missing");
    h->alg = jwtd_alg_from_name(json_string_value(alg), json_string_length(alg));
    if (h->alg == JWTD_ALG_UNKNOWN)
        return jose_fail(err, JWTD_ERR_INVALID_ALGORITHM, NULL, "alg unknown or none");
    if ((v->allowed_algs & (1u << h->alg)) == 0)
        return jose_fail(err, JWTD_ERR_INVALID_ALGORITHM, NULL, "alg not allowed");
    if ((rc = ref_check_crit(prot, unprot, v, err)) != JWTD_OK)
        return rc;

    h->b64 = true;
    b64 = ref_header_get(prot, unprot, "b64");
    if (b64 != NULL) {
        if (!json_is_boolean(b64) || json_object_get(prot, "b64") == NULL)
            return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "b64 must be a protected boolean");
        if (json_is_false(b64) && !ref_crit_lists(prot, "b64"))
            return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "b64:false must be listed in crit");
        h->b64 = json_is_true(b64);
    }

    h->json = NULL;
    h->kid = NULL;
    h->kid_len = 0;
    kid = ref_header_get(prot, unprot, "kid");
    if (kid != NULL) {
        if (!json_is_string(kid) || json_string_length(kid) > JWTD_MAX_KID_BYTES)
            return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "kid must be a short string");
        h->kid = json_string_value(kid);
        h->kid_len = json_string_length(kid);
    }
    typ = ref_header_get(prot, unprot, "typ");
    if (typ != NULL && !json_is_string(typ))
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "typ must be a string");
    return JWTD_OK;
}

/* typ compared as RFC 7515 §4.1.9 says: case-insensitive, "application/" optional. */
static jwtd_err ref_check_typ(const json_t *prot, const json_t *unprot, const jwtd_validation *v,
                              jwtd_error *err)
{
    static const char prefix[] = "application/";
    json_t *typ;
    const char *s;
    size_t len;

    if (v->typ == NULL)
        return JWTD_OK;
    typ = ref_header_get(prot, unprot, "typ");
    if (typ == NULL)
        return jose_fail(err, JWTD_ERR_INVALID_TYPE, NULL, "typ missing");
    s = json_string_value(typ);
    len = json_string_length(typ);
    if (len >= sizeof prefix - 1 && strncasecmp(s, prefix, sizeof prefix - 1) == 0) {
        s += sizeof prefix - 1;
        len -= sizeof prefix - 1;
    }
    if (len != strlen(v->typ) || strncasecmp(s, v->typ, len) != 0)
        return jose_fail(err, JWTD_ERR_INVALID_TYPE, NULL, "typ differs from the expected one");
    return JWTD_OK;
}

/* ---- The harness ---- */
static char *b64(const void *bin, size_t len)
{
    char *out = malloc(jose_b64url_encoded_len(len) + 1);
    if (out == NULL)
        fail("malloc");
    jose_b64url_encode_public(bin, len, out);
    return out;
}

/* HMAC-SHA256 of "hdr.pay" (the signing input of both serializations), base64url. */
static char *mac_b64(const char *hdr, const char *pay)
{
    size_t hl = strlen(hdr), pl = strlen(pay), n = 0;
    char *input = malloc(hl + pl + 2), *out;
    unsigned char mac[EVP_MAX_MD_SIZE];
    if (input == NULL)
        fail("malloc");
    snprintf(input, hl + pl + 2, "%s.%s", hdr, pay);
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, sizeof secret, (unsigned char *)input,
                  hl + 1 + pl, mac, sizeof mac, &n) == NULL)
        fail("EVP_Q_mac");
    out = b64(mac, n);
    free(input);
    return out;
}

/* What the library must answer, per the reference. jwt: the compact JWT path (b64 and the
 * claims apply); else a raw JWS (its payload is signed as transmitted, so b64:false verifies
 * too). */
static jwtd_err reference(const json_t *prot, const json_t *unprot, const jwtd_validation *v,
                          bool jwt)
{
    ref_header h;
    jwtd_err rc;

    if (!json_is_object(prot))
        return JWTD_ERR_INVALID_TOKEN;
    if ((rc = ref_check_header(prot, unprot, v, &h, NULL)) != JWTD_OK)
        return rc;
    if (jwt && !h.b64)
        return JWTD_ERR_INVALID_TOKEN;
    return ref_check_typ(prot, unprot, v, NULL); /* the claims are valid */
}

/* The size limit comes first. */
static jwtd_err too_large(const char *tok, jwtd_err rc)
{
    return strlen(tok) > JWTD_DEFAULT_MAX_TOKEN_BYTES ? JWTD_ERR_TOKEN_TOO_LARGE : rc;
}

/* The header of a verified token against the reference's (merged with unprot). */
static void same_header(const jwtd_token *t, const json_t *prot, const json_t *unprot)
{
    json_t *want = json_deep_copy(prot);
    char *got = NULL, *w;
    static const char *const names[] = {"alg", "kid", "typ", "cty"};

    if (want == NULL || (unprot != NULL && json_object_update(want, (json_t *)unprot) != 0))
        fail("jansson");
    w = jose_json_dump(want);
    if (w == NULL || jwtd_token_header_json(t, &got) != JWTD_OK || strcmp(got, w) != 0)
        fail("the token's header differs from the reference's");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *s = NULL;
        json_t *r = json_object_get(want, names[i]);
        jwtd_err rc = jwtd_token_header_string(t, names[i], &s);
        if (r == NULL           ? rc != JWTD_ERR_MISSING_REQUIRED_CLAIM
            : json_is_string(r) ? rc != JWTD_OK || strcmp(s, json_string_value(r)) != 0
                                : rc != JWTD_ERR_INVALID_TOKEN)
            fail("a header string differs from the reference's");
    }
    free(w);
    jwtd_free(got);
    json_decref(want);
}

/* One verify function's outcome against want, without a cache and through one, twice. */
typedef jwtd_err (*verify_fn)(jwtd_cache *, const char *, const jwtd_keyset *,
                              const jwtd_validation *, jwtd_token **);

static jwtd_err via_jwt(jwtd_cache *c, const char *in, const jwtd_keyset *set,
                        const jwtd_validation *v, jwtd_token **t)
{
    return jwtd_verify_cached(c, in, strlen(in), set, v, t, NULL);
}

static jwtd_err via_jws(jwtd_cache *c, const char *in, const jwtd_keyset *set,
                        const jwtd_validation *v, jwtd_token **t)
{
    (void)c; /* raw JWS verification takes no cache */
    return jwtd_jws_verify(in, strlen(in), NULL, 0, set, v, t, NULL);
}

static void check(verify_fn fn, const char *in, const jwtd_keyset *set, const jwtd_validation *v,
                  jwtd_err want, const json_t *prot, const json_t *unprot)
{
    jwtd_cache *cache = NULL;

    if (jwtd_cache_new(&cache) != JWTD_OK)
        fail("jwtd_cache_new");
    for (int pass = 0; pass < 3; pass++) {
        jwtd_token *t = NULL;
        jwtd_err rc = fn(pass == 0 ? NULL : cache, in, set, v, &t);
        if (rc != want) {
            fprintf(stderr, "fuzz_header: %s, the reference says %s (pass %d)\n", jwtd_err_name(rc),
                    jwtd_err_name(want), pass);
            fail("the library and the reference disagree");
        }
        if ((rc == JWTD_OK) != (t != NULL))
            fail("result and token disagree");
        if (t != NULL)
            same_header(t, prot, unprot);
        jwtd_token_free(t);
    }
    jwtd_cache_free(cache);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static jwtd_keyset *set;
    const uint8_t *sep;
    size_t depth, plen;
    jwtd_validation *v = NULL;
    json_t *prot = NULL, *unprot = NULL;
    char *hb, *pb, *sb, *tok;

    if (size < 1 || size > HDR_MAX)
        return 0;
    if (set == NULL) {
        jwtd_key *key = NULL;
        if (jwtd_key_from_secret(secret, sizeof secret, 0, &key) != JWTD_OK ||
            jwtd_keyset_new(&key, 1, &set) != JWTD_OK)
            fail("key set-up");
        jwtd_key_free(key);
    }
    depth = data[0] & 8 ? 3 : JWTD_DEFAULT_MAX_JSON_DEPTH;
    if (jwtd_validation_new(&v) != JWTD_OK || jwtd_validation_allow_alg(v, JWTD_ALG_HS256) ||
        jwtd_validation_set_max_json_depth(v, depth) || jwtd_validation_set_now(v, 1700000000) ||
        jwtd_validation_allow_unencoded_payload(v, (data[0] & 1) != 0) ||
        ((data[0] & 2) && jwtd_validation_allow_crit(v, "foo")) ||
        ((data[0] & 4) && jwtd_validation_set_typ(v, "at+jwt")))
        fail("validation set-up");
    data++;
    size--;
    sep = memchr(data, 0xff, size);
    plen = sep != NULL ? (size_t)(sep - data) : size;
    prot = jose_json_parse((const char *)data, plen, depth);
    hb = b64(data, plen);
    pb = b64(CLAIMS, sizeof CLAIMS - 1);
    sb = mac_b64(hb, pb);
    if (sep == NULL) {
        tok = malloc(strlen(hb) + strlen(pb) + strlen(sb) + 3);
        if (tok == NULL)
            fail("malloc");
        sprintf(tok, "%s.%s.%s", hb, pb, sb);
        check(via_jwt, tok, set, v, too_large(tok, reference(prot, NULL, v, true)), prot, NULL);
        check(via_jws, tok, set, v, too_large(tok, reference(prot, NULL, v, false)), prot, NULL);
        free(tok);
    } else if ((unprot = jose_json_parse((const char *)sep + 1, size - plen - 1, depth)) != NULL &&
               json_is_object(unprot)) {
        json_t *jws = json_pack("{s:s, s:s, s:O, s:s}", "payload", pb, "protected", hb, "header",
                                unprot, "signature", sb);
        json_t *outer;
        if (jws == NULL || (tok = jose_json_dump(jws)) == NULL)
            fail("jansson");
        /* The whole JWS is read under the depth bound first. */
        outer = jose_json_parse(tok, strlen(tok), depth);
        check(via_jws, tok, set, v,
              too_large(tok,
                        outer == NULL ? JWTD_ERR_INVALID_TOKEN : reference(prot, unprot, v, false)),
              prot, unprot);
        json_decref(outer);
        json_decref(jws);
        free(tok);
    }
    free(hb);
    free(pb);
    free(sb);
    json_decref(prot);
    json_decref(unprot);
    jwtd_validation_free(v);
    return 0;
}
