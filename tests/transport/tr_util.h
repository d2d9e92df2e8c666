/* tests/transport/tr_util.h - what the transport tests share.
 *
 * Two processes per test: the test program is the parent; its second node
 * runs in a child that is the same executable started again (fork + exec of
 * /proc/self/exe with "--child ROLE NAME ENDPOINT PARENT key=value..."), so
 * the child never shares the parent's hub, libuv loop or ZeroMQ context,
 * whatever the parent had created when it started it. TR_MAIN dispatches:
 * a child runs the test file's child_main, the parent runs the cases.
 *
 * Every child is killed and reaped, even when the test fails or hangs: the
 * parent keeps a table of its children, killed from an atexit handler and
 * from the SIGALRM (global time limit), SIGINT, SIGTERM, SIGSEGV and SIGABRT
 * handlers; a child dies with its parent (PR_SET_PDEATHSIG) and has its own
 * time limit.
 *
 * A child tells the parent the endpoint it bound (tcp://127.0.0.1:0 picks a
 * port) on fd 3, a pipe the parent reads. A child serves until its "ctl"
 * actor stops: on "quit", or when the parent node goes down (the parent's
 * grove_node_stop says goodbye), then it ends its actors, stops its node,
 * checks grove_hub_close() == 0 and exits 0 (1 if a CHECK failed).
 *
 * The parent receives messages as an actor would through a mailbox actor
 * (tr_mbox): everything it gets goes to a queue the test reads; calls tagged
 * "tr.*" make it monitor, link, send or call from inside an actor.
 *
 * tr_raw is a bare libzmq DEALER speaking the wire protocol by hand
 * (docs/protocol.md), for the hostile-peer test. ipc endpoints named with
 * tr_ipc (under /tmp, with the pid) are removed at exit: ZeroMQ leaves the
 * socket files behind.
 */
#ifndef GROVE_TEST_TR_UTIL_H
#define GROVE_TEST_TR_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#ifndef TR_TIME_LIMIT
#define TR_TIME_LIMIT 30 /* seconds: the whole parent program */
#endif
#ifndef TR_CHILD_TIME_LIMIT
#define TR_CHILD_TIME_LIMIT 28 /* seconds: one child */
#endif

/* ---- children: table and guard ---------------------------------------------------- */

#define TR_MAX_CHILDREN 32
static pid_t tr_children[TR_MAX_CHILDREN];

static inline void tr_forget(pid_t pid) {
  for (int i = 0; i < TR_MAX_CHILDREN; i++)
    if (tr_children[i] == pid)
      tr_children[i] = 0;
}

/* ipc endpoints this process named (tr_ipc): ZeroMQ leaves the socket
 * files behind, they are removed at exit. */
static char tr_ipc_paths[64][128];
static int tr_nipc;

/* Async-signal-safe: called from signal handlers too. */
static inline void tr_kill_all(void) {
  for (int i = 0; i < TR_MAX_CHILDREN; i++) {
    pid_t p = tr_children[i];
    if (p > 0) {
      kill(p, SIGKILL);
      waitpid(p, NULL, 0);
      tr_children[i] = 0;
    }
  }
  for (int i = 0; i < tr_nipc; i++)
    unlink(tr_ipc_paths[i]);
}

static inline void tr_on_fatal(int sig) {
  static const char msg[] = "tr_util: fatal signal or time limit: killing the children\n";
  if (sig == SIGALRM)
    (void)!write(2, msg, sizeof msg - 1);
  tr_kill_all();
  if (sig == SIGALRM)
    _exit(3);
  signal(sig, SIG_DFL);
  raise(sig);
}

static inline void tr_guard(unsigned seconds) {
  atexit(tr_kill_all);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = tr_on_fatal;
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGALRM, SIGINT, SIGTERM, SIGSEGV, SIGABRT, SIGBUS, SIGFPE};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction(sigs[i], &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  alarm(seconds);
}

/* An ipc endpoint unique to this process (its file is removed at exit). */
static inline const char *tr_ipc(const char *what) {
  static char buf[8][140];
  static int k;
  char *b = buf[k++ & 7];
  snprintf(b, sizeof buf[0], "ipc:///tmp/grove-test-%d-%s", (int)getpid(), what);
  int known = 0;
  for (int i = 0; i < tr_nipc; i++)
    known |= strcmp(tr_ipc_paths[i], b + 6) == 0;
  if (!known && tr_nipc < 64)
    snprintf(tr_ipc_paths[tr_nipc++], sizeof tr_ipc_paths[0], "%s", b + 6);
  return b;
}

static inline void tr_unlink_ipc(const char *endpoint) {
  if (strncmp(endpoint, "ipc://", 6) == 0)
    unlink(endpoint + 6);
}

/* Sleep without the hub (usable when no hub is wanted). */
static inline void tr_usleep(double secs) {
  struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Start this program again as a child: "--child role name endpoint parent
 * args...". The child writes the endpoint it bound to fd 3; it is copied to
 * bound (may be NULL). Waits up to 10 s for it, sleeping in the hub (so the
 * parent's node keeps running). Returns the pid, or -1 (and the child is
 * killed) if it did not say. */
static inline pid_t tr_spawn(char *bound, size_t cap, const char *role, const char *name,
                             const char *endpoint, const char *parent, ...) {
  const char *argv[32];
  int argc = 0;
  static char self[4096];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  if (sl <= 0)
    return -1;
  self[sl] = 0;
  argv[argc++] = self;
  argv[argc++] = "--child";
  argv[argc++] = role;
  argv[argc++] = name;
  argv[argc++] = endpoint;
  argv[argc++] = parent ? parent : "-";
  va_list ap;
  va_start(ap, parent);
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL && argc < 31)
    argv[argc++] = a;
  va_end(ap);
  argv[argc] = NULL;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return -1;
  fflush(stdout);
  fflush(stderr);
  pid_t parent_pid = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    /* Only async-signal-safe calls until exec. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent_pid)
      _exit(9);
    if (dup2(fds[1], 3) < 0)
      _exit(9);
    for (int fd = 4; fd < 1024; fd++)
      close(fd);
    execv(self, (char *const *)argv);
    _exit(127);
  }
  close(fds[1]);
  for (int i = 0; i < TR_MAX_CHILDREN; i++)
    if (tr_children[i] == 0) {
      tr_children[i] = pid;
      break;
    }
  char line[512];
  size_t got = 0;
  double deadline = test_now() + 10;
  int ok = 0;
  while (test_now() < deadline && got < sizeof line - 1) {
    struct pollfd pfd = {fds[0], POLLIN, 0};
    int pr = poll(&pfd, 1, 0);
    if (pr == 0) {
      grove_sleep(0.002);
      continue;
    }
    ssize_t r = read(fds[0], line + got, sizeof line - 1 - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
    if (memchr(line, '\n', got)) {
      ok = 1;
      break;
    }
  }
  close(fds[0]);
  line[got] = 0;
  if (!ok) {
    fprintf(stderr, "tr_spawn: child %s (%s) did not start\n", name, role);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    tr_forget(pid);
    return -1;
  }
  *strchr(line, '\n') = 0;
  if (bound && cap > 0) {
    size_t n = strlen(line) < cap - 1 ? strlen(line) : cap - 1;
    memcpy(bound, line, n);
    bound[n] = 0;
  }
  return pid;
}

/* Wait for a child to exit; returns its exit status, 128 + signal if a
 * signal ended it, or -1 if it did not end in time (it is then killed).
 * tr_reap waits without the hub; tr_reap_in_hub sleeps with grove_sleep, so
 * that this process's node goes on talking to the child meanwhile. */
static inline int tr_reap_ex(pid_t pid, double timeout, int in_hub) {
  double deadline = test_now() + timeout;
  int st = 0;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      break;
    if (r < 0) {
      tr_forget(pid);
      return -1;
    }
    if (test_now() > deadline) {
      fprintf(stderr, "tr_reap: child %d did not exit: killing it\n", (int)pid);
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      tr_forget(pid);
      return -1;
    }
    if (in_hub)
      grove_sleep(0.005);
    else
      tr_usleep(0.002);
  }
  tr_forget(pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
static inline int tr_reap(pid_t pid, double timeout) { return tr_reap_ex(pid, timeout, 0); }
static inline int tr_reap_in_hub(pid_t pid, double timeout) { return tr_reap_ex(pid, timeout, 1); }

/* SIGKILL a child and reap it. */
static inline void tr_kill9(pid_t pid) {
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    tr_forget(pid);
  }
}

/* ---- messages ------------------------------------------------------------------------ */

static inline grove_msg *tr_msgv(const char *tag, size_t n, const int64_t *v) {
  grove_msg *m = grove_msg_new(tag);
  for (size_t i = 0; i < n; i++)
    grove_msg_pack_int(m, v[i]);
  return m;
}
/* A message whose body is the integers given: TR_MSG("add", 2, 3). */
#define TR_MSG(tag, ...)                                                                           \
  tr_msgv(tag, sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), (int64_t[]){__VA_ARGS__})

static inline grove_msg *tr_msg_ref(const char *tag, grove_ref r) {
  grove_msg *m = grove_msg_new(tag);
  grove_msg_pack_ref(m, r);
  return m;
}

static inline int64_t tr_int(grove_msg *m, size_t i) {
  int64_t v = -999999;
  if (m)
    grove_msg_int(m, i, &v);
  return v;
}

static inline grove_ref tr_ref(grove_msg *m, size_t i) {
  grove_ref r = GROVE_REF_NULL;
  if (m)
    grove_msg_ref(m, i, &r);
  return r;
}

/* Copy every object of `from`'s body onto `to`'s. */
static inline void tr_copy_body(grove_msg *to, grove_msg *from) {
  size_t n = grove_msg_count(from);
  for (size_t i = 0; i < n; i++) {
    msgpack_object o;
    if (grove_msg_get(from, i, &o) == 0)
      msgpack_pack_object(grove_msg_packer(to), o);
  }
}

/* A call that returns the reply's first int (or the error code). */
static inline int64_t tr_call_int(grove_ref to, grove_msg *m, double timeout) {
  grove_msg *r = NULL;
  int rc = grove_call(to, m, &r, timeout);
  if (rc)
    return rc;
  int64_t v = tr_int(r, 0);
  grove_msg_free(r);
  return v;
}

/* ---- the parent's mailbox actor -------------------------------------------------------- */

typedef struct tr_mbox {
  grove_actor base;
  grove_queue *q;
} tr_mbox;

static inline int tr_mbox_init(grove_actor *self, void *arg) {
  ((tr_mbox *)self)->q = arg;
  return 0;
}

static inline int tr_mbox_receive(grove_actor *self, grove_msg *msg) {
  tr_mbox *mb = (tr_mbox *)self;
  if (grove_msg_is(msg, "tr.stop"))
    return GROVE_STOP;
  if (grove_msg_is(msg, "tr.monitor")) {
    uint64_t id = 0;
    int rc = grove_monitor(tr_ref(msg, 0), &id);
    grove_reply(msg, TR_MSG("id", (int64_t)id, (int64_t)rc));
  } else if (grove_msg_is(msg, "tr.link")) {
    grove_reply(msg, TR_MSG("rc", (int64_t)grove_link_actors(grove_self(), tr_ref(msg, 0))));
  } else if (grove_msg_is(msg, "tr.monitor_node")) {
    const char *s = "";
    size_t n = 0;
    char name[64] = "";
    if (grove_msg_str(msg, 0, &s, &n) == 0 && n < sizeof name)
      memcpy(name, s, n), name[n] = 0;
    grove_reply(msg, TR_MSG("rc", (int64_t)grove_monitor_node(name)));
  } else if (grove_msg_is(msg, "tr.send")) {
    /* [ref, tag, int]: grove_send from this actor */
    const char *s = "";
    size_t n = 0;
    char tag[64] = "x";
    if (grove_msg_str(msg, 1, &s, &n) == 0 && n < sizeof tag)
      memcpy(tag, s, n), tag[n] = 0;
    int rc = grove_send(tr_ref(msg, 0), TR_MSG(tag, tr_int(msg, 2)));
    grove_reply(msg, TR_MSG("rc", (int64_t)rc));
  } else if (grove_msg_is(msg, "tr.call")) {
    /* [ref, tag, int]: grove_call from this actor; replies [rc, first int] */
    const char *s = "";
    size_t n = 0;
    char tag[64] = "x";
    if (grove_msg_str(msg, 1, &s, &n) == 0 && n < sizeof tag)
      memcpy(tag, s, n), tag[n] = 0;
    grove_msg *r = NULL;
    int rc = grove_call(tr_ref(msg, 0), TR_MSG(tag, tr_int(msg, 2)), &r, 5.0);
    grove_reply(msg, TR_MSG("rc", (int64_t)rc, rc ? (int64_t)0 : tr_int(r, 0)));
    grove_msg_free(r);
  } else {
    grove_queue_put_nowait(mb->q, grove_msg_take(msg));
  }
  return 0;
}

static const grove_actor_class tr_mbox_class = {
    .name = "tr_mbox", .size = sizeof(tr_mbox), .init = tr_mbox_init, .receive = tr_mbox_receive};

static inline grove_ref tr_mbox_new(grove_queue **q, bool trap_exits) {
  *q = grove_queue_new(0);
  grove_actor_opts o = {.trap_exits = trap_exits};
  grove_ref r = GROVE_REF_NULL;
  grove_actor_spawn_ex(&tr_mbox_class, *q, &o, &r);
  return r;
}

/* The next message the mailbox got, or NULL after timeout. The caller owns it. */
static inline grove_msg *tr_mbox_get(grove_queue *q, double timeout) {
  void *item = NULL;
  return grove_queue_get(q, &item, timeout) == 0 ? item : NULL;
}

static inline void tr_mbox_free(grove_ref mb, grove_queue *q) {
  if (grove_actor_alive(mb)) {
    grove_actor_exit(mb, GROVE_EXIT_KILLED);
    grove_actor_wait(mb, NULL, 5.0);
  }
  void *item;
  while (grove_queue_get_nowait(q, &item) == 0)
    grove_msg_free(item);
  grove_queue_free(q);
}

/* The mailbox asks for something from inside the actor. */
static inline int64_t tr_mbox_do(grove_ref mb, const char *what, grove_ref target) {
  return tr_call_int(mb, tr_msg_ref(what, target), 5.0);
}

/* The mailbox sends / calls [tag, v] to target from inside the actor:
 * returns grove_send's code / the call's code or the reply's first int. */
static inline int64_t tr_mbox_relay(grove_ref mb, const char *how, grove_ref target,
                                    const char *tag, int64_t v) {
  grove_msg *m = grove_msg_new(how);
  grove_msg_pack_ref(m, target);
  grove_msg_pack_str(m, tag);
  grove_msg_pack_int(m, v);
  grove_msg *r = NULL;
  int rc = grove_call(mb, m, &r, 10.0);
  if (rc)
    return rc;
  int64_t out = tr_int(r, 0);
  if (out == 0 && strcmp(how, "tr.call") == 0)
    out = tr_int(r, 1);
  grove_msg_free(r);
  return out;
}

static inline void tr_end_actor(grove_ref r) {
  if (grove_actor_alive(r)) {
    grove_actor_exit(r, GROVE_EXIT_KILLED);
    grove_actor_wait(r, NULL, 5.0);
  }
}

/* ---- the child's side -------------------------------------------------------------------- */

typedef struct tr_child {
  const char *role, *name, *endpoint, *parent;
  int nargs;
  char **args; /* key=value */
} tr_child;

static inline const char *tr_arg(const tr_child *c, const char *key) {
  size_t k = strlen(key);
  for (int i = 0; i < c->nargs; i++)
    if (strncmp(c->args[i], key, k) == 0 && c->args[i][k] == '=')
      return c->args[i] + k + 1;
  return NULL;
}

static inline double tr_arg_double(const tr_child *c, const char *key, double def) {
  const char *v = tr_arg(c, key);
  return v ? atof(v) : def;
}

/* Node options from the arguments: hbi, hbt (heartbeat interval, timeout),
 * max (max_message), sndhwm, rcvhwm, pub, sec (CURVE keys), keyfile (a
 * CURVE key file), allow (one allowed client key). */
static inline void tr_child_opts(const tr_child *c, grove_node_opts *o, const char **allow) {
  memset(o, 0, sizeof *o);
  o->heartbeat_interval = tr_arg_double(c, "hbi", 0);
  o->heartbeat_timeout = tr_arg_double(c, "hbt", 0);
  o->max_message = (size_t)tr_arg_double(c, "max", 0);
  o->sndhwm = (int)tr_arg_double(c, "sndhwm", 0);
  o->rcvhwm = (int)tr_arg_double(c, "rcvhwm", 0);
  o->curve_public = tr_arg(c, "pub");
  o->curve_secret = tr_arg(c, "sec");
  o->curve_keyfile = tr_arg(c, "keyfile");
  allow[0] = tr_arg(c, "allow");
  allow[1] = NULL;
  o->curve_allowed = allow[0] ? allow : NULL;
}

/* Tell the parent the endpoint we bound. */
static inline void tr_child_ready(void) {
  char line[300];
  int n = snprintf(line, sizeof line, "%s\n", grove_node_endpoint());
  (void)!write(3, line, (size_t)n);
  close(3);
}

/* Actors the child must end before it closes its hub. */
static grove_ref tr_tracked[256];
static int tr_ntracked;
static inline void tr_track(grove_ref r) {
  if (tr_ntracked < 256)
    tr_tracked[tr_ntracked++] = r;
}

/* Spawn an actor registered as `name`, ended before the child closes its hub. */
static inline void tr_spawn_named(const grove_actor_class *cls, const char *name) {
  grove_actor_opts o = {.name = name};
  grove_ref r = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(cls, NULL, &o, &r), 0);
  tr_track(r);
}

/* Start the child's node with the options its arguments give: 0, or 2
 * (the child's exit code) after saying why. */
static inline int tr_child_node_start(const tr_child *c) {
  grove_node_opts o;
  const char *allow[2];
  tr_child_opts(c, &o, allow);
  int rc = grove_node_start(c->name, c->endpoint, &o);
  if (rc)
    fprintf(stderr, "child: grove_node_start(%s): %s\n", c->endpoint, grove_err_name(rc));
  return rc ? 2 : 0;
}

/* The parent's side: `name` on node `node`, which must be there (5 s). */
static inline grove_ref tr_whereis(const char *node, const char *name) {
  grove_ref r = GROVE_REF_NULL;
  int rc = grove_whereis_remote(node, name, &r, 5.0);
  if (rc)
    fprintf(stderr, "whereis_remote(%s, %s): %s\n", node, name, grove_err_name(rc));
  CHECK_EQ(rc, 0);
  return r;
}

/* A role's own handling of messages to "ctl" (return -1000 when not handled). */
static int (*tr_ctl_hook)(grove_actor *self, grove_msg *msg);
static const char *tr_ctl_parent;

static inline int tr_ctl_init(grove_actor *self, void *arg) {
  (void)self;
  (void)arg;
  if (tr_ctl_parent && strcmp(tr_ctl_parent, "-") != 0)
    CHECK_EQ(grove_monitor_node(tr_ctl_parent), 0);
  return 0;
}

static inline int tr_ctl_receive(grove_actor *self, grove_msg *msg) {
  if (grove_msg_is(msg, "quit"))
    return GROVE_STOP;
  if (grove_msg_is(msg, GROVE_TAG_NODEDOWN)) {
    const char *s;
    size_t n;
    if (grove_msg_str(msg, 0, &s, &n) == 0 && tr_ctl_parent && strlen(tr_ctl_parent) == n &&
        memcmp(s, tr_ctl_parent, n) == 0)
      return GROVE_STOP;
    return 0;
  }
  if (grove_msg_is(msg, "stats")) {
    grove_node_stats st;
    memset(&st, 0, sizeof st);
    grove_node_stats_get(&st);
    grove_reply(msg, TR_MSG("stats", (int64_t)st.received, (int64_t)st.unknown_target,
                            (int64_t)st.dropped_malformed, (int64_t)st.dropped_unknown_peer,
                            (int64_t)st.nodes_up, (int64_t)st.nodes_down,
                            (int64_t)st.frames_received, (int64_t)getpid()));
    return 0;
  }
  if (tr_ctl_hook) {
    int rc = tr_ctl_hook(self, msg);
    if (rc != -1000)
      return rc;
  }
  if (grove_msg_is_call(msg))
    grove_reply_error(msg, GROVE_ENOSYS);
  return 0;
}

static const grove_actor_class tr_ctl_class = {
    .name = "ctl", .size = sizeof(grove_actor), .init = tr_ctl_init, .receive = tr_ctl_receive};

/* Serve until ctl stops (or the child's time limit), then clean up. */
static inline void tr_child_serve(const tr_child *c) {
  tr_ctl_parent = c->parent;
  grove_actor_opts o = {.name = "ctl"};
  grove_ref ctl = GROVE_REF_NULL;
  CHECK_EQ(grove_actor_spawn_ex(&tr_ctl_class, NULL, &o, &ctl), 0);
  tr_child_ready();
  int rc = grove_actor_wait(ctl, NULL, TR_CHILD_TIME_LIMIT - 5);
  if (rc) {
    fprintf(stderr, "child %s: ctl did not stop: %s\n", c->name, grove_err_name(rc));
    test__failed = 1;
    tr_end_actor(ctl);
  }
  for (int i = 0; i < tr_ntracked; i++)
    tr_end_actor(tr_tracked[i]);
}

/* Stop the node and close the hub: the end of every child. */
static inline int tr_child_finish(void) {
  if (grove_node_name())
    CHECK_EQ(grove_node_stop(), 0);
  int rc = grove_hub_close();
  if (rc != 0) {
    fprintf(stderr, "child: grove_hub_close() = %s\n", grove_err_name(rc));
    grove_dump(stderr);
    test__failed = 1;
  }
  return test__failed ? 1 : 0;
}

static inline int tr_child_run(int argc, char **argv, int (*fn)(const tr_child *c)) {
  if (argc < 6)
    return 2;
  tr_child c = {argv[2], argv[3], argv[4], argv[5], argc - 6, argv + 6};
  const char *err = tr_arg(&c, "stderr");
  if (err) {
    int fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 2);
      close(fd);
    }
  }
  signal(SIGPIPE, SIG_IGN);
  alarm(TR_CHILD_TIME_LIMIT);
  return fn(&c);
}

/* main: a child runs child_main, the parent runs the test cases. */
#define TR_MAIN(child_main, ...)                                                                   \
  int main(int argc, char **argv) {                                                                \
    if (argc > 1 && strcmp(argv[1], "--child") == 0)                                               \
      return tr_child_run(argc, argv, child_main);                                                 \
    tr_guard(TR_TIME_LIMIT);                                                                       \
    static const test_case cases[] = {__VA_ARGS__};                                                \
    int rc = test__run(cases, sizeof cases / sizeof cases[0], argc, argv);                         \
    tr_kill_all();                                                                                 \
    return rc;                                                                                     \
  }

/* ---- a bare ZeroMQ peer speaking the wire protocol --------------------------------------------
 */

typedef struct tr_raw {
  void *ctx, *sock;
  char name[64];
  /* the frame being read: envelopes back to back */
  char *frame;
  size_t len, off;
  msgpack_unpacked u;
} tr_raw;

static inline int tr_raw_open(tr_raw *r, const char *name, const char *endpoint) {
  memset(r, 0, sizeof *r);
  snprintf(r->name, sizeof r->name, "%s", name);
  msgpack_unpacked_init(&r->u);
  r->ctx = zmq_ctx_new();
  r->sock = zmq_socket(r->ctx, ZMQ_DEALER);
  int zero = 0, ivl = 20;
  zmq_setsockopt(r->sock, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(r->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
  zmq_setsockopt(r->sock, ZMQ_ROUTING_ID, name, strlen(name));
  return zmq_connect(r->sock, endpoint) == 0 ? 0 : -errno;
}

static inline void tr_raw_close(tr_raw *r) {
  if (r->sock)
    zmq_close(r->sock);
  if (r->ctx)
    zmq_ctx_term(r->ctx);
  free(r->frame);
  msgpack_unpacked_destroy(&r->u);
  memset(r, 0, sizeof *r);
}

/* Send one message of nframes frames (buf, len pairs). Sleeps in the hub
 * while ZeroMQ pushes back. */
static inline int tr_raw_sendv(tr_raw *r, int nframes, const void *const *bufs,
                               const size_t *lens) {
  for (int i = 0; i < nframes; i++) {
    int flags = ZMQ_DONTWAIT | (i + 1 < nframes ? ZMQ_SNDMORE : 0);
    double deadline = test_now() + 5;
    while (zmq_send(r->sock, bufs[i], lens[i], flags) < 0) {
      if (errno != EAGAIN || test_now() > deadline)
        return -errno;
      grove_sleep(0.001);
    }
  }
  return 0;
}

static inline int tr_raw_send(tr_raw *r, const void *buf, size_t len) {
  return tr_raw_sendv(r, 1, &buf, &len);
}

static inline int tr_raw_send_sb(tr_raw *r, msgpack_sbuffer *sb) {
  int rc = tr_raw_send(r, sb->data, sb->size);
  msgpack_sbuffer_clear(sb);
  return rc;
}

/* The next envelope from the node (any kind), unpacked into r->u; NULL on
 * timeout or on a frame that is not msgpack. */
static inline msgpack_object *tr_raw_next(tr_raw *r, double timeout) {
  double deadline = test_now() + timeout;
  for (;;) {
    if (r->frame && r->off < r->len) {
      msgpack_unpack_return ur = msgpack_unpack_next(&r->u, r->frame, r->len, &r->off);
      if (ur == MSGPACK_UNPACK_SUCCESS || ur == MSGPACK_UNPACK_EXTRA_BYTES)
        return &r->u.data;
      r->off = r->len;
      return NULL;
    }
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, r->sock, ZMQ_DONTWAIT) >= 0) {
      free(r->frame);
      r->len = zmq_msg_size(&m);
      r->frame = malloc(r->len ? r->len : 1);
      memcpy(r->frame, zmq_msg_data(&m), r->len);
      r->off = 0;
      zmq_msg_close(&m);
      continue;
    }
    zmq_msg_close(&m);
    if (test_now() > deadline)
      return NULL;
    grove_sleep(0.0005);
  }
}

static inline int tr_env_kind(const msgpack_object *o) {
  if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 2 ||
      o->via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return -1;
  return (int)o->via.array.ptr[1].via.u64;
}

/* The next envelope of the given kind (others are skipped: heartbeats). */
static inline msgpack_object *tr_raw_expect(tr_raw *r, int kind, double timeout) {
  double deadline = test_now() + timeout;
  for (;;) {
    double left = deadline - test_now();
    msgpack_object *o = tr_raw_next(r, left > 0 ? left : 0);
    if (!o)
      return NULL;
    if (tr_env_kind(o) == kind)
      return o;
  }
}

/* Envelope encoders (docs/protocol.md). */
static inline void tr_pack_str(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

static inline void tr_pack_ref(msgpack_packer *pk, uint32_t node, uint32_t gen, uint64_t id) {
  unsigned char b[16];
  uint32_t w[4] = {node, gen, (uint32_t)(id >> 32), (uint32_t)id};
  for (int i = 0; i < 4; i++) {
    b[4 * i] = (unsigned char)(w[i] >> 24);
    b[4 * i + 1] = (unsigned char)(w[i] >> 16);
    b[4 * i + 2] = (unsigned char)(w[i] >> 8);
    b[4 * i + 3] = (unsigned char)w[i];
  }
  msgpack_pack_ext_with_body(pk, b, 16, 1);
}

static inline void tr_env_hello(msgpack_packer *pk, const char *name, uint64_t incarnation) {
  msgpack_pack_array(pk, 5);
  msgpack_pack_uint8(pk, 1);
  msgpack_pack_uint8(pk, 0);
  tr_pack_str(pk, name);
  msgpack_pack_uint64(pk, incarnation);
  msgpack_pack_nil(pk);
}

/* CALL (call_id != 0) or SEND to a registered name (to_name) or a ref; the
 * body is the msgpack stream body[0..blen). */
static inline void tr_env_send(msgpack_packer *pk, const char *to_name, uint32_t node, uint64_t id,
                               const char *tag, const void *body, size_t blen, uint64_t call_id) {
  msgpack_pack_array(pk, call_id ? 7 : 6);
  msgpack_pack_uint8(pk, 1);
  msgpack_pack_uint8(pk, call_id ? 3 : 2);
  if (to_name)
    tr_pack_str(pk, to_name);
  else
    tr_pack_ref(pk, node, 1, id);
  msgpack_pack_nil(pk);
  tr_pack_str(pk, tag);
  msgpack_pack_bin_with_body(pk, body, blen);
  if (call_id)
    msgpack_pack_uint64(pk, call_id);
}

/* Shake hands as `r->name` with the node: HELLO, wait for WELCOME. */
static inline int tr_raw_hello(tr_raw *r, double timeout) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  tr_env_hello(&pk, r->name, 42);
  int rc = tr_raw_send_sb(r, &sb);
  msgpack_sbuffer_destroy(&sb);
  if (rc)
    return rc;
  return tr_raw_expect(r, 1, timeout) ? 0 : GROVE_ETIMEDOUT;
}

/* REPLY fields: [1, 4, call_id, status, from, tag, body] */
static inline int64_t tr_reply_status(const msgpack_object *o) {
  const msgpack_object *f = o->via.array.ptr;
  return f[3].type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? f[3].via.i64 : (int64_t)f[3].via.u64;
}

/* The first integer of a REPLY's body, or -999999. */
static inline int64_t tr_reply_int(const msgpack_object *o) {
  const msgpack_object *b = &o->via.array.ptr[6];
  if (b->type != MSGPACK_OBJECT_BIN)
    return -999999;
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  size_t off = 0;
  int64_t v = -999999;
  if (msgpack_unpack_next(&u, b->via.bin.ptr, b->via.bin.size, &off) == MSGPACK_UNPACK_SUCCESS) {
    if (u.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
      v = (int64_t)u.data.via.u64;
    else if (u.data.type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
      v = u.data.via.i64;
  }
  msgpack_unpacked_destroy(&u);
  return v;
}

#endif
