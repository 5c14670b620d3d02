/* Signing keys: the store's rows (or JWT_SECRET) turned into an immutable snapshot (keyset,
 * signer, JWKS, validations pinned to the algorithms of the keys held), generation of the
 * first key, rotation, and the cheap re-read that picks up keys other processes added. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_internal.h"

/* One row of key_list, copied out of the callback. */
typedef struct key_row {
    char kid[STORE_MAX_KID + 1];
    char alg[16];
    char *pem;
    int64_t created, retired;
} key_row;

typedef struct key_rows {
    key_row *v;
    size_t n, cap;
    bool failed;
} key_rows;

static bool collect_row(void *ctx, const store_signing_key *k)
{
    key_rows *rows = ctx;
    key_row *r;

    if (rows->n == rows->cap) {
        size_t cap = rows->cap != 0 ? rows->cap * 2 : 8;
        key_row *v = realloc(rows->v, cap * sizeof *v);
        if (v == NULL) {
            rows->failed = true;
            return false;
        }
        rows->v = v;
        rows->cap = cap;
    }
    r = &rows->v[rows->n];
    memset(r, 0, sizeof *r);
    snprintf(r->kid, sizeof r->kid, "%s", k->kid);
    snprintf(r->alg, sizeof r->alg, "%s", k->alg);
    r->created = k->created;
    r->retired = k->retired;
    r->pem = strndup(k->private_key, sizeof k->private_key);
    if (r->pem == NULL) {
        rows->failed = true;
        return false;
    }
    rows->n++;
    return true;
}

static void rows_free(key_rows *rows)
{
    for (size_t i = 0; i < rows->n; i++) {
        sodium_memzero(rows->v[i].pem, strlen(rows->v[i].pem));
        free(rows->v[i].pem);
    }
    free(rows->v);
    memset(rows, 0, sizeof *rows);
}

static auth_err rows_load(auth *a, key_rows *rows)
{
    store_err se;

    memset(rows, 0, sizeof *rows);
    se = store_key_list(a->s, collect_row, rows);
    if (se == STORE_OK && rows->failed)
        se = STORE_ERROR;
    if (se != STORE_OK)
        rows_free(rows);
    return auth_from_store(se);
}

/* Tokens live at most max(access_ttl, refresh_ttl): a key retired longer ago than that
 * signed nothing that is still valid. */
static int64_t token_window(const auth *a)
{
    return a->cfg.access_ttl > a->cfg.refresh_ttl ? a->cfg.access_ttl : a->cfg.refresh_ttl;
}

static bool row_usable(const auth *a, const key_row *r, int64_t now)
{
    return r->retired == 0 || now < r->retired + token_window(a);
}

/* Whether r signs at now: its time has come (a key rotated in ahead of time is published
 * first and signs only from `created`) and it has not retired yet. */
static bool row_signs(const key_row *r, int64_t now)
{
    return r->created <= now && (r->retired == 0 || r->retired > now);
}

/* The next time at which the snapshot built from rows at now would change by itself (a
 * planned key starts signing, a key retires, a retired key leaves the JWKS), or
 * INT64_MAX. */
static int64_t rows_next_event(const auth *a, const key_rows *rows, int64_t now)
{
    int64_t next = INT64_MAX;

    for (size_t i = 0; i < rows->n; i++) {
        const key_row *r = &rows->v[i];
        int64_t t[3] = {r->created, r->retired, r->retired != 0 ? r->retired + token_window(a) : 0};
        for (size_t j = 0; j < 3; j++)
            if (t[j] > now && t[j] < next)
                next = t[j];
    }
    return next;
}

/* "kid/retired/state;" per usable row (state: whether it signs now): equal fingerprints
 * mean an equal snapshot. */
static char *rows_fingerprint(const auth *a, const key_rows *rows, int64_t now)
{
    size_t cap = 1, len = 0;
    char *fp;

    for (size_t i = 0; i < rows->n; i++)
        cap += STORE_MAX_KID + 26;
    if ((fp = malloc(cap)) == NULL)
        return NULL;
    fp[0] = '\0';
    for (size_t i = 0; i < rows->n; i++) {
        if (row_usable(a, &rows->v[i], now))
            len += (size_t)snprintf(fp + len, cap - len, "%s/%" PRId64 "/%c;", rows->v[i].kid,
                                    rows->v[i].retired, row_signs(&rows->v[i], now) ? 's' : 'v');
    }
    return fp;
}

/* A private key from its stored PEM, carrying the stored kid and alg (the PEM has
 * neither; the JWKS should name both). Goes through the private JWK, zeroed afterwards. */
static auth_err key_from_row(const key_row *r, jwtd_key **out)
{
    jwtd_alg alg = jwtd_alg_from_name(r->alg, strlen(r->alg));
    jwtd_key *pem_key = NULL;
    jwtd_claims *c = NULL;
    char *jwk = NULL, *named = NULL;
    jwtd_err rc;

    *out = NULL;
    if (alg == JWTD_ALG_UNKNOWN || r->kid[0] == '\0')
        return AUTH_INTERNAL;
    rc = jwtd_key_from_pem(r->pem, strlen(r->pem), 0, &pem_key);
    if (rc == JWTD_OK)
        rc = jwtd_key_private_jwk(pem_key, &jwk);
    if (rc == JWTD_OK)
        rc = jwtd_claims_from_json(jwk, strlen(jwk), &c);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_string(c, "kid", r->kid);
    if (rc == JWTD_OK)
        rc = jwtd_claims_set_string(c, "alg", r->alg);
    if (rc == JWTD_OK)
        rc = jwtd_claims_json(c, &named);
    if (rc == JWTD_OK)
        rc = jwtd_key_from_jwk(named, strlen(named), 0, out);
    if (rc == JWTD_OK && !jwtd_key_fits_alg(*out, alg)) {
        jwtd_key_free(*out);
        *out = NULL;
        rc = JWTD_ERR_INVALID_ALGORITHM;
    }
    if (jwk != NULL)
        sodium_memzero(jwk, strlen(jwk));
    if (named != NULL)
        sodium_memzero(named, strlen(named));
    jwtd_free(jwk);
    jwtd_free(named);
    jwtd_claims_free(c);
    jwtd_key_free(pem_key);
    return rc == JWTD_OK ? AUTH_OK : AUTH_INTERNAL;
}

void auth_keys_release(auth_keys *k)
{
    if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1)
        return;
    jwtd_keyset_free(k->set);
    jwtd_key_free(k->signer);
    jwtd_free(k->jwks);
    jwtd_validation_free(k->v_access);
    jwtd_validation_free(k->v_refresh);
    free(k->fingerprint);
    free(k);
}

auth_keys *auth_keys_acquire(auth *a, uint64_t *gen)
{
    auth_keys *k;

    pthread_mutex_lock(&a->mu);
    k = a->keys;
    atomic_fetch_add(&k->refs, 1);
    if (gen != NULL)
        *gen = atomic_load(&a->keys_gen);
    pthread_mutex_unlock(&a->mu);
    return k;
}

static void keys_publish(auth *a, auth_keys *k)
{
    auth_keys *old;

    pthread_mutex_lock(&a->mu);
    old = a->keys;
    a->keys = k;
    atomic_fetch_add(&a->keys_gen, 1);
    pthread_mutex_unlock(&a->mu);
    auth_keys_release(old);
}

/* Only the algorithms of the keys we hold verify: a token naming any other is refused
 * before its signature is looked at. */
static jwtd_validation *validation_new(const auth *a, const auth_keys *k, const char *typ,
                                       bool access)
{
    jwtd_validation *v = NULL;
    jwtd_err rc = jwtd_validation_new(&v);

    /* A raw secret names no alg of its own: the signer's is given separately. */
    if (rc == JWTD_OK)
        rc = jwtd_validation_allow_alg(v, k->signer_alg);
    for (size_t i = 0; rc == JWTD_OK && i < jwtd_keyset_count(k->set); i++) {
        jwtd_alg alg = jwtd_key_alg(jwtd_keyset_get(k->set, i));
        if (alg != JWTD_ALG_UNKNOWN)
            rc = jwtd_validation_allow_alg(v, alg);
    }
    /* Our own tokens on our own clock: no leeway. */
    if (rc == JWTD_OK)
        rc = jwtd_validation_set_leeway(v, 0);
    if (rc == JWTD_OK)
        rc = jwtd_validation_set_typ(v, typ);
    if (rc == JWTD_OK)
        rc = jwtd_validation_set_max_token_bytes(v, AUTH_MAX_TOKEN);
    if (rc == JWTD_OK)
        rc = jwtd_validation_require_claim(v, "sub");
    if (rc == JWTD_OK)
        rc = jwtd_validation_require_claim(v, "jti");
    if (rc == JWTD_OK)
        rc = jwtd_validation_require_claim(v, "iat");
    if (rc == JWTD_OK && access)
        rc = jwtd_validation_add_issuer(v, a->issuer);
    if (rc == JWTD_OK && access)
        rc = jwtd_validation_add_audience(v, a->audience);
    if (rc == JWTD_OK && !access)
        rc = jwtd_validation_require_claim(v, "fam");
    if (rc != JWTD_OK) {
        jwtd_validation_free(v);
        return NULL;
    }
    return v;
}

/* A snapshot from keys[0..n) (references taken), signing with keys[signer]. */
static auth_err keys_build(const auth *a, jwtd_key *const *keys, size_t n, size_t signer,
                           jwtd_alg signer_alg, const char *fingerprint, auth_keys **out)
{
    auth_keys *k = calloc(1, sizeof *k);

    *out = NULL;
    if (k == NULL)
        return AUTH_INTERNAL;
    atomic_init(&k->refs, 1);
    k->signer = jwtd_key_ref(keys[signer]);
    k->signer_alg = signer_alg;
    if (jwtd_keyset_new(keys, n, &k->set) != JWTD_OK ||
        jwtd_keyset_public_jwks(k->set, &k->jwks) != JWTD_OK ||
        (k->v_access = validation_new(a, k, AUTH_TYP_ACCESS, true)) == NULL ||
        (k->v_refresh = validation_new(a, k, AUTH_TYP_REFRESH, false)) == NULL ||
        (k->fingerprint = strdup(fingerprint)) == NULL) {
        auth_keys_release(k);
        return AUTH_INTERNAL;
    }
    *out = k;
    return AUTH_OK;
}

/* The newest row that signs now (row_signs) signs; all usable rows (the newest
 * JWTD_MAX_JWKS_KEYS), planned ones included, verify and are published. AUTH_NOT_FOUND
 * when no row signs. */
static auth_err keys_from_rows(const auth *a, const key_rows *rows, int64_t now, auth_keys **out)
{
    jwtd_key **keys = calloc(JWTD_MAX_JWKS_KEYS, sizeof *keys);
    size_t n = 0, signer = SIZE_MAX, usable = 0, skip = 0;
    jwtd_alg signer_alg = JWTD_ALG_UNKNOWN;
    char *fp = rows_fingerprint(a, rows, now);
    auth_err rc = AUTH_OK;

    *out = NULL;
    if (keys == NULL || fp == NULL) {
        free(keys);
        free(fp);
        return AUTH_INTERNAL;
    }
    for (size_t i = 0; i < rows->n; i++)
        usable += row_usable(a, &rows->v[i], now);
    if (usable > JWTD_MAX_JWKS_KEYS)
        skip = usable - JWTD_MAX_JWKS_KEYS; /* rows are oldest first */
    for (size_t i = 0; i < rows->n && rc == AUTH_OK; i++) {
        const key_row *r = &rows->v[i];
        if (!row_usable(a, r, now))
            continue;
        if (skip > 0) {
            skip--;
            continue;
        }
        if ((rc = key_from_row(r, &keys[n])) != AUTH_OK)
            break;
        if (row_signs(r, now)) {
            signer = n;
            signer_alg = jwtd_alg_from_name(r->alg, strlen(r->alg));
        }
        n++;
    }
    if (rc == AUTH_OK && signer == SIZE_MAX)
        rc = AUTH_NOT_FOUND;
    if (rc == AUTH_OK)
        rc = keys_build(a, keys, n, signer, signer_alg, fp, out);
    for (size_t i = 0; i < n; i++)
        jwtd_key_free(keys[i]);
    free(keys);
    free(fp);
    return rc;
}

/* Generates a key for alg into row (kid, alg, PEM), signing from `created`. */
static auth_err key_generate(jwtd_alg alg, int64_t created, store_signing_key *row)
{
    jwtd_key *key = NULL;
    char *pem = NULL;
    auth_err rc = AUTH_INTERNAL;
    const char *kid;

    memset(row, 0, sizeof *row);
    if (jwtd_key_generate(alg, &key) == JWTD_OK && jwtd_key_private_pem(key, &pem) == JWTD_OK &&
        (kid = jwtd_key_kid(key)) != NULL && strlen(kid) <= STORE_MAX_KID &&
        strlen(pem) < sizeof row->private_key) {
        snprintf(row->kid, sizeof row->kid, "%s", kid);
        snprintf(row->alg, sizeof row->alg, "%s", jwtd_alg_name(alg));
        snprintf(row->private_key, sizeof row->private_key, "%s", pem);
        row->created = created;
        rc = AUTH_OK;
    }
    if (pem != NULL)
        sodium_memzero(pem, strlen(pem));
    jwtd_free(pem);
    jwtd_key_free(key);
    return rc;
}

/* A new key for alg, signing from `created`, in one rotation of the store: inserted when
 * the newest stored key is still expect_newest (NULL: whichever), every other key retiring
 * at `created`. AUTH_CONFLICT: another process rotated first. */
static auth_err key_rotate_in(auth *a, jwtd_alg alg, int64_t created, const char *expect_newest,
                              char kid_out[AUTH_MAX_KID + 1])
{
    store_signing_key *row = malloc(sizeof *row);
    auth_err rc;

    if (row == NULL)
        return AUTH_INTERNAL;
    rc = key_generate(alg, created, row);
    if (rc == AUTH_OK)
        rc = auth_from_store(store_key_rotate(a->s, row, expect_newest, created));
    if (rc == AUTH_OK && kid_out != NULL)
        snprintf(kid_out, STORE_MAX_KID + 1, "%s", row->kid);
    sodium_memzero(row, sizeof *row);
    free(row);
    return rc;
}

/* Generates a key for alg and records it as current. */
static auth_err key_generate_store(auth *a, jwtd_alg alg, int64_t now)
{
    store_signing_key *row = malloc(sizeof *row);
    auth_err rc;

    if (row == NULL)
        return AUTH_INTERNAL;
    rc = key_generate(alg, now, row);
    if (rc == AUTH_OK)
        rc = auth_from_store(store_key_insert(a->s, row));
    sodium_memzero(row, sizeof *row);
    free(row);
    return rc;
}

/* The key automatic rotation counts from: the newest that signs or will sign (one retired
 * before its time, by a manual rotation, does not count); rows is not empty. */
static const key_row *rows_scheduled_newest(const key_rows *rows)
{
    for (size_t i = rows->n; i-- > 0;)
        if (rows->v[i].retired == 0 || rows->v[i].retired > rows->v[i].created)
            return &rows->v[i];
    return &rows->v[rows->n - 1];
}

/* Automatic rotation (cfg.key_rotation > 0): when the newest key has signed for
 * key_rotation - key_prepublish seconds, a new one is stored that is published now and
 * signs from max(newest + key_rotation, now + key_prepublish), when the newest retires; so
 * caching verifiers have key_prepublish seconds to fetch it before any token carries it.
 * Several instances may all see it due: the store's rotation lets exactly one insert (the
 * others find another newest key and do nothing). keys_mu held. */
static auth_err keys_rotate_due(auth *a, const key_rows *rows, int64_t now, bool *rotated)
{
    const key_row *newest;
    int64_t due, start;
    char kid[STORE_MAX_KID + 1] = "", detail[STORE_MAX_KID + 48];
    jwtd_alg alg;
    auth_err rc;

    *rotated = false;
    if (a->cfg.key_rotation <= 0 || rows->n == 0)
        return AUTH_OK;
    newest = rows_scheduled_newest(rows); /* the store's check is on the newest row */
    due = newest->created + a->cfg.key_rotation - a->cfg.key_prepublish;
    if (newest->created > now || now < due)
        return AUTH_OK; /* a planned key is already waiting, or not yet time */
    start = newest->created + a->cfg.key_rotation;
    if (start < now + a->cfg.key_prepublish)
        start = now + a->cfg.key_prepublish;
    alg = jwtd_alg_from_name(newest->alg, strlen(newest->alg));
    if (alg < JWTD_ALG_RS256 || alg >= JWTD_ALG_COUNT)
        alg = a->cfg.key_alg;
    rc = key_rotate_in(a, alg, start, rows->v[rows->n - 1].kid, kid);
    if (rc == AUTH_CONFLICT)
        return AUTH_OK; /* another instance rotated first: the reload picks its key up */
    if (rc != AUTH_OK)
        return rc;
    *rotated = true;
    snprintf(detail, sizeof detail, "{\"kid\":\"%s\",\"signs_from\":%" PRId64 "}", kid, start);
    (void)store_audit_add(a->s, "keys.rotate.auto", 0, detail);
    return AUTH_OK;
}

/* Re-reads the rows and publishes a new snapshot when they differ (keys_mu held); with
 * rotate, first stores a new key when automatic rotation is due. */
static auth_err keys_reload(auth *a, bool force, bool rotate)
{
    int64_t now = auth_now(a);
    auth_keys *k = NULL;
    key_rows rows;
    auth_err rc;
    bool rotated = false;
    char *fp;

    if ((rc = rows_load(a, &rows)) != AUTH_OK)
        return rc;
    if (rotate && (rc = keys_rotate_due(a, &rows, now, &rotated)) == AUTH_OK && rotated) {
        rows_free(&rows);
        if ((rc = rows_load(a, &rows)) != AUTH_OK)
            return rc;
    }
    if (rc != AUTH_OK) {
        rows_free(&rows);
        return rc;
    }
    atomic_store(&a->keys_next_event, rows_next_event(a, &rows, now));
    if (a->cfg.key_rotation > 0 && rows.n > 0) {
        /* The next automatic rotation is an event too. */
        int64_t due =
            rows_scheduled_newest(&rows)->created + a->cfg.key_rotation - a->cfg.key_prepublish;
        if (due < atomic_load(&a->keys_next_event))
            atomic_store(&a->keys_next_event, due);
    }
    fp = rows_fingerprint(a, &rows, now);
    if (fp == NULL) {
        rc = AUTH_INTERNAL;
    } else if (force || a->keys == NULL || strcmp(fp, a->keys->fingerprint) != 0) {
        /* a->keys changes only under keys_mu, which we hold. AUTH_NOT_FOUND (every key
         * retired by hand) keeps the snapshot we have. */
        rc = keys_from_rows(a, &rows, now, &k);
        if (rc == AUTH_OK)
            keys_publish(a, k);
    }
    free(fp);
    rows_free(&rows);
    return rc;
}

static auth_err keys_init_secret(auth *a)
{
    auth_keys *k;
    auth_err rc = keys_build(a, &a->secret_key, 1, 0, a->secret_alg, "secret", &k);

    if (rc == AUTH_OK)
        keys_publish(a, k);
    return rc;
}

auth_err auth_keys_init(auth *a, const char **why)
{
    auth_err rc;

    if (a->hs256) {
        if ((rc = keys_init_secret(a)) != AUTH_OK)
            *why = "cannot set up the HMAC key of JWT_SECRET";
        return rc;
    }
    pthread_mutex_lock(&a->keys_mu);
    rc = keys_reload(a, true, false);
    if (rc == AUTH_NOT_FOUND) {
        /* First start (or every key retired): a new current key, persisted. */
        rc = key_generate_store(a, a->cfg.key_alg, auth_now(a));
        if (rc == AUTH_OK)
            rc = keys_reload(a, true, false);
        if (rc != AUTH_OK)
            *why = "cannot generate and store a signing key";
    } else if (rc != AUTH_OK) {
        *why = "cannot load the signing keys from the store";
    }
    pthread_mutex_unlock(&a->keys_mu);
    return rc;
}

auth_err auth_keys_sync(auth *a)
{
    auth_err rc;

    if (a->hs256)
        return AUTH_OK;
    pthread_mutex_lock(&a->keys_mu);
    rc = keys_reload(a, false, true);
    pthread_mutex_unlock(&a->keys_mu);
    return rc == AUTH_NOT_FOUND ? AUTH_OK : rc;
}

auth_err auth_keys_rotate(auth *a, jwtd_alg alg, char kid_out[AUTH_MAX_KID + 1])
{
    char kid[STORE_MAX_KID + 1] = "", detail[STORE_MAX_KID + 16];
    int64_t now;
    auth_err rc;

    if (!auth_serving(a))
        return a == NULL ? AUTH_INVALID_INPUT : AUTH_INTERNAL;
    if (alg == JWTD_ALG_UNKNOWN)
        alg = a->cfg.key_alg;
    /* With JWT_SECRET there is nothing to rotate: the secret is the configuration. */
    if (a->hs256 || alg < JWTD_ALG_RS256 || alg >= JWTD_ALG_COUNT)
        return AUTH_INVALID_INPUT;
    pthread_mutex_lock(&a->keys_mu);
    now = auth_now(a);
    /* The new key is current as the old ones retire, in one transaction: something always
     * signs, and two rotations at once leave one current key. */
    rc = key_rotate_in(a, alg, now, NULL, kid);
    if (rc == AUTH_OK)
        rc = keys_reload(a, true, false);
    pthread_mutex_unlock(&a->keys_mu);
    if (rc != AUTH_OK)
        return rc;
    snprintf(detail, sizeof detail, "{\"kid\":\"%s\"}", kid); /* thumbprint: base64url only */
    (void)store_audit_add(a->s, "keys.rotate", 0, detail);
    if (kid_out != NULL)
        snprintf(kid_out, STORE_MAX_KID + 1, "%s", kid);
    return AUTH_OK;
}

auth_err auth_jwks_copy(auth *a, char **json_out)
{
    auth_keys *k;

    if (a != NULL && a->lookup)
        return AUTH_INTERNAL;
    if (a == NULL || json_out == NULL)
        return AUTH_INVALID_INPUT;
    k = auth_keys_acquire(a, NULL);
    *json_out = strdup(k->jwks);
    auth_keys_release(k);
    return *json_out != NULL ? AUTH_OK : AUTH_INTERNAL;
}

typedef struct key_relay {
    auth_key_cb cb;
    void *ctx;
} key_relay;

/* One stored key as a listing shows it: the private key stays behind. */
static bool relay_key(void *ctx, const store_signing_key *k)
{
    key_relay *r = ctx;
    auth_key_info info;

    memset(&info, 0, sizeof info);
    snprintf(info.kid, sizeof info.kid, "%s", k->kid);
    snprintf(info.alg, sizeof info.alg, "%s", k->alg);
    info.created = k->created;
    info.retired = k->retired;
    return r->cb(r->ctx, &info);
}

auth_err auth_keys_list(auth *a, auth_key_cb cb, void *ctx)
{
    if (a == NULL || cb == NULL)
        return AUTH_INVALID_INPUT;
    key_relay r = {cb, ctx};
    return auth_from_store(store_key_list(a->s, relay_key, &r));
}
