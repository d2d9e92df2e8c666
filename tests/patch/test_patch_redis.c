/* tests/patch/test_patch_redis.c - hiredis' blocking API against a real
 * redis-server, from several greenlets at once.
 *
 * The test starts redis-server (grove_subprocess_spawn) in a temporary
 * directory, on a Unix socket there (no TCP port: --port 0), and waits
 * until it answers PING. Then:
 *   - 10 greenlets each open a connection and run BLPOP on a list of their
 *     own with a 0.3 s timeout: each blocks in hiredis' read() until the
 *     server answers nil. The waits overlap: about 0.3 s in all, not 3 s.
 *   - a consumer blocks in BLPOP while a producer greenlet, 0.1 s later,
 *     RPUSHes the value it waits for, on another connection of the same
 *     thread; a ticker greenlet runs meanwhile.
 *   - a greenlet blocked in BLPOP is killed: hiredis reports an I/O error
 *     whose errno is ECANCELED, and the greenlet goes on.
 * Then the server is shut down and the directory removed.
 *
 * Skipped (77) when built without hiredis (libhiredis-dev) or when
 * redis-server is not installed. */
#include "test.h"

#include <grove/patch.h>

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>

TEST_WATCHDOG(100)

#ifndef GROVE_HAVE_HIREDIS
int main(void) {
  printf("SKIP patch_redis: built without hiredis (install libhiredis-dev)\n");
  return 77;
}
#else
#include <hiredis/hiredis.h>

static char dir[64], sock_path[128];
static const char *server_bin;

static const char *find_server(void) {
  static char path[256];
  const char *env = getenv("PATH");
  char buf[4096];
  snprintf(buf, sizeof buf, "%s:/usr/bin:/usr/sbin", env ? env : "");
  for (char *save, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    snprintf(path, sizeof path, "%s/redis-server", d);
    if (access(path, X_OK) == 0)
      return path;
  }
  return NULL;
}

static redisContext *connect_server(void) {
  struct timeval tv = {5, 0};
  redisContext *c = redisConnectUnixWithTimeout(sock_path, tv);
  if (c && c->err) {
    redisFree(c);
    return NULL;
  }
  return c;
}

/* ---- BLPOPs that time out, side by side ------------------------------------------------------ */

typedef struct {
  int i;
  int nil;
  double took;
} pop_arg;

static void *blpop_timeout(void *arg) {
  pop_arg *a = arg;
  redisContext *c = connect_server();
  if (!c)
    return IARG(-1);
  double t0 = test_now();
  redisReply *r = redisCommand(c, "BLPOP grove:test:empty:%d 0.3", a->i);
  a->took = test_now() - t0;
  a->nil = r && r->type == REDIS_REPLY_NIL;
  if (r)
    freeReplyObject(r);
  redisFree(c);
  return NULL;
}

static void test_blpop_overlap(void) {
  enum { N = 10 };
  pop_arg args[N];
  grove_greenlet *g[N];
  double t0 = test_now();
  for (int i = 0; i < N; i++) {
    args[i] = (pop_arg){i, 0, 0};
    g[i] = grove_spawn(blpop_timeout, &args[i]);
  }
  CHECK_EQ(grove_joinall(g, N, 30), 0);
  double took = test_now() - t0;
  for (int i = 0; i < N; i++) {
    CHECK(grove_value(g[i]) == NULL);
    CHECK(args[i].nil);
    CHECK(args[i].took >= 0.25);
    grove_greenlet_release(g[i]);
  }
  printf("  %d BLPOPs with a 0.3 s timeout: %.3f s in all (one after another: %.1f s)\n", N, took,
         N * 0.3);
  CHECK(took >= 0.29 && took < 1.5);
}

/* ---- a producer wakes a consumer ---------------------------------------------------------------
 */

static int ticks, ticking;
static void *ticker(void *arg) {
  (void)arg;
  while (ticking && grove_sleep(0.005) == 0)
    ticks++;
  return NULL;
}

typedef struct {
  char value[32];
  double took;
} consume_arg;

static void *consumer(void *arg) {
  consume_arg *a = arg;
  redisContext *c = connect_server();
  if (!c)
    return IARG(-1);
  double t0 = test_now();
  redisReply *r = redisCommand(c, "BLPOP grove:test:queue 10");
  a->took = test_now() - t0;
  if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
    snprintf(a->value, sizeof a->value, "%s", r->element[1]->str);
  if (r)
    freeReplyObject(r);
  redisFree(c);
  return NULL;
}

static void *producer(void *arg) {
  (void)arg;
  redisContext *c = connect_server();
  if (!c)
    return IARG(-1);
  usleep(100000); /* patched too */
  redisReply *r = redisCommand(c, "RPUSH grove:test:queue %s", "the-value");
  int ok = r && r->type == REDIS_REPLY_INTEGER;
  if (r)
    freeReplyObject(r);
  redisFree(c);
  return ok ? NULL : IARG(-2);
}

static void test_producer_consumer(void) {
  ticks = 0;
  ticking = 1;
  grove_greenlet *t = grove_spawn(ticker, NULL);
  consume_arg ca = {"", 0};
  grove_greenlet *g[] = {grove_spawn(consumer, &ca), grove_spawn(producer, NULL)};
  CHECK_EQ(grove_joinall(g, 2, 30), 0);
  CHECK_STR(ca.value, "the-value");
  CHECK(ca.took >= 0.09 && ca.took < 5);
  CHECK(ticks >= 10);
  for (int i = 0; i < 2; i++) {
    CHECK(grove_value(g[i]) == NULL);
    grove_greenlet_release(g[i]);
  }
  ticking = 0;
  CHECK_EQ(grove_join(t, 5), 0);
  grove_greenlet_release(t);
}

/* ---- kill in the middle of a command
 * -------------------------------------------------------------- */

typedef struct {
  int err, saved_errno;
  int after_ok;
} killed_arg;

static void *killed_blpop(void *arg) {
  killed_arg *a = arg;
  redisContext *c = connect_server();
  if (!c)
    return IARG(-1);
  redisReply *r = redisCommand(c, "BLPOP grove:test:never 30");
  if (r)
    freeReplyObject(r);
  a->err = c->err;
  a->saved_errno = errno;
  redisFree(c);
  a->after_ok = 1; /* the greenlet goes on after the error */
  return NULL;
}

static void test_kill_in_command(void) {
  killed_arg a = {0, 0, 0};
  grove_greenlet *g = grove_spawn(killed_blpop, &a);
  CHECK_EQ(grove_sleep(0.1), 0);
  double t0 = test_now();
  CHECK_EQ(grove_kill(g, 5), 0);
  CHECK(test_now() - t0 < 1);
  CHECK_EQ(a.err, REDIS_ERR_IO);
  CHECK_EQ(a.saved_errno, ECANCELED);
  CHECK(a.after_ok);
  grove_greenlet_release(g);
}

/* ---- the server
 * ------------------------------------------------------------------------------------- */

static grove_subprocess *server;

static int server_start(void) {
  snprintf(dir, sizeof dir, "/tmp/grove-redis-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  snprintf(sock_path, sizeof sock_path, "%s/redis.sock", dir);
  const char *argv[] = {server_bin, "--port", "0", "--unixsocket", sock_path, "--dir",
                        dir,        "--save", "",  "--appendonly", "no",      "--daemonize",
                        "no",       NULL};
  grove_subprocess_opts o = {
      .argv = argv, .stdout_mode = GROVE_STDIO_DEVNULL, .stderr_mode = GROVE_STDIO_STDOUT};
  int rc = grove_subprocess_spawn(&o, &server);
  if (rc != 0)
    return rc;
  /* Up when it answers PING; bounded. */
  for (int i = 0; i < 500; i++) {
    redisContext *c = connect_server();
    if (c) {
      redisReply *r = redisCommand(c, "PING");
      int up = r && r->type == REDIS_REPLY_STATUS;
      if (r)
        freeReplyObject(r);
      redisFree(c);
      if (up)
        return 0;
    }
    int code;
    if (grove_subprocess_poll(server, &code) == 0)
      return -2; /* it exited */
    grove_sleep(0.02);
  }
  return -3;
}

static void server_stop(void) {
  if (server) {
    grove_subprocess_kill(server, SIGTERM);
    int code = 0;
    grove_subprocess_wait(server, &code, 10);
    grove_subprocess_free(server);
    server = NULL;
  }
  char path[256];
  const char *files[] = {"redis.sock", "dump.rdb"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

int main(int argc, char **argv) {
  if (!(server_bin = find_server())) {
    printf("SKIP patch_redis: redis-server not found (install redis-server)\n");
    return 77;
  }
  if (!grove_patch_active()) {
    printf("FAIL: the patch is not in effect\n");
    return 1;
  }
  int rc = server_start();
  if (rc != 0) {
    printf("FAIL: redis-server did not start (%d)\n", rc);
    server_stop();
    return 1;
  }
  static const test_case cases[] = {TEST(test_blpop_overlap), TEST(test_producer_consumer),
                                    TEST(test_kill_in_command)};
  /* test.h's harness closes the hub after each case, but the server's
   * subprocess object lives on this hub until the end: the cases run in
   * this loop instead, and the hub closes once, after the server stopped. */
  int fails = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
      continue;
    test__failed = 0;
    cases[i].fn();
    if (grove_hub_greenlet_count() != 0) {
      fprintf(stderr, "%s: greenlets left\n", cases[i].name);
      test__failed = 1;
    }
    printf("%s %s\n", test__failed ? "FAIL" : "ok  ", cases[i].name);
    fflush(stdout);
    fails += test__failed;
  }
  server_stop();
  if (grove_hub_close() != 0) {
    fprintf(stderr, "grove_hub_close failed\n");
    fails++;
  }
  return fails ? 1 : 0;
}
#endif
