/* Start-up and shut-down of jwtd serve: opens the auth service over its database, starts the
 * HTTP server with the router of routes.c, prints where it listens and where its data is,
 * and waits for SIGINT/SIGTERM (graceful stop); SIGHUP is logged and changes nothing. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "filecheck.h"
#include "log.h"

/* The database file as an absolute path for the start-up line; otherwise the location as a
 * log may show it (a URL's scheme only: the rest may hold a password). */
static void data_location(const char *db, char *out, size_t len)
{
    char path[PATH_MAX], abs[PATH_MAX];
    if (auth_db_local_file(db, path, sizeof path) && realpath(path, abs) != NULL)
        snprintf(out, len, "%s", abs);
    else
        auth_db_location_safe(db, out, len);
}

/* The store's log hook: one JSON line, as every other layer logs; jwtd serve's (ctx: its
 * srv_app) also counts it in jwtd_store_errors_total. */
static void store_logged(void *ctx, auth_log_level level, const char *what, const char *msg)
{
    srv_app *app = ctx;
    if (app != NULL)
        atomic_fetch_add(&app->store_errors[level == AUTH_LOG_WARN ? 1 : 0], 1);
    srv_log(level == AUTH_LOG_WARN ? SRV_LOG_WARN : SRV_LOG_ERROR, "store",
            json_pack("{s:s, s:s}", "op", what, "error", msg));
}

int srv_backend_open(const srv_config *cfg, auth_open_mode mode, const auth_log *log, auth **au,
                     char *err, size_t errlen)
{
    auth_config ac;
    srv_config_auth(cfg, &ac);
    ac.log = log != NULL ? *log : (auth_log){store_logged, NULL};
    return auth_open(&ac, cfg->db, mode, au, err, errlen) == AUTH_OK ? 0 : -1;
}

/* SIGHUP: jwtd has nothing to reload (its logs go to stderr, which the service manager
 * keeps; configuration changes need a restart), so it only says so and goes on. */
static void on_hangup(void *app)
{
    (void)app;
    srv_log(SRV_LOG_INFO, "SIGHUP: nothing to reload (restart to apply configuration changes)",
            NULL);
}

void srv_public_url(srv_app *app, char *out, size_t len)
{
    if (atomic_load(&app->public_url_set))
        snprintf(out, len, "%s", app->public_url);
    else /* a request that raced start-up */
        snprintf(out, len, "%s://%s", app->cfg->tls_cert[0] != '\0' ? "https" : "http",
                 app->cfg->listen);
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
}

int srv_run(const srv_config *cfg)
{
    srv_log_set_level(cfg->log_level);
    srv_app app = {.cfg = cfg, .started = (int64_t)time(NULL), .web_fd = -1};
    char err[SRV_ERRMSG];
    if (srv_backend_open(cfg, AUTH_OPEN_SERVICE, &(auth_log){store_logged, &app}, &app.au, err,
                         sizeof err) != 0) {
        fprintf(stderr, "jwtd: %s\n", err);
        return 1;
    }
    srv_filecheck(cfg, stderr); /* key files and database readable by group/others */
    auth_config ac;
    srv_config_auth(cfg, &ac);
    if (srv_limits_open(&app, ac.now, err, sizeof err) != 0) {
        fprintf(stderr, "jwtd: %s\n", err);
        auth_free(app.au);
        return 1;
    }
    srv_web_open(&app);
    /* Keys rotated and tokens revoked elsewhere (jwtd keys, other instances) reach this
     * instance through the sync thread, within a second. */
    if (auth_sync_start(app.au) != AUTH_OK) {
        fprintf(stderr, "jwtd: cannot start the sync thread\n");
        srv_web_close(&app);
        srv_limits_close(&app);
        auth_free(app.au);
        return 1;
    }
    size_t users = 0;
    auth_err uerr = auth_user_count(app.au, &users);

    http_config hc = {
        .listen = cfg->listen,
        .threads = (unsigned)cfg->threads,
        .workers = (unsigned)cfg->workers,
        .max_body = (size_t)cfg->max_body,
        .idle_timeout_ms = (unsigned)cfg->request_timeout * 1000u,
        .tls_cert = cfg->tls_cert[0] != '\0' ? cfg->tls_cert : NULL,
        .tls_key = cfg->tls_key[0] != '\0' ? cfg->tls_key : NULL,
        .router = srv_route,
        .app = &app,
        .refused = srv_refused,
        .hangup = on_hangup,
    };
    http_server *srv = NULL;
    const char *why = NULL;
    int rc = 0;
    if (http_server_start(&hc, &srv, &why) != 0) {
        fprintf(stderr, "jwtd: cannot serve on %s: %s\n", cfg->listen,
                why != NULL ? why : "start-up failed");
        rc = 1;
    } else {
        char data[PATH_MAX + 16];
        data_location(cfg->db, data, sizeof data);
        if (cfg->public_url[0] != '\0')
            snprintf(app.public_url, sizeof app.public_url, "%s", cfg->public_url);
        else
            snprintf(app.public_url, sizeof app.public_url, "%s://%s",
                     hc.tls_cert != NULL ? "https" : "http", http_server_address(srv));
        atomic_store(&app.public_url_set, true);
        if (uerr == AUTH_OK && users == 0)
            printf("jwtd: no users yet: create the first admin with: jwtd user add NAME --role "
                   "admin\n");
        printf("jwtd: listening on %s://%s (data: %s)\n", hc.tls_cert != NULL ? "https" : "http",
               http_server_address(srv), data);
        fflush(stdout);
        srv_log(SRV_LOG_INFO, "started",
                json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I}", "listen", http_server_address(srv),
                          "db", data, "registration", srv_config_enum_name(cfg, "registration"),
                          "rate_limit", srv_config_enum_name(cfg, "rate-limit"), "hs256_secret",
                          cfg->jwt_secret[0] != '\0', "access_ttl", (json_int_t)cfg->access_ttl,
                          "refresh_ttl", (json_int_t)cfg->refresh_ttl));
        http_server_wait(srv);
        srv_log(SRV_LOG_INFO, "stopped", NULL);
        http_server_free(srv);
    }
    srv_web_close(&app);
    srv_limits_close(&app);
    auth_free(app.au);
    return rc;
}
