/* tests/chaos/chaos.h - what the chaos programs share: the clock, a seeded
 * random generator, the run's duration, a watchdog thread that ends a stuck
 * run with a report instead of hanging, and the one summary block each run
 * prints (and appends to CHAOS_SUMMARY_FILE when set).
 *
 * Only public headers: the chaos suite sees grove as a user does.
 *
 * Environment:
 *   CHAOS_SEED=N           repeat a run's random choices (printed at start)
 *   CHAOS_DURATION=S       seconds of chaos (the programs' own default: the
 *                          bounded form that `make test` runs)
 *   CHAOS_SUMMARY_FILE=F   append the summary block to F as well
 */
#ifndef GROVE_CHAOS_H
#define GROVE_CHAOS_H

#include <grove.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Monotonic seconds: CLOCK_MONOTONIC is one clock for every process on the
 * machine, network namespaces included, so the programs' timestamps can be
 * compared. */
static inline double chaos_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- random: xorshift64*, seeded once ---------------------------------------------- */

static uint64_t chaos__rng = 0x9E3779B97F4A7C15ull;
static uint64_t chaos_seed_value;

static inline uint64_t chaos_rand(void) {
  uint64_t x = chaos__rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  chaos__rng = x;
  return x * 0x2545F4914F6CDD1Dull;
}
/* 0..n-1 */
static inline int chaos_randn(int n) { return n <= 1 ? 0 : (int)(chaos_rand() % (uint64_t)n); }
/* [a, b) */
static inline double chaos_uniform(double a, double b) {
  return a + (b - a) * ((double)(chaos_rand() >> 11) / 9007199254740992.0);
}

static inline void chaos_seed(void) {
  const char *s = getenv("CHAOS_SEED");
  chaos_seed_value = s && *s ? strtoull(s, NULL, 0)
                             : ((uint64_t)time(NULL) * 2654435761u) ^ ((uint64_t)getpid() << 16);
  if (!chaos_seed_value)
    chaos_seed_value = 1;
  chaos__rng = chaos_seed_value;
  for (int i = 0; i < 8; i++)
    chaos_rand();
}

/* The duration: CHAOS_DURATION, else `dflt`. */
static inline double chaos_duration(double dflt) {
  const char *s = getenv("CHAOS_DURATION");
  double d = s && *s ? atof(s) : dflt;
  return d > 0 ? d : dflt;
}

/* ---- the summary block -------------------------------------------------------------- */

#define CHAOS_MAX_LINES 160
static char chaos__lines[CHAOS_MAX_LINES][200];
static int chaos__nlines;
static char chaos__fail[4096];
static int chaos__nfail;

static inline void chaos_fig(const char *key, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void chaos_fig(const char *key, const char *fmt, ...) {
  if (chaos__nlines >= CHAOS_MAX_LINES)
    return;
  char val[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(val, sizeof val, fmt, ap);
  va_end(ap);
  snprintf(chaos__lines[chaos__nlines++], sizeof chaos__lines[0], "%-34s %s", key, val);
}

/* A broken promise: the run fails, and says which with its figures. */
static inline void chaos_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void chaos_failf(const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "chaos: FAIL: %s\n", msg);
  size_t n = strlen(chaos__fail);
  if (n + strlen(msg) + 8 < sizeof chaos__fail)
    snprintf(chaos__fail + n, sizeof chaos__fail - n, "  FAIL %s\n", msg);
  chaos__nfail++;
}

static inline void chaos__print_block(FILE *f, const char *part) {
  fprintf(f, "==== chaos summary: %s ====\n", part);
  for (int i = 0; i < chaos__nlines; i++)
    fprintf(f, "%s\n", chaos__lines[i]);
  if (chaos__nfail)
    fprintf(f, "%s", chaos__fail);
  fprintf(f, "%-34s %s\n", "result", chaos__nfail ? "FAIL" : "PASS");
  fprintf(f, "==== end %s ====\n", part);
  fflush(f);
}

/* Print the block (and append it to CHAOS_SUMMARY_FILE); returns the exit
 * status: 0 when every promise held, 1 otherwise. */
static inline int chaos_summary(const char *part) {
  chaos__print_block(stdout, part);
  const char *file = getenv("CHAOS_SUMMARY_FILE");
  if (file && *file) {
    FILE *f = fopen(file, "a");
    if (f) {
      chaos__print_block(f, part);
      fclose(f);
    }
  }
  return chaos__nfail ? 1 : 0;
}

/* ---- the watchdog ------------------------------------------------------------------- */
/* A thread of its own (not grove's): the program calls chaos_progress(what)
 * as it goes; when nothing progressed for `stall` seconds, the watchdog
 * prints a failed summary naming what it was doing and ends the process
 * (after chaos_on_stall, which must be async-safe enough: kill children). */

static _Atomic(const char *) chaos__doing = "start";
static _Atomic double chaos__last_progress;
static double chaos__stall = 30;
static const char *chaos__part = "chaos";
static void (*chaos_on_stall)(void);

static inline void chaos_progress(const char *what) {
  atomic_store(&chaos__doing, what);
  atomic_store(&chaos__last_progress, chaos_now());
}

static void *chaos__watchdog(void *arg) {
  (void)arg;
  for (;;) {
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    double idle = chaos_now() - atomic_load(&chaos__last_progress);
    if (idle > chaos__stall) {
      chaos_failf("stuck: no progress for %.1f s while doing: %s (a hung call or actor)", idle,
                  atomic_load(&chaos__doing));
      if (chaos_on_stall)
        chaos_on_stall();
      chaos_summary(chaos__part);
      _exit(1);
    }
  }
  return NULL;
}

static inline void chaos_watchdog_start(const char *part, double stall) {
  chaos__part = part;
  chaos__stall = stall;
  chaos_progress("start");
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_create(&t, &a, chaos__watchdog, NULL);
  pthread_attr_destroy(&a);
}

/* Sorted statistics of a small sample of durations. */
static int chaos__dcmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static inline void chaos_fig_durations(const char *key, double *v, int n) {
  if (n <= 0) {
    chaos_fig(key, "n=0");
    return;
  }
  qsort(v, (size_t)n, sizeof *v, chaos__dcmp);
  chaos_fig(key, "n=%d min=%.3f median=%.3f max=%.3f s", n, v[0], v[n / 2], v[n - 1]);
}

#endif
