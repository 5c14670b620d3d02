/* An h2o handler (libh2o-evloop, as jwtd serve uses) whose route GET /hello accepts only jwtd
 * access tokens carrying a role, through libjwtd-rs.
 *
 *   rs_h2o JWKS_URL ISSUER AUDIENCE ROLE
 *
 * It listens on a free 127.0.0.1 port, prints "listening on http://127.0.0.1:PORT", and runs
 * until SIGINT or SIGTERM. One event loop: a JWKS fetch (rare: max-age, or an unknown kid at
 * most once per interval; bounded by curl timeouts) blocks it meanwhile; a busy service would
 * run jwtd_rs_authorize on worker threads. Built with:
 *   cc rs_h2o.c -DH2O_USE_LIBUV=0 $(pkg-config --cflags --libs libjwtd-rs libh2o-evloop) */
#include <arpa/inet.h>
#include <h2o.h>
#include <jwtd/jwtd_rs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The route's handler, with what every request needs (built once). */
typedef struct hello_handler {
    h2o_handler_t super;
    jwtd_rs_jwks *jwks;
    jwtd_rs_policy policy;
} hello_handler;

static h2o_accept_ctx_t accept_ctx;
static volatile sig_atomic_t stopping;

/* SIGINT, SIGTERM: leave the loop. */
static void on_signal(int sig) { stopping = sig; }

/* Sends a JSON body (h2o copies it) with status, and WWW-Authenticate when there is one. */
static int send_json(h2o_req_t *req, int status, const char *body, const char *www_authenticate)
{
    req->res.status = status;
    req->res.reason = status == 200 ? "OK" : status == 403 ? "Forbidden" : "Unauthorized";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    if (www_authenticate[0] != '\0') {
        h2o_iovec_t v = h2o_strdup(&req->pool, www_authenticate, SIZE_MAX);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL, v.base,
                       v.len);
    }
    h2o_send_inline(req, body, strlen(body));
    return 0;
}

/* GET /hello: the verdict decides; the token's subject is greeted (JSON built by libjwtd). */
static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    hello_handler *h = (hello_handler *)self;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")))
        return -1;
    const char *auth = NULL;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i >= 0) /* h2o's values are not NUL-terminated */
        auth = h2o_strdup(&req->pool, req->headers.entries[i].value.base,
                          req->headers.entries[i].value.len)
                   .base;
    jwtd_rs_verdict v;
    if (jwtd_rs_authorize(h->jwks, &h->policy, auth, &v) != 200) {
        send_json(req, v.status, v.body, v.www_authenticate);
        jwtd_rs_verdict_clear(&v);
        return 0;
    }
    const char *sub = "";
    jwtd_claims *hello = NULL;
    char *json = NULL;
    (void)jwtd_token_claim_string(v.token, "sub", &sub);
    if (jwtd_claims_new(&hello) == JWTD_OK && jwtd_claims_set_string(hello, "hello", sub) == 0)
        (void)jwtd_claims_json(hello, &json);
    send_json(req, json != NULL ? 200 : 500, json != NULL ? json : "{}", "");
    jwtd_free(json);
    jwtd_claims_free(hello);
    jwtd_rs_verdict_clear(&v);
    return 0;
}

/* A new connection on the listener: handed to h2o. */
static void on_accept(h2o_socket_t *listener, const char *err)
{
    h2o_socket_t *sock = err == NULL ? h2o_evloop_socket_accept(listener) : NULL;
    if (sock != NULL)
        h2o_accept(&accept_ctx, sock);
}

/* A listening socket on 127.0.0.1 and a free port (in *port), or -1. */
static int listen_loopback(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s JWKS_URL ISSUER AUDIENCE ROLE\n", argv[0]);
        return 2;
    }
    jwtd_rs_jwks_options o;
    jwtd_rs_jwks_options_init(&o);
    o.allow_http = strncmp(argv[1], "http://127.0.0.1:", 17) == 0; /* loopback only */
    o.refetch_interval = 1; /* a test rotates keys; production keeps the default */
    jwtd_rs_jwks *jwks = NULL;
    jwtd_validation *v = NULL;
    if (jwtd_rs_jwks_new(argv[1], &o, &jwks) != JWTD_RS_OK || jwtd_validation_new(&v) ||
        jwtd_validation_allow_alg(v, JWTD_ALG_RS256) || jwtd_validation_add_issuer(v, argv[2]) ||
        jwtd_validation_add_audience(v, argv[3]) || jwtd_validation_set_typ(v, "at+jwt")) {
        fprintf(stderr, "cannot set up the JWKS or the validation\n");
        jwtd_rs_jwks_free(jwks);
        jwtd_validation_free(v);
        return 1;
    }

    static h2o_globalconf_t config;
    h2o_config_init(&config);
    h2o_hostconf_t *host =
        h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/hello", 0);
    hello_handler *h = (hello_handler *)h2o_create_handler(path, sizeof *h);
    h->super.on_req = on_req;
    h->jwks = jwks;
    h->policy = (jwtd_rs_policy){.realm = "hello", .validation = v, .required_role = argv[4]};

    static h2o_context_t ctx;
    h2o_evloop_t *loop = h2o_evloop_create();
    h2o_context_init(&ctx, loop, &config);
    accept_ctx.ctx = &ctx;
    accept_ctx.hosts = config.hosts;
    unsigned port = 0;
    int fd = listen_loopback(&port);
    int rc = 1;
    if (fd >= 0) {
        h2o_socket_t *listener = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
        h2o_socket_read_start(listener, on_accept);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGPIPE, SIG_IGN);
        printf("listening on http://127.0.0.1:%u\n", port);
        fflush(stdout);
        while (!stopping && h2o_evloop_run(loop, 200) == 0)
            ;
        h2o_socket_close(listener);
        h2o_evloop_run(loop, 0);
        rc = 0;
    }
    h2o_multithread_queue_t *queue = ctx.queue;
    h2o_context_dispose(&ctx);
#if H2O_VERSION_MAJOR == 2 && H2O_VERSION_MINOR == 2
    free(queue); /* h2o 2.2's h2o_context_dispose closes its queue but never frees it */
#else
    (void)queue;
#endif
    h2o_evloop_destroy(loop);
    h2o_config_dispose(&config);
    jwtd_rs_jwks_free(jwks);
    jwtd_validation_free(v);
    return rc;
}
