/* net/net.h - what the files of net/ share, and nothing else sees.
 *
 * net/ is built only on grove's public API (grove/io.h and friends). A
 * connection's bytes go through a grove__stream: a plain grove_socket, or a
 * TLS session over one, so that HTTP and WebSockets read and write the same
 * way with and without TLS.
 */
#ifndef GROVE_NET_NET_H
#define GROVE_NET_NET_H

#include <grove.h>
#include <grove/http.h>
#include <grove/tls.h>
#include <grove/websocket.h>

#include <stdint.h>
#include <time.h>

typedef struct grove__stream {
  grove_socket *sock;
  grove_tls *tls; /* NULL: plain */
} grove__stream;

static inline ssize_t grove__stream_read(grove__stream *s, void *buf, size_t len, double timeout) {
  return s->tls ? grove_tls_read(s->tls, buf, len, timeout)
                : grove_socket_read(s->sock, buf, len, timeout);
}

static inline int grove__stream_write(grove__stream *s, const void *buf, size_t len,
                                      double timeout) {
  return s->tls ? grove_tls_write_all(s->tls, buf, len, timeout)
                : grove_socket_write_all(s->sock, buf, len, NULL, timeout);
}

/* Monotonic seconds; deadlines in net/ are absolute times on this clock. */
static inline double grove__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What is left of a deadline as a timeout: negative (forever) for no
 * deadline, never negative otherwise (0: poll, then GROVE_ETIMEDOUT). */
static inline double grove__remaining(double deadline) {
  if (deadline < 0)
    return -1;
  double left = deadline - grove__now();
  return left > 0 ? left : 0;
}

static inline double grove__deadline(double timeout) {
  return timeout < 0 ? -1 : grove__now() + timeout;
}

/* ---- between the HTTP server and WebSockets (http_server.c) --------------------------- */

/* The connection under a request, and the bytes received after its head
 * (the first WebSocket frames may come with the upgrade request). */
grove__stream *grove__http_stream(grove_http_request *req);
void grove__http_leftover(grove_http_request *req, const char **data, size_t *len);
/* Mark the request as answered by an upgrade: the server writes nothing
 * after the handler, frees ws (grove__ws_end) and closes the connection. */
void grove__http_upgraded(grove_http_request *req, grove_ws *ws);
/* Has the server begun to stop? */
bool grove__http_stopping(const grove_http_request *req);
/* The response was already started or sent. */
bool grove__http_responded(const grove_http_request *req);
/* Write the status line, the added headers and `extra` (CRLF-separated
 * header lines, or NULL), then the blank line; no body. For 101. */
int grove__http_write_head(grove_http_request *req, int status, const char *extra, double timeout);

/* The end of a server-side WebSocket when its handler returned (websocket.c):
 * send a close frame if none was sent, wait briefly for the peer's, free. */
void grove__ws_end(grove_ws *ws, bool stopping);

/* The server is stopping: send a 1001 close frame now if it can go without
 * waiting, so that the peer's answer ends the handler's recv (GROVE_EOF)
 * before the grace period runs out. */
void grove__ws_going_away(grove_ws *ws);

/* Base64 of a WebSocket key with the RFC's GUID, hashed (SHA-1): the
 * Sec-WebSocket-Accept value, 28 characters and a NUL. */
void grove__ws_accept_key(const char *key, size_t keylen, char out[29]);

/* UTF-8 validity (RFC 3629: no overlongs, no surrogates, at most U+10FFFF). */
bool grove__utf8_valid(const unsigned char *s, size_t n);

#endif
