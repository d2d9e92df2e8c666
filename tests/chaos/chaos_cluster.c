/* tests/chaos/chaos_cluster.c - clusters (grove_cluster_*) under SIGKILL and
 * SIGSTOP storms of their workers and of their coordinator.
 *
 * One program, three roles:
 *  - the harness (run by ctest): a child subreaper (PR_SET_CHILD_SUBREAPER),
 *    so that a worker whose coordinator died becomes its child and can be
 *    seen, timed and, if it lingers, killed. It runs rounds: each starts a
 *    coordinator process (this program, --coord), SIGSTOPs and SIGCONTs it
 *    now and then, and ends it either with SIGKILL or with SIGTERM. After a
 *    SIGKILL every worker must exit within ORPHAN_BOUND seconds (grove's
 *    promise: a worker dies with its coordinator); the workers still alive
 *    then are orphans, counted, reported and killed. After a SIGTERM the
 *    coordinator stops its cluster and no worker may be left either.
 *  - the coordinator: starts a node and a cluster of 4 workers (random
 *    strategy), runs 4 callers that call the workers' actor "w" (timeout
 *    1 s) and a storm greenlet that SIGKILLs, SIGTERMs and SIGSTOPs (for up
 *    to 2 s) random workers. It reports its figures to the harness on fd 3
 *    every 100 ms (so they survive its SIGKILL). A call that returns later
 *    than its timeout + 0.5 s is hung, unless the coordinator itself was
 *    stopped meanwhile (its SIGCONTs are counted: such calls are "excused").
 *  - the worker (started by the cluster): grove_cluster_join, an actor "w"
 *    answering "ping", SIGTERM ends it cleanly. It does nothing about its
 *    coordinator on purpose (no PR_SET_PDEATHSIG, no monitor of its own):
 *    dying with the coordinator is grove's job, and this test is its proof.
 *    (It exits if the harness itself is gone, so that nothing outlives a
 *    killed test run.)
 *
 * Usage: chaos_cluster [SECONDS] (default 30, or CHAOS_DURATION).
 */
#include "chaos.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define NWORKERS 4
#define NCALLERS 4
#define CALL_TIMEOUT 1.0
#define HUNG_SLACK 0.5
#define ORPHAN_BOUND 5.0
#define HB_INTERVAL 0.2
#define HB_TIMEOUT 1.0

static const grove_node_opts node_opts = {.heartbeat_interval = HB_INTERVAL,
                                          .heartbeat_timeout = HB_TIMEOUT};

/* ======================================================================================
 * the worker
 * ==================================================================================== */

static int w_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "ping")) {
    grove_msg *r = grove_msg_new("pong");
    grove_msg_pack_int(r, grove_cluster_index());
    grove_msg_pack_int(r, getpid());
    grove_reply(msg, r);
  }
  return 0;
}
static const grove_actor_class w_class = {"chaos_w", sizeof(grove_actor), NULL, w_receive, NULL};

static int worker_main(void) {
  int rc = grove_cluster_join(&node_opts);
  if (rc) {
    fprintf(stderr, "chaos worker %d: grove_cluster_join: %s\n", (int)getpid(), grove_err_name(rc));
    return 2;
  }
  grove_actor_opts o = {.name = "w"};
  grove_ref w;
  if (grove_actor_spawn_ex(&w_class, NULL, &o, &w) != 0)
    return 2;
  const char *h = getenv("CHAOS_HARNESS_PID");
  pid_t harness = h ? (pid_t)atoi(h) : 0;
  for (;;) {
    if (grove_signal_wait(SIGTERM, 0.5) == 0)
      break;
    if (harness > 0 && kill(harness, 0) != 0 && errno == ESRCH)
      _exit(3); /* the whole test is gone: do not outlive it */
  }
  /* each step of the way out on stderr (chaos_cluster.log), with the time:
   * an orphan's log says where it was held up */
  double t0 = chaos_now();
  fprintf(stderr, "chaos worker %d: SIGTERM at %.3f\n", (int)getpid(), t0);
  grove_actor_exit(w, GROVE_EXIT_KILLED);
  grove_actor_wait(w, NULL, 2);
  rc = grove_node_stop();
  fprintf(stderr, "chaos worker %d: grove_node_stop: %s after %.3f s\n", (int)getpid(),
          grove_err_name(rc), chaos_now() - t0);
  rc = grove_hub_close();
  fprintf(stderr, "chaos worker %d: grove_hub_close: %s after %.3f s\n", (int)getpid(),
          grove_err_name(rc), chaos_now() - t0);
  return rc == 0 ? 0 : 1;
}

/* ======================================================================================
 * the coordinator
 * ==================================================================================== */

static volatile sig_atomic_t conts; /* SIGCONTs seen: this process was stopped */
static void on_cont(int sig) {
  (void)sig;
  conts++;
}

static struct {
  uint64_t calls, answered, enoent, unreach, timedout, other, late, excused, wrong;
  uint64_t w_kill, w_term, w_stop;
  double max_call;
} cf;
static grove_cluster *cluster;
static volatile int c_stop;
static int cluster_failed;
static pid_t stopped_pid[NWORKERS];
static grove_greenlet *cont_later[NWORKERS];

static void report(const char *what) {
  char line[400];
  int n = snprintf(line, sizeof line,
                   "C %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                   " %" PRIu64 " %" PRIu64 " %" PRIu64 " %d %" PRIu64 " %" PRIu64 " %" PRIu64
                   " %.3f %d\n",
                   what, cf.calls, cf.answered, cf.enoent, cf.unreach, cf.timedout, cf.other,
                   cf.late, cf.excused, cf.wrong, cluster ? grove_cluster_restarts(cluster) : 0,
                   cf.w_kill, cf.w_term, cf.w_stop, cf.max_call, cluster_failed);
  if (n > 0)
    (void)!write(3, line, (size_t)n);
}

static void *c_caller(void *arg) {
  (void)arg;
  grove_ref refs[NWORKERS];
  memset(refs, 0, sizeof refs);
  while (!c_stop) {
    int i = chaos_randn(NWORKERS);
    const char *name = grove_cluster_worker_name(cluster, i);
    sig_atomic_t c0 = conts;
    double t0 = chaos_now();
    int rc = 0;
    if (grove_ref_is_null(refs[i]))
      rc = grove_whereis_remote(name, "w", &refs[i], CALL_TIMEOUT);
    grove_msg *reply = NULL;
    if (rc == 0)
      rc = grove_call(refs[i], grove_msg_new("ping"), &reply, CALL_TIMEOUT);
    double dt = chaos_now() - t0;
    cf.calls++;
    if (dt > cf.max_call)
      cf.max_call = dt;
    /* two waits at most: a lookup and a call, each within its timeout */
    if (dt > 2 * CALL_TIMEOUT + HUNG_SLACK) {
      if (conts != c0)
        cf.excused++;
      else
        cf.late++;
    }
    if (rc == 0) {
      int64_t idx = -1;
      if (grove_msg_int(reply, 0, &idx) == 0 && idx == i)
        cf.answered++;
      else
        cf.wrong++;
      grove_msg_free(reply);
    } else {
      refs[i] = GROVE_REF_NULL; /* look it up again: it may be a new process */
      if (rc == GROVE_ENOENT)
        cf.enoent++;
      else if (rc == GROVE_EHOSTUNREACH)
        cf.unreach++;
      else if (rc == GROVE_ETIMEDOUT)
        cf.timedout++;
      else if (rc == GROVE_ECANCELED)
        break;
      else
        cf.other++;
      grove_sleep(0.01);
    }
  }
  return NULL;
}

static void *c_cont_later(void *arg) {
  int i = (int)(intptr_t)arg;
  grove_sleep(chaos_uniform(0.1, 2.0));
  if (stopped_pid[i] > 0)
    kill(stopped_pid[i], SIGCONT);
  stopped_pid[i] = 0;
  grove_greenlet_release(cont_later[i]);
  cont_later[i] = NULL;
  return NULL;
}

static void *c_storm(void *arg) {
  (void)arg;
  while (!c_stop && !cluster_failed) {
    if (grove_sleep(chaos_uniform(0.1, 0.6)) != 0)
      break;
    int i = chaos_randn(NWORKERS);
    int pid = grove_cluster_worker_pid(cluster, i);
    if (pid <= 0)
      continue;
    int what = chaos_randn(10);
    if (what < 4) {
      if (grove_cluster_kill_worker(cluster, i, SIGKILL) == 0)
        cf.w_kill++;
    } else if (what < 5) {
      if (grove_cluster_kill_worker(cluster, i, SIGTERM) == 0)
        cf.w_term++;
    } else if (what < 8 && stopped_pid[i] == 0) {
      if (kill(pid, SIGSTOP) == 0) {
        cf.w_stop++;
        stopped_pid[i] = pid;
        cont_later[i] = grove_spawn(c_cont_later, (void *)(intptr_t)i);
      }
    }
  }
  return NULL;
}

static void *c_reporter(void *arg) {
  (void)arg;
  int last[NWORKERS] = {0};
  while (!c_stop) {
    for (int i = 0; i < NWORKERS; i++) {
      int pid = grove_cluster_worker_pid(cluster, i);
      if (pid > 0 && pid != last[i]) {
        char line[64];
        int n = snprintf(line, sizeof line, "W %d %d\n", i, pid);
        (void)!write(3, line, (size_t)n);
        last[i] = pid;
      }
    }
    report("tick");
    if (grove_sleep(0.1) != 0)
      break;
  }
  return NULL;
}

static void *c_failwatch(void *arg) {
  (void)arg;
  while (!c_stop) {
    int rc = grove_cluster_wait(cluster, 0.2);
    if (rc == GROVE_EFAILED) {
      cluster_failed = 1;
      break;
    }
    if (rc == 0 || rc == GROVE_ECANCELED)
      break;
  }
  return NULL;
}

static int coord_main(const char *dir) {
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* the coordinator dies with the harness */
  fcntl(3, F_SETFL, O_NONBLOCK);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_cont;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGCONT, &sa, NULL);
  char ep[200], base[200];
  snprintf(ep, sizeof ep, "ipc://%s/coord", dir);
  snprintf(base, sizeof base, "ipc://%s/wk", dir);
  int rc = grove_node_start("coord", ep, &node_opts);
  if (rc) {
    dprintf(3, "S node_start %s\n", grove_err_name(rc));
    return 2;
  }
  static char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return 2;
  self[n] = 0;
  const char *const argv[] = {self, "--worker", NULL};
  int strategy = chaos_randn(3);
  grove_cluster_opts o = {.argv = argv,
                          .workers = NWORKERS,
                          .prefix = "wk",
                          .endpoint_base = base,
                          .strategy = strategy,
                          .intensity = 40,
                          .period = 10,
                          .ready_timeout = 10,
                          .quiet = true};
  double t0 = chaos_now();
  rc = grove_cluster_start(&o, &cluster);
  if (rc) {
    dprintf(3, "S cluster_start %s\n", grove_err_name(rc));
    grove_node_stop();
    return 2;
  }
  dprintf(3, "R %d %.3f\n", strategy, chaos_now() - t0);
  grove_greenlet *g[NCALLERS + 3];
  for (int i = 0; i < NCALLERS; i++)
    g[i] = grove_spawn(c_caller, NULL);
  g[NCALLERS] = grove_spawn(c_storm, NULL);
  g[NCALLERS + 1] = grove_spawn(c_reporter, NULL);
  g[NCALLERS + 2] = grove_spawn(c_failwatch, NULL);
  /* until the harness says stop (or kills us) */
  while (grove_signal_wait(SIGTERM, 1.0) != 0)
    ;
  c_stop = 1;
  for (int i = 0; i < NWORKERS; i++) {
    if (cont_later[i]) {
      grove_greenlet *gc = cont_later[i];
      cont_later[i] = NULL;
      grove_kill(gc, 1.0);
      grove_greenlet_release(gc);
    }
    if (stopped_pid[i] > 0)
      kill(stopped_pid[i], SIGCONT);
  }
  int hung_callers = 0;
  for (int i = 0; i < NCALLERS + 3; i++) {
    if (grove_join(g[i], 2 * CALL_TIMEOUT + 2) != 0) {
      if (i < NCALLERS)
        hung_callers++;
      grove_kill(g[i], 1.0);
    }
    grove_greenlet_release(g[i]);
  }
  cf.late += (uint64_t)hung_callers;
  int pids[NWORKERS];
  for (int i = 0; i < NWORKERS; i++)
    pids[i] = grove_cluster_worker_pid(cluster, i);
  int stop_rc = grove_cluster_stop(cluster, 2.0);
  int left = 0;
  for (int i = 0; i < NWORKERS; i++)
    left += pids[i] > 0 && kill(pids[i], 0) == 0;
  report("end");
  grove_cluster_free(cluster);
  cluster = NULL;
  grove_node_stop();
  int close_rc = grove_hub_close();
  dprintf(3, "E %s %d %s\n", grove_err_name(stop_rc), left, grove_err_name(close_rc));
  return 0;
}

/* ======================================================================================
 * the harness
 * ==================================================================================== */

static pid_t coord_pid;

/* The processes whose parent is `ppid`, alive (zombies are reaped or
 * skipped); returns how many were put in out. */
static int children_of(pid_t ppid, pid_t *out, int max) {
  int n = 0;
  DIR *d = opendir("/proc");
  if (!d)
    return 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    char path[300], buf[600];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
      continue;
    ssize_t k = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (k <= 0)
      continue;
    buf[k] = 0;
    char *p = strrchr(buf, ')');
    char state;
    int pp;
    if (!p || sscanf(p + 1, " %c %d", &state, &pp) != 2)
      continue;
    if (pp == ppid && state != 'Z' && state != 'X' && n < max)
      out[n++] = (pid_t)atoi(e->d_name);
  }
  closedir(d);
  return n;
}

/* A process's state letter (R, S, T stopped, Z...), '?' if it is gone. */
static char proc_state(pid_t pid) {
  char path[64], buf[600];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return '?';
  ssize_t k = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (k <= 0)
    return '?';
  buf[k] = 0;
  char *p = strrchr(buf, ')');
  return p && p[1] == ' ' ? p[2] : '?';
}

static void reap(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
}

static void harness_on_stall(void) {
  if (coord_pid > 0)
    kill(coord_pid, SIGKILL);
  pid_t kids[64];
  int n = children_of(getpid(), kids, 64);
  for (int i = 0; i < n; i++)
    kill(kids[i], SIGKILL);
}

static struct {
  uint64_t rounds, start_failed, kills, terms, stops, cluster_failed, unresponsive;
  uint64_t calls, answered, enoent, unreach, timedout, other, late, excused, wrong;
  uint64_t restarts, w_kill, w_term, w_stop;
  uint64_t workers_at_kill, frozen_at_kill, orphans, orphans_stopped, orphans_exit_on_cont,
      left_after_stop, unclean_end;
  double max_call;
  double exit_after_kill[4096];
  int nexit;
  double ready[1024];
  int nready;
} h;

/* The last "C" line of the round's coordinator. */
struct creport {
  uint64_t calls, answered, enoent, unreach, timedout, other, late, excused, wrong;
  int restarts;
  uint64_t w_kill, w_term, w_stop;
  double max_call;
  int failed;
};

static void parse_line(const char *line, struct creport *cr, char *endline, size_t endsz,
                       int *ready, double *last_tick) {
  if (line[0] == 'C') {
    char what[16];
    struct creport r;
    if (sscanf(line,
               "C %15s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
               " %" SCNu64 " %" SCNu64 " %" SCNu64 " %d %" SCNu64 " %" SCNu64 " %" SCNu64 " %lf %d",
               what, &r.calls, &r.answered, &r.enoent, &r.unreach, &r.timedout, &r.other, &r.late,
               &r.excused, &r.wrong, &r.restarts, &r.w_kill, &r.w_term, &r.w_stop, &r.max_call,
               &r.failed) == 16) {
      *cr = r;
      *last_tick = chaos_now();
    }
  } else if (line[0] == 'R') {
    int strategy;
    double t;
    if (sscanf(line, "R %d %lf", &strategy, &t) == 2) {
      *ready = 1;
      if (h.nready < 1024)
        h.ready[h.nready++] = t;
    }
  } else if (line[0] == 'S') {
    *ready = -1;
    fprintf(stderr, "chaos: coordinator: %s", line);
  } else if (line[0] == 'E') {
    snprintf(endline, endsz, "%s", line);
  }
}

/* Read what the coordinator wrote, for up to `seconds`. */
static void pump(int fd, double seconds, struct creport *cr, char *endline, size_t endsz,
                 int *ready, double *last_tick, char *acc, size_t *accn) {
  double end = chaos_now() + seconds;
  for (;;) {
    double left = end - chaos_now();
    if (left < 0)
      left = 0;
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, (int)(left * 1000));
    if (r > 0) {
      ssize_t k = read(fd, acc + *accn, 8191 - *accn);
      if (k > 0) {
        *accn += (size_t)k;
        acc[*accn] = 0;
        char *nl;
        while ((nl = strchr(acc, '\n')) != NULL) {
          *nl = 0;
          parse_line(acc, cr, endline, endsz, ready, last_tick);
          size_t used = (size_t)(nl + 1 - acc);
          memmove(acc, nl + 1, *accn - used + 1);
          *accn -= used;
        }
        if (*accn >= 8000)
          *accn = 0;
      } else if (k == 0) {
        return; /* the coordinator closed its end: it has ended */
      }
    }
    reap();
    if (chaos_now() >= end)
      return;
  }
}

static void run_round(const char *self, const char *dir, double seconds) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return;
  uint64_t seed = chaos_rand();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 3);
    /* grove's own lines (peers down, drops) from the coordinator and its
     * workers go to a log beside the test, not into the summary */
    int log = open("chaos_cluster.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, 2);
      close(log);
    }
    char s[32];
    snprintf(s, sizeof s, "%" PRIu64, seed);
    setenv("CHAOS_SEED", s, 1);
    execl(self, self, "--coord", dir, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  coord_pid = pid;
  h.rounds++;
  struct creport cr;
  memset(&cr, 0, sizeof cr);
  char endline[200] = "", acc[8192];
  size_t accn = 0;
  int ready = 0;
  double last_tick = chaos_now();
  chaos_progress("cluster round: waiting for the cluster");
  double deadline = chaos_now() + 15;
  while (ready == 0 && chaos_now() < deadline)
    pump(fds[0], 0.05, &cr, endline, sizeof endline, &ready, &last_tick, acc, &accn);
  if (ready != 1) {
    h.start_failed++;
    chaos_failf("round %" PRIu64 ": the cluster did not start (%s)", h.rounds,
                ready < 0 ? "start failed" : "no answer in 15 s");
  } else {
    double end = chaos_now() + seconds;
    while (chaos_now() < end) {
      chaos_progress("cluster round: storm");
      pump(fds[0], chaos_uniform(0.3, 1.5), &cr, endline, sizeof endline, &ready, &last_tick, acc,
           &accn);
      if (chaos_now() - last_tick > 5) {
        h.unresponsive++;
        chaos_failf("round %" PRIu64 ": the coordinator reported nothing for %.1f s (its hub is "
                    "stuck)",
                    h.rounds, chaos_now() - last_tick);
        break;
      }
      if (chaos_randn(4) == 0 && chaos_now() + 2.5 < end) { /* SIGSTOP the coordinator */
        double d = chaos_uniform(0.2, 2.0);
        kill(pid, SIGSTOP);
        h.stops++;
        pump(fds[0], d, &cr, endline, sizeof endline, &ready, &last_tick, acc, &accn);
        kill(pid, SIGCONT);
        last_tick = chaos_now();
      }
    }
  }
  bool by_kill = chaos_randn(10) < 6;
  if (by_kill) {
    chaos_progress("cluster round: coordinator SIGKILLed, waiting for its workers to exit");
    pid_t kids[64];
    int nk = children_of(pid, kids, 64);
    h.workers_at_kill += (uint64_t)nk;
    /* every other coordinator kill, one of its workers is frozen at that
     * moment (a stopped host, a debugger): it must not outlive it either */
    if (nk > 0 && h.kills % 2 == 0) {
      kill(kids[chaos_randn(nk)], SIGSTOP);
      h.frozen_at_kill++;
    }
    kill(pid, SIGKILL);
    double tk = chaos_now();
    h.kills++;
    pump(fds[0], 0, &cr, endline, sizeof endline, &ready, &last_tick, acc, &accn);
    waitpid(pid, NULL, 0);
    bool gone[64] = {false};
    int ngone = 0;
    while (ngone < nk && chaos_now() - tk < ORPHAN_BOUND) {
      reap();
      for (int i = 0; i < nk; i++)
        if (!gone[i] && kill(kids[i], 0) != 0) {
          gone[i] = true;
          ngone++;
          if (h.nexit < 4096)
            h.exit_after_kill[h.nexit++] = chaos_now() - tk;
        }
      /* a zombie child of ours counts as gone: reap() took it above */
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    /* what is still alive: every process whose parent is now us */
    pid_t left[64];
    reap();
    int nl = children_of(getpid(), left, 64);
    if (nl > 0) {
      h.orphans += (uint64_t)nl;
      char pids[300] = "";
      int nstopped = 0;
      for (int i = 0; i < nl; i++) {
        char st = proc_state(left[i]);
        nstopped += st == 'T' || st == 't';
        snprintf(pids + strlen(pids), sizeof pids - strlen(pids), " %d (state %c)", (int)left[i],
                 st);
      }
      /* then: do they end once continued (a stopped one's parent-death
       * signal is pending), and how? 10 s more, each reaped with its status
       * (0: it took SIGTERM and stopped cleanly; 2: grove_cluster_join
       * failed; 70: grove's orphan watchdog ended it) */
      int cont_exited = 0;
      double cont_time = 0;
      for (int i = 0; i < nl; i++)
        kill(left[i], SIGCONT);
      double tc = chaos_now();
      bool done[64] = {false};
      char how[300] = "";
      while (cont_exited < nl && chaos_now() - tc < 10) {
        for (int i = 0; i < nl; i++) {
          int st = 0;
          if (!done[i] && waitpid(left[i], &st, WNOHANG) == left[i]) {
            done[i] = true;
            cont_exited++;
            cont_time = chaos_now() - tc;
            snprintf(how + strlen(how), sizeof how - strlen(how), " %d: %s %d after %.1f s;",
                     (int)left[i], WIFEXITED(st) ? "exit" : "signal",
                     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), cont_time);
          }
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
      }
      for (int i = 0; i < nl; i++)
        if (!done[i]) {
          kill(left[i], SIGKILL);
          snprintf(how + strlen(how), sizeof how - strlen(how), " %d: still there, SIGKILLed;",
                   (int)left[i]);
        }
      reap();
      fprintf(stderr, "chaos: round %" PRIu64 ": the orphans once continued:%s\n", h.rounds, how);
      h.orphans_stopped += (uint64_t)nstopped;
      h.orphans_exit_on_cont += (uint64_t)cont_exited;
      fprintf(stderr, "chaos: round %" PRIu64 ": coordinator SIGKILLed at %.3f\n", h.rounds, tk);
      chaos_failf("round %" PRIu64 ": %d of %d workers still alive %.1f s after their "
                  "coordinator was SIGKILLed (orphans, pids%s; %d of them SIGSTOPped at the time; "
                  "once continued, %d exited within %.1f s more)",
                  h.rounds, nl, nk, ORPHAN_BOUND, pids, nstopped, cont_exited, cont_time);
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
      reap();
    }
  } else {
    chaos_progress("cluster round: coordinator SIGTERMed, waiting for a clean end");
    h.terms++;
    kill(pid, SIGTERM);
    double tk = chaos_now();
    int status = -1;
    while (chaos_now() - tk < 15) {
      pump(fds[0], 0.05, &cr, endline, sizeof endline, &ready, &last_tick, acc, &accn);
      if (waitpid(pid, &status, WNOHANG) == pid)
        break;
    }
    if (waitpid(pid, &status, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      chaos_failf("round %" PRIu64 ": the coordinator did not end within 15 s of SIGTERM",
                  h.rounds);
    }
    pump(fds[0], 0.05, &cr, endline, sizeof endline, &ready, &last_tick, acc, &accn);
    char stop_rc[64] = "", close_rc[64] = "";
    int left = -1;
    if (sscanf(endline, "E %63s %d %63s", stop_rc, &left, close_rc) != 3 || left != 0 ||
        strcmp(close_rc, "GROVE_OK") != 0) {
      h.unclean_end++;
      chaos_failf("round %" PRIu64 ": unclean end after SIGTERM: %s", h.rounds,
                  *endline ? endline : "(no end report)");
    }
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    reap();
    pid_t kids[64];
    int nl = children_of(getpid(), kids, 64);
    if (nl > 0) {
      h.left_after_stop += (uint64_t)nl;
      for (int i = 0; i < nl; i++)
        kill(kids[i], SIGKILL);
      chaos_failf("round %" PRIu64 ": %d workers left after grove_cluster_stop", h.rounds, nl);
      reap();
    }
  }
  close(fds[0]);
  coord_pid = 0;
  h.calls += cr.calls;
  h.answered += cr.answered;
  h.enoent += cr.enoent;
  h.unreach += cr.unreach;
  h.timedout += cr.timedout;
  h.other += cr.other;
  h.late += cr.late;
  h.excused += cr.excused;
  h.wrong += cr.wrong;
  h.restarts += (uint64_t)cr.restarts;
  h.w_kill += cr.w_kill;
  h.w_term += cr.w_term;
  h.w_stop += cr.w_stop;
  h.cluster_failed += (uint64_t)cr.failed;
  if (cr.max_call > h.max_call)
    h.max_call = cr.max_call;
}

int main(int argc, char **argv) {
  if (getenv("GROVE_CLUSTER_INDEX") && argc > 1 && strcmp(argv[1], "--worker") == 0)
    return worker_main();
  if (argc > 2 && strcmp(argv[1], "--coord") == 0) {
    chaos_seed();
    return coord_main(argv[2]);
  }
  double duration = argc > 1 ? atof(argv[1]) : chaos_duration(30);
  chaos_seed();
  printf("chaos_cluster: seed %" PRIu64 " (CHAOS_SEED=%" PRIu64 " repeats it), %.0f s\n",
         chaos_seed_value, chaos_seed_value, duration);
  fflush(stdout);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  char pidbuf[32];
  snprintf(pidbuf, sizeof pidbuf, "%d", (int)getpid());
  setenv("CHAOS_HARNESS_PID", pidbuf, 1);
  chaos_on_stall = harness_on_stall;
  chaos_watchdog_start("cluster", 40);
  static char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return 2;
  self[n] = 0;
  unlink("chaos_cluster.log");
  double t0 = chaos_now(), end = t0 + duration;
  while (chaos_now() < end) {
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/chaos-cl-%d-%" PRIu64, (int)getpid(), h.rounds);
    mkdir(dir, 0700);
    run_round(self, dir, chaos_uniform(2.5, 6.0));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)!system(cmd);
  }
  double elapsed = chaos_now() - t0;

  chaos_fig("seed", "%" PRIu64, chaos_seed_value);
  chaos_fig("duration_s", "%.1f", elapsed);
  chaos_fig("rounds", "%" PRIu64 " (start failed %" PRIu64 ")", h.rounds, h.start_failed);
  chaos_fig_durations("cluster_start_s", h.ready, h.nready);
  chaos_fig("coordinator.sigstop", "%" PRIu64, h.stops);
  chaos_fig("coordinator.sigkill",
            "%" PRIu64 " (workers alive then: %" PRIu64 ", of which SIGSTOPped by the harness at "
            "that moment: %" PRIu64 ")",
            h.kills, h.workers_at_kill, h.frozen_at_kill);
  chaos_fig("coordinator.sigterm", "%" PRIu64 " (unclean ends %" PRIu64 ")", h.terms,
            h.unclean_end);
  chaos_fig_durations("worker_exit_after_coord_kill_s", h.exit_after_kill, h.nexit);
  chaos_fig("orphans", "%" PRIu64 " (alive %.0f s after a coordinator SIGKILL)", h.orphans,
            ORPHAN_BOUND);
  chaos_fig("orphans.stopped", "%" PRIu64 " (of the orphans, SIGSTOPped when the coordinator died)",
            h.orphans_stopped);
  chaos_fig("orphans.exited_later",
            "%" PRIu64 " (of the orphans, exited within 10 s once all were SIGCONTed; the rest "
            "were SIGKILLed)",
            h.orphans_exit_on_cont);
  chaos_fig("workers_left_after_stop", "%" PRIu64, h.left_after_stop);
  chaos_fig("workers.sigkill", "%" PRIu64, h.w_kill);
  chaos_fig("workers.sigterm", "%" PRIu64, h.w_term);
  chaos_fig("workers.sigstop", "%" PRIu64, h.w_stop);
  chaos_fig("workers.restarts", "%" PRIu64, h.restarts);
  chaos_fig("clusters_gave_up", "%" PRIu64 " (intensity 40 in 10 s)", h.cluster_failed);
  chaos_fig("calls.total", "%" PRIu64, h.calls);
  chaos_fig("calls.answered", "%" PRIu64, h.answered);
  chaos_fig("calls.failed_clean", "enoent %" PRIu64 ", ehostunreach %" PRIu64 ", other %" PRIu64,
            h.enoent, h.unreach, h.other);
  chaos_fig("calls.timed_out", "%" PRIu64, h.timedout);
  chaos_fig("calls.hung", "%" PRIu64 " (a lookup + a call over 2 x %.1f s + %.1f s)", h.late,
            CALL_TIMEOUT, HUNG_SLACK);
  chaos_fig("calls.excused", "%" PRIu64 " (the coordinator was SIGSTOPped during them)", h.excused);
  chaos_fig("calls.wrong_answer", "%" PRIu64, h.wrong);
  chaos_fig("calls.slowest_s", "%.3f", h.max_call);
  chaos_fig("coordinator_unresponsive", "%" PRIu64, h.unresponsive);
  char cwd[300];
  chaos_fig("grove_stderr_log", "%s/chaos_cluster.log", getcwd(cwd, sizeof cwd) ? cwd : ".");
  if (h.late)
    chaos_failf("%" PRIu64 " hung calls in the coordinator", h.late);
  if (h.wrong)
    chaos_failf("%" PRIu64 " calls answered by the wrong worker", h.wrong);
  if (h.answered == 0)
    chaos_failf("no call was answered");
  return chaos_summary("cluster");
}
