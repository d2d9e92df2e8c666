/* tests/actor/test_watch.c - plain greenlets watching actors
 * (grove_monitor_to): the down message in the queue, with its id, the
 * target and the reason; a target already gone; several watches of one
 * target; demonitor (nothing more arrives, the queue can be freed); a full
 * queue (dropped, logged); a watch from inside an actor; a target on another
 * hub of grove_hubs_start; and a watch left running is named at close. */
#include "actor_util.h"

static grove_msg *get(grove_queue *q, double timeout) {
  void *item = NULL;
  return grove_queue_get(q, &item, timeout) == 0 ? item : NULL;
}

static void check_down(grove_msg *m, uint64_t id, grove_ref target, int reason) {
  CHECK(m != NULL);
  if (!m)
    return;
  CHECK_STR(grove_msg_tag(m), GROVE_TAG_DOWN);
  CHECK_EQ(msg_int_at(m, 0), (int64_t)id);
  grove_ref r = GROVE_REF_NULL;
  CHECK_EQ(grove_msg_ref(m, 1, &r), 0);
  CHECK(grove_ref_eq(r, target));
  CHECK_EQ(msg_int_at(m, 2), reason);
  CHECK(grove_ref_eq(grove_msg_sender(m), target));
  grove_msg_free(m);
}

static void test_local(void) {
  grove_queue *q = grove_queue_new(0);
  grove_ref p = probe_spawn("p");
  uint64_t id = 0;
  CHECK_EQ(grove_monitor_to(p, q, &id), 0);
  CHECK(id != 0);
  CHECK_EQ(grove_queue_qsize(q), 0);
  CHECK_EQ(grove_send(p, msg_int("fail", GROVE_EPIPE)), 0);
  grove_log_set_level(GROVE_LOG_OFF); /* its crash report is test_crash_log's */
  check_down(get(q, 5.0), id, p, GROVE_EPIPE);
  grove_log_set_level(GROVE_LOG_INFO);
  /* one-shot: nothing more, and the watch is over */
  CHECK(get(q, 0.02) == NULL);
  CHECK_EQ(grove_demonitor(id), GROVE_ENOENT);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_gone_and_null(void) {
  grove_queue *q = grove_queue_new(0);
  grove_ref p = probe_spawn("p");
  CHECK_EQ(send_tag(p, "stop"), 0);
  await_end(p);
  uint64_t id = 0;
  CHECK_EQ(grove_monitor_to(p, q, &id), 0);
  check_down(get(q, 5.0), id, p, GROVE_ENOENT);
  CHECK_EQ(grove_monitor_to(p, NULL, &id), GROVE_EINVAL);
  CHECK_EQ(id, 0);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_several_and_demonitor(void) {
  grove_queue *q1 = grove_queue_new(0), *q2 = grove_queue_new(0);
  grove_ref p = probe_spawn("p");
  uint64_t a = 0, b = 0, c = 0;
  CHECK_EQ(grove_monitor_to(p, q1, &a), 0);
  CHECK_EQ(grove_monitor_to(p, q1, &b), 0);
  CHECK_EQ(grove_monitor_to(p, q2, &c), 0);
  CHECK(a != b && b != c && a != c);
  CHECK_EQ(grove_demonitor(b), 0);
  CHECK_EQ(grove_demonitor(c), 0);
  CHECK_EQ(grove_demonitor(c), GROVE_ENOENT);
  CHECK_EQ(grove_queue_free(q2), 0); /* nothing goes to it after demonitor */
  CHECK_EQ(send_tag(p, "stop"), 0);
  check_down(get(q1, 5.0), a, p, GROVE_EXIT_NORMAL);
  CHECK(get(q1, 0.05) == NULL); /* b's down never comes */
  CHECK_EQ(grove_queue_free(q1), 0);
}

/* A full bounded queue: the down is dropped (and logged), nothing blocks. */
static int drops;
static void count_drops(const grove_log_event *ev, void *user) {
  if (ev->kind == GROVE_LOG_DROP && strstr(ev->text, "queue is full"))
    drops++;
}

static void test_full_queue(void) {
  grove_queue *q = grove_queue_new(1);
  CHECK_EQ(grove_queue_put_nowait(q, (void *)1), 0);
  grove_ref p = probe_spawn("p");
  uint64_t id;
  CHECK_EQ(grove_monitor_to(p, q, &id), 0);
  drops = 0;
  grove_log_hook(count_drops, NULL);
  CHECK_EQ(send_tag(p, "stop"), 0);
  await_end(p);
  settle();
  grove_log_hook(NULL, NULL);
  CHECK_EQ(drops, 1);
  CHECK_EQ(grove_queue_qsize(q), 1);
  void *item;
  CHECK_EQ(grove_queue_get_nowait(q, &item), 0);
  CHECK(item == (void *)1);
  CHECK_EQ(grove_queue_free(q), 0);
}

/* An actor may use it too (its DOWN then goes to a queue, not its inbox). */
static grove_queue *actor_q;
static grove_ref actor_target;
static int watcher_init(grove_actor *self, void *arg) {
  return grove_monitor_to(actor_target, actor_q, NULL);
}
static int watcher_receive(grove_actor *self, grove_msg *msg) {
  test_log("inbox:%s", grove_msg_tag(msg));
  return 0;
}
static const grove_actor_class watcher_class = {.name = "watcher",
                                                .size = sizeof(grove_actor),
                                                .init = watcher_init,
                                                .receive = watcher_receive};

static void test_from_actor(void) {
  actor_q = grove_queue_new(0);
  actor_target = probe_spawn("t");
  grove_ref w = grove_actor_spawn(&watcher_class, NULL);
  settle();
  CHECK_EQ(send_tag(actor_target, "stop"), 0);
  grove_msg *m = get(actor_q, 5.0);
  CHECK(m && grove_msg_is(m, GROVE_TAG_DOWN));
  grove_msg_free(m);
  settle();
  CHECK(strstr(test_log_buf, "inbox:") == NULL);
  end_actor(w);
  CHECK_EQ(grove_queue_free(actor_q), 0);
}

/* A target on another hub. */
static void *spawn_there(void *arg) {
  grove_ref *r = arg;
  *r = probe_spawn("far");
  return NULL;
}

static void test_cross_hub(void) {
  CHECK_EQ(grove_hubs_start(2), 0);
  grove_ref far = GROVE_REF_NULL;
  CHECK_EQ(grove_hub_call_on(1, spawn_there, &far, NULL, 5.0), 0);
  CHECK(!grove_ref_is_null(far));
  grove_queue *q = grove_queue_new(0);
  uint64_t id = 0, id2 = 0;
  CHECK_EQ(grove_monitor_to(far, q, &id), 0);
  CHECK_EQ(grove_monitor_to(far, q, &id2), 0);
  CHECK_EQ(grove_demonitor(id2), 0);
  CHECK_EQ(grove_actor_exit(far, GROVE_ECONNRESET), 0);
  check_down(get(q, 5.0), id, far, GROVE_ECONNRESET);
  CHECK(get(q, 0.05) == NULL);
  CHECK_EQ(grove_hubs_stop(5.0), 0);
  CHECK_EQ(grove_queue_free(q), 0);
}

/* A watch not ended is an actor left at close. */
static void test_leaked_watch(void) {
  grove_queue *q = grove_queue_new(0);
  grove_ref p = probe_spawn("p");
  uint64_t id;
  CHECK_EQ(grove_monitor_to(p, q, &id), 0);
  grove_hub_counts c;
  CHECK_EQ(grove_hub_counts_get(&c), 0);
  CHECK_EQ(c.actors, 2); /* the target and the watch */
  grove_log_set_level(GROVE_LOG_OFF);
  CHECK_EQ(grove_hub_close(), GROVE_EBUSY);
  grove_log_set_level(GROVE_LOG_INFO);
  CHECK_EQ(grove_demonitor(id), 0);
  end_actor(p);
  settle();
  CHECK_EQ(grove_hub_counts_get(&c), 0);
  CHECK_EQ(c.actors, 0);
  CHECK_EQ(grove_queue_free(q), 0);
}

TEST_MAIN(TEST(test_local), TEST(test_gone_and_null), TEST(test_several_and_demonitor),
          TEST(test_full_queue), TEST(test_from_actor), TEST(test_cross_hub),
          TEST(test_leaked_watch))
