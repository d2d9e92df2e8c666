/* tests/transport/test_callee_end.c - a call whose callee ends without
 * replying fails at once with GROVE_EEXITED and the callee's exit reason,
 * whether the callee is local or on another node, blocking (grove_call_ex)
 * or as a future (grove_call_async): faults_child.h's "noreply" ends on a
 * call; "hold" keeps calls and ends on "end"; a "mortal" crashes with a
 * reason while handling a call, another call queued behind it; a callee
 * that lives on without replying makes both wait for their timeout
 * ("drop"). */
#include "faults_child.h"

#define PAR "par"
#define SRV "srv"

typedef struct pending {
  grove_ref to;
  double timeout;
  int rc;
  double took;
  int reason;
  bool async; /* grove_call_async + grove_call_result instead of grove_call_ex */
} pending;

static void *do_call(void *arg) {
  pending *p = arg;
  grove_msg *rep = NULL;
  double t0 = test_now();
  p->reason = 12345;
  if (p->async) {
    grove_async_result *r = NULL;
    CHECK_EQ(grove_call_async(p->to, grove_msg_new("x"), &r, p->timeout), 0);
    p->rc = grove_call_result(r, &rep, &p->reason, GROVE_FOREVER);
    CHECK_EQ(grove_async_result_error(r), p->rc);
    CHECK_EQ(grove_async_result_free(r), 0);
  } else {
    p->rc = grove_call_ex(p->to, grove_msg_new("x"), &rep, p->timeout, &p->reason);
  }
  p->took = test_now() - t0;
  grove_msg_free(rep);
  return NULL;
}

/* The same three cases against refs of one node (local, or srv's). */
static void three_cases(grove_ref noreply, grove_ref hold, grove_ref drop, const char *where,
                        bool async) {
  pending a = {noreply, 10.0, 1, 0, 0, async};
  do_call(&a);
  if (a.rc != GROVE_EEXITED || a.took > 2.0)
    fprintf(stderr, "%s noreply: %s after %.2f s\n", where, grove_err_name(a.rc), a.took);
  CHECK_EQ(a.rc, GROVE_EEXITED);
  CHECK_EQ(a.reason, GROVE_EXIT_NORMAL);
  CHECK(a.took < 2.0);
  /* it has ended: a call now is to no such actor */
  pending a2 = {noreply, 10.0, 1, 0, 0, async};
  do_call(&a2);
  CHECK_EQ(a2.rc, GROVE_ENOENT);
  CHECK_EQ(a2.reason, 0);

  pending b = {hold, 10.0, 1, 0, 0, async};
  grove_greenlet *g = grove_spawn(do_call, &b);
  grove_sleep(0.2); /* the call is held */
  CHECK_EQ(b.rc, 1);
  double t0 = test_now();
  CHECK_EQ(grove_send(hold, grove_msg_new("end")), 0);
  CHECK_EQ(grove_join(g, 5.0), 0);
  grove_greenlet_release(g);
  CHECK_EQ(b.rc, GROVE_EEXITED);
  CHECK_EQ(b.reason, GROVE_EXIT_NORMAL);
  CHECK(test_now() - t0 < 2.0);

  pending c = {drop, 0.5, 1, 0, 0, async};
  do_call(&c);
  CHECK_EQ(c.rc, GROVE_ETIMEDOUT);
}

/* A "mortal" of srv (or a local one) crashes with GROVE_EAGAIN while it
 * handles one call, a second call queued behind it: both callers get
 * GROVE_EEXITED with reason GROVE_EAGAIN; a later call: GROVE_ENOENT. */
static int mortal_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "crash")) {
    grove_sleep((double)tr_int(msg, 0) / 1000.0);
    return (int)tr_int(msg, 1);
  }
  return 0;
}
static const grove_actor_class mortal_class = {"mortal", sizeof(grove_actor), NULL, mortal_receive,
                                               NULL};

static void crash_mid_call(grove_ref m) {
  grove_async_result *rs[2] = {NULL, NULL};
  CHECK_EQ(grove_call_async(m, TR_MSG("crash", 200, GROVE_EAGAIN), &rs[0], 10.0), 0);
  CHECK_EQ(grove_call_async(m, TR_MSG("x", 1), &rs[1], 10.0), 0); /* queued */
  grove_waitable w[2] = {GROVE_WAITABLE_ASYNC_RESULT(rs[0]), GROVE_WAITABLE_ASYNC_RESULT(rs[1])};
  size_t nready = 0;
  double t0 = test_now();
  CHECK_EQ(grove_wait(w, 2, 0, 5.0, NULL, &nready), 0);
  CHECK_EQ(nready, 2);
  CHECK(test_now() - t0 < 3.0);
  for (int i = 0; i < 2; i++) {
    grove_msg *rep = (grove_msg *)&rep;
    int why = 0;
    CHECK_EQ(grove_call_result(rs[i], &rep, &why, 0), GROVE_EEXITED);
    CHECK(rep == NULL);
    CHECK_EQ(why, GROVE_EAGAIN);
    CHECK_EQ(grove_async_result_free(rs[i]), 0);
  }
  int why = 1;
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call_ex(m, TR_MSG("x", 1), &rep, 5.0, &why), GROVE_ENOENT);
  CHECK_EQ(why, 0);
}

static void blocking_crash(grove_ref m) {
  int why = 0;
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call_ex(m, TR_MSG("crash", 50, GROVE_EPIPE), &rep, 5.0, &why), GROVE_EEXITED);
  CHECK_EQ(why, GROVE_EPIPE);
  CHECK(rep == NULL);
}

static void test_local_and_remote_alike(void) {
  char bound[256];
  pid_t pid = tr_spawn(bound, sizeof bound, "srv", SRV, tr_ipc("srv"), PAR, NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  CHECK_EQ(grove_node_start(PAR, tr_ipc("par"), NULL), 0);
  CHECK_EQ(grove_node_connect(SRV, bound), 0);
  /* local */
  grove_ref n = grove_actor_spawn(&fc_noreply, NULL), h = grove_actor_spawn(&fc_hold, NULL),
            d = grove_actor_spawn(&fc_drop, NULL);
  three_cases(n, h, d, "local", false);
  n = grove_actor_spawn(&fc_noreply, NULL);
  h = grove_actor_spawn(&fc_hold, NULL);
  three_cases(n, h, d, "local async", true);
  tr_end_actor(d);
  crash_mid_call(grove_actor_spawn(&mortal_class, NULL));
  blocking_crash(grove_actor_spawn(&mortal_class, NULL));
  /* remote */
  three_cases(tr_whereis(SRV, "noreply"), tr_whereis(SRV, "hold"), tr_whereis(SRV, "drop"),
              "remote", false);
  crash_mid_call(fc_spawn_remote(SRV));
  blocking_crash(fc_spawn_remote(SRV));
  /* the callee's node is up and well */
  CHECK_EQ(tr_call_int(tr_whereis(SRV, "echo"), TR_MSG("x", 3), 5.0), 3);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(tr_reap(pid, 5.0), 0);
}

TR_MAIN(fc_child_main, TEST(test_local_and_remote_alike))
