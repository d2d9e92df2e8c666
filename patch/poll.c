/* patch/poll.c - poll, ppoll, select, pselect, epoll_wait and epoll_pwait
 * made cooperative on greenlets.
 *
 * Each call first asks libc with a zero timeout; whatever libc answers
 * then (ready fds, or an error such as EBADF or EINVAL) is the answer, so
 * the results are always libc's own. Only when nothing is ready does the
 * call wait through the hub - on an epoll fd holding the same fds, which
 * becomes readable when one of them is ready - and ask libc again. A call
 * with no fds at all is a sleep (an empty epoll fd never becomes readable,
 * so the wait ends at the deadline, or when the greenlet is killed).
 *
 * select updates its timeout to the time not slept, as Linux's does;
 * pselect and ppoll leave theirs alone, as glibc's do. ppoll, pselect and
 * epoll_pwait with a signal mask go to libc unchanged: the mask would have
 * to be the thread's while other greenlets run.
 *
 * A killed greenlet gets -1 with ECANCELED (not EINTR: a library that
 * retries on EINTR would spin), a scoped grove_timeout_start deadline -1
 * with ETIMEDOUT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "patch_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The loop for poll and ppoll: fds as given, deadline absolute. */
static int coop_poll(struct pollfd *fds, nfds_t n, double deadline) {
  gp__count_call();
  int saved = errno;
  for (;;) {
    int r = REAL(poll)(fds, n, 0);
    if (r != 0) {
      if (r > 0)
        errno = saved;
      return r;
    }
    int rc = gp__wait_fds(fds, n, deadline);
    if (rc == 0)
      continue;
    if (rc == GROVE_ETIMEDOUT && deadline != INFINITY && gp__now() >= deadline) {
      r = REAL(poll)(fds, n, 0); /* ready at the deadline counts */
      if (r >= 0)
        errno = saved;
      return r;
    }
    if (rc == GROVE_ETIMEDOUT || rc == GROVE_ECANCELED)
      return gp__fail(rc, deadline, 0);
    /* Cannot wait through the hub: block as libc would. */
    double left = gp__left(deadline);
    return REAL(poll)(fds, n, left < 0 ? -1 : (int)(left * 1000 + 0.999));
  }
}

GP_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout) {
  if (timeout == 0 || (n && !fds) || n > (nfds_t)sysconf(_SC_OPEN_MAX) || !gp__coop(GP_RA()))
    return REAL(poll)(fds, n, timeout);
  return coop_poll(fds, n, timeout < 0 ? INFINITY : gp__now() + timeout / 1000.0);
}

static int valid_ts(const struct timespec *ts) {
  return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

static int do_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask,
                    void *ra) {
  if (mask || (ts && (!valid_ts(ts) || (ts->tv_sec == 0 && ts->tv_nsec == 0))) || (n && !fds) ||
      n > (nfds_t)sysconf(_SC_OPEN_MAX) || !gp__coop(ra))
    return REAL(ppoll)(fds, n, ts, mask);
  return coop_poll(fds, n, ts ? gp__now() + gp__ts(ts) : INFINITY);
}

GP_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask) {
  return do_ppoll(fds, n, ts, mask, GP_RA());
}

extern void __chk_fail(void) __attribute__((noreturn));

GP_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen) {
  if (fdslen / sizeof *fds < n)
    __chk_fail();
  if (timeout == 0 || !gp__coop(GP_RA()))
    return REAL(poll)(fds, n, timeout);
  return coop_poll(fds, n, timeout < 0 ? INFINITY : gp__now() + timeout / 1000.0);
}

GP_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                          const sigset_t *mask, size_t fdslen) {
  if (fdslen / sizeof *fds < n)
    __chk_fail();
  return do_ppoll(fds, n, ts, mask, GP_RA());
}

/* ---- select ------------------------------------------------------------------------------ */

/* The loop for select and pselect. tv, if given, is updated (select). */
static int coop_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, double deadline,
                       struct timeval *tv) {
  gp__count_call();
  int saved = errno;
  fd_set r0, w0, e0;
  if (rd)
    r0 = *rd;
  if (wr)
    w0 = *wr;
  if (ex)
    e0 = *ex;
  /* The same fds as a poll set, to wait on. */
  struct pollfd local[64], *pfd = nfds <= 64 ? local : malloc((size_t)nfds * sizeof *pfd);
  if (!pfd)
    return REAL(select)(nfds, rd, wr, ex, tv); /* the sets are untouched so far */
  size_t np = 0;
  for (int fd = 0; fd < nfds; fd++) {
    short ev =
        (short)((rd && FD_ISSET(fd, &r0) ? POLLIN : 0) | (wr && FD_ISSET(fd, &w0) ? POLLOUT : 0) |
                (ex && FD_ISSET(fd, &e0) ? POLLPRI : 0));
    if (ev)
      pfd[np++] = (struct pollfd){.fd = fd, .events = ev};
  }
  int ret;
  for (;;) {
    struct timeval zero = {0, 0};
    if (rd)
      *rd = r0;
    if (wr)
      *wr = w0;
    if (ex)
      *ex = e0;
    int r = REAL(select)(nfds, rd, wr, ex, &zero);
    if (r != 0) {
      ret = r;
      break;
    }
    int rc = gp__wait_fds(pfd, np, deadline);
    if (rc == 0)
      continue;
    if (rc == GROVE_ETIMEDOUT && deadline != INFINITY && gp__now() >= deadline) {
      if (rd)
        *rd = r0;
      if (wr)
        *wr = w0;
      if (ex)
        *ex = e0;
      struct timeval z = {0, 0};
      ret = REAL(select)(nfds, rd, wr, ex, &z);
      break;
    }
    if (rc == GROVE_ETIMEDOUT || rc == GROVE_ECANCELED) {
      ret = gp__fail(rc, deadline, 0);
      break;
    }
    double left = gp__left(deadline);
    struct timeval t = {(time_t)left, (suseconds_t)((left - (double)(time_t)left) * 1e6)};
    if (rd)
      *rd = r0;
    if (wr)
      *wr = w0;
    if (ex)
      *ex = e0;
    ret = REAL(select)(nfds, rd, wr, ex, left < 0 ? NULL : &t);
    break;
  }
  if (pfd != local)
    free(pfd);
  if (tv) {
    double left = gp__left(deadline);
    if (left < 0)
      left = 0;
    tv->tv_sec = (time_t)left;
    tv->tv_usec = (suseconds_t)((left - (double)tv->tv_sec) * 1e6);
  }
  if (ret >= 0)
    errno = saved;
  return ret;
}

static int select_passes(int nfds) { return nfds < 0 || nfds > FD_SETSIZE; }

GP_EXPORT int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv) {
  if (select_passes(nfds) ||
      (tv && (tv->tv_sec < 0 || tv->tv_usec < 0 || (tv->tv_sec == 0 && tv->tv_usec == 0))) ||
      !gp__coop(GP_RA()))
    return REAL(select)(nfds, rd, wr, ex, tv);
  double deadline = tv ? gp__now() + (double)tv->tv_sec + (double)tv->tv_usec / 1e6 : INFINITY;
  return coop_select(nfds, rd, wr, ex, deadline, tv);
}

GP_EXPORT int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts,
                      const sigset_t *mask) {
  if (mask || select_passes(nfds) ||
      (ts && (!valid_ts(ts) || (ts->tv_sec == 0 && ts->tv_nsec == 0))) || !gp__coop(GP_RA()))
    return REAL(pselect)(nfds, rd, wr, ex, ts, mask);
  return coop_select(nfds, rd, wr, ex, ts ? gp__now() + gp__ts(ts) : INFINITY, NULL);
}

/* ---- epoll_wait ---------------------------------------------------------------------------- */

static int coop_epoll(int ep, struct epoll_event *evs, int max, int timeout) {
  gp__count_call();
  int saved = errno;
  double deadline = timeout < 0 ? INFINITY : gp__now() + timeout / 1000.0;
  for (;;) {
    int r = REAL(epoll_wait)(ep, evs, max, 0);
    if (r != 0) {
      if (r > 0)
        errno = saved;
      return r;
    }
    int rc = gp__wait_fd(ep, EPOLLIN, deadline);
    if (rc == 0)
      continue;
    if (rc == GROVE_ETIMEDOUT && deadline != INFINITY && gp__now() >= deadline) {
      r = REAL(epoll_wait)(ep, evs, max, 0);
      if (r >= 0)
        errno = saved;
      return r;
    }
    if (rc == GROVE_ETIMEDOUT || rc == GROVE_ECANCELED)
      return gp__fail(rc, deadline, 0);
    double left = gp__left(deadline);
    return REAL(epoll_wait)(ep, evs, max, left < 0 ? -1 : (int)(left * 1000 + 0.999));
  }
}

GP_EXPORT int epoll_wait(int ep, struct epoll_event *evs, int max, int timeout) {
  if (timeout == 0 || max <= 0 || !evs || !gp__coop(GP_RA()))
    return REAL(epoll_wait)(ep, evs, max, timeout);
  return coop_epoll(ep, evs, max, timeout);
}

GP_EXPORT int epoll_pwait(int ep, struct epoll_event *evs, int max, int timeout,
                          const sigset_t *mask) {
  if (mask || timeout == 0 || max <= 0 || !evs || !gp__coop(GP_RA()))
    return REAL(epoll_pwait)(ep, evs, max, timeout, mask);
  return coop_epoll(ep, evs, max, timeout);
}
