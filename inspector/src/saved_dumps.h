/*
 * The dumps a runtime's watchdog saved on its own: files
 * schedrt-watchdog.<pid>.<starttime>.<n>.cbor in the directory its metrics
 * segment names (runtime/src/dump_watchdog.c). Curses-free.
 */
#ifndef INSPECT_SAVED_DUMPS_H
#define INSPECT_SAVED_DUMPS_H

#include <stddef.h>
#include <stdint.h>

/* Files listed at most: a directory shared with anything else is not read whole. */
#define SAVED_DUMPS_MAX 1000

/*
 * The regular files (not links) of that process in dir, by number; *out
 * (malloc'ed, free with saved_dumps_free) holds full paths. 0, or -errno
 * when dir cannot be read.
 */
int saved_dumps_list(const char *dir, uint32_t pid, uint64_t starttime, char ***out, size_t *n);
void saved_dumps_free(char **list, size_t n);

#endif
