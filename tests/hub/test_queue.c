/* tests/hub/test_queue.c - the Queue family (gevent.queue): FIFO, LIFO,
 * priority, joinable and channel. */
#include "test.h"

#include <stdint.h>

static grove_queue *q;

static void release_all(grove_greenlet **g, int n) {
  for (int i = 0; i < n; i++)
    grove_greenlet_release(g[i]);
}

static void test_fifo_order(void) {
  q = grove_queue_new(0);
  CHECK(q != NULL);
  CHECK(grove_queue_empty(q));
  CHECK(!grove_queue_full(q));
  CHECK_EQ(grove_queue_maxsize(q), 0);
  for (int i = 1; i <= 5; i++)
    CHECK_EQ(grove_queue_put(q, IARG(i), GROVE_FOREVER), 0);
  CHECK_EQ(grove_queue_qsize(q), 5);
  CHECK(!grove_queue_empty(q));
  for (int i = 1; i <= 5; i++) {
    void *item = NULL;
    CHECK_EQ(grove_queue_get(q, &item, GROVE_FOREVER), 0);
    CHECK_EQ(IVAL(item), i);
  }
  CHECK(grove_queue_empty(q));
  /* NULL is a valid item. */
  CHECK_EQ(grove_queue_put_nowait(q, NULL), 0);
  void *item = IARG(1);
  CHECK_EQ(grove_queue_get_nowait(q, &item), 0);
  CHECK(item == NULL);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_nowait_forms(void) {
  q = grove_queue_new(2);
  void *item = IARG(-1);
  CHECK_EQ(grove_queue_get_nowait(q, &item), GROVE_EEMPTY);
  CHECK_EQ(grove_queue_peek_nowait(q, &item), GROVE_EEMPTY);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(1)), 0);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(2)), 0);
  CHECK(grove_queue_full(q));
  CHECK_EQ(grove_queue_maxsize(q), 2);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(3)), GROVE_EFULL);
  CHECK_EQ(grove_queue_qsize(q), 2);
  CHECK_EQ(grove_queue_get_nowait(q, &item), 0);
  CHECK_EQ(IVAL(item), 1);
  CHECK(!grove_queue_full(q));
  CHECK_EQ(grove_queue_get_nowait(q, &item), 0);
  CHECK_EQ(IVAL(item), 2);
  CHECK_EQ(grove_queue_get_nowait(q, &item), GROVE_EEMPTY);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_put_get_timeouts(void) {
  q = grove_queue_new(1);
  void *item;
  double t0 = test_now();
  CHECK_EQ(grove_queue_get(q, &item, 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK_EQ(grove_queue_get(q, &item, 0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_queue_peek(q, &item, 0.01), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_queue_put(q, IARG(1), 0), 0);
  t0 = test_now();
  CHECK_EQ(grove_queue_put(q, IARG(2), 0.05), GROVE_ETIMEDOUT);
  dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK_EQ(grove_queue_put(q, IARG(2), 0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_queue_qsize(q), 1);
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  CHECK_EQ(IVAL(item), 1);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void *getter(void *arg) {
  void *item = NULL;
  int rc = grove_queue_get(q, &item, GROVE_FOREVER);
  test_log("g%d=%s", IVAL(arg), rc == 0 ? (const char *)item : grove_err_name(rc));
  return NULL;
}

/* gevent: three blocked getters, then put a, b, c: "put2 g1=a g2=b g3=c". */
static void test_getters_served_fifo(void) {
  q = grove_queue_new(0);
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(getter, IARG(i + 1));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_queue_put(q, "a", GROVE_FOREVER), 0);
  CHECK_EQ(grove_queue_put(q, "b", GROVE_FOREVER), 0);
  test_log("put2");
  CHECK_EQ(grove_queue_put(q, "c", GROVE_FOREVER), 0);
  CHECK_EQ(grove_joinall(g, 3, GROVE_FOREVER), 0);
  CHECK_LOG("put2 g1=a g2=b g3=c");
  CHECK(grove_queue_empty(q));
  release_all(g, 3);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void *putter(void *arg) {
  test_log("p%d", IVAL(arg));
  int rc = grove_queue_put(q, arg, GROVE_FOREVER);
  test_log("p%d%s", IVAL(arg), rc == 0 ? "done" : grove_err_name(rc));
  return NULL;
}

/* gevent: Queue(1) holding 0, three blocked putters, then four gets:
 * "p1 p2 p3 get=0 p1done get=1 p2done get=2 p3done get=3" (a woken putter
 * completes its own put before the getter's next get finds the item). */
static void test_bounded_putters_served_fifo(void) {
  q = grove_queue_new(1);
  CHECK_EQ(grove_queue_put(q, IARG(0), 0), 0);
  grove_greenlet *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = grove_spawn(putter, IARG(i + 1));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK(grove_queue_full(q));
  for (int i = 0; i < 4; i++) {
    void *item = IARG(-1);
    CHECK_EQ(grove_queue_get(q, &item, 2.0), 0);
    test_log("get=%d", IVAL(item));
  }
  CHECK_EQ(grove_joinall(g, 3, GROVE_FOREVER), 0);
  CHECK_LOG("p1 p2 p3 get=0 p1done get=1 p2done get=2 p3done get=3");
  release_all(g, 3);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_get_nowait_frees_blocked_putter(void) {
  q = grove_queue_new(1);
  CHECK_EQ(grove_queue_put(q, IARG(0), 0), 0);
  grove_greenlet *g = grove_spawn(putter, IARG(1));
  CHECK_EQ(grove_sleep(0), 0);
  void *item = NULL;
  CHECK_EQ(grove_queue_get_nowait(q, &item), 0);
  CHECK_EQ(IVAL(item), 0);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_EQ(grove_queue_qsize(q), 1);
  CHECK_EQ(grove_queue_get_nowait(q, &item), 0);
  CHECK_EQ(IVAL(item), 1);
  CHECK_LOG("p1 p1done");
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void *timed_getter(void *arg) {
  void *item = NULL;
  int rc = grove_queue_get(q, &item, 5.0);
  test_log("g=%s:%d", grove_err_name(rc), IVAL(item));
  return NULL;
}

static void test_timed_getter_gets_item(void) {
  q = grove_queue_new(0);
  grove_greenlet *g = grove_spawn(timed_getter, NULL);
  CHECK_EQ(grove_sleep(0.01), 0);
  double t0 = test_now();
  CHECK_EQ(grove_queue_put(q, IARG(4), 0), 0);
  CHECK_EQ(grove_join(g, GROVE_FOREVER), 0);
  CHECK(test_now() - t0 < 2.0);
  CHECK_LOG("g=GROVE_OK:4");
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void *peeker(void *arg) {
  void *item = NULL;
  int rc = grove_queue_peek(q, &item, GROVE_FOREVER);
  test_log("peek=%s:%d", grove_err_name(rc), IVAL(item));
  return NULL;
}

/* gevent: a blocked peek() wakes on put and leaves the item: "put peek=5
 * qsize=1". */
static void test_peek(void) {
  q = grove_queue_new(0);
  grove_greenlet *g = grove_spawn(peeker, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_queue_put(q, IARG(5), 0), 0);
  test_log("put");
  CHECK_EQ(grove_join(g, 1.0), 0);
  test_log("qsize=%zu", grove_queue_qsize(q));
  CHECK_LOG("put peek=GROVE_OK:5 qsize=1");
  CHECK_EQ(grove_queue_put(q, IARG(6), 0), 0);
  void *item = NULL;
  CHECK_EQ(grove_queue_peek(q, &item, 0), 0);
  CHECK_EQ(IVAL(item), 5);
  CHECK_EQ(grove_queue_peek_nowait(q, &item), 0);
  CHECK_EQ(IVAL(item), 5);
  CHECK_EQ(grove_queue_qsize(q), 2);
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  CHECK_EQ(IVAL(item), 5);
  CHECK_EQ(grove_queue_peek_nowait(q, &item), 0);
  CHECK_EQ(IVAL(item), 6);
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_unbounded(void) {
  enum { N = 10000 };
  q = grove_queue_new(0);
  double t0 = test_now();
  for (int i = 0; i < N; i++)
    CHECK_EQ(grove_queue_put(q, IARG(i), 0), 0);
  CHECK(test_now() - t0 < 2.0);
  CHECK_EQ(grove_queue_qsize(q), N);
  CHECK(!grove_queue_full(q));
  int bad = 0;
  for (int i = 0; i < N; i++) {
    void *item = NULL;
    if (grove_queue_get_nowait(q, &item) != 0 || IVAL(item) != i)
      bad++;
  }
  CHECK_EQ(bad, 0);
  CHECK(grove_queue_empty(q));
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_lifo(void) {
  q = grove_lifo_queue_new(0);
  for (int i = 1; i <= 3; i++)
    CHECK_EQ(grove_queue_put(q, IARG(i), 0), 0);
  void *item = NULL;
  CHECK_EQ(grove_queue_peek_nowait(q, &item), 0);
  CHECK_EQ(IVAL(item), 3);
  for (int i = 3; i >= 1; i--) {
    CHECK_EQ(grove_queue_get(q, &item, 0), 0);
    CHECK_EQ(IVAL(item), i);
  }
  CHECK_EQ(grove_queue_get_nowait(q, &item), GROVE_EEMPTY);
  CHECK_EQ(grove_queue_free(q), 0);

  /* A bounded LIFO blocks putters like any queue. */
  q = grove_lifo_queue_new(2);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(1)), 0);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(2)), 0);
  CHECK(grove_queue_full(q));
  CHECK_EQ(grove_queue_put_nowait(q, IARG(3)), GROVE_EFULL);
  grove_greenlet *g = grove_spawn(putter, IARG(3));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  CHECK_EQ(IVAL(item), 2);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  CHECK_EQ(IVAL(item), 3);
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  CHECK_EQ(IVAL(item), 1);
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_free(q), 0);
}

/* gevent: PriorityQueue of ints 5 1 4 1 3 9 2 6 -> 1 1 2 3 4 5 6 9. */
static void test_priority_default_cmp(void) {
  q = grove_priority_queue_new(0, NULL);
  static const int in[] = {5, 1, 4, 1, 3, 9, 2, 6};
  static const int out[] = {1, 1, 2, 3, 4, 5, 6, 9};
  for (int i = 0; i < 8; i++)
    CHECK_EQ(grove_queue_put(q, IARG(in[i]), 0), 0);
  for (int i = 0; i < 8; i++) {
    void *item = NULL;
    CHECK_EQ(grove_queue_get(q, &item, 0), 0);
    CHECK_EQ(IVAL(item), out[i]);
  }
  /* Pointers compare as signed integers. */
  CHECK_EQ(grove_queue_put(q, IARG(-3), 0), 0);
  CHECK_EQ(grove_queue_put(q, IARG(2), 0), 0);
  CHECK_EQ(grove_queue_put(q, IARG(-10), 0), 0);
  void *item = NULL;
  CHECK_EQ(grove_queue_peek_nowait(q, &item), 0);
  CHECK_EQ(IVAL(item), -10);
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  CHECK_EQ(IVAL(item), -10);
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  CHECK_EQ(IVAL(item), -3);
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  CHECK_EQ(IVAL(item), 2);
  CHECK_EQ(grove_queue_free(q), 0);
}

typedef struct {
  int key;
  char tag;
} prio_item;

static int prio_cmp(const void *a, const void *b) {
  const prio_item *x = a, *y = b;
  return (x->key > y->key) - (x->key < y->key);
}

static prio_item prio_items[] = {{1, 'a'}, {1, 'b'}, {0, 'c'}, {1, 'd'},
                                 {2, 'e'}, {1, 'f'}, {0, 'g'}, {1, 'h'}};

static void prio_get_log(int n) {
  for (int i = 0; i < n; i++) {
    void *item = NULL;
    CHECK_EQ(grove_queue_get_nowait(q, &item), 0);
    if (item)
      test_log("%d%c", ((prio_item *)item)->key, ((prio_item *)item)->tag);
  }
}

/* gevent (heapq, items comparing on key only): putting 1a 1b 0c 1d 2e 1f 0g 1h
 * gets "0c 0g 1a 1f 1h 1b 1d 2e"; putting five, getting two, putting three,
 * getting six gets "0c 1a 0g 1h 1b 1f 1d 2e". */
static void test_priority_cmp_ties_like_heapq(void) {
  q = grove_priority_queue_new(0, prio_cmp);
  for (int i = 0; i < 8; i++)
    CHECK_EQ(grove_queue_put_nowait(q, &prio_items[i]), 0);
  prio_get_log(8);
  CHECK_LOG("0c 0g 1a 1f 1h 1b 1d 2e");
  CHECK(grove_queue_empty(q));
  test_log_reset();
  for (int i = 0; i < 5; i++)
    CHECK_EQ(grove_queue_put_nowait(q, &prio_items[i]), 0);
  prio_get_log(2);
  for (int i = 5; i < 8; i++)
    CHECK_EQ(grove_queue_put_nowait(q, &prio_items[i]), 0);
  prio_get_log(6);
  CHECK_LOG("0c 1a 0g 1h 1b 1f 1d 2e");
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_priority_bounded_and_getter(void) {
  q = grove_priority_queue_new(2, NULL);
  grove_greenlet *g = grove_spawn(timed_getter, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_queue_put(q, IARG(9), 0), 0);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("g=GROVE_OK:9");
  CHECK_EQ(grove_queue_put_nowait(q, IARG(3)), 0);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(1)), 0);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(2)), GROVE_EFULL);
  void *item = NULL;
  CHECK_EQ(grove_queue_get_nowait(q, &item), 0);
  CHECK_EQ(IVAL(item), 1);
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void *worker(void *arg) {
  for (;;) {
    void *item = NULL;
    if (grove_queue_get(q, &item, GROVE_FOREVER) != 0)
      return IARG(-1);
    if (item == NULL) {
      CHECK_EQ(grove_queue_task_done(q), 0);
      return NULL;
    }
    CHECK_EQ(grove_sleep(0.01), 0);
    test_log("done%d", IVAL(item));
    CHECK_EQ(grove_queue_task_done(q), 0);
  }
}

/* gevent: JoinableQueue, a worker that sleeps per item, join() returns after
 * the last task_done: "done1 done2 done3 joined". */
static void test_joinable(void) {
  q = grove_joinable_queue_new(0);
  CHECK_EQ(grove_queue_unfinished_tasks(q), 0);
  CHECK_EQ(grove_queue_join(q, 0), 0); /* nothing to wait for */
  grove_greenlet *w = grove_spawn(worker, NULL);
  for (int i = 1; i <= 3; i++)
    CHECK_EQ(grove_queue_put(q, IARG(i), 0), 0);
  CHECK_EQ(grove_queue_put(q, NULL, 0), 0);
  CHECK_EQ(grove_queue_unfinished_tasks(q), 4);
  CHECK_EQ(grove_queue_join(q, 0.001), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_queue_join(q, 5.0), 0);
  test_log("joined");
  CHECK_EQ(grove_queue_unfinished_tasks(q), 0);
  CHECK_EQ(grove_join(w, 1.0), 0);
  CHECK_LOG("done1 done2 done3 joined");
  grove_greenlet_release(w);
  /* Nobody waits on q any more: it can be freed. */
  int rc = grove_queue_free(q);
  CHECK_EQ(rc, 0);
  if (rc == GROVE_EBUSY) { /* keep a failure here from leaking into later cases */
    grove_sleep(0.01);
    grove_queue_free(q);
  }
}

static void test_joinable_task_done_overflow(void) {
  q = grove_joinable_queue_new(0);
  CHECK_EQ(grove_queue_task_done(q), GROVE_EOVERFLOW);
  CHECK_EQ(grove_queue_put(q, IARG(1), 0), 0);
  void *item;
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  CHECK_EQ(grove_queue_unfinished_tasks(q), 1); /* get does not finish a task */
  CHECK_EQ(grove_queue_task_done(q), 0);
  CHECK_EQ(grove_queue_task_done(q), GROVE_EOVERFLOW);
  CHECK_EQ(grove_queue_unfinished_tasks(q), 0);
  CHECK_EQ(grove_queue_join(q, 0), 0);
  CHECK_EQ(grove_queue_free(q), 0);

  /* task_done on a queue that is not joinable. */
  q = grove_queue_new(0);
  CHECK_EQ(grove_queue_put(q, IARG(1), 0), 0);
  CHECK_EQ(grove_queue_task_done(q), GROVE_EINVAL);
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void *queue_joiner(void *arg) {
  int rc = grove_queue_join(q, GROVE_FOREVER);
  test_log("j%d=%s", IVAL(arg), grove_err_name(rc));
  return NULL;
}

static void test_joinable_many_joiners(void) {
  q = grove_joinable_queue_new(1);
  CHECK_EQ(grove_queue_put(q, IARG(1), 0), 0);
  grove_greenlet *g[2] = {grove_spawn(queue_joiner, IARG(1)), grove_spawn(queue_joiner, IARG(2))};
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_queue_free(q), GROVE_EBUSY);
  void *item;
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_LOG(""); /* getting is not finishing */
  CHECK_EQ(grove_queue_task_done(q), 0);
  CHECK_EQ(grove_joinall(g, 2, 1.0), 0);
  CHECK_LOG("j1=GROVE_OK j2=GROVE_OK");
  release_all(g, 2);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void *chan_putter(void *arg) {
  test_log("put");
  int rc = grove_queue_put(q, arg, GROVE_FOREVER);
  test_log("putdone=%s", grove_err_name(rc));
  return NULL;
}

static void *chan_getter(void *arg) {
  test_log("get");
  void *item = NULL;
  int rc = grove_queue_get(q, &item, GROVE_FOREVER);
  test_log("got=%s:%d", grove_err_name(rc), IVAL(item));
  return NULL;
}

/* gevent: Channel rendezvous, either side first: "put get got1 putdone" and
 * "get put got1 putdone" (the getter resumes before the putter). */
static void test_channel_rendezvous(void) {
  q = grove_channel_new();
  CHECK(q != NULL);
  CHECK_EQ(grove_queue_qsize(q), 0);
  CHECK(grove_queue_full(q));
  CHECK(grove_queue_empty(q));
  grove_greenlet *g[2] = {grove_spawn(chan_putter, IARG(1)), grove_spawn(chan_getter, NULL)};
  CHECK_EQ(grove_joinall(g, 2, 2.0), 0);
  CHECK_LOG("put get got=GROVE_OK:1 putdone=GROVE_OK");
  release_all(g, 2);
  test_log_reset();
  g[0] = grove_spawn(chan_getter, NULL);
  g[1] = grove_spawn(chan_putter, IARG(1));
  CHECK_EQ(grove_joinall(g, 2, 2.0), 0);
  CHECK_LOG("get put got=GROVE_OK:1 putdone=GROVE_OK");
  release_all(g, 2);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_channel_put_blocks_until_taken(void) {
  q = grove_channel_new();
  /* No getter: put times out, put_nowait is "full", get_nowait "empty". */
  double t0 = test_now();
  CHECK_EQ(grove_queue_put(q, IARG(1), 0.05), GROVE_ETIMEDOUT);
  double dt = test_now() - t0;
  CHECK(dt >= 0.04 && dt < 2.0);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(1)), GROVE_EFULL);
  void *item = NULL;
  CHECK_EQ(grove_queue_get_nowait(q, &item), GROVE_EEMPTY);
  CHECK_EQ(grove_queue_get(q, &item, 0.01), GROVE_ETIMEDOUT);
  /* A timed-out put left nothing behind. */
  CHECK_EQ(grove_queue_qsize(q), 0);
  grove_greenlet *g = grove_spawn(chan_getter, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_LOG("get");
  CHECK_EQ(grove_queue_put(q, IARG(2), 2.0), 0);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("get got=GROVE_OK:2");
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void *chan_getter_n(void *arg) {
  void *item = NULL;
  int rc = grove_queue_get(q, &item, GROVE_FOREVER);
  test_log("got%d=%s:%d", IVAL(arg), grove_err_name(rc), IVAL(item));
  return NULL;
}

static void test_channel_nowait_with_waiting_peer(void) {
  q = grove_channel_new();
  grove_greenlet *g[2] = {grove_spawn(chan_getter_n, IARG(1)), grove_spawn(chan_getter_n, IARG(2))};
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(10)), 0);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(20)), 0);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(30)), GROVE_EFULL); /* no getter left */
  CHECK_EQ(grove_joinall(g, 2, 1.0), 0);
  CHECK_LOG("got1=GROVE_OK:10 got2=GROVE_OK:20");
  release_all(g, 2);
  test_log_reset();

  /* gevent: blocked putters 1, 2; get_nowait takes 1, get takes 2. */
  g[0] = grove_spawn(putter, IARG(1));
  g[1] = grove_spawn(putter, IARG(2));
  CHECK_EQ(grove_sleep(0), 0);
  void *item = NULL;
  CHECK_EQ(grove_queue_get_nowait(q, &item), 0);
  CHECK_EQ(IVAL(item), 1);
  CHECK_EQ(grove_queue_get(q, &item, 1.0), 0);
  CHECK_EQ(IVAL(item), 2);
  CHECK_EQ(grove_joinall(g, 2, 1.0), 0);
  CHECK(strstr(test_log_buf, "p1done") != NULL);
  CHECK(strstr(test_log_buf, "p2done") != NULL);
  release_all(g, 2);
  CHECK_EQ(grove_queue_free(q), 0);
}

/* A timeout of 0 polls: on a channel it succeeds when the partner is already
 * waiting (gevent: Channel.put(x, timeout=0) hands the item to a waiting
 * getter), and times out at once otherwise. */
static void test_channel_poll_timeout_zero(void) {
  q = grove_channel_new();
  void *item = NULL;
  CHECK_EQ(grove_queue_put(q, IARG(1), 0), GROVE_ETIMEDOUT);
  CHECK_EQ(grove_queue_get(q, &item, 0), GROVE_ETIMEDOUT);
  grove_greenlet *g = grove_spawn(chan_getter_n, IARG(1));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_queue_put(q, IARG(7), 0), 0);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("got1=GROVE_OK:7");
  grove_greenlet_release(g);
  g = grove_spawn(putter, IARG(3));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  CHECK_EQ(IVAL(item), 3);
  CHECK_EQ(grove_join(g, 1.0), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_free_with_waiters_busy(void) {
  q = grove_queue_new(0);
  grove_greenlet *g = grove_spawn(getter, IARG(1));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_queue_free(q), GROVE_EBUSY);
  CHECK_EQ(grove_queue_put(q, "x", 0), 0);
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("g1=x");
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_free(q), 0);

  /* Blocked putters count too. */
  q = grove_queue_new(1);
  CHECK_EQ(grove_queue_put(q, IARG(0), 0), 0);
  g = grove_spawn(putter, IARG(1));
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_queue_free(q), GROVE_EBUSY);
  CHECK_EQ(grove_kill(g, 1.0), 0);
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_qsize(q), 1); /* the killed putter put nothing */
  CHECK_EQ(grove_queue_free(q), 0);

  /* Items left in a queue do not prevent freeing. */
  q = grove_queue_new(0);
  CHECK_EQ(grove_queue_put(q, IARG(1), 0), 0);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_killed_getter_takes_nothing(void) {
  q = grove_queue_new(0);
  grove_greenlet *g[2] = {grove_spawn(getter, IARG(1)), grove_spawn(getter, IARG(2))};
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_kill(g[0], 1.0), 0);
  CHECK_EQ(grove_queue_put(q, "y", 0), 0);
  CHECK_EQ(grove_joinall(g, 2, 1.0), 0);
  CHECK_LOG("g1=GROVE_ECANCELED g2=y");
  release_all(g, 2);
  CHECK_EQ(grove_queue_free(q), 0);
}

static void test_invalid(void) {
  void *item;
  CHECK_EQ(grove_queue_put(NULL, NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_queue_get(NULL, &item, 0), GROVE_EINVAL);
  CHECK_EQ(grove_queue_peek(NULL, &item, 0), GROVE_EINVAL);
  CHECK_EQ(grove_queue_put_nowait(NULL, NULL), GROVE_EINVAL);
  CHECK_EQ(grove_queue_get_nowait(NULL, &item), GROVE_EINVAL);
  CHECK_EQ(grove_queue_peek_nowait(NULL, &item), GROVE_EINVAL);
  CHECK_EQ(grove_queue_task_done(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_queue_join(NULL, 0), GROVE_EINVAL);
  CHECK_EQ(grove_queue_free(NULL), GROVE_EINVAL);
}

/* ---- timeout 0 and a channel's _nowait forms, checked against gevent ---- */

static void *z_put7(void *arg) {
  test_log("put");
  CHECK_EQ(grove_queue_put(q, IARG(7), GROVE_FOREVER), 0);
  return arg;
}
static void *z_get(void *arg) {
  void *item = NULL;
  int rc = grove_queue_get(q, &item, GROVE_FOREVER);
  test_log("got=%s:%d", grove_err_name(rc), IVAL(item));
  return arg;
}
static void *z_other(void *arg) {
  test_log("other");
  return arg;
}

/* gevent: spawn(putter); q.get(timeout=0) -> 7 (put runs during the turn);
 * get_nowait -> Empty without switching. A full Queue(1): spawn(getter);
 * q.put(2, timeout=0) -> the getter makes room: ok. */
static void test_queue_timeout_zero_yields(void) {
  q = grove_queue_new(0);
  grove_greenlet *g = grove_spawn(z_put7, NULL);
  void *item = NULL;
  CHECK_EQ(grove_queue_get(q, &item, 0), 0);
  test_log("get=%d", IVAL(item));
  CHECK_LOG("put get=7");
  grove_greenlet_release(g);
  test_log_reset();
  g = grove_spawn(z_put7, NULL);
  CHECK_EQ(grove_queue_get_nowait(q, &item), GROVE_EEMPTY);
  test_log("empty");
  CHECK_EQ(grove_join(g, 1.0), 0);
  CHECK_LOG("empty put");
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_get_nowait(q, &item), 0);
  CHECK_EQ(grove_queue_free(q), 0);

  test_log_reset();
  q = grove_queue_new(1);
  CHECK_EQ(grove_queue_put(q, IARG(1), 0), 0);
  g = grove_spawn(z_get, NULL);
  CHECK_EQ(grove_queue_put(q, IARG(2), 0), 0);
  test_log("size=%zu", grove_queue_qsize(q));
  CHECK_LOG("got=GROVE_OK:1 size=1");
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_get_nowait(q, &item), 0);
  CHECK_EQ(IVAL(item), 2);
  CHECK_EQ(grove_queue_free(q), 0);
}

/* gevent: a getter waits on a Channel; put_nowait(5) switches, the getter
 * runs with 5 first, then the putter resumes. With no getter, put_nowait
 * yields once (the others run) and raises Full. */
static void test_channel_put_nowait_switches(void) {
  q = grove_channel_new();
  grove_greenlet *g = grove_spawn(z_get, NULL);
  CHECK_EQ(grove_sleep(0), 0);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(5)), 0);
  test_log("put_nowait ok");
  CHECK_LOG("got=GROVE_OK:5 put_nowait ok");
  grove_greenlet_release(g);
  test_log_reset();
  g = grove_spawn(z_other, NULL);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(5)), GROVE_EFULL);
  test_log("full");
  CHECK_LOG("other full");
  grove_greenlet_release(g);
  CHECK_EQ(grove_queue_free(q), 0);
}

/* gevent: with Timeout(0): channel.get_nowait() raises the scope's Timeout,
 * not Empty (put_nowait likewise, not Full): the _nowait form is a get with
 * a timeout of 0, and the scope's timer, armed first, fires first in the
 * poll. Outside a scope it is Empty. (Found by the fidelity sweep.) */
static void test_channel_nowait_in_expiring_scope(void) {
  q = grove_channel_new();
  void *x;
  grove_timeout *t = grove_timeout_start(0);
  CHECK_EQ(grove_queue_get_nowait(q, &x), GROVE_ETIMEDOUT);
  CHECK(grove_timeout_expired(t));
  grove_timeout_cancel(t);
  t = grove_timeout_start(0);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(1)), GROVE_ETIMEDOUT);
  CHECK(grove_timeout_expired(t));
  grove_timeout_cancel(t);
  CHECK_EQ(grove_queue_get_nowait(q, &x), GROVE_EEMPTY);
  CHECK_EQ(grove_queue_put_nowait(q, IARG(1)), GROVE_EFULL);
  CHECK_EQ(grove_queue_free(q), 0);
}

TEST_MAIN(TEST(test_fifo_order), TEST(test_nowait_forms), TEST(test_put_get_timeouts),
          TEST(test_getters_served_fifo), TEST(test_bounded_putters_served_fifo),
          TEST(test_get_nowait_frees_blocked_putter), TEST(test_timed_getter_gets_item),
          TEST(test_peek), TEST(test_unbounded), TEST(test_lifo), TEST(test_priority_default_cmp),
          TEST(test_priority_cmp_ties_like_heapq), TEST(test_priority_bounded_and_getter),
          TEST(test_joinable), TEST(test_joinable_task_done_overflow),
          TEST(test_joinable_many_joiners), TEST(test_channel_rendezvous),
          TEST(test_channel_put_blocks_until_taken), TEST(test_channel_nowait_with_waiting_peer),
          TEST(test_channel_poll_timeout_zero), TEST(test_free_with_waiters_busy),
          TEST(test_killed_getter_takes_nothing), TEST(test_invalid),
          TEST(test_queue_timeout_zero_yields), TEST(test_channel_put_nowait_switches),
          TEST(test_channel_nowait_in_expiring_scope))
