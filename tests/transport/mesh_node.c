/* tests/transport/mesh_node.c - one member of the membership test across
 * network namespaces (mesh_netns.py runs one per namespace, under `ip netns
 * exec`).
 *
 *   mesh_node NAME BIND_ENDPOINT [SEED ...]
 *
 * SEED is "name@endpoint" or an endpoint (grove_node_opts.seeds). The node
 * subscribes to membership events (grove_monitor_nodes_to) and prints each
 * as "EV <CLOCK_MONOTONIC seconds> up|down <node>". Commands on stdin, one
 * per line, each "<id> <command> [arg]", answered by one line "R <id> ...":
 *   nodes          R id name:state:incarnation,...  (grove_nodes, sorted by name)
 *   self           R id <incarnation of this node, as its peers list it: see below>
 *   greg NAME      R id rc          (a "svc" actor, registered globally)
 *   gwhere NAME    R id rc owner    (grove_global_whereis; owner: the ref's node name)
 *   gcall NAME     R id rc answerer (grove_call_name_global; the svc answers its node's name)
 *   lost           R id k           (GROVE_TAG_GLOBAL_LOST messages the svc actors got)
 *   stats          R id members_refused global_conflicts dropped_malformed
 *   quit           (stops the node, closes the hub, exits 0 if it closed cleanly)
 * Environment: MESH_HB_INTERVAL, MESH_HB_TIMEOUT, MESH_FORGET (member_forget) (seconds). Prints
 * "READY" once the node runs.
 */
#include <grove.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t lost;
static grove_ref svcs[64];
static int nsvcs;
static bool quitting;

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int svc_receive(grove_actor *self, grove_msg *msg) {
  (void)self;
  if (grove_msg_is(msg, GROVE_TAG_GLOBAL_LOST)) {
    lost++;
    return 0;
  }
  if (grove_msg_is_call(msg)) {
    grove_msg *r = grove_msg_new("svc-reply");
    grove_msg_pack_str(r, grove_node_name());
    grove_reply(msg, r);
  }
  return 0;
}
static const grove_actor_class svc_class = {"svc", sizeof(grove_actor), NULL, svc_receive, NULL};

static int by_name(const void *a, const void *b) {
  return strcmp(((const grove_node_info *)a)->name, ((const grove_node_info *)b)->name);
}

static void *events(void *arg) {
  grove_queue *q = arg;
  while (!quitting) {
    void *item = NULL;
    int rc = grove_queue_get(q, &item, 0.2);
    if (rc == GROVE_ETIMEDOUT)
      continue;
    if (rc)
      break;
    grove_msg *m = item;
    const char *s = "";
    size_t n = 0;
    grove_msg_str(m, 0, &s, &n);
    printf("EV %.6f %s %.*s\n", mono(), grove_msg_is(m, GROVE_TAG_NODEUP) ? "up" : "down", (int)n,
           s);
    fflush(stdout);
    grove_msg_free(m);
  }
  return NULL;
}

static void command(char *line) {
  char *save = NULL;
  char *id = strtok_r(line, " ", &save), *cmd = strtok_r(NULL, " ", &save),
       *arg = strtok_r(NULL, " ", &save);
  if (!id || !cmd)
    return;
  if (strcmp(cmd, "quit") == 0) {
    quitting = true;
    return;
  }
  printf("R %s", id);
  if (strcmp(cmd, "nodes") == 0) {
    grove_node_info info[64];
    size_t k = 0;
    grove_nodes(info, 64, &k);
    if (k > 64)
      k = 64;
    qsort(info, k, sizeof info[0], by_name);
    printf(" ");
    for (size_t i = 0; i < k; i++)
      printf("%s%s:%d:%llu", i ? "," : "", info[i].name, (int)info[i].state,
             (unsigned long long)info[i].incarnation);
  } else if (strcmp(cmd, "greg") == 0 && arg) {
    grove_ref a = GROVE_REF_NULL;
    int rc = nsvcs < 64 ? grove_actor_spawn_ex(&svc_class, NULL, NULL, &a) : GROVE_ENOMEM;
    if (rc == 0) {
      svcs[nsvcs++] = a;
      rc = grove_global_register(arg, a);
    }
    printf(" %d", rc);
  } else if (strcmp(cmd, "gwhere") == 0 && arg) {
    grove_ref r;
    int rc = grove_global_whereis(arg, &r);
    const char *owner = rc == 0 ? grove_node_name_of(r.node) : NULL;
    printf(" %d %s", rc, owner ? owner : "-");
  } else if (strcmp(cmd, "gcall") == 0 && arg) {
    grove_msg *rep = NULL;
    int rc = grove_call_name_global(arg, grove_msg_new("hi"), &rep, 2.0);
    const char *s = "-";
    size_t n = 1;
    if (rc == 0 && grove_msg_str(rep, 0, &s, &n) != 0) {
      s = "?";
      n = 1;
    }
    printf(" %d %.*s", rc, (int)n, s);
    grove_msg_free(rep);
  } else if (strcmp(cmd, "lost") == 0) {
    printf(" %lld", (long long)lost);
  } else if (strcmp(cmd, "stats") == 0) {
    grove_node_stats st;
    memset(&st, 0, sizeof st);
    grove_node_stats_get(&st);
    printf(" %llu %llu %llu", (unsigned long long)st.members_refused,
           (unsigned long long)st.global_conflicts, (unsigned long long)st.dropped_malformed);
  } else {
    printf(" ?");
  }
  printf("\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mesh_node NAME BIND_ENDPOINT [SEED ...]\n");
    return 2;
  }
  const char *seeds[16] = {NULL};
  for (int i = 3; i < argc && i - 3 < 15; i++)
    seeds[i - 3] = argv[i];
  grove_node_opts o = {
      .heartbeat_interval = getenv("MESH_HB_INTERVAL") ? atof(getenv("MESH_HB_INTERVAL")) : 0.25,
      .heartbeat_timeout = getenv("MESH_HB_TIMEOUT") ? atof(getenv("MESH_HB_TIMEOUT")) : 1.5,
      .member_forget = getenv("MESH_FORGET") ? atof(getenv("MESH_FORGET")) : 0,
      .seeds = seeds,
      .mesh = true,
      .allow_open = true}; /* namespaces the test made: no CURVE on purpose */
  int rc = grove_node_start(argv[1], argv[2], &o);
  if (rc) {
    fprintf(stderr, "mesh_node %s: grove_node_start(%s): %s\n", argv[1], argv[2],
            grove_err_name(rc));
    return 2;
  }
  grove_queue *q = grove_queue_new(0);
  uint64_t wid = 0;
  if (grove_monitor_nodes_to(q, &wid) != 0)
    return 2;
  grove_greenlet *ev = grove_spawn(events, q);
  printf("READY %.6f\n", mono());
  fflush(stdout);
  char line[512];
  size_t have = 0;
  while (!quitting) {
    rc = grove_wait_readable(0, 1.0);
    if (rc == GROVE_ETIMEDOUT)
      continue;
    if (rc)
      break;
    ssize_t k = read(0, line + have, sizeof line - 1 - have);
    if (k == 0)
      break; /* the driver is gone */
    if (k < 0) {
      if (errno == EAGAIN || errno == EINTR)
        continue;
      break;
    }
    have += (size_t)k;
    line[have] = 0;
    char *nl;
    while (!quitting && (nl = strchr(line, '\n')) != NULL) {
      *nl = 0;
      size_t used = (size_t)(nl + 1 - line);
      command(line);
      memmove(line, line + used, have - used + 1);
      have -= used;
    }
    if (have >= sizeof line - 1)
      have = 0;
  }
  quitting = true;
  grove_join(ev, 2.0);
  grove_greenlet_release(ev);
  grove_demonitor(wid);
  grove_sleep(0.05); /* the watch's proxy actor ends (an exit signal) */
  for (int i = 0; i < nsvcs; i++) {
    if (grove_actor_alive(svcs[i])) {
      grove_actor_exit(svcs[i], GROVE_EXIT_KILLED);
      grove_actor_wait(svcs[i], NULL, 2.0);
    }
  }
  grove_node_stop();
  void *item;
  while (grove_queue_get_nowait(q, &item) == 0)
    grove_msg_free(item);
  grove_queue_free(q);
  rc = grove_hub_close();
  if (rc)
    fprintf(stderr, "mesh_node %s: grove_hub_close: %s\n", argv[1], grove_err_name(rc));
  return rc ? 1 : 0;
}
