/*
 * A leak check for the exposition: one task dump of a runtime, taken in
 * memory through its control area (dump_client.h), its proven leaks
 * (dump_analysis.h, docs/forensics.md) counted per row of the segment's
 * spawn-site table, so that schedrt_site_proven_leaked has the labels of the
 * other site families (openmetrics.h). A dump holds the runtime's workers for
 * its copy: `serve` does it only when asked (--leak-check), at most once per
 * period per runtime. No curses.
 */
#ifndef INSPECT_OM_LEAKS_H
#define INSPECT_OM_LEAKS_H

#include <stdint.h>

#include "attach.h"
#include "schedrt/dump_read.h"
#include "schedrt/reader.h"

/*
 * Counts d's proven leaked tasks into per_row[0 .. nsites) by the row of
 * sites whose file:line and function their spawn site is (the segment keeps
 * the tail of a path: a dump's file ending with the row's matches), and the
 * others into *unplaced. per_row is zeroed first.
 */
void om_leaks_count(const schedrt_dump_doc *d, const schedrt_site_snap *sites, uint32_t nsites,
                    uint64_t *per_row, uint64_t *unplaced);

/*
 * Takes a dump of t's runtime in memory (barrier deadline timeout_ms, 0: the
 * runtime's default; waiting for the answer at most twice that plus a
 * second) and counts it as om_leaks_count does. 0, or why not (the dump
 * client's error: -ENOTSUP for a runtime without dumps, -ETIMEDOUT...).
 */
int om_leaks_check(const inspect_target *t, const char *shm_dir, uint32_t timeout_ms,
                   const schedrt_site_snap *sites, uint32_t nsites, uint64_t *per_row, uint64_t *unplaced);

#endif
