/* tests/chaos/chaos_delay.c - a packet delayer for kernels without tc netem:
 * it takes the packets an iptables NFQUEUE rule hands it and lets each one
 * go DELAY ms (+ up to JITTER ms) after it arrived, in arrival order (as
 * netem does without reordering). chaos_net.py runs it in a node's network
 * namespace, with `iptables -A ... -j NFQUEUE --queue-num Q`, when
 * `tc qdisc ... netem` is not available.
 *
 *   chaos_delay QUEUE DELAY_MS [JITTER_MS]
 *
 * SIGTERM or SIGINT: every packet still held is let go at once, then it
 * exits (so that ending a delay phase loses nothing). It gets SIGTERM too
 * when its parent, the driver, dies. Not a grove program:
 * it links libnetfilter_queue only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define RING (1 << 16)

static struct {
  uint32_t id;
  double due;
} ring[RING];
static size_t head, tail; /* tail - head packets held */
static double delay_s, jitter_s, last_due;
static volatile sig_atomic_t stopping;
static unsigned long long held_max, passed, overflowed;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *nfmsg, struct nfq_data *nfa,
                     void *data) {
  (void)nfmsg;
  (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph)
    return 0;
  uint32_t id = ntohl(ph->packet_id);
  if (tail - head >= RING) { /* full: let it go now rather than lose it */
    overflowed++;
    return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
  }
  double due = now() + delay_s + (jitter_s > 0 ? jitter_s * (double)rand() / RAND_MAX : 0);
  if (due < last_due) /* keep the order */
    due = last_due;
  last_due = due;
  ring[tail % RING].id = id;
  ring[tail % RING].due = due;
  tail++;
  if (tail - head > held_max)
    held_max = tail - head;
  return 0;
}

static void on_stop(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: chaos_delay QUEUE DELAY_MS [JITTER_MS]\n");
    return 2;
  }
  int queue = atoi(argv[1]);
  delay_s = atof(argv[2]) / 1000.0;
  jitter_s = argc > 3 ? atof(argv[3]) / 1000.0 : 0;
  signal(SIGTERM, on_stop);
  signal(SIGINT, on_stop);
  prctl(PR_SET_PDEATHSIG, SIGTERM); /* the driver (our parent) gone: let go, exit */
  struct nfq_handle *h = nfq_open();
  if (!h) {
    perror("chaos_delay: nfq_open");
    return 1;
  }
  struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
  if (!qh) {
    perror("chaos_delay: nfq_create_queue");
    nfq_close(h);
    return 1;
  }
  nfq_set_mode(qh, NFQNL_COPY_META, 0);
  nfq_set_queue_maxlen(qh, RING);
  nfq_set_queue_flags(qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
  int fd = nfq_fd(h);
  /* a large receive buffer: a burst must not overflow the netlink socket */
  nfnl_rcvbufsiz(nfq_nfnlh(h), 8 << 20);
  printf("chaos_delay: queue %d, %.1f ms + up to %.1f ms\n", queue, delay_s * 1000,
         jitter_s * 1000);
  fflush(stdout);
  char buf[65536] __attribute__((aligned));
  while (!stopping) {
    double wait = 0.05;
    if (tail > head) {
      double d = ring[head % RING].due - now();
      wait = d < 0 ? 0 : d < wait ? d : wait;
    }
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, (int)(wait * 1000) + (wait > 0 ? 1 : 0));
    if (r > 0) {
      for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
          break;
        nfq_handle_packet(h, buf, (int)n);
      }
    }
    double t = now();
    while (tail > head && ring[head % RING].due <= t) {
      nfq_set_verdict(qh, ring[head % RING].id, NF_ACCEPT, 0, NULL);
      head++;
      passed++;
    }
  }
  while (tail > head) { /* let everything still held go */
    nfq_set_verdict(qh, ring[head % RING].id, NF_ACCEPT, 0, NULL);
    head++;
    passed++;
  }
  fprintf(stderr,
          "chaos_delay: queue %d: %llu packets delayed, at most %llu held, %llu let go at "
          "once (ring full)\n",
          queue, passed, held_max, overflowed);
  nfq_destroy_queue(qh);
  nfq_close(h);
  return 0;
}
