/* group_talk.c - port of group_talk.py (seed 002, "组和池", first example).
 *
 * Three greenlets that print without blocking. g1 and g2 are added to a
 * group and joined; all three run during that join, so g3 has already
 * finished when it is added (it leaves the group at once).
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

static void *talk(void *arg) {
  const char *msg = arg;
  for (int i = 0; i < 3; i++)
    puts(msg);
  return NULL;
}

int main(void) {
  grove_greenlet *g1 = grove_spawn(talk, "bar");
  grove_greenlet *g2 = grove_spawn(talk, "foo");
  grove_greenlet *g3 = grove_spawn(talk, "fizz");

  grove_group *group = grove_group_new();
  grove_group_add(group, g1, GROVE_FOREVER);
  grove_group_add(group, g2, GROVE_FOREVER);
  int rc = grove_group_join(group, GROVE_FOREVER);

  grove_group_add(group, g3, GROVE_FOREVER);
  rc |= grove_group_join(group, GROVE_FOREVER);

  grove_greenlet_release(g1);
  grove_greenlet_release(g2);
  grove_greenlet_release(g3);
  if (grove_group_free(group) != 0)
    rc = -1;
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
