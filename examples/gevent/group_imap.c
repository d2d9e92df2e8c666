/* group_imap.c - port of group_imap.py (seed 001 / 002, "组和池", second
 * example, second half).
 *
 * imap and imap_unordered over a task that sleeps (3 - n) * 10 ms: imap
 * yields the results in argument order, imap_unordered as they finish. The
 * seed's result tuple ('task', n) is a static struct.
 */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct result {
  const char *name;
  int n;
};

static struct result results[3];

static void *intensive(void *arg) {
  int n = (int)(intptr_t)arg;
  grove_sleep((3 - n) * 0.01);
  results[n] = (struct result){"task", n};
  return &results[n];
}

/* Print every result of it, then free it and wait for the group to empty. */
static int print_all(grove_group *grp, grove_imap *it) {
  if (it == NULL)
    return GROVE_ENOMEM;
  void *value;
  int rc;
  while ((rc = grove_imap_next(it, &value, NULL, GROVE_FOREVER)) == 0) {
    struct result *r = value;
    printf("('%s', %d)\n", r->name, r->n);
  }
  grove_imap_free(it);
  if (rc != GROVE_EOF)
    return rc;
  return grove_group_join(grp, GROVE_FOREVER);
}

int main(void) {
  void *args[] = {(void *)0, (void *)1, (void *)2};

  puts("Ordered");
  grove_group *ogroup = grove_group_new();
  int rc = print_all(ogroup, grove_group_imap(ogroup, intensive, args, 3));

  puts("Unordered");
  grove_group *igroup = grove_group_new();
  rc |= print_all(igroup, grove_group_imap_unordered(igroup, intensive, args, 3));

  if (grove_group_free(ogroup) != 0 || grove_group_free(igroup) != 0)
    rc = -1;
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
