/* tests/transport/test_cluster_netns.c - cluster workers on other "hosts":
 * network namespaces this test creates, each its own machine with its own
 * address, joined by veth pairs to a bridge in a fourth namespace.
 *
 *   coordinator  ns <p>c  198.18.9.1  (this program again, under ip netns exec)
 *   host a       ns <p>a  198.18.9.2  workers started by `ip netns exec <p>a`
 *   host b       ns <p>b  198.18.9.3  workers started by `ip netns exec <p>b`
 *
 * The cases (each its own cluster of cluster_worker processes):
 *   open_refused     the coordinator's node on 198.18.9.1 without CURVE is
 *                    refused (GROVE_EINSECURE), with allow_open it starts; a
 *                    cluster on hosts a, b is refused without allow_open and
 *                    runs with it (workers bound on their hosts' addresses).
 *   curve_sigkill    CURVE from a key file (coordinator and workers): a
 *                    worker on host a SIGKILLed is restarted there (same
 *                    endpoint, new process) and answers again.
 *   remote_shell     the hosts reached as over ssh (fake_ssh.sh): the
 *                    environment passed as quoted `env` arguments; the
 *                    "ssh client" SIGKILLed, the worker restarted.
 *   partition_there  host a cut off (`ip link set eth0 down`): its worker's
 *                    node goes down, the launcher kills its process and
 *                    restarts it on a, where it comes up once a is back.
 *   partition_move   failover GROVE_CLUSTER_NEXT_HOST: the worker of the cut
 *                    host is restarted on b and answers from there while a
 *                    is still cut off.
 * The outer process creates the namespaces and removes them whatever
 * happens (and those of dead runs); without root, `ip` or network
 * namespaces it says SKIPPED and exits 77.
 */
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(GROVE_TEST_CLUSTER_WORKER) || !defined(GROVE_TEST_FAKE_SSH)
#error "GROVE_TEST_CLUSTER_WORKER, GROVE_TEST_FAKE_SSH: the paths of cluster_worker, fake_ssh.sh"
#endif

#define IP_C "198.18.9.1"
#define IP_A "198.18.9.2"
#define IP_B "198.18.9.3"
#define COORD_EP "tcp://" IP_C ":7590"
#define HB_INTERVAL 0.25
#define HB_TIMEOUT 1.5

static char prefix[32]; /* namespace names: <prefix>s, <prefix>c, <prefix>a, <prefix>b */
static char keydir[128];
static char keyfile[192];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  char cmd[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int rc = system(cmd);
  return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* ---- inside the coordinator's namespace: the cases ----------------------------------------- */

static const char *worker_argv[] = {GROVE_TEST_CLUSTER_WORKER, NULL};
static char ns_a[40], ns_b[40];
static const char *cmd_a[] = {"ip", "netns", "exec", ns_a, NULL};
static const char *cmd_b[] = {"ip", "netns", "exec", ns_b, NULL};

static grove_node_opts coord_opts(int curve) {
  grove_node_opts o = {.heartbeat_interval = HB_INTERVAL, .heartbeat_timeout = HB_TIMEOUT};
  if (curve)
    o.curve_keyfile = keyfile;
  else
    o.allow_open = true;
  return o;
}

static const char *const await_w[] = {"w", NULL};

static grove_cluster_opts hosts_opts(const grove_cluster_host *hosts, int nhosts, int workers) {
  grove_cluster_opts co = {.argv = worker_argv,
                           .workers = workers,
                           .hosts = hosts,
                           .nhosts = nhosts,
                           .intensity = 5,
                           .period = 10,
                           .await_names = await_w};
  return co;
}

/* Ask worker i who it is: its pid and the endpoint its node bound. */
static int who(grove_cluster *c, int i, int64_t *pid, char *ep, size_t cap, double timeout) {
  grove_ref r;
  int rc = grove_whereis_remote_wait(grove_cluster_worker_name(c, i), "w", &r, timeout);
  if (rc)
    return rc;
  grove_msg *reply = NULL;
  if ((rc = grove_call(r, grove_msg_new("who"), &reply, 3.0)) != 0)
    return rc;
  const char *s = "";
  size_t n = 0;
  grove_msg_int(reply, 1, pid);
  grove_msg_str(reply, 3, &s, &n);
  snprintf(ep, cap, "%.*s", (int)n, s);
  grove_msg_free(reply);
  return 0;
}

/* who() until the worker answers from a process other than `old` (bounded). */
static int who_new(grove_cluster *c, int i, int64_t old, int64_t *pid, char *ep, size_t cap,
                   double timeout) {
  double end = test_now() + timeout;
  while (test_now() < end) {
    if (who(c, i, pid, ep, cap, 0.5) == 0 && *pid != old)
      return 0;
    grove_sleep(0.05);
  }
  return GROVE_ETIMEDOUT;
}

static int wait_restarts(grove_cluster *c, int k, double timeout) {
  double end = test_now() + timeout;
  while (grove_cluster_restarts(c) < k && test_now() < end)
    grove_sleep(0.02);
  return grove_cluster_restarts(c) >= k ? 0 : GROVE_ETIMEDOUT;
}

static void test_open_refused(void) {
  grove_node_opts mesh = {.mesh = true}; /* a cluster's node: refused */
  CHECK_EQ(grove_node_start("coord", COORD_EP, &mesh), GROVE_EINSECURE);
  grove_node_opts o = coord_opts(0);
  CHECK_EQ(grove_node_start("coord", COORD_EP, &o), 0);
  grove_cluster_host hosts[] = {{.address = IP_A, .command = cmd_a},
                                {.address = IP_B, .command = cmd_b}};
  grove_cluster_opts co = hosts_opts(hosts, 2, 2);
  grove_cluster *c = NULL;
  CHECK_EQ(grove_cluster_start(&co, &c), GROVE_EINSECURE);
  CHECK(c == NULL);
  co.allow_open = true;
  double t0 = test_now();
  CHECK_EQ(grove_cluster_start(&co, &c), 0);
  if (c) {
    printf("open cluster on hosts a, b up in %.3f s\n", test_now() - t0);
    int64_t pid = 0;
    char ep[256] = "";
    CHECK_EQ(who(c, 0, &pid, ep, sizeof ep, 5), 0);
    CHECK_STR(ep, "tcp://" IP_A ":7800");
    CHECK_EQ(pid, grove_cluster_worker_pid(c, 0)); /* ip netns exec execs the worker */
    CHECK_EQ(who(c, 1, &pid, ep, sizeof ep, 5), 0);
    CHECK_STR(ep, "tcp://" IP_B ":7801");
    CHECK_STR(grove_cluster_worker_endpoint(c, 1), "tcp://" IP_B ":7801");
    CHECK_EQ(grove_cluster_worker_host(c, 1), 1);
    CHECK_EQ(grove_cluster_stop(c, 2), 0);
    grove_cluster_free(c);
  }
  CHECK_EQ(grove_node_stop(), 0);
}

static void test_curve_sigkill(void) {
  grove_node_opts o = coord_opts(1);
  CHECK_EQ(grove_node_start("coord", COORD_EP, &o), 0);
  grove_cluster_host hosts[] = {{.address = IP_A, .command = cmd_a},
                                {.address = IP_B, .command = cmd_b}};
  grove_cluster_opts co = hosts_opts(hosts, 2, 2);
  co.keyfile = keyfile;
  grove_cluster *c = NULL;
  CHECK_EQ(grove_cluster_start(&co, &c), 0);
  if (!c) {
    grove_node_stop();
    return;
  }
  int64_t pid = 0, pid2 = 0;
  char ep[256] = "";
  CHECK_EQ(who(c, 0, &pid, ep, sizeof ep, 5), 0);
  CHECK_STR(ep, "tcp://" IP_A ":7800");
  double t0 = test_now();
  CHECK_EQ(grove_cluster_kill_worker(c, 0, SIGKILL), 0);
  CHECK_EQ(who_new(c, 0, pid, &pid2, ep, sizeof ep, 10), 0);
  printf("worker on host a SIGKILLed: answering again from a new process in %.3f s\n",
         test_now() - t0);
  CHECK_STR(ep, "tcp://" IP_A ":7800"); /* restarted there */
  CHECK(pid2 != pid && pid2 > 0);
  CHECK(kill((pid_t)pid, 0) != 0);
  CHECK_EQ(grove_cluster_restarts(c), 1);
  CHECK_EQ(who(c, 1, &pid, ep, sizeof ep, 5), 0); /* the other one untouched */
  CHECK_EQ(grove_cluster_stop(c, 2), 0);
  grove_cluster_free(c);
  CHECK_EQ(grove_node_stop(), 0);
}

static void partition(int failover) {
  grove_node_opts o = coord_opts(1);
  CHECK_EQ(grove_node_start("coord", COORD_EP, &o), 0);
  grove_cluster_host hosts[] = {{.address = IP_A, .command = cmd_a},
                                {.address = IP_B, .command = cmd_b}};
  grove_cluster_opts co = hosts_opts(hosts, 2, 2);
  co.keyfile = keyfile;
  co.failover = failover ? GROVE_CLUSTER_NEXT_HOST : GROVE_CLUSTER_SAME_HOST;
  grove_cluster *c = NULL;
  CHECK_EQ(grove_cluster_start(&co, &c), 0);
  if (!c) {
    grove_node_stop();
    return;
  }
  int64_t pid = 0, pid2 = 0;
  char ep[256] = "";
  CHECK_EQ(who(c, 0, &pid, ep, sizeof ep, 5), 0);
  double t0 = test_now();
  CHECK_EQ(sh("ip -n %s link set eth0 down", ns_a), 0);
  CHECK_EQ(wait_restarts(c, 1, 4 * HB_TIMEOUT + 2), 0);
  printf("host a cut off: its worker declared unreachable and its process killed in %.3f s\n",
         test_now() - t0);
  double t1 = test_now();
  while (kill((pid_t)pid, 0) == 0 && test_now() < t1 + 3)
    grove_sleep(0.02);
  CHECK(kill((pid_t)pid, 0) != 0 && errno == ESRCH); /* killed and reaped */
  if (failover) {
    /* On b at once, a still cut off. */
    CHECK_EQ(who_new(c, 0, pid, &pid2, ep, sizeof ep, 10), 0);
    printf("worker moved to host b: answering %.3f s after the cut\n", test_now() - t0);
    CHECK_STR(ep, "tcp://" IP_B ":7800");
    CHECK_EQ(grove_cluster_worker_host(c, 0), 1);
    CHECK_STR(grove_cluster_worker_endpoint(c, 0), "tcp://" IP_B ":7800");
    CHECK_EQ(sh("ip -n %s link set eth0 up", ns_a), 0);
  } else {
    grove_sleep(0.5); /* the new process is starting on a, which is still cut off */
    CHECK(!grove_node_is_up(grove_cluster_worker_name(c, 0)));
    CHECK_EQ(sh("ip -n %s link set eth0 up", ns_a), 0);
    double t2 = test_now();
    CHECK_EQ(who_new(c, 0, pid, &pid2, ep, sizeof ep, 12), 0);
    printf("host a back: its worker answering again %.3f s after the heal\n", test_now() - t2);
    CHECK_STR(ep, "tcp://" IP_A ":7800");
    CHECK_EQ(grove_cluster_worker_host(c, 0), 0);
  }
  CHECK(pid2 != pid && pid2 > 0);
  CHECK_EQ(who(c, 1, &pid, ep, sizeof ep, 5), 0);      /* the other one untouched */
  CHECK_EQ(grove_cluster_wait(c, 0), GROVE_ETIMEDOUT); /* not failed */
  CHECK_EQ(grove_cluster_stop(c, 2), 0);
  grove_cluster_free(c);
  CHECK_EQ(grove_node_stop(), 0);
}

/* Through a remote shell, as over ssh (fake_ssh.sh: the words joined into
 * one command line for a shell, the environment emptied): the cluster's
 * variables and env_pass reach the worker as `env` arguments, quoted; the
 * rest of ours does not. */
static void test_remote_shell(void) {
  grove_node_opts o = coord_opts(1);
  CHECK_EQ(grove_node_start("coord", COORD_EP, &o), 0);
  const char *ssh_a[] = {GROVE_TEST_FAKE_SSH, ns_a, NULL};
  const char *ssh_b[] = {GROVE_TEST_FAKE_SSH, ns_b, NULL};
  grove_cluster_host hosts[] = {{.address = IP_A, .command = ssh_a, .shell = true},
                                {.address = IP_B, .command = ssh_b, .shell = true}};
  grove_cluster_opts co = hosts_opts(hosts, 2, 2); /* worker-1's PEERS has a ';' */
  co.keyfile = keyfile;
  setenv("GROVE_TEST_ENV_A", "from the coordinator's environment", 1);
  setenv("GROVE_TEST_ENV_C", "not passed", 1);
  co.env_pass =
      (const char *const[]){"GROVE_TEST_ENV_A", "GROVE_TEST_ENV_B=it's $HOME; `x` \\ \"q\"",
                            "GROVE_TEST_UNSET_VARIABLE", NULL};
  grove_cluster *c = NULL;
  CHECK_EQ(grove_cluster_start(&co, &c), 0);
  unsetenv("GROVE_TEST_ENV_A");
  unsetenv("GROVE_TEST_ENV_C");
  if (!c) {
    grove_node_stop();
    return;
  }
  for (int i = 0; i < 2; i++) {
    grove_ref r;
    grove_msg *reply = NULL;
    CHECK_EQ(grove_whereis_remote_wait(grove_cluster_worker_name(c, i), "w", &r, 5), 0);
    CHECK_EQ(grove_call(r, grove_msg_new("who"), &reply, 3.0), 0);
    const char *s[4] = {"", "", "", ""};
    size_t n[4] = {0};
    for (int k = 0; reply && k < 4; k++)
      grove_msg_str(reply, 3 + (size_t)k, &s[k], &n[k]);
    char buf[4][128];
    for (int k = 0; k < 4; k++)
      snprintf(buf[k], sizeof buf[k], "%.*s", (int)n[k], s[k]);
    CHECK_STR(buf[0], i ? "tcp://" IP_B ":7801" : "tcp://" IP_A ":7800");
    CHECK_STR(buf[1], "from the coordinator's environment");
    CHECK_STR(buf[2], "it's $HOME; `x` \\ \"q\"");
    CHECK_STR(buf[3], "(unset)");
    grove_msg_free(reply);
  }
  int64_t pid = 0, pid2 = 0;
  char ep[256];
  CHECK_EQ(who(c, 0, &pid, ep, sizeof ep, 5), 0);
  CHECK_EQ(grove_cluster_kill_worker(c, 0, SIGKILL), 0); /* the "ssh client" */
  CHECK_EQ(who_new(c, 0, pid, &pid2, ep, sizeof ep, 10), 0);
  CHECK_STR(ep, "tcp://" IP_A ":7800");
  CHECK_EQ(grove_cluster_restarts(c), 1);
  CHECK_EQ(grove_cluster_stop(c, 2), 0);
  grove_cluster_free(c);
  CHECK_EQ(grove_node_stop(), 0);
}

static void test_partition_there(void) { partition(0); }
static void test_partition_move(void) { partition(1); }

static int run_cases(int argc, char **argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  snprintf(prefix, sizeof prefix, "%s", getenv("GCN_PREFIX") ? getenv("GCN_PREFIX") : "");
  snprintf(keyfile, sizeof keyfile, "%s", getenv("GCN_KEYFILE") ? getenv("GCN_KEYFILE") : "");
  snprintf(ns_a, sizeof ns_a, "%sa", prefix);
  snprintf(ns_b, sizeof ns_b, "%sb", prefix);
  setvbuf(stdout, NULL, _IOLBF, 0);
  static const test_case cases[] = {TEST(test_open_refused), TEST(test_curve_sigkill),
                                    TEST(test_remote_shell), TEST(test_partition_there),
                                    TEST(test_partition_move)};
  return test__run(cases, sizeof cases / sizeof cases[0], argc, argv);
}

/* ---- outside: the namespaces ----------------------------------------------------------------- */

static int created;

static void cleanup(void) {
  if (!created)
    return;
  created = 0;
  const char *sfx[] = {"c", "a", "b", "s"};
  for (int i = 0; i < 4; i++)
    sh("ip netns del %s%s 2>/dev/null", prefix, sfx[i]);
  if (keydir[0])
    sh("rm -rf '%s'", keydir);
}

static pid_t child;

static void on_signal(int sig) {
  if (child > 0)
    kill(child, SIGKILL);
  cleanup();
  _exit(128 + sig);
}

/* Namespaces of runs that died without cleaning up: gcn<pid>x, pid gone. */
static void sweep_stale(void) {
  FILE *f = popen("ip netns list 2>/dev/null", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f)) {
    int pid = 0;
    char rest[8];
    if (sscanf(line, "gcn%d%1[a-z]", &pid, rest) == 2 && pid != getpid() && pid > 0) {
      char proc[64];
      snprintf(proc, sizeof proc, "/proc/%d", pid);
      struct stat st;
      if (stat(proc, &st) != 0)
        sh("ip netns del gcn%d%s 2>/dev/null", pid, rest);
    }
  }
  if (f)
    pclose(f);
}

static int skip(const char *why) {
  printf("test_cluster_netns: SKIPPED: %s\n", why);
  return 77;
}

static int setup(void) {
  if (sh("ip netns add %ss", prefix) != 0)
    return -1;
  created = 1;
  if (sh("ip -n %ss link add br0 type bridge && ip -n %ss link set br0 up", prefix, prefix))
    return -1;
  const char *sfx[] = {"c", "a", "b"};
  const char *ip[] = {IP_C, IP_A, IP_B};
  for (int i = 0; i < 3; i++) {
    const char *x = sfx[i];
    if (sh("ip netns add %s%s", prefix, x) ||
        sh("ip -n %s%s link add eth0 type veth peer name p%s netns %ss", prefix, x, x, prefix) ||
        sh("ip -n %s%s addr add %s/24 dev eth0", prefix, x, ip[i]) ||
        sh("ip -n %s%s link set eth0 up && ip -n %s%s link set lo up", prefix, x, prefix, x) ||
        sh("ip -n %ss link set p%s master br0 && ip -n %ss link set p%s up", prefix, x, prefix, x))
      return -1;
  }
  /* Wait for the links (bounded): a ping from the coordinator to each host. */
  for (int i = 1; i < 3; i++)
    sh("ip netns exec %sc ping -c 1 -W 2 %s >/dev/null 2>&1", prefix, ip[i]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--in-netns") == 0)
    return run_cases(argc - 1, argv + 1);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (geteuid() != 0)
    return skip("needs root to create network namespaces");
  if (sh("command -v ip >/dev/null 2>&1") != 0)
    return skip("needs iproute2 (`ip`)");
  snprintf(prefix, sizeof prefix, "gcn%d", (int)getpid());
  if (sh("ip netns add %sp 2>/dev/null", prefix) != 0)
    return skip("cannot create a network namespace here (`ip netns add` failed)");
  sh("ip netns del %sp", prefix);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGALRM, on_signal);
  alarm(100); /* ctest's timeout is 120 s: clean up before it */
  sweep_stale();
  atexit(cleanup);
  if (setup() != 0) {
    fprintf(stderr, "test_cluster_netns: could not set up the namespaces\n");
    return 1;
  }
  /* The key file every node of the cluster loads. */
  snprintf(keydir, sizeof keydir, "/tmp/grove-gcn-%d", (int)getpid());
  mkdir(keydir, 0700);
  snprintf(keyfile, sizeof keyfile, "%s/cluster.key_secret", keydir);
  char pub[41], sec[41];
  if (grove_curve_keypair(pub, sec) != 0 || grove_curve_keyfile_save(keyfile, pub, sec) != 0) {
    fprintf(stderr, "test_cluster_netns: cannot write the key file\n");
    return 1;
  }
  setenv("GCN_PREFIX", prefix, 1);
  setenv("GCN_KEYFILE", keyfile, 1);
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0)
    return 1;
  self[len] = 0;
  char nsc[48];
  snprintf(nsc, sizeof nsc, "%sc", prefix);
  child = fork();
  if (child == 0) {
    const char *av[] = {"ip", "netns", "exec", nsc, self, "--in-netns", argc > 1 ? argv[1] : NULL,
                        NULL};
    execvp("ip", (char *const *)av);
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  child = 0;
  cleanup();
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "test_cluster_netns: the cases died of signal %d\n", WTERMSIG(status));
    return 1;
  }
  return WEXITSTATUS(status);
}
