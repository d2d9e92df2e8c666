/* cluster.c - worker processes supervised like actors: the coordinator
 * launches two copies of this program, calls an actor in each, kills one
 * (the cluster restarts it), then kills workers faster than the intensity
 * allows (the cluster gives up). */
#include <grove.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a worker -------------------------------------------------------------------- */

static int square_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  int64_t x;
  if (grove_msg_int(msg, 0, &x) != 0)
    return grove_reply_error(msg, GROVE_EINVAL);
  grove_msg *r = grove_msg_new("square");
  grove_msg_pack_int(r, x * x);
  grove_msg_pack_int(r, grove_cluster_index());               /* from GROVE_CLUSTER_INDEX */
  grove_msg_pack_str(r, getenv("GROVE_CLUSTER_COORDINATOR")); /* "name=endpoint" */
  return grove_reply(msg, r);
}

static const grove_actor_class square_class = {
    .name = "square", .size = sizeof(grove_actor), .receive = square_receive};

static int worker(void) {
  grove_actor_opts opts = {.name = "square"};
  grove_ref sq;
  grove_actor_spawn_ex(&square_class, NULL, &opts, &sq);
  grove_signal_wait(SIGTERM, 30); /* grove_cluster_stop sends SIGTERM */
  grove_actor_exit(sq, GROVE_EXIT_SHUTDOWN);
  grove_node_stop();
  return 0;
}

/* ---- the coordinator ---------------------------------------------------------------- */

/* Ask worker i for x*x. A worker that has just (re)started may not have
 * registered its actor yet: grove_call_name_remote resolves the name at
 * the call and waits for it. */
static int ask(grove_cluster *c, int i, int64_t x) {
  const char *name = grove_cluster_worker_name(c, i);
  grove_msg *req = grove_msg_new("square"), *reply;
  grove_msg_pack_int(req, x);
  int rc = grove_call_name_remote(name, "square", req, &reply, 3.0);
  if (rc == 0) {
    int64_t y, index;
    const char *coordinator;
    size_t len;
    grove_msg_int(reply, 0, &y);
    grove_msg_int(reply, 1, &index);
    grove_msg_str(reply, 2, &coordinator, &len);
    printf("%s (index %lld, coordinator %.*s): %lld^2 = %lld\n", name, (long long)index,
           (int)strcspn(coordinator, "="), coordinator, (long long)x, (long long)y);
    grove_msg_free(reply);
  }
  return rc;
}

/* SIGKILL worker i once it runs, and wait until the cluster has restarted it. */
static void kill_and_wait(grove_cluster *c, int i) {
  int before = grove_cluster_restarts(c);
  while (grove_cluster_kill_worker(c, i, SIGKILL) != 0) /* GROVE_ENOENT while restarting */
    grove_sleep(0.01);
  for (int t = 0; t < 500 && grove_cluster_restarts(c) == before; t++)
    grove_sleep(0.01);
}

int main(void) {
  if (grove_cluster_join(NULL) == 0) /* started by grove_cluster_start: a worker */
    return worker();

  char ep[64], base[80], self[4096];
  snprintf(ep, sizeof ep, "ipc:///tmp/grove-doc-cluster-%d", (int)getpid());
  snprintf(base, sizeof base, "%s-sq", ep); /* worker i binds <base>-<i> */
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = 0;
  if (grove_node_start("boss", ep, NULL) != 0)
    return 1;
  const char *argv[] = {self, NULL};
  grove_cluster_opts opts = {.argv = argv,
                             .workers = 2,
                             .prefix = "sq",
                             .endpoint_base = base,
                             .strategy = GROVE_ONE_FOR_ONE,
                             .intensity = 2, /* more than 2 restarts... */
                             .period = 5,    /* ...in 5 s: the cluster gives up */
                             .quiet = true};
  grove_cluster *c;
  int rc = grove_cluster_start(&opts, &c); /* returns once both are up */
  printf("cluster: %s, %d workers\n", grove_err_name(rc), rc == 0 ? grove_cluster_size(c) : 0);
  if (rc != 0)
    return 1;
  ask(c, 0, 2);
  ask(c, 1, 3);

  int pid = grove_cluster_worker_pid(c, 1);
  kill_and_wait(c, 1);
  printf("killed sq-1: restarts %d, new process: %s\n", grove_cluster_restarts(c),
         grove_cluster_worker_pid(c, 1) != pid ? "yes" : "no");
  rc = ask(c, 1, 4);

  kill_and_wait(c, 0); /* restart 2: still within the intensity */
  ask(c, 0, 5);
  while (grove_cluster_kill_worker(c, 0, SIGKILL) != 0) /* restart 3: one too many */
    grove_sleep(0.01);
  int failed = grove_cluster_wait(c, 5.0);
  printf("after %d restarts in less than 5 s: grove_cluster_wait: %s\n", grove_cluster_restarts(c),
         grove_err_name(failed));

  grove_cluster_stop(c, 1.0);
  grove_cluster_free(c);
  grove_node_stop();
  unlink(ep + 6); /* ipc:// leaves its socket files behind */
  for (int i = 0; i < 2; i++) {
    char path[96];
    snprintf(path, sizeof path, "%s-%d", base + 6, i);
    unlink(path);
  }
  return rc == 0 && failed == GROVE_EFAILED && grove_hub_close() == 0 ? 0 : 1;
}
