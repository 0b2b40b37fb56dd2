/*
 * schedrt-hello: the smallest complete use of schedrt. Creates a runtime,
 * spawns one named task, waits for its result from main() and destroys the
 * runtime.
 *
 * A task is a poll function: it returns SCHEDRT_READY when it is done, or
 * SCHEDRT_PENDING after arranging to be woken (here, by a timer). Its state
 * lives in its argument, since the function returns at every wait.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include <schedrt.h>

struct greeter {
  const char *who;
  int step;
  uint64_t deadline; /* schedrt_sleep's state: starts at 0 */
};

static schedrt_poll greet(schedrt_task *task, void *arg) {
  struct greeter *g = arg;
  if (g->step == 0) {
    printf("hello, %s, from task %" PRIu64 " on worker %d\n", g->who, schedrt_task_id(task),
           schedrt_worker_index());
    g->step = 1;
  }
  /* Wait 10 ms. We may be polled again before that: schedrt_sleep checks. */
  if (schedrt_sleep(task, &g->deadline, 10u * 1000u * 1000u) == SCHEDRT_PENDING) {
    schedrt_await(task, "sleep 10 ms"); /* what a task dump shows */
    return SCHEDRT_PENDING;
  }
  schedrt_task_set_result(task, (void *)(uintptr_t)42);
  return SCHEDRT_READY;
}

int main(void) {
  schedrt_config cfg;
  schedrt_config_init(&cfg);
  cfg.nworkers = 2;
  cfg.name = "hello";

  schedrt_runtime *rt;
  int err = schedrt_runtime_create(&cfg, &rt);
  if (err) {
    fprintf(stderr, "schedrt-hello: runtime: %s\n", schedrt_strerror(err));
    return 1;
  }

  /* The argument stays ours: it must outlive the task, so we join before leaving. */
  struct greeter g = {.who = "world"};
  schedrt_spawn_opts opts = {.name = "greeter"};
  schedrt_handle *handle;
  err = schedrt_spawn_ex(rt, greet, &g, &opts, &handle);
  if (err) {
    fprintf(stderr, "schedrt-hello: spawn: %s\n", schedrt_strerror(err));
    schedrt_runtime_destroy(rt);
    return 1;
  }

  void *result = NULL;
  err = schedrt_join(handle, UINT64_MAX, &result); /* releases the handle */
  if (err)
    fprintf(stderr, "schedrt-hello: join: %s\n", schedrt_strerror(err));
  else
    printf("the greeter returned %" PRIuPTR "\n", (uintptr_t)result);

  schedrt_runtime_destroy(rt);
  return err ? 1 : 0;
}
