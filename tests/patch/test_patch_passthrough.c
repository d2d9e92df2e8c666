/* tests/patch/test_patch_passthrough.c - where there is no hub, the patch
 * is not there.
 *
 * With grove-patch linked in, the same blocking calls made on threads that
 * have no grove hub - the main thread before it ever calls grove, and plain
 * pthreads while the main thread's greenlets use the patch - behave as
 * libc's: a read on an empty blocking pipe blocks the thread until another
 * thread writes, sleeps sleep the thread, and no call takes the
 * cooperative path (the patch's counters do not move) or creates a hub.
 *
 * Not the test.h harness: its per-case hub checks would create the very
 * hub this test must not have. */
#include "test.h"

#include <grove/patch.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sys/select.h>
#include <sys/socket.h>

TEST_WATCHDOG(60)

static uint64_t calls(void) {
  grove_patch_stats st;
  grove_patch_get_stats(&st);
  return st.calls;
}

typedef struct {
  int fd;
  double delay;
} late_arg;

static void *late_write_thread(void *arg) {
  late_arg *a = arg;
  struct timespec ts = {0, (long)(a->delay * 1e9)};
  nanosleep(&ts, NULL);
  if (write(a->fd, "x", 1) != 1)
    abort();
  return NULL;
}

/* The calls of one thread without a hub. With arg set, other threads may
 * use the patch meanwhile, so its (process-wide) counters are not
 * checked. */
static void *plain_calls(void *arg) {
  CHECK(!grove_may_block());
  uint64_t c0 = calls();

  /* A blocking read waits for the writer thread: the thread blocks. */
  int p[2];
  CHECK_EQ(pipe(p), 0);
  late_arg la = {p[1], 0.05};
  pthread_t w;
  CHECK_EQ(pthread_create(&w, NULL, late_write_thread, &la), 0);
  char c;
  double t0 = test_now();
  CHECK_EQ(read(p[0], &c, 1), 1);
  CHECK(test_now() - t0 >= 0.04);
  CHECK_EQ(pthread_join(w, NULL), 0);
  CHECK(!(fcntl(p[0], F_GETFL) & O_NONBLOCK));

  /* Sleeps, poll, select with timeouts: the thread's own time. */
  t0 = test_now();
  CHECK_EQ(usleep(20000), 0);
  struct timespec ts = {0, 20000000L};
  CHECK_EQ(nanosleep(&ts, NULL), 0);
  CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL), 0);
  struct pollfd pf = {p[0], POLLIN, 0};
  CHECK_EQ(poll(&pf, 1, 20), 0);
  struct timeval tv = {0, 20000};
  CHECK_EQ(select(0, NULL, NULL, NULL, &tv), 0);
  CHECK(test_now() - t0 >= 0.095);

  /* Errors as libc's (this is libc). */
  errno = 0;
  CHECK_EQ(read(-1, &c, 1), -1);
  CHECK_EQ(errno, EBADF);
  errno = 0;
  CHECK_EQ(recv(p[0], &c, 1, 0), -1);
  CHECK_EQ(errno, ENOTSOCK);

  /* DNS on the thread itself. */
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
  CHECK_EQ(getaddrinfo("localhost", "80", &hints, &res), 0);
  if (res)
    freeaddrinfo(res);
  CHECK(gethostbyname("localhost") != NULL);

  close(p[0]);
  close(p[1]);
  if (!arg)
    CHECK_EQ(calls(), c0);
  CHECK(!grove_may_block());
  return NULL;
}

static void *greenlet_sleeper(void *arg) {
  (void)arg;
  usleep(200000); /* cooperative: this thread has a hub */
  return NULL;
}

int main(void) {
  CHECK(grove_patch_active());
  /* 1. The main thread, before any grove call: no hub. */
  plain_calls(NULL);
  CHECK(grove_hub_default() == NULL); /* none was created */

  /* 2. A pthread, with no hub anywhere. */
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, plain_calls, NULL), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
  CHECK(grove_hub_default() == NULL);

  /* 3. A pthread while the main thread's greenlets use the patch: the
   * thread's calls still pass through, the greenlets' do not. */
  uint64_t c0 = calls();
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(greenlet_sleeper, NULL);
  CHECK_EQ(pthread_create(&t, NULL, plain_calls, "busy"), 0);
  double t0 = test_now();
  CHECK_EQ(grove_joinall(g, 3, 10), 0);
  CHECK(test_now() - t0 < 0.5); /* the three overlapped */
  CHECK_EQ(pthread_join(t, NULL), 0);
  CHECK(calls() - c0 >= 3);
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(g[i]);
  CHECK_EQ(grove_hub_close(), 0);

  printf("%s patch_passthrough\n", test__failed ? "FAIL" : "ok  ");
  return test__failed ? 1 : 0;
}
