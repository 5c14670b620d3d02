/* What a backend of src/store implements, and nothing else includes but the backends and the
 * tests of store.c: the table of functions (in the manner of Redis's rio.c) and the struct
 * every backend's own state starts with. store.c calls a function of the table only with
 * arguments that passed its checks (see store.h), so a backend does not repeat them. */
#ifndef JWTD_STORE_BACKEND_H
#define JWTD_STORE_BACKEND_H

#include "store/store.h"

/* The backend table. Each function is required; each is the store_* call of the same name
 * after store.c's checks. */
typedef struct store_ops {
    const char *name; /* "sqlite", "postgres" */
    bool shared;      /* store_shared */
    void (*close)(store *s);
    store_err (*ping)(store *s);
    store_err (*watch)(store *s, int timeout_ms, bool *changed);

    store_err (*user_create)(store *s, store_user *u);
    store_err (*user_get_by_id)(store *s, int64_t id, store_user *out);
    store_err (*user_get_by_username)(store *s, const char *username, store_user *out);
    store_err (*user_get_by_email)(store *s, const char *email, store_user *out);
    store_err (*user_list)(store *s, int64_t after_id, size_t limit, store_user_cb cb, void *ctx,
                           size_t *total);
    store_err (*user_set_password_hash)(store *s, int64_t id, const char *hash);
    store_err (*user_set_roles)(store *s, int64_t id, const char roles[][STORE_MAX_ROLE + 1],
                                size_t nroles);
    store_err (*user_set_disabled)(store *s, int64_t id, bool disabled);
    store_err (*user_count)(store *s, size_t *count);

    store_err (*client_create)(store *s, store_client *c);
    store_err (*client_get)(store *s, const char *name, store_client *out);
    store_err (*client_list)(store *s, store_client_cb cb, void *ctx);
    store_err (*client_set_secret)(store *s, const char *name, const char *secret_hash);
    store_err (*client_delete)(store *s, const char *name);

    store_err (*refresh_insert)(store *s, const store_refresh *r);
    store_err (*refresh_get)(store *s, const char *jti, store_refresh *out);
    store_err (*refresh_rotate)(store *s, const char *old_jti, int64_t now,
                                const store_refresh *next, store_refresh *current);
    store_err (*family_revoke)(store *s, const char *family);
    store_err (*user_families_revoke)(store *s, int64_t user_id);

    store_err (*revocation_add)(store *s, const store_revocation *r);
    store_err (*revocation_list)(store *s, int64_t now, store_revocation_cb cb, void *ctx);

    store_err (*key_insert)(store *s, const store_signing_key *k);
    store_err (*key_list)(store *s, store_key_cb cb, void *ctx);
    store_err (*key_retire)(store *s, const char *kid, int64_t when);
    store_err (*key_rotate)(store *s, const store_signing_key *next, const char *expect_newest,
                            int64_t retire_at);

    store_err (*setting_get_or_init)(store *s, const char *name, const char *value_if_new,
                                     char *out, size_t len);
    store_err (*lockout_get)(store *s, const char *key, int64_t now, int64_t forget,
                             int64_t *failures, int64_t *locked_until);
    store_err (*lockout_fail)(store *s, const char *key, int64_t now, int64_t forget,
                              int64_t (*lock_for)(void *ctx, int64_t failures), void *ctx,
                              int64_t *failures, int64_t *locked_until);
    store_err (*lockout_clear)(store *s, const char *key);
    store_err (*hits_add)(store *s, const char *key, int64_t window, int64_t expires,
                          int64_t *count);
    store_err (*prune)(store *s, int64_t now);

    store_err (*check)(store *s, store_check_report *out);
    store_err (*backup)(store *s, const char *path);

    store_err (*audit_add)(store *s, const char *kind, int64_t user_id, const char *detail);
} store_ops;

/* The first member of every backend's state: a store * is a pointer to it. */
struct store {
    const store_ops *ops;
    store_log log; /* the hook given at open */
};

/* Reports through log (NULL or no fn: nothing). */
void store_log_emit(const store_log *log, store_log_level level, const char *op, const char *msg);
/* The stored form of a user's roles: joined with ',' (every role matches [a-z0-9_-]), at
 * most STORE_ROLES_TEXT bytes with the NUL. */
#define STORE_ROLES_TEXT (STORE_MAX_ROLES * (STORE_MAX_ROLE + 1))
/* Joins roles (valid: store.c checked them) into text (STORE_ROLES_TEXT bytes). */
void store_roles_join(const char roles[][STORE_MAX_ROLE + 1], size_t nroles, char *text);
/* Splits stored roles text into roles and *nroles; false when it is not a valid list (a row
 * written by something else). */
bool store_roles_split(const char *text, char roles[][STORE_MAX_ROLE + 1], size_t *nroles);
/* Whether a lockout counter whose last failure was at `last` and whose lock ends at `until`
 * is forgotten at now (store_lockout_get's rule, the same for every backend). */
bool store_lockout_forgotten(int64_t last, int64_t until, int64_t now, int64_t forget);
/* True when s is a string of 1..max bytes (or 0..max with may_be_empty). */
bool store_str_fits(const char *s, size_t max, bool may_be_empty);

#endif /* JWTD_STORE_BACKEND_H */
