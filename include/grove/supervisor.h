/* grove/supervisor.h - OTP supervisors for grove actors.
 *
 * A supervisor is an actor that starts child actors in order, links to them
 * (trapping their exits) and restarts them when they end, according to its
 * strategy and each child's restart type:
 *
 *   one_for_one         only the child that ended is restarted
 *   one_for_all         every child is stopped (in reverse order) and all are
 *                       started again (in order)
 *   rest_for_one        the child that ended and those started after it
 *   simple_one_for_one  a dynamic pool of children of one spec, started with
 *                       grove_supervisor_start_child; each is handled alone
 *
 *   permanent   always restarted
 *   transient   restarted only if it ended abnormally (not normal/shutdown)
 *   temporary   never restarted
 *
 * Intensity: if more than `intensity` restarts happen within `period`
 * seconds, the supervisor stops all its children and exits with reason
 * GROVE_EXIT_SHUTDOWN, so that the supervisor above it (supervisors nest:
 * a child spec may name a supervisor class, see grove_supervisor_class) sees
 * it end. Stopping a child sends it GROVE_EXIT_SHUTDOWN and waits up to its
 * `shutdown` seconds before killing it.
 *
 * All calls below are requests to the supervisor actor (grove_call): they
 * block the caller until it has answered and cannot be made from the hub's
 * own context.
 */
#ifndef GROVE_SUPERVISOR_H
#define GROVE_SUPERVISOR_H

#include "actor.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef enum grove_sup_strategy {
  GROVE_ONE_FOR_ONE = 0,
  GROVE_ONE_FOR_ALL,
  GROVE_REST_FOR_ONE,
  GROVE_SIMPLE_ONE_FOR_ONE
} grove_sup_strategy;

typedef enum grove_restart { GROVE_PERMANENT = 0, GROVE_TRANSIENT, GROVE_TEMPORARY } grove_restart;

typedef struct grove_child_spec {
  const char *id;               /* unique among the supervisor's children (copied) */
  const grove_actor_class *cls; /* the child's class */
  void *arg;                    /* passed to init at every start */
  grove_restart restart;
  double shutdown;       /* seconds between the shutdown signal and a kill;
                            0 kills at once; negative waits forever */
  grove_actor_opts opts; /* name, inbox_max, trap_exits (link is ignored) */
  int hub;               /* where it runs (grove/hubs.h): 0, the default, is the
                            supervisor's own hub; GROVE_HUB(k) is hub k */
} grove_child_spec;

/* A child spec's hub field for hub k (0 .. grove_hub_count()-1). A child on
 * another hub is supervised as one on the supervisor's hub: linked, started
 * one after the other (its init has returned before the next starts),
 * restarted on the same hub, stopped with its shutdown time. A hub that
 * does not exist when the child is (re)started fails that start with
 * GROVE_EINVAL. */
#define GROVE_HUB(k) ((int)(k) + 1)

typedef struct grove_supervisor_opts {
  grove_sup_strategy strategy;
  int intensity;    /* at most this many restarts ... (0: default 3) */
  double period;    /* ... within this many seconds (0: default 5) */
  const char *name; /* register the supervisor under this name (may be NULL) */
} grove_supervisor_opts;

/* What to pass to grove_actor_spawn_ex (or as a child spec's arg, with
 * grove_supervisor_class as its class) to start a supervisor: nested
 * supervision trees are child specs whose class is a supervisor. Its name
 * is the child spec's opts.name (or grove_actor_spawn_ex's opts.name) if
 * that is set, otherwise opts.name here, registered when it starts (and
 * at every restart); an actor has one name, so when both are set the
 * spec's wins. A name that another actor holds fails its start with
 * GROVE_EEXIST. */
typedef struct grove_supervisor_args {
  grove_supervisor_opts opts;
  const grove_child_spec *children; /* copied */
  size_t nchildren;
} grove_supervisor_args;

extern const grove_actor_class grove_supervisor_class;

/* Start a supervisor and its children, one after the other: each child's
 * init has returned before the next starts (a nested supervisor's children
 * first), as OTP's start_link. For simple_one_for_one, children[0] is the
 * template and no child is started. Returns 0 and *out, GROVE_EINVAL (bad
 * specs: no class, duplicate ids, template count), GROVE_EEXIST (name
 * taken), GROVE_ENOMEM, GROVE_EPERM from the hub's own context, or the error
 * of a child whose start or init failed (then nothing is left running). */
int grove_supervisor_start(const grove_supervisor_opts *opts, const grove_child_spec *children,
                           size_t n, grove_ref *out);

/* Add and start a child. For simple_one_for_one, spec may be NULL (the
 * template with its own arg) or carry just another arg (cls NULL: the
 * template's class; hub 0: the template's hub). Waits until the child's init has returned. Returns
 * 0 and *child (may be NULL), GROVE_EEXIST (the id is taken), GROVE_EINVAL, the error of a failed
 * init, or a call error. */
int grove_supervisor_start_child(grove_ref sup, const grove_child_spec *spec, grove_ref *child);

/* Stop a child (by ref) and forget it (it is not restarted). */
int grove_supervisor_terminate_child(grove_ref sup, grove_ref child);

/* The current ref of the child with this id (it changes at each restart). */
int grove_supervisor_which_child(grove_ref sup, const char *id, grove_ref *child);

typedef struct grove_supervisor_counts {
  size_t specs;  /* children it knows */
  size_t active; /* of which running */
  uint64_t restarts;
} grove_supervisor_counts;

int grove_supervisor_count(grove_ref sup, grove_supervisor_counts *out);

/* Stop every child (in reverse start order) and then the supervisor; waits
 * for all of it up to `timeout`. */
int grove_supervisor_stop(grove_ref sup, double timeout);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
