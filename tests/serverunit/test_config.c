/* Configuration of jwtd serve: every default is valid; values parse with their units and
 * bounds; the sources apply in the documented order (defaults < file < tutorial variables
 * < JWTD_* < flags); a bad value gives a message that names the key, its source and the
 * problem, and never echoes a secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/server.h"

static const char *const tutorial_vars[] = {
    "JWT_SECRET",           "JWT_EXPIRATION_SECONDS",        "JWT_EXPIRATION_MINUTES",
    "JWT_EXPIRATION_HOURS", "REFRESH_TOKEN_EXPIRATION_DAYS", "JWTD_CONFIG"};

/* Every variable the configuration reads, unset: tests start from the defaults. */
static int clean_env(void **state)
{
    for (size_t i = 0; i < srv_options_count; i++)
        unsetenv(srv_options[i].env);
    for (size_t i = 0; i < sizeof tutorial_vars / sizeof tutorial_vars[0]; i++)
        unsetenv(tutorial_vars[i]);
    return 0;
}

/* A temporary file with text; the path is written into path (24 bytes). */
static void write_temp(char path[32], const char *text)
{
    snprintf(path, 32, "/tmp/jwtd-cfg-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_defaults(void **state)
{
    srv_config cfg;
    char err[SRV_ERRMSG];
    srv_config_init(&cfg);
    /* Each default is accepted by its own parser (init ignores errors by design). */
    for (size_t i = 0; i < srv_options_count; i++) {
        const srv_option *o = &srv_options[i];
        if (srv_config_set(&cfg, o, o->def, "default", err, sizeof err) != 0)
            fail_msg("default of %s refused: %s", o->name, err);
        assert_non_null(o->env);
        assert_int_equal(strncmp(o->env, "JWTD_", 5), 0);
        assert_non_null(o->help);
    }
    assert_string_equal(cfg.listen, "127.0.0.1:3000");
    assert_string_equal(cfg.db, "jwtd.db");
    assert_int_equal(cfg.access_ttl, 900);
    assert_int_equal(cfg.refresh_ttl, 604800);
    assert_int_equal(cfg.refresh_grace, 10);
    assert_int_equal(cfg.max_body, 65536);
    assert_int_equal(cfg.request_timeout, 10);
    assert_int_equal(cfg.log_level, SRV_LOG_INFO);
    assert_int_equal(cfg.registration, SRV_REG_OPEN);
    assert_int_equal(srv_config_key_alg(&cfg), JWTD_ALG_RS256);
    assert_string_equal(cfg.issuer, "jwtd");
    assert_string_equal(cfg.jwt_secret, "");
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), 0);
    srv_config_free(&cfg);
}

static void test_values(void **state)
{
    static const struct {
        const char *option, *value;
        int64_t number;    /* expected for numbers and enums (index) */
        const char *error; /* NULL: accepted; else the whole expected message */
    } cases[] = {
        {"access-ttl", "900", 900, NULL},
        {"access-ttl", "15m", 900, NULL},
        {"access-ttl", "2h", 7200, NULL},
        {"access-ttl", "30s", 30, NULL},
        {"refresh-ttl", "7d", 604800, NULL},
        {"access-ttl", "abc", 0,
         "invalid value for access-ttl (SRC): 'abc' is not a positive number of seconds (e.g. "
         "900, 15m, 7d)"},
        {"access-ttl", "-5", 0,
         "invalid value for access-ttl (SRC): '-5' is not a positive number of seconds (e.g. 900, "
         "15m, 7d)"},
        {"access-ttl", "10x", 0,
         "invalid value for access-ttl (SRC): '10x' is not a positive number of seconds (e.g. "
         "900, 15m, 7d)"},
        {"access-ttl", "15mm", 0,
         "invalid value for access-ttl (SRC): '15mm' is not a positive number of seconds (e.g. "
         "900, 15m, 7d)"},
        {"access-ttl", "", 0,
         "invalid value for access-ttl (SRC): '' is not a positive number of seconds (e.g. 900, "
         "15m, 7d)"},
        {"access-ttl", "99999999999999999999", 0,
         "invalid value for access-ttl (SRC): '99999999999999999999' is not a positive number of "
         "seconds (e.g. 900, 15m, 7d)"},
        {"access-ttl", "0", 0,
         "invalid value for access-ttl (SRC): '0' is out of range (1 to 31622400)"},
        {"refresh-grace", "0", 0, NULL},
        {"refresh-grace", "1m", 60, NULL},
        {"refresh-grace", "1h", 0,
         "invalid value for refresh-grace (SRC): '1h' is out of range (0 to 300)"},
        {"max-body", "64K", 65536, NULL},
        {"max-body", "1M", 1048576, NULL},
        {"max-body", "2048", 2048, NULL},
        {"max-body", "100", 0,
         "invalid value for max-body (SRC): '100' is out of range (1024 to 16777216)"},
        {"max-body", "1G", 0,
         "invalid value for max-body (SRC): '1G' is not a number of bytes (e.g. 65536, 64K, 1M)"},
        {"request-timeout", "30", 30, NULL},
        {"request-timeout", "2m", 120, NULL},
        {"request-timeout", "0", 0,
         "invalid value for request-timeout (SRC): '0' is out of range (1 to 3600)"},
        {"request-timeout", "2h", 0,
         "invalid value for request-timeout (SRC): '2h' is out of range (1 to 3600)"},
        {"threads", "4", 4, NULL},
        {"threads", "4k", 0, "invalid value for threads (SRC): '4k' is not a whole number"},
        {"threads", "1000", 0,
         "invalid value for threads (SRC): '1000' is out of range (0 to 256)"},
        {"log-level", "debug", SRV_LOG_DEBUG, NULL},
        {"log-level", "error", SRV_LOG_ERROR, NULL},
        {"log-level", "verbose", 0,
         "invalid value for log-level (SRC): 'verbose' is not one of error, warn, info, debug"},
        {"log-level", "DEBUG", 0,
         "invalid value for log-level (SRC): 'DEBUG' is not one of error, warn, info, debug"},
        {"registration", "closed", SRV_REG_CLOSED, NULL},
        {"registration", "no", 0,
         "invalid value for registration (SRC): 'no' is not one of open, closed"},
        {"key-alg", "ES256", 1, NULL},
        {"key-alg", "HS512", 12, NULL}, /* paired with a jwt-secret at finish (test_secret) */
        {"key-alg", "HS1024", 0,
         "invalid value for key-alg (SRC): 'HS1024' is not one of EdDSA, ES256, ES384, ES512, "
         "RS256, RS384, RS512, PS256, PS384, PS512, HS256, HS384, HS512"},
        {"cors-origins", "http://localhost:5173, https://app.example.com", 0, NULL},
        {"cors-origins", "http://[::1]:8080,http://127.0.0.1:3001", 0, NULL},
        {"cors-origins", "", 0, NULL},
        {"cors-origins", "*", 0,
         "invalid value for cors-origins (SRC): '*' is not an origin (scheme://host[:port], e.g. "
         "https://app.example.com; at most 16, comma-separated): no wildcard: credentials are "
         "allowed, so every origin is listed exactly"},
        {"cors-origins", "https://app.example.com/", 0,
         "invalid value for cors-origins (SRC): 'https://app.example.com/' is not an origin "
         "(scheme://host[:port], e.g. https://app.example.com; at most 16, comma-separated): an "
         "origin has no path, not even a trailing /"},
        {"cors-origins", "http://ok.example,app.example.com", 0,
         "invalid value for cors-origins (SRC): 'app.example.com' is not an origin "
         "(scheme://host[:port], e.g. https://app.example.com; at most 16, comma-separated): it "
         "must start with http:// or https:// (lower case)"},
        {"cors-origins", "https://App.example.com", 0,
         "invalid value for cors-origins (SRC): 'https://App.example.com' is not an origin "
         "(scheme://host[:port], e.g. https://app.example.com; at most 16, comma-separated): the "
         "host must be a lower-case name (a-z 0-9 . -) or a [IPv6] address"},
        {"cors-origins", "http://localhost:70000", 0,
         "invalid value for cors-origins (SRC): 'http://localhost:70000' is not an origin "
         "(scheme://host[:port], e.g. https://app.example.com; at most 16, comma-separated): the "
         "port must be 1 to 65535"},
        {"cors-origins", "https://app.example.com:443", 0,
         "invalid value for cors-origins (SRC): 'https://app.example.com:443' is not an origin "
         "(scheme://host[:port], e.g. https://app.example.com; at most 16, comma-separated): "
         "browsers send the scheme's default port without it: leave it out"},
        {"public-url", "https://auth.example.com", 0, NULL},
        {"public-url", "http://127.0.0.1:3000", 0, NULL},
        {"public-url", "https://auth.example.com/tenant/a", 0, NULL},
        {"public-url", "http://[::1]:8080/", 0, NULL},
        {"public-url", "ftp://x", 0,
         "invalid value for public-url (SRC): 'ftp://x' is not http(s)://HOST[:PORT][/PATH] (no "
         "query, fragment or user)"},
        {"public-url", "https://", 0,
         "invalid value for public-url (SRC): 'https://' is not http(s)://HOST[:PORT][/PATH] (no "
         "query, fragment or user)"},
        {"public-url", "https://a.example?x=1", 0,
         "invalid value for public-url (SRC): 'https://a.example?x=1' is not "
         "http(s)://HOST[:PORT][/PATH] (no query, fragment or user)"},
        {"public-url", "https://a.example/#f", 0,
         "invalid value for public-url (SRC): 'https://a.example/#f' is not "
         "http(s)://HOST[:PORT][/PATH] (no query, fragment or user)"},
        {"public-url", "https://user@a.example", 0,
         "invalid value for public-url (SRC): 'https://user@a.example' is not "
         "http(s)://HOST[:PORT][/PATH] (no query, fragment or user)"},
        {"public-url", "https://a.example:0", 0,
         "invalid value for public-url (SRC): 'https://a.example:0' is not "
         "http(s)://HOST[:PORT][/PATH] (no query, fragment or user)"},
        {"public-url", "https://a.example:70000", 0,
         "invalid value for public-url (SRC): 'https://a.example:70000' is not "
         "http(s)://HOST[:PORT][/PATH] (no query, fragment or user)"},
        {"public-url", "https://a.example/p q", 0,
         "invalid value for public-url (SRC): 'https://a.example/p q' is not "
         "http(s)://HOST[:PORT][/PATH] (no query, fragment or user)"},
        {"public-url", "auth.example.com", 0,
         "invalid value for public-url (SRC): 'auth.example.com' is not "
         "http(s)://HOST[:PORT][/PATH] (no query, fragment or user)"},
        {"token-rate", "10/1m", 10, NULL},
        {"introspect-rate", "100/1s", 100, NULL},
        {"listen", "127.0.0.1:0", 0, NULL},
        {"listen", "[::1]:3000", 0, NULL},
        {"listen", "localhost", 0,
         "invalid value for listen (SRC): 'localhost' is not ADDRESS:PORT (e.g. 127.0.0.1:3000)"},
        {"listen", "1.2.3.4:99999", 0,
         "invalid value for listen (SRC): '1.2.3.4:99999' is not ADDRESS:PORT (e.g. "
         "127.0.0.1:3000)"},
        {"listen", ":3000", 0,
         "invalid value for listen (SRC): ':3000' is not ADDRESS:PORT (e.g. 127.0.0.1:3000)"},
        {"db", "", 0, "invalid value for db (SRC): it must not be empty"},
        {"web-dir", "", 0, NULL},
        {"rate-limit", "off", SRV_OFF, NULL},
        {"rate-limit", "on", SRV_ON, NULL},
        {"rate-limit", "no", 0, "invalid value for rate-limit (SRC): 'no' is not one of on, off"},
        {"login-rate", "20/1m", 20, NULL}, /* the burst; the period: test_rates */
        {"register-rate", "3/45", 3, NULL},
        {"refresh-rate", "1000000/1d", 1000000, NULL},
        {"login-rate", "20", 0,
         "invalid value for login-rate (SRC): '20' is not N/PERIOD (e.g. 20/1m: 20 requests, "
         "refilled over a minute)"},
        {"login-rate", "x/1m", 0,
         "invalid value for login-rate (SRC): 'x/1m' is not N/PERIOD (e.g. 20/1m: 20 requests, "
         "refilled over a minute)"},
        {"refresh-rate", "20/1w", 0,
         "invalid value for refresh-rate (SRC): '20/1w' is not N/PERIOD (e.g. 20/1m: 20 "
         "requests, refilled over a minute)"},
        {"register-rate", "-1/1m", 0,
         "invalid value for register-rate (SRC): '-1/1m' is not N/PERIOD (e.g. 20/1m: 20 "
         "requests, refilled over a minute)"},
        {"login-rate", "0/1m", 0,
         "invalid value for login-rate (SRC): '0/1m' is out of range (N from 1 to 1000000, "
         "PERIOD from 1s to 1d)"},
        {"login-rate", "5/0", 0,
         "invalid value for login-rate (SRC): '5/0' is out of range (N from 1 to 1000000, "
         "PERIOD from 1s to 1d)"},
        {"register-rate", "5/2d", 0,
         "invalid value for register-rate (SRC): '5/2d' is out of range (N from 1 to 1000000, "
         "PERIOD from 1s to 1d)"},
        {"lockout-after", "10", 10, NULL},
        {"lockout-after", "0", 0,
         "invalid value for lockout-after (SRC): '0' is out of range (1 to 1000)"},
        {"lockout-base", "30s", 30, NULL},
        {"lockout-base", "1x", 0,
         "invalid value for lockout-base (SRC): '1x' is not a positive number of seconds (e.g. "
         "900, 15m, 7d)"},
        {"lockout-max", "1h", 3600, NULL},
        {"lockout-max", "8d", 0,
         "invalid value for lockout-max (SRC): '8d' is out of range (1 to 604800)"},
        {"key-rotation", "90", 90 * 86400, NULL}, /* a bare number is days */
        {"key-rotation", "0", 0, NULL},
        {"key-rotation", "12h", 12 * 3600, NULL},
        {"key-rotation", "30s", 30, NULL},
        {"key-rotation", "3661", 0,
         "invalid value for key-rotation (SRC): '3661' is out of range (0 to 316224000)"},
        {"key-rotation", "soon", 0,
         "invalid value for key-rotation (SRC): 'soon' is not a number of days, or a duration "
         "with a unit (e.g. 90, 12h)"},
        {"key-rotation", "-1", 0,
         "invalid value for key-rotation (SRC): '-1' is not a number of days, or a duration "
         "with a unit (e.g. 90, 12h)"},
        {"key-rotation", "99999999999999999", 0,
         "invalid value for key-rotation (SRC): '99999999999999999' is not a number of days, "
         "or a duration with a unit (e.g. 90, 12h)"},
        {"key-prepublish", "2h", 7200, NULL},
        {"key-prepublish", "31d", 0,
         "invalid value for key-prepublish (SRC): '31d' is out of range (0 to 2592000)"},
        {"db-pool", "16", 16, NULL},
        {"db-pool", "1025", 0,
         "invalid value for db-pool (SRC): '1025' is out of range (0 to 1024)"},
        {"db-pool", "many", 0, "invalid value for db-pool (SRC): 'many' is not a whole number"},
        {"token-cache", "0", 0, NULL},
        {"token-cache", "262144", 262144, NULL},
        {"token-cache", "262145", 0,
         "invalid value for token-cache (SRC): '262145' is out of range (0 to 262144)"},
        {"trusted-proxies", "10.0.0.0/8, 192.168.1.1,::1 ,fd00::/8", 0, NULL},
        {"trusted-proxies", "", 0, NULL},
        {"trusted-proxies", "10.0.0.0/33", 0,
         "invalid value for trusted-proxies (SRC): '10.0.0.0/33' is not an IP address or CIDR "
         "(e.g. 10.0.0.0/8, ::1; at most 64, comma-separated)"},
        {"trusted-proxies", "10.0.0.1,localhost", 0,
         "invalid value for trusted-proxies (SRC): 'localhost' is not an IP address or CIDR "
         "(e.g. 10.0.0.0/8, ::1; at most 64, comma-separated)"},
        {"trusted-proxies", "10.0.0.1,,10.0.0.2", 0,
         "invalid value for trusted-proxies (SRC): '' is not an IP address or CIDR (e.g. "
         "10.0.0.0/8, ::1; at most 64, comma-separated)"},
        {"trusted-proxies", "10.1/8", 0,
         "invalid value for trusted-proxies (SRC): '10.1/8' is not an IP address or CIDR (e.g. "
         "10.0.0.0/8, ::1; at most 64, comma-separated)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        srv_config cfg;
        char err[SRV_ERRMSG] = "";
        srv_config_init(&cfg);
        const srv_option *o = srv_option_find(cases[i].option);
        assert_non_null(o);
        int rc = srv_config_set(&cfg, o, cases[i].value, "SRC", err, sizeof err);
        if (cases[i].error == NULL) {
            if (rc != 0)
                fail_msg("%s='%s' refused: %s", cases[i].option, cases[i].value, err);
            const char *base = (const char *)&cfg;
            if (o->type == SRV_OPT_ENUM)
                assert_int_equal(*(const int *)(const void *)(base + o->offset), cases[i].number);
            else if (o->type != SRV_OPT_STRING)
                assert_int_equal(*(const int64_t *)(const void *)(base + o->offset),
                                 cases[i].number);
            else
                assert_string_equal(*(char *const *)(const void *)(base + o->offset),
                                    cases[i].value);
        } else {
            if (rc == 0)
                fail_msg("%s='%s' accepted", cases[i].option, cases[i].value);
            assert_string_equal(err, cases[i].error);
        }
        srv_config_free(&cfg);
    }
}

static void test_env(void **state)
{
    srv_config cfg;
    char err[SRV_ERRMSG] = "";

    /* The brief's example message, word for word. */
    setenv("JWTD_ACCESS_TTL", "abc", 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), -1);
    assert_string_equal(err, "invalid value for access-ttl (JWTD_ACCESS_TTL): 'abc' is not a "
                             "positive number of seconds (e.g. 900, 15m, 7d)");
    srv_config_free(&cfg);

    /* Tutorial variables in their units; JWTD_* wins over them; empty means unset. */
    unsetenv("JWTD_ACCESS_TTL");
    setenv("JWT_EXPIRATION_MINUTES", "30", 1);
    setenv("REFRESH_TOKEN_EXPIRATION_DAYS", "2", 1);
    setenv("JWTD_REGISTRATION", "", 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.access_ttl, 1800);
    assert_int_equal(cfg.refresh_ttl, 172800);
    assert_int_equal(cfg.registration, SRV_REG_OPEN);
    srv_config_free(&cfg);

    setenv("JWTD_ACCESS_TTL", "60", 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.access_ttl, 60);
    srv_config_free(&cfg);

    setenv("JWT_EXPIRATION_SECONDS", "5", 1);
    unsetenv("JWTD_ACCESS_TTL");
    unsetenv("JWT_EXPIRATION_MINUTES");
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.access_ttl, 5);
    srv_config_free(&cfg);

    setenv("JWT_EXPIRATION_MINUTES", "soon", 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), -1);
    assert_string_equal(err, "invalid value for access-ttl (JWT_EXPIRATION_MINUTES): 'soon' is "
                             "not a positive whole number of minutes up to 527040");
    srv_config_free(&cfg);
    unsetenv("JWT_EXPIRATION_MINUTES");

    setenv("REFRESH_TOKEN_EXPIRATION_DAYS", "0", 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), -1);
    assert_string_equal(err, "invalid value for refresh-ttl (REFRESH_TOKEN_EXPIRATION_DAYS): '0' "
                             "is not a positive whole number of days up to 3660");
    srv_config_free(&cfg);
    clean_env(NULL);
}

static void test_secret(void **state)
{
    srv_config cfg;
    char err[SRV_ERRMSG] = "";
    /* Too short: refused at finish, the secret itself never in the message. */
    setenv("JWT_SECRET", "tooshortsecret", 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), -1);
    assert_string_equal(err, "invalid value for jwt-secret (JWT_SECRET): the secret is 14 bytes; "
                             "at least 32 are needed (generate one with: openssl rand -base64 48)");
    assert_null(strstr(err, "tooshortsecret"));
    srv_config_free(&cfg);

    /* HS384 and HS512 need a secret as long as their hash; HS* needs a secret at all. */
    setenv("JWT_SECRET", "0123456789abcdef0123456789abcdef", 1);
    setenv("JWTD_KEY_ALG", "HS512", 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), -1);
    assert_string_equal(err, "invalid value for jwt-secret (JWT_SECRET): the secret is 32 bytes; "
                             "at least 64 are needed for key-alg HS512 (generate one with: "
                             "openssl rand -base64 96)");
    srv_config_free(&cfg);
    setenv("JWTD_KEY_ALG", "HS384", 1);
    setenv("JWT_SECRET", "0123456789abcdef0123456789abcdef0123456789abcdef", 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), 0);
    assert_int_equal(srv_config_key_alg(&cfg), JWTD_ALG_HS384);
    srv_config_free(&cfg);
    unsetenv("JWT_SECRET");
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), -1);
    assert_string_equal(err, "key-alg HS384 needs a jwt-secret (JWT_SECRET, JWTD_JWT_SECRET or "
                             "jwt-secret-file); generated keys are asymmetric (EdDSA, ES*, RS*, "
                             "PS*)");
    srv_config_free(&cfg);
    unsetenv("JWTD_KEY_ALG");

    setenv("JWT_SECRET", "0123456789abcdef0123456789abcdef", 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), 0);
    auth_config ac;
    srv_config_auth(&cfg, &ac);
    assert_int_equal(ac.jwt_secret_len, 32);
    assert_memory_equal(ac.jwt_secret, "0123456789abcdef0123456789abcdef", 32);
    srv_config_free(&cfg);

    /* A secret file loses one trailing newline; with JWT_SECRET too, it is ambiguous. */
    char path[32];
    write_temp(path, "fedcba9876543210fedcba9876543210xyz\n");
    setenv("JWTD_JWT_SECRET_FILE", path, 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "both set"));
    srv_config_free(&cfg);
    unsetenv("JWT_SECRET");
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), 0);
    assert_string_equal(cfg.jwt_secret, "fedcba9876543210fedcba9876543210xyz");
    srv_config_free(&cfg);
    unlink(path);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read"));
    srv_config_free(&cfg);
    clean_env(NULL);
}

static void test_file(void **state)
{
    srv_config cfg;
    char err[SRV_ERRMSG] = "", path[32];
    write_temp(path, "# jwtd serve configuration\n"
                     "\n"
                     "listen = 127.0.0.1:4000\n"
                     "  access_ttl=10m   \n"
                     "issuer = \"https://auth.example\"\n"
                     "registration = closed\n"
                     "log-level = debug\n");
    assert_int_equal(srv_config_load(&cfg, path, err, sizeof err), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:4000");
    assert_int_equal(cfg.access_ttl, 600);
    assert_string_equal(cfg.issuer, "https://auth.example");
    assert_int_equal(cfg.registration, SRV_REG_CLOSED);
    assert_int_equal(cfg.log_level, SRV_LOG_DEBUG);
    srv_config_free(&cfg);

    /* The environment wins over the file; JWTD_CONFIG names the file. */
    setenv("JWTD_ACCESS_TTL", "20", 1);
    setenv("JWTD_CONFIG", path, 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.access_ttl, 20);
    assert_string_equal(cfg.listen, "127.0.0.1:4000");
    /* ...and a flag (applied by the caller) over both. */
    assert_int_equal(
        srv_config_set(&cfg, srv_option_find("access-ttl"), "30", "--access-ttl", err, sizeof err),
        0);
    assert_int_equal(cfg.access_ttl, 30);
    srv_config_free(&cfg);
    clean_env(NULL);
    unlink(path);

    static const struct {
        const char *text, *error; /* error with PATH for the file's path */
    } bad[] = {
        {"listen 127.0.0.1:1\n", "PATH line 1: expected 'key = value'"},
        {"# ok\nport = 3000\n", "PATH line 2: unknown key 'port'"},
        {"access-ttl = forever\n",
         "invalid value for access-ttl (PATH line 1): 'forever' is not a positive number of "
         "seconds (e.g. 900, 15m, 7d)"},
        {"config = other.conf\n", "PATH line 1: unknown key 'config'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char expected[SRV_ERRMSG], *at;
        write_temp(path, bad[i].text);
        at = strstr(bad[i].error, "PATH");
        snprintf(expected, sizeof expected, "%.*s%s%s", (int)(at - bad[i].error), bad[i].error,
                 path, at + 4);
        assert_int_equal(srv_config_load(&cfg, path, err, sizeof err), -1);
        assert_string_equal(err, expected);
        srv_config_free(&cfg);
        unlink(path);
    }
    assert_int_equal(srv_config_load(&cfg, "/nonexistent/jwtd.conf", err, sizeof err), -1);
    assert_string_equal(err, "cannot read config file '/nonexistent/jwtd.conf': No such file or "
                             "directory");
    srv_config_free(&cfg);
}

static void test_tls_pair(void **state)
{
    srv_config cfg;
    char err[SRV_ERRMSG] = "";
    srv_config_init(&cfg);
    assert_int_equal(srv_config_set(&cfg, srv_option_find("tls-cert"), "cert.pem", "--tls-cert",
                                    err, sizeof err),
                     0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), -1);
    assert_string_equal(err, "tls-cert and tls-key must be given together");
    assert_int_equal(
        srv_config_set(&cfg, srv_option_find("tls-key"), "key.pem", "--tls-key", err, sizeof err),
        0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), 0);
    srv_config_free(&cfg);
}

/* The rate options keep both halves; the lockout's bounds are checked together. */
static void test_rates(void **state)
{
    srv_config cfg;
    char err[SRV_ERRMSG] = "";
    srv_config_init(&cfg);
    assert_int_equal(cfg.rate_limit, SRV_ON);
    assert_string_equal(cfg.trusted_proxies, "");
    assert_int_equal(cfg.login_rate.burst, 20);
    assert_int_equal(cfg.login_rate.period, 60);
    assert_int_equal(cfg.register_rate.burst, 10);
    assert_int_equal(cfg.register_rate.period, 60);
    assert_int_equal(cfg.refresh_rate.burst, 60);
    assert_int_equal(cfg.refresh_rate.period, 60);
    assert_int_equal(cfg.lockout_after, 5);
    assert_int_equal(cfg.lockout_base, 1);
    assert_int_equal(cfg.lockout_max, 900);
    assert_int_equal(srv_config_set(&cfg, srv_option_find("login-rate"), "3/2h", "--login-rate",
                                    err, sizeof err),
                     0);
    assert_int_equal(cfg.login_rate.burst, 3);
    assert_int_equal(cfg.login_rate.period, 7200);
    assert_int_equal(srv_config_set(&cfg, srv_option_find("lockout-base"), "20m", "--lockout-base",
                                    err, sizeof err),
                     0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), -1);
    assert_string_equal(err, "lockout-max (900 s) must not be shorter than lockout-base (1200 s)");
    assert_int_equal(srv_config_set(&cfg, srv_option_find("lockout-max"), "20m", "--lockout-max",
                                    err, sizeof err),
                     0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), 0);
    /* Key rotation: the pre-publication must be shorter, and a secret cannot rotate. */
    assert_int_equal(cfg.key_rotation, 0);
    assert_int_equal(cfg.key_prepublish, 3600);
    assert_int_equal(srv_config_set(&cfg, srv_option_find("key-rotation"), "1h", "--key-rotation",
                                    err, sizeof err),
                     0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), -1);
    assert_string_equal(err, "key-prepublish (3600 s) must be shorter than key-rotation (3600 s)");
    assert_int_equal(srv_config_set(&cfg, srv_option_find("key-prepublish"), "10m",
                                    "--key-prepublish", err, sizeof err),
                     0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), 0);
    assert_int_equal(srv_config_set(&cfg, srv_option_find("jwt-secret"),
                                    "0123456789abcdef0123456789abcdef", "JWT_SECRET", err,
                                    sizeof err),
                     0);
    assert_int_equal(srv_config_finish(&cfg, err, sizeof err), -1);
    assert_string_equal(err,
                        "key-rotation needs generated keys: a jwt-secret (HS256) cannot rotate");
    srv_config_free(&cfg);
    /* From the environment, like every option. */
    setenv("JWTD_RATE_LIMIT", "off", 1);
    setenv("JWTD_REFRESH_RATE", "7/7s", 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.rate_limit, SRV_OFF);
    assert_int_equal(cfg.refresh_rate.burst, 7);
    assert_int_equal(cfg.refresh_rate.period, 7);
    srv_config_free(&cfg);
    setenv("JWTD_LOGIN_RATE", "lots", 1);
    assert_int_equal(srv_config_load(&cfg, NULL, err, sizeof err), -1);
    assert_string_equal(err, "invalid value for login-rate (JWTD_LOGIN_RATE): 'lots' is not "
                             "N/PERIOD (e.g. 20/1m: 20 requests, refilled over a minute)");
    srv_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clean_env),
        cmocka_unit_test_setup(test_values, clean_env),
        cmocka_unit_test_setup(test_env, clean_env),
        cmocka_unit_test_setup(test_secret, clean_env),
        cmocka_unit_test_setup(test_file, clean_env),
        cmocka_unit_test_setup(test_tls_pair, clean_env),
        cmocka_unit_test_setup(test_rates, clean_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
