/* net/tls.c - TLS sessions over cooperative sockets (gevent.ssl), OpenSSL.
 *
 * Design notes. OpenSSL never touches the descriptor: each session has two
 * memory BIOs. Every SSL_* call runs to completion without blocking (a
 * memory BIO always accepts writes; an empty read BIO says "retry"), so
 * OpenSSL is never re-entered from another greenlet. When it wants input,
 * the session first flushes what OpenSSL wrote (a handshake message, an
 * alert) and then reads from the socket into the read BIO: that read is the
 * only place a session blocks, and it is an ordinary grove_socket_read with
 * its timeout, deadline and cancellation.
 *
 * Flushing copies out of the write BIO into the session's own buffer before
 * writing it, because another greenlet may append to the BIO (a reader
 * answering a post-handshake message while a writer is blocked): one flusher
 * at a time drains the BIO to the end, and a second caller leaves its bytes
 * to it, so records never interleave on the wire.
 *
 * Buffers are allocated on first use and sized for one full TLS record;
 * SSL_MODE_RELEASE_BUFFERS lets OpenSSL drop its own while a session idles.
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define IO_SIZE (16 * 1024 + 512) /* a record and its overhead */
#define WRITE_PIECE (64 * 1024)   /* plaintext encrypted per flush */
#define EOF_MARK 1                /* internal: the socket reached its end */

struct grove_tls_ctx {
  SSL_CTX *ctx;
  bool server, verify;
};

struct grove_tls {
  SSL *ssl;
  BIO *rbio, *wbio; /* owned by ssl */
  grove_socket *sock;
  char *inbuf, *outbuf;
  bool own_sock, server, flushing, failed;
  char err[160];
};

/* ---- contexts ------------------------------------------------------------------------ */

static int ctx_new(bool server, grove_tls_ctx **out) {
  grove_tls_ctx *c = calloc(1, sizeof *c);
  if (!c)
    return GROVE_ENOMEM;
  c->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!c->ctx) {
    free(c);
    return GROVE_ENOMEM;
  }
  SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(c->ctx, SSL_MODE_RELEASE_BUFFERS);
  c->server = server;
  *out = c;
  return 0;
}

int grove_tls_client_ctx_new(const char *ca_file, grove_tls_ctx **out) {
  if (!out)
    return GROVE_EINVAL;
  *out = NULL;
  if (ca_file && access(ca_file, R_OK) != 0)
    return GROVE_ENOENT;
  grove_tls_ctx *c;
  int rc = ctx_new(false, &c);
  if (rc)
    return rc;
  int ok = ca_file ? SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL)
                   : SSL_CTX_set_default_verify_paths(c->ctx);
  ERR_clear_error();
  if (ok != 1) {
    grove_tls_ctx_free(c);
    return GROVE_EPROTO;
  }
  SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
  c->verify = true;
  *out = c;
  return 0;
}

int grove_tls_server_ctx_new(const char *cert_file, const char *key_file, grove_tls_ctx **out) {
  if (!out || !cert_file || !key_file)
    return GROVE_EINVAL;
  *out = NULL;
  if (access(cert_file, R_OK) != 0 || access(key_file, R_OK) != 0)
    return GROVE_ENOENT;
  grove_tls_ctx *c;
  int rc = ctx_new(true, &c);
  if (rc)
    return rc;
  if (SSL_CTX_use_certificate_chain_file(c->ctx, cert_file) != 1 ||
      SSL_CTX_use_PrivateKey_file(c->ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(c->ctx) != 1) {
    ERR_clear_error();
    grove_tls_ctx_free(c);
    return GROVE_EPROTO;
  }
  *out = c;
  return 0;
}

int grove_tls_ctx_set_verify(grove_tls_ctx *ctx, bool verify) {
  if (!ctx || ctx->server)
    return GROVE_EINVAL;
  SSL_CTX_set_verify(ctx->ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
  ctx->verify = verify;
  return 0;
}

void grove_tls_ctx_free(grove_tls_ctx *ctx) {
  if (!ctx)
    return;
  SSL_CTX_free(ctx->ctx); /* reference counted: live sessions keep theirs */
  free(ctx);
}

/* ---- sessions -------------------------------------------------------------------------- */

static bool is_ip_literal(const char *host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int grove_tls_wrap(grove_tls_ctx *ctx, grove_socket *sock, const char *host, grove_tls **out) {
  if (!out)
    return GROVE_EINVAL;
  *out = NULL;
  if (!ctx || !sock || grove_socket_fd(sock) < 0)
    return GROVE_EINVAL;
  if (!ctx->server && ctx->verify && (!host || !*host))
    return GROVE_EINVAL;
  grove_tls *t = calloc(1, sizeof *t);
  if (!t)
    return GROVE_ENOMEM;
  t->ssl = SSL_new(ctx->ctx);
  t->rbio = BIO_new(BIO_s_mem());
  t->wbio = BIO_new(BIO_s_mem());
  if (!t->ssl || !t->rbio || !t->wbio) {
    BIO_free(t->rbio);
    BIO_free(t->wbio);
    SSL_free(t->ssl);
    free(t);
    ERR_clear_error();
    return GROVE_ENOMEM;
  }
  BIO_set_mem_eof_return(t->rbio, -1); /* empty: "retry", not end of stream */
  SSL_set_bio(t->ssl, t->rbio, t->wbio);
  t->sock = sock;
  t->server = ctx->server;
  int ok = 1;
  if (ctx->server) {
    SSL_set_accept_state(t->ssl);
  } else {
    SSL_set_connect_state(t->ssl);
    if (host && *host) {
      if (is_ip_literal(host)) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host);
      } else {
        ok = SSL_set_tlsext_host_name(t->ssl, host) == 1 && SSL_set1_host(t->ssl, host) == 1;
      }
    }
  }
  if (ok != 1) {
    ERR_clear_error();
    grove_tls_free(t);
    return GROVE_EINVAL;
  }
  *out = t;
  return 0;
}

void grove_tls_free(grove_tls *t) {
  if (!t)
    return;
  SSL_free(t->ssl); /* frees both BIOs */
  if (t->own_sock)
    grove_socket_close(t->sock);
  free(t->inbuf);
  free(t->outbuf);
  free(t);
}

grove_socket *grove_tls_socket(const grove_tls *t) { return t ? t->sock : NULL; }

const char *grove_tls_error(const grove_tls *t) { return t ? t->err : ""; }

const char *grove_tls_version(const grove_tls *t) {
  if (!t || !SSL_is_init_finished(t->ssl))
    return "";
  return SSL_get_version(t->ssl);
}

/* ---- moving bytes ---------------------------------------------------------------------- */

/* Write out everything OpenSSL produced. A second greenlet arriving while
 * one flushes leaves its bytes to that one (see the design notes). */
static int flush(grove_tls *t, double deadline) {
  if (t->flushing)
    return 0;
  if (BIO_ctrl_pending(t->wbio) == 0)
    return 0;
  if (!t->outbuf && !(t->outbuf = malloc(IO_SIZE)))
    return GROVE_ENOMEM;
  t->flushing = true;
  int rc = 0;
  size_t pending;
  while (rc == 0 && (pending = BIO_ctrl_pending(t->wbio)) > 0) {
    int n = BIO_read(t->wbio, t->outbuf, (int)(pending < IO_SIZE ? pending : IO_SIZE));
    if (n <= 0)
      break;
    rc = grove_socket_write_all(t->sock, t->outbuf, (size_t)n, NULL, grove__remaining(deadline));
  }
  t->flushing = false;
  if (rc)
    t->failed = true;
  return rc;
}

/* Read what the socket has into the read BIO: 0, EOF_MARK, or an error. */
static int fill(grove_tls *t, double deadline) {
  if (!t->inbuf && !(t->inbuf = malloc(IO_SIZE)))
    return GROVE_ENOMEM;
  ssize_t n = grove_socket_read(t->sock, t->inbuf, IO_SIZE, grove__remaining(deadline));
  if (n < 0)
    return (int)n;
  if (n == 0)
    return EOF_MARK;
  if (BIO_write(t->rbio, t->inbuf, (int)n) != (int)n)
    return GROVE_ENOMEM;
  return 0;
}

static int refuse(grove_tls *t) {
  unsigned long e = ERR_peek_last_error();
  long vr = SSL_get_verify_result(t->ssl);
  if (vr != X509_V_OK && !t->server)
    snprintf(t->err, sizeof t->err, "certificate verify failed: %s",
             X509_verify_cert_error_string(vr));
  else if (e)
    ERR_error_string_n(e, t->err, sizeof t->err);
  else
    snprintf(t->err, sizeof t->err, "TLS protocol error");
  ERR_clear_error();
  t->failed = true;
  (void)flush(t, grove__now()); /* the alert, if it can go at once */
  return GROVE_EPROTO;
}

/* After an SSL_* call returned ret <= 0: do what it asks for. Returns 0 to
 * retry the call, EOF_MARK, or an error. */
static int drive(grove_tls *t, int ret, double deadline) {
  int rc;
  switch (SSL_get_error(t->ssl, ret)) {
  case SSL_ERROR_WANT_READ:
    if ((rc = flush(t, deadline)) != 0)
      return rc;
    return fill(t, deadline);
  case SSL_ERROR_WANT_WRITE:
    return flush(t, deadline);
  case SSL_ERROR_ZERO_RETURN:
    return EOF_MARK;
  default:
    return refuse(t);
  }
}

static int usable(grove_tls *t, double timeout) {
  if (!t || timeout != timeout)
    return GROVE_EINVAL;
  return t->failed ? GROVE_EPROTO : 0;
}

int grove_tls_handshake(grove_tls *t, double timeout) {
  int rc = usable(t, timeout);
  if (rc)
    return rc;
  double deadline = grove__deadline(timeout);
  for (;;) {
    if (SSL_is_init_finished(t->ssl))
      return flush(t, deadline);
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r == 1)
      return flush(t, deadline);
    rc = drive(t, r, deadline);
    if (rc == EOF_MARK) {
      snprintf(t->err, sizeof t->err, "the peer closed the connection during the handshake");
      t->failed = true;
      return GROVE_EPROTO;
    }
    if (rc < 0)
      return rc;
  }
}

int grove_tls_connect(grove_tls_ctx *ctx, const char *host, int port, grove_tls **out,
                      double timeout) {
  if (!out)
    return GROVE_EINVAL;
  *out = NULL;
  if (!ctx || ctx->server || !host || timeout != timeout)
    return GROVE_EINVAL;
  double deadline = grove__deadline(timeout);
  grove_socket *s;
  int rc = grove_tcp_connect(host, port, &s, timeout);
  if (rc)
    return rc;
  grove_tls *t;
  if ((rc = grove_tls_wrap(ctx, s, host, &t)) != 0) {
    grove_socket_close(s);
    return rc;
  }
  t->own_sock = true;
  if ((rc = grove_tls_handshake(t, grove__remaining(deadline))) != 0) {
    grove_tls_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

ssize_t grove_tls_read(grove_tls *t, void *buf, size_t len, double timeout) {
  int rc = usable(t, timeout);
  if (rc)
    return rc;
  if (!buf || len == 0)
    return GROVE_EINVAL;
  double deadline = grove__deadline(timeout);
  int want = len > INT_MAX ? INT_MAX : (int)len;
  for (;;) {
    ERR_clear_error();
    int n = SSL_read(t->ssl, buf, want);
    if (n > 0) {
      /* A post-handshake message may have made OpenSSL answer. */
      if (BIO_ctrl_pending(t->wbio) && (rc = flush(t, deadline)) != 0)
        return rc;
      return n;
    }
    rc = drive(t, n, deadline);
    if (rc == EOF_MARK)
      return 0;
    if (rc < 0)
      return rc;
  }
}

int grove_tls_write_all(grove_tls *t, const void *buf, size_t len, double timeout) {
  int rc = usable(t, timeout);
  if (rc)
    return rc;
  if (!buf && len)
    return GROVE_EINVAL;
  double deadline = grove__deadline(timeout);
  if (len == 0)
    return grove_tls_handshake(t, timeout);
  const char *p = buf;
  size_t off = 0;
  while (off < len) {
    size_t piece = len - off < WRITE_PIECE ? len - off : WRITE_PIECE;
    ERR_clear_error();
    int n = SSL_write(t->ssl, p + off, (int)piece);
    if (n > 0) {
      off += (size_t)n;
      if ((rc = flush(t, deadline)) != 0)
        return rc;
      continue;
    }
    rc = drive(t, n, deadline);
    if (rc == EOF_MARK)
      return GROVE_EPIPE;
    if (rc < 0)
      return rc;
  }
  return 0;
}

int grove_tls_shutdown(grove_tls *t, double timeout) {
  int rc = usable(t, timeout);
  if (rc)
    return rc;
  if (!SSL_is_init_finished(t->ssl))
    return 0; /* nothing to end */
  ERR_clear_error();
  (void)SSL_shutdown(t->ssl); /* queues close_notify in the write BIO */
  ERR_clear_error();
  return flush(t, grove__deadline(timeout));
}
