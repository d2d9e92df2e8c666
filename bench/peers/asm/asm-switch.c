/* asm-switch: the physical limit under grove's `switch` benchmark.
 *
 *   asm-switch [--quick] [switch]
 *
 * Two contexts switch to each other in a loop through asm_switch (the
 * callee-saved registers and the stack pointer, nothing else: see the .S
 * files). Prints `switch VALUE ns`, the best of 5 repetitions, per switch.
 * On a CPU without one of the .S files it prints nothing and exits 77
 * (skipped). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__aarch64__)
void asm_switch(void **save_sp, void *load_sp);

typedef struct {
  void *sp;
  void **other; /* where the other context's stack pointer is saved */
  long n, count;
} ctx;

static ctx ctx_a, ctx_b;

/* Both contexts run this loop, so each switch returns to the call site it
 * left from, as two greenlets blocking in the same code do. */
__attribute__((noinline)) static void loop(ctx *self) {
  while (self->count < self->n) {
    self->count++;
    asm_switch(&self->sp, *self->other);
  }
}

static void entry(void) {
  for (;;)
    loop(&ctx_b);
}

/* A fresh stack that asm_switch can "return" into entry() from. */
static void *ctx_init(char *top) {
  uintptr_t sp = (uintptr_t)top & ~(uintptr_t)15;
#if defined(__x86_64__)
  void **p = (void **)sp;
  *--p = NULL;          /* entry's (never used) return address: keeps the ABI alignment */
  *--p = (void *)entry; /* asm_switch's ret */
  for (int i = 0; i < 6; i++)
    *--p = NULL; /* rbp rbx r12-r15 */
  return p;
#else
  void **p = (void **)(sp - 160);
  memset(p, 0, 160);
  p[11] = (void *)entry; /* x30: ret jumps there */
  return p;
#endif
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--quick") != 0 && strcmp(argv[i], "switch") != 0) {
      fprintf(stderr, "asm-switch: unknown benchmark %s\n", argv[i]);
      return 2;
    }
  size_t size = 64 * 1024;
  char *stack = malloc(size);
  long n = quick ? 2000000 : 20000000;
  double best = 1e9;
  for (int rep = 0; rep < 5; rep++) {
    ctx_a = (ctx){NULL, &ctx_b.sp, n, 0};
    ctx_b = (ctx){ctx_init(stack + size), &ctx_a.sp, n + 1, 0};
    double t0 = now_s();
    loop(&ctx_a);
    double dt = now_s() - t0;
    if (ctx_a.count != n || ctx_b.count != n) {
      fprintf(stderr, "asm-switch: switch: contexts did not alternate\n");
      return 1;
    }
    double ns = dt * 1e9 / (2.0 * (double)n); /* two switches per round trip */
    if (ns < best)
      best = ns;
  }
  free(stack);
  printf("switch %.2f ns\n", best);
  return 0;
}
#else
int main(void) {
  fprintf(stderr, "asm-switch: no assembly switch for this CPU: skipped\n");
  return 77;
}
#endif
