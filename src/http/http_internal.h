/* Private to src/http: the structures shared by the listener/event-loop code (http_server.c),
 * the response writer (http_response.c) and the blocking-job path (http_worker.c). This is
 * the only header that includes h2o.h, which must see H2O_USE_EPOLL=1 first. */
#ifndef JWTD_HTTP_INTERNAL_H
#define JWTD_HTTP_INTERNAL_H

#if !defined(H2O_USE_EPOLL) || H2O_USE_EPOLL != 1
#error "h2o.h needs H2O_USE_EPOLL=1 (src/http/CMakeLists.txt defines it for jwtd_http)"
#endif

#include <h2o.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "http/http.h"

#define HTTP_MAX_THREADS 256u     /* event loops or workers, whatever the core count says */
#define HTTP_QUEUE_PER_WORKER 64u /* blocking jobs waiting per worker before 503 */
/* Workers run this much nicer than the event loops (per thread, Linux): an Argon2id check is
 * ~15 ms of CPU, and with every worker hashing, a loop woken by a request must not wait for a
 * worker's time slice. The workers still take all CPU the loops leave (docs/BENCHMARKS.md,
 * issue 11). */
#define HTTP_WORKER_NICE 10
#define HTTP_ACCEPT_BATCH 16         /* accept() calls per readiness event, to stay fair */
#define HTTP_SHUTDOWN_GRACE_MS 5000u /* after a stop, connections still open are cut */
#define HTTP_ADDRESS_MAX 64          /* "[" IPv6 "]:" port */
#define HTTP_NOFILE_MAX 1048576      /* the open-files soft limit is raised to at most this */
#define HTTP_ACCEPT_PAUSE_MS 100u    /* out of descriptors: accept again after this long */

/* What http_request.impl points at, so that http_header works both on the event loop (the
 * live h2o request) and on a worker (the job's private copy of the headers). */
typedef enum http_req_kind { HTTP_REQ_H2O = 1, HTTP_REQ_COPY = 2 } http_req_kind;

typedef struct http_hdr_copy {
    const char *name; /* lower case, as h2o stores it */
    size_t name_len;
    const char *value;
    size_t value_len;
} http_hdr_copy;

typedef struct http_req_impl {
    http_req_kind kind;
    h2o_req_t *h2o;               /* HTTP_REQ_H2O */
    const http_hdr_copy *headers; /* HTTP_REQ_COPY */
    size_t nheaders;
} http_req_impl;

struct http_loop;
struct http_workers;

/* One accepted connection. Tracked per loop (only the loop thread touches the list) so that
 * a stop can end idle keep-alive connections, which h2o 2.2 itself never closes. */
typedef struct http_conn {
    h2o_linklist_t link;
    struct http_loop *loop;
    int fd;
    char peer[HTTP_PEER_MAX]; /* formatted once, at accept */
} http_conn;

/* One event-loop thread with its own h2o loop, context and SO_REUSEPORT listener, all made,
 * used and freed by that thread; the server thread reaches it by messages only. */
typedef struct http_loop {
    struct http_server *srv;
    unsigned index;
    pthread_t thread;
    bool started;
    int listen_fd; /* until loop_init hands it to h2o */
    h2o_evloop_t *evloop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;                   /* NULL once closed */
    h2o_multithread_receiver_t done_receiver; /* finished blocking jobs */
    h2o_multithread_receiver_t wake_receiver; /* the stop message */
    h2o_multithread_message_t wake_msg;
    h2o_linklist_t conns;  /* http_conn */
    size_t jobs_in_flight; /* pushed to the workers, not yet back */
    bool stopping;
    h2o_timeout_t tick_timeout; /* loop 0 with cfg.tick only */
    h2o_timeout_entry_t tick_entry;
    bool has_tick;
    h2o_timeout_t grace_timeout;
    h2o_timeout_entry_t grace_entry;
    h2o_timeout_t accept_pause_timeout; /* accepting paused: out of descriptors */
    h2o_timeout_entry_t accept_pause_entry;
} http_loop;

struct http_server {
    http_config cfg;
    size_t max_header;
    h2o_globalconf_t globalconf;
    h2o_pathconf_t *pathconf;
    http_loop *loops;
    unsigned nloops;
    struct http_workers *workers;
    int stop_fd;   /* eventfd written by http_server_stop */
    int signal_fd; /* SIGINT/SIGTERM/SIGHUP, blocked in every thread we own */
    sigset_t saved_mask;
    pthread_t starter; /* the thread whose signal mask start changed */
    bool shut_down;
    pthread_mutex_t ready_mu; /* loops report their setup done */
    pthread_cond_t ready_cv;
    unsigned ready;
    char address[HTTP_ADDRESS_MAX];
    SSL_CTX *ssl_ctx; /* shared by every loop's accept context; NULL: plain HTTP */
};

/* http_framing.c: the head and framing rules (RFC 9112), run before any handler. 0 when the
 * request may go on (then *close_after says whether its connection must close after the
 * answer: a chunked body); else the status to refuse it with, and why. */
int http_framing_check(const http_server *srv, h2o_req_t *req, http_refusal *why,
                       bool *close_after);

/* http_response.c: writes resp on req (status, content type, headers copied into req->pool,
 * body). A status outside 100..599 is a handler bug and becomes a 500. */
void http_send_response(h2o_req_t *req, const http_response *resp);
/* A fixed JSON body such as {"error":"not found"} (a string literal). */
void http_send_static_json(h2o_req_t *req, int status, const char *json, size_t len);
/* Turns the plain-text errors h2o writes by itself (413, 400, 417, 404) into JSON, and
 * reports each as a refusal through srv's refused callback. */
void http_install_error_filter(http_server *srv, h2o_pathconf_t *pathconf);

/* http_server.c: answers a request the adapter refuses (431 or 400 JSON, connection closed)
 * and reports it; http_report_refusal only reports one answered otherwise. */
void http_refuse(http_server *srv, h2o_req_t *req, int status, http_refusal why);
void http_report_refusal(http_server *srv, h2o_req_t *req, int status, http_refusal why);

/* http_worker.c: the worker pool (a bounded queue of jobs and N threads). */
int http_workers_start(struct http_workers **out, unsigned nthreads, size_t capacity);
/* Lets the workers finish every queued job, then joins them; later pushes are refused. */
void http_workers_drain(struct http_workers *w);
void http_workers_free(struct http_workers *w);
/* Copies the request and its route (view->route, whose handler runs) into one job and
 * queues it; 0, or -1 when the queue is full (or the server is stopping): the caller answers
 * 503. The answer comes back to the loop through its done_receiver. */
int http_job_dispatch(http_loop *loop, h2o_req_t *req, const http_request *view);
/* The done_receiver callback: sends each finished job's response, unless the client left. */
void http_jobs_on_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

/* http_tls.c: the server's TLS context from a PEM certificate chain and a PEM private key
 * (both required): TLS 1.2+, ECDHE+AEAD ciphers for TLS 1.2, ALPN http/1.1. NULL with a
 * static reason in *why (which names the option, never a secret) on any failure. */
SSL_CTX *http_tls_create(const char *cert_file, const char *key_file, const char **why);
void http_tls_free(SSL_CTX *ctx);

/* Blocks the signals that only the server's waiter may take (SIGINT, SIGTERM) and SIGPIPE, so
 * a write to a closed socket fails with EPIPE instead of killing the process. */
void http_thread_block_signals(void);

#endif /* JWTD_HTTP_INTERNAL_H */
