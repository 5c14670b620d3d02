/* A libmicrohttpd service whose route GET /hello accepts only jwtd access tokens carrying a
 * role, through libjwtd-rs: the JWKS comes from the issuer and follows its key rotations.
 *
 *   rs_microhttpd JWKS_URL ISSUER AUDIENCE ROLE
 *
 * It listens on a free 127.0.0.1 port, prints "listening on http://127.0.0.1:PORT", and runs
 * until SIGINT or SIGTERM. http:// JWKS URLs are allowed here for loopback tests only. Built
 * with: cc rs_microhttpd.c $(pkg-config --cflags --libs libjwtd-rs libmicrohttpd) */
#include <arpa/inet.h>
#include <jwtd/jwtd_rs.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* What every request needs, built once and shared by libmicrohttpd's threads. */
typedef struct service {
    jwtd_rs_jwks *jwks;
    jwtd_rs_policy policy;
} service;

/* Queues a JSON answer, with WWW-Authenticate when there is one. */
static enum MHD_Result send_json(struct MHD_Connection *c, int status, const char *body,
                                 const char *www_authenticate)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (www_authenticate[0] != '\0')
        MHD_add_response_header(r, "WWW-Authenticate", www_authenticate);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

/* The one route: the verdict decides; the token's subject is greeted (JSON built by libjwtd). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    (void)version, (void)upload, (void)upload_size, (void)state;
    const service *svc = cls;
    if (strcmp(method, "GET") != 0 || strcmp(url, "/hello") != 0)
        return send_json(c, 404, "{\"error\":\"not found\"}", "");
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    jwtd_rs_verdict v;
    if (jwtd_rs_authorize(svc->jwks, &svc->policy, auth, &v) != 200) {
        enum MHD_Result rc = send_json(c, v.status, v.body, v.www_authenticate);
        jwtd_rs_verdict_clear(&v);
        return rc;
    }
    const char *sub = "";
    jwtd_claims *hello = NULL;
    char *json = NULL;
    (void)jwtd_token_claim_string(v.token, "sub", &sub);
    if (jwtd_claims_new(&hello) == JWTD_OK && jwtd_claims_set_string(hello, "hello", sub) == 0)
        (void)jwtd_claims_json(hello, &json); /* libjwtd escapes the subject */
    enum MHD_Result rc = send_json(c, json != NULL ? 200 : 500, json != NULL ? json : "{}", "");
    jwtd_free(json);
    jwtd_claims_free(hello);
    jwtd_rs_verdict_clear(&v);
    return rc;
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
    jwtd_validation *v = NULL;
    service svc = {.jwks = NULL};
    int rc = 1;
    if (jwtd_rs_jwks_new(argv[1], &o, &svc.jwks) != JWTD_RS_OK || jwtd_validation_new(&v) ||
        jwtd_validation_allow_alg(v, JWTD_ALG_RS256) || jwtd_validation_add_issuer(v, argv[2]) ||
        jwtd_validation_add_audience(v, argv[3]) || jwtd_validation_set_typ(v, "at+jwt")) {
        fprintf(stderr, "cannot set up the JWKS or the validation\n");
        goto done;
    }
    svc.policy = (jwtd_rs_policy){.realm = "hello", .validation = v, .required_role = argv[4]};

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* before libmicrohttpd's threads inherit it */
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, on_request,
        &svc, MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        d != NULL ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (info != NULL) {
        printf("listening on http://127.0.0.1:%u\n", (unsigned)info->port);
        fflush(stdout);
        int sig = 0;
        sigwait(&stop, &sig);
        rc = 0;
    }
    if (d != NULL)
        MHD_stop_daemon(d);
done:
    jwtd_rs_jwks_free(svc.jwks);
    jwtd_validation_free(v);
    return rc;
}
