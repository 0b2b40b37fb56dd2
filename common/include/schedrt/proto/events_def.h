/*
 * The one list of event kinds of the event ring (layout 2.6, shm_layout.h):
 * the record's kind byte, the names the reader and sched-inspect print, and
 * the meaning of each record's two arguments. Append only: a kind's value
 * and meaning never change within a layout major.
 *
 * X(ID, value, name, a, b, help)
 *   ID     SCHEDRT_EV_<ID>
 *   value  the kind byte, 1..255 (0: never written)
 *   name   what readers print ("poll_start")
 *   a, b   what the record's two u64 arguments hold ("" when unused: 0)
 *   help   one line
 */
#ifndef SCHEDRT_PROTO_EVENTS_DEF_H
#define SCHEDRT_PROTO_EVENTS_DEF_H

#define SCHEDRT_EVENT_KINDS(X)                                                                               \
  X(SPAWN, 1, "spawn", "task", "site", "a task was spawned (site: its spawn site's index + 1, 0 unknown)")   \
  X(POLL_START, 2, "poll_start", "task", "", "a poll of the task begins")                                    \
  X(POLL_END, 3, "poll_end", "task", "", "that poll returned")                                               \
  X(WAKE, 4, "wake", "task", "waker", "the task was woken (waker: the task polled by the waker, 0 none)")    \
  X(PARK, 5, "park", "", "", "the worker goes to sleep")                                                     \
  X(UNPARK, 6, "unpark", "", "", "the worker woke up")                                                       \
  X(STEAL, 7, "steal", "tasks", "victim", "the worker took tasks from worker `victim`'s queue")              \
  X(BLOCKING_START, 8, "blocking_start", "job", "", "a blocking job (its task id) starts on a pool thread")  \
  X(BLOCKING_END, 9, "blocking_end", "job", "cancelled", "that job ended (cancelled: 1 if it never ran)")    \
  X(STALL, 10, "stall", "worker", "ns", "the monitor saw worker's poll running this long (long_poll_ms)")

enum schedrt_event_kind {
#define SCHEDRT__EV_ENUM(id, value, name, a, b, help) SCHEDRT_EV_##id = (value),
  SCHEDRT_EVENT_KINDS(SCHEDRT__EV_ENUM)
#undef SCHEDRT__EV_ENUM
};
enum {
#define SCHEDRT__EV_ONE(id, value, name, a, b, help) +1
  SCHEDRT_EV__COUNT = 0 SCHEDRT_EVENT_KINDS(SCHEDRT__EV_ONE),
#undef SCHEDRT__EV_ONE
};
/* The kind byte is 8 bits wide (shm_layout.h: the record's stamp). */
#define SCHEDRT__EV_RANGE(id, value, name, a, b, help)                                                       \
  _Static_assert((value) >= 1 && (value) <= 255, "event kind: " #id);
SCHEDRT_EVENT_KINDS(SCHEDRT__EV_RANGE)
#undef SCHEDRT__EV_RANGE

#endif /* SCHEDRT_PROTO_EVENTS_DEF_H */
