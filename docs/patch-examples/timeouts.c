/* timeouts.c - how a patched call ends early: SO_RCVTIMEO, a kill, a
 * scoped deadline, and an fd the program made non-blocking itself. */
#include <errno.h>
#include <fcntl.h>
#include <grove.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fds[2];

static void *reader(void *arg) {
  char buf[8];
  ssize_t n = read(fds[0], buf, sizeof buf); /* nobody writes */
  printf("killed reader: read returned %zd, errno %s\n", n, strerror(errno));
  return arg;
}

int main(void) {
  grove_current(); /* the thread's hub: from now on its calls are cooperative */
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);

  /* The socket's receive timeout bounds the wait, as in the kernel. */
  struct timeval tv = {0, 50000};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[8];
  ssize_t n = recv(sv[0], buf, sizeof buf, 0);
  printf("SO_RCVTIMEO: recv returned %zd, errno %s\n", n, n < 0 ? strerror(errno) : "-");

  /* A killed greenlet's call returns -1 with ECANCELED. */
  pipe(fds);
  grove_greenlet *g = grove_spawn(reader, NULL);
  grove_sleep(0.05);
  grove_kill(g, GROVE_FOREVER);
  grove_greenlet_release(g);

  /* A scoped deadline (grove_timeout_start): ETIMEDOUT. */
  grove_timeout *t = grove_timeout_start(0.05);
  n = read(fds[0], buf, sizeof buf);
  printf("scoped deadline: read returned %zd, errno %s\n", n, strerror(errno));
  grove_timeout_cancel(t);

  /* A descriptor the program made non-blocking stays so: EAGAIN at once. */
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  n = read(fds[0], buf, sizeof buf);
  printf("O_NONBLOCK: read returned %zd, errno %s\n", n, strerror(errno));

  close(sv[0]);
  close(sv[1]);
  close(fds[0]);
  close(fds[1]);
  return grove_hub_close() == 0 ? 0 : 1;
}
