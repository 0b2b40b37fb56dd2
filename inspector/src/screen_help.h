/*
 * The help screen: the key table of the screen it was opened from, so the
 * help is printed from the very table that dispatches the keys.
 */
#ifndef INSPECT_SCREEN_HELP_H
#define INSPECT_SCREEN_HELP_H

#include "screen.h"

#define SCREEN_HELP_NOTES 3 /* lines under the keys */

/* The help of the screens of class `of`: its key table under "keys of the <name>", then up to
 * SCREEN_HELP_NOTES lines of notes (copied, so they may live on the caller's stack). */
screen *screen_help_new(const screen_class *of, const char *const *notes, int nnotes);

#endif
