/* transport/wire.c - the envelope codec (docs/protocol.md).
 *
 * An envelope is a msgpack array whose first two fields are the protocol
 * version (1) and the kind; the rest depends on the kind. The decoder
 * accepts exactly the documented shapes and types and nothing else: every
 * byte comes from a peer that may be buggy or hostile.
 */
#include "wire.h"
#include "msgpack_check.h"
#include "ref_codec.h"

#include <string.h>

#define skim grove__msgpack_skim

uint32_t grove__fnv1a(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h ? h : 1;
}

/* ---- encoding ----------------------------------------------------------------------- */

#define be32 grove__be32_put

void grove__pack_ref(msgpack_packer *pk, grove_ref r) {
  unsigned char b[GROVE__REF_BYTES];
  grove__ref_encode(b, r);
  msgpack_pack_ext_with_body(pk, b, sizeof b, GROVE_MSGPACK_EXT_REF);
}

static void pack_str(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  msgpack_pack_str_with_body(pk, s, n);
}

static void head(msgpack_packer *pk, size_t n, int kind) {
  msgpack_pack_array(pk, n);
  msgpack_pack_uint8(pk, GROVE__WIRE_VERSION);
  msgpack_pack_uint8(pk, (uint8_t)kind);
}

static void pack_ref_or_nil(msgpack_packer *pk, grove_ref r) {
  if (grove_ref_is_null(r))
    msgpack_pack_nil(pk);
  else
    grove__pack_ref(pk, r);
}

void grove__w_hello(msgpack_packer *pk, int kind, const char *name, uint64_t incarnation,
                    const char *endpoint, uint64_t max_message, uint64_t window) {
  head(pk, window ? 7 : 6, kind);
  pack_str(pk, name);
  msgpack_pack_uint64(pk, incarnation);
  if (endpoint)
    pack_str(pk, endpoint);
  else
    msgpack_pack_nil(pk);
  msgpack_pack_uint64(pk, max_message);
  if (window)
    msgpack_pack_uint64(pk, window);
}

/* SEND and CALL, the hot path: written byte by byte into the packer's
 * sbuffer (one capacity check instead of a write callback per field). */
static unsigned char *put_ref(unsigned char *q, grove_ref r) {
  *q++ = 0xd8; /* fixext16 */
  *q++ = GROVE_MSGPACK_EXT_REF;
  grove__ref_encode(q, r);
  return q + GROVE__REF_BYTES;
}

static unsigned char *put_str(unsigned char *q, const char *s, size_t n) {
  if (n < 32) {
    *q++ = (unsigned char)(0xa0 | n);
  } else if (n < 256) {
    *q++ = 0xd9;
    *q++ = (unsigned char)n;
  } else {
    *q++ = 0xda;
    *q++ = (unsigned char)(n >> 8);
    *q++ = (unsigned char)n;
  }
  memcpy(q, s, n);
  return q + n;
}

void grove__w_send(msgpack_packer *pk, grove_ref to, const char *to_name, grove_ref from,
                   const char *tag, const void *body, size_t body_len, int call, uint64_t call_id) {
  msgpack_sbuffer *sb = pk->data;
  size_t tag_len = strlen(tag), name_len = to_name ? strlen(to_name) : 0;
  if (pk->callback != msgpack_sbuffer_write || tag_len > 255 || name_len > 255 ||
      body_len > UINT32_MAX) {
    head(pk, call ? 7 : 6, call ? GROVE__W_CALL : GROVE__W_SEND);
    if (to_name)
      pack_str(pk, to_name);
    else
      grove__pack_ref(pk, to);
    pack_ref_or_nil(pk, from);
    pack_str(pk, tag);
    msgpack_pack_bin_with_body(pk, body, body_len);
    if (call)
      msgpack_pack_uint64(pk, call_id);
    return;
  }
  size_t need = 3 + 18 + 18 + 2 + 255 + 2 + tag_len + 5 + body_len + 9;
  if (sb->alloc - sb->size < need) {
    size_t cap = sb->alloc ? sb->alloc * 2 : 8192;
    while (cap - sb->size < need)
      cap *= 2;
    char *d = realloc(sb->data, cap);
    if (!d)
      return; /* as msgpack's own writer: the envelope is lost, the buffer intact */
    sb->data = d;
    sb->alloc = cap;
  }
  unsigned char *q = (unsigned char *)sb->data + sb->size;
  *q++ = (unsigned char)(0x90 | (call ? 7 : 6));
  *q++ = GROVE__WIRE_VERSION;
  *q++ = (unsigned char)(call ? GROVE__W_CALL : GROVE__W_SEND);
  q = to_name ? put_str(q, to_name, name_len) : put_ref(q, to);
  if (grove_ref_is_null(from))
    *q++ = 0xc0;
  else
    q = put_ref(q, from);
  q = put_str(q, tag, tag_len);
  if (body_len < 256) {
    *q++ = 0xc4;
    *q++ = (unsigned char)body_len;
  } else if (body_len < 65536) {
    *q++ = 0xc5;
    *q++ = (unsigned char)(body_len >> 8);
    *q++ = (unsigned char)body_len;
  } else {
    *q++ = 0xc6;
    be32(q, (uint32_t)body_len);
    q += 4;
  }
  if (body_len)
    memcpy(q, body, body_len);
  q += body_len;
  if (call) {
    *q++ = 0xcf;
    be32(q, (uint32_t)(call_id >> 32));
    be32(q + 4, (uint32_t)call_id);
    q += 8;
  }
  sb->size = (size_t)((char *)q - sb->data);
}

void grove__w_reply(msgpack_packer *pk, uint64_t call_id, int64_t status, grove_ref from,
                    const char *tag, const void *body, size_t body_len) {
  head(pk, 7, GROVE__W_REPLY);
  msgpack_pack_uint64(pk, call_id);
  msgpack_pack_int64(pk, status);
  pack_ref_or_nil(pk, from);
  pack_str(pk, tag);
  msgpack_pack_bin_with_body(pk, body, body_len);
}

void grove__w_simple(msgpack_packer *pk, int kind) { head(pk, 2, kind); }

void grove__w_whereis(msgpack_packer *pk, uint64_t req_id, const char *name) {
  head(pk, 4, GROVE__W_WHEREIS);
  msgpack_pack_uint64(pk, req_id);
  pack_str(pk, name);
}

void grove__w_monitor(msgpack_packer *pk, int kind, grove_ref a, grove_ref b, uint64_t id) {
  if (kind == GROVE__W_MONITOR) {
    head(pk, 5, kind); /* watcher, target, id */
    grove__pack_ref(pk, a);
    grove__pack_ref(pk, b);
  } else {
    head(pk, 4, kind); /* DEMONITOR: target, id */
    grove__pack_ref(pk, b);
  }
  msgpack_pack_uint64(pk, id);
}

void grove__w_down(msgpack_packer *pk, grove_ref watcher, uint64_t id, grove_ref target,
                   int64_t reason) {
  head(pk, 6, GROVE__W_DOWN);
  grove__pack_ref(pk, watcher);
  msgpack_pack_uint64(pk, id);
  grove__pack_ref(pk, target);
  msgpack_pack_int64(pk, reason);
}

void grove__w_link(msgpack_packer *pk, int kind, grove_ref from, grove_ref to) {
  head(pk, 4, kind);
  grove__pack_ref(pk, from);
  grove__pack_ref(pk, to);
}

void grove__w_exit(msgpack_packer *pk, grove_ref from, grove_ref to, int64_t reason, int kill) {
  head(pk, 6, GROVE__W_EXIT);
  pack_ref_or_nil(pk, from);
  grove__pack_ref(pk, to);
  msgpack_pack_int64(pk, reason);
  if (kill)
    msgpack_pack_true(pk);
  else
    msgpack_pack_false(pk);
}

void grove__w_exit2(msgpack_packer *pk, grove_ref from, grove_ref to, int64_t reason) {
  head(pk, 5, GROVE__W_EXIT2);
  pack_ref_or_nil(pk, from);
  grove__pack_ref(pk, to);
  msgpack_pack_int64(pk, reason);
}

void grove__w_credit(msgpack_packer *pk, uint64_t bytes, const grove__grant *grants, size_t n) {
  head(pk, 4, GROVE__W_CREDIT);
  msgpack_pack_uint64(pk, bytes);
  msgpack_pack_array(pk, n);
  for (size_t i = 0; i < n; i++) {
    msgpack_pack_array(pk, 2);
    grove__pack_ref(pk, grants[i].target);
    msgpack_pack_int64(pk, grants[i].credit);
  }
}

void grove__w_members(msgpack_packer *pk, size_t n) {
  head(pk, 3, GROVE__W_MEMBERS);
  msgpack_pack_array(pk, n);
}

void grove__w_member(msgpack_packer *pk, const char *name, const char *endpoint,
                     uint64_t incarnation) {
  msgpack_pack_array(pk, 3);
  pack_str(pk, name);
  pack_str(pk, endpoint);
  msgpack_pack_uint64(pk, incarnation);
}

void grove__w_global(msgpack_packer *pk, int op, const char *name, grove_ref ref,
                     uint64_t incarnation) {
  head(pk, 6, GROVE__W_GLOBAL);
  msgpack_pack_uint8(pk, (uint8_t)op);
  pack_str(pk, name);
  grove__pack_ref(pk, ref);
  msgpack_pack_uint64(pk, incarnation);
}

/* ---- decoding ------------------------------------------------------------------------ */

static int get_ref(const msgpack_object *o, grove_ref *r) {
  if (o->type != MSGPACK_OBJECT_EXT || !grove__is_ref_ext(o->via.ext.type, o->via.ext.size))
    return GROVE_EPROTO;
  *r = grove__ref_decode((const unsigned char *)o->via.ext.ptr);
  return r->id == 0 ? GROVE_EPROTO : 0;
}

static int get_ref_or_nil(const msgpack_object *o, grove_ref *r) {
  if (o->type == MSGPACK_OBJECT_NIL) {
    *r = GROVE_REF_NULL;
    return 0;
  }
  return get_ref(o, r);
}

static int get_str(const msgpack_object *o, const char **s, size_t *n, size_t max) {
  if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size > max)
    return GROVE_EPROTO;
  /* No NUL inside: the text is used as a C string once copied. */
  if (memchr(o->via.str.ptr, 0, o->via.str.size))
    return GROVE_EPROTO;
  *s = o->via.str.ptr;
  *n = o->via.str.size;
  return 0;
}

static int get_u64(const msgpack_object *o, uint64_t *v) {
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return GROVE_EPROTO;
  *v = o->via.u64;
  return 0;
}

static int get_i64(const msgpack_object *o, int64_t *v) {
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    if (o->via.u64 > INT64_MAX)
      return GROVE_EPROTO;
    *v = (int64_t)o->via.u64;
    return 0;
  }
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    *v = o->via.i64;
    return 0;
  }
  return GROVE_EPROTO;
}

static int get_bin(const msgpack_object *o, const char **p, size_t *n) {
  if (o->type != MSGPACK_OBJECT_BIN)
    return GROVE_EPROTO;
  *p = o->via.bin.ptr;
  *n = o->via.bin.size;
  return 0;
}

/* The number of fields of each kind (including version and kind). */
static const uint8_t nfields[GROVE__W_NKINDS] = {
    [GROVE__W_HELLO] = 5,   [GROVE__W_WELCOME] = 5, [GROVE__W_SEND] = 6,
    [GROVE__W_CALL] = 7,    [GROVE__W_REPLY] = 7,   [GROVE__W_HEARTBEAT] = 2,
    [GROVE__W_WHEREIS] = 4, [GROVE__W_MONITOR] = 5, [GROVE__W_DEMONITOR] = 4,
    [GROVE__W_DOWN] = 6,    [GROVE__W_LINK] = 4,    [GROVE__W_UNLINK] = 4,
    [GROVE__W_EXIT] = 6,    [GROVE__W_BYE] = 2,     [GROVE__W_CREDIT] = 4,
    [GROVE__W_EXIT2] = 5,   [GROVE__W_MEMBERS] = 3, [GROVE__W_GLOBAL] = 6,
};

/* A grant's credit: -1 (gone) to GROVE__GRANT_MAX. */
static int get_credit(const msgpack_object *o, int64_t *v) {
  if (get_i64(o, v) || *v < GROVE__GRANT_GONE || *v > (int64_t)GROVE__GRANT_MAX)
    return GROVE_EPROTO;
  return 0;
}

/* One grant as unpacked objects: [ref, credit]. */
static int get_grant(const msgpack_object *o, grove__grant *g) {
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2)
    return GROVE_EPROTO;
  if (get_ref(&o->via.array.ptr[0], &g->target))
    return GROVE_EPROTO;
  return get_credit(&o->via.array.ptr[1], &g->credit);
}

/* One MEMBERS entry as unpacked objects: [name, endpoint, incarnation]. */
static int member_fields(const msgpack_object *f, grove__wmember *m) {
  if (get_str(&f[0], &m->name, &m->name_len, GROVE__NAME_MAX) ||
      get_str(&f[1], &m->endpoint, &m->endpoint_len, 1024) || get_u64(&f[2], &m->incarnation))
    return GROVE_EPROTO;
  return 0;
}

static int get_member(const msgpack_object *o, grove__wmember *m) {
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3)
    return GROVE_EPROTO;
  return member_fields(o->via.array.ptr, m);
}

int grove__env_decode(const msgpack_object *o, grove__env *e) {
  memset(e, 0, sizeof *e);
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0)
    return GROVE_EPROTO;
  const msgpack_object *f = o->via.array.ptr;
  uint32_t n = o->via.array.size;
  uint64_t version, kind;
  if (get_u64(&f[0], &version))
    return GROVE_EPROTO;
  /* The version decides first: another version's envelope is dropped as
   * such whatever its shape (docs/protocol.md, section 12). */
  if (version != GROVE__WIRE_VERSION)
    return GROVE_ENOSYS;
  if (n < 2)
    return GROVE_EPROTO;
  if (get_u64(&f[1], &kind) || kind >= GROVE__W_NKINDS)
    return GROVE_EPROTO;
  /* HELLO and WELCOME: 5 elements, 6 with max_message, 7 with the window. */
  if (n != nfields[kind] &&
      !((kind == GROVE__W_HELLO || kind == GROVE__W_WELCOME) && n >= 5 && n <= 7))
    return GROVE_EPROTO;
  e->kind = (int)kind;
  int rc = 0;
  switch (e->kind) {
  case GROVE__W_HELLO:
  case GROVE__W_WELCOME:
    rc = get_str(&f[2], &e->name, &e->name_len, GROVE__NAME_MAX);
    if (!rc)
      rc = get_u64(&f[3], &e->id);
    if (!rc && f[4].type != MSGPACK_OBJECT_NIL)
      rc = get_str(&f[4], &e->endpoint, &e->endpoint_len, 1024);
    if (!rc && n >= 6)
      rc = get_u64(&f[5], &e->max_message);
    if (!rc && n == 7)
      rc = get_u64(&f[6], &e->window);
    break;
  case GROVE__W_CREDIT:
    rc = get_u64(&f[2], &e->bytes);
    if (!rc && f[3].type != MSGPACK_OBJECT_ARRAY)
      rc = GROVE_EPROTO;
    if (!rc) {
      /* The node's decoder hands over no elements here: it reads them
       * from the bytes itself (grove__env_next). */
      e->grants_obj = f[3].via.array.ptr;
      e->ngrants = f[3].via.array.size;
      grove__grant g;
      for (uint32_t i = 0; i < e->ngrants && !rc; i++)
        rc = get_grant(&e->grants_obj[i], &g);
    }
    break;
  case GROVE__W_MEMBERS:
    if (f[2].type != MSGPACK_OBJECT_ARRAY || f[2].via.array.size > GROVE__MEMBERS_WIRE_MAX) {
      rc = GROVE_EPROTO;
    } else {
      e->members_obj = f[2].via.array.ptr;
      e->nmembers = f[2].via.array.size;
      grove__wmember m;
      for (uint32_t i = 0; i < e->nmembers && !rc; i++)
        rc = get_member(&e->members_obj[i], &m);
    }
    break;
  case GROVE__W_GLOBAL:
    rc = get_i64(&f[2], &e->code);
    if (!rc && e->code != GROVE__GLOBAL_REGISTER && e->code != GROVE__GLOBAL_UNREGISTER)
      rc = GROVE_EPROTO;
    if (!rc)
      rc = get_str(&f[3], &e->name, &e->name_len, GROVE__NAME_MAX);
    if (!rc)
      rc = get_ref(&f[4], &e->to);
    if (!rc)
      rc = get_u64(&f[5], &e->id);
    break;
  case GROVE__W_SEND:
  case GROVE__W_CALL:
    if (f[2].type == MSGPACK_OBJECT_STR)
      rc = get_str(&f[2], &e->to_name, &e->to_name_len, GROVE__NAME_MAX);
    else
      rc = get_ref(&f[2], &e->to);
    if (!rc)
      rc = get_ref_or_nil(&f[3], &e->from);
    if (!rc)
      rc = get_str(&f[4], &e->tag, &e->tag_len, GROVE__NAME_MAX);
    if (!rc)
      rc = get_bin(&f[5], &e->body, &e->body_len);
    if (!rc && e->kind == GROVE__W_CALL)
      rc = get_u64(&f[6], &e->id);
    break;
  case GROVE__W_REPLY:
    rc = get_u64(&f[2], &e->id);
    if (!rc)
      rc = get_i64(&f[3], &e->code);
    if (!rc)
      rc = get_ref_or_nil(&f[4], &e->from);
    if (!rc)
      rc = get_str(&f[5], &e->tag, &e->tag_len, GROVE__NAME_MAX);
    if (!rc)
      rc = get_bin(&f[6], &e->body, &e->body_len);
    break;
  case GROVE__W_HEARTBEAT:
  case GROVE__W_BYE:
    break;
  case GROVE__W_WHEREIS:
    rc = get_u64(&f[2], &e->id);
    if (!rc)
      rc = get_str(&f[3], &e->name, &e->name_len, GROVE__NAME_MAX);
    break;
  case GROVE__W_MONITOR:
    rc = get_ref(&f[2], &e->from); /* watcher */
    if (!rc)
      rc = get_ref(&f[3], &e->to); /* target */
    if (!rc)
      rc = get_u64(&f[4], &e->id);
    break;
  case GROVE__W_DEMONITOR:
    rc = get_ref(&f[2], &e->to);
    if (!rc)
      rc = get_u64(&f[3], &e->id);
    break;
  case GROVE__W_DOWN:
    rc = get_ref(&f[2], &e->to); /* watcher */
    if (!rc)
      rc = get_u64(&f[3], &e->id);
    if (!rc)
      rc = get_ref(&f[4], &e->from); /* target */
    if (!rc)
      rc = get_i64(&f[5], &e->code);
    break;
  case GROVE__W_LINK:
  case GROVE__W_UNLINK:
    rc = get_ref(&f[2], &e->from);
    if (!rc)
      rc = get_ref(&f[3], &e->to);
    break;
  case GROVE__W_EXIT:
    rc = get_ref_or_nil(&f[2], &e->from);
    if (!rc)
      rc = get_ref(&f[3], &e->to);
    if (!rc)
      rc = get_i64(&f[4], &e->code);
    if (!rc) {
      if (f[5].type != MSGPACK_OBJECT_BOOLEAN)
        rc = GROVE_EPROTO;
      else
        e->kill = f[5].via.boolean;
    }
    break;
  case GROVE__W_EXIT2:
    rc = get_ref_or_nil(&f[2], &e->from);
    if (!rc)
      rc = get_ref(&f[3], &e->to);
    if (!rc)
      rc = get_i64(&f[4], &e->code);
    break;
  default:
    rc = GROVE_EPROTO;
  }
  if (rc == 0 && (e->code < INT32_MIN || e->code > INT32_MAX))
    rc = GROVE_EPROTO;
  return rc;
}

int grove__frame_next(const char *buf, size_t len, size_t *off, msgpack_unpacked *u) {
  if (*off >= len)
    return 0;
  size_t end = *off;
  if (skim((const unsigned char *)buf, len, &end, 0))
    return GROVE_EPROTO;
  msgpack_unpack_return r = msgpack_unpack_next(u, buf, len, off);
  if (r == MSGPACK_UNPACK_SUCCESS || r == MSGPACK_UNPACK_EXTRA_BYTES)
    return 1;
  return GROVE_EPROTO; /* continue (truncated), parse error, nomem */
}

/* ---- decoding straight from the bytes ---------------------------------------------------------
 *
 * The node's hot path: no zone, no allocation. skim() has checked the whole
 * envelope; its fields are scalars (a container field is invalid in every
 * kind), so each is read into a msgpack_object pointing into the frame and
 * the same validation as grove__env_decode applies. */

static uint64_t be(const unsigned char *p, int k) {
  uint64_t v = 0;
  for (int i = 0; i < k; i++)
    v = v << 8 | p[i];
  return v;
}

/* One object at p[*o] (known to be complete): a scalar, or a container
 * reported as an empty array (and skipped). */
static void read_field(const unsigned char *p, size_t len, size_t *o, msgpack_object *f) {
  size_t at = *o;
  unsigned c = p[at++];
  size_t size = 0; /* bytes after the type byte */
  memset(f, 0, sizeof *f);
  if (c <= 0x7f) {
    f->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    f->via.u64 = c;
  } else if (c >= 0xe0) {
    f->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    f->via.i64 = (int8_t)c;
  } else if (c >= 0xa0 && c <= 0xbf) {
    f->type = MSGPACK_OBJECT_STR;
    f->via.str.size = c & 0x1f;
    f->via.str.ptr = (const char *)p + at;
    size = f->via.str.size;
  } else if ((c >= 0x80 && c <= 0x9f) || (c >= 0xdc && c <= 0xdf)) {
    f->type = MSGPACK_OBJECT_ARRAY; /* a container: invalid as a field */
    size_t end = *o;
    skim(p, len, &end, 0);
    *o = end;
    return;
  } else {
    switch (c) {
    case 0xc0:
      f->type = MSGPACK_OBJECT_NIL;
      break;
    case 0xc2:
    case 0xc3:
      f->type = MSGPACK_OBJECT_BOOLEAN;
      f->via.boolean = c == 0xc3;
      break;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
      size = 1u << (c - 0xcc);
      f->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
      f->via.u64 = be(p + at, (int)size);
      break;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      int k = 1 << (c - 0xd0);
      uint64_t u = be(p + at, k);
      int64_t v = k == 1 ? (int8_t)u : k == 2 ? (int16_t)u : k == 4 ? (int32_t)u : (int64_t)u;
      f->type = v < 0 ? MSGPACK_OBJECT_NEGATIVE_INTEGER : MSGPACK_OBJECT_POSITIVE_INTEGER;
      if (v < 0)
        f->via.i64 = v;
      else
        f->via.u64 = (uint64_t)v;
      size = (size_t)k;
      break;
    }
    case 0xd9:
    case 0xda:
    case 0xdb:
    case 0xc4:
    case 0xc5:
    case 0xc6: {
      int k = (c >= 0xd9) ? 1 << (c - 0xd9) : 1 << (c - 0xc4);
      f->type = c >= 0xd9 ? MSGPACK_OBJECT_STR : MSGPACK_OBJECT_BIN;
      f->via.str.size = (uint32_t)be(p + at, k);
      f->via.str.ptr = (const char *)p + at + k;
      size = (size_t)k + f->via.str.size;
      break;
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      f->type = MSGPACK_OBJECT_EXT;
      f->via.ext.type = (int8_t)p[at];
      f->via.ext.size = 1u << (c - 0xd4);
      f->via.ext.ptr = (const char *)p + at + 1;
      size = 1 + f->via.ext.size;
      break;
    case 0xc7:
    case 0xc8:
    case 0xc9: {
      int k = 1 << (c - 0xc7);
      f->type = MSGPACK_OBJECT_EXT;
      f->via.ext.size = (uint32_t)be(p + at, k);
      f->via.ext.type = (int8_t)p[at + k];
      f->via.ext.ptr = (const char *)p + at + k + 1;
      size = (size_t)k + 1 + f->via.ext.size;
      break;
    }
    default: { /* floats and the rest: never valid in an envelope */
      f->type = MSGPACK_OBJECT_FLOAT64;
      size_t end = *o;
      skim(p, len, &end, 0);
      *o = end;
      return;
    }
    }
  }
  *o = at + size; /* within the envelope: skim checked every length */
}

/* An array header at p[*o] (the bytes are there: skim checked them). */
static int array_header(const unsigned char *p, size_t *o, uint32_t *n) {
  unsigned c = p[*o];
  if (c >= 0x90 && c <= 0x9f) {
    *n = c & 0x0f;
    *o += 1;
  } else if (c == 0xdc) {
    *n = (uint32_t)be(p + *o + 1, 2);
    *o += 3;
  } else if (c == 0xdd) {
    *n = (uint32_t)be(p + *o + 1, 4);
    *o += 5;
  } else {
    return GROVE_EPROTO;
  }
  return 0;
}

/* One grant [ref, credit] at p[*o], within end. */
static int raw_grant(const unsigned char *p, size_t end, size_t *o, grove__grant *g) {
  uint32_t k;
  if (array_header(p, o, &k) || k != 2)
    return GROVE_EPROTO;
  msgpack_object r, c;
  read_field(p, end, o, &r);
  read_field(p, end, o, &c);
  if (get_ref(&r, &g->target) || get_credit(&c, &g->credit))
    return GROVE_EPROTO;
  return 0;
}

/* Validate the grants array p[at..end) of a CREDIT (one whole object, skim
 * checked it) and count them. */
static int raw_grants(const unsigned char *p, size_t at, size_t end, uint32_t *count) {
  size_t o = at;
  if (array_header(p, &o, count))
    return GROVE_EPROTO;
  grove__grant g;
  for (uint32_t i = 0; i < *count; i++)
    if (o >= end || raw_grant(p, end, &o, &g))
      return GROVE_EPROTO;
  return o == end ? 0 : GROVE_EPROTO;
}

/* One MEMBERS entry [name, endpoint, incarnation] at p[*o], within end. */
static int raw_member(const unsigned char *p, size_t end, size_t *o, grove__wmember *m) {
  uint32_t k;
  if (*o >= end || array_header(p, o, &k) || k != 3)
    return GROVE_EPROTO;
  msgpack_object f[3];
  for (int i = 0; i < 3; i++) {
    if (*o >= end)
      return GROVE_EPROTO;
    read_field(p, end, o, &f[i]);
  }
  return member_fields(f, m);
}

/* Validate the entries array p[at..end) of a MEMBERS and count them. */
static int raw_members(const unsigned char *p, size_t at, size_t end, uint32_t *count) {
  size_t o = at;
  if (array_header(p, &o, count) || *count > GROVE__MEMBERS_WIRE_MAX)
    return GROVE_EPROTO;
  grove__wmember m;
  for (uint32_t i = 0; i < *count; i++)
    if (raw_member(p, end, &o, &m))
      return GROVE_EPROTO;
  return o == end ? 0 : GROVE_EPROTO;
}

int grove__member_next(grove__member_iter *it, grove__wmember *m) {
  const grove__env *e = it->e;
  if (it->i >= e->nmembers)
    return 0;
  if (e->members_obj) {
    if (get_member(&e->members_obj[it->i], m))
      return 0; /* cannot happen: the decoder checked them */
  } else {
    const unsigned char *p = (const unsigned char *)e->members;
    if (it->off == 0) {
      uint32_t n;
      if (array_header(p, &it->off, &n))
        return 0;
    }
    if (raw_member(p, e->members_len, &it->off, m))
      return 0;
  }
  it->i++;
  return 1;
}

int grove__grant_next(grove__grant_iter *it, grove__grant *g) {
  const grove__env *e = it->e;
  if (it->i >= e->ngrants)
    return 0;
  if (e->grants_obj) {
    if (get_grant(&e->grants_obj[it->i], g))
      return 0; /* cannot happen: the decoder checked them */
  } else {
    const unsigned char *p = (const unsigned char *)e->grants;
    if (it->off == 0) {
      uint32_t n;
      if (array_header(p, &it->off, &n))
        return 0;
    }
    if (raw_grant(p, e->grants_len, &it->off, g))
      return 0;
  }
  it->i++;
  return 1;
}

grove__env_outcome grove__env_next(const char *buf, size_t len, size_t *off, grove__env *e) {
  if (*off >= len)
    return GROVE__ENV_END;
  const unsigned char *p = (const unsigned char *)buf;
  size_t start = *off, end = start;
  if (skim(p, len, &end, 0))
    return GROVE__ENV_GARBAGE; /* the rest of the frame is not msgpack */
  *off = end;
  unsigned c = p[start];
  size_t n, o = start + 1;
  if (c >= 0x90 && c <= 0x9f)
    n = c & 0x0f;
  else if (c == 0xdc) {
    n = (size_t)be(p + o, 2);
    o += 2;
  } else if (c == 0xdd) {
    n = (size_t)be(p + o, 4);
    o += 4;
  } else {
    return GROVE__ENV_MALFORMED; /* one bad envelope: the caller goes on */
  }
  if (n == 0)
    return GROVE__ENV_MALFORMED;
  if (n < 2 || n > 8) {
    /* The version decides first (docs/protocol.md, section 12): an array
     * whose first element is an integer other than 1 is another version's,
     * whatever its length; otherwise too short or too long for version 1. */
    msgpack_object v;
    read_field(p, end, &o, &v);
    return v.type == MSGPACK_OBJECT_POSITIVE_INTEGER && v.via.u64 != GROVE__WIRE_VERSION
               ? GROVE__ENV_VERSION
               : GROVE__ENV_MALFORMED;
  }
  msgpack_object f[8];
  size_t at[8];
  for (size_t i = 0; i < n; i++) {
    at[i] = o;
    read_field(p, end, &o, &f[i]);
  }
  msgpack_object arr = {.type = MSGPACK_OBJECT_ARRAY};
  arr.via.array.size = (uint32_t)n;
  arr.via.array.ptr = f;
  /* A MEMBERS envelope's entries are its one container (read_field reports
   * it as an empty array): checked from the bytes below. */
  int rc = grove__env_decode(&arr, e);
  if (rc == 0 && e->kind == GROVE__W_MEMBERS) {
    uint32_t count;
    if (raw_members(p, at[2], o, &count) != 0)
      return GROVE__ENV_MALFORMED;
    e->members = buf + at[2];
    e->members_len = o - at[2];
    e->members_obj = NULL;
    e->nmembers = count;
  }
  if (rc == 0 && e->kind == GROVE__W_CREDIT) {
    /* The grants are the one container an envelope has: read them here. */
    uint32_t count;
    if (raw_grants(p, at[3], o, &count) != 0)
      return GROVE__ENV_MALFORMED;
    e->grants = buf + at[3];
    e->grants_len = o - at[3];
    e->ngrants = count;
  }
  if (rc == 0)
    return GROVE__ENV_OK;
  return rc == GROVE_ENOSYS ? GROVE__ENV_VERSION : GROVE__ENV_MALFORMED;
}

int grove__wire_ref(const char *buf, size_t len, grove_ref *r) {
  const unsigned char *p = (const unsigned char *)buf;
  size_t end = 0, o = 0;
  if (skim(p, len, &end, 0) || end != len)
    return GROVE_EPROTO;
  msgpack_object f;
  read_field(p, len, &o, &f);
  return get_ref(&f, r);
}
