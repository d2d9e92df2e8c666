/* supervision.c - a failing worker under a one_for_one supervisor; clients
 * that retry, so that no request is lost.
 *
 *   supervision [REQUESTS_PER_CLIENT]      (default 250)
 *
 * The worker answers "square" [id] requests with "answer" [id, id*id], but
 * every FAIL_EVERY-th message it receives makes it fail: receive returns an
 * error before it has done anything with that request. Its supervisor
 * (grove_supervisor_start, one_for_one, the worker a permanent child)
 * restarts it each time, under a new ref. CLIENTS client greenlets send
 * their requests with grove_call concurrently, so when the worker fails
 * other requests may be waiting in its inbox; they die with it.
 *
 * The program counts every answer per request and checks that each request
 * got exactly one, that the supervisor restarted the worker once per
 * failure, and that the answers are right.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

#define CLIENTS 4
#define FAIL_EVERY 5     /* the worker fails on its 5th, 10th, ... message */
#define CALL_TIMEOUT 5.0 /* seconds; generous: a call normally takes microseconds */
#define LOOKUP_ATTEMPTS 100
#define LOG_FIRST 3 /* narrate the first few failures */

static grove_ref sup;
static long per_client = 250;
static unsigned char *answers; /* answers[id]: how many answers request id got */

/* What happened (static: read by main after the run). */
static struct {
  long failures; /* worker failures (each must cause one restart) */
  long retries;  /* calls that failed with GROVE_EEXITED / GROVE_ENOENT and were sent again */
  long lookups;  /* grove_supervisor_which_child calls */
  long wrong;    /* answers with the wrong content */
  long lost;     /* requests given up on */
} stats;

/* ---- the worker ------------------------------------------------------------- */

struct worker {
  grove_actor base;
  long received; /* messages this incarnation has received */
};

static int worker_receive(grove_actor *self, grove_msg *msg) {
  struct worker *w = (struct worker *)self;
  int64_t id;
  if (!grove_msg_is(msg, "square") || !grove_msg_is_call(msg) || grove_msg_int(msg, 0, &id) != 0)
    return 0; /* not ours: ignore it */
  if (++w->received % FAIL_EVERY == 0) {
    grove_actor_stats inbox;
    if (++stats.failures <= LOG_FIRST && grove_actor_stats_get(grove_self(), &inbox) == 0)
      printf("worker fails on request %lld (its message #%ld), %zu more requests waiting in its "
             "inbox die with it; the supervisor restarts it\n",
             (long long)id, w->received, inbox.inbox_len);
    return GROVE_EFAILED; /* the actor ends with this reason; the request is not answered */
  }
  grove_msg *answer = grove_msg_new("answer");
  grove_msg_pack_int(answer, id);
  grove_msg_pack_int(answer, id * id);
  grove_reply(msg, answer);
  return 0;
}

static const grove_actor_class worker_class = {
    .name = "worker", .size = sizeof(struct worker), .receive = worker_receive};

/* ---- the clients ------------------------------------------------------------ */

/* Retry policy. A grove_call that fails with GROVE_EEXITED got no answer:
 * the worker ended before replying, either while handling this very request
 * or with the request still in its inbox (where it became a dead letter);
 * one that fails with GROVE_ENOENT found no worker: the ref the client held
 * was already stale. The worker replies only after
 * it has done the work and fails before doing any, so an unanswered request
 * had no effect and sending it again cannot make it count twice: retrying
 * on either turns "at most once" into "exactly once". Before retrying,
 * the client asks the supervisor for the worker's current ref
 * (grove_supervisor_which_child). The worker's exit reached the supervisor's
 * inbox before our question (it is sent as the worker ends, before the
 * client even wakes), so the answer is normally the restarted worker; if the
 * child is not running (GROVE_ENOENT) the client waits a millisecond and
 * asks again, up to LOOKUP_ATTEMPTS times. Any other error, notably
 * GROVE_ETIMEDOUT, is not retried: a request that timed out may have been
 * answered late, and resending it could get it answered twice. */
static int find_worker(grove_ref *worker) {
  for (int attempt = 0; attempt < LOOKUP_ATTEMPTS; attempt++) {
    stats.lookups++;
    int rc = grove_supervisor_which_child(sup, "worker", worker);
    if (rc != GROVE_ENOENT)
      return rc;
    grove_sleep(0.001);
  }
  return GROVE_ENOENT;
}

static int request(grove_ref *worker, int64_t id) {
  for (;;) {
    grove_msg *req = grove_msg_new("square");
    if (!req || grove_msg_pack_int(req, id) != 0) {
      grove_msg_free(req);
      return GROVE_ENOMEM;
    }
    grove_msg *reply;
    int rc = grove_call(*worker, req, &reply, CALL_TIMEOUT);
    if (rc == 0) {
      int64_t rid, sq;
      if (grove_msg_int(reply, 0, &rid) != 0 || grove_msg_int(reply, 1, &sq) != 0 || rid != id ||
          sq != id * id)
        stats.wrong++;
      else
        answers[id]++;
      grove_msg_free(reply);
      return 0;
    }
    if (rc != GROVE_EEXITED && rc != GROVE_ENOENT)
      return rc;
    stats.retries++;
    if ((rc = find_worker(worker)) != 0)
      return rc;
  }
}

static void *client(void *arg) {
  long first = (long)(intptr_t)arg * per_client;
  grove_ref worker;
  if (find_worker(&worker) != 0) {
    stats.lost += per_client;
    return NULL;
  }
  for (long id = first; id < first + per_client; id++) {
    int rc = request(&worker, id);
    if (rc != 0) {
      fprintf(stderr, "supervision: request %ld lost: %s\n", id, grove_strerror(rc));
      stats.lost++;
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1)
    per_client = strtol(argv[1], NULL, 10);
  if (per_client < 1 || per_client > 1000000) {
    fprintf(stderr, "usage: %s [REQUESTS_PER_CLIENT: 1..1000000]\n", argv[0]);
    return EXIT_FAILURE;
  }
  long total = CLIENTS * per_client;
  answers = calloc((size_t)total, 1);
  if (!answers)
    return EXIT_FAILURE;

  /* Each incarnation of the worker answers FAIL_EVERY - 1 messages before it
   * fails, and each message it gets is a distinct call, so the worker can
   * fail at most total / (FAIL_EVERY - 1) + 1 times. Allowing that many
   * restarts within the whole run means the supervisor never gives up. */
  grove_supervisor_opts opts = {
      .strategy = GROVE_ONE_FOR_ONE,
      .intensity = (int)(total / (FAIL_EVERY - 1) + 1),
      .period = 60.0,
  };
  grove_child_spec worker = {
      .id = "worker", .cls = &worker_class, .restart = GROVE_PERMANENT, .shutdown = 1.0};
  int rc = grove_supervisor_start(&opts, &worker, 1, &sup);
  if (rc != 0) {
    fprintf(stderr, "supervision: cannot start the supervisor: %s\n", grove_strerror(rc));
    return EXIT_FAILURE;
  }
  printf("%d clients x %ld requests to a worker that fails on every %dth message "
         "(one_for_one, intensity %d in %.0f s)\n",
         CLIENTS, per_client, FAIL_EVERY, opts.intensity, opts.period);

  grove_greenlet *clients[CLIENTS];
  for (long c = 0; c < CLIENTS; c++)
    clients[c] = grove_spawn(client, (void *)(intptr_t)c);
  rc = grove_joinall(clients, CLIENTS, GROVE_FOREVER);
  for (int c = 0; c < CLIENTS; c++)
    grove_greenlet_release(clients[c]);

  grove_supervisor_counts counts = {0};
  if (rc == 0)
    rc = grove_supervisor_count(sup, &counts);
  long once = 0, missing = 0, twice = 0;
  for (long id = 0; id < total; id++) {
    once += answers[id] == 1;
    missing += answers[id] == 0;
    twice += answers[id] > 1;
  }
  printf("worker failures: %ld; restarts by the supervisor: %llu; worker running: %zu of %zu\n",
         stats.failures, (unsigned long long)counts.restarts, counts.active, counts.specs);
  printf("calls retried after GROVE_EEXITED or GROVE_ENOENT: %ld (supervisor lookups: %ld, dead "
         "letters: %llu)\n",
         stats.retries, stats.lookups, (unsigned long long)grove_dead_letter_count());
  printf("requests: %ld; answered exactly once: %ld, never: %ld, more than once: %ld, "
         "wrong answers: %ld\n",
         total, once, missing, twice, stats.wrong);

  int good = rc == 0 && once == total && stats.lost == 0 && stats.wrong == 0 &&
             counts.restarts == (uint64_t)stats.failures && counts.active == 1 &&
             stats.failures > 0;
  if (grove_supervisor_stop(sup, 5.0) != 0)
    good = 0;
  free(answers);
  printf("%s\n", good ? "ok: no request lost, none answered twice" : "WRONG");
  if (grove_hub_close() != 0)
    good = 0;
  return good ? EXIT_SUCCESS : EXIT_FAILURE;
}
