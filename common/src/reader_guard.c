/*
 * Reading a mapping its owner may shrink. A segment is the target's file: if
 * it is truncated while we have it mapped, touching a lost page raises
 * SIGBUS, which would kill the inspector. Every refresh therefore compares
 * the file's size with the mapping first (schedrt__reader_check_size), and
 * the copy itself runs under a SIGBUS handler scoped to it
 * (schedrt__reader_guarded) for a truncation between that check and the
 * copy. Both report SCHEDRT_ECHANGED: "the target changed its segment".
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "reader_internal.h"

/* The copy in progress on this thread, if any: where a SIGBUS jumps to. */
static _Thread_local sigjmp_buf *guard_env;
static struct sigaction prev_action;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_sigbus(int sig, siginfo_t *si, void *uc) {
  sigjmp_buf *env = guard_env;
  if (env)
    siglongjmp(*env, 1);
  /* Not a guarded copy: do what would have happened without us. */
  if ((prev_action.sa_flags & SA_SIGINFO) && prev_action.sa_sigaction) {
    prev_action.sa_sigaction(sig, si, uc);
    return;
  }
  if (prev_action.sa_handler != SIG_DFL && prev_action.sa_handler != SIG_IGN) {
    prev_action.sa_handler(sig);
    return;
  }
  /* Default action: die of the signal (SA_NODEFER: it is not blocked here). */
  signal(SIGBUS, SIG_DFL);
  raise(SIGBUS);
}

/*
 * Makes on_sigbus the SIGBUS handler, keeping the one it replaces to chain
 * to. Checked before every guarded copy, not once: a program may install its
 * own handler after our first copy (sched-inspect's terminal restorer does,
 * at crt_init), and ours must then wrap it again. One sigaction() query.
 */
static void install(void) {
  struct sigaction cur, sa;
  pthread_mutex_lock(&install_lock);
  if (sigaction(SIGBUS, NULL, &cur) != 0 || ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus)) {
    pthread_mutex_unlock(&install_lock);
    return;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_sigbus;
  /* SA_NODEFER: leaving by siglongjmp without restoring a signal mask must
   * not leave SIGBUS blocked (sigsetjmp(env, 0) saves no mask: no syscall
   * per copy). */
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  /* The handler reads prev_action: set it before ours can run. */
  prev_action = cur;
  sigaction(SIGBUS, &sa, NULL);
  pthread_mutex_unlock(&install_lock);
}

int schedrt__reader_check_size(const struct schedrt_reader *r) {
  struct stat st;
  if (fstat(r->fd, &st) != 0)
    return SCHEDRT_ECHANGED;
  return (uint64_t)st.st_size < (uint64_t)r->map_size ? SCHEDRT_ECHANGED : 0;
}

int schedrt__reader_guarded(int (*fn)(void *), void *arg) {
  sigjmp_buf env;
  sigjmp_buf *outer = guard_env;
  install();
  /* Nothing changed between here and the jump back is read after it but
   * outer, which is not modified after sigsetjmp. */
  if (sigsetjmp(env, 0)) {
    guard_env = outer;
    return SCHEDRT_ECHANGED;
  }
  guard_env = &env;
  int rc = fn(arg);
  guard_env = outer;
  return rc;
}
