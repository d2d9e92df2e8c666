/* group_map_size.c - port of group_map_size.py (seed 001 / 002, "组和池",
 * second example, first half).
 *
 * Group map over three items of a function that prints the group's size.
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static grove_group *group;

static void *hello_from(void *arg) {
  printf("Size of group %d\n", (int)grove_group_size(group));
  printf("Hello from Greenlet %d\n", (int)(intptr_t)arg);
  return NULL;
}

int main(void) {
  group = grove_group_new();
  void *args[] = {(void *)0, (void *)1, (void *)2};
  void *results[3];
  int rc = grove_group_map(group, hello_from, args, 3, results);

  if (grove_group_free(group) != 0)
    rc = -1;
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
