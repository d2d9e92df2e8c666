/* A program outside the project, built against an installed grove. */
#include <grove.h>
#include <stdio.h>

static void *hello(void *arg) {
  grove_sleep(0);
  return arg;
}

int main(void) {
  grove_greenlet *g = grove_spawn(hello, "installed grove works");
  void *v = NULL;
  int rc = grove_get(g, &v, GROVE_FOREVER);
  grove_greenlet_release(g);
  if (rc != 0)
    return 1;
  puts((const char *)v);
  return grove_hub_close() == 0 ? 0 : 1;
}
