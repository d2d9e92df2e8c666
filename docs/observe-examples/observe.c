/* What runs, seen three ways: grove_actors_list in the program, the
 * Prometheus endpoint over HTTP, and one line of grove_hubs_info. A worker
 * is held inside its receive so that its inbox has a length to show. */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static grove_event *released;

static int worker_receive(grove_actor *self, grove_msg *m) {
  (void)self;
  (void)m;
  grove_event_wait(released, GROVE_FOREVER); /* busy with the first job: the others wait */
  return 0;
}
static const grove_actor_class worker_class = {
    .name = "worker", .size = sizeof(grove_actor), .receive = worker_receive};

int main(void) {
  released = grove_event_new();
  grove_actor_opts o = {.name = "jobs", .inbox_max = 100};
  grove_ref w;
  grove_actor_spawn_ex(&worker_class, NULL, &o, &w);
  for (int i = 0; i < 4; i++)
    grove_send(w, grove_msg_new("job"));
  grove_sleep(0.01);

  /* 1. in the program */
  grove_actor_info a[8];
  size_t n, total;
  grove_actors_list(a, 8, &n, &total);
  for (size_t i = 0; i < n; i++)
    printf("actor %s (%s): inbox %u of %u, %s\n", a[i].name, a[i].cls, a[i].inbox, a[i].inbox_max,
           grove_actor_state_name(a[i].state));

  /* 2. what Prometheus would scrape */
  grove_metrics *metrics;
  if (grove_metrics_start("127.0.0.1", 0, &metrics) != 0)
    return 1;
  grove_socket *s;
  if (grove_tcp_connect("127.0.0.1", grove_metrics_port(metrics), &s, 5) != 0)
    return 1;
  const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  grove_socket_write_all(s, req, strlen(req), NULL, 5);
  static char resp[65536];
  size_t got = 0;
  ssize_t r;
  while ((r = grove_socket_read(s, resp + got, sizeof resp - 1 - got, 5)) > 0)
    got += (size_t)r;
  resp[got] = 0;
  grove_socket_close(s);
  printf("%.15s\n", resp); /* the status line */
  for (char *line = strtok(resp, "\n"); line; line = strtok(NULL, "\n"))
    if (strncmp(line, "grove_actor_inbox_messages", 26) == 0 ||
        strncmp(line, "grove_hub_actors", 16) == 0)
      printf("%s\n", line);

  /* 3. the hub */
  grove_hub_info h;
  grove_hubs_info(&h, 1, &n);
  printf("hub %zu: %zu actors, %zu greenlets\n", h.index, h.actors, h.greenlets);

  grove_event_set(released);
  grove_actor_exit(w, GROVE_EXIT_SHUTDOWN);
  grove_actor_wait(w, NULL, 5);
  grove_metrics_stop(metrics);
  grove_event_free(released);
  return grove_hub_close() == 0 ? 0 : 1;
}
