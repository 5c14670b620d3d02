/* Access-token revocation: the in-memory set that every verify consults in O(1) (revoked
 * jtis, and per user a "revoked before" time), kept as immutable snapshots that are
 * replaced, never edited, so readers need no lock; and logout-all, which fills it. */
#include <stdlib.h>
#include <string.h>

#include "auth_internal.h"

#define REVS_MIN_CAP 16u

void auth_revs_release(auth_revs *r)
{
    if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    free(r->jtis);
    free(r->users);
    free(r);
}

auth_revs *auth_revs_acquire(auth *a, uint64_t *gen)
{
    auth_revs *r;

    pthread_mutex_lock(&a->mu);
    r = a->revs;
    atomic_fetch_add(&r->refs, 1);
    if (gen != NULL)
        *gen = atomic_load(&a->revs_gen);
    pthread_mutex_unlock(&a->mu);
    return r;
}

static void revs_publish(auth *a, auth_revs *r)
{
    auth_revs *old;

    pthread_mutex_lock(&a->mu);
    old = a->revs;
    a->revs = r;
    atomic_fetch_add(&a->revs_gen, 1);
    pthread_mutex_unlock(&a->mu);
    auth_revs_release(old);
}

/* A table of at least twice n slots keeps probe chains short. */
static size_t table_cap(size_t n)
{
    size_t cap = REVS_MIN_CAP;

    if (n == 0)
        return 0;
    while (cap < 2 * n)
        cap *= 2;
    return cap;
}

static auth_revs *revs_alloc(size_t max_jtis, size_t max_users)
{
    auth_revs *r = calloc(1, sizeof *r);

    if (r == NULL)
        return NULL;
    atomic_init(&r->refs, 1);
    r->jcap = table_cap(max_jtis);
    r->ucap = table_cap(max_users);
    if ((r->jcap != 0 && (r->jtis = calloc(r->jcap, sizeof *r->jtis)) == NULL) ||
        (r->ucap != 0 && (r->users = calloc(r->ucap, sizeof *r->users)) == NULL)) {
        auth_revs_release(r);
        return NULL;
    }
    return r;
}

static size_t jti_slot(const auth *a, const auth_revs *r, const char *jti, size_t len)
{
    size_t i = (size_t)auth_hash(a, jti, len) & (r->jcap - 1);

    while (r->jtis[i].jti[0] != '\0' &&
           (strlen(r->jtis[i].jti) != len || memcmp(r->jtis[i].jti, jti, len) != 0))
        i = (i + 1) & (r->jcap - 1);
    return i;
}

static size_t user_slot(const auth *a, const auth_revs *r, int64_t user_id)
{
    size_t i = (size_t)auth_hash(a, &user_id, sizeof user_id) & (r->ucap - 1);

    while (r->users[i].user_id != 0 && r->users[i].user_id != user_id)
        i = (i + 1) & (r->ucap - 1);
    return i;
}

/* Adds or extends an entry (capacity reserved by revs_alloc); true if anything changed. */
static bool jti_put(const auth *a, auth_revs *r, const char *jti, int64_t expires)
{
    size_t len = strnlen(jti, STORE_MAX_JTI + 1);
    auth_rev_jti *e;

    if (len == 0 || len > STORE_MAX_JTI)
        return false;
    e = &r->jtis[jti_slot(a, r, jti, len)];
    if (e->jti[0] == '\0') {
        memcpy(e->jti, jti, len + 1);
        e->expires = expires;
        r->njtis++;
        return true;
    }
    if (expires <= e->expires)
        return false;
    e->expires = expires;
    return true;
}

static bool user_put(const auth *a, auth_revs *r, int64_t user_id, int64_t before, int64_t expires)
{
    auth_rev_user *e = &r->users[user_slot(a, r, user_id)];
    bool changed = false;

    if (e->user_id == 0) {
        e->user_id = user_id;
        r->nusers++;
        changed = true;
    }
    if (before > e->before) {
        e->before = before;
        changed = true;
    }
    if (expires > e->expires) {
        e->expires = expires;
        changed = true;
    }
    return changed;
}

/* old's entries still in force at now, plus add[]. Revocations are never undone, so a
 * snapshot only grows until its entries expire: a re-read of the store that raced with a
 * local logout-all cannot lose that logout-all. */
static auth_revs *revs_merge(const auth *a, const auth_revs *old, const store_revocation *add,
                             size_t nadd, int64_t now, bool *changed)
{
    auth_revs *r = revs_alloc(old->njtis + nadd, old->nusers + nadd);

    *changed = false;
    if (r == NULL)
        return NULL;
    for (size_t i = 0; i < old->jcap; i++) {
        if (old->jtis[i].jti[0] == '\0')
            continue;
        if (old->jtis[i].expires > now)
            jti_put(a, r, old->jtis[i].jti, old->jtis[i].expires);
        else
            *changed = true;
    }
    for (size_t i = 0; i < old->ucap; i++) {
        const auth_rev_user *u = &old->users[i];
        if (u->user_id == 0)
            continue;
        if (u->expires > now)
            user_put(a, r, u->user_id, u->before, u->expires);
        else
            *changed = true;
    }
    for (size_t i = 0; i < nadd; i++) {
        if (add[i].expires <= now)
            continue;
        if (add[i].jti[0] != '\0')
            *changed |= jti_put(a, r, add[i].jti, add[i].expires);
        else if (add[i].user_id != 0) /* a user (> 0) or a client (< 0) */
            *changed |= user_put(a, r, add[i].user_id, add[i].before, add[i].expires);
    }
    return r;
}

/* Merges add[] into the published snapshot; publishes only a changed one. */
static auth_err revs_update(auth *a, const store_revocation *add, size_t nadd)
{
    auth_revs *next;
    bool changed;

    pthread_mutex_lock(&a->revs_mu);
    next = revs_merge(a, a->revs, add, nadd, auth_now(a), &changed);
    if (next != NULL && changed)
        revs_publish(a, next);
    else
        auth_revs_release(next);
    pthread_mutex_unlock(&a->revs_mu);
    return next != NULL ? AUTH_OK : AUTH_INTERNAL;
}

bool auth_revs_is_revoked(const auth *a, const auth_revs *r, const auth_principal *p)
{
    if (r->nusers != 0) {
        const auth_rev_user *u = &r->users[user_slot(a, r, p->user_id)];
        if (u->user_id != 0 && p->iat <= u->before)
            return true;
    }
    if (r->njtis != 0) {
        size_t len = strnlen(p->jti, STORE_MAX_JTI);
        if (r->jtis[jti_slot(a, r, p->jti, len)].jti[0] != '\0')
            return true;
    }
    return false;
}

int64_t auth_revs_user_before(const auth *a, const auth_revs *r, int64_t user_id)
{
    const auth_rev_user *u;

    if (r->nusers == 0)
        return 0;
    u = &r->users[user_slot(a, r, user_id)];
    return u->user_id != 0 ? u->before : 0;
}

typedef struct rev_list {
    store_revocation *v;
    size_t n, cap;
    bool failed;
} rev_list;

static bool collect_revocation(void *ctx, const store_revocation *rev)
{
    rev_list *l = ctx;

    if (l->n == l->cap) {
        size_t cap = l->cap != 0 ? l->cap * 2 : 64;
        store_revocation *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            l->failed = true;
            return false;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *rev;
    return true;
}

auth_err auth_revs_sync(auth *a)
{
    rev_list l = {0};
    store_err se;
    auth_err rc;

    se = store_revocation_list(a->s, auth_now(a), collect_revocation, &l);
    if (se == STORE_OK && l.failed)
        se = STORE_ERROR;
    rc = se == STORE_OK ? revs_update(a, l.v, l.n) : auth_from_store(se);
    free(l.v);
    return rc;
}

auth_err auth_revs_init(auth *a)
{
    auth_revs *empty = revs_alloc(0, 0);

    if (empty == NULL)
        return AUTH_INTERNAL;
    a->revs = empty;
    return auth_revs_sync(a);
}

const char *auth_revocation_reason_name(auth_revocation_reason r)
{
    static const char *const names[AUTH_REV_COUNT] = {
        [AUTH_REV_LOGOUT] = "logout",         [AUTH_REV_REUSE] = "reuse",
        [AUTH_REV_LOGOUT_ALL] = "logout_all", [AUTH_REV_DISABLED] = "disabled",
        [AUTH_REV_ROLES] = "roles",           [AUTH_REV_CLIENT] = "client"};
    return (unsigned)r < AUTH_REV_COUNT ? names[r] : "unknown";
}

auth_err auth_revoke_user_access(auth *a, int64_t user_id, auth_revocation_reason reason)
{
    store_revocation rec;
    auth_revs *r;
    int64_t prev;
    auth_err rc;

    memset(&rec, 0, sizeof rec);
    rec.user_id = user_id;
    rec.before = auth_now(a);
    /* A token issued after an earlier logout-all of this same second is dated one second
     * later (sign_pair), so it is not born revoked; this logout-all must reach it too. */
    r = auth_revs_acquire(a, NULL);
    prev = auth_revs_user_before(a, r, user_id);
    auth_revs_release(r);
    if (prev >= rec.before)
        rec.before = prev + 1;
    /* Every token issued up to `before` is dead by before + access_ttl. */
    rec.expires = rec.before + a->cfg.access_ttl + 1;
    if ((rc = auth_from_store(store_revocation_add(a->s, &rec))) != AUTH_OK)
        return rc;
    atomic_fetch_add(&a->revocations[reason], 1);
    return revs_update(a, &rec, 1);
}

auth_err auth_revoke_user(auth *a, int64_t user_id, auth_revocation_reason reason)
{
    auth_err rc;

    /* A machine client's key (negative, auth_principal.user_id): it has access tokens only. */
    if (user_id < 0)
        return auth_revoke_user_access(a, user_id, reason);
    if ((rc = auth_from_store(store_user_families_revoke(a->s, user_id))) != AUTH_OK)
        return rc;
    return auth_revoke_user_access(a, user_id, reason);
}

auth_err auth_logout_all(auth *a, int64_t user_id)
{
    auth_err rc;

    if (a != NULL && a->lookup)
        return AUTH_INTERNAL;
    if (a == NULL || user_id == 0)
        return AUTH_INVALID_INPUT;
    if ((rc = auth_revoke_user(a, user_id, AUTH_REV_LOGOUT_ALL)) != AUTH_OK)
        return rc;
    if (user_id > 0)
        (void)store_audit_add(a->s, "user.logout_all", user_id, "{}");
    return AUTH_OK;
}
