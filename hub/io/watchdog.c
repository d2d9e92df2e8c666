/* hub/io/watchdog.c - blocking detection (gevent's monitor thread).
 *
 * Design notes.
 *
 * A greenlet that computes (or calls a blocking system call) without
 * yielding stops every other greenlet of its hub, timers and I/O included.
 * The watchdog is a thread that notices it, as gevent's does: the hub's
 * thread bumps hub->switches on every context switch (grove__ctx_jump; one
 * relaxed atomic add, the only cost on the hub's side), and the watchdog
 * wakes every max_blocking_time / 2 (at least 1 ms) to look at it. When the
 * counter has not moved for max_blocking_time and the hub is not waiting in
 * libuv's poll (a prepare and a check handle mark the poll: everything else
 * the thread does holds the hub, the hub's own callbacks included), it
 * reports the greenlet - or the hub callback, a grove_hub_post callback by
 * its function - once for that episode; the episode ends at the next switch
 * or poll. The time reported is measured from the first tick that saw the
 * counter at its current value, so it can be short by up to one interval.
 *
 * Reading another thread's greenlet: hub->head.current is loaded atomically and
 * the greenlet's id, fn and name are read without a lock, then the counter
 * and hub->head.current are read again; if either moved, the greenlet may have
 * switched out (and ended) meanwhile and the observation is dropped. While
 * they have not moved, the greenlet is the one running and cannot have been
 * freed (a greenlet is released only after a switch away from it). The one
 * read that can still race is the name, if the blocking greenlet renames
 * itself at that very moment (grove_greenlet_set_name frees the old string);
 * it is copied into a fixed buffer at once.
 *
 * Lifetime: the watchdog belongs to the hub of the thread that started it
 * (hub->watchdog). grove_watchdog_stop joins the thread and is idempotent;
 * grove_hub_close stops it (grove__watchdog_close) before the hub is freed,
 * so the thread never reads a freed hub.
 *
 * Note that grove_sleep(0) with nothing else runnable resumes the caller
 * without a switch: a greenlet that only ever yields that way is seen as
 * blocking until the hub's turn (5 ms) makes it poll libuv. That is
 * accurate: timers and I/O wait for that poll too.
 */
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

struct grove__watchdog {
  pthread_t thread;
  grove_hub *hub;
  uint64_t interval_ns;
  uint64_t max_ns;
  grove_watchdog_fn report;
  void *arg;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int stop;
};

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void default_report(const char *name, void *fn, double seconds, void *arg) {
  (void)arg;
  Dl_info info;
  char where[256];
  if (fn && dladdr(fn, &info) && info.dli_sname && info.dli_saddr == fn)
    snprintf(where, sizeof where, "fn %p %s", fn, info.dli_sname);
  else if (fn && dladdr(fn, &info) && info.dli_fname)
    snprintf(where, sizeof where, "fn %p in %s+0x%lx", fn, info.dli_fname,
             (unsigned long)((char *)fn - (char *)info.dli_fbase));
  else
    snprintf(where, sizeof where, "fn %p", fn);
  grove_log_event ev = {.level = GROVE_LOG_WARN, .kind = GROVE_LOG_HUB_BLOCKED};
  grove__log(&ev, "greenlet '%s' (%s) has blocked the hub for %.3f s", name, where, seconds);
}

static grove_greenlet *load_current(grove_hub *hub) {
  return __atomic_load_n(&hub->head.current, __ATOMIC_ACQUIRE);
}

/* The greenlet the hub is running, observed consistently: 0, or -1 if it
 * switched while being read. */
static int observe(grove_hub *hub, uint64_t sw, grove_greenlet *cur, char *name, size_t cap,
                   void **fn) {
  uint64_t id = __atomic_load_n(&cur->id, __ATOMIC_RELAXED);
  *fn = (void *)__atomic_load_n(&cur->fn, __ATOMIC_RELAXED);
  const char *nm = __atomic_load_n(&cur->name, __ATOMIC_RELAXED);
  if (nm) {
    size_t i = 0;
    for (; i + 1 < cap && nm[i]; i++)
      name[i] = nm[i];
    name[i] = 0;
  } else {
    snprintf(name, cap, "Greenlet-%llu", (unsigned long long)id);
  }
  if (atomic_load_explicit(&hub->switches, memory_order_acquire) != sw || load_current(hub) != cur)
    return -1;
  return 0;
}

static void *watchdog_main(void *arg) {
  struct grove__watchdog *m = arg;
  grove_hub *hub = m->hub;
  uint64_t last_sw = atomic_load_explicit(&hub->switches, memory_order_acquire);
  uint64_t since = mono_ns();
  int reported = 0;
  pthread_mutex_lock(&m->lock);
  while (!m->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t at = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + m->interval_ns;
    ts.tv_sec = (time_t)(at / 1000000000ull);
    ts.tv_nsec = (long)(at % 1000000000ull);
    int rc;
    do
      rc = pthread_cond_timedwait(&m->cond, &m->lock, &ts);
    while (rc == 0 && !m->stop); /* spurious wake-ups */
    if (m->stop)
      break;
    pthread_mutex_unlock(&m->lock);

    uint64_t now = mono_ns();
    uint64_t sw = atomic_load_explicit(&hub->switches, memory_order_acquire);
    grove_greenlet *cur = load_current(hub);
    int idle = atomic_load_explicit(&hub->idle, memory_order_acquire);
    if (sw != last_sw || idle) {
      /* A switch happened, or the hub waits in its poll: a new episode
       * starts. */
      last_sw = sw;
      since = now;
      reported = 0;
    } else if (!reported && now - since >= m->max_ns) {
      char name[128];
      void *fn;
      if (cur == &hub->hub_g) {
        /* The hub's own context: a libuv callback or a grove_hub_post
         * callback that does not return. */
        fn = atomic_load_explicit(&hub->hub_cb, memory_order_acquire);
        snprintf(name, sizeof name, "%s", fn ? "hub: grove_hub_post callback" : "hub");
        if (atomic_load_explicit(&hub->switches, memory_order_acquire) == sw &&
            !atomic_load_explicit(&hub->idle, memory_order_acquire)) {
          reported = 1;
          m->report(name, fn, (double)(now - since) / 1e9, m->arg);
        }
      } else if (observe(hub, sw, cur, name, sizeof name, &fn) == 0) {
        reported = 1;
        m->report(name, fn, (double)(now - since) / 1e9, m->arg);
      }
    }
    pthread_mutex_lock(&m->lock);
  }
  pthread_mutex_unlock(&m->lock);
  return NULL;
}

static void watchdog_free(struct grove__watchdog *m) {
  pthread_mutex_lock(&m->lock);
  m->stop = 1;
  pthread_cond_signal(&m->cond);
  pthread_mutex_unlock(&m->lock);
  pthread_join(m->thread, NULL);
  pthread_cond_destroy(&m->cond);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

static void stop_hub(grove_hub *hub) {
  struct grove__watchdog *m = hub->watchdog;
  if (!m)
    return;
  hub->watchdog = NULL;
  watchdog_free(m);
}

/* Called by grove_hub_close: the watchdog ends with its hub. */
void grove__watchdog_close(grove_hub *hub) { stop_hub(hub); }

int grove_watchdog_start(double max_blocking_time, grove_watchdog_fn report, void *arg) {
  if (isnan(max_blocking_time) || max_blocking_time <= 0 || max_blocking_time > 1e6)
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  if (hub->watchdog)
    return GROVE_EEXIST;
  struct grove__watchdog *m = calloc(1, sizeof *m);
  if (!m)
    return GROVE_ENOMEM;
  m->hub = hub;
  m->max_ns = (uint64_t)(max_blocking_time * 1e9);
  m->interval_ns = m->max_ns / 2 < 1000000 ? 1000000 : m->max_ns / 2;
  m->report = report ? report : default_report;
  m->arg = arg;
  pthread_mutex_init(&m->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&m->cond, &ca);
  pthread_condattr_destroy(&ca);
  int rc = pthread_create(&m->thread, NULL, watchdog_main, m);
  if (rc != 0) {
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m);
    return -rc;
  }
  hub->watchdog = m;
  return 0;
}

int grove_watchdog_stop(void) {
  grove_hub *hub = grove__tls_hub;
  if (hub)
    stop_hub(hub);
  return 0;
}
