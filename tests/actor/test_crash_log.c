/* tests/actor/test_crash_log.c - what actors and supervisors tell the logger
 * (grove/log.h): a crash report for an actor that failed on its own (in
 * receive, with the tag of the message; in init; a receive that returned
 * nonsense; grove_exit with an error), none for normal ends, shutdowns and
 * kills; a supervisor's "restarted child" reports and its "giving up" once
 * the intensity is exceeded; and a leaked actor named by grove_hub_close. */
#include "actor_util.h"

#include <grove/supervisor.h>

#define CAP_MAX 32
typedef struct entry {
  grove_log_level level;
  grove_log_kind kind;
  grove_ref actor, supervisor;
  char name[32], cls[32], tag[64], child[32], text[512];
  int reason;
  uint64_t count;
} entry;
static entry cap[CAP_MAX];
static int ncap;

static void capture(const grove_log_event *ev, void *user) {
  (void)user;
  if (ncap >= CAP_MAX)
    return;
  entry *e = &cap[ncap++];
  memset(e, 0, sizeof *e);
  e->level = ev->level;
  e->kind = ev->kind;
  e->actor = ev->actor;
  e->supervisor = ev->supervisor;
  e->reason = ev->reason;
  e->count = ev->count;
  snprintf(e->name, sizeof e->name, "%s", ev->actor_name ? ev->actor_name : "");
  snprintf(e->cls, sizeof e->cls, "%s", ev->actor_class ? ev->actor_class : "");
  snprintf(e->tag, sizeof e->tag, "%s", ev->msg_tag ? ev->msg_tag : "");
  snprintf(e->child, sizeof e->child, "%s", ev->child_id ? ev->child_id : "");
  snprintf(e->text, sizeof e->text, "%s", ev->text);
}
static void start_capture(void) {
  ncap = 0;
  grove_log_hook(capture, NULL);
}
static int count_kind(grove_log_kind k) {
  int n = 0;
  for (int i = 0; i < ncap; i++)
    n += cap[i].kind == k;
  return n;
}

/* ---- crash reports ------------------------------------------------------------------ */

static void test_crash_in_receive(void) {
  start_capture();
  grove_actor_opts o = {.name = "kv"};
  grove_ref p = probe_spawn_opts("p", o);
  CHECK_EQ(grove_send(p, msg_int("fail", GROVE_EAGAIN)), 0);
  await_end(p);
  grove_log_hook(NULL, NULL);
  CHECK_EQ(ncap, 1);
  CHECK_EQ(cap[0].level, GROVE_LOG_ERROR);
  CHECK_EQ(cap[0].kind, GROVE_LOG_ACTOR_CRASHED);
  CHECK(grove_ref_eq(cap[0].actor, p));
  CHECK_STR(cap[0].name, "kv");
  CHECK_STR(cap[0].cls, "probe");
  CHECK_STR(cap[0].tag, "fail");
  CHECK_EQ(cap[0].reason, GROVE_EAGAIN);
  CHECK(strstr(cap[0].text, "actor probe 'kv'") != NULL);
  CHECK(strstr(cap[0].text, "crashed: GROVE_EAGAIN while handling 'fail'") != NULL);
  printf("     %s\n", cap[0].text);
}

static void test_crash_bad_return(void) {
  start_capture();
  grove_ref p = probe_spawn("p");
  CHECK_EQ(grove_send(p, msg_int("fail", 42)), 0); /* not 0, GROVE_STOP or an error */
  await_end(p);
  grove_log_hook(NULL, NULL);
  CHECK_EQ(ncap, 1);
  CHECK_EQ(cap[0].reason, GROVE_EINVAL);
  CHECK_STR(cap[0].tag, "fail");
  CHECK_STR(cap[0].name, "");
  CHECK(strstr(cap[0].text, "receive returned 42") != NULL);
}

static int badinit_init(grove_actor *self, void *arg) { return GROVE_EPERM; }
static int nop_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "exit"))
    grove_exit(GROVE_ECONNRESET);
  return 0;
}
static const grove_actor_class badinit_class = {
    .name = "badinit", .size = sizeof(grove_actor), .init = badinit_init, .receive = nop_receive};
static const grove_actor_class nop_class = {
    .name = "nop", .size = sizeof(grove_actor), .receive = nop_receive};

static void test_crash_in_init_and_exit(void) {
  start_capture();
  grove_ref a = grove_actor_spawn(&badinit_class, NULL);
  await_end(a);
  grove_ref b = grove_actor_spawn(&nop_class, NULL);
  CHECK_EQ(send_tag(b, "exit"), 0);
  await_end(b);
  grove_log_hook(NULL, NULL);
  CHECK_EQ(ncap, 2);
  CHECK_STR(cap[0].cls, "badinit");
  CHECK_EQ(cap[0].reason, GROVE_EPERM);
  CHECK_STR(cap[0].tag, "");
  CHECK(strstr(cap[0].text, "in init") != NULL);
  CHECK_STR(cap[1].cls, "nop");
  CHECK_EQ(cap[1].reason, GROVE_ECONNRESET);
  CHECK_STR(cap[1].tag, "exit");
}

/* Normal ends, shutdowns and kills are not crashes; a level above the
 * threshold is not reported either. */
static void test_no_report(void) {
  start_capture();
  grove_ref a = probe_spawn("a"), b = probe_spawn("b"), c = probe_spawn("c");
  CHECK_EQ(send_tag(a, "stop"), 0);
  CHECK_EQ(grove_actor_exit(b, GROVE_EXIT_SHUTDOWN), 0);
  CHECK_EQ(grove_actor_exit(c, GROVE_EXIT_KILLED), 0);
  await_end(a);
  await_end(b);
  await_end(c);
  /* linked to a crasher: only the crasher reports */
  grove_ref d = probe_spawn("d"), e = probe_spawn("e");
  CHECK_EQ(grove_link_actors(d, e), 0);
  CHECK_EQ(grove_send(d, msg_int("fail", GROVE_EPIPE)), 0);
  await_end(d);
  await_end(e);
  CHECK_EQ(ncap, 1);
  CHECK(grove_ref_eq(cap[0].actor, d));
  grove_log_set_level(GROVE_LOG_OFF);
  grove_ref f = probe_spawn("f");
  CHECK_EQ(grove_send(f, msg_int("fail", GROVE_EPIPE)), 0);
  await_end(f);
  grove_log_set_level(GROVE_LOG_INFO);
  grove_log_hook(NULL, NULL);
  CHECK_EQ(ncap, 1);
}

/* ---- supervisors ------------------------------------------------------------------------ */

static int w_receive(grove_actor *self, grove_msg *msg) {
  return grove_msg_is(msg, "crash") ? GROVE_EAGAIN : 0;
}
static const grove_actor_class w_class = {
    .name = "worker", .size = sizeof(grove_actor), .receive = w_receive};

static void test_supervisor_reports(void) {
  start_capture();
  grove_child_spec spec = {.id = "w1",
                           .cls = &w_class,
                           .restart = GROVE_PERMANENT,
                           .shutdown = 1.0,
                           .opts = {.name = "w1"}};
  grove_supervisor_opts so = {
      .strategy = GROVE_ONE_FOR_ONE, .intensity = 2, .period = 10, .name = "top"};
  grove_ref sup;
  CHECK_EQ(grove_supervisor_start(&so, &spec, 1, &sup), 0);
  grove_ref w = GROVE_REF_NULL;
  for (int i = 0; i < 3; i++) {
    /* the restart is done when the name names a new actor */
    grove_ref now = GROVE_REF_NULL;
    for (int k = 0; k < 500; k++) {
      if (grove_whereis("w1", &now) == 0 && !grove_ref_eq(now, w))
        break;
      grove_sleep(0.002);
    }
    w = now;
    CHECK_EQ(send_tag(w, "crash"), 0);
    if (i < 2)
      await_end(w);
  }
  await_end(sup);
  grove_log_hook(NULL, NULL);
  CHECK_EQ(count_kind(GROVE_LOG_ACTOR_CRASHED), 3);
  CHECK_EQ(count_kind(GROVE_LOG_CHILD_RESTARTED), 2);
  CHECK_EQ(count_kind(GROVE_LOG_SUPERVISOR_GAVE_UP), 1);
  for (int i = 0; i < ncap; i++) {
    entry *e = &cap[i];
    if (e->kind == GROVE_LOG_CHILD_RESTARTED) {
      CHECK_EQ(e->level, GROVE_LOG_INFO);
      CHECK(grove_ref_eq(e->supervisor, sup));
      CHECK_STR(e->child, "w1");
      CHECK_STR(e->name, "w1");
      CHECK_STR(e->cls, "worker");
      CHECK_EQ(e->reason, GROVE_EAGAIN);
      CHECK(!grove_ref_is_null(e->actor));
      CHECK(strstr(e->text, "supervisor top: restarted child w1") != NULL);
    } else if (e->kind == GROVE_LOG_SUPERVISOR_GAVE_UP) {
      CHECK_EQ(e->level, GROVE_LOG_ERROR);
      CHECK(grove_ref_eq(e->supervisor, sup));
      CHECK_STR(e->name, "top");
      CHECK_EQ(e->reason, GROVE_EAGAIN);
      CHECK_EQ(e->count, 2);
      CHECK(strstr(e->text, "giving up") != NULL);
      CHECK(i == ncap - 1); /* the last word */
    } else {
      CHECK_EQ(e->kind, GROVE_LOG_ACTOR_CRASHED);
      CHECK_STR(e->tag, "crash");
    }
  }
}

/* ---- a leaked actor at close --------------------------------------------------------------- */

static void test_leaked_actor(void) {
  grove_ref a = probe_spawn("leak");
  settle();
  grove_hub_counts c;
  CHECK_EQ(grove_hub_counts_get(&c), 0);
  CHECK_EQ(c.actors, 1);
  char buf[128];
  grove_hub_leftovers(buf, sizeof buf);
  CHECK_STR(buf, "1 actor");
  start_capture();
  CHECK_EQ(grove_hub_close(), GROVE_EBUSY);
  grove_log_hook(NULL, NULL);
  CHECK_EQ(ncap, 1);
  CHECK_EQ(cap[0].kind, GROVE_LOG_HUB_LEFTOVERS);
  CHECK(strstr(cap[0].text, "1 actor left") != NULL);
  end_actor(a);
  CHECK_EQ(grove_hub_counts_get(&c), 0);
  CHECK_EQ(c.actors, 0);
}

TEST_MAIN(TEST(test_crash_in_receive), TEST(test_crash_bad_return),
          TEST(test_crash_in_init_and_exit), TEST(test_no_report), TEST(test_supervisor_reports),
          TEST(test_leaked_actor))
