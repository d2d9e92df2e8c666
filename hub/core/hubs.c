/* hub/core/hubs.c - several hubs in one process: grove_hubs_start/stop, the
 * hubs' inbound queues, how a hub sleeps and is woken, and running work on
 * another hub.
 *
 * Design notes.
 *
 * Shared nothing, as in Seastar: every hub stays a single-threaded gevent
 * hub; hub i > 0 runs on a thread of its own. The only thing hubs share is
 * an inbound queue per hub into which any thread may push a grove__xnode
 * (the layer above embeds it in what crosses: a message, a reply, a ticket);
 * the hub pops and runs each node in its own context, between greenlets.
 *
 * The queue is Vyukov's intrusive MPSC queue (as Pony's actor queues): a
 * push is one atomic exchange of the head and a store of the link, with no
 * loop and no CAS, so producers never retry or wait for each other; the
 * consumer pops without atomics read-modify-writes. Order is FIFO per
 * producing thread, which gives per-sender FIFO. liburcu's wfcqueue was the
 * other candidate (Debian has it): its enqueue is also one exchange, but it
 * is a dependency and a build-time choice of flavour for a structure of
 * fifty lines; and its dequeue side wants a lock or a splice when the
 * consumer is one thread - exactly what Vyukov's pop already assumes. A push
 * that is half done (exchange made, link not yet stored) makes the pop
 * report "nothing" while grove__xq_pending says "something": the hub spins
 * (below) instead of sleeping, and the link appears a few instructions later.
 *
 * Wake-ups are coalesced. A hub's xsleep word is 0 while it is awake
 * (running greenlets, or spinning), 1 once it has decided to block in
 * libuv, 2 once somebody signalled it. A producer pushes (seq_cst exchange)
 * and then reads xsleep (seq_cst): only the one producer that turns 1 into 2
 * calls uv_async_send (a write to an eventfd); a hub that is awake or
 * already signalled costs nothing more than the push. The hub stores 1
 * (seq_cst) and then checks its queue again before it blocks: with both
 * sides sequentially consistent, either the producer sees 1 and signals, or
 * the hub sees the push and does not block (Dekker's pattern).
 *
 * Spinning: a hub with nothing to run spins on its queue before it sleeps,
 * for spin_ns (between SPIN_MIN and SPIN_MAX, 1 to 100 us, and never past
 * its next timer): doubled each time a spin found work, an eighth shorter
 * each time it did not (Go's spinning Ms are as adaptive). Ping-pong across cores so never pays a
 * system call per message, while an idle hub spins a microsecond or two and
 * then sleeps in epoll: an idle process uses no CPU. A hub that runs work
 * arriving this way within its turn does not poll libuv for it; the turn
 * meter still makes it poll once per turn (5 ms), so I/O and timers are not
 * starved.
 *
 * Grouped hubs are held (grove_hub_hold) while the group runs: another hub
 * may always send them something, so a greenlet blocked forever is not a
 * LoopExit.
 *
 * Stopping, in two phases so that no hub is freed while another may still
 * push to it: (1) each worker hub runs the layers' stop hooks (the actor
 * layer stops its actors as a supervisor does) and reports to hub 0; (2)
 * once all have, the hubs are taken out of the table (grove__hub_at returns
 * NULL from then on: sends to their refs fail cleanly) and each worker
 * drains its queue, closes its hub (grove_hub_close: the leak checks) and
 * its thread ends. hub 0 waits for all of this in its calling greenlet, so
 * hub 0's own greenlets and actors go on meanwhile.
 */
#include "internal.h"

#include <math.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#define HUBS_MAX 1024
#define SPIN_MIN 1000ull    /* ns */
#define SPIN_START 20000ull /* ns */
#define SPIN_MAX 100000ull  /* ns */
#define DRAIN_BATCH 4096

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* ---- the queue ---------------------------------------------------------------- */

void grove__xq_init(grove__xq *q) {
  atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
  atomic_store_explicit(&q->head, &q->stub, memory_order_relaxed);
  q->tail = &q->stub;
}

static inline void xq_push(grove__xq *q, grove__xnode *n) {
  atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
  grove__xnode *prev = atomic_exchange_explicit(&q->head, n, memory_order_seq_cst);
  atomic_store_explicit(&prev->next, n, memory_order_release);
}

/* The hub's side: the oldest node, or NULL (empty, or a push in progress). */
static grove__xnode *xq_pop(grove__xq *q) {
  grove__xnode *tail = q->tail;
  grove__xnode *next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (tail == &q->stub) {
    if (!next)
      return NULL;
    q->tail = next;
    tail = next;
    next = atomic_load_explicit(&next->next, memory_order_acquire);
  }
  if (next) {
    q->tail = next;
    return tail;
  }
  if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
    return NULL; /* a push is half done */
  xq_push(q, &q->stub);
  next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (next) {
    q->tail = next;
    return tail;
  }
  return NULL;
}

size_t grove__hub_drain(grove_hub *hub) {
  size_t n = 0;
  grove__xnode *x;
  hub->head.stepping++; /* the hub's own context: nothing may block */
  while (n < DRAIN_BATCH && (x = xq_pop(&hub->xq)) != NULL) {
    n++;
    x->fn(x);
    if (GROVE__UNLIKELY(grove__turn_over(hub)))
      break;
  }
  hub->head.stepping--;
  return n;
}

void grove__hub_push(grove_hub *hub, grove__xnode *n) {
  xq_push(&hub->xq, n);
  /* Coalesced: only the push that finds the hub about to sleep signals. */
  uint32_t one = 1;
  if (atomic_load_explicit(&hub->xsleep, memory_order_seq_cst) == 1 &&
      atomic_compare_exchange_strong_explicit(&hub->xsleep, &one, 2, memory_order_seq_cst,
                                              memory_order_relaxed))
    uv_async_send(&hub->async);
}

bool grove__hub_may_sleep(grove_hub *hub, uint64_t wait_ns) {
  if (grove__xq_pending(&hub->xq))
    return false;
  uint64_t budget = hub->spin_ns < wait_ns ? hub->spin_ns : wait_ns;
  uint64_t start = uv_hrtime(), now = start;
  while (now - start < budget) {
    for (int i = 0; i < 32; i++) {
      if (grove__xq_pending(&hub->xq)) {
        hub->spin_ns = hub->spin_ns * 2 > SPIN_MAX ? SPIN_MAX : hub->spin_ns * 2;
        return false;
      }
      cpu_relax();
    }
    now = uv_hrtime();
  }
  /* Nothing came: spin a little less next time (slowly, so that one quiet
   * moment in a conversation does not end the spinning). */
  if (budget == hub->spin_ns)
    hub->spin_ns =
        hub->spin_ns - hub->spin_ns / 8 < SPIN_MIN ? SPIN_MIN : hub->spin_ns - hub->spin_ns / 8;
  atomic_store_explicit(&hub->xsleep, 1, memory_order_seq_cst);
  if (grove__xq_pending(&hub->xq)) {
    atomic_store_explicit(&hub->xsleep, 0, memory_order_seq_cst);
    return false;
  }
  return true;
}

void grove__hub_awake(grove_hub *hub) {
  /* Woken by another hub's push: a longer spin would have caught it
   * without the two system calls, so spin longer next time. Without this
   * a conversation whose spins once fell short (a preemption) would stay
   * in the slow regime, each side asleep whenever the other sends. */
  if (atomic_exchange_explicit(&hub->xsleep, 0, memory_order_seq_cst) == 2)
    hub->spin_ns = hub->spin_ns * 2 > SPIN_MAX ? SPIN_MAX : hub->spin_ns * 2;
}

/* ---- the table of hubs --------------------------------------------------------- */

typedef struct worker {
  pthread_t thread;
  size_t index;
  grove_hub *hub;
  int close_rc;
  double timeout;
  grove__xnode stop, close, stopped, closed; /* pushed to it / to hub 0 */
  int started_ok;
} worker;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static grove_hub *table[HUBS_MAX];
static _Atomic size_t table_n; /* 0: not started */
static worker *workers;
static size_t nworkers;
static grove_hub *hub0;
/* hub 0's side of start and stop (only touched on hub 0's thread) */
static size_t nreported;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cond = PTHREAD_COND_INITIALIZER;
static size_t nstarted;

grove_hub *grove__hub_at(size_t i) {
  size_t n = atomic_load_explicit(&table_n, memory_order_acquire);
  return i < n ? table[i] : NULL;
}

size_t grove__hub_index(const grove_hub *hub) { return hub ? hub->index : 0; }

grove_hub *grove__greenlet_hub(const grove_greenlet *g) { return g->hub; }

void grove__layer_set_stop(grove_hub *hub, int layer, void (*stop)(void *state, double timeout)) {
  if (hub && layer >= 0 && layer < GROVE__NLAYERS)
    hub->layer_stop[layer] = stop;
}

size_t grove_hub_count(void) {
  size_t n = atomic_load_explicit(&table_n, memory_order_acquire);
  return n ? n : 1;
}

size_t grove_hub_index(void) { return grove__tls_hub ? grove__tls_hub->index : 0; }

/* ---- tickets -------------------------------------------------------------------- */

enum { XW_PENDING = 0, XW_DONE = 1, XW_ABANDONED = 2 };

static void xwait_home(grove__xnode *n) {
  grove__xwait *w = grove__container_of(n, grove__xwait, node);
  w->answered = 1;
  grove_greenlet *g = w->g;
  if (g->state == GROVE__BLOCKED && g->token == w->token)
    grove__wake(g, 0);
}

void grove__xwait_prepare(grove__xwait *w, void (*drop)(grove__xwait *w)) {
  grove_hub *hub = grove__tls_hub;
  atomic_store_explicit(&w->state, XW_PENDING, memory_order_relaxed);
  w->home = hub;
  w->g = hub->head.current;
  static _Atomic uint64_t tokens = 1;
  w->token = atomic_fetch_add_explicit(&tokens, 1, memory_order_relaxed) | (1ull << 63);
  w->code = 0;
  w->answered = 0;
  w->drop = drop;
}

bool grove__xwait_done(grove__xwait *w, int code) {
  uint32_t pending = XW_PENDING;
  w->code = code;
  if (!atomic_compare_exchange_strong_explicit(&w->state, &pending, XW_DONE, memory_order_acq_rel,
                                               memory_order_acquire))
    return false;
  w->node.fn = xwait_home;
  grove__hub_push(w->home, &w->node);
  return true;
}

int grove__xwait_block(grove__xwait *w, uint64_t deadline, const char *what) {
  grove_hub *hub = w->home;
  grove_greenlet *g = w->g;
  uint64_t saved = g->token;
  while (!w->answered) {
    g->token = w->token;
    int rc = grove__wait_until(hub, NULL, deadline, what, w);
    g->token = saved;
    if (rc == 0)
      continue;
    if (w->answered)
      break;
    uint32_t pending = XW_PENDING;
    if (atomic_compare_exchange_strong_explicit(&w->state, &pending, XW_ABANDONED,
                                                memory_order_acq_rel, memory_order_acquire))
      return rc; /* the ticket is the other side's now */
    /* The other side answered first: its answer is on the way home (it
     * pushes right after it claims the ticket). Take it now. */
    while (!w->answered) {
      if (grove__hub_drain(hub) == 0)
        cpu_relax();
    }
  }
  return w->code;
}

/* ---- running work on another hub ------------------------------------------------ */

typedef struct run_req {
  grove__xwait w; /* first */
  grove_fn fn;
  void *arg;
  void *value;
  int wait; /* grove_hub_call_on: answer with the value */
} run_req;

static void run_req_drop(grove__xwait *w) { free(w); }

static void *run_body(void *p) {
  run_req *r = p;
  void *v = r->fn(r->arg);
  if (!r->wait) {
    free(r);
    return NULL;
  }
  r->value = v;
  if (!grove__xwait_done(&r->w, 0))
    free(r); /* the caller gave up: the value is dropped */
  return NULL;
}

static void run_arrive(grove__xnode *n) {
  run_req *r = grove__container_of(n, run_req, w.node);
  grove_greenlet *g = grove_spawn(run_body, r);
  if (g) {
    grove_greenlet_release(g);
    return;
  }
  if (!r->wait)
    free(r);
  else if (!grove__xwait_done(&r->w, GROVE_ENOMEM))
    free(r);
}

static int run_on(size_t index, grove_fn fn, void *arg, void **value, double timeout, int wait) {
  if (value)
    *value = NULL;
  if (!fn || isnan(timeout))
    return GROVE_EINVAL;
  grove_hub *target = grove__hub_at(index);
  if (!target && index == 0 && atomic_load(&table_n) == 0)
    target = grove__hub();
  if (!target)
    return GROVE_EINVAL;
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  uint64_t deadline = UINT64_MAX;
  if (wait) {
    int rc = grove__begin_wait(hub, timeout, &deadline);
    if (rc)
      return rc;
  }
  run_req *r = calloc(1, sizeof *r);
  if (!r)
    return GROVE_ENOMEM;
  r->fn = fn;
  r->arg = arg;
  r->wait = wait;
  if (!wait) {
    if (target == hub) {
      grove_greenlet *g = grove_spawn(run_body, r);
      if (!g) {
        free(r);
        return GROVE_ENOMEM;
      }
      grove_greenlet_release(g);
      return 0;
    }
    r->w.node.fn = run_arrive;
    grove__hub_push(target, &r->w.node);
    return 0;
  }
  grove__xwait_prepare(&r->w, run_req_drop);
  r->w.node.fn = run_arrive;
  if (target == hub)
    run_arrive(&r->w.node); /* through the home queue all the same */
  else
    grove__hub_push(target, &r->w.node);
  int rc = grove__xwait_block(&r->w, deadline, "grove_hub_call_on");
  if (rc == 0 || r->w.answered) {
    if (rc == 0 && value)
      *value = r->value;
    free(r);
    return rc;
  }
  return rc; /* the ticket belongs to the other hub now */
}

int grove_hub_run_on(size_t hub, grove_fn fn, void *arg) {
  return run_on(hub, fn, arg, NULL, GROVE_FOREVER, 0);
}

int grove_hub_call_on(size_t hub, grove_fn fn, void *arg, void **value, double timeout) {
  return run_on(hub, fn, arg, value, timeout, 1);
}

/* ---- starting and stopping -------------------------------------------------------- */

static void worker_stop_cb(grove__xnode *n) {
  worker *w = grove__container_of(n, worker, stop);
  w->hub->stop_req = 1;
  grove__wake(&w->hub->main, 0);
}

static void worker_close_cb(grove__xnode *n) {
  worker *w = grove__container_of(n, worker, close);
  w->hub->stop_req = 2;
  grove__wake(&w->hub->main, 0);
}

static grove_greenlet *stop_waiter; /* the greenlet in grove_hubs_stop */

/* A worker reports to hub 0 that it finished a phase. */
static void reported_cb(grove__xnode *n) {
  (void)n;
  nreported++;
  if (stop_waiter)
    grove__wake(stop_waiter, 0); /* nothing if it is not waiting */
}

static void *worker_main(void *arg) {
  worker *w = arg;
  grove_hub *hub = grove__hub_get();
  if (hub) {
    hub->index = w->index;
    hub->grouped = 1;
    hub->spin_ns = SPIN_START;
    grove_hub_hold();
    grove__probe_arm(hub); /* metrics may run already */
  }
  w->hub = hub;
  pthread_mutex_lock(&start_lock);
  w->started_ok = hub != NULL;
  nstarted++;
  pthread_cond_broadcast(&start_cond);
  pthread_mutex_unlock(&start_lock);
  if (!hub)
    return NULL;
  /* Phase 1: run until asked to stop, then stop the layers' work. */
  while (hub->stop_req < 1)
    grove__wait_until(hub, NULL, UINT64_MAX, "hub: running", NULL);
  for (int i = GROVE__NLAYERS - 1; i >= 0; i--) {
    void (*stop)(void *, double) = hub->layer_stop[i];
    if (stop && hub->head.layer_state[i])
      stop(hub->head.layer_state[i], w->timeout);
  }
  w->stopped.fn = reported_cb;
  grove__hub_push(hub0, &w->stopped);
  /* Phase 2: out of the table; take what is left, close. */
  while (hub->stop_req < 2)
    grove__wait_until(hub, NULL, UINT64_MAX, "hub: stopping", NULL);
  grove_hub_unhold();
  int rc = GROVE_EBUSY;
  for (int i = 0; i < 200; i++) {
    while (grove__hub_drain(hub) > 0)
      ;
    hub->grouped = 0;
    rc = grove__hub_close(0); /* tried again: logged below if it never closes */
    if (rc != GROVE_EBUSY)
      break;
    hub->grouped = 1;
    grove_sleep(i < 10 ? 0 : 0.001);
  }
  if (rc != 0 && grove_log_enabled(GROVE_LOG_WARN)) {
    char what[512];
    grove_hub_leftovers(what, sizeof what);
    grove_log_event ev = {.level = GROVE_LOG_WARN, .kind = GROVE_LOG_HUB_LEFTOVERS};
    grove__log(&ev, "hub %zu did not close cleanly: %s (%s); left: %s", w->index,
               grove_strerror(rc), grove_err_name(rc), what);
  }
  w->close_rc = rc;
  /* Told through hub 0's queue: hub 0 joins the thread once it has it. */
  w->closed.fn = reported_cb;
  grove__hub_push(hub0, &w->closed);
  return NULL;
}

static size_t online_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (size_t)n : 1;
}

int grove_hubs_start(size_t n) {
  grove_hub *hub = grove__hub();
  if (!hub)
    return GROVE_ENOMEM;
  if (n == 0)
    n = online_cpus();
  if (n > HUBS_MAX)
    return GROVE_EINVAL;
  pthread_mutex_lock(&table_lock);
  if (atomic_load(&table_n) != 0 || hub->index != 0 || hub->head.current == &hub->hub_g ||
      hub->head.stepping) {
    pthread_mutex_unlock(&table_lock);
    return atomic_load(&table_n) != 0 ? GROVE_EEXIST : GROVE_EPERM;
  }
  workers = calloc(n, sizeof *workers);
  if (!workers) {
    pthread_mutex_unlock(&table_lock);
    return GROVE_ENOMEM;
  }
  hub0 = hub;
  table[0] = hub;
  hub->index = 0;
  hub->spin_ns = SPIN_START;
  nstarted = 0;
  nworkers = 0;
  int rc = 0;
  for (size_t i = 1; i < n; i++) {
    worker *w = &workers[i];
    w->index = i;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
      rc = GROVE_ENOMEM;
      break;
    }
    nworkers = i;
  }
  pthread_mutex_lock(&start_lock);
  while (nstarted < nworkers)
    pthread_cond_wait(&start_cond, &start_lock);
  pthread_mutex_unlock(&start_lock);
  for (size_t i = 1; i <= nworkers; i++) {
    if (!workers[i].started_ok)
      rc = GROVE_ENOMEM;
    table[i] = workers[i].hub;
  }
  if (rc == 0) {
    hub->grouped = 1;
    grove_hub_hold();
    atomic_store_explicit(&table_n, n, memory_order_release);
  }
  pthread_mutex_unlock(&table_lock);
  if (rc != 0)
    grove_hubs_stop(0); /* the threads that did start */
  return rc;
}

/* Wait in the calling greenlet until `count` reports arrived. */
static void await_reports(grove_hub *hub, size_t count) {
  stop_waiter = hub->head.current;
  while (nreported < count) {
    while (grove__hub_drain(hub) > 0)
      ;
    if (nreported >= count)
      break;
    if (grove__cannot_block(hub, hub->head.current)) {
      sched_yield();
      continue;
    }
    grove__wait_until(hub, NULL, grove__deadline(hub, 0.01), "grove_hubs_stop", NULL);
  }
  stop_waiter = NULL;
}

int grove_hubs_stop(double timeout) {
  grove_hub *hub = grove__tls_hub;
  if (isnan(timeout))
    return GROVE_EINVAL;
  if (!workers)
    return 0;
  if (!hub || hub != hub0)
    return GROVE_EPERM;
  if (grove__cannot_block(hub, hub->head.current))
    return GROVE_EPERM;
  size_t nw = nworkers;
  /* Phase 1: every worker stops its actors (and the layers' work). */
  nreported = 0;
  for (size_t i = 1; i <= nw; i++) {
    workers[i].timeout = timeout;
    if (workers[i].hub) {
      workers[i].stop.fn = worker_stop_cb;
      grove__hub_push(workers[i].hub, &workers[i].stop);
    }
  }
  size_t alive = 0;
  for (size_t i = 1; i <= nw; i++)
    alive += workers[i].hub != NULL;
  await_reports(hub, alive);
  /* Phase 2: out of the table, then each drains and closes. */
  pthread_mutex_lock(&table_lock);
  atomic_store_explicit(&table_n, 0, memory_order_release);
  for (size_t i = 1; i <= nw; i++)
    table[i] = NULL;
  pthread_mutex_unlock(&table_lock);
  nreported = 0;
  for (size_t i = 1; i <= nw; i++) {
    if (workers[i].hub) {
      workers[i].close.fn = worker_close_cb;
      grove__hub_push(workers[i].hub, &workers[i].close);
    }
  }
  await_reports(hub, alive);
  int rc = 0;
  for (size_t i = 1; i <= nw; i++) {
    pthread_join(workers[i].thread, NULL);
    if (workers[i].hub && workers[i].close_rc && !rc)
      rc = workers[i].close_rc;
  }
  free(workers);
  workers = NULL;
  nworkers = 0;
  hub->grouped = 0;
  hub->spin_ns = 0;
  while (grove__hub_drain(hub) > 0)
    ;
  grove_hub_unhold();
  hub0 = NULL;
  table[0] = NULL;
  return rc;
}
