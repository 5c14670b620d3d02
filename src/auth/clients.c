/* Machine clients (OAuth 2.0 client credentials): registration with a generated or given
 * secret, listing, removal and secret rotation, authentication in constant time, and their
 * access tokens. What leaves the service is an auth_client, which has no field for the
 * secret or its hash.
 *
 * Secrets are kept as a keyed BLAKE2b hash (crypto_generichash) under a key stored once in
 * the database (setting "client_secret_key"), not as Argon2id. A slow hash exists to make
 * guessing a low-entropy password expensive; a generated secret has 256 random bits, which
 * no amount of guessing reaches, so a slow hash would only cost CPU on every token request
 * (and hand attackers a cheap way to load the server). The key keeps a leaked hash from
 * being checked against a list of candidate secrets without the key as well. A secret an
 * operator chooses must be at least AUTH_MIN_CLIENT_SECRET bytes; it is as strong as it is
 * random, which the documentation says: generated secrets are the recommended kind. */
#include <stdio.h>
#include <string.h>

#include "auth_internal.h"

#define CLIENT_KEY_SETTING "client_secret_key"
#define SECRET_RANDOM_BYTES 32 /* 256 bits */
#define SECRET_HASH_BYTES 32   /* its hex fills STORE_MAX_CLIENT_HASH */

_Static_assert(AUTH_MAX_CLIENT == STORE_MAX_CLIENT, "client name limit");
_Static_assert(2 * SECRET_HASH_BYTES == STORE_MAX_CLIENT_HASH, "hash text fits the store");
_Static_assert(AUTH_CLIENT_SECRET_CHARS ==
                   sodium_base64_ENCODED_LEN(SECRET_RANDOM_BYTES,
                                             sodium_base64_VARIANT_URLSAFE_NO_PADDING) -
                       1,
               "a generated secret's length");

bool auth_client_name_valid(const char *name) { return auth_name_valid(name, AUTH_MAX_CLIENT); }

void auth_access_clear(auth_access *t)
{
    if (t == NULL)
        return;
    if (t->access_token != NULL) {
        sodium_memzero(t->access_token, strlen(t->access_token));
        free(t->access_token);
    }
    memset(t, 0, sizeof *t);
}

int64_t auth_client_revocation_key(const char *name, size_t len)
{
    static const char domain[] = "jwtd client revocation key";
    unsigned char h[8];
    crypto_generichash_state st;
    uint64_t v = 0;

    /* Stable across processes and instances (no per-process key): every instance of one
     * database must find the same key for the same name. Two names sharing a key would only
     * revoke each other's tokens, never admit one. */
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)domain, sizeof domain);
    crypto_generichash_update(&st, (const unsigned char *)name, len);
    crypto_generichash_final(&st, h, sizeof h);
    for (size_t i = 0; i < sizeof h; i++)
        v = (v << 8) | h[i];
    return -(int64_t)(v & (uint64_t)INT64_MAX) - 1; /* in [INT64_MIN, -1]: never a user id */
}

/* The database's key of the secrets' hashes into key (made and stored on first use). */
static auth_err client_key(auth *a, unsigned char key[crypto_generichash_KEYBYTES])
{
    auth_err rc = AUTH_OK;

    pthread_mutex_lock(&a->client_key_mu);
    if (!a->client_key_set) {
        rc = auth_db_key(a, CLIENT_KEY_SETTING, a->client_key, sizeof a->client_key);
        a->client_key_set = rc == AUTH_OK;
    }
    if (rc == AUTH_OK)
        memcpy(key, a->client_key, sizeof a->client_key);
    pthread_mutex_unlock(&a->client_key_mu);
    return rc;
}

/* The keyed hash of (name, secret) as bytes. The name is hashed in, so a hash copied to
 * another client's row does not open it. */
static auth_err secret_hash_bin(auth *a, const char *name, const char *secret, size_t len,
                                unsigned char out[SECRET_HASH_BYTES])
{
    unsigned char key[crypto_generichash_KEYBYTES];
    crypto_generichash_state st;
    auth_err rc = client_key(a, key);

    if (rc != AUTH_OK)
        return rc;
    crypto_generichash_init(&st, key, sizeof key, SECRET_HASH_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)name, strlen(name) + 1);
    crypto_generichash_update(&st, (const unsigned char *)secret, len);
    crypto_generichash_final(&st, out, SECRET_HASH_BYTES);
    sodium_memzero(key, sizeof key);
    sodium_memzero(&st, sizeof st);
    return AUTH_OK;
}

/* The same hash as hex, as the store keeps it. */
static auth_err secret_hash_hex(auth *a, const char *name, const char *secret, size_t len,
                                char out[STORE_MAX_CLIENT_HASH + 1])
{
    unsigned char h[SECRET_HASH_BYTES];
    auth_err rc = secret_hash_bin(a, name, secret, len, h);

    if (rc == AUTH_OK)
        sodium_bin2hex(out, STORE_MAX_CLIENT_HASH + 1, h, sizeof h);
    return rc;
}

/* A new secret: 256 random bits as base64url without padding. */
static void secret_generate(char out[AUTH_CLIENT_SECRET_CHARS + 1])
{
    unsigned char raw[SECRET_RANDOM_BYTES];

    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, AUTH_CLIENT_SECRET_CHARS + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

static void client_of(const store_client *c, auth_client *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof *out);
    memcpy(out->name, c->name, sizeof out->name);
    memcpy(out->roles, c->roles, sizeof out->roles);
    out->nroles = c->nroles;
    out->created = c->created;
    out->updated = c->updated;
}

/* An audit event about client name (its syntax needs no JSON escaping). */
static void client_audit(auth *a, const char *kind, const char *name)
{
    char detail[STORE_MAX_CLIENT + 16];
    snprintf(detail, sizeof detail, "{\"client\":\"%s\"}", name);
    (void)store_audit_add(a->s, kind, 0, detail);
}

auth_err auth_client_add(auth *a, const char *name, const char *const *roles, size_t nroles,
                         const char *secret, size_t secret_len,
                         char generated[AUTH_CLIENT_SECRET_CHARS + 1], auth_client *out)
{
    char made[AUTH_CLIENT_SECRET_CHARS + 1];
    store_client c;
    auth_err rc;

    if (!auth_serving(a))
        return a == NULL ? AUTH_INVALID_INPUT : AUTH_INTERNAL;
    if (!auth_client_name_valid(name) || !auth_roles_valid(roles, nroles) ||
        (secret == NULL && generated == NULL) ||
        (secret != NULL &&
         (secret_len < AUTH_MIN_CLIENT_SECRET || secret_len > AUTH_MAX_CLIENT_SECRET)))
        return AUTH_INVALID_INPUT;
    if (secret == NULL) {
        secret_generate(made);
        secret = made;
        secret_len = AUTH_CLIENT_SECRET_CHARS;
    }
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "%s", name);
    auth_roles_copy(c.roles, roles, nroles);
    c.nroles = nroles;
    rc = secret_hash_hex(a, c.name, secret, secret_len, c.secret_hash);
    if (rc == AUTH_OK)
        rc = auth_from_store(store_client_create(a->s, &c));
    if (rc == AUTH_OK && secret == made)
        memcpy(generated, made, sizeof made);
    sodium_memzero(made, sizeof made);
    sodium_memzero(c.secret_hash, sizeof c.secret_hash);
    if (rc != AUTH_OK)
        return rc;
    client_audit(a, "client.added", c.name);
    client_of(&c, out);
    return AUTH_OK;
}

auth_err auth_client_get(auth *a, const char *name, auth_client *out)
{
    store_client c;
    auth_err rc;

    if (a == NULL || out == NULL)
        return AUTH_INVALID_INPUT;
    rc = auth_from_store(store_client_get(a->s, name, &c));
    sodium_memzero(c.secret_hash, sizeof c.secret_hash);
    if (rc == AUTH_OK)
        client_of(&c, out);
    return rc;
}

struct relay {
    auth_client_cb cb;
    void *ctx;
};

static bool relay_client(void *ctx, const store_client *row)
{
    struct relay *r = ctx;
    auth_client c;
    client_of(row, &c);
    return r->cb(r->ctx, &c);
}

auth_err auth_client_list(auth *a, auth_client_cb cb, void *ctx)
{
    struct relay r = {cb, ctx};

    if (a == NULL || cb == NULL)
        return AUTH_INVALID_INPUT;
    return auth_from_store(store_client_list(a->s, relay_client, &r));
}

auth_err auth_client_remove(auth *a, const char *name)
{
    auth_err rc;

    if (!auth_serving(a))
        return a == NULL ? AUTH_INVALID_INPUT : AUTH_INTERNAL;
    if (!auth_client_name_valid(name))
        return AUTH_NOT_FOUND;
    if ((rc = auth_from_store(store_client_delete(a->s, name))) != AUTH_OK)
        return rc;
    client_audit(a, "client.removed", name);
    return auth_revoke_user_access(a, auth_client_revocation_key(name, strlen(name)),
                                   AUTH_REV_CLIENT);
}

auth_err auth_client_rotate_secret(auth *a, const char *name,
                                   char secret[AUTH_CLIENT_SECRET_CHARS + 1])
{
    char made[AUTH_CLIENT_SECRET_CHARS + 1], hash[STORE_MAX_CLIENT_HASH + 1];
    auth_err rc;

    if (!auth_serving(a))
        return a == NULL ? AUTH_INVALID_INPUT : AUTH_INTERNAL;
    if (secret == NULL)
        return AUTH_INVALID_INPUT;
    if (!auth_client_name_valid(name))
        return AUTH_NOT_FOUND;
    secret_generate(made);
    rc = secret_hash_hex(a, name, made, AUTH_CLIENT_SECRET_CHARS, hash);
    if (rc == AUTH_OK)
        rc = auth_from_store(store_client_set_secret(a->s, name, hash));
    sodium_memzero(hash, sizeof hash);
    if (rc == AUTH_OK) {
        client_audit(a, "client.secret_rotated", name);
        rc = auth_revoke_user_access(a, auth_client_revocation_key(name, strlen(name)),
                                     AUTH_REV_CLIENT);
    }
    if (rc == AUTH_OK)
        memcpy(secret, made, sizeof made);
    sodium_memzero(made, sizeof made);
    return rc;
}

auth_err auth_client_authenticate(auth *a, const char *id, size_t id_len, const char *secret,
                                  size_t secret_len, auth_client *out)
{
    static const char dummy_name[] = "-";
    unsigned char want[SECRET_HASH_BYTES], got[SECRET_HASH_BYTES];
    char name[AUTH_MAX_CLIENT + 1];
    store_client c;
    size_t bin_len = 0;
    store_err se = STORE_NOT_FOUND;
    bool known;
    auth_err rc;

    if (!auth_serving(a))
        return a == NULL ? AUTH_INVALID_INPUT : AUTH_INTERNAL;
    if (id == NULL || secret == NULL || id_len == 0 || id_len > AUTH_MAX_CLIENT ||
        memchr(id, '\0', id_len) != NULL || secret_len > AUTH_MAX_CLIENT_SECRET)
        return AUTH_BAD_CREDENTIALS;
    memcpy(name, id, id_len);
    name[id_len] = '\0';
    memset(&c, 0, sizeof c);
    if (auth_client_name_valid(name))
        se = store_client_get(a->s, name, &c);
    if (se != STORE_OK && se != STORE_NOT_FOUND)
        return auth_from_store(se);
    known = se == STORE_OK &&
            sodium_hex2bin(want, sizeof want, c.secret_hash, strlen(c.secret_hash), NULL, &bin_len,
                           NULL) == 0 &&
            bin_len == sizeof want;
    if (!known)
        randombytes_buf(want, sizeof want); /* the same work for an unknown client */
    rc = secret_hash_bin(a, known ? c.name : dummy_name, secret, secret_len, got);
    sodium_memzero(c.secret_hash, sizeof c.secret_hash);
    if (rc != AUTH_OK)
        return rc;
    bool match = sodium_memcmp(want, got, sizeof want) == 0; /* constant time */
    sodium_memzero(got, sizeof got);
    if (!known || !match)
        return AUTH_BAD_CREDENTIALS;
    client_of(&c, out);
    return AUTH_OK;
}

auth_err auth_client_issue(auth *a, const auth_client *c, auth_access *out)
{
    store_client row;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (!auth_serving(a))
        return a == NULL ? AUTH_INVALID_INPUT : AUTH_INTERNAL;
    if (c == NULL || out == NULL || !auth_client_name_valid(c->name) || c->nroles > AUTH_MAX_ROLES)
        return AUTH_INVALID_INPUT;
    memset(&row, 0, sizeof row);
    memcpy(row.name, c->name, sizeof row.name);
    memcpy(row.roles, c->roles, sizeof row.roles);
    row.nroles = c->nroles;
    return auth_sign_client_access(a, &row, auth_client_revocation_key(c->name, strlen(c->name)),
                                   out);
}

/* ---- Introspection ---- */

/* An access token's answer: the principal, then the database (its user enabled, its client
 * still there). */
static auth_err access_introspect(auth *a, const auth_principal *p, auth_introspection *out)
{
    store_user u;
    store_client c;
    store_err se;

    if (p->client) {
        se = store_client_get(a->s, p->client_id, &c);
        sodium_memzero(c.secret_hash, sizeof c.secret_hash);
    } else {
        se = store_user_get_by_id(a->s, p->user_id, &u);
        sodium_memzero(u.password_hash, sizeof u.password_hash);
        if (se == STORE_OK && u.disabled)
            se = STORE_NOT_FOUND;
    }
    if (se == STORE_NOT_FOUND)
        return AUTH_OK;
    if (se != STORE_OK)
        return auth_from_store(se);
    out->active = true;
    out->client = p->client;
    if (p->client) {
        snprintf(out->sub, sizeof out->sub, "%s%s", AUTH_CLIENT_SUB_PREFIX, p->client_id);
        memcpy(out->client_id, p->client_id, sizeof out->client_id);
    } else {
        snprintf(out->sub, sizeof out->sub, "%lld", (long long)p->user_id);
        memcpy(out->username, p->username, sizeof out->username);
    }
    memcpy(out->roles, p->roles, sizeof out->roles);
    out->nroles = p->nroles;
    out->iat = p->iat;
    out->exp = p->exp;
    return AUTH_OK;
}

auth_err auth_introspect(auth *a, const char *token, size_t len, bool prefer_refresh,
                         auth_introspection *out)
{
    auth_principal p;
    auth_err rc;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (!auth_serving(a))
        return a == NULL ? AUTH_INVALID_INPUT : AUTH_INTERNAL;
    if (out == NULL || token == NULL)
        return AUTH_INVALID_INPUT;
    /* The hint only orders the two tries (RFC 7662 section 2.1). */
    for (int i = 0; i < 2; i++) {
        if ((i == 0) == prefer_refresh) {
            rc = auth_refresh_introspect(a, token, len, out);
        } else {
            rc = auth_verify_access(a, token, len, &p);
            if (rc == AUTH_OK)
                rc = access_introspect(a, &p, out);
            else if (rc == AUTH_INVALID_TOKEN)
                rc = AUTH_OK;
        }
        if (rc != AUTH_OK || out->active)
            return rc;
    }
    return AUTH_OK;
}
