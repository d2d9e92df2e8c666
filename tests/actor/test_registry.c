/* tests/actor/test_registry.c - the name registry: register, whereis,
 * unregister, names released when their actor ends, spawn_ex's opts.name. */
#include "actor_util.h"

static void stop(grove_ref r) {
  CHECK_EQ(send_tag(r, "stop"), 0);
  CHECK_EQ(grove_actor_wait(r, NULL, 5.0), 0);
}

static void test_register_whereis_unregister(void) {
  grove_ref a = probe_spawn("A");
  grove_ref out = {1, 1, 1};
  CHECK_EQ(grove_whereis("alpha", &out), GROVE_ENOENT);
  CHECK(grove_ref_is_null(out));
  CHECK_EQ(grove_register("alpha", a), 0);
  CHECK_EQ(grove_whereis("alpha", &out), 0);
  CHECK(grove_ref_eq(out, a));
  CHECK_EQ(grove_whereis("alpha", NULL), 0);
  CHECK_EQ(grove_whereis("alph", &out), GROVE_ENOENT);
  CHECK_EQ(grove_whereis("alphabet", &out), GROVE_ENOENT);
  /* Sending through the name. */
  CHECK_EQ(grove_whereis("alpha", &out), 0);
  CHECK_EQ(send_tag(out, "hi"), 0);
  settle();
  CHECK_LOG("A:init A:hi");
  CHECK_EQ(grove_unregister("alpha"), 0);
  CHECK_EQ(grove_whereis("alpha", &out), GROVE_ENOENT);
  CHECK(grove_ref_is_null(out));
  CHECK_EQ(grove_unregister("alpha"), GROVE_ENOENT);
  CHECK_EQ(grove_unregister("never"), GROVE_ENOENT);
  CHECK(grove_actor_alive(a)); /* unregistering does not touch the actor */
  /* Once unregistered, the actor may take another name. */
  CHECK_EQ(grove_register("beta", a), 0);
  CHECK_EQ(grove_whereis("beta", &out), 0);
  CHECK(grove_ref_eq(out, a));
  stop(a);
  CHECK_EQ(grove_whereis("beta", &out), GROVE_ENOENT);
}

static void test_bad_arguments(void) {
  grove_ref a = probe_spawn("A");
  grove_ref out;
  CHECK_EQ(grove_register("", a), GROVE_EINVAL);
  CHECK_EQ(grove_register(NULL, a), GROVE_EINVAL);
  CHECK_EQ(grove_whereis(NULL, &out), GROVE_EINVAL);
  CHECK_EQ(grove_unregister(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_register("x", GROVE_REF_NULL), GROVE_ENOENT);
  CHECK_EQ(grove_register("x", (grove_ref){0, 9, 999}), GROVE_ENOENT);
  CHECK_EQ(grove_register("x", (grove_ref){3, a.gen, a.id}), GROVE_ENOENT); /* other node */
  CHECK_EQ(grove_whereis("x", &out), GROVE_ENOENT);
  stop(a);
  CHECK_EQ(grove_register("x", a), GROVE_ENOENT); /* dead */
  CHECK_EQ(grove_whereis("x", &out), GROVE_ENOENT);
}

/* A name names one actor, and an actor has at most one name. */
static void test_eexist(void) {
  grove_ref a = probe_spawn("A"), b = probe_spawn("B");
  CHECK_EQ(grove_register("one", a), 0);
  CHECK_EQ(grove_register("one", b), GROVE_EEXIST);
  CHECK_EQ(grove_register("one", a), GROVE_EEXIST);
  CHECK_EQ(grove_register("two", a), GROVE_EEXIST);
  grove_ref out;
  CHECK_EQ(grove_whereis("one", &out), 0);
  CHECK(grove_ref_eq(out, a));
  CHECK_EQ(grove_whereis("two", &out), GROVE_ENOENT);
  CHECK_EQ(grove_register("two", b), 0);
  CHECK_EQ(grove_whereis("two", &out), 0);
  CHECK(grove_ref_eq(out, b));
  stop(a);
  stop(b);
}

/* A name is released when its actor ends, whatever the reason, and can be
 * taken again by a new actor; the old ref stays dead. */
static void test_released_at_death(void) {
  grove_ref a = probe_spawn("A");
  CHECK_EQ(grove_register("svc", a), 0);
  CHECK_EQ(grove_send(a, msg_int("fail", GROVE_EAGAIN)), 0);
  CHECK_EQ(grove_actor_wait(a, NULL, 5.0), 0);
  grove_ref out;
  CHECK_EQ(grove_whereis("svc", &out), GROVE_ENOENT);
  CHECK(grove_ref_is_null(out));
  CHECK_EQ(grove_unregister("svc"), GROVE_ENOENT);
  grove_ref b = probe_spawn("B");
  CHECK_EQ(grove_register("svc", b), 0);
  CHECK_EQ(grove_whereis("svc", &out), 0);
  CHECK(grove_ref_eq(out, b));
  CHECK(!grove_ref_eq(out, a));
  end_actor(b); /* killed: released too */
  CHECK_EQ(grove_whereis("svc", &out), GROVE_ENOENT);

  /* Unregistered, then another actor takes the name, then the first one
   * dies: the new owner keeps it. */
  a = probe_spawn("A");
  b = probe_spawn("B");
  CHECK_EQ(grove_register("n", a), 0);
  CHECK_EQ(grove_unregister("n"), 0);
  CHECK_EQ(grove_register("n", b), 0);
  stop(a);
  CHECK_EQ(grove_whereis("n", &out), 0);
  CHECK(grove_ref_eq(out, b));
  stop(b);
  CHECK_EQ(grove_whereis("n", &out), GROVE_ENOENT);
}

/* Registering from inside the actor (grove_self). */
static int selfreg_init(grove_actor *self, void *arg) {
  return grove_register((const char *)arg, grove_self());
}
static int selfreg_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "unreg"))
    test_log("unreg=%d", grove_unregister((const char *)"me"));
  return grove_msg_is(msg, "stop") ? GROVE_STOP : 0;
}
static const grove_actor_class selfreg_class = {.name = "selfreg",
                                                .size = sizeof(grove_actor),
                                                .init = selfreg_init,
                                                .receive = selfreg_receive};

static void test_register_from_init(void) {
  grove_ref a = grove_actor_spawn(&selfreg_class, "me");
  settle();
  grove_ref out;
  CHECK_EQ(grove_whereis("me", &out), 0);
  CHECK(grove_ref_eq(out, a));
  /* A second one cannot take the name: its init fails with EEXIST. */
  grove_ref b = grove_actor_spawn(&selfreg_class, "me");
  int reason = 0;
  CHECK_EQ(grove_actor_wait(b, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EEXIST);
  CHECK_EQ(grove_whereis("me", &out), 0);
  CHECK(grove_ref_eq(out, a));
  CHECK_EQ(send_tag(a, "unreg"), 0);
  settle();
  CHECK_LOG("unreg=0");
  CHECK_EQ(grove_whereis("me", &out), GROVE_ENOENT);
  stop(a);
}

/* grove_actor_spawn_ex with opts.name: registered before spawn returns; a
 * taken name is GROVE_EEXIST and nothing is started. */
static void test_spawn_ex_name(void) {
  grove_actor_opts o = {.name = "worker"};
  grove_ref a = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&probe_class, "W", &o, &a), 0);
  grove_ref out;
  CHECK_EQ(grove_whereis("worker", &out), 0);
  CHECK(grove_ref_eq(out, a));
  CHECK_EQ(grove_register("other", a), GROVE_EEXIST); /* it has a name */
  grove_ref b = {1, 1, 1};
  CHECK_EQ(grove_actor_spawn_ex(&probe_class, "X", &o, &b), GROVE_EEXIST);
  CHECK(grove_ref_is_null(b));
  settle();
  CHECK_LOG("W:init"); /* X never ran */
  stop(a);
  CHECK_EQ(grove_whereis("worker", &out), GROVE_ENOENT);
  CHECK_EQ(grove_actor_spawn_ex(&probe_class, "Y", &o, &b), 0);
  CHECK_EQ(grove_whereis("worker", &out), 0);
  CHECK(grove_ref_eq(out, b));
  CHECK_EQ(grove_unregister("worker"), 0);
  CHECK_EQ(grove_whereis("worker", &out), GROVE_ENOENT);
  stop(b);

  /* A name registered with grove_register is taken for spawn_ex too. */
  grove_ref c = probe_spawn("C");
  CHECK_EQ(grove_register("worker", c), 0);
  CHECK_EQ(grove_actor_spawn_ex(&probe_class, "Z", &o, &b), GROVE_EEXIST);
  stop(c);
}

/* Many names (more than the registry's buckets). */
static void test_many_names(void) {
  enum { N = 600 };
  static grove_ref refs[N];
  char name[32];
  for (int i = 0; i < N; i++) {
    refs[i] = grove_actor_spawn(&probe_class, "m");
    snprintf(name, sizeof name, "actor-%d", i);
    CHECK_EQ(grove_register(name, refs[i]), 0);
  }
  int bad = 0;
  for (int i = 0; i < N; i++) {
    grove_ref out;
    snprintf(name, sizeof name, "actor-%d", i);
    bad += grove_whereis(name, &out) != 0 || !grove_ref_eq(out, refs[i]);
  }
  CHECK_EQ(bad, 0);
  for (int i = 0; i < N; i += 2) {
    snprintf(name, sizeof name, "actor-%d", i);
    CHECK_EQ(grove_unregister(name), 0);
  }
  for (int i = 0; i < N; i++)
    CHECK_EQ(send_tag(refs[i], "stop"), 0);
  for (int i = 0; i < N; i++)
    await_end(refs[i]);
  for (int i = 0; i < N; i++) {
    grove_ref out;
    snprintf(name, sizeof name, "actor-%d", i);
    bad += grove_whereis(name, &out) != GROVE_ENOENT;
  }
  CHECK_EQ(bad, 0);
}

TEST_MAIN(TEST(test_register_whereis_unregister), TEST(test_bad_arguments), TEST(test_eexist),
          TEST(test_released_at_death), TEST(test_register_from_init), TEST(test_spawn_ex_name),
          TEST(test_many_names))
