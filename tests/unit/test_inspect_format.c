/* format.c: the numbers people read, and the bar/sparkline geometry. */
#include <criterion/criterion.h>
#include <math.h>

#include "format.h"

static const char *dur(uint64_t ns) {
  static char buf[32];
  return fmt_duration(buf, sizeof(buf), ns);
}

static const char *si(double v) {
  static char buf[32];
  return fmt_si(buf, sizeof(buf), v);
}

Test(format, durations_pick_a_readable_unit) {
  cr_expect_str_eq(dur(0), "0ns");
  cr_expect_str_eq(dur(850), "850ns");
  cr_expect_str_eq(dur(1500), "1.50us");
  cr_expect_str_eq(dur(12300), "12.3us");
  cr_expect_str_eq(dur(4500000), "4.50ms");
  cr_expect_str_eq(dur(59900000), "59.9ms");
  cr_expect_str_eq(dur(1230000000), "1.23s");
  cr_expect_str_eq(dur(125000000000ull), "2m05s");
  cr_expect_str_eq(dur(3ull * 3600 * 1000000000ull + 120ull * 1000000000ull), "3h02m");
  cr_expect_str_eq(dur(5ull * 86400 * 1000000000ull + 3ull * 3600 * 1000000000ull), "5d03h");
}

Test(format, uptime) {
  char buf[32];
  cr_expect_str_eq(fmt_uptime(buf, sizeof(buf), 83ull * 1000000000ull), "00:01:23");
  cr_expect_str_eq(fmt_uptime(buf, sizeof(buf), (86400ull + 3723ull) * 1000000000ull), "1d 01:02:03");
}

Test(format, si_quantities) {
  cr_expect_str_eq(si(0), "0");
  cr_expect_str_eq(si(7.5), "7.5");
  cr_expect_str_eq(si(7), "7");
  cr_expect_str_eq(si(999), "999");
  cr_expect_str_eq(si(1234), "1.2k");
  cr_expect_str_eq(si(12345), "12k");
  cr_expect_str_eq(si(999960), "1.0M", "rounding must not give 1000k");
  cr_expect_str_eq(si(3.4e9), "3.4G");
  cr_expect_str_eq(si(NAN), "-");
  cr_expect_str_eq(si(-5), "0", "a negative rate is shown as 0");
}

Test(format, bar_cells_round_up_and_clamp) {
  cr_expect_eq(bar_cells(0, 256, 10), 0u);
  cr_expect_eq(bar_cells(1, 256, 10), 1u, "one task is visible");
  cr_expect_eq(bar_cells(128, 256, 10), 5u);
  cr_expect_eq(bar_cells(256, 256, 10), 10u);
  cr_expect_eq(bar_cells(1000, 256, 10), 10u, "overfull is full");
  cr_expect_eq(bar_cells(5, 0, 10), 10u, "unknown capacity: non-zero is full");
  cr_expect_eq(bar_cells(5, 10, 0), 0u);
}

Test(format, spark_levels_scale_to_the_window) {
  uint32_t v[] = {0, 1, 4, 8, 16};
  uint8_t l[5];
  spark_levels(v, 5, 8, l);
  cr_expect_eq(l[0], 0);
  cr_expect_eq(l[1], 1, "a small non-zero value still shows");
  cr_expect_eq(l[4], SPARK_LEVELS, "the maximum is the full block");
  cr_expect(l[2] <= l[3] && l[3] <= l[4]);
  uint32_t low[] = {1, 2};
  spark_levels(low, 2, 8, l);
  cr_expect_eq(l[1], 2, "the floor keeps small depths small");
}

Test(format, spark_glyphs) {
  cr_expect_str_eq(spark_glyph(0, 0), " ");
  cr_expect_str_eq(spark_glyph(8, 0), "@");
  cr_expect_str_eq(spark_glyph(8, 1), "\u2588");
  cr_expect_str_eq(spark_glyph(200, 1), "\u2588", "out-of-range levels clamp");
}
