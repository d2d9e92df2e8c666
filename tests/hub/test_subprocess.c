/* tests/hub/test_subprocess.c - child processes (gevent.subprocess).
 *
 * The suite runs twice (ctest hub/test_subprocess and
 * hub/test_subprocess_die_with_parent): with children spawned by libuv,
 * and with GROVE_TEST_DIE_WITH_PARENT=1, forked by grove with
 * die_with_parent set - every case must behave the same. */
#include "test.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int die_mode; /* every spawn of the suite sets die_with_parent to this */

/* The middle process of test_die_with_parent (this program again, with
 * GROVE_TEST_SUBPROCESS_MIDDLE=0 or 1): spawns `sleep 30` with
 * die_with_parent as given, stops it at once (SIGSTOP: it is frozen before
 * it could do anything itself), prints its pid and waits to be killed. */
static void middle(int die) {
  const char *argv[] = {"sleep", "30", NULL};
  grove_subprocess_opts o = {.argv = argv, .die_with_parent = die};
  grove_subprocess *p;
  if (grove_subprocess_spawn(&o, &p) != 0)
    _exit(3);
  kill(grove_subprocess_pid(p), SIGSTOP);
  printf("%d\n", grove_subprocess_pid(p));
  fflush(stdout);
  grove_sleep(60);
  _exit(4);
}

static char
    self_path[4096]; /* this program (argv[0]: under valgrind, /proc/self/exe is valgrind) */

/* glibc passes constructors main's arguments. */
__attribute__((constructor)) static void setup(int argc, char **argv) {
  if (argc > 0 && argv && argv[0] && !realpath(argv[0], self_path))
    self_path[0] = 0;
  const char *m = getenv("GROVE_TEST_SUBPROCESS_MIDDLE");
  if (m)
    middle(atoi(m));
  die_mode = getenv("GROVE_TEST_DIE_WITH_PARENT") != NULL;
}

static grove_subprocess *start(const char *const *argv, int in, int out, int err) {
  grove_subprocess_opts o = {.argv = argv,
                             .stdin_mode = in,
                             .stdout_mode = out,
                             .stderr_mode = err,
                             .die_with_parent = die_mode};
  grove_subprocess *p = NULL;
  int rc = grove_subprocess_spawn(&o, &p);
  CHECK_EQ(rc, 0);
  return p;
}

static void test_echo(void) {
  const char *argv[] = {"/bin/sh", "-c", "echo hello; echo oops >&2", NULL};
  grove_subprocess *p = start(argv, GROVE_STDIO_DEVNULL, GROVE_STDIO_PIPE, GROVE_STDIO_PIPE);
  CHECK(grove_subprocess_pid(p) > 0);
  CHECK(grove_subprocess_stdin(p) == NULL);
  CHECK(grove_subprocess_stdout(p) != NULL);
  char *out = NULL, *err = NULL;
  size_t outlen = 0, errlen = 0;
  CHECK_EQ(grove_subprocess_communicate(p, NULL, 0, &out, &outlen, &err, &errlen, 5.0), 0);
  CHECK_STR(out, "hello\n");
  CHECK_EQ(outlen, 6);
  CHECK_STR(err, "oops\n");
  CHECK_EQ(errlen, 5);
  int code = -1;
  CHECK_EQ(grove_subprocess_poll(p, &code), 0);
  CHECK_EQ(code, 0);
  CHECK_EQ(grove_subprocess_wait(p, &code, 0), 0);
  CHECK_EQ(code, 0);
  free(out);
  free(err);
  grove_subprocess_free(p);
}

/* argv, env and cwd reach the child. */
static void test_argv_env_cwd(void) {
  const char *argv[] = {"sh",   "-c",      "printf '%s|%s|%s|' \"$0\" \"$1\" \"$GROVE_T\"; pwd",
                        "zero", "one two", NULL};
  const char *env[] = {"GROVE_T=value=x", "PATH=/usr/bin:/bin", NULL};
  grove_subprocess_opts o = {
      .argv = argv, .env = env, .cwd = "/tmp", .stdout_mode = GROVE_STDIO_PIPE};
  grove_subprocess *p = NULL;
  CHECK_EQ(grove_subprocess_spawn(&o, &p), 0);
  char *out = NULL;
  CHECK_EQ(grove_subprocess_communicate(p, NULL, 0, &out, NULL, NULL, NULL, 5.0), 0);
  CHECK_STR(out, "zero|one two|value=x|/tmp\n");
  free(out);
  grove_subprocess_free(p);
}

/* stdin -> cat -> stdout, by hand with the socket calls. */
static void test_cat_roundtrip(void) {
  const char *argv[] = {"cat", NULL};
  grove_subprocess *p = start(argv, GROVE_STDIO_PIPE, GROVE_STDIO_PIPE, GROVE_STDIO_INHERIT);
  grove_socket *in = grove_subprocess_stdin(p), *out = grove_subprocess_stdout(p);
  CHECK_EQ(grove_socket_write_all(in, "ping\n", 5, NULL, 5.0), 0);
  char line[64];
  CHECK_EQ(grove_socket_read_line(out, line, sizeof line, 5.0), 5);
  CHECK_STR(line, "ping\n");
  CHECK_EQ(grove_socket_write_all(in, "pong\n", 5, NULL, 5.0), 0);
  CHECK_EQ(grove_socket_read_line(out, line, sizeof line, 5.0), 5);
  CHECK_STR(line, "pong\n");
  CHECK_EQ(grove_socket_shutdown(in, SHUT_WR), 0); /* cat sees the end */
  CHECK_EQ(grove_socket_read(out, line, sizeof line, 5.0), 0);
  int code = -1;
  CHECK_EQ(grove_subprocess_wait(p, &code, 5.0), 0);
  CHECK_EQ(code, 0);
  grove_subprocess_free(p);
}

/* 1 MiB through cat: far more than a socket buffer, so the input is only
 * all written because the output is read at the same time. */
static void test_communicate_large(void) {
  enum { N = 1 << 20 };
  char *input = malloc(N);
  for (size_t i = 0; i < N; i++)
    input[i] = (char)('a' + i % 26);
  const char *argv[] = {"cat", NULL};
  grove_subprocess *p = start(argv, GROVE_STDIO_PIPE, GROVE_STDIO_PIPE, GROVE_STDIO_PIPE);
  char *out = NULL, *err = NULL;
  size_t outlen = 0, errlen = 1;
  CHECK_EQ(grove_subprocess_communicate(p, input, N, &out, &outlen, &err, &errlen, 10.0), 0);
  CHECK_EQ(outlen, N);
  CHECK(out && memcmp(out, input, N) == 0 && out[N] == 0);
  CHECK_EQ(errlen, 0);
  CHECK_STR(err, "");
  int code = -1;
  CHECK_EQ(grove_subprocess_poll(p, &code), 0);
  CHECK_EQ(code, 0);
  free(out);
  free(err);
  free(input);
  grove_subprocess_free(p);
}

/* communicate times out and leaves the child running; kill it. */
static void test_communicate_timeout_then_kill(void) {
  const char *argv[] = {"sleep", "5", NULL};
  grove_subprocess *p = start(argv, GROVE_STDIO_PIPE, GROVE_STDIO_PIPE, GROVE_STDIO_PIPE);
  char *out = (char *)1;
  double t0 = test_now();
  CHECK_EQ(grove_subprocess_communicate(p, NULL, 0, &out, NULL, NULL, NULL, 0.2), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.15 && dt < 2.0);
  CHECK(out == NULL);
  int code = 1;
  CHECK_EQ(grove_subprocess_poll(p, &code), GROVE_EAGAIN);
  CHECK_EQ(grove_subprocess_wait(p, &code, 0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_subprocess_kill(p, SIGKILL), 0);
  CHECK_EQ(grove_subprocess_wait(p, &code, 5.0), 0);
  CHECK_EQ(code, -SIGKILL);
  CHECK_EQ(code, -9);
  CHECK(test_now() - t0 < 2.0);
  CHECK(grove_subprocess_kill(p, SIGTERM) < 0); /* reaped */
  grove_subprocess_free(p);
}

static void test_not_found(void) {
  const char *argv[] = {"/nonexistent/grove-no-such-program", NULL};
  grove_subprocess_opts o = {
      .argv = argv, .stdout_mode = GROVE_STDIO_PIPE, .die_with_parent = die_mode};
  grove_subprocess *p = (grove_subprocess *)1;
  CHECK_EQ(grove_subprocess_spawn(&o, &p), GROVE_ENOENT);
  CHECK(p == NULL);
  const char *argv2[] = {"grove-no-such-program-in-path", NULL};
  o.argv = argv2;
  CHECK_EQ(grove_subprocess_spawn(&o, &p), GROVE_ENOENT);
  /* bad arguments */
  CHECK_EQ(grove_subprocess_spawn(NULL, &p), GROVE_EINVAL);
  grove_subprocess_opts empty = {0};
  CHECK_EQ(grove_subprocess_spawn(&empty, &p), GROVE_EINVAL);
  const char *sh[] = {"sh", "-c", "true", NULL};
  grove_subprocess_opts bad = {
      .argv = sh, .stdout_mode = GROVE_STDIO_STDOUT, .die_with_parent = die_mode};
  CHECK_EQ(grove_subprocess_spawn(&bad, &p), GROVE_EINVAL);
  bad.stdout_mode = 42;
  CHECK_EQ(grove_subprocess_spawn(&bad, &p), GROVE_EINVAL);
}

static void test_exit_status(void) {
  const char *argv[] = {"sh", "-c", "exit 3", NULL};
  grove_subprocess *p = start(argv, GROVE_STDIO_INHERIT, GROVE_STDIO_INHERIT, GROVE_STDIO_INHERIT);
  int code = 0;
  CHECK_EQ(grove_subprocess_wait(p, &code, 5.0), 0);
  CHECK_EQ(code, 3);
  CHECK_EQ(grove_subprocess_wait(p, NULL, 5.0), 0); /* again: at once */
  grove_subprocess_free(p);
  /* killed by a signal: -N */
  const char *argv2[] = {"sh", "-c", "kill -TERM $$", NULL};
  p = start(argv2, GROVE_STDIO_INHERIT, GROVE_STDIO_INHERIT, GROVE_STDIO_INHERIT);
  CHECK_EQ(grove_subprocess_wait(p, &code, 5.0), 0);
  CHECK_EQ(code, -SIGTERM);
  grove_subprocess_free(p);
}

/* stderr into stdout, stdin from /dev/null. */
static void test_stderr_to_stdout(void) {
  const char *argv[] = {"sh", "-c", "echo out; echo err >&2; cat", NULL};
  grove_subprocess *p = start(argv, GROVE_STDIO_DEVNULL, GROVE_STDIO_PIPE, GROVE_STDIO_STDOUT);
  CHECK(grove_subprocess_stderr(p) == NULL);
  char *out = NULL, *err = (char *)1;
  size_t errlen = 1;
  CHECK_EQ(grove_subprocess_communicate(p, NULL, 0, &out, NULL, &err, &errlen, 5.0), 0);
  CHECK_STR(out, "out\nerr\n");
  CHECK(err == NULL);
  CHECK_EQ(errlen, 0);
  free(out);
  grove_subprocess_free(p);
}

/* A child that exits without reading its input: no GROVE_EPIPE, no
 * SIGPIPE (grove ignores it). */
static void test_input_to_dead_child(void) {
  const char *argv[] = {"sh", "-c", "exit 0", NULL};
  grove_subprocess *p = start(argv, GROVE_STDIO_PIPE, GROVE_STDIO_PIPE, GROVE_STDIO_INHERIT);
  enum { N = 4 << 20 };
  char *input = calloc(1, N);
  CHECK_EQ(grove_subprocess_communicate(p, input, N, NULL, NULL, NULL, NULL, 5.0), 0);
  int code = -1;
  CHECK_EQ(grove_subprocess_poll(p, &code), 0);
  CHECK_EQ(code, 0);
  free(input);
  grove_subprocess_free(p);
}

static int cron_count;

static void *cron(void *arg) {
  (void)arg;
  for (;;) {
    cron_count++;
    test_log("cron");
    if (grove_sleep(0.1) != 0)
      return NULL;
  }
}

/* The seed example: gevent.subprocess lets a "cron" greenlet keep running
 * while the child works:
 *   g = gevent.spawn(cron)
 *   sub = Popen(['sleep 0.5; uname'], stdout=PIPE, shell=True)
 *   out, err = sub.communicate(); g.kill(); print(out.rstrip()) */
static void test_seed_cron(void) {
  cron_count = 0;
  grove_greenlet *g = grove_spawn(cron, NULL);
  const char *argv[] = {"/bin/sh", "-c", "sleep 0.5; uname", NULL};
  grove_subprocess *p = start(argv, GROVE_STDIO_INHERIT, GROVE_STDIO_PIPE, GROVE_STDIO_INHERIT);
  char *out = NULL;
  CHECK_EQ(grove_subprocess_communicate(p, NULL, 0, &out, NULL, NULL, NULL, 5.0), 0);
  CHECK_EQ(grove_kill(g, 1.0), 0);
  CHECK(cron_count >= 3);
  CHECK(out && strlen(out) > 1 && out[strlen(out) - 1] == '\n');
#ifdef __linux__
  CHECK_STR(out, "Linux\n");
#endif
  free(out);
  grove_greenlet_release(g);
  grove_subprocess_free(p);
}

static grove_subprocess *shared_p;

static void *proc_waiter(void *arg) {
  (void)arg;
  int code = 0;
  int rc = grove_subprocess_wait(shared_p, &code, GROVE_FOREVER);
  test_log("wait=%s", grove_err_name(rc));
  return NULL;
}

static void *proc_communicator(void *arg) {
  (void)arg;
  char *out = NULL;
  int rc = grove_subprocess_communicate(shared_p, NULL, 0, &out, NULL, NULL, NULL, GROVE_FOREVER);
  test_log("communicate=%s", grove_err_name(rc));
  free(out);
  return NULL;
}

/* Killing the waiting greenlet: GROVE_ECANCELED; the child runs on. */
static void test_kill_waiter(void) {
  const char *argv[] = {"sleep", "5", NULL};
  shared_p = start(argv, GROVE_STDIO_PIPE, GROVE_STDIO_PIPE, GROVE_STDIO_INHERIT);
  grove_greenlet *w = grove_spawn(proc_waiter, NULL);
  grove_greenlet *c = grove_spawn(proc_communicator, NULL);
  CHECK_EQ(grove_sleep(0.05), 0);
  double t0 = test_now();
  CHECK_EQ(grove_kill(w, 1.0), 0);
  CHECK_EQ(grove_kill(c, 1.0), 0);
  CHECK(test_now() - t0 < 0.5);
  CHECK_LOG("wait=GROVE_ECANCELED communicate=GROVE_ECANCELED");
  CHECK_EQ(grove_subprocess_poll(shared_p, NULL), GROVE_EAGAIN);
  grove_greenlet_release(w);
  grove_greenlet_release(c);
  CHECK_EQ(grove_subprocess_kill(shared_p, SIGKILL), 0);
  CHECK_EQ(grove_subprocess_wait(shared_p, NULL, 5.0), 0);
  grove_subprocess_free(shared_p);
}

/* A caller already killed, or one whose deadline has passed: the call fails
 * at its start and nothing leaks (the readers never started). */
static void *killed_communicator(void *arg) {
  (void)arg;
  CHECK_EQ(grove_kill(grove_current(), 0), GROVE_ECANCELED);
  char *out = NULL;
  int rc = grove_subprocess_communicate(shared_p, NULL, 0, &out, NULL, NULL, NULL, 5.0);
  test_log("communicate=%s", grove_err_name(rc));
  CHECK(out == NULL);
  return NULL;
}

static void test_communicate_early_failures(void) {
  const char *argv[] = {"cat", NULL};
  shared_p = start(argv, GROVE_STDIO_PIPE, GROVE_STDIO_PIPE, GROVE_STDIO_PIPE);
  grove_greenlet *g = grove_spawn(killed_communicator, NULL);
  CHECK_EQ(grove_join(g, 1.0), 0);
  grove_greenlet_release(g);
  CHECK_LOG("communicate=GROVE_ECANCELED");
  /* An expired scoped deadline: the call fails before it starts (the
   * blocking gate), so nothing changed: stdin is still open. */
  grove_timeout *t = grove_timeout_start(0);
  CHECK_EQ(grove_sleep(0.01), GROVE_ETIMEDOUT); /* a scope of 0 s expires at the next poll */
  char *out = NULL;
  CHECK_EQ(grove_subprocess_communicate(shared_p, NULL, 0, &out, NULL, NULL, NULL, 5.0),
           GROVE_ETIMEDOUT);
  CHECK_EQ(grove_timeout_cancel(t), 0);
  CHECK(out == NULL);
  CHECK(grove_subprocess_stdin(shared_p) != NULL);
  /* Communicating closes stdin: cat ends, its output is read to the end. */
  CHECK_EQ(grove_subprocess_communicate(shared_p, NULL, 0, &out, NULL, NULL, NULL, 5.0), 0);
  CHECK_STR(out, "");
  free(out);
  out = NULL;
  CHECK(grove_subprocess_stdin(shared_p) == NULL);
  /* bad arguments */
  CHECK_EQ(grove_subprocess_communicate(NULL, NULL, 0, NULL, NULL, NULL, NULL, 1.0), GROVE_EINVAL);
  CHECK_EQ(grove_subprocess_communicate(shared_p, NULL, 5, NULL, NULL, NULL, NULL, 1.0),
           GROVE_EINVAL);
  CHECK_EQ(grove_subprocess_communicate(shared_p, NULL, 0, NULL, NULL, NULL, NULL, NAN),
           GROVE_EINVAL);
  /* Input without a stdin pipe (it was closed) */
  CHECK_EQ(grove_subprocess_communicate(shared_p, "abc", 3, &out, NULL, NULL, NULL, 5.0),
           GROVE_EINVAL);
  /* Still usable: cat has ended, its output is read to the end. */
  CHECK_EQ(grove_subprocess_communicate(shared_p, NULL, 0, &out, NULL, NULL, NULL, 5.0), 0);
  CHECK_STR(out, "");
  free(out);
  grove_subprocess_free(shared_p);
}

/* Several waiters are all woken, in the order they waited. */
static void *named_waiter(void *arg) {
  int code = -1;
  int rc = grove_subprocess_wait(shared_p, &code, 5.0);
  test_log("w%d=%s,%d", IVAL(arg), grove_err_name(rc), code);
  return NULL;
}

static void test_several_waiters(void) {
  const char *argv[] = {"sh", "-c", "sleep 0.05; exit 7", NULL};
  shared_p = start(argv, GROVE_STDIO_INHERIT, GROVE_STDIO_INHERIT, GROVE_STDIO_INHERIT);
  grove_greenlet *w[3];
  for (int i = 0; i < 3; i++)
    w[i] = grove_spawn(named_waiter, IARG(i + 1));
  CHECK_EQ(grove_joinall(w, 3, 5.0), 0);
  CHECK_LOG("w1=GROVE_OK,7 w2=GROVE_OK,7 w3=GROVE_OK,7");
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(w[i]);
  grove_subprocess_free(shared_p);
}

/* Freeing a running child kills it; greenlets waiting on it wake with
 * GROVE_ECLOSED; the hub closes without a leak or a zombie. */
static void test_free_running(void) {
  const char *argv[] = {"sleep", "5", NULL};
  shared_p = start(argv, GROVE_STDIO_PIPE, GROVE_STDIO_PIPE, GROVE_STDIO_PIPE);
  grove_greenlet *w = grove_spawn(proc_waiter, NULL);
  CHECK_EQ(grove_sleep(0.02), 0);
  double t0 = test_now();
  grove_subprocess_free(shared_p);
  CHECK_EQ(grove_join(w, 1.0), 0);
  CHECK_LOG("wait=GROVE_ECLOSED");
  grove_greenlet_release(w);
  /* The reaping happens in the background (or at grove_hub_close). */
  CHECK(test_now() - t0 < 1.0);
}

/* ... also when the hub is closed at once, before the loop ran again. */
static void test_free_running_then_close(void) {
  const char *argv[] = {"sleep", "5", NULL};
  grove_subprocess *p = start(argv, GROVE_STDIO_INHERIT, GROVE_STDIO_INHERIT, GROVE_STDIO_INHERIT);
  int pid = grove_subprocess_pid(p);
  grove_subprocess_free(p);
  CHECK_EQ(grove_hub_close(), 0);
  CHECK(kill(pid, 0) != 0); /* reaped: no such process (not even a zombie) */
}

/* An object not freed keeps grove_hub_close from succeeding. */
static void test_leak_reported(void) {
  const char *argv[] = {"true", NULL};
  grove_subprocess *p = start(argv, GROVE_STDIO_INHERIT, GROVE_STDIO_INHERIT, GROVE_STDIO_INHERIT);
  CHECK_EQ(grove_subprocess_wait(p, NULL, 5.0), 0);
  CHECK_EQ(grove_hub_close(), GROVE_EBUSY);
  grove_subprocess_free(p);
}

/* A child spawned with die_with_parent dies with its parent's SIGKILL, even
 * frozen (SIGSTOP) from its first moment; one spawned without outlives it.
 * This process is the subreaper, so the orphan comes back to it and its end
 * can be read. */
static void test_die_with_parent(void) {
  CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  for (int die = 0; die <= 1; die++) {
    char role[64];
    snprintf(role, sizeof role, "GROVE_TEST_SUBPROCESS_MIDDLE=%d", die);
    const char *env[] = {role, "PATH=/usr/bin:/bin", NULL};
    const char *argv[] = {self_path[0] ? self_path : "/proc/self/exe", NULL};
    grove_subprocess_opts o = {.argv = argv, .env = env, .stdout_mode = GROVE_STDIO_PIPE};
    grove_subprocess *mid = NULL;
    CHECK_EQ(grove_subprocess_spawn(&o, &mid), 0);
    char line[32] = "";
    CHECK(grove_socket_read_line(grove_subprocess_stdout(mid), line, sizeof line, 10) > 0);
    pid_t g = (pid_t)atoi(line);
    CHECK(g > 0);
    if (g <= 0) { /* no grandchild to look for (and kill(0) would be ours) */
      grove_subprocess_kill(mid, SIGKILL);
      grove_subprocess_wait(mid, NULL, 10);
      grove_subprocess_free(mid);
      break;
    }
    CHECK_EQ(grove_subprocess_kill(mid, SIGKILL), 0);
    int code = 0;
    CHECK_EQ(grove_subprocess_wait(mid, &code, 10), 0);
    CHECK_EQ(code, -SIGKILL);
    grove_subprocess_free(mid);
    /* The grandchild, now ours: killed within moments, or still there. */
    int st = 0, got = 0;
    double t0 = test_now();
    while (test_now() - t0 < (die ? 5.0 : 0.5)) {
      pid_t r = waitpid(g, &st, WNOHANG);
      if (r == g) {
        got = 1;
        break;
      }
      if (r != 0) {
        CHECK(r == 0);
        break;
      }
      grove_sleep(0.01);
    }
    if (die) {
      CHECK(got);
      CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
      printf("     die_with_parent: the frozen child was SIGKILLed %.3f s after its parent\n",
             test_now() - t0);
    } else {
      CHECK(!got); /* the window the option closes: it outlived its parent */
      kill(g, SIGKILL);
      CHECK_EQ(waitpid(g, &st, 0), g);
    }
  }
  CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

TEST_MAIN(TEST(test_echo), TEST(test_argv_env_cwd), TEST(test_cat_roundtrip),
          TEST(test_communicate_large), TEST(test_communicate_timeout_then_kill),
          TEST(test_not_found), TEST(test_exit_status), TEST(test_stderr_to_stdout),
          TEST(test_input_to_dead_child), TEST(test_seed_cron), TEST(test_kill_waiter),
          TEST(test_communicate_early_failures), TEST(test_several_waiters),
          TEST(test_free_running), TEST(test_free_running_then_close), TEST(test_leak_reported),
          TEST(test_die_with_parent))
