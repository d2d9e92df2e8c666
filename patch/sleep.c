/* patch/sleep.c - sleep, usleep, nanosleep and clock_nanosleep through
 * grove_sleep on greenlets.
 *
 * A sleep of 0 yields (grove_sleep(0): the other ready greenlets run
 * first), as gevent's patched time.sleep(0) does. The hub's timers have a
 * millisecond resolution, so a cooperative sleep of 100 us lasts about a
 * millisecond. A killed greenlet's sleep ends at once: sleep returns the
 * seconds left (as after a signal), the others -1 with ECANCELED
 * (clock_nanosleep returns ECANCELED) and fill in the time left - not
 * EINTR, since a loop that sleeps "the rest" after EINTR would spin. A
 * scoped grove_timeout_start deadline ends the sleep the same way with
 * ETIMEDOUT. Invalid arguments go to libc, which reports them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "patch_internal.h"

#include <errno.h>

/* Sleep `seconds` through the hub. Returns 0 or a grove code; *left, if
 * given, is what remained when it ended. */
static int coop_sleep(double seconds, double *left) {
  gp__count_call();
  double end = gp__now() + seconds;
  int rc = grove_sleep(seconds);
  if (left) {
    double l = rc ? end - gp__now() : 0;
    *left = l > 0 ? l : 0;
  }
  return rc;
}

static void to_ts(double s, struct timespec *ts) {
  ts->tv_sec = (time_t)s;
  ts->tv_nsec = (long)((s - (double)ts->tv_sec) * 1e9);
  if (ts->tv_nsec >= 1000000000L)
    ts->tv_nsec = 999999999L;
}

static int fail_errno(int rc) { return rc == GROVE_ECANCELED ? ECANCELED : ETIMEDOUT; }

GP_EXPORT unsigned sleep(unsigned seconds) {
  if (!gp__coop(GP_RA()))
    return REAL(sleep)(seconds);
  int saved = errno;
  double left;
  int rc = coop_sleep((double)seconds, &left);
  errno = saved;
  return rc ? (unsigned)(left + 0.999999) : 0;
}

GP_EXPORT int usleep(useconds_t us) {
  if (!gp__coop(GP_RA()))
    return REAL(usleep)(us);
  int rc = coop_sleep((double)us / 1e6, NULL);
  if (rc) {
    errno = fail_errno(rc);
    return -1;
  }
  return 0;
}

GP_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem) {
  if (!req || req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= 1000000000L ||
      !gp__coop(GP_RA()))
    return REAL(nanosleep)(req, rem);
  double left;
  int rc = coop_sleep(gp__ts(req), &left);
  if (rc) {
    if (rem)
      to_ts(left, rem);
    errno = fail_errno(rc);
    return -1;
  }
  return 0;
}

GP_EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                              struct timespec *rem) {
  int known =
      clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC || clk == CLOCK_BOOTTIME || clk == CLOCK_TAI;
  if (!known || !req || req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= 1000000000L ||
      (flags & ~TIMER_ABSTIME) || !gp__coop(GP_RA()))
    return REAL(clock_nanosleep)(clk, flags, req, rem);
  double seconds = gp__ts(req);
  if (flags & TIMER_ABSTIME) {
    struct timespec now;
    if (clock_gettime(clk, &now) != 0)
      return REAL(clock_nanosleep)(clk, flags, req, rem);
    seconds -= gp__ts(&now);
    if (seconds < 0)
      seconds = 0;
  }
  int saved = errno;
  double left;
  int rc = coop_sleep(seconds, &left);
  errno = saved;
  if (rc) {
    if (rem && !(flags & TIMER_ABSTIME))
      to_ts(left, rem);
    return fail_errno(rc);
  }
  return 0;
}
