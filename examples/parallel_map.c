/* examples/parallel_map.c - a parallel map over every core: one worker actor
 * per hub (grove_hubs_start), each asked to sum a CPU-heavy function over its
 * share of a range with grove_call; hub 0 gathers the results. It runs the
 * same job on one hub first and prints the speed-up.
 *
 *   parallel_map [N]      N items (default 4000000); exits 1 on a wrong sum
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The work per item: a little integer hashing. */
static uint64_t work(uint64_t x) {
  for (int i = 0; i < 64; i++)
    x = x * 6364136223846793005ull + 1442695040888963407ull;
  return x >> 40;
}

typedef struct worker {
  grove_actor base;
} worker;

/* "map" [from, to] -> "sum" [sum of work(i)] */
static int worker_receive(grove_actor *self, grove_msg *m) {
  (void)self;
  if (!grove_msg_is_call(m) || !grove_msg_is(m, "map"))
    return 0;
  int64_t from = 0, to = 0;
  grove_msg_int(m, 0, &from);
  grove_msg_int(m, 1, &to);
  uint64_t sum = 0;
  for (int64_t i = from; i < to; i++)
    sum += work((uint64_t)i);
  grove_msg *r = grove_msg_new("sum");
  grove_msg_pack_int(r, (int64_t)(sum & 0x7fffffffffffffffull));
  grove_reply(m, r);
  return 0;
}

static const grove_actor_class worker_class = {
    .name = "worker", .size = sizeof(worker), .receive = worker_receive};

typedef struct job {
  grove_ref w;
  int64_t from, to, sum;
  int rc;
} job;

/* One greenlet per worker, so that the calls run at once. */
static void *ask(void *arg) {
  job *j = arg;
  grove_msg *q = grove_msg_new("map"), *r = NULL;
  grove_msg_pack_int(q, j->from);
  grove_msg_pack_int(q, j->to);
  j->rc = grove_call(j->w, q, &r, 600.0);
  if (j->rc == 0) {
    grove_msg_int(r, 0, &j->sum);
    grove_msg_free(r);
  }
  return NULL;
}

/* Map over [0, n) with `k` workers, worker i on hub i % hubs. */
static double run(int64_t n, size_t k, size_t hubs, int64_t *total) {
  job *jobs = calloc(k, sizeof *jobs);
  grove_greenlet **gs = calloc(k, sizeof *gs);
  for (size_t i = 0; i < k; i++) {
    if (grove_actor_spawn_on(i % hubs, &worker_class, NULL, NULL, &jobs[i].w) != 0)
      exit(1);
    jobs[i].from = n * (int64_t)i / (int64_t)k;
    jobs[i].to = n * (int64_t)(i + 1) / (int64_t)k;
  }
  double t0 = now_s();
  for (size_t i = 0; i < k; i++)
    gs[i] = grove_spawn(ask, &jobs[i]);
  grove_joinall(gs, k, GROVE_FOREVER);
  double dt = now_s() - t0;
  uint64_t sum = 0;
  for (size_t i = 0; i < k; i++) {
    if (jobs[i].rc != 0)
      exit(1);
    sum += (uint64_t)jobs[i].sum;
    grove_greenlet_release(gs[i]);
    grove_actor_exit(jobs[i].w, GROVE_EXIT_SHUTDOWN);
  }
  *total = (int64_t)(sum & 0x7fffffffffffffffull);
  free(jobs);
  free(gs);
  return dt;
}

int main(int argc, char **argv) {
  int64_t n = argc > 1 ? atoll(argv[1]) : 4000000;
  if (grove_hubs_start(0) != 0)
    return 1;
  size_t hubs = grove_hub_count();
  int64_t one_sum = 0, all_sum = 0;
  double one = run(n, hubs, 1, &one_sum);    /* every worker on hub 0 */
  double all = run(n, hubs, hubs, &all_sum); /* one worker per hub */
  printf("parallel map of %lld items: 1 hub %.3f s, %zu hubs %.3f s: speed-up %.2fx\n",
         (long long)n, one, hubs, all, one / all);
  grove_sleep(0.01);
  if (grove_hubs_stop(5.0) != 0 || one_sum != all_sum) {
    fprintf(stderr, "parallel_map: wrong result\n");
    return 1;
  }
  return grove_hub_close() == 0 ? 0 : 1;
}
