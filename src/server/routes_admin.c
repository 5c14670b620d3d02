/* The routes of role admin: the users (a page of them, a change of roles or state), the
 * machine clients (list, add, remove, rotate a secret: a secret is shown once, in the answer
 * that made it) and the counters of /admin/metrics (the table of metrics.c). */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "replies.h"
#include "reqparse.h"
#include "routes.h"

typedef struct user_page {
    json_t *users;
    size_t limit;
    int64_t next_after; /* 0: no further page */
} user_page;

static bool collect_user(void *ctx, const auth_user *u)
{
    user_page *page = ctx;
    /* One user beyond the limit was asked for: it only says that another page exists. */
    if (json_array_size(page->users) == page->limit) {
        page->next_after = (int64_t)json_integer_value(
            json_object_get(json_array_get(page->users, page->limit - 1), "id"));
        return false;
    }
    json_array_append_new(page->users, srv_user_json(u, true));
    return true;
}

void srv_handle_admin_users(srv_app *app, const http_request *req, http_response *resp)
{
    if (!srv_authenticate_admin(app, req, resp))
        return;
    int64_t after = 0, limit = SRV_USERS_PAGE_DEFAULT;
    if (srv_query_int(req->query, req->query_len, "after", 0, INT64_MAX / 2, &after) < 0 ||
        srv_query_int(req->query, req->query_len, "limit", 1, SRV_USERS_PAGE_MAX, &limit) < 0) {
        http_response_error(resp, 400, MSG_INVALID_REQUEST);
        return;
    }
    user_page page = {json_array(), (size_t)limit, 0};
    size_t total = 0;
    auth_err err = page.users == NULL ? AUTH_INTERNAL
                                      : auth_user_list(app->au, after, (size_t)limit + 1,
                                                       collect_user, &page, &total);
    if (err != AUTH_OK) {
        json_decref(page.users);
        srv_reply_auth_error(resp, err);
        return;
    }
    srv_reply_json(resp, 200,
                   json_pack("{s:o, s:I, s:o}", "users", page.users, "total", (json_int_t)total,
                             "next_after",
                             page.next_after != 0 ? json_integer(page.next_after) : json_null()));
    http_response_header(resp, "Cache-Control", "no-store");
}

/* The id of /admin/users/{id}: 1 to 18 digits, no sign or leading zero. */
static int64_t path_user_id(const http_request *req, size_t prefix_len)
{
    const char *p = req->path + prefix_len;
    size_t n = req->path_len - prefix_len;
    int64_t id = 0;
    if (n == 0 || n > 18 || p[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        id = id * 10 + (p[i] - '0');
    }
    return id;
}

/* {"roles": [...]} and/or {"disabled": bool}: the members, or false when malformed, with
 * what is wrong in *fault. */
static bool patch_fields(json_t *body, const char **roles, size_t *nroles, int *disabled,
                         auth_input_fault *fault)
{
    json_t *r = json_object_get(body, "roles"), *d = json_object_get(body, "disabled"), *v;
    size_t i;
    *nroles = 0;
    *disabled = -1;
    *fault = (auth_input_fault){"roles", "roles (an array of role names) or disabled (a boolean) "
                                         "is required"};
    if (r == NULL && d == NULL)
        return false;
    if (d != NULL) {
        *fault = (auth_input_fault){"disabled", "must be true or false"};
        if (!json_is_boolean(d))
            return false;
        *disabled = json_is_true(d);
    }
    if (r != NULL) {
        if (!json_is_array(r) || json_array_size(r) > AUTH_MAX_ROLES)
            return auth_roles_check(NULL, 0, fault);
        json_array_foreach(r, i, v) {
            if (!json_is_string(v))
                return auth_roles_check(NULL, 0, fault);
            roles[(*nroles)++] = json_string_value(v);
        }
    }
    return true;
}

void srv_handle_admin_user_patch(srv_app *app, const http_request *req, http_response *resp)
{
    if (!srv_authenticate_admin(app, req, resp))
        return;
    int64_t id = path_user_id(req, strlen("/admin/users/"));
    if (id == 0) {
        http_response_error(resp, 404, MSG_NOT_FOUND);
        return;
    }
    json_t *body = srv_read_body(req, resp, false);
    if (body == NULL)
        return;
    const char *roles[AUTH_MAX_ROLES];
    size_t nroles = 0;
    int disabled = -1;
    auth_user user;
    auth_input_fault fault;
    if (!patch_fields(body, roles, &nroles, &disabled, &fault)) {
        srv_reply_json(resp, 400,
                       json_pack("{s:s, s:s, s:s}", "error", MSG_INVALID_REQUEST, "field",
                                 fault.field, "detail", fault.detail));
        json_decref(body);
        return;
    }
    bool set_roles = json_object_get(body, "roles") != NULL;
    auth_err err = auth_user_get(app->au, id, &user);
    if (err == AUTH_OK && set_roles)
        err = auth_set_roles(app->au, id, roles, nroles);
    if (err == AUTH_OK && disabled >= 0)
        err = auth_set_disabled(app->au, id, disabled == 1);
    if (err == AUTH_OK)
        err = auth_user_get(app->au, id, &user);
    /* roles point into body: explained before it goes. */
    bool bad_roles =
        err == AUTH_INVALID_INPUT && set_roles && !auth_roles_check(roles, nroles, &fault);
    json_decref(body);
    if (bad_roles) {
        srv_reply_invalid_input(resp, &fault);
        return;
    }
    if (err != AUTH_OK) {
        srv_reply_auth_error(resp, err);
        return;
    }
    srv_log(SRV_LOG_INFO, "user changed by an admin",
            json_pack("{s:I, s:b, s:b}", "user_id", (json_int_t)id, "roles_set", set_roles,
                      "disabled", user.disabled));
    srv_reply_json(resp, 200, json_pack("{s:o}", "user", srv_user_json(&user, true)));
    http_response_header(resp, "Cache-Control", "no-store");
}

/* ---- Machine clients ---- */

#define CLIENTS_PREFIX "/admin/clients/"
#define ROTATE_SUFFIX "/rotate-secret"

static bool collect_client(void *ctx, const auth_client *c)
{
    return json_array_append_new(ctx, srv_client_json(c)) == 0;
}

void srv_handle_admin_clients(srv_app *app, const http_request *req, http_response *resp)
{
    if (!srv_authenticate_admin(app, req, resp))
        return;
    json_t *list = json_array();
    auth_err err = list == NULL ? AUTH_INTERNAL : auth_client_list(app->au, collect_client, list);
    if (err != AUTH_OK) {
        json_decref(list);
        srv_reply_auth_error(resp, err);
        return;
    }
    srv_reply_json(resp, 200, json_pack("{s:o}", "clients", list));
    http_response_header(resp, "Cache-Control", "no-store");
}

/* The client and its new secret, shown this once. */
static void reply_client_secret(http_response *resp, int status, const auth_client *c,
                                char secret[AUTH_CLIENT_SECRET_CHARS + 1])
{
    srv_reply_json(resp, status,
                   json_pack("{s:o, s:s}", "client", srv_client_json(c), "client_secret", secret));
    sodium_memzero(secret, AUTH_CLIENT_SECRET_CHARS + 1);
    srv_no_store(resp);
}

/* {"client_id": NAME, "roles": [...]} (roles optional): a generated secret. */
void srv_handle_admin_client_add(srv_app *app, const http_request *req, http_response *resp)
{
    if (!srv_authenticate_admin(app, req, resp))
        return;
    json_t *body = srv_read_body(req, resp, false);
    if (body == NULL)
        return;
    const char *name = NULL, *roles[AUTH_MAX_ROLES];
    size_t nroles = 0;
    json_t *r = json_object_get(body, "roles"), *v;
    size_t i;
    bool ok = srv_get_string(body, "client_id", &name) == 1 &&
              (r == NULL || (json_is_array(r) && json_array_size(r) <= AUTH_MAX_ROLES));
    if (ok && r != NULL)
        json_array_foreach(r, i, v) {
            ok = ok && json_is_string(v);
            roles[nroles++] = ok ? json_string_value(v) : NULL;
        }
    char secret[AUTH_CLIENT_SECRET_CHARS + 1];
    auth_client c;
    auth_err err = ok ? auth_client_add(app->au, name, roles, nroles, NULL, 0, secret, &c)
                      : AUTH_INVALID_INPUT;
    json_decref(body);
    if (err != AUTH_OK) {
        srv_reply_auth_error(resp, err);
        return;
    }
    srv_log(SRV_LOG_INFO, "client added by an admin", json_pack("{s:s}", "client_id", c.name));
    reply_client_secret(resp, 201, &c, secret);
}

/* The NAME of /admin/clients/NAME[suffix] into name, or false (the caller answers 404). */
static bool path_client(const http_request *req, const char *suffix, char *name, size_t cap)
{
    size_t pre = strlen(CLIENTS_PREFIX), suf = strlen(suffix);
    if (req->path_len < pre + suf || memcmp(req->path + req->path_len - suf, suffix, suf) != 0)
        return false;
    size_t n = req->path_len - pre - suf;
    if (n == 0 || n >= cap)
        return false;
    memcpy(name, req->path + pre, n);
    name[n] = '\0';
    return auth_client_name_valid(name);
}

void srv_handle_admin_client_delete(srv_app *app, const http_request *req, http_response *resp)
{
    char name[AUTH_MAX_CLIENT + 1];
    if (!srv_authenticate_admin(app, req, resp))
        return;
    auth_err err = path_client(req, "", name, sizeof name) ? auth_client_remove(app->au, name)
                                                           : AUTH_NOT_FOUND;
    if (err != AUTH_OK) {
        srv_reply_auth_error(resp, err);
        return;
    }
    srv_log(SRV_LOG_INFO, "client removed by an admin", json_pack("{s:s}", "client_id", name));
    http_response_json(resp, 204, NULL);
    srv_no_store(resp);
}

/* POST /admin/clients/NAME/rotate-secret: a new secret; the client's tokens are revoked. */
void srv_handle_admin_client_rotate(srv_app *app, const http_request *req, http_response *resp)
{
    char name[AUTH_MAX_CLIENT + 1], secret[AUTH_CLIENT_SECRET_CHARS + 1];
    auth_client c;
    if (!srv_authenticate_admin(app, req, resp))
        return;
    auth_err err = path_client(req, ROTATE_SUFFIX, name, sizeof name)
                       ? auth_client_rotate_secret(app->au, name, secret)
                       : AUTH_NOT_FOUND;
    if (err == AUTH_OK)
        err = auth_client_get(app->au, name, &c);
    if (err != AUTH_OK) {
        srv_reply_auth_error(resp, err);
        return;
    }
    srv_log(SRV_LOG_INFO, "client secret rotated by an admin",
            json_pack("{s:s}", "client_id", name));
    reply_client_secret(resp, 200, &c, secret);
}

void srv_handle_admin_metrics(srv_app *app, const http_request *req, http_response *resp)
{
    if (!srv_authenticate_admin(app, req, resp))
        return;
    srv_reply_json(resp, 200, srv_metrics_json(app));
    http_response_header(resp, "Cache-Control", "no-store");
}
