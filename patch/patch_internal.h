/* patch/patch_internal.h - what the files of the grove-patch library share.
 *
 * Each interposed libc function (read, poll, sleep, getaddrinfo...) asks
 * gp__coop first: on a greenlet that may block, called from the program's
 * own code or another library (not from grove, libuv or libzmq), it takes
 * the cooperative path; everywhere else it calls the next definition of
 * the symbol (libc's, found with dlsym(RTLD_NEXT)) and nothing else.
 */
#ifndef GROVE_PATCH_INTERNAL_H
#define GROVE_PATCH_INTERNAL_H

#include <grove.h>
#include <grove/patch.h>

#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define GP_EXPORT __attribute__((visibility("default")))
#define GP_LIKELY(x) __builtin_expect(!!(x), 1)
#define GP_RA() __builtin_return_address(0)

/* libc's definitions (the next ones after ours). */
typedef struct gp_real {
  ssize_t (*read)(int, void *, size_t);
  ssize_t (*write)(int, const void *, size_t);
  ssize_t (*readv)(int, const struct iovec *, int);
  ssize_t (*writev)(int, const struct iovec *, int);
  ssize_t (*recv)(int, void *, size_t, int);
  ssize_t (*send)(int, const void *, size_t, int);
  ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
  ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
  ssize_t (*recvmsg)(int, struct msghdr *, int);
  ssize_t (*sendmsg)(int, const struct msghdr *, int);
  int (*connect)(int, const struct sockaddr *, socklen_t);
  int (*accept)(int, struct sockaddr *, socklen_t *);
  int (*accept4)(int, struct sockaddr *, socklen_t *, int);
  int (*poll)(struct pollfd *, nfds_t, int);
  int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
  int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
  int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *);
  int (*epoll_wait)(int, struct epoll_event *, int, int);
  int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
  unsigned (*sleep)(unsigned);
  int (*usleep)(useconds_t);
  int (*nanosleep)(const struct timespec *, struct timespec *);
  int (*clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
  int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
  struct hostent *(*gethostbyname)(const char *);
} gp_real;

extern gp_real gp__real;
void gp__init(void);
#define REAL(fn) (GP_LIKELY(gp__real.fn != NULL) ? gp__real.fn : (gp__init(), gp__real.fn))

/* May the call made from return address ra wait through the hub? */
int gp__coop(void *ra);

/* Counters for grove_patch_get_stats. */
extern _Atomic uint64_t gp__calls, gp__waits;
static inline void gp__count_call(void) {
  atomic_fetch_add_explicit(&gp__calls, 1, memory_order_relaxed);
}

/* Monotonic seconds. */
double gp__now(void);

/* Wait through the hub until fd has one of events (EPOLLIN, EPOLLOUT...),
 * or until deadline (gp__now() seconds; INFINITY: none). Returns 0, or a
 * grove code: GROVE_ETIMEDOUT, GROVE_ECANCELED, or another (the fd cannot
 * be waited on: the caller then blocks as libc would). The fd itself is
 * not touched (it is waited on through an epoll fd of its own, so that
 * libuv does not make it non-blocking). */
int gp__wait_fd(int fd, uint32_t events, double deadline);

/* Wait through the hub until one of fds[0..n) has its events; same
 * returns. Entries with fd < 0 are ignored. */
int gp__wait_fds(const struct pollfd *fds, size_t n, double deadline);

/* The deadline a socket's SO_RCVTIMEO or SO_SNDTIMEO sets for a call
 * starting now; INFINITY without one (or for a non-socket). */
double gp__sock_deadline(int fd, int opt);

/* Did the user make fd non-blocking (O_NONBLOCK)? */
int gp__nonblocking(int fd);

/* errno for a wait that ended with grove code rc (GROVE_ETIMEDOUT or
 * GROVE_ECANCELED): ECANCELED, expired (when the call's own deadline has
 * passed: EAGAIN for SO_RCVTIMEO, say), or ETIMEDOUT (a scoped
 * grove_timeout_start deadline). Returns -1. */
int gp__fail(int rc, double deadline, int expired);

/* Seconds until deadline (>= 0), or GROVE_FOREVER. */
static inline double gp__left(double deadline) {
  if (deadline == INFINITY)
    return GROVE_FOREVER;
  double left = deadline - gp__now();
  return left > 0 ? left : 0;
}

static inline double gp__ts(const struct timespec *ts) {
  return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

#endif
