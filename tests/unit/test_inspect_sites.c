/*
 * site_model.c: spawn-site rates, orders and the leak rule, fed by hand. A
 * site whose alive count sets a new high in five periods in a row is marked
 * once the runtime is past its warm-up, and unmarked when it falls; a count
 * that wanders, or grows during the warm-up, or grows with a dip, is not.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "site_model.h"

#define SEC 1000000000ull

static schedrt_site_snap site(uint32_t index, uint64_t spawned, uint64_t ended, uint64_t polls) {
  schedrt_site_snap s;
  memset(&s, 0, sizeof(s));
  s.index = index;
  s.spawned = spawned;
  s.ended = ended;
  s.alive = spawned - ended;
  s.polls = polls;
  return s;
}

/* Feeds one site's alive counts, one reading a second from uptime start_s; returns the mark after each. */
static void feed(site_model *m, const uint64_t *alive, int n, uint64_t start_s, int *marks) {
  for (int i = 0; i < n; i++) {
    schedrt_site_snap s = site(0, 1000 + alive[i], 1000, 0);
    site_model_update(m, &s, 1, (start_s + (uint64_t)i) * SEC, (start_s + (uint64_t)i) * SEC);
    marks[i] = m->v[0].leak;
  }
}

Test(inspect_sites, five_new_highs_in_a_row_past_the_warm_up_mark_a_leak) {
  site_model m;
  cr_assert_eq(site_model_init(&m, 4, 0), 0);
  uint64_t alive[] = {3, 4, 5, 6, 7, 8, 9, 10};
  int marks[8];
  feed(&m, alive, 8, 20, marks);
  /* Readings 1..5 set five new highs over the first: marked at the fifth. */
  for (int i = 0; i < 5; i++)
    cr_assert_eq(marks[i], 0, "reading %d", i);
  cr_assert_eq(marks[5], 1);
  cr_assert_eq(m.nleaks, 1);
  /* It stays while the count holds, and a fall clears it. */
  uint64_t after[] = {10, 9};
  feed(&m, after, 2, 28, marks);
  cr_assert_eq(marks[0], 1);
  cr_assert_eq(marks[1], 0);
  site_model_fini(&m);
}

Test(inspect_sites, growth_during_the_warm_up_is_start_up_not_a_leak) {
  site_model m;
  cr_assert_eq(site_model_init(&m, 4, 0), 0);
  uint64_t alive[] = {0, 10, 20, 30, 40, 50, 60, 70, 80};
  int marks[9];
  feed(&m, alive, 9, 0, marks); /* uptime 0 .. 8 s */
  for (int i = 0; i < 9; i++)
    cr_assert_eq(marks[i], 0, "reading %d", i);
  site_model_fini(&m);
}

Test(inspect_sites, a_wandering_count_or_a_dip_is_never_marked) {
  site_model m;
  cr_assert_eq(site_model_init(&m, 4, 0), 0);
  /* Up four times, one dip below the high, up again four: never five new highs in a row. */
  uint64_t alive[] = {50, 51, 52, 53, 54, 40, 55, 56, 57, 58, 20, 30, 40, 50, 58};
  int marks[15];
  feed(&m, alive, 15, 30, marks);
  for (int i = 0; i < 15; i++)
    cr_assert_eq(marks[i], 0, "reading %d", i);
  site_model_fini(&m);
}

Test(inspect_sites, periods_are_a_second_whatever_the_refresh_rate) {
  site_model m;
  cr_assert_eq(site_model_init(&m, 4, 0), 0);
  /* Ten readings a second, each higher: a period ends once a second only, so five highs take 5 s. */
  uint64_t t = 20 * SEC;
  int marked_at = -1;
  for (int i = 0; i < 80 && marked_at < 0; i++, t += SEC / 10) {
    schedrt_site_snap s = site(0, 1000 + (uint64_t)i, 1000, 0);
    site_model_update(&m, &s, 1, t, t);
    if (m.v[0].leak)
      marked_at = i;
  }
  cr_assert(marked_at >= 50 && marked_at <= 51, "marked at reading %d", marked_at);
  site_model_fini(&m);
}

Test(inspect_sites, rates_busy_and_latency_between_two_readings) {
  site_model m;
  cr_assert_eq(site_model_init(&m, 4, 1), 0);
  schedrt_site_snap a = site(2, 100, 90, 1000);
  a.busy_ns = 1000000;
  a.sched_latency_ns = 50000;
  site_model_update(&m, &a, 1, 10 * SEC, 10 * SEC);
  cr_assert(isnan(m.v[2].spawn_rate), "one reading: no rate");
  schedrt_site_snap b = site(2, 300, 280, 3000);
  b.busy_ns = 1000000 + SEC / 4; /* a quarter of a second busy in 2 s */
  b.sched_latency_ns = 50000 + 2000 * 1500;
  site_model_update(&m, &b, 1, 12 * SEC, 12 * SEC);
  cr_assert_float_eq(m.v[2].spawn_rate, 100.0, 1e-9);
  cr_assert_float_eq(m.v[2].poll_rate, 1000.0, 1e-9);
  cr_assert_float_eq(m.v[2].busy_pct, 12.5, 1e-9);
  cr_assert_float_eq(m.v[2].latency_ns, 1500.0, 1e-9);
  cr_assert_eq(m.npresent, 1);
  site_model_fini(&m);
}

Test(inspect_sites, orders_put_suspects_first_and_unknown_rates_last) {
  site_model m;
  cr_assert_eq(site_model_init(&m, 8, 0), 0);
  schedrt_site_snap s[3] = {site(0, 10, 5, 0), site(1, 50, 0, 0), site(5, 7, 0, 0)};
  site_model_update(&m, s, 3, SEC, SEC);
  s[0] = site(0, 1010, 5, 0);
  s[1] = site(1, 60, 0, 0);
  site_model_update(&m, s, 2, 2 * SEC, 2 * SEC); /* site 5 left out of this reading */
  uint32_t order[8];
  cr_assert_eq(site_model_sorted(&m, SSORT_SPAWNS, order), 2);
  cr_assert_eq(order[0], 0);
  cr_assert_eq(order[1], 1);
  /* Site 0 has more alive tasks, site 1 is the suspect. */
  m.v[1].leak = 1;
  cr_assert_eq(site_model_sorted(&m, SSORT_ALIVE, order), 2);
  cr_assert_eq(order[0], 1, "the suspect first");
  cr_assert_eq(site_model_sorted(&m, SSORT_SITE, order), 2);
  cr_assert(order[0] == 0 && order[1] == 1);
  site_model_fini(&m);
}

Test(inspect_sites, an_older_writer_has_an_empty_model) {
  site_model m;
  cr_assert_eq(site_model_init(&m, 0, 0), 0);
  uint32_t order[1];
  cr_assert_eq(site_model_sorted(&m, SSORT_ALIVE, order), 0);
  site_model_fini(&m);
}
