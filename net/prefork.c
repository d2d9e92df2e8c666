/* net/prefork.c - pre-forked serving: worker processes sharing one
 * listening socket, supervised by the master.
 *
 * Design notes. A worker is the program run again (grove_subprocess_spawn
 * of /proc/self/exe with /proc/self/cmdline), not a fork(2) of the master:
 * a forked child would share the master's libuv loop (its epoll descriptor
 * and its registrations) and the two hubs would steal each other's events.
 * Re-running gives every worker a fresh hub, at the price of the worker
 * running main() again, which grove_prefork_listen makes the branching
 * point. The listening descriptor crosses the exec because its FD_CLOEXEC
 * flag is cleared for the moment of each spawn (libuv closes nothing else in
 * the child); its number and the worker's index travel in the environment,
 * with the master's pid so that a grandchild that inherited the variables
 * does not mistake itself for a worker.
 *
 * Supervision is one greenlet per worker slot waiting on its process: an
 * exit the master did not ask for is a restart, counted against the
 * intensity (max_restarts within restart_period, as a supervisor's); one
 * too many stops everything and makes run fail. Stopping sends SIGTERM to
 * every worker, waits stop_timeout, then SIGKILLs what is left.
 */
#include "net.h"
#include <grove/prefork.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

extern char **environ;

#define ENV_FD "GROVE_PREFORK_FD"
#define ENV_WORKER "GROVE_PREFORK_WORKER"
#define ENV_MASTER "GROVE_PREFORK_MASTER"

typedef struct slot {
  grove_prefork *pf;
  int index;
  grove_subprocess *proc;
  grove_greenlet *watcher;
} slot;

struct grove_prefork {
  grove_socket *listener;
  int fd, port;
  grove_prefork_opts opts;
  char exe[4096];
  char *cmdline;
  char **argv;
  slot *slots;
  double *exits; /* times of the last restarts, a ring of max_restarts */
  size_t nexits, exit_pos;
  grove_event *stop;
  grove_signal_handler *sigterm, *sigint;
  uint64_t restarts;
  bool stopping, failed, stopped;
};

static int worker_index = -1;

int grove_prefork_worker(void) { return worker_index; }

/* ---- the worker's side --------------------------------------------------------------------- */

/* 1 and *listener if this process is a worker of a live master, else 0. */
static int as_worker(grove_socket **listener) {
  const char *fds = getenv(ENV_FD), *idx = getenv(ENV_WORKER), *master = getenv(ENV_MASTER);
  if (!fds || !idx || !master)
    return 0;
  int fd = atoi(fds), i = atoi(idx);
  if (atoi(master) != (int)getppid() || fd < 3 || i < 0)
    return 0;
  int listening = 0;
  socklen_t len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
    return 0;
  unsetenv(ENV_FD);
  unsetenv(ENV_WORKER);
  unsetenv(ENV_MASTER);
  (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
  prctl(PR_SET_PDEATHSIG, SIGTERM); /* the master gone, the worker goes too */
  if (getppid() == 1)
    return 0;
  if (grove_socket_wrap(fd, listener) != 0)
    return 0;
  worker_index = i;
  return 1;
}

/* ---- the master's side --------------------------------------------------------------------- */

static int read_cmdline(grove_prefork *pf) {
  ssize_t n = readlink("/proc/self/exe", pf->exe, sizeof pf->exe - 1);
  if (n <= 0)
    return GROVE_ENOENT;
  pf->exe[n] = 0;
  FILE *f = fopen("/proc/self/cmdline", "rb");
  if (!f)
    return GROVE_ENOENT;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  size_t k;
  while (buf && (k = fread(buf + len, 1, cap - len, f)) > 0) {
    len += k;
    if (len == cap) {
      char *p = realloc(buf, cap * 2);
      if (!p) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = p;
      cap *= 2;
    }
  }
  fclose(f);
  if (!buf)
    return GROVE_ENOMEM;
  size_t argc = 0;
  for (size_t i = 0; i < len; i++)
    argc += buf[i] == 0;
  pf->argv = calloc(argc + 1, sizeof *pf->argv);
  if (!pf->argv) {
    free(buf);
    return GROVE_ENOMEM;
  }
  size_t a = 0;
  for (size_t i = 0; i < len && a < argc; i += strlen(buf + i) + 1)
    pf->argv[a++] = buf + i;
  pf->argv[0] = pf->exe; /* run this very binary, whatever argv[0] said */
  pf->cmdline = buf;
  return 0;
}

static int spawn_worker(grove_prefork *pf, slot *s) {
  size_t n = 0;
  while (environ[n])
    n++;
  char **env = calloc(n + 4, sizeof *env);
  char vfd[48], vworker[48], vmaster[48];
  if (!env)
    return GROVE_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "GROVE_PREFORK_", 14) != 0)
      env[k++] = environ[i];
  snprintf(vfd, sizeof vfd, ENV_FD "=%d", pf->fd);
  snprintf(vworker, sizeof vworker, ENV_WORKER "=%d", s->index);
  snprintf(vmaster, sizeof vmaster, ENV_MASTER "=%d", (int)getpid());
  env[k++] = vfd;
  env[k++] = vworker;
  env[k++] = vmaster;
  env[k] = NULL;
  grove_subprocess_opts o = {.argv = (const char *const *)pf->argv,
                             .env = (const char *const *)env,
                             .stdin_mode = GROVE_STDIO_DEVNULL};
  int flags = fcntl(pf->fd, F_GETFD);
  (void)fcntl(pf->fd, F_SETFD, flags & ~FD_CLOEXEC);
  int rc = grove_subprocess_spawn(&o, &s->proc);
  (void)fcntl(pf->fd, F_SETFD, flags);
  free(env);
  return rc;
}

/* May one more restart happen now? */
static bool restart_allowed(grove_prefork *pf) {
  double now = grove__now();
  size_t max = (size_t)pf->opts.max_restarts;
  if (pf->nexits == max) {
    double oldest = pf->exits[pf->exit_pos];
    if (now - oldest < pf->opts.restart_period)
      return false;
  }
  pf->exits[pf->exit_pos] = now;
  pf->exit_pos = (pf->exit_pos + 1) % max;
  if (pf->nexits < max)
    pf->nexits++;
  return true;
}

static void *watch(void *arg) {
  slot *s = arg;
  grove_prefork *pf = s->pf;
  for (;;) {
    int code = 0;
    int rc = grove_subprocess_wait(s->proc, &code, GROVE_FOREVER);
    if (rc)
      return NULL; /* killed: the master is stopping */
    int pid = grove_subprocess_pid(s->proc);
    grove_subprocess_free(s->proc);
    s->proc = NULL;
    if (pf->stopping)
      return NULL;
    if (!restart_allowed(pf)) {
      grove_logf(GROVE_LOG_ERROR,
                 "prefork: worker %d (pid %d) exited (%d): more than %d restarts in %g s, "
                 "stopping",
                 s->index, pid, code, pf->opts.max_restarts, pf->opts.restart_period);
      pf->failed = true;
      grove_event_set(pf->stop);
      return NULL;
    }
    grove_logf(GROVE_LOG_WARN, "prefork: worker %d (pid %d) exited (%d), restarting it", s->index,
               pid, code);
    pf->restarts++;
    if ((rc = spawn_worker(pf, s)) != 0) {
      grove_logf(GROVE_LOG_ERROR, "prefork: worker %d: %s", s->index, grove_strerror(rc));
      pf->failed = true;
      grove_event_set(pf->stop);
      return NULL;
    }
  }
}

static void *on_signal(void *arg) {
  grove_prefork *pf = arg;
  grove_event_set(pf->stop);
  return NULL;
}

/* Stop every worker: SIGTERM, stop_timeout, SIGKILL. */
static void stop_workers(grove_prefork *pf, double grace) {
  pf->stopping = true;
  for (int i = 0; i < pf->opts.processes; i++) {
    slot *s = &pf->slots[i];
    if (s->watcher) {
      grove_kill(s->watcher, GROVE_FOREVER);
      grove_greenlet_release(s->watcher);
      s->watcher = NULL;
    }
    if (s->proc)
      grove_subprocess_kill(s->proc, grace > 0 ? SIGTERM : SIGKILL);
  }
  double deadline = grove__deadline(grace);
  for (int i = 0; i < pf->opts.processes; i++) {
    slot *s = &pf->slots[i];
    if (!s->proc)
      continue;
    if (grove_subprocess_wait(s->proc, NULL, grove__remaining(deadline)) != 0) {
      grove_subprocess_kill(s->proc, SIGKILL);
      grove_subprocess_wait(s->proc, NULL, 5.0);
    }
    grove_subprocess_free(s->proc);
    s->proc = NULL;
  }
  pf->stopped = true;
}

int grove_prefork_listen(const char *host, int port, const grove_prefork_opts *opts,
                         grove_socket **listener, grove_prefork **master) {
  if (!listener || !master)
    return GROVE_EINVAL;
  *listener = NULL;
  *master = NULL;
  if (as_worker(listener))
    return 0;
  grove_prefork *pf = calloc(1, sizeof *pf);
  if (!pf)
    return GROVE_ENOMEM;
  if (opts)
    pf->opts = *opts;
  if (pf->opts.processes <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    pf->opts.processes = n > 0 ? (int)n : 1;
  }
  if (pf->opts.max_restarts <= 0)
    pf->opts.max_restarts = 10;
  if (pf->opts.restart_period <= 0)
    pf->opts.restart_period = 10;
  if (pf->opts.stop_timeout <= 0)
    pf->opts.stop_timeout = 10;
  int rc = read_cmdline(pf);
  if (!rc)
    rc = grove_tcp_listen(host, port, pf->opts.backlog, &pf->listener);
  pf->slots = calloc((size_t)pf->opts.processes, sizeof *pf->slots);
  pf->exits = calloc((size_t)pf->opts.max_restarts, sizeof *pf->exits);
  pf->stop = grove_event_new();
  if (!rc && (!pf->slots || !pf->exits || !pf->stop))
    rc = GROVE_ENOMEM;
  if (rc) {
    grove_prefork_free(pf);
    return rc;
  }
  pf->fd = grove_socket_fd(pf->listener);
  pf->port = grove_socket_port(pf->listener);
  for (int i = 0; i < pf->opts.processes; i++) {
    slot *s = &pf->slots[i];
    s->pf = pf;
    s->index = i;
    if ((rc = spawn_worker(pf, s)) != 0) {
      stop_workers(pf, 0);
      grove_prefork_free(pf);
      return rc;
    }
  }
  for (int i = 0; i < pf->opts.processes; i++)
    pf->slots[i].watcher = grove_spawn(watch, &pf->slots[i]);
  pf->sigterm = grove_signal_handle(SIGTERM, on_signal, pf);
  pf->sigint = grove_signal_handle(SIGINT, on_signal, pf);
  *master = pf;
  return 0;
}

int grove_prefork_port(const grove_prefork *pf) { return pf ? pf->port : GROVE_EINVAL; }
uint64_t grove_prefork_restarts(const grove_prefork *pf) { return pf ? pf->restarts : 0; }

int grove_prefork_pid(const grove_prefork *pf, int i) {
  if (!pf || i < 0 || i >= pf->opts.processes)
    return GROVE_EINVAL;
  return pf->slots[i].proc ? grove_subprocess_pid(pf->slots[i].proc) : GROVE_ENOENT;
}

void grove_prefork_stop(grove_prefork *pf) {
  if (pf)
    grove_event_set(pf->stop);
}

int grove_prefork_run(grove_prefork *pf, double timeout) {
  if (!pf || timeout != timeout)
    return GROVE_EINVAL;
  if (!pf->stopped) {
    int rc = grove_event_wait(pf->stop, timeout);
    if (rc)
      return rc;
    stop_workers(pf, pf->opts.stop_timeout);
  }
  return pf->failed ? GROVE_EFAILED : 0;
}

void grove_prefork_free(grove_prefork *pf) {
  if (!pf)
    return;
  if (pf->slots && !pf->stopped)
    stop_workers(pf, 0);
  grove_signal_handler_cancel(pf->sigterm);
  grove_signal_handler_cancel(pf->sigint);
  if (pf->stop)
    grove_event_free(pf->stop);
  grove_socket_close(pf->listener);
  free(pf->slots);
  free(pf->exits);
  free(pf->argv);
  free(pf->cmdline);
  free(pf);
}
