/* transport/cluster_map.c - work distribution over a cluster: jobs spread
 * over the workers' named actor, re-sent when a worker dies, each result
 * delivered once, in job order (grove_cluster_map).
 *
 * Design notes.
 *
 * A run is a queue of job indices and, per worker, per_worker "feeder"
 * greenlets: each resolves the worker's name (grove_whereis_remote_wait),
 * takes the next job, and grove_calls a copy of it (the job message itself
 * is kept for a re-send). So a worker never has more than per_worker jobs
 * in flight, and a free worker takes the next job as soon as it is free
 * (no static split: a slow worker does fewer). A failed attempt puts the
 * job back at the end of the queue and makes its feeder resolve the name
 * again, which waits while the worker is being restarted; meanwhile the
 * other workers' feeders take the job.
 *
 * Exactly once: a job is in flight at most once at any time (it is either
 * in the queue or held by one feeder), and a reply that comes after its
 * attempt was given up (a timeout) is dropped by grove_call itself, never
 * delivered to a later call; so results[i] is written once. The work may
 * have been done twice (a worker that did it and died before its reply
 * left), as with any at-least-once execution.
 *
 * The run is shared by the caller and its feeders and freed by the last to
 * leave it: a caller that is killed returns at once, cancelling the feeders
 * (grove__cancel never blocks), which end on their own turn. A watcher
 * greenlet ends the run when the cluster fails.
 */
#include "transport_internal.h"

#include <math.h>
#include <string.h>

#define RESOLVE_SLICE 1.0 /* seconds: a feeder's wait for its worker's name, between checks */

typedef struct map_run {
  grove_cluster *c;
  char *name;
  grove_msg **jobs;
  size_t n;
  grove_msg **results; /* the caller's: written only while !over */
  int *attempts;
  grove_queue *todo; /* job index + 1; 0 ends a feeder */
  grove_event *finished;
  size_t done;
  int error;
  int over;
  int refs;
  int max_attempts;
  double job_timeout;
} map_run;

typedef struct feeder_arg {
  map_run *r;
  int worker;
} feeder_arg;

static void run_unref(map_run *r) {
  if (--r->refs > 0)
    return;
  for (size_t i = 0; i < r->n; i++)
    grove_msg_free(r->jobs[i]);
  free(r->jobs);
  free(r->attempts);
  free(r->name);
  if (r->todo) {
    void *item;
    while (grove_queue_get_nowait(r->todo, &item) == 0) {
    }
    grove_queue_free(r->todo);
  }
  if (r->finished)
    grove_event_free(r->finished);
  free(r);
}

/* The run ends (all done, or an error): once. */
static void run_end(map_run *r, int error) {
  if (r->over)
    return;
  if (!r->error)
    r->error = error;
  grove_event_set(r->finished);
}

static grove_msg *job_copy(grove_msg *m) {
  grove_msg *c = grove_msg_new(grove_msg_tag(m));
  size_t len;
  const void *body = grove_msg_body(m, &len);
  if (c && len) {
    msgpack_packer *pk = grove_msg_packer(c);
    if (!pk || pk->callback(pk->data, body, len) != 0) {
      grove_msg_free(c);
      return NULL;
    }
  }
  return c;
}

static void *feeder(void *p) {
  feeder_arg fa = *(feeder_arg *)p;
  free(p);
  map_run *r = fa.r;
  const char *node = grove_cluster_worker_name(r->c, fa.worker);
  grove_ref ref = GROVE_REF_NULL;
  while (!r->over) {
    if (grove_ref_is_null(ref)) {
      int rc = grove_whereis_remote_wait(node, r->name, &ref, RESOLVE_SLICE);
      if (rc == GROVE_ECANCELED)
        break;
      if (rc) {
        ref = GROVE_REF_NULL;
        continue; /* still restarting (or gone: the watcher ends the run) */
      }
    }
    void *item;
    if (grove_queue_get(r->todo, &item, GROVE_FOREVER) != 0 || !item || r->over)
      break;
    size_t j = (size_t)(uintptr_t)item - 1;
    grove_msg *req = job_copy(r->jobs[j]), *reply = NULL;
    int rc = req ? grove_call(ref, req, &reply, r->job_timeout) : GROVE_ENOMEM;
    if (r->over) {
      grove_msg_free(reply);
      break;
    }
    if (rc == 0) {
      r->results[j] = reply;
      if (++r->done == r->n)
        run_end(r, 0);
      continue;
    }
    /* The attempt failed: the job goes back, for whichever worker is free
     * first; this one looks its worker's actor up again (a restarted
     * worker has a new one). */
    if (++r->attempts[j] >= r->max_attempts && rc != GROVE_ECANCELED) {
      run_end(r, rc);
      break;
    }
    grove_queue_put_nowait(r->todo, item);
    ref = GROVE_REF_NULL;
    if (rc == GROVE_ECANCELED)
      break;
  }
  run_unref(r);
  return NULL;
}

static void *watch_cluster(void *p) {
  map_run *r = p;
  int rc = grove_cluster_wait(r->c, GROVE_FOREVER);
  if (rc != GROVE_ECANCELED && !r->over)
    run_end(r, GROVE_EFAILED); /* failed, or stopped under us */
  run_unref(r);
  return NULL;
}

int grove_cluster_map(grove_cluster *c, const char *name, grove_msg **jobs, size_t n,
                      grove_msg **results, const grove_cluster_map_opts *opts, double timeout) {
  int rc = 0;
  if (!c || !name || !*name || (n && (!jobs || !results)) || isnan(timeout))
    rc = GROVE_EINVAL;
  for (size_t i = 0; rc == 0 && i < n; i++)
    if (!jobs[i])
      rc = GROVE_EINVAL;
  if (rc) {
    for (size_t i = 0; jobs && i < n; i++)
      grove_msg_free(jobs[i]);
    return rc;
  }
  for (size_t i = 0; i < n; i++)
    results[i] = NULL;
  map_run *r = calloc(1, sizeof *r);
  if (!r) {
    for (size_t i = 0; i < n; i++)
      grove_msg_free(jobs[i]);
    return GROVE_ENOMEM;
  }
  r->refs = 1;
  r->c = c;
  r->n = n;
  r->results = results;
  r->jobs = malloc((n ? n : 1) * sizeof *jobs);
  if (r->jobs) {
    if (n)
      memcpy(r->jobs, jobs, n * sizeof *jobs);
  } else {
    for (size_t i = 0; i < n; i++)
      grove_msg_free(jobs[i]);
    r->n = 0;
  }
  r->attempts = calloc(n ? n : 1, sizeof *r->attempts);
  r->name = strdup(name);
  r->todo = grove_queue_new(0);
  r->finished = grove_event_new();
  r->max_attempts = opts && opts->max_attempts > 0 ? opts->max_attempts : 3;
  r->job_timeout = opts && opts->job_timeout > 0 ? opts->job_timeout : 30;
  size_t per = opts && opts->per_worker ? opts->per_worker : 1;
  int workers = grove_cluster_size(c);
  size_t nf = (size_t)workers * per;
  grove_greenlet **gs = calloc(nf + 1, sizeof *gs);
  if (!r->jobs || !r->attempts || !r->name || !r->todo || !r->finished || !gs) {
    free(gs);
    run_unref(r);
    return GROVE_ENOMEM;
  }
  if (n == 0) {
    free(gs);
    run_unref(r);
    return 0;
  }
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = grove_queue_put_nowait(r->todo, (void *)(uintptr_t)(i + 1));
  size_t ng = 0;
  if (rc == 0 && (gs[ng] = grove_spawn(watch_cluster, r)) != NULL) {
    r->refs++;
    ng++;
  } else if (rc == 0) {
    rc = GROVE_ENOMEM;
  }
  for (size_t k = 0; rc == 0 && k < nf; k++) {
    feeder_arg *fa = malloc(sizeof *fa);
    if (fa)
      *fa = (feeder_arg){r, (int)(k % (size_t)workers)};
    if (!fa || !(gs[ng] = grove_spawn(feeder, fa))) {
      free(fa);
      rc = GROVE_ENOMEM;
      break;
    }
    r->refs++;
    ng++;
  }
  if (rc == 0)
    rc = grove_event_wait(r->finished, timeout);
  if (rc == 0)
    rc = r->error;
  /* Over: the feeders and the watcher end (cancelled where they wait; a
   * reply that arrives now is dropped), and are waited for unless this
   * greenlet was killed itself (then they end on their own turn). */
  r->over = 1;
  grove_hub *hub = grove__hub();
  for (size_t k = 0; k < ng; k++)
    grove__cancel(gs[k]);
  if (!grove__cancelled(grove__current(hub)))
    grove_joinall(gs, ng, GROVE_FOREVER);
  for (size_t k = 0; k < ng; k++)
    grove_greenlet_release(gs[k]);
  free(gs);
  run_unref(r);
  return rc;
}
