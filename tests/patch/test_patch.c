/* tests/patch/test_patch.c - blocking libc calls on greenlets, with the
 * grove-patch library linked in front of libc.
 *
 * Each case makes plain POSIX calls (read, write, recv, send, accept,
 * connect, poll, select, sleep...) on blocking fds from greenlets and
 * checks what a user sees: the calls return what libc's return, with the
 * same errno; while one waits, other greenlets run (a ticker greenlet
 * counts); waits overlap (the time is one wait's, not the sum); timeouts
 * (SO_RCVTIMEO, SO_SNDTIMEO), kills and scoped deadlines end them; an fd
 * the user made non-blocking, the hub's own context, and grove's own calls
 * into libc (uv_spawn, libzmq) are left alone. A case that compares with
 * libc runs the same call on a plain pthread, where the patch passes
 * through.
 */
#include "test.h"

#include <grove/patch.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

TEST_WATCHDOG(100)

/* ---- helpers ------------------------------------------------------------------------- */

/* A ticker greenlet: proves the hub ran others while a call waited. */
static int ticks, ticking;
static void *ticker(void *arg) {
  (void)arg;
  while (ticking && grove_sleep(0.005) == 0)
    ticks++;
  return NULL;
}
static grove_greenlet *ticker_start(void) {
  ticks = 0;
  ticking = 1;
  return grove_spawn(ticker, NULL);
}
static void ticker_stop(grove_greenlet *g) {
  ticking = 0;
  CHECK_EQ(grove_join(g, 5), 0);
  grove_greenlet_release(g);
}

static uint64_t waits(void) {
  grove_patch_stats st;
  grove_patch_get_stats(&st);
  return st.waits;
}
static uint64_t calls(void) {
  grove_patch_stats st;
  grove_patch_get_stats(&st);
  return st.calls;
}

static int blocking(int fd) { return !(fcntl(fd, F_GETFL) & O_NONBLOCK); }

/* Run fn(arg) on a fresh pthread (no hub: the patch passes through). */
static void on_thread(void *(*fn)(void *), void *arg) {
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, fn, arg), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
}

/* A listening TCP socket on 127.0.0.1, port in *port (plain libc calls). */
static int tcp_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  CHECK_EQ(listen(fd, 64), 0);
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &len);
  *port = ntohs(sa.sin_port);
  return fd;
}

static struct sockaddr_in loopback(int port) {
  return (struct sockaddr_in){.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
}

/* A TCP port nobody listens on (bound, then closed). */
static int closed_port(void) {
  int port;
  int fd = tcp_listener(&port);
  close(fd);
  return port;
}

/* The patch acts on threads that have a hub: each case starts with one
 * (the harness closes it after every case). */
static void hub_up(void) {
  CHECK(grove_current() != NULL);
  CHECK(grove_may_block());
}

static void test_active(void) {
  CHECK(grove_patch_active());
  CHECK(!grove_may_block()); /* no hub yet: the first grove call makes it */
  hub_up();
  grove_patch_stats st = {99, 99};
  grove_patch_get_stats(&st);
  CHECK(st.calls < 1000000);
  grove_patch_get_stats(NULL);
}

/* ---- sleeps ------------------------------------------------------------------------------ */

static void *sleeper(void *arg) {
  double t0 = test_now();
  int kind = IVAL(arg), rc = -99;
  struct timespec ts = {0, 200000000L}, rem = {9, 9};
  struct timeval tv = {0, 200000};
  switch (kind) {
  case 0:
    rc = usleep(200000);
    break;
  case 1:
    rc = nanosleep(&ts, &rem);
    break;
  case 2:
    rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    break;
  case 3: {
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_nsec += 200000000L;
    if (at.tv_nsec >= 1000000000L) {
      at.tv_sec++;
      at.tv_nsec -= 1000000000L;
    }
    rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
    break;
  }
  case 4:
    rc = poll(NULL, 0, 200);
    break;
  case 5:
    rc = select(0, NULL, NULL, NULL, &tv);
    CHECK(tv.tv_sec == 0 && tv.tv_usec == 0); /* Linux: the time not slept */
    break;
  case 6:
    rc = ppoll(NULL, 0, &ts, NULL);
    break;
  case 7:
    rc = pselect(0, NULL, NULL, NULL, &ts, NULL);
    CHECK_EQ(ts.tv_nsec, 200000000L); /* glibc's pselect leaves it */
    break;
  case 8: {
    int ep = epoll_create1(0);
    struct epoll_event ev;
    rc = epoll_wait(ep, &ev, 1, 200);
    close(ep);
    break;
  }
  case 9:
    rc = (int)sleep(1);
    break;
  }
  double took = test_now() - t0;
  CHECK_EQ(rc, 0);
  CHECK(took >= (kind == 9 ? 0.99 : 0.19));
  return NULL;
}

static void test_sleeps_overlap(void) {
  hub_up();
  enum { N = 10 };
  uint64_t c0 = calls();
  double t0 = test_now();
  grove_greenlet *g[N];
  for (int i = 0; i < N; i++)
    g[i] = grove_spawn(sleeper, IARG(i));
  CHECK_EQ(grove_joinall(g, N, 30), 0);
  double took = test_now() - t0;
  for (int i = 0; i < N; i++)
    grove_greenlet_release(g[i]);
  /* One second (the longest), not the 2.8 s the sleeps add up to. */
  CHECK(took >= 0.99 && took < 2.0);
  CHECK(calls() - c0 >= N);
}

/* sleep(0) and usleep(0) yield. */
static void *logger(void *arg) {
  test_log("%s", (const char *)arg);
  return NULL;
}

static void test_sleep_zero_yields(void) {
  hub_up();
  grove_greenlet *g = grove_spawn(logger, "other");
  test_log("main");
  CHECK_EQ(usleep(0), 0);
  test_log("back");
  CHECK_LOG("main other back");
  CHECK_EQ(grove_join(g, 1), 0);
  grove_greenlet_release(g);
}

/* ---- pipes ----------------------------------------------------------------------------------- */

typedef struct {
  int fd;
  size_t len;
  double delay;
  char *buf;
  ssize_t rc;
  int err;
} io_arg;

static void *late_writer(void *arg) {
  io_arg *a = arg;
  grove_sleep(a->delay);
  a->rc = write(a->fd, a->buf, a->len);
  return NULL;
}

static void test_pipe_read_waits(void) {
  hub_up();
  int p[2];
  CHECK_EQ(pipe(p), 0);
  uint64_t w0 = waits();
  grove_greenlet *t = ticker_start();
  io_arg wa = {p[1], 5, 0.05, "hello", 0, 0};
  grove_greenlet *w = grove_spawn(late_writer, &wa);
  char buf[16];
  double t0 = test_now();
  CHECK_EQ(read(p[0], buf, sizeof buf), 5);
  CHECK(memcmp(buf, "hello", 5) == 0);
  CHECK(test_now() - t0 >= 0.04);
  CHECK(ticks >= 3); /* the hub ran the ticker while read waited */
  CHECK(waits() > w0);
  CHECK(blocking(p[0])); /* the fd keeps the user's flags */
  CHECK_EQ(grove_join(w, 5), 0);
  CHECK_EQ(wa.rc, 5);
  grove_greenlet_release(w);
  ticker_stop(t);
  /* End of stream: 0 at once. */
  close(p[1]);
  CHECK_EQ(read(p[0], buf, sizeof buf), 0);
  close(p[0]);
}

static void *reader_all(void *arg) {
  io_arg *a = arg;
  size_t got = 0;
  while (got < a->len) {
    ssize_t n = read(a->fd, a->buf + got, a->len - got < 7000 ? a->len - got : 7000);
    if (n <= 0) {
      a->err = n < 0 ? errno : -1;
      break;
    }
    got += (size_t)n;
  }
  a->rc = (ssize_t)got;
  return NULL;
}

/* A blocking write of 1 MiB to a pipe returns 1 MiB, as libc's does, while
 * the reader greenlet drains the pipe. */
static void test_pipe_big_write(void) {
  hub_up();
  int p[2];
  CHECK_EQ(pipe(p), 0);
  enum { LEN = 1 << 20 };
  char *out = malloc(LEN), *in = calloc(1, LEN);
  for (size_t i = 0; i < LEN; i++)
    out[i] = (char)(i * 7 + i / 4096);
  io_arg ra = {p[0], LEN, 0, in, 0, 0};
  grove_greenlet *r = grove_spawn(reader_all, &ra);
  CHECK_EQ(write(p[1], out, LEN), LEN);
  CHECK_EQ(grove_join(r, 10), 0);
  CHECK_EQ(ra.rc, LEN);
  CHECK(memcmp(in, out, LEN) == 0);
  /* writev too, in pieces larger than PIPE_BUF. */
  struct iovec iov[3] = {{out, 100000}, {out + 100000, 3}, {out + 100003, 200000}};
  memset(in, 0, LEN);
  ra = (io_arg){p[0], 300003, 0, in, 0, 0};
  grove_greenlet_release(r);
  r = grove_spawn(reader_all, &ra);
  CHECK_EQ(writev(p[1], iov, 3), 300003);
  CHECK_EQ(grove_join(r, 10), 0);
  CHECK_EQ(ra.rc, 300003);
  CHECK(memcmp(in, out, 300003) == 0);
  grove_greenlet_release(r);
  free(out);
  free(in);
  close(p[0]);
  close(p[1]);
}

/* ---- sockets ----------------------------------------------------------------------------------
 */

typedef struct {
  int fd;
  size_t len, chunk;
  char *buf;
  ssize_t rc;
} send_arg;

static void *slow_sender(void *arg) {
  send_arg *a = arg;
  size_t done = 0;
  while (done < a->len) {
    size_t n = a->len - done < a->chunk ? a->len - done : a->chunk;
    ssize_t r = send(a->fd, a->buf + done, n, 0);
    if (r <= 0)
      break;
    done += (size_t)r;
    grove_sleep(0.002);
  }
  a->rc = (ssize_t)done;
  return NULL;
}

static void test_socket_stream(void) {
  hub_up();
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  enum { LEN = 100000 };
  char *out = malloc(LEN), *in = calloc(1, LEN);
  for (int i = 0; i < LEN; i++)
    out[i] = (char)(i % 251);
  /* recv with MSG_WAITALL gathers what a slow sender sends in pieces. */
  send_arg sa = {sv[1], LEN, 3000, out, 0};
  grove_greenlet *s = grove_spawn(slow_sender, &sa);
  CHECK_EQ(recv(sv[0], in, LEN, MSG_WAITALL), LEN);
  CHECK(memcmp(in, out, LEN) == 0);
  CHECK_EQ(grove_join(s, 10), 0);
  CHECK_EQ(sa.rc, LEN);
  grove_greenlet_release(s);

  /* A 4 MiB blocking send returns when all of it is sent. */
  enum { BIG = 4 << 20 };
  char *big = malloc(BIG), *back = calloc(1, BIG);
  memset(big, 'x', BIG);
  io_arg ra = {sv[0], BIG, 0, back, 0, 0};
  grove_greenlet *r = grove_spawn(reader_all, &ra);
  CHECK_EQ(send(sv[1], big, BIG, 0), BIG);
  CHECK_EQ(grove_join(r, 10), 0);
  CHECK_EQ(ra.rc, BIG);
  grove_greenlet_release(r);

  /* readv / writev on a socket. */
  struct iovec wv[2] = {{"abc", 3}, {"defgh", 5}};
  CHECK_EQ(writev(sv[1], wv, 2), 8);
  char a[2], b[10];
  struct iovec rv[2] = {{a, 2}, {b, sizeof b}};
  CHECK_EQ(readv(sv[0], rv, 2), 8);
  CHECK(memcmp(a, "ab", 2) == 0 && memcmp(b, "cdefgh", 6) == 0);

  /* sendmsg / recvmsg with an fd passed (ancillary data arrives intact). */
  int p[2];
  CHECK_EQ(pipe(p), 0);
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec one = {"F", 1};
  struct msghdr m = {
      .msg_iov = &one, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &p[1], sizeof(int));
  CHECK_EQ(sendmsg(sv[1], &m, 0), 1);
  char rb[4], rc[CMSG_SPACE(sizeof(int))];
  struct iovec rio = {rb, sizeof rb};
  struct msghdr rm = {
      .msg_iov = &rio, .msg_iovlen = 1, .msg_control = rc, .msg_controllen = sizeof rc};
  CHECK_EQ(recvmsg(sv[0], &rm, 0), 1);
  struct cmsghdr *rcm = CMSG_FIRSTHDR(&rm);
  CHECK(rcm && rcm->cmsg_type == SCM_RIGHTS);
  int passed = -1;
  if (rcm)
    memcpy(&passed, CMSG_DATA(rcm), sizeof passed);
  CHECK(passed >= 0);
  CHECK_EQ(write(passed, "z", 1), 1);
  CHECK_EQ(read(p[0], rb, 1), 1);
  CHECK_EQ(rb[0], 'z');
  close(passed);
  close(p[0]);
  close(p[1]);

  CHECK(blocking(sv[0]) && blocking(sv[1]));
  free(out);
  free(in);
  free(big);
  free(back);
  close(sv[0]);
  close(sv[1]);
}

static void *dgram_later(void *arg) {
  int fd = IVAL(arg);
  grove_sleep(0.03);
  CHECK_EQ(send(fd, "datagram!", 9, 0), 9);
  return NULL;
}

static void test_socket_dgram(void) {
  hub_up();
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
  grove_greenlet *g = grove_spawn(dgram_later, IARG(sv[1]));
  char buf[4];
  struct sockaddr_un from;
  socklen_t flen = sizeof from;
  /* Truncated, with MSG_TRUNC: the datagram's real length. */
  CHECK_EQ(recvfrom(sv[0], buf, sizeof buf, MSG_TRUNC, (struct sockaddr *)&from, &flen), 9);
  CHECK(memcmp(buf, "data", 4) == 0);
  CHECK_EQ(grove_join(g, 5), 0);
  grove_greenlet_release(g);
  close(sv[0]);
  close(sv[1]);
}

/* accept and connect over TCP, both blocking, both greenlets. */
typedef struct {
  int lfd;
  int served;
} srv_arg;

static void *tcp_server(void *arg) {
  srv_arg *a = arg;
  for (int i = 0; i < 3; i++) {
    int c = accept(a->lfd, NULL, NULL);
    if (c < 0)
      break;
    char buf[64];
    ssize_t n = recv(c, buf, sizeof buf, 0);
    if (n > 0) {
      grove_sleep(0.05);
      send(c, buf, (size_t)n, 0);
      a->served++;
    }
    close(c);
  }
  return NULL;
}

typedef struct {
  int port;
  char want[16];
  int ok;
} cli_arg;

static void *tcp_client(void *arg) {
  cli_arg *a = arg;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = loopback(a->port);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
      write(fd, a->want, strlen(a->want)) == (ssize_t)strlen(a->want)) {
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    a->ok = n == (ssize_t)strlen(a->want) && memcmp(buf, a->want, (size_t)n) == 0;
  }
  close(fd);
  return NULL;
}

static void test_tcp_accept_connect(void) {
  hub_up();
  int port;
  srv_arg sa = {tcp_listener(&port), 0};
  grove_greenlet *t = ticker_start();
  grove_greenlet *s = grove_spawn(tcp_server, &sa);
  cli_arg ca[3] = {{port, "one", 0}, {port, "two", 0}, {port, "three", 0}};
  grove_greenlet *c[3];
  for (int i = 0; i < 3; i++)
    c[i] = grove_spawn(tcp_client, &ca[i]);
  CHECK_EQ(grove_joinall(c, 3, 10), 0);
  CHECK_EQ(grove_join(s, 10), 0);
  CHECK_EQ(sa.served, 3);
  for (int i = 0; i < 3; i++) {
    CHECK(ca[i].ok);
    grove_greenlet_release(c[i]);
  }
  CHECK(ticks > 5);
  grove_greenlet_release(s);
  ticker_stop(t);
  CHECK(blocking(sa.lfd));
  close(sa.lfd);
}

/* connect: refused, and the errno libc gives on a plain thread. */
typedef struct {
  int port, rc, err;
} refuse_arg;

static void *connect_refused(void *arg) {
  refuse_arg *a = arg;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = loopback(a->port);
  errno = 0;
  a->rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  a->err = errno;
  close(fd);
  return NULL;
}

static void test_connect_refused(void) {
  hub_up();
  int port = closed_port();
  refuse_arg g = {port, 0, 0}, t = {port, 0, 0};
  connect_refused(&g);
  on_thread(connect_refused, &t);
  CHECK_EQ(g.rc, -1);
  CHECK_EQ(g.err, ECONNREFUSED);
  CHECK_EQ(t.rc, g.rc);
  CHECK_EQ(t.err, g.err);
}

/* connect to a listener whose queue is full: the handshake does not
 * finish, and SO_SNDTIMEO ends the wait with EINPROGRESS (TCP) or EAGAIN
 * (Unix), as the kernel's blocking connect does - compared on a plain
 * thread. A Unix connect that waits for room gets in once the listener
 * accepts. */
typedef struct {
  int family, port;
  const char *path;
  double timeout;
  int rc, err;
  double took;
} full_arg;

static void *connect_full(void *arg) {
  full_arg *a = arg;
  int fd = socket(a->family, SOCK_STREAM, 0);
  if (a->timeout > 0) {
    struct timeval tv = {0, (suseconds_t)(a->timeout * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  struct sockaddr_in sin = loopback(a->port);
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  if (a->path)
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", a->path);
  double t0 = test_now();
  errno = 0;
  a->rc = a->family == AF_INET ? connect(fd, (struct sockaddr *)&sin, sizeof sin)
                               : connect(fd, (struct sockaddr *)&sun, sizeof sun);
  a->err = errno;
  a->took = test_now() - t0;
  close(fd);
  return NULL;
}

/* Fill l's queue with non-blocking connects; returns how many. */
static int fill_queue(int family, const struct sockaddr *sa, socklen_t len, int *fds, int max) {
  int n = 0;
  for (; n < max; n++) {
    fds[n] = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (connect(fds[n], sa, len) != 0 && errno != EINPROGRESS) {
      close(fds[n]);
      break;
    }
  }
  return n;
}

static void test_connect_queue_full(void) {
  hub_up();
  /* TCP: backlog 0 holds one connection; the next SYNs are dropped. */
  int port, l = tcp_listener(&port);
  CHECK_EQ(listen(l, 0), 0);
  int fds[8], n;
  struct sockaddr_in sin = loopback(port);
  n = fill_queue(AF_INET, (struct sockaddr *)&sin, sizeof sin, fds, 4);
  struct pollfd first = {fds[0], POLLOUT, 0}; /* the first gets in and fills the queue */
  CHECK_EQ(poll(&first, 1, 5000), 1);
  full_arg g = {AF_INET, port, NULL, 0.2, 0, 0, 0}, t = g;
  grove_greenlet *tk = ticker_start();
  connect_full(&g);
  CHECK(ticks >= 10);
  ticker_stop(tk);
  on_thread(connect_full, &t);
  CHECK_EQ(g.rc, -1);
  CHECK_EQ(g.err, EINPROGRESS);
  CHECK(g.took >= 0.19 && g.took < 3);
  CHECK_EQ(t.rc, g.rc);
  CHECK_EQ(t.err, g.err);
  /* Killed while the handshake hangs: ECANCELED. */
  full_arg k = {AF_INET, port, NULL, 0, 99, 0, 0};
  grove_greenlet *kg = grove_spawn(connect_full, &k);
  CHECK_EQ(grove_sleep(0.05), 0);
  CHECK_EQ(k.rc, 99);
  CHECK_EQ(grove_kill(kg, 5), 0);
  CHECK_EQ(k.rc, -1);
  CHECK_EQ(k.err, ECANCELED);
  grove_greenlet_release(kg);
  for (int i = 0; i < n; i++)
    close(fds[i]);
  close(l);

  /* Unix: the same with EAGAIN. */
  char path[64];
  snprintf(path, sizeof path, "/tmp/grove-patch-%d.sock", (int)getpid());
  unlink(path);
  int u = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
  CHECK_EQ(bind(u, (struct sockaddr *)&sun, sizeof sun), 0);
  CHECK_EQ(listen(u, 0), 0);
  n = fill_queue(AF_UNIX, (struct sockaddr *)&sun, sizeof sun, fds, 8);
  CHECK(n >= 1 && n < 8);
  full_arg ug = {AF_UNIX, 0, path, 0.1, 0, 0, 0}, ut = ug;
  connect_full(&ug);
  on_thread(connect_full, &ut);
  CHECK_EQ(ug.rc, -1);
  CHECK_EQ(ug.err, EAGAIN);
  CHECK(ug.took >= 0.09 && ug.took < 3);
  CHECK_EQ(ut.rc, ug.rc);
  CHECK_EQ(ut.err, ug.err);
  /* Without a timeout it waits until the listener makes room. */
  full_arg wait = {AF_UNIX, 0, path, 0, 99, 0, 0};
  grove_greenlet *c = grove_spawn(connect_full, &wait);
  CHECK_EQ(grove_sleep(0.05), 0);
  CHECK_EQ(wait.rc, 99);
  int a = accept(u, NULL, NULL);
  CHECK(a >= 0);
  CHECK_EQ(grove_join(c, 5), 0);
  CHECK_EQ(wait.rc, 0);
  grove_greenlet_release(c);
  close(a);
  for (int i = 0; i < n; i++)
    close(fds[i]);
  close(u);
  unlink(path);
}

/* ---- timeouts ------------------------------------------------------------------------------- */

static void test_so_rcvtimeo(void) {
  hub_up();
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  struct timeval tv = {0, 100000};
  CHECK_EQ(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  grove_greenlet *t = ticker_start();
  char buf[8];
  double t0 = test_now();
  errno = 0;
  CHECK_EQ(recv(sv[0], buf, sizeof buf, 0), -1);
  CHECK_EQ(errno, EAGAIN);
  double took = test_now() - t0;
  CHECK(took >= 0.09 && took < 2);
  CHECK(ticks >= 5);
  ticker_stop(t);

  /* accept on a listener with SO_RCVTIMEO. */
  int port, l = tcp_listener(&port);
  CHECK_EQ(setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  errno = 0;
  CHECK_EQ(accept(l, NULL, NULL), -1);
  CHECK_EQ(errno, EAGAIN);
  close(l);

  /* SO_SNDTIMEO: nobody reads; the send returns what fitted, the next -1
   * EAGAIN. */
  CHECK_EQ(setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
  enum { BIG = 8 << 20 };
  char *big = calloc(1, BIG);
  ssize_t n = send(sv[1], big, BIG, 0);
  CHECK(n > 0 && n < BIG);
  t0 = test_now();
  errno = 0;
  CHECK_EQ(send(sv[1], big, BIG, 0), -1);
  CHECK_EQ(errno, EAGAIN);
  CHECK(test_now() - t0 >= 0.09);
  free(big);
  close(sv[0]);
  close(sv[1]);
}

static void test_user_nonblocking(void) {
  hub_up();
  int p[2];
  CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
  uint64_t w0 = waits();
  char buf[4];
  double t0 = test_now();
  errno = 0;
  CHECK_EQ(read(p[0], buf, sizeof buf), -1);
  CHECK_EQ(errno, EAGAIN);
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  errno = 0;
  CHECK_EQ(recv(sv[0], buf, sizeof buf, 0), -1);
  CHECK_EQ(errno, EAGAIN);
  errno = 0;
  CHECK_EQ(recv(sv[0], buf, sizeof buf, MSG_WAITALL), -1);
  CHECK_EQ(errno, EAGAIN);
  /* A non-blocking connect stays one. */
  int port, l = tcp_listener(&port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = loopback(port);
  errno = 0;
  int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  CHECK(rc == 0 || errno == EINPROGRESS);
  CHECK(test_now() - t0 < 0.5);
  CHECK_EQ(waits(), w0); /* nothing waited */
  close(fd);
  close(l);
  close(sv[0]);
  close(sv[1]);
  close(p[0]);
  close(p[1]);
}

/* ---- kill, scoped deadline --------------------------------------------------------------------
 */

typedef struct {
  int fd, what, rc, err;
  double left;
} kill_arg;

#define gp_ts_left(ts) ((double)(ts)->tv_sec + (double)(ts)->tv_nsec / 1e9)

static void *blocked_call(void *arg) {
  kill_arg *a = arg;
  char buf[8];
  struct pollfd pf = {a->fd, POLLIN, 0};
  struct timespec ts = {10, 0}, rem = {0, 0};
  errno = 0;
  switch (a->what) {
  case 0:
    a->rc = (int)read(a->fd, buf, sizeof buf);
    break;
  case 1:
    a->rc = poll(&pf, 1, -1);
    break;
  case 2:
    a->rc = accept(a->fd, NULL, NULL);
    break;
  case 3:
    a->rc = (int)recv(a->fd, buf, sizeof buf, 0);
    break;
  case 4:
    a->rc = nanosleep(&ts, &rem);
    a->left = gp_ts_left(&rem);
    break;
  case 5:
    a->rc = (int)sleep(10);
    break;
  }
  a->err = errno;
  return NULL;
}

static void test_kill_blocked(void) {
  hub_up();
  int p[2], sv[2], port;
  CHECK_EQ(pipe(p), 0);
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  int l = tcp_listener(&port);
  int fds[] = {p[0], p[0], l, sv[0], -1, -1};
  for (int what = 0; what < 6; what++) {
    kill_arg a = {fds[what], what, 99, 0, 0};
    grove_greenlet *g = grove_spawn(blocked_call, &a);
    CHECK_EQ(grove_sleep(0.02), 0);
    CHECK_EQ(a.rc, 99); /* still blocked */
    double t0 = test_now();
    CHECK_EQ(grove_kill(g, 5), 0);
    CHECK(test_now() - t0 < 1);
    if (what == 5) {
      CHECK(a.rc >= 9 && a.rc <= 10); /* sleep: the seconds left */
    } else {
      CHECK_EQ(a.rc, -1);
      CHECK_EQ(a.err, ECANCELED);
    }
    if (what == 4)
      CHECK(a.left > 9 && a.left <= 10);
    grove_greenlet_release(g);
  }
  close(l);
  close(p[0]);
  close(p[1]);
  close(sv[0]);
  close(sv[1]);
}

static void test_scoped_deadline(void) {
  hub_up();
  int p[2];
  CHECK_EQ(pipe(p), 0);
  char buf[4];
  grove_timeout *t = grove_timeout_start(0.05);
  double t0 = test_now();
  errno = 0;
  CHECK_EQ(read(p[0], buf, sizeof buf), -1);
  CHECK_EQ(errno, ETIMEDOUT);
  CHECK(test_now() - t0 >= 0.04);
  grove_timeout_cancel(t);
  close(p[0]);
  close(p[1]);
}

/* ---- poll, select, epoll ----------------------------------------------------------------------
 */

static void *write_later(void *arg) {
  grove_sleep(0.05);
  CHECK_EQ(write(IVAL(arg), "!", 1), 1);
  return NULL;
}

static void test_poll_select(void) {
  hub_up();
  int a[2], b[2];
  CHECK_EQ(pipe(a), 0);
  CHECK_EQ(pipe(b), 0);
  /* poll: data on the second pipe, the first listed twice. */
  struct pollfd pf[3] = {{a[0], POLLIN, 0}, {b[0], POLLIN, 0}, {a[0], POLLIN, 0}};
  grove_greenlet *t = ticker_start();
  grove_greenlet *w = grove_spawn(write_later, IARG(b[1]));
  CHECK_EQ(poll(pf, 3, 5000), 1);
  CHECK_EQ(pf[0].revents, 0);
  CHECK_EQ(pf[1].revents, POLLIN);
  CHECK(ticks >= 3);
  CHECK_EQ(grove_join(w, 5), 0);
  grove_greenlet_release(w);
  char c;
  CHECK_EQ(read(b[0], &c, 1), 1);

  /* poll times out: 0. */
  double t0 = test_now();
  CHECK_EQ(poll(pf, 2, 50), 0);
  CHECK(test_now() - t0 >= 0.045);

  /* select: the time left comes back in the timeout. */
  w = grove_spawn(write_later, IARG(a[1]));
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(a[0], &rd);
  FD_SET(b[0], &rd);
  struct timeval tv = {5, 0};
  CHECK_EQ(select((a[0] > b[0] ? a[0] : b[0]) + 1, &rd, NULL, NULL, &tv), 1);
  CHECK(FD_ISSET(a[0], &rd) && !FD_ISSET(b[0], &rd));
  CHECK(tv.tv_sec == 4 && tv.tv_usec > 0);
  CHECK_EQ(grove_join(w, 5), 0);
  grove_greenlet_release(w);
  CHECK_EQ(read(a[0], &c, 1), 1);

  /* epoll_wait on the user's own epoll fd. */
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = b[0]};
  CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &ev), 0);
  w = grove_spawn(write_later, IARG(b[1]));
  struct epoll_event out;
  CHECK_EQ(epoll_wait(ep, &out, 1, 5000), 1);
  CHECK_EQ(out.data.fd, b[0]);
  CHECK_EQ(grove_join(w, 5), 0);
  grove_greenlet_release(w);
  close(ep);
  ticker_stop(t);
  close(a[0]);
  close(a[1]);
  close(b[0]);
  close(b[1]);
}

/* ---- DNS ----------------------------------------------------------------------------------------
 */

typedef struct {
  const char *node, *service;
  int family;
  int rc, n, first_family;
  char h_name[64];
  unsigned char addr4[4];
  int herr;
} dns_arg;

static void *dns_call(void *arg) {
  dns_arg *a = arg;
  struct addrinfo hints = {.ai_family = a->family, .ai_socktype = SOCK_STREAM}, *res = NULL;
  a->rc = getaddrinfo(a->node, a->service, &hints, &res);
  a->n = 0;
  for (struct addrinfo *r = res; r; r = r->ai_next)
    a->n++;
  a->first_family = res ? res->ai_family : -1;
  if (res)
    freeaddrinfo(res);
  struct hostent *h = gethostbyname(a->node);
  a->herr = h ? 0 : h_errno;
  if (h) {
    snprintf(a->h_name, sizeof a->h_name, "%s", h->h_name);
    memcpy(a->addr4, h->h_addr_list[0], 4);
  }
  return NULL;
}

static void test_dns(void) {
  hub_up();
  /* Names from /etc/hosts and /etc/services only: no network needed. */
  dns_arg cases[] = {
      {"localhost", "80", AF_INET, 0, 0, 0, "", {0}, 0},
      {"localhost", "http", AF_UNSPEC, 0, 0, 0, "", {0}, 0},
      {"localhost", "no-such-service-grove", AF_INET, 0, 0, 0, "", {0}, 0},
      {"127.0.0.1", "80", AF_INET, 0, 0, 0, "", {0}, 0},
  };
  uint64_t c0 = calls();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dns_arg g = cases[i], t = cases[i];
    dns_call(&g);
    on_thread(dns_call, &t);
    CHECK_EQ(g.rc, t.rc);
    CHECK_EQ(g.n, t.n);
    CHECK_EQ(g.first_family, t.first_family);
    CHECK_EQ(g.herr, t.herr);
    CHECK_STR(g.h_name, t.h_name);
    CHECK(memcmp(g.addr4, t.addr4, 4) == 0);
    CHECK_EQ(g.rc, i == 2 ? EAI_SERVICE : 0);
  }
  CHECK(calls() > c0); /* the named lookups went through the pool */
}

/* ---- errno as libc's
 * ----------------------------------------------------------------------------- */

/* Each call, made on a greenlet and on a plain thread, gives the same
 * return value and errno. */
typedef struct {
  int which;
  long rc;
  int err;
} errno_arg;

static int dir_fd, pipe_rd, pipe_wr, sock_fd, closed_port_no;
static volatile int minus_one = -1; /* an iovcnt the compiler cannot see */
static int closed_fd;               /* a descriptor number that is not open */

static void *errno_call(void *arg) {
  errno_arg *a = arg;
  char buf[8];
  struct sockaddr_in sa = loopback(closed_port_no);
  struct timespec bad = {0, 2000000000L};
  struct iovec iov = {buf, sizeof buf};
  fd_set rd;
  errno = 0;
  switch (a->which) {
  case 0:
    a->rc = read(-1, buf, 1);
    break;
  case 1:
    a->rc = write(-1, "x", 1);
    break;
  case 2:
    a->rc = recv(pipe_rd, buf, 1, 0); /* ENOTSOCK */
    break;
  case 3:
    a->rc = send(pipe_wr, "x", 1, 0);
    break;
  case 4:
    a->rc = accept(sock_fd, NULL, NULL); /* not listening: EINVAL */
    break;
  case 5:
    a->rc = connect(-1, (struct sockaddr *)&sa, sizeof sa);
    break;
  case 6:
    a->rc = connect(pipe_rd, (struct sockaddr *)&sa, sizeof sa);
    break;
  case 7:
    a->rc = read(dir_fd, buf, sizeof buf); /* EISDIR */
    break;
  case 8:
    a->rc = nanosleep(&bad, NULL);
    break;
  case 9:
    a->rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL);
    break;
  case 10:
    a->rc = readv(pipe_rd, &iov, minus_one);
    break;
  case 11: {
    struct pollfd pf = {closed_fd, POLLIN, 0}; /* not open: POLLNVAL */
    a->rc = poll(&pf, 1, 1000);
    a->err = pf.revents;
    return NULL;
  }
  case 12:
    FD_ZERO(&rd);
    FD_SET(closed_fd, &rd);
    a->rc = select(closed_fd + 1, &rd, NULL, NULL, NULL); /* EBADF */
    break;
  case 13:
    a->rc = recv(sock_fd, buf, 1, 0); /* not connected: ENOTCONN */
    break;
  case 14:
    a->rc = write(pipe_wr, "x", 1); /* the read end is closed: EPIPE */
    break;
  }
  a->err = errno;
  return NULL;
}

static void test_errno_as_libc(void) {
  hub_up();
  signal(SIGPIPE, SIG_IGN);
  dir_fd = open("/", O_RDONLY | O_DIRECTORY);
  int p[2];
  CHECK_EQ(pipe(p), 0);
  pipe_rd = p[0];
  pipe_wr = p[1];
  sock_fd = socket(AF_INET, SOCK_STREAM, 0);
  closed_port_no = closed_port();
  closed_fd = dup(0);
  close(closed_fd);
  for (int which = 0; which < 15; which++) {
    if (which == 14)
      close(pipe_rd);
    errno_arg g = {which, 0, 0}, t = {which, 0, 0};
    errno_call(&g);
    on_thread(errno_call, &t);
    if (g.rc != t.rc || g.err != t.err)
      fprintf(stderr, "call %d: greenlet %ld/%d, thread %ld/%d\n", which, g.rc, g.err, t.rc, t.err);
    CHECK_EQ(g.rc, t.rc);
    CHECK_EQ(g.err, t.err);
  }
  close(pipe_wr);
  close(sock_fd);
  close(dir_fd);
  signal(SIGPIPE, SIG_DFL);
}

/* ---- where the patch stands aside
 * ---------------------------------------------------------------- */

typedef struct {
  double took;
  uint64_t calls;
  grove_event *done;
} hub_arg;

static void from_hub(void *arg) {
  hub_arg *a = arg;
  uint64_t c0 = calls();
  double t0 = test_now();
  poll(NULL, 0, 30);
  usleep(20000);
  a->took = test_now() - t0;
  a->calls = calls() - c0;
  grove_event_set(a->done);
}

static void test_hub_context_passes(void) {
  hub_up();
  hub_arg a = {0, 0, grove_event_new()};
  grove_greenlet *t = ticker_start();
  CHECK_EQ(grove_hub_post(from_hub, &a), 0);
  CHECK_EQ(grove_event_wait(a.done, 5), 0);
  CHECK(a.took >= 0.045); /* libc's: the thread slept */
  CHECK_EQ(a.calls, 0);
  ticker_stop(t);
  grove_event_free(a.done);
}

/* grove's own libc calls stay libc's: uv_spawn's read of its exec pipe,
 * libzmq's mailbox reads and writes. */
static void test_grove_calls_pass(void) {
  hub_up();
  uint64_t c0 = calls();
  const char *argv[] = {"true", NULL};
  grove_subprocess_opts o = {.argv = argv};
  grove_subprocess *p;
  CHECK_EQ(grove_subprocess_spawn(&o, &p), 0);
  int code = -1;
  CHECK_EQ(grove_subprocess_wait(p, &code, 10), 0);
  CHECK_EQ(code, 0);
  grove_subprocess_free(p);

  void *ctx = zmq_ctx_new();
  void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
  CHECK_EQ(zmq_bind(a, "inproc://patch"), 0);
  CHECK_EQ(zmq_connect(b, "inproc://patch"), 0);
  char buf[8];
  for (int i = 0; i < 100; i++) {
    CHECK_EQ(grove_zmq_send(a, "ping", 4, 0, 5), 4);
    CHECK_EQ(grove_zmq_recv(b, buf, sizeof buf, 0, 5), 4);
  }
  grove_zmq_close(a);
  grove_zmq_close(b);
  zmq_ctx_term(ctx);
  CHECK_EQ(calls() - c0, 0);
}

TEST_MAIN(TEST(test_active), TEST(test_sleeps_overlap), TEST(test_sleep_zero_yields),
          TEST(test_pipe_read_waits), TEST(test_pipe_big_write), TEST(test_socket_stream),
          TEST(test_socket_dgram), TEST(test_tcp_accept_connect), TEST(test_connect_refused),
          TEST(test_connect_queue_full), TEST(test_so_rcvtimeo), TEST(test_user_nonblocking),
          TEST(test_kill_blocked), TEST(test_scoped_deadline), TEST(test_poll_select),
          TEST(test_dns), TEST(test_errno_as_libc), TEST(test_hub_context_passes),
          TEST(test_grove_calls_pass))
