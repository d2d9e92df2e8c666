/* grove/io.h - cooperative I/O on the hub (gevent.socket, gevent.server,
 * gevent.subprocess, gevent.threadpool, gevent.signal, gevent's monitor).
 *
 * Every call here blocks only the calling greenlet: while it waits, the hub
 * runs the others. Every blocking call takes a timeout in seconds (negative:
 * forever, 0: poll), honours the scoped grove_timeout_start deadline, and
 * returns GROVE_ECANCELED once the greenlet is killed. Errors are negative
 * codes: grove's own (GROVE_ETIMEDOUT, GROVE_ECONNRESET, GROVE_EPIPE, ...) or
 * a negated errno / libuv code; grove_strerror() describes any of them.
 *
 * Sockets are non-blocking file descriptors wrapped in a grove_socket. A
 * socket belongs to the hub (thread) that created it. Several greenlets may
 * wait on one socket; each is woken when the socket becomes ready and
 * retries (one reader and one writer at a time is the sane use, as in gevent).
 */
#ifndef GROVE_IO_H
#define GROVE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <stdint.h>
#include <sys/types.h>

#include "greenlet.h"
#include "group.h"

struct addrinfo;

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* ---- waiting on any file descriptor (gevent.socket.wait_read/wait_write) -- */

/* Block until fd is readable (or writable), or has an error or hang-up (the
 * next read/write then reports it). Returns 0, GROVE_ETIMEDOUT,
 * GROVE_ECANCELED, GROVE_EBADF-style negated errno for a bad fd, GROVE_EPERM
 * from the hub's own context. libuv makes the fd non-blocking. Works for
 * sockets, pipes, terminals, eventfds: anything epoll accepts (not regular
 * files: GROVE_EPERM). The fd must stay open while the call waits; to close
 * an fd other greenlets wait on, call grove_fd_cancel_wait first. */
int grove_wait_readable(int fd, double timeout);
int grove_wait_writable(int fd, double timeout);

/* Wake every greenlet waiting on fd with GROVE_ECLOSED (gevent's
 * cancel_wait). The fd is unregistered at once: it may be closed, or
 * waited on again, before the woken greenlets have run. Returns the number
 * of greenlets woken. */
int grove_fd_cancel_wait(int fd);

/* ---- sockets ---------------------------------------------------------------- */

typedef struct grove_socket grove_socket;

/* TCP client. host is an IPv4 or IPv6 literal or a name (resolved with
 * grove_getaddrinfo; each address is tried in turn). Returns 0 and a
 * connected socket in *out, or GROVE_ECONNREFUSED, GROVE_ETIMEDOUT, a
 * resolver error, ... The timeout covers resolution and connection. */
int grove_tcp_connect(const char *host, int port, grove_socket **out, double timeout);

/* TCP listener bound to host:port (host NULL or "" = every IPv4 and IPv6
 * address, "0.0.0.0" = every IPv4 one, "::" = every IPv6 one (v6 only));
 * port 0 picks a free port (see grove_socket_port). SO_REUSEADDR is set.
 * backlog <= 0 means SOMAXCONN. */
int grove_tcp_listen(const char *host, int port, int backlog, grove_socket **out);

/* Unix domain stream sockets. listen unlinks nothing: remove a stale path
 * yourself (GROVE_EADDRINUSE otherwise); a path starting with '@' is in the
 * Linux abstract namespace. connect returns GROVE_EAGAIN at once when the
 * listener's backlog is full (the kernel does not queue the attempt). */
int grove_unix_connect(const char *path, grove_socket **out, double timeout);
int grove_unix_listen(const char *path, int backlog, grove_socket **out);

/* Accept one connection. */
int grove_socket_accept(grove_socket *listener, grove_socket **conn, double timeout);

/* Wrap an existing socket or pipe fd (made non-blocking, closed by
 * grove_socket_close). A listening socket (one inherited from a parent,
 * say) can be accepted on and given to a server. */
int grove_socket_wrap(int fd, grove_socket **out);

/* Read what is available, at most len bytes (waiting for at least one).
 * Returns the count (> 0), 0 at end of stream, or an error. */
ssize_t grove_socket_read(grove_socket *s, void *buf, size_t len, double timeout);

/* Read exactly len bytes. Returns 0, GROVE_EOF if the stream ended first
 * (*got, if given, says how many bytes arrived), or an error. */
int grove_socket_read_exactly(grove_socket *s, void *buf, size_t len, size_t *got, double timeout);

/* Read one line, up to and including '\n', into buf (NUL-terminated, as
 * fgets): returns its length, at most cap - 1 (a longer line comes back in
 * pieces: the piece does not end with '\n'); a last line without '\n' at end
 * of stream; 0 at end of stream; or an error. Bytes read past the line are
 * kept for the next read on the socket. */
ssize_t grove_socket_read_line(grove_socket *s, char *buf, size_t cap, double timeout);

/* Write what fits now, at least one byte (waiting until some fits).
 * Returns the count or an error (GROVE_EPIPE, GROVE_ECONNRESET...). */
ssize_t grove_socket_write(grove_socket *s, const void *buf, size_t len, double timeout);

/* Write all len bytes. Returns 0 or an error; *sent, if given, says how many
 * bytes went out (also on error). The timeout covers the whole write. */
int grove_socket_write_all(grove_socket *s, const void *buf, size_t len, size_t *sent,
                           double timeout);

/* shutdown(2): SHUT_RD, SHUT_WR or SHUT_RDWR (half-close). */
int grove_socket_shutdown(grove_socket *s, int how);

/* Close the socket and free it. Greenlets blocked on it wake with
 * GROVE_ECLOSED. Returns 0 or an error from close(2) (the socket is freed
 * anyway). NULL is a no-op. */
int grove_socket_close(grove_socket *s);

int grove_socket_fd(const grove_socket *s);

/* The local (sockname) / remote (peername) address as text: "127.0.0.1",
 * "::1", or a Unix path, and the port (0 for Unix sockets). */
int grove_socket_sockname(const grove_socket *s, char *host, size_t hostlen, int *port);
int grove_socket_peername(const grove_socket *s, char *host, size_t hostlen, int *port);
/* The bound port (for a listener on port 0), or a negative error. */
int grove_socket_port(const grove_socket *s);

/* ---- UDP ---------------------------------------------------------------------- */

/* A UDP socket bound to host:port (host as for grove_tcp_listen; port 0 for
 * any). A client that only sends may bind "127.0.0.1" (or "::1") port 0. */
int grove_udp_bind(const char *host, int port, grove_socket **out);

/* Send one datagram to host:port (an address literal). Returns the bytes
 * sent or an error (GROVE_EMSGSIZE for a datagram too large). */
ssize_t grove_udp_sendto(grove_socket *s, const void *buf, size_t len, const char *host, int port,
                         double timeout);
ssize_t grove_socket_sendto(grove_socket *s, const void *buf, size_t len, const struct sockaddr *to,
                            socklen_t tolen, double timeout);

/* Receive one datagram (truncated to len). from/fromlen may be NULL. Returns
 * the datagram's length (which may exceed len if it was truncated) or an
 * error. */
ssize_t grove_socket_recvfrom(grove_socket *s, void *buf, size_t len, struct sockaddr_storage *from,
                              socklen_t *fromlen, double timeout);

/* Parse an address literal ("127.0.0.1", "::1", NULL/"" = any) into a
 * sockaddr; and format one back ("127.0.0.1", port). */
int grove_sockaddr_parse(const char *host, int port, struct sockaddr_storage *out,
                         socklen_t *outlen);
int grove_sockaddr_format(const struct sockaddr *sa, char *host, size_t hostlen, int *port);

/* ---- servers (gevent.server.StreamServer / DatagramServer) ------------------------ */

typedef struct grove_server grove_server;

/* Runs in its own greenlet for each connection. The server closes conn
 * when the handler returns: do not close it yourself. */
typedef void (*grove_stream_handler)(grove_socket *conn, void *arg);

/* Runs for each datagram, in the server's greenlet (one at a time, as gevent
 * runs DatagramServer handlers one after another unless given a pool);
 * reply with grove_socket_sendto(sock, ..., from, fromlen, ...). */
typedef void (*grove_datagram_handler)(grove_socket *sock, const void *data, size_t len,
                                       const struct sockaddr *from, socklen_t fromlen, void *arg);

/* A stream server on a listening socket (the server takes it over). With a
 * pool (grove_pool_new(n)), at most n handlers run at once: the server stops
 * accepting while the pool is full; without one (NULL), every connection
 * gets a greenlet. The pool is the caller's and must outlive the server. */
int grove_stream_server_new(grove_socket *listener, grove_stream_handler handler, void *arg,
                            grove_group *pool, grove_server **out);
/* A datagram server on a bound UDP socket (the server takes it over). */
int grove_datagram_server_new(grove_socket *sock, grove_datagram_handler handler, void *arg,
                              grove_server **out);

/* Start accepting in a greenlet of the server's, and return. */
int grove_server_start(grove_server *srv);
/* Start (if not started) and block until the server is stopped (by
 * grove_server_stop from another greenlet) or the call fails (timeout and
 * kill as usual; the server keeps running then). */
int grove_server_serve_forever(grove_server *srv, double timeout);
/* Graceful stop: stop accepting and close the listener at once, wait up to
 * `timeout` for running handlers to finish, then kill the rest (they see
 * GROVE_ECANCELED) and wait for them to end. Returns 0, or GROVE_ETIMEDOUT
 * if handlers had to be killed. Idempotent. */
int grove_server_stop(grove_server *srv, double timeout);
/* Connections being handled right now. */
size_t grove_server_connections(const grove_server *srv);
/* Connections accepted since the start. */
uint64_t grove_server_accepted(const grove_server *srv);
/* The listening port (for a server on port 0). */
int grove_server_port(const grove_server *srv);
/* Free a server: stops it first (timeout 0: kills handlers at once). */
void grove_server_free(grove_server *srv);

/* ---- DNS ------------------------------------------------------------------------- */

/* getaddrinfo(3) on libuv's thread pool. Returns 0 with *res (free it with
 * grove_freeaddrinfo), or a libuv resolver code (UV_EAI_NONAME...: describe
 * it with grove_strerror), GROVE_ETIMEDOUT, GROVE_ECANCELED. */
int grove_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                      struct addrinfo **res, double timeout);
void grove_freeaddrinfo(struct addrinfo *res);

/* ---- threadpool (gevent.threadpool.ThreadPool.apply) ------------------------------- */

/* Work for another thread: returns 0 or a negative error, and may set
 * *result. It must not call grove (it runs on a thread without a hub). */
typedef int (*grove_work_fn)(void *arg, void **result);

/* Run fn(arg, &result) on libuv's thread pool while the calling greenlet
 * waits. Returns fn's return value (result in *result, if given), or
 * GROVE_ETIMEDOUT / GROVE_ECANCELED if the wait ended first: fn cannot be
 * interrupted, it finishes in the background and its result is dropped, so
 * arg must stay valid until fn returns (give it heap memory fn frees, say).
 * The pool has UV_THREADPOOL_SIZE threads (4 by default), shared with DNS. */
int grove_threadpool_apply(grove_work_fn fn, void *arg, void **result, double timeout);

/* ---- subprocess (gevent.subprocess) ------------------------------------------------ */

typedef struct grove_subprocess grove_subprocess;

enum {
  GROVE_STDIO_INHERIT = 0, /* the child shares the parent's fd */
  GROVE_STDIO_PIPE,        /* a pipe to the parent (grove_subprocess_stdin/out/err) */
  GROVE_STDIO_DEVNULL,     /* /dev/null */
  GROVE_STDIO_STDOUT       /* stderr only: into the same place as stdout */
};

typedef struct grove_subprocess_opts {
  const char *const *argv;                  /* NULL-terminated; argv[0] is searched in PATH */
  const char *const *env;                   /* NULL-terminated "K=V" list, NULL: inherit */
  const char *cwd;                          /* NULL: inherit */
  int stdin_mode, stdout_mode, stderr_mode; /* GROVE_STDIO_* */
  /* Nonzero: the child is sent SIGKILL when the thread that spawned it ends
   * - its hub's thread, so the process, for the main hub - whatever the
   * cause, SIGKILL of this process included (Linux's parent-death signal,
   * set in the child before it execs, so there is no moment at which it
   * could outlive us unnoticed; a child stopped by SIGSTOP dies too). On
   * kernels without pidfd_open (before 5.3) this returns GROVE_ENOSYS. */
  int die_with_parent;
} grove_subprocess_opts;

/* Start a child process. Returns 0, or an error (GROVE_ENOENT when argv[0]
 * is not found, GROVE_EINVAL...). The first spawn sets SIGPIPE to SIG_IGN if
 * it still has its default action (as Python does), so that writing to a
 * child that closed its stdin is GROVE_EPIPE rather than the end of the
 * process; grove's own socket and pipe writes never raise SIGPIPE. */
int grove_subprocess_spawn(const grove_subprocess_opts *opts, grove_subprocess **out);

/* The parent's ends of the pipes (NULL unless GROVE_STDIO_PIPE); owned by the
 * subprocess object. Use the grove_socket_* calls on them. */
grove_socket *grove_subprocess_stdin(grove_subprocess *p);
grove_socket *grove_subprocess_stdout(grove_subprocess *p);
grove_socket *grove_subprocess_stderr(grove_subprocess *p);
int grove_subprocess_pid(const grove_subprocess *p);

/* Write input (if any) to stdin and close it, read stdout and stderr to the
 * end (into malloc'ed, NUL-terminated buffers the caller frees; out/err may
 * be NULL to discard), and wait for the exit: Popen.communicate. Returns 0 or
 * an error (GROVE_ETIMEDOUT leaves the child running). */
int grove_subprocess_communicate(grove_subprocess *p, const void *input, size_t inlen, char **out,
                                 size_t *outlen, char **err, size_t *errlen, double timeout);

/* Wait for the child to exit. *returncode (may be NULL) is its exit status,
 * or -N if signal N killed it (Popen.returncode). */
int grove_subprocess_wait(grove_subprocess *p, int *returncode, double timeout);
/* Exit status without waiting: 0 and *returncode once it has exited,
 * GROVE_EAGAIN while it runs. */
int grove_subprocess_poll(grove_subprocess *p, int *returncode);
/* Send a signal (SIGTERM, SIGKILL...). -ESRCH once the child was reaped. */
int grove_subprocess_kill(grove_subprocess *p, int signum);
/* Free the object and its pipes. A child still running is killed with
 * SIGKILL and reaped in the background. */
void grove_subprocess_free(grove_subprocess *p);

/* ---- signals (gevent.signal_handler) ------------------------------------------------ */

typedef struct grove_signal_handler grove_signal_handler;

/* Block until signal signum arrives (the default action is suppressed while
 * a greenlet waits or a handler is installed). Returns 0 when it arrived. */
int grove_signal_wait(int signum, double timeout);

/* Run fn(arg) in a new greenlet each time signum arrives, until cancelled.
 * The handler does not keep the hub alive (a program whose other greenlets
 * all ended still ends). NULL on error. */
grove_signal_handler *grove_signal_handle(int signum, grove_fn fn, void *arg);
void grove_signal_handler_cancel(grove_signal_handler *h);

/* ---- blocking detection (gevent's monitor thread) ------------------------------------ */

/* Called from the monitor thread: the greenlet (name, entry function) has run
 * for `seconds` without yielding to the hub. Must not call grove. */
typedef void (*grove_watchdog_fn)(const char *greenlet_name, void *greenlet_fn, double seconds,
                                  void *arg);

/* Start a monitor thread for the calling thread's hub: when one greenlet
 * runs longer than max_blocking_time seconds without switching, it calls
 * report (NULL: print one line to stderr naming the greenlet and its
 * function), once per blocking episode. */
int grove_watchdog_start(double max_blocking_time, grove_watchdog_fn report, void *arg);
int grove_watchdog_stop(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
