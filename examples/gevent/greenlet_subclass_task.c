/* greenlet_subclass_task.c - port of greenlet_subclass_task.py (seed 001,
 * "方法 1:继承 Gevent 的 Greenlet").
 *
 * The seed's Greenlet subclass only adds a name to the greenlet; in grove a
 * greenlet has a name of its own (grove_spawn_ex), which task_run reads
 * back through grove_current().
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static void *task_run(void *arg) {
  printf("Task %s: some task...\n", grove_greenlet_name(grove_current()));
  return NULL;
}

int main(void) {
  grove_spawn_opts o1 = {.name = "task1"};
  grove_spawn_opts o2 = {.name = "task2"};
  grove_greenlet *t[2];
  t[0] = grove_spawn_ex(task_run, NULL, &o1);
  t[1] = grove_spawn_ex(task_run, NULL, &o2);
  /* here we are waiting all tasks */
  int rc = grove_joinall(t, 2, GROVE_FOREVER);

  grove_greenlet_release(t[0]);
  grove_greenlet_release(t[1]);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
