/* cluster.c - a map-reduce job over a cluster of worker processes that
 * survives the loss of a worker.
 *
 *   cluster [--quick]
 *
 * One binary, two roles. Started by hand, it is the coordinator: it starts a
 * node and launches three copies of itself with grove_cluster_start. Each
 * copy finds the launcher's environment (GROVE_NODE_NAME, ...), so its
 * grove_cluster_join() returns 0 and it becomes a worker: it registers a
 * "mapper" actor, which answers a "map" [chunk, lo, hi, ms] call with the
 * sum of k*k for k = lo..hi (after sleeping ms milliseconds, to stand for
 * real work), and waits for SIGTERM.
 *
 * The job: the sum of k*k for k = 1..1,000,000, split into 30 chunks, handed
 * to grove_cluster_map: it keeps two chunks in flight per worker (a call to
 * the worker's "mapper", looked up by name), and a free worker takes the
 * next chunk. grove_cluster_start was told the workers register "mapper"
 * (opts.await_names), so it returns once every mapper can be called. A
 * third of the way through, a greenlet SIGKILLs worker 1: its calls fail at
 * once with GROVE_EHOSTUNREACH (the launcher sees the process exit, so
 * nobody waits for the heartbeat timeout), grove_cluster_map puts the
 * chunks it held back in the queue for the other workers, and looks worker
 * 1's "mapper" up again once the cluster's one_for_one supervisor has
 * restarted it. Each chunk's result arrives once, in chunk order. The
 * coordinator checks the total against n(n+1)(2n+1)/6 and exits 0 only if
 * it is right.
 *
 * --quick: 30 ms of "work" per chunk instead of 100 ms (the test suite).
 *
 * Across machines (scripts/demo_netns.sh runs it in network namespaces):
 *
 *   cluster --hosts ADDR[@NS],ADDR@NS,... --keyfile PATH
 *   cluster --make-keyfile PATH
 *
 * --hosts: one worker per host; the coordinator binds the first host's
 * address (tcp://ADDR:7590: it runs there) and starts a worker on each
 * host through `ip netns exec NS` (no @NS: here), each bound to its host's
 * address, with CURVE keys from the key file for every node. Nobody is
 * SIGKILLed: the script cuts one host off mid-job and heals it; the job
 * is 60 chunks of 150 ms, and it prints "job started" when it starts (the
 * script's cue). The worker of the host cut off is declared down after the
 * heartbeat timeout, its chunks go to the others, and it is started again
 * on its host, where it joins once the host is back. --make-keyfile writes
 * a new CURVE keypair as a key file (grove_curve_keyfile_save).
 */
#include <grove.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 3
#define MAX_HOSTS 8
static int chunks = 30;
#define CHUNKS chunks
#define N 1000000        /* sum k*k for k = 1..N */
#define VICTIM 1         /* the worker killed halfway */
#define CALL_TIMEOUT 5.0 /* seconds; a chunk takes ~0.1 s */

static double t0;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double elapsed(void) { return now_s() - t0; }

/* libzmq (4.3) leaves the socket file of an ipc:// endpoint behind when the
 * node stops: remove it (call with a copy made before grove_node_stop). */
static void remove_ipc_file(const char *endpoint) {
  if (strncmp(endpoint, "ipc://", 6) == 0 && endpoint[6] == '/')
    unlink(endpoint + 6);
}

/* ---- the worker's side ---------------------------------------------------------- */

static int mapper_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  int64_t chunk, lo, hi, ms;
  if (!grove_msg_is(msg, "map") || !grove_msg_is_call(msg) || grove_msg_int(msg, 0, &chunk) ||
      grove_msg_int(msg, 1, &lo) || grove_msg_int(msg, 2, &hi) || grove_msg_int(msg, 3, &ms))
    return grove_msg_is_call(msg) ? grove_reply_error(msg, GROVE_EINVAL) : 0;
  grove_sleep((double)ms / 1e3); /* the "work"; other messages wait, as in any actor */
  int64_t sum = 0;
  for (int64_t k = lo; k <= hi; k++)
    sum += k * k;
  grove_msg *r = grove_msg_new("partial");
  grove_msg_pack_int(r, chunk);
  grove_msg_pack_int(r, sum);
  grove_msg_pack_int(r, getpid()); /* so the coordinator can tell incarnations apart */
  return grove_reply(msg, r);
}

static const grove_actor_class mapper_class = {
    .name = "mapper", .size = sizeof(grove_actor), .receive = mapper_receive};

/* grove_cluster_join has started this process's node and connected it to
 * the coordinator. */
static int worker_main(void) {
  grove_ref mapper;
  grove_actor_opts opts = {.name = "mapper"};
  int rc = grove_actor_spawn_ex(&mapper_class, NULL, &opts, &mapper);
  if (rc != 0) {
    fprintf(stderr, "cluster: %s: cannot start the mapper: %s\n", grove_node_name(),
            grove_strerror(rc));
    grove_node_stop();
    return EXIT_FAILURE;
  }
  /* grove_cluster_stop sends SIGTERM. Also end if the coordinator goes away
   * (it crashed: its node is down after the heartbeat timeout). */
  const char *coordinator = grove_cluster_coordinator();
  while ((rc = grove_signal_wait(SIGTERM, 0.5)) == GROVE_ETIMEDOUT &&
         grove_node_is_up(coordinator)) {
  }
  grove_actor_exit(mapper, GROVE_EXIT_SHUTDOWN);
  grove_actor_wait(mapper, NULL, 1);
  char endpoint[256];
  snprintf(endpoint, sizeof endpoint, "%s", grove_node_endpoint());
  grove_node_stop();
  remove_ipc_file(endpoint);
  return grove_hub_close() == 0 && rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- the coordinator's side --------------------------------------------------------- */

static grove_cluster *cluster;
static int work_ms = 100;
static int nworkers = WORKERS;

/* --hosts: where the workers run, and how to start a program there. */
static grove_cluster_host hosts[MAX_HOSTS];
static int nhosts;
static const char *host_cmd[MAX_HOSTS][5];
static const char *keyfile;

/* A third of the way through the job (the chunks take CHUNKS / WORKERS *
 * work_ms at full strength), kill a worker in the middle of its chunks. */
static int victim_pid;
static void *killer(void *arg) {
  (void)arg;
  if (grove_sleep((double)CHUNKS / WORKERS * work_ms / 1e3 / 3) != 0)
    return NULL;
  victim_pid = grove_cluster_worker_pid(cluster, VICTIM);
  printf("[%5.2f s] SIGKILL %s (pid %d)\n", elapsed(), grove_cluster_worker_name(cluster, VICTIM),
         victim_pid);
  grove_cluster_kill_worker(cluster, VICTIM, SIGKILL);
  return NULL;
}

static int coordinator_main(void) {
  char endpoint[128];
  grove_node_opts nopts = {0};
  if (nhosts) {
    /* Its own machine's address, CURVE from the key file; a shorter
     * heartbeat timeout than the default 2.5 s, so the host cut off is
     * seen down within the job. */
    snprintf(endpoint, sizeof endpoint, "tcp://%s:7590", hosts[0].address);
    nopts.curve_keyfile = keyfile;
    nopts.heartbeat_interval = 0.25;
    nopts.heartbeat_timeout = 1.5;
  } else {
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/grove-cluster-%d-coordinator", (int)getpid());
  }
  int rc = grove_node_start("coordinator", endpoint, &nopts);
  if (rc != 0) {
    fprintf(stderr, "cluster: cannot start the coordinator's node: %s\n", grove_strerror(rc));
    return EXIT_FAILURE;
  }
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) {
    fprintf(stderr, "cluster: cannot find this program's path\n");
    return EXIT_FAILURE;
  }
  self[len] = 0;
  const char *argv[] = {self, NULL};
  grove_cluster_opts copts = {
      .argv = argv,
      .workers = WORKERS,
      .prefix = "worker",
      .strategy = GROVE_ONE_FOR_ONE, /* restart only the worker that died */
      .intensity = 3,                /* at most 3 restarts in 5 s, else give up */
      .period = 5,
      .quiet = true, /* this program says what happens itself */
      .await_names = (const char *const[]){"mapper", NULL}, /* start returns once registered */
  };
  if (nhosts) {
    copts.workers = nworkers;
    copts.hosts = hosts; /* worker i on hosts[i], bound to tcp://<its address>:7800+i */
    copts.nhosts = nhosts;
    copts.keyfile = keyfile; /* the workers' nodes load it too (same path there) */
    copts.quiet = false;     /* the launcher's own lines: down, restarted where */
  }
  t0 = now_s();
  rc = grove_cluster_start(&copts, &cluster);
  if (rc != 0) {
    fprintf(stderr, "cluster: cannot start the workers: %s\n", grove_strerror(rc));
    grove_node_stop();
    return EXIT_FAILURE;
  }
  printf("coordinator (pid %d) started %d workers in %.0f ms:", (int)getpid(), nworkers,
         elapsed() * 1e3);
  for (int i = 0; i < nworkers; i++)
    printf(" %s (pid %d%s%s)%s", grove_cluster_worker_name(cluster, i),
           grove_cluster_worker_pid(cluster, i), nhosts ? ", " : "",
           nhosts ? grove_cluster_worker_endpoint(cluster, i) : "", i + 1 < nworkers ? "," : "\n");
  if (nhosts)
    printf("every link encrypted: CURVE keys from %s\n", keyfile);
  printf("job: sum of k*k for k = 1..%d in %d chunks, %d ms of work per chunk\n", N, CHUNKS,
         work_ms);

  /* One request per chunk; grove_cluster_map owns them from here. */
  const int64_t size = (N + CHUNKS - 1) / CHUNKS;
  grove_msg *jobs[64], *replies[64];
  for (int c = 0; c < CHUNKS; c++) {
    int64_t lo = (int64_t)c * size + 1, hi = lo + size - 1 < N ? lo + size - 1 : N;
    jobs[c] = grove_msg_new("map");
    grove_msg_pack_int(jobs[c], c);
    grove_msg_pack_int(jobs[c], lo);
    grove_msg_pack_int(jobs[c], hi);
    grove_msg_pack_int(jobs[c], work_ms);
  }
  t0 = now_s();
  grove_greenlet *k = nhosts ? NULL : grove_spawn(killer, NULL); /* --hosts: the script cuts */
  if (nhosts)
    printf("[%5.2f s] job started\n", elapsed());
  grove_cluster_map_opts mo = {.per_worker = 2, .job_timeout = CALL_TIMEOUT};
  rc = grove_cluster_map(cluster, "mapper", jobs, (size_t)CHUNKS, replies, &mo, 30);
  double took = elapsed();
  if (k) {
    grove_kill(k, GROVE_FOREVER);
    grove_greenlet_release(k);
  }
  if (rc != 0)
    printf("[%5.2f s] grove_cluster_map: %s\n", took, grove_strerror(rc));

  /* The result, checked against the closed form; who did what. */
  struct {
    int pid, chunks;
  } by_pid[16];
  int npids = 0, ndone = 0;
  int64_t total = 0, expected = (int64_t)N * (N + 1) * (2 * N + 1) / 6;
  for (int c = 0; c < CHUNKS; c++) {
    int64_t chunk = -1, sum = 0, pid = 0;
    if (!replies[c])
      continue;
    grove_msg_int(replies[c], 0, &chunk);
    grove_msg_int(replies[c], 1, &sum);
    grove_msg_int(replies[c], 2, &pid);
    grove_msg_free(replies[c]);
    if (chunk != c)
      continue; /* never: results come in chunk order */
    ndone++;
    total += sum;
    int i = 0;
    while (i < npids && by_pid[i].pid != pid)
      i++;
    if (i == npids && npids < 16)
      by_pid[npids++] = (typeof(by_pid[0])){(int)pid, 0};
    if (i < npids)
      by_pid[i].chunks++;
  }
  int ok = rc == 0 && ndone == CHUNKS && total == expected;
  printf("[%5.2f s] %d/%d chunks done\n", took, ndone, CHUNKS);
  printf("chunks done by each worker process:");
  for (int i = 0; i < npids; i++)
    printf(" pid %d%s: %d%s", by_pid[i].pid, by_pid[i].pid == victim_pid ? " (killed)" : "",
           by_pid[i].chunks, i + 1 < npids ? "," : "\n");
  int restarts = grove_cluster_restarts(cluster);
  if (nhosts)
    printf("workers lost (unreachable or dead), restarted by the cluster: %d\n", restarts);
  else
    printf("workers killed: 1, restarted by the cluster: %d\n", restarts);
  printf("result   %lld\nexpected %lld (n(n+1)(2n+1)/6): %s\n", (long long)total,
         (long long)expected, ok ? "correct" : "WRONG");

  rc = grove_cluster_stop(cluster, 2); /* SIGTERM; SIGKILL after 2 s */
  grove_cluster_free(cluster);
  printf("cluster stopped: %s\n",
         rc == 0 ? "every worker ended on SIGTERM" : "some worker had to be killed");
  grove_node_stop();
  remove_ipc_file(endpoint);
  if (grove_hub_close() != 0) {
    fprintf(stderr, "cluster: the hub did not close cleanly\n");
    ok = 0;
  }
  if (nhosts) /* the host cut off: its worker restarted at least once */
    return ok && restarts >= 1 ? EXIT_SUCCESS : EXIT_FAILURE;
  return ok && restarts == 1 && victim_pid > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* "ADDR[@NS],ADDR@NS,...": a host per entry, started through `ip netns
 * exec NS` (in production the prefix would be {"ssh", "host", NULL} with
 * .shell = true). */
static int parse_hosts(char *list) {
  for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    if (nhosts == MAX_HOSTS)
      return -1;
    char *at = strchr(tok, '@');
    if (at) {
      *at = 0;
      const char **cmd = host_cmd[nhosts];
      cmd[0] = "ip", cmd[1] = "netns", cmd[2] = "exec", cmd[3] = at + 1, cmd[4] = NULL;
      hosts[nhosts].command = cmd;
    }
    hosts[nhosts++].address = tok;
  }
  return nhosts ? 0 : -1;
}

int main(int argc, char **argv) {
  /* A worker is this program started by grove_cluster_start: the launcher's
   * environment variables tell grove_cluster_join what to do. */
  int rc = grove_cluster_join(NULL);
  if (rc == 0)
    return worker_main();
  if (rc != GROVE_ENOENT) {
    fprintf(stderr, "cluster: a worker that cannot join: %s\n", grove_strerror(rc));
    return EXIT_FAILURE;
  }
  setvbuf(stdout, NULL, _IOLBF, 0); /* lines in order with the nodes' stderr lines */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      work_ms = 30;
    } else if (strcmp(argv[i], "--hosts") == 0 && i + 1 < argc && parse_hosts(argv[++i]) == 0) {
      nworkers = nhosts;
      chunks = 60;
      work_ms = 150;
    } else if (strcmp(argv[i], "--keyfile") == 0 && i + 1 < argc) {
      keyfile = argv[++i];
    } else if (strcmp(argv[i], "--make-keyfile") == 0 && i + 1 < argc) {
      char pub[41], sec[41];
      int rc = grove_curve_keypair(pub, sec);
      if (rc == 0)
        rc = grove_curve_keyfile_save(argv[i + 1], pub, sec);
      if (rc)
        fprintf(stderr, "cluster: cannot write %s: %s\n", argv[i + 1], grove_strerror(rc));
      return rc ? EXIT_FAILURE : EXIT_SUCCESS;
    } else {
      fprintf(stderr,
              "usage: %s [--quick]\n"
              "       %s --hosts ADDR[@NETNS],ADDR@NETNS,... --keyfile PATH\n"
              "       %s --make-keyfile PATH\n",
              argv[0], argv[0], argv[0]);
      return EXIT_FAILURE;
    }
  }
  if (nhosts && !keyfile) {
    fprintf(stderr, "cluster: --hosts needs --keyfile (no cluster runs open across machines)\n");
    return EXIT_FAILURE;
  }
  return coordinator_main();
}
