/* grove/error.h - error codes shared by every grove call.
 *
 * Every fallible grove call returns 0 on success or a negative GROVE_E* code.
 * Codes that have a POSIX errno counterpart use its negated value (as libuv
 * does), so an error that comes from the operating system or from libuv can be
 * returned unchanged and still be named by grove_strerror(). Codes that exist
 * only in grove live in a private range below -4000.
 */
#ifndef GROVE_ERROR_H
#define GROVE_ERROR_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* XX(name, value, message): the one table that generates the enum,
 * grove_strerror() and grove_err_name(). */
#define GROVE_ERRNO_MAP(XX)                                                                        \
  XX(ETIMEDOUT, (-ETIMEDOUT), "operation timed out")                                               \
  XX(ECANCELED, (-ECANCELED), "operation canceled: the greenlet was killed")                       \
  XX(EINVAL, (-EINVAL), "invalid argument")                                                        \
  XX(ENOMEM, (-ENOMEM), "out of memory")                                                           \
  XX(ENOENT, (-ENOENT), "no such entry")                                                           \
  XX(EPERM, (-EPERM), "operation not permitted (wrong thread or not the owner)")                   \
  XX(EBUSY, (-EBUSY), "resource busy: greenlets are still waiting on it")                          \
  XX(EDEADLK, (-EDEADLK), "deadlock: a greenlet would wait for itself")                            \
  XX(EOVERFLOW, (-EOVERFLOW), "released more times than acquired")                                 \
  XX(EEXIST, (-EEXIST), "already exists")                                                          \
  XX(EAGAIN, (-EAGAIN), "resource temporarily unavailable")                                        \
  XX(ENOSYS, (-ENOSYS), "not supported on this platform")                                          \
  XX(ECONNREFUSED, (-ECONNREFUSED), "connection refused")                                          \
  XX(ECONNRESET, (-ECONNRESET), "connection reset by peer")                                        \
  XX(EPIPE, (-EPIPE), "broken pipe: the peer closed its end")                                      \
  XX(EADDRINUSE, (-EADDRINUSE), "address already in use")                                          \
  XX(EHOSTUNREACH, (-EHOSTUNREACH), "host or node unreachable")                                    \
  XX(EMSGSIZE, (-EMSGSIZE), "message too long")                                                    \
  XX(ENOTCONN, (-ENOTCONN), "not connected")                                                       \
  XX(EPROTO, (-EPROTO), "protocol error: malformed or unexpected data from a peer")                \
  XX(ENAMETOOLONG, (-ENAMETOOLONG), "name too long")                                               \
  XX(ERANGE, (-ERANGE), "result too large for the buffer given")                                   \
  XX(EEMPTY, (-4001), "queue is empty")                                                            \
  XX(EFULL, (-4002), "queue is full")                                                              \
  XX(ELOOPEXIT, (-4003), "hub loop exited: nothing can ever wake the blocked greenlet")            \
  XX(EFAILED, (-4004), "the greenlet failed")                                                      \
  XX(ECLOSED, (-4005), "object is closed")                                                         \
  XX(EFSM, (-4006), "not valid in the socket's current state (ZeroMQ EFSM)")                       \
  XX(ESTATUS, (-4007), "the child process exited with a nonzero status")                           \
  XX(EEXITED, (-4008), "the callee exited before replying")                                        \
  XX(EINSECURE, (-4009),                                                                           \
     "refused: a cluster node on a non-loopback address without CURVE keys (or allow_open)")       \
  XX(EOF, (-4095), "end of iteration")

typedef enum {
#define GROVE__ERR_ENUM(name, value, msg) GROVE_##name = value,
  GROVE_ERRNO_MAP(GROVE__ERR_ENUM)
#undef GROVE__ERR_ENUM
      GROVE_OK = 0
} grove_errno;

/* A static, human-readable description of `code` ("operation timed out").
 * Codes grove does not know are described by strerror() (another errno
 * value returned from an I/O call) or by libuv (a UV_EAI_* resolver error);
 * never returns NULL. */
const char *grove_strerror(int code);

/* The symbolic name of `code` ("GROVE_ETIMEDOUT"), "GROVE_OK" for 0, or
 * "GROVE_UNKNOWN" for a code outside the table. Never returns NULL. */
const char *grove_err_name(int code);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
