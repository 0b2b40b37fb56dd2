/*
 * Stall backtraces with libunwind (see stall_bt.h). Seastar takes a stalled
 * reactor's backtrace in a signal handler on a timer; here the watchdog's
 * helper asks for one when a worker has been stuck in a poll past the
 * threshold, by a signal to that worker's thread alone (tgkill).
 *
 * The handshake, per worker slot: the helper (one per runtime at a time) bumps
 * `req`, sends the signal and waits on `ans` (a futex, 50 ms at most). The
 * handler, on the worker's thread, unwinds into the slot only while
 * ans != req, then stores ans = req and wakes the helper. The slot's frames
 * are written by handlers only, and one at a time: handlers run on the
 * worker's thread and the signal is blocked while its handler runs. The
 * helper reads them only after seeing its own request answered (acquire on
 * ans), and the next write needs a new request, which only the helper makes
 * after those reads (release on req, acquire in the handler). A helper that
 * gave up reads nothing: a late answer lands in the slot, and a queued second
 * signal finds ans == req and leaves it alone.
 *
 * The handler calls only async-signal-safe code: initial-exec TLS (the
 * worker), relaxed and release atomics, libunwind's local unwinder
 * (unw_getcontext, unw_init_local, unw_step, unw_get_reg, documented safe in
 * a signal handler), getpid and futex. No malloc, no lock of ours. The
 * unwinder is warmed up once when the handler is installed, so its one-time
 * set-up (which takes a lock) never runs in the handler.
 */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dump.h"
#include "stall_bt.h"

/* Unwinding steps at most (the handler's own frames and the trampoline are a few). */
#define MAX_STEPS (SCHEDRT__BT_FRAMES + 16)

struct bt_slot {
  /* The helper's last request; only the helper writes it. */
  _Atomic uint32_t req;
  /* The last request a handler answered; only the worker's handlers write it. */
  _Atomic uint32_t ans;
  /* Written by the handler before its release store of ans. */
  uint32_t n;
  bool truncated;
  uint64_t ip[SCHEDRT__BT_FRAMES];
} SCHEDRT_ALIGNED;

struct schedrt__bt {
  schedrt_runtime *rt;
  int signo;             /* the signal the handler is on; 0: none installed */
  char why[96];          /* when signo is 0 */
  struct bt_slot *slots; /* [nworkers] */
  /* Handler calls that found a request, and that found none (a stray or repeated signal). */
  _Atomic uint64_t answered, stray;
};

/* The process's handler: one for all runtimes with the switch on. */
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned installed;  /* runtimes using it; under install_lock */
static int installed_signo; /* under install_lock */
static bool refused_said;   /* under install_lock */

/* Frames from the signal frame out (the handler's own are dropped). Async-signal-safe. */
static void unwind(struct bt_slot *s) {
  unw_context_t ctx;
  unw_cursor_t cur;
  uint32_t n = 0;
  bool truncated = false, past_signal = false;
  if (unw_getcontext(&ctx) == 0 && unw_init_local(&cur, &ctx) == 0) {
    for (int step = 0; step < MAX_STEPS && unw_step(&cur) > 0; step++) {
      if (!past_signal && unw_is_signal_frame(&cur) > 0) {
        /* The trampoline: what came before were our frames; the next is where the thread was. */
        past_signal = true;
        n = 0;
        continue;
      }
      if (n == SCHEDRT__BT_FRAMES) {
        truncated = true;
        break;
      }
      unw_word_t ip;
      if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0)
        break;
      s->ip[n++] = (uint64_t)ip;
    }
  }
  s->n = n;
  s->truncated = truncated;
}

static void on_signal(int signo, siginfo_t *si, void *uc) {
  (void)signo;
  (void)uc;
  int saved = errno;
  schedrt_worker *w = schedrt__tls_worker;
  /* Only our own tgkill, on one of our workers: anything else is ignored. */
  if (!w || si->si_code != SI_TKILL || si->si_pid != getpid() || !w->rt->dump || !w->rt->dump->bt)
    goto out;
  struct schedrt__bt *bt = w->rt->dump->bt;
  struct bt_slot *s = &bt->slots[w->index];
  /* Acquire: pairs with the helper's release store of req, so its reads of the slot for an earlier
   * answer happen before the frames below overwrite them (a signal is no ordering in C11). */
  uint32_t want = atomic_load_explicit(&s->req, memory_order_acquire);
  /* Relaxed: only this thread's handlers store ans. */
  if (atomic_load_explicit(&s->ans, memory_order_relaxed) == want) {
    atomic_fetch_add_explicit(&bt->stray, 1, memory_order_relaxed);
    goto out;
  }
  unwind(s);
  atomic_fetch_add_explicit(&bt->answered, 1, memory_order_relaxed);
  /* Release: the frames written above are visible to the helper that sees its answer. */
  atomic_store_explicit(&s->ans, want, memory_order_release);
  schedrt__futex_wake(&s->ans, 1);
out:
  errno = saved;
}

/* The signal to use: SCHEDRT_STALL_BACKTRACE_SIGNAL, else SIGRTMAX - 3; 0 if the variable is bad. */
static int choose_signal(const char *name) {
  const char *env = getenv("SCHEDRT_STALL_BACKTRACE_SIGNAL");
  if (!env || !*env)
    return SIGRTMAX - 3;
  char *end;
  long v = strtol(env, &end, 10);
  if (*end || v < SIGRTMIN || v > SIGRTMAX) {
    fprintf(
        stderr,
        "schedrt: %s: SCHEDRT_STALL_BACKTRACE_SIGNAL=\"%s\" is not a real-time signal (%d to %d): no stall "
        "backtraces\n",
        name, env, SIGRTMIN, SIGRTMAX);
    return 0;
  }
  return (int)v;
}

/* Installs the handler unless the application has one on that signal; *why when not. */
static int install(const char *name, char *why, size_t size) {
  int signo = 0;
  pthread_mutex_lock(&install_lock);
  if (installed) {
    installed++;
    signo = installed_signo;
    goto out;
  }
  int want = choose_signal(name);
  if (!want) {
    snprintf(why, size, "SCHEDRT_STALL_BACKTRACE_SIGNAL is not a real-time signal");
    goto out;
  }
  struct sigaction old, sa;
  if (sigaction(want, NULL, &old) != 0) {
    snprintf(why, size, "signal %d: %s", want, strerror(errno));
    goto out;
  }
  /* Never over the application's own: a handler, or SIG_IGN, is its choice. */
  if (old.sa_handler != SIG_DFL) {
    snprintf(why, size, "signal %d has a handler of the application's (SCHEDRT_STALL_BACKTRACE_SIGNAL)",
             want);
    if (!refused_said)
      fprintf(stderr,
              "schedrt: %s: no stall backtraces: signal %d already has a handler; choose a free real-time "
              "signal with SCHEDRT_STALL_BACKTRACE_SIGNAL\n",
              name, want);
    refused_said = true;
    goto out;
  }
  /* The unwinder's one-time set-up, here rather than in the first handler call. */
  struct bt_slot warm;
  memset(&warm, 0, sizeof(warm));
  unwind(&warm);
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_signal;
  /* SA_RESTART: a worker interrupted in read() or a futex wait carries on. */
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(want, &sa, NULL) != 0) {
    snprintf(why, size, "signal %d: %s", want, strerror(errno));
    goto out;
  }
  installed = 1;
  signo = installed_signo = want;
out:
  pthread_mutex_unlock(&install_lock);
  return signo;
}

static void uninstall(int signo) {
  pthread_mutex_lock(&install_lock);
  if (signo && installed && --installed == 0) {
    struct sigaction cur;
    /* Put back the default only if the handler is still ours (the application may have replaced it). */
    if (sigaction(signo, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal) {
      struct sigaction dfl;
      memset(&dfl, 0, sizeof(dfl));
      dfl.sa_handler = SIG_DFL;
      sigemptyset(&dfl.sa_mask);
      sigaction(signo, &dfl, NULL);
    }
    installed_signo = 0;
  }
  pthread_mutex_unlock(&install_lock);
}

int schedrt__bt_create(schedrt_runtime *rt, struct schedrt__bt **out) {
  struct schedrt__bt *bt = calloc(1, sizeof(*bt));
  *out = NULL;
  if (!bt)
    return -ENOMEM;
  bt->rt = rt;
  bt->slots = aligned_alloc(SCHEDRT_CACHELINE, sizeof(*bt->slots) * rt->nworkers);
  if (!bt->slots) {
    free(bt);
    return -ENOMEM;
  }
  memset(bt->slots, 0, sizeof(*bt->slots) * rt->nworkers);
  for (uint32_t i = 0; i < rt->nworkers; i++) {
    atomic_init(&bt->slots[i].req, 0);
    atomic_init(&bt->slots[i].ans, 0);
  }
  atomic_init(&bt->answered, 0);
  atomic_init(&bt->stray, 0);
  bt->signo = install(rt->name, bt->why, sizeof(bt->why));
  *out = bt;
  return 0;
}

void schedrt__bt_destroy(struct schedrt__bt *bt) {
  if (!bt)
    return;
  uninstall(bt->signo);
  free(bt->slots);
  free(bt);
}

int schedrt__bt_signal(const struct schedrt__bt *bt) { return bt ? bt->signo : 0; }

uint64_t schedrt__bt_answered(const struct schedrt__bt *bt) {
  /* Relaxed: a count for tests. */
  return bt ? atomic_load_explicit(&bt->answered, memory_order_relaxed) : 0;
}

static void unavailable(struct schedrt__bt_result *out, const char *why) {
  out->result = SCHEDRT_DUMP_BT_UNAVAILABLE;
  snprintf(out->why, sizeof(out->why), "%s", why);
}

/* s into the result's text (NO_TEXT when it does not fit); the same string as the last one is shared. */
static uint32_t text_add(struct schedrt__bt_result *out, const char *s, uint32_t *last, const char **last_s) {
  if (!s)
    return SCHEDRT__BT_NO_TEXT;
  if (*last_s && *last != SCHEDRT__BT_NO_TEXT && strcmp(*last_s, s) == 0)
    return *last;
  size_t n = strlen(s) + 1;
  if (n > sizeof(out->text) - out->text_used)
    return SCHEDRT__BT_NO_TEXT;
  uint32_t at = out->text_used;
  memcpy(out->text + at, s, n);
  out->text_used += (uint32_t)n;
  *last = at;
  *last_s = s;
  return at;
}

/* Module and symbol of every frame, from the loader's tables (dladdr), on the helper. */
static void symbolize(struct schedrt__bt_result *out) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  exe[n > 0 ? n : 0] = '\0';
  uint32_t last_mod = SCHEDRT__BT_NO_TEXT, unused = SCHEDRT__BT_NO_TEXT;
  const char *last_mod_s = NULL, *unused_s = NULL;
  for (uint32_t k = 0; k < out->n; k++) {
    struct schedrt__bt_frame *f = &out->frames[k];
    f->module = f->symbol = SCHEDRT__BT_NO_TEXT;
    /* A return address may be the first byte after its call's function: look up the call. */
    uintptr_t look = (uintptr_t)f->ip - (k ? 1u : 0u);
    Dl_info info;
    struct link_map *lm = NULL;
    if (!dladdr1((void *)look, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
      continue;
    /* The main program's entry has an empty name. */
    const char *mod = lm->l_name && lm->l_name[0] ? lm->l_name : (exe[0] ? exe : NULL);
    f->module = text_add(out, mod, &last_mod, &last_mod_s);
    /* l_addr is the load bias: what is left is the ELF file's own address. */
    f->module_offset = f->ip - (uint64_t)lm->l_addr;
    if (info.dli_sname && info.dli_saddr) {
      unused_s = NULL;
      f->symbol = text_add(out, info.dli_sname, &unused, &unused_s);
      f->symbol_offset = f->ip - (uint64_t)(uintptr_t)info.dli_saddr;
    }
  }
}

void schedrt__bt_capture(struct schedrt__bt *bt, uint32_t i, uint64_t wait_ns,
                         struct schedrt__bt_result *out) {
  out->result = SCHEDRT_DUMP_BT_UNAVAILABLE;
  out->truncated = false;
  out->signo = 0;
  out->n = 0;
  out->wait_ns = 0;
  out->why[0] = '\0';
  out->text_used = 0;
  if (!bt->signo) {
    unavailable(out, bt->why);
    return;
  }
  uint64_t tid = schedrt__metrics_tid(bt->rt, i);
  if (!tid) {
    unavailable(out, "the worker's thread id is not known (metrics off)");
    return;
  }
  struct sigaction cur;
  /* Checked before each signal: a handler the application put in since would get it. */
  if (sigaction(bt->signo, NULL, &cur) != 0 || !(cur.sa_flags & SA_SIGINFO) ||
      cur.sa_sigaction != on_signal) {
    snprintf(out->why, sizeof(out->why), "signal %d: its handler was replaced", bt->signo);
    out->result = SCHEDRT_DUMP_BT_UNAVAILABLE;
    return;
  }
  struct bt_slot *s = &bt->slots[i];
  /* Relaxed: the helper is the only writer of req. */
  uint32_t want = atomic_load_explicit(&s->req, memory_order_relaxed) + 1u;
  /* Release: our reads of the slot's previous frames come before a handler that sees this request
   * writes new ones (the frames of the answer travel the other way, under ans). */
  atomic_store_explicit(&s->req, want, memory_order_release);
  uint64_t t0 = schedrt__now_ns(), now = t0;
  if (syscall(SYS_tgkill, (pid_t)getpid(), (pid_t)tid, bt->signo) != 0) {
    snprintf(out->why, sizeof(out->why), "tgkill: %s", strerror(errno));
    out->result = SCHEDRT_DUMP_BT_UNAVAILABLE;
    return;
  }
  out->signo = bt->signo;
  out->result = SCHEDRT_DUMP_BT_NO_ANSWER;
  for (;;) {
    /* Acquire: pairs with the handler's release store; its frames are complete. */
    uint32_t a = atomic_load_explicit(&s->ans, memory_order_acquire);
    if (a == want) {
      out->result = SCHEDRT_DUMP_BT_OK;
      break;
    }
    now = schedrt__now_ns();
    if (now - t0 >= wait_ns)
      break;
    schedrt__futex_wait(&s->ans, a, wait_ns - (now - t0));
  }
  out->wait_ns = schedrt__now_ns() - t0;
  if (out->result != SCHEDRT_DUMP_BT_OK)
    return;
  out->n = s->n;
  out->truncated = s->truncated;
  for (uint32_t k = 0; k < out->n; k++)
    out->frames[k].ip = s->ip[k];
  symbolize(out);
}
