/* The remote JWKS of libjwtd-rs: a key set fetched from a URL (or found through RFC 8414
 * metadata), kept for its Cache-Control lifetime and shared by every thread.
 *
 * Invariants, under `mu`: `keys` is the last good set (NULL until a fetch succeeds) and is
 * never replaced by a failure; at most one fetch runs at a time (`fetching`), without the lock
 * held, and threads that have a set keep using it meanwhile; fetches other than the first
 * and the max-age expiry (an unknown kid, a retry after a failure) start at most once per
 * refetch_interval, counted from the start of the previous fetch. */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rs_internal.h"

struct jwtd_rs_jwks {
    char *url;
    jwtd_rs_jwks_options opt;
    pthread_mutex_t mu;
    pthread_cond_t done; /* broadcast when a fetch ends */
    jwtd_keyset *keys;
    int64_t expires_ms;    /* when keys go stale */
    int64_t last_start_ms; /* start of the latest fetch */
    bool fetched_once;     /* last_start_ms is meaningful */
    bool fetching;
    jwtd_rs_jwks_stats stats;
};

static const char *const err_names[JWTD_RS_ERR_COUNT] = {
    [JWTD_RS_OK] = "Ok",
    [JWTD_RS_ERR_INVALID_ARGUMENT] = "InvalidArgument",
    [JWTD_RS_ERR_NO_MEMORY] = "NoMemory",
    [JWTD_RS_ERR_FETCH] = "Fetch",
    [JWTD_RS_ERR_TOO_LARGE] = "TooLarge",
    [JWTD_RS_ERR_INVALID_JWKS] = "InvalidJwks",
    [JWTD_RS_ERR_METADATA] = "Metadata",
    [JWTD_RS_ERR_NO_KEYS] = "NoKeys",
};

const char *jwtd_rs_err_name(jwtd_rs_err err)
{
    if ((unsigned)err >= JWTD_RS_ERR_COUNT)
        return "Unknown";
    return err_names[err];
}

/* CLOCK_MONOTONIC in milliseconds: the default clock. */
static int64_t monotonic_ms(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void jwtd_rs_jwks_options_init(jwtd_rs_jwks_options *o)
{
    if (o == NULL)
        return;
    *o = (jwtd_rs_jwks_options){
        .min_ttl = JWTD_RS_DEFAULT_MIN_TTL,
        .max_ttl = JWTD_RS_DEFAULT_MAX_TTL,
        .default_ttl = JWTD_RS_DEFAULT_TTL,
        .refetch_interval = JWTD_RS_DEFAULT_REFETCH_INTERVAL,
        .timeout_ms = JWTD_RS_DEFAULT_TIMEOUT_MS,
        .connect_timeout_ms = JWTD_RS_DEFAULT_CONNECT_TIMEOUT_MS,
        .max_body_bytes = JWTD_MAX_KEY_BYTES,
        .max_keys = JWTD_MAX_JWKS_KEYS,
        .allow_http = false,
        .clock = NULL,
        .clock_arg = NULL,
    };
}

/* True when the options are usable: bounds in order, limits within libjwtd's. */
static bool options_valid(const jwtd_rs_jwks_options *o)
{
    return o->min_ttl <= o->max_ttl && o->timeout_ms > 0 && o->connect_timeout_ms > 0 &&
           o->max_body_bytes > 0 && o->max_body_bytes <= JWTD_MAX_KEY_BYTES && o->max_keys > 0 &&
           o->max_keys <= JWTD_MAX_JWKS_KEYS;
}

/* The caller's options (o NULL: the defaults) into *opt, when they and url are acceptable. */
static bool options_take(const jwtd_rs_jwks_options *o, const char *url, jwtd_rs_jwks_options *opt)
{
    if (o != NULL)
        *opt = *o;
    else
        jwtd_rs_jwks_options_init(opt);
    return options_valid(opt) && rs_url_allowed(url, opt->allow_http);
}

jwtd_rs_err jwtd_rs_jwks_new(const char *jwks_url, const jwtd_rs_jwks_options *o,
                             jwtd_rs_jwks **out)
{
    if (out == NULL)
        return JWTD_RS_ERR_INVALID_ARGUMENT;
    *out = NULL;
    jwtd_rs_jwks_options opt;
    if (!options_take(o, jwks_url, &opt))
        return JWTD_RS_ERR_INVALID_ARGUMENT;
    if (opt.clock == NULL)
        opt.clock = monotonic_ms;
    jwtd_rs_jwks *j = calloc(1, sizeof *j);
    if (j == NULL)
        return JWTD_RS_ERR_NO_MEMORY;
    j->url = strdup(jwks_url);
    if (j->url == NULL || pthread_mutex_init(&j->mu, NULL) != 0) {
        free(j->url);
        free(j);
        return JWTD_RS_ERR_NO_MEMORY;
    }
    if (pthread_cond_init(&j->done, NULL) != 0) {
        pthread_mutex_destroy(&j->mu);
        free(j->url);
        free(j);
        return JWTD_RS_ERR_NO_MEMORY;
    }
    j->opt = opt;
    j->stats.last_reason = "";
    *out = j;
    return JWTD_RS_OK;
}

void jwtd_rs_jwks_free(jwtd_rs_jwks *jwks)
{
    if (jwks == NULL)
        return;
    jwtd_keyset_free(jwks->keys);
    pthread_cond_destroy(&jwks->done);
    pthread_mutex_destroy(&jwks->mu);
    free(jwks->url);
    free(jwks);
}

/* True when any key of set is a secret: a published JWKS must hold public keys only (an
 * HMAC secret in it would let anyone who reads it sign tokens). */
static bool has_secret(const jwtd_keyset *set)
{
    for (size_t i = 0; i < jwtd_keyset_count(set); i++)
        if (jwtd_key_kty(jwtd_keyset_get(set, i)) == JWTD_KTY_OCT ||
            jwtd_key_is_private(jwtd_keyset_get(set, i)))
            return true;
    return false;
}

/* One fetch and parse, without the lock. On success *set and *ttl are the new set and its
 * lifetime in seconds; otherwise *reason says why (static text). */
static jwtd_rs_err fetch_keyset(const jwtd_rs_jwks *j, jwtd_keyset **set, unsigned *ttl,
                                const char **reason)
{
    rs_response resp;
    jwtd_rs_err err = rs_fetch(j->url, &j->opt, j->opt.max_body_bytes, &resp);
    if (err != JWTD_RS_OK) {
        *reason = resp.reason;
        return err;
    }
    jwtd_err jerr = jwtd_keyset_from_jwks(resp.body, resp.len, 0, set);
    free(resp.body);
    if (jerr == JWTD_ERR_NO_MEMORY) {
        *reason = "out of memory";
        return JWTD_RS_ERR_NO_MEMORY;
    }
    if (jerr != JWTD_OK) {
        *reason = "the body is not a JWKS libjwtd accepts (or it holds too many keys)";
        return JWTD_RS_ERR_INVALID_JWKS;
    }
    if (jwtd_keyset_count(*set) > j->opt.max_keys || has_secret(*set)) {
        *reason = jwtd_keyset_count(*set) > j->opt.max_keys
                      ? "the JWKS holds more keys than the limit"
                      : "the JWKS holds a secret or private key";
        jwtd_keyset_free(*set);
        *set = NULL;
        return JWTD_RS_ERR_INVALID_JWKS;
    }
    *ttl = rs_ttl_from_cache_control(resp.cache_control, &j->opt);
    return JWTD_RS_OK;
}

/* Runs one fetch; called and returning with the lock held (released while fetching). */
static void fetch_locked(jwtd_rs_jwks *j)
{
    j->fetching = true;
    j->fetched_once = true;
    j->last_start_ms = j->opt.clock(j->opt.clock_arg);
    j->stats.fetches++;
    pthread_mutex_unlock(&j->mu);

    jwtd_keyset *set = NULL;
    unsigned ttl = 0;
    const char *reason = "";
    jwtd_rs_err err = fetch_keyset(j, &set, &ttl, &reason);

    pthread_mutex_lock(&j->mu);
    int64_t now = j->opt.clock(j->opt.clock_arg);
    if (err == JWTD_RS_OK) {
        jwtd_keyset_free(j->keys);
        j->keys = set;
        j->expires_ms = now + (int64_t)ttl * 1000;
        j->stats.last_error = JWTD_RS_OK;
        j->stats.last_reason = "";
    } else {
        /* The last good set stays; the next try waits for refetch_interval (see can_start). */
        j->stats.failures++;
        j->stats.last_error = err;
        j->stats.last_reason = reason;
    }
    j->fetching = false;
    pthread_cond_broadcast(&j->done);
}

/* True when a fetch that is not the first may start now: refetch_interval since the last. */
static bool interval_passed(const jwtd_rs_jwks *j, int64_t now)
{
    return !j->fetched_once || now - j->last_start_ms >= (int64_t)j->opt.refetch_interval * 1000;
}

/* Hands out the current set (a reference) or NoKeys with the last failure. Lock held. */
static jwtd_rs_err hand_out_locked(jwtd_rs_jwks *j, jwtd_keyset **out)
{
    if (j->keys == NULL)
        return j->stats.last_error == JWTD_RS_OK ? JWTD_RS_ERR_NO_KEYS : j->stats.last_error;
    *out = jwtd_keyset_ref(j->keys);
    return JWTD_RS_OK;
}

jwtd_rs_err jwtd_rs_jwks_get(jwtd_rs_jwks *jwks, jwtd_keyset **out)
{
    if (out == NULL)
        return JWTD_RS_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (jwks == NULL)
        return JWTD_RS_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&jwks->mu);
    int64_t now = jwks->opt.clock(jwks->opt.clock_arg);
    if (jwks->keys == NULL) {
        /* Nothing to use yet: wait for a running fetch, else start one if allowed. */
        while (jwks->fetching)
            pthread_cond_wait(&jwks->done, &jwks->mu);
        if (jwks->keys == NULL && interval_passed(jwks, now))
            fetch_locked(jwks);
    } else if (now >= jwks->expires_ms && !jwks->fetching) {
        /* Stale: refresh, unless the last try (which failed) was too recent. */
        bool failed_last = jwks->stats.last_error != JWTD_RS_OK;
        if (!failed_last || interval_passed(jwks, now))
            fetch_locked(jwks);
    }
    jwtd_rs_err err = hand_out_locked(jwks, out);
    pthread_mutex_unlock(&jwks->mu);
    return err;
}

jwtd_rs_err jwtd_rs_jwks_refresh(jwtd_rs_jwks *jwks, const jwtd_keyset *seen, jwtd_keyset **out)
{
    if (out == NULL)
        return JWTD_RS_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (jwks == NULL)
        return JWTD_RS_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&jwks->mu);
    while (jwks->fetching)
        pthread_cond_wait(&jwks->done, &jwks->mu);
    /* A set newer than the caller's is already here: no fetch for this kid. */
    if (jwks->keys == NULL || jwks->keys == seen) {
        int64_t now = jwks->opt.clock(jwks->opt.clock_arg);
        if (interval_passed(jwks, now))
            fetch_locked(jwks);
    }
    jwtd_rs_err err = hand_out_locked(jwks, out);
    pthread_mutex_unlock(&jwks->mu);
    return err;
}

void jwtd_rs_jwks_stats_get(jwtd_rs_jwks *jwks, jwtd_rs_jwks_stats *out)
{
    if (jwks == NULL || out == NULL)
        return;
    pthread_mutex_lock(&jwks->mu);
    *out = jwks->stats;
    pthread_mutex_unlock(&jwks->mu);
}

/* The jwks_uri of a metadata document, checked: issuer as expected, a string URL of an allowed
 * scheme. Returns a copy (caller frees) or NULL. */
static char *metadata_jwks_uri(const rs_response *resp, const char *expected_issuer,
                               bool allow_http)
{
    json_t *doc = json_loadb(resp->body, resp->len, JSON_REJECT_DUPLICATES, NULL);
    char *uri = NULL;
    if (json_is_object(doc)) {
        const char *iss = json_string_value(json_object_get(doc, "issuer"));
        const char *jwks = json_string_value(json_object_get(doc, "jwks_uri"));
        bool issuer_ok =
            expected_issuer == NULL || (iss != NULL && strcmp(iss, expected_issuer) == 0);
        if (issuer_ok && jwks != NULL && rs_url_allowed(jwks, allow_http))
            uri = strdup(jwks);
    }
    json_decref(doc);
    return uri;
}

jwtd_rs_err jwtd_rs_jwks_from_metadata(const char *metadata_url, const char *expected_issuer,
                                       const jwtd_rs_jwks_options *o, jwtd_rs_jwks **out)
{
    if (out == NULL)
        return JWTD_RS_ERR_INVALID_ARGUMENT;
    *out = NULL;
    jwtd_rs_jwks_options opt;
    if (!options_take(o, metadata_url, &opt))
        return JWTD_RS_ERR_INVALID_ARGUMENT;
    rs_response resp;
    jwtd_rs_err err = rs_fetch(metadata_url, &opt, JWTD_RS_MAX_METADATA_BYTES, &resp);
    if (err != JWTD_RS_OK)
        return err;
    char *uri = metadata_jwks_uri(&resp, expected_issuer, opt.allow_http);
    free(resp.body);
    if (uri == NULL)
        return JWTD_RS_ERR_METADATA;
    err = jwtd_rs_jwks_new(uri, &opt, out);
    free(uri);
    return err;
}
