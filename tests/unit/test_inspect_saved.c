/*
 * `sched-inspect list` shows the dumps a process's watchdog saved: a target
 * whose worker keeps getting stuck, started with SCHEDRT_WATCHDOG_MS,
 * SCHEDRT_DUMP_DIR and SCHEDRT_WATCHDOG_MAX=2, writes exactly two files, and
 * `list` (text and --json) names the directory, the count and both files.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

extern char **environ;

static char dir[64], real[PATH_MAX];
static pid_t target;
static char out[1 << 16];

static void remove_dir(void) {
  if (target > 0) {
    kill(target, SIGTERM);
    while (waitpid(target, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      unlinkat(dirfd(d), e->d_name, 0);
  closedir(d);
  rmdir(dir);
}

static void setup(void) {
  snprintf(dir, sizeof(dir), "/tmp/inspect-saved.XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  cr_assert_not_null(realpath(dir, real));
}

TestSuite(inspect_saved, .init = setup, .fini = remove_dir);

static int count_files(void) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    n += e->d_name[0] != '.';
  if (d)
    closedir(d);
  return n;
}

/* sched-inspect with the given arguments; its stdout in `out`, its exit status returned. */
static int inspect(const char *a1, const char *a2) {
  int p[2];
  cr_assert_eq(pipe(p), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    execl(SCHED_INSPECT_BIN, SCHED_INSPECT_BIN, a1, a2, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  size_t n = 0;
  ssize_t got;
  while ((got = read(p[0], out + n, sizeof(out) - 1 - n)) > 0)
    n += (size_t)got;
  out[n] = '\0';
  close(p[0]);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(inspect_saved, list_names_the_watchdog_dumps, .timeout = 120) {
  char env_dir[128];
  snprintf(env_dir, sizeof(env_dir), "SCHEDRT_DUMP_DIR=%s", dir);
  size_t n = 0;
  while (environ[n])
    n++;
  char **envp = calloc(n + 4, sizeof(char *));
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "SCHEDRT_", 8) != 0)
      envp[k++] = environ[i];
  envp[k++] = "SCHEDRT_WATCHDOG_MS=50";
  envp[k++] = "SCHEDRT_WATCHDOG_MAX=2";
  envp[k++] = env_dir;
  int p[2];
  cr_assert_eq(pipe(p), 0);
  target = fork();
  cr_assert_geq(target, 0);
  if (target == 0) {
    dup2(p[1], 1);
    close(p[0]);
    char *argv[] = {INSPECT_TARGET_BIN, "--workers", "2", "--stuck-ms", "150", NULL};
    execve(INSPECT_TARGET_BIN, argv, envp);
    _exit(127);
  }
  free(envp);
  close(p[1]);
  char line[64] = "";
  FILE *f = fdopen(p[0], "r");
  cr_assert_not_null(fgets(line, sizeof(line), f), "the target did not start");
  fclose(f);

  /* The spinner is stuck 150 ms every 350 ms: two dumps, then the bound. */
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (count_files() < 2) {
    clock_gettime(CLOCK_MONOTONIC, &t);
    cr_assert_lt(t.tv_sec - t0.tv_sec, 60, "the watchdog wrote %d files", count_files());
    struct timespec pause = {0, 10000000};
    nanosleep(&pause, NULL);
  }

  cr_assert_eq(inspect("list", NULL), 0);
  char want[PATH_MAX + 64];
  snprintf(want, sizeof(want), "pid %d: 2 watchdog dumps in %s", (int)target, real);
  cr_assert_not_null(strstr(out, want), "list lacks '%s':\n%s", want, out);
  int listed = 0;
  for (const char *s = out; (s = strstr(s, real)); s++)
    listed++;
  cr_assert_eq(listed, 3, "the directory and both files:\n%s", out);

  cr_assert_eq(inspect("list", "--json"), 0);
  json_error_t jerr;
  json_t *arr = json_loads(out, 0, &jerr);
  cr_assert_not_null(arr, "%s", jerr.text);
  json_t *mine = NULL;
  for (size_t i = 0; i < json_array_size(arr); i++)
    if (json_integer_value(json_object_get(json_array_get(arr, i), "pid")) == target)
      mine = json_array_get(arr, i);
  cr_assert_not_null(mine);
  json_t *w = json_object_get(mine, "watchdog_dumps");
  cr_assert_str_eq(json_string_value(json_object_get(w, "dir")), real);
  cr_assert_eq(json_integer_value(json_object_get(w, "count")), 2);
  cr_assert_eq(json_array_size(json_object_get(w, "files")), 2);
  json_decref(arr);
  cr_assert_eq(count_files(), 2, "no more than the bound");
}
