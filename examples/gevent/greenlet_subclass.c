/* greenlet_subclass.c - port of greenlet_subclass.py (seed 001, "直接使用、创建
 * Greenlet类的子类", second example).
 *
 * The seed's Greenlet subclass carries a message and a duration; in C they
 * are a struct handed to the greenlet's function (its _run).
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

struct my_greenlet {
  const char *message;
  double n;
};

static void *my_greenlet_run(void *arg) {
  struct my_greenlet *self = arg;
  puts(self->message);
  grove_sleep(self->n);
  return NULL;
}

int main(void) {
  struct my_greenlet self = {"Hi there!", 0.03};
  grove_greenlet *g = grove_spawn(my_greenlet_run, &self);
  int rc = grove_join(g, GROVE_FOREVER);

  grove_greenlet_release(g);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
