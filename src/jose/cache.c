/* The caller-owned cache (jwtd_cache): protected headers seen again and again. Verifying, it
 * keeps headers that already passed every header rule, keyed by their exact base64url bytes
 * and the identity of the Validation they were checked under (their decode and parse were
 * about a third of jansson's work in an HS256 verify). Signing, it keeps encoded headers keyed
 * by every input of the header (building, dumping and encoding one cost about 9k instructions
 * of a 57k HS256 sign, callgrind). The caller gives each thread its own cache, so there is no
 * lock and libjwtd keeps no per-thread or global state for it. Verify entries are copies of the
 * header bytes (tokens copy them again: a token never points into a cache). It also keeps the
 * signature contexts of the last few keys (sig.c), each slot holding a reference to its key. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CACHE_SLOTS 8
#define CACHE_MAX_KEY JOSE_SIGN_CACHE_MAX_KEY /* header bytes (verify), encoded inputs (sign) */
#define HDR_CACHE_MAX_B64 256                 /* longer verify headers are rare, not cached */
#define HDR_CACHE_MAX_JSON (HDR_CACHE_MAX_B64 / 4 * 3)
#define CTX_SLOTS 4 /* signature contexts: a few keys in rotation */

/* The slot plumbing both sides share: keys (a tag and bytes) with round-robin replacement.
 * A slot's value lives at the same index in the side's own array. */
typedef struct cache_ring {
    uint64_t tag[CACHE_SLOTS];
    size_t key_len[CACHE_SLOTS]; /* 0: empty */
    char key[CACHE_SLOTS][CACHE_MAX_KEY];
    unsigned next;
} cache_ring;

typedef struct sign_value {
    size_t len;
    char b64[JOSE_SIGN_CACHE_MAX_B64];
} sign_value;

/* A signature context kept for one (key, alg, operation). The slot holds a reference to the
 * key: while it is kept, no other key can have its address, so the pointer identifies it. */
typedef struct ctx_slot {
    jwtd_key *key; /* NULL: empty */
    jwtd_alg alg;
    int op;
    void *ctx;
    void (*ctx_free)(void *);
} ctx_slot;

/* A checked header: its rules' outcome, pointing into bytes (json, then strs). */
typedef struct hdr_value {
    jose_header h;
    char bytes[2 * (HDR_CACHE_MAX_JSON + 1)];
} hdr_value;

struct jwtd_cache {
    cache_ring hdr_ring; /* tag: Validation id; key: header base64url */
    hdr_value hdr[CACHE_SLOTS];
    cache_ring sign_ring; /* tag 0; key: sign_cache_key's encoding */
    sign_value sign[CACHE_SLOTS];
    ctx_slot ctx[CTX_SLOTS];
    unsigned ctx_next;
};

/* The slot holding (tag, key), or -1. len is in 1..CACHE_MAX_KEY. */
static int ring_find(const cache_ring *r, uint64_t tag, const char *key, size_t len)
{
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (r->key_len[i] == len && r->tag[i] == tag && memcmp(r->key[i], key, len) == 0)
            return i;
    }
    return -1;
}

/* The slot to overwrite next, already holding (tag, key); the caller replaces its value. */
static int ring_claim(cache_ring *r, uint64_t tag, const char *key, size_t len)
{
    int i = (int)r->next;

    r->next = (r->next + 1) % CACHE_SLOTS;
    r->tag[i] = tag;
    r->key_len[i] = len;
    memcpy(r->key[i], key, len);
    return i;
}

jwtd_err jwtd_cache_new(jwtd_cache **out)
{
    if (out == NULL)
        return JWTD_ERR_INVALID_ARGUMENT;
    *out = calloc(1, sizeof **out);
    return *out != NULL ? JWTD_OK : JWTD_ERR_NO_MEMORY;
}

void jwtd_cache_free(jwtd_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < CTX_SLOTS; i++) {
        if (c->ctx[i].key != NULL) {
            c->ctx[i].ctx_free(c->ctx[i].ctx);
            jwtd_key_free(c->ctx[i].key);
        }
    }
    free(c);
}

bool jose_hdr_cache_get(const jwtd_cache *c, uint64_t vid, const char *b64, size_t len,
                        jose_header *out)
{
    int i;

    if (c == NULL || len == 0 || len > HDR_CACHE_MAX_B64 ||
        (i = ring_find(&c->hdr_ring, vid, b64, len)) < 0)
        return false;
    *out = c->hdr[i].h;
    return true;
}

/* p (inside [from, from + n) or NULL) moved to the same offset from to. */
static const char *rebase(const char *p, const char *from, const char *to)
{
    return p != NULL ? to + (p - from) : NULL;
}

void jose_hdr_cache_put(jwtd_cache *c, uint64_t vid, const char *b64, size_t len,
                        const jose_header *h)
{
    hdr_value *slot;
    char *json, *strs;

    /* A header's JSON is at most 3/4 of its base64url: one that fits the key fits the slot. */
    if (c == NULL || len == 0 || len > HDR_CACHE_MAX_B64 || h->json_len > HDR_CACHE_MAX_JSON)
        return;
    slot = &c->hdr[ring_claim(&c->hdr_ring, vid, b64, len)];
    json = slot->bytes;
    strs = json + h->json_len + 1;
    memcpy(json, h->json, h->json_len);
    json[h->json_len] = '\0';
    memcpy(strs, h->strs, h->json_len + 1);
    slot->h = *h;
    slot->h.json = json;
    slot->h.strs = strs;
    slot->h.kid = rebase(h->kid, h->strs, strs);
    slot->h.typ = rebase(h->typ, h->strs, strs);
}

const char *jose_sign_cache_get(const jwtd_cache *c, const char *key, size_t key_len,
                                size_t *b64_len)
{
    int i;

    if (c == NULL || key_len == 0 || key_len > CACHE_MAX_KEY ||
        (i = ring_find(&c->sign_ring, 0, key, key_len)) < 0)
        return NULL;
    *b64_len = c->sign[i].len;
    return c->sign[i].b64;
}

void jose_sign_cache_put(jwtd_cache *c, const char *key, size_t key_len, const char *b64,
                         size_t b64_len)
{
    int i;

    if (c == NULL || key_len == 0 || key_len > CACHE_MAX_KEY || b64_len > JOSE_SIGN_CACHE_MAX_B64)
        return;
    i = ring_claim(&c->sign_ring, 0, key, key_len);
    c->sign[i].len = b64_len;
    memcpy(c->sign[i].b64, b64, b64_len);
}

void *jose_ctx_cache_get(const jwtd_cache *c, const jwtd_key *key, jwtd_alg alg, int op)
{
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < CTX_SLOTS; i++) {
        if (c->ctx[i].key == key && c->ctx[i].alg == alg && c->ctx[i].op == op)
            return c->ctx[i].ctx;
    }
    return NULL;
}

bool jose_ctx_cache_put(jwtd_cache *c, const jwtd_key *key, jwtd_alg alg, int op, void *ctx,
                        void (*ctx_free)(void *))
{
    ctx_slot *s;

    if (c == NULL)
        return false;
    s = &c->ctx[c->ctx_next];
    c->ctx_next = (c->ctx_next + 1) % CTX_SLOTS;
    if (s->key != NULL) {
        s->ctx_free(s->ctx);
        jwtd_key_free(s->key);
    }
    *s = (ctx_slot){
        .key = jwtd_key_ref(key), .alg = alg, .op = op, .ctx = ctx, .ctx_free = ctx_free};
    return true;
}
