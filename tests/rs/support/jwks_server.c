/* The JWKS server of the libjwtd-rs unit tests; see jwks_server.h. One libmicrohttpd daemon,
 * a thread per connection, its state behind one mutex. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwks_server.h"

struct jwks_server {
    struct MHD_Daemon *daemon;
    pthread_mutex_t mu;
    int status;
    char *body, *cache_control, *metadata, *redirect;
    unsigned delay_ms, fetches, in_flight, max_in_flight;
};

/* Replaces the heap string *slot by a copy of value (NULL stays NULL). */
static void set_string(char **slot, const char *value)
{
    free(*slot);
    *slot = value != NULL ? strdup(value) : NULL;
}

/* Sends status with body (copied) and, when not NULL, one extra header. */
static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *body,
                              const char *header, const char *value)
{
    const char *b = body != NULL ? body : "";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(b), (void *)b, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (header != NULL && value != NULL)
        MHD_add_response_header(r, header, value);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Sleeps ms milliseconds. */
static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* /jwks.json: counted, possibly slow, then whatever the test set. */
static enum MHD_Result serve_jwks(jwks_server *s, struct MHD_Connection *c)
{
    pthread_mutex_lock(&s->mu);
    s->fetches++;
    s->in_flight++;
    if (s->in_flight > s->max_in_flight)
        s->max_in_flight = s->in_flight;
    unsigned delay = s->delay_ms;
    pthread_mutex_unlock(&s->mu);
    if (delay > 0)
        sleep_ms(delay);
    pthread_mutex_lock(&s->mu);
    enum MHD_Result rc = answer(c, (unsigned)s->status, s->body, "Cache-Control", s->cache_control);
    s->in_flight--;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* libmicrohttpd's request handler: routes by path. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    (void)method, (void)version, (void)upload, (void)upload_size, (void)state;
    jwks_server *s = cls;
    if (strcmp(url, "/jwks.json") == 0)
        return serve_jwks(s, c);
    pthread_mutex_lock(&s->mu);
    enum MHD_Result rc;
    if (strcmp(url, "/.well-known/oauth-authorization-server") == 0 && s->metadata != NULL)
        rc = answer(c, 200, s->metadata, NULL, NULL);
    else if (strcmp(url, "/redirect") == 0 && s->redirect != NULL)
        rc = answer(c, 302, "", "Location", s->redirect);
    else
        rc = answer(c, 404, "{\"error\":\"not found\"}", NULL, NULL);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

jwks_server *jwks_server_start(char *base, size_t baselen)
{
    jwks_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->status = 404;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->daemon =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                         NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        s->daemon != NULL ? MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (info == NULL || info->port == 0) {
        jwks_server_stop(s);
        return NULL;
    }
    snprintf(base, baselen, "http://127.0.0.1:%u", (unsigned)info->port);
    return s;
}

void jwks_server_stop(jwks_server *s)
{
    if (s == NULL)
        return;
    if (s->daemon != NULL)
        MHD_stop_daemon(s->daemon);
    pthread_mutex_destroy(&s->mu);
    free(s->body);
    free(s->cache_control);
    free(s->metadata);
    free(s->redirect);
    free(s);
}

void jwks_server_set(jwks_server *s, int status, const char *body, const char *cache_control)
{
    pthread_mutex_lock(&s->mu);
    s->status = status;
    set_string(&s->body, body);
    set_string(&s->cache_control, cache_control);
    pthread_mutex_unlock(&s->mu);
}

void jwks_server_set_metadata(jwks_server *s, const char *json)
{
    pthread_mutex_lock(&s->mu);
    set_string(&s->metadata, json);
    pthread_mutex_unlock(&s->mu);
}

void jwks_server_set_redirect(jwks_server *s, const char *location)
{
    pthread_mutex_lock(&s->mu);
    set_string(&s->redirect, location);
    pthread_mutex_unlock(&s->mu);
}

void jwks_server_set_delay_ms(jwks_server *s, unsigned ms)
{
    pthread_mutex_lock(&s->mu);
    s->delay_ms = ms;
    pthread_mutex_unlock(&s->mu);
}

unsigned jwks_server_fetches(jwks_server *s)
{
    pthread_mutex_lock(&s->mu);
    unsigned n = s->fetches;
    pthread_mutex_unlock(&s->mu);
    return n;
}

unsigned jwks_server_max_in_flight(jwks_server *s)
{
    pthread_mutex_lock(&s->mu);
    unsigned n = s->max_in_flight;
    pthread_mutex_unlock(&s->mu);
    return n;
}
