/* overflow_frames.c - recursion with frames of a chosen size, for
 * test_overflow.c, built twice: as overflow_plain.o without stack-clash
 * protection (a user's code that does not use the flag: a large frame moves
 * the stack pointer in one step and writes only at its far end) and as
 * overflow_probed.o with it (every page of the frame is touched in order).
 * OVERFLOW_FN names the function. */
#include <alloca.h>
#include <stddef.h>

int OVERFLOW_FN(int n, size_t frame);

/* Bounded only in name: the stack ends long before n does. */
__attribute__((noinline)) int OVERFLOW_FN(int n, size_t frame) {
  volatile char *f = alloca(frame);
  f[0] = (char)n; /* the lowest byte: the far end of the frame */
  if (n > (1 << 30))
    return 0;
  return OVERFLOW_FN(n + 1, frame) + f[0];
}
