/* Secrets in the configuration of jwtd serve (issue 4, "Timing and secrets"):
 *  - an HS256 secret of 31 bytes is refused with the exact message, from JWT_SECRET,
 *    JWTD_JWT_SECRET and jwt-secret-file alike, and the message never holds the secret;
 *    32 bytes are accepted (the boundary, both sides);
 *  - srv_filecheck: jwt-secret-file, tls-key and the database file readable by group or
 *    others give one warning line each, naming the file and its mode and never its content;
 *    mode 0600 (or 0400) gives none; unset options and database URLs are skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/filecheck.h"
#include "server/server.h"

#define S31 "0123456789abcdef0123456789abcde"  /* 31 bytes */
#define S32 "0123456789abcdef0123456789abcdef" /* 32 bytes */
#define HINT "at least 32 are needed (generate one with: openssl rand -base64 48)"

static int clean_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < srv_options_count; i++)
        unsetenv(srv_options[i].env);
    unsetenv("JWT_SECRET");
    unsetenv("JWTD_CONFIG");
    return 0;
}

/* A temporary file with text and mode; the path goes into path. */
static void write_temp(char path[64], const char *text, mode_t mode)
{
    snprintf(path, 64, "/tmp/jwtd-secrets-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

/* Loads the configuration from the environment and finishes it; returns finish's result. */
static int load_finish(srv_config *cfg, char *err, size_t errlen)
{
    err[0] = '\0';
    assert_int_equal(srv_config_load(cfg, NULL, err, errlen), 0);
    return srv_config_finish(cfg, err, errlen);
}

static void test_env_secret_boundary(void **state)
{
    (void)state;
    srv_config cfg;
    char err[SRV_ERRMSG];
    const char *vars[] = {"JWT_SECRET", "JWTD_JWT_SECRET"};
    for (size_t i = 0; i < 2; i++) {
        clean_env(NULL);
        setenv(vars[i], S31, 1);
        assert_int_equal(load_finish(&cfg, err, sizeof err), -1);
        char want[SRV_ERRMSG];
        snprintf(want, sizeof want,
                 "invalid value for jwt-secret (%s): the secret is 31 bytes; " HINT, vars[i]);
        assert_string_equal(err, want);
        assert_null(strstr(err, S31));
        srv_config_free(&cfg);

        setenv(vars[i], S32, 1);
        assert_int_equal(load_finish(&cfg, err, sizeof err), 0);
        auth_config ac;
        srv_config_auth(&cfg, &ac);
        assert_int_equal(ac.jwt_secret_len, 32);
        assert_memory_equal(ac.jwt_secret, S32, 32);
        srv_config_free(&cfg);
    }
    clean_env(NULL);
}

static void test_file_secret_boundary(void **state)
{
    (void)state;
    srv_config cfg;
    char err[SRV_ERRMSG], path[64], want[SRV_ERRMSG];
    /* 31 bytes and the newline an editor adds: the newline does not count. */
    write_temp(path, S31 "\n", 0600);
    setenv("JWTD_JWT_SECRET_FILE", path, 1);
    assert_int_equal(load_finish(&cfg, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "invalid value for jwt-secret (jwt-secret-file %s): the secret is 31 bytes; " HINT,
             path);
    assert_string_equal(err, want);
    assert_null(strstr(err, S31));
    srv_config_free(&cfg);
    unlink(path);

    write_temp(path, S32 "\n", 0600);
    setenv("JWTD_JWT_SECRET_FILE", path, 1);
    assert_int_equal(load_finish(&cfg, err, sizeof err), 0);
    auth_config ac;
    srv_config_auth(&cfg, &ac);
    assert_int_equal(ac.jwt_secret_len, 32);
    assert_memory_equal(ac.jwt_secret, S32, 32);
    srv_config_free(&cfg);
    unlink(path);
    clean_env(NULL);
}

/* srv_filecheck_path's output for a file of this mode, into out (NUL-terminated). */
static int check_mode(mode_t mode, const char *content, char path[64], char *out, size_t outlen)
{
    write_temp(path, content, mode);
    FILE *f = fmemopen(out, outlen, "w");
    assert_non_null(f);
    int n = srv_filecheck_path("jwt-secret-file", path, f);
    fclose(f);
    return n;
}

static void test_filecheck_modes(void **state)
{
    (void)state;
    static const struct {
        mode_t mode;
        const char *who; /* NULL: no warning */
    } cases[] = {
        {0600, NULL},
        {0400, NULL},
        {0700, NULL},
        {0640, "group"},
        {0604, "others"},
        {0644, "group and others"},
        {0444, "group and others"},
        {0660, "group"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[64], out[1024] = "", want[512];
        const char *content = "the-secret-content-" S32;
        int n = check_mode(cases[i].mode, content, path, out, sizeof out);
        if (cases[i].who == NULL) {
            assert_int_equal(n, 0);
            assert_string_equal(out, "");
        } else {
            assert_int_equal(n, 1);
            snprintf(want, sizeof want,
                     "jwtd: warning: jwt-secret-file %s is readable by %s (mode %04o); chmod "
                     "600 it\n",
                     path, cases[i].who, (unsigned)cases[i].mode);
            assert_string_equal(out, want);
            assert_null(strstr(out, "the-secret-content"));
        }
        unlink(path);
    }
}

static void test_filecheck_config(void **state)
{
    (void)state;
    char key[64], secret[64], db[64], out[2048] = "", url[128];
    write_temp(key, "-----BEGIN PRIVATE KEY-----\n", 0644);
    write_temp(secret, S32, 0600);
    write_temp(db, "SQLite format 3", 0604);
    srv_config cfg;
    srv_config_init(&cfg);
    free(cfg.tls_key);
    cfg.tls_key = strdup(key);
    free(cfg.jwt_secret_file);
    cfg.jwt_secret_file = strdup(secret);
    free(cfg.db);
    assert_true(asprintf(&cfg.db, "sqlite:%s", db) > 0);
    FILE *f = fmemopen(out, sizeof out, "w");
    assert_int_equal(srv_filecheck(&cfg, f), 2);
    fclose(f);
    assert_non_null(strstr(out, "jwtd: warning: tls-key "));
    assert_non_null(strstr(out, key));
    assert_non_null(strstr(out, "jwtd: warning: db "));
    assert_non_null(strstr(out, "(mode 0604)"));
    assert_null(strstr(out, "jwt-secret-file")); /* 0600 */
    assert_null(strstr(out, "BEGIN PRIVATE KEY"));

    /* A database URL names no local file; unset options are skipped. */
    free(cfg.db);
    snprintf(url, sizeof url, "postgresql://user@host/%s", db);
    cfg.db = strdup(url);
    free(cfg.tls_key);
    cfg.tls_key = strdup("");
    out[0] = '\0';
    f = fmemopen(out, sizeof out, "w");
    assert_int_equal(srv_filecheck(&cfg, f), 0);
    fclose(f);
    assert_string_equal(out, "");
    srv_config_free(&cfg);
    unlink(key);
    unlink(secret);
    unlink(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_env_secret_boundary, clean_env),
        cmocka_unit_test_setup(test_file_secret_boundary, clean_env),
        cmocka_unit_test(test_filecheck_modes),
        cmocka_unit_test(test_filecheck_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
