/* running.c - idle actors cost memory, not greenlets; receive may block
 * without holding up other actors. */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>

struct cell {
  grove_actor base;
  const char *name;
};

static long handled; /* messages handled by all cells */

static int cell_init(grove_actor *self, void *arg) {
  ((struct cell *)self)->name = arg;
  return 0;
}

static int cell_receive(grove_actor *self, grove_msg *msg) {
  struct cell *c = (struct cell *)self;
  handled++;
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  if (grove_msg_is(msg, "nap")) {
    printf("%s: napping inside receive\n", c->name);
    grove_sleep(0.2); /* blocks this actor only */
    printf("%s: awake\n", c->name);
  } else if (c->name) {
    printf("%s: %s\n", c->name, grove_msg_tag(msg));
  }
  return 0;
}

static const grove_actor_class cell_class = {
    .name = "cell", .size = sizeof(struct cell), .init = cell_init, .receive = cell_receive};

int main(void) {
  /* Many actors: each is its struct and an inbox until a message comes. */
  enum { N = 10000 };
  grove_ref *cells = malloc(N * sizeof *cells);
  for (int i = 0; i < N; i++)
    cells[i] = grove_actor_spawn(&cell_class, NULL);
  for (int i = 0; i < N; i++)
    grove_send(cells[i], grove_msg_new("tick"));
  grove_sleep(0); /* every cell runs once, one after the other */
  printf("%ld ticks handled\n", handled);

  grove_ref slow = grove_actor_spawn(&cell_class, "slow");
  grove_ref fast = grove_actor_spawn(&cell_class, "fast");
  grove_send(slow, grove_msg_new("nap"));
  grove_send(slow, grove_msg_new("after the nap")); /* waits in slow's inbox */
  grove_send(fast, grove_msg_new("one"));
  grove_send(fast, grove_msg_new("two"));
  grove_sleep(0.01);
  grove_actor_stats st;
  grove_actor_stats_get(slow, &st);
  printf("main: slow is in receive: %d, inbox %zu\n", st.running, st.inbox_len);

  grove_send(slow, grove_msg_new("stop"));
  grove_send(fast, grove_msg_new("stop"));
  for (int i = 0; i < N; i++)
    grove_send(cells[i], grove_msg_new("stop"));
  int rc = grove_actor_wait(slow, NULL, 1.0);
  for (int i = 0; i < N; i++)
    grove_actor_wait(cells[i], NULL, 1.0); /* GROVE_ENOENT if it has already ended */
  free(cells);
  return rc == 0 && grove_hub_close() == 0 ? 0 : 1;
}
