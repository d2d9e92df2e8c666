/* tests/hub/test_log.c - the logger (grove/log.h) and what grove_hub_close
 * says when it refuses: the hook and its user pointer, the threshold
 * (levels, off, GROVE_LOG from the environment: the same program is run
 * again by ctest with GROVE_LOG=off and GROVE_LOG=debug), the default stderr
 * logger, recursion from the hook, the hook called from several hubs'
 * threads at once, and grove_hub_counts_get / grove_hub_leftovers with a
 * deliberately leaked object of each kind. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

/* ---- a capturing hook -------------------------------------------------------------- */

#define CAP_MAX 32
typedef struct captured {
  int n;
  grove_log_level level[CAP_MAX];
  grove_log_kind kind[CAP_MAX];
  char text[CAP_MAX][256];
  void *user;
} captured;

static void capture(const grove_log_event *ev, void *user) {
  captured *c = user;
  c->user = user;
  if (c->n < CAP_MAX) {
    c->level[c->n] = ev->level;
    c->kind[c->n] = ev->kind;
    snprintf(c->text[c->n], sizeof c->text[0], "%s", ev->text);
  }
  c->n++;
}

/* Run with GROVE_LOG set by ctest: the environment decides the threshold
 * (this case runs first, before anything set the level). */
static void test_env_threshold(void) {
  const char *env = getenv("GROVE_LOG");
  grove_log_level want = GROVE_LOG_INFO;
  if (env && strcmp(env, "off") == 0)
    want = GROVE_LOG_OFF;
  else if (env && strcmp(env, "debug") == 0)
    want = GROVE_LOG_DEBUG;
  CHECK_EQ(grove_log_level_get(), want);
  captured c = {0};
  grove_log_hook(capture, &c);
  grove_logf(GROVE_LOG_ERROR, "an error");
  grove_logf(GROVE_LOG_DEBUG, "a detail");
  CHECK_EQ(c.n, want == GROVE_LOG_OFF ? 0 : want == GROVE_LOG_DEBUG ? 2 : 1);
  grove_log_hook(NULL, NULL);
}

static void test_hook_levels(void) {
  captured c = {0};
  grove_log_hook(capture, &c);
  CHECK_EQ(grove_log_set_level(GROVE_LOG_WARN), 0);
  CHECK_EQ(grove_log_level_get(), GROVE_LOG_WARN);
  CHECK(grove_log_enabled(GROVE_LOG_ERROR));
  CHECK(grove_log_enabled(GROVE_LOG_WARN));
  CHECK(!grove_log_enabled(GROVE_LOG_INFO));
  CHECK(!grove_log_enabled(GROVE_LOG_OFF)); /* not a level an event can have */
  grove_logf(GROVE_LOG_ERROR, "e %d", 1);
  grove_logf(GROVE_LOG_WARN, "w %s", "two");
  grove_logf(GROVE_LOG_INFO, "i");
  grove_logf(GROVE_LOG_DEBUG, "d");
  CHECK_EQ(c.n, 2);
  CHECK(c.user == &c);
  CHECK_EQ(c.level[0], GROVE_LOG_ERROR);
  CHECK_EQ(c.kind[0], GROVE_LOG_TEXT);
  CHECK_STR(c.text[0], "e 1");
  CHECK_STR(c.text[1], "w two");
  /* an event of the caller's own, with fields */
  grove_log_event ev = {.level = GROVE_LOG_WARN, .kind = GROVE_LOG_DROP, .text = "mine"};
  grove_log_emit(&ev);
  grove_log_emit(NULL);
  CHECK_EQ(c.n, 3);
  CHECK_EQ(c.kind[2], GROVE_LOG_DROP);
  CHECK_STR(c.text[2], "mine");
  /* one switch silences everything */
  CHECK_EQ(grove_log_set_level(GROVE_LOG_OFF), 0);
  grove_logf(GROVE_LOG_ERROR, "nothing");
  grove_log_emit(&ev);
  CHECK_EQ(c.n, 3);
  CHECK_EQ(grove_log_set_level((grove_log_level)7), GROVE_EINVAL);
  CHECK_EQ(grove_log_level_get(), GROVE_LOG_OFF);
  CHECK_EQ(grove_log_set_level(GROVE_LOG_INFO), 0);
  grove_log_hook(NULL, NULL);
  CHECK_STR(grove_log_level_name(GROVE_LOG_WARN), "warn");
  CHECK_STR(grove_log_kind_name(GROVE_LOG_ACTOR_CRASHED), "actor_crashed");
  CHECK_STR(grove_log_kind_name((grove_log_kind)99), "?");
}

/* The default logger: one "grove: <text>\n" line on stderr (fd 2 is
 * pointed at a pipe for the case). */
static void test_default_stderr(void) {
  int p[2];
  CHECK_EQ(pipe(p), 0);
  int saved = dup(2);
  dup2(p[1], 2);
  grove_logf(GROVE_LOG_ERROR, "to stderr %d", 42);
  grove_log_event ev = {.level = GROVE_LOG_ERROR, .text = "plain"};
  grove_log_stderr(&ev, NULL);
  dup2(saved, 2);
  close(saved);
  close(p[1]);
  char buf[256] = "";
  ssize_t k = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  CHECK(k > 0);
  buf[k > 0 ? k : 0] = 0;
  CHECK_STR(buf, "grove: to stderr 42\ngrove: plain\n");
}

/* A hook that logs: the inner event goes to the default logger, not back
 * into the hook. */
static int reentered;
static void reentrant(const grove_log_event *ev, void *user) {
  (*(int *)user)++;
  if (strcmp(ev->text, "outer") == 0)
    grove_logf(GROVE_LOG_ERROR, "inner");
  else
    reentered++;
}

static void test_hook_reentry(void) {
  int calls = 0;
  reentered = 0;
  grove_log_hook(reentrant, &calls);
  int p[2];
  CHECK_EQ(pipe(p), 0);
  int saved = dup(2);
  dup2(p[1], 2);
  grove_logf(GROVE_LOG_ERROR, "outer");
  dup2(saved, 2);
  close(saved);
  close(p[1]);
  char buf[128] = "";
  ssize_t k = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  buf[k > 0 ? k : 0] = 0;
  grove_log_hook(NULL, NULL);
  CHECK_EQ(calls, 1);
  CHECK_EQ(reentered, 0);
  CHECK_STR(buf, "grove: inner\n");
}

/* Hubs on several threads log at once while the hook is swapped: every
 * event reaches exactly one of the hooks, none is torn. */
static atomic_int seen_a, seen_b, torn;
static void hook_a(const grove_log_event *ev, void *user) {
  atomic_fetch_add(&seen_a, 1);
  if ((intptr_t)user != 1 || strncmp(ev->text, "thread ", 7) != 0)
    atomic_fetch_add(&torn, 1);
}
static void hook_b(const grove_log_event *ev, void *user) {
  atomic_fetch_add(&seen_b, 1);
  if ((intptr_t)user != 2 || strncmp(ev->text, "thread ", 7) != 0)
    atomic_fetch_add(&torn, 1);
}

#define NTHREADS 4
#define PER_THREAD 2000
static void *log_thread(void *arg) {
  for (int i = 0; i < PER_THREAD; i++) {
    grove_logf(GROVE_LOG_INFO, "thread %d event %d", (int)(intptr_t)arg, i);
    if (i % 500 == 0)
      grove_sleep(0); /* this thread has a hub of its own */
  }
  grove_hub_close();
  return NULL;
}

static void test_hook_threads(void) {
  atomic_store(&seen_a, 0);
  atomic_store(&seen_b, 0);
  atomic_store(&torn, 0);
  grove_log_hook(hook_a, (void *)1);
  pthread_t t[NTHREADS];
  for (int i = 0; i < NTHREADS; i++)
    CHECK_EQ(pthread_create(&t[i], NULL, log_thread, (void *)(intptr_t)i), 0);
  for (int i = 0; i < 200; i++)
    grove_log_hook(i % 2 ? hook_a : hook_b, (void *)(intptr_t)(i % 2 ? 1 : 2));
  for (int i = 0; i < NTHREADS; i++)
    pthread_join(t[i], NULL);
  grove_log_hook(NULL, NULL);
  CHECK_EQ(atomic_load(&seen_a) + atomic_load(&seen_b), NTHREADS * PER_THREAD);
  CHECK_EQ(atomic_load(&torn), 0);
}

/* Events from the hubs of grove_hubs_start carry their hub's index. */
static atomic_int hub_mask;
static void hub_hook(const grove_log_event *ev, void *user) {
  if (strcmp(ev->text, "from a hub") == 0 && ev->hub < 8)
    atomic_fetch_or(&hub_mask, 1 << ev->hub);
}
static void *on_hub(void *arg) {
  grove_logf(GROVE_LOG_WARN, "from a hub");
  return arg;
}

static void test_hub_index(void) {
  atomic_store(&hub_mask, 0);
  grove_log_hook(hub_hook, NULL);
  CHECK_EQ(grove_hubs_start(2), 0);
  on_hub(NULL);
  CHECK_EQ(grove_hub_run_on(1, on_hub, NULL), 0);
  for (int i = 0; i < 500 && atomic_load(&hub_mask) != 3; i++)
    grove_sleep(0.01);
  CHECK_EQ(grove_hubs_stop(5.0), 0);
  grove_log_hook(NULL, NULL);
  CHECK_EQ(atomic_load(&hub_mask), 3);
}

/* ---- what is left at close ------------------------------------------------------------ */

static void *idle(void *arg) {
  grove_event_wait(arg, GROVE_FOREVER);
  return NULL;
}

static void test_leftovers(void) {
  char buf[256];
  grove_hub_counts c;
  CHECK_EQ(grove_hub_counts_get(NULL), GROVE_EINVAL);
  CHECK_EQ(grove_hub_counts_get(&c), 0);
  CHECK_EQ(c.objects, 0);
  CHECK_EQ(grove_hub_leftovers(buf, sizeof buf), strlen("nothing"));
  CHECK_STR(buf, "nothing");

  /* leak one of several kinds on purpose */
  grove_event *e = grove_event_new();
  grove_queue *q1 = grove_queue_new(0), *q2 = grove_channel_new();
  grove_async_result *r = grove_async_result_new();
  grove_semaphore *s = grove_bounded_semaphore_new(1);
  grove_group *g = grove_group_new();
  grove_local *k = grove_local_new(NULL);
  grove_greenlet *gl = grove_spawn(idle, e);
  grove_sleep(0);
  CHECK_EQ(grove_hub_counts_get(&c), 0);
  CHECK_EQ(c.greenlets, 1);
  CHECK_EQ(c.events, 1);
  CHECK_EQ(c.queues, 2);
  CHECK_EQ(c.async_results, 1);
  CHECK_EQ(c.semaphores, 1);
  CHECK_EQ(c.groups, 1);
  CHECK_EQ(c.locals, 1);
  CHECK_EQ(c.actors, 0);
  CHECK_EQ(c.objects, 7);
  size_t need = grove_hub_leftovers(buf, sizeof buf);
  CHECK_EQ(need, strlen(buf));
  CHECK_STR(buf, "1 greenlet, 1 event, 1 async result, 1 semaphore/lock, 2 queues, "
                 "1 group/pool, 1 local key");
  /* cut to the buffer, NUL-terminated, the full length returned */
  char small[8];
  CHECK_EQ(grove_hub_leftovers(small, sizeof small), need);
  CHECK_STR(small, "1 green");
  CHECK_EQ(grove_hub_leftovers(NULL, 0), need);

  /* grove_hub_close refuses, changes nothing, and logs what is left */
  captured cap = {0};
  grove_log_hook(capture, &cap);
  CHECK_EQ(grove_hub_close(), GROVE_EBUSY);
  grove_log_hook(NULL, NULL);
  CHECK_EQ(cap.n, 1);
  CHECK_EQ(cap.level[0], GROVE_LOG_WARN);
  CHECK_EQ(cap.kind[0], GROVE_LOG_HUB_LEFTOVERS);
  CHECK(strstr(cap.text[0], "grove_hub_close") != NULL);
  CHECK(strstr(cap.text[0], "1 greenlet, 1 event") != NULL);

  grove_event_set(e);
  CHECK_EQ(grove_join(gl, 5.0), 0);
  grove_greenlet_release(gl);
  grove_event_free(e);
  grove_queue_free(q1);
  grove_queue_free(q2);
  grove_async_result_free(r);
  grove_semaphore_free(s);
  grove_group_free(g);
  CHECK_EQ(grove_hub_counts_get(&c), 0);
  CHECK_EQ(c.objects, 1);
  CHECK_EQ(c.locals, 1);
  CHECK_EQ(grove_local_free(k), 0);
  grove_sleep(0); /* the finished greenlet's struct is freed once the hub has run */
  CHECK_EQ(grove_hub_counts_get(&c), 0);
  CHECK_EQ(c.objects + c.greenlets + c.greenlet_refs, 0);
  CHECK_EQ(grove_hub_leftovers(buf, sizeof buf), 7);
}

/* An unreleased greenlet reference is named too. */
static void *nothing(void *arg) { return arg; }
static void test_leftover_reference(void) {
  grove_greenlet *g = grove_spawn(nothing, NULL);
  CHECK_EQ(grove_join(g, 5.0), 0);
  char buf[128];
  grove_hub_leftovers(buf, sizeof buf);
  CHECK_STR(buf, "1 unreleased greenlet reference");
  grove_log_set_level(GROVE_LOG_OFF); /* the refusal is not logged now */
  CHECK_EQ(grove_hub_close(), GROVE_EBUSY);
  grove_log_set_level(GROVE_LOG_INFO);
  grove_greenlet_release(g);
}

TEST_MAIN(TEST(test_env_threshold), TEST(test_hook_levels), TEST(test_default_stderr),
          TEST(test_hook_reentry), TEST(test_hook_threads), TEST(test_hub_index),
          TEST(test_leftovers), TEST(test_leftover_reference))
