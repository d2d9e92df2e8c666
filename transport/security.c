/* transport/security.c - who may run without CURVE, and CURVE key files.
 *
 * Design notes.
 *
 * The rule (one home for it: grove__open_check): a cluster's node whose
 * traffic can leave the machine - it binds, advertises, seeds or connects
 * to an endpoint that is not loopback - runs with CURVE keys or not at all,
 * unless its opts say allow_open. A cluster's node is one that joins through
 * seeds or meshes (membership), or that a launcher started
 * (grove_cluster_join); the launcher checks its workers' endpoints before
 * any starts. A plain node (grove_node_start without seeds, as every
 * program before clusters) keeps working open and is warned once (an error
 * line naming the endpoint): refusing it would break every program that
 * runs nodes across namespaces or a trusted network. Loopback is tcp:// to 127.0.0.0/8, ::1 or
 * "localhost", and every ipc:// and inproc:// endpoint: the traffic stays in
 * the kernel, and the file system or the process guards it. Everything else
 * is "a network", also tcp://0.0.0.0, the wildcard, an interface name or a host
 * name (we do not resolve names here: a name could resolve to anything).
 * The refusal is GROVE_EINSECURE with an error line that names the endpoint
 * and says what to do; it happens before anything is bound or dialled.
 *
 * Key files are what czmq's zcert writes (its "_secret" certificate, ZPL):
 * comment lines starting with '#', section lines ("metadata", "curve"),
 * and the two lines that matter,
 *     public-key = "<40 Z85 characters>"
 *     secret-key = "<40 Z85 characters>"
 * (quotes optional, any indentation). The secret key is required, the
 * public key optional (derived from the secret); when both are there they
 * must belong together. Anything else wrong - a missing file, a file
 * larger than 64 KiB, a key of the wrong length or not Z85, a pair that
 * does not match - is an error code, never a crash; a file that group or
 * others may read is loaded with a warning (zcert's own files are 0600).
 */
#include "transport_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define KEYFILE_MAX (64 * 1024)

static void sec_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sec_log(int level, const char *fmt, ...) {
  if (!grove_log_enabled((grove_log_level)level))
    return;
  char text[640];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  grove_log_event ev = {.level = (grove_log_level)level, .kind = GROVE_LOG_TEXT};
  ev.node = grove_node_name();
  ev.text = text;
  grove_log_emit(&ev);
}

/* ---- loopback or a network ------------------------------------------------------------- */

int grove__endpoint_is_loopback(const char *ep) {
  if (!ep)
    return 0;
  if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0)
    return 1;
  if (strncmp(ep, "tcp://", 6) != 0)
    return 0; /* ws, pgm, tipc, ...: a network */
  const char *h = ep + 6;
  if (strchr(h, ';'))
    return 0; /* "source;destination": not worth a parser, call it a network */
  char host[256];
  size_t len;
  if (*h == '[') {
    const char *end = strchr(h, ']');
    if (!end)
      return 0;
    len = (size_t)(end - h - 1);
    h++;
  } else {
    const char *colon = strrchr(h, ':');
    len = colon ? (size_t)(colon - h) : strlen(h);
  }
  if (len == 0 || len >= sizeof host)
    return 0;
  memcpy(host, h, len);
  host[len] = 0;
  if (strcmp(host, "localhost") == 0)
    return 1;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6) ||
           (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127); /* ::ffff:127.x.y.z */
  return 0;
}

int grove__open_check(const char *what, const char *endpoint, int curve, int allow_open) {
  if (curve || allow_open || !endpoint || grove__endpoint_is_loopback(endpoint))
    return 0;
  sec_log(GROVE_LOG_ERROR,
          "refusing to %s %s without CURVE: it is not a loopback address, so anybody who can "
          "reach it could send to every actor; give the node CURVE keys (curve_public and "
          "curve_secret, or curve_keyfile) or set allow_open to run it open on purpose",
          what, endpoint);
  return GROVE_EINSECURE;
}

void grove__open_warn(grove__node *n, const char *what, const char *endpoint) {
  if (n->curve || n->opts.allow_open || n->warned_open || !endpoint ||
      grove__endpoint_is_loopback(endpoint))
    return;
  n->warned_open = 1;
  sec_log(GROVE_LOG_WARN,
          "node %s: %s %s without CURVE: anybody who can reach it can send to every actor; "
          "give the node CURVE keys (curve_public and curve_secret, or curve_keyfile), or set "
          "allow_open to say it is meant (a cluster's node is refused without either)",
          n->name, what, endpoint);
}

/* ---- key files ---------------------------------------------------------------------------- */

static int valid_z85_key(const char *k, uint8_t raw[32]) {
  return strlen(k) == 40 && zmq_z85_decode(raw, k) != NULL;
}

/* The value of a "key = value" line (quotes optional) into out[41]: 0, or
 * GROVE_EINVAL if it is not 40 characters. */
static int key_value(const char *p, char out[41]) {
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p != '=')
    return GROVE_EINVAL;
  p++;
  while (*p == ' ' || *p == '\t')
    p++;
  char q = 0;
  if (*p == '"' || *p == '\'')
    q = *p++;
  size_t n = 0;
  while (p[n] && p[n] != q && p[n] != '\n' && p[n] != '\r' && (q || (p[n] != ' ' && p[n] != '\t')))
    n++;
  if (n != 40 || (q && p[n] != q))
    return GROVE_EINVAL;
  memcpy(out, p, 40);
  out[40] = 0;
  return 0;
}

int grove_curve_keyfile_load(const char *path, char public_z85[41], char secret_z85[41]) {
  if (!path || !*path || !public_z85 || !secret_z85)
    return GROVE_EINVAL;
  public_z85[0] = secret_z85[0] = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    sec_log(GROVE_LOG_ERROR, "CURVE key file %s: %s", path, strerror(e));
    return e == ENOENT || e == ENOTDIR ? GROVE_ENOENT
           : e == EACCES || e == EPERM ? GROVE_EPERM
                                       : GROVE_EINVAL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > KEYFILE_MAX) {
    close(fd);
    sec_log(GROVE_LOG_ERROR, "CURVE key file %s: not a regular file of at most %d bytes", path,
            KEYFILE_MAX);
    return GROVE_EINVAL;
  }
  char *text = malloc((size_t)st.st_size + 1);
  if (!text) {
    close(fd);
    return GROVE_ENOMEM;
  }
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  text[got] = 0;
  char pub[41] = "", sec[41] = "";
  int rc = 0;
  const char *why = NULL;
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && !rc;
       line = strtok_r(NULL, "\n", &save)) {
    while (*line == ' ' || *line == '\t')
      line++;
    if (*line == '#')
      continue;
    if (strncmp(line, "public-key", 10) == 0) {
      if (pub[0] || key_value(line + 10, pub))
        rc = GROVE_EINVAL, why = pub[0]
                                     ? "two public-key lines"
                                     : "malformed public-key line (want = \"<40 Z85 characters>\")";
    } else if (strncmp(line, "secret-key", 10) == 0) {
      if (sec[0] || key_value(line + 10, sec))
        rc = GROVE_EINVAL, why = sec[0]
                                     ? "two secret-key lines"
                                     : "malformed secret-key line (want = \"<40 Z85 characters>\")";
    }
  }
  explicit_bzero(text, got);
  free(text);
  uint8_t raw[32];
  if (!rc && !sec[0])
    rc = GROVE_EINVAL, why = "no secret-key line (a public certificate is not a node's keys)";
  if (!rc && !valid_z85_key(sec, raw))
    rc = GROVE_EINVAL, why = "secret-key is not Z85";
  if (!rc && pub[0] && !valid_z85_key(pub, raw))
    rc = GROVE_EINVAL, why = "public-key is not Z85";
  char derived[41];
  if (!rc && zmq_curve_public(derived, sec) != 0)
    rc = GROVE_EINVAL, why = "cannot derive the public key (libzmq without CURVE?)";
  if (!rc && pub[0] && strcmp(derived, pub) != 0)
    rc = GROVE_EINVAL, why = "public-key does not belong to secret-key";
  if (rc) {
    explicit_bzero(sec, sizeof sec);
    sec_log(GROVE_LOG_ERROR, "CURVE key file %s: %s", path, why);
    return rc;
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    sec_log(GROVE_LOG_WARN, "CURVE key file %s: readable by group or others (chmod 600 it)", path);
  memcpy(public_z85, derived, 41);
  memcpy(secret_z85, sec, 41);
  explicit_bzero(sec, sizeof sec);
  return 0;
}

int grove_curve_keyfile_save(const char *path, const char *public_z85, const char *secret_z85) {
  uint8_t raw[32];
  if (!path || !*path || !public_z85 || !secret_z85 || !valid_z85_key(public_z85, raw) ||
      !valid_z85_key(secret_z85, raw))
    return GROVE_EINVAL;
  char derived[41];
  if (zmq_curve_public(derived, secret_z85) != 0 || strcmp(derived, public_z85) != 0)
    return GROVE_EINVAL;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return errno == ENOENT || errno == ENOTDIR ? GROVE_ENOENT
           : errno == EACCES || errno == EPERM ? GROVE_EPERM
                                               : -errno;
  char buf[512];
  int len = snprintf(buf, sizeof buf,
                     "#   ZeroMQ CURVE **Secret** Certificate (written by grove)\n"
                     "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
                     "\n"
                     "metadata\n"
                     "curve\n"
                     "    public-key = \"%s\"\n"
                     "    secret-key = \"%s\"\n",
                     public_z85, secret_z85);
  int rc = 0;
  if (fchmod(fd, 0600) != 0 || write(fd, buf, (size_t)len) != len || fsync(fd) != 0)
    rc = -errno;
  explicit_bzero(buf, sizeof buf);
  if (close(fd) != 0 && !rc)
    rc = -errno;
  return rc;
}
