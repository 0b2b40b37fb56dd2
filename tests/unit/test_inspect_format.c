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

static const char *site(const char *file, uint64_t line, int width, int utf8) {
  static char buf[256];
  return fmt_site(buf, sizeof(buf), file, line, width, utf8);
}

/* Columns as the widgets count them: one per UTF-8 character. */
static int cols(const char *s) {
  int c = 0;
  for (; *s; s++)
    c += ((unsigned char)*s & 0xC0) != 0x80;
  return c;
}

Test(format, site_whole_when_it_fits) {
  cr_expect_str_eq(site("examples/demo_tasks.c", 533, 40, 1), "examples/demo_tasks.c:533");
  cr_expect_str_eq(site("examples/demo_tasks.c", 533, 25, 1), "examples/demo_tasks.c:533", "exactly");
  cr_expect_str_eq(site("/a/very/long/build/path/src/x.c", 7, 0, 1), "/a/very/long/build/path/src/x.c:7",
                   "width 0: no limit");
  cr_expect_str_eq(site(NULL, 0, 20, 1), "?:0");
  cr_expect_str_eq(site("", 3, 20, 1), "?:3");
}

Test(format, site_keeps_the_last_directories_and_the_line) {
  const char *p = "/home/ci/work/schedrt/tests/e2e/inspect_target.c";
  cr_expect_str_eq(site(p, 130, 40, 1), "\u2026/schedrt/tests/e2e/inspect_target.c:130");
  cr_expect_str_eq(site(p, 130, 30, 1), "\u2026/e2e/inspect_target.c:130");
  cr_expect_str_eq(site(p, 130, 30, 0), ".../e2e/inspect_target.c:130");
  cr_expect_str_eq(site(p, 130, 27, 0), "inspect_target.c:130", "\"...\" takes three columns");
  /* Never "…/file.c": the base name alone says as much in fewer columns. */
  cr_expect_str_eq(site(p, 130, 25, 1), "inspect_target.c:130");
  cr_expect_str_eq(site("src/inspect_target.c", 130, 21, 1), "inspect_target.c:130");
}

Test(format, site_cuts_the_base_name_before_the_line) {
  cr_expect_str_eq(site("src/inspect_target.c", 130, 12, 1), "\u2026arget.c:130");
  cr_expect_str_eq(site("src/inspect_target.c", 130, 12, 0), "...get.c:130");
  cr_expect_str_eq(site("x.c", 123456, 4, 1), "3456", "no room even for the colon: the line's end");
}

Test(format, site_never_exceeds_the_width) {
  const char *paths[] = {"/home/ci/work/schedrt/tests/e2e/inspect_target.c", "a/b/c/d/e/f/g.c", "plain.c",
                         "/\u00e9t\u00e9/caf\u00e9/na\u00efve.c"};
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    for (int w = 6; w < 60; w++) {
      for (int utf8 = 0; utf8 < 2; utf8++) {
        const char *s = site(paths[i], 4321, w, utf8);
        cr_assert_leq(cols(s), w, "'%s' in %d columns", s, w);
        size_t n = strlen(s);
        cr_assert(n >= 5 && strcmp(s + n - 5, ":4321") == 0, "'%s' lost its line", s);
      }
    }
  }
}

Test(format, escape_keeps_text_and_escapes_controls) {
  char b[256];
  cr_assert_str_eq(fmt_escape(b, sizeof(b), "plain name"), "plain name");
  cr_assert_str_eq(fmt_escape(b, sizeof(b), "caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");
  /* C0 and DEL. */
  cr_assert_str_eq(fmt_escape(b, sizeof(b), "a\x1b[2Jb\x7f"), "a\\x1b[2Jb\\x7f");
  /* C1: a raw 0x9b (CSI on 8-bit terminals), and U+009B well encoded. */
  cr_assert_str_eq(fmt_escape(b, sizeof(b),
                              "x\x9b"
                              "31my"),
                   "x\\x9b31my");
  cr_assert_str_eq(fmt_escape(b, sizeof(b),
                              "x\xc2\x9b"
                              "31my"),
                   "x\\xc2\\x9b31my");
  cr_assert_str_eq(fmt_escape(b, sizeof(b), "\xc2\xa0"), "\xc2\xa0"); /* U+00A0 is not a control */
  /* Invalid UTF-8: lone continuation, overlong, truncated sequence, surrogate. */
  cr_assert_str_eq(fmt_escape(b, sizeof(b), "\x80"), "\\x80");
  cr_assert_str_eq(fmt_escape(b, sizeof(b), "\xc0\xaf"), "\\xc0\\xaf");
  cr_assert_str_eq(fmt_escape(b, sizeof(b), "\xe2\x9c"), "\\xe2\\x9c");
  cr_assert_str_eq(fmt_escape(b, sizeof(b), "\xed\xa0\x80"), "\\xed\\xa0\\x80");
  /* Truncation never splits an escape or a character. */
  char s[6];
  cr_assert_str_eq(fmt_escape(s, sizeof(s), "ab\x9b"), "ab");
  cr_assert_str_eq(fmt_escape(s, sizeof(s), "abc\xc3\xa9"), "abc\xc3\xa9");
  cr_assert_str_eq(fmt_escape(s, sizeof(s), "abcd\xc3\xa9"), "abcd");
}
