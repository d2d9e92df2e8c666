/* tests/net/net_util.h - what the net tests share: a raw HTTP client that
 * reads responses with libhttp-parser, and a server on a free port. */
#ifndef GROVE_TEST_NET_UTIL_H
#define GROVE_TEST_NET_UTIL_H

#include "test.h"

#include <http_parser.h>

/* One parsed response. */
typedef struct {
  int status;
  char body[65536];
  size_t body_len;
  char headers[4096]; /* "name: value\n"... */
  int keep_alive;
  int chunked;
} http_resp;

/* A client connection with read-ahead. */
typedef struct {
  grove_socket *s;
  char buf[65536];
  size_t len;
} http_client;

typedef struct {
  http_resp *r;
  int done;
  char field[128];
} resp_parse;

static int nu_on_field(http_parser *p, const char *at, size_t n) {
  resp_parse *rp = p->data;
  snprintf(rp->field, sizeof rp->field, "%.*s", (int)n, at);
  return 0;
}
static int nu_on_value(http_parser *p, const char *at, size_t n) {
  resp_parse *rp = p->data;
  size_t h = strlen(rp->r->headers);
  snprintf(rp->r->headers + h, sizeof rp->r->headers - h, "%s: %.*s\n", rp->field, (int)n, at);
  return 0;
}
static int nu_on_body(http_parser *p, const char *at, size_t n) {
  resp_parse *rp = p->data;
  if (rp->r->body_len + n < sizeof rp->r->body) {
    memcpy(rp->r->body + rp->r->body_len, at, n);
    rp->r->body_len += n;
    rp->r->body[rp->r->body_len] = 0;
  }
  return 0;
}
static int nu_on_headers(http_parser *p) {
  resp_parse *rp = p->data;
  rp->r->status = (int)p->status_code;
  rp->r->chunked = (p->flags & F_CHUNKED) != 0;
  return 0;
}
static int nu_on_done(http_parser *p) {
  resp_parse *rp = p->data;
  rp->done = 1;
  rp->r->keep_alive = http_should_keep_alive(p);
  http_parser_pause(p, 1);
  return 0;
}

static inline int client_connect(http_client *c, int port) {
  c->len = 0;
  return grove_tcp_connect("127.0.0.1", port, &c->s, 5.0);
}

static inline int client_send(http_client *c, const char *raw) {
  return grove_socket_write_all(c->s, raw, strlen(raw), NULL, 5.0);
}

/* Read one response. Returns 0, or GROVE_EOF if the connection ended
 * before a whole response (a response delimited by the end of the
 * connection is returned whole). */
static inline int client_read(http_client *c, http_resp *r, double timeout) {
  memset(r, 0, sizeof *r);
  http_parser p;
  http_parser_init(&p, HTTP_RESPONSE);
  resp_parse rp = {.r = r};
  p.data = &rp;
  http_parser_settings st = {0};
  st.on_header_field = nu_on_field;
  st.on_header_value = nu_on_value;
  st.on_headers_complete = nu_on_headers;
  st.on_body = nu_on_body;
  st.on_message_complete = nu_on_done;
  size_t off = 0;
  for (;;) {
    if (off < c->len) {
      size_t n = http_parser_execute(&p, &st, c->buf + off, c->len - off);
      off += n;
      if (rp.done) {
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
        return 0;
      }
      if (HTTP_PARSER_ERRNO(&p) != HPE_OK)
        return GROVE_EPROTO;
    }
    c->len = 0;
    off = 0;
    ssize_t n = grove_socket_read(c->s, c->buf, sizeof c->buf, timeout);
    if (n == 0) {
      http_parser_execute(&p, &st, NULL, 0); /* end of a close-delimited body */
      return rp.done ? 0 : GROVE_EOF;
    }
    if (n < 0)
      return (int)n;
    c->len = (size_t)n;
  }
}

/* The connection was closed by the server: the next read ends. */
static inline int client_closed(http_client *c, double timeout) {
  char b[256];
  if (c->len)
    return 0;
  ssize_t n = grove_socket_read(c->s, b, sizeof b, timeout);
  return n == 0 || n == GROVE_ECONNRESET;
}

static inline void client_close(http_client *c) {
  grove_socket_close(c->s);
  c->s = NULL;
}

static inline grove_http_server *serve_on_free_port(grove_http_handler h, void *arg,
                                                    const grove_http_config *cfg) {
  grove_socket *ls = NULL;
  if (grove_tcp_listen("127.0.0.1", 0, 0, &ls) != 0)
    return NULL;
  grove_http_server *srv = NULL;
  if (grove_http_server_new(ls, h, arg, cfg, &srv) != 0)
    return NULL;
  if (grove_http_server_start(srv) != 0)
    return NULL;
  return srv;
}

#endif
