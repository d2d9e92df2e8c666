/* grove/hubs.h - several hubs in one process: one per core.
 *
 * A process runs one hub by default, on the thread that first calls grove
 * (gevent's model, unchanged). grove_hubs_start(n) makes it n: the calling
 * thread's hub is hub 0 and n - 1 new threads each run one more hub. Every
 * hub stays a deterministic gevent hub - its greenlets, primitives and
 * order are its own - and hubs share nothing but their inbound queues:
 *
 *   - actors are placed on a hub (grove_actor_spawn_on, or
 *     grove_actor_spawn from a greenlet of that hub) and stay there; their
 *     refs name the hub, and every actor operation (send, call, reply,
 *     exit signals, links, monitors, the registry) works across hubs with
 *     local semantics: a message moves by pointer, never serialised;
 *   - greenlets, queues, events, locks, sockets belong to the hub that made
 *     them: using one from another hub's thread fails with GROVE_EPERM, as
 *     from any other thread; grove_hub_run_on / grove_hub_call_on start
 *     work on another hub.
 *
 * See docs/actors.md, "Hubs", for placement, ordering and costs.
 */
#ifndef GROVE_HUBS_H
#define GROVE_HUBS_H

#include <stddef.h>

#include "greenlet.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Run n hubs in this process: the calling thread's hub (created if needed)
 * becomes hub 0 and n - 1 threads are started, each running one hub (1..n-1);
 * n = 0 means one hub per online CPU. Returns when every hub is running: 0;
 * GROVE_EEXIST if hubs are already started; GROVE_EPERM from a thread whose
 * hub is not the process's first, or from the hub's own context (a
 * callback); GROVE_EINVAL for n above 1024; GROVE_ENOMEM if a thread or hub
 * could not be created (those that were are stopped again). Never blocks on
 * greenlets (it waits only for the new threads to start).
 *
 * While hubs run, every hub - hub 0 too - is "held" (grove_hub_hold): another
 * hub may always send it something, so a greenlet blocked forever waits
 * rather than getting GROVE_ELOOPEXIT, and grove_hub_close on hub 0 fails
 * with GROVE_EBUSY until grove_hubs_stop. */
int grove_hubs_start(size_t n);

/* How many hubs run in this process: 1 unless grove_hubs_start. Any thread. */
size_t grove_hub_count(void);

/* The index of the calling thread's hub: 0..grove_hub_count()-1 (0 on a
 * thread whose hub was not started by grove_hubs_start). Any thread. */
size_t grove_hub_index(void);

/* Stop the hubs started by grove_hubs_start, from hub 0. Each other hub
 * stops its actors as a supervisor stops its children: every actor gets an
 * exit signal "shutdown" (GROVE_EXIT_SHUTDOWN; trap_exits actors receive it
 * as a message), and those still alive `timeout` seconds later (negative:
 * wait forever; 0: at once) are killed (GROVE_EXIT_KILLED, untrappable).
 * Then each hub runs what other hubs sent it last (messages to actors that
 * have ended are dead letters), closes as grove_hub_close does (its leak
 * checks) and its thread ends. Blocks the calling greenlet (only) until all
 * of this is done; hub 0's other greenlets and actors run meanwhile, and
 * hub 0 itself is not stopped (its actors live on; close it as usual).
 *
 * Returns 0; GROVE_EBUSY if some hub could not close because greenlets or
 * objects of it were left (started with grove_hub_run_on and still
 * running, an unreleased reference...: said on stderr; that hub's memory is
 * leaked, its thread still ends); GROVE_EPERM from another hub than hub 0 or
 * from the hub's own context; GROVE_EINVAL for a NaN timeout. 0 at once if
 * no hubs were started. After it, refs to actors of the stopped hubs are
 * stale: sends to them fail with GROVE_ENOENT. */
int grove_hubs_stop(double timeout);

/* Run fn(arg) in a new greenlet on hub `hub` (0..grove_hub_count()-1),
 * soon; its value is discarded. Never blocks. Safe from any greenlet of any
 * hub and from a hub's own context (a callback). Use it to start the part of
 * a program that lives on another hub (its actors, its servers). Returns 0;
 * GROVE_EINVAL for a bad index or a NULL fn; GROVE_ENOMEM. fn and arg must
 * stay valid until fn runs; arg is fn's to free. */
int grove_hub_run_on(size_t hub, grove_fn fn, void *arg);

/* The same, waiting for fn's value: *value (may be NULL) gets what fn
 * returned. Blocks only the calling greenlet. timeout: negative waits
 * forever, 0 fails with GROVE_ETIMEDOUT unless fn is already done - it never
 * is - so use a positive one; when it expires the call returns
 * GROVE_ETIMEDOUT and fn still runs to its end (its value is then dropped).
 * Returns 0; GROVE_EINVAL (bad index, NULL fn, NaN timeout); GROVE_ENOMEM;
 * the gate's codes (GROVE_EPERM from the hub's own context, GROVE_ECANCELED
 * for a killed caller). */
int grove_hub_call_on(size_t hub, grove_fn fn, void *arg, void **value, double timeout);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
