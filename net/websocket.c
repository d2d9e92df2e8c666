/* net/websocket.c - WebSockets (RFC 6455): the server side of an HTTP
 * upgrade, a client, frames, messages and the close handshake.
 *
 * Design notes. A grove_ws reads into one buffer (`in`) and parses frames
 * in place: a payload is unmasked where it lies. A message that comes in
 * one frame is handed out as a pointer into that buffer, NUL-terminated by
 * borrowing the byte after it (put back at the next call), so the common
 * case copies nothing; fragments are joined in a second buffer (`msg`).
 * Limits are checked from the frame header, before the payload is read.
 *
 * Control frames are answered inside grove_ws_recv (ping: pong; close:
 * close), so a program that only receives still keeps the connection
 * healthy. Because a receiver may write (those answers) while another
 * greenlet sends, every write holds the ws's write lock, and control
 * frames are built on the stack (at most 2 + 4 + 125 bytes).
 *
 * A violation closes with the RFC's code (1002 protocol, 1007 bad UTF-8,
 * 1009 too big) and leaves the ws failed: later calls return the same
 * error. Close codes are echoed, as section 5.5.1 suggests.
 */
#include "net.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define IN_START 2048
#define READ_MIN 4096
#define OUT_COPY (64 * 1024) /* a server frame up to this is written in one piece */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct grove_ws {
  grove__stream *st; /* the request's, or &own */
  grove__stream own;
  bool client, failed, sent_close, got_close;
  int fail_code;  /* the error recv returns once failed */
  int close_code; /* the peer's */
  int send_op;    /* a fragmented message being sent: its opcode, else 0 */
  grove_ws_config cfg;
  grove_lock *wlock;
  char *in;
  size_t in_cap, in_len, in_off;
  char *borrowed; /* the byte after a message handed out, and its value */
  char borrowed_val;
  char *msg;
  size_t msg_len, msg_cap;
  int msg_op; /* the opcode of a fragmented message being received, else 0 */
  bool msg_done;
  char *out;
  size_t out_cap;
};

/* ---- helpers -------------------------------------------------------------------------------- */

bool grove__utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF)
      need = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
      need = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
      need = 3, cp = c & 0x07;
    else
      return false;
    if (i + need >= n)
      return false;
    for (size_t k = 1; k <= need; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    i += need + 1;
  }
  return true;
}

void grove__ws_accept_key(const char *key, size_t keylen, char out[29]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *x = EVP_MD_CTX_new();
  out[0] = 0;
  if (!x)
    return;
  if (EVP_DigestInit_ex(x, EVP_sha1(), NULL) == 1 && EVP_DigestUpdate(x, key, keylen) == 1 &&
      EVP_DigestUpdate(x, WS_GUID, sizeof WS_GUID - 1) == 1 &&
      EVP_DigestFinal_ex(x, md, &mdlen) == 1 && mdlen == 20)
    EVP_EncodeBlock((unsigned char *)out, md, 20);
  EVP_MD_CTX_free(x);
}

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

static void config(grove_ws *ws, const grove_ws_config *cfg) {
  if (cfg)
    ws->cfg = *cfg;
  if (!ws->cfg.max_frame_size)
    ws->cfg.max_frame_size = 1024 * 1024;
  if (!ws->cfg.max_message_size)
    ws->cfg.max_message_size = 4 * 1024 * 1024;
  if (ws->cfg.close_timeout == 0)
    ws->cfg.close_timeout = 2;
}

static grove_ws *ws_new(const grove_ws_config *cfg, bool client) {
  grove_ws *ws = calloc(1, sizeof *ws);
  if (!ws)
    return NULL;
  config(ws, cfg);
  ws->client = client;
  if (!(ws->wlock = grove_lock_new())) {
    free(ws);
    return NULL;
  }
  return ws;
}

static void ws_destroy(grove_ws *ws) {
  grove_lock_free(ws->wlock);
  free(ws->in);
  free(ws->msg);
  free(ws->out);
  free(ws);
}

static bool valid_close_code(int code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
         (code >= 3000 && code <= 4999);
}

/* ---- sending ------------------------------------------------------------------------------- */

static size_t frame_header(unsigned char *h, int op, bool fin, size_t len, bool mask,
                           unsigned char key[4]) {
  size_t n = 0;
  h[n++] = (unsigned char)((fin ? 0x80 : 0) | (op & 0x0F));
  unsigned char m = mask ? 0x80 : 0;
  if (len < 126) {
    h[n++] = m | (unsigned char)len;
  } else if (len <= 0xFFFF) {
    h[n++] = m | 126;
    h[n++] = (unsigned char)(len >> 8);
    h[n++] = (unsigned char)len;
  } else {
    h[n++] = m | 127;
    for (int i = 7; i >= 0; i--)
      h[n++] = (unsigned char)((uint64_t)len >> (8 * i));
  }
  if (mask) {
    if (RAND_bytes(key, 4) != 1)
      memset(key, 0x5a, 4); /* still a valid mask; the RFC wants it unpredictable */
    memcpy(h + n, key, 4);
    n += 4;
  }
  return n;
}

static void xor_mask(unsigned char *p, size_t n, const unsigned char key[4], size_t phase) {
  for (size_t i = 0; i < n; i++)
    p[i] ^= key[(i + phase) & 3];
}

/* Write one frame, holding the write lock. */
static int write_frame(grove_ws *ws, int op, bool fin, const void *data, size_t len,
                       double deadline) {
  int rc = grove_lock_acquire(ws->wlock, grove__remaining(deadline));
  if (rc)
    return rc;
  unsigned char key[4];
  unsigned char h[14];
  size_t hl = frame_header(h, op, fin, len, ws->client, key);
  const unsigned char *p = data;
  if (!ws->client && len > OUT_COPY) {
    rc = grove__stream_write(ws->st, h, hl, grove__remaining(deadline));
    if (!rc)
      rc = grove__stream_write(ws->st, p, len, grove__remaining(deadline));
  } else {
    /* Header and payload in one write; a client's payload is masked in the
     * copy, piece by piece for a large one. */
    size_t first = len < OUT_COPY ? len : OUT_COPY;
    rc = reserve(&ws->out, &ws->out_cap, hl + first, 256);
    size_t done = 0;
    if (!rc) {
      memcpy(ws->out, h, hl);
      memcpy(ws->out + hl, p, first);
      if (ws->client)
        xor_mask((unsigned char *)ws->out + hl, first, key, 0);
      rc = grove__stream_write(ws->st, ws->out, hl + first, grove__remaining(deadline));
      done = first;
    }
    while (!rc && done < len) {
      size_t k = len - done < OUT_COPY ? len - done : OUT_COPY;
      memcpy(ws->out, p + done, k);
      if (ws->client)
        xor_mask((unsigned char *)ws->out, k, key, done);
      rc = grove__stream_write(ws->st, ws->out, k, grove__remaining(deadline));
      done += k;
    }
    if (ws->out_cap > 4 * OUT_COPY) {
      free(ws->out);
      ws->out = NULL;
      ws->out_cap = 0;
    }
  }
  grove_lock_release(ws->wlock);
  if (rc && rc != GROVE_ETIMEDOUT && rc != GROVE_ECANCELED) {
    ws->failed = true;
    ws->fail_code = rc;
  }
  return rc;
}

static int send_close(grove_ws *ws, int code, const char *reason, double deadline) {
  if (ws->sent_close)
    return 0;
  unsigned char p[125];
  size_t n = 0;
  if (code) {
    p[0] = (unsigned char)(code >> 8);
    p[1] = (unsigned char)code;
    n = 2;
    if (reason) {
      size_t rl = strlen(reason);
      if (rl > 123)
        rl = 123;
      memcpy(p + 2, reason, rl);
      n += rl;
    }
  }
  ws->sent_close = true;
  return write_frame(ws, GROVE_WS_CLOSE, true, p, n, deadline);
}

/* A violation: close with code, remember the error. */
static int fail(grove_ws *ws, int code, int err) {
  if (!ws->sent_close)
    (void)send_close(ws, code, NULL, grove__deadline(1.0));
  ws->failed = true;
  ws->fail_code = err;
  ws->close_code = ws->close_code ? ws->close_code : GROVE_WS_ABNORMAL;
  return err;
}

int grove_ws_send_frame(grove_ws *ws, int opcode, bool fin, const void *data, size_t len,
                        double timeout) {
  if (!ws || timeout != timeout || (len && !data))
    return GROVE_EINVAL;
  if (ws->failed)
    return ws->fail_code;
  if (ws->sent_close)
    return GROVE_ECLOSED;
  if (opcode == GROVE_WS_CONTINUATION) {
    if (!ws->send_op)
      return GROVE_EINVAL;
  } else if (opcode == GROVE_WS_TEXT || opcode == GROVE_WS_BINARY) {
    if (ws->send_op)
      return GROVE_EINVAL;
  } else {
    return GROVE_EINVAL;
  }
  int rc = write_frame(ws, opcode, fin, data, len, grove__deadline(timeout));
  if (rc == 0)
    ws->send_op = fin ? 0 : (opcode ? opcode : ws->send_op);
  return rc;
}

int grove_ws_send(grove_ws *ws, int type, const void *data, size_t len, double timeout) {
  if (!ws || (type != GROVE_WS_TEXT && type != GROVE_WS_BINARY) || (len && !data))
    return GROVE_EINVAL;
  if (ws->send_op)
    return GROVE_EINVAL;
  if (type == GROVE_WS_TEXT && !grove__utf8_valid(data, len))
    return GROVE_EINVAL;
  return grove_ws_send_frame(ws, type, true, data, len, timeout);
}

int grove_ws_ping(grove_ws *ws, const void *data, size_t len, double timeout) {
  if (!ws || len > 125 || (len && !data) || timeout != timeout)
    return GROVE_EINVAL;
  if (ws->failed)
    return ws->fail_code;
  if (ws->sent_close)
    return GROVE_ECLOSED;
  return write_frame(ws, GROVE_WS_PING, true, data, len, grove__deadline(timeout));
}

/* ---- receiving ------------------------------------------------------------------------------ */

static void give_back(grove_ws *ws) {
  if (ws->borrowed) {
    *ws->borrowed = ws->borrowed_val;
    ws->borrowed = NULL;
  }
  if (ws->msg_done) {
    ws->msg_len = 0;
    ws->msg_op = 0;
    ws->msg_done = false;
  }
}

/* Make room for `need` unparsed bytes and read at least one more. */
static int read_more(grove_ws *ws, size_t need, double deadline) {
  if (ws->in_off > 0) {
    memmove(ws->in, ws->in + ws->in_off, ws->in_len - ws->in_off);
    ws->in_len -= ws->in_off;
    ws->in_off = 0;
  }
  size_t want = need > ws->in_len + READ_MIN ? need : ws->in_len + READ_MIN;
  if (reserve(&ws->in, &ws->in_cap, want, IN_START))
    return GROVE_ENOMEM;
  ssize_t n = grove__stream_read(ws->st, ws->in + ws->in_len, ws->in_cap - ws->in_len,
                                 grove__remaining(deadline));
  if (n < 0)
    return (int)n;
  if (n == 0)
    return GROVE_EOF;
  ws->in_len += (size_t)n;
  return 0;
}

static uint64_t be(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

/* The peer's close frame (payload p, n bytes): validate, answer, remember. */
static int got_close(grove_ws *ws, const unsigned char *p, size_t n, double deadline) {
  int code = GROVE_WS_NO_STATUS;
  if (n == 1)
    return fail(ws, GROVE_WS_PROTOCOL_ERROR, GROVE_EPROTO);
  if (n >= 2) {
    code = (int)be(p, 2);
    if (!valid_close_code(code))
      return fail(ws, GROVE_WS_PROTOCOL_ERROR, GROVE_EPROTO);
    if (!grove__utf8_valid(p + 2, n - 2))
      return fail(ws, GROVE_WS_INVALID_DATA, GROVE_EPROTO);
  }
  ws->got_close = true;
  ws->close_code = code;
  if (!ws->sent_close)
    (void)send_close(ws, code == GROVE_WS_NO_STATUS ? 0 : code, NULL, deadline);
  return GROVE_EOF;
}

static int recv_msg(grove_ws *ws, const void **data, size_t *len, double deadline) {
  give_back(ws);
  for (;;) {
    if (ws->failed)
      return ws->fail_code;
    if (ws->got_close)
      return GROVE_EOF;
    size_t have = ws->in_len - ws->in_off;
    const unsigned char *h = (const unsigned char *)ws->in + ws->in_off;
    size_t hl = 2;
    if (have >= 2) {
      size_t plen = h[1] & 0x7F;
      if (plen == 126)
        hl = 4;
      else if (plen == 127)
        hl = 10;
      bool masked = h[1] & 0x80;
      if (masked)
        hl += 4;
    }
    if (have < hl) {
      int rc = read_more(ws, hl, deadline);
      if (rc == GROVE_EOF || rc == GROVE_ECONNRESET) {
        ws->close_code = GROVE_WS_ABNORMAL;
        ws->got_close = true;
        return GROVE_EOF;
      }
      if (rc)
        return rc;
      continue;
    }
    bool fin = h[0] & 0x80;
    int rsv = h[0] & 0x70, op = h[0] & 0x0F;
    bool masked = h[1] & 0x80;
    uint64_t plen = h[1] & 0x7F;
    if (plen == 126)
      plen = be(h + 2, 2);
    else if (plen == 127)
      plen = be(h + 2, 8);
    bool control = op & 0x8;
    if (rsv || (op > 2 && op < 8) || op > 0xA)
      return fail(ws, GROVE_WS_PROTOCOL_ERROR, GROVE_EPROTO);
    if (control && (!fin || plen > 125))
      return fail(ws, GROVE_WS_PROTOCOL_ERROR, GROVE_EPROTO);
    if (masked == ws->client) /* clients mask, servers do not */
      return fail(ws, GROVE_WS_PROTOCOL_ERROR, GROVE_EPROTO);
    if (!control) {
      if (op == GROVE_WS_CONTINUATION ? !ws->msg_op : ws->msg_op != 0)
        return fail(ws, GROVE_WS_PROTOCOL_ERROR, GROVE_EPROTO);
      if (plen > ws->cfg.max_frame_size || ws->msg_len + plen > ws->cfg.max_message_size)
        return fail(ws, GROVE_WS_TOO_BIG, GROVE_EMSGSIZE);
    }
    if (have < hl + plen) {
      int rc = read_more(ws, hl + (size_t)plen + 1, deadline);
      if (rc == GROVE_EOF || rc == GROVE_ECONNRESET) {
        ws->close_code = GROVE_WS_ABNORMAL;
        ws->got_close = true;
        return GROVE_EOF;
      }
      if (rc)
        return rc;
      continue;
    }
    unsigned char *p = (unsigned char *)ws->in + ws->in_off + hl;
    if (masked)
      xor_mask(p, (size_t)plen, p - 4, 0);
    ws->in_off += hl + (size_t)plen;
    if (control) {
      if (op == GROVE_WS_PING) {
        int rc = write_frame(ws, GROVE_WS_PONG, true, p, (size_t)plen, deadline);
        if (rc)
          return rc;
      } else if (op == GROVE_WS_CLOSE) {
        return got_close(ws, p, (size_t)plen, deadline);
      }
      continue; /* pongs are skipped */
    }
    if (fin && op != GROVE_WS_CONTINUATION) {
      /* A whole message in one frame: hand it out where it lies. */
      if (op == GROVE_WS_TEXT && !grove__utf8_valid(p, (size_t)plen))
        return fail(ws, GROVE_WS_INVALID_DATA, GROVE_EPROTO);
      if (ws->in_off == ws->in_cap) { /* no byte to borrow: make one */
        if (reserve(&ws->in, &ws->in_cap, ws->in_cap + 1, IN_START))
          return fail(ws, GROVE_WS_TOO_BIG, GROVE_ENOMEM);
        p = (unsigned char *)ws->in + ws->in_off - plen;
      }
      ws->borrowed = ws->in + ws->in_off;
      ws->borrowed_val = *ws->borrowed;
      *ws->borrowed = 0;
      *data = p;
      *len = (size_t)plen;
      return op;
    }
    if (op != GROVE_WS_CONTINUATION)
      ws->msg_op = op;
    if (reserve(&ws->msg, &ws->msg_cap, ws->msg_len + (size_t)plen + 1, 1024))
      return fail(ws, GROVE_WS_TOO_BIG, GROVE_ENOMEM);
    memcpy(ws->msg + ws->msg_len, p, (size_t)plen);
    ws->msg_len += (size_t)plen;
    if (fin) {
      if (ws->msg_op == GROVE_WS_TEXT && !grove__utf8_valid((unsigned char *)ws->msg, ws->msg_len))
        return fail(ws, GROVE_WS_INVALID_DATA, GROVE_EPROTO);
      ws->msg[ws->msg_len] = 0;
      ws->msg_done = true;
      *data = ws->msg;
      *len = ws->msg_len;
      return ws->msg_op;
    }
  }
}

int grove_ws_recv(grove_ws *ws, const void **data, size_t *len, double timeout) {
  if (!ws || !data || !len || timeout != timeout)
    return GROVE_EINVAL;
  return recv_msg(ws, data, len, grove__deadline(timeout));
}

int grove_ws_close_code(const grove_ws *ws) { return ws ? ws->close_code : 0; }

int grove_ws_close(grove_ws *ws, int code, const char *reason, double timeout) {
  if (!ws || timeout != timeout || !valid_close_code(code) || (reason && strlen(reason) > 123))
    return GROVE_EINVAL;
  double deadline = grove__deadline(timeout);
  int rc = 0;
  if (!ws->sent_close && !ws->failed)
    rc = send_close(ws, code, reason, deadline);
  if (rc)
    return rc;
  while (!ws->got_close) {
    const void *d;
    size_t n;
    rc = recv_msg(ws, &d, &n, deadline);
    if (rc == GROVE_EOF)
      break;
    if (rc < 0)
      return rc;
  }
  return ws->close_code == GROVE_WS_ABNORMAL ? GROVE_ECONNRESET : 0;
}

/* ---- the server side ---------------------------------------------------------------------------
 */

static bool has_token(const char *list, const char *token) {
  if (!list)
    return false;
  size_t tl = strlen(token);
  const char *p = list;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    const char *e = p;
    while (*e && *e != ',')
      e++;
    const char *t = e;
    while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
      t--;
    if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0)
      return true;
    p = e;
  }
  return false;
}

static bool valid_key(const char *key) {
  if (!key || strlen(key) != 24 || key[22] != '=' || key[23] != '=')
    return false;
  unsigned char raw[24];
  return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

int grove_ws_upgrade(grove_http_request *req, const grove_ws_config *cfg, grove_ws **out,
                     double timeout) {
  if (!out)
    return GROVE_EINVAL;
  *out = NULL;
  if (!req || timeout != timeout || grove__http_responded(req))
    return GROVE_EINVAL;
  const char *version = grove_http_header(req, "Sec-WebSocket-Version");
  const char *key = grove_http_header(req, "Sec-WebSocket-Key");
  if (strcmp(grove_http_method(req), "GET") != 0 || grove_http_version(req) < 11 ||
      !has_token(grove_http_header(req, "Upgrade"), "websocket") ||
      !has_token(grove_http_header(req, "Connection"), "upgrade") || !valid_key(key) || !version) {
    static const char msg[] = "Bad Request: not a WebSocket upgrade\n";
    (void)grove_http_respond(req, 400, "text/plain", msg, sizeof msg - 1, timeout);
    return GROVE_EPROTO;
  }
  if (strcmp(version, "13") != 0) {
    static const char msg[] = "Upgrade Required: WebSocket version 13\n";
    grove_http_add_header(req, "Sec-WebSocket-Version", "13");
    (void)grove_http_respond(req, 426, "text/plain", msg, sizeof msg - 1, timeout);
    return GROVE_EPROTO;
  }
  grove_ws *ws = ws_new(cfg, false);
  if (!ws)
    return GROVE_ENOMEM;
  char accept[29], extra[128];
  grove__ws_accept_key(key, strlen(key), accept);
  snprintf(extra, sizeof extra,
           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", accept);
  const char *left;
  size_t nleft;
  grove__http_leftover(req, &left, &nleft);
  if (nleft) {
    if (reserve(&ws->in, &ws->in_cap, nleft + IN_START, IN_START)) {
      ws_destroy(ws);
      return GROVE_ENOMEM;
    }
    memcpy(ws->in, left, nleft);
    ws->in_len = nleft;
  }
  ws->st = grove__http_stream(req);
  int rc = grove__http_write_head(req, 101, extra, timeout);
  grove__http_upgraded(req, ws); /* the server frees it, whatever happened */
  if (rc)
    return rc;
  *out = ws;
  return 0;
}

void grove__ws_going_away(grove_ws *ws) {
  /* A sender holding the lock: nothing is written; the kill ends it. */
  if (!ws->failed && !ws->sent_close && !ws->got_close && !grove_lock_locked(ws->wlock) &&
      send_close(ws, GROVE_WS_GOING_AWAY, NULL, grove__now()) != 0) { /* a poll: never waits */
    ws->failed = true; /* maybe half a frame went out: nothing more may follow */
    ws->fail_code = GROVE_ECLOSED;
  }
}

void grove__ws_end(grove_ws *ws, bool stopping) {
  if (!ws->failed && !ws->got_close) {
    double deadline = grove__deadline(ws->cfg.close_timeout);
    if (!ws->sent_close)
      (void)send_close(ws, stopping ? GROVE_WS_GOING_AWAY : GROVE_WS_NORMAL, NULL, deadline);
    while (!ws->got_close && !ws->failed) {
      const void *d;
      size_t n;
      int rc = recv_msg(ws, &d, &n, deadline);
      if (rc < 0 && rc != GROVE_EOF)
        break;
      if (rc == GROVE_EOF)
        break;
    }
  }
  ws_destroy(ws);
}

/* ---- the client ---------------------------------------------------------------------------- */

typedef struct {
  char *field;
  size_t flen;
  char accept[40];
  int in_accept;
  bool done;
} resp_state;

static int resp_field(http_parser *p, const char *at, size_t len) {
  resp_state *s = p->data;
  s->in_accept = len == 20 && strncasecmp(at, "Sec-WebSocket-Accept", 20) == 0;
  return 0;
}
static int resp_value(http_parser *p, const char *at, size_t len) {
  resp_state *s = p->data;
  if (s->in_accept) {
    size_t have = strlen(s->accept);
    if (have + len < sizeof s->accept) {
      memcpy(s->accept + have, at, len);
      s->accept[have + len] = 0;
    }
  }
  return 0;
}
static int resp_done(http_parser *p) {
  resp_state *s = p->data;
  s->done = true;
  http_parser_pause(p, 1);
  return 0;
}

static int parse_url(const char *url, bool *tls, char *host, size_t hostcap, int *port,
                     const char **path) {
  const char *rest;
  if (strncasecmp(url, "ws://", 5) == 0) {
    *tls = false;
    *port = 80;
    rest = url + 5;
  } else if (strncasecmp(url, "wss://", 6) == 0) {
    *tls = true;
    *port = 443;
    rest = url + 6;
  } else {
    return GROVE_EINVAL;
  }
  const char *hs = rest, *he;
  if (*hs == '[') {
    he = strchr(hs, ']');
    if (!he)
      return GROVE_EINVAL;
    hs++;
  } else {
    he = hs + strcspn(hs, ":/?");
  }
  size_t hl = (size_t)(he - hs);
  if (hl == 0 || hl >= hostcap)
    return GROVE_EINVAL;
  memcpy(host, hs, hl);
  host[hl] = 0;
  const char *p = *he == ']' ? he + 1 : he;
  if (*p == ':') {
    char *end;
    long v = strtol(p + 1, &end, 10);
    if (end == p + 1 || v <= 0 || v > 65535)
      return GROVE_EINVAL;
    *port = (int)v;
    p = end;
  }
  if (*p && *p != '/' && *p != '?')
    return GROVE_EINVAL;
  *path = *p ? p : "/";
  return 0;
}

int grove_ws_connect(const char *url, const grove_ws_config *cfg, grove_ws **out, double timeout) {
  if (!out)
    return GROVE_EINVAL;
  *out = NULL;
  if (!url || timeout != timeout)
    return GROVE_EINVAL;
  bool tls;
  char host[256];
  int port;
  const char *path;
  int rc = parse_url(url, &tls, host, sizeof host, &port, &path);
  if (rc)
    return rc;
  if (strpbrk(path, " \r\n"))
    return GROVE_EINVAL;
  double deadline = grove__deadline(timeout);
  grove_ws *ws = ws_new(cfg, true);
  if (!ws)
    return GROVE_ENOMEM;
  ws->st = &ws->own;
  if (tls) {
    grove_tls_ctx *ctx = ws->cfg.tls, *mine = NULL;
    if (!ctx && (rc = grove_tls_client_ctx_new(NULL, &mine)) != 0)
      goto fail;
    rc = grove_tls_connect(ctx ? ctx : mine, host, port, &ws->own.tls, timeout);
    grove_tls_ctx_free(mine);
    if (rc)
      goto fail;
    ws->own.sock = grove_tls_socket(ws->own.tls);
  } else if ((rc = grove_tcp_connect(host, port, &ws->own.sock, timeout)) != 0) {
    goto fail;
  }
  unsigned char raw[16];
  char key[32], accept[29];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    rc = GROVE_EAGAIN;
    goto fail;
  }
  EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
  grove__ws_accept_key(key, strlen(key), accept);
  bool v6 = strchr(host, ':') != NULL;
  bool default_port = port == (tls ? 443 : 80);
  char req[1024];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s%s%s%s%.0d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                   "\r\n",
                   path, v6 ? "[" : "", host, v6 ? "]" : "", default_port ? "" : ":",
                   default_port ? 0 : port, key);
  if (n < 0 || (size_t)n >= sizeof req) {
    rc = GROVE_EINVAL;
    goto fail;
  }
  if ((rc = grove__stream_write(ws->st, req, (size_t)n, grove__remaining(deadline))) != 0)
    goto fail;
  /* The answer's head, parsed by libhttp-parser. */
  http_parser parser;
  http_parser_settings st = {0};
  st.on_header_field = resp_field;
  st.on_header_value = resp_value;
  st.on_headers_complete = resp_done;
  resp_state rs = {0};
  http_parser_init(&parser, HTTP_RESPONSE);
  parser.data = &rs;
  size_t parsed = 0;
  while (!rs.done) {
    if (ws->in_len >= 16 * 1024) {
      rc = GROVE_EPROTO;
      goto fail;
    }
    if ((rc = read_more(ws, 0, deadline)) != 0) {
      if (rc == GROVE_EOF)
        rc = GROVE_EPROTO;
      goto fail;
    }
    size_t k = http_parser_execute(&parser, &st, ws->in + parsed, ws->in_len - parsed);
    parsed += k;
    if (HTTP_PARSER_ERRNO(&parser) != HPE_OK && HTTP_PARSER_ERRNO(&parser) != HPE_PAUSED) {
      rc = GROVE_EPROTO;
      goto fail;
    }
  }
  /* The pause left the head's last LF unparsed. */
  if (parsed < ws->in_len && ws->in[parsed] == '\n')
    parsed++;
  if (parser.status_code != 101 || strcmp(rs.accept, accept) != 0) {
    rc = GROVE_EPROTO;
    goto fail;
  }
  ws->in_off = parsed;
  *out = ws;
  return 0;
fail:
  grove_ws_free(ws);
  return rc;
}

void grove_ws_free(grove_ws *ws) {
  if (!ws || !ws->client)
    return;
  if (ws->own.tls)
    grove_tls_free(ws->own.tls); /* closes the socket it made */
  else
    grove_socket_close(ws->own.sock);
  ws_destroy(ws);
}
