/* transport/zsock.c - cooperative ZeroMQ sockets for users (zmq.green's role).
 *
 * A call tries the operation with ZMQ_DONTWAIT; if ZeroMQ says EAGAIN, it
 * reads ZMQ_EVENTS and, unless that now shows the socket ready, waits for
 * ZMQ_FD to become readable (grove_wait_readable) and tries again. Built on
 * the public API (grove_wait_readable, grove_fd_cancel_wait), and the hub's
 * per-hub state slot for the registry below.
 *
 * ZMQ_FD is edge-triggered: it is readable while ZeroMQ has unprocessed
 * commands for the socket, and every zmq_send, zmq_recv or ZMQ_EVENTS read
 * processes them. So (as transport/node.c learnt) a call that finds the
 * socket not ready must read ZMQ_EVENTS after its failed attempt and before
 * it waits, and a call on a socket that other greenlets wait on may consume
 * the edge they wait for: a sender that processes the "message arrived"
 * command leaves the reader blocked on an fd that will not fire again.
 * Hence the registry: for each socket with waiters, how many wait to
 * receive (nin) and to send (nout), and which fds they wait on (ZMQ_FD, or
 * the epoll fd of a grove_zmq_poll). After every operation and every
 * ZMQ_EVENTS read, a call that sees the socket ready in a direction someone
 * waits for wakes the waiters ("poke": grove_fd_cancel_wait on their fds,
 * which they take as "look again", not as an error). A waker never counts
 * itself, and a greenlet that looks again and finds nothing for itself
 * pokes only if the socket is ready for somebody else, so pokes cannot
 * bounce between two waiters forever.
 *
 * The registry is per hub (a ZeroMQ socket belongs to one thread, so its
 * waiters are greenlets of one hub: the hub's GROVE__LAYER_ZSOCK slot) and
 * is allocated, not threaded through
 * the waiters: a waiter's frames live on a shared stack that is copied out
 * while it waits, so nothing may point into them. An entry exists while
 * greenlets wait on its socket; grove_zmq_close marks it closed, so that
 * waiters woken by the close return GROVE_ECLOSED without touching the
 * socket, and a new socket at the same address gets a new entry.
 *
 * grove_zmq_poll waits on several fds at once by waiting on a fresh epoll
 * fd holding them (an epoll fd is readable while one of its fds is ready).
 */
#include "hub_api.h"

#include "grove/error.h"
#include "grove/greenlet.h"
#include "grove/io.h"
#include "grove/zmq.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* ---- time ------------------------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An absolute deadline: INFINITY for a negative timeout. */
static double deadline_of(double timeout) { return timeout < 0 ? INFINITY : now_s() + timeout; }

/* ---- errors ------------------------------------------------------------------------- */

static int zerr(int e) {
  switch (e) {
  case EAGAIN:
    return GROVE_EAGAIN;
  case EFSM:
    return GROVE_EFSM;
  case ETERM:
    return GROVE_ECLOSED;
  case ENOTSOCK:
  case EFAULT:
  case EINVAL:
    return GROVE_EINVAL;
  case EMSGSIZE:
    return GROVE_EMSGSIZE;
  default:
    return e > 0 ? -e : GROVE_EINVAL;
  }
}

/* ---- the registry of sockets with waiters ------------------------------------------------ */

typedef struct zfd {
  int fd;
  unsigned n; /* waiters on fd */
} zfd;

typedef struct zentry {
  void *sock;
  unsigned nin, nout; /* greenlets waiting to receive / to send */
  unsigned nwait;     /* greenlets holding the entry */
  int closed;         /* grove_zmq_close ran while they waited */
  zfd *fds;           /* the fds they wait on */
  size_t nfds, capfds;
} zentry;

/* The registry of one hub: its GROVE__LAYER_ZSOCK slot, which exists
 * while greenlets wait (an empty one stands in otherwise). */
typedef struct zreg {
  zentry **v;
  size_t n, cap;
} zreg;

static const zreg no_reg;

static const zreg *reg_peek(void) {
  const zreg *r = grove__layer_get(grove__hub_peek(), GROVE__LAYER_ZSOCK);
  return r ? r : &no_reg;
}

static zreg *reg_make(void) {
  grove_hub *hub = grove__hub();
  zreg *r = grove__layer_get(hub, GROVE__LAYER_ZSOCK);
  if (!r && hub && (r = calloc(1, sizeof *r)) != NULL)
    grove__layer_set(hub, GROVE__LAYER_ZSOCK, r, free); /* empty when the hub closes */
  return r;
}

static zentry *entry_find(void *sock) {
  const zreg *reg = reg_peek();
  for (size_t i = 0; i < reg->n; i++)
    if (reg->v[i]->sock == sock && !reg->v[i]->closed)
      return reg->v[i];
  return NULL;
}

/* Hold the socket's entry (created if needed) as a waiter on fd wanting
 * events (ZMQ_POLLIN and/or ZMQ_POLLOUT). */
static zentry *entry_hold(void *sock, int fd, int events) {
  zentry *e = entry_find(sock);
  zreg *reg = reg_make();
  if (!reg)
    return NULL;
  if (!e) {
    if (reg->n == reg->cap) {
      size_t cap = reg->cap ? reg->cap * 2 : 8;
      zentry **v = realloc(reg->v, cap * sizeof *v);
      if (!v)
        return NULL;
      reg->v = v;
      reg->cap = cap;
    }
    if (!(e = calloc(1, sizeof *e)))
      return NULL;
    e->sock = sock;
    reg->v[reg->n++] = e;
  }
  size_t i = 0;
  while (i < e->nfds && e->fds[i].fd != fd)
    i++;
  if (i == e->nfds) {
    if (e->nfds == e->capfds) {
      size_t cap = e->capfds ? e->capfds * 2 : 2;
      zfd *f = realloc(e->fds, cap * sizeof *f);
      if (!f) {
        if (e->nwait == 0) {
          reg->v[--reg->n] = NULL; /* just appended: it is the last */
          free(e->fds);
          free(e);
        }
        return NULL;
      }
      e->fds = f;
      e->capfds = cap;
    }
    e->fds[e->nfds++] = (zfd){fd, 0};
  }
  e->fds[i].n++;
  e->nwait++;
  if (events & ZMQ_POLLIN)
    e->nin++;
  if (events & ZMQ_POLLOUT)
    e->nout++;
  return e;
}

/* Let go of what entry_hold took. Returns whether the socket was closed by
 * grove_zmq_close meanwhile. */
static int entry_release(zentry *e, int fd, int events) {
  for (size_t i = 0; i < e->nfds; i++) {
    if (e->fds[i].fd == fd) {
      if (--e->fds[i].n == 0)
        e->fds[i] = e->fds[--e->nfds];
      break;
    }
  }
  if (events & ZMQ_POLLIN)
    e->nin--;
  if (events & ZMQ_POLLOUT)
    e->nout--;
  int closed = e->closed;
  if (--e->nwait == 0) {
    grove_hub *hub = grove__hub_peek();
    zreg *reg = grove__layer_get(hub, GROVE__LAYER_ZSOCK);
    for (size_t i = 0; i < reg->n; i++) {
      if (reg->v[i] == e) {
        reg->v[i] = reg->v[--reg->n];
        break;
      }
    }
    free(e->fds);
    free(e);
    if (reg->n == 0) {
      free(reg->v);
      free(reg);
      grove__layer_set(hub, GROVE__LAYER_ZSOCK, NULL, NULL);
    }
  }
  return closed;
}

/* Wake every greenlet waiting on e's socket: they look again. */
static void poke(zentry *e) {
  /* The woken greenlets only run once the caller blocks, so e and its fds
   * stay as they are during the loop. */
  for (size_t i = 0; i < e->nfds; i++)
    grove_fd_cancel_wait(e->fds[i].fd);
}

/* After an operation or a ZMQ_EVENTS read on sock that returned ev: if the
 * socket is ready for a greenlet that waits, that greenlet may have lost
 * its edge; wake it. */
static void notify(void *sock, int ev) {
  zentry *e = entry_find(sock);
  if (e && (((ev & ZMQ_POLLIN) && e->nin) || ((ev & ZMQ_POLLOUT) && e->nout)))
    poke(e);
}

static int get_events(void *sock, int *ev) {
  size_t len = sizeof *ev;
  for (;;) {
    if (zmq_getsockopt(sock, ZMQ_EVENTS, ev, &len) == 0)
      return 0;
    if (errno != EINTR)
      return zerr(errno);
  }
}

static void notify_after(void *sock) {
  if (reg_peek()->n == 0)
    return; /* nobody waits on any socket of this hub */
  int ev;
  if (get_events(sock, &ev) == 0)
    notify(sock, ev);
}

/* Wait on fd (ZMQ_FD or a poll's epoll fd) for sock's events, until
 * deadline. Returns 0 to look again (the fd fired, or a poke), or an error;
 * GROVE_ECLOSED only when grove_zmq_close closed sock. */
static int wait_on(void *sock, int fd, int events, double deadline) {
  double left = 0;
  if (deadline != INFINITY) {
    left = deadline - now_s();
    if (left <= 0)
      return GROVE_ETIMEDOUT;
  }
  zentry *e = entry_hold(sock, fd, events);
  if (!e)
    return GROVE_ENOMEM;
  int rc = grove_wait_readable(fd, deadline == INFINITY ? GROVE_FOREVER : left);
  int closed = entry_release(e, fd, events);
  if (closed)
    return rc == GROVE_ECANCELED || rc == GROVE_ETIMEDOUT ? rc : GROVE_ECLOSED;
  return rc == GROVE_ECLOSED ? 0 : rc;
}

/* ---- the one loop every call runs ----------------------------------------------------------- */

typedef struct zop {
  int (*fn)(struct zop *op, void *sock, int flags); /* >= 0, or -1 with errno */
  const void *cbuf;
  void *buf;
  size_t len;
  zmq_msg_t *msg;
} zop;

static int begin(void *sock, double timeout) {
  if (!sock || isnan(timeout))
    return GROVE_EINVAL;
  grove_greenlet *g = grove_current();
  if (g && grove_cancelled(g))
    return GROVE_ECANCELED;
  return 0;
}

/* Run op until it succeeds, fails for good, or the deadline passes.
 * want: ZMQ_POLLIN or ZMQ_POLLOUT, what op needs. */
static int run(zop *op, void *sock, int want, int flags, double deadline, int poll_only) {
  int dontwait = flags & ZMQ_DONTWAIT;
  flags = (flags & ~ZMQ_DONTWAIT) | ZMQ_DONTWAIT;
  int zfd = -1, retried = 0;
  for (;;) {
    int rc = op->fn(op, sock, flags);
    if (rc >= 0) {
      notify_after(sock);
      return rc;
    }
    int e = errno;
    if (e == EINTR)
      continue;
    if (e != EAGAIN)
      return zerr(e);
    /* Not ready. The failed attempt may have processed commands (consumed
     * an edge): look at ZMQ_EVENTS before waiting. */
    int ev;
    if ((rc = get_events(sock, &ev)) != 0)
      return rc;
    if ((ev & want) && !retried) {
      retried = 1;
      continue;
    }
    /* Ready by ZMQ_EVENTS but the attempt still failed (a ROUTER with
     * ZMQ_ROUTER_MANDATORY says POLLOUT when any peer has room, not the one
     * addressed): wait for ZeroMQ's next command rather than spin. */
    retried = 0;
    notify(sock, ev);
    if (dontwait)
      return GROVE_EAGAIN;
    if (poll_only)
      return GROVE_ETIMEDOUT;
    if (zfd < 0) {
      size_t len = sizeof zfd;
      if (zmq_getsockopt(sock, ZMQ_FD, &zfd, &len) != 0)
        return zerr(errno);
    }
    if ((rc = wait_on(sock, zfd, want, deadline)) != 0)
      return rc;
  }
}

static int op_send(zop *op, void *sock, int flags) {
  return zmq_send(sock, op->cbuf, op->len, flags);
}
static int op_recv(zop *op, void *sock, int flags) {
  return zmq_recv(sock, op->buf, op->len, flags);
}
static int op_msg_send(zop *op, void *sock, int flags) {
  return zmq_msg_send(op->msg, sock, flags);
}
static int op_msg_recv(zop *op, void *sock, int flags) {
  return zmq_msg_recv(op->msg, sock, flags);
}

/* zmq_send returns an int: larger frames cannot report their size. */
static int check_len(size_t len) { return len > INT_MAX ? GROVE_EMSGSIZE : 0; }

/* Release a message's content and leave it empty and initialised. */
static void msg_reset(zmq_msg_t *m) {
  zmq_msg_close(m);
  zmq_msg_init(m);
}

static int send_one(void *sock, const void *buf, size_t len, int flags, double deadline,
                    int poll_only) {
  if (len && !buf)
    return GROVE_EINVAL;
  int rc = check_len(len);
  if (rc)
    return rc;
  zop op = {.fn = op_send, .cbuf = buf, .len = len};
  return run(&op, sock, ZMQ_POLLOUT, flags & (ZMQ_SNDMORE | ZMQ_DONTWAIT), deadline, poll_only);
}

/* ---- public calls ------------------------------------------------------------------------------
 */

int grove_zmq_send(void *socket, const void *buf, size_t len, int flags, double timeout) {
  int rc = begin(socket, timeout);
  if (rc)
    return rc;
  return send_one(socket, buf, len, flags, deadline_of(timeout), timeout == 0);
}

int grove_zmq_recv(void *socket, void *buf, size_t len, int flags, double timeout) {
  int rc = begin(socket, timeout);
  if (rc)
    return rc;
  if (len && !buf)
    return GROVE_EINVAL;
  zop op = {.fn = op_recv, .buf = buf, .len = len};
  return run(&op, socket, ZMQ_POLLIN, flags & ZMQ_DONTWAIT, deadline_of(timeout), timeout == 0);
}

int grove_zmq_msg_send(void *socket, zmq_msg_t *msg, int flags, double timeout) {
  if (!msg)
    return GROVE_EINVAL;
  int rc = begin(socket, timeout);
  if (rc == 0) {
    zop op = {.fn = op_msg_send, .msg = msg};
    rc = run(&op, socket, ZMQ_POLLOUT, flags & (ZMQ_SNDMORE | ZMQ_DONTWAIT), deadline_of(timeout),
             timeout == 0);
  }
  if (rc < 0)
    msg_reset(msg);
  return rc;
}

int grove_zmq_msg_recv(void *socket, zmq_msg_t *msg, int flags, double timeout) {
  if (!msg)
    return GROVE_EINVAL;
  int rc = begin(socket, timeout);
  if (rc)
    return rc;
  zop op = {.fn = op_msg_recv, .msg = msg};
  return run(&op, socket, ZMQ_POLLIN, flags & ZMQ_DONTWAIT, deadline_of(timeout), timeout == 0);
}

int grove_zmq_more(void *socket) {
  if (!socket)
    return GROVE_EINVAL;
  int more = 0;
  size_t len = sizeof more;
  if (zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &len) != 0)
    return zerr(errno);
  return more != 0;
}

int grove_zmq_send_parts(void *socket, const grove_zmq_part *parts, size_t n, double timeout) {
  int rc = begin(socket, timeout);
  if (rc)
    return rc;
  if (!parts || n == 0)
    return GROVE_EINVAL;
  for (size_t i = 0; i < n; i++)
    if ((rc = check_len(parts[i].size)) != 0 || (parts[i].size && !parts[i].data))
      return rc ? rc : GROVE_EINVAL;
  double deadline = deadline_of(timeout);
  for (size_t i = 0; i < n; i++) {
    /* Only the first part can wait: ZeroMQ takes the rest of a message once
     * it took its first part. */
    rc = send_one(socket, parts[i].data, parts[i].size, i + 1 < n ? ZMQ_SNDMORE : 0, deadline,
                  i == 0 && timeout == 0);
    if (rc < 0)
      return rc;
  }
  return 0;
}

int grove_zmq_msg_send_parts(void *socket, zmq_msg_t *msgs, size_t n, double timeout) {
  if (!msgs)
    return GROVE_EINVAL;
  int rc = begin(socket, timeout);
  if (rc == 0 && n == 0)
    rc = GROVE_EINVAL;
  double deadline = deadline_of(timeout);
  size_t i = 0;
  for (; rc == 0 && i < n; i++) {
    zop op = {.fn = op_msg_send, .msg = &msgs[i]};
    int r = run(&op, socket, ZMQ_POLLOUT, i + 1 < n ? ZMQ_SNDMORE : 0, deadline,
                i == 0 && timeout == 0);
    if (r < 0) {
      rc = r;
      break;
    }
  }
  for (; i < n; i++)
    if (rc < 0)
      msg_reset(&msgs[i]);
  return rc;
}

int grove_zmq_msg_recv_parts(void *socket, zmq_msg_t *msgs, size_t cap, size_t *n, double timeout) {
  if (n)
    *n = 0;
  if (!msgs || !n || cap == 0)
    return GROVE_EINVAL;
  int rc = begin(socket, timeout);
  if (rc)
    return rc;
  double deadline = deadline_of(timeout);
  size_t got = 0;
  int more = 1, dropped = 0;
  while (more) {
    zmq_msg_t spare, *m = got < cap ? &msgs[got] : &spare;
    zmq_msg_init(m);
    zop op = {.fn = op_msg_recv, .msg = m};
    rc = run(&op, socket, ZMQ_POLLIN, 0, deadline, got == 0 && !dropped && timeout == 0);
    if (rc < 0) {
      zmq_msg_close(m);
      break;
    }
    more = zmq_msg_more(m);
    if (m == &spare) {
      zmq_msg_close(m);
      dropped++;
    } else {
      got++;
    }
    rc = 0;
  }
  *n = got;
  if (rc == 0 && dropped)
    rc = GROVE_EMSGSIZE;
  return rc;
}

/* ---- poll ------------------------------------------------------------------------------------ */

static int poll_events(const zmq_pollitem_t *it) { return it->events & (ZMQ_POLLIN | ZMQ_POLLOUT); }

/* Hold (or, with release set, let go of) the registry entries of a poll's
 * sockets. Returns whether one was closed meanwhile (release), or
 * GROVE_ENOMEM (hold; what was held is let go). */
static int poll_hold(zmq_pollitem_t *items, int n, int epfd, zentry **held, int release) {
  int closed = 0;
  for (int i = 0; i < n; i++) {
    if (!items[i].socket)
      continue;
    if (release) {
      if (held[i])
        closed |= entry_release(held[i], epfd, poll_events(&items[i]));
      held[i] = NULL;
    } else if (!(held[i] = entry_hold(items[i].socket, epfd, poll_events(&items[i])))) {
      poll_hold(items, i, epfd, held, 1);
      return GROVE_ENOMEM;
    }
  }
  return closed;
}

/* A fresh epoll fd holding each item's fd (a socket's ZMQ_FD). Returns the
 * fd or an error. */
static int poll_epoll(zmq_pollitem_t *items, int n) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    return -errno;
  for (int i = 0; i < n; i++) {
    int fd = items[i].fd;
    uint32_t want = 0;
    if (items[i].socket) {
      size_t len = sizeof fd;
      if (zmq_getsockopt(items[i].socket, ZMQ_FD, &fd, &len) != 0) {
        int rc = zerr(errno);
        close(ep);
        return rc;
      }
      want = EPOLLIN;
    } else {
      if (items[i].events & ZMQ_POLLIN)
        want |= EPOLLIN;
      if (items[i].events & ZMQ_POLLOUT)
        want |= EPOLLOUT;
      if (items[i].events & ZMQ_POLLPRI)
        want |= EPOLLPRI;
    }
    struct epoll_event ev = {.events = want, .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0)
      continue;
    if (errno == EEXIST) {
      /* The same fd twice: the zmq_poll that follows sorts the items out,
       * the epoll fd only needs the union of what they want. */
      ev.events |= EPOLLIN | EPOLLOUT | EPOLLPRI;
      if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == 0)
        continue;
    }
    /* EPERM: a regular file, always ready; zmq_poll already said so. */
    if (errno == EPERM)
      continue;
    int rc = -errno;
    close(ep);
    return rc;
  }
  return ep;
}

int grove_zmq_poll(zmq_pollitem_t *items, int n, double timeout) {
  if (!items || n <= 0 || isnan(timeout))
    return GROVE_EINVAL;
  grove_greenlet *g = grove_current();
  if (g && grove_cancelled(g))
    return GROVE_ECANCELED;
  double deadline = deadline_of(timeout);
  zentry *stack_held[16], **held = stack_held;
  if ((size_t)n > sizeof stack_held / sizeof stack_held[0]) {
    if (!(held = calloc((size_t)n, sizeof *held)))
      return GROVE_ENOMEM;
  } else {
    memset(stack_held, 0, sizeof stack_held);
  }
  int rc;
  for (;;) {
    rc = zmq_poll(items, n, 0);
    if (rc < 0) {
      if (errno == EINTR)
        continue;
      rc = zerr(errno);
      break;
    }
    /* zmq_poll read every socket's ZMQ_EVENTS. */
    for (int i = 0; i < n && reg_peek()->n; i++)
      if (items[i].socket)
        notify_after(items[i].socket);
    if (rc > 0)
      break;
    if (timeout == 0 || (deadline != INFINITY && now_s() >= deadline)) {
      rc = GROVE_ETIMEDOUT;
      break;
    }
    int ep = poll_epoll(items, n);
    if (ep < 0) {
      rc = ep;
      break;
    }
    if ((rc = poll_hold(items, n, ep, held, 0)) != 0) {
      close(ep);
      break;
    }
    double left = deadline == INFINITY ? GROVE_FOREVER : deadline - now_s();
    rc = left == GROVE_FOREVER || left > 0 ? grove_wait_readable(ep, left) : GROVE_ETIMEDOUT;
    int closed = poll_hold(items, n, ep, held, 1);
    close(ep);
    if (closed && rc != GROVE_ECANCELED) {
      rc = GROVE_ECLOSED;
      break;
    }
    if (rc == GROVE_ETIMEDOUT)
      continue; /* one last look: ready at the deadline counts */
    if (rc != 0 && rc != GROVE_ECLOSED)
      break;
  }
  if (held != stack_held)
    free(held);
  return rc;
}

/* ---- close --------------------------------------------------------------------------------------
 */

int grove_zmq_close(void *socket) {
  if (!socket)
    return GROVE_EINVAL;
  zentry *e = entry_find(socket);
  if (e) {
    e->closed = 1;
    poke(e);
  }
  return zmq_close(socket) == 0 ? 0 : zerr(errno);
}
