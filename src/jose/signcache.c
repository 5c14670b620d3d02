/* A per-thread cache of encoded protected headers for signing, keyed by the exact inputs that
 * determine them (alg, typ, kid, extra_json). An issuer signs with the same few headers over
 * and over; building, dumping and encoding one cost about 9k instructions of a 57k HS256 sign
 * (callgrind). Nothing is shared between threads, so no lock; freed at thread exit. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SIGN_CACHE_SLOTS 8

typedef struct sign_slot {
    size_t key_len; /* 0: empty */
    char key[JOSE_SIGN_CACHE_MAX_KEY];
    size_t b64_len;
    char b64[JOSE_SIGN_CACHE_MAX_B64];
} sign_slot;

typedef struct sign_cache {
    sign_slot slot[SIGN_CACHE_SLOTS];
    unsigned next; /* round-robin replacement */
} sign_cache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_key_ok;

static void cache_init_once(void) { cache_key_ok = pthread_key_create(&cache_key, free) == 0; }

/* This thread's cache, created on first use; NULL if that fails (then nothing is cached). */
static sign_cache *cache_get(bool create)
{
    sign_cache *c;

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

const char *jose_sign_cache_get(const char *key, size_t key_len, size_t *b64_len)
{
    sign_cache *c;

    if (key_len == 0 || key_len > JOSE_SIGN_CACHE_MAX_KEY || (c = cache_get(false)) == NULL)
        return NULL;
    for (size_t i = 0; i < SIGN_CACHE_SLOTS; i++) {
        const sign_slot *s = &c->slot[i];
        if (s->key_len == key_len && memcmp(s->key, key, key_len) == 0) {
            *b64_len = s->b64_len;
            return s->b64;
        }
    }
    return NULL;
}

void jose_sign_cache_put(const char *key, size_t key_len, const char *b64, size_t b64_len)
{
    sign_cache *c;
    sign_slot *s;

    if (key_len == 0 || key_len > JOSE_SIGN_CACHE_MAX_KEY || b64_len > JOSE_SIGN_CACHE_MAX_B64 ||
        (c = cache_get(true)) == NULL)
        return;
    s = &c->slot[c->next];
    c->next = (c->next + 1) % SIGN_CACHE_SLOTS;
    s->key_len = key_len;
    memcpy(s->key, key, key_len);
    s->b64_len = b64_len;
    memcpy(s->b64, b64, b64_len);
}
