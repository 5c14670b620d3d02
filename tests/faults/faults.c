/* faults.disk_full, faults.disk_full_partial and faults.read_only: a real `jwtd serve` on a
 * real SQLite file whose disk fills up (ENOSPC on every write, or on every other write, so that
 * commits fail half-written) or whose file system turns read-only (EROFS) while it runs,
 * through the LD_PRELOAD shim support/enospc.c (no privilege needed). faults.disk_full_tmpfs is the
 * same with a real full file system where the privilege exists (root with CAP_SYS_ADMIN,
 * else it is skipped): a 2 MiB tmpfs mounted in a mount namespace of the test's own, filled
 * up by a file that is then deleted. The test proves that
 *   1. while the fault lasts, every request that needs a write (register, login — it stores a
 *      refresh token —, refresh, logout, logout-all, PATCH /admin/users/{id}) is answered
 *      503 with {"error": "service unavailable"} and Retry-After, never 500 and never a false
 *      success;
 *   2. reads keep working: GET /me with an access token issued before, the JWKS, /healthz,
 *      /metrics and GET /admin/users;
 *   3. when the fault ends the server recovers by itself, without a restart: the very same
 *      requests succeed at once (a refresh token whose rotation failed is still unspent);
 *   4. nothing acknowledged before the fault is lost, and everything acknowledged after it
 *      survives a restart of the server on the same file.
 * Usage: faults --jwtd BIN --shim LIB --work DIR --fault ENOSPC|ENOSPC-PARTIAL|EROFS [--serve-arg
 * ARG]... */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "httpc.h"
#include "testserver.h"
#include "testutil.h"

#define USERS 5        /* registered before the fault */
#define FAULT_ROUNDS 3 /* each write request is tried this many times during the fault */
#define UNAVAILABLE "service unavailable" /* auth_err_message(AUTH_UNAVAILABLE) */

typedef struct account {
    char name[32];
    char *access, *refresh;
    long long id; /* from the 201 of its registration */
} account;

static account users[USERS], late, admin;
static const char *base;

static void set_token(char **slot, char *value)
{
    free(*slot);
    *slot = value;
}

static void creds(const account *a, char *out, size_t len)
{
    snprintf(out, len, "{\"username\":\"%s\",\"password\":\"password of %s\"}", a->name, a->name);
}

static void refresh_body(const char *token, char *out, size_t len)
{
    snprintf(out, len, "{\"refresh_token\":\"%s\"}", token != NULL ? token : "");
}

/* POST path with json; keeps the tokens of a 200/201 in a. Returns the status. */
static long post_tokens(const char *path, const char *json, account *a, httpc_resp *out)
{
    httpc_resp r;
    long status = httpc_request("POST", base, path, NULL, json, &r);
    if ((status == 200 || status == 201) && a != NULL) {
        char *at = httpc_json_string(&r, "access_token"),
             *rt = httpc_json_string(&r, "refresh_token");
        if (at != NULL && rt != NULL) {
            set_token(&a->access, at);
            set_token(&a->refresh, rt);
            json_t *doc = json_loads(r.body, 0, NULL);
            json_t *id = json_object_get(json_object_get(doc, "user"), "id");
            if (json_is_integer(id))
                a->id = (long long)json_integer_value(id);
            json_decref(doc);
        } else {
            free(at);
            free(rt);
            status = -status; /* a success without tokens is wrong */
        }
    }
    if (out != NULL)
        *out = r;
    else
        httpc_resp_free(&r);
    return status;
}

/* A write during the fault: 503, {"error": "service unavailable"}, Retry-After. */
static bool refused(long status, const httpc_resp *r, const char *what, int round)
{
    bool ok = status == 503 && httpc_is_error(r, UNAVAILABLE) && r->retry_after;
    if (!ok || round == 0)
        testutil_check(ok, "during the fault: %s -> %ld %s%s", what, status,
                       r->body != NULL ? r->body : "(no body)",
                       r->retry_after ? " (Retry-After)" : "");
    return ok;
}

/* An administrator gives users[4] the roles user and auditor. */
static long admin_set_roles(httpc_resp *r)
{
    char path[64];
    snprintf(path, sizeof path, "/admin/users/%lld", users[4].id);
    return httpc_request("PATCH", base, path, admin.access, "{\"roles\":[\"user\",\"auditor\"]}",
                         r);
}

/* Every write of the list, tried FAULT_ROUNDS times, must be refused with 503. The tokens
 * they present must stay as they were. */
static void writes_refused(void)
{
    char json[8192];
    httpc_resp r;
    for (int round = 0; round < FAULT_ROUNDS; round++) {
        creds(&late, json, sizeof json);
        long st = post_tokens("/register", json, NULL, &r);
        refused(st, &r, "register a new user", round);
        httpc_resp_free(&r);

        creds(&users[0], json, sizeof json);
        st = post_tokens("/login", json, NULL, &r);
        refused(st, &r, "login (stores a refresh token)", round);
        httpc_resp_free(&r);

        refresh_body(users[0].refresh, json, sizeof json);
        st = post_tokens("/refresh", json, NULL, &r);
        refused(st, &r, "refresh", round);
        httpc_resp_free(&r);

        refresh_body(users[1].refresh, json, sizeof json);
        st = httpc_request("POST", base, "/logout", NULL, json, &r);
        refused(st, &r, "logout", round);
        httpc_resp_free(&r);

        st = httpc_request("POST", base, "/logout-all", users[2].access, NULL, &r);
        refused(st, &r, "logout-all", round);
        httpc_resp_free(&r);

        st = admin_set_roles(&r);
        refused(st, &r, "PATCH /admin/users/{id} (roles)", round);
        httpc_resp_free(&r);
    }
}

/* Reads need no write: they keep working during the fault. */
static void reads_work(const char *when)
{
    httpc_resp r;
    long st = httpc_request("GET", base, "/me", users[3].access, NULL, &r);
    testutil_check(st == 200 && r.body != NULL && strstr(r.body, users[3].name) != NULL,
                   "%s: GET /me with an access token issued before -> %ld", when, st);
    httpc_resp_free(&r);

    st = httpc_request("GET", base, "/.well-known/jwks.json", NULL, NULL, &r);
    testutil_check(st == 200 && r.body != NULL && strstr(r.body, "\"keys\"") != NULL,
                   "%s: GET /.well-known/jwks.json -> %ld", when, st);
    httpc_resp_free(&r);

    st = httpc_request("GET", base, "/healthz", NULL, NULL, &r);
    testutil_check(st == 200, "%s: GET /healthz -> %ld", when, st);
    httpc_resp_free(&r);

    st = httpc_request("GET", base, "/metrics", NULL, NULL, &r);
    testutil_check(st == 200, "%s: GET /metrics -> %ld", when, st);
    httpc_resp_free(&r);

    st = httpc_request("GET", base, "/admin/users", admin.access, NULL, &r);
    bool all = st == 200 && r.body != NULL;
    for (int i = 0; all && i < USERS; i++)
        all = strstr(r.body, users[i].name) != NULL;
    testutil_check(all, "%s: GET /admin/users lists every user -> %ld", when, st);
    httpc_resp_free(&r);
}

/* After the fault, at once and without a restart: the same writes succeed. */
static void writes_recover(void)
{
    char json[8192], *old;
    httpc_resp r;

    creds(&late, json, sizeof json);
    long st = post_tokens("/register", json, &late, NULL);
    testutil_check(st == 201, "after the fault: register the user refused before -> %ld", st);

    creds(&users[0], json, sizeof json);
    account fresh = {{0}, NULL, NULL, 0};
    st = post_tokens("/login", json, &fresh, NULL);
    testutil_check(st == 200, "after the fault: login -> %ld", st);
    free(fresh.access);
    free(fresh.refresh);

    /* The rotation that failed left the token unspent. */
    old = users[0].refresh != NULL ? strdup(users[0].refresh) : NULL;
    refresh_body(old, json, sizeof json);
    st = post_tokens("/refresh", json, &users[0], NULL);
    testutil_check(st == 200,
                   "after the fault: refresh with the token refused during the fault -> %ld", st);
    refresh_body(users[0].refresh, json, sizeof json);
    st = post_tokens("/refresh", json, &users[0], NULL);
    testutil_check(st == 200, "after the fault: the new refresh token rotates -> %ld", st);
    free(old);

    refresh_body(users[1].refresh, json, sizeof json);
    st = httpc_request("POST", base, "/logout", NULL, json, NULL);
    testutil_check(st == 204, "after the fault: logout -> %ld", st);
    st = post_tokens("/refresh", json, NULL, NULL);
    testutil_check(st == 401, "after the fault: the logged-out refresh token is refused -> %ld",
                   st);

    st = httpc_request("POST", base, "/logout-all", users[2].access, NULL, &r);
    testutil_check(st == 204, "after the fault: logout-all -> %ld", st);
    httpc_resp_free(&r);
    st = httpc_request("GET", base, "/me", users[2].access, NULL, NULL);
    testutil_check(st == 401,
                   "after the fault: the access token of the logout-all is refused -> %ld", st);

    st = admin_set_roles(&r);
    testutil_check(st == 200 && r.body != NULL && strstr(r.body, "auditor") != NULL,
                   "after the fault: PATCH /admin/users/{id} (roles) -> %ld", st);
    httpc_resp_free(&r);
}

/* Everything acknowledged is there: every user logs in, the tokens are in their state. */
static void all_there(const char *when)
{
    char json[8192];
    for (int i = 0; i < USERS; i++) {
        creds(&users[i], json, sizeof json);
        long st = post_tokens("/login", json, NULL, NULL);
        testutil_check(st == 200, "%s: %s (registered before the fault) logs in -> %ld", when,
                       users[i].name, st);
    }
    creds(&late, json, sizeof json);
    long st = post_tokens("/login", json, NULL, NULL);
    testutil_check(st == 200, "%s: %s (registered after the fault) logs in -> %ld", when, late.name,
                   st);
    creds(&users[4], json, sizeof json);
    httpc_resp r;
    st = post_tokens("/login", json, NULL, &r);
    testutil_check(st == 200 && r.body != NULL && strstr(r.body, "auditor") != NULL,
                   "%s: the roles set after the fault hold -> %ld", when, st);
    httpc_resp_free(&r);
    refresh_body(users[1].refresh, json, sizeof json);
    st = post_tokens("/refresh", json, NULL, NULL);
    testutil_check(st == 401, "%s: the logged-out refresh token stays refused -> %ld", when, st);
    refresh_body(users[2].refresh, json, sizeof json);
    st = post_tokens("/refresh", json, NULL, NULL);
    testutil_check(st == 401, "%s: the refresh token of the logout-all stays refused -> %ld", when,
                   st);
    refresh_body(users[3].refresh, json, sizeof json);
    st = post_tokens("/refresh", json, &users[3], NULL);
    testutil_check(st == 200, "%s: an untouched refresh token from before the fault rotates -> %ld",
                   when, st);
}

/* The number of faults the shim injected (lines of its log). */
static long faults_injected(const char *log)
{
    FILE *f = fopen(log, "r");
    long n = 0;
    int ch;
    if (f == NULL)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

#define SKIPPED 77 /* CTest's SKIP_RETURN_CODE */
#define TMPFS_OPTIONS "size=2m,mode=0700"

/* A tmpfs on dir, in a private mount namespace of this process (and its children), so that
 * the mount ends with the test whatever happens. False when there is no privilege. */
static bool tmpfs_mount(const char *dir)
{
    if (unshare(CLONE_NEWNS) != 0) {
        printf("# no mount namespace (%s)\n", strerror(errno));
        return false;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, TMPFS_OPTIONS) != 0) {
        printf("# cannot mount a tmpfs on %s (%s)\n", dir, strerror(errno));
        return false;
    }
    return true;
}

/* Fills the file system of path with the file path, to the last byte; returns its size, or -1
 * if the disk did not end up full. */
static long long fill(const char *path)
{
    static char chunk[65536];
    long long total = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    for (size_t size = sizeof chunk; size > 0; size /= 2) {
        for (int i = 0; i < 1 << 16; i++) {
            ssize_t n = write(fd, chunk, size);
            if (n <= 0)
                break;
            total += n;
        }
    }
    bool full = errno == ENOSPC;
    close(fd);
    struct statvfs vfs;
    if (!full || statvfs(path, &vfs) != 0 || vfs.f_bavail != 0)
        return -1;
    return total;
}

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

int main(int argc, char **argv)
{
    const char *shim = NULL, *fault = NULL;
    testutil_args opt = {0};
    for (int i = 1; i < argc; i++) {
        if (testutil_take_arg(&opt, argc, argv, &i))
            continue;
        if (strcmp(argv[i], "--shim") == 0 && i + 1 < argc)
            shim = argv[++i];
        else if (strcmp(argv[i], "--fault") == 0 && i + 1 < argc)
            fault = argv[++i];
        else
            opt.jwtd = NULL, i = argc;
    }
    const char *jwtd = opt.jwtd, *work_arg = opt.dir, *const *extra = opt.serve;
    size_t n_extra = opt.nserve;
    bool tmpfs = fault != NULL && strcmp(fault, "TMPFS") == 0;
    if (jwtd == NULL || (shim == NULL && !tmpfs) || work_arg == NULL || fault == NULL ||
        (strcmp(fault, "ENOSPC") != 0 && strcmp(fault, "ENOSPC-PARTIAL") != 0 &&
         strcmp(fault, "EROFS") != 0 && !tmpfs)) {
        fprintf(stderr, "usage: faults --jwtd BIN --shim LIB --work DIR --fault "
                        "ENOSPC|ENOSPC-PARTIAL|EROFS|TMPFS "
                        "[--serve-arg ARG]...\n");
        return 2;
    }
    testutil_remove_tree(work_arg);
    char work[PATH_MAX], data[PATH_MAX + 8], db[PATH_MAX + 32], log[PATH_MAX + 32],
        control[PATH_MAX + 32], faultlog[PATH_MAX + 32], filler[PATH_MAX + 32], err[512], out[4096];
    if (mkdir(work_arg, 0700) != 0 || realpath(work_arg, work) == NULL) {
        fprintf(stderr, "faults: cannot create %s: %s\n", work_arg, strerror(errno));
        return 2;
    }
    snprintf(data, sizeof data, "%s/data", work);
    snprintf(db, sizeof db, "%s/jwtd.db", data);
    snprintf(log, sizeof log, "%s/server.log", work);
    snprintf(control, sizeof control, "%s/fault", work);
    snprintf(faultlog, sizeof faultlog, "%s/faults.log", work);
    snprintf(filler, sizeof filler, "%s/filler", data);
    if (mkdir(data, 0700) != 0) {
        fprintf(stderr, "faults: cannot create %s: %s\n", data, strerror(errno));
        return 2;
    }
    if (tmpfs && !tmpfs_mount(data)) {
        printf("skipped: a tmpfs needs root with CAP_SYS_ADMIN\n");
        return SKIPPED;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (int i = 0; i < USERS; i++)
        snprintf(users[i].name, sizeof users[i].name, "user%d", i);
    snprintf(late.name, sizeof late.name, "late");
    snprintf(admin.name, sizeof admin.name, "admin");

    /* The administrator, created by the CLI before the server starts. */
    int rc = testutil_user_add(jwtd, db, "admin", "admin", "password of admin", out, sizeof out);
    testutil_check(rc == 0, "jwtd user add admin --role admin (exit %d)", rc);

    /* Only the server gets the shim. An ASan build of jwtd would refuse a preloaded library
     * ahead of its runtime. */
    setenv("JWTD_FAULT_DIR", data, 1);
    setenv("JWTD_FAULT_CONTROL", control, 1);
    setenv("JWTD_FAULT_LOG", faultlog, 1);
    if (!tmpfs)
        setenv("LD_PRELOAD", shim, 1);
    const char *asan = getenv("ASAN_OPTIONS");
    char asan_opts[1024];
    snprintf(asan_opts, sizeof asan_opts, "%s%sverify_asan_link_order=0", asan != NULL ? asan : "",
             asan != NULL && asan[0] != '\0' ? ":" : "");
    setenv("ASAN_OPTIONS", asan_opts, 1);

    testserver ts;
    bool up = testserver_start(&ts, jwtd, db, log, extra, n_extra, err, sizeof err);
    testutil_check(up, "%s",
                   !up     ? err
                   : tmpfs ? "jwtd serve is listening (its data on a " TMPFS_OPTIONS " tmpfs)"
                           : "jwtd serve is listening (with the fault shim preloaded)");
    if (up) {
        base = ts.base;
        char json[8192];
        for (int i = 0; i < USERS; i++) {
            creds(&users[i], json, sizeof json);
            long st = post_tokens("/register", json, &users[i], NULL);
            testutil_check(st == 201, "before the fault: register %s -> %ld", users[i].name, st);
        }
        creds(&admin, json, sizeof json);
        long st = post_tokens("/login", json, &admin, NULL);
        testutil_check(st == 200, "before the fault: admin logs in -> %ld", st);
        reads_work("before the fault");

        if (tmpfs) {
            long long filled = fill(filler);
            testutil_check(filled > 0, "the fault begins: %lld bytes fill the file system of %s",
                           filled, data);
        } else {
            testutil_check(write_file(control, fault), "the fault begins: %s on writes under %s",
                           fault, data);
        }
        writes_refused();
        reads_work("during the fault");
        if (!tmpfs) {
            long n = faults_injected(faultlog);
            testutil_check(n > 0, "the shim injected %s into SQLite's writes (%ld times)", fault,
                           n);
        }
        testutil_check(unlink(tmpfs ? filler : control) == 0, "the fault ends (no restart)");
        writes_recover();
        reads_work("after the fault");
        all_there("after the fault");

        char how[160];
        bool clean = testserver_stop(&ts, how, sizeof how);
        testutil_check(clean, "jwtd serve stops cleanly on SIGTERM (%s)", how);
    }
    unsetenv("LD_PRELOAD");
    if (up) {
        up = testserver_start(&ts, jwtd, db, log, extra, n_extra, err, sizeof err);
        testutil_check(up, "%s", up ? "jwtd serve restarts on the same file (no fault)" : err);
    }
    if (up) {
        base = ts.base;
        all_there("after a restart");
        char how[160];
        bool clean = testserver_stop(&ts, how, sizeof how);
        testutil_check(clean, "jwtd serve stops cleanly on SIGTERM (%s)", how);
    }
    if (testutil_failed() > 0)
        testserver_print_log_end(&ts, 6000);
    for (int i = 0; i < USERS; i++) {
        free(users[i].access);
        free(users[i].refresh);
    }
    free(late.access);
    free(late.refresh);
    free(admin.access);
    free(admin.refresh);
    curl_global_cleanup();
    return testutil_summary();
}
