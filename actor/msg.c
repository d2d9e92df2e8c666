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
  m->acall = NULL;
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
  m->rd_index = 0;
  m->key_hint = 0;
  m->rd_off = 0;
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
  if (GROVE__UNLIKELY(m->acall != NULL)) {
    /* A future's request (or its reply in transit): the record is its
     * caller's hub's. */
    if (grove__acall_hub(m->acall) != grove__hub_peek()) {
      grove__x_msg_home(m);
      return;
    }
    grove__acall_unref(m->acall);
    m->acall = NULL;
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
  m->rd_index = 0; /* appending keeps the cursor's offsets; a new body does not */
  m->rd_off = 0;
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
  return sys ? grove__node_id_of(sys)
             : atomic_load_explicit(&grove__remote_node_id, memory_order_relaxed);
}

int grove_msg_pack_ref(grove_msg *m, grove_ref r) {
  unsigned char b[GROVE__REF_BYTES];
  if (r.node == 0 && r.id != 0)
    r.node = node_id(); /* one of ours, as other nodes name it */
  grove__ref_encode(b, r);
  PACK(m, msgpack_pack_ext_with_body(pk, b, sizeof b, GROVE_MSGPACK_EXT_REF));
}

int grove_msg_pack_bool(grove_msg *m, bool v) {
  PACK(m, v ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
}

int grove_msg_pack_uint(grove_msg *m, uint64_t v) { PACK(m, msgpack_pack_uint64(pk, v)); }

int grove_msg_pack_array(grove_msg *m, uint32_t n) { PACK(m, msgpack_pack_array(pk, n)); }

int grove_msg_pack_map(grove_msg *m, uint32_t n) { PACK(m, msgpack_pack_map(pk, n)); }

/* A map's key and its value: the key first; if the value fails, the body
 * goes back to where it was, so that a failed pair leaves no lone key. */
#define PACK_KV(m, key, value_call)                                                                \
  do {                                                                                             \
    if (!(m) || !(key))                                                                            \
      return GROVE_EINVAL;                                                                         \
    size_t size0 = (m)->body.size;                                                                 \
    int rc_ = grove_msg_pack_str((m), (key));                                                      \
    if (rc_ == 0 && (rc_ = (value_call)) != 0)                                                     \
      (m)->body.size = size0;                                                                      \
    return rc_;                                                                                    \
  } while (0)

int grove_msg_pack_kv_int(grove_msg *m, const char *key, int64_t v) {
  PACK_KV(m, key, grove_msg_pack_int(m, v));
}
int grove_msg_pack_kv_double(grove_msg *m, const char *key, double v) {
  PACK_KV(m, key, grove_msg_pack_double(m, v));
}
int grove_msg_pack_kv_bool(grove_msg *m, const char *key, bool v) {
  PACK_KV(m, key, grove_msg_pack_bool(m, v));
}
int grove_msg_pack_kv_str(grove_msg *m, const char *key, const char *v) {
  PACK_KV(m, key, grove_msg_pack_str(m, v));
}
int grove_msg_pack_kv_bin(grove_msg *m, const char *key, const void *data, size_t len) {
  PACK_KV(m, key, grove_msg_pack_bin(m, data, len));
}
int grove_msg_pack_kv_ref(grove_msg *m, const char *key, grove_ref r) {
  PACK_KV(m, key, grove_msg_pack_ref(m, r));
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
  /* From the cursor when reading forward, else from the start. */
  size_t off = 0, i = 0;
  if (index >= m->rd_index) {
    off = m->rd_off;
    i = m->rd_index;
  }
  int rc = 0;
  for (;; i++) {
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
    if (i == index) {
      m->rd_index = (uint32_t)(i + 1 <= UINT32_MAX ? i + 1 : 0);
      m->rd_off = i + 1 <= UINT32_MAX ? off : 0;
      break;
    }
  }
  msgpack_zone_clear(sys->scratch);
  return rc;
}

/* ---- typed views of one object ----------------------------------------------------- */

int grove_obj_int(const msgpack_object *o, int64_t *out) {
  if (!o)
    return GROVE_EINVAL;
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    if (o->via.u64 > (uint64_t)INT64_MAX)
      return GROVE_EOVERFLOW;
    if (out)
      *out = (int64_t)o->via.u64;
    return 0;
  }
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    if (out)
      *out = o->via.i64;
    return 0;
  }
  return GROVE_EINVAL;
}

int grove_obj_uint(const msgpack_object *o, uint64_t *out) {
  if (!o)
    return GROVE_EINVAL;
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    if (out)
      *out = o->via.u64;
    return 0;
  }
  return o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? GROVE_EOVERFLOW : GROVE_EINVAL;
}

int grove_obj_double(const msgpack_object *o, double *out) {
  if (!o)
    return GROVE_EINVAL;
  if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32) {
    if (out)
      *out = o->via.f64;
    return 0;
  }
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    if (out)
      *out = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (double)o->via.u64 : (double)o->via.i64;
    return 0;
  }
  return GROVE_EINVAL;
}

int grove_obj_bool(const msgpack_object *o, bool *out) {
  if (!o || o->type != MSGPACK_OBJECT_BOOLEAN)
    return GROVE_EINVAL;
  if (out)
    *out = o->via.boolean;
  return 0;
}

int grove_obj_str(const msgpack_object *o, const char **s, size_t *len) {
  if (!o || o->type != MSGPACK_OBJECT_STR)
    return GROVE_EINVAL;
  if (s)
    *s = o->via.str.ptr;
  if (len)
    *len = o->via.str.size;
  return 0;
}

int grove_obj_bin(const msgpack_object *o, const void **data, size_t *len) {
  if (!o || o->type != MSGPACK_OBJECT_BIN)
    return GROVE_EINVAL;
  if (data)
    *data = o->via.bin.ptr;
  if (len)
    *len = o->via.bin.size;
  return 0;
}

int grove_obj_ref(const msgpack_object *o, grove_ref *out) {
  if (!o || o->type != MSGPACK_OBJECT_EXT || !grove__is_ref_ext(o->via.ext.type, o->via.ext.size))
    return GROVE_EINVAL;
  if (out) {
    *out = grove__ref_decode((const unsigned char *)o->via.ext.ptr);
    if (out->node == node_id())
      out->node = 0; /* one of ours */
  }
  return 0;
}

int grove_obj_str_copy(const msgpack_object *o, char *buf, size_t cap) {
  const char *s;
  size_t n;
  if (!buf || cap == 0)
    return GROVE_EINVAL;
  buf[0] = 0;
  int rc = grove_obj_str(o, &s, &n);
  if (rc)
    return rc;
  if (n && memchr(s, 0, n))
    return GROVE_EINVAL; /* a C string cannot hold it */
  if (n >= cap)
    return GROVE_ERANGE;
  if (n)
    memcpy(buf, s, n); /* an empty str may have no pointer at all */
  buf[n] = 0;
  return 0;
}

int grove_obj_str_dup(const msgpack_object *o, char **out) {
  const char *s;
  size_t n;
  if (!out)
    return GROVE_EINVAL;
  *out = NULL;
  int rc = grove_obj_str(o, &s, &n);
  if (rc)
    return rc;
  if (n && memchr(s, 0, n))
    return GROVE_EINVAL;
  char *d = malloc(n + 1);
  if (!d)
    return GROVE_ENOMEM;
  if (n)
    memcpy(d, s, n);
  d[n] = 0;
  *out = d;
  return 0;
}

size_t grove_obj_len(const msgpack_object *o) {
  if (!o)
    return 0;
  if (o->type == MSGPACK_OBJECT_ARRAY)
    return o->via.array.size;
  if (o->type == MSGPACK_OBJECT_MAP)
    return o->via.map.size;
  return 0;
}

int grove_obj_at(const msgpack_object *arr, size_t i, msgpack_object *out) {
  if (!arr || !out || arr->type != MSGPACK_OBJECT_ARRAY)
    return GROVE_EINVAL;
  if (i >= arr->via.array.size)
    return GROVE_ENOENT;
  *out = arr->via.array.ptr[i];
  return 0;
}

static int key_is(const msgpack_object *k, const char *key, size_t klen) {
  return k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
         (klen == 0 || memcmp(k->via.str.ptr, key, klen) == 0);
}

/* The pair whose key is `key`, looking from pair `from` on and then from the
 * start: the index of the pair, or -1. */
static long find_key(const msgpack_object *map, const char *key, uint32_t from) {
  size_t klen = strlen(key);
  uint32_t n = map->via.map.size;
  if (from >= n)
    from = 0;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t i = from + k < n ? from + k : from + k - n;
    if (key_is(&map->via.map.ptr[i].key, key, klen))
      return (long)i;
  }
  return -1;
}

int grove_obj_key(const msgpack_object *map, const char *key, msgpack_object *out) {
  if (!map || !key || !out || map->type != MSGPACK_OBJECT_MAP)
    return GROVE_EINVAL;
  long i = find_key(map, key, 0);
  if (i < 0)
    return GROVE_ENOENT;
  *out = map->via.map.ptr[i].val;
  return 0;
}

/* ---- typed readers of the body ------------------------------------------------------ */

int grove_msg_int(grove_msg *m, size_t index, int64_t *out) {
  msgpack_object o;
  int rc = read_at(m, index, &o);
  return rc ? rc : grove_obj_int(&o, out);
}

int grove_msg_uint(grove_msg *m, size_t index, uint64_t *out) {
  msgpack_object o;
  int rc = read_at(m, index, &o);
  return rc ? rc : grove_obj_uint(&o, out);
}

int grove_msg_double(grove_msg *m, size_t index, double *out) {
  msgpack_object o;
  int rc = read_at(m, index, &o);
  return rc ? rc : grove_obj_double(&o, out);
}

int grove_msg_bool(grove_msg *m, size_t index, bool *out) {
  msgpack_object o;
  int rc = read_at(m, index, &o);
  return rc ? rc : grove_obj_bool(&o, out);
}

int grove_msg_str(grove_msg *m, size_t index, const char **s, size_t *len) {
  msgpack_object o;
  int rc = read_at(m, index, &o);
  return rc ? rc : grove_obj_str(&o, s, len);
}

int grove_msg_str_copy(grove_msg *m, size_t index, char *buf, size_t cap) {
  if (!buf || cap == 0)
    return GROVE_EINVAL;
  buf[0] = 0;
  msgpack_object o;
  int rc = read_at(m, index, &o);
  return rc ? rc : grove_obj_str_copy(&o, buf, cap);
}

int grove_msg_str_dup(grove_msg *m, size_t index, char **out) {
  if (!out)
    return GROVE_EINVAL;
  *out = NULL;
  msgpack_object o;
  int rc = read_at(m, index, &o);
  return rc ? rc : grove_obj_str_dup(&o, out);
}

int grove_msg_bin(grove_msg *m, size_t index, const void **data, size_t *len) {
  msgpack_object o;
  int rc = read_at(m, index, &o);
  return rc ? rc : grove_obj_bin(&o, data, len);
}

int grove_msg_ref(grove_msg *m, size_t index, grove_ref *out) {
  msgpack_object o;
  int rc = read_at(m, index, &o);
  return rc ? rc : grove_obj_ref(&o, out);
}

int grove_msg_key(grove_msg *m, size_t index, const char *key, msgpack_object *out) {
  if (!m || !key || !out)
    return GROVE_EINVAL;
  msgpack_object map;
  int rc = grove_msg_get(m, index, &map); /* unpacked once, into the message's zone */
  if (rc)
    return rc;
  if (map.type != MSGPACK_OBJECT_MAP)
    return GROVE_EINVAL;
  long i = find_key(&map, key, m->key_hint);
  if (i < 0)
    return GROVE_ENOENT;
  m->key_hint = (uint32_t)i + 1; /* the next key read in order is there */
  *out = map.via.map.ptr[i].val;
  return 0;
}

#define KEY_READER(name, type_args, call)                                                          \
  int name type_args {                                                                             \
    msgpack_object v;                                                                              \
    int rc = grove_msg_key(m, index, key, &v);                                                     \
    return rc ? rc : (call);                                                                       \
  }
KEY_READER(grove_msg_key_int, (grove_msg * m, size_t index, const char *key, int64_t *out),
           grove_obj_int(&v, out))
KEY_READER(grove_msg_key_double, (grove_msg * m, size_t index, const char *key, double *out),
           grove_obj_double(&v, out))
KEY_READER(grove_msg_key_bool, (grove_msg * m, size_t index, const char *key, bool *out),
           grove_obj_bool(&v, out))
KEY_READER(grove_msg_key_str,
           (grove_msg * m, size_t index, const char *key, const char **s, size_t *len),
           grove_obj_str(&v, s, len))
KEY_READER(grove_msg_key_str_copy,
           (grove_msg * m, size_t index, const char *key, char *buf, size_t cap),
           grove_obj_str_copy(&v, buf, cap))
KEY_READER(grove_msg_key_bin,
           (grove_msg * m, size_t index, const char *key, const void **data, size_t *len),
           grove_obj_bin(&v, data, len))
KEY_READER(grove_msg_key_ref, (grove_msg * m, size_t index, const char *key, grove_ref *out),
           grove_obj_ref(&v, out))

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
