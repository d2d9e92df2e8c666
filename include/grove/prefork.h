/* grove/prefork.h - pre-forked serving: N worker processes accepting on one
 * listening socket, supervised (the tutorial's multi-process WSGI server).
 *
 * The process the user starts is the master. grove_prefork_listen there
 * binds the socket and starts the workers: each is the same program run
 * again (/proc/self/exe with the same arguments) with the listening socket
 * inherited and two variables in its environment (GROVE_PREFORK_FD,
 * GROVE_PREFORK_WORKER). In a worker the same call finds them and returns
 * the inherited socket instead of binding, so one program serves as both:
 *
 *   grove_socket *ls; grove_prefork *master;
 *   grove_prefork_listen("127.0.0.1", 8000, &opts, &ls, &master);
 *   if (master) {                        // the master: supervise
 *     grove_prefork_run(master, GROVE_FOREVER);   // until SIGTERM / SIGINT
 *     grove_prefork_free(master);
 *   } else {                             // a worker: serve on ls
 *     ... grove_http_server_new(ls, ...) ... until SIGTERM
 *   }
 *
 * Re-running the program rather than fork(2) keeps each worker's hub its
 * own (a forked child would share the master's event loop). So a worker
 * runs main() again from the start: call grove_prefork_listen before doing
 * anything a worker must not repeat. The kernel spreads connections over
 * the workers accepting on the shared socket. A worker that exits without
 * being asked (a crash, an exit) is started again, within opts' restart
 * intensity; a worker whose master dies gets SIGTERM (PR_SET_PDEATHSIG).
 */
#ifndef GROVE_PREFORK_H
#define GROVE_PREFORK_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct grove_prefork grove_prefork;

/* Zero in a field means its default. */
typedef struct grove_prefork_opts {
  int processes;         /* workers: one per CPU */
  int backlog;           /* listen(2) backlog: SOMAXCONN */
  int max_restarts;      /* at most this many restarts ... : 10 */
  double restart_period; /* ... within this many seconds: 10 s; one more stops
                            every worker and makes grove_prefork_run fail */
  double stop_timeout;   /* after SIGTERM, how long a worker may take to exit
                            before SIGKILL: 10 s */
} grove_prefork_opts;

/* In the master: bind host:port (as grove_tcp_listen), start the workers and
 * return 0 with *master set and *listener NULL. In a worker: return 0 with
 * *listener the shared listening socket (the caller's to close) and *master
 * NULL. opts may be NULL. Returns GROVE_EINVAL, a listen error, or a spawn
 * error (the workers started are stopped again). Never blocks. */
int grove_prefork_listen(const char *host, int port, const grove_prefork_opts *opts,
                         grove_socket **listener, grove_prefork **master);

/* The index of this worker (0 .. processes - 1), or -1 in a process that is
 * not a worker. */
int grove_prefork_worker(void);

/* The listening port (for port 0), in the master. */
int grove_prefork_port(const grove_prefork *pf);

/* Supervise: restart workers that exit unasked, until SIGTERM or SIGINT
 * reaches the master or grove_prefork_stop is called; then send SIGTERM to
 * every worker and wait (stop_timeout, then SIGKILL). Returns 0 after an
 * orderly stop, GROVE_EFAILED once restarts exceeded their intensity (the
 * workers are stopped), GROVE_ETIMEDOUT / GROVE_ECANCELED if the wait ended
 * first (the workers keep running). */
int grove_prefork_run(grove_prefork *pf, double timeout);

/* Ask grove_prefork_run to stop the workers and return. Never blocks. */
void grove_prefork_stop(grove_prefork *pf);

/* Workers started again after exiting unasked. */
uint64_t grove_prefork_restarts(const grove_prefork *pf);

/* The process id of worker i while it runs, or a negative error. */
int grove_prefork_pid(const grove_prefork *pf, int i);

/* Stop the workers if they run (SIGKILL), close the socket and free. NULL
 * is a no-op. */
void grove_prefork_free(grove_prefork *pf);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
