/* The server layer of jwtd serve as the command line sees it: the configuration (one table
 * of options, each a flag, an environment variable and a config-file key), opening the
 * store and the auth service a configuration names, and running the HTTP server.
 * Routes and handlers are private to src/server (routes.c and the files it names). */
#ifndef JWTD_SERVER_H
#define JWTD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"

/* ---- Limits of the server layer (named once) ---- */
#define SRV_MAX_JSON_DEPTH 8 /* request bodies are flat objects */
#define SRV_MAX_CONFIG_FILE (64u * 1024u)
#define SRV_MAX_CONFIG_LINE 1024
#define SRV_MAX_SECRET_FILE 4096
#define SRV_MAX_WEB_FILE (1u << 20) /* largest file served from web-dir */
#define SRV_MAX_WEB_PATH 256        /* request path of a static file */
#define SRV_USERS_PAGE_DEFAULT 50
#define SRV_USERS_PAGE_MAX 500
#define SRV_ERRMSG 512             /* buffer for configuration error messages */
#define SRV_LIMIT_ENTRIES 65536u   /* per-IP buckets held in memory (fixed, never grows) */
#define SRV_LOCKOUT_ENTRIES 65536u /* login identifiers with failures held in memory */
#define SRV_MAX_PROXIES 64         /* entries of trusted-proxies */
#define SRV_MAX_XFF_HOPS 64        /* X-Forwarded-For addresses looked at */
#define SRV_MAX_XFF_BYTES 4096     /* X-Forwarded-For lines joined; longer: the peer */
#define SRV_MAX_ORIGINS 16         /* entries of cors-origins */
#define SRV_MAX_ORIGIN 256         /* bytes of one origin */

/* Values of the enum options, in the order of their choices in config.c. */
enum srv_log_level { SRV_LOG_ERROR, SRV_LOG_WARN, SRV_LOG_INFO, SRV_LOG_DEBUG };
enum srv_registration { SRV_REG_OPEN, SRV_REG_CLOSED };
enum srv_switch { SRV_ON, SRV_OFF };

/* A per-IP limit (SRV_OPT_RATE): burst requests, refilled over period seconds. */
typedef struct srv_rate {
    int64_t burst, period;
} srv_rate;

/* One entry of trusted-proxies: an address and a prefix length. */
typedef struct srv_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned bits;
} srv_cidr;

typedef struct srv_proxies {
    srv_cidr v[SRV_MAX_PROXIES];
    size_t n;
} srv_proxies;

/* cors-origins, parsed: exact origins as browsers send them in Origin. */
typedef struct srv_origins {
    char v[SRV_MAX_ORIGINS][SRV_MAX_ORIGIN + 1];
    size_t len[SRV_MAX_ORIGINS];
    size_t n; /* 0: CORS off */
} srv_origins;

/* A client address as the limits key it: the family and 4 or 16 bytes (IPv6 cut to its /64,
 * the smallest block one subscriber usually gets; IPv4-mapped IPv6 is IPv4). */
typedef struct srv_ip {
    unsigned char family; /* 4 or 6; 0: unknown */
    unsigned char addr[16];
} srv_ip;

/* Every option's value. Strings are owned (srv_config_free); "" means unset. */
typedef struct srv_config {
    char *listen;
    char *db;
    int64_t threads, workers; /* 0: number of cores */
    int64_t access_ttl, refresh_ttl, refresh_grace;
    char *issuer, *audience;
    int log_level;    /* enum srv_log_level */
    int registration; /* enum srv_registration */
    int64_t max_body;
    int64_t request_timeout; /* seconds */
    char *web_dir;
    int64_t argon2_t, argon2_m_kib;
    int key_alg; /* index into the key-alg choices; srv_config_key_alg converts */
    char *tls_cert, *tls_key;
    char *jwt_secret;                     /* secret bytes, never printed */
    char *jwt_secret_file;                /* read into jwt_secret by srv_config_finish */
    char jwt_secret_from[SRV_ERRMSG / 4]; /* the source of jwt_secret, for messages */
    int rate_limit;                       /* enum srv_switch */
    char *trusted_proxies;                /* comma-separated IPs and CIDRs */
    char *cors_origins;                   /* comma-separated exact origins; "": CORS off */
    srv_rate login_rate, register_rate, refresh_rate, token_rate, introspect_rate;
    char *public_url; /* "": from listen (srv_app.public_url) */
    int64_t lockout_after, lockout_base, lockout_max;
    int64_t db_pool;                      /* 0: workers + 2 */
    int64_t key_rotation, key_prepublish; /* seconds; key_rotation 0: off */
    int64_t token_cache;                  /* verified-token cache slots per event loop */
} srv_config;

typedef enum srv_opt_type {
    SRV_OPT_STRING,
    SRV_OPT_SECRET,  /* a string that is never echoed in messages and never a flag */
    SRV_OPT_COUNT,   /* whole number */
    SRV_OPT_SECONDS, /* whole number with an optional s, m, h or d suffix */
    SRV_OPT_DAYS,    /* a duration in seconds: a bare number is days, else s, m, h or d */
    SRV_OPT_BYTES,   /* whole number with an optional K or M (KiB, MiB) suffix */
    SRV_OPT_ENUM,
    SRV_OPT_RATE /* N/PERIOD: N requests refilled over PERIOD (seconds with s, m, h, d) */
} srv_opt_type;

/* One option. Its flag is --NAME and its config-file key NAME (or with '_' for '-'). */
typedef struct srv_option {
    const char *name;
    const char *env;
    srv_opt_type type;
    const char *metavar;        /* in --help, e.g. "ADDR:PORT" */
    const char *def;            /* default as text, as --help shows it */
    const char *const *choices; /* ENUM: NULL-terminated */
    int64_t min, max;           /* numbers */
    size_t offset;              /* of the value in srv_config */
    const char *help;
} srv_option;

/* web-dir's default: the demo page installed beside the binary (web.c resolves it). */
#define SRV_WEB_DIR_AUTO "auto"

extern const srv_option srv_options[];
extern const size_t srv_options_count;

/* The source of a value, named in error messages: "--listen", "JWTD_LISTEN",
 * "jwtd.conf line 3". */
void srv_config_init(srv_config *cfg); /* all defaults */
void srv_config_free(srv_config *cfg); /* secrets are wiped */

const srv_option *srv_option_find(const char *name);

/* Sets one option from text. On error returns -1 and writes "invalid value for NAME
 * (SOURCE): 'VALUE' is not ..." into err (the value hidden for secrets). */
int srv_config_set(srv_config *cfg, const srv_option *opt, const char *value, const char *source,
                   char *err, size_t errlen);
/* "key = value" lines; '#' starts a comment; blank lines are skipped; a value may be
 * double-quoted. Unknown keys are errors. */
int srv_config_apply_file(srv_config *cfg, const char *path, char *err, size_t errlen);
/* The same over text in memory (apply_file reads the file, then calls it); name stands for
 * the file in messages. Lines over SRV_MAX_CONFIG_LINE bytes, NUL bytes and texts over
 * SRV_MAX_CONFIG_FILE bytes are errors. */
int srv_config_apply_text(srv_config *cfg, const char *text, size_t len, const char *name,
                          char *err, size_t errlen);
/* JWTD_* variables, and before them the tutorials' JWT_SECRET, JWT_EXPIRATION_SECONDS,
 * JWT_EXPIRATION_MINUTES, JWT_EXPIRATION_HOURS and REFRESH_TOKEN_EXPIRATION_DAYS (so that
 * a JWTD_* variable wins over its tutorial twin). Empty variables count as unset. */
int srv_config_apply_env(srv_config *cfg, char *err, size_t errlen);
/* Defaults, then the file (config_path, else $JWTD_CONFIG, else none), then the
 * environment. Flags are applied by the caller afterwards, then srv_config_finish. */
int srv_config_load(srv_config *cfg, const char *config_path, char *err, size_t errlen);
/* Checks that need every source: reads jwt-secret-file, refuses a short secret, TLS
 * cert and key given together. */
int srv_config_finish(srv_config *cfg, char *err, size_t errlen);

jwtd_alg srv_config_key_alg(const srv_config *cfg);
const char *srv_config_enum_name(const srv_config *cfg, const char *option);
/* The auth_config a configuration describes (strings borrowed from cfg). */
void srv_config_auth(const srv_config *cfg, auth_config *out);

/* trusted-proxies: a comma-separated list of IPv4/IPv6 addresses and CIDRs (blanks around
 * items allowed, "" is none). -1 on a bad item, copied into bad. */
int srv_proxies_parse(const char *text, srv_proxies *out, char *bad, size_t badlen);
/* cors-origins: comma-separated origins scheme://host[:port] (http or https, a lower-case
 * host or [IPv6], no default port, no path, no wildcard; blanks around items allowed, "" is
 * none). -1 on a bad item, copied into bad, with the reason in *why. */
int srv_origins_parse(const char *text, srv_origins *out, char *bad, size_t badlen,
                      const char **why);
/* The address of text (inet_pton: IPv4 dotted quad or IPv6) as the limits key it. */
bool srv_ip_parse(const char *text, size_t len, srv_ip *out);
/* The client of a request: the socket peer, or, only when the peer is a trusted proxy, the
 * right-most X-Forwarded-For address that is not itself a trusted proxy (all trusted: the
 * left-most). A malformed X-Forwarded-For, too many hops, or xff_count != 1 (the caller could
 * not read the header lines as one list): the peer. xff is every X-Forwarded-For line joined
 * in order (http_header_join), or NULL (no header). false when even the peer is no address. */
bool srv_client_ip(const srv_proxies *proxies, const char *peer, const char *xff, size_t xff_len,
                   size_t xff_count, srv_ip *out);

/* Opens the auth service (mode) over the database the configuration names, the store
 * reporting to log (NULL: the server's JSON log). On failure returns -1 with a message (no
 * secrets) in err; nothing stays open. auth_free closes it all. */
int srv_backend_open(const srv_config *cfg, auth_open_mode mode, const auth_log *log, auth **au,
                     char *err, size_t errlen);

/* Runs jwtd serve until SIGINT/SIGTERM. Returns an exit code: 0, or 1 when start-up
 * failed (the reason already printed). */
int srv_run(const srv_config *cfg);

#endif /* JWTD_SERVER_H */
