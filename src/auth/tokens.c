/* Token pairs: signing access (typ at+jwt) and refresh (typ refresh+jwt) tokens, refresh
 * rotation with reuse detection and its grace window, and logout. The store's
 * refresh_rotate is the atomic step; the grace map only remembers what a rotation
 * returned so that a concurrent second presentation can get the very same pair. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_internal.h"

/* ---- Signing ---- */

static char *take_jwtd_string(char *s)
{
    char *copy = s != NULL ? strdup(s) : NULL;

    if (s != NULL) {
        sodium_memzero(s, strlen(s));
        jwtd_free(s);
    }
    return copy;
}

static auth_err sign_claims(auth *a, const auth_keys *k, const char *typ, const jwtd_claims *c,
                            char **out)
{
    jwtd_header hdr = {.typ = typ, .kid = NULL, .extra_json = NULL}; /* kid: the key's */
    char *token = NULL;

    if (jwtd_sign_cached(auth_thread_jwtd_cache(a), k->signer, k->signer_alg, &hdr, c, &token) !=
        JWTD_OK)
        return AUTH_INTERNAL;
    *out = take_jwtd_string(token);
    return *out != NULL ? AUTH_OK : AUTH_INTERNAL;
}

/* Whom an access token names: a user (user set, sub its decimal id) or a machine client
 * (client_id set, sub "client:" NAME), with the roles it carries. */
typedef struct access_subject {
    const char *sub, *user, *client_id;
    const char (*roles)[STORE_MAX_ROLE + 1];
    size_t nroles;
} access_subject;

static auth_err sign_access(auth *a, const auth_keys *k, const access_subject *who, int64_t iat,
                            char **out)
{
    const char *roles[STORE_MAX_ROLES];
    char jti[AUTH_JTI_CHARS + 1];
    jwtd_claims *c = NULL;
    jwtd_err rc = jwtd_claims_new(&c);
    size_t nroles = who->nroles < STORE_MAX_ROLES ? who->nroles : STORE_MAX_ROLES;
    auth_err arc;

    for (size_t i = 0; i < nroles; i++)
        roles[i] = who->roles[i];
    auth_random_id(jti);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_string(c, "iss", a->issuer);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_string(c, "sub", who->sub);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_string(c, "aud", a->audience);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_int(c, "exp", iat + a->cfg.access_ttl);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_int(c, "iat", iat);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_string(c, "jti", jti);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_strings(c, "roles", roles, nroles);
    /* "role": the first role, for the single-role tutorials. */
    if (rc == JWTD_OK && nroles > 0)
        rc = jwtd_claims_set_string(c, "role", roles[0]);
    if (rc == JWTD_OK && who->user != NULL)
        rc = jwtd_claims_set_string(c, "user", who->user);
    if (rc == JWTD_OK && who->client_id != NULL)
        rc = jwtd_claims_set_string(c, "client_id", who->client_id);
    arc = rc == JWTD_OK ? sign_claims(a, k, AUTH_TYP_ACCESS, c, out) : AUTH_INTERNAL;
    jwtd_claims_free(c);
    return arc;
}

/* The iat of a token issued now to the holder of revocation key `key`. Revocation is by
 * iat <= "before" in whole seconds: a token issued in the second of a logout-all, after it,
 * is dated one second later so that it is not born revoked. */
static int64_t issue_time(auth *a, int64_t key)
{
    int64_t iat = auth_now(a), before;
    auth_revs *r = auth_revs_acquire(a, NULL);

    before = auth_revs_user_before(a, r, key);
    auth_revs_release(r);
    return before >= iat ? before + 1 : iat;
}

static auth_err sign_refresh(auth *a, const auth_keys *k, const store_refresh *rec, char **out)
{
    jwtd_claims *c = NULL;
    jwtd_err rc = jwtd_claims_new(&c);
    char sub[24];
    auth_err arc;

    snprintf(sub, sizeof sub, "%" PRId64, rec->user_id);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_string(c, "sub", sub);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_int(c, "exp", rec->expires);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_int(c, "iat", rec->issued);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_string(c, "jti", rec->jti);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_string(c, "fam", rec->family);
    arc = rc == JWTD_OK ? sign_claims(a, k, AUTH_TYP_REFRESH, c, out) : AUTH_INTERNAL;
    jwtd_claims_free(c);
    return arc;
}

/* A pair for u in family (NULL: a new one); rec is the refresh token's store record. */
static auth_err sign_pair(auth *a, const store_user *u, const char *family, auth_pair *pair,
                          store_refresh *rec)
{
    int64_t now = auth_now(a), iat = issue_time(a, u->id);
    char sub[24];
    access_subject who = {sub, u->username, NULL, u->roles, u->nroles};
    auth_keys *k;
    auth_err rc;

    memset(pair, 0, sizeof *pair);
    memset(rec, 0, sizeof *rec);
    snprintf(sub, sizeof sub, "%" PRId64, u->id);

    auth_random_id(rec->jti);
    if (family != NULL)
        snprintf(rec->family, sizeof rec->family, "%s", family);
    else
        auth_random_id(rec->family);
    rec->user_id = u->id;
    rec->issued = now;
    rec->expires = now + a->cfg.refresh_ttl;

    k = auth_keys_acquire(a, NULL);
    rc = sign_access(a, k, &who, iat, &pair->access_token);
    if (rc == AUTH_OK)
        rc = sign_refresh(a, k, rec, &pair->refresh_token);
    auth_keys_release(k);
    if (rc != AUTH_OK) {
        auth_pair_clear(pair);
        return rc;
    }
    pair->expires_in = a->cfg.access_ttl;
    pair->refresh_expires_in = a->cfg.refresh_ttl;
    return AUTH_OK;
}

auth_err auth_issue_pair(auth *a, const store_user *u, auth_pair *pair)
{
    store_refresh rec;
    auth_err rc;

    if ((rc = sign_pair(a, u, NULL, pair, &rec)) != AUTH_OK)
        return rc;
    if ((rc = auth_from_store(store_refresh_insert(a->s, &rec))) != AUTH_OK)
        auth_pair_clear(pair);
    return rc;
}

auth_err auth_sign_client_access(auth *a, const store_client *c, int64_t key, auth_access *out)
{
    char sub[sizeof AUTH_CLIENT_SUB_PREFIX + STORE_MAX_CLIENT];
    access_subject who = {sub, NULL, c->name, c->roles, c->nroles};
    auth_keys *k;
    auth_err rc;

    memset(out, 0, sizeof *out);
    snprintf(sub, sizeof sub, "%s%s", AUTH_CLIENT_SUB_PREFIX, c->name);
    k = auth_keys_acquire(a, NULL);
    rc = sign_access(a, k, &who, issue_time(a, key), &out->access_token);
    auth_keys_release(k);
    if (rc == AUTH_OK)
        out->expires_in = a->cfg.access_ttl;
    return rc;
}

/* ---- The grace map: old jti -> the pair its rotation returned ---- */

static void grace_entry_clear(auth_grace_entry *e)
{
    auth_pair_clear(&e->pair);
    memset(e, 0, sizeof *e);
}

static void grace_prune_locked(auth *a, int64_t now)
{
    for (size_t i = 0; i < AUTH_GRACE_SLOTS; i++) {
        if (a->grace[i].old_jti[0] != '\0' && a->grace[i].until < now)
            grace_entry_clear(&a->grace[i]);
    }
}

void auth_grace_prune(auth *a)
{
    int64_t now = auth_now(a);

    pthread_mutex_lock(&a->grace_mu);
    grace_prune_locked(a, now);
    pthread_mutex_unlock(&a->grace_mu);
}

void auth_grace_free(auth *a)
{
    for (size_t i = 0; i < AUTH_GRACE_SLOTS; i++)
        grace_entry_clear(&a->grace[i]);
}

static bool pair_copy(const auth_pair *src, auth_pair *dst)
{
    *dst = *src;
    dst->access_token = strdup(src->access_token);
    dst->refresh_token = strdup(src->refresh_token);
    if (dst->access_token == NULL || dst->refresh_token == NULL) {
        auth_pair_clear(dst);
        return false;
    }
    return true;
}

/* Remembered before the rotation is attempted, so that a concurrent loser of the race can
 * find it as soon as the store says the token is spent. A full ring forgets the oldest. */
static void grace_put(auth *a, const char *old_jti, const char *new_jti, const auth_pair *p,
                      int64_t until)
{
    auth_grace_entry *e;

    pthread_mutex_lock(&a->grace_mu);
    grace_prune_locked(a, auth_now(a));
    e = &a->grace[a->grace_next];
    a->grace_next = (a->grace_next + 1) % AUTH_GRACE_SLOTS;
    grace_entry_clear(e);
    if (pair_copy(p, &e->pair)) {
        snprintf(e->old_jti, sizeof e->old_jti, "%s", old_jti);
        snprintf(e->new_jti, sizeof e->new_jti, "%s", new_jti);
        e->until = until;
    }
    pthread_mutex_unlock(&a->grace_mu);
}

static void grace_drop(auth *a, const char *old_jti, const char *new_jti)
{
    pthread_mutex_lock(&a->grace_mu);
    for (size_t i = 0; i < AUTH_GRACE_SLOTS; i++) {
        if (strcmp(a->grace[i].old_jti, old_jti) == 0 && strcmp(a->grace[i].new_jti, new_jti) == 0)
            grace_entry_clear(&a->grace[i]);
    }
    pthread_mutex_unlock(&a->grace_mu);
}

/* The pair that replaced old_jti with new_jti, if this process made it. */
static bool grace_get(auth *a, const char *old_jti, const char *new_jti, int64_t now,
                      auth_pair *out)
{
    bool found = false;

    pthread_mutex_lock(&a->grace_mu);
    for (size_t i = 0; i < AUTH_GRACE_SLOTS && !found; i++) {
        const auth_grace_entry *e = &a->grace[i];
        if (e->old_jti[0] != '\0' && e->until >= now && strcmp(e->old_jti, old_jti) == 0 &&
            strcmp(e->new_jti, new_jti) == 0)
            found = pair_copy(&e->pair, out);
    }
    pthread_mutex_unlock(&a->grace_mu);
    return found;
}

/* ---- Refresh and logout ---- */

/* What a verified refresh token says. */
typedef struct refresh_claims {
    int64_t user_id, exp;
    char jti[STORE_MAX_JTI + 1];
    char family[STORE_MAX_JTI + 1];
} refresh_claims;

static bool copy_claim(const jwtd_token *t, const char *name, char *dst, size_t cap)
{
    const char *s;

    if (jwtd_token_claim_string(t, name, &s) != JWTD_OK || s[0] == '\0' || strlen(s) >= cap)
        return false;
    memcpy(dst, s, strlen(s) + 1);
    return true;
}

static bool refresh_claims_get(const jwtd_token *t, refresh_claims *rc)
{
    const char *sub;

    return jwtd_token_claim_string(t, "sub", &sub) == JWTD_OK &&
           auth_parse_user_id(sub, &rc->user_id) &&
           jwtd_token_claim_int(t, "exp", &rc->exp) == JWTD_OK &&
           copy_claim(t, "jti", rc->jti, sizeof rc->jti) &&
           copy_claim(t, "fam", rc->family, sizeof rc->family);
}

/* A compact token of bounded size: JWS JSON serializations are not ours. */
static bool token_shape_ok(const char *token, size_t len)
{
    return token != NULL && len > 0 && len <= AUTH_MAX_TOKEN && token[0] != '{' &&
           memchr(token, '{', len) == NULL;
}

/* A spent or revoked token came back (the store said CONFLICT). */
static auth_err refresh_conflict(auth *a, const refresh_claims *claims, const store_refresh *cur,
                                 int64_t now, auth_pair *pair)
{
    char detail[STORE_MAX_JTI + 16];
    store_err se;

    /* Revoked: logged out, or reuse already seen. A token neither spent nor revoked is no
     * conflict at all (a backend's oddity): refused, without judging it. */
    if (cur->revoked || cur->spent == 0)
        return AUTH_INVALID_TOKEN;
    /* refresh_grace 0 turns the window off: any second presentation is reuse. */
    if (a->cfg.refresh_grace > 0 && now - cur->spent <= a->cfg.refresh_grace) {
        /* Two tabs refreshing at once: the same pair again. If another instance did the
         * rotation we cannot reproduce its pair; the token is refused, but the family is
         * left alive, since this is no sign of theft. */
        if (grace_get(a, claims->jti, cur->replaced_by, now, pair)) {
            atomic_fetch_add(&a->refreshes, 1);
            return AUTH_OK;
        }
        return AUTH_INVALID_TOKEN;
    }
    /* Reuse outside the grace window: the token was copied. Kill the whole family so the
     * thief's (or the victim's) newer tokens stop working too. */
    se = store_family_revoke(a->s, cur->family);
    if (se == STORE_OK)
        atomic_fetch_add(&a->revocations[AUTH_REV_REUSE], 1);
    snprintf(detail, sizeof detail, "{\"family\":\"%s\"}", cur->family); /* base64url */
    (void)store_audit_add(a->s, "refresh.reuse", cur->user_id, detail);
    atomic_fetch_add(&a->refresh_reuse, 1);
    /* A family that could not be revoked must not look handled: the store's error. */
    return se == STORE_OK || se == STORE_NOT_FOUND ? AUTH_TOKEN_REUSED : auth_from_store(se);
}

auth_err auth_refresh(auth *a, const char *refresh_token, size_t len, auth_pair *pair)
{
    refresh_claims claims;
    store_refresh next, cur;
    jwtd_token *t = NULL;
    auth_pair fresh;
    store_user u;
    auth_keys *k;
    store_err se;
    int64_t now;
    jwtd_err jrc;
    auth_err rc;
    bool ok;

    if (pair != NULL)
        memset(pair, 0, sizeof *pair);
    if (a != NULL && a->lookup)
        return AUTH_INTERNAL;
    if (a == NULL || pair == NULL)
        return AUTH_INVALID_INPUT;
    if (!token_shape_ok(refresh_token, len))
        return AUTH_INVALID_TOKEN;
    k = auth_keys_acquire(a, NULL);
    jrc = jwtd_verify_cached(auth_thread_jwtd_cache(a), refresh_token, len, k->set, k->v_refresh,
                             &t, NULL);
    auth_keys_release(k);
    if (jrc != JWTD_OK)
        return jrc == JWTD_ERR_NO_MEMORY ? AUTH_INTERNAL : AUTH_INVALID_TOKEN;
    memset(&claims, 0, sizeof claims);
    ok = refresh_claims_get(t, &claims);
    jwtd_token_free(t);
    now = auth_now(a);
    if (!ok || claims.exp <= now)
        return AUTH_INVALID_TOKEN;

    se = store_user_get_by_id(a->s, claims.user_id, &u);
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    if (se == STORE_NOT_FOUND || (se == STORE_OK && u.disabled))
        return AUTH_INVALID_TOKEN;
    if (se != STORE_OK)
        return auth_from_store(se);

    /* The new pair carries the user's current roles. */
    if ((rc = sign_pair(a, &u, claims.family, &fresh, &next)) != AUTH_OK)
        return rc;
    if (a->cfg.refresh_grace > 0)
        grace_put(a, claims.jti, next.jti, &fresh, now + a->cfg.refresh_grace);
    memset(&cur, 0, sizeof cur);
    se = store_refresh_rotate(a->s, claims.jti, now, &next, &cur);
    if (se == STORE_OK) {
        atomic_fetch_add(&a->refreshes, 1);
        *pair = fresh;
        return AUTH_OK;
    }
    grace_drop(a, claims.jti, next.jti);
    auth_pair_clear(&fresh);
    if (se == STORE_CONFLICT)
        return refresh_conflict(a, &claims, &cur, now, pair);
    /* NOT_FOUND: signed by us but unknown to the store (e.g. a restored backup). */
    return se == STORE_NOT_FOUND ? AUTH_INVALID_TOKEN : auth_from_store(se);
}

auth_err auth_logout(auth *a, const char *refresh_token, size_t len)
{
    jwtd_token *t = NULL;
    char family[STORE_MAX_JTI + 1];
    auth_keys *k;
    store_err se;
    jwtd_err jrc;
    bool ok;

    if (!auth_serving(a))
        return a == NULL ? AUTH_INVALID_INPUT : AUTH_INTERNAL;
    if (!token_shape_ok(refresh_token, len))
        return AUTH_OK;
    /* Signature and typ only: an expired refresh token may still end its family. */
    k = auth_keys_acquire(a, NULL);
    jrc = jwtd_jws_verify(refresh_token, len, NULL, 0, k->set, k->v_refresh, &t, NULL);
    auth_keys_release(k);
    if (jrc != JWTD_OK)
        return AUTH_OK;
    ok = copy_claim(t, "fam", family, sizeof family);
    jwtd_token_free(t);
    if (!ok)
        return AUTH_OK;
    atomic_fetch_add(&a->logouts, 1);
    /* A store that cannot write now is reported: the family would otherwise live on. */
    se = store_family_revoke(a->s, family);
    if (se == STORE_OK)
        atomic_fetch_add(&a->revocations[AUTH_REV_LOGOUT], 1);
    return se == STORE_NOT_FOUND ? AUTH_OK : auth_from_store(se);
}

auth_err auth_refresh_introspect(auth *a, const char *token, size_t len, auth_introspection *out)
{
    refresh_claims claims;
    store_refresh cur;
    store_user u;
    jwtd_token *t = NULL;
    auth_keys *k;
    store_err se;
    jwtd_err jrc;
    bool ok;

    memset(out, 0, sizeof *out);
    if (!token_shape_ok(token, len))
        return AUTH_OK;
    k = auth_keys_acquire(a, NULL);
    jrc = jwtd_verify_cached(auth_thread_jwtd_cache(a), token, len, k->set, k->v_refresh, &t, NULL);
    auth_keys_release(k);
    if (jrc != JWTD_OK)
        return jrc == JWTD_ERR_NO_MEMORY ? AUTH_INTERNAL : AUTH_OK;
    memset(&claims, 0, sizeof claims);
    ok = refresh_claims_get(t, &claims) && jwtd_token_claim_int(t, "iat", &out->iat) == JWTD_OK;
    jwtd_token_free(t);
    if (!ok || claims.exp <= auth_now(a))
        return AUTH_OK;
    /* The state in the database: spent (rotated), revoked (logout, reuse, logout-all), the
     * user disabled or gone. */
    se = store_refresh_get(a->s, claims.jti, &cur);
    if (se == STORE_NOT_FOUND || (se == STORE_OK && (cur.spent != 0 || cur.revoked)))
        return AUTH_OK;
    if (se == STORE_OK)
        se = store_user_get_by_id(a->s, claims.user_id, &u);
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    if (se == STORE_NOT_FOUND || (se == STORE_OK && u.disabled))
        return AUTH_OK;
    if (se != STORE_OK)
        return auth_from_store(se);
    out->active = out->refresh = true;
    snprintf(out->sub, sizeof out->sub, "%" PRId64, u.id);
    memcpy(out->username, u.username, sizeof out->username);
    out->exp = claims.exp;
    return AUTH_OK;
}
