/* grove/websocket.h - WebSockets (RFC 6455) on the HTTP server, and a
 * client (gevent-websocket's role).
 *
 * A handler of grove/http.h turns its request into a WebSocket with
 * grove_ws_upgrade; a program connects to a server with grove_ws_connect
 * (ws:// or wss://). Either way a grove_ws carries whole messages, text or
 * binary: grove_ws_recv joins fragments and answers pings by itself;
 * grove_ws_send sends a message as one frame, grove_ws_send_frame sends
 * fragments. Frames from a client must be masked and frames from a server
 * must not be: the side that breaks the rule is closed with 1002. A frame or
 * message over the configured limits is refused with 1009, a text message
 * that is not UTF-8 with 1007.
 *
 * Every call that blocks takes a timeout (negative: forever, 0: poll),
 * honours grove_timeout_start and returns GROVE_ECANCELED once the greenlet
 * is killed. One greenlet receiving and another sending at the same time is
 * fine; two receiving (or two sending) at once is not.
 */
#ifndef GROVE_WEBSOCKET_H
#define GROVE_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "tls.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct grove_ws grove_ws;

/* Opcodes (RFC 6455 section 5.2); TEXT and BINARY are also what
 * grove_ws_recv returns for a message. */
enum {
  GROVE_WS_CONTINUATION = 0x0,
  GROVE_WS_TEXT = 0x1,
  GROVE_WS_BINARY = 0x2,
  GROVE_WS_CLOSE = 0x8,
  GROVE_WS_PING = 0x9,
  GROVE_WS_PONG = 0xA
};

/* Close codes (section 7.4.1) grove sends itself. */
enum {
  GROVE_WS_NORMAL = 1000,
  GROVE_WS_GOING_AWAY = 1001,
  GROVE_WS_PROTOCOL_ERROR = 1002,
  GROVE_WS_NO_STATUS = 1005, /* the peer's close frame had no code */
  GROVE_WS_ABNORMAL = 1006,  /* the connection ended without a close frame */
  GROVE_WS_INVALID_DATA = 1007,
  GROVE_WS_TOO_BIG = 1009
};

/* Limits; zero in a field means its default. */
typedef struct grove_ws_config {
  size_t max_frame_size;   /* payload of one frame: 1 MiB */
  size_t max_message_size; /* a whole (joined) message: 4 MiB */
  double close_timeout;    /* how long grove_ws_close and the end of a handler wait
                              for the peer's close frame: 2 s */
  grove_tls_ctx *tls;      /* grove_ws_connect to wss://: a client context; NULL:
                              the system's trust store, verification on */
} grove_ws_config;

/* Accept the handler's request as a WebSocket: check that it is a GET with
 * Upgrade: websocket, Connection: upgrade, Sec-WebSocket-Version: 13 and a
 * valid Sec-WebSocket-Key, and answer 101 Switching Protocols (with the
 * headers added by grove_http_add_header, e.g. Sec-WebSocket-Protocol). A
 * request that is not a valid upgrade is answered 400 (426 with the
 * supported version for another version) and GROVE_EPROTO returned. cfg may
 * be NULL (copied). The grove_ws belongs to the request: do not free it;
 * when the handler returns, the server closes it (1000, or 1001 when the
 * server is stopping) and the connection. Returns 0 and *out, GROVE_EPROTO,
 * GROVE_EINVAL (already responded), or a write error. */
int grove_ws_upgrade(grove_http_request *req, const grove_ws_config *cfg, grove_ws **out,
                     double timeout);

/* Connect to url ("ws://host:port/path", "wss://host/path"; the port
 * defaults to 80 / 443) and shake hands. cfg may be NULL. Free the result
 * with grove_ws_free. Returns 0 and *out, GROVE_EINVAL (a bad url),
 * GROVE_EPROTO (the server refused or answered something else: not 101, a
 * wrong Sec-WebSocket-Accept; or TLS refused), connect and I/O errors,
 * GROVE_ETIMEDOUT (the timeout covers the whole call). */
int grove_ws_connect(const char *url, const grove_ws_config *cfg, grove_ws **out, double timeout);

/* Receive one whole message. Returns GROVE_WS_TEXT or GROVE_WS_BINARY with
 * *data (the payload, owned by the grove_ws, valid until the next recv on
 * it; NUL-terminated for convenience) and *len; pings are answered and
 * pongs skipped on the way. GROVE_EOF when the peer closed: its close frame
 * was answered (grove_ws_close_code tells its code), or the connection
 * ended without one (code GROVE_WS_ABNORMAL). GROVE_EPROTO after a protocol
 * violation (the connection is then closed with 1002 or 1007),
 * GROVE_EMSGSIZE for a frame or message over the limits (closed with 1009),
 * I/O errors, GROVE_ETIMEDOUT (the message may be half received: the
 * connection is still usable; what arrived is kept for the next call). */
int grove_ws_recv(grove_ws *ws, const void **data, size_t *len, double timeout);

/* Send one message (type GROVE_WS_TEXT or GROVE_WS_BINARY) as one frame;
 * a client masks it. Returns 0, GROVE_EINVAL (another type, text that is not
 * UTF-8), GROVE_ECLOSED (this side already sent its close frame), or a write
 * error. */
int grove_ws_send(grove_ws *ws, int type, const void *data, size_t len, double timeout);

/* Send one frame of a fragmented message: the first with GROVE_WS_TEXT or
 * GROVE_WS_BINARY, the next ones with GROVE_WS_CONTINUATION, the last with
 * fin true. Returns as grove_ws_send (GROVE_EINVAL for a sequence that
 * breaks those rules; text is not checked for UTF-8 piece by piece). */
int grove_ws_send_frame(grove_ws *ws, int opcode, bool fin, const void *data, size_t len,
                        double timeout);

/* Send a ping with up to 125 bytes of payload (the peer's pong is skipped
 * by grove_ws_recv). Returns 0, GROVE_EINVAL (len > 125), GROVE_ECLOSED, or
 * a write error. */
int grove_ws_ping(grove_ws *ws, const void *data, size_t len, double timeout);

/* The close handshake: send a close frame with code and reason (NULL: none;
 * at most 123 bytes), then wait up to `timeout` for the peer's, discarding
 * messages that arrive before it. The connection stays open: a client
 * closes it with grove_ws_free, the server when the handler returns.
 * Returns 0 once the peer's close frame arrived, GROVE_ETIMEDOUT without one,
 * GROVE_EINVAL (a code that may not be sent), or an I/O error. */
int grove_ws_close(grove_ws *ws, int code, const char *reason, double timeout);

/* The peer's close code once it closed (GROVE_WS_NO_STATUS if its frame had
 * none, GROVE_WS_ABNORMAL if there was no frame), else 0. */
int grove_ws_close_code(const grove_ws *ws);

/* Free a client's grove_ws (from grove_ws_connect) and close its
 * connection, without a close frame. NULL is a no-op; a server-side
 * grove_ws is the request's and is left alone. */
void grove_ws_free(grove_ws *ws);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
