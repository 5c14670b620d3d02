/* The backend-independent part of src/store: error names, store_open (which picks the
 * backend from the URL: "sqlite:PATH" or a plain PATH -> SQLite; "postgres://" or
 * "postgresql://" -> PostgreSQL), and the store_* calls, which check
 * their arguments here, once for every backend, before the backend's table sees them. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "store/store_backend.h"

static const char *const err_names[] = {
    [STORE_OK] = "Ok",
    [STORE_NOT_FOUND] = "NotFound",
    [STORE_CONFLICT] = "Conflict",
    [STORE_UNAVAILABLE] = "Unavailable",
    [STORE_ERROR] = "Error",
    [STORE_UNSUPPORTED] = "Unsupported",
};

const char *store_err_name(store_err err)
{
    if ((unsigned)err >= sizeof err_names / sizeof err_names[0])
        return "UnknownError";
    return err_names[err];
}

void store_log_emit(const store_log *log, store_log_level level, const char *op, const char *msg)
{
    if (log != NULL && log->fn != NULL)
        log->fn(log->ctx, level, op, msg);
}

bool store_str_fits(const char *s, size_t max, bool may_be_empty)
{
    if (s == NULL)
        return false;
    size_t n = strnlen(s, max + 1);
    return n <= max && (may_be_empty || n > 0);
}

static store_err bad_arg(const store *s, const char *op, const char *field);

/* ---------------------------------------------------------------------------------------
 * Opening: the URL picks the backend
 * ------------------------------------------------------------------------------------- */

/* True when url starts with prefix. */
static bool has_prefix(const char *url, const char *prefix)
{
    return strncmp(url, prefix, strlen(prefix)) == 0;
}

/* True for "scheme://...", the shape of every URL that is not a SQLite path. */
static bool looks_like_url(const char *url)
{
    const char *sep = strstr(url, "://");
    if (sep == NULL || sep == url)
        return false;
    for (const char *p = url; p < sep; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '+' || *p == '-' || *p == '.'))
            return false;
    }
    return true;
}

/* The SQLite path of url ("sqlite:PATH" or PATH), or NULL when url names another backend. */
static const char *sqlite_path(const char *url)
{
    if (has_prefix(url, "sqlite:"))
        return url + strlen("sqlite:");
    return looks_like_url(url) ? NULL : url;
}

store_err store_open(const char *url, const store_log *log, store **out)
{
    return store_open_with(url, log, NULL, out);
}

store_err store_open_with(const char *url, const store_log *log, const store_options *opts,
                          store **out)
{
    if (out == NULL)
        return STORE_ERROR;
    *out = NULL;
    if (url == NULL || url[0] == '\0') {
        store_log_emit(log, STORE_LOG_ERROR, "open", "empty database location");
        return STORE_ERROR;
    }
    if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://"))
        return store_postgres_open(url, log, opts, out);
    const char *path = sqlite_path(url);
    if (path == NULL) {
        store_log_emit(log, STORE_LOG_ERROR, "open",
                       "unknown database URL scheme (use sqlite:PATH or a path)");
        return STORE_ERROR;
    }
    return store_sqlite_open(path, log, out);
}

bool store_local_file(const char *url, char *path, size_t len)
{
    const char *p = url != NULL && url[0] != '\0' ? sqlite_path(url) : NULL;
    if (p == NULL || p[0] == '\0' || strcmp(p, ":memory:") == 0 || has_prefix(p, "file:"))
        return false;
    return (size_t)snprintf(path, len, "%s", p) < len;
}

void store_location_safe(const char *url, char *out, size_t len)
{
    if (len == 0)
        return;
    const char *path = url != NULL && url[0] != '\0' ? sqlite_path(url) : NULL;
    if (path != NULL)
        snprintf(out, len, "%s", url);
    else if (url != NULL && looks_like_url(url))
        snprintf(out, len, "%.*s://...", (int)(strstr(url, "://") - url), url);
    else
        snprintf(out, len, "(none)");
}

void store_close(store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

const char *store_backend_name(const store *s) { return s != NULL ? s->ops->name : "none"; }

bool store_shared(const store *s) { return s != NULL && s->ops->shared; }

store_err store_ping(store *s)
{
    if (s == NULL)
        return bad_arg(s, "ping", "store");
    return s->ops->ping(s);
}

store_err store_watch(store *s, int timeout_ms, bool *changed)
{
    if (s == NULL || changed == NULL || timeout_ms < 0 || timeout_ms > STORE_MAX_WATCH_MS)
        return bad_arg(s, "watch", "changed or timeout");
    *changed = false;
    return s->ops->watch(s, timeout_ms, changed);
}

/* ---------------------------------------------------------------------------------------
 * The rules every backend shares
 * ------------------------------------------------------------------------------------- */

/* Refuses a bad argument: reports which one and returns STORE_ERROR. */
static store_err bad_arg(const store *s, const char *op, const char *field)
{
    char msg[96];
    snprintf(msg, sizeof msg, "%s is missing, empty or too long", field);
    store_log_emit(s != NULL ? &s->log : NULL, STORE_LOG_ERROR, op, msg);
    return STORE_ERROR;
}

bool store_role_valid(const char *role, size_t len)
{
    if (role == NULL || len == 0 || len > STORE_MAX_ROLE)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = role[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

void store_roles_join(const char roles[][STORE_MAX_ROLE + 1], size_t nroles, char *text)
{
    size_t at = 0;

    text[0] = '\0';
    for (size_t i = 0; i < nroles && i < STORE_MAX_ROLES; i++) {
        size_t len = strnlen(roles[i], STORE_MAX_ROLE + 1);
        if (i > 0)
            text[at++] = ',';
        memcpy(text + at, roles[i], len);
        at += len;
    }
    text[at] = '\0';
}

bool store_roles_split(const char *text, char roles[][STORE_MAX_ROLE + 1], size_t *nroles)
{
    *nroles = 0;
    if (text[0] == '\0')
        return true;
    for (const char *p = text;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (*nroles == STORE_MAX_ROLES || !store_role_valid(p, len))
            return false;
        memcpy(roles[*nroles], p, len);
        roles[*nroles][len] = '\0';
        (*nroles)++;
        if (comma == NULL)
            return true;
        p = comma + 1;
    }
}

bool store_lockout_forgotten(int64_t last, int64_t until, int64_t now, int64_t forget)
{
    return last <= now - forget && until <= now;
}

static bool roles_valid(const char roles[][STORE_MAX_ROLE + 1], size_t nroles)
{
    if (nroles > STORE_MAX_ROLES || (nroles > 0 && roles == NULL))
        return false;
    for (size_t i = 0; i < nroles; i++)
        if (!store_role_valid(roles[i], strnlen(roles[i], STORE_MAX_ROLE + 1)))
            return false;
    return true;
}

static bool refresh_valid(const store_refresh *r)
{
    return r != NULL && store_str_fits(r->jti, STORE_MAX_JTI, false) &&
           store_str_fits(r->family, STORE_MAX_JTI, false) &&
           store_str_fits(r->replaced_by, STORE_MAX_JTI, true);
}

/* ---- Users ---- */

store_err store_user_create(store *s, store_user *u)
{
    const char *op = "user_create";
    if (s == NULL || u == NULL)
        return bad_arg(s, op, "user");
    if (!store_str_fits(u->username, STORE_MAX_USERNAME, false))
        return bad_arg(s, op, "username");
    if (!store_str_fits(u->email, STORE_MAX_EMAIL, true))
        return bad_arg(s, op, "email");
    if (!store_str_fits(u->name, STORE_MAX_NAME, true))
        return bad_arg(s, op, "name");
    if (!store_str_fits(u->password_hash, STORE_MAX_HASH, true))
        return bad_arg(s, op, "password_hash");
    if (!roles_valid((const char(*)[STORE_MAX_ROLE + 1]) u->roles, u->nroles))
        return bad_arg(s, op, "roles");
    return s->ops->user_create(s, u);
}

store_err store_user_get_by_id(store *s, int64_t id, store_user *out)
{
    if (s == NULL || out == NULL)
        return bad_arg(s, "user_get_by_id", "out");
    return s->ops->user_get_by_id(s, id, out);
}

/* A lookup by a text key (username or email): a key no row can have is not found. */
static store_err user_get_by_text(store *s, const char *op, const char *key, size_t max,
                                  store_user *out,
                                  store_err (*fn)(store *, const char *, store_user *))
{
    if (s == NULL || key == NULL || out == NULL)
        return bad_arg(s, op, "key");
    if (!store_str_fits(key, max, false))
        return STORE_NOT_FOUND;
    return fn(s, key, out);
}

store_err store_user_get_by_username(store *s, const char *username, store_user *out)
{
    return user_get_by_text(s, "user_get_by_username", username, STORE_MAX_USERNAME, out,
                            s != NULL ? s->ops->user_get_by_username : NULL);
}

store_err store_user_get_by_email(store *s, const char *email, store_user *out)
{
    return user_get_by_text(s, "user_get_by_email", email, STORE_MAX_EMAIL, out,
                            s != NULL ? s->ops->user_get_by_email : NULL);
}

store_err store_user_list(store *s, int64_t after_id, size_t limit, store_user_cb cb, void *ctx,
                          size_t *total)
{
    if (s == NULL || cb == NULL)
        return bad_arg(s, "user_list", "callback");
    return s->ops->user_list(s, after_id, limit, cb, ctx, total);
}

store_err store_user_set_password_hash(store *s, int64_t id, const char *hash)
{
    if (s == NULL || !store_str_fits(hash, STORE_MAX_HASH, true))
        return bad_arg(s, "user_set_password_hash", "hash");
    return s->ops->user_set_password_hash(s, id, hash);
}

store_err store_user_set_roles(store *s, int64_t id, const char roles[][STORE_MAX_ROLE + 1],
                               size_t nroles)
{
    if (s == NULL || !roles_valid(roles, nroles))
        return bad_arg(s, "user_set_roles", "roles");
    return s->ops->user_set_roles(s, id, roles, nroles);
}

store_err store_user_set_disabled(store *s, int64_t id, bool disabled)
{
    if (s == NULL)
        return bad_arg(s, "user_set_disabled", "store");
    return s->ops->user_set_disabled(s, id, disabled);
}

store_err store_user_count(store *s, size_t *count)
{
    if (s == NULL || count == NULL)
        return bad_arg(s, "user_count", "count");
    return s->ops->user_count(s, count);
}

/* ---- Machine clients ---- */

store_err store_client_create(store *s, store_client *c)
{
    const char *op = "client_create";
    if (s == NULL || c == NULL)
        return bad_arg(s, op, "client");
    if (!store_str_fits(c->name, STORE_MAX_CLIENT, false))
        return bad_arg(s, op, "name");
    if (!store_str_fits(c->secret_hash, STORE_MAX_CLIENT_HASH, false))
        return bad_arg(s, op, "secret_hash");
    if (!roles_valid((const char(*)[STORE_MAX_ROLE + 1]) c->roles, c->nroles))
        return bad_arg(s, op, "roles");
    return s->ops->client_create(s, c);
}

store_err store_client_get(store *s, const char *name, store_client *out)
{
    if (s == NULL || out == NULL)
        return bad_arg(s, "client_get", "out");
    if (!store_str_fits(name, STORE_MAX_CLIENT, false))
        return STORE_NOT_FOUND;
    return s->ops->client_get(s, name, out);
}

store_err store_client_list(store *s, store_client_cb cb, void *ctx)
{
    if (s == NULL || cb == NULL)
        return bad_arg(s, "client_list", "callback");
    return s->ops->client_list(s, cb, ctx);
}

store_err store_client_set_secret(store *s, const char *name, const char *secret_hash)
{
    if (s == NULL || !store_str_fits(secret_hash, STORE_MAX_CLIENT_HASH, false))
        return bad_arg(s, "client_set_secret", "secret_hash");
    if (!store_str_fits(name, STORE_MAX_CLIENT, false))
        return STORE_NOT_FOUND;
    return s->ops->client_set_secret(s, name, secret_hash);
}

store_err store_client_delete(store *s, const char *name)
{
    if (s == NULL)
        return bad_arg(s, "client_delete", "store");
    if (!store_str_fits(name, STORE_MAX_CLIENT, false))
        return STORE_NOT_FOUND;
    return s->ops->client_delete(s, name);
}

/* ---- Refresh tokens ---- */

store_err store_refresh_insert(store *s, const store_refresh *r)
{
    if (s == NULL || !refresh_valid(r))
        return bad_arg(s, "refresh_insert", "jti, family or replaced_by");
    return s->ops->refresh_insert(s, r);
}

store_err store_refresh_get(store *s, const char *jti, store_refresh *out)
{
    if (s == NULL || jti == NULL || out == NULL)
        return bad_arg(s, "refresh_get", "jti");
    if (!store_str_fits(jti, STORE_MAX_JTI, false))
        return STORE_NOT_FOUND;
    return s->ops->refresh_get(s, jti, out);
}

store_err store_refresh_rotate(store *s, const char *old_jti, int64_t now,
                               const store_refresh *next, store_refresh *current)
{
    /* spent = 0 means unspent: a rotation at time 0 would leave the token spendable. */
    if (s == NULL || old_jti == NULL || !refresh_valid(next) || now <= 0)
        return bad_arg(s, "refresh_rotate", "old jti, next token or time");
    if (!store_str_fits(old_jti, STORE_MAX_JTI, false))
        return STORE_NOT_FOUND;
    return s->ops->refresh_rotate(s, old_jti, now, next, current);
}

store_err store_family_revoke(store *s, const char *family)
{
    if (s == NULL || family == NULL)
        return bad_arg(s, "family_revoke", "family");
    if (!store_str_fits(family, STORE_MAX_JTI, false))
        return STORE_NOT_FOUND;
    return s->ops->family_revoke(s, family);
}

store_err store_user_families_revoke(store *s, int64_t user_id)
{
    if (s == NULL)
        return bad_arg(s, "user_families_revoke", "store");
    return s->ops->user_families_revoke(s, user_id);
}

/* ---- Access-token revocations ---- */

store_err store_revocation_add(store *s, const store_revocation *r)
{
    if (s == NULL || r == NULL || !store_str_fits(r->jti, STORE_MAX_JTI, true) ||
        (r->jti[0] == '\0' && r->user_id == 0))
        return bad_arg(s, "revocation_add", "jti or user_id");
    return s->ops->revocation_add(s, r);
}

store_err store_revocation_list(store *s, int64_t now, store_revocation_cb cb, void *ctx)
{
    if (s == NULL || cb == NULL)
        return bad_arg(s, "revocation_list", "callback");
    return s->ops->revocation_list(s, now, cb, ctx);
}

/* ---- Signing keys ---- */

store_err store_key_insert(store *s, const store_signing_key *k)
{
    if (s == NULL || k == NULL || !store_str_fits(k->kid, STORE_MAX_KID, false) ||
        !store_str_fits(k->alg, STORE_MAX_ALG, false) ||
        !store_str_fits(k->private_key, STORE_MAX_KEY_BYTES - 1, false))
        return bad_arg(s, "key_insert", "kid, alg or private_key");
    return s->ops->key_insert(s, k);
}

store_err store_key_list(store *s, store_key_cb cb, void *ctx)
{
    if (s == NULL || cb == NULL)
        return bad_arg(s, "key_list", "callback");
    return s->ops->key_list(s, cb, ctx);
}

store_err store_key_retire(store *s, const char *kid, int64_t when)
{
    if (s == NULL || kid == NULL || when <= 0) /* retired = 0 means not retired */
        return bad_arg(s, "key_retire", "kid or time");
    if (!store_str_fits(kid, STORE_MAX_KID, false))
        return STORE_NOT_FOUND;
    return s->ops->key_retire(s, kid, when);
}

store_err store_key_rotate(store *s, const store_signing_key *next, const char *expect_newest,
                           int64_t retire_at)
{
    if (s == NULL || next == NULL || !store_str_fits(next->kid, STORE_MAX_KID, false) ||
        !store_str_fits(next->alg, STORE_MAX_ALG, false) ||
        !store_str_fits(next->private_key, STORE_MAX_KEY_BYTES - 1, false) || retire_at <= 0 ||
        (expect_newest != NULL && !store_str_fits(expect_newest, STORE_MAX_KID, false)))
        return bad_arg(s, "key_rotate", "kid, alg, private_key, expected kid or time");
    return s->ops->key_rotate(s, next, expect_newest, retire_at);
}

/* ---- Settings ---- */

store_err store_setting_get_or_init(store *s, const char *name, const char *value_if_new, char *out,
                                    size_t len)
{
    if (s == NULL || out == NULL || len == 0 || !store_str_fits(name, STORE_MAX_SETTING, false) ||
        !store_str_fits(value_if_new, STORE_MAX_SETTING, false))
        return bad_arg(s, "setting_get_or_init", "name, value or out");
    out[0] = '\0';
    return s->ops->setting_get_or_init(s, name, value_if_new, out, len);
}

/* ---- Shared counters ---- */

static bool counter_key_fits(const char *key)
{
    return store_str_fits(key, STORE_MAX_COUNTER_KEY, false);
}

store_err store_lockout_get(store *s, const char *key, int64_t now, int64_t forget,
                            int64_t *failures, int64_t *locked_until)
{
    if (s == NULL || !counter_key_fits(key) || failures == NULL || locked_until == NULL ||
        forget < 0)
        return bad_arg(s, "lockout_get", "key, outputs or forget");
    *failures = *locked_until = 0;
    return s->ops->lockout_get(s, key, now, forget, failures, locked_until);
}

store_err store_lockout_fail(store *s, const char *key, int64_t now, int64_t forget,
                             int64_t (*lock_for)(void *ctx, int64_t failures), void *ctx,
                             int64_t *failures, int64_t *locked_until)
{
    int64_t f = 0, until = 0;

    if (s == NULL || !counter_key_fits(key) || lock_for == NULL || forget < 0)
        return bad_arg(s, "lockout_fail", "key, lock_for or forget");
    store_err err = s->ops->lockout_fail(s, key, now, forget, lock_for, ctx, &f, &until);
    if (failures != NULL)
        *failures = f;
    if (locked_until != NULL)
        *locked_until = until;
    return err;
}

store_err store_lockout_clear(store *s, const char *key)
{
    if (s == NULL || !counter_key_fits(key))
        return bad_arg(s, "lockout_clear", "key");
    return s->ops->lockout_clear(s, key);
}

store_err store_hits_add(store *s, const char *key, int64_t window, int64_t expires, int64_t *count)
{
    if (s == NULL || !counter_key_fits(key) || count == NULL)
        return bad_arg(s, "hits_add", "key or count");
    *count = 0;
    return s->ops->hits_add(s, key, window, expires, count);
}

store_err store_prune(store *s, int64_t now)
{
    if (s == NULL)
        return bad_arg(s, "prune", "store");
    return s->ops->prune(s, now);
}

/* ---- Maintenance ---- */

store_err store_check(store *s, store_check_report *out)
{
    if (s == NULL || out == NULL)
        return bad_arg(s, "check", "store or report");
    memset(out, 0, sizeof *out);
    return s->ops->check(s, out);
}

store_err store_backup(store *s, const char *path)
{
    if (s == NULL || !store_str_fits(path, PATH_MAX - 1, false))
        return bad_arg(s, "backup", "path");
    return s->ops->backup(s, path);
}

/* ---- Audit ---- */

store_err store_audit_add(store *s, const char *kind, int64_t user_id, const char *detail)
{
    if (detail == NULL)
        detail = "";
    if (s == NULL || !store_str_fits(kind, STORE_MAX_AUDIT_KIND, false) ||
        !store_str_fits(detail, STORE_MAX_AUDIT_DETAIL, true))
        return bad_arg(s, "audit_add", "kind or detail");
    return s->ops->audit_add(s, kind, user_id, detail);
}
