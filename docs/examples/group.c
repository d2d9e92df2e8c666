/* group.c - track greenlets as a set; map a function over arguments. */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>

static grove_group *group;

static void *talk(void *arg) {
  for (int i = 0; i < 2; i++) {
    printf("%s\n", (const char *)arg);
    grove_sleep(0);
  }
  return NULL;
}

static void *hello_from(void *arg) {
  printf("Size of group %zu, hello from task %d\n", grove_group_size(group), (int)(intptr_t)arg);
  return (void *)((intptr_t)arg * 10);
}

int main(void) {
  group = grove_group_new();
  /* Spawned members leave the group by themselves when they finish. */
  grove_greenlet *g1 = grove_group_spawn(group, talk, "bar");
  grove_greenlet *g2 = grove_group_spawn(group, talk, "foo");
  printf("members: %zu\n", grove_group_size(group));
  int rc = grove_group_join(group, GROVE_FOREVER);
  printf("members after join: %zu\n", grove_group_size(group));
  grove_greenlet_release(g1); /* group_spawn returns a reference to release */
  grove_greenlet_release(g2);

  /* map: one member per argument, results in argument order. */
  void *args[3] = {(void *)0, (void *)1, (void *)2}, *results[3];
  rc |= grove_group_map(group, hello_from, args, 3, results);
  for (int i = 0; i < 3; i++)
    printf("results[%d] = %d\n", i, (int)(intptr_t)results[i]);

  rc |= grove_group_free(group);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
