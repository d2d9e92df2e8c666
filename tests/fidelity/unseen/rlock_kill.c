/* rlock_kill.c - rlock_kill.py translated line for line: an RLock taken
 * three levels deep by each worker; main kills a worker that waits for the
 * lock, then the one holding it three levels deep; the lock passes on. A
 * `with lock:` block is acquire ... release on every path out of it. */
#include <grove.h>
#include <stdio.h>

static grove_rlock *lock;

static const char *tf(bool b) { return b ? "True" : "False"; }

static int inner(const char *name, int depth) {
  int rc = grove_rlock_acquire(lock, GROVE_FOREVER);
  if (rc != 0)
    return rc;
  printf("%s: depth %d\n", name, depth);
  if (depth < 3)
    rc = inner(name, depth + 1);
  else
    rc = grove_sleep(0.2);
  if (rc == 0)
    printf("%s: leaving depth %d\n", name, depth);
  grove_rlock_release(lock);
  return rc;
}

static void *worker(void *arg) {
  const char *name = arg;
  int rc = inner(name, 1);
  if (rc == 0)
    printf("%s: done\n", name);
  else if (rc == GROVE_ECANCELED)
    printf("%s: killed\n", name);
  return arg;
}

static void ended(grove_greenlet *g, void *arg) {
  (void)g;
  printf("link: %s ended\n", (const char *)arg);
}

int main(void) {
  static const char *names[] = {"w1", "w2", "w3"};
  lock = grove_rlock_new();
  grove_greenlet *ws[3];
  for (int i = 0; i < 3; i++) {
    ws[i] = grove_spawn(worker, (void *)names[i]);
    grove_link(ws[i], ended, (void *)names[i]);
  }
  grove_sleep(0.05);
  printf("main: try acquire -> %s\n", tf(grove_rlock_try_acquire(lock) == 0));
  int rc = grove_kill(ws[1], GROVE_FOREVER);
  printf("main: killed w2 (waiting), dead %s\n", tf(grove_ready(ws[1])));
  int rc2 = grove_kill(ws[0], GROVE_FOREVER);
  printf("main: killed w1 (holding), dead %s\n", tf(grove_ready(ws[0])));
  bool got = grove_rlock_try_acquire(lock) == 0;
  printf("main: try acquire -> %s\n", tf(got));
  grove_sleep(0);
  printf("main: slept\n");
  if (got) {
    grove_rlock_release(lock);
    printf("main: released\n");
  }
  int rc3 = grove_join(ws[2], GROVE_FOREVER);
  printf("main: w3 value %s\n", (const char *)grove_value(ws[2]));
  printf("main: try acquire -> %s\n", tf(grove_rlock_try_acquire(lock) == 0));
  int rc4 = grove_rlock_acquire(lock, GROVE_FOREVER);
  printf("main: acquired again\n");
  for (int i = 0; i < 2; i++)
    grove_rlock_release(lock);
  printf("main: released twice\n");
  for (int i = 0; i < 3; i++)
    grove_greenlet_release(ws[i]);
  int rc5 = grove_rlock_free(lock);
  return rc == 0 && rc2 == 0 && rc3 == 0 && rc4 == 0 && rc5 == 0 && grove_hub_close() == 0 ? 0 : 1;
}
