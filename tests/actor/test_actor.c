/* tests/actor/test_actor.c - actors: spawning, the class callbacks and their
 * order, exit reasons, message order, blocking receives, stats, grove_self
 * and class validation. */
#include "actor_util.h"

/* ---- a recording class --------------------------------------------------- */

typedef struct rec {
  grove_actor base;
  int arg;
  int count;
} rec;

static grove_ref rec_self_in_init, rec_self_in_receive, rec_ref_in_init;

static int rec_init(grove_actor *self, void *arg) {
  rec *r = (rec *)self;
  r->arg = arg ? *(int *)arg : -1;
  rec_self_in_init = grove_self();
  rec_ref_in_init = grove_actor_ref(self);
  test_log("init:%d", r->arg);
  return 0;
}

static int rec_receive(grove_actor *self, grove_msg *msg) {
  rec *r = (rec *)self;
  r->count++;
  rec_self_in_receive = grove_self();
  test_log("recv:%s", grove_msg_tag(msg));
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  if (grove_msg_is(msg, "fail"))
    return (int)msg_int_at(msg, 0);
  return 0;
}

static void rec_terminate(grove_actor *self, int reason) {
  rec *r = (rec *)self;
  test_log("term:%s:%d", grove_exit_reason_name(reason), r->count);
}

static const grove_actor_class rec_class = {.name = "rec",
                                            .size = sizeof(rec),
                                            .init = rec_init,
                                            .receive = rec_receive,
                                            .terminate = rec_terminate};

static int init_arg = 42;

/* init runs in the actor's greenlet, after spawn returns and before the
 * first message; then receive per message in order; terminate last, with the
 * reason. grove_self and grove_actor_ref name the actor inside callbacks. */
static void test_lifecycle_order(void) {
  rec_self_in_init = rec_self_in_receive = rec_ref_in_init = GROVE_REF_NULL;
  grove_ref a = grove_actor_spawn(&rec_class, &init_arg);
  CHECK(!grove_ref_is_null(a));
  CHECK_EQ(a.node, 0);
  CHECK(grove_actor_alive(a));
  CHECK_LOG(""); /* spawn never runs init itself */
  CHECK_EQ(send_tag(a, "one"), 0);
  CHECK_EQ(send_tag(a, "two"), 0);
  CHECK_EQ(send_tag(a, "stop"), 0);
  CHECK_EQ(send_tag(a, "never"), 0); /* after stop: a dead letter */
  CHECK_LOG("");
  int reason = -1;
  CHECK_EQ(grove_actor_wait(a, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_NORMAL);
  CHECK_LOG("init:42 recv:one recv:two recv:stop term:normal:3");
  CHECK(grove_ref_eq(rec_self_in_init, a));
  CHECK(grove_ref_eq(rec_ref_in_init, a));
  CHECK(grove_ref_eq(rec_self_in_receive, a));
  CHECK(!grove_actor_alive(a));
  CHECK(grove_ref_is_null(grove_self())); /* main is no actor */
}

/* An actor spawned with a NULL arg gets NULL in init; one without init or
 * terminate works. */
static int bare_receive(grove_actor *self, grove_msg *msg) {
  test_log("bare:%s", grove_msg_tag(msg));
  return grove_msg_is(msg, "stop") ? GROVE_STOP : 0;
}
static const grove_actor_class bare_class = {
    .name = "bare", .size = sizeof(grove_actor), .receive = bare_receive};

static void test_minimal_class_and_null_arg(void) {
  grove_ref a = grove_actor_spawn(&rec_class, NULL);
  CHECK_EQ(send_tag(a, "stop"), 0);
  int reason = -1;
  CHECK_EQ(grove_actor_wait(a, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_NORMAL);
  grove_ref b = grove_actor_spawn(&bare_class, NULL);
  CHECK(!grove_ref_is_null(b));
  CHECK(!grove_ref_eq(a, b));
  CHECK_EQ(send_tag(b, "x"), 0);
  CHECK_EQ(send_tag(b, "stop"), 0);
  reason = -1;
  CHECK_EQ(grove_actor_wait(b, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_NORMAL);
  CHECK_LOG("init:-1 recv:stop term:normal:1 bare:x bare:stop");
}

/* receive's return value is the exit reason: an error code as is, an
 * unknown positive value as GROVE_EINVAL. */
static void test_exit_reasons_from_receive(void) {
  grove_ref a = grove_actor_spawn(&rec_class, &init_arg);
  CHECK_EQ(grove_send(a, msg_int("fail", GROVE_EAGAIN)), 0);
  int reason = 0;
  CHECK_EQ(grove_actor_wait(a, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EAGAIN);
  CHECK_LOG("init:42 recv:fail term:GROVE_EAGAIN:1");

  test_log_reset();
  a = grove_actor_spawn(&rec_class, &init_arg);
  CHECK_EQ(grove_send(a, msg_int("fail", 7)), 0); /* not 0, GROVE_STOP or < 0 */
  reason = 0;
  CHECK_EQ(grove_actor_wait(a, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EINVAL);
  CHECK_LOG("init:42 recv:fail term:GROVE_EINVAL:1");

  test_log_reset();
  a = grove_actor_spawn(&rec_class, &init_arg);
  CHECK_EQ(grove_send(a, msg_int("fail", GROVE_STOP)), 0);
  CHECK_EQ(grove_actor_wait(a, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_NORMAL);

  CHECK_STR(grove_exit_reason_name(GROVE_EXIT_NORMAL), "normal");
  CHECK_STR(grove_exit_reason_name(GROVE_EXIT_SHUTDOWN), "shutdown");
  CHECK_STR(grove_exit_reason_name(GROVE_EXIT_KILLED), "killed");
  CHECK_STR(grove_exit_reason_name(GROVE_EXIT_NOCONNECTION), "noconnection");
  CHECK_STR(grove_exit_reason_name(GROVE_ETIMEDOUT), "GROVE_ETIMEDOUT");
}

/* init returning nonzero ends the actor with an error reason before any
 * message is received. */
static int fail_init(grove_actor *self, void *arg) {
  test_log("init");
  return IVAL(arg);
}
static const grove_actor_class fail_init_class = {
    .name = "fail_init", .size = sizeof(grove_actor), .init = fail_init, .receive = bare_receive};

static void test_init_failure(void) {
  grove_ref a = grove_actor_spawn(&fail_init_class, IARG(GROVE_ENOMEM));
  CHECK(!grove_ref_is_null(a));
  CHECK_EQ(send_tag(a, "x"), 0);
  int reason = 0;
  CHECK_EQ(grove_actor_wait(a, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_ENOMEM);
  CHECK(!grove_actor_alive(a));

  a = grove_actor_spawn(&fail_init_class, IARG(5)); /* positive: still a failure */
  CHECK_EQ(grove_actor_wait(a, &reason, 5.0), 0);
  CHECK(reason < 0);
  CHECK_LOG("init init"); /* receive never ran */
}

/* Messages are processed one at a time, in the order they were sent, also
 * when they come from several senders. */
typedef struct seq {
  grove_actor base;
  int64_t expect[4];
  int bad;
} seq;

static int seq_receive(grove_actor *self, grove_msg *msg) {
  seq *s = (seq *)self;
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  int64_t who = msg_int_at(msg, 0), n = msg_int_at(msg, 1);
  if (who < 0 || who > 3 || n != s->expect[who])
    s->bad++;
  else
    s->expect[who]++;
  return 0;
}
static int seq_bad, seq_total;
static void seq_terminate(grove_actor *self, int reason) {
  seq *s = (seq *)self;
  seq_bad = s->bad;
  seq_total = (int)(s->expect[0] + s->expect[1] + s->expect[2] + s->expect[3]);
}
static const grove_actor_class seq_class = {
    .name = "seq", .size = sizeof(seq), .receive = seq_receive, .terminate = seq_terminate};

static grove_ref seq_target;
static void *seq_sender(void *arg) {
  int who = IVAL(arg);
  for (int i = 0; i < 200; i++) {
    grove_msg *m = grove_msg_new("n");
    grove_msg_pack_int(m, who);
    grove_msg_pack_int(m, i);
    CHECK_EQ(grove_send(seq_target, m), 0);
    if (i % 7 == who)
      grove_sleep(0);
  }
  return NULL;
}

static void test_message_order(void) {
  seq_bad = seq_total = -1;
  seq_target = grove_actor_spawn(&seq_class, NULL);
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(seq_sender, IARG(i + 1));
  for (int i = 0; i < 200; i++) {
    grove_msg *m = grove_msg_new("n");
    grove_msg_pack_int(m, 0);
    grove_msg_pack_int(m, i);
    CHECK_EQ(grove_send(seq_target, m), 0);
  }
  CHECK_EQ(grove_joinall(g, 3, 5.0), 0);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(g[i]);
  CHECK_EQ(send_tag(seq_target, "stop"), 0);
  CHECK_EQ(grove_actor_wait(seq_target, NULL, 5.0), 0);
  CHECK_EQ(seq_bad, 0);
  CHECK_EQ(seq_total, 800);
}

/* A receive that blocks (sleep, queue) holds only its own actor: other
 * actors and greenlets keep running, and the blocked actor's later messages
 * wait their turn. */
static grove_queue *bq;
static int blocker_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  if (grove_msg_is(msg, "get")) {
    test_log("A:get");
    void *item = NULL;
    int rc = grove_queue_get(bq, &item, 5.0);
    test_log("A:got=%d,%d", rc, IVAL(item));
    return 0;
  }
  if (grove_msg_is(msg, "nap")) {
    test_log("A:nap");
    int rc = grove_sleep(0.05);
    test_log("A:woke=%d", rc);
    return 0;
  }
  test_log("A:%s", grove_msg_tag(msg));
  return 0;
}
static const grove_actor_class blocker_class = {
    .name = "blocker", .size = sizeof(grove_actor), .receive = blocker_receive};

static void test_blocking_receive(void) {
  bq = grove_queue_new(0);
  grove_ref a = grove_actor_spawn(&blocker_class, NULL);
  grove_ref b = probe_spawn("B");
  CHECK_EQ(send_tag(a, "get"), 0);
  CHECK_EQ(send_tag(a, "after"), 0);
  settle();
  CHECK_EQ(send_tag(b, "x"), 0);
  settle();
  test_log("main:put");
  CHECK_EQ(grove_queue_put(bq, IARG(7), 0), 0);
  settle();
  CHECK_LOG("A:get B:init B:x main:put A:got=0,7 A:after");

  test_log_reset();
  double t0 = test_now();
  CHECK_EQ(send_tag(a, "nap"), 0);
  CHECK_EQ(send_tag(a, "later"), 0);
  CHECK_EQ(send_tag(b, "y"), 0);
  CHECK_EQ(send_tag(b, "stop"), 0);
  await_end(b);
  test_log("main:b-done");
  CHECK_EQ(send_tag(a, "stop"), 0);
  CHECK_EQ(grove_actor_wait(a, NULL, 5.0), 0);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK_LOG("A:nap B:y B:stop B:term=normal main:b-done A:woke=0 A:later");
  CHECK_EQ(grove_queue_free(bq), 0);
}

/* An idle actor holds no greenlet (it does not count as alive); one blocked
 * in receive does not count either (it is no user greenlet), and none is
 * left once it ended. */
static void test_idle_actor_holds_no_greenlet(void) {
  grove_ref a[100];
  for (int i = 0; i < 100; i++)
    a[i] = grove_actor_spawn(&bare_class, NULL);
  for (int i = 0; i < 100; i++)
    CHECK_EQ(send_tag(a[i], "x"), 0);
  settle();
  CHECK_EQ(grove_hub_greenlet_count(), 0);
  for (int i = 0; i < 100; i++)
    CHECK(grove_actor_alive(a[i]));
  for (int i = 0; i < 100; i++)
    CHECK_EQ(send_tag(a[i], "stop"), 0);
  for (int i = 0; i < 100; i++) {
    int rc = grove_actor_wait(a[i], NULL, 5.0); /* ENOENT: already ended */
    CHECK(rc == 0 || rc == GROVE_ENOENT);
    CHECK(!grove_actor_alive(a[i]));
  }
  CHECK_EQ(grove_hub_greenlet_count(), 0);
}

/* Stats: inbox length, messages received so far, and whether a receive is
 * in progress (also while it is blocked). */
static grove_event *stats_ev;
static int stats_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  if (grove_msg_is(msg, "block"))
    CHECK_EQ(grove_event_wait(stats_ev, 5.0), 0);
  if (grove_msg_is(msg, "self")) {
    grove_actor_stats st = {99, 99, false};
    CHECK_EQ(grove_actor_stats_get(grove_self(), &st), 0);
    CHECK(st.running);
    test_log("self:%zu,%llu", st.inbox_len, (unsigned long long)st.processed);
  }
  return 0;
}
static const grove_actor_class stats_class = {
    .name = "stats", .size = sizeof(grove_actor), .receive = stats_receive};

static void test_stats(void) {
  stats_ev = grove_event_new();
  grove_ref a = grove_actor_spawn(&stats_class, &init_arg);
  grove_actor_stats st = {99, 99, true};
  CHECK_EQ(grove_actor_stats_get(a, &st), 0);
  CHECK_EQ(st.inbox_len, 0);
  CHECK_EQ(st.processed, 0);
  CHECK(!st.running);
  CHECK_EQ(send_tag(a, "block"), 0);
  CHECK_EQ(send_tag(a, "x"), 0);
  CHECK_EQ(send_tag(a, "y"), 0);
  CHECK_EQ(grove_actor_stats_get(a, &st), 0);
  CHECK_EQ(st.inbox_len, 3); /* not started yet */
  CHECK_EQ(st.processed, 0);
  CHECK(!st.running);
  settle();
  CHECK_EQ(grove_actor_stats_get(a, &st), 0);
  CHECK_EQ(st.inbox_len, 2);
  CHECK_EQ(st.processed, 0);
  CHECK(st.running);
  grove_event_set(stats_ev);
  settle();
  CHECK_EQ(grove_actor_stats_get(a, &st), 0);
  CHECK_EQ(st.inbox_len, 0);
  CHECK_EQ(st.processed, 3);
  CHECK(!st.running);
  CHECK_EQ(send_tag(a, "x"), 0);
  CHECK_EQ(send_tag(a, "self"), 0);
  CHECK_EQ(send_tag(a, "x"), 0);
  settle();
  CHECK_LOG("self:1,4");
  CHECK_EQ(grove_actor_stats_get(a, &st), 0);
  CHECK_EQ(st.processed, 6);
  CHECK_EQ(grove_actor_stats_get(a, NULL), GROVE_EINVAL);
  CHECK_EQ(send_tag(a, "stop"), 0);
  CHECK_EQ(grove_actor_wait(a, NULL, 5.0), 0);
  CHECK_EQ(grove_actor_stats_get(a, &st), GROVE_ENOENT);
  CHECK_EQ(grove_actor_stats_get((grove_ref){0, 1, 12345}, &st), GROVE_ENOENT);
  CHECK_EQ(grove_event_free(stats_ev), 0);
}

/* grove_self: the actor whose callback runs in this greenlet, else null
 * (main, a plain greenlet, a greenlet spawned from inside receive). The
 * sender of a message is the actor that sent it, or null. */
static grove_ref self_seen_in_child, sender_seen;
static void *child_greenlet(void *arg) {
  self_seen_in_child = grove_self();
  return NULL;
}
static void *plain_greenlet(void *arg) { return grove_ref_is_null(grove_self()) ? IARG(1) : NULL; }

static int selfish_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  if (grove_msg_is(msg, "spawn")) {
    grove_greenlet *g = grove_spawn(child_greenlet, NULL);
    grove_join(g, 5.0);
    grove_greenlet_release(g);
    CHECK(grove_ref_eq(grove_self(), grove_actor_ref(self)));
  }
  if (grove_msg_is(msg, "forward")) {
    grove_ref to = GROVE_REF_NULL;
    grove_msg_ref(msg, 0, &to);
    grove_send(to, grove_msg_new("from-actor"));
  }
  if (grove_msg_is(msg, "from-actor") || grove_msg_is(msg, "from-main"))
    sender_seen = grove_msg_sender(msg);
  return 0;
}
static const grove_actor_class selfish_class = {
    .name = "selfish", .size = sizeof(grove_actor), .receive = selfish_receive};

static void test_self_and_sender(void) {
  CHECK(grove_ref_is_null(grove_self()));
  grove_greenlet *g = grove_spawn(plain_greenlet, NULL);
  void *v = NULL;
  CHECK_EQ(grove_get(g, &v, 5.0), 0);
  CHECK_EQ(IVAL(v), 1);
  grove_greenlet_release(g);

  self_seen_in_child = (grove_ref){1, 1, 1};
  grove_ref a = grove_actor_spawn(&selfish_class, NULL);
  grove_ref b = grove_actor_spawn(&selfish_class, NULL);
  CHECK_EQ(send_tag(a, "spawn"), 0);
  settle();
  CHECK(grove_ref_is_null(self_seen_in_child));

  sender_seen = (grove_ref){1, 1, 1};
  CHECK_EQ(send_tag(b, "from-main"), 0);
  settle();
  CHECK(grove_ref_is_null(sender_seen));
  grove_msg *m = grove_msg_new("forward");
  grove_msg_pack_ref(m, b);
  CHECK_EQ(grove_send(a, m), 0);
  settle();
  CHECK(grove_ref_eq(sender_seen, a));
  CHECK_EQ(send_tag(a, "stop"), 0);
  CHECK_EQ(send_tag(b, "stop"), 0);
  CHECK_EQ(grove_actor_wait(a, NULL, 5.0), 0);
  await_end(b);
  CHECK(grove_ref_is_null(grove_self()));
}

/* An invalid class is refused: NULL, a size smaller than grove_actor, no
 * receive. Nothing is started. */
static void test_class_validation(void) {
  static const grove_actor_class small = {
      .name = "small", .size = sizeof(grove_actor) - 1, .receive = bare_receive};
  static const grove_actor_class zero = {.name = "zero", .size = 0, .receive = bare_receive};
  static const grove_actor_class deaf = {.name = "deaf", .size = sizeof(grove_actor)};
  CHECK(grove_ref_is_null(grove_actor_spawn(NULL, NULL)));
  CHECK(grove_ref_is_null(grove_actor_spawn(&small, NULL)));
  CHECK(grove_ref_is_null(grove_actor_spawn(&zero, NULL)));
  CHECK(grove_ref_is_null(grove_actor_spawn(&deaf, NULL)));
  grove_ref r = {1, 2, 3};
  CHECK_EQ(grove_actor_spawn_ex(NULL, NULL, NULL, &r), GROVE_EINVAL);
  CHECK(grove_ref_is_null(r));
  r = (grove_ref){1, 2, 3};
  CHECK_EQ(grove_actor_spawn_ex(&small, NULL, NULL, &r), GROVE_EINVAL);
  CHECK(grove_ref_is_null(r));
  r = (grove_ref){1, 2, 3};
  CHECK_EQ(grove_actor_spawn_ex(&deaf, NULL, NULL, &r), GROVE_EINVAL);
  CHECK(grove_ref_is_null(r));
  grove_actor_opts o = {.name = ""};
  r = (grove_ref){1, 2, 3};
  CHECK_EQ(grove_actor_spawn_ex(&bare_class, NULL, &o, &r), GROVE_EINVAL);
  CHECK(grove_ref_is_null(r));
  settle();
  CHECK_LOG("");
  /* A valid spawn_ex with no opts and no out works. */
  CHECK_EQ(grove_actor_spawn_ex(&bare_class, NULL, NULL, &r), 0);
  CHECK(grove_actor_alive(r));
  CHECK_EQ(send_tag(r, "stop"), 0);
  CHECK_EQ(grove_actor_wait(r, NULL, 5.0), 0);
}

/* grove_actor_wait: ENOENT for refs that never named an actor; an ended
 * actor's reason at once (until its slot's next actor ends too); ETIMEDOUT;
 * EDEADLK from the actor itself; several waiters all get the reason. */
static int wait_self_rc = 1;
static int waitself_receive(grove_actor *self, grove_msg *msg) {
  wait_self_rc = grove_actor_wait(grove_self(), NULL, 1.0);
  return GROVE_STOP;
}
static const grove_actor_class waitself_class = {
    .name = "waitself", .size = sizeof(grove_actor), .receive = waitself_receive};

static grove_ref wait_target;
static void *waiter(void *arg) {
  int reason = 0;
  int rc = grove_actor_wait(wait_target, &reason, 5.0);
  test_log("w%d:%d,%s", IVAL(arg), rc, grove_exit_reason_name(reason));
  return NULL;
}

static void test_wait(void) {
  CHECK_EQ(grove_actor_wait(GROVE_REF_NULL, NULL, 1.0), GROVE_ENOENT);
  CHECK_EQ(grove_actor_wait((grove_ref){0, 7, 777}, NULL, 1.0), GROVE_ENOENT);
  wait_target = probe_spawn("T");
  double t0 = test_now();
  CHECK_EQ(grove_actor_wait(wait_target, NULL, 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK_EQ(grove_actor_wait(wait_target, NULL, 0), GROVE_ETIMEDOUT);
  grove_greenlet *g1 = grove_spawn(waiter, IARG(1));
  grove_greenlet *g2 = grove_spawn(waiter, IARG(2));
  settle();
  CHECK_EQ(grove_send(wait_target, msg_int("fail", GROVE_EPERM)), 0);
  grove_greenlet *gs[2] = {g1, g2};
  CHECK_EQ(grove_joinall(gs, 2, 5.0), 0);
  grove_greenlet_release(g1);
  grove_greenlet_release(g2);
  CHECK_LOG("T:init T:fail T:term=GROVE_EPERM w1:0,GROVE_EPERM w2:0,GROVE_EPERM");
  /* Once ended: at once, with the reason, while grove keeps the record. */
  int reason = 0;
  double t1 = test_now();
  CHECK_EQ(grove_actor_wait(wait_target, &reason, 1.0), 0);
  CHECK(test_now() - t1 < 0.5);
  CHECK_EQ(reason, GROVE_EPERM);
  /* A new actor in the same slot: the old ref's record stands while it
   * lives (the old ref never waits for the new actor), and is gone once
   * the new one has ended too. */
  grove_ref reuse = probe_spawn("R");
  if (reuse.id == wait_target.id) {
    t1 = test_now();
    reason = 0;
    CHECK_EQ(grove_actor_wait(wait_target, &reason, 1.0), 0);
    CHECK(test_now() - t1 < 0.5);
    CHECK_EQ(reason, GROVE_EPERM);
    CHECK_EQ(send_tag(reuse, "stop"), 0);
    CHECK_EQ(grove_actor_wait(reuse, &reason, 5.0), 0);
    CHECK_EQ(reason, GROVE_EXIT_NORMAL);
    CHECK_EQ(grove_actor_wait(wait_target, NULL, 1.0), GROVE_ENOENT);
    CHECK_EQ(grove_actor_wait(reuse, &reason, 1.0), 0);
  } else {
    CHECK(reuse.id == wait_target.id); /* slots are reused */
    end_actor(reuse);
  }

  grove_ref s = grove_actor_spawn(&waitself_class, NULL);
  CHECK_EQ(send_tag(s, "go"), 0);
  CHECK_EQ(grove_actor_wait(s, NULL, 5.0), 0);
  CHECK_EQ(wait_self_rc, GROVE_EDEADLK);
}

/* Many short-lived actors: each is started, gets one message, stops. */
static int many_done;
static int many_receive(grove_actor *self, grove_msg *msg) {
  many_done++;
  return GROVE_STOP;
}
static const grove_actor_class many_class = {
    .name = "many", .size = sizeof(grove_actor), .receive = many_receive};

static void test_many_actors(void) {
  many_done = 0;
  enum { N = 5000 };
  static grove_ref refs[N];
  for (int i = 0; i < N; i++) {
    refs[i] = grove_actor_spawn(&many_class, NULL);
    CHECK(!grove_ref_is_null(refs[i]));
    CHECK_EQ(send_tag(refs[i], "go"), 0);
  }
  for (int i = 0; i < N; i++) {
    int rc = grove_actor_wait(refs[i], NULL, 5.0);
    CHECK(rc == 0 || rc == GROVE_ENOENT);
  }
  CHECK_EQ(many_done, N);
  for (int i = 0; i < N; i++)
    CHECK(!grove_actor_alive(refs[i]));
}

/* grove_hub_close refuses while an actor lives, and changes nothing: the
 * actor still works afterwards. */
static void test_hub_close_refuses_live_actor(void) {
  grove_ref a = grove_actor_spawn(&rec_class, &init_arg);
  settle();
  CHECK_EQ(grove_hub_close(), GROVE_EBUSY);
  CHECK(grove_actor_alive(a));
  CHECK_EQ(send_tag(a, "x"), 0);
  CHECK_EQ(send_tag(a, "stop"), 0);
  int reason = -1;
  CHECK_EQ(grove_actor_wait(a, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_NORMAL);
  CHECK_LOG("init:42 recv:x recv:stop term:normal:2");
}

/* Killed before it ever ran: it ends with "killed" and receives nothing. */
static void test_kill_before_first_run(void) {
  grove_ref a = grove_actor_spawn(&rec_class, &init_arg);
  CHECK_EQ(send_tag(a, "x"), 0);
  CHECK_EQ(grove_actor_exit(a, GROVE_EXIT_KILLED), 0);
  int reason = -1;
  CHECK_EQ(grove_actor_wait(a, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_KILLED);
  CHECK(strstr(test_log_buf, "recv:") == NULL);
  CHECK_EQ(grove_dead_letter_count(), 1);
}

/* Killed while its init waits, an init that then returns 0: the start
 * fails ("killed"), but the state that init built is released by
 * terminate (a supervisor killed in its init leaked its children array). */
typedef struct builder {
  grove_actor base;
  char *state;
} builder;

static int builder_terminated = -100;

static int builder_init(grove_actor *self, void *arg) {
  (void)arg;
  builder *b = (builder *)self;
  b->state = malloc(64);
  (void)grove_sleep(5); /* the kill cuts it short; this init ignores it */
  return 0;
}

static int builder_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  (void)msg;
  return 0;
}

static void builder_terminate(grove_actor *self, int reason) {
  builder *b = (builder *)self;
  free(b->state);
  b->state = NULL;
  builder_terminated = reason;
}

static const grove_actor_class builder_class = {.name = "builder",
                                                .size = sizeof(builder),
                                                .init = builder_init,
                                                .receive = builder_receive,
                                                .terminate = builder_terminate};

static void test_kill_during_init_runs_terminate(void) {
  builder_terminated = -100;
  grove_ref a = grove_actor_spawn(&builder_class, NULL);
  CHECK_EQ(grove_sleep(0.01), 0); /* it is in its init's sleep */
  CHECK_EQ(grove_actor_exit(a, GROVE_EXIT_KILLED), 0);
  int reason = -1;
  CHECK_EQ(grove_actor_wait(a, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_KILLED);
  CHECK_EQ(builder_terminated, GROVE_EXIT_KILLED); /* and its state is freed (ASan) */
}

/* ---- grove_exit inside an actor ------------------------------------------------ */

/* "quit" ends the actor with grove_exit(code) from inside receive (or init,
 * or terminate): C cannot unwind receive's frames, so the runner dies, and
 * the actor must end with it - not stay a zombie that never reads its inbox,
 * ignores kills and keeps the hub from closing. */
typedef struct exiter {
  grove_actor base;
  int where; /* 0: receive, 1: init, 2: terminate */
} exiter;

static int exiter_init(grove_actor *self, void *arg) {
  exiter *e = (exiter *)self;
  e->where = (int)(intptr_t)arg;
  if (e->where == 1)
    grove_exit(GROVE_EPERM);
  return 0;
}

static int exiter_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "quit")) {
    test_log("quit");
    if (((exiter *)self)->where == 0)
      grove_exit(GROVE_EAGAIN);
    return GROVE_STOP;
  }
  test_log("%s", grove_msg_tag(msg));
  return 0;
}

static void exiter_terminate(grove_actor *self, int reason) {
  test_log("term=%s", grove_exit_reason_name(reason));
  if (((exiter *)self)->where == 2)
    grove_exit(GROVE_EBUSY);
}

static const grove_actor_class exiter_class = {.name = "exiter",
                                               .size = sizeof(exiter),
                                               .init = exiter_init,
                                               .receive = exiter_receive,
                                               .terminate = exiter_terminate};

static void test_grove_exit_in_actor(void) {
  /* in receive: the actor ends with that reason, terminate runs, its link
   * and monitor fire, the rest of its inbox is dead letters */
  grove_ref watcher = probe_spawn("W");
  grove_ref e = grove_actor_spawn(&exiter_class, IARG(0));
  uint64_t mid;
  grove_actor_opts lo = {.link = e, .trap_exits = true};
  grove_ref linked = probe_spawn_opts("L", lo);
  (void)watcher;
  (void)mid;
  settle();
  test_log_reset();
  uint64_t dl = grove_dead_letter_count();
  CHECK_EQ(grove_send(e, grove_msg_new("quit")), 0);
  CHECK_EQ(grove_send(e, grove_msg_new("after")), 0);
  int reason = 0;
  CHECK_EQ(grove_actor_wait(e, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EAGAIN);
  CHECK_EQ(grove_dead_letter_count(), dl + 1);
  settle();
  CHECK_LOG("quit term=GROVE_EAGAIN L:exit=GROVE_EAGAIN");
  CHECK(!grove_actor_alive(e));
  CHECK_EQ(grove_actor_exit(linked, GROVE_EXIT_KILLED), 0);
  CHECK_EQ(grove_actor_wait(linked, NULL, 5.0), 0);
  test_log_reset();
  /* in init: as an init that failed (no terminate) */
  test_log_reset();
  e = grove_actor_spawn(&exiter_class, IARG(1));
  CHECK_EQ(grove_actor_wait(e, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EPERM);
  CHECK_LOG("");
  /* in terminate: the end is completed all the same */
  e = grove_actor_spawn(&exiter_class, IARG(2));
  CHECK_EQ(grove_send(e, grove_msg_new("quit")), 0);
  CHECK_EQ(grove_actor_wait(e, &reason, 5.0), 0);
  CHECK_LOG("quit term=normal");
  CHECK(!grove_actor_alive(e));
  /* a kill still works on a fresh one, and the hub closes (the case's end) */
  e = grove_actor_spawn(&exiter_class, IARG(0));
  settle();
  CHECK_EQ(grove_actor_exit(e, GROVE_EXIT_KILLED), 0);
  CHECK_EQ(grove_actor_wait(e, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_KILLED);
  CHECK_EQ(grove_actor_exit(watcher, GROVE_EXIT_KILLED), 0);
  CHECK_EQ(grove_actor_wait(watcher, NULL, 5.0), 0);
}

TEST_MAIN(TEST(test_lifecycle_order), TEST(test_minimal_class_and_null_arg),
          TEST(test_exit_reasons_from_receive), TEST(test_init_failure), TEST(test_message_order),
          TEST(test_blocking_receive), TEST(test_idle_actor_holds_no_greenlet), TEST(test_stats),
          TEST(test_self_and_sender), TEST(test_class_validation), TEST(test_wait),
          TEST(test_many_actors), TEST(test_hub_close_refuses_live_actor),
          TEST(test_kill_before_first_run), TEST(test_kill_during_init_runs_terminate),
          TEST(test_grove_exit_in_actor))
