/* actor/watch.c - monitors held by plain greenlets (grove_monitor_to, and the
 * transport's grove_monitor_node_to): Erlang's erlang:monitor called from
 * something that is not a process, delivered into a grove_queue.
 *
 * Design notes.
 *
 * Every kind of monitor grove has - a local target, a target on another hub,
 * on another node, a node itself - already knows how to tell an *actor*: the
 * watcher is a ref, the notification a message, and the cross-hub queues and
 * the wire carry it. So a greenlet's watch is a tiny proxy actor (the class
 * "grove.watch", on the caller's hub) that holds the monitor as its watcher
 * and moves what it receives into the caller's queue, unchanged: the queue
 * gets the very GROVE_TAG_DOWN / GROVE_TAG_NODEDOWN / GROVE_TAG_NODEUP
 * messages an actor would get. Nothing in the monitor machinery, the hubs'
 * queues or the protocol had to change, and a remote node cannot tell a
 * greenlet's monitor from an actor's.
 *
 * Records: each watch is a grove__watch in the hub's actor system
 * (sys->watches), found by its id by grove_demonitor. The proxy points to
 * its record and the record names the proxy by ref (never by pointer), so
 * whichever ends first - a demonitor, the down message, the proxy (a hub
 * stopping) - unhooks the record and clears the other side's link: no
 * dangling pointer either way.
 *
 * Demonitor is synchronous for the caller: the record goes at once (the
 * queue gets nothing more, so it may be freed right after), and the proxy
 * is ended with an exit signal; its end removes its monitor (telling the
 * target's hub or node, as for an actor that ends).
 *
 * A target watch is one-shot: the proxy ends after passing the down on. A
 * node watch lasts until grove_demonitor (nodes go down and come back).
 * A queue that is full drops the notification, counted and logged
 * (GROVE_LOG_DROP): a watch never blocks the hub.
 */
#include "actor_internal.h"

#include <grove/log.h>

typedef struct grove__watch {
  struct grove__watch *next;
  uint64_t id;
  grove_ref proxy;
  grove_queue *q; /* the caller's */
  int node;       /* a node watch (lasts) rather than a target's (one-shot) */
} grove__watch;

typedef struct watch_actor {
  grove_actor base;
  grove__watch *w; /* NULL once the record is gone */
} watch_actor;

static void unhook(grove__actor_sys *sys, grove__watch *w) {
  for (grove__watch **pp = &sys->watches; *pp; pp = &(*pp)->next) {
    if (*pp == w) {
      *pp = w->next;
      return;
    }
  }
}

static int watch_receive(grove_actor *self, grove_msg *msg) {
  watch_actor *wa = (watch_actor *)self;
  grove__watch *w = wa->w;
  if (!w)
    return GROVE_STOP; /* demonitored: nothing more goes to the queue */
  int down = grove_msg_is(msg, GROVE_TAG_DOWN);
  if (w->node ? !(grove_msg_is(msg, "grove.nodedown") || grove_msg_is(msg, "grove.nodeup")) : !down)
    return 0; /* not a notification: nobody else knows this ref */
  if (down) {
    int64_t id = 0;
    if (grove_msg_int(msg, 0, &id) != 0 || (uint64_t)id != w->id)
      return 0;
  }
  grove__msg_taken(msg);
  if (grove_queue_put_nowait(w->q, msg) != 0) {
    grove_log_event ev = {.level = GROVE_LOG_WARN, .kind = GROVE_LOG_DROP, .count = 1};
    grove__log(&ev, "watch %llu: the queue is full: a '%s' notification was dropped",
               (unsigned long long)w->id, grove_msg_tag(msg));
    grove_msg_free(msg);
  }
  if (w->node)
    return 0;
  /* One-shot: the target ended. */
  grove__actor_sys *sys = grove__actor_sys_peek();
  if (sys)
    unhook(sys, w);
  free(w);
  wa->w = NULL;
  return GROVE_STOP;
}

static void watch_terminate(grove_actor *self, int reason) {
  (void)reason;
  watch_actor *wa = (watch_actor *)self;
  grove__actor_sys *sys = grove__actor_sys_peek();
  if (wa->w && sys)
    unhook(sys, wa->w);
  free(wa->w);
  wa->w = NULL;
}

static const grove_actor_class watch_class = {.name = "grove.watch",
                                              .size = sizeof(watch_actor),
                                              .receive = watch_receive,
                                              .terminate = watch_terminate};

int grove__watch_new(grove_queue *q, int node, grove_ref *proxy, uint64_t *id) {
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove__watch *w = calloc(1, sizeof *w);
  if (!w)
    return GROVE_ENOMEM;
  int rc = grove_actor_spawn_ex(&watch_class, NULL, NULL, &w->proxy);
  if (rc) {
    free(w);
    return rc;
  }
  grove__actor_set_quiet(w->proxy);
  watch_actor *wa = (watch_actor *)grove__actor_lookup(sys, w->proxy);
  wa->w = w;
  w->q = q;
  w->node = node;
  /* A node watch's id is the monitor sequence's too: ids never collide. */
  w->id = node ? grove__x_monitor_seq(sys) << 32 : 0;
  w->next = sys->watches;
  sys->watches = w;
  *proxy = w->proxy;
  *id = w->id;
  return 0;
}

/* The record of a watch, by id (NULL: none). */
static grove__watch *find(grove__actor_sys *sys, uint64_t id) {
  for (grove__watch *w = sys->watches; w; w = w->next)
    if (w->id == id)
      return w;
  return NULL;
}

int grove__watch_demonitor(grove__actor_sys *sys, uint64_t id) {
  grove__watch *w = find(sys, id);
  if (!w)
    return 0;
  unhook(sys, w);
  watch_actor *wa = (watch_actor *)grove__actor_lookup(sys, w->proxy);
  if (wa) {
    wa->w = NULL;
    grove_actor_exit(w->proxy, GROVE_EXIT_SHUTDOWN); /* its end removes its monitor */
  }
  free(w);
  return 1;
}

void grove__watch_cancel(uint64_t id) {
  grove__actor_sys *sys = grove__actor_sys_peek();
  if (sys)
    grove__watch_demonitor(sys, id);
}

int grove_monitor_to(grove_ref target, grove_queue *q, uint64_t *id) {
  if (id)
    *id = 0;
  if (!q)
    return GROVE_EINVAL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  grove_ref proxy;
  uint64_t wid;
  int rc = grove__watch_new(q, 0, &proxy, &wid);
  if (rc)
    return rc;
  grove__watch *w = sys->watches; /* just pushed */
  uint64_t mid = 0;
  rc = grove__monitor_as(sys, proxy, target, &mid);
  if (rc) {
    grove__watch_demonitor(sys, wid);
    return rc;
  }
  w->id = mid;
  if (id)
    *id = mid;
  return 0;
}
