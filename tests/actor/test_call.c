/* tests/actor/test_call.c - grove_call / grove_reply: replies, error replies,
 * calls to dead actors, callees that die, timeouts and late replies, double
 * replies, calls to oneself, nested calls. */
#include "actor_util.h"

static uint64_t dl_count;
static char dl_tags[512];
static void dl_hook(grove_ref to, const grove_msg *msg, int reason, void *arg) {
  dl_count++;
  size_t n = strlen(dl_tags);
  snprintf(dl_tags + n, sizeof dl_tags - n, "%s%s:%s", n ? " " : "", grove_msg_tag(msg),
           grove_err_name(reason));
}
static void dl_reset(void) {
  dl_count = 0;
  dl_tags[0] = 0;
  grove_dead_letter_hook(dl_hook, NULL);
}

/* The server: "add" [a, b] replies "sum" [a + b]; "err" [code] replies with
 * an error; "slow" [secs, v] sleeps then replies [v]; "die" ends without
 * replying; "reply-die" replies then stops; "twice" replies twice;
 * "keep" takes the request and never replies (until "release"). */
typedef struct server {
  grove_actor base;
  grove_msg *held;
} server;

static int reply_rc[4];

static int server_receive(grove_actor *self, grove_msg *msg) {
  server *s = (server *)self;
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  test_log("S:%s%s", grove_msg_tag(msg), grove_msg_is_call(msg) ? "(call)" : "");
  if (grove_msg_is(msg, "add")) {
    grove_msg *r = grove_msg_new("sum");
    grove_msg_pack_int(r, msg_int_at(msg, 0) + msg_int_at(msg, 1));
    reply_rc[0] = grove_reply(msg, r);
  } else if (grove_msg_is(msg, "err")) {
    reply_rc[0] = grove_reply_error(msg, (int)msg_int_at(msg, 0));
  } else if (grove_msg_is(msg, "slow")) {
    double secs = 0;
    grove_msg_double(msg, 0, &secs);
    int rc = grove_sleep(secs);
    test_log("S:slept=%s", grove_err_name(rc));
    if (rc != 0)
      return 0; /* cancelled: no reply */
    grove_msg *r = grove_msg_new("slow-reply");
    grove_msg_pack_int(r, msg_int_at(msg, 1));
    reply_rc[0] = grove_reply(msg, r);
    test_log("S:replied=%d", reply_rc[0]);
  } else if (grove_msg_is(msg, "die")) {
    return GROVE_EAGAIN;
  } else if (grove_msg_is(msg, "reply-die")) {
    grove_reply(msg, msg_int("bye", 1));
    return GROVE_STOP;
  } else if (grove_msg_is(msg, "twice")) {
    reply_rc[0] = grove_reply(msg, msg_int("one", 1));
    reply_rc[1] = grove_reply(msg, msg_int("two", 2));
    reply_rc[2] = grove_reply_error(msg, GROVE_EPERM);
  } else if (grove_msg_is(msg, "noncall")) {
    reply_rc[0] = grove_reply(msg, grove_msg_new("nope"));
    reply_rc[1] = grove_reply_error(msg, GROVE_EPERM);
    reply_rc[2] = grove_reply(msg, NULL);
    reply_rc[3] = grove_reply(NULL, grove_msg_new("nope"));
  } else if (grove_msg_is(msg, "keep")) {
    grove_msg_free(s->held); /* never answered: its caller keeps waiting */
    s->held = grove_msg_take(msg);
  } else if (grove_msg_is(msg, "release")) {
    if (s->held)
      reply_rc[0] = grove_reply(s->held, grove_msg_new("released"));
    grove_msg_free(s->held);
    s->held = NULL;
  } else if (grove_msg_is(msg, "self")) {
    grove_msg *r = NULL;
    reply_rc[0] = grove_call(grove_self(), grove_msg_new("add"), &r, 1.0);
    reply_rc[1] = r == NULL;
  }
  return 0;
}

static void server_terminate(grove_actor *self, int reason) {
  server *s = (server *)self;
  grove_msg_free(s->held);
}

static const grove_actor_class server_class = {.name = "server",
                                               .size = sizeof(server),
                                               .receive = server_receive,
                                               .terminate = server_terminate};

static void stop_server(grove_ref s) {
  CHECK_EQ(send_tag(s, "stop"), 0);
  int rc = grove_actor_wait(s, NULL, 5.0);
  CHECK(rc == 0 || rc == GROVE_ENOENT);
}

static void test_call_reply(void) {
  grove_ref s = grove_actor_spawn(&server_class, NULL);
  grove_msg *req = grove_msg_new("add");
  grove_msg_pack_int(req, 2);
  grove_msg_pack_int(req, 40);
  grove_msg *r = NULL;
  CHECK_EQ(grove_call(s, req, &r, 5.0), 0);
  CHECK(r != NULL);
  if (r) {
    CHECK_STR(grove_msg_tag(r), "sum");
    CHECK_EQ(msg_int_at(r, 0), 42);
    CHECK(grove_ref_eq(grove_msg_sender(r), s));
    grove_msg_free(r);
  }
  CHECK_EQ(reply_rc[0], 0);
  /* A plain send is not a call. */
  CHECK_EQ(send_tag(s, "plain"), 0);
  settle();
  CHECK_LOG("S:add(call) S:plain");
  /* Many calls in a row. */
  int bad = 0;
  for (int i = 0; i < 200; i++) {
    req = grove_msg_new("add");
    grove_msg_pack_int(req, i);
    grove_msg_pack_int(req, 1);
    r = NULL;
    bad += grove_call(s, req, &r, 5.0) != 0 || msg_int_at(r, 0) != i + 1;
    grove_msg_free(r);
  }
  CHECK_EQ(bad, 0);
  stop_server(s);
}

static void test_call_bad_args(void) {
  grove_ref s = grove_actor_spawn(&server_class, NULL);
  grove_msg *r = (grove_msg *)&r;
  CHECK_EQ(grove_call(s, NULL, &r, 1.0), GROVE_EINVAL);
  CHECK(r == NULL);
  CHECK_EQ(grove_call(s, grove_msg_new("add"), NULL, 1.0), GROVE_EINVAL);
  stop_server(s);
  CHECK_LOG(""); /* nothing reached the server */
}

/* grove_reply_error: the call returns the code and no reply; 0 becomes a
 * failure too. */
static void test_reply_error(void) {
  grove_ref s = grove_actor_spawn(&server_class, NULL);
  grove_msg *r = (grove_msg *)&r;
  CHECK_EQ(grove_call(s, msg_int("err", GROVE_EAGAIN), &r, 5.0), GROVE_EAGAIN);
  CHECK(r == NULL);
  CHECK_EQ(reply_rc[0], 0);
  r = (grove_msg *)&r;
  int rc = grove_call(s, msg_int("err", 0), &r, 5.0);
  CHECK(rc < 0);
  CHECK(r == NULL);
  stop_server(s);
}

/* A call to a ref that names no live actor: GROVE_ENOENT at once, and the
 * request is a dead letter. */
static void test_call_dead_or_unknown(void) {
  dl_reset();
  grove_msg *r = (grove_msg *)&r;
  CHECK_EQ(grove_call(GROVE_REF_NULL, grove_msg_new("add"), &r, 5.0), GROVE_ENOENT);
  CHECK(r == NULL);
  CHECK_EQ(grove_call((grove_ref){0, 3, 4242}, grove_msg_new("add"), &r, 5.0), GROVE_ENOENT);
  grove_ref s = grove_actor_spawn(&server_class, NULL);
  stop_server(s);
  double t0 = test_now();
  CHECK_EQ(grove_call(s, grove_msg_new("add"), &r, 5.0), GROVE_ENOENT);
  CHECK(test_now() - t0 < 1.0);
  CHECK_EQ(grove_dead_letter_count(), 3);
  CHECK_EQ(dl_count, 3);
  CHECK_STR(dl_tags, "add:GROVE_ENOENT add:GROVE_ENOENT add:GROVE_ENOENT");
}

static grove_ref victim;
static void *killer(void *arg) {
  grove_sleep(0.05);
  test_log("kill");
  grove_actor_exit(victim, GROVE_EXIT_KILLED);
  return NULL;
}

/* The callee ends before it replies: the call returns GROVE_EEXITED
 * promptly, long before its timeout, with the callee's exit reason -
 * whether it ends while processing the request or after it took the
 * request to answer later. */
static void test_callee_dies(void) {
  grove_ref s = grove_actor_spawn(&server_class, NULL);
  grove_msg *r = (grove_msg *)&r;
  double t0 = test_now();
  int why = 0;
  CHECK_EQ(grove_call_ex(s, grove_msg_new("die"), &r, 5.0, &why), GROVE_EEXITED);
  CHECK_EQ(why, GROVE_EAGAIN); /* what its receive failed with */
  CHECK(test_now() - t0 < 1.0);
  CHECK(r == NULL);
  CHECK(!grove_actor_alive(s));
  /* ...and a call to it now: no such actor. */
  why = 1;
  CHECK_EQ(grove_call_ex(s, grove_msg_new("add"), &r, 5.0, &why), GROVE_ENOENT);
  CHECK_EQ(why, 0);

  victim = grove_actor_spawn(&server_class, NULL);
  grove_greenlet *g = grove_spawn(killer, NULL);
  r = (grove_msg *)&r;
  t0 = test_now();
  CHECK_EQ(grove_call_ex(victim, grove_msg_new("keep"), &r, 5.0, &why), GROVE_EEXITED);
  CHECK_EQ(why, GROVE_EXIT_KILLED);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 1.0);
  CHECK(r == NULL);
  CHECK_EQ(grove_join(g, 5.0), 0);
  grove_greenlet_release(g);
  CHECK_LOG("S:die(call) S:keep(call) kill");
}

/* A callee killed while it sleeps inside the call's receive, and a callee
 * killed while the request still waits in its inbox: both calls return
 * GROVE_EEXITED (reason killed) as soon as it ends. */
static void test_callee_killed_promptly(void) {
  victim = grove_actor_spawn(&server_class, NULL);
  grove_greenlet *g = grove_spawn(killer, NULL);
  grove_msg *r = (grove_msg *)&r;
  double t0 = test_now();
  grove_msg *req = grove_msg_new("slow");
  grove_msg_pack_double(req, 3.0);
  grove_msg_pack_int(req, 1);
  int why = 0;
  CHECK_EQ(grove_call_ex(victim, req, &r, 5.0, &why), GROVE_EEXITED);
  CHECK_EQ(why, GROVE_EXIT_KILLED);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 1.0);
  CHECK(r == NULL);
  CHECK_EQ(grove_join(g, 5.0), 0);
  grove_greenlet_release(g);
  CHECK_LOG("S:slow(call) kill S:slept=GROVE_ECANCELED");

  test_log_reset();
  victim = grove_actor_spawn(&server_class, NULL);
  CHECK_EQ(grove_send(victim, msg_double("sleep-first", 0)), 0);
  req = grove_msg_new("slow");
  grove_msg_pack_double(req, 3.0);
  grove_msg_pack_int(req, 1);
  CHECK_EQ(grove_send(victim, req), 0); /* busy for 3 s */
  g = grove_spawn(killer, NULL);
  t0 = test_now();
  why = 0;
  CHECK_EQ(grove_call_ex(victim, grove_msg_new("add"), &r, 5.0, &why), GROVE_EEXITED);
  CHECK_EQ(why, GROVE_EXIT_KILLED); /* the request was still queued */
  dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 1.0);
  CHECK_EQ(grove_join(g, 5.0), 0);
  grove_greenlet_release(g);
  CHECK_LOG("S:sleep-first S:slow kill S:slept=GROVE_ECANCELED");
}

/* The callee replies and then ends at once: the reply is delivered. */
static void test_reply_then_die(void) {
  grove_ref s = grove_actor_spawn(&server_class, NULL);
  grove_msg *r = NULL;
  CHECK_EQ(grove_call(s, grove_msg_new("reply-die"), &r, 5.0), 0);
  CHECK(r && grove_msg_is(r, "bye"));
  grove_msg_free(r);
  CHECK_EQ(grove_actor_wait(s, NULL, 5.0) == 0 || !grove_actor_alive(s), 1);
}

/* A call that times out returns GROVE_ETIMEDOUT after its timeout; the late
 * reply is a dead letter (grove_reply still returns 0) and is never taken
 * for the answer to the next call. */
static void test_timeout_then_late_reply(void) {
  dl_reset();
  grove_ref s = grove_actor_spawn(&server_class, NULL);
  grove_msg *req = grove_msg_new("slow");
  grove_msg_pack_double(req, 0.2);
  grove_msg_pack_int(req, 1);
  grove_msg *r = (grove_msg *)&r;
  double t0 = test_now();
  CHECK_EQ(grove_call(s, req, &r, 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 0.19);
  CHECK(r == NULL);
  /* The next call is queued behind the slow one; the late reply to the
   * first arrives while this one waits. */
  req = grove_msg_new("add");
  grove_msg_pack_int(req, 100);
  grove_msg_pack_int(req, 1);
  CHECK_EQ(grove_call(s, req, &r, 5.0), 0);
  CHECK(r != NULL);
  if (r) {
    CHECK_STR(grove_msg_tag(r), "sum");
    CHECK_EQ(msg_int_at(r, 0), 101);
    grove_msg_free(r);
  }
  CHECK_LOG("S:slow(call) S:slept=GROVE_OK S:replied=0 S:add(call)");
  CHECK_EQ(dl_count, 1);
  CHECK_EQ(grove_dead_letter_count(), 1);
  CHECK_STR(dl_tags, "slow-reply:GROVE_ETIMEDOUT");

  /* A late reply while the caller sleeps (blocked, but not in a call). */
  test_log_reset();
  req = grove_msg_new("slow");
  grove_msg_pack_double(req, 0.05);
  grove_msg_pack_int(req, 2);
  CHECK_EQ(grove_call(s, req, &r, 0.01), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_sleep(0.1), 0);
  CHECK_LOG("S:slow(call) S:slept=GROVE_OK S:replied=0");
  CHECK_EQ(dl_count, 2);
  stop_server(s);
}

/* A greenlet killed while it waits in grove_call gets GROVE_ECANCELED; the
 * reply that comes later is a dead letter. */
static grove_ref cancel_target;
static void *caller_greenlet(void *arg) {
  grove_msg *req = grove_msg_new("slow");
  grove_msg_pack_double(req, 0.05);
  grove_msg_pack_int(req, 3);
  grove_msg *r = (grove_msg *)&r;
  int rc = grove_call(cancel_target, req, &r, 5.0);
  test_log("call=%s null=%d", grove_err_name(rc), r == NULL);
  grove_msg_free(r == (grove_msg *)&r ? NULL : r);
  return NULL;
}

static void test_caller_cancelled(void) {
  dl_reset();
  cancel_target = grove_actor_spawn(&server_class, NULL);
  grove_greenlet *g = grove_spawn(caller_greenlet, NULL);
  settle();
  CHECK_EQ(grove_kill(g, 5.0), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_sleep(0.1), 0);
  CHECK_LOG("S:slow(call) call=GROVE_ECANCELED null=1 S:slept=GROVE_OK S:replied=0");
  CHECK_EQ(dl_count, 1);
  stop_server(cancel_target);
}

/* Answering twice: GROVE_EEXIST (the second reply is dropped); replying to a
 * message that is not a call: GROVE_EINVAL. */
static void test_reply_twice_and_noncall(void) {
  grove_ref s = grove_actor_spawn(&server_class, NULL);
  grove_msg *r = NULL;
  CHECK_EQ(grove_call(s, grove_msg_new("twice"), &r, 5.0), 0);
  CHECK(r && grove_msg_is(r, "one"));
  grove_msg_free(r);
  settle();
  CHECK_EQ(reply_rc[0], 0);
  CHECK_EQ(reply_rc[1], GROVE_EEXIST);
  CHECK_EQ(reply_rc[2], GROVE_EEXIST);

  CHECK_EQ(send_tag(s, "noncall"), 0);
  settle();
  CHECK_EQ(reply_rc[0], GROVE_EINVAL);
  CHECK_EQ(reply_rc[1], GROVE_EINVAL);
  CHECK_EQ(reply_rc[2], GROVE_EINVAL);
  CHECK_EQ(reply_rc[3], GROVE_EINVAL);
  stop_server(s);
}

/* A request taken by the callee and answered later, from another message;
 * the same after the caller gave up: a dead letter. */
static grove_ref deferred_callee;
static void *deferred_caller(void *arg) {
  grove_msg *r = NULL;
  int rc = grove_call(deferred_callee, grove_msg_new("keep"), &r, 5.0);
  test_log("got=%s,%s", grove_err_name(rc), r ? grove_msg_tag(r) : "-");
  grove_msg_free(r);
  return NULL;
}

static void test_deferred_reply(void) {
  dl_reset();
  deferred_callee = grove_actor_spawn(&server_class, NULL);
  grove_greenlet *g = grove_spawn(deferred_caller, NULL);
  settle();
  test_log("main:release");
  CHECK_EQ(send_tag(deferred_callee, "release"), 0);
  CHECK_EQ(grove_join(g, 5.0), 0);
  grove_greenlet_release(g);
  CHECK_EQ(reply_rc[0], 0);
  CHECK_LOG("S:keep(call) main:release S:release got=GROVE_OK,released");
  CHECK_EQ(dl_count, 0);

  grove_msg *r = NULL;
  CHECK_EQ(grove_call(deferred_callee, grove_msg_new("keep"), &r, 0.02), GROVE_ETIMEDOUT);
  reply_rc[0] = 1;
  CHECK_EQ(send_tag(deferred_callee, "release"), 0);
  settle();
  CHECK_EQ(reply_rc[0], 0); /* the caller gave up: still 0 */
  CHECK_EQ(dl_count, 1);
  CHECK_STR(dl_tags, "released:GROVE_ETIMEDOUT");
  stop_server(deferred_callee);
}

/* A call to oneself would wait forever: GROVE_EDEADLK at once. */
static void test_call_self(void) {
  grove_ref s = grove_actor_spawn(&server_class, NULL);
  CHECK_EQ(send_tag(s, "self"), 0);
  double t0 = test_now();
  stop_server(s);
  CHECK(test_now() - t0 < 0.9);
  CHECK_EQ(reply_rc[0], GROVE_EDEADLK);
  CHECK_EQ(reply_rc[1], 1);
}

/* Nested calls A -> B -> C: each callee answers its caller in turn. */
typedef struct relay {
  grove_actor base;
  grove_ref next;
  int add;
} relay;

typedef struct relay_arg {
  grove_ref next;
  int add;
} relay_arg;

static int relay_init(grove_actor *self, void *arg) {
  relay *r = (relay *)self;
  relay_arg *a = arg;
  r->next = a->next;
  r->add = a->add;
  return 0;
}

static int relay_receive(grove_actor *self, grove_msg *msg) {
  relay *r = (relay *)self;
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  int64_t v = msg_int_at(msg, 0);
  test_log("in:%d", r->add);
  if (!grove_ref_is_null(r->next)) {
    grove_msg *sub = NULL;
    int rc = grove_call(r->next, msg_int("get", v), &sub, 5.0);
    if (rc != 0) {
      grove_reply_error(msg, rc);
      return 0;
    }
    v = msg_int_at(sub, 0);
    grove_msg_free(sub);
  }
  test_log("out:%d", r->add);
  grove_reply(msg, msg_int("val", v + r->add));
  return 0;
}

static const grove_actor_class relay_class = {
    .name = "relay", .size = sizeof(relay), .init = relay_init, .receive = relay_receive};

static relay_arg relay_args[3];

static void test_nested_calls(void) {
  relay_args[2] = (relay_arg){GROVE_REF_NULL, 1};
  grove_ref c = grove_actor_spawn(&relay_class, &relay_args[2]);
  relay_args[1] = (relay_arg){c, 10};
  grove_ref b = grove_actor_spawn(&relay_class, &relay_args[1]);
  relay_args[0] = (relay_arg){b, 100};
  grove_ref a = grove_actor_spawn(&relay_class, &relay_args[0]);
  grove_msg *r = NULL;
  CHECK_EQ(grove_call(a, msg_int("get", 1000), &r, 5.0), 0);
  CHECK_EQ(msg_int_at(r, 0), 1111);
  grove_msg_free(r);
  CHECK_LOG("in:100 in:10 in:1 out:1 out:10 out:100");

  /* The innermost one dies: the error travels back up. */
  test_log_reset();
  CHECK_EQ(send_tag(c, "stop"), 0);
  CHECK_EQ(grove_actor_wait(c, NULL, 5.0), 0);
  r = NULL;
  CHECK_EQ(grove_call(a, msg_int("get", 1), &r, 5.0), GROVE_ENOENT);
  CHECK(r == NULL);
  CHECK_LOG("in:100 in:10");
  CHECK_EQ(send_tag(a, "stop"), 0);
  CHECK_EQ(send_tag(b, "stop"), 0);
  CHECK_EQ(grove_actor_wait(a, NULL, 5.0), 0);
  await_end(b);
}

/* Three callers waiting on the same callee, which ends: all return
 * GROVE_EEXITED. */
static grove_ref shared_callee;
static void *waiting_caller(void *arg) {
  grove_msg *r = NULL;
  int rc = grove_call(shared_callee, grove_msg_new("keep"), &r, 5.0);
  test_log("c%d=%s", IVAL(arg), grove_err_name(rc));
  grove_msg_free(r);
  return NULL;
}

static void test_all_callers_woken(void) {
  shared_callee = grove_actor_spawn(&server_class, NULL);
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(waiting_caller, IARG(i));
  settle();
  CHECK_EQ(grove_send(shared_callee, msg_int("fail", 0)), 0); /* ignored */
  double t0 = test_now();
  CHECK_EQ(grove_send(shared_callee, grove_msg_new("die")), 0);
  CHECK_EQ(grove_joinall(g, 3, 5.0), 0);
  CHECK(test_now() - t0 < 1.0);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(g[i]);
  CHECK_LOG("S:keep(call) S:keep(call) S:keep(call) S:fail S:die c0=GROVE_EEXITED "
            "c1=GROVE_EEXITED c2=GROVE_EEXITED");
}

TEST_MAIN(TEST(test_call_reply), TEST(test_call_bad_args), TEST(test_reply_error),
          TEST(test_call_dead_or_unknown), TEST(test_callee_dies),
          TEST(test_callee_killed_promptly), TEST(test_reply_then_die),
          TEST(test_timeout_then_late_reply), TEST(test_caller_cancelled),
          TEST(test_reply_twice_and_noncall), TEST(test_deferred_reply), TEST(test_call_self),
          TEST(test_nested_calls), TEST(test_all_callers_woken))
