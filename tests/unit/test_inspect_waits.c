/*
 * The waits-for graph (inspector/src/dump_waits.c) on dumps built in memory:
 * chains, cycles (three tasks, a self-loop, many), edges to tasks the dump
 * does not hold, repeated ids, tasks that are not idle, and a million-task
 * chain, cycle and broom (the walk must stay iterative and near linear: a
 * quadratic one runs into ctest's timeout, a recursive one overflows the
 * stack).
 */
#include <criterion/criterion.h>

#include "dump_waits.h"
#include "test_doc_builder.h"

static dump_waits w;
static schedrt_dump_doc *d;

static void build(void) { dump_waits_build(d, &w); }

static void fini(void) {
  dump_waits_free(&w);
  tdb_free(d);
  d = NULL;
}

TestSuite(waits, .fini = fini, .timeout = 60);

static uint64_t id_at(size_t i) { return d->tasks[i].id; }

Test(waits, no_edges) {
  d = tdb_new(4, 1);
  build();
  cr_expect_eq(w.ncycles, 0u);
  cr_expect_eq(w.nheads, 0u);
  for (size_t i = 0; i < 4; i++) {
    cr_expect_eq(w.next[i], WAITS_NONE);
    cr_expect_eq(w.depth[i], 0u);
  }
}

Test(waits, a_chain_and_where_it_ends) {
  /* #1 -> #2 -> #3 (running), and #5 -> #3 too. */
  d = tdb_new(5, 1);
  tdb_join(d, 0, 2);
  tdb_join(d, 1, 3);
  d->tasks[2].state = SCHEDRT_DUMP_STATE_RUNNING;
  tdb_join(d, 4, 3);
  build();
  cr_expect_eq(w.ncycles, 0u);
  cr_expect_eq(w.next[0], 1u);
  cr_expect_eq(w.next[1], 2u);
  cr_expect_eq(w.depth[0], 2u);
  cr_expect_eq(w.depth[1], 1u);
  cr_expect_eq(w.depth[2], 0u);
  cr_expect_eq(w.waited_by[2], 2u, "#2 and #5 wait for #3");
  cr_assert_eq(w.nheads, 2u, "#1 and #5 start chains; #2 is waited for");
  cr_expect_eq(id_at(w.heads[0]), 1u, "the longest first");
  cr_expect_eq(id_at(w.heads[1]), 5u);
  size_t last;
  cr_expect_eq(dump_waits_chain_end(d, &w, 0, &last), WAIT_END_TASK);
  cr_expect_eq(id_at(last), 3u);
  cr_expect_eq(dump_waits_find(&w, 4), 3u);
  cr_expect_eq(dump_waits_find(&w, 99), WAITS_NONE);
}

Test(waits, a_three_task_cycle_and_a_task_waiting_on_it) {
  /* Ids out of order in the table: #30 -> #10 -> #20 -> #30, and #40 -> #20. */
  d = tdb_new(5, 1);
  d->tasks[0].id = 30;
  d->tasks[1].id = 10;
  d->tasks[2].id = 20;
  d->tasks[3].id = 40;
  d->tasks[4].id = 50; /* not waiting */
  tdb_join(d, 0, 10);
  tdb_join(d, 1, 20);
  tdb_join(d, 2, 30);
  tdb_join(d, 3, 20);
  build();
  cr_assert_eq(w.ncycles, 1u);
  const wait_cycle *c = &w.cycles[0];
  cr_assert_eq(c->n, 3u);
  cr_expect_eq(id_at(c->members[0]), 10u, "starts at the smallest id");
  cr_expect_eq(id_at(c->members[1]), 20u, "in waiting order");
  cr_expect_eq(id_at(c->members[2]), 30u);
  for (size_t i = 0; i < 3; i++)
    cr_expect(dump_waits_in_cycle(&w, i));
  cr_expect(!dump_waits_in_cycle(&w, 3));
  cr_expect(!dump_waits_in_cycle(&w, 4));
  cr_assert_eq(w.nheads, 1u);
  cr_expect_eq(id_at(w.heads[0]), 40u);
  size_t last;
  cr_expect_eq(dump_waits_chain_end(d, &w, 3, &last), WAIT_END_CYCLE);
  cr_expect_eq(id_at(last), 20u);
  cr_expect_eq(w.depth[3], 1u);
}

Test(waits, a_self_loop_is_a_cycle_of_one) {
  d = tdb_new(3, 1);
  tdb_join(d, 1, 2);
  build();
  cr_assert_eq(w.ncycles, 1u);
  cr_expect_eq(w.cycles[0].n, 1u);
  cr_expect_eq(id_at(w.cycles[0].members[0]), 2u);
  cr_expect_eq(w.nheads, 0u);
}

Test(waits, edges_to_tasks_not_in_the_dump) {
  /* #1 -> #2 -> #99 (finished), #3 -> #98. */
  d = tdb_new(3, 1);
  tdb_join(d, 0, 2);
  tdb_join(d, 1, 99);
  tdb_join(d, 2, 98);
  build();
  cr_expect_eq(w.ncycles, 0u);
  cr_expect_eq(w.next[1], WAITS_NONE);
  cr_expect_eq(w.depth[1], 1u, "the edge to the absent task counts");
  cr_expect_eq(w.depth[0], 2u);
  size_t last;
  cr_expect_eq(dump_waits_chain_end(d, &w, 0, &last), WAIT_END_MISSING);
  cr_expect_eq(last, 1u, "the last task is the one waiting for the absent id");
  cr_assert_eq(w.nheads, 2u);
  cr_expect_eq(id_at(w.heads[0]), 1u);
  cr_expect_eq(id_at(w.heads[1]), 3u);
}

Test(waits, only_idle_tasks_wait) {
  /* #1 was woken (queued) after joining #2, which joins #1: no deadlock, #1 will look again. */
  d = tdb_new(2, 1);
  tdb_join(d, 0, 2);
  tdb_join(d, 1, 1);
  d->tasks[0].state = SCHEDRT_DUMP_STATE_LOCAL;
  build();
  cr_expect_eq(w.ncycles, 0u);
  cr_expect_eq(w.next[0], WAITS_NONE);
  cr_expect_eq(w.next[1], 0u);
  uint64_t id;
  cr_expect(!dump_waits_edge(d, 0, &id));
}

Test(waits, repeated_ids_resolve_to_the_first_task) {
  /* Index 0: #1 -> #2; index 1: #2 -> #1; index 2: another #2 -> #1; index 3: another #1, not waiting. */
  d = tdb_new(4, 1);
  d->tasks[2].id = 2;
  d->tasks[3].id = 1;
  tdb_join(d, 0, 2);
  tdb_join(d, 1, 1);
  tdb_join(d, 2, 1);
  build();
  cr_expect_eq(dump_waits_find(&w, 1), 0u);
  cr_expect_eq(dump_waits_find(&w, 2), 1u);
  cr_assert_eq(w.ncycles, 1u, "indexes 0 and 1 wait for each other");
  cr_expect_eq(w.cycles[0].n, 2u);
  cr_expect_eq(w.cycles[0].members[0], 0u);
  cr_expect_eq(w.cycles[0].members[1], 1u);
  cr_expect(!dump_waits_in_cycle(&w, 2), "the second #2 waits on the cycle, it is not in it");
  cr_expect(!dump_waits_in_cycle(&w, 3));
  cr_expect_eq(w.waited_by[0], 2u);
}

Test(waits, many_cycles_sorted_by_their_smallest_id) {
  /* 300 pairs, listed in reverse: (#600 <-> #599), ..., (#2 <-> #1). */
  const size_t n = 600;
  d = tdb_new(n, 1);
  for (size_t i = 0; i < n; i++)
    d->tasks[i].id = n - i;
  for (size_t i = 0; i < n; i += 2) {
    tdb_join(d, i, d->tasks[i + 1].id);
    tdb_join(d, i + 1, d->tasks[i].id);
  }
  build();
  cr_assert_eq(w.ncycles, n / 2);
  for (size_t c = 0; c < w.ncycles; c++) {
    cr_assert_eq(w.cycles[c].n, 2u);
    cr_assert_eq(id_at(w.cycles[c].members[0]), 2 * c + 1);
    cr_assert_eq(id_at(w.cycles[c].members[1]), 2 * c + 2);
  }
}

#define BIG 1000000u

Test(waits, a_million_task_chain) {
  /* The walk from the head follows the whole chain in one go: a recursive one would overflow the stack. */
  d = tdb_new(BIG, 1);
  for (size_t i = 0; i + 1 < BIG; i++)
    tdb_join(d, i, d->tasks[i + 1].id);
  d->tasks[BIG - 1].state = SCHEDRT_DUMP_STATE_RUNNING;
  build();
  cr_expect_eq(w.ncycles, 0u);
  cr_assert_eq(w.nheads, 1u);
  cr_expect_eq(w.heads[0], 0u);
  cr_expect_eq(w.depth[0], BIG - 1);
  size_t last;
  cr_expect_eq(dump_waits_chain_end(d, &w, 0, &last), WAIT_END_TASK);
  cr_expect_eq(last, BIG - 1);
}

Test(waits, a_million_task_cycle) {
  d = tdb_new(BIG, 1);
  for (size_t i = 0; i < BIG; i++)
    tdb_join(d, i, d->tasks[(i + 1) % BIG].id);
  build();
  cr_assert_eq(w.ncycles, 1u);
  cr_expect_eq(w.cycles[0].n, BIG);
  cr_expect_eq(w.cycles[0].members[0], 0u);
  cr_expect_eq(w.cycles[0].members[BIG - 1], BIG - 1);
}

Test(waits, a_broom_of_half_a_million_leaves_on_a_long_handle) {
  /* The first half is a chain; each task of the second half waits for the chain's head. Walking each
   * leaf's chain again would be quadratic (2.5e11 steps). */
  const size_t half = BIG / 2;
  d = tdb_new(BIG, 1);
  for (size_t i = 0; i + 1 < half; i++)
    tdb_join(d, i, d->tasks[i + 1].id);
  for (size_t i = half; i < BIG; i++)
    tdb_join(d, i, d->tasks[0].id);
  build();
  cr_expect_eq(w.nheads, half);
  cr_expect_eq(w.depth[half], half, "a leaf: one edge more than the handle");
  cr_expect_eq(w.waited_by[0], half);
  size_t last;
  for (size_t i = half; i < BIG; i++) {
    dump_waits_chain_end(d, &w, i, &last);
    cr_assert_eq(last, half - 1);
  }
}

/* Dump 1.2: a mutex waiter waits for the owner, a semaphore waiter for its only holder; other waits (a
 * channel) have no edge even with a wait_for, and neither has a task that is not idle. */
static void tdb_lock(schedrt_dump_doc *d, size_t i, uint32_t kind, int64_t owner) {
  schedrt_dump_task *t = &d->tasks[i];
  t->state = SCHEDRT_DUMP_STATE_IDLE;
  t->wait = kind;
  t->wait_for = owner;
  t->wait_object = 0x1000 + (int64_t)i;
  t->wakers = 1;
}

Test(waits, lock_waits_make_edges_and_close_a_cycle) {
  d = tdb_new(6, 1);
  tdb_lock(d, 0, SCHEDRT_DUMP_WAIT_MUTEX, 2);        /* #1 waits for #2's mutex */
  tdb_lock(d, 1, SCHEDRT_DUMP_WAIT_MUTEX, 1);        /* #2 waits for #1's: a deadlock */
  tdb_lock(d, 2, SCHEDRT_DUMP_WAIT_SEMAPHORE, 4);    /* #3 waits for #4, the only holder */
  tdb_lock(d, 3, SCHEDRT_DUMP_WAIT_SEMAPHORE, -1);   /* several holders: no single edge */
  tdb_lock(d, 4, SCHEDRT_DUMP_WAIT_CHANNEL_RECV, 1); /* not a lock: no edge */
  tdb_lock(d, 5, SCHEDRT_DUMP_WAIT_MUTEX, 1);        /* woken already: no edge */
  d->tasks[5].state = SCHEDRT_DUMP_STATE_LOCAL;
  build();
  cr_assert_eq(w.ncycles, 1u);
  cr_expect_eq(w.cycles[0].n, 2u);
  cr_expect_eq(id_at(w.cycles[0].members[0]), 1u);
  cr_expect_eq(id_at(w.cycles[0].members[1]), 2u);
  cr_expect_eq(w.next[2], 3u);
  cr_expect_eq(w.next[3], WAITS_NONE);
  cr_expect_eq(w.next[4], WAITS_NONE);
  cr_expect_eq(w.next[5], WAITS_NONE);
}
