/* tests/actor/test_observe.c - grove/observe.h in one process: the actors,
 * greenlets and hubs as grove_actors_list, grove_greenlets_list and
 * grove_hubs_info show them, on one hub and across two (grove_hubs_start),
 * with actors held inside their receive so that their inboxes have a known
 * length; messages and dead letters per hub, supervisors' restarts, the
 * loop-lag probe (on only while something observes), and bad arguments. */
#include "actor_util.h"

#include <stdatomic.h>

TEST_WATCHDOG(100)

/* ---- a blocker: its receive waits until `released` (polling, so that it
 * works on any hub), so that the messages after the first stay queued ---- */

static _Atomic int released;
static _Atomic int held; /* blockers inside their receive now */

static int blocker_receive(grove_actor *self, grove_msg *m) {
  (void)self;
  if (grove_msg_is(m, "hold")) {
    held++;
    double end = test_now() + 20;
    while (!released && test_now() < end)
      grove_sleep(0.002);
    held--;
  }
  if (grove_msg_is(m, "stop"))
    return GROVE_STOP;
  return 0;
}
static const grove_actor_class blocker_class = {
    .name = "blocker", .size = sizeof(grove_actor), .receive = blocker_receive};

static int idler_receive(grove_actor *self, grove_msg *m) {
  (void)self;
  return grove_msg_is(m, "stop") ? GROVE_STOP : 0;
}
static const grove_actor_class idler_class = {
    .name = "idler", .size = sizeof(grove_actor), .receive = idler_receive};

/* Wait (bounded) until `n` blockers are inside their receive. */
static void await_held(int n) {
  double end = test_now() + 10;
  while (held != n && test_now() < end)
    grove_sleep(0.002);
  CHECK_EQ(held, n);
}

static void send_n(grove_ref to, const char *tag, int n) {
  for (int i = 0; i < n; i++)
    CHECK_EQ(grove_send(to, grove_msg_new(tag)), 0);
}

static const grove_actor_info *find(const grove_actor_info *a, size_t n, grove_ref r) {
  for (size_t i = 0; i < n; i++)
    if (grove_ref_eq(a[i].ref, r))
      return &a[i];
  return NULL;
}

static uint64_t hub_messages(size_t hub) {
  grove_hub_info h[4];
  size_t n = 0;
  CHECK_EQ(grove_hubs_info(h, 4, &n), 0);
  return hub < n ? h[hub].messages : 0;
}

/* ---- one hub ------------------------------------------------------------------------------ */

static void test_one_hub(void) {
  released = 0;
  grove_actor_opts bo = {.name = "blk", .inbox_max = 50};
  grove_ref blk, idle;
  CHECK_EQ(grove_actor_spawn_ex(&blocker_class, NULL, &bo, &blk), 0);
  idle = grove_actor_spawn(&idler_class, NULL);
  send_n(blk, "hold", 5); /* one inside receive, 4 waiting */
  await_held(1);

  grove_actor_info a[8];
  size_t n = 99, total = 99;
  CHECK_EQ(grove_actors_list(a, 8, &n, &total), 0);
  CHECK_EQ(n, 2);
  CHECK_EQ(total, 2);
  CHECK(grove_ref_eq(a[0].ref, blk)); /* the longest inbox first */
  CHECK_STR(a[0].name, "blk");
  CHECK_STR(a[0].cls, "blocker");
  CHECK_EQ(a[0].inbox, 4);
  CHECK_EQ(a[0].inbox_max, 50);
  CHECK_EQ(a[0].received, 0);
  CHECK_EQ(a[0].hub, 0);
  CHECK_STR(grove_actor_state_name(a[0].state), "waiting");
  CHECK(grove_ref_eq(a[1].ref, idle));
  CHECK_STR(a[1].name, "");
  CHECK_STR(a[1].cls, "idler");
  CHECK_EQ(a[1].inbox, 0);
  CHECK_EQ(a[1].inbox_max, 0);
  CHECK_STR(grove_actor_state_name(a[1].state), "idle");

  /* counting only, and a list cut to 1: the longest */
  CHECK_EQ(grove_actors_list(NULL, 0, &n, &total), 0);
  CHECK_EQ(n, 0);
  CHECK_EQ(total, 2);
  CHECK_EQ(grove_actors_list(a, 1, &n, &total), 0);
  CHECK_EQ(n, 1);
  CHECK(grove_ref_eq(a[0].ref, blk));

  grove_hub_info h[2];
  CHECK_EQ(grove_hubs_info(h, 2, &n), 0);
  CHECK_EQ(n, 1);
  CHECK_EQ(h[0].index, 0);
  CHECK_EQ(h[0].actors, 2);
  CHECK_EQ(h[0].greenlets, 0);   /* actors' greenlets are the library's */
  CHECK_EQ(h[0].loop_lag_ms, 0); /* nothing observes: no probe */
  uint64_t before = h[0].messages, dl = h[0].dead_letters;

  released = 1;
  await_held(0);
  double end = test_now() + 10;
  while (hub_messages(0) < before + 5 && test_now() < end)
    grove_sleep(0.002);
  CHECK_EQ(hub_messages(0), before + 5);
  CHECK_EQ(grove_actors_list(a, 8, &n, &total), 0);
  const grove_actor_info *b = find(a, n, blk);
  CHECK(b != NULL);
  if (b) {
    CHECK_EQ(b->received, 5);
    CHECK_EQ(b->inbox, 0);
  }

  /* an actor that ends keeps its messages in the hub's count; a message to
   * it afterwards is a dead letter of the hub */
  send_tag(blk, "stop");
  await_end(blk);
  CHECK_EQ(hub_messages(0), before + 6);
  grove_send(blk, grove_msg_new("late"));
  CHECK_EQ(grove_hubs_info(h, 2, &n), 0);
  CHECK_EQ(h[0].dead_letters, dl + 1);
  CHECK_EQ(h[0].actors, 1);
  end_actor(idle);
}

/* ---- greenlets ---------------------------------------------------------------------------- */

static void *sleeper(void *arg) {
  (void)arg;
  grove_sleep(10);
  return NULL;
}

static void test_greenlets(void) {
  grove_spawn_opts o = {.name = "sleeper-1"};
  grove_greenlet *g = grove_spawn_ex(sleeper, NULL, &o);
  grove_greenlet *g2 = grove_spawn(sleeper, NULL);
  grove_sleep(0.01);
  grove_greenlet_info gl[8];
  size_t n = 0, total = 0;
  CHECK_EQ(grove_greenlets_list(gl, 8, &n, &total), 0);
  CHECK_EQ(n, 2);
  CHECK_EQ(total, 2);
  CHECK_STR(gl[0].name, "sleeper-1");
  CHECK_STR(grove_greenlet_state_name(gl[0].state), "blocked");
  CHECK(strlen(gl[0].waiting) > 0);
  CHECK_EQ(gl[1].id, grove_greenlet_id(g2));
  CHECK_EQ(gl[0].hub, 0);
  grove_hub_info h;
  CHECK_EQ(grove_hubs_info(&h, 1, &n), 0);
  CHECK_EQ(h.greenlets, 2);
  CHECK_EQ(grove_greenlets_list(gl, 1, &n, &total), 0);
  CHECK_EQ(n, 1);
  CHECK_EQ(total, 2);
  grove_kill(g, 1);
  grove_kill(g2, 1);
  grove_greenlet_release(g);
  grove_greenlet_release(g2);
  CHECK_EQ(grove_greenlets_list(gl, 8, &n, &total), 0);
  CHECK_EQ(total, 0);
}

/* ---- two hubs ----------------------------------------------------------------------------- */

static void test_two_hubs(void) {
  released = 0;
  CHECK_EQ(grove_hubs_start(2), 0);
  grove_ref far, near, quiet;
  grove_actor_opts fo = {.name = "far"};
  CHECK_EQ(grove_actor_spawn_on(1, &blocker_class, NULL, &fo, &far), 0);
  CHECK_EQ(grove_actor_spawn_on(0, &blocker_class, NULL, NULL, &near), 0);
  CHECK_EQ(grove_actor_spawn_on(1, &idler_class, NULL, NULL, &quiet), 0);
  send_n(far, "hold", 7);  /* 6 waiting on hub 1 */
  send_n(near, "hold", 3); /* 2 waiting on hub 0 */
  await_held(2);
  /* the sends to hub 1 are pushed: wait until hub 1 has queued them all */
  grove_actor_info a[8];
  size_t n = 0, total = 0;
  double end = test_now() + 10;
  do {
    CHECK_EQ(grove_actors_list(a, 8, &n, &total), 0);
  } while ((n < 1 || a[0].inbox != 6) && test_now() < end && grove_sleep(0.002) == 0);
  CHECK_EQ(n, 3);
  CHECK_EQ(total, 3);
  CHECK(grove_ref_eq(a[0].ref, far));
  CHECK_EQ(a[0].hub, 1);
  CHECK_EQ(a[0].inbox, 6);
  CHECK_STR(a[0].name, "far");
  CHECK_STR(grove_actor_state_name(a[0].state), "waiting");
  CHECK(grove_ref_eq(a[1].ref, near));
  CHECK_EQ(a[1].hub, 0);
  CHECK_EQ(a[1].inbox, 2);
  CHECK(grove_ref_eq(a[2].ref, quiet));
  CHECK_EQ(a[2].hub, 1);
  CHECK_EQ(a[2].inbox, 0);
  /* the best of two hubs cut to 2 */
  CHECK_EQ(grove_actors_list(a, 2, &n, &total), 0);
  CHECK_EQ(n, 2);
  CHECK_EQ(total, 3);
  CHECK(grove_ref_eq(a[0].ref, far) && grove_ref_eq(a[1].ref, near));

  grove_hub_info h[4];
  CHECK_EQ(grove_hubs_info(h, 4, &n), 0);
  CHECK_EQ(n, 2);
  CHECK_EQ(h[0].index, 0);
  CHECK_EQ(h[1].index, 1);
  CHECK_EQ(h[0].actors, 1);
  CHECK_EQ(h[1].actors, 2);
  CHECK_EQ(h[1].greenlets, 0); /* the snapshot itself runs no greenlet there */
  uint64_t m0 = h[0].messages, m1 = h[1].messages;
  /* a cap smaller than the hubs */
  CHECK_EQ(grove_hubs_info(h, 1, &n), 0);
  CHECK_EQ(n, 1);

  released = 1;
  await_held(0);
  end = test_now() + 10;
  while ((hub_messages(0) < m0 + 3 || hub_messages(1) < m1 + 7) && test_now() < end)
    grove_sleep(0.002);
  CHECK_EQ(hub_messages(0), m0 + 3);
  CHECK_EQ(hub_messages(1), m1 + 7);
  CHECK_EQ(grove_actors_list(a, 8, &n, &total), 0);
  const grove_actor_info *f = find(a, n, far);
  CHECK(f != NULL);
  if (f)
    CHECK_EQ(f->received, 7);

  /* a greenlet on hub 1 shows with its hub */
  grove_greenlet_info gl[4];
  CHECK_EQ(grove_greenlets_list(gl, 4, &n, &total), 0);
  CHECK_EQ(total, 0);

  end_actor(near);
  CHECK_EQ(grove_hubs_stop(5), 0);
}

/* ---- supervisors' restarts ------------------------------------------------------------------ */

static int crasher_receive(grove_actor *self, grove_msg *m) {
  (void)self;
  return grove_msg_is(m, "crash") ? GROVE_EFAILED : 0;
}
static const grove_actor_class crasher_class = {
    .name = "crasher", .size = sizeof(grove_actor), .receive = crasher_receive};

static void test_restarts(void) {
  CHECK_EQ(grove_hubs_start(2), 0);
  grove_child_spec spec = {.id = "c", .cls = &crasher_class, .hub = GROVE_HUB(1)};
  grove_supervisor_opts so = {.intensity = 10, .period = 5};
  grove_ref sup, child;
  CHECK_EQ(grove_supervisor_start(&so, &spec, 1, &sup), 0);
  for (int i = 0; i < 2; i++) {
    CHECK_EQ(grove_supervisor_which_child(sup, "c", &child), 0);
    send_tag(child, "crash");
    await_end(child);
    double end = test_now() + 5;
    grove_ref now = child;
    while (grove_ref_eq(now, child) && test_now() < end) {
      grove_sleep(0.002);
      grove_supervisor_which_child(sup, "c", &now);
    }
  }
  grove_hub_info h[2];
  size_t n;
  CHECK_EQ(grove_hubs_info(h, 2, &n), 0);
  CHECK_EQ(h[0].restarts, 2); /* the supervisor's hub counts them */
  CHECK_EQ(h[1].restarts, 0);
  end_actor(sup);
  CHECK_EQ(grove_hubs_stop(5), 0);
}

/* ---- the loop-lag probe --------------------------------------------------------------------- */

static void test_loop_lag(void) {
  grove_hub_info h;
  size_t n;
  CHECK_EQ(grove_hubs_info(&h, 1, &n), 0);
  CHECK_EQ(h.loop_lag_ms, 0);
  grove_metrics *m;
  CHECK_EQ(grove_metrics_start("127.0.0.1", 0, &m), 0);
  CHECK(grove_metrics_port(m) > 0);
  grove_sleep(0.25);
  /* hold the hub for half a second without yielding: the probe, due every
   * 200 ms, fires that much late */
  double t = test_now();
  while (test_now() - t < 0.5) {
  }
  grove_sleep(0.05);
  CHECK_EQ(grove_hubs_info(&h, 1, &n), 0);
  printf("     lag after a 500 ms busy loop: %.1f ms\n", h.loop_lag_ms);
  CHECK(h.loop_lag_ms >= 100 && h.loop_lag_ms < 5000);
  CHECK_EQ(grove_metrics_stop(m), 0);
  /* nothing observes any more: the probe stops at its next firing */
  grove_sleep(0.3);
  CHECK_EQ(grove_hubs_info(&h, 1, &n), 0);
  CHECK_EQ(h.loop_lag_ms, 0);
}

/* ---- bad arguments, no node ---------------------------------------------------------------- */

static void test_bad_args(void) {
  size_t n = 7, total = 7;
  CHECK_EQ(grove_actors_list(NULL, 3, &n, &total), GROVE_EINVAL);
  CHECK_EQ(n, 0);
  CHECK_EQ(grove_greenlets_list(NULL, 3, NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_hubs_info(NULL, 3, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_hubs_info(NULL, 0, &n), 0);
  CHECK_EQ(n, 0);
  CHECK_EQ(grove_peers_info(NULL, 2, NULL), GROVE_EINVAL);
  grove_peer_info p;
  CHECK_EQ(grove_peers_info(&p, 1, &n), 0); /* no node: no peers */
  CHECK_EQ(n, 0);
  CHECK_EQ(grove_introspect_start(), GROVE_ENOENT);
  CHECK_EQ(grove_introspect_stop(), GROVE_ENOENT);
  CHECK_STR(grove_actor_state_name(99), "?");
  CHECK_STR(grove_peer_state_name(1), "up");
  grove_metrics *m = (grove_metrics *)1;
  CHECK_EQ(grove_metrics_start("127.0.0.1", 70000, &m), GROVE_EINVAL);
  CHECK(m == NULL);
  CHECK_EQ(grove_metrics_render(NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_metrics_stop(NULL), 0);
}

TEST_MAIN(TEST(test_one_hub), TEST(test_greenlets), TEST(test_two_hubs), TEST(test_restarts),
          TEST(test_loop_lag), TEST(test_bad_args))
