/* hub/io/io.c - fd watchers: the hub's side of every cooperative I/O call, and
 * grove_getaddrinfo.
 *
 * gevent's model: try the system call; if it would block, wait on the fd's
 * watcher, and try again when the loop says the fd is ready. libuv allows one
 * uv_poll_t per fd and loop, so the hub keeps a table fd -> grove__io and all
 * waits on one fd share it.
 *
 * A socket's watcher stays registered between waits ("owned"): a greenlet
 * that reads, answers and reads again finds the interest already in epoll and
 * pays no epoll_ctl. Interest that fires while nobody waits is dropped then
 * (epoll is level-triggered in libuv, so keeping it would spin). A watcher
 * for a bare fd lives only while someone waits: grove cannot know when the
 * caller closes that fd, and a registration must never outlive its fd.
 *
 * The handle is ref'd only while greenlets wait, so an idle socket does not
 * keep the hub's loop alive (LoopExit comes as with gevent).
 *
 * Closing a watcher (a socket's close, grove_fd_cancel_wait on a bare fd,
 * the last waiter leaving a bare fd) gives its handle back to libuv at
 * once, while the woken waiters still hold the struct (nwait), and the
 * owner is freed when both have let go. Not later: libuv's close of a poll
 * handle removes the fd from epoll by number (EPOLL_CTL_DEL), so a close
 * deferred until the woken waiters have run removed the registration of a
 * newer watcher for the same number -- the bare fd waited on again, or a
 * socket given the number -- whenever the hub polled in between (its turn
 * over, those waiters still queued): the fd's readiness was never reported
 * to the new waiters (tests/hub/test_fd.c test_wait_again_after_cancel_wait).
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

/* ---- the fd table ------------------------------------------------------------------ */

static grove__io *table_get(grove_hub *hub, int fd) {
  return (size_t)fd < hub->io_cap ? hub->io[fd] : NULL;
}

static int table_set(grove_hub *hub, int fd, grove__io *io) {
  if ((size_t)fd >= hub->io_cap) {
    size_t n = hub->io_cap ? hub->io_cap : 64;
    while (n <= (size_t)fd)
      n *= 2;
    grove__io **t = realloc(hub->io, n * sizeof *t);
    if (!t)
      return GROVE_ENOMEM;
    memset(t + hub->io_cap, 0, (n - hub->io_cap) * sizeof *t);
    hub->io = t;
    hub->io_cap = n;
  }
  hub->io[fd] = io;
  return 0;
}

/* ---- registration ------------------------------------------------------------------ */

static void poll_cb(uv_poll_t *p, int status, int events);

static int set_interest(grove__io *io, int events) {
  if (events == io->events)
    return 0;
  int rc = events ? uv_poll_start(&io->poll, events, poll_cb) : uv_poll_stop(&io->poll);
  if (rc == 0) {
    io->events = events;
    if (io->nwait == 0)
      uv_unref((uv_handle_t *)&io->poll);
  }
  return rc;
}

static int ensure_init(grove__io *io) {
  if (io->inited)
    return 0;
  grove__io *other = table_get(io->hub, io->fd);
  if (other && other != io)
    return GROVE_EEXIST; /* two sockets claim one fd: a caller's bug */
  int rc = uv_poll_init(&io->hub->loop, &io->poll, io->fd);
  if (rc)
    return rc;
  if ((rc = table_set(io->hub, io->fd, io)) != 0) {
    uv_close((uv_handle_t *)&io->poll, NULL);
    return rc;
  }
  io->poll.data = io;
  io->inited = 1;
  uv_unref((uv_handle_t *)&io->poll);
  return 0;
}

/* The owner goes once libuv and the waiters have let go. */
static void maybe_free(grove__io *io) {
  if (io->released && io->nwait == 0 && io->on_closed)
    io->on_closed(io);
}

static void closed_cb(uv_handle_t *h) {
  grove__io *io = h->data;
  io->released = 1;
  maybe_free(io);
}

void grove__io_init(grove__io *io, grove_hub *hub, int fd, int owned,
                    void (*on_closed)(grove__io *)) {
  memset(io, 0, sizeof *io);
  io->hub = hub;
  io->fd = fd;
  io->owned = (uint8_t)owned;
  io->on_closed = on_closed;
  grove__list_init(&io->readers);
  grove__list_init(&io->writers);
}

void grove__io_close(grove__io *io) {
  if (io->closed)
    return;
  io->closed = 1;
  /* Give the handle back now, while the fd is still ours: the fd is about
   * to be closed and its number reused, or waited on again by a new
   * watcher, and libuv's close takes the number out of epoll. */
  if (io->inited) {
    io->events = 0;
    if (table_get(io->hub, io->fd) == io)
      io->hub->io[io->fd] = NULL;
    uv_close((uv_handle_t *)&io->poll, closed_cb);
  } else {
    io->released = 1;
  }
  /* Waiters wake with GROVE_ECLOSED. They, and those already woken but not
   * yet run, still hold the struct (nwait): the last one to leave frees it
   * if libuv is done with the handle. */
  grove__wake_all(&io->readers, GROVE_ECLOSED);
  grove__wake_all(&io->writers, GROVE_ECLOSED);
  maybe_free(io);
}

/* A bare fd's watcher is freed once nobody waits. */
static void bare_closed(grove__io *io) { free(io); }

static void poll_cb(uv_poll_t *p, int status, int events) {
  grove__io *io = p->data;
  int fired = status < 0 ? (UV_READABLE | UV_WRITABLE) : events;
  if (fired & UV_DISCONNECT)
    fired |= UV_READABLE;
  /* Interest that fires while nobody waits is dropped (level-triggered
   * epoll would report it again at once); interest with waiters stays, so
   * a greenlet that reads, answers and waits again costs no epoll_ctl. */
  int idle = 0;
  if ((fired & UV_READABLE) && grove__list_empty(&io->readers))
    idle |= UV_READABLE;
  if ((fired & UV_WRITABLE) && grove__list_empty(&io->writers))
    idle |= UV_WRITABLE;
  /* Wake the waiters, in order: they run from the run queue, right after
   * this poll. */
  if (fired & UV_READABLE)
    grove__wake_all(&io->readers, 0);
  if (fired & UV_WRITABLE)
    grove__wake_all(&io->writers, 0);
  int want = io->events & ~idle;
  if (!io->owned && io->nwait == 0)
    want = 0;
  set_interest(io, want);
}

int grove__io_wait(grove__io *io, int event, uint64_t deadline, const char *what) {
  grove_hub *hub = io->hub;
  if (io->closed)
    return GROVE_ECLOSED;
  int rc = ensure_init(io);
  if (rc)
    return rc;
  if ((rc = set_interest(io, io->events | event)) != 0)
    return rc;
  if (io->nwait++ == 0)
    uv_ref((uv_handle_t *)&io->poll);
  rc = grove__wait_until(hub, event == UV_READABLE ? &io->readers : &io->writers, deadline, what,
                         io);
  if (io->closed) {
    /* Closed while we waited (or after we were woken, before we ran): the
     * handle is libuv's, only the struct is still ours. */
    io->nwait--;
    maybe_free(io);
    return rc ? rc : GROVE_ECLOSED; /* a kill or timeout that came first stands */
  }
  if (--io->nwait == 0) {
    uv_unref((uv_handle_t *)&io->poll);
    if (!io->owned)
      grove__io_close(io); /* a bare fd's watcher: nobody waits */
  }
  return rc;
}

/* ---- bare fds ----------------------------------------------------------------------- */

static int wait_fd(int fd, int event, double timeout) {
  if (fd < 0)
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  uint64_t deadline;
  int rc = grove__begin_wait(hub, timeout, &deadline);
  if (rc)
    return rc;
  if (timeout == 0) {
    struct pollfd p = {.fd = fd, .events = event == UV_READABLE ? POLLIN : POLLOUT};
    int n = poll(&p, 1, 0);
    if (n < 0)
      return -errno;
    if (p.revents & POLLNVAL)
      return -EBADF;
    return n > 0 ? 0 : GROVE_ETIMEDOUT;
  }
  grove__io *io = table_get(hub, fd);
  if (!io) {
    io = malloc(sizeof *io);
    if (!io)
      return GROVE_ENOMEM;
    grove__io_init(io, hub, fd, 0, bare_closed); /* lives while greenlets wait */
    if ((rc = ensure_init(io)) != 0) {
      free(io);
      return rc;
    }
  }
  return grove__io_wait(io, event, deadline, event == UV_READABLE ? "fd readable" : "fd writable");
}

int grove_wait_readable(int fd, double timeout) { return wait_fd(fd, UV_READABLE, timeout); }
int grove_wait_writable(int fd, double timeout) { return wait_fd(fd, UV_WRITABLE, timeout); }

int grove_fd_cancel_wait(int fd) {
  grove_hub *hub = grove__tls_hub;
  if (fd < 0)
    return GROVE_EINVAL;
  if (!hub)
    return 0; /* no hub: nobody can be waiting */
  grove__io *io = table_get(hub, fd);
  if (!io)
    return 0;
  int n = 0;
  for (grove__list *l = io->readers.next; l != &io->readers; l = l->next)
    n++;
  for (grove__list *l = io->writers.next; l != &io->writers; l = l->next)
    n++;
  if (io->owned) {
    /* A socket's watcher stays; only its waiters are told. */
    grove__wake_all(&io->readers, GROVE_ECLOSED);
    grove__wake_all(&io->writers, GROVE_ECLOSED);
  } else {
    grove__io_close(io);
  }
  return n;
}

/* ---- DNS -------------------------------------------------------------------------------- */

typedef struct {
  uv_getaddrinfo_t req;
  grove_greenlet *g; /* NULL once the waiter left */
  int status;
  struct addrinfo *res;
} gai_req;

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  gai_req *r = req->data;
  if (!r->g) {
    if (res)
      uv_freeaddrinfo(res);
    free(r);
    return;
  }
  r->status = status;
  r->res = res;
  grove_greenlet *g = r->g;
  r->g = NULL;
  grove__wake(g, 0);
}

int grove_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                      struct addrinfo **res, double timeout) {
  if (res)
    *res = NULL;
  if (!res || (!node && !service))
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  uint64_t deadline;
  int rc = grove__begin_wait(hub, timeout, &deadline);
  if (rc)
    return rc;
  grove_greenlet *g = hub->head.current;
  gai_req *r = calloc(1, sizeof *r);
  if (!r)
    return GROVE_ENOMEM;
  r->req.data = r;
  r->g = g;
  rc = uv_getaddrinfo(&hub->loop, &r->req, gai_cb, node, service, hints);
  if (rc) {
    free(r);
    return rc;
  }
  rc = timeout == 0 ? grove__wait(hub, NULL, 0, "getaddrinfo", r)
                    : grove__wait_until(hub, NULL, deadline, "getaddrinfo", r);
  if (rc == 0 && r->g == NULL) {
    rc = r->status;
    *res = r->res;
    free(r);
    return rc;
  }
  /* Timed out or killed: the request finishes in the background (it may be
   * running on a pool thread already) and frees itself. */
  r->g = NULL;
  uv_cancel((uv_req_t *)&r->req);
  return rc ? rc : GROVE_ECANCELED;
}

void grove_freeaddrinfo(struct addrinfo *res) {
  if (res)
    uv_freeaddrinfo(res);
}
