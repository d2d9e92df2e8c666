/* grove/observe.h - seeing inside a running process: snapshots of its hubs,
 * actors, greenlets and peers, the node's introspection service, and a
 * Prometheus endpoint.
 *
 * The snapshot calls gather from every hub of the process (grove_hubs_start):
 * each hub's part is read on that hub's own thread (grove_hub_call_on), so
 * nothing is shared between hubs and the hot paths count nothing more than
 * they did; a snapshot is a set of per-hub pictures taken one after the
 * other, not one atomic picture. Call them from a greenlet of any hub (or a
 * hub's main program); they block the calling greenlet for a round trip per
 * other hub. From a hub's own context (a callback) they fail with
 * GROVE_EPERM, as every blocking call does.
 *
 * The introspection service (grove_introspect_start, or
 * grove_node_opts.introspect) answers "snapshot" calls from other nodes
 * with the same picture as msgpack (docs/protocol.md, section 14, "Introspection"); the
 * metrics endpoint (grove_metrics_start, or grove_node_opts.metrics_endpoint)
 * serves it as Prometheus text. Both are off by default. While either runs,
 * every hub also arms a small periodic timer that measures its loop lag
 * (how late a timer fires: the time the hub was busy past it), and the node
 * measures each peer's round trip. See docs/observability.md.
 */
#ifndef GROVE_OBSERVE_H
#define GROVE_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actor.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* ---- actors --------------------------------------------------------------------------- */

typedef enum grove_actor_state {
  GROVE_ACTOR_IDLE = 0,     /* waiting for mail, no greenlet */
  GROVE_ACTOR_RUNNING = 1,  /* has work: scheduled, or running its receive now */
  GROVE_ACTOR_WAITING = 2,  /* blocked inside its receive or init (a call, a sleep...) */
  GROVE_ACTOR_STARTING = 3, /* its init has not returned yet (or not started) */
  GROVE_ACTOR_EXITING = 4   /* killed or exiting, its terminate may be running */
} grove_actor_state;

typedef struct grove_actor_info {
  grove_ref ref;
  char name[64];      /* registered name, else "" */
  char cls[64];       /* class name, "" if none */
  size_t hub;         /* hub index */
  uint32_t inbox;     /* messages waiting in its inbox */
  uint32_t inbox_max; /* 0: unbounded */
  uint64_t received;  /* messages handled since it started */
  int state;          /* grove_actor_state */
} grove_actor_info;

/* The live actors of every hub, longest inboxes first (ties: by hub, then
 * in the order they were made), at most cap of them into out[0..cap-1];
 * *n (may be NULL) gets how many were written, *total (may be NULL) how many
 * actors live. cap may be 0 (out may then be NULL) to count. Returns 0;
 * GROVE_EINVAL (out NULL with cap > 0); GROVE_ENOMEM; the gate's codes
 * (GROVE_EPERM from a hub's own context, GROVE_ECANCELED). Costs one pass
 * over each hub's actors (O(actors * log cap)) on that hub's thread. */
int grove_actors_list(grove_actor_info *out, size_t cap, size_t *n, size_t *total);

/* Human names of the states: "idle", "running", "waiting", "starting",
 * "exiting" ("?" for anything else). */
const char *grove_actor_state_name(int state);

/* ---- greenlets ----------------------------------------------------------------------- */

typedef enum grove_greenlet_state {
  GROVE_GREENLET_READY = 0,   /* runnable: spawned and not started, or in the run queue */
  GROVE_GREENLET_RUNNING = 1, /* running now (the caller's own greenlet) */
  GROVE_GREENLET_BLOCKED = 2, /* waiting (sleep, queue, event, I/O, a call...) */
  GROVE_GREENLET_DEAD = 3     /* finished */
} grove_greenlet_state;

typedef struct grove_greenlet_info {
  uint64_t id;      /* per hub, in spawn order */
  char name[64];    /* grove_spawn_opts.name, or "Greenlet-<id>" */
  char waiting[32]; /* what a blocked greenlet waits on ("sleep", "queue get"...), or "" */
  size_t hub;       /* hub index */
  int state;        /* grove_greenlet_state */
} grove_greenlet_info;

/* The live greenlets of every hub (the user's: the library's own runners,
 * actors' greenlets included, and each hub's main program are not listed),
 * at most cap of them, in hub order then spawn order; *n, *total as
 * grove_actors_list. Same codes. */
int grove_greenlets_list(grove_greenlet_info *out, size_t cap, size_t *n, size_t *total);

/* "ready", "running", "blocked", "dead" ("?" for anything else). */
const char *grove_greenlet_state_name(int state);

/* ---- hubs ----------------------------------------------------------------------------- */

typedef struct grove_hub_info {
  size_t index;
  size_t greenlets;   /* live greenlets (the user's, as grove_hub_counts_get counts them) */
  size_t runq;        /* run-queue length now: callbacks and greenlets ready to run */
  double loop_lag_ms; /* how late the hub's periodic probe timer last fired (0 if no probe) */
  size_t actors;      /* live actors */
  uint64_t messages;  /* messages handled by its actors, since the hub started */
  uint64_t dead_letters;
  uint64_t restarts; /* children restarted by supervisors running on this hub */
} grove_hub_info;

/* One entry per hub (index order), at most cap; *n (may be NULL) gets how
 * many were written. Same codes as grove_actors_list. */
int grove_hubs_info(grove_hub_info *out, size_t cap, size_t *n);

/* ---- peers ---------------------------------------------------------------------------- */

typedef struct grove_peer_info {
  char name[64];
  char endpoint[256]; /* where it listens, as it said, or where we connected; "" if unknown */
  int state;          /* 0 connecting, 1 up, 2 down */
  uint64_t incarnation;
  uint64_t sent, received, dropped; /* messages (SEND, CALL, REPLY) */
  double rtt_ms;                    /* round trip, last measured; < 0 unknown */
} grove_peer_info;

/* The peers of the calling hub's node (the node runs on one hub), at most
 * cap; *n (may be NULL) gets how many were written. "dropped" counts the
 * messages to or from that peer that were not delivered: from it, those to
 * an actor that does not exist here or beyond flow control's credit; to it,
 * those buffered or unconfirmed when it went down. Never blocks. Returns 0
 * (n = 0 without a node), GROVE_EINVAL. */
int grove_peers_info(grove_peer_info *out, size_t cap, size_t *n);

/* "connecting", "up", "down". */
const char *grove_peer_state_name(int state);

/* ---- the introspection service -------------------------------------------------------- */

/* Register this hub's node's introspection actor as "grove.introspect": it
 * answers grove_call's with the tag "snapshot" (docs/protocol.md,
 * "Introspection") from any node - on a CURVE node only from peers whose
 * key is allowed (grove_node_opts.introspect_keys; others get an error
 * reply GROVE_EPERM, counted as introspect_denied in grove_node_stats).
 * The same as grove_node_opts.introspect = true. Returns 0; GROVE_ENOENT
 * (no node on this hub); GROVE_EEXIST (already running, or the name is
 * taken); GROVE_ENOMEM. Never blocks. */
int grove_introspect_start(void);
/* Stop it (the name is released). 0 or GROVE_ENOENT (not running). A node's
 * stop stops it too. */
int grove_introspect_stop(void);

/* ---- Prometheus metrics --------------------------------------------------------------- */

typedef struct grove_metrics grove_metrics;

/* Serve GET /metrics, the Prometheus text format (version 0.0.4), on an
 * HTTP server of grove's own (grove/http.h) listening on host:port (port 0:
 * one is picked: grove_metrics_port), in a greenlet of the calling hub.
 * Every scrape gathers from every hub (grove_hubs_info, grove_actors_list,
 * grove_peers_info...). Other methods get 405, other paths 404, both
 * counted (grove_metrics_errors). Returns 0 and *out; GROVE_EINVAL;
 * GROVE_EADDRINUSE or another bind error; GROVE_ENOMEM. Never blocks. */
int grove_metrics_start(const char *host, int port, grove_metrics **out);
/* The port it listens on. */
int grove_metrics_port(const grove_metrics *m);
/* Requests it answered with an HTTP error (4xx), and the malformed ones the
 * HTTP server refused (400, 408, 413, 431). */
uint64_t grove_metrics_errors(const grove_metrics *m);
/* Stop serving (a scrape in progress is given 1 s) and free m. NULL: no-op.
 * Blocks the calling greenlet while it stops. Returns 0 or
 * GROVE_ETIMEDOUT (a scrape had to be killed). */
int grove_metrics_stop(grove_metrics *m);

/* The text a scrape would get now: *text (the caller frees it with free)
 * and *len. Same codes as grove_actors_list. */
int grove_metrics_render(char **text, size_t *len);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
