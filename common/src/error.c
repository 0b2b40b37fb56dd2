/* schedrt_strerror and schedrt_err_name, generated from SCHEDRT_ERRORS and errno. */
#include <errno.h>
#include <string.h>

#include "schedrt.h"

SCHEDRT_API const char *schedrt_strerror(int err) {
  switch (err) {
#define SCHEDRT__ERR_TEXT(name, code, text)                                                                  \
  case code:                                                                                                 \
    return text;
    SCHEDRT_ERRORS(SCHEDRT__ERR_TEXT)
#undef SCHEDRT__ERR_TEXT
  case 0:
    return "success";
  default:
    break;
  }
  if (err < 0 && err > -4096) {
    /* strerrordesc_np is thread-safe and never formats into a buffer. */
    const char *s = strerrordesc_np(-err);
    if (s)
      return s;
  }
  return "unknown error";
}

SCHEDRT_API const char *schedrt_err_name(int err) {
  switch (err) {
#define SCHEDRT__ERR_NAME(name, code, text)                                                                  \
  case code:                                                                                                 \
    return "SCHEDRT_" #name;
    SCHEDRT_ERRORS(SCHEDRT__ERR_NAME)
#undef SCHEDRT__ERR_NAME
  case 0:
    return "OK";
  default:
    break;
  }
  if (err < 0 && err > -4096) {
    const char *s = strerrorname_np(-err);
    if (s)
      return s;
  }
  return "UNKNOWN";
}
