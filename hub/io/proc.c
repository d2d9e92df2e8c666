/* hub/io/proc.c - child processes (gevent.subprocess.Popen).
 *
 * Design notes.
 *
 * A child is started with uv_spawn; its exit arrives through libuv's
 * SIGCHLD handling as the handle's exit callback, on the hub's thread, which
 * records the status (exit code, or -N for signal N) and wakes the
 * greenlets waiting in grove_subprocess_wait, in the order they waited.
 *
 * Pipes: we make them ourselves, as AF_UNIX socketpairs (what libuv itself
 * uses for UV_CREATE_PIPE), close-on-exec, and give the child its end with
 * UV_INHERIT_FD (libuv dup2()s it onto 0, 1 or 2 in the child); the
 * parent's end is wrapped in a grove_socket, so all the cooperative socket
 * calls work on it. A socketpair rather than a pipe: shutdown(2) works on
 * it, and read/recv, write/send all do. GROVE_STDIO_DEVNULL opens
 * /dev/null; GROVE_STDIO_STDOUT (stderr only) hands the child the same fd
 * as its stdout.
 *
 * SIGPIPE: the first spawn sets SIGPIPE to SIG_IGN if it is SIG_DFL, so
 * that writing to the pipe of a child that has exited returns GROVE_EPIPE
 * instead of killing the whole program (Python does the same at start-up).
 * A handler the program installed itself is left alone.
 *
 * communicate: one helper greenlet per output pipe reads it to the end into
 * a heap buffer while the caller writes the input (so a child that writes a
 * lot before it reads everything cannot deadlock us), then closes stdin,
 * joins the readers and waits for the exit, all under one deadline. If the
 * caller's wait fails (timeout, kill), the readers still running are killed
 * and abandoned: each frees its own buffer when it ends, and touches
 * nothing else, since the subprocess (and its sockets) may be freed first.
 *
 * die_with_parent: libuv's spawn has no hook between fork and exec, and the
 * parent-death signal must be set there (a child that sets it itself after
 * exec leaves a window: stopped or slow before it got there, it outlives a
 * SIGKILLed parent). So such a child is forked here: the child sets
 * PR_SET_PDEATHSIG, checks that its parent is still us (we may have died
 * between the fork and the prctl), puts its stdio in place, resets signals
 * as libuv does, and execs; an exec failure comes back through a
 * close-on-exec pipe (ENOENT...). libuv does not know that child, so its
 * exit is watched through a pidfd (readable once the child has exited) with
 * a uv_poll_t, and reaped with waitpid(pid): libuv's own SIGCHLD handling
 * reaps only the pids it spawned.
 *
 * Freeing: the object is a hub object (hub->nobjects). Its memory lives
 * until libuv has closed the process handle (uv_close's callback). Freeing
 * the object of a child still running sends SIGKILL and leaves the handle
 * as an "orphan": the exit callback closes it once the child is reaped. If
 * the hub is closed before that, a grove__hub_atclose hook reaps the orphans
 * (waitpid: they were sent SIGKILL) and closes their handles, so that no
 * zombie and no memory is left behind. Greenlets still waiting on a freed
 * subprocess wake with GROVE_ECLOSED.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAGIC_PROC 0x50524f43u

struct grove_subprocess {
  uv_process_t proc; /* spawned by libuv; or, for die_with_parent: */
  uv_poll_t pidw;    /* the pidfd of the child forked here */
  int pidfd;
  uint8_t forked; /* forked here (die_with_parent): pidw is the handle */
  uint32_t magic;
  grove_hub *hub;
  grove_socket *pipes[3];
  int pid;
  int returncode;
  uint8_t exited;
  uint8_t orphan;      /* freed while the child ran: the exit callback closes it */
  grove__list waiters; /* greenlets in grove_subprocess_wait */
  grove__list orphan_link;
};

/* ---- orphans: freed while running, closed once reaped ----------------------------- */

static void proc_close_cb(uv_handle_t *h) {
  grove_subprocess *p = grove__container_of((uv_process_t *)h, grove_subprocess, proc);
  free(p);
}

static void pidw_close_cb(uv_handle_t *h) {
  grove_subprocess *p = grove__container_of((uv_poll_t *)h, grove_subprocess, pidw);
  close(p->pidfd);
  free(p);
}

/* Give the child's handle back to libuv; p is freed once it is closed. */
static void close_handle(grove_subprocess *p) {
  if (p->forked)
    uv_close((uv_handle_t *)&p->pidw, pidw_close_cb);
  else
    uv_close((uv_handle_t *)&p->proc, proc_close_cb);
}

/* Called by grove_hub_close: the hub's orphans are reaped and closed. */
void grove__proc_orphans_close(grove_hub *hub) {
  grove__list *n;
  while ((n = grove__list_pop(&hub->proc_orphans)) != NULL) {
    grove_subprocess *p = grove__container_of(n, grove_subprocess, orphan_link);
    /* It was sent SIGKILL: reaping it is a matter of moments. libuv no
     * longer looks for it once the handle is closing. */
    int st;
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
      ;
    close_handle(p);
  }
}

static void add_orphan(grove_subprocess *p) {
  grove__list_push(&p->hub->proc_orphans, &p->orphan_link);
}

static void exited(grove_subprocess *p, int returncode) {
  p->returncode = returncode;
  p->exited = 1;
  if (p->orphan) {
    if (grove__list_linked(&p->orphan_link))
      grove__list_remove(&p->orphan_link);
    close_handle(p);
    return;
  }
  grove__wake_all(&p->waiters, 0);
}

static void exit_cb(uv_process_t *h, int64_t exit_status, int term_signal) {
  grove_subprocess *p = grove__container_of(h, grove_subprocess, proc);
  exited(p, term_signal ? -term_signal : (int)exit_status);
}

/* The pidfd of a child forked here became readable: it has exited. */
static void pidw_cb(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  grove_subprocess *p = grove__container_of(h, grove_subprocess, pidw);
  int st;
  pid_t r;
  while ((r = waitpid(p->pid, &st, WNOHANG)) < 0 && errno == EINTR)
    ;
  if (r == 0)
    return; /* not yet (cannot happen once the pidfd is readable) */
  uv_poll_stop(&p->pidw);
  int code = -1; /* reaped by someone else (waitpid(-1) in the program): unknown */
  if (r == p->pid)
    code = WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
  exited(p, code);
}

/* ---- forking a child that dies with its parent ---------------------------------------- */

static int pidfd_open_(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_run(const grove_subprocess_opts *o, const int fds[3], pid_t parent, int errfd) {
  int e = 0;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
    e = ESRCH; /* the parent died before the prctl */
    goto fail;
  }
  /* stdio: every source above 2 first, so that no dup2 clobbers another. */
  int src[3];
  for (int i = 0; i < 3; i++)
    if ((src[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0) {
      e = errno;
      goto fail;
    }
  for (int i = 0; i < 3; i++)
    if (dup2(src[i], i) < 0) {
      e = errno;
      goto fail;
    }
  if (o->cwd && chdir(o->cwd) != 0) {
    e = errno;
    goto fail;
  }
  /* Signals as a fresh process has them (libuv's child does the same). */
  for (int n = 1; n < 32; n++)
    if (n != SIGKILL && n != SIGSTOP)
      signal(n, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* PATH is searched in the child's environment, as libuv does. */
  extern char **environ;
  if (o->env)
    environ = (char **)o->env;
  execvp(o->argv[0], (char *const *)o->argv);
  e = errno;
fail:
  while (write(errfd, &e, sizeof e) < 0 && errno == EINTR)
    ;
  _exit(127);
}

static int fork_child(grove_hub *hub, grove_subprocess *p, const grove_subprocess_opts *o,
                      const int fds[3]) {
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) != 0)
    return -errno;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = -errno;
    close(ep[0]);
    close(ep[1]);
    return e;
  }
  if (pid == 0)
    child_run(o, fds, parent, ep[1]); /* never returns */
  close(ep[1]);
  int e = 0;
  ssize_t n;
  while ((n = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR)
    ; /* 0 bytes: the exec happened (the pipe closed on exec) */
  close(ep[0]);
  int fd = n == (ssize_t)sizeof e ? -1 : pidfd_open_(pid);
  if (n == (ssize_t)sizeof e || fd < 0) {
    int rc = n == (ssize_t)sizeof e ? -e : -errno;
    if (fd < 0 && n != (ssize_t)sizeof e)
      kill(pid, SIGKILL); /* cannot watch it: do not leave it running */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
    return rc;
  }
  int rc = uv_poll_init(&hub->loop, &p->pidw, fd);
  if (rc == 0) {
    p->pidfd = fd;
    p->forked = 1; /* from here on the handle must be closed (pidw_close_cb) */
    rc = uv_poll_start(&p->pidw, UV_READABLE, pidw_cb);
  } else {
    close(fd); /* no handle: nothing of libuv's to close */
  }
  if (rc != 0) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
    return rc;
  }
  p->pid = pid;
  return 0;
}

/* ---- spawning ----------------------------------------------------------------------- */

static void ignore_sigpipe_once(void) {
  static atomic_int done;
  if (atomic_exchange(&done, 1))
    return;
  struct sigaction old;
  if (sigaction(SIGPIPE, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
      old.sa_handler == SIG_DFL) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
  }
}

static int valid_mode(int mode, int slot) {
  if (mode == GROVE_STDIO_STDOUT)
    return slot == 2;
  return mode == GROVE_STDIO_INHERIT || mode == GROVE_STDIO_PIPE || mode == GROVE_STDIO_DEVNULL;
}

int grove_subprocess_spawn(const grove_subprocess_opts *opts, grove_subprocess **out) {
  if (out)
    *out = NULL;
  if (!opts || !out || !opts->argv || !opts->argv[0] || !opts->argv[0][0])
    return GROVE_EINVAL;
  int modes[3] = {opts->stdin_mode, opts->stdout_mode, opts->stderr_mode};
  for (int i = 0; i < 3; i++)
    if (!valid_mode(modes[i], i))
      return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  ignore_sigpipe_once();

  grove_subprocess *p = calloc(1, sizeof *p);
  if (!p)
    return GROVE_ENOMEM;
  p->hub = hub;
  grove__list_init(&p->waiters);
  grove__list_init(&p->orphan_link);

  int child_fd[3] = {-1, -1, -1}; /* ours to close after the spawn */
  int devnull = -1;
  int rc = 0;
  uv_stdio_container_t stdio[3];
  for (int i = 0; i < 3 && rc == 0; i++) {
    stdio[i].flags = UV_INHERIT_FD;
    switch (modes[i]) {
    case GROVE_STDIO_INHERIT:
      stdio[i].data.fd = i;
      break;
    case GROVE_STDIO_DEVNULL:
      if (devnull < 0 && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
        rc = -errno;
        break;
      }
      stdio[i].data.fd = devnull;
      break;
    case GROVE_STDIO_STDOUT:
      stdio[i].data.fd = stdio[1].data.fd;
      break;
    case GROVE_STDIO_PIPE: {
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        rc = -errno;
        break;
      }
      child_fd[i] = sv[1];
      stdio[i].data.fd = sv[1];
      rc = grove_socket_wrap(sv[0], &p->pipes[i]);
      if (rc != 0)
        close(sv[0]);
      break;
    }
    }
  }

  int handle = 0; /* a failed spawn left a libuv handle: p goes with its close */
  if (rc == 0 && opts->die_with_parent) {
    int fds[3];
    for (int i = 0; i < 3; i++)
      fds[i] = stdio[i].data.fd;
    rc = fork_child(hub, p, opts, fds);
    handle = rc != 0 && p->forked;
  } else if (rc == 0) {
    uv_process_options_t po;
    memset(&po, 0, sizeof po);
    po.exit_cb = exit_cb;
    po.file = opts->argv[0];
    po.args = (char **)opts->argv;
    po.env = (char **)opts->env;
    po.cwd = opts->cwd;
    po.stdio_count = 3;
    po.stdio = stdio;
    rc = uv_spawn(&hub->loop, &p->proc, &po);
    handle = rc != 0; /* libuv initialised the handle anyway */
  }
  for (int i = 0; i < 3; i++)
    if (child_fd[i] >= 0)
      close(child_fd[i]);
  if (devnull >= 0)
    close(devnull);
  if (rc != 0) {
    for (int i = 0; i < 3; i++)
      grove_socket_close(p->pipes[i]);
    if (handle)
      close_handle(p);
    else
      free(p);
    return rc;
  }
  if (!p->forked)
    p->pid = p->proc.pid;
  p->magic = MAGIC_PROC;
  grove__obj_add(hub, GROVE__OBJ_PROC);
  *out = p;
  return 0;
}

/* ---- accessors ----------------------------------------------------------------------- */

static int proc_check(const grove_subprocess *p) {
  if (!p || p->magic != MAGIC_PROC)
    return GROVE_EINVAL;
  if (!grove__owned(p->hub))
    return GROVE_EPERM;
  return 0;
}

grove_socket *grove_subprocess_stdin(grove_subprocess *p) {
  return proc_check(p) == 0 ? p->pipes[0] : NULL;
}
grove_socket *grove_subprocess_stdout(grove_subprocess *p) {
  return proc_check(p) == 0 ? p->pipes[1] : NULL;
}
grove_socket *grove_subprocess_stderr(grove_subprocess *p) {
  return proc_check(p) == 0 ? p->pipes[2] : NULL;
}
int grove_subprocess_pid(const grove_subprocess *p) {
  int rc = proc_check(p);
  return rc ? rc : p->pid;
}

/* ---- waiting ---------------------------------------------------------------------------- */

static int wait_until(grove_subprocess *p, int *returncode, uint64_t deadline) {
  if (!p->exited) {
    if (deadline != UINT64_MAX && deadline <= uv_hrtime())
      return grove__wait(p->hub, NULL, 0, NULL, NULL); /* a poll */
    int rc = grove__wait_until(p->hub, &p->waiters, deadline, "subprocess", p);
    if (rc)
      return rc; /* on GROVE_ECLOSED, p is gone: do not touch it */
  }
  if (returncode)
    *returncode = p->returncode;
  return 0;
}

int grove_subprocess_wait(grove_subprocess *p, int *returncode, double timeout) {
  int rc = proc_check(p);
  if (rc)
    return rc;
  uint64_t deadline;
  if ((rc = grove__begin_wait(p->hub, timeout, &deadline)) != 0)
    return rc;
  return wait_until(p, returncode, deadline);
}

int grove_subprocess_poll(grove_subprocess *p, int *returncode) {
  int rc = proc_check(p);
  if (rc)
    return rc;
  if (!p->exited)
    return GROVE_EAGAIN;
  if (returncode)
    *returncode = p->returncode;
  return 0;
}

int grove_subprocess_kill(grove_subprocess *p, int signum) {
  int rc = proc_check(p);
  if (rc)
    return rc;
  if (p->exited)
    return -ESRCH; /* reaped: the pid may belong to another process now */
  if (p->forked)
    return kill(p->pid, signum) == 0 ? 0 : -errno; /* not reaped yet: still ours */
  return uv_process_kill(&p->proc, signum);
}

/* ---- communicate --------------------------------------------------------------------------- */

typedef struct reader {
  grove_socket *s;
  char *buf;
  size_t len, cap;
  int rc;
  int abandoned; /* the caller left: the reader frees itself */
} reader;

static void *reader_run(void *arg) {
  reader *r = arg;
  for (;;) {
    if (r->cap - r->len < 4096) {
      size_t ncap = r->cap ? r->cap * 2 : 16384;
      char *nb = realloc(r->buf, ncap);
      if (!nb) {
        r->rc = GROVE_ENOMEM;
        break;
      }
      r->buf = nb;
      r->cap = ncap;
    }
    ssize_t n = grove_socket_read(r->s, r->buf + r->len, r->cap - r->len - 1, GROVE_FOREVER);
    if (n > 0) {
      r->len += (size_t)n;
      continue;
    }
    r->rc = (int)n; /* 0 at the end */
    break;
  }
  if (r->abandoned) {
    free(r->buf);
    free(r);
  }
  return NULL;
}

static void give_up_reader(grove_greenlet *g, reader *r) {
  if (!g)
    return;
  if (grove_ready(g)) {
    free(r->buf);
    free(r);
  } else {
    r->abandoned = 1;
    grove_kill_nowait(g);
    if (grove_ready(g)) {
      /* It had not started: killed, it never runs, so it cannot free r. */
      free(r->buf);
      free(r);
    }
  }
  grove_greenlet_release(g);
}

/* The pieces of communicate, kept apart for run / check_output, which
 * after a timeout kill the child and go on reading what it wrote. */
typedef struct comm {
  grove_greenlet *rg[2];
  reader *rd[2];
} comm;

/* A reader greenlet per output pipe. */
static int comm_start(grove_subprocess *p, comm *c) {
  memset(c, 0, sizeof *c);
  for (int i = 0; i < 2; i++) {
    grove_socket *s = p->pipes[i + 1];
    if (!s)
      continue;
    c->rd[i] = calloc(1, sizeof *c->rd[i]);
    grove_spawn_opts so = {.name = i == 0 ? "communicate-stdout" : "communicate-stderr"};
    if (!c->rd[i] || !(c->rg[i] = grove_spawn_ex(reader_run, c->rd[i], &so))) {
      free(c->rd[i]);
      c->rd[i] = NULL;
      return GROVE_ENOMEM;
    }
    c->rd[i]->s = s;
  }
  return 0;
}

/* Write the input, then close stdin (closed in any case). */
static int comm_feed(grove_subprocess *p, const void *input, size_t inlen, uint64_t deadline) {
  int rc = 0;
  if (!p->pipes[0])
    return 0;
  if (inlen > 0) {
    rc = grove_socket_write_all(p->pipes[0], input, inlen, NULL, grove__seconds_left(deadline));
    /* A child that exits without reading all of its input is not an error
     * (Popen.communicate ignores the broken pipe too). */
    if (rc == GROVE_EPIPE || rc == GROVE_ECONNRESET)
      rc = 0;
  }
  grove_socket_close(p->pipes[0]);
  p->pipes[0] = NULL;
  return rc;
}

/* Join the readers and wait for the exit. */
static int comm_finish(grove_subprocess *p, comm *c, uint64_t deadline) {
  for (int i = 0; i < 2; i++) {
    if (!c->rg[i])
      continue;
    int rc = grove_join(c->rg[i], grove__seconds_left(deadline));
    if (rc)
      return rc;
  }
  for (int i = 0; i < 2; i++)
    if (c->rd[i] && c->rd[i]->rc < 0 && c->rd[i]->rc != GROVE_ECONNRESET)
      return c->rd[i]->rc;
  return wait_until(p, NULL, deadline);
}

/* Hand over what the readers read (they have ended) and free them. */
static void comm_take(comm *c, char **out, size_t *outlen, char **err, size_t *errlen) {
  char **bufs[2] = {out, err};
  size_t *lens[2] = {outlen, errlen};
  for (int i = 0; i < 2; i++) {
    if (!c->rd[i])
      continue;
    c->rd[i]->buf[c->rd[i]->len] = 0; /* the reader always left room for it */
    if (bufs[i]) {
      *bufs[i] = c->rd[i]->buf;
      c->rd[i]->buf = NULL;
    }
    if (lens[i])
      *lens[i] = c->rd[i]->len;
    free(c->rd[i]->buf);
    free(c->rd[i]);
    grove_greenlet_release(c->rg[i]);
    c->rd[i] = NULL;
    c->rg[i] = NULL;
  }
}

static void comm_abandon(comm *c) {
  for (int i = 0; i < 2; i++)
    give_up_reader(c->rg[i], c->rd[i]);
}

static void out_clear(char **out, size_t *outlen, char **err, size_t *errlen) {
  if (out)
    *out = NULL;
  if (outlen)
    *outlen = 0;
  if (err)
    *err = NULL;
  if (errlen)
    *errlen = 0;
}

int grove_subprocess_communicate(grove_subprocess *p, const void *input, size_t inlen, char **out,
                                 size_t *outlen, char **err, size_t *errlen, double timeout) {
  out_clear(out, outlen, err, errlen);
  int rc = proc_check(p);
  if (rc)
    return rc;
  if (inlen > 0 && !input)
    return GROVE_EINVAL;
  if (inlen > 0 && !p->pipes[0])
    return GROVE_EINVAL; /* input, but stdin is not a pipe */
  grove_hub *hub = p->hub;
  uint64_t deadline;
  if ((rc = grove__begin_wait(hub, timeout, &deadline)) != 0)
    return rc;
  /* It runs reader greenlets and waits for them, even with a timeout of 0:
   * the hub cannot do that. */
  if (grove__in_hub(hub))
    return GROVE_EPERM;
  comm c;
  if ((rc = comm_start(p, &c)) == 0 && (rc = comm_feed(p, input, inlen, deadline)) == 0 &&
      (rc = comm_finish(p, &c, deadline)) == 0) {
    comm_take(&c, out, outlen, err, errlen);
    return 0;
  }
  comm_abandon(&c);
  return rc;
}

/* ---- run and check_output (subprocess.run, subprocess.check_output) ------------------- */

/* subprocess.run: Popen, communicate(input, timeout); on TimeoutExpired,
 * kill() and communicate() again, so that what the child wrote is kept;
 * on any other failure, kill() and wait(). */
static int run(const grove_subprocess_opts *opts, const void *input, size_t inlen, double timeout,
               int check, int *returncode, char **out, size_t *outlen, char **err, size_t *errlen) {
  out_clear(out, outlen, err, errlen);
  if (returncode)
    *returncode = 0;
  if (!opts || (inlen > 0 && !input) || isnan(timeout))
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  uint64_t deadline;
  int rc = grove__begin_wait(hub, timeout, &deadline);
  if (rc)
    return rc;
  if (grove__in_hub(hub))
    return GROVE_EPERM;
  grove_subprocess_opts o = *opts;
  if (input)
    o.stdin_mode = GROVE_STDIO_PIPE; /* input= means stdin=PIPE */
  grove_subprocess *p;
  if ((rc = grove_subprocess_spawn(&o, &p)) != 0)
    return rc;
  comm c;
  if ((rc = comm_start(p, &c)) == 0) {
    rc = comm_feed(p, input, inlen, deadline);
    if (rc == 0)
      rc = comm_finish(p, &c, deadline);
    if (rc == GROVE_ETIMEDOUT && !grove__cancelled(grove__current(hub))) {
      /* TimeoutExpired: kill it, read the rest, reap it. */
      grove_subprocess_kill(p, SIGKILL);
      if (p->pipes[0]) {
        grove_socket_close(p->pipes[0]);
        p->pipes[0] = NULL;
      }
      int rc2 = comm_finish(p, &c, UINT64_MAX);
      if (rc2 != 0)
        rc = rc2;
    }
  }
  if (rc == 0 || rc == GROVE_ETIMEDOUT) {
    comm_take(&c, out, outlen, err, errlen);
    if (p->exited && returncode)
      *returncode = p->returncode;
    if (rc == 0 && check && p->returncode != 0)
      rc = GROVE_ESTATUS;
  } else {
    comm_abandon(&c);
  }
  grove_subprocess_free(p); /* kills and reaps a child still running */
  return rc;
}

int grove_subprocess_run(const grove_subprocess_opts *opts, const void *input, size_t inlen,
                         double timeout, int flags, grove_subprocess_result *res) {
  if (!res || (flags & ~GROVE_SUBPROCESS_CHECK))
    return GROVE_EINVAL;
  memset(res, 0, sizeof *res);
  return run(opts, input, inlen, timeout, flags & GROVE_SUBPROCESS_CHECK, &res->returncode,
             &res->out, &res->outlen, &res->err, &res->errlen);
}

void grove_subprocess_result_free(grove_subprocess_result *res) {
  if (!res)
    return;
  free(res->out);
  free(res->err);
  res->out = res->err = NULL;
  res->outlen = res->errlen = 0;
}

int grove_subprocess_check_output(const grove_subprocess_opts *opts, const void *input,
                                  size_t inlen, char **out, size_t *outlen, int *returncode,
                                  double timeout) {
  if (!opts || !out)
    return GROVE_EINVAL;
  grove_subprocess_opts o = *opts;
  o.stdout_mode = GROVE_STDIO_PIPE;
  char *err = NULL;
  int rc = run(&o, input, inlen, timeout, 1, returncode, out, outlen, &err, NULL);
  free(err); /* only with stderr_mode GROVE_STDIO_PIPE: not part of the result */
  return rc;
}

/* ---- freeing ----------------------------------------------------------------------- */

void grove_subprocess_free(grove_subprocess *p) {
  if (!p)
    return;
  int rc = proc_check(p);
  if (rc) {
    grove__misuse("grove_subprocess_free", rc);
    return;
  }
  grove_hub *hub = p->hub;
  p->magic = 0;
  grove__obj_remove(hub, GROVE__OBJ_PROC);
  for (int i = 0; i < 3; i++) {
    grove_socket_close(p->pipes[i]);
    p->pipes[i] = NULL;
  }
  /* Waiters are woken after the state is final; they must not touch p. */
  if (p->exited) {
    close_handle(p);
  } else {
    p->orphan = 1;
    if (p->forked)
      kill(p->pid, SIGKILL);
    else
      uv_process_kill(&p->proc, SIGKILL);
    add_orphan(p);
  }
  grove__wake_all(&p->waiters, GROVE_ECLOSED);
}
