/* tests/actor/test_backpressure.c - bounded inboxes: senders wait while the
 * inbox is full, time out, resume when the actor consumes; the hub itself
 * cannot wait (GROVE_EFULL). */
#include "actor_util.h"

static uint64_t dl_count;
static char dl_log[512];
static void dl_hook(grove_ref to, const grove_msg *msg, int reason, void *arg) {
  dl_count++;
  size_t n = strlen(dl_log);
  snprintf(dl_log + n, sizeof dl_log - n, "%s%s:%s", n ? " " : "", grove_msg_tag(msg),
           grove_err_name(reason));
}
static void dl_reset(void) {
  dl_count = 0;
  dl_log[0] = 0;
  grove_dead_letter_hook(dl_hook, NULL);
}

/* The gated actor blocks in receive on "gate" until the event is set. */
static grove_event *gate;
static int gated_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  test_log("G:%s", grove_msg_tag(msg));
  if (grove_msg_is(msg, "gate")) {
    int rc = grove_event_wait(gate, 5.0);
    grove_event_clear(gate);
    if (rc)
      test_log("G:gate=%s", grove_err_name(rc));
  }
  return 0;
}
static void gated_terminate(grove_actor *self, int reason) {
  test_log("G:term=%s", grove_exit_reason_name(reason));
}
static const grove_actor_class gated_class = {.name = "gated",
                                              .size = sizeof(grove_actor),
                                              .receive = gated_receive,
                                              .terminate = gated_terminate};

static grove_ref spawn_gated(size_t max) {
  grove_actor_opts o = {.inbox_max = max};
  grove_ref r = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&gated_class, NULL, &o, &r), 0);
  return r;
}

/* Fill: "gate" is being received (blocked), two more wait in the inbox. */
static grove_ref fill(void) {
  grove_ref a = spawn_gated(2);
  CHECK_EQ(send_tag(a, "gate"), 0);
  settle();
  CHECK_EQ(send_tag(a, "m1"), 0);
  CHECK_EQ(send_tag(a, "m2"), 0);
  grove_actor_stats st;
  CHECK_EQ(grove_actor_stats_get(a, &st), 0);
  CHECK_EQ(st.inbox_len, 2);
  return a;
}

static void finish(grove_ref a) {
  grove_event_set(gate);
  CHECK_EQ(send_tag(a, "stop"), 0);
  int rc = grove_actor_wait(a, NULL, 5.0);
  CHECK(rc == 0 || rc == GROVE_ENOENT);
}

/* A send to a full inbox waits up to its timeout: GROVE_ETIMEDOUT, and the
 * message is a counted dead letter. Timeout 0 polls. */
static void test_send_timeout_full(void) {
  gate = grove_event_new();
  dl_reset();
  grove_ref a = fill();
  double t0 = test_now();
  CHECK_EQ(grove_send_timeout(a, grove_msg_new("late"), 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK_EQ(grove_dead_letter_count(), 1);
  CHECK_EQ(dl_count, 1);
  t0 = test_now();
  CHECK_EQ(grove_send_timeout(a, grove_msg_new("poll"), 0), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 < 0.5);
  CHECK_EQ(grove_dead_letter_count(), 2);
  CHECK_STR(dl_log, "late:GROVE_ETIMEDOUT poll:GROVE_ETIMEDOUT");
  grove_actor_stats st;
  CHECK_EQ(grove_actor_stats_get(a, &st), 0);
  CHECK_EQ(st.inbox_len, 2);
  finish(a);
  CHECK_LOG("G:gate G:m1 G:m2 G:term=normal");
  CHECK_EQ(grove_event_free(gate), 0);
}

/* Blocked senders resume, in the order they blocked, as the actor consumes;
 * their messages follow the ones already queued. */
static grove_ref target;
static void *sender(void *arg) {
  char tag[16];
  snprintf(tag, sizeof tag, "s%d", IVAL(arg));
  test_log("send:%s", tag);
  int rc = grove_send(target, grove_msg_new(tag));
  test_log("sent:%s=%d", tag, rc);
  return NULL;
}

static void test_blocked_sender_resumes(void) {
  gate = grove_event_new();
  target = fill();
  grove_greenlet *g[2] = {grove_spawn(sender, IARG(1)), grove_spawn(sender, IARG(2))};
  settle();
  CHECK(!grove_ready(g[0]) && !grove_ready(g[1]));
  test_log("open");
  grove_event_set(gate);
  CHECK_EQ(grove_joinall(g, 2, 5.0), 0);
  grove_greenlet_release(g[0]);
  grove_greenlet_release(g[1]);
  settle();
  grove_actor_stats st;
  CHECK_EQ(grove_actor_stats_get(target, &st), 0);
  CHECK_EQ(st.processed, 5);
  CHECK_EQ(st.inbox_len, 0);
  finish(target);
  /* Exact interleaving aside, s1 before s2 and every message in order. */
  const char *log = test_log_buf;
  const char *p1 = strstr(log, "G:s1"), *p2 = strstr(log, "G:s2"), *m2 = strstr(log, "G:m2");
  CHECK(p1 && p2 && m2 && m2 < p1 && p1 < p2);
  CHECK(strstr(log, "sent:s1=0") && strstr(log, "sent:s2=0"));
  CHECK(strstr(log, "send:s1 send:s2 open") == log + strlen("G:gate "));
  CHECK_EQ(grove_event_free(gate), 0);
}

/* A sender blocked on a full inbox when the actor ends: GROVE_ENOENT, the
 * message is a dead letter. A sender killed while blocked: GROVE_ECANCELED. */
static void test_blocked_sender_actor_dies(void) {
  gate = grove_event_new();
  dl_reset();
  target = fill();
  grove_greenlet *g = grove_spawn(sender, IARG(1));
  settle();
  double t0 = test_now();
  end_actor(target);
  CHECK_EQ(grove_join(g, 5.0), 0);
  CHECK(test_now() - t0 < 1.0);
  grove_greenlet_release(g);
  char want[64];
  snprintf(want, sizeof want, "sent:s1=%d", GROVE_ENOENT);
  CHECK(strstr(test_log_buf, want) != NULL);
  CHECK(strstr(dl_log, "s1:") != NULL);

  test_log_reset();
  target = fill();
  g = grove_spawn(sender, IARG(2));
  settle();
  CHECK_EQ(grove_kill(g, 5.0), 0);
  grove_greenlet_release(g);
  snprintf(want, sizeof want, "sent:s2=%d", GROVE_ECANCELED);
  CHECK(strstr(test_log_buf, want) != NULL);
  grove_actor_stats st;
  CHECK_EQ(grove_actor_stats_get(target, &st), 0);
  CHECK_EQ(st.inbox_len, 2);
  finish(target);
  CHECK_EQ(grove_event_free(gate), 0);
}

/* From a grove_hub_post callback (the hub's own context, which cannot wait):
 * a full inbox is GROVE_EFULL at once; a send with room works. */
static int post_rc[2] = {1, 1};
static void post_send(void *arg) {
  post_rc[0] = grove_send(target, grove_msg_new("from-hub"));
  post_rc[1] = grove_send_timeout(target, grove_msg_new("from-hub-t"), 1.0);
}

static void test_send_from_hub_efull(void) {
  gate = grove_event_new();
  dl_reset();
  target = fill();
  CHECK_EQ(grove_hub_post(post_send, NULL), 0);
  settle();
  CHECK_EQ(post_rc[0], GROVE_EFULL);
  CHECK_EQ(post_rc[1], GROVE_EFULL);
  CHECK_EQ(dl_count, 2);
  grove_event_set(gate);
  settle();
  /* Room now: the hub's send goes through. */
  post_rc[0] = post_rc[1] = 1;
  CHECK_EQ(grove_hub_post(post_send, NULL), 0);
  settle();
  CHECK_EQ(post_rc[0], 0);
  CHECK_EQ(post_rc[1], 0);
  finish(target);
  CHECK_LOG("G:gate G:m1 G:m2 G:from-hub G:from-hub-t G:term=normal");
  CHECK_EQ(grove_event_free(gate), 0);
}

/* A call to an actor whose inbox stays full times out. */
static void test_call_full_inbox_times_out(void) {
  gate = grove_event_new();
  target = fill();
  grove_msg *r = (grove_msg *)&r;
  double t0 = test_now();
  CHECK_EQ(grove_call(target, grove_msg_new("req"), &r, 0.05), GROVE_ETIMEDOUT);
  CHECK(test_now() - t0 < 2.0);
  CHECK(r == NULL);
  finish(target);
  CHECK_EQ(grove_event_free(gate), 0);
}

/* Argument checks. */
static void test_send_bad_args(void) {
  grove_ref a = spawn_gated(1);
  CHECK_EQ(grove_send(a, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_send_timeout(a, grove_msg_new("nan"), NAN), GROVE_EINVAL);
  CHECK_EQ(send_tag(a, "stop"), 0);
  CHECK_EQ(grove_actor_wait(a, NULL, 5.0), 0);
}

/* Exit signals and down messages are not lost when the receiver's bounded
 * inbox is full - not even when they come from an actor killed inside
 * receive (whose greenlet is cancelled). Erlang: signals are not subject to
 * mailbox limits; the header: a trapping actor gets GROVE_TAG_EXIT, a
 * monitor gets GROVE_TAG_DOWN. */
typedef struct trapw {
  grove_actor base;
} trapw;
static int trapw_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  if (grove_msg_is(msg, "watch")) {
    grove_ref t;
    grove_msg_ref(msg, 0, &t);
    grove_monitor(t, NULL);
    return 0;
  }
  if (grove_msg_is(msg, "gate")) {
    grove_event_wait(gate, 5.0);
    return 0;
  }
  test_log("W:%s", grove_msg_tag(msg));
  return 0;
}
static const grove_actor_class trapw_class = {
    .name = "trapw", .size = sizeof(trapw), .receive = trapw_receive};

static int napper_receive(grove_actor *self, grove_msg *msg) {
  grove_sleep(5.0);
  return 0;
}
static const grove_actor_class napper_class = {
    .name = "napper", .size = sizeof(grove_actor), .receive = napper_receive};

static void test_signals_to_full_inbox(void) {
  gate = grove_event_new();
  dl_reset();
  grove_actor_opts o = {.inbox_max = 1, .trap_exits = true};
  grove_ref w;
  CHECK_EQ(grove_actor_spawn_ex(&trapw_class, NULL, &o, &w), 0);
  grove_ref n = grove_actor_spawn(&napper_class, NULL);
  CHECK_EQ(grove_link_actors(w, n), 0);
  grove_msg *m = grove_msg_new("watch");
  grove_msg_pack_ref(m, n);
  CHECK_EQ(grove_send(w, m), 0);
  settle();
  CHECK_EQ(send_tag(n, "nap"), 0);
  CHECK_EQ(send_tag(w, "gate"), 0);
  settle();
  CHECK_EQ(send_tag(w, "fill"), 0); /* w's inbox is full now */
  end_actor(n);                     /* killed while sleeping in receive */
  settle();
  grove_event_set(gate);
  settle();
  CHECK_EQ(send_tag(w, "stop"), 0);
  CHECK_EQ(grove_actor_wait(w, NULL, 5.0), 0);
  /* Both arrive (their relative order is not specified). */
  CHECK(strncmp(test_log_buf, "W:fill ", 7) == 0);
  CHECK(strstr(test_log_buf, "W:grove.exit") != NULL);
  CHECK(strstr(test_log_buf, "W:grove.down") != NULL);
  if (!strstr(test_log_buf, "W:grove.exit") || !strstr(test_log_buf, "W:grove.down"))
    fprintf(stderr, "log: %s; dead letters: %s\n", test_log_buf, dl_log);
  CHECK_EQ(grove_event_free(gate), 0);
}

TEST_MAIN(TEST(test_send_timeout_full), TEST(test_blocked_sender_resumes),
          TEST(test_blocked_sender_actor_dies), TEST(test_send_from_hub_efull),
          TEST(test_call_full_inbox_times_out), TEST(test_send_bad_args),
          TEST(test_signals_to_full_inbox))
