/* tests/arch/ctx_check.c - checks a context-switch implementation on its own,
 * without the rest of grove (no libuv): built for another architecture with
 * a cross compiler and run under qemu-user by scripts/check-arch.sh.
 *
 * Two contexts switch back and forth many times; each keeps integer and
 * floating-point values live across the switches (so callee-saved registers
 * must survive), and one changes the FP rounding mode, which must not leak
 * into the other (the FP control register is per context). */
#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void grove__ctx_switch(void **save_sp, void *load_sp);

static void *main_sp, *co_sp;
static int failures;
static volatile double sink;

#define EXPECT(c)                                                                                  \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "ctx_check: %s:%d: %s\n", __FILE__, __LINE__, #c);                           \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

static void co_entry(void) {
  double x = 1.5;
  long acc = 7;
  fesetround(FE_UPWARD);
  for (int i = 0; i < 100000; i++) {
    acc = acc * 3 + i;
    x = x * 1.0000001 + 0.25;
    grove__ctx_switch(&co_sp, main_sp);
    EXPECT(fegetround() == FE_UPWARD);
  }
  sink = x + (double)acc;
  for (;;)
    grove__ctx_switch(&co_sp, main_sp);
}

static void *ctx_init(char *hi, void (*entry)(void)) {
  uintptr_t top = (uintptr_t)hi & ~(uintptr_t)15;
#if defined(__aarch64__)
  uint64_t *sp = (uint64_t *)(top - 176);
  memset(sp, 0, 176);
  sp[11] = (uint64_t)(uintptr_t)entry; /* x30 */
  return sp;
#elif defined(__x86_64__)
  uint64_t *sp = (uint64_t *)(top - 72);
  memset(sp, 0, 72);
  sp[6] = 0x0000037F00001F80ULL;
  sp[7] = (uint64_t)(uintptr_t)entry;
  return sp;
#else
#error unsupported
#endif
}

int main(void) {
  size_t size = 256 * 1024;
  char *stack = malloc(size);
  co_sp = ctx_init(stack + size, co_entry);
  double y = 2.0;
  long acc = 11;
  for (int i = 0; i < 100000; i++) {
    acc = acc * 5 + i;
    y = y * 0.9999999 + 0.5;
    grove__ctx_switch(&main_sp, co_sp);
    EXPECT(fegetround() == FE_TONEAREST);
  }
  /* Same arithmetic without switching: the values must match exactly. */
  double y2 = 2.0;
  long acc2 = 11;
  for (int i = 0; i < 100000; i++) {
    acc2 = acc2 * 5 + i;
    y2 = y2 * 0.9999999 + 0.5;
  }
  EXPECT(y == y2);
  EXPECT(acc == acc2);
  grove__ctx_switch(&main_sp, co_sp); /* let co finish its loop */
  free(stack);
  if (failures == 0)
    printf("ctx_check: ok\n");
  return failures ? 1 : 0;
}
