/* grove_group_map frees its state while its helper still runs, when the
 * caller is killed: grove_kill(helper) cannot wait from a killed greenlet. */
#include <grove.h>
#include <stdio.h>
static void *work(void *a) {
  int rc = grove_sleep(0.05);
  printf("work %ld: sleep %s\n", (long)a, grove_err_name(rc));
  return a;
}
static void *caller(void *a) {
  void *args[2] = {(void *)1, (void *)2}, *r[2];
  int rc = grove_group_map(a, work, args, 2, r);
  printf("caller: map %s\n", grove_err_name(rc));
  return NULL;
}
int main(void) {
  grove_group *grp = grove_group_new();
  grove_greenlet *c = grove_spawn(caller, grp);
  grove_sleep(0.01);
  printf("main: kill %s\n", grove_err_name(grove_kill(c, GROVE_FOREVER)));
  grove_sleep(0.1);
  grove_greenlet_release(c);
  printf("main: group_free %s, hub_close %s\n", grove_err_name(grove_group_free(grp)),
         grove_err_name(grove_hub_close()));
  return 0;
}
