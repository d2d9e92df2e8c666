/* hub/core/error.c - grove_strerror and grove_err_name, generated from the one
 * table in grove/error.h. */
#include "internal.h"

#include <string.h>

const char *grove_strerror(int code) {
  switch (code) {
  case 0:
    return "success";
#define XX(name, value, msg)                                                                       \
  case GROVE_##name:                                                                               \
    return msg;
    GROVE_ERRNO_MAP(XX)
#undef XX
  default:
    break;
  }
  /* libuv's own codes (resolver errors and a few others) have static texts
   * in libuv; uv_strerror mallocs a text for a code it does not know, so
   * everything else goes to strerror. */
  if ((code <= UV_EAI_ADDRFAMILY && code >= UV_EAI_PROTOCOL) || code == UV_ECHARSET ||
      code == UV_EFTYPE || code == UV_UNKNOWN)
    return uv_strerror(code);
  if (code < 0 && code > -4096)
    return strerror(-code);
  return "unknown error";
}

const char *grove_err_name(int code) {
  switch (code) {
  case 0:
    return "GROVE_OK";
#define XX(name, value, msg)                                                                       \
  case GROVE_##name:                                                                               \
    return "GROVE_" #name;
    GROVE_ERRNO_MAP(XX)
#undef XX
  default:
    return "GROVE_UNKNOWN";
  }
}
