/*
 * A recording replayed in the live view (`sched-inspect show FILE -t` on a
 * recording): a live_source (live_view.h) that feeds the view's model from
 * the recording's samples on a play clock instead of from a segment, with
 * pause, speed and seek keys. The view draws as it does for a live target.
 */
#ifndef INSPECT_REPLAY_H
#define INSPECT_REPLAY_H

#include "cli.h"
#include "keys.h"
#include "recording.h"

/* The replay's keys (show --help prints them). */
extern const key_binding keys_replay[];

/* Replays rec (the caller's) on the terminal until q; the exit status. */
int replay_run(const inspect_opts *o, const recording *rec);

#endif
