/*
 * Running sched-inspect for the command-line tests, and a target to point it
 * at (inspect_cli.c). Criterion tests only: failures are cr_assert.
 */
#ifndef TEST_INSPECT_CLI_H
#define TEST_INSPECT_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct result {
  int status; /* exit status, or 128 + signal */
  char out[1 << 16];
  char err[1 << 14];
} result;

/* The last run. */
extern result r;

#define EXPECT_STATUS(want)                                                                                  \
  cr_expect_eq(r.status, (want), "exit %d, want %d\nstdout: %s\nstderr: %s", r.status, (want), r.out, r.err)
#define EXPECT_OUT(s)                                                                                        \
  cr_expect(strstr(r.out, (s)) != NULL, "stdout lacks '%s':\n%s\nstderr: %s", (s), r.out, r.err)
#define EXPECT_ERR(s) cr_expect(strstr(r.err, (s)) != NULL, "stderr lacks '%s':\n%s", (s), r.err)

/* Runs sched-inspect with the NULL-terminated arguments (none: first NULL); fills r. Standard input
 * is /dev/null, or the file stdin_path for run_stdin. */
int run(const char *first, ...);
int run_stdin(const char *stdin_path, const char *first, ...);
/* Runs argv[0] (found in PATH) with standard input from stdin_path (NULL: /dev/null); fills r. */
int run_argv(const char *stdin_path, const char *const *argv);
void slurp(const char *path, char *buf, size_t size);

/* The target of the live tests. */
extern pid_t target_pid;
extern char target_pid_s[16];
extern FILE *target_out; /* its standard output after "ready" (--phases says "phase 1" there) */

/* Starts inspect_target with --workers 3 and the arguments in args (NULL ends them, at most 8), and
 * waits for its "ready". timing: with SCHEDRT_TIMING=1 in its environment; else without it. */
void start_target_args(int timing, const char *const *args);
/* Up to four arguments, NULL-terminated. */
void start_target_ex(int timing, const char *a1, const char *a2, const char *a3, const char *a4);
void start_target(const char *a1, const char *a2, const char *a3, const char *a4);
void stop_target(void);

/* Files under /tmp the tests made, and a directory of a test's own: removed by cleanup. */
extern char tmp_files[8][256];
extern int ntmp_files;
extern char tmp_dir[256];
/* "/tmp/inspect_cli_<pid>_<name>", removed now and by cleanup. */
void tmp_path(char *buf, size_t size, const char *name);
/* The suites' fini: stops the target, removes the files. */
void cleanup(void);

size_t count_lines(const char *s);
/* The whitespace-separated field i (from 0) of line, in a static buffer ("" past the end). */
char *field(const char *line, int i);
/* Every line of r.out (header and data) has n fields. */
void expect_fields(int n);

#endif
