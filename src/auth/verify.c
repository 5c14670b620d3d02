/* Access-token verification, the server's hot path: each thread keeps its own reference
 * to the key and revocation snapshots (refreshed only when a generation counter moves),
 * its own cache of verified tokens, so a repeated token costs a keyed hash and a
 * constant-time compare instead of a signature check, and its own libjwtd header cache
 * (jwtd_cache, also used to sign on that thread). Expiry and revocation are checked on every
 * call, hit or miss.
 *
 * The cache (issue 11, sized in docs/BENCHMARKS.md): cfg.token_cache slots in sets of
 * AUTH_TOKEN_CACHE_WAYS (their tags apart from their principals), per thread, no copy of the token.
 * A token stands as its SipHash-128 (libsodium's siphashx24, a PRF) under a random key of this
 * process: a hit needs the same 128-bit tag, which nobody without the key can aim at (the key is
 * never shown, and no tag is ever answered), compared in constant time. SipHash rather than
 * BLAKE2b: 0.17 against 0.66-0.73 us per 330-byte token here, paid by every request. A new entry
 * takes an empty way, else an expired one, else the least recently used. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth_internal.h"

#define CACHE_MAC_BYTES crypto_shorthash_siphashx24_BYTES
#define WAYS AUTH_TOKEN_CACHE_WAYS
_Static_assert(CACHE_MAC_BYTES == 16, "SipHash-128");
_Static_assert(AUTH_TOKEN_CACHE_MAX % WAYS == 0 && AUTH_TOKEN_CACHE_DEFAULT % WAYS == 0,
               "whole sets");

/* What a lookup reads: the tags of a set fill two cache lines (the set is aligned to them),
 * so a miss costs two memory reads, not one per way; the principal is only read on a hit and
 * written on a put. With the principal beside the tag (584 bytes an entry), a lookup read
 * eight lines spread over 2.3 KiB, which showed as a third of the lookup's time in perf over
 * 10,000 tokens in rotation (docs/BENCHMARKS.md). */
typedef struct cache_tag {
    unsigned char mac[CACHE_MAC_BYTES]; /* keyed SipHash-128 of the token's bytes */
    uint64_t used;                      /* the thread's clock at the last put or hit; */
    int64_t exp;                        /* <= the thread's floor: an empty way */
} cache_tag;
#define CACHE_SET_BYTES (WAYS * sizeof(cache_tag))
_Static_assert(CACHE_SET_BYTES % 64 == 0, "a set is whole cache lines");

/* A principal as the cache keeps it: its integers, then its strings one after the other, each
 * with its NUL (username, sub, client_id, jti, the roles). 256 bytes instead of the 568 of an
 * auth_principal, so a put writes and a hit reads four cache lines, not nine, and a slot takes
 * 288 bytes with its tag. A principal whose strings do not fit (238 bytes with their NULs) is
 * not cached: it is verified every time. A user's token jwtd issues takes at most 109 of them
 * before its roles (64-byte username, 19-digit sub, 22-byte jti), a client's 154 (64-byte name
 * in client_id and sub); eight roles of 32 bytes beside those would not fit. */
#define WHOM_BYTES 256
typedef struct cache_whom {
    int64_t user_id, iat;
    uint8_t client, nroles;
    char text[WHOM_BYTES - 2 * sizeof(int64_t) - 2];
} cache_whom;
_Static_assert(sizeof(cache_whom) == WHOM_BYTES, "no padding");

struct auth_thread {
    auth *a;
    auth_thread *prev, *next; /* a->threads, under a->threads_mu */
    auth_keys *keys;
    uint64_t keys_gen;
    auth_revs *revs;
    uint64_t revs_gen;
    /* Written by the owning thread only; read by auth_stats_get. */
    atomic_uint_fast64_t ok, failed, hits, cache_hits, cache_misses;
    cache_tag *tags;  /* nsets * WAYS, sets aligned to CACHE_SET_BYTES; NULL: no cache */
    void *tags_mem;   /* the allocation tags lies in */
    cache_whom *whom; /* nsets * WAYS, the principal of each tag */
    size_t nsets;
    uint64_t clock, floor; /* clock: one tick per put or hit; entries used <= floor are empty */
    jwtd_cache *jc;        /* NULL if it could not be made: libjwtd then simply caches nothing */
};

size_t auth_token_cache_slot_bytes(void) { return sizeof(cache_tag) + sizeof(cache_whom); }

/* Empties the cache without touching its memory: every entry is now at or below the floor. */
static void cache_clear(auth_thread *t) { t->floor = t->clock; }

static void cache_free(auth_thread *t)
{
    free(t->tags_mem);
    free(t->whom);
    t->tags_mem = NULL;
    t->tags = NULL;
    t->whom = NULL;
    t->nsets = 0;
}

/* calloc: every way empty (used 0 is at the floor 0), and the pages of a large cache stay
 * untouched (not resident) until slots fill. One set more than needed, to align the sets.
 * Without the memory the thread simply verifies every token. */
static void cache_alloc(auth_thread *t, size_t nsets)
{
    if (nsets == 0 || nsets >= SIZE_MAX / CACHE_SET_BYTES)
        return;
    t->nsets = nsets;
    t->tags_mem = calloc(nsets + 1, CACHE_SET_BYTES);
    t->whom = calloc(nsets * WAYS, sizeof *t->whom);
    if (t->tags_mem == NULL || t->whom == NULL) {
        cache_free(t);
        return;
    }
    size_t skew = (size_t)((uintptr_t)t->tags_mem % CACHE_SET_BYTES);
    t->tags = (cache_tag *)(void *)((char *)t->tags_mem + (skew > 0 ? CACHE_SET_BYTES - skew : 0));
}

static void thread_free(auth_thread *t)
{
    cache_free(t);
    jwtd_cache_free(t->jc);
    auth_keys_release(t->keys);
    auth_revs_release(t->revs);
    free(t);
}

/* pthread destructor: the thread exits; its counts live on in the auth. */
static void thread_exit(void *p)
{
    auth_thread *t = p;
    auth *a = t->a;

    pthread_mutex_lock(&a->threads_mu);
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        a->threads = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    a->gone_ok += atomic_load(&t->ok);
    a->gone_failed += atomic_load(&t->failed);
    a->gone_hits += atomic_load(&t->hits);
    a->gone_cache_hits += atomic_load(&t->cache_hits);
    a->gone_cache_misses += atomic_load(&t->cache_misses);
    pthread_mutex_unlock(&a->threads_mu);
    thread_free(t);
}

auth_err auth_threads_init(auth *a)
{
    return pthread_key_create(&a->tkey, thread_exit) == 0 ? AUTH_OK : AUTH_INTERNAL;
}

void auth_threads_free(auth *a)
{
    auth_thread *t, *next;

    /* No thread uses a any more (the caller's promise): no destructor may run after the
     * key is gone, and every state still listed is freed here. */
    pthread_setspecific(a->tkey, NULL);
    pthread_key_delete(a->tkey);
    pthread_mutex_lock(&a->threads_mu);
    for (t = a->threads; t != NULL; t = next) {
        next = t->next;
        thread_free(t);
    }
    a->threads = NULL;
    pthread_mutex_unlock(&a->threads_mu);
}

void auth_threads_stats(auth *a, auth_stats *out)
{
    pthread_mutex_lock(&a->threads_mu);
    out->verify_ok = a->gone_ok;
    out->verify_failed = a->gone_failed;
    out->verify_cache_hits = a->gone_hits;
    out->token_cache_hits = a->gone_cache_hits;
    out->token_cache_misses = a->gone_cache_misses;
    for (const auth_thread *t = a->threads; t != NULL; t = t->next) {
        out->verify_ok += atomic_load(&t->ok);
        out->verify_failed += atomic_load(&t->failed);
        out->verify_cache_hits += atomic_load(&t->hits);
        out->token_cache_hits += atomic_load(&t->cache_hits);
        out->token_cache_misses += atomic_load(&t->cache_misses);
    }
    pthread_mutex_unlock(&a->threads_mu);
    out->token_cache_slots = (a->cfg.token_cache + WAYS - 1) / WAYS * WAYS; /* as allocated */
}

static auth_thread *thread_get(auth *a)
{
    auth_thread *t = pthread_getspecific(a->tkey);

    if (t != NULL)
        return t;
    if ((t = calloc(1, sizeof *t)) == NULL)
        return NULL;
    t->a = a;
    if (jwtd_cache_new(&t->jc) != JWTD_OK)
        t->jc = NULL;
    cache_alloc(t, (a->cfg.token_cache + WAYS - 1) / WAYS);
    if (pthread_setspecific(a->tkey, t) != 0) {
        cache_free(t);
        jwtd_cache_free(t->jc);
        free(t);
        return NULL;
    }
    pthread_mutex_lock(&a->threads_mu);
    t->next = a->threads;
    if (a->threads != NULL)
        a->threads->prev = t;
    a->threads = t;
    pthread_mutex_unlock(&a->threads_mu);
    return t;
}

jwtd_cache *auth_thread_jwtd_cache(auth *a)
{
    auth_thread *t = thread_get(a);

    return t != NULL ? t->jc : NULL;
}

/* The single writer of these counters is the owning thread: no locked add needed. */
static void bump(atomic_uint_fast64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Takes new snapshots when another thread published some. A new key set also empties the
 * cache: it may hold tokens of a key that is gone. */
static void thread_refresh(auth_thread *t)
{
    auth *a = t->a;

    if (t->keys == NULL || atomic_load(&a->keys_gen) != t->keys_gen) {
        auth_keys_release(t->keys);
        t->keys = auth_keys_acquire(a, &t->keys_gen);
        cache_clear(t);
    }
    if (t->revs == NULL || atomic_load(&a->revs_gen) != t->revs_gen) {
        auth_revs_release(t->revs);
        t->revs = auth_revs_acquire(a, &t->revs_gen);
    }
}

static bool copy_string(const char *s, char *dst, size_t cap, bool may_be_empty)
{
    size_t n = strlen(s);

    if (n >= cap || (n == 0 && !may_be_empty))
        return false;
    memcpy(dst, s, n + 1);
    return true;
}

/* A user's token: sub a decimal id, and a "user" claim. */
static bool subject_of_user(const jwtd_token *tok, const char *sub, auth_principal *p)
{
    const char *user;

    return auth_parse_user_id(sub, &p->user_id) &&
           jwtd_token_claim_string(tok, "user", &user) == JWTD_OK &&
           copy_string(user, p->username, sizeof p->username, false);
}

/* A machine client's token: sub "client:" NAME and a client_id claim of the same NAME. */
static bool subject_of_client(const jwtd_token *tok, const char *sub, auth_principal *p)
{
    const size_t plen = sizeof AUTH_CLIENT_SUB_PREFIX - 1;
    const char *id;

    if (strncmp(sub, AUTH_CLIENT_SUB_PREFIX, plen) != 0 ||
        jwtd_token_claim_string(tok, "client_id", &id) != JWTD_OK || strcmp(sub + plen, id) != 0 ||
        !auth_client_name_valid(id))
        return false;
    memcpy(p->client_id, id, strlen(id) + 1);
    p->client = true;
    p->user_id = auth_client_revocation_key(id, strlen(id));
    return true;
}

/* The principal of a verified access token; false if a claim is missing or oversized. */
static bool principal_from_token(const jwtd_token *tok, auth_principal *p)
{
    const char *roles[STORE_MAX_ROLES], *sub, *jti;
    size_t n = 0;

    memset(p, 0, sizeof *p);
    if (jwtd_token_claim_string(tok, "sub", &sub) != JWTD_OK ||
        !copy_string(sub, p->sub, sizeof p->sub, false) ||
        !(subject_of_user(tok, sub, p) || subject_of_client(tok, sub, p)) ||
        jwtd_token_claim_string(tok, "jti", &jti) != JWTD_OK ||
        !copy_string(jti, p->jti, sizeof p->jti, false) ||
        jwtd_token_claim_int(tok, "iat", &p->iat) != JWTD_OK ||
        jwtd_token_claim_int(tok, "exp", &p->exp) != JWTD_OK ||
        jwtd_token_claim_strings(tok, "roles", roles, STORE_MAX_ROLES, &n) != JWTD_OK ||
        n > STORE_MAX_ROLES)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!copy_string(roles[i], p->roles[i], sizeof p->roles[i], false))
            return false;
    }
    p->nroles = n;
    return true;
}

/* p packed into *w; false (w unusable) when its strings do not fit. */
static bool whom_pack(const auth_principal *p, cache_whom *w)
{
    const char *s[4 + AUTH_MAX_ROLES] = {p->username, p->sub, p->client_id, p->jti};
    size_t n = 4, at = 0;

    if (p->nroles > AUTH_MAX_ROLES)
        return false;
    for (size_t i = 0; i < p->nroles; i++)
        s[n++] = p->roles[i];
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(s[i]) + 1;
        if (len > sizeof w->text - at)
            return false;
        memcpy(w->text + at, s[i], len);
        at += len;
    }
    w->user_id = p->user_id;
    w->iat = p->iat;
    w->client = p->client ? 1 : 0;
    w->nroles = (uint8_t)p->nroles;
    return true;
}

/* The next string of a packed principal into dst[cap]; returns where the one after starts.
 * Bounded by the text's end and by cap whatever the bytes (whom_pack wrote them to fit). */
static size_t whom_take(const cache_whom *w, size_t at, char *dst, size_t cap)
{
    size_t room = at < sizeof w->text ? sizeof w->text - at : 0;
    size_t len = room > 0 ? strnlen(w->text + at, room) : 0;

    if (len >= cap)
        len = cap - 1;
    memcpy(dst, w->text + at, len);
    dst[len] = '\0';
    return at + len + 1;
}

/* The principal of a hit, byte for byte as principal_from_token made it (exp from the tag). */
static void whom_unpack(const cache_whom *w, int64_t exp, auth_principal *p)
{
    size_t at = 0;

    memset(p, 0, sizeof *p);
    p->user_id = w->user_id;
    p->iat = w->iat;
    p->exp = exp;
    p->client = w->client != 0;
    p->nroles = w->nroles <= AUTH_MAX_ROLES ? w->nroles : AUTH_MAX_ROLES;
    at = whom_take(w, at, p->username, sizeof p->username);
    at = whom_take(w, at, p->sub, sizeof p->sub);
    at = whom_take(w, at, p->client_id, sizeof p->client_id);
    at = whom_take(w, at, p->jti, sizeof p->jti);
    for (size_t i = 0; i < p->nroles; i++)
        at = whom_take(w, at, p->roles[i], sizeof p->roles[i]);
}

/* The slot of mac in its set, or SIZE_MAX and in *victim the slot a new entry should take. */
static size_t cache_find(const auth_thread *t, const unsigned char mac[CACHE_MAC_BYTES],
                         int64_t now, size_t *victim)
{
    uint64_t h, rank, best = UINT64_MAX;
    size_t first;

    memcpy(&h, mac, sizeof h);
    first = (size_t)(h % t->nsets) * WAYS;
    for (size_t i = first; i < first + WAYS; i++) {
        const cache_tag *e = &t->tags[i];

        if (e->used <= t->floor) {
            rank = 0;
        } else {
            /* Constant time: the stored hash stands for a valid token. */
            if (CRYPTO_memcmp(e->mac, mac, CACHE_MAC_BYTES) == 0)
                return i;
            rank = e->exp <= now ? 1 : e->used + 1; /* used > floor >= 0: rank >= 2 */
        }
        if (rank < best) {
            best = rank;
            *victim = i;
        }
    }
    return SIZE_MAX;
}

static auth_err verify_fail(auth_thread *t, auth_principal *out, auth_err rc)
{
    if (t != NULL)
        bump(&t->failed);
    memset(out, 0, sizeof *out);
    return rc;
}

auth_err auth_verify_access(auth *a, const char *token, size_t len, auth_principal *out)
{
    auth_token_fault fault;

    return auth_verify_access_why(a, token, len, out, &fault);
}

auth_err auth_verify_access_why(auth *a, const char *token, size_t len, auth_principal *out,
                                auth_token_fault *fault)
{
    unsigned char mac[CACHE_MAC_BYTES];
    jwtd_token *tok = NULL;
    size_t e = SIZE_MAX, victim = SIZE_MAX;
    auth_thread *t;
    jwtd_err jrc;
    int64_t now;

    if (a != NULL && a->lookup)
        return AUTH_INTERNAL;
    if (a == NULL || out == NULL || fault == NULL)
        return AUTH_INVALID_INPUT;
    *fault = AUTH_FAULT_INVALID;
    if ((t = thread_get(a)) == NULL)
        return verify_fail(NULL, out, AUTH_INTERNAL);
    if (token == NULL || len == 0 || len > AUTH_MAX_TOKEN)
        return verify_fail(t, out, AUTH_INVALID_TOKEN);
    thread_refresh(t);
    now = auth_now(a);

    if (t->tags != NULL) {
        crypto_shorthash_siphashx24(mac, (const unsigned char *)token, len, a->cache_key);
        e = cache_find(t, mac, now, &victim);
    }
    if (e != SIZE_MAX) {
        whom_unpack(&t->whom[e], t->tags[e].exp, out);
        t->tags[e].used = ++t->clock;
        bump(&t->cache_hits);
    } else {
        bump(&t->cache_misses);
        jrc = jwtd_verify_cached(t->jc, token, len, t->keys->set, t->keys->v_access, &tok, NULL);
        /* libjwtd checks exp after the signature and the type: a token it calls expired was
         * signed by one of our keys. */
        if (jrc == JWTD_ERR_EXPIRED_SIGNATURE)
            *fault = AUTH_FAULT_EXPIRED;
        if (jrc != JWTD_OK)
            return verify_fail(t, out,
                               jrc == JWTD_ERR_NO_MEMORY ? AUTH_INTERNAL : AUTH_INVALID_TOKEN);
        if (!principal_from_token(tok, out)) {
            jwtd_token_free(tok);
            return verify_fail(t, out, AUTH_INVALID_TOKEN);
        }
        jwtd_token_free(tok);
        cache_whom w;
        if (victim != SIZE_MAX && whom_pack(out, &w)) {
            memcpy(t->tags[victim].mac, mac, sizeof mac);
            t->tags[victim].exp = out->exp;
            t->tags[victim].used = ++t->clock;
            t->whom[victim] = w;
        }
    }
    /* exp on our clock with no leeway, as jwtd_verify checked it on a miss. */
    if (out->exp <= now || auth_revs_is_revoked(a, t->revs, out)) {
        *fault = out->exp <= now ? AUTH_FAULT_EXPIRED : AUTH_FAULT_REVOKED;
        return verify_fail(t, out, AUTH_INVALID_TOKEN);
    }
    *fault = AUTH_FAULT_NONE;
    bump(&t->ok);
    if (e != SIZE_MAX)
        bump(&t->hits);
    return AUTH_OK;
}
