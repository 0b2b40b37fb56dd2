/*
 * Running sched-inspect as a user would, for the command-line tests
 * (test_inspect_cli*.c): its exit status, standard output and error; and a
 * target to point it at (tests/e2e/inspect_target.c), stopped with the
 * files the tests made by the suites' fini (cleanup), so a failed assertion
 * leaves nothing behind. Needs SCHED_INSPECT_BIN and INSPECT_TARGET_BIN.
 */
#include "inspect_cli.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

result r;

void slurp(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, size - 1, f) : 0;
  buf[n] = '\0';
  if (f)
    fclose(f);
}

int run_argv(const char *stdin_path, const char *const *argv) {
  char out_path[] = "/tmp/inspect_cli_outXXXXXX", err_path[] = "/tmp/inspect_cli_errXXXXXX";
  int fo = mkstemp(out_path), fe = mkstemp(err_path);
  cr_assert(fo >= 0 && fe >= 0);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    dup2(fo, 1);
    dup2(fe, 2);
    /* By default no terminal either: the TUI must say so, not hang. */
    int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
    dup2(in, 0);
    execvp(argv[0], (char **)argv);
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  close(fo);
  close(fe);
  slurp(out_path, r.out, sizeof(r.out));
  slurp(err_path, r.err, sizeof(r.err));
  unlink(out_path);
  unlink(err_path);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r.status;
}

/* The NULL-terminated arguments after first, for sched-inspect: argv[0] is the binary. */
static void collect_args(const char **argv, const char *first, va_list ap) {
  int argc = 0;
  argv[argc++] = SCHED_INSPECT_BIN;
  for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
    argv[argc++] = a;
  argv[argc] = NULL;
}

int run(const char *first, ...) {
  const char *argv[32];
  va_list ap;
  va_start(ap, first);
  collect_args(argv, first, ap);
  va_end(ap);
  return run_argv(NULL, argv);
}

int run_stdin(const char *stdin_path, const char *first, ...) {
  const char *argv[32];
  va_list ap;
  va_start(ap, first);
  collect_args(argv, first, ap);
  va_end(ap);
  return run_argv(stdin_path, argv);
}

/* ------------------------------------------------------------- targets */

pid_t target_pid;
char target_pid_s[16];
FILE *target_out; /* its standard output after "ready" (--phases says "phase 1" there) */

extern char **environ;

/*
 * Starts inspect_target with --workers 3 and the arguments in args (NULL
 * ends them, at most 8). timing: with SCHEDRT_TIMING=1 in its environment
 * (histograms, exact poll starts); else without it, whatever ours says.
 */
void start_target_args(int timing, const char *const *args) {
  const char *argv[12] = {INSPECT_TARGET_BIN, "--workers", "3"};
  for (size_t i = 0; i < 8 && args[i]; i++)
    argv[3 + i] = args[i];
  size_t n = 0, k = 0;
  while (environ[n])
    n++;
  char **envp = calloc(n + 2, sizeof(char *));
  cr_assert_not_null(envp);
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "SCHEDRT_TIMING=", 15) != 0)
      envp[k++] = environ[i];
  if (timing)
    envp[k++] = "SCHEDRT_TIMING=1";
  int p[2];
  cr_assert_eq(pipe(p), 0);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    execve(INSPECT_TARGET_BIN, (char **)argv, envp);
    _exit(127);
  }
  free(envp);
  close(p[1]);
  char line[256] = "";
  target_pid = pid; /* first: a failed start below is still stopped by the suite's fini */
  snprintf(target_pid_s, sizeof(target_pid_s), "%ld", (long)pid);
  target_out = fdopen(p[0], "r");
  cr_assert(fgets(line, sizeof(line), target_out) != NULL, "the target did not start");
  cr_assert(strncmp(line, "ready ", 6) == 0, "%s", line);
}

/* Up to four arguments, NULL-terminated. */
void start_target_ex(int timing, const char *a1, const char *a2, const char *a3, const char *a4) {
  const char *const args[] = {a1, a2, a3, a4, NULL};
  start_target_args(timing, args);
}

void start_target(const char *a1, const char *a2, const char *a3, const char *a4) {
  start_target_ex(0, a1, a2, a3, a4);
}

/* Files the tests write under /tmp: removed by the suites' fini, so a failed assertion leaves none. */
char tmp_files[8][256];
int ntmp_files;
char tmp_dir[256]; /* a directory of a test's own, removed with what it holds */

void stop_target(void) {
  if (target_out)
    fclose(target_out);
  target_out = NULL;
  if (target_pid <= 0)
    return;
  kill(target_pid, SIGCONT);
  kill(target_pid, SIGTERM);
  while (waitpid(target_pid, NULL, 0) < 0 && errno == EINTR) {
  }
  target_pid = 0;
}

void cleanup(void) {
  stop_target();
  for (int i = 0; i < ntmp_files; i++)
    unlink(tmp_files[i]);
  ntmp_files = 0;
  if (tmp_dir[0]) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0)
      fprintf(stderr, "could not remove %s\n", tmp_dir);
    tmp_dir[0] = '\0';
  }
}

size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* The whitespace-separated field i (from 0) of line, in a static buffer ("" past the end). */
char *field(const char *line, int i) {
  static char buf[1024];
  buf[0] = '\0';
  for (int k = 0; *line && k <= i; k++) {
    while (*line == ' ')
      line++;
    size_t n = strcspn(line, " ");
    if (k == i)
      snprintf(buf, sizeof(buf), "%.*s", (int)n, line);
    line += n;
  }
  return buf;
}

/* Every line of r.out (header and data) has n fields. */
void expect_fields(int n) {
  char copy[sizeof(r.out)];
  snprintf(copy, sizeof(copy), "%s", r.out);
  char *save;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    cr_expect(field(line, n - 1)[0] != '\0' && field(line, n)[0] == '\0', "not %d fields: %s", n, line);
  }
}

void tmp_path(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "/tmp/inspect_cli_%ld_%s", (long)getpid(), name);
  unlink(buf);
  if (ntmp_files < (int)(sizeof(tmp_files) / sizeof(tmp_files[0])))
    snprintf(tmp_files[ntmp_files++], sizeof(tmp_files[0]), "%s", buf);
}
