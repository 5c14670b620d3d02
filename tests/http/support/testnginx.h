/* A real nginx in front of jwtd for the tests that need a proxy (tests/framing, tests/multi,
 * tests/forward):
 * one process (master_process off, so no user switch), its files in a folder of the test,
 * proxying a free loopback port round-robin to one or more jwtd ports on keep-alive upstream
 * connections, always stopped. Part of the jwtd_testserver library. */
#ifndef JWTD_TESTNGINX_H
#define JWTD_TESTNGINX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TESTNGINX_START_MS 10000 /* until it answers GET /healthz */
#define TESTNGINX_MAX_UPSTREAMS 8

typedef struct testnginx {
    pid_t pid; /* 0 when not running */
    int port;
    char dir[4096];
    char access_log[4200]; /* one line per client request, in the caller's format */
} testnginx;

/* A free loopback port (bound, read, released: the caller binds it right after), or -1. */
int testnginx_free_port(void);

/* Starts nginx from bin with its folder dir (made anew), proxying to 127.0.0.1:ports[i]
 * (n of them, round robin), logging each request with log_format (nginx variables, e.g.
 * "$request_uri|$upstream_status") and passing the client's address in X-Forwarded-For;
 * waits until GET /healthz answers 200 through it. false when it did not come up (then it is
 * stopped). */
bool testnginx_start(testnginx *ng, const char *bin, const char *dir, const int *ports, size_t n,
                     const char *log_format);
/* The same with the caller's configuration added: extra_http inside http {} (more upstreams
 * and servers), extra_server inside the proxying server {} after its location / (more
 * locations, or an include of a file that has them, as tests/forward includes docs'). Either
 * may be NULL. */
bool testnginx_start_with(testnginx *ng, const char *bin, const char *dir, const int *ports,
                          size_t n, const char *log_format, const char *extra_http,
                          const char *extra_server);
void testnginx_stop(testnginx *ng);

#endif /* JWTD_TESTNGINX_H */
