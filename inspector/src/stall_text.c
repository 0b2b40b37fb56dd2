/* Stalls in words (see stall_text.h). */
#include "stall_text.h"

#include <seccomp.h>
#include <stdlib.h>

#include "schedrt/proto/metrics_def.h"
#include "util.h"

const char *stall_syscall_name(char *buf, size_t size, uint64_t stall_syscall) {
  if (stall_syscall == 0)
    return NULL;
  uint64_t nr = stall_syscall - 1u;
  char *name = nr <= 0x7fffffffu ? seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, (int)nr) : NULL;
  if (name)
    xsnprintf(buf, size, "%s", name);
  else
    xsnprintf(buf, size, "syscall %llu", (unsigned long long)nr);
  free(name);
  return buf;
}

const char *stall_text(char *buf, size_t size, uint64_t kind, uint64_t stall_syscall, uint64_t cpu_pct) {
  char sc[64];
  switch (kind) {
  case SCHEDRT_STALL_ON_CPU:
    /* No share: the kind counts time spent waiting for a core as wanting to run, the share does not. */
    (void)cpu_pct;
    return xsnprintf(buf, size, "on CPU");
  case SCHEDRT_STALL_SYSCALL:
    if (stall_syscall_name(sc, sizeof(sc), stall_syscall))
      return xsnprintf(buf, size, "off CPU in %s", sc);
    return xsnprintf(buf, size, "off CPU");
  case SCHEDRT_STALL_PROCESS:
    return xsnprintf(buf, size, "the whole process stalled");
  default:
    return xsnprintf(buf, size, "%s", "");
  }
}
