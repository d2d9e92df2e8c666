/* actor/api/ref_codec.h - the 16 bytes of a ref in msgpack (docs/protocol.md,
 * "Refs"): the one encoding of a ref, used for refs in message bodies
 * (actor/msg.c) and in wire envelopes (transport/wire.c). Not installed.
 *
 * A ref is a msgpack ext value of type GROVE_MSGPACK_EXT_REF whose 16 bytes
 * are node, generation, and the 64-bit slot id, each big-endian. */
#ifndef GROVE_REF_CODEC_H
#define GROVE_REF_CODEC_H

#include <grove.h>

#define GROVE__REF_BYTES 16

static inline void grove__be32_put(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static inline uint32_t grove__be32_get(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The ext body of r (its node as it should appear: the caller translates
 * "this node" into its id first). */
static inline void grove__ref_encode(unsigned char b[GROVE__REF_BYTES], grove_ref r) {
  grove__be32_put(b, r.node);
  grove__be32_put(b + 4, r.gen);
  grove__be32_put(b + 8, (uint32_t)(r.id >> 32));
  grove__be32_put(b + 12, (uint32_t)r.id);
}

static inline grove_ref grove__ref_decode(const unsigned char b[GROVE__REF_BYTES]) {
  grove_ref r;
  r.node = grove__be32_get(b);
  r.gen = grove__be32_get(b + 4);
  r.id = (uint64_t)grove__be32_get(b + 8) << 32 | grove__be32_get(b + 12);
  return r;
}

/* Whether an ext value (type, size) is a ref. */
static inline int grove__is_ref_ext(int8_t type, size_t size) {
  return type == GROVE_MSGPACK_EXT_REF && size == GROVE__REF_BYTES;
}

#endif
