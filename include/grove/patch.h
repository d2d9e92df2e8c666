/* grove/patch.h - the grove-patch library: monkey patching for C.
 *
 * libgrove-patch.so interposes blocking libc calls (read, write, recv,
 * send, connect, accept, poll, select, sleep, nanosleep, getaddrinfo... the
 * list is in docs/patch.md) so that, called on a greenlet, they block only
 * that greenlet: existing blocking C libraries (libcurl's easy API,
 * hiredis) run concurrently in greenlets. On any thread without a grove
 * hub, in the hub's own context, and when grove, libuv or libzmq make the
 * call, they are libc's calls, unchanged.
 *
 * Put it in front of libc: LD_PRELOAD=libgrove-patch.so ./program, or link
 * the program with it (pkg-config grove-patch, CMake grove::grove-patch).
 * It works with the shared libgrove. Including this header is optional: it
 * only declares two queries, and is not part of <grove.h>.
 */
#ifndef GROVE_PATCH_H
#define GROVE_PATCH_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

typedef struct grove_patch_stats {
  uint64_t calls; /* interposed calls made where they may wait through the hub */
  uint64_t waits; /* times such a call waited through the hub */
} grove_patch_stats;

/* True when the patch is in effect: a read(2) made by the program reaches
 * the patch library (linked before libc or preloaded). Never blocks. */
bool grove_patch_active(void);

/* The process-wide counters since the start (all threads). */
void grove_patch_get_stats(grove_patch_stats *out);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
