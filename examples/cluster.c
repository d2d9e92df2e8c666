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
 * The job: the sum of k*k for k = 1..1,000,000, split into 30 chunks. The
 * coordinator runs one driver greenlet per worker; each takes chunks from a
 * shared queue and grove_call's its worker's mapper. Halfway through, the
 * coordinator SIGKILLs worker 1. Its driver's call fails at once with
 * GROVE_EHOSTUNREACH (the launcher sees the process exit, so nobody waits
 * for the heartbeat timeout); the driver puts the chunk back in the queue,
 * where the other drivers can take it, and waits for the cluster's one_for_one
 * supervisor to restart the worker (grove_node_wait_up, then
 * grove_whereis_remote for the new mapper). The coordinator then checks the
 * total against n(n+1)(2n+1)/6 and exits 0 only if it is right.
 *
 * --quick: 30 ms of "work" per chunk instead of 100 ms (the test suite).
 */
#include <grove.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 3
#define CHUNKS 30
#define N 1000000           /* sum k*k for k = 1..N */
#define VICTIM 1            /* the worker killed halfway */
#define CALL_TIMEOUT 5.0    /* seconds; a chunk takes ~0.1 s */
#define RESOLVE_TIMEOUT 5.0 /* for a restarted worker to come back */

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

static struct {
  grove_queue *todo;       /* chunk numbers + 1 still to do */
  int64_t partial[CHUNKS]; /* results, by chunk */
  bool done[CHUNKS];
  int ndone, resent;
  grove_event *half, *finished;
  struct {
    int worker, pid, chunks;
  } by_pid[16]; /* who did what: one row per worker process */
  int npids;
} job;

static void count_for(int worker, int pid) {
  for (int i = 0; i < job.npids; i++)
    if (job.by_pid[i].pid == pid) {
      job.by_pid[i].chunks++;
      return;
    }
  if (job.npids < 16)
    job.by_pid[job.npids++] = (typeof(job.by_pid[0])){worker, pid, 1};
}

/* The ref of a worker's mapper: wait until its node is up, then look the
 * name up. A worker that has just (re)started may not have registered it
 * yet (its node is up as soon as grove_cluster_join has connected): retry. */
static int resolve(const char *worker, grove_ref *mapper, double timeout) {
  double deadline = now_s() + timeout;
  int rc;
  do {
    rc = grove_node_wait_up(worker, deadline - now_s());
    if (rc == 0)
      rc = grove_whereis_remote(worker, "mapper", mapper, deadline - now_s());
    if (rc == 0)
      return 0;
    grove_sleep(0.005);
  } while (now_s() < deadline && (rc == GROVE_ENOENT || rc == GROVE_EHOSTUNREACH));
  return rc;
}

static void *driver(void *arg) {
  int w = (int)(intptr_t)arg;
  const char *name = grove_cluster_worker_name(cluster, w);
  grove_ref mapper;
  int rc = resolve(name, &mapper, RESOLVE_TIMEOUT);
  if (rc != 0) {
    printf("[%5.2f s] %s: no mapper (%s): this driver gives up\n", elapsed(), name,
           grove_err_name(rc));
    return NULL;
  }
  const int64_t size = (N + CHUNKS - 1) / CHUNKS;
  while (job.ndone < CHUNKS) {
    void *item;
    rc = grove_queue_get(job.todo, &item, 0.05);
    if (rc == GROVE_ETIMEDOUT)
      continue; /* the queue is empty for now: a failed chunk may come back */
    if (rc != 0)
      break;
    int c = (int)(intptr_t)item - 1;
    int64_t lo = (int64_t)c * size + 1, hi = lo + size - 1 < N ? lo + size - 1 : N;
    grove_msg *req = grove_msg_new("map"), *rep;
    grove_msg_pack_int(req, c);
    grove_msg_pack_int(req, lo);
    grove_msg_pack_int(req, hi);
    grove_msg_pack_int(req, work_ms);
    rc = grove_call(mapper, req, &rep, CALL_TIMEOUT);
    if (rc == 0) {
      int64_t chunk = -1, sum = 0, pid = 0;
      grove_msg_int(rep, 0, &chunk);
      grove_msg_int(rep, 1, &sum);
      grove_msg_int(rep, 2, &pid);
      grove_msg_free(rep);
      if (chunk == c && !job.done[c]) {
        job.done[c] = true;
        job.partial[c] = sum;
        count_for(w, (int)pid);
        if (++job.ndone == CHUNKS / 2)
          grove_event_set(job.half);
        if (job.ndone == CHUNKS)
          grove_event_set(job.finished);
      }
      continue;
    }
    /* The call failed: the chunk goes back to the queue, for whichever
     * driver is free first. */
    printf("[%5.2f s] %s: chunk %d failed with %s; it goes back to the queue\n", elapsed(), name, c,
           grove_err_name(rc));
    job.resent++;
    grove_queue_put_nowait(job.todo, item);
    if (rc == GROVE_ECANCELED)
      break;
    /* Wait for the cluster to restart the worker, and find its new mapper. */
    if ((rc = resolve(name, &mapper, RESOLVE_TIMEOUT)) != 0) {
      printf("[%5.2f s] %s did not come back (%s): its driver gives up\n", elapsed(), name,
             grove_err_name(rc));
      return NULL;
    }
    printf("[%5.2f s] %s is back (pid %d, restarts so far: %d); its new \"mapper\" is resolved\n",
           elapsed(), name, grove_cluster_worker_pid(cluster, w), grove_cluster_restarts(cluster));
  }
  return NULL;
}

static int coordinator_main(void) {
  char endpoint[128];
  snprintf(endpoint, sizeof endpoint, "ipc:///tmp/grove-cluster-%d-coordinator", (int)getpid());
  int rc = grove_node_start("coordinator", endpoint, NULL);
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
  };
  t0 = now_s();
  rc = grove_cluster_start(&copts, &cluster);
  if (rc != 0) {
    fprintf(stderr, "cluster: cannot start the workers: %s\n", grove_strerror(rc));
    grove_node_stop();
    return EXIT_FAILURE;
  }
  printf("coordinator (pid %d) started %d workers in %.0f ms:", (int)getpid(), WORKERS,
         elapsed() * 1e3);
  for (int i = 0; i < WORKERS; i++)
    printf(" %s (pid %d)%s", grove_cluster_worker_name(cluster, i),
           grove_cluster_worker_pid(cluster, i), i + 1 < WORKERS ? "," : "\n");
  printf("job: sum of k*k for k = 1..%d in %d chunks, %d ms of work per chunk\n", N, CHUNKS,
         work_ms);

  job.todo = grove_queue_new(0);
  job.half = grove_event_new();
  job.finished = grove_event_new();
  for (int c = 0; c < CHUNKS; c++)
    grove_queue_put_nowait(job.todo, (void *)(intptr_t)(c + 1));
  t0 = now_s();
  grove_greenlet *drivers[WORKERS];
  for (int i = 0; i < WORKERS; i++)
    drivers[i] = grove_spawn(driver, (void *)(intptr_t)i);

  /* Halfway: kill a worker in the middle of a chunk. */
  grove_event_wait(job.half, 10);
  int victim_pid = grove_cluster_worker_pid(cluster, VICTIM);
  printf("[%5.2f s] %d/%d chunks done: SIGKILL %s (pid %d)\n", elapsed(), job.ndone, CHUNKS,
         grove_cluster_worker_name(cluster, VICTIM), victim_pid);
  grove_cluster_kill_worker(cluster, VICTIM, SIGKILL);

  rc = grove_event_wait(job.finished, 8);
  double took = elapsed();
  grove_joinall(drivers, WORKERS, 1);
  for (int i = 0; i < WORKERS; i++) {
    grove_kill(drivers[i], GROVE_FOREVER);
    grove_greenlet_release(drivers[i]);
  }

  /* The result, checked against the closed form. */
  int64_t total = 0, expected = (int64_t)N * (N + 1) * (2 * N + 1) / 6;
  for (int c = 0; c < CHUNKS; c++)
    total += job.partial[c];
  int ok = rc == 0 && job.ndone == CHUNKS && total == expected;
  printf("[%5.2f s] %d/%d chunks done\n", took, job.ndone, CHUNKS);
  printf("chunks done by each worker process:");
  for (int w = 0, shown = 0; w < WORKERS; w++)
    for (int i = 0; i < job.npids; i++)
      if (job.by_pid[i].worker == w)
        printf(" %s pid %d: %d%s", grove_cluster_worker_name(cluster, w), job.by_pid[i].pid,
               job.by_pid[i].chunks, ++shown < job.npids ? "," : "\n");
  int restarts = grove_cluster_restarts(cluster);
  printf("workers killed: 1, restarted by the cluster: %d, chunks re-sent: %d\n", restarts,
         job.resent);
  printf("result   %lld\nexpected %lld (n(n+1)(2n+1)/6): %s\n", (long long)total,
         (long long)expected, ok ? "correct" : "WRONG");

  rc = grove_cluster_stop(cluster, 2); /* SIGTERM; SIGKILL after 2 s */
  grove_cluster_free(cluster);
  printf("cluster stopped: %s\n",
         rc == 0 ? "every worker ended on SIGTERM" : "some worker had to be killed");
  grove_queue_free(job.todo);
  grove_event_free(job.half);
  grove_event_free(job.finished);
  grove_node_stop();
  remove_ipc_file(endpoint);
  if (grove_hub_close() != 0) {
    fprintf(stderr, "cluster: the hub did not close cleanly\n");
    ok = 0;
  }
  return ok && restarts == 1 && victim_pid > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
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
    } else {
      fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
      return EXIT_FAILURE;
    }
  }
  return coordinator_main();
}
