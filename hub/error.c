/* hub/error.c - grove_strerror and grove_err_name, generated from the one
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
  if (code < 0)
    return uv_strerror(code); /* errno values and libuv's own (UV_EAI_*) */
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
