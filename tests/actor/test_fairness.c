/* tests/actor/test_fairness.c - nothing holds the hub past its turn: an
 * actor working through a backlog, a greenlet spinning on sleep(0) and a long
 * run queue all give way to timers and to each other (the turn meter,
 * grove_hub_set_switch_interval). Bounds are generous (sanitizers, a busy
 * machine): the exact lateness is measured by grove-bench
 * fairness_timer_lateness. */
#include "actor_util.h"

TEST_WATCHDOG(100)

/* ---- a counting actor ------------------------------------------------------ */

typedef struct counter {
  grove_actor base;
  int64_t *count; /* shared with the test */
  int64_t *other; /* the other counter's, to see interleaving */
  int64_t *seen_other;
} counter;

static int counter_init(grove_actor *self, void *arg) {
  counter *c = (counter *)self;
  int64_t **p = arg;
  c->count = p[0];
  c->other = p[1];
  c->seen_other = p[2];
  return 0;
}

/* Each message costs at least this much: a backlog must outlast the hub's
 * 5 ms turn on any machine (200,000 free messages take 4 ms on a fast one). */
#define MSG_COST 0.5e-6

static int counter_receive(grove_actor *self, grove_msg *msg) {
  counter *c = (counter *)self;
  double until = test_now() + MSG_COST;
  while (test_now() < until) {
  }
  (*c->count)++;
  /* The highest count of the other actor seen while this one still had
   * mail: above 0 means they took turns. */
  if (c->other && *c->other > *c->seen_other)
    *c->seen_other = *c->other;
  return grove_msg_is(msg, "last") ? GROVE_STOP : 0;
}

static const grove_actor_class counter_class = {
    .name = "counter", .size = sizeof(counter), .init = counter_init, .receive = counter_receive};

/* ---- a punctual timer ---------------------------------------------------------- */

typedef struct ticker {
  int ticks;
  double worst; /* seconds late, the worst tick */
  volatile int stop;
} ticker;

static void *tick(void *arg) {
  ticker *t = arg;
  while (!t->stop && t->ticks < 2000) {
    double before = test_now();
    if (grove_sleep(0.01) != 0)
      break;
    double late = test_now() - before - 0.01;
    if (late > t->worst)
      t->worst = late;
    t->ticks++;
  }
  return NULL;
}

/* An actor with a backlog of 300,000 cheap messages: a 10 ms periodic timer
 * keeps firing on time while the actor drains it (the actor ran for the
 * whole backlog without letting the hub poll before). */
static void test_backlog_does_not_starve_timers(void) {
  int64_t count = 0, none = 0, seen = 0;
  int64_t *args[3] = {&count, NULL, &seen};
  (void)none;
  grove_ref a = grove_actor_spawn(&counter_class, args);
  CHECK(!grove_ref_is_null(a));
  const int n = 300000;
  for (int i = 0; i < n - 1; i++)
    CHECK_EQ(grove_send(a, grove_msg_new("x")), 0);
  CHECK_EQ(grove_send(a, grove_msg_new("last")), 0);
  uint64_t cut = grove_hub_turns_cut();
  ticker t = {0};
  grove_greenlet *g = grove_spawn(tick, &t);
  CHECK_EQ(grove_actor_wait(a, NULL, 60.0), 0);
  t.stop = 1;
  CHECK_EQ(grove_join(g, 5.0), 0);
  grove_greenlet_release(g);
  CHECK_EQ(count, n);
  printf("     %d ticks while the backlog drained, worst %.1f ms late, %llu turns cut\n", t.ticks,
         t.worst * 1e3, (unsigned long long)(grove_hub_turns_cut() - cut));
  CHECK(t.ticks >= 1);
  CHECK(t.worst < 0.1);
  CHECK(grove_hub_turns_cut() > cut); /* fairness stepped in */
}

/* Two actors with backlogs take turns: each sees the other make progress
 * before its own mail is done. */
static void test_backlogs_take_turns(void) {
  int64_t ca = 0, cb = 0, seen_b = 0, seen_a = 0;
  int64_t *aa[3] = {&ca, &cb, &seen_b}, *ab[3] = {&cb, &ca, &seen_a};
  grove_ref a = grove_actor_spawn(&counter_class, aa);
  grove_ref b = grove_actor_spawn(&counter_class, ab);
  const int n = 200000;
  for (int i = 0; i < n - 1; i++) {
    CHECK_EQ(grove_send(a, grove_msg_new("x")), 0);
    CHECK_EQ(grove_send(b, grove_msg_new("x")), 0);
  }
  CHECK_EQ(grove_send(a, grove_msg_new("last")), 0);
  CHECK_EQ(grove_send(b, grove_msg_new("last")), 0);
  CHECK_EQ(grove_actor_wait(a, NULL, 60.0), 0);
  CHECK_EQ(grove_actor_wait(b, NULL, 60.0), 0);
  CHECK_EQ(ca, n);
  CHECK_EQ(cb, n);
  printf("     a saw b at %lld, b saw a at %lld (of %d)\n", (long long)seen_b, (long long)seen_a,
         n);
  /* Each saw the other make progress while it still had mail, and the
   * one that finished first saw only a part of the other's (the other
   * ran before and after it): which one finishes first depends on where
   * the turns end. */
  CHECK(seen_a > 0 && seen_b > 0);
  CHECK(seen_a < n || seen_b < n);
}

/* A greenlet spinning on sleep(0) does not starve a timer either. */
static void *spinner(void *arg) {
  volatile int *stop = arg;
  while (!*stop)
    if (grove_sleep(0) != 0)
      break;
  return NULL;
}

static void test_sleep0_spinner_and_timer(void) {
  volatile int stop = 0;
  grove_greenlet *s = grove_spawn(spinner, (void *)&stop);
  ticker t = {0};
  grove_greenlet *g = grove_spawn(tick, &t);
  CHECK_EQ(grove_sleep(0.3), 0);
  stop = 1;
  t.stop = 1;
  CHECK_EQ(grove_join(g, 5.0), 0);
  CHECK_EQ(grove_join(s, 5.0), 0);
  grove_greenlet_release(g);
  grove_greenlet_release(s);
  CHECK(t.ticks >= 5);
  CHECK(t.worst < 0.1);
}

/* The switch interval: its bounds, and a shorter one keeps timers closer. */
static void test_switch_interval(void) {
  CHECK(fabs(grove_hub_switch_interval() - 0.005) < 1e-9);
  CHECK_EQ(grove_hub_set_switch_interval(0), GROVE_EINVAL);
  CHECK_EQ(grove_hub_set_switch_interval(NAN), GROVE_EINVAL);
  CHECK_EQ(grove_hub_set_switch_interval(2.0), GROVE_EINVAL);
  CHECK_EQ(grove_hub_set_switch_interval(0.001), 0);
  CHECK(fabs(grove_hub_switch_interval() - 0.001) < 1e-9);
  int64_t count = 0, seen = 0;
  int64_t *args[3] = {&count, NULL, &seen};
  grove_ref a = grove_actor_spawn(&counter_class, args);
  for (int i = 0; i < 100000; i++)
    CHECK_EQ(grove_send(a, grove_msg_new(i + 1 == 100000 ? "last" : "x")), 0);
  ticker t = {0};
  grove_greenlet *g = grove_spawn(tick, &t);
  CHECK_EQ(grove_actor_wait(a, NULL, 60.0), 0);
  t.stop = 1;
  CHECK_EQ(grove_join(g, 5.0), 0);
  grove_greenlet_release(g);
  CHECK(t.worst < 0.1);
  CHECK_EQ(grove_hub_set_switch_interval(0.005), 0);
}

TEST_MAIN(TEST(test_backlog_does_not_starve_timers), TEST(test_backlogs_take_turns),
          TEST(test_sleep0_spinner_and_timer), TEST(test_switch_interval))
