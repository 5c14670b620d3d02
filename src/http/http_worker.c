/* The blocking path: a handler that may block (password hashing, store writes) runs on a
 * worker thread on a private copy of the request, and its answer goes back to the event
 * loop the request came from, which sends it. The loop never waits for a worker. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "http/http_internal.h"

typedef struct http_job http_job;

/* Lives in the h2o request's pool: when h2o frees the request (the client went away) before
 * the job is back, its dispose callback tells the job, so the loop never touches a freed
 * request. Only the loop thread reads or writes it and the two loop-only job fields. */
typedef struct http_guard {
    http_job *job;
} http_guard;

struct http_job {
    h2o_multithread_message_t msg; /* link in the loop's done queue */
    http_loop *loop;
    h2o_req_t *h2o_req; /* loop thread only; NULL once the request is gone */
    http_guard *guard;  /* loop thread only */
    void *app;
    http_route route; /* the router's decision, copied: req.route points here */
    http_request req; /* the view the handler sees; points into this allocation */
    http_req_impl impl;
    http_response resp; /* written by the worker */
    http_hdr_copy headers[];
    /* followed by the bytes of every string, each NUL-terminated */
};

/* A bounded ring of jobs and the threads that run them. */
struct http_workers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    http_job **ring;
    size_t cap, head, count;
    bool stopping;
    pthread_t *threads;
    unsigned nthreads;
};

/* ---- the pool ---- */

static http_job *workers_pop(struct http_workers *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->count == 0 && !w->stopping)
        pthread_cond_wait(&w->cv, &w->mu);
    http_job *job = NULL;
    if (w->count > 0) { /* a stopping pool still runs what was queued */
        job = w->ring[w->head];
        w->head = (w->head + 1) % w->cap;
        w->count--;
    }
    pthread_mutex_unlock(&w->mu);
    return job;
}

static int workers_push(struct http_workers *w, http_job *job)
{
    int rc = -1;
    pthread_mutex_lock(&w->mu);
    if (!w->stopping && w->count < w->cap) {
        w->ring[(w->head + w->count) % w->cap] = job;
        w->count++;
        rc = 0;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Puts the calling worker below the event loops: SCHED_IDLE, so that a loop woken by a request
 * takes the core at once and the worker hashes with whatever the loops leave. Measured in a quiet
 * sitting (docs/BENCHMARKS.md, "POST /login and the event loop under it"): with nice +10 alone,
 * EEVDF let a worker finish its slice first and GET /me's p99 went from 0.25 to 3-4 ms while
 * logins saturated the workers; with SCHED_IDLE, 0.5 ms. Across services the scheduler still
 * shares by cgroup (a systemd unit is one), so other processes do not starve the workers of a
 * jwtd run as its own service. Where SCHED_IDLE is refused, the nice value is raised by
 * HTTP_WORKER_NICE instead (per thread on Linux, through the thread id). Best effort: neither
 * needs a privilege, and a failure leaves the worker as it was. */
static void worker_lower_priority(void)
{
#ifdef SCHED_IDLE
    struct sched_param sp = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0)
        return;
#endif
    pid_t tid = gettid();
    errno = 0;
    int nice_now = getpriority(PRIO_PROCESS, (id_t)tid);
    if (nice_now == -1 && errno != 0)
        return;
    int want = nice_now + HTTP_WORKER_NICE;
    setpriority(PRIO_PROCESS, (id_t)tid, want > 19 ? 19 : want);
}

static void *worker_main(void *arg)
{
    struct http_workers *w = arg;
    http_thread_block_signals();
    worker_lower_priority();
    http_job *job;
    while ((job = workers_pop(w)) != NULL) {
        job->route.handler(job->app, &job->req, &job->resp);
        /* From here on the job belongs to its loop. */
        h2o_multithread_send_message(&job->loop->done_receiver, &job->msg);
    }
    return NULL;
}

int http_workers_start(struct http_workers **out, unsigned nthreads, size_t capacity)
{
    struct http_workers *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -1;
    w->ring = calloc(capacity, sizeof(*w->ring));
    w->threads = calloc(nthreads, sizeof(*w->threads));
    if (w->ring == NULL || w->threads == NULL) {
        free(w->ring);
        free(w->threads);
        free(w);
        return -1;
    }
    w->cap = capacity;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    for (; w->nthreads < nthreads; w->nthreads++) {
        if (pthread_create(&w->threads[w->nthreads], NULL, worker_main, w) != 0) {
            http_workers_drain(w);
            http_workers_free(w);
            return -1;
        }
    }
    *out = w;
    return 0;
}

void http_workers_drain(struct http_workers *w)
{
    pthread_mutex_lock(&w->mu);
    bool joined = w->stopping && w->nthreads == 0;
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (joined)
        return;
    for (unsigned i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    w->nthreads = 0;
}

void http_workers_free(struct http_workers *w)
{
    if (w == NULL)
        return;
    http_workers_drain(w);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->ring);
    free(w->threads);
    free(w);
}

/* ---- jobs (loop side) ---- */

static void guard_dispose(void *p)
{
    http_guard *guard = p;
    if (guard->job != NULL)
        guard->job->h2o_req = NULL;
}

/* Copies len bytes and a NUL at *cursor; returns where they went. */
static char *copy_out(char **cursor, const char *s, size_t len)
{
    char *dst = *cursor;
    if (len > 0)
        memcpy(dst, s, len);
    dst[len] = '\0';
    *cursor = dst + len + 1;
    return dst;
}

int http_job_dispatch(http_loop *loop, h2o_req_t *req, const http_request *view)
{
    /* h2o keeps Host apart from the other headers; the copy puts it back as "host". */
    h2o_iovec_t host = req->input.authority;
    size_t nheaders = req->headers.size + (host.base != NULL ? 1 : 0);
    size_t bytes = view->method_len + view->path_len + view->query_len + view->body_len + 4;
    for (size_t i = 0; i < req->headers.size; i++)
        bytes += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 2;
    if (host.base != NULL)
        bytes += sizeof("host") + host.len + 1;

    http_job *job = malloc(sizeof(*job) + nheaders * sizeof(http_hdr_copy) + bytes);
    if (job == NULL)
        return -1;
    memset(job, 0, sizeof(*job));
    job->loop = loop;
    job->h2o_req = req;
    job->app = loop->srv->cfg.app;
    job->route = *view->route;

    char *cursor = (char *)&job->headers[nheaders];
    http_request *copy = &job->req;
    memcpy(copy->peer, view->peer, sizeof(copy->peer));
    copy->method = copy_out(&cursor, view->method, view->method_len);
    copy->method_len = view->method_len;
    copy->path = copy_out(&cursor, view->path, view->path_len);
    copy->path_len = view->path_len;
    if (view->query != NULL) {
        copy->query = copy_out(&cursor, view->query, view->query_len);
        copy->query_len = view->query_len;
    }
    copy->body = copy_out(&cursor, view->body, view->body_len);
    copy->body_len = view->body_len;
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        job->headers[i].name = copy_out(&cursor, h->name->base, h->name->len);
        job->headers[i].name_len = h->name->len;
        job->headers[i].value = copy_out(&cursor, h->value.base, h->value.len);
        job->headers[i].value_len = h->value.len;
    }
    if (host.base != NULL) {
        http_hdr_copy *h = &job->headers[nheaders - 1];
        h->name = copy_out(&cursor, "host", 4);
        h->name_len = 4;
        h->value = copy_out(&cursor, host.base, host.len);
        h->value_len = host.len;
    }
    job->impl.kind = HTTP_REQ_COPY;
    job->impl.headers = job->headers;
    job->impl.nheaders = nheaders;
    copy->impl = &job->impl;
    copy->route = &job->route;

    http_guard *guard = h2o_mem_alloc_shared(&req->pool, sizeof(*guard), guard_dispose);
    guard->job = job;
    job->guard = guard;
    if (workers_push(loop->srv->workers, job) != 0) {
        guard->job = NULL;
        free(job);
        return -1;
    }
    loop->jobs_in_flight++;
    return 0;
}

void http_jobs_on_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    http_loop *loop = H2O_STRUCT_FROM_MEMBER(http_loop, done_receiver, receiver);
    for (h2o_linklist_t *node = messages->next, *next; node != messages; node = next) {
        next = node->next;
        http_job *job = H2O_STRUCT_FROM_MEMBER(http_job, msg.link, node);
        h2o_linklist_unlink(node);
        loop->jobs_in_flight--;
        if (job->h2o_req != NULL) {
            /* Sending may end the connection and free the request at once. */
            job->guard->job = NULL;
            http_send_response(job->h2o_req, &job->resp);
        }
        http_response_clear(&job->resp);
        free(job);
    }
}
