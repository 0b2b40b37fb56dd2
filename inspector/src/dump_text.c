/* One-line texts of a dump's items (see dump_text.h). */
#include "dump_text.h"

#include "format.h"
#include "util.h"

char *dump_await_text(char *buf, size_t size, const char *label, const char *file, uint64_t line,
                      int site_width, int utf8) {
  char site[512];
  if (!label && !file)
    return xsnprintf(buf, size, "no await point recorded");
  return xsnprintf(buf, size, "await \"%s\" at %s", label ? label : "",
                   fmt_site(site, sizeof(site), file, line, site_width, utf8));
}

char *dump_await_site_text(char *buf, size_t size, const schedrt_dump_site *aw, int site_width, int utf8) {
  return dump_await_text(buf, size, aw ? aw->label : NULL, aw ? aw->file : NULL, aw ? aw->line : 0,
                         site_width, utf8);
}

char *dump_site_cell(char *buf, size_t size, const schedrt_dump_site *sp, int site_width, int utf8) {
  char site[512];
  if (!sp || !sp->file)
    return xsnprintf(buf, size, "?");
  return xsnprintf(buf, size, "%s (%s)", fmt_site(site, sizeof(site), sp->file, sp->line, site_width, utf8),
                   sp->func ? sp->func : "?");
}

char *dump_spawn_text(char *buf, size_t size, const schedrt_dump_site *sp, int site_width, int utf8) {
  char cell[600];
  if (!sp || !sp->file)
    return xsnprintf(buf, size, "spawn site unknown");
  return xsnprintf(buf, size, "spawned at %s", dump_site_cell(cell, sizeof(cell), sp, site_width, utf8));
}

char *dump_opt_count(char *buf, size_t size, int64_t v) {
  return v < 0 ? xsnprintf(buf, size, "-") : xsnprintf(buf, size, "%lld", (long long)v);
}

char *dump_opt_duration(char *buf, size_t size, int64_t ns) {
  return ns < 0 ? xsnprintf(buf, size, "-") : fmt_duration(buf, size, (uint64_t)ns);
}
