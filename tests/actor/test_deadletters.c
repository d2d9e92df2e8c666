/* tests/actor/test_deadletters.c - messages that cannot be delivered are
 * counted and shown to the hook (with the ref they were sent to, their tag
 * and a reason) before they are freed: unknown refs, stale refs whose slot a
 * new actor reuses (which must never see them), and messages left in the
 * inbox of an actor that ended. */
#include "actor_util.h"

#define DL_MAX 16
static struct {
  grove_ref to;
  char tag[64];
  int reason;
  int64_t first_int;
  void *arg;
} dl[DL_MAX];
static int ndl;

static void hook(grove_ref to, const grove_msg *msg, int reason, void *arg) {
  if (ndl < DL_MAX) {
    dl[ndl].to = to;
    snprintf(dl[ndl].tag, sizeof dl[ndl].tag, "%s", grove_msg_tag(msg));
    dl[ndl].reason = reason;
    /* The hook borrows the message: its body is readable. */
    dl[ndl].first_int = msg_int_at((grove_msg *)msg, 0);
    dl[ndl].arg = arg;
  }
  ndl++;
  test_log("hook:%s", grove_msg_tag(msg));
}

static int hook_arg;
static void install(void) {
  ndl = 0;
  memset(dl, 0, sizeof dl);
  grove_dead_letter_hook(hook, &hook_arg);
}

static void test_unknown_ref(void) {
  install();
  CHECK_EQ(grove_dead_letter_count(), 0);
  grove_ref unknown = {0, 3, 777};
  CHECK_EQ(grove_send(unknown, msg_int("hello", 5)), GROVE_ENOENT);
  CHECK_EQ(grove_dead_letter_count(), 1);
  CHECK_EQ(ndl, 1);
  CHECK(grove_ref_eq(dl[0].to, unknown));
  CHECK_STR(dl[0].tag, "hello");
  CHECK_EQ(dl[0].reason, GROVE_ENOENT);
  CHECK_EQ(dl[0].first_int, 5);
  CHECK(dl[0].arg == &hook_arg);
  CHECK_EQ(grove_send(GROVE_REF_NULL, grove_msg_new("null")), GROVE_ENOENT);
  CHECK_EQ(grove_send((grove_ref){9, 1, 1}, grove_msg_new("remote")),
           GROVE_EHOSTUNREACH); /* no node started */
  CHECK_EQ(grove_dead_letter_count(), 3);
  CHECK_EQ(ndl, 3);
  CHECK(grove_ref_is_null(dl[1].to));
  CHECK_STR(dl[2].tag, "remote");
  CHECK_EQ(dl[2].to.node, 9);

  /* Without a hook they are still counted. */
  grove_dead_letter_hook(NULL, NULL);
  CHECK_EQ(grove_send(unknown, grove_msg_new("quiet")), GROVE_ENOENT);
  CHECK_EQ(grove_dead_letter_count(), 4);
  CHECK_EQ(ndl, 3);
}

/* A stale ref: its actor ended and a new actor got the same slot. Every use
 * of the old ref fails and the new actor sees nothing of it. */
static void test_stale_ref_slot_reused(void) {
  install();
  grove_ref old = probe_spawn("OLD");
  CHECK_EQ(send_tag(old, "stop"), 0);
  CHECK_EQ(grove_actor_wait(old, NULL, 5.0), 0);
  grove_ref fresh = probe_spawn("NEW");
  CHECK_EQ(fresh.id, old.id);  /* the slot is reused ... */
  CHECK(fresh.gen != old.gen); /* ... under a new generation */
  CHECK(!grove_ref_eq(fresh, old));
  settle();
  test_log_reset();

  CHECK(!grove_actor_alive(old));
  CHECK_EQ(grove_send(old, msg_int("stale", 1)), GROVE_ENOENT);
  CHECK_EQ(ndl, 1);
  CHECK(grove_ref_eq(dl[0].to, old));
  CHECK_STR(dl[0].tag, "stale");
  CHECK_EQ(dl[0].reason, GROVE_ENOENT);
  grove_msg *r = NULL;
  CHECK_EQ(grove_call(old, grove_msg_new("stale-call"), &r, 1.0), GROVE_ENOENT);
  CHECK_EQ(grove_actor_exit(old, GROVE_EXIT_KILLED), GROVE_ENOENT);
  CHECK_EQ(grove_actor_exit(old, GROVE_EXIT_SHUTDOWN), GROVE_ENOENT);
  grove_actor_stats st;
  CHECK_EQ(grove_actor_stats_get(old, &st), GROVE_ENOENT);
  /* Waiting on the old ref never waits for the new actor. */
  int reason = -1;
  double t0 = test_now();
  int rc = grove_actor_wait(old, &reason, 1.0);
  CHECK(test_now() - t0 < 0.5);
  CHECK(rc == GROVE_ENOENT || (rc == 0 && reason == GROVE_EXIT_NORMAL));
  CHECK_EQ(grove_register("stale-name", old), GROVE_ENOENT);
  CHECK_EQ(grove_link_actors(old, fresh), GROVE_ENOENT); /* fresh gets noproc */
  settle();

  /* The new actor got none of it (except the noproc exit signal of the
   * failed link, which does end it: it is linked to a dead ref). */
  CHECK_LOG("hook:stale hook:stale-call NEW:term=GROVE_ENOENT");
  CHECK_EQ(grove_dead_letter_count(), 2);
}

/* The same, with a stale ref whose new actor stays alive: it receives
 * nothing, and its stats show no message. */
static void test_stale_ref_new_actor_untouched(void) {
  install();
  grove_ref old = probe_spawn("OLD");
  end_actor(old);
  grove_ref fresh = probe_spawn("NEW");
  CHECK_EQ(fresh.id, old.id);
  settle();
  test_log_reset();
  for (int i = 0; i < 10; i++)
    CHECK_EQ(grove_send(old, msg_int("stale", i)), GROVE_ENOENT);
  settle();
  grove_actor_stats st;
  CHECK_EQ(grove_actor_stats_get(fresh, &st), 0);
  CHECK_EQ(st.processed, 0);
  CHECK_EQ(st.inbox_len, 0);
  CHECK_EQ(ndl, 10);
  CHECK_EQ(grove_dead_letter_count(), 10);
  CHECK(grove_ref_eq(dl[9].to, old));
  CHECK_EQ(dl[9].first_int, 9);
  CHECK(strstr(test_log_buf, "NEW:") == NULL);
  CHECK_EQ(send_tag(fresh, "stop"), 0);
  CHECK_EQ(grove_actor_wait(fresh, NULL, 5.0), 0);
}

/* Messages still in the inbox when the actor ends are dead letters, in
 * order, addressed to its ref; the hook runs before the message is freed. */
static int frees;
static void blob_free(void *p) {
  frees++;
  test_log("free");
  free(p);
}

static void test_inbox_left_at_end(void) {
  install();
  frees = 0;
  grove_ref a = probe_spawn("A");
  CHECK_EQ(send_tag(a, "stop"), 0);
  CHECK_EQ(grove_send(a, msg_int("left1", 1)), 0);
  grove_msg *m = msg_int("left2", 2);
  grove_msg_set_blob(m, malloc(16), 16, blob_free);
  CHECK_EQ(grove_send(a, m), 0);
  CHECK_EQ(grove_dead_letter_count(), 0);
  CHECK_EQ(grove_actor_wait(a, NULL, 5.0), 0);
  CHECK_EQ(grove_dead_letter_count(), 2);
  CHECK_EQ(ndl, 2);
  CHECK_STR(dl[0].tag, "left1");
  CHECK_STR(dl[1].tag, "left2");
  CHECK(grove_ref_eq(dl[0].to, a));
  CHECK(grove_ref_eq(dl[1].to, a));
  CHECK(dl[0].reason < 0);
  CHECK(dl[1].reason < 0);
  CHECK_EQ(dl[1].first_int, 2);
  CHECK_EQ(frees, 1);
  CHECK_LOG("A:init A:stop A:term=normal hook:left1 hook:left2 free");

  /* Killed with a full inbox; failed init with messages waiting. */
  install();
  test_log_reset();
  a = probe_spawn("A");
  for (int i = 0; i < 5; i++)
    CHECK_EQ(grove_send(a, msg_int("k", i)), 0);
  CHECK_EQ(grove_actor_exit(a, GROVE_EXIT_KILLED), 0);
  CHECK_EQ(grove_actor_wait(a, NULL, 5.0), 0);
  CHECK_EQ(ndl, 5);
  for (int i = 0; i < 5; i++)
    CHECK_EQ(dl[i].first_int, i);
}

static int failinit_init(grove_actor *self, void *arg) { return GROVE_EAGAIN; }
static const grove_actor_class failinit_class = {.name = "failinit",
                                                 .size = sizeof(grove_actor),
                                                 .init = failinit_init,
                                                 .receive = probe_receive};

static void test_inbox_of_failed_init(void) {
  install();
  grove_ref a = grove_actor_spawn(&failinit_class, NULL);
  CHECK_EQ(send_tag(a, "x"), 0);
  CHECK_EQ(send_tag(a, "y"), 0);
  int reason = 0;
  CHECK_EQ(grove_actor_wait(a, &reason, 5.0), 0);
  CHECK_EQ(reason, GROVE_EAGAIN);
  CHECK_EQ(ndl, 2);
  CHECK_STR(dl[0].tag, "x");
  CHECK_STR(dl[1].tag, "y");
  CHECK_LOG("hook:x hook:y");
}

/* The count is per hub and starts again at 0 after grove_hub_close. */
static void test_count_starts_at_zero(void) { CHECK_EQ(grove_dead_letter_count(), 0); }

TEST_MAIN(TEST(test_unknown_ref), TEST(test_stale_ref_slot_reused),
          TEST(test_stale_ref_new_actor_untouched), TEST(test_inbox_left_at_end),
          TEST(test_inbox_of_failed_init), TEST(test_count_starts_at_zero))
