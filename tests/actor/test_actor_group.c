/* tests/actor/test_actor_group.c - actors in a Group or Pool (gevent.pool
 * holding actors): join, kill, size and a pool's bound count actors with
 * greenlets, in gevent's order.
 *
 * The orders asserted in test_pool_spawn_waits_gevent_order and
 * test_leaves_before_waiters are gevent 22.10's for the same program with
 * the actors written as Greenlet subclasses with a Queue inbox (the
 * tutorial's Actor): see the Python in each case's comment.
 */
#include "actor_util.h"

TEST_WATCHDOG(60)

typedef struct worker {
  grove_actor base;
  const char *name;
  int ms;
} worker;

typedef struct wspec {
  const char *name;
  int ms;
} wspec;

static int worker_init(grove_actor *self, void *arg) {
  worker *w = (worker *)self;
  const wspec *s = arg;
  w->name = s->name;
  w->ms = s->ms;
  test_log("start-%s", w->name);
  return 0;
}

static int worker_receive(grove_actor *self, grove_msg *msg) {
  worker *w = (worker *)self;
  if (grove_msg_is(msg, "stop")) {
    test_log("end-%s", w->name);
    return GROVE_STOP;
  }
  if (grove_msg_is(msg, "block")) { /* until cancelled */
    int rc = grove_sleep(30);
    test_log("%s-blocked=%s", w->name, grove_err_name(rc));
    return 0;
  }
  int rc = grove_sleep(w->ms / 1000.0);
  test_log("%s-did-%s=%d", w->name, grove_msg_tag(msg), rc);
  return 0;
}

static void worker_terminate(grove_actor *self, int reason) {
  test_log("term-%s=%s", ((worker *)self)->name, grove_exit_reason_name(reason));
}

static const grove_actor_class worker_class = {.name = "worker",
                                               .size = sizeof(worker),
                                               .init = worker_init,
                                               .receive = worker_receive,
                                               .terminate = worker_terminate};

static grove_group *pool;
static const wspec specs[] = {{"a0", 30}, {"a1", 10}, {"a2", 20}};

/* gevent:
 *   pool = Pool(2)
 *   def spawner():
 *     for i, ms in enumerate([30, 10, 20]):
 *       log('spawn a%d free=%d' % (i, pool.free_count()))
 *       a = Actor('a%d' % i, ms); pool.start(a)
 *       a.inbox.put('work'); a.inbox.put('stop')
 *       log('spawned a%d size=%d' % (i, len(pool)))
 *   gevent.spawn(spawner).join(); log('spawner done size=%d' % len(pool))
 *   pool.join(); log('joined size=%d' % len(pool)) */
static void *spawner(void *arg) {
  (void)arg;
  for (int i = 0; i < 3; i++) {
    test_log("spawn-a%d-free=%zu", i, grove_pool_free_count(pool));
    grove_ref a;
    CHECK_EQ(grove_group_spawn_actor(pool, &worker_class, (void *)&specs[i], NULL, &a), 0);
    CHECK_EQ(send_tag(a, "work"), 0);
    CHECK_EQ(send_tag(a, "stop"), 0);
    test_log("spawned-a%d-size=%zu", i, grove_group_size(pool));
  }
  return NULL;
}

static void test_pool_spawn_waits_gevent_order(void) {
  pool = grove_pool_new(2);
  grove_greenlet *g = grove_spawn(spawner, NULL);
  CHECK_EQ(grove_join(g, 5), 0);
  grove_greenlet_release(g);
  test_log("spawner-done-size=%zu", grove_group_size(pool));
  CHECK_EQ(grove_group_join(pool, 5), 0);
  test_log("joined-size=%zu", grove_group_size(pool));
  /* gevent's order, word for word (terminate is grove's own, after end) */
  CHECK_LOG("spawn-a0-free=2 spawned-a0-size=1 spawn-a1-free=1 spawned-a1-size=2 spawn-a2-free=0 "
            "start-a0 start-a1 a1-did-work=0 end-a1 term-a1=normal spawned-a2-size=2 start-a2 "
            "spawner-done-size=2 a0-did-work=0 end-a0 term-a0=normal a2-did-work=0 end-a2 "
            "term-a2=normal joined-size=0");
  CHECK_EQ(grove_group_free(pool), 0);
}

/* gevent:
 *   grp = Group(); a = Actor('b', 0); grp.start(a)
 *   w1 = spawn(lambda: (a.join(), log('waiter: size=%d' % len(grp))))
 *   w2 = spawn(lambda: (grp.join(), log('joiner: size=%d' % len(grp))))
 *   sleep(0); a.inbox.put('stop'); joinall([w1, w2])
 * gives: start b, end b, waiter: size=0, joiner: size=0. The actor has
 * left before its waiters run. */
static grove_group *grp;
static grove_ref b_ref;
static void *b_waiter(void *arg) {
  (void)arg;
  CHECK_EQ(grove_actor_wait(b_ref, NULL, 5), 0);
  test_log("waiter-size=%zu", grove_group_size(grp));
  return NULL;
}
static void *b_joiner(void *arg) {
  (void)arg;
  CHECK_EQ(grove_group_join(grp, 5), 0);
  test_log("joiner-size=%zu", grove_group_size(grp));
  return NULL;
}

static void test_leaves_before_waiters(void) {
  grp = grove_group_new();
  static const wspec b = {"b", 0};
  CHECK_EQ(grove_group_spawn_actor(grp, &worker_class, (void *)&b, NULL, &b_ref), 0);
  grove_greenlet *gs[2] = {grove_spawn(b_waiter, NULL), grove_spawn(b_joiner, NULL)};
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(send_tag(b_ref, "stop"), 0);
  CHECK_EQ(grove_joinall(gs, 2, 5), 0);
  CHECK_LOG("start-b end-b term-b=normal waiter-size=0 joiner-size=0");
  for (int i = 0; i < 2; i++)
    grove_greenlet_release(gs[i]);
  CHECK_EQ(grove_group_free(grp), 0);
}

static void *sleeper(void *arg) {
  int rc = grove_sleep(IVAL(arg) / 1000.0);
  test_log("greenlet=%s", grove_err_name(rc));
  return NULL;
}

/* join waits for actors and greenlets alike; size counts both. */
static void test_join_counts_actors_and_greenlets(void) {
  grove_group *g = grove_group_new();
  static const wspec s[] = {{"x", 0}, {"y", 0}};
  grove_ref x, y;
  CHECK_EQ(grove_group_spawn_actor(g, &worker_class, (void *)&s[0], NULL, &x), 0);
  CHECK_EQ(grove_actor_spawn_ex(&worker_class, (void *)&s[1], NULL, &y), 0);
  CHECK_EQ(grove_group_add_actor(g, y, 0), 0);
  grove_greenlet *gl = grove_group_spawn(g, sleeper, IARG(20));
  CHECK_EQ(grove_group_size(g), 3);
  CHECK(grove_group_contains_actor(g, x));
  CHECK(grove_group_contains_actor(g, y));
  CHECK_EQ(grove_group_join(g, 0.05), GROVE_ETIMEDOUT); /* the actors wait for mail */
  CHECK_EQ(grove_group_size(g), 2);                     /* the greenlet has left */
  CHECK_EQ(send_tag(x, "stop"), 0);
  CHECK_EQ(grove_group_join(g, 0.05), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_group_size(g), 1);
  CHECK_EQ(send_tag(y, "stop"), 0);
  CHECK_EQ(grove_group_join(g, 5), 0);
  CHECK_EQ(grove_group_size(g), 0);
  CHECK(!grove_group_contains_actor(g, x));
  grove_greenlet_release(gl);
  CHECK_EQ(grove_group_free(g), 0);
}

/* kill stops every member: an idle actor, one blocked in receive (its
 * sleep is cancelled), a greenlet; terminate runs with "killed"; kill
 * returns once all have left. */
static void test_kill_stops_actors(void) {
  grove_group *g = grove_group_new();
  static const wspec s[] = {{"idle", 0}, {"busy", 0}};
  grove_ref a, b;
  CHECK_EQ(grove_group_spawn_actor(g, &worker_class, (void *)&s[0], NULL, &a), 0);
  CHECK_EQ(grove_group_spawn_actor(g, &worker_class, (void *)&s[1], NULL, &b), 0);
  CHECK_EQ(send_tag(b, "block"), 0);
  CHECK_EQ(send_tag(b, "work"), 0); /* never processed: a dead letter */
  grove_greenlet *gl = grove_group_spawn(g, sleeper, IARG(30000));
  settle();
  test_log_reset();
  double t = test_now();
  CHECK_EQ(grove_group_kill(g, 5), 0);
  CHECK(test_now() - t < 1.0);
  CHECK_EQ(grove_group_size(g), 0);
  CHECK(!grove_actor_alive(a));
  CHECK(!grove_actor_alive(b));
  CHECK(grove_ready(gl));
  int reason = 0;
  CHECK_EQ(grove_actor_wait(b, &reason, 0), 0);
  CHECK_EQ(reason, GROVE_EXIT_KILLED);
  /* both actors' terminate ran; the busy one's sleep was cancelled */
  CHECK(strstr(test_log_buf, "term-idle=killed") != NULL);
  CHECK(strstr(test_log_buf, "busy-blocked=GROVE_ECANCELED") != NULL);
  CHECK(strstr(test_log_buf, "term-busy=killed") != NULL);
  CHECK(strstr(test_log_buf, "greenlet=GROVE_ECANCELED") != NULL);
  CHECK(strstr(test_log_buf, "busy-did") == NULL);
  grove_greenlet_release(gl);
  CHECK_EQ(grove_group_kill(g, 1), 0); /* empty: at once */
  CHECK_EQ(grove_group_free(g), 0);
}

/* An actor that traps exits cannot ignore the group's kill. */
static int trapper_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  test_log("trapper:%s", grove_msg_tag(msg));
  return 0;
}
static const grove_actor_class trapper_class = {
    .name = "trapper", .size = sizeof(grove_actor), .receive = trapper_receive};

static void test_kill_trapping_actor(void) {
  grove_group *g = grove_group_new();
  grove_actor_opts o = {.trap_exits = true};
  grove_ref t;
  CHECK_EQ(grove_group_spawn_actor(g, &trapper_class, NULL, &o, &t), 0);
  settle();
  CHECK_EQ(grove_group_kill(g, 5), 0);
  CHECK(!grove_actor_alive(t));
  CHECK_EQ(grove_group_free(g), 0);
}

/* A pool's bound holds across both kinds; add waits for room. */
static void test_pool_add_and_bound(void) {
  grove_group *p = grove_pool_new(2);
  static const wspec s[] = {{"p0", 0}, {"p1", 0}, {"p2", 0}};
  grove_ref a0, a1, a2;
  CHECK_EQ(grove_group_spawn_actor(p, &worker_class, (void *)&s[0], NULL, &a0), 0);
  grove_greenlet *gl = grove_group_spawn(p, sleeper, IARG(40));
  CHECK(grove_pool_full(p));
  CHECK_EQ(grove_pool_free_count(p), 0);
  CHECK_EQ(grove_actor_spawn_ex(&worker_class, (void *)&s[1], NULL, &a1), 0);
  CHECK_EQ(grove_group_add_actor(p, a1, 0.01), GROVE_ETIMEDOUT);
  CHECK(!grove_group_contains_actor(p, a1));
  double t = test_now();
  CHECK_EQ(grove_group_add_actor(p, a1, 5), 0); /* the greenlet's end makes room */
  CHECK(test_now() - t > 0.01);
  CHECK(grove_group_contains_actor(p, a1));
  CHECK_EQ(grove_group_size(p), 2);
  /* discard makes room at once; the actor runs on */
  CHECK_EQ(grove_group_discard_actor(p, a0), 0);
  CHECK_EQ(grove_group_discard_actor(p, a0), GROVE_ENOENT);
  CHECK(grove_actor_alive(a0));
  CHECK_EQ(grove_pool_free_count(p), 1);
  CHECK_EQ(grove_group_spawn_actor(p, &worker_class, (void *)&s[2], NULL, &a2), 0);
  CHECK_EQ(grove_group_kill(p, 5), 0);
  CHECK(grove_actor_alive(a0));
  CHECK(!grove_actor_alive(a1) && !grove_actor_alive(a2));
  end_actor(a0);
  grove_greenlet_release(gl);
  CHECK_EQ(grove_group_free(p), 0);
}

/* An actor whose init fails leaves its group (and its pool slot). */
static int failing_init(grove_actor *self, void *arg) {
  (void)self;
  (void)arg;
  return GROVE_EPROTO;
}
static const grove_actor_class failing_class = {.name = "failing",
                                                .size = sizeof(grove_actor),
                                                .init = failing_init,
                                                .receive = trapper_receive};

static void test_failed_init_leaves(void) {
  grove_group *p = grove_pool_new(1);
  grove_ref f;
  CHECK_EQ(grove_group_spawn_actor(p, &failing_class, NULL, NULL, &f), 0);
  CHECK_EQ(grove_group_size(p), 1);
  CHECK_EQ(grove_group_join(p, 5), 0);
  CHECK_EQ(grove_pool_free_count(p), 1);
  int reason = 0;
  CHECK_EQ(grove_actor_wait(f, &reason, 0), 0);
  CHECK_EQ(reason, GROVE_EPROTO);
  CHECK_EQ(grove_group_free(p), 0);
}

/* A spawner waiting for room in a full pool is killed: nothing is created. */
static void *pool_spawner(void *arg) {
  grove_ref r;
  static const wspec s = {"late", 0};
  int rc = grove_group_spawn_actor(arg, &worker_class, (void *)&s, NULL, &r);
  test_log("spawn=%s", grove_err_name(rc));
  CHECK(grove_ref_is_null(r));
  return NULL;
}

static void test_errors(void) {
  grove_group *g = grove_group_new(), *other = grove_group_new();
  grove_ref r;
  CHECK_EQ(grove_group_spawn_actor(NULL, &worker_class, NULL, NULL, &r), GROVE_EINVAL);
  CHECK_EQ(grove_group_spawn_actor(g, NULL, NULL, NULL, &r), GROVE_EINVAL);
  CHECK_EQ(grove_group_add_actor(g, GROVE_REF_NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_group_add_actor(g, (grove_ref){7, 1, 1}, 0), GROVE_EPERM); /* remote */
  static const wspec s = {"e", 0};
  CHECK_EQ(grove_group_spawn_actor(g, &worker_class, (void *)&s, NULL, &r), 0);
  CHECK_EQ(grove_group_add_actor(g, r, 0), GROVE_EEXIST);
  CHECK_EQ(grove_group_add_actor(other, r, 0), GROVE_EEXIST); /* one group at a time */
  CHECK_EQ(grove_group_discard_actor(other, r), GROVE_ENOENT);
  CHECK_EQ(grove_group_free(g), GROVE_EBUSY);
  /* a name taken: nothing spawned, the slot given back */
  grove_actor_opts named = {.name = "taken"};
  grove_group *p = grove_pool_new(1);
  grove_ref n1, n2;
  CHECK_EQ(grove_actor_spawn_ex(&worker_class, (void *)&s, &named, &n1), 0);
  CHECK_EQ(grove_group_spawn_actor(p, &worker_class, (void *)&s, &named, &n2), GROVE_EEXIST);
  CHECK_EQ(grove_group_size(p), 0);
  CHECK_EQ(grove_pool_free_count(p), 1);
  /* killed while waiting for room */
  CHECK_EQ(grove_group_add_actor(p, n1, 0), 0);
  test_log_reset();
  grove_greenlet *sp = grove_spawn(pool_spawner, p);
  settle();
  CHECK_EQ(grove_kill(sp, 5), 0);
  CHECK(strstr(test_log_buf, "spawn=GROVE_ECANCELED") != NULL);
  CHECK(strstr(test_log_buf, "start-late") == NULL);
  CHECK_EQ(grove_group_size(p), 1);
  grove_greenlet_release(sp);
  CHECK_EQ(grove_group_kill(p, 5), 0);
  CHECK_EQ(grove_group_kill(g, 5), 0);
  CHECK(!grove_actor_alive(r) && !grove_actor_alive(n1));
  /* an ended actor cannot be added */
  CHECK_EQ(grove_group_add_actor(g, r, 0), GROVE_ENOENT);
  CHECK_EQ(grove_group_free(g), 0);
  CHECK_EQ(grove_group_free(other), 0);
  CHECK_EQ(grove_group_free(p), 0);
}

/* Many actors in a pool: every one runs, never more than the bound alive. */
static int live, peak;
static int counted_init(grove_actor *self, void *arg) {
  (void)self;
  (void)arg;
  if (++live > peak)
    peak = live;
  return 0;
}
static int counted_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  (void)msg;
  grove_sleep(0.001);
  return GROVE_STOP;
}
static void counted_terminate(grove_actor *self, int reason) {
  (void)self;
  (void)reason;
  live--;
}
static const grove_actor_class counted_class = {.name = "counted",
                                                .size = sizeof(grove_actor),
                                                .init = counted_init,
                                                .receive = counted_receive,
                                                .terminate = counted_terminate};

static void test_pool_many(void) {
  grove_group *p = grove_pool_new(8);
  live = peak = 0;
  for (int i = 0; i < 500; i++) {
    grove_ref r;
    CHECK_EQ(grove_group_spawn_actor(p, &counted_class, NULL, NULL, &r), 0);
    CHECK(grove_group_size(p) <= 8);
    CHECK_EQ(send_tag(r, "go"), 0);
  }
  CHECK_EQ(grove_group_join(p, 10), 0);
  CHECK_EQ(live, 0);
  CHECK_EQ(peak, 8);
  CHECK_EQ(grove_group_free(p), 0);
}

TEST_MAIN(TEST(test_pool_spawn_waits_gevent_order), TEST(test_leaves_before_waiters),
          TEST(test_join_counts_actors_and_greenlets), TEST(test_kill_stops_actors),
          TEST(test_kill_trapping_actor), TEST(test_pool_add_and_bound),
          TEST(test_failed_init_leaves), TEST(test_errors), TEST(test_pool_many))
