/* hub.c - main is a greenlet; a wait nothing can end is GROVE_ELOOPEXIT. */
#include <grove.h>
#include <stdio.h>

static grove_queue *q;

static void *consumer(void *arg) {
  void *item;
  return (void *)(long)grove_queue_get(q, &item, GROVE_FOREVER); /* nobody will put */
}

int main(void) {
  grove_greenlet *me = grove_current();
  printf("running in greenlet %llu \"%s\"\n", (unsigned long long)grove_greenlet_id(me),
         grove_greenlet_name(me));

  q = grove_queue_new(0);
  grove_spawn_opts opts = {.name = "consumer"};
  grove_greenlet *g = grove_spawn_ex(consumer, NULL, &opts);
  grove_sleep(0); /* the first blocking call from main runs the hub: consumer starts */
  grove_dump(stdout);

  /* Nothing can ever finish g: no callback, no timer, no I/O, no thread. */
  int rc = grove_join(g, GROVE_FOREVER);
  printf("join: %s (%s)\n", grove_err_name(rc), grove_strerror(rc));

  grove_kill(g, GROVE_FOREVER); /* end it so the hub can close */
  grove_greenlet_release(g);
  grove_queue_free(q);
  return rc == GROVE_ELOOPEXIT && grove_hub_close() == 0 ? 0 : 1;
}
