/* A fault-injection shim for the faults.* tests, loaded into `jwtd serve` with LD_PRELOAD so
 * that the real server and the real SQLite run unchanged and no privilege is needed (no
 * mount, no quota). While the control file JWTD_FAULT_CONTROL exists, every write-like call
 * on a file descriptor whose path lies under the directory JWTD_FAULT_DIR (an absolute path
 * without symbolic links) fails with the errno named in the control file: "ENOSPC" (disk
 * full, the default), "EROFS" (file system remounted read-only) or "EACCES". "ENOSPC-PARTIAL"
 * is a disk that fills up in the middle of a commit: every other such call passes and the
 * others fail with ENOSPC, so a commit (at least two calls: a WAL frame's header, then its
 * page) always fails after some of its bytes reached the file. Once the control file is
 * removed the calls pass again: the "space returns" of the tests.
 *
 * Interposed: write, pwrite, pwrite64, writev, pwritev, pwritev64, fallocate, fallocate64,
 * posix_fallocate, posix_fallocate64, ftruncate, ftruncate64, fsync, fdatasync. `strace -f` of
 * the server under load shows SQLite (WAL mode) writing its -wal and database files with
 * pwrite64 only, syncing with fsync/fdatasync at checkpoints, and growing its -shm with
 * ftruncate or one-byte pwrite64 calls; the -shm pages themselves are written through mmap,
 * which no shim can see (and which lives in the page cache, like the kernel's own tmpfs).
 * Each injected fault appends one line "ERRNO call" to JWTD_FAULT_LOG when that is set, so the
 * test can prove that faults were really injected. */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* The real function behind name, looked up once (a benign, atomic race between threads). */
#define REAL(type, name, sym)                                                                      \
    static type name;                                                                              \
    do {                                                                                           \
        type f_ = __atomic_load_n(&(name), __ATOMIC_ACQUIRE);                                      \
        if (f_ == NULL) {                                                                          \
            f_ = (type)dlsym(RTLD_NEXT, sym);                                                      \
            __atomic_store_n(&(name), f_, __ATOMIC_RELEASE);                                       \
        }                                                                                          \
    } while (0)

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void *, size_t, off64_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*pwritev64_fn)(int, const struct iovec *, int, off64_t);
typedef int (*fallocate_fn)(int, int, off_t, off_t);
typedef int (*fallocate64_fn)(int, int, off64_t, off64_t);
typedef int (*posix_fallocate_fn)(int, off_t, off_t);
typedef int (*posix_fallocate64_fn)(int, off64_t, off64_t);
typedef int (*ftruncate_fn)(int, off_t);
typedef int (*ftruncate64_fn)(int, off64_t);
typedef int (*sync_fn)(int);

/* Appends "ERRNO call" to JWTD_FAULT_LOG (a path outside JWTD_FAULT_DIR). */
static void note(const char *err, const char *call)
{
    const char *log = getenv("JWTD_FAULT_LOG");
    if (log == NULL)
        return;
    REAL(write_fn, real_write_log, "write");
    if (real_write_log == NULL)
        return;
    char line[64];
    int n = snprintf(line, sizeof line, "%s %s\n", err, call);
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (n > 0 && (size_t)n < sizeof line)
        (void)real_write_log(fd, line, (size_t)n);
    close(fd);
}

/* The errno to inject for a call on fd now, or 0 to let the call through. Leaves errno
 * unchanged. */
static int fault_for(int fd, const char *call)
{
    const char *dir = getenv("JWTD_FAULT_DIR"), *control = getenv("JWTD_FAULT_CONTROL");
    if (dir == NULL || control == NULL || dir[0] != '/' || fd < 0)
        return 0;
    int saved = errno, inject = 0;
    int cfd = open(control, O_RDONLY | O_CLOEXEC);
    if (cfd >= 0) {
        char mode[16] = {0};
        ssize_t n = read(cfd, mode, sizeof mode - 1);
        close(cfd);
        const char *name = "ENOSPC";
        inject = ENOSPC;
        if (n >= 5 && strncmp(mode, "EROFS", 5) == 0) {
            inject = EROFS;
            name = "EROFS";
        } else if (n >= 6 && strncmp(mode, "EACCES", 6) == 0) {
            inject = EACCES;
            name = "EACCES";
        }
        bool partial = n >= 14 && strncmp(mode, "ENOSPC-PARTIAL", 14) == 0;
        char link[64], path[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t len = readlink(link, path, sizeof path - 1);
        size_t dlen = strlen(dir);
        if (len <= 0 || (size_t)len <= dlen || strncmp(path, dir, dlen) != 0 || path[dlen] != '/')
            inject = 0;
        /* The calls under the directory alternate: pass, fail, pass, ... */
        static unsigned long calls;
        if (inject != 0 && partial && __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED) % 2 == 0)
            inject = 0;
        if (inject != 0)
            note(name, call);
    }
    errno = saved;
    return inject;
}

#define FAIL_IF_FAULT(fd, call, failed)                                                            \
    do {                                                                                           \
        int e_ = fault_for(fd, call);                                                              \
        if (e_ != 0) {                                                                             \
            errno = e_;                                                                            \
            return failed;                                                                         \
        }                                                                                          \
    } while (0)

/* posix_fallocate returns the error instead of setting errno. */
#define RETURN_IF_FAULT(fd, call)                                                                  \
    do {                                                                                           \
        int e_ = fault_for(fd, call);                                                              \
        if (e_ != 0)                                                                               \
            return e_;                                                                             \
    } while (0)

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(write_fn, real, "write");
    FAIL_IF_FAULT(fd, "write", -1);
    return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite_fn, real, "pwrite");
    FAIL_IF_FAULT(fd, "pwrite", -1);
    return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    REAL(pwrite64_fn, real, "pwrite64");
    FAIL_IF_FAULT(fd, "pwrite64", -1);
    return real(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(writev_fn, real, "writev");
    FAIL_IF_FAULT(fd, "writev", -1);
    return real(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    REAL(pwritev_fn, real, "pwritev");
    FAIL_IF_FAULT(fd, "pwritev", -1);
    return real(fd, iov, cnt, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
    REAL(pwritev64_fn, real, "pwritev64");
    FAIL_IF_FAULT(fd, "pwritev64", -1);
    return real(fd, iov, cnt, off);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    REAL(fallocate_fn, real, "fallocate");
    FAIL_IF_FAULT(fd, "fallocate", -1);
    return real(fd, mode, off, len);
}

int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
    REAL(fallocate64_fn, real, "fallocate64");
    FAIL_IF_FAULT(fd, "fallocate64", -1);
    return real(fd, mode, off, len);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
    REAL(posix_fallocate_fn, real, "posix_fallocate");
    RETURN_IF_FAULT(fd, "posix_fallocate");
    return real(fd, off, len);
}

int posix_fallocate64(int fd, off64_t off, off64_t len)
{
    REAL(posix_fallocate64_fn, real, "posix_fallocate64");
    RETURN_IF_FAULT(fd, "posix_fallocate64");
    return real(fd, off, len);
}

int ftruncate(int fd, off_t len)
{
    REAL(ftruncate_fn, real, "ftruncate");
    FAIL_IF_FAULT(fd, "ftruncate", -1);
    return real(fd, len);
}

int ftruncate64(int fd, off64_t len)
{
    REAL(ftruncate64_fn, real, "ftruncate64");
    FAIL_IF_FAULT(fd, "ftruncate64", -1);
    return real(fd, len);
}

int fsync(int fd)
{
    REAL(sync_fn, real, "fsync");
    FAIL_IF_FAULT(fd, "fsync", -1);
    return real(fd);
}

int fdatasync(int fd)
{
    REAL(sync_fn, real, "fdatasync");
    FAIL_IF_FAULT(fd, "fdatasync", -1);
    return real(fd);
}
