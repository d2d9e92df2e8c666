/* grove/tls.h - TLS over a cooperative socket (gevent.ssl), with OpenSSL.
 *
 * A grove_tls is one TLS session over a grove_socket: OpenSSL works on two
 * memory BIOs and grove moves the bytes with grove_socket_read/write, so a
 * handshake, read or write blocks only the calling greenlet, takes a
 * timeout (negative: forever, 0: poll), honours the scoped deadline of
 * grove_timeout_start and returns GROVE_ECANCELED once the greenlet is
 * killed, like every call of grove/io.h.
 *
 * A context (grove_tls_ctx) holds the configuration shared by many sessions:
 * for a client, the trust store and whether to verify; for a server, its
 * certificate chain and key. Clients verify by default: the peer's chain
 * against the trust store and its name against the host name given to
 * grove_tls_wrap (a DNS name or an IP literal). A session keeps what it needs
 * of its context: the context may be freed while sessions made from it live.
 *
 * Errors: GROVE_EPROTO for anything TLS refuses (a failed handshake, a
 * certificate that does not verify, a corrupt record); grove_tls_error()
 * then tells OpenSSL's reason. Socket errors (GROVE_ECONNRESET,
 * GROVE_EPIPE, ...) and the blocking-call codes pass through unchanged.
 */
#ifndef GROVE_TLS_H
#define GROVE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct grove_tls_ctx grove_tls_ctx;
typedef struct grove_tls grove_tls;

/* A client context. ca_file is a PEM file of trusted certificates; NULL
 * uses the system's trust store (/etc/ssl/certs). Peer verification and the
 * host name check are on. TLS 1.2 is the oldest version offered. Returns 0,
 * GROVE_ENOENT (ca_file missing), GROVE_EPROTO (not a PEM file),
 * GROVE_ENOMEM. */
int grove_tls_client_ctx_new(const char *ca_file, grove_tls_ctx **out);

/* A server context presenting cert_file (a PEM chain, leaf first) with the
 * private key in key_file (PEM). Returns 0, GROVE_ENOENT, GROVE_EPROTO (an
 * unreadable file, or a key that does not match the certificate),
 * GROVE_ENOMEM. */
int grove_tls_server_ctx_new(const char *cert_file, const char *key_file, grove_tls_ctx **out);

/* Client contexts: turn peer verification (chain and name) off or back on.
 * Off is for tests against throw-away certificates; it makes the session
 * open to anyone in the middle. Returns 0 or GROVE_EINVAL. */
int grove_tls_ctx_set_verify(grove_tls_ctx *ctx, bool verify);

/* Free a context (NULL is a no-op). Sessions made from it keep working. */
void grove_tls_ctx_free(grove_tls_ctx *ctx);

/* Start a TLS session over sock, as a client or a server according to the
 * context. The socket stays the caller's: grove_tls_free does not close it,
 * and it must outlive the session. host (clients) is sent as SNI and
 * checked against the server's certificate: a DNS name or an IP literal;
 * NULL sends no SNI and, with verification on, is GROVE_EINVAL. Nothing is
 * sent yet: grove_tls_handshake, or the first read or write, shakes hands.
 * Never blocks. Returns 0, GROVE_EINVAL, GROVE_ENOMEM. */
int grove_tls_wrap(grove_tls_ctx *ctx, grove_socket *sock, const char *host, grove_tls **out);

/* Connect to host:port over TCP (grove_tcp_connect) and shake hands as a
 * client, host being checked against the certificate. The session owns the
 * socket: grove_tls_free closes it. The timeout covers the whole call. */
int grove_tls_connect(grove_tls_ctx *ctx, const char *host, int port, grove_tls **out,
                      double timeout);

/* Run the handshake to its end. Returns 0 (also when it was done already),
 * GROVE_EPROTO (refused, see grove_tls_error; also a peer that closed the
 * connection during the handshake), a socket error (GROVE_ECONNRESET,
 * GROVE_EPIPE), GROVE_ETIMEDOUT, GROVE_ECANCELED. */
int grove_tls_handshake(grove_tls *t, double timeout);

/* Read decrypted bytes: what is available, at most len (waiting for at
 * least one). Shakes hands first if needed. Returns the count (> 0), 0 at
 * the end of the stream (the peer's close_notify, or the connection closed
 * without one, as Python's ssl with suppress_ragged_eofs), or an error. */
ssize_t grove_tls_read(grove_tls *t, void *buf, size_t len, double timeout);

/* Encrypt and send all len bytes. Returns 0 or an error; the timeout covers
 * the whole write. After an error the session is unusable. */
int grove_tls_write_all(grove_tls *t, const void *buf, size_t len, double timeout);

/* Send close_notify (the orderly end of the session) and flush it; does not
 * wait for the peer's. Returns 0 or an error. */
int grove_tls_shutdown(grove_tls *t, double timeout);

/* Free the session (NULL is a no-op), and close its socket if
 * grove_tls_connect made it. Sends nothing: call grove_tls_shutdown first
 * for an orderly end. */
void grove_tls_free(grove_tls *t);

/* The socket under the session. */
grove_socket *grove_tls_socket(const grove_tls *t);

/* OpenSSL's reason for the last GROVE_EPROTO of this session ("certificate
 * verify failed", ...), or "" if there was none. Owned by the session. */
const char *grove_tls_error(const grove_tls *t);

/* The negotiated protocol ("TLSv1.3") once the handshake is done, else "". */
const char *grove_tls_version(const grove_tls *t);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
