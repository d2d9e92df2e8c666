/* hub/core/stack.c - stacks, the copy-out of shared stacks, and context switches.
 *
 * Design notes.
 *
 * Two kinds of stacks:
 *   - dedicated: an mmap'd region with a PROT_NONE guard region below it, owned
 *     by one greenlet while it lives and cached by the hub afterwards (one
 *     mmap + one mprotect make two kernel mappings, so a process can only
 *     hold ~32k of them under the default vm.max_map_count of 65530);
 *   - shared: a hub has GROVE__NSHARED shared stacks (also guarded). Greenlets
 *     are assigned one when they first run. Only one greenlet's frames can be
 *     on a stack at a time (its "occupant"); when the hub resumes a greenlet
 *     whose stack is occupied by another suspended greenlet, it first copies
 *     the occupant's used bytes, [sp, top), out to a heap buffer, then copies
 *     the resumed greenlet's saved bytes back in. This is Python greenlet's
 *     method: an idle greenlet costs the bytes its frames use (a few hundred),
 *     not a page-rounded stack. Several shared stacks mean that greenlets
 *     which alternate (ping-pong, producer/consumer) usually sit on different
 *     stacks and no copy happens at all.
 *
 * The copy is always done from the hub's own (dedicated) stack, never while
 * running on the stack being overwritten.
 *
 * Stack overflow. The guard below every stack is GROVE__GUARD_SIZE (64 KiB)
 * of PROT_NONE, not one page: a function whose frame is larger than the
 * guard moves the stack pointer past it, and its first write lands in
 * whatever lies below (another greenlet's stack: silent corruption). The
 * guard costs address space only (the same two mappings, no memory), and
 * catches frames up to its size in any code; code built with
 * -fstack-clash-protection (the library is, and grove.pc / the CMake
 * package give the flag to users) probes every page of a large frame, so
 * it hits the guard whatever the frame's size. A SIGSEGV handler on an
 * alternate signal stack names the greenlet when the faulting address is in
 * the running greenlet's guard or its stack pointer is below its stack
 * (a fault beyond the guard with the stack pointer already out), then lets
 * the signal kill the process as it would have anyway.
 *
 * AddressSanitizer follows the switches through the fiber annotations; the
 * copy routines are not instrumented (they read frames' redzones on purpose)
 * and a shared stack is unpoisoned when another greenlet's frames are copied
 * onto it.
 */
#include "internal.h"

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#define GROVE_VALGRIND 1
#endif
#endif
#ifndef GROVE_VALGRIND
#define GROVE_VALGRIND 0
#endif

#if GROVE_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define GROVE__NO_ASAN __attribute__((no_sanitize_address))
#else
#define GROVE__NO_ASAN
#endif

/* Memcheck marks the part of a stack below the last stack pointer it saw
 * there as inaccessible; copying a greenlet's frames back (or building a
 * first frame) writes exactly there. Tell it the bytes are ours again. */
static inline void stack_writable(void *p, size_t n) {
#if GROVE_VALGRIND
  VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#else
  (void)p;
  (void)n;
#endif
}

/* Frames left on a stack that is dropped or reused (a greenlet that never
 * returned, the hub) leave ASan's shadow poisoned for that address range. */
static void stack_unpoison(const grove__stack *s) {
#if GROVE_ASAN
  ASAN_UNPOISON_MEMORY_REGION(s->lo, (size_t)(s->hi - s->lo));
#else
  (void)s;
#endif
}

static size_t page_size(void) {
  static size_t ps;
  if (ps == 0) {
    long v = sysconf(_SC_PAGESIZE);
    ps = v > 0 ? (size_t)v : 4096;
  }
  return ps;
}

static int stack_map(grove__stack *s, size_t size) {
  size_t ps = page_size();
  size = (size + ps - 1) & ~(ps - 1);
  size_t guard = (GROVE__GUARD_SIZE + ps - 1) & ~(ps - 1);
  size_t len = size + guard;
  char *m =
      mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED)
    return GROVE_ENOMEM;
  if (mprotect(m, guard, PROT_NONE) != 0) {
    munmap(m, len);
    return GROVE_ENOMEM;
  }
  s->map = m;
  s->maplen = len;
  s->lo = m + guard;
  s->hi = m + len;
  s->next = NULL;
#if GROVE_VALGRIND
  (void)VALGRIND_STACK_REGISTER(s->lo, s->hi);
#endif
  stack_unpoison(s);
  return 0;
}

static void stack_unmap(grove__stack *s) {
  if (s->map) {
    stack_unpoison(s);
    munmap(s->map, s->maplen);
  }
  s->map = NULL;
}

int grove__stack_alloc(grove_hub *hub, grove__stack **out, size_t size) {
  if (size == GROVE__DEDICATED_DEFAULT && hub->stack_cache) {
    grove__stack *s = hub->stack_cache;
    hub->stack_cache = s->next;
    hub->nstack_cache--;
    stack_unpoison(s);
    *out = s;
    return 0;
  }
  grove__stack *s = malloc(sizeof *s);
  if (!s)
    return GROVE_ENOMEM;
  int rc = stack_map(s, size);
  if (rc) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void grove__stack_free(grove_hub *hub, grove__stack *s, size_t size) {
  if (size == GROVE__DEDICATED_DEFAULT && hub->nstack_cache < 64 && !hub->closing) {
    s->next = hub->stack_cache;
    hub->stack_cache = s;
    hub->nstack_cache++;
    return;
  }
  stack_unmap(s);
  free(s);
}

void grove__stack_cache_drain(grove_hub *hub) {
  while (hub->stack_cache) {
    grove__stack *s = hub->stack_cache;
    hub->stack_cache = s->next;
    stack_unmap(s);
    free(s);
  }
  hub->nstack_cache = 0;
}

int grove__shared_init(grove__shared *sh) {
  sh->occupant = NULL;
  return stack_map(&sh->stack, GROVE__SHARED_SIZE);
}

void grove__shared_release(grove__shared *sh) {
  stack_unmap(&sh->stack);
  sh->occupant = NULL;
}

/* ---- copying shared stacks ---------------------------------------------- */

#if GROVE_ASAN
GROVE__NO_ASAN static void raw_copy(char *dst, const char *src, size_t n) {
  /* Not memcpy: under ASan it would check (and refuse) the redzones of the
   * frames being copied. The volatile stops the loop from being turned back
   * into a memcpy call. */
  volatile char *d = dst;
  for (size_t i = 0; i < n; i++)
    d[i] = src[i];
}
#endif

static void copy_out(grove_greenlet *occ, grove__shared *sh) {
  if ((char *)occ->sp < sh->stack.lo)
    occ->sp = sh->stack.lo; /* the ucontext fallback's bound may undershoot */
  size_t len = (size_t)(sh->stack.hi - (char *)occ->sp);
  if (len > occ->saved_cap) {
    size_t cap = (len + 63) & ~(size_t)63;
    char *buf = realloc(occ->saved, cap);
    if (!buf) {
      /* Out of memory with a greenlet's frames on the stack we need: there is
       * no way to continue without corrupting one of them. */
      grove_logf(GROVE_LOG_ERROR, "out of memory saving the stack of greenlet %llu",
                 (unsigned long long)occ->id);
      abort();
    }
    occ->saved = buf;
    occ->saved_cap = (uint32_t)cap;
  }
#if GROVE_ASAN
  raw_copy(occ->saved, occ->sp, len);
#else
  memcpy(occ->saved, occ->sp, len);
#endif
  occ->saved_len = (uint32_t)len;
}

static void copy_in(grove_greenlet *g, grove__shared *sh) {
  stack_writable(sh->stack.hi - g->saved_len, g->saved_len);
#if GROVE_ASAN
  ASAN_UNPOISON_MEMORY_REGION(sh->stack.lo, (size_t)(sh->stack.hi - sh->stack.lo));
  raw_copy(sh->stack.hi - g->saved_len, g->saved, g->saved_len);
#else
  memcpy(sh->stack.hi - g->saved_len, g->saved, g->saved_len);
#endif
  /* Keep the buffer for the next copy-out unless it is much larger than
   * needed: idle greenlets should cost only what their frames use. */
  if (g->saved_cap > 4096 && g->saved_len < g->saved_cap / 4) {
    free(g->saved);
    g->saved = NULL;
    g->saved_cap = 0;
  }
  g->saved_len = 0;
}

/* Make the shared stack of g hold g's frames. Called from the hub only. */
void grove__stack_swap_in(grove_hub *hub, grove_greenlet *g) {
  grove__shared *sh = &hub->shared[g->shared];
  grove_greenlet *occ = sh->occupant;
  if (occ == g)
    return;
  if (occ != NULL)
    copy_out(occ, sh);
  if (g->state != GROVE__NEW)
    copy_in(g, sh);
#if GROVE_ASAN
  else
    ASAN_UNPOISON_MEMORY_REGION(sh->stack.lo, (size_t)(sh->stack.hi - sh->stack.lo));
#endif
  sh->occupant = g;
}

/* ---- context initialisation and switching --------------------------------- */

#if GROVE_CTX_ASM
void *grove__ctx_init(grove_greenlet *g, char *stack_hi, void (*entry)(void)) {
  (void)g;
  uintptr_t top = (uintptr_t)stack_hi & ~(uintptr_t)15;
  stack_writable((char *)top - 256, 256);
#if defined(__x86_64__)
  /* Layout popped by grove__ctx_switch: r15, r14, r13, r12, rbx, rbp, the
   * FP control words, the return address (= entry), then a zero "return
   * address" for entry so that backtraces stop there. After the final jump,
   * rsp % 16 == 8 as at any function entry. */
  uint64_t *sp = (uint64_t *)(top - 72);
  for (int i = 0; i < 6; i++)
    sp[i] = 0;
  sp[6] = 0x0000037F00001F80ULL; /* MXCSR 0x1F80, x87 control word 0x037F */
  sp[7] = (uint64_t)(uintptr_t)entry;
  sp[8] = 0;
  return sp;
#elif defined(__aarch64__)
  uint64_t *sp = (uint64_t *)(top - 176);
  memset(sp, 0, 176);
  sp[11] = (uint64_t)(uintptr_t)entry; /* x30 at offset 88 */
  return sp;
#else
#error "GROVE_CTX_ASM set for an unsupported architecture"
#endif
}
#else
/* The portable fallback: ucontext. Slower (swapcontext makes a system call to
 * save the signal mask). The registers are saved in the greenlet's heap
 * ucontext_t, so only the stack needs copying for shared stacks; the "stack
 * pointer" recorded for that (grove__ctx_jump) is a conservative bound below
 * the switching frame. */
void *grove__ctx_init(grove_greenlet *g, char *stack_hi, void (*entry)(void)) {
  if (!g->uc && !(g->uc = calloc(1, sizeof *g->uc)))
    return NULL;
  getcontext(g->uc);
  char *lo = g->stack ? g->stack->lo : g->hub->shared[g->shared].stack.lo;
  g->uc->uc_stack.ss_sp = lo;
  g->uc->uc_stack.ss_size = (size_t)(stack_hi - lo);
  g->uc->uc_link = NULL;
  makecontext(g->uc, entry, 0);
  return g->uc;
}
#endif

#if GROVE_ASAN
/* The main greenlet's stack is the thread's own. */
static void main_stack_bounds(grove_hub *hub) {
  pthread_attr_t attr;
  void *addr;
  size_t size;
  if (pthread_getattr_np(pthread_self(), &attr) != 0)
    return;
  if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
    hub->main_lo = addr;
    hub->main_size = size;
  }
  pthread_attr_destroy(&attr);
}

static void stack_bounds(grove_hub *hub, grove_greenlet *g, const void **lo, size_t *size) {
  if (g->head.flags & GROVE__F_MAIN) {
    if (!hub->main_lo)
      main_stack_bounds(hub);
    *lo = hub->main_lo;
    *size = hub->main_size;
  } else if (g->stack) {
    *lo = g->stack->lo;
    *size = (size_t)(g->stack->hi - g->stack->lo);
  } else {
    grove__shared *sh = &hub->shared[g->shared];
    *lo = sh->stack.lo;
    *size = (size_t)(sh->stack.hi - sh->stack.lo);
  }
}
#endif

void grove__ctx_jump(grove_hub *hub, grove_greenlet *from, grove_greenlet *to) {
  hub->head.current = to;
  atomic_store_explicit(&hub->switches,
                        atomic_load_explicit(&hub->switches, memory_order_relaxed) + 1,
                        memory_order_relaxed);
#if GROVE_ASAN
  const void *lo;
  size_t size;
  stack_bounds(hub, to, &lo, &size);
  __sanitizer_start_switch_fiber(from->state == GROVE__DEAD ? NULL : &from->asan_fake, lo, size);
#endif
#if GROVE_CTX_ASM
  grove__ctx_switch(&from->sp, to->sp);
#else
  if (!from->uc && !(from->uc = calloc(1, sizeof *from->uc))) {
    grove_logf(GROVE_LOG_ERROR, "out of memory switching context");
    abort();
  }
  /* Everything swapcontext will need of this stack lies above this bound:
   * this frame, and the call into swapcontext just below it. */
  volatile char marker;
  from->sp = (char *)&marker - 1024;
  swapcontext(from->uc, to->uc);
#endif
#if GROVE_ASAN
  const void *old_lo;
  size_t old_size;
  __sanitizer_finish_switch_fiber(from->asan_fake, &old_lo, &old_size);
#endif
}

/* Called first thing on a new context (the hub or a greenlet). */
void grove__ctx_started(grove_hub *hub) {
  (void)hub;
#if GROVE_ASAN
  const void *old_lo;
  size_t old_size;
  __sanitizer_finish_switch_fiber(NULL, &old_lo, &old_size);
#endif
}

/* ---- stack overflow reporting --------------------------------------------- */

#if !GROVE_ASAN /* ASan reports stack overflows itself */
static struct sigaction old_segv, old_bus;

static int in_guard(const grove__stack *s, const char *addr) {
  return s && s->map && addr >= s->map && addr < s->lo;
}

/* The interrupted context's stack pointer, NULL where unknown. */
static const char *fault_sp(void *uctx) {
  const ucontext_t *uc = uctx;
#if defined(__x86_64__)
  return (const char *)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
  return (const char *)uc->uc_mcontext.sp;
#else
  (void)uc;
  return NULL;
#endif
}

/* An overflow: the fault is in the guard, or the stack pointer has left
 * the stack downwards (a frame larger than the guard, in code built
 * without stack-clash protection, faulting below it). */
static int overflowed(const grove__stack *s, const char *addr, const char *sp) {
  if (!s || !s->map)
    return 0;
  return in_guard(s, addr) || (sp && sp < s->lo && sp > s->lo - (64 << 20));
}

static void overflow_handler(int sig, siginfo_t *si, void *uctx) {
  grove_hub *hub = grove__tls_hub;
  const char *addr = si->si_addr;
  if (hub && hub->head.current) {
    grove_greenlet *g = hub->head.current;
    const grove__stack *s = NULL;
    size_t size = 0;
    const char *kind = "dedicated";
    if (g->stack) {
      s = g->stack;
      size = (size_t)(s->hi - s->lo);
    } else if (!(g->head.flags & (GROVE__F_MAIN | GROVE__F_HUB))) {
      s = &hub->shared[g->shared].stack;
      size = GROVE__SHARED_SIZE;
      kind = "shared";
    } else if (g->head.flags & GROVE__F_HUB) {
      s = g->stack;
    }
    if (overflowed(s, addr, fault_sp(uctx))) {
      char buf[256];
      int n = snprintf(buf, sizeof buf,
                       "grove: stack overflow in greenlet %llu \"%s\" (%s stack of %zu bytes); "
                       "spawn it with %sa larger stack_size\n",
                       (unsigned long long)g->id, g->name ? g->name : "", kind, size,
                       g->stack ? "" : "GROVE_STACK_DEDICATED and ");
      if (n > 0)
        (void)!write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    }
  }
  /* Restore the previous disposition and return: the faulting instruction
   * runs again and the signal is delivered as it would have been. */
  sigaction(sig, sig == SIGSEGV ? &old_segv : &old_bus, NULL);
}

static pthread_once_t overflow_once = PTHREAD_ONCE_INIT;

static void overflow_install_once(void) {
  struct sigaction cur;
  if (sigaction(SIGSEGV, NULL, &cur) != 0)
    return;
  /* Leave a program's own SIGSEGV handler (or a sanitizer's) alone. */
  if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler != SIG_DFL)
    return;
  if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction != NULL)
    return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = overflow_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &old_segv);
  sigaction(SIGBUS, &sa, &old_bus);
}
#endif

void grove__overflow_altstack_release(grove_hub *hub) {
  if (hub->altstack) {
    stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    free(hub->altstack);
    hub->altstack = NULL;
  }
}

/* The handler is process-wide; the alternate stack it runs on is per
 * thread (sigaltstack), so it belongs to the thread's hub. */
void grove__overflow_handler_install(grove_hub *hub) {
#if !GROVE_ASAN
  pthread_once(&overflow_once, overflow_install_once);
  if (hub->altstack == NULL) {
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_DISABLE)) {
      size_t sz = 64 * 1024;
      void *p = malloc(sz);
      if (p) {
        stack_t ss = {.ss_sp = p, .ss_size = sz, .ss_flags = 0};
        if (sigaltstack(&ss, NULL) == 0)
          hub->altstack = p;
        else
          free(p);
      }
    }
  }
#endif
}
