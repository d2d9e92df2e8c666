/* channel.c - a rendezvous: put waits until a getter takes the item. */
#include <grove.h>
#include <stdio.h>

static grove_queue *ch;

static void *producer(void *arg) {
  const char *words[] = {"ping", "pong", NULL};
  for (int i = 0; words[i]; i++) {
    printf("put %s...\n", words[i]);
    grove_queue_put(ch, (void *)words[i], GROVE_FOREVER);
    printf("...%s taken\n", words[i]);
  }
  return NULL;
}

static void *consumer(void *arg) {
  void *word;
  while (grove_queue_get(ch, &word, 0.1) == 0)
    printf("got %s\n", (const char *)word);
  return NULL;
}

int main(void) {
  ch = grove_channel_new();
  /* Nobody is waiting to get: a channel's put_nowait fails. */
  int rc0 = grove_queue_put_nowait(ch, "lost");
  printf("put_nowait with no getter: %s\n", grove_err_name(rc0));

  grove_greenlet *gs[2];
  gs[0] = grove_spawn(producer, NULL);
  gs[1] = grove_spawn(consumer, NULL);
  int rc = grove_joinall(gs, 2, GROVE_FOREVER);
  grove_greenlet_release(gs[0]);
  grove_greenlet_release(gs[1]);
  grove_queue_free(ch);
  return rc0 == GROVE_EFULL && rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
