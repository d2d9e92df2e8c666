/* transport/zap.c - which CURVE clients may connect: a ZAP handler
 * (ZeroMQ RFC 27) in the node's context, answering from the hub.
 *
 * With curve_allowed set, ZeroMQ asks inproc://zeromq.zap.01 about every
 * client that completed the CURVE handshake; the handler answers 200 for a
 * listed public key and 400 for any other, and the connection is refused.
 * A CURVE node whose introspection service is on runs the handler even
 * without curve_allowed, admitting every key: its answer's User-Id (the
 * client's key, Z85) is then attached by ZeroMQ to every frame of that
 * connection, which is how the service knows who asks (introspect.c).
 */
#include "transport_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

static void zap_poll_cb(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  grove__node_schedule_drain(h->data);
}

int grove__zap_start(grove__node *n, const char *const *allowed) {
  size_t count = 0;
  n->zap_all = allowed == NULL;
  while (allowed && allowed[count])
    count++;
  n->zap_allowed = calloc(count ? count : 1, sizeof *n->zap_allowed);
  if (!n->zap_allowed)
    return GROVE_ENOMEM;
  for (size_t i = 0; i < count; i++) {
    if (strlen(allowed[i]) != 40)
      return GROVE_EINVAL;
    char *k = malloc(32);
    if (!k)
      return GROVE_ENOMEM;
    if (!zmq_z85_decode((uint8_t *)k, allowed[i])) {
      free(k);
      return GROVE_EINVAL;
    }
    n->zap_allowed[n->nzap_allowed++] = k;
  }
  n->zap = zmq_socket(n->zctx, ZMQ_REP);
  if (!n->zap || zmq_bind(n->zap, "inproc://zeromq.zap.01") != 0)
    return errno ? -errno : GROVE_EINVAL;
  int fd;
  size_t len = sizeof fd;
  if (zmq_getsockopt(n->zap, ZMQ_FD, &fd, &len) != 0)
    return -errno;
  n->zap_poll = calloc(1, sizeof *n->zap_poll);
  if (!n->zap_poll)
    return GROVE_ENOMEM;
  uv_poll_init(grove__hub_loop(n->hub), n->zap_poll, fd);
  n->zap_poll->data = n;
  uv_poll_start(n->zap_poll, UV_READABLE, zap_poll_cb);
  uv_unref((uv_handle_t *)n->zap_poll);
  return 0;
}

static void zap_closed(uv_handle_t *h) { free(h); }

void grove__zap_stop(grove__node *n) {
  if (n->zap_poll) {
    uv_close((uv_handle_t *)n->zap_poll, zap_closed);
    n->zap_poll = NULL;
  }
  for (size_t i = 0; i < n->nzap_allowed; i++)
    free(n->zap_allowed[i]);
  free(n->zap_allowed);
  n->zap_allowed = NULL;
  n->nzap_allowed = 0;
}

/* Answer every pending request. */
void grove__zap_serve(grove__node *n) {
  for (;;) {
    zmq_msg_t f[8];
    int nf = 0, more = 1;
    while (more) {
      zmq_msg_t *m = &f[nf < 8 ? nf : 7];
      if (nf >= 8)
        zmq_msg_close(m);
      zmq_msg_init(m);
      if (zmq_msg_recv(m, n->zap, nf == 0 ? ZMQ_DONTWAIT : 0) < 0) {
        zmq_msg_close(m);
        for (int i = 0; i < (nf < 8 ? nf : 8); i++)
          zmq_msg_close(&f[i]);
        return;
      }
      more = zmq_msg_more(m);
      nf++;
    }
    /* version, request id, domain, address, routing id, mechanism, key */
    const char *status = "400", *text = "not allowed";
    char user[41] = "";
    if (nf >= 7 && zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
        zmq_msg_size(&f[6]) == 32) {
      /* The connection's User-Id: its key, so that every frame it sends
       * says who sent it (the introspection service's check). */
      zmq_z85_encode(user, zmq_msg_data(&f[6]), 32);
      if (n->zap_all) {
        status = "200";
        text = "OK";
      }
      for (size_t i = 0; i < n->nzap_allowed && !n->zap_all; i++) {
        if (memcmp(zmq_msg_data(&f[6]), n->zap_allowed[i], 32) == 0) {
          status = "200";
          text = "OK";
          break;
        }
      }
    }
    if (status[0] == '4') {
      uint64_t t = uv_hrtime();
      if (!n->zap_log_at || t - n->zap_log_at > GROVE__LOG_INTERVAL_NS) {
        n->zap_log_at = t;
        grove_log_event ev = {.level = GROVE_LOG_WARN, .kind = GROVE_LOG_DROP, .node = n->name};
        grove__log(&ev, "node %s: refused a CURVE client whose key is not allowed", n->name);
      }
    }
    zmq_send(n->zap, "1.0", 3, ZMQ_SNDMORE);
    if (nf >= 2)
      zmq_send(n->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
    else
      zmq_send(n->zap, "", 0, ZMQ_SNDMORE);
    zmq_send(n->zap, status, 3, ZMQ_SNDMORE);
    zmq_send(n->zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(n->zap, user, status[0] == '2' ? strlen(user) : 0, ZMQ_SNDMORE);
    zmq_send(n->zap, "", 0, 0);
    for (int i = 0; i < (nf < 8 ? nf : 8); i++)
      zmq_msg_close(&f[i]);
  }
}
