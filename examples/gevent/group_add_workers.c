/* group_add_workers.c - port of group_add_workers.py (seed 000, "Group").
 *
 * 100 tasks in a queue; three workers are spawned, named, and added to a
 * group; the main greenlet joins the group. Each worker prints its own
 * greenlet's name (grove_current()).
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct worker_args {
  const char *name;
  grove_queue *q;
};

static void *add_worker(void *arg) {
  struct worker_args *w = arg;
  while (!grove_queue_empty(w->q)) {
    void *task;
    if (grove_queue_get(w->q, &task, GROVE_FOREVER) != 0)
      break;
    printf("found notice: worker(%s:%s) got task(%d)\n", w->name,
           grove_greenlet_name(grove_current()), (int)(intptr_t)task);
    grove_sleep(0);
  }
  return NULL;
}

int main(void) {
  grove_queue *q = grove_queue_new(0);
  grove_group *g = grove_group_new();
  for (intptr_t i = 0; i < 100; i++)
    grove_queue_put_nowait(q, (void *)i);

  struct worker_args args[] = {{"langlang", q}, {"fengfeng", q}, {"shuishui", q}};
  for (int i = 0; i < 3; i++) {
    char name[64];
    grove_greenlet *gl = grove_spawn(add_worker, &args[i]);
    snprintf(name, sizeof name, "greenlet-%s", args[i].name);
    grove_greenlet_set_name(gl, name);
    grove_group_add(g, gl, GROVE_FOREVER);
    grove_greenlet_release(gl); /* the group holds its own reference */
  }
  int rc = grove_group_join(g, GROVE_FOREVER);

  if (grove_group_free(g) != 0)
    rc = -1;
  grove_queue_free(q);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
