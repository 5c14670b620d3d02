/* The configuration of jwtd serve (and of `jwtd user`/`jwtd keys`, which share its
 * database): one table of options, and the sources that set them, lowest priority first:
 * defaults < config file < environment (tutorial variables, then JWTD_*) < flags. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth/ratelimit.h"
#include "server.h"

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const registrations[] = {"open", "closed", NULL};
static const char *const switches[] = {"on", "off", NULL};
/* Algorithms of signing keys: every asymmetric one for generated keys, and the HMAC ones for
 * a jwt-secret (KEY_ALG_FIRST_HS on; srv_config_finish pairs them). */
static const char *const key_algs[] = {"EdDSA", "ES256", "ES384", "ES512", "RS256",
                                       "RS384", "RS512", "PS256", "PS384", "PS512",
                                       "HS256", "HS384", "HS512", NULL};
#define KEY_ALG_FIRST_HS 10

#define OFF(field) offsetof(srv_config, field)
#define DAY INT64_C(86400)

const srv_option srv_options[] = {
    {"listen", "JWTD_LISTEN", SRV_OPT_STRING, "ADDR:PORT", "127.0.0.1:3000", NULL, 0, 0,
     OFF(listen), "address and port to listen on (port 0: any free port)"},
    {"db", "JWTD_DB", SRV_OPT_STRING, "PATH|URL", "jwtd.db", NULL, 0, 0, OFF(db),
     "the database: a SQLite file (sqlite:PATH also works; created when missing), or a "
     "postgres:// URL shared by several instances"},
    {"db-pool", "JWTD_DB_POOL", SRV_OPT_COUNT, "N", "0", NULL, 0, 1024, OFF(db_pool),
     "database connections of this instance (PostgreSQL; 0: workers + 2)"},
    {"threads", "JWTD_THREADS", SRV_OPT_COUNT, "N", "0", NULL, 0, 256, OFF(threads),
     "event-loop threads (0: one per core)"},
    {"workers", "JWTD_WORKERS", SRV_OPT_COUNT, "N", "0", NULL, 0, 256, OFF(workers),
     "worker threads for password hashing and store writes (0: one per core)"},
    {"token-cache", "JWTD_TOKEN_CACHE", SRV_OPT_COUNT, "N", "8192", NULL, 0, 262144,
     OFF(token_cache),
     "verified access tokens remembered per event loop, about 600 bytes each (0: off; rounded "
     "up to a multiple of 4)"},
    {"access-ttl", "JWTD_ACCESS_TTL", SRV_OPT_SECONDS, "SECONDS", "900", NULL, 1, 366 * DAY,
     OFF(access_ttl), "lifetime of access tokens (also JWT_EXPIRATION_SECONDS/_MINUTES/_HOURS)"},
    {"refresh-ttl", "JWTD_REFRESH_TTL", SRV_OPT_SECONDS, "SECONDS", "604800", NULL, 1, 3660 * DAY,
     OFF(refresh_ttl),
     "lifetime of refresh tokens and of the refresh cookie (also REFRESH_TOKEN_EXPIRATION_DAYS)"},
    {"refresh-grace", "JWTD_REFRESH_GRACE", SRV_OPT_SECONDS, "SECONDS", "10", NULL, 0, 300,
     OFF(refresh_grace),
     "window in which a spent refresh token still yields the same new pair (two tabs)"},
    {"public-url", "JWTD_PUBLIC_URL", SRV_OPT_STRING, "URL", "", NULL, 0, 0, OFF(public_url),
     "http(s)://HOST[:PORT][/PATH] clients reach this server at: the base of the URLs of "
     "/.well-known/oauth-authorization-server (default: from listen)"},
    {"issuer", "JWTD_ISSUER", SRV_OPT_STRING, "ISS", "jwtd", NULL, 0, 0, OFF(issuer),
     "iss claim of access tokens"},
    {"audience", "JWTD_AUDIENCE", SRV_OPT_STRING, "AUD", "jwtd", NULL, 0, 0, OFF(audience),
     "aud claim of access tokens"},
    {"log-level", "JWTD_LOG_LEVEL", SRV_OPT_ENUM, NULL, "info", log_levels, 0, 0, OFF(log_level),
     "JSON log lines on stderr up to this level"},
    {"registration", "JWTD_REGISTRATION", SRV_OPT_ENUM, NULL, "open", registrations, 0, 0,
     OFF(registration), "POST /register open to anyone, or closed (403)"},
    {"max-body", "JWTD_MAX_BODY", SRV_OPT_BYTES, "BYTES", "64K", NULL, 1024, 16 * 1024 * 1024,
     OFF(max_body), "largest request body; larger ones get 413"},
    {"request-timeout", "JWTD_REQUEST_TIMEOUT", SRV_OPT_SECONDS, "SECONDS", "10", NULL, 1, 3600,
     OFF(request_timeout),
     "a whole request (head and body) must arrive within this; also the keep-alive idle time"},
    {"web-dir", "JWTD_WEB_DIR", SRV_OPT_STRING, "DIR", SRV_WEB_DIR_AUTO, NULL, 0, 0, OFF(web_dir),
     "the demo page served at / (when DIR/index.html exists; \"\" turns it off; auto: "
     "PREFIX/share/jwtd/web of an installed jwtd, else the source tree's web/)"},
    {"argon2-t", "JWTD_ARGON2_T", SRV_OPT_COUNT, "N", "2", NULL, 1, 16, OFF(argon2_t),
     "Argon2id passes (opslimit) of new password hashes"},
    {"argon2-m-kib", "JWTD_ARGON2_M_KIB", SRV_OPT_COUNT, "KIB", "19456", NULL, 8, 4 * 1024 * 1024,
     OFF(argon2_m_kib), "Argon2id memory in KiB of new password hashes"},
    {"key-alg", "JWTD_KEY_ALG", SRV_OPT_ENUM, NULL, "RS256", key_algs, 0, 0, OFF(key_alg),
     "algorithm of generated signing keys (asymmetric), or with jwt-secret HS256 (the default "
     "then), HS384 or HS512"},
    {"key-rotation", "JWTD_KEY_ROTATION", SRV_OPT_DAYS, "DAYS", "0", NULL, 0, 3660 * DAY,
     OFF(key_rotation),
     "a new signing key every DAYS days (0: off; a unit such as 12h also works); one instance "
     "of a shared database rotates"},
    {"key-prepublish", "JWTD_KEY_PREPUBLISH", SRV_OPT_SECONDS, "SECONDS", "1h", NULL, 0, 30 * DAY,
     OFF(key_prepublish), "with key-rotation: a new key is in the JWKS this long before it signs"},
    {"tls-cert", "JWTD_TLS_CERT", SRV_OPT_STRING, "FILE", "", NULL, 0, 0, OFF(tls_cert),
     "TLS certificate chain (PEM), with tls-key"},
    {"tls-key", "JWTD_TLS_KEY", SRV_OPT_STRING, "FILE", "", NULL, 0, 0, OFF(tls_key),
     "TLS private key (PEM), with tls-cert"},
    {"jwt-secret-file", "JWTD_JWT_SECRET_FILE", SRV_OPT_STRING, "FILE", "", NULL, 0, 0,
     OFF(jwt_secret_file),
     "sign HS256 (or key-alg HS384/HS512) with the secret in FILE (>= 32/48/64 bytes) instead of "
     "keys"},
    {"jwt-secret", "JWTD_JWT_SECRET", SRV_OPT_SECRET, "SECRET", "", NULL, 0, 0, OFF(jwt_secret),
     "sign HS256 (or key-alg HS384/HS512) with this secret (>= 32/48/64 bytes); environment "
     "(also JWT_SECRET) or file only"},
    {"rate-limit", "JWTD_RATE_LIMIT", SRV_OPT_ENUM, NULL, "on", switches, 0, 0, OFF(rate_limit),
     "per-IP limits on /login, /register, /refresh and per-account login lockout (429)"},
    {"trusted-proxies", "JWTD_TRUSTED_PROXIES", SRV_OPT_STRING, "LIST", "", NULL, 0, 0,
     OFF(trusted_proxies),
     "comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For names the client"},
    {"cors-origins", "JWTD_CORS_ORIGINS", SRV_OPT_STRING, "LIST", "", NULL, 0, 0, OFF(cors_origins),
     "comma-separated exact origins (scheme://host[:port]) whose pages may call the API with "
     "credentials (CORS; off when empty)"},
    {"login-rate", "JWTD_LOGIN_RATE", SRV_OPT_RATE, "N/PERIOD", "20/1m", NULL, 0, 0,
     OFF(login_rate), "POST /login per client IP: N at once, refilled over PERIOD"},
    {"register-rate", "JWTD_REGISTER_RATE", SRV_OPT_RATE, "N/PERIOD", "10/1m", NULL, 0, 0,
     OFF(register_rate), "POST /register per client IP: N at once, refilled over PERIOD"},
    {"refresh-rate", "JWTD_REFRESH_RATE", SRV_OPT_RATE, "N/PERIOD", "60/1m", NULL, 0, 0,
     OFF(refresh_rate), "POST /refresh per client IP: N at once, refilled over PERIOD"},
    {"token-rate", "JWTD_TOKEN_RATE", SRV_OPT_RATE, "N/PERIOD", "60/1m", NULL, 0, 0,
     OFF(token_rate), "POST /token per client IP: N at once, refilled over PERIOD"},
    {"introspect-rate", "JWTD_INTROSPECT_RATE", SRV_OPT_RATE, "N/PERIOD", "600/1m", NULL, 0, 0,
     OFF(introspect_rate), "POST /introspect per client IP: N at once, refilled over PERIOD"},
    {"lockout-after", "JWTD_LOCKOUT_AFTER", SRV_OPT_COUNT, "N", "5", NULL, 1,
     AUTH_LOCKOUT_MAX_AFTER, OFF(lockout_after),
     "failed logins of one username or email before it is locked (existing or not)"},
    {"lockout-base", "JWTD_LOCKOUT_BASE", SRV_OPT_SECONDS, "SECONDS", "1s", NULL, 1, DAY,
     OFF(lockout_base), "first lock; each further failure doubles it"},
    {"lockout-max", "JWTD_LOCKOUT_MAX", SRV_OPT_SECONDS, "SECONDS", "15m", NULL, 1, 7 * DAY,
     OFF(lockout_max), "longest lock; failures are forgotten this long after the last one"},
};
const size_t srv_options_count = sizeof srv_options / sizeof srv_options[0];

/* The tutorials' variables: a whole number in their unit, applied before JWTD_*. */
static const struct tutorial_env {
    const char *env;
    const char *option;
    int64_t unit; /* seconds per unit; 0: the text as is */
    const char *unit_name;
} tutorial_envs[] = {
    {"JWT_SECRET", "jwt-secret", 0, NULL},
    {"JWT_EXPIRATION_SECONDS", "access-ttl", 1, "seconds"},
    {"JWT_EXPIRATION_MINUTES", "access-ttl", 60, "minutes"},
    {"JWT_EXPIRATION_HOURS", "access-ttl", 3600, "hours"},
    {"REFRESH_TOKEN_EXPIRATION_DAYS", "refresh-ttl", DAY, "days"},
};

static char **str_slot(srv_config *cfg, const srv_option *o)
{
    return (char **)(void *)((char *)cfg + o->offset);
}
static int64_t *num_slot(srv_config *cfg, const srv_option *o)
{
    return (int64_t *)(void *)((char *)cfg + o->offset);
}
static srv_rate *rate_slot(srv_config *cfg, const srv_option *o)
{
    return (srv_rate *)(void *)((char *)cfg + o->offset);
}
static int *enum_slot(srv_config *cfg, const srv_option *o)
{
    return (int *)(void *)((char *)cfg + o->offset);
}

static void free_string(char **slot, bool secret)
{
    if (*slot != NULL && secret)
        OPENSSL_cleanse(*slot, strlen(*slot));
    free(*slot);
    *slot = NULL;
}

const srv_option *srv_option_find(const char *name)
{
    for (size_t i = 0; i < srv_options_count; i++)
        if (strcmp(srv_options[i].name, name) == 0)
            return &srv_options[i];
    return NULL;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* clang-analyzer 14 loses track of va_start here. */
    vsnprintf(err, errlen, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    return -1;
}

/* A whole number followed by at most one suffix letter from units (value of each in mult).
 * Returns false on anything else or overflow. */
static bool parse_scaled(const char *text, const char *units, const int64_t *mult, int64_t *out)
{
    const char *p = text;
    int64_t v = 0;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return false;
        v = v * 10 + (*p - '0');
    }
    if (*p != '\0') {
        const char *u = strchr(units, *p);
        if (u == NULL || p[1] != '\0' || *p == '\0')
            return false;
        int64_t m = mult[u - units];
        if (v > INT64_MAX / m)
            return false;
        v *= m;
    }
    *out = v;
    return true;
}

static int set_number(srv_config *cfg, const srv_option *o, const char *value, const char *source,
                      char *err, size_t errlen)
{
    static const int64_t time_mult[] = {1, 60, 3600, DAY};
    static const int64_t size_mult[] = {1024, 1024, 1024 * 1024, 1024 * 1024};
    int64_t v = 0;
    bool ok;
    const char *what;
    switch (o->type) {
    case SRV_OPT_SECONDS:
        ok = parse_scaled(value, "smhd", time_mult, &v);
        what = o->min > 0 ? "a positive number of seconds (e.g. 900, 15m, 7d)"
                          : "a number of seconds (e.g. 10, 1m)";
        break;
    case SRV_OPT_DAYS: {
        size_t n = strlen(value);
        bool bare = n > 0 && value[n - 1] >= '0' && value[n - 1] <= '9';
        ok = bare ? parse_scaled(value, "", NULL, &v) && v <= INT64_MAX / DAY
                  : parse_scaled(value, "smhd", time_mult, &v);
        if (ok && bare)
            v *= DAY;
        what = "a number of days, or a duration with a unit (e.g. 90, 12h)";
        break;
    }
    case SRV_OPT_BYTES:
        ok = parse_scaled(value, "kKmM", size_mult, &v);
        what = "a number of bytes (e.g. 65536, 64K, 1M)";
        break;
    default:
        ok = parse_scaled(value, "", NULL, &v);
        what = "a whole number";
        break;
    }
    if (!ok)
        return fail(err, errlen, "invalid value for %s (%s): '%s' is not %s", o->name, source,
                    value, what);
    if (v < o->min || v > o->max)
        return fail(err, errlen,
                    "invalid value for %s (%s): '%s' is out of range (%" PRId64 " to %" PRId64 ")",
                    o->name, source, value, o->min, o->max);
    *num_slot(cfg, o) = v;
    return 0;
}

static int set_enum(srv_config *cfg, const srv_option *o, const char *value, const char *source,
                    char *err, size_t errlen)
{
    char list[128] = "";
    for (int i = 0; o->choices[i] != NULL; i++) {
        if (strcmp(o->choices[i], value) == 0) {
            *enum_slot(cfg, o) = i;
            return 0;
        }
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s%s", i > 0 ? ", " : "", o->choices[i]);
    }
    return fail(err, errlen, "invalid value for %s (%s): '%s' is not one of %s", o->name, source,
                value, list);
}

/* N/PERIOD: 1 <= N <= AUTH_RATE_MAX_BURST, PERIOD seconds (suffix s, m, h, d) from 1 s to a
 * day. */
static int set_rate(srv_config *cfg, const srv_option *o, const char *value, const char *source,
                    char *err, size_t errlen)
{
    static const int64_t time_mult[] = {1, 60, 3600, DAY};
    const char *slash = strchr(value, '/');
    char count[24];
    int64_t burst = 0, period = 0;
    bool ok = slash != NULL && (size_t)(slash - value) < sizeof count;
    if (ok) {
        memcpy(count, value, (size_t)(slash - value));
        count[slash - value] = '\0';
        ok = parse_scaled(count, "", NULL, &burst) &&
             parse_scaled(slash + 1, "smhd", time_mult, &period);
    }
    if (!ok)
        return fail(err, errlen,
                    "invalid value for %s (%s): '%s' is not N/PERIOD (e.g. 20/1m: 20 requests, "
                    "refilled over a minute)",
                    o->name, source, value);
    if (burst < 1 || burst > AUTH_RATE_MAX_BURST || period < 1 || period > AUTH_RATE_MAX_PERIOD)
        return fail(err, errlen,
                    "invalid value for %s (%s): '%s' is out of range (N from 1 to %d, PERIOD "
                    "from 1s to 1d)",
                    o->name, source, value, AUTH_RATE_MAX_BURST);
    *rate_slot(cfg, o) = (srv_rate){burst, period};
    return 0;
}

/* "HOST:PORT" with a port from 0 to 65535 and a non-empty host ("[::1]:3000" too). */
static bool valid_listen(const char *value)
{
    const char *colon = strrchr(value, ':');
    if (colon == NULL || colon == value || colon[1] == '\0' || strlen(colon + 1) > 5)
        return false;
    long port = 0;
    for (const char *p = colon + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        port = port * 10 + (*p - '0');
    }
    return port <= 65535;
}

/* "http://" or "https://", a host ([A-Za-z0-9.-] or an [IPv6] literal), an optional
 * ":PORT" (1..65535), an optional "/PATH" of URL path characters; no query, fragment or
 * user info: what discovery clients build endpoint URLs on. */
static bool valid_public_url(const char *value)
{
    const char *p = value;
    if (strncmp(p, "https://", 8) == 0)
        p += 8;
    else if (strncmp(p, "http://", 7) == 0)
        p += 7;
    else
        return false;
    const char *host = p;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close == NULL || close == p + 1 ||
            strspn(p + 1, "0123456789abcdefABCDEF:.") != (size_t)(close - p - 1))
            return false;
        p = close + 1;
    } else {
        p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
    }
    if (p == host)
        return false;
    if (*p == ':') {
        size_t digits = strspn(p + 1, "0123456789");
        long port = digits >= 1 && digits <= 5 ? strtol(p + 1, NULL, 10) : 0;
        if (port < 1 || port > 65535)
            return false;
        p += 1 + digits;
    }
    if (*p == '\0')
        return true;
    return *p == '/' && strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789-._~/%!$&'()*+,;=:@") == strlen(p);
}

static int set_string(srv_config *cfg, const srv_option *o, const char *value, const char *source,
                      char *err, size_t errlen)
{
    bool secret = o->type == SRV_OPT_SECRET;
    bool may_be_empty = o->def[0] == '\0' || o->offset == OFF(web_dir);
    if (value[0] == '\0' && !may_be_empty)
        return fail(err, errlen, "invalid value for %s (%s): it must not be empty", o->name,
                    source);
    if (o->offset == OFF(listen) && !valid_listen(value))
        return fail(err, errlen,
                    "invalid value for %s (%s): '%s' is not ADDRESS:PORT (e.g. 127.0.0.1:3000)",
                    o->name, source, value);
    if (o->offset == OFF(public_url) && value[0] != '\0' && !valid_public_url(value))
        return fail(err, errlen,
                    "invalid value for %s (%s): '%s' is not http(s)://HOST[:PORT][/PATH] (no "
                    "query, fragment or user)",
                    o->name, source, value);
    if (o->offset == OFF(trusted_proxies)) {
        srv_proxies proxies;
        char bad[SRV_ERRMSG / 4];
        if (srv_proxies_parse(value, &proxies, bad, sizeof bad) != 0)
            return fail(err, errlen,
                        "invalid value for %s (%s): '%s' is not an IP address or CIDR "
                        "(e.g. 10.0.0.0/8, ::1; at most %d, comma-separated)",
                        o->name, source, bad, SRV_MAX_PROXIES);
    }
    if (o->offset == OFF(cors_origins)) {
        srv_origins *origins = malloc(sizeof *origins);
        char bad[SRV_ERRMSG / 2];
        const char *why = NULL;
        int rc = origins == NULL ? -1 : srv_origins_parse(value, origins, bad, sizeof bad, &why);
        free(origins);
        if (rc != 0)
            return why == NULL ? fail(err, errlen, "out of memory")
                               : fail(err, errlen,
                                      "invalid value for %s (%s): '%s' is not an origin "
                                      "(scheme://host[:port], e.g. https://app.example.com; at "
                                      "most %d, comma-separated): %s",
                                      o->name, source, bad, SRV_MAX_ORIGINS, why);
    }
    char *copy = strdup(value);
    if (copy == NULL)
        return fail(err, errlen, "out of memory");
    free_string(str_slot(cfg, o), secret);
    *str_slot(cfg, o) = copy;
    if (secret)
        snprintf(cfg->jwt_secret_from, sizeof cfg->jwt_secret_from, "%s", source);
    return 0;
}

int srv_config_set(srv_config *cfg, const srv_option *o, const char *value, const char *source,
                   char *err, size_t errlen)
{
    switch (o->type) {
    case SRV_OPT_STRING:
    case SRV_OPT_SECRET: return set_string(cfg, o, value, source, err, errlen);
    case SRV_OPT_ENUM: return set_enum(cfg, o, value, source, err, errlen);
    case SRV_OPT_RATE: return set_rate(cfg, o, value, source, err, errlen);
    default: return set_number(cfg, o, value, source, err, errlen);
    }
}

void srv_config_init(srv_config *cfg)
{
    char err[SRV_ERRMSG];
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < srv_options_count; i++) {
        /* The defaults are in the table as text so that --help shows exactly what is set;
         * they are valid by construction (tests/serverunit checks each). */
        (void)srv_config_set(cfg, &srv_options[i], srv_options[i].def, "default", err, sizeof err);
    }
}

void srv_config_free(srv_config *cfg)
{
    for (size_t i = 0; i < srv_options_count; i++) {
        const srv_option *o = &srv_options[i];
        if (o->type == SRV_OPT_STRING || o->type == SRV_OPT_SECRET)
            free_string(str_slot(cfg, o), o->type == SRV_OPT_SECRET);
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* One "key = value" line (already without comment handling). */
static int apply_line(srv_config *cfg, char *line, const char *where, char *err, size_t errlen)
{
    char *eq = strchr(line, '=');
    if (eq == NULL)
        return fail(err, errlen, "%s: expected 'key = value'", where);
    *eq = '\0';
    char *key = trim(line), *value = trim(eq + 1);
    for (char *p = key; *p != '\0'; p++)
        if (*p == '_')
            *p = '-';
    size_t vlen = strlen(value);
    if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
        value[vlen - 1] = '\0';
        value++;
    }
    const srv_option *o = srv_option_find(key);
    if (o == NULL)
        return fail(err, errlen, "%s: unknown key '%s'", where, key);
    return srv_config_set(cfg, o, value, where, err, errlen);
}

int srv_config_apply_text(srv_config *cfg, const char *text, size_t len, const char *name,
                          char *err, size_t errlen)
{
    if (len > SRV_MAX_CONFIG_FILE)
        return fail(err, errlen, "config file '%s' is larger than %u bytes", name,
                    SRV_MAX_CONFIG_FILE);
    char line[SRV_MAX_CONFIG_LINE + 1];
    char where[SRV_ERRMSG / 2];
    int rc = 0;
    size_t pos = 0;
    for (unsigned n = 1; rc == 0 && pos < len; n++) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t line_len = nl != NULL ? (size_t)(nl - start) : len - pos;
        pos += line_len + (nl != NULL);
        snprintf(where, sizeof where, "%s line %u", name, n);
        if (line_len > SRV_MAX_CONFIG_LINE) {
            rc = fail(err, errlen, "%s: longer than %d bytes", where, SRV_MAX_CONFIG_LINE);
        } else if (memchr(start, '\0', line_len) != NULL) {
            rc = fail(err, errlen, "%s: contains a NUL byte", where);
        } else {
            memcpy(line, start, line_len);
            line[line_len] = '\0';
            /* '#' starts a comment only at the start of a line: values (a secret) may
             * contain '#'. */
            char *s = trim(line);
            if (s[0] != '\0' && s[0] != '#')
                rc = apply_line(cfg, s, where, err, errlen);
        }
    }
    OPENSSL_cleanse(line, sizeof line);
    return rc;
}

int srv_config_apply_file(srv_config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return fail(err, errlen, "cannot read config file '%s': %s", path, strerror(errno));
    /* One byte more than the limit, so that a larger file is told apart. */
    char *text = malloc(SRV_MAX_CONFIG_FILE + 1);
    if (text == NULL) {
        fclose(f);
        return fail(err, errlen, "out of memory");
    }
    size_t len = fread(text, 1, SRV_MAX_CONFIG_FILE + 1, f);
    int rc = ferror(f)
                 ? fail(err, errlen, "cannot read config file '%s': %s", path, strerror(errno))
                 : srv_config_apply_text(cfg, text, len, path, err, errlen);
    fclose(f);
    /* The text may hold the secret. */
    OPENSSL_cleanse(text, len);
    free(text);
    return rc;
}

static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int apply_tutorial_env(srv_config *cfg, const struct tutorial_env *t, const char *value,
                              char *err, size_t errlen)
{
    const srv_option *o = srv_option_find(t->option);
    if (t->unit == 0)
        return srv_config_set(cfg, o, value, t->env, err, errlen);
    int64_t v = 0;
    if (!parse_scaled(value, "", NULL, &v) || v < 1 || v > o->max / t->unit)
        return fail(err, errlen,
                    "invalid value for %s (%s): '%s' is not a positive whole number of %s up "
                    "to %" PRId64,
                    o->name, t->env, value, t->unit_name, o->max / t->unit);
    char seconds[32];
    snprintf(seconds, sizeof seconds, "%" PRId64, v * t->unit);
    return srv_config_set(cfg, o, seconds, t->env, err, errlen);
}

int srv_config_apply_env(srv_config *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof tutorial_envs / sizeof tutorial_envs[0]; i++) {
        const char *v = env_value(tutorial_envs[i].env);
        if (v != NULL && apply_tutorial_env(cfg, &tutorial_envs[i], v, err, errlen) != 0)
            return -1;
    }
    for (size_t i = 0; i < srv_options_count; i++) {
        const char *v = env_value(srv_options[i].env);
        if (v != NULL &&
            srv_config_set(cfg, &srv_options[i], v, srv_options[i].env, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int srv_config_load(srv_config *cfg, const char *config_path, char *err, size_t errlen)
{
    srv_config_init(cfg);
    const char *path = config_path != NULL ? config_path : env_value("JWTD_CONFIG");
    if (path != NULL && srv_config_apply_file(cfg, path, err, errlen) != 0)
        return -1;
    return srv_config_apply_env(cfg, err, errlen);
}

/* The secret file's bytes, without one trailing newline (editors add it). */
static int read_secret_file(srv_config *cfg, char *err, size_t errlen)
{
    const char *path = cfg->jwt_secret_file;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return fail(err, errlen, "invalid value for jwt-secret-file: cannot read '%s': %s", path,
                    strerror(errno));
    char *buf = calloc(1, SRV_MAX_SECRET_FILE + 2);
    if (buf == NULL) {
        fclose(f);
        return fail(err, errlen, "out of memory");
    }
    size_t n = fread(buf, 1, SRV_MAX_SECRET_FILE + 1, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad || n > SRV_MAX_SECRET_FILE || memchr(buf, '\0', n) != NULL) {
        OPENSSL_cleanse(buf, n);
        free(buf);
        return fail(err, errlen,
                    "invalid value for jwt-secret-file: '%s' is not a text secret of at most %u "
                    "bytes",
                    path, SRV_MAX_SECRET_FILE);
    }
    if (n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n')
        n -= 2;
    else if (n >= 1 && buf[n - 1] == '\n')
        n -= 1;
    buf[n] = '\0';
    free_string(&cfg->jwt_secret, true);
    cfg->jwt_secret = buf;
    snprintf(cfg->jwt_secret_from, sizeof cfg->jwt_secret_from, "jwt-secret-file %s", path);
    return 0;
}

int srv_config_finish(srv_config *cfg, char *err, size_t errlen)
{
    if (cfg->jwt_secret_file[0] != '\0') {
        if (cfg->jwt_secret[0] != '\0')
            return fail(err, errlen,
                        "jwt-secret (JWT_SECRET or JWTD_JWT_SECRET) and jwt-secret-file are both "
                        "set: keep one");
        if (read_secret_file(cfg, err, errlen) != 0)
            return -1;
    }
    size_t slen = strlen(cfg->jwt_secret);
    bool hs = cfg->key_alg >= KEY_ALG_FIRST_HS;
    if (hs && slen == 0)
        return fail(err, errlen,
                    "key-alg %s needs a jwt-secret (JWT_SECRET, JWTD_JWT_SECRET or "
                    "jwt-secret-file); generated keys are asymmetric (EdDSA, ES*, RS*, PS*)",
                    key_algs[cfg->key_alg]);
    /* RFC 7518 3.2: an HMAC key at least as long as the hash (32, 48, 64 bytes). */
    size_t need = !hs ? AUTH_MIN_SECRET : (size_t)(cfg->key_alg - KEY_ALG_FIRST_HS + 2) * 16u;
    if (slen > 0 && slen < need)
        return fail(err, errlen,
                    "invalid value for jwt-secret (%s): the secret is %zu bytes; at least %zu "
                    "are needed%s%s (generate one with: openssl rand -base64 %zu)",
                    cfg->jwt_secret_from, slen, need, hs ? " for key-alg " : "",
                    hs ? key_algs[cfg->key_alg] : "", need * 3 / 2);
    if ((cfg->tls_cert[0] == '\0') != (cfg->tls_key[0] == '\0'))
        return fail(err, errlen, "tls-cert and tls-key must be given together");
    if (cfg->lockout_max < cfg->lockout_base)
        return fail(err, errlen,
                    "lockout-max (%" PRId64 " s) must not be shorter than lockout-base (%" PRId64
                    " s)",
                    cfg->lockout_max, cfg->lockout_base);
    if (cfg->key_rotation > 0 && cfg->jwt_secret[0] != '\0')
        return fail(err, errlen,
                    "key-rotation needs generated keys: a jwt-secret (HS256) cannot rotate");
    if (cfg->key_rotation > 0 && cfg->key_prepublish >= cfg->key_rotation)
        return fail(err, errlen,
                    "key-prepublish (%" PRId64 " s) must be shorter than key-rotation (%" PRId64
                    " s)",
                    cfg->key_prepublish, cfg->key_rotation);
    return 0;
}

jwtd_alg srv_config_key_alg(const srv_config *cfg)
{
    const char *name = key_algs[cfg->key_alg];
    return jwtd_alg_from_name(name, strlen(name));
}

const char *srv_config_enum_name(const srv_config *cfg, const char *option)
{
    const srv_option *o = srv_option_find(option);
    return o->choices[*(const int *)(const void *)((const char *)cfg + o->offset)];
}

void srv_config_auth(const srv_config *cfg, auth_config *out)
{
    auth_config_defaults(out);
    out->access_ttl = cfg->access_ttl;
    out->refresh_ttl = cfg->refresh_ttl;
    out->refresh_grace = cfg->refresh_grace;
    out->issuer = cfg->issuer;
    out->audience = cfg->audience;
    out->pwhash_opslimit = (unsigned long long)cfg->argon2_t;
    out->pwhash_memlimit = (size_t)cfg->argon2_m_kib * 1024u;
    if (cfg->jwt_secret[0] != '\0') {
        out->jwt_secret = (const unsigned char *)cfg->jwt_secret;
        out->jwt_secret_len = strlen(cfg->jwt_secret);
    }
    out->key_alg = srv_config_key_alg(cfg);
    out->key_rotation = cfg->key_rotation;
    out->key_prepublish = cfg->key_prepublish;
    out->token_cache = (size_t)cfg->token_cache;
    if (cfg->db_pool > 0) {
        out->store_pool = (unsigned)cfg->db_pool;
    } else {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        int64_t workers = cfg->workers > 0 ? cfg->workers : cores > 0 ? cores : 1;
        out->store_pool = (unsigned)(workers + 2);
    }
}
