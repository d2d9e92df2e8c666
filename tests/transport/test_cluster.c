/* tests/transport/test_cluster.c - worker processes supervised like actors.
 *
 * This process is the coordinator (node "coord"); its workers run
 * tests/transport/cluster_worker.c (GROVE_TEST_CLUSTER_WORKER), each with an
 * actor "w" answering "who" with [index, pid, knows-its-coordinator].
 * A killed worker: monitors of its actors fire at once (the launcher sees
 * the exit, no heartbeat timeout), it is restarted with the same name and
 * rejoins. Past the intensity limit every worker is stopped and
 * grove_cluster_wait says GROVE_EFAILED. grove_cluster_stop ends them all.
 */
#define TR_TIME_LIMIT 60 /* seconds: the whole program (seven clusters) */
#include "tr_util.h"

#ifndef GROVE_TEST_CLUSTER_WORKER
#error "GROVE_TEST_CLUSTER_WORKER: the path of cluster_worker (tests/CMakeLists.txt)"
#endif

static const char *const worker_argv[] = {GROVE_TEST_CLUSTER_WORKER, NULL};

static const char *const plain_argv[] = {GROVE_TEST_CLUSTER_WORKER, "--plain", NULL};

/* The child "coordinator": a cluster of two plain workers (no care of
 * their own: only grove_cluster_join makes them exit with it); it tells
 * the test their pids on fd 3 and waits to be killed or stopped. */
static int child_main(const tr_child *c) {
  if (strcmp(c->role, "coordinator") != 0)
    return 2;
  if (grove_node_start(c->name, c->endpoint, NULL) != 0)
    return 3;
  /* Announce once both workers run: the faults are for running workers
   * (one still in grove_cluster_join waits for its coordinator up to its
   * connect timeout, 10 s, however frozen the coordinator is). Their node
   * being up here is not enough - the worker's side of the handshake may
   * still be on its way - but "w", registered once join has returned, is. */
  static const char *const names[] = {"w", NULL};
  grove_cluster_opts o = {
      .argv = plain_argv, .workers = 2, .prefix = c->name, .quiet = true, .await_names = names};
  grove_cluster *cl = NULL;
  if (grove_cluster_start(&o, &cl) != 0)
    return 4;
  for (int i = 0; i < 2; i++) {
    char w[64];
    snprintf(w, sizeof w, "%s-%d", c->name, i);
    if (grove_node_wait_up(w, 30) != 0)
      return 6;
  }
  char line[64];
  int n = snprintf(line, sizeof line, "%d %d\n", grove_cluster_worker_pid(cl, 0),
                   grove_cluster_worker_pid(cl, 1));
  (void)!write(3, line, (size_t)n);
  close(3);
  grove_sleep(20); /* the test kills or stops us long before */
  return 5;
}

/* Whether a worker has exited: reaped (an orphan comes to us, the
 * subreaper), or a zombie its (stopped) parent has not reaped. */
static int worker_gone(pid_t pid) {
  int st;
  if (waitpid(pid, &st, WNOHANG) == pid)
    return 1;
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return 1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *paren = strrchr(buf, ')');
  return paren && paren[1] == ' ' && paren[2] == 'Z';
}

/* Start a coordinator child, do `fault` to it, and time how long its
 * workers outlive it (each must exit within `limit` seconds). */
static void coordinator_fault(int sig, double limit) {
  prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans come to us: we can reap them */
  char line[64] = "";
  pid_t co = tr_spawn(line, sizeof line, "coordinator", "co", tr_ipc("co"), NULL, NULL);
  CHECK(co > 0);
  int w[2] = {0, 0};
  CHECK_EQ(sscanf(line, "%d %d", &w[0], &w[1]), 2);
  if (co <= 0 || w[0] <= 0 || w[1] <= 0)
    return;
  CHECK_EQ(kill(co, sig), 0);
  double t0 = test_now();
  int left = 2;
  while (left > 0 && test_now() - t0 < limit + 5) {
    left = 0;
    for (int i = 0; i < 2; i++)
      if (w[i] > 0 && worker_gone(w[i]))
        w[i] = 0;
      else if (w[i] > 0)
        left++;
    tr_usleep(0.01);
  }
  double took = test_now() - t0;
  printf("     coordinator %s: its workers were gone %.2f s later\n", strsignal(sig), took);
  CHECK_EQ(left, 0);
  CHECK(took < limit);
  for (int i = 0; i < 2; i++)
    if (w[i] > 0)
      kill(w[i], SIGKILL), waitpid(w[i], NULL, 0);
  tr_kill9(co);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

/* A SIGKILLed coordinator takes its workers along at once (their
 * parent-death signal), */
static void test_workers_die_with_killed_coordinator(void) { coordinator_fault(SIGKILL, 2.0); }

/* and a frozen one once they declare it down (their monitor of its node:
 * heartbeat timeout 2.5 s by default). */
static void test_workers_leave_frozen_coordinator(void) { coordinator_fault(SIGSTOP, 6.0); }

/* Call worker i's "w": returns [index, pid, coordinator ok] through out. */
static int who(const grove_cluster *c, int i, int64_t out[3], grove_ref *ref) {
  const char *name = grove_cluster_worker_name(c, i);
  grove_ref w;
  /* "up" means its node is connected: the worker registers "w" just after
   * (and a restarted one again): wait for the name. */
  int rc = grove_whereis_remote_wait(name, "w", &w, 3.0);
  if (rc)
    return rc;
  if (ref)
    *ref = w;
  grove_msg *r = NULL;
  rc = grove_call(w, grove_msg_new("who"), &r, 3.0);
  if (rc)
    return rc;
  for (int k = 0; k < 3; k++)
    out[k] = tr_int(r, (size_t)k);
  grove_msg_free(r);
  return 0;
}

static int gone(int pid) { return pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH); }

static void test_cluster_restart(void) {
  CHECK_EQ(grove_node_start("coord", tr_ipc("coord"), NULL), 0);
  grove_cluster_opts o = {.argv = worker_argv, .workers = 3, .prefix = "wk", .quiet = true};
  grove_cluster *c = NULL;
  double t = test_now();
  CHECK_EQ(grove_cluster_start(&o, &c), 0);
  if (!c) {
    grove_node_stop();
    return;
  }
  printf("     3 workers up in %.3f s\n", test_now() - t);
  CHECK_EQ(grove_cluster_size(c), 3);
  CHECK_STR(grove_cluster_worker_name(c, 1), "wk-1");
  CHECK(grove_cluster_worker_name(c, 3) == NULL);
  int pids[3];
  grove_ref w1 = GROVE_REF_NULL;
  for (int i = 0; i < 3; i++) {
    int64_t me[3] = {-1, -1, -1};
    CHECK_EQ(who(c, i, me, i == 1 ? &w1 : NULL), 0);
    CHECK_EQ(me[0], i);
    pids[i] = grove_cluster_worker_pid(c, i);
    CHECK(pids[i] > 0);
    CHECK_EQ(me[1], pids[i]);
    CHECK_EQ(me[2], 1);
    CHECK(grove_node_is_up(grove_cluster_worker_name(c, i)));
  }
  CHECK_EQ(grove_cluster_restarts(c), 0);

  /* SIGKILL worker 1: its actor's monitor fires at once */
  grove_queue *q;
  grove_ref mb = tr_mbox_new(&q, false);
  int64_t mid = tr_mbox_do(mb, "tr.monitor", w1);
  CHECK(mid > 0);
  t = test_now();
  CHECK_EQ(grove_cluster_kill_worker(c, 1, SIGKILL), 0);
  grove_msg *m = tr_mbox_get(q, 3.0);
  double took = test_now() - t;
  CHECK(m != NULL);
  if (m) {
    CHECK_STR(grove_msg_tag(m), GROVE_TAG_DOWN);
    CHECK_EQ(tr_int(m, 0), mid);
    CHECK(grove_ref_eq(tr_ref(m, 1), w1));
    CHECK_EQ(tr_int(m, 2), GROVE_EXIT_NOCONNECTION);
    grove_msg_free(m);
  }
  printf("     monitor of the killed worker's actor fired after %.3f s\n", took);
  CHECK(took < 1.0);
  /* it is restarted, with a new pid, and rejoins under the same name */
  double deadline = test_now() + 5;
  while ((grove_cluster_worker_pid(c, 1) <= 0 || grove_cluster_worker_pid(c, 1) == pids[1] ||
          !grove_node_is_up("wk-1")) &&
         test_now() < deadline)
    grove_sleep(0.01);
  CHECK_EQ(grove_cluster_restarts(c), 1);
  int newpid = grove_cluster_worker_pid(c, 1);
  CHECK(newpid > 0 && newpid != pids[1]);
  CHECK(gone(pids[1]));
  int64_t me[3] = {-1, -1, -1};
  CHECK_EQ(who(c, 1, me, NULL), 0);
  CHECK_EQ(me[0], 1);
  CHECK_EQ(me[1], newpid);
  /* the others were not touched (one_for_one) */
  CHECK_EQ(grove_cluster_worker_pid(c, 0), pids[0]);
  CHECK_EQ(grove_cluster_worker_pid(c, 2), pids[2]);
  CHECK_EQ(grove_cluster_wait(c, 0), GROVE_ETIMEDOUT); /* still running */

  /* stop: every worker ends */
  pids[1] = newpid;
  CHECK_EQ(grove_cluster_stop(c, 2.0), 0);
  for (int i = 0; i < 3; i++) {
    CHECK(gone(pids[i]));
    CHECK(grove_cluster_worker_pid(c, i) <= 0);
  }
  CHECK_EQ(grove_cluster_wait(c, 0), 0);
  CHECK_EQ(grove_cluster_kill_worker(c, 0, SIGKILL), GROVE_ENOENT);
  grove_cluster_free(c);
  tr_mbox_free(mb, q);
  CHECK_EQ(grove_node_stop(), 0);
  for (int i = 0; i < 3; i++) { /* the workers' default endpoints (ZeroMQ leaves the files) */
    char path[128];
    snprintf(path, sizeof path, "/tmp/grove-%d-wk-%d", (int)getpid(), i);
    unlink(path);
  }
}

/* Past the intensity limit every worker is stopped. The workers here take
 * 0.3 s to join, and worker 0 is killed again as soon as it was restarted,
 * before it connects: a worker that crashes while starting (a crash loop)
 * must count against the intensity as promptly as one that ran. */
static void test_cluster_intensity(void) {
  static const char *const slow_argv[] = {GROVE_TEST_CLUSTER_WORKER, "--join-delay=0.3", NULL};
  CHECK_EQ(grove_node_start("coord", "tcp://127.0.0.1:0", NULL), 0);
  grove_cluster_opts o = {.argv = slow_argv,
                          .workers = 2,
                          .prefix = "iw",
                          .endpoint_base = "tcp://127.0.0.1",
                          .intensity = 1,
                          .period = 10,
                          .quiet = true};
  grove_cluster *c = NULL;
  CHECK_EQ(grove_cluster_start(&o, &c), 0);
  if (!c) {
    grove_node_stop();
    return;
  }
  int64_t me[3];
  CHECK_EQ(who(c, 0, me, NULL), 0);
  CHECK_EQ(who(c, 1, me, NULL), 0);
  int first = grove_cluster_worker_pid(c, 0), other = grove_cluster_worker_pid(c, 1);
  CHECK_EQ(grove_cluster_kill_worker(c, 0, SIGKILL), 0);
  double deadline = test_now() + 5;
  while ((grove_cluster_worker_pid(c, 0) <= 0 || grove_cluster_worker_pid(c, 0) == first) &&
         test_now() < deadline)
    grove_sleep(0.002);
  int second = grove_cluster_worker_pid(c, 0);
  CHECK(second > 0 && second != first);
  CHECK_EQ(grove_cluster_restarts(c), 1);
  CHECK(!grove_node_is_up("iw-0")); /* still in its join delay */
  /* the second kill within the period is one too many */
  double t = test_now();
  CHECK_EQ(grove_cluster_kill_worker(c, 0, SIGKILL), 0);
  CHECK_EQ(grove_cluster_wait(c, 5.0), GROVE_EFAILED);
  printf("     grove_cluster_wait returned %.3f s after the second kill\n", test_now() - t);
  deadline = test_now() + 3;
  while ((grove_cluster_worker_pid(c, 0) > 0 || grove_cluster_worker_pid(c, 1) > 0) &&
         test_now() < deadline)
    grove_sleep(0.005);
  CHECK(grove_cluster_worker_pid(c, 0) <= 0);
  CHECK(grove_cluster_worker_pid(c, 1) <= 0);
  CHECK(gone(first));
  CHECK(gone(second));
  CHECK(gone(other));
  CHECK_EQ(grove_cluster_stop(c, 1.0), 0);
  grove_cluster_free(c);
  CHECK_EQ(grove_node_stop(), 0);
}

static void test_cluster_errors(void) {
  grove_cluster_opts o = {.argv = worker_argv, .workers = 1, .quiet = true};
  grove_cluster *c = (grove_cluster *)1;
  CHECK_EQ(grove_cluster_start(&o, &c), GROVE_ENOENT); /* no node */
  CHECK(c == NULL);
  CHECK_EQ(grove_cluster_join(NULL), GROVE_ENOENT); /* not a worker */
  CHECK_EQ(grove_cluster_index(), -1);
  CHECK(grove_cluster_coordinator() == NULL);
  CHECK_EQ(grove_node_start("coord", tr_ipc("coord"), NULL), 0);
  o.workers = 0;
  CHECK_EQ(grove_cluster_start(&o, &c), GROVE_EINVAL);
  o.workers = 1;
  o.strategy = GROVE_SIMPLE_ONE_FOR_ONE; /* workers are a fixed set */
  CHECK_EQ(grove_cluster_start(&o, &c), GROVE_EINVAL);
  o.strategy = 77;
  CHECK_EQ(grove_cluster_start(&o, &c), GROVE_EINVAL);
  o.strategy = GROVE_ONE_FOR_ONE;
  /* a program that never joins: start gives up after ready_timeout and
   * leaves no process behind */
  static const char *const sleeper[] = {"/bin/sleep", "30", NULL};
  grove_cluster_opts s = {.argv = sleeper, .workers = 2, .ready_timeout = 0.3, .quiet = true};
  double t = test_now();
  int rc = grove_cluster_start(&s, &c);
  CHECK(rc != 0);
  CHECK(c == NULL);
  CHECK(test_now() - t < 3.0);
  /* a program that does not exist */
  static const char *const nothing[] = {"/nonexistent/grove-worker", NULL};
  grove_cluster_opts n = {.argv = nothing, .workers = 1, .quiet = true};
  CHECK(grove_cluster_start(&n, &c) != 0);
  CHECK(c == NULL);
  CHECK_EQ(grove_node_stop(), 0);
}

/* grove_cluster_start with await_names returns once every worker has
 * registered them: no caller loops on whereis. Workers here register "w"
 * 0.3 s after their node is up. */
static void test_cluster_await_names(void) {
  static const char *const slow_argv[] = {GROVE_TEST_CLUSTER_WORKER, "--register-delay=0.3", NULL};
  static const char *const names[] = {"w", NULL};
  CHECK_EQ(grove_node_start("coord", tr_ipc("coord"), NULL), 0);
  grove_cluster_opts o = {
      .argv = slow_argv, .workers = 2, .prefix = "aw", .quiet = true, .await_names = names};
  grove_cluster *c = NULL;
  double t = test_now();
  CHECK_EQ(grove_cluster_start(&o, &c), 0);
  if (!c) {
    grove_node_stop();
    return;
  }
  CHECK(test_now() - t >= 0.3);
  for (int i = 0; i < 2; i++) {
    grove_ref w;
    CHECK_EQ(grove_whereis_remote(grove_cluster_worker_name(c, i), "w", &w, 2.0), 0);
    /* by name, on the node: resolved at the call */
    grove_msg *r = NULL;
    CHECK_EQ(
        grove_call_name_remote(grove_cluster_worker_name(c, i), "w", grove_msg_new("who"), &r, 2.0),
        0);
    CHECK_EQ(tr_int(r, 0), i);
    grove_msg_free(r);
  }
  CHECK_EQ(grove_cluster_wait_name(c, "w", 1.0), 0);
  CHECK_EQ(grove_cluster_wait_name(c, "nobody", 0.1), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_cluster_wait_name(NULL, "w", 0.1), GROVE_EINVAL);
  grove_ref r;
  CHECK_EQ(grove_whereis_remote_wait("aw-0", "nobody", &r, 0.1), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_whereis_remote_wait("nonode", "w", &r, 0.1), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_whereis_remote_wait("aw-0", "", &r, 0.1), GROVE_EINVAL);
  grove_msg *rep = NULL;
  CHECK_EQ(grove_call_name_remote("aw-0", "nobody", grove_msg_new("who"), &rep, 0.1), GROVE_ENOENT);
  CHECK_EQ(grove_call_name_remote("nonode", "w", grove_msg_new("who"), &rep, 0.1),
           GROVE_EHOSTUNREACH);
  /* a restart: the name is gone, then back; a call by name waits for it */
  int old = grove_cluster_worker_pid(c, 1);
  CHECK_EQ(grove_cluster_kill_worker(c, 1, SIGKILL), 0);
  t = test_now();
  CHECK_EQ(grove_call_name_remote("aw-1", "w", grove_msg_new("who"), &rep, 5.0), 0);
  printf("     call by name across a worker's restart: %.3f s\n", test_now() - t);
  if (rep) {
    CHECK_EQ(tr_int(rep, 1), grove_cluster_worker_pid(c, 1));
    CHECK(tr_int(rep, 1) != old);
    grove_msg_free(rep);
  }
  CHECK_EQ(grove_cluster_stop(c, 2.0), 0);
  grove_cluster_free(c);
  CHECK_EQ(grove_node_stop(), 0);
}

/* grove_cluster_map: 60 jobs over 3 workers, 2 in flight each; worker 1 is
 * SIGKILLed mid-run. Every result arrives once, in job order; the jobs the
 * dead worker held are re-sent; no worker ever had more than 2 queued. */
static grove_cluster *map_cluster;
static void *kill_midway(void *arg) {
  (void)arg;
  grove_sleep(0.25);
  test_log("kill pid %d", grove_cluster_worker_pid(map_cluster, 1));
  CHECK_EQ(grove_cluster_kill_worker(map_cluster, 1, SIGKILL), 0);
  return NULL;
}

static grove_msg *sq_job(int64_t x, int64_t ms) {
  grove_msg *m = grove_msg_new("sq");
  grove_msg_pack_int(m, x);
  grove_msg_pack_int(m, ms);
  return m;
}

static void test_cluster_map(void) {
  static const char *const names[] = {"w", NULL};
  CHECK_EQ(grove_node_start("coord", tr_ipc("coord"), NULL), 0);
  grove_cluster_opts o = {
      .argv = worker_argv, .workers = 3, .prefix = "mw", .quiet = true, .await_names = names};
  CHECK_EQ(grove_cluster_start(&o, &map_cluster), 0);
  grove_cluster *c = map_cluster;
  if (!c) {
    grove_node_stop();
    return;
  }
  enum { N = 60 };
  grove_msg *jobs[N], *res[N];
  for (int i = 0; i < N; i++)
    jobs[i] = sq_job(i, 20);
  int victim = grove_cluster_worker_pid(c, 1);
  grove_greenlet *k = grove_spawn(kill_midway, NULL);
  grove_cluster_map_opts mo = {.per_worker = 2, .job_timeout = 5};
  double t = test_now();
  CHECK_EQ(grove_cluster_map(c, "w", jobs, N, res, &mo, 20), 0);
  printf("     %d jobs, one worker SIGKILLed: %.3f s\n", N, test_now() - t);
  CHECK_EQ(grove_join(k, 1), 0);
  grove_greenlet_release(k);
  CHECK_EQ(grove_cluster_restarts(c), 1);
  int by_victim = 0, by_new = 0;
  int64_t max_inbox = 0;
  for (int i = 0; i < N; i++) {
    CHECK(res[i] != NULL);
    if (!res[i])
      continue;
    CHECK_EQ(tr_int(res[i], 0), (int64_t)i * i); /* in job order */
    int64_t pid = tr_int(res[i], 1), inbox = tr_int(res[i], 2);
    by_victim += pid == victim;
    by_new += pid == grove_cluster_worker_pid(c, 1);
    if (inbox > max_inbox)
      max_inbox = inbox;
    grove_msg_free(res[i]);
  }
  printf("     done by the killed worker: %d, by its successor: %d, max queued: %lld\n", by_victim,
         by_new, (long long)max_inbox);
  CHECK(by_victim > 0);
  CHECK(max_inbox <= 1); /* 2 in flight: one processed, at most one waiting */

  /* a job that fails on every worker: the map gives up with its error */
  grove_msg *bad[3] = {sq_job(1, 0), grove_msg_new("bad"), sq_job(3, 0)};
  mo.max_attempts = 2;
  CHECK_EQ(grove_cluster_map(c, "w", bad, 3, res, &mo, 10), GROVE_EPROTO);
  CHECK(res[1] == NULL);
  for (int i = 0; i < 3; i++)
    grove_msg_free(res[i]);
  /* nothing to do; bad arguments (the jobs are freed) */
  CHECK_EQ(grove_cluster_map(c, "w", NULL, 0, NULL, NULL, 1), 0);
  grove_msg *one[1] = {sq_job(2, 0)};
  CHECK_EQ(grove_cluster_map(c, NULL, one, 1, res, NULL, 1), GROVE_EINVAL);
  /* a timeout: slow jobs */
  grove_msg *slow[2] = {sq_job(1, 2000), sq_job(2, 2000)};
  t = test_now();
  CHECK_EQ(grove_cluster_map(c, "w", slow, 2, res, NULL, 0.2), GROVE_ETIMEDOUT);
  CHECK(test_now() - t < 1.5);
  CHECK(res[0] == NULL && res[1] == NULL);
  CHECK_EQ(grove_cluster_stop(c, 2.0), 0);
  grove_cluster_free(c);
  map_cluster = NULL;
  CHECK_EQ(grove_node_stop(), 0);
}

TR_MAIN(child_main, TEST(test_cluster_restart), TEST(test_cluster_await_names),
        TEST(test_cluster_map), TEST(test_cluster_intensity), TEST(test_cluster_errors),
        TEST(test_workers_die_with_killed_coordinator), TEST(test_workers_leave_frozen_coordinator))
