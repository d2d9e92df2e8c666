/* local.c - each greenlet sees its own value for a grove_local key. */
#include <grove.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static grove_local *request_id;

static void free_id(void *value) {
  printf("  destructor frees \"%s\"\n", (char *)value);
  free(value);
}

static void handle(void) { /* no parameter: finds its request via the local */
  printf("handling %s\n", (char *)grove_local_get(request_id));
}

static void *serve(void *arg) {
  char *id = malloc(16);
  snprintf(id, 16, "req-%d", (int)(intptr_t)arg);
  grove_local_set(request_id, id); /* this greenlet's value only */
  grove_sleep(0);                  /* the other greenlet sets its own meanwhile */
  handle();
  return NULL; /* the destructor runs when the greenlet ends */
}

int main(void) {
  request_id = grove_local_new(free_id);
  grove_greenlet *gs[2];
  gs[0] = grove_spawn(serve, (void *)1);
  gs[1] = grove_spawn(serve, (void *)2);
  int rc = grove_joinall(gs, 2, GROVE_FOREVER);

  void *v;
  int lk = grove_local_lookup(request_id, &v); /* main never set one */
  printf("main: %s\n", grove_err_name(lk));

  grove_greenlet_release(gs[0]);
  grove_greenlet_release(gs[1]);
  grove_local_free(request_id);
  return rc == 0 && lk == GROVE_ENOENT && grove_hub_close() == 0 ? 0 : 1;
}
