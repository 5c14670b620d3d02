/* The server: parses the listen address, binds one SO_REUSEPORT socket per event loop, runs
 * the h2o loops (one thread each), accepts connections, routes each request to an inline or
 * a blocking handler, and shuts everything down on SIGINT/SIGTERM or http_server_stop. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http_internal.h"

/* The single h2o handler, registered at "/": every request goes through the router. */
typedef struct http_root_handler {
    h2o_handler_t super;
    http_server *srv;
} http_root_handler;

static const char ERROR_NOT_FOUND[] = "{\"error\":\"not found\"}";
static const char ERROR_BUSY[] = "{\"error\":\"service busy\"}";
static const char ERROR_HEADERS[] = "{\"error\":\"request headers too large\"}";
static const char ERROR_BAD_REQUEST[] = "{\"error\":\"bad request\"}";

void http_thread_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* ---- the listen address ---- */

/* "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6), numeric only; 0 on success. */
static int parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[INET6_ADDRSTRLEN];
    const char *port;
    size_t host_len;
    memset(ss, 0, sizeof(*ss));
    bool v6 = text[0] == '[';
    if (v6) {
        const char *end = strchr(text, ']');
        if (end == NULL || end[1] != ':')
            return -1;
        host_len = (size_t)(end - text - 1);
        text++;
        port = end + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL)
            return -1;
        host_len = (size_t)(colon - text);
        port = colon + 1;
    }
    if (host_len == 0 || host_len >= sizeof(host))
        return -1;
    memcpy(host, text, host_len);
    host[host_len] = '\0';

    size_t digits = strspn(port, "0123456789");
    if (digits == 0 || digits > 5 || port[digits] != '\0')
        return -1;
    unsigned long portnum = strtoul(port, NULL, 10);
    if (portnum > 65535)
        return -1;

    if (v6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)portnum);
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            return -1;
        *sslen = sizeof(*sin6);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)portnum);
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
            return -1;
        *sslen = sizeof(*sin);
    }
    return 0;
}

static uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void sockaddr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
}

/* The address without the port, e.g. "127.0.0.1" or "::1". */
static void format_host(const struct sockaddr_storage *ss, char *out, size_t size)
{
    const void *addr = ss->ss_family == AF_INET6
                           ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
                           : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
    if (inet_ntop(ss->ss_family, addr, out, (socklen_t)size) == NULL)
        out[0] = '\0';
}

/* A listening socket on ss. With reuseport, every event loop binds its own socket to the same
 * address and the kernel spreads new connections across them: no shared accept queue, no
 * thundering herd, and each loop accepts without locks. -1 with errno on failure. */
static int bind_socket(const struct sockaddr_storage *ss, socklen_t sslen, bool reuseport)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        (ss->ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
        bind(fd, (const struct sockaddr *)ss, sslen) != 0 ||
        (reuseport && listen(fd, SOMAXCONN) != 0)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Binds n listening sockets to the configured address into fds[]; fills srv->address. */
static int bind_listeners(http_server *srv, struct sockaddr_storage *ss, socklen_t sslen, int *fds,
                          unsigned n, const char **why)
{
    /* SO_REUSEPORT would let a second jwtd (same user) silently share a busy port: a plain
     * bind first says whether anyone else holds it. Port 0 needs no probe (the kernel never
     * hands out a port that is shared this way). */
    if (sockaddr_port(ss) != 0) {
        int probe = bind_socket(ss, sslen, false);
        if (probe < 0) {
            *why = errno == EADDRINUSE ? "listen address already in use"
                                       : "cannot bind the listen address";
            return -1;
        }
        close(probe);
    }
    for (unsigned i = 0; i < n; i++) {
        fds[i] = bind_socket(ss, sslen, true);
        if (fds[i] < 0) {
            *why = errno == EADDRINUSE ? "listen address already in use"
                                       : "cannot bind the listen address";
            for (unsigned j = 0; j < i; j++)
                close(fds[j]);
            return -1;
        }
        if (i == 0 && sockaddr_port(ss) == 0) {
            /* Port 0: the first socket learns the port, the others join it. */
            struct sockaddr_storage bound;
            memset(&bound, 0, sizeof(bound));
            socklen_t len = sizeof(bound);
            if (getsockname(fds[0], (struct sockaddr *)&bound, &len) != 0) {
                *why = "cannot read the bound address";
                close(fds[0]);
                return -1;
            }
            sockaddr_set_port(ss, sockaddr_port(&bound));
        }
    }
    char host[INET6_ADDRSTRLEN];
    format_host(ss, host, sizeof(host));
    if (ss->ss_family == AF_INET6)
        snprintf(srv->address, sizeof(srv->address), "[%s]:%u", host, (unsigned)sockaddr_port(ss));
    else
        snprintf(srv->address, sizeof(srv->address), "%s:%u", host, (unsigned)sockaddr_port(ss));
    return 0;
}

/* ---- connections ---- */

static void on_conn_close(void *data)
{
    http_conn *conn = data;
    h2o_linklist_unlink(&conn->link);
    free(conn);
}

static void on_accept(h2o_socket_t *listener, const char *err);

/* The pause is over: listen for connections again (unless the loop is stopping). */
static void on_accept_pause_over(h2o_timeout_entry_t *entry)
{
    http_loop *loop = H2O_STRUCT_FROM_MEMBER(http_loop, accept_pause_entry, entry);
    if (loop->listener != NULL && !loop->stopping)
        h2o_socket_read_start(loop->listener, on_accept);
}

/* Out of descriptors (or kernel memory): the connection waits in the kernel's queue, and the
 * listener stays readable, so the loop would be woken for it again at once, and again,
 * burning a core until a descriptor frees up. Stop reading the listener for a moment instead;
 * idle connections closing (the request timeout) free descriptors meanwhile. */
static void pause_accepting(http_loop *loop)
{
    if (h2o_timeout_is_linked(&loop->accept_pause_entry))
        return;
    h2o_socket_read_stop(loop->listener);
    h2o_timeout_link(loop->evloop, &loop->accept_pause_timeout, &loop->accept_pause_entry);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    http_loop *loop = listener->data;
    if (err != NULL)
        return;
    int lfd = h2o_socket_get_fd(listener);
    for (int i = 0; i < HTTP_ACCEPT_BATCH; i++) {
        struct sockaddr_storage peer;
        memset(&peer, 0, sizeof(peer));
        socklen_t peerlen = sizeof(peer);
        int fd = accept4(lfd, (struct sockaddr *)&peer, &peerlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                pause_accepting(loop);
            return; /* EAGAIN: all taken; anything else: retried on the next event */
        }
        http_conn *conn = malloc(sizeof(*conn));
        if (conn == NULL) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn->link = (h2o_linklist_t){NULL, NULL};
        conn->loop = loop;
        conn->fd = fd;
        format_host(&peer, conn->peer, sizeof(conn->peer));
        h2o_socket_t *sock =
            h2o_evloop_socket_create(loop->evloop, fd, H2O_SOCKET_FLAG_IS_ACCEPTED_CONNECTION);
        sock->on_close.cb = on_conn_close;
        sock->on_close.data = conn;
        h2o_linklist_insert(&loop->conns, &conn->link);
        h2o_accept(&loop->accept_ctx, sock);
    }
}

/* ---- requests ---- */

/* The address the connection came from, formatted once by on_accept: every connection comes
 * from there, so the socket's close data is always its http_conn. */
static const char *request_peer(h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    return ((const http_conn *)sock->on_close.data)->peer;
}

void http_report_refusal(http_server *srv, h2o_req_t *req, int status, http_refusal why)
{
    if (srv->cfg.refused != NULL)
        srv->cfg.refused(srv->cfg.app, why, status, request_peer(req));
}

void http_refuse(http_server *srv, h2o_req_t *req, int status, http_refusal why)
{
    req->http1_is_persistent = 0;
    if (status == 431)
        http_send_static_json(req, status, ERROR_HEADERS, sizeof(ERROR_HEADERS) - 1);
    else
        http_send_static_json(req, status, ERROR_BAD_REQUEST, sizeof(ERROR_BAD_REQUEST) - 1);
    http_report_refusal(srv, req, status, why);
}

/* Every request: the framing checks, a view on the stack (no allocation), the router once,
 * then the handler it chose inline or on a worker, with the route in the view. */
static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    http_server *srv = ((http_root_handler *)self)->srv;
    http_loop *loop = H2O_STRUCT_FROM_MEMBER(http_loop, ctx, req->conn->ctx);

    http_refusal why;
    bool close_after;
    int refuse_status = http_framing_check(srv, req, &why, &close_after);
    if (refuse_status != 0) {
        http_refuse(srv, req, refuse_status, why);
        return 0;
    }
    if (close_after)
        req->http1_is_persistent = 0;

    http_req_impl impl = {.kind = HTTP_REQ_H2O, .h2o = req};
    http_request view;
    view.method = req->method.base;
    view.method_len = req->method.len;
    view.path = req->path.base;
    if (req->query_at != SIZE_MAX) {
        view.path_len = req->query_at;
        view.query = req->path.base + req->query_at + 1;
        view.query_len = req->path.len - req->query_at - 1;
    } else {
        view.path_len = req->path.len;
        view.query = NULL;
        view.query_len = 0;
    }
    view.body = req->entity.base != NULL ? req->entity.base : "";
    view.body_len = req->entity.base != NULL ? req->entity.len : 0;
    memcpy(view.peer, request_peer(req), sizeof(view.peer));
    view.impl = &impl;
    view.headers = NULL;
    view.nheaders = 0;
    view.route = NULL;

    http_route route = {0};
    srv->cfg.router(srv->cfg.app, &view, &route);
    if (route.handler == NULL) {
        http_send_static_json(req, 404, ERROR_NOT_FOUND, sizeof(ERROR_NOT_FOUND) - 1);
        return 0;
    }
    view.route = &route;
    if (!route.blocking) {
        http_response resp;
        memset(&resp, 0, sizeof(resp));
        route.handler(srv->cfg.app, &view, &resp);
        http_send_response(req, &resp);
        http_response_clear(&resp);
        return 0;
    }
    if (http_job_dispatch(loop, req, &view) != 0) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
        http_send_static_json(req, 503, ERROR_BUSY, sizeof(ERROR_BUSY) - 1);
    }
    return 0;
}

/* ---- event loops ---- */

static void on_tick(h2o_timeout_entry_t *entry)
{
    http_loop *loop = H2O_STRUCT_FROM_MEMBER(http_loop, tick_entry, entry);
    loop->srv->cfg.tick(loop->srv->cfg.app);
    if (!loop->stopping)
        h2o_timeout_link(loop->evloop, &loop->tick_timeout, &loop->tick_entry);
}

/* The grace period after a stop is over: cut what is left (a client that does not read its
 * answer, a handler still running); h2o then sees the errors and closes them. */
static void on_grace_over(h2o_timeout_entry_t *entry)
{
    http_loop *loop = H2O_STRUCT_FROM_MEMBER(http_loop, grace_entry, entry);
    for (h2o_linklist_t *l = loop->conns.next; l != &loop->conns; l = l->next)
        shutdown(H2O_STRUCT_FROM_MEMBER(http_conn, link, l)->fd, SHUT_RDWR);
}

/* The stop message: stop accepting, let the answers being made go out, end the others. */
static void on_wake(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    http_loop *loop = H2O_STRUCT_FROM_MEMBER(http_loop, wake_receiver, receiver);
    for (h2o_linklist_t *node = messages->next, *next; node != messages; node = next) {
        next = node->next;
        h2o_linklist_unlink(node);
    }
    if (loop->stopping)
        return;
    loop->stopping = true;
    if (loop->listener != NULL) {
        h2o_socket_close(loop->listener);
        loop->listener = NULL;
    }
    if (loop->has_tick && h2o_timeout_is_linked(&loop->tick_entry))
        h2o_timeout_unlink(&loop->tick_entry);
    if (h2o_timeout_is_linked(&loop->accept_pause_entry))
        h2o_timeout_unlink(&loop->accept_pause_entry);
    /* No more keep-alive: answers say "Connection: close". (Not h2o_context_request_shutdown,
     * whose HTTP/2 part arms a timer that h2o_context_dispose then trips on.) An idle
     * connection reads EOF and closes; one waiting for its answer gets it first, since h2o
     * does not read while a request is being handled. */
    loop->ctx.shutdown_requested = 1;
    for (h2o_linklist_t *l = loop->conns.next; l != &loop->conns; l = l->next)
        shutdown(H2O_STRUCT_FROM_MEMBER(http_conn, link, l)->fd, SHUT_RD);
    h2o_timeout_link(loop->evloop, &loop->grace_timeout, &loop->grace_entry);
}

static bool loop_finished(http_loop *loop)
{
    return loop->stopping && loop->jobs_in_flight == 0 && h2o_linklist_is_empty(&loop->conns);
}

/* h2o 2.2 keeps freed memory per thread for reuse: socket buffers in the exported
 * h2o_socket_buffer_prototype, request-pool chunks (at most 16 of 4 KiB) in a static
 * thread-local list of its memory.c. h2o's own server never ends its threads; ours do, and
 * whatever is left in those lists would be lost. Called last on a loop thread. */
#define HTTP_H2O_POOL_RECYCLE_MAX 16
static void release_thread_caches(void)
{
    h2o_mem_recycle_t *buffers = &h2o_socket_buffer_prototype.allocator;
    while (buffers->cnt > 0)
        free(h2o_mem_alloc_recycle(buffers, 1));
    /* The pool list has no public handle: a fresh pool takes one chunk from it per first
     * allocation (or mallocs one when it is empty), and pool.chunks is that block. */
    for (int i = 0; i < HTTP_H2O_POOL_RECYCLE_MAX; i++) {
        h2o_mem_pool_t pool;
        h2o_mem_init_pool(&pool);
        h2o_mem_alloc_pool(&pool, 1);
        free(pool.chunks);
    }
}

/* Undoes loop_init, on the loop's thread once it has finished (on_wake closed the listener). */
static void loop_teardown(http_loop *loop)
{
    if (loop->has_tick) {
        if (h2o_timeout_is_linked(&loop->tick_entry))
            h2o_timeout_unlink(&loop->tick_entry);
        h2o_timeout_dispose(loop->evloop, &loop->tick_timeout);
    }
    if (h2o_timeout_is_linked(&loop->grace_entry))
        h2o_timeout_unlink(&loop->grace_entry);
    h2o_timeout_dispose(loop->evloop, &loop->grace_timeout);
    if (h2o_timeout_is_linked(&loop->accept_pause_entry))
        h2o_timeout_unlink(&loop->accept_pause_entry);
    h2o_timeout_dispose(loop->evloop, &loop->accept_pause_timeout);
    h2o_multithread_unregister_receiver(loop->ctx.queue, &loop->done_receiver);
    h2o_multithread_unregister_receiver(loop->ctx.queue, &loop->wake_receiver);
    h2o_multithread_queue_t *queue = loop->ctx.queue;
    h2o_context_dispose(&loop->ctx);
#if H2O_VERSION_MAJOR == 2 && H2O_VERSION_MINOR == 2
    /* h2o 2.2's h2o_multithread_destroy_queue (called by h2o_context_dispose) closes the
     * queue's socket but never frees the queue itself. */
    free(queue);
#else
    (void)queue;
#endif
    h2o_evloop_destroy(loop->evloop);
    loop->evloop = NULL;
    release_thread_caches();
}

/* Sets up the loop's h2o state around its listening socket (which it then owns). This runs
 * on the loop's own thread: h2o 2.2 ties a socket's buffers to the thread-local buffer
 * cache of the thread that created it, so sockets made elsewhere would recycle their
 * buffers into another thread's cache, unsynchronized. */
static void loop_init(http_loop *loop)
{
    http_server *srv = loop->srv;
    loop->evloop = h2o_evloop_create();
    h2o_context_init(&loop->ctx, loop->evloop, &srv->globalconf);
    loop->accept_ctx.ctx = &loop->ctx;
    loop->accept_ctx.hosts = srv->globalconf.hosts;
    loop->accept_ctx.ssl_ctx = srv->ssl_ctx; /* NULL: plain HTTP; else h2o does the handshake */
    h2o_linklist_init_anchor(&loop->conns);
    h2o_multithread_register_receiver(loop->ctx.queue, &loop->done_receiver, http_jobs_on_done);
    h2o_multithread_register_receiver(loop->ctx.queue, &loop->wake_receiver, on_wake);
    loop->listener =
        h2o_evloop_socket_create(loop->evloop, loop->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    loop->listen_fd = -1;
    loop->listener->data = loop;
    h2o_socket_read_start(loop->listener, on_accept);
    h2o_timeout_init(loop->evloop, &loop->grace_timeout, HTTP_SHUTDOWN_GRACE_MS);
    loop->grace_entry.cb = on_grace_over;
    h2o_timeout_init(loop->evloop, &loop->accept_pause_timeout, HTTP_ACCEPT_PAUSE_MS);
    loop->accept_pause_entry.cb = on_accept_pause_over;
    if (loop->index == 0 && srv->cfg.tick != NULL && srv->cfg.tick_ms > 0) {
        h2o_timeout_init(loop->evloop, &loop->tick_timeout, srv->cfg.tick_ms);
        loop->tick_entry.cb = on_tick;
        h2o_timeout_link(loop->evloop, &loop->tick_timeout, &loop->tick_entry);
        loop->has_tick = true;
    }
}

static void *loop_main(void *arg)
{
    http_loop *loop = arg;
    http_server *srv = loop->srv;
    http_thread_block_signals();
    loop_init(loop);
    pthread_mutex_lock(&srv->ready_mu);
    srv->ready++;
    pthread_cond_broadcast(&srv->ready_cv);
    pthread_mutex_unlock(&srv->ready_mu);
    while (!loop_finished(loop))
        h2o_evloop_run(loop->evloop, INT32_MAX);
    loop_teardown(loop);
    return NULL;
}

/* ---- the server ---- */

static unsigned count_or_cores(unsigned n)
{
    if (n == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (unsigned)cores : 1;
    }
    return n > HTTP_MAX_THREADS ? HTTP_MAX_THREADS : n;
}

/* Stops the loops and the workers and waits for them; idempotent. */
static void server_shutdown(http_server *srv)
{
    if (srv->shut_down)
        return;
    srv->shut_down = true;
    for (unsigned i = 0; i < srv->nloops; i++)
        if (srv->loops[i].started)
            h2o_multithread_send_message(&srv->loops[i].wake_receiver, &srv->loops[i].wake_msg);
    /* Every queued job still runs and goes back to its loop, which is still running. */
    if (srv->workers != NULL)
        http_workers_drain(srv->workers);
    for (unsigned i = 0; i < srv->nloops; i++) {
        if (srv->loops[i].started)
            pthread_join(srv->loops[i].thread, NULL);
        else if (srv->loops[i].listen_fd >= 0)
            close(srv->loops[i].listen_fd);
    }
}

/* Every connection holds a descriptor. The soft limit a shell or a service manager hands
 * down is often 1024, far below what an event loop can hold idle: it goes up to the hard
 * limit (capped at HTTP_NOFILE_MAX), so that the administrator's hard limit, not an accident
 * of the environment, says how many clients fit. Best effort: a failure leaves it as it was. */
static void raise_nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = rl.rlim_max;
    if (want == RLIM_INFINITY || want > HTTP_NOFILE_MAX)
        want = HTTP_NOFILE_MAX;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void configure_h2o(http_server *srv)
{
    h2o_globalconf_t *g = &srv->globalconf;
    h2o_config_init(g);
    g->server_name = h2o_iovec_init(H2O_STRLIT("")); /* no "Server:" header */
    g->max_request_entity_size = srv->cfg.max_body;
    g->http1.req_timeout = srv->cfg.idle_timeout_ms;
    g->http1.upgrade_to_http2 = 0;
    h2o_hostconf_t *host =
        h2o_config_register_host(g, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    srv->pathconf = h2o_config_register_path(host, "/", 0);
    http_root_handler *handler =
        (http_root_handler *)h2o_create_handler(srv->pathconf, sizeof(*handler));
    handler->super.on_req = on_req;
    handler->srv = srv;
    http_install_error_filter(srv, &host->fallback_path);
}

int http_server_start(const http_config *cfg, http_server **out, const char **why)
{
    static const char *ignored;
    if (why == NULL)
        why = &ignored;
    *out = NULL;
    if (cfg == NULL || cfg->router == NULL || cfg->listen == NULL) {
        *why = "no listen address or router";
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (parse_listen(cfg->listen, &ss, &sslen) != 0) {
        *why = "invalid listen address (want IPV4:PORT or [IPV6]:PORT)";
        return -1;
    }
    /* TLS first: a bad certificate or key fails before any socket is bound. */
    SSL_CTX *ssl_ctx = NULL;
    if (cfg->tls_cert != NULL || cfg->tls_key != NULL) {
        ssl_ctx = http_tls_create(cfg->tls_cert, cfg->tls_key, why);
        if (ssl_ctx == NULL)
            return -1;
    }

    http_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        http_tls_free(ssl_ctx);
        *why = "out of memory";
        return -1;
    }
    srv->ssl_ctx = ssl_ctx;
    raise_nofile_limit();
    srv->cfg = *cfg;
    srv->cfg.max_body = cfg->max_body != 0 ? cfg->max_body : HTTP_DEFAULT_MAX_BODY;
    srv->max_header = cfg->max_header != 0 ? cfg->max_header : HTTP_DEFAULT_MAX_HEADER;
    srv->cfg.idle_timeout_ms =
        cfg->idle_timeout_ms != 0 ? cfg->idle_timeout_ms : HTTP_DEFAULT_IDLE_TIMEOUT_MS;
    srv->cfg.listen = NULL; /* not kept: the caller's string; srv->address replaces it */
    srv->nloops = count_or_cores(cfg->threads);
    unsigned nworkers = count_or_cores(cfg->workers);
    srv->stop_fd = -1;
    srv->signal_fd = -1;

    int *fds = calloc(srv->nloops, sizeof(*fds));
    srv->loops = calloc(srv->nloops, sizeof(*srv->loops));
    if (fds == NULL || srv->loops == NULL) {
        free(fds);
        free(srv->loops);
        http_tls_free(srv->ssl_ctx);
        free(srv);
        *why = "out of memory";
        return -1;
    }
    if (bind_listeners(srv, &ss, sslen, fds, srv->nloops, why) != 0) {
        free(fds);
        free(srv->loops);
        http_tls_free(srv->ssl_ctx);
        free(srv);
        return -1;
    }

    pthread_mutex_init(&srv->ready_mu, NULL);
    pthread_cond_init(&srv->ready_cv, NULL);
    /* SIGINT/SIGTERM/SIGHUP are blocked here, before any thread starts, so that every thread
     * we create inherits the mask and the signals wait for http_server_wait's signalfd. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &srv->saved_mask);
    srv->starter = pthread_self();
    srv->signal_fd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
    srv->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    configure_h2o(srv);
    for (unsigned i = 0; i < srv->nloops; i++) {
        srv->loops[i].srv = srv;
        srv->loops[i].index = i;
        srv->loops[i].listen_fd = fds[i];
    }
    free(fds);
    if (srv->signal_fd < 0 || srv->stop_fd < 0) {
        *why = "cannot create the stop descriptors";
        http_server_free(srv);
        return -1;
    }
    if (http_workers_start(&srv->workers, nworkers, (size_t)nworkers * HTTP_QUEUE_PER_WORKER) !=
        0) {
        *why = "cannot start the worker threads";
        http_server_free(srv);
        return -1;
    }
    unsigned started = 0;
    for (; started < srv->nloops; started++) {
        if (pthread_create(&srv->loops[started].thread, NULL, loop_main, &srv->loops[started]) != 0)
            break;
        srv->loops[started].started = true;
    }
    /* The loops' receivers must exist before anyone can send them a stop. */
    pthread_mutex_lock(&srv->ready_mu);
    while (srv->ready < started)
        pthread_cond_wait(&srv->ready_cv, &srv->ready_mu);
    pthread_mutex_unlock(&srv->ready_mu);
    if (started < srv->nloops) {
        *why = "cannot start the event-loop threads";
        http_server_free(srv);
        return -1;
    }
    *out = srv;
    return 0;
}

const char *http_server_address(const http_server *srv)
{
    return srv != NULL ? srv->address : NULL;
}

void http_server_wait(http_server *srv)
{
    if (srv == NULL || srv->shut_down)
        return;
    struct pollfd fds[2] = {{.fd = srv->stop_fd, .events = POLLIN},
                            {.fd = srv->signal_fd, .events = POLLIN}};
    for (;;) {
        int n = poll(fds, 2, -1);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (fds[0].revents & POLLIN)
            break;
        struct signalfd_siginfo info;
        if (read(srv->signal_fd, &info, sizeof(info)) != (ssize_t)sizeof(info))
            continue; /* another thread's wait took it, or EAGAIN */
        if (info.ssi_signo != SIGHUP)
            break;
        /* SIGHUP (systemctl reload, a closed terminal) never stops the server. */
        if (srv->cfg.hangup != NULL)
            srv->cfg.hangup(srv->cfg.app);
    }
    server_shutdown(srv);
}

void http_server_stop(http_server *srv)
{
    if (srv == NULL)
        return;
    uint64_t one = 1;
    ssize_t put = write(srv->stop_fd, &one, sizeof(one));
    (void)put; /* the counter only saturates, which still wakes the waiter */
}

void http_server_free(http_server *srv)
{
    if (srv == NULL)
        return;
    server_shutdown(srv);
    http_workers_free(srv->workers);
    h2o_config_dispose(&srv->globalconf);
    if (srv->signal_fd >= 0)
        close(srv->signal_fd);
    if (srv->stop_fd >= 0)
        close(srv->stop_fd);
    if (pthread_equal(srv->starter, pthread_self()))
        pthread_sigmask(SIG_SETMASK, &srv->saved_mask, NULL);
    pthread_mutex_destroy(&srv->ready_mu);
    pthread_cond_destroy(&srv->ready_cv);
    free(srv->loops);
    http_tls_free(srv->ssl_ctx); /* after the loops: their connections are all closed */
    free(srv);
}
