/*
 * A recording drawn as SVG (`sched-inspect plot`): one panel per worker with
 * its local queue depth and busy % over time, and the injection queue's
 * depth in every panel for comparison. A small SVG writer rather than
 * gnuplot: sched-inspect stays one program with nothing to install on the
 * host that recorded, the picture is the same on every machine (a test checks
 * its panels and series by name), and the drawing needs only polylines and
 * text (docs/recording-format.md says more). No curses.
 */
#ifndef INSPECT_RECORDING_PLOT_H
#define INSPECT_RECORDING_PLOT_H

#include <stdio.h>

#include "recording.h"

#define PLOT_WIDTH 960 /* pixels; the panels' plot area is PLOT_WIDTH - 110 wide */

/* The whole image to f. 0, -ENOMEM, or -EIO when writing failed. */
int rec_plot_svg(const recording *r, FILE *f);

#endif
