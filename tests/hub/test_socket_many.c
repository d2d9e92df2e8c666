/* tests/hub/test_socket_many.c - 10,000 concurrent connections to one echo
 * StreamServer, in one process and one thread: 10k client greenlets and 10k
 * handler greenlets, all connections open at once, then all closed.
 *
 * Each connection costs two descriptors here (both ends live in this
 * process), so the case raises RLIMIT_NOFILE's soft limit to the hard one.
 * The second case runs the 10,000 clients in a child process (plain
 * blocking sockets: the child never touches grove) against the server here,
 * so it needs only one end per connection: it holds the full 10,000 where
 * the hard limit is too low for the first (20,000 here). */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

TEST_WATCHDOG(90)

#define WANTED 10000
#define CONNECTING_AT_ONCE 1000 /* under the listen backlog: no SYN retries */

static int nconn;                  /* connections this run makes */
static int connected, echoed, bad; /* client-side progress */
static size_t peak;                /* most handlers running at once */
static grove_event *all_connected; /* set when every client has its echo */
static grove_semaphore *connecting;
static grove_server *srv;

static void handler(grove_socket *conn, void *arg) {
  (void)arg;
  char line[64];
  ssize_t n = grove_socket_read_line(conn, line, sizeof line, 20.0);
  if (n <= 0 || grove_socket_write_all(conn, line, (size_t)n, NULL, 20.0) != 0) {
    bad++;
    return;
  }
  size_t now = grove_server_connections(srv);
  if (now > peak)
    peak = now;
  /* Stay until the client closes. */
  if (grove_socket_read_line(conn, line, sizeof line, 20.0) != 0)
    bad++;
}

static void *client(void *arg) {
  int id = (int)(intptr_t)arg;
  grove_socket *c = NULL;
  if (grove_semaphore_acquire(connecting, 20.0) != 0) {
    bad++;
    return NULL;
  }
  int rc = grove_tcp_connect("127.0.0.1", grove_server_port(srv), &c, 20.0);
  grove_semaphore_release(connecting);
  if (rc != 0) {
    if (bad++ == 0)
      fprintf(stderr, "client %d: connect: %s\n", id, grove_strerror(rc));
    return NULL;
  }
  connected++;
  char out[32], in[32];
  int len = snprintf(out, sizeof out, "hello %d\n", id);
  if (grove_socket_write_all(c, out, (size_t)len, NULL, 20.0) != 0 ||
      grove_socket_read_line(c, in, sizeof in, 20.0) != len || strcmp(in, out) != 0) {
    bad++;
  } else if (++echoed == nconn) {
    grove_event_set(all_connected);
  }
  /* Hold the connection until every client has its echo. */
  if (grove_event_wait(all_connected, 30.0) != 0)
    bad++;
  grove_socket_close(c);
  return NULL;
}

static int raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur > 1000000 ? 1000000 : (int)rl.rlim_cur;
}

static void test_ten_thousand_connections(void) {
  int limit = raise_fd_limit();
  nconn = WANTED;
  if (limit < 2 * WANTED + 5000) {
    nconn = (limit - 200) / 2;
    fprintf(stderr,
            "test_socket_many: RLIMIT_NOFILE hard limit is %d (< 25000): scaled down to %d "
            "connections\n",
            limit, nconn);
  }
  if (RUNNING_ON_VALGRIND && nconn > 1000) {
    nconn = 1000;
    fprintf(stderr, "test_socket_many: under valgrind: scaled down to %d connections\n", nconn);
  }
  CHECK(nconn > 100);
  double t0 = test_now();
  grove_socket *ls;
  CHECK_EQ(grove_tcp_listen("127.0.0.1", 0, 0, &ls), 0);
  CHECK_EQ(grove_stream_server_new(ls, handler, NULL, NULL, &srv), 0);
  CHECK_EQ(grove_server_start(srv), 0);
  all_connected = grove_event_new();
  connecting = grove_semaphore_new(CONNECTING_AT_ONCE);
  grove_greenlet **gs = malloc((size_t)nconn * sizeof *gs);
  for (int i = 0; i < nconn; i++)
    gs[i] = grove_spawn(client, (void *)(intptr_t)i);
  CHECK_EQ(grove_event_wait(all_connected, 30.0), 0);
  double t_open = test_now() - t0;
  CHECK_EQ(grove_joinall(gs, (size_t)nconn, 30.0), 0);
  for (int i = 0; i < nconn; i++)
    grove_greenlet_release(gs[i]);
  free(gs);
  /* The handlers see their clients go. */
  for (int i = 0; i < 200 && grove_server_connections(srv) > 0; i++)
    grove_sleep(0.01);
  CHECK_EQ(grove_server_connections(srv), 0);
  CHECK_EQ(grove_server_accepted(srv), nconn);
  CHECK_EQ(grove_server_stop(srv, 1.0), 0);
  grove_server_free(srv);
  CHECK_EQ(connected, nconn);
  CHECK_EQ(echoed, nconn);
  CHECK_EQ(bad, 0);
  CHECK_EQ(peak, nconn); /* all were open at once */
  CHECK_EQ(grove_event_free(all_connected), 0);
  CHECK_EQ(grove_semaphore_free(connecting), 0);
  double dt = test_now() - t0;
  printf("%d connections open at once after %.2f s, all closed after %.2f s\n", nconn, t_open, dt);
  CHECK(dt < 20.0); /* generous: a few seconds is normal, more under sanitizers */
}

/* ---- the clients in another process ---------------------------------------------- */

static int read_line_fd(int fd, char *buf, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, buf + n, 1);
    if (r <= 0)
      return -1;
    if (buf[n++] == '\n')
      break;
  }
  buf[n] = 0;
  return (int)n;
}

/* The child: connect n blocking sockets, say hello on each, read every
 * echo, report to the parent, hold everything until told to go. */
static void client_process(int port, int n, int report_fd, int go_fd) {
  int *fds = malloc((size_t)n * sizeof *fds);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  char ok = 'R';
  for (int i = 0; i < n && fds; i++) {
    char out[32];
    int len = snprintf(out, sizeof out, "hello %d\n", i);
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof a) != 0 ||
        write(fds[i], out, (size_t)len) != len) {
      ok = 'C';
      n = i;
      break;
    }
  }
  for (int i = 0; i < n && ok == 'R'; i++) {
    char in[32], out[32];
    snprintf(out, sizeof out, "hello %d\n", i);
    if (read_line_fd(fds[i], in, sizeof in) < 0 || strcmp(in, out) != 0)
      ok = 'E';
  }
  if (write(report_fd, &ok, 1) != 1)
    _exit(2);
  char go;
  if (read(go_fd, &go, 1) != 1)
    _exit(2);
  for (int i = 0; i < n; i++)
    close(fds[i]);
  free(fds); /* valgrind follows the child: nothing may leak */
  _exit(ok == 'R' ? 0 : 1);
}

static void test_ten_thousand_connections_from_another_process(void) {
  int limit = raise_fd_limit();
  nconn = limit >= WANTED + 500 ? WANTED : limit - 500;
  if (nconn < WANTED)
    fprintf(stderr, "test_socket_many: hard limit %d: %d connections from another process\n", limit,
            nconn);
  if (RUNNING_ON_VALGRIND && nconn > 1000)
    nconn = 1000;
  CHECK(nconn > 100);
  peak = 0;
  bad = 0;
  grove_socket *ls;
  CHECK_EQ(grove_tcp_listen("127.0.0.1", 0, 0, &ls), 0);
  CHECK_EQ(grove_stream_server_new(ls, handler, NULL, NULL, &srv), 0);
  CHECK_EQ(grove_server_start(srv), 0);
  int report[2], go[2];
  CHECK_EQ(pipe(report), 0);
  CHECK_EQ(pipe(go), 0);
  double t0 = test_now();
  pid_t pid = fork();
  if (pid == 0) {
    close(report[0]);
    close(go[1]);
    client_process(grove_server_port(srv), nconn, report[1], go[0]);
  }
  close(report[1]);
  close(go[0]);
  grove_socket *rep;
  CHECK_EQ(grove_socket_wrap(report[0], &rep), 0);
  char status = 0;
  CHECK_EQ(grove_socket_read(rep, &status, 1, 60.0), 1);
  CHECK_EQ(status, 'R');
  double t_open = test_now() - t0;
  /* Every handler is alive and waiting at once. */
  for (int i = 0; i < 100 && grove_server_connections(srv) < (size_t)nconn; i++)
    grove_sleep(0.01);
  CHECK_EQ(grove_server_connections(srv), nconn);
  CHECK_EQ(grove_server_accepted(srv), nconn);
  CHECK_EQ(write(go[1], "g", 1), 1);
  close(go[1]);
  int st = 0;
  for (int i = 0; i < 3000 && waitpid(pid, &st, WNOHANG) == 0; i++)
    grove_sleep(0.01);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  for (int i = 0; i < 500 && grove_server_connections(srv) > 0; i++)
    grove_sleep(0.01);
  CHECK_EQ(grove_server_connections(srv), 0);
  CHECK_EQ(bad, 0);
  CHECK_EQ(peak, nconn);
  CHECK_EQ(grove_server_stop(srv, 1.0), 0);
  grove_server_free(srv);
  grove_socket_close(rep);
  printf("%d connections from another process open at once after %.2f s, all closed after "
         "%.2f s\n",
         nconn, t_open, test_now() - t0);
}

TEST_MAIN(TEST(test_ten_thousand_connections),
          TEST(test_ten_thousand_connections_from_another_process))
