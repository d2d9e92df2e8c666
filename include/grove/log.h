/* grove/log.h - the library's one logging path (Erlang's logger).
 *
 * Everything grove has to say - an actor that crashed, a supervisor that
 * restarted a child or gave up, a node that went down, a dropped frame, a
 * hub that could not close - is one grove_log_event: a level, a kind, a
 * readable line of text and the structured fields that apply to that kind.
 * Events below the threshold (grove_log_set_level, or the GROVE_LOG
 * environment variable) are not even formatted. The rest go to the hook
 * (grove_log_hook) or, without one, to the default logger, which writes
 * "grove: <text>\n" to stderr in one write(2) per line (nodes in several
 * processes share a terminal).
 *
 * Threads: the threshold and the hook are process-wide, not per hub. With
 * several hubs (grove/hubs.h) or threads of your own, events are emitted
 * from whichever thread's hub had something to say, so the hook may be
 * called from several threads at once: it must be thread-safe (the default
 * logger is). It runs on the emitting hub's thread inside the library (a
 * supervisor's receive, the node's socket callback): it must not block the
 * hub and must not call grove's blocking calls; an event emitted from
 * inside the hook is written by the default logger instead of recursing.
 * After grove_log_hook returns, a call of the previous hook already in
 * progress on another thread may still be running.
 *
 * Rate limits: the transport's per-peer limit (one line per peer per
 * interval, "(N similar messages suppressed)") applies before an event is
 * made; the hook sees what the default logger would print.
 */
#ifndef GROVE_LOG_H
#define GROVE_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "actor.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Levels, most severe first. An event is emitted when its level is at or
 * below the threshold; GROVE_LOG_OFF as the threshold silences everything. */
typedef enum grove_log_level {
  GROVE_LOG_OFF = 0,
  GROVE_LOG_ERROR = 1, /* something failed: an actor crashed, a supervisor gave up */
  GROVE_LOG_WARN = 2,  /* something was lost or refused: drops, a node down */
  GROVE_LOG_INFO = 3,  /* what a supervisor did: a restart; the default threshold */
  GROVE_LOG_DEBUG = 4, /* routine events: a node up */
} grove_log_level;

/* What happened. The fields of grove_log_event that apply are listed. */
typedef enum grove_log_kind {
  GROVE_LOG_TEXT = 0,           /* just text (grove_logf, and notes with no fields) */
  GROVE_LOG_ACTOR_CRASHED,      /* actor, actor_name, actor_class, reason, msg_tag */
  GROVE_LOG_CHILD_RESTARTED,    /* supervisor, actor (the new child), actor_name, actor_class,
                                   child_id, reason (why the old one ended) */
  GROVE_LOG_SUPERVISOR_GAVE_UP, /* supervisor, actor_name (its name), reason (the last child's),
                                   count (restarts within the period) */
  GROVE_LOG_NODE_UP,            /* node, peer */
  GROVE_LOG_NODE_DOWN,          /* node, peer, count (messages dropped with it) */
  GROVE_LOG_DROP,               /* node and peer when the transport dropped it; count */
  GROVE_LOG_HUB_LEFTOVERS,      /* grove_hub_close refused: text lists what is left */
  GROVE_LOG_HUB_BLOCKED,        /* the watchdog: a greenlet held the hub (text) */
  GROVE_LOG_CLUSTER,            /* cluster workers started, exited, restarted (node, peer) */
} grove_log_kind;

typedef struct grove_log_event {
  grove_log_level level;
  grove_log_kind kind;
  const char *text; /* one readable line, no "grove: " prefix, no newline */
  size_t hub;       /* grove_hub_index() of the emitting thread (0 without hubs) */
  /* The structured fields: NULL, the null ref or 0 where they do not apply.
   * Everything is borrowed for the duration of the hook's call. */
  grove_ref actor;         /* the actor the event is about */
  const char *actor_name;  /* its registered name, or NULL */
  const char *actor_class; /* its class's name */
  grove_ref supervisor;    /* the supervisor that acted */
  const char *child_id;    /* the child spec's id */
  int reason;              /* an exit reason (grove_exit_reason_name) */
  const char *msg_tag;     /* the tag of the message the actor was handling, or NULL */
  const char *node;        /* this process's node name */
  const char *peer;        /* the other node */
  uint64_t count;          /* messages dropped, restarts counted, ... */
} grove_log_event;

/* A hook receives every event at or below the threshold; `user` is the
 * pointer given to grove_log_hook. The event and everything it points to
 * are borrowed for the call. See the file comment for threads. */
typedef void (*grove_log_fn)(const grove_log_event *ev, void *user);

/* Route events to fn (NULL: back to the default stderr logger). Process-wide;
 * safe from any thread. Never blocks. */
void grove_log_hook(grove_log_fn fn, void *user);

/* The default logger: "grove: <text>\n" to stderr in one write. A hook may
 * call it to keep the default output (user is ignored). */
void grove_log_stderr(const grove_log_event *ev, void *user);

/* The threshold: events with a level above it are dropped before they are
 * formatted. Process-wide, safe from any thread. The initial threshold is
 * GROVE_LOG_INFO, or what the environment variable GROVE_LOG says when the
 * first event is considered: off, error, warn, info or debug (anything
 * else is ignored). grove_log_set_level overrides the environment. Returns
 * 0 or GROVE_EINVAL for a level that is not one of the enum's. */
int grove_log_set_level(grove_log_level level);
grove_log_level grove_log_level_get(void);

/* Whether an event of this level would be emitted now. */
int grove_log_enabled(grove_log_level level);

/* Emit an event (the caller's own, through the same path: threshold, hook
 * or default logger). ev->hub is filled in. Never blocks. NULL is ignored. */
void grove_log_emit(const grove_log_event *ev);

/* Emit a GROVE_LOG_TEXT event with printf-style text (at most ~1 KiB; longer
 * text is cut). Never blocks. */
void grove_logf(grove_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "off", "error", "warn", "info", "debug" ("?" for anything else). */
const char *grove_log_level_name(grove_log_level level);
/* "text", "actor_crashed", "child_restarted", ... ("?" for anything else). */
const char *grove_log_kind_name(grove_log_kind kind);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
