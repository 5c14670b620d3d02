/* Starting, stopping and crashing a real `jwtd serve` for the integration tests, and running
 * the other jwtd commands they need (user add, keys rotate). See testserver.h. */
#include "testserver.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* "listening on http://127.0.0.1:PORT" or, with --tls-cert/--tls-key, "https://...". */
#define LISTEN_MARK "listening on "
#define LISTEN_HOST "://127.0.0.1:"
#define LOG_SCAN_MAX (1024 * 1024) /* the listening line comes within the first lines */
#define POLL_STEP_MS 20

/* In a forked child: die with the parent, so that no server outlives a crashed driver. */
static void child_die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
}

/* Reads the log from ts->log_start; returns the port from the listening line, or 0, and
 * its scheme ("http" or "https") in scheme. */
static int find_port(const testserver *ts, char scheme[8])
{
    FILE *f = fopen(ts->log_path, "rb");
    if (f == NULL)
        return 0;
    char *buf = malloc(LOG_SCAN_MAX + 1);
    size_t n = 0;
    if (buf != NULL && fseek(f, ts->log_start, SEEK_SET) == 0)
        n = fread(buf, 1, LOG_SCAN_MAX, f);
    fclose(f);
    if (buf == NULL)
        return 0;
    buf[n] = '\0';
    int port = 0;
    const char *m = strstr(buf, LISTEN_MARK);
    if (m != NULL) {
        m += strlen(LISTEN_MARK);
        const char *scheme_end = NULL;
        if (strncmp(m, "http" LISTEN_HOST, 4 + strlen(LISTEN_HOST)) == 0)
            scheme_end = m + 4;
        else if (strncmp(m, "https" LISTEN_HOST, 5 + strlen(LISTEN_HOST)) == 0)
            scheme_end = m + 5;
        long p = scheme_end != NULL ? strtol(scheme_end + strlen(LISTEN_HOST), NULL, 10) : 0;
        if (p > 0 && p < 65536) {
            port = (int)p;
            memcpy(scheme, m, (size_t)(scheme_end - m));
            scheme[scheme_end - m] = '\0';
        }
    }
    free(buf);
    return port;
}

static void describe_status(int status, char *how, size_t howlen)
{
    if (WIFEXITED(status))
        snprintf(how, howlen, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(how, howlen, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(how, howlen, "wait status %d", status);
}

bool testserver_start(testserver *ts, const char *jwtd, const char *db, const char *log,
                      const char *const *args, size_t nargs, char *err, size_t errlen)
{
    memset(ts, 0, sizeof *ts);
    snprintf(ts->log_path, sizeof ts->log_path, "%s", log);
    if (nargs + 7 > TESTSERVER_MAX_ARGS) {
        snprintf(err, errlen, "too many server arguments");
        return false;
    }
    const char *argv[TESTSERVER_MAX_ARGS + 1];
    size_t n = 0;
    argv[n++] = jwtd;
    argv[n++] = "serve";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--db";
    argv[n++] = db;
    for (size_t i = 0; i < nargs; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", log, strerror(errno));
        return false;
    }
    struct stat st;
    ts->log_start = fstat(fd, &st) == 0 ? (long)st.st_size : 0;
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return false;
    }
    if (pid == 0) {
        child_die_with_parent(parent);
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        execv(jwtd, (char *const *)argv);
        dprintf(2, "testserver: cannot run %s: %s\n", jwtd, strerror(errno));
        _exit(127);
    }
    close(fd);
    ts->pid = pid;

    long deadline = testutil_now_ms() + TESTSERVER_START_TIMEOUT_MS;
    while (testutil_now_ms() < deadline) {
        char scheme[8];
        ts->port = find_port(ts, scheme);
        if (ts->port != 0) {
            snprintf(ts->base, sizeof ts->base, "%s://127.0.0.1:%d", scheme, ts->port);
            return true;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            ts->pid = 0;
            char how[64];
            describe_status(status, how, sizeof how);
            snprintf(err, errlen, "jwtd serve ended before listening (%s)", how);
            return false;
        }
        testutil_sleep_ms(POLL_STEP_MS);
    }
    char how[64];
    testserver_stop(ts, how, sizeof how);
    snprintf(err, errlen, "no \"%shttp(s)%s\" line within %d ms", LISTEN_MARK, LISTEN_HOST,
             TESTSERVER_START_TIMEOUT_MS);
    return false;
}

bool testserver_stop(testserver *ts, char *how, size_t howlen)
{
    if (ts->pid == 0) {
        snprintf(how, howlen, "not running");
        return false;
    }
    kill(ts->pid, SIGTERM);
    long deadline = testutil_now_ms() + TESTSERVER_STOP_TIMEOUT_MS;
    int status = 0;
    bool exited = false;
    while (testutil_now_ms() < deadline) {
        pid_t r = waitpid(ts->pid, &status, WNOHANG);
        if (r == ts->pid || (r < 0 && errno != EINTR)) {
            exited = r == ts->pid;
            break;
        }
        testutil_sleep_ms(POLL_STEP_MS);
    }
    if (!exited) {
        kill(ts->pid, SIGKILL);
        while (waitpid(ts->pid, &status, 0) < 0 && errno == EINTR)
            ;
        snprintf(how, howlen, "did not exit within %d ms of SIGTERM: killed",
                 TESTSERVER_STOP_TIMEOUT_MS);
        ts->pid = 0;
        return false;
    }
    ts->pid = 0;
    describe_status(status, how, howlen);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void testserver_kill9(testserver *ts)
{
    if (ts->pid == 0)
        return;
    kill(ts->pid, SIGKILL);
    int status;
    while (waitpid(ts->pid, &status, 0) < 0 && errno == EINTR)
        ;
    ts->pid = 0;
}

void testserver_print_log(const testserver *ts, FILE *out, size_t max)
{
    FILE *f = fopen(ts->log_path, "rb");
    if (f == NULL)
        return;
    long from = ts->log_start;
    if (fseek(f, 0, SEEK_END) == 0) {
        long end = ftell(f);
        if (end - from > (long)max)
            from = end - (long)max;
    }
    if (fseek(f, from, SEEK_SET) == 0) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, out);
    }
    fclose(f);
}

void testserver_print_log_end(const testserver *ts, size_t max)
{
    printf("# server log (%s), this run's end:\n", ts->log_path);
    fflush(stdout);
    testserver_print_log(ts, stdout, max);
}

int testserver_run(const char *const *argv, const char *stdin_data, char *out, size_t outlen)
{
    int in[2], o[2];
    if (outlen == 0 || pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(o, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        child_die_with_parent(parent);
        if (dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0 || dup2(o[1], 2) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(o[1]);
    if (pid < 0) {
        close(in[1]);
        close(o[0]);
        return -1;
    }
    /* The input is a password or two: it fits in the pipe buffer, so this cannot block. */
    size_t left = stdin_data != NULL ? strlen(stdin_data) : 0;
    const char *p = stdin_data;
    while (left > 0) {
        ssize_t w = write(in[1], p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    close(in[1]);

    size_t len = 0;
    long deadline = testutil_now_ms() + TESTSERVER_CMD_TIMEOUT_MS;
    bool timed_out = false;
    for (;;) {
        long wait = deadline - testutil_now_ms();
        if (wait <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd pfd = {o[0], POLLIN, 0};
        int r = poll(&pfd, 1, (int)wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        char buf[4096];
        ssize_t got = read(o[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        size_t take = (size_t)got;
        if (take > outlen - 1 - len)
            take = outlen - 1 - len;
        memcpy(out + len, buf, take);
        len += take;
    }
    out[len] = '\0';
    close(o[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}
