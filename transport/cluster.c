/* transport/cluster.c - worker processes, supervised as actors.
 *
 * Design notes.
 *
 * The cluster is a supervisor (actor/supervisor.c, with its strategies and
 * intensity: one implementation of those rules). Each worker process is owned
 * by a child actor of class "grove.cluster.worker": its init spawns the
 * process (grove_subprocess_spawn, told its node name, endpoint and the
 * coordinator's address in its environment), a watcher greenlet waits for
 * the process to exit and tells the actor, which then ends abnormally, so the
 * supervisor restarts it per the strategy - with the same name and endpoint
 * - or gives up past the intensity (then every worker is stopped and
 * grove_cluster_wait returns GROVE_EFAILED). Stopping a worker actor
 * (supervisor restart of siblings, or grove_cluster_stop) terminates its
 * process: SIGTERM, a grace period, SIGKILL, and it is reaped before the
 * actor has ended, so a restarted worker never races its predecessor for its
 * endpoint.
 *
 * A worker dies with its coordinator, on two counts (an orphan would hold
 * its endpoint and go on working for nobody). Its parent-death signal is
 * SIGKILL, set between fork and exec (grove_subprocess_opts.die_with_parent),
 * so a killed coordinator takes its workers along at once - also one that
 * was stopped, or not yet started, at that moment (set in the worker's
 * grove_cluster_join instead, a worker SIGSTOPped before it got there
 * outlived a SIGKILLed coordinator: found by the chaos suite). join sets it
 * again, after checking that the parent is still the coordinator whose pid
 * the launcher put in the environment, for kernels without pidfd. It is SIGKILL, not SIGTERM: a
 * worker that is stopped (SIGSTOP) when its coordinator dies would keep a SIGTERM pending forever,
 * and so would its watchdog thread; a SIGKILL ends it stopped. And the coordinator's node is
 * monitored: when it goes down for any reason but this worker's own stop (heartbeat timeout,
 * goodbye, a restart) the worker sends itself SIGTERM and, should it still run ORPHAN_GRACE seconds
 * later (SIGTERM handled and ignored, the hub frozen), a watchdog thread ends the process.
 *
 * A worker slot (name, endpoint, pid, restarts) outlives the actors that run
 * it. The coordinator learns of an exit from the process itself: monitors of
 * the dead worker's actors fire at once (reason noconnection), after what it
 * sent before dying has been read, without waiting for the heartbeat
 * timeout.
 */
#include "transport_internal.h"

#include <grove/supervisor.h>

#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

extern char **environ;

#define WORKER_GRACE 2.0 /* seconds between SIGTERM and SIGKILL (cluster_stop: its timeout) */
#define ORPHAN_GRACE 5   /* seconds an orphaned worker has to exit after its SIGTERM */
#define ORPHAN_EXIT 70   /* the exit status of a worker that did not (EX_SOFTWARE) */

typedef struct worker {
  struct grove_cluster *c;
  int index;
  char name[GROVE__NAME_MAX + 1];
  char endpoint[256];
  grove_subprocess *proc; /* the running process, owned by the worker actor */
  int pid;                /* 0 while not running */
  int starts;
  int host; /* index in the cluster's hosts, -1 without */
} worker;

/* A host, copied from the opts. */
typedef struct host {
  char *address;
  char **command; /* NULL: run here */
  bool shell;
} host;

struct grove_cluster {
  grove_hub *hub;
  grove_cluster_opts opts;
  char **argv;
  worker *w;
  int n;
  host *hosts; /* opts.hosts, copied (opts' pointers are cleared) */
  int nhosts;
  char **env_pass; /* "NAME=value", resolved at the start */
  char *keyfile;
  grove_ref sup;
  grove_greenlet *sup_watch; /* waits for the supervisor's end */
  grove_event *done;
  double grace; /* SIGTERM to SIGKILL, seconds */
  int restarts; /* workers that died on their own: each a restart for the supervisor */
  int result;
  uint8_t stopping, escalated;
};

/* ---- a worker: an actor that owns a process ---------------------------------------- */

/* Shared by a worker actor and its watcher greenlet: whichever lets go
 * last frees it. */
typedef struct watch {
  grove_ref actor;
  grove_subprocess *proc;
  int refs;
  uint8_t detached; /* the actor is ending: tell nobody */
} watch;

/* The cluster's lines (grove/log.h: GROVE_LOG_CLUSTER; peer: the worker
 * node it is about). */
static void cluster_log(int level, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cluster_log(int level, const char *peer, const char *fmt, ...) {
  if (!grove_log_enabled((grove_log_level)level))
    return;
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  grove_log_event ev = {.level = (grove_log_level)level, .kind = GROVE_LOG_CLUSTER};
  ev.node = grove_node_name();
  ev.peer = peer;
  ev.text = text;
  grove_log_emit(&ev);
}

static void watch_release(watch *wt) {
  if (--wt->refs == 0)
    free(wt);
}

typedef struct worker_actor {
  grove_actor base;
  worker *w;
  watch *watch;
  grove_greenlet *watcher;
  uint8_t monitoring; /* its node (hosts: node down is a death) */
  uint8_t seen_up;    /* this process's node came up */
} worker_actor;

#define TAG_EXITED "grove.cluster.exited"

static void *watch_process(void *arg) {
  watch *wt = arg;
  int code = 0;
  int rc = grove_subprocess_wait(wt->proc, &code, GROVE_FOREVER);
  if (rc == 0 && !wt->detached && grove_actor_alive(wt->actor)) {
    grove_msg *m = grove_msg_new(TAG_EXITED);
    if (m) {
      grove_msg_pack_int(m, code);
      grove_send(wt->actor, m);
    }
  }
  watch_release(wt);
  return NULL;
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

/* A growing vector of heap strings. */
typedef struct strv {
  char **v;
  size_t n, cap;
} strv;

static int strv_add(strv *s, char *str) {
  if (!str)
    return GROVE_ENOMEM;
  if (s->n + 2 > s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 16;
    char **v = realloc(s->v, cap * sizeof *v);
    if (!v) {
      free(str);
      return GROVE_ENOMEM;
    }
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = str;
  s->v[s->n] = NULL;
  return 0;
}

static int strv_addf(strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int strv_addf(strv *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *str = NULL;
  int len = vasprintf(&str, fmt, ap);
  va_end(ap);
  return strv_add(s, len < 0 ? NULL : str);
}

static void strv_free(strv *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

/* A word for a shell: single-quoted, each ' as '\''. */
static char *shell_quote(const char *w) {
  size_t len = 3;
  for (const char *p = w; *p; p++)
    len += *p == '\'' ? 4 : 1;
  char *q = malloc(len), *o = q;
  if (!q)
    return NULL;
  *o++ = '\'';
  for (const char *p = w; *p; p++) {
    if (*p == '\'') {
      memcpy(o, "'\\''", 4);
      o += 4;
    } else {
      *o++ = *p;
    }
  }
  *o++ = '\'';
  *o = 0;
  return q;
}

/* The cluster's variables for worker w ("NAME=value"): what
 * grove_cluster_join reads. `remote`: started through a host's command,
 * where the parent's pid means nothing. */
static int worker_vars(grove_cluster *c, worker *w, int remote, strv *vars) {
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  int rc = strv_addf(vars, "GROVE_NODE_NAME=%s", w->name);
  if (!rc)
    rc = strv_addf(vars, "GROVE_NODE_ENDPOINT=%s", w->endpoint);
  if (!rc)
    rc = strv_addf(vars, "GROVE_CLUSTER_COORDINATOR=%s=%s", n->name, grove__node_advertised(n));
  if (!rc)
    rc = strv_addf(vars, "GROVE_CLUSTER_INDEX=%d", w->index);
  if (!rc && !remote)
    rc = strv_addf(vars, "GROVE_CLUSTER_PARENT=%ld", (long)getpid());
  /* The workers before this one: it connects to them. */
  size_t plen = 32;
  for (int i = 0; i < w->index; i++)
    plen += strlen(c->w[i].name) + strlen(c->w[i].endpoint) + 2;
  char *peers = rc ? NULL : malloc(plen), *p = peers;
  if (!rc && peers) {
    p += sprintf(p, "GROVE_CLUSTER_PEERS=");
    for (int i = 0; i < w->index; i++)
      p += sprintf(p, "%s%s=%s", i ? ";" : "", c->w[i].name, c->w[i].endpoint);
  }
  if (!rc)
    rc = strv_add(vars, peers);
  if (!rc && c->keyfile)
    rc = strv_addf(vars, "GROVE_NODE_KEYFILE=%s", c->keyfile);
  if (!rc && c->opts.allow_open)
    rc = strv_addf(vars, "GROVE_NODE_ALLOW_OPEN=1");
  return rc;
}

/* The worker's environment: ours without any GROVE_NODE_ or GROVE_CLUSTER_
 * variable, then vars (borrowed: the array is the caller's to free). */
static const char **worker_env(const strv *vars) {
  size_t nenv = 0;
  while (environ[nenv])
    nenv++;
  const char **env = calloc(nenv + vars->n + 1, sizeof *env);
  if (!env)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < nenv; i++)
    if (strncmp(environ[i], "GROVE_NODE_", 11) && strncmp(environ[i], "GROVE_CLUSTER_", 14))
      env[k++] = environ[i];
  for (size_t i = 0; i < vars->n; i++)
    env[k++] = vars->v[i];
  env[k] = NULL;
  return env;
}

/* The command for a worker on a host reached through its command: the
 * prefix, `env`, the variables, then the worker's argv - each word after
 * the prefix quoted when the prefix hands it to a shell. */
static int host_argv(grove_cluster *c, const host *h, const strv *vars, strv *out) {
  int rc = 0;
  for (char **a = h->command; !rc && *a; a++)
    rc = strv_add(out, strdup(*a));
  strv rest = {0};
  if (!rc)
    rc = strv_add(&rest, strdup("env"));
  for (size_t i = 0; !rc && i < vars->n; i++)
    rc = strv_add(&rest, strdup(vars->v[i]));
  for (char **e = c->env_pass; !rc && e && *e; e++)
    rc = strv_add(&rest, strdup(*e));
  for (char **a = c->argv; !rc && *a; a++)
    rc = strv_add(&rest, strdup(*a));
  for (size_t i = 0; !rc && i < rest.n; i++)
    rc = strv_add(out, h->shell ? shell_quote(rest.v[i]) : strdup(rest.v[i]));
  strv_free(&rest);
  return rc;
}

static void set_endpoint(grove_cluster *c, worker *w) {
  snprintf(w->endpoint, sizeof w->endpoint, "tcp://%s:%d", c->hosts[w->host].address,
           c->opts.port + w->index);
}

static int worker_init(grove_actor *self, void *arg) {
  worker_actor *a = (worker_actor *)self;
  worker *w = arg;
  grove_cluster *c = w->c;
  a->w = w;
  grove__actor_set_quiet(grove_actor_ref(self)); /* the cluster says it in its own words */
  if (w->starts++ > 0 && !c->opts.quiet)
    cluster_log(GROVE_LOG_INFO, w->name, "cluster: restarting worker %s", w->name);
  const host *h = w->host >= 0 ? &c->hosts[w->host] : NULL;
  const int remote = h && h->command;
  strv vars = {0}, argv = {0};
  int rc = worker_vars(c, w, remote, &vars);
  if (!rc && remote)
    rc = host_argv(c, h, &vars, &argv);
  const char **env = rc ? NULL : worker_env(&vars);
  if (!env) {
    strv_free(&vars);
    strv_free(&argv);
    return rc ? rc : GROVE_ENOMEM;
  }
  if (h && !c->opts.quiet && w->starts > 1)
    cluster_log(GROVE_LOG_INFO, w->name, "cluster: %s goes to %s (%s)", w->name, h->address,
                w->endpoint);
  /* Node down is a death for a worker on a host: it may be unreachable
   * with its process alive (or its remote shell's client). */
  if (h && grove__monitor_node_as(w->name, grove_actor_ref(self)) == 0)
    a->monitoring = 1;
  grove_subprocess_opts o = {.argv = remote ? (const char *const *)argv.v
                                            : (const char *const *)c->argv,
                             .env = env,
                             .stdin_mode = GROVE_STDIO_INHERIT,
                             .stdout_mode = GROVE_STDIO_INHERIT,
                             .stderr_mode = GROVE_STDIO_INHERIT,
                             .die_with_parent = 1};
  rc = grove_subprocess_spawn(&o, &w->proc);
  if (rc == GROVE_ENOSYS) { /* no pidfd (Linux < 5.3): the worker sets it itself, in join */
    o.die_with_parent = 0;
    rc = grove_subprocess_spawn(&o, &w->proc);
  }
  strv_free(&vars);
  strv_free(&argv);
  free(env);
  if (rc) {
    if (!c->opts.quiet)
      cluster_log(GROVE_LOG_ERROR, w->name, "cluster: cannot start %s: %s", w->name,
                  grove_strerror(rc));
    if (a->monitoring)
      grove__demonitor_node_as(w->name, grove_actor_ref(self));
    a->monitoring = 0;
    return rc;
  }
  w->pid = grove_subprocess_pid(w->proc);
  /* Not waiting for it to come up: a worker that dies again at once counts
   * against the intensity now. */
  a->watch = calloc(1, sizeof *a->watch);
  if (a->watch) {
    a->watch->actor = grove_actor_ref(self);
    a->watch->proc = w->proc;
    a->watch->refs = 2; /* ours and the watcher's */
    a->watcher = grove_spawn(watch_process, a->watch);
  }
  if (!a->watcher) {
    free(a->watch);
    a->watch = NULL;
    grove_subprocess_kill(w->proc, SIGKILL);
    grove_subprocess_free(w->proc);
    w->proc = NULL;
    w->pid = 0;
    if (a->monitoring)
      grove__demonitor_node_as(w->name, grove_actor_ref(self));
    a->monitoring = 0;
    return GROVE_ENOMEM;
  }
  return 0;
}

static int worker_receive(grove_actor *self, grove_msg *msg) {
  worker_actor *a = (worker_actor *)self;
  worker *w = a->w;
  grove_cluster *c = w->c;
  const char *s;
  size_t len;
  if ((grove_msg_is(msg, GROVE_TAG_NODEUP) || grove_msg_is(msg, GROVE_TAG_NODEDOWN)) &&
      grove_msg_str(msg, 0, &s, &len) == 0 && len == strlen(w->name) &&
      memcmp(s, w->name, len) == 0) {
    if (grove_msg_is(msg, GROVE_TAG_NODEUP)) {
      a->seen_up = 1;
      return 0;
    }
    if (!a->seen_up || c->stopping)
      return 0; /* not this process's node (yet), or we stop it */
    /* Unreachable: its process may live on (a partition; ssh's client
     * waits for a dead connection). Kill what we hold of it - a remote
     * worker that lives on exits by itself once it sees us down - and
     * start it again, here or on the next host. */
    c->restarts++;
    int from = w->host;
    if (c->opts.failover == GROVE_CLUSTER_NEXT_HOST && c->nhosts > 1) {
      w->host = (w->host + 1) % c->nhosts;
      set_endpoint(c, w);
    }
    if (!c->opts.quiet)
      cluster_log(GROVE_LOG_WARN, w->name,
                  "cluster: worker %s on %s is unreachable (node down): restarting it on %s",
                  w->name, c->hosts[from].address, c->hosts[w->host].address);
    if (w->proc)
      grove_subprocess_kill(w->proc, SIGKILL);
    return GROVE_EFAILED;
  }
  if (!grove_msg_is(msg, TAG_EXITED))
    return 0;
  int64_t code = 0;
  grove_msg_int(msg, 0, &code);
  if (!w->c->stopping)
    w->c->restarts++; /* counted against the intensity, as the supervisor counts it */
  if (!w->c->stopping && !w->c->opts.quiet)
    cluster_log(GROVE_LOG_WARN, w->name, "cluster: worker %s exited (%s %d)", w->name,
                code < 0 ? "signal" : "status", (int)(code < 0 ? -code : code));
  return GROVE_EFAILED; /* the supervisor restarts it (or gives up) */
}

/* The process ends with its actor, and is reaped before the actor is gone. */
static void worker_terminate(grove_actor *self, int reason) {
  (void)reason;
  worker_actor *a = (worker_actor *)self;
  worker *w = a->w;
  grove_cluster *c = w->c;
  if (a->monitoring)
    grove__demonitor_node_as(w->name, grove_actor_ref(self));
  if (a->watch) {
    a->watch->detached = 1; /* the watcher tells nobody */
    watch_release(a->watch);
    a->watch = NULL;
  }
  if (a->watcher) {
    grove_kill_nowait(a->watcher);
    grove_greenlet_release(a->watcher);
  }
  if (w->proc) {
    int code;
    if (grove_subprocess_poll(w->proc, &code) == GROVE_EAGAIN) {
      grove_subprocess_kill(w->proc, SIGTERM);
      if (grove_subprocess_wait(w->proc, &code, c->grace) == GROVE_ETIMEDOUT) {
        grove_subprocess_kill(w->proc, SIGKILL);
        c->escalated = 1;
      }
      /* A killed runner cannot wait: the process is reaped in the
       * background (grove_subprocess_free), SIGKILLed. */
      if (grove_subprocess_wait(w->proc, &code, 5.0) != 0)
        grove_subprocess_kill(w->proc, SIGKILL);
    }
    grove_subprocess_free(w->proc);
    w->proc = NULL;
  }
  w->pid = 0;
  /* What it sent before it died is in our socket: deliver that, then say
   * it is down, without waiting for the heartbeat timeout. */
  grove__node_peer_lost(w->name);
}

static const grove_actor_class worker_class = {.name = "grove.cluster.worker",
                                               .size = sizeof(worker_actor),
                                               .init = worker_init,
                                               .receive = worker_receive,
                                               .terminate = worker_terminate};

/* ---- the cluster ------------------------------------------------------------------------- */

static void cluster_free_parts(grove_cluster *c);

static void *watch_supervisor(void *arg) {
  grove_cluster *c = arg;
  int reason = 0;
  grove_actor_wait(c->sup, &reason, GROVE_FOREVER);
  if (!c->stopping) {
    /* Not our stop: past the intensity (or the supervisor was killed). */
    cluster_log(GROVE_LOG_ERROR, NULL,
                "cluster: more than %d restarts in %.1f s: every worker stopped", c->opts.intensity,
                c->opts.period);
    c->result = GROVE_EFAILED;
  }
  grove_event_set(c->done);
  return NULL;
}

int grove_cluster_start(const grove_cluster_opts *opts, grove_cluster **out) {
  if (out)
    *out = NULL;
  if (!opts || !out || !opts->argv || !opts->argv[0] || opts->workers <= 0 || opts->workers > 1024)
    return GROVE_EINVAL;
  if (opts->strategy != GROVE_ONE_FOR_ONE && opts->strategy != GROVE_ONE_FOR_ALL &&
      opts->strategy != GROVE_REST_FOR_ONE)
    return GROVE_EINVAL;
  grove__node *n = grove__node_current();
  if (!n)
    return GROVE_ENOENT;
  grove_cluster *c = calloc(1, sizeof *c);
  if (!c)
    return GROVE_ENOMEM;
  c->hub = n->hub;
  c->opts = *opts;
  c->opts.await_names = NULL; /* read during the start only */
  c->opts.hosts = NULL;       /* copied below */
  c->opts.env_pass = NULL;
  c->opts.keyfile = NULL;
  if (c->opts.port <= 0)
    c->opts.port = 7800;
  int rc = 0;
  if (opts->nhosts < 0 || (opts->nhosts > 0 && !opts->hosts) || opts->port < 0 ||
      c->opts.port + opts->workers > 65535 ||
      (opts->failover != GROVE_CLUSTER_SAME_HOST && opts->failover != GROVE_CLUSTER_NEXT_HOST)) {
    free(c);
    return GROVE_EINVAL;
  }
  if (opts->nhosts > 0 && !(c->hosts = calloc((size_t)opts->nhosts, sizeof *c->hosts))) {
    free(c);
    return GROVE_ENOMEM;
  }
  c->nhosts = opts->nhosts;
  for (int i = 0; i < c->nhosts && !rc; i++) {
    const grove_cluster_host *hs = &opts->hosts[i];
    if (!hs->address || !*hs->address || strlen(hs->address) > 200 ||
        (hs->command && !hs->command[0])) {
      rc = GROVE_EINVAL;
      break;
    }
    c->hosts[i].shell = hs->shell;
    if (!(c->hosts[i].address = strdup(hs->address)))
      rc = GROVE_ENOMEM;
    size_t k = 0;
    while (hs->command && hs->command[k])
      k++;
    if (!rc && k && !(c->hosts[i].command = calloc(k + 1, sizeof(char *))))
      rc = GROVE_ENOMEM;
    for (size_t j = 0; !rc && j < k; j++)
      if (!(c->hosts[i].command[j] = strdup(hs->command[j])))
        rc = GROVE_ENOMEM;
  }
  if (!rc && opts->keyfile && !(c->keyfile = strdup(opts->keyfile)))
    rc = GROVE_ENOMEM;
  if (!rc && opts->env_pass) {
    strv ev = {0};
    for (const char *const *e = opts->env_pass; !rc && *e; e++) {
      if (!**e || **e == '=') {
        rc = GROVE_EINVAL;
      } else if (strchr(*e, '=')) {
        rc = strv_add(&ev, strdup(*e));
      } else {
        const char *v = getenv(*e);
        if (v)
          rc = strv_addf(&ev, "%s=%s", *e, v);
      }
    }
    c->env_pass = ev.v; /* freed with the cluster, also on failure */
    if (!rc && !c->env_pass)
      c->env_pass = calloc(1, sizeof(char *));
    if (!rc && !c->env_pass)
      rc = GROVE_ENOMEM;
  }
  if (rc) {
    c->stopping = 1;
    cluster_free_parts(c);
    free(c);
    return rc;
  }
  if (c->opts.intensity <= 0)
    c->opts.intensity = 3;
  if (c->opts.period <= 0 || isnan(c->opts.period))
    c->opts.period = 5;
  if (c->opts.ready_timeout <= 0 || isnan(c->opts.ready_timeout))
    c->opts.ready_timeout = 10;
  c->grace = WORKER_GRACE;
  const char *prefix = opts->prefix ? opts->prefix : "worker";
  size_t argc = 0;
  while (opts->argv[argc])
    argc++;
  c->n = opts->workers;
  c->argv = calloc(argc + 1, sizeof *c->argv);
  c->w = calloc((size_t)c->n, sizeof *c->w);
  c->done = grove_event_new();
  grove_child_spec *specs = calloc((size_t)c->n, sizeof *specs);
  if (!c->argv || !c->w || !c->done || !specs) {
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
    w->host = c->nhosts > 0 ? i % c->nhosts : -1;
    if (w->host >= 0) {
      set_endpoint(c, w);
    } else if (base && strncmp(base, "tcp://", 6) == 0) {
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
    /* The rule of transport/security.c, for every worker's endpoint,
     * before anything is started. */
    if ((rc = grove__open_check("launch a worker on", w->endpoint, n->curve, c->opts.allow_open)) !=
        0)
      goto fail;
    /* Each worker bounds its own stop (SIGTERM, grace, SIGKILL, reap): the
     * supervisor waits for it. */
    specs[i] = (grove_child_spec){
        .id = w->name, .cls = &worker_class, .arg = w, .restart = GROVE_PERMANENT, .shutdown = -1};
  }
  grove_supervisor_opts so = {
      .strategy = c->opts.strategy,
      .intensity = c->opts.intensity,
      .period = c->opts.period,
  };
  if ((rc = grove_supervisor_start(&so, specs, (size_t)c->n, &c->sup)) != 0)
    goto fail;
  grove__actor_set_quiet(c->sup); /* its restarts are the cluster's lines above */
  free(specs);
  specs = NULL;
  for (int i = 0; i < c->n; i++)
    if ((rc = grove_node_wait_up(c->w[i].name, c->opts.ready_timeout)) != 0) {
      cluster_log(GROVE_LOG_ERROR, c->w[i].name, "cluster: worker %s did not come up: %s",
                  c->w[i].name, grove_strerror(rc));
      goto fail_running;
    }
  /* The names the caller declared: registered on every worker before we
   * return, so nobody has to loop on whereis. */
  for (const char *const *nm = opts->await_names; nm && *nm; nm++)
    if ((rc = grove_cluster_wait_name(c, *nm, c->opts.ready_timeout)) != 0) {
      cluster_log(GROVE_LOG_ERROR, NULL, "cluster: \"%s\" was not registered on every worker: %s",
                  *nm, grove_strerror(rc));
      goto fail_running;
    }
  grove_spawn_opts wo = {.name = "cluster-supervisor"};
  if (!(c->sup_watch = grove_spawn_ex(watch_supervisor, c, &wo))) {
    rc = GROVE_ENOMEM;
    goto fail_running;
  }
  *out = c;
  return 0;
fail_running:
  c->stopping = 1;
  c->grace = 0;
  grove_supervisor_stop(c->sup, GROVE_FOREVER);
fail:
  free(specs);
  c->stopping = 1;
  grove_cluster_free(c);
  return rc;
}

int grove_cluster_wait_name(grove_cluster *c, const char *name, double timeout) {
  if (!c || !name || !*name || isnan(timeout))
    return GROVE_EINVAL;
  uint64_t deadline = grove__deadline(c->hub, timeout);
  for (int i = 0; i < c->n; i++) {
    grove_ref r;
    int rc = grove_whereis_remote_wait(c->w[i].name, name, &r, grove__seconds_left(deadline));
    if (rc)
      return rc;
  }
  return 0;
}

int grove_cluster_size(const grove_cluster *c) { return c ? c->n : GROVE_EINVAL; }

const char *grove_cluster_worker_name(const grove_cluster *c, int i) {
  return c && i >= 0 && i < c->n ? c->w[i].name : NULL;
}

int grove_cluster_worker_pid(const grove_cluster *c, int i) {
  return c && i >= 0 && i < c->n ? c->w[i].pid : GROVE_EINVAL;
}

int grove_cluster_restarts(const grove_cluster *c) { return c ? c->restarts : GROVE_EINVAL; }

const char *grove_cluster_worker_endpoint(const grove_cluster *c, int i) {
  return c && i >= 0 && i < c->n ? c->w[i].endpoint : NULL;
}

int grove_cluster_worker_host(const grove_cluster *c, int i) {
  return c && i >= 0 && i < c->n ? c->w[i].host : GROVE_EINVAL;
}

int grove_cluster_kill_worker(grove_cluster *c, int i, int signum) {
  if (!c || i < 0 || i >= c->n)
    return GROVE_EINVAL;
  if (!c->w[i].proc || grove_subprocess_poll(c->w[i].proc, NULL) == 0)
    return GROVE_ENOENT;
  return grove_subprocess_kill(c->w[i].proc, signum);
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
  if (c->stopping)
    return 0;
  c->stopping = 1;
  c->grace = timeout < 0 ? WORKER_GRACE : timeout;
  c->escalated = 0;
  /* The supervisor stops the workers (newest first), each SIGTERMed, then
   * SIGKILLed after the grace; it may have ended already (intensity). */
  int rc = grove_supervisor_stop(c->sup, GROVE_FOREVER);
  if (rc && rc != GROVE_ENOENT)
    return rc;
  if (c->sup_watch) {
    grove_join(c->sup_watch, GROVE_FOREVER);
    grove_greenlet_release(c->sup_watch);
    c->sup_watch = NULL;
  }
  grove_event_set(c->done);
  return c->escalated ? GROVE_ETIMEDOUT : 0;
}

static void cluster_free_parts(grove_cluster *c) {
  for (int i = 0; c->hosts && i < c->nhosts; i++) {
    free(c->hosts[i].address);
    for (char **a = c->hosts[i].command; a && *a; a++)
      free(*a);
    free(c->hosts[i].command);
  }
  free(c->hosts);
  c->hosts = NULL;
  for (char **e = c->env_pass; e && *e; e++)
    free(*e);
  free(c->env_pass);
  c->env_pass = NULL;
  free(c->keyfile);
  c->keyfile = NULL;
}

void grove_cluster_free(grove_cluster *c) {
  if (!c)
    return;
  if (!c->stopping || c->sup_watch)
    grove_cluster_stop(c, 1);
  if (c->done)
    grove_event_free(c->done);
  cluster_free_parts(c);
  if (c->argv)
    for (char **a = c->argv; *a; a++)
      free(*a);
  free(c->argv);
  free(c->w);
  free(c);
}

/* ---- the worker's side
 * ------------------------------------------------------------------------------ */

/* A worker's identity: its hub's GROVE__LAYER_CLUSTER slot. */
_Thread_local int grove__cluster_joining;

typedef struct cluster_member {
  char coordinator[GROVE__NAME_MAX + 1];
  int index;
} cluster_member;

static cluster_member *member(void) {
  return grove__layer_get(grove__hub_peek(), GROVE__LAYER_CLUSTER);
}

/* The parent-death signal, when the launcher is our parent (a worker run
 * by hand, or through a wrapper, has none: the node monitor still holds).
 * Returns GROVE_EHOSTUNREACH when the coordinator has died already. */
static int die_with_parent(void) {
  const char *ppid = getenv("GROVE_CLUSTER_PARENT");
  if (!ppid)
    return 0;
  pid_t coord = (pid_t)atol(ppid);
  if (coord <= 1)
    return 0;
  if (getppid() != coord) /* a wrapper between us, or it died already */
    return kill(coord, 0) != 0 && errno == ESRCH ? GROVE_EHOSTUNREACH : 0;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
    return -errno;
  if (getppid() != coord) /* it died before prctl */
    return GROVE_EHOSTUNREACH;
  return 0;
}

/* Whether the coordinator that launched us has died (we were its child). */
static int parent_gone(void) {
  const char *ppid = getenv("GROVE_CLUSTER_PARENT");
  pid_t coord = ppid ? (pid_t)atol(ppid) : 0;
  return coord > 1 && getppid() != coord && kill(coord, 0) != 0 && errno == ESRCH;
}

static void *orphan_watchdog(void *arg) {
  (void)arg;
  sleep(ORPHAN_GRACE);
  cluster_log(GROVE_LOG_ERROR, NULL,
              "cluster worker still running %d s after its coordinator went down: exiting",
              ORPHAN_GRACE);
  _exit(ORPHAN_EXIT);
  return NULL;
}

void grove__cluster_peer_down(grove__node *n, const char *peer, const char *why) {
  cluster_member *me = member();
  static int once;
  if (!me || strcmp(peer, me->coordinator) != 0 || strcmp(why, "this node stopped") == 0 || once)
    return;
  once = 1;
  (void)n;
  cluster_log(GROVE_LOG_ERROR, peer, "cluster worker %s: coordinator %s is down (%s): exiting",
              grove_node_name(), peer, why);
  pthread_t t;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&t, &at, orphan_watchdog, NULL) != 0)
    _exit(ORPHAN_EXIT); /* no thread to make sure: end now */
  pthread_attr_destroy(&at);
  kill(getpid(), SIGTERM);
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
  int rc = die_with_parent();
  if (rc)
    return rc;
  /* What the launcher says of security (opts.keyfile, opts.allow_open),
   * unless the program gave keys itself. */
  grove_node_opts o = opts ? *opts : (grove_node_opts){0};
  const char *kf = getenv("GROVE_NODE_KEYFILE"), *open_ok = getenv("GROVE_NODE_ALLOW_OPEN");
  if (kf && *kf && !o.curve_public && !o.curve_secret && !o.curve_keyfile)
    o.curve_keyfile = kf;
  if (open_ok && strcmp(open_ok, "1") == 0)
    o.allow_open = true;
  cluster_member *me = calloc(1, sizeof *me);
  if (!me)
    return GROVE_ENOMEM;
  grove__cluster_joining = 1; /* a launched worker: the open rule applies (security.c) */
  rc = grove_node_start(name, ep, &o);
  grove__cluster_joining = 0;
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
  /* Wait for the coordinator in short steps: should it die meanwhile,
   * the parent-death SIGTERM only reaches a handler that cannot act
   * before this returns, so look for its death here too. */
  double t = opts && opts->connect_timeout > 0 ? opts->connect_timeout : 10;
  rc = grove_node_connect_ex(me->coordinator, eq + 1, NULL, 0);
  for (double waited = 0; rc == 0 || rc == GROVE_ETIMEDOUT; waited += 0.05) {
    rc = grove_node_wait_up(me->coordinator, t - waited < 0.05 ? t - waited : 0.05);
    if (rc == 0)
      break;
    if (rc == GROVE_ETIMEDOUT && parent_gone())
      rc = GROVE_EHOSTUNREACH;
    else if (rc == GROVE_ETIMEDOUT && waited + 0.05 >= t)
      break;
  }
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
