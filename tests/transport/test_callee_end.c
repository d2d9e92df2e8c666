/* tests/transport/test_callee_end.c - a call whose callee ends without
 * replying fails at once with GROVE_ENOENT, whether the callee is local or
 * on another node (faults_child.h's "noreply" ends on a call; "hold" keeps
 * calls and ends on "end"); a callee that lives on without replying makes
 * both wait for their timeout ("drop"). */
#include "faults_child.h"

#define PAR "par"
#define SRV "srv"

typedef struct pending {
  grove_ref to;
  double timeout;
  int rc;
  double took;
} pending;

static void *do_call(void *arg) {
  pending *p = arg;
  grove_msg *rep = NULL;
  double t0 = test_now();
  p->rc = grove_call(p->to, grove_msg_new("x"), &rep, p->timeout);
  p->took = test_now() - t0;
  grove_msg_free(rep);
  return NULL;
}

/* The same three cases against refs of one node (local, or srv's). */
static void three_cases(grove_ref noreply, grove_ref hold, grove_ref drop, const char *where) {
  pending a = {noreply, 10.0, 1, 0};
  do_call(&a);
  if (a.rc != GROVE_ENOENT || a.took > 2.0)
    fprintf(stderr, "%s noreply: %s after %.2f s\n", where, grove_err_name(a.rc), a.took);
  CHECK_EQ(a.rc, GROVE_ENOENT);
  CHECK(a.took < 2.0);

  pending b = {hold, 10.0, 1, 0};
  grove_greenlet *g = grove_spawn(do_call, &b);
  grove_sleep(0.2); /* the call is held */
  CHECK_EQ(b.rc, 1);
  double t0 = test_now();
  CHECK_EQ(grove_send(hold, grove_msg_new("end")), 0);
  CHECK_EQ(grove_join(g, 5.0), 0);
  grove_greenlet_release(g);
  CHECK_EQ(b.rc, GROVE_ENOENT);
  CHECK(test_now() - t0 < 2.0);

  pending c = {drop, 0.5, 1, 0};
  do_call(&c);
  CHECK_EQ(c.rc, GROVE_ETIMEDOUT);
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
  three_cases(n, h, d, "local");
  tr_end_actor(d);
  /* remote */
  three_cases(fc_whereis(SRV, "noreply"), fc_whereis(SRV, "hold"), fc_whereis(SRV, "drop"),
              "remote");
  /* the callee's node is up and well */
  CHECK_EQ(tr_call_int(fc_whereis(SRV, "echo"), TR_MSG("x", 3), 5.0), 3);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(tr_reap(pid, 5.0), 0);
}

TR_MAIN(fc_child_main, TEST(test_local_and_remote_alike))
