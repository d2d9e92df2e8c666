/* tests/actor/test_supervisor.c - OTP supervisors: the strategies (which
 * children restart, in which order), restart types, intensity, simple pools,
 * terminate_child / which_child / start_child, nesting, stop, and children
 * that ignore shutdown. Children log "start:<id>" in init and
 * "stop:<id>:<reason>" in terminate. */
#include "actor_util.h"

#include <grove/supervisor.h>

/* ---- the worker ------------------------------------------------------------ */

typedef struct worker {
  grove_actor base;
  const char *id;
} worker;

static int worker_init(grove_actor *self, void *arg) {
  worker *w = (worker *)self;
  w->id = arg ? (const char *)arg : "?";
  test_log("start:%s", w->id);
  return 0;
}

static int worker_receive(grove_actor *self, grove_msg *msg) {
  worker *w = (worker *)self;
  if (grove_msg_is(msg, "crash"))
    return GROVE_EAGAIN;
  if (grove_msg_is(msg, "quit"))
    return GROVE_STOP;
  if (grove_msg_is(msg, GROVE_TAG_EXIT)) {
    test_log("%s:ignore", w->id); /* traps exits and carries on */
    return 0;
  }
  if (grove_msg_is(msg, "ping") && grove_msg_is_call(msg))
    grove_reply(msg, grove_msg_new("pong"));
  return 0;
}

static void worker_terminate(grove_actor *self, int reason) {
  worker *w = (worker *)self;
  test_log("stop:%s:%s", w->id, grove_exit_reason_name(reason));
}

static const grove_actor_class worker_class = {.name = "worker",
                                               .size = sizeof(worker),
                                               .init = worker_init,
                                               .receive = worker_receive,
                                               .terminate = worker_terminate};

static int badinit_init(grove_actor *self, void *arg) {
  test_log("badinit");
  return GROVE_EAGAIN;
}
static const grove_actor_class badinit_class = {
    .name = "badinit", .size = sizeof(worker), .init = badinit_init, .receive = worker_receive};

/* An init that blocks a little before failing with GROVE_EPERM, so that two
 * supervisor starts overlap. */
static int slowfail_init(grove_actor *self, void *arg) {
  grove_sleep(0.01);
  return GROVE_EPERM;
}
static const grove_actor_class slowfail_class = {
    .name = "slowfail", .size = sizeof(worker), .init = slowfail_init, .receive = worker_receive};

#define CHILD(name, rst)                                                                           \
  { .id = name, .cls = &worker_class, .arg = (void *)name, .restart = rst, .shutdown = 1.0 }

/* ---- helpers ------------------------------------------------------------------ */

static grove_ref child(grove_ref sup, const char *id) {
  grove_ref r = GROVE_REF_NULL;
  CHECK_EQ(grove_supervisor_which_child(sup, id, &r), 0);
  return r;
}

static grove_supervisor_counts counts(grove_ref sup) {
  grove_supervisor_counts c = {99, 99, 99};
  CHECK_EQ(grove_supervisor_count(sup, &c), 0);
  return c;
}

/* Send a child a message that ends it, wait for it, then make a request to
 * the supervisor so that it has handled the exit before we go on. */
static void end_child(grove_ref sup, grove_ref c, const char *tag) {
  CHECK(grove_actor_alive(c));
  CHECK_EQ(send_tag(c, tag), 0);
  CHECK_EQ(grove_actor_wait(c, NULL, 5.0), 0);
  if (grove_actor_alive(sup))
    counts(sup);
}

static grove_ref start(grove_sup_strategy st, const grove_child_spec *specs, size_t n) {
  grove_supervisor_opts o = {.strategy = st};
  grove_ref sup = GROVE_REF_NULL;
  CHECK_EQ(grove_supervisor_start(&o, specs, n, &sup), 0);
  settle();
  return sup;
}

static void stop_sup(grove_ref sup) {
  CHECK_EQ(grove_supervisor_stop(sup, 5.0), 0);
  CHECK(!grove_actor_alive(sup));
}

/* ---- a restart that fails is tried again ---------------------------------------- */

/* Its second start sleeps in init, registered under a name so that the test
 * can kill it there. */
static int slow_starts;
static int slowstart_init(grove_actor *self, void *arg) {
  grove_register("slowchild", grove_self());
  if (slow_starts++ == 1)
    grove_sleep(0.2); /* killed meanwhile */
  test_log("init%d", slow_starts);
  return 0;
}
static const grove_actor_class slowstart_class = {
    .name = "slowstart", .size = sizeof(worker), .init = slowstart_init, .receive = worker_receive};

/* A restarted child killed before its init returns: OTP counts it as a
 * restart and tries again (it made the supervisor give up and stop every
 * child, whatever its intensity). */
static void test_restart_killed_in_init_is_retried(void) {
  slow_starts = 0;
  grove_child_spec specs[] = {{.id = "s", .cls = &slowstart_class, .shutdown = 1.0},
                              CHILD("b", GROVE_PERMANENT)};
  grove_supervisor_opts o = {.strategy = GROVE_ONE_FOR_ONE, .intensity = 1000, .period = 10};
  grove_ref sup;
  CHECK_EQ(grove_supervisor_start(&o, specs, 2, &sup), 0);
  grove_ref first = child(sup, "s"), b = child(sup, "b");
  CHECK_EQ(send_tag(first, "crash"), 0); /* restart 1: its init sleeps */
  grove_ref second = GROVE_REF_NULL;
  for (int i = 0; i < 500; i++) {
    if (grove_whereis("slowchild", &second) == 0 && !grove_ref_eq(second, first))
      break;
    grove_sleep(0.002);
  }
  CHECK(!grove_ref_eq(second, first));
  CHECK_EQ(grove_actor_exit(second, GROVE_EXIT_KILLED), 0); /* inside its init */
  /* The failed restart is tried again from the supervisor's inbox: the
   * supervisor answers meanwhile, and soon has both children again. */
  grove_supervisor_counts n = counts(sup);
  for (int i = 0; i < 200 && n.active < 2 && grove_actor_alive(sup); i++) {
    grove_sleep(0.01);
    n = counts(sup);
  }
  CHECK(grove_actor_alive(sup));
  CHECK_EQ(n.specs, 2);
  CHECK_EQ(n.active, 2);
  CHECK_EQ(n.restarts, 2); /* the failed restart counted, and the retry */
  grove_ref third = child(sup, "s");
  CHECK(grove_actor_alive(third));
  CHECK(grove_actor_alive(b)); /* its sibling was never touched */
  CHECK_EQ(slow_starts, 3);
  stop_sup(sup);
}

/* ---- starts side by side -------------------------------------------------------- */

typedef struct boot {
  const grove_child_spec *specs;
  size_t n;
  int rc;
} boot;

static void *starter(void *arg) {
  boot *b = arg;
  grove_supervisor_opts o = {.strategy = GROVE_ONE_FOR_ONE};
  grove_ref sup;
  b->rc = grove_supervisor_start(&o, b->specs, b->n, &sup);
  if (b->rc == 0)
    stop_sup(sup);
  return NULL;
}

/* Two greenlets start supervisors at the same time, each with a child that
 * fails in its own way: each start reports its own child's error (a boot
 * slot shared per thread once made both say GROVE_ENOENT). */
static void test_starts_side_by_side(void) {
  grove_actor_opts taken = {.name = "taken"};
  grove_ref holder;
  CHECK_EQ(grove_actor_spawn_ex(&worker_class, (void *)"holder", &taken, &holder), 0);
  grove_child_spec perm[] = {{.id = "slow", .cls = &slowfail_class, .shutdown = 1.0}};
  grove_child_spec exists[] = {CHILD("x", GROVE_PERMANENT)};
  exists[0].opts.name = "taken"; /* the name is held: EEXIST */
  grove_child_spec good[] = {CHILD("g", GROVE_PERMANENT)};
  boot b1 = {perm, 1, 1}, b2 = {exists, 1, 1}, b3 = {good, 1, 1};
  grove_greenlet *gs[3] = {grove_spawn(starter, &b1), grove_spawn(starter, &b2),
                           grove_spawn(starter, &b3)};
  CHECK_EQ(grove_joinall(gs, 3, 5.0), 0);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(gs[i]);
  CHECK_EQ(b1.rc, GROVE_EPERM);
  CHECK_EQ(b2.rc, GROVE_EEXIST);
  CHECK_EQ(b3.rc, 0);
  CHECK_EQ(grove_actor_exit(holder, GROVE_EXIT_KILLED), 0);
  CHECK_EQ(grove_actor_wait(holder, NULL, 5.0), 0);
  settle();
}

/* ---- strategies ----------------------------------------------------------------- */

static const grove_child_spec abc[] = {CHILD("a", GROVE_PERMANENT), CHILD("b", GROVE_PERMANENT),
                                       CHILD("c", GROVE_PERMANENT)};

/* one_for_one: only the child that ended is restarted; which_child gives
 * its new ref; the others keep theirs. stop: children in reverse order. */
static void test_one_for_one(void) {
  grove_ref sup = start(GROVE_ONE_FOR_ONE, abc, 3);
  CHECK_LOG("start:a start:b start:c");
  grove_ref a = child(sup, "a"), b = child(sup, "b"), c = child(sup, "c");
  CHECK(grove_actor_alive(a) && grove_actor_alive(b) && grove_actor_alive(c));
  grove_supervisor_counts n = counts(sup);
  CHECK_EQ(n.specs, 3);
  CHECK_EQ(n.active, 3);
  CHECK_EQ(n.restarts, 0);
  test_log_reset();
  end_child(sup, b, "crash");
  CHECK_LOG("stop:b:GROVE_EAGAIN start:b");
  grove_ref b2 = child(sup, "b");
  CHECK(!grove_ref_eq(b2, b));
  CHECK(grove_actor_alive(b2));
  CHECK(grove_ref_eq(child(sup, "a"), a));
  CHECK(grove_ref_eq(child(sup, "c"), c));
  n = counts(sup);
  CHECK_EQ(n.specs, 3);
  CHECK_EQ(n.active, 3);
  CHECK_EQ(n.restarts, 1);
  /* The restarted child works. */
  grove_msg *r = NULL;
  CHECK_EQ(grove_call(b2, grove_msg_new("ping"), &r, 5.0), 0);
  CHECK(r && grove_msg_is(r, "pong"));
  grove_msg_free(r);

  test_log_reset();
  grove_ref c2 = child(sup, "c");
  stop_sup(sup);
  CHECK_LOG("stop:c:shutdown stop:b:shutdown stop:a:shutdown");
  CHECK(!grove_actor_alive(a) && !grove_actor_alive(b2) && !grove_actor_alive(c2));
}

/* one_for_all: the others are stopped in reverse start order, then all are
 * started again in order. */
static void test_one_for_all(void) {
  grove_ref sup = start(GROVE_ONE_FOR_ALL, abc, 3);
  grove_ref a = child(sup, "a"), b = child(sup, "b"), c = child(sup, "c");
  test_log_reset();
  end_child(sup, b, "crash");
  CHECK_LOG("stop:b:GROVE_EAGAIN stop:c:shutdown stop:a:shutdown start:a start:b start:c");
  grove_ref a2 = child(sup, "a"), b2 = child(sup, "b"), c2 = child(sup, "c");
  CHECK(!grove_ref_eq(a, a2) && !grove_ref_eq(b, b2) && !grove_ref_eq(c, c2));
  CHECK(!grove_actor_alive(a) && !grove_actor_alive(c));
  CHECK(grove_actor_alive(a2) && grove_actor_alive(b2) && grove_actor_alive(c2));
  grove_supervisor_counts n = counts(sup);
  CHECK_EQ(n.active, 3);
  CHECK_EQ(n.restarts, 1);
  /* The exits of the children it stopped itself are not taken for crashes. */
  settle();
  n = counts(sup);
  CHECK_EQ(n.restarts, 1);
  stop_sup(sup);
}

/* rest_for_one: the child that ended and those started after it. */
static void test_rest_for_one(void) {
  grove_ref sup = start(GROVE_REST_FOR_ONE, abc, 3);
  grove_ref a = child(sup, "a"), b = child(sup, "b");
  test_log_reset();
  end_child(sup, b, "crash");
  CHECK_LOG("stop:b:GROVE_EAGAIN stop:c:shutdown start:b start:c");
  CHECK(grove_ref_eq(child(sup, "a"), a));
  test_log_reset();
  end_child(sup, child(sup, "c"), "crash");
  CHECK_LOG("stop:c:GROVE_EAGAIN start:c");
  test_log_reset();
  end_child(sup, a, "crash");
  CHECK_LOG("stop:a:GROVE_EAGAIN stop:c:shutdown stop:b:shutdown start:a start:b start:c");
  CHECK_EQ(counts(sup).restarts, 3);
  stop_sup(sup);
}

/* Temporary siblings stopped by one_for_all / rest_for_one are not
 * restarted (OTP: "a temporary child is never restarted, even when the
 * strategy is rest_for_one or one_for_all and a sibling's death causes it to
 * be terminated"); they are forgotten. */
static void test_temporary_siblings_not_restarted(void) {
  static const grove_child_spec specs[] = {
      CHILD("t1", GROVE_TEMPORARY), CHILD("p", GROVE_PERMANENT), CHILD("t2", GROVE_TEMPORARY)};
  grove_ref sup = start(GROVE_ONE_FOR_ALL, specs, 3);
  CHECK_LOG("start:t1 start:p start:t2");
  test_log_reset();
  end_child(sup, child(sup, "p"), "crash");
  CHECK_LOG("stop:p:GROVE_EAGAIN stop:t2:shutdown stop:t1:shutdown start:p");
  grove_supervisor_counts n = counts(sup);
  CHECK_EQ(n.specs, 1);
  CHECK_EQ(n.active, 1);
  stop_sup(sup);

  test_log_reset();
  sup = start(GROVE_REST_FOR_ONE, specs, 3);
  test_log_reset();
  end_child(sup, child(sup, "p"), "crash");
  CHECK_LOG("stop:p:GROVE_EAGAIN stop:t2:shutdown start:p");
  n = counts(sup);
  CHECK_EQ(n.specs, 2);
  CHECK_EQ(n.active, 2);
  stop_sup(sup);
}

/* Restart types: permanent always, transient only after an abnormal end
 * (not normal, not shutdown), temporary never (and forgotten). */
static void test_restart_types(void) {
  static const grove_child_spec specs[] = {
      CHILD("p", GROVE_PERMANENT), CHILD("t1", GROVE_TRANSIENT), CHILD("t2", GROVE_TRANSIENT),
      CHILD("tmp", GROVE_TEMPORARY)};
  grove_ref sup = start(GROVE_ONE_FOR_ONE, specs, 4);
  test_log_reset();
  end_child(sup, child(sup, "p"), "quit");
  CHECK_LOG("stop:p:normal start:p");
  test_log_reset();
  end_child(sup, child(sup, "t1"), "quit");
  CHECK_LOG("stop:t1:normal");
  grove_ref r;
  CHECK_EQ(grove_supervisor_which_child(sup, "t1", &r), GROVE_ENOENT);
  test_log_reset();
  end_child(sup, child(sup, "t2"), "crash");
  CHECK_LOG("stop:t2:GROVE_EAGAIN start:t2");
  test_log_reset();
  grove_ref t2 = child(sup, "t2");
  CHECK_EQ(grove_actor_exit(t2, GROVE_EXIT_SHUTDOWN), 0);
  CHECK_EQ(grove_actor_wait(t2, NULL, 5.0), 0);
  counts(sup);
  CHECK_LOG("stop:t2:shutdown");
  test_log_reset();
  end_child(sup, child(sup, "tmp"), "crash");
  CHECK_LOG("stop:tmp:GROVE_EAGAIN");
  CHECK_EQ(grove_supervisor_which_child(sup, "tmp", &r), GROVE_ENOENT);
  grove_supervisor_counts n = counts(sup);
  CHECK_EQ(n.specs, 3); /* tmp is forgotten, t1 and t2 are kept */
  CHECK_EQ(n.active, 1);
  CHECK_EQ(n.restarts, 2);
  stop_sup(sup);
}

/* More than `intensity` restarts within `period`: the supervisor stops its
 * children and exits with GROVE_EXIT_SHUTDOWN. */
static void test_intensity_exceeded(void) {
  grove_supervisor_opts o = {
      .strategy = GROVE_ONE_FOR_ONE, .intensity = 2, .period = 5.0, .name = "sup"};
  grove_ref sup;
  CHECK_EQ(grove_supervisor_start(&o, abc, 2, &sup), 0);
  grove_ref found;
  CHECK_EQ(grove_whereis("sup", &found), 0);
  CHECK(grove_ref_eq(found, sup));
  settle();
  test_log_reset();
  end_child(sup, child(sup, "a"), "crash");
  end_child(sup, child(sup, "a"), "crash");
  CHECK(grove_actor_alive(sup));
  CHECK_EQ(counts(sup).restarts, 2);
  grove_ref a = child(sup, "a"), b = child(sup, "b");
  CHECK_EQ(send_tag(a, "crash"), 0);
  int reason = 0;
  CHECK_EQ(grove_actor_wait(sup, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_SHUTDOWN);
  CHECK(!grove_actor_alive(b));
  CHECK_LOG("stop:a:GROVE_EAGAIN start:a stop:a:GROVE_EAGAIN start:a stop:a:GROVE_EAGAIN "
            "stop:b:shutdown");
  CHECK_EQ(grove_whereis("sup", &found), GROVE_ENOENT);
}

/* Restarts spread out over more than `period` do not add up. */
static void test_intensity_period(void) {
  grove_supervisor_opts o = {.strategy = GROVE_ONE_FOR_ONE, .intensity = 1, .period = 0.1};
  grove_ref sup;
  CHECK_EQ(grove_supervisor_start(&o, abc, 1, &sup), 0);
  for (int i = 0; i < 3; i++) {
    end_child(sup, child(sup, "a"), "crash");
    CHECK(grove_actor_alive(sup));
    CHECK_EQ(grove_sleep(0.2), 0);
  }
  CHECK_EQ(counts(sup).restarts, 3);
  /* Two in quick succession exceed it. */
  end_child(sup, child(sup, "a"), "crash");
  grove_ref a = child(sup, "a");
  CHECK_EQ(send_tag(a, "crash"), 0);
  int reason = 0;
  CHECK_EQ(grove_actor_wait(sup, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_SHUTDOWN);
}

/* ---- simple_one_for_one ---------------------------------------------------------- */

static void test_simple_one_for_one(void) {
  static const grove_child_spec tmpl[] = {CHILD("w", GROVE_PERMANENT)};
  grove_supervisor_opts o = {.strategy = GROVE_SIMPLE_ONE_FOR_ONE};
  grove_ref sup;
  CHECK_EQ(grove_supervisor_start(&o, abc, 2, &sup), GROVE_EINVAL);
  CHECK_EQ(grove_supervisor_start(&o, abc, 0, &sup), GROVE_EINVAL);
  CHECK_EQ(grove_supervisor_start(&o, tmpl, 1, &sup), 0);
  settle();
  CHECK_LOG(""); /* no child yet */
  CHECK_EQ(counts(sup).specs, 0);
  grove_ref c1 = GROVE_REF_NULL, c2 = GROVE_REF_NULL;
  CHECK_EQ(grove_supervisor_start_child(sup, NULL, &c1), 0);
  grove_child_spec other = {.arg = (void *)"v"}; /* cls NULL: the template's */
  CHECK_EQ(grove_supervisor_start_child(sup, &other, &c2), 0);
  CHECK_EQ(grove_supervisor_start_child(sup, NULL, NULL), 0);
  settle();
  CHECK_LOG("start:w start:v start:w");
  CHECK(grove_actor_alive(c1) && grove_actor_alive(c2));
  grove_supervisor_counts n = counts(sup);
  CHECK_EQ(n.specs, 3);
  CHECK_EQ(n.active, 3);
  test_log_reset();
  end_child(sup, c2, "crash");
  CHECK_LOG("stop:v:GROVE_EAGAIN start:v");
  test_log_reset();
  CHECK_EQ(grove_supervisor_terminate_child(sup, c1), 0);
  CHECK_LOG("stop:w:shutdown");
  CHECK(!grove_actor_alive(c1));
  n = counts(sup);
  CHECK_EQ(n.specs, 2);
  CHECK_EQ(n.active, 2);
  CHECK_EQ(n.restarts, 1);
  test_log_reset();
  stop_sup(sup);
  CHECK_LOG("stop:w:shutdown stop:v:shutdown");
}

/* A transient template: a child that ends normally is dropped. */
static void test_simple_one_for_one_transient(void) {
  static const grove_child_spec tmpl[] = {CHILD("w", GROVE_TRANSIENT)};
  grove_supervisor_opts o = {.strategy = GROVE_SIMPLE_ONE_FOR_ONE};
  grove_ref sup, c;
  CHECK_EQ(grove_supervisor_start(&o, tmpl, 1, &sup), 0);
  CHECK_EQ(grove_supervisor_start_child(sup, NULL, &c), 0);
  settle();
  end_child(sup, c, "quit");
  grove_supervisor_counts n = counts(sup);
  CHECK_EQ(n.specs, 0);
  CHECK_EQ(n.restarts, 0);
  stop_sup(sup);
}

/* ---- terminate_child, which_child, start_child -------------------------------------- */

static void test_terminate_child(void) {
  grove_ref sup = start(GROVE_ONE_FOR_ONE, abc, 3);
  grove_ref b = child(sup, "b");
  test_log_reset();
  CHECK_EQ(grove_supervisor_terminate_child(sup, b), 0);
  CHECK_LOG("stop:b:shutdown");
  CHECK(!grove_actor_alive(b));
  grove_ref r;
  CHECK_EQ(grove_supervisor_which_child(sup, "b", &r), GROVE_ENOENT);
  CHECK(grove_ref_is_null(r));
  grove_supervisor_counts n = counts(sup);
  CHECK_EQ(n.specs, 2);
  CHECK_EQ(n.active, 2);
  CHECK_EQ(n.restarts, 0);
  CHECK_EQ(grove_supervisor_terminate_child(sup, b), GROVE_ENOENT);
  CHECK_EQ(grove_supervisor_terminate_child(sup, (grove_ref){0, 1, 9999}), GROVE_ENOENT);
  test_log_reset();
  stop_sup(sup);
  CHECK_LOG("stop:c:shutdown stop:a:shutdown");
}

static void test_which_child_and_start_child(void) {
  grove_ref sup = start(GROVE_ONE_FOR_ALL, abc, 2);
  grove_ref r = {1, 1, 1};
  CHECK_EQ(grove_supervisor_which_child(sup, "zz", &r), GROVE_ENOENT);
  CHECK(grove_ref_is_null(r));
  CHECK_EQ(grove_supervisor_which_child(sup, NULL, &r), GROVE_EINVAL);
  grove_child_spec d = CHILD("d", GROVE_PERMANENT);
  grove_ref dref = GROVE_REF_NULL;
  test_log_reset();
  CHECK_EQ(grove_supervisor_start_child(sup, &d, &dref), 0);
  settle();
  CHECK_LOG("start:d");
  CHECK(grove_ref_eq(child(sup, "d"), dref));
  CHECK_EQ(grove_supervisor_start_child(sup, &d, &r), GROVE_EEXIST);
  grove_child_spec nocls = {.id = "e"};
  CHECK_EQ(grove_supervisor_start_child(sup, &nocls, &r), GROVE_EINVAL);
  CHECK_EQ(grove_supervisor_start_child(sup, NULL, &r), GROVE_EINVAL);
  /* The added child is last in the start order. */
  test_log_reset();
  end_child(sup, child(sup, "a"), "crash");
  CHECK_LOG("stop:a:GROVE_EAGAIN stop:d:shutdown stop:b:shutdown start:a start:b start:d");
  CHECK_EQ(counts(sup).specs, 3);
  stop_sup(sup);
  /* Calls to a supervisor that is gone. */
  CHECK_EQ(grove_supervisor_which_child(sup, "a", &r), GROVE_ENOENT);
  grove_supervisor_counts n;
  CHECK_EQ(grove_supervisor_count(sup, &n), GROVE_ENOENT);
}

/* A child registered under a name gets it back at each restart. */
static void test_named_child_restarted(void) {
  grove_child_spec spec = CHILD("a", GROVE_PERMANENT);
  spec.opts.name = "the-a";
  grove_ref sup = start(GROVE_ONE_FOR_ONE, &spec, 1);
  grove_ref r;
  CHECK_EQ(grove_whereis("the-a", &r), 0);
  CHECK(grove_ref_eq(r, child(sup, "a")));
  end_child(sup, r, "crash");
  grove_ref r2;
  CHECK_EQ(grove_whereis("the-a", &r2), 0);
  CHECK(!grove_ref_eq(r, r2));
  CHECK(grove_ref_eq(r2, child(sup, "a")));
  stop_sup(sup);
  CHECK_EQ(grove_whereis("the-a", &r2), GROVE_ENOENT);
}

/* ---- start errors -------------------------------------------------------------------- */

static void test_start_errors(void) {
  grove_supervisor_opts o = {.strategy = GROVE_ONE_FOR_ONE};
  grove_ref sup = {1, 1, 1};
  grove_child_spec dup[] = {CHILD("a", GROVE_PERMANENT), CHILD("a", GROVE_PERMANENT)};
  CHECK_EQ(grove_supervisor_start(&o, dup, 2, &sup), GROVE_EINVAL);
  CHECK(grove_ref_is_null(sup));
  grove_child_spec nocls[] = {CHILD("a", GROVE_PERMANENT), {.id = "b"}};
  CHECK_EQ(grove_supervisor_start(&o, nocls, 2, &sup), GROVE_EINVAL);
  CHECK_EQ(grove_supervisor_start(NULL, abc, 1, &sup), GROVE_EINVAL);
  grove_supervisor_opts neg = {.strategy = GROVE_ONE_FOR_ONE, .intensity = -1};
  CHECK_EQ(grove_supervisor_start(&neg, abc, 1, &sup), GROVE_EINVAL);
  grove_supervisor_opts bad = {.strategy = (grove_sup_strategy)77};
  CHECK_EQ(grove_supervisor_start(&bad, abc, 1, &sup), GROVE_EINVAL);
  grove_supervisor_opts nan_period = {.strategy = GROVE_ONE_FOR_ONE, .period = NAN};
  CHECK_EQ(grove_supervisor_start(&nan_period, abc, 1, &sup), GROVE_EINVAL);
  settle();
  CHECK_LOG("");

  /* Its name is taken. */
  grove_ref holder = probe_spawn("H");
  CHECK_EQ(grove_register("taken", holder), 0);
  settle();
  test_log_reset();
  grove_supervisor_opts named = {.strategy = GROVE_ONE_FOR_ONE, .name = "taken"};
  CHECK_EQ(grove_supervisor_start(&named, abc, 1, &sup), GROVE_EEXIST);
  /* A child cannot be started (its name is taken): that error, and the
   * children started before it are stopped again. */
  grove_child_spec second_named[] = {CHILD("a", GROVE_PERMANENT), CHILD("b", GROVE_PERMANENT)};
  second_named[1].opts.name = "taken";
  CHECK_EQ(grove_supervisor_start(&o, second_named, 2, &sup), GROVE_EEXIST);
  settle();
  CHECK_LOG("start:a stop:a:shutdown");
  grove_ref r;
  CHECK_EQ(grove_whereis("taken", &r), 0);
  CHECK(grove_ref_eq(r, holder));
  end_actor(holder);

  /* No children at all is fine. */
  CHECK_EQ(grove_supervisor_start(&o, NULL, 0, &sup), 0);
  CHECK_EQ(counts(sup).specs, 0);
  stop_sup(sup);
}

/* A child whose init fails: grove_supervisor_start returns that error and
 * stops the children started before it (nothing is left running);
 * start_child returns it too and forgets the child. */
static void test_child_init_fails(void) {
  grove_child_spec specs[] = {CHILD("a", GROVE_PERMANENT),
                              {.id = "bad", .cls = &badinit_class, .shutdown = 1.0},
                              CHILD("c", GROVE_PERMANENT)};
  grove_supervisor_opts o = {.strategy = GROVE_ONE_FOR_ONE, .name = "failing"};
  grove_ref sup = {1, 1, 1};
  CHECK_EQ(grove_supervisor_start(&o, specs, 3, &sup), GROVE_EAGAIN);
  CHECK(grove_ref_is_null(sup));
  settle();
  CHECK_LOG("start:a badinit stop:a:shutdown");
  grove_ref r;
  CHECK_EQ(grove_whereis("failing", &r), GROVE_ENOENT);

  test_log_reset();
  sup = start(GROVE_ONE_FOR_ONE, specs, 1);
  grove_ref c = {1, 1, 1};
  CHECK_EQ(grove_supervisor_start_child(sup, &specs[1], &c), GROVE_EAGAIN);
  CHECK(grove_ref_is_null(c));
  settle();
  grove_supervisor_counts n = counts(sup);
  CHECK_EQ(n.specs, 1);
  CHECK_EQ(n.active, 1);
  CHECK_EQ(n.restarts, 0);
  CHECK_EQ(grove_supervisor_which_child(sup, "bad", &r), GROVE_ENOENT);
  /* The id is free again. */
  grove_child_spec good = CHILD("bad", GROVE_PERMANENT);
  CHECK_EQ(grove_supervisor_start_child(sup, &good, &c), 0);
  CHECK(grove_actor_alive(c));
  CHECK_LOG("start:a badinit start:bad");
  stop_sup(sup);
}

/* A simple_one_for_one child whose init fails. */
static void test_simple_child_init_fails(void) {
  static const grove_child_spec tmpl[] = {CHILD("w", GROVE_PERMANENT)};
  grove_supervisor_opts o = {.strategy = GROVE_SIMPLE_ONE_FOR_ONE};
  grove_ref sup, c = {1, 1, 1};
  CHECK_EQ(grove_supervisor_start(&o, tmpl, 1, &sup), 0);
  grove_child_spec bad = {.cls = &badinit_class};
  CHECK_EQ(grove_supervisor_start_child(sup, &bad, &c), GROVE_EAGAIN);
  CHECK(grove_ref_is_null(c));
  CHECK_EQ(counts(sup).specs, 0);
  CHECK_EQ(grove_supervisor_start_child(sup, NULL, &c), 0);
  CHECK_EQ(counts(sup).specs, 1);
  stop_sup(sup);
}

/* ---- nesting --------------------------------------------------------------------------- */

static const grove_child_spec inner_children[] = {CHILD("x", GROVE_PERMANENT),
                                                  CHILD("y", GROVE_PERMANENT)};
static const grove_supervisor_args inner_args = {
    .opts = {.strategy = GROVE_ONE_FOR_ONE, .intensity = 1, .period = 5.0},
    .children = inner_children,
    .nchildren = 2};

static void test_nested_supervisors(void) {
  grove_child_spec outer_children[] = {CHILD("a", GROVE_PERMANENT),
                                       {.id = "inner",
                                        .cls = &grove_supervisor_class,
                                        .arg = (void *)&inner_args,
                                        .restart = GROVE_PERMANENT,
                                        .shutdown = GROVE_FOREVER},
                                       CHILD("b", GROVE_PERMANENT)};
  grove_ref outer = start(GROVE_ONE_FOR_ONE, outer_children, 3);
  CHECK(strstr(test_log_buf, "start:a") && strstr(test_log_buf, "start:b") &&
        strstr(test_log_buf, "start:x start:y"));
  grove_ref inner = child(outer, "inner");
  CHECK(grove_actor_alive(inner));
  grove_ref a = child(outer, "a");

  /* The inner one handles its own children. */
  test_log_reset();
  end_child(inner, child(inner, "x"), "crash");
  CHECK_LOG("stop:x:GROVE_EAGAIN start:x");
  CHECK(grove_ref_eq(child(outer, "inner"), inner));

  /* Exceeding the inner intensity: it shuts down, and the outer one
   * restarts it (with fresh children). */
  test_log_reset();
  grove_ref y = child(inner, "y");
  CHECK_EQ(send_tag(y, "crash"), 0);
  int reason = 0;
  CHECK_EQ(grove_actor_wait(inner, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_SHUTDOWN);
  counts(outer);
  settle();
  CHECK_LOG("stop:y:GROVE_EAGAIN stop:x:shutdown start:x start:y");
  grove_ref inner2 = child(outer, "inner");
  CHECK(!grove_ref_eq(inner2, inner));
  CHECK(grove_actor_alive(inner2));
  CHECK(grove_ref_eq(child(outer, "a"), a));
  CHECK_EQ(counts(outer).restarts, 1);

  /* Stopping the outer one stops the whole tree, depth first, in reverse. */
  test_log_reset();
  stop_sup(outer);
  CHECK_LOG("stop:b:shutdown stop:y:shutdown stop:x:shutdown stop:a:shutdown");
  CHECK(!grove_actor_alive(inner2));
}

/* OTP starts a supervision tree depth first: a child supervisor has started
 * its own children before its next sibling starts (supervisor:start_link
 * returns only once the children's init has run). So a later sibling may rely
 * on the subtree before it, as with flat children. */
static void test_nested_start_order_depth_first(void) {
  grove_child_spec outer_children[] = {CHILD("a", GROVE_PERMANENT),
                                       {.id = "inner",
                                        .cls = &grove_supervisor_class,
                                        .arg = (void *)&inner_args,
                                        .restart = GROVE_PERMANENT,
                                        .shutdown = GROVE_FOREVER},
                                       CHILD("b", GROVE_PERMANENT)};
  grove_ref outer = start(GROVE_ONE_FOR_ONE, outer_children, 3);
  CHECK_LOG("start:a start:x start:y start:b");
  test_log_reset();
  stop_sup(outer);
  CHECK_LOG("stop:b:shutdown stop:y:shutdown stop:x:shutdown stop:a:shutdown");
}

/* The same tree started with grove_actor_spawn_ex and grove_supervisor_args. */
static void test_supervisor_via_spawn_ex(void) {
  grove_ref sup;
  CHECK_EQ(grove_actor_spawn_ex(&grove_supervisor_class, (void *)&inner_args, NULL, &sup), 0);
  settle();
  CHECK_LOG("start:x start:y");
  CHECK_EQ(counts(sup).specs, 2);
  test_log_reset();
  stop_sup(sup);
  CHECK_LOG("stop:y:shutdown stop:x:shutdown");
}

/* A nested supervisor's name: its args' opts.name registers it as the
 * child spec's opts.name does (it was ignored), again after a restart; the
 * spec's wins when both are set; a name another actor holds fails its
 * start (GROVE_EEXIST). */
static void test_nested_supervisor_names(void) {
  grove_supervisor_args named = inner_args;
  named.opts.name = "inner.by_args";
  grove_child_spec outer_children[] = {{.id = "by_args",
                                        .cls = &grove_supervisor_class,
                                        .arg = &named,
                                        .restart = GROVE_PERMANENT,
                                        .shutdown = GROVE_FOREVER},
                                       {.id = "both",
                                        .cls = &grove_supervisor_class,
                                        .arg = &named,
                                        .restart = GROVE_PERMANENT,
                                        .shutdown = GROVE_FOREVER,
                                        .opts = {.name = "inner.by_spec"}}};
  /* "both" names the args' name too: the spec's wins, so the two do not
   * collide */
  grove_ref outer = start(GROVE_ONE_FOR_ONE, outer_children, 2);
  grove_ref r = GROVE_REF_NULL;
  CHECK_EQ(grove_whereis("inner.by_args", &r), 0);
  CHECK(grove_ref_eq(r, child(outer, "by_args")));
  CHECK_EQ(grove_whereis("inner.by_spec", &r), 0);
  CHECK(grove_ref_eq(r, child(outer, "both")));
  /* restarted: the new one has the name */
  grove_ref old = child(outer, "by_args");
  CHECK_EQ(grove_actor_exit(old, GROVE_EXIT_KILLED), 0);
  CHECK_EQ(grove_actor_wait(old, NULL, 5.0), 0);
  counts(outer);
  settle();
  grove_ref now = child(outer, "by_args");
  CHECK(!grove_ref_eq(now, old));
  CHECK_EQ(grove_whereis("inner.by_args", &r), 0);
  CHECK(grove_ref_eq(r, now));
  stop_sup(outer);
  CHECK_EQ(grove_whereis("inner.by_args", &r), GROVE_ENOENT);
  CHECK_EQ(grove_whereis("inner.by_spec", &r), GROVE_ENOENT);

  /* spawned directly with the args: registered too; a second with the same
   * name fails */
  grove_ref sup, sup2 = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&grove_supervisor_class, &named, NULL, &sup), 0);
  settle();
  CHECK_EQ(grove_whereis("inner.by_args", &r), 0);
  CHECK(grove_ref_eq(r, sup));
  int rc = grove_actor_spawn_ex(&grove_supervisor_class, &named, NULL, &sup2);
  if (rc == 0) {
    int reason = 0;
    CHECK_EQ(grove_actor_wait(sup2, &reason, 5.0), 0);
    CHECK_EQ(reason, GROVE_EEXIST);
  } else {
    CHECK_EQ(rc, GROVE_EEXIST);
  }
  stop_sup(sup);
}

/* ---- shutdown ------------------------------------------------------------------------------ */

/* A child that traps exits and ignores the shutdown signal is killed once its
 * shutdown time has passed; the supervisor lives on. */
static void test_child_ignores_shutdown(void) {
  grove_child_spec specs[] = {CHILD("a", GROVE_PERMANENT), CHILD("x", GROVE_PERMANENT),
                              CHILD("y", GROVE_PERMANENT)};
  specs[1].opts.trap_exits = true;
  specs[1].shutdown = 0.1;
  specs[2].opts.trap_exits = true;
  specs[2].shutdown = 0.1;
  grove_ref sup = start(GROVE_ONE_FOR_ONE, specs, 3);
  grove_ref x = child(sup, "x");
  test_log_reset();
  double t0 = test_now();
  CHECK_EQ(grove_supervisor_terminate_child(sup, x), 0);
  double dt = test_now() - t0;
  CHECK(dt >= 0.09 && dt < 2.0);
  CHECK_LOG("x:ignore stop:x:killed");
  CHECK(!grove_actor_alive(x));
  CHECK(grove_actor_alive(sup));
  if (grove_actor_alive(sup)) {
    grove_supervisor_counts n = counts(sup);
    CHECK_EQ(n.specs, 2);
    CHECK_EQ(n.active, 2);
  }

  /* grove_supervisor_stop waits for it too, in reverse order. */
  test_log_reset();
  grove_ref y = GROVE_REF_NULL, a = GROVE_REF_NULL;
  if (grove_actor_alive(sup)) {
    y = child(sup, "y");
    a = child(sup, "a");
    t0 = test_now();
    stop_sup(sup);
    dt = test_now() - t0;
    CHECK(dt >= 0.09 && dt < 2.0);
    CHECK_LOG("y:ignore stop:y:killed stop:a:shutdown");
  }
  CHECK(!grove_actor_alive(y) && !grove_actor_alive(a));
  end_actor(sup);
}

/* grove_supervisor_stop honours its timeout: a child that ignores shutdown
 * and may take forever (shutdown < 0) makes it return GROVE_ETIMEDOUT. */
static void test_stop_timeout(void) {
  grove_child_spec specs[] = {CHILD("a", GROVE_PERMANENT), CHILD("x", GROVE_PERMANENT)};
  specs[1].opts.trap_exits = true;
  specs[1].shutdown = GROVE_FOREVER;
  grove_ref sup = start(GROVE_ONE_FOR_ONE, specs, 2);
  grove_ref a = child(sup, "a"), x = child(sup, "x");
  double t0 = test_now();
  CHECK_EQ(grove_supervisor_stop(sup, 0.1), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.09 && dt < 2.0);
  CHECK(grove_actor_alive(x));
  /* Clean up: the child, then what is left of the tree. */
  end_actor(x);
  int rc = grove_actor_wait(sup, NULL, 5.0);
  CHECK(rc == 0 || rc == GROVE_ENOENT);
  CHECK(!grove_actor_alive(sup));
  CHECK(!grove_actor_alive(a));
  end_actor(a);
}

/* From the hub's own context (a grove_hub_post callback) a supervisor cannot
 * be started: GROVE_EPERM, nothing spawned. */
static int post_start_rc = 1;
static void post_start(void *arg) {
  grove_supervisor_opts o = {.strategy = GROVE_ONE_FOR_ONE};
  grove_ref sup;
  post_start_rc = grove_supervisor_start(&o, abc, 3, &sup);
}

static void test_start_from_hub_eperm(void) {
  CHECK(grove_hub_current() != NULL); /* a hub to post to */
  CHECK_EQ(grove_hub_post(post_start, NULL), 0);
  settle();
  CHECK_EQ(post_start_rc, GROVE_EPERM);
  CHECK_LOG("");
}

/* shutdown 0 kills at once; the supervisor lives on. */
static void test_shutdown_zero_kills(void) {
  grove_child_spec specs[] = {CHILD("a", GROVE_PERMANENT), CHILD("b", GROVE_PERMANENT)};
  specs[0].shutdown = 0;
  grove_ref sup = start(GROVE_ONE_FOR_ONE, specs, 2);
  test_log_reset();
  CHECK_EQ(grove_supervisor_terminate_child(sup, child(sup, "a")), 0);
  CHECK_LOG("stop:a:killed");
  settle();
  CHECK(grove_actor_alive(sup));
  CHECK(grove_actor_alive(child(sup, "b")));
  end_actor(sup);
  settle();
}

/* grove_supervisor_stop returns once every child has ended, in reverse start
 * order - also children with the default shutdown of 0 (killed). */
static void test_stop_default_shutdown(void) {
  grove_child_spec specs[3];
  const char *ids[3] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++)
    specs[i] = (grove_child_spec){.id = ids[i], .cls = &worker_class, .arg = (void *)ids[i]};
  grove_ref sup = start(GROVE_ONE_FOR_ONE, specs, 3);
  grove_ref a = child(sup, "a"), b = child(sup, "b"), c = child(sup, "c");
  test_log_reset();
  CHECK_EQ(grove_supervisor_stop(sup, 5.0), 0);
  CHECK(!grove_actor_alive(sup));
  CHECK(!grove_actor_alive(a));
  CHECK(!grove_actor_alive(b));
  CHECK(!grove_actor_alive(c));
  CHECK_LOG("stop:c:killed stop:b:killed stop:a:killed");
  settle();
}

/* A supervisor killed outright takes its (linked) children with it. */
static void test_supervisor_killed(void) {
  grove_ref sup = start(GROVE_ONE_FOR_ONE, abc, 3);
  grove_ref a = child(sup, "a"), b = child(sup, "b"), c = child(sup, "c");
  CHECK_EQ(grove_actor_exit(sup, GROVE_EXIT_KILLED), 0);
  int reason = 0;
  CHECK_EQ(grove_actor_wait(sup, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_KILLED);
  settle();
  CHECK(!grove_actor_alive(a) && !grove_actor_alive(b) && !grove_actor_alive(c));
  end_actor(a);
  end_actor(b);
  end_actor(c);
}

TEST_MAIN(TEST(test_one_for_one), TEST(test_one_for_all), TEST(test_rest_for_one),
          TEST(test_temporary_siblings_not_restarted), TEST(test_restart_types),
          TEST(test_intensity_exceeded), TEST(test_intensity_period), TEST(test_simple_one_for_one),
          TEST(test_simple_one_for_one_transient), TEST(test_terminate_child),
          TEST(test_which_child_and_start_child), TEST(test_named_child_restarted),
          TEST(test_start_errors), TEST(test_child_init_fails), TEST(test_simple_child_init_fails),
          TEST(test_nested_supervisors), TEST(test_nested_start_order_depth_first),
          TEST(test_supervisor_via_spawn_ex), TEST(test_nested_supervisor_names),
          TEST(test_child_ignores_shutdown), TEST(test_shutdown_zero_kills),
          TEST(test_stop_timeout), TEST(test_start_from_hub_eperm),
          TEST(test_stop_default_shutdown), TEST(test_supervisor_killed),
          TEST(test_starts_side_by_side), TEST(test_restart_killed_in_init_is_retried))
