/* greenlet_spawn_forms.c - port of greenlet_spawn_forms.py (seed 001, "直接使用、
 * 创建 Greenlet类的子类", first example).
 *
 * foo(message, n) gets its two arguments in a struct; the seed's lambda is
 * plus_one. gevent's Greenlet.spawn and gevent.spawn are both grove_spawn.
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct foo_args {
  const char *message;
  double n;
};

static void *foo(void *arg) {
  struct foo_args *a = arg; /* lives in main's frame: safe to share */
  grove_sleep(a->n);
  puts(a->message);
  return NULL;
}

static void *plus_one(void *arg) { return (void *)((intptr_t)arg + 1); }

int main(void) {
  struct foo_args hello = {"Hello", 0.01}, alive = {"I live!", 0.02};
  grove_greenlet *threads[3];
  threads[0] = grove_spawn(foo, &hello);
  threads[1] = grove_spawn(foo, &alive);
  threads[2] = grove_spawn(plus_one, (void *)2);
  /* Block until all threads complete. */
  int rc = grove_joinall(threads, 3, GROVE_FOREVER);

  for (int i = 0; i < 3; i++)
    grove_greenlet_release(threads[i]);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
