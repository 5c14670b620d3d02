/* A per-thread cache of protected headers that already passed every header rule, keyed by
 * their exact base64url bytes and the identity of the Validation they were checked under.
 * Services see the same few headers millions of times; this skips their decode and parse
 * (measured: about a third of jansson's work in an HS256 verify). Nothing is shared between
 * threads, so no lock; entries hold a jansson reference (atomic in jansson >= 2.12). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HDR_CACHE_SLOTS 8
#define HDR_CACHE_MAX_B64 256 /* longer headers are rare and simply not cached */

typedef struct hdr_slot {
    uint64_t vid; /* 0: empty */
    size_t len;
    char b64[HDR_CACHE_MAX_B64];
    jose_header h; /* h.json holds one reference */
} hdr_slot;

typedef struct hdr_cache {
    hdr_slot slot[HDR_CACHE_SLOTS];
    unsigned next; /* round-robin replacement */
} hdr_cache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_key_ok;

static void cache_free(void *p)
{
    hdr_cache *c = p;

    for (size_t i = 0; i < HDR_CACHE_SLOTS; i++)
        json_decref(c->slot[i].h.json);
    free(c);
}

static void cache_init_once(void) { cache_key_ok = pthread_key_create(&cache_key, cache_free) == 0; }

/* This thread's cache, created on first use; NULL if that fails (then nothing is cached). */
static hdr_cache *cache_get(bool create)
{
    hdr_cache *c;

    pthread_once(&cache_once, cache_init_once);
    if (!cache_key_ok)
        return NULL;
    c = pthread_getspecific(cache_key);
    if (c == NULL && create && (c = calloc(1, sizeof *c)) != NULL &&
        pthread_setspecific(cache_key, c) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

bool jose_hdr_cache_get(uint64_t vid, const char *b64, size_t len, jose_header *out)
{
    hdr_cache *c;

    if (len > HDR_CACHE_MAX_B64 || (c = cache_get(false)) == NULL)
        return false;
    for (size_t i = 0; i < HDR_CACHE_SLOTS; i++) {
        hdr_slot *s = &c->slot[i];
        if (s->vid == vid && s->len == len && memcmp(s->b64, b64, len) == 0) {
            *out = s->h;
            out->json = json_incref(s->h.json);
            return true;
        }
    }
    return false;
}

void jose_hdr_cache_put(uint64_t vid, const char *b64, size_t len, const jose_header *h)
{
    hdr_cache *c;
    hdr_slot *s;

    if (len > HDR_CACHE_MAX_B64 || (c = cache_get(true)) == NULL)
        return;
    s = &c->slot[c->next];
    c->next = (c->next + 1) % HDR_CACHE_SLOTS;
    json_decref(s->h.json);
    s->vid = vid;
    s->len = len;
    memcpy(s->b64, b64, len);
    s->h = *h;
    s->h.json = json_incref(h->json);
}
