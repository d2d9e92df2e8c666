/* patch/fd.c - read, write and their socket forms, accept and connect,
 * made cooperative on greenlets.
 *
 * Sockets: every transfer (read, write, readv, writev, recv, send,
 * recvfrom, sendto, recvmsg, sendmsg) is one recvmsg or sendmsg with
 * MSG_DONTWAIT - the kernel runs read and recv on a socket through the
 * same sock_recvmsg, so the results and errno values are those of the
 * call the program made - and on EAGAIN the call waits through the hub and
 * tries again. The fd's flags are never changed. A blocking send sends
 * everything (the kernel's blocking send loops too), a recv with
 * MSG_WAITALL gathers until it has everything or the stream ends. The
 * socket's SO_RCVTIMEO / SO_SNDTIMEO bound the whole call as in the
 * kernel: when it expires the call returns what it transferred, or -1 with
 * EAGAIN. EAGAIN on a socket the user made non-blocking is returned at
 * once (one fcntl tells, only on that path).
 *
 * Other fds (pipes, FIFOs, terminals, eventfds, character devices): there
 * is no per-call MSG_DONTWAIT, and flipping O_NONBLOCK would change the
 * fd for every other thread and process sharing it. So the call polls
 * first (poll with timeout 0), waits through the hub while the fd is not
 * ready, and then makes the blocking call, which does not block once the
 * fd is ready: a read returns what is there; a write to a FIFO is cut in
 * PIPE_BUF pieces, each of which fits once the pipe is writable, and the
 * call returns when all are written, as a blocking write does. Regular
 * files, block devices and directories never wait for readiness: their
 * calls go to libc directly.
 *
 * accept polls first as well (a listening socket has no per-call
 * non-blocking accept); connect is the one call that sets O_NONBLOCK on
 * the fd for the attempt (and restores the flags at once, before waiting),
 * since only a non-blocking connect returns before the handshake: then it
 * waits for writability and reads SO_ERROR, as the kernel's blocking
 * connect does internally.
 *
 * errno: saved on entry and restored on success, so the attempts that fail
 * on the way (EAGAIN, ENOTSOCK) leave no trace.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "patch_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

_Thread_local unsigned gp__read_seen;

/* ---- iovec cursors -------------------------------------------------------------------- */

static size_t iov_total(const struct iovec *iov, size_t n) {
  size_t t = 0;
  for (size_t i = 0; i < n; i++)
    t += iov[i].iov_len;
  return t;
}

/* The part of iov[0..n) after `skip` bytes, at most `max` bytes, into out
 * (room for n entries). Returns the number of entries. */
static size_t iov_slice(const struct iovec *iov, size_t n, size_t skip, size_t max,
                        struct iovec *out) {
  size_t k = 0;
  for (size_t i = 0; i < n && max > 0; i++) {
    size_t len = iov[i].iov_len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    size_t take = len - skip < max ? len - skip : max;
    out[k].iov_base = (char *)iov[i].iov_base + skip;
    out[k].iov_len = take;
    k++;
    max -= take;
    skip = 0;
  }
  return k;
}

/* Room for a slice of n entries: local if it fits, else the heap. */
typedef struct {
  struct iovec local[16];
  struct iovec *v;
} iov_room;

static int room_get(iov_room *r, size_t n) {
  r->v = n <= sizeof r->local / sizeof r->local[0] ? r->local : malloc(n * sizeof *r->v);
  return r->v ? 0 : -1;
}

static void room_free(iov_room *r) {
  if (r->v && r->v != r->local)
    free(r->v);
}

/* ---- sockets ------------------------------------------------------------------------------ */

/* One transfer on a blocking socket (see the notes above). m is the
 * caller's message: for a receive, msg_namelen, msg_controllen and
 * msg_flags are written back. Returns the count, or -1 with errno. With
 * notsock given, a first attempt that finds fd is not a socket returns -1
 * with *notsock set and nothing done. */
static ssize_t sock_io(int fd, struct msghdr *m, int flags, int out, int *notsock) {
  struct msghdr cur = *m;
  size_t total = iov_total(m->msg_iov, m->msg_iovlen), done = 0;
  int waitall = !out && (flags & MSG_WAITALL);
  double deadline = NAN;
  int first = 1;
  iov_room room = {.v = NULL};
  ssize_t ret;
  for (;;) {
    ssize_t r = out ? REAL(sendmsg)(fd, &cur, flags | MSG_DONTWAIT)
                    : REAL(recvmsg)(fd, &cur, flags | MSG_DONTWAIT);
    if (r >= 0) {
      if (!out) {
        if (first) {
          m->msg_namelen = cur.msg_namelen;
          m->msg_controllen = cur.msg_controllen;
          m->msg_flags = cur.msg_flags;
        } else {
          m->msg_flags |= cur.msg_flags;
        }
      }
      first = 0;
      done += (size_t)r;
      if ((!out && (!waitall || r == 0)) || done >= total || r == 0) {
        ret = (ssize_t)done;
        break;
      }
      /* Part of it: go on with the rest (stream sockets only, so the
       * address and the ancillary data went with the first part). */
      if (!room.v && room_get(&room, m->msg_iovlen) != 0) {
        ret = (ssize_t)done;
        break;
      }
      cur.msg_iov = room.v;
      cur.msg_iovlen = iov_slice(m->msg_iov, m->msg_iovlen, done, SIZE_MAX, room.v);
      cur.msg_name = NULL;
      cur.msg_namelen = 0;
      cur.msg_control = NULL;
      cur.msg_controllen = 0;
      continue;
    }
    int e = errno;
    if (e == EINTR)
      continue;
    if (e == ENOTSOCK && notsock && first) {
      *notsock = 1;
      ret = -1;
      break;
    }
    if ((e != EAGAIN && e != EWOULDBLOCK) || gp__nonblocking(fd)) {
      errno = e;
      ret = done ? (ssize_t)done : -1;
      break;
    }
    if (isnan(deadline))
      deadline = gp__sock_deadline(fd, out ? SO_SNDTIMEO : SO_RCVTIMEO);
    int rc = gp__wait_fd(fd, out ? EPOLLOUT : EPOLLIN, deadline);
    if (rc == 0)
      continue;
    if (rc == GROVE_ETIMEDOUT || rc == GROVE_ECANCELED) {
      ret = done ? (ssize_t)done : gp__fail(rc, deadline, EAGAIN);
      break;
    }
    /* The fd cannot be waited on through the hub: block as libc would. */
    r = out ? REAL(sendmsg)(fd, &cur, flags) : REAL(recvmsg)(fd, &cur, flags);
    if (r >= 0 && !out && first) {
      m->msg_namelen = cur.msg_namelen;
      m->msg_controllen = cur.msg_controllen;
      m->msg_flags = cur.msg_flags;
    }
    ret = r < 0 ? (done ? (ssize_t)done : -1) : (ssize_t)(done + (size_t)r);
    break;
  }
  room_free(&room);
  return ret;
}

/* ---- other fds --------------------------------------------------------------------------- */

static ssize_t file_call(int fd, const struct iovec *iov, size_t n, int out) {
  if (n == 1)
    return out ? REAL(write)(fd, iov[0].iov_base, iov[0].iov_len)
               : REAL(read)(fd, iov[0].iov_base, iov[0].iov_len);
  return out ? REAL(writev)(fd, iov, (int)n) : REAL(readv)(fd, iov, (int)n);
}

static ssize_t file_io(int fd, const struct iovec *iov, size_t n, int out) {
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode))
    return file_call(fd, iov, n, out);
  int pieces = out && S_ISFIFO(st.st_mode);
  size_t total = iov_total(iov, n), done = 0;
  iov_room room = {.v = NULL};
  ssize_t ret;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = out ? POLLOUT : POLLIN};
    int ready = REAL(poll)(&p, 1, 0);
    if (ready == 0 && !gp__nonblocking(fd)) {
      int rc = gp__wait_fd(fd, out ? EPOLLOUT : EPOLLIN, INFINITY);
      if (rc == 0)
        continue;
      if (rc == GROVE_ETIMEDOUT || rc == GROVE_ECANCELED) {
        ret = done ? (ssize_t)done : gp__fail(rc, INFINITY, EAGAIN);
        break;
      }
      /* Cannot wait through the hub: the call below blocks as libc's. */
    }
    const struct iovec *v = iov;
    size_t k = n, want = total - done;
    if (done || (pieces && want > PIPE_BUF)) {
      if (!room.v && room_get(&room, n) != 0) {
        ret = done ? (ssize_t)done : file_call(fd, iov, n, out);
        break;
      }
      if (pieces && want > PIPE_BUF)
        want = PIPE_BUF; /* fits at once in a pipe that polls writable */
      k = iov_slice(iov, n, done, want, room.v);
      v = room.v;
    }
    ssize_t r = file_call(fd, v, k, out);
    if (r < 0) {
      ret = done ? (ssize_t)done : -1;
      break;
    }
    done += (size_t)r;
    if (!pieces || r == 0 || done >= total) {
      ret = (ssize_t)done;
      break;
    }
  }
  room_free(&room);
  return ret;
}

/* ---- the transfers -------------------------------------------------------------------------- */

/* read/readv/write/writev: a socket or another fd. */
static ssize_t any_io(int fd, const struct iovec *iov, int iovcnt, int out) {
  gp__count_call();
  int saved = errno, notsock = 0;
  struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
  ssize_t r = sock_io(fd, &m, 0, out, &notsock);
  if (notsock)
    r = file_io(fd, iov, (size_t)iovcnt, out);
  if (r >= 0)
    errno = saved;
  return r;
}

/* recv*, send*: sockets only (libc reports ENOTSOCK itself). */
static ssize_t msg_io(int fd, struct msghdr *m, int flags, int out) {
  gp__count_call();
  int saved = errno;
  ssize_t r = sock_io(fd, m, flags, out, NULL);
  if (r >= 0)
    errno = saved;
  return r;
}

/* Flags with which a receive cannot block, or whose meaning a
 * non-blocking retry loop cannot keep (a peek that waits for everything),
 * go to libc unchanged. */
static int recv_passes(int flags) {
  return (flags & (MSG_DONTWAIT | MSG_ERRQUEUE)) || ((flags & MSG_PEEK) && (flags & MSG_WAITALL));
}

static ssize_t do_read(int fd, void *buf, size_t n, void *ra) {
  gp__read_seen++;
  if (n == 0 || !gp__coop(ra))
    return REAL(read)(fd, buf, n);
  struct iovec iov = {buf, n};
  return any_io(fd, &iov, 1, 0);
}

GP_EXPORT ssize_t read(int fd, void *buf, size_t n) { return do_read(fd, buf, n, GP_RA()); }

GP_EXPORT ssize_t write(int fd, const void *buf, size_t n) {
  if (n == 0 || !gp__coop(GP_RA()))
    return REAL(write)(fd, buf, n);
  struct iovec iov = {(void *)buf, n};
  return any_io(fd, &iov, 1, 1);
}

GP_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt) {
  if (iovcnt <= 0 || iovcnt > IOV_MAX || !iov || iov_total(iov, (size_t)iovcnt) == 0 ||
      !gp__coop(GP_RA()))
    return REAL(readv)(fd, iov, iovcnt);
  return any_io(fd, iov, iovcnt, 0);
}

GP_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
  if (iovcnt <= 0 || iovcnt > IOV_MAX || !iov || iov_total(iov, (size_t)iovcnt) == 0 ||
      !gp__coop(GP_RA()))
    return REAL(writev)(fd, iov, iovcnt);
  return any_io(fd, iov, iovcnt, 1);
}

static ssize_t do_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                           socklen_t *alen, void *ra) {
  if (recv_passes(flags) || (addr && !alen) || !gp__coop(ra))
    return REAL(recvfrom)(fd, buf, n, flags, addr, alen);
  struct iovec iov = {buf, n};
  struct msghdr m = {
      .msg_name = addr, .msg_namelen = addr ? *alen : 0, .msg_iov = &iov, .msg_iovlen = 1};
  ssize_t r = msg_io(fd, &m, flags, 0);
  if (r >= 0 && addr)
    *alen = m.msg_namelen;
  return r;
}

GP_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags) {
  return do_recvfrom(fd, buf, n, flags, NULL, NULL, GP_RA());
}

GP_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                           socklen_t *alen) {
  return do_recvfrom(fd, buf, n, flags, addr, alen, GP_RA());
}

GP_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags) {
  if (!m || recv_passes(flags) || m->msg_iovlen > IOV_MAX || !gp__coop(GP_RA()))
    return REAL(recvmsg)(fd, m, flags);
  return msg_io(fd, m, flags, 0);
}

static ssize_t do_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
                         socklen_t alen, void *ra) {
  if ((flags & MSG_DONTWAIT) || !gp__coop(ra))
    return REAL(sendto)(fd, buf, n, flags, addr, alen);
  struct iovec iov = {(void *)buf, n};
  struct msghdr m = {
      .msg_name = (void *)addr, .msg_namelen = addr ? alen : 0, .msg_iov = &iov, .msg_iovlen = 1};
  return msg_io(fd, &m, flags, 1);
}

GP_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
  return do_sendto(fd, buf, n, flags, NULL, 0, GP_RA());
}

GP_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
                         socklen_t alen) {
  return do_sendto(fd, buf, n, flags, addr, alen, GP_RA());
}

GP_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags) {
  if (!m || (flags & MSG_DONTWAIT) || m->msg_iovlen > IOV_MAX || !gp__coop(GP_RA()))
    return REAL(sendmsg)(fd, m, flags);
  struct msghdr copy = *m;
  return msg_io(fd, &copy, flags, 1);
}

/* _FORTIFY_SOURCE forms: a program built with it calls these instead. */
extern void __chk_fail(void) __attribute__((noreturn));

GP_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  if (n > buflen)
    __chk_fail();
  return do_read(fd, buf, n, GP_RA());
}

GP_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags) {
  if (n > buflen)
    __chk_fail();
  return do_recvfrom(fd, buf, n, flags, NULL, NULL, GP_RA());
}

GP_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                                 struct sockaddr *addr, socklen_t *alen) {
  if (n > buflen)
    __chk_fail();
  return do_recvfrom(fd, buf, n, flags, addr, alen, GP_RA());
}

/* ---- accept -----------------------------------------------------------------------------------
 */

static int do_accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags, int four,
                      void *ra) {
  if (!gp__coop(ra))
    return four ? REAL(accept4)(fd, addr, alen, flags) : REAL(accept)(fd, addr, alen);
  gp__count_call();
  int saved = errno;
  double deadline = NAN;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (REAL(poll)(&p, 1, 0) != 0 || gp__nonblocking(fd))
      break; /* a connection (or an error) waits: accept does not block */
    if (isnan(deadline))
      deadline = gp__sock_deadline(fd, SO_RCVTIMEO);
    int rc = gp__wait_fd(fd, EPOLLIN, deadline);
    if (rc == GROVE_ETIMEDOUT || rc == GROVE_ECANCELED)
      return gp__fail(rc, deadline, EAGAIN);
    if (rc != 0)
      break;
  }
  int r = four ? REAL(accept4)(fd, addr, alen, flags) : REAL(accept)(fd, addr, alen);
  if (r >= 0)
    errno = saved;
  return r;
}

GP_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *alen) {
  return do_accept4(fd, addr, alen, 0, 0, GP_RA());
}

GP_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags) {
  return do_accept4(fd, addr, alen, flags, 1, GP_RA());
}

/* ---- connect -------------------------------------------------------------------------------- */

GP_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t alen) {
  if (!gp__coop(GP_RA()))
    return REAL(connect)(fd, addr, alen);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || (fl & O_NONBLOCK))
    return REAL(connect)(fd, addr, alen); /* EBADF, or the user's non-blocking connect */
  gp__count_call();
  int saved = errno;
  double deadline = gp__sock_deadline(fd, SO_SNDTIMEO), backoff = 0.001;
  for (;;) {
    if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
      return REAL(connect)(fd, addr, alen);
    int r = REAL(connect)(fd, addr, alen), e = errno;
    fcntl(fd, F_SETFL, fl);
    if (r == 0) {
      errno = saved;
      return 0;
    }
    if (e == EAGAIN && addr && addr->sa_family == AF_UNIX) {
      /* A Unix listener's backlog is full: a blocking connect waits for
       * room, which no fd event announces. Try again a little later. */
      double left = gp__left(deadline);
      if (left == 0) {
        errno = EAGAIN;
        return -1;
      }
      int rc = grove_sleep(left < 0 || left > backoff ? backoff : left);
      if (rc != 0)
        return gp__fail(rc, deadline, EAGAIN);
      backoff = backoff < 0.05 ? backoff * 2 : 0.05;
      continue;
    }
    if (e != EINPROGRESS) {
      errno = e;
      return -1;
    }
    break;
  }
  /* The handshake runs: wait for its end, as the kernel's blocking
   * connect does, then take its result from SO_ERROR. */
  int rc = gp__wait_fd(fd, EPOLLOUT, deadline);
  if (rc == GROVE_ETIMEDOUT || rc == GROVE_ECANCELED)
    return gp__fail(rc, deadline, EINPROGRESS); /* the kernel's SO_SNDTIMEO answer */
  if (rc != 0) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    while (REAL(poll)(&p, 1, -1) < 0 && errno == EINTR)
      ;
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    return -1;
  if (err) {
    errno = err;
    return -1;
  }
  errno = saved;
  return 0;
}
