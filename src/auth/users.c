/* Users: registration and administrative creation with their input rules, login (with the
 * same cost for every failure and rehashing on success), imported hashes, roles, disabling,
 * and the reads of the admin routes and the command line. What leaves the service is an
 * auth_user, which has no field for the password hash. */
#include <string.h>

#include <jansson.h>

#include "auth_internal.h"

#define MAX_LOGIN_IDENT STORE_MAX_EMAIL

bool auth_name_valid(const char *u, size_t max)
{
    size_t n = u != NULL ? strnlen(u, max + 1) : 0;

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Valid UTF-8 without control characters: it ends up in JSON answers and in tokens. */
static bool text_valid(const char *s, size_t n)
{
    json_t *j;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    j = json_stringn(s, n); /* jansson refuses invalid UTF-8 */
    json_decref(j);
    return j != NULL;
}

/* Optional (NULL or ""); one '@' with text on both sides; no spaces. */
static bool email_valid(const char *e)
{
    const char *at;
    size_t n;

    if (e == NULL || e[0] == '\0')
        return true;
    n = strnlen(e, STORE_MAX_EMAIL + 1);
    if (n > STORE_MAX_EMAIL || strchr(e, ' ') != NULL || !text_valid(e, n))
        return false;
    at = strchr(e, '@');
    return at != NULL && at != e && at[1] != '\0' && strchr(at + 1, '@') == NULL;
}

static bool name_valid(const char *name)
{
    size_t n;

    if (name == NULL)
        return true;
    n = strnlen(name, STORE_MAX_NAME + 1);
    return n <= STORE_MAX_NAME && text_valid(name, n);
}

bool auth_role_valid(const char *role, size_t len) { return store_role_valid(role, len); }

/* 1..STORE_MAX_ROLES distinct roles, each one the store accepts (store_role_valid). */
bool auth_roles_valid(const char *const *roles, size_t nroles)
{
    if ((roles == NULL && nroles > 0) || nroles > STORE_MAX_ROLES)
        return false;
    for (size_t i = 0; i < nroles; i++) {
        if (roles[i] == NULL || !store_role_valid(roles[i], strnlen(roles[i], STORE_MAX_ROLE + 1)))
            return false;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(roles[i], roles[j]) == 0)
                return false;
        }
    }
    return true;
}

/* ---- Input rules, as the answers explain them ---- */

#define STR_(x) #x
#define STR(x) STR_(x)

/* The rule's text when it is broken: false with *fault set, or true. */
static bool rule(bool ok, const char *field, const char *detail, auth_input_fault *fault)
{
    if (!ok && fault != NULL)
        *fault = (auth_input_fault){field, detail};
    return ok;
}

bool auth_roles_check(const char *const *roles, size_t nroles, auth_input_fault *fault)
{
    /* A user has at least one role (a machine client may have none: auth_roles_valid). */
    return rule(roles != NULL && nroles > 0 && auth_roles_valid(roles, nroles), "roles",
                "1 to " STR(AUTH_MAX_ROLES) " distinct role names, each 1 to " STR(
                    AUTH_MAX_ROLE) " of a-z 0-9 _ -",
                fault);
}

bool auth_login_input_check(const char *password, auth_input_fault *fault)
{
    return rule(password != NULL && strnlen(password, AUTH_MAX_PASSWORD + 1) <= AUTH_MAX_PASSWORD,
                "password", "at most " STR(AUTH_MAX_PASSWORD) " bytes", fault);
}

bool auth_user_input_check(const char *username, const char *password, const char *email,
                           const char *name, const char *const *roles, size_t nroles,
                           size_t min_password, auth_input_fault *fault)
{
    size_t plen = password != NULL ? strnlen(password, AUTH_MAX_PASSWORD + 1) : 0;

    if (fault != NULL)
        *fault = (auth_input_fault){NULL, NULL};
    return rule(auth_name_valid(username, STORE_MAX_USERNAME), "username",
                "1 to " STR(AUTH_MAX_USERNAME) " of A-Z a-z 0-9 . _ -", fault) &&
           rule(password != NULL && plen >= min_password && plen <= AUTH_MAX_PASSWORD, "password",
                min_password == AUTH_MIN_PASSWORD
                    ? STR(AUTH_MIN_PASSWORD) " to " STR(AUTH_MAX_PASSWORD) " bytes"
                    : "1 to " STR(AUTH_MAX_PASSWORD) " bytes",
                fault) &&
           rule(email_valid(email), "email",
                "an address with one @, no spaces, at most " STR(AUTH_MAX_EMAIL) " bytes", fault) &&
           rule(name_valid(name), "name",
                "at most " STR(AUTH_MAX_NAME) " bytes of UTF-8 without control characters",
                fault) &&
           ((roles == NULL && nroles == 0) || auth_roles_check(roles, nroles, fault));
}

void auth_roles_copy(char dst[][STORE_MAX_ROLE + 1], const char *const *roles, size_t n)
{
    for (size_t i = 0; i < n; i++)
        snprintf(dst[i], sizeof dst[i], "%s", roles[i]); /* lengths checked by roles_valid */
}

void auth_user_of(const store_user *u, auth_user *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof *out);
    out->id = u->id;
    memcpy(out->username, u->username, sizeof out->username);
    memcpy(out->email, u->email, sizeof out->email);
    memcpy(out->name, u->name, sizeof out->name);
    memcpy(out->roles, u->roles, sizeof out->roles);
    out->nroles = u->nroles;
    out->disabled = u->disabled;
    out->created = u->created;
    out->updated = u->updated;
}

static auth_err create_user(auth *a, const char *username, const char *password, const char *email,
                            const char *name, const char *const *roles, size_t nroles,
                            size_t min_password, store_user *out)
{
    char hash[crypto_pwhash_STRBYTES];
    store_user u;
    size_t plen;
    auth_err rc;

    if (!auth_serving(a))
        return a == NULL ? AUTH_INVALID_INPUT : AUTH_INTERNAL;
    if (!auth_user_input_check(username, password, email, name, roles, nroles, min_password,
                               NULL) ||
        roles == NULL)
        return AUTH_INVALID_INPUT;
    plen = strnlen(password, AUTH_MAX_PASSWORD + 1);
    if ((rc = auth_pw_hash(a, password, plen, hash)) != AUTH_OK)
        return rc;
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "%s", username);
    if (email != NULL)
        snprintf(u.email, sizeof u.email, "%s", email);
    if (name != NULL)
        snprintf(u.name, sizeof u.name, "%s", name);
    snprintf(u.password_hash, sizeof u.password_hash, "%s", hash); /* STRBYTES < MAX_HASH */
    sodium_memzero(hash, sizeof hash);
    auth_roles_copy(u.roles, roles, nroles);
    u.nroles = nroles;
    rc = auth_from_store(store_user_create(a->s, &u));
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    if (rc == AUTH_OK)
        *out = u;
    return rc;
}

auth_err auth_register(auth *a, const char *username, const char *password, const char *email,
                       const char *name, auth_user *user, auth_pair *pair)
{
    static const char *const self_roles[] = {"user"};
    store_user u;
    auth_err rc;

    if (pair == NULL)
        return AUTH_INVALID_INPUT;
    memset(pair, 0, sizeof *pair);
    rc = create_user(a, username, password, email, name, self_roles, 1, AUTH_MIN_PASSWORD, &u);
    if (rc != AUTH_OK)
        return rc;
    atomic_fetch_add(&a->registrations, 1);
    auth_user_of(&u, user);
    /* The account exists even if the pair cannot be issued now: the client logs in. */
    return auth_issue_pair(a, &u, pair);
}

auth_err auth_user_add(auth *a, const char *username, const char *password, const char *email,
                       const char *name, const char *const *roles, size_t nroles, auth_user *user)
{
    static const char *const default_roles[] = {"user"};

    store_user u;
    auth_err rc;

    /* An administrator may set any non-empty password (imports, tutorials' "toor"). */
    if (nroles == 0)
        rc = create_user(a, username, password, email, name, default_roles, 1, 1, &u);
    else
        rc = create_user(a, username, password, email, name, roles, nroles, 1, &u);
    if (rc == AUTH_OK)
        auth_user_of(&u, user);
    return rc;
}

auth_err auth_login(auth *a, const char *ident, const char *password, auth_user *user,
                    auth_pair *pair)
{
    char fresh[crypto_pwhash_STRBYTES];
    bool rehash = false;
    store_user u;
    store_err se;
    size_t plen;
    auth_err rc;

    if (pair != NULL)
        memset(pair, 0, sizeof *pair);
    if (a != NULL && a->lookup)
        return AUTH_INTERNAL;
    if (a == NULL || pair == NULL || password == NULL || ident == NULL)
        return AUTH_INVALID_INPUT;
    /* Too long to be anyone's password: refused before any hashing work. */
    if (!auth_login_input_check(password, NULL))
        return AUTH_INVALID_INPUT;
    plen = strnlen(password, AUTH_MAX_PASSWORD + 1);

    memset(&u, 0, sizeof u);
    if (strnlen(ident, MAX_LOGIN_IDENT + 1) > MAX_LOGIN_IDENT)
        se = STORE_NOT_FOUND;
    else if (strchr(ident, '@') != NULL) /* usernames cannot hold '@' */
        se = store_user_get_by_email(a->s, ident, &u);
    else
        se = store_user_get_by_username(a->s, ident, &u);
    if (se != STORE_OK && se != STORE_NOT_FOUND)
        return auth_from_store(se);

    /* Unknown, disabled, wrong password: the same Argon2id work, the same answer. */
    if (se == STORE_NOT_FOUND || u.disabled) {
        auth_pw_dummy_verify(a, password, plen);
        rc = AUTH_BAD_CREDENTIALS;
    } else if (!auth_pw_verify(a, password, plen, u.password_hash, &rehash)) {
        rc = AUTH_BAD_CREDENTIALS;
    } else {
        rc = AUTH_OK;
    }
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    if (rc != AUTH_OK) {
        atomic_fetch_add(&a->logins_failed, 1);
        return rc;
    }
    /* A failed rehash does not fail the login: the old hash still verifies next time. */
    if (rehash && auth_pw_hash(a, password, plen, fresh) == AUTH_OK)
        (void)store_user_set_password_hash(a->s, u.id, fresh);
    sodium_memzero(fresh, sizeof fresh);

    if ((rc = auth_issue_pair(a, &u, pair)) != AUTH_OK)
        return rc;
    atomic_fetch_add(&a->logins_ok, 1);
    auth_user_of(&u, user);
    return AUTH_OK;
}

auth_err auth_import_hash(auth *a, const char *username, const char *hash)
{
    store_user u;
    store_err se;

    if (a != NULL && a->lookup)
        return AUTH_INTERNAL;
    if (a == NULL || !auth_name_valid(username, STORE_MAX_USERNAME) ||
        !auth_pw_hash_importable(hash))
        return AUTH_INVALID_INPUT;
    if ((se = store_user_get_by_username(a->s, username, &u)) != STORE_OK)
        return auth_from_store(se);
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    return auth_from_store(store_user_set_password_hash(a->s, u.id, hash));
}

auth_err auth_set_roles(auth *a, int64_t user_id, const char *const *roles, size_t nroles)
{
    char copy[STORE_MAX_ROLES][STORE_MAX_ROLE + 1];
    auth_err rc;

    if (a != NULL && a->lookup)
        return AUTH_INTERNAL;
    if (a == NULL || user_id <= 0 || nroles == 0 || !auth_roles_valid(roles, nroles))
        return AUTH_INVALID_INPUT;
    memset(copy, 0, sizeof copy);
    auth_roles_copy(copy, roles, nroles);
    rc = auth_from_store(
        store_user_set_roles(a->s, user_id, (const char(*)[STORE_MAX_ROLE + 1]) copy, nroles));
    if (rc != AUTH_OK)
        return rc;
    (void)store_audit_add(a->s, "user.roles", user_id, "{}");
    /* Access tokens carry roles: the old ones must not outlive a demotion. Refresh
     * families survive, so the next refresh issues tokens with the new roles. */
    return auth_revoke_user_access(a, user_id, AUTH_REV_ROLES);
}

auth_err auth_set_disabled(auth *a, int64_t user_id, bool disabled)
{
    auth_err rc;

    if (a != NULL && a->lookup)
        return AUTH_INTERNAL;
    if (a == NULL || user_id <= 0)
        return AUTH_INVALID_INPUT;
    rc = auth_from_store(store_user_set_disabled(a->s, user_id, disabled));
    if (rc != AUTH_OK)
        return rc;
    (void)store_audit_add(a->s, disabled ? "user.disabled" : "user.enabled", user_id, "{}");
    return disabled ? auth_revoke_user(a, user_id, AUTH_REV_DISABLED) : AUTH_OK;
}

/* ---- Reads (also in AUTH_OPEN_LOOKUP) ---- */

/* The answer of a one-user read: the hash wiped, the record converted when found. */
static auth_err user_read(store_err se, store_user *u, auth_user *out)
{
    sodium_memzero(u->password_hash, sizeof u->password_hash);
    if (se == STORE_OK)
        auth_user_of(u, out);
    return auth_from_store(se);
}

auth_err auth_user_get(auth *a, int64_t id, auth_user *out)
{
    store_user u;

    if (a == NULL || out == NULL || id <= 0)
        return AUTH_INVALID_INPUT;
    memset(&u, 0, sizeof u);
    return user_read(store_user_get_by_id(a->s, id, &u), &u, out);
}

auth_err auth_user_find(auth *a, const char *username, auth_user *out)
{
    store_user u;

    if (a == NULL || out == NULL || username == NULL)
        return AUTH_INVALID_INPUT;
    memset(&u, 0, sizeof u);
    return user_read(store_user_get_by_username(a->s, username, &u), &u, out);
}

typedef struct user_relay {
    auth_user_cb cb;
    void *ctx;
    auth_user u; /* one record reused for every row */
} user_relay;

static bool relay_user(void *ctx, const store_user *row)
{
    user_relay *r = ctx;
    auth_user_of(row, &r->u);
    return r->cb(r->ctx, &r->u);
}

auth_err auth_user_list(auth *a, int64_t after_id, size_t limit, auth_user_cb cb, void *ctx,
                        size_t *total)
{
    if (a == NULL || cb == NULL)
        return AUTH_INVALID_INPUT;
    user_relay r = {.cb = cb, .ctx = ctx};
    return auth_from_store(store_user_list(a->s, after_id, limit, relay_user, &r, total));
}

auth_err auth_user_count(auth *a, size_t *count)
{
    if (a == NULL || count == NULL)
        return AUTH_INVALID_INPUT;
    return auth_from_store(store_user_count(a->s, count));
}
