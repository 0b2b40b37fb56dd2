/*
 * The live task list: the live view's tasks from a task dump every period
 * (task_feed.c), one row per task (task_row.c: state, time in it, polls,
 * await point, spawn site where room allows), sortable and scrollable like
 * the dump viewer, the pause each refresh cost and the list's age in its
 * head. The live view opens it with T (or --tasks-every) and owns the feed.
 */
#ifndef INSPECT_SCREEN_TASKS_H
#define INSPECT_SCREEN_TASKS_H

#include "screen.h"
#include "task_feed.h"

/* A list over feed (which must outlive it: the live view's), made active while the list is open. pid and
 * runtime name the target in the title (runtime is copied). */
screen *screen_tasks_new(task_feed *feed, long pid, const char *runtime);

#endif
