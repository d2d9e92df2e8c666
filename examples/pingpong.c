/* pingpong.c - the gevent tutorial's Pinger and Ponger as grove actors.
 *
 *   pingpong [ROUND_TRIPS]      (default 1000000)
 *
 * examples/gevent/actor_pingpong.c builds the tutorial's Actor by hand (a
 * greenlet looping over a queue inbox). Here Pinger and Ponger are actor
 * classes: a struct that embeds grove_actor first, and a grove_actor_class
 * whose receive grove calls once per message. An idle actor holds no
 * greenlet; grove runs receive when a message arrives.
 *
 * The pinger gets "start" [ponger, round trips, verbose] and sends "ping" [1];
 * the ponger answers each "ping" [k] with "pong" [k] to its sender; after the
 * last pong the pinger tells the ponger to "stop" and stops itself. Both
 * check that every counter arrives in order. The program first plays a short
 * exchange that prints each message as it is received, as the tutorial does,
 * then times ROUND_TRIPS silent round trips.
 */
#include <grove.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the actors report to main (static: main reads it after they end). */
static struct {
  int64_t pongs; /* pongs the pinger received, in order */
  int64_t pings; /* pings the ponger received, in order */
  int out_of_order;
  int ended;    /* actors that have ended normally */
  double t_end; /* when the last pong arrived */
} result;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Ponger ---------------------------------------------------------------- */

struct ponger {
  grove_actor base; /* first: grove allocates and frees the whole struct */
  int64_t expect;   /* the next ping's counter */
  bool verbose;
};

static int ponger_receive(grove_actor *self, grove_msg *msg) {
  struct ponger *p = (struct ponger *)self;
  if (grove_msg_is(msg, "stop"))
    return GROVE_STOP;
  int64_t k;
  if (!grove_msg_is(msg, "ping") || grove_msg_int(msg, 0, &k) != 0)
    return GROVE_EINVAL; /* not a message of this protocol: end with an error */
  if (p->verbose)
    puts("ping");
  if (k != ++p->expect)
    result.out_of_order++;
  result.pings = p->expect;
  grove_msg *pong = grove_msg_new("pong");
  if (!pong || grove_msg_pack_int(pong, k) != 0) {
    grove_msg_free(pong);
    return GROVE_ENOMEM;
  }
  return grove_send(grove_msg_sender(msg), pong);
}

/* ---- Pinger ---------------------------------------------------------------- */

struct pinger {
  grove_actor base;
  grove_ref ponger;
  int64_t rounds; /* round trips to play */
  int64_t done;   /* pongs received */
  bool verbose;
};

static int send_ping(struct pinger *p) {
  grove_msg *ping = grove_msg_new("ping");
  if (!ping || grove_msg_pack_int(ping, p->done + 1) != 0) {
    grove_msg_free(ping);
    return GROVE_ENOMEM;
  }
  return grove_send(p->ponger, ping);
}

static int pinger_receive(grove_actor *self, grove_msg *msg) {
  struct pinger *p = (struct pinger *)self;
  if (grove_msg_is(msg, "start")) {
    int64_t verbose = 0;
    if (grove_msg_ref(msg, 0, &p->ponger) != 0 || grove_msg_int(msg, 1, &p->rounds) != 0 ||
        grove_msg_int(msg, 2, &verbose) != 0)
      return GROVE_EINVAL;
    p->verbose = verbose != 0;
    if (p->verbose)
      puts("start");
    return send_ping(p);
  }
  int64_t k;
  if (!grove_msg_is(msg, "pong") || grove_msg_int(msg, 0, &k) != 0)
    return GROVE_EINVAL;
  if (p->verbose)
    puts("pong");
  if (k != ++p->done)
    result.out_of_order++;
  result.pongs = p->done;
  if (p->done < p->rounds)
    return send_ping(p);
  result.t_end = now_s();
  grove_msg *stop = grove_msg_new("stop");
  grove_send(p->ponger, stop);
  return GROVE_STOP;
}

static void count_end(grove_actor *self, int reason) {
  (void)self;
  if (reason == GROVE_EXIT_NORMAL)
    result.ended++;
  else
    fprintf(stderr, "pingpong: an actor ended with %s\n", grove_exit_reason_name(reason));
}

static int ponger_init(grove_actor *self, void *verbose) {
  ((struct ponger *)self)->verbose = verbose != NULL;
  return 0;
}

static const grove_actor_class pinger_class = {.name = "pinger",
                                               .size = sizeof(struct pinger),
                                               .receive = pinger_receive,
                                               .terminate = count_end};
static const grove_actor_class ponger_class = {.name = "ponger",
                                               .size = sizeof(struct ponger),
                                               .init = ponger_init,
                                               .receive = ponger_receive,
                                               .terminate = count_end};

/* Play `rounds` round trips; 0 if both actors saw every counter in order.
 * *seconds: from the start message to the last pong. */
static int play(int64_t rounds, bool verbose, double *seconds) {
  memset(&result, 0, sizeof result);
  grove_ref ping = grove_actor_spawn(&pinger_class, NULL);
  grove_ref pong = grove_actor_spawn(&ponger_class, verbose ? "verbose" : NULL);
  if (grove_ref_is_null(ping) || grove_ref_is_null(pong))
    return GROVE_ENOMEM;
  grove_msg *start = grove_msg_new("start");
  grove_msg_pack_ref(start, pong);
  grove_msg_pack_int(start, rounds);
  grove_msg_pack_int(start, verbose);
  double t0 = now_s();
  int rc = grove_send(ping, start);
  /* The ponger ends last: the pinger's "stop" is its final message. */
  int reason = 0;
  if (rc == 0)
    rc = grove_actor_wait(pong, &reason, GROVE_FOREVER);
  *seconds = result.t_end - t0;
  if (rc != 0 || reason != GROVE_EXIT_NORMAL || result.ended != 2)
    return rc ? rc : GROVE_EFAILED;
  return result.pongs == rounds && result.pings == rounds && result.out_of_order == 0
             ? 0
             : GROVE_EFAILED;
}

int main(int argc, char **argv) {
  int64_t rounds = argc > 1 ? strtoll(argv[1], NULL, 10) : 1000000;
  if (rounds < 1) {
    fprintf(stderr, "usage: %s [ROUND_TRIPS >= 1]\n", argv[0]);
    return EXIT_FAILURE;
  }
  double dt;
  int rc = play(5, true, &dt);
  if (rc != 0) {
    fprintf(stderr, "pingpong: the short exchange failed: %s\n", grove_strerror(rc));
    return EXIT_FAILURE;
  }
  fflush(stdout);

  rc = play(rounds, false, &dt);
  if (rc != 0) {
    fprintf(stderr,
            "pingpong: %lld round trips failed (%lld pings, %lld pongs, %d out of order): %s\n",
            (long long)rounds, (long long)result.pings, (long long)result.pongs,
            result.out_of_order, grove_strerror(rc));
    return EXIT_FAILURE;
  }
  double msgs = 2.0 * (double)rounds;
  printf("%lld round trips (%.0f messages, each with a msgpack int body) in %.3f s\n",
         (long long)rounds, msgs, dt);
  printf("%.2f M msgs/s, %.0f ns per round trip\n", msgs / dt / 1e6, dt * 1e9 / (double)rounds);
  return grove_hub_close() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
