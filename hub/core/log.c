/* hub/core/log.c - the one logging path of the library (include/grove/log.h).
 *
 * Design notes.
 *
 * Every line grove prints goes through grove_log_emit: the threshold is
 * checked first (an atomic load, so a disabled level costs nothing but that
 * and callers can skip formatting with grove_log_enabled), then the hook is
 * read and called, or the default logger writes the line.
 *
 * The threshold and the hook are process-wide: several hubs on several
 * threads (grove_hubs_start) share one logging configuration, as Erlang's
 * logger is one per node. The threshold is an atomic int; the hook is a
 * pair (fn, user) that must be read together, so it sits behind a mutex
 * taken only to copy the pair, never while the hook runs (a hook that calls
 * grove_log_hook would otherwise deadlock, and a slow hook would serialise
 * every hub's logging). The environment variable GROVE_LOG is read once, at
 * the first event or query, unless grove_log_set_level came first.
 *
 * Recursion: an event emitted while the hook runs on the same thread (the
 * hook called grove_logf, or a grove call that logs) goes to the default
 * logger. This guard is the one piece of per-thread state besides the
 * thread's hub: it must work on threads with no hub (the watchdog's, a
 * user's), so it cannot live in the hub.
 *
 * The default logger writes one line per write(2): the lines of nodes in
 * several processes sharing a terminal, and of hubs on several threads,
 * do not interleave.
 */
#include "internal.h"

#include <grove/log.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define TEXT_MAX 1024

static _Atomic int threshold = -1; /* -1: not decided yet (GROVE_LOG not read) */
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static grove_log_fn hook_fn;
static void *hook_user;
static _Thread_local int in_hook; /* see the design notes: recursion */

static int level_from_env(void) {
  const char *v = getenv("GROVE_LOG");
  if (!v || !*v)
    return GROVE_LOG_INFO;
  static const char *names[] = {"off", "error", "warn", "info", "debug"};
  for (int i = 0; i <= GROVE_LOG_DEBUG; i++)
    if (strcasecmp(v, names[i]) == 0)
      return i;
  if (strcasecmp(v, "none") == 0 || strcmp(v, "0") == 0)
    return GROVE_LOG_OFF;
  if (strcasecmp(v, "warning") == 0)
    return GROVE_LOG_WARN;
  return GROVE_LOG_INFO;
}

static int current_threshold(void) {
  int t = atomic_load_explicit(&threshold, memory_order_relaxed);
  if (t >= 0)
    return t;
  int env = level_from_env();
  int expect = -1;
  /* A concurrent grove_log_set_level wins over the environment. */
  atomic_compare_exchange_strong(&threshold, &expect, env);
  return atomic_load(&threshold);
}

int grove_log_set_level(grove_log_level level) {
  if ((int)level < GROVE_LOG_OFF || (int)level > GROVE_LOG_DEBUG)
    return GROVE_EINVAL;
  atomic_store(&threshold, (int)level);
  return 0;
}

grove_log_level grove_log_level_get(void) { return (grove_log_level)current_threshold(); }

int grove_log_enabled(grove_log_level level) {
  return level > GROVE_LOG_OFF && (int)level <= current_threshold();
}

void grove_log_hook(grove_log_fn fn, void *user) {
  pthread_mutex_lock(&hook_lock);
  hook_fn = fn;
  hook_user = fn ? user : NULL;
  pthread_mutex_unlock(&hook_lock);
}

void grove_log_stderr(const grove_log_event *ev, void *user) {
  (void)user;
  if (!ev)
    return;
  char line[TEXT_MAX + 16];
  int k = snprintf(line, sizeof line, "grove: %s", ev->text ? ev->text : "");
  if (k < 0)
    return;
  if ((size_t)k >= sizeof line - 1)
    k = (int)sizeof line - 2;
  line[k++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, (size_t)k);
  (void)w; /* nowhere to report a failed write to stderr */
}

void grove_log_emit(const grove_log_event *ev) {
  if (!ev || !grove_log_enabled(ev->level))
    return;
  grove_log_event e = *ev;
  grove_hub *hub = grove__tls_hub;
  e.hub = hub ? hub->index : 0;
  if (!e.text)
    e.text = "";
  grove_log_fn fn;
  void *user;
  pthread_mutex_lock(&hook_lock);
  fn = hook_fn;
  user = hook_user;
  pthread_mutex_unlock(&hook_lock);
  if (!fn || in_hook) {
    grove_log_stderr(&e, NULL);
    return;
  }
  in_hook = 1;
  fn(&e, user);
  in_hook = 0;
}

static void emit_v(grove_log_event *ev, const char *fmt, va_list ap) {
  char text[TEXT_MAX];
  int k = vsnprintf(text, sizeof text, fmt, ap);
  if (k < 0)
    text[0] = 0;
  ev->text = text;
  grove_log_emit(ev);
  ev->text = NULL; /* it pointed to this frame */
}

void grove__log(struct grove_log_event *ev, const char *fmt, ...) {
  if (!ev || !grove_log_enabled(ev->level))
    return;
  va_list ap;
  va_start(ap, fmt);
  emit_v(ev, fmt, ap);
  va_end(ap);
}

void grove_logf(grove_log_level level, const char *fmt, ...) {
  if (!fmt || !grove_log_enabled(level))
    return;
  grove_log_event ev = {.level = level, .kind = GROVE_LOG_TEXT};
  va_list ap;
  va_start(ap, fmt);
  emit_v(&ev, fmt, ap);
  va_end(ap);
}

const char *grove_log_level_name(grove_log_level level) {
  static const char *names[] = {"off", "error", "warn", "info", "debug"};
  return (int)level >= 0 && (int)level <= GROVE_LOG_DEBUG ? names[level] : "?";
}

const char *grove_log_kind_name(grove_log_kind kind) {
  static const char *names[] = {
      "text",      "actor_crashed", "child_restarted", "supervisor_gave_up", "node_up",
      "node_down", "drop",          "hub_leftovers",   "hub_blocked",        "cluster"};
  return (int)kind >= 0 && (size_t)kind < sizeof names / sizeof *names ? names[kind] : "?";
}
