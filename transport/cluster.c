/* transport/cluster.c - worker processes supervised like actors.
 *
 * The coordinator (a started node) spawns N copies of a worker program with
 * libuv, each told its node name, endpoint and the coordinator's address in
 * its environment; the worker calls grove_cluster_join, which starts its
 * node and connects back. A supervisor greenlet waits for worker exits and
 * restarts them with OTP's strategies and intensity limit; the coordinator
 * learns of an exit from the process itself, so monitors of the dead
 * worker's actors fire at once (reason noconnection), without waiting for
 * the heartbeat timeout.
 */
#include "transport_internal.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

extern char **environ;

typedef struct worker {
  struct grove_cluster *c;
  int index;
  char name[GROVE__NAME_MAX + 1];
  char endpoint[256];
  uv_process_t proc;
  uint8_t running, handle_open, expected;
  int pid;
} worker;

struct grove_cluster {
  grove_hub *hub;
  grove_cluster_opts opts;
  char **argv;
  worker *w;
  int n;
  grove_queue *exits;
  grove_greenlet *sup;
  double *restart_at; /* times of the recent restarts (a ring) */
  int restarts, nring;
  grove_event *done;
  int result;
  uint8_t stopping, failed;
};

/* ---- spawning ---------------------------------------------------------------------------- */

static void proc_closed(uv_handle_t *h) {
  worker *w = h->data;
  w->handle_open = 0;
  grove_queue_put_nowait(w->c->exits, (void *)(intptr_t)(w->index + 1));
}

static void worker_exited(uv_process_t *p, int64_t status, int sig) {
  worker *w = p->data;
  w->running = 0;
  w->pid = 0;
  if (!w->expected && !w->c->stopping && !w->c->opts.quiet)
    fprintf(stderr, "grove: cluster: worker %s exited (%s %d)\n", w->name,
            sig ? "signal" : "status", sig ? sig : (int)status);
  grove__node_peer_lost(w->name);
  uv_close((uv_handle_t *)p, proc_closed);
}

static int free_tcp_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

static int spawn_worker(grove_cluster *c, worker *w) {
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  size_t nenv = 0;
  while (environ[nenv])
    nenv++;
  char **env = calloc(nenv + 6, sizeof *env);
  if (!env)
    return GROVE_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < nenv; i++)
    if (strncmp(environ[i], "GROVE_NODE_", 11) && strncmp(environ[i], "GROVE_CLUSTER_", 14))
      env[k++] = environ[i];
  char vname[128], vep[300], vcoord[400], vidx[48];
  snprintf(vname, sizeof vname, "GROVE_NODE_NAME=%s", w->name);
  snprintf(vep, sizeof vep, "GROVE_NODE_ENDPOINT=%s", w->endpoint);
  snprintf(vcoord, sizeof vcoord, "GROVE_CLUSTER_COORDINATOR=%s=%s", n->name, n->endpoint);
  snprintf(vidx, sizeof vidx, "GROVE_CLUSTER_INDEX=%d", w->index);
  /* The workers before this one: it connects to them. */
  size_t plen = 32;
  for (int i = 0; i < w->index; i++)
    plen += strlen(c->w[i].name) + strlen(c->w[i].endpoint) + 2;
  char *vpeers = malloc(plen);
  if (!vpeers) {
    free(env);
    return GROVE_ENOMEM;
  }
  strcpy(vpeers, "GROVE_CLUSTER_PEERS=");
  for (int i = 0; i < w->index; i++) {
    strcat(vpeers, c->w[i].name);
    strcat(vpeers, "=");
    strcat(vpeers, c->w[i].endpoint);
    if (i + 1 < w->index)
      strcat(vpeers, ";");
  }
  env[k++] = vname;
  env[k++] = vep;
  env[k++] = vcoord;
  env[k++] = vidx;
  env[k++] = vpeers;
  env[k] = NULL;
  uv_stdio_container_t stdio[3] = {{.flags = UV_INHERIT_FD, .data.fd = 0},
                                   {.flags = UV_INHERIT_FD, .data.fd = 1},
                                   {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t o = {
      .exit_cb = worker_exited,
      .file = c->argv[0],
      .args = c->argv,
      .env = env,
      .stdio_count = 3,
      .stdio = stdio,
  };
  w->proc.data = w;
  w->expected = 0;
  int rc = uv_spawn(grove__hub_loop(c->hub), &w->proc, &o);
  free(vpeers);
  free(env);
  w->handle_open = 1;
  if (rc) {
    uv_close((uv_handle_t *)&w->proc, NULL);
    w->handle_open = 0;
    return rc;
  }
  w->running = 1;
  w->pid = w->proc.pid;
  return 0;
}

static void kill_worker(worker *w, int sig) {
  if (w->running)
    uv_process_kill(&w->proc, sig);
}

/* Wait until worker w's process has been reaped (its handle closed). */
static int wait_gone(grove_cluster *c, worker *w, double timeout) {
  uint64_t deadline = grove__deadline(c->hub, timeout);
  while (w->handle_open) {
    if (grove__seconds_left(deadline) == 0)
      return GROVE_ETIMEDOUT;
    int rc = grove_sleep(0.005);
    if (rc)
      return rc;
  }
  return 0;
}

/* ---- supervision ------------------------------------------------------------------------------
 */

static int intensity_exceeded(grove_cluster *c) {
  double now = (double)uv_hrtime() / 1e9;
  c->restart_at[c->restarts % c->nring] = now;
  c->restarts++;
  if (c->restarts <= c->opts.intensity)
    return 0;
  double oldest = c->restart_at[(c->restarts - c->opts.intensity - 1) % c->nring];
  return now - oldest <= c->opts.period;
}

static void stop_all(grove_cluster *c, int sig) {
  for (int i = 0; i < c->n; i++) {
    c->w[i].expected = 1;
    kill_worker(&c->w[i], sig);
  }
}

static void *supervise(void *arg) {
  grove_cluster *c = arg;
  for (;;) {
    void *item;
    int rc = grove_queue_get(c->exits, &item, GROVE_FOREVER);
    if (rc)
      break;
    int i = (int)(intptr_t)item - 1;
    worker *w = &c->w[i];
    if (c->stopping || c->failed || w->expected)
      continue;
    if (intensity_exceeded(c)) {
      fprintf(stderr, "grove: cluster: more than %d restarts in %.1f s: stopping every worker\n",
              c->opts.intensity, c->opts.period);
      c->failed = 1;
      stop_all(c, SIGKILL);
      c->result = GROVE_EFAILED;
      grove_event_set(c->done);
      continue;
    }
    int from = i, to = i;
    if (c->opts.strategy == GROVE_ONE_FOR_ALL) {
      from = 0;
      to = c->n - 1;
    } else if (c->opts.strategy == GROVE_REST_FOR_ONE) {
      to = c->n - 1;
    }
    /* Stop the others the strategy takes down with it, newest first. */
    for (int j = to; j >= from; j--) {
      if (j != i && c->w[j].running) {
        c->w[j].expected = 1;
        kill_worker(&c->w[j], SIGTERM);
        if (wait_gone(c, &c->w[j], 2) == GROVE_ETIMEDOUT) {
          kill_worker(&c->w[j], SIGKILL);
          wait_gone(c, &c->w[j], GROVE_FOREVER);
        }
      }
    }
    for (int j = from; j <= to; j++) {
      worker *x = &c->w[j];
      if (x->handle_open)
        wait_gone(c, x, GROVE_FOREVER);
      if (!c->opts.quiet)
        fprintf(stderr, "grove: cluster: restarting worker %s\n", x->name);
      if ((rc = spawn_worker(c, x)) != 0)
        fprintf(stderr, "grove: cluster: cannot restart %s: %s\n", x->name, grove_strerror(rc));
      /* Not waiting for it to come up: a worker that dies again at once
       * must count against the intensity now. */
    }
    /* Exits of the workers stopped on purpose are still queued: skip them. */
    for (int j = from; j <= to; j++)
      c->w[j].expected = 0;
  }
  return NULL;
}

/* ---- the API
 * ------------------------------------------------------------------------------------- */

int grove_cluster_start(const grove_cluster_opts *opts, grove_cluster **out) {
  if (!opts || !out || !opts->argv || !opts->argv[0] || opts->workers <= 0 || opts->workers > 1024)
    return GROVE_EINVAL;
  *out = NULL;
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  grove_cluster *c = calloc(1, sizeof *c);
  if (!c)
    return GROVE_ENOMEM;
  c->hub = n->hub;
  c->opts = *opts;
  if (c->opts.intensity <= 0)
    c->opts.intensity = 3;
  if (c->opts.period <= 0 || isnan(c->opts.period))
    c->opts.period = 5;
  if (c->opts.ready_timeout <= 0 || isnan(c->opts.ready_timeout))
    c->opts.ready_timeout = 10;
  const char *prefix = opts->prefix ? opts->prefix : "worker";
  size_t argc = 0;
  while (opts->argv[argc])
    argc++;
  c->n = opts->workers;
  c->argv = calloc(argc + 1, sizeof *c->argv);
  c->w = calloc((size_t)c->n, sizeof *c->w);
  c->nring = c->opts.intensity + 1;
  c->restart_at = calloc((size_t)c->nring, sizeof *c->restart_at);
  c->exits = grove_queue_new(0);
  c->done = grove_event_new();
  int rc = 0;
  if (!c->argv || !c->w || !c->restart_at || !c->exits || !c->done) {
    rc = GROVE_ENOMEM;
    goto fail;
  }
  for (size_t i = 0; i < argc; i++)
    if (!(c->argv[i] = strdup(opts->argv[i]))) {
      rc = GROVE_ENOMEM;
      goto fail;
    }
  const char *base = opts->endpoint_base;
  for (int i = 0; i < c->n; i++) {
    worker *w = &c->w[i];
    w->c = c;
    w->index = i;
    if ((size_t)snprintf(w->name, sizeof w->name, "%s-%d", prefix, i) >= sizeof w->name) {
      rc = GROVE_ENAMETOOLONG;
      goto fail;
    }
    if (base && strncmp(base, "tcp://", 6) == 0) {
      int port = free_tcp_port();
      if (port < 0) {
        rc = GROVE_EADDRINUSE;
        goto fail;
      }
      snprintf(w->endpoint, sizeof w->endpoint, "%s:%d", base, port);
    } else if (base) {
      snprintf(w->endpoint, sizeof w->endpoint, "%s-%d", base, i);
    } else {
      snprintf(w->endpoint, sizeof w->endpoint, "ipc:///tmp/grove-%d-%s-%d", (int)getpid(), prefix,
               i);
    }
  }
  for (int i = 0; i < c->n; i++)
    if ((rc = spawn_worker(c, &c->w[i])) != 0)
      goto fail_running;
  for (int i = 0; i < c->n; i++)
    if ((rc = grove_node_wait_up(c->w[i].name, c->opts.ready_timeout)) != 0) {
      fprintf(stderr, "grove: cluster: worker %s did not come up: %s\n", c->w[i].name,
              grove_strerror(rc));
      goto fail_running;
    }
  grove_spawn_opts so = {.name = "cluster-supervisor"};
  if (!(c->sup = grove_spawn_ex(supervise, c, &so))) {
    rc = GROVE_ENOMEM;
    goto fail_running;
  }
  *out = c;
  return 0;
fail_running:
  c->stopping = 1;
  stop_all(c, SIGKILL);
  for (int i = 0; i < c->n; i++)
    wait_gone(c, &c->w[i], GROVE_FOREVER);
fail:
  c->sup = NULL;
  grove_cluster_free(c);
  return rc;
}

int grove_cluster_size(const grove_cluster *c) { return c ? c->n : GROVE_EINVAL; }

const char *grove_cluster_worker_name(const grove_cluster *c, int i) {
  return c && i >= 0 && i < c->n ? c->w[i].name : NULL;
}

int grove_cluster_worker_pid(const grove_cluster *c, int i) {
  return c && i >= 0 && i < c->n ? c->w[i].pid : GROVE_EINVAL;
}

int grove_cluster_restarts(const grove_cluster *c) { return c ? c->restarts : GROVE_EINVAL; }

int grove_cluster_kill_worker(grove_cluster *c, int i, int signum) {
  if (!c || i < 0 || i >= c->n)
    return GROVE_EINVAL;
  if (!c->w[i].running)
    return GROVE_ENOENT;
  return uv_process_kill(&c->w[i].proc, signum);
}

int grove_cluster_wait(grove_cluster *c, double timeout) {
  if (!c)
    return GROVE_EINVAL;
  int rc = grove_event_wait(c->done, timeout);
  return rc ? rc : c->result;
}

int grove_cluster_stop(grove_cluster *c, double timeout) {
  if (!c || isnan(timeout))
    return GROVE_EINVAL;
  if (!c->stopping) {
    c->stopping = 1;
    stop_all(c, SIGTERM);
    int rc = 0;
    for (int i = 0; i < c->n; i++) {
      if (wait_gone(c, &c->w[i], timeout) == GROVE_ETIMEDOUT) {
        kill_worker(&c->w[i], SIGKILL);
        rc = GROVE_ETIMEDOUT;
      }
    }
    for (int i = 0; i < c->n; i++)
      wait_gone(c, &c->w[i], GROVE_FOREVER);
    if (c->sup) {
      grove_kill(c->sup, GROVE_FOREVER);
      grove_greenlet_release(c->sup);
      c->sup = NULL;
    }
    grove_event_set(c->done);
    return rc;
  }
  return 0;
}

void grove_cluster_free(grove_cluster *c) {
  if (!c)
    return;
  if (c->sup || !c->stopping)
    grove_cluster_stop(c, 1);
  void *item;
  while (c->exits && grove_queue_get_nowait(c->exits, &item) == 0) {
  }
  grove_queue_free(c->exits);
  grove_event_free(c->done);
  if (c->argv)
    for (char **a = c->argv; *a; a++)
      free(*a);
  free(c->argv);
  free(c->w);
  free(c->restart_at);
  free(c);
}

/* ---- the worker's side
 * ------------------------------------------------------------------------------ */

/* A worker's identity: its hub's GROVE__LAYER_CLUSTER slot. */
typedef struct cluster_member {
  char coordinator[GROVE__NAME_MAX + 1];
  int index;
} cluster_member;

static cluster_member *member(void) {
  return grove__layer_get(grove__hub_peek(), GROVE__LAYER_CLUSTER);
}

int grove_cluster_join(const grove_node_opts *opts) {
  const char *name = getenv("GROVE_NODE_NAME");
  const char *ep = getenv("GROVE_NODE_ENDPOINT");
  const char *coord = getenv("GROVE_CLUSTER_COORDINATOR");
  const char *idx = getenv("GROVE_CLUSTER_INDEX");
  if (!name || !ep || !coord || !idx)
    return GROVE_ENOENT;
  const char *eq = strchr(coord, '=');
  if (!eq || eq == coord || (size_t)(eq - coord) > GROVE__NAME_MAX)
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  if (member())
    return GROVE_EEXIST;
  cluster_member *me = calloc(1, sizeof *me);
  if (!me)
    return GROVE_ENOMEM;
  int rc = grove_node_start(name, ep, opts);
  if (rc) {
    free(me);
    return rc;
  }
  memcpy(me->coordinator, coord, (size_t)(eq - coord));
  me->coordinator[eq - coord] = 0;
  me->index = atoi(idx);
  grove__layer_set(hub, GROVE__LAYER_CLUSTER, me, free);
  /* The earlier workers first (without waiting), then the coordinator. */
  const char *peers = getenv("GROVE_CLUSTER_PEERS");
  char *list = peers && *peers ? strdup(peers) : NULL;
  for (char *save = NULL, *tok = list ? strtok_r(list, ";", &save) : NULL; tok;
       tok = strtok_r(NULL, ";", &save)) {
    char *e = strchr(tok, '=');
    if (e) {
      *e = 0;
      grove_node_connect_ex(tok, e + 1, NULL, 0);
    }
  }
  free(list);
  double t = opts && opts->connect_timeout > 0 ? opts->connect_timeout : 10;
  rc = grove_node_connect_ex(me->coordinator, eq + 1, NULL, t);
  if (rc) {
    grove_node_stop();
    grove__layer_set(hub, GROVE__LAYER_CLUSTER, NULL, NULL);
    free(me);
  }
  return rc;
}

int grove_cluster_index(void) {
  cluster_member *me = member();
  return me ? me->index : -1;
}

const char *grove_cluster_coordinator(void) {
  cluster_member *me = member();
  return me ? me->coordinator : NULL;
}
