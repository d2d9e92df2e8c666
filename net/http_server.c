/* net/http_server.c - the HTTP/1.1 server (gevent.pywsgi's role).
 *
 * Design notes. The server is a grove StreamServer whose connection handler
 * reads requests one after another and calls the user's handler for each in
 * the same greenlet: HTTP/1.1 answers requests on a connection in order, so
 * a greenlet per connection is the whole concurrency there is (as pywsgi),
 * and a pool given to the StreamServer bounds it.
 *
 * Parsing is libhttp-parser's. A connection keeps one buffer that holds the
 * current request's head: the parser's callbacks record each piece (target,
 * header names and values) as an offset into it, so the buffer may grow
 * (realloc) while a head arrives in pieces; once the head is complete the
 * pieces are NUL-terminated in place (each is followed by a byte the parser
 * has consumed: ' ', ':' or CR) and handed out as strings. The parser is
 * paused after the head (to check limits, send 100 Continue) and after each
 * message, so pipelined requests stay in the buffer until their turn. Body
 * bytes are copied into a separate buffer; once everything read has been
 * consumed, reading restarts just after the head, so a long body never
 * grows the head buffer.
 *
 * Limits are enforced as bytes arrive, before they are kept: the head
 * (request line, headers) against max_request_line, max_header_size and
 * max_headers (431), the body against max_body_size (413, at once when
 * Content-Length says so). One deadline covers a request from its first
 * byte to its last (408): a client that sends a byte a minute cannot hold a
 * connection longer than request_timeout. Between requests the connection
 * may idle for keepalive_timeout and is then closed without a word, as an
 * idle connection is not a request. After an error answer the server stops
 * writing and drains what the client still sends for a moment (lingering
 * close), so that the client reads the answer rather than a reset.
 *
 * Stopping: the server marks itself stopping, wakes the connections that
 * idle between requests (grove_fd_cancel_wait) so they close at once, and
 * lets the others finish the request they are in, marked Connection: close;
 * grove_server_stop then kills what outlives the grace period.
 *
 * Memory: an idle connection holds its greenlet, the socket and this
 * file's conn (with the parser and a head buffer of 1 KiB to start with);
 * buffers grow only for what a request really sends and shrink back after
 * it.
 */
#include "net.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <http_parser.h>

#define BUF_START 1024
#define OUT_START 512
#define KEEP_LIMIT (64 * 1024) /* buffers larger than this are given back after a request */
#define HEADERS_START 16
#define LINGER_TIME 1.0           /* after an error answer, drain the client for this long */
#define LINGER_BYTES (256 * 1024) /* ... or this many bytes */

typedef struct span {
  uint32_t off, len;
} span;

typedef struct hdr {
  span name, value;
  const char *n, *v; /* once the head is complete */
} hdr;

typedef struct conn conn;

struct grove_http_request {
  conn *c;
  const char *method, *target, *path, *query;
  char *path_copy; /* when the target has a query */
  int version;
  size_t nheaders;
  /* the body */
  char *body;
  size_t body_len, body_cap;
  /* the response */
  char *extra; /* added headers, "Name: value\r\n"... */
  size_t extra_len, extra_cap;
  uint8_t started, finished, responded, chunked, failed, keep_alive, close_asked;
  grove_ws *ws;
};

enum { C_IDLE, C_READING, C_HANDLING };

struct conn {
  grove_http_server *hs;
  conn *prev, *next;
  grove__stream st;
  grove_tls *tls;
  int state;
  double idle_since; /* when it last became C_IDLE (max_connections' eviction) */
  size_t served;     /* requests handed to the handler */
  http_parser parser;
  char *buf;
  size_t cap, len, off; /* bytes in buf; bytes of them parsed */
  size_t head_start;    /* where the current request begins */
  size_t head_end;      /* after its head (once complete) */
  /* parsing the current request */
  span url;
  hdr *hdrs;
  size_t nhdrs, hdrs_cap;
  size_t head_bytes;
  int last_cb; /* 0, 1: url, 2: field, 3: value */
  int error;   /* the status to answer with, when the request was refused */
  uint8_t headers_done, message_done, expect_continue, upgrade;
  char *out;
  size_t out_len, out_cap;
  grove_http_request req;
};

struct grove_http_server {
  grove_server *srv;
  grove_group *own_pool; /* for cfg.max_connections */
  grove_http_handler handler;
  void *arg;
  grove_http_config cfg;
  grove_http_stats stats;
  conn *conns; /* every live connection */
  size_t nconns;
  bool stopping;
  bool evict_pending; /* full, nothing was idle: the next idle one closes */
};

static const http_parser_settings settings;

/* ---- configuration ---------------------------------------------------------------------- */

static void defaults(grove_http_config *c) {
  if (!c->max_request_line)
    c->max_request_line = 8 * 1024;
  if (!c->max_header_size)
    c->max_header_size = 16 * 1024;
  if (!c->max_headers)
    c->max_headers = 100;
  if (!c->max_body_size)
    c->max_body_size = 1024 * 1024;
  if (c->request_timeout == 0)
    c->request_timeout = 30;
  if (c->keepalive_timeout == 0)
    c->keepalive_timeout = 60;
  if (c->max_request_line > c->max_header_size)
    c->max_request_line = c->max_header_size;
}

/* ---- small buffers ------------------------------------------------------------------------ */

static int reserve(char **buf, size_t *cap, size_t need, size_t start) {
  if (need <= *cap)
    return 0;
  size_t n = *cap ? *cap : start;
  while (n < need)
    n *= 2;
  char *p = realloc(*buf, n);
  if (!p)
    return GROVE_ENOMEM;
  *buf = p;
  *cap = n;
  return 0;
}

static int out_add(conn *c, const void *p, size_t n) {
  int rc = reserve(&c->out, &c->out_cap, c->out_len + n, OUT_START);
  if (rc)
    return rc;
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
  return 0;
}

static int out_str(conn *c, const char *s) { return out_add(c, s, strlen(s)); }

static int out_fmt(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int out_fmt(conn *c, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp)
    return GROVE_EINVAL;
  return out_add(c, tmp, (size_t)n);
}

/* ---- parser callbacks ---------------------------------------------------------------------- */

/* Record a piece of the current field. Pieces of one field arrive in order
 * and, the buffer being appended to, are adjacent; anything else (an
 * obsolete folded header line) is refused. */
static int piece(conn *c, span *s, const char *at, size_t len, int kind) {
  size_t off = (size_t)(at - c->buf);
  c->head_bytes += len;
  if (c->last_cb == kind && s->len) {
    if (s->off + s->len != off) {
      c->error = 400;
      return 1;
    }
    s->len += (uint32_t)len;
  } else {
    s->off = (uint32_t)off;
    s->len = (uint32_t)len;
  }
  c->last_cb = kind;
  return 0;
}

static int on_message_begin(http_parser *p) {
  (void)p;
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (piece(c, &c->url, at, len, 1))
    return 1;
  if (c->url.len + 16 > c->hs->cfg.max_request_line) {
    c->error = 431;
    return 1;
  }
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->headers_done)
    return 0; /* trailers: read, not kept */
  if (c->last_cb != 2) {
    if (c->nhdrs == c->hs->cfg.max_headers) {
      c->error = 431;
      return 1;
    }
    if (c->nhdrs == c->hdrs_cap) {
      size_t n = c->hdrs_cap ? c->hdrs_cap * 2 : HEADERS_START;
      hdr *h = realloc(c->hdrs, n * sizeof *h);
      if (!h) {
        c->error = 500;
        return 1;
      }
      c->hdrs = h;
      c->hdrs_cap = n;
    }
    memset(&c->hdrs[c->nhdrs++], 0, sizeof(hdr));
  }
  return piece(c, &c->hdrs[c->nhdrs - 1].name, at, len, 2);
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->headers_done)
    return 0;
  return piece(c, &c->hdrs[c->nhdrs - 1].value, at, len, 3);
}

static int on_headers_complete(http_parser *p) {
  conn *c = p->data;
  c->headers_done = 1;
  http_parser_pause(p, 1); /* the server looks at the head before the body */
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  grove_http_request *r = &c->req;
  if (r->body_len + len > c->hs->cfg.max_body_size) {
    c->error = 413;
    return 1;
  }
  if (reserve(&r->body, &r->body_cap, r->body_len + len + 1, 256)) {
    c->error = 500;
    return 1;
  }
  memcpy(r->body + r->body_len, at, len);
  r->body_len += len;
  return 0;
}

static int on_message_complete(http_parser *p) {
  conn *c = p->data;
  c->message_done = 1;
  http_parser_pause(p, 1); /* one request at a time; pipelined ones wait */
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- reading one request -------------------------------------------------------------------- */

static char *trim(char *s, size_t *len) {
  while (*len && (s[0] == ' ' || s[0] == '\t'))
    s++, (*len)--;
  while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
    (*len)--;
  return s;
}

/* The head is complete: turn spans into strings, in place. */
static int finish_head(conn *c) {
  grove_http_request *r = &c->req;
  char *b = c->buf;
  if (!c->url.len) {
    c->error = 400;
    return -1;
  }
  b[c->url.off + c->url.len] = 0;
  r->target = b + c->url.off;
  for (size_t i = 0; i < c->nhdrs; i++) {
    hdr *h = &c->hdrs[i];
    if (!h->name.len) {
      c->error = 400;
      return -1;
    }
    b[h->name.off + h->name.len] = 0;
    h->n = b + h->name.off;
    if (h->value.len) {
      size_t vl = h->value.len;
      char *v = trim(b + h->value.off, &vl);
      v[vl] = 0;
      h->v = v;
    } else {
      h->v = "";
    }
  }
  r->nheaders = c->nhdrs;
  r->method = http_method_str((enum http_method)c->parser.method);
  r->version = c->parser.http_major * 10 + c->parser.http_minor;
  const char *q = strchr(r->target, '?');
  if (q) {
    size_t n = (size_t)(q - r->target);
    if (!(r->path_copy = malloc(n + 1))) {
      c->error = 500;
      return -1;
    }
    memcpy(r->path_copy, r->target, n);
    r->path_copy[n] = 0;
    r->path = r->path_copy;
    r->query = q + 1;
  } else {
    r->path = r->target;
    r->query = "";
  }
  r->keep_alive = http_should_keep_alive(&c->parser) ? 1 : 0;
  const char *expect = grove_http_header(r, "Expect");
  if (expect && strcasecmp(expect, "100-continue") == 0)
    c->expect_continue = 1;
  if (c->parser.flags & F_CONTENTLENGTH && c->parser.content_length > c->hs->cfg.max_body_size) {
    c->error = 413;
    return -1;
  }
  return 0;
}

static void reset_request(conn *c) {
  grove_http_request *r = &c->req;
  free(r->path_copy);
  char *body = r->body, *extra = r->extra;
  size_t body_cap = r->body_cap, extra_cap = r->extra_cap;
  if (body_cap > KEEP_LIMIT) {
    free(body);
    body = NULL;
    body_cap = 0;
  }
  memset(r, 0, sizeof *r);
  r->c = c;
  r->body = body;
  r->body_cap = body_cap;
  r->extra = extra;
  r->extra_cap = extra_cap;
  c->url = (span){0, 0};
  c->nhdrs = 0;
  c->head_bytes = 0;
  c->last_cb = 0;
  c->error = 0;
  c->headers_done = c->message_done = c->expect_continue = c->upgrade = 0;
  c->out_len = 0;
}

/* Read bytes into the buffer: > 0 bytes, 0 at end of stream, or an error. */
static ssize_t fill(conn *c, double timeout) {
  grove_http_server *hs = c->hs;
  if (c->len == c->cap) {
    /* The head's limit bounds the buffer, with room for a pipelined
     * request's start behind it. */
    size_t limit = hs->cfg.max_header_size * 2 + BUF_START;
    if (c->cap >= limit)
      return GROVE_EMSGSIZE;
    if (reserve(&c->buf, &c->cap, c->cap + 1, BUF_START))
      return GROVE_ENOMEM;
  }
  return grove__stream_read(&c->st, c->buf + c->len, c->cap - c->len, timeout);
}

/* Read and parse the next request. Returns 1 with c->req ready, 0 when the
 * connection should close quietly (end of stream, idle timeout, stop), or
 * -1 with c->error set to the status to answer. */
static int read_request(conn *c) {
  grove_http_server *hs = c->hs;
  /* Pipelined bytes move to the front; the previous request is done. */
  if (c->off > 0) {
    memmove(c->buf, c->buf + c->off, c->len - c->off);
    c->len -= c->off;
    c->off = 0;
  }
  if (c->cap > KEEP_LIMIT && c->len < BUF_START) {
    char *p = realloc(c->buf, BUF_START);
    if (p) {
      c->buf = p;
      c->cap = BUF_START;
    }
  }
  reset_request(c);
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->head_start = 0;
  double deadline = -1;
  c->state = c->len ? C_READING : C_IDLE;
  c->idle_since = grove__now();
  if (c->state == C_IDLE && hs->evict_pending && c->served) {
    /* Full, with nothing idle when the last one came: this one, idle now,
     * makes room for the next (evict_idle). */
    hs->evict_pending = false;
    if (hs->nconns >= hs->cfg.max_connections) {
      hs->stats.evicted++;
      return 0;
    }
  }
  if (c->len)
    deadline = grove__deadline(hs->cfg.request_timeout);
  for (;;) {
    if (c->off < c->len) {
      size_t n = http_parser_execute(&c->parser, &settings, c->buf + c->off, c->len - c->off);
      c->off += n;
      enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
      if (e == HPE_PAUSED) {
        http_parser_pause(&c->parser, 0);
        if (c->message_done) {
          if (!c->req.target && finish_head(c) != 0)
            return -1;
          if (c->parser.upgrade)
            c->upgrade = 1;
          return 1;
        }
        /* The head is complete; the body (if any) follows. */
        c->head_end = c->off;
        if (finish_head(c) != 0)
          return -1;
        if (c->expect_continue) {
          static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
          if (grove__stream_write(&c->st, cont, sizeof cont - 1, grove__remaining(deadline)))
            return 0;
        }
        continue;
      }
      if (e != HPE_OK) {
        if (!c->error)
          c->error = e == HPE_HEADER_OVERFLOW ? 431 : 400;
        return -1;
      }
      if (c->parser.upgrade) { /* the rest is another protocol */
        if (!c->req.target && finish_head(c) != 0)
          return -1;
        c->upgrade = 1;
        return 1;
      }
    }
    /* Everything read is parsed: check the head's size, then read more. */
    if (!c->headers_done) {
      size_t head = c->off - c->head_start;
      if (head > hs->cfg.max_header_size) {
        c->error = 431;
        return -1;
      }
    } else if (c->off == c->len && c->len > c->head_end) {
      c->len = c->off = c->head_end; /* body bytes are copied: reuse their room */
    }
    double timeout;
    if (c->state == C_IDLE) {
      timeout = hs->cfg.keepalive_timeout;
      if (hs->stopping)
        return 0;
    } else {
      timeout = grove__remaining(deadline);
    }
    ssize_t n = fill(c, timeout);
    if (n == GROVE_EMSGSIZE) {
      c->error = 431;
      return -1;
    }
    if (n == 0 || n == GROVE_ECLOSED || n == GROVE_ECONNRESET || n == GROVE_EPIPE)
      return 0;
    if (n == GROVE_ETIMEDOUT) {
      if (c->state == C_IDLE)
        return 0;
      c->error = 408;
      return -1;
    }
    if (n < 0)
      return 0; /* cancelled, or an I/O error: nobody to answer */
    if (c->state == C_IDLE) {
      c->state = C_READING;
      deadline = grove__deadline(hs->cfg.request_timeout);
    }
    c->len += (size_t)n;
  }
}

/* ---- responses ---------------------------------------------------------------------------- */

const char *grove_http_status_text(int status) {
  const char *s = http_status_str((enum http_status)status);
  return s && *s && strcmp(s, "<unknown>") != 0 ? s : "Unknown";
}

static bool no_body_status(int status) { return status < 200 || status == 204 || status == 304; }

/* Status line and headers into c->out. */
static int build_head(conn *c, int status, const char *content_type, const char *extra_lines) {
  grove_http_request *r = &c->req;
  if (c->hs->stopping)
    r->keep_alive = 0;
  int rc = out_fmt(c, "HTTP/1.1 %d %s\r\n", status, grove_http_status_text(status));
  if (!rc && content_type)
    rc = out_fmt(c, "Content-Type: %.200s\r\n", content_type);
  if (!rc && r->extra_len)
    rc = out_add(c, r->extra, r->extra_len);
  if (!rc && extra_lines)
    rc = out_str(c, extra_lines);
  return rc;
}

static int end_head(conn *c) {
  grove_http_request *r = &c->req;
  int rc = 0;
  if (!r->keep_alive && !r->close_asked)
    rc = out_str(c, "Connection: close\r\n");
  else if (r->version == 10)
    rc = out_str(c, "Connection: keep-alive\r\n");
  return rc ? rc : out_str(c, "\r\n");
}

static int send_out(conn *c, double timeout) {
  int rc = grove__stream_write(&c->st, c->out, c->out_len, timeout);
  c->out_len = 0;
  if (c->out_cap > KEEP_LIMIT) {
    free(c->out);
    c->out = NULL;
    c->out_cap = 0;
  }
  if (rc) {
    c->req.failed = 1;
    c->hs->stats.write_errors++;
  }
  return rc;
}

static int check_req(grove_http_request *req, double timeout) {
  if (!req || !req->c || timeout != timeout)
    return GROVE_EINVAL;
  return 0;
}

int grove_http_respond(grove_http_request *req, int status, const char *content_type,
                       const void *body, size_t len, double timeout) {
  int rc = check_req(req, timeout);
  if (rc)
    return rc;
  if (req->responded || status < 100 || status > 999 || (len && !body))
    return GROVE_EINVAL;
  conn *c = req->c;
  req->responded = 1;
  req->finished = 1;
  c->out_len = 0;
  rc = build_head(c, status, content_type, NULL);
  bool nobody = no_body_status(status);
  if (!rc && !nobody)
    rc = out_fmt(c, "Content-Length: %zu\r\n", len);
  if (!rc)
    rc = end_head(c);
  if (rc)
    return rc;
  bool send_body = !nobody && len && strcmp(req->method, "HEAD") != 0;
  if (send_body && len <= KEEP_LIMIT) {
    if ((rc = out_add(c, body, len)) != 0)
      return rc;
    send_body = false;
  }
  double deadline = grove__deadline(timeout);
  if ((rc = send_out(c, timeout)) != 0)
    return rc;
  if (send_body && (rc = grove__stream_write(&c->st, body, len, grove__remaining(deadline)))) {
    req->failed = 1;
    c->hs->stats.write_errors++;
  }
  return rc;
}

int grove__http_write_head(grove_http_request *req, int status, const char *extra, double timeout) {
  conn *c = req->c;
  req->responded = req->finished = 1;
  c->out_len = 0;
  int rc = build_head(c, status, NULL, extra);
  if (!rc)
    rc = out_str(c, "\r\n");
  return rc ? rc : send_out(c, timeout);
}

int grove_http_start(grove_http_request *req, int status, const char *content_type,
                     double timeout) {
  int rc = check_req(req, timeout);
  if (rc)
    return rc;
  if (req->responded || status < 100 || status > 999)
    return GROVE_EINVAL;
  conn *c = req->c;
  req->responded = req->started = 1;
  c->out_len = 0;
  rc = build_head(c, status, content_type, NULL);
  if (no_body_status(status) || strcmp(req->method, "HEAD") == 0) {
    req->chunked = 0;
  } else if (req->version >= 11) {
    req->chunked = 1;
    if (!rc)
      rc = out_str(c, "Transfer-Encoding: chunked\r\n");
  } else {
    req->keep_alive = 0; /* HTTP/1.0: the end of the body is the end of the connection */
  }
  if (!rc)
    rc = end_head(c);
  return rc ? rc : send_out(c, timeout);
}

int grove_http_write(grove_http_request *req, const void *data, size_t len, double timeout) {
  int rc = check_req(req, timeout);
  if (rc)
    return rc;
  if (!req->started || req->finished || (len && !data))
    return GROVE_EINVAL;
  if (req->failed)
    return GROVE_EPIPE;
  if (len == 0 || strcmp(req->method, "HEAD") == 0)
    return 0;
  conn *c = req->c;
  if (!req->chunked) {
    rc = grove__stream_write(&c->st, data, len, timeout);
    if (rc) {
      req->failed = 1;
      c->hs->stats.write_errors++;
    }
    return rc;
  }
  c->out_len = 0;
  if ((rc = out_fmt(c, "%zx\r\n", len)) != 0)
    return rc;
  if (len <= KEEP_LIMIT) {
    if ((rc = out_add(c, data, len)) != 0 || (rc = out_str(c, "\r\n")) != 0)
      return rc;
    return send_out(c, timeout);
  }
  double deadline = grove__deadline(timeout);
  if ((rc = send_out(c, timeout)) != 0)
    return rc;
  if ((rc = grove__stream_write(&c->st, data, len, grove__remaining(deadline))) == 0)
    rc = grove__stream_write(&c->st, "\r\n", 2, grove__remaining(deadline));
  if (rc) {
    req->failed = 1;
    c->hs->stats.write_errors++;
  }
  return rc;
}

int grove_http_finish(grove_http_request *req, double timeout) {
  int rc = check_req(req, timeout);
  if (rc)
    return rc;
  if (!req->started)
    return GROVE_EINVAL;
  if (req->finished)
    return 0;
  if (req->failed)
    return GROVE_EPIPE;
  req->finished = 1;
  if (!req->chunked)
    return 0;
  conn *c = req->c;
  rc = grove__stream_write(&c->st, "0\r\n\r\n", 5, timeout);
  if (rc) {
    req->failed = 1;
    c->hs->stats.write_errors++;
  }
  return rc;
}

int grove_http_add_header(grove_http_request *req, const char *name, const char *value) {
  if (!req || !req->c || !name || !value || !*name || req->responded)
    return GROVE_EINVAL;
  if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
    return GROVE_EINVAL;
  if (strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Transfer-Encoding") == 0)
    return GROVE_EINVAL;
  size_t nl = strlen(name), vl = strlen(value);
  int rc = reserve(&req->extra, &req->extra_cap, req->extra_len + nl + vl + 4, 128);
  if (rc)
    return rc;
  char *p = req->extra + req->extra_len;
  memcpy(p, name, nl);
  p[nl] = ':';
  p[nl + 1] = ' ';
  memcpy(p + nl + 2, value, vl);
  p[nl + 2 + vl] = '\r';
  p[nl + 3 + vl] = '\n';
  req->extra_len += nl + vl + 4;
  if (strcasecmp(name, "Connection") == 0 && strcasecmp(value, "close") == 0) {
    req->keep_alive = 0;
    req->close_asked = 1;
  }
  return 0;
}

/* An error answer from the server itself; the connection closes after. */
static void refuse(conn *c, int status) {
  grove_http_stats *s = &c->hs->stats;
  switch (status) {
  case 400:
    s->bad_requests++;
    break;
  case 408:
    s->timeouts++;
    break;
  case 413:
    s->too_large++;
    break;
  case 431:
    s->headers_too_large++;
    break;
  default:
    break;
  }
  char msg[256];
  const char *text = grove_http_status_text(status);
  int n = snprintf(msg, sizeof msg,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n%s\n",
                   status, text, strlen(text) + 1, text);
  if (n < 0 || (size_t)n >= sizeof msg)
    return;
  /* A short, bounded write: the client may be the one refusing to read. */
  if (grove__stream_write(&c->st, msg, (size_t)n, 2.0) != 0 || c->st.tls || !c->buf)
    return;
  /* Lingering close: a client still sending (the body of a 413) would get
   * a reset instead of the answer if the socket closed with its bytes
   * unread, so stop writing and drain a little first. */
  if (grove_socket_shutdown(c->st.sock, SHUT_WR) != 0)
    return;
  double deadline = grove__deadline(LINGER_TIME);
  size_t drained = 0;
  while (drained < LINGER_BYTES) {
    ssize_t k = grove_socket_read(c->st.sock, c->buf, c->cap, grove__remaining(deadline));
    if (k <= 0)
      break;
    drained += (size_t)k;
  }
}

/* ---- the request accessors --------------------------------------------------------------- */

const char *grove_http_method(const grove_http_request *req) { return req ? req->method : NULL; }
const char *grove_http_target(const grove_http_request *req) { return req ? req->target : NULL; }
const char *grove_http_path(const grove_http_request *req) { return req ? req->path : NULL; }
const char *grove_http_query(const grove_http_request *req) { return req ? req->query : NULL; }
int grove_http_version(const grove_http_request *req) { return req ? req->version : GROVE_EINVAL; }

const char *grove_http_header(const grove_http_request *req, const char *name) {
  if (!req || !req->c || !name)
    return NULL;
  for (size_t i = 0; i < req->nheaders; i++)
    if (strcasecmp(req->c->hdrs[i].n, name) == 0)
      return req->c->hdrs[i].v;
  return NULL;
}

size_t grove_http_header_count(const grove_http_request *req) { return req ? req->nheaders : 0; }

int grove_http_header_at(const grove_http_request *req, size_t i, const char **name,
                         const char **value) {
  if (!req || !req->c)
    return GROVE_EINVAL;
  if (i >= req->nheaders)
    return GROVE_ENOENT;
  if (name)
    *name = req->c->hdrs[i].n;
  if (value)
    *value = req->c->hdrs[i].v;
  return 0;
}

const void *grove_http_body(const grove_http_request *req, size_t *len) {
  if (len)
    *len = req ? req->body_len : 0;
  if (!req || !req->body)
    return "";
  req->body[req->body_len] = 0; /* reserve() kept room for it */
  return req->body;
}

grove_socket *grove_http_socket(const grove_http_request *req) {
  return req && req->c ? req->c->st.sock : NULL;
}

/* ---- for websocket.c ------------------------------------------------------------------------ */

grove__stream *grove__http_stream(grove_http_request *req) { return &req->c->st; }

void grove__http_leftover(grove_http_request *req, const char **data, size_t *len) {
  conn *c = req->c;
  *data = c->buf + c->off;
  *len = c->len - c->off;
  c->off = c->len; /* they belong to the WebSocket now */
}

void grove__http_upgraded(grove_http_request *req, grove_ws *ws) {
  req->ws = ws;
  req->keep_alive = 0;
  req->c->hs->stats.upgrades++;
}

bool grove__http_stopping(const grove_http_request *req) { return req->c->hs->stopping; }
bool grove__http_responded(const grove_http_request *req) { return req->responded; }

/* ---- a connection --------------------------------------------------------------------------- */

static void conn_link(grove_http_server *hs, conn *c) {
  c->next = hs->conns;
  if (hs->conns)
    hs->conns->prev = c;
  hs->conns = c;
  hs->nconns++;
}

static void conn_unlink(grove_http_server *hs, conn *c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    hs->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  hs->nconns--;
}

static void serve(conn *c) {
  grove_http_server *hs = c->hs;
  size_t served = 0;
  for (;;) {
    int r = read_request(c);
    if (r == 0)
      return;
    if (r < 0) {
      refuse(c, c->error ? c->error : 400);
      return;
    }
    c->state = C_HANDLING;
    grove_http_request *req = &c->req;
    served++;
    c->served = served;
    hs->stats.requests++;
    if (hs->stopping || c->upgrade || (hs->cfg.max_requests && served >= hs->cfg.max_requests))
      req->keep_alive = 0;
    hs->handler(req, hs->arg);
    if (req->ws) {
      grove__ws_end(req->ws, hs->stopping);
      req->ws = NULL;
      return;
    }
    if (!req->responded) {
      hs->stats.unanswered++;
      req->keep_alive = 0;
      static const char body[] = "Internal Server Error\n";
      (void)grove_http_respond(req, 500, "text/plain", body, sizeof body - 1, 2.0);
    } else if (req->started && !req->finished) {
      (void)grove_http_finish(req, 2.0);
    }
    if (req->failed || !req->keep_alive || hs->stopping)
      return;
  }
}

/* max_connections are all in use with c: close the connection that has
 * idled longest (between requests, or before its first), so that the next
 * one is accepted; if none is idle, the next that becomes idle closes
 * (read_request). So a full server always frees a slot for a newcomer as
 * soon as some connection is idle: idle clients cannot lock it out, and a
 * connection in the middle of a request is never closed for this. */
static void evict_idle(grove_http_server *hs, conn *c) {
  conn *oldest = NULL;
  for (conn *o = hs->conns; o; o = o->next)
    if (o != c && o->state == C_IDLE && (!oldest || o->idle_since < oldest->idle_since))
      oldest = o;
  if (oldest && grove_fd_cancel_wait(grove_socket_fd(oldest->st.sock)) > 0)
    hs->stats.evicted++;
  else
    hs->evict_pending = true; /* none idle now: the next to become idle goes */
}

static void on_connection(grove_socket *sock, void *arg) {
  grove_http_server *hs = arg;
  hs->stats.connections++;
  conn *c = calloc(1, sizeof *c);
  if (!c)
    return;
  c->hs = hs;
  c->st.sock = sock;
  c->req.c = c;
  c->idle_since = grove__now();
  conn_link(hs, c);
  if (hs->own_pool && hs->nconns >= hs->cfg.max_connections)
    evict_idle(hs, c);
  if (hs->cfg.tls) {
    if (grove_tls_wrap(hs->cfg.tls, sock, NULL, &c->tls) != 0 ||
        grove_tls_handshake(c->tls, hs->cfg.request_timeout) != 0) {
      hs->stats.tls_failures++;
      goto done;
    }
    c->st.tls = c->tls;
  }
  serve(c);
  if (c->tls)
    (void)grove_tls_shutdown(c->tls, 0);
done:
  conn_unlink(hs, c);
  grove_tls_free(c->tls);
  free(c->req.path_copy);
  free(c->req.body);
  free(c->req.extra);
  free(c->hdrs);
  free(c->buf);
  free(c->out);
  free(c);
}

/* ---- the server ------------------------------------------------------------------------------ */

int grove_http_server_new(grove_socket *listener, grove_http_handler handler, void *arg,
                          const grove_http_config *cfg, grove_http_server **out) {
  if (out)
    *out = NULL;
  if (!listener || !handler || !out || (cfg && cfg->pool && cfg->max_connections)) {
    grove_socket_close(listener);
    return GROVE_EINVAL;
  }
  grove_http_server *hs = calloc(1, sizeof *hs);
  if (!hs) {
    grove_socket_close(listener);
    return GROVE_ENOMEM;
  }
  if (cfg)
    hs->cfg = *cfg;
  defaults(&hs->cfg);
  hs->handler = handler;
  hs->arg = arg;
  if (hs->cfg.max_connections &&
      !(hs->cfg.pool = hs->own_pool = grove_pool_new(hs->cfg.max_connections))) {
    grove_socket_close(listener);
    free(hs);
    return GROVE_ENOMEM;
  }
  int rc = grove_stream_server_new(listener, on_connection, hs, hs->cfg.pool, &hs->srv);
  if (rc) {
    grove_group_free(hs->own_pool);
    free(hs);
    return rc;
  }
  *out = hs;
  return 0;
}

int grove_http_server_start(grove_http_server *srv) {
  return srv ? grove_server_start(srv->srv) : GROVE_EINVAL;
}

int grove_http_server_serve_forever(grove_http_server *srv, double timeout) {
  return srv ? grove_server_serve_forever(srv->srv, timeout) : GROVE_EINVAL;
}

int grove_http_server_stop(grove_http_server *srv, double timeout) {
  if (!srv)
    return GROVE_EINVAL;
  if (!srv->stopping) {
    srv->stopping = true;
    for (conn *c = srv->conns; c; c = c->next) {
      if (c->state == C_IDLE)
        grove_fd_cancel_wait(grove_socket_fd(c->st.sock));
      else if (c->req.ws)
        grove__ws_going_away(c->req.ws);
    }
  }
  return grove_server_stop(srv->srv, timeout);
}

int grove_http_server_port(const grove_http_server *srv) {
  return srv ? grove_server_port(srv->srv) : GROVE_EINVAL;
}

size_t grove_http_server_connections(const grove_http_server *srv) { return srv ? srv->nconns : 0; }

void grove_http_server_stats(const grove_http_server *srv, grove_http_stats *out) {
  if (!out)
    return;
  if (!srv) {
    memset(out, 0, sizeof *out);
    return;
  }
  *out = srv->stats;
}

void grove_http_server_free(grove_http_server *srv) {
  if (!srv)
    return;
  grove_http_server_stop(srv, 0);
  grove_server_free(srv->srv);
  grove_group_free(srv->own_pool);
  free(srv);
}
