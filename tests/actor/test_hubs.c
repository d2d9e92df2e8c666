/* tests/actor/test_hubs.c - several hubs in one process (grove/hubs.h):
 * starting and stopping them, running work on another hub, and every actor
 * operation across hubs - send (order, bounded inboxes), call/reply,
 * monitors, links, exit signals, trap_exits, the registry, stale refs - and
 * the misuse of one hub's objects from another hub's thread. Every case
 * starts and stops its hubs, and ends, as every test does, with
 * grove_hub_close() == 0 on hub 0. */
#include "actor_util.h"

#include <stdatomic.h>

#define N_ORDER 20000

/* ---- helpers ------------------------------------------------------------------- */

/* A counter that checks the order of "seq" messages from each sender (by
 * the first int of the body: the sender's number, then the sequence). */
typedef struct counter {
  grove_actor base;
  int64_t next[4];
  int64_t bad;
  int64_t got;
} counter;

static _Atomic int64_t counter_got, counter_bad;
static _Atomic int counter_hub = -1;
static _Atomic int terminated_reason = 100;

static int counter_receive(grove_actor *self, grove_msg *m) {
  counter *c = (counter *)self;
  counter_hub = (int)grove_hub_index();
  if (grove_msg_is(m, "seq")) {
    int64_t who = msg_int_at(m, 0), seq = msg_int_at(m, 1);
    if (who < 0 || who > 3 || seq != c->next[who])
      c->bad++;
    else
      c->next[who]++;
    c->got++;
    counter_got = c->got;
    counter_bad = c->bad;
    return 0;
  }
  if (grove_msg_is(m, "sleep")) {
    grove_sleep((double)msg_int_at(m, 0) / 1000.0);
    return 0;
  }
  if (grove_msg_is_call(m)) {
    if (grove_msg_is(m, "where")) {
      grove_msg *r = grove_msg_new("here");
      grove_msg_pack_int(r, (int64_t)grove_hub_index());
      grove_msg_pack_int(r, c->got);
      grove_reply(m, r);
    } else if (grove_msg_is(m, "slow")) {
      grove_sleep((double)msg_int_at(m, 0) / 1000.0);
      grove_reply(m, grove_msg_new("done"));
    } else if (grove_msg_is(m, "die")) {
      return GROVE_EFAILED; /* ends without answering */
    } else if (grove_msg_is(m, "fail")) {
      grove_reply_error(m, GROVE_EAGAIN);
    }
    return 0;
  }
  if (grove_msg_is(m, "stop"))
    return GROVE_STOP;
  return 0;
}

static void counter_terminate(grove_actor *self, int reason) {
  (void)self;
  terminated_reason = reason;
}

static const grove_actor_class counter_class = {.name = "counter",
                                                .size = sizeof(counter),
                                                .receive = counter_receive,
                                                .terminate = counter_terminate};

static grove_msg *seq_msg(int who, int64_t seq) {
  grove_msg *m = grove_msg_new("seq");
  grove_msg_pack_int(m, who);
  grove_msg_pack_int(m, seq);
  return m;
}

/* Wait (bounded) until counter_got reaches n. */
static int await_got(int64_t n) {
  for (int i = 0; i < 5000 && counter_got < n; i++)
    grove_sleep(0.001);
  return counter_got >= n;
}

static int call_where(grove_ref to, int64_t *hub, int64_t *got) {
  grove_msg *r = NULL;
  int rc = grove_call(to, grove_msg_new("where"), &r, 10.0);
  if (rc == 0) {
    *hub = msg_int_at(r, 0);
    if (got)
      *got = msg_int_at(r, 1);
    grove_msg_free(r);
  }
  return rc;
}

static void reset(void) {
  counter_got = counter_bad = 0;
  counter_hub = -1;
  terminated_reason = 100;
}

/* ---- start, stop, index --------------------------------------------------------- */

static void *where_am_i(void *arg) {
  (void)arg;
  return (void *)(intptr_t)(grove_hub_index() + 100);
}

static void *sleepy_hub(void *arg) {
  (void)arg;
  grove_sleep(0.01);
  return (void *)(intptr_t)(grove_hub_index() + 200);
}

static void test_start_stop(void) {
  CHECK_EQ(grove_hub_count(), 1);
  CHECK_EQ(grove_hub_index(), 0);
  CHECK_EQ(grove_hubs_stop(1.0), 0); /* none started: nothing to do */
  /* Without grove_hubs_start the caller's hub is hub 0 and takes work too
   * (its answer comes through the hub's own queue, a sleeping fn too). */
  void *v0 = NULL;
  CHECK_EQ(grove_hub_call_on(0, where_am_i, NULL, &v0, 10.0), 0);
  CHECK_EQ((intptr_t)v0, 100);
  CHECK_EQ(grove_hub_call_on(0, sleepy_hub, NULL, &v0, 10.0), 0);
  CHECK_EQ((intptr_t)v0, 200);
  CHECK_EQ(grove_hub_call_on(1, where_am_i, NULL, NULL, 1.0), GROVE_EINVAL);
  CHECK_EQ(grove_hubs_start(3), 0);
  CHECK_EQ(grove_hub_count(), 3);
  CHECK_EQ(grove_hub_index(), 0);
  CHECK_EQ(grove_hubs_start(2), GROVE_EEXIST);
  CHECK_EQ(grove_hub_close(), GROVE_EBUSY); /* hub 0 is grouped until the stop */
  for (size_t h = 0; h < 3; h++) {
    void *v = NULL;
    CHECK_EQ(grove_hub_call_on(h, where_am_i, NULL, &v, 10.0), 0);
    CHECK_EQ((intptr_t)v, (intptr_t)h + 100);
  }
  CHECK_EQ(grove_hub_call_on(3, where_am_i, NULL, NULL, 1.0), GROVE_EINVAL);
  CHECK_EQ(grove_hub_call_on(1, NULL, NULL, NULL, 1.0), GROVE_EINVAL);
  CHECK_EQ(grove_hub_run_on(7, where_am_i, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_hub_call_on(1, where_am_i, NULL, NULL, NAN), GROVE_EINVAL);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
  CHECK_EQ(grove_hub_count(), 1);
  /* Again: the process can start hubs anew; n = 0 is one per CPU. */
  CHECK_EQ(grove_hubs_start(0), 0);
  CHECK(grove_hub_count() >= 1);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
}

static _Atomic int ran_on = -1;
static void *note_hub(void *arg) {
  (void)arg;
  grove_sleep(0.001); /* a greenlet: it may block */
  ran_on = (int)grove_hub_index();
  return NULL;
}

static void test_run_on(void) {
  ran_on = -1;
  CHECK_EQ(grove_hubs_start(2), 0);
  CHECK_EQ(grove_hub_run_on(1, note_hub, NULL), 0);
  for (int i = 0; i < 5000 && ran_on != 1; i++)
    grove_sleep(0.001);
  CHECK_EQ(ran_on, 1);
  CHECK_EQ(grove_hub_run_on(0, note_hub, NULL), 0); /* the caller's own hub */
  for (int i = 0; i < 5000 && ran_on != 0; i++)
    grove_sleep(0.001);
  CHECK_EQ(ran_on, 0);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
}

static void *sleepy(void *arg) {
  (void)arg;
  grove_sleep(0.2);
  return (void *)7;
}

/* call_on's timeout: the function goes on, its value is dropped. */
static void test_call_on_timeout(void) {
  CHECK_EQ(grove_hubs_start(2), 0);
  void *v = (void *)1;
  CHECK_EQ(grove_hub_call_on(1, sleepy, NULL, &v, 0.01), GROVE_ETIMEDOUT);
  CHECK(v == NULL);
  CHECK_EQ(grove_hub_call_on(1, sleepy, NULL, &v, 10.0), 0);
  CHECK_EQ((intptr_t)v, 7);
  CHECK_EQ(grove_hubs_stop(5.0), 0);
}

/* ---- spawn_on and send ------------------------------------------------------------ */

static void test_spawn_on(void) {
  reset();
  grove_ref r;
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, NULL, &r), GROVE_EINVAL); /* one hub */
  CHECK_EQ(grove_hubs_start(2), 0);
  CHECK_EQ(grove_actor_spawn_on(2, &counter_class, NULL, NULL, &r), GROVE_EINVAL);
  CHECK(grove_ref_is_null(r));
  CHECK_EQ(grove_actor_spawn_on(1, NULL, NULL, NULL, &r), GROVE_EINVAL);
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, NULL, &r), 0);
  CHECK(!grove_ref_is_null(r));
  CHECK_EQ(r.node, 0);
  CHECK(grove_actor_alive(r)); /* any hub of the process */
  int64_t hub = -1;
  CHECK_EQ(call_where(r, &hub, NULL), 0);
  CHECK_EQ(hub, 1);
  grove_ref here;
  CHECK_EQ(grove_actor_spawn_on(0, &counter_class, NULL, NULL, &here), 0);
  CHECK(grove_actor_alive(here));
  CHECK_EQ(call_where(here, &hub, NULL), 0);
  CHECK_EQ(hub, 0);
  end_actor(here);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
  CHECK_EQ(terminated_reason, GROVE_EXIT_SHUTDOWN); /* stopped as a supervisor does */
}

/* Messages from each sender arrive in the order sent; from two hubs at once. */
static void *send_many(void *arg) {
  grove_ref to = *(grove_ref *)arg;
  int who = (int)grove_hub_index();
  for (int64_t i = 0; i < N_ORDER; i++)
    if (grove_send(to, seq_msg(who, i)) != 0)
      return (void *)1;
  return NULL;
}

static void test_send_order(void) {
  reset();
  CHECK_EQ(grove_hubs_start(3), 0);
  grove_ref r;
  CHECK_EQ(grove_actor_spawn_on(2, &counter_class, NULL, NULL, &r), 0);
  grove_ref *arg = malloc(sizeof *arg);
  *arg = r;
  CHECK_EQ(grove_hub_run_on(1, send_many, arg), 0);
  CHECK(send_many(arg) == NULL);
  CHECK(await_got(2 * N_ORDER));
  CHECK_EQ(counter_got, 2 * N_ORDER);
  CHECK_EQ(counter_bad, 0);
  CHECK_EQ(counter_hub, 2);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
  free(arg);
}

/* A send to an actor of another hub that has ended is a dead letter there;
 * after the hubs stop, refs to their actors fail here. */
static void test_stale_refs(void) {
  reset();
  CHECK_EQ(grove_hubs_start(2), 0);
  grove_ref r;
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, NULL, &r), 0);
  CHECK_EQ(send_tag(r, "stop"), 0);
  for (int i = 0; i < 5000 && terminated_reason != GROVE_EXIT_NORMAL; i++)
    grove_sleep(0.001);
  CHECK_EQ(terminated_reason, GROVE_EXIT_NORMAL);
  /* terminate runs just before the actor is gone: wait for that (bounded). */
  for (int i = 0; i < 5000 && grove_actor_alive(r); i++)
    grove_sleep(0.001);
  CHECK(!grove_actor_alive(r));
  uint64_t dead = grove_dead_letter_count();
  CHECK_EQ(send_tag(r, "x"), GROVE_ENOENT); /* at once, as locally */
  CHECK_EQ(grove_dead_letter_count(), dead + 1);
  grove_msg *reply = NULL;
  CHECK_EQ(grove_call(r, grove_msg_new("where"), &reply, 5.0), GROVE_ENOENT);
  /* A ref with a forged hub index. */
  grove_ref forged = r;
  forged.id |= (uint64_t)9 << 32;
  CHECK_EQ(send_tag(forged, "x"), GROVE_ENOENT);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
  CHECK_EQ(send_tag(r, "x"), GROVE_ENOENT);
  CHECK_EQ(grove_call(r, grove_msg_new("where"), &reply, 1.0), GROVE_ENOENT);
  CHECK_EQ(grove_actor_exit(r, GROVE_EXIT_KILLED), GROVE_ENOENT);
}

/* ---- alive, stats and dead letters across hubs ------------------------------------- */

static void *alive_from_here(void *arg) {
  return (void *)(intptr_t)grove_actor_alive(*(grove_ref *)arg);
}

static void test_alive_stats(void) {
  reset();
  CHECK_EQ(grove_hubs_start(2), 0);
  grove_ref r, here;
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, NULL, &r), 0);
  CHECK_EQ(grove_actor_spawn_on(0, &counter_class, NULL, NULL, &here), 0);
  CHECK(grove_actor_alive(r));
  void *v = NULL;
  CHECK_EQ(grove_hub_call_on(1, alive_from_here, &here, &v, 5.0), 0); /* hub 0's, from hub 1 */
  CHECK_EQ((intptr_t)v, 1);
  /* Five messages and a call: six received, none waiting, not running. */
  for (int i = 0; i < 5; i++)
    CHECK_EQ(grove_send(r, seq_msg(0, i)), 0);
  int64_t hub = -1, got = -1;
  CHECK_EQ(call_where(r, &hub, &got), 0);
  CHECK_EQ(hub, 1);
  grove_actor_stats st = {0};
  CHECK_EQ(grove_actor_stats_get(r, &st), 0);
  CHECK_EQ(st.processed, 6);
  CHECK_EQ(st.inbox_len, 0);
  CHECK(!st.running);
  /* Held in a receive with three behind it. */
  CHECK_EQ(grove_send(r, msg_int("sleep", 300)), 0);
  for (int i = 5; i < 8; i++)
    CHECK_EQ(grove_send(r, seq_msg(0, i)), 0);
  grove_sleep(0.05);
  CHECK_EQ(grove_actor_stats_get(r, &st), 0);
  CHECK(st.running);
  CHECK_EQ(st.inbox_len, 3);
  CHECK_EQ(st.processed, 6);
  /* Killed there: the three waiting become dead letters of hub 1, counted
   * in the total that every hub reads. */
  uint64_t dead = grove_dead_letter_count();
  CHECK_EQ(grove_actor_exit(r, GROVE_EXIT_KILLED), 0);
  int reason = 0;
  CHECK_EQ(grove_actor_wait(r, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EXIT_KILLED);
  CHECK(!grove_actor_alive(r));
  CHECK_EQ(grove_actor_stats_get(r, &st), GROVE_ENOENT);
  for (int i = 0; i < 5000 && grove_dead_letter_count() < dead + 3; i++)
    grove_sleep(0.001);
  CHECK_EQ(grove_dead_letter_count(), dead + 3);
  CHECK_EQ(grove_send(r, seq_msg(0, 9)), GROVE_ENOENT);
  CHECK_EQ(grove_dead_letter_count(), dead + 4);
  /* Many actors on hub 1 (its slot table grows while hub 0 reads it). */
  grove_ref many[600];
  for (int i = 0; i < 600; i++) {
    CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, NULL, &many[i]), 0);
    CHECK(grove_actor_alive(many[i]));
    CHECK(grove_actor_alive(many[i / 2]));
  }
  for (int i = 0; i < 600; i++)
    CHECK_EQ(send_tag(many[i], "stop"), 0);
  for (int i = 0; i < 5000 && grove_actor_alive(many[599]); i++)
    grove_sleep(0.001);
  for (int i = 0; i < 600; i++)
    CHECK_EQ(grove_actor_wait(many[i], NULL, 5.0), 0);
  CHECK(!grove_actor_alive(many[0]));
  CHECK_EQ(send_tag(here, "stop"), 0);
  CHECK_EQ(grove_actor_wait(here, NULL, 5.0), 0);
  CHECK(!grove_actor_alive(here));
  CHECK_EQ(grove_hubs_stop(1.0), 0);
  CHECK(!grove_actor_alive(many[1])); /* its hub is gone */
}

/* ---- bounded inboxes across hubs --------------------------------------------------- */

static void test_bounded(void) {
  reset();
  CHECK_EQ(grove_hubs_start(2), 0);
  grove_actor_opts o = {.inbox_max = 1};
  grove_ref r;
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, &o, &r), 0);
  /* The actor sleeps 300 ms in receive; one message fits in the inbox. */
  CHECK_EQ(grove_send(r, msg_int("sleep", 300)), 0);
  grove_sleep(0.05); /* hub 1 takes it off the inbox and sleeps */
  CHECK_EQ(grove_send_timeout(r, seq_msg(0, 0), 1.0), 0);                /* fits */
  CHECK_EQ(grove_send_timeout(r, seq_msg(0, 1), 0.05), GROVE_ETIMEDOUT); /* full */
  /* Waits for room, then goes: the earlier message is received first. */
  CHECK_EQ(grove_send_timeout(r, seq_msg(0, 1), 5.0), 0);
  CHECK(await_got(2));
  CHECK_EQ(counter_got, 2);
  CHECK_EQ(counter_bad, 0); /* the timed-out one was never delivered */
  CHECK_EQ(grove_hubs_stop(1.0), 0);
}

/* ---- call and reply ---------------------------------------------------------------- */

static void test_call(void) {
  reset();
  CHECK_EQ(grove_hubs_start(2), 0);
  grove_ref r;
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, NULL, &r), 0);
  for (int i = 0; i < 1000; i++) {
    int64_t hub = -1;
    CHECK_EQ(call_where(r, &hub, NULL), 0);
    CHECK_EQ(hub, 1);
  }
  grove_msg *reply = NULL;
  CHECK_EQ(grove_call(r, grove_msg_new("fail"), &reply, 5.0), GROVE_EAGAIN);
  CHECK(reply == NULL);
  /* A timeout: the late reply is a dead letter, never the next answer. */
  CHECK_EQ(grove_call(r, msg_int("slow", 100), &reply, 0.01), GROVE_ETIMEDOUT);
  int64_t hub = -1;
  CHECK_EQ(call_where(r, &hub, NULL), 0);
  CHECK_EQ(hub, 1);
  /* The callee ends without answering: prompt GROVE_EEXITED, with its
   * reason; a call to it then: no such actor. */
  int why = 0;
  CHECK_EQ(grove_call_ex(r, grove_msg_new("die"), &reply, 5.0, &why), GROVE_EEXITED);
  CHECK_EQ(why, GROVE_EFAILED);
  CHECK_EQ(grove_call_ex(r, grove_msg_new("get"), &reply, 5.0, &why), GROVE_ENOENT);
  CHECK_EQ(why, 0);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
}

/* grove_actor_wait on an actor of another hub: a timeout, the end with its
 * reason, an actor that ended already, a hub that is gone. */
static void test_wait_across(void) {
  reset();
  CHECK_EQ(grove_hubs_start(2), 0);
  grove_ref r;
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, NULL, &r), 0);
  int reason = 100;
  double t0 = test_now();
  CHECK_EQ(grove_actor_wait(r, &reason, 0.05), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 >= 0.04);
  CHECK_EQ(reason, 100);
  CHECK_EQ(grove_actor_wait(r, &reason, NAN), GROVE_EINVAL);
  CHECK_EQ(grove_actor_exit(r, GROVE_EXIT_KILLED), 0);
  CHECK_EQ(grove_actor_wait(r, &reason, 5), 0);
  CHECK_EQ(reason, GROVE_EXIT_KILLED);
  reason = 100;
  CHECK_EQ(grove_actor_wait(r, &reason, 5), 0); /* ended already: its slot remembers */
  CHECK_EQ(reason, GROVE_EXIT_KILLED);
  /* an actor that stops itself while we wait */
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, NULL, &r), 0);
  CHECK_EQ(grove_send(r, grove_msg_new("stop")), 0);
  CHECK_EQ(grove_actor_wait(r, &reason, 5), 0);
  CHECK_EQ(reason, GROVE_EXIT_NORMAL);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
  CHECK_EQ(grove_actor_wait(r, &reason, 1), GROVE_ENOENT); /* its hub is gone */
}

/* A supervisor on hub 0 whose children run on hub 1: started there, one
 * after the other; a crashed child restarted there; a dynamic child of a
 * simple_one_for_one placed by its spec; everything stopped with the
 * supervisor. */
static void test_supervisor_across(void) {
  reset();
  CHECK_EQ(grove_hubs_start(2), 0);
  grove_child_spec kids[] = {
      {.id = "here", .cls = &counter_class},
      {.id = "there", .cls = &counter_class, .shutdown = 5, .hub = GROVE_HUB(1)},
  };
  grove_supervisor_opts so = {.strategy = GROVE_ONE_FOR_ONE, .intensity = 5, .period = 5};
  grove_ref sup;
  CHECK_EQ(grove_supervisor_start(&so, kids, 2, &sup), 0);
  grove_ref here, there;
  CHECK_EQ(grove_supervisor_which_child(sup, "here", &here), 0);
  CHECK_EQ(grove_supervisor_which_child(sup, "there", &there), 0);
  int64_t hub = -1;
  CHECK_EQ(call_where(here, &hub, NULL), 0);
  CHECK_EQ(hub, 0);
  CHECK_EQ(call_where(there, &hub, NULL), 0);
  CHECK_EQ(hub, 1);
  /* the child on hub 1 crashes: restarted, on hub 1 */
  grove_msg *reply = NULL;
  CHECK_EQ(grove_call(there, grove_msg_new("die"), &reply, 5.0), GROVE_EEXITED);
  grove_ref again = there;
  for (int i = 0; i < 500 && grove_ref_eq(again, there); i++) {
    grove_sleep(0.002);
    CHECK_EQ(grove_supervisor_which_child(sup, "there", &again), 0);
  }
  CHECK(!grove_ref_eq(again, there));
  hub = -1;
  CHECK_EQ(call_where(again, &hub, NULL), 0);
  CHECK_EQ(hub, 1);
  grove_supervisor_counts cnt;
  CHECK_EQ(grove_supervisor_count(sup, &cnt), 0);
  CHECK_EQ(cnt.restarts, 1);
  CHECK_EQ(cnt.active, 2);
  /* a hub that does not exist: the start fails, nothing is left */
  grove_child_spec bad = {.id = "nowhere", .cls = &counter_class, .hub = GROVE_HUB(7)};
  grove_ref none;
  CHECK_EQ(grove_supervisor_start_child(sup, &bad, &none), GROVE_EINVAL);
  CHECK_EQ(grove_supervisor_count(sup, &cnt), 0);
  CHECK_EQ(cnt.specs, 2);
  /* stop: every child stopped, the one on hub 1 too (a shutdown signal,
   * then the supervisor waits for its end across the hubs) */
  CHECK_EQ(grove_supervisor_stop(sup, 5), 0);
  int reason = 100;
  CHECK_EQ(grove_actor_wait(again, &reason, 5), 0);
  CHECK_EQ(reason, GROVE_EXIT_SHUTDOWN);

  /* simple_one_for_one: the template on hub 0, a child placed on hub 1 */
  grove_child_spec tmpl = {.cls = &counter_class, .restart = GROVE_TEMPORARY, .shutdown = 5};
  so.strategy = GROVE_SIMPLE_ONE_FOR_ONE;
  CHECK_EQ(grove_supervisor_start(&so, &tmpl, 1, &sup), 0);
  grove_ref d0, d1;
  CHECK_EQ(grove_supervisor_start_child(sup, NULL, &d0), 0);
  grove_child_spec on1 = {.hub = GROVE_HUB(1)};
  CHECK_EQ(grove_supervisor_start_child(sup, &on1, &d1), 0);
  CHECK_EQ(call_where(d0, &hub, NULL), 0);
  CHECK_EQ(hub, 0);
  CHECK_EQ(call_where(d1, &hub, NULL), 0);
  CHECK_EQ(hub, 1);
  CHECK_EQ(grove_supervisor_stop(sup, 5), 0);
  CHECK_EQ(grove_actor_wait(d1, &reason, 5), 0);
  CHECK_EQ(reason, GROVE_EXIT_SHUTDOWN);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
}

/* ---- monitors, links, exit signals -------------------------------------------------- */

typedef struct watcher {
  grove_actor base;
} watcher;

static _Atomic int down_reason = 100, exit_msg_reason = 100, watcher_end = 100;

static int watcher_receive(grove_actor *self, grove_msg *m) {
  (void)self;
  if (grove_msg_is(m, GROVE_TAG_DOWN)) {
    down_reason = (int)msg_int_at(m, 2);
    return 0;
  }
  if (grove_msg_is(m, GROVE_TAG_EXIT)) {
    exit_msg_reason = (int)msg_int_at(m, 1);
    return 0;
  }
  if (grove_msg_is_call(m) && grove_msg_is(m, "monitor")) {
    grove_ref t;
    grove_msg_ref(m, 0, &t);
    uint64_t id = 0;
    int rc = grove_monitor(t, &id);
    grove_msg *r = grove_msg_new("ok");
    grove_msg_pack_int(r, rc);
    grove_msg_pack_int(r, (int64_t)id);
    grove_reply(m, r);
    return 0;
  }
  if (grove_msg_is_call(m) && grove_msg_is(m, "demonitor")) {
    int rc = grove_demonitor((uint64_t)msg_int_at(m, 0));
    grove_msg *r = grove_msg_new("ok");
    grove_msg_pack_int(r, rc);
    grove_reply(m, r);
    return 0;
  }
  return 0;
}

static void watcher_terminate(grove_actor *self, int reason) {
  (void)self;
  watcher_end = reason;
}

static const grove_actor_class watcher_class = {.name = "watcher",
                                                .size = sizeof(watcher),
                                                .receive = watcher_receive,
                                                .terminate = watcher_terminate};

static int await_int(_Atomic int *v, int not ) {
  for (int i = 0; i < 5000 && *v == not ; i++)
    grove_sleep(0.001);
  return *v;
}

static int64_t call_monitor(grove_ref w, grove_ref target, int64_t *id) {
  grove_msg *q = grove_msg_new("monitor"), *r = NULL;
  grove_msg_pack_ref(q, target);
  int rc = grove_call(w, q, &r, 5.0);
  if (rc)
    return rc;
  int64_t v = msg_int_at(r, 0);
  *id = msg_int_at(r, 1);
  grove_msg_free(r);
  return v;
}

static void test_monitor(void) {
  reset();
  down_reason = 100;
  CHECK_EQ(grove_hubs_start(2), 0);
  grove_ref w, t;
  CHECK_EQ(grove_actor_spawn_on(0, &watcher_class, NULL, NULL, &w), 0);
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, NULL, &t), 0);
  int64_t id = 0;
  CHECK_EQ(call_monitor(w, t, &id), 0);
  CHECK(id != 0);
  CHECK_EQ(grove_send(t, msg_int("fail", 0)), 0); /* not a call: ignored */
  CHECK_EQ(grove_actor_exit(t, GROVE_EXIT_KILLED), 0);
  CHECK_EQ(await_int(&down_reason, 100), GROVE_EXIT_KILLED);
  /* A target already gone: an immediate down, GROVE_ENOENT. */
  down_reason = 100;
  CHECK_EQ(call_monitor(w, t, &id), 0);
  CHECK_EQ(await_int(&down_reason, 100), GROVE_ENOENT);
  /* Demonitored: no down. */
  down_reason = 100;
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, NULL, &t), 0);
  CHECK_EQ(call_monitor(w, t, &id), 0);
  grove_msg *q = msg_int("demonitor", id), *r = NULL;
  CHECK_EQ(grove_call(w, q, &r, 5.0), 0);
  CHECK_EQ(msg_int_at(r, 0), 0);
  grove_msg_free(r);
  CHECK_EQ(send_tag(t, "stop"), 0);
  grove_sleep(0.05);
  CHECK_EQ(down_reason, 100);
  end_actor(w);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
}

static void test_links(void) {
  reset();
  exit_msg_reason = watcher_end = 100;
  CHECK_EQ(grove_hubs_start(2), 0);
  /* A trapping actor on hub 0, linked at spawn to one on hub 1. */
  grove_ref w, t;
  grove_actor_opts trap = {.trap_exits = true};
  CHECK_EQ(grove_actor_spawn_on(0, &watcher_class, NULL, &trap, &w), 0);
  grove_actor_opts lo = {.link = w};
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, &lo, &t), 0);
  int64_t hub;
  CHECK_EQ(call_where(t, &hub, NULL), 0); /* the link is in place on both hubs */
  grove_msg *reply = NULL;
  CHECK_EQ(grove_call(t, grove_msg_new("die"), &reply, 5.0), GROVE_EEXITED);
  CHECK_EQ(await_int(&exit_msg_reason, 100), GROVE_EFAILED);
  CHECK_EQ(watcher_end, 100); /* trapped: still alive */
  end_actor(w);
  watcher_end = 100;
  /* Without trapping, a linked actor's failure ends it (and across again). */
  grove_ref u;
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, NULL, &u), 0);
  CHECK_EQ(grove_actor_spawn_on(0, &watcher_class, NULL, NULL, &w), 0);
  CHECK_EQ(grove_link_actors(w, u), 0);
  CHECK_EQ(call_where(u, &hub, NULL), 0);
  CHECK_EQ(grove_actor_exit(u, GROVE_EFAILED), 0);
  CHECK_EQ(await_int(&watcher_end, 100), GROVE_EFAILED);
  /* Linking to an actor of another hub that is gone: the live end gets the
   * signal (Erlang's noproc). */
  watcher_end = 100;
  CHECK_EQ(grove_actor_spawn_on(0, &watcher_class, NULL, NULL, &w), 0);
  CHECK_EQ(grove_link_actors(w, u), 0);
  CHECK_EQ(await_int(&watcher_end, 100), GROVE_ENOENT);
  /* Unlinked: no signal. */
  watcher_end = 100;
  CHECK_EQ(grove_actor_spawn_on(0, &watcher_class, NULL, NULL, &w), 0);
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, NULL, &u), 0);
  CHECK_EQ(grove_link_actors(w, u), 0);
  CHECK_EQ(call_where(u, &hub, NULL), 0);
  CHECK_EQ(grove_unlink_actors(w, u), 0);
  CHECK_EQ(call_where(u, &hub, NULL), 0);
  CHECK_EQ(grove_actor_exit(u, GROVE_EFAILED), 0);
  grove_sleep(0.05);
  CHECK_EQ(watcher_end, 100);
  end_actor(w);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
}

/* ---- the registry ---------------------------------------------------------------------- */

static void test_registry(void) {
  reset();
  CHECK_EQ(grove_hubs_start(2), 0);
  grove_actor_opts o = {.name = "svc"};
  grove_ref r, found;
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, &o, &r), 0);
  CHECK_EQ(grove_whereis("svc", &found), 0);
  CHECK(grove_ref_eq(found, r));
  grove_msg *reply = NULL;
  CHECK_EQ(grove_call(found, grove_msg_new("where"), &reply, 5.0), 0);
  CHECK_EQ(msg_int_at(reply, 0), 1);
  grove_msg_free(reply);
  /* One namespace: the name is taken on every hub. */
  grove_ref other;
  CHECK_EQ(grove_actor_spawn_on(0, &counter_class, NULL, &o, &other), GROVE_EEXIST);
  CHECK_EQ(grove_register("svc", r), GROVE_EINVAL); /* register from its own hub */
  /* Released when the actor ends. */
  CHECK_EQ(send_tag(r, "stop"), 0);
  for (int i = 0; i < 5000 && grove_whereis("svc", &found) == 0; i++)
    grove_sleep(0.001);
  CHECK_EQ(grove_whereis("svc", &found), GROVE_ENOENT);
  CHECK_EQ(grove_actor_spawn_on(0, &counter_class, NULL, &o, &other), 0);
  CHECK_EQ(grove_whereis("svc", &found), 0);
  CHECK(grove_ref_eq(found, other));
  end_actor(other);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
}

/* ---- stopping hubs with actors still running ---------------------------------------- */

static void test_stop_kills_stubborn(void) {
  reset();
  CHECK_EQ(grove_hubs_start(2), 0);
  /* Traps exits and sleeps: "shutdown" arrives as a message, so it is
   * killed when the stop's timeout has passed. */
  grove_actor_opts o = {.trap_exits = true};
  grove_ref r;
  CHECK_EQ(grove_actor_spawn_on(1, &counter_class, NULL, &o, &r), 0);
  CHECK_EQ(grove_send(r, msg_int("sleep", 100)), 0);
  CHECK_EQ(grove_hubs_stop(0.02), 0);
  CHECK_EQ(terminated_reason, GROVE_EXIT_KILLED);
}

/* ---- misuse: one hub's objects from another hub's thread -------------------------------- */

typedef struct foreign {
  grove_queue *q;
  grove_event *e;
  grove_greenlet *g;
  grove_semaphore *s;
  int rc[6];
} foreign;

static void *use_foreign(void *arg) {
  foreign *f = arg;
  f->rc[0] = grove_queue_put(f->q, (void *)1, 1.0);
  void *item;
  f->rc[1] = grove_queue_get(f->q, &item, 1.0);
  f->rc[2] = grove_event_wait(f->e, 1.0);
  f->rc[3] = grove_join(f->g, 1.0);
  f->rc[4] = grove_semaphore_acquire(f->s, 1.0);
  f->rc[5] = grove_queue_put_nowait(f->q, (void *)1);
  return NULL;
}

static void *idle_fn(void *arg) {
  (void)arg;
  grove_sleep(0.05);
  return NULL;
}

static void test_misuse_eperm(void) {
  CHECK_EQ(grove_hubs_start(2), 0);
  foreign *f = calloc(1, sizeof *f);
  f->q = grove_queue_new(0);
  f->e = grove_event_new();
  f->g = grove_spawn(idle_fn, NULL);
  f->s = grove_bounded_semaphore_new(1);
  CHECK_EQ(grove_hub_call_on(1, use_foreign, f, NULL, 10.0), 0);
  for (int i = 0; i < 6; i++)
    CHECK_EQ(f->rc[i], GROVE_EPERM);
  CHECK_EQ(grove_queue_qsize(f->q), 0); /* nothing happened to them */
  CHECK_EQ(grove_join(f->g, 5.0), 0);
  grove_greenlet_release(f->g);
  grove_queue_free(f->q);
  grove_event_free(f->e);
  grove_semaphore_free(f->s);
  free(f);
  CHECK_EQ(grove_hubs_stop(1.0), 0);
}

TEST_MAIN(TEST(test_start_stop), TEST(test_run_on), TEST(test_call_on_timeout), TEST(test_spawn_on),
          TEST(test_send_order), TEST(test_stale_refs), TEST(test_alive_stats), TEST(test_bounded),
          TEST(test_call), TEST(test_wait_across), TEST(test_supervisor_across), TEST(test_monitor),
          TEST(test_links), TEST(test_registry), TEST(test_stop_kills_stubborn),
          TEST(test_misuse_eperm))
