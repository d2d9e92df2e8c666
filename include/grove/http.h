/* grove/http.h - an HTTP/1.1 server on the StreamServer (gevent.pywsgi's
 * role), with streamed responses, and pre-forked serving.
 *
 * Each connection gets a greenlet (from the server's pool, if it has one);
 * the connection's requests, keep-alive or pipelined, are read one after
 * another and each is handed to the handler in that greenlet, with its
 * method, target, headers and whole body. The handler answers with
 * grove_http_respond (a body of known length) or streams: grove_http_start,
 * then grove_http_write for each piece as it is produced (sent as one
 * chunk each), then grove_http_finish. What the handler leaves undone the
 * server completes when it returns: a started response is finished, an
 * unanswered request gets 500.
 *
 * Requests are parsed by libhttp-parser. Bad input is answered and the
 * connection closed, and counted (grove_http_server_stats): a malformed
 * request 400, a request line or headers over their limits 431, a body over
 * its limit 413, a request that does not arrive whole within its deadline
 * (slowloris) 408. Every limit is a field of grove_http_config.
 *
 * Every call that blocks takes a timeout (negative: forever, 0: poll),
 * honours grove_timeout_start and returns GROVE_ECANCELED once the greenlet
 * is killed (grove_http_server_stop kills handlers that outlive its grace
 * period).
 */
#ifndef GROVE_HTTP_H
#define GROVE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "tls.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct grove_http_server grove_http_server;
typedef struct grove_http_request grove_http_request;

/* Runs for each request, in its connection's greenlet. req is valid until
 * the handler returns. */
typedef void (*grove_http_handler)(grove_http_request *req, void *arg);

/* Limits and options. Zero in a field means its default (given here);
 * a negative timeout means no limit. */
typedef struct grove_http_config {
  size_t max_request_line;  /* method, target and version: 8 KiB; over it 431 */
  size_t max_header_size;   /* the whole head, request line included: 16 KiB; 431 */
  size_t max_headers;       /* header fields: 100; 431 */
  size_t max_body_size;     /* a request body, chunked or not: 1 MiB; 413 */
  double request_timeout;   /* from a request's first byte to its last: 30 s; 408 */
  double keepalive_timeout; /* idle before the next request's first byte: 60 s */
  size_t max_requests;      /* requests per connection (then it closes): unlimited */
  grove_group *pool;        /* bounds concurrent connections (the caller's) or NULL */
  size_t max_connections;   /* or this bound, with a pool the server makes (per hub
                               with grove_http_serve_hubs): unlimited; not with pool.
                               When all are in use, a new connection closes the one
                               idle longest (between requests, or before its first
                               byte; counted in evicted), as nginx reuses keep-alive
                               connections: idle clients cannot lock a server out */
  grove_tls_ctx *tls;       /* a server context: HTTPS (and WSS); NULL: plain HTTP */
} grove_http_config;

/* Counters, since the server was made. */
typedef struct grove_http_stats {
  uint64_t connections;       /* accepted */
  uint64_t requests;          /* handed to the handler */
  uint64_t bad_requests;      /* answered 400 */
  uint64_t timeouts;          /* answered 408 */
  uint64_t too_large;         /* answered 413 */
  uint64_t headers_too_large; /* answered 431 */
  uint64_t unanswered;        /* the handler returned without responding: 500 */
  uint64_t write_errors;      /* a response that could not be sent whole */
  uint64_t tls_failures;      /* TLS handshakes that failed */
  uint64_t upgrades;          /* connections handed to WebSockets */
  uint64_t evicted;           /* idle connections closed to admit new ones (max_connections) */
} grove_http_stats;

/* ---- the server ------------------------------------------------------------------- */

/* An HTTP server on a listening socket (the server takes it over, even on
 * failure). cfg may be NULL (every default); it is copied. Returns 0 and
 * *out, GROVE_EINVAL (no listener or handler, a client TLS context),
 * GROVE_ENOMEM. */
int grove_http_server_new(grove_socket *listener, grove_http_handler handler, void *arg,
                          const grove_http_config *cfg, grove_http_server **out);

/* Start accepting in the server's greenlet, and return. */
int grove_http_server_start(grove_http_server *srv);

/* Start (if not started) and block until the server is stopped from another
 * greenlet, or the wait fails (timeout, kill: the server keeps running). */
int grove_http_server_serve_forever(grove_http_server *srv, double timeout);

/* Graceful stop: stop accepting and close the listener; close idle
 * keep-alive connections at once; send WebSockets a close frame (1001, going
 * away: the peer's answer ends their handlers' grove_ws_recv); let requests
 * being read or handled finish (their responses say Connection: close) for
 * up to `timeout` seconds, then
 * kill the handlers left (they see GROVE_ECANCELED) and wait for them.
 * Returns 0, or GROVE_ETIMEDOUT if handlers had to be killed. Idempotent. */
int grove_http_server_stop(grove_http_server *srv, double timeout);

/* The listening port (for a server on port 0). */
int grove_http_server_port(const grove_http_server *srv);

/* Connections being served right now. */
size_t grove_http_server_connections(const grove_http_server *srv);

/* Copy the counters into *out. */
void grove_http_server_stats(const grove_http_server *srv, grove_http_stats *out);

/* Stop (timeout 0) and free the server. NULL is a no-op. */
void grove_http_server_free(grove_http_server *srv);

/* ---- one accepting hub per core --------------------------------------------------- */

/* HTTP servers on every hub of the process (grove_hubs_start, grove/hubs.h). */
typedef struct grove_http_hubs grove_http_hubs;

/* Serve on every hub: each hub (0 .. grove_hub_count()-1) runs its own
 * grove_http_server with handler, arg and cfg, accepting on its own
 * descriptor of `listener` (the call takes the socket over, even on
 * failure). The hubs share the socket's one accept queue, so a connection
 * goes to a hub that is free to take it: a hub busy with handlers, or whose
 * max_connections are all in use, leaves new connections to the others.
 * A connection is then served wholly by the hub that accepted it: the
 * handler runs in a greenlet of that hub, so handler and arg must be safe to
 * use from every hub's thread at once (share state through actors, which
 * work across hubs, or atomics). cfg->tls may be shared; cfg->pool may not
 * (a pool belongs to one hub: GROVE_EINVAL with more than one hub; use
 * max_connections, a bound per hub). With one hub (no grove_hubs_start) it
 * is one server on the caller's hub.
 *
 * Call it, and the calls below, from greenlets of one hub (usually hub 0),
 * the same for all of them. Blocks the caller until every hub accepts.
 * Returns 0 and *out; GROVE_EINVAL; GROVE_ENOMEM; an error from a hub whose
 * server could not start (the others are stopped again); GROVE_ECANCELED if
 * the caller was killed (what was started is stopped without it). Stop the
 * servers before grove_hubs_stop, which cannot close hubs that still serve. */
int grove_http_serve_hubs(grove_socket *listener, grove_http_handler handler, void *arg,
                          const grove_http_config *cfg, grove_http_hubs **out);

/* grove_http_server_stop on every hub at once, the same timeout for each.
 * Returns 0, GROVE_ETIMEDOUT if some hub had to kill handlers, another
 * hub's error, or GROVE_ECANCELED if the caller was killed (the stops still
 * complete). Blocks the caller. Idempotent. */
int grove_http_hubs_stop(grove_http_hubs *h, double timeout);

/* The counters summed over the hubs into *out, and each hub's into
 * per_hub[0 .. grove_http_hubs_count(h)-1] if per_hub is not NULL. Blocks
 * the caller briefly (each hub is asked). Returns 0 or an error. */
int grove_http_hubs_stats(grove_http_hubs *h, grove_http_stats *out, grove_http_stats *per_hub);

/* How many hubs serve (grove_hub_count() when it was made). */
size_t grove_http_hubs_count(const grove_http_hubs *h);

/* The listening port (for port 0). */
int grove_http_hubs_port(const grove_http_hubs *h);

/* Stop (timeout 0) and free the servers, each on its hub, and h. Blocks the
 * caller until done (a killed caller returns at once; the servers are still
 * freed). NULL is a no-op. */
void grove_http_hubs_free(grove_http_hubs *h);

/* ---- the request --------------------------------------------------------------------- */

/* "GET", "POST", ... */
const char *grove_http_method(const grove_http_request *req);
/* The request target as sent: "/poll?since=3". */
const char *grove_http_target(const grove_http_request *req);
/* The target's path ("/poll") and query ("since=3"; "" without one). */
const char *grove_http_path(const grove_http_request *req);
const char *grove_http_query(const grove_http_request *req);
/* 10 for HTTP/1.0, 11 for HTTP/1.1. */
int grove_http_version(const grove_http_request *req);

/* The value of the first header named `name` (case-insensitive), without
 * surrounding white space, or NULL. */
const char *grove_http_header(const grove_http_request *req, const char *name);
/* Headers in the order received: their count, and the i-th one. Returns 0
 * or GROVE_ENOENT past the end. */
size_t grove_http_header_count(const grove_http_request *req);
int grove_http_header_at(const grove_http_request *req, size_t i, const char **name,
                         const char **value);

/* The body (chunked bodies already joined); *len is set (0 without one).
 * Never NULL; NUL-terminated for convenience. */
const void *grove_http_body(const grove_http_request *req, size_t *len);

/* The connection's socket (for its peer's address; do not read, write or
 * close it). */
grove_socket *grove_http_socket(const grove_http_request *req);

/* ---- the response ------------------------------------------------------------------- */

/* Add a response header, before the response starts (copied). "Connection:
 * close" also makes it the connection's last response. Content-Length and
 * Transfer-Encoding are the server's: GROVE_EINVAL. Returns 0, GROVE_EINVAL
 * (after the start, or a name or value with CR or LF), GROVE_ENOMEM. */
int grove_http_add_header(grove_http_request *req, const char *name, const char *value);

/* Respond with a whole body: status line, content_type (NULL: none), the
 * added headers, Content-Length, and len bytes of body (none for HEAD, 204
 * and 304). Blocks until it is written. Returns 0, GROVE_EINVAL (already
 * responded, status outside 100..999), or a write error (the connection
 * then closes when the handler returns). */
int grove_http_respond(grove_http_request *req, int status, const char *content_type,
                       const void *body, size_t len, double timeout);

/* Start a streamed response: the status line and headers are sent now; the
 * body follows in pieces (Transfer-Encoding: chunked; to an HTTP/1.0 client,
 * the bytes as they are and the connection closed at the end). */
int grove_http_start(grove_http_request *req, int status, const char *content_type, double timeout);

/* Send one piece of a started response, at once (one chunk). len 0 sends
 * nothing. Returns 0, GROVE_EINVAL (not started, or finished), or a write
 * error: the client is gone (GROVE_EPIPE, GROVE_ECONNRESET). */
int grove_http_write(grove_http_request *req, const void *data, size_t len, double timeout);

/* End a started response (the last chunk). Returns 0, GROVE_EINVAL, or a
 * write error. Idempotent once it succeeded. */
int grove_http_finish(grove_http_request *req, double timeout);

/* The reason phrase of a status ("Not Found"), "Unknown" for others. */
const char *grove_http_status_text(int status);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
