/* skynet.c - the skynet benchmark: a 10-ary tree of actors summing their ids.
 *
 *   skynet [SIZE]      (a power of 10; default 1000000)
 *
 * Each actor is given (num, size). If size is 1 it is a leaf: it sends num
 * to its parent. Otherwise it spawns 10 children with (num + i * size/10,
 * size/10), adds up their 10 answers and sends the sum to its parent. With
 * SIZE leaves numbered 0..SIZE-1 the root's sum is SIZE(SIZE-1)/2, and
 * SIZE + SIZE/10 + ... + 1 actors are spawned in all (1,111,111 for 1M).
 *
 * (num, size) and the parent's ref are the actor's spawn arguments, like the
 * arguments of the goroutine in Go's version: the parent allocates them,
 * the child's init takes them over. init does the work that needs no
 * message - a leaf answers and ends, an inner node spawns its children - and
 * receive adds up the answers ("sum" [int]). The root's parent is the null
 * ref: it leaves the total where main finds it.
 *
 * Prints the wall time, the process's peak RSS (getrusage) and the sum, and
 * exits non-zero if the sum is wrong.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

struct job {
  grove_ref parent; /* null for the root */
  int64_t num, size;
};

struct node {
  grove_actor base;
  grove_ref parent;
  int64_t sum;
  int pending; /* answers still to come */
};

static struct {
  int64_t sum;
  int done;
  long spawn_failures;
} result;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int answer(grove_ref parent, int64_t sum) {
  if (grove_ref_is_null(parent)) {
    result.sum = sum;
    result.done = 1;
    return 0;
  }
  grove_msg *m = grove_msg_new("sum");
  if (!m || grove_msg_pack_int(m, sum) != 0) {
    grove_msg_free(m);
    return GROVE_ENOMEM;
  }
  return grove_send(parent, m);
}

static const grove_actor_class node_class;

static int node_init(grove_actor *self, void *arg) {
  struct node *n = (struct node *)self;
  struct job job = *(struct job *)arg;
  free(arg);
  n->parent = job.parent;
  if (job.size == 1) {
    /* A leaf: answer, and end as soon as init returns. */
    grove_actor_exit(grove_actor_ref(self), GROVE_EXIT_NORMAL);
    return answer(job.parent, job.num);
  }
  int64_t step = job.size / 10;
  for (int i = 0; i < 10; i++) {
    struct job *child = malloc(sizeof *child);
    if (child) {
      *child = (struct job){grove_actor_ref(self), job.num + i * step, step};
      if (!grove_ref_is_null(grove_actor_spawn(&node_class, child))) {
        n->pending++;
        continue;
      }
      free(child);
    }
    result.spawn_failures++; /* its part of the sum is missing: main sees a wrong sum */
  }
  if (n->pending == 0) {
    grove_actor_exit(grove_actor_ref(self), GROVE_EXIT_NORMAL);
    return answer(n->parent, 0);
  }
  return 0;
}

static int node_receive(grove_actor *self, grove_msg *msg) {
  struct node *n = (struct node *)self;
  int64_t v;
  if (!grove_msg_is(msg, "sum") || grove_msg_int(msg, 0, &v) != 0)
    return GROVE_EINVAL;
  n->sum += v;
  if (--n->pending > 0)
    return 0;
  int rc = answer(n->parent, n->sum);
  return rc == 0 ? GROVE_STOP : rc;
}

static const grove_actor_class node_class = {
    .name = "skynet", .size = sizeof(struct node), .init = node_init, .receive = node_receive};

int main(int argc, char **argv) {
  int64_t size = argc > 1 ? strtoll(argv[1], NULL, 10) : 1000000;
  int64_t power = 1;
  while (power < size && power <= 10000000)
    power *= 10;
  if (size < 1 || power != size) {
    fprintf(stderr, "usage: %s [SIZE: a power of 10, at most 1e8]\n", argv[0]);
    return EXIT_FAILURE;
  }
  int64_t leaves = size, actors = 0;
  for (int64_t s = size; s >= 1; s /= 10)
    actors += s;

  double t0 = now_s();
  struct job *root = malloc(sizeof *root);
  if (!root)
    return EXIT_FAILURE;
  *root = (struct job){GROVE_REF_NULL, 0, size};
  grove_ref ref = grove_actor_spawn(&node_class, root);
  int reason = -1;
  int rc = grove_ref_is_null(ref) ? GROVE_ENOMEM : grove_actor_wait(ref, &reason, GROVE_FOREVER);
  double dt = now_s() - t0;

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  int64_t expected = leaves * (leaves - 1) / 2;
  int good = rc == 0 && reason == GROVE_EXIT_NORMAL && result.done && result.sum == expected &&
             result.spawn_failures == 0;
  printf("skynet: %lld actors (%lld leaves, 10 children per node) in %.3f s\n", (long long)actors,
         (long long)leaves, dt);
  printf("peak RSS %.1f MiB (whole process)\n", (double)ru.ru_maxrss / 1024.0);
  printf("sum %lld (expected %lld): %s\n", (long long)result.sum, (long long)expected,
         good ? "ok" : "WRONG");
  if (result.spawn_failures)
    fprintf(stderr, "skynet: %ld spawns failed\n", result.spawn_failures);
  if (grove_hub_close() != 0)
    good = 0;
  return good ? EXIT_SUCCESS : EXIT_FAILURE;
}
