/* backpressure.c - a bounded inbox does not hold back senders on other
 * nodes: remote messages are always appended. Flow control across nodes is
 * up to the protocol: here, a window of calls. (Node b runs in a second
 * thread.) */
#include <grove.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define N 200
#define WINDOW 4

static char ep_a[64], ep_b[64];

/* ---- node b: a slow consumer with a 4-message inbox ------------------------------------- */

struct slow {
  grove_actor base;
  int64_t got;
  size_t longest; /* the longest inbox it has seen */
};

static int slow_receive(grove_actor *self, grove_msg *msg) {
  struct slow *s = (struct slow *)self;
  grove_actor_stats st;
  grove_actor_stats_get(grove_actor_ref(self), &st);
  if (st.inbox_len > s->longest)
    s->longest = st.inbox_len;
  if (grove_msg_is(msg, "item")) {
    s->got++;
    grove_sleep(0.0005); /* slow: 0.5 ms per item */
    return grove_msg_is_call(msg) ? grove_reply(msg, grove_msg_new("ok")) : 0;
  }
  if (grove_msg_is(msg, "report")) {
    grove_msg *r = grove_msg_new("report");
    grove_msg_pack_int(r, s->got);
    grove_msg_pack_int(r, (int64_t)s->longest);
    s->got = 0;
    s->longest = 0;
    return grove_reply(msg, r);
  }
  if (grove_msg_is(msg, "stop")) {
    grove_reply(msg, grove_msg_new("bye"));
    return GROVE_STOP;
  }
  return 0;
}

static const grove_actor_class slow_class = {
    .name = "slow", .size = sizeof(struct slow), .receive = slow_receive};

static void *node_b(void *arg) {
  (void)arg;
  grove_actor_opts opts = {.name = "slow", .inbox_max = WINDOW};
  grove_ref slow;
  grove_actor_spawn_ex(&slow_class, NULL, &opts, &slow);
  grove_node_start("b", ep_b, NULL);
  grove_actor_wait(slow, NULL, 10);
  grove_node_stop();
  grove_hub_close();
  return NULL;
}

/* ---- node a ------------------------------------------------------------------------------- */

static grove_ref slow;

static void report(const char *how) {
  grove_msg *r;
  int64_t got = -1, longest = -1;
  if (grove_call(slow, grove_msg_new("report"), &r, 5.0) == 0) {
    grove_msg_int(r, 0, &got);
    grove_msg_int(r, 1, &longest);
    grove_msg_free(r);
  }
  printf("%s: %lld items arrived; its inbox (bound %d) held %s\n", how, (long long)got, WINDOW,
         longest > WINDOW ? "more than its bound" : "at most its bound");
}

static void *one_call(void *arg) {
  grove_msg *r;
  if (grove_call(slow, grove_msg_new("item"), &r, 5.0) == 0)
    grove_msg_free(r);
  return arg;
}

int main(void) {
  snprintf(ep_a, sizeof ep_a, "ipc:///tmp/grove-doc-bp-%d-a", (int)getpid());
  snprintf(ep_b, sizeof ep_b, "ipc:///tmp/grove-doc-bp-%d-b", (int)getpid());
  pthread_t t;
  pthread_create(&t, NULL, node_b, NULL);
  grove_node_start("a", ep_a, NULL);
  grove_node_connect("b", ep_b);
  grove_whereis_remote("b", "slow", &slow, 1.0);

  /* 1. Plain sends: none waits, the remote inbox grows past its bound. */
  for (int i = 0; i < N; i++)
    grove_send(slow, grove_msg_new("item"));
  report("sends");

  /* 2. At most WINDOW calls in flight: the sender waits for the consumer. */
  grove_group *pool = grove_pool_new(WINDOW);
  for (int i = 0; i < N; i++) /* blocks while WINDOW calls run */
    grove_greenlet_release(grove_group_spawn(pool, one_call, NULL));
  grove_group_join(pool, GROVE_FOREVER);
  grove_group_free(pool);
  report("a window of calls");

  grove_msg *bye;
  if (grove_call(slow, grove_msg_new("stop"), &bye, 1.0) == 0)
    grove_msg_free(bye);
  pthread_join(t, NULL);
  grove_node_stop();
  unlink(ep_a + 6);
  unlink(ep_b + 6);
  return grove_hub_close() == 0 ? 0 : 1;
}
