/* monitors.c - monitors, links and node monitors across nodes. An actor on
 * node "a" monitors and links to actors on node "b", and watches node b
 * itself; one of b's actors fails, then node b stops. (Node b runs in a
 * second thread to keep the example in one file.) */
#include <grove.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char ep_a[64], ep_b[64];

/* ---- node b: three workers, registered as w1, w2 and w3 ------------------------------ */

static int worker_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  if (grove_msg_is(msg, "crash"))
    return GROVE_EFAILED; /* ends the actor with this reason */
  if (grove_msg_is(msg, "halt"))
    return GROVE_STOP;
  return 0;
}

static const grove_actor_class worker_class = {
    .name = "worker", .size = sizeof(grove_actor), .receive = worker_receive};

static void *node_b(void *arg) {
  (void)arg;
  grove_ref w[3];
  for (int i = 0; i < 3; i++) {
    char name[8];
    snprintf(name, sizeof name, "w%d", i + 1);
    grove_actor_opts opts = {.name = name};
    grove_actor_spawn_ex(&worker_class, NULL, &opts, &w[i]); /* actors before the node: fine */
  }
  grove_node_start("b", ep_b, NULL);
  grove_actor_wait(w[2], NULL, 10); /* w3 ends on "halt": then this node stops */
  grove_node_stop();                /* peers see b down at once (it says goodbye) */
  grove_actor_exit(w[1], GROVE_EXIT_SHUTDOWN);
  grove_actor_wait(w[1], NULL, 1);
  grove_hub_close();
  return NULL;
}

/* ---- node a: the watcher ------------------------------------------------------------- */

static grove_ref w1, w2, w3;

static const char *name_of(grove_ref r) {
  return grove_ref_eq(r, w1) ? "w1" : grove_ref_eq(r, w2) ? "w2" : "?";
}

static int watcher_receive(grove_actor *self, grove_msg *msg) {
  grove_ref me = grove_actor_ref(self), who;
  int64_t id, reason;
  if (grove_msg_is(msg, "start")) {
    grove_whereis_remote("b", "w1", &w1, 1.0); /* receive may block */
    grove_whereis_remote("b", "w2", &w2, 1.0);
    grove_whereis_remote("b", "w3", &w3, 1.0);
    grove_monitor(w1, NULL);
    grove_monitor(w2, NULL);
    grove_link_actors(me, w1);
    grove_link_actors(me, w2);
    grove_monitor_node("b");
    printf("watcher: monitoring w1 and w2, linked to both, watching node b\n");
    return grove_send(w1, grove_msg_new("crash"));
  }
  if (grove_msg_is(msg, GROVE_TAG_DOWN)) { /* [monitor id, ref, reason] */
    grove_msg_int(msg, 0, &id);
    grove_msg_ref(msg, 1, &who);
    grove_msg_int(msg, 2, &reason);
    printf("watcher: %s %s %s\n", GROVE_TAG_DOWN, name_of(who),
           grove_exit_reason_name((int)reason));
    if (reason == GROVE_ENOENT) /* the monitor of an actor already gone */
      return grove_send(w3, grove_msg_new("halt"));
    return 0;
  }
  if (grove_msg_is(msg, GROVE_TAG_EXIT)) { /* [ref, reason]: we trap exits */
    grove_msg_ref(msg, 0, &who);
    grove_msg_int(msg, 1, &reason);
    printf("watcher: %s %s %s\n", GROVE_TAG_EXIT, name_of(who),
           grove_exit_reason_name((int)reason));
    if (grove_ref_eq(who, w1))
      grove_monitor(w1, NULL); /* w1 is gone: an immediate down, reason GROVE_ENOENT */
    return 0;
  }
  if (grove_msg_is(msg, GROVE_TAG_NODEDOWN)) { /* [node name] */
    const char *node;
    size_t len;
    grove_msg_str(msg, 0, &node, &len);
    printf("watcher: %s %.*s\n", GROVE_TAG_NODEDOWN, (int)len, node);
    return GROVE_STOP;
  }
  return 0;
}

static const grove_actor_class watcher_class = {
    .name = "watcher", .size = sizeof(grove_actor), .receive = watcher_receive};

int main(void) {
  snprintf(ep_a, sizeof ep_a, "ipc:///tmp/grove-doc-monitors-%d-a", (int)getpid());
  snprintf(ep_b, sizeof ep_b, "ipc:///tmp/grove-doc-monitors-%d-b", (int)getpid());
  pthread_t t;
  pthread_create(&t, NULL, node_b, NULL);
  grove_node_start("a", ep_a, NULL);
  int rc = grove_node_connect("b", ep_b); /* retries until b has bound */

  grove_actor_opts opts = {.trap_exits = true};
  grove_ref watcher;
  if (rc == 0)
    rc = grove_actor_spawn_ex(&watcher_class, NULL, &opts, &watcher);
  int reason = -1;
  if (rc == 0) {
    grove_send(watcher, grove_msg_new("start"));
    rc = grove_actor_wait(watcher, &reason, 5);
  }
  printf("main: watcher ended: %s\n", grove_exit_reason_name(reason));
  pthread_join(t, NULL);
  grove_node_stop();
  unlink(ep_a + 6); /* ipc:// leaves its socket file behind */
  unlink(ep_b + 6);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
