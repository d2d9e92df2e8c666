/* hub/io/socket.c - cooperative sockets (gevent.socket): TCP, Unix and UDP.
 *
 * A grove_socket is a non-blocking fd plus its watcher (embedded). Every
 * call tries the system call first and waits on the watcher only when it
 * would block, so a busy connection costs one system call per read or write,
 * as in gevent. read_line keeps a small read-ahead buffer that later reads
 * drain first.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <signal.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define GROVE__MAGIC_SOCKET 0x534f434bu
#define RBUF_SIZE 4096

struct grove_socket {
  grove__io io; /* first: the watcher's memory is the socket's */
  uint32_t magic;
  uint8_t is_socket, listening;
  char *rbuf; /* read-ahead (read_line) */
  size_t roff, rlen;
};

/* ---- creation and teardown ------------------------------------------------------------ */

static void socket_freed(grove__io *io) {
  grove_socket *s = (grove_socket *)io;
  free(s->rbuf);
  free(s);
}

static int check(grove_socket *s) {
  if (!s || s->magic != GROVE__MAGIC_SOCKET)
    return GROVE_EINVAL;
  if (!grove__owned(s->io.hub))
    return GROVE_EPERM;
  return 0;
}

/* The start of every blocking call: the socket, the caller, the deadline. */
static int begin(grove_socket *s, double timeout, uint64_t *deadline) {
  int rc = check(s);
  if (rc)
    return rc;
  return grove__begin_wait(s->io.hub, timeout, deadline);
}

/* Wait for the socket; a timeout of 0 polls (the caller already tried). */
static int wait_io(grove_socket *s, int event, uint64_t deadline, const char *what) {
  if (deadline != UINT64_MAX && deadline <= uv_hrtime())
    return GROVE_ETIMEDOUT;
  return grove__io_wait(&s->io, event, deadline, what);
}

static int wrap(grove_hub *hub, int fd, grove_socket **out) {
  grove_socket *s = calloc(1, sizeof *s);
  if (!s)
    return GROVE_ENOMEM;
  grove__io_init(&s->io, hub, fd, 1, socket_freed);
  s->magic = GROVE__MAGIC_SOCKET;
  struct stat st;
  s->is_socket = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
  grove__obj_add(hub, GROVE__OBJ_SOCKET);
  *out = s;
  return 0;
}

int grove_socket_wrap(int fd, grove_socket **out) {
  if (fd < 0 || !out)
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0)
    return -errno;
  if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return -errno;
  int rc = wrap(hub, fd, out);
  if (rc == 0 && (*out)->is_socket) { /* a listening socket (inherited, say) accepts */
    int acc = 0;
    socklen_t alen = sizeof acc;
    (*out)->listening = getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) == 0 && acc;
  }
  return rc;
}

int grove_socket_close(grove_socket *s) {
  if (!s)
    return 0;
  int rc = check(s);
  if (rc) {
    grove__misuse("grove_socket_close", rc);
    return rc;
  }
  s->magic = 0;
  grove__obj_remove(s->io.hub, GROVE__OBJ_SOCKET);
  int fd = s->io.fd;
  grove__io_close(&s->io); /* unregisters before the fd goes */
  return close(fd) == 0 ? 0 : -errno;
}

int grove_socket_fd(const grove_socket *s) {
  return s && s->magic == GROVE__MAGIC_SOCKET ? s->io.fd : GROVE_EINVAL;
}

/* ---- addresses ------------------------------------------------------------------------- */

int grove_sockaddr_parse(const char *host, int port, struct sockaddr_storage *out,
                         socklen_t *outlen) {
  if (!out || port < 0 || port > 65535)
    return GROVE_EINVAL;
  memset(out, 0, sizeof *out);
  if (!host || !*host) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_any;
    a->sin6_port = htons((uint16_t)port);
    if (outlen)
      *outlen = sizeof *a;
    return 0;
  }
  struct sockaddr_in *a4 = (struct sockaddr_in *)out;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (outlen)
      *outlen = sizeof *a4;
    return 0;
  }
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
  char buf[INET6_ADDRSTRLEN + 16];
  const char *h = host, *pct = strchr(host, '%');
  if (pct) { /* fe80::1%eth0 */
    size_t n = (size_t)(pct - host);
    if (n >= sizeof buf)
      return GROVE_EINVAL;
    memcpy(buf, host, n);
    buf[n] = 0;
    h = buf;
  }
  if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    if (pct)
      a6->sin6_scope_id = if_nametoindex(pct + 1);
    if (outlen)
      *outlen = sizeof *a6;
    return 0;
  }
  return GROVE_EINVAL;
}

int grove_sockaddr_format(const struct sockaddr *sa, char *host, size_t hostlen, int *port) {
  if (!sa || !host || hostlen == 0)
    return GROVE_EINVAL;
  if (port)
    *port = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    if (!inet_ntop(AF_INET, &a->sin_addr, host, (socklen_t)hostlen))
      return GROVE_ENAMETOOLONG;
    if (port)
      *port = ntohs(a->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    if (!inet_ntop(AF_INET6, &a->sin6_addr, host, (socklen_t)hostlen))
      return GROVE_ENAMETOOLONG;
    if (port)
      *port = ntohs(a->sin6_port);
  } else if (sa->sa_family == AF_UNIX) {
    const struct sockaddr_un *a = (const struct sockaddr_un *)sa;
    size_t n = strnlen(a->sun_path, sizeof a->sun_path);
    if (n >= hostlen)
      return GROVE_ENAMETOOLONG;
    memcpy(host, a->sun_path, n);
    host[n] = 0;
  } else {
    return GROVE_EINVAL;
  }
  return 0;
}

static int name_of(const grove_socket *s, int peer, char *host, size_t hostlen, int *port) {
  if (!s || s->magic != GROVE__MAGIC_SOCKET)
    return GROVE_EINVAL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  int r = peer ? getpeername(s->io.fd, (struct sockaddr *)&ss, &len)
               : getsockname(s->io.fd, (struct sockaddr *)&ss, &len);
  if (r < 0)
    return -errno;
  return grove_sockaddr_format((struct sockaddr *)&ss, host, hostlen, port);
}

int grove_socket_sockname(const grove_socket *s, char *host, size_t hostlen, int *port) {
  return name_of(s, 0, host, hostlen, port);
}
int grove_socket_peername(const grove_socket *s, char *host, size_t hostlen, int *port) {
  return name_of(s, 1, host, hostlen, port);
}

int grove_socket_port(const grove_socket *s) {
  char host[128];
  int port = 0;
  int rc = name_of(s, 0, host, sizeof host, &port);
  return rc ? rc : port;
}

static int unix_addr(const char *path, struct sockaddr_un *a, socklen_t *len) {
  if (!path || !*path)
    return GROVE_EINVAL;
  size_t n = strlen(path);
  if (n >= sizeof a->sun_path)
    return GROVE_ENAMETOOLONG;
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  memcpy(a->sun_path, path, n);
  if (path[0] == '@') { /* abstract namespace */
    a->sun_path[0] = 0;
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  } else {
    *len = (socklen_t)sizeof *a;
  }
  return 0;
}

/* ---- connecting --------------------------------------------------------------------------- */

static void tune_tcp(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Connect a new socket to one address, within the deadline. */
static int connect_addr(grove_hub *hub, const struct sockaddr *sa, socklen_t len, uint64_t deadline,
                        grove_socket **out) {
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (sa->sa_family != AF_UNIX)
    tune_tcp(fd);
  grove_socket *s;
  int rc = wrap(hub, fd, &s);
  if (rc) {
    close(fd);
    return rc;
  }
  int r;
  do
    r = connect(fd, sa, len);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno == EAGAIN && sa->sa_family == AF_UNIX)
    rc = GROVE_EAGAIN; /* the listener's backlog is full */
  else if (r < 0 && errno != EINPROGRESS)
    rc = -errno;
  else if (r < 0) {
    rc = wait_io(s, UV_WRITABLE, deadline, "connect");
    if (rc == 0) {
      int err = 0;
      socklen_t el = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        err = errno;
      rc = -err;
    }
  }
  if (rc) {
    grove_socket_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

int grove_tcp_connect(const char *host, int port, grove_socket **out, double timeout) {
  if (out)
    *out = NULL;
  if (!out || !host || !*host || port <= 0 || port > 65535)
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  uint64_t deadline;
  int rc = grove__begin_wait(hub, timeout, &deadline);
  if (rc)
    return rc;
  struct sockaddr_storage ss;
  socklen_t len;
  if (grove_sockaddr_parse(host, port, &ss, &len) == 0)
    return connect_addr(hub, (struct sockaddr *)&ss, len, deadline, out);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res;
  char svc[8];
  snprintf(svc, sizeof svc, "%d", port);
  rc = grove_getaddrinfo(host, svc, &hints, &res, grove__seconds_left(deadline));
  if (rc)
    return rc;
  rc = GROVE_EHOSTUNREACH;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    rc = connect_addr(hub, ai->ai_addr, ai->ai_addrlen, deadline, out);
    if (rc == 0 || rc == GROVE_ETIMEDOUT || rc == GROVE_ECANCELED)
      break;
  }
  grove_freeaddrinfo(res);
  return rc;
}

int grove_unix_connect(const char *path, grove_socket **out, double timeout) {
  if (out)
    *out = NULL;
  if (!out)
    return GROVE_EINVAL;
  struct sockaddr_un a;
  socklen_t len;
  int rc = unix_addr(path, &a, &len);
  if (rc)
    return rc;
  grove_hub *hub = grove__hub();
  uint64_t deadline;
  if ((rc = grove__begin_wait(hub, timeout, &deadline)) != 0)
    return rc;
  return connect_addr(hub, (struct sockaddr *)&a, len, deadline, out);
}

/* ---- listening and accepting ----------------------------------------------------------------- */

static int bind_socket(const struct sockaddr *sa, socklen_t len, int type, int dual,
                       grove_socket **out) {
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  int fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int one = 1, zero = 0;
  if (sa->sa_family != AF_UNIX)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (sa->sa_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? &zero : &one, sizeof one);
  if (bind(fd, sa, len) < 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  int rc = wrap(hub, fd, out);
  if (rc)
    close(fd);
  return rc;
}

static int start_listening(grove_socket *s, int backlog) {
  if (listen(s->io.fd, backlog > 0 ? backlog : SOMAXCONN) < 0) {
    int e = -errno;
    grove_socket_close(s);
    return e;
  }
  s->listening = 1;
  return 0;
}

int grove_tcp_listen(const char *host, int port, int backlog, grove_socket **out) {
  if (!out)
    return GROVE_EINVAL;
  *out = NULL;
  struct sockaddr_storage ss;
  socklen_t len;
  int rc = grove_sockaddr_parse(host, port, &ss, &len);
  if (rc)
    return rc;
  rc = bind_socket((struct sockaddr *)&ss, len, SOCK_STREAM, !host || !*host, out);
  return rc ? rc : start_listening(*out, backlog);
}

int grove_unix_listen(const char *path, int backlog, grove_socket **out) {
  if (!out)
    return GROVE_EINVAL;
  *out = NULL;
  struct sockaddr_un a;
  socklen_t len;
  int rc = unix_addr(path, &a, &len);
  if (rc)
    return rc;
  rc = bind_socket((struct sockaddr *)&a, len, SOCK_STREAM, 0, out);
  return rc ? rc : start_listening(*out, backlog);
}

int grove_socket_accept(grove_socket *ls, grove_socket **conn, double timeout) {
  uint64_t deadline;
  if (!conn)
    return GROVE_EINVAL;
  *conn = NULL;
  int rc = begin(ls, timeout, &deadline);
  if (rc)
    return rc;
  if (!ls->listening)
    return GROVE_EINVAL;
  for (;;) {
    int fd = accept4(ls->io.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      struct sockaddr_storage ss;
      socklen_t len = sizeof ss;
      if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family != AF_UNIX)
        tune_tcp(fd);
      if ((rc = wrap(ls->io.hub, fd, conn)) != 0)
        close(fd);
      return rc;
    }
    if (errno == EINTR || errno == ECONNABORTED)
      continue;
    if (errno != EAGAIN)
      return -errno;
    if ((rc = wait_io(ls, UV_READABLE, deadline, "accept")) != 0)
      return rc;
  }
}

/* ---- reading -------------------------------------------------------------------------------- */

/* One read attempt into buf: count, 0 at EOF, -EAGAIN, or an error. */
static ssize_t read_once(grove_socket *s, void *buf, size_t len) {
  for (;;) {
    ssize_t n = s->is_socket ? recv(s->io.fd, buf, len, 0) : read(s->io.fd, buf, len);
    if (n >= 0)
      return n;
    if (errno != EINTR)
      return -errno;
  }
}

static ssize_t read_deadline(grove_socket *s, void *buf, size_t len, uint64_t deadline) {
  if (s->rlen > 0) {
    size_t n = len < s->rlen ? len : s->rlen;
    memcpy(buf, s->rbuf + s->roff, n);
    s->roff += n;
    s->rlen -= n;
    return (ssize_t)n;
  }
  for (;;) {
    ssize_t n = read_once(s, buf, len);
    if (n != -EAGAIN)
      return n;
    int rc = wait_io(s, UV_READABLE, deadline, "socket read");
    if (rc)
      return rc;
  }
}

ssize_t grove_socket_read(grove_socket *s, void *buf, size_t len, double timeout) {
  uint64_t deadline;
  int rc = begin(s, timeout, &deadline);
  if (rc)
    return rc;
  if (!buf && len)
    return GROVE_EINVAL;
  if (len == 0)
    return 0;
  return read_deadline(s, buf, len, deadline);
}

int grove_socket_read_exactly(grove_socket *s, void *buf, size_t len, size_t *got, double timeout) {
  uint64_t deadline;
  size_t done = 0;
  int rc = begin(s, timeout, &deadline);
  if (rc == 0 && !buf && len)
    rc = GROVE_EINVAL;
  while (rc == 0 && done < len) {
    ssize_t n = read_deadline(s, (char *)buf + done, len - done, deadline);
    if (n > 0)
      done += (size_t)n;
    else
      rc = n == 0 ? GROVE_EOF : (int)n;
  }
  if (got)
    *got = done;
  return rc;
}

ssize_t grove_socket_read_line(grove_socket *s, char *buf, size_t cap, double timeout) {
  uint64_t deadline;
  int rc = begin(s, timeout, &deadline);
  if (rc)
    return rc;
  if (!buf || cap < 2)
    return GROVE_EINVAL;
  if (!s->rbuf && !(s->rbuf = malloc(RBUF_SIZE)))
    return GROVE_ENOMEM;
  size_t done = 0;
  for (;;) {
    /* Take what the buffer holds, up to a newline. */
    if (s->rlen > 0) {
      size_t room = cap - 1 - done;
      size_t n = s->rlen < room ? s->rlen : room;
      char *start = s->rbuf + s->roff;
      char *nl = memchr(start, '\n', n);
      if (nl)
        n = (size_t)(nl - start) + 1;
      memcpy(buf + done, start, n);
      done += n;
      s->roff += n;
      s->rlen -= n;
      if (nl || done == cap - 1)
        break;
    }
    s->roff = 0;
    ssize_t n = read_once(s, s->rbuf, RBUF_SIZE);
    if (n > 0) {
      s->rlen = (size_t)n;
      continue;
    }
    if (n == 0)
      break; /* end of stream: the partial line, or 0 */
    if (n == -EAGAIN && (rc = wait_io(s, UV_READABLE, deadline, "socket read_line")) == 0)
      continue;
    if (n != -EAGAIN)
      rc = (int)n;
    /* An error mid-line: put back what was read, for the next call (the
     * buffer is empty here: it was drained before reading). */
    if (done > RBUF_SIZE) {
      char *nb = realloc(s->rbuf, done);
      if (!nb)
        return GROVE_ENOMEM;
      s->rbuf = nb;
    }
    memcpy(s->rbuf, buf, done);
    s->roff = 0;
    s->rlen = done;
    return rc;
  }
  buf[done] = 0;
  return (ssize_t)done;
}

/* ---- writing -----------------------------------------------------------------------------------
 */

/* write(2) on a pipe whose reader is gone raises SIGPIPE, which would end
 * the process: block it around the write and consume the one it raised
 * (sockets have MSG_NOSIGNAL). */
static ssize_t pipe_write(int fd, const void *buf, size_t len) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  sigset_t pending;
  sigpending(&pending);
  int was_pending = sigismember(&pending, SIGPIPE);
  ssize_t n = write(fd, buf, len);
  int e = errno;
  if (n < 0 && e == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_set, NULL, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = e;
  return n;
}

static ssize_t write_once(grove_socket *s, const void *buf, size_t len) {
  for (;;) {
    ssize_t n =
        s->is_socket ? send(s->io.fd, buf, len, MSG_NOSIGNAL) : pipe_write(s->io.fd, buf, len);
    if (n >= 0)
      return n;
    if (errno != EINTR)
      return -errno;
  }
}

ssize_t grove_socket_write(grove_socket *s, const void *buf, size_t len, double timeout) {
  uint64_t deadline;
  int rc = begin(s, timeout, &deadline);
  if (rc)
    return rc;
  if (!buf && len)
    return GROVE_EINVAL;
  if (len == 0)
    return 0;
  for (;;) {
    ssize_t n = write_once(s, buf, len);
    if (n != -EAGAIN)
      return n;
    if ((rc = wait_io(s, UV_WRITABLE, deadline, "socket write")) != 0)
      return rc;
  }
}

int grove_socket_write_all(grove_socket *s, const void *buf, size_t len, size_t *sent,
                           double timeout) {
  uint64_t deadline;
  size_t done = 0;
  int rc = begin(s, timeout, &deadline);
  if (rc == 0 && !buf && len)
    rc = GROVE_EINVAL;
  while (rc == 0 && done < len) {
    ssize_t n = write_once(s, (const char *)buf + done, len - done);
    if (n >= 0)
      done += (size_t)n;
    else if (n == -EAGAIN)
      rc = wait_io(s, UV_WRITABLE, deadline, "socket write_all");
    else
      rc = (int)n;
  }
  if (sent)
    *sent = done;
  return rc;
}

int grove_socket_shutdown(grove_socket *s, int how) {
  int rc = check(s);
  if (rc)
    return rc;
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
    return GROVE_EINVAL;
  return shutdown(s->io.fd, how) == 0 ? 0 : -errno;
}

/* ---- UDP ----------------------------------------------------------------------------------------
 */

int grove_udp_bind(const char *host, int port, grove_socket **out) {
  if (!out)
    return GROVE_EINVAL;
  *out = NULL;
  struct sockaddr_storage ss;
  socklen_t len;
  int rc = grove_sockaddr_parse(host, port, &ss, &len);
  if (rc)
    return rc;
  return bind_socket((struct sockaddr *)&ss, len, SOCK_DGRAM, !host || !*host, out);
}

ssize_t grove_socket_sendto(grove_socket *s, const void *buf, size_t len, const struct sockaddr *to,
                            socklen_t tolen, double timeout) {
  uint64_t deadline;
  int rc = begin(s, timeout, &deadline);
  if (rc)
    return rc;
  if ((!buf && len) || !to)
    return GROVE_EINVAL;
  for (;;) {
    ssize_t n = sendto(s->io.fd, buf, len, MSG_NOSIGNAL, to, tolen);
    if (n >= 0)
      return n;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return -errno;
    if ((rc = wait_io(s, UV_WRITABLE, deadline, "socket sendto")) != 0)
      return rc;
  }
}

ssize_t grove_udp_sendto(grove_socket *s, const void *buf, size_t len, const char *host, int port,
                         double timeout) {
  struct sockaddr_storage ss;
  socklen_t sl;
  if (!host || !*host)
    return GROVE_EINVAL;
  int rc = grove_sockaddr_parse(host, port, &ss, &sl);
  if (rc)
    return rc;
  return grove_socket_sendto(s, buf, len, (struct sockaddr *)&ss, sl, timeout);
}

ssize_t grove_socket_recvfrom(grove_socket *s, void *buf, size_t len, struct sockaddr_storage *from,
                              socklen_t *fromlen, double timeout) {
  uint64_t deadline;
  int rc = begin(s, timeout, &deadline);
  if (rc)
    return rc;
  if (!buf && len)
    return GROVE_EINVAL;
  for (;;) {
    socklen_t fl = sizeof(struct sockaddr_storage);
    ssize_t n = recvfrom(s->io.fd, buf, len, MSG_TRUNC, (struct sockaddr *)from, from ? &fl : NULL);
    if (n >= 0) {
      if (fromlen)
        *fromlen = from ? fl : 0;
      return n;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return -errno;
    if ((rc = wait_io(s, UV_READABLE, deadline, "socket recvfrom")) != 0)
      return rc;
  }
}
