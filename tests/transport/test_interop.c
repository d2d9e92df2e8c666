/* tests/transport/test_interop.c - a Python process is a node.
 *
 * This process is node "grove" with actors registered by name: "calc"
 * (a call's reply is the sum of the integers in its body) and "callback"
 * (called with [ref]: it calls that ref with "double" [21] and replies to
 * its own caller with [the first integer of that answer, 1 if the answer's
 * sender is that ref]). tests/transport/interop.py, run with
 * /usr/bin/python3, speaks the wire protocol with pyzmq and msgpack as node
 * "py": it calls "calc" by name and by ref, calls "callback" with a ref to
 * one of its own "actors" and is called back, and follows the flow-control
 * rules: "burst" sends py more than py's window (py returns credit), and
 * py's sends to "bounded" (inbox_max 8) honour its grants (see the script).
 * Exit code 77 (skipped) when /usr/bin/python3 or its zmq / msgpack modules
 * are missing.
 */
#include "tr_util.h"

#ifndef GROVE_TEST_INTEROP_PY
#error "GROVE_TEST_INTEROP_PY: the path of interop.py (tests/CMakeLists.txt)"
#endif

#define PYTHON "/usr/bin/python3"

static int calc_receive(grove_actor *self, grove_msg *msg) {
  if (!grove_msg_is_call(msg))
    return 0;
  int64_t sum = 0, v;
  size_t n = grove_msg_count(msg);
  for (size_t i = 0; i < n; i++)
    if (grove_msg_int(msg, i, &v) == 0)
      sum += v;
  grove_reply(msg, TR_MSG("sum", sum));
  return 0;
}

static int calls_back;
static int callback_receive(grove_actor *self, grove_msg *msg) {
  if (!grove_msg_is_call(msg))
    return 0;
  grove_ref py;
  if (grove_msg_ref(msg, 0, &py) != 0) {
    grove_reply_error(msg, GROVE_EINVAL);
    return 0;
  }
  CHECK_EQ(py.node, grove_node_id("py"));
  grove_msg *answer = NULL;
  int rc = grove_call(py, TR_MSG("double", 21), &answer, 5.0);
  CHECK_EQ(rc, 0);
  if (rc) {
    grove_reply_error(msg, rc);
    return 0;
  }
  calls_back++;
  CHECK_STR(grove_msg_tag(answer), "doubled");
  grove_reply(
      msg, TR_MSG("answer", tr_int(answer, 0), grove_ref_eq(grove_msg_sender(answer), py) ? 1 : 0));
  grove_msg_free(answer);
  return 0;
}

/* "burst" [ref, n, size]: sends n messages of size bytes to ref, then
 * answers [n]. More than py's window: it goes through as py returns credit. */
static int burst_receive(grove_actor *self, grove_msg *msg) {
  if (!grove_msg_is_call(msg))
    return 0;
  grove_ref to = tr_ref(msg, 0);
  int64_t n = tr_int(msg, 1), size = tr_int(msg, 2), sent = 0;
  static char buf[4096];
  for (; sent < n && size > 0 && size <= (int64_t)sizeof buf; sent++) {
    grove_msg *m = grove_msg_new("burst");
    grove_msg_pack_bin(m, buf, (size_t)size);
    if (grove_send_timeout(to, m, 10.0) != 0)
      break;
  }
  grove_reply(msg, TR_MSG("done", sent));
  return 0;
}

/* "bounded": inbox_max 8, 1 ms per item; a call "report" answers [items,
 * the longest inbox it saw]. */
static int64_t bounded_items, bounded_longest;
static int bounded_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "item")) {
    bounded_items++;
    grove_sleep(0.001);
  }
  grove_actor_stats st;
  if (grove_actor_stats_get(grove_actor_ref(self), &st) == 0 &&
      (int64_t)st.inbox_len > bounded_longest)
    bounded_longest = (int64_t)st.inbox_len;
  if (grove_msg_is_call(msg))
    grove_reply(msg, TR_MSG("report", bounded_items, bounded_longest));
  return 0;
}

/* "trapper" (traps exits): call "report" answers [exits it got, the last
 * reason]; call "fail" answers grove_reply_error(-5001). "big": a call
 * [n] answers a bin of n bytes (interop.py's step 8). */
static int64_t trapped, trapped_reason;
static int trapper_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, GROVE_TAG_EXIT)) {
    trapped++;
    trapped_reason = tr_int(msg, 1);
  } else if (grove_msg_is(msg, "report")) {
    grove_reply(msg, TR_MSG("report", trapped, trapped_reason));
  } else if (grove_msg_is(msg, "fail")) {
    grove_reply_error(msg, -5001);
  }
  return 0;
}

static int big_receive(grove_actor *self, grove_msg *msg) {
  static char buf[128 * 1024];
  int64_t n = tr_int(msg, 0);
  if (grove_msg_is_call(msg) && n >= 0 && n <= (int64_t)sizeof buf) {
    grove_msg *r = grove_msg_new("big");
    grove_msg_pack_bin(r, buf, (size_t)n);
    grove_reply(msg, r);
  }
  return 0;
}

static const grove_actor_class trapper_class = {"trapper", sizeof(grove_actor), NULL,
                                                trapper_receive, NULL};
static const grove_actor_class big_class = {"big", sizeof(grove_actor), NULL, big_receive, NULL};
static const grove_actor_class calc_class = {"calc", sizeof(grove_actor), NULL, calc_receive, NULL};
static const grove_actor_class burst_class = {"burst", sizeof(grove_actor), NULL, burst_receive,
                                              NULL};
static const grove_actor_class bounded_class = {"bounded", sizeof(grove_actor), NULL,
                                                bounded_receive, NULL};
static const grove_actor_class callback_class = {"callback", sizeof(grove_actor), NULL,
                                                 callback_receive, NULL};

/* Start argv as a child process that dies with us. */
static pid_t spawn_prog(const char *const *argv) {
  fflush(stdout);
  fflush(stderr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(9);
    for (int fd = 3; fd < 1024; fd++)
      close(fd);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  for (int i = 0; pid > 0 && i < TR_MAX_CHILDREN; i++)
    if (tr_children[i] == 0) {
      tr_children[i] = pid;
      break;
    }
  return pid;
}

static void test_python_node(void) {
  grove_node_opts o = {.heartbeat_timeout = 2.0};
  CHECK_EQ(grove_node_start("grove", "tcp://127.0.0.1:0", &o), 0);
  grove_actor_opts co = {.name = "calc"}, cbo = {.name = "callback"}, bo = {.name = "burst"},
                   bdo = {.name = "bounded", .inbox_max = 8};
  grove_ref calc, cb, burst, bounded;
  CHECK_EQ(grove_actor_spawn_ex(&calc_class, NULL, &co, &calc), 0);
  CHECK_EQ(grove_actor_spawn_ex(&callback_class, NULL, &cbo, &cb), 0);
  CHECK_EQ(grove_actor_spawn_ex(&burst_class, NULL, &bo, &burst), 0);
  CHECK_EQ(grove_actor_spawn_ex(&bounded_class, NULL, &bdo, &bounded), 0);
  grove_actor_opts to = {.name = "trapper", .trap_exits = true}, bgo = {.name = "big"};
  grove_ref trapper, big;
  CHECK_EQ(grove_actor_spawn_ex(&trapper_class, NULL, &to, &trapper), 0);
  CHECK_EQ(grove_actor_spawn_ex(&big_class, NULL, &bgo, &big), 0);
  char endpoint[256];
  snprintf(endpoint, sizeof endpoint, "%s", grove_node_endpoint());
  const char *argv[] = {PYTHON, GROVE_TEST_INTEROP_PY, endpoint, "grove", NULL};
  double t = test_now();
  pid_t pid = spawn_prog(argv);
  CHECK(pid > 0);
  /* serve while it runs */
  int status = -1;
  while (pid > 0 && test_now() - t < 15) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      tr_forget(pid);
      break;
    }
    grove_sleep(0.005);
  }
  if (status < 0) {
    fprintf(stderr, "interop.py did not finish\n");
    tr_kill9(pid);
  }
  printf("     interop.py took %.3f s\n", test_now() - t);
  CHECK_EQ(status, 0);
  CHECK_EQ(calls_back, 1);
  /* it said goodbye */
  CHECK(!grove_node_is_up("py"));
  grove_node_stats st;
  CHECK_EQ(grove_node_stats_get(&st), 0);
  CHECK_EQ(st.nodes_up, 1);
  CHECK_EQ(st.nodes_down, 1);
  CHECK_EQ(st.dropped_malformed + st.dropped_unknown_peer, 0);
  CHECK_EQ(st.dropped_version, 3); /* its 9, 12 and 200 elements of version 2 */
  /* flow control: py honoured its grants and returned credit; the burst
   * waited for py's window */
  printf("     flow: %llu window waits, %llu CREDITs from py, dropped %llu; bounded inbox at "
         "most %lld\n",
         (unsigned long long)st.window_waits, (unsigned long long)st.credits_received,
         (unsigned long long)st.dropped_flow, (long long)bounded_longest);
  CHECK_EQ(st.dropped_flow, 0);
  CHECK(st.window_waits > 0);
  CHECK(st.credits_received > 0);
  CHECK_EQ(bounded_items, 100);
  CHECK(bounded_longest <= 8);
  tr_end_actor(calc);
  tr_end_actor(cb);
  tr_end_actor(burst);
  tr_end_actor(bounded);
  tr_end_actor(trapper);
  tr_end_actor(big);
  CHECK_EQ(grove_node_stop(), 0);
}

int main(int argc, char **argv) {
  if (access(PYTHON, X_OK) != 0 ||
      system(PYTHON " -c 'import zmq, msgpack' >/dev/null 2>&1") != 0) {
    printf("SKIP: %s with the zmq and msgpack modules is needed "
           "(scripts/install-deps.sh installs python3-zmq python3-msgpack)\n",
           PYTHON);
    return 77;
  }
  tr_guard(TR_TIME_LIMIT);
  static const test_case cases[] = {TEST(test_python_node)};
  int rc = test__run(cases, 1, argc, argv);
  tr_kill_all();
  return rc;
}
