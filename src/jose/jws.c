/* JWS and JWT: strict parsing, verification and signing (RFC 7515, 7519, 7797).
 *
 * Verification order is fixed and is what makes errors trustworthy:
 *   1. size, segments, canonical base64url, strict JSON (no duplicates, bounded depth)
 *   2. header rules: alg known and pinned by the caller, crit understood, b64, kid bounds
 *   3. the signature, with keys chosen by kid and by fitness for the pinned algorithm
 *   4. only then typ and the claims (so a forged token always reads InvalidSignature).
 * Key material embedded in the token (jwk, jku, x5u, x5c) is never consulted. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define JWS_MAX_SIG_BYTES 2048       /* RSA-16384; anything longer cannot be a valid signature */
#define JWS_HDR_STACK_BYTES 512      /* typical protected headers fit on the stack */
#define JWS_STACK_PAYLOAD_BYTES 2048 /* typical JWT claims decode on the stack */
#define JWS_INSECURE_MAX_BYTES (8u * JWTD_DEFAULT_MAX_TOKEN_BYTES)

/* Views into a compact serialization. */
typedef struct jws_compact {
    const char *hdr;
    size_t hdr_len;
    const char *pay;
    size_t pay_len;
    const char *sig;
    size_t sig_len;
    size_t input_len; /* bytes of "hdr.pay", the signing input when b64 is true */
} jws_compact;

/* ---- Compact splitting ---- */
static jwtd_err split_compact(const char *tok, size_t len, jws_compact *c, jwtd_error *err)
{
    const char *d1 = memchr(tok, '.', len), *d2;

    if (d1 == NULL)
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "compact JWS needs 3 segments");
    d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL)
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "compact JWS needs 3 segments");
    c->hdr = tok;
    c->hdr_len = (size_t)(d1 - tok);
    c->pay = d1 + 1;
    c->pay_len = (size_t)(d2 - c->pay);
    c->sig = d2 + 1;
    c->sig_len = len - (size_t)(c->sig - tok);
    c->input_len = (size_t)(d2 - tok);
    return JWTD_OK;
}

/* Decode a base64url JSON object segment. NULL on any failure. */
static json_t *decode_json_object(const char *b64, size_t len, size_t depth)
{
    unsigned char stack[JWS_HDR_STACK_BYTES], *buf = stack;
    size_t cap = jose_b64url_decoded_len(len), n = 0;
    json_t *obj = NULL;

    if (cap > sizeof stack && (buf = malloc(cap)) == NULL)
        return NULL;
    if (jose_b64url_decode_public(b64, len, buf, cap, &n) == 0)
        obj = jose_json_parse((const char *)buf, n, depth);
    if (buf != stack)
        free(buf);
    if (obj != NULL && !json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
    }
    return obj;
}

/* ---- Header rules ---- */
/* A header object read by jread: the checked document and its strs (jose_header). */
typedef struct jws_hdr {
    jread_doc doc;
    char *strs;
} jws_hdr;

/* The JSON text (len bytes) read into h, with strs at buf + len + 1 (buf holds 2 * len + 2
 * bytes). 0, or -1 when it is not a JSON object jread accepts under depth. */
static int hdr_read(const char *json, size_t len, size_t depth, char *buf, jws_hdr *h)
{
    if (jread_parse(&h->doc, json, len, depth) != 0)
        return -1;
    h->strs = buf + len + 1;
    jose_unescape_strings(&h->doc, h->strs);
    return 0;
}

/* A base64url header segment decoded into *buf (the stack buffer, or one malloc'ed here that
 * the caller frees when *buf != stack) and read into h: 0 or -1. */
static int hdr_decode(const char *b64, size_t len, size_t depth, char *stack, size_t stack_cap,
                      char **buf, jws_hdr *h)
{
    size_t cap = jose_b64url_decoded_len(len), n = 0;

    *buf = stack;
    if (2 * cap + 2 > stack_cap && (*buf = malloc(2 * cap + 2)) == NULL)
        return -1;
    if (jose_b64url_decode_public(b64, len, (unsigned char *)*buf, cap, &n) != 0)
        return -1;
    return hdr_read(*buf, n, depth, *buf, h);
}

/* The member from the protected header, else the unprotected one (unprot may be NULL); *cstr
 * is its C string when it is a string, else NULL. */
static bool header_get(const jws_hdr *prot, const jws_hdr *unprot, const char *name, jread_value *v,
                       const char **cstr)
{
    const jws_hdr *from = prot;

    if (!jread_get(&prot->doc, name, v)) {
        if (unprot == NULL || !jread_get(&unprot->doc, name, v))
            return false;
        from = unprot;
    }
    *cstr = v->type == JREAD_STRING ? jose_strs_at(&from->doc, from->strs, v) : NULL;
    return true;
}

static jwtd_err check_crit(const jws_hdr *prot, const jws_hdr *unprot, const jwtd_validation *v,
                           jwtd_error *err)
{
    jread_value crit, item, other, member;
    size_t pos = 0, opos;

    if (unprot != NULL && jread_get(&unprot->doc, "crit", &crit))
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "crit must be integrity protected");
    if (!jread_get(&prot->doc, "crit", &crit))
        return JWTD_OK;
    if (crit.type != JREAD_ARRAY || !jread_array_next(&crit, &pos, &item))
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "crit must be a non-empty array");
    for (pos = 0; jread_array_next(&crit, &pos, &item);) {
        const char *name =
            item.type == JREAD_STRING ? jose_strs_at(&prot->doc, prot->strs, &item) : NULL;
        if (name == NULL || jose_header_is_registered(name) ||
            !jread_get(&prot->doc, name, &member))
            return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL,
                             "crit lists a registered or absent header");
        /* The items before this one are strings: they passed this loop. */
        for (opos = 0; jread_array_next(&crit, &opos, &other) && other.json != item.json;) {
            if (strcmp(jose_strs_at(&prot->doc, prot->strs, &other), name) == 0)
                return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "crit repeats a name");
        }
        if (strcmp(name, "b64") == 0 ? !v->allow_unencoded
                                     : !jose_strlist_has(&v->crit, name, strlen(name)))
            return jose_fail(err, JWTD_ERR_UNSUPPORTED_CRITICAL, NULL,
                             "crit names an unsupported extension");
    }
    return JWTD_OK;
}

static bool crit_lists(const jws_hdr *prot, const char *name)
{
    jread_value crit, item;
    size_t pos = 0;

    if (!jread_get(&prot->doc, "crit", &crit))
        return false;
    while (jread_array_next(&crit, &pos, &item)) {
        if (item.type == JREAD_STRING && jread_string_eq(&item, name, strlen(name)))
            return true;
    }
    return false;
}

/* True when a member of unprot is also in prot (names compared after unescaping). */
static bool header_overlap(const jws_hdr *prot, const jws_hdr *unprot)
{
    jread_iter it = {0, 0};
    jread_value v, same;
    const char *key;
    size_t key_len;
    bool key_escaped, found = false;
    char *name;

    while (!found && jread_next(&unprot->doc, &it, &v, &key, &key_len, &key_escaped)) {
        if ((name = malloc(key_len + 1)) == NULL)
            return true; /* refused: the caller reports it as malformed */
        (void)jread_unescape(key, key_len, name);
        found = jread_get(&prot->doc, name, &same);
        free(name);
    }
    return found;
}

/* Applies every rule that needs no key; fills h, its json and strs those of prot. unprot may be
 * NULL. */
static jwtd_err check_header(const jws_hdr *prot, const jws_hdr *unprot, const jwtd_validation *v,
                             jose_header *h, jwtd_error *err)
{
    jread_value val;
    const char *s;
    jwtd_err rc;

    if (unprot != NULL && header_overlap(prot, unprot))
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL,
                         "header member in both protected and unprotected");
    /* alg may be unprotected (RFC 7515 §4.1.1 places it in the JOSE header): it only
     * selects among the caller's pinned algorithms, so integrity protection adds nothing. */
    if (!header_get(prot, unprot, "alg", &val, &s) || s == NULL)
        return jose_fail(err, JWTD_ERR_INVALID_ALGORITHM, NULL, "alg missing");
    h->alg = jwtd_alg_from_name(s, strlen(s));
    if (h->alg == JWTD_ALG_UNKNOWN)
        return jose_fail(err, JWTD_ERR_INVALID_ALGORITHM, NULL, "alg unknown or none");
    if ((v->allowed_algs & (1u << h->alg)) == 0)
        return jose_fail(err, JWTD_ERR_INVALID_ALGORITHM, NULL, "alg not allowed");
    if ((rc = check_crit(prot, unprot, v, err)) != JWTD_OK)
        return rc;

    h->b64 = true;
    if (header_get(prot, unprot, "b64", &val, &s)) {
        jread_value in_prot;
        if ((val.type != JREAD_TRUE && val.type != JREAD_FALSE) ||
            !jread_get(&prot->doc, "b64", &in_prot))
            return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "b64 must be a protected boolean");
        if (val.type == JREAD_FALSE && !crit_lists(prot, "b64"))
            return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "b64:false must be listed in crit");
        h->b64 = val.type == JREAD_TRUE;
    }

    h->kid = NULL;
    h->kid_len = 0;
    if (header_get(prot, unprot, "kid", &val, &h->kid)) {
        if (h->kid == NULL || (h->kid_len = strlen(h->kid)) > JWTD_MAX_KID_BYTES)
            return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "kid must be a short string");
    }
    h->typ = NULL;
    h->typ_len = 0;
    if (header_get(prot, unprot, "typ", &val, &h->typ)) {
        if (h->typ == NULL)
            return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "typ must be a string");
        h->typ_len = strlen(h->typ);
    }
    h->json = prot->doc.buf;
    h->json_len = prot->doc.len;
    h->strs = prot->strs;
    return JWTD_OK;
}

/* typ compared as RFC 7515 §4.1.9 says: case-insensitive, "application/" optional. */
static jwtd_err check_typ(const jose_header *h, const jwtd_validation *v, jwtd_error *err)
{
    static const char prefix[] = "application/";
    const char *s = h->typ;
    size_t len = h->typ_len;

    if (v->typ == NULL)
        return JWTD_OK;
    if (s == NULL)
        return jose_fail(err, JWTD_ERR_INVALID_TYPE, NULL, "typ missing");
    if (len >= sizeof prefix - 1 && strncasecmp(s, prefix, sizeof prefix - 1) == 0) {
        s += sizeof prefix - 1;
        len -= sizeof prefix - 1;
    }
    if (len != strlen(v->typ) || strncasecmp(s, v->typ, len) != 0)
        return jose_fail(err, JWTD_ERR_INVALID_TYPE, NULL, "typ differs from the expected one");
    return JWTD_OK;
}

/* ---- Key selection and the signature ---- */
static bool key_matches_kid(const jwtd_key *k, const jose_header *h)
{
    return k->kid != NULL && strlen(k->kid) == h->kid_len &&
           memcmp(k->kid, h->kid, h->kid_len) == 0;
}

/* Tries the candidate keys: those whose kid (named or thumbprint) equals the token's, or
 * (a token without kid, or a lone key that never named one) every key that fits the alg. */
static jwtd_err verify_signature(jwtd_cache *cache, const jwtd_keyset *keys, const jose_header *h,
                                 const unsigned char *input, size_t input_len,
                                 const unsigned char *sig, size_t sig_len, jwtd_key **used,
                                 jwtd_error *err)
{
    bool lone_unnamed = keys->n == 1 && !keys->keys[0]->kid_explicit;
    size_t candidates = 0, fitting = 0;
    jwtd_err rc;

    for (size_t i = 0; i < keys->n; i++) {
        jwtd_key *k = keys->keys[i];
        if (h->kid != NULL && !key_matches_kid(k, h) && !lone_unnamed)
            continue;
        candidates++;
        if (!jwtd_key_fits_alg(k, h->alg))
            continue;
        fitting++;
        rc = jose_sig_verify_cached(cache, k, h->alg, input, input_len, sig, sig_len);
        if (rc == JWTD_OK) {
            *used = k;
            return JWTD_OK;
        }
        if (rc != JWTD_ERR_INVALID_SIGNATURE)
            return jose_fail(err, rc, NULL, "signature check failed");
    }
    if (candidates == 0)
        return jose_fail(err, JWTD_ERR_KEY_NOT_FOUND, NULL, "no key with the token's kid");
    if (fitting == 0)
        return jose_fail(err, JWTD_ERR_INVALID_ALGORITHM, NULL, "alg does not fit the key");
    return jose_fail(err, JWTD_ERR_INVALID_SIGNATURE, NULL, "signature does not verify");
}

/* ---- The one ending of every verify path ---- */
/* What a path gathered once the header rules passed. */
typedef struct jws_parts {
    const jose_header *h;       /* its json: the header the token keeps */
    const unsigned char *input; /* the signing input */
    size_t input_len;
    const char *sig_b64;
    size_t sig_b64_len;
    unsigned char *payload; /* decoded; the token copies it */
    size_t payload_len;
    const jread_doc *claims; /* a JWT's claims, already read: checked; NULL for a raw JWS */
    jwtd_cache *cache;       /* the caller's (signature contexts), or NULL */
} jws_parts;

static jwtd_err verify_args(const char *in, const jwtd_keyset *keys, const jwtd_validation *v,
                            jwtd_token **out, jwtd_error *err)
{
    if (out != NULL)
        *out = NULL;
    if (in == NULL || keys == NULL || v == NULL)
        return jose_fail(err, JWTD_ERR_INVALID_ARGUMENT, NULL, "NULL argument");
    if (v->allowed_algs == 0)
        return jose_fail(err, JWTD_ERR_INVALID_ALGORITHM, NULL, "no algorithm allowed");
    return JWTD_OK;
}

/* The verified token: the header, the claims (a raw JWS's payload only if it is a JSON
 * object) and a copy of the payload. */
static jwtd_err token_new(jws_parts *p, jwtd_key *key, const jwtd_validation *v, jwtd_token **out)
{
    *out = jose_token_new(p->h->alg, key, p->h->json, p->h->json_len, p->h->strs, p->payload,
                          p->payload_len, p->claims, v->max_json_depth);
    return *out != NULL ? JWTD_OK : JWTD_ERR_NO_MEMORY;
}

/* The signature, then typ, then (JWT) the claims, then the token: the same for every path. */
static jwtd_err verify_finish(jws_parts *p, const jwtd_keyset *keys, const jwtd_validation *v,
                              jwtd_token **out, jwtd_error *err)
{
    unsigned char sig[JWS_MAX_SIG_BYTES];
    size_t sig_len = 0;
    jwtd_key *used = NULL;
    jwtd_err rc;

    if (jose_b64url_decode_public(p->sig_b64, p->sig_b64_len, sig, sizeof sig, &sig_len) != 0)
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "signature is not base64url");
    if ((rc = verify_signature(p->cache, keys, p->h, p->input, p->input_len, sig, sig_len, &used,
                               err)) != JWTD_OK ||
        (rc = check_typ(p->h, v, err)) != JWTD_OK ||
        (p->claims != NULL && (rc = jose_validation_check_claims(v, p->claims, err)) != JWTD_OK))
        return rc;
    if (out != NULL && (rc = token_new(p, used, v, out)) != JWTD_OK)
        return jose_fail(err, rc, NULL, "out of memory");
    return JWTD_OK;
}

/* A raw JWS's signing input (header segment '.' payload as transmitted) and its decoded
 * payload (base64url, or the bytes themselves for b64:false), both malloc'ed into p. */
static jwtd_err jws_input_payload(jws_parts *p, const char *hdr, size_t hdr_len, const char *pay,
                                  size_t pay_len, jwtd_error *err)
{
    unsigned char *input = malloc(hdr_len + 1 + pay_len + 1);

    if (input == NULL)
        return jose_fail(err, JWTD_ERR_NO_MEMORY, NULL, NULL);
    memcpy(input, hdr, hdr_len);
    input[hdr_len] = '.';
    memcpy(input + hdr_len + 1, pay, pay_len);
    p->input = input;
    p->input_len = hdr_len + 1 + pay_len;
    if (p->h->b64) {
        p->payload = jose_b64url_decode_public_alloc(pay, pay_len, &p->payload_len);
    } else if ((p->payload = malloc(pay_len + 1)) != NULL) {
        memcpy(p->payload, pay, pay_len);
        p->payload[pay_len] = '\0';
        p->payload_len = pay_len;
    }
    if (p->payload == NULL)
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "payload is not base64url");
    return JWTD_OK;
}

/* ---- Compact JWT ---- */
jwtd_err jwtd_verify_cached(jwtd_cache *cache, const char *token, size_t len,
                            const jwtd_keyset *keys, const jwtd_validation *v, jwtd_token **out,
                            jwtd_error *err)
{
    unsigned char stack_payload[JWS_STACK_PAYLOAD_BYTES], *heap_payload = NULL;
    char hdr_stack[JWS_HDR_STACK_BYTES], *hdr_buf = hdr_stack;
    jws_parts p = {0};
    jread_doc claims;
    jws_compact c;
    jose_header h;
    jws_hdr hdr;
    size_t cap;
    jwtd_err rc;

    if ((rc = verify_args(token, keys, v, out, err)) != JWTD_OK)
        return rc;
    if (len > v->max_token_bytes)
        return jose_fail(err, JWTD_ERR_TOKEN_TOO_LARGE, NULL, "token too large");
    if ((rc = split_compact(token, len, &c, err)) != JWTD_OK)
        return rc;
    if (!jose_hdr_cache_get(cache, v->id, c.hdr, c.hdr_len, &h)) {
        if (hdr_decode(c.hdr, c.hdr_len, v->max_json_depth, hdr_stack, sizeof hdr_stack, &hdr_buf,
                       &hdr) != 0) {
            rc = jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "header is not a valid JSON object");
            goto out;
        }
        if ((rc = check_header(&hdr, NULL, v, &h, err)) != JWTD_OK)
            goto out;
        if (h.b64)
            jose_hdr_cache_put(cache, v->id, c.hdr, c.hdr_len, &h);
    }
    if (!h.b64) {
        rc = jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "a JWT payload must be base64url");
        goto out;
    }
    p = (jws_parts){.h = &h,
                    .input = (const unsigned char *)token,
                    .input_len = c.input_len,
                    .sig_b64 = c.sig,
                    .sig_b64_len = c.sig_len,
                    .cache = cache};
    /* The claims decode on the stack when they fit, and are read in place: no allocation
     * before the token's own. */
    cap = jose_b64url_decoded_len(c.pay_len);
    p.payload = cap <= sizeof stack_payload ? stack_payload : (heap_payload = malloc(cap));
    if (p.payload == NULL) {
        rc = jose_fail(err, JWTD_ERR_NO_MEMORY, NULL, NULL);
        goto out;
    }
    if (jose_b64url_decode_public(c.pay, c.pay_len, p.payload, cap, &p.payload_len) != 0 ||
        jread_parse(&claims, (const char *)p.payload, p.payload_len, v->max_json_depth) != 0) {
        rc = jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "claims are not a valid JSON object");
        goto out;
    }
    p.claims = &claims;
    rc = verify_finish(&p, keys, v, out, err);
out:
    if (hdr_buf != hdr_stack)
        free(hdr_buf);
    free(heap_payload);
    if (rc == JWTD_OK)
        jose_set_error(err, JWTD_OK, NULL, NULL);
    return rc;
}

jwtd_err jwtd_verify(const char *token, size_t len, const jwtd_keyset *keys,
                     const jwtd_validation *v, jwtd_token **out, jwtd_error *err)
{
    return jwtd_verify_cached(NULL, token, len, keys, v, out, err);
}

/* ---- Raw JWS: compact ---- */
static jwtd_err jws_verify_compact(const char *jws, size_t len, const void *detached,
                                   size_t detached_len, const jwtd_keyset *keys,
                                   const jwtd_validation *v, jwtd_token **out, jwtd_error *err)
{
    char hdr_stack[JWS_HDR_STACK_BYTES], *hdr_buf = hdr_stack;
    jws_parts p = {0};
    jws_compact c;
    jose_header h;
    jws_hdr hdr;
    jwtd_err rc;

    if ((rc = split_compact(jws, len, &c, err)) != JWTD_OK)
        return rc;
    if (detached != NULL && c.pay_len != 0)
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "payload both attached and detached");
    if (hdr_decode(c.hdr, c.hdr_len, v->max_json_depth, hdr_stack, sizeof hdr_stack, &hdr_buf,
                   &hdr) != 0)
        rc = jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "header is not a valid JSON object");
    else if ((rc = check_header(&hdr, NULL, v, &h, err)) == JWTD_OK) {
        p = (jws_parts){.h = &h, .sig_b64 = c.sig, .sig_b64_len = c.sig_len};
        rc = detached != NULL ? jws_input_payload(&p, c.hdr, c.hdr_len, detached, detached_len, err)
                              : jws_input_payload(&p, c.hdr, c.hdr_len, c.pay, c.pay_len, err);
    }
    if (rc == JWTD_OK)
        rc = verify_finish(&p, keys, v, out, err);
    if (hdr_buf != hdr_stack)
        free(hdr_buf);
    free(p.payload);
    free((void *)p.input);
    return rc;
}

/* ---- Raw JWS: JSON serialization (flattened or general) ---- */
/* One signature object of a JSON serialization: verifies it; on success builds *out. */
static jwtd_err jws_verify_one(const json_t *sigobj, const json_t *payload_v,
                               const jwtd_keyset *keys, const jwtd_validation *v, jwtd_token **out,
                               jwtd_error *err)
{
    json_t *prot_v = json_object_get(sigobj, "protected"),
           *unprot = json_object_get(sigobj, "header");
    json_t *sig_v = json_object_get(sigobj, "signature"), *merged = NULL;
    char stack[JWS_HDR_STACK_BYTES], *pbuf = stack, *ujson = NULL, *ubuf = NULL, *mjson = NULL;
    jws_hdr prot, uh;
    jws_parts p = {0};
    jose_header h;
    size_t plen, ulen = 0;
    jwtd_err rc = JWTD_OK;

    /* protected may be absent (RFC 7515 §7.2.1): the signing input then starts with '.'. */
    if ((prot_v != NULL && !json_is_string(prot_v)) || !json_is_string(sig_v) ||
        (unprot != NULL && !json_is_object(unprot)) || (prot_v == NULL && unprot == NULL))
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "malformed JWS signature object");
    plen = prot_v != NULL ? json_string_length(prot_v) : 0;
    if (prot_v != NULL
            ? hdr_decode(json_string_value(prot_v), plen, v->max_json_depth, stack, sizeof stack,
                         &pbuf, &prot) != 0
            : hdr_read(memcpy(stack, "{}", 3), 2, JREAD_PARSER_MAX_DEPTH, stack, &prot) != 0)
        rc = jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "header is not a valid JSON object");
    /* The unprotected header (already checked with the whole JWS) is read as jansson writes
     * it, so that one set of header rules serves both. */
    if (rc == JWTD_OK && unprot != NULL &&
        ((ujson = jose_json_dump(unprot)) == NULL ||
         (ubuf = malloc(2 * (ulen = strlen(ujson)) + 2)) == NULL ||
         hdr_read(memcpy(ubuf, ujson, ulen + 1), ulen, JREAD_PARSER_MAX_DEPTH, ubuf, &uh) != 0))
        rc = jose_fail(err, JWTD_ERR_NO_MEMORY, NULL, NULL);
    if (rc == JWTD_OK &&
        (rc = check_header(&prot, unprot != NULL ? &uh : NULL, v, &h, err)) == JWTD_OK) {
        /* The token keeps the protected and unprotected members merged, as jansson writes
         * them. */
        if (unprot != NULL) {
            merged = jose_json_parse(prot.doc.buf, prot.doc.len, JREAD_PARSER_MAX_DEPTH);
            if (merged == NULL || json_object_update(merged, unprot) != 0 ||
                (mjson = jose_json_dump(merged)) == NULL)
                rc = jose_fail(err, JWTD_ERR_NO_MEMORY, NULL, NULL);
            h.json = mjson;
            h.json_len = mjson != NULL ? strlen(mjson) : 0;
            h.strs = NULL;
        }
    }
    if (rc == JWTD_OK) {
        p = (jws_parts){
            .h = &h, .sig_b64 = json_string_value(sig_v), .sig_b64_len = json_string_length(sig_v)};
        rc = jws_input_payload(&p, prot_v != NULL ? json_string_value(prot_v) : "", plen,
                               json_string_value(payload_v), json_string_length(payload_v), err);
    }
    if (rc == JWTD_OK)
        rc = verify_finish(&p, keys, v, out, err);
    if (pbuf != stack)
        free(pbuf);
    json_decref(merged);
    free(mjson);
    free(ujson);
    free(ubuf);
    free(p.payload);
    free((void *)p.input);
    return rc;
}

static jwtd_err jws_verify_json(const char *jws, size_t len, const jwtd_keyset *keys,
                                const jwtd_validation *v, jwtd_token **out, jwtd_error *err)
{
    json_t *root = jose_json_parse(jws, len, v->max_json_depth), *payload, *sigs, *item;
    jwtd_err rc = JWTD_ERR_INVALID_TOKEN, first = JWTD_OK;
    jwtd_error first_err;
    size_t i;

    if (!json_is_object(root)) {
        json_decref(root);
        return jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "not a JWS JSON serialization");
    }
    payload = json_object_get(root, "payload");
    sigs = json_object_get(root, "signatures");
    if (!json_is_string(payload)) {
        rc = jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "payload missing");
    } else if (sigs == NULL) {
        rc = jws_verify_one(root, payload, keys, v, out, err);
    } else if (!json_is_array(sigs) || json_array_size(sigs) == 0 ||
               json_object_get(root, "signature") != NULL ||
               json_object_get(root, "protected") != NULL ||
               json_object_get(root, "header") != NULL) {
        rc = jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL, "malformed general JWS");
    } else {
        /* General serialization: the first signature that verifies wins; otherwise the
         * first failure is reported. */
        json_array_foreach(sigs, i, item) {
            rc = json_is_object(item) ? jws_verify_one(item, payload, keys, v, out, err)
                                      : jose_fail(err, JWTD_ERR_INVALID_TOKEN, NULL,
                                                  "malformed JWS signature object");
            if (rc == JWTD_OK)
                break;
            if (first == JWTD_OK) {
                first = rc;
                if (err != NULL)
                    first_err = *err;
            }
        }
        if (rc != JWTD_OK) {
            rc = first;
            if (err != NULL)
                *err = first_err;
        }
    }
    json_decref(root);
    return rc;
}

jwtd_err jwtd_jws_verify(const char *jws, size_t len, const void *payload, size_t payload_len,
                         const jwtd_keyset *keys, const jwtd_validation *v, jwtd_token **out,
                         jwtd_error *err)
{
    size_t i = 0;
    jwtd_err rc;

    if ((rc = verify_args(jws, keys, v, out, err)) != JWTD_OK)
        return rc;
    if (len > v->max_token_bytes)
        return jose_fail(err, JWTD_ERR_TOKEN_TOO_LARGE, NULL, "JWS too large");
    while (i < len && (jws[i] == ' ' || jws[i] == '\t' || jws[i] == '\n' || jws[i] == '\r'))
        i++;
    if (i < len && jws[i] == '{') {
        if (payload != NULL)
            return jose_fail(err, JWTD_ERR_INVALID_ARGUMENT, NULL,
                             "detached payload is for compact JWS only");
        rc = jws_verify_json(jws, len, keys, v, out, err);
    } else {
        rc = jws_verify_compact(jws, len, payload, payload_len, keys, v, out, err);
    }
    if (rc == JWTD_OK)
        jose_set_error(err, JWTD_OK, NULL, NULL);
    return rc;
}

/* ---- Insecure inspection ---- */
static jwtd_err copy_member(const json_t *hdr, const char *name, char *buf, size_t cap)
{
    json_t *v = json_object_get(hdr, name);
    size_t n;

    if (buf == NULL || cap == 0)
        return JWTD_OK;
    buf[0] = '\0';
    if (v == NULL)
        return JWTD_OK;
    if (!json_is_string(v) || (n = json_string_length(v)) >= cap)
        return JWTD_ERR_INVALID_TOKEN;
    memcpy(buf, json_string_value(v), n + 1);
    return JWTD_OK;
}

jwtd_err jwtd_insecure_peek_header(const char *token, size_t len, char *alg, size_t alg_cap,
                                   char *kid, size_t kid_cap)
{
    jws_compact c;
    json_t *hdr;
    jwtd_err rc;

    if (token == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    if (len > JWS_INSECURE_MAX_BYTES)
        return JWTD_ERR_TOKEN_TOO_LARGE;
    if ((rc = split_compact(token, len, &c, NULL)) != JWTD_OK)
        return rc;
    hdr = decode_json_object(c.hdr, c.hdr_len, JWTD_DEFAULT_MAX_JSON_DEPTH);
    if (hdr == NULL)
        return JWTD_ERR_INVALID_TOKEN;
    rc = copy_member(hdr, "alg", alg, alg_cap);
    if (rc == JWTD_OK)
        rc = copy_member(hdr, "kid", kid, kid_cap);
    json_decref(hdr);
    return rc;
}

jwtd_err jwtd_insecure_decode(const char *token, size_t len, char **header_json, char **claims_json)
{
    json_t *hdr = NULL, *claims = NULL;
    jws_compact c;
    jwtd_err rc;

    if (token == NULL || header_json == NULL || claims_json == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    *header_json = *claims_json = NULL;
    if (len > JWS_INSECURE_MAX_BYTES)
        return JWTD_ERR_TOKEN_TOO_LARGE;
    if ((rc = split_compact(token, len, &c, NULL)) != JWTD_OK)
        return rc;
    hdr = decode_json_object(c.hdr, c.hdr_len, JWTD_DEFAULT_MAX_JSON_DEPTH);
    claims = decode_json_object(c.pay, c.pay_len, JWTD_DEFAULT_MAX_JSON_DEPTH);
    rc = JWTD_ERR_INVALID_TOKEN;
    if (hdr != NULL && claims != NULL) {
        *header_json = jose_json_dump(hdr);
        *claims_json = jose_json_dump(claims);
        rc = *header_json != NULL && *claims_json != NULL ? JWTD_OK : JWTD_ERR_NO_MEMORY;
        if (rc != JWTD_OK) {
            free(*header_json);
            free(*claims_json);
            *header_json = *claims_json = NULL;
        }
    }
    json_decref(hdr);
    json_decref(claims);
    return rc;
}

/* ---- Signing ---- */
#define SIGN_CLAIMS_STACK_BYTES 2048 /* typical claims serialize on the stack */

/* The protected header: alg first, then typ, kid and the caller's extra members. */
static json_t *build_header(const char *kid, jwtd_alg alg, const jwtd_header *hdr, jwtd_err *rc)
{
    json_t *h = json_object(), *extra = NULL, *val;
    const char *name;

    *rc = JWTD_ERR_NO_MEMORY;
    if (h == NULL || json_object_set_new(h, "alg", json_string(jwtd_alg_name(alg))) != 0)
        goto fail;
    *rc = JWTD_ERR_INVALID_ARGUMENT;
    if (hdr != NULL && hdr->typ != NULL &&
        json_object_set_new(h, "typ", json_string(hdr->typ)) != 0)
        goto fail;
    if (kid != NULL &&
        (strlen(kid) > JWTD_MAX_KID_BYTES || json_object_set_new(h, "kid", json_string(kid)) != 0))
        goto fail;
    if (hdr != NULL && hdr->extra_json != NULL) {
        extra =
            jose_json_parse(hdr->extra_json, strlen(hdr->extra_json), JWTD_DEFAULT_MAX_JSON_DEPTH);
        if (!json_is_object(extra))
            goto fail;
        json_object_foreach(extra, name, val) {
            if (strcmp(name, "alg") == 0 || strcmp(name, "kid") == 0 || strcmp(name, "typ") == 0 ||
                strcmp(name, "b64") == 0 || json_object_set(h, name, val) != 0)
                goto fail;
        }
        json_decref(extra);
    }
    *rc = JWTD_OK;
    return h;
fail:
    json_decref(extra);
    json_decref(h);
    return NULL;
}

/* The header cache key: every input of build_header. alg, then typ, kid and extra_json, each
 * as a presence byte followed by the string and its NUL (a C string holds no NUL, so no two
 * inputs share a key). 0 when it does not fit (that header is then not cached). */
static size_t sign_cache_key(jwtd_alg alg, const char *typ, const char *kid, const char *extra,
                             char buf[JOSE_SIGN_CACHE_MAX_KEY])
{
    const char *parts[3] = {typ, kid, extra};
    size_t n = 0;

    buf[n++] = (char)(alg + 1);
    for (size_t i = 0; i < 3; i++) {
        size_t len = parts[i] != NULL ? strnlen(parts[i], JOSE_SIGN_CACHE_MAX_KEY) : 0;
        if (n + 2 + len > JOSE_SIGN_CACHE_MAX_KEY)
            return 0;
        buf[n++] = (char)(parts[i] != NULL);
        if (parts[i] != NULL) {
            memcpy(buf + n, parts[i], len + 1);
            n += len + 1;
        }
    }
    return n;
}

/* The base64url protected header: from the caller's cache, or built and then cached. Only
 * headers that built successfully are cached, so errors are the same either way. *owned is
 * set when the result was allocated here; *b64 is valid until the next cache update. */
static jwtd_err header_b64(jwtd_cache *cache, const jwtd_key *key, jwtd_alg alg,
                           const jwtd_header *hdr, const char **b64, size_t *b64_len, char **owned)
{
    const char *kid = hdr != NULL && hdr->kid != NULL ? hdr->kid : jwtd_key_kid(key);
    char ckey[JOSE_SIGN_CACHE_MAX_KEY], *hjson;
    size_t klen = sign_cache_key(alg, hdr != NULL ? hdr->typ : NULL, kid,
                                 hdr != NULL ? hdr->extra_json : NULL, ckey),
           jlen;
    json_t *h;
    jwtd_err rc = JWTD_ERR_NO_MEMORY;

    *owned = NULL;
    if (klen != 0 && (*b64 = jose_sign_cache_get(cache, ckey, klen, b64_len)) != NULL)
        return JWTD_OK;
    if ((h = build_header(kid, alg, hdr, &rc)) == NULL)
        return rc != JWTD_OK ? rc : JWTD_ERR_NO_MEMORY; /* never OK without a header */
    hjson = jose_json_dump(h);
    json_decref(h);
    if (hjson == NULL)
        return JWTD_ERR_NO_MEMORY;
    jlen = strlen(hjson);
    *b64_len = jose_b64url_encoded_len(jlen);
    if ((*owned = malloc(*b64_len + 1)) != NULL)
        jose_b64url_encode_public((const unsigned char *)hjson, jlen, *owned);
    free(hjson);
    if (*owned == NULL)
        return JWTD_ERR_NO_MEMORY;
    if (klen != 0)
        jose_sign_cache_put(cache, ckey, klen, *owned, *b64_len);
    *b64 = *owned;
    return JWTD_OK;
}

static jwtd_err sign_payload(jwtd_cache *cache, const jwtd_key *key, jwtd_alg alg,
                             const jwtd_header *hdr, const void *payload, size_t len,
                             char **token_out)
{
    unsigned char *sig = NULL;
    size_t sig_len = 0, hlen = 0, plen, pos;
    char *hown = NULL, *tok = NULL;
    const char *hb64 = NULL;
    jwtd_err rc;

    if (token_out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    *token_out = NULL;
    if (key == NULL || (payload == NULL && len > 0))
        return JWTD_ERR_INVALID_ARGUMENT;
    if (jose_alg_info_get(alg) == NULL || !jwtd_key_fits_alg(key, alg))
        return JWTD_ERR_INVALID_ALGORITHM;
    if (key->kty != JWTD_KTY_OCT && !key->is_private)
        return JWTD_ERR_INVALID_KEY_FORMAT;
    if ((rc = header_b64(cache, key, alg, hdr, &hb64, &hlen, &hown)) != JWTD_OK)
        return rc;
    plen = jose_b64url_encoded_len(len);
    /* header '.' payload '.' signature (at most JWS_MAX_SIG_BYTES) NUL */
    tok = malloc(hlen + 1 + plen + 1 + jose_b64url_encoded_len(JWS_MAX_SIG_BYTES) + 1);
    if (tok != NULL)
        memcpy(tok, hb64, hlen);
    free(hown);
    if (tok == NULL)
        return JWTD_ERR_NO_MEMORY;
    tok[hlen] = '.';
    jose_b64url_encode_public(payload, len, tok + hlen + 1);
    pos = hlen + 1 + plen;
    rc = jose_sig_sign_cached(cache, key, alg, (unsigned char *)tok, pos, &sig, &sig_len);
    if (rc == JWTD_OK && sig_len > JWS_MAX_SIG_BYTES)
        rc = JWTD_ERR_CRYPTO;
    if (rc != JWTD_OK) {
        free(sig);
        free(tok);
        return rc;
    }
    tok[pos] = '.';
    jose_b64url_encode_public(sig, sig_len, tok + pos + 1);
    OPENSSL_cleanse(sig, sig_len);
    free(sig);
    *token_out = tok;
    return JWTD_OK;
}

jwtd_err jwtd_sign_payload(const jwtd_key *key, jwtd_alg alg, const jwtd_header *hdr,
                           const void *payload, size_t len, char **token_out)
{
    return sign_payload(NULL, key, alg, hdr, payload, len, token_out);
}

jwtd_err jwtd_sign_cached(jwtd_cache *cache, const jwtd_key *key, jwtd_alg alg,
                          const jwtd_header *hdr, const jwtd_claims *claims, char **token_out)
{
    char stack[SIGN_CLAIMS_STACK_BYTES], *json = stack;
    size_t n;
    jwtd_err rc;

    if (token_out != NULL)
        *token_out = NULL;
    if (claims == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    /* Serialized on the stack when it fits: jansson's json_dumps would grow a buffer by
     * reallocation and then copy it. */
    if ((n = jose_claims_dumpb(claims, stack, sizeof stack)) == 0)
        return JWTD_ERR_NO_MEMORY;
    if (n > sizeof stack) {
        if ((rc = jwtd_claims_json(claims, &json)) != JWTD_OK)
            return rc;
        n = strlen(json);
    }
    rc = sign_payload(cache, key, alg, hdr, json, n, token_out);
    if (json != stack)
        free(json);
    return rc;
}

jwtd_err jwtd_sign(const jwtd_key *key, jwtd_alg alg, const jwtd_header *hdr,
                   const jwtd_claims *claims, char **token_out)
{
    return jwtd_sign_cached(NULL, key, alg, hdr, claims, token_out);
}
