/* See testnginx.h. */
#include "testnginx.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rawhttp.h"
#include "testutil.h"

int testnginx_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
        getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
        port = ntohs(sin.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Whether GET /healthz through port answers 200. */
static bool answers(int port)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    raw_conn conn;
    if (!raw_open(&conn, port))
        return false;
    raw_response r = {0};
    bool ok = raw_send(&conn, req, sizeof req - 1) && raw_read_response(&conn, &r, 2000) &&
              r.status == 200;
    if (r.status != 0)
        raw_response_free(&r);
    raw_close(&conn);
    return ok;
}

/* Writes nginx.conf into ng->dir (with the caller's extra text in http {} and in the
 * server {}, either may be NULL); false when it cannot. */
static bool write_conf(const testnginx *ng, const char *conf_path, const int *ports, size_t n,
                       const char *log_format, const char *extra_http, const char *extra_server)
{
    FILE *f = fopen(conf_path, "w");
    if (f == NULL)
        return false;
    fprintf(f,
            "daemon off;\nmaster_process off;\nworker_processes 1;\n"
            "error_log %s/error.log warn;\npid %s/nginx.pid;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            "  log_format testlog '%s';\n"
            "  access_log %s testlog;\n"
            "  client_body_temp_path %s/body; proxy_temp_path %s/proxy;\n"
            "  fastcgi_temp_path %s/fastcgi; uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;\n"
            "  upstream jwtd {\n",
            ng->dir, ng->dir, log_format, ng->access_log, ng->dir, ng->dir, ng->dir, ng->dir,
            ng->dir);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "    server 127.0.0.1:%d max_fails=1 fail_timeout=2s;\n", ports[i]);
    fprintf(f,
            "    keepalive 4;\n  }\n"
            "%s\n"
            "  server {\n"
            "    listen 127.0.0.1:%d;\n"
            "    location / { proxy_pass http://jwtd; proxy_http_version 1.1;\n"
            "                 proxy_set_header Connection \"\"; proxy_set_header Host a;\n"
            "                 proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }\n"
            "%s\n"
            "  }\n"
            "}\n",
            extra_http != NULL ? extra_http : "", ng->port,
            extra_server != NULL ? extra_server : "");
    return fclose(f) == 0;
}

bool testnginx_start(testnginx *ng, const char *bin, const char *dir, const int *ports, size_t n,
                     const char *log_format)
{
    return testnginx_start_with(ng, bin, dir, ports, n, log_format, NULL, NULL);
}

bool testnginx_start_with(testnginx *ng, const char *bin, const char *dir, const int *ports,
                          size_t n, const char *log_format, const char *extra_http,
                          const char *extra_server)
{
    memset(ng, 0, sizeof *ng);
    if (n == 0 || n > TESTNGINX_MAX_UPSTREAMS)
        return false;
    snprintf(ng->dir, sizeof ng->dir, "%s", dir);
    testutil_remove_tree(ng->dir);
    if (mkdir(ng->dir, 0700) != 0)
        return false;
    ng->port = testnginx_free_port();
    snprintf(ng->access_log, sizeof ng->access_log, "%s/access.log", ng->dir);
    char conf_path[4200];
    snprintf(conf_path, sizeof conf_path, "%s/nginx.conf", ng->dir);
    if (ng->port < 0 || !write_conf(ng, conf_path, ports, n, log_format, extra_http, extra_server))
        return false;
    ng->pid = fork();
    if (ng->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(bin, bin, "-p", ng->dir, "-c", conf_path, (char *)NULL);
        _exit(127);
    }
    if (ng->pid < 0) {
        ng->pid = 0;
        return false;
    }
    long deadline = testutil_now_ms() + TESTNGINX_START_MS;
    while (testutil_now_ms() < deadline) {
        if (answers(ng->port))
            return true;
        if (waitpid(ng->pid, NULL, WNOHANG) == ng->pid) {
            ng->pid = 0;
            return false;
        }
        testutil_sleep_ms(50);
    }
    testnginx_stop(ng);
    return false;
}

void testnginx_stop(testnginx *ng)
{
    if (ng->pid <= 0)
        return;
    kill(ng->pid, SIGTERM);
    long deadline = testutil_now_ms() + 5000;
    while (waitpid(ng->pid, NULL, WNOHANG) == 0 && testutil_now_ms() < deadline)
        testutil_sleep_ms(20);
    kill(ng->pid, SIGKILL);
    waitpid(ng->pid, NULL, 0);
    ng->pid = 0;
}
