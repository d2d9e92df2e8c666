/* actor/msgpack_check.c - validate msgpack bytes from a peer before
 * msgpack-c unpacks them. No dependencies: the wire fuzzer compiles it alone.
 *
 * msgpack-c allocates a container's elements as soon as it reads the
 * header, so five bytes (an array32 header claiming 4 billion elements) can
 * make it ask for gigabytes. Every count must fit in the bytes that are
 * left (each element takes at least one), and nesting stays shallow.
 */
#include "msgpack_check.h"

static size_t be32get(const unsigned char *p) {
  return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
}

/* Check that one complete msgpack object starts at p[*off], without
 * allocating: every container's count must fit in the bytes that are left
 * (so a 10-byte frame cannot make the unpacker allocate gigabytes), and
 * nesting stays shallow. Advances *off past it. */
int grove__msgpack_skim(const unsigned char *p, size_t len, size_t *off, int depth) {
  if (depth > 16 || *off >= len)
    return -1;
  unsigned c = p[(*off)++];
  size_t left = len - *off, n = 0, skip = 0, items = 0;
#define NEED(k)                                                                                    \
  do {                                                                                             \
    if (left < (k))                                                                                \
      return -1;                                                                                   \
  } while (0)
#define BE(k)                                                                                      \
  (k == 1 ? p[*off] : k == 2 ? (size_t)p[*off] << 8 | p[*off + 1] : (size_t)be32get(p + *off))
  if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
    return 0;
  if (c >= 0x80 && c <= 0x8f)
    items = 2 * (c & 0x0f);
  else if (c >= 0x90 && c <= 0x9f)
    items = c & 0x0f;
  else if (c >= 0xa0 && c <= 0xbf)
    skip = c & 0x1f;
  else
    switch (c) {
    case 0xc4:
    case 0xd9:
      NEED(1);
      skip = 1 + BE(1);
      break;
    case 0xc5:
    case 0xda:
      NEED(2);
      skip = 2 + BE(2);
      break;
    case 0xc6:
    case 0xdb:
      NEED(4);
      skip = 4 + BE(4);
      break;
    case 0xc7:
      NEED(1);
      skip = 2 + BE(1);
      break;
    case 0xc8:
      NEED(2);
      skip = 3 + BE(2);
      break;
    case 0xc9:
      NEED(4);
      skip = 5 + BE(4);
      break;
    case 0xca:
      skip = 4;
      break;
    case 0xcb:
      skip = 8;
      break;
    case 0xcc:
    case 0xd0:
      skip = 1;
      break;
    case 0xcd:
    case 0xd1:
      skip = 2;
      break;
    case 0xce:
    case 0xd2:
      skip = 4;
      break;
    case 0xcf:
    case 0xd3:
      skip = 8;
      break;
    case 0xd4:
      skip = 2;
      break;
    case 0xd5:
      skip = 3;
      break;
    case 0xd6:
      skip = 5;
      break;
    case 0xd7:
      skip = 9;
      break;
    case 0xd8:
      skip = 17;
      break;
    case 0xdc:
      NEED(2);
      items = BE(2);
      *off += 2;
      break;
    case 0xdd:
      NEED(4);
      items = BE(4);
      *off += 4;
      break;
    case 0xde:
      NEED(2);
      items = 2 * BE(2);
      *off += 2;
      break;
    case 0xdf:
      NEED(4);
      items = 2 * BE(4);
      *off += 4;
      break;
    default:
      return -1; /* 0xc1 */
    }
#undef NEED
#undef BE
  if (skip) {
    if (skip > len - *off)
      return -1;
    *off += skip;
    return 0;
  }
  if (items > len - *off) /* each item takes at least one byte */
    return -1;
  for (n = 0; n < items; n++)
    if (grove__msgpack_skim(p, len, off, depth + 1))
      return -1;
  return 0;
}
