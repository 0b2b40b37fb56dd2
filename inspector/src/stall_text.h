/*
 * A stall (a long poll, layout 2.5's stall metrics) in words: "on CPU",
 * "off CPU in nanosleep", "the whole process stalled". Syscall numbers are
 * named by libseccomp for this machine's architecture (the runtime and the
 * inspector run on the same kernel: the segment is not shared across hosts).
 */
#ifndef INSPECT_STALL_TEXT_H
#define INSPECT_STALL_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The syscall's name for stall_syscall (its number + 1), into buf; "syscall N" when unknown; NULL for 0. */
const char *stall_syscall_name(char *buf, size_t size, uint64_t stall_syscall);
/* The kind, with the syscall when off CPU; "" for no kind (none yet, or a value outside the list). */
const char *stall_text(char *buf, size_t size, uint64_t kind, uint64_t stall_syscall, uint64_t cpu_pct);

#endif
