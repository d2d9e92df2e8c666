/* failures.c - what a caller sees when something goes wrong across nodes:
 * an unknown node, a callee that never replies, one that ends without
 * replying, a stale ref, an error reply, and a node that stops answering
 * (heartbeat timeout) and comes back. Node "b" runs in a second thread. */
#include <grove.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define E_NOT_FOUND (-5001) /* an application's own error code */

static char ep_a[64], ep_b[64];
/* Short heartbeats so that the example runs in a second (defaults: 0.5 s, 2.5 s). */
static const grove_node_opts opts = {.heartbeat_interval = 0.1, .heartbeat_timeout = 0.3};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- node b ----------------------------------------------------------------------------- */

static int server_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  if (grove_msg_is(msg, "ignore")) /* a request never answered */
    return 0;
  if (grove_msg_is(msg, "quit")) /* ends without answering */
    return GROVE_STOP;
  if (grove_msg_is(msg, "lookup"))
    return grove_reply_error(msg, E_NOT_FOUND);
  if (grove_msg_is(msg, "freeze")) {
    usleep(600 * 1000); /* blocks the whole thread: no heartbeats for 0.6 s */
    return grove_reply(msg, grove_msg_new("thawed"));
  }
  if (grove_msg_is(msg, "stats")) {
    grove_node_stats st;
    grove_node_stats_get(&st);
    grove_msg *r = grove_msg_new("stats");
    grove_msg_pack_int(r, (int64_t)st.unknown_target);
    return grove_reply(msg, r);
  }
  if (grove_msg_is(msg, "stop")) {
    grove_reply(msg, grove_msg_new("bye"));
    return GROVE_STOP;
  }
  return 0;
}

static const grove_actor_class server_class = {
    .name = "server", .size = sizeof(grove_actor), .receive = server_receive};

static void *node_b(void *arg) {
  (void)arg;
  grove_ref server, quitter;
  grove_actor_opts o1 = {.name = "server"}, o2 = {.name = "quitter"};
  grove_actor_spawn_ex(&server_class, NULL, &o1, &server);
  grove_actor_spawn_ex(&server_class, NULL, &o2, &quitter);
  grove_node_start("b", ep_b, &opts);
  grove_actor_wait(server, NULL, 10);
  grove_node_stop();
  grove_hub_close();
  return NULL;
}

/* ---- node a ----------------------------------------------------------------------------- */

static int call(grove_ref to, const char *tag, double timeout, double *took) {
  grove_msg *reply;
  double t0 = now_s();
  int rc = grove_call(to, grove_msg_new(tag), &reply, timeout);
  *took = now_s() - t0;
  if (rc == 0)
    grove_msg_free(reply);
  return rc;
}

int main(void) {
  snprintf(ep_a, sizeof ep_a, "ipc:///tmp/grove-doc-failures-%d-a", (int)getpid());
  snprintf(ep_b, sizeof ep_b, "ipc:///tmp/grove-doc-failures-%d-b", (int)getpid());
  pthread_t t;
  pthread_create(&t, NULL, node_b, NULL);
  grove_node_start("a", ep_a, &opts);
  grove_node_connect("b", ep_b);
  grove_ref server, quitter;
  grove_whereis_remote("b", "server", &server, 1.0);
  grove_whereis_remote("b", "quitter", &quitter, 1.0);
  double took;

  /* 1. A node this one is not connected to: an error at once, and a dead letter. */
  grove_ref elsewhere = {.node = grove_node_id("c"), .gen = 1, .id = 1};
  int rc = grove_send(elsewhere, grove_msg_new("hi"));
  printf("1. send to node c: %s (dead letters here: %llu)\n", grove_err_name(rc),
         (unsigned long long)grove_dead_letter_count());

  /* 2. A callee that never replies: the call's own timeout. */
  rc = call(server, "ignore", 0.2, &took);
  printf("2. call, never answered: %s %s\n", grove_err_name(rc),
         took >= 0.2 ? "after the call's 0.2 s" : "early");

  /* 3. A callee that ends without replying: GROVE_EEXITED at once, with
   *    its exit reason, as a local call (node b answers for it). */
  grove_msg *none = NULL;
  int why = -1;
  double t0 = now_s();
  rc = grove_call_ex(quitter, grove_msg_new("quit"), &none, 5.0, &why);
  took = now_s() - t0;
  printf("3. call, callee ended: %s %s, reason %s\n", grove_err_name(rc),
         took < 0.5 ? "at once" : "late", grove_exit_reason_name(why));

  /* 4. A stale ref: node b answers at once that nobody is there. */
  rc = call(quitter, "quit", 1.0, &took);
  printf("4. call to an ended actor: %s %s\n", grove_err_name(rc), took < 0.1 ? "at once" : "late");
  rc = grove_send(quitter, grove_msg_new("hi")); /* a send is not answered: it is counted there */
  printf("   send to an ended actor: %s\n", grove_err_name(rc));

  /* 5. An error reply crosses as it is. */
  rc = call(server, "lookup", 1.0, &took);
  printf("5. call answered with an error: %d\n", rc);

  /* 6. Node b stops answering (its thread is blocked): after heartbeat_timeout
   *    it is down, and the call in progress fails; then it comes back. */
  rc = call(server, "freeze", 5.0, &took);
  printf("6. call while b is frozen: %s %s\n", grove_err_name(rc),
         took < 0.5 ? "within 0.5 s" : "late");
  rc = grove_node_wait_up("b", 3.0);
  printf("   b is up again: %s; the old refs still work (same process)\n", grove_err_name(rc));

  grove_msg *reply;
  int64_t unknown = -1;
  if (grove_call(server, grove_msg_new("stats"), &reply, 1.0) == 0) {
    grove_msg_int(reply, 0, &unknown);
    grove_msg_free(reply);
  }
  grove_node_stats st;
  grove_node_stats_get(&st);
  printf("node b counted %lld envelopes for actors it does not have; node a saw b down %llu "
         "time(s)\n",
         (long long)unknown, (unsigned long long)st.nodes_down);

  call(server, "stop", 1.0, &took);
  pthread_join(t, NULL);
  grove_node_stop();
  unlink(ep_a + 6);
  unlink(ep_b + 6);
  return grove_hub_close() == 0 ? 0 : 1;
}
