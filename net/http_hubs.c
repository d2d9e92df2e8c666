/* net/http_hubs.c - one HTTP server per hub, all accepting on one socket.
 *
 * Design notes. Each hub of the process (grove_hubs_start) runs its own
 * grove_http_server, made on that hub by a greenlet started there with
 * grove_hub_call_on, on its own descriptor of the one listening socket
 * (dup(2): the same open socket, so one accept queue). Every hub polls that
 * queue; the kernel wakes them all for a connection and the first to call
 * accept gets it, the others find the queue empty and wait again. So a
 * connection goes to a hub that is free to accept it: a hub busy running
 * handlers, or whose pool (max_connections) is full, simply does not take
 * new ones and the others do. SO_REUSEPORT would give each hub its own queue
 * and spread connections by a hash of their addresses instead, blind to how
 * busy a hub is, and a few long connections could all land on one hub; a
 * shared queue costs a wasted wake-up per hub and connection, which is
 * nothing next to serving it.
 *
 * A connection then lives wholly on the hub that accepted it (its greenlet,
 * its socket, its handler calls, its WebSocket), as on a single hub. The
 * servers share nothing but the handler's argument and a TLS context
 * (OpenSSL's SSL_CTX is safe to use from several threads once set up).
 *
 * Every per-hub operation (start, stop, stats, free) runs on the server's
 * own hub, through grove_hub_call_on; stop and free run on all hubs at once
 * (a greenlet per hub on the caller's hub waits for its hub's answer).
 */
#include "net.h"

#include <grove/hubs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct grove_http_hubs {
  size_t n;
  int port;
  grove_http_handler handler;
  void *arg;
  grove_http_config cfg;
  int *fds;                /* each hub's descriptor, until its server owns it */
  grove_http_server **srv; /* srv[i] lives on hub i */
  grove_greenlet *last;    /* the driver of the last operation (see op) */
};

typedef struct on_hub {
  grove_http_hubs *h;
  size_t i;
  void *(*fn)(void *); /* what to run on hub i */
  double timeout;
  int rc;
  grove_http_stats stats;
} on_hub;

/* On hub i: make and start its server on its descriptor. */
static void *start_on(void *arg) {
  on_hub *o = arg;
  grove_http_hubs *h = o->h;
  grove_socket *ls;
  int rc = h->fds[o->i] < 0 ? h->fds[o->i] : grove_socket_wrap(h->fds[o->i], &ls);
  if (rc) {
    if (h->fds[o->i] >= 0)
      close(h->fds[o->i]);
  } else if ((rc = grove_http_server_new(ls, h->handler, h->arg, &h->cfg, &h->srv[o->i])) == 0 &&
             (rc = grove_http_server_start(h->srv[o->i])) != 0) {
    grove_http_server_free(h->srv[o->i]);
    h->srv[o->i] = NULL;
  }
  h->fds[o->i] = -1; /* the socket (or the server) had it, and closed it on failure */
  o->rc = rc;
  return NULL;
}

static void *stop_on(void *arg) {
  on_hub *o = arg;
  o->rc = o->h->srv[o->i] ? grove_http_server_stop(o->h->srv[o->i], o->timeout) : 0;
  return NULL;
}

static void *free_on(void *arg) {
  on_hub *o = arg;
  grove_http_server_free(o->h->srv[o->i]);
  o->h->srv[o->i] = NULL;
  return NULL;
}

static void *stats_on(void *arg) {
  on_hub *o = arg;
  grove_http_server_stats(o->h->srv[o->i], &o->stats);
  return NULL;
}

/* One operation on every hub: a driver greenlet on the caller's hub starts a
 * greenlet per hub that waits for grove_hub_call_on, and waits for them all.
 * The caller only joins the driver: a caller killed meanwhile returns at
 * once and the driver finishes the operation alone (clean-up that must wait
 * cannot wait in a killed greenlet) and frees it; an operation waits for the
 * previous one to end, so a stop cut short by a kill still ends before the
 * free that follows it frees the servers. */
typedef struct op {
  grove_http_hubs *h;
  grove_greenlet *prev; /* the operation before this one, or NULL */
  bool orphan;          /* the caller gave up: the driver frees the op */
  bool then_free;       /* free h once done (grove_http_hubs_free) */
  on_hub o[];
} op;

static void *call_one(void *arg) {
  on_hub *o = arg;
  int rc = grove_hub_call_on(o->i, o->fn, o, NULL, GROVE_FOREVER);
  if (rc)
    o->rc = rc;
  return NULL;
}

static void free_hubs(grove_http_hubs *h) {
  grove_greenlet_release(h->last);
  free(h->fds);
  free(h->srv);
  free(h);
}

static void *drive(void *arg) {
  op *p = arg;
  grove_http_hubs *h = p->h;
  if (p->prev) {
    (void)grove_join(p->prev, GROVE_FOREVER);
    grove_greenlet_release(p->prev);
    p->prev = NULL;
  }
  grove_group *g = grove_group_new();
  for (size_t i = 0; i < h->n; i++) {
    grove_greenlet *c = g ? grove_group_spawn(g, call_one, &p->o[i]) : NULL;
    if (!c)
      p->o[i].rc = GROVE_ENOMEM;
    grove_greenlet_release(c);
  }
  if (g) {
    (void)grove_group_join(g, GROVE_FOREVER);
    grove_group_free(g);
  }
  if (p->then_free)
    free_hubs(h);
  if (p->orphan)
    free(p);
  return NULL;
}

/* Run fn(o[i]) on each hub (fn copes with a hub whose server failed to start);
 * returns the op, its o[i].rc each hub's answer, for the caller to free; or
 * NULL with *rc set (out of memory, or the caller was killed: the operation
 * goes on without it). */
static op *each_hub(grove_http_hubs *h, void *(*fn)(void *), double timeout, bool then_free,
                    int *rc) {
  op *p = calloc(1, sizeof *p + h->n * sizeof p->o[0]);
  if (!p) {
    *rc = GROVE_ENOMEM;
    return NULL;
  }
  p->h = h;
  p->then_free = then_free;
  for (size_t i = 0; i < h->n; i++) {
    p->o[i].h = h;
    p->o[i].i = i;
    p->o[i].timeout = timeout;
    p->o[i].fn = fn;
  }
  p->prev = h->last;
  grove_greenlet *d = grove_spawn(drive, p);
  if (!d) {
    p->prev = NULL;
    free(p);
    *rc = GROVE_ENOMEM;
    return NULL;
  }
  h->last = then_free ? NULL : grove_greenlet_ref(d);
  *rc = grove_join(d, GROVE_FOREVER);
  if (*rc && !grove_ready(d)) {
    p->orphan = true;
    p = NULL;
  }
  grove_greenlet_release(d);
  if (p)
    *rc = 0;
  return p;
}

int grove_http_serve_hubs(grove_socket *listener, grove_http_handler handler, void *arg,
                          const grove_http_config *cfg, grove_http_hubs **out) {
  if (out)
    *out = NULL;
  if (!listener || !handler || !out || (cfg && cfg->pool && grove_hub_count() > 1)) {
    grove_socket_close(listener);
    return GROVE_EINVAL;
  }
  size_t n = grove_hub_count();
  grove_http_hubs *h = calloc(1, sizeof *h);
  if (h) {
    h->fds = malloc(n * sizeof *h->fds);
    h->srv = calloc(n, sizeof *h->srv);
  }
  if (!h || !h->fds || !h->srv) {
    if (h)
      free_hubs(h);
    grove_socket_close(listener);
    return GROVE_ENOMEM;
  }
  h->n = n;
  h->handler = handler;
  h->arg = arg;
  if (cfg)
    h->cfg = *cfg;
  h->port = grove_socket_port(listener);
  for (size_t i = 0; i < n; i++) {
    h->fds[i] = fcntl(grove_socket_fd(listener), F_DUPFD_CLOEXEC, 0);
    if (h->fds[i] < 0)
      h->fds[i] = -errno; /* start_on reports it */
  }
  grove_socket_close(listener); /* each hub has its own descriptor of it now */
  int rc;
  op *p = each_hub(h, start_on, 0, false, &rc);
  if (!p && rc == GROVE_ENOMEM) { /* nothing ran: the descriptors are still here */
    for (size_t i = 0; i < n; i++)
      if (h->fds[i] >= 0)
        close(h->fds[i]);
  }
  for (size_t i = 0; p && !rc && i < n; i++)
    rc = p->o[i].rc;
  free(p);
  if (rc) {
    grove_http_hubs_free(h); /* after the start, if a killed caller left it running */
    return rc;
  }
  *out = h;
  return 0;
}

int grove_http_hubs_stop(grove_http_hubs *h, double timeout) {
  if (!h || timeout != timeout)
    return GROVE_EINVAL;
  int rc;
  op *p = each_hub(h, stop_on, timeout, false, &rc);
  /* the first hard error wins over GROVE_ETIMEDOUT (handlers were killed) */
  for (size_t i = 0; p && i < h->n; i++)
    if (p->o[i].rc && (!rc || rc == GROVE_ETIMEDOUT))
      rc = p->o[i].rc;
  free(p);
  return rc;
}

int grove_http_hubs_stats(grove_http_hubs *h, grove_http_stats *out, grove_http_stats *per_hub) {
  if (!h || !out)
    return GROVE_EINVAL;
  memset(out, 0, sizeof *out);
  if (per_hub)
    memset(per_hub, 0, h->n * sizeof *per_hub);
  int rc;
  op *p = each_hub(h, stats_on, 0, false, &rc);
  for (size_t i = 0; p && i < h->n; i++) {
    const grove_http_stats *s = &p->o[i].stats;
    out->connections += s->connections;
    out->requests += s->requests;
    out->bad_requests += s->bad_requests;
    out->timeouts += s->timeouts;
    out->too_large += s->too_large;
    out->headers_too_large += s->headers_too_large;
    out->unanswered += s->unanswered;
    out->write_errors += s->write_errors;
    out->tls_failures += s->tls_failures;
    out->upgrades += s->upgrades;
    if (per_hub)
      per_hub[i] = *s;
  }
  free(p);
  return rc;
}

size_t grove_http_hubs_count(const grove_http_hubs *h) { return h ? h->n : 0; }

int grove_http_hubs_port(const grove_http_hubs *h) { return h ? h->port : GROVE_EINVAL; }

void grove_http_hubs_free(grove_http_hubs *h) {
  if (!h)
    return;
  int rc;
  op *p = each_hub(h, free_on, 0, true, &rc);
  if (p || rc != GROVE_ENOMEM) {
    free(p); /* the driver freed h */
    return;
  }
  /* no memory for the driver: the servers are leaked rather than freed from
   * the wrong thread (their hubs' close reports them) */
  free_hubs(h);
}
