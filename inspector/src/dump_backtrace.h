/*
 * A stall backtrace from a dump (format 1.3, workers[].backtrace), with names
 * for its frames: the function, its offset and, where the module has DWARF
 * line tables, the source line, read from the module's ELF file if it is still
 * there (elfutils' libdwfl: the symbol table, .gnu_debugdata, separate debug
 * files found by build id), else the dynamic symbol the runtime's dladdr()
 * found at capture time. Built without libdw, only the latter. No curses.
 */
#ifndef INSPECT_DUMP_BACKTRACE_H
#define INSPECT_DUMP_BACKTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "schedrt/dump_read.h"

typedef struct bt_name {
  char function[256]; /* "" when unknown */
  uint64_t offset;    /* from the function's start */
  char file[256];     /* the source file, "" when unknown */
  int line;           /* 0 when unknown */
  bool from_elf;      /* read from the module's file now, not the name dladdr gave at capture time */
} bt_name;

typedef struct bt_symbolizer bt_symbolizer;

/* NULL only when out of memory (a symbolizer without libdw only passes the dump's names on). */
bt_symbolizer *bt_symbolizer_new(void);
void bt_symbolizer_free(bt_symbolizer *s);
/* Frame k of w's backtrace named into *out (everything empty when nothing is known). */
void bt_symbolize(bt_symbolizer *s, const schedrt_dump_worker *w, size_t k, bt_name *out);
/* Whether this build reads modules' files (libdw). */
bool bt_symbolizer_reads_elf(void);

/* The report's lines for w's backtrace (nothing when it has none), each starting with indent. */
void dump_backtrace_print(bt_symbolizer *s, const schedrt_dump_worker *w, FILE *f, const char *indent);
/* {"result", "why", "signal", "wait_ns", "truncated", "frames": [{"ip", "module", "module_offset",
 * "function", "offset", "file", "line", "source"}]} for `show --json`, or null without a backtrace. */
json_t *dump_backtrace_json(bt_symbolizer *s, const schedrt_dump_worker *w);

#endif
