/*
 * libFuzzer target: the one decoder of the task-dump format
 * (common/src/dump_read.c) on arbitrary bytes, with every flag combination,
 * and the helpers a reader then calls on what it accepted. The decoder must
 * return (0 or an error with a message), never crash, hang or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "schedrt/dump_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The last byte picks the flags, so every input is tried both ways over a run. */
  unsigned flags = size ? (data[size - 1] & (SCHEDRT_DUMP_KEEP_CBOR | SCHEDRT_DUMP_PRINTABLE)) : 0;
  schedrt_dump_doc *d = NULL;
  char err[256];
  if (schedrt_dump_parse_ex(data, size, flags, &d, err, sizeof(err)) != 0) {
    /* A refusal always says why, in a terminated string. */
    if (d != NULL || memchr(err, '\0', sizeof(err)) == NULL)
      __builtin_trap();
    return 0;
  }
  /* Accepted: every reference must be followable without a check. */
  for (size_t i = 0; i < d->ntasks; i++) {
    const schedrt_dump_task *t = &d->tasks[i];
    (void)schedrt_dump_spawn_site(d, t);
    (void)schedrt_dump_await_site(d, t);
    if (schedrt_dump_find_task(d, t->id) != t)
      __builtin_trap(); /* ids are unique */
    (void)schedrt_dump_state_text(t->state);
  }
  /* 1.3: a stall backtrace's frames are bounded and their texts terminated. */
  for (size_t i = 0; i < d->nworkers_listed; i++) {
    const schedrt_dump_worker *w = &d->workers[i];
    if (w->bt_nframes > SCHEDRT_DUMP_BT_MAX_FRAMES || (w->bt_nframes && !w->bt_frames))
      __builtin_trap();
    (void)schedrt_dump_bt_result_text(w->bt_result);
    size_t n = w->bt_why ? strlen(w->bt_why) : 0;
    for (size_t k = 0; k < w->bt_nframes; k++)
      n += (w->bt_frames[k].module ? strlen(w->bt_frames[k].module) : 0) +
           (w->bt_frames[k].symbol ? strlen(w->bt_frames[k].symbol) : 0);
    if (n > size)
      __builtin_trap(); /* texts come from the input */
  }
  schedrt_dump_doc_free(d);
  return 0;
}
