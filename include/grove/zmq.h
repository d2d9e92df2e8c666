/* grove/zmq.h - cooperative ZeroMQ sockets (zmq.green's role).
 *
 * Send and receive on your own ZeroMQ sockets (made with zmq_socket on a
 * context of yours) so that a call blocks only the calling greenlet: while
 * it waits, the hub runs the others. This is not the transport (nodes and
 * remote actors, grove/transport.h); it is plain libzmq, made cooperative:
 *
 *   void *ctx = zmq_ctx_new(), *req = zmq_socket(ctx, ZMQ_REQ);
 *   zmq_connect(req, "ipc:///tmp/server");
 *   grove_zmq_send(req, "Hello", 5, 0, GROVE_FOREVER);
 *   char buf[64];
 *   int n = grove_zmq_recv(req, buf, sizeof buf, 0, 5.0);
 *
 * Every blocking call takes a timeout in seconds (negative: forever, 0:
 * poll), honours the scoped grove_timeout_start deadline, and returns
 * GROVE_ECANCELED once the greenlet is killed (also when it was killed
 * before the call). Failures are negative codes: GROVE_ETIMEDOUT,
 * GROVE_ECANCELED, GROVE_EAGAIN (ZMQ_DONTWAIT and not ready),
 * GROVE_EFSM (ZeroMQ's EFSM: a REQ socket sending twice, a REP socket
 * sending before it received), GROVE_EHOSTUNREACH (a ROUTER with
 * ZMQ_ROUTER_MANDATORY and no such peer), GROVE_ECLOSED (the context was
 * terminated, ETERM, or grove_zmq_close closed the socket while the call
 * waited), GROVE_EINVAL (NULL, a NaN timeout, not a socket), GROVE_EPERM
 * (a blocking call from the hub's own context), or another negated errno
 * (zmq_strerror(-rc) describes it).
 *
 * A socket belongs to one thread (ZeroMQ's rule): use it from the
 * greenlets of one hub. Several greenlets may block on one socket at once
 * (a reader and a writer, or several readers of a PULL socket); each is
 * served when the socket is ready for it. Thread-safe draft sockets
 * (ZMQ_CLIENT, ZMQ_SERVER...) have no ZMQ_FD and are not supported.
 *
 * zmq_ctx_term (zmq_ctx_destroy) and zmq_close with a linger still block
 * the whole thread as in libzmq: set ZMQ_LINGER to 0 or a bound.
 */
#ifndef GROVE_ZMQ_H
#define GROVE_ZMQ_H

#include <stddef.h>
#include <zmq.h>

#include "greenlet.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* One frame of a multipart message given as a buffer. */
typedef struct grove_zmq_part {
  const void *data;
  size_t size;
} grove_zmq_part;

/* ---- one frame -------------------------------------------------------------------- */

/* Send len bytes from buf as one frame (ZeroMQ copies them). flags: 0, or
 * ZMQ_SNDMORE (more frames of the same message follow), ZMQ_DONTWAIT (do
 * not wait: GROVE_EAGAIN if the socket cannot take it now). Blocks while
 * the socket cannot queue the frame (high-water mark reached, REQ waiting
 * for its reply...). Returns len, or an error (GROVE_EMSGSIZE when len is
 * above INT_MAX). */
int grove_zmq_send(void *socket, const void *buf, size_t len, int flags, double timeout);

/* Receive one frame into buf (at most len bytes; a longer frame is
 * truncated, as with zmq_recv). flags: 0 or ZMQ_DONTWAIT. Returns the
 * frame's full size (which exceeds len if it was truncated), or an error.
 * grove_zmq_more tells whether more frames of the message follow. */
int grove_zmq_recv(void *socket, void *buf, size_t len, int flags, double timeout);

/* Send a zmq_msg_t (zero-copy: zmq_msg_init_data works). Takes the
 * message's content in every case: on success ZeroMQ owns it, on failure
 * it is released; either way *msg is left an empty, initialised message
 * (zmq_msg_close on it is harmless). flags as grove_zmq_send. Returns the
 * message's size or an error. */
int grove_zmq_msg_send(void *socket, zmq_msg_t *msg, int flags, double timeout);

/* Receive one frame into msg, an initialised message (zmq_msg_init); its
 * previous content is released. The caller closes msg. flags: 0 or
 * ZMQ_DONTWAIT. Returns the frame's size or an error. */
int grove_zmq_msg_recv(void *socket, zmq_msg_t *msg, int flags, double timeout);

/* 1 if the last frame received on socket is followed by more frames of the
 * same message (ZMQ_RCVMORE), 0 if not, or an error. Never blocks. */
int grove_zmq_more(void *socket);

/* ---- whole multipart messages ------------------------------------------------------ */

/* Send parts[0..n) as one message (n >= 1). ZeroMQ delivers a message
 * whole or not at all: the call waits (up to timeout) until the socket
 * takes the first part, and the others are then queued without waiting.
 * Returns 0 or an error. */
int grove_zmq_send_parts(void *socket, const grove_zmq_part *parts, size_t n, double timeout);

/* Send msgs[0..n) as one message (n >= 1). Takes every message's content
 * in every case (each is left empty and initialised, as with
 * grove_zmq_msg_send). Returns 0 or an error. */
int grove_zmq_msg_send_parts(void *socket, zmq_msg_t *msgs, size_t n, double timeout);

/* Receive one whole message: its parts go to msgs[0..*n) (the call
 * initialises them; msgs need not be). The caller closes msgs[0..*n) -
 * also after an error, when *n may be above 0. Returns 0; or
 * GROVE_EMSGSIZE when the message has more than cap parts: the first cap
 * are kept (*n == cap) and the rest were received and released; or
 * another error (*n parts were received before it). */
int grove_zmq_msg_recv_parts(void *socket, zmq_msg_t *msgs, size_t cap, size_t *n, double timeout);

/* ---- several sockets ----------------------------------------------------------------- */

/* zmq_poll, cooperative: wait until one of items[0..n) is ready (ZeroMQ
 * sockets and plain fds, as zmq_poll takes them; revents are set as
 * zmq_poll sets them). Returns the number of ready items (> 0), or
 * GROVE_ETIMEDOUT when none became ready in time (timeout 0: none is now),
 * GROVE_ECLOSED if grove_zmq_close closed one of the sockets meanwhile, or
 * another error. */
int grove_zmq_poll(zmq_pollitem_t *items, int n, double timeout);

/* ---- closing ----------------------------------------------------------------------------- */

/* Wake every greenlet blocked on socket (in the calls above), which return
 * GROVE_ECLOSED, then zmq_close it. Use it instead of zmq_close when
 * another greenlet may be blocked on the socket. Returns 0 or zmq_close's
 * error. Does not block (the linger applies to zmq_ctx_term). */
int grove_zmq_close(void *socket);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
