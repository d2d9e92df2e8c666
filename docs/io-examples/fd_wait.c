/* fd_wait.c - waiting on a file descriptor: a pipe between two greenlets. */
#include <grove.h>
#include <stdio.h>
#include <unistd.h>

static int fds[2]; /* fds[0] reads, fds[1] writes */

static void *writer(void *arg) {
  grove_sleep(0.05); /* the reader waits meanwhile; the hub runs others */
  printf("writer: writing\n");
  if (write(fds[1], "hello", 5) != 5)
    printf("writer: write failed\n");
  return NULL;
}

static void *waiter(void *arg) {
  int rc = grove_wait_readable(fds[0], GROVE_FOREVER);
  printf("waiter: woke with %s\n", grove_err_name(rc));
  return NULL;
}

int main(void) {
  if (pipe(fds) != 0)
    return 1;
  /* Nothing to read yet: a poll (timeout 0) and a short wait both time out. */
  printf("poll: %s\n", grove_err_name(grove_wait_readable(fds[0], 0)));
  printf("wait 10 ms: %s\n", grove_err_name(grove_wait_readable(fds[0], 0.01)));

  grove_greenlet *w = grove_spawn(writer, NULL);
  int rc = grove_wait_readable(fds[0], 1.0); /* blocks main only */
  char buf[16];
  ssize_t n = read(fds[0], buf, sizeof buf); /* readable: read(2) will not block */
  printf("main: %s, read %zd bytes: %.*s\n", grove_err_name(rc), n, (int)n, buf);
  grove_join(w, GROVE_FOREVER);
  grove_greenlet_release(w);

  /* Before closing an fd others wait on, wake them: gevent's cancel_wait. */
  grove_greenlet *g = grove_spawn(waiter, NULL);
  grove_sleep(0.01);
  printf("cancel_wait woke %d greenlet(s)\n", grove_fd_cancel_wait(fds[0]));
  grove_join(g, GROVE_FOREVER);
  grove_greenlet_release(g);
  close(fds[0]);
  close(fds[1]);
  return grove_hub_close() == 0 ? 0 : 1;
}
