/* The counters of jwtd serve in one table, which makes both the Prometheus text of
 * GET /metrics and the JSON of GET /admin/metrics: a row added here shows up in both, with
 * its name, help and label in one and its key in the other, in the table's order. The
 * histograms (request time by route class, password-hash time) follow in a table of their
 * own, which also makes both pages: buckets in the text, count and sum in the JSON. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "routes.h"

/* Every value the two pages show, read once per request. */
typedef struct metrics_snap {
    int64_t uptime, requests, responses[5]; /* responses: 1xx to 5xx; requests: their sum */
    int64_t logins_ok, logins_failed, registrations, refreshes, refresh_reuse, logouts;
    int64_t verify_ok, verify_failed, verify_cache_hits, revoked_jtis, revoked_users;
    int64_t token_cache_hits, token_cache_misses, token_cache_slots;
    int64_t signing_keys, limited_ip, limited_lockout, refused[HTTP_REFUSED_COUNT];
    int64_t store_up, store_syncs, store_sync_failures, store_wakeups, store_last_sync;
    int64_t store_errors, store_warnings, revocations[AUTH_REV_COUNT];
} metrics_snap;

/* How many samples a row has: one, or one per status class, refusal reason or revocation
 * reason, each named by its class ("2xx") or reason ("content_length", "logout") as label
 * value and JSON key. */
enum metric_each { EACH_ONE, EACH_CLASS, EACH_REFUSAL, EACH_REVOCATION };

/* A row: one sample, or a family's samples with `each`. HELP and TYPE come before a row with
 * help. name NULL: only in the JSON; key NULL (and EACH_ONE): only in the text. */
typedef struct metric {
    const char *name, *help, *type; /* Prometheus family, "# HELP" text, "counter"/"gauge" */
    const char *label, *value;      /* the sample's label name and value; NULL: none */
    const char *group, *key;        /* JSON object holding the key (NULL: the top) and key */
    size_t at;                      /* offsetof the value (the first of each) in metrics_snap */
    enum metric_each each;
} metric;

#define AT(field) offsetof(metrics_snap, field)
#define C "counter"
#define G "gauge"

static const metric metrics[] = {
    {NULL, NULL, NULL, NULL, NULL, NULL, "uptime_seconds", AT(uptime), EACH_ONE},
    {NULL, NULL, NULL, NULL, NULL, "requests", "total", AT(requests), EACH_ONE},
    {"jwtd_http_responses_total", "HTTP responses by status class.", C, "code", NULL, "requests",
     NULL, AT(responses), EACH_CLASS},
    {"jwtd_logins_total", "Password logins by result.", C, "result", "ok", NULL, "logins_ok",
     AT(logins_ok), EACH_ONE},
    {"jwtd_logins_total", NULL, NULL, "result", "failed", NULL, "logins_failed", AT(logins_failed),
     EACH_ONE},
    {"jwtd_registrations_total", "Users registered through POST /register.", C, NULL, NULL, NULL,
     "registrations", AT(registrations), EACH_ONE},
    {"jwtd_refreshes_total", "Refresh-token rotations.", C, NULL, NULL, NULL, "refreshes",
     AT(refreshes), EACH_ONE},
    {"jwtd_refresh_reuse_total", "Spent refresh tokens presented again.", C, NULL, NULL, NULL,
     "refresh_reuse", AT(refresh_reuse), EACH_ONE},
    {"jwtd_logouts_total", "Logouts.", C, NULL, NULL, NULL, "logouts", AT(logouts), EACH_ONE},
    {"jwtd_revocations_total",
     "Revocations this instance made, by reason (logout and reuse: one refresh family; "
     "logout_all, disabled, roles, client: every access token of the user or client).",
     C, "reason", NULL, "revocations", NULL, AT(revocations), EACH_REVOCATION},
    {"jwtd_access_verifications_total", "Access-token checks by result.", C, "result", "ok", NULL,
     "verify_ok", AT(verify_ok), EACH_ONE},
    {"jwtd_access_verifications_total", NULL, NULL, "result", "failed", NULL, "verify_failed",
     AT(verify_failed), EACH_ONE},
    {"jwtd_access_verify_cache_hits_total", "Access tokens verified from the cache.", C, NULL, NULL,
     NULL, "verify_cache_hits", AT(verify_cache_hits), EACH_ONE},
    {"jwtd_token_cache_hits_total",
     "Access-token checks answered by the verified-token cache (expiry and revocation are "
     "still checked).",
     C, NULL, NULL, "token_cache", "hits", AT(token_cache_hits), EACH_ONE},
    {"jwtd_token_cache_misses_total", "Access-token checks that verified the signature.", C, NULL,
     NULL, "token_cache", "misses", AT(token_cache_misses), EACH_ONE},
    {"jwtd_token_cache_slots", "Slots of each event loop's verified-token cache.", G, NULL, NULL,
     "token_cache", "slots", AT(token_cache_slots), EACH_ONE},
    {"jwtd_revoked_access_tokens", "Access-token revocations held in memory.", G, "kind", "jti",
     NULL, "revoked_jtis", AT(revoked_jtis), EACH_ONE},
    {"jwtd_revoked_access_tokens", NULL, NULL, "kind", "user", NULL, "revoked_users",
     AT(revoked_users), EACH_ONE},
    {"jwtd_signing_keys", "Signing keys published in the JWKS.", G, NULL, NULL, NULL,
     "signing_keys", AT(signing_keys), EACH_ONE},
    {"jwtd_rate_limited_total", "Requests answered 429: per-IP limit or account lockout.", C,
     "reason", "ip", "rate_limited", "ip", AT(limited_ip), EACH_ONE},
    {"jwtd_rate_limited_total", NULL, NULL, "reason", "lockout", "rate_limited", "lockout",
     AT(limited_lockout), EACH_ONE},
    {"jwtd_http_requests_refused_total",
     "Requests the HTTP layer refused before any handler (framing, field syntax, size), by "
     "reason.",
     C, "reason", NULL, "refused", NULL, AT(refused), EACH_REFUSAL},
    {"jwtd_store_up", "1 when the database answered the last ping (once a second), else 0.", G,
     NULL, NULL, "store", "up", AT(store_up), EACH_ONE},
    {"jwtd_store_syncs_total", "Full re-reads of keys and revocations by the sync thread.", C, NULL,
     NULL, "store", "syncs", AT(store_syncs), EACH_ONE},
    {"jwtd_store_sync_failures_total", "Re-reads of keys and revocations that failed.", C, NULL,
     NULL, "store", "sync_failures", AT(store_sync_failures), EACH_ONE},
    {"jwtd_store_change_wakeups_total",
     "Changes committed by other processes that woke the sync thread (NOTIFY, change counter).", C,
     NULL, NULL, "store", "change_wakeups", AT(store_wakeups), EACH_ONE},
    {"jwtd_store_last_sync_timestamp_seconds", "When keys and revocations were last re-read.", G,
     NULL, NULL, "store", "last_sync", AT(store_last_sync), EACH_ONE},
    {"jwtd_store_errors_total",
     "Store failures reported by its log hook, by kind (error: unexpected; warn: a condition "
     "of the machine such as disk full, read-only or busy).",
     C, "kind", "error", "store", "errors", AT(store_errors), EACH_ONE},
    {"jwtd_store_errors_total", NULL, NULL, "kind", "warn", "store", "warnings", AT(store_warnings),
     EACH_ONE},
    {"jwtd_uptime_seconds", "Seconds since start-up.", G, NULL, NULL, NULL, NULL, AT(uptime),
     EACH_ONE},
};
#define NMETRICS (sizeof metrics / sizeof metrics[0])

static int64_t load(atomic_uint_least64_t *counter) { return (int64_t)atomic_load(counter); }

static void snap_read(srv_app *app, metrics_snap *s)
{
    auth_stats a;
    auth_health h;
    auth_stats_get(app->au, &a);
    auth_health_get(app->au, &h);
    *s = (metrics_snap){
        .uptime = (int64_t)time(NULL) - app->started,
        .logins_ok = (int64_t)a.logins_ok,
        .logins_failed = (int64_t)a.logins_failed,
        .registrations = (int64_t)a.registrations,
        .refreshes = (int64_t)a.refreshes,
        .refresh_reuse = (int64_t)a.refresh_reuse,
        .logouts = (int64_t)a.logouts,
        .verify_ok = (int64_t)a.verify_ok,
        .verify_failed = (int64_t)a.verify_failed,
        .verify_cache_hits = (int64_t)a.verify_cache_hits,
        .token_cache_hits = (int64_t)a.token_cache_hits,
        .token_cache_misses = (int64_t)a.token_cache_misses,
        .token_cache_slots = (int64_t)a.token_cache_slots,
        .revoked_jtis = (int64_t)a.revoked_jtis,
        .revoked_users = (int64_t)a.revoked_users,
        .signing_keys = (int64_t)a.signing_keys,
        .limited_ip = load(&app->limited_ip),
        .limited_lockout = load(&app->limited_lockout),
        .store_up = h.store_up,
        .store_syncs = (int64_t)h.syncs,
        .store_sync_failures = (int64_t)h.sync_failures,
        .store_wakeups = (int64_t)h.watch_wakeups,
        .store_last_sync = h.last_sync,
        .store_errors = load(&app->store_errors[0]),
        .store_warnings = load(&app->store_errors[1]),
    };
    for (size_t r = 0; r < AUTH_REV_COUNT; r++)
        s->revocations[r] = (int64_t)a.revocations[r];
    for (size_t c = 0; c < 5; c++) {
        s->responses[c] = load(&app->responses[c + 1]);
        s->requests += s->responses[c];
    }
    for (size_t r = 0; r < HTTP_REFUSED_COUNT; r++)
        s->refused[r] = load(&app->refused[r]);
}

static size_t samples(const metric *m)
{
    switch (m->each) {
    case EACH_CLASS: return 5;
    case EACH_REFUSAL: return HTTP_REFUSED_COUNT;
    case EACH_REVOCATION: return AUTH_REV_COUNT;
    case EACH_ONE: break;
    }
    return 1;
}

/* The i-th sample's name: label value, and JSON key too for an `each` row. */
static const char *sample_name(const metric *m, size_t i)
{
    static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    switch (m->each) {
    case EACH_CLASS: return classes[i];
    case EACH_REFUSAL: return http_refusal_name((http_refusal)i);
    case EACH_REVOCATION: return auth_revocation_reason_name((auth_revocation_reason)i);
    case EACH_ONE: break;
    }
    return m->value;
}

static int64_t sample_value(const metrics_snap *s, const metric *m, size_t i)
{
    return ((const int64_t *)(const void *)((const char *)s + m->at))[i];
}

static void text_row(FILE *f, const metrics_snap *s, const metric *m)
{
    if (m->help != NULL)
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
    for (size_t i = 0; i < samples(m); i++) {
        if (m->label != NULL)
            fprintf(f, "%s{%s=\"%s\"} %" PRId64 "\n", m->name, m->label, sample_name(m, i),
                    sample_value(s, m, i));
        else
            fprintf(f, "%s %" PRId64 "\n", m->name, sample_value(s, m, i));
    }
}

/* ---- Histograms ---- */

/* Upper bounds (seconds) of the request-duration buckets. */
static const double latency_bounds[SRV_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
static const char *const class_names[SRV_CLASS_COUNT] = {
    [SRV_CLASS_PASSWORD] = "password", [SRV_CLASS_TOKEN] = "token", [SRV_CLASS_VERIFY] = "verify",
    [SRV_CLASS_ADMIN] = "admin",       [SRV_CLASS_OPS] = "ops",     [SRV_CLASS_STATIC] = "static",
    [SRV_CLASS_OTHER] = "other"};

void srv_metrics_observe(srv_app *app, enum srv_route_class cls, uint64_t us)
{
    size_t i = 0;
    while (i < SRV_LATENCY_BUCKETS && (double)us > latency_bounds[i] * 1e6)
        i++;
    atomic_fetch_add(&app->latency[cls].counts[i], 1);
    atomic_fetch_add(&app->latency[cls].sum_us, us);
}

/* One histogram's values, read once: counts per bucket (the last above every bound). */
typedef struct hist_snap {
    const char *label_value; /* NULL: the family has no label */
    const double *bounds;
    size_t nbounds;
    uint64_t counts[SRV_LATENCY_BUCKETS + 1];
    uint64_t sum_us;
} hist_snap;

/* A histogram family: its name and help, the label of its series and the JSON key. */
typedef struct hist_family {
    const char *name, *help, *label, *key;
} hist_family;

static const hist_family hist_families[] = {
    {"jwtd_http_request_duration_seconds",
     "Time in the handler of answered requests, by route class (password: register and login; "
     "token: refresh and logouts; verify: /me and the JWKS; admin; ops: health, metrics and "
     "/openapi.json; "
     "static: the demo page; other: 404, 405 and per-IP refusals).",
     "route_class", "request_duration"},
    {"jwtd_password_hash_duration_seconds",
     "Time of each Argon2id password hash or verification (unknown users' dummy one too).", NULL,
     "password_hash_duration"},
};

/* The series of family f: one per route class, or the password-hash one. Returns how many. */
static size_t hist_read(srv_app *app, size_t f, hist_snap out[SRV_CLASS_COUNT])
{
    if (f == 0) {
        for (size_t c = 0; c < SRV_CLASS_COUNT; c++) {
            out[c] = (hist_snap){class_names[c], latency_bounds, SRV_LATENCY_BUCKETS, {0}, 0};
            for (size_t i = 0; i <= SRV_LATENCY_BUCKETS; i++)
                out[c].counts[i] = atomic_load(&app->latency[c].counts[i]);
            out[c].sum_us = atomic_load(&app->latency[c].sum_us);
        }
        return SRV_CLASS_COUNT;
    }
    _Static_assert(AUTH_PW_BUCKETS <= SRV_LATENCY_BUCKETS, "hist_snap holds the password buckets");
    auth_stats a;
    auth_stats_get(app->au, &a);
    out[0] = (hist_snap){NULL, auth_pw_bucket_bounds, AUTH_PW_BUCKETS, {0}, a.pw_hash_us};
    for (size_t i = 0; i <= AUTH_PW_BUCKETS; i++)
        out[0].counts[i] = a.pw_hashes[i];
    return 1;
}

static uint64_t hist_count(const hist_snap *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= h->nbounds; i++)
        n += h->counts[i];
    return n;
}

/* One series in the text format: cumulative buckets, +Inf, sum and count. */
static void hist_text(FILE *f, const hist_family *fam, const hist_snap *h)
{
    char label[64] = "";
    if (fam->label != NULL)
        snprintf(label, sizeof label, "%s=\"%s\",", fam->label, h->label_value);
    uint64_t cum = 0;
    for (size_t i = 0; i < h->nbounds; i++) {
        cum += h->counts[i];
        fprintf(f, "%s_bucket{%sle=\"%g\"} %" PRIu64 "\n", fam->name, label, h->bounds[i], cum);
    }
    fprintf(f, "%s_bucket{%sle=\"+Inf\"} %" PRIu64 "\n", fam->name, label, hist_count(h));
    size_t n = strlen(label);
    if (n > 0)
        label[n - 1] = '\0'; /* the trailing comma */
    const char *open = n > 0 ? "{" : "", *close = n > 0 ? "}" : "";
    fprintf(f, "%s_sum%s%s%s %.6f\n", fam->name, open, label, close, (double)h->sum_us / 1e6);
    fprintf(f, "%s_count%s%s%s %" PRIu64 "\n", fam->name, open, label, close, hist_count(h));
}

static void hists_text(FILE *f, srv_app *app)
{
    hist_snap h[SRV_CLASS_COUNT];
    for (size_t fi = 0; fi < sizeof hist_families / sizeof hist_families[0]; fi++) {
        const hist_family *fam = &hist_families[fi];
        fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", fam->name, fam->help, fam->name);
        size_t n = hist_read(app, fi, h);
        for (size_t i = 0; i < n; i++)
            hist_text(f, fam, &h[i]);
    }
}

/* {"count": N, "sum_seconds": S} of one series. */
static json_t *hist_json_one(const hist_snap *h)
{
    return json_pack("{s:I, s:f}", "count", (json_int_t)hist_count(h), "sum_seconds",
                     (double)h->sum_us / 1e6);
}

/* The histograms in /admin/metrics: per family its key, holding one object per route class
 * or the series itself. */
static int hists_json(json_t *doc, srv_app *app)
{
    hist_snap h[SRV_CLASS_COUNT];
    for (size_t fi = 0; fi < sizeof hist_families / sizeof hist_families[0]; fi++) {
        const hist_family *fam = &hist_families[fi];
        size_t n = hist_read(app, fi, h);
        json_t *v = fam->label != NULL ? json_object() : hist_json_one(&h[0]);
        for (size_t i = 0; v != NULL && fam->label != NULL && i < n; i++)
            if (json_object_set_new(v, h[i].label_value, hist_json_one(&h[i])) != 0) {
                json_decref(v);
                v = NULL;
            }
        if (v == NULL || json_object_set_new(doc, fam->key, v) != 0)
            return -1;
    }
    return 0;
}

char *srv_metrics_text(srv_app *app, size_t *len)
{
    metrics_snap s;
    snap_read(app, &s);
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (f == NULL)
        return NULL;
    for (size_t r = 0; r < NMETRICS; r++)
        if (metrics[r].name != NULL)
            text_row(f, &s, &metrics[r]);
    hists_text(f, app);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* The object a row's keys go in: the document, or its member group (made on first use, so
 * groups stand where their first row is). NULL when out of memory. */
static json_t *json_group(json_t *doc, const char *group)
{
    if (group == NULL)
        return doc;
    json_t *obj = json_object_get(doc, group);
    if (obj == NULL && json_object_set_new(doc, group, json_object()) == 0)
        obj = json_object_get(doc, group);
    return obj;
}

static int json_row(json_t *doc, const metrics_snap *s, const metric *m)
{
    json_t *obj = json_group(doc, m->group);
    for (size_t i = 0; obj != NULL && i < samples(m); i++) {
        const char *key = m->each == EACH_ONE ? m->key : sample_name(m, i);
        if (json_object_set_new(obj, key, json_integer(sample_value(s, m, i))) != 0)
            return -1;
    }
    return obj != NULL ? 0 : -1;
}

json_t *srv_metrics_json(srv_app *app)
{
    metrics_snap s;
    snap_read(app, &s);
    json_t *doc = json_object();
    for (size_t r = 0; doc != NULL && r < NMETRICS; r++) {
        const metric *m = &metrics[r];
        if ((m->key != NULL || m->each != EACH_ONE) && json_row(doc, &s, m) != 0) {
            json_decref(doc);
            return NULL;
        }
    }
    if (doc != NULL && hists_json(doc, app) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}
