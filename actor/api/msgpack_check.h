/* actor/msgpack_check.h - see msgpack_check.c. Not installed. */
#ifndef GROVE_MSGPACK_CHECK_H
#define GROVE_MSGPACK_CHECK_H

#include <stddef.h>

/* Check that one complete msgpack object starts at p[*off] and advance
 * *off past it. Returns 0, or -1 (truncated, malformed, a count larger than
 * the bytes left, nesting deeper than 16). Allocates nothing. */
int grove__msgpack_skim(const unsigned char *p, size_t len, size_t *off, int depth);

#endif
