/* `sched-inspect list`: the schedrt segments this user may read. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "format.h"
#include "json_export.h"
#include "saved_dumps.h"
#include "schedrt/reader.h"
#include "util.h"

static void print_table(const schedrt_segment_entry *list, size_t n, uint64_t now_real) {
  char up[32], name[4 * 256], rt[4 * 64], comm[4 * 32];
  printf("%-8s %-8s %7s %12s  %-16s %-16s %s\n", "PID", "STATE", "WORKERS", "UPTIME", "RUNTIME", "COMMAND",
         "SEGMENT");
  for (size_t i = 0; i < n; i++) {
    const schedrt_segment_entry *e = &list[i];
    if (e->error) {
      printf("%-8u %-8s %7s %12s  %-16s %-16s %s: %s\n", (unsigned)e->pid, "ERROR", "-", "-", "-", "-",
             fmt_escape(name, sizeof(name), e->name), schedrt_strerror(e->error));
      continue;
    }
    if (e->create_realtime_ns && now_real > e->create_realtime_ns)
      fmt_uptime(up, sizeof(up), now_real - e->create_realtime_ns);
    else
      xsnprintf(up, sizeof(up), "-");
    /* Names come from the segment (another process's bytes): escaped before they reach the terminal. */
    fmt_escape(rt, sizeof(rt), e->runtime_name[0] ? e->runtime_name : "-");
    fmt_escape(comm, sizeof(comm), e->comm[0] ? e->comm : "-");
    printf("%-8u %-8s %7u %12s  %-16s %-16s %s\n", (unsigned)e->pid, schedrt_liveness_name(e->liveness),
           (unsigned)e->nworkers, up, rt, comm, fmt_escape(name, sizeof(name), e->name));
  }
}

/* Under the table: each process's watchdog dumps, the files themselves. */
static void print_saved(const schedrt_segment_entry *list, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const schedrt_segment_entry *e = &list[i];
    if (e->error || !e->saved_dir[0])
      continue;
    char **files;
    size_t nf;
    int err = saved_dumps_list(e->saved_dir, e->pid, e->starttime, &files, &nf);
    char dir[4 * 256], file[4 * 256];
    printf("\npid %u: %u watchdog dump%s in %s%s\n", (unsigned)e->pid, (unsigned)e->saved_dumps,
           e->saved_dumps == 1 ? "" : "s", fmt_escape(dir, sizeof(dir), e->saved_dir),
           err ? ": cannot read the directory" : "");
    for (size_t k = 0; !err && k < nf; k++)
      printf("  %s\n", fmt_escape(file, sizeof(file), files[k]));
    if (!err)
      saved_dumps_free(files, nf);
  }
}

static json_t *json_saved(const schedrt_segment_entry *e) {
  if (!e->saved_dir[0])
    return json_null();
  json_t *o = json_object(), *arr = json_array();
  char **files;
  size_t nf;
  json_object_set_new(o, "dir", json_string(e->saved_dir));
  json_object_set_new(o, "count", json_integer(e->saved_dumps));
  if (saved_dumps_list(e->saved_dir, e->pid, e->starttime, &files, &nf) == 0) {
    for (size_t k = 0; k < nf; k++)
      json_array_append_new(arr, json_string(files[k]));
    saved_dumps_free(files, nf);
  }
  json_object_set_new(o, "files", arr);
  return o;
}

int cmd_list(const inspect_opts *o) {
  schedrt_segment_entry *list = NULL;
  size_t n = 0;
  int err = schedrt_reader_list(o->shm_dir, &list, &n);
  if (err) {
    fprintf(stderr, INSPECT_PROG ": cannot list %s: %s\n", o->shm_dir ? o->shm_dir : SCHEDRT_READER_SHM_DIR,
            schedrt_strerror(err));
    return INSPECT_EXIT_FAILURE;
  }
  /* Dump objects waiting to be collected are not processes: leave them out. */
  size_t kept = 0;
  for (size_t i = 0; i < n; i++)
    if (!list[i].is_dump)
      list[kept++] = list[i];
  uint64_t now_real = inspect_realtime_ns();
  int rc = INSPECT_EXIT_OK;
  if (o->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < kept; i++) {
      json_t *e = json_segment_entry(&list[i], now_real);
      if (!list[i].error)
        json_object_set_new(e, "watchdog_dumps", json_saved(&list[i]));
      json_array_append_new(arr, e);
    }
    if (json_emit(arr, stdout, 0))
      rc = INSPECT_EXIT_FAILURE;
  } else {
    print_table(list, kept, now_real);
    print_saved(list, kept);
    if (kept == 0)
      fprintf(stderr, INSPECT_PROG ": no schedrt processes found in %s\n",
              o->shm_dir ? o->shm_dir : SCHEDRT_READER_SHM_DIR);
    if (fflush(stdout))
      rc = INSPECT_EXIT_FAILURE;
  }
  /* Said on stderr in both forms: what the listing left out, and why. */
  size_t others = 0;
  if (schedrt_reader_count_others(o->shm_dir, &others) == 0 && others)
    fprintf(stderr,
            INSPECT_PROG ": %zu segment%s of other users not listed: only their owner and root may read "
                         "them (run as root to see all)\n",
            others, others == 1 ? "" : "s");
  schedrt_segment_list_free(list);
  return rc;
}
