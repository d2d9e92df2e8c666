/* tests/transport/test_future_remote.c - grove_call_async to an actor on
 * another node (faults_child.h's node, over ipc): the reply as the
 * future's value, a scatter-gather of calls with one wait, the call's own
 * timeout, a future freed before its REPLY (the REPLY is dropped and
 * counted as unknown_target), and this node stopping while a call is
 * pending (GROVE_EHOSTUNREACH). A remote callee that ends before replying:
 * test_callee_end.c. */
#include "faults_child.h"

#define PAR "par"
#define SRV "srv"

static int64_t unknown_targets(void) {
  grove_node_stats st;
  memset(&st, 0, sizeof st);
  CHECK_EQ(grove_node_stats_get(&st), 0);
  return (int64_t)st.unknown_target;
}

static void test_remote_futures(void) {
  char bound[256];
  pid_t pid = tr_spawn(bound, sizeof bound, "srv", SRV, tr_ipc("fsrv"), PAR, NULL);
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  CHECK_EQ(grove_node_start(PAR, tr_ipc("fpar"), NULL), 0);
  CHECK_EQ(grove_node_connect(SRV, bound), 0);
  grove_ref echo = tr_whereis(SRV, "echo"), drop = tr_whereis(SRV, "drop");

  /* the value */
  grove_async_result *r = NULL;
  CHECK_EQ(grove_call_async(echo, TR_MSG("x", 41), &r, 5.0), 0);
  CHECK(!grove_async_result_ready(r));
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call_result(r, &rep, NULL, 5.0), 0);
  CHECK(rep && grove_msg_is(rep, "echo-reply"));
  CHECK_EQ(rep ? tr_int(rep, 0) : -1, 41);
  grove_msg_free(rep);
  CHECK_EQ(grove_async_result_free(r), 0);

  /* scatter-gather: 200 calls, one wait */
  enum { N = 200 };
  static grove_async_result *rs[N];
  static grove_waitable ws[N];
  for (int i = 0; i < N; i++) {
    CHECK_EQ(grove_call_async(echo, TR_MSG("x", i), &rs[i], 10.0), 0);
    ws[i] = GROVE_WAITABLE_ASYNC_RESULT(rs[i]);
  }
  size_t n = 0;
  CHECK_EQ(grove_wait(ws, N, 0, 10.0, NULL, &n), 0);
  CHECK_EQ(n, N);
  int64_t sum = 0;
  for (int i = 0; i < N; i++) {
    void *v = NULL;
    CHECK_EQ(grove_async_result_get(rs[i], &v, 0), 0);
    sum += v ? tr_int(v, 0) : -100000;
    CHECK_EQ(grove_async_result_free(rs[i]), 0);
  }
  CHECK_EQ(sum, (int64_t)N * (N - 1) / 2);

  /* the call's own timeout: a callee that never answers */
  double t0 = test_now();
  CHECK_EQ(grove_call_async(drop, TR_MSG("x", 1), &r, 0.2), 0);
  CHECK_EQ(grove_async_result_wait(r, 5.0), 0);
  CHECK(test_now() - t0 < 2.0);
  CHECK_EQ(grove_call_result(r, &rep, NULL, 0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_async_result_free(r), 0);

  /* freed before its REPLY: dropped and counted; the next call's REPLY
   * comes after it on the same link */
  int64_t before = unknown_targets();
  CHECK_EQ(grove_call_async(echo, TR_MSG("x", 7), &r, 5.0), 0);
  CHECK_EQ(grove_async_result_free(r), 0);
  CHECK_EQ(tr_call_int(echo, TR_MSG("x", 8), 5.0), 8);
  CHECK_EQ(unknown_targets(), before + 1);

  /* this node stops with a call pending: GROVE_EHOSTUNREACH */
  CHECK_EQ(grove_call_async(drop, TR_MSG("x", 2), &r, GROVE_FOREVER), 0);
  grove_async_result *late = NULL; /* and one freed after the node is gone */
  CHECK_EQ(grove_call_async(drop, TR_MSG("x", 3), &late, GROVE_FOREVER), 0);
  CHECK_EQ(grove_node_stop(), 0);
  CHECK_EQ(grove_call_result(r, &rep, NULL, 1.0), GROVE_EHOSTUNREACH);
  CHECK_EQ(grove_async_result_free(r), 0);
  CHECK_EQ(grove_async_result_free(late), 0);
  /* no node: the future fails at once */
  CHECK_EQ(grove_call_async(echo, TR_MSG("x", 1), &r, 1.0), 0);
  CHECK_EQ(grove_call_result(r, &rep, NULL, 0), GROVE_EHOSTUNREACH);
  CHECK_EQ(grove_async_result_free(r), 0);
  CHECK_EQ(tr_reap(pid, 5.0), 0);
}

TR_MAIN(fc_child_main, TEST(test_remote_futures))
