/* forward.nginx: jwtd's forward auth (GET /auth) behind a real nginx auth_request, in front of
 * a real upstream. nginx runs docs/forward-auth/nginx.conf unchanged (included in the server
 * that tests/http/support/testnginx writes), its upstream "app" being a second nginx server
 * that answers 200 and echoes the X-Auth-* headers it received. Through nginx, as a client
 * would: no token (401, Bearer realm, the app never reached), garbage (401 invalid_token), a
 * user (200, the app sees alice and her roles, not the X-Auth-User she forged), an admin-only
 * location for her (403) and for root (200), a token revoked by logout-all (401 "the token
 * was revoked" at once: the same in-memory set /me uses), and a machine client (200 as
 * svc.cron with its role; 403 at the admin-only location).
 * Usage: forward --jwtd PATH --tmp DIR --nginx PATH --conf docs/forward-auth/nginx.conf
 *        [--serve-arg ARG]... */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rawhttp.h"
#include "testnginx.h"
#include "testserver.h"
#include "testutil.h"

#define ROOT_PW "root's password"
#define ALICE_PW "alice's password"
#define CLIENT_SECRET "a cron job's long secret 0123456789"

/* One request through nginx (Connection: close); the answer in *r (raw_response_free). */
static bool send_req(int port, const char *method, const char *path, const char *token,
                     const char *extra, const char *body, raw_response *r)
{
    char req[8192];
    snprintf(req, sizeof req,
             "%s %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n%s%s%s%s%s"
             "Content-Length: %zu\r\n\r\n%s",
             method, path, token != NULL ? "Authorization: Bearer " : "",
             token != NULL ? token : "", token != NULL ? "\r\n" : "", extra != NULL ? extra : "",
             body != NULL ? "Content-Type: application/json\r\n" : "",
             body != NULL ? strlen(body) : 0, body != NULL ? body : "");
    raw_conn c;
    memset(r, 0, sizeof *r);
    if (!raw_open(&c, port))
        return false;
    bool ok = raw_send(&c, req, strlen(req)) && raw_read_response(&c, r, 10000);
    raw_close(&c);
    return ok;
}

/* POST /login through nginx with a user's ({"username","password"}) or a machine client's
 * ({"client_id","client_secret"}) credentials: the access token (malloc'ed), or NULL. */
static char *login_as(int port, const char *id_member, const char *secret_member, const char *id,
                      const char *secret)
{
    char body[256];
    raw_response r;
    snprintf(body, sizeof body, "{\"%s\":\"%s\",\"%s\":\"%s\"}", id_member, id, secret_member,
             secret);
    if (!send_req(port, "POST", "/login", NULL, NULL, body, &r))
        return NULL;
    json_t *doc = r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
    const char *tok = json_string_value(json_object_get(doc, "access_token"));
    char *copy = tok != NULL ? strdup(tok) : NULL;
    json_decref(doc);
    raw_response_free(&r);
    return copy;
}

static char *login(int port, const char *user, const char *password)
{
    return login_as(port, "username", "password", user, password);
}

/* Whether the body holds text (the app's echo line). */
static bool body_has(const raw_response *r, const char *text)
{
    return r->body != NULL && memmem(r->body, r->body_len, text, strlen(text)) != NULL;
}

/* One step: method path with token (and extra header lines); the status must be status, the
 * body must hold want (NULL: not checked) and, when challenge is not NULL, WWW-Authenticate
 * must be exactly it. */
static void step(int port, const char *what, const char *path, const char *token, const char *extra,
                 int status, const char *want, const char *challenge)
{
    raw_response r;
    char www[512] = "";
    bool sent = send_req(port, "GET", path, token, extra, NULL, &r);
    if (sent)
        raw_header(&r, "www-authenticate", www, sizeof www);
    bool ok = sent && r.status == status && (want == NULL || body_has(&r, want)) &&
              (challenge == NULL || strcmp(www, challenge) == 0) &&
              (status == 200 || !body_has(&r, "app "));
    char got[sizeof www + 300] = "";
    if (!ok) /* what came instead, on failure only */
        snprintf(got, sizeof got, " (got %d, WWW-Authenticate '%s', body '%.*s')",
                 sent ? r.status : 0, www,
                 sent && r.body != NULL ? (int)(r.body_len < 200 ? r.body_len : 200) : 0,
                 sent && r.body != NULL ? r.body : "");
    testutil_check(ok, "%s: %d%s%s%s", what, status, want != NULL ? ", app saw " : "",
                   want != NULL ? want : "", got);
    if (sent)
        raw_response_free(&r);
}

int main(int argc, char **argv)
{
    testutil_args a = {0};
    const char *nginx_bin = NULL, *conf = NULL;
    for (int i = 1; i < argc; i++) {
        if (testutil_take_arg(&a, argc, argv, &i))
            continue;
        if (strcmp(argv[i], "--nginx") == 0 && i + 1 < argc)
            nginx_bin = argv[++i];
        else if (strcmp(argv[i], "--conf") == 0 && i + 1 < argc)
            conf = argv[++i];
        else {
            fprintf(stderr, "usage: forward --jwtd PATH --tmp DIR --nginx PATH --conf FILE "
                            "[--serve-arg ARG]...\n");
            return 2;
        }
    }
    if (a.jwtd == NULL || a.dir == NULL || nginx_bin == NULL || conf == NULL) {
        fprintf(stderr, "forward: --jwtd, --tmp, --nginx and --conf are required\n");
        return 2;
    }
    if (!testutil_fresh_dir(a.dir, "forward"))
        return 1;
    char db[4200], log[4200], ngdir[4200], out[4096], err[512];
    snprintf(db, sizeof db, "%s/jwtd.db", a.dir);
    snprintf(log, sizeof log, "%s/jwtd.log", a.dir);
    snprintf(ngdir, sizeof ngdir, "%s/nginx", a.dir);
    testutil_check(testutil_user_add(a.jwtd, db, "root", "admin", ROOT_PW, out, sizeof out) == 0 &&
                       testutil_user_add(a.jwtd, db, "alice", "user", ALICE_PW, out, sizeof out) ==
                           0,
                   "users root (admin) and alice (user) created");
    const char *add[] = {a.jwtd,    "client",         "add",  "svc.cron", "--role",
                         "reports", "--secret-stdin", "--db", db,         NULL};
    testutil_check(testserver_run(add, CLIENT_SECRET "\n", out, sizeof out) == 0,
                   "machine client svc.cron (role reports) registered: %.200s", out);
    testserver ts;
    if (!testserver_start(&ts, a.jwtd, db, log, a.serve, a.nserve, err, sizeof err)) {
        testutil_check(false, "jwtd serve starts: %s", err);
        return testutil_summary();
    }
    /* The upstream app: a second server of the same nginx, echoing what it was told. */
    int app_port = testnginx_free_port();
    char extra_http[1024], extra_server[4200];
    snprintf(extra_http, sizeof extra_http,
             "  upstream app { server 127.0.0.1:%d; }\n"
             "  server {\n    listen 127.0.0.1:%d;\n"
             "    location / { return 200 \"app $request_uri user=$http_x_auth_user "
             "sub=$http_x_auth_subject roles=$http_x_auth_roles\\n\"; }\n  }\n",
             app_port, app_port);
    snprintf(extra_server, sizeof extra_server, "    include %s;\n", conf);
    testnginx ng;
    int port = ts.port;
    if (!testnginx_start_with(&ng, nginx_bin, ngdir, &port, 1, "$request_uri|$status", extra_http,
                              extra_server)) {
        testutil_check(false, "nginx starts with %s (see %s/error.log)", conf, ngdir);
        testserver_stop(&ts, err, sizeof err);
        return testutil_summary();
    }
    char *alice = login(ng.port, "alice", ALICE_PW), *root = login(ng.port, "root", ROOT_PW);
    testutil_check(alice != NULL && root != NULL, "alice and root log in through nginx");
    if (alice != NULL && root != NULL) {
        step(ng.port, "no token", "/app/hello", NULL, NULL, 401, NULL, "Bearer realm=\"jwtd\"");
        step(ng.port, "garbage", "/app/hello", "garbage", NULL, 401, NULL,
             "Bearer realm=\"jwtd\", error=\"invalid_token\", error_description=\"the token is "
             "not valid\"");
        step(ng.port, "alice", "/app/hello", alice, NULL, 200,
             "app /app/hello user=alice sub=2 roles=user", NULL);
        step(ng.port, "alice forging X-Auth-User", "/app/hello", alice,
             "X-Auth-User: root\r\nX-Auth-Roles: admin\r\n", 200,
             "app /app/hello user=alice sub=2 roles=user", NULL);
        step(ng.port, "alice at the admin-only location", "/app/admin/panel", alice, NULL, 403,
             NULL, NULL);
        step(ng.port, "no token at the admin-only location", "/app/admin/panel", NULL, NULL, 401,
             NULL, "Bearer realm=\"jwtd\"");
        step(ng.port, "root at the admin-only location", "/app/admin/panel", root, NULL, 200,
             "app /app/admin/panel user=root sub=1 roles=admin", NULL);
        raw_response r;
        bool sent = send_req(ng.port, "POST", "/logout-all", alice, NULL, NULL, &r);
        testutil_check(sent && r.status == 204, "alice logs out everywhere (%d)",
                       sent ? r.status : 0);
        if (sent)
            raw_response_free(&r);
        step(ng.port, "alice's revoked token, at once", "/app/hello", alice, NULL, 401, NULL,
             "Bearer realm=\"jwtd\", error=\"invalid_token\", error_description=\"the token was "
             "revoked\"");
        step(ng.port, "root is untouched", "/app/hello", root, NULL, 200, "user=root", NULL);
        /* A machine client (client credentials through POST /login, as the tutorial does). */
        char *svc = login_as(ng.port, "client_id", "client_secret", "svc.cron", CLIENT_SECRET);
        testutil_check(svc != NULL, "the machine client svc.cron gets a token through nginx");
        if (svc != NULL) {
            step(ng.port, "the machine client", "/app/hello", svc, NULL, 200,
                 "app /app/hello user=svc.cron sub=client:svc.cron roles=reports", NULL);
            step(ng.port, "the machine client at the admin-only location", "/app/admin/panel", svc,
                 NULL, 403, NULL, NULL);
        }
        free(svc);
    }
    free(alice);
    free(root);
    testnginx_stop(&ng);
    char how[128];
    testutil_check(testserver_stop(&ts, how, sizeof how), "jwtd stops cleanly: %s", how);
    if (testutil_failed() > 0)
        testserver_print_log_end(&ts, 4000);
    return testutil_summary();
}
