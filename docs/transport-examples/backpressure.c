/* backpressure.c - a bounded inbox holds back senders on other nodes as it
 * holds back local ones: node a's sends wait for node b's slow consumer, a
 * send with a timeout gives up with a dead letter while the consumer
 * pauses, and a call to another actor of b goes through meanwhile. (Node b
 * runs in a second thread.) */
#include <grove.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define N 200
#define BOUND 4

static char ep_a[64], ep_b[64];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- node b: a slow consumer with a 4-message inbox, and an echo -------------------------- */

struct slow {
  grove_actor base;
  int64_t got;
  size_t longest; /* the longest inbox it has seen */
};

static int slow_receive(grove_actor *self, grove_msg *msg) {
  struct slow *s = (struct slow *)self;
  if (grove_msg_is(msg, "item")) {
    s->got++;
    grove_sleep(0.0005); /* slow: 0.5 ms per item */
  } else if (grove_msg_is(msg, "pause")) {
    grove_sleep(0.3);
  } else if (grove_msg_is(msg, "report")) {
    grove_msg *r = grove_msg_new("report");
    grove_msg_pack_int(r, s->got);
    grove_msg_pack_int(r, (int64_t)s->longest);
    return grove_reply(msg, r);
  } else if (grove_msg_is(msg, "stop")) {
    grove_reply(msg, grove_msg_new("bye"));
    return GROVE_STOP;
  }
  grove_actor_stats st; /* what arrived while it worked included */
  grove_actor_stats_get(grove_actor_ref(self), &st);
  if (st.inbox_len > s->longest)
    s->longest = st.inbox_len;
  return 0;
}

static int echo_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  return grove_msg_is_call(msg) ? grove_reply(msg, grove_msg_new("echo")) : 0;
}

static const grove_actor_class slow_class = {
    .name = "slow", .size = sizeof(struct slow), .receive = slow_receive};
static const grove_actor_class echo_class = {
    .name = "echo", .size = sizeof(grove_actor), .receive = echo_receive};

static void *node_b(void *arg) {
  (void)arg;
  grove_actor_opts opts = {.name = "slow", .inbox_max = BOUND}, eopts = {.name = "echo"};
  grove_ref slow, echo;
  grove_actor_spawn_ex(&slow_class, NULL, &opts, &slow);
  grove_actor_spawn_ex(&echo_class, NULL, &eopts, &echo);
  grove_node_start("b", ep_b, NULL);
  grove_actor_wait(slow, NULL, 20);
  grove_actor_exit(echo, GROVE_EXIT_SHUTDOWN);
  grove_actor_wait(echo, NULL, 1);
  grove_node_stop();
  grove_hub_close();
  return NULL;
}

/* ---- node a ------------------------------------------------------------------------------- */

int main(void) {
  snprintf(ep_a, sizeof ep_a, "ipc:///tmp/grove-doc-bp-%d-a", (int)getpid());
  snprintf(ep_b, sizeof ep_b, "ipc:///tmp/grove-doc-bp-%d-b", (int)getpid());
  pthread_t t;
  pthread_create(&t, NULL, node_b, NULL);
  grove_node_start("a", ep_a, NULL);
  grove_node_connect("b", ep_b);
  grove_ref slow, echo;
  /* The answer to a lookup of a bounded actor comes with its credit: a
   * knows that slow takes BOUND messages before its first send. */
  grove_whereis_remote("b", "slow", &slow, 1.0);
  grove_whereis_remote("b", "echo", &echo, 1.0);

  /* 1. Plain sends: each waits for room in slow's inbox, as a local one would. */
  double t0 = now();
  for (int i = 0; i < N; i++)
    grove_send(slow, grove_msg_new("item"));
  double took = now() - t0;
  grove_msg *r;
  int64_t got = -1, longest = -1;
  if (grove_call(slow, grove_msg_new("report"), &r, 5.0) == 0) {
    grove_msg_int(r, 0, &got);
    grove_msg_int(r, 1, &longest);
    grove_msg_free(r);
  }
  printf("sends: %lld items arrived; the sender %s; its inbox (bound %d) held %s\n", (long long)got,
         took >= (N - 2 * BOUND) * 0.0005 ? "waited for the consumer" : "did not wait", BOUND,
         longest > BOUND ? "more than its bound" : "at most its bound");

  /* 2. While slow pauses, a send with a timeout gives up: a dead letter. */
  grove_send(slow, grove_msg_new("pause"));
  uint64_t dead = grove_dead_letter_count();
  int rc;
  while ((rc = grove_send_timeout(slow, grove_msg_new("item"), 0.05)) == 0) {
  }
  printf("a send with a timeout while the consumer paused: %s, %llu dead letter\n",
         grove_err_name(rc), (unsigned long long)(grove_dead_letter_count() - dead));

  /* 3. Meanwhile b's other actors are reachable: its inbox holds up only
   * the senders to slow. */
  t0 = now();
  rc = grove_call(echo, grove_msg_new("hi"), &r, 1.0);
  if (rc == 0)
    grove_msg_free(r);
  printf("a call to b's echo: %s, %s\n", rc == 0 ? "answered" : grove_err_name(rc),
         now() - t0 < 0.25 ? "before slow's pause was over" : "after slow's pause");

  grove_node_stats st;
  grove_node_stats_get(&st);
  printf("sends that waited for a remote inbox: %s\n", st.target_waits > 0 ? "some" : "none");
  grove_msg *bye;
  if (grove_call(slow, grove_msg_new("stop"), &bye, 5.0) == 0)
    grove_msg_free(bye);
  pthread_join(t, NULL);
  grove_node_stop();
  unlink(ep_a + 6);
  unlink(ep_b + 6);
  return grove_hub_close() == 0 ? 0 : 1;
}
