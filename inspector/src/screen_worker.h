/*
 * The worker panel: every metric of one worker and its latency histograms,
 * over the live view that opened it. It sees the model, which the live view
 * keeps refreshing below it, and asks it for histograms while it is open.
 */
#ifndef INSPECT_SCREEN_WORKER_H
#define INSPECT_SCREEN_WORKER_H

#include <stdint.h>

#include "screen.h"
#include "snapshot_model.h"

/* Worker `worker` of model m (not owned; it must outlive the screen) of process pid. */
screen *screen_worker_new(inspect_model *m, uint32_t worker, long pid, const char *runtime_name);

#endif
