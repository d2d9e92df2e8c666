/* actor/msg.c - messages: a tag and a msgpack body.
 *
 * Design notes: a message is built once by its sender and handed over by
 * pointer (a local send copies nothing). The body is a plain msgpack byte
 * stream - a sequence of objects, not wrapped in an array - so the bytes a
 * remote send puts on the wire are exactly the bytes the sender packed, and
 * any msgpack implementation can produce or read them. Unpacking is lazy and
 * happens once, into a zone owned by the message. Message structs are cached
 * per hub, so the ping-pong of empty messages does not touch malloc.
 */
#include "actor_internal.h"
#include "msgpack_check.h"

#include <string.h>

#define MSG_CACHE_MAX 4096

grove_msg *grove__msg_alloc(grove__actor_sys *sys) {
  grove_msg *m = sys->free_msgs;
  if (m) {
    sys->free_msgs = m->next;
    sys->nfree_msgs--;
  } else if (!(m = malloc(sizeof *m))) {
    return NULL;
  }
  /* Every field before tag_inline, explicitly (cheaper than a memset). */
  m->next = NULL;
  m->sender = GROVE_REF_NULL;
  m->caller = NULL;
  m->token = 0;
  m->body.size = 0;
  m->pk.data = NULL;
  m->pk.callback = NULL;
  m->zone = NULL;
  m->objs = NULL;
  m->nobjs = 0;
  m->blob = NULL;
  m->blob_len = 0;
  m->blob_free = NULL;
  m->error = 0;
  m->flags = 0;
  m->remote = 0;
  m->origin = 0;
  m->tag = m->tag_inline;
  m->body.data = m->body_inline;
  m->body.alloc = GROVE__MSG_BODY_INLINE;
  return m;
}

static void msg_destroy(grove_msg *m) { free(m); }

void grove__msg_release(grove__actor_sys *sys, grove_msg *m) {
  if (GROVE__UNLIKELY(m->caller != NULL) && grove__greenlet_hub(m->caller) != grove__hub_peek()) {
    /* A request whose caller is on another hub holds that greenlet: it is
     * released there (greenlets are their hub's), so the message goes home
     * to be freed. */
    grove__x_msg_home(m);
    return;
  }
  if (m->tag != m->tag_inline)
    free(m->tag);
  if (m->body.data != m->body_inline)
    free(m->body.data);
  if (m->blob_free && m->blob)
    m->blob_free(m->blob);
  if (m->caller)
    grove_greenlet_release(m->caller);
  if (m->zone)
    msgpack_zone_free(m->zone);
  if (sys && sys->nfree_msgs < MSG_CACHE_MAX) {
    m->next = sys->free_msgs;
    sys->free_msgs = m;
    sys->nfree_msgs++;
  } else {
    msg_destroy(m);
  }
}

void grove__msg_cache_drain(grove__actor_sys *sys) {
  while (sys->free_msgs) {
    grove_msg *m = sys->free_msgs;
    sys->free_msgs = m->next;
    msg_destroy(m);
  }
  sys->nfree_msgs = 0;
  if (sys->scratch) {
    msgpack_zone_free(sys->scratch);
    sys->scratch = NULL;
  }
}

grove_msg *grove_msg_new(const char *tag) {
  if (!tag || !tag[0])
    return NULL;
  size_t n = strlen(tag);
  if (n > GROVE_MSG_TAG_MAX)
    return NULL;
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return NULL;
  grove_msg *m = grove__msg_alloc(sys);
  if (!m)
    return NULL;
  if (n < GROVE__MSG_TAG_INLINE) {
    memcpy(m->tag_inline, tag, n + 1);
  } else if (!(m->tag = strdup(tag))) {
    m->tag = m->tag_inline;
    grove__msg_release(sys, m);
    return NULL;
  }
  return m;
}

void grove_msg_free(grove_msg *m) {
  if (!m)
    return;
  grove__msg_release(grove__actor_sys_peek(), m);
}

const char *grove_msg_tag(const grove_msg *m) { return m ? m->tag : ""; }

bool grove_msg_is(const grove_msg *m, const char *tag) {
  return m && tag && strcmp(m->tag, tag) == 0;
}

grove_ref grove_msg_sender(const grove_msg *m) { return m ? m->sender : GROVE_REF_NULL; }

bool grove_msg_is_call(const grove_msg *m) { return m && (m->flags & GROVE__MSG_CALL); }

grove_msg *grove_msg_take(grove_msg *m) {
  if (m)
    grove__msg_taken(m);
  return m;
}

/* ---- packing ---------------------------------------------------------------- */

static int body_changed(grove_msg *m) {
  /* Packing after reading: the unpacked view is stale. */
  if (m->flags & (GROVE__MSG_UNPACKED | GROVE__MSG_BADBODY)) {
    if (m->zone)
      msgpack_zone_clear(m->zone);
    m->objs = NULL;
    m->nobjs = 0;
    m->flags &= ~(uint32_t)(GROVE__MSG_UNPACKED | GROVE__MSG_BADBODY);
  }
  return 0;
}

/* msgpack_sbuffer_write, but reporting allocation failure as -1 instead of
 * the library's behaviour, and never leaving the buffer half-written. */
static int body_write(void *data, const char *buf, size_t len) {
  msgpack_sbuffer *sb = data;
  if (len == 0)
    return 0; /* an empty bin or str body: buf may be NULL */
  if (sb->alloc - sb->size < len) {
    grove_msg *m = grove__container_of(sb, grove_msg, body);
    size_t cap = sb->alloc * 2;
    while (cap - sb->size < len)
      cap *= 2;
    char *p;
    if (sb->data == m->body_inline) {
      /* Outgrew the inline buffer. */
      if ((p = malloc(cap)) != NULL)
        memcpy(p, sb->data, sb->size);
    } else {
      p = realloc(sb->data, cap);
    }
    if (!p)
      return -1;
    sb->data = p;
    sb->alloc = cap;
  }
  memcpy(sb->data + sb->size, buf, len);
  sb->size += len;
  return 0;
}

int grove__msg_set_body(grove_msg *m, const void *data, size_t len) {
  body_changed(m);
  m->body.size = 0;
  return body_write(&m->body, data, len) == 0 ? 0 : GROVE_ENOMEM;
}

msgpack_packer *grove_msg_packer(grove_msg *m) {
  if (!m)
    return NULL;
  body_changed(m);
  if (!m->pk.callback)
    msgpack_packer_init(&m->pk, &m->body, body_write);
  return &m->pk;
}

#define PACK(m, expr)                                                                              \
  do {                                                                                             \
    if (!(m))                                                                                      \
      return GROVE_EINVAL;                                                                         \
    msgpack_packer *pk = grove_msg_packer(m);                                                      \
    return (expr) == 0 ? 0 : GROVE_ENOMEM;                                                         \
  } while (0)

int grove_msg_pack_int(grove_msg *m, int64_t v) { PACK(m, msgpack_pack_int64(pk, v)); }
int grove_msg_pack_double(grove_msg *m, double v) { PACK(m, msgpack_pack_double(pk, v)); }
int grove_msg_pack_nil(grove_msg *m) { PACK(m, msgpack_pack_nil(pk)); }

int grove_msg_pack_str(grove_msg *m, const char *s) {
  if (!s)
    return GROVE_EINVAL;
  size_t n = strlen(s);
  PACK(m, msgpack_pack_str_with_body(pk, s, n));
}

int grove_msg_pack_bin(grove_msg *m, const void *data, size_t len) {
  if (!data && len)
    return GROVE_EINVAL;
  PACK(m, msgpack_pack_bin_with_body(pk, data, len));
}

/* This hub's node id as refs carry it on the wire (0: no node). */
static uint32_t node_id(void) {
  grove__actor_sys *sys = grove__actor_sys_peek();
  return sys ? sys->node_id : 0;
}

int grove_msg_pack_ref(grove_msg *m, grove_ref r) {
  unsigned char b[GROVE__REF_BYTES];
  if (r.node == 0 && r.id != 0)
    r.node = node_id(); /* one of ours, as other nodes name it */
  grove__ref_encode(b, r);
  PACK(m, msgpack_pack_ext_with_body(pk, b, sizeof b, GROVE_MSGPACK_EXT_REF));
}

/* ---- reading -------------------------------------------------------------------- */

static int unpack_all(grove_msg *m) {
  if (m->flags & GROVE__MSG_UNPACKED)
    return 0;
  if (m->flags & GROVE__MSG_BADBODY)
    return GROVE_EINVAL;
  if (m->body.size == 0) {
    m->flags |= GROVE__MSG_UNPACKED;
    return 0;
  }
  if (!m->zone && !(m->zone = msgpack_zone_new(1024)))
    return GROVE_ENOMEM;
  size_t cap = 4, off = 0;
  msgpack_object *objs = msgpack_zone_malloc(m->zone, cap * sizeof *objs);
  size_t n = 0;
  while (objs && off < m->body.size) {
    if (n == cap) {
      msgpack_object *bigger = msgpack_zone_malloc(m->zone, 2 * cap * sizeof *objs);
      if (!bigger)
        break;
      memcpy(bigger, objs, n * sizeof *objs);
      objs = bigger;
      cap *= 2;
    }
    size_t end = off;
    msgpack_unpack_return r =
        grove__msgpack_skim((const unsigned char *)m->body.data, m->body.size, &end, 0) != 0
            ? MSGPACK_UNPACK_PARSE_ERROR
            : msgpack_unpack(m->body.data, m->body.size, &off, m->zone, &objs[n]);
    if (r != MSGPACK_UNPACK_SUCCESS && r != MSGPACK_UNPACK_EXTRA_BYTES) {
      m->flags |= GROVE__MSG_BADBODY;
      return GROVE_EINVAL;
    }
    n++;
  }
  if (!objs || off < m->body.size) {
    msgpack_zone_clear(m->zone);
    return GROVE_ENOMEM;
  }
  m->objs = objs;
  m->nobjs = n;
  m->flags |= GROVE__MSG_UNPACKED;
  return 0;
}

size_t grove_msg_count(grove_msg *m) {
  if (!m || unpack_all(m) != 0)
    return 0;
  return m->nobjs;
}

int grove_msg_get(grove_msg *m, size_t index, msgpack_object *out) {
  if (!m || !out)
    return GROVE_EINVAL;
  int rc = unpack_all(m);
  if (rc)
    return rc;
  if (index >= m->nobjs)
    return GROVE_ENOENT;
  *out = m->objs[index];
  return 0;
}

/* The object at index for the typed readers: from the unpacked view if there
 * is one, else decoded in place with the thread's scratch zone. Scalars need
 * no zone memory and strings, bins and ext values point into the body, so
 * what the readers return stays valid as long as the message - without a
 * zone per message (msgpack-c's zone starts with an 8 KB chunk). */
static int read_at(grove_msg *m, size_t index, msgpack_object *out) {
  if (!m)
    return GROVE_EINVAL;
  if (m->flags & (GROVE__MSG_UNPACKED | GROVE__MSG_BADBODY))
    return grove_msg_get(m, index, out);
  grove__actor_sys *sys = grove__actor_sys_get();
  if (!sys)
    return GROVE_ENOMEM;
  if (!sys->scratch && !(sys->scratch = msgpack_zone_new(1024)))
    return GROVE_ENOMEM;
  size_t off = 0;
  int rc = 0;
  for (size_t i = 0;; i++) {
    if (off >= m->body.size) {
      rc = GROVE_ENOENT;
      break;
    }
    size_t end = off;
    msgpack_unpack_return r =
        grove__msgpack_skim((const unsigned char *)m->body.data, m->body.size, &end, 0) != 0
            ? MSGPACK_UNPACK_PARSE_ERROR
            : msgpack_unpack(m->body.data, m->body.size, &off, sys->scratch, out);
    if (r != MSGPACK_UNPACK_SUCCESS && r != MSGPACK_UNPACK_EXTRA_BYTES) {
      m->flags |= GROVE__MSG_BADBODY;
      rc = GROVE_EINVAL;
      break;
    }
    if (i == index)
      break;
  }
  msgpack_zone_clear(sys->scratch);
  return rc;
}

int grove_msg_int(grove_msg *m, size_t index, int64_t *out) {
  msgpack_object o;
  int rc = read_at(m, index, &o);
  if (rc)
    return rc;
  if (o.type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    if (o.via.u64 > (uint64_t)INT64_MAX)
      return GROVE_EOVERFLOW;
    if (out)
      *out = (int64_t)o.via.u64;
    return 0;
  }
  if (o.type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    if (out)
      *out = o.via.i64;
    return 0;
  }
  return GROVE_EINVAL;
}

int grove_msg_double(grove_msg *m, size_t index, double *out) {
  msgpack_object o;
  int rc = read_at(m, index, &o);
  if (rc)
    return rc;
  if (o.type == MSGPACK_OBJECT_FLOAT64 || o.type == MSGPACK_OBJECT_FLOAT32) {
    if (out)
      *out = o.via.f64;
    return 0;
  }
  if (o.type == MSGPACK_OBJECT_POSITIVE_INTEGER || o.type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    if (out)
      *out = o.type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (double)o.via.u64 : (double)o.via.i64;
    return 0;
  }
  return GROVE_EINVAL;
}

int grove_msg_str(grove_msg *m, size_t index, const char **s, size_t *len) {
  msgpack_object o;
  int rc = read_at(m, index, &o);
  if (rc)
    return rc;
  if (o.type != MSGPACK_OBJECT_STR)
    return GROVE_EINVAL;
  if (s)
    *s = o.via.str.ptr;
  if (len)
    *len = o.via.str.size;
  return 0;
}

int grove_msg_bin(grove_msg *m, size_t index, const void **data, size_t *len) {
  msgpack_object o;
  int rc = read_at(m, index, &o);
  if (rc)
    return rc;
  if (o.type != MSGPACK_OBJECT_BIN)
    return GROVE_EINVAL;
  if (data)
    *data = o.via.bin.ptr;
  if (len)
    *len = o.via.bin.size;
  return 0;
}

int grove_msg_ref(grove_msg *m, size_t index, grove_ref *out) {
  msgpack_object o;
  int rc = read_at(m, index, &o);
  if (rc)
    return rc;
  if (o.type != MSGPACK_OBJECT_EXT || !grove__is_ref_ext(o.via.ext.type, o.via.ext.size))
    return GROVE_EINVAL;
  if (out) {
    *out = grove__ref_decode((const unsigned char *)o.via.ext.ptr);
    if (out->node == node_id())
      out->node = 0; /* one of ours */
  }
  return 0;
}

const void *grove_msg_body(const grove_msg *m, size_t *len) {
  if (len)
    *len = m ? m->body.size : 0;
  return m ? m->body.data : NULL;
}

int grove_msg_set_blob(grove_msg *m, void *data, size_t len, void (*free_fn)(void *)) {
  if (!m || (!data && len))
    return GROVE_EINVAL;
  if (m->blob_free && m->blob)
    m->blob_free(m->blob);
  m->blob = data;
  m->blob_len = len;
  m->blob_free = free_fn;
  return 0;
}

void *grove_msg_blob(const grove_msg *m, size_t *len) {
  if (len)
    *len = m ? m->blob_len : 0;
  return m ? m->blob : NULL;
}
