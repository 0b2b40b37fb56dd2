/* Stall backtraces in dumps, named (see dump_backtrace.h). */
#include "dump_backtrace.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if INSPECT_HAVE_LIBDW
#include <elfutils/libdwfl.h>
#endif

#include "json_export.h"
#include "util.h"

/* Modules opened per symbolizer at most (a backtrace names a few: the program, libc, libschedrt). */
#define MAX_MODULES 32

struct module {
  char *path;
#if INSPECT_HAVE_LIBDW
  Dwfl *dwfl; /* NULL: the file could not be read as ELF */
  Dwfl_Module *mod;
  Dwarf_Addr bias; /* where libdwfl placed the file: add to the file's own addresses */
#endif
};

struct bt_symbolizer {
  struct module mods[MAX_MODULES];
  size_t n;
};

bool bt_symbolizer_reads_elf(void) { return INSPECT_HAVE_LIBDW; }

bt_symbolizer *bt_symbolizer_new(void) { return calloc(1, sizeof(bt_symbolizer)); }

void bt_symbolizer_free(bt_symbolizer *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++) {
#if INSPECT_HAVE_LIBDW
    if (s->mods[i].dwfl)
      dwfl_end(s->mods[i].dwfl);
#endif
    free(s->mods[i].path);
  }
  free(s);
}

#if INSPECT_HAVE_LIBDW
static char *debuginfo_path;
static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

/*
 * The path comes from a dump, which is untrusted: only a regular file is
 * read (opened without blocking, so a FIFO cannot hang us), and libdwfl gets
 * that descriptor rather than the name.
 */
static void module_open(struct module *m) {
  int fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  if (fd < 0)
    return;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return;
  }
  if (!(m->dwfl = dwfl_begin(&offline_callbacks))) {
    close(fd);
    return;
  }
  dwfl_report_begin(m->dwfl);
  /* On success libdwfl owns fd; on failure it is closed as well. */
  m->mod = dwfl_report_offline(m->dwfl, m->path, m->path, fd);
  dwfl_report_end(m->dwfl, NULL, NULL);
  if (!m->mod || !dwfl_module_getelf(m->mod, &m->bias)) {
    dwfl_end(m->dwfl);
    m->dwfl = NULL;
    m->mod = NULL;
    return;
  }
}
#endif

static struct module *module_get(bt_symbolizer *s, const char *path) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->mods[i].path, path) == 0)
      return &s->mods[i];
  if (s->n == MAX_MODULES)
    return NULL;
  struct module *m = &s->mods[s->n++];
  memset(m, 0, sizeof(*m));
  m->path = xstrdup(path);
#if INSPECT_HAVE_LIBDW
  module_open(m);
#endif
  return m;
}

void bt_symbolize(bt_symbolizer *s, const schedrt_dump_worker *w, size_t k, bt_name *out) {
  memset(out, 0, sizeof(*out));
  if (k >= w->bt_nframes)
    return;
  const schedrt_dump_frame *f = &w->bt_frames[k];
#if INSPECT_HAVE_LIBDW
  struct module *m = s && f->module && f->module_offset >= 0 ? module_get(s, f->module) : NULL;
  if (m && m->mod) {
    /* A return address may be the first byte after its call's function: look up the call itself. */
    uint64_t look = (uint64_t)f->module_offset - (k ? 1u : 0u);
    Dwarf_Addr addr = look + m->bias, off = 0;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(m->mod, addr, &off, &sym, NULL, NULL, NULL);
    if (name) {
      snprintf(out->function, sizeof(out->function), "%s", name);
      out->offset = off + (k ? 1u : 0u);
      out->from_elf = true;
    }
    Dwfl_Line *line = dwfl_module_getsrc(m->mod, addr);
    int lineno = 0;
    const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
    if (file && lineno > 0) {
      snprintf(out->file, sizeof(out->file), "%s", file);
      out->line = lineno;
    }
    if (name)
      return;
  }
#else
  (void)module_get;
  (void)s;
#endif
  if (f->symbol) {
    snprintf(out->function, sizeof(out->function), "%s", f->symbol);
    out->offset = f->symbol_offset >= 0 ? (uint64_t)f->symbol_offset : 0;
  }
}

/* "without an answer" texts, the same in the report and JSON's readers' eyes. */
static void print_no_backtrace(const schedrt_dump_worker *w, FILE *f, const char *indent) {
  if (w->bt_result == SCHEDRT_DUMP_BT_NO_ANSWER)
    fprintf(f, "%sno backtrace: the thread did not answer signal %lld within %.0f ms\n", indent,
            (long long)w->bt_signal, w->bt_wait_ns >= 0 ? (double)w->bt_wait_ns / 1e6 : 0.0);
  else if (w->bt_result == SCHEDRT_DUMP_BT_UNAVAILABLE)
    fprintf(f, "%sno backtrace: %s\n", indent, w->bt_why ? w->bt_why : "unavailable");
  else
    fprintf(f, "%sno backtrace: %s\n", indent, schedrt_dump_bt_result_text(w->bt_result));
}

void dump_backtrace_print(bt_symbolizer *s, const schedrt_dump_worker *w, FILE *f, const char *indent) {
  if (w->bt_result == SCHEDRT_DUMP_BT_NONE)
    return;
  if (w->bt_result != SCHEDRT_DUMP_BT_OK) {
    print_no_backtrace(w, f, indent);
    return;
  }
  fprintf(f, "%sbacktrace (signal %lld, answered in %.3f ms, %zu frames%s):\n", indent,
          (long long)w->bt_signal, w->bt_wait_ns >= 0 ? (double)w->bt_wait_ns / 1e6 : 0.0, w->bt_nframes,
          w->bt_truncated ? ", the outermost cut" : "");
  for (size_t k = 0; k < w->bt_nframes; k++) {
    const schedrt_dump_frame *fr = &w->bt_frames[k];
    bt_name n;
    bt_symbolize(s, w, k, &n);
    char where[600] = "", fn[300];
    if (n.function[0])
      xsnprintf(fn, sizeof(fn), "%s+0x%llx", n.function, (unsigned long long)n.offset);
    else
      xsnprintf(fn, sizeof(fn), "0x%llx", (unsigned long long)fr->ip);
    if (n.line)
      xsnprintf(where, sizeof(where), " at %s:%d", n.file, n.line);
    if (fr->module && fr->module_offset >= 0)
      fprintf(f, "%s  #%-2zu %s%s  (%s+0x%llx)\n", indent, k, fn, where, fr->module,
              (unsigned long long)fr->module_offset);
    else
      fprintf(f, "%s  #%-2zu %s%s\n", indent, k, fn, where);
  }
}

json_t *dump_backtrace_json(bt_symbolizer *s, const schedrt_dump_worker *w) {
  if (w->bt_result == SCHEDRT_DUMP_BT_NONE)
    return json_null();
  json_t *o = json_object();
  json_object_set_new(o, "result", json_string(schedrt_dump_bt_result_text(w->bt_result)));
  json_object_set_new(o, "why", w->bt_why ? json_string(w->bt_why) : json_null());
  json_object_set_new(o, "signal", json_opt_i64(w->bt_signal));
  json_object_set_new(o, "wait_ns", json_opt_i64(w->bt_wait_ns));
  json_object_set_new(o, "truncated", json_boolean(w->bt_truncated));
  json_t *frames = json_array();
  for (size_t k = 0; k < w->bt_nframes; k++) {
    const schedrt_dump_frame *fr = &w->bt_frames[k];
    bt_name n;
    bt_symbolize(s, w, k, &n);
    json_t *j = json_object();
    json_object_set_new(j, "ip", json_u64(fr->ip));
    json_object_set_new(j, "module", fr->module ? json_string(fr->module) : json_null());
    json_object_set_new(j, "module_offset", json_opt_i64(fr->module_offset));
    json_object_set_new(j, "function", n.function[0] ? json_string(n.function) : json_null());
    json_object_set_new(j, "offset", n.function[0] ? json_u64(n.offset) : json_null());
    json_object_set_new(j, "file", n.line ? json_string(n.file) : json_null());
    json_object_set_new(j, "line", n.line ? json_integer(n.line) : json_null());
    /* Where the name came from: the module's file read now, or the runtime's dladdr at capture time. */
    json_object_set_new(j, "source",
                        !n.function[0] ? json_null() : json_string(n.from_elf ? "elf" : "capture"));
    json_array_append_new(frames, j);
  }
  json_object_set_new(o, "frames", frames);
  return o;
}
