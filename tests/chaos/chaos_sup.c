/* tests/chaos/chaos_sup.c - a supervision tree under random kills, with
 * callers calling its workers all along.
 *
 * The tree (every supervisor registered under its id, every worker under
 * "w<slot>"):
 *
 *   root (one_for_one, intensity 100000 in 1 s)
 *   +- s_ofo  one_for_one   w0 w1 w2
 *   +- s_ofa  one_for_all   w3 w4 w5
 *   +- s_rfo  rest_for_one  w6 w7 w8
 *   +- s_nest one_for_one   s_inner (one_for_all w9 w10), w11 (transient)
 *   +- s_pool simple_one_for_one (transient workers started by a pool user)
 *
 * The inner supervisors get a small random intensity and period each run.
 * A worker's init sleeps a little (so that kills land inside init too), its
 * "ping" sleeps a little before it answers (so that kills land inside
 * receive too).
 *
 * The run alternates two kinds of episode:
 *  - storm: kills at random moments of random workers (running or in init),
 *    of pool children, of inner supervisors, with random reasons (killed,
 *    an error, shutdown), and workers told to crash. Afterwards the tree must
 *    settle: every supervisor and worker back, every worker answering.
 *  - counted: the intensity promise checked exactly on one supervisor X
 *    (intensity I, period P): I+1 kills spaced so that no window of P holds
 *    more than I restarts -> X stays (same ref, restart count +I+1); then,
 *    after a quiet P, I+1 kills in a burst (some inside the restarted child's
 *    init) -> X lives through the first I and ends (reason shutdown) at the
 *    I+1-th, and its parent sees it: the parent's restart count goes up by
 *    one and X's name names a new supervisor.
 * Meanwhile 4 callers call random workers (timeout 0.5 s) and a pool user
 * starts, calls and terminates pool children. Every call is classified:
 * answered, cleanly failed (by error code), timed out, and hung (it returned
 * later than its timeout + 0.3 s, or never: those are counted at the end and
 * the watchdog ends a run that stops progressing). Hung must be 0, every
 * answer must come from the worker called, every intensity check must hold,
 * the tree must settle after every storm, and at the end the tree stops,
 * no name is left and grove_hub_close() returns 0.
 *
 * Usage: chaos_sup [SECONDS] (default 20, or CHAOS_DURATION).
 */
#include "chaos.h"

#define NSLOTS 12
#define NCALLERS 4
#define CALL_TIMEOUT 0.5
#define HUNG_SLACK 0.3
#define E_CRASH (-5001) /* the workers' own error reason */

/* ---- workers ------------------------------------------------------------------------ */

struct wk {
  grove_actor base;
  int slot;
};

static int wk_slots[NSLOTS];
static grove_ref initing[NSLOTS]; /* set while that slot's init runs */
static double init_max = 0.004;   /* seconds an init sleeps, at most */
static uint64_t inits, inits_cancelled;

static int wk_init(grove_actor *self, void *arg) {
  struct wk *w = (struct wk *)self;
  w->slot = arg ? *(int *)arg : -1;
  if (w->slot >= 0)
    initing[w->slot] = grove_actor_ref(self);
  int rc = grove_sleep(chaos_uniform(0, init_max));
  if (w->slot >= 0 && grove_ref_eq(initing[w->slot], grove_actor_ref(self)))
    initing[w->slot] = GROVE_REF_NULL;
  inits++;
  if (rc)
    inits_cancelled++;
  return rc;
}

static int wk_receive(grove_actor *self, grove_msg *msg) {
  struct wk *w = (struct wk *)self;
  if (grove_msg_is(msg, "ping")) {
    if (chaos_randn(4) == 0)
      grove_sleep(chaos_uniform(0, 0.002));
    grove_msg *r = grove_msg_new("pong");
    grove_msg_pack_int(r, w->slot);
    grove_reply(msg, r);
  } else if (grove_msg_is(msg, "crash")) {
    return E_CRASH;
  }
  return 0;
}

static const grove_actor_class wk_class = {"chaos_worker", sizeof(struct wk), wk_init, wk_receive,
                                           NULL};

/* ---- the tree ----------------------------------------------------------------------- */

enum { S_OFO, S_OFA, S_RFO, S_INNER, S_NEST, S_POOL, NSUPS };

struct sup {
  const char *id, *parent; /* registered names */
  grove_sup_strategy strategy;
  int slot0, nslots; /* its worker slots (s_nest: w11 only) */
  int intensity;
  double period;
  grove_child_spec kids[3];
  size_t nkids;
  grove_supervisor_args args;
  uint64_t gave_up_seen; /* ends seen by the counted checks */
};

static struct sup sups[NSUPS] = {
    [S_OFO] = {"s_ofo", "root", GROVE_ONE_FOR_ONE, 0, 3},
    [S_OFA] = {"s_ofa", "root", GROVE_ONE_FOR_ALL, 3, 3},
    [S_RFO] = {"s_rfo", "root", GROVE_REST_FOR_ONE, 6, 3},
    [S_INNER] = {"s_inner", "s_nest", GROVE_ONE_FOR_ALL, 9, 2},
    [S_NEST] = {"s_nest", "root", GROVE_ONE_FOR_ONE, 11, 1},
    [S_POOL] = {"s_pool", "root", GROVE_SIMPLE_ONE_FOR_ONE, 0, 0},
};
static const char *strategy_name[] = {"one_for_one", "one_for_all", "rest_for_one",
                                      "simple_one_for_one"};
static char slot_names[NSLOTS][8];
static grove_child_spec root_kids[5];
static grove_ref root = GROVE_REF_NULL;

static grove_child_spec worker_spec(int slot, grove_restart restart) {
  snprintf(slot_names[slot], sizeof slot_names[slot], "w%d", slot);
  wk_slots[slot] = slot;
  grove_child_spec s = {.id = slot_names[slot],
                        .cls = &wk_class,
                        .arg = &wk_slots[slot],
                        .restart = restart,
                        .shutdown = 1.0};
  s.opts.name = slot_names[slot];
  return s;
}

static grove_child_spec sup_spec(int i) {
  struct sup *s = &sups[i];
  s->args.opts = (grove_supervisor_opts){s->strategy, s->intensity, s->period, s->id};
  s->args.children = s->kids;
  s->args.nchildren = s->nkids;
  /* the child spec's opts.name registers a nested supervisor (its args'
   * opts.name is read by grove_supervisor_start only) */
  grove_child_spec c = {.id = s->id,
                        .cls = &grove_supervisor_class,
                        .arg = &s->args,
                        .restart = GROVE_PERMANENT,
                        .shutdown = -1};
  c.opts.name = s->id;
  return c;
}

static int build_tree(void) {
  for (int i = 0; i < NSUPS; i++) {
    sups[i].intensity = 1 + chaos_randn(5);   /* 1..5 */
    sups[i].period = chaos_uniform(0.8, 1.5); /* seconds */
  }
  for (int i = S_OFO; i <= S_INNER; i++) {
    sups[i].nkids = (size_t)sups[i].nslots;
    for (int k = 0; k < sups[i].nslots; k++)
      sups[i].kids[k] = worker_spec(sups[i].slot0 + k, GROVE_PERMANENT);
  }
  sups[S_NEST].kids[0] = sup_spec(S_INNER);
  sups[S_NEST].kids[1] = worker_spec(11, GROVE_TRANSIENT);
  sups[S_NEST].nkids = 2;
  sups[S_POOL].kids[0] = (grove_child_spec){
      .id = "pw", .cls = &wk_class, .arg = NULL, .restart = GROVE_TRANSIENT, .shutdown = 1.0};
  sups[S_POOL].nkids = 1;
  int n = 0;
  root_kids[n++] = sup_spec(S_OFO);
  root_kids[n++] = sup_spec(S_OFA);
  root_kids[n++] = sup_spec(S_RFO);
  root_kids[n++] = sup_spec(S_NEST);
  root_kids[n++] = sup_spec(S_POOL);
  grove_supervisor_opts ro = {GROVE_ONE_FOR_ONE, 100000, 1.0, "root"};
  return grove_supervisor_start(&ro, root_kids, (size_t)n, &root);
}

/* ---- figures ------------------------------------------------------------------------ */

static struct {
  uint64_t calls, answered, wrong_answer, not_registered, failed_enoent, failed_exited, timed_out,
      failed_other, late;
  double max_call;
  uint64_t pool_starts, pool_start_failed, pool_calls, pool_answered, pool_terminated;
  uint64_t kills_worker, kills_in_init, kills_sup, kills_pool, crashes;
  uint64_t storms, counted, counted_ok, counted_inconclusive, settles, settle_failed;
  double max_sup_call; /* the supervisor API calls have no timeout */
  double max_settle;
  int last_err_other;
} f;

static volatile int stop_callers;

static void note_sup_call(double t0) {
  double dt = chaos_now() - t0;
  if (dt > f.max_sup_call)
    f.max_sup_call = dt;
}

static int count_of(const char *name, grove_ref *ref, uint64_t *restarts) {
  grove_ref r;
  int rc = grove_whereis(name, &r);
  if (rc)
    return rc;
  grove_supervisor_counts c;
  double t0 = chaos_now();
  rc = grove_supervisor_count(r, &c);
  note_sup_call(t0);
  if (rc)
    return rc;
  if (ref)
    *ref = r;
  if (restarts)
    *restarts = c.restarts;
  return 0;
}

/* One call, classified; returns its code. */
static int classified_call(grove_ref to, int expect_slot, uint64_t *answered) {
  grove_msg *reply = NULL;
  double t0 = chaos_now();
  int rc = grove_call(to, grove_msg_new("ping"), &reply, CALL_TIMEOUT);
  double dt = chaos_now() - t0;
  f.calls++;
  if (dt > f.max_call)
    f.max_call = dt;
  if (dt > CALL_TIMEOUT + HUNG_SLACK)
    f.late++;
  if (rc == 0) {
    int64_t slot = -2;
    if (grove_msg_is(reply, "pong") && grove_msg_int(reply, 0, &slot) == 0 && slot == expect_slot)
      (*answered)++;
    else
      f.wrong_answer++;
    grove_msg_free(reply);
  } else if (rc == GROVE_ENOENT) {
    f.failed_enoent++;
  } else if (rc == GROVE_EEXITED) {
    f.failed_exited++; /* the callee was killed or crashed with the call in its inbox or hand */
  } else if (rc == GROVE_ETIMEDOUT) {
    f.timed_out++;
  } else {
    f.failed_other++;
    f.last_err_other = rc;
  }
  return rc;
}

static void *caller(void *arg) {
  (void)arg;
  while (!stop_callers) {
    int slot = chaos_randn(NSLOTS);
    grove_ref w;
    if (grove_whereis(slot_names[slot], &w) != 0) {
      f.not_registered++;
      grove_sleep(0.001);
      continue;
    }
    if (classified_call(w, slot, &f.answered) == GROVE_ECANCELED)
      break;
    if (chaos_randn(8) == 0)
      grove_sleep(0.0005);
  }
  return NULL;
}

#define POOL_MAX 24
static grove_ref pool_kids[POOL_MAX];
static int npool;

static void *pool_user(void *arg) {
  (void)arg;
  while (!stop_callers) {
    grove_ref pool, c = GROVE_REF_NULL;
    if (grove_whereis("s_pool", &pool) != 0) {
      grove_sleep(0.002);
      continue;
    }
    if (npool < POOL_MAX && chaos_randn(3) != 0) {
      double t0 = chaos_now();
      int rc = grove_supervisor_start_child(pool, NULL, &c);
      note_sup_call(t0);
      if (rc == 0) {
        f.pool_starts++;
        pool_kids[npool++] = c;
      } else {
        f.pool_start_failed++;
      }
    }
    for (int i = 0; i < npool; i++) {
      if (!grove_actor_alive(pool_kids[i])) {
        pool_kids[i--] = pool_kids[--npool];
        continue;
      }
      f.pool_calls++;
      classified_call(pool_kids[i], -1, &f.pool_answered);
    }
    if (npool > 0 && chaos_randn(2) == 0) {
      int i = chaos_randn(npool);
      double t0 = chaos_now();
      if (grove_supervisor_terminate_child(pool, pool_kids[i]) == 0)
        f.pool_terminated++;
      note_sup_call(t0);
      pool_kids[i] = pool_kids[--npool];
    }
    grove_sleep(0.001);
  }
  return NULL;
}

/* ---- kills -------------------------------------------------------------------------- */

static int random_reason(bool allow_shutdown) {
  int r = chaos_randn(10);
  if (r < 5)
    return GROVE_EXIT_KILLED;
  if (r < 8 || !allow_shutdown)
    return E_CRASH;
  return GROVE_EXIT_SHUTDOWN;
}

static void storm_kill(void) {
  int what = chaos_randn(100);
  grove_ref r;
  if (what < 12) { /* a worker inside its init, if one is */
    for (int k = 0, s = chaos_randn(NSLOTS); k < NSLOTS; k++, s = (s + 1) % NSLOTS)
      if (!grove_ref_is_null(initing[s])) {
        if (grove_actor_exit(initing[s], random_reason(s != 11)) == 0)
          f.kills_in_init++;
        return;
      }
  }
  if (what < 70) {
    int s = chaos_randn(NSLOTS);
    if (grove_whereis(slot_names[s], &r) == 0 && grove_actor_exit(r, random_reason(s != 11)) == 0)
      f.kills_worker++;
  } else if (what < 80) {
    int s = chaos_randn(NSLOTS);
    if (s != 11 && grove_whereis(slot_names[s], &r) == 0 &&
        grove_send(r, grove_msg_new("crash")) == 0)
      f.crashes++;
  } else if (what < 90) {
    if (npool > 0 && grove_actor_exit(pool_kids[chaos_randn(npool)], random_reason(false)) == 0)
      f.kills_pool++;
  } else {
    int s = chaos_randn(NSUPS);
    if (grove_whereis(sups[s].id, &r) == 0 && grove_actor_exit(r, GROVE_EXIT_KILLED) == 0)
      f.kills_sup++;
  }
}

/* Every supervisor registered, every worker registered and answering. */
static bool settle(double within) {
  double t0 = chaos_now(), deadline = t0 + within;
  chaos_progress("settle: waiting for the tree to come back");
  f.settles++;
  for (;;) {
    bool ok = true;
    grove_ref r;
    for (int s = 0; s < NSUPS && ok; s++)
      ok = grove_whereis(sups[s].id, &r) == 0;
    for (int s = 0; s < NSLOTS && ok; s++) {
      ok = grove_whereis(slot_names[s], &r) == 0;
      if (ok) {
        grove_msg *reply = NULL;
        ok = grove_call(r, grove_msg_new("ping"), &reply, CALL_TIMEOUT) == 0;
        grove_msg_free(reply);
      }
    }
    if (ok) {
      double dt = chaos_now() - t0;
      if (dt > f.max_settle)
        f.max_settle = dt;
      return true;
    }
    if (chaos_now() > deadline) {
      f.settle_failed++;
      return false;
    }
    grove_sleep(0.01);
  }
}

static void storm(double seconds) {
  f.storms++;
  double end = chaos_now() + seconds;
  double mean_gap = chaos_uniform(0.001, 0.02);
  while (chaos_now() < end) {
    chaos_progress("storm: killing");
    storm_kill();
    grove_sleep(chaos_uniform(0, 2 * mean_gap));
  }
  if (!settle(5.0)) {
    char what[200] = "";
    grove_ref r;
    for (int s = 0; s < NSUPS; s++)
      if (grove_whereis(sups[s].id, &r) != 0)
        snprintf(what + strlen(what), sizeof what - strlen(what), " %s", sups[s].id);
    for (int s = 0; s < NSLOTS; s++)
      if (grove_whereis(slot_names[s], &r) != 0)
        snprintf(what + strlen(what), sizeof what - strlen(what), " %s", slot_names[s]);
    chaos_failf("after storm %" PRIu64 " the tree did not settle within 5 s (missing:%s%s)",
                f.storms, what, *what ? "" : " none: a worker does not answer");
  }
}

/* Kill the replacement of a killed child of X while its init runs: true
 * when one was caught inside init (within 0.3 s) and killed. */
static bool kill_in_init(int x) {
  struct sup *s = &sups[x];
  double deadline = chaos_now() + 0.3;
  while (chaos_now() < deadline) {
    for (int k = 0; k < s->nslots; k++)
      if (!grove_ref_is_null(initing[s->slot0 + k]) &&
          grove_actor_exit(initing[s->slot0 + k], GROVE_EXIT_KILLED) == 0) {
        f.kills_in_init++;
        return true;
      }
    grove_sleep(0.0002);
  }
  return false;
}

/* Kill a running child of X (one of its worker slots). 0 once the signal went. */
static int kill_child_of(int x, bool unused) {
  struct sup *s = &sups[x];
  (void)unused;
  grove_ref r;
  double deadline = chaos_now() + 2;
  int slot = s->slot0 + chaos_randn(s->nslots);
  while (grove_whereis(slot_names[slot], &r) != 0) {
    if (chaos_now() > deadline)
      return GROVE_ENOENT;
    grove_sleep(0.0005);
  }
  f.kills_worker++;
  return grove_actor_exit(r, chaos_randn(2) ? GROVE_EXIT_KILLED : E_CRASH);
}

/* Wait until X's restart count reaches `want` (0) or X has ended (1);
 * -1 when neither within 2 s. */
static int wait_restart(grove_ref x, uint64_t want, uint64_t *got) {
  double deadline = chaos_now() + 2;
  for (;;) {
    grove_supervisor_counts c;
    if (!grove_actor_alive(x))
      return 1;
    double t0 = chaos_now();
    int rc = grove_supervisor_count(x, &c);
    note_sup_call(t0);
    if (rc == GROVE_ENOENT || rc == GROVE_EEXITED)
      return 1;
    if (rc == 0) {
      *got = c.restarts;
      if (c.restarts >= want)
        return 0;
    }
    if (chaos_now() > deadline)
      return -1;
    grove_sleep(0.0005);
  }
}

static void counted(void) {
  int x = chaos_randn(S_NEST + 1); /* s_ofo, s_ofa, s_rfo, s_inner, s_nest */
  struct sup *s = &sups[x];
  int I = s->intensity;
  double P = s->period;
  char label[120];
  snprintf(label, sizeof label, "%s (%s, intensity %d in %.2f s)", s->id,
           strategy_name[s->strategy], I, P);
  f.counted++;
  init_max = 0.02; /* long enough to be caught inside init */
  chaos_progress("counted: quiet period");
  grove_sleep(P + 0.3);
  if (!settle(5.0)) {
    chaos_failf("counted check on %s: the tree was not settled before it", label);
    return;
  }
  grove_ref x0, parent;
  uint64_t xr0, pr0, got = 0;
  if (count_of(s->id, &x0, &xr0) || count_of(s->parent, &parent, &pr0)) {
    chaos_failf("counted check on %s: supervisor or parent not found", label);
    return;
  }
  /* A: I+1 kills spaced 1.5 P / I apart: never more than I in a window. */
  double gap = 1.5 * P / I;
  chaos_progress("counted: spaced kills");
  for (int k = 1; k <= I + 1; k++) {
    if (k > 1)
      grove_sleep(gap);
    double t0 = chaos_now();
    if (kill_child_of(x, false) != 0) {
      chaos_failf("counted check on %s: no child to kill", label);
      return;
    }
    int w = wait_restart(x0, xr0 + (uint64_t)k, &got);
    if (w == 1) {
      chaos_failf("%s gave up after %d restarts spaced %.3f s apart (at most %d in any %.2f s "
                  "window: it must not give up)",
                  label, k, gap, I, P);
      return;
    }
    if (w < 0) {
      chaos_failf("%s: restart %d not seen within 2 s (restart count %" PRIu64 ", wanted %" PRIu64
                  ")",
                  label, k, got, xr0 + (uint64_t)k);
      return;
    }
    (void)t0;
  }
  /* B: after a quiet period, I+1 kills in a burst; sometimes the next kill
   * is of the replacement while its init runs (a failed restart counts). */
  chaos_progress("counted: quiet period");
  grove_sleep(P + 0.3);
  uint64_t xr1 = xr0 + (uint64_t)I + 1;
  double b0 = chaos_now(), last_kill = b0;
  chaos_progress("counted: burst");
  for (int k = 1; k <= I + 1; k++) {
    if (kill_child_of(x, false) != 0) {
      chaos_failf("counted check on %s: no child to kill in the burst", label);
      return;
    }
    last_kill = chaos_now();
    if (k <= I && chaos_randn(3) == 0 && kill_in_init(x)) {
      k++;
      last_kill = chaos_now();
    }
    int w = wait_restart(x0, xr1 + (uint64_t)k, &got);
    if (last_kill - b0 > 0.8 * P) {
      f.counted_inconclusive++;
      fprintf(stderr, "chaos: note: the burst on %s took %.3f s (period %.2f s): inconclusive\n",
              label, last_kill - b0, P);
      return;
    }
    if (k <= I && w != 0) {
      chaos_failf("%s %s after %d of a burst of %d restarts in %.3f s (it may give up only at "
                  "restart %d)",
                  label, w == 1 ? "gave up" : "stopped restarting", k, I + 1, chaos_now() - b0,
                  I + 1);
      return;
    }
    if (k == I + 1 && w != 1) {
      chaos_failf("%s did not give up after %d restarts in %.3f s (intensity %d in %.2f s; "
                  "restart count %" PRIu64 ", wanted the end at %" PRIu64 ")",
                  label, I + 1, last_kill - b0, I, P, got, xr1 + (uint64_t)I + 1);
      return;
    }
  }
  int reason = 0;
  if (grove_actor_wait(x0, &reason, 2.0) != 0 || reason != GROVE_EXIT_SHUTDOWN) {
    chaos_failf("%s gave up with reason %s (shutdown expected)", label,
                grove_exit_reason_name(reason));
    return;
  }
  /* its parent sees it: one more restart there, and a new X under the name */
  chaos_progress("counted: parent restart");
  double deadline = chaos_now() + 2;
  grove_ref x1 = GROVE_REF_NULL;
  uint64_t pr1 = pr0;
  while (chaos_now() < deadline) {
    if (count_of(s->parent, NULL, &pr1) == 0 && pr1 >= pr0 + 1 && grove_whereis(s->id, &x1) == 0 &&
        !grove_ref_eq(x1, x0))
      break;
    grove_sleep(0.001);
  }
  if (pr1 != pr0 + 1 || grove_ref_is_null(x1) || grove_ref_eq(x1, x0)) {
    chaos_failf("%s ended but its parent %s did not restart it once (parent restarts %" PRIu64
                " -> %" PRIu64 ")",
                label, s->parent, pr0, pr1);
    return;
  }
  s->gave_up_seen++;
  f.counted_ok++;
}

int main(int argc, char **argv) {
  double duration = argc > 1 ? atof(argv[1]) : chaos_duration(20);
  chaos_seed();
  chaos_watchdog_start("supervisor", 20);
  printf("chaos_sup: seed %" PRIu64 " (CHAOS_SEED=%" PRIu64 " repeats it), %.0f s\n",
         chaos_seed_value, chaos_seed_value, duration);
  fflush(stdout);
  int rc = build_tree();
  if (rc) {
    chaos_failf("grove_supervisor_start: %s", grove_err_name(rc));
    return chaos_summary("supervisor");
  }
  grove_greenlet *g[NCALLERS + 1];
  for (int i = 0; i < NCALLERS; i++)
    g[i] = grove_spawn(caller, NULL);
  g[NCALLERS] = grove_spawn(pool_user, NULL);

  double t_start = chaos_now(), end = t_start + duration;
  while (chaos_now() < end) {
    if (chaos_randn(3) == 0) {
      counted();
    } else {
      init_max = 0.004;
      storm(chaos_uniform(0.3, 1.5));
    }
    init_max = chaos_randn(2) ? 0.004 : 0.02;
  }
  chaos_progress("final settle");
  if (!settle(5.0))
    chaos_failf("the tree did not settle at the end");

  chaos_progress("stopping the callers");
  stop_callers = 1;
  int hung_callers = 0;
  for (int i = 0; i <= NCALLERS; i++) {
    if (grove_join(g[i], CALL_TIMEOUT + 2.0) != 0) {
      hung_callers++;
      grove_kill(g[i], 1.0);
    }
    grove_greenlet_release(g[i]);
  }
  double elapsed = chaos_now() - t_start;

  chaos_progress("stopping the tree");
  int stop_rc = grove_supervisor_stop(root, 10.0);
  int names_left = 0;
  grove_ref r;
  for (int s = 0; s < NSLOTS; s++)
    names_left += grove_whereis(slot_names[s], &r) == 0;
  for (int s = 0; s < NSUPS; s++)
    names_left += grove_whereis(sups[s].id, &r) == 0;
  names_left += grove_whereis("root", &r) == 0;

  uint64_t hung = f.late + (uint64_t)hung_callers;
  chaos_fig("seed", "%" PRIu64, chaos_seed_value);
  chaos_fig("duration_s", "%.1f", elapsed);
  for (int s = 0; s <= S_NEST; s++) {
    char k[64];
    snprintf(k, sizeof k, "tree.%s", sups[s].id);
    chaos_fig(k, "%s intensity %d period %.2f s, gave up on cue %" PRIu64 "x",
              strategy_name[sups[s].strategy], sups[s].intensity, sups[s].period,
              sups[s].gave_up_seen);
  }
  chaos_fig("episodes.storm", "%" PRIu64, f.storms);
  chaos_fig("episodes.counted",
            "%" PRIu64 " (intensity held exactly: %" PRIu64 ", inconclusive: %" PRIu64 ")",
            f.counted, f.counted_ok, f.counted_inconclusive);
  chaos_fig("kills.worker_running", "%" PRIu64, f.kills_worker);
  chaos_fig("kills.worker_in_init", "%" PRIu64, f.kills_in_init);
  chaos_fig("kills.pool_child", "%" PRIu64, f.kills_pool);
  chaos_fig("kills.supervisor", "%" PRIu64, f.kills_sup);
  chaos_fig("crashes.worker_returned_error", "%" PRIu64, f.crashes);
  chaos_fig("inits", "%" PRIu64 " (cancelled by a kill: %" PRIu64 ")", inits, inits_cancelled);
  chaos_fig("calls.total", "%" PRIu64, f.calls);
  chaos_fig("calls.answered", "%" PRIu64, f.answered + f.pool_answered);
  chaos_fig("calls.failed_clean.enoent", "%" PRIu64, f.failed_enoent);
  chaos_fig("calls.failed_clean.exited", "%" PRIu64, f.failed_exited);
  chaos_fig("calls.failed_clean.not_registered", "%" PRIu64, f.not_registered);
  chaos_fig("calls.failed_other", "%" PRIu64 " (last %s)", f.failed_other,
            f.failed_other ? grove_err_name(f.last_err_other) : "-");
  chaos_fig("calls.timed_out", "%" PRIu64, f.timed_out);
  chaos_fig("calls.hung", "%" PRIu64 " (over %.1f s + %.1f s: %" PRIu64 ", never returned: %d)",
            hung, CALL_TIMEOUT, HUNG_SLACK, f.late, hung_callers);
  chaos_fig("calls.wrong_answer", "%" PRIu64, f.wrong_answer);
  chaos_fig("calls.slowest_s", "%.3f", f.max_call);
  chaos_fig("pool",
            "started %" PRIu64 ", start failed %" PRIu64 ", terminated %" PRIu64 ", calls %" PRIu64,
            f.pool_starts, f.pool_start_failed, f.pool_terminated, f.pool_calls);
  chaos_fig("supervisor_calls.slowest_s", "%.3f", f.max_sup_call);
  chaos_fig("settles", "%" PRIu64 " (failed %" PRIu64 ", slowest %.3f s)", f.settles,
            f.settle_failed, f.max_settle);
  chaos_fig("stop.root", "%s", grove_err_name(stop_rc));
  chaos_fig("stop.names_left", "%d", names_left);

  if (hung)
    chaos_failf("%" PRIu64 " hung calls (every call must end within its timeout)", hung);
  if (f.wrong_answer)
    chaos_failf("%" PRIu64 " calls answered by another worker", f.wrong_answer);
  if (f.answered == 0)
    chaos_failf("no call was answered at all");
  if (f.max_sup_call > 5.0)
    chaos_failf("a supervisor call took %.3f s", f.max_sup_call);
  if (stop_rc != 0)
    chaos_failf("grove_supervisor_stop(root): %s", grove_err_name(stop_rc));
  if (names_left)
    chaos_failf("%d names still registered after the tree stopped", names_left);
  chaos_progress("closing the hub");
  int close_rc = grove_hub_close();
  chaos_fig("hub_close", "%s", grove_err_name(close_rc));
  if (close_rc != 0)
    chaos_failf("grove_hub_close: %s (something leaked or is stuck)", grove_err_name(close_rc));
  return chaos_summary("supervisor");
}
