/* actor_pingpong.c - port of actor_pingpong.py (seed 001 / 002, "Actors").
 *
 * An actor is a greenlet plus a queue inbox: its loop takes a message and
 * hands it to the actor's receive function. Pinger and Ponger answer each
 * other's messages; each stops after MAX_MESSAGES messages (the seed's
 * actors never stop). The last "pong" stays unread in ping's inbox; queues
 * do not own their items, so freeing the inbox is enough.
 */
#include <grove.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_MESSAGES 5

struct actor {
  grove_queue *inbox;
  void (*receive)(struct actor *self, const char *message);
  bool running;
  int received;
  grove_greenlet *greenlet;
};

/* Static, so every greenlet may use them (not on a shared stack). */
static struct actor ping, pong;

static void *actor_run(void *arg) {
  struct actor *self = arg;
  self->running = true;
  while (self->running) {
    void *message;
    if (grove_queue_get(self->inbox, &message, GROVE_FOREVER) != 0)
      break;
    self->receive(self, message);
    self->received += 1;
    if (self->received == MAX_MESSAGES)
      self->running = false;
  }
  return NULL;
}

static void pinger_receive(struct actor *self, const char *message) {
  puts(message);
  grove_queue_put(pong.inbox, "ping", GROVE_FOREVER);
  grove_sleep(0);
}

static void ponger_receive(struct actor *self, const char *message) {
  puts(message);
  grove_queue_put(ping.inbox, "pong", GROVE_FOREVER);
  grove_sleep(0);
}

static int actor_init(struct actor *a, void (*receive)(struct actor *, const char *)) {
  a->inbox = grove_queue_new(0);
  a->receive = receive;
  return a->inbox != NULL ? 0 : GROVE_ENOMEM;
}

static int actor_start(struct actor *a) {
  a->greenlet = grove_spawn(actor_run, a);
  return a->greenlet != NULL ? 0 : GROVE_ENOMEM;
}

static void actor_close(struct actor *a) {
  grove_greenlet_release(a->greenlet);
  grove_queue_free(a->inbox);
}

int main(void) {
  if (actor_init(&ping, pinger_receive) != 0 || actor_init(&pong, ponger_receive) != 0)
    return EXIT_FAILURE;

  if (actor_start(&ping) != 0 || actor_start(&pong) != 0)
    return EXIT_FAILURE;

  grove_queue_put(ping.inbox, "start", GROVE_FOREVER);
  grove_greenlet *both[] = {ping.greenlet, pong.greenlet};
  int rc = grove_joinall(both, 2, GROVE_FOREVER);

  actor_close(&ping);
  actor_close(&pong);
  return rc == 0 && grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
