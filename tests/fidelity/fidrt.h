/* fidrt.h - the runtime every generated grove program includes.
 *
 * Design notes. A generated program prints one trace line per observable
 * event, `<who>: <what> -> <result>`, with the words its gevent twin prints
 * (see fidrt.py): return codes as their names without GROVE_ (ok,
 * ECANCELED, ETIMEDOUT, EEMPTY, ...), application codes as err=<code>,
 * values as integers, a greenlet killed by grove_kill (value NULL) as
 * "exit". Lines go straight to fd 1 with write(2), so a program that crashes
 * or hangs still leaves what it printed.
 *
 * Once main has printed "main: end" tracing stops and fid_cleanup() kills
 * what is left and closes the hub, so that grove's teardown is exercised
 * too; a hub that does not close is reported on stderr (FIDCLEANUP), never
 * in the trace. Only grove's public API is used.
 */
#ifndef FIDRT_H
#define FIDRT_H

#include <grove.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fid_on = 1;

static void tr(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  if (!fid_on)
    return;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if (n > (int)sizeof buf - 2)
    n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t w = write(1, buf, (size_t)n);
  (void)w;
}

/* Rotating scratch strings, so one trace line may format several values. */
static char *fid_scratch(void) {
  static char bufs[8][256];
  static int next;
  return bufs[next++ & 7];
}

static const char *fid_rc(int rc) {
  switch (rc) {
  case 0:
    return "ok";
  case GROVE_ECANCELED:
    return "ECANCELED";
  case GROVE_ETIMEDOUT:
    return "ETIMEDOUT";
  case GROVE_ELOOPEXIT:
    return "ELOOPEXIT";
  case GROVE_EEMPTY:
    return "EEMPTY";
  case GROVE_EFULL:
    return "EFULL";
  case GROVE_EOVERFLOW:
    return "EOVERFLOW";
  case GROVE_EPERM:
    return "EPERM";
  case GROVE_ENOENT:
    return "ENOENT";
  case GROVE_EOF:
    return "EOF";
  default:
    break;
  }
  char *s = fid_scratch();
  if (rc <= -5000)
    snprintf(s, 256, "err=%d", rc);
  else
    snprintf(s, 256, "%s", grove_err_name(rc) + (strncmp(grove_err_name(rc), "GROVE_", 6) ? 0 : 6));
  return s;
}

static const char *fid_b(int b) { return b ? "True" : "False"; }

/* A value: integers as themselves, NULL (a killed greenlet's value) as exit. */
static const char *fv(void *v) {
  if (v == NULL)
    return "exit";
  char *s = fid_scratch();
  snprintf(s, 256, "%ld", (long)(intptr_t)v);
  return s;
}

static const char *fid_list(void **v, size_t n) {
  char *s = fid_scratch();
  size_t off = 0;
  off += (size_t)snprintf(s + off, 256 - off, "[");
  for (size_t i = 0; i < n && off < 250; i++)
    off += (size_t)snprintf(s + off, 256 - off, "%s%s", i ? ", " : "", fv(v[i]));
  snprintf(s + off, 256 - off, "]");
  return s;
}

/* One call's result line. sx: the call failed because an enclosing scope
 * expired (printed ETIMEDOUT whatever the call is). tmo_ok: the call's own
 * timeout is a normal outcome printed by okstr (gevent returns False or
 * None there instead of raising). */
static void res(const char *who, const char *desc, int rc, int sx, int tmo_ok, const char *okstr) {
  if (sx)
    tr("%s: %s -> ETIMEDOUT", who, desc);
  else if (rc == 0 || (tmo_ok && rc == GROVE_ETIMEDOUT))
    tr("%s: %s -> %s", who, desc, okstr);
  else
    tr("%s: %s -> %s", who, desc, fid_rc(rc));
}

/* The names of the objects a wait found ready, in that order. */
static const char *fid_names(const char **names, const size_t *ready, size_t n) {
  char *s = fid_scratch();
  size_t off = (size_t)snprintf(s, 256, "[");
  for (size_t i = 0; i < n && off < 240; i++)
    off += (size_t)snprintf(s + off, 256 - off, "%s%s", i ? ", " : "", names[ready[i]]);
  snprintf(s + off, 256 - off, "]");
  return s;
}

static const char *gstate(grove_greenlet *g) {
  char *s = fid_scratch();
  if (g == NULL)
    return "unset";
  int n = snprintf(s, 256, "ready=%s ok=%s started=%s", fid_b(grove_ready(g)),
                   fid_b(grove_successful(g)), fid_b(grove_started(g)));
  if (grove_successful(g))
    snprintf(s + n, 256 - (size_t)n, " value=%s", fv(grove_value(g)));
  return s;
}

static const char *fid_dead(grove_greenlet **gs, size_t n) {
  char *s = fid_scratch();
  size_t off = (size_t)snprintf(s, 256, "dead=[");
  int first = 1;
  for (size_t i = 0; i < n && off < 240; i++) {
    if (gs[i] == NULL)
      continue;
    off +=
        (size_t)snprintf(s + off, 256 - off, "%s%s", first ? "" : ", ", fid_b(grove_ready(gs[i])));
    first = 0;
  }
  snprintf(s + off, 256 - off, "]");
  return s;
}

/* Why a call that returns a pointer (grove_group_spawn) gave NULL. */
static int fid_null_rc(int in_main, int scope_expired) {
  if (grove_cancelled(grove_current()))
    return GROVE_ECANCELED;
  if (scope_expired)
    return GROVE_ETIMEDOUT;
  return in_main ? GROVE_ELOOPEXIT : GROVE_EINVAL;
}

/* Every greenlet the program's functions run in, so cleanup can end them. */
#define FID_MAXG 512
static grove_greenlet *fid_all[FID_MAXG];
static int fid_nall;

static void fid_enter(void) {
  if (fid_nall < FID_MAXG)
    fid_all[fid_nall++] = grove_greenlet_ref(grove_current());
}

static int fid_cmp_int(const void *a, const void *b) {
  intptr_t x = (intptr_t)a, y = (intptr_t)b;
  return x < y ? -1 : x > y;
}

/* After "main: end": kill what still runs (slots gs, groups grps, the
 * greenlets registered by fid_enter), then close the hub if everything has
 * ended; free_objs frees the program's objects. */
static void fid_cleanup(grove_greenlet **gs, size_t ngs, grove_group **grps, size_t ngrps,
                        int (*free_objs)(void)) {
  fid_on = 0;
  /* Rounds: a map or imap helper spawns the next task into a pool as soon
   * as a killed member leaves it (gevent's helper outlives its caller). */
  for (int round = 0; round < 50; round++) {
    for (size_t i = 0; i < ngrps; i++)
      if (grps[i])
        grove_group_kill(grps[i], 1.0);
    for (size_t i = 0; i < ngs; i++)
      if (gs[i] && !grove_ready(gs[i]))
        grove_kill(gs[i], 1.0);
    for (int i = 0; i < fid_nall; i++)
      if (!grove_ready(fid_all[i]))
        grove_kill(fid_all[i], 1.0);
    grove_sleep(0);
    if (grove_hub_greenlet_count() == 0)
      break;
  }
  for (int i = 0; i < 10; i++)
    grove_sleep(0); /* raw greenlets (link callbacks) are not counted: let them run */
  size_t left = grove_hub_greenlet_count();
  for (size_t i = 0; i < ngs; i++)
    grove_greenlet_release(gs[i]);
  for (int i = 0; i < fid_nall; i++)
    grove_greenlet_release(fid_all[i]);
  if (left) {
    fprintf(stderr, "FIDCLEANUP %zu greenlet(s) still alive\n", left);
    return;
  }
  int bad = free_objs();
  if (bad < 0)
    return; /* an rlock held by a greenlet that ended holding it */
  if (bad > 0)
    fprintf(stderr, "FIDCLEANUP %d object(s) could not be freed\n", bad);
  int rc = grove_hub_close();
  if (rc != 0) {
    fprintf(stderr, "FIDCLEANUP grove_hub_close: %s\n", grove_err_name(rc));
    grove_dump(stderr);
  }
}

#endif
