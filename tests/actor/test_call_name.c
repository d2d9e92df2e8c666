/* tests/actor/test_call_name.c - calls by name, restart-aware
 * (grove_call_name), and waiting for a name (grove_whereis_wait): locally,
 * under a supervisor that restarts the named actor, and across the hubs of
 * grove_hubs_start. */
#include "actor_util.h"

TEST_WATCHDOG(60)

/* "kv": answers "get" with [incarnation, count of gets]; "crash" fails it
 * (GROVE_EPROTO), "slowcrash" fails it after 20 ms. Each start bumps the
 * incarnation: a caller can tell the actors apart. */
static int incarnation;
typedef struct kv {
  grove_actor base;
  int me, gets;
} kv;

static int kv_init(grove_actor *self, void *arg) {
  (void)arg;
  ((kv *)self)->me = ++incarnation;
  return 0;
}

static int kv_receive(grove_actor *self, grove_msg *msg) {
  kv *k = (kv *)self;
  if (grove_msg_is(msg, "crash"))
    return GROVE_EPROTO;
  if (grove_msg_is(msg, "get") && grove_msg_is_call(msg)) {
    grove_msg *r = grove_msg_new("val");
    grove_msg_pack_int(r, k->me);
    grove_msg_pack_int(r, ++k->gets);
    return grove_reply(msg, r);
  }
  if (grove_msg_is(msg, "diecall") && grove_msg_is_call(msg))
    return GROVE_EPROTO; /* ends without replying */
  return 0;
}

static const grove_actor_class kv_class = {
    .name = "kv", .size = sizeof(kv), .init = kv_init, .receive = kv_receive};

static int get(const char *name, double timeout, int64_t *inc) {
  grove_msg *r = NULL;
  int rc = grove_call_name(name, grove_msg_new("get"), &r, timeout);
  if (rc == 0) {
    *inc = msg_int_at(r, 0);
    grove_msg_free(r);
  }
  return rc;
}

static void test_call_name_basic(void) {
  int64_t inc = 0;
  CHECK_EQ(get("kv", 0, &inc), GROVE_ENOENT); /* nobody has it: a poll */
  uint64_t dl = grove_dead_letter_count();
  CHECK_EQ(get("kv", 0.02, &inc), GROVE_ENOENT); /* nobody within the timeout */
  CHECK_EQ(grove_dead_letter_count(), dl + 1);   /* the request is a dead letter */
  grove_actor_opts o = {.name = "kv"};
  grove_ref k;
  CHECK_EQ(grove_actor_spawn_ex(&kv_class, NULL, &o, &k), 0);
  CHECK_EQ(get("kv", 1, &inc), 0);
  CHECK_EQ(inc, incarnation);
  /* the callee ends before replying: the call fails, it is not re-sent */
  grove_msg *r = NULL;
  CHECK_EQ(grove_call_name("kv", grove_msg_new("diecall"), &r, 1), GROVE_EEXITED);
  CHECK(r == NULL);
  CHECK(!grove_actor_alive(k));
  /* bad arguments: the message is freed all the same */
  CHECK_EQ(grove_call_name(NULL, grove_msg_new("get"), &r, 1), GROVE_EINVAL);
  CHECK_EQ(grove_call_name("", grove_msg_new("get"), &r, 1), GROVE_EINVAL);
  CHECK_EQ(grove_call_name("kv", grove_msg_new("get"), NULL, 1), GROVE_EINVAL);
  CHECK_EQ(grove_call_name("kv", NULL, &r, 1), GROVE_EINVAL);
}

/* A waiter gets the name as soon as it is registered, not at its timeout. */
static void *register_later(void *arg) {
  CHECK_EQ(grove_sleep(0.05), 0);
  grove_actor_opts o = {.name = arg};
  grove_ref k;
  CHECK_EQ(grove_actor_spawn_ex(&kv_class, NULL, &o, &k), 0);
  return NULL;
}

static void *wait_never(void *arg) {
  (void)arg;
  grove_ref r;
  test_log("wait=%s", grove_err_name(grove_whereis_wait("never", &r, GROVE_FOREVER)));
  return NULL;
}

static void test_whereis_wait(void) {
  grove_ref r = {1, 1, 1};
  CHECK_EQ(grove_whereis_wait("late", &r, 0), GROVE_ETIMEDOUT);
  CHECK(grove_ref_is_null(r));
  CHECK_EQ(grove_whereis_wait("late", &r, 0.02), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_whereis_wait(NULL, &r, 1), GROVE_EINVAL);
  CHECK_EQ(grove_whereis_wait("", &r, 1), GROVE_EINVAL);
  grove_greenlet *g = grove_spawn(register_later, "late");
  double t = test_now();
  CHECK_EQ(grove_whereis_wait("late", &r, 5), 0);
  double took = test_now() - t;
  CHECK(took >= 0.04 && took < 1.0);
  grove_ref w;
  CHECK_EQ(grove_whereis("late", &w), 0);
  CHECK(grove_ref_eq(r, w));
  CHECK_EQ(grove_whereis_wait("late", &r, 0), 0); /* registered: at once */
  CHECK_EQ(grove_join(g, 1), 0);
  grove_greenlet_release(g);
  /* grove_call_name waits the same way */
  g = grove_spawn(register_later, "later");
  int64_t inc;
  t = test_now();
  CHECK_EQ(get("later", 5, &inc), 0);
  CHECK(test_now() - t < 1.0);
  CHECK_EQ(grove_join(g, 1), 0);
  grove_greenlet_release(g);
  end_actor(r);
  CHECK_EQ(grove_whereis("later", &w), 0);
  end_actor(w);
  /* a killed waiter */
  grove_greenlet *k = grove_spawn(wait_never, NULL);
  settle();
  CHECK_EQ(grove_kill(k, 1), 0);
  CHECK_LOG("wait=GROVE_ECANCELED");
  grove_greenlet_release(k);
}

/* Under a supervisor: the named actor crashes and is restarted under the
 * same name; callers by name never see the restart - a call made while
 * the name is released (the old one ended, the supervisor has not run yet)
 * waits for the new one. */
static void test_call_name_through_restarts(void) {
  grove_child_spec spec = {
      .id = "kv", .cls = &kv_class, .restart = GROVE_PERMANENT, .opts = {.name = "kv"}};
  grove_supervisor_opts so = {.strategy = GROVE_ONE_FOR_ONE, .intensity = 100, .period = 5};
  grove_ref sup;
  CHECK_EQ(grove_supervisor_start(&so, &spec, 1, &sup), 0);
  int64_t inc = 0, last = 0;
  int restarts = 0;
  for (int i = 0; i < 20; i++) {
    CHECK_EQ(get("kv", 2, &inc), 0);
    CHECK(inc >= last);
    if (inc > last && last)
      restarts++;
    last = inc;
    grove_ref k;
    CHECK_EQ(grove_whereis("kv", &k), 0);
    CHECK_EQ(send_tag(k, "crash"), 0);
    CHECK_EQ(grove_actor_wait(k, NULL, 2), 0);
    /* now nobody has the name: the supervisor restarts it on its turn */
    grove_ref none;
    CHECK_EQ(grove_whereis("kv", &none), GROVE_ENOENT);
  }
  CHECK_EQ(get("kv", 2, &inc), 0);
  CHECK_EQ(restarts, 19); /* every call after a crash reached the successor */
  CHECK_EQ(grove_supervisor_stop(sup, 5), 0);
}

/* Hubs: a name registered on another hub wakes a waiter here (the shared
 * table is looked at again every few ms). */
static void test_hubs(void) {
  CHECK_EQ(grove_hubs_start(2), 0);
  grove_ref r;
  CHECK_EQ(grove_whereis_wait("far", &r, 0.02), GROVE_ETIMEDOUT);
  grove_actor_opts o = {.name = "far"};
  grove_ref k;
  CHECK_EQ(grove_actor_spawn_on(1, &kv_class, NULL, &o, &k), 0);
  CHECK_EQ(grove_whereis_wait("far", &r, 2), 0);
  CHECK(grove_ref_eq(r, k));
  int64_t inc;
  CHECK_EQ(get("far", 2, &inc), 0);
  CHECK_EQ(grove_hubs_stop(5), 0);
}

TEST_MAIN(TEST(test_call_name_basic), TEST(test_whereis_wait),
          TEST(test_call_name_through_restarts), TEST(test_hubs))
