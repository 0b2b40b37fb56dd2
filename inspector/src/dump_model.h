/*
 * A task dump in memory: decoded from its CBOR file (docs/dump-format.md)
 * into plain structs, with the grouping and sorting the report and the viewer
 * need. No curses. The decoder is defensive: a dump is a file from anywhere,
 * possibly truncated (the format is a CBOR sequence so a cut file still
 * yields its complete sections) or malformed; bad input gives an error or a
 * partial model with warnings, never a crash.
 */
#ifndef INSPECT_DUMP_MODEL_H
#define INSPECT_DUMP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#define DUMP_NO_WORKER (-1)

typedef struct dump_task {
  uint64_t id;
  const char *name;  /* "" when unnamed */
  const char *state; /* a SCHEDRT_DUMP_STATES text, or "unknown" */
  int64_t worker;    /* DUMP_NO_WORKER when not on a worker */
  int64_t position;  /* in its queue; -1 when not queued */
  const char *spawn_file, *spawn_func; /* NULL when not recorded */
  int64_t spawn_line;
  const char *await_label, *await_file; /* NULL: no await point */
  int64_t await_line;
  uint64_t polls;
  uint64_t age_ns;   /* since spawn */
  uint64_t state_ns; /* in its current state: idle or queued for */
} dump_task;

typedef struct dump_worker {
  uint32_t index;
  const char *role;   /* "held", "leader", "requester", "missing", or "unknown" */
  const char *reason; /* missing workers: "polling", "no_safepoint"; else NULL */
  uint64_t local_queue; /* tasks in its local queue */
  int lifo;             /* LIFO slot occupied */
  uint64_t deferred;
  uint64_t current_task; /* 0: none */
  uint64_t running_ns;
  const char *running_source; /* "poll_start", "monitor", "lower_bound" or NULL */
} dump_worker;

typedef struct dump_meta {
  const char *format;
  uint64_t major, minor;
  const char *runtime_name, *runtime_version;
  uint64_t pid;
  uint64_t proc_starttime;
  uint64_t nworkers;
  const char *source; /* "api" / "control" */
  const char *label;
  const char *status; /* "OK" / "PARTIAL" */
  uint64_t deadline_ms;
  uint64_t taken_realtime_ns;
  uint64_t gather_ns, pause_ns;
  uint64_t ntasks_declared;
  size_t workers_covered, workers_missing;
  uint64_t inject_depth;
} dump_meta;

typedef struct dump_model {
  dump_meta meta;
  dump_worker *workers;
  size_t nworkers;
  dump_task *tasks;
  size_t ntasks;
  /* Every top-level CBOR item of the file, in order (the faithful JSON walks these). */
  cbor_item_t **items;
  size_t nitems;
  int truncated;      /* the file ended inside an item: what came before is kept */
  char warnings[512]; /* what was odd but survivable, "; "-separated */
  char **strings;     /* pool behind the const char * fields */
  size_t nstrings, cap_strings;
} dump_model;

/* Loads a dump from bytes / a file. 0, or an error (-errno, SCHEDRT_EMAGIC for
 * a file that is not a schedrt dump, SCHEDRT_EVERSION, SCHEDRT_ECORRUPT) with
 * a message in err. On success *out must be freed with dump_model_free. */
int dump_model_load_buffer(const uint8_t *data, size_t size, dump_model **out, char *err, size_t errsize);
int dump_model_load_file(const char *path, dump_model **out, char *err, size_t errsize);
void dump_model_free(dump_model *m);

/* The item inside a tag, borrowed (libcbor's cbor_tag_item returns a new reference). */
cbor_item_t *dump_tag_item(cbor_item_t *tag);

const dump_task *dump_model_find_task(const dump_model *m, uint64_t id);

/* ---------------------------------------------------------------- sorting */

typedef enum task_sort_key {
  TSORT_STATE = 0, /* state, then idle time (longest first) */
  TSORT_IDLE,      /* idle time, longest first */
  TSORT_NAME,
  TSORT_WORKER,
  TSORT_ID,
  TSORT__COUNT
} task_sort_key;

const char *task_sort_name(task_sort_key k);
task_sort_key task_sort_next(task_sort_key k);
/* order[0..ntasks) = task indexes sorted by key (reverse flips it). */
void dump_sort_tasks(const dump_model *m, task_sort_key key, int reverse, size_t *order);

/* --------------------------------------------------------------- grouping */

/* Tasks sharing an await point (label, file, line) and a state. */
typedef struct task_group {
  const char *await_label, *await_file; /* NULL: no await point recorded */
  int64_t await_line;
  const char *state;
  size_t count;
  uint64_t max_idle_ns;
  size_t *members; /* task indexes, longest idle first */
} task_group;

/* Groups of m's tasks, the group with the longest idle task first. *out freed with dump_groups_free. */
int dump_group_tasks(const dump_model *m, task_group **out, size_t *n);
void dump_groups_free(task_group *g, size_t n);

#endif
