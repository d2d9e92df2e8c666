/* patch/patch.c - the core of the grove-patch library: finding libc's
 * definitions, deciding whether a call may wait through the hub, and the
 * waits themselves.
 *
 * The gate (gp__coop) answers "may this call wait cooperatively?" in two
 * steps, cheapest first:
 *
 *  1. grove_may_block(): the thread has a hub and the caller runs on one of
 *     its greenlets, not in the hub itself (its libuv loop and callbacks),
 *     not while the hub closes. Every thread without a hub (libzmq's I/O
 *     threads, libuv's pool, the user's own pthreads) stops here.
 *  2. Who called: grove, libuv and libzmq make blocking-looking calls of
 *     their own on greenlets (libuv's uv_spawn reads a pipe until the child
 *     execs and aborts on any error it does not expect; its signal code
 *     takes a lock that is a blocking pipe read; libzmq signals its
 *     mailboxes with writes). Those must stay libc's calls, so the return
 *     address of the interposed call is looked up in the executable
 *     segments of libgrove, libuv and libzmq, found once with
 *     dl_iterate_phdr. A thread-local "inside grove" flag would not do: it
 *     would have to be cleared whenever grove switches greenlets in the
 *     middle of its own code, which only grove could do.
 *
 * Under AddressSanitizer the sanitizer's interceptor comes first and calls
 * us, so the return address is the sanitizer's: then the real caller is
 * the first frame of backtrace(3) outside the sanitizer and this library.
 *
 * Waiting: a call that would block waits through grove_wait_readable on
 * an epoll fd of its own holding the user's fd (or all the fds of a poll
 * or select), never on the user's fd directly: libuv makes every fd it
 * watches non-blocking, and the user's fd must keep the flags the user
 * gave it (a blocking fd shared with another thread or process stays
 * blocking for them). An empty epoll fd never becomes readable, which
 * makes it a cancellable sleep for poll(NULL, 0, ms).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "patch_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

gp_real gp__real;
_Atomic uint64_t gp__calls, gp__waits;

/* ---- libc's definitions ------------------------------------------------------------ */

static pthread_once_t real_once = PTHREAD_ONCE_INIT;

#define RESOLVE(fn) (*(void **)&gp__real.fn = dlsym(RTLD_NEXT, #fn))

static void ranges_init(void);

/* A thread that reads a field while another resolves sees NULL (and
 * waits in pthread_once) or the final pointer: each is written once. */
static void real_init(void) {
  RESOLVE(read);
  RESOLVE(write);
  RESOLVE(readv);
  RESOLVE(writev);
  RESOLVE(recv);
  RESOLVE(send);
  RESOLVE(recvfrom);
  RESOLVE(sendto);
  RESOLVE(recvmsg);
  RESOLVE(sendmsg);
  RESOLVE(connect);
  RESOLVE(accept);
  RESOLVE(accept4);
  RESOLVE(poll);
  RESOLVE(ppoll);
  RESOLVE(select);
  RESOLVE(pselect);
  RESOLVE(epoll_wait);
  RESOLVE(epoll_pwait);
  RESOLVE(sleep);
  RESOLVE(usleep);
  RESOLVE(nanosleep);
  RESOLVE(clock_nanosleep);
  RESOLVE(getaddrinfo);
  RESOLVE(gethostbyname);
  ranges_init();
}

void gp__init(void) { pthread_once(&real_once, real_init); }

__attribute__((constructor)) static void gp_constructor(void) { gp__init(); }

/* ---- who called ----------------------------------------------------------------------- */

enum { K_OTHER = 0, K_RUNTIME, K_SELF, K_SANITIZER };

typedef struct {
  uintptr_t lo, hi;
  int kind;
} range;

static range ranges[32];
static int nranges;

static int kind_of(const char *path, const char *self) {
  if (self && strcmp(path, self) == 0)
    return K_SELF;
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  if (strncmp(base, "libgrove.so", 11) == 0 || strncmp(base, "libuv.so", 8) == 0 ||
      strncmp(base, "libzmq.so", 9) == 0)
    return K_RUNTIME;
  if (strstr(base, "asan") || strstr(base, "tsan") || strstr(base, "ubsan") ||
      strstr(base, "clang_rt"))
    return K_SANITIZER;
  return K_OTHER;
}

static int add_object(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  const char *self = data;
  if (!info->dlpi_name || !info->dlpi_name[0])
    return 0; /* the executable */
  int kind = kind_of(info->dlpi_name, self);
  if (kind == K_OTHER)
    return 0;
  for (int i = 0; i < info->dlpi_phnum && nranges < (int)(sizeof ranges / sizeof ranges[0]); i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
      continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    ranges[nranges++] = (range){lo, lo + ph->p_memsz, kind};
  }
  return 0;
}

static void ranges_init(void) {
  Dl_info self;
  const char *self_path = NULL;
  if (dladdr((void *)&gp__init, &self) && self.dli_fname)
    self_path = self.dli_fname;
  dl_iterate_phdr(add_object, (void *)self_path);
  /* backtrace loads the unwinder on first use (it allocates): not in the
   * middle of an interposed call. */
  void *warm[2];
  backtrace(warm, 2);
}

static int classify(const void *pc) {
  uintptr_t a = (uintptr_t)pc;
  for (int i = 0; i < nranges; i++)
    if (a >= ranges[i].lo && a < ranges[i].hi)
      return ranges[i].kind;
  return K_OTHER;
}

int gp__coop(void *ra) {
  if (!grove_may_block())
    return 0;
  gp__init();
  int k = classify(ra);
  if (k == K_OTHER)
    return 1;
  if (k == K_RUNTIME)
    return 0;
  /* Called through a sanitizer's interceptor: find the real caller. */
  void *frames[24];
  int n = backtrace(frames, 24);
  for (int i = 0; i < n; i++) {
    k = classify(frames[i]);
    if (k != K_SELF && k != K_SANITIZER)
      return k != K_RUNTIME;
  }
  return 1;
}

/* ---- waiting ----------------------------------------------------------------------------- */

double gp__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return gp__ts(&ts);
}

/* Wait on ep (an epoll fd) until it is readable or the deadline passes. */
static int wait_epoll(int ep, double deadline) {
  atomic_fetch_add_explicit(&gp__waits, 1, memory_order_relaxed);
  double left = gp__left(deadline);
  if (left == 0)
    return GROVE_ETIMEDOUT;
  return grove_wait_readable(ep, left);
}

int gp__wait_fd(int fd, uint32_t events, double deadline) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    return -errno;
  struct epoll_event ev = {.events = events, .data.fd = fd};
  int rc = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? wait_epoll(ep, deadline) : -errno;
  close(ep);
  return rc;
}

_Static_assert(POLLIN == EPOLLIN && POLLOUT == EPOLLOUT && POLLPRI == EPOLLPRI &&
                   POLLRDHUP == EPOLLRDHUP && POLLRDNORM == EPOLLRDNORM &&
                   POLLRDBAND == EPOLLRDBAND && POLLWRNORM == EPOLLWRNORM &&
                   POLLWRBAND == EPOLLWRBAND,
               "poll and epoll event bits differ");

#define GP_POLL_BITS                                                                               \
  (POLLIN | POLLOUT | POLLPRI | POLLRDHUP | POLLRDNORM | POLLRDBAND | POLLWRNORM | POLLWRBAND)

int gp__wait_fds(const struct pollfd *fds, size_t n, double deadline) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    return -errno;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (fds[i].fd < 0)
      continue;
    struct epoll_event ev = {.events = (uint32_t)(fds[i].events & GP_POLL_BITS),
                             .data.fd = fds[i].fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i].fd, &ev) == 0)
      continue;
    if (errno == EEXIST) {
      /* The same fd twice: wait for what any of its entries wants. */
      for (size_t j = 0; j < i; j++)
        if (fds[j].fd == fds[i].fd)
          ev.events |= (uint32_t)(fds[j].events & GP_POLL_BITS);
      if (epoll_ctl(ep, EPOLL_CTL_MOD, fds[i].fd, &ev) == 0)
        continue;
    }
    /* EPERM: a regular file or directory, which poll always reports ready
     * for reading and writing; the poll before the wait saw it. */
    if (errno != EPERM)
      rc = -errno;
  }
  if (rc == 0)
    rc = wait_epoll(ep, deadline);
  close(ep);
  return rc;
}

double gp__sock_deadline(int fd, int opt) {
  struct timeval tv;
  socklen_t len = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) != 0 || (tv.tv_sec == 0 && tv.tv_usec == 0))
    return INFINITY;
  return gp__now() + (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int gp__nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl >= 0 && (fl & O_NONBLOCK);
}

int gp__fail(int rc, double deadline, int expired) {
  if (rc == GROVE_ECANCELED)
    errno = ECANCELED;
  else if (deadline != INFINITY && gp__now() >= deadline)
    errno = expired;
  else
    errno = ETIMEDOUT;
  return -1;
}

/* ---- public queries --------------------------------------------------------------------- */

extern _Thread_local unsigned gp__read_seen;

GP_EXPORT bool grove_patch_active(void) {
  ssize_t (*rd)(int, void *, size_t);
  *(void **)&rd = dlsym(RTLD_DEFAULT, "read");
  if (!rd)
    return false;
  int saved = errno;
  unsigned before = gp__read_seen;
  (void)rd(-1, NULL, 0);
  errno = saved;
  return gp__read_seen != before;
}

GP_EXPORT void grove_patch_get_stats(grove_patch_stats *out) {
  if (!out)
    return;
  out->calls = atomic_load_explicit(&gp__calls, memory_order_relaxed);
  out->waits = atomic_load_explicit(&gp__waits, memory_order_relaxed);
}
