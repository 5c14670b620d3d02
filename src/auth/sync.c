/* The sync thread: keeps a serving auth in step with its database (auth.h, auth_sync_start).
 * It waits on the store's watch (LISTEN/NOTIFY on PostgreSQL, a change counter on SQLite),
 * re-reads keys and revocations within a second of a change another instance commits, and
 * otherwise every AUTH_RESYNC_SECONDS; it pings the store for auth_health and prunes the
 * shared counters. Nothing on the verify path waits for it: verifying threads read the
 * snapshots it publishes. */
#include <signal.h>
#include <string.h>

#include "auth_internal.h"

/* One ping: records when the store stopped answering, or that it answers again. true: up. */
static bool sync_ping(auth *a, int64_t now)
{
    bool up = store_ping(a->s) == STORE_OK;
    int_fast64_t zero = 0;

    if (up)
        atomic_store(&a->down_since, 0);
    else
        atomic_compare_exchange_strong(&a->down_since, &zero, now > 0 ? now : 1);
    return up;
}

/* A full re-read of keys and revocations (and a key rotation when one is due). */
static void sync_full(auth *a, int64_t now)
{
    auth_err rc = auth_sync(a);

    atomic_fetch_add(&a->syncs, 1);
    if (rc == AUTH_OK) {
        atomic_store(&a->last_sync, now);
    } else {
        atomic_fetch_add(&a->sync_failures, 1);
        if (a->cfg.log.fn != NULL)
            a->cfg.log.fn(a->cfg.log.ctx, AUTH_LOG_WARN, "sync",
                          "cannot re-read keys and revocations; verification goes on with the last "
                          "ones read");
    }
}

static void *sync_main(void *arg)
{
    auth *a = arg;
    int64_t last_full = auth_now(a), last_prune = last_full;
    bool was_up = true;

    while (!atomic_load(&a->sync_stop)) {
        bool changed = false;
        store_err se = store_watch(a->s, AUTH_SYNC_WAKE_MS, &changed);
        if (atomic_load(&a->sync_stop))
            break;
        int64_t now = auth_now(a);
        bool up = sync_ping(a, now);
        if (se != STORE_OK || !up) {
            /* The watch waited out its time already (a ping that fails is bounded by the
             * store's connect timeout): the loop polls on until the store answers. */
            was_up = false;
            continue;
        }
        if (changed)
            atomic_fetch_add(&a->watch_wakeups, 1);
        /* Back from an outage: what changed meanwhile may not have been notified. */
        if (changed || !was_up || now - last_full >= AUTH_RESYNC_SECONDS ||
            now >= atomic_load(&a->keys_next_event)) {
            sync_full(a, now);
            last_full = now;
        }
        was_up = true;
        if (now - last_prune >= AUTH_PRUNE_SECONDS) {
            (void)store_prune(a->s, now); /* failures are logged by the store */
            last_prune = now;
        }
    }
    return NULL;
}

auth_err auth_sync_start(auth *a)
{
    if (!auth_serving(a))
        return a == NULL ? AUTH_INVALID_INPUT : AUTH_INTERNAL;
    if (a->sync_running)
        return AUTH_OK;
    atomic_store(&a->sync_stop, false);
    /* The thread blocks every signal (it inherits the mask at creation): SIGTERM and SIGINT
     * are for the thread that waits for them, not for a default action here. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&a->sync_thread, NULL, sync_main, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return AUTH_INTERNAL;
    a->sync_running = true;
    return AUTH_OK;
}

void auth_sync_join(auth *a)
{
    if (a == NULL || !a->sync_running)
        return;
    atomic_store(&a->sync_stop, true);
    pthread_join(a->sync_thread, NULL);
    a->sync_running = false;
}

void auth_health_get(auth *a, auth_health *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof *out);
    if (a == NULL)
        return;
    out->down_since = atomic_load(&a->down_since);
    out->store_up = out->down_since == 0;
    out->last_sync = atomic_load(&a->last_sync);
    out->syncs = atomic_load(&a->syncs);
    out->sync_failures = atomic_load(&a->sync_failures);
    out->watch_wakeups = atomic_load(&a->watch_wakeups);
    out->backend = store_backend_name(a->s);
    out->shared = store_shared(a->s);
}
