/* hub/io/server.c - StreamServer and DatagramServer (gevent.server).
 *
 * A server owns its socket and an acceptor greenlet. Each connection gets a
 * handler greenlet (spawned into the caller's pool when there is one, so a
 * full pool stops the accepting, as gevent's pool-backed servers do). The
 * server tracks its handlers itself, through a waiter in each handler's
 * links: the connection is closed and forgotten when the handler ends,
 * however it ends (return, grove_exit, kill).
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define GROVE__MAGIC_SERVER 0x53525652u

typedef struct conn {
  grove__waiter done; /* in the handler's links */
  grove__list link;   /* srv->conns */
  grove_server *srv;
  grove_socket *sock;
  grove_greenlet *g;
} conn;

struct grove_server {
  uint32_t magic;
  grove_hub *hub;
  grove_socket *sock;
  grove_stream_handler handler;
  grove_datagram_handler dhandler;
  void *arg;
  grove_group *pool;
  grove_greenlet *acceptor;
  grove_event *idle;    /* set when no handler runs */
  grove_event *stopped; /* set once stopped */
  grove__list conns;
  size_t nconns;
  uint8_t free_pending; /* grove_server_free from a handler: the last one frees */
  uint64_t accepted;
  int port;
  uint8_t started, stopping;
};

static int check(grove_server *srv) {
  if (!srv || srv->magic != GROVE__MAGIC_SERVER)
    return GROVE_EINVAL;
  return grove__owned(srv->hub) ? 0 : GROVE_EPERM;
}

static void server_release(grove_server *srv);

static grove_greenlet *conn_ended(grove__waiter *w, void *source) {
  (void)source;
  conn *c = grove__container_of(w, conn, done);
  grove_server *srv = c->srv;
  grove__list_remove(&c->link);
  grove_socket_close(c->sock);
  grove_greenlet_release(c->g);
  free(c);
  if (--srv->nconns == 0) {
    grove_event_set(srv->idle);
    if (srv->free_pending)
      server_release(srv);
  }
  return NULL;
}

static void *conn_main(void *arg) {
  conn *c = arg;
  c->srv->handler(c->sock, c->srv->arg);
  return NULL;
}

/* Start a handler for a new connection. Blocks while the pool is full. */
static int handle(grove_server *srv, grove_socket *sock) {
  conn *c = calloc(1, sizeof *c);
  if (!c)
    return GROVE_ENOMEM;
  c->srv = srv;
  c->sock = sock;
  grove_greenlet *g =
      srv->pool ? grove_group_spawn(srv->pool, conn_main, c) : grove_spawn(conn_main, c);
  if (!g) {
    free(c);
    return GROVE_ENOMEM;
  }
  c->g = g;
  c->done.fn = conn_ended;
  grove__list_push(&srv->conns, &c->link);
  if (srv->nconns++ == 0)
    grove_event_clear(srv->idle);
  grove__rawlink(g, &c->done);
  return 0;
}

static void *accept_loop(void *arg) {
  grove_server *srv = arg;
  double backoff = 0.005;
  for (;;) {
    if (srv->pool) {
      /* gevent: a full pool stops the accepting until a handler ends. */
      int rc = grove_pool_wait_available(srv->pool, GROVE_FOREVER);
      if (rc && rc != GROVE_EINVAL)
        break;
    }
    grove_socket *c;
    int rc = grove_socket_accept(srv->sock, &c, GROVE_FOREVER);
    if (rc == GROVE_ECANCELED || rc == GROVE_ECLOSED || rc == GROVE_ELOOPEXIT)
      break;
    if (rc) {
      /* EMFILE and friends: say so, back off, keep serving. */
      grove_logf(GROVE_LOG_WARN, "server on port %d: accept: %s", srv->port, grove_strerror(rc));
      if (grove_sleep(backoff) != 0)
        break;
      backoff = backoff < 0.5 ? backoff * 2 : backoff;
      continue;
    }
    backoff = 0.005;
    srv->accepted++;
    if ((rc = handle(srv, c)) != 0) {
      grove_socket_close(c);
      if (rc == GROVE_ECANCELED)
        break;
    }
  }
  return NULL;
}

static void *datagram_loop(void *arg) {
  grove_server *srv = arg;
  char *buf = malloc(65536);
  if (!buf)
    return NULL;
  for (;;) {
    struct sockaddr_storage from;
    socklen_t fl;
    ssize_t n = grove_socket_recvfrom(srv->sock, buf, 65536, &from, &fl, GROVE_FOREVER);
    if (n == GROVE_ECANCELED || n == GROVE_ECLOSED || n == GROVE_ELOOPEXIT)
      break;
    if (n < 0) {
      if (grove_sleep(0.005) != 0)
        break;
      continue;
    }
    srv->accepted++;
    srv->dhandler(srv->sock, buf, (size_t)n > 65536 ? 65536 : (size_t)n, (struct sockaddr *)&from,
                  fl, srv->arg);
  }
  free(buf);
  return NULL;
}

static int server_new(grove_socket *sock, void *arg, grove_group *pool, grove_server **out) {
  if (!out || grove_socket_fd(sock) < 0)
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  grove_server *srv = calloc(1, sizeof *srv);
  if (!srv)
    return GROVE_ENOMEM;
  srv->idle = grove_event_new();
  srv->stopped = grove_event_new();
  if (!srv->idle || !srv->stopped) {
    grove_event_free(srv->idle);
    grove_event_free(srv->stopped);
    free(srv);
    return GROVE_ENOMEM;
  }
  grove_event_set(srv->idle);
  srv->magic = GROVE__MAGIC_SERVER;
  srv->hub = hub;
  srv->sock = sock;
  srv->arg = arg;
  srv->pool = pool;
  srv->port = grove_socket_port(sock);
  grove__list_init(&srv->conns);
  *out = srv;
  return 0;
}

int grove_stream_server_new(grove_socket *listener, grove_stream_handler handler, void *arg,
                            grove_group *pool, grove_server **out) {
  if (!handler)
    return GROVE_EINVAL;
  int rc = server_new(listener, arg, pool, out);
  if (rc == 0)
    (*out)->handler = handler;
  return rc;
}

int grove_datagram_server_new(grove_socket *sock, grove_datagram_handler handler, void *arg,
                              grove_server **out) {
  if (!handler)
    return GROVE_EINVAL;
  int rc = server_new(sock, arg, NULL, out);
  if (rc == 0)
    (*out)->dhandler = handler;
  return rc;
}

int grove_server_start(grove_server *srv) {
  int rc = check(srv);
  if (rc)
    return rc;
  if (srv->stopping)
    return GROVE_ECLOSED;
  if (srv->started)
    return 0;
  grove_spawn_opts o = {.name = srv->handler ? "stream-server" : "datagram-server"};
  srv->acceptor = grove_spawn_ex(srv->handler ? accept_loop : datagram_loop, srv, &o);
  if (!srv->acceptor)
    return GROVE_ENOMEM;
  srv->started = 1;
  return 0;
}

int grove_server_serve_forever(grove_server *srv, double timeout) {
  int rc = grove_server_start(srv);
  if (rc)
    return rc;
  return grove_event_wait(srv->stopped, timeout);
}

int grove_server_stop(grove_server *srv, double timeout) {
  int rc = check(srv);
  if (rc)
    return rc;
  if (isnan(timeout))
    return GROVE_EINVAL;
  if (srv->stopping)
    return grove_event_wait(srv->stopped, GROVE_FOREVER) == 0 ? 0 : GROVE_EBUSY;
  /* A handler cannot wait for itself to end. */
  grove_greenlet *self = srv->hub->head.current;
  for (grove__list *l = srv->conns.next; l != &srv->conns; l = l->next)
    if (grove__container_of(l, conn, link)->g == self)
      return GROVE_EDEADLK;
  srv->stopping = 1;
  /* Stop accepting: end the acceptor, then close the listener. */
  if (srv->acceptor) {
    grove_kill(srv->acceptor, GROVE_FOREVER);
    grove_greenlet_release(srv->acceptor);
    srv->acceptor = NULL;
  }
  grove_socket_close(srv->sock);
  srv->sock = NULL;
  /* Let the running handlers finish, then kill the rest. */
  rc = 0;
  if (srv->nconns > 0 && grove_event_wait(srv->idle, timeout) != 0) {
    rc = GROVE_ETIMEDOUT;
    size_t n = 0;
    grove_greenlet **gs = malloc(srv->nconns * sizeof *gs);
    if (!gs)
      return GROVE_ENOMEM;
    for (grove__list *l = srv->conns.next; l != &srv->conns; l = l->next)
      gs[n++] = grove_greenlet_ref(grove__container_of(l, conn, link)->g);
    grove_killall(gs, n, GROVE_FOREVER);
    for (size_t i = 0; i < n; i++)
      grove_greenlet_release(gs[i]);
    free(gs);
  }
  /* The last handlers' links (conn_ended: close, forget) may still be
   * queued when killall returns: let them run. */
  while (srv->nconns > 0 && grove_sleep(0) == 0) {
  }
  grove_event_set(srv->stopped);
  return rc;
}

size_t grove_server_connections(const grove_server *srv) {
  return srv && srv->magic == GROVE__MAGIC_SERVER ? srv->nconns : 0;
}

uint64_t grove_server_accepted(const grove_server *srv) {
  return srv && srv->magic == GROVE__MAGIC_SERVER ? srv->accepted : 0;
}

int grove_server_port(const grove_server *srv) {
  return srv && srv->magic == GROVE__MAGIC_SERVER ? srv->port : GROVE_EINVAL;
}

static void server_release(grove_server *srv) {
  srv->magic = 0;
  /* serve_forever may still be waking up from `stopped`: an event with
   * waiters cannot be freed, so let them run first. */
  for (int i = 0; i < 1000 && grove_event_free(srv->stopped) == GROVE_EBUSY; i++)
    if (grove_sleep(0) != 0)
      break;
  grove_event_free(srv->idle);
  free(srv);
}

void grove_server_free(grove_server *srv) {
  if (!srv)
    return;
  int rc = check(srv);
  if (rc) {
    grove__misuse("grove_server_free", rc);
    return;
  }
  if (grove_server_stop(srv, 0) == GROVE_EDEADLK || srv->nconns > 0) {
    /* Called from one of its handlers (or from a killed greenlet, which
     * cannot wait for them): stop accepting now, free when the last
     * handler has ended. */
    srv->stopping = 1;
    if (srv->acceptor) {
      grove_kill_nowait(srv->acceptor);
      grove_greenlet_release(srv->acceptor);
      srv->acceptor = NULL;
    }
    grove_socket_close(srv->sock);
    srv->sock = NULL;
    grove_event_set(srv->stopped);
    srv->free_pending = 1;
    return;
  }
  server_release(srv);
}
