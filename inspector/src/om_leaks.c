/* A leak check for the exposition (see om_leaks.h). */
#include "om_leaks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dump_analysis.h"
#include "dump_client.h"
#include "schedrt/proto/control.h"
#include "util.h"

/* Whether path ends with tail at a path boundary (or is it). */
static int ends_with_path(const char *path, const char *tail) {
  size_t n = strlen(path), m = strlen(tail);
  if (m == 0 || m > n || strcmp(path + n - m, tail) != 0)
    return 0;
  return m == n || path[n - m - 1] == '/' || tail[0] == '/';
}

static int64_t row_of(const schedrt_dump_site *s, const schedrt_site_snap *sites, uint32_t nsites) {
  if (!s || !s->file)
    return -1;
  for (uint32_t k = 0; k < nsites; k++)
    if (!sites[k].overflow && sites[k].line == (uint32_t)s->line &&
        strcmp(sites[k].func, s->func ? s->func : "") == 0 && ends_with_path(s->file, sites[k].file))
      return k;
  return -1;
}

void om_leaks_count(const schedrt_dump_doc *d, const schedrt_site_snap *sites, uint32_t nsites,
                    uint64_t *per_row, uint64_t *unplaced) {
  dump_analysis a;
  memset(per_row, 0, nsites * sizeof(*per_row));
  *unplaced = 0;
  dump_analyze(d, &a);
  for (size_t i = 0; a.nproven && i < d->ntasks; i++) {
    if (!a.proven[i])
      continue;
    int64_t k = row_of(schedrt_dump_spawn_site(d, &d->tasks[i]), sites, nsites);
    if (k >= 0)
      per_row[k]++;
    else
      (*unplaced)++;
  }
  dump_analysis_free(&a);
}

int om_leaks_check(const inspect_target *t, const char *shm_dir, uint32_t timeout_ms,
                   const schedrt_site_snap *sites, uint32_t nsites, uint64_t *per_row, uint64_t *unplaced) {
  dump_request req = {
      .timeout_ms = timeout_ms, .label = "sched-inspect leak check", .shm_dir = shm_dir, .in_memory = 1};
  dump_outcome out;
  dump_client *c;
  int err = dump_client_start(t, &req, &c, &out);
  if (err)
    return err;
  /* The runtime answers by its barrier deadline (10 s at most) plus the copy: bounded, then given up. */
  uint64_t limit =
      (uint64_t)(timeout_ms ? timeout_ms : SCHEDRT_CTL_TIMEOUT_MAX_MS) * 2000000ull + 1000000000ull;
  while ((err = dump_client_poll(c, &out)) == -EAGAIN) {
    if (dump_client_elapsed_ns(c) > limit) {
      (void)dump_client_cancel(c, 0);
      dump_client_free(c);
      return -ETIMEDOUT;
    }
    dump_client_wait(c, 10000000ull);
  }
  void *buf = NULL;
  size_t len = 0;
  if (!err)
    err = out.err ? out.err : dump_client_take(c, &buf, &len);
  dump_client_free(c);
  if (err)
    return err;
  schedrt_dump_doc *d = NULL;
  err = schedrt_dump_parse_ex(buf, len, 0, &d, NULL, 0);
  free(buf);
  if (err)
    return err;
  om_leaks_count(d, sites, nsites, per_row, unplaced);
  schedrt_dump_doc_free(d);
  return 0;
}
