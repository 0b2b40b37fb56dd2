/* A program outside the project: what an installed schedrt offers a user. */
#include <schedrt.h>
#include <stdio.h>
#include <string.h>

static schedrt_poll hello(schedrt_task *task, void *arg) {
  (void)arg;
  schedrt_task_set_result(task, "hello from a task");
  return SCHEDRT_READY;
}

int main(void) {
  schedrt_runtime *rt;
  schedrt_handle *h;
  void *res = NULL;
  int rc = schedrt_runtime_create(NULL, &rt);
  if (rc != 0) {
    fprintf(stderr, "create: %s\n", schedrt_strerror(rc));
    return 1;
  }
  /* Two options in the compound literal: one argument of the variadic macro. */
  if (schedrt_spawn_ex(rt, hello, NULL, &(schedrt_spawn_opts){.name = "hello", .drop = NULL}, &h) != 0 ||
      schedrt_join(h, UINT64_MAX, &res) != 0 || strcmp(res, "hello from a task") != 0)
    return 1;
  schedrt_runtime_destroy(rt);
  printf("consumer ok (schedrt %s)\n", schedrt_version());
  return 0;
}
