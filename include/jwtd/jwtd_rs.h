/* libjwtd-rs: the resource-server helper of libjwtd, for C services that accept bearer tokens.
 *
 * Two parts, built on libjwtd's public API with libcurl and pthreads (libjwtd itself does no
 * I/O): a remote JWKS (jwtd_rs_jwks), fetched over HTTPS from a JWKS URL or from RFC 8414
 * metadata, cached by Cache-Control max-age, re-fetched on an unknown kid at most once per
 * interval, shared by any number of threads; and jwtd_rs_authorize, which takes an
 * `Authorization` header value and returns either the verified token or the exact answer to
 * send (status, RFC 6750 WWW-Authenticate value, JSON body). Error texts never hold a URL, a
 * token or key bytes. Link with `pkg-config --libs libjwtd-rs`. */
#ifndef JWTD_JWTD_RS_H
#define JWTD_JWTD_RS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jwtd/jwtd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Limits and defaults (seconds unless named otherwise) ---- */
#define JWTD_RS_DEFAULT_MIN_TTL 30          /* a max-age below this is raised to it */
#define JWTD_RS_DEFAULT_MAX_TTL 86400       /* a max-age above this is lowered to it */
#define JWTD_RS_DEFAULT_TTL 300             /* no max-age at all */
#define JWTD_RS_DEFAULT_REFETCH_INTERVAL 30 /* unknown kid / failed fetch: at most one per this */
#define JWTD_RS_DEFAULT_TIMEOUT_MS 5000     /* whole fetch */
#define JWTD_RS_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define JWTD_RS_MAX_METADATA_BYTES 65536u /* RFC 8414 metadata document */
#define JWTD_RS_MAX_URL_BYTES 2048u
#define JWTD_RS_MAX_REDIRECTS 3L
#define JWTD_RS_MAX_REALM_BYTES 128u /* realm, roles claim and role names */
#define JWTD_RS_WWW_AUTHENTICATE_BYTES 512u
#define JWTD_RS_BODY_BYTES 512u

/* ---- Errors of the remote JWKS ---- */
typedef enum jwtd_rs_err {
    JWTD_RS_OK = 0,
    JWTD_RS_ERR_INVALID_ARGUMENT, /* NULL, a bad option, a URL that is not https:// */
    JWTD_RS_ERR_NO_MEMORY,
    JWTD_RS_ERR_FETCH,        /* connection, TLS, timeout, or an HTTP status other than 200 */
    JWTD_RS_ERR_TOO_LARGE,    /* body past max_body_bytes */
    JWTD_RS_ERR_INVALID_JWKS, /* not a JWKS libjwtd accepts, too many keys, or a secret in it */
    JWTD_RS_ERR_METADATA,     /* RFC 8414 metadata unusable: issuer differs, no https jwks_uri */
    JWTD_RS_ERR_NO_KEYS,      /* no fetch has succeeded yet and none may be tried now */
    JWTD_RS_ERR_COUNT
} jwtd_rs_err;

/* Stable name ("Fetch"), never NULL. */
JWTD_API const char *jwtd_rs_err_name(jwtd_rs_err err);

/* The clock the cache runs on, in milliseconds (monotonic). Tests pass their own. */
typedef int64_t (*jwtd_rs_clock)(void *arg);

/* How a remote JWKS is fetched and cached. Start from jwtd_rs_jwks_options_init. */
typedef struct jwtd_rs_jwks_options {
    unsigned min_ttl;          /* seconds; also what no-cache / no-store give */
    unsigned max_ttl;          /* seconds */
    unsigned default_ttl;      /* seconds, without max-age; kept within min..max */
    unsigned refetch_interval; /* seconds between fetches forced by an unknown kid or a failure */
    long timeout_ms;
    long connect_timeout_ms;
    size_t max_body_bytes; /* at most JWTD_MAX_KEY_BYTES (libjwtd's limit) */
    size_t max_keys;       /* at most JWTD_MAX_JWKS_KEYS */
    bool allow_http;       /* accept http:// URLs (loopback tests); never the default */
    jwtd_rs_clock clock;   /* NULL: CLOCK_MONOTONIC */
    void *clock_arg;
} jwtd_rs_jwks_options;

/* The defaults above; HTTPS only. */
JWTD_API void jwtd_rs_jwks_options_init(jwtd_rs_jwks_options *o);

/* A remote JWKS: thread-safe, shared, freed once no call uses it. */
typedef struct jwtd_rs_jwks jwtd_rs_jwks;

/* A JWKS at jwks_url. Nothing is fetched until the first jwtd_rs_jwks_get. o may be NULL
 * (defaults). */
JWTD_API jwtd_rs_err jwtd_rs_jwks_new(const char *jwks_url, const jwtd_rs_jwks_options *o,
                                      jwtd_rs_jwks **out);
/* Fetches RFC 8414 metadata at metadata_url (e.g. ISSUER/.well-known/oauth-authorization-server)
 * now, checks its "issuer" equals expected_issuer (NULL: not checked), and makes a JWKS from its
 * "jwks_uri" (which obeys the same scheme rule as metadata_url). */
JWTD_API jwtd_rs_err jwtd_rs_jwks_from_metadata(const char *metadata_url,
                                                const char *expected_issuer,
                                                const jwtd_rs_jwks_options *o, jwtd_rs_jwks **out);
JWTD_API void jwtd_rs_jwks_free(jwtd_rs_jwks *jwks); /* NULL is fine */

/* The current key set (a reference: release with jwtd_keyset_free). Fetches when there is none
 * or it is past its max-age; while one thread fetches, the others get the set in hand (or wait
 * for the first one). A failed fetch keeps the last good set and is not retried before
 * refetch_interval. */
JWTD_API jwtd_rs_err jwtd_rs_jwks_get(jwtd_rs_jwks *jwks, jwtd_keyset **out);
/* After a token named a kid that `seen` (a set from jwtd_rs_jwks_get) lacks: the newer set if
 * another thread already fetched one, else a fetch if none started within refetch_interval,
 * else the current set unchanged. *out as for jwtd_rs_jwks_get. */
JWTD_API jwtd_rs_err jwtd_rs_jwks_refresh(jwtd_rs_jwks *jwks, const jwtd_keyset *seen,
                                          jwtd_keyset **out);

/* Counters and the last failure, for logs and tests. */
typedef struct jwtd_rs_jwks_stats {
    uint64_t fetches;  /* attempts (successful or not) */
    uint64_t failures; /* attempts that kept the previous set */
    jwtd_rs_err last_error;
    const char *last_reason; /* static text, never a URL or body; "" after a success */
} jwtd_rs_jwks_stats;
JWTD_API void jwtd_rs_jwks_stats_get(jwtd_rs_jwks *jwks, jwtd_rs_jwks_stats *out);

/* ---- From an Authorization header to a verdict ---- */

/* What a route requires. Built once by the caller and shared read-only. */
typedef struct jwtd_rs_policy {
    const char *realm;                 /* WWW-Authenticate realm; NULL: "api" */
    const jwtd_validation *validation; /* algorithms, issuer, audience: pinned by the caller */
    const char *required_role;         /* NULL: any verified token */
    const char *roles_claim;           /* claim carrying roles; NULL: "roles" (jwtd's) */
} jwtd_rs_policy;

/* The outcome of one request. status 200: token is the verified token (the caller owns it
 * until jwtd_rs_verdict_clear); otherwise send status, www_authenticate (when not empty) and
 * body (application/json) exactly. */
typedef struct jwtd_rs_verdict {
    int status;         /* 200, 401, 403, 500 (our configuration), 503 (no key set obtainable) */
    jwtd_err kind;      /* libjwtd's kind (JWTD_OK when allowed or no token was sent) */
    jwtd_token *token;  /* status 200 only */
    const char *error;  /* RFC 6750 code: "invalid_token", "insufficient_scope" or "" */
    const char *reason; /* static error_description, "" when allowed */
    char www_authenticate[JWTD_RS_WWW_AUTHENTICATE_BYTES];
    char body[JWTD_RS_BODY_BYTES];
} jwtd_rs_verdict;

/* Verifies the bearer token in authorization (the header value, NULL when absent) against the
 * keys of jwks and policy. Returns out->status. Never fails otherwise: a bad policy is a 500. */
JWTD_API int jwtd_rs_authorize(jwtd_rs_jwks *jwks, const jwtd_rs_policy *policy,
                               const char *authorization, jwtd_rs_verdict *out);
/* Frees the verdict's token (if any) and resets it. */
JWTD_API void jwtd_rs_verdict_clear(jwtd_rs_verdict *v);

#ifdef __cplusplus
}
#endif
#endif /* JWTD_JWTD_RS_H */
