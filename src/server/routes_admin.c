/* The routes of role admin: the users (a page of them, a change of roles or state) and the
 * counters of /admin/metrics (the table of metrics.c). */
#include <stdint.h>
#include <string.h>

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

void srv_handle_admin_metrics(srv_app *app, const http_request *req, http_response *resp)
{
    if (!srv_authenticate_admin(app, req, resp))
        return;
    srv_reply_json(resp, 200, srv_metrics_json(app));
    http_response_header(resp, "Cache-Control", "no-store");
}
