/* patch/dns.c - getaddrinfo and gethostbyname on libuv's thread pool.
 *
 * getaddrinfo goes through grove_getaddrinfo, which runs libc's
 * getaddrinfo on a pool thread (a thread without a hub, where the patch
 * passes through) while the greenlet waits; the list it returns is libc's,
 * so freeaddrinfo frees it. libuv's resolver codes are turned back into
 * EAI_* values; a killed greenlet gets EAI_SYSTEM with errno ECANCELED. A
 * numeric host with a numeric or absent service cannot block and stays on
 * the calling thread.
 *
 * gethostbyname is an IPv4 getaddrinfo (AI_CANONNAME) on the pool too,
 * its answer copied into this thread's result buffer: as with libc's, the
 * result stays valid until the next gethostbyname call on the thread. It
 * has the canonical name and the addresses; its alias list is empty
 * (getaddrinfo reports no aliases). (gethostbyname_r run with
 * grove_threadpool_apply would have the aliases, but a call that fails
 * before its work is queued - a greenlet already killed - cannot tell
 * whether the work will run, so nobody could free the job.)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "patch_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* ---- getaddrinfo ------------------------------------------------------------------- */

static int eai_of(int rc) {
  switch (rc) {
  case UV_EAI_ADDRFAMILY:
    return EAI_ADDRFAMILY;
  case UV_EAI_AGAIN:
    return EAI_AGAIN;
  case UV_EAI_BADFLAGS:
  case UV_EAI_BADHINTS:
    return EAI_BADFLAGS;
  case UV_EAI_CANCELED:
    return EAI_CANCELED;
  case UV_EAI_FAIL:
    return EAI_FAIL;
  case UV_EAI_FAMILY:
    return EAI_FAMILY;
  case UV_EAI_MEMORY:
    return EAI_MEMORY;
  case UV_EAI_NODATA:
    return EAI_NODATA;
  case UV_EAI_NONAME:
    return EAI_NONAME;
  case UV_EAI_OVERFLOW:
    return EAI_OVERFLOW;
  case UV_EAI_SERVICE:
    return EAI_SERVICE;
  case UV_EAI_SOCKTYPE:
    return EAI_SOCKTYPE;
  default:
    /* libuv's EAI_SYSTEM is the negated errno; UV_EAI_PROTOCOL has no
     * glibc counterpart. */
    errno = rc == UV_EAI_PROTOCOL ? EPROTO : (rc == GROVE_ETIMEDOUT ? ETIMEDOUT : -rc);
    return EAI_SYSTEM;
  }
}

static int numeric(const char *node, const char *service) {
  unsigned char buf[sizeof(struct in6_addr)];
  if (node && inet_pton(AF_INET, node, buf) != 1 && inet_pton(AF_INET6, node, buf) != 1)
    return 0;
  if (service) {
    char *end;
    strtol(service, &end, 10);
    if (!*service || *end)
      return 0;
  }
  return 1;
}

GP_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                          struct addrinfo **res) {
  if (!res || (!node && !service) || (hints && (hints->ai_flags & AI_NUMERICHOST)) ||
      numeric(node, service) || !gp__coop(GP_RA()))
    return REAL(getaddrinfo)(node, service, hints, res);
  gp__count_call();
  int saved = errno;
  int rc = grove_getaddrinfo(node, service, hints, res, GROVE_FOREVER);
  if (rc == 0) {
    errno = saved;
    return 0;
  }
  if (rc == GROVE_ECANCELED) {
    errno = ECANCELED;
    return EAI_SYSTEM;
  }
  if (rc == GROVE_ENOMEM)
    return EAI_MEMORY;
  if (rc == GROVE_EPERM || rc == GROVE_EINVAL)
    return REAL(getaddrinfo)(node, service, hints, res); /* as libc, on this thread */
  return eai_of(rc);
}

/* ---- gethostbyname ------------------------------------------------------------------------- */

/* This thread's answer: the hostent and the memory it points into. */
static _Thread_local struct hostent tls_he;
static _Thread_local char *tls_buf;

/* Build this thread's hostent from getaddrinfo's IPv4 answers. */
static struct hostent *keep(const char *name, const struct addrinfo *res) {
  const char *canon = res->ai_canonname ? res->ai_canonname : name;
  size_t naddrs = 0;
  for (const struct addrinfo *a = res; a; a = a->ai_next)
    naddrs += a->ai_family == AF_INET;
  size_t ptrs = (1 + naddrs + 1) * sizeof(char *);
  size_t need = ptrs + naddrs * sizeof(struct in_addr) + strlen(canon) + 1;
  char *b = malloc(need);
  if (!b)
    return NULL;
  free(tls_buf);
  tls_buf = b;
  char **aliases = (char **)b, **addrs = aliases + 1, *p = b + ptrs;
  aliases[0] = NULL;
  size_t k = 0;
  for (const struct addrinfo *a = res; a; a = a->ai_next) {
    if (a->ai_family != AF_INET)
      continue;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)a->ai_addr;
    addrs[k++] = memcpy(p, &sin->sin_addr, sizeof sin->sin_addr);
    p += sizeof sin->sin_addr;
  }
  addrs[k] = NULL;
  tls_he.h_name = strcpy(p, canon);
  tls_he.h_aliases = aliases;
  tls_he.h_addrtype = AF_INET;
  tls_he.h_length = sizeof(struct in_addr);
  tls_he.h_addr_list = addrs;
  return &tls_he;
}

__attribute__((destructor)) static void tls_free_main(void) {
  /* The thread that ends the process frees its buffer; other threads'
   * buffers go unfreed when they exit (one per thread that used it). */
  free(tls_buf);
  tls_buf = NULL;
}

static int h_errno_of(int eai) {
  switch (eai) {
  case EAI_NONAME:
    return HOST_NOT_FOUND;
  case EAI_AGAIN:
    return TRY_AGAIN;
  case EAI_NODATA:
  case EAI_ADDRFAMILY:
    return NO_DATA;
  default:
    return NO_RECOVERY;
  }
}

GP_EXPORT struct hostent *gethostbyname(const char *name) {
  unsigned char buf[sizeof(struct in6_addr)];
  if (!name || inet_pton(AF_INET, name, buf) == 1 || !gp__coop(GP_RA()))
    return REAL(gethostbyname)(name);
  gp__count_call();
  int saved = errno;
  struct addrinfo hints = {
      .ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_flags = AI_CANONNAME};
  struct addrinfo *res = NULL;
  int rc = grove_getaddrinfo(name, NULL, &hints, &res, GROVE_FOREVER);
  if (rc == GROVE_EPERM)
    return REAL(gethostbyname)(name);
  if (rc != 0) {
    if (rc == GROVE_ECANCELED || rc == GROVE_ETIMEDOUT) {
      errno = rc == GROVE_ECANCELED ? ECANCELED : ETIMEDOUT;
      h_errno = TRY_AGAIN;
    } else {
      h_errno = h_errno_of(eai_of(rc));
    }
    return NULL;
  }
  struct hostent *h = keep(name, res);
  grove_freeaddrinfo(res);
  h_errno = h ? 0 : NO_RECOVERY;
  errno = saved;
  return h;
}
