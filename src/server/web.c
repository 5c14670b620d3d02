/* The demo page at / : files of the web directory (web-dir; its default "auto" is
 * BINDIR/../share/jwtd/web beside an installed jwtd, else the source tree's web/), served only when
 * it holds index.html. Paths are checked by srv_web_content_type (no "..", no hidden files, known
 * extensions) and opened relative to the directory without following a final symlink. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "log.h"
#include "reqparse.h"

#ifndef JWTD_WEB_DIR
#define JWTD_WEB_DIR "web"
#endif
#ifndef JWTD_WEB_FROM_BIN
#define JWTD_WEB_FROM_BIN "../share/jwtd/web"
#endif

/* web-dir auto: JWTD_WEB_FROM_BIN relative to the directory of /proc/self/exe when it holds
 * index.html (an installed jwtd, whatever its prefix), else the source tree's web/ compiled
 * in (jwtd run from its build tree). */
static const char *web_dir_auto(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0 || (size_t)n >= len - 1)
        return JWTD_WEB_DIR;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash == NULL)
        return JWTD_WEB_DIR;
    size_t at = (size_t)(slash - buf) + 1;
    int w = snprintf(buf + at, len - at, "%s", JWTD_WEB_FROM_BIN);
    if (w < 0 || (size_t)w >= len - at)
        return JWTD_WEB_DIR;
    int fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool found = fd >= 0 && faccessat(fd, "index.html", R_OK, 0) == 0;
    if (fd >= 0)
        close(fd);
    return found ? buf : JWTD_WEB_DIR;
}

void srv_web_open(srv_app *app)
{
    char buf[PATH_MAX];
    const char *dir = app->cfg->web_dir;
    if (strcmp(dir, SRV_WEB_DIR_AUTO) == 0)
        dir = web_dir_auto(buf, sizeof buf);
    app->web_fd = -1;
    if (dir[0] == '\0')
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 && faccessat(fd, "index.html", R_OK, 0) == 0) {
        app->web_fd = fd;
        srv_log(SRV_LOG_INFO, "serving the demo page", json_pack("{s:s}", "web_dir", dir));
        return;
    }
    if (fd >= 0)
        close(fd);
    srv_log(SRV_LOG_INFO, "no demo page: web-dir has no index.html (GET / answers 404)",
            json_pack("{s:s}", "web_dir", dir));
}

void srv_web_close(srv_app *app)
{
    if (app->web_fd >= 0)
        close(app->web_fd);
    app->web_fd = -1;
}

/* Reads a regular file of at most SRV_MAX_WEB_FILE bytes; NULL otherwise. */
static char *read_web_file(int dir_fd, const char *rel, size_t *len)
{
    int fd = openat(dir_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (off_t)SRV_MAX_WEB_FILE)
        buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf != NULL && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (buf != NULL && got != (size_t)st.st_size) {
        free(buf);
        return NULL;
    }
    if (buf != NULL)
        buf[got] = '\0';
    *len = got;
    return buf;
}

bool srv_web_serve(srv_app *app, const http_request *req, http_response *resp)
{
    static const char index_path[] = "/index.html";
    const char *path = req->path;
    size_t path_len = req->path_len;
    if (path_len == 1) {
        path = index_path;
        path_len = sizeof index_path - 1;
    }
    const char *type = srv_web_content_type(path, path_len);
    char rel[SRV_MAX_WEB_PATH + 1];
    if (app->web_fd < 0 || type == NULL)
        return false;
    memcpy(rel, path + 1, path_len - 1); /* path_len <= SRV_MAX_WEB_PATH: checked by type */
    rel[path_len - 1] = '\0';
    size_t len = 0;
    char *body = read_web_file(app->web_fd, rel, &len);
    if (body == NULL)
        return false;
    http_response_json(resp, 200, body);
    resp->body_len = len;
    resp->content_type = type;
    http_response_header(resp, "Cache-Control", "no-cache");
    http_response_header(resp, "X-Content-Type-Options", "nosniff");
    http_response_header(resp, "Referrer-Policy", "no-referrer");
    if (strncmp(type, "text/html", 9) == 0) {
        /* The page uses only its own script and style files: nothing inline, nothing
         * from elsewhere, and it may not be framed (clickjacking). */
        http_response_header(resp, "Content-Security-Policy",
                             "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                             "base-uri 'none'; form-action 'self'");
        http_response_header(resp, "X-Frame-Options", "DENY");
    }
    return true;
}
